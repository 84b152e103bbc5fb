import CEpoll
import Foundation
import Logging

/// One client connection: reads requests (pipelined ones in order), hands each to the
/// responder, writes the responses, and enforces the deadlines.
///
/// Unchecked Sendable: a connection is touched only on its loop's thread; responses produced
/// elsewhere reach it through `EventLoop.execute`.
final class Connection: @unchecked Sendable {
    enum State {
        case head
        case body(RequestHead, remaining: Int)
        case chunked(RequestHead, ChunkedDecoder)
        case responding(RequestHead, id: String, started: Double)
        /// A streamed body is being written; the next request waits until it is done.
        case streaming(any BodyStream, sent: Int, keepAlive: Bool)
        /// Output sent, write side shut: drain what the client still sends, then close (so an
        /// error response is not lost to a TCP reset).
        case lingering(until: Double)
        case closed
    }

    let fd: Int32
    let address: String
    unowned let loop: EventLoop
    var state = State.head
    var input: [UInt8] = []
    var inputStart = 0
    /// How far the current request head has been looked at.
    var scanner = HeadScanner()
    var output: [UInt8] = []
    var outputStart = 0
    var body: [UInt8] = []
    var closeAfterWrite = false
    var peerClosed = false
    var processing = false
    var writeInterest = false
    var readPaused = false
    /// Every deadline of this connection (the plain state machine; this class is its shell).
    var deadlines: ConnectionDeadlines
    /// Body bytes this request holds of the server's `maxBodyBytesInFlight`.
    var reservedBody = 0
    var pendingSyncResponse: HTTPResponse? = nil
    var inHandler = false

    init(fd: Int32, address: String, loop: EventLoop) {
        self.fd = fd
        self.address = address
        self.loop = loop
        deadlines = ConnectionDeadlines(limits: loop.server.deadlineLimits, acceptedAt: now())
    }

    var configuration: HTTPServerConfiguration { loop.server.configuration }
    var buffered: Int { input.count - inputStart }

    func handle(events: UInt32) {
        if events & (EventLoop.epollIn | EventLoop.epollHup | EventLoop.epollErr | EventLoop.epollRDHup) != 0 {
            readAvailable()
        }
        if events & EventLoop.epollOut != 0 {
            flush() // a no-op if reading just closed the connection
        }
    }

    // MARK: reading

