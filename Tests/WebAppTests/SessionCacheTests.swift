import Auth
import Foundation
import StorageSQLite
import Testing
@testable import WebApp

/// `AccountService.claims(of:)` remembers tokens it verified; what it remembers must never
/// outlive the token or let a changed token through.
@Suite("Remembered session tokens")
struct SessionCacheTests {
    static func service() throws -> AccountService {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-sessions-\(UUID().uuidString)")
        let database = try AppDatabase.open(directory: folder)
        return try AccountService(stores: database.stores(), secret: Array(repeating: 7, count: 32), bcryptCost: 4)
    }

    @Test("a remembered token still expires, and a changed or unknown one is checked in full")
    func expiry() throws {
        let accounts = try Self.service()
        let now = Date()
        let (token, claims) = accounts.signer.issue(subject: "1", lifetime: 60, now: now)
        #expect(accounts.claims(of: token, now: now) == claims)
        #expect(accounts.verified.claims(of: token) == claims) // remembered
        #expect(accounts.claims(of: token, now: now.addingTimeInterval(30)) == claims)
        #expect(accounts.claims(of: token, now: now.addingTimeInterval(61)) == nil)
        // One character changed: not the remembered token, and its signature fails.
        var forged = Array(token.utf8)
        forged[forged.count - 2] = forged[forged.count - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(accounts.claims(of: String(decoding: forged, as: UTF8.self), now: now) == nil)
        #expect(accounts.claims(of: "not.a.token", now: now) == nil)
        #expect(accounts.verified.claims(of: "not.a.token") == nil)
    }

    @Test("at most `capacity` tokens are remembered")
    func bounded() {
        let cache = VerifiedTokens()
        let claims = JWTSigner.Claims(sub: "1", iat: 0, exp: 1, jti: "j")
        for i in 0...VerifiedTokens.capacity { cache.remember("token \(i)", claims) }
        #expect(cache.claims(of: "token \(VerifiedTokens.capacity)") == claims)
        #expect(cache.claims(of: "token 0") == nil)
    }
}
