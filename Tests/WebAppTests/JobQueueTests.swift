import Foundation
import HTTPServer
import Synchronization
import Testing
@testable import WebApp

@Suite("Job queue", .serialized)
struct JobQueueTests {
    func waitFor(_ queue: JobQueue, _ id: String, viewer: Int64?, until done: (JobQueue.Snapshot) -> Bool) -> JobQueue.Snapshot? {
        for _ in 0..<400 {
            if let s = queue.snapshot(id: id, viewer: viewer), done(s) { return s }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return queue.snapshot(id: id, viewer: viewer)
    }

    @Test("jobs run one at a time, in order, with progress that only grows")
    func oneAtATime() throws {
        let queue = JobQueue()
        let log = Mutex<[String]>([])
        var ids: [String] = []
        for name in ["a", "b", "c"] {
            ids.append(try queue.submit(owner: 1) { progress, _ in
                log.withLock { $0.append("start \(name)") }
                for i in 1...4 { Thread.sleep(forTimeInterval: 0.01); progress(Double(i) / 4) }
                progress(0.5) // a late, smaller report must not move progress back
                log.withLock { $0.append("end \(name)") }
                return ["image-\(name)"]
            })
        }
        let last = waitFor(queue, ids[2], viewer: 1) { $0.status == .done }
        #expect(last?.resultIDs == ["image-c"] && last?.progress == 1)
        #expect(log.withLock { $0 } == ["start a", "end a", "start b", "end b", "start c", "end c"])
    }

    @Test("cancel a queued job (never runs) and a running one (stops between layers)")
    func cancellation() throws {
        let queue = JobQueue()
        let started = Mutex<Bool>(false)
        let running = try queue.submit(owner: 1) { progress, isCancelled in
            started.withLock { $0 = true }
            for i in 0..<500 {
                if isCancelled() { throw CancellationError() }
                progress(Double(i) / 500)
                Thread.sleep(forTimeInterval: 0.01)
            }
            return ["never"]
        }
        let ranQueued = Mutex<Bool>(false)
        let queued = try queue.submit(owner: 1) { _, _ in ranQueued.withLock { $0 = true }; return [] }
        _ = waitFor(queue, running, viewer: 1) { $0.status == .running }
        #expect(queue.cancel(id: queued, viewer: 1))
        #expect(queue.snapshot(id: queued, viewer: 1)?.status == .cancelled)
        #expect(queue.cancel(id: running, viewer: 1))
        let stopped = waitFor(queue, running, viewer: 1) { $0.status != .running }
        #expect(stopped?.status == .cancelled && stopped?.error == nil && stopped?.resultIDs.isEmpty == true)
        Thread.sleep(forTimeInterval: 0.05)
        #expect(!ranQueued.withLock { $0 } && started.withLock { $0 })
        #expect(!queue.cancel(id: running, viewer: 1)) // already finished
    }

    @Test("a job's own refusal is shown; anything else is a sentence with the request id, the details logged (issue 12, item 12)")
    func failure() throws {
        struct DatabaseTrouble: Error, CustomStringConvertible { var description: String { "SQLite error 13: /srv/data/artworker.sqlite: disk full" } }
        let queue = JobQueue()
        let refused = try queue.submit(owner: nil, requestID: "r1") { _, _ in throw JobFailure(description: "frame_7.png: the PNG file is truncated.") }
        #expect(waitFor(queue, refused, viewer: nil) { $0.status == .failed }?.error == "frame_7.png: the PNG file is truncated.")
        let broken = try queue.submit(owner: nil, requestID: "0a1b") { _, _ in throw DatabaseTrouble() }
        let error = waitFor(queue, broken, viewer: nil) { $0.status == .failed }?.error ?? ""
        #expect(error.contains("request id 0a1b") && !error.contains("SQLite") && !error.contains("/srv"))
    }

    @Test("limits: a full queue is 503, too many of one member's is 429; only the owner sees or cancels")
    func limitsAndOwnership() throws {
        let queue = JobQueue(maxQueued: 3, maxPerMember: 2)
        let gate = DispatchSemaphore(value: 0)
        let slow: JobQueue.Work = { _, _ in gate.wait(); return [] }
        let first = try queue.submit(owner: 1, work: slow)
        _ = try queue.submit(owner: 1, work: slow)
        #expect { _ = try queue.submit(owner: 1, work: slow) } throws: { ($0 as? HTTPError)?.status.code == 429 }
        _ = try queue.submit(owner: 2, work: slow)
        #expect { _ = try queue.submit(owner: 3, work: slow) } throws: { ($0 as? HTTPError)?.status.code == 503 }
        #expect(queue.snapshot(id: first, viewer: 2) == nil && queue.snapshot(id: first, viewer: nil) == nil)
        #expect(!queue.cancel(id: first, viewer: 2))
        for _ in 0..<3 { gate.signal() }
        #expect(waitFor(queue, first, viewer: 1) { $0.status == .done }?.status == .done)
    }

    @Test("anonymous visitors are limited per address")
    func anonymousPerAddress() throws {
        let queue = JobQueue(maxQueued: 8, maxPerMember: 1)
        let gate = DispatchSemaphore(value: 0)
        let slow: JobQueue.Work = { _, _ in gate.wait(); return [] }
        let first = try queue.submit(owner: nil, address: "10.0.0.1", work: slow)
        #expect { _ = try queue.submit(owner: nil, address: "10.0.0.1", work: slow) } throws: { ($0 as? HTTPError)?.status.code == 429 }
        _ = try queue.submit(owner: nil, address: "10.0.0.2", work: slow)
        gate.signal(); gate.signal()
        #expect(waitFor(queue, first, viewer: nil) { $0.status == .done }?.status == .done)
    }
}

@Suite("Page helpers")
struct PageHelperTests {
    @Test("timestamps are RFC 3339 in UTC, zero-padded")
    func timestamps() {
        #expect(ImageLibrary.timestamp(Date(timeIntervalSince1970: 1_795_249_664.9)) == "2026-11-21T08:27:44Z")
        #expect(ImageLibrary.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
        #expect(ImageLibrary.readableTime(Date(timeIntervalSince1970: 1_795_249_664)) == "2026-11-21 08:27 UTC")
    }

    @Test("download names come from the upload's name, reduced to safe characters", arguments: [
        ("Harbour at Dusk.JPG", "Harbour-at-Dusk"), ("../../etc/passwd", "passwd"), (#"C:\photos\mei.png"#, "mei"),
        ("\"quoted\";.png", "quoted"), ("日本.png", ""), ("noext", "noext"), (".png", ""),
    ])
    func titles(filename: String, title: String) {
        #expect(DownloadName.title(fromFilename: filename) == title)
    }
}
