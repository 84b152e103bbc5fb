import Foundation
import Testing
import TestSupport
import WebApp

@Suite("OpenAPI document", .serialized)
struct OpenAPITests {
    @Test("served at /api/openapi.json, and it documents every /api/v1 route with its method, and nothing else")
    func documentsEveryRoute() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port)
        let r = try c.send("GET", "/api/openapi.json")
        #expect(r.status == 200 && r.headers["content-type"] == "application/json")
        #expect(try c.send("GET", "/api/openapi.json", headers: ["If-None-Match": r.headers["etag"] ?? "-"]).status == 304)
        let spec = object(r)
        #expect((spec["openapi"] as? String)?.hasPrefix("3.") == true)
        let paths = try #require(spec["paths"] as? [String: [String: Any]])
        let documented = Set(paths.flatMap { path, item in
            item.keys.filter { $0 != "parameters" }.map { "\($0.uppercased()) \(path)" }
        })
        // `:id` in the router is `{id}` in OpenAPI.
        let routed = Set(app.router.routeTable.filter { $0.pattern.hasPrefix("/api/v1/") }.map { route in
            "\(route.method) " + route.pattern.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                .reduce("") { $0 + "/" + $1 }
        })
        #expect(documented == routed, "only documented: \(documented.subtracting(routed)); only routed: \(routed.subtracting(documented))")
        // Every $ref resolves.
        let text = r.body
        let schemas = try #require((spec["components"] as? [String: Any])?["schemas"] as? [String: Any])
        for match in text.matches(of: /"#\/components\/schemas\/(\w+)"/) {
            #expect(schemas[String(match.1)] != nil, "\(match.1)")
        }
    }
}
