import Foundation
import GRDB
import ImageIO
import StorageCore
import StorageSQLite
import Testing
import TestSupport
import WebApp

/// A new install shows what it does: its worker makes the bundled photos' examples in each
/// installed style (the test models: Hayao only), then the example movie, once.
@Suite("Examples on a first visit", .serialized)
struct ExamplesTests {
    @Test("made by the worker once: on the home page with their sources, on the upload form, as a movie; not made twice")
    func examples() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-examples-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        var (app, _) = try startApp(data: data) { $0.makeExamples = true }
        let b = try Browser(port: app.port)
        #expect(eventually(within: 240) { (try? b.request("GET", "/").body.contains("/examples/rocket/hayao.jpg")) == true })
        let home = try b.request("GET", "/")
        #expect(home.body.contains(#"<a class="button big" href="/cartoonize">Cartoonize a photo</a>"#))
        for photo in ["astronaut", "chelsea", "coffee", "rocket"] {
            #expect(home.body.contains(#"<img src="/static/examples/\#(photo).jpg""#), "\(photo)")
            #expect(home.body.contains(#"src="/examples/\#(photo)/hayao.jpg""#), "\(photo)")
        }
        #expect(home.body.contains(#"alt="Chelsea the cat, Hayao style""#) && home.body.contains("Rachel Michetti (CC0)"))
        #expect(!home.body.contains("/examples/chelsea/hosoda.jpg")) // that model is not installed
        let picture = try b.request("GET", "/examples/chelsea/hayao.jpg")
        #expect(picture.status == 200 && picture.headers["content-type"] == "image/jpeg")
        let decoded = try ImageDecoder.decode(picture.bodyBytes).image
        #expect(max(decoded.width, decoded.height) == 451 || max(decoded.width, decoded.height) == 480) // never enlarged
        #expect(try b.request("GET", "/static/examples/chelsea.jpg").status == 200)
        for bad in ["/examples/chelsea/hosoda.jpg", "/examples/chelsea/hayao.png", "/examples/lena/hayao.jpg"] {
            #expect(try b.request("GET", bad).status == 404, "\(bad)")
        }
        let etag = try #require(picture.headers["etag"])
        b.client.send("GET /examples/chelsea/hayao.jpg HTTP/1.1\r\nHost: t\r\nIf-None-Match: \(etag)\r\n\r\n")
        #expect(try b.client.response().status == 304)
        #expect(try b.request("GET", "/cartoonize").body.contains(#"<img src="/examples/chelsea/hayao.jpg""#))

        // The example movie: the four photos and their cartoons as eight scenes, owned by an
        // account no one can sign in to.
        #expect(eventually(within: 60) { (try? b.request("GET", "/movies").body.contains("Artworker examples")) == true })
        let movies = try b.request("GET", "/movies")
        #expect(movies.body.contains("8 scenes"))
        let token = try #require(Browser.csrf(in: try b.request("GET", "/login").body))
        let login = try b.request("POST", "/login", form: ["username": "Artworker examples", "password": "*", "_csrf": token])
        #expect(login.status == 401 || login.status == 400)

        // Restarted on the same data: nothing is made again.
        let before = try AppDatabase.open(directory: data).pool.read { db in
            try Row.fetchAll(db, sql: "SELECT photo, style, created_at FROM example ORDER BY photo").map { "\($0)" }
        }
        app.shutdown()
        (app, _) = try startApp(data: data) { $0.makeExamples = true }
        defer { app.shutdown() }
        Thread.sleep(forTimeInterval: 1)
        let after = try AppDatabase.open(directory: data).pool.read { db in
            (try Row.fetchAll(db, sql: "SELECT photo, style, created_at FROM example ORDER BY photo").map { "\($0)" },
             try Int.fetchOne(db, sql: "SELECT count(*) FROM movie") ?? -1)
        }
        #expect(after.0 == before && after.1 == 1)
    }
}
