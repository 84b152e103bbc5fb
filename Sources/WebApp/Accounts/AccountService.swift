import Auth
import Foundation
import Localization
import StorageCore
import Synchronization

/// Sign-up, sign-in, sessions and account changes, independent of pages or JSON.
final class AccountService: Sendable {
    let users: any UserStore
    let revoked: any RevokedTokenStore
    let hasher: PasswordHasher
    let signer: JWTSigner
    let csrf: CSRFTokens
    let attempts: any AuthAttemptStore
    let loginPolicy: AuthAttempts.LoginPolicy
    let signupPolicy: AuthAttempts.SignupPolicy
    let work: PasswordWork
    let sessionLifetime: TimeInterval = 7 * 86400
    /// Tokens whose signature and claims were checked already (see `claims(of:)`).
    let verified = VerifiedTokens()
    /// The database's commit mark, when the backend has one (see `session(token:at:)`).
    let dataVersion: (@Sendable () throws -> DataVersion)?

    init(stores: Stores, secret: [UInt8], bcryptCost: Int, loginPolicy: AuthAttempts.LoginPolicy = .init(),
         signupPolicy: AuthAttempts.SignupPolicy = .init()) throws {
        users = stores.users
        revoked = stores.revokedTokens
        hasher = try PasswordHasher(cost: bcryptCost)
        signer = JWTSigner(secret: secret)
        csrf = CSRFTokens(signer: signer)
        attempts = stores.attempts
        self.loginPolicy = loginPolicy
        self.signupPolicy = signupPolicy
        work = PasswordWork(concurrency: ProcessInfo.processInfo.activeProcessorCount)
        dataVersion = stores.dataVersion
    }

    struct Session: Sendable {
        var user: User
        var claims: JWTSigner.Claims
    }

    /// A new account. Sign-ups are limited per address (an IPv6 /64 counts as one), counted
    /// before the password is hashed.
    func signUp(username: String, password: String, address: String) async throws -> User {
        if let problem = Credentials.problem(username: username) { throw Self.refusal(problem) }
        if let problem = Credentials.problem(password: password, username: username) { throw Self.refusal(problem) }
        if try users.find(username: username) != nil { throw Refusal(.conflict, "account.username_taken") }
        if case let .refused(wait) = try attempts.reserveSignup(address: AuthAttempts.addressKey(address), policy: signupPolicy) {
            throw Refusal(.tooMany(retryAfter: wait), "account.signup_limited", ["seconds": .number(wait)])
        }
        let hasher = self.hasher
        let hash = try await work.run { try hasher.hash(password) }
        do {
            return try users.create(username: username, passwordHash: hash)
        } catch UserStoreError.usernameTaken {
            throw Refusal(.conflict, "account.username_taken")
        }
    }

    /// A new session token, or 401 (same answer and cost for unknown users) or 429. The attempt
    /// is reserved in the database before bcrypt runs, so parallel guesses are counted too.
    func signIn(username: String, password: String, address: String) async throws -> (token: String, session: Session) {
        let attempt: Int64
        switch try attempts.reserveLogin(username: username, address: AuthAttempts.addressKey(address), policy: loginPolicy) {
        case let .refused(wait):
            throw Refusal(.tooMany(retryAfter: wait), "auth.throttled", ["seconds": .number(wait)])
        case let .allowed(id):
            attempt = id
        }
        let user = try users.find(username: username)
        let hasher = self.hasher, stored = user?.passwordHash
        let matches = try await work.run { hasher.verify(password, against: stored) }
        guard matches, let user, let id = user.id else {
            throw Refusal(.wrongCredentials, "auth.wrong_credentials") // the reservation stays a failure
        }
        try attempts.loginSucceeded(attempt: attempt, username: username)
        let (token, claims) = signer.issue(subject: String(id), generation: user.sessionGeneration, lifetime: sessionLifetime)
        return (token, Session(user: user, claims: claims))
    }

    /// The session a token stands for, or nil (bad, expired, revoked, of an earlier session
    /// generation, or the user is gone). Throws only when the database cannot say (it is away):
    /// the request then fails with 503 instead of going on as a stranger's.
    ///
    /// `version`, the database's commit mark read before this call: the answer the database
    /// gave for this token at the same mark is still true (nothing was committed since: no
    /// logout, no password change, no deleted account), so it is not asked again. Expiry is
    /// checked every time.
    func session(token: String, at version: DataVersion? = nil) throws -> Session? {
        guard let claims = claims(of: token) else { return nil }
        if let version, let known = verified.session(of: token, at: version) { return known }
        var session: Session? = nil
        if let id = Int64(claims.sub), try !revoked.isRevoked(claims.jti), let user = try users.find(id: id),
           claims.gen == user.sessionGeneration {
            session = Session(user: user, claims: claims)
        }
        if let version { verified.remember(token, session, at: version) }
        return session
    }

