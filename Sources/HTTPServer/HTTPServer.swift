import Foundation
import Logging
import Synchronization

/// What the server calls for each request.
public protocol HTTPResponder: Sendable {
    /// The largest body accepted for this request, asked after its head and before any of its
    /// body is read, so an oversized upload is refused with 413 without reading it.
    func bodyLimit(for head: RequestHead) -> Int

    /// Produces the response by calling `respond` exactly once, on any thread. A fast handler
    /// calls it before returning (no thread hop); slow work belongs on the app's own queues.
    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void)

    /// The response for a request the server itself refuses (400, 408, 413, 431, 503 …).
    func errorResponse(status: HTTPStatus, reason: String, requestID: String) -> HTTPResponse
}

extension HTTPResponder {
    public func errorResponse(status: HTTPStatus, reason: String, requestID: String) -> HTTPResponse {
        .text("\(status.code) \(status.reason): \(reason)\n", status: status)
    }
}

public struct HTTPServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var limits = HTTPLimits()
    /// Open connections at most; more get a quick 503 with Retry-After.
    public var maxConnections = 1024
    /// Seconds to receive a whole request head, from its first byte (slowloris).
    public var headerTimeout = 10.0
    /// Longest pause while a body is arriving.
    public var bodyTimeout = 30.0
    /// A keep-alive connection with no request is closed after this.
    public var idleTimeout = 60.0
    /// Longest pause while the client does not read its response.
    public var writeTimeout = 30.0
    /// On shutdown, how long in-flight requests may take before connections are cut.
    public var shutdownGrace = 10.0
    /// Event-loop threads (the bounded pool that serves connections).
    public var eventLoops = max(1, ProcessInfo.processInfo.activeProcessorCount)

    public init() {}
}

/// An HTTP/1.1 server on non-blocking sockets and epoll: one event loop per core, each owning
/// its connections. No SwiftNIO.
public final class HTTPServer: Sendable {
    public let configuration: HTTPServerConfiguration
    let responder: any HTTPResponder
    let logger: Logger
    let connectionCount = Atomic<Int>(0)
    let state = Mutex<(listener: Int32, port: Int, loops: [EventLoop])>((-1, 0, []))
    let finished = DispatchGroup()

    public init(configuration: HTTPServerConfiguration, responder: any HTTPResponder, logger: Logger) {
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
    }

    /// The port actually bound (useful with port 0).
    public var port: Int { state.withLock { $0.port } }

    /// Binds and starts the event loops; returns once the server accepts connections.
    public func start() throws {
        // A peer that resets mid-response must not kill the process (writes also use MSG_NOSIGNAL).
        signal(SIGPIPE, SIG_IGN)
        let (listener, port) = try Socket.listen(host: configuration.host, port: configuration.port)
        var loops: [EventLoop] = []
        for i in 0..<configuration.eventLoops {
            let loop = try EventLoop(index: i, server: self, listener: listener)
            loops.append(loop)
        }
        state.withLock { $0 = (listener, port, loops) }
        for loop in loops {
            finished.enter()
            let thread = Thread { [finished] in
                loop.run()
                finished.leave()
            }
            thread.name = "http-loop-\(loop.index)"
            thread.start()
        }
        logger.info("listening", metadata: ["address": "\(configuration.host):\(port)", "loops": "\(loops.count)"])
    }

    /// Stops accepting, lets in-flight requests finish (up to `shutdownGrace`), closes every
    /// connection, and returns when all loops have stopped.
    public func shutdown() {
        let (listener, loops) = state.withLock { ($0.listener, $0.loops) }
        let deadline = Date().timeIntervalSince1970 + configuration.shutdownGrace
        for loop in loops { loop.execute { loop.beginShutdown(deadline: deadline) } }
        finished.wait()
        if listener >= 0 { close(listener) }
        state.withLock { $0.listener = -1 }
        logger.info("stopped")
    }

    /// Currently open connections.
    public var openConnections: Int { connectionCount.load(ordering: .relaxed) }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
