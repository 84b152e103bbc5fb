import CFFmpeg
import Foundation
import ImageIO

/// FFmpeg prints its own notes (an encoder's statistics, a decoder's complaint about a damaged
/// macroblock) on standard error; every failure that matters comes back to us as a code and
/// is reported in our words, so only its fatal messages are let through. Set once, before the
/// first reader or writer.
let quietFFmpeg: Void = av_log_set_level(AV_LOG_FATAL)

/// A clip's bytes as FFmpeg input: reads and seeks over memory we own, so no file and no URL is
/// ever opened on a stranger's behalf.
final class MemoryInput {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Copies up to `count` bytes from the current position into `buffer`; 0 at the end.
    func read(into buffer: UnsafeMutablePointer<UInt8>, count: Int) -> Int {
        let n = min(count, bytes.count - position)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress! + position, count: n) }
        position += n
        return n
    }
}

// FFmpeg calls these through AVIOContext with `opaque` = an unretained MemoryInput that the
// reader keeps alive for as long as the context exists.
private let readMemory: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt8>?, Int32) -> Int32 = { opaque, buffer, size in
    let input = Unmanaged<MemoryInput>.fromOpaque(opaque!).takeUnretainedValue()
    guard let buffer else { return artworker_averror_eof() }
    let count = input.read(into: buffer, count: Int(size))
    return count > 0 ? Int32(count) : artworker_averror_eof()
}

private let seekMemory: @convention(c) (UnsafeMutableRawPointer?, Int64, Int32) -> Int64 = { opaque, offset, whence in
    let input = Unmanaged<MemoryInput>.fromOpaque(opaque!).takeUnretainedValue()
    if whence & artworker_avseek_size() != 0 { return Int64(input.bytes.count) }
    let base: Int
    switch whence & ~AVSEEK_FORCE {
    case SEEK_SET: base = 0
    case SEEK_CUR: base = input.position
    case SEEK_END: base = input.bytes.count
    default: return -1
    }
    let target = Int64(base) + offset
    guard target >= 0, target <= Int64(input.bytes.count) else { return -1 }
    input.position = Int(target)
    return target
}

// Demuxers such as HLS or concat open further files and URLs that a file names; nothing a
// stranger uploads may make us open anything, so every such request is refused (EPERM).
private let refuseOpen: @convention(c) (UnsafeMutablePointer<AVFormatContext>?, UnsafeMutablePointer<UnsafeMutablePointer<AVIOContext>?>?,
                                        UnsafePointer<CChar>?, Int32, UnsafeMutablePointer<OpaquePointer?>?) -> Int32 = { _, _, _, _, _ in
    -1
}

/// One decoded picture with its time in the clip. Its pixels (upright, at the size asked for)
/// are made only when asked: on twos, half of a 24 fps clip's frames are never shown, and
/// converting them would cost as much as everything else around the network.
final class DecodedFrame {
    let seconds: Double
    private var make: (() throws -> RGBImage)?
    private var made: RGBImage?

    init(seconds: Double, make: @escaping () throws -> RGBImage) {
        self.seconds = seconds
        self.make = make
    }

    func image() throws -> RGBImage {
        if let made { return made }
        let image = try make!()
        made = image
        make = nil // lets go of the decoder's frame
        return image
    }
}

/// A reference to a decoded frame's buffers, kept while its frame waits to be converted.
final class FrameReference {
    private(set) var frame: UnsafeMutablePointer<AVFrame>?

    init?(_ source: UnsafeMutablePointer<AVFrame>) {
        guard let clone = av_frame_clone(source) else { return nil }
        frame = clone
    }

    deinit {
        av_frame_free(&frame)
    }
}

/// Audio as the writer wants it: interleaved float samples.
public struct AudioChunk: Sendable {
    public var sampleRate: Int
    public var channels: Int
    /// Where the first sample falls in the clip, in seconds from the first video frame.
    public var seconds: Double
    public var samples: [Float]

