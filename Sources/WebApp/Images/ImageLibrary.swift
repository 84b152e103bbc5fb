import CartoonGAN
import Foundation
import HTTPServer
import ImageIO
import Localization
import StorageCore

/// What the image pages and the image API share: the visibility rule turned into status codes,
/// the bytes with caching headers that fit their visibility, and the JSON shapes.
struct ImageLibrary: Sendable {
    let images: ImageStore

    /// The same answer for "no such id" and "someone else's private image", so ids cannot be
    /// probed.
    static let notFound = Refusal(.notFound, "image.not_found")

    /// The downloadable forms of an image.
    enum Rendition: String, Sendable {
        case original, thumbnail, png, jpeg
        /// The photo at the result's size (the before/after's "before"); for a clip, the input
        /// as converted (MP4).
        case before
        /// A clip's result (MP4), and a GIF clip's result as a GIF.
        case mp4, gif

        var part: ImageBytes.Part {
            switch self {
            case .original: .original
            case .before: .before
            case .thumbnail: .thumbnail
            case .png, .jpeg, .mp4: .result
            case .gif: .animation
            }
        }
    }

    /// Which of `ids` the viewer has liked; nil when signed out (nothing to say).
    func liked(_ ids: [String], viewer: Int64?) throws -> Set<String>? {
        try viewer.map { try images.liked(by: $0, among: ids) }
    }

    /// "Hayao" (or "하야오") for "hayao".
    static func styleName(_ style: String, _ language: Language) -> String {
        Style(rawValue: style) != nil ? Message("style.\(style)").text(in: language) : style
    }

    /// What a picture is called on pages: its title, or its style and day when it has none.
    static func label(title: String, style: String, created: Date, _ language: Language) -> String {
        guard title.isEmpty else { return title }
        return Message("image.untitled", ["style": .text(styleName(style, language)),
                                          "date": .text(Dates.day(created, in: language))]).text(in: language)
    }

    func details(_ id: String, viewer: Int64?) throws -> ImageDetails {
        guard let details = try images.details(id: id, viewer: viewer) else { throw Self.notFound }
        return details
    }

    /// The image for an owner-only action: 404 if the viewer cannot see it at all, 403 if they
    /// can (a shared image) but it is not theirs.
    enum OwnerAction: String { case delete, share, unshare, rename }

    func owned(_ id: String, by user: Int64, action: OwnerAction) throws -> ImageDetails {
        let details = try details(id, viewer: user)
        guard details.ownerID == user else {
            let message: Message = switch action {
            case .delete: Message("image.not_yours.delete")
            case .share: Message("image.not_yours.share")
            case .unshare: Message("image.not_yours.unshare")
            case .rename: Message("image.not_yours.rename")
            }
            throw Refusal(.forbidden, message)
        }
        return details
    }

    func list(owner: Int64, page: Int) throws -> ImagePage { try images.list(owner: owner, page: page) }

    func listPublic(order: PublicOrder, style: Style? = nil, page: Int) throws -> ImagePage {
        try images.listPublic(order: order, style: style?.rawValue, page: page)
    }

    func delete(_ id: String, by user: Int64) throws {
        _ = try owned(id, by: user, action: .delete)
        guard try images.delete(id: id, owner: user) else { throw Self.notFound }
    }

    /// Shares or unshares the owner's image; returns it as it is now.
    func setShared(_ shared: Bool, _ id: String, by user: Int64) throws -> ImageDetails {
        _ = try owned(id, by: user, action: shared ? .share : .unshare)
        guard try images.setShared(shared, id: id, owner: user) else { throw Self.notFound }
        return try details(id, viewer: user)
    }

    /// Renames the owner's picture. The title is normalised as upload titles are (NFC, single
    /// spaces); one longer than `DownloadName.maxTitle` characters is refused with its length,
    /// never cut where the owner cannot see it. An empty title shows the style and date.
    func rename(_ id: String, to title: String, by user: Int64) throws -> ImageDetails {
        _ = try owned(id, by: user, action: .rename)
        let clean = DownloadName.title(title, limit: Int.max)
        // The column's CHECK counts code points (SQLite's length()); an emoji sequence is one
        // character to a reader but several code points, so both are held to the limit.
        let length = max(clean.count, clean.unicodeScalars.count)
        guard length <= DownloadName.maxTitle else {
            throw Refusal(.invalid, "image.title_too_long", ["length": .number(length), "max": .number(DownloadName.maxTitle)])
        }
        guard try images.setTitle(clean, id: id, owner: user) else { throw Self.notFound }
        return try details(id, viewer: user)
    }

