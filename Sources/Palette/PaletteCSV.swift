/// Reads colour files: the original study's (`x,y,z` header, one R,G,B colour per row, no
/// grouping) and this project's own CSV export (scene, tile, rank, r, g, b, …, share), so an
/// exported palette can be imported again unchanged.
///
/// The study's files group nothing reliably (some are 18 rows per scene, some not even a
/// multiple of 3), so their colours are imported ungrouped: never rejected for their row
/// count, never cut into invented scenes.
public enum PaletteCSV {
    /// A reason a file is not a colour file, for people: what is wrong and on which line.
    public struct FormatError: Error, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    public struct Parsed: Sendable, Equatable {
        public var scenes: [PaletteDocument.Scene]
        public var ungrouped: [Colour]
        /// Values outside 0–255 by float noise, clamped.
        public var clampedValues: Int
        public var rowCount: Int { scenes.reduce(0) { $0 + $1.colours.count } + ungrouped.count }
    }

    public static let maxRows = 250_000
    /// Channel values this far outside 0–255 are float noise and clamped; further is an error.
    public static let tolerance = 0.5

    public static func parse(_ bytes: some Collection<UInt8>) throws -> Parsed {
        guard !bytes.isEmpty else { throw FormatError("The file is empty.") }
        guard !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self) else {
            throw FormatError("This is not a CSV text file.")
        }
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).makeIterator()
        var lineNumber = 0
        func nextLine() -> Substring? {
            while let line = lines.next() {
                lineNumber += 1
                let trimmed = line.trimmingSpaces
                if !trimmed.isEmpty { return trimmed }
            }
            return nil
        }
        guard var header = nextLine() else { throw FormatError("The file is empty.") }
        if header.first == "\u{FEFF}" { header = header.dropFirst() }
        let names = header.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingSpaces.trimmingQuotes.lowercased() }
        let exported = names.starts(with: ["scene", "tile", "rank", "r", "g", "b"])
        guard names == ["x", "y", "z"] || exported else {
            throw FormatError("Line 1 must be the header \"x,y,z\" (or \"\(PaletteDocument.csvHeader)\" for an exported palette); it is \"\(header.prefix(60))\".")
        }
        let shareColumn = names.firstIndex(of: "share")

        var parsed = Parsed(scenes: [], ungrouped: [], clampedValues: 0)
        var sceneIndex: [Int: Int] = [:]
        func number(_ field: Substring, _ what: String) throws -> Double {
            let text = field.trimmingSpaces.trimmingQuotes
            // Decimal or scientific notation only (Double(_:) would also take "nan", "inf", hex).
            guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }),
                  let value = Double(text), value.isFinite else {
                throw FormatError("Line \(lineNumber): the \(what) \"\(text.prefix(30))\" is not a number.")
            }
            return value
        }
        func channel(_ field: Substring, _ what: String) throws -> Double {
            let value = try number(field, what)
            guard value >= -tolerance, value <= 255 + tolerance else {
                throw FormatError("Line \(lineNumber): the \(what) \(value) is outside 0–255.")
            }
            if value < 0 || value > 255 { parsed.clampedValues += 1 }
            return min(max(value, 0), 255)
        }
        func whole(_ field: Substring, _ what: String, _ range: ClosedRange<Int>) throws -> Int {
            let value = try number(field, what)
            guard value == value.rounded(), let n = Int(exactly: value), range.contains(n) else {
                throw FormatError("Line \(lineNumber): the \(what) must be a whole number from \(range.lowerBound) to \(range.upperBound).")
            }
            return n
        }

        var rows = 0 // counted as they come: summing every scene per row made imports quadratic
        while let line = nextLine() {
            guard rows < maxRows else { throw FormatError("The file has more than \(maxRows) colours.") }
            rows += 1
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == names.count else {
                throw FormatError("Line \(lineNumber) has \(fields.count) values; the header names \(names.count).")
            }
            if !exported {
                parsed.ungrouped.append(Colour(r: try channel(fields[0], "red value"), g: try channel(fields[1], "green value"),
                                               b: try channel(fields[2], "blue value")))
                continue
            }
            let colour = Colour(r: try channel(fields[3], "red value"), g: try channel(fields[4], "green value"),
                                b: try channel(fields[5], "blue value"))
            if fields[0].trimmingSpaces.isEmpty {
                parsed.ungrouped.append(colour)
                continue
            }
            let scene = try whole(fields[0], "scene", 1...1_000_000)
            let tile = try whole(fields[1], "tile", 1...(SceneAnalyzer.rows * SceneAnalyzer.columns)) - 1
            let rank = try whole(fields[2], "rank", 1...SceneAnalyzer.coloursPerTile) - 1
            guard let shareColumn else { throw FormatError("Line \(lineNumber): a scene's colour needs a share column.") }
            let share = try number(fields[shareColumn], "share")
            guard (0...1).contains(share) else { throw FormatError("Line \(lineNumber): the share \(share) is outside 0–1.") }
            let index: Int
            if let known = sceneIndex[scene] {
                index = known
            } else {
                index = parsed.scenes.count
                sceneIndex[scene] = index
                parsed.scenes.append(PaletteDocument.Scene(number: scene, colours: []))
            }
            guard !parsed.scenes[index].colours.contains(where: { $0.tile == tile && $0.rank == rank }) else {
                throw FormatError("Line \(lineNumber): scene \(scene) has tile \(tile + 1) rank \(rank + 1) twice.")
            }
            parsed.scenes[index].colours.append(TileColour(tile: tile, rank: rank, colour: colour, share: share))
        }
        guard rows > 0 else { throw FormatError("The file has a header but no colours.") }
        parsed.scenes.sort { $0.number < $1.number }
        return parsed
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" || c == "\r" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s = s.dropLast() }
        return s
    }

    var trimmingQuotes: Substring {
        count >= 2 && first == "\"" && last == "\"" ? dropFirst().dropLast() : self
    }
}
