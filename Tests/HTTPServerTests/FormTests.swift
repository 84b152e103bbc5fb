@testable import HTTPServer
import Testing

@Suite("Forms, cookies, content coding")
struct FormTests {
    static func request(contentType: String, body: String) -> Request {
        var head = try! #require(try parse("POST /f HTTP/1.1\r\nHost: t\r\nContent-Type: \(contentType)\r\n\r\n")).0
        head.framing = .length(body.utf8.count)
        return Request(http: HTTPRequest(head: head, body: Array(body.utf8)), parameters: [:])
    }

    @Test("query strings and urlencoded bodies decode (+ is a space)")
    func urlEncoded() throws {
        let items = FormData.parseURLEncoded("name=Chihiro+Ogino&city=Aburaya%20%E6%B9%AF&empty=&flag")
        #expect(items.map(\.name) == ["name", "city", "empty", "flag"])
        #expect(items.map(\.value) == ["Chihiro Ogino", "Aburaya 湯", "", ""])
        let fields = try Self.request(contentType: "application/x-www-form-urlencoded", body: "a=1&b=two").formFields()
        #expect(fields.map(\.text) == ["1", "two"])
    }

    @Test("multipart bodies: fields, files, quoted names")
    func multipart() throws {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"style\"\r\n\r\nhayao\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"my \\\"cat\\\".png\"\r\nContent-Type: image/png\r\n\r\n\u{89}PNG\r\n\r\nbytes\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n\r\n--XyZ--\r\n"
        let parts = try Self.request(contentType: "multipart/form-data; boundary=XyZ", body: body).formFields()
        #expect(parts.count == 3)
        #expect(parts[0].name == "style" && parts[0].text == "hayao" && parts[0].filename == nil)
        #expect(parts[1].name == "image" && parts[1].filename == "my \"cat\".png" && parts[1].contentType == "image/png")
        #expect(parts[1].text == "\u{89}PNG\r\n\r\nbytes")
        #expect(parts[2].name == "note" && parts[2].data.isEmpty)
    }

    @Test("broken or oversized multipart bodies are refused", arguments: [
        ("--A\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nno end", 400),
        ("no boundary here", 400),
        ("--A\r\nContent-Type: text/plain\r\n\r\nnameless\r\n--A--", 400),
        ("--A\r\nContent-Disposition: attachment; name=\"x\"\r\n\r\nv\r\n--A--", 400),
        ("--A\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n0123456789ABCDEF\r\n--A--", 413),
        (String(repeating: "--A\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n", count: 5) + "--A--", 413),
    ])
    func brokenMultipart(body: String, status: Int) {
        let request = Self.request(contentType: "multipart/form-data; boundary=\"A\"", body: body)
        #expect {
            _ = try request.formFields(limits: MultipartLimits(maxParts: 4, maxPartBytes: 10))
        } throws: { ($0 as? HTTPError)?.status.code == status }
    }

    @Test("forms in other media types are refused with 415")
    func unsupported() {
        #expect { _ = try Self.request(contentType: "application/json", body: "{}").formFields() }
            throws: { ($0 as? HTTPError)?.status.code == 415 }
    }

    @Test("cookies: parsing and Set-Cookie attributes")
    func cookies() {
        let headers: HTTPHeaders = ["Cookie": "session=abc.def; theme=\"dark\"; session=second", "X": "y"]
        #expect(Cookies.parse(headers) == ["session": "abc.def", "theme": "dark"])
        let cookie = SetCookie(name: "session", value: "t0k3n", maxAge: 604800, secure: true)
        #expect(cookie.headerValue == "session=t0k3n; Path=/; Max-Age=604800; Secure; HttpOnly; SameSite=Lax")
        #expect(SetCookie.expired("session").headerValue == "session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")
    }

    @Test("cookie pairs: blanks around parts, = inside values, pairs without a name or =", arguments: [
        ("a=1;b=2", ["a": "1", "b": "2"]),
        (" a = 1 ;\tb=\t2\t", ["a": "1", "b": "2"]),
        ("t=x==y; u=", ["t": "x==y", "u": ""]),
        (";;=nameless; novalue; c=3;", ["c": "3"]),
        ("q=\"\"; r=\"; s=\"a b\"", ["q": "", "r": "\"", "s": "a b"]),
        ("k=우리; k=second", ["k": "우리"]),
        ("", [:]),
    ] as [(String, [String: String])])
    func cookiePairs(header: String, expected: [String: String]) {
        #expect(Cookies.parse(["Cookie": header]) == expected)
    }

    @Test("gzip only when accepted, only for text worth compressing", arguments: [
        ("gzip", "text/html", 2000, true), ("deflate, gzip;q=0.5", "application/json", 2000, true),
        ("gzip;q=0", "text/html", 2000, false), ("*", "text/css", 2000, true), ("br", "text/html", 2000, false),
        ("gzip", "image/png", 2000, false), ("gzip", "text/html", 100, false), ("", "text/html", 2000, false),
    ])
    func gzip(accept: String, type: String, size: Int, compressed: Bool) {
        let response = HTTPResponse(headers: ["Content-Type": type], body: Array(String(repeating: "abcdefgh", count: size / 8).utf8))
        let result = ContentCoding.negotiate(["Accept-Encoding": accept], response: response) ?? response
        #expect((result.headers["Content-Encoding"] == "gzip") == compressed)
        if compressed { #expect(result.body.starts(with: [0x1F, 0x8B]) && result.body.count < response.body.count) }
    }

    @Test("a form parsed once (for the CSRF token) is handed on: no second parse, the raw body dropped, the handler's limits still apply")
    func parsedOnce() throws {
        let body = "--B\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ntoken\r\n"
            + "--B\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n" + String(repeating: "p", count: 5000) + "\r\n--B--\r\n"
        var request = Self.request(contentType: "multipart/form-data; boundary=B", body: body)
        let first = try request.parseFormOnce()
        #expect(first.first?.text == "token" && request.body.isEmpty)
        #expect(try request.formFields().map(\.name) == ["_csrf", "image"])
        #expect(throws: HTTPError.self) { try request.formFields(limits: MultipartLimits(maxParts: 64, maxPartBytes: 4000)) }
        #expect(throws: HTTPError.self) { try request.formFields(limits: MultipartLimits(maxParts: 1, maxPartBytes: 10_000)) }
    }
}
