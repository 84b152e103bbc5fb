import Foundation
import ImageIO

/// How a film's video is read for its colours (the colour study took a frame every 2 seconds).
public struct FilmOptions: Sendable, Equatable {
    /// Seconds between the frames taken.
    public var interval: Double
    /// Frames are scaled to fit this side: the palette of a 4K frame is that of its full-HD
    /// copy, at a quarter of the work.
    public var maxSide: Int
    public var limits: ClipLimits

    public static let defaultInterval = 2.0
    /// The intervals a member may choose: a frame every half second to one a minute.
    public static let intervals: ClosedRange<Double> = 0.5...60

    public init(interval: Double = FilmOptions.defaultInterval, maxSide: Int = 1920, limits: ClipLimits = .film) {
        self.interval = interval
        self.maxSide = maxSide
        self.limits = limits
    }
}

extension ClipLimits {
    /// A film, not a clip: up to four hours and 200 MB (what one upload may be), a frame every
    /// 2 seconds over all of it. Decoding goes through every frame (a codec cannot skip to the
    /// next frame wanted without its references), so the frames decoded are bounded by four
    /// hours at 60 a second.
    public static let film = ClipLimits(maxBytes: 200_000_000, maxSeconds: 4 * 3600, maxOutputFrames: 7_200,
                                        maxDecodedFrames: 4 * 3600 * 60)
}

/// What reading a film will do, known from its header.
public struct FilmPlan: Sendable, Equatable {
    public var info: ClipInfo
    /// The size frames are analysed at (upright, fitted to `maxSide`).
    public var width: Int
    public var height: Int
    /// Frames that will be taken, when the header gives the length.
    public var estimatedFrames: Int?
}

/// One frame every `interval` seconds of a video (or an animated GIF): the first frame shown at
/// or after 0, N, 2N, … seconds.
public enum FilmFrames {
    /// Reads the header and checks every limit that can be judged from it.
    public static func plan(_ bytes: [UInt8], options: FilmOptions) throws(VideoError) -> FilmPlan {
        try plan(try ClipConverter.info(bytes, limits: options.limits), options: options)
    }

    static func plan(_ info: ClipInfo, options: FilmOptions) throws(VideoError) -> FilmPlan {
        let (width, height) = RGBImage.fittedSize(width: info.width, height: info.height, maxSide: options.maxSide)
        guard width >= 6, height >= 6 else { throw .invalidDimensions(width: info.width, height: info.height) }
        let estimate = info.seconds.map { Int(($0 / options.interval).rounded(.down)) + 1 }
        if let estimate, estimate > options.limits.maxOutputFrames {
            throw .tooManyFrames(count: estimate, limit: options.limits.maxOutputFrames)
        }
        return FilmPlan(info: info, width: width, height: height, estimatedFrames: estimate)
    }

    /// Decodes the film once and hands over each frame taken, with its time in seconds and how
    /// far through the film it is (0–1, for progress). Frames between are decoded but never
    /// converted to RGB. Returns how many frames were taken.
    @discardableResult
    public static func read(_ bytes: [UInt8], options: FilmOptions, isCancelled: () -> Bool = { false },
                            frame onFrame: (_ seconds: Double, _ image: RGBImage, _ fraction: Double) throws -> Void) throws -> Int {
        let gif = isGIF(bytes) ? try GIFReader(bytes: bytes, limits: options.limits) : nil
        let video = gif == nil ? try VideoReader(bytes: bytes, limits: options.limits) : nil
        let plan = try plan(gif?.info ?? video!.info, options: options)
        var next = 0.0, taken = 0
        func take(_ frame: DecodedFrame) throws {
            // A frame stamped a hair early (rounded time bases) still counts for its slot.
            guard frame.seconds + 0.001 >= next else { return }
            taken += 1
            if taken > options.limits.maxOutputFrames {
                throw VideoError.tooManyFrames(count: taken, limit: options.limits.maxOutputFrames)
            }
            next = ((frame.seconds + 0.001) / options.interval).rounded(.down) * options.interval + options.interval
            let fraction = plan.info.seconds.map { $0 > 0 ? min(frame.seconds / $0, 1) : 0 } ?? 0
            try onFrame(frame.seconds, try frame.image(), fraction)
        }
        if let gif {
            _ = try gif.decode(width: plan.width, height: plan.height, isCancelled: isCancelled, frame: take)
        } else {
            try video!.decode(width: plan.width, height: plan.height, isCancelled: isCancelled, frame: take, audio: nil)
        }
        return taken
    }
}
