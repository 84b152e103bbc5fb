import Foundation
import Localization
import ImageIO
import Palette
import StorageCore
import Video

/// Movies from frames (analysed as a job) or from a colour file (imported at once), and the
/// palettes pages and exports are drawn from. Everything a request brings is checked before a
/// job is queued or a row written; analysis stores the whole movie or nothing.
struct MovieService: Sendable {
    let movies: any MovieStore
    var limits = ImageLimits.default
    static let maxFrames = 1000
    static let maxCSVBytes = 16_000_000
    /// The whole upload (frames, a ZIP of them, or a colour file) and the form.
    static let maxUploadBytes = 200_000_000
    /// What every ZIP of one request may inflate to, together: the frames a job holds are
    /// bounded whichever way they came.
    static let maxInflatedBytes = 200_000_000
    /// The work one movie may ask for, in decoded pixels over all its frames (1000 frames of
    /// 1080p fit; 1000 copies of a tiny 40-megapixel PNG, 14 minutes of CPU, do not).
    static let maxTotalPixels = 2_500_000_000
    static let thumbnailSide = 240

    /// A frame as uploaded: its name orders the film (frame_0002 before frame_0010).
    struct Frame: Sendable {
        var name: String
        var bytes: [UInt8]
    }

    /// What a queued analysis asks for (the job row's JSON); the frames are its inputs.
    struct Parameters: Codable, Sendable, Equatable {
        var title: String
        var year: Int?
        var director: String
        var notes: String
        /// A film's video: seconds between the frames taken (nil: the inputs are frames).
        var interval: Double?

        init(_ info: MovieInfo, interval: Double? = nil) {
            title = info.title
            year = info.year
            director = info.director
            notes = info.notes
            self.interval = interval
        }

        var info: MovieInfo { MovieInfo(title: title, year: year, director: director, notes: notes) }
    }

    // MARK: Checking input

    /// A text's length as the database's CHECK constraints count it: SQLite's `length()` counts
    /// the Unicode scalars of a TEXT value, while Swift's `count` counts grapheme clusters, so
    /// "e" + U+0301 is 2 there and 1 here. Counting the same way keeps a text that passes this
    /// check from failing the constraint (a 500) later.
    static func length(_ text: String) -> Int { text.unicodeScalars.count }

