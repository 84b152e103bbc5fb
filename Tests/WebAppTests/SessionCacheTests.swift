import Auth
import Foundation
import StorageSQLite
import Testing
@testable import WebApp

/// `AccountService.claims(of:)` remembers tokens it verified; what it remembers must never
/// outlive the token or let a changed token through.
@Suite("Remembered session tokens")
struct SessionCacheTests {
    static func service(folder: URL = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-sessions-\(UUID().uuidString)"))
        throws -> AccountService {
        let database = try AppDatabase.open(directory: folder)
        return try AccountService(stores: database.stores(), secret: Array(repeating: 7, count: 32), bcryptCost: 4)
    }

    @Test("the database's answer for a token is reused only at the commit mark it was read at")
    func checkedAtVersion() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-sessions-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let accounts = try Self.service(folder: folder)
        let user = try accounts.users.create(username: "mei", passwordHash: "$2b$04$" + String(repeating: "a", count: 53))
        let (token, claims) = accounts.signer.issue(subject: String(user.id!))
        let before = try #require(accounts.currentVersion())
        #expect(try accounts.session(token: token, at: before)?.user.username == "mei")
        // Logged out by another process: a request that read the mark before that still gets
        // the remembered answer (it began before the logout), any later one asks again.
        try AppDatabase.open(directory: folder).stores().revokedTokens.revoke(tokenID: claims.jti, expiresAt: Date().addingTimeInterval(60))
        #expect(try accounts.session(token: token, at: before) != nil)
        let after = try #require(accounts.currentVersion())
        #expect(after != before)
        #expect(try accounts.session(token: token, at: after) == nil)
        #expect(try accounts.session(token: token, at: after) == nil) // remembered as ended
        #expect(try accounts.session(token: token) == nil) // without a mark: asked every time
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
