import Kernels

/// The CartoonGAN generator: encoder, residual blocks, decoder.
///
///     reflect-pad 3, conv 7×7 3→c, norm, ReLU
///     [reflect-pad 1, conv 3×3 /2; reflect-pad 1, conv 3×3; norm; ReLU] × 2     (c → 2c → 4c)
///     residual blocks: x + norm(conv(pad(ReLU(norm(conv(pad(x)))))))
///     [transposed conv 3×3 /2; reflect-pad 1, conv 3×3; norm; ReLU] × 2         (4c → 2c → c)
///     reflect-pad 3, conv 7×7 c→3; tanh
///
/// Input [H, W, 3] (BGR, any scale: instance norm follows the first conv) → output
/// [4⌈H/4⌉, 4⌈W/4⌉, 3] in [−1, 1], top-left aligned with the input.
public struct Generator: Sendable {
    public let architecture: GeneratorArchitecture

    struct Stage: Sendable {
        var convA: Conv2D
        var convB: Conv2D
        var norm: GroupNorm
    }

    struct Block: Sendable {
        var conv1: Conv2D
        var norm1: GroupNorm
        var conv2: Conv2D
        var norm2: GroupNorm
    }

    struct UpStage: Sendable {
        var deconv: TransposedConv2D
        var conv: Conv2D
        var norm: GroupNorm
    }

    let inputConv: Conv2D
    let inputNorm: GroupNorm
    let down: [Stage]
    let blocks: [Block]
    let up: [UpStage]
    let outputConv: Conv2D

    /// Smallest accepted input side: reflect padding needs two samples at quarter resolution.
    public static let minimumSide = 5

    /// Builds the graph from named tensors (the published names: conv01_1 … deconv03_1,
    /// in01_1 … in13_1). Every tensor must be present with the right shape and be used.
    public init(weights: TensorStore, architecture: GeneratorArchitecture = .cartoonGAN) throws(ModelError) {
        try architecture.validate()
        self.architecture = architecture
        var store = weights
        let c = architecture.baseChannels, wn = architecture.weightNorm

        func conv(_ name: String, _ cout: Int, _ cin: Int, _ k: Int, stride: Int = 1) throws(ModelError) -> Conv2D {
            let w = try store.takeWeight(name, shape: [cout, cin, k, k], weightNorm: wn)
            let b = try store.take("\(name).bias", shape: [cout])
            return Conv2D(weights: w, bias: b, outChannels: cout, inChannels: cin, kernelHeight: k, kernelWidth: k,
                          stride: stride, padding: k / 2, paddingMode: .reflect)
        }
        func norm(_ name: String, _ channels: Int) throws(ModelError) -> GroupNorm {
            let gamma = try store.take("\(name).scale", shape: [channels])
            let beta = try store.take("\(name).shift", shape: [channels])
            return architecture.norm(channels: channels, gamma: gamma, beta: beta)
        }
        func deconv(_ name: String, _ cin: Int, _ cout: Int) throws(ModelError) -> TransposedConv2D {
            let w = try store.takeWeight(name, shape: [cin, cout, 3, 3], weightNorm: wn)
            let b = try store.take("\(name).bias", shape: [cout])
            return TransposedConv2D(weights: w, bias: b, inChannels: cin, outChannels: cout)
        }
        func number(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

        inputConv = try conv("conv01_1", c, 3, 7)
        inputNorm = try norm("in01_1", c)
        down = [
            Stage(convA: try conv("conv02_1", 2 * c, c, 3, stride: 2), convB: try conv("conv02_2", 2 * c, 2 * c, 3),
                  norm: try norm("in02_1", 2 * c)),
            Stage(convA: try conv("conv03_1", 4 * c, 2 * c, 3, stride: 2), convB: try conv("conv03_2", 4 * c, 4 * c, 3),
                  norm: try norm("in03_1", 4 * c)),
        ]
        var blocks: [Block] = []
        for i in 0..<architecture.residualBlocks {
            let n = number(4 + i)
            blocks.append(Block(conv1: try conv("conv\(n)_1", 4 * c, 4 * c, 3), norm1: try norm("in\(n)_1", 4 * c),
                                conv2: try conv("conv\(n)_2", 4 * c, 4 * c, 3), norm2: try norm("in\(n)_2", 4 * c)))
        }
        self.blocks = blocks
        let firstUpNorm = 4 + architecture.residualBlocks
        up = [
            UpStage(deconv: try deconv("deconv01_1", 4 * c, 2 * c), conv: try conv("deconv01_2", 2 * c, 2 * c, 3),
                    norm: try norm("in\(number(firstUpNorm))_1", 2 * c)),
            UpStage(deconv: try deconv("deconv02_1", 2 * c, c), conv: try conv("deconv02_2", c, c, 3),
                    norm: try norm("in\(number(firstUpNorm + 1))_1", c)),
        ]
        outputConv = try conv("deconv03_1", 3, c, 7)
        try store.checkAllTaken()
    }

    /// Output size for an input size: each stride-2 conv maps n → ⌈n/2⌉, each transposed conv n → 2n.
    public static func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        func quarter(_ n: Int) -> Int { ((n + 1) / 2 + 1) / 2 }
        return (4 * quarter(height), 4 * quarter(width))
    }

