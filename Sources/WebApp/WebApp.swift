import CartoonGAN
import Dispatch
import Foundation
import HTTPServer
import Logging
import StorageCore
import Synchronization

/// The composition root: configuration in, a running service out. Loads templates, prepares
/// the data folder and mounts every controller on one router.
public final class WebApp: Sendable {
    public let configuration: WebAppConfiguration
    public let router: Router
    public let templates: Templates
    let logger: Logger
    let server: HTTPServer
    /// The stores, for housekeeping (expiry, the object store's sweep).
    let stores: Stores
    let jobs: JobStore
    /// This process's job workers (none on a web-only node).
    let workers: JobWorkers
    /// `/metrics` on its own listener, when configured.
    public let metricsEndpoint: MetricsEndpoint?
    /// Deletes anonymous results once they expire (made on start: GCD must not release a
    /// source that was never resumed).
    // Unchecked: DispatchSourceTimer is thread-safe but not marked Sendable.
    nonisolated(unsafe) var purgeTimer: DispatchSourceTimer?
    let purgeLock = Mutex<Void>(())

    public static func build(configuration: WebAppConfiguration, logger: Logger) throws -> WebApp {
        try configuration.validate()
        let templates = try Templates(directory: configuration.templatesDirectory)
        let stores = try configuration.openStores()
        logger.info("storage", metadata: ["database": "\(stores.description)"])
        let secret = try SessionSecret.load(dataDirectory: configuration.dataDirectory, environment: configuration.environment,
                                            shared: configuration.databaseURL != nil)
        let accounts = try AccountService(stores: stores, secret: secret, bcryptCost: configuration.bcryptCost)
        let router = Router(defaultBodyLimit: configuration.server.limits.maxBodyBytes, logger: logger)
        let images = stores.images
        let conversions = configuration.conversionService()
        let (jobStore, metrics) = configuration.jobStore(stores)
        // Requests are measured only where someone can read the figures.
        if configuration.metricsPort != nil { router.observer = metrics }
        let workers = JobWorkers.make(store: jobStore, movies: stores.movies, conversions: conversions, kinds: Job.Kind.allCases,
                                      count: configuration.workers, metrics: metrics, examples: configuration.examples(stores),
                                      pollInterval: stores.pollInterval, listen: stores.listenForJobs, logger: logger)
        let nudge: @Sendable () -> Void = { workers.nudge() }
        let conversionQueue = JobQueue(store: jobStore, kind: .conversion,
                                       limits: .init(waiting: configuration.maxQueuedConversions, perSubmitter: configuration.maxQueuedPerMember),
                                       nudge: nudge)
        // Frame analysis is a kind of its own: a movie never waits behind conversions.
        let movieQueue = JobQueue(store: jobStore, kind: .movie, limits: .init(waiting: 8, perSubmitter: 2), nudge: nudge)
        let staticFiles = StaticFiles(root: configuration.publicDirectory)
        let openAPI = try OpenAPIDocument(files: staticFiles)
        let app = WebApp(configuration: configuration, router: router, templates: templates, logger: logger,
                         stores: stores, jobs: jobStore, workers: workers,
                         metricsEndpoint: configuration.metricsPort.map {
                             MetricsEndpoint(metrics: metrics, host: configuration.metricsHost, port: $0, logger: logger)
                         })
        router.translateError = { HTTPError.from($0) }
        router.use(SecurityHeaders())
        router.use(SessionMiddleware(accounts: accounts))
        // Upload routes allow members more than strangers: decided from the head, before the body.
        // With the database away the smaller limit holds; the middleware answers 503 next.
        router.isSignedIn = { head in
            SessionMiddleware.token(path: head.path, headers: head.headers).flatMap { try? accounts.session(token: $0) } != nil
        }
        let pages = Pages(templates: templates, accounts: accounts, secureCookies: configuration.secureCookies,
                          publicURL: configuration.publicURL, cache: stores.dataVersion.map { PageCache(version: $0) })
        router.renderError = { e in
            // Errors skip the middleware on their way out, so security headers are added here too.
            var response: HTTPResponse
            if e.path.hasPrefix("/api/") {
                // The sentence follows Accept-Language; `code` is stable for programs to act on.
                let language = e.request.map(Pages.language(of:)) ?? .fallback
                let error = HTTPError(e.status, e.message, code: e.code, details: e.details)
                struct Body: Encodable { var error: String; var code: String; var status: Int; var request_id: String }
                response = .json(Body(error: error.message(in: language, method: e.request?.method),
                                      code: e.code ?? "http.\(e.status.code)", status: e.status.code, request_id: e.requestID),
                                 status: e.status)
                Pages.languageHeaders(&response, language)
            } else {
                response = pages.renderError(e)
            }
            SecurityHeaders.apply(to: &response)
            return response
        }
        let examples = Examples(store: stores.examples, folder: configuration.publicDirectory.appendingPathComponent("examples"))
        HomeController(pages: pages, secureCookies: configuration.secureCookies, examples: examples).mount(on: router)
        staticFiles.mount(on: router)
        AuthAPIController(accounts: accounts).mount(on: router)
        SessionPagesController(accounts: accounts, secureCookies: configuration.secureCookies).mount(on: router)
        let library = ImageLibrary(images: images)
        AccountPagesController(accounts: accounts, pages: pages, library: library, secureCookies: configuration.secureCookies).mount(on: router)
        ConversionController(service: conversions, queue: conversionQueue, pages: pages, library: library,
                             decoding: DecodeGate(capacity: configuration.decodeMemory), examples: examples).mount(on: router)
        let movieService = MovieService(movies: stores.movies)
        ImageController(library: library, pages: pages, movies: movieService).mount(on: router)
        MovieController(service: movieService, queue: movieQueue, pages: pages).mount(on: router)
        GalleryController(library: library, pages: pages).mount(on: router)
        openAPI.mount(on: router)
        router.freeze()
        return app
    }

