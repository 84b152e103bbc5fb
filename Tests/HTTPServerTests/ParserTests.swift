import HTTPServer
import Testing

func parse(_ wire: String, limits: HTTPLimits = HTTPLimits()) throws(HTTPParseError) -> (RequestHead, Int)? {
    let bytes = Array(wire.utf8)
    return try bytes.withUnsafeBufferPointer { (b) throws(HTTPParseError) -> (RequestHead, Int)? in
        try RequestHeadParser.parse(b, limits: limits)
    }
}

@Suite("Request parser (RFC 9112)")
struct ParserTests {
    @Test("a plain GET")
    func plainGet() throws {
        let wire = "GET /gallery?page=2&sort=new HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"
        let (head, used) = try #require(try parse(wire))
        #expect(used == wire.utf8.count)
        #expect(head.method == "GET" && head.path == "/gallery" && head.query == "page=2&sort=new")
        #expect(head.version == .http1_1 && head.keepAlive && head.framing == .none)
        #expect(head.headers["host"] == "example.com" && head.headers["ACCEPT"] == "*/*")
    }

    @Test("an incomplete head asks for more bytes", arguments: ["", "GET", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: a\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r"])
    func incomplete(wire: String) throws {
        #expect(try parse(wire) == nil)
    }

    @Test("framing, persistence and expectations", arguments: [
        ("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", BodyFraming.length(12), true, false),
        ("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", .length(5), true, false),
        ("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", .chunked, true, false),
        ("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", .none, false, false),
        ("PUT /up HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\nExpect: 100-continue\r\n\r\n", .length(9), true, true),
        ("GET / HTTP/1.0\r\n\r\n", .none, false, false),
        ("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", .none, true, false),
        ("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, close\r\n\r\n", .none, false, false),
    ])
    func semantics(wire: String, framing: BodyFraming, keepAlive: Bool, expectsContinue: Bool) throws {
        let (head, _) = try #require(try parse(wire))
        #expect(head.framing == framing)
        #expect(head.keepAlive == keepAlive)
        #expect(head.expectsContinue == expectsContinue)
    }

    @Test("leading empty lines (CRLF) before the request line are ignored (RFC 9112 §2.2)")
    func leadingEmptyLines() throws {
        let (head, used) = try #require(try parse("\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(head.path == "/a" && used == 32)
    }

    @Test("Host values a server may take (RFC 9110 §7.2)", arguments: [
        "example.com", "example.com:8080", "EXAMPLE.com:", "127.0.0.1", "[::1]", "[::1]:80", "xn--9n2bp8q.kr", "a_b.local",
    ])
    func goodHosts(host: String) throws {
        let (head, _) = try #require(try parse("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n"))
        #expect(head.headers["Host"] == host)
    }

    @Test("a head fed one byte at a time is found once, at the same place")
    func incremental() throws {
        let wire = Array("\r\nPOST /up?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc".utf8)
        var scanner = HeadScanner()
        var found: Int? = nil
        for n in 1...wire.count where found == nil {
            found = try Array(wire[0..<n]).withUnsafeBufferPointer { (b) throws(HTTPParseError) -> Int? in
                try scanner.scan(b, limits: HTTPLimits())
            }
        }
        #expect(found == wire.count - 3)
        let head = try wire.withUnsafeBufferPointer { (b) throws(HTTPParseError) -> RequestHead in try scanner.head(b, limits: HTTPLimits()) }
        #expect(head.path == "/up" && head.query == "x=1" && head.framing == .length(3))
    }

    @Test("paths are decoded and normalised so '..' never reaches a handler", arguments: [
        ("/", "/"), ("/a/b/../c", "/a/c"), ("/../../etc/passwd", "/etc/passwd"), ("/a/./b/.", "/a/b/"),
        ("/%2e%2e/%2E%2E/secret", "/secret"), ("/caf%C3%A9", "/café"), ("//double//slash", "/double/slash"),
        ("/dir/", "/dir/"), ("/a/b/..", "/a/"), ("http://example.com/x/../y?q=1", "/y"), ("https://h", "/"),
    ])
    func paths(target: String, path: String) throws {
        let (head, _) = try #require(try parse("GET \(target) HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(head.path == path)
    }

    @Test("malformed and hostile requests get the right status", arguments: [
        ("bare CR in a line", "GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400),
        ("bare CR ending the request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n\r\n", 400),
        ("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
        ("no colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", 400),
        ("NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0}b\r\n\r\n", 400),
        ("non-token method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("empty method", " / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("missing version", "GET /\r\nHost: a\r\n\r\n", 400),
        ("lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400),
        ("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        ("HTTP/0.9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
        ("missing Host in 1.1", "GET / HTTP/1.1\r\nAccept: *\r\n\r\n", 400),
        ("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("CL and TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("differing CLs", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400),
        ("CL list differs", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\n", 400),
        ("negative CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
        ("CL with sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400),
        ("huge CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413),
        ("gzip transfer coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        ("chunked not final", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
        ("TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("unknown expectation", "GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 417),
        ("bad percent-encoding", "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("encoded slash", "GET /a%2Fb HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("encoded NUL", "GET /a%00 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("invalid UTF-8", "GET /%C3%28 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("fragment", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("authority-form", "CONNECT example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("asterisk for GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("target too long", "GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414),
        ("endless request line", "GET /" + String(repeating: "a", count: 9000), 414),
        ("head too large", "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "b", count: 40000) + "\r\n\r\n", 431),
        ("endless headers", "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "b", count: 40000), 431),
        ("too many fields", "GET / HTTP/1.1\r\nHost: a\r\n" + String(repeating: "X: y\r\n", count: 101) + "\r\n", 431),
        // Issue 12, item 13: strictness a proxy in front relies on.
        ("bare LF ending the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400),
        ("bare LF ending a header line", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400),
        ("bare LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400),
        ("bare LF before the request line", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("Host with userinfo", "GET / HTTP/1.1\r\nHost: user@evil.example\r\n\r\n", 400),
        ("Host with a path", "GET / HTTP/1.1\r\nHost: a.example/x\r\n\r\n", 400),
        ("empty Host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", 400),
        ("two hosts in one field", "GET / HTTP/1.1\r\nHost: a.example, b.example\r\n\r\n", 400),
        ("two hosts with a space", "GET / HTTP/1.1\r\nHost: a.example b.example\r\n\r\n", 400),
        ("Host with a bad port", "GET / HTTP/1.1\r\nHost: a.example:80x\r\n\r\n", 400),
        ("Host port out of range", "GET / HTTP/1.1\r\nHost: a.example:99999\r\n\r\n", 400),
        ("unclosed IP literal", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400),
        ("overlong UTF-8 in the path", "GET /%C0%AF HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("overlong UTF-8 in the query", "GET /a?next=%C0%AFetc HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("overlong NUL in the query", "GET /a?x=%C0%80 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("bad escape in the query", "GET /a?x=%G1 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ])
    func hostile(name: String, wire: String, status: Int) {
        do {
            _ = try parse(wire)
            Issue.record("\(name): accepted")
        } catch {
            #expect(error.status.code == status, "\(name): \(error)")
        }
    }

    @Test("chunked bodies decode, fed whole or byte by byte")
    func chunked() throws {
        let wire = Array("4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\nNEXT".utf8)
        for step in [wire.count, 1, 3] {
            var decoder = ChunkedDecoder(maxBody: 100)
            var body: [UInt8] = []
            var offset = 0
            var pending: [UInt8] = []
            while !decoder.isDone && offset < wire.count {
                pending += wire[offset..<min(offset + step, wire.count)]
                offset += step
                let used = try pending.withUnsafeBufferPointer { (b) throws(HTTPParseError) -> Int in try decoder.feed(b, into: &body) }
                pending.removeFirst(used)
            }
            #expect(decoder.isDone)
            #expect(String(decoding: body, as: UTF8.self) == "Wikipedia in\r\n\r\nchunks.")
            #expect(String(decoding: pending + wire[min(offset, wire.count)...], as: UTF8.self) == "NEXT")
        }
    }

    @Test("broken chunked bodies are refused", arguments: [
        ("zz\r\n", 400), ("4\r\nWikiX\r\n", 400), ("4\nWiki\r\n", 400), ("fffffffffffffffffff\r\n", 400), ("65\r\n", 413),
    ])
    func brokenChunked(wire: String, status: Int) {
        var decoder = ChunkedDecoder(maxBody: 100)
        var body: [UInt8] = []
        do {
            _ = try Array(wire.utf8).withUnsafeBufferPointer { (b) throws(HTTPParseError) -> Int in try decoder.feed(b, into: &body) }
            Issue.record("accepted \(wire)")
        } catch {
            #expect(error.status.code == status)
        }
    }
}

@Suite("Content-Disposition (RFC 6266, RFC 8187)")
struct ContentDispositionTests {
    @Test("names in any script travel as filename*, with an ASCII filename= first", arguments: [
        ("cup-hayao.png", "cup-hayao.png", #"attachment; filename="cup-hayao.png""#),
        ("우리집 고양이-hayao.png", "artworker-hayao-1a2b.png",
         #"attachment; filename="artworker-hayao-1a2b.png"; filename*=UTF-8''%EC%9A%B0%EB%A6%AC%EC%A7%91%20%EA%B3%A0%EC%96%91%EC%9D%B4-hayao.png"#),
        ("a \"b\" 100%.png", "a-b-100.png", #"attachment; filename="a-b-100.png"; filename*=UTF-8''a%20%22b%22%20100%25.png"#),
        ("x.png", "q\"u\\o.png", #"attachment; filename="q\"u\\o.png"; filename*=UTF-8''x.png"#),
        ("é.png", "é.png", #"attachment; filename="_.png"; filename*=UTF-8''%C3%A9.png"#),
    ])
    func value(name: String, fallback: String, expected: String) {
        #expect(ContentDisposition.value("attachment", filename: name, fallback: fallback) == expected)
    }
}