    /// Moves the visitor's result into their new account (see ImageStore.claim).
    func claim(_ id: String, visitor: String, owner: Int64) throws -> Bool {
        try images.claim([id], visitor: visitor, owner: owner) == 1
    }

    /// Likes or unlikes someone else's shared image; returns its like count.
    func like(_ liked: Bool, _ id: String, by user: Int64) throws -> Int {
        let details = try details(id, viewer: user)
        guard details.ownerID != user else { throw Refusal(.forbidden, "image.like_own") }
        guard details.visibility == .public, let count = try images.setLiked(liked, id: id, user: user) else {
            throw Refusal(.conflict, "image.like_unshared")
        }
        return count
    }

    /// A clip's MP4, if `viewer` may see it.
    func clip(_ id: String, viewer: Int64?) throws -> Data? {
        try images.bytes(.result, id: id, viewer: viewer)?.data
    }

    /// The cartoon's PNG (a clip's poster), if `viewer` may see it.
    func result(_ id: String, viewer: Int64?) throws -> Data? {
        try (images.bytes(.poster, id: id, viewer: viewer) ?? images.bytes(.result, id: id, viewer: viewer))?.data
    }

    /// The bytes of one rendition. Stored bytes never change for an id, so the ETag is the id
    /// and rendition; a 304 is only given after the visibility check. Cache-Control follows
    /// visibility: shared images may sit in shared caches for five minutes (so an unshared one
    /// can linger that long, and no longer); private and anonymous ones are kept by the browser
    /// only and revalidated on every use, so a deleted or unshared image stops showing at once.
    func bytes(_ rendition: Rendition, id: String, request: Request) throws -> HTTPResponse {
        let viewer = request.session?.user.id
        // A clip's still stands for it as PNG or JPEG (a picture has no poster part). Pictures
        // made before the "before" part existed show their original instead.
        let poster = rendition == .png || rendition == .jpeg ? try images.bytes(.poster, id: id, viewer: viewer) : nil
        guard let stored = try poster ?? images.bytes(rendition.part, id: id, viewer: viewer)
                ?? (rendition == .before ? try images.bytes(.original, id: id, viewer: viewer) : nil) else { throw Self.notFound }
        // A picture's result is a PNG, a clip's an MP4: each rendition only of what it can be.
        let isClip = stored.data.dropFirst(4).prefix(4).elementsEqual("ftyp".utf8)
        if rendition == .mp4 && !isClip { throw Self.notFound }
        let etag = "\"\(id)-\(rendition.rawValue)\""
        var headers: HTTPHeaders = [
            "ETag": etag,
            "Cache-Control": stored.visibility == .public ? "public, max-age=300" : "private, no-cache",
        ]
        if request.headers.noneMatchFails(etag) { return HTTPResponse(status: .notModified, headers: headers) }
        let body: [UInt8]
        let type: String, ext: String
        switch rendition {
        case .original:
            body = [UInt8](stored.data)
            type = stored.originalType
            ext = Self.originalExtension(type)
        case .before:
            body = [UInt8](stored.data)
            type = isClip ? "video/mp4" : ImageFormat.sniff(body)?.mimeType ?? "image/jpeg"
            ext = isClip ? "mp4" : type == "image/png" ? "png" : "jpg"
        case .mp4:
            body = [UInt8](stored.data)
            (type, ext) = ("video/mp4", "mp4")
        case .gif:
            body = [UInt8](stored.data)
            (type, ext) = ("image/gif", "gif")
        case .thumbnail, .png:
            body = [UInt8](stored.data)
            (type, ext) = rendition == .png ? ("image/png", "png") : ("image/jpeg", "jpg")
        case .jpeg:
            // Results are stored once, losslessly; JPEG is made on request (tens of ms at 1280 px).
            body = try ImageEncoder.jpeg(try ImageDecoder.decode([UInt8](stored.data)).image, quality: 92)
            (type, ext) = ("image/jpeg", "jpg")
        }
        headers.set("Content-Type", type)
        if rendition != .thumbnail && rendition != .before {
            // RFC 6266: `attachment` makes browsers save rather than show; the name keeps the
            // title's script (filename*), with an ASCII fallback.
            let name = rendition == .original
                ? DownloadName.original(title: stored.title, id: id, ext: Self.originalExtension(type))
                : DownloadName.file(title: stored.title, style: stored.style, id: id, ext: ext)
            let disposition = request.http.query("download") != nil ? "attachment" : "inline"
            headers.set("Content-Disposition", ContentDisposition.value(disposition, filename: name.name, fallback: name.fallback))
        }
        return .ranged(body, etag: etag, headers: headers, request: request.http)
    }

