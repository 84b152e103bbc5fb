import CartoonGAN
import Foundation
import Kernels
import Testing
import TestSupport

/// A small generator's tensors, under the published names, with random values.
enum SmallModel {
    static func tensors(_ a: GeneratorArchitecture, seed: UInt64) -> TensorStore {
        var random = SeededRandom(seed: seed)
        var store = TensorStore()
        let c = a.baseChannels
        func add(_ name: String, _ shape: [Int], scale: Float = 0.3) {
            let n = shape.reduce(1, *)
            store[name] = .init(shape: shape, values: (0..<n).map { _ in Float.random(in: -scale...scale, using: &random) })
        }
        func conv(_ name: String, _ cout: Int, _ cin: Int, _ k: Int) {
            if a.weightNorm {
                add("\(name).weight_v", [cout, cin, k, k])
                add("\(name).weight_g", [cout, 1, 1, 1], scale: 2)
            } else {
                add("\(name).weight", [cout, cin, k, k])
            }
            add("\(name).bias", [cout])
        }
        func deconv(_ name: String, _ cin: Int, _ cout: Int) {
            if a.weightNorm {
                add("\(name).weight_v", [cin, cout, 3, 3])
                add("\(name).weight_g", [cin, 1, 1, 1], scale: 2) // PyTorch weight_norm: dim 0
            } else {
                add("\(name).weight", [cin, cout, 3, 3])
            }
            add("\(name).bias", [cout])
        }
        func norm(_ name: String, _ channels: Int) {
            add("\(name).scale", [channels], scale: 1.5)
            add("\(name).shift", [channels])
        }
        func number(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        conv("conv01_1", c, 3, 7); norm("in01_1", c)
        conv("conv02_1", 2 * c, c, 3); conv("conv02_2", 2 * c, 2 * c, 3); norm("in02_1", 2 * c)
        conv("conv03_1", 4 * c, 2 * c, 3); conv("conv03_2", 4 * c, 4 * c, 3); norm("in03_1", 4 * c)
        for i in 0..<a.residualBlocks {
            let n = number(4 + i)
            conv("conv\(n)_1", 4 * c, 4 * c, 3); norm("in\(n)_1", 4 * c)
            conv("conv\(n)_2", 4 * c, 4 * c, 3); norm("in\(n)_2", 4 * c)
        }
        deconv("deconv01_1", 4 * c, 2 * c); conv("deconv01_2", 2 * c, 2 * c, 3); norm("in\(number(4 + a.residualBlocks))_1", 2 * c)
        deconv("deconv02_1", 2 * c, c); conv("deconv02_2", c, c, 3); norm("in\(number(5 + a.residualBlocks))_1", c)
        conv("deconv03_1", 3, c, 7)
        return store
    }
}

/// The whole generator in Double, written from the definitions (DESIGN.md §7) with nothing
/// shared with the engine: arrays [H][W][C] flattened, reflect padding by index arithmetic.
struct NaiveGenerator {
    let a: GeneratorArchitecture
    let t: TensorStore

    struct Map { var h: Int, w: Int, c: Int, v: [Double] }

    func weight(_ name: String, _ shape: [Int]) -> [Double] {
        guard a.weightNorm else { return t[name + ".weight"]!.values.map(Double.init) }
        let v = t[name + ".weight_v"]!.values.map(Double.init), g = t[name + ".weight_g"]!.values.map(Double.init)
        let inner = v.count / shape[0]
        var w = v
        for o in 0..<shape[0] {
            let norm = (0..<inner).map { v[o * inner + $0] * v[o * inner + $0] }.reduce(0, +).squareRoot()
            for i in 0..<inner { w[o * inner + i] = g[o] * v[o * inner + i] / norm }
        }
        return w
    }

    func reflect(_ i: Int, _ n: Int) -> Int { i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i) }

    func conv(_ x: Map, _ name: String, _ cout: Int, _ k: Int, stride: Int = 1) -> Map {
        let w = weight(name, [cout, x.c, k, k]), b = t[name + ".bias"]!.values
        let p = k / 2, oh = (x.h + 2 * p - k) / stride + 1, ow = (x.w + 2 * p - k) / stride + 1
        var out = [Double](repeating: 0, count: oh * ow * cout)
        for y in 0..<oh { for xx in 0..<ow { for o in 0..<cout {
            var s = Double(b[o])
            for i in 0..<k { for j in 0..<k {
                let sy = reflect(y * stride + i - p, x.h), sx = reflect(xx * stride + j - p, x.w)
                for c in 0..<x.c { s += x.v[(sy * x.w + sx) * x.c + c] * w[((o * x.c + c) * k + i) * k + j] }
            } }
            out[(y * ow + xx) * cout + o] = s
        } } }
        return Map(h: oh, w: ow, c: cout, v: out)
    }

