import Foundation
import Markup

/// Server-drawn SVG pictures of palettes: swatch strips, 3D scatter plots (RGB cube, HSV
/// cylinder) and a hue histogram. Colours are `fill` attributes, never inline styles, so the
/// pages work under a Content-Security-Policy without 'unsafe-inline'. Every text is escaped.
public enum PalettePlots {
    /// A horizontal strip of swatches, widths proportional to the weights.
    public static func strip(_ colours: [WeightedColour], width: Int = 600, height: Int = 40, label: String) -> String {
        let total = colours.reduce(0) { $0 + max($1.weight, 0) }
        var svg = "<svg class=\"strip\" viewBox=\"0 0 \(width) \(height)\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"\(HTML.escape(label))\">"
        guard total > 0 else { return svg + "</svg>" }
        var x = 0.0
        for c in colours where c.weight > 0 {
            let w = Double(width) * c.weight / total
            svg += "<rect x=\"\(f(x))\" y=\"0\" width=\"\(f(w + 0.5))\" height=\"\(height)\" fill=\"\(c.colour.hex)\">"
                + "<title>\(c.colour.hex) \(f(c.weight / total * 100))%</title></rect>"
            x += w
        }
        return svg + "</svg>"
    }

    /// At most this many stripes in a fingerprint: 600 columns of 18 colours each drew 657 KB
    /// of SVG; a column 1.5 px wide shows its four largest shares just as well.
    public static let fingerprintStripes = 2400

