import CFFmpeg
import Foundation
import ImageIO

/// What a written clip is made of.
public struct VideoEncoding: Sendable {
    /// FFmpeg's muxer name.
    public var container: String
    /// FFmpeg's encoder names.
    public var videoCodec: String
    public var audioCodec: String
    /// Encoder options (x264's CRF and preset, VP9's CRF).
    public var videoOptions: [(String, String)]
    /// Muxer options: `movflags=+faststart` moves the index to the front so playback starts
    /// before the whole file has arrived.
    public var containerOptions: [(String, String)]

    /// The product's output: H.264 in MP4, yuv420p (what every browser and phone plays), AAC.
    public static let mp4 = VideoEncoding(
        container: "mp4", videoCodec: "libx264", audioCodec: "aac",
        videoOptions: [("preset", "medium"), ("crf", "20")], containerOptions: [("movflags", "+faststart")])
    /// VP9 and Opus in WebM: used by the tests to make clips of another kind to read.
    public static let webm = VideoEncoding(
        container: "webm", videoCodec: "libvpx-vp9", audioCodec: "libopus",
        videoOptions: [("crf", "32"), ("b", "0"), ("deadline", "realtime"), ("cpu-used", "8")], containerOptions: [])
}

/// Writes RGB frames (and float audio) into a video file through FFmpeg's libraries.
///
/// Frames carry presentation times in units of `1 / rate`; a frame held for several slots is
/// written once with a longer duration. Audio is trimmed to the video's length.
public final class VideoWriter {
    public let width: Int
    public let height: Int
    private let rate: FrameRate
    private var output: UnsafeMutablePointer<AVFormatContext>?
    private var video: UnsafeMutablePointer<AVCodecContext>?
    private var audio: UnsafeMutablePointer<AVCodecContext>?
    private var videoStream: UnsafeMutablePointer<AVStream>
    private var audioStream: UnsafeMutablePointer<AVStream>?
    private var picture: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var scaler: OpaquePointer?
    /// Durations by presentation time: the encoder reorders frames, the muxer needs each one's length.
    private var durations: [Int64: Int64] = [:]
    private var videoEnd: Int64 = 0
    private var pendingAudio: [Float] = []
    private var audioWritten: Int64 = 0
    private let audioChannels: Int
    private let audioRate: Int
    private var finished = false

