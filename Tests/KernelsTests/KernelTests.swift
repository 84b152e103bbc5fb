import Foundation
@testable import Kernels
import Testing
import TestSupport

@Suite("Kernels against naive references")
struct KernelTests {
    struct ConvCase: Sendable, CustomTestStringConvertible {
        var h: Int, w: Int, cin: Int, cout: Int, k: Int, stride: Int, pad: Int, mode: PaddingMode
        var testDescription: String { "\(h)×\(w)×\(cin)→\(cout) k\(k) s\(stride) p\(pad) \(mode)" }
    }

    @Test("conv2d matches the reference", arguments: [
        ConvCase(h: 1, w: 1, cin: 1, cout: 1, k: 1, stride: 1, pad: 0, mode: .zero),
        ConvCase(h: 5, w: 7, cin: 3, cout: 5, k: 3, stride: 1, pad: 1, mode: .reflect),
        ConvCase(h: 11, w: 13, cin: 17, cout: 33, k: 3, stride: 2, pad: 1, mode: .reflect),
        ConvCase(h: 6, w: 5, cin: 1, cout: 16, k: 7, stride: 1, pad: 3, mode: .zero),
        ConvCase(h: 9, w: 4, cin: 8, cout: 48, k: 3, stride: 1, pad: 1, mode: .zero),
        ConvCase(h: 2, w: 2, cin: 4, cout: 3, k: 1, stride: 1, pad: 0, mode: .zero),
        ConvCase(h: 7, w: 9, cin: 3, cout: 64, k: 7, stride: 1, pad: 3, mode: .reflect),
        ConvCase(h: 8, w: 8, cin: 64, cout: 3, k: 7, stride: 1, pad: 3, mode: .reflect),
        ConvCase(h: 3, w: 3, cin: 31, cout: 97, k: 3, stride: 2, pad: 1, mode: .reflect),
        ConvCase(h: 13, w: 1, cin: 2, cout: 7, k: 1, stride: 2, pad: 0, mode: .zero),
        // At most 3 output channels, stride 1: vectorised over pixels from planar tiles (16 × 128
        // outputs): several tiles each way, ragged edges, zero and reflect padding, 1 and 2 channels.
        ConvCase(h: 37, w: 150, cin: 5, cout: 3, k: 7, stride: 1, pad: 3, mode: .reflect),
        ConvCase(h: 17, w: 129, cin: 3, cout: 2, k: 3, stride: 1, pad: 2, mode: .zero),
        ConvCase(h: 6, w: 70, cin: 1, cout: 1, k: 5, stride: 1, pad: 0, mode: .zero),
        // Channels past the last 8 and pixels past the last 8 of a row copied one at a time.
        ConvCase(h: 21, w: 261, cin: 19, cout: 3, k: 7, stride: 1, pad: 3, mode: .reflect),
        ConvCase(h: 18, w: 133, cin: 16, cout: 3, k: 5, stride: 1, pad: 2, mode: .zero),
        // A tile of padding only (its columns all past the input's right edge).
        ConvCase(h: 4, w: 125, cin: 9, cout: 2, k: 1, stride: 1, pad: 3, mode: .zero),
        ConvCase(h: 9, w: 9, cin: 6, cout: 3, k: 3, stride: 2, pad: 1, mode: .reflect),
        // Winograd F(2×2, 3×3): odd sizes (cropped tiles), channel tails, more tiles than a block.
        ConvCase(h: 1, w: 1, cin: 1, cout: 1, k: 3, stride: 1, pad: 1, mode: .zero),
        ConvCase(h: 2, w: 3, cin: 16, cout: 32, k: 3, stride: 1, pad: 1, mode: .reflect),
        ConvCase(h: 17, w: 23, cin: 33, cout: 17, k: 3, stride: 1, pad: 1, mode: .reflect),
        ConvCase(h: 20, w: 21, cin: 64, cout: 64, k: 3, stride: 1, pad: 1, mode: .reflect),
        // Direct convolution over padded bands of about 1 MB: rows this wide make bands of a few
        // rows, so each thread copies several, the last one short (stride 2 with reflection, and
        // stride 1 with zeros, which `.direct` takes through the bands).
        ConvCase(h: 23, w: 300, cin: 128, cout: 40, k: 3, stride: 2, pad: 1, mode: .reflect),
        ConvCase(h: 11, w: 260, cin: 128, cout: 20, k: 3, stride: 1, pad: 1, mode: .zero),
    ], [1, 2])
    func conv(_ c: ConvCase, threads: Int) {
        var random = SeededRandom(seed: UInt64(c.h * 1000 + c.cout))
        let x = random.tensor(c.h, c.w, c.cin)
        let weights = random.floats(c.cout * c.cin * c.k * c.k), bias = random.floats(c.cout)
        let expected = Reference.conv(x, weights: weights, bias: bias, outChannels: c.cout, kernel: (c.k, c.k),
                                      stride: c.stride, padding: c.pad, mode: c.mode)
        // Every algorithm (Winograd is taken automatically for 3×3 stride-1 padding-1 layers; the
        // two output tiles are forced there, and the others' paths taken elsewhere).
        for algorithm in [Conv2D.Algorithm.automatic, .direct, .winograd(outputTile: 2), .winograd(outputTile: 4)] {
            let conv = Conv2D(weights: weights, bias: bias, outChannels: c.cout, inChannels: c.cin,
                              kernelHeight: c.k, kernelWidth: c.k, stride: c.stride, padding: c.pad,
                              paddingMode: c.mode, algorithm: algorithm)
            let y = conv(x, threads: threads)
            #expect((y.height, y.width, y.channels) == ((c.h + 2 * c.pad - c.k) / c.stride + 1, (c.w + 2 * c.pad - c.k) / c.stride + 1, c.cout))
            // F(4×4, 3×3) rounds more (its transforms scale by up to 8), so its bound grows with
            // the outputs: 1e-5 of the largest (11×260×128 → 20 reaches 1.6e-4 on these values).
            let largest = expected.map(abs).max() ?? 0
            let bound = algorithm == .winograd(outputTile: 4) ? max(1e-4, 1e-5 * largest) : 1e-4
            #expect(maxError(y.storage, expected) < bound, "\(algorithm)")
        }
    }

