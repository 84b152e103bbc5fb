import Foundation
import ImageIO
import Palette
import Video

/// A film's video as the colour study read it: a frame every N seconds, minus the frames that
/// would only repeat or darken the palette. The web job and `artworker palette` both read films
/// through here, so a film gives the same scenes either way.
public enum FilmScenes {
    /// A frame kept as a scene.
    public struct Scene {
        /// Where it was taken, in seconds from the first frame.
        public var seconds: Double
        public var image: RGBImage
        public var palette: ScenePalette

        /// `seconds` as stored and shown (`scene.time_ms`, `timecode`).
        public var milliseconds: Int { Int((seconds * 1000).rounded()) }
    }

    /// What reading the film did with the frames it took.
    public struct Counts: Sendable, Equatable {
        public var taken = 0
        public var kept = 0
        /// Frames (nearly) black: a fade, a cut to black, the titles' background.
        public var fades = 0
        /// Frames too like the last kept one to add anything (a held shot).
        public var repeats = 0
    }

    /// A frame is a repeat when its coarse picture (16×9 cells of mean colour) differs from the
    /// last kept frame's by less than this, on average per channel of 0–255. A held shot with
    /// people talking in it stays under 3; a cut, a pan of a few degrees or a light change
    /// goes well over.
    public static let repeatDistance = 3.0

    /// Reads the film, calling `scene` for each frame kept and `progress` with how far through
    /// the film reading is (0–1).
    @discardableResult
    public static func read(_ bytes: [UInt8], options: FilmOptions, isCancelled: () -> Bool = { false },
                            progress: (Double) -> Void = { _ in }, scene: (Scene) throws -> Void) throws -> Counts {
        let analyzer = SceneAnalyzer()
        var counts = Counts()
        var last: Signature?
        try FilmFrames.read(bytes, options: options, isCancelled: isCancelled) { seconds, image, fraction in
            counts.taken += 1
            defer { progress(fraction) }
            let signature = Signature(image)
            if let last, signature.distance(to: last) < repeatDistance {
                counts.repeats += 1
                return
            }
            let palette = analyzer.analyse(image)
            if palette.flags.contains(.fade) {
                counts.fades += 1
                return
            }
            last = signature
            counts.kept += 1
            try scene(Scene(seconds: seconds, image: image, palette: palette))
        }
        return counts
    }

    /// A time in a film as people read it: "12:34", "1:02:14" from an hour on, and tenths
    /// when there are any ("0:00.5"), so frames taken under a second apart read apart. A
    /// frame stamped a few milliseconds late (2.002 s at 23.976 frames a second) reads "0:02".
    public static func timecode(_ milliseconds: Int) -> String {
        let seconds = milliseconds / 1000, tenths = milliseconds % 1000 / 100
        let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60)
        let whole = h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
        return tenths > 0 ? "\(whole).\(tenths)" : whole
    }

    /// A frame's coarse picture: the mean colour of each of 16 × 9 cells.
    struct Signature {
        static let columns = 16, rows = 9
        var cells: [Float]

        init(_ image: RGBImage) {
            cells = [Float](repeating: 0, count: Self.columns * Self.rows * 3)
            for row in 0..<Self.rows {
                let y0 = image.height * row / Self.rows, y1 = max(y0 + 1, image.height * (row + 1) / Self.rows)
                for column in 0..<Self.columns {
                    let x0 = image.width * column / Self.columns, x1 = max(x0 + 1, image.width * (column + 1) / Self.columns)
                    var r = 0, g = 0, b = 0
                    // Every other pixel each way: a mean over thousands needs no more.
                    for y in stride(from: y0, to: min(y1, image.height), by: 2) {
                        for x in stride(from: x0, to: min(x1, image.width), by: 2) {
                            let p = image[x, y]
                            r += Int(p.r); g += Int(p.g); b += Int(p.b)
                        }
                    }
                    let n = Float(max(1, ((min(y1, image.height) - y0 + 1) / 2) * ((min(x1, image.width) - x0 + 1) / 2)))
                    let i = (row * Self.columns + column) * 3
                    cells[i] = Float(r) / n
                    cells[i + 1] = Float(g) / n
                    cells[i + 2] = Float(b) / n
                }
            }
        }

        /// Mean absolute difference per cell and channel.
        func distance(to other: Signature) -> Double {
            var sum: Float = 0
            for i in cells.indices { sum += abs(cells[i] - other.cells[i]) }
            return Double(sum) / Double(cells.count)
        }
    }
}
