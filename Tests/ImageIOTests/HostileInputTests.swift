import ImageIO
import Testing
import TestSupport

/// Broken and hostile files: each must give the right typed error, never a crash, hang or
/// allocation the size of what a header merely claims.
@Suite("Broken and hostile inputs")
struct HostileInputTests {
    enum Expected: Sendable {
        case empty, unsupported, fileTooLarge, sideTooLong, tooManyPixels, invalidDimensions
        case truncated(ImageFormat), corrupt(ImageFormat), unsupportedVariant(ImageFormat)

        func matches(_ error: ImageError) -> Bool {
            switch (self, error) {
            case (.empty, .empty), (.unsupported, .unsupportedFormat), (.fileTooLarge, .fileTooLarge),
                 (.sideTooLong, .sideTooLong), (.tooManyPixels, .tooManyPixels),
                 (.invalidDimensions, .invalidDimensions):
                return true
            case let (.truncated(f), .truncated(g)): return f == g
            case let (.corrupt(f), .corrupt(g, _)): return f == g
            case let (.unsupportedVariant(f), .unsupportedVariant(g, _)): return f == g
            default: return false
            }
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let expected: Expected
        var limits = ImageLimits.default
        var testDescription: String { name }
    }

    static let jpeg = try! ImageEncoder.jpeg(RGBImage.makeGradient(width: 64, height: 48), quality: 90)
    static let progressive = try! ImageEncoder.jpeg(RGBImage.makeGradient(width: 64, height: 48), quality: 90, progressive: true)
    static let png = try! ImageEncoder.png(RGBImage.makeGradient(width: 64, height: 48))