    @Test("tanh fused into the store gives tanh of the convolution, on every path", arguments: [
        ConvCase(h: 19, w: 140, cin: 8, cout: 3, k: 7, stride: 1, pad: 3, mode: .reflect),  // narrow
        ConvCase(h: 9, w: 9, cin: 6, cout: 3, k: 3, stride: 2, pad: 1, mode: .reflect),     // packed
        ConvCase(h: 6, w: 7, cin: 4, cout: 5, k: 3, stride: 1, pad: 1, mode: .zero),        // Winograd
    ])
    func fusedTanh(_ c: ConvCase) {
        var random = SeededRandom(seed: UInt64(c.w * 7 + c.cout))
        let x = random.tensor(c.h, c.w, c.cin)
        let weights = random.floats(c.cout * c.cin * c.k * c.k), bias = random.floats(c.cout)
        let expected = Reference.conv(x, weights: weights, bias: bias, outChannels: c.cout, kernel: (c.k, c.k),
                                      stride: c.stride, padding: c.pad, mode: c.mode).map { Foundation.tanh($0) }
        let conv = Conv2D(weights: weights, bias: bias, outChannels: c.cout, inChannels: c.cin, kernelHeight: c.k, kernelWidth: c.k,
                          stride: c.stride, padding: c.pad, paddingMode: c.mode)
        #expect(maxError(conv(x, threads: 2, activation: .tanh).storage, expected) < 1e-4)
    }

