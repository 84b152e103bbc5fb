import Foundation
import StorageCore

extension Job {
    init(postgres row: PostgresRow) throws {
        guard let kind = Kind(rawValue: try row.string("kind")), let state = State(rawValue: try row.string("state")) else {
            throw PostgresRow.DecodeError(column: "kind or state", type: "a job kind and state")
        }
        self.init(id: try row.string("id"), kind: kind, ownerID: try row.int64(optional: "owner_id"), address: try row.string(optional: "address"),
                  requestID: try row.string("request_id"), parameters: Data(try row.string("parameters").utf8), state: state,
                  progress: try row.double("progress"), attempts: try row.int("attempts"), cancelRequested: try row.bool("cancel_requested"),
                  error: try row.string(optional: "error"), errorMessage: try row.string(optional: "error_message"),
                  results: JobRules.results(try row.string("results")), createdAt: try row.date("created_at"),
                  startedAt: try row.date(optional: "started_at"), finishedAt: try row.date(optional: "finished_at"))
    }
}

/// The queue in PostgreSQL (`job`, with `job_input`), shared by every node and worker.
///
/// - Submitting takes a transaction-scoped advisory lock for the job's kind before counting the
///   waiting jobs, so two nodes cannot both see room for one more; the commit is durable
///   (synchronous_commit on, PostgreSQL's default) before the caller answers 202. It also
///   notifies channel `artworker_jobs`, which idle workers listen on as a hint to poll now.
/// - Claiming is one `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) RETURNING *`: many
///   workers claim at once, each skipping the rows others are taking, none waiting on another.
/// - Leases and fencing tokens are the SQLite store's: results are written in the transaction
///   whose UPDATE matched the token.
public struct PostgresJobStore: JobStore {
    let database: PostgresDatabase
    public var settings: JobSettings
    /// Where finished jobs' pictures go, when not into the database.
    let blobs: (any BlobStore)?

    public init(database: PostgresDatabase, settings: JobSettings = JobSettings(), blobs: (any BlobStore)? = nil) {
        self.database = database
        self.settings = settings
        self.blobs = blobs
    }

    /// The channel `submit` notifies after queueing (the payload is the kind).
    public static let channel = "artworker_jobs"

    static let waiting = "state IN ('queued', 'running')"

    // MARK: Submitting

    public func checkRoom(kind: Job.Kind, owner: Int64?, address: String?, limits: JobLimits) throws {
        try database.withConnection { c in try Self.checkRoom(c, kind: kind, owner: owner, address: address, limits: limits) }
    }

    static func checkRoom(_ c: PostgresConnection, kind: Job.Kind, owner: Int64?, address: String?, limits: JobLimits) throws {
        let row = try c.execute("""
            SELECT count(*) AS waiting,
                   count(*) FILTER (WHERE ($2::bigint IS NOT NULL AND owner_id = $2) OR ($2::bigint IS NULL AND address = $3)) AS mine
            FROM job WHERE kind = $1 AND \(waiting)
            """, [kind.rawValue, owner, owner == nil ? address : nil]).first
        guard try row?.int("waiting") ?? 0 < limits.waiting else { throw JobRefusal.full }
        guard try row?.int("mine") ?? 0 < limits.perSubmitter else { throw JobRefusal.tooManyOfYours(limits.perSubmitter) }
    }

    public func submitted(_ submission: String?, kind: Job.Kind, owner: Int64?, address: String?) throws -> String? {
        guard let submission, JobRules.isToken(submission) else { return nil }
        return try database.withConnection { c in try Self.submitted(c, submission, kind: kind, owner: owner, address: address) }
    }

    static func submitted(_ c: PostgresConnection, _ submission: String, kind: Job.Kind, owner: Int64?, address: String?) throws -> String? {
        try c.execute("""
            SELECT id FROM job WHERE submission = $1 AND kind = $2 AND owner_id IS NOT DISTINCT FROM $3::bigint
                                 AND address IS NOT DISTINCT FROM $4::text
            """, [submission, kind.rawValue, owner, owner == nil ? address : nil]).first?.string("id")
    }

