#if canImport(Glibc)
import Glibc
#endif

/// Transparent huge pages for the kernels' large blocks: activations, transformed filters, band
/// copies.
///
/// With 4 KB pages a 64-channel map at 512×512 (64 MB) spans 16,384 pages, and the data TLB's
/// second level holds 1,536–2,048 entries (Intel Skylake-SP, AMD Zen 3): it covers 6–8 MB. A
/// Winograd input transform reads each patch from 6 rows, each a few hundred KB from the next,
/// and every block of tiles streams a layer's transformed filters (up to 9.4 MB) again, so both
/// walk far more pages than the TLB maps. 2 MB pages cover the same maps with a few dozen
/// entries, and a first touch costs one fault per 2 MB instead of one per 4 KB.
///
/// Linux backs memory with huge pages by itself only where `transparent_hugepage/enabled` is
/// `always`; many distributions and cloud images default to `madvise`, which waits for
/// `madvise(MADV_HUGEPAGE)` on the range. Where it is `never` (or off Linux) this does nothing.
/// Memory does not grow: the blocks advised are written whole (or nearly) by the kernels, so their
/// pages are touched either way (measured: Sources/Kernels/README.md, "Huge pages").
enum HugePages {
    /// Smaller blocks are left alone: they cannot hold a whole 2 MB page with room to spare.
    static let threshold = 4 << 20
    static let size = 2 << 20

    /// Asks for huge pages over the 2 MB-aligned part of `bytes` bytes at `base` (the allocator's
    /// block need not be aligned; its unaligned ends keep 4 KB pages). Call before the block is
    /// first written: pages already present stay small until the kernel's background pass merges them.
    static func advise(_ base: UnsafeMutableRawPointer, bytes: Int) {
        #if os(Linux)
        guard let range = alignedRange(address: Int(bitPattern: base), bytes: bytes),
              let aligned = UnsafeMutableRawPointer(bitPattern: range.lowerBound) else { return }
        // A refusal (EINVAL where THP is compiled out) only leaves the block on small pages.
        _ = madvise(aligned, range.count, MADV_HUGEPAGE)
        #endif
    }

    /// The whole 2 MB pages inside `bytes` bytes at `address`, or nil for a block under
    /// `threshold`.
    static func alignedRange(address: Int, bytes: Int) -> Range<Int>? {
        guard bytes >= threshold else { return nil }
        let start = (address + size - 1) & ~(size - 1), end = (address + bytes) & ~(size - 1)
        return start < end ? start..<end : nil
    }

    /// `count` floats from `UnsafeMutablePointer.allocate`, advised when large.
    static func allocateFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
        let block = UnsafeMutablePointer<Float>.allocate(capacity: count)
        advise(UnsafeMutableRawPointer(block), bytes: count * MemoryLayout<Float>.stride)
        return block
    }
}
