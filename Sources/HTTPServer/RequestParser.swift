/// Size limits on what a client may send. A request over a limit is refused with the status
/// RFC 9110 gives for it (414, 431, 413) before the excess is read.
public struct HTTPLimits: Sendable {
    /// Longest request-target, in bytes (→ 414).
    public var maxTargetBytes = 8 * 1024
    /// Longest request head: request line plus header fields (→ 431).
    public var maxHeadBytes = 32 * 1024
    /// Most header fields (→ 431).
    public var maxHeaderCount = 100
    /// Default largest body; routes may allow more or less (→ 413).
    public var maxBodyBytes = 1024 * 1024

    public init() {}
}

/// How the body of a request is delimited (RFC 9112 §6.3).
public enum BodyFraming: Sendable, Equatable {
    case none
    case length(Int)
    case chunked
}

/// A parsed request line and header section.
public struct RequestHead: Sendable {
    public var method: String
    /// The request-target as sent.
    public var target: String
    /// The percent-decoded path with dot-segments removed: always starts with "/", never
    /// contains a ".." segment (or "*" for `OPTIONS *`).
    public var path: String
    /// The query string as sent (still percent-encoded), without the "?".
    public var query: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var keepAlive: Bool
    public var framing: BodyFraming
    public var expectsContinue: Bool
}

/// A request the server refuses, and the status it answers with.
public struct HTTPParseError: Error, Equatable, CustomStringConvertible {
    public var status: HTTPStatus
    public var reason: String

    public init(_ status: HTTPStatus, _ reason: String) {
        self.status = status
        self.reason = reason
    }

    public var description: String { "\(status): \(reason)" }
}

/// Finds the end of a request head as its bytes arrive, looking at each byte once: a client
/// that sends its head one byte per packet costs O(n) in all, not O(n²) (re-scanning from the
/// first byte on every read did). It checks line endings and size limits on the way, so a head
/// that can never be valid is refused as soon as that is known.
public struct HeadScanner: Sendable {
    /// Next byte to look at, relative to the start of the buffered request.
    var position = 0
    /// Where the request line starts (after the empty lines allowed before it).
    var start: Int? = nil
    var lineStart = 0
    /// Each complete line, without its CRLF.
    var lines: [Range<Int>] = []

    public init() {}

    /// The head's length in bytes once the empty line that ends it has arrived; nil until then.
    /// `bytes` must begin where the previous call's began and hold at least what it held.
    public mutating func scan(_ bytes: UnsafeBufferPointer<UInt8>, limits: HTTPLimits) throws(HTTPParseError) -> Int? {
        let cr: UInt8 = 13, lf: UInt8 = 10
        var i = position
        defer { position = i }
        if start == nil {
            // RFC 9112 §2.2: ignore at least one empty line (CRLF) before the request line. Only
            // CRLF, and only a bounded number of bytes of them.
            while i < bytes.count, bytes[i] == cr || bytes[i] == lf {
                guard bytes[i] == cr else { throw HTTPParseError(.badRequest, "bare LF") }
                guard i + 1 < bytes.count else { return nil }
                guard bytes[i + 1] == lf else { throw HTTPParseError(.badRequest, "bare CR") }
                i += 2
                if i > limits.maxHeadBytes { throw HTTPParseError(.requestHeaderFieldsTooLarge, "request head too large") }
            }
            guard i < bytes.count else { return nil }
            start = i
            lineStart = i
        }
        let start = self.start!
        // Lines end in CRLF only. RFC 9112 §2.2 lets a recipient accept a bare LF; a strict server
        // must not, because a proxy in front that reads the bytes differently would see other
        // requests than we do (request smuggling). A CR not followed by LF is never a line end.
        while i < bytes.count {
            let b = bytes[i]
            if b == cr {
                guard i + 1 < bytes.count else { break } // wait for the next byte
                guard bytes[i + 1] == lf else { throw HTTPParseError(.badRequest, "bare CR") }
                if i == lineStart {
                    i += 2
                    if i - start > limits.maxHeadBytes { throw HTTPParseError(.requestHeaderFieldsTooLarge, "request head too large") }
                    return i
                }
                lines.append(lineStart..<i)
                i += 2
                lineStart = i
                if lines.count - 1 > limits.maxHeaderCount {
                    throw HTTPParseError(.requestHeaderFieldsTooLarge, "too many header fields")
                }
                continue
            }
            if b == lf { throw HTTPParseError(.badRequest, "bare LF") }
            i += 1
            if lines.isEmpty, i - start > limits.maxTargetBytes + 64 {
                // Still in the request line: whatever else it holds, the target is too long.
                throw HTTPParseError(.uriTooLong, "request line too long")
            }
        }
        if i - start > limits.maxHeadBytes {
            throw HTTPParseError(.requestHeaderFieldsTooLarge, "request head too large")
        }
        return nil
    }

