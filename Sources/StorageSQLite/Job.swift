import Foundation
import GRDB
import StorageCore

extension Job {
    init(row: Row) {
        self.init(id: row["id"], kind: Kind(rawValue: row["kind"]) ?? .conversion, ownerID: row["owner_id"], address: row["address"],
                  requestID: row["request_id"], parameters: Data((row["parameters"] as String).utf8),
                  state: State(rawValue: row["state"]) ?? .failed, progress: row["progress"], attempts: row["attempts"],
                  cancelRequested: row["cancel_requested"], error: row["error"], errorMessage: row["error_message"],
                  results: JobRules.results(row["results"]), createdAt: row["created_at"], startedAt: row["started_at"],
                  finishedAt: row["finished_at"])
    }
}

/// The queue as a SQLite table (`job`, with `job_input`), shared by every process that opens
/// the database file.
///
/// - Submitting is one IMMEDIATE transaction: the write lock is taken before the waiting jobs
///   are counted; `synchronous = FULL` makes the commit durable before the caller answers 202.
/// - Claiming is one `UPDATE … RETURNING` on the oldest queued job, after a read (which never
///   waits in WAL mode) says whether anything is there.
public struct SQLiteJobStore: JobStore {
    public let database: AppDatabase
    public var settings: JobSettings
    /// Where finished jobs' pictures go, when not into the database.
    let blobs: (any BlobStore)?

    public init(database: AppDatabase, settings: JobSettings = JobSettings(), blobs: (any BlobStore)? = nil) {
        self.database = database
        self.settings = settings
        self.blobs = blobs
    }

    // MARK: Submitting

    public func checkRoom(kind: Job.Kind, owner: Int64?, address: String?, limits: JobLimits) throws {
        try database.pool.read { db in try Self.checkRoom(db, kind: kind, owner: owner, address: address, limits: limits) }
    }

    static func checkRoom(_ db: Database, kind: Job.Kind, owner: Int64?, address: String?, limits: JobLimits) throws {
        let waiting = try Int.fetchOne(db, sql: "SELECT count(*) FROM job WHERE kind = ? AND state IN ('queued', 'running')",
                                       arguments: [kind.rawValue]) ?? 0
        guard waiting < limits.waiting else { throw JobRefusal.full }
        let mine: Int
        if let owner {
            mine = try Int.fetchOne(db, sql: "SELECT count(*) FROM job WHERE owner_id = ? AND kind = ? AND state IN ('queued', 'running')",
                                    arguments: [owner, kind.rawValue]) ?? 0
        } else if let address {
            mine = try Int.fetchOne(db, sql: "SELECT count(*) FROM job WHERE address = ? AND kind = ? AND state IN ('queued', 'running')",
                                    arguments: [address, kind.rawValue]) ?? 0
        } else {
            mine = 0
        }
        guard mine < limits.perSubmitter else { throw JobRefusal.tooManyOfYours(limits.perSubmitter) }
    }

    public func submitted(_ submission: String?, kind: Job.Kind, owner: Int64?, address: String?) throws -> String? {
        guard let submission, JobRules.isToken(submission) else { return nil }
        return try database.pool.read { db in try Self.submitted(db, submission, kind: kind, owner: owner, address: address) }
    }

    static func submitted(_ db: Database, _ submission: String, kind: Job.Kind, owner: Int64?, address: String?) throws -> String? {
        try String.fetchOne(db, sql: "SELECT id FROM job WHERE submission = ? AND kind = ? AND owner_id IS ? AND address IS ?",
                            arguments: [submission, kind.rawValue, owner, owner == nil ? address : nil])
    }

    public func submit(kind: Job.Kind, owner: Int64?, address: String?, requestID: String, parameters: Data,
                       inputs: [JobInput], limits: JobLimits, submission: String?, now: Date) throws -> String {
        var id = JobRules.newID()
        try database.pool.writeWithoutTransaction { db in
            // IMMEDIATE: the write lock is taken before counting, so two processes cannot both
            // see room for one more job and both add it.
            try db.inTransaction(.immediate) {
                var token = submission.flatMap { JobRules.isToken($0) ? $0 : nil }
                if let given = token {
                    if let earlier = try Self.submitted(db, given, kind: kind, owner: owner, address: address) {
                        id = earlier
                        return .commit
                    }
                    // A token another submitter used (copied into a form by hand) is not kept.
                    if try Bool.fetchOne(db, sql: "SELECT 1 FROM job WHERE submission = ?", arguments: [given]) == true { token = nil }
                }
                try Self.checkRoom(db, kind: kind, owner: owner, address: address, limits: limits)
                try db.execute(sql: """
                    INSERT INTO job (id, kind, owner_id, address, request_id, parameters, state, created_at, submission)
                    VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)
                    """, arguments: [id, kind.rawValue, owner, owner == nil ? address : nil, requestID,
                                     String(decoding: parameters, as: UTF8.self), now, token])
                let insert = try db.makeStatement(sql: "INSERT INTO job_input (job_id, position, name, bytes) VALUES (?, ?, ?, ?)")
                for (position, input) in inputs.enumerated() {
                    try insert.execute(arguments: [id, position, input.name, input.bytes])
                }
                return .commit
            }
        }
        return id
    }

