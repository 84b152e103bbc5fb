import Foundation

/// What a movie page draws of the whole film, bounded whatever the film's length: computed
/// once when the movie is stored (a quarter of a million scenes made a 102 MB page when every
/// scene and colour was drawn on each view), kept as JSON beside the movie.
public struct MovieOverview: Sendable, Equatable {
    /// At most `fingerprintColumns` columns of scenes, left to right; an empty column is a fade.
    public var fingerprint: [[WeightedColour]]
    /// Every colour, merged on a grid past `PalettePlots.plotted`'s limit (the 3D plots).
    public var plot: [WeightedColour]
    /// Colourful weight per 10° of hue (36 bins), then the grey weight.
    public var hues: [Double]
    /// The colours of no known scene, merged the same way, for their strip; and how many.
    public var ungrouped: [WeightedColour]
    public var ungroupedCount: Int

    public static let fingerprintColumns = 600
    public static let ungroupedLimit = 600

    public init(_ document: PaletteDocument) {
        let scenes = document.scenes
        let columns = min(scenes.count, Self.fingerprintColumns)
        fingerprint = (0..<columns).map { column in
            // Scenes [start, end) fall into this column; their colours are merged into a few.
            let start = column * scenes.count / columns, end = (column + 1) * scenes.count / columns
            let merged = scenes[start..<end].flatMap { MoviePalette.weighted($0.colours) }
            guard !merged.isEmpty else { return [] }
            let cells = end - start == 1 ? merged : PalettePlots.plotted(merged, limit: 0)
            let kept = cells.sorted { $0.weight > $1.weight }.prefix(SceneAnalyzer.coloursPerScene)
            let keptTotal = kept.reduce(0) { $0 + $1.weight }
            return kept.map { WeightedColour($0.colour, weight: keptTotal > 0 ? $0.weight / keptTotal : 0) }
        }
        let all = document.weightedColours
        plot = PalettePlots.plotted(all)
        hues = PalettePlots.hueBins(all)
        ungrouped = PalettePlots.plotted(document.ungrouped.map { WeightedColour($0, weight: 1) }, limit: Self.ungroupedLimit)
        ungroupedCount = document.ungrouped.count
    }

    // MARK: JSON (numbers only: [[r, g, b, weight], …])

    struct Stored: Codable {
        var fingerprint: [[[Double]]]
        var plot: [[Double]]
        var hues: [Double]
        var ungrouped: [[Double]]
        var ungroupedCount: Int
    }

    static func pack(_ colours: [WeightedColour]) -> [[Double]] { colours.map { [$0.colour.r, $0.colour.g, $0.colour.b, $0.weight] } }
    static func unpack(_ rows: [[Double]]) -> [WeightedColour] {
        rows.compactMap { $0.count == 4 ? WeightedColour(Colour(r: $0[0], g: $0[1], b: $0[2]), weight: $0[3]) : nil }
    }

    public func json() -> String {
        let stored = Stored(fingerprint: fingerprint.map(Self.pack), plot: Self.pack(plot), hues: hues, ungrouped: Self.pack(ungrouped),
                            ungroupedCount: ungroupedCount)
        // Arrays of numbers cannot fail to encode.
        return String(decoding: try! JSONEncoder().encode(stored), as: UTF8.self)
    }

    public init?(json: String) {
        guard let stored = try? JSONDecoder().decode(Stored.self, from: Data(json.utf8)), stored.hues.count == 37 else { return nil }
        fingerprint = stored.fingerprint.map(Self.unpack)
        plot = Self.unpack(stored.plot)
        hues = stored.hues
        ungrouped = Self.unpack(stored.ungrouped)
        ungroupedCount = stored.ungroupedCount
    }
}