    /// - rotation: degrees clockwise a player should turn the frames (0 for everything the
    ///   product writes; the tests write turned clips like a phone's).
    public init(url: URL, width: Int, height: Int, rate: FrameRate, encoding: VideoEncoding = .mp4,
                audio audioFormat: (sampleRate: Int, channels: Int)? = nil, rotation: Int = 0) throws(VideoError) {
        precondition(width > 0 && height > 0 && width % 2 == 0 && height % 2 == 0, "4:2:0 needs even sides")
        _ = quietFFmpeg
        self.width = width
        self.height = height
        self.rate = rate
        audioChannels = audioFormat?.channels ?? 0
        audioRate = audioFormat?.sampleRate ?? 0
        var context: UnsafeMutablePointer<AVFormatContext>?
        guard avformat_alloc_output_context2(&context, nil, encoding.container, url.path) >= 0, let context else {
            throw .encodingFailed(detail: "no \(encoding.container) muxer")
        }
        output = context
        guard let codec = avcodec_find_encoder_by_name(encoding.videoCodec), let stream = avformat_new_stream(context, nil) else {
            avformat_free_context(context)
            output = nil
            throw .encodingFailed(detail: "no \(encoding.videoCodec) encoder")
        }
        videoStream = stream
        let globalHeader = context.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0

        video = avcodec_alloc_context3(codec)
        guard let video else { throw .encodingFailed(detail: "out of memory") }
        video.pointee.width = Int32(width)
        video.pointee.height = Int32(height)
        video.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        video.pointee.time_base = AVRational(num: Int32(rate.denominator), den: Int32(rate.numerator))
        video.pointee.framerate = AVRational(num: Int32(rate.numerator), den: Int32(rate.denominator))
        // swscale converts with BT.601 coefficients into limited range: say so in the stream.
        video.pointee.colorspace = AVCOL_SPC_SMPTE170M
        video.pointee.color_range = AVCOL_RANGE_MPEG
        video.pointee.thread_count = 1
        if globalHeader { video.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        for (key, value) in encoding.videoOptions { av_opt_set(video.pointee.priv_data, key, value, 0) }
        var status = avcodec_open2(video, codec, nil)
        guard status >= 0 else { throw .encodingFailed(detail: "\(encoding.videoCodec): \(VideoReader.message(status))") }
        avcodec_parameters_from_context(stream.pointee.codecpar, video)
        stream.pointee.time_base = video.pointee.time_base
        stream.pointee.avg_frame_rate = video.pointee.framerate
        if rotation != 0 {
            // ISO/IEC 14496-12 tkhd matrix, written from FFmpeg's display-matrix side data.
            if let matrix = av_stream_new_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, 36) {
                // av_display_rotation_set takes the clockwise angle; readers get it back negated
                // (av_display_rotation_get answers counterclockwise), as VideoReader expects.
                av_display_rotation_set(UnsafeMutableRawPointer(matrix).assumingMemoryBound(to: Int32.self), Double(rotation))
            }
        }

        if let audioFormat {
            guard let codec = avcodec_find_encoder_by_name(encoding.audioCodec), let stream = avformat_new_stream(context, nil) else {
                throw .encodingFailed(detail: "no \(encoding.audioCodec) encoder")
            }
            audioStream = stream
            audio = avcodec_alloc_context3(codec)
            guard let audio else { throw .encodingFailed(detail: "out of memory") }
            // Float samples, planar (FFmpeg's AAC) or interleaved (libopus), whichever it takes.
            var formats: [AVSampleFormat] = []
            if var list = codec.pointee.sample_fmts {
                while list.pointee != AV_SAMPLE_FMT_NONE { formats.append(list.pointee); list += 1 }
            }
            guard let chosen = [AV_SAMPLE_FMT_FLTP, AV_SAMPLE_FMT_FLT].first(where: formats.contains) else {
                throw .encodingFailed(detail: "\(encoding.audioCodec) takes no float samples")
            }
            audio.pointee.sample_fmt = chosen
            audio.pointee.sample_rate = Int32(audioFormat.sampleRate)
            av_channel_layout_default(&audio.pointee.ch_layout, Int32(audioFormat.channels))
            audio.pointee.bit_rate = Int64(96_000 * audioFormat.channels)
            audio.pointee.time_base = AVRational(num: 1, den: Int32(audioFormat.sampleRate))
            if globalHeader { audio.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
            status = avcodec_open2(audio, codec, nil)
            guard status >= 0 else { throw .encodingFailed(detail: "\(encoding.audioCodec): \(VideoReader.message(status))") }
            avcodec_parameters_from_context(stream.pointee.codecpar, audio)
            stream.pointee.time_base = audio.pointee.time_base
        }

        status = avio_open(&context.pointee.pb, url.path, AVIO_FLAG_WRITE)
        guard status >= 0 else { throw .encodingFailed(detail: "\(url.path): \(VideoReader.message(status))") }
        var options: OpaquePointer?
        for (key, value) in encoding.containerOptions { av_dict_set(&options, key, value, 0) }
        status = avformat_write_header(context, &options)
        av_dict_free(&options)
        guard status >= 0 else { throw .encodingFailed(detail: VideoReader.message(status)) }

        picture = av_frame_alloc()
        packet = av_packet_alloc()
        guard let picture, packet != nil else { throw .encodingFailed(detail: "out of memory") }
        picture.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        picture.pointee.width = Int32(width)
        picture.pointee.height = Int32(height)
        guard av_frame_get_buffer(picture, 0) >= 0 else { throw .encodingFailed(detail: "out of memory") }
        scaler = sws_getContext(Int32(width), Int32(height), AV_PIX_FMT_RGB24, Int32(width), Int32(height), AV_PIX_FMT_YUV420P,
                                SWS_BICUBIC | SWS_ACCURATE_RND, nil, nil, nil)
        guard scaler != nil else { throw .encodingFailed(detail: "no RGB to YUV conversion") }
    }

    deinit {
        if let output, !finished, output.pointee.pb != nil { avio_closep(&output.pointee.pb) }
        avcodec_free_context(&video)
        avcodec_free_context(&audio)
        av_frame_free(&picture)
        av_packet_free(&packet)
        sws_freeContext(scaler)
        avformat_free_context(output)
    }

    /// Adds a picture shown from slot `start` for `duration` slots (slots are `1 / rate`).
    public func write(_ image: RGBImage, start: Int64, duration: Int64) throws(VideoError) {
        precondition(image.width == width && image.height == height, "frames must all be \(width)×\(height)")
        guard let picture, av_frame_make_writable(picture) >= 0 else { throw .encodingFailed(detail: "out of memory") }
        image.pixels.withUnsafeBufferPointer { rgb in
            var source: [UnsafePointer<UInt8>?] = [rgb.baseAddress, nil, nil, nil]
            var stride: [Int32] = [Int32(width * 3), 0, 0, 0]
            withUnsafePointer(to: &picture.pointee.data) { data in
                withUnsafePointer(to: &picture.pointee.linesize) { lines in
                    data.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { planes in
                        lines.withMemoryRebound(to: Int32.self, capacity: 8) { strides in
                            _ = sws_scale(scaler, &source, &stride, 0, Int32(height), planes, strides)
                        }
                    }
                }
            }
        }
        picture.pointee.pts = start
        durations[start] = duration
        videoEnd = max(videoEnd, start + duration)
        try send(picture, to: video, stream: videoStream)
    }

    /// Adds audio: interleaved float samples in the format given at creation. Samples before the
    /// chunk's start are filled with silence; samples past the video's end are dropped at `finish`.
    public func write(audio chunk: AudioChunk) throws(VideoError) {
        guard audio != nil, chunk.channels == audioChannels, chunk.sampleRate == audioRate else { return }
        let expected = Int64((chunk.seconds * Double(audioRate)).rounded())
        let have = audioWritten + Int64(pendingAudio.count / audioChannels)
        if expected > have + Int64(audioRate / 50) {
            pendingAudio += [Float](repeating: 0, count: Int(expected - have) * audioChannels)
        }
        pendingAudio += chunk.samples
        try encodePendingAudio(flush: false)
    }

    /// Flushes the encoders and writes the index (with faststart, by rewriting the file once).
    public func finish() throws(VideoError) {
        guard !finished else { return }
        try send(nil, to: video, stream: videoStream)
        if audio != nil {
            try encodePendingAudio(flush: true)
            try send(nil, to: audio, stream: audioStream!)
        }
        let status = av_write_trailer(output)
        finished = true
        avio_closep(&output!.pointee.pb)
        guard status >= 0 else { throw .encodingFailed(detail: VideoReader.message(status)) }
    }

    /// The video's length in seconds so far.
    public var seconds: Double { Double(videoEnd) / rate.value }

    private func encodePendingAudio(flush: Bool) throws(VideoError) {
        guard let audio else { return }
        let frameSize = audio.pointee.frame_size > 0 ? Int(audio.pointee.frame_size) : 1024
        // Audio stops where the video does.
        let endSample = flush ? Int64((seconds * Double(audioRate)).rounded()) : Int64.max
        while true {
            var count = min(frameSize, pendingAudio.count / audioChannels)
            count = Int(min(Int64(count), max(endSample - audioWritten, 0)))
            if count == 0 || (!flush && count < frameSize) { break }
            guard let frame = av_frame_alloc() else { throw .encodingFailed(detail: "out of memory") }
            var owned: UnsafeMutablePointer<AVFrame>? = frame
            defer { av_frame_free(&owned) }
            frame.pointee.nb_samples = Int32(count)
            frame.pointee.format = audio.pointee.sample_fmt.rawValue
            frame.pointee.sample_rate = Int32(audioRate)
            av_channel_layout_copy(&frame.pointee.ch_layout, &audio.pointee.ch_layout)
            guard av_frame_get_buffer(frame, 0) >= 0 else { throw .encodingFailed(detail: "out of memory") }
            let planar = audio.pointee.sample_fmt == AV_SAMPLE_FMT_FLTP
            pendingAudio.withUnsafeBufferPointer { interleaved in
                if planar {
                    for channel in 0..<audioChannels {
                        let plane = UnsafeMutableRawPointer(frame.pointee.extended_data[channel]!).assumingMemoryBound(to: Float.self)
                        for i in 0..<count { plane[i] = interleaved[i * audioChannels + channel] }
                    }
                } else {
                    let plane = UnsafeMutableRawPointer(frame.pointee.extended_data[0]!).assumingMemoryBound(to: Float.self)
                    plane.update(from: interleaved.baseAddress!, count: count * audioChannels)
                }
            }
            pendingAudio.removeFirst(count * audioChannels)
            frame.pointee.pts = audioWritten
            audioWritten += Int64(count)
            try send(frame, to: audio, stream: audioStream!)
        }
        if flush { pendingAudio.removeAll() }
    }

    private func send(_ frame: UnsafeMutablePointer<AVFrame>?, to encoder: UnsafeMutablePointer<AVCodecContext>?,
                      stream: UnsafeMutablePointer<AVStream>) throws(VideoError) {
        var status = avcodec_send_frame(encoder, frame)
        guard status >= 0 else { throw .encodingFailed(detail: VideoReader.message(status)) }
        while true {
            status = avcodec_receive_packet(encoder, packet)
            if status == artworker_averror_eagain() || status == artworker_averror_eof() { return }
            guard status >= 0, let packet else { throw .encodingFailed(detail: VideoReader.message(status)) }
            if stream == videoStream, let duration = durations.removeValue(forKey: packet.pointee.pts) {
                packet.pointee.duration = duration
            }
            av_packet_rescale_ts(packet, encoder!.pointee.time_base, stream.pointee.time_base)
            packet.pointee.stream_index = stream.pointee.index
            status = av_interleaved_write_frame(output, packet)
            guard status >= 0 else { throw .encodingFailed(detail: VideoReader.message(status)) }
        }
    }
}
