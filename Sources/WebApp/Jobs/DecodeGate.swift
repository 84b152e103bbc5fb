import Dispatch
import Synchronization

/// Decoding uploaded pictures before a job is queued, on a bounded executor: each decode
/// declares what it will cost (bytes of pixel memory, from the file's header), and decodes run
/// only while their costs together fit `capacity`. Others wait their turn, up to `maxWaiting`;
/// past that the request is refused with 503 at once. Six 40-megapixel PNGs sent at the same
/// moment thus cost one budget of memory, not six, and leave the cores to sign-ins and pages.
final class DecodeGate: Sendable {
    let capacity: Int
    let maxWaiting: Int
    private let queue = DispatchQueue(label: "artworker.decode", attributes: .concurrent)

    private struct Waiter {
        var cost: Int
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var inUse = 0
        var waiting: [Waiter] = []
    }

    private let state = Mutex(State())

    init(capacity: Int, maxWaiting: Int = 16) {
        self.capacity = max(1, capacity)
        self.maxWaiting = maxWaiting
    }

    /// Bytes of memory decodes hold right now (for tests and the log).
    var inUse: Int { state.withLock { $0.inUse } }

    /// Runs `work` once `cost` fits (a cost above the capacity runs alone), off the caller's
    /// thread; throws 503 when too many are waiting already.
    func run<T: Sendable>(cost: Int, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        let cost = min(max(cost, 0), capacity)
        try await acquire(cost)
        defer { release(cost) }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }

    private func acquire(_ cost: Int) async throws {
        enum Admission { case now, wait, full }
        // Decided and queued under one lock, so a release cannot slip between them.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let admission = state.withLock { state -> Admission in
                if state.waiting.isEmpty && state.inUse + cost <= capacity {
                    state.inUse += cost
                    return .now
                }
                guard state.waiting.count < maxWaiting else { return .full }
                state.waiting.append(Waiter(cost: cost, continuation: continuation))
                return .wait
            }
            switch admission {
            case .now: continuation.resume()
            case .wait: break // resumed by `release`
            case .full:
                continuation.resume(throwing: Refusal(.busy(retryAfter: 5), "upload.busy"))
            }
        }
    }

    private func release(_ cost: Int) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.inUse -= cost
            var ready: [CheckedContinuation<Void, any Error>] = []
            // First come, first served: the head of the line goes when it fits, and nobody
            // overtakes it (a large decode is not starved by a stream of small ones).
            while let first = state.waiting.first, state.inUse + first.cost <= capacity {
                state.inUse += first.cost
                ready.append(state.waiting.removeFirst().continuation)
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }
}
