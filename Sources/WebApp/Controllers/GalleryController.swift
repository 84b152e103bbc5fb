import CartoonGAN
import Foundation
import HTTPServer
import Localization
import StorageCore

/// The private gallery (a member's own images) and the public one (images their owners
/// shared), as pages and as API. Lists carry thumbnails only, 24 to a page.
///
///     GET /api/v1/gallery/private?page=N                      → {"page","has_more","images":[…]}
///     GET /api/v1/gallery/public?sort=newest|likes|style&style=hayao|…&page=N
///     GET /gallery?page=N   GET /explore?sort=…&style=…&page=N
///     POST /gallery/bulk (ids + share | unshare | delete → a confirmation)   POST /gallery/delete
struct GalleryController {
    let library: ImageLibrary
    let pages: Pages

    /// The most pictures one bulk action takes (a gallery page shows 24).
    static let maxBulk = 100

    /// `?style=`: one style, or nil for all; an unknown one is a 400.
    static func style(_ request: Request) throws -> Style? {
        guard let text = request.http.query("style"), !text.isEmpty, text != "all" else { return nil }
        guard let style = Style(rawValue: text) else { throw Refusal(.invalid, "gallery.bad_style") }
        return style
    }

    static func order(_ request: Request) throws -> PublicOrder {
        let text = request.http.query("sort") ?? "newest"
        guard let order = PublicOrder(rawValue: text) else {
            throw Refusal(.invalid, "gallery.bad_sort")
        }
        return order
    }

    func mount(on router: Router) {
        let c = self
        router.get("/api/v1/gallery/private") { request in
            let user = try request.apiSession().user.id!
            let page = try c.library.list(owner: user, page: try request.pageNumber())
            return HTTPResponse.noStore(.json(try c.library.body(page, viewer: user)))
        }
        router.get("/api/v1/gallery/public") { request in
            let viewer = request.session?.user.id
            let page = try c.library.listPublic(order: try Self.order(request), style: try Self.style(request),
                                                page: try request.pageNumber())
            return HTTPResponse.noStore(.json(try c.library.body(page, viewer: viewer)))
        }
        router.get("/gallery") { request in
            guard let user = request.session?.user.id else { return .redirect(to: "/login?next=%2Fgallery") }
            return try c.pages.cached(request) { try c.galleryPage(request, user: user) }
        }
        mountBulk(on: router)
        router.get("/explore") { request in try c.pages.cached(request) { try c.explore(request) } }
    }

    /// The public gallery: shared pictures in one of three orders, of one style or all.
    func explore(_ request: Request) throws -> HTTPResponse {
        let viewer = request.session?.user.id
        let order = try Self.order(request), style = try Self.style(request)
        let page = try library.listPublic(order: order, style: style, page: try request.pageNumber())
        let language = pages.language(request)
        let styleQuery = style.map { "&style=\($0.rawValue)" } ?? ""
        var listing = try self.listing(page, viewer: viewer, base: "/explore?sort=\(order.rawValue)\(styleQuery)&", language: language,
                                         empty: Message(page.page > 1 ? "pager.nothing_here" : style == nil ? "explore.empty" : "explore.empty_style",
                                                        ["style": .text(style.map { ImageLibrary.styleName($0.rawValue, language) } ?? "")]))
        listing.showOwner = true
        listing.sorts = PublicOrder.allCases.map {
            .init(value: $0.rawValue, label: Message("explore.sort.\($0.rawValue)").text(in: language), current: $0 == order,
                  href: "/explore?sort=\($0.rawValue)\(styleQuery)")
        }
        listing.styles = ([nil] + Style.allCases.map(Optional.some)).map { s in
            .init(value: s?.rawValue ?? "all",
                  label: s.map { ImageLibrary.styleName($0.rawValue, language) } ?? Message("explore.all_styles").text(in: language),
                  current: s == style, href: "/explore?sort=\(order.rawValue)" + (s.map { "&style=\($0.rawValue)" } ?? ""))
        }
        listing.member = viewer != nil
        return pages.render("images/explore", Message("explore.title"), request, page: listing)
    }

    /// The ids a bulk form names (its checked boxes), at most `maxBulk`, each once.
    static func ids(_ fields: [FormPart]) throws -> [String] {
        var seen = Set<String>()
        let ids = fields.filter { $0.name == "id" }.map(\.text).filter { seen.insert($0).inserted }
        guard !ids.isEmpty else { throw Refusal(.invalid, "gallery.none_selected") }
        guard ids.count <= maxBulk else { throw Refusal(.invalid, "gallery.too_many_selected", ["max": .number(maxBulk)]) }
        return ids
    }

