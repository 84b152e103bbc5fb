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

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. Default: $ARTWORKER_LOG_LEVEL or info.")
    var logLevel: String?

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        var configuration = WebAppConfiguration()
        do {
            try configuration.apply(environment: environment)
        } catch {
            throw CLIError("\(error)")
        }
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        if let data { configuration.dataDirectory = URL(fileURLWithPath: data) }
        let levelName = logLevel ?? environment["ARTWORKER_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelName) else { throw ValidationError("unknown log level '\(levelName)'") }
        var logger = Logger(label: "artworker")
        logger.logLevel = level

        let app: WebApp
        do {
            app = try WebApp.build(configuration: configuration, logger: logger)
            try app.start()
        } catch {
            throw CLIError("cannot start: \(error)")
        }
        print("Artworker is running on http://\(configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host):\(app.port)/")
        fflush(nil) // stdout is often a pipe to a log collector: announce now, not at exit (nil: all streams)

        // SIGTERM / SIGINT: stop accepting, finish in-flight requests, exit 0.
        let stop = DispatchSemaphore(value: 0)
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { stop.signal() }
            source.resume()
            sources.append(source)
        }
        stop.wait()
        logger.info("shutting down")
        app.shutdown()
        withExtendedLifetime(sources) {}
    }
}