    @Test("Winograd written over its own input matches the reference (bands per thread, odd edges, both tiles)", arguments: [
        (2, 2, 4, 2), (2, 3, 16, 2), (3, 5, 8, 2), (5, 4, 17, 2), (7, 9, 32, 2), (20, 21, 64, 2), (33, 6, 16, 2),
        (2, 2, 4, 4), (3, 5, 8, 4), (5, 4, 17, 4), (7, 9, 32, 4), (9, 13, 8, 4), (20, 21, 64, 4), (33, 6, 16, 4), (41, 3, 9, 4),
    ], [1, 2, 3, 4])
    func winogradInPlace(shape: (Int, Int, Int, Int), threads: Int) {
        let (h, w, c, tile) = shape
        var random = SeededRandom(seed: UInt64(h * 71 + w * 7 + c))
        let x = random.tensor(h, w, c)
        let weights = random.floats(c * c * 9), bias = random.floats(c)
        let conv = Conv2D(weights: weights, bias: bias, outChannels: c, inChannels: c, kernelHeight: 3, kernelWidth: 3,
                          padding: 1, paddingMode: .reflect, algorithm: .winograd(outputTile: tile))
        var y = x
        conv.apply(&y, threads: threads)
        let expected = Reference.conv(x, weights: weights, bias: bias, outChannels: c, kernel: (3, 3),
                                      stride: 1, padding: 1, mode: .reflect)
        #expect((y.height, y.width, y.channels) == (h, w, c))
        #expect(maxError(y.storage, expected) < 1e-4)
    }

    /// In-place steps of a few padded rows (the engine's are ~4 MB), so small inputs take many.
    static let smallSteps = 2_000

    @Test("a stride-2 convolution written over its own input matches the reference (steps, odd edges, threads)", arguments: [
        (5, 5, 4, 8, PaddingMode.reflect), (6, 7, 3, 6, .reflect), (11, 13, 17, 33, .reflect), (2, 2, 1, 2, .zero),
        (23, 300, 64, 128, .reflect), (24, 301, 16, 32, .zero), (9, 9, 8, 8, .reflect), (3, 40, 5, 7, .reflect),
        // Phase split: tiles of 2×2 outputs cropped at each odd edge, a tile row's patch past the
        // padded input (8 rows: 4 outputs, the last tile reads padded row 8 of 0…9; 6 rows and
        // 5 rows: past it), channel tails; more outputs than inputs (grows, bottom to top).
        (8, 8, 3, 6, .reflect), (6, 10, 9, 18, .reflect), (5, 7, 16, 32, .zero), (21, 35, 19, 40, .reflect),
        (10, 9, 2, 16, .reflect), (12, 13, 3, 32, .zero),
    ], [1, 2, 3, 4])
    func strideTwoInPlace(shape: (Int, Int, Int, Int, PaddingMode), threads: Int) {
        let (h, w, cin, cout, mode) = shape
        var random = SeededRandom(seed: UInt64(h * 53 + w * 5 + cout))
        let x = random.tensor(h, w, cin)
        let weights = random.floats(cout * cin * 9), bias = random.floats(cout)
        let expected = Reference.conv(x, weights: weights, bias: bias, outChannels: cout, kernel: (3, 3),
                                      stride: 2, padding: 1, mode: mode)
        for algorithm in [Conv2D.Algorithm.automatic, .direct] {
            let conv = Conv2D(weights: weights, bias: bias, outChannels: cout, inChannels: cin, kernelHeight: 3, kernelWidth: 3,
                              stride: 2, padding: 1, paddingMode: mode, algorithm: algorithm)
            let before = Array(x.storage)
            var y = x
            conv.apply(&y, threads: threads, stepFloats: Self.smallSteps)
            #expect((y.height, y.width, y.channels) == ((h + 1) / 2, (w + 1) / 2, cout))
            #expect(maxError(y.storage, expected) < 1e-4, "\(algorithm)")
            #expect(Array(x.storage) == before, "the caller's copy is not written")
            // Uniquely held, the block itself is written (and shrunk or grown).
            var z = x
            z.storage.withUnsafeMutableBufferPointer { _ in } // its own copy, held by nobody else
            conv.apply(&z, threads: threads, stepFloats: Self.smallSteps)
            #expect(maxError(z.storage, expected) < 1e-4, "\(algorithm), unique")
        }
    }

