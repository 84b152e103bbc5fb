import Foundation

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

    public init(id: String, kind: Kind, ownerID: Int64?, address: String?, requestID: String, parameters: Data, state: State,
                progress: Double, attempts: Int, cancelRequested: Bool, error: String?, errorMessage: String?, results: [String],
                createdAt: Date, startedAt: Date?, finishedAt: Date?) {
        (self.id, self.kind, self.ownerID, self.address, self.requestID) = (id, kind, ownerID, address, requestID)
        (self.parameters, self.state, self.progress, self.attempts) = (parameters, state, progress, attempts)
        (self.cancelRequested, self.error, self.errorMessage, self.results) = (cancelRequested, error, errorMessage, results)
        (self.createdAt, self.startedAt, self.finishedAt) = (createdAt, startedAt, finishedAt)
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

    public init(job: Job, token: String) {
        self.job = job
        self.token = token
    }
}

/// How one process holds the jobs it claims.
public struct JobSettings: Sendable {
    /// How long a claim holds without renewal; a dead worker's job waits this long at most.
    public var leaseDuration: TimeInterval
    /// Claims a job may use up (each interrupted run costs one) before it fails for good.
    public var maxAttempts: Int
    /// Told how many leases a claim found run out (metrics).
    public var leasesExpired: (@Sendable (Int) -> Void)?

    public init(leaseDuration: TimeInterval = 15, maxAttempts: Int = 3, leasesExpired: (@Sendable (Int) -> Void)? = nil) {
        self.leaseDuration = leaseDuration
        self.maxAttempts = maxAttempts
        self.leasesExpired = leasesExpired
    }
}

/// Waiting jobs (queued or running) allowed in all, and per member or visitor address.
public struct JobLimits: Sendable {
    public var waiting: Int
    public var perSubmitter: Int
    public init(waiting: Int, perSubmitter: Int) {
        self.waiting = waiting
        self.perSubmitter = perSubmitter
    }
}

public enum JobRefusal: Error, Sendable, Equatable {
    /// Too many jobs of this kind are waiting.
    case full
    /// This member (or visitor address) already has `perSubmitter` waiting.
    case tooManyOfYours(Int)
}

public enum JobLeaseState: Sendable, Equatable {
    case held(cancelRequested: Bool)
    /// The lease ran out and someone else holds the job now, or it ended: stop, store nothing.
    case lost
}

/// How a run ended, with what it made.
public enum JobOutcome: Sendable {
    case images([Image])
    case movie(NewMovie)
    /// A sentence for the owner: their input was refused, or something went wrong (with the
    /// request id to quote); in English, and as the app's catalog message (JSON).
    case failed(String, message: String? = nil)
    case cancelled

    /// The job's final state, error texts and result ids for this outcome.
    public var ending: (state: Job.State, error: String?, message: String?, results: [String]) {
        switch self {
        case let .images(images): (.done, nil, nil, images.map(\.id))
        case let .movie(movie): (.done, nil, nil, [movie.id])
        case let .failed(sentence, message): (.failed, sentence, message, [])
        case .cancelled: (.cancelled, nil, nil, [])
        }
    }
}

/// Where a waiting job stands: jobs of its kind queued before it, jobs of its kind running
/// now (about how many workers there are), how long recent runs of its kind took per
/// result, and how many results this one will make.
public struct JobStanding: Sendable, Equatable {
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

    /// `runs`: the recent per-result run times, in any order.
    public init(ahead: Int, running: Int, runs: [Double], units: Int) {
        let sorted = runs.sorted()
        self.init(ahead: ahead, running: running, typicalRun: sorted.isEmpty ? nil : sorted[sorted.count / 2], units: max(1, units))
    }
}

public enum JobCancelResult: Sendable, Equatable {
    /// It had not started: it never will.
    case cancelled
    /// It is running: its worker stops at the next step and stores nothing.
    case requested
    /// It had already ended in this state.
    case alreadyFinished(Job.State)
}

/// The queue, shared by every process that opens the same database.
///
/// - Submitting writes the job and its inputs in one transaction, after counting the waiting
///   jobs inside it under a lock, so limits hold across processes; the commit is durable
///   before the caller answers 202.
/// - A worker claims the oldest queued job, taking a lease: a random token and an expiry it
///   renews while it works. A job whose lease ran out (its worker died or hung) goes back to
///   the queue, or fails after `maxAttempts` claims.
/// - Finishing stores the results and the job's new state in one transaction that first checks
///   the token is still the job's: a worker that lost its lease can never store anything.
public protocol JobStore: Sendable {
    var settings: JobSettings { get set }

