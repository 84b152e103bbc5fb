/// 3×3 stride-1 convolution by Winograd's minimal filtering F(2×2, 3×3) or F(4×4, 3×3) (Lavin &
/// Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): each 2×2 block of outputs
/// costs 16 multiplications per input/output channel pair instead of 36, each 4×4 block 36
/// instead of 144. F(4×4, 3×3) is below ("F(4×4, 3×3)"); this comment describes F(2×2, 3×3).
///
///     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d Bᵀᵀ) ] A     for a 4×4 input patch d and 3×3 filter g
///
///     G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
///     Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
///     Aᵀ = [1 1 1 0; 0 1 −1 −1]
///
/// The transforms only add, subtract and halve (exact in binary floating point), so the result
/// matches direct convolution to float rounding. The 16 element-wise products over all channels
/// are 16 GEMMs [tiles × Cin] · [Cin × Cout], run by the same micro-kernel as direct convolution.
/// Scratch is bounded: tiles are processed in blocks of `blockTiles` per thread.
///
/// The transformed filters U = G g Gᵀ are 16/9 the size of the layer's weights. They are made
/// each time the layer runs (`transformFilters`: it reads each weight once, so its cost does not
/// grow with the image) and freed after it: a model keeps only its 3×3 weights, packed so the
/// transform reads them in order, ~44 MB a model instead of ~77 (measured: README.md, "Memory:
/// weights").
///
/// Scalar reference: `Conv2D`'s, with kh = kw = 3, stride 1, padding 1.
///
/// The same type carries the phase-split forms of the stride-2 and transposed convolutions
/// (`form`; `PhaseSplitWinograd.swift`): 25 planes, the same packed filters, filter-transform
/// loop and GEMMs, their own transforms.
struct WinogradConv3x3: Sendable {
    let inChannels: Int
    let outChannels: Int
    /// Which convolution the layer computes: this one's stride-1 forms, or a phase-split one
    /// (`PhaseSplitWinograd.swift`), which shares the filters, their transform's loop and the GEMMs.
    enum Form: Sendable, Equatable {
        /// 3×3, stride 1, padding 1, by F(m×m, 3×3), m = `outputTile`.
        case stride1
        /// 3×3, stride 2, padding 1: 2×2 outputs from a 5×5 patch.
        case stride2
        /// `TransposedConv2D`'s: 4×4 outputs from a 3×3 patch.
        case transposed
    }
    let form: Form
    /// Outputs along each side of a tile: 2 for F(2×2, 3×3), 4 for F(4×4, 3×3) (2 and 4 for the
    /// stride-2 and transposed forms). A stride-1 tile reads a patch of `outputTile + 2` rows and
    /// columns and has `planes` = (outputTile + 2)² transformed values, each a GEMM over the
    /// channels; a phase-split tile has 25.
    let outputTile: Int
    var planes: Int { form == .stride1 ? (outputTile + 2) * (outputTile + 2) : 25 }
    /// Tiles a thread transforms and multiplies at a time: 192 outputs with either stride-1 tile
    /// (F(4×4, 3×3) has 36 planes instead of 16, so a block of scratch is about the same size).
    let blockTiles: Int
    /// The 3×3 filters g, packed per output-channel tile as [Cin][9 taps][width]: K index
    /// t = c · 9 + (3a + b) holds tap (a, b) of the filter from input channel c to output channel
    /// o: w[o][c][a][b] for a convolution (rows 1, run 9 · Cin).
    let filters: PackedWeights
    /// The tiles of one transformed matrix U[ξ] [Cin][width] per tile: `filters`' tiles with
    /// offsets a ninth as large (run Cin instead of 9 · Cin).
    let transformedTiles: [PackedWeights.Tile]
    /// Floats in one U[ξ]: Cin × the tiles' widths.
    let transformedFloats: Int
    let bias: [Float]
    /// The GEMMs add no bias (it is added once, after the output transform).
    let zeroBias: [Float]

    /// weights [Cout, Cin, 3, 3]; `outputTile` 2 or 4.
    init(weights: [Float], bias: [Float], outChannels: Int, inChannels: Int, outputTile: Int = 2) {
        precondition(outputTile == 2 || outputTile == 4, "F(2×2, 3×3) or F(4×4, 3×3)")
        self.init(form: .stride1, outputTile: outputTile, blockTiles: outputTile == 2 ? 48 : 12, bias: bias,
                  outChannels: outChannels, inChannels: inChannels) { o, c, k in weights[(o * inChannels + c) * 9 + k] }
    }

    /// `tap(o, c, k)`: tap k = 3a + b of the filter from input channel c to output channel o.
    init(form: Form, outputTile: Int, blockTiles: Int, bias: [Float], outChannels: Int, inChannels: Int,
         tap: (Int, Int, Int) -> Float) {
        self.form = form
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.outputTile = outputTile
        self.blockTiles = blockTiles
        self.bias = bias
        filters = PackedWeights(outChannels: outChannels, rows: 1, run: 9 * inChannels, bias: bias) { o, _, t in
            tap(o, t / 9, t % 9)
        }
        transformedTiles = filters.tiles.map { tile in
            var t = tile
            t.offset = tile.offset / 9
            return t
        }
        transformedFloats = filters.data.count / 9
        zeroBias = [Float](repeating: 0, count: filters.bias.count)
    }

