import Crypto
import Foundation
import GRDB
import StorageCore
import StoragePostgres
import StorageSQLite

/// Copies an SQLite database into PostgreSQL (`artworker migrate-storage`): every table, ids
/// kept, in one PostgreSQL transaction (all of it or nothing), then checks row counts and the
/// checksums of every stored picture and upload on both sides.
///
/// Re-running is safe: rows already copied are left alone (`ON CONFLICT DO NOTHING`), so a run
/// cut short, or a second run after new rows arrived in SQLite, adds only what is missing.
public enum StorageCopy {
    /// One table: its name on each side, its columns (the same names in both schemas), and an
    /// order that puts referenced rows first.
    struct Table {
        var sqlite: String
        var postgres: String
        var columns: [String]
        var order: String
        /// Columns whose value is written as given here rather than copied.
        var fixed: [String: String] = [:]
        var overridingIdentity = false
    }

    static let tables: [Table] = [
        Table(sqlite: "user", postgres: "account", columns: ["id", "username", "password_hash", "created_at", "session_generation"],
              order: "id"),
        Table(sqlite: "revoked_token", postgres: "revoked_token", columns: ["jti", "expires_at"], order: "jti"),
        Table(sqlite: "auth_attempt", postgres: "auth_attempt", columns: ["id", "kind", "username", "address", "at", "failed"],
              order: "id", overridingIdentity: true),
        // like_count starts at 0: the trigger counts the likes as they are copied.
        Table(sqlite: "image", postgres: "image",
              columns: ["id", "owner_id", "visibility", "style", "strength", "input_width", "input_height", "width", "height",
                        "model_sha256", "duration_ms", "original_type", "title", "like_count", "created_at", "expires_at", "visitor", "media"],
              order: "created_at, id", fixed: ["like_count": "0"]),
        Table(sqlite: "image_data", postgres: "image_data", columns: ["image_id", "part", "bytes", "blob", "size"], order: "image_id, part"),
        Table(sqlite: "image_like", postgres: "image_like", columns: ["image_id", "user_id", "created_at"], order: "image_id, user_id"),
        Table(sqlite: "image_palette", postgres: "image_palette", columns: ["image_id", "colours"], order: "image_id"),
        Table(sqlite: "movie", postgres: "movie",
              columns: ["id", "owner_id", "title", "year", "director", "notes", "source", "scene_count", "colour_count", "dominant",
                        "overview", "created_at", "updated_at"], order: "created_at, id"),
        Table(sqlite: "scene", postgres: "scene", columns: ["movie_id", "number", "flags", "width", "height", "thumbnail", "time_ms"],
              order: "movie_id, number"),
        Table(sqlite: "colour", postgres: "colour", columns: ["movie_id", "position", "scene", "tile", "rank", "r", "g", "b", "share"],
              order: "movie_id, position"),
        Table(sqlite: "example", postgres: "example", columns: ["photo", "style", "model_sha256", "picture", "created_at"],
              order: "photo, style"),
        // In order of arrival, so PostgreSQL's `seq` (ties in created_at) keeps the queue's order.
        Table(sqlite: "job", postgres: "job",
              columns: ["id", "kind", "owner_id", "address", "request_id", "parameters", "state", "progress", "attempts", "lease",
                        "lease_expires_at", "cancel_requested", "error", "error_message", "results", "submission", "created_at",
                        "started_at", "finished_at"], order: "created_at, rowid"),
        Table(sqlite: "job_input", postgres: "job_input", columns: ["job_id", "position", "name", "bytes"], order: "job_id, position"),
    ]

    /// Bytes compared by checksum after the copy: (table, bytes column, key columns).
    static let checksummed: [(table: Table, column: String, keys: [String])] = [
        (tables[4], "bytes", ["image_id", "part"]), (tables[8], "thumbnail", ["movie_id", "number"]),
        (tables[10], "picture", ["photo", "style"]), (tables[12], "bytes", ["job_id", "position"]),
    ]

    public struct Report: Sendable {
        /// Per table: rows in SQLite, and rows this run added to PostgreSQL.
        public var tables: [(name: String, rows: Int, added: Int)] = []
        /// Per checksummed column: rows, and the SHA-256 both sides agree on.
        public var checksums: [(name: String, rows: Int, sha256: String)] = []
    }

    public struct Mismatch: Error, CustomStringConvertible {
        public var description: String
    }