    public init(sampleRate: Int, channels: Int, seconds: Double, samples: [Float]) {
        precondition(channels > 0 && samples.count % channels == 0)
        self.sampleRate = sampleRate
        self.channels = channels
        self.seconds = seconds
        self.samples = samples
    }
}

/// Reads a video file through FFmpeg's libraries: the first video stream (and the first audio
/// stream, if asked) decoded in one pass, frames converted to RGB at the size asked for and
/// turned upright.
final class VideoReader {
    /// Demuxers we accept; anything else FFmpeg might recognise (playlists, image sequences,
    /// raw streams) is refused after probing. Names are FFmpeg's.
    static let formats = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,mpegts,ogg"

    /// Video codecs people's cameras, phones and browsers write.
    static let videoCodecs: Set<AVCodecID> = [
        AV_CODEC_ID_H264, AV_CODEC_ID_HEVC, AV_CODEC_ID_VP8, AV_CODEC_ID_VP9, AV_CODEC_ID_AV1,
        AV_CODEC_ID_MPEG4, AV_CODEC_ID_MPEG2VIDEO, AV_CODEC_ID_MJPEG, AV_CODEC_ID_PRORES, AV_CODEC_ID_THEORA,
    ]

    private let input: MemoryInput
    private var format: UnsafeMutablePointer<AVFormatContext>?
    private let videoStream: Int32
    private let audioStream: Int32
    /// The video stream's own declared length, when it has one.
    private let videoSeconds: Double?
    let info: ClipInfo
    let limits: ClipLimits

    init(bytes: [UInt8], limits: ClipLimits) throws(VideoError) {
        try limits.check(byteCount: bytes.count)
        _ = quietFFmpeg
        self.limits = limits
        input = MemoryInput(bytes)
        guard let context = avformat_alloc_context() else { throw .encodingFailed(detail: "out of memory") }
        format = context
        let bufferSize = 64 * 1024
        guard let buffer = av_malloc(bufferSize),
              let io = avio_alloc_context(buffer.assumingMemoryBound(to: UInt8.self), Int32(bufferSize), 0,
                                          Unmanaged.passUnretained(input).toOpaque(), readMemory, nil, seekMemory) else {
            avformat_free_context(context)
            format = nil
            throw .encodingFailed(detail: "out of memory")
        }
        context.pointee.pb = io
        context.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
        context.pointee.format_whitelist = av_strdup(Self.formats)
        context.pointee.io_open = refuseOpen
        var opened: UnsafeMutablePointer<AVFormatContext>? = context
        let status = avformat_open_input(&opened, nil, nil, nil)
        if status < 0 {
            // avformat_open_input frees the context on failure; the custom I/O stays ours.
            format = nil
            Self.free(io)
            throw Self.looksLikeVideo(bytes) ? .damaged(detail: Self.message(status)) : .notAClip
        }
        format = opened
        // Until every stored property is set, a throw does not run deinit: close here.
        let probed: (video: Int32, audio: Int32, videoSeconds: Double?, info: ClipInfo)
        do {
            probed = try Self.probe(context, limits: limits)
        } catch {
            let io = context.pointee.pb
            var closing = opened
            avformat_close_input(&closing)
            Self.free(io)
            throw error
        }
        (videoStream, audioStream, videoSeconds, info) = probed
    }

