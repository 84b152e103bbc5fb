/// Convolution weights packed once, at load, into the micro-kernels' B layout:
/// for each tile of output channels, `[rows][run][width]` with `run = kw · Cin`, K ordered
/// (kernel row, kernel column, input channel) to match an NHWC receptive-field row.
/// Tiles are `Tiling.channelTile` channels wide (32 with AVX-512, 16 with AVX2); a tail of at
/// most 16 channels gets a 16-wide tile.
struct PackedWeights: Sendable {
    struct Tile: Sendable {
        var offset: Int      // into `data`
        var biasOffset: Int  // into `bias`
        var width: Int       // 32 or 16
        var first: Int       // first output channel
        var valid: Int       // real channels in this tile
    }

    let rows: Int
    let run: Int
    let outChannels: Int
    let tiles: [Tile]
    let data: [Float]
    let bias: [Float]

    /// `weight(o, r, t)` is the weight of output channel `o` at K index (row `r`, run index `t`).
    init(outChannels: Int, rows: Int, run: Int, bias biasValues: [Float], weight: (Int, Int, Int) -> Float) {
        precondition(biasValues.count == outChannels)
        self.rows = rows
        self.run = run
        self.outChannels = outChannels
        var tiles: [Tile] = []
        var first = 0, offset = 0, biasOffset = 0
        while first < outChannels {
            let remaining = outChannels - first
            let width = remaining <= 16 ? 16 : Tiling.channelTile
            let valid = min(width, remaining)
            tiles.append(Tile(offset: offset, biasOffset: biasOffset, width: width, first: first, valid: valid))
            offset += rows * run * width
            biasOffset += width
            first += valid
        }
        var data = [Float](repeating: 0, count: offset)
        var bias = [Float](repeating: 0, count: biasOffset)
        for tile in tiles {
            for n in 0..<tile.valid {
                bias[tile.biasOffset + n] = biasValues[tile.first + n]
                for r in 0..<rows {
                    for t in 0..<run {
                        data[tile.offset + (r * run + t) * tile.width + n] = weight(tile.first + n, r, t)
                    }
                }
            }
        }
        self.tiles = tiles
        self.data = data
        self.bias = bias
    }
}

/// Where each output pixel's receptive field starts in the input and where its result goes.
/// Output pixel `p` is grid position (p / gridWidth, p % gridWidth), counted from wherever the
/// caller's input and output pointers start (a band's first grid row, for `convolve`).
struct PixelMap: Sendable {
    var gridWidth: Int
    /// Input offset = gy · inRowStep + gx · inPixelStep.
    var inRowStep: Int
    var inPixelStep: Int
    /// Distance between kernel rows in the input (a padded row, in floats).
    var kernelRowStride: Int
    /// Output offset = (gy · outYStep + outY0) · outRowStride + (gx · outXStep + outX0) · outChannels.
    var outYStep = 1, outY0 = 0, outXStep = 1, outX0 = 0
    var outRowStride: Int
    var outChannels: Int

    /// Grid position (row, column) of pixel `p`.
    @inline(__always)
    func position(_ p: Int) -> GridPosition {
        let gy = p / gridWidth
        return GridPosition(pixel: p, y: gy, x: p - gy * gridWidth)
    }

    @inline(__always)
    func input(_ g: GridPosition) -> Int { g.y * inRowStep + g.x * inPixelStep }

    @inline(__always)
    func output(_ g: GridPosition) -> Int {
        (g.y * outYStep + outY0) * outRowStride + (g.x * outXStep + outX0) * outChannels
    }
}

/// A pixel and its grid position, stepped along a row and wrapped to the next: the micro-tile
/// loop then divides once per run of pixels, not twice per pixel. Where K is short (the first
/// layer: 147) the loop around the kernel shows: alone, with `perf`, it went from 8.6% to 7.3% of
/// that layer's samples.
struct GridPosition {
    var pixel: Int, y: Int, x: Int