    /// Copies `source` into `target` (migrated first) and verifies the copy. With `blobs`,
    /// pictures' bytes go to that object store instead, each before the row that names it.
    public static func copy(from source: AppDatabase, to target: PostgresDatabase, blobs: (any BlobStore)? = nil,
                            progress: (String) -> Void = { _ in }) throws -> Report {
        var report = Report()
        try source.pool.read { db in // one snapshot of SQLite for the copy and the checks
            try target.transaction { c in
                try prepareExamplesAccount(db, c)
                for table in tables {
                    let (rows, added) = try table.postgres == "image_data" && blobs != nil
                        ? copyToObjectStore(db, c, blobs!) : copy(table, db, c)
                    report.tables.append((table.sqlite == table.postgres ? table.sqlite : "\(table.sqlite) → \(table.postgres)", rows, added))
                    progress("\(table.postgres): \(rows) rows, \(added) added")
                }
                // Identity columns continue after the copied ids.
                for (table, column) in [("account", "id"), ("auth_attempt", "id")] {
                    try c.execute("""
                        SELECT setval(pg_get_serial_sequence('\(table)', '\(column)'), greatest(1, (SELECT max(\(column)) FROM \(table))))
                        """)
                }
            }
            report.checksums = try verify(db, target, blobs: blobs)
        }
        return report
    }

    /// Both schemas make the examples' account in a migration, so the target has its own. When
    /// its id is not the source's it goes (its example movie with it: examples are remade) and
    /// the source's account takes its place with the source's id.
    static func prepareExamplesAccount(_ db: Database, _ c: PostgresConnection) throws {
        guard let sourceID = try Int64.fetchOne(db, sql: "SELECT id FROM user WHERE username = ?", arguments: [Examples.ownerName]) else { return }
        try c.execute("DELETE FROM account WHERE username = $1 AND id <> $2", [Examples.ownerName, sourceID])
    }

    static func copy(_ table: Table, _ db: Database, _ c: PostgresConnection) throws -> (rows: Int, added: Int) {
        // Fixed columns take no parameter: `$n` counts the copied columns only.
        var n = 0
        let values = table.columns.map { column -> String in
            if let fixed = table.fixed[column] { return fixed }
            n += 1
            return "$\(n)"
        }
        let sql = "INSERT INTO \(table.postgres) (\(table.columns.joined(separator: ", ")))"
            + (table.overridingIdentity ? " OVERRIDING SYSTEM VALUE" : "")
            + " VALUES (\(values.joined(separator: ", "))) ON CONFLICT DO NOTHING"
        let copied = table.columns.filter { table.fixed[$0] == nil }
        var rows = 0, added = 0
        let cursor = try Row.fetchCursor(db, sql: """
            SELECT \(copied.map { "\"\($0)\"" }.joined(separator: ", ")) FROM "\(table.sqlite)" ORDER BY \(table.order)
            """)
        while let row = try cursor.next() {
            added += try c.execute(sql, copied.indices.map { postgresValue(row[$0] as DatabaseValue) }).affected
            rows += 1
        }
        return (rows, added)
    }

    /// `image_data` with the bytes in the object store: each part is uploaded under its key,
    /// then its row (naming the key, no bytes) inserted. Parts already copied (a second run)
    /// are neither uploaded nor inserted again. Rows SQLite keeps in an object store already
    /// (it was configured with one) are copied as they are.
    static func copyToObjectStore(_ db: Database, _ c: PostgresConnection, _ blobs: any BlobStore) throws -> (rows: Int, added: Int) {
        var rows = 0, added = 0
        let cursor = try Row.fetchCursor(db, sql: "SELECT image_id, part, bytes, blob, size FROM image_data ORDER BY image_id, part")
        while let row = try cursor.next() {
            rows += 1
            let id: String = row["image_id"], part: String = row["part"]
            guard try c.execute("SELECT 1 FROM image_data WHERE image_id = $1 AND part = $2", [id, part]).first == nil else { continue }
            let bytes: Data = row["bytes"]
            let (key, size): (String, Int) = if let blob: String = row["blob"] { (blob, row["size"]) }
                                              else { (Blobs.key(image: id, part: part), bytes.count) }
            if row["blob"] as String? == nil { try blobs.put(key, bytes) }
            added += try c.execute("INSERT INTO image_data (image_id, part, bytes, blob, size) VALUES ($1, $2, '', $3, $4)",
                                   [id, part, key, size]).affected
        }
        return (rows, added)
    }