    // MARK: Working

    public func claim(kinds: [Job.Kind], now: Date) throws -> JobLease? {
        let kindList = kinds.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        // Idle workers poll: a read (which never waits in WAL mode) decides whether the write
        // lock is worth taking.
        let (queued, expired) = try database.pool.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM job WHERE kind IN (\(kindList)) AND state = 'queued') AS queued,
                       EXISTS (SELECT 1 FROM job WHERE state = 'running' AND lease_expires_at < ?) AS expired
                """, arguments: [now])
            return (row?["queued"] as Bool? ?? false, row?["expired"] as Bool? ?? false)
        }
        if expired {
            let recovered = try recoverExpired(now: now)
            if recovered > 0 { settings.leasesExpired?(recovered) }
        }
        guard queued || expired else { return nil }
        let token = JobRules.newID()
        return try database.pool.write { db in
            guard let row = try Row.fetchOne(db, sql: """
                UPDATE job SET state = 'running', lease = ?, lease_expires_at = ?, attempts = attempts + 1, progress = 0,
                               started_at = coalesce(started_at, ?)
                WHERE id = (SELECT id FROM job WHERE kind IN (\(kindList)) AND state = 'queued' ORDER BY created_at, rowid LIMIT 1)
                RETURNING *
                """, arguments: [token, now.addingTimeInterval(leaseDuration), now]) else { return nil }
            return JobLease(job: Job(row: row), token: token)
        }
    }

    public func recoverExpired(now: Date) throws -> Int {
        try database.pool.write { db in
            let expired = "state = 'running' AND lease_expires_at < ?"
            let finished = "lease = NULL, lease_expires_at = NULL, finished_at = ?"
            try db.execute(sql: "UPDATE job SET state = 'cancelled', \(finished) WHERE \(expired) AND cancel_requested = 1",
                           arguments: [now, now])
            var count = db.changesCount
            try db.execute(sql: "UPDATE job SET state = 'failed', error = ?, error_message = ?, \(finished) WHERE \(expired) AND attempts >= ?",
                           arguments: [JobRules.interruptedSentence(maxAttempts), JobRules.interruptedMessage(maxAttempts), now, now, maxAttempts])
            count += db.changesCount
            try db.execute(sql: "UPDATE job SET state = 'queued', lease = NULL, lease_expires_at = NULL, progress = 0 WHERE \(expired)",
                           arguments: [now])
            count += db.changesCount
            return count
        }
    }

    public func inputs(of jobID: String) throws -> [JobInput] {
        try database.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, bytes FROM job_input WHERE job_id = ? ORDER BY position", arguments: [jobID])
                .map { JobInput(name: $0["name"], bytes: $0["bytes"]) }
        }
    }

    public func renew(_ lease: JobLease, progress: Double, now: Date) throws -> JobLeaseState {
        try database.pool.write { db in
            let cancel = try Bool.fetchOne(db, sql: """
                UPDATE job SET lease_expires_at = ?, progress = max(progress, ?)
                WHERE id = ? AND lease = ? AND state = 'running'
                RETURNING cancel_requested
                """, arguments: [now.addingTimeInterval(leaseDuration), min(max(progress, 0), 1), lease.job.id, lease.token])
            return cancel.map { .held(cancelRequested: $0) } ?? .lost
        }
    }

    @discardableResult
    public func finish(_ lease: JobLease, _ outcome: JobOutcome, now: Date) throws -> Bool {
        // Pictures' bytes go to the object store before the transaction (not holding it open):
        // if the fence below refuses, they are named by no row and the sweep removes them.
        if case let .images(images) = outcome { try Blobs.upload(images, to: blobs) }
        return try database.pool.write { db in
            let (state, error, message, results) = outcome.ending
            // The fence: this UPDATE matches only while the token is ours. Results are written
            // after it, in the same transaction, so they exist exactly when it matched.
            try db.execute(sql: """
                UPDATE job SET state = ?, error = ?, error_message = ?, results = ?,
                               progress = CASE WHEN ? = 'done' THEN 1 ELSE progress END,
                               lease = NULL, lease_expires_at = NULL, finished_at = ?
                WHERE id = ? AND lease = ? AND state = 'running'
                """, arguments: [state.rawValue, error, message, JobRules.resultsJSON(results),
                                 state.rawValue, now, lease.job.id, lease.token])
            guard db.changesCount == 1 else { return false }
            switch outcome {
            case let .images(images): try SQLiteImageStore.insert(images, in: db, inObjectStore: blobs != nil)
            case let .movie(movie): try SQLiteMovieStore.insert(movie, now: now, in: db)
            case .failed, .cancelled: break
            }
            return true // the inputs went with the state change (trigger job_ended)
        }
    }

    public func release(_ lease: JobLease, now: Date) throws {
        try database.pool.write { db in
            try db.execute(sql: """
                UPDATE job SET state = CASE WHEN cancel_requested = 1 THEN 'cancelled' ELSE 'queued' END,
                               finished_at = CASE WHEN cancel_requested = 1 THEN ? END,
                               attempts = max(attempts - 1, 0), progress = 0, lease = NULL, lease_expires_at = NULL
                WHERE id = ? AND lease = ? AND state = 'running'
                """, arguments: [now, lease.job.id, lease.token])
        }
    }

    // MARK: Reading and cancelling

    public func find(id: String, viewer: Int64?) throws -> Job? {
        try database.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM job WHERE id = ? AND (owner_id IS NULL OR owner_id = ?)", arguments: [id, viewer])
                .map(Job.init(row:))
        }
    }

    public func standing(of job: Job) throws -> JobStanding {
        try database.pool.read { db in
            let ahead = job.state != .queued ? 0 : try Int.fetchOne(db, sql: """
                SELECT count(*) FROM job WHERE kind = ? AND state = 'queued' AND (created_at < ? OR (created_at = ? AND id < ?))
                """, arguments: [job.kind.rawValue, job.createdAt, job.createdAt, job.id]) ?? 0
            let running = try Int.fetchOne(db, sql: "SELECT count(*) FROM job WHERE kind = ? AND state = 'running'",
                                           arguments: [job.kind.rawValue]) ?? 0
            let runs = try Double.fetchAll(db, sql: """
                SELECT (julianday(finished_at) - julianday(started_at)) * 86400 / max(1, json_array_length(results)) FROM job
                WHERE kind = ? AND state = 'done' AND started_at IS NOT NULL ORDER BY finished_at DESC LIMIT 20
                """, arguments: [job.kind.rawValue])
            let units = job.kind != .conversion ? 1 : try Int.fetchOne(db, sql: """
                SELECT (SELECT count(*) FROM job_input WHERE job_id = job.id) * max(1, coalesce(json_array_length(parameters, '$.styles'), 1))
                FROM job WHERE id = ?
                """, arguments: [job.id]) ?? 1
            return JobStanding(ahead: ahead, running: running, runs: runs, units: units)
        }
    }

    public func cancel(id: String, viewer: Int64?, now: Date) throws -> JobCancelResult? {
        try database.pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT state FROM job WHERE id = ? AND (owner_id IS NULL OR owner_id = ?)",
                                             arguments: [id, viewer]),
                  let state = Job.State(rawValue: row["state"]) else { return nil }
            switch state {
            case .queued:
                try db.execute(sql: "UPDATE job SET state = 'cancelled', finished_at = ? WHERE id = ?", arguments: [now, id])
                return .cancelled
            case .running:
                try db.execute(sql: "UPDATE job SET cancel_requested = 1 WHERE id = ?", arguments: [id])
                return .requested
            case .done, .failed, .cancelled:
                return .alreadyFinished(state)
            }
        }
    }

    public func purge(finishedBefore cutoff: Date) throws -> Int {
        try database.pool.write { db in
            try db.execute(sql: "DELETE FROM job WHERE finished_at < ?", arguments: [cutoff])
            return db.changesCount
        }
    }

    public func counts() throws -> [Job.Kind: [Job.State: Int]] {
        try database.pool.read { db in
            var counts: [Job.Kind: [Job.State: Int]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, state, count(*) AS n FROM job GROUP BY kind, state") {
                guard let kind = Job.Kind(rawValue: row["kind"]), let state = Job.State(rawValue: row["state"]) else { continue }
                counts[kind, default: [:]][state] = row["n"]
            }
            return counts
        }
    }

    public func orphanedInputs() throws -> Int {
        try database.pool.read { db in
            try Int.fetchOne(db, sql: """
                SELECT count(*) FROM job_input WHERE job_id NOT IN (SELECT id FROM job WHERE state IN ('queued', 'running'))
                """) ?? 0
        }
    }
}
