import Foundation
import Localization
import StorageCore

/// A job's failure worded for the person who asked for it (a frame that cannot be read, say).
/// Any other error a job throws is unexpected: its details go to the log, and the person sees a
/// general sentence with the request id to quote.
struct JobFailure: Error, CustomStringConvertible {
    let message: Message
    init(_ message: Message) { self.message = message }
    var description: String { message.description }
}

/// One kind of job (conversions, movie analyses) as the web side sees it: submit, look at,
/// cancel. The jobs themselves are rows (`JobStore`), run by `JobWorker`s in this process or
/// in `artworker worker` processes; a full queue and too many of one member's (or one visitor
/// address's) are refusals that say when to try again.
struct JobQueue: Sendable {
    typealias Status = Job.State

    /// What a job page and the API show of a job.
    struct Snapshot: Sendable, Equatable {
        var id: String
        var owner: Int64?
        var status: Status
        var progress: Double
        var resultIDs: [String]
        /// Why it failed, in English; `reason` says it in any language.
        var error: String?
        var reason: Message?
        /// While queued: jobs of its kind ahead of it.
        var ahead: Int?
        /// While waiting: about how many seconds until it is done; nil when there is nothing
        /// to go by yet (no run of its kind has finished, or it has only just started).
        var estimate: TimeInterval?

        var waiting: Bool { status == .queued || status == .running }

        init(_ job: Job) {
            id = job.id
            owner = job.ownerID
            status = job.state
            progress = job.progress
            resultIDs = job.results
            error = job.error
            reason = job.errorMessage.flatMap(Message.init(json:)) ?? job.error.map(Message.verbatim)
        }

        /// A job in a state, with nothing else known (for the estimate's arithmetic).
        init(id: String, status: Status, progress: Double) {
            self.id = id
            owner = nil
            self.status = status
            self.progress = progress
            resultIDs = []
        }

        /// Why it failed, in `language`.
        func error(in language: Language) -> String? { reason?.text(in: language) ?? error }

        /// Fills in `ahead` and `estimate`. Running: the time it has taken so far, scaled by
        /// its progress. Queued: the jobs ahead shared among the jobs running now (about the
        /// number of workers), each taking the recent median per result, then its own results.
        mutating func estimate(_ standing: JobStanding, startedAt: Date?, now: Date = Date()) {
            let own = Double(standing.units)
            switch status {
            case .queued:
                ahead = standing.ahead
                estimate = standing.typicalRun.map { typical in
                    (Double(standing.ahead) / Double(max(1, standing.running)) + own) * typical
                }
            case .running:
                if let startedAt, progress >= 0.05 {
                    estimate = now.timeIntervalSince(startedAt) * (1 - progress) / progress
                } else {
                    estimate = standing.typicalRun.map { $0 * own * (1 - progress) }
                }
            default:
                break
            }
        }

        /// "About 20 seconds left", "About 3 minutes left" (rounded up to 5 s, then to minutes).
        func estimateText(in language: Language) -> String? {
            guard let estimate else { return nil }
            let seconds = max(5, Int((estimate / 5).rounded(.up)) * 5)
            return seconds < 90 ? Message("job.estimate_seconds", ["n": .number(seconds)]).text(in: language)
                : Message("job.estimate_minutes", ["n": .number(Int((Double(seconds) / 60).rounded()))]).text(in: language)
        }

        /// "2 conversions are ahead of yours", "Yours is next".
        func aheadText(in language: Language, kind: Job.Kind) -> String? {
            guard let ahead else { return nil }
            return ahead == 0 ? Message("job.next").text(in: language)
                : Message(kind == .conversion ? "job.ahead.conversion" : "job.ahead.movie", ["count": .number(ahead)]).text(in: language)
        }
    }

    let store: JobStore
    let kind: Job.Kind
    let limits: JobLimits
    /// Wakes this process's idle workers after a submit (others find the job by polling).
    var nudge: @Sendable () -> Void = {}

    /// The store's refusal in words.
    func refusal(_ refusal: JobRefusal) -> Refusal {
        switch refusal {
        case .full:
            Refusal(.busy(retryAfter: 30), kind == .conversion ? "queue.full.conversion" : "queue.full.movie")
        case let .tooManyOfYours(limit):
            Refusal(.tooMany(retryAfter: 10), kind == .conversion ? "queue.yours.conversion" : "queue.yours.movie", ["limit": .number(limit)])
        }
    }

    /// Throws the refusal `submit` would give now (full, or too many of this member's or this
    /// address's): asked *before* a request's photos are decoded, so a full queue costs
    /// no decoding. `submit` counts again, inside the transaction that adds the job.
    func checkRoom(owner: Int64?, address: String?) throws {
        do {
            try store.checkRoom(kind: kind, owner: owner, address: address, limits: limits)
        } catch let refused as JobRefusal {
            throw refusal(refused)
        }
    }

    /// Queues a job (row and inputs committed to disk before this returns); returns its id.
    func submit<Parameters: Encodable>(owner: Int64?, address: String?, requestID: String, parameters: Parameters,
                                       inputs: [JobInput], submission: String? = nil) throws -> String {
        let id: String
        do {
            id = try store.submit(kind: kind, owner: owner, address: address, requestID: requestID,
                                  parameters: try JSONEncoder().encode(parameters), inputs: inputs, limits: limits,
                                  submission: submission)
        } catch let refused as JobRefusal {
            throw refusal(refused)
        }
        nudge()
        return id
    }

    /// The job an earlier POST of the same form queued (see JobStore.submitted).
    func submitted(_ submission: String?, owner: Int64?, address: String?) throws -> String? {
        try store.submitted(submission, kind: kind, owner: owner, address: address)
    }

    /// The job as `viewer` sees it; nil if unknown, forgotten, of another kind or someone else's.
    func snapshot(id: String, viewer: Int64?) throws -> Snapshot? {
        guard let job = try store.find(id: id, viewer: viewer), job.kind == kind else { return nil }
        var snapshot = Snapshot(job)
        if job.isWaiting { snapshot.estimate(try store.standing(of: job), startedAt: job.startedAt) }
        return snapshot
    }

    /// Cancels a queued or running job; false if unknown, someone else's, or already finished.
    func cancel(id: String, viewer: Int64?) throws -> Bool {
        guard try snapshot(id: id, viewer: viewer) != nil else { return false }
        switch try store.cancel(id: id, viewer: viewer) {
        case .cancelled, .requested: return true
        case .alreadyFinished, nil: return false
        }
    }

    /// What a user reads when a job failed on our side.
    static func unexpected(requestID: String) -> Message {
        Message("job.unexpected", ["requestID": .text(requestID.isEmpty ? "(none)" : requestID)])
    }
}
