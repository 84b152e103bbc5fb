import ImageIO
import Palette
import TestSupport
import Testing

/// Synthetic frames whose colours are known: each of the 6 tiles is three horizontal bands
/// (50 %, 30 %, 20 % of its rows) of known colours, optionally between black bars.
struct SyntheticFrame {
    static let shares = [0.5, 0.3, 0.2]

    /// Three distinct colours for tile `t`: hues apart per tile and per band, never near black.
    static func colours(tile t: Int) -> [RGB] {
        (0..<3).map { band in
            let c = Colour(h: Double(t * 60 + band * 137 % 360), s: 0.3 + 0.3 * Double(band), v: 0.95 - 0.25 * Double(band))
            return RGB(UInt8(c.r.rounded()), UInt8(c.g.rounded()), UInt8(c.b.rounded()))
        }
    }

    /// A frame `width` × (`contentHeight` + 2 × `bar`), tiles of `width / 3` × `contentHeight / 2`.
    static func make(width: Int = 600, contentHeight: Int = 300, bar: Int = 0, barColour: RGB = RGB(0, 0, 0)) -> RGBImage {
        var image = RGBImage(width: width, height: contentHeight + 2 * bar, fill: barColour)
        let tileWidth = width / 3, tileHeight = contentHeight / 2
        for t in 0..<6 {
            let x0 = (t % 3) * tileWidth, y0 = bar + (t / 3) * tileHeight
            let bands = colours(tile: t)
            let cuts = [0, tileHeight / 2, tileHeight * 8 / 10, tileHeight]
            for band in 0..<3 {
                for y in (y0 + cuts[band])..<(y0 + cuts[band + 1]) {
                    for x in x0..<(x0 + tileWidth) { image[x, y] = bands[band] }
                }
            }
        }
        return image
    }
}

@Suite("Scene analysis")
struct SceneAnalyzerTests {
    func expectKnownColours(_ palette: ScenePalette) {
        #expect(palette.colours.count == 18)
        for t in 0..<6 {
            let found = palette.colours.filter { $0.tile == t }.sorted { $0.rank < $1.rank }
            #expect(found.map(\.rank) == [0, 1, 2])
            for (rank, expected) in SyntheticFrame.colours(tile: t).enumerated() where rank < found.count {
                let c = found[rank]
                #expect(abs(c.colour.r - Double(expected.r)) < 1e-9 && abs(c.colour.g - Double(expected.g)) < 1e-9
                    && abs(c.colour.b - Double(expected.b)) < 1e-9, "tile \(t) rank \(rank): \(c.colour.hex) ≠ \(expected)")
                #expect(abs(c.share - SyntheticFrame.shares[rank]) < 1e-9, "tile \(t) rank \(rank) share \(c.share)")
            }
        }
    }

    @Test("2 × 3 tiles with k = 3 give back each tile's three colours and their exact shares")
    func knownColours() {
        let palette = SceneAnalyzer().analyse(SyntheticFrame.make())
        #expect(palette.flags == [])
        #expect(palette.content == (0, 0, 600, 300))
        expectKnownColours(palette)
    }

    @Test("near-black letterbox bars are cut off and flagged, not counted as colours")
    func letterbox() {
        // Bars with a little noise, as encoders leave them.
        var frame = SyntheticFrame.make(bar: 50, barColour: RGB(6, 4, 9))
        frame[10, 10] = RGB(40, 40, 40)
        let palette = SceneAnalyzer().analyse(frame)
        #expect(palette.flags == .letterbox)
        #expect(palette.content == (0, 50, 600, 300))
        expectKnownColours(palette)
        #expect(!palette.colours.contains { max($0.colour.r, $0.colour.g, $0.colour.b) < 30 })
    }

    @Test("a black frame is a fade: flagged, with no colours")
    func fade() {
        var frame = RGBImage(width: 320, height: 180, fill: RGB(3, 3, 3))
        frame[100, 100] = RGB(200, 180, 20) // a speck of light does not make it a scene
        let palette = SceneAnalyzer().analyse(frame)
        #expect(palette.flags == .fade && palette.colours.isEmpty)
    }

    @Test("a dark but real scene keeps its colours; a flat tile gives one colour, not three invented")
    func darkAndFlat() {
        let night = SceneAnalyzer().analyse(RGBImage(width: 300, height: 200, fill: RGB(20, 30, 90)))
        #expect(night.flags == [])
        #expect(night.colours.count == 6 && night.colours.allSatisfy { $0.colour.hex == "#141e5a" && $0.share == 1 && $0.rank == 0 })
    }

    @Test("the same frame always gives the same palette; big frames are sampled but shares stay exact")
    func reproducible() {
        var frame = SyntheticFrame.make(width: 1920, contentHeight: 1080)
        var random = SeededRandom(seed: 7)
        for i in stride(from: 0, to: frame.pixels.count, by: 1) { frame.pixels[i] = frame.pixels[i] &+ UInt8(random.next() % 3) }
        let a = SceneAnalyzer().analyse(frame), b = SceneAnalyzer().analyse(frame)
        #expect(a == b)
        #expect(a.colours.count == 18)
        for t in 0..<6 {
            let shares = a.colours.filter { $0.tile == t }.map(\.share)
            #expect(abs(shares.reduce(0, +) - 1) < 1e-9)
            #expect(zip(shares, SyntheticFrame.shares).allSatisfy { abs($0 - $1) < 1e-3 }, "tile \(t): \(shares)")
        }
    }

    @Test("the dominant palette weighs colours by share and keeps percentages")
    func dominant() {
        let colours = [WeightedColour(Colour(r: 250, g: 10, b: 10), weight: 0.6), WeightedColour(Colour(r: 248, g: 12, b: 8), weight: 0.1),
                       WeightedColour(Colour(r: 10, g: 10, b: 240), weight: 0.3)]
        let palette = MoviePalette.dominant(colours, count: 2)
        #expect(palette.count == 2)
        #expect(abs(palette[0].share - 0.7) < 1e-6 && abs(palette[1].share - 0.3) < 1e-6)
        #expect(palette[0].centre.hex == "#fa0a0a" && palette[1].centre.hex == "#0a0af0")
        #expect(MoviePalette.dominant(colours, count: 10).count == 3) // never more colours than there are
        let same = MoviePalette.distance(colours, colours)
        let other = MoviePalette.distance(colours, [WeightedColour(Colour(r: 0, g: 200, b: 0), weight: 1)])
        #expect(same == 0 && other > 30)
    }
}
