/// Cookies (RFC 6265): reading the Cookie header, writing Set-Cookie with attributes.
public enum Cookies {
    /// name → value from every Cookie header ("a=1; b=2"); the first of a repeated name wins.
    public static func parse(_ headers: HTTPHeaders) -> [String: String] {
        var cookies: [String: String] = [:]
        for header in headers.values("Cookie") {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else { continue }
                let name = String(parts[0].trimmingWhitespace())
                var value = parts[1].trimmingWhitespace()
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = value.dropFirst().dropLast() }
                guard !name.isEmpty, cookies[name] == nil else { continue }
                cookies[name] = String(value)
            }
        }
        return cookies
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
