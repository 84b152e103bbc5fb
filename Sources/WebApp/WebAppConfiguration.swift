import Foundation
import HTTPServer

/// Everything the service can be told, with defaults that run on a laptop: loopback only,
/// data under ./data. Set by `artworker serve` flags or ARTWORKER_* environment variables.
public struct WebAppConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// SQLite database and secrets live here.
    public var dataDirectory = URL(fileURLWithPath: "data")
    /// A PostgreSQL URL (`postgres://…`, ARTWORKER_DATABASE_URL): every node and worker shares
    /// that database instead of the SQLite file in `dataDirectory`. libpq reads it, so several
    /// hosts and `target_session_attrs=read-write` work as its documentation says.
    public var databaseURL: String?
    /// An S3-compatible object store for pictures' bytes (`s3://BUCKET?endpoint=…&region=…`,
    /// ARTWORKER_BLOB_URL; credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or
    /// nil: in the database.
    public var blobURL: String?
    /// Static files served under /static/.
    public var publicDirectory = URL(fileURLWithPath: "Public")
    public var templatesDirectory = URL(fileURLWithPath: "Templates")
    /// The converted CartoonGAN models (`<style>.safetensors`, made by `artworker import-weights`).
    public var weightsDirectory = URL(fileURLWithPath: "Weights")
    /// Threads one conversion uses (one conversion runs at a time).
    public var conversionThreads = ProcessInfo.processInfo.activeProcessorCount
    /// Conversions waiting or running before the service answers 503.
    public var maxQueuedConversions = 16
    /// Conversions one member (or one visitor address) may have waiting or running (429 past it).
    public var maxQueuedPerMember = 3
    /// Workers `serve` runs beside the web server (each: one conversion and one movie
    /// analysis at a time); 0 makes a web-only node that leaves jobs to `artworker worker`.
    public var workers = 1
    /// Seconds a worker's claim on a job lasts unless renewed (it renews every second or so):
    /// how long a job waits after its worker died before another takes it.
    public var jobLease: TimeInterval = 15
    /// Claims a job may use up before it fails as "interrupted": each run cut short (a worker
    /// killed or hung) costs one. Guards the workers against a job that kills them every time.
    public var jobAttempts = 3
    /// Bytes of pixel memory uploads may hold while being decoded, all requests together; the
    /// rest wait their turn (16 at most, then 503).
    public var decodeMemory = 512 * 1024 * 1024
    /// How long anonymous visitors' results are kept.
    public var anonymousLifetime: TimeInterval = 3600
    public var server = HTTPServerConfiguration()
    /// Where `/metrics` (Prometheus text) listens: a listener of its own, loopback by default so
    /// only this machine (its Prometheus, an SSH tunnel) reads it. No port: no listener (what
    /// `artworker serve` gets unless told otherwise is 9464; 0 takes any free port).
    public var metricsHost = "127.0.0.1"
    public var metricsPort: Int?
    /// bcrypt cost (log2 rounds): 12 ≈ 0.17 s of one core here.
    public var bcryptCost = 12
    /// Mark cookies Secure (set when the service is reached over HTTPS, e.g. behind a proxy).
    public var secureCookies = false
    /// Whether conversion workers make the home page's examples (ARTWORKER_EXAMPLES=off to
    /// skip them, e.g. on a fleet of workers where one is enough).
    public var makeExamples = true
    /// The address people reach the service at, e.g. "https://art.example.org" (no trailing
    /// slash): what "Copy link" and link previews give out. Without it, the request's Host.
    public var publicURL: String?
    /// The environment the service started with (ARTWORKER_JWT_SECRET and the object store's
    /// credentials are read from it).
    public var environment: [String: String] = [:]

    public init() {}

    /// Applies the ARTWORKER_* variables (the README's table lists them).
    public mutating func apply(environment: [String: String]) throws {
        func number(_ key: String) throws -> Double? {
            guard let text = environment[key] else { return nil }
            guard let value = Double(text), value > 0 else { throw ConfigurationError("\(key) must be a positive number, not '\(text)'") }
            return value
        }
        if let host = environment["ARTWORKER_HOST"] { self.host = host }
        if let port = try number("ARTWORKER_PORT") { self.port = Int(port) }
        if let data = environment["ARTWORKER_DATA"] { dataDirectory = URL(fileURLWithPath: data) }
        if let url = environment["ARTWORKER_DATABASE_URL"], !url.isEmpty {
            guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
                throw ConfigurationError("ARTWORKER_DATABASE_URL must be a PostgreSQL URL (postgres://user@host:port/database); "
                                         + "leave it unset for the SQLite file in the data folder")
            }
            databaseURL = url
        }
        if let url = environment["ARTWORKER_BLOB_URL"], !url.isEmpty {
            guard url.hasPrefix("s3://") else {
                throw ConfigurationError("ARTWORKER_BLOB_URL must be an S3 URL (s3://BUCKET?endpoint=https://HOST&region=REGION); "
                                         + "leave it unset to keep pictures in the database")
            }
            blobURL = url
        }
        if let n = try number("ARTWORKER_MAX_CONNECTIONS") { server.maxConnections = Int(n) }
        if let n = try number("ARTWORKER_MAX_BODY_BYTES") { server.limits.maxBodyBytes = Int(n) }
        if let n = try number("ARTWORKER_HEADER_TIMEOUT") { server.headerTimeout = n }
        if let n = try number("ARTWORKER_IDLE_TIMEOUT") { server.idleTimeout = n }
        if let n = try number("ARTWORKER_BCRYPT_COST") { bcryptCost = Int(n) }
        if let weights = environment["ARTWORKER_WEIGHTS"] { weightsDirectory = URL(fileURLWithPath: weights) }
        if let n = try number("ARTWORKER_THREADS") { conversionThreads = Int(n) }
        if let n = try number("ARTWORKER_MAX_QUEUED") { maxQueuedConversions = Int(n) }
        if let n = try number("ARTWORKER_MAX_QUEUED_PER_MEMBER") { maxQueuedPerMember = Int(n) }
        if let text = environment["ARTWORKER_WORKERS"] {
            guard let n = Int(text) else { throw ConfigurationError("ARTWORKER_WORKERS must be a whole number, not '\(text)'") }
            workers = n
        }
        if let n = try number("ARTWORKER_JOB_LEASE") { jobLease = n }
        if let n = try number("ARTWORKER_JOB_ATTEMPTS") { jobAttempts = Int(n) }
        if let n = try number("ARTWORKER_ANONYMOUS_LIFETIME") { anonymousLifetime = n }
        if let n = try number("ARTWORKER_DECODE_MEMORY") { decodeMemory = Int(n) }
        if let n = try number("ARTWORKER_MAX_CONNECTIONS_PER_ADDRESS") { server.maxConnectionsPerAddress = Int(n) }
        if let n = try number("ARTWORKER_MAX_BODY_BYTES_IN_FLIGHT") { server.maxBodyBytesInFlight = Int(n) }
        if let n = try number("ARTWORKER_BODY_TIMEOUT") { server.bodyTimeout = n }
        if let n = try number("ARTWORKER_MIN_BODY_RATE") { server.minBodyRate = n }
        if let text = environment["ARTWORKER_PUBLIC_URL"] {
            guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil,
                  url.query == nil, url.fragment == nil else {
                throw ConfigurationError("ARTWORKER_PUBLIC_URL must be an http(s) address such as https://art.example.org, not '\(text)'")
            }
            publicURL = text.hasSuffix("/") ? String(text.dropLast()) : text
        }
        if let text = environment["ARTWORKER_EXAMPLES"] {
            guard let on = ["on": true, "off": false][text.lowercased()] else {
                throw ConfigurationError("ARTWORKER_EXAMPLES must be on or off, not '\(text)'")
            }
            makeExamples = on
        }
        if let host = environment["ARTWORKER_METRICS_HOST"] { metricsHost = host }
        if let text = environment["ARTWORKER_METRICS_PORT"] {
            if text.lowercased() == "off" {
                metricsPort = nil
            } else {
                guard let port = Int(text) else { throw ConfigurationError("ARTWORKER_METRICS_PORT must be a port number or off, not '\(text)'") }
                metricsPort = port
            }
        }
        if let flag = environment["ARTWORKER_SECURE_COOKIES"] { secureCookies = ["1", "true", "yes"].contains(flag.lowercased()) }
        self.environment = environment
    }

    public func validate() throws {
        guard (0...65535).contains(port) else { throw ConfigurationError("port \(port) is outside 0–65535") }
        guard !host.isEmpty else { throw ConfigurationError("host is empty") }
        if let metricsPort, !(0...65535).contains(metricsPort) { throw ConfigurationError("metrics port \(metricsPort) is outside 0–65535") }
        guard (1...256).contains(conversionThreads) else { throw ConfigurationError("conversion threads \(conversionThreads) is outside 1–256") }
        guard maxQueuedConversions >= 1 else { throw ConfigurationError("the conversion queue needs room for at least one job") }
        guard (0...64).contains(workers) else { throw ConfigurationError("workers \(workers) is outside 0–64") }
        guard jobAttempts >= 1 else { throw ConfigurationError("a job needs at least one attempt") }
        guard jobLease >= 2 else { throw ConfigurationError("a job lease of \(jobLease) s is too short (at least 2)") }
        guard (4...20).contains(bcryptCost) else { throw ConfigurationError("bcrypt cost \(bcryptCost) is outside 4–20") }
    }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
