import Foundation
import HTTPServer

/// The API's OpenAPI 3 description (`Public/openapi.json`, written by hand next to the code it
/// describes; a test checks that every `/api/v1` route is in it), served at /api/openapi.json
/// by the static-file responder (ETag, 304, caching).
struct OpenAPIDocument {
    let files: StaticFiles

    /// Checks at start-up that the description is there and is a JSON object.
    init(files: StaticFiles) throws {
        let url = files.root.appendingPathComponent("openapi.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ConfigurationError("missing \(url.path): the API description")
        }
        guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else {
            throw ConfigurationError("\(url.path) is not a JSON object")
        }
        self.files = files
    }

    func mount(on router: Router) {
        let files = self.files
        router.get("/api/openapi.json") { request in try files.response(path: "openapi.json", request: request.http) }
    }
}
