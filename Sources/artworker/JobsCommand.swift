import ArgumentParser
import Foundation
import StorageCore
import StorageSQLite
import WebApp

/// The job table from the command line: what is waiting, and what the queue itself costs.
struct JobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Look at the job queue, or time its overhead.",
        subcommands: [Status.self, Bench.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Jobs by kind and state in a data folder.")

        @Option(help: "Folder with the database. Default: $ARTWORKER_DATA or ./data (unless $ARTWORKER_DATABASE_URL names PostgreSQL).")
        var data: String?

        func run() throws {
            var configuration = WebAppConfiguration()
            let counts: [Job.Kind: [Job.State: Int]]
            do {
                try configuration.apply(environment: ProcessInfo.processInfo.environment)
                if let data { configuration.dataDirectory = URL(fileURLWithPath: data) }
                let file = configuration.dataDirectory.appendingPathComponent("artworker.sqlite").path
                guard configuration.databaseURL != nil || FileManager.default.fileExists(atPath: file) else {
                    throw CLIError("\(configuration.dataDirectory.path): no database here (start `artworker serve` once, or name the folder with --data)")
                }
                counts = try configuration.openStores().jobs().counts()
            } catch let error as ConfigurationError {
                throw CLIError(error.description)
            }
            print("kind        " + Job.State.allCases.map { $0.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0) }.joined())
            for kind in Job.Kind.allCases {
                print(kind.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
                      + Job.State.allCases.map { String(counts[kind]?[$0] ?? 0).padding(toLength: 10, withPad: " ", startingAt: 0) }.joined())
            }
        }
    }

    /// Submit → claim → finish of jobs that do nothing, one after another, in a fresh database
    /// in a temporary folder (on the same disk as --dir): the cost of the queue itself, three
    /// durable commits per job.
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Time submit → claim → finish of no-op jobs (used by `make bench-jobs`).")

        @Option(help: "Jobs to time.")
        var jobs: Int = 500

        @Option(help: "Folder to make the temporary database in (its disk is what is measured).")
        var dir: String = "."

        func run() throws {
            guard jobs >= 10 else { throw ValidationError("--jobs must be at least 10") }
            let folder = URL(fileURLWithPath: dir).appendingPathComponent(".bench-jobs-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let store = SQLiteJobStore(database: try AppDatabase.open(directory: folder))
            let limits = JobLimits(waiting: jobs + 1, perSubmitter: jobs + 1)
            let parameters = Data(#"{"styles":["hayao"],"strength":100,"maxSide":512}"#.utf8)
            var submit: [Double] = [], claim: [Double] = [], finish: [Double] = [], total: [Double] = []
            for i in 0..<jobs {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try store.submit(kind: .conversion, owner: nil, address: "10.0.\(i / 250).\(i % 250)", requestID: "bench",
                                     parameters: parameters, inputs: [JobInput(name: "photo.jpg", bytes: Data(count: 1024))], limits: limits)
                let t1 = DispatchTime.now().uptimeNanoseconds
                guard let lease = try store.claim(kinds: [.conversion]) else { throw CLIError("the job just submitted was not claimed") }
                let t2 = DispatchTime.now().uptimeNanoseconds
                guard try store.finish(lease, .images([])) else { throw CLIError("a fresh lease was refused") }
                let t3 = DispatchTime.now().uptimeNanoseconds
                submit.append(Double(t1 - t0) / 1e6)
                claim.append(Double(t2 - t1) / 1e6)
                finish.append(Double(t3 - t2) / 1e6)
                total.append(Double(t3 - t0) / 1e6)
            }
            func line(_ name: String, _ values: [Double]) -> String {
                let sorted = values.sorted()
                let p = { (q: Double) in sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))] }
                return name.padding(toLength: 24, withPad: " ", startingAt: 0)
                    + String(format: "median %6.2f ms   p99 %6.2f ms   max %6.2f ms", p(0.5), p(0.99), sorted.last!)
            }
            print("queue overhead, \(jobs) no-op jobs one after another (SQLite, synchronous = FULL):")
            print(line("  submit (+1 KiB input)", submit))
            print(line("  claim", claim))
            print(line("  finish (fenced)", finish))
            print(line("  submit → finish", total))
        }
    }
}
