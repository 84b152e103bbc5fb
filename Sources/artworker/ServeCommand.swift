import ArgumentParser
import Dispatch
import Foundation
import Logging
import WebApp

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the web service (settings also from ARTWORKER_HOST, ARTWORKER_PORT, ARTWORKER_DATA, …).")

    @Option(help: "Address to listen on (e.g. 127.0.0.1, ::1, 0.0.0.0, ::). Default: $ARTWORKER_HOST or 127.0.0.1.")
    var host: String?

    @Option(help: "Port to listen on. Default: $ARTWORKER_PORT or 8080.")
    var port: Int?

    @Option(help: "Folder for the database and secrets. Default: $ARTWORKER_DATA or ./data.")
    var data: String?

    @Option(help: "Job workers to run beside the web server (0: web only; jobs then need `artworker worker`). Default: $ARTWORKER_WORKERS or 1.")
    var workers: Int?

    @Option(help: "Port of /metrics, on its own listener at $ARTWORKER_METRICS_HOST or 127.0.0.1 (0: any free port; off: none). Default: $ARTWORKER_METRICS_PORT or 9464.")
    var metricsPort: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. Default: $ARTWORKER_LOG_LEVEL or info.")
    var logLevel: String?

    func run() throws {
        let termination = TerminationSignal()
        let environment = ProcessInfo.processInfo.environment
        var configuration = WebAppConfiguration()
        configuration.metricsPort = 9464
        do {
            try configuration.apply(environment: environment.merging(metricsPort.map { ["ARTWORKER_METRICS_PORT": $0] } ?? [:]) { $1 })
        } catch {
            throw CLIError("\(error)")
        }
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        if let data { configuration.dataDirectory = URL(fileURLWithPath: data) }
        if let workers { configuration.workers = workers }
        var logger = Logger(label: "artworker")
        logger.logLevel = try artworker.logLevel(logLevel, environment: environment)

        let app: WebApp
        do {
            app = try WebApp.build(configuration: configuration, logger: logger)
            try app.start()
        } catch {
            throw CLIError("cannot start: \(error)")
        }
        print("Artworker is running on http://\(configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host):\(app.port)/")
        fflush(nil) // stdout is often a pipe to a log collector: announce now, not at exit (nil: all streams)
        if let endpoint = app.metricsEndpoint { logger.info("metrics served", metadata: ["url": "\(endpoint.url)"]) }

        termination.wait()
        logger.info("shutting down")
        app.shutdown()
    }
}

/// SIGTERM and SIGINT, caught from the moment this is made: a signal that arrives while the
/// process is still starting (loading models, opening the database) is kept, not lost, and
/// `wait()` returns at once. A second one cannot kill the process while it shuts down in order.
final class TerminationSignal {
    private let stop = DispatchSemaphore(value: 0)
    private var sources: [DispatchSourceSignal] = []

    init() {
        for signalNumber in [SIGTERM, SIGINT] {
            // Ignored first, as Dispatch asks: the source then sees the signal instead of the
            // default action ending the process.
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [stop] in stop.signal() }
            source.resume()
            sources.append(source)
        }
    }

    /// Blocks until SIGTERM or SIGINT arrives (or has arrived since `init`).
    func wait() {
        stop.wait()
    }
}

/// The log level from `--log-level` or ARTWORKER_LOG_LEVEL (default info).
func logLevel(_ option: String?, environment: [String: String]) throws -> Logger.Level {
    let name = option ?? environment["ARTWORKER_LOG_LEVEL"] ?? "info"
    guard let level = Logger.Level(rawValue: name) else { throw ValidationError("unknown log level '\(name)'") }
    return level
}
