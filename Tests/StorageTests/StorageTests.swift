import Foundation
import Storage
import Testing

func temporaryDatabase() throws -> (AppDatabase, URL) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-db-\(UUID().uuidString)")
    return (try AppDatabase.open(directory: dir), dir)
}

let hashA = "$2b$04$" + String(repeating: "a", count: 53)

@Suite("Storage")
struct StorageTests {
    @Test("migrations are named and recorded; reopening applies nothing twice")
    func migrations() throws {
        let (database, dir) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try database.appliedMigrations() == ["v1: revoked tokens", "v1: users", "v2: images", "v3: image bytes apart, titles", "v4: movies",
                                                       "v5: session generations", "v6: sign-in attempts",
                                                       "v7: movie overviews", "v8: durable jobs", "v9: job errors in every language", "v10: before pictures", "v11: one job per form", "v12: examples", "v13: visitors keep their results"].sorted())
        let reopened = try AppDatabase.open(directory: dir)
        #expect(try reopened.appliedMigrations().count == 14)
        let pragmas = try database.pool.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"),
             try Int.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(pragmas.0 == "wal" && pragmas.1 == 2 && pragmas.2 == 1) // WAL, FULL, on
    }

    @Test("usernames are unique in any letter case")
    func uniqueUsernames() throws {
        let (database, dir) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: dir) }
        let users = UserStore(database: database)
        let mei = try users.create(username: "Mei", passwordHash: hashA)
        #expect(mei.id != nil)
        #expect(throws: UserStoreError.usernameTaken) { try users.create(username: "mei", passwordHash: hashA) }
        #expect(throws: UserStoreError.usernameTaken) { try users.create(username: "MEI", passwordHash: hashA) }
        #expect(try users.find(username: "mEi")?.id == mei.id)
        #expect(try users.find(id: mei.id!)?.username == "Mei")
    }

    @Test("the schema refuses what the app must never write")
    func constraints() throws {
        let (database, dir) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: dir) }
        let users = UserStore(database: database)
        #expect(throws: (any Error).self) { try users.create(username: "ab", passwordHash: hashA) }
        #expect(throws: (any Error).self) { try users.create(username: "plaintext", passwordHash: "hunter2") }
    }

    @Test("password change and deletion")
    func changeAndDelete() throws {
        let (database, dir) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: dir) }
        let users = UserStore(database: database)
        let user = try users.create(username: "kiki", passwordHash: hashA)
        let hashB = "$2b$04$" + String(repeating: "b", count: 53)
        try users.updatePasswordHash(id: user.id!, to: hashB)
        #expect(try users.find(id: user.id!)?.passwordHash == hashB)
        try users.delete(id: user.id!)
        #expect(try users.find(username: "kiki") == nil)
    }

    @Test("revoked tokens stay revoked until they would have expired")
    func revocation() throws {
        let (database, dir) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tokens = RevokedTokens(database: database)
        let now = Date()
        try tokens.revoke(tokenID: "old", expiresAt: now.addingTimeInterval(-1))
        try tokens.revoke(tokenID: "live", expiresAt: now.addingTimeInterval(3600))
        try tokens.revoke(tokenID: "live", expiresAt: now.addingTimeInterval(3600)) // twice is fine
        #expect(try tokens.isRevoked("live") && tokens.isRevoked("old") && !tokens.isRevoked("other"))
        #expect(try tokens.purgeExpired(now: now) == 1)
        #expect(try tokens.isRevoked("live") && !tokens.isRevoked("old"))
    }

    @Test("a committed write is on disk: a second connection sees it at once")
    func durability() throws {
        let (database, dir) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try UserStore(database: database).create(username: "satsuki", passwordHash: hashA)
        let other = try AppDatabase.open(directory: dir) // a separate pool, as after a restart
        #expect(try UserStore(database: other).find(username: "satsuki") != nil)
    }
}
