// What the build's target CPU offers, as clang sees it when Swift imports this header: Swift
// passes its own target (`-target-cpu native`, or `-Xcc -march=x86-64-v3`) to its C importer,
// so these are the features the Swift code is being compiled for. Swift has no `#if` for target
// features; Kernels reads this constant and the optimiser folds every branch on it away.
//
// Only macros: nothing here is compiled or linked.
#ifndef ARTWORKER_CPU_FEATURES_H
#define ARTWORKER_CPU_FEATURES_H

// The widest vector registers the build may use, in bits, and how many of them there are:
// AVX-512 has 32 zmm registers, AVX2 16 ymm, SSE and NEON (128-bit) 16 or 32.
//
// ARTWORKER_WIDE_TILES (`make test-wide`: `-Xcc -DARTWORKER_WIDE_TILES` on an AVX2 target) gives
// the kernels the AVX-512 tile shapes without AVX-512, so their code paths can be tested on any
// AVX2 machine. The kernels use Swift's generic SIMD types only, no intrinsics: LLVM splits each
// SIMD16 into two ymm registers and performs the same operations on the same lanes, so the
// results are those of an AVX-512 build; only the speed is not (the 6×32 tile spills).
#if defined(__AVX512F__) || (defined(ARTWORKER_WIDE_TILES) && defined(__AVX2__) && defined(__FMA__))
#define ARTWORKER_VECTOR_BITS 512
#define ARTWORKER_VECTOR_REGISTERS 32
#elif defined(__AVX2__) && defined(__FMA__)
#define ARTWORKER_VECTOR_BITS 256
#define ARTWORKER_VECTOR_REGISTERS 16
#elif defined(__aarch64__)
#define ARTWORKER_VECTOR_BITS 128
#define ARTWORKER_VECTOR_REGISTERS 32
#else
#define ARTWORKER_VECTOR_BITS 128
#define ARTWORKER_VECTOR_REGISTERS 16
#endif

// 1 when the tile shapes above are wider than the target's registers (a test build).
#if defined(ARTWORKER_WIDE_TILES) && !defined(__AVX512F__) && defined(__AVX2__) && defined(__FMA__)
#define ARTWORKER_WIDE_TILES_EMULATED 1
#else
#define ARTWORKER_WIDE_TILES_EMULATED 0
#endif

#endif
