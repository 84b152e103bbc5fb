import Foundation

/// Group normalisation over one image: channels split into `groups` equal groups, each
/// normalised by the mean and standard deviation of all its values over H × W, then scaled and
/// shifted per channel. Instance norm is `groups == channels`.
///
/// Statistics are accumulated in Double: in float32 the error of the sums grows with the image
/// and reaches 1e-2 in the output at 1280×720.
///
/// Scalar reference:
///
///     n = H · W · (C / groups); for each group g:
///     mean = Σ x / n;  var = Σ x² / n − mean²   (population variance, in Double)
///     y = (x − mean) · γ[c] / d + β[c],  d = std + ε  or  sqrt(var + ε)  (see `Epsilon`)
///     then optionally y = max(y, 0), or y += residual
public struct GroupNorm: Sendable {
    /// Where ε enters the denominator: CartoonGAN's instance norm divides by `std + 1e-9`;
    /// PyTorch's GroupNorm by `sqrt(var + 1e-5)`.
    public enum Epsilon: Sendable, Equatable {
        case addedToStd(Double)
        case addedToVariance(Double)
    }

    /// What to do after normalising.
    public enum Epilogue: Sendable {
        case none
        case relu
        case add(Tensor)
    }

    public let channels: Int
    public let groups: Int
    public let epsilon: Epsilon
    let gamma: [Float]
    let beta: [Float]

    public init(channels: Int, groups: Int, gamma: [Float], beta: [Float], epsilon: Epsilon) {
        precondition(groups >= 1 && channels % groups == 0, "\(channels) channels do not split into \(groups) groups")
        precondition(gamma.count == channels && beta.count == channels)
        self.channels = channels
        self.groups = groups
        self.gamma = gamma
        self.beta = beta
        self.epsilon = epsilon
    }

    /// Per-channel Σx and Σx² in Double, pixels split across threads. Pixels are taken in blocks
    /// of 32 that stay in L1; for each 16-channel group the block's sums are kept in Double
    /// registers, then added to the thread's totals.
    func channelSums(_ x: Tensor, threads: Int) -> (sum: [Double], squares: [Double]) {
        let c = channels, pixels = x.height * x.width
        let ranges = partition(pixels, parts: balancedParts(threads), granule: 64)
        var partial = [Double](repeating: 0, count: ranges.count * 2 * c)
        x.storage.withUnsafeBufferPointer { src in
            partial.withUnsafeMutableBufferPointer { acc in
                let input = SharedPointer(UnsafeMutablePointer(mutating: src.baseAddress!))
                let sums = SharedPointer(acc.baseAddress!)
                parallelFor(chunks: ranges.count, threads: threads) { chunk in
                    // Each chunk owns acc[chunk · 2c ..< (chunk + 1) · 2c].
                    let s = sums.base + chunk * 2 * c, q = s + c
                    let range = ranges[chunk]
                    var block = range.lowerBound
                    while block < range.upperBound {
                        let end = min(block + 32, range.upperBound)
                        var ch = 0
                        while ch + 16 <= c {
                            var s0 = SIMD8<Double>(), s1 = SIMD8<Double>(), q0 = SIMD8<Double>(), q1 = SIMD8<Double>()
                            var p = UnsafePointer(input.base) + block * c + ch
                            for _ in block..<end {
                                let v = load16(p)
                                let lo = SIMD8<Double>(v.lowHalf), hi = SIMD8<Double>(v.highHalf)
                                s0 += lo; s1 += hi
                                q0 = q0.addingProduct(lo, lo); q1 = q1.addingProduct(hi, hi)
                                p += c
                            }
                            for l in 0..<8 {
                                s[ch + l] += s0[l]; s[ch + 8 + l] += s1[l]
                                q[ch + l] += q0[l]; q[ch + 8 + l] += q1[l]
                            }
                            ch += 16
                        }
                        while ch < c {
                            for p in block..<end {
                                let v = Double(input.base[p * c + ch])
                                s[ch] += v
                                q[ch] += v * v
                            }
                            ch += 1
                        }
                        block = end
                    }
                }
            }
        }
        var sum = [Double](repeating: 0, count: c), squares = [Double](repeating: 0, count: c)
        for chunk in 0..<ranges.count {
            for ch in 0..<c {
                sum[ch] += partial[chunk * 2 * c + ch]
                squares[ch] += partial[chunk * 2 * c + c + ch]
            }
        }
        return (sum, squares)
    }

