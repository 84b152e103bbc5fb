import CartoonGAN
import Dispatch
import Foundation
import HTTPServer
import Logging
import Storage
import Synchronization

/// The composition root: configuration in, a running service out. Loads templates, prepares
/// the data folder and mounts every controller on one router.
public final class WebApp: Sendable {
    public let configuration: WebAppConfiguration
    public let router: Router
    public let templates: Templates
    let logger: Logger
    let server: HTTPServer
    let images: ImageStore
    /// Deletes anonymous results once they expire (made on start: GCD must not release a
    /// source that was never resumed).
    // Unchecked: DispatchSourceTimer is thread-safe but not marked Sendable.
    nonisolated(unsafe) var purgeTimer: DispatchSourceTimer?
    let purgeLock = Mutex<Void>(())

    public static func build(configuration: WebAppConfiguration, logger: Logger) throws -> WebApp {
        try configuration.validate()
        let templates = try Templates(directory: configuration.templatesDirectory)
        do {
            try AppDatabase.privateFolder(configuration.dataDirectory) // 0700: hashes and private pictures live here
        } catch {
            throw ConfigurationError("cannot create the data folder \(configuration.dataDirectory.path): \(error)")
        }
        let database = try AppDatabase.open(directory: configuration.dataDirectory)
        let secret = try SessionSecret.load(dataDirectory: configuration.dataDirectory, environment: configuration.environment)
        let accounts = try AccountService(database: database, secret: secret, bcryptCost: configuration.bcryptCost)
        let router = Router(defaultBodyLimit: configuration.server.limits.maxBodyBytes, logger: logger) { e in
            // Errors skip the middleware on their way out, so security headers are added here too.
            var response: HTTPResponse
            if e.path.hasPrefix("/api/") {
                struct Body: Encodable { var error: String; var status: Int; var request_id: String }
                response = .json(Body(error: e.message, status: e.status.code, request_id: e.requestID), status: e.status)
            } else {
                response = .html(templates.page("errors/error", title: "\(e.status.code) \(e.status.reason)", context: [
                    "code": e.status.code, "reason": e.status.reason, "message": e.message, "requestID": e.requestID,
                ]), status: e.status)
            }
            SecurityHeaders.apply(to: &response)
            return response
        }
        let images = ImageStore(database: database)
        var conversions = ConversionService(models: ModelRegistry(folder: configuration.weightsDirectory), images: images)
        conversions.threads = configuration.conversionThreads
        conversions.anonymousLifetime = configuration.anonymousLifetime
        let queue = JobQueue(maxQueued: configuration.maxQueuedConversions, logger: logger)
        let staticFiles = StaticFiles(root: configuration.publicDirectory)
        let openAPI = try OpenAPIDocument(files: staticFiles)
        let app = WebApp(configuration: configuration, router: router, templates: templates, logger: logger,
                         images: images)
        router.use(SecurityHeaders())
        router.use(SessionMiddleware(accounts: accounts))
        // Upload routes allow members more than strangers: decided from the head, before the body.
        router.isSignedIn = { head in
            SessionMiddleware.token(path: head.path, headers: head.headers).flatMap(accounts.session(token:)) != nil
        }
        let pages = Pages(templates: templates, accounts: accounts, secureCookies: configuration.secureCookies)
        HomeController(pages: pages).mount(on: router)
        staticFiles.mount(on: router)
        AuthAPIController(accounts: accounts).mount(on: router)
        SessionPagesController(accounts: accounts, secureCookies: configuration.secureCookies).mount(on: router)
        AccountPagesController(accounts: accounts, pages: pages, secureCookies: configuration.secureCookies).mount(on: router)
        let library = ImageLibrary(images: images)
        ConversionController(service: conversions, queue: queue, pages: pages,
                             decoding: DecodeGate(capacity: configuration.decodeMemory)).mount(on: router)
        let movieService = MovieService(movies: MovieStore(database: database))
        ImageController(library: library, pages: pages, movies: movieService).mount(on: router)
        // Frame analysis has a queue of its own: a movie never waits behind conversions.
        MovieController(service: movieService, queue: JobQueue(maxQueued: 8, maxPerMember: 2, noun: "movie analyses", logger: logger),
                        pages: pages).mount(on: router)
        GalleryController(library: library, pages: pages).mount(on: router)
        openAPI.mount(on: router)
        router.freeze()
        return app
    }

    init(configuration: WebAppConfiguration, router: Router, templates: Templates, logger: Logger, images: ImageStore) {
        self.configuration = configuration
        self.images = images
        self.router = router
        self.templates = templates
        self.logger = logger
        var serverConfiguration = configuration.server
        serverConfiguration.host = configuration.host
        serverConfiguration.port = configuration.port
        server = HTTPServer(configuration: serverConfiguration, responder: router, logger: logger)
    }

    public func start() throws {
        try server.start()
        let timer = Self.purgeTimer(images, logger: logger)
        purgeLock.withLock { _ in purgeTimer = timer }
        timer.resume()
    }

    public func shutdown() {
        purgeLock.withLock { _ in purgeTimer?.cancel() }
        server.shutdown()
    }

    /// Every minute, off the connection threads: anonymous results past their expiry go (reads
    /// already hide them; this frees the space).
    static func purgeTimer(_ images: ImageStore, logger: Logger) -> DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "artworker.purge", qos: .utility))
        timer.schedule(deadline: .now(), repeating: 60, leeway: .seconds(5))
        timer.setEventHandler {
            do {
                let removed = try images.purgeExpired()
                if removed > 0 { logger.info("removed expired anonymous results", metadata: ["count": "\(removed)"]) }
            } catch {
                logger.error("purging expired results failed", metadata: ["error": "\(error)"])
            }
        }
        return timer
    }
    public var port: Int { server.port }
}
