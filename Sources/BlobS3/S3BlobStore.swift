import CCurl
import Crypto
import Foundation
import StorageCore

/// Picture bytes in an S3-compatible object store (AWS S3, MinIO, Ceph, Garage, moto …),
/// through libcurl, which signs each request with AWS Signature Version 4 itself
/// (CURLOPT_AWS_SIGV4). Path-style addresses (`endpoint/bucket/key`), which every
/// S3-compatible server accepts.
///
/// Configured by a URL, `s3://BUCKET?endpoint=https://HOST[:PORT]&region=REGION`, and the
/// credentials from the environment as the AWS tools read them: AWS_ACCESS_KEY_ID,
/// AWS_SECRET_ACCESS_KEY and, for temporary credentials, AWS_SESSION_TOKEN.
public final class S3BlobStore: BlobStore {
    public let bucket: String
    public let endpoint: String
    public let region: String
    private let accessKey: String
    private let secretKey: String
    private let sessionToken: String?
    /// The largest object read back: pictures are bounded far below it on the way in, so more
    /// means something other than a picture sits under that key.
    static let maxObjectBytes = 256 << 20
    /// Keys per listing page (`max-keys`); nil: the store's own (1,000 on S3). Tests make it
    /// small to walk several pages.
    let pageSize: Int?

    public struct ConfigurationError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses the URL and reads the credentials; talks to nobody yet.
    public init(url: String, environment: [String: String], pageSize: Int? = nil) throws {
        guard let parts = URLComponents(string: url), parts.scheme == "s3", let bucket = parts.host, !bucket.isEmpty else {
            throw ConfigurationError(description: "ARTWORKER_BLOB_URL must look like s3://BUCKET?endpoint=https://HOST&region=REGION")
        }
        // Bucket names (AWS's rules): 3-63 lowercase letters, digits, dots and hyphens.
        guard (3...63).contains(bucket.count), bucket.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" || $0 == "." }),
              bucket.allSatisfy(\.isASCII) else {
            throw ConfigurationError(description: "\(bucket) is not a bucket name: 3 to 63 lowercase letters, digits, dots or hyphens")
        }
        let query = Dictionary((parts.queryItems ?? []).map { ($0.name, $0.value ?? "") }) { $1 }
        guard let endpoint = query["endpoint"], let endpointURL = URL(string: endpoint), ["http", "https"].contains(endpointURL.scheme ?? ""),
              endpointURL.host != nil else {
            throw ConfigurationError(description: "ARTWORKER_BLOB_URL needs endpoint=http(s)://HOST[:PORT] (the object store's address)")
        }
        guard let accessKey = environment["AWS_ACCESS_KEY_ID"], !accessKey.isEmpty,
              let secretKey = environment["AWS_SECRET_ACCESS_KEY"], !secretKey.isEmpty else {
            throw ConfigurationError(description: "the object store's credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; set both")
        }
        self.bucket = bucket
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.region = query["region"].flatMap { $0.isEmpty ? nil : $0 } ?? "us-east-1"
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.sessionToken = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        self.pageSize = pageSize
        _ = Self.initialise
    }

    /// curl_global_init is not thread-safe: once, before the first handle (a lazy static
    /// is initialised exactly once, under a lock).
    private static let initialise: Void = { _ = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public var description: String { "s3 bucket \(bucket) at \(endpoint)" }

    // MARK: The four operations

    public func put(_ key: String, _ data: Data) throws {
        let response = try request("PUT", path: Self.escape(key), body: data)
        guard response.status == 200 else { throw response.failure("storing \(key)") }
    }

    public func get(_ key: String) throws -> Data? {
        let response = try request("GET", path: Self.escape(key))
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw response.failure("reading \(key)") }
        return response.body
    }

    public func delete(_ key: String) throws {
        let response = try request("DELETE", path: Self.escape(key))
        // 204 as S3 answers; 404 from stores that report a missing key (nothing to remove).
        guard [200, 204, 404].contains(response.status) else { throw response.failure("removing \(key)") }
    }

