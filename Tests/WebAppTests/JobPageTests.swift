import Foundation
import ImageIO
import StorageCore
import StorageSQLite
import Testing
import TestSupport
@testable import WebApp

/// The job page while a conversion waits (its photo, its place in the queue, a time estimate)
/// and once it is done (each photo beside its styles, everything in one ZIP).
@Suite("Job pages", .serialized)
struct JobPageTests {
    @Test("queued: the photo as it will be converted, how many are ahead, announced politely")
    func queued() throws {
        let (app, data) = try startApp { $0.workers = 0 } // nothing runs: the jobs stay queued
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 30)
        let token = try c.member("totoro")
        var ids: [String] = []
        for crop in ["", "10,20,60,40"] {
            let r = try c.send("POST", "/api/v1/conversions", token: token, multipart: MultipartBody(
                files: [("cup.png", Photos.cup)], fields: [("style", "hayao"), ("crop", crop)]))
            ids.append(try #require(object(r)["id"] as? String))
        }
        let second = object(try c.send("GET", "/api/v1/conversions/\(ids[1])", token: token))
        #expect(second["ahead"] as? Int == 1 && second["ahead_text"] as? String == "1 conversion is ahead of yours.")
        #expect(second["estimate_seconds"] == nil || second["estimate_seconds"] is NSNull) // nothing has finished yet
        #expect(object(try c.send("GET", "/api/v1/conversions/\(ids[0])", token: token))["ahead_text"] as? String == "Yours is next.")

        let b = try Browser(port: app.port)
        b.cookies["session"] = token
        let page = try b.request("GET", "/jobs/\(ids[1])")
        #expect(page.body.contains(#"<img class="job-photo" src="/jobs/\#(ids[1])/photo.jpg""#))
        #expect(page.body.contains("1 conversion is ahead of yours.") && page.body.contains(#"role="status" aria-live="polite""#))
        // The small photo shows the crop that will be converted (60×40), turned upright.
        let photo = try b.request("GET", "/jobs/\(ids[1])/photo.jpg")
        #expect(photo.status == 200 && photo.headers["content-type"] == "image/jpeg")
        let small = try ImageDecoder.decode(photo.bodyBytes).image
        #expect(small.width == 60 && small.height == 40)
        #expect(try Browser(port: app.port).request("GET", "/jobs/\(ids[1])/photo.jpg").status == 404) // only its owner
        _ = try c.send("DELETE", "/api/v1/conversions/\(ids[1])", token: token)
        #expect(try b.request("GET", "/jobs/\(ids[1])/photo.jpg").status == 404) // ended: the upload is gone
    }

    @Test("the estimate: a running job by its own pace, a queued one by the recent median shared among the workers")
    func estimates() {
        var s = JobQueue.Snapshot(id: "j", status: .queued, progress: 0)
        s.estimate(.init(ahead: 3, running: 2, typicalRun: 10), startedAt: nil)
        #expect(s.ahead == 3 && s.estimate == 25) // (3 / 2 + 1) × 10
        #expect(s.estimateText(in: .en) == "About 25 seconds left." && s.estimateText(in: .ko) == "약 25초 남았습니다.")
        s.estimate(.init(ahead: 30, running: 1, typicalRun: 10), startedAt: nil)
        #expect(s.estimateText(in: .en) == "About 5 minutes left.")
        s.estimate(.init(ahead: 0, running: 0, typicalRun: nil), startedAt: nil)
        #expect(s.estimate == nil && s.estimateText(in: .en) == nil)
        s.estimate(.init(ahead: 2, running: 1, typicalRun: 3, units: 4), startedAt: nil) // all four styles: four results
        #expect(s.estimate == 18) // 2 × 3 ahead, then 4 × 3
        s = JobQueue.Snapshot(id: "j", status: .running, progress: 0.25)
        let now = Date()
        s.estimate(.init(ahead: 0, running: 1, typicalRun: 100), startedAt: now.addingTimeInterval(-6), now: now)
        #expect(abs((s.estimate ?? 0) - 18) < 0.001) // 6 s for a quarter: 18 s for the rest
        #expect(s.ahead == nil)
    }

    @Test("done: each photo beside its results, labelled by style, and every result in one ZIP")
    func done() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 60)
        let token = try c.member("catbus")
        let r = try c.send("POST", "/api/v1/conversions", token: token, multipart: MultipartBody(
            files: [("우리집 고양이.png", Photos.cup), ("cup.jpg", Photos.cupJPEG)], fields: [("style", "hayao"), ("max_side", "128")]))
        let id = try #require(object(r)["id"] as? String)
        let images = try #require(try c.follow("/api/v1/conversions/\(id)", token: token).last?["images"] as? [String])
        #expect(images.count == 2)

        let b = try Browser(port: app.port)
        b.cookies["session"] = token
        let page = try b.request("GET", "/jobs/\(id)")
        #expect(page.status == 200 && page.body.contains(#"href="/jobs/\#(id)/results.zip""#))
        #expect(page.body.contains("<h2>우리집 고양이</h2>") && page.body.contains("<h2>cup</h2>"))
        #expect(page.body.contains(#"alt="우리집 고양이 in the Hayao style""#) && page.body.contains(#"src="/i/\#(images[0])/before.jpg""#))

        let zip = try b.request("GET", "/jobs/\(id)/results.zip")
        #expect(zip.status == 200 && zip.headers["content-type"] == "application/zip")
        let archive = try ZipArchive(zip.bodyBytes)
        #expect(archive.entries.map(\.name) == ["우리집 고양이-hayao.png", "cup-hayao.png"])
        let first = try archive.contents(of: archive.entries[0])
        #expect(first == (try b.request("GET", "/i/\(images[0])/result.png")).bodyBytes)
        #expect(try Browser(port: app.port).request("GET", "/jobs/\(id)/results.zip").status == 404) // someone else
    }
}
