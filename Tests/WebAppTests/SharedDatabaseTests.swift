import BlobS3
import Foundation
import StorageCore
import StoragePostgres
import Testing
import TestSupport
import WebApp

/// Two nodes of the service on one PostgreSQL database (ARTWORKER_DATABASE_URL): whatever one
/// node knows, the other does too, and a job queued on one is run by the other's worker.
@Suite("Web nodes sharing PostgreSQL", .serialized)
struct SharedDatabaseTests {
    static let postgresURL = ProcessInfo.processInfo.environment["ARTWORKER_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let secret = "a secret every node of the test shares, 48 chars"

    /// A schema of the test's own on the server `make test` started: its URL, and how to drop it.
    static func schema() throws -> (url: String, drop: () -> Void) {
        let base = try #require(postgresURL)
        let name = "web_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = try PostgresDatabase(url: base, maxConnections: 1, migrate: false)
        try admin.execute("CREATE SCHEMA \(name)")
        return (base + (base.contains("?") ? "&" : "?") + "options=-csearch_path%3D\(name)", { _ = try? admin.execute("DROP SCHEMA \(name) CASCADE") })
    }

    @Test("signed up on one node, signed in on the other; a logout holds on both; a conversion queued on a node without workers is run by the other",
          .enabled(if: postgresURL != nil, "no PostgreSQL for the tests (ARTWORKER_TEST_DATABASE_URL)"))
    func twoNodes() throws {
        let (url, drop) = try Self.schema()
        defer { drop() }
        let (web, webData) = try startApp { c in
            c.databaseURL = url
            c.environment["ARTWORKER_JWT_SECRET"] = Self.secret
            c.workers = 0
        }
        defer { web.shutdown(); try? FileManager.default.removeItem(at: webData) }
        let (worker, workerData) = try startApp { c in
            c.databaseURL = url
            c.environment["ARTWORKER_JWT_SECRET"] = Self.secret
            c.workers = 1
        }
        defer { worker.shutdown(); try? FileManager.default.removeItem(at: workerData) }
        let a = try LoopbackClient(port: web.port), b = try LoopbackClient(port: worker.port)

        let credentials = #"{"username":"Totoro","password":"a camphor tree in the rain"}"#
        #expect(try a.json("POST", "/api/v1/auth/signup", body: credentials).status == 201)
        #expect(try b.json("POST", "/api/v1/auth/signup", body: credentials).status == 409) // the same account table
        let login = try b.json("POST", "/api/v1/auth/login", body: credentials)
        let token = try #require(object(login)["token"] as? String)
        #expect(try a.json("GET", "/api/v1/me", token: token).status == 200) // B's session is good on A

        // Queued on A, which runs no workers: B's worker hears of it and converts it.
        let photo = try SharedData.bytes("testdata/photos/coffee.png")
        let body = MultipartBody(files: [("coffee.png", photo)], fields: [("style", "hayao"), ("max_side", "96")])
        a.send(Array(("POST /api/v1/conversions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: multipart/form-data; boundary=\(MultipartBody.boundary)\r\nContent-Length: \(body.bytes.count)\r\n\r\n").utf8) + body.bytes)
        let queued = try a.response()
        #expect(queued.status == 202, "\(queued.body)")
        let id = try #require(object(queued)["id"] as? String)
        var status: [String: Any] = [:]
        #expect(eventually(within: 60) {
            status = (try? object(a.json("GET", "/api/v1/conversions/\(id)", token: token))) ?? [:]
            return status["status"] as? String == "done"
        }, "\(status)")
        let image = try #require((status["images"] as? [String])?.first)
        let result = try b.json("GET", "/api/v1/images/\(image)", token: token)
        #expect(result.status == 200 && object(result)["style"] as? String == "hayao", "\(result.body)")

        // B keeps its pages between writes, but a write through A is one: B's next page shows it.
        func page(_ path: String) throws -> String {
            b.send("GET \(path) HTTP/1.1\r\nHost: t\r\nCookie: session=\(token)\r\n\r\n")
            return try b.response().body
        }
        #expect(try !page("/explore").contains(image) && !page("/explore").contains(image))
        #expect(try a.json("POST", "/api/v1/images/\(image)/share", token: token).status == 200)
        #expect(try page("/explore").contains(image))

