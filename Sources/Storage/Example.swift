import Foundation
import GRDB

/// The home page's before/after examples: each bundled photo cartoonized in each style by the
/// model installed now (table `example`), and the account that owns the example movie.
public struct ExampleStore: Sendable {
    let database: AppDatabase

    /// The account that owns what Artworker makes by itself. Its name has a space, which no
    /// sign-up may use, and its password hash is one bcrypt can never match (v12).
    public static let ownerName = "Artworker examples"

    public init(database: AppDatabase) { self.database = database }

    /// Which styles each photo has an example in, made by the model with that hash.
    public func made() throws -> [String: [String: String]] {
        try database.pool.read { db in
            var out: [String: [String: String]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT photo, style, model_sha256 FROM example") {
                out[row["photo"], default: [:]][row["style"]] = row["model_sha256"]
            }
            return out
        }
    }

    /// Stores (or replaces, after a model changed) one example picture (JPEG).
    public func put(photo: String, style: String, modelSHA256: String, picture: Data, now: Date = Date()) throws {
        try database.pool.write { db in
            try db.execute(sql: """
                INSERT INTO example (photo, style, model_sha256, picture, created_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (photo, style) DO UPDATE SET model_sha256 = excluded.model_sha256, picture = excluded.picture,
                    created_at = excluded.created_at
                """, arguments: [photo, style, modelSHA256, picture, now])
        }
    }

    /// One example picture (JPEG) and the hash of the model that made it.
    public func picture(photo: String, style: String) throws -> (picture: Data, modelSHA256: String)? {
        try database.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT picture, model_sha256 FROM example WHERE photo = ? AND style = ?",
                             arguments: [photo, style]).map { ($0["picture"], $0["model_sha256"]) }
        }
    }

    /// The examples' account id (made by migration v12).
    public func ownerID() throws -> Int64 {
        try database.pool.read { db in
            guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM user WHERE username = ?", arguments: [Self.ownerName]) else {
                throw DatabaseError(message: "the examples' account is missing")
            }
            return id
        }
    }

    /// Whether the example movie has been stored (any movie of the examples' account).
    public func hasMovie() throws -> Bool {
        try database.pool.read { db in
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM movie JOIN user ON user.id = movie.owner_id WHERE user.username = ?)
                """, arguments: [Self.ownerName]) ?? false
        }
    }
}
