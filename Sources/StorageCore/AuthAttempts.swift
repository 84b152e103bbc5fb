import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The rules for sign-in and sign-up attempts, shared by every `AuthAttemptStore`: the limits,
/// how an address is counted, and the arithmetic that turns counted failures into a wait.
public enum AuthAttempts {
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

    /// What a store counted for one sign-in, inside its transaction: the newest failures (times,
    /// newest first, at most the limit) of the username from the address and of the address,
    /// and the username's failures from anywhere (count and newest time), all in the window.
    public struct LoginFailures: Sendable {
        public var pair: [Double]
        public var address: [Double]
        public var usernameCount: Int
        public var usernameLatest: Double?

        public init(pair: [Double], address: [Double], usernameCount: Int, usernameLatest: Double?) {
            (self.pair, self.address, self.usernameCount, self.usernameLatest) = (pair, address, usernameCount, usernameLatest)
        }
    }

    /// Seconds to wait before another sign-in may be tried (0: go ahead) at time `t`.
    public static func loginWait(_ f: LoginFailures, policy: LoginPolicy, at t: Double) -> Double {
        var wait: Double = 0
        if f.pair.count >= policy.perUsernameAndAddress, let oldest = f.pair.last { wait = max(wait, oldest + policy.window - t) }
        if f.address.count >= policy.perAddress, let oldest = f.address.last { wait = max(wait, oldest + policy.window - t) }
        if f.usernameCount >= policy.freePerUsername, let latest = f.usernameLatest {
            let delay = min(pow(2, Double(f.usernameCount - policy.freePerUsername)), policy.maxDelay)
            wait = max(wait, latest + delay - t)
        }
        return wait
    }

    /// Seconds to wait before another sign-up (0: go ahead), given the address's newest sign-ups
    /// in the window (newest first, at most the limit).
    public static func signupWait(_ recent: [Double], policy: SignupPolicy, at t: Double) -> Double {
        guard recent.count >= policy.perAddress, let oldest = recent.last else { return 0 }
        return oldest + policy.window - t
    }

    /// A wait as the refusal states it: whole seconds, at least one.
    public static func decision(wait: Double, allowed: () throws -> Int64) rethrows -> Decision {
        wait > 0 ? .refused(retryAfter: max(1, Int(wait.rounded(.up)))) : .allowed(attempt: try allowed())
    }

    /// Attempts older than any window are of no use: stores forget them as new ones come.
    public static func forgetBefore(_ t: Double, policy: LoginPolicy) -> Double {
        t - max(policy.window, SignupPolicy().window)
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
