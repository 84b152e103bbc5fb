#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A tensor's floats: a collection like `[Float]`, copy-on-write like it, but in one `malloc`
/// block that can change size without a second block.
///
/// Why not `[Float]`: layers that change a tensor's size in place (`Conv2D.apply` with stride 2
/// halves it, `TransposedConv2D.apply` doubles it) need the block to shrink and grow where it is.
/// An array can only allocate a new buffer and copy, so for a moment both exist: at 1280×960 that
/// was the full-resolution 64-channel map (315 MB) and the half-resolution one (157 MB) at once,
/// the generator's peak. glibc gives a block its own mapping when it is over the mmap threshold
/// (128 KB, rising with use to at most 32 MB), and `realloc` on such a block is `mremap`:
/// shrinking returns the tail's pages to the system, growing maps new pages after the old ones or
/// moves the mapping, without copying a byte. Smaller blocks live in the heap, where realloc may
/// copy; they are small.
public struct TensorStorage: Sendable {
    /// The block. @unchecked: a Buffer is only written while it is uniquely referenced (copy on
    /// write below), or by the kernels through `SharedPointer` under `parallelFor`'s promise.
    final class Buffer: @unchecked Sendable {
        var base: UnsafeMutablePointer<Float>
        var count: Int

        /// `count` floats, uninitialised (Float is trivial: every caller writes before reading).
        init(uninitializedCount count: Int) {
            self.count = count
            base = Self.allocate(count)
        }

        private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
            guard let raw = malloc(Swift.max(count, 1) * MemoryLayout<Float>.stride) else {
                fatalError("out of memory allocating \(count) floats")
            }
            HugePages.advise(raw, bytes: count * MemoryLayout<Float>.stride)
            return raw.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
        }

        /// New size in place where the allocator can (see the type's comment); the first
        /// `min(old, new)` values are kept, the rest are uninitialised.
        func resize(to newCount: Int) {
            guard newCount != count else { return }
            guard let raw = realloc(base, Swift.max(newCount, 1) * MemoryLayout<Float>.stride) else {
                fatalError("out of memory resizing to \(newCount) floats")
            }
            // A block mremap grows (in place or moved) keeps its advice; one realloc copied into a
            // new heap chunk has none yet. Asking twice is harmless.
            if newCount > count { HugePages.advise(raw, bytes: newCount * MemoryLayout<Float>.stride) }
            base = raw.bindMemory(to: Float.self, capacity: Swift.max(newCount, 1))
            count = newCount
        }

        /// A new block of `newCount` floats holding this one's first `min(count, newCount)`.
        func copy(count newCount: Int) -> Buffer {
            let other = Buffer(uninitializedCount: newCount)
            other.base.initialize(from: base, count: Swift.min(count, newCount))
            return other
        }

        deinit { free(base) }
    }

    var buffer: Buffer

    /// `count` floats left uninitialised: for layer outputs whose kernels write every element.
    init(uninitializedCount count: Int) {
        buffer = Buffer(uninitializedCount: count)
    }

    public init(repeating value: Float, count: Int) {
        buffer = Buffer(uninitializedCount: count)
        buffer.base.initialize(repeating: value, count: count)
    }

    public init(_ values: [Float]) {
        buffer = Buffer(uninitializedCount: values.count)
        values.withUnsafeBufferPointer { if let from = $0.baseAddress { buffer.base.initialize(from: from, count: values.count) } }
    }

    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&buffer) { buffer = buffer.copy(count: buffer.count) }
    }

    /// Changes the number of floats, keeping the first `min(count, newCount)`; the rest are
    /// uninitialised. The block is resized where it is when the allocator can (large blocks).
    mutating func resize(to newCount: Int) {
        if isKnownUniquelyReferenced(&buffer) {
            buffer.resize(to: newCount)
        } else {
            buffer = buffer.copy(count: newCount)
        }
    }

    public func withUnsafeBufferPointer<R, E: Error>(_ body: (UnsafeBufferPointer<Float>) throws(E) -> R) throws(E) -> R {
        // The buffer outlives the call: `self` holds it.
        try withExtendedLifetime(buffer) { () throws(E) -> R in
            try body(UnsafeBufferPointer(start: buffer.base, count: buffer.count))
        }
    }

    public mutating func withUnsafeMutableBufferPointer<R, E: Error>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws(E) -> R) throws(E) -> R {
        makeUnique()
        return try withExtendedLifetime(buffer) { () throws(E) -> R in
            try body(UnsafeMutableBufferPointer(start: buffer.base, count: buffer.count))
        }
    }
}

extension TensorStorage: RandomAccessCollection, MutableCollection {
    public var startIndex: Int { 0 }
    public var endIndex: Int { buffer.count }

    public subscript(i: Int) -> Float {
        get {
            precondition(i >= 0 && i < buffer.count, "index \(i) out of range 0..<\(buffer.count)")
            return buffer.base[i]
        }
        set {
            precondition(i >= 0 && i < buffer.count, "index \(i) out of range 0..<\(buffer.count)")
            makeUnique()
            buffer.base[i] = newValue
        }
    }
}

extension TensorStorage: Equatable, ExpressibleByArrayLiteral, CustomStringConvertible {
    public static func == (a: TensorStorage, b: TensorStorage) -> Bool {
        a.count == b.count && (a.buffer === b.buffer || a.elementsEqual(b))
    }

    public init(arrayLiteral values: Float...) { self.init(values) }

    public var description: String { Array(self).description }
}
