import Dispatch
import Foundation
import ImageIO

/// How a clip is turned into another.
public struct ClipOptions: Sendable {
    public var rate: FrameRateChoice
    /// Frames are shrunk so neither side exceeds this (never enlarged); sides are made even, as
    /// 4:2:0 video needs.
    public var maxSide: Int
    /// Hold the output where the input is still (see `FlickerReducer`).
    public var reduceFlicker: Bool
    /// Measure flicker on the output (see `FlickerMeter`): for benchmarks and tests.
    public var measureFlicker: Bool
    /// Also write an animated GIF (nil: when the input is one).
    public var writeGIF: Bool?
    /// Also write the input as the generator saw it (MP4, no sound), for a before/after.
    public var writeBefore: Bool
    public var limits: ClipLimits

    /// A smaller default than photos' 1280: every frame costs an inference.
    public static let defaultMaxSide = 640

    public init(rate: FrameRateChoice = .automatic, maxSide: Int = ClipOptions.defaultMaxSide, reduceFlicker: Bool = true,
                measureFlicker: Bool = false, writeGIF: Bool? = nil, writeBefore: Bool = false, limits: ClipLimits = .default) {
        self.writeGIF = writeGIF
        self.writeBefore = writeBefore
        self.rate = rate
        self.maxSide = maxSide
        self.reduceFlicker = reduceFlicker
        self.measureFlicker = measureFlicker
        self.limits = limits
    }
}

/// What a clip will become, worked out from its header alone: cheap enough to do on upload,
/// before anything is queued.
public struct ClipPlan: Sendable, Equatable {
    public var info: ClipInfo
    public var rate: FrameRate
    /// The processing (and output) size, upright, both sides even.
    public var width: Int
    public var height: Int
    /// At most this many pictures go through the network (one inference each), when known.
    public var estimatedFrames: Int?
    /// Whether a GIF is written too (always for a GIF, besides the MP4).
    public var writesGIF: Bool
}

/// A converted clip.
public struct ClipResult: Sendable {
    /// What the header said and what was made of it (read once, by the conversion).
    public var plan: ClipPlan
    public var mp4: [UInt8]
    public var gif: [UInt8]?
    /// The input at the output's size and pace (MP4, no sound), when asked for.
    public var before: [UInt8]?
    /// A still for pages and `?format=png|jpeg`: the output a quarter of the way in.
    public var poster: RGBImage
    /// Distinct pictures made (inferences run).
    public var frames: Int
    public var seconds: Double
    public var width: Int
    public var height: Int
    public var hasAudio: Bool
    /// The flicker metric of the output, when measured.
    public var flicker: FlickerFigures?
    /// Time spent in `process` (the network), and in the whole conversion: the rest is what
    /// the clip costs around the network (decoding, scaling, holding, encoding).
    public var processingSeconds: Double
    public var totalSeconds: Double
}

/// Clip in, clip out: decode once, sample to the output rate, run each kept picture through
/// `process` (the generator), reduce flicker, encode MP4 (with the clip's audio) and, for a GIF,
/// a GIF. Knows nothing about the model.
public enum ClipConverter {
    /// The media type of an upload, for its download: from the demuxer that read it and, where
    /// one demuxer reads two kinds (MP4 and QuickTime, Matroska and WebM), the file's own brand.
    public static func mediaType(of bytes: [UInt8], info: ClipInfo) -> String {
        let head = bytes.prefix(64)
        switch info.container {
        case "gif": return "image/gif"
        case let c where c.hasPrefix("mov,"):
            return head.count >= 12 && head[8..<12].elementsEqual("qt  ".utf8) ? "video/quicktime" : "video/mp4"
        case let c where c.hasPrefix("matroska"):
            let webm = Array("webm".utf8)
            return (0..<max(head.count - 4, 0)).contains { Array(head[$0..<($0 + 4)]) == webm } ? "video/webm" : "video/x-matroska"
        case "avi": return "video/x-msvideo"
        case "flv": return "video/x-flv"
        case "mpegts": return "video/mp2t"
        case "ogg": return "video/ogg"
        default: return "application/octet-stream"
        }
    }

    /// Reads the header and checks every limit that can be checked without decoding.
    public static func plan(_ bytes: [UInt8], options: ClipOptions) throws(VideoError) -> ClipPlan {
        try plan(try info(bytes, limits: options.limits), options: options)
    }

    /// What a clip's (or a GIF's) header says, held to `limits`.
    static func info(_ bytes: [UInt8], limits: ClipLimits) throws(VideoError) -> ClipInfo {
        isGIF(bytes) ? try GIFReader(bytes: bytes, limits: limits).info : try VideoReader(bytes: bytes, limits: limits).info
    }

    static func plan(_ info: ClipInfo, options: ClipOptions) throws(VideoError) -> ClipPlan {
        var (width, height) = RGBImage.fittedSize(width: info.width, height: info.height, maxSide: options.maxSide)
        width -= width % 2
        height -= height % 2
        guard width >= 8, height >= 8 else { throw .invalidDimensions(width: info.width, height: info.height) }
        let estimate = info.estimatedOutputFrames(options.rate)
        if let estimate, estimate > options.limits.maxOutputFrames {
            throw .tooManyFrames(count: estimate, limit: options.limits.maxOutputFrames)
        }
        return ClipPlan(info: info, rate: info.outputRate(options.rate), width: width, height: height, estimatedFrames: estimate,
                        writesGIF: options.writeGIF ?? (info.media == .gif))
    }

