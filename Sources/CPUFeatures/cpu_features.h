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
#if defined(__AVX512F__)
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

#endif