    /// The parsed head, once `scan` has returned its end (the same `bytes`).
    public func head(_ bytes: UnsafeBufferPointer<UInt8>, limits: HTTPLimits) throws(HTTPParseError) -> RequestHead {
        guard let requestLine = lines.first else { throw HTTPParseError(.badRequest, "no request line") }
        var head = try RequestHeadParser.parseRequestLine(UnsafeBufferPointer(rebasing: bytes[requestLine]), limits: limits)
        for line in lines.dropFirst() {
            let (name, value) = try RequestHeadParser.parseField(UnsafeBufferPointer(rebasing: bytes[line]))
            head.headers.add(name, value)
        }
        try RequestHeadParser.applySemantics(&head, limits: limits)
        return head
    }
}

/// Parses a request head from the start of `bytes` (RFC 9112 §2–§7).
public enum RequestHeadParser {
    /// `nil` when the head is not complete yet (and within the limits so far); otherwise the head
    /// and the number of bytes it took. (A connection keeps a `HeadScanner` across reads instead.)
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, limits: HTTPLimits) throws(HTTPParseError) -> (RequestHead, Int)? {
        var scanner = HeadScanner()
        guard let end = try scanner.scan(bytes, limits: limits) else { return nil }
        return (try scanner.head(bytes, limits: limits), end)
    }

    // MARK: request line (RFC 9112 §3)

    static func parseRequestLine(_ line: UnsafeBufferPointer<UInt8>, limits: HTTPLimits) throws(HTTPParseError) -> RequestHead {
        // request-line = method SP request-target SP HTTP-version, single spaces.
        guard let firstSpace = line.firstIndex(of: 32) else { throw HTTPParseError(.badRequest, "malformed request line") }
        guard let lastSpace = line.lastIndex(of: 32), lastSpace > firstSpace else {
            throw HTTPParseError(.badRequest, "malformed request line")
        }
        let methodBytes = line[0..<firstSpace]
        let targetBytes = line[(firstSpace + 1)..<lastSpace]
        let versionBytes = line[(lastSpace + 1)...]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(isTokenChar) else {
            throw HTTPParseError(.badRequest, "method is not a token")
        }
        guard targetBytes.count <= limits.maxTargetBytes else { throw HTTPParseError(.uriTooLong, "request-target too long") }
        guard !targetBytes.isEmpty, targetBytes.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw HTTPParseError(.badRequest, "malformed request-target")
        }
        let version = try parseVersion(Array(versionBytes))
        let method = String(decoding: methodBytes, as: UTF8.self)
        let target = String(decoding: targetBytes, as: UTF8.self)
        let (path, query) = try parseTarget(target, method: method)
        return RequestHead(method: method, target: target, path: path, query: query, version: version,
                           headers: HTTPHeaders(), keepAlive: true, framing: .none, expectsContinue: false)
    }

    static func parseVersion(_ v: [UInt8]) throws(HTTPParseError) -> HTTPVersion {
        // HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3).
        let prefix: [UInt8] = Array("HTTP/".utf8)
        guard v.count == 8, Array(v[0..<5]) == prefix, v[6] == UInt8(ascii: "."),
              (48...57).contains(v[5]), (48...57).contains(v[7]) else {
            throw HTTPParseError(.badRequest, "malformed HTTP version")
        }
        guard v[5] == UInt8(ascii: "1") else { throw HTTPParseError(.httpVersionNotSupported, "only HTTP/1.x is supported") }
        // A higher minor version is handled as the highest we implement (RFC 9110 §6.2).
        return v[7] == UInt8(ascii: "0") ? .http1_0 : .http1_1
    }

    /// Splits and normalises the request-target (RFC 9112 §3.2): origin-form, absolute-form, or
    /// "*" for OPTIONS. The path is percent-decoded per segment and dot-segments are removed
    /// (RFC 3986 §5.2.4), so ".." can never climb above "/".
    static func parseTarget(_ target: String, method: String) throws(HTTPParseError) -> (String, String) {
        if target == "*" {
            guard method == "OPTIONS" else { throw HTTPParseError(.badRequest, "'*' is only for OPTIONS") }
            return ("*", "")
        }
        var rest = Substring(target)
        if !rest.hasPrefix("/") {
            // absolute-form: scheme "://" authority path-abempty [ "?" query ]
            let lower = rest.lowercased()
            guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
                throw HTTPParseError(.badRequest, "unsupported request-target form")
            }
            rest = rest[rest.index(rest.firstIndex(of: ":")!, offsetBy: 3)...]
            if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) {
                rest = rest[slash...]
                if rest.hasPrefix("?") { rest = "/" + rest }
            } else {
                rest = "/"
            }
        }
        if rest.contains("#") { throw HTTPParseError(.badRequest, "fragment in request-target") }
        let query: Substring
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        } else {
            query = ""
        }
        // The query is decoded later, parameter by parameter; a malformed escape or invalid UTF-8
        // (an overlong sequence such as %C0%AF among them, Unicode §3.9 table 3-7) would make
        // that parameter silently vanish, so the whole request is refused here instead.
        guard percentDecode(query, plusIsSpace: true) != nil else {
            throw HTTPParseError(.badRequest, "bad percent-encoding in query")
        }
        var segments: [String] = []
        let raw = rest.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for (index, segment) in raw.enumerated() {
            guard let decoded = percentDecode(segment) else { throw HTTPParseError(.badRequest, "bad percent-encoding in path") }
            if decoded.contains("/") || decoded.contains("\0") || decoded.contains("\\") {
                throw HTTPParseError(.badRequest, "encoded separator or NUL in path")
            }
            switch decoded {
            case ".": if index == raw.count - 1 { segments.append("") }
            case "..":
                if !segments.isEmpty { segments.removeLast() }
                if index == raw.count - 1 { segments.append("") }
            default:
                if decoded.isEmpty && index != raw.count - 1 { continue } // collapse "//"
                segments.append(decoded)
            }
        }
        return ("/" + segments.joined(separator: "/"), String(query))
    }

    /// %XX-decodes and validates UTF-8; `nil` for malformed escapes or invalid UTF-8.
    public static func percentDecode<S: StringProtocol>(_ s: S, plusIsSpace: Bool = false) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count)
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%") {
                guard let h = it.popFirst(), let l = it.popFirst(), let hv = hexValue(h), let lv = hexValue(l) else { return nil }
                bytes.append(hv << 4 | lv)
            } else if plusIsSpace && b == UInt8(ascii: "+") {
                bytes.append(32)
            } else {
                bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: b - 48
        case 65...70: b - 55
        case 97...102: b - 87
        default: nil
        }
    }

    // MARK: header fields (RFC 9112 §5)

    static func parseField(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> (String, String) {
        // obs-fold: a line starting with whitespace continues the previous one (§5.2): refused.
        if line.first == 32 || line.first == 9 { throw HTTPParseError(.badRequest, "obsolete line folding") }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw HTTPParseError(.badRequest, "header line without ':'") }
        let name = line[0..<colon]
        // No whitespace between field name and colon (§5.1 MUST reject with 400).
        guard !name.isEmpty, name.allSatisfy(isTokenChar) else { throw HTTPParseError(.badRequest, "malformed field name") }
        var value = line[(colon + 1)...]
        while let f = value.first, f == 32 || f == 9 { value = value.dropFirst() }
        while let l = value.last, l == 32 || l == 9 { value = value.dropLast() }
        // field-value: VCHAR, obs-text, SP, HTAB (RFC 9110 §5.5); CR, LF and NUL are refused.
        guard value.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else {
            throw HTTPParseError(.badRequest, "control character in field value")
        }
        // obs-text bytes are kept one-to-one as ISO-8859-1 code points.
        let text = String(String.UnicodeScalarView(value.map { Unicode.Scalar($0) }))
        return (String(decoding: name, as: UTF8.self), text)
    }

    /// tchar (RFC 9110 §5.6.2).
    static func isTokenChar(_ b: UInt8) -> Bool {
        switch b {
        case 48...57, 65...90, 97...122: true
        case 33, 35, 36, 37, 38, 39, 42, 43, 45, 46, 94, 95, 96, 124, 126: true
        default: false
        }
    }

    // MARK: message semantics

    static func applySemantics(_ head: inout RequestHead, limits: HTTPLimits) throws(HTTPParseError) {
        let headers = head.headers
        // Host: exactly one in HTTP/1.1 (RFC 9112 §3.2), at most one otherwise.
        let hosts = headers.values("Host")
        if hosts.count > 1 || (head.version == .http1_1 && hosts.isEmpty) {
            throw HTTPParseError(.badRequest, hosts.isEmpty ? "missing Host" : "more than one Host")
        }
        // "… or a Host header field with an invalid field value" is a 400 too (RFC 9112 §3.2).
        if let host = hosts.first, !isValidHost(host) { throw HTTPParseError(.badRequest, "invalid Host") }
        // Framing (RFC 9112 §6.1, §6.3).
        let transferEncodings = headers.values("Transfer-Encoding")
        let lengths = headers.values("Content-Length")
        if !transferEncodings.isEmpty {
            if !lengths.isEmpty { throw HTTPParseError(.badRequest, "both Content-Length and Transfer-Encoding") }
            if head.version == .http1_0 { throw HTTPParseError(.badRequest, "Transfer-Encoding in HTTP/1.0") }
            let codings = transferEncodings.flatMap { $0.split(separator: ",") }.map { $0.trimmingWhitespace().lowercased() }
            guard codings.last == "chunked" else { throw HTTPParseError(.badRequest, "chunked is not the final transfer coding") }
            if codings.dropLast().contains("chunked") { throw HTTPParseError(.badRequest, "chunked applied twice") }
            if codings.count > 1 { throw HTTPParseError(.notImplemented, "unsupported transfer coding") }
            head.framing = .chunked
        } else if !lengths.isEmpty {
            var length: Int? = nil
            for value in lengths.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
                let digits = value.trimmingWhitespace()
                guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                    throw HTTPParseError(.badRequest, "invalid Content-Length")
                }
                // More digits than fit: certainly over any body limit.
                guard digits.count <= 18, let n = Int(digits) else { throw HTTPParseError(.contentTooLarge, "body too large") }
                if let length, length != n { throw HTTPParseError(.badRequest, "conflicting Content-Length values") }
                length = n
            }
            head.framing = length! > 0 ? .length(length!) : .none
        }
        // Persistence (RFC 9112 §9.3).
        switch head.version {
        case .http1_1: head.keepAlive = !headers.hasToken("close", in: "Connection")
        case .http1_0: head.keepAlive = headers.hasToken("keep-alive", in: "Connection")
        }
        // Expect (RFC 9110 §10.1.1): only 100-continue is defined.
        if let expect = headers["Expect"] {
            guard expect.trimmingWhitespace().caseInsensitiveEquals("100-continue") else {
                throw HTTPParseError(.expectationFailed, "unsupported expectation")
            }
            head.expectsContinue = head.version == .http1_1
        }
    }
}

