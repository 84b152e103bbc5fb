import Foundation
import GRDB

/// One cartoonized picture: who may see it and how it was made (table `image`), and its
/// pictures (table `image_data`, one row per part, so small rows list fast).
public struct Image: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "image"

    public enum Visibility: String, Codable, Sendable { case `private`, `public`, anonymous }

    public var id: String
    public var ownerID: Int64?
    public var visibility: Visibility
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
    /// The uploaded file's name without extension (may be empty); names downloads.
    public var title: String = ""
    public var likeCount: Int = 0
    public var createdAt: Date = Date()
    public var expiresAt: Date?
    /// For a visitor's result: their key (see v13), so the same browser can keep it on signing up.
    public var visitor: String?

    enum CodingKeys: String, CodingKey {
        case id, visibility, style, strength, width, height, title, visitor
        case ownerID = "owner_id", inputWidth = "input_width", inputHeight = "input_height"
        case modelSHA256 = "model_sha256", durationMS = "duration_ms", originalType = "original_type"
        case likeCount = "like_count", createdAt = "created_at", expiresAt = "expires_at"
    }

    public init(id: String, ownerID: Int64?, visibility: Visibility, style: String, strength: Int,
                inputWidth: Int, inputHeight: Int, width: Int, height: Int, modelSHA256: String, durationMS: Int,
                original: Data, originalType: String, result: Data, thumbnail: Data, before: Data = Data(), title: String = "",
                likeCount: Int = 0, createdAt: Date = Date(), expiresAt: Date? = nil, visitor: String? = nil) {
        self.id = id
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
public struct ImageSummary: Codable, Sendable, Equatable, FetchableRecord {
    public var id: String
    public var ownerID: Int64?
    public var ownerName: String?
    public var visibility: Image.Visibility
    public var style: String
    public var strength: Int
    public var title: String
    public var likeCount: Int
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, visibility, style, strength, title
        case ownerID = "owner_id", ownerName = "owner_name", likeCount = "like_count", createdAt = "created_at"
    }
}

/// One page of a listing, and whether another follows.
public struct ImagePage: Sendable, Equatable {
    public var items: [ImageSummary]
    public var page: Int
    public var hasMore: Bool
}

/// Everything about an image but its bytes (permalink pages and the API's metadata).
public struct ImageDetails: Codable, Sendable, Equatable, FetchableRecord {
    public var id: String
    public var ownerID: Int64?
    public var ownerName: String?
    public var visibility: Image.Visibility
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
        case id, visibility, style, strength, title, width, height
        case ownerID = "owner_id", ownerName = "owner_name", inputWidth = "input_width", inputHeight = "input_height"
        case modelSHA256 = "model_sha256", durationMS = "duration_ms", originalType = "original_type"
        case originalBytes = "original_bytes", resultBytes = "result_bytes"
        case likeCount = "like_count", createdAt = "created_at", expiresAt = "expires_at"
    }
}

/// One stored picture's bytes with what a response needs to label and cache them.
public struct ImageBytes: Sendable {
    public enum Part: String, Sendable { case original, result, thumbnail, before }
    public var data: Data
    public var visibility: Image.Visibility
    public var originalType: String
    public var style: String
    public var title: String
}

/// Images: store, fetch, list, share, like, delete. Every read takes the viewer (a user id,
/// or nil when signed out) and returns nothing for images that viewer may not see: private
/// images of others, and anonymous results past their expiry (even before they are purged).
public struct ImageStore: Sendable {
    let database: AppDatabase
    public static let pageSize = 24

    public init(database: AppDatabase) { self.database = database }

    public func insert(_ image: Image) throws { try insertAll([image]) }

    /// Stores several images in one transaction: all of them, or none.
    public func insertAll(_ images: [Image]) throws {
        try database.pool.write { db in try Self.insert(images, in: db) }
    }

    /// Stores images inside a transaction someone else owns (a job's fenced finish).
    static func insert(_ images: [Image], in db: Database) throws {
        for image in images {
            try image.insert(db)
            for (part, bytes) in [("original", image.original), ("result", image.result), ("thumbnail", image.thumbnail),
                                  ("before", image.before)] where !bytes.isEmpty || part != "before" {
                try db.execute(sql: "INSERT INTO image_data (image_id, part, bytes) VALUES (?, ?, ?)", arguments: [image.id, part, bytes])
            }
        }
    }

