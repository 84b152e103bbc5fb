import Foundation

/// A raw pointer that may cross into the compute threads' `@Sendable` closures.
///
/// Unchecked because Swift cannot see that the threads write disjoint ranges: every caller
/// partitions the index space so no element is written by two threads or read while written.
/// This is the one place in the engine where that promise is made.
@usableFromInline
struct SharedPointer<T>: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutablePointer<T>
    @inlinable init(_ base: UnsafeMutablePointer<T>) { self.base = base }
}

/// Runs `body(chunk)` for `chunk` in `0..<chunks` on up to `threads` threads and waits.
/// The calling thread works too; the others come from `ComputeThreads`.
@inlinable
func parallelFor(chunks: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
    if chunks <= 0 { return }
    if threads <= 1 || chunks == 1 {
        for i in 0..<chunks { body(i) }
    } else {
        ComputeThreads.shared.run(chunks: chunks, helpers: min(threads, chunks) - 1, body)
    }
}

/// Chunks each thread's share of a loop is cut into. `ComputeThreads` hands chunks out as
/// threads finish them, so a thread that runs slower (its core shared with the web server's
/// threads, or on a VM with a neighbour) takes fewer; with one chunk a thread, every layer
/// waited for the slowest. Measured: Sources/Kernels/README.md, "Threads that run at different
/// speeds".
@usableFromInline let chunksPerThread = 4

/// How many parts to cut a loop of independent chunks into for `threads` threads.
@inlinable
func balancedParts(_ threads: Int) -> Int {
    threads <= 1 ? 1 : threads * chunksPerThread
}

/// Buffers of `floats` floats for the chunks of one loop: a chunk borrows one and gives it
/// back, so there are never more than the threads that run at once, however many chunks there
/// are, and a buffer a thread reuses stays in its cache.
final class ScratchBuffers: @unchecked Sendable {
    // @unchecked: `free` and `all` are only touched with `lock` held.
    let floats: Int
    private let zeroed: Bool
    private let lock = NSLock()
    private var free: [UnsafeMutablePointer<Float>] = []
    private var all: [UnsafeMutablePointer<Float>] = []

    /// `zeroed`: each buffer is filled with zeros when made (not when borrowed again).
    init(floats: Int, zeroed: Bool = false) {
        self.floats = max(1, floats)
        self.zeroed = zeroed
    }

    deinit {
        for buffer in all { buffer.deallocate() }
    }

    /// Buffers made so far.
    var made: Int {
        lock.lock()
        defer { lock.unlock() }
        return all.count
    }

    func withBuffer<R>(_ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        let buffer = borrow()
        defer {
            lock.lock()
            free.append(buffer)
            lock.unlock()
        }
        return body(buffer)
    }

    /// A free buffer, or a new one (made outside the lock: zeroing one takes a while).
    private func borrow() -> UnsafeMutablePointer<Float> {
        lock.lock()
        if let buffer = free.popLast() {
            lock.unlock()
            return buffer
        }
        lock.unlock()
        let made = HugePages.allocateFloats(floats)
        if zeroed { made.initialize(repeating: 0, count: floats) }
        lock.lock()
        all.append(made)
        lock.unlock()
        return made
    }
}

/// Splits `0..<count` into `parts` nearly equal contiguous ranges whose bounds are multiples of
/// `granule` (except the end), so work units are never shared between threads.
@inlinable
func partition(_ count: Int, parts: Int, granule: Int) -> [Range<Int>] {
    let units = (count + granule - 1) / granule
    let parts = max(1, min(parts, units))
    return (0..<parts).map { p in
        let lo = units * p / parts * granule
        let hi = min(count, units * (p + 1) / parts * granule)
        return lo..<hi
    }
}

/// Threads kept for the kernels' parallel loops, started on first need and never ended.
///
/// Not `DispatchQueue.concurrentPerform`: its iterations run on Dispatch's shared pool, the
/// threads that also run the web server's handlers, at their priority, so a conversion that
/// fills every core makes pages queue behind it. These threads run nothing but kernel chunks,
/// so a server can lower their priority (`lowerPriority(by:)`) and requests get the cores first.
public final class ComputeThreads: @unchecked Sendable {
    // @unchecked: every mutable field below is read and written only with `condition` locked.
    public static let shared = ComputeThreads()

