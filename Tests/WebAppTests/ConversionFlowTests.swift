import Foundation
import GRDB
import ImageIO
import StorageCore
import StorageSQLite
import Testing
import TestSupport
import WebApp

extension LoopbackClient {
    func send(_ method: String, _ path: String, token: String? = nil, headers: [String: String] = [:],
              multipart: MultipartBody? = nil) throws -> Response {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: t\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let multipart {
            head += "Content-Type: multipart/form-data; boundary=\(MultipartBody.boundary)\r\nContent-Length: \(multipart.bytes.count)\r\n"
        }
        send(Array((head + "\r\n").utf8) + (multipart?.bytes ?? []))
        return try response(method: method)
    }

    /// Signs up and logs in through the API; returns the bearer token.
    func member(_ username: String) throws -> String {
        let credentials = #"{"username":"\#(username)","password":"a long enough secret phrase"}"#
        _ = try json("POST", "/api/v1/auth/signup", body: credentials)
        return try #require(object(try json("POST", "/api/v1/auth/login", body: credentials))["token"] as? String)
    }

    /// Polls a conversion's status (`path`: the API's or the job page's) until it leaves
    /// queued/running; returns every status body seen.
    func follow(_ path: String, token: String? = nil, headers: [String: String] = [:]) throws -> [[String: Any]] {
        var seen: [[String: Any]] = []
        for _ in 0..<600 {
            let r = try send("GET", path, token: token, headers: headers)
            #expect(r.status == 200)
            seen.append(object(r))
            if let status = seen.last?["status"] as? String, status != "queued", status != "running" { return seen }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Issue.record("\(path) did not finish")
        return seen
    }
}

enum Photos {
    static let cup = try! SharedData.bytes("testdata/golden/coffee_104x156_input.png")
    /// The cup as a JPEG, to upload something of each format.
    static let cupJPEG = try! ImageEncoder.jpeg(ImageDecoder.decode(cup).image, quality: 90)
}

/// How many image rows the app's database holds (opened beside the running app; WAL allows it).
func storedImageCount(_ data: URL) throws -> Int {
    let database = try AppDatabase.open(directory: data)
    return try database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM image") ?? -1 }
}

@Suite("Conversions end to end", .serialized)
struct ConversionFlowTests {
    @Test("an anonymous conversion: queued, converted, stored with an expiry, listed nowhere, bytes with ETags")
    func anonymous() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 30)
        let posted = try c.send("POST", "/api/v1/conversions", multipart: MultipartBody(
            files: [("cup.jpg", Photos.cupJPEG)], fields: [("style", "hayao"), ("max_side", "96"), ("strength", "70")]))
        #expect(posted.status == 202)
        let job = try #require(object(posted)["id"] as? String)
        #expect(job.count >= 22 && posted.headers["location"] == "/api/v1/conversions/\(job)")
        let final = try #require(try c.follow("/api/v1/conversions/\(job)").last)
        #expect(final["status"] as? String == "done" && final["progress"] as? Double == 1)
        let id = try #require((final["images"] as? [String])?.first)

        let meta = object(try c.send("GET", "/api/v1/images/\(id)"))
        #expect(meta["visibility"] as? String == "anonymous" && meta["expires_at"] is String && meta["owner"] == nil)
        #expect(meta["style"] as? String == "hayao" && meta["strength"] as? Int == 70 && meta["title"] as? String == "cup")
        #expect((meta["model_sha256"] as? String)?.count == 64 && (meta["duration_ms"] as? Int ?? -1) >= 0)
        #expect((meta["input"] as? [String: Int]) == ["width": 156, "height": 104])
        #expect((meta["output"] as? [String: Int]) == ["width": 96, "height": 64])

