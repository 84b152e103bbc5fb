import ArgumentParser
import Foundation
import Logging
import StorageCore
import WebApp

/// A process that only runs jobs: as many as wanted, on this machine or any other that sees the
/// same data folder, beside one or more web processes (`serve --workers 0`).
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run queued conversions and movie analyses until SIGTERM (settings also from ARTWORKER_* variables).")

    @Option(help: "Folder with the database. Default: $ARTWORKER_DATA or ./data.")
    var data: String?

    @Option(help: "Threads one conversion uses. Default: $ARTWORKER_THREADS or every core.")
    var threads: Int?

    @Option(help: "Kinds of job to run, comma-separated: conversion, movie. Default: both.")
    var kinds: String = "conversion,movie"

    @Option(help: "Serve this worker's /metrics on this port (0: any free port), at $ARTWORKER_METRICS_HOST or 127.0.0.1. Default: $ARTWORKER_METRICS_PORT or none.")
    var metricsPort: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. Default: $ARTWORKER_LOG_LEVEL or info.")
    var logLevel: String?

    func run() throws {
        let termination = TerminationSignal()
        let environment = ProcessInfo.processInfo.environment
        var configuration = WebAppConfiguration()
        do {
            try configuration.apply(environment: environment.merging(metricsPort.map { ["ARTWORKER_METRICS_PORT": $0] } ?? [:]) { $1 })
            if let data { configuration.dataDirectory = URL(fileURLWithPath: data) }
            if let threads { configuration.conversionThreads = threads }
            try configuration.validate()
        } catch {
            throw CLIError("\(error)")
        }
        var chosen: [Job.Kind] = []
        for name in kinds.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let kind = Job.Kind(rawValue: name) else {
                throw ValidationError("unknown kind '\(name)': choose conversion, movie or both")
            }
            if !chosen.contains(kind) { chosen.append(kind) }
        }
        guard !chosen.isEmpty else { throw ValidationError("name at least one kind of job: conversion, movie") }
        var logger = Logger(label: "artworker.worker")
        logger.logLevel = try artworker.logLevel(logLevel, environment: environment)

        let workers: JobWorkers
        let endpoint: MetricsEndpoint?
        do {
            workers = try JobWorkers.make(configuration: configuration, kinds: chosen, count: 1, logger: logger)
            endpoint = workers.metricsEndpoint(configuration: configuration, logger: logger)
            try endpoint?.start()
            // Models load before the first claim: a job should never wait on (or be lost with)
            // a worker that is still starting.
            try workers.warm()
        } catch {
            throw CLIError("cannot start: \(error)")
        }
        if let endpoint { logger.info("metrics served", metadata: ["url": "\(endpoint.url)"]) }
        workers.start()
        logger.info("worker running", metadata: ["kinds": "\(chosen.map(\.rawValue).joined(separator: ","))",
                                                  "threads": "\(configuration.conversionThreads)", "pid": "\(getpid())"])
        termination.wait()
        logger.info("stopping: finishing or giving back the job in hand")
        workers.stop()
        endpoint?.shutdown()
    }
}
