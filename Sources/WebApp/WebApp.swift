import Foundation
import HTTPServer
import Logging

/// The composition root: configuration in, a running service out. Loads templates, prepares
/// the data folder and mounts every controller on one router.
public final class WebApp: Sendable {
    public let configuration: WebAppConfiguration
    public let router: Router
    public let templates: Templates
    let logger: Logger
    let server: HTTPServer

    public static func build(configuration: WebAppConfiguration, logger: Logger) throws -> WebApp {
        try configuration.validate()
        let templates = try Templates(directory: configuration.templatesDirectory)
        do {
            try FileManager.default.createDirectory(at: configuration.dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw ConfigurationError("cannot create the data folder \(configuration.dataDirectory.path): \(error.localizedDescription)")
        }
        let router = Router(defaultBodyLimit: configuration.server.limits.maxBodyBytes, logger: logger) { status, message, id in
            let html = templates.page("errors/error", title: "\(status.code) \(status.reason)", context: [
                "code": status.code, "reason": status.reason, "message": message, "requestID": id,
            ])
            return .html(html, status: status)
        }
        let app = WebApp(configuration: configuration, router: router, templates: templates, logger: logger)
        app.mount()
        router.freeze()
        return app
    }

    init(configuration: WebAppConfiguration, router: Router, templates: Templates, logger: Logger) {
        self.configuration = configuration
        self.router = router
        self.templates = templates
        self.logger = logger
        var serverConfiguration = configuration.server
        serverConfiguration.host = configuration.host
        serverConfiguration.port = configuration.port
        server = HTTPServer(configuration: serverConfiguration, responder: router, logger: logger)
    }

    private func mount() {
        HomeController(templates: templates).mount(on: router)
        StaticFiles(root: configuration.publicDirectory).mount(on: router)
    }

    public func start() throws { try server.start() }
    public func shutdown() { server.shutdown() }
    public var port: Int { server.port }
}
