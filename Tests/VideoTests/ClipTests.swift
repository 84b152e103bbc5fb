import Foundation
import ImageIO
import Testing
import TestSupport
@testable import Video

/// Decoded frames and audio of a clip, read back through the reader.
private func readBack(_ bytes: [UInt8]) throws -> (info: ClipInfo, frames: [Double], audioSeconds: Double, first: RGBImage?) {
    let reader = try VideoReader(bytes: bytes, limits: .default)
    var times: [Double] = []
    var samples = 0, rate = 1, first: RGBImage?
    try reader.decode(width: reader.info.width - reader.info.width % 2, height: reader.info.height - reader.info.height % 2,
                      isCancelled: { false }, frame: { frame in
                          times.append(frame.seconds)
                          if first == nil { first = try frame.image() }
                      }, audio: { chunk in
                          samples += chunk.samples.count / chunk.channels
                          rate = chunk.sampleRate
                      })
    return (reader.info, times, Double(samples) / Double(rate), first)
}

private let work = FileManager.default.temporaryDirectory

/// Inverts colours: a stand-in for the network that is cheap and visibly changes every pixel.
private func invert(_ image: RGBImage) -> RGBImage {
    RGBImage(width: image.width, height: image.height, pixels: image.pixels.map { 255 - $0 })
}

@Suite("Clips: decode, sample, encode")
struct ClipRoundTripTests {
    @Test("MP4 with sound, on twos: 12 pictures a second, audio kept, same length")
    func onTwos() throws {
        let clip = try TestClip.make(seconds: 2, rate: FrameRate(24), audio: true)
        let result = try ClipConverter.convert(clip, options: ClipOptions(rate: .twos), workDirectory: work, process: invert)
        #expect(result.frames == 24)
        #expect(result.hasAudio)
        #expect(abs(result.seconds - 2) < 0.01)
        let back = try readBack(result.mp4)
        #expect(back.info.codec == "h264")
        #expect(back.info.hasAudio)
        #expect(back.frames.count == 24)
        #expect(back.info.frameRate == FrameRate(12))
        #expect(abs((back.info.seconds ?? 0) - 2) < 0.1)
        #expect(abs(back.audioSeconds - 2) < 0.1, "audio lasts \(back.audioSeconds) s")
        #expect(back.info.width == 96 && back.info.height == 64)
        // Mid-grey in, inverted out (H.264 is lossy: compare loosely, away from the square).
        let before = TestClip.frame(0, width: 96, height: 64)[80, 5], after = back.first![80, 5]
        #expect(abs(Int(after.r) - (255 - Int(before.r))) < 12 && abs(Int(after.g) - (255 - Int(before.g))) < 12)
    }

    @Test("At the clip's own rate every frame is kept")
    func sourceRate() throws {
        let clip = try TestClip.make(seconds: 1, rate: FrameRate(24), audio: false)
        let result = try ClipConverter.convert(clip, options: ClipOptions(rate: .source), workDirectory: work, process: { $0 })
        #expect(result.frames == 24)
        #expect(!result.hasAudio)
        let back = try readBack(result.mp4)
        #expect(back.frames.count == 24)
        #expect(back.info.frameRate == FrameRate(24))
    }

    @Test("A phone's turned clip comes out upright", arguments: [90, 180, 270])
    func rotation(degrees: Int) throws {
        let clip = try TestClip.make(seconds: 0.5, width: 96, height: 64, audio: false, rotation: degrees)
        let plan = try ClipConverter.plan(clip, options: ClipOptions())
        #expect(plan.info.rotation == degrees)
        var seen: RGBImage?
        let result = try ClipConverter.convert(clip, options: ClipOptions(), workDirectory: work, process: { image in
            if seen == nil { seen = image }
            return image
        })
        let upright = degrees == 180 ? (96, 64) : (64, 96)
        #expect((result.width, result.height) == upright)
        let back = try readBack(result.mp4)
        #expect(back.info.rotation == 0)
        #expect((back.info.width, back.info.height) == upright)
        // The stored frame's top-left corner (dark: red 0, green 0) must land where turning puts it.
        let corner: (Int, Int) = switch degrees {
        case 90: (upright.0 - 1, 0)
        case 180: (upright.0 - 1, upright.1 - 1)
        default: (0, upright.1 - 1)
        }
        let pixel = seen![corner.0, corner.1]
        #expect(pixel.r < 40 && pixel.g < 40, "corner \(corner) is \(pixel)")
    }

