import ArgumentParser
import CartoonGAN
import Foundation
import ImageIO
import Kernels
import Video

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
        abstract: "Turn a photo, a video clip or an animated GIF into anime style.",
        discussion: """
            Photos (JPEG, PNG) give a .png or .jpg. Clips (MP4/MOV, WebM, MKV, …) and animated GIFs \
            give an .mp4 (H.264 with the clip's sound) or a .gif, and --poster writes a still.
            """)

    @Argument(help: "Input photo (JPEG, PNG), video clip or animated GIF: the content decides, not the name.")
    var input: String

    @Option(name: [.short, .long], help: "Output file: .png or .jpg for a photo, .mp4 or .gif for a clip. With --style all, the style is added to the name.")
    var output: String

    @Option(help: "hayao, hosoda, paprika, shinkai, or all.")
    var style: String = "hayao"

    @Option(help: "Shrink so neither side exceeds this many pixels first (0: keep the size; default 1280 for photos, \(ClipOptions.defaultMaxSide) for clips).")
    var maxSide: Int?

    @Option(help: "Clips: pictures a second: 'twos' (12, each held twice), 'source' (the clip's own), or 'auto' (twos for a video, a GIF's own frames).")
    var fps: String = "auto"

    @Flag(inversion: .prefixedNo, help: "Clips: reduce flicker (the output is held where the input is still).")
    var reduceFlicker: Bool = true

    @Option(help: "Clips: also write a still (.png or .jpg) taken a quarter of the way in.")
    var poster: String?

    @Option(help: "Clips: longest accepted clip, in seconds.")
    var maxSeconds: Double = ClipLimits.default.maxSeconds

    @Option(help: "Threads for the generator (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "JPEG quality for .jpg output, 1–100.")
    var quality: Int = 92

    @OptionGroup var weights: WeightsOption

    private var outputExtension: String { URL(fileURLWithPath: output).pathExtension.lowercased() }

    func validate() throws {
        if style.lowercased() != "all" && Style(rawValue: style.lowercased()) == nil {
            throw ValidationError("unknown style '\(style)'; choose hayao, hosoda, paprika, shinkai or all")
        }
        if let maxSide, maxSide < 0 { throw ValidationError("--max-side must be 0 or more") }
        if let maxSide, maxSide > 0 && maxSide < Generator.minimumSide {
            throw ValidationError("--max-side must be at least \(Generator.minimumSide)")
        }
        if FrameRateChoice(argument: fps) == nil { throw ValidationError("--fps must be auto, twos or source") }
        if !(maxSeconds > 0) { throw ValidationError("--max-seconds must be positive") }
        if threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256") }
        if !(1...100).contains(quality) { throw ValidationError("--quality must be between 1 and 100") }
        if ImageFormat(fileExtension: outputExtension) == nil && !["mp4", "gif"].contains(outputExtension) {
            throw ValidationError("name the output .png or .jpg for a photo, .mp4 or .gif for a clip")
        }
        if let poster, ImageFormat(fileExtension: URL(fileURLWithPath: poster).pathExtension) == nil {
            throw ValidationError("name the poster .png or .jpg")
        }
    }

    func run() throws {
        let styles = style.lowercased() == "all" ? Style.allCases : [Style(rawValue: style.lowercased())!]
        let bytes = try readFile(input, limit: max(ImageLimits.default.maxBytes, ClipLimits.default.maxBytes))
        if ImageFormat.sniff(bytes) == nil {
            return try runClip(bytes, styles: styles)
        }
        guard ImageFormat(fileExtension: outputExtension) != nil else {
            throw CLIError("\(input) is a photo: name the output .png or .jpg")
        }
        if bytes.count > ImageLimits.default.maxBytes {
            throw CLIError("\(input): \(ImageError.fileTooLarge(bytes: bytes.count, limit: ImageLimits.default.maxBytes))")
        }
        var photo: RGBImage
        do {
            photo = try ImageDecoder.decode(bytes).image
        } catch {
            throw CLIError("\(input): \(error)")
        }
        let maxSide = self.maxSide ?? 1280
        if maxSide > 0 { photo = photo.fitting(maxSide: maxSide) }
        let format = ImageFormat(fileExtension: outputExtension)!
        for style in styles {
            let (generator, _) = try weights.generator(style)
            let started = Date()
            let result: RGBImage
            do {
                result = try generator.cartoonize(photo, threads: threads)
            } catch {
                throw CLIError("\(input): \(error)")
            }
            let path = outputPath(style, count: styles.count, output)
            try writeFileAtomically(path, bytes: try ImageEncoder.encode(result, as: format, quality: quality))
            let seconds = Date().timeIntervalSince(started)
            print("\(path): \(style.displayName), \(result.width)×\(result.height), \(String(format: "%.2f", seconds)) s")
        }
    }

    private func outputPath(_ style: Style, count: Int, _ path: String) -> String {
        guard count > 1 else { return path }
        let url = URL(fileURLWithPath: path)
        return url.deletingPathExtension().path + "-\(style.rawValue)." + url.pathExtension
    }

    private func runClip(_ bytes: [UInt8], styles: [Style]) throws {
        guard ["mp4", "gif"].contains(outputExtension) else {
            throw CLIError("\(input) is a clip: name the output .mp4 or .gif")
        }
        var limits = ClipLimits.default
        limits.maxSeconds = maxSeconds
        let side = maxSide ?? ClipOptions.defaultMaxSide
        if side > 0 && side < 8 { throw CLIError("--max-side must be at least 8 for a clip") }
        let options = ClipOptions(rate: FrameRateChoice(argument: fps)!, maxSide: side == 0 ? limits.maxSide : side,
                                  reduceFlicker: reduceFlicker, writeGIF: outputExtension == "gif", limits: limits)
        let plan: ClipPlan
        do {
            plan = try ClipConverter.plan(bytes, options: options)
        } catch {
            throw CLIError("\(input): \(error)")
        }
        for style in styles {
            let (generator, _) = try weights.generator(style)
            let started = Date()
            let result: ClipResult
            do {
                result = try ClipConverter.convert(bytes, options: options, workDirectory: FileManager.default.temporaryDirectory,
                                                   progress: { done, total in
                    printProgress("\(style.displayName): picture \(done)\(total.map { " of \($0)" } ?? "")")
                }, process: { frame in try generator.cartoonize(frame, threads: threads) })
                printProgress("", done: true)
            } catch {
                printProgress("", done: true)
                throw CLIError("\(input): \(error)")
            }
            let path = outputPath(style, count: styles.count, output)
            try writeFileAtomically(path, bytes: outputExtension == "gif" ? result.gif! : result.mp4)
            if let poster {
                let posterPath = outputPath(style, count: styles.count, poster)
                let format = ImageFormat(fileExtension: URL(fileURLWithPath: poster).pathExtension)!
                try writeFileAtomically(posterPath, bytes: try ImageEncoder.encode(result.poster, as: format, quality: quality))
            }
            let seconds = Date().timeIntervalSince(started)
            print("\(path): \(style.displayName), \(plan.info.media == .gif ? "GIF" : plan.info.codec) \(plan.info.width)×\(plan.info.height) → "
                  + "\(result.width)×\(result.height), \(result.frames) pictures \(plan.rate == .centiseconds ? "at the GIF's own pace" : "at \(plan.rate)"), "
                  + "\(String(format: "%.2f", result.seconds)) s"
                  + "\(result.hasAudio ? " with sound" : ""); took \(String(format: "%.1f", seconds)) s")
        }
    }
}
