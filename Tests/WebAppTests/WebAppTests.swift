import Foundation
import HTTPServer
import Logging
import Testing
import TestSupport
import WebApp

/// The app as `artworker serve` builds it, on an ephemeral port with a temporary data folder.
func startApp(public publicDirectory: URL? = nil, templates: URL? = nil, data: URL? = nil,
              configure: (inout WebAppConfiguration) -> Void = { _ in }) throws -> (WebApp, URL) {
    let data = data ?? FileManager.default.temporaryDirectory.appendingPathComponent("artworker-app-\(UUID().uuidString)")
    var configuration = WebAppConfiguration()
    configuration.port = 0
    configuration.dataDirectory = data
    let realPublic = SharedData.packageRoot.appendingPathComponent("Public")
    if let publicDirectory { // a test's own static files; the service also needs the API description
        try? FileManager.default.copyItem(at: realPublic.appendingPathComponent("openapi.json"),
                                          to: publicDirectory.appendingPathComponent("openapi.json"))
    }
    configuration.publicDirectory = publicDirectory ?? realPublic
    configuration.templatesDirectory = templates ?? SharedData.packageRoot.appendingPathComponent("Templates")
    configuration.bcryptCost = 4 // the production cost (12) takes ~0.17 s per hash
    configuration.weightsDirectory = TestModels.folder // hayao only
    configuration.makeExamples = false // their own test turns them on: elsewhere they would only compete for the cores
    configure(&configuration)
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let app = try WebApp.build(configuration: configuration, logger: logger)
    try app.start()
    return (app, data)
}