    /// The SQL condition "`image` may be seen by viewer ?1 at time ?2".
    static let visible = "(image.visibility != 'private' OR image.owner_id = ?) AND (image.expires_at IS NULL OR image.expires_at > ?)"

    /// The whole image (bytes included), but only if `viewer` may see it.
    public func find(id: String, viewer: Int64?, now: Date = Date()) throws -> Image? {
        try database.pool.read { db in
            guard var image = try Image.fetchOne(db, sql: "SELECT * FROM image WHERE id = ? AND \(Self.visible)",
                                                 arguments: [id, viewer, now]) else { return nil }
            for row in try Row.fetchAll(db, sql: "SELECT part, bytes FROM image_data WHERE image_id = ?", arguments: [id]) {
                let bytes: Data = row["bytes"]
                switch row["part"] as String {
                case "original": image.original = bytes
                case "result": image.result = bytes
                case "before": image.before = bytes
                default: image.thumbnail = bytes
                }
            }
            return image
        }
    }

    /// Metadata without bytes, if `viewer` may see the image.
    public func details(id: String, viewer: Int64?, now: Date = Date()) throws -> ImageDetails? {
        try database.pool.read { db in
            try ImageDetails.fetchOne(db, sql: """
                SELECT image.id, image.owner_id, user.username AS owner_name, image.visibility, image.style, image.strength,
                       image.title, image.input_width, image.input_height, image.width, image.height, image.model_sha256,
                       image.duration_ms, image.original_type,
                       (SELECT length(bytes) FROM image_data WHERE image_id = image.id AND part = 'original') AS original_bytes,
                       (SELECT length(bytes) FROM image_data WHERE image_id = image.id AND part = 'result') AS result_bytes,
                       image.like_count, image.created_at, image.expires_at
                FROM image LEFT JOIN user ON user.id = image.owner_id
                WHERE image.id = ? AND \(Self.visible)
                """, arguments: [id, viewer, now])
        }
    }

