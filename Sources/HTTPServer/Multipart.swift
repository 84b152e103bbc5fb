/// One part of a `multipart/form-data` body (RFC 7578).
public struct FormPart: Sendable {
    public var name: String
    /// Present for file fields (may be empty when no file was chosen).
    public var filename: String?
    public var contentType: String?
    public var data: [UInt8]

    public var text: String { String(decoding: data, as: UTF8.self) }
}

/// Bounds on a multipart body; the whole body is already bounded by the route's body limit.
public struct MultipartLimits: Sendable {
    public var maxParts = 64
    public var maxPartBytes = 25 * 1024 * 1024
    public var maxPartHeaderBytes = 8 * 1024

    public init(maxParts: Int = 64, maxPartBytes: Int = 25 * 1024 * 1024) {
        self.maxParts = maxParts
        self.maxPartBytes = maxPartBytes
    }
}

/// Splits a multipart/form-data body at its boundary (RFC 2046 §5.1.1) and reads each part's
/// Content-Disposition (RFC 7578 §4.2). Malformed bodies are 400, over-limit ones 413.
public enum Multipart {
    /// The boundary parameter of a multipart/form-data Content-Type, or nil.
    public static func boundary(contentType: String) -> String? {
        let parts = contentType.split(separator: ";").map { $0.trimmingWhitespace() }
        guard parts.first?.lowercased() == "multipart/form-data" else { return nil }
        for parameter in parts.dropFirst() {
            let kv = parameter.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, kv[0].trimmingWhitespace().lowercased() == "boundary" else { continue }
            var value = kv[1].trimmingWhitespace()
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
            // 1–70 characters (RFC 2046 §5.1.1).
            return (1...70).contains(value.count) ? String(value) : nil
        }
        return nil
    }

    public static func parse(_ body: [UInt8], boundary: String, limits: MultipartLimits = MultipartLimits()) throws -> [FormPart] {
        let delimiter = Array("--\(boundary)".utf8)
        let crlf: [UInt8] = [13, 10]
        guard var position = find(delimiter, in: body, from: 0) else { throw HTTPError(.badRequest, "multipart body without its boundary") }
        var parts: [FormPart] = []
        while true {
            position += delimiter.count
            // "--" after a delimiter closes the body.
            if body.count >= position + 2, body[position] == 45, body[position + 1] == 45 { return parts }
            // Transport padding, then CRLF.
            while position < body.count, body[position] == 32 || body[position] == 9 { position += 1 }
            guard body.count >= position + 2, Array(body[position..<(position + 2)]) == crlf else {
                throw HTTPError(.badRequest, "malformed multipart delimiter")
            }
            position += 2
            guard parts.count < limits.maxParts else { throw HTTPError(.contentTooLarge, "more than \(limits.maxParts) form parts") }
            guard let headerEnd = find([13, 10, 13, 10], in: body, from: position, limit: limits.maxPartHeaderBytes + 4)
                    ?? (body[position...].starts(with: crlf) ? position - 2 : nil) else {
                throw HTTPError(.badRequest, "multipart part without a header section")
            }
            let headerText = String(decoding: body[position..<max(position, headerEnd)], as: UTF8.self)
            let dataStart = headerEnd + 4
            guard let next = find([13, 10] + delimiter, in: body, from: dataStart - 2) else {
                throw HTTPError(.badRequest, "multipart body ends without its closing boundary")
            }
            let data = next >= dataStart ? Array(body[dataStart..<next]) : []
            guard data.count <= limits.maxPartBytes else { throw HTTPError(.contentTooLarge, "a form part is over \(limits.maxPartBytes) bytes") }
            parts.append(try part(headers: headerText, data: data))
            position = next + 2
        }
    }

    static func part(headers: String, data: [UInt8]) throws -> FormPart {
        var name: String?, filename: String?, contentType: String?
        for line in headers.split(separator: "\r\n") {
            let kv = line.split(separator: ":", maxSplits: 1)
            guard kv.count == 2 else { throw HTTPError(.badRequest, "malformed part header") }
            let field = kv[0].trimmingWhitespace(), value = kv[1].trimmingWhitespace()
            if field.caseInsensitiveEquals("Content-Disposition") {
                let parameters = dispositionParameters(value)
                guard parameters.type == "form-data" else { throw HTTPError(.badRequest, "part is not form-data") }
                name = parameters.values["name"]
                filename = parameters.values["filename"]
            } else if field.caseInsensitiveEquals("Content-Type") {
                contentType = String(value)
            }
        }
        guard let name else { throw HTTPError(.badRequest, "form part without a name") }
        return FormPart(name: name, filename: filename, contentType: contentType, data: data)
    }

