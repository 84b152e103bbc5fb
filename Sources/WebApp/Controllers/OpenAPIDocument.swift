import Crypto
import Foundation
import HTTPServer

/// The API's OpenAPI 3 description (`Public/openapi.json`, written by hand next to the code it
/// describes; a test checks that every `/api/v1` route is in it), served at /api/openapi.json.
struct OpenAPIDocument {
    let bytes: [UInt8]
    let etag: String

    init(publicDirectory: URL) throws {
        let url = publicDirectory.appendingPathComponent("openapi.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ConfigurationError("missing \(url.path): the API description")
        }
        guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else {
            throw ConfigurationError("\(url.path) is not a JSON object")
        }
        bytes = [UInt8](data)
        etag = "\"" + SHA256.hash(data: data).prefix(12).map { String(format: "%02x", $0) }.joined() + "\""
    }

    func mount(on router: Router) {
        let document = self
        router.get("/api/openapi.json") { request in
            var headers: HTTPHeaders = ["ETag": document.etag, "Cache-Control": "public, max-age=300"]
            if request.headers.noneMatchFails(document.etag) { return HTTPResponse(status: .notModified, headers: headers) }
            headers.set("Content-Type", "application/json")
            return HTTPResponse(headers: headers, body: document.bytes)
        }
    }
}
