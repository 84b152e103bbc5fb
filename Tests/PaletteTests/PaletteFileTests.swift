import Foundation
import ImageIO
import Palette
import TestSupport
import Testing

@Suite("Colour files: import and export")
struct PaletteFileTests {
    @Test("the original study's Paprika file imports whole: every row, clamped, ungrouped")
    func sharedStudyFile() throws {
        let bytes = try SharedData.bytes("testdata/palettes/Paprika_BGR.csv")
        let parsed = try PaletteCSV.parse(bytes)
        #expect(parsed.ungrouped.count == 10_110)
        #expect(parsed.scenes.isEmpty) // 10,110 is not a multiple of 18: no scenes are invented
        #expect(parsed.clampedValues > 0)
        #expect(parsed.ungrouped.allSatisfy { [$0.r, $0.g, $0.b].allSatisfy { (0...255).contains($0) } })
        // The first row as written (R, G, B order despite the file name).
        #expect(parsed.ungrouped[0] == Colour(r: 127.81233820675291, g: 112.92467788429684, b: 150.13156365833913))
        let dominant = MoviePalette.dominant(PaletteDocument(title: "Paprika", ungrouped: parsed.ungrouped).weightedColours)
        #expect(dominant.count == MoviePalette.dominantCount)
        #expect(abs(dominant.map(\.share).reduce(0, +) - 1) < 1e-9)
    }

    @Test("scientific notation, tiny negatives, CRLF, a BOM, blank lines and quotes are read")
    func tolerantReading() throws {
        let text = "\u{FEFF}x,y,z\r\n1.5e2,-6.5e-14,255.0000001\r\n\r\n\"12\", 34 ,56\r\n"
        let parsed = try PaletteCSV.parse(Array(text.utf8))
        #expect(parsed.ungrouped == [Colour(r: 150, g: 0, b: 255), Colour(r: 12, g: 34, b: 56)])
        #expect(parsed.clampedValues == 2)
    }

