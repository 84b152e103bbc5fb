/// Reads NumPy's `.npy` format (version 1–3): magic `\x93NUMPY`, version, header length
/// (2 bytes little-endian in v1, 4 in v2/v3), a Python-dict header, then raw data.
/// Only what the published weights use is accepted: little-endian float32 (or float64, narrowed),
/// C order. See numpy/lib/format.py for the format's definition.
public enum NPY {
    public static func parse(_ bytes: [UInt8], name: String) throws(ModelError) -> (shape: [Int], values: [Float]) {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard bytes.count >= 10, bytes.starts(with: magic) else { throw .invalidFile(name, "not a .npy file") }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw .invalidFile(name, "truncated header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw .invalidFile(name, ".npy version \(major) is not supported")
        }
        guard headerStart + headerLength <= bytes.count else { throw .invalidFile(name, "truncated header") }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)

        guard let descr = value(of: "descr", in: header) else { throw .invalidFile(name, "header has no descr") }
        let elementSize: Int
        switch descr {
        case "'<f4'": elementSize = 4
        case "'<f8'": elementSize = 8
        default: throw .invalidFile(name, "dtype \(descr) is not little-endian float32/float64")
        }
        guard value(of: "fortran_order", in: header) == "False" else {
            throw .invalidFile(name, "Fortran-ordered arrays are not supported")
        }
        guard let shapeText = value(of: "shape", in: header),
              shapeText.hasPrefix("("), shapeText.hasSuffix(")") else {
            throw .invalidFile(name, "header has no shape")
        }
        var shape: [Int] = []
        for part in shapeText.dropFirst().dropLast().split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: " ")
            if trimmed.isEmpty { continue }
            guard let n = Int(trimmed), n >= 0 else { throw .invalidFile(name, "bad shape \(shapeText)") }
            shape.append(n)
        }
        let count = shape.reduce(1, *)
        let dataStart = headerStart + headerLength
        guard bytes.count - dataStart == count * elementSize else {
            throw .invalidFile(name, "holds \(bytes.count - dataStart) data bytes, shape \(shape) needs \(count * elementSize)")
        }
        var values = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            let data = raw.baseAddress! + dataStart
            for i in 0..<count {
                values[i] = elementSize == 4
                    ? Float(bitPattern: UInt32(littleEndian: data.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                    : Float(Double(bitPattern: UInt64(littleEndian: data.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))))
            }
        }
        return (shape, values)
    }

    /// The text of `'key': value` in the header dict, up to the next top-level comma or brace.
    private static func value(of key: String, in header: String) -> String? {
        guard let keyRange = header.range(of: "'\(key)':") else { return nil }
        var depth = 0
        var result = ""
        for ch in header[keyRange.upperBound...] {
            if ch == "(" { depth += 1 }
            if ch == ")" { depth -= 1 }
            if depth == 0 && (ch == "," || ch == "}") { break }
            result.append(ch)
            if depth < 0 { return nil }
        }
        return result.trimmingCharacters(in: " ")
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
