import CoreMetrics
import Foundation
import HTTPServer
import Logging
import Prometheus
import StorageCore
import Synchronization

/// What the service measures, through the swift-metrics API into a Prometheus registry of its
/// own (not the process-wide MetricsSystem, so every app in a test process keeps its own
/// figures), and the text `/metrics` serves (Prometheus exposition format 0.0.4).
///
/// - `artworker_http_request_duration_seconds{method,route,status}`: a histogram per route
///   pattern (never the raw path, so ids cannot multiply the series); `_count` is the requests.
/// - `artworker_jobs{kind,state}`: jobs in the table by kind and state, read at each scrape (so
///   every process reports the same, whoever ran the jobs).
/// - `artworker_job_queue_wait_seconds{kind}`: submitted → first claimed, per job.
/// - `artworker_job_run_seconds{kind,outcome}`: claimed → finished, per run.
/// - `artworker_job_lease_expiries_total`: leases this process found run out (a worker died or
///   hung).
/// - `artworker_workers{kind}`: job workers running in this process.
public final class AppMetrics: Sendable, RequestObserver {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    let jobs: JobStore?

    init(jobs: JobStore?) {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Pages answer in a millisecond, conversions take seconds to minutes.
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
            .seconds(30), .seconds(60), .seconds(300), .seconds(900),
        ]
        self.factory = factory
        self.jobs = jobs
    }

    /// One timer per (method, route, status), made once: making one asks the registry (a lock
    /// and a lookup by name and labels, label strings built each time) on every request; a
    /// lookup here hashes three short keys.
    private let requestTimers = Mutex<[RequestKey: CoreMetrics.Timer]>([:])

    struct RequestKey: Hashable {
        var method: String
        var route: String
        var status: Int
    }

    public func observe(method: String, route: String, status: Int, seconds: Double) {
        let key = RequestKey(method: method, route: route, status: status)
        let timer = requestTimers.withLock { timers in
            if let timer = timers[key] { return timer }
            let timer = Timer(label: "artworker_http_request_duration_seconds",
                              dimensions: [("method", method), ("route", route), ("status", String(status))], factory: factory)
            timers[key] = timer
            return timer
        }
        timer.recordNanoseconds(Int64(seconds * 1e9))
    }

    func jobClaimed(_ job: Job, now: Date = Date()) {
        guard job.attempts == 1 else { return } // waiting is counted once, up to the first claim
        Timer(label: "artworker_job_queue_wait_seconds", dimensions: [("kind", job.kind.rawValue)], factory: factory)
            .recordNanoseconds(Int64(max(0, now.timeIntervalSince(job.createdAt)) * 1e9))
    }

    func jobRan(_ job: Job, outcome: String, seconds: Double) {
        Timer(label: "artworker_job_run_seconds", dimensions: [("kind", job.kind.rawValue), ("outcome", outcome)], factory: factory)
            .recordNanoseconds(Int64(seconds * 1e9))
    }

    func leasesExpired(_ count: Int) {
        Counter(label: "artworker_job_lease_expiries_total", factory: factory).increment(by: count)
    }

    func workers(_ count: Int, kind: Job.Kind) {
        Gauge(label: "artworker_workers", dimensions: [("kind", kind.rawValue)], factory: factory).record(count)
    }

    /// The exposition text, with the job counts read now.
    func scrape() throws -> [UInt8] {
        if let jobs {
            let counts = try jobs.counts()
            for kind in Job.Kind.allCases {
                for state in Job.State.allCases {
                    Gauge(label: "artworker_jobs", dimensions: [("kind", kind.rawValue), ("state", state.rawValue)], factory: factory)
                        .record(counts[kind]?[state] ?? 0)
                }
            }
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    /// A router with only `GET /metrics`, for the listener of its own (loopback by default).
    func router(logger: Logger) -> Router {
        let router = Router(logger: logger)
        router.get("/metrics") { [self] _ in
            var response = HTTPResponse(body: try scrape())
            response.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            response.headers.set("Cache-Control", "no-store")
            return response
        }
        router.freeze()
        return router
    }
}

/// `/metrics` on a listener of its own, so it can stay on loopback (the default) while the
/// site faces the world: what the service measures is for its operators.
public final class MetricsEndpoint: Sendable {
    let server: HTTPServer

    init(metrics: AppMetrics, host: String, port: Int, logger: Logger) {
        var configuration = HTTPServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.maxConnections = 64
        server = HTTPServer(configuration: configuration, responder: metrics.router(logger: logger), logger: logger)
    }

    public func start() throws { try server.start() }
    public func shutdown() { server.shutdown() }
    public var port: Int { server.port }
    /// "http://127.0.0.1:9464/metrics" (IPv6 hosts in brackets).
    public var url: String { "http://\(server.configuration.host.contains(":") ? "[\(server.configuration.host)]" : server.configuration.host):\(port)/metrics" }
}
