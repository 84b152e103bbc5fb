/// When a connection must give up on its client: the timing half of a connection, as a plain
/// value with the time passed in, so every deadline is tested without a socket or a sleep.
/// `Connection` is the shell around it: it reports what happened on the socket and acts on
/// `verdict(at:)` four times a second.
///
/// Phases and their limits:
/// - `fresh`: accepted, nothing received yet. A client that opens a connection and never sends
///   a byte gets the *head* timeout, counted from the accept, not the idle one: otherwise a
///   thousand silent sockets hold every connection slot for a minute at a time.
/// - `head`: a request head is arriving; it must be complete `headerTimeout` after its first
///   byte (slowloris).
/// - `body`: a body is arriving. It may pause at most `bodyTimeout`, and after `bodyRateGrace`
///   its average rate must stay above `minBodyRate`: one byte every 20 seconds never pauses
///   long, yet would hold a connection and its buffer for hours.
/// - `handling`: the application is answering; the client owes nothing.
/// - `idle`: a keep-alive connection between requests, closed after `idleTimeout`.
/// - `lingering`: the answer is out and the write side shut; close at `until` at the latest.
/// Independently, output that makes no progress for `writeTimeout` means the client stopped
/// reading: the connection is closed.
public struct ConnectionDeadlines: Sendable, Equatable {
    public struct Limits: Sendable, Equatable {
        public var headerTimeout: Double
        public var idleTimeout: Double
        public var bodyTimeout: Double
        public var bodyRateGrace: Double
        public var minBodyRate: Double
        public var writeTimeout: Double

        public init(headerTimeout: Double = 10, idleTimeout: Double = 60, bodyTimeout: Double = 30,
                    bodyRateGrace: Double = 10, minBodyRate: Double = 1024, writeTimeout: Double = 30) {
            self.headerTimeout = headerTimeout
            self.idleTimeout = idleTimeout
            self.bodyTimeout = bodyTimeout
            self.bodyRateGrace = bodyRateGrace
            self.minBodyRate = minBodyRate
            self.writeTimeout = writeTimeout
        }
    }

    public enum Phase: Sendable, Equatable {
        case fresh(since: Double)
        case head(since: Double)
        case body(since: Double, received: Int, lastProgress: Double)
        case handling
        case idle(since: Double)
        case lingering(until: Double)
    }

    public enum Verdict: Sendable, Equatable {
        case keep
        /// Answer 408 with this reason, then close.
        case requestTimeout(String)
        /// Close without a word (nothing was asked, or the client no longer listens).
        case close
    }

    public let limits: Limits
    public private(set) var phase: Phase
    /// When unsent output last moved, while there is some.
    public private(set) var writingSince: Double? = nil

    public init(limits: Limits, acceptedAt t: Double) {
        self.limits = limits
        phase = .fresh(since: t)
    }

    /// Bytes of a request head arrived (the first starts the head's clock).
    public mutating func headBytesArrived(at t: Double) {
        switch phase {
        case .fresh, .idle: phase = .head(since: t)
        default: break
        }
    }

    public mutating func bodyStarted(at t: Double) { phase = .body(since: t, received: 0, lastProgress: t) }

    public mutating func bodyBytesArrived(_ n: Int, at t: Double) {
        guard case let .body(since, received, _) = phase, n > 0 else { return }
        phase = .body(since: since, received: received + n, lastProgress: t)
    }

    /// The request is complete and handed to the application.
    public mutating func requestDispatched() { phase = .handling }

    /// The response is written (or being streamed) and the connection stays open for the next.
    public mutating func awaitingNextRequest(at t: Double) { phase = .idle(since: t) }

    public mutating func linger(until t: Double) { phase = .lingering(until: t) }

    /// Output is waiting to be sent; `progress` when some of it just went out.
    public mutating func outputPending(at t: Double, progress: Bool) {
        if progress || writingSince == nil { writingSince = t }
    }

    public mutating func outputDrained() { writingSince = nil }

    public func verdict(at t: Double) -> Verdict {
        if let since = writingSince, t - since > limits.writeTimeout { return .close }
        switch phase {
        case let .fresh(since):
            return t - since > limits.headerTimeout ? .close : .keep
        case let .head(since):
            return t - since > limits.headerTimeout ? .requestTimeout("request head not received in time") : .keep
        case let .body(since, received, lastProgress):
            if t - lastProgress > limits.bodyTimeout { return .requestTimeout("request body stalled") }
            let elapsed = t - since
            if elapsed > limits.bodyRateGrace, Double(received) < limits.minBodyRate * (elapsed - limits.bodyRateGrace) {
                return .requestTimeout("request body arriving too slowly")
            }
            return .keep
        case .handling:
            return .keep
        case let .idle(since):
            return t - since > limits.idleTimeout ? .close : .keep
        case let .lingering(until):
            return t > until ? .close : .keep
        }
    }
}