    /// The next pixel along the grid.
    @inline(__always)
    func next(gridWidth: Int) -> GridPosition {
        x + 1 == gridWidth ? GridPosition(pixel: pixel + 1, y: y + 1, x: 0)
            : GridPosition(pixel: pixel + 1, y: y, x: x + 1)
    }

    /// The next pixel, or this one again once it is `last` (a short micro-tile repeats it).
    @inline(__always)
    func next(last: Int, gridWidth: Int) -> GridPosition {
        pixel < last ? next(gridWidth: gridWidth) : self
    }
}

/// One GEMM of a layer: which pixels, and which packed weights. A convolution is one job; the
/// transposed convolution's four output parities are four jobs over the same pixel grid.
struct ConvJob: Sendable {
    var map: PixelMap
    var weights: PackedWeights
}

/// What `convolve` and `InPlaceConvolution` run over bands of padded input rows: a grid of
/// `gridHeight` rows of `gridWidth` positions, grid row g reading the padded input's rows
/// `g · rowStep ..< g · rowStep + kernelRows`. The direct convolution's positions are output
/// pixels (`DirectKernel`); a layer computed by tiles of outputs (`PhaseSplitKernel`) has tiles.
protocol BandKernel: Sendable {
    var gridWidth: Int { get }
    /// Positions a thread takes together: a part of a step is whole runs of this many.
    var granule: Int { get }
    /// Floats of scratch `compute` needs beside its band (not zeroed).
    var scratchFloats: Int { get }
    /// Floats of the output that grid rows `rows` write.
    func writes(_ rows: Range<Int>) -> Range<Int>
    /// Positions `positions`, counted from grid row `firstGridRow`, whose padded input rows start
    /// at `band`: `bandRows` rows of the padded input, fewer than the grid rows read where the
    /// last grid row overhangs the padded input (a tile whose last outputs are cropped). `last`
    /// is the last position of the band or part.
    func compute(band: UnsafePointer<Float>, bandRows: Int, firstGridRow: Int, positions: Range<Int>, last: Int,
                 output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>)
}

/// The direct convolution: every output position of each job times every channel tile of its
/// weights (the jobs share one grid; each job's map gives input offsets within padded rows).
struct DirectKernel: BandKernel {
    let jobs: [ConvJob]

    init(jobs: [ConvJob]) {
        precondition(jobs.allSatisfy { $0.map.gridWidth == jobs[0].map.gridWidth })
        self.jobs = jobs
    }

    var gridWidth: Int { jobs[0].map.gridWidth }
    var granule: Int { 48 }
    var scratchFloats: Int { 0 }

    func writes(_ rows: Range<Int>) -> Range<Int> {
        let low = jobs.map { (rows.lowerBound * $0.map.outYStep + $0.map.outY0) * $0.map.outRowStride }.min()!
        let high = jobs.map { ((rows.upperBound - 1) * $0.map.outYStep + $0.map.outY0 + 1) * $0.map.outRowStride }.max()!
        return low..<high
    }

    func compute(band: UnsafePointer<Float>, bandRows: Int, firstGridRow: Int, positions: Range<Int>, last: Int,
                 output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        runBlocks(a: band, output: output, firstGridRow: firstGridRow, jobs: jobs, pixels: positions, last: last)
    }
}

/// The padded input's rows that grid rows `rows` read, cut at `paddedHeight` (a grid row that
/// overhangs it reads its last row again: `BandKernel.compute`).
func paddedRows(_ rows: Range<Int>, rowStep: Int, kernelRows: Int, paddedHeight: Int) -> Range<Int> {
    (rows.lowerBound * rowStep)..<min((rows.upperBound - 1) * rowStep + kernelRows, paddedHeight)
}

