import BlobS3
import Foundation
import StorageCore
import StoragePostgres
import Synchronization
import Testing
import TestSupport

/// Several machines' worth of processes on one PostgreSQL: web nodes and workers that share
/// everything through the database, workers killed at random, and the database itself crashing
/// and coming back in the middle of the run.
///
/// The test starts a PostgreSQL cluster of its own (Tests/Scripts/throwaway-postgres.sh), since
/// it restarts it: the shared one of `make test` serves the contract suite at the same time.
@Suite("Several nodes on one PostgreSQL", .serialized)
struct MultiNodeTests {
    static let script = SharedData.packageRoot.appendingPathComponent("Tests/Scripts/throwaway-postgres.sh").path
    /// `make test` names a server only where it could install and start PostgreSQL 15: the same
    /// condition says this test can start a cluster of its own.
    static let postgresAvailable = ProcessInfo.processInfo.environment["ARTWORKER_TEST_DATABASE_URL"].map { !$0.isEmpty } ?? false
    /// The S3 server `make test` started, if it could: pictures then go there.
    static let s3Endpoint = ProcessInfo.processInfo.environment["ARTWORKER_TEST_S3_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }

    /// A cluster of this test's own: started, crash-restarted and removed by the script.
    final class Cluster: Sendable {
        let state: URL
        let url: String

        init() throws {
            state = try CLI.temporaryDirectory().appendingPathComponent("pg-state")
            let started = try Self.script(["start", state.path])
            try #require(started.status == 0, "could not start PostgreSQL: \(started.stderr)")
            url = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// Stops the server as a crash would, keeps it down `seconds`, and starts it again.
        func crashRestart(down seconds: Int) throws {
            let restarted = try Self.script(["crash-restart", state.path, String(seconds)])
            try #require(restarted.status == 0, "could not restart PostgreSQL: \(restarted.stderr)")
        }

        func remove() {
            _ = try? Self.script(["stop", state.path])
            try? FileManager.default.removeItem(at: state.deletingLastPathComponent())
        }

        /// Runs the script and waits for it. Not through Foundation's Process: the server it
        /// starts outlives it, and Process was seen never to notice the script's exit then (the
        /// script stayed a zombie). posix_spawn and waitpid on the one child do not depend on that.
        static func script(_ arguments: [String]) throws -> CLI.Result {
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("pg-script-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: output) }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, output.path + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_addopen(&actions, 2, output.path + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            defer { for suffix in [".out", ".err"] { try? FileManager.default.removeItem(atPath: output.path + suffix) } }
            let argv = ["/bin/bash", MultiNodeTests.script] + arguments
            var cArguments = argv.map { strdup($0) } + [nil]
            defer { for argument in cArguments { free(argument) } }
            var pid: pid_t = 0
            let spawned = posix_spawn(&pid, "/bin/bash", &actions, nil, &cArguments, environ)
            try #require(spawned == 0, "posix_spawn: \(String(cString: strerror(spawned)))")
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let read = { (suffix: String) in (try? String(contentsOfFile: output.path + suffix, encoding: .utf8)) ?? "" }
            // WIFEXITED and WEXITSTATUS are macros Swift cannot import: exited normally is a zero
            // low byte, the exit code is the next byte.
            return CLI.Result(status: status & 0x7f == 0 ? (status >> 8) & 0xff : -1, stdout: read(".out"), stderr: read(".err"))
        }
    }

    /// One answer to a status poll, and when it came.
    struct Poll {
        var at: Date
        var status: Int
        var retryAfter: String?
    }

    @Test("2 web nodes and 3 workers on one PostgreSQL (and the S3 server): 50 conversions through both nodes, a worker SIGKILLed every 3 s, the database crash-restarted mid-run",
          .enabled(if: postgresAvailable, "no PostgreSQL 15 here (make test says why)"))
    func webNodesAndWorkers() throws {
        let cluster = try Cluster()
        defer { cluster.remove() }
        let folder = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var environment = JobProcessTests.environment.merging([
            "ARTWORKER_DATABASE_URL": cluster.url,
            "ARTWORKER_JWT_SECRET": String(repeating: "multi-node test secret ", count: 2),
            "ARTWORKER_MAX_QUEUED": "60", "ARTWORKER_MAX_QUEUED_PER_MEMBER": "60",
        ]) { $1 }
        // Pictures in the S3 server `make test` started, in a bucket of this test's own.
        var blobs: S3BlobStore?
        if let endpoint = Self.s3Endpoint {
            let url = "s3://n-\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))?endpoint=\(endpoint)&region=us-east-1"
            blobs = try S3BlobStore(url: url, environment: ProcessInfo.processInfo.environment)
            try blobs?.createBucket()
            environment["ARTWORKER_BLOB_URL"] = url
        }
        // Each node has a data folder of its own: nothing in it is shared, and nothing needs to be.
        var nodes: [(Process, Int)] = []
        defer { for (node, _) in nodes where node.isRunning { kill(node.processIdentifier, SIGKILL); node.waitUntilExit() } }
        for n in 0..<2 {
            nodes.append(try ServeCommandTests.startServer(data: folder.appendingPathComponent("node\(n)"), arguments: ["--workers", "0"],
                                                           environment: environment, lifetime: 500))
        }
        let ports = nodes.map(\.1)
        let logURL = folder.appendingPathComponent("workers.log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        func startWorker(_ n: Int) throws -> Process {
            let process = Process()
            process.executableURL = CLI.executable
            process.arguments = ["worker", "--data", folder.appendingPathComponent("worker\(n)").path, "--threads", "1",
                                 "--kinds", "conversion", "--log-level", "info"]
            process.currentDirectoryURL = SharedData.packageRoot
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            process.standardOutput = log
            process.standardError = log
            try process.run()
            return process
        }
        var workers = try (0..<3).map { try startWorker($0) }
        defer { for w in workers where w.isRunning { kill(w.processIdentifier, SIGKILL); w.waitUntilExit() } }

        // Signed up on one node, signed in on the other: accounts are shared.
        let token = try JobProcessTests().member(port: ports[0], loginPort: ports[1])
        var ids: [String] = []
        for i in 0..<50 { ids.append(try JobProcessTests().submit(port: ports[i % 2], token: token, maxSide: 256)) }

        // Polls every job's status through both nodes; a worker is killed every 3 s (once a
        // conversion finished since the last kill); once a quarter of the jobs are done, the
        // database crashes and comes back 2 s later.
        var polls: [Poll] = []
        var statuses: [String: [String: Any]] = [:]
        var lastKill = Date(), kills = 0, doneAtLastKill = 0
        var crashStarted = false
        let crash = Mutex<(began: Date, back: Date)?>(nil)
        let crashEnded = DispatchSemaphore(value: 0)
        let deadline = Date().addingTimeInterval(420)
        while Date() < deadline {
            for (i, id) in ids.enumerated() where !["done", "failed", "cancelled"].contains(statuses[id]?["status"] as? String ?? "") {
                let client = try LoopbackClient(port: ports[i % 2])
                client.send("GET /api/v1/conversions/\(id) HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(token)\r\n\r\n")
                let response = try client.response()
                polls.append(Poll(at: Date(), status: response.status, retryAfter: response.headers["retry-after"]))
                if response.status == 200 {
                    statuses[id] = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any] ?? [:]
                }
            }
            let ended = ids.filter { ["done", "failed", "cancelled"].contains(statuses[$0]?["status"] as? String ?? "") }.count
            if ended == ids.count { break }
            if !crashStarted, ended >= ids.count / 4 {
                // On a thread of its own, so the polls go on while the database is away.
                crashStarted = true
                Thread.detachNewThread {
                    let began = Date()
                    let restarted = (try? cluster.crashRestart(down: 2)) != nil
                    crash.withLock { $0 = restarted ? (began, Date()) : nil }
                    crashEnded.signal()
                }
            }
            // Every 3 s, once a conversion has finished since the last kill (see JobProcessTests (b)).
            let done = ids.filter { statuses[$0]?["status"] as? String == "done" }.count
            if Date().timeIntervalSince(lastKill) >= 3, done > doneAtLastKill {
                doneAtLastKill = done
                let victim = kills % workers.count
                kill(workers[victim].processIdentifier, SIGKILL)
                workers[victim].waitUntilExit()
                workers[victim] = try startWorker(victim)
                kills += 1
                lastKill = Date()
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        for w in workers { kill(w.processIdentifier, SIGTERM) }
        for w in workers { w.waitUntilExit() }
        try? log.close()

        // Every acknowledged job done, once, with its own result.
        let all = ids.map { statuses[$0] ?? [:] }
        let logText = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        let failures = all.filter { $0["status"] as? String != "done" }
        #expect(failures.isEmpty, "\(failures.prefix(5))\n\(logText.split(separator: "\n").filter { $0.contains("error") }.suffix(10).joined(separator: "\n"))")
        #expect(kills >= 3, "the conversions finished before any worker was killed")
        JobProcessTests().expectEachDoneOnce(all, count: 50)
        let database = try PostgresDatabase(url: cluster.url, maxConnections: 1, migrate: false)
        #expect(try database.execute("SELECT count(*) AS n FROM image").first?.int("n") == 50)
        #expect(try database.stores().jobs().orphanedInputs() == 0)
        if let blobs {
            // Killed workers left bytes no row names; after the sweep the bucket holds exactly
            // the parts the rows name: 4 per picture.
            let sweep = try CLI.run(["sweep-blobs", "--grace", "0"], environment: environment)
            #expect(sweep.status == 0, "\(sweep.stderr)")
            let named = Set(try database.execute("SELECT blob FROM image_data").all.map { try $0.string("blob") })
            let stored = Set(try blobs.list(prefix: Blobs.imagePrefix).map(\.key))
            #expect(named.count == 200 && stored == named, "\(stored.subtracting(named).count) unnamed, \(named.subtracting(stored).count) missing")
            print("multi-node: \(sweep.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
        }

        // While the database was away the nodes answered 503 with Retry-After, and only then:
        // from the crash until at most 5 s after it was back. Nothing else went wrong.
        if crashStarted { crashEnded.wait() }
        let crashed = try #require(crash.withLock { $0 }, "the database was never crash-restarted")
        for poll in polls where poll.status != 200 {
            #expect(poll.status == 503 && poll.retryAfter != nil, "status \(poll.status) at \(poll.at)")
            #expect(poll.at >= crashed.began && poll.at <= crashed.back.addingTimeInterval(5),
                    "a 503 \(poll.at.timeIntervalSince(crashed.back)) s after the database was back")
        }
        #expect(polls.contains { $0.status == 503 }, "no poll came while the database was down")
        let firstAnswer = polls.first { $0.at > crashed.back && $0.status == 200 }
        let recovery = try #require(firstAnswer).at.timeIntervalSince(crashed.back)
        #expect(recovery < 5, "the nodes answered again \(recovery) s after the database was back")
        print("multi-node: \(kills) worker kills; the database was down \(String(format: "%.1f", crashed.back.timeIntervalSince(crashed.began))) s, "
              + "\(polls.filter { $0.status == 503 }.count) polls answered 503, the first 200 \(String(format: "%.2f", recovery)) s after it was back")
    }
}
