/// Convolution weights for layers with at most 4 output channels (the generator's final 64 → 3
/// layer), laid out [4][rows][run] (missing channels zero) so the K loop runs along contiguous
/// memory in both operands. Wide channel tiles would waste 13 of 16 lanes on such a layer;
/// vectorising along K instead wastes at most one channel in four.
struct DotWeights: Sendable {
    static let maxChannels = 4
    let rows: Int
    let run: Int
    let outChannels: Int
    let data: [Float]   // [4][rows][run]
    let bias: [Float]   // [4]

    init(outChannels: Int, rows: Int, run: Int, bias biasValues: [Float], weight: (Int, Int, Int) -> Float) {
        precondition(outChannels <= Self.maxChannels)
        self.rows = rows
        self.run = run
        self.outChannels = outChannels
        var data = [Float](repeating: 0, count: Self.maxChannels * rows * run)
        for o in 0..<outChannels { for r in 0..<rows { for t in 0..<run { data[(o * rows + r) * run + t] = weight(o, r, t) } } }
        self.data = data
        self.bias = (0..<Self.maxChannels).map { $0 < outChannels ? biasValues[$0] : 0 }
    }
}

/// dot4x4: 4 output pixels × up to 4 output channels, each a dot product over K = rows · run.
///
/// Scalar reference:
///
///     for m in 0..<4 { for o in 0..<outChannels {
///         var s = bias[o]
///         for r in 0..<rows { for t in 0..<run { s += a[m][r * rowStride + t] * w[(o * rows + r) * run + t] } }
///         c[m][o] = s } }
@inline(__always)
func dot4x4(a0: UnsafePointer<Float>, a1: UnsafePointer<Float>, a2: UnsafePointer<Float>, a3: UnsafePointer<Float>,
            c0: UnsafeMutablePointer<Float>, c1: UnsafeMutablePointer<Float>,
            c2: UnsafeMutablePointer<Float>, c3: UnsafeMutablePointer<Float>,
            rowStride: Int, weights: DotWeights, w: UnsafePointer<Float>, bias: UnsafePointer<Float>) {
    let rows = weights.rows, run = weights.run, k = rows * run
    var s00 = SIMD16<Float>(), s01 = s00, s02 = s00, s03 = s00
    var s10 = s00, s11 = s00, s12 = s00, s13 = s00
    var s20 = s00, s21 = s00, s22 = s00, s23 = s00
    var s30 = s00, s31 = s00, s32 = s00, s33 = s00
    var tail = [Float](repeating: 0, count: 16) // per (pixel, channel) scalar remainders
    let vectorRun = run - run % 16
    for r in 0..<rows {
        let off = r * rowStride, wr = w + r * run
        let p0 = a0 + off, p1 = a1 + off, p2 = a2 + off, p3 = a3 + off
        var t = 0
        while t < vectorRun {
            let w0 = load16(wr + t), w1 = load16(wr + k + t), w2 = load16(wr + 2 * k + t), w3 = load16(wr + 3 * k + t)
            let x0 = load16(p0 + t), x1 = load16(p1 + t), x2 = load16(p2 + t), x3 = load16(p3 + t)
            s00 = s00.addingProduct(x0, w0); s01 = s01.addingProduct(x0, w1); s02 = s02.addingProduct(x0, w2); s03 = s03.addingProduct(x0, w3)
            s10 = s10.addingProduct(x1, w0); s11 = s11.addingProduct(x1, w1); s12 = s12.addingProduct(x1, w2); s13 = s13.addingProduct(x1, w3)
            s20 = s20.addingProduct(x2, w0); s21 = s21.addingProduct(x2, w1); s22 = s22.addingProduct(x2, w2); s23 = s23.addingProduct(x2, w3)
            s30 = s30.addingProduct(x3, w0); s31 = s31.addingProduct(x3, w1); s32 = s32.addingProduct(x3, w2); s33 = s33.addingProduct(x3, w3)
            t += 16
        }
        while t < run {
            let pixels = [p0[t], p1[t], p2[t], p3[t]]
            for m in 0..<4 { for o in 0..<4 { tail[m * 4 + o] += pixels[m] * wr[o * k + t] } }
            t += 1
        }
    }
    let n = weights.outChannels
    func put(_ c: UnsafeMutablePointer<Float>, _ m: Int, _ v0: SIMD16<Float>, _ v1: SIMD16<Float>, _ v2: SIMD16<Float>, _ v3: SIMD16<Float>) {
        let sums = [v0.sum(), v1.sum(), v2.sum(), v3.sum()]
        for o in 0..<n { c[o] = bias[o] + sums[o] + tail[m * 4 + o] }
    }
    put(c0, 0, s00, s01, s02, s03)
    put(c1, 1, s10, s11, s12, s13)
    put(c2, 2, s20, s21, s22, s23)
    put(c3, 3, s30, s31, s32, s33)
}

/// All pixels of `map` through `dot4x4`, split across threads.
func convolveNarrow(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                    map: PixelMap, weights: DotWeights, threads: Int) {
    let ranges = partition(map.count, parts: threads, granule: 4)
    let source = SharedPointer(UnsafeMutablePointer(mutating: input))
    let destination = SharedPointer(output)
    weights.data.withUnsafeBufferPointer { data in
        weights.bias.withUnsafeBufferPointer { bias in
            let w = SharedPointer(UnsafeMutablePointer(mutating: data.baseAddress!))
            let b = SharedPointer(UnsafeMutablePointer(mutating: bias.baseAddress!))
            parallelFor(chunks: ranges.count, threads: threads) { chunk in
                let a = UnsafePointer(source.base), c = destination.base
                let range = ranges[chunk], last = range.upperBound - 1
                var p = range.lowerBound
                while p < range.upperBound {
                    // As in the wide kernel: a short last group repeats the thread's final pixel.
                    let p1 = min(p + 1, last), p2 = min(p + 2, last), p3 = min(p + 3, last)
                    dot4x4(a0: a + map.input(p), a1: a + map.input(p1), a2: a + map.input(p2), a3: a + map.input(p3),
                           c0: c + map.output(p), c1: c + map.output(p1), c2: c + map.output(p2), c3: c + map.output(p3),
                           rowStride: map.kernelRowStride, weights: weights,
                           w: UnsafePointer(w.base), bias: UnsafePointer(b.base))
                    p += 4
                }
            }
        }
    }
}
