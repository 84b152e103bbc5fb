import ArgumentParser
import Foundation
import StorageCore
import StoragePostgres
import StorageSQLite
import Synchronization
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
            let counts: [Job.Kind: [Job.State: Int]]
            do {
                let configuration = try WebAppConfiguration.forCommand(data: data)
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
    /// durable commits per job. With `--claimers N`, the jobs are queued first and N workers
    /// (threads, each with a connection of its own) claim and finish them at once: how many
    /// claims per second the database takes, on SQLite or on the PostgreSQL of --database-url.
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Time submit → claim → finish of no-op jobs (used by `make bench-jobs` and `make bench-scale`).")

        @Option(help: "Jobs to time.")
        var jobs: Int = 500

        @Option(help: "Folder to make the temporary database in (its disk is what is measured).")
        var dir: String = "."

        @Option(help: "Workers claiming at once (0: submit, claim and finish one job at a time).")
        var claimers: Int = 0

        @Option(help: "A PostgreSQL database to use instead of a temporary SQLite file (its job table must hold no queued jobs).")
        var databaseURL: String?

        func validate() throws {
            guard jobs >= 10 else { throw ValidationError("--jobs must be at least 10") }
            guard (0...64).contains(claimers) else { throw ValidationError("--claimers must be between 0 and 64") }
            if let databaseURL, !(databaseURL.hasPrefix("postgres://") || databaseURL.hasPrefix("postgresql://")) {
                throw ValidationError("--database-url must be a PostgreSQL URL: postgres://user@host:port/database")
            }
        }

        func run() throws {
            let folder = URL(fileURLWithPath: dir).appendingPathComponent(".bench-jobs-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let store: any JobStore, backend: String
            do {
                if let databaseURL {
                    let database = try PostgresDatabase(url: databaseURL, maxConnections: claimers + 1)
                    store = database.stores().jobs()
                    backend = database.description
                } else {
                    store = SQLiteJobStore(database: try AppDatabase.open(directory: folder))
                    backend = "SQLite, synchronous = FULL"
                }
            } catch let error as StorageUnavailable {
                throw CLIError("cannot reach PostgreSQL: \(error.reason)")
            }
            let limits = JobLimits(waiting: jobs + 1, perSubmitter: jobs + 1)
            let parameters = Data(#"{"styles":["hayao"],"strength":100,"maxSide":512}"#.utf8)
            func submit(_ i: Int) throws {
                _ = try store.submit(kind: .conversion, owner: nil, address: "10.0.\(i / 250).\(i % 250)", requestID: "bench",
                                     parameters: parameters, inputs: [JobInput(name: "photo.jpg", bytes: Data(count: 1024))], limits: limits)
            }
            if claimers > 0 {
                try concurrent(store, backend: backend, submit: submit)
                return
            }
            var submitted: [Double] = [], claim: [Double] = [], finish: [Double] = [], total: [Double] = []
            for i in 0..<jobs {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try submit(i)
                let t1 = DispatchTime.now().uptimeNanoseconds
                guard let lease = try store.claim(kinds: [.conversion]) else { throw CLIError("the job just submitted was not claimed") }
                let t2 = DispatchTime.now().uptimeNanoseconds
                guard try store.finish(lease, .images([])) else { throw CLIError("a fresh lease was refused") }
                let t3 = DispatchTime.now().uptimeNanoseconds
                submitted.append(Double(t1 - t0) / 1e6)
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
            print("queue overhead, \(jobs) no-op jobs one after another (\(backend)):")
            print(line("  submit (+1 KiB input)", submitted))
            print(line("  claim", claim))
            print(line("  finish (fenced)", finish))
            print(line("  submit → finish", total))
        }

        /// Queues every job, then lets `claimers` threads claim and finish them until none is
        /// left; every job must be finished exactly once.
        func concurrent(_ store: any JobStore, backend: String, submit: (Int) throws -> Void) throws {
            let t0 = DispatchTime.now().uptimeNanoseconds
            for i in 0..<jobs { try submit(i) }
            let t1 = DispatchTime.now().uptimeNanoseconds
            let finished = Mutex<(count: Int, ids: Set<String>, error: String?)>((0, [], nil))
            // Threads of their own: concurrentPerform would run no more at once than there are cores,
            // and workers spend most of their time waiting on the database, not on a core.
            let done = DispatchGroup()
            for _ in 0..<claimers {
                done.enter()
                Thread.detachNewThread {
                    defer { done.leave() }
                    do {
                        while let lease = try store.claim(kinds: [.conversion]) {
                            guard try store.finish(lease, .images([])) else { throw CLIError("a fresh lease was refused") }
                            finished.withLock { $0.count += 1; $0.ids.insert(lease.job.id) }
                        }
                    } catch {
                        finished.withLock { $0.error = $0.error ?? "\(error)" }
                    }
                }
            }
            done.wait()
            let t2 = DispatchTime.now().uptimeNanoseconds
            let (count, ids, error) = finished.withLock { $0 }
            if let error { throw CLIError("a claimer failed: \(error)") }
            guard count == jobs, ids.count == jobs else { throw CLIError("\(count) claims finished \(ids.count) different jobs of \(jobs)") }
            let submitSeconds = Double(t1 - t0) / 1e9, claimSeconds = Double(t2 - t1) / 1e9
            print("\(jobs) no-op jobs (\(backend)):")
            print(String(format: "  queued one after another: %.0f jobs/s", Double(jobs) / submitSeconds))
            print(String(format: "  claimed and finished by %d workers at once: %.0f jobs/s", claimers, Double(jobs) / claimSeconds))
        }
    }
}
