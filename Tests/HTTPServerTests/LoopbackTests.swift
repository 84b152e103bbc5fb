import Foundation
import HTTPServer
import Logging
import Testing
import TestSupport

/// Starts a server on an ephemeral loopback port with test routes.
func startServer(configure: (inout HTTPServerConfiguration) -> Void = { _ in },
                 routes: (Router) -> Void = { _ in }) throws -> HTTPServer {
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
    // 100 bytes for strangers, 100 kB for a head that "signs in" (see isSignedIn below).
    router.add("POST", "/upload", bodyLimit: 100, signedInBodyLimit: 100_000) { request in .text("\(request.body.count)") }
    router.isSignedIn = { head in head.headers["Authorization"] == "Bearer member" }
    routes(router)
    var configuration = HTTPServerConfiguration()
    configuration.port = 0
    configuration.eventLoops = 2
    configure(&configuration)
    let server = HTTPServer(configuration: configuration, responder: router, logger: logger)
    try server.start()
    return server
}

/// The descriptors in this process that are sockets bound to `port`: the server's listener and the
/// connections it accepted. Counting only these (not every descriptor) keeps the leak check exact
/// while other suites open and close files in the same process.
func serverSockets(port: Int) -> Int {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return names.compactMap(Int32.init).filter { fd in
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        } == 0
        guard named else { return false } // not a socket (or already closed)
        return withUnsafePointer(to: &address) { p in
            switch Int32(p.pointee.ss_family) {
            case AF_INET: p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) == port }
            case AF_INET6: p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) == port }
            default: false
            }
        }
    }.count
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
        let server = try startServer { $0.headerTimeout = 0.6; $0.idleTimeout = 60 }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port, timeout: 30)
        let started = Date()
        client.send("GET /hello HTTP/1.1\r\n")
        // A byte every 50 ms for up to 12 s, until the server answers: a deadline that restarted
        // with each byte would never fire while the drip goes on.
        var drip = Array("Host: slow\r\nX-Drip: ".utf8)
        while !client.isReadable() && Date().timeIntervalSince(started) < 12 {
            client.send([drip.isEmpty ? UInt8(ascii: "x") : drip.removeFirst()])
            Thread.sleep(forTimeInterval: 0.05)
        }
        let r = try client.response()
        #expect(r.status == 408)
        #expect(Date().timeIntervalSince(started) < 8)
        #expect(client.isClosedByServer())
    }

    @Test("idle keep-alive connections are closed")
    func idleTimeout() throws {
        let server = try startServer { $0.idleTimeout = 0.5 }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port, timeout: 20)
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
        // Optimised builds end a value's lifetime at its last use: without this, a and b could
        // be closed before c connects, and c would be let in.
        withExtendedLifetime((a, b)) {}
    }

    @Test("clients that vanish mid-response leak nothing, and the server keeps serving")
    func resets() throws {
        let server = try startServer()
        defer { server.shutdown() }
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
        #expect(eventually { server.openConnections == 1 })
        // Left open: the listener and the one live connection's socket; the 20 reset ones are closed.
        #expect(serverSockets(port: server.port) == 2)
    }

    @Test("graceful shutdown finishes in-flight requests, then stops")
    func gracefulShutdown() throws {
        let handling = DispatchSemaphore(value: 0)
        let server = try startServer(routes: { router in
            router.addAsync("GET", "/held") { _ in
                handling.signal()
                try await Task.sleep(nanoseconds: 300_000_000)
                return .text("slow")
            }
        })
        let client = try LoopbackClient(port: server.port)
        client.send("GET /held HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(handling.wait(timeout: .now() + 10) == .success) // the request is in flight
        let stopped = DispatchSemaphore(value: 0)
        Thread.detachNewThread { server.shutdown(); stopped.signal() }
        let r = try client.response()
        #expect(r.status == 200 && r.body == "slow" && r.headers["connection"] == "close")
        #expect(stopped.wait(timeout: .now() + 10) == .success)
        #expect((try? LoopbackClient(port: server.port)) == nil) // no longer accepting
    }

    // MARK: issue 12, items 2 and 8

    @Test("one address cannot take every connection; others are still served")
    func perAddressCap() throws {
        let server = try startServer { $0.maxConnectionsPerAddress = 4 }
        defer { server.shutdown() }
        let hogs = try (0..<4).map { _ in try LoopbackClient(port: server.port, source: "127.0.0.5") }
        for hog in hogs { hog.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"); #expect(try hog.response().status == 200) }
        let fifth = try LoopbackClient(port: server.port, source: "127.0.0.5")
        let refused = try fifth.response()
        #expect(refused.status == 503 && refused.headers["retry-after"] != nil)
        let other = try LoopbackClient(port: server.port, source: "127.0.0.6")
        other.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try other.response().status == 200)
        hogs[0].send("GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        _ = try hogs[0].response()
        #expect(hogs[0].isClosedByServer())
        #expect(eventually { server.openConnections == 4 }, "\(server.openConnections) open") // three hogs and the other address
        let again = try LoopbackClient(port: server.port, source: "127.0.0.5")
        again.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try again.response().status == 200) // a slot came free
        withExtendedLifetime((hogs, other)) {} // the other three hogs stay connected throughout
    }

    @Test("a connection that sends nothing is closed at the head deadline, not the idle one")
    func silentConnection() throws {
        let server = try startServer { $0.headerTimeout = 0.5; $0.idleTimeout = 60 }
        defer { server.shutdown() }
        let silent = try LoopbackClient(port: server.port, timeout: 40)
        let started = Date()
        #expect(silent.isClosedByServer())
        #expect(Date().timeIntervalSince(started) < 20) // far from the 60 s idle timeout
    }

    @Test("a body trickled a byte at a time is cut off once its average rate is too low")
    func trickledBody() throws {
        let server = try startServer { $0.bodyRateGrace = 0.5; $0.minBodyRate = 1000; $0.idleTimeout = 60 }
        defer { server.shutdown() }
        let client = try LoopbackClient(port: server.port, timeout: 30)
        client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 900\r\n\r\n")
        let started = Date()
        // One byte every 0.2 s (it never pauses long, yet averages 5 bytes a second) for up to
        // 12 s, until the server answers; the drip stays on this thread so it cannot outlive the
        // client's descriptor.
        while !client.isReadable() && Date().timeIntervalSince(started) < 12 {
            client.send("x")
            Thread.sleep(forTimeInterval: 0.2)
        }
        let answer = try client.response()
        #expect(Date().timeIntervalSince(started) < 8)
        #expect(answer.status == 408)
    }

    @Test("a stranger's body limit applies before the body is read; a session's head earns the larger one")
    func signedInLimit() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let stranger = try LoopbackClient(port: server.port)
        stranger.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 50000\r\n\r\n")
        #expect(try stranger.response().status == 413)
        let member = try LoopbackClient(port: server.port)
        member.send("POST /upload HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer member\r\nContent-Length: 50000\r\n\r\n"
                    + String(repeating: "z", count: 50000))
        let r = try member.response()
        #expect(r.status == 200 && r.body == "50000")
    }

    @Test("bodies in flight are capped server-wide: 503 with Retry-After, then room again")
    func bodiesInFlight() throws {
        let server = try startServer { $0.maxBodyBytesInFlight = 150_000 }
        defer { server.shutdown() }
        let first = try LoopbackClient(port: server.port)
        first.send("POST /upload HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer member\r\nContent-Length: 100000\r\n\r\n" + String(repeating: "a", count: 10))
        #expect(eventually { server.bufferedBodyBytes == 100_000 })
        let second = try LoopbackClient(port: server.port)
        second.send("POST /upload HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer member\r\nContent-Length: 100000\r\n\r\n")
        let busy = try second.response()
        #expect(busy.status == 503 && busy.headers["retry-after"] == "5")
        first.send(String(repeating: "a", count: 99_990))
        #expect(try first.response().body == "100000")
        #expect(server.bufferedBodyBytes == 0)
        let third = try LoopbackClient(port: server.port)
        third.send("POST /upload HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer member\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        #expect(try third.response().body == "5")
        #expect(server.bufferedBodyBytes == 0)
    }
}
