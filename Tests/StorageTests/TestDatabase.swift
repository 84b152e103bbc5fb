import Foundation
import GRDB
import StorageCore
import StorageSQLite
@testable import StoragePostgres
import Testing

/// The backends the contract suite runs on: SQLite always; PostgreSQL when `make test` started
/// a throwaway server and named it in ARTWORKER_TEST_DATABASE_URL (it says so when it could
/// not, and only these cases are skipped).
enum Backend: String, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    static let postgresURL = ProcessInfo.processInfo.environment["ARTWORKER_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let available: [Backend] = postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
}

/// A new, empty database of one backend for one test: a SQLite file in a temporary folder, or
/// a PostgreSQL schema of its own (libpq's `options=-csearch_path=…`), removed by `close()`.
final class TestDatabase: Sendable {
    let backend: Backend
    let stores: Stores
    private let open: @Sendable ((any BlobStore)?) throws -> Stores
    private let blobs: (any BlobStore)?
    private let rows: @Sendable (String) throws -> Int
    private let cleanup: @Sendable () -> Void

    /// With `blobs`, pictures' bytes go to that object store.
    init(_ backend: Backend, blobs: (any BlobStore)? = nil) throws {
        self.backend = backend
        self.blobs = blobs
        switch backend {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-db-\(UUID().uuidString)")
            let database = try AppDatabase.open(directory: dir)
            open = { try AppDatabase.open(directory: dir).stores(blobs: $0) }
            rows = { table in
                try database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table == "account" ? "user" : table)") ?? -1 }
            }
            cleanup = { try? FileManager.default.removeItem(at: dir) }
            stores = database.stores(blobs: blobs)
        case .postgres:
            let base = try #require(Backend.postgresURL)
            let schema = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            let admin = try PostgresDatabase(url: base, maxConnections: 1, migrate: false)
            try admin.execute("CREATE SCHEMA \(schema)")
            let url = base + (base.contains("?") ? "&" : "?") + "options=-csearch_path%3D\(schema)"
            let database = try PostgresDatabase(url: url)
            open = { try PostgresDatabase(url: url).stores(blobs: $0) }
            rows = { table in try database.execute("SELECT count(*) AS n FROM \(table)").first?.int("n") ?? -1 }
            cleanup = { _ = try? admin.execute("DROP SCHEMA \(schema) CASCADE") }
            stores = database.stores(blobs: blobs)
        }
    }

    /// Removes the database. Called from a `defer` in each test: explicit, because Swift may
    /// end an object's life right after its last use, which would be too early for a deinit.
    func close() { cleanup() }

    /// The same database through new connections, as after a restart or from another node.
    func reopen() throws -> Stores { try open(blobs) }

    /// The same database opened as a node without the object store's setting would.
    func reopenWithoutBlobs() throws -> Stores { try open(nil) }

    /// Rows in a table (the account table is `user` in SQLite, `account` in PostgreSQL).
    func count(_ table: String) throws -> Int { try rows(table) }

    /// Two accounts most tests need.
    func twoMembers() throws -> (Int64, Int64) {
        (try #require(try stores.users.create(username: "satsuki", passwordHash: hashA).id),
         try #require(try stores.users.create(username: "kanta", passwordHash: hashA).id))
    }
}

let hashA = "$2b$04$" + String(repeating: "a", count: 53)
