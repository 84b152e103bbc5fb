import Localization

/// A service's "no": why it will not do what was asked, in a sentence the asker can read. The
/// services throw only this for requests they refuse (anything else is unexpected: logged in
/// full, shown as a sentence with the request id). They know nothing of HTTP; the web layer
/// turns a refusal into a status code in one place (`HTTPError.init(_ refusal:)`), and the
/// command line prints the sentence and exits non-zero.
struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
    enum Reason: Sendable, Equatable {
        /// The request itself is wrong: a missing field, a value out of range.
        case invalid
        /// The body is not of a kind this request takes (JSON expected, multipart sent…).
        case wrongType
        /// Content that cannot be read: not an image, a corrupt file, a malformed CSV.
        case unreadable
        /// Beyond a size limit: a file, a frame count, decoded pixels.
        case tooLarge
        /// No such thing, or not one the asker may see.
        case notFound
        /// It exists, but the asker may not do this to it.
        case forbidden
        /// Wrong username or password.
        case wrongCredentials
        /// In the way of something already there: a taken name, a finished job.
        case conflict
        /// This member or address has asked too often; try again after `retryAfter` seconds.
        case tooMany(retryAfter: Int)
        /// The service is full for now; try again after `retryAfter` seconds.
        case busy(retryAfter: Int)
        /// A part of the service is missing here (a model not installed).
        case unavailable
    }

    let reason: Reason
    /// What to tell the asker, as a catalog key with its arguments: pages and the API show it
    /// in the reader's language, the command line and the logs in English.
    let message: Message

    init(_ reason: Reason, _ key: String, _ arguments: [String: Argument] = [:]) {
        self.init(reason, Message(key, arguments))
    }

    init(_ reason: Reason, _ message: Message) {
        self.reason = reason
        self.message = message
    }

    var description: String { message.description }
}
