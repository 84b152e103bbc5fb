import CPNG
import Foundation

/// PNG through libpng's simplified `png_image` API, which reports errors in a message field
/// (libpng's `setjmp` stays inside C). Handles 8/16-bit, palette, grey, alpha, tRNS and Adam7.
enum PNGCodec {
    struct Header {
        var width: Int
        var height: Int
        var bitDepth: Int
        var colorType: Int
        var isInterlaced: Bool
    }

    /// Reads IHDR ourselves (PNG spec §11.2.2) so dimensions are checked before libpng runs.
    static func header(_ bytes: UnsafeBufferPointer<UInt8>) throws(ImageError) -> Header {
        // Signature (8) + IHDR length (4) + "IHDR" (4) + 13 bytes of data.
        guard bytes.count >= 8 + 8 + 13 else { throw .truncated(.png) }
        let ihdr: [UInt8] = [0x49, 0x48, 0x44, 0x52]
        guard Array(bytes[12..<16]) == ihdr else {
            throw .corrupt(.png, detail: "the first chunk is not IHDR")
        }
        func u32(_ at: Int) -> Int {
            Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
        }
        return Header(width: u32(16), height: u32(20), bitDepth: Int(bytes[24]),
                      colorType: Int(bytes[25]), isInterlaced: bytes[28] == 1)
    }

    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, header: Header) throws(ImageError) -> RGBImage {
        var image = png_image()
        image.version = png_uint_32(artworker_png_image_version)
        // png_image_free is safe to call at any point, and more than once.
        defer { png_image_free(&image) }
        guard png_image_begin_read_from_memory(&image, bytes.baseAddress, bytes.count) != 0 else {
            throw classify(image)
        }
        guard Int(image.width) == header.width, Int(image.height) == header.height else {
            throw .corrupt(.png, detail: "inconsistent header")
        }
        // Untagged 16-bit files are sRGB-encoded in practice (browsers treat them so); libpng's
        // default would take them as linear light and brighten them.
        image.flags |= png_uint_32(artworker_png_flag_16bit_srgb)
        if header.bitDepth == 16 && header.isInterlaced {
            return try decodeInterlaced16(&image, header: header)
        }
        image.format = png_uint_32(artworker_png_format_rgb)
        // Transparent pixels are composited onto white, as a page would show them.
        var white = png_color(red: 255, green: 255, blue: 255)
        var buffer = [UInt8](repeating: 0, count: header.width * header.height * 3)
        let ok = buffer.withUnsafeMutableBytes { out in
            png_image_finish_read(&image, &white, out.baseAddress, Int32(header.width * 3), nil)
        }
        guard ok != 0 else { throw classify(image) }
        return RGBImage(width: header.width, height: header.height, pixels: buffer)
    }

    /// libpng 1.6.39 as patched by Debian (the fix for pnggroup/libpng#755) decodes Adam7 16-bit
    /// files wrongly when 8-bit output is requested (pnggroup/libpng#853: stale rows in
    /// png_image_read_direct_scaled). Its 16-bit linear path is unaffected, so read that and do
    /// the compositing and 8-bit sRGB encoding here, with libpng's own gamma (1/2.2).
    private static func decodeInterlaced16(_ image: inout png_image, header: Header) throws(ImageError) -> RGBImage {
        image.format = png_uint_32(artworker_png_format_flag_linear | artworker_png_format_flag_color
                                   | artworker_png_format_flag_alpha)
        let count = header.width * header.height
        var linear = [UInt16](repeating: 0, count: count * 4)
        let ok = linear.withUnsafeMutableBytes { out in
            png_image_finish_read(&image, nil, out.baseAddress, Int32(header.width * 4), nil)
        }
        guard ok != 0 else { throw classify(image) }
        let encode = linearToSRGB
        var rgb = [UInt8](repeating: 0, count: count * 3)
        for i in 0..<count {
            // Linear output carries associated (premultiplied) alpha: add white times (1 − α).
            let uncovered = 65535 - Int(linear[i * 4 + 3])
            for c in 0..<3 {
                rgb[i * 3 + c] = encode[min(Int(linear[i * 4 + c]) + uncovered, 65535)]
            }
        }
        return RGBImage(width: header.width, height: header.height, pixels: rgb)
    }

    /// 16-bit linear light → 8-bit with the power curve libpng uses for sRGB (γ = 2.2).
    private static let linearToSRGB: [UInt8] = (0...65535).map { v in
        UInt8((255 * pow(Double(v) / 65535, 1 / 2.2)).rounded())
    }

    static func encode(_ rgb: RGBImage) throws(ImageError) -> [UInt8] {
        var image = png_image()
        image.version = png_uint_32(artworker_png_image_version)
        image.width = png_uint_32(rgb.width)
        image.height = png_uint_32(rgb.height)
        image.format = png_uint_32(artworker_png_format_rgb)
        defer { png_image_free(&image) }
        let stride = Int32(rgb.width * 3)
        let written: [UInt8]? = rgb.pixels.withUnsafeBytes { src in
            // One pass into a buffer that fits the worst case: asking for the size first (a
            // NULL buffer) compresses the whole image once just to measure it. The bound is
            // png.h's PNG_IMAGE_PNG_SIZE_MAX (a C macro Swift cannot import), with slack.
            let data = (rgb.width * 3 + 1) * rgb.height // filter byte + row
            let deflated = data + (data + 7) / 8 + (data + 63) / 64 + 11 // PNG_ZLIB_MAX_SIZE
            var size = png_alloc_size_t(deflated + 12 * (deflated / 1024 + 1) + 4096)
            var output = [UInt8](repeating: 0, count: Int(size))
            var ok = output.withUnsafeMutableBytes { out in
                png_image_write_to_memory(&image, out.baseAddress, &size, 0, src.baseAddress, stride, nil)
            }
            if ok == 0, Int(size) > output.count { // too small after all: `size` now says what is needed
                output = [UInt8](repeating: 0, count: Int(size))
                ok = output.withUnsafeMutableBytes { out in
                    png_image_write_to_memory(&image, out.baseAddress, &size, 0, src.baseAddress, stride, nil)
                }
            }
            guard ok != 0 else { return nil }
            output.removeSubrange(Int(size)...)
            return output
        }
        guard let written else { throw .encodingFailed(.png, detail: message(image)) }
        return written
    }

    private static func classify(_ image: png_image) -> ImageError {
        let text = message(image)
        let truncation = ["Read Error", "Not enough image data", "read beyond end of data", "unexpected end", "EOF", "too short"]
        let lower = text.lowercased()
        if truncation.contains(where: { lower.contains($0.lowercased()) }) {
            return .truncated(.png)
        }
        return .corrupt(.png, detail: text)
    }

    private static func message(_ image: png_image) -> String {
        var copy = image.message
        let text = withUnsafeBytes(of: &copy) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return text.isEmpty ? "unknown error" : text
    }
}
