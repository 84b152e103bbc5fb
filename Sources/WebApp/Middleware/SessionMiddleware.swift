import Foundation
import HTTPServer

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

    func prepare(_ request: Request) throws -> Request {
        var request = request
        let isAPI = request.path.hasPrefix("/api/")
        var token: String?
        if isAPI {
            if let header = request.headers["Authorization"], header.lowercased().hasPrefix("bearer ") {
                token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
            }
        } else {
            token = request.cookies[Self.sessionCookie]
        }
        // Verified once here (signature, revocation, user); handlers read `request.session`.
        if let token, let session = accounts.session(token: token) {
            request.context[Self.sessionKey] = session
        }
        if !isAPI, ["POST", "PUT", "PATCH", "DELETE"].contains(request.method) {
            // Only the token is looked for here, with no per-part limits (the route's body limit
            // already bounds the body): the handler applies its own limits and explains them.
            let lenient = MultipartLimits(maxParts: 10_000, maxPartBytes: .max)
            let given = request.headers["X-CSRF-Token"] ?? (try? request.formFields(limits: lenient))?.first { $0.name == "_csrf" }?.text
            guard let key = csrfKey(request), accounts.csrf.isValid(given, for: key) else {
                throw HTTPError(.forbidden, "This form has expired or did not come from this site. Reload the page and try again.")
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
}
