import Foundation
import GRDB
import StorageCore

extension User: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "user"

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

extension RevokedToken: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "revoked_token"
}

/// Accounts in SQLite (table `user`).
public struct SQLiteUserStore: UserStore {
    let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    public func create(username: String, passwordHash: String) throws -> User {
        do {
            return try database.pool.write { db in
                var user = User(username: username, passwordHash: passwordHash)
                try user.insert(db)
                return user
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw UserStoreError.usernameTaken
        }
    }

    public func find(username: String) throws -> User? {
        try database.pool.read { db in
            try User.filter(sql: "username = ? COLLATE NOCASE", arguments: [username]).fetchOne(db)
        }
    }

    /// Every signed-in request asks this: one statement (a consistent snapshot without a
    /// transaction), compiled once per connection.
    public func find(id: Int64) throws -> User? {
        try database.pool.unsafeRead { db in
            try User.fetchOne(db.cachedStatement(sql: "SELECT * FROM user WHERE id = ?"), arguments: [id])
        }
    }

    @discardableResult
    public func updatePasswordHash(id: Int64, to hash: String) throws -> Int {
        try database.pool.write { db in
            try db.execute(sql: "UPDATE user SET password_hash = ?, session_generation = session_generation + 1 WHERE id = ?",
                           arguments: [hash, id])
            return try Int.fetchOne(db, sql: "SELECT session_generation FROM user WHERE id = ?", arguments: [id]) ?? 0
        }
    }

    /// Rows that reference the account go with it (ON DELETE CASCADE in later tables).
    public func delete(id: Int64) throws {
        _ = try database.pool.write { db in try User.deleteOne(db, key: id) }
    }
}

/// Session tokens revoked before their expiry (table `revoked_token`).
public struct SQLiteRevokedTokens: RevokedTokenStore {
    let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    public func revoke(tokenID: String, expiresAt: Date) throws {
        try database.pool.write { db in
            try RevokedToken(jti: tokenID, expiresAt: expiresAt).insert(db, onConflict: .ignore)
        }
    }

    /// Asked on every signed-in request: one statement, compiled once per connection.
    public func isRevoked(_ tokenID: String) throws -> Bool {
        try database.pool.unsafeRead { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM revoked_token WHERE jti = ?)"), arguments: [tokenID]) ?? false
        }
    }

    @discardableResult
    public func purgeExpired(now: Date) throws -> Int {
        try database.pool.write { db in
            try db.execute(sql: "DELETE FROM revoked_token WHERE expires_at <= ?", arguments: [now])
            return db.changesCount
        }
    }
}
