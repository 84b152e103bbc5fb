import Foundation
import Palette
import Testing

@Suite("Colours")
struct ColourTests {
    @Test("RGB → HSV → RGB returns the colour, over a grid of the cube")
    func hsvRoundTrip() {
        for r in stride(from: 0.0, through: 255, by: 17) {
            for g in stride(from: 0.0, through: 255, by: 17) {
                for b in stride(from: 0.0, through: 255, by: 17) {
                    let c = Colour(r: r, g: g, b: b), (h, s, v) = c.hsv
                    let back = Colour(h: h, s: s, v: v)
                    #expect(abs(back.r - r) < 1e-9 && abs(back.g - g) < 1e-9 && abs(back.b - b) < 1e-9, "\(c)")
                }
            }
        }
    }

    @Test("known HSV values and hex, with clamping")
    func knownValues() {
        #expect(Colour(r: 255, g: 0, b: 0).hsv == (0, 1, 1))
        #expect(Colour(r: 0, g: 255, b: 0).hsv.h == 120 && Colour(r: 0, g: 0, b: 255).hsv.h == 240)
        #expect(Colour(r: 255, g: 0, b: 255).hsv.h == 300 && Colour(r: 128, g: 128, b: 128).hsv == (0, 0, 128.0 / 255))
        #expect(Colour(r: 255, g: 128.4, b: 0).hex == "#ff8000" && Colour(r: -1e-14, g: 255.0000001, b: 10).hex == "#00ff0a")
    }

    @Test("sRGB → Lab (D65)")
    func lab() {
        let white = Colour(r: 255, g: 255, b: 255).lab
        #expect(abs(white.l - 100) < 1e-3 && abs(white.a) < 1e-3 && abs(white.b) < 1e-3)
        let red = Colour(r: 255, g: 0, b: 0).lab // reference values: 53.2408, 80.0925, 67.2032
        #expect(abs(red.l - 53.2408) < 0.01 && abs(red.a - 80.0925) < 0.01 && abs(red.b - 67.2032) < 0.01)
    }

    @Test("CIEDE2000 matches Sharma, Wu and Dalal's test data", arguments: [
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
        ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ])
    func ciede2000(_ a: (Double, Double, Double), _ b: (Double, Double, Double), expected: Double) {
        #expect(abs(Colour.ciede2000(a, b) - expected) < 1e-4)
        #expect(abs(Colour.ciede2000(b, a) - expected) < 1e-4) // symmetric
    }
}

@Suite("k-means")
struct KMeansTests {
    @Test("three colour blobs give their colours back with their shares, the same every time")
    func blobs() {
        var points: [Float] = []
        let colours: [(Float, Float, Float, Int)] = [(200, 30, 30, 500), (20, 180, 60, 300), (40, 40, 220, 200)]
        var noise: UInt64 = 1
        for (r, g, b, count) in colours {
            for _ in 0..<count {
                for base in [r, g, b] {
                    noise = noise &* 6364136223846793005 &+ 1442695040888963407
                    points.append(base + Float(Int(noise >> 61)) - 3.5) // ±3.5
                }
            }
        }
        let clusters = KMeans.clusters(of: points, k: 3)
        #expect(clusters.map(\.share) == [0.5, 0.3, 0.2])
        for (cluster, expected) in zip(clusters, colours) {
            #expect(abs(cluster.centre.r - Double(expected.0)) < 1 && abs(cluster.centre.g - Double(expected.1)) < 1
                    && abs(cluster.centre.b - Double(expected.2)) < 1)
        }
        #expect(KMeans.clusters(of: points, k: 3) == clusters)
    }

    @Test("fewer distinct colours than k gives fewer clusters, not invented ones")
    func flat() {
        let points = [Float](repeating: 0, count: 300).enumerated().map { Float($0.offset % 3 == 0 ? 90 : 10) }
        let clusters = KMeans.clusters(of: points, k: 3)
        #expect(clusters.count == 1 && clusters[0].share == 1 && clusters[0].centre.hex == "#5a0a0a")
        #expect(KMeans.clusters(of: [], k: 3).isEmpty)
    }
}
