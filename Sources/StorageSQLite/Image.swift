import Foundation
import GRDB
import StorageCore

extension Image: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "image"
}

/// Listings decode 25 of these per page view: by column position (the order of
/// `SQLiteImageStore.summaryColumns`), not through Decodable, whose per-column name lookups
/// cost as much as the query.
extension ImageSummary: FetchableRecord {
    public init(row: Row) throws {
        guard let visibility = Image.Visibility(rawValue: row[3]), let media = Image.Media(rawValue: row[4]) else {
            throw DatabaseError(message: "image \(row[0] as String): unknown visibility or media")
        }
        self.init(id: row[0], ownerID: row[1], ownerName: row[2], visibility: visibility, style: row[5], strength: row[6],
                  title: row[7], likeCount: row[8], createdAt: row[9], media: media)
    }
}
extension ImageDetails: FetchableRecord {}

/// Images in SQLite: tables `image`, `image_data` (one row per part) and `image_like`. A
/// part's bytes are in its row, or, with an object store, under the key its row names (`blob`,
/// with the byte count in `size`); see `Blobs`.
public struct SQLiteImageStore: ImageStore {
    let database: AppDatabase
    let blobs: (any BlobStore)?

    public init(database: AppDatabase, blobs: (any BlobStore)? = nil) {
        self.database = database
        self.blobs = blobs
    }

    public func insertAll(_ images: [Image]) throws {
        try Blobs.upload(images, to: blobs) // the bytes first: a committed row never names nothing
        try database.pool.write { db in try Self.insert(images, in: db, inObjectStore: blobs != nil) }
    }

    /// Stores images inside a transaction someone else owns (a job's fenced finish). With
    /// `inObjectStore`, the parts were uploaded already (`Blobs.upload`) and rows name them.
    static func insert(_ images: [Image], in db: Database, inObjectStore: Bool) throws {
        for image in images {
            try image.insert(db)
            for (part, bytes) in Blobs.parts(of: image) {
                if inObjectStore {
                    try db.execute(sql: "INSERT INTO image_data (image_id, part, bytes, blob, size) VALUES (?, ?, x'', ?, ?)",
                                   arguments: [image.id, part, Blobs.key(image: image.id, part: part), bytes.count])
                } else {
                    try db.execute(sql: "INSERT INTO image_data (image_id, part, bytes) VALUES (?, ?, ?)", arguments: [image.id, part, bytes])
                }
            }
        }
    }

    /// The SQL condition "`image` may be seen by viewer ?1 at time ?2".
    static let visible = "(image.visibility != 'private' OR image.owner_id = ?) AND (image.expires_at IS NULL OR image.expires_at > ?)"

    public func find(id: String, viewer: Int64?, now: Date) throws -> Image? {
        let found = try database.pool.read { db -> (Image, [Row])? in
            guard let image = try Image.fetchOne(db, sql: "SELECT * FROM image WHERE id = ? AND \(Self.visible)",
                                                 arguments: [id, viewer, now]) else { return nil }
            return (image, try Row.fetchAll(db, sql: "SELECT part, bytes, blob FROM image_data WHERE image_id = ?", arguments: [id]))
        }
        guard let found else { return nil }
        var image = found.0
        // Bytes from the object store are read after the database's read transaction.
        for row in found.1 {
            Blobs.set(row["part"], try Blobs.read(bytes: row["bytes"], blob: row["blob"], from: blobs), in: &image)
        }
        return image
    }

    /// Every view of a picture's page asks this: one statement, compiled once per connection.
    public func details(id: String, viewer: Int64?, now: Date) throws -> ImageDetails? {
        try database.pool.unsafeRead { db in
            try ImageDetails.fetchOne(db.cachedStatement(sql: """
                SELECT image.id, image.owner_id, user.username AS owner_name, image.visibility, image.media, image.style, image.strength,
                       image.title, image.input_width, image.input_height, image.width, image.height, image.model_sha256,
                       image.duration_ms, image.original_type,
                       (SELECT coalesce(size, length(bytes)) FROM image_data WHERE image_id = image.id AND part = 'original') AS original_bytes,
                       (SELECT coalesce(size, length(bytes)) FROM image_data WHERE image_id = image.id AND part = 'result') AS result_bytes,
                       image.like_count, image.created_at, image.expires_at
                FROM image LEFT JOIN user ON user.id = image.owner_id
                WHERE image.id = ? AND \(Self.visible)
                """), arguments: [id, viewer, now])
        }
    }

