import Foundation

/// A complete request as handlers see it.
public struct HTTPRequest: Sendable {
    public var head: RequestHead
    public var body: [UInt8]
    /// The peer's address, e.g. "127.0.0.1" or "::1".
    public var remoteAddress: String
    /// Unique per request within this process; logged and shown on error pages.
    public var id: String

    public init(head: RequestHead, body: [UInt8] = [], remoteAddress: String = "", id: String = "") {
        self.head = head
        self.body = body
        self.remoteAddress = remoteAddress
        self.id = id
    }

    public var method: String { head.method }
    public var path: String { head.path }
    public var headers: HTTPHeaders { head.headers }

    /// Query parameters, percent-decoded ("+" is a space, as in HTML forms).
    public var queryItems: [(name: String, value: String)] { FormData.parseURLEncoded(head.query) }

    public func query(_ name: String) -> String? { queryItems.first { $0.name == name }?.value }
}

/// A body produced piece by piece (a file, say) instead of held in memory. Its length is
/// known up front, so it is sent with Content-Length.
public protocol BodyStream: AnyObject, Sendable {
    var length: Int { get }
    /// Up to `max` more bytes; empty at the end (or on a read error, which aborts the response).
    func read(max: Int) -> [UInt8]
    /// Releases resources; called once, whether or not the stream was read to the end.
    func close()
}

/// A response. Content-Length, Date and Connection are set by the server when it writes it.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// When set, the body is streamed from here and `body` is ignored.
    public var stream: (any BodyStream)?

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func text(_ text: String, status: HTTPStatus = .ok, contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], body: Array(text.utf8))
    }

    public static func html(_ html: String, status: HTTPStatus = .ok) -> HTTPResponse {
        text(html, status: status, contentType: "text/html; charset=utf-8")
    }

    /// An HTML page already rendered to UTF-8 (templates write bytes).
    public static func html(_ utf8: [UInt8], status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/html; charset=utf-8"], body: utf8)
    }

    /// A JSON body from an Encodable value (sorted keys, so responses are stable).
    public static func json<T: Encodable>(_ value: T, status: HTTPStatus = .ok) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data("null".utf8)
        return HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: [UInt8](data))
    }

    public static func redirect(to location: String, status: HTTPStatus = .seeOther) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Location": location])
    }
}

/// Query strings and `application/x-www-form-urlencoded` bodies (WHATWG URL §5.1).
public enum FormData {
    /// `text` with ASCII letters, digits and the bytes in `keeping` as they are, and every other
    /// byte of its UTF-8 form as %XX (RFC 3986 §2.1). Query values keep RFC 3986's unreserved
    /// set (§2.3), RFC 8187's filename* keeps its attr-char set.
    public static func percentEncoded(_ text: String, keeping: Set<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                out.append(byte)
            case _ where keeping.contains(byte):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static let hexDigits = Array("0123456789ABCDEF".utf8)

    public static func parseURLEncoded<S: StringProtocol>(_ text: S) -> [(name: String, value: String)] {
        text.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = RequestHeadParser.percentDecode(parts[0], plusIsSpace: true) else { return nil }
            let value = parts.count > 1 ? RequestHeadParser.percentDecode(parts[1], plusIsSpace: true) : ""
            return value.map { (name, $0) }
        }
    }
}

extension HTTPResponse {
    /// The bytes on the wire (RFC 9112 §4–§6): status line, fields, body (none for HEAD, 1xx,
    /// 204 and 304).
    func serialized(for method: String, version: HTTPVersion, keepAlive: Bool, date: String) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(160 + body.count)
        out.append(contentsOf: "HTTP/1.1 \(status.code) \(status.reason)\r\n".utf8)
        for field in headers where !field.name.caseInsensitiveEquals("Content-Length")
            && !field.name.caseInsensitiveEquals("Connection") && !field.name.caseInsensitiveEquals("Date") {
            out.append(contentsOf: field.name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: field.value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        out.append(contentsOf: "Date: \(date)\r\n".utf8)
        let bodyless = status.code < 200 || status.code == 204 || status.code == 304
        if !bodyless { out.append(contentsOf: "Content-Length: \(stream?.length ?? body.count)\r\n".utf8) }
        // HTTP/1.1 connections persist unless closed; HTTP/1.0 ones only when announced (RFC 9112 §9.3).
        if !keepAlive {
            out.append(contentsOf: "Connection: close\r\n".utf8)
        } else if version == .http1_0 {
            out.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        if method != "HEAD" && !bodyless && stream == nil { out.append(contentsOf: body) }
        return out
    }
}

/// IMF-fixdate (RFC 9110 §5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
func httpDate(_ time: time_t) -> String {
    var t = time
    var tm = tm()
    gmtime_r(&t, &tm)
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
    return "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900) "
        + "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
}
