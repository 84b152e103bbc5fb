/// 2-D convolution with bias: any kernel size, stride 1 or 2 (any stride works), reflect or
/// zero padding. Input [H, W, Cin] → output [Ho, Wo, Cout], Ho = (H + 2p − kh) / s + 1.
///
/// Scalar reference (what the tests compare against):
///
///     out[y][x][o] = bias[o] + Σ_{i,j,c} pad(in)[y·s + i][x·s + j][c] · w[o][c][i][j]
public struct Conv2D: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernelHeight: Int
    public let kernelWidth: Int
    public let stride: Int
    public let padding: Int
    public let paddingMode: PaddingMode
    /// Direct-convolution panels; only built for layers that neither Winograd nor the narrow
    /// kernel takes (each packing of a 256→256 layer costs 2.4 MB).
    let packed: PackedWeights?
    /// The same layer by Winograd F(2×2, 3×3) or F(4×4, 3×3), for 3×3 stride-1 convolutions with
    /// padding 1, or phase split (`PhaseSplitWinograd.swift`) for 3×3 stride-2 ones.
    let winograd: WinogradConv3x3?
    /// The same layer vectorised over pixels, for stride-1 layers with at most 3 output channels
    /// that Winograd does not take.
    let narrow: NarrowWeights?

    /// How to compute a layer. `.automatic` takes Winograd where it applies, with the output
    /// tile `winogradTile` picks; `.direct` is the reference path; `.winograd(outputTile:)` takes
    /// F(2×2, 3×3) or F(4×4, 3×3) where Winograd applies (the tests compare them all). A 3×3
    /// stride-2 layer with padding 1 is phase split unless `.direct`.
    public enum Algorithm: Sendable, Equatable {
        case automatic
        case direct
        case winograd(outputTile: Int)
    }

    /// The Winograd output tile `.automatic` takes: F(4×4, 3×3) needs 44% fewer multiply-adds
    /// than F(2×2, 3×3) but rounds more and transforms more per output (measured: Kernels README,
    /// "Winograd F(4×4, 3×3)").
    static func winogradTile(inChannels: Int, outChannels: Int) -> Int {
        inChannels >= 64 && outChannels >= 64 ? 4 : 2
    }

    /// - Parameters:
    ///   - weights: [Cout, Cin, kh, kw] (PyTorch's layout), weight norm already folded in.
    ///   - bias: [Cout].
    public init(weights: [Float], bias: [Float], outChannels: Int, inChannels: Int,
                kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0,
                paddingMode: PaddingMode = .zero, algorithm: Algorithm = .automatic) {
        precondition(weights.count == outChannels * inChannels * kernelHeight * kernelWidth)
        precondition(stride >= 1 && padding >= 0)
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.stride = stride
        self.padding = padding
        self.paddingMode = paddingMode
        let threeByThree = kernelHeight == 3 && kernelWidth == 3 && padding == 1
        let outputTile: Int? = switch algorithm {
        case .automatic: Self.winogradTile(inChannels: inChannels, outChannels: outChannels)
        case .direct: nil
        case let .winograd(tile): tile
        }
        winograd = if let outputTile, threeByThree, stride == 1 {
            WinogradConv3x3(weights: weights, bias: bias, outChannels: outChannels, inChannels: inChannels,
                            outputTile: outputTile)
        } else if outputTile != nil, threeByThree, stride == 2 {
            WinogradConv3x3(stride2Weights: weights, bias: bias, outChannels: outChannels, inChannels: inChannels)
        } else {
            nil
        }
        narrow = winograd == nil && outChannels <= NarrowWeights.maxChannels && stride == 1
            ? NarrowWeights(weights: weights, bias: bias, outChannels: outChannels, inChannels: inChannels,
                            kernelHeight: kernelHeight, kernelWidth: kernelWidth)
            : nil
        // K index (r, t) with t = j · Cin + c reads w[o][c][r][j].
        packed = winograd == nil && narrow == nil
            ? PackedWeights(outChannels: outChannels, rows: kernelHeight, run: kernelWidth * inChannels, bias: bias) { o, r, t in
                let j = t / inChannels, c = t % inChannels
                return weights[((o * inChannels + c) * kernelHeight + r) * kernelWidth + j]
            }
            : nil
    }

    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + 2 * padding - kernelHeight) / stride + 1, (width + 2 * padding - kernelWidth) / stride + 1)
    }

    /// Multiply-adds for one application to an input of this size.
    public func multiplyAdds(height: Int, width: Int) -> Int {
        let (h, w) = outputSize(height: height, width: width)
        return h * w * outChannels * inChannels * kernelHeight * kernelWidth
    }

    /// What happens to each output value once computed.
    public enum Activation: Sendable {
        case none
        /// tanh (the generator's output layer), fused into the store where the kernel allows.
        case tanh
    }

    /// The layer applied to `x`, written over `x`'s own storage where the algorithm allows it,
    /// so no second tensor of that size is made: Winograd with Cin = Cout and reflect padding,
    /// and the stride-2 and direct convolutions (`InPlaceConvolution`): one whose output is no
    /// larger than its input goes top to bottom and then shrinks the block (the stride-2 layers),
    /// one whose output is larger grows the block first and goes bottom to top (the first layer,
    /// 3 → 64 channels: its input is not held beside the full-resolution map). Otherwise
    /// `x = self(x)`. Same result either way.
    public func apply(_ x: inout Tensor, threads: Int = 1) {
        apply(&x, threads: threads, stepFloats: InPlaceSteps.floats)
    }

    /// `stepFloats`: see `InPlaceConvolution` (the tests make steps small).
    func apply(_ x: inout Tensor, threads: Int, stepFloats: Int) {
        precondition(x.channels == inChannels, "expected \(inChannels) channels, got \(x.channels)")
        if let winograd, winograd.form == .stride1 {
            if inChannels == outChannels, paddingMode == .reflect {
                winograd.runInPlace(&x, threads: threads)
            } else {
                x = self(x, threads: threads)
            }
        } else if let winograd {
            // Reflection needs more than one row and column: out of place, that is a precondition.
            guard paddingFits(height: x.height, width: x.width),
                  winograd.applyPhaseSplitInPlace(&x, mode: paddingMode, threads: threads, stepFloats: stepFloats)
            else {
                x = self(x, threads: threads)
                return
            }
        } else if !applyDirectInPlace(&x, threads: threads, stepFloats: stepFloats) {
            x = self(x, threads: threads)
        }
    }

    /// Whether padded bands can be made for an input this size: reflection needs more rows and
    /// columns than it mirrors (`Padding`).
    private func paddingFits(height: Int, width: Int) -> Bool {
        paddingMode == .zero || padding < min(height, width)
    }

    /// The direct convolution over `x`'s own block (`InPlaceConvolution`); false, with `x`
    /// untouched, when it does not apply.
    private func applyDirectInPlace(_ x: inout Tensor, threads: Int, stepFloats: Int) -> Bool {
        guard let packed else { return false }
        let (outH, outW) = outputSize(height: x.height, width: x.width)
        guard outH > 0, outW > 0, paddingFits(height: x.height, width: x.width) else { return false }
        let grows = outH * outW * outChannels > x.count
        let rowFloats = (x.width + 2 * padding) * inChannels
        let map = PixelMap(gridWidth: outW,
                           inRowStep: stride * rowFloats, inPixelStep: stride * inChannels,
                           kernelRowStride: rowFloats, outRowStride: outW * outChannels, outChannels: outChannels)
        guard let layer = InPlaceConvolution(
            height: x.height, width: x.width, channels: inChannels,
            padding: Padding(top: padding, left: padding, bottom: padding, right: padding, mode: paddingMode),
            gridHeight: outH, rowStep: stride, kernelRows: kernelHeight,
            jobs: [ConvJob(map: map, weights: packed)], order: grows ? .bottomUp : .topDown, threads: threads,
            stepFloats: stepFloats) else { return false }
        // Growing, the input stays at the block's start (mremap for a large block: no copy).
        if grows { x.reshapeInPlace(height: outH, width: outW, channels: outChannels) }
        x.storage.withUnsafeMutableBufferPointer { layer.run($0.baseAddress!, threads: threads) }
        if !grows { x.reshapeInPlace(height: outH, width: outW, channels: outChannels) }
        return true
    }

    /// `self(input)`, written into the block of `spare` (taken: left nil) where the layer writes
    /// a separate output anyway (Winograd), instead of a new block. The residual blocks pass the
    /// block their previous input leaves: at 1280×720 each of their 8 first convs otherwise
    /// faulted in a fresh 59 MB block, as the previous one was given back.
    public func callAsFunction(_ input: Tensor, reusing spare: inout Tensor?, threads: Int = 1) -> Tensor {
        guard let winograd, winograd.form == .stride1, var output = spare.take() else { return self(input, threads: threads) }
        precondition(input.channels == inChannels, "expected \(inChannels) channels, got \(input.channels)")
        winograd.run(input, mode: paddingMode, into: &output, threads: threads)
        return output
    }

    public func callAsFunction(_ input: Tensor, threads: Int = 1, activation: Activation = .none) -> Tensor {
        precondition(input.channels == inChannels, "expected \(inChannels) channels, got \(input.channels)")
        let (outH, outW) = outputSize(height: input.height, width: input.width)
        precondition(outH > 0 && outW > 0, "input \(input.height)×\(input.width) is smaller than the kernel")
        if let narrow {
            var output = Tensor(uninitializedHeight: outH, width: outW, channels: outChannels)
            input.storage.withUnsafeBufferPointer { src in
                output.storage.withUnsafeMutableBufferPointer { dst in
                    convolveNarrow(input: src.baseAddress!, height: input.height, width: input.width, output: dst.baseAddress!,
                                   outHeight: outH, outWidth: outW, padding: padding, mode: paddingMode, weights: narrow,
                                   tanh: activation == .tanh, threads: threads)
                }
            }
            return output
        }
        // The phase split and the direct convolution read padded bands (stride-1 Winograd folds
        // reflection into its patch indexing).
        precondition(winograd?.form == .stride1 || paddingFits(height: input.height, width: input.width),
                     "reflect padding of \(padding) needs more than a \(input.height)×\(input.width) input")
        var output: Tensor
        if let winograd, winograd.form == .stride1 {
            output = Tensor(uninitializedHeight: outH, width: outW, channels: outChannels)
            winograd.run(input, mode: paddingMode, into: &output, threads: threads)
        } else if let winograd {
            output = winograd.runPhaseSplit(input, mode: paddingMode, threads: threads)
        } else {
            output = Tensor(uninitializedHeight: outH, width: outW, channels: outChannels)
            // Padded rows are made a band at a time inside `convolve`.
            let rowFloats = (input.width + 2 * padding) * inChannels
            let map = PixelMap(gridWidth: outW,
                               inRowStep: stride * rowFloats, inPixelStep: stride * inChannels,
                               kernelRowStride: rowFloats, outRowStride: outW * outChannels, outChannels: outChannels)
            input.storage.withUnsafeBufferPointer { src in
                output.storage.withUnsafeMutableBufferPointer { dst in
                    if let packed {
                        convolve(input: src.baseAddress!, height: input.height, width: input.width, channels: inChannels,
                                 padding: Padding(top: padding, left: padding, bottom: padding, right: padding, mode: paddingMode),
                                 gridHeight: outH, rowStep: stride, kernelRows: kernelHeight,
                                 output: dst.baseAddress!, jobs: [ConvJob(map: map, weights: packed)], threads: threads)
                    }
                }
            }
        }
        // The narrow kernel fused it into its store; the others take a pass over the output.
        if activation == .tanh { output.applyTanh() }
        return output
    }
}
