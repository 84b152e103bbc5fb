@testable import HTTPServer
import Testing

/// The connection's deadlines as a plain state machine: driven with made-up times, no sockets,
/// no sleeping (issue 12, items 2 and 8).
@Suite("Connection deadlines")
struct DeadlineTests {
    static let limits = ConnectionDeadlines.Limits(headerTimeout: 10, idleTimeout: 60, bodyTimeout: 30,
                                                   bodyRateGrace: 10, minBodyRate: 1024, writeTimeout: 30)

    enum Event {
        case headBytes(Double), bodyStarted(Double), body(Int, Double), dispatched, idle(Double), linger(Double)
        case pending(Double, progress: Bool), drained
    }

    static func run(_ events: [Event]) -> ConnectionDeadlines {
        var d = ConnectionDeadlines(limits: limits, acceptedAt: 0)
        for event in events {
            switch event {
            case let .headBytes(t): d.headBytesArrived(at: t)
            case let .bodyStarted(t): d.bodyStarted(at: t)
            case let .body(n, t): d.bodyBytesArrived(n, at: t)
            case .dispatched: d.requestDispatched()
            case let .idle(t): d.awaitingNextRequest(at: t)
            case let .linger(t): d.linger(until: t)
            case let .pending(t, progress): d.outputPending(at: t, progress: progress)
            case .drained: d.outputDrained()
            }
        }
        return d
    }

    @Test("each phase keeps its own deadline", arguments: [
        // A connection that never sends a byte has the head timeout from its accept, not the idle one.
        ("silent, within the head timeout", [], 9.9, ConnectionDeadlines.Verdict.keep),
        ("silent past the head timeout", [], 10.1, .close),
        ("a head started at 5, at 14", [.headBytes(5)], 14.9, .keep),
        ("a head started at 5, at 15.1", [.headBytes(5), .headBytes(15)], 15.1, .requestTimeout("request head not received in time")),
        ("idle keep-alive at 59 s", [.headBytes(1), .dispatched, .idle(2)], 61, .keep),
        ("idle keep-alive past 60 s", [.headBytes(1), .dispatched, .idle(2)], 62.1, .close),
        ("a new head after idling", [.headBytes(1), .dispatched, .idle(2), .headBytes(50)], 59, .keep),
        ("handling has no deadline", [.headBytes(1), .dispatched], 10_000, .keep),
        ("lingering until 7", [.headBytes(1), .dispatched, .linger(7)], 6.9, .keep),
        ("lingering past 7", [.headBytes(1), .dispatched, .linger(7)], 7.1, .close),
    ] as [(String, [Event], Double, ConnectionDeadlines.Verdict)])
    func phases(name: String, events: [Event], at t: Double, verdict: ConnectionDeadlines.Verdict) {
        #expect(Self.run(events).verdict(at: t) == verdict, "\(name)")
    }

    @Test("bodies must keep moving and, after the grace, average 1 KiB/s", arguments: [
        ("fast body", [.bodyStarted(0), .body(1_000_000, 1)], 5, ConnectionDeadlines.Verdict.keep),
        ("a pause of 29 s", [.bodyStarted(0), .body(100_000, 1)], 30, .keep),
        ("a pause of 31 s", [.bodyStarted(0), .body(100_000, 1)], 32, .requestTimeout("request body stalled")),
        // One byte every 20 s never pauses for 30 s, yet is far below any useful rate.
        ("a trickle, within the grace", [.bodyStarted(0), .body(1, 0), .body(1, 9)], 9.5, .keep),
        ("a trickle, after the grace", [.bodyStarted(0), .body(1, 0), .body(1, 20)], 20.5, .requestTimeout("request body arriving too slowly")),
        ("slow but fair: 2 KiB/s for 60 s", (0..<60).map { Event.body(2048, Double($0 + 1)) }, 60.5, .keep),
    ] as [(String, [Event], Double, ConnectionDeadlines.Verdict)])
    func bodies(name: String, events: [Event], at t: Double, verdict: ConnectionDeadlines.Verdict) {
        let all = events.first.map { if case .bodyStarted = $0 { events } else { [.bodyStarted(0)] + events } } ?? events
        #expect(Self.run(all).verdict(at: t) == verdict, "\(name)")
    }

    @Test("a client that stops reading its response is dropped after the write timeout")
    func writes() {
        var d = Self.run([.headBytes(1), .dispatched, .pending(2, progress: false)])
        #expect(d.verdict(at: 31) == .keep)
        d.outputPending(at: 20, progress: true)
        #expect(d.verdict(at: 49) == .keep && d.verdict(at: 50.5) == .close)
        d.outputDrained()
        #expect(d.verdict(at: 1000) == .keep)
    }
}
