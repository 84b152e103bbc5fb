import Foundation
import HTTPServer
import Localization
import Palette
import StorageCore

/// One image, as API and as its permalink page. Private images answer 404 to everyone but
/// their owner, bytes and thumbnails included.
///
///     GET    /api/v1/images/{id}                        metadata, provenance, visibility, likes
///     GET    /api/v1/images/{id}/result?format=png|jpeg, /original, /thumbnail   bytes
///     DELETE /api/v1/images/{id}                        204
///     PATCH  /api/v1/images/{id}  {"title": "…"}      200 metadata (the owner renames)
///     POST   /api/v1/images/{id}/share | /unshare       200 metadata
///     POST | DELETE /api/v1/images/{id}/like            200 {"likes","liked"}
///     GET /i/{id} (page), /i/{id}/result.png|result.jpg|original|before.jpg|thumbnail.jpg (bytes)
///     POST /i/{id}/share, /i/{id}/like, /i/{id}/rename, /i/{id}/delete (forms)
struct ImageController {
    let library: ImageLibrary
    let pages: Pages
    /// For the result's own palette and the movie nearest to it.
    let movies: MovieService


    func mount(on router: Router) {
        let c = self
        // API
        router.get("/api/v1/images/:id") { request in
            let viewer = request.session?.user.id
            let details = try c.library.details(try Self.id(request), viewer: viewer)
            let liked = try c.library.liked([details.id], viewer: viewer)?.contains(details.id)
            return HTTPResponse.noStore(.json(ImageLibrary.body(details, liked: liked)))
        }
        router.addAsync("GET", "/api/v1/images/:id/result") { request in
            let id = try Self.id(request)
            // Without a format: a picture's PNG, a clip's MP4.
            let format = try request.http.query("format")?.lowercased()
                ?? (c.library.details(id, viewer: request.session?.user.id).media == .image ? "png" : "mp4")
            let renditions: [String: ImageLibrary.Rendition] = ["png": .png, "jpeg": .jpeg, "jpg": .jpeg, "mp4": .mp4, "gif": .gif]
            guard let rendition = renditions[format] else { throw Refusal(.invalid, "image.bad_format") }
            return try c.library.bytes(rendition, id: id, request: request)
        }
        router.addAsync("GET", "/api/v1/images/:id/original") { request in
            try c.library.bytes(.original, id: try Self.id(request), request: request)
        }
        router.get("/api/v1/images/:id/thumbnail") { request in
            try c.library.bytes(.thumbnail, id: try Self.id(request), request: request)
        }
        router.add("DELETE", "/api/v1/images/:id") { request in
            try c.delete(request, user: try request.apiSession().user.id!)
            return HTTPResponse(status: .noContent)
        }
        router.add("PATCH", "/api/v1/images/:id", bodyLimit: 16 * 1024) { request in
            struct Rename: Decodable { var title: String }
            let user = try request.apiSession().user.id!
            let body = try request.json(Rename.self, or: Refusal(.invalid, "api.title_expected"))
            let details = try c.library.rename(try Self.id(request), to: body.title, by: user)
            return .json(ImageLibrary.body(details, liked: try c.library.liked([details.id], viewer: user)?.contains(details.id)))
        }
        for (action, shared) in [("share", true), ("unshare", false)] {
            router.post("/api/v1/images/:id/\(action)") { request in
                let user = try request.apiSession().user.id!
                let details = try c.setShared(shared, request, user: user)
                return .json(ImageLibrary.body(details, liked: try c.library.liked([details.id], viewer: user)?.contains(details.id)))
            }
        }
        for (method, liked) in [("POST", true), ("DELETE", false)] {
            router.add(method, "/api/v1/images/:id/like") { request in
                let count = try c.like(liked, request, user: try request.apiSession().user.id!)
                struct LikeBody: Encodable { var likes: Int; var liked: Bool }
                return .json(LikeBody(likes: count, liked: liked))
            }
        }

        // Pages
        // Async: the first view analyses the result's palette (decoding its PNG).
        router.addAsync("GET", "/i/:id") { request in try c.pages.cached(request) { try c.keptPage(request) } }
        router.addAsync("GET", "/i/:id/result.png") { request in try c.library.bytes(.png, id: try Self.id(request), request: request) }
        router.addAsync("GET", "/i/:id/result.jpg") { request in try c.library.bytes(.jpeg, id: try Self.id(request), request: request) }
        router.addAsync("GET", "/i/:id/original") { request in try c.library.bytes(.original, id: try Self.id(request), request: request) }
        router.get("/i/:id/before.jpg") { request in try c.library.bytes(.before, id: try Self.id(request), request: request) }
        router.get("/i/:id/before.mp4") { request in try c.library.bytes(.before, id: try Self.id(request), request: request) }
        router.get("/i/:id/result.mp4") { request in try c.library.bytes(.mp4, id: try Self.id(request), request: request) }
        router.get("/i/:id/result.gif") { request in try c.library.bytes(.gif, id: try Self.id(request), request: request) }
        router.get("/i/:id/thumbnail.jpg") { request in try c.library.bytes(.thumbnail, id: try Self.id(request), request: request) }
        router.post("/i/:id/share", bodyLimit: 16 * 1024) { request in
            let user = try request.memberID()
            let form = try request.formDictionary()
            _ = try c.setShared(form["shared"] == "1", request, user: user)
            return .redirect(to: Self.back(form, request))
        }
        router.post("/i/:id/like", bodyLimit: 16 * 1024) { request in
            let user = try request.memberID()
            let form = try request.formDictionary()
            let liked = form["liked"] == "1"
            let count = try c.like(liked, request, user: user)
            // The page's script likes without leaving the page (and its scroll position).
            if request.headers["Accept"]?.contains("application/json") == true {
                struct LikeBody: Encodable { var likes: Int; var liked: Bool }
                return HTTPResponse.noStore(.json(LikeBody(likes: count, liked: liked)))
            }
            return .redirect(to: Self.back(form, request))
        }
        router.post("/i/:id/rename", bodyLimit: 16 * 1024) { request in
            let user = try request.memberID()
            let form = try request.formDictionary()
            do {
                _ = try c.library.rename(try Self.id(request), to: form["title"] ?? "", by: user)
            } catch let refusal as Refusal where refusal.reason == .invalid {
                return try c.page(request, status: .badRequest, error: refusal.message, typedTitle: form["title"])
            }
            return .redirect(to: "/i/\(try Self.id(request))")
        }
        router.post("/i/:id/delete", bodyLimit: 16 * 1024) { request in
            let user = try request.memberID()
            let form = try request.formDictionary()
            guard form["confirm"] == "yes" else {
                return try c.page(request, status: .badRequest, error: Message("form.confirm_delete"))
            }
            try c.delete(request, user: user)
            return .redirect(to: "/gallery")
        }
    }