/// The macro-kernel over an *unpadded* input [height, width, channels]: the direct convolution's
/// jobs (`convolve(..., jobs:)`), or any `BandKernel`.
///
/// The grid is cut into bands of a few rows, several a thread, taken by the threads as they
/// finish; for each band a thread copies the padded rows it reads into a buffer it borrows (about
/// 1 MB, reused: it stays in L2 and is never faulted in again), so no padded copy of the whole
/// input is made. The direct kernel goes through a band's pixels in blocks of 48 (`runBlocks`),
/// each block through every job and channel tile before the next: a block's input rows are read
/// from memory once and stay in L1/L2 while all output channels are computed (packed weights of
/// up to 128 → 128 channels, 590 KB, stay in L2), and each output pixel is completed while its
/// cache lines are held.
func convolve(input: UnsafePointer<Float>, height: Int, width: Int, channels: Int, padding: Padding,
              gridHeight: Int, rowStep: Int, kernelRows: Int,
              output: UnsafeMutablePointer<Float>, jobs: [ConvJob], threads: Int) {
    precondition((gridHeight - 1) * rowStep + kernelRows <= padding.top + height + padding.bottom,
                 "the grid reads past the padded input")
    convolve(input: input, height: height, width: width, channels: channels, padding: padding,
             gridHeight: gridHeight, rowStep: rowStep, kernelRows: kernelRows,
             output: output, kernel: DirectKernel(jobs: jobs), threads: threads)
}

func convolve<Kernel: BandKernel>(input: UnsafePointer<Float>, height: Int, width: Int, channels: Int, padding: Padding,
                                  gridHeight: Int, rowStep: Int, kernelRows: Int,
                                  output: UnsafeMutablePointer<Float>, kernel: Kernel, threads: Int) {
    let gridWidth = kernel.gridWidth
    let paddedWidth = padding.left + width + padding.right, rowFloats = paddedWidth * channels
    let paddedHeight = padding.top + height + padding.bottom
    precondition((gridHeight - 1) * rowStep < paddedHeight, "a grid row starts past the padded input")
    // Rows per band: its padded rows in about 1 MB, and enough bands for the threads to share
    // them out as they finish (`balancedParts`).
    let rowsFitting = max(1, ((1 << 18) / rowFloats - kernelRows) / rowStep + 1)
    let parts = balancedParts(threads)
    let bandRows = max(1, min(rowsFitting, (gridHeight + parts - 1) / parts))
    let bands = (gridHeight + bandRows - 1) / bandRows
    let bandFloats = ((bandRows - 1) * rowStep + kernelRows) * rowFloats
    let buffers = ScratchBuffers(floats: bandFloats + kernel.scratchFloats)
    let source = SharedPointer(UnsafeMutablePointer(mutating: input))
    let destination = SharedPointer(output)
    parallelFor(chunks: bands, threads: threads) { band in
        let input = UnsafePointer(source.base), output = destination.base
        buffers.withBuffer { buffer in
            let g0 = band * bandRows, rows = min(bandRows, gridHeight - g0)
            let copied = paddedRows(g0..<(g0 + rows), rowStep: rowStep, kernelRows: kernelRows, paddedHeight: paddedHeight)
            copyPaddedRows(input, height: height, width: width, channels: channels, padding: padding,
                           rows: copied, into: buffer)
            let count = rows * gridWidth
            kernel.compute(band: buffer, bandRows: copied.count, firstGridRow: g0, positions: 0..<count, last: count - 1,
                           output: output, scratch: buffer + bandFloats)
        }
    }
}

