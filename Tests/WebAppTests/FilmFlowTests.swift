import Foundation
import ImageIO
import Testing
import TestSupport
import Video
@testable import WebApp

/// A film's video as a movie's source of frames (`TestClip.film`: black 0–2 s, a held shot
/// 2–8 s, another 8–12 s, black 12–14 s, a moving square from 14 s).
@Suite("A film's palette from its video", .serialized)
struct FilmFlowTests {
    static let film = try! TestClip.film()

    func post(_ c: LoopbackClient, token: String, files: [(String, [UInt8])], interval: String? = nil) throws -> LoopbackClient.Response {
        try c.send("POST", "/api/v1/movies", token: token, multipart: MultipartBody(
            files: files, fields: [("title", "Kiki's <Film>")] + (interval.map { [("interval", $0)] } ?? []), field: "frames"))
    }

    @Test("a video in the frames field: a frame every 2 s, fades and repeats skipped, each scene with its time on the page and in palette.json")
    func film() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 30)
        let token = try c.member("kiki")
        let posted = try post(c, token: token, files: [("film.mp4", Self.film)])
        #expect(posted.status == 202)
        let job = try #require(object(posted)["id"] as? String)
        let seen = try c.follow("/api/v1/movies/jobs/\(job)", token: token)
        let progress = seen.compactMap { $0["progress"] as? Double }
        #expect(progress == progress.sorted() && progress.last == 1)
        let movieID = try #require(seen.last?["movie"] as? String, "\(seen.last ?? [:])")

        // Taken at 0, 2, …, 18 s: 0 and 12 are black, 4 and 6 repeat 2, 10 repeats 8.
        let movie = object(try c.send("GET", "/api/v1/movies/\(movieID)"))
        #expect(movie["scenes"] as? Int == 5 && movie["colours"] as? Int == 90, "\(movie)")
        let json = object(try c.send("GET", "/api/v1/movies/\(movieID)/palette.json"))
        let scenes = try #require(json["scenes"] as? [[String: Any]])
        #expect(scenes.map { $0["seconds"] as? Double ?? -1 } == [2, 8, 14, 16, 18])
        #expect(scenes.allSatisfy { ($0["flags"] as? [String]) == [] })
        // The held shot's colours: its gradient's blue is 200 everywhere.
        let first = try #require(scenes.first?["colours"] as? [[String: Any]])
        #expect(first.count == 18 && first.allSatisfy { abs(($0["b"] as? Double ?? 0) - 200) < 6 }, "\(first.prefix(3))")

        let html = try c.send("GET", "/movies/\(movieID)").body
        #expect(html.contains(#"class="film-player" hidden"#) && html.contains(#"<input type="file" accept="video/*"#))
        #expect(html.contains(#"data-seconds="2.000"><time datetime="PT2.000S">0:02</time>"#), "\(html)")
        #expect(html.contains(##"href="#scene-5" data-seconds="18.000""##) && html.contains(">0:18</time>"))
        let thumbnail = try c.send("GET", "/movies/\(movieID)/scenes/3.jpg")
        let thumbnailWidth = try ImageDecoder.info(thumbnail.bodyBytes).width
        #expect(thumbnail.status == 200 && thumbnailWidth == 96)

        // A longer interval: 0 (black), 4 (held), 8 (other), 12 (black), 16 (square).
        let again = try post(c, token: token, files: [("film.mp4", Self.film)], interval: "4")
        let againJob = try #require(object(again)["id"] as? String)
        let againID = try #require(try c.follow("/api/v1/movies/jobs/\(againJob)", token: token).last?["movie"] as? String)
        let againScenes = try #require(object(try c.send("GET", "/api/v1/movies/\(againID)/palette.json"))["scenes"] as? [[String: Any]])
        #expect(againScenes.map { $0["seconds"] as? Double ?? -1 } == [4, 8, 16])

        // Frames uploaded as pictures keep no time, and their page offers no player.
        let frames = try c.send("POST", "/api/v1/movies", token: token, multipart: MultipartBody(
            files: [("frame_1.png", Frames.png)], fields: [("title", "Stills")], field: "frames"))
        let framesJob = try #require(object(frames)["id"] as? String)
        let framesID = try #require(try c.follow("/api/v1/movies/jobs/\(framesJob)", token: token).last?["movie"] as? String)
        let framesScenes = try #require(object(try c.send("GET", "/api/v1/movies/\(framesID)/palette.json"))["scenes"] as? [[String: Any]])
        #expect(framesScenes.count == 1 && framesScenes[0]["seconds"] == nil)
        let framesPage = try c.send("GET", "/movies/\(framesID)").body
        #expect(!framesPage.contains("film-player"))
    }

    @Test("the form offers a video and an interval, and a film sent through it becomes a job")
    func form() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 30)
        _ = try c.member("kiki")
        let b = try Browser(port: app.port)
        let login = try #require(Browser.csrf(in: try b.request("GET", "/login").body))
        _ = try b.request("POST", "/login", form: ["username": "kiki", "password": "a long enough secret phrase", "_csrf": login])
        let form = try b.request("GET", "/movies/new")
        #expect(form.body.contains(#"name="interval" min="0.5" max="60" step="0.5" value="2""#))
        #expect(form.body.contains("video/*") && form.body.contains("up to 200 MB and 4 hours"))
        let csrf = try #require(Browser.csrf(in: form.body))
        let sent = try b.upload("/movies", MultipartBody(
            files: [("film.mp4", Self.film)], fields: [("_csrf", csrf), ("title", "By the form"), ("interval", "2")], field: "frames"))
        #expect(sent.status == 303 && sent.headers["location"]?.hasPrefix("/movies/jobs/") == true, "\(sent.status) \(sent.body)")
        // A mistake shows the form again with what was typed, the interval included.
        let wrong = try b.upload("/movies", MultipartBody(
            files: [("film.mp4", Self.film)], fields: [("_csrf", csrf), ("title", "Typed"), ("interval", "90")], field: "frames"))
        #expect(wrong.status == 400 && wrong.body.contains("from 0.5 to 60") && wrong.body.contains(#"value="90""#))
    }

    @Test("bad films: refused before queuing, or a failed job in words; nothing stored")
    func refusals() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 30)
        let token = try c.member("kiki")
        let cases: [(files: [(String, [UInt8])], interval: String?, status: Int, says: String)] = [
            ([("film.mp4", Self.film)], "0.1", 400, "from 0.5 to 60"),
            ([("film.mp4", Self.film)], "soon", 400, "from 0.5 to 60"),
            ([("film.mp4", Self.film), ("frame_1.png", Frames.png)], nil, 400, "on its own"),
            ([("frame_1.png", Frames.png), ("film.mp4", Self.film)], nil, 400, "on its own"),
            ([("film.mp4", Self.film), ("again.mp4", Self.film)], nil, 400, "on its own"),
            ([("film.mp4", Array("just some text".utf8))], nil, 422, "film.mp4: not a JPEG or PNG photo"),
            ([("film.mp4", Array(Self.film.prefix(40)))], nil, 422, "film.mp4: the clip is damaged"),
            ([("film.mp4", [])], nil, 400, "Add the movie's frames"),
        ]
        for (files, interval, status, says) in cases {
            let r = try post(c, token: token, files: files, interval: interval)
            #expect(r.status == status, "\(says): \(r.body)")
            #expect((object(r)["error"] as? String ?? "").contains(says), "\(r.body)")
        }
        #expect(try storedMovieCounts(data) == [0, 0, 0])

        // Cut after its header: queued, then failed with a sentence, nothing stored.
        let cut = try post(c, token: token, files: [("cut.mp4", Array(Self.film.prefix(Self.film.count * 6 / 10)))])
        #expect(cut.status == 202)
        let cutJob = try #require(object(cut)["id"] as? String)
        let final = try #require(try c.follow("/api/v1/movies/jobs/\(cutJob)", token: token).last)
        #expect(final["status"] as? String == "failed")
        #expect((final["error"] as? String)?.contains("cut.mp4: the clip is damaged or incomplete") == true, "\(final)")
        // Only black frames: nothing to count.
        let dark = try TestClip.make(seconds: 3, rate: FrameRate(5), width: 32, height: 32, audio: false) { _ in
            RGBImage(width: 32, height: 32, fill: RGB(1, 1, 1))
        }
        let black = try post(c, token: token, files: [("night.mp4", dark)])
        let blackJob = try #require(object(black)["id"] as? String)
        let ended = try #require(try c.follow("/api/v1/movies/jobs/\(blackJob)", token: token).last)
        #expect(ended["status"] as? String == "failed" && (ended["error"] as? String)?.contains("night.mp4: every frame taken was black") == true,
                "\(ended)")
        #expect(try storedMovieCounts(data) == [0, 0, 0])
        #expect(try c.send("GET", "/healthz").status == 200)
    }

    @Test("a film's length and frame count are held to the limits from its header, in a film's words")
    func limits() throws {
        // 20 s every 0.5 s is 41 frames; a limit of 40 refuses it before a frame is decoded.
        var options = FilmOptions(interval: 0.5)
        options.limits.maxOutputFrames = 40
        do throws(VideoError) {
            _ = try FilmFrames.plan(Self.film, options: options)
            Issue.record("41 frames passed a limit of 40")
        } catch {
            let refusal = MovieService.refusal(error, file: "film.mp4", interval: 0.5, limits: options.limits)
            #expect(refusal.message.description == "film.mp4: a frame every 0.5 s makes 41 frames, the limit is 40; choose a longer interval.")
            // Too many frames decoded is the clip's sentence: no interval helps.
            #expect(MovieService.refusal(.tooManyFrames(count: 864_001, limit: 864_000), file: "film.mp4", interval: 2).message.description
                == "film.mp4: the clip has 864,001 frames or more, the limit is 864,000.")
        }
        options = FilmOptions(interval: 2)
        options.limits.maxSeconds = 10
        do throws(VideoError) {
            _ = try FilmFrames.plan(Self.film, options: options)
            Issue.record("a 20 s film passed a 10 s limit")
        } catch {
            #expect(MovieService.refusal(error, file: "film.mp4", interval: 2).message.description == "film.mp4: the video lasts 0:20, the limit is 0:10.")
        }
        #expect(try MovieService.interval(nil) == 2 && MovieService.interval(" 1,5 ") == 1.5 && MovieService.interval("60") == 60)
        for bad in ["0.4", "61", "nan", "inf", "-2", "2s"] { #expect(throws: Refusal.self) { try MovieService.interval(bad) } }
        #expect(FilmScenes.timecode(754_000) == "12:34" && FilmScenes.timecode(3_734_000) == "1:02:14" && FilmScenes.timecode(0) == "0:00")
        #expect(FilmScenes.timecode(500) == "0:00.5" && FilmScenes.timecode(2_002) == "0:02" && FilmScenes.timecode(3_734_250) == "1:02:14.2")
    }
}
