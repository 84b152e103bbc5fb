/// The generator's stride-2 convolutions and transposed convolutions as bilinear algorithms in
/// the shape of Winograd's: a patch of input → 25 transformed planes → 25 GEMMs over the
/// channels (`WinogradConv3x3.multiply`) → a tile of outputs. A direct 3×3 convolution needs 36
/// multiplications for the outputs of either tile below; these need 25 (−31%), and their
/// transforms only add and subtract.
///
/// Along one axis each layer splits into two phases (Winograd's minimal filtering for the
/// phase with two taps, the phase with one tap direct), and the 2-D algorithm is the product of
/// the two axes' (plane ξ = 5a + k: a from the rows' transform, k from the columns'):
///
/// - **Stride 2**, padding 1: outputs o0, o1 read the padded inputs x0 … x4 (the next tile
///   starts 4 further): o0 = w0·x0 + w1·x1 + w2·x2, o1 = w0·x2 + w1·x3 + w2·x4. The even taps
///   are F(2, 2) on x0, x2, x4; the odd tap multiplies x1 and x3.
///
///       v = (x0 − x2, x2, x4 − x2, x1, x3)   u = (w0, w0 + w2, w2, w1, w1)
///       o0 = m0 + m1 + m3,  o1 = m1 + m2 + m4   (m = u ⊙ v)
///
/// - **Transposed** (`TransposedConv2D`: kernel 3, stride 2, padding 1, output padding 1): the
///   outputs 4i … 4i + 3 read the inputs x0, x1, x2 = rows (or columns) 2i, 2i + 1, 2i + 2 (zero
///   past the end; the next tile starts 2 further): y0 = w1·x0, y1 = w2·x0 + w0·x1, y2 = w1·x1,
///   y3 = w2·x1 + w0·x2. The odd outputs are F(2, 2) with taps (w2, w0); the even ones direct.
///
///       v = (x0 − x1, x1, x2 − x1, x0, x1)   u = (w2, w0 + w2, w0, w1, w1)
///       y = (m3, m0 + m1, m4, m1 + m2)
///
/// Checked against direct references in numpy before this was written (exact on random patches
/// and whole layers of odd sizes; float32 against float64 over 256 channels 1.6e-7 and 3.3e-7,
/// F(4×4, 3×3) ~5e-6 there), and here by the kernel tests against `Reference`.
///
/// Both run over bands of padded input rows (`convolve`, `InPlaceConvolution`: a grid position
/// is a tile), so the stride-2 layers keep shrinking their block in place and the transposed ones
/// growing it, as the direct convolutions did.
protocol PhaseSplit: SendableMetatype {
    /// Inputs a tile reads along the axis, and how far the next tile's start is.
    static var patch: Int { get }
    static var step: Int { get }
    /// Outputs a tile gives along the axis.
    static var outputs: Int { get }
    /// v from the patch's inputs x(0) … x(patch − 1), each asked for once.
    static func input<V: LaneArithmetic>(_ x: (Int) -> V) -> Row5<V>
    /// u from the taps w0, w1, w2 (kernel index 0, 1, 2 along the axis).
    static func filter<V: LaneArithmetic>(_ w0: V, _ w1: V, _ w2: V) -> Row5<V>
    /// The outputs from m = u ⊙ v: the first `outputs` of the four.
    static func output<V: LaneArithmetic>(_ m: Row5<V>) -> (V, V, V, V)
}

typealias Row5<V> = (V, V, V, V, V)

/// What the transforms need of a value: adding and subtracting. Vectors of channels are; so are
/// whole rows of them (`Lanes5`, `Lanes4`), which lets one axis's transform combine the other
/// axis's transformed rows in registers, with no buffer between the two passes.
protocol LaneArithmetic {
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    static var zero: Self { get }
}

extension SIMD8: LaneArithmetic where Scalar == Float {}
extension SIMD16: LaneArithmetic where Scalar == Float {}

/// A transformed row of five values.
struct Lanes5<V: LaneArithmetic>: LaneArithmetic {
    var v: Row5<V>
    @inline(__always) init(_ v: Row5<V>) { self.v = v }
    @inline(__always) static func + (a: Self, b: Self) -> Self {
        Self((a.v.0 + b.v.0, a.v.1 + b.v.1, a.v.2 + b.v.2, a.v.3 + b.v.3, a.v.4 + b.v.4))
    }
    @inline(__always) static func - (a: Self, b: Self) -> Self {
        Self((a.v.0 - b.v.0, a.v.1 - b.v.1, a.v.2 - b.v.2, a.v.3 - b.v.3, a.v.4 - b.v.4))
    }
    static var zero: Self { Self((.zero, .zero, .zero, .zero, .zero)) }
}

