import Foundation
import StorageCore
#if canImport(Glibc)
import Glibc
#endif

/// One query parameter as libpq takes it: NULL, text (PostgreSQL parses it by the parameter's
/// type), or raw bytes sent in binary format (for `bytea`, so pictures are not hex-encoded on
/// the way in).
public enum PostgresValue: Sendable {
    case null
    case text(String)
    case bytes(Data)
}

/// A Swift value that can be a query parameter.
public protocol PostgresEncodable: Sendable {
    var postgresValue: PostgresValue { get }
}

extension PostgresValue: PostgresEncodable { public var postgresValue: PostgresValue { self } }
extension String: PostgresEncodable { public var postgresValue: PostgresValue { .text(self) } }
extension Int: PostgresEncodable { public var postgresValue: PostgresValue { .text(String(self)) } }
extension Int64: PostgresEncodable { public var postgresValue: PostgresValue { .text(String(self)) } }
extension Double: PostgresEncodable {
    // The shortest text that reads back as the same Double (Swift's description round-trips).
    public var postgresValue: PostgresValue { .text(self.description) }
}
extension Bool: PostgresEncodable { public var postgresValue: PostgresValue { .text(self ? "t" : "f") } }
extension Data: PostgresEncodable { public var postgresValue: PostgresValue { .bytes(self) } }
extension Date: PostgresEncodable {
    public var postgresValue: PostgresValue { .text(PostgresTime.format(self)) }
}
extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresValue: PostgresValue { self?.postgresValue ?? .null }
}

/// `timestamptz` as text, in UTC (every session sets `TimeZone = 'UTC'`), to the microsecond
/// PostgreSQL keeps: "2026-12-05 11:36:13.123456+00".
enum PostgresTime {
    static func format(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        var seconds = Int(t.rounded(.down))
        var micros = Int(((t - Double(seconds)) * 1_000_000).rounded())
        if micros == 1_000_000 { seconds += 1; micros = 0 }
        var time = time_t(seconds), parts = tm()
        gmtime_r(&time, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let fraction = String(micros).count < 6 ? String(repeating: "0", count: 6 - String(micros).count) + String(micros) : String(micros)
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(fraction)+00"
    }

    /// Reads PostgreSQL's text form of a UTC `timestamptz` ("2026-12-05 11:36:13.12+00", the
    /// fraction optional).
    static func parse(_ bytes: some Collection<UInt8>) -> Date? {
        let b = Array(bytes)
        guard b.count >= 19 else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var n = 0
            for i in from..<(from + count) {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                n = n * 10 + Int(b[i] - 48)
            }
            return n
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) else { return nil }
        var fraction = 0.0, i = 19
        if i < b.count && b[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            while i < b.count, b[i] >= 48 && b[i] <= 57 { fraction += Double(b[i] - 48) * scale; scale /= 10; i += 1 }
        }
        // Only UTC is expected; an offset other than +00 means the session's time zone changed.
        guard i < b.count ? (b[i...].elementsEqual("+00".utf8)) : true else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return Date(timeIntervalSince1970: Double(timegm(&parts)) + fraction)
    }
}

/// A failure PostgreSQL reported for a statement (not a lost connection: that is
/// `StorageUnavailable`).
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// The SQLSTATE code ("23505" unique violation, "40001" serialization failure…).
    public var code: String
    public var message: String
    public var description: String { "PostgreSQL error \(code): \(message)" }

    var isUniqueViolation: Bool { code == "23505" }
}

/// The rows a statement returned, copied out of libpq's result (which is freed at once), by
/// column name.
public struct PostgresRows: Sendable {
    let columns: [String: Int]
    let values: [[[UInt8]?]]
    /// Rows a command changed (`UPDATE`, `DELETE`, `INSERT`), from PQcmdTuples.
    public let affected: Int

    public var count: Int { values.count }
    public var isEmpty: Bool { values.isEmpty }
    public var first: PostgresRow? { values.first.map { PostgresRow(columns: columns, values: $0) } }
    public var all: [PostgresRow] { values.map { PostgresRow(columns: columns, values: $0) } }
}

/// One row; each accessor throws when the column is missing or its text does not read as the
/// type asked (never a silent default).
public struct PostgresRow: Sendable {
    let columns: [String: Int]
    let values: [[UInt8]?]

    public struct DecodeError: Error, CustomStringConvertible {
        public var column: String
        public var type: String
        public var description: String { "column \(column) does not read as \(type)" }
    }

    func raw(_ column: String) throws -> [UInt8]? {
        guard let index = columns[column] else { throw DecodeError(column: column, type: "anything: there is no such column") }
        return values[index]
    }

    func required<T>(_ column: String, _ type: String, _ read: ([UInt8]) -> T?) throws -> T {
        guard let value = try optional(column, type, read) else { throw DecodeError(column: column, type: type + " (it is NULL)") }
        return value
    }

    func optional<T>(_ column: String, _ type: String, _ read: ([UInt8]) -> T?) throws -> T? {
        guard let bytes = try raw(column) else { return nil }
        guard let value = read(bytes) else { throw DecodeError(column: column, type: type) }
        return value
    }

    public func string(_ c: String) throws -> String { try required(c, "text") { String(decoding: $0, as: UTF8.self) } }
    public func string(optional c: String) throws -> String? { try optional(c, "text") { String(decoding: $0, as: UTF8.self) } }
    public func int(_ c: String) throws -> Int { try required(c, "an integer") { Int(String(decoding: $0, as: UTF8.self)) } }
    public func int(optional c: String) throws -> Int? { try optional(c, "an integer") { Int(String(decoding: $0, as: UTF8.self)) } }
    public func int64(_ c: String) throws -> Int64 { try required(c, "an integer") { Int64(String(decoding: $0, as: UTF8.self)) } }
    public func int64(optional c: String) throws -> Int64? { try optional(c, "an integer") { Int64(String(decoding: $0, as: UTF8.self)) } }
    public func double(_ c: String) throws -> Double { try required(c, "a number") { Double(String(decoding: $0, as: UTF8.self)) } }
    public func double(optional c: String) throws -> Double? { try optional(c, "a number") { Double(String(decoding: $0, as: UTF8.self)) } }
    public func bool(_ c: String) throws -> Bool { try required(c, "a boolean", Self.bool) }
    public func date(_ c: String) throws -> Date { try required(c, "a UTC timestamp", PostgresTime.parse) }
    public func date(optional c: String) throws -> Date? { try optional(c, "a UTC timestamp", PostgresTime.parse) }
    public func data(_ c: String) throws -> Data { try required(c, "bytea", Self.bytea) }
    public func data(optional c: String) throws -> Data? { try optional(c, "bytea", Self.bytea) }

    static func bool(_ bytes: [UInt8]) -> Bool? {
        bytes == [UInt8(ascii: "t")] ? true : bytes == [UInt8(ascii: "f")] ? false : nil
    }

    /// `bytea` in its text output form, hex ("\x" then two digits a byte: PostgreSQL's default
    /// `bytea_output`, which every session sets).
    static func bytea(_ bytes: [UInt8]) -> Data? {
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "\\"), bytes[1] == UInt8(ascii: "x"), bytes.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var out = Data(count: (bytes.count - 2) / 2)
        let ok = out.withUnsafeMutableBytes { (buffer: UnsafeMutableRawBufferPointer) -> Bool in
            var j = 0
            var i = 2
            while i < bytes.count {
                guard let high = nibble(bytes[i]), let low = nibble(bytes[i + 1]) else { return false }
                buffer[j] = high << 4 | low
                i += 2
                j += 1
            }
            return true
        }
        return ok ? out : nil
    }
}
