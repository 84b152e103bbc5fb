/// What kind of moving picture a file holds.
public enum ClipMedia: String, Sendable, Codable {
    /// A video container (MP4/MOV, WebM, MKV, …) read through FFmpeg's libraries.
    case video
    /// An animated GIF read through giflib.
    case gif
}

/// A frame rate as FFmpeg keeps it, a fraction (NTSC's 30000/1001 is not 29.97).
public struct FrameRate: Sendable, Hashable, CustomStringConvertible {
    public var numerator: Int
    public var denominator: Int

    public init(_ numerator: Int, _ denominator: Int = 1) {
        precondition(numerator > 0 && denominator > 0, "a frame rate is positive")
        self.numerator = numerator
        self.denominator = denominator
    }

    public var value: Double { Double(numerator) / Double(denominator) }

    /// "On twos": 12 drawings a second, each shown for two of film's 24 frames, as hand-drawn
    /// animation is made.
    public static let twos = FrameRate(12)
    /// GIF delays are centiseconds: a GIF's own timing is exact at 100 "frames" a second.
    public static let centiseconds = FrameRate(100)

    public var description: String {
        denominator == 1 ? "\(numerator) fps" : String(format: "%.3f fps", value)
    }
}

/// How many pictures a second the output has.
public enum FrameRateChoice: String, Sendable, Equatable {
    /// On twos for a video, a GIF's own frames for a GIF (GIFs are drawn frame by frame already).
    case automatic = "auto"
    /// 12 a second, each held twice at 24.
    case twos
    /// The clip's own rate (for a GIF, its own frames and delays).
    case source

    public init?(argument: String) {
        switch argument.lowercased() {
        case "auto", "automatic": self = .automatic
        case "twos", "12": self = .twos
        case "source", "clip": self = .source
        default: return nil
        }
    }
}

/// What the container says about a clip, read before any frame is decoded.
public struct ClipInfo: Sendable, Equatable {
    public var media: ClipMedia
    /// Container (FFmpeg's demuxer name) or "gif".
    public var container: String
    /// Video codec name, or "gif".
    public var codec: String
    /// Stored frame size.
    public var storedWidth: Int
    public var storedHeight: Int
    /// Degrees clockwise the stored frames turn to be shown upright: 0, 90, 180 or 270.
    public var rotation: Int
    /// Declared length in seconds, when the container says.
    public var seconds: Double?
    /// Declared average frame rate, when the container says.
    public var frameRate: FrameRate?
    /// Declared (or, for a GIF, counted) number of frames, when known.
    public var frameCount: Int?
    public var hasAudio: Bool

    /// The upright size, as people see the clip.
    public var width: Int { rotation % 180 == 0 ? storedWidth : storedHeight }
    public var height: Int { rotation % 180 == 0 ? storedHeight : storedWidth }

    /// The output rate for a choice: twos, or the clip's own (GIF timing is kept in centiseconds).
    public func outputRate(_ choice: FrameRateChoice) -> FrameRate {
        switch (choice, media) {
        case (.twos, _), (.automatic, .video): .twos
        case (.source, .gif), (.automatic, .gif): .centiseconds
        case (.source, .video): frameRate.map { $0.value > 120 ? FrameRate(60) : $0 } ?? FrameRate(25)
        }
    }

    /// How many distinct pictures the output will have at most (each costs one inference).
    public func estimatedOutputFrames(_ choice: FrameRateChoice) -> Int? {
        guard let seconds else { return frameCount }
        let slots = Int((seconds * outputRate(choice).value).rounded(.up))
        if let frameCount { return max(1, min(slots, frameCount)) }
        return max(1, slots)
    }
}