    /// U[ξ] = (G g Gᵀ)[ξ] for every filter, into `u` (`planes` matrices of `transformedFloats`).
    /// For F(2×2, 3×3):
    ///
    ///     G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
    ///
    /// In float: each value is a sum of at most nine weights times ±¼, ±½ or 1, rounded at most
    /// four times (the goldens' largest difference with F(2×2, 3×3) alone: 5.6e-6, 5.2e-6 with a
    /// transform in Double rounded once, which took twice as long; the bound is 1e-4). G for
    /// F(4×4, 3×3): below. Eight lanes of output channels at a time; the threads split the
    /// (tile, input channel) pairs.
    func transformFilters(into u: UnsafeMutablePointer<Float>, threads: Int) {
        switch form {
        case .stride1 where outputTile == 4: forEachFilterVector(FilterTransform4.self, into: u, threads: threads)
        case .stride1: forEachFilterVector(FilterTransform2.self, into: u, threads: threads)
        case .stride2: forEachFilterVector(PhaseSplitFilters<StrideTwoPhases>.self, into: u, threads: threads)
        case .transposed: forEachFilterVector(PhaseSplitFilters<TransposedPhases>.self, into: u, threads: threads)
        }
    }

    /// Eight filters' transform for one tile size: from taps `src[k · width]` (k = 3a + b) to
    /// planes `dst[ξ · plane]`. A type, not a closure, so each loop is specialised and inlined
    /// (passed as closures they were not: a 32×32 inference, where the transforms show, took
    /// 26–32 ms instead of 21). `SendableMetatype`: the threads' closures call it through `T`.
    protocol FilterTransform: SendableMetatype {
        static func transform(_ src: UnsafePointer<Float>, width: Int, _ dst: UnsafeMutablePointer<Float>, plane: Int)
    }

