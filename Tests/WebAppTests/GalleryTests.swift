import Foundation
import ImageIO
import StorageCore
import StorageSQLite
import Testing
import TestSupport
import WebApp

/// The galleries' own actions, on pictures stored directly (no conversion needed): select
/// several to share, unshare or delete (always after a confirmation), /explore by style,
/// likes answered as JSON for the page's script, and an empty gallery without a pager.
@Suite("Galleries", .serialized)
struct GalleryTests {
    /// Stores a small picture for `owner` straight into the running app's database.
    static func store(_ data: URL, owner: String, style: String, shared: Bool, title: String) throws -> String {
        let database = try AppDatabase.open(directory: data)
        let user = try #require(try SQLiteUserStore(database: database).find(username: owner)?.id)
        let png = Data(try ImageEncoder.png(RGBImage(width: 8, height: 8, fill: RGB(200, 80, 40))))
        let image = Image(id: Image.newID(), ownerID: user, visibility: shared ? .public : .private, style: style, strength: 100,
                          inputWidth: 8, inputHeight: 8, width: 8, height: 8, modelSHA256: String(repeating: "a", count: 64),
                          durationMS: 1, original: png, originalType: "image/png", result: png, thumbnail: png, title: title)
        try SQLiteImageStore(database: database).insert(image)
        return image.id
    }

    static func signUp(_ port: Int, _ name: String) throws -> Browser {
        let b = try Browser(port: port)
        let token = try #require(Browser.csrf(in: try b.request("GET", "/signup").body))
        _ = try b.request("POST", "/signup", form: ["username": name, "password": "a long enough password", "_csrf": token])
        return b
    }

    @Test("bulk share, unshare and delete (after a confirmation); someone else's picture stops the request")
    func bulkActions() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let mei = try Self.signUp(app.port, "mei"), satsuki = try Self.signUp(app.port, "satsuki")
        let empty = try mei.request("GET", "/gallery")
        #expect(empty.body.contains("No pictures yet.") && !empty.body.contains("Page 1") && !empty.body.contains(#"id="bulk""#))
        let ids = try (1...3).map { try Self.store(data, owner: "mei", style: "hayao", shared: false, title: "acorn \($0)") }
        let theirs = try Self.store(data, owner: "satsuki", style: "hayao", shared: false, title: "bus stop")

        let gallery = try mei.request("GET", "/gallery")
        #expect(gallery.body.contains(#"<form id="bulk" method="post" action="/gallery/bulk""#) && gallery.body.contains("Page 1"))
        #expect(gallery.body.contains(#"name="id" value="\#(ids[0])" form="bulk""#))
        #expect(gallery.body.contains(#"<span class="visually-hidden">Select “acorn 1”</span>"#))
        let csrf = try #require(Browser.csrf(in: gallery.body))
        func bulk(_ b: Browser, _ fields: [(String, String)]) throws -> LoopbackClient.Response {
            let body = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }.joined(separator: "&")
            b.client.send("POST /gallery/bulk HTTP/1.1\r\nHost: t\r\nCookie: \(b.cookieHeader)\r\n"
                          + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
            return try b.client.response()
        }
        let shared = try bulk(mei, [("_csrf", csrf), ("action", "share"), ("id", ids[0]), ("id", ids[1]), ("next", "/gallery?page=1")])
        #expect(shared.status == 303 && shared.headers["location"] == "/gallery?page=1")
        let visitor = try Browser(port: app.port)
        #expect(try visitor.request("GET", "/i/\(ids[0])").status == 200 && visitor.request("GET", "/i/\(ids[2])").status == 404)
        #expect(try bulk(mei, [("_csrf", csrf), ("action", "unshare"), ("id", ids[1])]).status == 303)
        #expect(try visitor.request("GET", "/i/\(ids[1])").status == 404)
        #expect(try bulk(mei, [("_csrf", csrf), ("action", "share")]).body.contains("Tick at least one picture first."))
        #expect(try bulk(mei, [("_csrf", csrf), ("action", "explode"), ("id", ids[1])]).status == 400)

