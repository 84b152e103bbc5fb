import Foundation
import GRDB
import HTTPServer
import Localization
import StorageCore
import StorageSQLite
import Synchronization
import Testing
import TestSupport
@testable import WebApp

/// Kept pages (`PageCache`) and remembered session checks: sent again only while the database's
/// commit mark is unchanged, so a write anywhere — this server, a worker process, another node —
/// shows on the very next page.
@Suite("Kept pages", .serialized)
struct PageCacheTests {
    /// A commit mark the test moves by hand.
    final class Clock: Sendable {
        let value = Mutex(0)
        func commit() { value.withLock { $0 += 1 } }
        var version: @Sendable () throws -> DataVersion { { [self] in DataVersion(String(value.withLock { $0 })) } }
    }

    static func key(_ path: String, identity: String = "s:one") -> PageCache.Key {
        PageCache.Key(path: path, query: "", origin: "http://t", language: .en, identity: identity)
    }

    static func page(_ text: String, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/html"], body: Array(text.utf8))
    }

    @Test("a page is kept while the mark stays, made again after any commit; errors and cookies are never kept")
    func keeping() throws {
        let clock = Clock()
        let cache = PageCache(version: clock.version)
        var renders = 0
        func get(_ key: PageCache.Key, _ text: String, status: HTTPStatus = .ok, cookie: Bool = false) throws -> String {
            let response = try cache.page(key) {
                renders += 1
                var page = Self.page(text, status: status)
                if cookie { page.setCookie(SetCookie(name: "csrf", value: "new")) }
                return (page, nil)
            }
            return String(decoding: response.body, as: UTF8.self)
        }
        #expect(try get(Self.key("/gallery"), "v1") == "v1" && renders == 1)
        #expect(try get(Self.key("/gallery"), "v2") == "v1" && renders == 1) // kept
        #expect(try get(Self.key("/gallery", identity: "s:two"), "theirs") == "theirs" && renders == 2) // someone else's
        clock.commit()
        #expect(try get(Self.key("/gallery"), "v3") == "v3" && renders == 3) // stale after a commit
        #expect(try get(Self.key("/gallery", identity: "s:two"), "theirs 2") == "theirs 2")
        #expect(try get(Self.key("/missing"), "gone", status: .notFound) == "gone")
        #expect(try get(Self.key("/missing"), "gone again", status: .notFound) == "gone again")
        #expect(try get(Self.key("/first"), "a", cookie: true) == "a" && get(Self.key("/first"), "b", cookie: true) == "b")
        #expect(cache.count.pages == 2)
        // A version handed in by the request (read by the session middleware) is the one used.
        #expect(try String(decoding: cache.page(Self.key("/gallery"), version: DataVersion("old")) { (Self.page("old"), nil) }.body,
                           as: UTF8.self) == "old")
    }

    @Test("a page kept with a deadline is not sent after it, though nothing was committed")
    func deadline() throws {
        let cache = PageCache(version: Clock().version)
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        func get(at seconds: Double, _ text: String) throws -> String {
            String(decoding: try cache.page(Self.key("/i/x"), now: t0.addingTimeInterval(seconds)) {
                (Self.page(text), t0.addingTimeInterval(60))
            }.body, as: UTF8.self)
        }
        #expect(try get(at: 0, "a") == "a" && get(at: 59, "b") == "a" && get(at: 60, "c") == "c")
    }

    @Test("at most `capacity` bytes are kept; a page larger than that is sent but not kept")
    func bounded() throws {
        let cache = PageCache(version: Clock().version, capacity: 10_000)
        for i in 0..<100 {
            _ = try cache.page(Self.key("/p\(i)")) { (Self.page(String(repeating: "x", count: 900)), nil) }
            #expect(cache.count.bytes <= 10_000)
        }
        #expect(cache.count.pages > 0)
        let big = try cache.page(Self.key("/big")) { (Self.page(String(repeating: "y", count: 20_000)), nil) }
        #expect(big.body.count == 20_000 && cache.count.bytes <= 10_000)
    }

    /// Mei, signed up (her welcome notice seen), with one shared picture, "acorn".
    static func memberWithPicture(_ app: WebApp, _ data: URL) throws -> (Browser, String) {
        let mei = try GalleryTests.signUp(app.port, "mei")
        _ = try mei.request("GET", "/") // the welcome notice, shown once
        return (mei, try GalleryTests.store(data, owner: "mei", style: "hayao", shared: true, title: "acorn"))
    }

    @Test("what another connection commits (a worker process, another node) shows on the next page, signed in or not")
    func otherWriters() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let (mei, id) = try Self.memberWithPicture(app, data)
        let visitor = try Browser(port: app.port)
        _ = try visitor.request("GET", "/") // the first visit sets the visitor's cookie
        let pages = ["/", "/gallery", "/explore", "/i/\(id)"]
        var before: [String: String] = [:]
        for path in pages {
            let first = try mei.request("GET", path)
            #expect(first.status == 200)
            #expect(try mei.request("GET", path).body == first.body, "\(path)") // the same while nothing changes
            before[path] = first.body
        }
        #expect(try visitor.request("GET", "/explore").body.contains("acorn"))

        // Straight SQL on a connection of its own: nothing in this server hears of it.
        let other = try AppDatabase.open(directory: data)
        try other.pool.write { db in
            try db.execute(sql: "UPDATE image SET title = 'bus stop' WHERE id = ?", arguments: [id])
        }
        #expect(try mei.request("GET", "/gallery").body.contains("bus stop"))
        #expect(try mei.request("GET", "/explore").body.contains("bus stop"))
        #expect(try mei.request("GET", "/i/\(id)").body.contains("bus stop"))
        #expect(try visitor.request("GET", "/explore").body.contains("bus stop"))

        // A new password elsewhere ends every session: the remembered check does not outlive it.
        try other.pool.write { db in
            try db.execute(sql: "UPDATE user SET session_generation = session_generation + 1 WHERE username = 'mei'")
        }
        let gallery = try mei.request("GET", "/gallery")
        #expect(gallery.status == 303 && gallery.headers["location"]?.hasPrefix("/login") == true)
        #expect(try !mei.request("GET", "/").body.contains(#"href="/account""#))
    }

    @Test("a picture's page links to the site as it was asked for: each Host is kept apart")
    func origins() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let (mei, id) = try Self.memberWithPicture(app, data)
        func page(host: String) throws -> String {
            mei.client.send("GET /i/\(id) HTTP/1.1\r\nHost: \(host)\r\nCookie: \(mei.cookieHeader)\r\n\r\n")
            return try mei.client.response().body
        }
        for _ in 0..<2 {
            #expect(try page(host: "one.example").contains("http://one.example/i/\(id)"))
            #expect(try page(host: "two.example:8080").contains("http://two.example:8080/i/\(id)"))
        }
    }

    @Test("a one-time notice is shown once, and the next page is the kept one again")
    func notices() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let b = try GalleryTests.signUp(app.port, "sophie") // signing up redirects with a welcome notice
        let welcome = try b.request("GET", "/")
        #expect(welcome.body.contains("Welcome, sophie!") && b.cookies["notice"] == nil)
        let plain = try b.request("GET", "/")
        #expect(!plain.body.contains("Welcome, sophie!") && plain.body.contains(#"href="/account""#))
        #expect(try b.request("GET", "/").body == plain.body)
        // Logging out: the notice on the next page, which is a visitor's, not the kept member's.
        _ = try b.request("POST", "/logout", form: ["_csrf": try #require(Browser.csrf(in: plain.body))])
        let out = try b.request("GET", "/")
        #expect(out.body.contains("You are logged out.") && !out.body.contains(#"href="/account""#))
    }

    @Test("first visits each get a cookie of their own, and are not sent anyone's kept page")
    func firstVisits() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let a = try Browser(port: app.port), b = try Browser(port: app.port)
        let pageA = try a.request("GET", "/explore"), pageB = try b.request("GET", "/explore")
        #expect(pageA.status == 200 && pageB.status == 200)
        let seedA = try #require(a.cookies["csrf"]), seedB = try #require(b.cookies["csrf"])
        #expect(seedA != seedB)
        // With its cookie a visitor is a returning one: no new cookie, the page kept for it.
        let again = try a.request("GET", "/explore")
        #expect(again.setCookies.isEmpty && again.body == pageA.body && a.cookies["csrf"] == seedA)
        // A member's CSRF token never reaches a visitor's page, nor the other way round.
        let mei = try GalleryTests.signUp(app.port, "mei")
        _ = try GalleryTests.signUp(app.port, "kanta")
        _ = try GalleryTests.store(data, owner: "kanta", style: "hayao", shared: true, title: "acorn")
        let member = try mei.request("GET", "/explore"), visitor = try a.request("GET", "/explore")
        let token = try #require(Browser.csrf(in: member.body))
        #expect(!visitor.body.contains(token) && Browser.csrf(in: visitor.body) == nil)
    }
}
