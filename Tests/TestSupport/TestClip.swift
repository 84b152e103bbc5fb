import Foundation
import ImageIO
import Video

/// Clips made in the test run by our own writers: a still gradient with a square moving across
/// it, and a 440 Hz tone, so a test can check frames, timing, sound and orientation.
public enum TestClip {
    /// Frame `index` of the moving-square picture, `width × height`.
    public static func frame(_ index: Int, width: Int, height: Int) -> RGBImage {
        var image = RGBImage(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width {
                image[x, y] = RGB(UInt8(x * 255 / max(width - 1, 1)), UInt8(y * 255 / max(height - 1, 1)), 96)
            }
        }
        let side = max(2, min(width, height) / 4)
        let left = (index * 3) % max(width - side, 1)
        for y in (height / 2 - side / 2)..<(height / 2 - side / 2 + side) {
            for x in left..<(left + side) { image[x, y] = RGB(250, 250, 250) }
        }
        return image
    }

    /// An encoded clip: `seconds` long at `rate`, `width × height` stored, optionally with a
    /// tone and turned by `rotation` degrees (as a phone writes it). `picture` draws frame i
    /// (default: the moving square).
    public static func make(seconds: Double = 2, rate: FrameRate = FrameRate(24), width: Int = 96, height: Int = 64,
                            audio: Bool = true, rotation: Int = 0, encoding: VideoEncoding = .mp4,
                            picture: ((Int) -> RGBImage)? = nil) throws -> [UInt8] {
        let ext = encoding.container == "webm" ? "webm" : "mp4"
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("testclip-\(UUID().uuidString).\(ext)")
        defer { try? FileManager.default.removeItem(at: url) }
        let sampleRate = 48000
        let writer = try VideoWriter(url: url, width: width, height: height, rate: rate, encoding: encoding,
                                     audio: audio ? (sampleRate, 2) : nil, rotation: rotation)
        let frames = Int((seconds * rate.value).rounded())
        for i in 0..<frames {
            try writer.write(picture?(i) ?? frame(i, width: width, height: height), start: Int64(i), duration: 1)
        }
        if audio {
            let count = Int(seconds * Double(sampleRate))
            var samples = [Float](repeating: 0, count: count * 2)
            for i in 0..<count {
                let v = 0.3 * sin(2 * Float.pi * 440 * Float(i) / Float(sampleRate))
                samples[2 * i] = v
                samples[2 * i + 1] = v
            }
            try writer.write(audio: AudioChunk(sampleRate: sampleRate, channels: 2, seconds: 0, samples: samples))
        }
        try writer.finish()
        return Array(try Data(contentsOf: url))
    }

    /// A short "film" at 5 frames a second, 20 s, 96 × 64, made for the colour study's rules
    /// (a frame every 2 s): black at 0–2 s and 12–14 s (fades), one held shot at 2–8 s, another
    /// at 8–12 s, and the moving square from 14 s (every frame taken there differs).
    public static func film(seconds: Double = 20) throws -> [UInt8] {
        let (width, height) = (96, 64)
        var held = RGBImage(width: width, height: height), other = RGBImage(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width {
                held[x, y] = RGB(UInt8(40 + x), UInt8(120 + y), 200)
                other[x, y] = RGB(220, UInt8(60 + y * 2), UInt8(30 + x / 2))
            }
        }
        let black = RGBImage(width: width, height: height, fill: RGB(0, 0, 0))
        return try make(seconds: seconds, rate: FrameRate(5), width: width, height: height, audio: false) { i in
            switch Double(i) / 5 {
            case ..<2, 12..<14: black
            case ..<8: held
            case ..<12: other
            default: frame(i, width: width, height: height)
            }
        }
    }

    /// An animated GIF of `frames` moving-square frames, each shown `hundredths`.
    public static func gif(frames: Int = 10, hundredths: Int = 10, width: Int = 48, height: Int = 32) throws -> [UInt8] {
        let writer = try GIFWriter(width: width, height: height)
        for i in 0..<frames { try writer.write(frame(i, width: width, height: height), hundredths: hundredths) }
        return try writer.finish()
    }
}