    @Test("WebM (VP9 and Opus) in, MP4 (H.264 and AAC) out")
    func webm() throws {
        let clip = try TestClip.make(seconds: 1, audio: true, encoding: .webm)
        let plan = try ClipConverter.plan(clip, options: ClipOptions())
        #expect(plan.info.codec == "vp9")
        #expect(plan.info.hasAudio)
        let result = try ClipConverter.convert(clip, options: ClipOptions(), workDirectory: work, process: { $0 })
        let back = try readBack(result.mp4)
        #expect(back.info.codec == "h264" && back.info.hasAudio)
        #expect(back.frames.count == 12)
    }

    @Test("GIF in: GIF and MP4 out, its own frames and delays kept")
    func gif() throws {
        let gif = try TestClip.gif(frames: 10, hundredths: 10)
        let plan = try ClipConverter.plan(gif, options: ClipOptions(rate: .source))
        #expect(plan.info.media == .gif && plan.info.frameCount == 10 && plan.info.seconds == 1)
        let result = try ClipConverter.convert(gif, options: ClipOptions(rate: .source), workDirectory: work, process: invert)
        #expect(result.frames == 10)
        #expect(abs(result.seconds - 1) < 0.001)
        let again = try ClipConverter.plan(try #require(result.gif), options: ClipOptions(rate: .source))
        #expect(again.info.frameCount == 10 && again.info.seconds == 1)
        #expect((again.info.width, again.info.height) == (48, 32))
        let back = try readBack(result.mp4)
        #expect(back.frames.count == 10)
        #expect(abs((back.info.seconds ?? 0) - 1) < 0.05)
    }

    @Test("The first picture, for a queued clip's preview", arguments: [false, true])
    func firstPicture(gif: Bool) throws {
        let clip = gif ? try TestClip.gif(frames: 4) : try TestClip.make(seconds: 1, audio: false, rotation: 90)
        let picture = try ClipConverter.firstPicture(clip, maxSide: 32)
        #expect(gif ? (picture.width, picture.height) == (32, 20) : (picture.width, picture.height) == (20, 32))
    }

    @Test("Progress counts pictures; cancelling stops the conversion")
    func progressAndCancel() throws {
        let clip = try TestClip.make(seconds: 1, audio: false)
        var reports: [(Int, Int?)] = []
        _ = try ClipConverter.convert(clip, options: ClipOptions(), workDirectory: work, progress: { reports.append(($0, $1)) }, process: { $0 })
        #expect(reports.map(\.0) == Array(1...12))
        #expect(reports.allSatisfy { $0.1 == 12 })
        var calls = 0
        #expect(throws: VideoError.cancelled) {
            _ = try ClipConverter.convert(clip, options: ClipOptions(), workDirectory: work, isCancelled: { calls >= 3 }, process: { image in
                calls += 1
                return image
            })
        }
        #expect(calls == 3)
    }
}

@Suite("Clips: hostile and broken input")
struct ClipRefusalTests {
    static func mvhdDuration(_ bytes: [UInt8], divide: Int) -> [UInt8] {
        // ISO/IEC 14496-12 §8.2.2 mvhd, version 0: size, 'mvhd', version+flags, creation,
        // modification, timescale, duration (32-bit big-endian at offset 20 from the box start).
        var bytes = bytes
        let tag = Array("mvhd".utf8)
        let at = (0..<(bytes.count - 4)).first { Array(bytes[$0..<($0 + 4)]) == tag }! - 4
        let d = at + 24
        let duration = Int(bytes[d]) << 24 | Int(bytes[d + 1]) << 16 | Int(bytes[d + 2]) << 8 | Int(bytes[d + 3])
        let lie = duration / divide
        for i in 0..<4 { bytes[d + i] = UInt8((lie >> (24 - 8 * i)) & 0xFF) }
        return bytes
    }

