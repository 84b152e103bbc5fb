import Foundation
import Testing
import TestSupport

@Suite("artworker serve")
struct ServeCommandTests {
    @Test("serves /healthz and exits 0 on SIGTERM after finishing")
    func serveAndStop() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-serve-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let (process, port) = try Self.startServer(data: data)
        let client = try LoopbackClient(port: port)
        client.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try client.response().body == #"{"status":"ok"}"#)
        #expect(FileManager.default.fileExists(atPath: data.path))
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    /// Starts `artworker serve` on an ephemeral port; returns the process and its port. The
    /// process is ended after `lifetime` seconds at the latest, whatever the test does.
    static func startServer(data: URL, arguments: [String] = [], environment: [String: String] = [:],
                            lifetime: Double = 20) throws -> (Process, Int) {
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["serve", "--port", "0", "--data", data.path, "--log-level", "warning"] + arguments
        process.currentDirectoryURL = SharedData.packageRoot
        // Metrics on any free port: servers of parallel tests must not race for 9464. No
        // examples: making them would only compete for the cores with what is tested.
        process.environment = ProcessInfo.processInfo.environment.merging(["ARTWORKER_BCRYPT_COST": "4", "ARTWORKER_METRICS_PORT": "0",
                                                                           "ARTWORKER_EXAMPLES": "off"]) { $1 }
            .merging(environment) { $1 }
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        DispatchQueue.global().asyncAfter(deadline: .now() + lifetime) { if process.isRunning { process.terminate() } }
        var line = ""
        while !line.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += String(decoding: chunk, as: UTF8.self)
        }
        return (process, try #require(line.split(separator: ":").last.flatMap { Int($0.filter(\.isNumber)) }))
    }

    @Test("an acknowledged sign-up survives the process being killed right after")
    func durableAfterKill() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-kill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let (first, port) = try Self.startServer(data: data)
        let body = #"{"username":"kamaji","password":"boiler room spider"}"#
        let client = try LoopbackClient(port: port)
        client.send("POST /api/v1/auth/signup HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        #expect(try client.response().status == 201)
        kill(first.processIdentifier, SIGKILL) // no shutdown, no checkpoint
        first.waitUntilExit()
        let (second, port2) = try Self.startServer(data: data)
        defer { kill(second.processIdentifier, SIGTERM); second.waitUntilExit() }
        let again = try LoopbackClient(port: port2)
        again.send("POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        #expect(try again.response().status == 200)
    }

    @Test("bad settings are refused before starting", arguments: [
        (["serve", "--port", "99999"], "port 99999 is outside"),
        (["serve", "--log-level", "loud"], "unknown log level"),
    ])
    func badSettings(arguments: [String], message: String) throws {
        let result = try CLI.run(arguments)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }
}