/// A row of four outputs.
struct Lanes4<V: LaneArithmetic>: LaneArithmetic {
    var v: (V, V, V, V)
    @inline(__always) init(_ v: (V, V, V, V)) { self.v = v }
    @inline(__always) static func + (a: Self, b: Self) -> Self {
        Self((a.v.0 + b.v.0, a.v.1 + b.v.1, a.v.2 + b.v.2, a.v.3 + b.v.3))
    }
    @inline(__always) static func - (a: Self, b: Self) -> Self {
        Self((a.v.0 - b.v.0, a.v.1 - b.v.1, a.v.2 - b.v.2, a.v.3 - b.v.3))
    }
    static var zero: Self { Self((.zero, .zero, .zero, .zero)) }
}

enum StrideTwoPhases: PhaseSplit {
    static var patch: Int { 5 }
    static var step: Int { 4 }
    static var outputs: Int { 2 }

    @inline(__always)
    static func input<V: LaneArithmetic>(_ x: (Int) -> V) -> Row5<V> {
        let x2 = x(2), x0 = x(0), x4 = x(4)
        return (x0 - x2, x2, x4 - x2, x(1), x(3))
    }

    @inline(__always)
    static func filter<V: LaneArithmetic>(_ w0: V, _ w1: V, _ w2: V) -> Row5<V> {
        (w0, w0 + w2, w2, w1, w1)
    }

    @inline(__always)
    static func output<V: LaneArithmetic>(_ m: Row5<V>) -> (V, V, V, V) {
        (m.0 + m.1 + m.3, m.1 + m.2 + m.4, .zero, .zero)
    }
}

enum TransposedPhases: PhaseSplit {
    static var patch: Int { 3 }
    static var step: Int { 2 }
    static var outputs: Int { 4 }

    @inline(__always)
    static func input<V: LaneArithmetic>(_ x: (Int) -> V) -> Row5<V> {
        let x0 = x(0), x1 = x(1)
        return (x0 - x1, x1, x(2) - x1, x0, x1)
    }

    @inline(__always)
    static func filter<V: LaneArithmetic>(_ w0: V, _ w1: V, _ w2: V) -> Row5<V> {
        (w2, w0 + w2, w0, w1, w1)
    }

    @inline(__always)
    static func output<V: LaneArithmetic>(_ m: Row5<V>) -> (V, V, V, V) {
        (m.3, m.0 + m.1, m.4, m.1 + m.2)
    }
}

/// U[ξ] = (G g Gᵀ)[ξ] of eight filters (`WinogradConv3x3.transformFilters`), plane ξ = 5a + k.
enum PhaseSplitFilters<Phases: PhaseSplit>: WinogradConv3x3.FilterTransform {
    @inline(__always)
    static func transform(_ src: UnsafePointer<Float>, width: Int, _ dst: UnsafeMutablePointer<Float>, plane: Int) {
        @inline(__always) func tap(_ k: Int) -> SIMD8<Float> {
            UnsafeRawPointer(src + k * width).loadUnaligned(as: SIMD8<Float>.self)
        }
        // G g: down each of the three kernel columns; then (G g) Gᵀ along each of the five rows.
        let k0 = Phases.filter(tap(0), tap(3), tap(6)), k1 = Phases.filter(tap(1), tap(4), tap(7))
        let k2 = Phases.filter(tap(2), tap(5), tap(8))
        @inline(__always) func row(_ a: Int, _ w0: SIMD8<Float>, _ w1: SIMD8<Float>, _ w2: SIMD8<Float>) {
            @inline(__always) func put(_ k: Int, _ value: SIMD8<Float>) {
                UnsafeMutableRawPointer(dst + (5 * a + k) * plane).storeBytes(of: value, as: SIMD8<Float>.self)
            }
            let r = Phases.filter(w0, w1, w2)
            put(0, r.0); put(1, r.1); put(2, r.2); put(3, r.3); put(4, r.4)
        }
        row(0, k0.0, k1.0, k2.0); row(1, k0.1, k1.1, k2.1); row(2, k0.2, k1.2, k2.2)
        row(3, k0.3, k1.3, k2.3); row(4, k0.4, k1.4, k2.4)
    }
}

