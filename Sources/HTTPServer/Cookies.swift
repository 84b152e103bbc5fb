/// Cookies (RFC 6265): reading the Cookie header, writing Set-Cookie with attributes.
public enum Cookies {
    /// name → value from every Cookie header ("a=1; b=2"); the first of a repeated name wins.
    /// Pairs are split at ";" and at their first "=", with spaces and tabs around each part
    /// dropped (RFC 6265 §5.4 and §4.2.1's OWS), and one pair of quotes around a value removed.
    /// Read over UTF-8 bytes: a page asks for several cookies per request.
    public static func parse(_ headers: HTTPHeaders) -> [String: String] {
        var cookies: [String: String] = [:]
        for header in headers.values("Cookie") {
            var header = header
            header.withUTF8 { bytes in
                var start = 0
                while start <= bytes.count {
                    var end = start
                    while end < bytes.count && bytes[end] != UInt8(ascii: ";") { end += 1 }
                    if let (name, value) = pair(bytes, start, end), cookies[name] == nil { cookies[name] = value }
                    start = end + 1
                }
            }
        }
        return cookies
    }

    /// The pair in `bytes[start..<end]`, or nil without an "=" or with an empty name.
    private static func pair(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> (String, String)? {
        func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let equals = bytes[start..<end].firstIndex(of: UInt8(ascii: "=")) else { return nil }
        var nameStart = start, nameEnd = equals, valueStart = equals + 1, valueEnd = end
        while nameStart < nameEnd && isBlank(bytes[nameStart]) { nameStart += 1 }
        while nameEnd > nameStart && isBlank(bytes[nameEnd - 1]) { nameEnd -= 1 }
        while valueStart < valueEnd && isBlank(bytes[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart && isBlank(bytes[valueEnd - 1]) { valueEnd -= 1 }
        guard nameEnd > nameStart else { return nil }
        if valueEnd - valueStart >= 2 && bytes[valueStart] == UInt8(ascii: "\"") && bytes[valueEnd - 1] == UInt8(ascii: "\"") {
            valueStart += 1
            valueEnd -= 1
        }
        return (String(decoding: UnsafeBufferPointer(rebasing: bytes[nameStart..<nameEnd]), as: UTF8.self),
                String(decoding: UnsafeBufferPointer(rebasing: bytes[valueStart..<valueEnd]), as: UTF8.self))
    }
}

/// One Set-Cookie header (RFC 6265 §4.1).
public struct SetCookie: Sendable, Equatable {
    public enum SameSite: String, Sendable { case strict = "Strict", lax = "Lax", none = "None" }

    public var name: String
    public var value: String
    public var path: String? = "/"
    public var domain: String? = nil
    /// Seconds; 0 deletes the cookie.
    public var maxAge: Int? = nil
    public var secure = false
    public var httpOnly = true
    public var sameSite: SameSite? = .lax

    public init(name: String, value: String, path: String? = "/", maxAge: Int? = nil, secure: Bool = false,
                httpOnly: Bool = true, sameSite: SameSite? = .lax) {
        precondition(!name.isEmpty && name.utf8.allSatisfy(RequestHeadParser.isTokenChar), "cookie name must be a token")
        // cookie-octet: visible ASCII except DQUOTE, comma, semicolon and backslash.
        precondition(value.utf8.allSatisfy { $0 > 32 && $0 < 127 && $0 != 34 && $0 != 44 && $0 != 59 && $0 != 92 },
                     "cookie value has characters outside cookie-octet")
        self.name = name
        self.value = value
        self.path = path
        self.maxAge = maxAge
        self.secure = secure
        self.httpOnly = httpOnly
        self.sameSite = sameSite
    }

    /// A cookie that deletes `name`.
    public static func expired(_ name: String, path: String = "/") -> SetCookie {
        SetCookie(name: name, value: "", path: path, maxAge: 0)
    }

    public var headerValue: String {
        var parts = ["\(name)=\(value)"]
        if let path { parts.append("Path=\(path)") }
        if let domain { parts.append("Domain=\(domain)") }
        if let maxAge { parts.append("Max-Age=\(maxAge)") }
        if secure || sameSite == SameSite.none { parts.append("Secure") }
        if httpOnly { parts.append("HttpOnly") }
        if let sameSite { parts.append("SameSite=\(sameSite.rawValue)") }
        return parts.joined(separator: "; ")
    }
}

extension HTTPResponse {
    public mutating func setCookie(_ cookie: SetCookie) {
        headers.add("Set-Cookie", cookie.headerValue)
    }
}
