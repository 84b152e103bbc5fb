import CLibPQ
import Foundation
import StorageCore
#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection. Not for two threads at once: the pool lends each to one caller.
// Unchecked: the PGconn is used by one thread at a time, which the pool guarantees.
public final class PostgresConnection: @unchecked Sendable {
    private let connection: OpaquePointer

    /// Connects with a libpq connection string or URL (`postgres://…`; several hosts and
    /// `target_session_attrs=read-write` work as libpq documents), then sets the session up.
    init(url: String) throws {
        guard let connection = PQconnectdb(url) else { throw StorageUnavailable("libpq could not allocate a connection") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = Self.trimmed(PQerrorMessage(connection))
            PQfinish(connection)
            throw StorageUnavailable(reason)
        }
        self.connection = connection
        // libpq prints notices (e.g. "relation already exists, skipping") to stderr by default.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        // Times are written and read as UTC text; bytea is read in hex (PostgresRow.bytea).
        _ = try execute("SET TIME ZONE 'UTC'; SET bytea_output = 'hex'")
    }

    deinit { PQfinish(connection) }

    /// Statements sent on this connection so far (the pool retries only a first one).
    private(set) var statementsSent = 0

    /// Whether libpq still believes the connection works (false after the server went away).
    var isUsable: Bool { PQstatus(connection) == CONNECTION_OK }

    static func trimmed(_ text: UnsafePointer<CChar>?) -> String {
        text.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "unknown error"
    }

    /// Runs one statement with `$1`, `$2` … parameters (or, with none, possibly several
    /// statements). Text parameters go as text, `Data` in binary; results come back as text.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [any PostgresEncodable] = []) throws -> PostgresRows {
        let result: OpaquePointer?
        statementsSent += 1
        if parameters.isEmpty {
            result = PQexec(connection, sql)
        } else {
            // libpq copies the parameters before PQexecParams returns, so these buffers live
            // exactly as long as the call.
            var buffers: [UnsafeMutableRawPointer?] = []
            var lengths: [Int32] = []
            var formats: [Int32] = []
            defer { for buffer in buffers { free(buffer) } }
            for parameter in parameters {
                switch parameter.postgresValue {
                case .null:
                    buffers.append(nil); lengths.append(0); formats.append(0)
                case let .text(text):
                    buffers.append(UnsafeMutableRawPointer(strdup(text))); lengths.append(0); formats.append(0)
                case let .bytes(data):
                    let buffer = malloc(max(data.count, 1))
                    data.withUnsafeBytes { if let base = $0.baseAddress { buffer?.copyMemory(from: base, byteCount: data.count) } }
                    buffers.append(buffer); lengths.append(Int32(data.count)); formats.append(1)
                }
            }
            let pointers = buffers.map { $0.map { UnsafePointer($0.assumingMemoryBound(to: CChar.self)) } }
            result = PQexecParams(connection, sql, Int32(parameters.count), nil, pointers, lengths, formats, 0)
        }
        guard let result else { throw StorageUnavailable(Self.trimmed(PQerrorMessage(connection))) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
            return Self.copy(result)
        default:
            let code = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
            let message = Self.trimmed(PQresultErrorMessage(result))
            // Class 08 (connection exception), 57P01–57P03 (the server shutting down or still
            // starting), or a connection libpq has given up on: the database is away, not the
            // statement wrong.
            if !isUsable || code.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(code) {
                throw StorageUnavailable(message)
            }
            throw PostgresError(code: code, message: message)
        }
    }

    /// Waits up to `timeout` seconds for notifications on channels this connection LISTENs to;
    /// returns how many arrived (0 on timeout). Throws StorageUnavailable when the connection
    /// is gone, so the listener can connect again.
    func notifications(timeout: TimeInterval) throws -> Int {
        let socket = PQsocket(connection)
        guard socket >= 0 else { throw StorageUnavailable("the notification connection is closed") }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, Int32(timeout * 1000))
        if ready < 0 && errno != EINTR { throw StorageUnavailable("poll failed: \(String(cString: strerror(errno)))") }
        if ready > 0 {
            guard PQconsumeInput(connection) == 1 else { throw StorageUnavailable(Self.trimmed(PQerrorMessage(connection))) }
        }
        var count = 0
        while let notification = PQnotifies(connection) {
            PQfreemem(notification)
            count += 1
        }
        return count
    }

    private static func copy(_ result: OpaquePointer) -> PostgresRows {
        let rowCount = Int(PQntuples(result)), columnCount = Int(PQnfields(result))
        var columns: [String: Int] = [:]
        for c in 0..<columnCount { columns[String(cString: PQfname(result, Int32(c)))] = c }
        var values: [[[UInt8]?]] = []
        values.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            var row: [[UInt8]?] = []
            row.reserveCapacity(columnCount)
            for c in 0..<columnCount {
                if PQgetisnull(result, Int32(r), Int32(c)) == 1 {
                    row.append(nil)
                } else {
                    let length = Int(PQgetlength(result, Int32(r), Int32(c)))
                    let start = UnsafeRawPointer(PQgetvalue(result, Int32(r), Int32(c))!)
                    row.append(Array(UnsafeRawBufferPointer(start: start, count: length)))
                }
            }
            values.append(row)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresRows(columns: columns, values: values, affected: affected)
    }
}
