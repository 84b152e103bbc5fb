import Foundation
import HTTPServer
import Logging
import Testing
import TestSupport

/// Starts a server on an ephemeral loopback port with test routes.
func startServer(configure: (inout HTTPServerConfiguration) -> Void = { _ in }) throws -> HTTPServer {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let router = Router(defaultBodyLimit: 1000, logger: logger)
    router.get("/hello") { _ in .text("hi") }
    router.get("/items/:id") { request in .text("item \(request.parameter("id")!)") }
    router.post("/echo", bodyLimit: 1000) { request in HTTPResponse(body: request.body) }
    router.get("/boom") { _ in throw CocoaError(.fileNoSuchFile) }
    router.get("/teapot") { _ in throw HTTPError(HTTPStatus(418, "I'm a teapot"), "short and stout") }
    router.addAsync("GET", "/slow") { _ in
        try await Task.sleep(nanoseconds: 300_000_000)
        return .text("slow")
    }
    router.get("/big") { _ in HTTPResponse(body: [UInt8](repeating: 65, count: 8 * 1024 * 1024)) }
    var configuration = HTTPServerConfiguration()
    configuration.port = 0
    configuration.eventLoops = 2
    configure(&configuration)
    let server = HTTPServer(configuration: configuration, responder: router, logger: logger)
    try server.start()
    return server
}

func openFileDescriptors() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}

@Suite("HTTP server over loopback", .serialized)
struct LoopbackTests {
    @Test("keep-alive: several requests on one connection")
    func keepAlive() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        for i in 0..<3 {
            client.send("GET /items/\(i) HTTP/1.1\r\nHost: t\r\n\r\n")
            let r = try client.response()
            #expect(r.status == 200 && r.body == "item \(i)")
            #expect(r.headers["connection"] == nil && r.headers["date"] != nil)
        }
    }

    @Test("pipelined requests are answered in order")
    func pipelining() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        client.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\nGET /items/2 HTTP/1.1\r\nHost: t\r\n\r\nPOST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabcGET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try client.response().body == "slow")
        #expect(try client.response().body == "item 2")
        #expect(try client.response().body == "abc")
        #expect(try client.response().body == "hi")
    }

    @Test("an oversized upload gets 413 before its body is read")
    func contentTooLarge() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 50000\r\n\r\n")
        let r = try client.response()
        #expect(r.status == 413 && r.headers["connection"] == "close")
        #expect(client.isClosedByServer())
    }

    @Test("Expect: 100-continue gets 100 before the body, or 413 instead of it")
    func expectContinue() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        #expect(try client.response().status == 100)
        client.send("hello")
        #expect(try client.response().body == "hello")
        client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
        #expect(try client.response().status == 413)
    }

    @Test("chunked request bodies")
    func chunkedBody() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        client.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        Thread.sleep(forTimeInterval: 0.05)
        client.send("2;x=y\r\nde\r\n0\r\n\r\n")
        #expect(try client.response().body == "abcde")
    }

    @Test("malformed requests get 400 and the connection is closed")
    func malformed() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        client.send("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
        let r = try client.response()
        #expect(r.status == 400)
        #expect(client.isClosedByServer())
    }

    @Test("a slowloris client is cut off at the header deadline")
    func slowloris() throws {
        let server = try startServer { $0.headerTimeout = 0.6 }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port, timeout: 3)
        let started = Date()
        client.send("GET /hello HTTP/1.1\r\n")
        for byte in "Host: slow\r\nX-Drip: ".utf8 {
            client.send([byte])
            Thread.sleep(forTimeInterval: 0.05)
            if Date().timeIntervalSince(started) > 1.5 { break }
        }
        let r = try client.response()
        #expect(r.status == 408)
        #expect(Date().timeIntervalSince(started) < 2)
        #expect(client.isClosedByServer())
    }

    @Test("idle keep-alive connections are closed")
    func idleTimeout() throws {
        let server = try startServer { $0.idleTimeout = 0.5 }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port, timeout: 3)
        client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try client.response().status == 200)
        #expect(client.isClosedByServer())
    }

    @Test("404, 405 with Allow, HEAD, errors become pages with a request id")
    func routing() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        client.send("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try client.response().status == 404)
        client.send("DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        let notAllowed = try client.response()
        #expect(notAllowed.status == 405 && notAllowed.headers["allow"] == "GET, HEAD")
        client.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        let head = try client.response(method: "HEAD")
        #expect(head.status == 200 && head.headers["content-length"] == "2" && head.body.isEmpty)
        client.send("GET /teapot HTTP/1.1\r\nHost: t\r\n\r\n")
        let teapot = try client.response()
        #expect(teapot.status == 418 && teapot.body.contains("short and stout"))
        client.send("GET /boom HTTP/1.1\r\nHost: t\r\n\r\n")
        let boom = try client.response()
        #expect(boom.status == 500 && boom.body.contains("request id") && !boom.body.contains("NSCocoa"))
        client.send("GET /../../etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try client.response().status == 404)
    }

    @Test("HTTP/1.0 closes unless keep-alive is asked for")
    func http10() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port)
        client.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try client.response().headers["connection"] == "keep-alive")
        client.send("GET /hello HTTP/1.0\r\n\r\n")
        #expect(try client.response().headers["connection"] == "close")
        #expect(client.isClosedByServer())
    }

    @Test("over the connection limit, new connections get 503 with Retry-After")
    func saturation() throws {
        let server = try startServer { $0.maxConnections = 2 }
        defer { server.shutdown() }
        let a = try LoopbackClient(port: server.port), b = try LoopbackClient(port: server.port)
        a.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        b.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try a.response().status == 200 && b.response().status == 200)
        let c = try LoopbackClient(port: server.port)
        let r = try c.response()
        #expect(r.status == 503 && r.headers["retry-after"] == "1")
    }

    @Test("clients that vanish mid-response leak nothing, and the server keeps serving")
    func resets() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let baseline = openFileDescriptors()
        for _ in 0..<20 {
            let client = try LoopbackClient(port: server.port)
            client.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
            client.fill()
            var linger = linger(l_onoff: 1, l_linger: 0) // close with RST
            setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
        }
        let client = try LoopbackClient(port: server.port)
        client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try client.response().body == "hi")
        var waited = 0.0
        while server.openConnections > 1 && waited < 3 { Thread.sleep(forTimeInterval: 0.05); waited += 0.05 }
        #expect(server.openConnections == 1)
        // The open client holds two descriptors in this process: its socket and the server's.
        #expect(openFileDescriptors() <= baseline + 2)
    }

    @Test("graceful shutdown finishes in-flight requests, then stops")
    func gracefulShutdown() throws {
        let server = try startServer()
        let client = try LoopbackClient(port: server.port)
        client.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        Thread.sleep(forTimeInterval: 0.05)
        let stopped = DispatchSemaphore(value: 0)
        Thread.detachNewThread { server.shutdown(); stopped.signal() }
        let r = try client.response()
        #expect(r.status == 200 && r.body == "slow" && r.headers["connection"] == "close")
        #expect(stopped.wait(timeout: .now() + 5) == .success)
        #expect((try? LoopbackClient(port: server.port)) == nil) // no longer accepting
    }
}
