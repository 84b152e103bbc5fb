import Foundation
import Testing
import TestSupport
import WebApp

/// Bad input at every door of the conversion API and the upload page: each gets a clear 4xx,
/// nothing is queued or stored, and the server goes on serving.
@Suite("Upload refusals", .serialized)
struct UploadRefusalTests {
    static let cup = Photos.cup
    static let corrupt = Array(Photos.cup.prefix(400))
    static let tooBig = Photos.cup + [UInt8](repeating: 0, count: 25_000_001) // over the 25 MB a photo may be

    @Test("API refusals", arguments: [
        // A GIF is a clip now: this one's header claims a screen of 8236×28526 (", " and "no").
        ("anonymous", [Array("GIF89a, not really".utf8)], [("style", "hayao")], 413, "photo1.png: the clip is 8,236×28,526"),
        ("anonymous", [Array("not really anything".utf8)], [("style", "hayao")], 422, "not a JPEG or PNG photo, a video clip"),
        ("anonymous", [corrupt], [("style", "hayao")], 422, "PNG"),
        ("anonymous", [tooBig], [("style", "hayao")], 413, "the limit is 25 MB"),
        ("anonymous", [cup, cup], [("style", "hayao")], 400, "At most 1 photo at once without an account"),
        ("member", Array(repeating: cup, count: 6), [("style", "hayao")], 400, "At most 5 photos"),
        ("member", [cup, corrupt], [("style", "hayao")], 422, "photo2.png"),
        ("member", [cup], [("style", "ghibli")], 400, "Unknown style: choose"),
        ("member", [cup], [("style", "hosoda")], 503, "not installed"),
        ("member", [cup], [], 400, "Choose a style"),
        ("member", [cup], [("style", "hayao"), ("strength", "101")], 400, "from 0 to 100"),
        ("member", [cup], [("style", "hayao"), ("strength", "-1")], 400, "from 0 to 100"),
        ("member", [cup], [("style", "hayao"), ("strength", "lots")], 400, "from 0 to 100"),
        ("member", [cup], [("style", "hayao"), ("max_side", "4096")], 400, "processing size"),
        ("member", [], [("style", "hayao")], 400, "at least one photo"),
        ("member", [[]], [("style", "hayao")], 422, "photo1.png: the file is empty."), // named, but 0 bytes
        ("member", [cup], [("style", "hayao"), ("rotate", "45")], 400, "0, 90, 180 or 270"),
        ("member", [cup], [("style", "hayao"), ("crop", "1,2,3")], 400, "four whole numbers"),
        ("member", [cup], [("style", "hayao"), ("crop", "0,0,0,10")], 400, "four whole numbers"),
        ("member", [cup], [("style", "hayao"), ("crop", "0,0,5000,10")], 400, "photo1.png: the crop does not lie inside"),
        ("member", [cup, cup], [("style", "hayao"), ("crop", "0,0,50,50")], 400, "one photo at a time"),
    ] as [(String, [[UInt8]], [(String, String)], Int, String)])
    func apiRefusals(who: String, photos: [[UInt8]], fields: [(String, String)], status: Int, message: String) throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 30)
        let token = who == "member" ? try c.member("arrietty") : nil
        let files = photos.enumerated().map { ("photo\($0.offset + 1).png", $0.element) }
        let r = try c.send("POST", "/api/v1/conversions", token: token, multipart: MultipartBody(files: files, fields: fields))
        let error = object(r)["error"] as? String ?? ""
        #expect(r.status == status && error.contains(message), "\(r.status) \(error)")
        #expect(r.headers["content-type"] == "application/json")
        #expect(try storedImageCount(data) == 0)
        #expect(try c.send("GET", "/healthz").status == 200)
    }

    @Test("not multipart, and a body over the route's limit (refused before it is read)")
    func framing() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port)
        let json = try c.json("POST", "/api/v1/conversions", body: #"{"style":"hayao"}"#)
        #expect(json.status == 415 && (object(json)["error"] as? String)?.contains("multipart/form-data") == true)
        let huge = try LoopbackClient(port: app.port)
        huge.send("POST /api/v1/conversions HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 500000000\r\n\r\n")
        #expect(try huge.response().status == 413)
        #expect(try LoopbackClient(port: app.port).send("GET", "/healthz").status == 200)
    }

    @Test("the upload page re-renders the form with the reason, and the job and image pages refuse unknown ids")
    func pageRefusals() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let b = try Browser(port: app.port)
        let csrf = try #require(Browser.csrf(in: try b.request("GET", "/cartoonize").body))
        let r = try b.upload("/cartoonize", MultipartBody(files: [("notes.png", Array("hello".utf8))], fields: [("_csrf", csrf), ("style", "hayao")]))
        #expect(r.status == 422 && r.body.contains("notes.png: ") && r.body.contains(#"enctype="multipart/form-data""#))
        // The choices made stay made: style, strength and size come back as they were sent.
        let chosen = try b.upload("/cartoonize", MultipartBody(files: [("notes.png", Array("hello".utf8))], fields: [
            ("_csrf", csrf), ("style", "paprika"), ("strength", "60"), ("max_side", "768")]))
        #expect(chosen.body.contains(#"value="paprika" checked"#) && !chosen.body.contains(#"value="hayao" checked"#))
        #expect(chosen.body.contains(#"value="60" data-show"#) && chosen.body.contains(#"<option value="768" selected>"#))
        #expect(try b.request("GET", "/jobs/doesnotexist0000000000").status == 404)
        #expect(try b.request("GET", "/i/doesnotexist0000000000").status == 404)
        #expect(try b.request("GET", "/gallery?page=zero").status == 303) // signed out: to the login page first
        #expect(try storedImageCount(data) == 0)
    }
}
