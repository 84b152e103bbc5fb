import Foundation
import StorageCore
import Testing

@Suite("Job store")
struct JobStoreTests {
    let limits = JobLimits(waiting: 4, perSubmitter: 2)

    func setUp(_ backend: Backend) throws -> (TestDatabase, any JobStore, any ImageStore, Int64, Int64) {
        let db = try TestDatabase(backend)
        let a = try db.stores.users.create(username: "chihiro", passwordHash: hashA).id!
        let b = try db.stores.users.create(username: "haku", passwordHash: hashA).id!
        return (db, db.stores.jobs(), db.stores.images, a, b)
    }

    func submit(_ jobs: any JobStore, owner: Int64?, address: String? = nil, kind: Job.Kind = .conversion, at now: Date = Date()) throws -> String {
        try jobs.submit(kind: kind, owner: owner, address: address, requestID: "req", parameters: Data(#"{"style":"hayao"}"#.utf8),
                        inputs: [JobInput(name: "a.png", bytes: Data([1, 2])), JobInput(name: "b.png", bytes: Data([3]))],
                        limits: limits, now: now)
    }

    @Test("submit → claim (oldest first, inputs in order) → progress → finish stores results and ends the job in one go", arguments: Backend.available)
    func lifecycle(_ backend: Backend) throws {
        let (db, jobs, images, a, _) = try setUp(backend)
        defer { db.close() }
        let t = Date()
        let first = try submit(jobs, owner: a, at: t)
        let second = try submit(jobs, owner: a, at: t.addingTimeInterval(1))
        #expect(try jobs.claim(kinds: [.movie], now: t) == nil) // another kind's queue
        let lease = try #require(try jobs.claim(kinds: [.conversion], now: t.addingTimeInterval(2)))
        #expect(lease.job.id == first && lease.job.state == .running && lease.job.attempts == 1)
        #expect(try jobs.inputs(of: first) == [JobInput(name: "a.png", bytes: Data([1, 2])), JobInput(name: "b.png", bytes: Data([3]))])
        #expect(try jobs.renew(lease, progress: 0.5, now: t.addingTimeInterval(3)) == .held(cancelRequested: false))
        #expect(try jobs.renew(lease, progress: 0.2, now: t.addingTimeInterval(4)) == .held(cancelRequested: false))
        #expect(try jobs.find(id: first, viewer: a)?.progress == 0.5) // never goes back
        // Before any run has finished there is nothing to estimate by; this job makes 2 results
        // (two photos, one style).
        let waiting = try #require(try jobs.find(id: second, viewer: a))
        #expect(try jobs.standing(of: waiting) == JobStanding(ahead: 0, running: 1, typicalRun: nil, units: 2))
        let image = Image.make(owner: a), other = Image.make(owner: a)
        #expect(try jobs.finish(lease, .images([image, other]), now: t.addingTimeInterval(6)))
        // It ran 4 s for 2 results: 2 s per result is what the next one is estimated by.
        let typical = try #require(try jobs.standing(of: waiting).typicalRun)
        #expect(abs(typical - 2) < 0.01)
        let done = try #require(try jobs.find(id: first, viewer: a))
        #expect(done.state == .done && done.results == [image.id, other.id] && done.progress == 1 && done.finishedAt != nil)
        #expect(try images.find(id: image.id, viewer: a) != nil)
        #expect(try jobs.orphanedInputs() == 0)
        #expect(try jobs.claim(kinds: [.conversion], now: t.addingTimeInterval(5))?.job.id == second)
    }

    @Test("a form token queues one job: the same form again finds it; someone else's copy of the token does not", arguments: Backend.available)
    func oneJobPerForm(_ backend: Backend) throws {
        let (db, jobs, _, chihiro, haku) = try setUp(backend)
        defer { db.close() }
        let token = JobRules.newID()
        func send(_ owner: Int64?, _ address: String?, _ submission: String?) throws -> String {
            try jobs.submit(kind: .conversion, owner: owner, address: address, requestID: "req", parameters: Data("{}".utf8),
                            inputs: [], limits: JobLimits(waiting: 10, perSubmitter: 5), submission: submission)
        }
        let first = try send(chihiro, nil, token)
        #expect(try send(chihiro, nil, token) == first)
        #expect(try jobs.submitted(token, kind: .conversion, owner: chihiro, address: nil) == first)
        #expect(try jobs.submitted(token, kind: .movie, owner: chihiro, address: nil) == nil)
        let other = try send(haku, nil, token) // not chihiro's job to be sent to: a job of haku's own
        let hakus = try jobs.find(id: other, viewer: haku)
        #expect(other != first && hakus != nil)
        #expect(try jobs.submitted(token, kind: .conversion, owner: haku, address: nil) == nil)
        // Visitors are told apart by address; a token that is not one of ours is ignored.
        let visitor = JobRules.newID()
        let v = try send(nil, "10.0.0.9", visitor)
        #expect(try send(nil, "10.0.0.9", visitor) == v)
        let elsewhere = try send(nil, "10.0.0.8", visitor)
        #expect(elsewhere != v)
        _ = try send(haku, nil, "short")
        #expect(try jobs.submitted("short", kind: .conversion, owner: haku, address: nil) == nil)
    }

    @Test("(c) a worker whose lease was taken over can neither renew nor store anything", arguments: Backend.available)
    func fencing(_ backend: Backend) throws {
        let (db, jobs, images, a, _) = try setUp(backend)
        defer { db.close() }
        let t = Date()
        let id = try submit(jobs, owner: a, at: t)
        let stale = try #require(try jobs.claim(kinds: [.conversion], now: t))
        // The first worker stalls past its lease; another claims the job.
        let fresh = try #require(try jobs.claim(kinds: [.conversion], now: t.addingTimeInterval(jobs.leaseDuration + 1)))
        #expect(fresh.job.id == id && fresh.token != stale.token && fresh.job.attempts == 2)
        #expect(try jobs.renew(stale, progress: 0.9, now: t.addingTimeInterval(jobs.leaseDuration + 2)) == .lost)
        let duplicate = Image.make(owner: a)
        #expect(try !jobs.finish(stale, .images([duplicate])))
        #expect(try images.find(id: duplicate.id, viewer: a) == nil)
        #expect(try jobs.find(id: id, viewer: a)?.state == .running)
        let kept = Image.make(owner: a)
        #expect(try jobs.finish(fresh, .images([kept])))
        #expect(try jobs.find(id: id, viewer: a)?.results == [kept.id])
        #expect(try !jobs.finish(stale, .failed("late"))) // nor overwrite the finished state
        #expect(try jobs.find(id: id, viewer: a)?.state == .done)
    }

    @Test("a job interrupted maxAttempts times fails with a sentence; a released job keeps its attempt", arguments: Backend.available)
    func attempts(_ backend: Backend) throws {
        let (db, jobs, _, a, _) = try setUp(backend)
        defer { db.close() }
        var t = Date()
        let id = try submit(jobs, owner: a, at: t)
        let polite = try #require(try jobs.claim(kinds: [.conversion], now: t))
        try jobs.release(polite, now: t) // a worker stopping on SIGTERM gives the job back
        let released = try #require(try jobs.find(id: id, viewer: a))
        #expect(released.state == .queued && released.attempts == 0)
        for attempt in 1...jobs.maxAttempts {
            let lease = try #require(try jobs.claim(kinds: [.conversion], now: t))
            #expect(lease.job.attempts == attempt)
            t = t.addingTimeInterval(jobs.leaseDuration + 1) // the worker died: nobody renews
        }
        #expect(try jobs.claim(kinds: [.conversion], now: t) == nil)
        let failed = try #require(try jobs.find(id: id, viewer: a))
        #expect(failed.state == .failed && failed.error == JobRules.interruptedSentence(jobs.maxAttempts))
        #expect(failed.errorMessage == #"{"key":"job.interrupted","arguments":{"attempts":\#(jobs.maxAttempts)}}"#)
        #expect(try jobs.orphanedInputs() == 0)
    }

    @Test("limits are counted per kind, per member and per visitor address; a full queue is refused", arguments: Backend.available)
    func limitsCounted(_ backend: Backend) throws {
        let (db, jobs, _, a, b) = try setUp(backend)
        defer { db.close() }
        _ = try submit(jobs, owner: a)
        _ = try submit(jobs, owner: a)
        #expect(throws: JobRefusal.tooManyOfYours(2)) { _ = try submit(jobs, owner: a) }
        #expect(throws: JobRefusal.tooManyOfYours(2)) { try jobs.checkRoom(kind: .conversion, owner: a, address: nil, limits: limits) }
        _ = try submit(jobs, owner: a, kind: .movie) // another kind, counted apart
        _ = try submit(jobs, owner: nil, address: "10.0.0.1")
        _ = try submit(jobs, owner: b) // 4 of 4 conversions waiting now
        #expect(throws: JobRefusal.full) { _ = try submit(jobs, owner: nil, address: "10.0.0.2") }
        #expect(try jobs.counts()[.conversion]?[.queued] == 4 && jobs.counts()[.movie]?[.queued] == 1)
        let room = JobLimits(waiting: 10, perSubmitter: 2)
        _ = try jobs.submit(kind: .conversion, owner: nil, address: "10.0.0.1", requestID: "r", parameters: Data("{}".utf8), inputs: [], limits: room)
        #expect(throws: JobRefusal.tooManyOfYours(2)) {
            _ = try jobs.submit(kind: .conversion, owner: nil, address: "10.0.0.1", requestID: "r", parameters: Data("{}".utf8), inputs: [], limits: room)
        }
    }