        // Someone else's picture in the list, private (404) or shared (403): nothing at all changes.
        #expect(try bulk(mei, [("_csrf", csrf), ("action", "share"), ("id", ids[2]), ("id", theirs)]).status == 404)
        #expect(try visitor.request("GET", "/i/\(ids[2])").status == 404)
        let theirsShared = try Self.store(data, owner: "satsuki", style: "hayao", shared: true, title: "field")
        #expect(try bulk(mei, [("_csrf", csrf), ("action", "share"), ("id", ids[2]), ("id", theirsShared)]).status == 403)
        #expect(try visitor.request("GET", "/i/\(ids[2])").status == 404)

        // Deleting asks first, naming the pictures; without the box ticked nothing goes.
        let ask = try bulk(mei, [("_csrf", csrf), ("action", "delete"), ("id", ids[1]), ("id", ids[2])])
        #expect(ask.status == 200 && ask.body.contains("Delete these 2 pictures?") && ask.body.contains("acorn 3"))
        #expect(try storedImageCount(data) == 5)
        let one = try bulk(mei, [("_csrf", csrf), ("delete_one", ids[0])])
        #expect(one.body.contains("Delete this picture?") && one.body.contains("acorn 1") && !one.body.contains("acorn 2"))
        let unticked = try mei.request("POST", "/gallery/delete", form: ["_csrf": csrf, "id": ids[1]])
        #expect(unticked.status == 400 && unticked.body.contains("Tick the box"))
        let deleted = try mei.request("POST", "/gallery/delete", form: ["_csrf": csrf, "id": ids[1], "confirm": "yes"])
        #expect(deleted.status == 303 && deleted.headers["location"] == "/gallery")
        #expect(try mei.request("GET", "/i/\(ids[1])").status == 404 && storedImageCount(data) == 4)
        #expect(try satsuki.request("POST", "/gallery/delete", form: ["_csrf": try #require(Browser.csrf(in: satsuki.request("GET", "/gallery").body)),
                                                                       "id": ids[0], "confirm": "yes"]).status == 403)
        #expect(try storedImageCount(data) == 4)
    }

    @Test("/explore by style, the API too; an unknown style is a 400; likes answer JSON to the page's script")
    func exploreAndLikes() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let kiki = try Self.signUp(app.port, "kiki"), jiji = try Self.signUp(app.port, "jiji")
        let hayao = try Self.store(data, owner: "kiki", style: "hayao", shared: true, title: "broom")
        let shinkai = try Self.store(data, owner: "kiki", style: "shinkai", shared: true, title: "comet")
        let filtered = try jiji.request("GET", "/explore?style=shinkai")
        #expect(filtered.body.contains("/i/\(shinkai)/thumbnail.jpg") && !filtered.body.contains("/i/\(hayao)/thumbnail.jpg"))
        #expect(filtered.body.contains(#"<strong aria-current="true">Shinkai</strong>"#))
        #expect(filtered.body.contains(#"href="/explore?sort=likes&amp;style=shinkai""#)) // the sort keeps the filter
        #expect(try jiji.request("GET", "/explore?style=paprika").body.contains("Nothing in the Paprika style has been shared yet."))
        #expect(try jiji.request("GET", "/explore?style=ghibli").status == 400)
        let c = try LoopbackClient(port: app.port)
        let api = object(try c.send("GET", "/api/v1/gallery/public?style=hayao"))
        #expect((api["images"] as? [[String: Any]])?.map { $0["id"] as? String } == [hayao])

        let csrf = try #require(Browser.csrf(in: filtered.body))
        let body = "_csrf=\(csrf)&liked=1"
        jiji.client.send("POST /i/\(shinkai)/like HTTP/1.1\r\nHost: t\r\nCookie: \(jiji.cookieHeader)\r\nAccept: application/json\r\n"
                         + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        let liked = try jiji.client.response()
        #expect(liked.status == 200 && object(liked)["likes"] as? Int == 1 && object(liked)["liked"] as? Bool == true)
        #expect(try jiji.request("POST", "/i/\(shinkai)/like", form: ["_csrf": csrf, "liked": "0"]).status == 303) // no script: back to the page
        // The owner's own cards offer no like, and no bulk form outside the gallery.
        let own = try kiki.request("GET", "/explore")
        #expect(!own.body.contains("/i/\(hayao)/like") && !own.body.contains(#"form="bulk""#))
    }
}
