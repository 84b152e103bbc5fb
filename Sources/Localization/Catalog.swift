import Foundation

/// One entry of a language's catalog.
///
/// Texts name their placeholders the way the templates do, `{{name}}`: a template renders an
/// entry in its own context (so `{{maxMB}}` is the page's value, escaped like any other), and
/// Swift fills them from a `Message`'s arguments. Entries used in templates may carry markup
/// (links); entries used from Swift are plain text (they are escaped where they are shown).
public enum Entry: Sendable {
    case text(String)
    /// A text per plural category (CLDR), chosen by the number in argument `on`. English has
    /// "one" and "other"; Korean only "other" (its catalog gives the same text for both).
    case plural(on: String, one: String, other: String)

    public var forms: [String] {
        switch self {
        case let .text(text): [text]
        case let .plural(_, one, other): [one, other]
        }
    }
}

/// A value for a message's placeholder.
public enum Argument: Sendable, Hashable, Codable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case text(String)
    case number(Int)
    /// Another message, rendered in the same language (a style's name inside a sentence).
    indirect case message(Message)

    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int) { self = .number(value) }

    /// As JSON: a string, a number, or a message object.
    public init(from decoder: Decoder) throws {
        let value = try decoder.singleValueContainer()
        if let number = try? value.decode(Int.self) {
            self = .number(number)
        } else if let text = try? value.decode(String.self) {
            self = .text(text)
        } else {
            self = .message(try value.decode(Message.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var value = encoder.singleValueContainer()
        switch self {
        case let .text(text): try value.encode(text)
        case let .number(number): try value.encode(number)
        case let .message(message): try value.encode(message)
        }
    }
}

/// Something to tell a person, independent of the language it will be shown in: a catalog key
/// and its named arguments. Services refuse with these; the web layer renders them in the
/// reader's language, the command line and the logs in English.
///
/// Stored as JSON where it must outlive the request (a failed job's reason):
/// `{"key": "photo.corrupt", "arguments": {"file": "a.png", "width": 640}}`.
public struct Message: Sendable, Hashable, Codable, CustomStringConvertible {
    public let key: String
    public let arguments: [String: Argument]

    public init(_ key: String, _ arguments: [String: Argument] = [:]) {
        self.key = key
        self.arguments = arguments
    }

    /// Text that is shown as it is, in every language (a picture's own title).
    public static func verbatim(_ text: String) -> Message { Message("", ["text": .text(text)]) }

    public func text(in language: Language) -> String { Catalog.text(self, in: language) }

    /// The message as JSON text, and back (nil for text that is not one).
    public var json: String { String(decoding: (try? JSONEncoder().encode(self)) ?? Data(), as: UTF8.self) }

    public init?(json: String) {
        guard let message = try? JSONDecoder().decode(Message.self, from: Data(json.utf8)) else { return nil }
        self = message
    }

    /// English: for logs and the command line.
    public var description: String { text(in: .en) }
}

public enum Catalog {
    public static let tables: [Language: [String: Entry]] = [.en: english, .ko: korean]

    /// The entry for `key` in `language`, or the English one where a catalog lacks it (the
    /// catalog test keeps that from happening; a missing entry should not blank a page).
    public static func entry(_ key: String, in language: Language) -> Entry? {
        tables[language]?[key] ?? english[key]
    }

    public static func text(_ message: Message, in language: Language) -> String {
        if message.key.isEmpty, case let .text(text)? = message.arguments["text"] { return text }
        let template: String
        switch entry(message.key, in: language) {
        case let .text(text)?:
            template = text
        case let .plural(on, one, other)?:
            let count: Int = if case let .number(n)? = message.arguments[on] { n } else { 0 }
            template = pluralCategory(count, in: language) == .one ? one : other
        case nil:
            return message.key // visible, so a missing key is noticed
        }
        return fill(template) { name in
            switch message.arguments[name] {
            case let .text(text)?: text
            case let .number(n)?: format(n, in: language)
            case let .message(inner)?: inner.text(in: language)
            case nil: "{{\(name)}}"
            }
        }
    }

    public enum PluralCategory: Sendable { case one, other }

    /// CLDR plural rules for whole numbers: English says "1 hour", "2 hours"; Korean nouns do
    /// not change with number.
    public static func pluralCategory(_ n: Int, in language: Language) -> PluralCategory {
        switch language {
        case .en: n == 1 ? .one : .other
        case .ko: .other
        }
    }

    /// A whole number with thousands grouped: "12,345" in both languages.
    public static func format(_ n: Int, in language: Language) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// The names between `{{` and `}}` in a text, in order.
    public static func placeholders(_ text: String) -> [String] {
        var names: [String] = []
        _ = fill(text) { names.append($0); return "" }
        return names
    }

    /// `text` with each `{{name}}` replaced by `value(name)` (spaces and tabs around the name
    /// ignored); an unclosed `{{` stays as it is. Scanned as UTF-8 bytes: pages fill dozens of
    /// these per request, and Foundation's `range(of:)` took a third of the home page's time.
    static func fill(_ text: String, _ value: (String) -> String) -> String {
        let bytes = Array(text.utf8)
        guard bytes.count >= 4 else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 32)
        var i = 0, copied = 0
        func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        while i + 1 < bytes.count {
            guard bytes[i] == UInt8(ascii: "{") && bytes[i + 1] == UInt8(ascii: "{") else { i += 1; continue }
            var close = i + 2
            while close + 1 < bytes.count && !(bytes[close] == UInt8(ascii: "}") && bytes[close + 1] == UInt8(ascii: "}")) { close += 1 }
            guard close + 1 < bytes.count else { break }
            var start = i + 2, end = close
            while start < end && isBlank(bytes[start]) { start += 1 }
            while end > start && isBlank(bytes[end - 1]) { end -= 1 }
            out += bytes[copied..<i]
            out += value(String(decoding: bytes[start..<end], as: UTF8.self)).utf8
            i = close + 2
            copied = i
        }
        guard copied > 0 else { return text }
        out += bytes[copied...]
        return String(decoding: out, as: UTF8.self)
    }
}

