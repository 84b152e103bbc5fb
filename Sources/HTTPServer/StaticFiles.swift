import Foundation
import Synchronization

/// Files from one folder (`Public/`): content types, strong ETags with If-None-Match → 304,
/// Cache-Control, single byte ranges (RFC 9110 §14), streamed bodies for large files.
/// Paths arrive decoded and free of dot-segments (the parser sees to that); hidden files are
/// refused, and the resolved real path must stay inside the folder, so symlinks cannot lead out.
public struct StaticFiles: Sendable {
    public let root: URL
    public let cacheControl: String
    let realRoot: String
    let rootPath: String
    let cache = SmallFileCache()

    public init(root: URL, cacheControl: String = "public, max-age=3600") {
        self.root = root
        self.cacheControl = cacheControl
        realRoot = Self.realPath(root.path) ?? root.standardizedFileURL.path
        rootPath = root.path
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// `/static/<path>` serves `root/<path>`; `/robots.txt` and `/favicon.ico` are at the top.
    public func mount(on router: Router) {
        router.get("/static/*path") { request in try self.response(path: request.parameter("path") ?? "", request: request.http) }
        for file in ["robots.txt", "favicon.ico"] {
            router.get("/\(file)") { request in try self.response(path: file, request: request.http) }
        }
    }

    static let contentTypes: [String: String] = [
        "html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
        "json": "application/json", "txt": "text/plain; charset=utf-8", "svg": "image/svg+xml", "png": "image/png",
        "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp", "ico": "image/x-icon",
        "woff2": "font/woff2", "map": "application/json", "csv": "text/csv; charset=utf-8", "gpl": "text/plain; charset=utf-8",
    ]

    public func response(path: String, request: HTTPRequest) throws -> HTTPResponse {
        let segments = path.split(separator: "/")
        guard !segments.isEmpty, !segments.contains(where: { $0.hasPrefix(".") }) else { throw HTTPError(.notFound) }
        // Plain string joining: the segments are already decoded, non-empty and dot-free.
        let candidate = rootPath + "/" + segments.joined(separator: "/")
        // Fast path: a small file seen before, unchanged (same device, inode, size, mtime), so
        // the containment check it passed still holds; one stat instead of realpath + open + read.
        var info = stat()
        if stat(candidate, &info) == 0, let entry = cache.lookup(candidate, info) {
            return respond(entry, request: request)
        }
        guard let real = Self.realPath(candidate), real.hasPrefix(realRoot + "/") else { throw HTTPError(.notFound) }
        guard stat(real, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { throw HTTPError(.notFound) }
        let size = Int(info.st_size)
        // Strong validator from size and modification time (ns): changes whenever the file does.
        let etag = "\"\(String(size, radix: 16))-\(String(info.st_mtim.tv_sec, radix: 16))\(String(info.st_mtim.tv_nsec, radix: 16))\""
        let ext = (real as NSString).pathExtension.lowercased()
        let headers: HTTPHeaders = [
            "Content-Type": Self.contentTypes[ext] ?? "application/octet-stream",
            "ETag": etag, "Cache-Control": cacheControl, "Accept-Ranges": "bytes",
            "Last-Modified": httpDate(info.st_mtim.tv_sec),
        ]
        if size <= SmallFileCache.maxFileBytes, let stream = FileBodyStream(path: real, range: 0..<size) {
            let bytes = stream.read(max: size)
            stream.close()
            if bytes.count == size {
                let entry = SmallFileCache.Entry(identity: .init(info), headers: headers, etag: etag, bytes: bytes)
                cache.store(candidate, entry)
                return respond(entry, request: request)
            }
        }
        return try respond(real: real, size: size, etag: etag, headers: headers, request: request)
    }

    /// A cached small file, with conditional and range handling.
    func respond(_ entry: SmallFileCache.Entry, request: HTTPRequest) -> HTTPResponse {
        (try? respond(real: nil, size: entry.bytes.count, etag: entry.etag, headers: entry.headers,
                      request: request, bytes: entry.bytes)) ?? HTTPResponse(status: .internalServerError)
    }

    func respond(real: String?, size: Int, etag: String, headers: HTTPHeaders, request: HTTPRequest,
                 bytes: [UInt8]? = nil) throws -> HTTPResponse {
        var headers = headers
        if request.headers.noneMatchFails(etag) {
            return HTTPResponse(status: .notModified, headers: headers)
        }
        let (range, status) = Self.selectRange(request: request, etag: etag, size: size, headers: &headers)
        guard status != .rangeNotSatisfiable else { return HTTPResponse(status: status, headers: headers) }
        if let bytes {
            return HTTPResponse(status: status, headers: headers, body: Array(bytes[range]))
        }
        guard let real, let stream = FileBodyStream(path: real, range: range) else { throw HTTPError(.notFound) }
        var response = HTTPResponse(status: status, headers: headers)
        if range.count <= 64 * 1024 {
            response.body = stream.read(max: range.count)
            stream.close()
            guard response.body.count == range.count else { throw HTTPError(.internalServerError, "file changed while reading") }
        } else {
            response.stream = stream
        }
        return response
    }

    /// What of `size` bytes to send: all (200), the one range asked for (206, Content-Range
    /// set), or nothing (416). Range (RFC 9110 §14.2): one "bytes=" range; If-Range must match
    /// the ETag exactly.
    static func selectRange(request: HTTPRequest, etag: String, size: Int, headers: inout HTTPHeaders) -> (Range<Int>, HTTPStatus) {
        guard let header = request.headers["Range"], request.headers["If-Range"].map({ $0 == etag }) ?? true else {
            return (0..<size, .ok)
        }
        switch byteRange(header, size: size) {
        case .some(.some(let r)):
            headers.set("Content-Range", "bytes \(r.lowerBound)-\(r.upperBound - 1)/\(size)")
            return (r, .partialContent)
        case .some(.none):
            headers.set("Content-Range", "bytes */\(size)")
            return (0..<0, .rangeNotSatisfiable)
        case .none:
            return (0..<size, .ok) // not a single byte range: the whole body (a server MAY ignore Range)
        }
    }

    /// `nil`: not a usable single range (ignore it); `.some(nil)`: unsatisfiable; else the range.
    static func byteRange(_ header: String, size: Int) -> Range<Int>?? {
        let value = header.trimmingWhitespace()
        guard value.lowercased().hasPrefix("bytes="), !value.contains(",") else { return nil }
        let spec = value.dropFirst(6).trimmingWhitespace()
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let first = parts[0].isEmpty ? nil : Int(parts[0]), last = parts[1].isEmpty ? nil : Int(parts[1])
        if !parts[0].isEmpty && first == nil || !parts[1].isEmpty && last == nil { return nil }
        switch (first, last) {
        case let (start?, end):
            guard start < size else { return .some(nil) }
            let stop = min(end ?? size - 1, size - 1)
            guard stop >= start else { return nil }
            return .some(start..<(stop + 1))
        case let (nil, suffix?):
            guard suffix > 0, size > 0 else { return .some(nil) }
            return .some(max(0, size - suffix)..<size)
        default:
            return nil
        }
    }
}

/// Reads a byte range of a file with pread, so the descriptor has no shared offset.
/// Unchecked Sendable: used by one connection at a time, on its loop thread.
final class FileBodyStream: BodyStream, @unchecked Sendable {
    let fd: Int32
    let length: Int
    private var offset: Int
    private var closed = false

    init?(path: String, range: Range<Int>) {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        offset = range.lowerBound
        length = range.count
    }

    deinit { close() }

    func read(max: Int) -> [UInt8] {
        guard !closed, max > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: max)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, max, off_t(offset)) }
        guard n > 0 else { return [] }
        offset += n
        return n == max ? buffer : Array(buffer[0..<n])
    }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }
}

