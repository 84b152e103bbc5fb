/// Bounds on what a decoder accepts. They are checked against the file size and the header's
/// dimensions *before* any pixel memory is allocated, so a tiny file that claims to be
/// 100000×100000 costs nothing.
public struct ImageLimits: Sendable, Equatable {
    /// Largest encoded file, in bytes.
    public var maxBytes: Int
    /// Largest width and height, in pixels, each.
    public var maxSide: Int
    /// Largest width × height.
    public var maxPixels: Int

    public init(maxBytes: Int = 25_000_000, maxSide: Int = 20_000, maxPixels: Int = 40_000_000) {
        self.maxBytes = maxBytes
        self.maxSide = maxSide
        self.maxPixels = maxPixels
    }

    /// Suits a public web service: 25 MB files, 40 megapixels, 20000 pixels a side.
    public static let `default` = ImageLimits()

    public func check(byteCount: Int) throws(ImageError) {
        if byteCount == 0 { throw .empty }
        if byteCount > maxBytes { throw .fileTooLarge(bytes: byteCount, limit: maxBytes) }
    }

    public func check(width: Int, height: Int) throws(ImageError) {
        if width <= 0 || height <= 0 { throw .invalidDimensions(width: width, height: height) }
        if width > maxSide || height > maxSide {
            throw .sideTooLong(width: width, height: height, limit: maxSide)
        }
        // Multiplying two values that are each ≤ maxSide cannot overflow Int.
        if width * height > maxPixels {
            throw .tooManyPixels(width: width, height: height, limit: maxPixels)
        }
    }
}