    /// `form-data; name="a"; filename="b.jpg"` → type and parameters (quoted strings unescaped).
    static func dispositionParameters<S: StringProtocol>(_ value: S) -> (type: String, values: [String: String]) {
        var values: [String: String] = [:]
        var chars = Array(value)[...]
        var type = ""
        while let c = chars.first, c != ";" { type.append(c); chars.removeFirst() }
        while !chars.isEmpty {
            chars.removeFirst() // ';'
            while chars.first == " " || chars.first == "\t" { chars.removeFirst() }
            var key = ""
            while let c = chars.first, c != "=", c != ";" { key.append(c); chars.removeFirst() }
            guard chars.first == "=" else { continue }
            chars.removeFirst()
            var v = ""
            if chars.first == "\"" {
                chars.removeFirst()
                while let c = chars.popFirst(), c != "\"" {
                    if c == "\\", let escaped = chars.popFirst() { v.append(escaped) } else { v.append(c) }
                }
                while let c = chars.first, c != ";" { chars.removeFirst() }
            } else {
                while let c = chars.first, c != ";" { v.append(c); chars.removeFirst() }
            }
            values[key.trimmingWhitespace().lowercased()] = String(v.trimmingWhitespace())
        }
        return (type.trimmingWhitespace().lowercased(), values)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int, limit: Int = .max) -> Int? {
        guard !needle.isEmpty, start >= 0 else { return nil }
        let (reach, overflow) = start.addingReportingOverflow(limit)
        let end = min(haystack.count - needle.count, overflow ? Int.max : reach)
        guard end >= start else { return nil }
        let first = needle[0]
        var i = start
        while i <= end {
            if haystack[i] == first && haystack[(i + 1)..<(i + needle.count)].elementsEqual(needle[1...]) { return i }
            i += 1
        }
        return nil
    }
}

extension Request {
    static let formKey = "form"

    /// Parses the form once, with no per-part limits (the body limit already bounds it), keeps
    /// the fields for the handler and drops the raw body: middleware that needs one field (the
    /// CSRF token) and the handler that needs them all share one parse and one copy.
    @discardableResult
    public mutating func parseFormOnce() throws -> [FormPart] {
        if let parsed = context[Self.formKey] as? [FormPart] { return parsed }
        let parts = try parseForm(limits: MultipartLimits(maxParts: .max, maxPartBytes: .max))
        context[Self.formKey] = parts
        http.body = [] // the parts hold the bytes now
        return parts
    }

    /// Form fields from an `application/x-www-form-urlencoded` or `multipart/form-data` body,
    /// within `limits` (from the parse `parseFormOnce` kept, if there was one).
    public func formFields(limits: MultipartLimits = MultipartLimits()) throws -> [FormPart] {
        guard let parsed = context[Self.formKey] as? [FormPart] else { return try parseForm(limits: limits) }
        guard parsed.count <= limits.maxParts else { throw HTTPError(.contentTooLarge, "more than \(limits.maxParts) form parts") }
        guard parsed.allSatisfy({ $0.data.count <= limits.maxPartBytes }) else {
            throw HTTPError(.contentTooLarge, "a form part is over \(limits.maxPartBytes) bytes")
        }
        return parsed
    }

    func parseForm(limits: MultipartLimits) throws -> [FormPart] {
        let type = headers["Content-Type"] ?? ""
        if let boundary = Multipart.boundary(contentType: type) {
            return try Multipart.parse(body, boundary: boundary, limits: limits)
        }
        if type.lowercased().hasPrefix("application/x-www-form-urlencoded") {
            return FormData.parseURLEncoded(String(decoding: body, as: UTF8.self))
                .map { FormPart(name: $0.name, filename: nil, contentType: nil, data: Array($0.value.utf8)) }
        }
        throw HTTPError(.unsupportedMediaType, "send the form as application/x-www-form-urlencoded or multipart/form-data")
    }

    /// Cookies sent with the request.
    public var cookies: [String: String] { Cookies.parse(headers) }
}
