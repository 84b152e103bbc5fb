import ImageIO

/// What was noticed about a frame besides its colours.
public struct SceneFlags: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Near-black bars above and below (or beside) the picture were cut off before tiling.
    public static let letterbox = SceneFlags(rawValue: 1)
    /// The frame is (nearly) black — a fade: its colours are not counted.
    public static let fade = SceneFlags(rawValue: 2)

    public static let named: [(String, SceneFlags)] = [("letterbox", .letterbox), ("fade", .fade)]

    /// "letterbox", "fade" or both, for storage and exports.
    public var names: [String] { Self.named.filter { contains($0.1) }.map(\.0) }

    public init(names: some Sequence<some StringProtocol>) {
        self = []
        for name in names {
            if let flag = Self.named.first(where: { $0.0 == name })?.1 { insert(flag) }
        }
    }
}

/// One of a scene's colours: tile 0–5 (row-major, 2 rows × 3 columns), rank 0–2 within the
/// tile (largest share first), and its share of the tile's pixels.
public struct TileColour: Sendable, Equatable {
    public var tile: Int
    public var rank: Int
    public var colour: Colour
    public var share: Double

    public init(tile: Int, rank: Int, colour: Colour, share: Double) {
        self.tile = tile
        self.rank = rank
        self.colour = colour
        self.share = share
    }
}

/// The analysis of one frame.
public struct ScenePalette: Sendable, Equatable {
    public var flags: SceneFlags
    /// The picture without its letterbox bars: x, y, width, height in the frame.
    public var content: (x: Int, y: Int, width: Int, height: Int)
    /// Up to 18 colours (3 per tile; fewer where a tile has fewer distinct colours); none for a fade.
    public var colours: [TileColour]

    public static func == (a: ScenePalette, b: ScenePalette) -> Bool {
        a.flags == b.flags && a.content == b.content && a.colours == b.colours
    }
}

/// Cuts a frame into 2 × 3 tiles and finds each tile's 3 main colours with k-means.
///
/// Speed: k-means runs on a regular grid of at most `samplesPerTile` pixels per tile; then one
/// pass over every pixel of the tile assigns it to the nearest centre, and the centres become
/// those pixels' means and the shares their exact counts. A 1920×1080 frame takes about 14 ms
/// on one core (`make bench-palette`), and the same frame always gives the same colours.
public struct SceneAnalyzer: Sendable {
    public static let rows = 2, columns = 3, coloursPerTile = 3
    /// Colours one scene has at most: k per tile, every tile (18).
    public static let coloursPerScene = rows * columns * coloursPerTile

    /// Brightest channel value (0–255) still counted as near-black.
    public var darkLevel: UInt8 = 24
    /// Fraction of near-black pixels that makes a row or column a bar, or a frame a fade.
    public var darkFraction: Double = 0.98
    public var samplesPerTile = 4096
    public var seed: UInt64 = 0x5EED

    public init() {}

    public func analyse(_ image: RGBImage) -> ScenePalette {
        let full = (x: 0, y: 0, width: image.width, height: image.height)
        if darkShare(image, x: 0, y: 0, width: image.width, height: image.height, step: 4) >= darkFraction {
            return ScenePalette(flags: .fade, content: full, colours: [])
        }
        let content = contentRect(image)
        // Bars thinner than 1 % of the picture are encoder borders, not a letterbox.
        let cut = (image.height - content.height) * 100 >= image.height || (image.width - content.width) * 100 >= image.width
        var colours: [TileColour] = []
        for row in 0..<Self.rows {
            for column in 0..<Self.columns {
                let x0 = content.x + content.width * column / Self.columns
                let x1 = content.x + content.width * (column + 1) / Self.columns
                let y0 = content.y + content.height * row / Self.rows
                let y1 = content.y + content.height * (row + 1) / Self.rows
                let tile = row * Self.columns + column
                for (rank, cluster) in tileClusters(image, x: x0, y: y0, width: max(1, x1 - x0), height: max(1, y1 - y0)).enumerated() {
                    colours.append(TileColour(tile: tile, rank: rank, colour: cluster.centre, share: cluster.share))
                }
            }
        }
        return ScenePalette(flags: cut ? .letterbox : [], content: content, colours: colours)
    }