    enum FilterTransform2: FilterTransform {
        @inline(__always)
        static func transform(_ src: UnsafePointer<Float>, width: Int, _ dst: UnsafeMutablePointer<Float>, plane: Int) {
            @inline(__always) func tap(_ k: Int) -> SIMD8<Float> {
                UnsafeRawPointer(src + k * width).loadUnaligned(as: SIMD8<Float>.self)
            }
            @inline(__always) func put(_ xi: Int, _ value: SIMD8<Float>) {
                UnsafeMutableRawPointer(dst + xi * plane).storeBytes(of: value, as: SIMD8<Float>.self)
            }
            // G g: the same combination down each of the three columns.
            @inline(__always) func g4(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>)
                -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
                let ac = a + c
                return (a, (ac + b) * 0.5, (ac - b) * 0.5, c)
            }
            let k0 = g4(tap(0), tap(3), tap(6)), k1 = g4(tap(1), tap(4), tap(7)), k2 = g4(tap(2), tap(5), tap(8))
            // (G g) Gᵀ: then along each of the four rows.
            let r0 = g4(k0.0, k1.0, k2.0), r1 = g4(k0.1, k1.1, k2.1)
            let r2 = g4(k0.2, k1.2, k2.2), r3 = g4(k0.3, k1.3, k2.3)
            put(0, r0.0); put(1, r0.1); put(2, r0.2); put(3, r0.3)
            put(4, r1.0); put(5, r1.1); put(6, r1.2); put(7, r1.3)
            put(8, r2.0); put(9, r2.1); put(10, r2.2); put(11, r2.3)
            put(12, r3.0); put(13, r3.1); put(14, r3.2); put(15, r3.3)
        }
    }

    /// Runs `T.transform` on every eight output channels of every (channel tile, input channel)
    /// pair, the threads splitting the pairs.
    @inline(__always)
    private func forEachFilterVector<T: FilterTransform>(_: T.Type, into u: UnsafeMutablePointer<Float>, threads: Int) {
        let cin = inChannels, plane = transformedFloats
        let pairs = filters.tiles.count * cin
        let ranges = partition(pairs, parts: balancedParts(threads), granule: 1)
        let destination = SharedPointer(u)
        filters.data.withUnsafeBufferPointer { g in
            let source = SharedPointer(UnsafeMutablePointer(mutating: g.baseAddress!))
            parallelFor(chunks: ranges.count, threads: threads) { chunk in
                for pair in ranges[chunk] {
                    let tile = filters.tiles[pair / cin], c = pair % cin, width = tile.width
                    let src = UnsafePointer(source.base) + tile.offset + c * 9 * width
                    let dst = destination.base + tile.offset / 9 + c * width
                    var lane = 0
                    while lane < width {
                        T.transform(src + lane, width: width, dst + lane, plane: plane)
                        lane += 8
                    }
                }
            }
        }
    }

    /// Runs `body` with this layer's transformed filters, made for this call and freed after it.
    func withTransformedFilters<R>(threads: Int, _ body: (UnsafePointer<Float>) -> R) -> R {
        let u = HugePages.allocateFloats(planes * transformedFloats)
        defer { u.deallocate() }
        transformFilters(into: u, threads: threads)
        return body(u)
    }

    /// Patch row/column i of the reflect-padded image (0 = one before the first) is unpadded
    /// index i − 1, mirrored at the edges (−1 → 1, n → n − 2); reflecting a single row or column
    /// is the row itself. Past an odd edge it repeats n − 2: those outputs are cropped.
    @inline(__always)
    static func reflectIndex(_ i: Int, _ n: Int) -> Int {
        let r = i - 1
        if r < 0 { return n > 1 ? 1 : 0 }
        if r >= n { return max(n - 2, 0) }
        return r
    }

    /// Input [H, W, Cin] → output [H, W, Cout], written into `output`'s block (resized to that;
    /// its values are not read). Reflect padding is folded into the patch indexing (no padded
    /// copy of the input is made); zero padding takes a padded copy.
    func run(_ input: Tensor, mode: PaddingMode, into output: inout Tensor, threads: Int) {
        precondition(form == .stride1)
        output.reshapeInPlace(height: input.height, width: input.width, channels: outChannels)
        switch mode {
        case .reflect:
            run(source: input, height: input.height, width: input.width, into: &output, threads: threads,
                index: Self.reflectIndex)
        case .zero:
            let padded = input.padded(top: 1, left: 1, bottom: 1, right: 1, mode: .zero)
            run(source: padded, height: input.height, width: input.width, into: &output, threads: threads) { i, n in
                min(i, n - 1) // past an odd edge, repeat the last row (those outputs are cropped)
            }
        }
    }

    /// `index(i, n)` maps patch coordinate i (0 = one before the first output row/column) to a
    /// row/column of `source`, whose size along that axis is n.
    private func run(source: Tensor, height: Int, width: Int, into output: inout Tensor, threads: Int,
                     index: @escaping @Sendable (Int, Int) -> Int) {
        let cout = outChannels
        let m = outputTile
        let tilesWide = (width + m - 1) / m, tileCount = (height + m - 1) / m * tilesWide
        let ranges = partition(tileCount, parts: balancedParts(threads), granule: blockTiles)
        let sourceHeight = source.height, sourceRow = source.width * inChannels
        let scratch = ScratchBuffers(floats: scratchFloats)
        withTransformedFilters(threads: threads) { u in
            let filters = SharedPointer(UnsafeMutablePointer(mutating: u))
            source.storage.withUnsafeBufferPointer { src in
                output.storage.withUnsafeMutableBufferPointer { dst in
                    let input = SharedPointer(UnsafeMutablePointer(mutating: src.baseAddress!))
                    let out = SharedPointer(dst.baseAddress!)
                    parallelFor(chunks: ranges.count, threads: threads) { chunk in
                        scratch.withBuffer { buffer in
                            compute(tiles: ranges[chunk], tilesWide: tilesWide, height: height, width: width,
                                    sourceRow: { UnsafePointer(input.base) + index($0, sourceHeight) * sourceRow },
                                    column: { index($0, source.width) }, outputRow: { out.base + $0 * width * cout },
                                    filters: filters.base, scratch: buffer)
                        }
                    }
                }
            }
        }
    }

    /// The same convolution written over its own input (Cin = Cout, reflect padding), so the
    /// layer needs no second tensor of its size: at 1280×720 the decoder's last 64 → 64 layer
    /// would otherwise hold 2 × 236 MB at once.
    ///
    /// The tile rows are cut into bands, several a thread (`balancedParts`); each band goes top
    /// to bottom on one thread. A tile row's m output rows (m = `outputTile`) wait in a buffer
    /// while it is computed (its later tiles still read them); then all but the last are
    /// written, and the last only after the next tile row, which reads it (tile row t reads
    /// input rows mt − 1 … mt + m). The rows a band reads that another band writes (one or two
    /// at each boundary, and mirrored rows at the bottom edge) are copied before any thread
    /// starts.
    func runInPlace(_ x: inout Tensor, threads: Int) {
        precondition(form == .stride1)
        precondition(inChannels == outChannels && x.channels == inChannels, "in place needs Cin = Cout")
        let height = x.height, width = x.width, c = inChannels, rowFloats = width * c
        let m = outputTile, patch = m + 2
        let tilesHigh = (height + m - 1) / m, tilesWide = (width + m - 1) / m
        let bands = partition(tilesHigh, parts: balancedParts(threads), granule: 1)
        // Rows read across band boundaries: source row → slot in `saved`.
        var slots: [Int: Int] = [:]
        for band in bands {
            let written = (m * band.lowerBound)..<min(m * band.upperBound, height)
            // Rows read by tile rows inside the band lie inside it; only its first and last read out.
            for t in [band.lowerBound, band.upperBound - 1] {
                for i in 0..<patch {
                    let row = Self.reflectIndex(m * t + i, height)
                    if !written.contains(row) && slots[row] == nil { slots[row] = slots.count }
                }
            }
        }
        let slotOf = slots
        var saved = [Float](repeating: 0, count: max(1, slots.count * rowFloats))
        // Per band: the transforms' scratch, then m + 1 output rows waiting to be written (the
        // tile row being computed, and the previous one's last row, which it still reads).
        let buffers = ScratchBuffers(floats: scratchFloats + (m + 1) * rowFloats)
        withTransformedFilters(threads: threads) { u in
            let filters = SharedPointer(UnsafeMutablePointer(mutating: u))
            x.storage.withUnsafeMutableBufferPointer { data in
                saved.withUnsafeMutableBufferPointer { copies in
                    for (row, slot) in slots {
                        (copies.baseAddress! + slot * rowFloats).update(from: data.baseAddress! + row * rowFloats, count: rowFloats)
                    }
                    let base = SharedPointer(data.baseAddress!), kept = SharedPointer(copies.baseAddress!)
                    parallelFor(chunks: bands.count, threads: threads) { chunk in
                        buffers.withBuffer { scratch in
                            // Output row y waits in slot y mod (m + 1): m + 1 consecutive rows never share one.
                            let pending = scratch + scratchFloats
                            func slot(_ y: Int) -> UnsafeMutablePointer<Float> { pending + y % (m + 1) * rowFloats }
                            func write(_ y: Int) { (base.base + y * rowFloats).update(from: slot(y), count: rowFloats) }
                            var held: Int? = nil
                            // The tile row's input rows, looked up once (not once per tile).
                            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: patch) { rows in
                                for t in bands[chunk] {
                                    for i in 0..<patch {
                                        let row = Self.reflectIndex(m * t + i, height)
                                        rows[i] = if let slot = slotOf[row] { UnsafePointer(kept.base + slot * rowFloats) }
                                                  else { UnsafePointer(base.base + row * rowFloats) }
                                    }
                                    compute(tiles: (t * tilesWide)..<((t + 1) * tilesWide), tilesWide: tilesWide, height: height,
                                            width: width, sourceRow: { rows[$0 - m * t] }, column: { Self.reflectIndex($0, width) },
                                            outputRow: { slot($0) }, filters: filters.base, scratch: scratch)
                                    // The next tile row reads only this one's last row: the others
                                    // go now, and the previous tile row's last.
                                    if let held { write(held) }
                                    let last = min(m * t + m, height) - 1
                                    for y in (m * t)..<last { write(y) }
                                    held = last
                                }
                            }
                            if let held { write(held) }
                        }
                    }
                }
            }
        }
    }

    /// Floats of a chunk's scratch: V [planes][T][Cin], then M [planes][T][Cout]. Not zeroed: the
    /// input transform writes every V value the GEMMs read, and they write every M value read after.
    var scratchFloats: Int { planes * blockTiles * (inChannels + outChannels) }

    /// Tiles `tiles` (row-major over `tilesWide` per tile row) in blocks of `blockTiles`:
    /// `sourceRow(i)` is the input row under patch row i, `column(j)` the input column under
    /// patch column j, `outputRow(y)` where output row y goes, `filters` the transformed filters,
    /// `scratch` `scratchFloats` floats.
    @inline(__always)
    private func compute(tiles: Range<Int>, tilesWide: Int, height: Int, width: Int,
                         sourceRow: (Int) -> UnsafePointer<Float>, column: (Int) -> Int,
                         outputRow: (Int) -> UnsafeMutablePointer<Float>, filters: UnsafePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>) {
        let v = scratch, m = scratch + planes * blockTiles * inChannels
        var first = tiles.lowerBound
        while first < tiles.upperBound {
            let count = min(blockTiles, tiles.upperBound - first)
            if outputTile == 4 {
                // Six values a row: SIMD16 in zmm, SIMD8 in ymm (Tiling).
                if Tiling.wideVectors {
                    transformInput4(SIMD16<Float>.self, tilesWide: tilesWide, first: first, count: count, v: v,
                                    row: sourceRow, column: column)
                    multiply(v: v, m: m, u: filters, count: count)
                    transformOutput4(SIMD16<Float>.self, m: m, outputRow: outputRow, height: height,
                                     width: width, tilesWide: tilesWide, first: first, count: count)
                } else {
                    transformInput4(SIMD8<Float>.self, tilesWide: tilesWide, first: first, count: count, v: v,
                                    row: sourceRow, column: column)
                    multiply(v: v, m: m, u: filters, count: count)
                    transformOutput4(SIMD8<Float>.self, m: m, outputRow: outputRow, height: height,
                                     width: width, tilesWide: tilesWide, first: first, count: count)
                }
                first += count
                continue
            }
            // The transforms hold 16 vectors: SIMD16 fits 32 zmm, SIMD8 16 ymm (Tiling).
            if Tiling.wideVectors {
                transformInput(SIMD16<Float>.self, tilesWide: tilesWide, first: first, count: count, v: v,
                               row: sourceRow, column: column)
            } else {
                transformInput(SIMD8<Float>.self, tilesWide: tilesWide, first: first, count: count, v: v,
                               row: sourceRow, column: column)
            }
            multiply(v: v, m: m, u: filters, count: count)
            if Tiling.wideVectors {
                transformOutput(SIMD16<Float>.self, m: m, outputRow: outputRow, height: height,
                                width: width, tilesWide: tilesWide, first: first, count: count)
            } else {
                transformOutput(SIMD8<Float>.self, m: m, outputRow: outputRow, height: height,
                                width: width, tilesWide: tilesWide, first: first, count: count)
            }
            first += count
        }
    }

    /// V[ξ][t] = (Bᵀ d B)[ξ] for the 4×4 input patch of each tile, `Lanes.scalarCount` channels
    /// at a time.
    @inline(__always)
    private func transformInput<Lanes: SIMD>(_: Lanes.Type, tilesWide: Int, first: Int, count: Int, v: UnsafeMutablePointer<Float>,
                                             row: (Int) -> UnsafePointer<Float>, column: (Int) -> Int) where Lanes.Scalar == Float {
        let cin = inChannels, stride = blockTiles * cin, lanes = Lanes.scalarCount
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> Lanes { UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }
        @inline(__always) func store(_ x: Lanes, _ p: UnsafeMutablePointer<Float>) {
            UnsafeMutableRawPointer(p).storeBytes(of: x, as: Lanes.self)
        }
        for t in 0..<count {
            let tile = first + t
            let ty = tile / tilesWide, tx = tile - ty * tilesWide
            // The patch's rows and columns in the source.
            let r0 = row(2 * ty), r1 = row(2 * ty + 1), r2 = row(2 * ty + 2), r3 = row(2 * ty + 3)
            func col(_ j: Int) -> Int { column(2 * tx + j) * cin }
            let c0 = col(0), c1 = col(1), c2 = col(2), c3 = col(3)
            let dst = v + t * cin
            var ch = 0
            while ch + lanes <= cin {
                let out = Self.inputTransform(
                    (load(r0 + c0 + ch), load(r0 + c1 + ch), load(r0 + c2 + ch), load(r0 + c3 + ch)),
                    (load(r1 + c0 + ch), load(r1 + c1 + ch), load(r1 + c2 + ch), load(r1 + c3 + ch)),
                    (load(r2 + c0 + ch), load(r2 + c1 + ch), load(r2 + c2 + ch), load(r2 + c3 + ch)),
                    (load(r3 + c0 + ch), load(r3 + c1 + ch), load(r3 + c2 + ch), load(r3 + c3 + ch)))
                let p = dst + ch
                store(out.0.0, p); store(out.0.1, p + stride); store(out.0.2, p + 2 * stride); store(out.0.3, p + 3 * stride)
                store(out.1.0, p + 4 * stride); store(out.1.1, p + 5 * stride); store(out.1.2, p + 6 * stride); store(out.1.3, p + 7 * stride)
                store(out.2.0, p + 8 * stride); store(out.2.1, p + 9 * stride); store(out.2.2, p + 10 * stride); store(out.2.3, p + 11 * stride)
                store(out.3.0, p + 12 * stride); store(out.3.1, p + 13 * stride); store(out.3.2, p + 14 * stride); store(out.3.3, p + 15 * stride)
                ch += lanes
            }
            while ch < cin { // channel tail, one at a time
                func s(_ p: UnsafePointer<Float>, _ c: Int) -> SIMD2<Float> { SIMD2(repeating: p[c + ch]) }
                let out = Self.inputTransform((s(r0, c0), s(r0, c1), s(r0, c2), s(r0, c3)),
                                              (s(r1, c0), s(r1, c1), s(r1, c2), s(r1, c3)),
                                              (s(r2, c0), s(r2, c1), s(r2, c2), s(r2, c3)),
                                              (s(r3, c0), s(r3, c1), s(r3, c2), s(r3, c3)))
                let values = [out.0.0, out.0.1, out.0.2, out.0.3, out.1.0, out.1.1, out.1.2, out.1.3,
                              out.2.0, out.2.1, out.2.2, out.2.3, out.3.0, out.3.1, out.3.2, out.3.3]
                for xi in 0..<16 { dst[xi * stride + ch] = values[xi][0] }
                ch += 1
            }
        }
    }

    typealias Row4<V> = (V, V, V, V)

    /// Bᵀ applied to four values: (a − c, b + c, c − b, b − d).
    @inline(__always)
    static func bt<V: SIMD>(_ a: V, _ b: V, _ c: V, _ d: V) -> Row4<V> where V.Scalar == Float {
        (a - c, b + c, c - b, b - d)
    }

    /// Bᵀ d B for a 4×4 patch given as four rows.
    @inline(__always)
    static func inputTransform<V: SIMD>(_ d0: Row4<V>, _ d1: Row4<V>, _ d2: Row4<V>, _ d3: Row4<V>)
        -> (Row4<V>, Row4<V>, Row4<V>, Row4<V>) where V.Scalar == Float {
        // Bᵀ d: the same combination down each column.
        let k0 = bt(d0.0, d1.0, d2.0, d3.0), k1 = bt(d0.1, d1.1, d2.1, d3.1)
        let k2 = bt(d0.2, d1.2, d2.2, d3.2), k3 = bt(d0.3, d1.3, d2.3, d3.3)
        // (Bᵀ d) B: then along each row.
        return (bt(k0.0, k1.0, k2.0, k3.0), bt(k0.1, k1.1, k2.1, k3.1),
                bt(k0.2, k1.2, k2.2, k3.2), bt(k0.3, k1.3, k2.3, k3.3))
    }

    /// M[ξ] = V[ξ] · U[ξ] for the block's tiles.
    func multiply(v: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>, u: UnsafePointer<Float>,
                          count: Int) {
        let cin = inChannels, cout = outChannels, T = blockTiles
        let map = PixelMap(gridWidth: count, inRowStep: 0, inPixelStep: cin,
                           kernelRowStride: 0, outRowStride: 0, outChannels: cout)
        zeroBias.withUnsafeBufferPointer { bias in
            for xi in 0..<planes {
                for tile in transformedTiles {
                    runTile(a: UnsafePointer(v + xi * T * cin), c: m + xi * T * cout, map: map,
                            rows: 1, run: cin, tile: tile, packed: u + xi * transformedFloats,
                            bias: bias.baseAddress!, pixels: 0..<count, last: count - 1)
                }
            }
        }
    }

    /// Aᵀ applied to four values: (a + b + c, b − c − d).
    @inline(__always)
    static func at<V: SIMD>(_ a: V, _ b: V, _ c: V, _ d: V) -> (V, V) where V.Scalar == Float {
        (a + b + c, b - c - d)
    }

    /// Y = Aᵀ M A + bias for each tile, written to the output (cropped at odd edges).
    @inline(__always)
    private func transformOutput<Lanes: SIMD>(_: Lanes.Type, m: UnsafeMutablePointer<Float>, outputRow: (Int) -> UnsafeMutablePointer<Float>,
                                              height: Int, width: Int, tilesWide: Int, first: Int, count: Int) where Lanes.Scalar == Float {
        let cout = outChannels, stride = blockTiles * cout, vectorLanes = Lanes.scalarCount
        bias.withUnsafeBufferPointer { bias in
            for t in 0..<count {
                let tile = first + t
                let ty = tile / tilesWide, tx = tile - ty * tilesWide
                let y0 = 2 * ty, x0 = 2 * tx
                let src = m + t * cout
                let rows = min(2, height - y0), cols = min(2, width - x0)
                var ch = 0
                while ch < cout {
                    let lanes = min(vectorLanes, cout - ch)
                    func s(_ xi: Int) -> Lanes { loadLanes(src + xi * stride + ch, count: lanes) }
                    let b: Lanes = loadLanes(bias.baseAddress! + ch, count: lanes)
                    // Aᵀ M: down each of the four columns.
                    let k0 = Self.at(s(0), s(4), s(8), s(12)), k1 = Self.at(s(1), s(5), s(9), s(13))
                    let k2 = Self.at(s(2), s(6), s(10), s(14)), k3 = Self.at(s(3), s(7), s(11), s(15))
                    // (Aᵀ M) A: along the two rows.
                    let top = Self.at(k0.0, k1.0, k2.0, k3.0), bottom = Self.at(k0.1, k1.1, k2.1, k3.1)
                    let y = ((top.0 + b, top.1 + b), (bottom.0 + b, bottom.1 + b))
                    func put(_ a: Int, _ bx: Int, _ value: Lanes) {
                        guard a < rows, bx < cols else { return }
                        storeLanes(value, outputRow(y0 + a) + (x0 + bx) * cout + ch, count: lanes)
                    }
                    put(0, 0, y.0.0); put(0, 1, y.0.1); put(1, 0, y.1.0); put(1, 1, y.1.1)
                    ch += lanes
                }
            }
        }
    }
}


