import ImageIO
import Testing
import TestSupport

@Suite("EXIF orientation")
struct OrientationTests {
    /// Where the visual top-left corner lies in the *stored* pixels for each orientation
    /// (TIFF 6.0 / EXIF 2.32 table: "0th row / 0th column" → visual side).
    static let storedCornerOfVisualTopLeft: [ExifOrientation: (right: Bool, bottom: Bool)] = [
        .up: (false, false), .upMirrored: (true, false), .down: (true, true),
        .downMirrored: (false, true), .leftMirrored: (false, false), .right: (false, true),
        .rightMirrored: (true, true), .left: (true, false),
    ]

    /// Builds the stored pixels a camera would write for `upright` with orientation `o`:
    /// stored (xs, ys) shows upright pixel `source(xs, ys)`.
    static func stored(_ upright: RGBImage, _ o: ExifOrientation) -> RGBImage {
        let W = o.swapsDimensions ? upright.height : upright.width
        let H = o.swapsDimensions ? upright.width : upright.height
        var s = RGBImage(width: W, height: H)
        for ys in 0..<H {
            for xs in 0..<W {
                let (ux, uy): (Int, Int) = switch o {
                case .up: (xs, ys)
                case .upMirrored: (W - 1 - xs, ys)
                case .down: (W - 1 - xs, H - 1 - ys)
                case .downMirrored: (xs, H - 1 - ys)
                case .leftMirrored: (ys, xs)
                case .right: (H - 1 - ys, xs)
                case .rightMirrored: (H - 1 - ys, W - 1 - xs)
                case .left: (ys, W - 1 - xs)
                }
                s[xs, ys] = upright[ux, uy]
            }
        }
        return s
    }

    @Test("stored fixtures put the visual top-left where the EXIF table says", arguments: ExifOrientation.allCases)
    func fixturesFollowTheSpec(o: ExifOrientation) {
        let upright = RGBImage.makeQuadrants(width: 48, height: 32) // red quadrant at top-left
        let s = Self.stored(upright, o)
        let corner = Self.storedCornerOfVisualTopLeft[o]!
        #expect(s[corner.right ? s.width - 1 : 0, corner.bottom ? s.height - 1 : 0] == RGB(255, 0, 0))
    }

    @Test("a JPEG with EXIF orientation decodes upright", arguments: ExifOrientation.allCases, [false, true])
    func jpegComesOutUpright(o: ExifOrientation, bigEndian: Bool) throws {
        // Landscape 48×32 upright; orientations 5–8 store it as a 32×48 portrait.
        let upright = RGBImage.makeQuadrants(width: 48, height: 32)
        let plain = try ImageEncoder.jpeg(Self.stored(upright, o), quality: 95)
        let jpeg = JPEGFixture.inserting(JPEGFixture.exifSegment(orientation: o.rawValue, bigEndian: bigEndian), into: plain)

        let info = try ImageDecoder.info(jpeg)
        #expect(info.orientation == o)
        #expect(info.displayWidth == 48 && info.displayHeight == 32)

        let decoded = try ImageDecoder.decode(jpeg).image
        #expect(decoded.width == 48 && decoded.height == 32)
        #expect(psnr(decoded, upright) > 30)
        // Quadrant centres are unambiguous whatever JPEG does at the edges.
        #expect(maxDifference(decoded.cropped(x: 8, y: 4, width: 8, height: 8),
                              upright.cropped(x: 8, y: 4, width: 8, height: 8)) <= 8)
        #expect(maxDifference(decoded.cropped(x: 32, y: 20, width: 8, height: 8),
                              upright.cropped(x: 32, y: 20, width: 8, height: 8)) <= 8)
    }

    @Test("the transform matches the fixture builder exactly", arguments: ExifOrientation.allCases)
    func transformIsExact(o: ExifOrientation) {
        let upright = RGBImage.makeGradient(width: 7, height: 5)
        #expect(Self.stored(upright, o).applyingOrientation(o) == upright)
    }

    @Test("unknown or malformed orientation data is ignored")
    func malformedExif() throws {
        let plain = try ImageEncoder.jpeg(RGBImage.makeGradient(width: 16, height: 8))
        for value in [0, 9, 300] {
            let jpeg = JPEGFixture.inserting(JPEGFixture.exifSegment(orientation: value, bigEndian: true), into: plain)
            #expect(try ImageDecoder.info(jpeg).orientation == .up)
        }
        // An APP1 whose IFD offset points far outside the segment.
        var segment = JPEGFixture.exifSegment(orientation: 6, bigEndian: true)
        segment[4 + 6 + 4 ..< 4 + 6 + 8] = [0x7F, 0xFF, 0xFF, 0xFF]
        let broken = JPEGFixture.inserting(segment, into: plain)
        #expect(try ImageDecoder.decode(broken).image.width == 16)
    }
}