    public func submit(kind: Job.Kind, owner: Int64?, address: String?, requestID: String, parameters: Data,
                       inputs: [JobInput], limits: JobLimits, submission: String?, now: Date) throws -> String {
        try database.transaction { c in
            // One submitter of this kind at a time counts and inserts, on every node.
            try c.execute("SELECT pg_advisory_xact_lock(hashtext('artworker.jobs.' || $1))", [kind.rawValue])
            var token = submission.flatMap { JobRules.isToken($0) ? $0 : nil }
            if let given = token {
                if let earlier = try Self.submitted(c, given, kind: kind, owner: owner, address: address) { return earlier }
                // A token another submitter used (copied into a form by hand) is not kept.
                if try c.execute("SELECT 1 FROM job WHERE submission = $1", [given]).first != nil { token = nil }
            }
            try Self.checkRoom(c, kind: kind, owner: owner, address: address, limits: limits)
            let id = JobRules.newID()
            try c.execute("""
                INSERT INTO job (id, kind, owner_id, address, request_id, parameters, state, created_at, submission)
                VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8)
                """, [id, kind.rawValue, owner, owner == nil ? address : nil, requestID, String(decoding: parameters, as: UTF8.self), now, token])
            for (position, input) in inputs.enumerated() {
                try c.execute("INSERT INTO job_input (job_id, position, name, bytes) VALUES ($1, $2, $3, $4)",
                              [id, position, input.name, input.bytes])
            }
            // Delivered at commit, to the workers listening: a hint only (they poll anyway).
            try c.execute("SELECT pg_notify($1, $2)", [Self.channel, kind.rawValue])
            return id
        }
    }

    // MARK: Working

    public func claim(kinds: [Job.Kind], now: Date) throws -> JobLease? {
        let kindList = PostgresArray.text(kinds.map(\.rawValue))
        let expired = try database.execute("SELECT 1 FROM job WHERE state = 'running' AND lease_expires_at < $1 LIMIT 1", [now]).first != nil
        if expired {
            let recovered = try recoverExpired(now: now)
            if recovered > 0 { settings.leasesExpired?(recovered) }
        }
        let token = JobRules.newID()
        // SKIP LOCKED: a row another worker is claiming right now is passed over, not waited on.
        guard let row = try database.execute("""
            UPDATE job SET state = 'running', lease = $2, lease_expires_at = $3, attempts = attempts + 1, progress = 0,
                           started_at = coalesce(started_at, $4)
            WHERE id = (SELECT id FROM job WHERE kind = ANY($1::text[]) AND state = 'queued'
                        ORDER BY created_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING *
            """, [kindList, token, now.addingTimeInterval(leaseDuration), now]).first else { return nil }
        return JobLease(job: try Job(postgres: row), token: token)
    }

    public func recoverExpired(now: Date) throws -> Int {
        try database.transaction { c in
            let expired = "state = 'running' AND lease_expires_at < $1"
            let finished = "lease = NULL, lease_expires_at = NULL, finished_at = $1"
            var count = try c.execute("UPDATE job SET state = 'cancelled', \(finished) WHERE \(expired) AND cancel_requested", [now]).affected
            count += try c.execute("""
                UPDATE job SET state = 'failed', error = $2, error_message = $3, \(finished) WHERE \(expired) AND attempts >= $4
                """, [now, JobRules.interruptedSentence(maxAttempts), JobRules.interruptedMessage(maxAttempts), maxAttempts]).affected
            count += try c.execute("UPDATE job SET state = 'queued', lease = NULL, lease_expires_at = NULL, progress = 0 WHERE \(expired)",
                                   [now]).affected
            return count
        }
    }

    public func inputs(of jobID: String) throws -> [JobInput] {
        try database.execute("SELECT name, bytes FROM job_input WHERE job_id = $1 ORDER BY position", [jobID]).all
            .map { JobInput(name: try $0.string("name"), bytes: try $0.data("bytes")) }
    }

    public func renew(_ lease: JobLease, progress: Double, now: Date) throws -> JobLeaseState {
        let row = try database.execute("""
            UPDATE job SET lease_expires_at = $1, progress = greatest(progress, $2)
            WHERE id = $3 AND lease = $4 AND state = 'running'
            RETURNING cancel_requested
            """, [now.addingTimeInterval(leaseDuration), min(max(progress, 0), 1), lease.job.id, lease.token]).first
        return try row.map { .held(cancelRequested: try $0.bool("cancel_requested")) } ?? .lost
    }

