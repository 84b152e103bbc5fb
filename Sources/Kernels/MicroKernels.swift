// Register-blocked GEMM micro-kernels: MR = 6 output pixels × NR = 32 (or 16) output channels,
// accumulators in registers for the whole K loop, bias folded into their initial value.
//
// The A operand is *indirect*: each of the 6 pixels has its own pointer, and its K values are
// `rows` runs of `run` contiguous floats, `rowStride` apart. For a convolution over an NHWC
// input, a run is one kernel row (kw · Cin floats) of the pixel's receptive field, so the
// kernel reads the feature map in place — no im2col.
//
// B is packed [rows · run][NR]: for each k, NR consecutive output channels.

/// The six input pointers (start of each pixel's receptive field) of one micro-tile.
@usableFromInline
struct PixelTile {
    @usableFromInline var a0, a1, a2, a3, a4, a5: UnsafePointer<Float>
    @usableFromInline var c0, c1, c2, c3, c4, c5: UnsafeMutablePointer<Float>

    @inlinable
    init(a0: UnsafePointer<Float>, a1: UnsafePointer<Float>, a2: UnsafePointer<Float>,
         a3: UnsafePointer<Float>, a4: UnsafePointer<Float>, a5: UnsafePointer<Float>,
         c0: UnsafeMutablePointer<Float>, c1: UnsafeMutablePointer<Float>, c2: UnsafeMutablePointer<Float>,
         c3: UnsafeMutablePointer<Float>, c4: UnsafeMutablePointer<Float>, c5: UnsafeMutablePointer<Float>) {
        (self.a0, self.a1, self.a2, self.a3, self.a4, self.a5) = (a0, a1, a2, a3, a4, a5)
        (self.c0, self.c1, self.c2, self.c3, self.c4, self.c5) = (c0, c1, c2, c3, c4, c5)
    }
}

@inline(__always) @usableFromInline
func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always) @usableFromInline
func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// Writes the first `count` lanes of a 32-channel result (count < 32 only for a layer's last
/// channel tile, outside the K loop).
@inline(__always) @usableFromInline
func storePartial(_ lo: SIMD16<Float>, _ hi: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, count: Int) {
    if count == 32 {
        store16(lo, p)
        store16(hi, p + 16)
        return
    }
    for i in 0..<min(count, 16) { p[i] = lo[i] }
    if count > 16 { for i in 16..<count { p[i] = hi[i - 16] } }
}

@inline(__always) @usableFromInline
func storePartial16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, count: Int) {
    if count == 16 { store16(v, p); return }
    for i in 0..<count { p[i] = v[i] }
}

/// gemm6x32: C[m][n] = bias[n] + Σ_k A_m[k] · B[k][n] for m < 6, n < 32 (first `valid` n stored).
///
/// Scalar reference:
///
///     for m in 0..<6 { for n in 0..<valid {
///         var s = bias[n]
///         for r in 0..<rows { for t in 0..<run {
///             s += a[m][r * rowStride + t] * b[(r * run + t) * 32 + n] } }
///         c[m][n] = s } }
@inlinable
func gemm6x32(_ t: PixelTile, rowStride: Int, rows: Int, run: Int,
              b: UnsafePointer<Float>, bias: UnsafePointer<Float>, valid: Int) {
    let bias0 = load16(bias), bias1 = load16(bias + 16)
    var c00 = bias0, c01 = bias1, c10 = bias0, c11 = bias1, c20 = bias0, c21 = bias1
    var c30 = bias0, c31 = bias1, c40 = bias0, c41 = bias1, c50 = bias0, c51 = bias1
    var bp = b
    for r in 0..<rows {
        let offset = r * rowStride
        let a0 = t.a0 + offset, a1 = t.a1 + offset, a2 = t.a2 + offset
        let a3 = t.a3 + offset, a4 = t.a4 + offset, a5 = t.a5 + offset
        for k in 0..<run {
            let b0 = load16(bp), b1 = load16(bp + 16)
            bp += 32
            let x0 = SIMD16<Float>(repeating: a0[k])
            c00 = c00.addingProduct(x0, b0); c01 = c01.addingProduct(x0, b1)
            let x1 = SIMD16<Float>(repeating: a1[k])
            c10 = c10.addingProduct(x1, b0); c11 = c11.addingProduct(x1, b1)
            let x2 = SIMD16<Float>(repeating: a2[k])
            c20 = c20.addingProduct(x2, b0); c21 = c21.addingProduct(x2, b1)
            let x3 = SIMD16<Float>(repeating: a3[k])
            c30 = c30.addingProduct(x3, b0); c31 = c31.addingProduct(x3, b1)
            let x4 = SIMD16<Float>(repeating: a4[k])
            c40 = c40.addingProduct(x4, b0); c41 = c41.addingProduct(x4, b1)
            let x5 = SIMD16<Float>(repeating: a5[k])
            c50 = c50.addingProduct(x5, b0); c51 = c51.addingProduct(x5, b1)
        }
    }
    storePartial(c00, c01, t.c0, count: valid)
    storePartial(c10, c11, t.c1, count: valid)
    storePartial(c20, c21, t.c2, count: valid)
    storePartial(c30, c31, t.c3, count: valid)
    storePartial(c40, c41, t.c4, count: valid)
    storePartial(c50, c51, t.c5, count: valid)
}

/// gemm6x16: as gemm6x32 with 16 output channels, for narrow layers and channel tails
/// (e.g. the generator's final 64 → 3 convolution), halving the wasted lanes.
///
/// Scalar reference: gemm6x32's, with 32 replaced by 16.
@inlinable
func gemm6x16(_ t: PixelTile, rowStride: Int, rows: Int, run: Int,
              b: UnsafePointer<Float>, bias: UnsafePointer<Float>, valid: Int) {
    let bias0 = load16(bias)
    var c0 = bias0, c1 = bias0, c2 = bias0, c3 = bias0, c4 = bias0, c5 = bias0
    var bp = b
    for r in 0..<rows {
        let offset = r * rowStride
        let a0 = t.a0 + offset, a1 = t.a1 + offset, a2 = t.a2 + offset
        let a3 = t.a3 + offset, a4 = t.a4 + offset, a5 = t.a5 + offset
        for k in 0..<run {
            let b0 = load16(bp)
            bp += 16
            c0 = c0.addingProduct(SIMD16(repeating: a0[k]), b0)
            c1 = c1.addingProduct(SIMD16(repeating: a1[k]), b0)
            c2 = c2.addingProduct(SIMD16(repeating: a2[k]), b0)
            c3 = c3.addingProduct(SIMD16(repeating: a3[k]), b0)
            c4 = c4.addingProduct(SIMD16(repeating: a4[k]), b0)
            c5 = c5.addingProduct(SIMD16(repeating: a5[k]), b0)
        }
    }
    let v = min(valid, 16)
    storePartial16(c0, t.c0, count: v)
    storePartial16(c1, t.c1, count: v)
    storePartial16(c2, t.c2, count: v)
    storePartial16(c3, t.c3, count: v)
    storePartial16(c4, t.c4, count: v)
    storePartial16(c5, t.c5, count: v)
}
