import Foundation
import Logging

/// An error a handler throws to answer with a status: the one place errors become responses
/// is `Router`, which renders them with its error renderer. `message` is shown to the user.
public struct HTTPError: Error, Sendable {
    public var status: HTTPStatus
    /// For the user, in English: never internals.
    public var message: String
    public var headers: HTTPHeaders
    /// A stable, machine-readable name for the error ("not_found", "upload.no_photo"), for API
    /// clients to act on without parsing the sentence.
    public var code: String?
    /// What the app's error renderer needs to say it in the reader's language (the app's own
    /// message type); this layer only carries it.
    public var details: (any Sendable)?

    public init(_ status: HTTPStatus, _ message: String? = nil, code: String? = nil, details: (any Sendable)? = nil,
                headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.message = message ?? status.reason
        self.code = code
        self.details = details
        self.headers = headers
    }
}

/// Learns of each answered request: its method, the route pattern that answered, the status
/// and the seconds the handler took (metrics). Called on the thread that answers: keep it cheap.
public protocol RequestObserver: Sendable {
    func observe(method: String, route: String, status: Int, seconds: Double)
}

/// A request with the path parameters of the route it matched.
public struct Request: Sendable {
    public var http: HTTPRequest
    public var parameters: [String: String]
    /// Values middleware attach for later handlers (e.g. the verified session), so handlers
    /// do not repeat the middleware's work.
    public var context: [String: any Sendable] = [:]

    public var method: String { http.method }
    public var path: String { http.path }
    public var headers: HTTPHeaders { http.headers }
    public var body: [UInt8] { http.body }
    public var id: String { http.id }

    public func parameter(_ name: String) -> String? { parameters[name] }
}

public typealias Handler = @Sendable (Request) throws -> HTTPResponse
public typealias AsyncHandler = @Sendable (Request) async throws -> HTTPResponse

/// Runs around handlers; calls `next` to continue, or answers itself. The same middleware wraps
/// synchronous routes (answered on the event loop) and async ones (slow work off it), so it
/// implements both; they usually differ only by `await`.
public protocol Middleware: Sendable {
    func handle(_ request: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse
    func handle(_ request: Request, next: (Request) async throws -> HTTPResponse) async throws -> HTTPResponse
}

/// What an error page is rendered from.
public struct ErrorContext: Sendable {
    public var status: HTTPStatus
    /// For the user: never internals.
    public var message: String
    public var requestID: String
    /// The request's path ("" when the request could not be parsed).
    public var path: String
    public var code: String? = nil
    public var details: (any Sendable)? = nil
    /// The request, when it was parsed: its headers say who asks and in which language.
    public var request: HTTPRequest? = nil
}

/// Renders an error response (an HTML page, or JSON under an API prefix, say).
public typealias ErrorRenderer = @Sendable (ErrorContext) -> HTTPResponse

/// Method + path routing with parameters (`/images/:id`) and a trailing wildcard
/// (`/static/*path`), 404 and 405 (with Allow), automatic HEAD for GET routes.
// Unchecked Sendable: routes and middleware are added before the server starts and only read
// afterwards, from any loop thread (`freeze()` enforces it).
public final class Router: HTTPResponder, @unchecked Sendable {

    struct Route {
        enum Segment { case literal(String), parameter(String), wildcard(String) }
        var method: String
        var pattern: String
        var segments: [Segment]
        var bodyLimit: Int?
        /// A larger limit for requests whose head carries a valid session (`isSignedIn`).
        var signedInBodyLimit: Int? = nil
        var handler: Handler?
        var asyncHandler: AsyncHandler?
    }

    private var routes: [Route] = []
    /// For each literal first segment, the routes a path starting with it can match (those with
    /// that segment, and those whose first segment is a parameter or wildcard or that have none),
    /// in the order added; `otherRoutes`, the latter alone. Built by `freeze()`: a page's request
    /// then tries a handful of routes, not every one.
    private var routesByFirstSegment: [Substring: [Int]] = [:]
    private var otherRoutes: [Int]? = nil
    private var middleware: [any Middleware] = []
    private var frozen = false
    let defaultBodyLimit: Int
    let asyncExecutor = DispatchTaskExecutor(label: "artworker.async-routes")
    let logger: Logger
    public var renderError: ErrorRenderer
    /// Whether a request head carries a valid session, asked only for routes that allow
    /// signed-in members a larger body: a stranger's upload is held to the small limit before
    /// any of its body is read (set by the app before the server starts).
    public var isSignedIn: (@Sendable (RequestHead) -> Bool)? = nil
    /// Turns the app's own errors (its services' refusals) into HTTP errors: the one place where
    /// the app's reasons become status codes (set by the app before the server starts).
    public var translateError: (@Sendable (any Error) -> HTTPError?)? = nil
    /// Told of every request this router answers, with the route it matched (set by the app
    /// before the server starts; metrics).
    public var observer: (any RequestObserver)? = nil

