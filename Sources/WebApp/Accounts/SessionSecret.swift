import Foundation

/// The HS256 signing secret: `ARTWORKER_JWT_SECRET` if set, else `<data>/jwt-secret`, created on
/// first start with 32 random bytes and mode 0600 (readable by the service's user only).
/// With a `shared` database (PostgreSQL: several nodes) only the environment will do: each
/// node's own file would sign sessions the others refuse.
enum SessionSecret {
    static func load(dataDirectory: URL, environment: [String: String], shared: Bool = false) throws -> [UInt8] {
        if let text = environment["ARTWORKER_JWT_SECRET"] {
            guard text.utf8.count >= 32 else { throw ConfigurationError("ARTWORKER_JWT_SECRET must be at least 32 characters") }
            return Array(text.utf8)
        }
        guard !shared else {
            throw ConfigurationError("with ARTWORKER_DATABASE_URL every node must sign sessions with the same secret: "
                                     + "set ARTWORKER_JWT_SECRET (at least 32 characters, e.g. `openssl rand -hex 32`) on all of them")
        }
        let path = dataDirectory.appendingPathComponent("jwt-secret").path
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count >= 32 else { throw ConfigurationError("\(path) holds fewer than 32 bytes; delete it to make a new one") }
            return [UInt8](data)
        }
        var generator = SystemRandomNumberGenerator() // getrandom(2) on Linux
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        // O_EXCL: if two processes race, one creates it and the other reads it.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST, let data = FileManager.default.contents(atPath: path), data.count >= 32 { return [UInt8](data) }
            throw ConfigurationError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        guard secret.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == secret.count, fsync(fd) == 0 else {
            throw ConfigurationError("cannot write \(path)")
        }
        return secret
    }
}
