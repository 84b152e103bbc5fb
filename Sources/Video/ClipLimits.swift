/// Bounds on what a clip may be. The container's declarations are checked before any frame is
/// decoded; the same bounds are checked again while decoding, so a clip that lies about them is
/// stopped at the first frame that gives it away.
public struct ClipLimits: Sendable, Equatable {
    /// Largest file, in bytes.
    public var maxBytes: Int
    /// Longest clip, in seconds.
    public var maxSeconds: Double
    /// Most frames written out (after sampling to the output frame rate).
    public var maxOutputFrames: Int
    /// Most frames decoded (a 60 s clip at 60 frames a second is 3,600).
    public var maxDecodedFrames: Int
    /// Largest width or height of the stored frames.
    public var maxSide: Int
    /// Largest width × height of the stored frames (4K is 8.3 megapixels).
    public var maxPixels: Int
    /// GIF: the most pixels composited over all frames (a "GIF bomb" is small on disk and huge here).
    public var maxGIFWork: Int

    public init(maxBytes: Int = 100_000_000, maxSeconds: Double = 60, maxOutputFrames: Int = 1_800,
                maxDecodedFrames: Int = 4_000, maxSide: Int = 4_096, maxPixels: Int = 8_912_896,
                maxGIFWork: Int = 400_000_000) {
        self.maxBytes = maxBytes
        self.maxSeconds = maxSeconds
        self.maxOutputFrames = maxOutputFrames
        self.maxDecodedFrames = maxDecodedFrames
        self.maxSide = maxSide
        self.maxPixels = maxPixels
        self.maxGIFWork = maxGIFWork
    }

    public static let `default` = ClipLimits()

    public func check(byteCount: Int) throws(VideoError) {
        if byteCount == 0 { throw .empty }
        if byteCount > maxBytes { throw .fileTooLarge(bytes: byteCount, limit: maxBytes) }
    }

    public func check(width: Int, height: Int) throws(VideoError) {
        if width <= 0 || height <= 0 { throw .invalidDimensions(width: width, height: height) }
        if width > maxSide || height > maxSide || width * height > maxPixels {
            throw .tooLarge(width: width, height: height, limit: maxSide)
        }
    }

    public func check(seconds: Double) throws(VideoError) {
        if seconds > maxSeconds + 0.05 { throw .tooLong(seconds: seconds, limit: maxSeconds) }
    }
}