    static func id(_ request: Request) throws -> String {
        guard let id = request.parameter("id") else { throw ImageLibrary.notFound }
        return id
    }

    /// Where a form returns to: its `next` field if it is a path on this site, else the image.
    static func back(_ form: [String: String], _ request: Request) -> String {
        let next = LocalRedirect.pathOrHome(form["next"])
        return next == "/" ? "/i/\(request.parameter("id") ?? "")" : next
    }

    func delete(_ request: Request, user: Int64) throws {
        try library.delete(try Self.id(request), by: user)
    }

    func setShared(_ shared: Bool, _ request: Request, user: Int64) throws -> ImageDetails {
        try library.setShared(shared, try Self.id(request), by: user)
    }

    func like(_ liked: Bool, _ request: Request, user: Int64) throws -> Int {
        try library.like(liked, try Self.id(request), by: user)
    }

    /// The picture's page, and until when it may be kept: an anonymous result is no one's to
    /// see once it expires, with or without a write.
    func keptPage(_ request: Request) throws -> (response: HTTPResponse, until: Date?) {
        let (response, details) = try render(request)
        return (response, details.expiresAt)
    }

    func page(_ request: Request, status: HTTPStatus = .ok, error: Message? = nil, typedTitle: String? = nil) throws -> HTTPResponse {
        try render(request, status: status, error: error, typedTitle: typedTitle).response
    }

