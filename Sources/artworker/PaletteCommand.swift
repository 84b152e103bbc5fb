import ArgumentParser
import Dispatch
import Foundation
import ImageIO
import Palette
import Video
import WebApp

/// `artworker palette FRAME...`: each frame's 18 colours (a film's video: a frame every few
/// seconds, as the site takes them); `palette import`: a colour file as a
/// movie; `palette bench`: the analysis timed (used by `make bench`).
struct PaletteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "palette",
        abstract: "Movie colour palettes: analyse frames, import colour files.",
        subcommands: [Analyse.self, Import.self, Bench.self],
        defaultSubcommand: Analyse.self)

    struct Analyse: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "analyse",
            abstract: "Print each frame's colours: 2 × 3 tiles, 3 k-means colours per tile.",
            discussion: """
                A video (MP4, MOV, WebM, MKV…) or an animated GIF is read as the site reads a film: \
                a frame every --interval seconds, frames like the last one kept and black frames \
                (fades) skipped, each scene printed with its time.
                """)

        @Argument(help: "JPEG or PNG frames, or a film's video.")
        var frames: [String]

        @Flag(help: "Print CSV (scene,tile,rank,r,g,b,h,s,v,hex,share; one scene per frame), as the site exports.")
        var csv = false

        @Option(help: "A video: seconds between the frames taken (0.5 to 60).")
        var interval: Double = FilmOptions.defaultInterval

        @OptionGroup var limits: LimitOptions

        func validate() throws {
            guard FilmOptions.intervals.contains(interval) else { throw ValidationError("--interval must be from 0.5 to 60 seconds") }
        }

        func run() throws {
            var failures = 0
            var document = PaletteDocument(title: "frames")
            let analyzer = SceneAnalyzer()
            for file in frames {
                do {
                    let bytes = try readFile(file, limit: max(limits.imageLimits.maxBytes, ClipLimits.film.maxBytes))
                    if ImageFormat.sniff(bytes) == nil {
                        try film(bytes, file: file, into: &document)
                        continue
                    }
                    if bytes.count > limits.imageLimits.maxBytes {
                        throw ImageError.fileTooLarge(bytes: bytes.count, limit: limits.imageLimits.maxBytes)
                    }
                    let image = try ImageDecoder.decode(bytes, limits: limits.imageLimits).image
                    let palette = analyzer.analyse(image)
                    document.scenes.append(.init(number: document.scenes.count + 1, flags: palette.flags, colours: palette.colours))
                    if !csv { print(Self.describe(file: file, image: image, palette: palette)) }
                } catch {
                    failures += 1
                    printError(error is CLIError ? "\(error)" : "\(file): \(error)")
                }
            }
            if csv { print(document.csv(), terminator: "") }
            if failures > 0 { throw ExitCode.failure }
        }

        /// A film's scenes, as the site's movie analysis keeps them.
        func film(_ bytes: [UInt8], file: String, into document: inout PaletteDocument) throws {
            var scenes: [PaletteDocument.Scene] = []
            let counts: FilmScenes.Counts
            do {
                counts = try FilmScenes.read(bytes, options: FilmOptions(interval: interval)) { scene in
                    let number = document.scenes.count + scenes.count + 1
                    scenes.append(.init(number: number, flags: scene.palette.flags, colours: scene.palette.colours, seconds: scene.seconds))
                    if !csv {
                        let time = FilmScenes.timecode(scene.milliseconds)
                        print(Self.describe(file: "\(file) at \(time) (scene \(number))", image: scene.image, palette: scene.palette))
                    }
                }
            } catch VideoError.notAClip {
                throw CLIError("\(file): not a JPEG or PNG frame, a video or an animated GIF")
            }
            document.scenes += scenes
            let summary = "\(file): \(counts.taken) frames taken, one every \(String(format: "%g", interval)) s: \(counts.kept) scenes; " +
                "\(counts.repeats) like the scene before and \(counts.fades) black (fades) skipped"
            if csv { printError(summary) } else { print(summary) }
            if counts.kept == 0 { throw CLIError("\(file): every frame taken was black (a fade), so there are no colours to count") }
        }

        static func describe(file: String, image: RGBImage, palette: ScenePalette) -> String {
            var lines = ["\(file): \(image.width)×\(image.height)" + (palette.flags.isEmpty ? "" : ", " + palette.flags.names.joined(separator: ", "))]
            if palette.flags.contains(.letterbox) {
                let c = palette.content
                lines.append("  picture without bars: \(c.width)×\(c.height) at (\(c.x), \(c.y))")
            }
            if palette.flags.contains(.fade) { lines.append("  a fade to black: no colours counted") }
            for c in palette.colours {
                let v = c.colour.clamped, hsv = c.colour.hsv
                let rgb = [v.r, v.g, v.b].map { String(format: "%3d", Int($0.rounded())) }.joined(separator: " ")
                lines.append(String(format: "  tile %d  rank %d  %@  rgb %@  hsv %5.1f° %3.0f%% %3.0f%%  %5.1f%%",
                                    c.tile + 1, c.rank + 1, c.colour.hex, rgb, hsv.h, hsv.s * 100, hsv.v * 100, c.share * 100))
            }
            return lines.joined(separator: "\n")
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a colour file (CSV: the study's x,y,z rows, or a palette exported by the site) as a movie.")

        @Argument(help: "The CSV file.")
        var file: String

        @Option(help: "The movie's title.")
        var title: String

        @Option(help: "The member who will own the movie (they can edit and delete it on the site).")
        var owner: String

        @Option(help: "Year of release.")
        var year: String?

        @Option(help: "Studio or director.")
        var director: String?

        @Option(help: "Notes.")
        var notes: String?

        @Option(help: "Folder for the database. Default: $ARTWORKER_DATA or ./data.")
        var data: String?

        func run() throws {
            let bytes = try readFile(file, limit: 16_000_000)
            do {
                let configuration = try WebAppConfiguration.forCommand(data: data)
                let (id, colours) = try MovieImport.colourFile(bytes, filename: URL(fileURLWithPath: file).lastPathComponent, title: title,
                                                               year: year, director: director, notes: notes, owner: owner,
                                                               configuration: configuration)
                print("Imported \(colours) colours as \"\(title)\": /movies/\(id)")
            } catch let failure as MovieImport.Failure {
                throw CLIError(failure.description)
            } catch let error as ConfigurationError {
                throw CLIError(error.description)
            }
        }
    }

    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time one frame's analysis on one core (median of several runs).")

        @Option(help: "A JPEG or PNG, scaled to --size (default: a synthetic frame).")
        var frame: String?

        @Option(help: "Frame size as WIDTHxHEIGHT.")
        var size: String = "1920x1080"

        @Option(help: "Timed runs.")
        var runs: Int = 21

        func run() throws {
            let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts[0] >= 6, parts[1] >= 6, runs >= 1 else {
                throw ValidationError("--size must be WIDTHxHEIGHT (at least 6×6) and --runs at least 1")
            }
            let image: RGBImage
            if let frame {
                image = try ImageDecoder.decode(try readFile(frame, limit: 100_000_000)).image.resized(width: parts[0], height: parts[1])
            } else {
                var synthetic = RGBImage(width: parts[0], height: parts[1])
                for y in 0..<parts[1] { for x in 0..<parts[0] {
                    synthetic[x, y] = RGB(UInt8((x * 255) / parts[0]), UInt8((y * 255) / parts[1]), UInt8((x ^ y) & 0xFF))
                } }
                image = synthetic
            }
            let analyzer = SceneAnalyzer()
            _ = analyzer.analyse(image) // warm-up
            var times: [Double] = []
            for _ in 0..<runs {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = analyzer.analyse(image)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            times.sort()
            print(String(format: "palette analysis %d×%d, one core: median %.2f ms (min %.2f, max %.2f, %d runs)",
                         image.width, image.height, times[times.count / 2], times[0], times[times.count - 1], runs))
        }
    }
}
