import Foundation
import HTTPServer
import Localization
import Storage

/// The private gallery (a member's own images) and the public one (images their owners
/// shared), as pages and as API. Lists carry thumbnails only, 24 to a page.
///
///     GET /api/v1/gallery/private?page=N                      → {"page","has_more","images":[…]}
///     GET /api/v1/gallery/public?sort=newest|likes|style&page=N
///     GET /gallery?page=N   GET /explore?sort=…&page=N
struct GalleryController {
    let library: ImageLibrary
    let pages: Pages

    static func order(_ request: Request) throws -> ImageStore.PublicOrder {
        let text = request.http.query("sort") ?? "newest"
        guard let order = ImageStore.PublicOrder(rawValue: text) else {
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
            let page = try c.library.listPublic(order: try Self.order(request), page: try request.pageNumber())
            return HTTPResponse.noStore(.json(try c.library.body(page, viewer: viewer)))
        }
        router.get("/gallery") { request in
            guard let user = request.session?.user.id else { return .redirect(to: "/login?next=%2Fgallery") }
            let page = try c.library.list(owner: user, page: try request.pageNumber())
            let language = c.pages.language(request)
            let listing = try c.listing(page, viewer: user, base: "/gallery?", language: language,
                                        empty: Message(page.page == 1 ? "gallery.empty" : "pager.nothing_here"))
            return c.pages.render("images/gallery", Message("gallery.title"), request, page: listing)
        }
        router.get("/explore") { request in
            let viewer = request.session?.user.id
            let order = try Self.order(request)
            let page = try c.library.listPublic(order: order, page: try request.pageNumber())
            let language = c.pages.language(request)
            var listing = try c.listing(page, viewer: viewer, base: "/explore?sort=\(order.rawValue)&", language: language,
                                        empty: Message(page.page == 1 ? "explore.empty" : "pager.nothing_here"))
            listing.showOwner = true
            listing.sorts = ImageStore.PublicOrder.allCases.map {
                .init(value: $0.rawValue, label: Message("explore.sort.\($0.rawValue)").text(in: language), current: $0 == order)
            }
            listing.member = viewer != nil
            return c.pages.render("images/explore", Message("explore.title"), request, page: listing)
        }
    }

    /// What the gallery templates need: the items, and links to the neighbouring pages.
    func listing(_ page: ImagePage, viewer: Int64?, base: String, language: Language, empty: Message) throws -> GalleryPage {
        let liked = try library.liked(page.items.map(\.id), viewer: viewer)
        return GalleryPage(
            images: page.items.map { s in
                GalleryPage.Item(id: s.id, label: ImageLibrary.label(title: s.title, style: s.style, created: s.createdAt, language),
                                 styleName: ImageLibrary.styleName(s.style, language),
                                 owner: s.ownerName ?? "", likes: s.likeCount, liked: liked?.contains(s.id) ?? false,
                                 shared: s.visibility == .public, mine: viewer != nil && s.ownerID == viewer,
                                 canLike: viewer != nil && s.ownerID != viewer && s.visibility == .public,
                                 created: Dates.day(s.createdAt, in: language), createdISO: ImageLibrary.timestamp(s.createdAt))
            },
            empty: page.items.isEmpty, page: page.page,
            previous: page.page > 1 ? "\(base)page=\(page.page - 1)" : nil,
            next: page.hasMore ? "\(base)page=\(page.page + 1)" : nil,
            here: "\(base)page=\(page.page)", emptyText: empty.text(in: language))
    }
}
