import Foundation

/// One account.
public struct User: Codable, Sendable, Equatable {
    public var id: Int64?
    public var username: String
    public var passwordHash: String
    public var createdAt: Date
    /// Sessions issued for an earlier generation are no longer valid (see
    /// `UserStore.updatePasswordHash`).
    public var sessionGeneration: Int = 0

    enum CodingKeys: String, CodingKey {
        case id, username
        case passwordHash = "password_hash"
        case createdAt = "created_at"
        case sessionGeneration = "session_generation"
    }

    public init(id: Int64? = nil, username: String, passwordHash: String, createdAt: Date = Date(), sessionGeneration: Int = 0) {
        self.id = id
        self.username = username
        self.passwordHash = passwordHash
        self.createdAt = createdAt
        self.sessionGeneration = sessionGeneration
    }
}

/// One revoked session token: its id, kept until it would have expired anyway.
public struct RevokedToken: Codable, Sendable, Equatable {
    public var jti: String
    public var expiresAt: Date

    enum CodingKeys: String, CodingKey {
        case jti
        case expiresAt = "expires_at"
    }

    public init(jti: String, expiresAt: Date) {
        self.jti = jti
        self.expiresAt = expiresAt
    }
}
