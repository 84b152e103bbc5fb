import CartoonGAN
import Foundation
import ImageIO
import Storage

/// Turns uploaded photos into cartoons: check everything first (so bad input is refused
/// before anything is queued or stored), then, in a worker, run the generator per photo and
/// style, blend by strength, and hand back result, original and thumbnail with their
/// provenance for the job to store.
struct ConversionService: Sendable {
    let models: ModelRegistry
    var limits = ImageLimits.default
    var defaultMaxSide = 1280
    var largestMaxSide = 2048
    var anonymousLifetime: TimeInterval = 3600
    var threads = ProcessInfo.processInfo.activeProcessorCount

    struct Upload: Sendable {
        var bytes: [UInt8]
        var filename: String?
    }

    /// What a queued conversion asks for (the job row's JSON); the photos are its inputs.
    struct Parameters: Codable, Sendable, Equatable {
        var styles: [Style]
        var strength: Int
        var maxSide: Int
    }

    /// What decoding these uploads will hold in memory at most, from their headers only; a
    /// header that is refused throws the same sentence `check` would.
    func decodeCost(_ uploads: [Upload]) throws -> Int {
        var total = 0
        for upload in uploads {
            do {
                total += try ImageDecoder.info(upload.bytes, limits: limits).decodeCost
            } catch {
                throw Self.refusal(error, name: upload.filename.map { "\($0): " } ?? "")
            }
        }
        return total
    }

    /// An image that cannot be taken, as a refusal: too large, or not readable.
    static func refusal(_ error: ImageError, name: String) -> Refusal {
        let reason: Refusal.Reason = switch error {
        case .fileTooLarge, .sideTooLong, .tooManyPixels: .tooLarge
        default: .unreadable
        }
        return Refusal(reason, name + error.description)
    }

    /// Checks the whole request, decoding every photo (then letting it go: the job keeps the
    /// upload's bytes, not 36 MB of pixels per 12 MP photo); anything wrong is a `Refusal`.
    func check(uploads: [Upload], style: String, strength: Int?, maxSide: Int?, owner: Int64?, maxPhotos: Int) throws -> Parameters {
        guard !uploads.isEmpty else { throw Refusal(.invalid, "Choose at least one photo.") }
        guard uploads.count <= maxPhotos else {
            throw Refusal(.invalid, "At most \(maxPhotos) photo\(maxPhotos == 1 ? "" : "s") at once\(owner == nil ? " without an account" : "").")
        }
        let styles: [Style]
        if style.lowercased() == "all" {
            styles = Style.allCases
        } else if let one = Style(rawValue: style.lowercased()) {
            styles = [one]
        } else {
            throw Refusal(.invalid, "Unknown style: choose hayao, hosoda, paprika, shinkai or all.")
        }
        let available = Set(models.availableStyles)
        if let missing = styles.first(where: { !available.contains($0) }) {
            throw Refusal(.unavailable, "The \(missing.displayName) model is not installed on this server.")
        }
        let strength = strength ?? 100
        guard (0...100).contains(strength) else { throw Refusal(.invalid, "Strength is a percentage from 0 to 100.") }
        let maxSide = maxSide ?? defaultMaxSide
        guard (Generator.minimumSide...largestMaxSide).contains(maxSide) else {
            throw Refusal(.invalid, "The processing size is between \(Generator.minimumSide) and \(largestMaxSide) pixels.")
        }
        for upload in uploads {
            let name = upload.filename.map { "\($0): " } ?? ""
            do {
                let decoded = try ImageDecoder.decode(upload.bytes, limits: limits)
                let size = RGBImage.fittedSize(width: decoded.image.width, height: decoded.image.height, maxSide: maxSide)
                guard min(size.width, size.height) >= Generator.minimumSide else {
                    throw Refusal(.invalid, "\(name)the photo is too small or too narrow (at least \(Generator.minimumSide)×\(Generator.minimumSide) pixels after resizing).")
                }
            } catch let error as ImageError {
                throw Self.refusal(error, name: name)
            }
        }
        return Parameters(styles: styles, strength: strength, maxSide: maxSide)
    }