extension RequestHeadParser {
    /// Host = uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2–3.2.3). Refused: empty
    /// (this server has no use for an authority-less target), userinfo ("@"), a path, query or
    /// fragment, whitespace or a comma (two hosts in one field), a bad port. IP literals are
    /// bracketed and hold hex digits, ":" and "." only.
    static func isValidHost(_ value: String) -> Bool {
        var host = Substring(value)
        guard !host.isEmpty else { return false }
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let literal = host[host.index(after: host.startIndex)..<close]
            guard !literal.isEmpty, literal.utf8.allSatisfy({ isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }) else {
                return false
            }
            host = host[host.index(after: close)...]
            guard host.isEmpty || host.hasPrefix(":") else { return false }
        } else {
            let name = host.prefix { $0 != ":" }
            // reg-name = *( unreserved / pct-encoded / sub-delims ), less "," (a list of hosts)
            // and the sub-delims no DNS name has.
            guard !name.isEmpty, name.utf8.allSatisfy({ b in
                isHexDigit(b) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
                    || b == UInt8(ascii: "_") || b == UInt8(ascii: "~") || b == UInt8(ascii: "%")
            }) else { return false }
            host = host[name.endIndex...]
        }
        if host.hasPrefix(":") {
            let port = host.dropFirst()
            // port = *DIGIT; an empty port is allowed (RFC 3986 §3.2.3), a huge one is not a port.
            guard port.count <= 5, port.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), (Int(port) ?? 0) <= 65535 else { return false }
        }
        return true
    }

    static func isHexDigit(_ b: UInt8) -> Bool { hexValue(b) != nil }
}

