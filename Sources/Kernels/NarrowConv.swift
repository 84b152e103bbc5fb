import Foundation

/// Convolution weights for stride-1 layers with at most 3 output channels (the generator's final
/// 64 → 3 layer), laid out [Cin][kh][kw][3] (missing channels zero): each step of the kernel
/// reads the three weights of one input tap, next to the previous tap's.
///
/// Wide channel tiles would leave 13 of 16 lanes idle on such a layer, and dot products along K
/// end every 4 pixels in 16 horizontal sums; vectorising over *pixels* instead fills every lane
/// with work, at the price of a planar copy of the input (`convolveNarrow`).
struct NarrowWeights: Sendable {
    static let maxChannels = 3
    let inChannels: Int
    let kernelHeight: Int
    let kernelWidth: Int
    let outChannels: Int
    let data: [Float]   // [Cin][kh][kw][3]
    let bias: [Float]   // [3]

    /// - Parameter weights: [Cout, Cin, kh, kw] (PyTorch's layout).
    init(weights: [Float], bias biasValues: [Float], outChannels: Int, inChannels: Int, kernelHeight: Int, kernelWidth: Int) {
        precondition(outChannels <= Self.maxChannels)
        (self.inChannels, self.kernelHeight, self.kernelWidth, self.outChannels) = (inChannels, kernelHeight, kernelWidth, outChannels)
        var data = [Float](repeating: 0, count: inChannels * kernelHeight * kernelWidth * Self.maxChannels)
        for o in 0..<outChannels {
            for c in 0..<inChannels {
                for i in 0..<kernelHeight {
                    for j in 0..<kernelWidth {
                        data[((c * kernelHeight + i) * kernelWidth + j) * Self.maxChannels + o] =
                            weights[((o * inChannels + c) * kernelHeight + i) * kernelWidth + j]
                    }
                }
            }
        }
        self.data = data
        bias = (0..<Self.maxChannels).map { $0 < outChannels ? biasValues[$0] : 0 }
    }
}

/// narrow4Vx3: 4 vectors of consecutive output pixels × 3 output channels of a stride-1
/// convolution — `narrow64x3` with `SIMD16` (AVX-512), `narrow32x3` with `SIMD8` (AVX2) — read
/// from a planar copy of the input (plane c at `a + c · planeStride`, its rows `rowStride`
/// apart). 12 accumulators; each input tap costs 4 loads, 3 broadcasts and 12 FMAs (on AVX2 that
/// is 12 + 3 + 1 of the 16 ymm registers: the loads are consumed one at a time).
///
/// Scalar reference (P = 4 · V.scalarCount):
///
///     for x in 0..<count { for o in 0..<channels {      // count ≤ P
///         var s = bias[o]
///         for c in 0..<cin { for i in 0..<kh { for j in 0..<kw {
///             s += a[c * planeStride + i * rowStride + x + j] * w[((c * kh + i) * kw + j) * 3 + o] } } }
///         out[x * channels + o] = tanh ? tanhf(s) : s } }
@inline(__always)
func narrow4Vx3<V: SIMD>(_: V.Type, _ a: UnsafePointer<Float>, planeStride: Int, rowStride: Int, cin: Int, kh: Int, kw: Int,
                         w: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                         out: UnsafeMutablePointer<Float>, channels: Int, count: Int, tanh: Bool) where V.Scalar == Float {
    let n = V.scalarCount
    @inline(__always) func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    let b0 = V(repeating: bias[0]), b1 = V(repeating: bias[1]), b2 = V(repeating: bias[2])
    var s00 = b0, s01 = b0, s02 = b0, s03 = b0
    var s10 = b1, s11 = b1, s12 = b1, s13 = b1
    var s20 = b2, s21 = b2, s22 = b2, s23 = b2
    var wp = w
    for c in 0..<cin {
        let plane = a + c * planeStride
        for i in 0..<kh {
            let row = plane + i * rowStride
            for j in 0..<kw {
                let p = row + j
                let w0 = V(repeating: wp[0]), w1 = V(repeating: wp[1]), w2 = V(repeating: wp[2])
                wp += 3
                let x0 = load(p)
                s00 = s00.addingProduct(x0, w0); s10 = s10.addingProduct(x0, w1); s20 = s20.addingProduct(x0, w2)
                let x1 = load(p + n)
                s01 = s01.addingProduct(x1, w0); s11 = s11.addingProduct(x1, w1); s21 = s21.addingProduct(x1, w2)
                let x2 = load(p + 2 * n)
                s02 = s02.addingProduct(x2, w0); s12 = s12.addingProduct(x2, w1); s22 = s22.addingProduct(x2, w2)
                let x3 = load(p + 3 * n)
                s03 = s03.addingProduct(x3, w0); s13 = s13.addingProduct(x3, w1); s23 = s23.addingProduct(x3, w2)
            }
        }
    }
    // Pixels are interleaved with their channels in the output: lanes go out one by one (3 · P
    // stores against 12 · cin · kh · kw FMAs).
    withUnsafeTemporaryAllocation(of: V.self, capacity: 12) { sums in
        // SIMD vectors of Float are trivial: assigning into the uninitialised buffer initialises it.
        sums[0] = s00; sums[1] = s01; sums[2] = s02; sums[3] = s03
        sums[4] = s10; sums[5] = s11; sums[6] = s12; sums[7] = s13
        sums[8] = s20; sums[9] = s21; sums[10] = s22; sums[11] = s23
        for x in 0..<count {
            for o in 0..<channels {
                let v = sums[o * 4 + x / n][x % n]
                out[x * channels + o] = tanh ? tanhf(v) : v
            }
        }
    }
}

