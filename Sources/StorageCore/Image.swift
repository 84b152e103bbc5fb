import Foundation

/// One cartoonized picture: who may see it and how it was made (table `image`), and its
/// pictures (table `image_data`, one row per part, so small rows list fast).
public struct Image: Codable, Sendable, Equatable {
    public enum Visibility: String, Codable, Sendable { case `private`, `public`, anonymous }
    /// What the result is: a picture, a clip (MP4), or a clip made from an animated GIF (MP4 and GIF).
    public enum Media: String, Codable, Sendable { case image, video, gif }

    public var id: String
    public var ownerID: Int64?
    public var visibility: Visibility
    public var media: Media = .image
    public var style: String
    public var strength: Int
    public var inputWidth: Int
    public var inputHeight: Int
    public var width: Int
    public var height: Int
    public var modelSHA256: String
    public var durationMS: Int
    /// The parts live in `image_data`: not columns of `image` (see CodingKeys).
    public var original = Data()
    public var originalType: String
    public var result = Data()
    public var thumbnail = Data()
    /// The photo as the generator saw it (the result's size, JPEG): what a before/after shows,
    /// rather than a multi-megabyte original. Empty for pictures made before v10.
    public var before = Data()
    /// A clip's still (PNG, the result's size), for pages and `?format=png|jpeg`; empty for pictures.
    public var poster = Data()
    /// A GIF clip's result as an animated GIF; empty otherwise.
    public var animation = Data()
    /// The uploaded file's name without extension (may be empty); names downloads.
    public var title: String = ""
    public var likeCount: Int = 0
    public var createdAt: Date = Date()
    public var expiresAt: Date?
    /// For a visitor's result: their key (see v13), so the same browser can keep it on signing up.
    public var visitor: String?

    enum CodingKeys: String, CodingKey {
        case id, visibility, media, style, strength, width, height, title, visitor
        case ownerID = "owner_id", inputWidth = "input_width", inputHeight = "input_height"
        case modelSHA256 = "model_sha256", durationMS = "duration_ms", originalType = "original_type"
        case likeCount = "like_count", createdAt = "created_at", expiresAt = "expires_at"
    }

    public init(id: String, ownerID: Int64?, visibility: Visibility, style: String, strength: Int,
                inputWidth: Int, inputHeight: Int, width: Int, height: Int, modelSHA256: String, durationMS: Int,
                original: Data, originalType: String, result: Data, thumbnail: Data, before: Data = Data(), title: String = "",
                likeCount: Int = 0, createdAt: Date = Date(), expiresAt: Date? = nil, visitor: String? = nil,
                media: Media = .image, poster: Data = Data(), animation: Data = Data()) {
        self.id = id
        self.media = media
        self.poster = poster
        self.animation = animation
        self.ownerID = ownerID
        self.visibility = visibility
        self.style = style
        self.strength = strength
        self.inputWidth = inputWidth
        self.inputHeight = inputHeight
        self.width = width
        self.height = height
        self.modelSHA256 = modelSHA256
        self.durationMS = durationMS
        self.original = original
        self.originalType = originalType
        self.result = result
        self.thumbnail = thumbnail
        self.before = before
        self.title = title
        self.likeCount = likeCount
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.visitor = visitor
    }

    /// 128 random bits in base64url: not guessable, not enumerable.
    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Whether `viewer` (a user id, or nil when signed out) may see this image at all.
    public func isVisible(to viewer: Int64?) -> Bool {
        switch visibility {
        case .public, .anonymous: true // anonymous results are reachable only by their unguessable id
        case .private: viewer != nil && viewer == ownerID
        }
    }
}

