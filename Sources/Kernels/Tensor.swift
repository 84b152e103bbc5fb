/// A float32 feature map of one image, NHWC with N = 1: element (y, x, c) lives at
/// `(y * width + x) * channels + c`, so a pixel's channels are contiguous (what the conv
/// micro-kernels stream) and a row of pixels is one contiguous run.
public struct Tensor: Sendable, Equatable {
    public private(set) var height: Int
    public private(set) var width: Int
    public private(set) var channels: Int
    /// The floats, in a block that layers changing the tensor's size in place can resize
    /// (`TensorStorage`); a collection and copy-on-write like `[Float]`.
    public var storage: TensorStorage

    public init(height: Int, width: Int, channels: Int, storage: TensorStorage) {
        precondition(height > 0 && width > 0 && channels > 0, "tensor dimensions must be positive")
        precondition(storage.count == height * width * channels, "storage does not match [\(height), \(width), \(channels)]")
        self.height = height
        self.width = width
        self.channels = channels
        self.storage = storage
    }

    public init(height: Int, width: Int, channels: Int, storage: [Float]) {
        self.init(height: height, width: width, channels: channels, storage: TensorStorage(storage))
    }

    public init(height: Int, width: Int, channels: Int, repeating value: Float = 0) {
        self.init(height: height, width: width, channels: channels,
                  storage: TensorStorage(repeating: value, count: height * width * channels))
    }

    /// A layer's output, left unzeroed because its kernel writes every element before anything
    /// reads one. Zeroing first cost one thread ~100 ms at 1280×720 × 64 channels (236 MB of
    /// page faults and stores) before the kernel's threads wrote the same memory again.
    init(uninitializedHeight height: Int, width: Int, channels: Int) {
        // Float is trivial: its memory needs no initialisation beyond the kernel's writes, and
        // every caller writes all elements (Conv2D's kernels, TransposedConv2D, Winograd,
        // copyPaddedRows for `padded`).
        self.init(height: height, width: width, channels: channels,
                  storage: TensorStorage(uninitializedCount: height * width * channels))
    }

    /// Gives the tensor new dimensions over the same block, resized where it is (see
    /// `TensorStorage`): the first `min(old, new)` floats are kept, any new ones are
    /// uninitialised. For layers that write their output over their input.
    mutating func reshapeInPlace(height: Int, width: Int, channels: Int) {
        precondition(height > 0 && width > 0 && channels > 0, "tensor dimensions must be positive")
        storage.resize(to: height * width * channels)
        (self.height, self.width, self.channels) = (height, width, channels)
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

/// How a layer sees its input beyond the border: extra rows and columns on each side, filled
/// per `mode` (reflection needs each amount smaller than the input's side).
struct Padding: Sendable {
    var top = 0, left = 0, bottom = 0, right = 0
    var mode = PaddingMode.zero
}

/// Writes rows `rows` of the padded input (padded coordinates) into `buffer`, one after another,
/// each `(left + width + right) · channels` floats: the one padding rule, for a whole tensor
/// (`Tensor.padded`) or a band of rows at a time (`convolve`).
func copyPaddedRows(_ input: UnsafePointer<Float>, height: Int, width: Int, channels c: Int, padding: Padding,
                    rows: Range<Int>, into buffer: UnsafeMutablePointer<Float>) {
    let paddedWidth = padding.left + width + padding.right, rowFloats = paddedWidth * c
    for r in rows {
        let to = buffer + (r - rows.lowerBound) * rowFloats
        guard let sy = padding.mode.source(r - padding.top, size: height) else {
            to.update(repeating: 0, count: rowFloats)
            continue
        }
        let from = input + sy * width * c
        (to + padding.left * c).update(from: from, count: width * c)
        for x in 0..<paddedWidth where x < padding.left || x >= padding.left + width {
            if let sx = padding.mode.source(x - padding.left, size: width) {
                (to + x * c).update(from: from + sx * c, count: c)
            } else {
                (to + x * c).update(repeating: 0, count: c)
            }
        }
    }
}

extension Tensor {
    /// The tensor with `top/left/bottom/right` extra rows and columns filled per `mode`.
    /// Reflection needs `amount < size` on each axis.
    public func padded(top: Int, left: Int, bottom: Int, right: Int, mode: PaddingMode) -> Tensor {
        if top == 0 && left == 0 && bottom == 0 && right == 0 { return self }
        precondition(mode == .zero || (max(top, bottom) < height && max(left, right) < width),
                     "reflect padding of \(max(top, bottom, left, right)) needs more than a \(height)×\(width) input")
        let padding = Padding(top: top, left: left, bottom: bottom, right: right, mode: mode)
        var out = Tensor(uninitializedHeight: height + top + bottom, width: width + left + right, channels: channels)
        storage.withUnsafeBufferPointer { src in
            out.storage.withUnsafeMutableBufferPointer { dst in
                copyPaddedRows(src.baseAddress!, height: height, width: width, channels: channels, padding: padding,
                               rows: 0..<out.height, into: dst.baseAddress!)
            }
        }
        return out
    }
}

