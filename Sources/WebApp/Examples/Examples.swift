import CartoonGAN
import Foundation
import Kernels
import ImageIO
import Logging
import StorageCore
import Synchronization

/// What a first visit shows: Artworker's own before/after examples, made from the photos
/// bundled in Public/examples (see SOURCES.md there) in every installed style, and an example
/// movie analysed from those photos and their cartoons. They are made by a process that has
/// the models (a conversion worker), once, in the background, one picture at a time with one
/// thread, so real jobs keep both cores; a model that changes has its examples made again.
struct Examples: Sendable {
    /// The bundled photos, in the order the home page shows them.
    static let photos = ["astronaut", "chelsea", "coffee", "rocket"]
    /// The photo the upload form's style samples show.
    static let sample = "chelsea"
    /// Examples are small: the home page shows them at most ~300 px wide.
    static let side = 480

    let store: ExampleStore
    /// Public/examples: the photos.
    let folder: URL

    func photoURL(_ photo: String) -> URL { folder.appendingPathComponent("\(photo).jpg") }

    /// Every style each photo has an example in.
    func available() throws -> [String: Set<Style>] {
        try store.made().mapValues { Set($0.keys.compactMap(Style.init(rawValue:))) }
    }

    /// The example's address, for pages ("/examples/chelsea/hayao.jpg").
    static func path(_ photo: String, _ style: Style) -> String { "/examples/\(photo)/\(style.rawValue).jpg" }

    /// Makes what is missing (or was made by another model), one picture at a time, checking
    /// `stopping` between them; then the example movie once every installed style is there.
    func makeMissing(conversions: ConversionService, movies: MovieService, logger: Logger,
                     stopping: @Sendable () -> Bool) throws {
        let styles = conversions.models.availableStyles
        guard !styles.isEmpty else { return }
        var made = try store.made()
        for photo in Self.photos {
            guard let bytes = try? Data(contentsOf: photoURL(photo)) else {
                logger.warning("example photo missing", metadata: ["file": "\(photoURL(photo).path)"])
                continue
            }
            var picture: RGBImage? // decoded once per photo, and only if a style needs it
            for style in styles {
                if stopping() { return }
                let (generator, sha256) = try conversions.models.model(style)
                guard made[photo]?[style.rawValue] != sha256 else { continue }
                let started = Date()
                let source = try picture ?? ImageDecoder.decode([UInt8](bytes)).image.fitting(maxSide: Self.side)
                picture = source
                let cartoon = try generator.cartoonize(source, threads: 1, progress: { _ in }, isCancelled: stopping)
                try store.put(photo: photo, style: style.rawValue, modelSHA256: sha256,
                              picture: Data(try ImageEncoder.jpeg(cartoon, quality: 85)))
                made[photo, default: [:]][style.rawValue] = sha256
                logger.info("example made", metadata: ["photo": "\(photo)", "style": "\(style.rawValue)",
                                                       "ms": "\(Int(Date().timeIntervalSince(started) * 1000))"])
            }
        }
        guard try !store.hasMovie(), !stopping() else { return }
        try makeMovie(movies: movies, styles: styles, logger: logger)
    }

    /// The example movie: each photo, then its cartoons, as scenes. It shows what a movie page
    /// does with frames a visitor can see for themselves, and how a style shifts a palette.
    func makeMovie(movies: MovieService, styles: [Style], logger: Logger) throws {
        var frames: [JobInput] = []
        for photo in Self.photos {
            guard let bytes = try? Data(contentsOf: photoURL(photo)) else { continue }
            frames.append(JobInput(name: "\(photo).jpg", bytes: bytes))
            for style in styles {
                if let example = try store.picture(photo: photo, style: style.rawValue) {
                    frames.append(JobInput(name: "\(photo)-\(style.rawValue).jpg", bytes: example.picture))
                }
            }
        }
        guard !frames.isEmpty else { return }
        let info = MovieInfo(title: "Artworker examples: four photos and their cartoons", year: nil, director: "",
                             notes: "Made by Artworker from the bundled example photos (public domain and CC0): "
                                 + "each photo, then the same photo in each installed style.")
        let movie = try movies.analyse(MovieService.Parameters(info), owner: try store.ownerID(), frames: frames,
                                       progress: { _ in }, isCancelled: { false })
        guard try !store.hasMovie() else { return } // another process finished first
        try movies.movies.insert(movie)
        logger.info("example movie made", metadata: ["scenes": "\(frames.count)"])
    }
}

/// Runs `Examples.makeMissing` on a thread of its own, after the models are loaded.
final class ExampleMaker: Sendable {
    private let stopping = Mutex(false)
    private let started = Mutex(false)
    private let done = DispatchSemaphore(value: 0)
    let examples: Examples
    let conversions: ConversionService
    let movies: MovieService
    let logger: Logger

    init(examples: Examples, conversions: ConversionService, movies: MovieService, logger: Logger) {
        self.examples = examples
        self.conversions = conversions
        self.movies = movies
        self.logger = logger
    }

    func start() {
        started.withLock { $0 = true }
        let thread = Thread { [self] in
            ComputeThreads.shared.lowerPriorityOfCurrentThread() // conversions: as the job threads
            do {
                try examples.makeMissing(conversions: conversions, movies: movies, logger: logger,
                                         stopping: { self.stopping.withLock { $0 } })
            } catch let error as ModelError where error == .cancelled {
                // stopped on purpose
            } catch {
                logger.error("examples could not be made", metadata: ["error": "\(error)"])
            }
            done.signal()
        }
        thread.name = "examples"
        thread.qualityOfService = .background
        thread.start()
    }

    /// Stops at the next picture (or layer) and waits for the thread to end (if it began).
    func stop() {
        stopping.withLock { $0 = true }
        if started.withLock({ $0 }) { done.wait() }
    }
}