    /// Offset of the first byte of entropy-coded data (after the SOS segment).
    static func scanStart(_ jpeg: [UInt8]) -> Int {
        var i = 2
        while jpeg[i + 1] != 0xDA { i += 2 + (Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3])) }
        return i + 2 + (Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3]))
    }

    /// A PNG that is only a signature, IHDR and IEND, claiming any size.
    static func pngClaiming(width: Int, height: Int) -> [UInt8] {
        var ihdr = PNGFixture.be32(width) + PNGFixture.be32(height)
        ihdr += [8, 2, 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + PNGFixture.chunk("IHDR", ihdr) + PNGFixture.chunk("IEND", [])
    }

    /// The valid JPEG with its SOF0 dimensions rewritten.
    static func jpegClaiming(width: Int, height: Int) -> [UInt8] {
        var bytes = jpeg
        var i = 2
        while bytes[i + 1] != 0xC0 { i += 2 + (Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])) }
        // SOF: length(2) precision(1) height(2) width(2) — ITU T.81 B.2.2.
        bytes[i + 5] = UInt8(height >> 8); bytes[i + 6] = UInt8(height & 0xFF)
        bytes[i + 7] = UInt8(width >> 8); bytes[i + 8] = UInt8(width & 0xFF)
        return bytes
    }

    static var cases: [Case] {
        var random = SeededRandom(seed: 42)
        let noise = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) }
        let scan = scanStart(jpeg)
        var badHuffman = jpeg
        // 0xFF 0x00 is a stuffed 0xFF: a run of all-ones bits no Huffman table can decode.
        for i in stride(from: scan + 20, to: scan + 60, by: 2) { badHuffman[i] = 0xFF; badHuffman[i + 1] = 0x00 }
        var badCRC = png
        badCRC[png.count - 20] ^= 0x55 // inside IDAT: its CRC no longer matches
        var badDeflate = png
        // Rewrite IDAT's payload start (the zlib header) and fix up the CRC: valid chunk, bad stream.
        let idat = (0..<png.count - 4).first { Array(png[$0..<$0 + 4]) == Array("IDAT".utf8) }!
        badDeflate[idat + 4] = 0xFF; badDeflate[idat + 5] = 0xFF
        let length = Int(png[idat - 4]) << 24 | Int(png[idat - 3]) << 16 | Int(png[idat - 2]) << 8 | Int(png[idat - 1])
        badDeflate.replaceSubrange((idat - 4)..<(idat + 8 + length),
                                   with: PNGFixture.chunk("IDAT", Array(badDeflate[(idat + 4)..<(idat + 4 + length)])))
        return [
            Case(name: "zero bytes", bytes: [], expected: .empty),
            Case(name: "random bytes", bytes: noise, expected: .unsupported),
            Case(name: "text file", bytes: Array("hello, this is not an image\n".utf8), expected: .unsupported),
            Case(name: "GIF magic", bytes: Array("GIF89a".utf8) + noise[0..<100], expected: .unsupported),
            Case(name: "PNG with one signature byte wrong", bytes: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0B] + png[8...], expected: .unsupported),
            Case(name: "JPEG SOI only", bytes: [0xFF, 0xD8, 0xFF], expected: .truncated(.jpeg)),
            Case(name: "JPEG magic then noise", bytes: [0xFF, 0xD8, 0xFF] + noise, expected: .corrupt(.jpeg)),
            Case(name: "JPEG truncated in the header", bytes: Array(jpeg[0..<(scan - 40)]), expected: .corrupt(.jpeg)),
            Case(name: "JPEG truncated in the scan", bytes: Array(jpeg[0..<(scan + (jpeg.count - scan) / 2)]), expected: .truncated(.jpeg)),
            Case(name: "progressive JPEG truncated", bytes: Array(progressive[0..<(progressive.count * 2 / 3)]), expected: .truncated(.jpeg)),
            Case(name: "JPEG with a corrupt scan", bytes: badHuffman, expected: .corrupt(.jpeg)),
            Case(name: "JPEG claiming 60000×60000", bytes: jpegClaiming(width: 60000, height: 60000), expected: .sideTooLong),
            // Height 0 means "given later by a DNL marker" (T.81 B.2.5), which libjpeg does not support.
            Case(name: "JPEG claiming 0 height", bytes: jpegClaiming(width: 64, height: 0), expected: .unsupportedVariant(.jpeg)),
            Case(name: "PNG signature only", bytes: Array(png[0..<8]), expected: .truncated(.png)),
            Case(name: "PNG truncated in IHDR", bytes: Array(png[0..<20]), expected: .truncated(.png)),
            Case(name: "PNG truncated in IDAT", bytes: Array(png[0..<(png.count / 2)]), expected: .truncated(.png)),
            Case(name: "PNG with a bad IDAT CRC", bytes: badCRC, expected: .corrupt(.png)),
            Case(name: "PNG with a corrupt deflate stream", bytes: badDeflate, expected: .corrupt(.png)),
            Case(name: "PNG claiming 100000×100000", bytes: pngClaiming(width: 100_000, height: 100_000), expected: .sideTooLong),
            Case(name: "PNG claiming 15000×15000", bytes: pngClaiming(width: 15_000, height: 15_000), expected: .tooManyPixels),
            Case(name: "PNG claiming 0×0", bytes: pngClaiming(width: 0, height: 0), expected: .invalidDimensions),
            Case(name: "PNG claiming 2^31×1", bytes: pngClaiming(width: 1 << 31, height: 1), expected: .sideTooLong),
            Case(name: "file over the byte limit", bytes: png, expected: .fileTooLarge,
                 limits: ImageLimits(maxBytes: 100)),
            Case(name: "image over a lowered pixel limit", bytes: jpeg, expected: .tooManyPixels,
                 limits: ImageLimits(maxPixels: 64 * 48 - 1)),
        ]
    }

    @Test("each broken input yields the right error", arguments: cases)
    func hostile(_ c: Case) {
        for operation in ["decode", "info"] {
            do {
                if operation == "decode" {
                    _ = try ImageDecoder.decode(c.bytes, limits: c.limits)
                } else {
                    _ = try ImageDecoder.info(c.bytes, limits: c.limits)
                }
                // Some damage is only visible when decoding pixels; info may pass it.
                if operation == "decode" { Issue.record("\(c.name): decoded without error") }
            } catch {
                if operation == "info", case .truncated = c.expected { continue }
                if operation == "info", case .corrupt = c.expected { continue }
                #expect(c.expected.matches(error), "\(c.name) (\(operation)): got \(error)")
            }
        }
    }

    @Test("errors read as sentences a person understands")
    func messages() {
        #expect(ImageError.unsupportedFormat.description == "not a JPEG or PNG file")
        #expect(ImageError.tooManyPixels(width: 12000, height: 9000, limit: 40_000_000).description
                == "image is 12000×9000, the limit is 40 megapixels")
        #expect(ImageError.fileTooLarge(bytes: 30_200_000, limit: 25_000_000).description
                == "file is 30.2 MB, the limit is 25 MB")
        #expect(ImageError.corrupt(.jpeg, detail: "bad Huffman code").description == "corrupt JPEG data (bad Huffman code)")
        #expect(ImageError.truncated(.png).description == "the PNG file is incomplete (truncated)")
    }

    /// Mutation fuzzing with a fixed seed: every mutant must decode or throw ImageError
    /// (typed throws guarantee the type; a crash or hang fails the run).
    @Test("randomly damaged files never crash the decoder", arguments: [ImageFormat.jpeg, .png])
    func mutations(format: ImageFormat) {
        let original = format == .jpeg ? Self.jpeg : Self.png
        var random = SeededRandom(seed: format == .jpeg ? 7 : 11)
        var outcomes = (decoded: 0, refused: 0)
        for _ in 0..<300 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                let i = Int.random(in: 2..<bytes.count, using: &random)
                bytes[i] = UInt8.random(in: 0...255, using: &random)
            }
            if Bool.random(using: &random) { bytes.removeLast(Int.random(in: 0..<bytes.count / 2, using: &random)) }
            do {
                let result = try ImageDecoder.decode(bytes)
                #expect(result.image.pixels.count == result.image.width * result.image.height * 3)
                outcomes.decoded += 1
            } catch {
                outcomes.refused += 1
            }
        }
        #expect(outcomes.decoded + outcomes.refused == 300)
        #expect(outcomes.refused > 0)
    }
}
