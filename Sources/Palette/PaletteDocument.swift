import Foundation

/// A movie's colours as a whole: its scenes' tile colours in order, or colours imported without
/// any grouping (the original study's files), with the metadata the exports carry.
public struct PaletteDocument: Sendable, Equatable {
    public struct Scene: Sendable, Equatable {
        /// 1-based position in the film.
        public var number: Int
        public var flags: SceneFlags
        public var colours: [TileColour]
        /// Where a frame taken from a film's video was taken, in seconds.
        public var seconds: Double?

        public init(number: Int, flags: SceneFlags = [], colours: [TileColour], seconds: Double? = nil) {
            self.number = number
            self.flags = flags
            self.colours = colours
            self.seconds = seconds
        }
    }

    public var title: String
    public var year: Int?
    public var director: String?
    public var scenes: [Scene]
    /// Colours that belong to no known scene or tile, in file order.
    public var ungrouped: [Colour]

    public init(title: String, year: Int? = nil, director: String? = nil, scenes: [Scene] = [], ungrouped: [Colour] = []) {
        self.title = title
        self.year = year
        self.director = director
        self.scenes = scenes
        self.ungrouped = ungrouped
    }

    /// Every colour with its weight for the dominant palette: each analysed scene counts as one
    /// (fades count nothing), each ungrouped colour as one 18th of a scene.
    public var weightedColours: [WeightedColour] {
        scenes.flatMap { MoviePalette.weighted($0.colours) }
            + ungrouped.map { WeightedColour($0, weight: 1.0 / 18) }
    }

    public var colourCount: Int { scenes.reduce(0) { $0 + $1.colours.count } + ungrouped.count }

    // MARK: Exports

    public static let csvHeader = "scene,tile,rank,r,g,b,h,s,v,hex,share"

    /// One row per colour; scene, tile and rank are 1-based and empty for ungrouped colours.
    /// RGB and share are written in full precision, so importing the file gives the same colours.
    public func csv() -> String {
        var out = Self.csvHeader + "\n"
        func row(_ scene: String, _ tile: String, _ rank: String, _ c: Colour, _ share: String) {
            let hsv = c.hsv
            out += [scene, tile, rank, "\(c.r)", "\(c.g)", "\(c.b)", Self.fixed(hsv.h, 2), Self.fixed(hsv.s, 4),
                    Self.fixed(hsv.v, 4), c.hex, share].joined(separator: ",") + "\n"
        }
        for scene in scenes {
            for c in scene.colours { row("\(scene.number)", "\(c.tile + 1)", "\(c.rank + 1)", c.colour, "\(c.share)") }
        }
        for c in ungrouped { row("", "", "", c, "") }
        return out
    }

    /// A GIMP palette (`.gpl`): the dominant colours first, then every colour in order.
    public func gpl(dominant: [KMeans.Cluster]) -> String {
        let name = title.filter { !$0.isNewline }
        var out = "GIMP Palette\nName: \(name)\nColumns: 18\n# Exported by Artworker\n"
        func line(_ c: Colour, _ label: String) {
            let v = c.clamped
            let channels = [v.r, v.g, v.b].map { String(Int($0.rounded())) }.map { String(repeating: " ", count: 3 - $0.count) + $0 }
            out += channels.joined(separator: " ") + "\t" + label + "\n"
        }
        for (i, d) in dominant.enumerated() { line(d.centre, "Dominant \(i + 1) \(d.centre.hex) \(Self.fixed(d.share * 100, 1))%") }
        for scene in scenes {
            for c in scene.colours { line(c.colour, "Scene \(scene.number) tile \(c.tile + 1) \(c.colour.hex)") }
        }
        for (i, c) in ungrouped.enumerated() { line(c, "Colour \(i + 1) \(c.hex)") }
        return out
    }

    /// The JSON export: metadata, dominant palette, scenes with flags and colours, ungrouped colours.
    public func json(id: String, dominant: [KMeans.Cluster]) throws -> Data {
        struct ColourJSON: Encodable {
            var r, g, b, h, s, v: Double
            var hex: String
            var tile, rank: Int?
            var share: Double?
            init(_ c: Colour, tile: Int? = nil, rank: Int? = nil, share: Double? = nil) {
                let hsv = c.hsv
                (r, g, b, h, s, v, hex) = (c.r, c.g, c.b, hsv.h, hsv.s, hsv.v, c.hex)
                self.tile = tile
                self.rank = rank
                self.share = share
            }
        }
        struct SceneJSON: Encodable { var scene: Int; var seconds: Double?; var flags: [String]; var colours: [ColourJSON] }
        struct Body: Encodable {
            var id, title: String
            var year: Int?
            var director: String?
            var dominant: [ColourJSON]
            var scenes: [SceneJSON]
            var ungrouped: [ColourJSON]
        }
        let body = Body(id: id, title: title, year: year, director: director,
                        dominant: dominant.map { ColourJSON($0.centre, share: $0.share) },
                        scenes: scenes.map { s in
                            SceneJSON(scene: s.number, seconds: s.seconds, flags: s.flags.names,
                                      colours: s.colours.map { ColourJSON($0.colour, tile: $0.tile + 1, rank: $0.rank + 1, share: $0.share) })
                        },
                        ungrouped: ungrouped.map { ColourJSON($0) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(body)
    }

    static func fixed(_ value: Double, _ digits: Int) -> String {
        String(format: "%.\(digits)f", value)
    }
}
