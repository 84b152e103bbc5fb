/// Convolution weights packed once, at load, into the micro-kernels' B layout:
/// for each tile of output channels, `[rows][run][width]` with `run = kw · Cin`, K ordered
/// (kernel row, kernel column, input channel) to match an NHWC receptive-field row.
/// Tiles are 32 channels wide; a tail of at most 16 channels gets a 16-wide tile.
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
            let width = remaining <= 16 ? 16 : 32
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
/// Output pixel `p` (0 ..< count) is grid position (p / gridWidth, p % gridWidth).
struct PixelMap: Sendable {
    var count: Int
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

    @inline(__always)
    func input(_ p: Int) -> Int {
        let gy = p / gridWidth, gx = p - gy * gridWidth
        return gy * inRowStep + gx * inPixelStep
    }

    @inline(__always)
    func output(_ p: Int) -> Int {
        let gy = p / gridWidth, gx = p - gy * gridWidth
        return (gy * outYStep + outY0) * outRowStride + (gx * outXStep + outX0) * outChannels
    }
}

/// One GEMM of a layer: which pixels, and which packed weights. A convolution is one job; the
/// transposed convolution's four output parities are four jobs over the same pixel grid.
struct ConvJob: Sendable {
    var map: PixelMap
    var weights: PackedWeights
}

/// The macro-kernel: every output pixel of each job times every channel tile of its weights.
/// Pixels are split across threads in whole micro-tiles; within a thread they are taken in
/// blocks of `blockPixels`, and each block runs every job and channel tile before the next
/// block. So a block's input rows are read from memory once and stay in L1/L2 while all output
/// channels are computed (packed weights of up to 128 → 128 channels, 590 KB, stay in the 1 MB
/// L2), and each output pixel is completed while its cache lines are held.
func convolve(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
              jobs: [ConvJob], threads: Int) {
    let count = jobs[0].map.count
    precondition(jobs.allSatisfy { $0.map.count == count })
    let ranges = partition(count, parts: threads, granule: 6)
    let source = SharedPointer(UnsafeMutablePointer(mutating: input))
    let destination = SharedPointer(output)
    let blockPixels = 48
    parallelFor(chunks: ranges.count, threads: threads) { chunk in
        let range = ranges[chunk]
        let a = UnsafePointer(source.base), c = destination.base
        var blockStart = range.lowerBound
        while blockStart < range.upperBound {
            let blockEnd = min(blockStart + blockPixels, range.upperBound)
            for job in jobs {
                job.weights.data.withUnsafeBufferPointer { packed in
                    job.weights.bias.withUnsafeBufferPointer { bias in
                        for tile in job.weights.tiles {
                            runTile(a: a, c: c, map: job.map, weights: job.weights, tile: tile,
                                    packed: packed.baseAddress!, bias: bias.baseAddress!,
                                    pixels: blockStart..<blockEnd, last: range.upperBound - 1)
                        }
                    }
                }
            }
            blockStart = blockEnd
        }
    }
}

/// One channel tile over a run of pixels, six at a time.
@inline(__always)
func runTile(a: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, map: PixelMap,
                     weights: PackedWeights, tile: PackedWeights.Tile,
                     packed: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                     pixels: Range<Int>, last: Int) {
    let b = packed + tile.offset, bi = bias + tile.biasOffset
    let channel = tile.first
    var p = pixels.lowerBound
    while p < pixels.upperBound {
        // A short last tile repeats the thread's final pixel: the kernel has no edge branches,
        // and rewriting a pixel with the same value is harmless (it is this thread's own).
        let p1 = min(p + 1, last), p2 = min(p + 2, last), p3 = min(p + 3, last)
        let p4 = min(p + 4, last), p5 = min(p + 5, last)
        let t = PixelTile(
            a0: a + map.input(p), a1: a + map.input(p1), a2: a + map.input(p2),
            a3: a + map.input(p3), a4: a + map.input(p4), a5: a + map.input(p5),
            c0: c + map.output(p) + channel, c1: c + map.output(p1) + channel,
            c2: c + map.output(p2) + channel, c3: c + map.output(p3) + channel,
            c4: c + map.output(p4) + channel, c5: c + map.output(p5) + channel)
        if tile.width == 32 {
            gemm6x32(t, rowStride: map.kernelRowStride, rows: weights.rows, run: weights.run,
                     b: b, bias: bi, valid: tile.valid)
        } else {
            gemm6x16(t, rowStride: map.kernelRowStride, rows: weights.rows, run: weights.run,
                     b: b, bias: bi, valid: tile.valid)
        }
        p += 6
    }
}
