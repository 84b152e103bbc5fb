import Foundation
import GRDB
import StorageCore
import StorageSQLite
import Testing
import TestSupport

/// Jobs across real processes: killed servers and workers lose nothing and store nothing twice.
@Suite("Durable jobs across processes", .serialized)
struct JobProcessTests {
    static let photo = try! SharedData.bytes("testdata/photos/coffee.png")

    /// Short leases so a killed process's job is taken over in seconds, and room for every
    /// conversion of the test in the queue. Killing a worker every 3 s interrupts a job almost
    /// every time, and now and then the same job three times running (it goes back to the head
    /// of the queue), which the default limit of 3 attempts rightly fails; these tests are about
    /// losing and duplicating nothing, so they allow more. The limit itself is tested in
    /// JobStoreTests.
    static let environment = ["ARTWORKER_JOB_LEASE": "3", "ARTWORKER_JOB_ATTEMPTS": "12", "ARTWORKER_MAX_QUEUED": "40",
                              "ARTWORKER_MAX_QUEUED_PER_MEMBER": "40", "ARTWORKER_EXAMPLES": "off"]

    /// Signs up through `port` and signs in through `loginPort` (another node, or the same).
    func member(port: Int, loginPort: Int? = nil) throws -> String {
        let credentials = #"{"username":"kiki","password":"a long enough secret phrase"}"#
        for path in ["/api/v1/auth/signup", "/api/v1/auth/login"] {
            let client = try LoopbackClient(port: path.hasSuffix("login") ? loginPort ?? port : port)
            client.send("POST \(path) HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(credentials.utf8.count)\r\n\r\n\(credentials)")
            let response = try client.response()
            if path.hasSuffix("login") {
                let body = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any]
                return try #require(body?["token"] as? String)
            }
        }
        return ""
    }

    func submit(port: Int, token: String, maxSide: Int) throws -> String {
        let body = MultipartBody(files: [("coffee.png", Self.photo)], fields: [("style", "hayao"), ("max_side", "\(maxSide)")])
        let client = try LoopbackClient(port: port)
        client.send(Array(("POST /api/v1/conversions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: multipart/form-data; boundary=\(MultipartBody.boundary)\r\nContent-Length: \(body.bytes.count)\r\n\r\n").utf8) + body.bytes)
        let response = try client.response()
        #expect(response.status == 202, "\(response.body)")
        let object = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any]
        return try #require(object?["id"] as? String)
    }

    func status(port: Int, token: String, id: String) throws -> [String: Any] {
        let client = try LoopbackClient(port: port)
        client.send("GET /api/v1/conversions/\(id) HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(token)\r\n\r\n")
        return try JSONSerialization.jsonObject(with: Data(try client.response().body.utf8)) as? [String: Any] ?? [:]
    }

    /// Every job's status, polled until none is queued or running or `seconds` pass.
    /// Polls until every job has ended; `tick` is given the statuses of each round.
    func waitForAll(port: Int, token: String, ids: [String], seconds: Double,
                    while tick: ([[String: Any]]) throws -> Void = { _ in }) throws -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let all = try ids.map { try status(port: port, token: token, id: $0) }
            if all.allSatisfy({ !["queued", "running"].contains($0["status"] as? String ?? "") }) || Date() > deadline { return all }
            try tick(all)
            Thread.sleep(forTimeInterval: 0.2)
        }
    }

    /// What the database holds after the run: images, and inputs left behind by ended jobs.
    func stored(_ data: URL) throws -> (images: Int, orphanedInputs: Int, retried: Int) {
        let database = try AppDatabase.open(directory: data)
        let (images, retried) = try database.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM image") ?? 0, try Int.fetchOne(db, sql: "SELECT count(*) FROM job WHERE attempts > 1") ?? 0)
        }
        return (images, try SQLiteJobStore(database: database).orphanedInputs(), retried)
    }

    func expectEachDoneOnce(_ all: [[String: Any]], count: Int) {
        #expect(all.count == count)
        for job in all {
            #expect(job["status"] as? String == "done", "\(job)")
            #expect((job["images"] as? [String])?.count == 1, "\(job)")
        }
        let results = all.flatMap { $0["images"] as? [String] ?? [] }
        #expect(Set(results).count == count)
    }

    @Test("(a) 10 conversions, the server SIGKILLed while one runs, restarted: all 10 finish with one result each")
    func serverKilled() throws {
        let data = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let (first, port) = try ServeCommandTests.startServer(data: data, environment: Self.environment, lifetime: 120)
        let token = try member(port: port)
        let ids = try (0..<10).map { _ in try submit(port: port, token: token, maxSide: 400) }
        // Wait until a job is part-way, then kill: no shutdown, no release of the job.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, try !ids.contains(where: { (try status(port: port, token: token, id: $0)["progress"] as? Double ?? 0) > 0.05 }) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let (second, port2) = try ServeCommandTests.startServer(data: data, environment: Self.environment, lifetime: 300)
        let all = try waitForAll(port: port2, token: token, ids: ids, seconds: 240)
        kill(second.processIdentifier, SIGTERM)
        second.waitUntilExit()
        #expect(second.terminationStatus == 0)
        expectEachDoneOnce(all, count: 10)
        let (images, orphaned, retried) = try stored(data)
        #expect(images == 10 && orphaned == 0)
        print("(a): \(retried) job(s) ran again after the kill")
    }

    @Test("(b) a web process and 3 worker processes, one SIGKILLed every 3 s (once another conversion finished) and restarted: 30 conversions, none twice, no inputs left")
    func workersKilled() throws {
        let data = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let (web, port) = try ServeCommandTests.startServer(data: data, arguments: ["--workers", "0"], environment: Self.environment,
                                                            lifetime: 400)
        defer { if web.isRunning { kill(web.processIdentifier, SIGKILL); web.waitUntilExit() } }
        let logURL = data.appendingPathComponent("workers.log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        func startWorker() throws -> Process {
            let process = Process()
            process.executableURL = CLI.executable
            process.arguments = ["worker", "--data", data.path, "--threads", "1", "--kinds", "conversion", "--log-level", "info"]
            process.currentDirectoryURL = SharedData.packageRoot
            process.environment = ProcessInfo.processInfo.environment.merging(Self.environment) { $1 }
            process.standardOutput = log
            process.standardError = log
            try process.run()
            return process
        }
        var workers = try (0..<3).map { _ in try startWorker() }
        defer { for w in workers where w.isRunning { kill(w.processIdentifier, SIGKILL); w.waitUntilExit() } }
        let token = try member(port: port)
        let ids = try (0..<30).map { _ in try submit(port: port, token: token, maxSide: 320) }
        var lastKill = Date(), kills = 0, doneAtLastKill = 0
        let all = try waitForAll(port: port, token: token, ids: ids, seconds: 300) { all in
            // Every 3 s, once a conversion has finished since the last kill: where a worker takes
            // longer than the kill period to start and finish one (a loaded machine), the job at
            // the head of the queue would otherwise be cut off again and again until it ran out
            // of attempts — a test of the machine's speed, not of the queue.
            let done = all.filter { $0["status"] as? String == "done" }.count
            guard Date().timeIntervalSince(lastKill) >= 3, done > doneAtLastKill else { return }
            doneAtLastKill = done
            let victim = kills % workers.count
            kill(workers[victim].processIdentifier, SIGKILL)
            workers[victim].waitUntilExit()
            workers[victim] = try startWorker()
            kills += 1
            lastKill = Date()
        }
        // SIGTERM: each worker stops taking jobs and exits 0 (even one still starting).
        for w in workers { kill(w.processIdentifier, SIGTERM) }
        for w in workers {
            let deadline = Date().addingTimeInterval(30)
            while w.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            #expect(!w.isRunning, "a worker did not exit within 30 s of SIGTERM")
            if w.isRunning { kill(w.processIdentifier, SIGKILL) }
            w.waitUntilExit()
            #expect(w.terminationReason == .exit && w.terminationStatus == 0)
        }
        try? log.close()
        let failures = all.filter { $0["status"] as? String != "done" }
        let logText = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        #expect(failures.isEmpty, "\(failures)\n\(logText.split(separator: "\n").filter { $0.contains("warning") || $0.contains("error") }.prefix(20).joined(separator: "\n"))")
        #expect(kills >= 3, "the conversions finished before any worker was killed")
        expectEachDoneOnce(all, count: 30)
        let (images, orphaned, retried) = try stored(data)
        #expect(images == 30 && orphaned == 0)
        print("(b): \(kills) kills, \(retried) job(s) ran again after one")
    }
}