/// A phase-split layer over bands of padded input rows: grid position (gy, gx) is the tile whose
/// patch starts at padded row gy · step and column gx · step. Where the last tile row or column
/// overhangs the padded input, its patch repeats the last padded row or column: only outputs
/// that are cropped read those (a stride-2 o1 reads x3, x4; a transposed y2, y3 past the end
/// read x2).
struct PhaseSplitKernel<Phases: PhaseSplit>: BandKernel {
    let layer: WinogradConv3x3
    /// The transformed filters (`WinogradConv3x3.withTransformedFilters`).
    let filters: SharedPointer<Float>
    let tilesWide: Int
    let paddedWidth: Int
    let outHeight: Int, outWidth: Int

    var gridWidth: Int { tilesWide }
    var granule: Int { layer.blockTiles }
    var scratchFloats: Int { layer.scratchFloats }

    func writes(_ rows: Range<Int>) -> Range<Int> {
        let rowFloats = outWidth * layer.outChannels
        return (rows.lowerBound * Phases.outputs * rowFloats)..<(min(rows.upperBound * Phases.outputs, outHeight) * rowFloats)
    }

    func compute(band: UnsafePointer<Float>, bandRows: Int, firstGridRow: Int, positions: Range<Int>, last: Int,
                 output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let v = scratch, m = scratch + layer.planes * layer.blockTiles * layer.inChannels
        var first = positions.lowerBound
        while first < positions.upperBound {
            let count = min(layer.blockTiles, positions.upperBound - first)
            // Five values a row: SIMD16 in zmm, SIMD8 in ymm (Tiling).
            if Tiling.wideVectors {
                transformInput(SIMD16<Float>.self, band: band, bandRows: bandRows, first: first, count: count, v: v)
                layer.multiply(v: v, m: m, u: filters.base, count: count)
                transformOutput(SIMD16<Float>.self, m: m, firstGridRow: firstGridRow, first: first, count: count, output: output)
            } else {
                transformInput(SIMD8<Float>.self, band: band, bandRows: bandRows, first: first, count: count, v: v)
                layer.multiply(v: v, m: m, u: filters.base, count: count)
                transformOutput(SIMD8<Float>.self, m: m, firstGridRow: firstGridRow, first: first, count: count, output: output)
            }
            first += count
        }
    }

