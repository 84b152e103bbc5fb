/// The stride-2, 3×3 transposed convolution of CartoonGAN's decoder, with its exact geometry:
/// PyTorch `ConvTranspose2d(cin, cout, 3, stride: 2, padding: 1, output_padding: 1)`, i.e. the
/// "valid" (2H+1)×(2W+1) result with its first row and column dropped. Input [H, W, Cin] →
/// output [2H, 2W, Cout].
///
/// Scalar reference:
///
///     out[oy][ox][o] = bias[o] + Σ over (iy, ky, ix, kx, c) with oy = 2·iy + ky − 1 and
///                      ox = 2·ix + kx − 1 of in[iy][ix][c] · w[c][o][ky][kx]
///
/// Phase split: an even output row only receives tap ky = 1 (from iy = oy/2); an odd one gets
/// ky = 2 from iy = (oy−1)/2 and ky = 0 from the next input row. By default each 4×4 block of
/// outputs is computed from a 3×3 patch of inputs with 25 multiplications per channel pair
/// (`PhaseSplitWinograd.swift`: Winograd's F(2, 2) on the odd outputs). The direct form
/// (`.direct`, the reference path) treats each of the four (row, column) parities as an ordinary
/// stride-1 convolution with a 1×1, 1×2, 2×1 or 2×2 kernel over the input (zero-extended by one
/// row and column), writing every second output pixel — 36 multiply-adds per 2×2 inputs and
/// channel pair, none wasted on inserted zeros.
public struct TransposedConv2D: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    /// The phase-split form (nil with `.direct`).
    let phaseSplit: WinogradConv3x3?
    /// Packed weights per phase, indexed py · 2 + px (empty unless `.direct`).
    let phases: [PackedWeights]

    /// - Parameters:
    ///   - weights: [Cin, Cout, 3, 3] (PyTorch's transposed-convolution layout).
    ///   - bias: [Cout].
    ///   - algorithm: `.direct` for the four phases as direct convolutions; anything else phase
    ///     splits (the tests compare both).
    public init(weights: [Float], bias: [Float], inChannels: Int, outChannels: Int,
                algorithm: Conv2D.Algorithm = .automatic) {
        precondition(weights.count == inChannels * outChannels * 9)
        self.inChannels = inChannels
        self.outChannels = outChannels
        guard algorithm == .direct else {
            phaseSplit = WinogradConv3x3(transposedWeights: weights, bias: bias, inChannels: inChannels, outChannels: outChannels)
            phases = []
            return
        }
        phaseSplit = nil
        // Kernel taps used by an output parity, in input order (offset 0, then offset +1).
        let taps = [[1], [2, 0]]
        var phases: [PackedWeights] = []
        for py in 0..<2 {
            for px in 0..<2 {
                let rowTaps = taps[py], columnTaps = taps[px]
                phases.append(PackedWeights(outChannels: outChannels, rows: rowTaps.count,
                                            run: columnTaps.count * inChannels, bias: bias) { o, r, t in
                    let ky = rowTaps[r], kx = columnTaps[t / inChannels], c = t % inChannels
                    return weights[((c * outChannels + o) * 3 + ky) * 3 + kx]
                })
            }
        }
        self.phases = phases
    }

    public func multiplyAdds(height: Int, width: Int) -> Int {
        height * width * 9 * inChannels * outChannels
    }

    /// The four phases' jobs for an input `width` wide: grid = input pixels, output written at
    /// (2·iy + py, 2·ix + px); input rows are `width + 1` pixels (one zero column past the end).
    private func jobs(width: Int) -> [ConvJob] {
        let rowFloats = (width + 1) * inChannels
        var jobs: [ConvJob] = []
        for py in 0..<2 {
            for px in 0..<2 {
                let map = PixelMap(gridWidth: width,
                                   inRowStep: rowFloats, inPixelStep: inChannels, kernelRowStride: rowFloats,
                                   outYStep: 2, outY0: py, outXStep: 2, outX0: px,
                                   outRowStride: 2 * width * outChannels, outChannels: outChannels)
                jobs.append(ConvJob(map: map, weights: phases[py * 2 + px]))
            }
        }
        return jobs
    }

    /// One zero row and column past the end stand in for the input beyond the border (added
    /// a band at a time inside `convolve`).
    private static let padding = Padding(bottom: 1, right: 1, mode: .zero)

    public func callAsFunction(_ input: Tensor, threads: Int = 1) -> Tensor {
        precondition(input.channels == inChannels, "expected \(inChannels) channels, got \(input.channels)")
        if let phaseSplit { return phaseSplit.runPhaseSplit(input, mode: .zero, threads: threads) }
        var output = Tensor(uninitializedHeight: 2 * input.height, width: 2 * input.width, channels: outChannels)
        let jobs = jobs(width: input.width)
        input.storage.withUnsafeBufferPointer { src in
            output.storage.withUnsafeMutableBufferPointer { dst in
                convolve(input: src.baseAddress!, height: input.height, width: input.width, channels: inChannels,
                         padding: Self.padding, gridHeight: input.height, rowStep: 1, kernelRows: 2,
                         output: dst.baseAddress!, jobs: jobs, threads: threads)
            }
        }
        return output
    }

    /// The layer written over `x`'s own block, grown to the output's size first (in place where
    /// the allocator can: `TensorStorage`) and walked bottom to top, so the input and the output
    /// (twice its size when Cin = 2·Cout, as in the generator) are never held side by side.
    /// Falls back to `x = self(x)` where that does not apply. Same result either way.
    public func apply(_ x: inout Tensor, threads: Int = 1) {
        apply(&x, threads: threads, stepFloats: InPlaceSteps.floats)
    }

    /// `stepFloats`: see `InPlaceConvolution` (the tests make steps small).
    func apply(_ x: inout Tensor, threads: Int, stepFloats: Int) {
        precondition(x.channels == inChannels, "expected \(inChannels) channels, got \(x.channels)")
        if let phaseSplit {
            if !phaseSplit.applyPhaseSplitInPlace(&x, mode: .zero, threads: threads, stepFloats: stepFloats) {
                x = self(x, threads: threads)
            }
            return
        }
        let (height, width) = (x.height, x.width)
        guard 4 * outChannels >= inChannels,
              let layer = InPlaceConvolution(height: height, width: width, channels: inChannels, padding: Self.padding,
                                             gridHeight: height, rowStep: 1, kernelRows: 2,
                                             jobs: jobs(width: width), order: .bottomUp, threads: threads, stepFloats: stepFloats)
        else {
            x = self(x, threads: threads)
            return
        }
        x.reshapeInPlace(height: 2 * height, width: 2 * width, channels: outChannels)
        x.storage.withUnsafeMutableBufferPointer { layer.run($0.baseAddress!, threads: threads) }
    }
}
