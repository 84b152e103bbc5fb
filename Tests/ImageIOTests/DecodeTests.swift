import CTurboJPEG
import ImageIO
import Testing
import TestSupport

@Suite("Decoding and encoding")
struct DecodeTests {
    @Test("the shared photos decode at their stated sizes", arguments: [
        ("testdata/photos/chelsea.png", 451, 300),
        ("testdata/photos/coffee.png", 600, 400),
    ])
    func sharedPhotos(path: String, width: Int, height: Int) throws {
        let decoded = try ImageDecoder.decode(try SharedData.bytes(path))
        #expect(decoded.info.format == .png)
        #expect(decoded.image.width == width)
        #expect(decoded.image.height == height)
        // A real photo: many distinct colours, not a blank buffer.
        #expect(Set(decoded.image.pixels).count > 200)
    }

    @Test("PNG round-trips exactly", arguments: ["testdata/photos/chelsea.png", "testdata/photos/coffee.png"])
    func pngRoundTrip(path: String) throws {
        let original = try ImageDecoder.decode(try SharedData.bytes(path)).image
        let encoded = try ImageEncoder.png(original)
        #expect(ImageFormat.sniff(encoded) == .png)
        let decoded = try ImageDecoder.decode(encoded).image
        #expect(decoded == original)
    }

    /// JPEG is lossy: the stated bounds are what libjpeg-turbo achieves on these photos with
    /// margin (measured: ~40 dB at q95/4:4:4, ~34 dB at q75/4:2:0).
    @Test("JPEG round-trips within the stated PSNR", arguments: [
        (95, false, 37.0), (95, true, 37.0), (75, false, 30.0),
    ])
    func jpegRoundTrip(quality: Int, progressive: Bool, minimumPSNR: Double) throws {
        for path in ["testdata/photos/chelsea.png", "testdata/photos/coffee.png"] {
            let original = try ImageDecoder.decode(try SharedData.bytes(path)).image
            let encoded = try ImageEncoder.jpeg(original, quality: quality, progressive: progressive)
            let decoded = try ImageDecoder.decode(encoded)
            #expect(decoded.info.format == .jpeg)
            #expect(decoded.info.isProgressive == progressive)
            #expect(decoded.image.width == original.width && decoded.image.height == original.height)
            let quality = psnr(original, decoded.image)
            #expect(quality >= minimumPSNR, "\(path): \(quality) dB")
        }
    }

    @Test("a higher JPEG quality gives a larger, closer file")
    func jpegQualityMatters() throws {
        let original = RGBImage.makeGradient(width: 64, height: 48)
        let low = try ImageEncoder.jpeg(original, quality: 20)
        let high = try ImageEncoder.jpeg(original, quality: 98)
        #expect(high.count > low.count)
        #expect(psnr(original, try ImageDecoder.decode(high).image) > psnr(original, try ImageDecoder.decode(low).image))
    }

    // MARK: PNG variants, written byte by byte

    struct PNGCase: Sendable, CustomTestStringConvertible {
        let name: String
        let colorType: UInt8
        let bitDepth: UInt8
        let interlaced: Bool
        var testDescription: String { name }
    }

    /// Each variant encodes the same 13×7 gradient (odd sizes exercise Adam7's partial passes);
    /// decoding must give back exactly the 8-bit values.
    @Test("every PNG colour type and bit depth decodes exactly", arguments: [
        PNGCase(name: "RGB 8-bit", colorType: 2, bitDepth: 8, interlaced: false),
        PNGCase(name: "RGB 16-bit", colorType: 2, bitDepth: 16, interlaced: false),
        PNGCase(name: "RGB 8-bit interlaced", colorType: 2, bitDepth: 8, interlaced: true),
        PNGCase(name: "RGB 16-bit interlaced", colorType: 2, bitDepth: 16, interlaced: true),
        PNGCase(name: "RGBA 8-bit opaque", colorType: 6, bitDepth: 8, interlaced: false),
        PNGCase(name: "RGBA 16-bit opaque", colorType: 6, bitDepth: 16, interlaced: true),
        PNGCase(name: "grey 8-bit", colorType: 0, bitDepth: 8, interlaced: false),
        PNGCase(name: "grey 16-bit", colorType: 0, bitDepth: 16, interlaced: false),
        PNGCase(name: "grey + alpha 8-bit opaque", colorType: 4, bitDepth: 8, interlaced: false),
        PNGCase(name: "palette 8-bit", colorType: 3, bitDepth: 8, interlaced: false),
        PNGCase(name: "palette 8-bit interlaced", colorType: 3, bitDepth: 8, interlaced: true),
    ])
    func pngVariants(_ c: PNGCase) throws {
        let w = 13, h = 7
        let reference = RGBImage.makeGradient(width: w, height: h)
        let grey = c.colorType == 0 || c.colorType == 4
        let scale: UInt16 = c.bitDepth == 16 ? 257 : 1 // v·257 is v exactly in 16 bits
        var palette: [RGB] = []
        var index: [RGB: UInt16] = [:]
        if c.colorType == 3 {
            for y in 0..<h { for x in 0..<w where index[reference[x, y]] == nil {
                index[reference[x, y]] = UInt16(palette.count)
                palette.append(reference[x, y])
            } }
        }
        let png = PNGFixture.make(width: w, height: h, colorType: c.colorType, bitDepth: c.bitDepth,
                                  interlaced: c.interlaced, palette: palette) { x, y in
            let p = reference[x, y]
            let g = UInt16(p.g) * scale
            switch c.colorType {
            case 0: return [g]
            case 4: return [g, 255 * scale]
            case 3: return [index[p]!]
            case 6: return [UInt16(p.r) * scale, g, UInt16(p.b) * scale, 255 * scale]
            default: return [UInt16(p.r) * scale, g, UInt16(p.b) * scale]
            }
        }
        let decoded = try ImageDecoder.decode(png)
        #expect(decoded.info.isProgressive == c.interlaced)
        var expected = reference
        if grey {
            for y in 0..<h { for x in 0..<w { let g = reference[x, y].g; expected[x, y] = RGB(g, g, g) } }
        }
        if c.bitDepth == 16 && c.interlaced {
            // Decoded through libpng's linear path (see PNGCodec.decodeInterlaced16): a 16-bit
            // linear intermediate cannot hold the darkest 8-bit step exactly.
            #expect(maxDifference(decoded.image, expected) <= 1)
        } else {
            #expect(decoded.image == expected)
        }
    }