    @Test("a convolution with more outputs than inputs grows its block and matches the reference (bottom to top)", arguments: [
        (7, 9, 3, 8, 7, PaddingMode.reflect), (16, 13, 3, 64, 7, .reflect), (5, 6, 2, 5, 3, .zero), (40, 30, 3, 16, 7, .reflect),
        (4, 4, 1, 3, 7, .zero), // 3 outputs: the narrow kernel, out of place
    ], [1, 2, 3, 4])
    func growingInPlace(shape: (Int, Int, Int, Int, Int, PaddingMode), threads: Int) {
        let (h, w, cin, cout, k, mode) = shape
        var random = SeededRandom(seed: UInt64(h * 37 + w * 3 + cout))
        let x = random.tensor(h, w, cin)
        let weights = random.floats(cout * cin * k * k), bias = random.floats(cout)
        let conv = Conv2D(weights: weights, bias: bias, outChannels: cout, inChannels: cin, kernelHeight: k, kernelWidth: k,
                          padding: k / 2, paddingMode: mode)
        let before = Array(x.storage)
        var y = x
        conv.apply(&y, threads: threads, stepFloats: Self.smallSteps)
        let expected = Reference.conv(x, weights: weights, bias: bias, outChannels: cout, kernel: (k, k),
                                      stride: 1, padding: k / 2, mode: mode)
        #expect((y.height, y.width, y.channels) == (h, w, cout))
        #expect(maxError(y.storage, expected) < 1e-4)
        #expect(Array(x.storage) == before, "the caller's copy is not written")
        // Uniquely held, the block itself grows (the generator's first layer).
        var z = random.tensor(h, w, cin)
        let input = z
        let expectedZ = Reference.conv(input, weights: weights, bias: bias, outChannels: cout, kernel: (k, k),
                                       stride: 1, padding: k / 2, mode: mode)
        _ = consume input
        conv.apply(&z, threads: threads, stepFloats: Self.smallSteps)
        #expect(maxError(z.storage, expectedZ) < 1e-4)
    }

    @Test("a convolution written into a spare block matches the reference, whatever the spare's size or sharing", arguments: [
        (6, 7, 8, 8, 0), (6, 7, 8, 8, 6 * 7 * 8), (9, 5, 16, 16, 3), (9, 5, 16, 16, 10_000), (5, 5, 4, 6, 100),
    ])
    func reusingSpare(shape: (Int, Int, Int, Int, Int)) {
        let (h, w, cin, cout, spareCount) = shape
        var random = SeededRandom(seed: UInt64(h * 11 + w + cout + spareCount))
        let x = random.tensor(h, w, cin)
        let weights = random.floats(cout * cin * 9), bias = random.floats(cout)
        let conv = Conv2D(weights: weights, bias: bias, outChannels: cout, inChannels: cin, kernelHeight: 3, kernelWidth: 3,
                          padding: 1, paddingMode: .reflect)
        let expected = Reference.conv(x, weights: weights, bias: bias, outChannels: cout, kernel: (3, 3),
                                      stride: 1, padding: 1, mode: .reflect)
        var spare: Tensor? = spareCount == 0 ? nil : random.tensor(1, spareCount, 1)
        let kept = spare, keptValues = spare.map { Array($0.storage) } // a second holder keeps its values
        let y = conv(x, reusing: &spare, threads: 2)
        #expect(spare == nil)
        #expect((y.height, y.width, y.channels) == (h, w, cout))
        #expect(maxError(y.storage, expected) < 1e-4)
        #expect(kept.map { Array($0.storage) } == keptValues)
        // Its own block, held by nobody else, is written where it is.
        var own: Tensor? = random.tensor(h, w, cout)
        let z = conv(x, reusing: &own, threads: 1)
        #expect(maxError(z.storage, expected) < 1e-4)
    }

