import Foundation
import GRDB
import ImageIO
import StorageSQLite
import Testing
import TestSupport
import Video
import WebApp

/// Job rows and image rows in the app's database (opened beside the running app).
private func counts(_ data: URL) throws -> (jobs: Int, images: Int) {
    let database = try AppDatabase.open(directory: data)
    return try database.pool.read { db in
        (try Int.fetchOne(db, sql: "SELECT count(*) FROM job") ?? -1, try Int.fetchOne(db, sql: "SELECT count(*) FROM image") ?? -1)
    }
}

@Suite("Clips on the web and the API", .serialized)
struct ClipFlowTests {
    @Test("a member's clip: one API, MP4 result with its sound, poster as PNG, byte ranges, a page that plays it")
    func memberClip() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 60)
        let token = try c.member("nausicaa")
        let clip = try TestClip.make(seconds: 1, rate: FrameRate(24), width: 96, height: 64, audio: true)
        let posted = try c.send("POST", "/api/v1/conversions", token: token, multipart: MultipartBody(
            files: [("valley wind.mp4", clip)], fields: [("style", "hayao"), ("max_side", "64")]))
        #expect(posted.status == 202)
        let job = try #require(object(posted)["id"] as? String)
        let final = try #require(try c.follow("/api/v1/conversions/\(job)", token: token).last)
        #expect(final["status"] as? String == "done")
        let id = try #require((final["images"] as? [String])?.first)

        let meta = object(try c.send("GET", "/api/v1/images/\(id)", token: token))
        #expect(meta["media"] as? String == "video" && meta["title"] as? String == "valley wind")
        #expect((meta["input"] as? [String: Int]) == ["width": 96, "height": 64])
        #expect((meta["output"] as? [String: Int]) == ["width": 64, "height": 42])
        #expect(meta["original_type"] as? String == "video/mp4")
        let links = try #require(meta["links"] as? [String: String])
        #expect(links["result_mp4"] == "/api/v1/images/\(id)/result?format=mp4" && links["result_gif"] == nil)

        let mp4 = try c.send("GET", "/api/v1/images/\(id)/result", token: token)
        #expect(mp4.status == 200 && mp4.headers["content-type"] == "video/mp4" && mp4.headers["accept-ranges"] == "bytes")
        #expect(mp4.headers["content-disposition"]?.hasSuffix("filename*=UTF-8''valley%20wind-hayao.mp4") == true)
        let plan = try ClipConverter.plan(mp4.bodyBytes, options: ClipOptions())
        #expect(plan.info.codec == "h264" && plan.info.hasAudio && plan.info.frameRate == FrameRate(12))
        #expect((plan.info.width, plan.info.height) == (64, 42) && plan.info.frameCount == 12)
        // A player seeks with byte ranges (RFC 9110 §14).
        let part = try c.send("GET", "/api/v1/images/\(id)/result?format=mp4", token: token, headers: ["Range": "bytes=0-99"])
        #expect(part.status == 206 && part.bodyBytes == Array(mp4.bodyBytes.prefix(100)))
        #expect(part.headers["content-range"] == "bytes 0-99/\(mp4.bodyBytes.count)")
        let png = try c.send("GET", "/api/v1/images/\(id)/result?format=png", token: token)
        let still = try ImageDecoder.decode(png.bodyBytes).image
        #expect(png.headers["content-type"] == "image/png" && still.width == 64)
        #expect(try c.send("GET", "/api/v1/images/\(id)/result?format=jpeg", token: token).headers["content-type"] == "image/jpeg")
        #expect(try c.send("GET", "/api/v1/images/\(id)/result?format=gif", token: token).status == 404)
        #expect(try c.send("GET", "/api/v1/images/\(id)/result?format=bmp", token: token).status == 400)
        #expect(try c.send("GET", "/api/v1/images/\(id)/original", token: token).bodyBytes == clip)
        #expect(try ImageDecoder.decode(try c.send("GET", "/api/v1/images/\(id)/thumbnail", token: token).bodyBytes).image.width == 64)

        // Pages go by the session cookie, not the API's token: share it, then look as anyone.
        #expect(try c.send("POST", "/api/v1/images/\(id)/share", token: token).status == 200)
        let page = try c.send("GET", "/i/\(id)")
        // The form previews a chosen clip from a blob: URL; the page plays its own clips.
        #expect(page.headers["content-security-policy"]?.contains("media-src 'self' blob:") == true)
        #expect(page.body.contains("Original clip") && page.body.contains("(the clip was 96×64)"))
        #expect(page.status == 200 && page.body.contains(#"<video src="/i/\#(id)/result.mp4""#) && page.body.contains("/i/\(id)/before.mp4"))
        let before = try c.send("GET", "/i/\(id)/before.mp4")
        #expect(before.headers["content-type"] == "video/mp4")
        #expect(try ClipConverter.plan(before.bodyBytes, options: ClipOptions()).info.frameCount == 12)
        // Clips go to galleries like pictures (shared above: the public one too).
        for gallery in ["/api/v1/gallery/private", "/api/v1/gallery/public"] {
            let listed = try #require((object(try c.send("GET", gallery, token: token))["images"] as? [[String: Any]])?.first)
            #expect(listed["id"] as? String == id && listed["media"] as? String == "video", "\(gallery)")
            #expect((listed["links"] as? [String: String])?["result_mp4"] != nil)
        }
    }

    @Test("an animated GIF in: MP4 and GIF out, its frames and delays kept at the clip's own rate")
    func gif() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 60)
        let gif = try TestClip.gif(frames: 6, hundredths: 20, width: 48, height: 32)
        let posted = try c.send("POST", "/api/v1/conversions", multipart: MultipartBody(
            files: [("loop.gif", gif)], fields: [("style", "hayao"), ("fps", "source")]))
        #expect(posted.status == 202)
        let gifJob = try #require(object(posted)["id"] as? String)
        let final = try #require(try c.follow("/api/v1/conversions/\(gifJob)").last)
        #expect(final["status"] as? String == "done")
        let id = try #require((final["images"] as? [String])?.first)
        let meta = object(try c.send("GET", "/api/v1/images/\(id)"))
        #expect(meta["media"] as? String == "gif" && meta["original_type"] as? String == "image/gif")
        let out = try c.send("GET", "/api/v1/images/\(id)/result?format=gif")
        #expect(out.headers["content-type"] == "image/gif")
        let plan = try ClipConverter.plan(out.bodyBytes, options: ClipOptions(rate: .source))
        #expect(plan.info.frameCount == 6 && plan.info.seconds == 1.2)
        #expect(try c.send("GET", "/api/v1/images/\(id)/result").headers["content-type"] == "video/mp4")
        #expect(try c.send("GET", "/i/\(id)").body.contains("/i/\(id)/result.gif?download=1"))
    }

    @Test("hostile and broken clips: a clear refusal before anything is queued, or a failed job; nothing stored")
    func refusals() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 60)
        let token = try c.member("kushana")
        func post(_ files: [(String, [UInt8])], _ fields: [(String, String)] = [("style", "hayao")]) throws -> LoopbackClient.Response {
            try c.send("POST", "/api/v1/conversions", token: token, multipart: MultipartBody(files: files, fields: fields))
        }
        let long = try TestClip.make(seconds: 61, rate: FrameRate(1), width: 16, height: 16, audio: false)
        let short = try TestClip.make(seconds: 3, rate: FrameRate(12), width: 32, height: 32, audio: false)
        let screen: [UInt8] = Array("GIF89a".utf8) + [0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x3B]
        let cases: [(String, LoopbackClient.Response, Int, String)] = [
            ("too long", try post([("long.mp4", long)]), 413, "the clip lasts 61 seconds, the limit is 60"),
            ("not a clip", try post([("movie.mp4", Array("just some text, honestly".utf8))]), 422,
             "movie.mp4: not a JPEG or PNG photo, a video clip or an animated GIF"),
            ("cut in the header", try post([("cut.mp4", Array(short.prefix(40)))]), 422, "cut.mp4: the clip is damaged"),
            ("GIF bomb", try post([("bomb.gif", screen)]), 413, "bomb.gif: the clip is 65,535×65,535"),
            ("with a photo", try post([("a.mp4", short), ("cup.jpg", Photos.cupJPEG)]), 400, "without other photos"),
            ("bad rate", try post([("a.mp4", short)], [("style", "hayao"), ("fps", "99")]), 400, "twos"),
            ("too big to process", try post([("a.mp4", short)], [("style", "hayao"), ("max_side", "2048")]), 400, "between 8 and 1,280"),
        ]
        for (name, response, status, text) in cases {
            #expect(response.status == status, "\(name): \(response.status) \(response.body)")
            #expect(response.body.contains(text), "\(name): \(response.body)")
        }
        #expect(try counts(data) == (0, 0))

        // Cut in the middle: the header is whole, so it is queued; the job fails with a sentence.
        let posted = try post([("cut.mp4", Array(short.prefix(short.count * 6 / 10)))], [("style", "hayao"), ("max_side", "32")])
        #expect(posted.status == 202)
        let cutJob = try #require(object(posted)["id"] as? String)
        let final = try #require(try c.follow("/api/v1/conversions/\(cutJob)", token: token).last)
        #expect(final["status"] as? String == "failed")
        #expect((final["error"] as? String)?.contains("cut.mp4: the clip is damaged or incomplete") == true, "\(final)")
        #expect(try counts(data).images == 0)
    }
}
