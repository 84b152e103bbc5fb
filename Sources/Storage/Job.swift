import Foundation
import GRDB

/// A conversion or a movie analysis as the database keeps it (table `job`): what was asked, by
/// whom, how far it got, and who holds it now.
public struct Job: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable, Codable { case conversion, movie }
    public enum State: String, Sendable, CaseIterable, Codable { case queued, running, done, failed, cancelled }

    public var id: String
    public var kind: Kind
    public var ownerID: Int64?
    public var address: String?
    public var requestID: String
    /// The kind's parameters as JSON (the service that runs the kind reads them).
    public var parameters: Data
    public var state: State
    public var progress: Double
    public var attempts: Int
    public var cancelRequested: Bool
    public var error: String?
    /// The same reason as the app's catalog message (JSON), to tell it in the reader's language.
    public var errorMessage: String?
    /// What the job made: image ids, or one movie id.
    public var results: [String]
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?

    public var isWaiting: Bool { state == .queued || state == .running }

    init(row: Row) {
        id = row["id"]
        kind = Kind(rawValue: row["kind"]) ?? .conversion
        ownerID = row["owner_id"]
        address = row["address"]
        requestID = row["request_id"]
        parameters = Data((row["parameters"] as String).utf8)
        state = State(rawValue: row["state"]) ?? .failed
        progress = row["progress"]
        attempts = row["attempts"]
        cancelRequested = row["cancel_requested"]
        error = row["error"]
        errorMessage = row["error_message"]
        results = (try? JSONDecoder().decode([String].self, from: Data((row["results"] as String).utf8))) ?? []
        createdAt = row["created_at"]
        startedAt = row["started_at"]
        finishedAt = row["finished_at"]
    }
}

/// One uploaded file a job works on (a photo, a frame), kept until the job ends.
public struct JobInput: Sendable, Equatable {
    public var name: String
    public var bytes: Data
    public init(name: String, bytes: Data) {
        self.name = name
        self.bytes = bytes
    }
}

/// A worker's hold on a running job: the job and the token that fences its writes.
public struct JobLease: Sendable, Equatable {
    public var job: Job
    public var token: String
}

/// The queue as a table, shared by every process that opens the database.
///
/// - Submitting writes the job and its inputs in one IMMEDIATE transaction, after counting the
///   waiting jobs inside it, so limits hold across processes; `synchronous = FULL` makes the
///   commit durable before the caller answers 202.
/// - A worker claims the oldest queued job with one `UPDATE … RETURNING`, taking a lease: a
///   random token and an expiry it renews while it works. A job whose lease ran out (its worker
///   died or hung) goes back to the queue, or fails after `maxAttempts` claims.
/// - Finishing stores the results and the job's new state in one transaction that first checks
///   the token is still the job's: a worker that lost its lease can never store anything.
public struct JobStore: Sendable {
    public let database: AppDatabase
    /// How long a claim holds without renewal; a dead worker's job waits this long at most.
    public var leaseDuration: TimeInterval
    /// Claims a job may use up (each interrupted run costs one) before it fails for good.
    public var maxAttempts: Int
    /// Told how many leases a claim found run out (metrics).
    public var leasesExpired: (@Sendable (Int) -> Void)? = nil

    public init(database: AppDatabase, leaseDuration: TimeInterval = 15, maxAttempts: Int = 3) {
        self.database = database
        self.leaseDuration = leaseDuration
        self.maxAttempts = maxAttempts
    }

    /// Waiting jobs (queued or running) allowed in all, and per member or visitor address.
    public struct Limits: Sendable {
        public var waiting: Int
        public var perSubmitter: Int
        public init(waiting: Int, perSubmitter: Int) {
            self.waiting = waiting
            self.perSubmitter = perSubmitter
        }
    }

    public enum Refusal: Error, Sendable, Equatable {
        /// Too many jobs of this kind are waiting.
        case full
        /// This member (or visitor address) already has `perSubmitter` waiting.
        case tooManyOfYours(Int)
    }

