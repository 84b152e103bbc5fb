import Foundation
import GRDB

/// One account (table `user`).
public struct User: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "user"

    public var id: Int64?
    public var username: String
    public var passwordHash: String
    public var createdAt: Date
    /// Sessions issued for an earlier generation are no longer valid (see `updatePasswordHash`).
    public var sessionGeneration: Int = 0

    enum CodingKeys: String, CodingKey {
        case id, username
        case passwordHash = "password_hash"
        case createdAt = "created_at"
        case sessionGeneration = "session_generation"
    }

    public init(username: String, passwordHash: String, createdAt: Date = Date()) {
        self.username = username
        self.passwordHash = passwordHash
        self.createdAt = createdAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

public enum UserStoreError: Error, Equatable, Sendable {
    case usernameTaken
}

/// Accounts: create, find, change password, delete.
public struct UserStore: Sendable {
    let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    /// Creates the account, or throws `.usernameTaken` when the name exists in any letter case.
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

    public func find(id: Int64) throws -> User? {
        try database.pool.read { db in try User.fetchOne(db, key: id) }
    }

    /// Sets a new password hash and moves the account to its next session generation, in one
    /// transaction, so every session issued before the change stops working; returns the new
    /// generation (the caller issues the one session that made the change anew).
    @discardableResult
    public func updatePasswordHash(id: Int64, to hash: String) throws -> Int {
        try database.pool.write { db in
            try db.execute(sql: "UPDATE user SET password_hash = ?, session_generation = session_generation + 1 WHERE id = ?",
                           arguments: [hash, id])
            return try Int.fetchOne(db, sql: "SELECT session_generation FROM user WHERE id = ?", arguments: [id]) ?? 0
        }
    }

    /// Deletes the account; rows that reference it go with it (ON DELETE CASCADE in later tables).
    public func delete(id: Int64) throws {
        _ = try database.pool.write { db in try User.deleteOne(db, key: id) }
    }
}

/// One revoked session token (table `revoked_token`).
public struct RevokedToken: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "revoked_token"
    public var jti: String
    public var expiresAt: Date

    enum CodingKeys: String, CodingKey {
        case jti
        case expiresAt = "expires_at"
    }
}

/// Session tokens revoked before their expiry (logout).
public struct RevokedTokens: Sendable {
    let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    public func revoke(tokenID: String, expiresAt: Date) throws {
        try database.pool.write { db in
            try RevokedToken(jti: tokenID, expiresAt: expiresAt).insert(db, onConflict: .ignore)
        }
    }

    public func isRevoked(_ tokenID: String) throws -> Bool {
        try database.pool.read { db in
            try RevokedToken.exists(db, key: tokenID)
        }
    }

    /// Forgets revocations of tokens that have expired anyway; returns how many.
    @discardableResult
    public func purgeExpired(now: Date = Date()) throws -> Int {
        try database.pool.write { db in
            try db.execute(sql: "DELETE FROM revoked_token WHERE expires_at <= ?", arguments: [now])
            return db.changesCount
        }
    }
}