    /// Share, unshare or (after a confirmation page) delete several of the member's pictures.
    /// Each id is checked as a single action would be: someone else's picture stops the whole
    /// request before anything changes.
    func mountBulk(on router: Router) {
        let c = self
        router.post("/gallery/bulk", bodyLimit: 64 * 1024) { request in
            let user = try request.memberID()
            let fields = try request.formFields()
            let field = { (name: String) in fields.first { $0.name == name }?.text }
            let next = LocalRedirect.pathOrHome(field("next") ?? "/gallery")
            // A card's own "Delete…" button names its picture; the toolbar's buttons act on the ticked ones.
            if let one = field("delete_one") { return try c.confirmDelete([one], request, user: user, next: next) }
            let ids: [String]
            do {
                ids = try Self.ids(fields)
            } catch let refusal as Refusal {
                return try c.galleryPage(request, user: user, error: refusal.message, status: .badRequest)
            }
            switch field("action") {
            case "share", "unshare":
                let shared = field("action") == "share"
                // Every picture is checked before any changes: 404 for one they cannot see,
                // 403 for someone else's shared one.
                for id in ids { _ = try c.library.owned(id, by: user, action: shared ? .share : .unshare) }
                for id in ids { _ = try c.library.setShared(shared, id, by: user) }
                return .redirect(to: next)
            case "delete":
                return try c.confirmDelete(ids, request, user: user, next: next)
            default:
                throw Refusal(.invalid, "gallery.bad_action")
            }
        }
        router.post("/gallery/delete", bodyLimit: 64 * 1024) { request in
            let user = try request.memberID()
            let fields = try request.formFields()
            let ids = try Self.ids(fields)
            guard fields.contains(where: { $0.name == "confirm" && $0.text == "yes" }) else {
                return try c.confirmDelete(ids, request, user: user, next: "/gallery", error: Message("form.confirm_delete"))
            }
            for id in ids { _ = try c.library.owned(id, by: user, action: .delete) } // all theirs, or nothing goes
            for id in ids { try c.library.delete(id, by: user) }
            return .redirect(to: "/gallery")
        }
    }

    /// "Delete these 3 pictures?", with their thumbnails: deleting cannot be undone, so it is
    /// always asked, with or without scripting.
    func confirmDelete(_ ids: [String], _ request: Request, user: Int64, next: String, error: Message? = nil) throws -> HTTPResponse {
        let language = pages.language(request)
        var items: [DeletePage.Item] = []
        for id in ids {
            let d = try library.owned(id, by: user, action: .delete)
            items.append(.init(id: id, label: ImageLibrary.label(title: d.title, style: d.style, created: d.createdAt, language)))
        }
        let page = DeletePage(items: items, next: next, error: error?.text(in: language),
                              question: Message("gallery.delete_question", ["count": .number(items.count)]).text(in: language),
                              button: Message("gallery.delete_button", ["count": .number(items.count)]).text(in: language))
        return pages.render("images/delete", Message("gallery.delete_title"), request, page: page,
                            status: error == nil ? .ok : .badRequest)
    }

    func galleryPage(_ request: Request, user: Int64, error: Message? = nil, status: HTTPStatus = .ok) throws -> HTTPResponse {
        let page = try library.list(owner: user, page: try request.pageNumber())
        let language = pages.language(request)
        var listing = try listing(page, viewer: user, base: "/gallery?", language: language,
                                  empty: Message(page.page == 1 ? "gallery.empty" : "pager.nothing_here"))
        listing.error = error?.text(in: language)
        listing.bulk = true
        return pages.render("images/gallery", Message("gallery.title"), request, page: listing, status: status)
    }

    /// What the gallery templates need: the items, and links to the neighbouring pages.
    func listing(_ page: ImagePage, viewer: Int64?, base: String, language: Language, empty: Message) throws -> GalleryPage {
        // Only a public picture of someone else can be liked: a member's own gallery asks nothing.
        let likeable = page.items.filter { viewer != nil && $0.ownerID != viewer && $0.visibility == .public }.map(\.id)
        let liked = likeable.isEmpty ? [] : try library.liked(likeable, viewer: viewer)
        return GalleryPage(
            images: page.items.map { s in
                GalleryPage.Item(id: s.id, label: ImageLibrary.label(title: s.title, style: s.style, created: s.createdAt, language),
                                 styleName: ImageLibrary.styleName(s.style, language),
                                 owner: s.ownerName ?? "", likes: s.likeCount, liked: liked?.contains(s.id) ?? false,
                                 shared: s.visibility == .public, mine: viewer != nil && s.ownerID == viewer,
                                 canLike: viewer != nil && s.ownerID != viewer && s.visibility == .public,
                                 created: Dates.day(s.createdAt, in: language), createdISO: ImageLibrary.timestamp(s.createdAt))
            },
            empty: page.items.isEmpty, page: page.page, showPager: !page.items.isEmpty || page.page > 1,
            previous: page.page > 1 ? "\(base)page=\(page.page - 1)" : nil,
            next: page.hasMore ? "\(base)page=\(page.page + 1)" : nil,
            here: "\(base)page=\(page.page)", emptyText: empty.text(in: language))
    }
}
