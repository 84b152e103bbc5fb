import ImageIO
import Kernels

extension Generator {
    /// RGB pixels → the network's input: BGR, float32, values 0…255 (DESIGN.md §7).
    public static func inputTensor(from image: RGBImage) -> Tensor {
        var storage = [Float](repeating: 0, count: image.pixelCount * 3)
        for i in 0..<image.pixelCount {
            storage[i * 3] = Float(image.pixels[i * 3 + 2])
            storage[i * 3 + 1] = Float(image.pixels[i * 3 + 1])
            storage[i * 3 + 2] = Float(image.pixels[i * 3])
        }
        return Tensor(height: image.height, width: image.width, channels: 3, storage: storage)
    }

    /// The network's tanh output → RGB pixels: (y · 0.5 + 0.5) · 255 in float32, rounded half to
    /// even, clamped, BGR → RGB. The top-left `height × width` is kept (the output is top-left
    /// aligned with the input, and up to 3 rows and columns larger).
    public static func image(fromOutput output: Tensor, height: Int, width: Int) -> RGBImage {
        precondition(output.channels == 3 && height <= output.height && width <= output.width)
        var pixels = [UInt8](repeating: 0, count: height * width * 3)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 {
                    let v = ((output[y, x, 2 - c] * 0.5 + 0.5) * 255).rounded(.toNearestOrEven)
                    pixels[(y * width + x) * 3 + c] = UInt8(min(max(v, 0), 255))
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Cartoonizes a picture at its own size: the result has the input's dimensions.
    public func cartoonize(_ image: RGBImage, threads: Int = 1,
                           progress: (Double) -> Void = { _ in },
                           isCancelled: () -> Bool = { false }) throws(ModelError) -> RGBImage {
        let output = try self(Self.inputTensor(from: image), threads: threads, progress: progress, isCancelled: isCancelled)
        return Self.image(fromOutput: output, height: image.height, width: image.width)
    }
}