// MARK: - F(4×4, 3×3)

/// F(4×4, 3×3) from the interpolation points 0, 1, −1, ½, −2 and ∞ (Toom–Cook, as Lavin & Gray
/// build theirs from 0, ±1, ±2, ∞). Its transforms multiply by constants that are not powers of
/// two, so it rounds more than F(2×2, 3×3); with ±2 a 256 → 256 layer of the published weights
/// was 14× further from a Double reference than F(2×2, 3×3) in float, with these points 5×
/// (4.8e-6 against 9.7e-7 over a 16 × 16 map; Barabasz et al., "Error analysis and improving the
/// accuracy of Winograd convolution for deep neural networks", 2020, compare point sets).
///
///     Bᵀ = [1 −3/2   −2  3/2    1 0]      G = [    1     0     0]      Aᵀ = [1 1  1   1    1 0]
///          [0   −1  1/2  5/2    1 0]          [  1/3   1/3   1/3]           [0 1 −1 1/2   −2 0]
///          [0    1 −5/2  1/2    1 0]          [ −1/3   1/3  −1/3]           [0 1  1 1/4    4 0]
///          [0   −2   −1    2    1 0]          [−16/15 −8/15 −4/15]          [0 1 −1 1/8   −8 1]
///          [0  1/2   −1 −1/2    1 0]          [ 1/15 −2/15  4/15]
///          [0    1 −3/2   −2  3/2 1]          [    0     0     1]
///
/// Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A for a 6×6 patch d; plane ξ = 6i + k holds row i, column k.
extension WinogradConv3x3 {
    typealias Row6<V> = (V, V, V, V, V, V)

