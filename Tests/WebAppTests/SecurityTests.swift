import Foundation
import HTTPServer
import Synchronization
import Testing
import TestSupport
@testable import WebApp

/// Regression tests for the holes a hostile visitor found (issue 12), one or more per item.
@Suite("Security regressions", .serialized)
struct SecurityTests {
    /// The markup an attacker wants on the page, glued to marks that form one grapheme cluster
    /// with `<` (U+0600, a prepended mark) or with `"` (U+0301, a combining mark).
    static let meta = "\u{600}<meta http-equiv=refresh content=\"0;url=https://evil.example/\">"
    static let attributeBreak = "\"\u{301}><meta http-equiv=refresh content=0;url=//evil.example>"

    static func percentEncoded(_ text: String) -> String {
        text.utf8.map { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) ? String(UnicodeScalar(b)) : String(format: "%%%02X", b)
        }.joined()
    }

    @Test("item 1: marks glued to < or \" never smuggle markup into pages (stored and reflected)")
    func combiningMarks() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 30)
        let token = try c.member("satsuki")
        // Stored: a movie title, shown on /movies, on its page and in its SVG plots' labels.
        let posted = try c.send("POST", "/api/v1/movies", token: token, multipart: MultipartBody(
            files: [("c.csv", Array("x,y,z\n1,2,3\n200,10,10\n".utf8))], fields: [("title", "X" + Self.meta)], field: "csv"))
        #expect(posted.status == 201)
        let id = try #require(object(posted)["id"] as? String)
        // Reflected: a query value, a path, and the login page's `next` (an attribute value).
        let pages = [
            "/movies", "/movies/\(id)",
            "/explore?sort=" + Self.percentEncoded(Self.meta),
            "/" + Self.percentEncoded(Self.meta),
            "/login?next=" + Self.percentEncoded("/" + Self.attributeBreak),
            "/movies/\(id)?turn=" + Self.percentEncoded(Self.meta),
        ]
        for path in pages {
            // A fresh connection each: a refused request (400) closes its connection.
            let r = try LoopbackClient(port: app.port).send("GET", path)
            #expect(!r.body.contains("<meta http-equiv=refresh"), "\(path) → \(r.status)")
            #expect(!r.body.unicodeScalars.contains("\u{600}") || r.body.contains("\u{600}&lt;meta"), "\(path)")
        }
        let movie = try c.send("GET", "/movies/\(id)").body
        #expect(movie.contains("X\u{600}&lt;meta http-equiv=refresh content=&quot;0;url="))
    }

    @Test("item 7: a redirect target is a path on this site or nothing", arguments: [
        ("/gallery", "/gallery"), ("/i/abc?x=1#top", "/i/abc?x=1#top"), ("/caf\u{E9}", "/caf%C3%A9"),
        ("/\t/evil.example/", nil), ("/\n/evil.example", nil), ("//evil.example", nil), ("/\\evil.example", nil),
        ("/a\\b", nil), ("https://evil.example", nil), ("evil.example", nil), ("", nil), ("/ /x", nil),
        ("/\u{7F}/x", nil), ("/\u{85}/x", nil), ("/\u{2028}/x", nil),
    ] as [(String, String?)])
    func localRedirect(candidate: String, expected: String?) {
        #expect(LocalRedirect.path(candidate) == expected)
    }

    @Test("item 7: login never sends a browser off-site, whatever `next` says", arguments: [
        "/%09/evil.example/", "%2F%2Fevil.example", "/%5Cevil.example", "/%0d%0aLocation:%20https://evil.example", "https://evil.example",
    ])
    func loginNext(next: String) throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let b = try Browser(port: app.port)
        _ = try b.client.json("POST", "/api/v1/auth/signup", body: #"{"username":"chihiro","password":"a long enough secret phrase"}"#)
        let page = try b.request("GET", "/login?next=\(next)")
        #expect(page.status == 200 && !page.body.contains("evil.example"))
        let token = try #require(Browser.csrf(in: page.body))
        let decoded = next.removingPercentEncoding ?? next
        let login = try b.request("POST", "/login", form: ["username": "chihiro", "password": "a long enough secret phrase",
                                                           "_csrf": token, "next": decoded])
        #expect(login.status == 303 && login.headers["location"] == "/")
    }

    @Test("item 10: a title is counted as the database counts it; no input is a 500")
    func lengthRule() throws {
        // x + acute has no precomposed form, so NFC keeps 2 scalars per cluster.
        let combining = String(repeating: "x\u{301}", count: 100) // 100 clusters, 200 scalars
        #expect(throws: (any Error).self) { try MovieService.info(title: combining, year: nil, director: nil, notes: nil) }
        #expect((try? MovieService.info(title: String(repeating: "x\u{301}", count: 60), year: nil, director: nil, notes: nil)) != nil)
        // e + acute is é after NFC: 100 scalars, within the limit (and stored composed).
        let composed = try MovieService.info(title: String(repeating: "e\u{301}", count: 100), year: nil, director: nil, notes: nil)
        #expect(composed.title == String(repeating: "\u{E9}", count: 100))
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 30)
        let token = try c.member("satsuki")
        let csv = Array("x,y,z\n1,2,3\n".utf8)
        for (field, value) in [("title", combining), ("director", combining), ("notes", String(repeating: "q\u{308}", count: 2001))] {
            var fields = [("title", "Fine"), (field, value)]
            if field == "title" { fields = [(field, value)] }
            let r = try c.send("POST", "/api/v1/movies", token: token, multipart: MultipartBody(files: [("c.csv", csv)], fields: fields, field: "csv"))
            #expect(r.status == 400, "\(field) → \(r.status) \(r.body)")
        }
        #expect(try storedMovieCounts(data) == [0, 0, 0])
    }

    @Test("item 11: the data folder is 0700 and the database files 0600, also when they were wider")
    func filePermissions() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-perm-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        _ = FileManager.default.createFile(atPath: data.appendingPathComponent("artworker.sqlite").path, contents: nil,
                                       attributes: [.posixPermissions: 0o644])
        let (app, _) = try startApp(data: data)
        defer { app.shutdown() }
        let c = try LoopbackClient(port: app.port, timeout: 30)
        _ = try c.member("satsuki") // writes: the WAL and shared-memory files exist now
        func mode(_ name: String) throws -> Int {
            let attributes = try FileManager.default.attributesOfItem(atPath: name.isEmpty ? data.path : data.appendingPathComponent(name).path)
            return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
        }
        #expect(try mode("") == 0o700)
        for file in ["artworker.sqlite", "artworker.sqlite-wal", "artworker.sqlite-shm", "jwt-secret"] {
            #expect(try mode(file) == 0o600, "\(file)")
        }
    }

    @Test("item 13: OPTIONS * is answered with Allow; hostile Hosts and bare LFs are 400 on the wire")
    func protocolStrictness() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        var c = try LoopbackClient(port: app.port)
        c.send("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n")
        let options = try c.response()
        #expect(options.status == 200 && options.headers["allow"]?.contains("GET") == true && options.headers["allow"]?.contains("OPTIONS") == true)
        for wire in ["GET / HTTP/1.1\nHost: t\r\n\r\n", "GET / HTTP/1.1\r\nHost: u@t\r\n\r\n", "GET / HTTP/1.1\r\nHost: t/x\r\n\r\n",
                     "GET / HTTP/1.1\r\nHost: \r\n\r\n", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", "GET /?x=%C0%AF HTTP/1.1\r\nHost: t\r\n\r\n"] {
            c = try LoopbackClient(port: app.port)
            c.send(wire)
            #expect(try c.response().status == 400, "\(wire.debugDescription)")
        }
    }

    @Test("item 6: a password change ends every other session; the one that made it stays signed in")
    func passwordChangeRevokes() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let b = try Browser(port: app.port)
        let signup = try #require(Browser.csrf(in: try b.request("GET", "/signup").body))
        _ = try b.request("POST", "/signup", form: ["username": "haku", "password": "bathhouse dragon flight", "_csrf": signup])
        let oldCookie = try #require(b.cookies["session"])
        let api = try LoopbackClient(port: app.port)
        let credentials = #"{"username":"haku","password":"bathhouse dragon flight"}"#
        let other = try #require(object(try api.json("POST", "/api/v1/auth/login", body: credentials))["token"] as? String)
        #expect(try api.json("GET", "/api/v1/me", token: other).status == 200)

        let csrf = try #require(Browser.csrf(in: try b.request("GET", "/account").body))
        let changed = try b.request("POST", "/account/password", form: ["current": "bathhouse dragon flight", "new": "kamaji boiler room", "_csrf": csrf])
        #expect(changed.status == 303 && changed.headers["location"] == "/account")
        #expect(b.cookies["session"] != oldCookie)
        let account = try b.request("GET", "/account")
        #expect(account.status == 200 && account.body.contains("Your password was changed.")) // still signed in here
        #expect(try api.json("GET", "/api/v1/me", token: other).status == 401) // and nowhere else
        b.cookies["session"] = oldCookie
        #expect(try b.request("GET", "/account").status == 303)
        // A new login with the new password works; deleting the account ends that one too.
        let fresh = try #require(object(try api.json("POST", "/api/v1/auth/login",
                                                     body: #"{"username":"haku","password":"kamaji boiler room"}"#))["token"] as? String)
        #expect(try api.json("GET", "/api/v1/me", token: fresh).status == 200)
    }

    @Test("item 5: 40 wrong passwords at once get at most 5 tries; the count survives a restart; a stranger cannot lock a member out")
    func loginThrottle() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-throttle-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        var (app, _) = try startApp(data: data)
        let port = app.port
        _ = try LoopbackClient(port: port).json("POST", "/api/v1/auth/signup", body: #"{"username":"yubaba","password":"bathhouse contracts"}"#)
        let statuses = Mutex<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: 40) { _ in
            let status = (try? LoopbackClient(port: port, timeout: 30)
                .json("POST", "/api/v1/auth/login", body: #"{"username":"yubaba","password":"wrong guess here"}"#).status) ?? -1
            statuses.withLock { $0.append(status) }
        }
        let seen = statuses.withLock { $0 }
        #expect(seen.filter { $0 == 401 }.count <= 5 && seen.filter { $0 == 429 }.count >= 35, "\(seen)")
        #expect(seen.allSatisfy { $0 == 401 || $0 == 429 })

        // A restart forgets nothing: the right password from the same address still waits.
        app.shutdown()
        (app, _) = try startApp(data: data)
        defer { app.shutdown() }
        let same = try LoopbackClient(port: app.port)
        let limited = try same.json("POST", "/api/v1/auth/login", body: #"{"username":"yubaba","password":"bathhouse contracts"}"#)
        #expect(limited.status == 429 && Int(limited.headers["retry-after"] ?? "") ?? 0 > 0)
        // The member, elsewhere, is slowed at most a minute, never locked out for the window.
        let member = try LoopbackClient(port: app.port, source: "127.0.0.2")
        var status = 0
        for _ in 0..<70 {
            status = try member.json("POST", "/api/v1/auth/login", body: #"{"username":"yubaba","password":"bathhouse contracts"}"#).status
            if status != 429 { break }
            Thread.sleep(forTimeInterval: 1)
        }
        #expect(status == 200)
    }

    @Test("item 5: sign-ups are limited per address")
    func signupLimit() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, source: "127.0.0.3")
        for i in 0..<10 {
            #expect(try c.json("POST", "/api/v1/auth/signup", body: #"{"username":"spirit\#(i)","password":"no face gold nuggets"}"#).status == 201)
        }
        let refused = try c.json("POST", "/api/v1/auth/signup", body: #"{"username":"spirit10","password":"no face gold nuggets"}"#)
        #expect(refused.status == 429 && refused.headers["retry-after"] != nil)
        #expect(try LoopbackClient(port: app.port, source: "127.0.0.4")
            .json("POST", "/api/v1/auth/signup", body: #"{"username":"spirit11","password":"no face gold nuggets"}"#).status == 201)
    }

    @Test("item 2: a stranger's upload is held to the small limit before its body is read")
    func memoryBeforeAuthentication() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        for (path, length) in [("/movies", 199_000_000), ("/api/v1/movies", 199_000_000), ("/cartoonize", 60_000_000),
                               ("/api/v1/conversions", 60_000_000)] {
            let c = try LoopbackClient(port: app.port)
            c.send("POST \(path) HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: \(length)\r\n\r\n")
            #expect(try c.response().status == 413, "\(path)")
        }
        // A member's head (bearer token, checked before the body) earns the member's limit.
        let c = try LoopbackClient(port: app.port)
        let token = try c.member("satsuki")
        c.send("POST /api/v1/movies HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(token)\r\nExpect: 100-continue\r\n"
               + "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 150000000\r\n\r\n")
        #expect(try c.response().status == 100)
        #expect(try LoopbackClient(port: app.port).send("GET", "/healthz").status == 200)
    }

    /// A ZIP whose directory names one deflated entry `copies` times (overlapping entries).
    static func overlappingZip(copies: Int) -> [UInt8] {
        let one = makeZip([("a.png", Frames.png + [UInt8](repeating: 0, count: 1_000_000), true)])
        func u32(_ b: [UInt8], _ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 | Int(b[i + 2]) << 16 | Int(b[i + 3]) << 24 }
        let end = one.count - 22, offset = u32(one, end + 16)
        let record = Array(one[offset..<end])
        let directory = (0..<copies).flatMap { _ in record }
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func le32(_ v: Int) -> [UInt8] { le16(v & 0xFFFF) + le16(v >> 16) }
        return Array(one[..<offset]) + directory + [0x50, 0x4B, 0x05, 0x06, 0, 0, 0, 0] + le16(copies) + le16(copies)
            + le32(directory.count) + le32(offset) + [0, 0]
    }

    /// A PNG that is only a signature and an IHDR claiming `side`×`side` pixels.
    static func headerOnlyPNG(side: Int) -> [UInt8] {
        func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + be32(13) + Array("IHDR".utf8) + be32(side) + be32(side)
            + [8, 2, 0, 0, 0] + be32(0) + be32(0) + Array("IEND".utf8) + be32(0)
    }

    @Test("item 3: overlapping ZIP entries, one inflation budget across a request's ZIPs, a pixel budget per movie")
    func zipAmplification() throws {
        #expect(throws: ZipArchive.FormatError.self) { try ZipArchive(Self.overlappingZip(copies: 16)) }
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 60)
        let token = try c.member("satsuki")
        func post(_ files: [(String, [UInt8])]) throws -> LoopbackClient.Response {
            try c.send("POST", "/api/v1/movies", token: token, multipart: MultipartBody(files: files, fields: [("title", "Bomb")], field: "frames"))
        }
        let overlapping = try post([("film.zip", Self.overlappingZip(copies: 16))])
        #expect(overlapping.status == 422 && (object(overlapping)["error"] as? String ?? "").contains("overlap"))
        // Nine small ZIPs, each a 24 MB frame (a PNG header, then zeros): 216 MB > the 200 MB budget.
        let padded = makeZip([("f.png", Frames.png + [UInt8](repeating: 0, count: 24_000_000), true)])
        #expect(padded.count < 100_000)
        let nine = try post((0..<9).map { ("part\($0).zip", padded) })
        #expect(nine.status == 413 && (object(nine)["error"] as? String ?? "").contains("unpack to more than"), "\(nine.body)")
        // Seventy header-only 6000×6000 PNGs: 2.52 gigapixels of work from a few kilobytes.
        let huge = makeZip((0..<70).map { ("frame\($0).png", Self.headerOnlyPNG(side: 6000), false) })
        let pixels = try post([("huge.zip", huge)])
        #expect(pixels.status == 413 && (object(pixels)["error"] as? String ?? "").contains("megapixels"), "\(pixels.body)")
        #expect(try storedMovieCounts(data) == [0, 0, 0])
        #expect(try c.send("GET", "/healthz").status == 200)
    }

    @Test("item 9: 250,000 one-colour scenes import in linear time; the movie page stays small, its scenes paged")
    func hugeMovie() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 120)
        let token = try c.member("satsuki")
        var csv = "scene,tile,rank,r,g,b,h,s,v,hex,share\n"
        for scene in 1...250_000 { csv += "\(scene),1,1,\(scene % 256),\(scene / 256 % 256),\(scene % 7 * 30),0,0,0,#000000,1\n" }
        let started = Date()
        let posted = try c.send("POST", "/api/v1/movies", token: token, multipart: MultipartBody(
            files: [("long.csv", Array(csv.utf8))], fields: [("title", "Long")], field: "csv"))
        #expect(posted.status == 201, "\(posted.body)")
        print("imported 250,000 scenes in \(Int(Date().timeIntervalSince(started) * 1000)) ms")
        let id = try #require(object(posted)["id"] as? String)
        for page in [1, 2, 4167] {
            let shown = Date()
            let r = try c.send("GET", "/movies/\(id)?page=\(page)")
            print("movie page \(page): \(r.bodyBytes.count) bytes in \(Int(Date().timeIntervalSince(shown) * 1000)) ms")
            // The fingerprint's stripe budget and merged plots hold the page near 370 KB (it was 102 MB).
            #expect(r.status == 200 && r.bodyBytes.count < 600_000)
            #expect(r.body.contains(#"id="scene-\#((page - 1) * 60 + 1)""#) && !r.body.contains(#"id="scene-\#(page * 60 + 1)""#))
            #expect(r.body.contains("later scenes") == (page < 4167))
        }
        #expect(try c.send("GET", "/movies/\(id)?page=0").status == 400)
    }
}
