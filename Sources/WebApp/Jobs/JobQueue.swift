import Auth
import Dispatch
import Foundation
import HTTPServer
import Logging
import Synchronization

/// A job's failure worded for the person who asked for it (a frame that cannot be read, say).
/// Any other error a job throws is unexpected: its details go to the log, and the person sees a
/// general sentence with the request id to quote.
struct JobFailure: Error, CustomStringConvertible {
    let description: String
}

/// Long work as jobs (conversions; a movie's frame analysis on a queue of its own): queued,
/// then run one at a time on a dedicated thread (one inference uses every core; two would only
/// slow each other), never on a connection thread. Bounded in total and per member; a full
/// queue is 503, too many of one member's is 429.
final class JobQueue: Sendable {
    enum Status: String, Sendable, Codable { case queued, running, done, failed, cancelled }

    struct Snapshot: Sendable, Equatable {
        var id: String
        var owner: Int64?
        var status: Status
        var progress: Double
        var resultIDs: [String]
        var error: String?

        var waiting: Bool { status == .queued || status == .running }
    }

    /// What a job does: given progress and cancellation hooks, produce the ids of what it made
    /// (images, or a movie), or throw. Only a `JobFailure`'s sentence is shown to the user.
    typealias Work = @Sendable (_ progress: @escaping @Sendable (Double) -> Void, _ isCancelled: @escaping @Sendable () -> Bool) throws -> [String]

    final class Job: Sendable {
        let id: String
        let owner: Int64?
        /// The submitter's network address: anonymous visitors are limited per address.
        let address: String?
        /// The id of the request that submitted it: what a user quotes, what the log records.
        let requestID: String
        let work: Work
        let state: Mutex<Snapshot>
        let cancelRequested = Atomic<Bool>(false)

        init(id: String, owner: Int64?, address: String?, requestID: String, work: @escaping Work) {
            self.id = id
            self.owner = owner
            self.address = address
            self.requestID = requestID
            self.work = work
            state = Mutex(Snapshot(id: id, owner: owner, status: .queued, progress: 0, resultIDs: [], error: nil))
        }
    }

    let maxQueued: Int
    let maxPerMember: Int
    /// Finished jobs are remembered this long (their results live in the database regardless).
    let retention: TimeInterval
    private let jobs = Mutex<(all: [String: Job], order: [String], finishedAt: [String: Date])>(([:], [], [:]))
    private let runner: DispatchQueue // serial: one at a time
    /// What the jobs are, in messages: "conversions", "movie analyses".
    let noun: String
    let logger: Logger

    init(maxQueued: Int = 16, maxPerMember: Int = 3, retention: TimeInterval = 3600, noun: String = "conversions",
         logger: Logger = Logger(label: "artworker.jobs")) {
        self.logger = logger
        self.maxQueued = maxQueued
        self.maxPerMember = maxPerMember
        self.retention = retention
        self.noun = noun
        runner = DispatchQueue(label: "artworker." + noun.replacingOccurrences(of: " ", with: "-"))
    }

    /// Queues `work`; returns the new job's id. Members are limited by account, anonymous
    /// visitors by `address`.
    func submit(owner: Int64?, address: String? = nil, requestID: String = "", work: @escaping Work) throws -> String {
        let job = Job(id: JWTSigner.randomID(), owner: owner, address: address, requestID: requestID, work: work)
        try jobs.withLock { table in
            try checkRoom(&table, owner: owner, address: address)
            table.all[job.id] = job
            table.order.append(job.id)
        }
        runner.async { [self] in run(job) }
        return job.id
    }

    /// Throws the refusal `submit` would give now (503 full, 429 too many of this member's or
    /// this address's): asked *before* a request's photos are decoded, so a full queue costs
    /// no decoding. `submit` checks again, under the same lock as it adds.
    func checkRoom(owner: Int64?, address: String?) throws {
        try jobs.withLock { table in try checkRoom(&table, owner: owner, address: address) }
    }