    /// Bᵀ applied to six values.
    @inline(__always)
    static func bt6<V: SIMD>(_ d: Row6<V>) -> Row6<V> where V.Scalar == Float {
        let (d0, d1, d2, d3, d4, d5) = d
        return (d0 + d4 + (d3 - d1) * 1.5 - d2 * 2,
                d4 - d1 + d2 * 0.5 + d3 * 2.5,
                d4 + d1 - d2 * 2.5 + d3 * 0.5,
                d4 - d2 + (d3 - d1) * 2,
                d4 - d2 + (d1 - d3) * 0.5,
                d5 + d1 + (d4 - d2) * 1.5 - d3 * 2)
    }

    /// Aᵀ applied to six values.
    @inline(__always)
    static func at6<V: SIMD>(_ m: Row6<V>) -> (V, V, V, V) where V.Scalar == Float {
        let (m0, m1, m2, m3, m4, m5) = m
        let s = m1 + m2, d = m1 - m2
        return (m0 + s + m3 + m4, d + m3 * 0.5 - m4 * 2, s + m3 * 0.25 + m4 * 4, d + m3 * 0.125 - m4 * 8 + m5)
    }

    /// G applied to three values.
    @inline(__always)
    static func g6<V: SIMD>(_ a: V, _ b: V, _ c: V) -> Row6<V> where V.Scalar == Float {
        let third: Float = 1.0 / 3, fifteenth: Float = 1.0 / 15
        return (a, (a + b + c) * third, (b - a - c) * third,
                (a * 16 + b * 8 + c * 4) * -fifteenth, (a - b * 2 + c * 4) * fifteenth, c)
    }