    public static func newID() -> String { Image.newID() }

    // MARK: Submitting

    /// Throws the refusal `submit` would give now; a cheap read asked before decoding uploads.
    public func checkRoom(kind: Job.Kind, owner: Int64?, address: String?, limits: Limits) throws {
        try database.pool.read { db in try Self.checkRoom(db, kind: kind, owner: owner, address: address, limits: limits) }
    }

    static func checkRoom(_ db: Database, kind: Job.Kind, owner: Int64?, address: String?, limits: Limits) throws {
        let waiting = try Int.fetchOne(db, sql: "SELECT count(*) FROM job WHERE kind = ? AND state IN ('queued', 'running')",
                                       arguments: [kind.rawValue]) ?? 0
        guard waiting < limits.waiting else { throw Refusal.full }
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
        guard mine < limits.perSubmitter else { throw Refusal.tooManyOfYours(limits.perSubmitter) }
    }

    /// The job a form with this token already queued for the same member (or visitor
    /// address), if any.
    public func submitted(_ submission: String?, kind: Job.Kind, owner: Int64?, address: String?) throws -> String? {
        guard let submission, Self.isToken(submission) else { return nil }
        return try database.pool.read { db in try Self.submitted(db, submission, kind: kind, owner: owner, address: address) }
    }

    static func submitted(_ db: Database, _ submission: String, kind: Job.Kind, owner: Int64?, address: String?) throws -> String? {
        try String.fetchOne(db, sql: "SELECT id FROM job WHERE submission = ? AND kind = ? AND owner_id IS ? AND address IS ?",
                            arguments: [submission, kind.rawValue, owner, owner == nil ? address : nil])
    }

    /// A form token as the forms make them (`newID`: base64url); anything else is ignored.
    static func isToken(_ text: String) -> Bool {
        (16...64).contains(text.utf8.count) && text.utf8.allSatisfy {
            $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
        }
    }

