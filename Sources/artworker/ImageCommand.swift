import ArgumentParser
import Foundation
import ImageIO

struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Inspect and convert JPEG and PNG files.",
        subcommands: [Info.self, Convert.self]
    )

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print format, size, orientation and colour model of image files.")

        @Argument(help: "JPEG or PNG files.")
        var files: [String]

        @OptionGroup var limits: LimitOptions

        func run() throws {
            var failures = 0
            for file in files {
                do {
                    let bytes = try readFile(file, limit: limits.imageLimits.maxBytes)
                    let info = try ImageDecoder.info(bytes, limits: limits.imageLimits)
                    print(Self.describe(file: file, info: info, byteCount: bytes.count))
                } catch {
                    failures += 1
                    printError("\(file): \(error)")
                }
            }
            if failures > 0 { throw ExitCode.failure }
        }

        static func describe(file: String, info: ImageInfo, byteCount: Int) -> String {
            var parts = ["\(info.format)", "\(info.width)×\(info.height)", info.colorModel]
            parts.append(info.format == .jpeg ? (info.isProgressive ? "progressive" : "baseline")
                                              : (info.isProgressive ? "interlaced" : "not interlaced"))
            parts.append("orientation \(info.orientation)")
            if info.orientation != .up {
                parts.append("shown as \(info.displayWidth)×\(info.displayHeight)")
            }
            parts.append("\(byteCount) bytes")
            return "\(file): " + parts.joined(separator: ", ")
        }
    }

    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode an image, turn it upright, optionally shrink it, and write PNG or JPEG.")

        @Argument(help: "Input JPEG or PNG (the content decides, not the name).")
        var input: String

        @Argument(help: "Output file; .png, .jpg or .jpeg unless --format is given.")
        var output: String

        @Option(help: "Shrink so that neither side exceeds this many pixels (never enlarges).")
        var maxSide: Int?

        @Option(help: "Output format: png or jpeg (default: from the output file's extension).")
        var format: String?

        @Option(help: "JPEG quality, 1–100.")
        var quality: Int = 90

        @Option(help: "Resampling filter: lanczos or area.")
        var filter: String = "lanczos"

        @OptionGroup var limits: LimitOptions

        func validate() throws {
            if let maxSide, maxSide < 1 { throw ValidationError("--max-side must be at least 1") }
            if !(1...100).contains(quality) { throw ValidationError("--quality must be between 1 and 100") }
            if ResampleFilter(rawValue: filter) == nil {
                throw ValidationError("--filter must be one of: lanczos, area")
            }
            _ = try outputFormat()
        }

        func outputFormat() throws -> ImageFormat {
            if let format {
                guard let f = ImageFormat(rawValue: format.lowercased()) ?? ImageFormat(fileExtension: format) else {
                    throw ValidationError("--format must be png or jpeg")
                }
                return f
            }
            let ext = URL(fileURLWithPath: output).pathExtension
            guard let f = ImageFormat(fileExtension: ext) else {
                throw ValidationError("cannot tell the output format from '\(output)': name it .png or .jpg, or pass --format")
            }
            return f
        }

        func run() throws {
            let bytes = try readFile(input, limit: limits.imageLimits.maxBytes)
            let decoded: DecodedImage
            do {
                decoded = try ImageDecoder.decode(bytes, limits: limits.imageLimits)
            } catch {
                throw CLIError("\(input): \(error)")
            }
            var image = decoded.image
            if let maxSide {
                image = image.fitting(maxSide: maxSide, filter: ResampleFilter(rawValue: filter)!)
            }
            let format = try outputFormat()
            let encoded = try ImageEncoder.encode(image, as: format, quality: quality)
            try writeFileAtomically(output, bytes: encoded)
            print("\(output): \(format), \(image.width)×\(image.height), \(encoded.count) bytes")
        }
    }
}

/// Image limits as command-line options, defaulting to the service's defaults.
struct LimitOptions: ParsableArguments {
    @Option(help: "Largest accepted file, in bytes.")
    var maxBytes: Int = ImageLimits.default.maxBytes

    @Option(help: "Largest accepted image, in pixels (width × height).")
    var maxPixels: Int = ImageLimits.default.maxPixels

    func validate() throws {
        if maxBytes < 1 { throw ValidationError("--max-bytes must be positive") }
        if maxPixels < 1 { throw ValidationError("--max-pixels must be positive") }
    }

    var imageLimits: ImageLimits {
        ImageLimits(maxBytes: maxBytes, maxSide: ImageLimits.default.maxSide, maxPixels: maxPixels)
    }
}