    @Test("a transposed conv written over its own input matches the reference (bottom to top, threads)", arguments: [
        (1, 1, 2, 1), (3, 5, 8, 4), (4, 4, 32, 16), (2, 7, 33, 16), (9, 300, 128, 64), (17, 40, 64, 32),
        (5, 6, 64, 8), // Cin > 4·Cout: the output is smaller than the input (direct: out of place)
        // Phase split: 4×4 output tiles cropped at odd input sizes, channel tails.
        (7, 9, 19, 8), (10, 11, 40, 20), (3, 3, 1, 1),
    ], [1, 2, 3, 4])
    func transposedInPlace(shape: (Int, Int, Int, Int), threads: Int) {
        let (h, w, cin, cout) = shape
        var random = SeededRandom(seed: UInt64(h * 29 + w + cout))
        let x = random.tensor(h, w, cin)
        let weights = random.floats(cin * cout * 9), bias = random.floats(cout)
        let expected = Reference.transposedConv(x, weights: weights, bias: bias, outChannels: cout)
        for algorithm in [Conv2D.Algorithm.automatic, .direct] {
            let deconv = TransposedConv2D(weights: weights, bias: bias, inChannels: cin, outChannels: cout, algorithm: algorithm)
            let before = Array(x.storage)
            var y = x
            deconv.apply(&y, threads: threads, stepFloats: Self.smallSteps)
            #expect((y.height, y.width, y.channels) == (2 * h, 2 * w, cout))
            #expect(maxError(y.storage, expected) < 1e-4, "\(algorithm)")
            #expect(Array(x.storage) == before, "the caller's copy is not written")
        }
    }

    @Test("in place is refused where a step would overwrite input rows a later step still reads")
    func inPlaceRefusals() {
        func layer(cin: Int, cout: Int, stride: Int, order: InPlaceOrder) -> InPlaceConvolution<DirectKernel>? {
            let (h, w) = (40, 30), outW = (w - 1) / stride + 1
            let packed = PackedWeights(outChannels: cout, rows: 3, run: 3 * cin, bias: [Float](repeating: 0, count: cout)) { _, _, _ in 0 }
            let map = PixelMap(gridWidth: outW, inRowStep: stride * (w + 2) * cin, inPixelStep: stride * cin,
                               kernelRowStride: (w + 2) * cin, outRowStride: outW * cout, outChannels: cout)
            return InPlaceConvolution(height: h, width: w, channels: cin, padding: Padding(top: 1, left: 1, bottom: 1, right: 1, mode: .reflect),
                                      gridHeight: (h - 1) / stride + 1, rowStep: stride, kernelRows: 3,
                                      jobs: [ConvJob(map: map, weights: packed)], order: order, threads: 2, stepFloats: Self.smallSteps)
        }
        // The generator's stride-2 layers (Cout = 2·Cin): each step writes rows already read.
        #expect(layer(cin: 8, cout: 16, stride: 2, order: .topDown).map { $0.steps.count > 2 } == true)
        // Stride 1 keeps pace with its own reads: step 1 still needs the last row step 0 writes.
        #expect(layer(cin: 8, cout: 8, stride: 1, order: .topDown) == nil)
        // Walking a stride-2 layer bottom to top writes where the rows above still are.
        #expect(layer(cin: 8, cout: 16, stride: 2, order: .bottomUp) == nil)
    }

    @Test("tensor storage: copy on write, resizing keeps the prefix, compares by value")
    func tensorStorage() {
        var a: TensorStorage = [1, 2, 3, 4]
        let b = a
        a[0] = 9
        #expect(Array(a) == [9, 2, 3, 4] && Array(b) == [1, 2, 3, 4])
        a.resize(to: 2)
        #expect(a == [9, 2] && b.count == 4)
        var big = TensorStorage(repeating: 7, count: 20_000_000) // 80 MB: its own mapping
        let shared = big
        big.resize(to: 3)
        #expect(big == [7, 7, 7] && shared.count == 20_000_000 && shared.last == 7)
        big.resize(to: 40_000_000)
        big.withUnsafeMutableBufferPointer { $0[39_999_999] = 1 }
        #expect(big.count == 40_000_000 && big[0...2].elementsEqual([7, 7, 7]) && big.last == 1)
        var t = Tensor(height: 2, width: 2, channels: 1, storage: [1, 2, 3, 4])
        let u = t
        t.storage.withUnsafeMutableBufferPointer { $0[3] = 0 }
        #expect(t.storage == [1, 2, 3, 0] && u.storage == [1, 2, 3, 4] && t != u)
    }