    /// V[ξ][t] = (Bᵀ d B)[ξ] for each tile's patch d, `Lanes.scalarCount` channels at a time
    /// (fewer for a channel tail): each patch row transformed along the row as it is asked for,
    /// the rows combined down the columns (`Lanes5`).
    @inline(__always)
    private func transformInput<Lanes: SIMD & LaneArithmetic>(_: Lanes.Type, band: UnsafePointer<Float>, bandRows: Int,
                                                              first: Int, count: Int, v: UnsafeMutablePointer<Float>)
        where Lanes.Scalar == Float {
        let cin = layer.inChannels, stride = layer.blockTiles * cin, lanes = Lanes.scalarCount
        let rowFloats = paddedWidth * cin, patch = Phases.patch, step = Phases.step
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * patch) { offsets in
            for t in 0..<count {
                let tile = first + t
                let gy = tile / tilesWide, gx = tile - gy * tilesWide
                // The patch's rows in the band and its columns in a row (see the type's comment).
                for i in 0..<patch {
                    offsets[i] = min(gy * step + i, bandRows - 1) * rowFloats
                    offsets[patch + i] = min(gx * step + i, paddedWidth - 1) * cin
                }
                let dst = v + t * cin
                var ch = 0
                while ch < cin {
                    let n = min(lanes, cin - ch)
                    let y = Phases.input { i -> Lanes5<Lanes> in
                        let row = band + offsets[i] + ch
                        return Lanes5(Phases.input { j -> Lanes in loadLanes(row + offsets[patch + j], count: n) })
                    }
                    @inline(__always) func put(_ a: Int, _ r: Lanes5<Lanes>) {
                        let p = dst + 5 * a * stride + ch
                        storeLanes(r.v.0, p, count: n); storeLanes(r.v.1, p + stride, count: n)
                        storeLanes(r.v.2, p + 2 * stride, count: n); storeLanes(r.v.3, p + 3 * stride, count: n)
                        storeLanes(r.v.4, p + 4 * stride, count: n)
                    }
                    put(0, y.0); put(1, y.1); put(2, y.2); put(3, y.3); put(4, y.4)
                    ch += n
                }
            }
        }
    }

    /// Y = Aᵀ M A + bias for each tile (each of M's five rows along the row, the results
    /// combined down the columns: `Lanes4`), written to the output, cropped at the bottom and
    /// right edges.
    @inline(__always)
    private func transformOutput<Lanes: SIMD & LaneArithmetic>(_: Lanes.Type, m: UnsafeMutablePointer<Float>, firstGridRow: Int,
                                                               first: Int, count: Int, output: UnsafeMutablePointer<Float>)
        where Lanes.Scalar == Float {
        let cout = layer.outChannels, stride = layer.blockTiles * cout, lanes = Lanes.scalarCount
        let outputs = Phases.outputs, outRowFloats = outWidth * cout
        layer.bias.withUnsafeBufferPointer { bias in
            for t in 0..<count {
                let tile = first + t
                let gy = tile / tilesWide, gx = tile - gy * tilesWide
                let y0 = (firstGridRow + gy) * outputs, x0 = gx * outputs
                let rows = min(outputs, outHeight - y0), cols = min(outputs, outWidth - x0)
                let src = m + t * cout
                let corner = output + y0 * outRowFloats + x0 * cout
                var ch = 0
                while ch < cout {
                    let n = min(lanes, cout - ch)
                    @inline(__always) func row(_ a: Int) -> Lanes4<Lanes> {
                        let p = src + 5 * a * stride + ch
                        return Lanes4(Phases.output((loadLanes(p, count: n), loadLanes(p + stride, count: n),
                                                     loadLanes(p + 2 * stride, count: n), loadLanes(p + 3 * stride, count: n),
                                                     loadLanes(p + 4 * stride, count: n))))
                    }
                    let y = Phases.output((row(0), row(1), row(2), row(3), row(4)))
                    let b: Lanes = loadLanes(bias.baseAddress! + ch, count: n)
                    @inline(__always) func put(_ a: Int, _ r: Lanes4<Lanes>) {
                        guard a < rows else { return }
                        let p = corner + a * outRowFloats + ch
                        storeLanes(r.v.0 + b, p, count: n)
                        if cols > 1 { storeLanes(r.v.1 + b, p + cout, count: n) }
                        if outputs == 4 {
                            if cols > 2 { storeLanes(r.v.2 + b, p + 2 * cout, count: n) }
                            if cols > 3 { storeLanes(r.v.3 + b, p + 3 * cout, count: n) }
                        }
                    }
                    put(0, y.0); put(1, y.1)
                    if outputs == 4 { put(2, y.2); put(3, y.3) }
                    ch += n
                }
            }
        }
    }
}

extension WinogradConv3x3 {
    // Both forms take blocks of 18 tiles (three of the GEMM's 6-row micro-tiles): 12, 18 and 30
    // were within noise of each other in the generator, 48 slower (Kernels README).

    /// The stride-2 form of a `Conv2D` (weights [Cout, Cin, 3, 3]).
    init(stride2Weights weights: [Float], bias: [Float], outChannels: Int, inChannels: Int) {
        self.init(form: .stride2, outputTile: 2, blockTiles: 18, bias: bias, outChannels: outChannels,
                  inChannels: inChannels) { o, c, k in weights[(o * inChannels + c) * 9 + k] }
    }

    /// The form of a `TransposedConv2D` (weights [Cin, Cout, 3, 3], PyTorch's layout).
    init(transposedWeights weights: [Float], bias: [Float], inChannels: Int, outChannels: Int) {
        self.init(form: .transposed, outputTile: 4, blockTiles: 18, bias: bias, outChannels: outChannels,
                  inChannels: inChannels) { o, c, k in weights[(c * outChannels + o) * 9 + k] }
    }