        // A logout through A is known to B at once: revocations live in the database.
        #expect(try a.json("POST", "/api/v1/auth/logout", token: token).status == 204)
        #expect(try b.json("GET", "/api/v1/me", token: token).status == 401)
    }

    @Test("with a shared database each node's own secret file would not do: the secret must come from the environment",
          .enabled(if: postgresURL != nil, "no PostgreSQL for the tests (ARTWORKER_TEST_DATABASE_URL)"))
    func secretRequired() throws {
        let (url, drop) = try Self.schema()
        defer { drop() }
        do {
            let (app, data) = try startApp { c in c.databaseURL = url }
            app.shutdown()
            try? FileManager.default.removeItem(at: data)
            Issue.record("a node started on a shared database without ARTWORKER_JWT_SECRET")
        } catch {
            #expect("\(error)".contains("set ARTWORKER_JWT_SECRET"), "\(error)")
        }
    }

    @Test("pictures in an object store: a conversion's parts are stored there, served from there, and the database keeps none",
          .enabled(if: ProcessInfo.processInfo.environment["ARTWORKER_TEST_S3_ENDPOINT"] != nil, "no S3 server for the tests"))
    func objectStore() throws {
        let endpoint = try #require(ProcessInfo.processInfo.environment["ARTWORKER_TEST_S3_ENDPOINT"])
        let bucket = "w-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let url = "s3://\(bucket)?endpoint=\(endpoint)&region=us-east-1"
        let blobs = try S3BlobStore(url: url, environment: ProcessInfo.processInfo.environment)
        try blobs.createBucket()
        let (app, data) = try startApp { c in
            c.blobURL = url
            c.environment = ProcessInfo.processInfo.environment
        }
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let client = try LoopbackClient(port: app.port)
        let credentials = #"{"username":"Ponyo","password":"a goldfish by the sea"}"#
        #expect(try client.json("POST", "/api/v1/auth/signup", body: credentials).status == 201)
        let token = try #require(object(try client.json("POST", "/api/v1/auth/login", body: credentials))["token"] as? String)
        let photo = try SharedData.bytes("testdata/photos/coffee.png")
        let body = MultipartBody(files: [("coffee.png", photo)], fields: [("style", "hayao"), ("max_side", "96")])
        client.send(Array(("POST /api/v1/conversions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: multipart/form-data; boundary=\(MultipartBody.boundary)\r\nContent-Length: \(body.bytes.count)\r\n\r\n").utf8) + body.bytes)
        let id = try #require(object(try client.response())["id"] as? String)
        var status: [String: Any] = [:]
        #expect(eventually(within: 60) {
            status = (try? object(client.json("GET", "/api/v1/conversions/\(id)", token: token))) ?? [:]
            return status["status"] as? String == "done"
        }, "\(status)")
        let image = try #require((status["images"] as? [String])?.first)
        let keys = Set(try blobs.list(prefix: Blobs.imagePrefix).map(\.key))
        #expect(keys == Set(["original", "result", "thumbnail", "before"].map { Blobs.key(image: image, part: $0) }))
        client.send("GET /api/v1/images/\(image)/result HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(token)\r\n\r\n")
        let result = try client.response()
        #expect(result.status == 200 && result.bodyBytes.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(try blobs.get(Blobs.key(image: image, part: "result")) == Data(result.bodyBytes))
    }

    @Test("an object store that is not there is named at start")
    func objectStoreUnreachable() throws {
        do {
            let (app, data) = try startApp { c in
                c.blobURL = "s3://pictures?endpoint=http://127.0.0.1:1&region=us-east-1"
                c.environment = ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"]
            }
            app.shutdown()
            try? FileManager.default.removeItem(at: data)
            Issue.record("a node started without its object store")
        } catch {
            #expect("\(error)".contains("cannot use the object store at ARTWORKER_BLOB_URL"), "\(error)")
        }
    }

    @Test("an unreachable database is named at start, before anything listens")
    func unreachable() throws {
        do {
            let (app, data) = try startApp { c in
                c.databaseURL = "postgres://artworker@127.0.0.1:1/artworker"
                c.environment["ARTWORKER_JWT_SECRET"] = Self.secret
            }
            app.shutdown()
            try? FileManager.default.removeItem(at: data)
            Issue.record("a node started without its database")
        } catch {
            #expect("\(error)".contains("cannot reach the database at ARTWORKER_DATABASE_URL"), "\(error)")
        }
    }
}
