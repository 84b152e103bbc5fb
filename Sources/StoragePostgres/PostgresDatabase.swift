import Foundation
import StorageCore
import Synchronization

/// A PostgreSQL database: a bounded pool of libpq connections and the schema's named
/// migrations. Every call borrows a connection for the length of one operation.
public final class PostgresDatabase: Sendable {
    let url: String
    let maxConnections: Int
    /// How long a caller waits for a free connection before the request is refused (503).
    let waitForConnection: TimeInterval
    private let idle = Mutex<[PostgresConnection]>([])
    private let slots: DispatchSemaphore

    /// Connects once (so a wrong URL or a server that is down fails at start, not at the first
    /// request) and migrates the schema.
    public init(url: String, maxConnections: Int = 8, waitForConnection: TimeInterval = 5, migrate: Bool = true) throws {
        self.url = url
        self.maxConnections = max(1, maxConnections)
        self.waitForConnection = waitForConnection
        slots = DispatchSemaphore(value: self.maxConnections)
        if migrate {
            try PostgresSchema.migrate(self)
        } else {
            try withConnection { _ in } // still connect once: a wrong URL fails here
        }
    }

    /// "postgresql host:port/database", for logs (never the password).
    public var description: String {
        guard var parts = URLComponents(string: url) else { return "postgresql" }
        parts.password = nil
        parts.user = nil
        parts.query = nil
        return "postgresql \(parts.string ?? "")"
    }

    /// Runs `body` on a connection of the pool. A connection found broken on its first use
    /// (the server restarted since it was last lent) is replaced and `body` tried once more on
    /// a new one: nothing had been sent on it, so nothing can happen twice.
    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        guard slots.wait(timeout: .now() + waitForConnection) == .success else {
            throw StorageUnavailable("all \(maxConnections) database connections stayed busy for \(Int(waitForConnection)) s")
        }
        defer { slots.signal() }
        var reused = idle.withLock { $0.popLast() }
        while true {
            let connection = try reused ?? PostgresConnection(url: url)
            let sentBefore = connection.statementsSent
            do {
                let value = try body(connection)
                give(connection)
                return value
            } catch let error as StorageUnavailable {
                if reused != nil && !connection.isUsable && connection.statementsSent == sentBefore + 1 {
                    reused = nil // a stale idle one: retry once on a fresh connection
                    continue
                }
                if connection.isUsable { give(connection) }
                throw error
            } catch {
                if connection.isUsable { give(connection) }
                throw error
            }
        }
    }

    private func give(_ connection: PostgresConnection) {
        guard connection.isUsable else { return }
        idle.withLock { $0.append(connection) }
    }

    /// Runs `body` in one transaction (READ COMMITTED, PostgreSQL's default): committed when it
    /// returns, rolled back when it throws.
    /// With `readOnlySnapshot`, every statement of `body` sees one snapshot (REPEATABLE READ,
    /// READ ONLY): for reads that must agree with each other.
    public func transaction<T>(readOnlySnapshot: Bool = false, _ body: (PostgresConnection) throws -> T) throws -> T {
        try withConnection { connection in
            try connection.execute(readOnlySnapshot ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN")
            do {
                let value = try body(connection)
                try connection.execute("COMMIT")
                return value
            } catch {
                if connection.isUsable { _ = try? connection.execute("ROLLBACK") }
                throw error
            }
        }
    }

    /// One statement on its own (autocommit).
    @discardableResult
    public func execute(_ sql: String, _ parameters: [any PostgresEncodable] = []) throws -> PostgresRows {
        try withConnection { try $0.execute(sql, parameters) }
    }

    /// Names of the migrations applied to this database, in order.
    public func appliedMigrations() throws -> [String] {
        try execute("SELECT name FROM schema_migration ORDER BY position").all.map { try $0.string("name") }
    }

    /// Every store of the product on this database, with pictures' bytes in `blobs` when given
    /// (otherwise in the database).
    public func stores(blobs: (any BlobStore)? = nil) -> Stores {
        Stores(users: PostgresUserStore(database: self), revokedTokens: PostgresRevokedTokens(database: self),
               attempts: PostgresAuthAttempts(database: self), images: PostgresImageStore(database: self, blobs: blobs),
               movies: PostgresMovieStore(database: self), examples: PostgresExampleStore(database: self),
               makeJobs: { PostgresJobStore(database: self, settings: $0, blobs: blobs) },
               appliedMigrations: { try self.appliedMigrations() },
               description: description + (blobs.map { ", pictures in the \($0.description)" } ?? ""), pollInterval: 1,
               listenForJobs: { wake in
                   let listener = PostgresJobListener(url: self.url, wake: wake)
                   return { listener.stop() }
               },
               exclusively: { task, body in try self.exclusively(task, body) }, blobs: blobs,
               dataVersion: { try self.dataVersion() })
    }

    /// The cluster's commit mark (see `DataVersion`): the current snapshot, xmin:xmax:xip. Every
    /// writing transaction holds a transaction id; one assigned since the last look raises xmax,
    /// one that ended since leaves the in-progress list, so an unchanged snapshot means nothing
    /// was committed in between, on any node (PostgreSQL docs, "System Information Functions",
    /// pg_current_snapshot). Transaction ids are the server's, so writes to its other databases
    /// move it too: a needless miss at worst, never a stale answer.
    public func dataVersion() throws -> DataVersion {
        DataVersion(try execute("SELECT pg_current_snapshot()::text AS mark").first?.string("mark") ?? "")
    }

    /// Runs `body` while holding a session advisory lock named after `task`, if no other
    /// session holds it; returns false (running nothing) if one does. The lock goes with the
    /// session, so a node that dies mid-task frees it at once.
    func exclusively(_ task: String, _ body: () throws -> Void) throws -> Bool {
        try withConnection { c in
            let key = "artworker.task." + task
            guard try c.execute("SELECT pg_try_advisory_lock(hashtext($1)) AS got", [key]).first?.bool("got") == true else { return false }
            defer { _ = try? c.execute("SELECT pg_advisory_unlock(hashtext($1))", [key]) }
            try body()
            return true
        }
    }
}
