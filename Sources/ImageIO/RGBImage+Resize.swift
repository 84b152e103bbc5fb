import Foundation

/// Resampling filters. Downscaling widens each filter by the scale factor so every input pixel
/// contributes (no aliasing); upscaling interpolates.
public enum ResampleFilter: String, Sendable, CaseIterable {
    /// Lanczos with a = 3: sharp, the default for photos.
    case lanczos
    /// Box / area averaging: each output pixel is the mean of the input pixels it covers.
    case area

    var support: Double {
        switch self {
        case .lanczos: 3
        case .area: 0.5
        }
    }

    func weight(_ x: Double) -> Double {
        switch self {
        case .lanczos:
            // sinc(x) · sinc(x / 3) on (-3, 3).
            if x <= -3 || x >= 3 { return 0 }
            return Self.sinc(x) * Self.sinc(x / 3)
        case .area:
            return (x >= -0.5 && x < 0.5) ? 1 : 0
        }
    }

    private static func sinc(_ x: Double) -> Double {
        if x == 0 { return 1 }
        let px = Double.pi * x
        return sin(px) / px
    }
}

extension RGBImage {
    /// Resamples to exactly `width × height` with a separable filter: a horizontal pass into an
    /// 8-bit intermediate, then a vertical pass. Weights are fixed-point with 22 fractional bits.
    /// This is the scheme Pillow's `Image.resize` uses, so results match it (the golden inputs of
    /// the generator tests were made with Pillow's LANCZOS).
    public func resized(width newWidth: Int, height newHeight: Int, filter: ResampleFilter = .lanczos) -> RGBImage {
        precondition(newWidth > 0 && newHeight > 0, "target size must be positive")
        if newWidth == width && newHeight == height { return self }
        var current = self
        if newWidth != width {
            let table = ResampleTable(inSize: width, outSize: newWidth, filter: filter)
            current = current.resampledHorizontally(table)
        }
        if newHeight != height {
            let table = ResampleTable(inSize: height, outSize: newHeight, filter: filter)
            current = current.resampledVertically(table)
        }
        return current
    }

    /// Scales down (never up) so neither side exceeds `maxSide`, keeping the aspect ratio.
    public func fitting(maxSide: Int, filter: ResampleFilter = .lanczos) -> RGBImage {
        precondition(maxSide > 0, "maxSide must be positive")
        let (w, h) = Self.fittedSize(width: width, height: height, maxSide: maxSide)
        return resized(width: w, height: h, filter: filter)
    }

    /// The size `fitting(maxSide:)` produces.
    public static func fittedSize(width: Int, height: Int, maxSide: Int) -> (width: Int, height: Int) {
        let longest = max(width, height)
        guard longest > maxSide else { return (width, height) }
        let scale = Double(maxSide) / Double(longest)
        let w = width >= height ? maxSide : max(1, Int((Double(width) * scale).rounded()))
        let h = height > width ? maxSide : max(1, Int((Double(height) * scale).rounded()))
        return (w, h)
    }

    private func resampledHorizontally(_ table: ResampleTable) -> RGBImage {
        let outW = table.outSize
        var out = [UInt8](repeating: 0, count: outW * height * 3)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                table.weights.withUnsafeBufferPointer { weights in
                    for y in 0..<height {
                        let row = y * width * 3
                        for x in 0..<outW {
                            let first = table.first[x], taps = table.count[x]
                            let k = x * table.stride
                            var r = ResampleTable.half, g = ResampleTable.half, b = ResampleTable.half
                            for t in 0..<taps {
                                let s = row + (first + t) * 3
                                let w = weights[k + t]
                                r &+= Int32(src[s]) &* w
                                g &+= Int32(src[s + 1]) &* w
                                b &+= Int32(src[s + 2]) &* w
                            }
                            let d = (y * outW + x) * 3
                            dst[d] = ResampleTable.clip(r)
                            dst[d + 1] = ResampleTable.clip(g)
                            dst[d + 2] = ResampleTable.clip(b)
                        }
                    }
                }
            }
        }
        return RGBImage(width: outW, height: height, pixels: out)
    }

    private func resampledVertically(_ table: ResampleTable) -> RGBImage {
        let outH = table.outSize
        let rowBytes = width * 3
        var out = [UInt8](repeating: 0, count: width * outH * 3)
        var accumulator = [Int32](repeating: 0, count: rowBytes)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                table.weights.withUnsafeBufferPointer { weights in
                    accumulator.withUnsafeMutableBufferPointer { acc in
                        for y in 0..<outH {
                            // Row-wise accumulation keeps the inner loop contiguous.
                            for i in 0..<rowBytes { acc[i] = ResampleTable.half }
                            let first = table.first[y], taps = table.count[y]
                            for t in 0..<taps {
                                let w = weights[y * table.stride + t]
                                let s = (first + t) * rowBytes
                                for i in 0..<rowBytes { acc[i] &+= Int32(src[s + i]) &* w }
                            }
                            let d = y * rowBytes
                            for i in 0..<rowBytes { dst[d + i] = ResampleTable.clip(acc[i]) }
                        }
                    }
                }
            }
        }
        return RGBImage(width: width, height: outH, pixels: out)
    }
}

/// For each output coordinate: the first input coordinate, the number of taps, and fixed-point
/// weights that sum to 1 (before rounding).
struct ResampleTable {
    static let precisionBits: Int32 = 22 // 32 bits − 8 for the pixel − 2 for headroom
    static let half: Int32 = 1 << (precisionBits - 1)

    let outSize: Int
    let stride: Int
    var first: [Int]
    var count: [Int]
    var weights: [Int32]

    init(inSize: Int, outSize: Int, filter: ResampleFilter) {
        self.outSize = outSize
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        stride = Int(support.rounded(.up)) * 2 + 1
        first = [Int](repeating: 0, count: outSize)
        count = [Int](repeating: 0, count: outSize)
        weights = [Int32](repeating: 0, count: outSize * stride)
        var k = [Double](repeating: 0, count: stride)
        for o in 0..<outSize {
            // Output pixel o covers input [o·scale, (o+1)·scale); its centre is at (o + ½)·scale.
            let center = (Double(o) + 0.5) * scale
            let lo = max(Int(center - support + 0.5), 0)
            let hi = min(Int(center + support + 0.5), inSize)
            let taps = max(hi - lo, 0)
            var total = 0.0
            for t in 0..<taps {
                let w = filter.weight((Double(t + lo) - center + 0.5) / filterScale)
                k[t] = w
                total += w
            }
            for t in 0..<taps {
                let w = total != 0 ? k[t] / total : 0
                // Round half away from zero into fixed point.
                let scaled = w * Double(1 << Self.precisionBits)
                weights[o * stride + t] = Int32(scaled < 0 ? scaled - 0.5 : scaled + 0.5)
            }
            first[o] = lo
            count[o] = taps
        }
    }

    /// Fixed point → 8 bits. The accumulator started at ½, so the shift rounds to nearest.
    @inline(__always)
    static func clip(_ value: Int32) -> UInt8 {
        let v = value >> precisionBits
        return v <= 0 ? 0 : (v >= 255 ? 255 : UInt8(truncatingIfNeeded: v))
    }
}