    init(configuration: WebAppConfiguration, router: Router, templates: Templates, logger: Logger, stores: Stores,
         jobs: JobStore, workers: JobWorkers, metricsEndpoint: MetricsEndpoint?) {
        self.configuration = configuration
        self.metricsEndpoint = metricsEndpoint
        self.stores = stores
        self.jobs = jobs
        self.workers = workers
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
        try metricsEndpoint?.start()
        workers.start()
        let timer = Self.purgeTimer(stores, jobs: jobs, logger: logger)
        purgeLock.withLock { _ in purgeTimer = timer }
        timer.resume()
    }

    /// Stops the server (finishing requests in flight) and the workers (each finishes or
    /// gives back the job in hand).
    public func shutdown() {
        purgeLock.withLock { _ in purgeTimer?.cancel() }
        server.shutdown()
        metricsEndpoint?.shutdown()
        workers.stop()
    }

    /// How long an ended job's page and status stay readable (its results stay regardless).
    static let jobRetention: TimeInterval = 3600

    /// How old bytes in the object store must be before the sweep may remove them unnamed:
    /// far longer than any upload takes between storing the bytes and committing the rows.
    static let blobGrace: TimeInterval = 3600

    /// Every minute, off the connection threads: anonymous results past their expiry go (reads
    /// already hide them; this frees the space), and so do jobs that ended over an hour ago;
    /// every tenth minute, with an object store, the bytes no row names any more. With several
    /// nodes on one database, whichever takes the task's lock first does it.
    static func purgeTimer(_ stores: Stores, jobs: JobStore, logger: Logger) -> DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "artworker.purge", qos: .utility))
        timer.schedule(deadline: .now(), repeating: 60, leeway: .seconds(5))
        // Only the timer's own serial queue touches it.
        nonisolated(unsafe) var ticks = 0
        timer.setEventHandler {
            do {
                _ = try stores.exclusively("expiry-sweep") {
                    let removed = try stores.images.purgeExpired()
                    if removed > 0 { logger.info("removed expired anonymous results", metadata: ["count": "\(removed)"]) }
                    let forgotten = try jobs.purge(finishedBefore: Date().addingTimeInterval(-jobRetention))
                    if forgotten > 0 { logger.debug("forgot ended jobs", metadata: ["count": "\(forgotten)"]) }
                }
            } catch {
                logger.error("purging expired results failed", metadata: ["error": "\(error)"])
            }
            ticks += 1
            guard stores.blobs != nil, ticks % 10 == 1 else { return }
            do {
                _ = try stores.exclusively("blob-sweep") {
                    let swept = try stores.sweepBlobs(grace: blobGrace)
                    if swept > 0 { logger.info("removed pictures' bytes no row names", metadata: ["count": "\(swept)"]) }
                }
            } catch {
                logger.error("sweeping the object store failed", metadata: ["error": "\(error)"])
            }
        }
        return timer
    }
    public var port: Int { server.port }
}