    /// Multiply-adds of one inference (2 FLOPs each, direct convolution).
    public func multiplyAdds(height: Int, width: Int) -> Int {
        var total = inputConv.multiplyAdds(height: height, width: width)
        var h = height, w = width
        for stage in down {
            total += stage.convA.multiplyAdds(height: h, width: w)
            (h, w) = stage.convA.outputSize(height: h, width: w)
            total += stage.convB.multiplyAdds(height: h, width: w)
        }
        for block in blocks {
            total += block.conv1.multiplyAdds(height: h, width: w) + block.conv2.multiplyAdds(height: h, width: w)
        }
        for stage in up {
            total += stage.deconv.multiplyAdds(height: h, width: w)
            (h, w) = (2 * h, 2 * w)
            total += stage.conv.multiplyAdds(height: h, width: w)
        }
        return total + outputConv.multiplyAdds(height: h, width: w)
    }

    /// Runs the network. `progress` receives the fraction of multiply-adds done after each layer;
    /// `isCancelled` is asked before each layer, and a `true` stops the run with `.cancelled`.
    /// The input is taken, not borrowed: from a caller that gives up its last copy (as
    /// `cartoonize` does), its block becomes the first layer's output (grown where it is), so
    /// it is not held beside the full-resolution maps (15 MB at 1280×960).
    public func callAsFunction(_ input: consuming Tensor, threads: Int = 1,
                               progress: (Double) -> Void = { _ in },
                               isCancelled: () -> Bool = { false }) throws(ModelError) -> Tensor {
        guard input.height >= Self.minimumSide, input.width >= Self.minimumSide else {
            throw .inputTooSmall(width: input.width, height: input.height)
        }
        precondition(input.channels == 3, "the generator takes 3 channels")
        let total = Double(multiplyAdds(height: input.height, width: input.width))
        var done = 0.0
        func step(_ work: Int) throws(ModelError) {
            done += Double(work)
            progress(min(done / total, 1))
            if done < total && isCancelled() { throw .cancelled }
        }
        if isCancelled() { throw .cancelled }

        let inputWork = inputConv.multiplyAdds(height: input.height, width: input.width)
        var x = consume input
        inputConv.apply(&x, threads: threads) // in place: the block grows from 3 to 64 channels
        inputNorm.apply(&x, epilogue: .relu, threads: threads)
        try step(inputWork)

        for stage in down {
            let work = stage.convA.multiplyAdds(height: x.height, width: x.width)
            stage.convA.apply(&x, threads: threads) // stride 2, in place: the block shrinks
            try step(work)
            let work2 = stage.convB.multiplyAdds(height: x.height, width: x.width)
            stage.convB.apply(&x, threads: threads) // in place: no second tensor of x's size
            stage.norm.apply(&x, epilogue: .relu, threads: threads)
            try step(work2)
        }
        var spare: Tensor? = nil // the previous block's input: the next block's first conv writes into it
        for block in blocks {
            let work = block.conv1.multiplyAdds(height: x.height, width: x.width)
            var t = block.conv1(x, reusing: &spare, threads: threads)
            block.norm1.apply(&t, epilogue: .relu, threads: threads)
            try step(work)
            block.conv2.apply(&t, threads: threads)
            block.norm2.apply(&t, epilogue: .add(x), threads: threads)
            spare = x
            x = t
            try step(work)
        }
        spare = nil // given back before the decoder grows the map (79 MB at 1280×960)
        for stage in up {
            let work = stage.deconv.multiplyAdds(height: x.height, width: x.width)
            stage.deconv.apply(&x, threads: threads) // in place: the block grows
            try step(work)
            let work2 = stage.conv.multiplyAdds(height: x.height, width: x.width)
            stage.conv.apply(&x, threads: threads)
            stage.norm.apply(&x, epilogue: .relu, threads: threads)
            try step(work2)
        }
        let work = outputConv.multiplyAdds(height: x.height, width: x.width)
        x = outputConv(x, threads: threads, activation: .tanh)
        try step(work)
        return x
    }
}