    private func checkRoom(_ table: inout (all: [String: Job], order: [String], finishedAt: [String: Date]),
                           owner: Int64?, address: String?) throws {
        forgetOld(&table)
        let waiting = table.all.values.filter { [.queued, .running].contains($0.state.withLock { $0.status }) }
        guard waiting.count < maxQueued else {
            throw HTTPError(.serviceUnavailable, "Too many \(noun) are waiting; try again in a minute.", headers: ["Retry-After": "30"])
        }
        let mine = waiting.filter { owner != nil ? $0.owner == owner : ($0.owner == nil && address != nil && $0.address == address) }
        if mine.count >= maxPerMember {
            throw HTTPError(.tooManyRequests, "You already have \(maxPerMember) \(noun) waiting; wait for one to finish.",
                            headers: ["Retry-After": "10"])
        }
    }

    private func run(_ job: Job) {
        let proceed = job.state.withLock { snapshot -> Bool in
            guard snapshot.status == .queued else { return false } // cancelled while waiting
            snapshot.status = .running
            return true
        }
        guard proceed else { return }
        do {
            let ids = try job.work({ fraction in
                job.state.withLock { $0.progress = max($0.progress, min(fraction, 1)) } // never goes backwards
            }, { job.cancelRequested.load(ordering: .relaxed) })
            finish(job, status: .done, resultIDs: ids)
        } catch {
            if job.cancelRequested.load(ordering: .relaxed) {
                finish(job, status: .cancelled)
            } else if let failure = error as? JobFailure {
                logger.notice("job refused its input", metadata: ["job": "\(job.id)", "id": "\(job.requestID)", "reason": "\(failure)"])
                finish(job, status: .failed, error: failure.description)
            } else {
                // Database or model errors name files and tables: for the log only.
                logger.error("job failed", metadata: ["job": "\(job.id)", "id": "\(job.requestID)", "kind": "\(noun)", "error": "\(error)"])
                finish(job, status: .failed, error: Self.unexpected(requestID: job.requestID))
            }
        }
    }

    /// What a user reads when a job failed on our side.
    static func unexpected(requestID: String) -> String {
        "Something went wrong on our side and nothing was saved. Please try again; if it happens again, quote request id "
            + (requestID.isEmpty ? "(none)" : requestID) + "."
    }

    private func finish(_ job: Job, status: Status, resultIDs: [String] = [], error: String? = nil) {
        job.state.withLock { snapshot in
            snapshot.status = status
            snapshot.resultIDs = resultIDs
            snapshot.error = error
            if status == .done { snapshot.progress = 1 }
        }
        jobs.withLock { $0.finishedAt[job.id] = Date() }
    }

    /// The job as its owner sees it; nil if unknown or someone else's.
    func snapshot(id: String, viewer: Int64?) -> Snapshot? {
        guard let job = jobs.withLock({ $0.all[id] }), job.owner == nil || job.owner == viewer else { return nil }
        return job.state.withLock { $0 }
    }

    /// Cancels a queued or running job; false if unknown, someone else's, or already finished.
    func cancel(id: String, viewer: Int64?) -> Bool {
        guard let job = jobs.withLock({ $0.all[id] }), job.owner == nil || job.owner == viewer else { return false }
        job.cancelRequested.store(true, ordering: .relaxed)
        let wasQueued = job.state.withLock { snapshot -> Bool? in
            switch snapshot.status {
            case .queued: snapshot.status = .cancelled; return true
            case .running: return false
            default: return nil
            }
        }
        if wasQueued == true { jobs.withLock { $0.finishedAt[id] = Date() } }
        return wasQueued != nil
    }

    private func forgetOld(_ table: inout (all: [String: Job], order: [String], finishedAt: [String: Date])) {
        let now = Date()
        for (id, finished) in table.finishedAt where now.timeIntervalSince(finished) > retention {
            table.all[id] = nil
            table.finishedAt[id] = nil
        }
        table.order.removeAll { table.all[$0] == nil }
    }
}
