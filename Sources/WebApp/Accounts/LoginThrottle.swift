import Foundation
import Synchronization

/// Failed sign-ins counted per username and per client address over a sliding window; past
/// the limit, further attempts are refused (429) until the oldest failure leaves the window.
final class LoginThrottle: Sendable {
    struct Policy: Sendable {
        var window: TimeInterval = 15 * 60
        var perUsername = 5
        var perAddress = 20
    }

    let policy: Policy
    private let failures = Mutex<[String: [Date]]>([:])

    init(policy: Policy = Policy()) { self.policy = policy }

    static func keys(username: String, address: String) -> [(key: String, limit: KeyPath<Policy, Int>)] {
        [("user:" + username.lowercased(), \.perUsername), ("addr:" + address, \.perAddress)]
    }

    /// Seconds to wait before trying again, or nil when an attempt is allowed.
    func retryAfter(username: String, address: String, now: Date = Date()) -> Int? {
        failures.withLock { table in
            var wait: TimeInterval = 0
            for (key, limit) in Self.keys(username: username, address: address) {
                let recent = (table[key] ?? []).filter { now.timeIntervalSince($0) < policy.window }
                table[key] = recent.isEmpty ? nil : recent
                if recent.count >= policy[keyPath: limit] {
                    wait = max(wait, policy.window - now.timeIntervalSince(recent[recent.count - policy[keyPath: limit]]))
                }
            }
            return wait > 0 ? Int(wait.rounded(.up)) : nil
        }
    }

    func recordFailure(username: String, address: String, now: Date = Date()) {
        failures.withLock { table in
            for (key, _) in Self.keys(username: username, address: address) { table[key, default: []].append(now) }
            if table.count > 100_000 { table.removeAll() } // bounded memory under a spray of names
        }
    }

    func recordSuccess(username: String) {
        _ = failures.withLock { $0.removeValue(forKey: "user:" + username.lowercased()) }
    }
}