    public func list(prefix: String) throws -> [StoredBlob] {
        var blobs: [StoredBlob] = [], token: String?
        repeat {
            // ListObjectsV2; parameters in the canonical (sorted) order SigV4 signs them in.
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let pageSize { query.insert(("max-keys", String(pageSize)), at: 1) }
            if let token { query.insert(("continuation-token", token), at: 0) }
            let response = try request("GET", path: nil, query: query.map { "\($0.0)=\(Self.escape($0.1, keepSlash: false))" }.joined(separator: "&"))
            guard response.status == 200 else { throw response.failure("listing \(prefix)") }
            let page = try ListPage(xml: response.body)
            blobs += page.blobs
            token = page.truncated ? page.nextToken : nil
        } while token != nil
        return blobs
    }

    /// Makes the bucket if it is not there (tests and first-time set-up; in production the
    /// operator makes it, with its own policies).
    public func createBucket() throws {
        let response = try request("PUT", path: nil)
        // 409 BucketAlreadyOwnedByYou: it is there already, which is what was asked.
        guard response.status == 200 || response.status == 409 else { throw response.failure("creating bucket \(bucket)") }
    }

    // MARK: HTTP through libcurl

    struct Response {
        var status: Int
        var body: Data

        func failure(_ doing: String) -> any Error {
            let text = String(decoding: body.prefix(500), as: UTF8.self)
            let code = text.range(of: "<Code>").flatMap { start in
                text.range(of: "</Code>", range: start.upperBound..<text.endIndex).map { String(text[start.upperBound..<$0.lowerBound]) }
            }
            let reason = "the object store answered \(status)\(code.map { " (\($0))" } ?? "") \(doing)"
            // 5xx and 429: the store is overloaded or away for now; anything else is a refusal
            // (credentials, bucket, policy) that retrying will not mend.
            return status >= 500 || status == 429 ? StorageUnavailable(reason) : S3Error(status: status, message: reason)
        }
    }

    /// Collects a response body, up to the limit.
    final class Sink {
        var data = Data()
        var tooLarge = false
    }

    /// One request on a handle of its own (curl handles are not for two threads at once; a
    /// picture transfer dwarfs setting one up).
    func request(_ method: String, path: String?, query: String = "", body: Data = Data()) throws -> Response {
        guard let curl = curl_easy_init() else { throw StorageUnavailable("libcurl could not make a handle") }
        defer { curl_easy_cleanup(curl) }
        var url = endpoint + "/" + bucket
        if let path { url += "/" + path }
        if !query.isEmpty { url += "?" + query }
        // The payload's SHA-256, which S3 requires in x-amz-content-sha256 and SigV4 signs.
        let payloadHash = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
        var headers = ["x-amz-content-sha256: \(payloadHash)", "Expect:"]
        if method == "PUT" { headers.append("Content-Type: application/octet-stream") }
        if let sessionToken { headers.append("x-amz-security-token: \(sessionToken)") }
        var list: UnsafeMutablePointer<curl_slist>?
        for header in headers { list = curl_slist_append(list, header) }
        defer { curl_slist_free_all(list) }

        let sink = Sink()
        let unmanaged = Unmanaged.passRetained(sink)
        defer { unmanaged.release() }
        var code = CURLE_OK
        func set(_ result: CURLcode) { if code == CURLE_OK { code = result } }
        set(artworker_curl_set_string(curl, CURLOPT_URL, url))
        set(artworker_curl_set_string(curl, CURLOPT_CUSTOMREQUEST, method))
        set(artworker_curl_set_string(curl, CURLOPT_AWS_SIGV4, "aws:amz:\(region):s3"))
        set(artworker_curl_set_string(curl, CURLOPT_USERNAME, accessKey))
        set(artworker_curl_set_string(curl, CURLOPT_PASSWORD, secretKey))
        set(artworker_curl_set_pointer(curl, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(list)))
        set(artworker_curl_set_long(curl, CURLOPT_NOSIGNAL, 1)) // several threads: no SIGALRM for timeouts
        set(artworker_curl_set_long(curl, CURLOPT_CONNECTTIMEOUT, 5))
        set(artworker_curl_set_long(curl, CURLOPT_TIMEOUT, 120))
        set(artworker_curl_set_pointer(curl, CURLOPT_WRITEDATA, unmanaged.toOpaque()))
        set(artworker_curl_set_write(curl) { pointer, size, count, context in
            // Called by curl_easy_perform on this thread, with the Sink passed above.
            let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
            let length = size * count
            guard sink.data.count + length <= S3BlobStore.maxObjectBytes else {
                sink.tooLarge = true
                return 0 // makes curl stop with CURLE_WRITE_ERROR
            }
            if let pointer { sink.data.append(UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: length) }
            return length
        })
        guard code == CURLE_OK else { throw StorageUnavailable("libcurl refused an option: \(String(cString: curl_easy_strerror(code)))") }

        let result: CURLcode = body.withUnsafeBytes { bytes in
            if method == "PUT" {
                // curl reads the body from this buffer during perform, which runs inside this
                // closure, while the buffer is valid; it neither copies nor keeps it.
                _ = artworker_curl_set_pointer(curl, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
                _ = artworker_curl_set_size(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
            }
            return curl_easy_perform(curl)
        }
        if sink.tooLarge { throw S3Error(status: 0, message: "an object in \(bucket) is larger than \(Self.maxObjectBytes >> 20) MB") }
        guard result == CURLE_OK else {
            throw StorageUnavailable("the object store at \(endpoint) did not answer: \(String(cString: curl_easy_strerror(result)))")
        }
        var status = 0
        _ = artworker_curl_response_code(curl, &status)
        return Response(status: status, body: sink.data)
    }

    /// RFC 3986 §2.3: unreserved characters stay, everything else is percent-encoded (and `/`
    /// between a key's segments, unless `keepSlash` is false, as in a query).
    static func escape(_ text: String, keepSlash: Bool = true) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(byte)))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}

