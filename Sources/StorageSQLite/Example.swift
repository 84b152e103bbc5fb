import Foundation
import GRDB
import StorageCore

/// The home page's examples in SQLite (table `example`).
public struct SQLiteExampleStore: ExampleStore {
    let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    /// Asked by every view of the home page: one statement (a consistent snapshot without a
    /// transaction around it), compiled once per connection.
    public func made() throws -> [String: [String: String]] {
        try database.pool.unsafeRead { db in
            var out: [String: [String: String]] = [:]
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT photo, style, model_sha256 FROM example")) {
                out[row[0], default: [:]][row[1]] = row[2]
            }
            return out
        }
    }

    public func put(photo: String, style: String, modelSHA256: String, picture: Data, now: Date) throws {
        try database.pool.write { db in
            try db.execute(sql: """
                INSERT INTO example (photo, style, model_sha256, picture, created_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (photo, style) DO UPDATE SET model_sha256 = excluded.model_sha256, picture = excluded.picture,
                    created_at = excluded.created_at
                """, arguments: [photo, style, modelSHA256, picture, now])
        }
    }

    public func picture(photo: String, style: String) throws -> (picture: Data, modelSHA256: String)? {
        try database.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT picture, model_sha256 FROM example WHERE photo = ? AND style = ?",
                             arguments: [photo, style]).map { ($0["picture"], $0["model_sha256"]) }
        }
    }

    public func ownerID() throws -> Int64 {
        try database.pool.read { db in
            guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM user WHERE username = ?", arguments: [Examples.ownerName]) else {
                throw DatabaseError(message: "the examples' account is missing")
            }
            return id
        }
    }

    public func hasMovie() throws -> Bool {
        try database.pool.read { db in
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM movie JOIN user ON user.id = movie.owner_id WHERE user.username = ?)
                """, arguments: [Examples.ownerName]) ?? false
        }
    }
}
