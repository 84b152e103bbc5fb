import CMalloc
import Dispatch
import Foundation
import Kernels
import Logging
import StorageCore
import Synchronization

/// Runs jobs of some kinds from the job table, one at a time, on a thread of its own (one
/// inference already uses every thread it is given; two in one worker would only slow each
/// other). Several workers, in this process or in others, share the table safely: claims are
/// atomic and finishing is fenced by the lease (see `JobStore`).
///
/// While a job runs, a heartbeat renews the lease and writes progress every `heartbeat`
/// seconds, and learns whether the owner asked to cancel. The job sees all of that through
/// `isCancelled`, checked between layers.
final class JobWorker: Sendable {
    /// Runs one job: its parameters and inputs in, what it made out. Only a `JobFailure`'s
    /// sentence is shown to the owner.
    typealias Execute = @Sendable (_ job: Job, _ inputs: [JobInput], _ progress: @escaping @Sendable (Double) -> Void,
                                   _ isCancelled: @escaping @Sendable () -> Bool) throws -> JobOutcome

    let store: JobStore
    let kinds: [Job.Kind]
    let execute: Execute
    let logger: Logger
    /// How long an idle worker sleeps between looks at the table (a submit in this process
    /// wakes it at once).
    let pollInterval: TimeInterval
    let heartbeat: TimeInterval
    let name: String
    let metrics: AppMetrics?

    private let wake = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let started = Atomic<Bool>(false)

    init(store: JobStore, kinds: [Job.Kind], name: String, logger: Logger, pollInterval: TimeInterval = 0.25,
         metrics: AppMetrics? = nil, execute: @escaping Execute) {
        self.store = store
        self.metrics = metrics
        self.kinds = kinds
        self.execute = execute
        self.logger = logger
        self.pollInterval = pollInterval
        self.name = name
        // Renewing four times per lease keeps it alive through a few slow writes.
        heartbeat = min(1, store.leaseDuration / 4)
    }

    func start() {
        guard !started.exchange(true, ordering: .relaxed) else { return }
        let thread = Thread { [self] in loop() }
        thread.name = name
        thread.start()
    }

    /// Asks a waiting worker to look at the table now.
    func nudge() { wake.signal() }

    /// Stops taking jobs; the job in hand stops at its next step and goes back to the queue
    /// for another worker (its attempt not counted), unless it finishes first. Returns when
    /// the worker has let go of it.
    func stop() {
        stopSoon()
        if started.load(ordering: .relaxed) { finished.wait() }
    }

    /// Tells the worker to stop without waiting for it.
    func stopSoon() {
        stopping.store(true, ordering: .relaxed)
        wake.signal()
    }

    private func loop() {
        // A job's own thread runs kernels too (it takes chunks of their loops): it yields to
        // request handling like the kernels' threads (JobWorkers.niceness).
        ComputeThreads.shared.lowerPriorityOfCurrentThread()
        while !stopping.load(ordering: .relaxed) {
            let lease: JobLease?
            do {
                lease = try store.claim(kinds: kinds)
            } catch {
                logger.error("could not claim a job", metadata: ["worker": "\(name)", "error": "\(error)"])
                lease = nil
            }
            if let lease {
                run(lease)
            } else {
                _ = wake.wait(timeout: .now() + pollInterval)
            }
        }
        finished.signal()
    }