/// Small static files kept in memory, keyed by requested path and checked against the file's
/// identity on every hit. Bounded in entries and bytes; the oldest entries go first.
final class SmallFileCache: Sendable {
    static let maxFileBytes = 64 * 1024
    static let maxEntries = 256
    static let maxTotalBytes = 16 * 1024 * 1024

    struct Identity: Equatable {
        var device: UInt64, inode: UInt64, size: Int, seconds: Int, nanoseconds: Int
        init(_ s: stat) {
            device = UInt64(s.st_dev)
            inode = UInt64(s.st_ino)
            size = Int(s.st_size)
            seconds = Int(s.st_mtim.tv_sec)
            nanoseconds = Int(s.st_mtim.tv_nsec)
        }
    }

    struct Entry: Sendable {
        var identity: Identity
        var headers: HTTPHeaders
        var etag: String
        var bytes: [UInt8]
    }

    private let state = Mutex<(entries: [String: Entry], order: [String], bytes: Int)>(([:], [], 0))

    func lookup(_ path: String, _ info: stat) -> Entry? {
        guard (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        let identity = Identity(info)
        return state.withLock { state in
            guard let entry = state.entries[path], entry.identity == identity else { return nil }
            return entry
        }
    }

    func store(_ path: String, _ entry: Entry) {
        state.withLock { state in
            if let old = state.entries.removeValue(forKey: path) {
                state.bytes -= old.bytes.count
                state.order.removeAll { $0 == path }
            }
            while state.order.count >= Self.maxEntries || state.bytes + entry.bytes.count > Self.maxTotalBytes,
                  !state.order.isEmpty {
                let evicted = state.order.removeFirst()
                state.bytes -= state.entries.removeValue(forKey: evicted)?.bytes.count ?? 0
            }
            state.entries[path] = entry
            state.order.append(path)
            state.bytes += entry.bytes.count
        }
    }
}

extension HTTPResponse {
    /// Bytes held in memory (a stored clip), whole or as the one range asked for, the same way
    /// static files are answered: players seek with Range requests (RFC 9110 §14).
    public static func ranged(_ bytes: [UInt8], etag: String, headers: HTTPHeaders, request: HTTPRequest) -> HTTPResponse {
        var headers = headers
        headers.set("Accept-Ranges", "bytes")
        let (range, status) = StaticFiles.selectRange(request: request, etag: etag, size: bytes.count, headers: &headers)
        guard status != .rangeNotSatisfiable else { return HTTPResponse(status: status, headers: headers) }
        return HTTPResponse(status: status, headers: headers, body: status == .ok ? bytes : Array(bytes[range]))
    }
}