    func deconv(_ x: Map, _ name: String, _ cout: Int) -> Map {
        let w = weight(name, [x.c, cout, 3, 3]), b = t[name + ".bias"]!.values
        let oh = 2 * x.h, ow = 2 * x.w
        var out = (0..<(oh * ow * cout)).map { Double(b[$0 % cout]) }
        for iy in 0..<x.h { for ix in 0..<x.w { for ky in 0..<3 { for kx in 0..<3 {
            let oy = 2 * iy + ky - 1, ox = 2 * ix + kx - 1
            if oy < 0 || ox < 0 || oy >= oh || ox >= ow { continue }
            for c in 0..<x.c { for o in 0..<cout {
                out[(oy * ow + ox) * cout + o] += x.v[(iy * x.w + ix) * x.c + c] * w[((c * cout + o) * 3 + ky) * 3 + kx]
            } }
        } } } }
        return Map(h: oh, w: ow, c: cout, v: out)
    }

    func norm(_ x: Map, _ name: String, relu: Bool = true, add: Map? = nil) -> Map {
        let gamma = t[name + ".scale"]!.values, beta = t[name + ".shift"]!.values
        let groups = a.normGroups ?? x.c, per = x.c / groups
        var out = x
        for g in 0..<groups {
            var values: [Double] = []
            for p in 0..<(x.h * x.w) { for c in (g * per)..<((g + 1) * per) { values.append(x.v[p * x.c + c]) } }
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
            let d = a.epsilonAddedToVariance ? (variance + a.epsilon).squareRoot() : variance.squareRoot() + a.epsilon
            for p in 0..<(x.h * x.w) { for c in (g * per)..<((g + 1) * per) {
                var y = (x.v[p * x.c + c] - mean) / d * Double(gamma[c]) + Double(beta[c])
                if relu { y = max(y, 0) }
                if let add { y += add.v[p * x.c + c] }
                out.v[p * x.c + c] = y
            } }
        }
        return out
    }

    func callAsFunction(_ input: Tensor) -> Map {
        let c = a.baseChannels
        func number(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        var x = Map(h: input.height, w: input.width, c: 3, v: input.storage.map(Double.init))
        x = norm(conv(x, "conv01_1", c, 7), "in01_1")
        x = norm(conv(conv(x, "conv02_1", 2 * c, 3, stride: 2), "conv02_2", 2 * c, 3), "in02_1")
        x = norm(conv(conv(x, "conv03_1", 4 * c, 3, stride: 2), "conv03_2", 4 * c, 3), "in03_1")
        for i in 0..<a.residualBlocks {
            let n = number(4 + i)
            let y = norm(conv(x, "conv\(n)_1", 4 * c, 3), "in\(n)_1")
            x = norm(conv(y, "conv\(n)_2", 4 * c, 3), "in\(n)_2", relu: false, add: x)
        }
        x = norm(conv(deconv(x, "deconv01_1", 2 * c), "deconv01_2", 2 * c, 3), "in\(number(4 + a.residualBlocks))_1")
        x = norm(conv(deconv(x, "deconv02_1", c), "deconv02_2", c, 3), "in\(number(5 + a.residualBlocks))_1")
        x = conv(x, "deconv03_1", 3, 7)
        x.v = x.v.map { tanh($0) }
        return x
    }
}

@Suite("Model loading and architectures")
struct ModelLoadingTests {
    static let gnwn = GeneratorArchitecture(baseChannels: 8, residualBlocks: 2, normGroups: 4, weightNorm: true,
                                            epsilon: 1e-5, epsilonAddedToVariance: true)
    static let instance = GeneratorArchitecture(baseChannels: 4, residualBlocks: 1)

    @Test("group norm + weight norm models run through the same engine, matching a naive reference",
          arguments: [gnwn, instance])
    func matchesNaiveReference(architecture: GeneratorArchitecture) throws {
        let tensors = SmallModel.tensors(architecture, seed: 3)
        let generator = try Generator(weights: tensors, architecture: architecture)
        var random = SeededRandom(seed: 9)
        for (h, w) in [(9, 11), (12, 8)] {
            let input = Tensor(height: h, width: w, channels: 3,
                               storage: (0..<(h * w * 3)).map { _ in Float.random(in: 0...255, using: &random) })
            let output = try generator(input, threads: 2)
            let reference = NaiveGenerator(a: architecture, t: tensors)(input)
            #expect((output.height, output.width) == (reference.h, reference.w))
            let maxDiff = zip(output.storage, reference.v).map { abs(Double($0) - $1) }.max() ?? .infinity
            #expect(maxDiff < 1e-4, "max |diff| \(maxDiff)")
        }
    }

