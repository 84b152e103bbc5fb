import Foundation

/// The shared test data (`../shared` beside the checkout, or `$ARTWORKER_SHARED`).
public enum SharedData {
    public static var root: URL {
        if let path = ProcessInfo.processInfo.environment["ARTWORKER_SHARED"] {
            return URL(fileURLWithPath: path)
        }
        // Tests/TestSupport/TestSupport.swift → package root → ../shared
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }

    /// The checkout's root folder.
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    public static func url(_ relativePath: String) -> URL { root.appendingPathComponent(relativePath) }

    public static func bytes(_ relativePath: String) throws -> [UInt8] {
        let url = url(relativePath)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw MissingTestData(path: url.path)
        }
        return [UInt8](data)
    }
}

public struct MissingTestData: Error, CustomStringConvertible {
    public let path: String
    public var description: String { "missing test data \(path); set ARTWORKER_SHARED to the shared folder" }
}

/// A reproducible pseudo-random source (SplitMix64), so any failure can be replayed.
public struct SeededRandom: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// n values uniform in [−scale, scale].
    public mutating func floats(_ n: Int, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in Float.random(in: -scale...scale, using: &self) }
    }
}

/// A blocking test client on a real loopback socket.
public final class LoopbackClient {
    public let fd: Int32
    public var buffer: [UInt8] = []

    /// `source`: the local address to connect from (any of 127.0.0.0/8), so a test can be
    /// several clients at different addresses.
    public init(port: Int, timeout: Double = 5, source: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { close(fd); throw ClientError.connect }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { close(fd); throw ClientError.connect }
    }

    deinit { close(fd) }

    public enum ClientError: Error { case connect, closed, timeout }

    public func send(_ text: String) { send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads more bytes; false on EOF, timeout or reset.
    @discardableResult
    public func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        if n <= 0 { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    public struct Response {
        public var status: Int
        public var headers: [String: String]
        public var body: String
        public var bodyBytes: [UInt8]
        /// Every Set-Cookie line (`headers` keeps one value per name).
        public var setCookies: [String] = []
    }

    /// Reads one response (Content-Length framed, or to EOF when there is none).
    public func response(method: String = "GET") throws -> Response {
        while true {
            if let end = buffer.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: buffer[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
                var headers: [String: String] = [:]
                var setCookies: [String] = []
                for line in head.dropFirst() {
                    let parts = line.split(separator: ":", maxSplits: 1)
                    let value = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
                    headers[parts[0].lowercased()] = value
                    if parts[0].lowercased() == "set-cookie" { setCookies.append(value) }
                }
                let status = Int(head[0].split(separator: " ")[1])!
                let length = (method == "HEAD" || status == 100) ? 0 : Int(headers["content-length"] ?? "0")!
                while buffer.count < end.upperBound + length { guard fill() else { throw ClientError.closed } }
                let bytes = Array(buffer[end.upperBound..<(end.upperBound + length)])
                buffer.removeFirst(end.upperBound + length)
                return Response(status: status, headers: headers, body: String(decoding: bytes, as: UTF8.self), bodyBytes: bytes,
                                setCookies: setCookies)
            }
            guard fill() else { throw ClientError.closed }
        }
    }

    /// Whether a read would not block now (bytes waiting, EOF or reset).
    public func isReadable() -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) == 1
    }

    /// Whether the server closed the connection (EOF) within the receive timeout.

    public func isClosedByServer() -> Bool {
        while fill() {}
        var chunk = [UInt8](repeating: 0, count: 16)
        return recv(fd, &chunk, chunk.count, 0) == 0
    }
}


/// Polls `condition` until it holds or `seconds` pass. Tests wait for the state they need
/// instead of sleeping a fixed time: the suites run in parallel on two cores, and a sleep that is
/// long enough alone is not long enough under that load.
public func eventually(within seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() > deadline { return false }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return true
}

/// A multipart/form-data body (RFC 7578).
public struct MultipartBody {
    public static let boundary = "artworker-test-7f3a9c"
    public var bytes: [UInt8] = []

    /// `files` go in fields called `field` ("image" for conversions, "frames" or "csv" for movies).
    public init(files: [(filename: String, bytes: [UInt8])] = [], fields: [(String, String)] = [], field: String = "image") {
        for (name, value) in fields {
            bytes += Array("--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        for file in files {
            bytes += Array("--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"; filename=\"\(file.filename)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
            bytes += file.bytes + Array("\r\n".utf8)
        }
        bytes += Array("--\(Self.boundary)--\r\n".utf8)
    }
}