    /// The phase-split forms' output size for an input size.
    func phaseSplitOutputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        form == .stride2 ? ((height + 1) / 2, (width + 1) / 2) : (2 * height, 2 * width)
    }

    /// The padding the bands are copied with: the convolution's own (`mode`) for stride 2; a zero
    /// row and column past the end for the transposed form (its x2 past the last input).
    private func bandPadding(_ mode: PaddingMode) -> Padding {
        form == .stride2 ? Padding(top: 1, left: 1, bottom: 1, right: 1, mode: mode) : Padding(bottom: 1, right: 1, mode: .zero)
    }

    /// The phase-split layer out of place: input [H, W, Cin] → a new output tensor.
    func runPhaseSplit(_ input: Tensor, mode: PaddingMode, threads: Int) -> Tensor {
        switch form {
        case .stride2: runPhaseSplit(StrideTwoPhases.self, input, mode: mode, threads: threads)
        case .transposed: runPhaseSplit(TransposedPhases.self, input, mode: mode, threads: threads)
        case .stride1: preconditionFailure("a stride-1 layer runs by run(_:mode:into:threads:)")
        }
    }

    /// The phase-split layer written over `x`'s own block (`InPlaceConvolution`): grown first and
    /// walked bottom to top when the output is larger, walked top to bottom and then shrunk when
    /// not. False, with `x` untouched, where a step would overwrite rows a later one reads.
    func applyPhaseSplitInPlace(_ x: inout Tensor, mode: PaddingMode, threads: Int, stepFloats: Int) -> Bool {
        switch form {
        case .stride2: applyInPlace(StrideTwoPhases.self, &x, mode: mode, threads: threads, stepFloats: stepFloats)
        case .transposed: applyInPlace(TransposedPhases.self, &x, mode: mode, threads: threads, stepFloats: stepFloats)
        case .stride1: preconditionFailure("a stride-1 layer runs by runInPlace(_:threads:)")
        }
    }

    private func kernel<Phases: PhaseSplit>(_: Phases.Type, width: Int, outHeight: Int, outWidth: Int, padding: Padding,
                                            filters: UnsafePointer<Float>) -> PhaseSplitKernel<Phases> {
        PhaseSplitKernel(layer: self, filters: SharedPointer(UnsafeMutablePointer(mutating: filters)),
                         tilesWide: (outWidth + Phases.outputs - 1) / Phases.outputs,
                         paddedWidth: padding.left + width + padding.right, outHeight: outHeight, outWidth: outWidth)
    }

    private func runPhaseSplit<Phases: PhaseSplit>(_: Phases.Type, _ input: Tensor, mode: PaddingMode, threads: Int) -> Tensor {
        precondition(input.channels == inChannels, "expected \(inChannels) channels, got \(input.channels)")
        let (outH, outW) = phaseSplitOutputSize(height: input.height, width: input.width)
        let padding = bandPadding(mode)
        var output = Tensor(uninitializedHeight: outH, width: outW, channels: outChannels)
        withTransformedFilters(threads: threads) { u in
            let kernel = kernel(Phases.self, width: input.width, outHeight: outH, outWidth: outW, padding: padding, filters: u)
            input.storage.withUnsafeBufferPointer { src in
                output.storage.withUnsafeMutableBufferPointer { dst in
                    convolve(input: src.baseAddress!, height: input.height, width: input.width, channels: inChannels,
                             padding: padding, gridHeight: (outH + Phases.outputs - 1) / Phases.outputs,
                             rowStep: Phases.step, kernelRows: Phases.patch, output: dst.baseAddress!, kernel: kernel,
                             threads: threads)
                }
            }
        }
        return output
    }

    private func applyInPlace<Phases: PhaseSplit>(_: Phases.Type, _ x: inout Tensor, mode: PaddingMode, threads: Int,
                                                  stepFloats: Int) -> Bool {
        precondition(x.channels == inChannels, "expected \(inChannels) channels, got \(x.channels)")
        let (height, width) = (x.height, x.width)
        let (outH, outW) = phaseSplitOutputSize(height: height, width: width)
        let grows = outH * outW * outChannels > x.count
        let padding = bandPadding(mode)
        return withTransformedFilters(threads: threads) { u in
            guard let layer = InPlaceConvolution(
                height: height, width: width, channels: inChannels, padding: padding,
                gridHeight: (outH + Phases.outputs - 1) / Phases.outputs, rowStep: Phases.step, kernelRows: Phases.patch,
                kernel: kernel(Phases.self, width: width, outHeight: outH, outWidth: outW, padding: padding, filters: u),
                order: grows ? .bottomUp : .topDown, threads: threads, stepFloats: stepFloats)
            else { return false }
            // Growing, the input stays at the block's start (mremap for a large block: no copy).
            if grows { x.reshapeInPlace(height: outH, width: outW, channels: outChannels) }
            x.storage.withUnsafeMutableBufferPointer { layer.run($0.baseAddress!, threads: threads) }
            if !grows { x.reshapeInPlace(height: outH, width: outW, channels: outChannels) }
            return true
        }
    }
}
