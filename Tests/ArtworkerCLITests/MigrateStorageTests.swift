import BlobS3
import Foundation
import StorageCore
import StoragePostgres
import StorageSQLite
import Testing
import TestSupport

/// `artworker migrate-storage`: a one-machine installation moved onto PostgreSQL, checked, and
/// safe to run again.
@Suite("artworker migrate-storage")
struct MigrateStorageTests {
    static let postgresURL = ProcessInfo.processInfo.environment["ARTWORKER_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }

    /// An empty PostgreSQL schema of the test's own on the server `make test` started, and its URL.
    func schema() throws -> (url: String, drop: () -> Void) {
        let base = try #require(Self.postgresURL)
        let name = "migrate_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = try PostgresDatabase(url: base, maxConnections: 1, migrate: false)
        try admin.execute("CREATE SCHEMA \(name)")
        return (base + (base.contains("?") ? "&" : "?") + "options=-csearch_path%3D\(name)", { _ = try? admin.execute("DROP SCHEMA \(name) CASCADE") })
    }

    @Test("everything is copied with its ids, checked by counts and checksums; a second run adds nothing; new rows follow",
          .enabled(if: postgresURL != nil, "no PostgreSQL for the tests (ARTWORKER_TEST_DATABASE_URL)"))
    func copies() throws {
        let data = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let (url, drop) = try schema()
        defer { drop() }
        // A small installation: two members, a shared picture one of them liked, a private one,
        // a movie with scenes and colours, a revoked session and a queued job with its upload.
        let sqlite = try AppDatabase.open(directory: data).stores()
        let hash = "$2b$04$" + String(repeating: "m", count: 53)
        let mei = try #require(try sqlite.users.create(username: "mei", passwordHash: hash).id)
        let satsuki = try #require(try sqlite.users.create(username: "satsuki", passwordHash: hash).id)
        let picture = Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        func image(_ visibility: Image.Visibility, title: String) -> Image {
            Image(id: Image.newID(), ownerID: mei, visibility: visibility, style: "hayao", strength: 100, inputWidth: 64, inputHeight: 48,
                  width: 64, height: 48, modelSHA256: String(repeating: "cd", count: 32), durationMS: 321, original: picture,
                  originalType: "image/png", result: Data(picture.reversed()), thumbnail: Data([9, 8, 7]), before: Data([1]), title: title)
        }
        let shared = image(.public, title: "토토로"), kept = image(.private, title: "private")
        try sqlite.images.insertAll([shared, kept])
        #expect(try sqlite.images.setLiked(true, id: shared.id, user: satsuki) == 1)
        let movie = NewMovie(ownerID: satsuki, info: MovieInfo(title: "My Neighbor Totoro", year: 1988), source: .frames,
                             scenes: [NewMovie.Scene(number: 1, flags: [], width: 4, height: 4, thumbnail: Data([5, 5]), timeMS: 2_000)],
                             colours: (0..<18).map { MovieColour(scene: 1, tile: $0 / 3, rank: $0 % 3, r: Double($0), g: 1, b: 2, share: 1.0 / 3) },
                             dominant: [StoredColour(r: 1, g: 2, b: 3, share: 1)])
        try sqlite.movies.insert(movie)
        try sqlite.revokedTokens.revoke(tokenID: "gone-session", expiresAt: Date().addingTimeInterval(3600))
        let job = try sqlite.jobs().submit(kind: .conversion, owner: mei, address: nil, requestID: "req-1", parameters: Data(#"{"styles":["hayao"]}"#.utf8),
                                           inputs: [JobInput(name: "photo.png", bytes: picture)], limits: JobLimits(waiting: 10, perSubmitter: 10))

        let first = try CLI.run(["migrate-storage", "--from", "sqlite:\(data.path)", "--to", url])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("verified image_data.bytes: 8 rows") && first.stdout.contains("verified job_input.bytes: 1 rows"), "\(first.stdout)")

        // Run again after one more picture arrived on SQLite: only it is added.
        try sqlite.images.insert(image(.private, title: "later"))
        let second = try CLI.run(["migrate-storage", "--from", "sqlite:\(data.path)", "--to", url])
        #expect(second.status == 0 && second.stdout.contains("image: 3 rows, 1 added"), "\(second.stdout)\(second.stderr)")

        // What a node on PostgreSQL now sees: the same accounts, pictures, likes, movie and queue.
        let postgres = try PostgresDatabase(url: url).stores()
        #expect(try postgres.users.find(username: "MEI")?.id == mei)
        #expect(try postgres.images.find(id: shared.id, viewer: nil)?.result == Data(picture.reversed()))
        #expect(try postgres.images.find(id: shared.id, viewer: nil)?.likeCount == 1)
        #expect(try postgres.images.find(id: kept.id, viewer: satsuki) == nil) // still private
        #expect(try postgres.images.bytes(.original, id: kept.id, viewer: mei)?.data == picture)
        #expect(try postgres.images.liked(by: satsuki, among: [shared.id, kept.id]) == [shared.id])
        #expect(try postgres.movies.contents(id: movie.id).colours.count == 18)
        #expect(try postgres.movies.thumbnail(movie: movie.id, scene: 1) == Data([5, 5]))
        #expect(try postgres.movies.contents(id: movie.id).scenes.map(\.timeMS) == [2_000])
        #expect(try postgres.revokedTokens.isRevoked("gone-session"))
        let lease = try #require(try postgres.jobs().claim(kinds: [.conversion]))
        #expect(lease.job.id == job && lease.job.ownerID == mei)
        #expect(try postgres.jobs().inputs(of: job).map(\.bytes) == [picture])
        // New accounts continue after the copied ids.
        let kanta = try postgres.users.create(username: "kanta", passwordHash: hash)
        #expect(kanta.id.map { $0 > satsuki } == true)

        // PostgreSQL now holds what SQLite does not: a copy run now refuses, and says why.
        let third = try CLI.run(["migrate-storage", "--from", "sqlite:\(data.path)", "--to", url])
        #expect(third.status != 0 && third.stderr.contains("account: 3 rows in SQLite but 4 in PostgreSQL"), "\(third.stdout)\(third.stderr)")
    }

    @Test("a second run over an unchanged database adds nothing and verifies again",
          .enabled(if: postgresURL != nil, "no PostgreSQL for the tests (ARTWORKER_TEST_DATABASE_URL)"))
    func rerun() throws {
        let data = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let (url, drop) = try schema()
        defer { drop() }
        let sqlite = try AppDatabase.open(directory: data).stores()
        _ = try sqlite.users.create(username: "ponyo", passwordHash: "$2b$04$" + String(repeating: "p", count: 53))
        let first = try CLI.run(["migrate-storage", "--from", "sqlite:\(data.path)", "--to", url])
        #expect(first.status == 0 && first.stdout.contains("rows added by this run"), "\(first.stderr)")
        let second = try CLI.run(["migrate-storage", "--from", "sqlite:\(data.path)/artworker.sqlite", "--to", url])
        #expect(second.status == 0 && second.stdout.contains("done: every table has the same rows on both sides; 0 rows added by this run"),
                "\(second.stdout)\(second.stderr)")
    }

