import CZlib
import Foundation

/// Reads the files of a ZIP archive held in memory (PKWARE APPNOTE.TXT 6.3): the central
/// directory at the end names every entry; each is stored or deflated. Only what a folder of
/// frames needs: no encryption, no ZIP64, no multi-disk archives, each refused in words.
///
/// Hostile archives are expected: every offset is bounds-checked, sizes are limited before
/// anything is inflated (a "zip bomb" declares small and inflates large, so inflation stops at
/// the declared size), and every file's CRC-32 is checked. Entries must lie in the archive's
/// data area one after another, without overlapping: sixteen directory entries pointing at one
/// deflated run of zeros would otherwise multiply what a small upload inflates to.
struct ZipArchive {
    struct Entry {
        var name: String
        var method: UInt16
        var flags: UInt16
        var crc: UInt32
        var compressedSize: Int
        var size: Int
        var localHeaderOffset: Int
        /// Where the entry's (compressed) data starts, past its local header.
        var dataOffset = 0
        var isDirectory: Bool { name.hasSuffix("/") }
    }

    struct Limits {
        var maxEntries = 2000
        var maxEntryBytes = 25_000_000
        var maxTotalBytes = 400_000_000
    }

    struct FormatError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    let bytes: [UInt8]
    let entries: [Entry]

    static func isZip(_ bytes: [UInt8]) -> Bool { bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) || bytes.starts(with: [0x50, 0x4B, 0x05, 0x06]) }

    init(_ bytes: [UInt8], limits: Limits = Limits()) throws {
        self.bytes = bytes
        // The end-of-central-directory record: 22 bytes plus a comment of up to 65,535.
        guard bytes.count >= 22 else { throw FormatError("The ZIP file is truncated.") }
        var end = -1
        for i in stride(from: bytes.count - 22, through: max(0, bytes.count - 22 - 65_535), by: -1)
        where Self.u32(bytes, i) == 0x0605_4B50 {
            end = i
            break
        }
        guard end >= 0 else { throw FormatError("The ZIP file is truncated or damaged (no central directory).") }
        let count = Int(Self.u16(bytes, end + 10)), directorySize = Int(Self.u32(bytes, end + 12))
        let directoryOffset = Int(Self.u32(bytes, end + 16))
        guard Self.u16(bytes, end + 4) == 0, Self.u16(bytes, end + 6) == 0 else { throw FormatError("Split (multi-part) ZIP archives are not supported.") }
        guard count != 0xFFFF, directoryOffset != 0xFFFF_FFFF else { throw FormatError("ZIP64 archives are not supported; zip fewer or smaller frames.") }
        guard count <= limits.maxEntries else { throw FormatError("The ZIP file holds \(count) files; at most \(limits.maxEntries) are accepted.") }
        guard directoryOffset + directorySize <= end else { throw FormatError("The ZIP file is damaged (its directory points outside it).") }

        var entries: [Entry] = []
        var at = directoryOffset, total = 0
        for _ in 0..<count {
            guard at + 46 <= end, Self.u32(bytes, at) == 0x0201_4B50 else { throw FormatError("The ZIP file is damaged (bad directory entry).") }
            let nameLength = Int(Self.u16(bytes, at + 28)), extraLength = Int(Self.u16(bytes, at + 30)), commentLength = Int(Self.u16(bytes, at + 32))
            guard at + 46 + nameLength <= end else { throw FormatError("The ZIP file is damaged (bad directory entry).") }
            let entry = Entry(name: String(decoding: bytes[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self),
                              method: Self.u16(bytes, at + 10), flags: Self.u16(bytes, at + 8), crc: Self.u32(bytes, at + 16),
                              compressedSize: Int(Self.u32(bytes, at + 20)), size: Int(Self.u32(bytes, at + 24)),
                              localHeaderOffset: Int(Self.u32(bytes, at + 42)))
            guard entry.size != 0xFFFF_FFFF, entry.compressedSize != 0xFFFF_FFFF, entry.localHeaderOffset != 0xFFFF_FFFF else {
                throw FormatError("ZIP64 archives are not supported; zip fewer or smaller frames.")
            }
            if !entry.isDirectory {
                guard entry.size <= limits.maxEntryBytes else {
                    throw FormatError("\(entry.name) in the ZIP file is \(entry.size / 1_000_000) MB; each frame may be at most \(limits.maxEntryBytes / 1_000_000) MB.")
                }
                total += entry.size
                guard total <= limits.maxTotalBytes else {
                    throw FormatError("The ZIP file unpacks to more than \(limits.maxTotalBytes / 1_000_000) MB.")
                }
            }
            entries.append(entry)
            at += 46 + nameLength + extraLength + commentLength
        }
        // Every entry's local header and data inside the data area (before the directory), and
        // no two entries sharing bytes (APPNOTE 4.3.6: an archive is local records, one after
        // another, then the directory).
        for i in entries.indices {
            let header = entries[i].localHeaderOffset
            guard header + 30 <= directoryOffset, Self.u32(bytes, header) == 0x0403_4B50 else {
                throw FormatError("The ZIP file is damaged (\(entries[i].name) cannot be found).")
            }
            let start = header + 30 + Int(Self.u16(bytes, header + 26)) + Int(Self.u16(bytes, header + 28))
            guard start + entries[i].compressedSize <= directoryOffset else {
                throw FormatError("The ZIP file is damaged (\(entries[i].name) reaches past its data).")
            }
            entries[i].dataOffset = start
        }
        let byPosition = entries.sorted { $0.localHeaderOffset < $1.localHeaderOffset }
        for (a, b) in zip(byPosition, byPosition.dropFirst()) where a.dataOffset + a.compressedSize > b.localHeaderOffset {
            throw FormatError("The ZIP file is damaged or crafted: \(a.name) and \(b.name) overlap.")
        }
        self.entries = entries
    }

    /// The entry's bytes, inflated and checked against its CRC-32.
    func contents(of entry: Entry) throws -> [UInt8] {
        guard entry.flags & 1 == 0 else { throw FormatError("\(entry.name) in the ZIP file is encrypted.") }
        let data = bytes[entry.dataOffset..<(entry.dataOffset + entry.compressedSize)] // checked in init
        let output: [UInt8]
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.size else { throw FormatError("The ZIP file is damaged (\(entry.name)).") }
            output = Array(data)
        case 8:
            output = try Self.inflate(data, size: entry.size, name: entry.name)
        default:
            throw FormatError("\(entry.name) in the ZIP file is compressed with method \(entry.method); only stored and deflated files are supported.")
        }
        let crc = output.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
        guard crc == entry.crc else { throw FormatError("\(entry.name) in the ZIP file is damaged (CRC mismatch).") }
        return output
    }

    /// Raw deflate (RFC 1951) into exactly `size` bytes: more output than declared is an error.
    static func inflate(_ data: ArraySlice<UInt8>, size: Int, name: String) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: size + 1) // one spare byte reveals a lying size
        var stream = z_stream()
        // Negative window bits: a raw deflate stream, without zlib's header (APPNOTE 4.4.5).
        guard inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw FormatError("Cannot unpack the ZIP file.")
        }
        defer { inflateEnd(&stream) }
        let status: Int32 = data.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                return CZlib.inflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END, Int(stream.total_out) == size else {
            throw FormatError("\(name) in the ZIP file is damaged (it does not unpack to its declared size).")
        }
        output.removeLast()
        return output
    }

    static func u16(_ b: [UInt8], _ i: Int) -> UInt16 { i + 2 <= b.count ? UInt16(b[i]) | UInt16(b[i + 1]) << 8 : 0 }
    static func u32(_ b: [UInt8], _ i: Int) -> UInt32 {
        i + 4 <= b.count ? UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24 : 0
    }
}

