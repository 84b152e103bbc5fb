import Foundation
import GRDB

/// Sign-in and sign-up attempts (table `auth_attempt`), counted in the database so that limits
/// hold across restarts (and, later, across processes), and reserved *before* the slow password
/// hash runs: an attempt is written as a failure first and only turned into a success once the
/// password matched, so forty requests sent at once see each other.
public struct AuthAttempts: Sendable {
    let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    /// Limits on sign-ins. A stranger must not be able to lock a member out: the hard limit is
    /// per username *and* address; from anywhere, failures for one username only slow further
    /// tries down (a delay that doubles, up to `maxDelay`).
    public struct LoginPolicy: Sendable {
        public var window: TimeInterval = 15 * 60
        /// Failures of one username from one address before that pair must wait for the window.
        public var perUsernameAndAddress = 5
        /// Failures from one address (or IPv6 /64), whatever the usernames (password spraying).
        public var perAddress = 20
        /// Failures of one username, from anywhere, before each further try waits 1, 2, 4 … s.
        public var freePerUsername = 5
        public var maxDelay: TimeInterval = 60

        public init() {}
    }

    /// Sign-ups per address (or IPv6 /64) in `window`.
    public struct SignupPolicy: Sendable {
        public var window: TimeInterval = 3600
        public var perAddress = 10

        public init() {}
    }

    public enum Decision: Sendable, Equatable {
        /// Go ahead; report the outcome with this attempt's id.
        case allowed(attempt: Int64)
        /// Refused: try again in this many seconds.
        case refused(retryAfter: Int)
    }

    /// Checks the limits and, if they allow it, records the attempt as a failure — one
    /// transaction, so concurrent attempts are counted one after another.
    public func reserveLogin(username: String, address: String, policy: LoginPolicy = LoginPolicy(), now: Date = Date()) throws -> Decision {
        let user = username.lowercased(), t = now.timeIntervalSince1970, since = t - policy.window
        return try database.pool.write { db in
            try Self.forget(db, before: t - max(policy.window, SignupPolicy().window))
            func failures(_ condition: String, _ arguments: StatementArguments, limit: Int) throws -> [Double] {
                try Double.fetchAll(db, sql: """
                    SELECT at FROM auth_attempt WHERE kind = 'login' AND failed = 1 AND at > ? AND \(condition)
                    ORDER BY at DESC LIMIT ?
                    """, arguments: [since] + arguments + [limit])
            }
            var wait: Double = 0
            let pair = try failures("username = ? AND address = ?", [user, address], limit: policy.perUsernameAndAddress)
            if pair.count >= policy.perUsernameAndAddress { wait = max(wait, pair.last! + policy.window - t) }
            let place = try failures("address = ?", [address], limit: policy.perAddress)
            if place.count >= policy.perAddress { wait = max(wait, place.last! + policy.window - t) }
            let row = try Row.fetchOne(db, sql: """
                SELECT count(*), max(at) FROM auth_attempt WHERE kind = 'login' AND failed = 1 AND at > ? AND username = ?
                """, arguments: [since, user])
            let count: Int = row?[0] ?? 0
            if count >= policy.freePerUsername, let last: Double = row?[1] {
                let delay = min(pow(2, Double(count - policy.freePerUsername)), policy.maxDelay)
                wait = max(wait, last + delay - t)
            }
            if wait > 0 { return .refused(retryAfter: max(1, Int(wait.rounded(.up)))) }
            try db.execute(sql: "INSERT INTO auth_attempt (kind, username, address, at, failed) VALUES ('login', ?, ?, ?, 1)",
                           arguments: [user, address, t])
            return .allowed(attempt: db.lastInsertedRowID)
        }
    }

    /// The password matched: this attempt was no failure, and the username's earlier failures
    /// no longer slow anyone down.
    public func loginSucceeded(attempt: Int64, username: String) throws {
        try database.pool.write { db in
            try db.execute(sql: "DELETE FROM auth_attempt WHERE kind = 'login' AND (id = ? OR username = ?)",
                           arguments: [attempt, username.lowercased()])
        }
    }

    /// Checks and records a sign-up from `address` (before its password is hashed).
    public func reserveSignup(address: String, policy: SignupPolicy = SignupPolicy(), now: Date = Date()) throws -> Decision {
        let t = now.timeIntervalSince1970
        return try database.pool.write { db in
            let recent = try Double.fetchAll(db, sql: """
                SELECT at FROM auth_attempt WHERE kind = 'signup' AND address = ? AND at > ? ORDER BY at DESC LIMIT ?
                """, arguments: [address, t - policy.window, policy.perAddress])
            if recent.count >= policy.perAddress {
                return .refused(retryAfter: max(1, Int((recent.last! + policy.window - t).rounded(.up))))
            }
            try db.execute(sql: "INSERT INTO auth_attempt (kind, username, address, at, failed) VALUES ('signup', NULL, ?, ?, 0)",
                           arguments: [address, t])
            return .allowed(attempt: db.lastInsertedRowID)
        }
    }

    /// Attempts older than any window are of no use: they go as new ones come (bounded table).
    static func forget(_ db: Database, before t: Double) throws {
        try db.execute(sql: "DELETE FROM auth_attempt WHERE at < ?", arguments: [t])
    }

    /// The key an address is counted under: IPv4 as is; IPv6 by its /64 (one subscriber usually
    /// holds a whole /64, so counting single addresses would let one client rotate through 2⁶⁴);
    /// an IPv4-mapped IPv6 address as its IPv4 address.
    public static func addressKey(_ address: String) -> String {
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return address }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return bytes[12..<16].map(String.init).joined(separator: ".")
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }
}
