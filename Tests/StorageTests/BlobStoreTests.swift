@testable import BlobS3
import Foundation
import StorageCore
import Testing

/// The S3 server `make test` started (moto's, on loopback), if it could.
enum TestS3 {
    static let endpoint = ProcessInfo.processInfo.environment["ARTWORKER_TEST_S3_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }

    static func url(bucket: String, endpoint: String? = endpoint) -> String {
        "s3://\(bucket)?endpoint=\(endpoint ?? "")&region=us-east-1"
    }

    /// A new, empty bucket of the test's own.
    static func bucket(pageSize: Int? = nil) throws -> S3BlobStore {
        let name = "t-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let store = try S3BlobStore(url: url(bucket: name), environment: ProcessInfo.processInfo.environment, pageSize: pageSize)
        try store.createBucket()
        return store
    }
}

@Suite("Object store")
struct BlobStoreTests {
    @Test("put, get, replace, delete; listing by prefix walks every page", .enabled(if: TestS3.endpoint != nil, "no S3 server for the tests"))
    func operations() throws {
        let store = try TestS3.bucket(pageSize: 2)
        let picture = Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try store.put("images/a/original", picture)
        #expect(try store.get("images/a/original") == picture)
        try store.put("images/a/original", Data([1, 2, 3])) // replaced whole
        #expect(try store.get("images/a/original") == Data([1, 2, 3]))
        try store.put("images/a/empty", Data())
        #expect(try store.get("images/a/empty") == Data())
        #expect(try store.get("images/missing") == nil)
        // Keys that need escaping in paths and in the listing's XML.
        for key in ["images/b/ü & <x>", "images/c/1", "images/c/2", "other/d"] { try store.put(key, Data(key.utf8)) }
        #expect(try store.get("images/b/ü & <x>") == Data("images/b/ü & <x>".utf8))
        let listed = try store.list(prefix: "images/")
        #expect(Set(listed.map(\.key)) == ["images/a/original", "images/a/empty", "images/b/ü & <x>", "images/c/1", "images/c/2"])
        #expect(listed.allSatisfy { abs($0.lastModified.timeIntervalSinceNow) < 300 })
        try store.delete("images/c/1")
        try store.delete("images/c/1") // gone already: no error
        #expect(try store.list(prefix: "images/c/").map(\.key) == ["images/c/2"])
    }

    @Test("what the object store needs is asked for by name", arguments: [
        ("s3://", "must look like s3://BUCKET"),
        ("s3://Upper?endpoint=http://127.0.0.1:9", "is not a bucket name"),
        ("s3://pictures", "needs endpoint=http(s)://HOST"),
        ("s3://pictures?endpoint=ftp://127.0.0.1", "needs endpoint=http(s)://HOST"),
    ])
    func configuration(_ url: String, _ message: String) throws {
        #expect {
            try S3BlobStore(url: url, environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"])
        } throws: { "\($0)".contains(message) }
        #expect {
            try S3BlobStore(url: "s3://pictures?endpoint=http://127.0.0.1:9", environment: [:])
        } throws: { "\($0)".contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") }
    }