    @Test("only the owner sees or cancels; a queued job is cancelled at once, a running one on request", arguments: Backend.available)
    func cancelling(_ backend: Backend) throws {
        let (db, jobs, images, a, b) = try setUp(backend)
        defer { db.close() }
        let t = Date()
        let running = try submit(jobs, owner: a, at: t)
        let queued = try submit(jobs, owner: a, at: t.addingTimeInterval(1))
        let lease = try #require(try jobs.claim(kinds: [.conversion], now: t))
        #expect(try jobs.find(id: running, viewer: b) == nil && jobs.find(id: running, viewer: nil) == nil)
        #expect(try jobs.cancel(id: running, viewer: b) == nil)
        #expect(try jobs.cancel(id: queued, viewer: a) == .cancelled)
        #expect(try jobs.cancel(id: running, viewer: a) == .requested)
        #expect(try jobs.renew(lease, progress: 0.1, now: t) == .held(cancelRequested: true))
        #expect(try jobs.finish(lease, .cancelled))
        #expect(try jobs.cancel(id: running, viewer: a) == .alreadyFinished(.cancelled))
        #expect(try jobs.orphanedInputs() == 0 && images.list(owner: a, page: 1).items.isEmpty)
        #expect(try jobs.purge(finishedBefore: Date().addingTimeInterval(1)) == 2)
        #expect(try jobs.find(id: running, viewer: a) == nil)
    }

    @Test("many threads claiming at once never get the same job", arguments: Backend.available)
    func concurrentClaims(_ backend: Backend) throws {
        let (db, jobs, _, _, _) = try setUp(backend)
        defer { db.close() }
        let many = JobLimits(waiting: 100, perSubmitter: 100)
        var ids: Set<String> = []
        for _ in 0..<40 {
            ids.insert(try jobs.submit(kind: .conversion, owner: nil, address: nil, requestID: "r", parameters: Data("{}".utf8),
                                       inputs: [], limits: many))
        }
        let claimed = ClaimLog()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            while let lease = try? jobs.claim(kinds: [.conversion]) { claimed.add(lease.job.id) }
        }
        #expect(claimed.ids.sorted() == ids.sorted())
    }
}

final class ClaimLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ id: String) { lock.withLock { list.append(id) } }
    var ids: [String] { lock.withLock { list } }
}