    /// Scenes over time, from columns of weighted colours (`MovieOverview` merges many scenes
    /// into one column), stacked by share, darkest at the bottom; an empty column is a fade
    /// (black). Each column keeps its largest shares, at most
    /// `fingerprintStripes / columns` of them (1...18), scaled to fill the column.
    public static func fingerprint(columns: [[WeightedColour]], width: Int = 900, height: Int = 90, words: Words = .english) -> String {
        var svg = "<svg class=\"fingerprint\" viewBox=\"0 0 \(width) \(height)\" preserveAspectRatio=\"none\" role=\"img\" "
            + "aria-label=\"\(HTML.escape(words.fingerprint))\">"
        guard !columns.isEmpty else { return svg + "</svg>" }
        let columnWidth = Double(width) / Double(columns.count)
        let perColumn = max(1, min(SceneAnalyzer.coloursPerScene, fingerprintStripes / columns.count))
        for (i, column) in columns.enumerated() {
            let x = Double(i) * columnWidth
            let largest = column.filter { $0.weight > 0 }.sorted { $0.weight > $1.weight }.prefix(perColumn)
            let keptWeight = largest.reduce(0) { $0 + $1.weight }
            let colours = largest.sorted { $0.colour.hsv.v > $1.colour.hsv.v }
            if colours.isEmpty {
                svg += "<rect x=\"\(f(x))\" y=\"0\" width=\"\(f(columnWidth + 0.5))\" height=\"\(height)\" fill=\"#000000\"/>"
                continue
            }
            var y = 0.0
            for c in colours {
                let h = Double(height) * c.weight / keptWeight
                svg += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(columnWidth + 0.5))\" height=\"\(f(h + 0.5))\" fill=\"\(c.colour.hex)\"/>"
                y += h
            }
        }
        return svg + "</svg>"
    }

    /// Colours to plot: all of them up to `limit`; beyond that, merged into a 16-level RGB grid
    /// (at most 4096 cells, each its colours' weighted mean and total weight), so nothing is dropped.
    public static func plotted(_ colours: [WeightedColour], limit: Int = 2000) -> [WeightedColour] {
        guard colours.count > limit else { return colours }
        var cells: [Int: (sum: SIMD3<Double>, weight: Double)] = [:]
        for c in colours where c.weight > 0 {
            let v = c.colour.clamped
            let key = Int(v.r / 16) << 8 | Int(v.g / 16) << 4 | Int(v.b / 16)
            cells[key, default: (.zero, 0)].sum += SIMD3(v.r, v.g, v.b) * c.weight
            cells[key, default: (.zero, 0)].weight += c.weight
        }
        return cells.keys.sorted().map { key in
            let cell = cells[key]!
            let mean = cell.sum / cell.weight
            return WeightedColour(Colour(r: mean.x, g: mean.y, b: mean.z), weight: cell.weight)
        }
    }

    /// A view direction: turned `yaw` degrees about the vertical axis, tilted `pitch` degrees.
    public struct View: Sendable, Equatable {
        public var yaw: Double
        public var pitch: Double
        public init(yaw: Double = 35, pitch: Double = 25) {
            self.yaw = yaw
            self.pitch = pitch
        }

        /// Model coordinates (x right, y up, z towards the viewer before turning) to the
        /// screen: x, y (down), depth (larger = nearer). The page's script (app.js) turns the
        /// plots with the same formula.
        public func project(_ p: SIMD3<Double>) -> SIMD3<Double> {
            let a = yaw * .pi / 180, b = pitch * .pi / 180
            let x1 = p.x * cos(a) + p.z * sin(a), z1 = -p.x * sin(a) + p.z * cos(a)
            let y2 = p.y * cos(b) - z1 * sin(b), z2 = p.y * sin(b) + z1 * cos(b)
            return SIMD3(x1, -y2, z2)
        }
    }

    /// The colours in the RGB cube (R to the right, G up, B towards the viewer), each a dot of
    /// its own colour, area by weight, drawn far to near.
    public static func rgbCube(_ colours: [WeightedColour], view: View = View(), size: Int = 420, words: Words = .english) -> String {
        func model(_ r: Double, _ g: Double, _ b: Double) -> SIMD3<Double> { SIMD3(r / 255 - 0.5, g / 255 - 0.5, b / 255 - 0.5) }
        let corners = [(0.0, 0.0, 0.0), (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255), (255, 255, 255)]
            .map { model($0.0, $0.1, $0.2) }
        // Edges join corners that differ in one channel.
        var edges: [(SIMD3<Double>, SIMD3<Double>)] = []
        for i in corners.indices {
            for j in corners.indices where j > i {
                let d = corners[i] - corners[j]
                if [d.x, d.y, d.z].filter({ $0 != 0 }).count == 1 { edges.append((corners[i], corners[j])) }
            }
        }
        let axes = [(words.red, model(255, 0, 0), model(300, 0, 0)), (words.green, model(0, 255, 0), model(0, 300, 0)),
                    (words.blue, model(0, 0, 255), model(0, 0, 300))]
        return scatter(colours, view: view, size: size, title: words.rgbTitle, kind: "rgb", edges: edges, axes: axes,
                       origin: ("0", model(0, 0, 0))) { c in
            let v = c.clamped
            return model(v.r, v.g, v.b)
        }
    }

    /// The colours in the HSV cylinder: hue around, saturation outwards, value up.
    public static func hsvCylinder(_ colours: [WeightedColour], view: View = View(), size: Int = 420, words: Words = .english) -> String {
        func model(_ h: Double, _ s: Double, _ v: Double) -> SIMD3<Double> {
            let a = h * .pi / 180
            return SIMD3(0.5 * s * cos(a), v - 0.5, -0.5 * s * sin(a))
        }
        var edges: [(SIMD3<Double>, SIMD3<Double>)] = []
        for v in [0.0, 1.0] {
            for step in 0..<48 {
                edges.append((model(Double(step) * 7.5, 1, v), model(Double(step + 1) * 7.5, 1, v)))
            }
        }
        edges.append((model(0, 0, 0), model(0, 0, 1)))
        for h in [0.0, 90, 180, 270] { edges.append((model(h, 1, 0), model(h, 1, 1))) }
        let axes = [(words.value, model(0, 0, 1), model(0, 0, 1.12)), (words.hue + " 0°", model(0, 1, 1), model(0, 1.18, 1)),
                    ("120°", model(120, 1, 1), model(120, 1.18, 1)), ("240°", model(240, 1, 1), model(240, 1.18, 1)),
                    (words.saturation, model(0, 0, 0), model(300, 0.55, -0.08))]
        return scatter(colours, view: view, size: size, title: words.hsvTitle, kind: "hsv", edges: edges, axes: axes,
                       origin: nil) { c in
            let hsv = c.hsv
            return model(hsv.h, hsv.s, hsv.v)
        }
    }

    static func scatter(_ colours: [WeightedColour], view: View, size: Int, title: String, kind: String,
                        edges: [(SIMD3<Double>, SIMD3<Double>)], axes: [(String, SIMD3<Double>, SIMD3<Double>)],
                        origin: (String, SIMD3<Double>)?, position: (Colour) -> SIMD3<Double>) -> String {
        let scale = Double(size) * 0.52, centre = Double(size) / 2
        func screen(_ p: SIMD3<Double>) -> SIMD3<Double> {
            let q = view.project(p)
            return SIMD3(centre + q.x * scale, centre + q.y * scale, q.z)
        }
        // Lines and labels also carry their model coordinates (data-a/data-b, data-m) and the
        // svg its view and kind, so the page's script can turn the plot by dragging with the
        // same projection; a dot's place follows from its fill colour (the kind says how), so
        // dots carry nothing more — 2,000 of them would add a third of a megabyte to the page.
        // Without scripting the server's drawing stands as it is.
        func m(_ p: SIMD3<Double>) -> String { "\(f3(p.x)) \(f3(p.y)) \(f3(p.z))" }
        var svg = "<svg class=\"plot3d\" viewBox=\"0 0 \(size) \(size)\" role=\"img\" aria-label=\"\(HTML.escape(title))\""
            + " data-kind=\"\(kind)\" data-yaw=\"\(f(view.yaw))\" data-pitch=\"\(f(view.pitch))\" data-size=\"\(size)\">"
            + "<title>\(HTML.escape(title))</title><rect width=\"\(size)\" height=\"\(size)\" fill=\"#f4f4f6\"/>"
        svg += "<g stroke=\"#9a9aa6\" stroke-width=\"1\" fill=\"none\">"
        for (a, b) in edges {
            let p = screen(a), q = screen(b)
            svg += "<line x1=\"\(f(p.x))\" y1=\"\(f(p.y))\" x2=\"\(f(q.x))\" y2=\"\(f(q.y))\" data-a=\"\(m(a))\" data-b=\"\(m(b))\"/>"
        }
        svg += "</g>"
        let points = plotted(colours)
        let heaviest = points.map(\.weight).max() ?? 1
        // Painter's algorithm: far points first, so near ones cover them.
        let placed = points.map { (colour: $0.colour, weight: $0.weight, at: screen(position($0.colour))) }
            .sorted { $0.at.z < $1.at.z }
        svg += "<g class=\"dots\" stroke=\"#33333a\" stroke-width=\"0.4\">"
        for p in placed {
            let radius = 2 + 7 * (p.weight / heaviest).squareRoot()
            svg += "<circle cx=\"\(f(p.at.x))\" cy=\"\(f(p.at.y))\" r=\"\(f(radius))\" fill=\"\(p.colour.hex)\"/>"
        }
        // Labels last, with a halo of the background colour, so dots never hide them.
        svg += "</g><g font-size=\"13\" fill=\"#222228\" stroke=\"none\">"
        let halo = "stroke=\"#f4f4f6\" stroke-width=\"4\" stroke-linejoin=\"round\" paint-order=\"stroke\""
        for (name, from, to) in axes {
            let p = screen(from), q = screen(to)
            svg += "<line x1=\"\(f(p.x))\" y1=\"\(f(p.y))\" x2=\"\(f(q.x))\" y2=\"\(f(q.y))\" stroke=\"#222228\" stroke-width=\"1.5\""
                + " data-a=\"\(m(from))\" data-b=\"\(m(to))\"/>"
            svg += "<text x=\"\(f(q.x))\" y=\"\(f(q.y))\" text-anchor=\"middle\" \(halo) data-m=\"\(m(to))\">\(HTML.escape(name))</text>"
        }
        if let (name, at) = origin {
            let p = screen(at)
            svg += "<text x=\"\(f(p.x))\" y=\"\(f(p.y + 14))\" text-anchor=\"middle\" \(halo) data-m=\"\(m(at))\" data-dy=\"14\">"
                + "\(HTML.escape(name))</text>"
        }
        return svg + "</g></svg>"
    }

    /// How the film's colourful weight spreads over hue, in 10° bins; greys (saturation or value
    /// below 15 %) are one bar of their own on the right.
    public static func hueHistogram(_ colours: [WeightedColour], width: Int = 720, height: Int = 180) -> String {
        hueHistogram(bins: hueBins(colours), width: width, height: height)
    }

    /// The weight per 10° of hue (36 bins), then the weight of greys (a 37th).
    public static func hueBins(_ colours: [WeightedColour]) -> [Double] {
        var bins = [Double](repeating: 0, count: 37)
        for c in colours where c.weight > 0 {
            let hsv = c.colour.hsv
            if hsv.s < 0.15 || hsv.v < 0.15 { bins[36] += c.weight } else { bins[min(35, Int(hsv.h / 10))] += c.weight }
        }
        return bins
    }

    /// The histogram from `hueBins`.
    public static func hueHistogram(bins all: [Double], width: Int = 720, height: Int = 180, words: Words = .english) -> String {
        let bins = Array(all.prefix(36)), neutral = all.count > 36 ? all[36] : 0
        let total = all.reduce(0, +)
        let plotHeight = Double(height - 30), barWidth = Double(width - 60) / 37
        let tallest = max(bins.max() ?? 0, neutral, 1e-12)
        var svg = "<svg class=\"hues\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(HTML.escape(words.hueTitle))\">"
            + "<title>\(HTML.escape(words.hueTitle))</title>"
        func bar(_ i: Int, _ value: Double, _ fill: String, _ label: String) {
            let h = plotHeight * value / tallest
            let x = 10 + Double(i) * barWidth + (i == 36 ? barWidth * 0.5 : 0)
            let percent = total > 0 ? value / total * 100 : 0
            svg += "<rect x=\"\(f(x))\" y=\"\(f(plotHeight - h + 4))\" width=\"\(f(barWidth - 1))\" height=\"\(f(h))\" fill=\"\(fill)\">"
                + "<title>\(HTML.escape(label)): \(f(percent))%</title></rect>"
        }
        for (i, value) in bins.enumerated() {
            bar(i, value, Colour(h: Double(i) * 10 + 5, s: 0.75, v: 0.9).hex, "\(words.hue) \(i * 10)–\(i * 10 + 10)°")
        }
        bar(36, neutral, "#8a8a8a", words.greys)
        svg += "<g font-size=\"12\" fill=\"#222228\">"
        for degrees in stride(from: 0, through: 300, by: 60) { // 360° is 0° again
            svg += "<text x=\"\(f(10 + Double(degrees) / 10 * barWidth))\" y=\"\(height - 8)\" text-anchor=\"middle\">\(degrees)°</text>"
        }
        svg += "<text x=\"\(f(10 + 37 * barWidth))\" y=\"\(height - 8)\" text-anchor=\"middle\">\(HTML.escape(words.grey))</text></g>"
        return svg + "</svg>"
    }

    /// The words the plots draw or name them by: English by default, the app passes its
    /// reader's language.
    public struct Words: Sendable {
        public var fingerprint, rgbTitle, red, green, blue, hsvTitle, value, hue, saturation, hueTitle, greys, grey: String

        public init(fingerprint: String, rgbTitle: String, red: String, green: String, blue: String, hsvTitle: String,
                    value: String, hue: String, saturation: String, hueTitle: String, greys: String, grey: String) {
            (self.fingerprint, self.rgbTitle, self.red, self.green, self.blue, self.hsvTitle) = (fingerprint, rgbTitle, red, green, blue, hsvTitle)
            (self.value, self.hue, self.saturation, self.hueTitle, self.greys, self.grey) = (value, hue, saturation, hueTitle, greys, grey)
        }

        public static let english = Words(
            fingerprint: "The film's colours scene by scene, from the first scene on the left to the last",
            rgbTitle: "The film's colours in the RGB cube", red: "Red", green: "Green", blue: "Blue",
            hsvTitle: "The film's colours in the HSV cylinder", value: "Value", hue: "Hue", saturation: "Saturation",
            hueTitle: "Hue distribution of the film's colours", greys: "Greys, black and white", grey: "grey")
    }

    /// Three decimals: enough for model coordinates in [-0.7, 0.7] drawn at a few hundred pixels.
    static func f3(_ value: Double) -> String { String(format: "%.3f", value) }

    static func f(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
