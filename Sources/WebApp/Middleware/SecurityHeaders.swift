import HTTPServer

/// Headers every response carries: a strict Content-Security-Policy (no inline script, no
/// framing), no MIME sniffing, a careful referrer policy. `blob:` pictures and media are the
/// upload form's previews of the files a person has chosen (a photo, a clip).
struct SecurityHeaders: Middleware {
    static let policy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        + "media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    static func apply(to response: inout HTTPResponse) {
        response.headers.set("Content-Security-Policy", policy)
        response.headers.set("X-Content-Type-Options", "nosniff")
        response.headers.set("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.set("X-Frame-Options", "DENY")
    }

    func handle(_ request: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        var response = try next(request)
        Self.apply(to: &response)
        return response
    }

    func handle(_ request: Request, next: (Request) async throws -> HTTPResponse) async throws -> HTTPResponse {
        var response = try await next(request)
        Self.apply(to: &response)
        return response
    }
}
