import Foundation
import GRDB

/// The SQLite database in the data folder: a GRDB pool in WAL mode, with named migrations
/// recorded in the database itself.
///
/// Durability: `synchronous = FULL` makes every commit reach the disk (WAL plus fsync) before
/// it returns, so a write acknowledged to a user survives a killed process or a power cut.
public final class AppDatabase: Sendable {
    public let pool: DatabasePool

    /// Opens (creating if needed) `data/artworker.sqlite` and migrates it to the current schema.
    public static func open(directory: URL) throws -> AppDatabase {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try AppDatabase(path: directory.appendingPathComponent("artworker.sqlite").path)
    }

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        // Writers wait for each other instead of failing (pool readers never block in WAL).
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    /// Every schema change, in order, by name. Later issues append their own.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: users") { db in
            try db.execute(sql: """
                CREATE TABLE user (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    -- case-insensitive uniqueness: "Mei" and "mei" are the same account
                    username TEXT NOT NULL UNIQUE COLLATE NOCASE
                        CHECK (length(username) BETWEEN 3 AND 32),
                    password_hash TEXT NOT NULL CHECK (password_hash LIKE '$2b$%'),
                    created_at DATETIME NOT NULL
                )
                """)
        }
        migrator.registerMigration("v1: revoked tokens") { db in
            // Logged-out session tokens, kept until they would have expired anyway.
            try db.execute(sql: """
                CREATE TABLE revoked_token (
                    jti TEXT PRIMARY KEY NOT NULL,
                    expires_at DATETIME NOT NULL
                ) WITHOUT ROWID
                """)
            try db.execute(sql: "CREATE INDEX revoked_token_expiry ON revoked_token (expires_at)")
        }
        return migrator
    }

    /// Names of the migrations applied to this database, in order.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Self.migrator.appliedIdentifiers(db) }.sorted()
    }
}
