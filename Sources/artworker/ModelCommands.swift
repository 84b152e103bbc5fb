import ArgumentParser
import CartoonGAN
import Foundation
import ImageIO
import Kernels

/// The folder holding converted model files: `--weights`, else `$ARTWORKER_WEIGHTS`, else `./Weights`.
struct WeightsOption: ParsableArguments {
    @Option(help: "Folder of converted model files (default: $ARTWORKER_WEIGHTS or ./Weights).")
    var weights: String?

    var url: URL {
        URL(fileURLWithPath: weights ?? ProcessInfo.processInfo.environment["ARTWORKER_WEIGHTS"] ?? "Weights")
    }

    func generator(_ style: Style) throws -> (generator: Generator, sha256: String) {
        let url = style.modelURL(in: self.url)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CLIError("no model for \(style.rawValue) at \(url.path); run `make weights` or `artworker import-weights --from DIR`")
        }
        do {
            return try ModelRegistry(folder: self.url).model(style)
        } catch {
            throw CLIError("\(url.path): \(error)")
        }
    }
}

struct ImportWeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-weights",
        abstract: "Verify the published CartoonGAN .npy weights and convert them into model files.",
        discussion: WeightImporter.sourceHint)

    @Option(help: "Folder with one sub-folder of .npy files per style.")
    var from: String

    @Option(help: "Import only this style (hayao, hosoda, paprika, shinkai).")
    var style: String?

    @Option(help: "The manifest with the source files' SHA-256.")
    var manifest: String = "Weights/manifest.json"

    @OptionGroup var output: WeightsOption

    func validate() throws {
        if let style, Style(rawValue: style.lowercased()) == nil {
            throw ValidationError("unknown style '\(style)'; choose hayao, hosoda, paprika or shinkai")
        }
    }

    func run() throws {
        let source = URL(fileURLWithPath: from)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("no weights folder at \(from).\n\(WeightImporter.sourceHint)")
        }
        let sums: [String: [String: String]]
        do {
            sums = try WeightImporter.manifest(URL(fileURLWithPath: manifest))
        } catch {
            throw CLIError("\(error)")
        }
        let styles = style.map { [Style(rawValue: $0.lowercased())!] } ?? Style.allCases
        for style in styles {
            do {
                let hash = try WeightImporter.importStyle(style, from: source, to: output.url, manifest: sums)
                print("\(style.rawValue): \(style.modelURL(in: output.url).path) (sha256 \(hash.prefix(16))…)")
            } catch {
                throw CLIError("\(style.rawValue): \(error)")
            }
        }
    }
}

struct CartoonizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cartoonize",
        abstract: "Turn a photo into an anime-style picture.")

    @Argument(help: "Input JPEG or PNG.")
    var input: String

    @Option(name: [.short, .long], help: "Output file (.png or .jpg). With --style all, the style is added to the name.")
    var output: String

    @Option(help: "hayao, hosoda, paprika, shinkai, or all.")
    var style: String = "hayao"

    @Option(help: "Shrink the photo so neither side exceeds this many pixels first (0: keep its size).")
    var maxSide: Int = 1280

    @Option(help: "Threads for the generator (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "JPEG quality for .jpg output, 1–100.")
    var quality: Int = 92

    @OptionGroup var weights: WeightsOption

    func validate() throws {
        if style.lowercased() != "all" && Style(rawValue: style.lowercased()) == nil {
            throw ValidationError("unknown style '\(style)'; choose hayao, hosoda, paprika, shinkai or all")
        }
        if maxSide < 0 { throw ValidationError("--max-side must be 0 or more") }
        if maxSide > 0 && maxSide < Generator.minimumSide {
            throw ValidationError("--max-side must be at least \(Generator.minimumSide)")
        }
        if threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256") }
        if !(1...100).contains(quality) { throw ValidationError("--quality must be between 1 and 100") }
        if ImageFormat(fileExtension: URL(fileURLWithPath: output).pathExtension) == nil {
            throw ValidationError("name the output .png or .jpg")
        }
    }

    func run() throws {
        let styles = style.lowercased() == "all" ? Style.allCases : [Style(rawValue: style.lowercased())!]
        let bytes = try readFile(input, limit: ImageLimits.default.maxBytes)
        var photo: RGBImage
        do {
            photo = try ImageDecoder.decode(bytes).image
        } catch {
            throw CLIError("\(input): \(error)")
        }
        if maxSide > 0 { photo = photo.fitting(maxSide: maxSide) }
        let outURL = URL(fileURLWithPath: output)
        let format = ImageFormat(fileExtension: outURL.pathExtension)!
        for style in styles {
            let (generator, _) = try weights.generator(style)
            let started = Date()
            let result: RGBImage
            do {
                result = try generator.cartoonize(photo, threads: threads)
            } catch {
                throw CLIError("\(input): \(error)")
            }
            let path = styles.count == 1 ? output
                : outURL.deletingPathExtension().path + "-\(style.rawValue)." + outURL.pathExtension
            try writeFileAtomically(path, bytes: try ImageEncoder.encode(result, as: format, quality: quality))
            let seconds = Date().timeIntervalSince(started)
            print("\(path): \(style.displayName), \(result.width)×\(result.height), \(String(format: "%.2f", seconds)) s")
        }
    }
}
