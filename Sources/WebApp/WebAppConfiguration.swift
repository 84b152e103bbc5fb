import Foundation
import HTTPServer

/// Everything the service can be told, with defaults that run on a laptop: loopback only,
/// data under ./data. Set by `artworker serve` flags or ARTWORKER_* environment variables.
public struct WebAppConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// SQLite database and secrets live here.
    public var dataDirectory = URL(fileURLWithPath: "data")
    /// Static files served under /static/.
    public var publicDirectory = URL(fileURLWithPath: "Public")
    public var templatesDirectory = URL(fileURLWithPath: "Templates")
    public var server = HTTPServerConfiguration()

    public init() {}

    /// Applies ARTWORKER_HOST, ARTWORKER_PORT, ARTWORKER_DATA, ARTWORKER_MAX_CONNECTIONS,
    /// ARTWORKER_MAX_BODY_BYTES, ARTWORKER_HEADER_TIMEOUT, ARTWORKER_IDLE_TIMEOUT.
    public mutating func apply(environment: [String: String]) throws {
        func number(_ key: String) throws -> Double? {
            guard let text = environment[key] else { return nil }
            guard let value = Double(text), value > 0 else { throw ConfigurationError("\(key) must be a positive number, not '\(text)'") }
            return value
        }
        if let host = environment["ARTWORKER_HOST"] { self.host = host }
        if let port = try number("ARTWORKER_PORT") { self.port = Int(port) }
        if let data = environment["ARTWORKER_DATA"] { dataDirectory = URL(fileURLWithPath: data) }
        if let n = try number("ARTWORKER_MAX_CONNECTIONS") { server.maxConnections = Int(n) }
        if let n = try number("ARTWORKER_MAX_BODY_BYTES") { server.limits.maxBodyBytes = Int(n) }
        if let n = try number("ARTWORKER_HEADER_TIMEOUT") { server.headerTimeout = n }
        if let n = try number("ARTWORKER_IDLE_TIMEOUT") { server.idleTimeout = n }
    }

    public func validate() throws {
        guard (0...65535).contains(port) else { throw ConfigurationError("port \(port) is outside 0–65535") }
        guard !host.isEmpty else { throw ConfigurationError("host is empty") }
    }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