    @Test("sub-byte palette and greyscale PNGs decode", arguments: [1, 2, 4] as [UInt8])
    func subBytePNG(bitDepth: UInt8) throws {
        let w = 11, h = 5
        let levels = 1 << Int(bitDepth)
        let palette = (0..<levels).map { RGB(UInt8($0 * 255 / (levels - 1)), 10, 200) }
        let value = { (x: Int, y: Int) in UInt16((x + y) % levels) }
        let indexed = PNGFixture.make(width: w, height: h, colorType: 3, bitDepth: bitDepth,
                                      palette: palette) { x, y in [value(x, y)] }
        let grey = PNGFixture.make(width: w, height: h, colorType: 0, bitDepth: bitDepth) { x, y in [value(x, y)] }
        let fromPalette = try ImageDecoder.decode(indexed).image
        let fromGrey = try ImageDecoder.decode(grey).image
        for y in 0..<h {
            for x in 0..<w {
                #expect(fromPalette[x, y] == palette[Int(value(x, y))])
                let g = UInt8(Int(value(x, y)) * 255 / (levels - 1))
                #expect(fromGrey[x, y] == RGB(g, g, g))
            }
        }
    }

    @Test("transparent pixels are composited on white")
    func alphaOnWhite() throws {
        // Alpha 0 → white, 255 → the colour, 128 → in between (libpng blends in linear light).
        let alphas: [UInt16] = [0, 255, 128]
        let rgba = PNGFixture.make(width: 3, height: 1, colorType: 6, bitDepth: 8) { x, _ in [0, 0, 200, alphas[x]] }
        let image = try ImageDecoder.decode(rgba).image
        #expect(image[0, 0] == RGB(255, 255, 255))
        #expect(image[1, 0] == RGB(0, 0, 200))
        let mid = image[2, 0]
        #expect(mid.r > 0 && mid.r < 255 && mid.g == mid.r && mid.b > 200)

        // Palette transparency (tRNS): entry 0 fully transparent, entry 1 opaque.
        let indexed = PNGFixture.make(width: 2, height: 1, colorType: 3, bitDepth: 8,
                                      palette: [RGB(10, 20, 30), RGB(40, 50, 60)], transparency: [0, 255]) { x, _ in [UInt16(x)] }
        let decoded = try ImageDecoder.decode(indexed).image
        #expect(decoded[0, 0] == RGB(255, 255, 255))
        #expect(decoded[1, 0] == RGB(40, 50, 60))
    }

    // MARK: JPEG variants

    @Test("greyscale JPEG decodes to equal R, G and B")
    func greyscaleJPEG() throws {
        let w = 40, h = 24
        let grey = (0..<(w * h)).map { UInt8($0 % w * 255 / (w - 1)) }
        let jpeg = JPEGFixture.compress(grey, width: w, height: h, pixelFormat: TJPF_GRAY, subsampling: TJSAMP_GRAY)
        let decoded = try ImageDecoder.decode(jpeg)
        #expect(decoded.info.colorModel == "greyscale")
        for y in 0..<h {
            for x in 0..<w {
                let p = decoded.image[x, y]
                #expect(p.r == p.g && p.g == p.b)
                #expect(abs(Int(p.r) - Int(grey[y * w + x])) <= 4)
            }
        }
    }

    @Test("CMYK (YCCK) JPEG decodes to the right colours")
    func cmykJPEG() throws {
        // Adobe convention: stored values are inverted (255 = no ink), so with K = 255 the
        // C, M, Y planes carry R, G, B directly.
        let reference = RGBImage.makeQuadrants(width: 32, height: 32)
        var cmyk = [UInt8]()
        for i in 0..<reference.pixelCount {
            cmyk += [reference.pixels[i * 3], reference.pixels[i * 3 + 1], reference.pixels[i * 3 + 2], 255]
        }
        let jpeg = JPEGFixture.compress(cmyk, width: 32, height: 32, pixelFormat: TJPF_CMYK, subsampling: TJSAMP_444)
        let decoded = try ImageDecoder.decode(jpeg)
        #expect(decoded.info.colorModel == "YCCK")
        #expect(maxDifference(decoded.image.cropped(x: 4, y: 4, width: 8, height: 8),
                              reference.cropped(x: 4, y: 4, width: 8, height: 8)) <= 6)
        #expect(psnr(decoded.image, reference) > 25)
    }

    @Test("info reads the header without decoding", arguments: [ImageFormat.jpeg, .png])
    func infoOnly(format: ImageFormat) throws {
        let image = RGBImage.makeGradient(width: 21, height: 9)
        let bytes = try ImageEncoder.encode(image, as: format)
        let info = try ImageDecoder.info(bytes)
        #expect(info.format == format)
        #expect(info.width == 21 && info.height == 9)
        #expect(info.orientation == .up)
    }
}