    /// The clip's first picture, upright, at most `maxSide` a side (a queued clip's preview):
    /// decoding stops there.
    public static func firstPicture(_ bytes: [UInt8], maxSide: Int, limits: ClipLimits = .default) throws -> RGBImage {
        struct Enough: Error {}
        let options = ClipOptions(maxSide: maxSide, limits: limits)
        var first: RGBImage?
        do {
            if isGIF(bytes) {
                let reader = try GIFReader(bytes: bytes, limits: limits)
                let plan = try plan(reader.info, options: options)
                try reader.decode(width: plan.width, height: plan.height, isCancelled: { false }) { first = try $0.image(); throw Enough() }
            } else {
                let reader = try VideoReader(bytes: bytes, limits: limits)
                let plan = try plan(reader.info, options: options)
                try reader.decode(width: plan.width, height: plan.height, isCancelled: { false },
                                  frame: { first = try $0.image(); throw Enough() }, audio: nil)
            }
        } catch is Enough {}
        guard let first else { throw VideoError.noFrames }
        return first
    }

    /// Converts. `progress` gets (pictures done, pictures expected); `isCancelled` is asked
    /// before each picture. The MP4 is written to a file in `workDirectory` (faststart rewrites
    /// it once) and removed after it is read back. `shown` sees each picture as written (for
    /// benchmarks).
    public static func convert(_ bytes: [UInt8], options: ClipOptions, workDirectory: URL,
                               isCancelled: () -> Bool = { false },
                               progress: (Int, Int?) -> Void = { _, _ in },
                               shown: (RGBImage) -> Void = { _ in },
                               process: (RGBImage) throws -> RGBImage) throws -> ClipResult {
        let gifReader: GIFReader?, videoReader: VideoReader?
        if isGIF(bytes) {
            gifReader = try GIFReader(bytes: bytes, limits: options.limits)
            videoReader = nil
        } else {
            videoReader = try VideoReader(bytes: bytes, limits: options.limits)
            gifReader = nil
        }
        let plan = try plan(gifReader?.info ?? videoReader!.info, options: options)
        let file = workDirectory.appendingPathComponent("clip-\(UUID().uuidString).mp4")
        let beforeFile = workDirectory.appendingPathComponent("clip-\(UUID().uuidString)-before.mp4")
        defer {
            try? FileManager.default.removeItem(at: file)
            try? FileManager.default.removeItem(at: beforeFile)
        }
        let audioFormat = videoReader?.audioFormat
        let writer = try VideoWriter(url: file, width: plan.width, height: plan.height, rate: plan.rate, audio: audioFormat)
        let gifWriter = plan.writesGIF ? try GIFWriter(width: plan.width, height: plan.height) : nil
        let beforeWriter = options.writeBefore ? try VideoWriter(url: beforeFile, width: plan.width, height: plan.height, rate: plan.rate) : nil
        var sampler = FrameSampler(rate: plan.rate)
        var reducer = FlickerReducer()
        var meter = FlickerMeter()
        var pending: DecodedFrame?
        var made = 0
        var processing = 0.0
        let began = DispatchTime.now().uptimeNanoseconds
        var poster: RGBImage?
        let posterIndex = (plan.estimatedFrames ?? 1) / 4

        // The frame waiting in `pending` is shown until `end`: now we know which slots it fills.
        func emit(until end: Double) throws {
            guard let frame = pending else { return }
            let slots = sampler.take(until: end)
            guard !slots.isEmpty else { return }
            made += 1
            if made > options.limits.maxOutputFrames {
                throw VideoError.tooManyFrames(count: made, limit: options.limits.maxOutputFrames)
            }
            if isCancelled() { throw VideoError.cancelled }
            let input = try frame.image()
            let started = DispatchTime.now().uptimeNanoseconds
            var picture = try process(input)
            processing += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            if options.reduceFlicker { picture = reducer.apply(input: input, output: picture) }
            if options.measureFlicker { meter.add(input: input, output: picture) }
            if poster == nil || made - 1 == posterIndex { poster = picture }
            shown(picture)
            try writer.write(picture, start: Int64(slots.lowerBound), duration: Int64(slots.count))
            try beforeWriter?.write(input, start: Int64(slots.lowerBound), duration: Int64(slots.count))
            if let gifWriter {
                // Hundredths rounded on the running total, so the GIF keeps the clip's pace.
                func hundredths(_ slot: Int) -> Int { Int((Double(slot) * 100 / plan.rate.value).rounded()) }
                try gifWriter.write(picture, hundredths: hundredths(slots.upperBound) - hundredths(slots.lowerBound))
            }
            progress(made, plan.estimatedFrames)
        }

        func onFrame(_ frame: DecodedFrame) throws {
            try emit(until: frame.seconds)
            pending = frame
        }
        let end: Double
        if let gifReader {
            end = try gifReader.decode(width: plan.width, height: plan.height, isCancelled: isCancelled, frame: onFrame)
        } else {
            var last = 0.0
            try videoReader!.decode(width: plan.width, height: plan.height, isCancelled: isCancelled, frame: { frame in
                last = frame.seconds
                try onFrame(frame)
            }, audio: audioFormat == nil ? nil : { chunk in try writer.write(audio: chunk) })
            end = last + videoReader!.frameInterval
        }
        try emit(until: end)
        try writer.finish()
        try beforeWriter?.finish()
        func readBack(_ url: URL) throws -> [UInt8] {
            do {
                return Array(try Data(contentsOf: url))
            } catch {
                throw VideoError.encodingFailed(detail: "the written clip could not be read back")
            }
        }
        return ClipResult(plan: plan, mp4: try readBack(file), gif: try gifWriter?.finish(), before: try beforeWriter.map { _ in try readBack(beforeFile) },
                          poster: poster!, frames: made, seconds: writer.seconds,
                          width: plan.width, height: plan.height, hasAudio: audioFormat != nil,
                          flicker: options.measureFlicker ? meter.figures : nil, processingSeconds: processing,
                          totalSeconds: Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9)
    }
}