    @Test("Refused from the header, before any frame is decoded")
    func header() throws {
        let clip = try TestClip.make(seconds: 3, audio: false)
        #expect(throws: VideoError.tooLong(seconds: 3, limit: 2)) {
            _ = try ClipConverter.plan(clip, options: ClipOptions(limits: ClipLimits(maxSeconds: 2)))
        }
        #expect(throws: VideoError.tooLarge(width: 96, height: 64, limit: 64)) {
            _ = try ClipConverter.plan(clip, options: ClipOptions(limits: ClipLimits(maxSide: 64)))
        }
        #expect(throws: VideoError.tooManyFrames(count: 36, limit: 20)) {
            _ = try ClipConverter.plan(clip, options: ClipOptions(limits: ClipLimits(maxOutputFrames: 20)))
        }
        #expect(throws: VideoError.fileTooLarge(bytes: clip.count, limit: 1000)) {
            _ = try ClipConverter.plan(clip, options: ClipOptions(limits: ClipLimits(maxBytes: 1000)))
        }
    }

    @Test("Not a clip: empty, random bytes, a PNG, text named .mp4")
    func notAClip() throws {
        #expect(throws: VideoError.empty) { _ = try ClipConverter.plan([], options: ClipOptions()) }
        var random = SeededRandom(seed: 7)
        let noise = (0..<5000).map { _ in UInt8.random(in: 0...255, using: &random) }
        #expect(throws: VideoError.notAClip) { _ = try ClipConverter.plan(noise, options: ClipOptions()) }
        let png = try ImageEncoder.encode(TestClip.frame(0, width: 32, height: 32), as: .png)
        #expect(throws: VideoError.notAClip) { _ = try ClipConverter.plan(png, options: ClipOptions()) }
        let playlist = Array("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n".utf8)
        #expect(throws: VideoError.notAClip) { _ = try ClipConverter.plan(playlist, options: ClipOptions()) }
    }

    @Test("Truncated files are damaged, wherever the cut falls", arguments: [0.02, 0.5, 0.8])
    func truncated(fraction: Double) throws {
        let clip = try TestClip.make(seconds: 4, audio: true)
        let cut = Array(clip.prefix(Int(Double(clip.count) * fraction)))
        #expect {
            _ = try ClipConverter.convert(cut, options: ClipOptions(maxSide: 64), workDirectory: work, process: { $0 })
        } throws: { error in
            guard let error = error as? VideoError else { return false }
            if case .damaged = error { return true }
            return false
        }
    }

    @Test("A video track with no frames at all")
    func zeroLength() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("empty-\(UUID().uuidString).mp4")
        defer { try? FileManager.default.removeItem(at: url) }
        let writer = try VideoWriter(url: url, width: 32, height: 32, rate: FrameRate(24))
        try writer.finish()
        let bytes = Array(try Data(contentsOf: url))
        #expect {
            _ = try ClipConverter.convert(bytes, options: ClipOptions(), workDirectory: work, process: { $0 })
        } throws: { error in
            guard let error = error as? VideoError else { return false }
            switch error {
            case .damaged, .noFrames, .noVideoStream: return true
            default: return false
            }
        }
    }

    @Test("A clip that says it is short but goes on is stopped when caught")
    func lyingDuration() throws {
        let clip = try TestClip.make(seconds: 3, audio: false)
        let lie = Self.mvhdDuration(clip, divide: 6)
        let plan = try ClipConverter.plan(lie, options: ClipOptions(limits: ClipLimits(maxSeconds: 1)))
        #expect((plan.info.seconds ?? 9) < 1)
        var made = 0
        #expect {
            _ = try ClipConverter.convert(lie, options: ClipOptions(limits: ClipLimits(maxSeconds: 1)), workDirectory: work, process: { image in
                made += 1
                return image
            })
        } throws: { error in
            guard let error = error as? VideoError, case .misdeclared = error else { return false }
            return true
        }
        #expect(made <= 13, "stopped after \(made) pictures")
    }

    @Test("GIF bombs: a huge screen, a huge frame, thousands of frames")
    func gifBombs() throws {
        // GIF89a, screen 65535×65535, no colour table, then the trailer: 14 bytes.
        let screen: [UInt8] = Array("GIF89a".utf8) + [0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x3B]
        #expect(throws: VideoError.tooLarge(width: 65535, height: 65535, limit: 4096)) {
            _ = try ClipConverter.plan(screen, options: ClipOptions())
        }
        // A 16×16 screen whose one frame claims 60000×60000 (its pixels never come).
        var frame: [UInt8] = Array("GIF89a".utf8) + [16, 0, 16, 0, 0x80, 0, 0] + [0, 0, 0, 255, 255, 255]
        frame += [0x2C, 0, 0, 0, 0, 0x60, 0xEA, 0x60, 0xEA, 0x00, 0x02, 0x02, 0x4C, 0x01, 0x00, 0x3B]
        #expect(throws: VideoError.tooLarge(width: 60000, height: 60000, limit: 4096)) {
            _ = try ClipConverter.plan(frame, options: ClipOptions())
        }
        // A frame placed wholly right of and below the screen, disposed to the background:
        // drawn nowhere, and no crash (ranges past the screen were a trap).
        var offscreen: [UInt8] = Array("GIF89a".utf8) + [16, 0, 16, 0, 0x80, 0, 0] + [0, 0, 0, 255, 255, 255]
        for _ in 0..<2 {
            offscreen += [0x21, 0xF9, 0x04, 0x08, 10, 0, 0, 0] // disposal 2 (background), 10/100 s
            // 2×2 at (100, 100); LZW (min code size 2): clear and a pixel four times, then end.
            offscreen += [0x2C, 100, 0, 100, 0, 2, 0, 2, 0, 0x00, 0x02, 0x04, 0x04, 0x41, 0x10, 0x05, 0x00]
        }
        offscreen += [0x3B]
        let drawn = try ClipConverter.convert(offscreen, options: ClipOptions(rate: .source), workDirectory: work, process: { $0 })
        #expect(drawn.frames == 2 && drawn.poster.pixels.allSatisfy { $0 == 255 })
        let many = try TestClip.gif(frames: 5000, hundredths: 2, width: 4, height: 4)
        #expect(throws: VideoError.tooManyFrames(count: 4001, limit: 4000)) {
            _ = try ClipConverter.plan(many, options: ClipOptions(rate: .source, limits: ClipLimits(maxSeconds: 1000)))
        }
        // A truncated GIF.
        let gif = try TestClip.gif(frames: 10)
        #expect {
            _ = try ClipConverter.convert(Array(gif.prefix(gif.count / 2)), options: ClipOptions(rate: .source), workDirectory: work, process: { $0 })
        } throws: { error in
            guard let error = error as? VideoError, case .damaged = error else { return false }
            return true
        }
    }
}

