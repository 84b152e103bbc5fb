/// A float32 feature map of one image, NHWC with N = 1: element (y, x, c) lives at
/// `(y * width + x) * channels + c`, so a pixel's channels are contiguous (what the conv
/// micro-kernels stream) and a row of pixels is one contiguous run.
public struct Tensor: Sendable, Equatable {
    public let height: Int
    public let width: Int
    public let channels: Int
    public var storage: [Float]

    public init(height: Int, width: Int, channels: Int, storage: [Float]) {
        precondition(height > 0 && width > 0 && channels > 0, "tensor dimensions must be positive")
        precondition(storage.count == height * width * channels, "storage does not match [\(height), \(width), \(channels)]")
        self.height = height
        self.width = width
        self.channels = channels
        self.storage = storage
    }

    public init(height: Int, width: Int, channels: Int, repeating value: Float = 0) {
        self.init(height: height, width: width, channels: channels,
                  storage: [Float](repeating: value, count: height * width * channels))
    }

    /// A layer's output, left unzeroed because its kernel writes every element before anything
    /// reads one. Zeroing first cost one thread ~100 ms at 1280×720 × 64 channels (236 MB of
    /// page faults and stores) before the kernel's threads wrote the same memory again.
    init(uninitializedHeight height: Int, width: Int, channels: Int) {
        let count = height * width * channels
        // Float is trivial: its memory needs no initialisation beyond the kernel's writes, and
        // every caller's kernel writes all `count` elements (Conv2D, TransposedConv2D, Winograd).
        let storage = [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        self.init(height: height, width: width, channels: channels, storage: storage)
    }

    public var count: Int { storage.count }

    public subscript(y: Int, x: Int, c: Int) -> Float {
        get { storage[(y * width + x) * channels + c] }
        set { storage[(y * width + x) * channels + c] = newValue }
    }
}

/// How a convolution sees the pixels beyond the border.
public enum PaddingMode: String, Sendable, Codable {
    /// Mirror without repeating the edge sample: `c b | a b c d | c b` (PyTorch ReflectionPad2d).
    case reflect
    /// Zeros.
    case zero
}

extension PaddingMode {
    /// Where coordinate `i` of a padded axis reads from on the unpadded axis of `size`: itself
    /// inside, mirrored outside (reflect; needs `-size < i < 2 · size - 1`), or nil for a zero.
    @inline(__always)
    func source(_ i: Int, size: Int) -> Int? {
        if i >= 0 && i < size { return i }
        if self == .zero { return nil }
        return i < 0 ? -i : 2 * (size - 1) - i
    }
}

extension Tensor {
    /// The tensor with `top/left/bottom/right` extra rows and columns filled per `mode`.
    /// Reflection needs `amount < size` on each axis.
    public func padded(top: Int, left: Int, bottom: Int, right: Int, mode: PaddingMode) -> Tensor {
        if top == 0 && left == 0 && bottom == 0 && right == 0 { return self }
        precondition(mode == .zero || (max(top, bottom) < height && max(left, right) < width),
                     "reflect padding of \(max(top, bottom, left, right)) needs more than a \(height)×\(width) input")
        let outH = height + top + bottom, outW = width + left + right, c = channels
        var out = [Float](repeating: 0, count: outH * outW * c)
        func source(_ i: Int, _ n: Int) -> Int? { mode.source(i, size: n) }
        storage.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<outH {
                    guard let sy = source(y - top, height) else { continue }
                    // Interior of the row: one contiguous copy.
                    let interior = dst.baseAddress! + (y * outW + left) * c
                    interior.update(from: src.baseAddress! + sy * width * c, count: width * c)
                    for x in 0..<outW where x < left || x >= left + width {
                        guard let sx = source(x - left, width) else { continue }
                        (dst.baseAddress! + (y * outW + x) * c).update(from: src.baseAddress! + (sy * width + sx) * c, count: c)
                    }
                }
            }
        }
        return Tensor(height: outH, width: outW, channels: c, storage: out)
    }
}