    /// U[ξ] = (G g Gᵀ)[ξ] of eight filters (`transformFilters`), plane ξ = 6i + k.
    enum FilterTransform4: FilterTransform {
        @inline(__always)
        static func transform(_ src: UnsafePointer<Float>, width: Int, _ dst: UnsafeMutablePointer<Float>, plane: Int) {
            @inline(__always) func tap(_ k: Int) -> SIMD8<Float> {
                UnsafeRawPointer(src + k * width).loadUnaligned(as: SIMD8<Float>.self)
            }
            // G g: down each of the three columns; then (G g) Gᵀ along each of the six rows.
            let k0 = WinogradConv3x3.g6(tap(0), tap(3), tap(6)), k1 = WinogradConv3x3.g6(tap(1), tap(4), tap(7))
            let k2 = WinogradConv3x3.g6(tap(2), tap(5), tap(8))
            @inline(__always) func row(_ i: Int, _ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) {
                @inline(__always) func put(_ k: Int, _ value: SIMD8<Float>) {
                    UnsafeMutableRawPointer(dst + (6 * i + k) * plane).storeBytes(of: value, as: SIMD8<Float>.self)
                }
                let r = WinogradConv3x3.g6(a, b, c)
                put(0, r.0); put(1, r.1); put(2, r.2); put(3, r.3); put(4, r.4); put(5, r.5)
            }
            row(0, k0.0, k1.0, k2.0); row(1, k0.1, k1.1, k2.1); row(2, k0.2, k1.2, k2.2)
            row(3, k0.3, k1.3, k2.3); row(4, k0.4, k1.4, k2.4); row(5, k0.5, k1.5, k2.5)
        }
    }