    /// Title, year, director and notes as members type them; anything wrong is a `Refusal`.
    static func info(title: String?, year: String?, director: String?, notes: String?) throws -> MovieInfo {
        // NFC: a title typed on a Mac (decomposed Hangul or accents) and the same title typed
        // elsewhere are one title, and the length limit counts what people see.
        let title = (title ?? "").precomposedStringWithCanonicalMapping.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !title.isEmpty else { throw Refusal(.invalid, "movie.title_missing") }
        guard Self.length(title) <= 120 else { throw Refusal(.invalid, "movie.title_too_long", ["max": 120]) }
        var number: Int?
        if let text = year?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
            guard let value = Int(text), (1870...2100).contains(value) else {
                throw Refusal(.invalid, "movie.bad_year")
            }
            number = value
        }
        let director = (director ?? "").precomposedStringWithCanonicalMapping.trimmingCharacters(in: .whitespacesAndNewlines)
        guard Self.length(director) <= 120 else { throw Refusal(.invalid, "movie.director_too_long", ["max": 120]) }
        let notes = (notes ?? "").precomposedStringWithCanonicalMapping.trimmingCharacters(in: .whitespacesAndNewlines)
        guard Self.length(notes) <= 4000 else { throw Refusal(.invalid, "movie.notes_too_long", ["max": 4000]) }
        return MovieInfo(title: title, year: number, director: director, notes: notes)
    }

    /// What a movie's upload is: frames (images and ZIPs of them), or one film's video.
    enum Input {
        case frames([Frame])
        case film(Frame, interval: Double)
    }

    /// Tells frames from a film's video, and checks either before anything is queued: a video
    /// has its header read and its length, size and frame count (at the interval chosen)
    /// held to the limits; frames are checked by `frames(from:)`. `interval` is the form's
    /// text (seconds; empty means the default 2), and only matters for a video.
    func input(from uploads: [Frame], interval text: String?) throws -> Input {
        guard let film = uploads.first(where: { !ZipArchive.isZip($0.bytes) && ImageFormat.sniff($0.bytes) == nil }) else {
            return .frames(try frames(from: uploads))
        }
        let interval = try Self.interval(text)
        do throws(VideoError) {
            _ = try FilmFrames.plan(film.bytes, options: FilmOptions(interval: interval))
        } catch {
            throw Self.refusal(error, file: film.name, interval: interval)
        }
        // Only now is it known to be a video (and not a file of another kind among frames).
        guard uploads.count == 1 else { throw Refusal(.invalid, "movie.film_alone") }
        return .film(film, interval: interval)
    }

    /// Seconds between a film's frames, as typed: a number from 0.5 to 60 (a comma for the
    /// decimal point too), 2 when left empty.
    static func interval(_ text: String?) throws -> Double {
        let text = (text ?? "").trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ",", with: ".")
        guard !text.isEmpty else { return FilmOptions.defaultInterval }
        guard let value = Double(text), value.isFinite, FilmOptions.intervals.contains(value) else {
            throw Refusal(.invalid, "movie.bad_interval", ["min": .text("0.5"), "max": .number(60)])
        }
        return value
    }

    /// A film's refusals: its length and the frames the interval takes in a film's terms (a
    /// longer interval helps), the rest as for clips (too many frames *decoded* included).
    static func refusal(_ error: VideoError, file: String, interval: Double, limits: ClipLimits = .film) -> Refusal {
        switch error {
        case let .tooLong(seconds, limit):
            Refusal(.tooLarge, "movie.film_too_long", ["file": .text(file), "length": .text(FilmScenes.timecode(Int(seconds * 1000))),
                                                        "limit": .text(FilmScenes.timecode(Int(limit * 1000)))])
        case let .tooManyFrames(count, limit) where limit == limits.maxOutputFrames:
            Refusal(.tooLarge, "movie.film_too_many_frames", ["file": .text(file), "interval": .text(Self.seconds(interval)),
                                                               "count": .number(count), "limit": .number(limit)])
        default:
            ConversionService.refusal(error, file: file)
        }
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))" : String(format: "%g", value)
    }

    /// The frames of an upload: image files and the images inside ZIP files, in name order.
    /// Every frame's header is read (format and size within limits) as soon as the frame is at
    /// hand, before the next is inflated, and before anything is queued; the request's ZIPs
    /// share one inflation budget and the frames one budget of pixels.
    func frames(from uploads: [Frame]) throws -> [Frame] {
        var frames: [Frame] = []
        var inflated = 0, pixels = 0
        func check(_ frame: Frame) throws {
            let info: ImageInfo
            do {
                info = try ImageDecoder.info(frame.bytes, limits: limits)
            } catch {
                throw ConversionService.refusal(error, file: frame.name)
            }
            pixels += info.width * info.height
            guard pixels <= Self.maxTotalPixels else {
                throw Refusal(.tooLarge, "movie.too_many_pixels", ["mp": .number(Self.maxTotalPixels / 1_000_000)])
            }
        }
        for upload in uploads {
            if ZipArchive.isZip(upload.bytes) {
                do {
                    let archive = try ZipArchive(upload.bytes, limits: .init(maxEntries: 2 * Self.maxFrames, maxEntryBytes: limits.maxBytes))
                    for entry in archive.entries where !entry.isDirectory && Self.isFrameName(entry.name) {
                        guard frames.count < Self.maxFrames else {
                            throw Refusal(.tooLarge, "movie.too_many_frames", ["max": .number(Self.maxFrames)])
                        }
                        inflated += entry.size // inflation stops at the declared size
                        guard inflated <= Self.maxInflatedBytes else {
                            throw Refusal(.tooLarge, "movie.zip_too_large", ["mb": .number(Self.maxInflatedBytes / 1_000_000)])
                        }
                        let frame = Frame(name: entry.name, bytes: try archive.contents(of: entry))
                        try check(frame)
                        frames.append(frame)
                    }
                } catch let error as ZipArchive.FormatError {
                    throw Refusal(.unreadable, "movie.zip_unreadable", ["file": .text(upload.name), "detail": .text(error.description)])
                }
            } else {
                try check(upload)
                frames.append(upload)
            }
            guard frames.count <= Self.maxFrames else { throw Refusal(.tooLarge, "movie.too_many_frames", ["max": .number(Self.maxFrames)]) }
        }
        guard !frames.isEmpty else {
            throw Refusal(.invalid, "movie.no_input")
        }
        // By file name, numbers as numbers (frame_2 before frame_10), wherever the file came from.
        func order(_ a: Frame, _ b: Frame) -> Bool {
            let fileA = a.name.split(separator: "/").last.map(String.init) ?? a.name
            let fileB = b.name.split(separator: "/").last.map(String.init) ?? b.name
            let byFile = fileA.compare(fileB, options: [.numeric, .caseInsensitive])
            return byFile != .orderedSame ? byFile == .orderedAscending
                : a.name.compare(b.name, options: [.numeric, .caseInsensitive]) == .orderedAscending
        }
        return frames.sorted(by: order)
    }

    /// Inside a ZIP: images only, not folders' metadata (macOS's __MACOSX/, dot files).
    static func isFrameName(_ name: String) -> Bool {
        let file = name.split(separator: "/").last.map(String.init) ?? name
        guard !name.hasPrefix("__MACOSX/"), !file.hasPrefix(".") else { return false }
        return [".jpg", ".jpeg", ".png"].contains { file.lowercased().hasSuffix($0) }
    }

    // MARK: Making movies

    /// Analyses a queued movie's frames in order; returns the movie for the job to store (all
    /// of it or nothing).
    func analyse(_ parameters: Parameters, owner: Int64, frames: [JobInput], progress: @escaping @Sendable (Double) -> Void,
                 isCancelled: @escaping @Sendable () -> Bool) throws -> NewMovie {
        if let interval = parameters.interval, frames.count == 1 {
            return try analyseFilm(parameters, owner: owner, video: frames[0], interval: interval, progress: progress, isCancelled: isCancelled)
        }
        let analyzer = SceneAnalyzer()
        var scenes: [NewMovie.Scene] = []
        var document = PaletteDocument(title: parameters.title)
        for (i, frame) in frames.enumerated() {
            if isCancelled() { throw CancellationError() }
            let decoded: DecodedImage
            do {
                decoded = try ImageDecoder.decode([UInt8](frame.bytes), limits: limits)
            } catch {
                throw JobFailure(ConversionService.refusal(error, file: frame.name).message)
            }
            let palette = analyzer.analyse(decoded.image)
            let thumbnail = try ImageEncoder.jpeg(decoded.image.fitting(maxSide: Self.thumbnailSide), quality: 80)
            scenes.append(NewMovie.Scene(number: i + 1, flags: palette.flags.names, width: decoded.image.width,
                                         height: decoded.image.height, thumbnail: Data(thumbnail)))
            document.scenes.append(PaletteDocument.Scene(number: i + 1, flags: palette.flags, colours: palette.colours))
            progress(Double(i + 1) / Double(frames.count + 1))
        }
        if isCancelled() { throw CancellationError() }
        return NewMovie(ownerID: owner, info: parameters.info, source: .frames, scenes: scenes,
                        colours: Self.rows(document), dominant: Self.dominant(document), overview: MovieOverview(document).json())
    }

    /// A film's video: a frame every `interval` seconds, fades and repeats skipped (see
    /// `FilmScenes`), each kept frame a scene that remembers its time.
    func analyseFilm(_ parameters: Parameters, owner: Int64, video: JobInput, interval: Double,
                     progress: @escaping @Sendable (Double) -> Void, isCancelled: @escaping @Sendable () -> Bool) throws -> NewMovie {
        var scenes: [NewMovie.Scene] = []
        var document = PaletteDocument(title: parameters.title)
        do {
            try FilmScenes.read([UInt8](video.bytes), options: FilmOptions(interval: interval), isCancelled: isCancelled,
                                progress: { progress($0 * 0.99) }) { scene in
                let number = scenes.count + 1
                let thumbnail = try ImageEncoder.jpeg(scene.image.fitting(maxSide: Self.thumbnailSide), quality: 80)
                scenes.append(NewMovie.Scene(number: number, flags: scene.palette.flags.names, width: scene.image.width,
                                             height: scene.image.height, thumbnail: Data(thumbnail),
                                             timeMS: scene.milliseconds))
                document.scenes.append(PaletteDocument.Scene(number: number, flags: scene.palette.flags, colours: scene.palette.colours,
                                                             seconds: scene.seconds))
            }
        } catch let error as VideoError {
            if case .cancelled = error { throw CancellationError() }
            throw JobFailure(Self.refusal(error, file: video.name, interval: interval).message)
        }
        if isCancelled() { throw CancellationError() }
        guard !scenes.isEmpty else { throw JobFailure(Message("movie.film_no_scenes", ["file": .text(video.name)])) }
        return NewMovie(ownerID: owner, info: parameters.info, source: .frames, scenes: scenes,
                        colours: Self.rows(document), dominant: Self.dominant(document), overview: MovieOverview(document).json())
    }

    /// Imports a colour file as a movie at once; returns its id. Scenes only where the file
    /// names them (an exported palette); the study's x,y,z rows stay ungrouped.
    func importCSV(_ bytes: [UInt8], filename: String?, info: MovieInfo, owner: Int64) throws -> String {
        guard bytes.count <= Self.maxCSVBytes else {
            throw Refusal(.tooLarge, "movie.csv_too_large", ["mb": .number(Self.maxCSVBytes / 1_000_000)])
        }
        let parsed: PaletteCSV.Parsed
        do {
            parsed = try PaletteCSV.parse(bytes)
        } catch let error as PaletteCSV.FormatError {
            throw Refusal(.unreadable, "movie.csv_unreadable", ["file": filename.map { .text($0) } ?? .message(Message("movie.colour_file")),
                                                                "detail": .text(error.description)])
        }
        let document = PaletteDocument(title: info.title, scenes: parsed.scenes, ungrouped: parsed.ungrouped)
        let movie = NewMovie(ownerID: owner, info: info, source: .csv,
                             scenes: parsed.scenes.map { NewMovie.Scene(number: $0.number, flags: []) },
                             colours: Self.rows(document), dominant: Self.dominant(document), overview: MovieOverview(document).json())
        try movies.insert(movie)
        return movie.id
    }

    static func rows(_ document: PaletteDocument) -> [MovieColour] {
        document.scenes.flatMap { scene in
            scene.colours.map { MovieColour(scene: scene.number, tile: $0.tile, rank: $0.rank, r: $0.colour.r, g: $0.colour.g, b: $0.colour.b, share: $0.share) }
        } + document.ungrouped.map { MovieColour(scene: nil, tile: nil, rank: nil, r: $0.r, g: $0.g, b: $0.b, share: nil) }
    }

    static func dominant(_ document: PaletteDocument) -> [StoredColour] {
        MoviePalette.dominant(document.weightedColours).map {
            StoredColour(r: $0.centre.r, g: $0.centre.g, b: $0.centre.b, share: $0.share)
        }
    }

    // MARK: Reading and changing movies

    func list(page: Int) throws -> (items: [MovieSummary], hasMore: Bool) {
        try movies.list(page: page)
    }

    func find(_ id: String) throws -> MovieSummary {
        guard let movie = try movies.find(id: id) else { throw Self.notFound }
        return movie
    }

    /// The movie for an owner-only action: not found, or forbidden when it is someone else's.
    enum OwnerAction { case edit, delete }

    func owned(_ id: String, by user: Int64, action: OwnerAction) throws -> MovieSummary {
        let movie = try find(id)
        guard movie.ownerID == user else {
            throw Refusal(.forbidden, action == .edit ? Message("movie.not_yours.edit") : Message("movie.not_yours.delete"))
        }
        return movie
    }

    func update(_ id: String, by user: Int64, info: MovieInfo) throws {
        _ = try owned(id, by: user, action: .edit)
        guard try movies.update(id: id, owner: user, info: info) else { throw Self.notFound }
    }

    func delete(_ id: String, by user: Int64) throws {
        _ = try owned(id, by: user, action: .delete)
        guard try movies.delete(id: id, owner: user) else { throw Self.notFound }
    }

    /// A scene's thumbnail (JPEG).
    func thumbnail(movie id: String, scene: Int) throws -> Data {
        guard let bytes = try movies.thumbnail(movie: id, scene: scene) else { throw Refusal(.notFound, "movie.no_scene") }
        return bytes
    }

    struct Loaded {
        var summary: MovieSummary
        var scenes: [MovieScene]
        var document: PaletteDocument
        var dominant: [KMeans.Cluster]
    }

    static let notFound = Refusal(.notFound, "movie.not_found")

    func load(_ id: String) throws -> Loaded {
        guard let summary = try movies.find(id: id) else { throw Self.notFound }
        let (scenes, colours) = try movies.contents(id: id)
        var byScene: [Int: [TileColour]] = [:]
        var ungrouped: [Colour] = []
        for c in colours {
            let colour = Colour(r: c.r, g: c.g, b: c.b)
            if let scene = c.scene, let tile = c.tile, let rank = c.rank, let share = c.share {
                byScene[scene, default: []].append(TileColour(tile: tile, rank: rank, colour: colour, share: share))
            } else {
                ungrouped.append(colour)
            }
        }
        let document = PaletteDocument(
            title: summary.info.title, year: summary.info.year, director: summary.info.director.isEmpty ? nil : summary.info.director,
            scenes: scenes.map {
                PaletteDocument.Scene(number: $0.number, flags: SceneFlags(names: $0.flags), colours: byScene[$0.number] ?? [],
                                      seconds: $0.timeMS.map { Double($0) / 1000 })
            },
            ungrouped: ungrouped)
        return Loaded(summary: summary, scenes: scenes, document: document, dominant: Self.clusters(summary.dominant))
    }

    /// A movie page's worth: the movie, its overview (computed and kept on the first view of a
    /// movie stored before overviews existed) and one page of scenes with their colours.
    struct Page {
        var summary: MovieSummary
        var overview: MovieOverview
        var scenes: [MovieScene]
        var colours: [Int: [TileColour]]
        var hasMoreScenes: Bool
    }

    static let scenesPerPage = 60

    func page(_ id: String, scenePage: Int) throws -> Page {
        guard let summary = try movies.find(id: id) else { throw Self.notFound }
        let overview: MovieOverview
        if let json = try movies.overview(id: id), let stored = MovieOverview(json: json) {
            overview = stored
        } else {
            overview = MovieOverview(try load(id).document)
            try movies.setOverview(id: id, json: overview.json())
        }
        let (scenes, colours, hasMore) = try movies.scenes(id: id, page: scenePage, perPage: Self.scenesPerPage)
        var byScene: [Int: [TileColour]] = [:]
        for c in colours {
            guard let scene = c.scene, let tile = c.tile, let rank = c.rank, let share = c.share else { continue }
            byScene[scene, default: []].append(TileColour(tile: tile, rank: rank, colour: Colour(r: c.r, g: c.g, b: c.b), share: share))
        }
        return Page(summary: summary, overview: overview, scenes: scenes, colours: byScene, hasMoreScenes: hasMore)
    }

    static func clusters(_ stored: [StoredColour]) -> [KMeans.Cluster] {
        stored.map { KMeans.Cluster(centre: Colour(r: $0.r, g: $0.g, b: $0.b), share: $0.share ?? 0) }
    }

    // MARK: A cartoon result's palette

    /// The result's 18 colours, analysed once from the stored PNG and remembered.
    func resultPalette(imageID: String, result: () throws -> Data?) throws -> [TileColour] {
        if let stored = try movies.imagePalette(id: imageID) {
            return stored.compactMap { c in
                guard let tile = c.tile, let rank = c.rank, let share = c.share else { return nil }
                return TileColour(tile: tile, rank: rank, colour: Colour(r: c.r, g: c.g, b: c.b), share: share)
            }
        }
        guard let png = try result(), let decoded = try? ImageDecoder.decode(png, limits: limits) else { return [] }
        let colours = SceneAnalyzer().analyse(decoded.image).colours
        try movies.setImagePalette(id: imageID, colours: colours.map {
            MovieColour(scene: nil, tile: $0.tile, rank: $0.rank, r: $0.colour.r, g: $0.colour.g, b: $0.colour.b, share: $0.share)
        })
        return colours
    }

    /// The movie whose dominant palette is nearest to these colours, and the distance.
    func nearest(to colours: [TileColour]) throws -> (movie: MovieSummary, distance: Double)? {
        let weighted = MoviePalette.weighted(colours)
        guard !weighted.isEmpty else { return nil }
        return try movies.all().compactMap { movie -> (MovieSummary, Double)? in
            let dominant = movie.dominant.map { WeightedColour(Colour(r: $0.r, g: $0.g, b: $0.b), weight: $0.share ?? 0) }
            return dominant.isEmpty ? nil : (movie, MoviePalette.distance(weighted, dominant))
        }.min { $0.1 < $1.1 }
    }
}

/// The command line's way in (`artworker palette import`): the same checks and the same
/// import as the web form, into the database in `dataDirectory`.
public enum MovieImport {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Imports a colour file as a movie owned by `username`, into the database `configuration`
    /// names; returns its id and colour count.
    public static func colourFile(_ bytes: [UInt8], filename: String, title: String, year: String?, director: String?,
                                  notes: String?, owner username: String, configuration: WebAppConfiguration) throws -> (id: String, colours: Int) {
        do {
            let stores = try configuration.openStores()
            guard let owner = try stores.users.find(username: username)?.id else {
                throw Failure(description: "there is no member called '\(username)' (sign up on the site first)")
            }
            let info = try MovieService.info(title: title, year: year, director: director, notes: notes)
            let service = MovieService(movies: stores.movies)
            let id = try service.importCSV(bytes, filename: filename, info: info, owner: owner)
            return (id, try service.movies.find(id: id)?.colourCount ?? 0)
        } catch let refusal as Refusal {
            throw Failure(description: refusal.message.description)
        }
    }
}