    private func readAvailable() {
        while !readPaused {
            let n = loop.readBuffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                if case .lingering = state { continue } // discard
                if case .head = state { deadlines.headBytesArrived(at: now()) }
                if case .closed = state { return }
                loop.readBuffer.withUnsafeBufferPointer { input.append(contentsOf: $0[0..<n]) }
                if n < loop.readBuffer.count { break }
            } else if n == 0 {
                peerClosed = true
                break
            } else {
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                if errno == EINTR { continue }
                abort() // ECONNRESET and friends
                return
            }
        }
        if case .lingering = state {
            if peerClosed { abort() }
            return
        }
        process()
        if peerClosed {
            // The client has finished sending: answer what is in flight, then close.
            switch state {
            case .responding: closeAfterWrite = true
            case .closed, .lingering: break
            default:
                if outputStart == output.count { abort() } else { closeAfterWrite = true }
            }
        }
        // Do not buffer a flood of pipelined requests while one is being answered.
        if case .responding = state, buffered > configuration.limits.maxHeadBytes + configuration.limits.maxBodyBytes {
            setReadPaused(true)
        }
    }

    private func setReadPaused(_ paused: Bool) {
        guard paused != readPaused else { return }
        readPaused = paused
        updateInterest()
    }

    private func updateInterest() {
        var events = EventLoop.epollRDHup
        if !readPaused { events |= EventLoop.epollIn }
        if writeInterest { events |= EventLoop.epollOut }
        loop.modify(fd, events: events)
    }

    private func consume(_ n: Int) {
        inputStart += n
        if inputStart == input.count {
            input.removeAll(keepingCapacity: input.capacity <= 256 * 1024)
            inputStart = 0
        } else if inputStart > 64 * 1024 {
            input.removeFirst(inputStart)
            inputStart = 0
        }
    }

    // MARK: requests

    /// Parses and dispatches as many requests as the buffered bytes allow, in order.
    func process() {
        guard !processing else { return }
        processing = true
        defer { processing = false }
        while true {
            switch state {
            case .head:
                if buffered == 0 { return }
                deadlines.headBytesArrived(at: now()) // pipelined bytes already here start a head too
                let parsed: (RequestHead, Int)?
                do {
                    // Only the bytes that arrived since the last read are scanned (`HeadScanner`).
                    parsed = try input.withUnsafeBufferPointer { (b) throws(HTTPParseError) -> (RequestHead, Int)? in
                        let bytes = UnsafeBufferPointer(rebasing: b[inputStart...])
                        guard let end = try scanner.scan(bytes, limits: configuration.limits) else { return nil }
                        return (try scanner.head(bytes, limits: configuration.limits), end)
                    }
                } catch {
                    fail(error.status, error.reason)
                    return
                }
                guard let (head, used) = parsed else { return }
                scanner = HeadScanner()
                consume(used)
                if loop.stopping { closeAfterWrite = true }
                switch head.framing {
                case .none:
                    dispatch(head, body: [])
                case let .length(n):
                    // Asked only of requests with a body: it is a route lookup (and, for uploads,
                    // a session check), which the pages' GETs need not pay twice.
                    let limit = loop.server.responder.bodyLimit(for: head)
                    // Refuse before reading the body (RFC 9110 §15.5.14); with Expect: 100-continue
                    // the client never sends it.
                    if n > limit { fail(.contentTooLarge, "body of \(n) bytes, the limit is \(limit)"); return }
                    // The whole server buffers a bounded amount of bodies: refuse before reading.
                    guard reserveBody(n) else { return }
                    if head.expectsContinue { sendContinue() }
                    body = []
                    body.reserveCapacity(n)
                    deadlines.bodyStarted(at: now())
                    state = .body(head, remaining: n)
                case .chunked:
                    if head.expectsContinue { sendContinue() }
                    body = []
                    deadlines.bodyStarted(at: now())
                    state = .chunked(head, ChunkedDecoder(maxBody: loop.server.responder.bodyLimit(for: head)))
                }
            case let .body(head, remaining):
                let n = min(remaining, buffered)
                if n > 0 {
                    body.append(contentsOf: input[inputStart..<(inputStart + n)])
                    consume(n)
                    deadlines.bodyBytesArrived(n, at: now())
                }
                if n == remaining {
                    dispatch(head, body: body)
                    body = []
                } else {
                    state = .body(head, remaining: remaining - n)
                    return
                }
            case .chunked(let head, var decoder):
                let used: Int
                do {
                    used = try input.withUnsafeBufferPointer { (b) throws(HTTPParseError) -> Int in
                        try decoder.feed(UnsafeBufferPointer(rebasing: b[inputStart...]), into: &body)
                    }
                } catch {
                    fail(error.status, error.reason)
                    return
                }
                consume(used)
                deadlines.bodyBytesArrived(used, at: now())
                // A chunked body announces no size: it reserves its bytes as they come.
                guard reserveBody(decoder.bodyBytes - reservedBody) else { return }
                if decoder.isDone {
                    dispatch(head, body: body)
                    body = []
                } else {
                    state = .chunked(head, decoder)
                    return
                }
            case .responding, .streaming, .lingering, .closed:
                return
            }
        }
    }

    private func dispatch(_ head: RequestHead, body: [UInt8]) {
        deadlines.requestDispatched()
        let id = loop.nextRequestID()
        state = .responding(head, id: id, started: now())
        let request = HTTPRequest(head: head, body: body, remoteAddress: address, id: id)
        let loop = self.loop
        inHandler = true
        pendingSyncResponse = nil
        loop.server.responder.handle(request) { [self] response in
            if loop.isOnLoopThread && self.inHandler {
                self.pendingSyncResponse = response // answered before the handler returned
            } else {
                loop.execute { self.complete(response, id: id) }
            }
        }
        inHandler = false
        if let response = pendingSyncResponse {
            pendingSyncResponse = nil
            complete(response, id: id)
        }
    }

    /// Writes the response to the request being answered (ignored if it is not this one).
    func complete(_ response: HTTPResponse, id: String) {
        guard case let .responding(head, currentID, started) = state, currentID == id else { return }
        let keepAlive = head.keepAlive && !closeAfterWrite && !loop.stopping
            && !response.headers.hasToken("close", in: "Connection")
        var response = response
        if response.stream == nil, let encoding = ContentCoding.negotiate(head.headers, response: response) {
            response = encoding
        }
        queue(response.serialized(for: head.method, version: head.version, keepAlive: keepAlive, date: loop.date()))
        let ms = (now() - started) * 1000
        loop.server.logger.info("\(head.method) \(head.target) \(response.status.code)", metadata: [
            "id": "\(id)", "peer": "\(address)", "bytes": "\(response.body.count)",
            "ms": "\((ms * 10).rounded() / 10)",
        ])
        let streams = response.stream != nil && head.method != "HEAD" && response.status.code >= 200
            && response.status.code != 204 && response.status.code != 304
        if streams, let stream = response.stream {
            state = .streaming(stream, sent: 0, keepAlive: keepAlive)
        } else {
            response.stream?.close()
            finishResponse(keepAlive: keepAlive)
        }
        flush()
        if case .head = state { process() }
    }

    private func finishResponse(keepAlive: Bool) {
        releaseBody()
        if keepAlive {
            state = .head
            deadlines.awaitingNextRequest(at: now())
            setReadPaused(false)
        } else {
            closeAfterWrite = true
            state = .closed
        }
    }

    /// Reserves `n` more body bytes of the server's budget; on refusal answers 503 and closes.
    private func reserveBody(_ n: Int) -> Bool {
        guard loop.server.reserveBody(n) else {
            fail(.serviceUnavailable, "the server is receiving too many uploads at once", retryAfter: 5)
            return false
        }
        reservedBody += max(n, 0)
        return true
    }

    func releaseBody() {
        loop.server.releaseBody(reservedBody)
        reservedBody = 0
    }

    /// Answers a request the server refuses, then closes (the stream may be out of sync).
    private func fail(_ status: HTTPStatus, _ reason: String, retryAfter: Int? = nil) {
        let id = loop.nextRequestID()
        releaseBody()
        loop.server.logger.notice("refused request", metadata: [
            "id": "\(id)", "peer": "\(address)", "status": "\(status.code)", "reason": "\(reason)",
        ])
        var response = loop.server.responder.errorResponse(status: status, reason: reason, requestID: id)
        if let retryAfter { response.headers.set("Retry-After", String(retryAfter)) }
        queue(response.serialized(for: "GET", version: .http1_1, keepAlive: false, date: loop.date()))
        closeAfterWrite = true
        state = .closed
        flush()
    }

    // MARK: writing

    /// The interim response that tells the client to send its body (RFC 9110 §10.1.1).
    private func sendContinue() {
        queue(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        flush()
    }

    private func queue(_ bytes: [UInt8]) {
        if outputStart == output.count {
            output = bytes
            outputStart = 0
        } else {
            output.append(contentsOf: bytes)
        }
    }

    func flush() {
        while true {
            writeOutput()
            guard outputStart == output.count, case let .streaming(stream, sent, keepAlive) = state else { break }
            // The buffer drained: refill it from the stream, 256 KB at a time.
            if sent == stream.length {
                stream.close()
                finishResponse(keepAlive: keepAlive)
                if case .head = state, !processing { process() }
                break
            }
            let chunk = stream.read(max: min(256 * 1024, stream.length - sent))
            if chunk.isEmpty { abort(); return } // the file shrank or failed: the framing is broken
            state = .streaming(stream, sent: sent + chunk.count, keepAlive: keepAlive)
            queue(chunk)
        }
    }

    /// Sends the buffered output until done or the socket is full.
    private func writeOutput() {
        // After abort() the descriptor is closed and may already belong to a new connection.
        guard loop.connections[fd] === self else { return }
        while outputStart < output.count {
            let n = output.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + outputStart, raw.count - outputStart, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                outputStart += n
                deadlines.outputPending(at: now(), progress: true)
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                deadlines.outputPending(at: now(), progress: false)
                if !writeInterest { writeInterest = true; updateInterest() }
                return
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                abort() // EPIPE, ECONNRESET: the client is gone
                return
            }
        }
        output.removeAll(keepingCapacity: output.capacity <= 256 * 1024)
        outputStart = 0
        deadlines.outputDrained()
        if writeInterest { writeInterest = false; updateInterest() }
        if closeAfterWrite {
            switch state {
            case .responding, .streaming: return // a response is still owed
            default: break
            }
            // Lingering close (RFC 9112 §9.6): stop writing, drain briefly, then close.
            shutdown(fd, Int32(SHUT_WR))
            state = .lingering(until: now() + 2)
            deadlines.linger(until: now() + 2)
            setReadPaused(false)
            if peerClosed { abort() }
        }
    }

    // MARK: deadlines and shutdown

    func checkTimeouts(now t: Double) {
        switch deadlines.verdict(at: t) {
        case .keep: break
        case let .requestTimeout(reason): fail(.requestTimeout, reason)
        case .close: abort()
        }
    }

    func beginShutdown() {
        switch state {
        case .head where buffered == 0 && outputStart == output.count:
            abort()
        default:
            closeAfterWrite = true
        }
    }

    /// Closes now, discarding anything unsent.
    func abort() {
        if case let .streaming(stream, _, _) = state { stream.close() }
        state = .closed
        output = []
        outputStart = 0
        loop.remove(self)
    }
}