    /// V[ξ][t] = (Bᵀ d B)[ξ] for the 6×6 input patch of each tile, `Lanes.scalarCount` channels
    /// at a time (fewer for a channel tail): Bᵀ along each patch row into `e`, then down each
    /// column of `e` into V.
    @inline(__always)
    func transformInput4<Lanes: SIMD>(_: Lanes.Type, tilesWide: Int, first: Int, count: Int, v: UnsafeMutablePointer<Float>,
                                      row: (Int) -> UnsafePointer<Float>, column: (Int) -> Int) where Lanes.Scalar == Float {
        let cin = inChannels, stride = blockTiles * cin, lanes = Lanes.scalarCount
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 36) { e in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: 12) { offsets in
                for t in 0..<count {
                    let tile = first + t
                    let ty = tile / tilesWide, tx = tile - ty * tilesWide
                    // The patch's six rows, and its six columns' offsets in a row.
                    let rows = (row(4 * ty), row(4 * ty + 1), row(4 * ty + 2), row(4 * ty + 3), row(4 * ty + 4), row(4 * ty + 5))
                    for j in 0..<6 { offsets[j] = column(4 * tx + j) * cin }
                    let dst = v + t * cin
                    var ch = 0
                    while ch < cin {
                        let n = min(lanes, cin - ch)
                        @inline(__always) func load(_ p: UnsafePointer<Float>) -> Lanes { loadLanes(p, count: n) }
                        @inline(__always) func rowPass(_ i: Int, _ r: UnsafePointer<Float>) {
                            let p = r + ch
                            let y = Self.bt6((load(p + offsets[0]), load(p + offsets[1]), load(p + offsets[2]),
                                              load(p + offsets[3]), load(p + offsets[4]), load(p + offsets[5])))
                            e[6 * i] = y.0; e[6 * i + 1] = y.1; e[6 * i + 2] = y.2
                            e[6 * i + 3] = y.3; e[6 * i + 4] = y.4; e[6 * i + 5] = y.5
                        }
                        rowPass(0, rows.0); rowPass(1, rows.1); rowPass(2, rows.2)
                        rowPass(3, rows.3); rowPass(4, rows.4); rowPass(5, rows.5)
                        for k in 0..<6 {
                            let y = Self.bt6((e[k], e[6 + k], e[12 + k], e[18 + k], e[24 + k], e[30 + k]))
                            @inline(__always) func put(_ i: Int, _ value: Lanes) {
                                storeLanes(value, dst + (6 * i + k) * stride + ch, count: n)
                            }
                            put(0, y.0); put(1, y.1); put(2, y.2); put(3, y.3); put(4, y.4); put(5, y.5)
                        }
                        ch += n
                    }
                }
            }
        }
    }

    /// Y = Aᵀ M A + bias for each tile (Aᵀ along each of M's six rows into `f`, then down each
    /// column of `f`), written to the output, cropped at the bottom and right edges.
    @inline(__always)
    func transformOutput4<Lanes: SIMD>(_: Lanes.Type, m: UnsafeMutablePointer<Float>, outputRow: (Int) -> UnsafeMutablePointer<Float>,
                                       height: Int, width: Int, tilesWide: Int, first: Int, count: Int) where Lanes.Scalar == Float {
        let cout = outChannels, stride = blockTiles * cout, lanes = Lanes.scalarCount
        bias.withUnsafeBufferPointer { bias in
            withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 24) { f in
                for t in 0..<count {
                    let tile = first + t
                    let ty = tile / tilesWide, tx = tile - ty * tilesWide
                    let y0 = 4 * ty, x0 = 4 * tx
                    let rows = min(4, height - y0), cols = min(4, width - x0)
                    let src = m + t * cout
                    var ch = 0
                    while ch < cout {
                        let n = min(lanes, cout - ch)
                        @inline(__always) func load(_ p: UnsafePointer<Float>) -> Lanes { loadLanes(p, count: n) }
                        for i in 0..<6 {
                            @inline(__always) func s(_ k: Int) -> Lanes { load(src + (6 * i + k) * stride + ch) }
                            let y = Self.at6((s(0), s(1), s(2), s(3), s(4), s(5)))
                            f[4 * i] = y.0; f[4 * i + 1] = y.1; f[4 * i + 2] = y.2; f[4 * i + 3] = y.3
                        }
                        let b = load(bias.baseAddress! + ch)
                        for bx in 0..<cols {
                            let y = Self.at6((f[bx], f[4 + bx], f[8 + bx], f[12 + bx], f[16 + bx], f[20 + bx]))
                            let values = (y.0 + b, y.1 + b, y.2 + b, y.3 + b)
                            @inline(__always) func put(_ a: Int, _ value: Lanes) {
                                guard a < rows else { return }
                                storeLanes(value, outputRow(y0 + a) + (x0 + bx) * cout + ch, count: n)
                            }
                            put(0, values.0); put(1, values.1); put(2, values.2); put(3, values.3)
                        }
                        ch += n
                    }
                }
            }
        }
    }
}

/// The first `count` floats at `p` as a vector, the other lanes zero (a channel tail).
@inline(__always)
func loadLanes<Lanes: SIMD>(_ p: UnsafePointer<Float>, count: Int) -> Lanes where Lanes.Scalar == Float {
    if count == Lanes.scalarCount { return UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }
    var x = Lanes.zero
    for l in 0..<count { x[l] = p[l] }
    return x
}

/// The first `count` lanes of `v`, stored at `p` (a channel tail writes no further).
@inline(__always)
func storeLanes<Lanes: SIMD>(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, count: Int) where Lanes.Scalar == Float {
    if count == Lanes.scalarCount {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
    } else {
        for l in 0..<count { p[l] = v[l] }
    }
}