    /// The file extension an original downloads with, from its media type.
    static func originalExtension(_ type: String) -> String {
        switch type {
        case "image/png": "png"
        case "image/jpeg": "jpg"
        case "image/gif": "gif"
        case "video/mp4": "mp4"
        case "video/quicktime": "mov"
        case "video/webm": "webm"
        case "video/x-matroska": "mkv"
        case "video/x-msvideo": "avi"
        case "video/x-flv": "flv"
        case "video/mp2t": "ts"
        case "video/ogg": "ogv"
        default: "bin"
        }
    }

    // MARK: JSON

    struct Size: Encodable { var width: Int, height: Int }

    struct Links: Encodable {
        var page: String
        var thumbnail: String
        /// The result as PNG and JPEG (a clip's still).
        var result_png: String
        var result_jpeg: String
        /// For a clip: its MP4; for a GIF clip also its GIF.
        var result_mp4: String?
        var result_gif: String?
        var original: String

        init(id: String, media: Image.Media = .image) {
            page = "/i/\(id)"
            thumbnail = "/api/v1/images/\(id)/thumbnail"
            result_png = "/api/v1/images/\(id)/result?format=png"
            result_jpeg = "/api/v1/images/\(id)/result?format=jpeg"
            result_mp4 = media == .image ? nil : "/api/v1/images/\(id)/result?format=mp4"
            result_gif = media == .gif ? "/api/v1/images/\(id)/result?format=gif" : nil
            original = "/api/v1/images/\(id)/original"
        }
    }

    /// `GET /api/v1/images/{id}`: metadata, provenance, visibility and likes.
    struct DetailsBody: Encodable {
        var id: String
        var title: String
        var style: String
        var strength: Int
        var visibility: String
        /// "image", "video" or "gif".
        var media: String
        var owner: String?
        var likes: Int
        var liked: Bool?
        var created_at: String
        var expires_at: String?
        var input: Size
        var output: Size
        var model_sha256: String
        var duration_ms: Int
        var original_type: String
        var links: Links
    }

    /// One entry of a gallery listing.
    struct SummaryBody: Encodable {
        var id: String
        var title: String
        var style: String
        var strength: Int
        var visibility: String
        var media: String
        var owner: String?
        var likes: Int
        var liked: Bool?
        var created_at: String
        var links: Links
    }

    struct PageBody: Encodable {
        var page: Int
        var has_more: Bool
        var images: [SummaryBody]
    }

    /// RFC 3339 in UTC ("2026-11-21T08:18:13Z"). Written out by hand: Foundation's ISO 8601
    /// formatter costs ~0.1 ms a call on Linux, which dominated a 24-picture gallery page.
    static func timestamp(_ date: Date) -> String {
        let t = Dates.parts(date)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(t.tm_year + 1900)-\(two(t.tm_mon + 1))-\(two(t.tm_mday))T\(two(t.tm_hour)):\(two(t.tm_min)):\(two(t.tm_sec))Z"
    }


    static func body(_ d: ImageDetails, liked: Bool?) -> DetailsBody {
        DetailsBody(id: d.id, title: d.title, style: d.style, strength: d.strength, visibility: d.visibility.rawValue,
                    media: d.media.rawValue, owner: d.ownerName, likes: d.likeCount, liked: liked, created_at: timestamp(d.createdAt),
                    expires_at: d.expiresAt.map(timestamp), input: Size(width: d.inputWidth, height: d.inputHeight),
                    output: Size(width: d.width, height: d.height), model_sha256: d.modelSHA256, duration_ms: d.durationMS,
                    original_type: d.originalType, links: Links(id: d.id, media: d.media))
    }

    func body(_ page: ImagePage, viewer: Int64?) throws -> PageBody {
        let liked = try liked(page.items.map(\.id), viewer: viewer)
        return PageBody(page: page.page, has_more: page.hasMore, images: page.items.map { s in
            SummaryBody(id: s.id, title: s.title, style: s.style, strength: s.strength, visibility: s.visibility.rawValue,
                        media: s.media.rawValue, owner: s.ownerName, likes: s.likeCount, liked: liked.map { $0.contains(s.id) },
                        created_at: Self.timestamp(s.createdAt), links: Links(id: s.id, media: s.media))
        })
    }
}