    /// One of the image's stored pictures (only that BLOB is read), if `viewer` may see it.
    public func bytes(_ part: ImageBytes.Part, id: String, viewer: Int64?, now: Date = Date()) throws -> ImageBytes? {
        try database.pool.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT image_data.bytes AS data, image.visibility, image.original_type, image.style, image.title
                FROM image JOIN image_data ON image_data.image_id = image.id AND image_data.part = ?
                WHERE image.id = ? AND \(Self.visible)
                """, arguments: [part.rawValue, id, viewer, now]) else { return nil }
            return ImageBytes(data: row["data"], visibility: Image.Visibility(rawValue: row["visibility"]) ?? .private,
                              originalType: row["original_type"], style: row["style"], title: row["title"])
        }
    }

    static let summaryColumns = """
        image.id, image.owner_id, user.username AS owner_name, image.visibility, image.style, image.strength,
        image.title, image.like_count, image.created_at
        """

    /// Fetches one page (one row more than a page, to know whether another follows).
    func page(sql: String, arguments: StatementArguments, page: Int) throws -> ImagePage {
        let page = max(1, page)
        let rows = try database.pool.read { db in
            try ImageSummary.fetchAll(db, sql: sql + " LIMIT ? OFFSET ?",
                                      arguments: arguments + [Self.pageSize + 1, (page - 1) * Self.pageSize])
        }
        return ImagePage(items: Array(rows.prefix(Self.pageSize)), page: page, hasMore: rows.count > Self.pageSize)
    }

    /// A member's own images, newest first.
    public func list(owner: Int64, page: Int) throws -> ImagePage {
        try self.page(sql: """
            SELECT \(Self.summaryColumns) FROM image JOIN user ON user.id = image.owner_id
            WHERE image.owner_id = ? ORDER BY image.created_at DESC, image.id
            """, arguments: [owner], page: page)
    }

    public enum PublicOrder: String, Sendable, CaseIterable { case newest, likes, style }

    /// Shared images, by newest, most liked, or style (then newest); of one style only when
    /// `style` is given.
    public func listPublic(order: PublicOrder, style: String? = nil, page: Int) throws -> ImagePage {
        let orderBy = switch order {
        case .newest: "image.created_at DESC, image.id"
        case .likes: "image.like_count DESC, image.created_at DESC, image.id"
        case .style: "image.style, image.created_at DESC, image.id"
        }
        return try self.page(sql: """
            SELECT \(Self.summaryColumns) FROM image JOIN user ON user.id = image.owner_id
            WHERE image.visibility = 'public' \(style == nil ? "" : "AND image.style = ?") ORDER BY \(orderBy)
            """, arguments: StatementArguments(style.map { [$0] } ?? []), page: page)
    }

    /// Share or unshare an own image; false if it is not the member's.
    public func setShared(_ shared: Bool, id: String, owner: Int64) throws -> Bool {
        try database.pool.write { db in
            try db.execute(sql: "UPDATE image SET visibility = ? WHERE id = ? AND owner_id = ?",
                           arguments: [shared ? "public" : "private", id, owner])
            return db.changesCount == 1
        }
    }

    /// Moves a visitor's results into the account they just made: only results still within
    /// their expiry and made by the same visitor (`visitor` key); they become private and
    /// lasting. Returns how many moved.
    public func claim(_ ids: [String], visitor: String, owner: Int64, now: Date = Date()) throws -> Int {
        try database.pool.write { db in
            var moved = 0
            for id in ids {
                try db.execute(sql: """
                    UPDATE image SET owner_id = ?, visibility = 'private', expires_at = NULL, visitor = NULL
                    WHERE id = ? AND visibility = 'anonymous' AND visitor = ? AND expires_at > ?
                    """, arguments: [owner, id, visitor, now])
                moved += db.changesCount
            }
            return moved
        }
    }

    /// Gives the owner's image a new title; false when it is not theirs.
    public func setTitle(_ title: String, id: String, owner: Int64) throws -> Bool {
        try database.pool.write { db in
            try db.execute(sql: "UPDATE image SET title = ? WHERE id = ? AND owner_id = ?", arguments: [title, id, owner])
            return db.changesCount == 1
        }
    }

    /// One like per member on a public image, toggled; returns the new count, or nil if the
    /// image is not public.
    public func setLiked(_ liked: Bool, id: String, user: Int64) throws -> Int? {
        try database.pool.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT visibility = 'public' FROM image WHERE id = ?", arguments: [id]) == true else {
                return nil
            }
            if liked {
                try db.execute(sql: "INSERT OR IGNORE INTO image_like (image_id, user_id, created_at) VALUES (?, ?, ?)",
                               arguments: [id, user, Date()])
            } else {
                try db.execute(sql: "DELETE FROM image_like WHERE image_id = ? AND user_id = ?", arguments: [id, user])
            }
            return try Int.fetchOne(db, sql: "SELECT like_count FROM image WHERE id = ?", arguments: [id])
        }
    }

    /// Which of `ids` the member has liked.
    public func liked(by user: Int64, among ids: [String]) throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return try database.pool.read { db in
            let marks = databaseQuestionMarks(count: ids.count)
            return Set(try String.fetchAll(db, sql: "SELECT image_id FROM image_like WHERE user_id = ? AND image_id IN (\(marks))",
                                           arguments: StatementArguments([user]) + StatementArguments(ids)))
        }
    }

    /// Deletes an own image (its likes go with it); false if it is not the member's.
    public func delete(id: String, owner: Int64) throws -> Bool {
        try database.pool.write { db in
            try db.execute(sql: "DELETE FROM image WHERE id = ? AND owner_id = ?", arguments: [id, owner])
            return db.changesCount == 1
        }
    }

    /// Removes anonymous results past their expiry; returns how many.
    @discardableResult
    public func purgeExpired(now: Date = Date()) throws -> Int {
        try database.pool.write { db in
            try db.execute(sql: "DELETE FROM image WHERE expires_at IS NOT NULL AND expires_at <= ?", arguments: [now])
            return db.changesCount
        }
    }
}
