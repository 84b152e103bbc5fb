import Foundation
import HTTPServer
import StorageCore

/// Who is asking, and whether a state-changing form really comes from our page.
///
/// Under `/api/` only `Authorization: Bearer` counts (cookies are ignored, so CSRF cannot
/// apply); elsewhere only the `session` cookie does. Non-API POST/PUT/PATCH/DELETE must carry a
/// CSRF token (form field `_csrf` or header `X-CSRF-Token`) tied to the session, or, for a
/// signed-out visitor, to the random `csrf` cookie (double submit). Otherwise: 403.
struct SessionMiddleware: Middleware {
    let accounts: AccountService
    static let sessionCookie = "session"
    static let csrfCookie = "csrf"
    static let sessionKey = "session"
    static let versionKey = "dataVersion"

    /// The session token a request carries: the bearer token under `/api/`, the cookie
    /// elsewhere (never both, so a cookie cannot authorise an API call made by another site).
    static func token(path: String, headers: HTTPHeaders) -> String? {
        if path.hasPrefix("/api/") {
            guard let header = headers["Authorization"], header.lowercased().hasPrefix("bearer ") else { return nil }
            return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        return Cookies.parse(headers)[sessionCookie]
    }

    func prepare(_ request: Request) throws -> Request {
        var request = request
        // Verified once here (signature, revocation, user); handlers read `request.session`.
        if let token = Self.token(path: request.path, headers: request.headers) {
            // Read before anything else this request reads, so handlers may use it too
            // (`Request.dataVersion`, for kept pages).
            let version = accounts.currentVersion()
            if let version { request.context[Self.versionKey] = version }
            if let session = try accounts.session(token: token, at: version) { request.context[Self.sessionKey] = session }
        }
        if !request.path.hasPrefix("/api/"), ["POST", "PUT", "PATCH", "DELETE"].contains(request.method) {
            // Scripts send the header; forms carry the field. The form is parsed once, here, and
            // handed to the handler with the parts (no second parse, no second copy).
            var given = request.headers["X-CSRF-Token"]
            if given == nil, !request.body.isEmpty {
                given = try request.parseFormOnce().first { $0.name == "_csrf" }?.text
            }
            guard let key = csrfKey(request), accounts.csrf.isValid(given, for: key) else {
                throw Refusal(.forbidden, "form.csrf")
            }
        }
        return request
    }

    /// What a CSRF token is tied to: the session token's id, else the visitor's csrf cookie.
    func csrfKey(_ request: Request) -> String? {
        if let session = request.session { return "session:" + session.claims.jti }
        return request.cookies[Self.csrfCookie].map { "visitor:" + $0 }
    }

    func handle(_ request: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        try next(prepare(request))
    }

    func handle(_ request: Request, next: (Request) async throws -> HTTPResponse) async throws -> HTTPResponse {
        try await next(prepare(request))
    }
}

extension Request {
    /// The signed-in session, as verified by `SessionMiddleware` for this request.
    var session: AccountService.Session? { context[SessionMiddleware.sessionKey] as? AccountService.Session }

    /// The database's commit mark as `SessionMiddleware` read it at the start of this request
    /// (nil when the request carried no session token, or the backend has no mark).
    var dataVersion: DataVersion? { context[SessionMiddleware.versionKey] as? DataVersion }
}