extension ZipArchive {
    /// Writes files into a ZIP archive, stored (method 0): what goes in is PNG, compressed
    /// already, so deflating again would cost time for nothing. Names are UTF-8 and say so
    /// (general purpose bit 11, APPNOTE 4.4.4), so "우리집 고양이-hayao.png" unpacks as itself.
    /// Layout (APPNOTE 4.3.6): each local header (4.3.7) and its data, then the central
    /// directory (4.3.12), then its end record (4.3.16). No ZIP64: callers keep the total
    /// under 4 GB (a job's results are tens of megabytes).
    static func stored(_ files: [(name: String, bytes: [UInt8])], modified: Date = Date()) -> [UInt8] {
        var out: [UInt8] = [], directory: [UInt8] = []
        func u16(_ v: Int, into b: inout [UInt8]) { b += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: UInt32, into b: inout [UInt8]) { b += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
        // MS-DOS time and date (APPNOTE 4.4.6), in UTC: the format has no zone.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: modified)
        let dosTime = (c.hour ?? 0) << 11 | (c.minute ?? 0) << 5 | (c.second ?? 0) / 2
        let dosDate = max(0, (c.year ?? 1980) - 1980) << 9 | (c.month ?? 1) << 5 | (c.day ?? 1)
        for file in files {
            let name = Array(file.name.utf8)
            let crc = file.bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
            let offset = UInt32(out.count)
            // Local file header: signature, version 2.0, flags (UTF-8), method 0, time, date,
            // CRC, sizes, name length, no extra field.
            u32(0x0403_4B50, into: &out); u16(20, into: &out); u16(1 << 11, into: &out); u16(0, into: &out)
            u16(dosTime, into: &out); u16(dosDate, into: &out); u32(crc, into: &out)
            u32(UInt32(file.bytes.count), into: &out); u32(UInt32(file.bytes.count), into: &out)
            u16(name.count, into: &out); u16(0, into: &out)
            out += name
            out += file.bytes
            // Its central directory entry: the same, plus version made by, comment, disk,
            // attributes and where the local header is.
            u32(0x0201_4B50, into: &directory); u16(20, into: &directory); u16(20, into: &directory)
            u16(1 << 11, into: &directory); u16(0, into: &directory); u16(dosTime, into: &directory); u16(dosDate, into: &directory)
            u32(crc, into: &directory); u32(UInt32(file.bytes.count), into: &directory); u32(UInt32(file.bytes.count), into: &directory)
            u16(name.count, into: &directory); u16(0, into: &directory); u16(0, into: &directory); u16(0, into: &directory)
            u16(0, into: &directory); u32(0, into: &directory); u32(offset, into: &directory)
            directory += name
        }
        let directoryOffset = UInt32(out.count)
        out += directory
        // End of central directory: one disk, the entry counts, the directory's size and place.
        u32(0x0605_4B50, into: &out); u16(0, into: &out); u16(0, into: &out)
        u16(files.count, into: &out); u16(files.count, into: &out)
        u32(UInt32(directory.count), into: &out); u32(directoryOffset, into: &out); u16(0, into: &out)
        return out
    }
}
