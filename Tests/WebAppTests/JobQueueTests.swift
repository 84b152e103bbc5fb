import Foundation
import Localization
import HTTPServer
import Logging
import StorageCore
import StorageSQLite
import Synchronization
import Testing
@testable import WebApp

/// A job table in a temporary database, three members, a queue and workers on it.
struct JobFixture {
    let dir: URL
    let store: any JobStore
    let queue: JobQueue
    let members: [Int64]
    let log = CapturedLog()

    init(limits: JobLimits = .init(waiting: 16, perSubmitter: 3), lease: TimeInterval = 2) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-jobs-\(UUID().uuidString)")
        let database = try AppDatabase.open(directory: dir)
        store = SQLiteJobStore(database: database, settings: JobSettings(leaseDuration: lease))
        queue = JobQueue(store: store, kind: .conversion, limits: limits)
        let users = SQLiteUserStore(database: database)
        members = try ["chihiro", "haku", "lin"].map { try users.create(username: $0, passwordHash: "$2b$04$" + String(repeating: "a", count: 53)).id! }
    }

    func worker(_ execute: @escaping JobWorker.Execute) -> JobWorker {
        var logger = Logger(label: "test") { _ in log }
        logger.logLevel = .debug
        let worker = JobWorker(store: store, kinds: [.conversion], name: "test", logger: logger, pollInterval: 0.02, execute: execute)
        worker.start()
        return worker
    }

    func submit(owner: Int64?, address: String? = nil, requestID: String = "r") throws -> String {
        try queue.submit(owner: owner, address: address, requestID: requestID, parameters: ["n": 1], inputs: [JobInput(name: "a", bytes: Data([1]))])
    }

    func wait(_ id: String, viewer: Int64?, until done: (JobQueue.Snapshot) -> Bool) throws -> JobQueue.Snapshot? {
        for _ in 0..<500 {
            if let s = try queue.snapshot(id: id, viewer: viewer), done(s) { return s }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return try queue.snapshot(id: id, viewer: viewer)
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }
}

/// Keeps every log message and its metadata, to check what reaches the log.
final class CapturedLog: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        let text = "\(event.level) \(event.message) " + (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        lock.withLock { lines.append(text) }
    }
    var all: [String] { lock.withLock { lines } }
}

@Suite("Job queue and workers", .serialized)
struct JobQueueTests {
    @Test("a worker runs jobs one at a time, oldest first; progress reaches the row and never goes back")
    func oneAtATime() throws {
        let f = try JobFixture()
        defer { f.remove() }
        let order = Mutex<[String]>([])
        let ids = try (0..<3).map { _ in try f.submit(owner: f.members[0]) }
        let worker = f.worker { job, inputs, progress, _ in
            order.withLock { $0.append("start \(job.id)") }
            #expect(inputs == [JobInput(name: "a", bytes: Data([1]))])
            progress(0.6)
            Thread.sleep(forTimeInterval: 0.6) // a heartbeat or two
            progress(0.3) // a late, smaller report must not move progress back
            Thread.sleep(forTimeInterval: 0.6)
            order.withLock { $0.append("end \(job.id)") }
            return .images([])
        }
        defer { worker.stop() }
        let seen = try f.wait(ids[0], viewer: f.members[0]) { $0.status == .running && $0.progress > 0 }
        #expect(seen?.progress == 0.6)
        let last = try f.wait(ids[2], viewer: f.members[0]) { $0.status == .done }
        #expect(last?.status == .done && last?.progress == 1)
        #expect(order.withLock { $0 } == ids.flatMap { ["start \($0)", "end \($0)"] })
    }

    @Test("cancel a queued job (never runs) and a running one (stops at its next step, stores nothing)")
    func cancellation() throws {
        let f = try JobFixture()
        defer { f.remove() }
        let me = f.members[0]
        let running = try f.submit(owner: me)
        let queued = try f.submit(owner: me)
        let ran = Mutex<[String]>([])
        let worker = f.worker { job, _, progress, isCancelled in
            ran.withLock { $0.append(job.id) }
            for i in 0..<1000 {
                if isCancelled() { throw CancellationError() }
                progress(Double(i) / 1000)
                Thread.sleep(forTimeInterval: 0.01)
            }
            return .failed("ran to the end")
        }
        _ = try f.wait(running, viewer: me) { $0.status == .running }
        #expect(try f.queue.cancel(id: queued, viewer: me))
        #expect(try f.queue.snapshot(id: queued, viewer: me)?.status == .cancelled)
        #expect(try !f.queue.cancel(id: running, viewer: f.members[1])) // not theirs
        #expect(try f.queue.cancel(id: running, viewer: me))
        let stopped = try f.wait(running, viewer: me) { $0.status != .running }
        worker.stop()
        #expect(stopped?.status == .cancelled && stopped?.error == nil && stopped?.resultIDs.isEmpty == true)
        #expect(ran.withLock { $0 } == [running])
        #expect(try !f.queue.cancel(id: running, viewer: me)) // already finished
        #expect(try f.store.orphanedInputs() == 0)
    }