    @Test("with --blobs the pictures' bytes go to the object store, rows name them, and the check reads them back",
          .enabled(if: postgresURL != nil && ProcessInfo.processInfo.environment["ARTWORKER_TEST_S3_ENDPOINT"] != nil,
                   "no PostgreSQL or no S3 server for the tests"))
    func intoObjectStore() throws {
        let data = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let (url, drop) = try schema()
        defer { drop() }
        let endpoint = try #require(ProcessInfo.processInfo.environment["ARTWORKER_TEST_S3_ENDPOINT"])
        let blobURL = "s3://m-\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))?endpoint=\(endpoint)&region=us-east-1"
        let blobs = try S3BlobStore(url: blobURL, environment: ProcessInfo.processInfo.environment)
        try blobs.createBucket()
        let sqlite = try AppDatabase.open(directory: data).stores()
        let owner = try #require(try sqlite.users.create(username: "sophie", passwordHash: "$2b$04$" + String(repeating: "s", count: 53)).id)
        let picture = Data((0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        let image = Image(id: Image.newID(), ownerID: owner, visibility: .private, style: "hosoda", strength: 80, inputWidth: 8, inputHeight: 8,
                          width: 8, height: 8, modelSHA256: String(repeating: "ef", count: 32), durationMS: 5, original: picture,
                          originalType: "image/png", result: Data([2]), thumbnail: Data([3]), before: Data([4]))
        try sqlite.images.insert(image)

        let first = try CLI.run(["migrate-storage", "--from", "sqlite:\(data.path)", "--to", url, "--blobs", blobURL])
        #expect(first.status == 0 && first.stdout.contains("verified image_data pictures: 4 rows"), "\(first.stdout)\(first.stderr)")
        #expect(Set(try blobs.list(prefix: Blobs.imagePrefix).map(\.key)) == Set(["original", "result", "thumbnail", "before"].map {
            Blobs.key(image: image.id, part: $0)
        }))
        let postgres = try PostgresDatabase(url: url)
        #expect(try postgres.execute("SELECT count(*) AS n FROM image_data WHERE blob IS NOT NULL AND octet_length(bytes) = 0").first?.int("n") == 4)
        #expect(try postgres.stores(blobs: blobs).images.find(id: image.id, viewer: owner)?.original == picture)
        #expect(try postgres.stores(blobs: blobs).images.details(id: image.id, viewer: owner)?.originalBytes == picture.count)
        let second = try CLI.run(["migrate-storage", "--from", "sqlite:\(data.path)", "--to", url, "--blobs", blobURL])
        #expect(second.status == 0 && second.stdout.contains("0 rows added by this run"), "\(second.stdout)\(second.stderr)")
        let wrong = try CLI.run(["migrate-storage", "--from", "sqlite:\(data.path)", "--to", url, "--blobs", "s3://x"])
        #expect(wrong.status != 0 && wrong.stderr.contains("bucket name"), "\(wrong.stderr)")
    }

    @Test("bad arguments and an unreachable server are refused with a sentence and a non-zero exit", arguments: [
        (["--from", "data", "--to", "postgres://x@127.0.0.1/db"], "--from must be sqlite:PATH"),
        (["--from", "sqlite:/no/such/folder", "--to", "postgres://x@127.0.0.1/db"], "/no/such/folder: no such file or folder"),
        (["--from", "sqlite:/tmp", "--to", "mysql://x@127.0.0.1/db"], "--to must be a PostgreSQL URL"),
        (["--from", "sqlite:/tmp", "--to", "postgres://x@127.0.0.1/db"], "/tmp/artworker.sqlite: no database here"),
    ])
    func refusals(_ arguments: [String], _ message: String) throws {
        let result = try CLI.run(["migrate-storage"] + arguments)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test("a server that does not answer is named, and nothing is written")
    func unreachable() throws {
        let data = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        _ = try AppDatabase.open(directory: data)
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        let result = try CLI.run(["migrate-storage", "--from", "sqlite:\(data.path)", "--to", "postgres://artworker@127.0.0.1:1/artworker"])
        #expect(result.status != 0 && result.stderr.contains("cannot reach PostgreSQL"), "\(result.stderr)")
    }
}