    /// SQLite's value as PostgreSQL reads it: numbers and text as text (GRDB writes dates as
    /// UTC text "yyyy-MM-dd HH:mm:ss.SSS", which `timestamptz` reads in the session's UTC;
    /// booleans are 0 and 1, which `boolean` accepts), blobs as binary.
    static func postgresValue(_ value: DatabaseValue) -> PostgresValue {
        switch value.storage {
        case .null: .null
        case let .int64(n): .text(String(n))
        case let .double(d): .text(d.description)
        case let .string(s): .text(s)
        case let .blob(data): .bytes(data)
        }
    }

    /// Counts every table on both sides, and hashes every stored picture and upload: SHA-256
    /// over the rows' own SHA-256s in key order (bytewise, "C" collation, on both sides).
    static func verify(_ db: Database, _ target: PostgresDatabase, blobs: (any BlobStore)?) throws -> [(name: String, rows: Int, sha256: String)] {
        for table in tables {
            let here = try Int.fetchOne(db, sql: "SELECT count(*) FROM \"\(table.sqlite)\"") ?? 0
            let there = try target.execute("SELECT count(*) AS n FROM \(table.postgres)").first?.int("n") ?? 0
            guard here == there else {
                throw Mismatch(description: "\(table.postgres): \(here) rows in SQLite but \(there) in PostgreSQL (it held other data already?)")
            }
        }
        var sums: [(String, Int, String)] = []
        for (table, column, keys) in checksummed {
            if table.sqlite == "image_data", try blobs != nil || Int.fetchOne(db, sql: "SELECT count(*) FROM image_data WHERE blob IS NOT NULL") ?? 0 > 0 {
                sums.append(try verifyPictures(db, target, blobs: blobs))
                continue
            }
            var hash = SHA256(), rows = 0
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT "\(column)" FROM "\(table.sqlite)" WHERE "\(column)" IS NOT NULL ORDER BY \(keys.joined(separator: ", "))
                """)
            while let row = try cursor.next() {
                hash.update(data: Data(SHA256.hash(data: row[0] as Data)))
                rows += 1
            }
            let here = hash.finalize().map { String(format: "%02x", $0) }.joined()
            let order = keys.map { "\($0)" + (["number", "position"].contains($0) ? "" : " COLLATE \"C\"") }.joined(separator: ", ")
            let there = try target.execute("""
                SELECT encode(sha256(coalesce(string_agg(sha256(\(column)), ''::bytea ORDER BY \(order)), ''::bytea)), 'hex') AS sum,
                       count(*) AS n
                FROM \(table.postgres) WHERE \(column) IS NOT NULL
                """).first
            guard try there?.string("sum") == here, try there?.int("n") == rows else {
                throw Mismatch(description: "\(table.postgres).\(column): the checksums differ between SQLite and PostgreSQL")
            }
            sums.append(("\(table.postgres).\(column)", rows, here))
        }
        return sums
    }

    /// The pictures' checksum when bytes are (or go) in an object store: each part read where
    /// its row says, on both sides, one at a time (memory stays one picture's worth), in key
    /// order; the same SHA-256 over the parts' SHA-256s as above.
    static func verifyPictures(_ db: Database, _ target: PostgresDatabase, blobs: (any BlobStore)?) throws -> (String, Int, String) {
        var here = SHA256(), rows = 0
        let cursor = try Row.fetchCursor(db, sql: "SELECT bytes, blob FROM image_data ORDER BY image_id, part")
        while let row = try cursor.next() {
            here.update(data: Data(SHA256.hash(data: try Blobs.read(bytes: row["bytes"], blob: row["blob"], from: blobs))))
            rows += 1
        }
        var there = SHA256(), count = 0
        let keys = try target.execute("""
            SELECT image_id, part, blob FROM image_data ORDER BY image_id COLLATE "C", part COLLATE "C"
            """).all
        for key in keys {
            let blob = try key.string(optional: "blob")
            let bytes = blob == nil
                ? try target.execute("SELECT bytes FROM image_data WHERE image_id = $1 AND part = $2",
                                     [try key.string("image_id"), try key.string("part")]).first?.data("bytes") ?? Data()
                : Data()
            there.update(data: Data(SHA256.hash(data: try Blobs.read(bytes: bytes, blob: blob, from: blobs))))
            count += 1
        }
        let sum = here.finalize().map { String(format: "%02x", $0) }.joined()
        guard sum == there.finalize().map({ String(format: "%02x", $0) }).joined(), count == rows else {
            throw Mismatch(description: "image_data: the pictures differ between SQLite and PostgreSQL (or the object store)")
        }
        return ("image_data pictures", rows, sum)
    }
}
