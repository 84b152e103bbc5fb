import CTurboJPEG
import CZlib
import Foundation
import ImageIO
import Testing
import TestSupport

extension RGBImage {
    /// A smooth test card: horizontal red ramp, vertical green ramp, diagonal blue.
    static func makeGradient(width: Int, height: Int) -> RGBImage {
        var image = RGBImage(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width {
                image[x, y] = RGB(UInt8(x * 255 / max(width - 1, 1)),
                                  UInt8(y * 255 / max(height - 1, 1)),
                                  UInt8((x + y) * 255 / max(width + height - 2, 1)))
            }
        }
        return image
    }

    /// Four flat quadrants (red, green, blue, white): orientation is visible at a glance and
    /// survives JPEG compression.
    static func makeQuadrants(width: Int, height: Int) -> RGBImage {
        var image = RGBImage(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width {
                let left = x < width / 2, top = y < height / 2
                image[x, y] = switch (left, top) {
                case (true, true): RGB(255, 0, 0)
                case (false, true): RGB(0, 255, 0)
                case (true, false): RGB(0, 0, 255)
                case (false, false): RGB(255, 255, 255)
                }
            }
        }
        return image
    }
}

/// Peak signal-to-noise ratio between two images of the same size, in dB.
func psnr(_ a: RGBImage, _ b: RGBImage) -> Double {
    precondition(a.width == b.width && a.height == b.height)
    var sum = 0.0
    for i in a.pixels.indices {
        let d = Double(a.pixels[i]) - Double(b.pixels[i])
        sum += d * d
    }
    let mse = sum / Double(a.pixels.count)
    return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
}

func maxDifference(_ a: RGBImage, _ b: RGBImage) -> Int {
    zip(a.pixels, b.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
}

/// Writes PNG files byte by byte (PNG spec §5, §11, §8.2 for Adam7), so the decoder is tested
/// on every colour type, bit depth and interlacing, independently of libpng's writer.
enum PNGFixture {
    /// `samples(x, y)` returns the pixel's samples at `bitDepth`: 1 for grey or palette index,
    /// 2 for grey + alpha, 3 for RGB, 4 for RGBA.
    static func make(width: Int, height: Int, colorType: UInt8, bitDepth: UInt8,
                     interlaced: Bool = false, palette: [RGB] = [], transparency: [UInt8] = [],
                     samples: (Int, Int) -> [UInt16]) -> [UInt8] {
        var raw = [UInt8]()
        let passes: [(x0: Int, y0: Int, dx: Int, dy: Int)] = interlaced
            ? [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            : [(0, 0, 1, 1)]
        for pass in passes {
            let xs = Array(stride(from: pass.x0, to: width, by: pass.dx))
            let ys = Array(stride(from: pass.y0, to: height, by: pass.dy))
            if xs.isEmpty || ys.isEmpty { continue } // empty passes have no rows (§8.2)
            for y in ys {
                raw.append(0) // filter type None
                var bits: [UInt16] = []
                for x in xs { bits.append(contentsOf: samples(x, y)) }
                raw.append(contentsOf: pack(bits, depth: Int(bitDepth)))
            }
        }
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var ihdr = be32(width) + be32(height)
        ihdr += [bitDepth, colorType, 0, 0, interlaced ? 1 : 0]
        png += chunk("IHDR", ihdr)
        if !palette.isEmpty { png += chunk("PLTE", palette.flatMap { [$0.r, $0.g, $0.b] }) }
        if !transparency.isEmpty { png += chunk("tRNS", transparency) }
        png += chunk("IDAT", deflate(raw))
        png += chunk("IEND", [])
        return png
    }

    static func pack(_ samples: [UInt16], depth: Int) -> [UInt8] {
        switch depth {
        case 16: return samples.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        case 8: return samples.map { UInt8($0) }
        default:
            // Sub-byte samples are packed most significant bits first; rows are byte-aligned.
            var out = [UInt8](), current = 0, used = 0
            for s in samples {
                current = current << depth | Int(s)
                used += depth
                if used == 8 { out.append(UInt8(current)); current = 0; used = 0 }
            }
            if used > 0 { out.append(UInt8(current << (8 - used))) }
            return out
        }
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        let crc = (typeBytes + data).withUnsafeBufferPointer { p in
            crc32(0, p.baseAddress, uInt(p.count))
        }
        return be32(data.count) + typeBytes + data + be32(Int(crc))
    }

    static func deflate(_ data: [UInt8]) -> [UInt8] {
        var size = compressBound(uLong(data.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = out.withUnsafeMutableBufferPointer { dst in
            data.withUnsafeBufferPointer { src in
                compress2(dst.baseAddress, &size, src.baseAddress, uLong(data.count), 6)
            }
        }
        precondition(status == Z_OK)
        return Array(out[0..<Int(size)])
    }

    static func be32(_ v: Int) -> [UInt8] {
        [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }
}

/// JPEG variants the product encoder does not write (greyscale, CMYK), straight from TurboJPEG.
enum JPEGFixture {
    static func compress(_ pixels: [UInt8], width: Int, height: Int, pixelFormat: TJPF,
                         subsampling: TJSAMP, quality: Int32 = 95, flags: Int32 = 0) -> [UInt8] {
        let handle = tjInitCompress()!
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let channels = pixels.count / (width * height)
        let status = pixels.withUnsafeBufferPointer { src in
            tjCompress2(handle, src.baseAddress, Int32(width), Int32(width * channels), Int32(height),
                        Int32(pixelFormat.rawValue), &output, &size, Int32(subsampling.rawValue),
                        quality, flags)
        }
        precondition(status == 0, String(cString: tjGetErrorStr2(handle)))
        defer { tjFree(output) }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }

    /// An APP1 EXIF segment holding only IFD0 with the Orientation tag.
    static func exifSegment(orientation: Int, bigEndian: Bool) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: Int) -> [UInt8] { bigEndian ? u16(v >> 16) + u16(v & 0xFFFF) : u16(v & 0xFFFF) + u16(v >> 16) }
        var tiff: [UInt8] = bigEndian ? [0x4D, 0x4D] : [0x49, 0x49]
        tiff += u16(42) + u32(8)            // magic, offset of IFD0
        tiff += u16(2)                      // two entries: a harmless one, then Orientation
        tiff += u16(0x010F) + u16(2) + u32(4) + [0x41, 0x43, 0x4D, 0x00] // Make = "ACM"
        tiff += u16(0x0112) + u16(3) + u32(1) + u16(orientation) + [0, 0]
        tiff += u32(0)                      // no next IFD
        let payload: [UInt8] = Array("Exif".utf8) + [0, 0] + tiff
        let length = payload.count + 2
        return [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload
    }

    /// Inserts a segment right after SOI.
    static func inserting(_ segment: [UInt8], into jpeg: [UInt8]) -> [UInt8] {
        Array(jpeg[0..<2]) + segment + Array(jpeg[2...])
    }
}