/// A stride-1 convolution with at most 3 output channels over an *unpadded* NHWC input,
/// `padding` on every side (reflect or zero). The output is cut into tiles of 16 rows × 128
/// columns; each thread copies a tile's receptive field (22 × 134 pixels for a 7 × 7 kernel),
/// padding applied, into a planar buffer of its own (Cin planes, 0.75 MB for 64 channels: it
/// stays in L2) and runs `narrow4Vx3` over it. The copy reads the input 1.4 times; no padded
/// copy of the whole input is made. With `tanh`, each value goes through tanh as it is stored
/// (the generator's output layer: a pass over the output saved, and done on every thread).
func convolveNarrow(input: UnsafePointer<Float>, height: Int, width: Int, output: UnsafeMutablePointer<Float>,
                    outHeight: Int, outWidth: Int, padding: Int, mode: PaddingMode, weights: NarrowWeights, tanh: Bool,
                    threads: Int) {
    let cin = weights.inChannels, kh = weights.kernelHeight, kw = weights.kernelWidth, n = weights.outChannels
    precondition(mode == .zero || padding < min(height, width), "reflect padding of \(padding) needs more than a \(height)×\(width) input")
    let bandRows = 16, bandColumns = 128
    let rowsIn = bandRows + kh - 1, columnsIn = bandColumns + kw - 1
    let planeStride = rowsIn * columnsIn
    let tilesX = (outWidth + bandColumns - 1) / bandColumns, tilesY = (outHeight + bandRows - 1) / bandRows
    let ranges = partition(tilesX * tilesY, parts: balancedParts(threads), granule: 1)
    // Zeroed once: columns past a narrow tile's edge feed only lanes never stored.
    let buffers = ScratchBuffers(floats: cin * planeStride, zeroed: true)
    let source0 = SharedPointer(UnsafeMutablePointer(mutating: input))
    let destination = SharedPointer(output)
    weights.data.withUnsafeBufferPointer { data in
        weights.bias.withUnsafeBufferPointer { bias in
            let w = SharedPointer(UnsafeMutablePointer(mutating: data.baseAddress!))
            let b = SharedPointer(UnsafeMutablePointer(mutating: bias.baseAddress!))
            parallelFor(chunks: ranges.count, threads: threads) { chunk in
                let input = UnsafePointer(source0.base), output = destination.base
                buffers.withBuffer { buffer in
                    for tile in ranges[chunk] {
                        let y0 = tile / tilesX * bandRows, x0 = tile % tilesX * bandColumns
                        let rows = min(bandRows, outHeight - y0), columns = min(bandColumns, outWidth - x0)
                        // Columns x in `inside` read input columns x0 − padding + x, one run of
                        // pixels; the others are padding (reflected or zero), a pixel at a time.
                        let span = columns + kw - 1, firstInside = max(0, padding - x0)
                        let inside = firstInside..<max(firstInside, min(span, width - x0 + padding))
                        for r in 0..<(rows + kh - 1) {
                            let sy = mode.source(y0 - padding + r, size: height)
                            if let sy, !inside.isEmpty {
                                let row = input + sy * width * cin
                                copyToPlanes(row + (x0 - padding + inside.lowerBound) * cin, pixels: inside.count, channels: cin,
                                             to: buffer + r * columnsIn + inside.lowerBound, planeStride: planeStride)
                            }
                            for x in 0..<span where sy == nil || !inside.contains(x) {
                                var to = buffer + r * columnsIn + x
                                if let sy, let sx = mode.source(x0 - padding + x, size: width) {
                                    let from = input + (sy * width + sx) * cin
                                    for c in 0..<cin { to.pointee = from[c]; to += planeStride }
                                } else {
                                    for _ in 0..<cin { to.pointee = 0; to += planeStride }
                                }
                            }
                        }
                        // 64 pixels a step with 512-bit vectors, 32 with 256-bit ones (Tiling).
                        let step = Tiling.wideVectors ? 64 : 32
                        for r in 0..<rows {
                            var x = 0
                            while x < columns {
                                let from = buffer + r * columnsIn + x, to = output + ((y0 + r) * outWidth + x0 + x) * n
                                let count = min(step, columns - x), wp = UnsafePointer(w.base), bp = UnsafePointer(b.base)
                                if Tiling.wideVectors {
                                    narrow4Vx3(SIMD16<Float>.self, from, planeStride: planeStride, rowStride: columnsIn, cin: cin, kh: kh, kw: kw,
                                               w: wp, bias: bp, out: to, channels: n, count: count, tanh: tanh)
                                } else {
                                    narrow4Vx3(SIMD8<Float>.self, from, planeStride: planeStride, rowStride: columnsIn, cin: cin, kh: kh, kw: kw,
                                               w: wp, bias: bp, out: to, channels: n, count: count, tanh: tanh)
                                }
                                x += step
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Copies `pixels` consecutive NHWC pixels of `channels` floats into planes: channel c of pixel x
/// goes to `to[c · planeStride + x]`.
///
/// One float at a time this was a third of the output layer's time (a load, a store to one of 64
/// planes and the index arithmetic per float); blocks of 8 pixels × 8 channels are transposed in
/// registers instead and stored as 8 runs of 8 floats. The transpose is three rounds of the
/// same shuffle: read the block as 64 floats in a row, index p · 8 + c, and split it into its
/// even and its odd elements, which rotates the index's 6 bits right by one; after three
/// rotations the float at p · 8 + c sits at c · 8 + p. Pixels and channels past the last whole
/// block go one at a time.
///
/// Scalar reference:
///
///     for x in 0..<pixels { for c in 0..<channels { to[c * planeStride + x] = from[x * channels + c] } }
@inline(__always)
func copyToPlanes(_ from: UnsafePointer<Float>, pixels: Int, channels: Int,
                  to: UnsafeMutablePointer<Float>, planeStride: Int) {
    typealias V = SIMD8<Float>
    @inline(__always) func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }
    @inline(__always) func splitEvenOdd(_ v: inout (V, V, V, V, V, V, V, V)) {
        let a = SIMD16(lowHalf: v.0, highHalf: v.1), b = SIMD16(lowHalf: v.2, highHalf: v.3)
        let c = SIMD16(lowHalf: v.4, highHalf: v.5), d = SIMD16(lowHalf: v.6, highHalf: v.7)
        v = (a.evenHalf, b.evenHalf, c.evenHalf, d.evenHalf, a.oddHalf, b.oddHalf, c.oddHalf, d.oddHalf)
    }
    let wholePixels = pixels & ~7, wholeChannels = channels & ~7
    var x = 0
    while x < wholePixels {
        let source = from + x * channels
        var c = 0
        while c < wholeChannels {
            let p = source + c
            var v = (load(p), load(p + channels), load(p + 2 * channels), load(p + 3 * channels),
                     load(p + 4 * channels), load(p + 5 * channels), load(p + 6 * channels), load(p + 7 * channels))
            splitEvenOdd(&v)
            splitEvenOdd(&v)
            splitEvenOdd(&v)
            let t = to + c * planeStride + x
            store(v.0, t); store(v.1, t + planeStride); store(v.2, t + 2 * planeStride); store(v.3, t + 3 * planeStride)
            store(v.4, t + 4 * planeStride); store(v.5, t + 5 * planeStride)
            store(v.6, t + 6 * planeStride); store(v.7, t + 7 * planeStride)
            c += 8
        }
        for c in wholeChannels..<channels {
            for k in 0..<8 { to[c * planeStride + x + k] = source[k * channels + c] }
        }
        x += 8
    }
    for x in wholePixels..<pixels {
        for c in 0..<channels { to[c * planeStride + x] = from[x * channels + c] }
    }
}