    public func bytes(_ part: ImageBytes.Part, id: String, viewer: Int64?, now: Date) throws -> ImageBytes? {
        let found = try database.pool.read { db in
            try Row.fetchOne(db, sql: """
                SELECT image_data.bytes AS data, image_data.blob, image.visibility, image.original_type, image.style, image.title
                FROM image JOIN image_data ON image_data.image_id = image.id AND image_data.part = ?
                WHERE image.id = ? AND \(Self.visible)
                """, arguments: [part.rawValue, id, viewer, now])
        }
        guard let row = found else { return nil }
        return ImageBytes(data: try Blobs.read(bytes: row["data"], blob: row["blob"], from: blobs),
                          visibility: Image.Visibility(rawValue: row["visibility"]) ?? .private,
                          originalType: row["original_type"], style: row["style"], title: row["title"])
    }

    public func referencedBlobs(among keys: [String]) throws -> Set<String> {
        guard !keys.isEmpty else { return [] }
        return try database.pool.read { db in
            Set(try String.fetchAll(db, sql: "SELECT blob FROM image_data WHERE blob IN (\(databaseQuestionMarks(count: keys.count)))",
                                    arguments: StatementArguments(keys)))
        }
    }

    /// What a listing shows of each picture, in the order `ImageSummary.init(row:)` reads.
    static let summaryColumns = """
        image.id, image.owner_id, user.username AS owner_name, image.visibility, image.media, image.style, image.strength,
        image.title, image.like_count, image.created_at
        """

    /// Fetches one page (one row more than a page, to know whether another follows).
    func page(sql: String, arguments: StatementArguments, page: Int) throws -> ImagePage {
        let page = max(1, page)
        // One statement: it reads a consistent snapshot without a transaction around it. The
        // handful of listing queries are compiled once per connection.
        let rows = try database.pool.unsafeRead { db in
            try ImageSummary.fetchAll(db.cachedStatement(sql: sql + " LIMIT ? OFFSET ?"),
                                      arguments: arguments + [ImagePages.size + 1, (page - 1) * ImagePages.size])
        }
        return ImagePages.page(rows, number: page)
    }

    public func list(owner: Int64, page: Int) throws -> ImagePage {
        try self.page(sql: """
            SELECT \(Self.summaryColumns) FROM image JOIN user ON user.id = image.owner_id
            WHERE image.owner_id = ? ORDER BY image.created_at DESC, image.id
            """, arguments: [owner], page: page)
    }

    public func listPublic(order: PublicOrder, style: String?, page: Int) throws -> ImagePage {
        try self.page(sql: """
            SELECT \(Self.summaryColumns) FROM image JOIN user ON user.id = image.owner_id
            WHERE image.visibility = 'public' \(style == nil ? "" : "AND image.style = ?") ORDER BY \(order.orderBy)
            """, arguments: StatementArguments(style.map { [$0] } ?? []), page: page)
    }

    public func setShared(_ shared: Bool, id: String, owner: Int64) throws -> Bool {
        try database.pool.write { db in
            try db.execute(sql: "UPDATE image SET visibility = ? WHERE id = ? AND owner_id = ?",
                           arguments: [shared ? "public" : "private", id, owner])
            return db.changesCount == 1
        }
    }

    public func claim(_ ids: [String], visitor: String, owner: Int64, now: Date) throws -> Int {
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

    public func setTitle(_ title: String, id: String, owner: Int64) throws -> Bool {
        try database.pool.write { db in
            try db.execute(sql: "UPDATE image SET title = ? WHERE id = ? AND owner_id = ?", arguments: [title, id, owner])
            return db.changesCount == 1
        }
    }

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

    public func liked(by user: Int64, among ids: [String]) throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return try database.pool.unsafeRead { db in
            let marks = databaseQuestionMarks(count: ids.count)
            return Set(try String.fetchAll(db.cachedStatement(sql: "SELECT image_id FROM image_like WHERE user_id = ? AND image_id IN (\(marks))"),
                                           arguments: StatementArguments([user]) + StatementArguments(ids)))
        }
    }

    public func delete(id: String, owner: Int64) throws -> Bool {
        try database.pool.write { db in
            try db.execute(sql: "DELETE FROM image WHERE id = ? AND owner_id = ?", arguments: [id, owner])
            return db.changesCount == 1
        }
    }

    @discardableResult
    public func purgeExpired(now: Date) throws -> Int {
        try database.pool.write { db in
            try db.execute(sql: "DELETE FROM image WHERE expires_at IS NOT NULL AND expires_at <= ?", arguments: [now])
            return db.changesCount
        }
    }
}
