import Foundation
import HTTPServer
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
            throw HTTPError(.badRequest, "sort is newest, likes or style.")
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
            let listing = try c.listing(page, viewer: user, base: "/gallery?",
                                        emptyText: page.page == 1 ? "No pictures yet." : "There is nothing on this page.")
            return c.pages.render("images/gallery", "Your gallery", request, page: listing)
        }
        router.get("/explore") { request in
            let viewer = request.session?.user.id
            let order = try Self.order(request)
            let page = try c.library.listPublic(order: order, page: try request.pageNumber())
            var listing = try c.listing(page, viewer: viewer, base: "/explore?sort=\(order.rawValue)&",
                                        emptyText: page.page == 1 ? "Nothing has been shared yet." : "There is nothing on this page.")
            listing.showOwner = true
            listing.sorts = ImageStore.PublicOrder.allCases.map { .init(value: $0.rawValue, label: Self.label($0), current: $0 == order) }
            listing.member = viewer != nil
            return c.pages.render("images/explore", "Explore shared pictures", request, page: listing)
        }
    }

    static func label(_ order: ImageStore.PublicOrder) -> String {
        switch order {
        case .newest: "Newest"
        case .likes: "Most liked"
        case .style: "By style"
        }
    }

    /// What the gallery templates need: the items, and links to the neighbouring pages.
    func listing(_ page: ImagePage, viewer: Int64?, base: String, emptyText: String) throws -> GalleryPage {
        let liked = try library.liked(page.items.map(\.id), viewer: viewer)
        return GalleryPage(
            images: page.items.map { s in
                GalleryPage.Item(id: s.id, title: s.title.isEmpty ? nil : s.title, style: ImageLibrary.styleName(s.style),
                                 owner: s.ownerName ?? "", likes: s.likeCount, liked: liked?.contains(s.id) ?? false,
                                 shared: s.visibility == .public, mine: viewer != nil && s.ownerID == viewer,
                                 canLike: viewer != nil && s.visibility == .public,
                                 created: String(ImageLibrary.timestamp(s.createdAt).prefix(10)))
            },
            empty: page.items.isEmpty, page: page.page,
            previous: page.page > 1 ? "\(base)page=\(page.page - 1)" : nil,
            next: page.hasMore ? "\(base)page=\(page.page + 1)" : nil,
            here: "\(base)page=\(page.page)", emptyText: emptyText)
    }
}