/// Pixels `pixels` of a band (counted from its first grid row, `firstGridRow`, whose padded input
/// rows start at `a`) in blocks of 48, each block through every job and channel tile before the
/// next (see `convolve`). `last` is the band's last pixel: a short final micro-tile repeats it.
@inline(__always)
func runBlocks(a: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, firstGridRow g0: Int,
               jobs: [ConvJob], pixels: Range<Int>, last: Int) {
    let blockPixels = 48
    var blockStart = pixels.lowerBound
    while blockStart < pixels.upperBound {
        let blockEnd = min(blockStart + blockPixels, pixels.upperBound)
        for job in jobs {
            // Output positions of this band: its first grid row's offset, then the map's.
            let c = output + g0 * job.map.outYStep * job.map.outRowStride
            job.weights.data.withUnsafeBufferPointer { packed in
                job.weights.bias.withUnsafeBufferPointer { bias in
                    for tile in job.weights.tiles {
                        runTile(a: a, c: c, map: job.map, rows: job.weights.rows, run: job.weights.run, tile: tile,
                                packed: packed.baseAddress!, bias: bias.baseAddress!,
                                pixels: blockStart..<blockEnd, last: last)
                    }
                }
            }
        }
        blockStart = blockEnd
    }
}

/// `convolve` with the output written over the input's own memory, for layers whose output is
/// about the size of their input: the stride-2 convolutions (output half the input's floats,
/// walked top to bottom, then the block is shrunk) and the transposed convolutions (twice, walked
/// bottom to top over a block already grown). At 1280×960 each of them otherwise holds the
/// full-resolution 64-channel map (315 MB) and the half-resolution one (157 MB) at once. The
/// first layer (3 → 64 channels) grows its block too: its input (15 MB) is then not held beside
/// the map.
///
/// The grid goes in steps of a few rows, one `parallelFor` each: the step's positions are cut
/// into parts, several a thread (`balancedParts`), and each part copies the padded rows its
/// positions read into a band buffer of its own (in its thread's L2, as in `convolve`), then
/// writes its outputs straight into the block.
/// So the rule is: the memory a step writes must not hold an input row that a later step reads.
/// `init` checks it for every step (only tiny inputs fail it) and returns nil, so the caller can
/// run out of place. A step that writes over rows it reads itself (the first one, typically)
/// copies them all before any thread writes: a second `parallelFor`.
struct InPlaceConvolution<Kernel: BandKernel> {
    typealias Order = InPlaceOrder

    let height: Int, width: Int, channels: Int
    let padding: Padding
    let rowStep: Int, kernelRows: Int
    let kernel: Kernel
    /// Grid rows of each step, in the order they run, and whether it writes over its own reads.
    let steps: [(rows: Range<Int>, copyFirst: Bool)]
    /// Parts each step's positions are cut into (`balancedParts`): each part copies its rows
    /// into a band buffer of its own, then computes.
    let parts: Int
    /// Floats of one padded input row, and of a band buffer (the padded rows of a part's positions).
    let rowFloats: Int, bandFloats: Int
    var paddedHeight: Int { padding.top + height + padding.bottom }