    /// The database's commit mark now, or nil where the backend has none or cannot say.
    func currentVersion() -> DataVersion? { try? dataVersion?() }

    /// The token's claims if it is valid now. A browser sends the same token with every
    /// request, and checking it (two base64url parts, two JSON documents, HMAC) costs more than
    /// the page's queries: a token that passed once is remembered with its claims, and only its
    /// expiry is checked again. Revocation and the password's generation are not remembered:
    /// `session(token:)` asks the database for those every time.
    func claims(of token: String, now: Date = Date()) -> JWTSigner.Claims? {
        if let claims = verified.claims(of: token) {
            return Double(claims.exp) > now.timeIntervalSince1970 ? claims : nil
        }
        guard let claims = try? signer.verify(token, now: now) else { return nil }
        verified.remember(token, claims)
        return claims
    }

    func signOut(_ session: Session) throws {
        try revoked.revoke(tokenID: session.claims.jti, expiresAt: Date(timeIntervalSince1970: Double(session.claims.exp)))
    }

    /// Changes the password and ends every other session of the account; returns a new token
    /// for the session that made the change, so it stays signed in.
    func changePassword(_ session: Session, current: String, new: String) async throws -> String {
        let hasher = self.hasher, stored = session.user.passwordHash
        guard try await work.run({ hasher.verify(current, against: stored) }) else {
            throw Refusal(.forbidden, "account.current_password_wrong")
        }
        if let problem = Credentials.problem(password: new, username: session.user.username) { throw Self.refusal(problem) }
        let hash = try await work.run { try hasher.hash(new) }
        let generation = try users.updatePasswordHash(id: session.user.id!, to: hash)
        try signOut(session)
        return signer.issue(subject: session.claims.sub, generation: generation, lifetime: sessionLifetime).token
    }

    func deleteAccount(_ session: Session, password: String) async throws {
        let hasher = self.hasher, stored = session.user.passwordHash
        guard try await work.run({ hasher.verify(password, against: stored) }) else {
            throw Refusal(.forbidden, "account.password_wrong")
        }
        try users.delete(id: session.user.id!)
        try signOut(session)
    }

    /// A broken username or password rule, worded.
    static func refusal(_ problem: Credentials.Problem) -> Refusal {
        switch problem {
        case .usernameLength: Refusal(.invalid, "credentials.username_length")
        case .usernameCharacters: Refusal(.invalid, "credentials.username_characters")
        case .usernameStart: Refusal(.invalid, "credentials.username_start")
        case .passwordShort: Refusal(.invalid, "credentials.password_short", ["count": .number(Credentials.minPasswordLength)])
        case .passwordLong: Refusal(.invalid, "credentials.password_long", ["count": .number(Credentials.maxPasswordLength)])
        case .passwordHasUsername: Refusal(.invalid, "credentials.password_has_username")
        case .passwordEasy: Refusal(.invalid, "credentials.password_easy")
        case .passwordCommon: Refusal(.invalid, "credentials.password_common")
        }
    }
}

/// Verified session tokens and their claims, with the session the database last gave for each
/// and the commit mark it was read at; at most `capacity` tokens (then forgotten all at once:
/// re-verifying is only slower, never wrong).
final class VerifiedTokens: Sendable {
    static let capacity = 10_000

    private struct Entry {
        var claims: JWTSigner.Claims
        /// nil: not asked of the database yet; `session` nil: revoked, outdated or gone.
        var checked: (version: DataVersion, session: AccountService.Session?)? = nil
    }

    private let tokens = Mutex<[String: Entry]>([:])

    func claims(of token: String) -> JWTSigner.Claims? {
        tokens.withLock { $0[token]?.claims }
    }

    func remember(_ token: String, _ claims: JWTSigner.Claims) {
        tokens.withLock { tokens in
            if tokens.count >= Self.capacity { tokens.removeAll(keepingCapacity: true) }
            tokens[token] = Entry(claims: claims)
        }
    }

    /// The database's answer for `token` if it was read at `version`: `.some(nil)` for a token
    /// that no longer stands for a session, nil when it must be asked.
    func session(of token: String, at version: DataVersion) -> AccountService.Session?? {
        tokens.withLock { tokens in
            guard let checked = tokens[token]?.checked, checked.version == version else { return nil }
            return .some(checked.session)
        }
    }

    func remember(_ token: String, _ session: AccountService.Session?, at version: DataVersion) {
        tokens.withLock { $0[token]?.checked = (version, session) }
    }
}