    /// The streams and what the container declares, held to the limits.
    private static func probe(_ context: UnsafeMutablePointer<AVFormatContext>,
                              limits: ClipLimits) throws(VideoError) -> (Int32, Int32, Double?, ClipInfo) {
        // Probing reads at most its default 5 MB / 5 s of packets.
        let found = avformat_find_stream_info(context, nil)
        if found < 0 { throw .damaged(detail: message(found)) }
        let video = av_find_best_stream(context, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        // A container with no streams at all was cut before its first track was described.
        guard video >= 0, let stream = context.pointee.streams[Int(video)] else {
            throw context.pointee.nb_streams == 0 ? .damaged(detail: "no tracks are described") : .noVideoStream
        }
        let parameters = stream.pointee.codecpar.pointee
        guard videoCodecs.contains(parameters.codec_id) else {
            throw .unsupportedCodec(String(cString: avcodec_get_name(parameters.codec_id)))
        }
        try limits.check(width: Int(parameters.width), height: Int(parameters.height))
        // Sound is kept only when it can be decoded; a clip is not refused for its sound.
        var audio = av_find_best_stream(context, AVMEDIA_TYPE_AUDIO, -1, video, nil, 0)
        if audio >= 0, let codec = context.pointee.streams[Int(audio)]?.pointee.codecpar.pointee.codec_id,
           avcodec_find_decoder(codec) == nil {
            audio = -1
        }
        let videoSeconds = stream.pointee.duration > 0 ? Double(stream.pointee.duration) * value(stream.pointee.time_base) : nil
        let seconds = context.pointee.duration > 0 ? Double(context.pointee.duration) / Double(AV_TIME_BASE) : videoSeconds
        let rate = stream.pointee.avg_frame_rate.num > 0 && stream.pointee.avg_frame_rate.den > 0
            ? stream.pointee.avg_frame_rate : stream.pointee.r_frame_rate
        let info = ClipInfo(
            media: .video,
            container: String(cString: context.pointee.iformat.pointee.name),
            codec: String(cString: avcodec_get_name(parameters.codec_id)),
            storedWidth: Int(parameters.width), storedHeight: Int(parameters.height),
            rotation: rotation(of: stream),
            seconds: seconds,
            frameRate: rate.num > 0 && rate.den > 0 ? FrameRate(Int(rate.num), Int(rate.den)) : nil,
            frameCount: stream.pointee.nb_frames > 0 ? Int(stream.pointee.nb_frames) : nil,
            hasAudio: audio >= 0)
        if let seconds { try limits.check(seconds: seconds) }
        return (video, audio >= 0 ? audio : -1, videoSeconds, info)
    }

    deinit {
        if format != nil {
            let io = format!.pointee.pb
            avformat_close_input(&format)
            Self.free(io)
        }
    }

    private static func free(_ io: UnsafeMutablePointer<AVIOContext>?) {
        var io = io
        if io != nil { av_freep(&io!.pointee.buffer) }
        avio_context_free(&io)
    }

    /// Whether the bytes start like a container we read (so a failure to open means damage,
    /// not a different kind of file): ISO BMFF `ftyp`, Matroska/WebM's EBML header, RIFF AVI,
    /// FLV, Ogg, or an MPEG-TS sync byte.
    static func looksLikeVideo(_ bytes: [UInt8]) -> Bool {
        if bytes.count >= 8, bytes[4...7].elementsEqual("ftyp".utf8) { return true }
        let prefixes: [[UInt8]] = [[0x1A, 0x45, 0xDF, 0xA3], Array("RIFF".utf8), Array("FLV".utf8), Array("OggS".utf8)]
        return prefixes.contains { bytes.starts(with: $0) } || (bytes.count > 188 && bytes[0] == 0x47 && bytes[188] == 0x47)
    }

    /// The display matrix's rotation, as degrees clockwise to turn the stored frames upright.
    private static func rotation(of stream: UnsafeMutablePointer<AVStream>) -> Int {
        var size: Int = 0
        guard let matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size), size >= 36 else { return 0 }
        let counterClockwise = av_display_rotation_get(UnsafeRawPointer(matrix).assumingMemoryBound(to: Int32.self))
        guard counterClockwise.isFinite else { return 0 }
        // Rounded to a quarter turn: other angles are not something cameras write.
        let clockwise = Int((-counterClockwise / 90).rounded()) * 90
        return ((clockwise % 360) + 360) % 360
    }

    static func value(_ r: AVRational) -> Double { r.den == 0 ? 0 : Double(r.num) / Double(r.den) }

