/// What Artworker reads from a JPEG's marker segments itself, before libjpeg-turbo sees the data:
/// the EXIF orientation (APP1) and whether the frame is progressive (SOF2/6/10/14).
///
/// Every read is bounds-checked; a malformed segment ends the scan and yields the defaults, so a
/// hostile file can at worst lose its orientation, never crash or loop (each step advances).
struct JPEGMarkers: Sendable, Equatable {
    var orientation: ExifOrientation = .up
    var isProgressive = false

    init(scanning bytes: UnsafeBufferPointer<UInt8>) {
        // ITU T.81 Annex B.1.1.2: markers are 0xFF followed by a code; segments other than
        // SOI/EOI/RSTn/TEM carry a big-endian length that includes its own two bytes.
        var i = 2 // past SOI
        let n = bytes.count
        while i + 1 < n {
            guard bytes[i] == 0xFF else { return }
            let marker = bytes[i + 1]
            if marker == 0xFF { i += 1; continue } // fill byte (B.1.1.2)
            if marker == 0x01 || (0xD0...0xD8).contains(marker) { i += 2; continue }
            if marker == 0xD9 || marker == 0xDA { return } // EOI, or SOS: entropy data follows
            guard i + 3 < n else { return }
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            guard length >= 2, i + 2 + length <= n else { return }
            let segment = UnsafeBufferPointer(rebasing: bytes[(i + 4)..<(i + 2 + length)])
            switch marker {
            case 0xE1:
                if let o = Self.exifOrientation(segment) { orientation = o }
            case 0xC2, 0xC6, 0xCA, 0xCE:
                isProgressive = true
            default:
                break
            }
            i += 2 + length
        }
    }

    /// Reads tag 0x0112 from IFD0 of an APP1 "Exif\0\0" payload (EXIF 2.32 §4.5.4, TIFF 6.0 §2).
    static func exifOrientation(_ app1: UnsafeBufferPointer<UInt8>) -> ExifOrientation? {
        let header: [UInt8] = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00] // "Exif\0\0"
        guard app1.count >= header.count + 8, app1.starts(with: header) else { return nil }
        let tiff = UnsafeBufferPointer(rebasing: app1[header.count...])
        let bigEndian: Bool
        switch (tiff[0], tiff[1]) {
        case (0x49, 0x49): bigEndian = false // "II"
        case (0x4D, 0x4D): bigEndian = true  // "MM"
        default: return nil
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= tiff.count else { return nil }
            return bigEndian ? Int(tiff[at]) << 8 | Int(tiff[at + 1])
                             : Int(tiff[at + 1]) << 8 | Int(tiff[at])
        }
        func u32(_ at: Int) -> Int? {
            guard let a = u16(at), let b = u16(at + 2) else { return nil }
            return bigEndian ? a << 16 | b : b << 16 | a
        }
        guard u16(2) == 42, let ifd0 = u32(4), let count = u16(ifd0) else { return nil }
        for entry in 0..<count {
            let at = ifd0 + 2 + entry * 12
            guard let tag = u16(at), let type = u16(at + 2), let n = u32(at + 4) else { return nil }
            // Orientation is one SHORT (type 3), stored left-justified in the value field.
            if tag == 0x0112, type == 3, n == 1, let value = u16(at + 8) {
                return ExifOrientation(rawValue: value)
            }
        }
        return nil
    }
}