/// Listing columns only: pages and lists never load the full-size bytes.
public struct ImageSummary: Codable, Sendable, Equatable {
    public var id: String
    public var ownerID: Int64?
    public var ownerName: String?
    public var visibility: Image.Visibility
    public var media: Image.Media
    public var style: String
    public var strength: Int
    public var title: String
    public var likeCount: Int
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, visibility, media, style, strength, title
        case ownerID = "owner_id", ownerName = "owner_name", likeCount = "like_count", createdAt = "created_at"
    }

    public init(id: String, ownerID: Int64?, ownerName: String?, visibility: Image.Visibility, style: String, strength: Int,
                title: String, likeCount: Int, createdAt: Date, media: Image.Media = .image) {
        self.media = media
        (self.id, self.ownerID, self.ownerName, self.visibility, self.style) = (id, ownerID, ownerName, visibility, style)
        (self.strength, self.title, self.likeCount, self.createdAt) = (strength, title, likeCount, createdAt)
    }
}

/// One page of a listing, and whether another follows.
public struct ImagePage: Sendable, Equatable {
    public var items: [ImageSummary]
    public var page: Int
    public var hasMore: Bool

    public init(items: [ImageSummary], page: Int, hasMore: Bool) {
        (self.items, self.page, self.hasMore) = (items, page, hasMore)
    }
}

/// Everything about an image but its bytes (permalink pages and the API's metadata).
public struct ImageDetails: Codable, Sendable, Equatable {
    public var id: String
    public var ownerID: Int64?
    public var ownerName: String?
    public var visibility: Image.Visibility
    public var media: Image.Media
    public var style: String
    public var strength: Int
    public var title: String
    public var inputWidth: Int
    public var inputHeight: Int
    public var width: Int
    public var height: Int
    public var modelSHA256: String
    public var durationMS: Int
    public var originalType: String
    public var originalBytes: Int
    public var resultBytes: Int
    public var likeCount: Int
    public var createdAt: Date
    public var expiresAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, visibility, media, style, strength, title, width, height
        case ownerID = "owner_id", ownerName = "owner_name", inputWidth = "input_width", inputHeight = "input_height"
        case modelSHA256 = "model_sha256", durationMS = "duration_ms", originalType = "original_type"
        case originalBytes = "original_bytes", resultBytes = "result_bytes"
        case likeCount = "like_count", createdAt = "created_at", expiresAt = "expires_at"
    }

    public init(id: String, ownerID: Int64?, ownerName: String?, visibility: Image.Visibility, style: String, strength: Int,
                title: String, inputWidth: Int, inputHeight: Int, width: Int, height: Int, modelSHA256: String, durationMS: Int,
                originalType: String, originalBytes: Int, resultBytes: Int, likeCount: Int, createdAt: Date, expiresAt: Date?,
                media: Image.Media = .image) {
        self.media = media
        (self.id, self.ownerID, self.ownerName, self.visibility, self.style) = (id, ownerID, ownerName, visibility, style)
        (self.strength, self.title, self.inputWidth, self.inputHeight) = (strength, title, inputWidth, inputHeight)
        (self.width, self.height, self.modelSHA256, self.durationMS) = (width, height, modelSHA256, durationMS)
        (self.originalType, self.originalBytes, self.resultBytes) = (originalType, originalBytes, resultBytes)
        (self.likeCount, self.createdAt, self.expiresAt) = (likeCount, createdAt, expiresAt)
    }
}

/// One stored picture's bytes with what a response needs to label and cache them.
public struct ImageBytes: Sendable {
    public enum Part: String, Sendable { case original, result, thumbnail, before, poster, animation }
    public var data: Data
    public var visibility: Image.Visibility
    public var originalType: String
    public var style: String
    public var title: String

    public init(data: Data, visibility: Image.Visibility, originalType: String, style: String, title: String) {
        (self.data, self.visibility, self.originalType, self.style, self.title) = (data, visibility, originalType, style, title)
    }
}

/// The orders the public gallery offers.
public enum PublicOrder: String, Sendable, CaseIterable {
    case newest, likes, style

    /// The ORDER BY of a public listing, the same SQL in both backends; the id last, so pages
    /// never overlap or skip.
    public var orderBy: String {
        switch self {
        case .newest: "image.created_at DESC, image.id"
        case .likes: "image.like_count DESC, image.created_at DESC, image.id"
        case .style: "image.style, image.created_at DESC, image.id"
        }
    }
}