    /// The job's inputs: each upload's bytes under its file name.
    static func inputs(_ uploads: [Upload]) -> [JobInput] {
        uploads.map { JobInput(name: $0.filename ?? "", bytes: Data($0.bytes)) }
    }

    /// Loads every installed model now, so a worker is ready before it claims a job (a job
    /// should not spend its lease, or its attempts, on a worker still starting).
    func warm() throws {
        for style in models.availableStyles { _ = try models.model(style) }
    }

    /// Runs a queued conversion; returns the images to store (the job stores all or none).
    func run(_ parameters: Parameters, owner: Int64?, photos: [JobInput], progress: @escaping @Sendable (Double) -> Void,
             isCancelled: @escaping @Sendable () -> Bool) throws -> [Image] {
        var made: [Image] = []
        let total = Double(photos.count * parameters.styles.count)
        var done = 0.0
        for input in photos {
            let bytes = [UInt8](input.bytes)
            let decoded: DecodedImage
            do {
                decoded = try ImageDecoder.decode(bytes, limits: limits)
            } catch {
                throw JobFailure(description: (input.name.isEmpty ? "" : "\(input.name): ") + error.description)
            }
            let photo = decoded.image.fitting(maxSide: parameters.maxSide)
            for style in parameters.styles {
                if isCancelled() { throw ModelError.cancelled }
                let (generator, sha256) = try models.model(style)
                let started = Date()
                let base = done
                var cartoon = try generator.cartoonize(photo, threads: threads, progress: { progress((base + $0) / total) },
                                                       isCancelled: isCancelled)
                if parameters.strength < 100 { cartoon = Self.blend(cartoon, with: photo, strength: parameters.strength) }
                let thumbnail = try ImageEncoder.jpeg(cartoon.fitting(maxSide: 320), quality: 82)
                made.append(Image(
                    id: Image.newID(), ownerID: owner, visibility: owner == nil ? .anonymous : .private,
                    style: style.rawValue, strength: parameters.strength,
                    inputWidth: decoded.image.width, inputHeight: decoded.image.height, width: photo.width, height: photo.height,
                    modelSHA256: sha256, durationMS: Int(Date().timeIntervalSince(started) * 1000),
                    original: input.bytes, originalType: decoded.info.format.mimeType,
                    result: Data(try ImageEncoder.png(cartoon)), thumbnail: Data(thumbnail),
                    title: DownloadName.title(fromFilename: input.name),
                    expiresAt: owner == nil ? Date().addingTimeInterval(anonymousLifetime) : nil))
                done += 1
                progress(done / total)
            }
        }
        if isCancelled() { throw ModelError.cancelled }
        return made
    }

    /// strength% cartoon over (100 − strength)% photo, per channel, rounded.
    static func blend(_ cartoon: RGBImage, with photo: RGBImage, strength: Int) -> RGBImage {
        var out = cartoon
        let a = UInt32(strength), b = UInt32(100 - strength)
        for i in out.pixels.indices {
            out.pixels[i] = UInt8((UInt32(cartoon.pixels[i]) * a + UInt32(photo.pixels[i]) * b + 50) / 100)
        }
        return out
    }
}

/// File names for downloads: "harbour-hayao.png" from an upload called "Harbour.JPG".
enum DownloadName {
    /// The upload's name without folder or extension, as a `slug`.
    static func title(fromFilename filename: String?) -> String {
        guard let filename else { return "" }
        let base = filename.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        return slug(base.contains(".") ? String(base[..<base.lastIndex(of: ".")!]) : base)
    }

    /// Text reduced to letters, digits, '-' and '_' (so it is safe in a Content-Disposition
    /// header and on every file system), at most 60.
    static func slug(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            if c.isASCII, c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_" || c == "-" {
                out.unicodeScalars.append(c)
            } else if !out.hasSuffix("-") {
                out += "-"
            }
        }
        return String(out.trimmingCharacters(in: CharacterSet(charactersIn: "-")).prefix(60))
    }

    /// "title-style.ext", or "artworker-style-<id prefix>.ext" when the upload had no usable name.
    static func file(title: String, style: String, id: String, ext: String) -> String {
        (title.isEmpty ? "artworker-\(style)-\(id.prefix(8))" : "\(title)-\(style)") + "." + ext
    }
}