    /// One `parallelFor`: its chunks are handed out one at a time, to the caller and to helpers.
    private final class Batch {
        /// Set to nil once every chunk is done: the closure must not outlive `run`.
        var body: ((Int) -> Void)?
        let chunks: Int
        var next = 0
        var done = 0
        var helpersWanted: Int
        init(body: @escaping (Int) -> Void, chunks: Int, helpers: Int) {
            (self.body, self.chunks, helpersWanted) = (body, chunks, helpers)
        }
    }

    private let condition = NSCondition()
    private var batches: [Batch] = []
    private var started = 0
    private var niceness: Int32 = 0

    /// Makes the kernel threads yield to the process's other threads from their next loop on:
    /// their nice value becomes `amount` on Linux (at 19, the lowest priority, a busy kernel
    /// thread gets a few percent of a core that a normal thread also wants). Elsewhere a no-op.
    /// An unprivileged thread can lower its priority but not raise it again, so this is for the
    /// server and the workers (not the command line's own conversions and benchmarks).
    public func lowerPriority(by amount: Int32) {
        condition.lock()
        niceness = amount
        condition.unlock()
    }

    /// Gives the calling thread the priority set by `lowerPriority(by:)`, for a thread that runs
    /// kernels as the caller of their loops (a job worker).
    public func lowerPriorityOfCurrentThread() {
        condition.lock()
        let amount = niceness
        condition.unlock()
        if amount != 0 { Self.applyNiceness(amount) }
    }

    private static func applyNiceness(_ amount: Int32) {
        #if os(Linux)
        // Linux keeps a nice value per thread, and PRIO_PROCESS with id 0 means the calling
        // thread (setpriority(2), NOTES): only this thread yields, not the process.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, amount)
        #endif
    }

    @usableFromInline
    func run(chunks: Int, helpers: Int, _ body: @Sendable (Int) -> Void) {
        // The closure does not outlive this call: `run` returns only once every chunk is done,
        // and a finished batch is no longer reachable from `batches`.
        withoutActuallyEscaping(body) { body in
            let batch = Batch(body: body, chunks: chunks, helpers: helpers)
            condition.lock()
            batches.append(batch)
            while started < helpers {
                started += 1
                let thread = Thread { [self] in helperLoop() }
                thread.name = "artworker.kernels"
                thread.start()
            }
            condition.broadcast()
            condition.unlock()
            work(on: batch)
            condition.lock()
            while batch.done < batch.chunks { condition.wait() }
            batch.body = nil
            condition.unlock()
        }
    }

    /// Takes chunks of `batch` until none is left. Called with the lock not held.
    private func work(on batch: Batch) {
        while true {
            do {
                condition.lock()
                guard batch.next < batch.chunks, let body = batch.body else {
                    condition.unlock()
                    return
                }
                let chunk = batch.next
                batch.next += 1
                if batch.next == batch.chunks { batches.removeAll { $0 === batch } }
                condition.unlock()
                body(chunk)
            } // `body` is released here, before the chunk counts as done (see `run`).
            condition.lock()
            batch.done += 1
            if batch.done == batch.chunks { condition.broadcast() }
            condition.unlock()
        }
    }

    private func helperLoop() {
        var applied: Int32 = 0
        while true {
            condition.lock()
            // A batch still wanting helpers; each helper joins at most the number asked for, so
            // a 2-thread loop is not taken over by every idle helper.
            var batch = batches.first { $0.helpersWanted > 0 && $0.next < $0.chunks }
            while batch == nil {
                condition.wait()
                batch = batches.first { $0.helpersWanted > 0 && $0.next < $0.chunks }
            }
            batch!.helpersWanted -= 1
            let wanted = niceness
            condition.unlock()
            // A helper started before `lowerPriority(by:)` catches up at its next batch.
            if wanted != applied {
                Self.applyNiceness(wanted)
                applied = wanted
            }
            work(on: batch!)
        }
    }
}