    @Test("huge pages are asked for over the whole 2 MB pages inside blocks of 4 MB or more", arguments: [
        (address: 0x4000_0010, bytes: 3 << 20, pages: nil),                       // under the threshold
        (address: 0x4000_0000, bytes: 4 << 20, pages: 0x4000_0000..<0x4040_0000), // aligned: two pages
        (address: 0x4000_0010, bytes: 4 << 20, pages: 0x4020_0000..<0x4040_0000), // both ends cut
        (address: 0x4010_0000, bytes: 4 << 20, pages: 0x4020_0000..<0x4040_0000),
        (address: 0x4000_1000, bytes: 64 << 20, pages: 0x4020_0000..<0x4400_0000),
    ] as [(address: Int, bytes: Int, pages: Range<Int>?)])
    func hugePageRange(_ c: (address: Int, bytes: Int, pages: Range<Int>?)) {
        let range = HugePages.alignedRange(address: c.address, bytes: c.bytes)
        #expect(range == c.pages)
        if let range {
            #expect(range.lowerBound % HugePages.size == 0 && range.upperBound % HugePages.size == 0)
            #expect(range.lowerBound >= c.address && range.upperBound <= c.address + c.bytes)
        }
    }

    @Test("parallel loops run every chunk once, with several callers at once", arguments: [1, 2, 3, 8])
    func parallelLoops(threads: Int) {
        // Four callers (as four job workers would), each with its own loops of 1-9 chunks.
        let results = (0..<4).map { _ in SharedCounts(count: 45) }
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            var offset = 0
            for chunks in 1...9 {
                let base = offset
                parallelFor(chunks: chunks, threads: threads) { chunk in results[caller].add(base + chunk) }
                offset += chunks
            }
        }
        for counts in results { #expect(counts.values == [Int](repeating: 1, count: 45)) }
    }

    @Test("scratch buffers: no more are made than chunks run at once, zeroed ones come zeroed", arguments: [1, 2, 3])
    func scratchBuffers(threads: Int) {
        let buffers = ScratchBuffers(floats: 100, zeroed: true)
        let seen = SharedCounts(count: 1)
        parallelFor(chunks: 64, threads: threads) { _ in
            buffers.withBuffer { buffer in
                if (0..<100).contains(where: { buffer[$0] != 0 }) { seen.add(0) } // only the first use is zeroed
                for i in 0..<100 { buffer[i] = 1 }
            }
        }
        #expect(buffers.made >= 1 && buffers.made <= threads)
        #expect(seen.values[0] == 64 - buffers.made, "each buffer zeroed when made, reused after")
    }

    @Test("pixels to planes: 8 × 8 blocks transposed in registers, the rest one at a time", arguments: [
        (0, 8), (1, 1), (7, 9), (8, 8), (9, 7), (16, 64), (23, 17), (40, 3), (3, 40),
    ])
    func copyToPlanes(pixels: Int, channels: Int) {
        let from = (0..<(pixels * channels)).map { Float($0) }
        let planeStride = pixels + 5
        var to = [Float](repeating: -1, count: channels * planeStride)
        from.withUnsafeBufferPointer { source in
            to.withUnsafeMutableBufferPointer { planes in
                Kernels.copyToPlanes(source.baseAddress!, pixels: pixels, channels: channels,
                                     to: planes.baseAddress!, planeStride: planeStride)
            }
        }
        var expected = [Float](repeating: -1, count: channels * planeStride)
        for x in 0..<pixels { for c in 0..<channels { expected[c * planeStride + x] = from[x * channels + c] } }
        #expect(to == expected, "and nothing between the planes is written")
    }

