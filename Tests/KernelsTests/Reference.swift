import Foundation
import Kernels
import TestSupport

/// Naive Double-precision references, written from the definitions and nothing else.
enum Reference {
    static func padIndex(_ i: Int, _ n: Int, _ mode: PaddingMode) -> Int? {
        if i >= 0 && i < n { return i }
        if mode == .zero { return nil }
        return i < 0 ? -i : 2 * (n - 1) - i
    }

    /// weights [O, I, kh, kw]
    static func conv(_ x: Tensor, weights: [Float], bias: [Float], outChannels O: Int, kernel k: (Int, Int),
                     stride s: Int, padding p: Int, mode: PaddingMode) -> [Double] {
        let I = x.channels
        let outH = (x.height + 2 * p - k.0) / s + 1, outW = (x.width + 2 * p - k.1) / s + 1
        var out = [Double](repeating: 0, count: outH * outW * O)
        for y in 0..<outH { for xo in 0..<outW { for o in 0..<O {
            var acc = Double(bias[o])
            for i in 0..<k.0 { for j in 0..<k.1 {
                guard let sy = padIndex(y * s + i - p, x.height, mode),
                      let sx = padIndex(xo * s + j - p, x.width, mode) else { continue }
                for c in 0..<I {
                    acc += Double(x[sy, sx, c]) * Double(weights[((o * I + c) * k.0 + i) * k.1 + j])
                }
            } }
            out[(y * outW + xo) * O + o] = acc
        } } }
        return out
    }

    /// weights [I, O, 3, 3]; PyTorch ConvTranspose2d(stride 2, padding 1, output_padding 1).
    static func transposedConv(_ x: Tensor, weights: [Float], bias: [Float], outChannels O: Int) -> [Double] {
        let I = x.channels, outH = 2 * x.height, outW = 2 * x.width
        var out = [Double](repeating: 0, count: outH * outW * O)
        for i in 0..<(outH * outW) { out[i * O ..< (i + 1) * O].indices.forEach { out[$0] = Double(bias[$0 % O]) } }
        // Scatter form, straight from the definition: input (iy, ix) feeds (2iy + ky − 1, 2ix + kx − 1).
        for iy in 0..<x.height { for ix in 0..<x.width { for ky in 0..<3 { for kx in 0..<3 {
            let oy = 2 * iy + ky - 1, ox = 2 * ix + kx - 1
            guard oy >= 0, oy < outH, ox >= 0, ox < outW else { continue }
            for c in 0..<I { for o in 0..<O {
                out[(oy * outW + ox) * O + o] += Double(x[iy, ix, c]) * Double(weights[((c * O + o) * 3 + ky) * 3 + kx])
            } }
        } } } }
        return out
    }

    static func groupNorm(_ x: Tensor, groups: Int, gamma: [Float], beta: [Float], epsilon: GroupNorm.Epsilon) -> [Double] {
        let C = x.channels, per = C / groups, pixels = x.height * x.width
        var out = [Double](repeating: 0, count: x.count)
        for g in 0..<groups {
            var values: [Double] = []
            for p in 0..<pixels { for c in (g * per)..<((g + 1) * per) { values.append(Double(x.storage[p * C + c])) } }
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
            let d: Double = switch epsilon {
            case let .addedToStd(e): variance.squareRoot() + e
            case let .addedToVariance(e): (variance + e).squareRoot()
            }
            for p in 0..<pixels { for c in (g * per)..<((g + 1) * per) {
                out[p * C + c] = (Double(x.storage[p * C + c]) - mean) / d * Double(gamma[c]) + Double(beta[c])
            } }
        }
        return out
    }
}

extension SeededRandom {
    mutating func tensor(_ h: Int, _ w: Int, _ c: Int) -> Tensor {
        Tensor(height: h, width: w, channels: c, storage: floats(h * w * c))
    }
}

func maxError(_ a: some Collection<Float>, _ b: [Double]) -> Double {
    zip(a, b).map { abs(Double($0) - $1) }.max() ?? 0
}
