import CartoonGAN
import CMalloc
import Foundation
import ImageIO
import Localization
import StorageCore
import Video

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
    /// Clips: 100 MB files (a visitor's form holds one photo's worth), 60 seconds, 4K frames.
    var clipLimits = ClipLimits()
    /// Every frame of a clip costs an inference: a smaller default size than photos'.
    var clipDefaultMaxSide = ClipOptions.defaultMaxSide
    var clipLargestMaxSide = 1280

    /// The largest file one form field may carry: a photo or a clip.
    var maxUploadBytes: Int { max(limits.maxBytes, clipLimits.maxBytes) }

    struct Upload: Sendable {
        var bytes: [UInt8]
        var filename: String?
    }

    /// What a queued conversion asks for (the job row's JSON); the photos are its inputs.
    struct Parameters: Codable, Sendable, Equatable {
        var styles: [Style]
        var strength: Int
        var maxSide: Int
        /// Turn and crop, chosen on the form for a single photo (nil in rows queued before).
        var edit: Edit?
        /// A signed-out visitor's key (Pages.visitorKey): their results remember it, so they
        /// can keep them by signing up.
        var visitor: String?
        /// Set when the one input is a clip or an animated GIF (nil for photos).
        var clip: Clip?
    }

    /// How a clip is converted: its frame rate ("auto", "twos" or "source", see `FrameRateChoice`).
    struct Clip: Codable, Sendable, Equatable {
        var fps: String
    }

    /// What the upload form's crop tool sends: the upright photo turned `rotate` degrees
    /// clockwise, then cut to `crop`, in pixels of the turned photo. Applied here to the
    /// full-size original, never to the browser's scaled preview.
    struct Edit: Codable, Sendable, Equatable {
        struct Crop: Codable, Sendable, Equatable {
            var x: Int, y: Int, width: Int, height: Int
        }
        var rotate = 0
        var crop: Crop?

        var isNone: Bool { rotate == 0 && crop == nil }

        /// The edited picture, or a refusal naming the file when the rectangle does not lie
        /// inside the turned photo (a form from another photo, or one made by hand).
        func apply(to image: RGBImage, file: String?) throws -> RGBImage {
            let turned = switch rotate {
            case 90: image.applyingOrientation(.right)
            case 180: image.applyingOrientation(.down)
            case 270: image.applyingOrientation(.left)
            default: image
            }
            guard let crop else { return turned }
            guard crop.x >= 0, crop.y >= 0, crop.width > 0, crop.height > 0,
                  crop.x + crop.width <= turned.width, crop.y + crop.height <= turned.height else {
                throw Refusal(.invalid, "photo.crop_outside", ["file": ConversionService.fileArgument(file),
                                                               "width": .number(turned.width), "height": .number(turned.height)])
            }
            return turned.cropped(x: crop.x, y: crop.y, width: crop.width, height: crop.height)
        }
    }

    /// "25 MB", "25.3 MB": a file size in a refusal.
    static func megabytes(_ bytes: Int) -> Argument {
        .text(bytes % 1_000_000 == 0 ? "\(bytes / 1_000_000) MB" : String(format: "%.1f MB", Double(bytes) / 1_000_000))
    }

    static func fileArgument(_ file: String?) -> Argument {
        file.flatMap { $0.isEmpty ? nil : .text($0) } ?? .message(Message("photo.unnamed"))
    }

    /// What decoding these uploads will hold in memory at most, from their headers only; a
    /// header that is refused throws the same sentence `check` would.
    func decodeCost(_ uploads: [Upload]) throws -> Int {
        var total = 0
        // A clip's header is read by FFmpeg's probe, bounded by its own read limit (5 MB).
        for upload in uploads where ImageFormat.sniff(upload.bytes) != nil {
            do {
                total += try ImageDecoder.info(upload.bytes, limits: limits).decodeCost
            } catch {
                throw Self.refusal(error, file: upload.filename)
            }
        }
        return total
    }

    /// An image that cannot be taken, as a refusal that names the file: too large, or not
    /// readable (an empty file is "empty", not "choose a photo").
    static func refusal(_ error: ImageError, file: String?) -> Refusal {
        let name = fileArgument(file)
        return switch error {
        case .empty: Refusal(.unreadable, "photo.empty", ["file": name])
        case .unsupportedFormat: Refusal(.unreadable, "photo.unsupported", ["file": name])
        case let .fileTooLarge(bytes, limit):
            Refusal(.tooLarge, "photo.file_too_large", ["file": name, "size": megabytes(bytes), "limit": megabytes(limit)])
        case let .invalidDimensions(width, height):
            Refusal(.unreadable, "photo.invalid_dimensions", ["file": name, "width": .number(width), "height": .number(height)])
        case let .sideTooLong(width, height, limit):
            Refusal(.tooLarge, "photo.side_too_long", ["file": name, "width": .number(width), "height": .number(height),
                                                       "limit": .number(limit)])
        case let .tooManyPixels(width, height, limit):
            Refusal(.tooLarge, "photo.too_many_pixels", ["file": name, "width": .number(width), "height": .number(height),
                                                         "limit": .text(String(format: "%g", Double(limit) / 1_000_000))])
        case let .truncated(format): Refusal(.unreadable, "photo.truncated", ["file": name, "format": .text("\(format)")])
        case let .corrupt(format, detail):
            Refusal(.unreadable, "photo.corrupt", ["file": name, "format": .text("\(format)"), "detail": .text(detail)])
        case let .unsupportedVariant(format, detail):
            Refusal(.unreadable, "photo.unsupported_variant", ["file": name, "format": .text("\(format)"), "detail": .text(detail)])
        case let .encodingFailed(format, detail):
            Refusal(.unreadable, "photo.encoding_failed", ["file": name, "format": .text("\(format)"), "detail": .text(detail)])
        }
    }

    /// A clip that cannot be taken, as a refusal that names the file.
    static func refusal(_ error: VideoError, file: String?) -> Refusal {
        let name = fileArgument(file)
        func seconds(_ s: Double) -> Argument { .text(s == s.rounded() ? "\(Int(s))" : String(format: "%.1f", s)) }
        return switch error {
        case .empty: Refusal(.unreadable, "photo.empty", ["file": name])
        case .notAClip: Refusal(.unreadable, "photo.unsupported", ["file": name])
        case let .fileTooLarge(bytes, limit):
            Refusal(.tooLarge, "clip.file_too_large", ["file": name, "size": megabytes(bytes), "limit": megabytes(limit)])
        case .noVideoStream: Refusal(.unreadable, "clip.no_video", ["file": name])
        case let .unsupportedCodec(codec): Refusal(.unreadable, "clip.codec", ["file": name, "codec": .text(codec)])
        case let .invalidDimensions(width, height):
            Refusal(.unreadable, "clip.invalid_dimensions", ["file": name, "width": .number(width), "height": .number(height)])
        case let .tooLarge(width, height, limit):
            Refusal(.tooLarge, "clip.too_large", ["file": name, "width": .number(width), "height": .number(height), "limit": .number(limit)])
        case let .tooLong(s, limit): Refusal(.tooLarge, "clip.too_long", ["file": name, "seconds": seconds(s), "limit": seconds(limit)])
        case let .tooManyFrames(count, limit):
            Refusal(.tooLarge, "clip.too_many_frames", ["file": name, "count": .number(count), "limit": .number(limit)])
        case .noFrames: Refusal(.unreadable, "clip.no_frames", ["file": name])
        case let .damaged(detail): Refusal(.unreadable, "clip.damaged", ["file": name, "detail": .text(detail)])
        case let .misdeclared(detail): Refusal(.unreadable, "clip.misdeclared", ["file": name, "detail": .text(detail)])
        case let .encodingFailed(detail): Refusal(.unreadable, "clip.encoding_failed", ["file": name, "detail": .text(detail)])
        case .cancelled: Refusal(.conflict, "job.cancelled")
        }
    }

    /// The clip options a conversion runs with.
    func clipOptions(fps: String, maxSide: Int) -> ClipOptions {
        ClipOptions(rate: FrameRateChoice(argument: fps) ?? .automatic, maxSide: maxSide, reduceFlicker: true, writeBefore: true,
                    limits: clipLimits)
    }

    /// Checks the whole request, decoding every photo (then letting it go: the job keeps the
    /// upload's bytes, not 36 MB of pixels per 12 MP photo); anything wrong is a `Refusal`.
    /// A clip (one upload that is not a photo) has its header read and every limit that can
    /// be judged from it checked; its frames are left for the job.
    func check(uploads: [Upload], style: String, strength: Int?, maxSide: Int?, edit: Edit? = nil, fps: String? = nil,
               owner: Int64?, maxPhotos: Int) throws -> Parameters {
        guard !uploads.isEmpty else { throw Refusal(.invalid, "upload.no_photo") }
        guard uploads.count <= maxPhotos else {
            throw Refusal(.invalid, owner == nil ? "upload.too_many_anonymous" : "upload.too_many", ["max": .number(maxPhotos)])
        }
        let edit = edit?.isNone == true ? nil : edit
        guard edit == nil || uploads.count == 1 else { throw Refusal(.invalid, "upload.edit_one_photo") }
        let styles: [Style]
        if style.lowercased() == "all" {
            styles = Style.allCases
        } else if let one = Style(rawValue: style.lowercased()) {
            styles = [one]
        } else {
            throw Refusal(.invalid, "upload.unknown_style")
        }
        let available = Set(models.availableStyles)
        if let missing = styles.first(where: { !available.contains($0) }) {
            throw Refusal(.unavailable, "upload.model_missing", ["style": .message(Message("style.\(missing.rawValue)"))])
        }
        let strength = strength ?? 100
        guard (0...100).contains(strength) else { throw Refusal(.invalid, "upload.bad_strength") }
        if let upload = uploads.first(where: { ImageFormat.sniff($0.bytes) == nil }) {
            let fps = fps ?? FrameRateChoice.automatic.rawValue
            guard FrameRateChoice(argument: fps) != nil else { throw Refusal(.invalid, "upload.bad_fps") }
            let maxSide = maxSide ?? clipDefaultMaxSide
            guard (8...clipLargestMaxSide).contains(maxSide) else {
                throw Refusal(.invalid, "upload.bad_size", ["min": .number(8), "max": .number(clipLargestMaxSide)])
            }
            do throws(VideoError) {
                _ = try ClipConverter.plan(upload.bytes, options: clipOptions(fps: fps, maxSide: maxSide))
            } catch {
                throw Self.refusal(error, file: upload.filename)
            }
            // Only now is it known to be a clip (and not a file of another kind among photos).
            guard uploads.count == 1 else { throw Refusal(.invalid, "upload.clip_alone") }
            guard edit == nil else { throw Refusal(.invalid, "upload.clip_no_edit") }
            return Parameters(styles: styles, strength: strength, maxSide: maxSide, clip: Clip(fps: fps.lowercased()))
        }
        let maxSide = maxSide ?? defaultMaxSide
        guard (Generator.minimumSide...largestMaxSide).contains(maxSide) else {
            throw Refusal(.invalid, "upload.bad_size", ["min": .number(Generator.minimumSide), "max": .number(largestMaxSide)])
        }
        for upload in uploads {
            do {
                let decoded = try ImageDecoder.decode(upload.bytes, limits: limits)
                let photo = try edit?.apply(to: decoded.image, file: upload.filename) ?? decoded.image
                let size = RGBImage.fittedSize(width: photo.width, height: photo.height, maxSide: maxSide)
                guard min(size.width, size.height) >= Generator.minimumSide else {
                    throw Refusal(.invalid, "photo.too_small", ["file": Self.fileArgument(upload.filename),
                                                                "min": .number(Generator.minimumSide)])
                }
            } catch let error as ImageError {
                throw Self.refusal(error, file: upload.filename)
            }
        }
        return Parameters(styles: styles, strength: strength, maxSide: maxSide, edit: edit)
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
        if let clip = parameters.clip, let input = photos.first {
            return try runClip(parameters, clip, owner: owner, input: input, progress: progress, isCancelled: isCancelled)
        }
        var made: [Image] = []
        let total = Double(photos.count * parameters.styles.count)
        var done = 0.0
        for input in photos {
            // The decoded photo (36 MB for 12 MP) is needed only until it is fitted: it is made and
            // dropped in here, so the generator's run does not hold it.
            let (photo, original, format, uprightSize) = try Self.prepare(input, edit: parameters.edit,
                                                                          maxSide: parameters.maxSide, limits: limits)
            let before = Data(try ImageEncoder.jpeg(photo, quality: 85))
            // The decode and the fit leave their freed blocks in the heap (and an upload's POST
            // left its own in a web thread's arena): handed back now, they are not resident under
            // the generator's peak (README, `make bench-memory`).
            _ = malloc_trim(0)
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
                    inputWidth: uprightSize.width, inputHeight: uprightSize.height, width: photo.width, height: photo.height,
                    modelSHA256: sha256, durationMS: Int(Date().timeIntervalSince(started) * 1000),
                    original: original, originalType: format.mimeType,
                    result: Data(try ImageEncoder.png(cartoon)), thumbnail: Data(thumbnail), before: before,
                    title: DownloadName.title(fromFilename: input.name),
                    expiresAt: owner == nil ? Date().addingTimeInterval(anonymousLifetime) : nil,
                    visitor: owner == nil ? parameters.visitor : nil))
                done += 1
                progress(done / total)
            }
        }
        if isCancelled() { throw ModelError.cancelled }
        return made
    }

    /// A stored photo decoded, edited if asked, and fitted to `maxSide`; with the original to
    /// keep (an edited photo's original is the edit, at full size, in the upload's format: the
    /// original download and the before/after then show what was converted), its format, and
    /// the upright size before fitting.
    static func prepare(_ input: JobInput, edit: Edit?, maxSide: Int, limits: ImageLimits) throws
        -> (photo: RGBImage, original: Data, format: ImageFormat, uprightSize: (width: Int, height: Int)) {
        let decoded: DecodedImage
        var upright: RGBImage
        do {
            decoded = try ImageDecoder.decode([UInt8](input.bytes), limits: limits)
            upright = decoded.image
        } catch {
            throw JobFailure(Self.refusal(error, file: input.name).message)
        }
        var original = input.bytes
        if let edit, !edit.isNone {
            do {
                upright = try edit.apply(to: upright, file: input.name)
            } catch let refusal as Refusal {
                throw JobFailure(refusal.message)
            }
            original = Data(decoded.info.format == .png ? try ImageEncoder.png(upright)
                            : try ImageEncoder.jpeg(upright, quality: 95))
        }
        return (upright.fitting(maxSide: maxSide), original, decoded.info.format, (upright.width, upright.height))
    }

    /// Runs a clip through each style: every kept frame through the generator, flicker
    /// reduced, MP4 with its sound, a GIF for a GIF, the input as converted for the
    /// before/after, and a poster still.
    func runClip(_ parameters: Parameters, _ clip: Clip, owner: Int64?, input: JobInput,
                 progress: @escaping @Sendable (Double) -> Void, isCancelled: @escaping @Sendable () -> Bool) throws -> [Image] {
        let bytes = [UInt8](input.bytes)
        let options = clipOptions(fps: clip.fps, maxSide: parameters.maxSide)
        let styles = Double(parameters.styles.count)
        var made: [Image] = []
        for (index, style) in parameters.styles.enumerated() {
            if isCancelled() { throw ModelError.cancelled }
            let (generator, sha256) = try models.model(style)
            let started = Date()
            let result: ClipResult
            do {
                result = try ClipConverter.convert(
                    bytes, options: options, workDirectory: FileManager.default.temporaryDirectory, isCancelled: isCancelled,
                    progress: { done, total in
                        progress((Double(index) + min(Double(done) / Double(max(total ?? done, 1)), 1)) / styles)
                    },
                    process: { frame in
                        var cartoon = try generator.cartoonize(frame, threads: threads, isCancelled: isCancelled)
                        if parameters.strength < 100 { cartoon = Self.blend(cartoon, with: frame, strength: parameters.strength) }
                        return cartoon
                    })
            } catch let error as VideoError {
                if error == .cancelled { throw ModelError.cancelled }
                throw JobFailure(Self.refusal(error, file: input.name).message)
            }
            let plan = result.plan
            let thumbnail = try ImageEncoder.jpeg(result.poster.fitting(maxSide: 320), quality: 82)
            made.append(Image(
                id: Image.newID(), ownerID: owner, visibility: owner == nil ? .anonymous : .private,
                style: style.rawValue, strength: parameters.strength,
                inputWidth: plan.info.width, inputHeight: plan.info.height, width: result.width, height: result.height,
                modelSHA256: sha256, durationMS: Int(Date().timeIntervalSince(started) * 1000),
                original: input.bytes, originalType: ClipConverter.mediaType(of: bytes, info: plan.info),
                result: Data(result.mp4), thumbnail: Data(thumbnail), before: Data(result.before ?? []),
                title: DownloadName.title(fromFilename: input.name),
                expiresAt: owner == nil ? Date().addingTimeInterval(anonymousLifetime) : nil,
                visitor: owner == nil ? parameters.visitor : nil,
                media: plan.info.media == .gif ? .gif : .video, poster: Data(try ImageEncoder.png(result.poster)),
                animation: Data(result.gif ?? [])))
            progress(Double(index + 1) / styles)
        }
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

/// Titles and download names from what people upload, in any script.
enum DownloadName {
    /// The most a title keeps, in user-perceived characters (grapheme clusters).
    static let maxTitle = 80

    /// The upload's name without folder or extension, as a title: Korean, Japanese, emoji and
    /// all kept, normalised to NFC (a Mac sends 고 as two decomposed jamo; NFC makes it the one
    /// syllable every other system writes), control characters and runs of spaces made single
    /// spaces, trimmed at a grapheme boundary with a visible "…". Empty when nothing is left
    /// (pages then show the style and date).
    static func title(fromFilename filename: String?) -> String {
        guard let filename else { return "" }
        let base = filename.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        let stem = base.lastIndex(of: ".").map { String(base[..<$0]) } ?? base
        return title(stem.replacingOccurrences(of: "_", with: " "))
    }

    /// Any text made a title: NFC, no control characters, single spaces, at most `maxTitle`
    /// graphemes ("…" marks a cut).
    static func title(_ text: String, limit: Int = maxTitle) -> String {
        var out = ""
        var space = false
        for scalar in text.precomposedStringWithCanonicalMapping.unicodeScalars {
            if scalar.properties.generalCategory == .control || scalar.properties.isWhitespace
                || scalar.properties.generalCategory == .format && scalar != "\u{200D}" {
                space = !out.isEmpty
                continue
            }
            if space { out.unicodeScalars.append(" "); space = false }
            out.unicodeScalars.append(scalar)
        }
        guard out.count > limit else { return out }
        // Cut at a grapheme boundary (String's Characters are grapheme clusters), then at the
        // last space if one is near, so a word is not split when it need not be.
        var cut = String(out.prefix(limit - 1))
        if let space = cut.lastIndex(of: " "), cut.distance(from: space, to: cut.endIndex) < 16 {
            cut = String(cut[..<space])
        }
        return cut + "…"
    }

    /// Text reduced to ASCII letters, digits, '-' and '_', at most 60: the `filename=` fallback
    /// for clients that do not read `filename*` (RFC 6266 §4.3).
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

    /// A title made safe as a file name on every system: the characters Windows and macOS
    /// refuse (`/ \ : * ? " < > |`) become '-', and it may not start with a dot.
    static func fileSafe(_ title: String) -> String {
        let refused = Set("/\\:*?\"<>|")
        let out = String(title.map { refused.contains($0) ? "-" : $0 })
        return out.hasPrefix(".") ? "-" + out.dropFirst() : out
    }

    /// The name a result downloads as, "우리집 고양이-hayao.png", and its ASCII fallback
    /// ("artworker-hayao-1a2b3c4d.png" when the title has no ASCII letters).
    static func file(title: String, style: String, id: String, ext: String) -> (name: String, fallback: String) {
        let fallbackStem = slug(title)
        let fallback = (fallbackStem.isEmpty ? "artworker-\(style)-\(id.prefix(8))" : "\(fallbackStem)-\(style)") + "." + ext
        return (title.isEmpty ? fallback : "\(fileSafe(title))-\(style).\(ext)", fallback)
    }

    /// The name the original photo downloads as: its title, or "original-1a2b3c4d".
    static func original(title: String, id: String, ext: String) -> (name: String, fallback: String) {
        let stem = slug(title)
        let fallback = (stem.isEmpty ? "original-\(id.prefix(8))" : stem) + "." + ext
        return (title.isEmpty ? fallback : "\(fileSafe(title)).\(ext)", fallback)
    }
}