    public init(defaultBodyLimit: Int = HTTPLimits().maxBodyBytes, logger: Logger,
                renderError: ErrorRenderer? = nil) {
        self.defaultBodyLimit = defaultBodyLimit
        self.logger = logger
        self.renderError = renderError ?? { e in
            .text("\(e.status.code) \(e.status.reason)\n\(e.message)\n" + (e.requestID.isEmpty ? "" : "request id: \(e.requestID)\n"),
                  status: e.status)
        }
    }

    public func use(_ m: any Middleware) {
        precondition(!frozen, "add middleware before the server starts")
        middleware.append(m)
    }

    public func add(_ method: String, _ pattern: String, bodyLimit: Int? = nil, signedInBodyLimit: Int? = nil,
                    _ handler: @escaping Handler) {
        precondition(!frozen, "add routes before the server starts")
        routes.append(Route(method: method, pattern: pattern, segments: Self.compile(pattern), bodyLimit: bodyLimit,
                            signedInBodyLimit: signedInBodyLimit, handler: handler))
    }

    public func addAsync(_ method: String, _ pattern: String, bodyLimit: Int? = nil, signedInBodyLimit: Int? = nil,
                         _ handler: @escaping AsyncHandler) {
        precondition(!frozen, "add routes before the server starts")
        routes.append(Route(method: method, pattern: pattern, segments: Self.compile(pattern), bodyLimit: bodyLimit,
                            signedInBodyLimit: signedInBodyLimit, asyncHandler: handler))
    }

    public func get(_ pattern: String, _ handler: @escaping Handler) { add("GET", pattern, handler) }
    public func post(_ pattern: String, bodyLimit: Int? = nil, _ handler: @escaping Handler) {
        add("POST", pattern, bodyLimit: bodyLimit, handler)
    }

    /// Every route as (method, pattern), in the order added (for documentation checks).
    public var routeTable: [(method: String, pattern: String)] { routes.map { ($0.method, $0.pattern) } }

    /// No more routes or middleware after this (called when the server starts).
    public func freeze() {
        guard !frozen else { return }
        frozen = true
        var others: [Int] = []
        for (i, route) in routes.enumerated() {
            if case let .literal(first)? = route.segments.first {
                routesByFirstSegment[Substring(first), default: others].append(i)
            } else {
                others.append(i)
                for key in routesByFirstSegment.keys { routesByFirstSegment[key]!.append(i) }
            }
        }
        otherRoutes = others
    }

    static func compile(_ pattern: String) -> [Route.Segment] {
        pattern.split(separator: "/").map { s in
            if s.hasPrefix(":") { return .parameter(String(s.dropFirst())) }
            if s.hasPrefix("*") { return .wildcard(String(s.dropFirst())) }
            return .literal(String(s))
        }
    }

    static func match(_ route: Route, _ path: [Substring]) -> [String: String]? {
        var parameters: [String: String] = [:]
        for (i, segment) in route.segments.enumerated() {
            switch segment {
            case let .literal(text):
                guard i < path.count, path[i] == text else { return nil }
            case let .parameter(name):
                guard i < path.count, !path[i].isEmpty else { return nil }
                parameters[name] = String(path[i])
            case let .wildcard(name):
                parameters[name] = path[i...].joined(separator: "/")
                return parameters
            }
        }
        return path.count == route.segments.count ? parameters : nil
    }

    enum Lookup {
        case found(Route, [String: String])
        case methodNotAllowed([String])
        case notFound
    }

    func lookup(method: String, path: String) -> Lookup {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        let segments = Array(parts.last == "" ? parts.dropLast() : parts[...])
        var allowed: [String] = []
        let candidates = otherRoutes.map { routesByFirstSegment[segments.first ?? ""] ?? $0 } ?? Array(routes.indices)
        for i in candidates {
            let route = routes[i]
            guard let parameters = Self.match(route, segments) else { continue }
            if route.method == method || (method == "HEAD" && route.method == "GET") {
                return .found(route, parameters)
            }
            allowed.append(route.method)
        }
        if allowed.isEmpty { return .notFound }
        if allowed.contains("GET") { allowed.append("HEAD") }
        return .methodNotAllowed(Array(Set(allowed)).sorted())
    }

    // MARK: HTTPResponder

    public func bodyLimit(for head: RequestHead) -> Int {
        if case let .found(route, _) = lookup(method: head.method, path: head.path) {
            if let larger = route.signedInBodyLimit, isSignedIn?(head) == true { return larger }
            return route.bodyLimit ?? defaultBodyLimit
        }
        return defaultBodyLimit
    }