    @Test("a job's own refusal is shown; anything else is a sentence with the request id, the details logged (issue 12, item 12)")
    func failure() throws {
        struct DatabaseTrouble: Error, CustomStringConvertible { var description: String { "SQLite error 13: /srv/data/artworker.sqlite: disk full" } }
        let f = try JobFixture()
        defer { f.remove() }
        let refused = try f.submit(owner: nil, requestID: "r1")
        let broken = try f.submit(owner: nil, requestID: "0a1b")
        let worker = f.worker { job, _, _, _ in
            if job.id == refused { throw JobFailure(Message("photo.truncated", ["file": "frame_7.png", "format": "PNG"])) }
            throw DatabaseTrouble()
        }
        defer { worker.stop() }
        let failed = try #require(try f.wait(refused, viewer: nil) { $0.status == .failed })
        #expect(failed.error == "frame_7.png: the PNG file is incomplete (truncated).")
        #expect(failed.error(in: .ko) == "frame_7.png: PNG 파일이 중간에 끊겼습니다.") // each reader in their language
        let error = try f.wait(broken, viewer: nil) { $0.status == .failed }?.error ?? ""
        #expect(error.contains("request id 0a1b") && !error.contains("SQLite") && !error.contains("/srv"))
        let logged = f.log.all.filter { $0.hasPrefix("error job failed") }
        #expect(logged.count == 1 && logged[0].contains("disk full") && logged[0].contains("id=0a1b") && logged[0].contains("job=\(broken)"))
    }

    @Test("limits: a full queue is busy (try in 30 s), too many of one member's is too many (10 s), visitors count per address; only the owner sees")
    func limitsAndOwnership() throws {
        let f = try JobFixture(limits: .init(waiting: 5, perSubmitter: 2))
        defer { f.remove() }
        let (a, b, c) = (f.members[0], f.members[1], f.members[2])
        let first = try f.submit(owner: a)
        _ = try f.submit(owner: a)
        #expect { _ = try f.submit(owner: a) } throws: { ($0 as? Refusal)?.reason == .tooMany(retryAfter: 10) }
        #expect { try f.queue.checkRoom(owner: a, address: nil) } throws: { ($0 as? Refusal)?.reason == .tooMany(retryAfter: 10) }
        _ = try f.submit(owner: nil, address: "10.0.0.1")
        _ = try f.submit(owner: nil, address: "10.0.0.1")
        #expect { _ = try f.submit(owner: nil, address: "10.0.0.1") } throws: { ($0 as? Refusal)?.reason == .tooMany(retryAfter: 10) }
        _ = try f.submit(owner: b) // 5 of 5
        #expect { _ = try f.submit(owner: nil, address: "10.0.0.2") } throws: { ($0 as? Refusal)?.reason == .busy(retryAfter: 30) }
        #expect(try f.queue.snapshot(id: first, viewer: c) == nil && f.queue.snapshot(id: first, viewer: nil) == nil)
        #expect(try f.queue.snapshot(id: first, viewer: a)?.status == .queued)
    }

    @Test("a stopping worker gives its job back (attempt not counted); the next worker finishes it")
    func stoppingReleases() throws {
        let f = try JobFixture()
        defer { f.remove() }
        let id = try f.submit(owner: f.members[0])
        let first = f.worker { _, _, _, isCancelled in
            while !isCancelled() { Thread.sleep(forTimeInterval: 0.01) }
            throw CancellationError()
        }
        _ = try f.wait(id, viewer: f.members[0]) { $0.status == .running }
        first.stop()
        let job = try #require(try f.store.find(id: id, viewer: f.members[0]))
        #expect(job.state == .queued && job.attempts == 0)
        let second = f.worker { _, _, _, _ in .images([]) }
        defer { second.stop() }
        #expect(try f.wait(id, viewer: f.members[0]) { $0.status == .done }?.status == .done)
        #expect(try f.store.find(id: id, viewer: f.members[0])?.attempts == 1)
    }
}

@Suite("Page helpers")
struct PageHelperTests {
    @Test("timestamps are RFC 3339 in UTC, zero-padded")
    func timestamps() {
        #expect(ImageLibrary.timestamp(Date(timeIntervalSince1970: 1_795_249_664.9)) == "2026-11-21T08:27:44Z")
        #expect(ImageLibrary.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
    }