    @Test("a run can be cancelled between layers")
    func cancellation() throws {
        let generator = try Generator(weights: SmallModel.tensors(Self.instance, seed: 4), architecture: Self.instance)
        let input = Tensor(height: 8, width: 8, channels: 3, repeating: 100)
        var layers = 0
        #expect(throws: ModelError.cancelled) {
            _ = try generator(input, progress: { _ in layers += 1 }, isCancelled: { layers >= 3 })
        }
        #expect(layers == 3)
        #expect(throws: ModelError.cancelled) { _ = try generator(input, isCancelled: { true }) }
        _ = try generator(input, isCancelled: { false })
    }

    @Test("the loader is strict, and its errors name the tensor")
    func strictLoading() throws {
        let good = SmallModel.tensors(Self.instance, seed: 1)
        var missing = good
        missing["in03_1.shift"] = nil
        #expect(throws: ModelError.missingTensor("in03_1.shift")) { try Generator(weights: missing, architecture: Self.instance) }

        var wrongShape = good
        wrongShape["conv02_2.weight"] = .init(shape: [8, 8, 3, 2], values: [Float](repeating: 0, count: 384))
        #expect(throws: ModelError.wrongShape("conv02_2.weight", expected: [8, 8, 3, 3], found: [8, 8, 3, 2])) {
            try Generator(weights: wrongShape, architecture: Self.instance)
        }

        var extra = good
        extra["conv99_1.weight"] = .init(shape: [1], values: [0])
        #expect(throws: ModelError.unusedTensors(["conv99_1.weight"])) { try Generator(weights: extra, architecture: Self.instance) }

        // Weight-norm tensors where plain weights are expected are refused, naming one.
        let weightNormed = SmallModel.tensors(Self.gnwn, seed: 1)
        #expect(throws: ModelError.self) {
            try Generator(weights: weightNormed, architecture: GeneratorArchitecture(baseChannels: 8, residualBlocks: 2, normGroups: 4))
        }
        #expect(throws: ModelError.invalidArchitecture("8 channels do not split into 3 groups")) {
            try Generator(weights: weightNormed, architecture: GeneratorArchitecture(baseChannels: 8, residualBlocks: 2, normGroups: 3))
        }
    }

    @Test("model files round-trip tensors, architecture and provenance", arguments: [gnwn, instance])
    func modelFileRoundTrip(architecture: GeneratorArchitecture) throws {
        let file = ModelFile(tensors: SmallModel.tensors(architecture, seed: 5), architecture: architecture,
                             metadata: ["style": "test", "source": "unit test"])
        let bytes = try file.serialized()
        let read = try ModelFile.parse(bytes, name: "test.safetensors")
        #expect(read.architecture == architecture)
        #expect(read.metadata["style"] == "test" && read.metadata["source"] == "unit test")
        #expect(read.tensors.entries == file.tensors.entries)
        #expect(read.sha256.count == 64)
        // The data begins 8-byte aligned after the header (safetensors convention).
        let headerLength = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        #expect((8 + headerLength) % 8 == 0)
    }

    @Test("damaged model files are refused with the reason", arguments: [
        ("empty", 0), ("header cut", 20), ("data cut", -4),
    ])
    func damagedModelFiles(name: String, cut: Int) throws {
        let file = ModelFile(tensors: SmallModel.tensors(Self.instance, seed: 2), architecture: Self.instance, metadata: [:])
        var bytes = try file.serialized()
        bytes = cut > 0 ? Array(bytes[0..<cut]) : (cut == 0 ? [] : Array(bytes.dropLast(-cut)))
        #expect(throws: ModelError.self) { try ModelFile.parse(bytes, name: name) }
    }

    @Test("the .npy reader refuses what it cannot read exactly")
    func npyErrors() throws {
        var header = Array("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }".utf8)
        while (10 + header.count + 1) % 64 != 0 { header.append(0x20) }
        header.append(0x0A)
        let bigEndian = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count), 0] + header + [UInt8](repeating: 0, count: 8)
        #expect(throws: ModelError.invalidFile("x.npy", "dtype '>f4' is not little-endian float32/float64")) {
            try NPY.parse(bigEndian, name: "x.npy")
        }
        let little = bigEndian.enumerated().map { $0.offset == 21 ? UInt8(ascii: "<") : $0.element }
        let parsed = try NPY.parse(little, name: "x.npy")
        #expect(parsed.shape == [2] && parsed.values == [0, 0])
        #expect(throws: ModelError.self) { try NPY.parse(Array(little.dropLast()), name: "x.npy") }
        #expect(throws: ModelError.self) { try NPY.parse(Array("not numpy".utf8), name: "x.npy") }
    }
}