    /// The page, with the details it was made from.
    func render(_ request: Request, status: HTTPStatus = .ok, error: Message? = nil,
                typedTitle: String? = nil) throws -> (response: HTTPResponse, details: ImageDetails) {
        let viewer = request.session?.user.id
        let language = pages.language(request)
        let d = try library.details(try Self.id(request), viewer: viewer)
        let style = ImageLibrary.styleName(d.style, language)
        let title = Message("image.title", ["label": .text(ImageLibrary.label(title: d.title, style: d.style, created: d.createdAt, language)),
                                            "style": .text(style)])
        let liked = try library.liked([d.id], viewer: viewer)?.contains(d.id) ?? false
        let palette = try movies.resultPalette(imageID: d.id) { try library.result(d.id, viewer: viewer) }
        let nearest = try movies.nearest(to: palette)
        let permalink = pages.origin(request) + "/i/\(d.id)"
        // Only shared pictures describe themselves to link previews: a private one answers 404
        // to the preview's fetcher anyway, and an anonymous result is nobody's to advertise.
        let openGraph = d.visibility == .public ? ImageResultPage.OpenGraph(
            ogTitle: title.text(in: language),
            ogDescription: Message("image.og_description", ["style": .text(style)]).text(in: language),
            ogImage: pages.origin(request) + "/i/\(d.id)/thumbnail.jpg", ogURL: permalink) : nil
        let page = ImageResultPage(
            id: d.id, heading: title.text(in: language), title: typedTitle ?? d.title, permalink: permalink,
            linkable: d.visibility != .private, openGraph: openGraph,
            styleName: style, strength: d.strength,
            width: d.width, height: d.height, inputWidth: d.inputWidth, inputHeight: d.inputHeight,
            seconds: String(format: "%.1f", Double(d.durationMS) / 1000), model: d.modelSHA256,
            modelShort: String(d.modelSHA256.prefix(12)), created: Dates.time(d.createdAt, in: language),
            createdISO: ImageLibrary.timestamp(d.createdAt), owner: d.ownerName,
            mine: viewer != nil && d.ownerID == viewer, shared: d.visibility == .public, anonymous: d.visibility == .anonymous,
            expires: d.expiresAt.map { Dates.time($0, in: language) }, expiresISO: d.expiresAt.map(ImageLibrary.timestamp),
            likes: d.likeCount, liked: liked,
            canLike: viewer != nil && d.ownerID != viewer && d.visibility == .public,
            pngName: DownloadName.file(title: d.title, style: d.style, id: d.id, ext: "png").name,
            jpegName: DownloadName.file(title: d.title, style: d.style, id: d.id, ext: "jpg").name, error: error?.text(in: language),
            palette: palette.isEmpty ? nil : PalettePlots.strip(MoviePalette.weighted(palette), width: 540, height: 36,
                                                                label: Message("image.palette_label").text(in: language)),
            nearest: nearest.map { n in
                .init(id: n.movie.id, title: n.movie.info.title, distance: String(format: "%.1f", n.distance),
                      strip: PaletteViews.dominantStrip(n.movie.dominant, title: n.movie.info.title, language: language,
                                                        width: 540, height: 36))
            })
        var shown = page
        if d.media != .image {
            shown.clip = true
            shown.gif = d.media == .gif
            shown.mp4Name = DownloadName.file(title: d.title, style: d.style, id: d.id, ext: "mp4").name
            shown.gifName = DownloadName.file(title: d.title, style: d.style, id: d.id, ext: "gif").name
        }
        return (pages.render("images/image", title, request, page: shown, status: status), d)
    }
}