    private func run(_ lease: JobLease) {
        let job = lease.job
        let metadata: Logger.Metadata = ["worker": "\(name)", "job": "\(job.id)", "kind": "\(job.kind.rawValue)",
                                         "id": "\(job.requestID)", "attempt": "\(job.attempts)"]
        logger.info("job started", metadata: metadata)
        metrics?.jobClaimed(job)
        let began = Date()
        let flags = RunFlags()
        var ended = "lost" // how the run ended, for metrics: done, failed, cancelled, released or lost
        defer {
            metrics?.jobRan(job, outcome: ended, seconds: Date().timeIntervalSince(began))
            // A job frees tens of MB in blocks below glibc's mmap threshold (photos, tensors,
            // encoders' buffers) that the heap would keep, scattered between blocks in use, in
            // the arena of each thread that freed them: an idle server held ~25 MB more.
            // `malloc_trim` hands the free pages of every arena back.
            _ = malloc_trim(0)
        }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "artworker.heartbeat"))
        timer.schedule(deadline: .now() + heartbeat, repeating: heartbeat, leeway: .milliseconds(100))
        timer.setEventHandler { [store, logger] in
            do {
                switch try store.renew(lease, progress: flags.progress.withLock { $0 }) {
                case let .held(cancel): if cancel { flags.cancelRequested.store(true, ordering: .relaxed) }
                case .lost: flags.lost.store(true, ordering: .relaxed)
                }
            } catch {
                // The lease lasts several heartbeats: one failed write is not yet a lost job.
                logger.warning("could not renew a job's lease", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            }
        }
        timer.resume()
        let isCancelled: @Sendable () -> Bool = { [self] in
            flags.cancelRequested.load(ordering: .relaxed) || flags.lost.load(ordering: .relaxed) || stopping.load(ordering: .relaxed)
        }
        var outcome: JobOutcome?
        do {
            let inputs = try store.inputs(of: job.id)
            outcome = try execute(job, inputs, { fraction in flags.progress.withLock { $0 = max($0, min(fraction, 1)) } }, isCancelled)
        } catch {
            if isCancelled() {
                outcome = nil // decided below
            } else if error is StorageUnavailable {
                // The database went away (reading the inputs): not the job's fault. It goes
                // back to the queue below, or, if the database is still away, when its lease
                // runs out.
                logger.warning("the database went away during a job; it will run again", metadata: metadata)
                outcome = nil
            } else if let failure = error as? JobFailure {
                logger.notice("job refused its input", metadata: metadata.merging(["reason": "\(failure)"]) { $1 })
                outcome = .failed(failure.description, message: failure.message.json)
            } else {
                // Database or model errors name files and tables: for the log only.
                logger.error("job failed", metadata: metadata.merging(["error": "\(error)"]) { $1 })
                let message = JobQueue.unexpected(requestID: job.requestID)
                outcome = .failed(message.description, message: message.json)
            }
        }
        timer.cancel()
        if outcome == nil, !flags.lost.load(ordering: .relaxed) {
            if flags.cancelRequested.load(ordering: .relaxed) {
                outcome = .cancelled
            } else {
                // Stopping, or the database went away: the job goes back to the queue.
                do {
                    try store.release(lease)
                    ended = "released"
                    logger.info(stopping.load(ordering: .relaxed) ? "job released: this worker is stopping" : "job released",
                                metadata: metadata)
                } catch {
                    logger.error("could not release a job (it returns to the queue when its lease runs out)",
                                 metadata: metadata.merging(["error": "\(error)"]) { $1 })
                }
                return
            }
        }
        guard let outcome, !flags.lost.load(ordering: .relaxed) else {
            logger.warning("job's lease was lost (this worker stalled past it); another worker has it, nothing stored",
                           metadata: metadata)
            return
        }
        do {
            if try store.finish(lease, outcome) {
                ended = Self.name(outcome)
                let seconds = String(format: "%.2f", Date().timeIntervalSince(began))
                logger.info("job finished", metadata: metadata.merging(["outcome": "\(Self.name(outcome))", "seconds": "\(seconds)"]) { $1 })
            } else {
                logger.warning("job's lease was lost before it finished; another worker has it, nothing stored", metadata: metadata)
            }
        } catch {
            logger.error("could not store a job's outcome (it runs again when its lease runs out)",
                         metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }

    /// What the heartbeat learns and the job reads, shared between their threads.
    final class RunFlags: Sendable {
        let progress = Mutex<Double>(0)
        let cancelRequested = Atomic<Bool>(false)
        let lost = Atomic<Bool>(false)
    }

    static func name(_ outcome: JobOutcome) -> String {
        switch outcome {
        case .images, .movie: "done"
        case .failed: "failed"
        case .cancelled: "cancelled"
        }
    }
}