    /// Normalises `x` in place and applies the epilogue.
    public func apply(_ x: inout Tensor, epilogue: Epilogue = .none, threads: Int = 1) {
        precondition(x.channels == channels, "expected \(channels) channels, got \(x.channels)")
        let (sum, squares) = channelSums(x, threads: threads)
        let perGroup = channels / groups
        let n = Double(x.height * x.width * perGroup)
        // y = (x − mean) · scale + β, per channel.
        var mean = [Float](repeating: 0, count: channels), scale = [Float](repeating: 0, count: channels)
        for g in 0..<groups {
            let range = (g * perGroup)..<((g + 1) * perGroup)
            let m = range.reduce(0.0) { $0 + sum[$1] } / n
            let variance = max(range.reduce(0.0) { $0 + squares[$1] } / n - m * m, 0)
            let denominator: Double = switch epsilon {
            case let .addedToStd(e): variance.squareRoot() + e
            case let .addedToVariance(e): (variance + e).squareRoot()
            }
            for ch in range {
                mean[ch] = Float(m)
                scale[ch] = Float(Double(gamma[ch]) / denominator)
            }
        }
        let c = channels, pixels = x.height * x.width
        let ranges = partition(pixels, parts: balancedParts(threads), granule: 64)
        let residual: Tensor? = if case let .add(r) = epilogue { r } else { nil }
        let relu: Bool = if case .relu = epilogue { true } else { false }
        if let residual { precondition(residual.count == x.count, "residual shape differs") }
        let means = mean, scales = scale, shifts = beta
        let residualStorage = residual?.storage ?? []
        x.storage.withUnsafeMutableBufferPointer { data in
            residualStorage.withUnsafeBufferPointer { res in
                let out = SharedPointer(data.baseAddress!)
                // An empty array may still have a base address: decide by the epilogue.
                let add = residual == nil ? nil : res.baseAddress.map { SharedPointer(UnsafeMutablePointer(mutating: $0)) }
                parallelFor(chunks: ranges.count, threads: threads) { chunk in
                    means.withUnsafeBufferPointer { m in
                        scales.withUnsafeBufferPointer { k in
                            shifts.withUnsafeBufferPointer { b in
                                let range = ranges[chunk]
                                Self.normalize(out.base + range.lowerBound * c, pixels: range.count, channels: c,
                                               mean: m, scale: k, shift: b, relu: relu,
                                               residual: add.map { UnsafePointer($0.base + range.lowerBound * c) })
                            }
                        }
                    }
                }
            }
        }
    }

    /// y = (x − mean[c]) · scale[c] + shift[c], then ReLU or + residual, in place, 16 channels
    /// at a time. `relu` and `residual` are loop-invariant: the compiler hoists the tests.
    @inline(__always)
    static func normalize(_ rows: UnsafeMutablePointer<Float>, pixels: Int, channels c: Int,
                          mean m: UnsafeBufferPointer<Float>, scale k: UnsafeBufferPointer<Float>,
                          shift b: UnsafeBufferPointer<Float>, relu: Bool, residual: UnsafePointer<Float>?) {
        let mp = m.baseAddress!, kp = k.baseAddress!, bp = b.baseAddress!
        for p in 0..<pixels {
            let row = rows + p * c
            var ch = 0
            while ch + 16 <= c {
                var y = (load16(row + ch) - load16(mp + ch)) * load16(kp + ch) + load16(bp + ch)
                if relu { y.replace(with: 0, where: y .< 0) }
                if let residual { y += load16(residual + p * c + ch) }
                store16(y, row + ch)
                ch += 16
            }
            while ch < c {
                var y = (row[ch] - mp[ch]) * kp[ch] + bp[ch]
                if relu { y = max(y, 0) }
                if let residual { y += residual[p * c + ch] }
                row[ch] = y
                ch += 1
            }
        }
    }
}

extension Tensor {
    /// Element-wise tanh, in place.
    public mutating func applyTanh() {
        for i in storage.indices { storage[i] = tanhf(storage[i]) }
    }
}