    /// The methods a path answers to (HEAD with GET, OPTIONS always); every method any route
    /// answers to for "*".
    func allowedMethods(path: String) -> [String] {
        var methods: Set<String>
        if path == "*" {
            methods = Set(routes.map(\.method))
        } else {
            let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            let segments = Array(parts.last == "" ? parts.dropLast() : parts[...])
            methods = Set(routes.filter { Self.match($0, segments) != nil }.map(\.method))
            if methods.isEmpty { return [] }
        }
        if methods.contains("GET") { methods.insert("HEAD") }
        methods.insert("OPTIONS")
        return methods.sorted()
    }

    public func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        guard let observer else { return dispatch(request, respond: { response, _ in respond(response) }) }
        let started = DispatchTime.now().uptimeNanoseconds
        dispatch(request) { response, route in
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            observer.observe(method: request.method, route: route, status: response.status.code, seconds: seconds)
            respond(response)
        }
    }

    /// Finds the route and answers; `respond` also learns the route pattern that answered
    /// ("(none)" when none did), which metrics use instead of the path (ids would make every
    /// request a series of its own).
    func dispatch(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse, String) -> Void) {
        // OPTIONS (RFC 9110 §9.3.7): what this resource, or with "*" the server as a whole,
        // supports, in Allow; no content.
        if request.method == "OPTIONS" {
            var explicit = false // a route of its own for OPTIONS answers itself
            if case .found = lookup(method: "OPTIONS", path: request.path) { explicit = true }
            let methods = allowedMethods(path: request.path)
            if !explicit && !methods.isEmpty {
                respond(HTTPResponse(status: .ok, headers: ["Allow": methods.joined(separator: ", ")]), "(options)")
                return
            }
        }
        switch lookup(method: request.method, path: request.path) {
        case .notFound:
            respond(errorResponse(HTTPError(.notFound, "There is no page at this address.", code: "not_found"), request: request), "(none)")
        case let .methodNotAllowed(methods):
            var response = errorResponse(HTTPError(.methodNotAllowed, "\(request.method) is not allowed here.", code: "method_not_allowed"),
                                         request: request)
            response.headers.set("Allow", methods.joined(separator: ", "))
            respond(response, "(none)")
        case let .found(route, parameters):
            let wrapped = Request(http: request, parameters: parameters)
            let pattern = route.pattern
            if let handler = route.handler {
                respond(run(wrapped, handler), pattern)
            } else if let handler = route.asyncHandler {
                // Slow work: off the event loop, on the router's own executor (so it cannot be
                // starved by code that blocks Swift's cooperative pool); the response comes back
                // through `respond`.
                Task(executorPreference: asyncExecutor) {
                    respond(await self.runAsync(wrapped, handler), pattern)
                }
            }
        }
    }

    /// Middleware chain around a synchronous handler; every error becomes a response here.
    func run(_ request: Request, _ handler: @escaping Handler) -> HTTPResponse {
        var chain: (Request) throws -> HTTPResponse = handler
        for m in middleware.reversed() {
            let next = chain
            chain = { try m.handle($0, next: next) }
        }
        do {
            return try chain(request)
        } catch {
            return response(for: error, request: request)
        }
    }

    /// Middleware chain around an async handler; every error becomes a response here.
    func runAsync(_ request: Request, _ handler: @escaping AsyncHandler) async -> HTTPResponse {
        var chain: (Request) async throws -> HTTPResponse = handler
        for m in middleware.reversed() {
            let next = chain
            chain = { try await m.handle($0, next: next) }
        }
        do {
            return try await chain(request)
        } catch {
            return response(for: error, request: request)
        }
    }

    func response(for error: any Error, request: Request) -> HTTPResponse {
        if let error = error as? HTTPError ?? translateError?(error) {
            var response = errorResponse(error, request: request.http)
            for field in error.headers { response.headers.set(field.name, field.value) }
            return response
        }
        // Anything unexpected: details to the log, a request id to the user, nothing else.
        logger.error("handler failed", metadata: ["id": "\(request.id)", "path": "\(request.path)", "error": "\(error)"])
        return errorResponse(HTTPError(.internalServerError, "Something went wrong on our side.", code: "internal"), request: request.http)
    }

    func errorResponse(_ error: HTTPError, request: HTTPRequest) -> HTTPResponse {
        renderError(ErrorContext(status: error.status, message: error.message, requestID: request.id, path: request.path,
                                 code: error.code, details: error.details, request: request))
    }

    public func errorResponse(status: HTTPStatus, reason: String, requestID: String) -> HTTPResponse {
        renderError(ErrorContext(status: status, message: reason, requestID: requestID, path: ""))
    }
}

/// Runs async route handlers' jobs on a Dispatch queue of their own.
final class DispatchTaskExecutor: TaskExecutor {
    let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label, attributes: .concurrent)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
