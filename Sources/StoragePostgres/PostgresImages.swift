import Foundation
import StorageCore

extension Image {
    /// The metadata columns of `image` (the parts are read apart).
    init(postgres row: PostgresRow) throws {
        guard let visibility = Visibility(rawValue: try row.string("visibility")) else {
            throw PostgresRow.DecodeError(column: "visibility", type: "an image visibility")
        }
        guard let media = Media(rawValue: try row.string("media")) else {
            throw PostgresRow.DecodeError(column: "media", type: "an image medium")
        }
        self.init(id: try row.string("id"), ownerID: try row.int64(optional: "owner_id"), visibility: visibility,
                  style: try row.string("style"), strength: try row.int("strength"), inputWidth: try row.int("input_width"),
                  inputHeight: try row.int("input_height"), width: try row.int("width"), height: try row.int("height"),
                  modelSHA256: try row.string("model_sha256"), durationMS: try row.int("duration_ms"), original: Data(),
                  originalType: try row.string("original_type"), result: Data(), thumbnail: Data(), title: try row.string("title"),
                  likeCount: try row.int("like_count"), createdAt: try row.date("created_at"),
                  expiresAt: try row.date(optional: "expires_at"), visitor: try row.string(optional: "visitor"), media: media)
    }
}

extension ImageSummary {
    init(postgres row: PostgresRow) throws {
        guard let visibility = Image.Visibility(rawValue: try row.string("visibility")) else {
            throw PostgresRow.DecodeError(column: "visibility", type: "an image visibility")
        }
        guard let media = Image.Media(rawValue: try row.string("media")) else {
            throw PostgresRow.DecodeError(column: "media", type: "an image medium")
        }
        self.init(id: try row.string("id"), ownerID: try row.int64(optional: "owner_id"), ownerName: try row.string(optional: "owner_name"),
                  visibility: visibility, style: try row.string("style"), strength: try row.int("strength"),
                  title: try row.string("title"), likeCount: try row.int("like_count"), createdAt: try row.date("created_at"), media: media)
    }
}

/// Images in PostgreSQL: tables `image`, `image_data` (one row per part) and `image_like`, as
/// in SQLite; like counts kept by the trigger `image_like_count`. A part's bytes are in its row,
/// or, with an object store, under the key its row names (`blob`, with `size`); see `Blobs`.
public struct PostgresImageStore: ImageStore {
    let database: PostgresDatabase
    let blobs: (any BlobStore)?

    public func insertAll(_ images: [Image]) throws {
        try Blobs.upload(images, to: blobs) // the bytes first: a committed row never names nothing
        try database.transaction { c in try Self.insert(images, on: c, inObjectStore: blobs != nil) }
    }

    /// Stores images inside a transaction someone else owns (a job's fenced finish). With
    /// `inObjectStore`, the parts were uploaded already (`Blobs.upload`) and rows name them.
    static func insert(_ images: [Image], on c: PostgresConnection, inObjectStore: Bool) throws {
        for image in images {
            try c.execute("""
                INSERT INTO image (id, owner_id, visibility, style, strength, input_width, input_height, width, height,
                                   model_sha256, duration_ms, original_type, title, like_count, created_at, expires_at, visitor, media)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
                """, [image.id, image.ownerID, image.visibility.rawValue, image.style, image.strength, image.inputWidth,
                      image.inputHeight, image.width, image.height, image.modelSHA256, image.durationMS, image.originalType,
                      image.title, image.likeCount, image.createdAt, image.expiresAt, image.visitor, image.media.rawValue])
            for (part, bytes) in Blobs.parts(of: image) {
                if inObjectStore {
                    try c.execute("INSERT INTO image_data (image_id, part, bytes, blob, size) VALUES ($1, $2, '', $3, $4)",
                                  [image.id, part, Blobs.key(image: image.id, part: part), bytes.count])
                } else {
                    try c.execute("INSERT INTO image_data (image_id, part, bytes) VALUES ($1, $2, $3)", [image.id, part, bytes])
                }
            }
        }
    }

