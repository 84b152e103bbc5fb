import ImageIO

/// Frame-by-frame stylisation shimmers: a pixel whose input barely changes still comes out a
/// little different each frame, because the network sees the whole new frame. The reducer holds
/// the output where the input has not changed since that output was made.
///
/// Per pixel, the input is reduced to luma and box-blurred 3×3 (so sensor noise alone does not
/// count as change), then compared with the input the held output was made from:
///
///     d = |Y_blur(t) − Y_ref|,  w = clamp((d − low) / (high − low), 0, 1)
///     out = held + w · (new − held);  Y_ref = Y_ref + w · (Y_blur(t) − Y_ref)
///
/// Comparing with the reference rather than the previous frame keeps a slow pan from drifting:
/// a held pixel is released as soon as its input has moved `high` from where it was made.
public struct FlickerReducer: Sendable {
    /// Below this change in blurred luma (0…255) the output is held.
    public var low: Float
    /// At and above this change the new output is taken whole.
    public var high: Float
    private var reference: [Float] = []
    private var held: [UInt8] = []
    private var width = 0, height = 0

    public init(low: Float = 3, high: Float = 10) {
        precondition(high > low && low >= 0)
        self.low = low
        self.high = high
    }

    /// The output to show for `input`, given the network's `output` for it.
    public mutating func apply(input: RGBImage, output: RGBImage) -> RGBImage {
        precondition(input.width == output.width && input.height == output.height)
        let luma = Self.blurredLuma(input)
        if input.width != width || input.height != height || held.isEmpty {
            width = input.width
            height = input.height
            reference = luma
            held = output.pixels
            return output
        }
        let span = high - low
        output.pixels.withUnsafeBufferPointer { fresh in
            held.withUnsafeMutableBufferPointer { out in
                reference.withUnsafeMutableBufferPointer { ref in
                    for i in 0..<luma.count {
                        let w = min(max((abs(luma[i] - ref[i]) - low) / span, 0), 1)
                        if w == 0 { continue }
                        ref[i] += w * (luma[i] - ref[i])
                        for c in 0..<3 {
                            let h = Float(out[i * 3 + c])
                            out[i * 3 + c] = UInt8((h + w * (Float(fresh[i * 3 + c]) - h)).rounded())
                        }
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: held)
    }

    /// Rec. 601 luma, then a 3×3 box (edges use the pixels that exist).
    static func blurredLuma(_ image: RGBImage) -> [Float] {
        let w = image.width, h = image.height
        var luma = [Float](repeating: 0, count: w * h)
        for i in 0..<(w * h) {
            luma[i] = 0.299 * Float(image.pixels[i * 3]) + 0.587 * Float(image.pixels[i * 3 + 1]) + 0.114 * Float(image.pixels[i * 3 + 2])
        }
        var rows = [Float](repeating: 0, count: w * h), out = rows
        for y in 0..<h {
            for x in 0..<w {
                var s: Float = 0, n: Float = 0
                for dx in max(x - 1, 0)...min(x + 1, w - 1) { s += luma[y * w + dx]; n += 1 }
                rows[y * w + x] = s / n
            }
        }
        for y in 0..<h {
            for x in 0..<w {
                var s: Float = 0, n: Float = 0
                for dy in max(y - 1, 0)...min(y + 1, h - 1) { s += rows[dy * w + x]; n += 1 }
                out[y * w + x] = s / n
            }
        }
        return out
    }
}

/// The flicker metric: the mean absolute change (0…255, averaged over R, G and B) between
/// consecutive output frames, over the pixels whose input changed by less than `threshold` in
/// every channel between the same two frames. Where the input is still, a perfect result would
/// not change at all: the figure is shimmer a viewer sees.
public struct FlickerMeter: Sendable {
    public var threshold: Int
    private var previous: (input: RGBImage, output: RGBImage)?
    private var total = 0.0
    private var pixels = 0
    private var everywhere = 0.0
    private var compared = 0

    public init(threshold: Int = 3) {
        self.threshold = threshold
    }

    public mutating func add(input: RGBImage, output: RGBImage) {
        defer { previous = (input, output) }
        guard let previous, previous.input.width == input.width, previous.input.height == input.height else { return }
        for i in 0..<input.pixelCount {
            var anyChange = 0
            for c in 0..<3 { anyChange += abs(Int(output.pixels[i * 3 + c]) - Int(previous.output.pixels[i * 3 + c])) }
            everywhere += Double(anyChange) / 3
            compared += 1
            var still = true
            for c in 0..<3 where abs(Int(input.pixels[i * 3 + c]) - Int(previous.input.pixels[i * 3 + c])) >= threshold {
                still = false
            }
            guard still else { continue }
            total += Double(anyChange) / 3
            pixels += 1
        }
    }

    /// The metric so far; nil before two frames with still pixels.
    public var value: Double? { pixels == 0 ? nil : total / Double(pixels) }
    /// How many pixel comparisons it rests on.
    public var stillPixels: Int { pixels }

    public var figures: FlickerFigures {
        FlickerFigures(still: value, overall: compared == 0 ? nil : everywhere / Double(compared),
                       stillShare: compared == 0 ? nil : Double(pixels) / Double(compared))
    }
}

/// What the flicker meter measured over a clip.
public struct FlickerFigures: Sendable, Equatable {
    /// The metric: mean output change where the input was still (0…255).
    public var still: Double?
    /// The same change over every pixel, motion included: for context.
    public var overall: Double?
    /// The share of compared pixels that were still.
    public var stillShare: Double?
}
