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
    /// Open connections from one address (an IPv6 /64 counts as one) at most: one client
    /// cannot take every slot. More get a quick 503.
    public var maxConnectionsPerAddress = 64
    /// Bytes of request bodies the whole server buffers at once (from a head that announces a
    /// body until its response is sent); past it, new bodies are refused with 503 + Retry-After.
    public var maxBodyBytesInFlight = 256 * 1024 * 1024
    /// Seconds to receive a whole request head, from its first byte (slowloris), and for a new
    /// connection to send anything at all.
    public var headerTimeout = 10.0
    /// Longest pause while a body is arriving.
    public var bodyTimeout = 30.0
    /// After this many seconds of a body, it must have averaged at least `minBodyRate` bytes a
    /// second (a body trickled a byte at a time never pauses long).
    public var bodyRateGrace = 10.0
    public var minBodyRate = 1024.0
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

    /// Open connections per address key (`addressKey`), across every loop.
    let connectionsByAddress = Mutex<[String: Int]>([:])
    /// Body bytes reserved by requests in progress (`maxBodyBytesInFlight`).
    let bodyBytesInFlight = Atomic<Int>(0)

    var deadlineLimits: ConnectionDeadlines.Limits {
        ConnectionDeadlines.Limits(headerTimeout: configuration.headerTimeout, idleTimeout: configuration.idleTimeout,
                                   bodyTimeout: configuration.bodyTimeout, bodyRateGrace: configuration.bodyRateGrace,
                                   minBodyRate: configuration.minBodyRate, writeTimeout: configuration.writeTimeout)
    }

    /// Counts a new connection from `address`; false when that address already has its share.
    func admit(_ address: String) -> Bool {
        let key = Self.addressKey(address)
        return connectionsByAddress.withLock { table in
            let open = table[key, default: 0]
            guard open < configuration.maxConnectionsPerAddress else { return false }
            table[key] = open + 1
            return true
        }
    }

    func release(_ address: String) {
        let key = Self.addressKey(address)
        connectionsByAddress.withLock { table in
            let open = table[key, default: 1] - 1
            table[key] = open > 0 ? open : nil
        }
    }

    /// Reserves `n` bytes of body buffering; false (nothing reserved) when the server is full.
    func reserveBody(_ n: Int) -> Bool {
        guard n > 0 else { return true }
        let total = bodyBytesInFlight.wrappingAdd(n, ordering: .relaxed).newValue
        if total > configuration.maxBodyBytesInFlight {
            bodyBytesInFlight.wrappingSubtract(n, ordering: .relaxed)
            return false
        }
        return true
    }

    func releaseBody(_ n: Int) {
        if n > 0 { bodyBytesInFlight.wrappingSubtract(n, ordering: .relaxed) }
    }

    /// Body bytes buffered by requests in progress, server-wide.
    public var bufferedBodyBytes: Int { bodyBytesInFlight.load(ordering: .relaxed) }

    /// IPv4 as is, IPv6 by its /64 (one subscriber usually holds a whole /64).
    static func addressKey(_ address: String) -> String {
        guard address.contains(":") else { return address }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return address }
        return withUnsafeBytes(of: v6) { Array($0.prefix(8)) }.map { String($0, radix: 16) }.joined(separator: ".") + "/64"
    }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
