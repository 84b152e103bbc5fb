import Foundation
import HTTPServer
import Testing
import TestSupport
import WebApp

@Suite("Metrics", .serialized)
struct MetricsTests {
    static let photo = try! SharedData.bytes("testdata/golden/coffee_104x156_input.png")

    @Test("/metrics on its own loopback listener: requests by route pattern and status, jobs by kind and state, wait and run times, workers")
    func scrape() throws {
        let (app, data) = try startApp { $0.metricsPort = 0 }
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let endpoint = try #require(app.metricsEndpoint)
        #expect(endpoint.url.hasPrefix("http://127.0.0.1:"))
        let client = try LoopbackClient(port: app.port)
        for path in ["/healthz", "/healthz", "/i/no-such-image", "/no/such/page"] {
            _ = try client.send("GET", path)
        }
        let id = try #require(object(try client.send("POST", "/api/v1/conversions", multipart: MultipartBody(
            files: [("cup.png", Self.photo)], fields: [("style", "hayao"), ("max_side", "64")])))["id"] as? String)
        #expect(try client.follow("/api/v1/conversions/\(id)").last?["status"] as? String == "done")
        #expect(try client.send("GET", "/metrics").status == 404) // not on the public listener

        let scraper = try LoopbackClient(port: endpoint.port)
        // The worker records a run just after committing it: give it a moment to do so.
        var response = try scraper.send("GET", "/metrics")
        for _ in 0..<50 where !response.body.contains(#"artworker_job_run_seconds_count{kind="conversion",outcome="done"} 1"#) {
            Thread.sleep(forTimeInterval: 0.02)
            response = try scraper.send("GET", "/metrics")
        }
        #expect(response.status == 200 && response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        let lines = response.body.split(separator: "\n").map(String.init)
        func value(_ prefix: String) -> String? { lines.first { $0.hasPrefix(prefix + " ") }?.split(separator: " ").last.map(String.init) }
        func number(_ prefix: String) -> Double? { value(prefix).flatMap(Double.init) }
        #expect(value(#"artworker_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}"#) == "2")
        // Routes by pattern, never by raw path: ids cannot multiply the series.
        #expect(value(#"artworker_http_request_duration_seconds_count{method="GET",route="/i/:id",status="404"}"#) == "1")
        // /no/such/page and the public port's /metrics
        #expect(value(#"artworker_http_request_duration_seconds_count{method="GET",route="(none)",status="404"}"#) == "2")
        #expect(!response.body.contains("no-such-image"))
        #expect(value(#"artworker_http_request_duration_seconds_count{method="POST",route="/api/v1/conversions",status="202"}"#) == "1")
        #expect(number(#"artworker_jobs{kind="conversion",state="done"}"#) == 1)
        #expect(number(#"artworker_jobs{kind="movie",state="queued"}"#) == 0)
        #expect(value(#"artworker_job_queue_wait_seconds_count{kind="conversion"}"#) == "1")
        #expect(value(#"artworker_job_run_seconds_count{kind="conversion",outcome="done"}"#) == "1")
        #expect(number(#"artworker_workers{kind="conversion"}"#) == 1)
    }
}