    /// "`image` may be seen by the viewer in parameter $v at the time in $t".
    static func visible(viewer v: Int, now t: Int) -> String {
        "(image.visibility <> 'private' OR image.owner_id = $\(v)) AND (image.expires_at IS NULL OR image.expires_at > $\(t))"
    }

    public func find(id: String, viewer: Int64?, now: Date) throws -> Image? {
        let found = try database.transaction { c -> (Image, [PostgresRow])? in
            guard let row = try c.execute("SELECT * FROM image WHERE id = $1 AND \(Self.visible(viewer: 2, now: 3))",
                                          [id, viewer, now]).first else { return nil }
            return (try Image(postgres: row), try c.execute("SELECT part, bytes, blob FROM image_data WHERE image_id = $1", [id]).all)
        }
        guard let found else { return nil }
        var image = found.0
        // Bytes from the object store are read after the transaction, on no connection.
        for part in found.1 {
            Blobs.set(try part.string("part"), try Blobs.read(bytes: try part.data("bytes"), blob: try part.string(optional: "blob"), from: blobs),
                      in: &image)
        }
        return image
    }

    public func details(id: String, viewer: Int64?, now: Date) throws -> ImageDetails? {
        guard let row = try database.execute("""
            SELECT image.*, account.username AS owner_name,
                   (SELECT coalesce(size, octet_length(bytes)) FROM image_data WHERE image_id = image.id AND part = 'original') AS original_bytes,
                   (SELECT coalesce(size, octet_length(bytes)) FROM image_data WHERE image_id = image.id AND part = 'result') AS result_bytes
            FROM image LEFT JOIN account ON account.id = image.owner_id
            WHERE image.id = $1 AND \(Self.visible(viewer: 2, now: 3))
            """, [id, viewer, now]).first else { return nil }
        let image = try Image(postgres: row)
        return ImageDetails(id: image.id, ownerID: image.ownerID, ownerName: try row.string(optional: "owner_name"),
                            visibility: image.visibility, style: image.style, strength: image.strength, title: image.title,
                            inputWidth: image.inputWidth, inputHeight: image.inputHeight, width: image.width, height: image.height,
                            modelSHA256: image.modelSHA256, durationMS: image.durationMS, originalType: image.originalType,
                            originalBytes: try row.int(optional: "original_bytes") ?? 0, resultBytes: try row.int(optional: "result_bytes") ?? 0,
                            likeCount: image.likeCount, createdAt: image.createdAt, expiresAt: image.expiresAt, media: image.media)
    }

    public func bytes(_ part: ImageBytes.Part, id: String, viewer: Int64?, now: Date) throws -> ImageBytes? {
        guard let row = try database.execute("""
            SELECT image_data.bytes AS data, image_data.blob, image.visibility, image.original_type, image.style, image.title
            FROM image JOIN image_data ON image_data.image_id = image.id AND image_data.part = $1
            WHERE image.id = $2 AND \(Self.visible(viewer: 3, now: 4))
            """, [part.rawValue, id, viewer, now]).first else { return nil }
        return ImageBytes(data: try Blobs.read(bytes: try row.data("data"), blob: try row.string(optional: "blob"), from: blobs), visibility: Image.Visibility(rawValue: try row.string("visibility")) ?? .private,
                          originalType: try row.string("original_type"), style: try row.string("style"), title: try row.string("title"))
    }

    static let summaryColumns = """
        image.id, image.owner_id, account.username AS owner_name, image.visibility, image.media, image.style, image.strength,
        image.title, image.like_count, image.created_at
        """

