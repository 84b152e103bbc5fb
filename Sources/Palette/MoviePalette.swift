/// A colour and how much it counts (a scene colour: its share of a tile, divided among the
/// scene's tiles; an imported colour: 1).
public struct WeightedColour: Sendable, Equatable {
    public var colour: Colour
    public var weight: Double

    public init(_ colour: Colour, weight: Double) {
        self.colour = colour
        self.weight = weight
    }
}

/// A movie's palette from all its colours: weighted k-means into a few dominant colours.
public enum MoviePalette {
    public static let dominantCount = 10

    /// Up to `count` colours with their share of the whole (largest first).
    public static func dominant(_ colours: [WeightedColour], count: Int = dominantCount) -> [KMeans.Cluster] {
        let counted = colours.filter { $0.weight > 0 }
        var points: [Float] = []
        points.reserveCapacity(counted.count * 3)
        for c in counted {
            let clamped = c.colour.clamped
            points += [Float(clamped.r), Float(clamped.g), Float(clamped.b)]
        }
        return KMeans.clusters(of: points, weights: counted.map { Float($0.weight) }, k: count, iterations: 50)
    }

    /// How different two palettes look: for each colour of one, the CIEDE2000 difference to the
    /// nearest colour of the other, averaged by weight, both ways, and the two averages averaged
    /// (a symmetric chamfer distance; 0 for the same palette, about 2 = barely noticeable).
    public static func distance(_ a: [WeightedColour], _ b: [WeightedColour]) -> Double {
        guard !a.isEmpty, !b.isEmpty else { return .infinity }
        let labA = a.map { $0.colour.lab }, labB = b.map { $0.colour.lab }
        func oneWay(_ from: [WeightedColour], _ fromLab: [(l: Double, a: Double, b: Double)],
                    _ toLab: [(l: Double, a: Double, b: Double)]) -> Double {
            var total = 0.0, weights = 0.0
            for (i, c) in from.enumerated() {
                let nearest = toLab.map { Colour.ciede2000(fromLab[i], $0) }.min() ?? 0
                total += nearest * c.weight
                weights += c.weight
            }
            return weights > 0 ? total / weights : 0
        }
        return (oneWay(a, labA, labB) + oneWay(b, labB, labA)) / 2
    }

    /// A scene's colours as weights that add up to 1 (each tile counts the same).
    public static func weighted(_ scene: [TileColour]) -> [WeightedColour] {
        let tiles = Set(scene.map(\.tile)).count
        return scene.map { WeightedColour($0.colour, weight: $0.share / Double(max(tiles, 1))) }
    }
}
