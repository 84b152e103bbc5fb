import CEpoll
import Foundation
import Logging

/// One thread, one epoll instance, the connections it accepted.
///
/// Unchecked Sendable: everything but `inbox` is touched only on the loop's own thread;
/// other threads reach the loop only through `execute`, which guards `inbox` with `lock`.
final class EventLoop: @unchecked Sendable {
    let index: Int
    unowned let server: HTTPServer
    let epoll: Int32
    let wakeRead: Int32
    let wakeWrite: Int32
    var listener: Int32
    var connections: [Int32: Connection] = [:]
    var thread = pthread_self()
    var stopping = false
    var shutdownDeadline = Double.infinity
    private let lock = NSLock()
    private var inbox: [@Sendable () -> Void] = []
    /// Set (under `lock`) when `run` has returned and closed the wake pipe: from then on
    /// `execute` drops its task rather than write to a descriptor number that another file or
    /// socket in this process may have been given since.
    private var ended = false
    private var dateCache: (second: time_t, text: String) = (0, "")
    private var requestCounter: UInt64 = 0
    var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)

    static let epollIn = EPOLLIN.rawValue, epollOut = EPOLLOUT.rawValue
    static let epollRDHup = EPOLLRDHUP.rawValue, epollExclusive = UInt32(1) << 28
    static let epollErr = EPOLLERR.rawValue, epollHup = EPOLLHUP.rawValue

    init(index: Int, server: HTTPServer, listener: Int32) throws {
        self.index = index
        self.server = server
        self.listener = listener
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { throw SocketError("epoll_create1") }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SocketError("pipe") }
        for fd in fds { Socket.setNonBlockingCloseOnExec(fd) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        try add(wakeRead, events: Self.epollIn)
        // EPOLLEXCLUSIVE: a new connection wakes one loop, not all of them.
        try add(listener, events: Self.epollIn | Self.epollExclusive)
    }

    func add(_ fd: Int32, events: UInt32) throws {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0 else { throw SocketError("epoll_ctl add") }
    }

    func modify(_ fd: Int32, events: UInt32) {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event)
    }

    /// Runs `task` on this loop's thread (from any thread).
    func execute(_ task: @escaping @Sendable () -> Void) {
        lock.lock()
        defer { lock.unlock() }
        guard !ended else { return } // a late answer to a connection the loop has closed
        inbox.append(task)
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1) // non-blocking: a full pipe already means "wake up"
    }

    var isOnLoopThread: Bool { pthread_equal(pthread_self(), thread) != 0 }

    func run() {
        thread = pthread_self()
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var nextTimerCheck = now() + 0.25
        while true {
            let n = epoll_wait(epoll, &events, Int32(events.count), 250)
            if n > 0 {
                for i in 0..<Int(n) {
                    let fd = events[i].data.fd, flags = events[i].events
                    if fd == wakeRead {
                        var sink = [UInt8](repeating: 0, count: 256)
                        while read(wakeRead, &sink, sink.count) > 0 {}
                    } else if fd == listener {
                        acceptAll()
                    } else if let connection = connections[fd] {
                        connection.handle(events: flags)
                    }
                }
            }
            runInbox()
            let t = now()
            if t >= nextTimerCheck {
                nextTimerCheck = t + 0.25
                for connection in Array(connections.values) { connection.checkTimeouts(now: t) }
                if stopping && Date().timeIntervalSince1970 >= shutdownDeadline {
                    for connection in Array(connections.values) { connection.abort() }
                }
            }
            if stopping && connections.isEmpty { break }
        }
        lock.lock()
        ended = true
        inbox.removeAll()
        close(wakeWrite)
        lock.unlock()
        close(epoll)
        close(wakeRead)
    }

    private func runInbox() {
        lock.lock()
        let tasks = inbox
        inbox.removeAll(keepingCapacity: true)
        lock.unlock()
        for task in tasks { task() }
    }

    private func acceptAll() {
        while !stopping, let (fd, address) = Socket.accept(listener) {
            let open = server.connectionCount.wrappingAdd(1, ordering: .relaxed).newValue
            let reason = open > server.configuration.maxConnections ? "too many open connections"
                : server.admit(address) ? nil : "too many connections from this address"
            if let reason {
                // Saturated: answer at once rather than queue (best effort, non-blocking).
                var response = server.responder.errorResponse(status: .serviceUnavailable,
                                                              reason: "the server is busy", requestID: "")
                response.headers.set("Retry-After", "1")
                let bytes = response.serialized(for: "GET", version: .http1_1, keepAlive: false, date: date())
                _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(fd)
                server.connectionCount.wrappingSubtract(1, ordering: .relaxed)
                server.logger.warning("connection refused: \(reason)", metadata: ["peer": "\(address)"])
                continue
            }
            let connection = Connection(fd: fd, address: address, loop: self)
            do {
                try add(fd, events: Self.epollIn | Self.epollRDHup)
                connections[fd] = connection
            } catch {
                close(fd)
                server.connectionCount.wrappingSubtract(1, ordering: .relaxed)
                server.release(address)
            }
        }
    }

    func remove(_ connection: Connection) {
        guard connections.removeValue(forKey: connection.fd) != nil else { return }
        epoll_ctl(epoll, EPOLL_CTL_DEL, connection.fd, nil)
        close(connection.fd)
        connection.releaseBody()
        server.connectionCount.wrappingSubtract(1, ordering: .relaxed)
        server.release(connection.address)
    }

    func beginShutdown(deadline: Double) {
        stopping = true
        shutdownDeadline = deadline
        epoll_ctl(epoll, EPOLL_CTL_DEL, listener, nil)
        for connection in Array(connections.values) { connection.beginShutdown() }
    }

    /// The Date header value, formatted once a second.
    func date() -> String {
        let t = time(nil)
        if t != dateCache.second { dateCache = (t, httpDate(t)) }
        return dateCache.text
    }

    func nextRequestID() -> String {
        requestCounter &+= 1
        return "\(String(index, radix: 36))\(String(requestCounter, radix: 36))"
    }
}
