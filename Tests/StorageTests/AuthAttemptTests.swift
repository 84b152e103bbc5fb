import Foundation
import StorageCore
import Testing

@Suite("Sign-in and sign-up limits in the database")
struct AuthAttemptTests {
    static let t0 = Date(timeIntervalSince1970: 1_900_000_000)
    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    @Test("one username from one address: 5 failures, then a wait for the window; others are not locked out", arguments: Backend.available)
    func pairLimit(_ backend: Backend) throws {
        let db = try TestDatabase(backend)
        defer { db.close() }
        let attempts = db.stores.attempts
        var policy = AuthAttempts.LoginPolicy()
        policy.freePerUsername = 100 // only the pair limit here
        for i in 0..<5 {
            guard case .allowed = try attempts.reserveLogin(username: "Mei", address: "10.0.0.1", policy: policy, now: Self.at(Double(i))) else {
                Issue.record("attempt \(i) refused"); return
            }
        }
        #expect(try attempts.reserveLogin(username: "mei", address: "10.0.0.1", policy: policy, now: Self.at(10)) == .refused(retryAfter: 890))
        // The same username from elsewhere, and another username from here, go ahead.
        guard case let .allowed(id) = try attempts.reserveLogin(username: "mei", address: "10.0.0.2", policy: policy, now: Self.at(11)) else {
            Issue.record("a stranger's failures locked the member out"); return
        }
        guard case .allowed = try attempts.reserveLogin(username: "satsuki", address: "10.0.0.1", policy: policy, now: Self.at(12)) else {
            Issue.record("another username was refused"); return
        }
        // A success clears the username's failures; the window sliding past clears the rest.
        try attempts.loginSucceeded(attempt: id, username: "MEI")
        guard case .allowed = try attempts.reserveLogin(username: "mei", address: "10.0.0.1", policy: policy, now: Self.at(13)) else {
            Issue.record("still refused after a success"); return
        }
        // Survives a restart: the limits are rows, not memory.
        let reopened = try db.reopen().attempts
        for i in 0..<4 { _ = try reopened.reserveLogin(username: "kanta", address: "10.0.0.3", policy: policy, now: Self.at(20 + Double(i))) }
        _ = try attempts.reserveLogin(username: "kanta", address: "10.0.0.3", policy: policy, now: Self.at(24))
        #expect(try reopened.reserveLogin(username: "kanta", address: "10.0.0.3", policy: policy, now: Self.at(25)) == .refused(retryAfter: 895))
        #expect(try reopened.reserveLogin(username: "kanta", address: "10.0.0.3", policy: policy, now: Self.at(922)).isAllowed)
    }

    @Test("from anywhere, a username's failures only slow further tries: 1, 2, 4 … s, at most 60", arguments: Backend.available)
    func progressiveDelay(_ backend: Backend) throws {
        let db = try TestDatabase(backend)
        defer { db.close() }
        let attempts = db.stores.attempts
        var t = 0.0
        var waits: [Int] = []
        for i in 0..<13 { // each from a new address, as a botnet would
            switch try attempts.reserveLogin(username: "totoro", address: "10.1.0.\(i)", now: Self.at(t)) {
            case .allowed: t += 0.1
            case let .refused(wait):
                waits.append(wait)
                t += Double(wait)
                #expect(try attempts.reserveLogin(username: "totoro", address: "10.1.0.\(i)", now: Self.at(t)).isAllowed)
            }
        }
        #expect(waits == [1, 2, 4, 8, 16, 32, 60, 60])
    }

    @Test("one address is limited across usernames (spraying), an IPv6 /64 counting as one address", arguments: Backend.available)
    func spraying(_ backend: Backend) throws {
        let db = try TestDatabase(backend)
        defer { db.close() }
        let attempts = db.stores.attempts
        for i in 0..<20 {
            let address = AuthAttempts.addressKey("2001:db8:1:2::\(String(i + 1, radix: 16))")
            _ = try attempts.reserveLogin(username: "user\(i)", address: address, now: Self.at(Double(i)))
        }
        let next = try attempts.reserveLogin(username: "user99", address: AuthAttempts.addressKey("2001:db8:1:2:ffff::1"), now: Self.at(30))
        #expect(next == .refused(retryAfter: 870))
        guard case .allowed = try attempts.reserveLogin(username: "user99", address: AuthAttempts.addressKey("2001:db8:1:3::1"), now: Self.at(31)) else {
            Issue.record("the next /64 was refused"); return
        }
    }

    @Test("address keys", arguments: [
        ("127.0.0.1", "127.0.0.1"), ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"), ("2001:DB8:1:2::9", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"), ("::1", "0:0:0:0::/64"),
    ])
    func addressKeys(address: String, key: String) {
        #expect(AuthAttempts.addressKey(address) == key)
    }

    @Test("sign-ups: 10 an hour from one address", arguments: Backend.available)
    func signups(_ backend: Backend) throws {
        let db = try TestDatabase(backend)
        defer { db.close() }
        let attempts = db.stores.attempts
        for i in 0..<10 {
            guard case .allowed = try attempts.reserveSignup(address: "10.0.0.1", now: Self.at(Double(i))) else { Issue.record("refused \(i)"); return }
        }
        #expect(try attempts.reserveSignup(address: "10.0.0.1", now: Self.at(100)) == .refused(retryAfter: 3500))
        guard case .allowed = try attempts.reserveSignup(address: "10.0.0.2", now: Self.at(100)) else { Issue.record("other address refused"); return }
    }
}

extension AuthAttempts.Decision {
    var isAllowed: Bool { if case .allowed = self { true } else { false } }
}
