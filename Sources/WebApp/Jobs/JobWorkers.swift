import CartoonGAN
import Foundation
import Logging
import Storage

/// The workers of one process: `artworker serve` runs `--workers N` of them beside the web
/// server, `artworker worker` runs them alone. Each slot has one worker per kind, so a movie
/// analysis never waits behind conversions (and the reverse).
public final class JobWorkers: Sendable {
    let workers: [JobWorker]
    let conversions: ConversionService?
    /// What these workers measure (served by `metricsEndpoint`, if any).
    public let metrics: AppMetrics

    init(workers: [JobWorker], conversions: ConversionService?, metrics: AppMetrics) {
        self.workers = workers
        self.conversions = conversions
        self.metrics = metrics
    }

    /// Workers for `kinds` on the database in the configuration's data folder.
    public static func make(configuration: WebAppConfiguration, kinds: [Job.Kind], count: Int, logger: Logger) throws -> JobWorkers {
        let (store, metrics) = configuration.jobStore(try AppDatabase.open(directory: configuration.dataDirectory))
        return make(store: store, conversions: configuration.conversionService(), kinds: kinds, count: count, metrics: metrics,
                    logger: logger)
    }

    /// `/metrics` for a worker process, on `host:port` (nil when the configuration has no
    /// metrics port).
    public func metricsEndpoint(configuration: WebAppConfiguration, logger: Logger) -> MetricsEndpoint? {
        configuration.metricsPort.map { MetricsEndpoint(metrics: metrics, host: configuration.metricsHost, port: $0, logger: logger) }
    }

    static func make(store: JobStore, conversions: ConversionService, kinds: [Job.Kind], count: Int, metrics: AppMetrics,
                     logger: Logger) -> JobWorkers {
        let movies = MovieService(movies: MovieStore(database: store.database))
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
                                         metrics: metrics, execute: execute))
            }
        }
        for kind in Job.Kind.allCases { metrics.workers(kinds.contains(kind) ? count : 0, kind: kind) }
        return JobWorkers(workers: workers, conversions: kinds.contains(.conversion) ? conversions : nil, metrics: metrics)
    }

    /// Loads the models a conversion worker needs before it takes its first job.
    public func warm() throws {
        try conversions?.warm()
    }

    public var count: Int { workers.count }

    public func start() {
        for worker in workers { worker.start() }
    }

    /// Wakes idle workers: a job was just queued.
    func nudge() {
        for worker in workers { worker.nudge() }
    }

    /// Stops every worker (each gives back or finishes the job in hand); returns when all have.
    public func stop() {
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
    func jobStore(_ database: AppDatabase) -> (JobStore, AppMetrics) {
        var store = JobStore(database: database, leaseDuration: jobLease, maxAttempts: jobAttempts)
        let metrics = AppMetrics(jobs: store)
        store.leasesExpired = { metrics.leasesExpired($0) }
        return (store, metrics)
    }

    func conversionService() -> ConversionService {
        var service = ConversionService(models: ModelRegistry(folder: weightsDirectory))
        service.threads = conversionThreads
        service.anonymousLifetime = anonymousLifetime
        return service
    }
}