    /// Queues a job with its inputs (one transaction, limits counted inside it); returns its id.
    /// When a form token (`submission`) already queued a job for the same submitter, that job's
    /// id comes back and nothing is added.
    public func submit(kind: Job.Kind, owner: Int64?, address: String?, requestID: String, parameters: Data,
                       inputs: [JobInput], limits: Limits, submission: String? = nil, now: Date = Date()) throws -> String {
        var id = Self.newID()
        try database.pool.writeWithoutTransaction { db in
            // IMMEDIATE: the write lock is taken before counting, so two processes cannot both
            // see room for one more job and both add it.
            try db.inTransaction(.immediate) {
                var token = submission.flatMap { Self.isToken($0) ? $0 : nil }
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

    /// Takes the oldest queued job of these kinds, or nil when there is none. Jobs whose lease
    /// ran out are put back (or failed) first.
    public func claim(kinds: [Job.Kind], now: Date = Date()) throws -> JobLease? {
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
            if recovered > 0 { leasesExpired?(recovered) }
        }
        guard queued || expired else { return nil }
        let token = Self.newID()
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

    /// The sentence a job gets when its runs kept being cut short.
    public static func interruptedSentence(_ attempts: Int) -> String {
        "This job was interrupted \(attempts) times (the worker running it stopped) and will not be tried again. Please submit it once more."
    }

    /// The same, as the app's catalog message ("job.interrupted" in Sources/Localization).
    public static func interruptedMessage(_ attempts: Int) -> String {
        #"{"key":"job.interrupted","arguments":{"attempts":\#(attempts)}}"#
    }

    /// Running jobs whose lease ran out: cancelled if their owner asked, failed after
    /// `maxAttempts` claims, otherwise queued again. Returns how many leases had run out.
    public func recoverExpired(now: Date = Date()) throws -> Int {
        try database.pool.write { db in
            let expired = "state = 'running' AND lease_expires_at < ?"
            let finished = "lease = NULL, lease_expires_at = NULL, finished_at = ?"
            try db.execute(sql: "UPDATE job SET state = 'cancelled', \(finished) WHERE \(expired) AND cancel_requested = 1",
                           arguments: [now, now])
            var count = db.changesCount
            try db.execute(sql: "UPDATE job SET state = 'failed', error = ?, error_message = ?, \(finished) WHERE \(expired) AND attempts >= ?",
                           arguments: [Self.interruptedSentence(maxAttempts), Self.interruptedMessage(maxAttempts), now, now, maxAttempts])
            count += db.changesCount
            try db.execute(sql: "UPDATE job SET state = 'queued', lease = NULL, lease_expires_at = NULL, progress = 0 WHERE \(expired)",
                           arguments: [now])
            count += db.changesCount
            return count
        }
    }

    /// A running job's uploads, in the order they were sent.
    public func inputs(of jobID: String) throws -> [JobInput] {
        try database.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, bytes FROM job_input WHERE job_id = ? ORDER BY position", arguments: [jobID])
                .map { JobInput(name: $0["name"], bytes: $0["bytes"]) }
        }
    }

    public enum LeaseState: Sendable, Equatable {
        case held(cancelRequested: Bool)
        /// The lease ran out and someone else holds the job now, or it ended: stop, store nothing.
        case lost
    }

    /// Pushes the lease's expiry forward and records progress (which never goes back).
    public func renew(_ lease: JobLease, progress: Double, now: Date = Date()) throws -> LeaseState {
        try database.pool.write { db in
            let cancel = try Bool.fetchOne(db, sql: """
                UPDATE job SET lease_expires_at = ?, progress = max(progress, ?)
                WHERE id = ? AND lease = ? AND state = 'running'
                RETURNING cancel_requested
                """, arguments: [now.addingTimeInterval(leaseDuration), min(max(progress, 0), 1), lease.job.id, lease.token])
            return cancel.map { .held(cancelRequested: $0) } ?? .lost
        }
    }

    /// How a run ended, with what it made.
    public enum Outcome: Sendable {
        case images([Image])
        case movie(NewMovie)
        /// A sentence for the owner: their input was refused, or something went wrong (with the
        /// request id to quote); in English, and as the app's catalog message (JSON).
        case failed(String, message: String? = nil)
        case cancelled
    }

    /// Stores the outcome and the job's final state in one transaction, only while `lease` is
    /// still the job's; returns false (storing nothing) when it is not.
    @discardableResult
    public func finish(_ lease: JobLease, _ outcome: Outcome, now: Date = Date()) throws -> Bool {
        try database.pool.write { db in
            let (state, error, message, results): (Job.State, String?, String?, [String]) = switch outcome {
            case let .images(images): (.done, nil, nil, images.map(\.id))
            case let .movie(movie): (.done, nil, nil, [movie.id])
            case let .failed(sentence, message): (.failed, sentence, message, [])
            case .cancelled: (.cancelled, nil, nil, [])
            }
            // The fence: this UPDATE matches only while the token is ours. Results are written
            // after it, in the same transaction, so they exist exactly when it matched.
            try db.execute(sql: """
                UPDATE job SET state = ?, error = ?, error_message = ?, results = ?,
                               progress = CASE WHEN ? = 'done' THEN 1 ELSE progress END,
                               lease = NULL, lease_expires_at = NULL, finished_at = ?
                WHERE id = ? AND lease = ? AND state = 'running'
                """, arguments: [state.rawValue, error, message, String(decoding: try JSONEncoder().encode(results), as: UTF8.self),
                                 state.rawValue, now, lease.job.id, lease.token])
            guard db.changesCount == 1 else { return false }
            switch outcome {
            case let .images(images): try ImageStore.insert(images, in: db)
            case let .movie(movie): try MovieStore.insert(movie, now: now, in: db)
            case .failed, .cancelled: break
            }
            return true // the inputs went with the state change (trigger job_ended)
        }
    }

    /// Puts a job back in the queue without counting the attempt: its worker is stopping
    /// (SIGTERM) and gives it to another. A cancel asked meanwhile is honoured.
    public func release(_ lease: JobLease, now: Date = Date()) throws {
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

    /// The job as `viewer` may see it: a member's jobs by that member only; a visitor's by
    /// whoever has its (unguessable) id.
    public func find(id: String, viewer: Int64?) throws -> Job? {
        try database.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM job WHERE id = ? AND (owner_id IS NULL OR owner_id = ?)", arguments: [id, viewer])
                .map(Job.init(row:))
        }
    }

    /// Where a waiting job stands: jobs of its kind queued before it, jobs of its kind running
    /// now (about how many workers there are), how long recent runs of its kind took per
    /// result, and how many results this one will make.
    public struct Standing: Sendable, Equatable {
        public var ahead: Int
        public var running: Int
        /// The median run time per result of the last 20 finished jobs of the kind (a
        /// four-style conversion made four); nil before any.
        public var typicalRun: TimeInterval?
        /// Results this job will make: photos × styles for a conversion, 1 for a movie.
        public var units: Int

        public init(ahead: Int, running: Int, typicalRun: TimeInterval?, units: Int = 1) {
            self.ahead = ahead
            self.running = running
            self.typicalRun = typicalRun
            self.units = units
        }
    }

    public func standing(of job: Job) throws -> Standing {
        try database.pool.read { db in
            let ahead = job.state != .queued ? 0 : try Int.fetchOne(db, sql: """
                SELECT count(*) FROM job WHERE kind = ? AND state = 'queued' AND (created_at < ? OR (created_at = ? AND id < ?))
                """, arguments: [job.kind.rawValue, job.createdAt, job.createdAt, job.id]) ?? 0
            let running = try Int.fetchOne(db, sql: "SELECT count(*) FROM job WHERE kind = ? AND state = 'running'",
                                           arguments: [job.kind.rawValue]) ?? 0
            let runs = try Double.fetchAll(db, sql: """
                SELECT (julianday(finished_at) - julianday(started_at)) * 86400 / max(1, json_array_length(results)) FROM job
                WHERE kind = ? AND state = 'done' AND started_at IS NOT NULL ORDER BY finished_at DESC LIMIT 20
                """, arguments: [job.kind.rawValue]).sorted()
            let units = job.kind != .conversion ? 1 : try Int.fetchOne(db, sql: """
                SELECT (SELECT count(*) FROM job_input WHERE job_id = job.id) * max(1, coalesce(json_array_length(parameters, '$.styles'), 1))
                FROM job WHERE id = ?
                """, arguments: [job.id]) ?? 1
            return Standing(ahead: ahead, running: running, typicalRun: runs.isEmpty ? nil : runs[runs.count / 2], units: max(1, units))
        }
    }

    public enum CancelResult: Sendable, Equatable {
        /// It had not started: it never will.
        case cancelled
        /// It is running: its worker stops at the next step and stores nothing.
        case requested
        /// It had already ended in this state.
        case alreadyFinished(Job.State)
    }

    /// Cancels a job `viewer` may see; nil when there is no such job for them.
    public func cancel(id: String, viewer: Int64?, now: Date = Date()) throws -> CancelResult? {
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

    /// Forgets jobs that ended before `cutoff` (their results stay); returns how many.
    public func purge(finishedBefore cutoff: Date) throws -> Int {
        try database.pool.write { db in
            try db.execute(sql: "DELETE FROM job WHERE finished_at < ?", arguments: [cutoff])
            return db.changesCount
        }
    }

    /// Jobs by kind and state (for /metrics and tests).
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

    /// Inputs still stored for jobs that have ended (always 0 unless something is wrong).
    public func orphanedInputs() throws -> Int {
        try database.pool.read { db in
            try Int.fetchOne(db, sql: """
                SELECT count(*) FROM job_input WHERE job_id NOT IN (SELECT id FROM job WHERE state IN ('queued', 'running'))
                """) ?? 0
        }
    }
}