    init?(height: Int, width: Int, channels: Int, padding: Padding, gridHeight: Int, rowStep: Int, kernelRows: Int,
          kernel: Kernel, order: Order, threads: Int, stepFloats: Int = InPlaceSteps.floats) {
        precondition((gridHeight - 1) * rowStep < padding.top + height + padding.bottom,
                     "a grid row starts past the padded input")
        (self.height, self.width, self.channels, self.padding) = (height, width, channels, padding)
        (self.rowStep, self.kernelRows, self.kernel) = (rowStep, kernelRows, kernel)
        rowFloats = (padding.left + width + padding.right) * channels
        // At least two grid rows a step (a stride-2 step of one row would overwrite the next
        // step's first input row when the width is odd).
        let rowsPerThread = max(1, (stepFloats / rowFloats - kernelRows) / rowStep + 1)
        let stepRows = min(max(2, rowsPerThread * max(1, threads)), gridHeight)
        var ranges = stride(from: 0, to: gridHeight, by: stepRows).map { $0..<min($0 + stepRows, gridHeight) }
        if order == .bottomUp { ranges.reverse() }
        // A part's positions (at most `partPositions`, whole granules) may start anywhere in a row.
        parts = balancedParts(threads)
        let gridWidth = kernel.gridWidth, granule = kernel.granule
        let granules = (stepRows * gridWidth + granule - 1) / granule
        let partPositions = (granules + parts - 1) / parts * granule
        let partRows = min(stepRows, (partPositions + 2 * gridWidth - 2) / gridWidth)
        bandFloats = ((partRows - 1) * rowStep + kernelRows) * rowFloats
        let paddedHeight = padding.top + height + padding.bottom
        // Floats of the unpadded input that grid rows read (nil: only zero padding).
        func reads(_ rows: Range<Int>) -> Range<Int>? {
            let sources = paddedRows(rows, rowStep: rowStep, kernelRows: kernelRows, paddedHeight: paddedHeight)
                .compactMap { padding.mode.source($0 - padding.top, size: height) }
            guard let low = sources.min(), let high = sources.max() else { return nil }
            return (low * width * channels)..<((high + 1) * width * channels)
        }
        // Every step's writes against the hull of all later steps' reads (a superset of them).
        var steps: [(rows: Range<Int>, copyFirst: Bool)] = []
        var laterReads: Range<Int>? = nil
        for rows in ranges.reversed() {
            let written = kernel.writes(rows), read = reads(rows)
            if let later = laterReads, written.overlaps(later) { return nil }
            steps.append((rows, read.map { written.overlaps($0) } ?? false))
            if let read {
                laterReads = laterReads.map { min($0.lowerBound, read.lowerBound)..<max($0.upperBound, read.upperBound) } ?? read
            }
        }
        self.steps = steps.reversed()
    }

    /// Runs the layer: `data` holds the input [height, width, channels] and must be large enough
    /// for the output too; afterwards it holds the output.
    func run(_ data: UnsafeMutablePointer<Float>, threads: Int) {
        let gridWidth = kernel.gridWidth, granule = kernel.granule, paddedHeight = paddedHeight
        let bandFloats = bandFloats
        // A part copies and computes on one thread, so parts borrow their band buffers (and the
        // kernel's scratch after them): as many as threads run, not one a part. A step that
        // copies first copies all its rows before any part computes (the first step, where the
        // output's rows are not yet resident), and its parts use only the scratch they borrow.
        let pool = ScratchBuffers(floats: bandFloats + kernel.scratchFloats)
        let block = SharedPointer(data)
        for (rows, copyFirst) in steps {
            let count = rows.count * gridWidth
            let positions = partition(count, parts: parts, granule: granule)
            // Part k: its first grid row, its positions counted from that row, and its padded rows.
            @Sendable func firstRow(_ k: Int) -> Int { positions[k].lowerBound / gridWidth }
            @Sendable func copied(_ k: Int) -> Range<Int> {
                let end = (positions[k].upperBound - 1) / gridWidth + 1
                return paddedRows((rows.lowerBound + firstRow(k))..<(rows.lowerBound + end),
                                  rowStep: rowStep, kernelRows: kernelRows, paddedHeight: paddedHeight)
            }
            @Sendable func copy(_ k: Int, into band: UnsafeMutablePointer<Float>) {
                copyPaddedRows(block.base, height: height, width: width, channels: channels, padding: padding,
                               rows: copied(k), into: band)
            }
            @Sendable func compute(_ k: Int, from band: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
                let shift = firstRow(k) * gridWidth
                kernel.compute(band: band, bandRows: copied(k).count, firstGridRow: rows.lowerBound + firstRow(k),
                               positions: (positions[k].lowerBound - shift)..<(positions[k].upperBound - shift),
                               last: count - 1 - shift, output: block.base, scratch: scratch)
            }
            if copyFirst {
                // The step's rows, copied once for all its parts (each part's rows lie inside
                // them): per part, the parts' overlapping rows took 8 bands at once, 24 MB for
                // the first stride-2 layer at 1280 px.
                let stepRows = paddedRows(rows, rowStep: rowStep, kernelRows: kernelRows, paddedHeight: paddedHeight)
                let band = HugePages.allocateFloats(stepRows.count * rowFloats)
                defer { band.deallocate() }
                copyPaddedRows(block.base, height: height, width: width, channels: channels, padding: padding,
                               rows: stepRows, into: band)
                let shared = SharedPointer(band), rowFloats = rowFloats
                parallelFor(chunks: positions.count, threads: threads) { k in
                    pool.withBuffer {
                        compute(k, from: shared.base + (copied(k).lowerBound - stepRows.lowerBound) * rowFloats,
                                scratch: $0 + bandFloats)
                    }
                }
            } else {
                parallelFor(chunks: positions.count, threads: threads) { k in
                    pool.withBuffer { band in
                        copy(k, into: band)
                        compute(k, from: band, scratch: band + bandFloats)
                    }
                }
            }
        }
    }
}