    @discardableResult
    public func finish(_ lease: JobLease, _ outcome: JobOutcome, now: Date) throws -> Bool {
        // Pictures' bytes go to the object store before the transaction (not holding the row
        // lock meanwhile): if the fence below refuses, no row names them and the sweep removes them.
        if case let .images(images) = outcome { try Blobs.upload(images, to: blobs) }
        return try database.transaction { c in
            let (state, error, message, results) = outcome.ending
            // The fence: this UPDATE matches only while the token is ours (and locks the row
            // until commit). Results are written after it, in the same transaction.
            guard try c.execute("""
                UPDATE job SET state = $1, error = $2, error_message = $3, results = $4::jsonb,
                               progress = CASE WHEN $1 = 'done' THEN 1 ELSE progress END,
                               lease = NULL, lease_expires_at = NULL, finished_at = $5
                WHERE id = $6 AND lease = $7 AND state = 'running'
                """, [state.rawValue, error, message, JobRules.resultsJSON(results), now, lease.job.id, lease.token]).affected == 1
            else { return false }
            switch outcome {
            case let .images(images): try PostgresImageStore.insert(images, on: c, inObjectStore: blobs != nil)
            case let .movie(movie): try PostgresMovieStore.insert(movie, now: now, on: c)
            case .failed, .cancelled: break
            }
            return true // the inputs went with the state change (trigger job_ended)
        }
    }

    public func release(_ lease: JobLease, now: Date) throws {
        try database.execute("""
            UPDATE job SET state = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'queued' END,
                           finished_at = CASE WHEN cancel_requested THEN $1::timestamptz END,
                           attempts = greatest(attempts - 1, 0), progress = 0, lease = NULL, lease_expires_at = NULL
            WHERE id = $2 AND lease = $3 AND state = 'running'
            """, [now, lease.job.id, lease.token])
    }

    // MARK: Reading and cancelling

    public func find(id: String, viewer: Int64?) throws -> Job? {
        try database.execute("SELECT * FROM job WHERE id = $1 AND (owner_id IS NULL OR owner_id = $2)", [id, viewer])
            .first.map(Job.init(postgres:))
    }

    public func standing(of job: Job) throws -> JobStanding {
        let row = try database.execute("""
            SELECT (SELECT count(*) FROM job AS other WHERE other.kind = $1 AND other.state = 'queued'
                        AND (other.created_at, other.seq) < (job.created_at, job.seq)) AS ahead,
                   (SELECT count(*) FROM job AS other WHERE other.kind = $1 AND other.state = 'running') AS running,
                   (SELECT count(*) FROM job_input WHERE job_id = job.id)
                       * greatest(1, CASE jsonb_typeof(job.parameters::jsonb -> 'styles')
                                     WHEN 'array' THEN jsonb_array_length(job.parameters::jsonb -> 'styles') ELSE 1 END) AS units
            FROM job WHERE job.id = $2
            """, [job.kind.rawValue, job.id]).first
        let runs = try database.execute("""
            SELECT extract(epoch FROM finished_at - started_at)::float8 / greatest(1, jsonb_array_length(results)) AS seconds FROM job
            WHERE kind = $1 AND state = 'done' AND started_at IS NOT NULL ORDER BY finished_at DESC LIMIT 20
            """, [job.kind.rawValue]).all.map { try $0.double("seconds") }
        let ahead = job.state == .queued ? try row?.int("ahead") ?? 0 : 0
        let units = job.kind == .conversion ? try row?.int("units") ?? 1 : 1
        return JobStanding(ahead: ahead, running: try row?.int("running") ?? 0, runs: runs, units: units)
    }

    public func cancel(id: String, viewer: Int64?, now: Date) throws -> JobCancelResult? {
        try database.transaction { c in
            guard let row = try c.execute("SELECT state FROM job WHERE id = $1 AND (owner_id IS NULL OR owner_id = $2) FOR UPDATE",
                                          [id, viewer]).first,
                  let state = Job.State(rawValue: try row.string("state")) else { return nil }
            switch state {
            case .queued:
                try c.execute("UPDATE job SET state = 'cancelled', finished_at = $1 WHERE id = $2", [now, id])
                return .cancelled
            case .running:
                try c.execute("UPDATE job SET cancel_requested = true WHERE id = $1", [id])
                return .requested
            case .done, .failed, .cancelled:
                return .alreadyFinished(state)
            }
        }
    }

    public func purge(finishedBefore cutoff: Date) throws -> Int {
        try database.execute("DELETE FROM job WHERE finished_at < $1", [cutoff]).affected
    }

    public func counts() throws -> [Job.Kind: [Job.State: Int]] {
        var counts: [Job.Kind: [Job.State: Int]] = [:]
        for row in try database.execute("SELECT kind, state, count(*) AS n FROM job GROUP BY kind, state").all {
            guard let kind = Job.Kind(rawValue: try row.string("kind")), let state = Job.State(rawValue: try row.string("state")) else { continue }
            counts[kind, default: [:]][state] = try row.int("n")
        }
        return counts
    }

    public func orphanedInputs() throws -> Int {
        try database.execute("""
            SELECT count(*) AS n FROM job_input WHERE job_id NOT IN (SELECT id FROM job WHERE \(Self.waiting))
            """).first?.int("n") ?? 0
    }
}
