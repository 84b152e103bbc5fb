import CartoonGAN
import Foundation
import ImageIO
import Kernels
import Testing
import TestSupport

extension SharedData {
    static func generator(_ style: String) throws -> Generator {
        try Generator(weights: try NPYDirectory.load(url("weights/cartoongan/\(style)")))
    }
}

/// The published models must reproduce the reference outputs (testdata/golden/README.md): raw
/// tanh output within 1e-4, PNG within one level on at most 0.1% of values. Real bugs (channel
/// order, padding, transposed-conv crop) are errors above 1.0; unbiased variance shows as 1.7e-4.
@Suite("Golden outputs of the published models")
struct GoldenTests {
    @Test("generator matches the reference output", arguments: [
        ("coffee_104x156", "hayao"), ("coffee_104x156", "shinkai"),
        ("chelsea_97x131", "hayao"), ("chelsea_97x131", "shinkai"),
    ])
    func golden(name: String, style: String) throws {
        let generator = try SharedData.generator(style)
        let input = try ImageDecoder.decode(try SharedData.bytes("testdata/golden/\(name)_input.png")).image
        var fractions: [Double] = []
        let output = try generator(Generator.inputTensor(from: input), threads: 2) { fractions.append($0) }

        let reference = try NPY.parse(try SharedData.bytes("testdata/golden/\(name)_\(style)_output.npy"), name: name)
        #expect(reference.shape == [1, output.height, output.width, 3])
        let expectedSize = Generator.outputSize(height: input.height, width: input.width)
        #expect((output.height, output.width) == expectedSize)
        let maxDiff = zip(output.storage, reference.values).map { abs($0 - $1) }.max() ?? .infinity
        #expect(maxDiff <= 1e-4, "max |diff| \(maxDiff)")

        let png = Generator.image(fromOutput: output, height: output.height, width: output.width)
        let golden = try ImageDecoder.decode(try SharedData.bytes("testdata/golden/\(name)_\(style)_output.png")).image
        let diffs = zip(png.pixels, golden.pixels).map { abs(Int($0) - Int($1)) }
        let differing = diffs.filter { $0 != 0 }.count
        #expect(diffs.max() ?? 99 <= 1)
        #expect(Double(differing) <= 0.001 * Double(diffs.count), "\(differing) of \(diffs.count) values differ")
        print("golden \(name) \(style): max |diff| \(maxDiff), PNG values differing \(differing)/\(diffs.count)")

        // Progress is honest: increasing, ending at 1.
        #expect(fractions == fractions.sorted() && fractions.last == 1)
    }

    @Test("cartoonize keeps the input's size (odd sizes are cropped back)")
    func keepsSize() throws {
        let generator = try SharedData.generator("hayao")
        let input = try ImageDecoder.decode(try SharedData.bytes("testdata/golden/chelsea_97x131_input.png")).image
        let result = try generator.cartoonize(input, threads: 2)
        #expect(result.width == 131 && result.height == 97)
        let golden = try ImageDecoder.decode(try SharedData.bytes("testdata/golden/chelsea_97x131_hayao_output.png")).image
        let diffs = zip(result.pixels, golden.cropped(x: 0, y: 0, width: 131, height: 97).pixels)
            .map { abs(Int($0) - Int($1)) }
        #expect(diffs.max() ?? 99 <= 1)
        #expect(Double(diffs.filter { $0 != 0 }.count) <= 0.001 * Double(diffs.count))
    }

    @Test("inputs smaller than 5×5 get a clear error", arguments: [(4, 9), (9, 4), (1, 1)])
    func tooSmall(size: (Int, Int)) throws {
        let generator = try SharedData.generator("paprika")
        let tiny = RGBImage(width: size.0, height: size.1, fill: RGB(100, 150, 200))
        #expect(throws: ModelError.inputTooSmall(width: size.0, height: size.1)) {
            try generator.cartoonize(tiny)
        }
    }

    @Test("the smallest and odd sizes run", arguments: [(5, 5), (5, 9), (7, 6), (13, 11)])
    func smallSizes(size: (Int, Int)) throws {
        let generator = try SharedData.generator("hosoda")
        var image = RGBImage(width: size.0, height: size.1)
        for i in image.pixels.indices { image.pixels[i] = UInt8(i * 37 % 256) }
        let out = try generator(Generator.inputTensor(from: image), threads: 2)
        #expect((out.height, out.width) == Generator.outputSize(height: size.1, width: size.0))
        #expect(out.storage.allSatisfy { $0.isFinite && abs($0) <= 1 })
    }
}