extension InPlaceConvolution where Kernel == DirectKernel {
    /// The direct convolution's jobs, whose grid never overhangs the padded input.
    init?(height: Int, width: Int, channels: Int, padding: Padding, gridHeight: Int, rowStep: Int, kernelRows: Int,
          jobs: [ConvJob], order: Order, threads: Int, stepFloats: Int = InPlaceSteps.floats) {
        precondition((gridHeight - 1) * rowStep + kernelRows <= padding.top + height + padding.bottom,
                     "the grid reads past the padded input")
        self.init(height: height, width: width, channels: channels, padding: padding, gridHeight: gridHeight,
                  rowStep: rowStep, kernelRows: kernelRows, kernel: DirectKernel(jobs: jobs), order: order,
                  threads: threads, stepFloats: stepFloats)
    }
}

/// Which way `InPlaceConvolution` walks the grid.
enum InPlaceOrder { case topDown, bottomUp }

/// How large `InPlaceConvolution`'s steps are.
enum InPlaceSteps {
    /// Padded input floats per thread and step: about 2 MB (the Xeon here has 2 MB of L2 a core).
    /// Each step ends with every thread waiting for the others; steps of a 1 MB band in all (two
    /// rows at 1280 px) spent a few percent waiting.
    static let floats = 1 << 19
}

/// One channel tile over a run of pixels, six at a time.
@inline(__always)
func runTile(a: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, map: PixelMap,
                     rows: Int, run: Int, tile: PackedWeights.Tile,
                     packed: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                     pixels: Range<Int>, last: Int) {
    let b = packed + tile.offset, bi = bias + tile.biasOffset
    let channel = tile.first
    let gridWidth = map.gridWidth
    var g = map.position(pixels.lowerBound)
    while g.pixel < pixels.upperBound {
        // A short last tile repeats the thread's final pixel: the kernel has no edge branches,
        // and rewriting a pixel with the same value is harmless (it is this thread's own).
        let g1 = g.next(last: last, gridWidth: gridWidth), g2 = g1.next(last: last, gridWidth: gridWidth)
        let g3 = g2.next(last: last, gridWidth: gridWidth), g4 = g3.next(last: last, gridWidth: gridWidth)
        let g5 = g4.next(last: last, gridWidth: gridWidth)
        let t = PixelTile(
            a0: a + map.input(g), a1: a + map.input(g1), a2: a + map.input(g2),
            a3: a + map.input(g3), a4: a + map.input(g4), a5: a + map.input(g5),
            c0: c + map.output(g) + channel, c1: c + map.output(g1) + channel,
            c2: c + map.output(g2) + channel, c3: c + map.output(g3) + channel,
            c4: c + map.output(g4) + channel, c5: c + map.output(g5) + channel)
        if tile.width == 32 {
            gemm6x32(t, rowStride: map.kernelRowStride, rows: rows, run: run,
                     b: b, bias: bi, valid: tile.valid)
        } else {
            gemm6x16(t, rowStride: map.kernelRowStride, rows: rows, run: run,
                     b: b, bias: bi, valid: tile.valid)
        }
        // After a short tile this is `last` + 1, where `pixels` ends.
        g = g5.next(gridWidth: gridWidth)
    }
}
