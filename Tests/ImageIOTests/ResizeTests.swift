import ImageIO
import Testing
import TestSupport

@Suite("Resize and crop")
struct ResizeTests {
    /// The golden inputs were made with Pillow: chelsea cropped to (23, 0, 428, 300) then LANCZOS
    /// to 131×97, and coffee LANCZOS to 156×104 (testdata/photos/SOURCES.md). Our resampler
    /// follows the same scheme, so it must reproduce them.
    @Test("Lanczos reproduces Pillow's output on the golden inputs", arguments: [
        ("testdata/photos/chelsea.png", [23, 0, 405, 300], "testdata/golden/chelsea_97x131_input.png"),
        ("testdata/photos/coffee.png", [0, 0, 600, 400], "testdata/golden/coffee_104x156_input.png"),
    ])
    func matchesPillow(photo: String, crop: [Int], golden: String) throws {
        let source = try ImageDecoder.decode(try SharedData.bytes(photo)).image
        let expected = try ImageDecoder.decode(try SharedData.bytes(golden)).image
        let resized = source.cropped(x: crop[0], y: crop[1], width: crop[2], height: crop[3])
            .resized(width: expected.width, height: expected.height, filter: .lanczos)
        #expect(resized.width == expected.width && resized.height == expected.height)
        let differing = zip(resized.pixels, expected.pixels).filter { $0 != $1 }.count
        #expect(maxDifference(resized, expected) <= 1)
        #expect(differing == 0, "\(differing) of \(expected.pixels.count) values differ")
    }

    @Test("a flat colour stays flat at any scale", arguments: ResampleFilter.allCases, [(7, 5), (1, 1), (640, 3), (31, 97)])
    func flatStaysFlat(filter: ResampleFilter, size: (Int, Int)) {
        let flat = RGBImage(width: 53, height: 41, fill: RGB(12, 200, 99))
        let out = flat.resized(width: size.0, height: size.1, filter: filter)
        #expect(out.width == size.0 && out.height == size.1)
        #expect(out == RGBImage(width: size.0, height: size.1, fill: RGB(12, 200, 99)))
    }

    @Test("area downscaling by an integer factor is the block mean")
    func areaIsBlockMean() {
        var image = RGBImage(width: 4, height: 2)
        let values: [UInt8] = [0, 10, 20, 30, 40, 50, 60, 70]
        for i in 0..<8 { image[i % 4, i / 4] = RGB(values[i], values[i], values[i]) }
        let out = image.resized(width: 2, height: 1, filter: .area)
        // (0 + 10 + 40 + 50) / 4 = 25, (20 + 30 + 60 + 70) / 4 = 45
        #expect(out[0, 0] == RGB(25, 25, 25))
        #expect(out[1, 0] == RGB(45, 45, 45))
    }

    @Test("downscaling a fine checkerboard gives grey, not aliasing", arguments: ResampleFilter.allCases)
    func noAliasing(filter: ResampleFilter) {
        var board = RGBImage(width: 300, height: 200)
        for y in 0..<200 { for x in 0..<300 where (x + y) % 2 == 0 { board[x, y] = RGB(255, 255, 255) } }
        let out = board.resized(width: 37, height: 23, filter: filter)
        for value in out.pixels { #expect(abs(Int(value) - 128) <= 8) }
    }

    @Test("fitting keeps the aspect ratio and never enlarges", arguments: [
        (4032, 3024, 1280, 1280, 960), (3024, 4032, 1280, 960, 1280), (100, 50, 1280, 100, 50),
        (1000, 1, 10, 10, 1), (1280, 1280, 1280, 1280, 1280), (1281, 3, 1280, 1280, 3),
    ])
    func fittedSize(w: Int, h: Int, maxSide: Int, ew: Int, eh: Int) {
        let size = RGBImage.fittedSize(width: w, height: h, maxSide: maxSide)
        #expect(size.width == ew && size.height == eh)
    }

    @Test("crops take the right pixels")
    func crops() {
        let image = RGBImage.makeGradient(width: 10, height: 6)
        let crop = image.cropped(x: 3, y: 2, width: 4, height: 3)
        #expect(crop.width == 4 && crop.height == 3)
        #expect(crop[0, 0] == image[3, 2] && crop[3, 2] == image[6, 4])

        let wide = image.centerCropped(aspectWidth: 1, aspectHeight: 1)
        #expect(wide.width == 6 && wide.height == 6 && wide[0, 0] == image[2, 0])
        let tall = RGBImage.makeGradient(width: 4, height: 9).centerCropped(aspectWidth: 4, aspectHeight: 3)
        #expect(tall.width == 4 && tall.height == 3)
    }
}