    @Test("transposed conv matches the reference (2H × 2W, first row and column dropped)", arguments: [
        (1, 1, 1, 1), (3, 5, 7, 19), (4, 4, 16, 40), (2, 7, 33, 16), (5, 2, 3, 64),
        (9, 300, 128, 16), // several padded bands, the last one short
    ], [1, 2])
    func transposed(shape: (Int, Int, Int, Int), threads: Int) {
        let (h, w, cin, cout) = shape
        var random = SeededRandom(seed: UInt64(h * 31 + cout))
        let x = random.tensor(h, w, cin)
        let weights = random.floats(cin * cout * 9), bias = random.floats(cout)
        let expected = Reference.transposedConv(x, weights: weights, bias: bias, outChannels: cout)
        for algorithm in [Conv2D.Algorithm.automatic, .direct] {
            let deconv = TransposedConv2D(weights: weights, bias: bias, inChannels: cin, outChannels: cout, algorithm: algorithm)
            let y = deconv(x, threads: threads)
            #expect(y.height == 2 * h && y.width == 2 * w && y.channels == cout)
            #expect(maxError(y.storage, expected) < 1e-4, "\(algorithm)")
        }
    }

    @Test("group norm matches the reference", arguments: [
        (1, 1, 8, 8), (5, 7, 12, 12), (5, 7, 12, 4), (3, 2, 64, 32), (9, 11, 3, 1), (4, 4, 17, 17),
    ], [GroupNorm.Epsilon.addedToStd(1e-9), .addedToVariance(1e-5)])
    func groupNorm(shape: (Int, Int, Int, Int), epsilon: GroupNorm.Epsilon) {
        let (h, w, c, groups) = shape
        var random = SeededRandom(seed: UInt64(h * w * c + groups))
        var x = random.tensor(h, w, c)
        // An offset far larger than the spread: the case where naive float sums lose digits.
        for i in x.storage.indices { x.storage[i] = x.storage[i] * 0.5 + 40 }
        let gamma = random.floats(c), beta = random.floats(c)
        let expected = Reference.groupNorm(x, groups: groups, gamma: gamma, beta: beta, epsilon: epsilon)
        let norm = GroupNorm(channels: c, groups: groups, gamma: gamma, beta: beta, epsilon: epsilon)

        var plain = x
        norm.apply(&plain, threads: 2)
        if h * w * c / groups > 1 { #expect(maxError(plain.storage, expected) < 1e-4) }

        var relu = x
        norm.apply(&relu, epilogue: .relu, threads: 1)
        if h * w * c / groups > 1 { #expect(maxError(relu.storage, expected.map { max($0, 0) }) < 1e-4) }

        let residual = random.tensor(h, w, c)
        var added = x
        norm.apply(&added, epilogue: .add(residual), threads: 2)
        let sum = zip(expected, residual.storage).map { $0 + Double($1) }
        if h * w * c / groups > 1 { #expect(maxError(added.storage, sum) < 1e-4) }
    }

    @Test("reflect padding mirrors without repeating the edge: c b | a b c d | c b")
    func reflectPadding() {
        let x = Tensor(height: 1, width: 4, channels: 1, storage: [1, 2, 3, 4])
        let padded = x.padded(top: 0, left: 2, bottom: 0, right: 2, mode: .reflect)
        #expect(padded.storage == [3, 2, 1, 2, 3, 4, 3, 2])
        let zero = x.padded(top: 1, left: 1, bottom: 0, right: 0, mode: .zero)
        #expect(zero.storage == [0, 0, 0, 0, 0, 0, 1, 2, 3, 4])
        let column = Tensor(height: 3, width: 1, channels: 2, storage: [1, 10, 2, 20, 3, 30])
        #expect(column.padded(top: 1, left: 0, bottom: 1, right: 0, mode: .reflect).storage == [2, 20, 1, 10, 2, 20, 3, 30, 2, 20])
    }
}

/// How many times each index was visited, from any thread.
final class SharedCounts: @unchecked Sendable {
    // @unchecked: `counts` is only touched with `lock` held.
    private let lock = NSLock()
    private var counts: [Int]
    init(count: Int) { counts = [Int](repeating: 0, count: count) }
    func add(_ i: Int) { lock.lock(); counts[i] += 1; lock.unlock() }
    var values: [Int] { lock.lock(); defer { lock.unlock() }; return counts }
}
