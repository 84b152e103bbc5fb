@testable import HTTPServer
import Logging
import Synchronization
import Testing

@Suite("Router and middleware")
struct RouterTests {
    struct Tag: Middleware {
        let name: String
        func handle(_ request: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
            var request = request
            request.context["trail"] = ((request.context["trail"] as? String) ?? "") + name
            var response = try next(request)
            response.headers.add("X-Trail", name)
            return response
        }

        func handle(_ request: Request, next: (Request) async throws -> HTTPResponse) async throws -> HTTPResponse {
            var request = request
            request.context["trail"] = ((request.context["trail"] as? String) ?? "") + name
            var response = try await next(request)
            response.headers.add("X-Trail", name)
            return response
        }
    }

    struct Gate: Middleware {
        func handle(_ request: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
            if request.headers["Authorization"] == nil { throw HTTPError(.unauthorized, "sign in first") }
            return try next(request)
        }

        func handle(_ request: Request, next: (Request) async throws -> HTTPResponse) async throws -> HTTPResponse {
            if request.headers["Authorization"] == nil { throw HTTPError(.unauthorized, "sign in first") }
            return try await next(request)
        }
    }

    static func answer(_ router: Router, _ wire: String) throws -> HTTPResponse {
        let head = try #require(try parse(wire)).0
        let result = Mutex<HTTPResponse?>(nil)
        router.handle(HTTPRequest(head: head, id: "t1")) { response in result.withLock { $0 = response } }
        return try #require(result.withLock { $0 })
    }

    @Test("middleware runs in order around the handler, with an explicit next")
    func chain() throws {
        let router = Router(logger: Logger(label: "t"))
        router.use(Tag(name: "a"))
        router.use(Tag(name: "b"))
        router.use(Gate())
        router.get("/users/:name/images/:id") { request in
            .text("\(request.context["trail"] as! String) \(request.parameter("name")!) \(request.parameter("id")!)")
        }
        let ok = try Self.answer(router, "GET /users/mei/images/42 HTTP/1.1\r\nHost: t\r\nAuthorization: x\r\n\r\n")
        #expect(String(decoding: ok.body, as: UTF8.self) == "ab mei 42")
        #expect(ok.headers.values("X-Trail") == ["b", "a"]) // unwinds inner first
        let refused = try Self.answer(router, "GET /users/mei/images/42 HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(refused.status.code == 401 && String(decoding: refused.body, as: UTF8.self).contains("sign in first"))
        // A thrown error passes up through the middleware (which may catch it) to the router,
        // the one place errors become responses.
        #expect(refused.headers.values("X-Trail").isEmpty)
    }

    @Test("async routes get the same middleware")
    func asyncChain() async throws {
        let router = Router(logger: Logger(label: "t"))
        router.use(Tag(name: "a"))
        router.use(Gate())
        router.addAsync("GET", "/slow/:id") { request in
            try await Task.sleep(nanoseconds: 1_000_000)
            return .text("\(request.context["trail"] as! String) \(request.parameter("id")!)")
        }
        let head = try #require(try parse("GET /slow/9 HTTP/1.1\r\nHost: t\r\nAuthorization: x\r\n\r\n")).0
        let response: HTTPResponse = await withCheckedContinuation { continuation in
            router.handle(HTTPRequest(head: head, id: "t2")) { continuation.resume(returning: $0) }
        }
        #expect(String(decoding: response.body, as: UTF8.self) == "a 9" && response.headers.values("X-Trail") == ["a"])
    }

    @Test("routes match exactly; parameters are never empty; trailing slashes are equivalent")
    func matching() throws {
        let router = Router(logger: Logger(label: "t"))
        router.get("/a/:id") { request in .text(request.parameter("id")!) }
        router.get("/files/*rest") { request in .text(request.parameter("rest")!) }
        #expect(try Self.answer(router, "GET /a/7/ HTTP/1.1\r\nHost: t\r\n\r\n").body == Array("7".utf8))
        #expect(try Self.answer(router, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n").status.code == 404)
        #expect(try Self.answer(router, "GET /a/7/8 HTTP/1.1\r\nHost: t\r\n\r\n").status.code == 404)
        #expect(try Self.answer(router, "GET /files/x/y.css HTTP/1.1\r\nHost: t\r\n\r\n").body == Array("x/y.css".utf8))
        #expect(try Self.answer(router, "POST /a/7 HTTP/1.1\r\nHost: t\r\n\r\n").headers["Allow"] == "GET, HEAD")
    }

    @Test("once frozen (routes indexed by their first segment) the same route answers as before, the first added winning",
          arguments: [false, true])
    func firstMatchWins(frozen: Bool) throws {
        let router = Router(logger: Logger(label: "t"))
        router.get("/") { _ in .text("home") }
        router.get("/i/new") { _ in .text("literal") }
        router.get("/:who/profile") { request in .text("profile of " + request.parameter("who")!) }
        router.get("/i/:id") { request in .text("picture " + request.parameter("id")!) }
        router.post("/i/:id") { _ in .text("posted") }
        router.get("/static/*path") { request in .text("file " + request.parameter("path")!) }
        router.get("/*anything") { _ in .text("fallback") }
        if frozen { router.freeze() }
        let table = [("GET /", "home"), ("GET /i/new", "literal"), ("GET /i/7", "picture 7"), ("GET /i/profile", "profile of i"),
                     ("GET /mei/profile", "profile of mei"), ("GET /static/css/a.css", "file css/a.css"),
                     ("GET /static", "file "), ("GET /elsewhere/x", "fallback"), ("POST /i/7", "posted")]
        for (line, body) in table {
            let response = try Self.answer(router, line + " HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(String(decoding: response.body, as: UTF8.self) == body, "\(line)")
        }
        #expect(try Self.answer(router, "DELETE /i/7 HTTP/1.1\r\nHost: t\r\n\r\n").headers["Allow"] == "GET, HEAD, POST")
    }

    @Test("OPTIONS answers 200 with Allow: for '*' the whole server, else the resource (RFC 9110 §9.3.7)", arguments: [
        ("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n", 200, "DELETE, GET, HEAD, OPTIONS, POST"),
        ("OPTIONS /items/7 HTTP/1.1\r\nHost: t\r\n\r\n", 200, "DELETE, GET, HEAD, OPTIONS"),
        ("OPTIONS /upload HTTP/1.1\r\nHost: t\r\n\r\n", 200, "OPTIONS, POST"),
        ("OPTIONS /nowhere HTTP/1.1\r\nHost: t\r\n\r\n", 404, nil),
    ])
    func options(wire: String, status: Int, allow: String?) throws {
        let router = Router(logger: Logger(label: "t"))
        router.get("/items/:id") { _ in .text("item") }
        router.add("DELETE", "/items/:id") { _ in HTTPResponse(status: .noContent) }
        router.post("/upload") { _ in .text("ok") }
        let response = try Self.answer(router, wire)
        #expect(response.status.code == status)
        #expect(response.headers["Allow"] == allow)
    }
}