@Suite("Web app pages and static files", .serialized)
struct WebAppTests {
    @Test("the home page says what the service does")
    func home() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let client = try LoopbackClient(port: app.port)
        client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        let r = try client.response()
        #expect(r.status == 200 && r.headers["content-type"] == "text/html; charset=utf-8")
        #expect(r.body.contains("<title>Artworker — photos into anime-style pictures</title>"))
        #expect(r.body.contains("Shinkai") && r.body.contains("/static/css/app.css"))
        #expect(FileManager.default.fileExists(atPath: data.path)) // the data folder is created
    }

    @Test("GET /healthz answers JSON {\"status\":\"ok\"}")
    func health() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let client = try LoopbackClient(port: app.port)
        client.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        let r = try client.response()
        #expect(r.status == 200 && r.body == #"{"status":"ok"}"# && r.headers["content-type"] == "application/json")
    }

    @Test("errors render the error page with the request id")
    func errorPage() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let client = try LoopbackClient(port: app.port)
        client.send("GET /no/such/page HTTP/1.1\r\nHost: t\r\n\r\n")
        let r = try client.response()
        #expect(r.status == 404 && r.body.contains("404 — Not Found") && r.body.contains("Request id:"))
        client.send("GET /<script>alert(1)</script> HTTP/1.1\r\nHost: t\r\n\r\n")
        let escaped = try client.response()
        #expect(escaped.status == 400 || !escaped.body.contains("<script>alert"))
        client.send("GET /x%3Cscript%3E HTTP/1.1\r\nHost: t\r\n\r\n")
        let encoded = try client.response()
        #expect(encoded.status == 404 && !encoded.body.contains("<script>") && !encoded.body.contains("&lt;script"))
    }

    @Test("static files: type, ETag → 304, Cache-Control, ranges, gzip, HEAD")
    func staticFiles() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let css = try String(contentsOf: SharedData.packageRoot.appendingPathComponent("Public/css/app.css"), encoding: .utf8)
        let client = try LoopbackClient(port: app.port)
        client.send("GET /static/css/app.css HTTP/1.1\r\nHost: t\r\n\r\n")
        let r = try client.response()
        #expect(r.status == 200 && r.body == css && r.headers["content-type"] == "text/css; charset=utf-8")
        let etag = try #require(r.headers["etag"])
        #expect(r.headers["cache-control"] == "public, max-age=3600" && r.headers["accept-ranges"] == "bytes")

        client.send("GET /static/css/app.css HTTP/1.1\r\nHost: t\r\nIf-None-Match: \"other\", \(etag)\r\n\r\n")
        let notModified = try client.response(method: "HEAD")
        #expect(notModified.status == 304 && notModified.headers["etag"] == etag)

        client.send("GET /static/css/app.css HTTP/1.1\r\nHost: t\r\nRange: bytes=4-15\r\n\r\n")
        let partial = try client.response()
        let bytes = Array(css.utf8)
        #expect(partial.status == 206 && partial.bodyBytes == Array(bytes[4...15]))
        #expect(partial.headers["content-range"] == "bytes 4-15/\(bytes.count)")

        client.send("GET /static/css/app.css HTTP/1.1\r\nHost: t\r\nRange: bytes=-10\r\n\r\n")
        #expect(try client.response().bodyBytes == Array(bytes.suffix(10)))

        client.send("GET /static/css/app.css HTTP/1.1\r\nHost: t\r\nRange: bytes=999999-\r\n\r\n")
        let unsatisfiable = try client.response()
        #expect(unsatisfiable.status == 416 && unsatisfiable.headers["content-range"] == "bytes */\(bytes.count)")

        client.send("GET /static/css/app.css HTTP/1.1\r\nHost: t\r\nAccept-Encoding: br, gzip;q=0.8\r\n\r\n")
        let gzipped = try client.response()
        #expect(gzipped.headers["content-encoding"] == "gzip" && gzipped.bodyBytes.starts(with: [0x1F, 0x8B]))
        #expect(gzipped.bodyBytes.count < bytes.count && gzipped.headers["vary"] == "Accept-Encoding")

        client.send("GET /static/css/app.css HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip;q=0\r\n\r\n")
        #expect(try client.response().headers["content-encoding"] == nil)

        client.send("HEAD /robots.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        let head = try client.response(method: "HEAD")
        #expect(head.status == 200 && head.body.isEmpty && head.headers["content-type"] == "text/plain; charset=utf-8")
    }

    @Test("no path leaves Public/", arguments: [
        "/static/../Package.swift", "/static/%2e%2e/Package.swift", "/static/css/../../Makefile",
        "/static/.hidden", "/static/link-out/passwd", "/static/css", "/static/",
    ])
    func noEscape(path: String) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-public-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("css"), withIntermediateDirectories: true)
        try Data("secret".utf8).write(to: root.appendingPathComponent(".hidden"))
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("link-out").path, withDestinationPath: "/etc")
        defer { try? FileManager.default.removeItem(at: root) }
        let (app, data) = try startApp(public: root)
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let client = try LoopbackClient(port: app.port)
        client.send("GET \(path) HTTP/1.1\r\nHost: t\r\n\r\n")
        let r = try client.response()
        #expect(r.status == 404, "\(path) → \(r.status)")
        #expect(!r.body.contains("secret") && !r.body.contains("root:"))
    }

    @Test("large static files stream, in full and by range")
    func largeFile() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-public-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let content = (0..<3_000_000).map { UInt8($0 % 251) }
        try Data(content).write(to: root.appendingPathComponent("big.bin"))
        let (app, data) = try startApp(public: root)
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let client = try LoopbackClient(port: app.port)
        client.send("GET /static/big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /static/big.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=1000000-1999999\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        let full = try client.response()
        #expect(full.status == 200 && full.bodyBytes == content)
        let part = try client.response()
        #expect(part.status == 206 && part.bodyBytes == Array(content[1_000_000..<2_000_000]))
        #expect(try client.response().status == 200) // the pipelined request after the streams
    }

    @Test("every page starts with a skip link to its content; the strength slider has a name of its own")
    func accessibilityBasics() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let client = try LoopbackClient(port: app.port)
        for path in ["/", "/cartoonize", "/movies", "/nope"] {
            let page = try client.send("GET", path)
            #expect(page.body.contains(##"<a class="skip" href="#main">Skip to the content</a>"##) && page.body.contains(#"<main id="main">"#), "\(path)")
        }
        let form = try client.send("GET", "/cartoonize").body
        #expect(form.contains(#"<label for="strength">Style strength</label>"#) && form.contains(#"id="strength" name="strength""#))
    }

    @Test("a broken template stops start-up with its file and line")
    func brokenTemplate() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-templates-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: SharedData.packageRoot.appendingPathComponent("Templates"), to: folder)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "<h1>fine</h1>\n<p>{{#items}}unclosed\n".write(to: folder.appendingPathComponent("home.mustache"), atomically: true, encoding: .utf8)
        #expect {
            _ = try startApp(templates: folder)
        } throws: { error in
            "\(error)".contains("home.mustache:") && "\(error)".contains("template error")
        }
    }

    @Test("a template naming a text the catalog lacks, or a plural, stops start-up with its file", arguments: [
        ("<h1>{{#t}}home.no_such_text{{/t}}</h1>", "“home.no_such_text” is not a plain text"),
        ("<p>{{#t}}movies.scenes{{/t}}</p>", "“movies.scenes” is not a plain text"), // a plural: the controller picks the form
        ("<p>{{#t}}home.heading</p>", "{{#t}} without {{/t}}"),
    ])
    func unknownText(template: String, expected: String) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-templates-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: SharedData.packageRoot.appendingPathComponent("Templates"), to: folder)
        defer { try? FileManager.default.removeItem(at: folder) }
        try template.write(to: folder.appendingPathComponent("home.mustache"), atomically: true, encoding: .utf8)
        #expect {
            _ = try startApp(templates: folder)
        } throws: { error in
            "\(error)".contains("home.mustache") && "\(error)".contains(expected)
        }
    }

    @Test("configuration from the environment is checked")
    func environment() throws {
        var configuration = WebAppConfiguration()
        try configuration.apply(environment: ["ARTWORKER_HOST": "::1", "ARTWORKER_PORT": "9090", "ARTWORKER_DATA": "/tmp/aw",
                                              "ARTWORKER_MAX_BODY_BYTES": "1000"])
        #expect(configuration.host == "::1" && configuration.port == 9090 && configuration.dataDirectory.path == "/tmp/aw")
        #expect(configuration.server.limits.maxBodyBytes == 1000)
        #expect(throws: ConfigurationError.self) { try configuration.apply(environment: ["ARTWORKER_PORT": "eighty"]) }
        configuration.port = 70000
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
        #expect(configuration.metricsPort == nil && configuration.metricsHost == "127.0.0.1") // no listener unless asked
        try configuration.apply(environment: ["ARTWORKER_METRICS_PORT": "9500", "ARTWORKER_WORKERS": "0", "ARTWORKER_JOB_LEASE": "20"])
        #expect(configuration.metricsPort == 9500 && configuration.workers == 0 && configuration.jobLease == 20)
        try configuration.apply(environment: ["ARTWORKER_METRICS_PORT": "off"])
        #expect(configuration.metricsPort == nil)
        #expect(throws: ConfigurationError.self) { try configuration.apply(environment: ["ARTWORKER_METRICS_PORT": "metrics"]) }
        #expect(throws: ConfigurationError.self) { try configuration.apply(environment: ["ARTWORKER_WORKERS": "two"]) }
    }
}
