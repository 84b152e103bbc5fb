import Foundation
import GRDB
import StorageCore
import StorageSQLite
import Testing

/// The contract every backend keeps: each test runs on SQLite and on PostgreSQL.
@Suite("Storage")
struct StorageTests {
    @Test("SQLite: migrations are named and recorded; reopening applies nothing twice; WAL, FULL sync, foreign keys")
    func sqliteMigrations() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-db-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = try AppDatabase.open(directory: dir)
        #expect(try database.appliedMigrations() == ["v1: revoked tokens", "v1: users", "v2: images", "v3: image bytes apart, titles", "v4: movies",
                                                       "v5: session generations", "v6: sign-in attempts",
                                                       "v7: movie overviews", "v8: durable jobs", "v9: job errors in every language", "v10: before pictures", "v11: one job per form", "v12: examples", "v13: visitors keep their results",
                                                       "v14: picture bytes in an object store", "v15: clips", "v16: scenes from a video"].sorted())
        let reopened = try AppDatabase.open(directory: dir)
        #expect(try reopened.appliedMigrations().count == 17)
        let pragmas = try database.pool.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"),
             try Int.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(pragmas.0 == "wal" && pragmas.1 == 2 && pragmas.2 == 1) // WAL, FULL, on
    }

    @Test("PostgreSQL: migrations are named, in order, and applied once however many nodes start",
          .enabled(if: Backend.postgresURL != nil, "no PostgreSQL for the tests (ARTWORKER_TEST_DATABASE_URL)"))
    func postgresMigrations() throws {
        let db = try TestDatabase(.postgres)
        defer { db.close() }
        #expect(try db.stores.appliedMigrations() == ["p1: accounts and sessions", "p2: images", "p3: movies", "p4: jobs", "p5: examples",
                                                          "p6: picture bytes in an object store", "p7: clips", "p8: scenes from a video"])
        // Four nodes starting at once: the advisory lock lets one migrate, the rest find it done.
        let counts = ClaimLog()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            counts.add((try? db.reopen().appliedMigrations()).map { String($0.count) } ?? "failed")
        }
        #expect(counts.ids == ["8", "8", "8", "8"])
        #expect(try db.count("schema_migration") == 8)
        #expect(try db.count("account") == 1) // the examples' account, made once
    }

    @Test("usernames are unique in any letter case", arguments: Backend.available)
    func uniqueUsernames(_ backend: Backend) throws {
        let db = try TestDatabase(backend)
        defer { db.close() }
        let users = db.stores.users
        let mei = try users.create(username: "Mei", passwordHash: hashA)
        #expect(mei.id != nil)
        #expect(throws: UserStoreError.usernameTaken) { try users.create(username: "mei", passwordHash: hashA) }
        #expect(throws: UserStoreError.usernameTaken) { try users.create(username: "MEI", passwordHash: hashA) }
        #expect(try users.find(username: "mEi")?.id == mei.id)
        #expect(try users.find(id: mei.id!)?.username == "Mei")
    }

    @Test("the schema refuses what the app must never write", arguments: Backend.available)
    func constraints(_ backend: Backend) throws {
        let db = try TestDatabase(backend)
        defer { db.close() }
        let users = db.stores.users
        #expect(throws: (any Error).self) { try users.create(username: "ab", passwordHash: hashA) }
        #expect(throws: (any Error).self) { try users.create(username: "plaintext", passwordHash: "hunter2") }
    }

    @Test("password change moves the session generation; deletion", arguments: Backend.available)
    func changeAndDelete(_ backend: Backend) throws {
        let db = try TestDatabase(backend)
        defer { db.close() }
        let users = db.stores.users
        let user = try users.create(username: "kiki", passwordHash: hashA)
        #expect(user.sessionGeneration == 0)
        let hashB = "$2b$04$" + String(repeating: "b", count: 53)
        #expect(try users.updatePasswordHash(id: user.id!, to: hashB) == 1)
        #expect(try users.find(id: user.id!)?.passwordHash == hashB)
        #expect(try users.find(id: user.id!)?.sessionGeneration == 1)
        try users.delete(id: user.id!)
        #expect(try users.find(username: "kiki") == nil)
    }

    @Test("revoked tokens stay revoked until they would have expired", arguments: Backend.available)
    func revocation(_ backend: Backend) throws {
        let db = try TestDatabase(backend)
        defer { db.close() }
        let tokens = db.stores.revokedTokens
        let now = Date()
        try tokens.revoke(tokenID: "old", expiresAt: now.addingTimeInterval(-1))
        try tokens.revoke(tokenID: "live", expiresAt: now.addingTimeInterval(3600))
        try tokens.revoke(tokenID: "live", expiresAt: now.addingTimeInterval(3600)) // twice is fine
        #expect(try tokens.isRevoked("live") && tokens.isRevoked("old") && !tokens.isRevoked("other"))
        // Another node sees a logout at once.
        #expect(try db.reopen().revokedTokens.isRevoked("live"))
        #expect(try tokens.purgeExpired(now: now) == 1)
        #expect(try tokens.isRevoked("live") && !tokens.isRevoked("old"))
    }

    @Test("a committed write is durable: a second connection pool sees it at once", arguments: Backend.available)
    func durability(_ backend: Backend) throws {
        let db = try TestDatabase(backend)
        defer { db.close() }
        _ = try db.stores.users.create(username: "satsuki", passwordHash: hashA)
        #expect(try db.reopen().users.find(username: "satsuki") != nil) // a separate pool, as after a restart
    }

    @Test("the examples: stored per photo and style, replaced when the model changes; their account exists", arguments: Backend.available)
    func examples(_ backend: Backend) throws {
        let db = try TestDatabase(backend)
        defer { db.close() }
        let examples = db.stores.examples
        let owner = try examples.ownerID()
        #expect(try db.stores.users.find(id: owner)?.username == Examples.ownerName)
        #expect(try examples.made().isEmpty && !examples.hasMovie())
        let sha1 = String(repeating: "1", count: 64), sha2 = String(repeating: "2", count: 64)
        try examples.put(photo: "coffee", style: "hayao", modelSHA256: sha1, picture: Data([1, 2, 3]))
        try examples.put(photo: "coffee", style: "hayao", modelSHA256: sha2, picture: Data([0, 255, 4, 0]))
        try examples.put(photo: "coffee", style: "paprika", modelSHA256: sha1, picture: Data([9]))
        #expect(try examples.made() == ["coffee": ["hayao": sha2, "paprika": sha1]])
        let picture = try #require(try examples.picture(photo: "coffee", style: "hayao"))
        #expect(picture.picture == Data([0, 255, 4, 0]) && picture.modelSHA256 == sha2)
        #expect(try examples.picture(photo: "coffee", style: "shinkai") == nil)
    }

    @Test("the data version moves with every commit, from this process or another connection; reads leave it",
          arguments: Backend.available)
    func dataVersion(_ backend: Backend) throws {
        let db = try TestDatabase(backend)
        defer { db.close() }
        let version = try #require(db.stores.dataVersion)
        let other = try db.reopen() // another node, or a worker process on the same file
        let start = try version()
        let made = try db.stores.users.create(username: "satsuki", passwordHash: hashA)
        let afterOwn = try version()
        #expect(afterOwn != start)
        _ = try other.users.create(username: "kanta", passwordHash: hashA)
        let afterOther = try version()
        #expect(afterOther != afterOwn)
        try other.revokedTokens.revoke(tokenID: "j1", expiresAt: Date().addingTimeInterval(60))
        #expect(try version() != afterOther)
        // A refused write commits nothing. (Only SQLite's file is this test's alone: on the
        // shared PostgreSQL server other tests commit meanwhile, so "unchanged" cannot be seen.)
        if backend == .sqlite {
            let settled = try version()
            _ = try db.stores.users.find(id: made.id!)
            _ = try other.images.listPublic(order: .newest, style: nil, page: 1)
            #expect(throws: UserStoreError.usernameTaken) { try other.users.create(username: "SATSUKI", passwordHash: hashA) }
            #expect(try version() == settled && version() == settled)
        }
    }
}
