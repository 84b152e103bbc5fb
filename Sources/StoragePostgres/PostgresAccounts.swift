import Foundation
import StorageCore

extension User {
    init(postgres row: PostgresRow) throws {
        self.init(id: try row.int64("id"), username: try row.string("username"), passwordHash: try row.string("password_hash"),
                  createdAt: try row.date("created_at"), sessionGeneration: try row.int("session_generation"))
    }
}

/// Accounts in PostgreSQL (table `account`).
public struct PostgresUserStore: UserStore {
    let database: PostgresDatabase

    public func create(username: String, passwordHash: String) throws -> User {
        do {
            let row = try database.execute("""
                INSERT INTO account (username, password_hash, created_at) VALUES ($1, $2, $3) RETURNING *
                """, [username, passwordHash, Date()]).first
            return try User(postgres: row!)
        } catch let error as PostgresError where error.isUniqueViolation {
            throw UserStoreError.usernameTaken
        }
    }

    public func find(username: String) throws -> User? {
        try database.execute("SELECT * FROM account WHERE lower(username) = lower($1)", [username]).first.map(User.init(postgres:))
    }

    public func find(id: Int64) throws -> User? {
        try database.execute("SELECT * FROM account WHERE id = $1", [id]).first.map(User.init(postgres:))
    }

    @discardableResult
    public func updatePasswordHash(id: Int64, to hash: String) throws -> Int {
        try database.execute("""
            UPDATE account SET password_hash = $1, session_generation = session_generation + 1 WHERE id = $2
            RETURNING session_generation
            """, [hash, id]).first?.int("session_generation") ?? 0
    }

    public func delete(id: Int64) throws {
        try database.execute("DELETE FROM account WHERE id = $1", [id])
    }
}

/// Revoked session tokens in PostgreSQL: every node sees a logout at once.
public struct PostgresRevokedTokens: RevokedTokenStore {
    let database: PostgresDatabase

    public func revoke(tokenID: String, expiresAt: Date) throws {
        try database.execute("INSERT INTO revoked_token (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING", [tokenID, expiresAt])
    }

    public func isRevoked(_ tokenID: String) throws -> Bool {
        !(try database.execute("SELECT 1 FROM revoked_token WHERE jti = $1", [tokenID]).isEmpty)
    }

    @discardableResult
    public func purgeExpired(now: Date) throws -> Int {
        try database.execute("DELETE FROM revoked_token WHERE expires_at <= $1", [now]).affected
    }
}

/// Sign-in and sign-up attempts in PostgreSQL; the rules are `AuthAttempts`'. Each reservation
/// takes a transaction-scoped advisory lock on its address, so concurrent attempts from one
/// place (on any node) are counted one after another, as SQLite's single writer does.
public struct PostgresAuthAttempts: AuthAttemptStore {
    let database: PostgresDatabase

    /// The lock for one address's attempts (hashtext of a prefixed key: no other lock shares it).
    static let lock = "SELECT pg_advisory_xact_lock(hashtext('artworker.attempt.' || $1))"

    public func reserveLogin(username: String, address: String, policy: AuthAttempts.LoginPolicy, now: Date) throws -> AuthAttempts.Decision {
        let user = username.lowercased(), t = now.timeIntervalSince1970, since = t - policy.window
        return try database.transaction { c in
            try c.execute(Self.lock, [address])
            // Sign-ins for one username from many places meet here too.
            try c.execute(Self.lock, ["user:" + user])
            try c.execute("DELETE FROM auth_attempt WHERE at < $1", [AuthAttempts.forgetBefore(t, policy: policy)])
            func failures(_ condition: String, _ arguments: [any PostgresEncodable], limit: Int) throws -> [Double] {
                try c.execute("""
                    SELECT at FROM auth_attempt WHERE kind = 'login' AND failed AND at > $1 AND \(condition)
                    ORDER BY at DESC LIMIT \(limit)
                    """, [since] + arguments).all.map { try $0.double("at") }
            }
            let row = try c.execute("""
                SELECT count(*) AS n, max(at) AS latest FROM auth_attempt
                WHERE kind = 'login' AND failed AND at > $1 AND username = $2
                """, [since, user]).first
            let counted = AuthAttempts.LoginFailures(
                pair: try failures("username = $2 AND address = $3", [user, address], limit: policy.perUsernameAndAddress),
                address: try failures("address = $2", [address], limit: policy.perAddress),
                usernameCount: try row?.int("n") ?? 0, usernameLatest: try row?.double(optional: "latest"))
            return try AuthAttempts.decision(wait: AuthAttempts.loginWait(counted, policy: policy, at: t)) {
                try c.execute("""
                    INSERT INTO auth_attempt (kind, username, address, at, failed) VALUES ('login', $1, $2, $3, true) RETURNING id
                    """, [user, address, t]).first!.int64("id")
            }
        }
    }

    public func loginSucceeded(attempt: Int64, username: String) throws {
        try database.execute("DELETE FROM auth_attempt WHERE kind = 'login' AND (id = $1 OR username = $2)",
                             [attempt, username.lowercased()])
    }

    public func reserveSignup(address: String, policy: AuthAttempts.SignupPolicy, now: Date) throws -> AuthAttempts.Decision {
        let t = now.timeIntervalSince1970
        return try database.transaction { c in
            try c.execute(Self.lock, [address])
            let recent = try c.execute("""
                SELECT at FROM auth_attempt WHERE kind = 'signup' AND address = $1 AND at > $2 ORDER BY at DESC LIMIT \(policy.perAddress)
                """, [address, t - policy.window]).all.map { try $0.double("at") }
            return try AuthAttempts.decision(wait: AuthAttempts.signupWait(recent, policy: policy, at: t)) {
                try c.execute("""
                    INSERT INTO auth_attempt (kind, username, address, at, failed) VALUES ('signup', NULL, $1, $2, false) RETURNING id
                    """, [address, t]).first!.int64("id")
            }
        }
    }
}

/// The home page's examples in PostgreSQL (table `example`).
public struct PostgresExampleStore: ExampleStore {
    let database: PostgresDatabase

    public func made() throws -> [String: [String: String]] {
        var out: [String: [String: String]] = [:]
        for row in try database.execute("SELECT photo, style, model_sha256 FROM example").all {
            out[try row.string("photo"), default: [:]][try row.string("style")] = try row.string("model_sha256")
        }
        return out
    }

    public func put(photo: String, style: String, modelSHA256: String, picture: Data, now: Date) throws {
        try database.execute("""
            INSERT INTO example (photo, style, model_sha256, picture, created_at) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (photo, style) DO UPDATE SET model_sha256 = excluded.model_sha256, picture = excluded.picture,
                created_at = excluded.created_at
            """, [photo, style, modelSHA256, picture, now])
    }

    public func picture(photo: String, style: String) throws -> (picture: Data, modelSHA256: String)? {
        try database.execute("SELECT picture, model_sha256 FROM example WHERE photo = $1 AND style = $2", [photo, style])
            .first.map { (try $0.data("picture"), try $0.string("model_sha256")) }
    }

    public func ownerID() throws -> Int64 {
        guard let row = try database.execute("SELECT id FROM account WHERE username = $1", [Examples.ownerName]).first else {
            throw PostgresError(code: "P0002", message: "the examples' account is missing")
        }
        return try row.int64("id")
    }

    public func hasMovie() throws -> Bool {
        !(try database.execute("""
            SELECT 1 FROM movie JOIN account ON account.id = movie.owner_id WHERE account.username = $1 LIMIT 1
            """, [Examples.ownerName]).isEmpty)
    }
}