/// Decodes a chunked body incrementally (RFC 9112 §7.1), appending data to `body`.
public struct ChunkedDecoder: Sendable {
    enum State: Sendable { case size, data(Int), dataEnd, trailer, done }
    var state: State = .size
    public private(set) var bodyBytes = 0
    let maxBody: Int

    public init(maxBody: Int) { self.maxBody = maxBody }

    public var isDone: Bool { if case .done = state { true } else { false } }

    /// Consumes what it can of `bytes`; returns the number of bytes consumed.
    public mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, into body: inout [UInt8]) throws(HTTPParseError) -> Int {
        var i = 0
        while i < bytes.count {
            switch state {
            case .done:
                return i
            case .size, .trailer, .dataEnd:
                // A line: find its LF (bounded; a chunk-size line with extensions stays short).
                guard let lf = bytes[i...].firstIndex(of: 10) else {
                    if bytes.count - i > 4096 { throw HTTPParseError(.badRequest, "chunk line too long") }
                    return i
                }
                guard lf > i, bytes[lf - 1] == 13 else { throw HTTPParseError(.badRequest, "chunk line without CRLF") }
                let line = UnsafeBufferPointer(rebasing: bytes[i..<(lf - 1)])
                i = lf + 1
                switch state {
                case .dataEnd:
                    guard line.isEmpty else { throw HTTPParseError(.badRequest, "chunk data longer than its size") }
                    state = .size
                case .trailer:
                    if line.isEmpty { state = .done; return i } // trailer fields are ignored
                default:
                    // chunk-size = 1*HEXDIG, then optional ";ext" (extensions are ignored).
                    let sizeEnd = line.firstIndex { $0 == UInt8(ascii: ";") || $0 == 32 || $0 == 9 } ?? line.count
                    let digits = line[0..<sizeEnd]
                    guard !digits.isEmpty, digits.count <= 15 else { throw HTTPParseError(.badRequest, "invalid chunk size") }
                    var size = 0
                    for d in digits {
                        guard let v = RequestHeadParser.hexValue(d) else { throw HTTPParseError(.badRequest, "invalid chunk size") }
                        size = size << 4 | Int(v)
                    }
                    if bodyBytes + size > maxBody { throw HTTPParseError(.contentTooLarge, "body too large") }
                    state = size == 0 ? .trailer : .data(size)
                }
            case let .data(remaining):
                let n = min(remaining, bytes.count - i)
                body.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<(i + n)]))
                bodyBytes += n
                i += n
                state = remaining - n == 0 ? .dataEnd : .data(remaining - n)
            }
        }
        return i
    }
}
