import CZlib

/// gzip for text responses when the client accepts it (RFC 9110 §8.4.1, §12.5.3).
enum ContentCoding {
    /// Worth compressing: text, JSON, JavaScript, SVG, XML of at least 1 KiB.
    static func compressible(_ response: HTTPResponse) -> Bool {
        guard response.body.count >= 1024, !response.headers.contains("Content-Encoding"),
              let type = response.headers["Content-Type"]?.lowercased() else { return false }
        return type.hasPrefix("text/") || type.hasPrefix("application/json") || type.hasPrefix("application/javascript")
            || type.hasPrefix("image/svg+xml") || type.hasPrefix("application/xml")
    }

    /// Whether Accept-Encoding allows gzip: listed (or "*") without q=0.
    static func acceptsGzip(_ headers: HTTPHeaders) -> Bool {
        var gzip: Bool? = nil, wildcard: Bool? = nil
        for value in headers.values("Accept-Encoding") {
            for item in value.split(separator: ",") {
                let parts = item.split(separator: ";").map { $0.trimmingWhitespace() }
                guard let coding = parts.first?.lowercased() else { continue }
                let q = parts.dropFirst().first { $0.lowercased().hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
                if coding == "gzip" || coding == "x-gzip" { gzip = q > 0 }
                if coding == "*" { wildcard = q > 0 }
            }
        }
        return gzip ?? wildcard ?? false
    }

    /// The gzip-encoded response, or nil when it should be sent as is.
    static func negotiate(_ requestHeaders: HTTPHeaders, response: HTTPResponse) -> HTTPResponse? {
        guard compressible(response) else { return nil }
        var response = response
        // Caches must keep the two forms apart whether or not this client gets gzip.
        // One Vary line, added to what the response already varies on (RFC 9110 §12.5.5).
        if let vary = response.headers["Vary"], !vary.isEmpty {
            response.headers.set("Vary", vary + ", Accept-Encoding")
        } else {
            response.headers.set("Vary", "Accept-Encoding")
        }
        guard acceptsGzip(requestHeaders), let compressed = gzip(response.body), compressed.count < response.body.count else {
            return response
        }
        response.body = compressed
        response.headers.set("Content-Encoding", "gzip")
        return response
    }

    /// gzip container (RFC 1952) through zlib's deflate with windowBits 15 + 16.
    static func gzip(_ data: [UInt8], level: Int32 = 6) -> [UInt8]? {
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(data.count))) + 32)
        let status: Int32 = data.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }
}