    @Test("dates as each language writes them, in a stated time zone")
    func dates() {
        let date = Date(timeIntervalSince1970: 1_795_249_664)
        #expect(Dates.time(date, in: .en) == "21 Nov 2026, 08:27 UTC")
        #expect(Dates.time(date, in: .ko) == "2026년 11월 21일 08:27 UTC")
        #expect(Dates.day(date, in: .en) == "21 Nov 2026" && Dates.day(date, in: .ko) == "2026년 11월 21일")
    }

    @Test("titles keep any script, NFC, without folders, extension or control characters", arguments: [
        ("Harbour at Dusk.JPG", "Harbour at Dusk"), ("../../etc/passwd", "passwd"), (#"C:\photos\mei.png"#, "mei"),
        ("\"quoted\";.png", "\"quoted\";"), ("日本.png", "日本"), ("noext", "noext"), (".png", ""),
        ("우리집 고양이.png", "우리집 고양이"), ("고양이.jpg", "고양이"), ("\u{1100}\u{1169}\u{110B}\u{1163}\u{11BC}\u{110B}\u{1175}.png", "고양이"),
        ("my_cat\u{7}\n  photo.png", "my cat photo"), ("🐈‍⬛ night.png", "🐈‍⬛ night"),
    ])
    func titles(filename: String, title: String) {
        #expect(DownloadName.title(fromFilename: filename) == title)
    }

    @Test("a long title is cut at a grapheme boundary, at a word where one is near, with a visible …")
    func longTitles() {
        let korean = String(repeating: "고양이와 강아지 ", count: 20) + ".png"
        let title = DownloadName.title(fromFilename: korean)
        #expect(title.count <= DownloadName.maxTitle && title.hasSuffix("…") && !title.hasSuffix(" …"))
        #expect(title.dropLast().hasSuffix("강아지") || title.dropLast().hasSuffix("고양이와"))
        let flags = String(repeating: "🇰🇷", count: 100) // one grapheme = two scalars: never split
        let cut = DownloadName.title(flags)
        #expect(cut == String(repeating: "🇰🇷", count: DownloadName.maxTitle - 1) + "…")
    }

    @Test("download names keep the title; the ASCII fallback never loses the file", arguments: [
        ("우리집 고양이", "우리집 고양이-hayao.png", "artworker-hayao-a1b2c3d4.png"),
        ("Harbour at Dusk", "Harbour at Dusk-hayao.png", "Harbour-at-Dusk-hayao.png"),
        ("", "artworker-hayao-a1b2c3d4.png", "artworker-hayao-a1b2c3d4.png"),
        ("a/b:c", "a-b-c-hayao.png", "a-b-c-hayao.png"),
    ])
    func downloadNames(title: String, name: String, fallback: String) {
        let file = DownloadName.file(title: title, style: "hayao", id: "a1b2c3d4e5f6", ext: "png")
        #expect(file.name == name && file.fallback == fallback)
    }
}

@Suite("Refusals as HTTP")
struct RefusalMappingTests {
    @Test("each reason has one status; waits travel as Retry-After", arguments: [
        (Refusal.Reason.invalid, 400, nil), (.unreadable, 422, nil), (.tooLarge, 413, nil), (.notFound, 404, nil),
        (.forbidden, 403, nil), (.wrongCredentials, 401, nil), (.conflict, 409, nil), (.tooMany(retryAfter: 10), 429, "10"),
        (.wrongType, 415, nil),
        (.busy(retryAfter: 30), 503, "30"), (.unavailable, 503, nil),
    ] as [(Refusal.Reason, Int, String?)])
    func mapping(reason: Refusal.Reason, status: Int, retryAfter: String?) {
        let error = HTTPError(Refusal(reason, "A sentence."))
        #expect(error.status.code == status && error.message == "A sentence." && error.headers["Retry-After"] == retryAfter)
        #expect(HTTPError.from(Refusal(reason, "A sentence."))?.status.code == status)
        #expect(HTTPError.from(CancellationError()) == nil) // unexpected: the router's generic 500
    }

    @Test("a database that cannot be reached is 503 with Retry-After and a sentence in each language, not a 500")
    func storageUnavailable() throws {
        let error = try #require(HTTPError.from(StorageUnavailable("connection refused")))
        #expect(error.status.code == 503 && error.headers["Retry-After"] == "2" && error.code == "storage.unavailable")
        #expect(error.message(in: .en).contains("database") && error.message(in: .ko).contains("데이터베이스"))
    }
}