        let png = try c.send("GET", "/api/v1/images/\(id)/result?format=png")
        #expect(png.status == 200 && png.headers["content-type"] == "image/png")
        #expect(try ImageDecoder.decode(png.bodyBytes).image.width == 96)
        #expect(png.headers["cache-control"] == "private, no-cache" && png.headers["content-disposition"] == #"inline; filename="cup-hayao.png""#)
        let etag = try #require(png.headers["etag"])
        #expect(try c.send("GET", "/api/v1/images/\(id)/result?format=png", headers: ["If-None-Match": etag]).status == 304)
        let jpeg = try c.send("GET", "/api/v1/images/\(id)/result?format=jpeg&download=1")
        #expect(jpeg.headers["content-type"] == "image/jpeg" && jpeg.headers["content-disposition"] == #"attachment; filename="cup-hayao.jpg""#)
        #expect(try ImageDecoder.decode(jpeg.bodyBytes).info.format == .jpeg)
        #expect(try c.send("GET", "/api/v1/images/\(id)/original").bodyBytes == Photos.cupJPEG)
        let thumbnail = try c.send("GET", "/api/v1/images/\(id)/thumbnail")
        #expect(try thumbnail.headers["content-type"] == "image/jpeg" && ImageDecoder.decode(thumbnail.bodyBytes).image.width == 96)
        #expect(try c.send("GET", "/api/v1/images/\(id)/result?format=gif").status == 404) // a picture has no GIF
        #expect(try c.send("GET", "/api/v1/images/\(id)/result?format=bmp").status == 400)
        #expect((object(try c.send("GET", "/api/v1/gallery/public"))["images"] as? [Any])?.isEmpty == true)
        #expect(try c.send("GET", "/i/\(id)").body.contains("listed nowhere"))
        // Anonymous visitors cannot share or delete, even their own result.
        #expect(try c.send("POST", "/api/v1/images/\(id)/share").status == 401)
        #expect(try c.send("DELETE", "/api/v1/images/\(id)").status == 401)
    }

    @Test("member: upload → progress → result → downloads → private gallery → share → liked by another → unshare → delete")
    func memberLifecycle() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 30)
        let sophie = try c.member("sophie"), howl = try c.member("howl")
        let posted = try c.send("POST", "/api/v1/conversions", token: sophie, multipart: MultipartBody(
            files: [("castle.png", Photos.cup)], fields: [("style", "hayao"), ("max_side", "156")]))
        let job = try #require(object(posted)["id"] as? String)
        #expect(try c.send("GET", "/api/v1/conversions/\(job)", token: howl).status == 404) // not howl's job
        #expect(try c.send("DELETE", "/api/v1/conversions/\(job)", token: howl).status == 404)
        let seen = try c.follow("/api/v1/conversions/\(job)", token: sophie)
        let progress = seen.compactMap { $0["progress"] as? Double }
        #expect(progress == progress.sorted() && progress.last == 1) // honest: never goes backwards
        let id = try #require((seen.last?["images"] as? [String])?.first)
        #expect(try c.send("DELETE", "/api/v1/conversions/\(job)", token: sophie).status == 409) // finished

        let meta = object(try c.send("GET", "/api/v1/images/\(id)", token: sophie))
        #expect(meta["visibility"] as? String == "private" && meta["owner"] as? String == "sophie" && meta["expires_at"] == nil)
        #expect(try c.send("GET", "/api/v1/images/\(id)/result?format=png", token: sophie).headers["content-type"] == "image/png")
        #expect(try c.send("GET", "/api/v1/images/\(id)/result?format=jpeg", token: sophie).headers["content-type"] == "image/jpeg")
        let mine = object(try c.send("GET", "/api/v1/gallery/private", token: sophie))
        #expect((mine["images"] as? [[String: Any]])?.map { $0["id"] as? String } == [id] && mine["has_more"] as? Bool == false)
        #expect(try c.send("GET", "/api/v1/gallery/private").status == 401)

        // Private: every URL is 404 to another member and to a visitor; no sharing or deleting it.
        let privateURLs = ["/api/v1/images/\(id)", "/api/v1/images/\(id)/result?format=png", "/api/v1/images/\(id)/result?format=jpeg",
                           "/api/v1/images/\(id)/original", "/api/v1/images/\(id)/thumbnail"]
        for url in privateURLs {
            #expect(try c.send("GET", url, token: howl).status == 404, "\(url)")
            #expect(try c.send("GET", url).status == 404, "\(url)")
        }
        #expect(try c.send("POST", "/api/v1/images/\(id)/share", token: howl).status == 404)
        #expect(try c.send("DELETE", "/api/v1/images/\(id)", token: howl).status == 404)
        #expect(try c.send("POST", "/api/v1/images/\(id)/like", token: howl).status == 404)

        // Renamed by its owner only; NFC and single spaces; a title over the limit is refused
        // with its length, never cut.
        let renamed = try c.json("PATCH", "/api/v1/images/\(id)", body: #"{"title": "  Howl's\u0020\u0020moving castle "}"#, token: sophie)
        #expect(renamed.status == 200 && object(renamed)["title"] as? String == "Howl's moving castle")
        #expect(try c.json("PATCH", "/api/v1/images/\(id)", body: #"{"title": "mine now"}"#, token: howl).status == 404)
        let long = try c.json("PATCH", "/api/v1/images/\(id)", body: "{\"title\": \"\(String(repeating: "고양이 ", count: 30))\"}", token: sophie)
        #expect(long.status == 400 && (object(long)["error"] as? String)?.contains("119 characters long") == true, "\(long.body)")
        #expect(try c.json("PATCH", "/api/v1/images/\(id)", body: #"{"name": "x"}"#, token: sophie).status == 400)
        #expect(object(try c.send("GET", "/api/v1/images/\(id)", token: sophie))["title"] as? String == "Howl's moving castle")

        // Shared: in the public gallery for everyone, with its owner; one like per member.
        let shared = try c.send("POST", "/api/v1/images/\(id)/share", token: sophie)
        #expect(shared.status == 200 && object(shared)["visibility"] as? String == "public")
        let publicPage = object(try c.send("GET", "/api/v1/gallery/public?sort=likes", token: howl))
        let entry = try #require((publicPage["images"] as? [[String: Any]])?.first)
        #expect(entry["id"] as? String == id && entry["owner"] as? String == "sophie" && entry["liked"] as? Bool == false)
        #expect(try c.send("GET", "/api/v1/images/\(id)/thumbnail").headers["cache-control"] == "public, max-age=300")
        #expect(try c.send("POST", "/api/v1/images/\(id)/unshare", token: howl).status == 403)
        #expect(try c.send("DELETE", "/api/v1/images/\(id)", token: howl).status == 403)
        #expect(try c.send("POST", "/api/v1/images/\(id)/like", token: sophie).status == 403) // not one's own
        #expect(object(try c.send("POST", "/api/v1/images/\(id)/like", token: howl))["likes"] as? Int == 1)
        #expect(object(try c.send("POST", "/api/v1/images/\(id)/like", token: howl))["likes"] as? Int == 1)
        #expect(object(try c.send("GET", "/api/v1/images/\(id)", token: howl))["liked"] as? Bool == true)
        #expect(object(try c.send("DELETE", "/api/v1/images/\(id)/like", token: howl))["likes"] as? Int == 0)
        #expect(try c.send("POST", "/api/v1/images/\(id)/like").status == 401)
        _ = try c.send("POST", "/api/v1/images/\(id)/like", token: howl)

        // Unshared: gone from the public gallery, private again.
        #expect(object(try c.send("POST", "/api/v1/images/\(id)/unshare", token: sophie))["likes"] as? Int == 1)
        #expect((object(try c.send("GET", "/api/v1/gallery/public"))["images"] as? [Any])?.isEmpty == true)
        #expect(try c.send("GET", "/api/v1/images/\(id)/original", token: howl).status == 404)

        // Deleted: the bytes are gone for everyone, the owner included.
        #expect(try c.send("DELETE", "/api/v1/images/\(id)", token: sophie).status == 204)
        for url in privateURLs { #expect(try c.send("GET", url, token: sophie).status == 404, "\(url)") }
        #expect(try storedImageCount(data) == 0)
    }

    @Test("a visitor's result moves into the account they sign up for from its page; no one else can take it")
    func visitorKeepsResult() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let visitor = try Browser(port: app.port)
        let form = try visitor.request("GET", "/cartoonize")
        let csrf = try #require(Browser.csrf(in: form.body))
        let posted = try visitor.upload("/cartoonize", MultipartBody(files: [("lantern.png", Photos.cup)],
                                                                      fields: [("_csrf", csrf), ("style", "hayao"), ("max_side", "128")]))
        let jobPath = try #require(posted.headers["location"])
        _ = try visitor.client.follow(jobPath + "/status", headers: ["Cookie": visitor.cookieHeader])
        let imagePath = try #require(try visitor.request("GET", jobPath).headers["location"])
        let id = String(imagePath.dropFirst(3))
        let page = try visitor.request("GET", imagePath)
        #expect(page.body.contains(#"<a href="/signup?keep=\#(id)">Sign up to keep this picture"#))

        // Someone else with the link signs up "keeping" it: nothing moves.
        let stranger = try Browser(port: app.port)
        let strangerForm = try stranger.request("GET", "/signup?keep=\(id)")
        let taken = try stranger.request("POST", "/signup", form: ["username": "noface", "password": "a long enough password",
                                                                   "keep": id, "_csrf": try #require(Browser.csrf(in: strangerForm.body))])
        #expect(taken.status == 303 && taken.headers["location"] == "/cartoonize")
        #expect(try stranger.request("GET", "/gallery").body.contains(id) == false)

        // The visitor who made it signs up from its page: it is theirs, private and lasting.
        let signup = try visitor.request("GET", "/signup?keep=\(id)")
        #expect(signup.body.contains(#"name="keep" value="\#(id)""#) && signup.body.contains("moves into your new gallery"))
        let kept = try visitor.request("POST", "/signup", form: ["username": "chihiro", "password": "a long enough password",
                                                                 "keep": id, "_csrf": try #require(Browser.csrf(in: signup.body))])
        #expect(kept.status == 303 && kept.headers["location"] == imagePath)
        #expect(try visitor.request("GET", "/gallery").body.contains("/i/\(id)/thumbnail.jpg"))
        let meta = try AppDatabase.open(directory: data).pool.read { db in
            try Row.fetchOne(db, sql: "SELECT visibility, expires_at, visitor FROM image WHERE id = ?", arguments: [id])
        }
        #expect(meta?["visibility"] as String? == "private" && meta?["expires_at"] as Date? == nil && meta?["visitor"] as String? == nil)
        #expect(try stranger.request("GET", imagePath).status == 404) // private now: the old link no longer shows it
    }

    @Test("the pages: upload form → job page → result page with before/after → gallery → share → explore → delete")
    func pagesFlow() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let b = try Browser(port: app.port)
        let signupToken = try #require(Browser.csrf(in: try b.request("GET", "/signup").body))
        _ = try b.request("POST", "/signup", form: ["username": "kiki", "password": "broom delivery service", "_csrf": signupToken])
        let form = try b.request("GET", "/cartoonize")
        #expect(form.status == 200 && form.body.contains(#"enctype="multipart/form-data""#) && form.body.contains("multiple"))
        #expect(form.body.contains("Hosoda (not installed)")) // the test server has the hayao model only
        let csrf = try #require(Browser.csrf(in: form.body))

        let noToken = try b.upload("/cartoonize", MultipartBody(files: [("bakery.png", Photos.cup)], fields: [("style", "hayao")]))
        #expect(noToken.status == 403)
        // The form's one-time token: sending the same form again (Back, then Submit) leads to
        // the first job, not a second one.
        let submission = try #require(form.body.firstMatch(of: /name="submission" value="([A-Za-z0-9_-]{22})"/)?.1)
        let fields = [("_csrf", csrf), ("style", "hayao"), ("max_side", "512"), ("strength", "100"), ("submission", String(submission))]
        let posted = try b.upload("/cartoonize", MultipartBody(files: [("bakery.png", Photos.cup)], fields: fields))
        #expect(posted.status == 303)
        let jobPath = try #require(posted.headers["location"])
        #expect(jobPath.hasPrefix("/jobs/"))
        let again = try b.upload("/cartoonize", MultipartBody(files: [("bakery.png", Photos.cup)], fields: fields))
        #expect(again.status == 303 && again.headers["location"] == jobPath)
        #expect(try b.request("GET", "/cartoonize").body.contains(#"value="\#(submission)""#) == false) // a new token per form
        let waiting = try b.request("GET", jobPath)
        if waiting.status == 200 { // still running: the page follows it, with or without scripting
            #expect(waiting.body.contains("<progress") && waiting.body.contains(#"http-equiv="refresh""#))
        }
        _ = try b.client.follow(jobPath + "/status", headers: ["Cookie": b.cookieHeader])
        let done = try b.request("GET", jobPath)
        #expect(done.status == 303)
        let imagePath = try #require(done.headers["location"])
        let id = String(imagePath.dropFirst(3))

        let page = try b.request("GET", imagePath)
        #expect(page.status == 200 && page.body.contains(#"<figure class="compare""#))
        #expect(page.body.contains(#"src="\#(imagePath)/before.jpg""#) && page.body.contains(#"src="\#(imagePath)/result.png""#))
        let before = try b.request("GET", imagePath + "/before.jpg")
        #expect(before.status == 200 && before.headers["content-type"] == "image/jpeg")
        let beforeImage = try ImageDecoder.decode(before.bodyBytes)
        let resultImage = try ImageDecoder.decode(try b.request("GET", imagePath + "/result.png").bodyBytes)
        #expect(beforeImage.image.width == resultImage.image.width && beforeImage.image.height == resultImage.image.height)
        #expect(!page.body.contains("og:image")) // private: nothing for link previews
        #expect(page.body.contains(#"download="bakery-hayao.png""#) && page.body.contains(#"download="bakery-hayao.jpg""#))
        let png = try b.request("GET", imagePath + "/result.png?download=1")
        #expect(png.status == 200 && png.headers["content-disposition"] == #"attachment; filename="bakery-hayao.png""#)
        #expect(try b.request("GET", imagePath + "/result.jpg").headers["content-type"] == "image/jpeg")

        let gallery = try b.request("GET", "/gallery")
        #expect(gallery.body.contains(#"src="/i/\#(id)/thumbnail.jpg""#) && !gallery.body.contains("result.png\""))
        let visitor = try Browser(port: app.port)
        #expect(try visitor.request("GET", imagePath).status == 404)
        #expect(try visitor.request("GET", imagePath + "/thumbnail.jpg").status == 404)
        #expect(try visitor.request("GET", "/gallery").headers["location"] == "/login?next=%2Fgallery")

        let galleryToken = try #require(Browser.csrf(in: gallery.body))
        let share = try b.request("POST", "/i/\(id)/share", form: ["shared": "1", "next": "/gallery?page=1", "_csrf": galleryToken])
        #expect(share.status == 303 && share.headers["location"] == "/gallery?page=1")
        // Shared: the page offers its link to copy and describes itself to link previews.
        let sharedPage = try visitor.request("GET", imagePath)
        #expect(sharedPage.body.contains(#"<meta property="og:image" content="http://t/i/\#(id)/thumbnail.jpg">"#))
        #expect(sharedPage.body.contains(#"id="permalink" type="url" readonly value="http://t/i/\#(id)""#))
        let renamed = try b.request("POST", "/i/\(id)/rename", form: ["title": "Bakery at dusk", "_csrf": galleryToken])
        #expect(renamed.status == 303 && renamed.headers["location"] == imagePath)
        #expect(try visitor.request("GET", imagePath).body.contains("<h1>Bakery at dusk — Hayao style</h1>"))
        let tooLong = try b.request("POST", "/i/\(id)/rename", form: ["title": String(repeating: "long words ", count: 9), "_csrf": galleryToken])
        #expect(tooLong.status == 400 && tooLong.body.contains("The title is 98 characters long; at most 80 are allowed."))
        #expect(tooLong.body.contains(#"value="long words long"#)) // what was typed stays to be shortened
        #expect(try visitor.request("POST", "/i/\(id)/rename", form: ["title": "x"]).status == 403)
        let explore = try visitor.request("GET", "/explore?sort=newest")
        #expect(explore.status == 200 && explore.body.contains(#"/i/\#(id)/thumbnail.jpg"#) && explore.body.contains("by kiki"))
        #expect(try visitor.request("GET", "/explore?sort=sideways").status == 400)
        #expect(try visitor.request("GET", imagePath).status == 200)

        let unconfirmed = try b.request("POST", "/i/\(id)/delete", form: ["_csrf": galleryToken])
        #expect(unconfirmed.status == 400 && unconfirmed.body.contains("Tick the box"))
        let deleted = try b.request("POST", "/i/\(id)/delete", form: ["confirm": "yes", "_csrf": galleryToken])
        #expect(deleted.status == 303 && deleted.headers["location"] == "/gallery")
        #expect(try b.request("GET", imagePath).status == 404 && b.request("GET", imagePath + "/original").status == 404)
        #expect(try visitor.request("GET", "/explore").body.contains("Nothing has been shared yet."))
    }
}

extension Browser {
    func upload(_ path: String, _ body: MultipartBody) throws -> LoopbackClient.Response {
        try client.send("POST", path, headers: cookies.isEmpty ? [:] : ["Cookie": cookieHeader], multipart: body)
    }

    var cookieHeader: String { cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
}