    /// Throws the refusal `submit` would give now; a cheap read asked before decoding uploads.
    func checkRoom(kind: Job.Kind, owner: Int64?, address: String?, limits: JobLimits) throws
    /// The job a form with this token already queued for the same member (or visitor
    /// address), if any.
    func submitted(_ submission: String?, kind: Job.Kind, owner: Int64?, address: String?) throws -> String?
    /// Queues a job with its inputs (one transaction, limits counted inside it); returns its id.
    /// When a form token (`submission`) already queued a job for the same submitter, that job's
    /// id comes back and nothing is added.
    func submit(kind: Job.Kind, owner: Int64?, address: String?, requestID: String, parameters: Data,
                inputs: [JobInput], limits: JobLimits, submission: String?, now: Date) throws -> String
    /// Takes the oldest queued job of these kinds, or nil when there is none. Jobs whose lease
    /// ran out are put back (or failed) first.
    func claim(kinds: [Job.Kind], now: Date) throws -> JobLease?
    /// Running jobs whose lease ran out: cancelled if their owner asked, failed after
    /// `maxAttempts` claims, otherwise queued again. Returns how many leases had run out.
    func recoverExpired(now: Date) throws -> Int
    /// A running job's uploads, in the order they were sent.
    func inputs(of jobID: String) throws -> [JobInput]
    /// Pushes the lease's expiry forward and records progress (which never goes back).
    func renew(_ lease: JobLease, progress: Double, now: Date) throws -> JobLeaseState
    /// Stores the outcome and the job's final state in one transaction, only while `lease` is
    /// still the job's; returns false (storing nothing) when it is not.
    @discardableResult
    func finish(_ lease: JobLease, _ outcome: JobOutcome, now: Date) throws -> Bool
    /// Puts a job back in the queue without counting the attempt: its worker is stopping
    /// (SIGTERM) and gives it to another. A cancel asked meanwhile is honoured.
    func release(_ lease: JobLease, now: Date) throws
    /// The job as `viewer` may see it: a member's jobs by that member only; a visitor's by
    /// whoever has its (unguessable) id.
    func find(id: String, viewer: Int64?) throws -> Job?
    func standing(of job: Job) throws -> JobStanding
    /// Cancels a job `viewer` may see; nil when there is no such job for them.
    func cancel(id: String, viewer: Int64?, now: Date) throws -> JobCancelResult?
    /// Forgets jobs that ended before `cutoff` (their results stay); returns how many.
    func purge(finishedBefore cutoff: Date) throws -> Int
    /// Jobs by kind and state (for /metrics and tests).
    func counts() throws -> [Job.Kind: [Job.State: Int]]
    /// Inputs still stored for jobs that have ended (always 0 unless something is wrong).
    func orphanedInputs() throws -> Int
}

extension JobStore {
    public typealias Limits = JobLimits
    public typealias Refusal = JobRefusal
    public typealias LeaseState = JobLeaseState
    public typealias Outcome = JobOutcome
    public typealias Standing = JobStanding
    public typealias CancelResult = JobCancelResult

    public var leaseDuration: TimeInterval { settings.leaseDuration }
    public var maxAttempts: Int { settings.maxAttempts }

    public func submit(kind: Job.Kind, owner: Int64?, address: String?, requestID: String, parameters: Data,
                       inputs: [JobInput], limits: JobLimits, submission: String? = nil, now: Date = Date()) throws -> String {
        try submit(kind: kind, owner: owner, address: address, requestID: requestID, parameters: parameters, inputs: inputs,
                   limits: limits, submission: submission, now: now)
    }
    public func claim(kinds: [Job.Kind]) throws -> JobLease? { try claim(kinds: kinds, now: Date()) }
    public func recoverExpired() throws -> Int { try recoverExpired(now: Date()) }
    public func renew(_ lease: JobLease, progress: Double) throws -> JobLeaseState { try renew(lease, progress: progress, now: Date()) }
    @discardableResult
    public func finish(_ lease: JobLease, _ outcome: JobOutcome) throws -> Bool { try finish(lease, outcome, now: Date()) }
    public func release(_ lease: JobLease) throws { try release(lease, now: Date()) }
    public func cancel(id: String, viewer: Int64?) throws -> JobCancelResult? { try cancel(id: id, viewer: viewer, now: Date()) }
}

/// The queue's rules that do not depend on the backend.
public enum JobRules {
    public static func newID() -> String { Image.newID() }

    /// The sentence a job gets when its runs kept being cut short.
    public static func interruptedSentence(_ attempts: Int) -> String {
        "This job was interrupted \(attempts) times (the worker running it stopped) and will not be tried again. Please submit it once more."
    }

    /// The same, as the app's catalog message ("job.interrupted" in Sources/Localization).
    public static func interruptedMessage(_ attempts: Int) -> String {
        #"{"key":"job.interrupted","arguments":{"attempts":\#(attempts)}}"#
    }

    /// A form token as the forms make them (`newID`: base64url); anything else is ignored.
    public static func isToken(_ text: String) -> Bool {
        (16...64).contains(text.utf8.count) && text.utf8.allSatisfy {
            $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
        }
    }

    /// The submitter key a job is counted under: a member, else a visitor's address.
    public static func address(owner: Int64?, address: String?) -> String? { owner == nil ? address : nil }

    /// The results list as stored (JSON).
    public static func resultsJSON(_ results: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(results)) ?? Data("[]".utf8), as: UTF8.self)
    }

    public static func results(_ json: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? []
    }
}