@Suite("Frame sampling and flicker")
struct SamplingTests {
    @Test("Slots follow the frame on screen at each slot's time", arguments: [
        // (source rate, output rate, source frames, expected slots per frame)
        (24, 12, 6, [1, 0, 1, 0, 1, 0]),
        (12, 24, 3, [2, 2, 2]),
        (25, 12, 5, [1, 0, 1, 0, 1]),
        (30, 30, 3, [1, 1, 1]),
    ])
    func sampling(source: Int, output: Int, frames: Int, expected: [Int]) {
        var sampler = FrameSampler(rate: FrameRate(output))
        let counts = (0..<frames).map { i in sampler.take(until: Double(i + 1) / Double(source)).count }
        #expect(counts == expected)
    }

    @Test("Automatic rate: on twos for a video, a GIF's own frames and delays")
    func automaticRate() throws {
        var info = ClipInfo(media: .video, container: "mov,mp4,m4a,3gp,3g2,mj2", codec: "h264", storedWidth: 64, storedHeight: 48,
                            rotation: 0, seconds: 2, frameRate: FrameRate(30000, 1001), frameCount: 60, hasAudio: false)
        #expect(info.outputRate(.automatic) == .twos && info.outputRate(.source) == FrameRate(30000, 1001))
        #expect(info.estimatedOutputFrames(.automatic) == 24 && info.estimatedOutputFrames(.source) == 60)
        info.media = .gif
        #expect(info.outputRate(.automatic) == .centiseconds && info.estimatedOutputFrames(.automatic) == 60)
        #expect(FrameRateChoice(argument: "AUTO") == .automatic && FrameRateChoice(argument: "25") == nil)
    }

