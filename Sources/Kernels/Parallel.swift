import Dispatch

/// A raw pointer that may cross into `DispatchQueue.concurrentPerform`'s `@Sendable` closure.
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
@inlinable
func parallelFor(chunks: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
    if chunks <= 0 { return }
    if threads <= 1 || chunks == 1 {
        for i in 0..<chunks { body(i) }
    } else {
        DispatchQueue.concurrentPerform(iterations: chunks, execute: body)
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