    @Test("an object store that does not answer is unavailable, not a refusal")
    func unreachable() throws {
        let store = try S3BlobStore(url: TestS3.url(bucket: "pictures", endpoint: "http://127.0.0.1:1"),
                                    environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"])
        #expect(throws: StorageUnavailable.self) { try store.put("images/x/original", Data([1])) }
        #expect(throws: StorageUnavailable.self) { try store.get("images/x/original") }
    }

    @Test("a ListBucketResult is read with its entities; anything else is refused")
    func listing() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?><ListBucketResult><IsTruncated>true</IsTruncated>
            <Contents><Key>images/a&amp;b/&#252;</Key><LastModified>2026-12-06T06:20:01.000Z</LastModified></Contents>
            <NextContinuationToken>t&lt;1&gt;</NextContinuationToken></ListBucketResult>
            """
        let page = try ListPage(xml: Data(xml.utf8))
        #expect(page.blobs == [StoredBlob(key: "images/a&b/ü", lastModified: Date(timeIntervalSince1970: 1_796_538_001))])
        #expect(page.truncated && page.nextToken == "t<1>")
        #expect(throws: S3Error.self) { try ListPage(xml: Data("<Error><Code>AccessDenied</Code></Error>".utf8)) }
    }
}

/// Images with their bytes in the object store, on both database backends.
@Suite("Images in the object store")
struct ImageBlobTests {
    @Test("bytes are stored before their rows and read back; rows keep no bytes; the sweep removes only what no row names",
          .enabled(if: TestS3.endpoint != nil, "no S3 server for the tests"), arguments: Backend.available)
    func images(_ backend: Backend) throws {
        let blobs = try TestS3.bucket()
        let db = try TestDatabase(backend, blobs: blobs)
        defer { db.close() }
        let (a, _) = try db.twoMembers()
        var image = Image.make(owner: a)
        image.before = Data([7, 7])
        try db.stores.images.insert(image)
        #expect(try db.count("image_data WHERE blob IS NOT NULL AND length(bytes) = 0") == 4)
        #expect(try blobs.get(Blobs.key(image: image.id, part: "original")) == image.original)
        let found = try #require(try db.stores.images.find(id: image.id, viewer: a))
        #expect(found.original == image.original && found.result == image.result && found.thumbnail == image.thumbnail && found.before == image.before)
        #expect(try db.stores.images.bytes(.result, id: image.id, viewer: a)?.data == image.result)
        #expect(try db.stores.images.details(id: image.id, viewer: a)?.originalBytes == image.original.count)

        // Bytes no row names: swept once older than the grace, never those rows name.
        try blobs.put(Blobs.key(image: "orphan", part: "original"), Data([1]))
        #expect(try db.stores.sweepBlobs(grace: 3600) == 0) // too young yet
        #expect(try db.stores.sweepBlobs(grace: 0) == 1)
        #expect(try blobs.list(prefix: Blobs.imagePrefix).count == 4)
        // A deleted picture's bytes go with the next sweep.
        #expect(try db.stores.images.delete(id: image.id, owner: a))
        #expect(try db.stores.sweepBlobs(grace: 0) == 4)
        #expect(try blobs.list(prefix: Blobs.imagePrefix).isEmpty)
    }

    @Test("a job's pictures are uploaded before its fenced finish; a lost lease leaves bytes only the sweep finds",
          .enabled(if: TestS3.endpoint != nil, "no S3 server for the tests"), arguments: Backend.available)
    func jobs(_ backend: Backend) throws {
        let blobs = try TestS3.bucket()
        let db = try TestDatabase(backend, blobs: blobs)
        defer { db.close() }
        let (a, _) = try db.twoMembers()
        let jobs = db.stores.jobs(JobSettings(leaseDuration: 60))
        let limits = JobLimits(waiting: 10, perSubmitter: 10)
        for _ in 0..<2 {
            _ = try jobs.submit(kind: .conversion, owner: a, address: nil, requestID: "r", parameters: Data("{}".utf8),
                                inputs: [JobInput(name: "p.png", bytes: Data([1]))], limits: limits)
        }
        let done = try #require(try jobs.claim(kinds: [.conversion]))
        let kept = Image.make(owner: a)
        #expect(try jobs.finish(done, .images([kept])))
        #expect(try db.stores.images.find(id: kept.id, viewer: a)?.result == kept.result)
        // A lease that is no longer ours: the bytes went up, no row names them.
        var stale = try #require(try jobs.claim(kinds: [.conversion]))
        stale.token = "not-the-lease"
        let lost = Image.make(owner: a)
        #expect(try !jobs.finish(stale, .images([lost])))
        #expect(try blobs.get(Blobs.key(image: lost.id, part: "original")) != nil)
        #expect(try db.stores.sweepBlobs(grace: 0) == 3) // original, result, thumbnail of the lost one
        #expect(try db.stores.images.find(id: kept.id, viewer: a)?.original == kept.original)
    }

    @Test("pictures stored in the object store cannot be read without it: said, not shown empty",
          .enabled(if: TestS3.endpoint != nil, "no S3 server for the tests"), arguments: Backend.available)
    func withoutTheStore(_ backend: Backend) throws {
        let db = try TestDatabase(backend, blobs: try TestS3.bucket())
        defer { db.close() }
        let (a, _) = try db.twoMembers()
        let image = Image.make(owner: a)
        try db.stores.images.insert(image)
        let plain = try db.reopenWithoutBlobs()
        #expect { try plain.images.find(id: image.id, viewer: a) } throws: { "\($0)".contains("ARTWORKER_BLOB_URL is not set") }
    }
}