    @Test("bad files give a clear reason", arguments: [
        ("", "The file is empty."),
        ("\n\n", "The file is empty."),
        ("x,y,z\n", "The file has a header but no colours."),
        ("r,g,b\n1,2,3\n", "Line 1 must be the header"),
        ("1,2,3\n4,5,6\n", "Line 1 must be the header"),
        ("x,y,z\n1,2,3\n4,five,6\n", "Line 3: the green value \"five\" is not a number."),
        ("x,y,z\n1,2,nan\n", "Line 2: the blue value \"nan\" is not a number."),
        ("x,y,z\n1,2\n", "Line 2 has 2 values; the header names 3."),
        ("x,y,z\n1,2,300\n", "Line 2: the blue value 300.0 is outside 0–255."),
        ("x,y,z\n-12,2,3\n", "Line 2: the red value -12.0 is outside 0–255."),
        ("\u{89}PNG\r\n\u{1A}\n\0\0\0", "This is not a CSV text file."),
    ])
    func badFiles(text: String, reason: String) {
        #expect {
            try PaletteCSV.parse(Array(text.utf8))
        } throws: { error in
            "\(error)".hasPrefix(reason)
        }
    }

    @Test("invalid UTF-8 is not a CSV file")
    func binary() {
        #expect(throws: PaletteCSV.FormatError.self) { try PaletteCSV.parse([0x78, 0x2C, 0xFF, 0xFE, 0x0A]) }
    }

    func analysedDocument() -> PaletteDocument {
        let analyzer = SceneAnalyzer()
        let frames = [SyntheticFrame.make(), SyntheticFrame.make(bar: 40), RGBImage(width: 90, height: 60, fill: RGB(1, 1, 1))]
        let scenes = frames.enumerated().map { i, frame in
            let p = analyzer.analyse(frame)
            return PaletteDocument.Scene(number: i + 1, flags: p.flags, colours: p.colours)
        }
        return PaletteDocument(title: "Synthetic", year: 2026, director: "Test", scenes: scenes, ungrouped: [Colour(r: 0.5, g: 1e-3, b: 254.25)])
    }

    @Test("CSV export → import gives the same scenes, tiles, ranks, colours and shares")
    func csvRoundTrip() throws {
        let document = analysedDocument()
        let csv = document.csv()
        #expect(csv.hasPrefix("scene,tile,rank,r,g,b,h,s,v,hex,share\n"))
        #expect(csv.split(separator: "\n").count == 1 + 36 + 1)
        let parsed = try PaletteCSV.parse(Array(csv.utf8))
        let counted = document.scenes.filter { !$0.colours.isEmpty } // a fade has no colour rows
        #expect(parsed.scenes.map(\.number) == counted.map(\.number))
        #expect(parsed.scenes.map(\.colours) == counted.map(\.colours))
        #expect(parsed.ungrouped == document.ungrouped)
    }

    @Test("JSON and GIMP palette exports")
    func otherExports() throws {
        let document = analysedDocument()
        let dominant = MoviePalette.dominant(document.weightedColours)
        let json = try JSONSerialization.jsonObject(with: document.json(id: "abc", dominant: dominant)) as! [String: Any]
        let scenes = json["scenes"] as! [[String: Any]]
        #expect(scenes.count == 3 && (scenes[1]["flags"] as! [String]) == ["letterbox"] && (scenes[2]["flags"] as! [String]) == ["fade"])
        let first = (scenes[0]["colours"] as! [[String: Any]])[0]
        #expect(first["tile"] as? Int == 1 && first["rank"] as? Int == 1 && (first["hex"] as? String)?.count == 7)
        #expect((json["dominant"] as! [[String: Any]]).count == dominant.count)

        let gpl = document.gpl(dominant: dominant).split(separator: "\n")
        #expect(gpl[0] == "GIMP Palette" && gpl[1] == "Name: Synthetic")
        let colourLines = gpl.filter { $0.first == " " || $0.first?.isNumber == true }
        #expect(colourLines.count == dominant.count + 36 + 1)
        let red = SyntheticFrame.colours(tile: 0)[0]
        let expected = [red.r, red.g, red.b].map { String(repeating: " ", count: 3 - String($0).count) + String($0) }.joined(separator: " ")
        #expect(colourLines.contains { $0.hasPrefix(expected + "\tScene 1 tile 1 ") })
    }

    @Test("plots: swatches in their colours, escaped labels, big palettes merged, depth order")
    func plots() {
        let colours = [WeightedColour(Colour(r: 255, g: 0, b: 0), weight: 3), WeightedColour(Colour(r: 0, g: 0, b: 255), weight: 1)]
        let strip = PalettePlots.strip(colours, label: "<Totoro> & co")
        #expect(strip.contains("fill=\"#ff0000\"") && strip.contains("75%") && strip.contains("&lt;Totoro&gt; &amp; co"))
        let cube = PalettePlots.rgbCube(colours)
        #expect(cube.contains("<circle") && cube.contains(">Red<") && cube.contains(">Green<") && cube.contains(">Blue<"))
        // With the default view the blue corner (towards the viewer) is nearer than red: drawn last.
        #expect(cube.range(of: "fill=\"#0000ff\"")!.lowerBound > cube.range(of: "fill=\"#ff0000\"")!.lowerBound)
        let hsv = PalettePlots.hsvCylinder(colours)
        #expect(hsv.contains(">Value<") && hsv.contains(">Saturation<") && hsv.contains("Hue 0°"))
        let many = (0..<10_000).map { WeightedColour(Colour(r: Double($0 % 256), g: Double($0 / 256 % 256), b: 7), weight: 1) }
        let merged = PalettePlots.plotted(many)
        #expect(merged.count <= 2000 && abs(merged.map(\.weight).reduce(0, +) - 10_000) < 1e-6)
        let hues = PalettePlots.hueHistogram(colours)
        #expect(hues.contains("Hue 0–10°: 75%") && hues.contains("Hue 240–250°: 25%"))
    }

    @Test("a fingerprint keeps at most its stripe budget; each column's largest shares still fill it")
    func fingerprintBudget() {
        // 600 columns of 18 colours and a fade: 10,801 stripes unbounded; the budget of 2400
        // leaves 3 per column (2400 / 601), the largest shares.
        let column = (0..<18).map { WeightedColour(Colour(r: Double($0 * 14), g: 90, b: 40), weight: Double(18 - $0)) }
        let svg = PalettePlots.fingerprint(columns: Array(repeating: column, count: 600) + [[]])
        #expect(svg.components(separatedBy: "<rect").count - 1 == 600 * 3 + 1)
        #expect(svg.contains(column[2].colour.hex) && !svg.contains(column[3].colour.hex))
        // A short film keeps every colour; the kept shares (18 and 17 of 35) fill the 90 px column,
        // each stripe drawn half a pixel taller so no seam shows.
        let short = PalettePlots.fingerprint(columns: [Array(column.prefix(2))], width: 900, height: 90)
        #expect(short.components(separatedBy: "<rect").count - 1 == 2)
        #expect(short.contains(#"height="46.8""#) && short.contains(#"height="44.2""#))
    }
}