    static func message(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        av_strerror(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Decodes every frame once. Frames arrive at `width × height` (upright), each with its time
    /// from the first frame; audio, if `audio` is given, as float samples (at most stereo).
    /// Declarations are checked again as frames arrive: a clip longer, larger or with more frames
    /// than allowed stops with an error at the first frame that shows it.
    func decode(width: Int, height: Int, isCancelled: () -> Bool,
                frame onFrame: (DecodedFrame) throws -> Void,
                audio onAudio: ((AudioChunk) throws -> Void)?) throws {
        guard let format else { throw VideoError.noFrames }
        let video = try Decoder(stream: format.pointee.streams[Int(videoStream)]!)
        let audio = onAudio != nil && audioStream >= 0 ? try? Decoder(stream: format.pointee.streams[Int(audioStream)]!) : nil
        let resampler = try audio.map { try Resampler(decoder: $0.context) }
        let scaler = FrameScaler(width: info.rotation % 180 == 0 ? width : height,
                                 height: info.rotation % 180 == 0 ? height : width)
        let orientation: ExifOrientation = switch info.rotation {
        case 90: .right
        case 180: .down
        case 270: .left
        default: .up
        }
        var packet = av_packet_alloc()
        var frame = av_frame_alloc()
        defer {
            av_packet_free(&packet)
            av_frame_free(&frame)
        }
        guard let packet, let frame else { throw VideoError.encodingFailed(detail: "out of memory") }

        let videoTimeBase = Self.value(format.pointee.streams[Int(videoStream)]!.pointee.time_base)
        var firstVideoTime: Int64?
        var lastSeconds = -Double.infinity
        var decodedFrames = 0
        var damage = 0
        var audioOrigin: Double?

        func takeVideoFrames() throws {
            while true {
                let status = avcodec_receive_frame(video.context, frame)
                if status == artworker_averror_eagain() || status == artworker_averror_eof() { return }
                if status < 0 {
                    damage += 1
                    if damage > 16 { throw VideoError.damaged(detail: Self.message(status)) }
                    return
                }
                defer { av_frame_unref(frame) }
                decodedFrames += 1
                if decodedFrames > limits.maxDecodedFrames {
                    throw VideoError.tooManyFrames(count: decodedFrames, limit: limits.maxDecodedFrames)
                }
                // A stream may change size mid-way; every frame is held to the limits.
                try limits.check(width: Int(frame.pointee.width), height: Int(frame.pointee.height))
                var stamp = frame.pointee.best_effort_timestamp
                if stamp == artworker_av_nopts_value() { stamp = frame.pointee.pts }
                var seconds: Double
                if stamp == artworker_av_nopts_value() {
                    seconds = lastSeconds.isFinite ? lastSeconds + 1 / max(info.frameRate?.value ?? 25, 1) : 0
                } else {
                    if firstVideoTime == nil { firstVideoTime = stamp }
                    seconds = Double(stamp - firstVideoTime!) * videoTimeBase
                }
                seconds = max(seconds, lastSeconds.isFinite ? lastSeconds : 0)
                if seconds > limits.maxSeconds + 0.05 {
                    throw info.seconds == nil ? VideoError.tooLong(seconds: seconds, limit: limits.maxSeconds)
                        : VideoError.misdeclared(detail: "it says \(VideoError.seconds(info.seconds!)) but goes on past \(VideoError.seconds(limits.maxSeconds))")
                }
                if let declared = info.seconds, seconds > declared + 2 {
                    throw VideoError.misdeclared(detail: "it says \(VideoError.seconds(declared)) but has frames at \(VideoError.seconds(seconds))")
                }
                lastSeconds = seconds
                if isCancelled() { throw VideoError.cancelled }
                guard let held = FrameReference(frame) else { throw VideoError.encodingFailed(detail: "out of memory") }
                try onFrame(DecodedFrame(seconds: seconds) {
                    try scaler.convert(held.frame!).applyingOrientation(orientation)
                })
            }
        }

        func takeAudioFrames() throws {
            guard let audio, let resampler, let onAudio else { return }
            while true {
                let status = avcodec_receive_frame(audio.context, frame)
                if status < 0 { return } // EAGAIN, EOF, or a damaged packet: audio never fails a clip
                defer { av_frame_unref(frame) }
                let timeBase = Self.value(format.pointee.streams[Int(audioStream)]!.pointee.time_base)
                if audioOrigin == nil {
                    let stamp = frame.pointee.best_effort_timestamp
                    let videoStart = Double(firstVideoTime ?? 0) * videoTimeBase
                    audioOrigin = stamp == artworker_av_nopts_value() ? 0 : max(Double(stamp) * timeBase - videoStart, 0)
                }
                let samples = try resampler.convert(frame)
                if !samples.isEmpty {
                    try onAudio(AudioChunk(sampleRate: resampler.rate, channels: resampler.channels, seconds: audioOrigin!, samples: samples))
                }
            }
        }

        while true {
            let status = av_read_frame(format, packet)
            if status == artworker_averror_eof() { break }
            if status < 0 { throw VideoError.damaged(detail: Self.message(status)) }
            defer { av_packet_unref(packet) }
            if packet.pointee.stream_index == videoStream {
                let sent = avcodec_send_packet(video.context, packet)
                if sent < 0 && sent != artworker_averror_eagain() {
                    damage += 1
                    if damage > 16 { throw VideoError.damaged(detail: Self.message(sent)) }
                }
                try takeVideoFrames()
            } else if packet.pointee.stream_index == audioStream, let audio {
                if avcodec_send_packet(audio.context, packet) >= 0 { try takeAudioFrames() }
            }
        }
        avcodec_send_packet(video.context, nil)
        try takeVideoFrames()
        if let audio {
            avcodec_send_packet(audio.context, nil)
            try takeAudioFrames()
        }
        // A video stream without one decodable frame, or a file cut short (which still demuxes
        // cleanly up to the cut): compare with what the video stream itself declared (the
        // container's length may include a longer sound track).
        if decodedFrames == 0 { throw VideoError.damaged(detail: "not one frame could be decoded") }
        let declared = videoSeconds ?? info.seconds.map { $0 - 0.5 }
        if let declared, lastSeconds + frameInterval < declared - 0.5 {
            throw VideoError.damaged(detail: "it ends at \(VideoError.seconds(lastSeconds)) of \(VideoError.seconds(declared))")
        }
    }

    /// The audio the decoding pass will hand out (see `Resampler`), when the clip has sound.
    var audioFormat: (sampleRate: Int, channels: Int)? {
        guard audioStream >= 0, let format, let parameters = format.pointee.streams[Int(audioStream)]?.pointee.codecpar else { return nil }
        return Resampler.outputFormat(sampleRate: Int(parameters.pointee.sample_rate), channels: Int(parameters.pointee.ch_layout.nb_channels))
    }

    /// The duration of the last frame decoded: the container's average frame interval.
    var frameInterval: Double {
        1 / max(info.frameRate?.value ?? 25, 1)
    }
}

/// An opened decoder for one stream.
private final class Decoder {
    var context: UnsafeMutablePointer<AVCodecContext>?

    init(stream: UnsafeMutablePointer<AVStream>) throws(VideoError) {
        let parameters = stream.pointee.codecpar!
        guard let codec = avcodec_find_decoder(parameters.pointee.codec_id) else {
            throw .unsupportedCodec(String(cString: avcodec_get_name(parameters.pointee.codec_id)))
        }
        context = avcodec_alloc_context3(codec)
        guard let context else { throw .encodingFailed(detail: "out of memory") }
        guard avcodec_parameters_to_context(context, parameters) >= 0 else { throw .damaged(detail: "bad codec parameters") }
        context.pointee.pkt_timebase = stream.pointee.time_base
        // One thread: the generator already keeps every core busy, and frame threads would
        // hold several frames of memory each.
        context.pointee.thread_count = 1
        let status = avcodec_open2(context, codec, nil)
        if status < 0 { throw .damaged(detail: VideoReader.message(status)) }
    }

    deinit {
        avcodec_free_context(&context)
    }
}

/// Decoded pictures (any pixel format) → RGB at a fixed size, through swscale.
final class FrameScaler {
    let width: Int
    let height: Int
    private var context: OpaquePointer?

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    deinit {
        sws_freeContext(context)
    }

    func convert(_ frame: UnsafeMutablePointer<AVFrame>) throws(VideoError) -> RGBImage {
        context = sws_getCachedContext(context, frame.pointee.width, frame.pointee.height, AVPixelFormat(frame.pointee.format),
                                       Int32(width), Int32(height), AV_PIX_FMT_RGB24, SWS_BICUBIC | SWS_ACCURATE_RND, nil, nil, nil)
        guard let context else { throw .damaged(detail: "cannot convert pixel format \(frame.pointee.format)") }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let rows = pixels.withUnsafeMutableBufferPointer { out -> Int32 in
            var destination: [UnsafeMutablePointer<UInt8>?] = [out.baseAddress, nil, nil, nil]
            var stride: [Int32] = [Int32(width * 3), 0, 0, 0]
            return withUnsafePointer(to: &frame.pointee.data) { data in
                withUnsafePointer(to: &frame.pointee.linesize) { lines in
                    data.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { planes in
                        lines.withMemoryRebound(to: Int32.self, capacity: 8) { strides in
                            sws_scale(context, planes, strides, 0, frame.pointee.height, &destination, &stride)
                        }
                    }
                }
            }
        }
        if rows <= 0 { throw .damaged(detail: "a frame could not be converted") }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}

/// Decoded audio → interleaved float at the source rate (or 48 kHz where AAC cannot keep it),
/// mono or stereo.
final class Resampler {
    private var context: OpaquePointer?
    let rate: Int
    let channels: Int

    /// The rates AAC (ISO/IEC 14496-3, sampling_frequency_index) can carry.
    static let aacRates: Set<Int> = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000]

    static func outputFormat(sampleRate: Int, channels: Int) -> (sampleRate: Int, channels: Int) {
        (aacRates.contains(sampleRate) ? sampleRate : 48000, min(max(channels, 1), 2))
    }

    init(decoder: UnsafeMutablePointer<AVCodecContext>?) throws(VideoError) {
        guard let decoder else { throw .damaged(detail: "no audio decoder") }
        (rate, channels) = Self.outputFormat(sampleRate: Int(decoder.pointee.sample_rate), channels: Int(decoder.pointee.ch_layout.nb_channels))
        var output = AVChannelLayout()
        av_channel_layout_default(&output, Int32(channels))
        var input = decoder.pointee.ch_layout
        if input.order == AV_CHANNEL_ORDER_UNSPEC { av_channel_layout_default(&input, max(input.nb_channels, 1)) }
        var swr: OpaquePointer?
        guard swr_alloc_set_opts2(&swr, &output, AV_SAMPLE_FMT_FLT, Int32(rate), &input, decoder.pointee.sample_fmt,
                                  decoder.pointee.sample_rate, 0, nil) >= 0, swr_init(swr) >= 0 else {
            swr_free(&swr)
            throw .damaged(detail: "the audio cannot be converted")
        }
        context = swr
    }

    deinit {
        swr_free(&context)
    }

    func convert(_ frame: UnsafeMutablePointer<AVFrame>) throws(VideoError) -> [Float] {
        let capacity = Int(swr_get_out_samples(context, frame.pointee.nb_samples))
        guard capacity > 0 else { return [] }
        var samples = [Float](repeating: 0, count: capacity * channels)
        let produced = samples.withUnsafeMutableBytes { raw -> Int32 in
            var out: UnsafeMutablePointer<UInt8>? = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            return frame.pointee.extended_data.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { planes in
                swr_convert(context, &out, Int32(capacity), planes, frame.pointee.nb_samples)
            }
        }
        if produced < 0 { throw .damaged(detail: "the audio cannot be converted") }
        samples.removeLast(samples.count - Int(produced) * channels)
        return samples
    }
}
