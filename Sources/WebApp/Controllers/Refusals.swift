import Localization
import HTTPServer
import StorageCore

/// The one place where the services' refusals become HTTP status codes (RFC 9110 §15).
extension HTTPError {
    /// The message travels as `details` (rendered in the reader's language by the app's error
    /// renderer) and its key as the stable `code`.
    init(_ refusal: Refusal) {
        let status: HTTPStatus
        var headers = HTTPHeaders()
        switch refusal.reason {
        case .invalid: status = .badRequest
        case .wrongType: status = .unsupportedMediaType
        case .unreadable: status = .unprocessableContent
        case .tooLarge: status = .contentTooLarge
        case .notFound: status = .notFound
        case .forbidden: status = .forbidden
        // RFC 9110 §15.5.2 asks a 401 to carry WWW-Authenticate; the API's sign-in answers with
        // a JSON error instead, and pages re-render the form (status kept for clients).
        case .wrongCredentials: status = .unauthorized
        case .conflict: status = .conflict
        // Retry-After: RFC 9110 §10.2.3, with 429 (RFC 6585 §4) and 503 (RFC 9110 §15.6.4).
        case let .tooMany(seconds): status = .tooManyRequests; headers.set("Retry-After", String(seconds))
        case let .busy(seconds): status = .serviceUnavailable; headers.set("Retry-After", String(seconds))
        case .unavailable: status = .serviceUnavailable
        }
        self.init(status, refusal.message.description, code: refusal.message.key, details: refusal.message, headers: headers)
    }

    /// What to tell the reader, in their language: the refusal's message, or for the server's
    /// own errors (no message of ours) the catalog's sentence for its code.
    func message(in language: Language, method: String? = nil) -> String {
        if let message = details as? Message { return message.text(in: language) }
        return Self.builtIn(code: code, status: status, english: message, method: method, language: language)
    }

    /// The router's and the connection's errors, which know no catalog: the known ones by their
    /// code, the rest (the connection's 400, 408, 413, 431…) as their English sentence in
    /// English and as the status's meaning in another language.
    static func builtIn(code: String?, status: HTTPStatus, english: String, method: String?, language: Language) -> String {
        let message: Message = switch code {
        case "not_found": Message("error.not_found")
        case "method_not_allowed": Message("error.method_not_allowed", ["method": .text(method ?? "")])
        case "internal": Message("error.internal")
        default: language == .en ? .verbatim(english) : Message("error.generic", ["reason": .message(reason(status))])
        }
        return message.text(in: language)
    }

    /// The status's reason phrase in the reader's language (RFC 9110 §15 for English).
    static func reason(_ status: HTTPStatus) -> Message {
        Catalog.entry("http.\(status.code)", in: .en) != nil ? Message("http.\(status.code)") : .verbatim(status.reason)
    }

    /// The HTTP error for an error a handler caught: itself, a refusal mapped, or nil for
    /// anything unexpected (which the router logs and answers with a generic 500).
    static func from(_ error: any Error) -> HTTPError? {
        if let error = error as? HTTPError { return error }
        if let refusal = error as? Refusal { return HTTPError(refusal) }
        // The database is away (restarting, failing over): nothing was changed, and the same
        // request will likely work in a moment (RFC 9110 §15.6.4).
        if error is StorageUnavailable { return HTTPError(Refusal(.busy(retryAfter: 2), "storage.unavailable")) }
        return nil
    }
}