    /// One page (one row more than a page is asked for, to know whether another follows).
    func page(sql: String, _ arguments: [any PostgresEncodable], page: Int) throws -> ImagePage {
        let page = max(1, page)
        let n = arguments.count
        let rows = try database.execute(sql + " LIMIT $\(n + 1) OFFSET $\(n + 2)",
                                        arguments + [ImagePages.size + 1, (page - 1) * ImagePages.size])
        return ImagePages.page(try rows.all.map(ImageSummary.init(postgres:)), number: page)
    }

    public func list(owner: Int64, page: Int) throws -> ImagePage {
        try self.page(sql: """
            SELECT \(Self.summaryColumns) FROM image JOIN account ON account.id = image.owner_id
            WHERE image.owner_id = $1 ORDER BY image.created_at DESC, image.id
            """, [owner], page: page)
    }

    public func listPublic(order: PublicOrder, style: String?, page: Int) throws -> ImagePage {
        try self.page(sql: """
            SELECT \(Self.summaryColumns) FROM image JOIN account ON account.id = image.owner_id
            WHERE image.visibility = 'public' \(style == nil ? "" : "AND image.style = $1") ORDER BY \(order.orderBy)
            """, style.map { [$0] } ?? [], page: page)
    }

    public func setShared(_ shared: Bool, id: String, owner: Int64) throws -> Bool {
        try database.execute("UPDATE image SET visibility = $1 WHERE id = $2 AND owner_id = $3",
                             [shared ? "public" : "private", id, owner]).affected == 1
    }

    public func claim(_ ids: [String], visitor: String, owner: Int64, now: Date) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try database.execute("""
            UPDATE image SET owner_id = $1, visibility = 'private', expires_at = NULL, visitor = NULL
            WHERE id = ANY($2::text[]) AND visibility = 'anonymous' AND visitor = $3 AND expires_at > $4
            """, [owner, PostgresArray.text(ids), visitor, now]).affected
    }

    public func setTitle(_ title: String, id: String, owner: Int64) throws -> Bool {
        try database.execute("UPDATE image SET title = $1 WHERE id = $2 AND owner_id = $3", [title, id, owner]).affected == 1
    }

    public func setLiked(_ liked: Bool, id: String, user: Int64) throws -> Int? {
        try database.transaction { c in
            // FOR SHARE: the image cannot be unshared or deleted between this check and the like.
            guard try c.execute("SELECT 1 FROM image WHERE id = $1 AND visibility = 'public' FOR SHARE", [id]).first != nil else {
                return nil
            }
            if liked {
                try c.execute("INSERT INTO image_like (image_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                              [id, user, Date()])
            } else {
                try c.execute("DELETE FROM image_like WHERE image_id = $1 AND user_id = $2", [id, user])
            }
            return try c.execute("SELECT like_count FROM image WHERE id = $1", [id]).first?.int("like_count")
        }
    }

    public func liked(by user: Int64, among ids: [String]) throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return Set(try database.execute("SELECT image_id FROM image_like WHERE user_id = $1 AND image_id = ANY($2::text[])",
                                        [user, PostgresArray.text(ids)]).all.map { try $0.string("image_id") })
    }

    public func delete(id: String, owner: Int64) throws -> Bool {
        try database.execute("DELETE FROM image WHERE id = $1 AND owner_id = $2", [id, owner]).affected == 1
    }

    @discardableResult
    public func purgeExpired(now: Date) throws -> Int {
        try database.execute("DELETE FROM image WHERE expires_at IS NOT NULL AND expires_at <= $1", [now]).affected
    }

    public func referencedBlobs(among keys: [String]) throws -> Set<String> {
        guard !keys.isEmpty else { return [] }
        return Set(try database.execute("SELECT blob FROM image_data WHERE blob = ANY($1::text[])", [PostgresArray.text(keys)])
            .all.map { try $0.string("blob") })
    }
}

/// Array parameters in PostgreSQL's text form (`{"a","b"}`), for `= ANY($n::text[])`.
enum PostgresArray {
    static func text(_ values: [String]) -> PostgresValue {
        .text("{" + values.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
            .joined(separator: ",") + "}")
    }
}
