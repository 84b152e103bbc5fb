import Foundation

/// Everything that can go wrong reading or writing an image, each with a sentence a person
/// understands. Raw library messages only ever appear as the `detail` of a corrupt file.
public enum ImageError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    case empty
    case unsupportedFormat
    case fileTooLarge(bytes: Int, limit: Int)
    case invalidDimensions(width: Int, height: Int)
    case sideTooLong(width: Int, height: Int, limit: Int)
    case tooManyPixels(width: Int, height: Int, limit: Int)
    case truncated(ImageFormat)
    case corrupt(ImageFormat, detail: String)
    case unsupportedVariant(ImageFormat, detail: String)
    case encodingFailed(ImageFormat, detail: String)

    public var description: String {
        switch self {
        case .empty:
            "the file is empty"
        case .unsupportedFormat:
            "not a JPEG or PNG file"
        case let .fileTooLarge(bytes, limit):
            "file is \(Self.megabytes(bytes)), the limit is \(Self.megabytes(limit))"
        case let .invalidDimensions(width, height):
            "image claims to be \(width)×\(height) pixels, which is not a valid size"
        case let .sideTooLong(width, height, limit):
            "image is \(width)×\(height), the limit is \(limit) pixels a side"
        case let .tooManyPixels(width, height, limit):
            "image is \(width)×\(height), the limit is \(Self.megapixels(limit))"
        case let .truncated(format):
            "the \(format) file is incomplete (truncated)"
        case let .corrupt(format, detail):
            "corrupt \(format) data (\(detail))"
        case let .unsupportedVariant(format, detail):
            "this kind of \(format) file is not supported (\(detail))"
        case let .encodingFailed(format, detail):
            "could not write \(format) (\(detail))"
        }
    }

    public var errorDescription: String? { description }

    private static func megabytes(_ bytes: Int) -> String {
        let mb = Double(bytes) / 1_000_000
        if bytes % 1_000_000 == 0 { return "\(bytes / 1_000_000) MB" }
        return mb >= 0.1 ? "\((mb * 10).rounded() / 10) MB" : "\(bytes) bytes"
    }

    private static func megapixels(_ pixels: Int) -> String {
        if pixels % 1_000_000 == 0 { return "\(pixels / 1_000_000) megapixels" }
        return "\(pixels) pixels"
    }
}
