/// The file formats Artworker reads and writes.
public enum ImageFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    case jpeg
    case png

    /// Identifies the format from the first bytes of the file. File names and Content-Type
    /// headers are never consulted: they are whatever the sender says they are.
    public static func sniff<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> ImageFormat? {
        // JPEG: SOI marker followed by the start of another marker (ITU T.81 Annex B.2).
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        // PNG: the fixed 8-byte signature (PNG spec §5.2).
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        return nil
    }

    public var mimeType: String {
        switch self {
        case .jpeg: "image/jpeg"
        case .png: "image/png"
        }
    }

    public var fileExtension: String {
        switch self {
        case .jpeg: "jpg"
        case .png: "png"
        }
    }

    /// The format a file name asks for when *writing* (never used to read).
    public init?(fileExtension: String) {
        switch fileExtension.lowercased() {
        case "jpg", "jpeg": self = .jpeg
        case "png": self = .png
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .jpeg: "JPEG"
        case .png: "PNG"
        }
    }
}