    /// The frame without near-black bars at its edges (each side may lose at most 40 %).
    func contentRect(_ image: RGBImage) -> (x: Int, y: Int, width: Int, height: Int) {
        let w = image.width, h = image.height
        func darkRow(_ y: Int) -> Bool { darkShare(image, x: 0, y: y, width: w, height: 1, step: 2) >= darkFraction }
        func darkColumn(_ x: Int, _ top: Int, _ bottom: Int) -> Bool {
            darkShare(image, x: x, y: top, width: 1, height: bottom - top, step: 2) >= darkFraction
        }
        var top = 0, bottom = h
        while top < h * 2 / 5, darkRow(top) { top += 1 }
        while bottom > h - h * 2 / 5, bottom - 1 > top, darkRow(bottom - 1) { bottom -= 1 }
        var left = 0, right = w
        while left < w * 2 / 5, darkColumn(left, top, bottom) { left += 1 }
        while right > w - w * 2 / 5, right - 1 > left, darkColumn(right - 1, top, bottom) { right -= 1 }
        return (left, top, right - left, bottom - top)
    }

    /// The fraction of near-black pixels in a rectangle, looking at every `step`-th pixel.
    func darkShare(_ image: RGBImage, x: Int, y: Int, width: Int, height: Int, step: Int) -> Double {
        let level = darkLevel
        return image.pixels.withUnsafeBufferPointer { p -> Double in
            var dark = 0, seen = 0
            for yy in stride(from: y, to: y + height, by: step) {
                let rowStart = yy * image.width
                for xx in stride(from: x, to: x + width, by: step) {
                    let i = (rowStart + xx) * 3
                    if max(p[i], p[i + 1], p[i + 2]) <= level { dark += 1 }
                    seen += 1
                }
            }
            return seen == 0 ? 0 : Double(dark) / Double(seen)
        }
    }

    /// k-means on a grid sample of the tile, then one exact assignment pass over all its pixels.
    func tileClusters(_ image: RGBImage, x: Int, y: Int, width: Int, height: Int) -> [KMeans.Cluster] {
        let area = width * height
        let step = max(1, Int((Double(area) / Double(samplesPerTile)).squareRoot().rounded(.up)))
        var samples: [Float] = []
        samples.reserveCapacity(3 * (width / step + 1) * (height / step + 1))
        image.pixels.withUnsafeBufferPointer { p in
            for yy in stride(from: y + step / 2, to: y + height, by: step) {
                for xx in stride(from: x + step / 2, to: x + width, by: step) {
                    let i = (yy * image.width + xx) * 3
                    samples.append(Float(p[i])); samples.append(Float(p[i + 1])); samples.append(Float(p[i + 2]))
                }
            }
        }
        var centres = KMeans.centres(of: samples, weights: nil, k: Self.coloursPerTile, seed: seed, iterations: 20).centres
        guard !centres.isEmpty else { return [] }
        while centres.count < 4 { centres.append(SIMD3(repeating: .infinity)) } // unused slots never win

        // Every pixel to its nearest centre: integer sums, so the means and shares are exact.
        var sums = [SIMD4<Int>](repeating: .zero, count: 4)
        let c0 = centres[0], c1 = centres[1], c2 = centres[2], c3 = centres[3]
        image.pixels.withUnsafeBufferPointer { p in
            for yy in y..<(y + height) {
                var i = (yy * image.width + x) * 3
                let end = i + width * 3
                while i < end {
                    let r = p[i], g = p[i + 1], b = p[i + 2]
                    let v = SIMD3<Float>(Float(r), Float(g), Float(b))
                    let d0 = ((v - c0) * (v - c0)).sum(), d1 = ((v - c1) * (v - c1)).sum()
                    let d2 = ((v - c2) * (v - c2)).sum(), d3 = ((v - c3) * (v - c3)).sum()
                    var best = 0, bestDistance = d0
                    if d1 < bestDistance { best = 1; bestDistance = d1 }
                    if d2 < bestDistance { best = 2; bestDistance = d2 }
                    if d3 < bestDistance { best = 3 }
                    sums[best] &+= SIMD4(Int(r), Int(g), Int(b), 1)
                    i += 3
                }
            }
        }
        return sums.filter { $0.w > 0 }.map { s in
            let n = Double(s.w)
            return KMeans.Cluster(centre: Colour(r: Double(s.x) / n, g: Double(s.y) / n, b: Double(s.z) / n), share: n / Double(area))
        }.sorted { $0.share > $1.share }
    }
}
