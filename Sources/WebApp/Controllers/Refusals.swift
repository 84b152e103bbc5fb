import HTTPServer

/// The one place where the services' refusals become HTTP status codes (RFC 9110 §15).
extension HTTPError {
    init(_ refusal: Refusal) {
        switch refusal.reason {
        case .invalid: self.init(.badRequest, refusal.message)
        case .unreadable: self.init(.unprocessableContent, refusal.message)
        case .tooLarge: self.init(.contentTooLarge, refusal.message)
        case .notFound: self.init(.notFound, refusal.message)
        case .forbidden: self.init(.forbidden, refusal.message)
        // RFC 9110 §15.5.2 asks a 401 to carry WWW-Authenticate; the API's sign-in answers with
        // a JSON error instead, and pages re-render the form (status kept for clients).
        case .wrongCredentials: self.init(.unauthorized, refusal.message)
        case .conflict: self.init(.conflict, refusal.message)
        // Retry-After: RFC 9110 §10.2.3, with 429 (RFC 6585 §4) and 503 (RFC 9110 §15.6.4).
        case let .tooMany(seconds): self.init(.tooManyRequests, refusal.message, headers: ["Retry-After": String(seconds)])
        case let .busy(seconds): self.init(.serviceUnavailable, refusal.message, headers: ["Retry-After": String(seconds)])
        case .unavailable: self.init(.serviceUnavailable, refusal.message)
        }
    }

    /// The HTTP error for an error a handler caught: itself, a refusal mapped, or nil for
    /// anything unexpected (which the router logs and answers with a generic 500).
    static func from(_ error: any Error) -> HTTPError? {
        if let error = error as? HTTPError { return error }
        if let refusal = error as? Refusal { return HTTPError(refusal) }
        return nil
    }
}