/// A refusal from the object store (bad credentials, no such bucket, a policy): retrying will
/// not help, and the operator must look.
public struct S3Error: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var message: String
    public var description: String { message }
}

/// One page of a ListObjectsV2 answer: its keys and times, and where the next page starts.
/// The answer's XML is small and regular; read by its elements, entities decoded.
struct ListPage {
    var blobs: [StoredBlob] = []
    var truncated = false
    var nextToken: String?

    init(xml data: Data) throws {
        let text = String(decoding: data, as: UTF8.self)
        guard text.contains("<ListBucketResult") else {
            throw S3Error(status: 200, message: "the object store's listing was not a ListBucketResult")
        }
        for contents in Self.elements("Contents", in: text) {
            guard let key = Self.elements("Key", in: contents).first, let modified = Self.elements("LastModified", in: contents).first,
                  let date = Self.date(modified) else {
                throw S3Error(status: 200, message: "a listed object has no key or time")
            }
            blobs.append(StoredBlob(key: Self.unescape(key), lastModified: date))
        }
        truncated = Self.elements("IsTruncated", in: text).first == "true"
        nextToken = Self.elements("NextContinuationToken", in: text).first.map(Self.unescape)
    }

    /// The texts of every `<name>…</name>` in `text`.
    static func elements(_ name: String, in text: String) -> [String] {
        var found: [String] = [], rest = text[...]
        while let open = rest.range(of: "<\(name)>"), let close = rest.range(of: "</\(name)>", range: open.upperBound..<rest.endIndex) {
            found.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return found
    }

    /// XML's five predefined entities (XML 1.0 §4.6) and numeric character references.
    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = "", rest = text[...]
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semicolon = rest[amp...].firstIndex(of: ";") else { break }
            let entity = rest[rest.index(after: amp)..<semicolon]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let number = entity.hasPrefix("#x") ? UInt32(entity.dropFirst(2), radix: 16) : entity.hasPrefix("#") ? UInt32(entity.dropFirst()) : nil
                out += number.flatMap(UnicodeScalar.init).map { String(Character($0)) } ?? "&\(entity);"
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        return out + rest
    }

    /// ISO 8601 as S3 writes it: "2026-12-06T06:20:01.000Z".
    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
