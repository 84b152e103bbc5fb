import CPUFeatures

/// Tile shapes for the registers of the CPU the build targets, decided at compile time.
///
/// Swift has no `#if` for target features; `CPUFeatures` is a header of macros that clang
/// evaluates for the same target Swift compiles for (`-target-cpu native`, `-Xcc
/// -march=x86-64-v3`). The values are constants, so every branch on them folds away.
///
/// - AVX-512 (32 zmm): a `SIMD16<Float>` is one register. Channel tiles are 32 wide
///   (`gemm6x32`: 12 accumulators, 2 for B, 1 broadcast), the narrow kernel takes 64 pixels.
/// - AVX2 (16 ymm) and narrower: a `SIMD16<Float>` is two registers, so `gemm6x32` would need 24
///   registers for its accumulators alone and spills (DESIGN.md §6 measured 42 GFLOP/s). Channel
///   tiles are 16 wide (`gemm6x16`: 12 ymm of accumulators, 2 for B, 1 broadcast), the narrow
///   kernel and the Winograd transforms work on `SIMD8`.
public enum Tiling {
    /// True when the kernels take AVX-512's tile shapes: the target has 512-bit vector registers,
    /// or it is `make test-wide`'s build.
    @inlinable public static var wideVectors: Bool { ARTWORKER_VECTOR_BITS >= 512 }

    /// True in `make test-wide`'s build: AVX-512's tile shapes on an AVX2 target, each SIMD16
    /// split into two ymm registers by LLVM (same results, not the same speed).
    @inlinable public static var emulatedWideVectors: Bool { ARTWORKER_WIDE_TILES_EMULATED != 0 }

    /// Output channels per packed weight tile (the micro-kernel's NR).
    @inlinable static var channelTile: Int { wideVectors ? 32 : 16 }

    /// What this build's kernels were compiled for, for benchmarks and logs.
    public static var description: String {
        emulatedWideVectors
            ? "AVX-512 tiles on 256-bit registers (6×32 GEMM, 64-pixel narrow kernel; a test build, slow)"
            : wideVectors ? "AVX-512 tiles (6×32 GEMM, 64-pixel narrow kernel)"
            : "\(ARTWORKER_VECTOR_BITS)-bit tiles (6×16 GEMM, 32-pixel narrow kernel)"
    }
}
