import CartoonGAN
import Foundation
import Kernels
import Logging
import StorageCore
import Synchronization

/// The workers of one process: `artworker serve` runs `--workers N` of them beside the web
/// server, `artworker worker` runs them alone. Each slot has one worker per kind, so a movie
/// analysis never waits behind conversions (and the reverse).
public final class JobWorkers: Sendable {
    let workers: [JobWorker]
    let conversions: ConversionService?
    /// Makes the home page's examples in the background (conversion workers only).
    let examples: ExampleMaker?
    /// What these workers measure (served by `metricsEndpoint`, if any).
    public let metrics: AppMetrics
    /// Wakes the workers when any node queues a job (PostgreSQL's LISTEN/NOTIFY), if the
    /// backend can; started and stopped with them.
    let listen: (@Sendable (_ wake: @escaping @Sendable () -> Void) -> @Sendable () -> Void)?
    private let stopListening = Mutex<(@Sendable () -> Void)?>(nil)

    init(workers: [JobWorker], conversions: ConversionService?, examples: ExampleMaker?, metrics: AppMetrics,
         listen: (@Sendable (_ wake: @escaping @Sendable () -> Void) -> @Sendable () -> Void)? = nil) {
        self.workers = workers
        self.conversions = conversions
        self.examples = examples
        self.metrics = metrics
        self.listen = listen
    }

    /// Workers for `kinds` on the database in the configuration's data folder.
    public static func make(configuration: WebAppConfiguration, kinds: [Job.Kind], count: Int, logger: Logger) throws -> JobWorkers {
        let stores = try configuration.openStores()
        let (store, metrics) = configuration.jobStore(stores)
        return make(store: store, movies: stores.movies, conversions: configuration.conversionService(), kinds: kinds, count: count,
                    metrics: metrics, examples: configuration.examples(stores), pollInterval: stores.pollInterval,
                    listen: stores.listenForJobs, logger: logger)
    }

    /// `/metrics` for a worker process, on `host:port` (nil when the configuration has no
    /// metrics port).
    public func metricsEndpoint(configuration: WebAppConfiguration, logger: Logger) -> MetricsEndpoint? {
        configuration.metricsPort.map { MetricsEndpoint(metrics: metrics, host: configuration.metricsHost, port: $0, logger: logger) }
    }

    static func make(store: any JobStore, movies: any MovieStore, conversions: ConversionService, kinds: [Job.Kind], count: Int, metrics: AppMetrics,
                     examples: Examples? = nil, pollInterval: TimeInterval = 0.25,
                     listen: (@Sendable (_ wake: @escaping @Sendable () -> Void) -> @Sendable () -> Void)? = nil,
                     logger: Logger) -> JobWorkers {
        let movies = MovieService(movies: movies)
        let execute: JobWorker.Execute = { job, inputs, progress, isCancelled in
            switch job.kind {
            case .conversion:
                let parameters = try JSONDecoder().decode(ConversionService.Parameters.self, from: job.parameters)
                return .images(try conversions.run(parameters, owner: job.ownerID, photos: inputs, progress: progress, isCancelled: isCancelled))
            case .movie:
                let parameters = try JSONDecoder().decode(MovieService.Parameters.self, from: job.parameters)
                guard let owner = job.ownerID else { throw JobWorkerError.movieWithoutOwner }
                return .movie(try movies.analyse(parameters, owner: owner, frames: inputs, progress: progress, isCancelled: isCancelled))
            }
        }
        var workers: [JobWorker] = []
        for slot in 0..<count {
            for kind in kinds {
                workers.append(JobWorker(store: store, kinds: [kind], name: "\(kind.rawValue)-\(slot + 1)", logger: logger,
                                         pollInterval: pollInterval, metrics: metrics, execute: execute))
            }
        }
        for kind in Job.Kind.allCases { metrics.workers(kinds.contains(kind) ? count : 0, kind: kind) }
        let maker = examples.flatMap { examples in
            kinds.contains(.conversion) && count > 0
                ? ExampleMaker(examples: examples, conversions: conversions, movies: movies, logger: logger) : nil
        }
        return JobWorkers(workers: workers, conversions: kinds.contains(.conversion) ? conversions : nil, examples: maker,
                          metrics: metrics, listen: listen)
    }

    /// Loads the models a conversion worker needs before it takes its first job.
    public func warm() throws {
        try conversions?.warm()
    }

    public var count: Int { workers.count }

    /// How much lower than the web server's threads the job threads and the kernels' threads
    /// run (nice(2)): a conversion fills every core it is given, and pages must not wait behind
    /// it. At 19 (the lowest) a busy job thread gets a few percent of a core that a request
    /// handler also wants; when the server is idle the jobs have the cores to themselves. Leases
    /// are renewed by a timer on a normal-priority thread, so a slowed job is not taken as lost.
    static let niceness: Int32 = 19

    public func start() {
        ComputeThreads.shared.lowerPriority(by: Self.niceness)
        for worker in workers { worker.start() }
        examples?.start()
        if let listen, !workers.isEmpty {
            let stop = listen { [self] in nudge() }
            stopListening.withLock { $0 = stop }
        }
    }

    /// Wakes idle workers: a job was just queued.
    func nudge() {
        for worker in workers { worker.nudge() }
    }

    /// Stops every worker (each gives back or finishes the job in hand); returns when all have.
    public func stop() {
        stopListening.withLock { stop in
            stop?()
            stop = nil
        }
        examples?.stop()
        for worker in workers { worker.stopSoon() }
        for worker in workers { worker.stop() }
    }
}

enum JobWorkerError: Error, CustomStringConvertible {
    case movieWithoutOwner
    var description: String { "a movie analysis job has no owner" }
}

extension WebAppConfiguration {
    /// The job table with these settings, and the metrics that count its expired leases.
    func jobStore(_ stores: Stores) -> (any JobStore, AppMetrics) {
        var store = stores.jobs(JobSettings(leaseDuration: jobLease, maxAttempts: jobAttempts))
        let metrics = AppMetrics(jobs: store)
        store.settings.leasesExpired = { metrics.leasesExpired($0) }
        return (store, metrics)
    }

    /// The examples, made from the bundled photos in Public/examples, unless switched off.
    func examples(_ stores: Stores) -> Examples? {
        makeExamples ? Examples(store: stores.examples, folder: publicDirectory.appendingPathComponent("examples")) : nil
    }

    func conversionService() -> ConversionService {
        var service = ConversionService(models: ModelRegistry(folder: weightsDirectory))
        service.threads = conversionThreads
        service.anonymousLifetime = anonymousLifetime
        return service
    }
}
