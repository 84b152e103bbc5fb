import Dispatch
import Synchronization

/// bcrypt runs here, never on an event loop: as many at once as there are cores, a bounded
/// number waiting; past that, requests get 503 with Retry-After instead of piling up.
final class PasswordWork: Sendable {
    private let queue = DispatchQueue(label: "artworker.passwords", attributes: .concurrent)
    private let slots: DispatchSemaphore
    private let waiting = Atomic<Int>(0)
    let maxWaiting: Int

    init(concurrency: Int, maxWaiting: Int = 64) {
        slots = DispatchSemaphore(value: max(1, concurrency))
        self.maxWaiting = maxWaiting
    }

    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        guard waiting.wrappingAdd(1, ordering: .relaxed).newValue <= maxWaiting else {
            waiting.wrappingSubtract(1, ordering: .relaxed)
            throw Refusal(.busy(retryAfter: 1), "auth.busy")
        }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                self.slots.wait()
                defer { self.slots.signal(); self.waiting.wrappingSubtract(1, ordering: .relaxed) }
                continuation.resume(with: Result { try work() })
            }
        }
    }
}
