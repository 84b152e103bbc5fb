import Auth
import Foundation
import HTTPServer
import Storage

/// Sign-up, sign-in, sessions and account changes, independent of pages or JSON.
final class AccountService: Sendable {
    let users: UserStore
    let revoked: RevokedTokens
    let hasher: PasswordHasher
    let signer: JWTSigner
    let csrf: CSRFTokens
    let throttle: LoginThrottle
    let work: PasswordWork
    let sessionLifetime: TimeInterval = 7 * 86400

    init(database: AppDatabase, secret: [UInt8], bcryptCost: Int, throttle: LoginThrottle = LoginThrottle()) throws {
        users = UserStore(database: database)
        revoked = RevokedTokens(database: database)
        hasher = try PasswordHasher(cost: bcryptCost)
        signer = JWTSigner(secret: secret)
        csrf = CSRFTokens(signer: signer)
        self.throttle = throttle
        work = PasswordWork(concurrency: ProcessInfo.processInfo.activeProcessorCount)
    }

    struct Session: Sendable {
        var user: User
        var claims: JWTSigner.Claims
    }

    func signUp(username: String, password: String) async throws -> User {
        if let problem = Credentials.problem(username: username) { throw HTTPError(.badRequest, problem) }
        if let problem = Credentials.problem(password: password, username: username) { throw HTTPError(.badRequest, problem) }
        if try users.find(username: username) != nil { throw HTTPError(.conflict, "That username is taken.") }
        let hasher = self.hasher
        let hash = try await work.run { try hasher.hash(password) }
        do {
            return try users.create(username: username, passwordHash: hash)
        } catch UserStoreError.usernameTaken {
            throw HTTPError(.conflict, "That username is taken.")
        }
    }

    /// A new session token, or 401 (same answer and cost for unknown users) or 429.
    func signIn(username: String, password: String, address: String) async throws -> (token: String, session: Session) {
        if let wait = throttle.retryAfter(username: username, address: address) {
            throw HTTPError(.tooManyRequests, "Too many failed sign-ins. Try again in \(wait) seconds.",
                            headers: ["Retry-After": String(wait)])
        }
        let user = try users.find(username: username)
        let hasher = self.hasher, stored = user?.passwordHash
        let matches = try await work.run { hasher.verify(password, against: stored) }
        guard matches, let user, let id = user.id else {
            throttle.recordFailure(username: username, address: address)
            throw HTTPError(.unauthorized, "Wrong username or password.")
        }
        throttle.recordSuccess(username: username)
        let (token, claims) = signer.issue(subject: String(id), lifetime: sessionLifetime)
        return (token, Session(user: user, claims: claims))
    }

    /// The session a token stands for, or nil (bad, expired, revoked, or the user is gone).
    func session(token: String) -> Session? {
        guard let claims = try? signer.verify(token), let id = Int64(claims.sub),
              (try? revoked.isRevoked(claims.jti)) == false, let user = try? users.find(id: id) else { return nil }
        return Session(user: user, claims: claims)
    }

    func signOut(_ session: Session) throws {
        try revoked.revoke(tokenID: session.claims.jti, expiresAt: Date(timeIntervalSince1970: Double(session.claims.exp)))
    }

    func changePassword(_ session: Session, current: String, new: String) async throws {
        let hasher = self.hasher, stored = session.user.passwordHash
        guard try await work.run({ hasher.verify(current, against: stored) }) else {
            throw HTTPError(.forbidden, "The current password is wrong.")
        }
        if let problem = Credentials.problem(password: new, username: session.user.username) { throw HTTPError(.badRequest, problem) }
        let hash = try await work.run { try hasher.hash(new) }
        try users.updatePasswordHash(id: session.user.id!, to: hash)
    }

    func deleteAccount(_ session: Session, password: String) async throws {
        let hasher = self.hasher, stored = session.user.passwordHash
        guard try await work.run({ hasher.verify(password, against: stored) }) else {
            throw HTTPError(.forbidden, "The password is wrong.")
        }
        try users.delete(id: session.user.id!)
        try signOut(session)
    }
}