    @Test("Held where the input is still, taken where it moved")
    func reducer() {
        var reducer = FlickerReducer()
        let input = TestClip.frame(0, width: 32, height: 32)
        _ = reducer.apply(input: input, output: RGBImage(width: 32, height: 32, fill: RGB(10, 10, 10)))
        // Same input, different output: every pixel held.
        let held = reducer.apply(input: input, output: RGBImage(width: 32, height: 32, fill: RGB(30, 30, 30)))
        #expect(held.pixels.allSatisfy { $0 == 10 })
        // The square moved: pixels where it was or is now are replaced, the rest held.
        let moved = TestClip.frame(4, width: 32, height: 32)
        let out = reducer.apply(input: moved, output: RGBImage(width: 32, height: 32, fill: RGB(50, 50, 50)))
        #expect(out[0, 0] == RGB(10, 10, 10))
        #expect(out[13, 16] == RGB(50, 50, 50))
    }

    @Test("The metric counts output change only where the input is still")
    func meter() {
        var meter = FlickerMeter(threshold: 3)
        let input = RGBImage(width: 4, height: 1, fill: RGB(100, 100, 100))
        meter.add(input: input, output: RGBImage(width: 4, height: 1, fill: RGB(0, 0, 0)))
        var moved = input
        moved[0, 0] = RGB(200, 200, 200)
        var output = RGBImage(width: 4, height: 1, fill: RGB(6, 6, 6))
        output[0, 0] = RGB(255, 255, 255)
        meter.add(input: moved, output: output)
        #expect(meter.stillPixels == 3)
        #expect(meter.value == 6)
    }
}

@Suite("A film's frames every N seconds")
struct FilmFrameTests {
    @Test("the first frame at or after 0, N, 2N, … is taken, upright and at its size; the rest are never converted")
    func sampling() throws {
        let film = try TestClip.film()
        var times: [Double] = [], fractions: [Double] = []
        let taken = try FilmFrames.read(film, options: FilmOptions(interval: 2)) { seconds, image, fraction in
            #expect(image.width == 96 && image.height == 64)
            times.append(seconds)
            fractions.append(fraction)
        }
        #expect(taken == 10 && times == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18])
        #expect(fractions == fractions.sorted() && fractions.allSatisfy { (0...1).contains($0) })
        let plan = try FilmFrames.plan(film, options: FilmOptions(interval: 2))
        #expect(plan.estimatedFrames == 11 && plan.width == 96) // 20 s / 2 + 1: an upper bound, as the limit wants

        // A GIF: 10 frames of 0.1 s; every 0.5 s is frames 0 and 5.
        var gifTimes: [Double] = []
        try FilmFrames.read(try TestClip.gif(frames: 10, hundredths: 10), options: FilmOptions(interval: 0.5)) { seconds, _, _ in
            gifTimes.append(seconds)
        }
        #expect(gifTimes.map { ($0 * 100).rounded() } == [0, 50])

        // Frames larger than maxSide are scaled to fit it.
        let big = try TestClip.make(seconds: 1, rate: FrameRate(5), width: 320, height: 180, audio: false)
        try FilmFrames.read(big, options: FilmOptions(interval: 2, maxSide: 160)) { _, image, _ in
            #expect(image.width == 160 && image.height == 90)
        }
        // Cancelling stops the reading.
        #expect(throws: VideoError.self) { try FilmFrames.read(film, options: FilmOptions(), isCancelled: { true }) { _, _, _ in } }
    }
}
