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

/// The macro-kernel: every output pixel of `map` times every channel tile of `weights`,
/// pixels split across threads in whole micro-tiles. Within a thread, the outer loop runs over
/// channel tiles so one tile's packed weights (≤ 9 · 256 · 32 floats, 295 KB) stay in L2 while
/// the pixels stream past.
func convolve(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
              map: PixelMap, weights: PackedWeights, threads: Int) {
    let ranges = partition(map.count, parts: threads, granule: 6)
    let source = SharedPointer(UnsafeMutablePointer(mutating: input))
    let destination = SharedPointer(output)
    weights.data.withUnsafeBufferPointer { packed in
        weights.bias.withUnsafeBufferPointer { bias in
            let packedBase = SharedPointer(UnsafeMutablePointer(mutating: packed.baseAddress!))
            let biasBase = SharedPointer(UnsafeMutablePointer(mutating: bias.baseAddress!))
            parallelFor(chunks: ranges.count, threads: threads) { chunk in
                let range = ranges[chunk]
                let a = UnsafePointer(source.base), c = destination.base
                for tile in weights.tiles {
                    let b = UnsafePointer(packedBase.base + tile.offset)
                    let bi = UnsafePointer(biasBase.base + tile.biasOffset)
                    let channel = tile.first
                    var p = range.lowerBound
                    while p < range.upperBound {
                        // A short last tile repeats its final pixel: the kernel has no edge
                        // branches, and rewriting a pixel with the same value is harmless.
                        let last = range.upperBound - 1
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
            }
        }
    }
}
