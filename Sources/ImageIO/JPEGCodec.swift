import CTurboJPEG

/// JPEG through libjpeg-turbo's TurboJPEG API, which returns errors instead of `longjmp`-ing.
/// One handle per call: handles are not thread-safe, and creating one is cheap next to a decode.
enum JPEGCodec {
    struct Header {
        var width: Int
        var height: Int
        var subsampling: Int32
        var colorspace: Int32
    }

    static func header(_ bytes: UnsafeBufferPointer<UInt8>) throws(ImageError) -> Header {
        guard let handle = tjInitDecompress() else {
            throw .corrupt(.jpeg, detail: "could not start the JPEG decoder")
        }
        defer { tjDestroy(handle) }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        if tjDecompressHeader3(handle, bytes.baseAddress, UInt(bytes.count),
                               &width, &height, &subsampling, &colorspace) != 0 {
            throw classify(handle)
        }
        // TurboJPEG 2.1 can report success with a 0×0 header when the data ends before the
        // frame header (libjpeg only warns "Premature end of JPEG file").
        if width == 0 || height == 0 {
            let error = classify(handle)
            if case .truncated = error { throw error }
            throw .corrupt(.jpeg, detail: "no frame header")
        }
        return Header(width: Int(width), height: Int(height),
                      subsampling: subsampling, colorspace: colorspace)
    }

    /// Decodes to RGB. The caller has already checked `header`'s dimensions against the limits.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, header: Header) throws(ImageError) -> RGBImage {
        guard let handle = tjInitDecompress() else {
            throw .corrupt(.jpeg, detail: "could not start the JPEG decoder")
        }
        defer { tjDestroy(handle) }
        let isCMYK = header.colorspace == Int32(TJCS_CMYK.rawValue)
            || header.colorspace == Int32(TJCS_YCCK.rawValue)
        let channels = isCMYK ? 4 : 3
        let format = isCMYK ? TJPF_CMYK : TJPF_RGB
        var buffer = [UInt8](repeating: 0, count: header.width * header.height * channels)
        // LIMITSCANS refuses progressive files with absurd scan counts (a CPU-exhaustion attack).
        let flags = TJFLAG_LIMITSCANS
        let status = buffer.withUnsafeMutableBufferPointer { out in
            tjDecompress2(handle, bytes.baseAddress, UInt(bytes.count), out.baseAddress,
                          Int32(header.width), Int32(header.width * channels), Int32(header.height),
                          Int32(format.rawValue), flags)
        }
        // A non-zero status may be a warning: libjpeg recovered, but the picture may be damaged.
        if status != 0, !isBenign(handle) {
            let error = classify(handle)
            // The header was sound, so a file that then fails without its closing EOI marker
            // was cut short: libjpeg may first trip over the half-read segment ("Bogus Huffman
            // table definition") rather than notice the end.
            if case .corrupt = error, !bytes.suffix(2).elementsEqual([0xFF, 0xD9]) {
                throw .truncated(.jpeg)
            }
            throw error
        }
        if isCMYK { buffer = cmykToRGB(buffer) }
        return RGBImage(width: header.width, height: header.height, pixels: buffer)
    }

    static func encode(_ image: RGBImage, quality: Int, progressive: Bool) throws(ImageError) -> [UInt8] {
        precondition((1...100).contains(quality), "JPEG quality is 1...100")
        guard let handle = tjInitCompress() else {
            throw .encodingFailed(.jpeg, detail: "could not start the JPEG encoder")
        }
        defer { tjDestroy(handle) }
        // Chroma at full resolution for high qualities, where 4:2:0 would be the visible loss.
        let subsampling = quality >= 90 ? TJSAMP_444 : TJSAMP_420
        var flags = TJFLAG_ACCURATEDCT
        if progressive { flags |= TJFLAG_PROGRESSIVE }
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let status = image.pixels.withUnsafeBufferPointer { src in
            tjCompress2(handle, src.baseAddress, Int32(image.width), Int32(image.width * 3),
                        Int32(image.height), Int32(TJPF_RGB.rawValue), &output, &size,
                        Int32(subsampling.rawValue), Int32(quality), flags)
        }
        defer { if let output { tjFree(output) } }
        guard status == 0, let output else {
            throw .encodingFailed(.jpeg, detail: message(handle))
        }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }

    /// Warnings that do not damage pixels: junk between segments (common in camera files) and
    /// metadata libjpeg does not understand.
    private static let benignWarnings = [
        "extraneous bytes before marker",
        "Unknown Adobe color transform",
        "JFIF",
        "thumbnail image size",
    ]

    private static func isBenign(_ handle: tjhandle) -> Bool {
        guard tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue) else { return false }
        let text = message(handle)
        return benignWarnings.contains { text.contains($0) }
    }

    private static func classify(_ handle: tjhandle) -> ImageError {
        let text = message(handle)
        if text.contains("Premature end") || text.contains("premature end") {
            return .truncated(.jpeg)
        }
        // Valid JPEGs libjpeg-turbo 2.1 cannot decode: lossless/hierarchical processes, 12-bit
        // samples, height given by a DNL marker. ("Unsupported marker type" is just garbage.)
        let variants = ["Unsupported JPEG process", "Unsupported JPEG data precision", "not supported"]
        if variants.contains(where: { text.contains($0) }) {
            return .unsupportedVariant(.jpeg, detail: text)
        }
        return .corrupt(.jpeg, detail: text)
    }

    private static func message(_ handle: tjhandle) -> String {
        guard let cString = tjGetErrorStr2(handle) else { return "unknown error" }
        let text = String(cString: cString)
        // TurboJPEG prefixes its own function name ("tjDecompress2(): ..."): not for people.
        if let range = text.range(of: "(): ") { return String(text[range.upperBound...]) }
        return text
    }

    /// libjpeg hands CMYK/YCCK data back as stored. Nearly every CMYK JPEG in the wild comes from
    /// Adobe software, which stores the channels inverted (255 = no ink), so R = C·K/255 etc.
    private static func cmykToRGB(_ cmyk: [UInt8]) -> [UInt8] {
        let count = cmyk.count / 4
        var rgb = [UInt8](repeating: 0, count: count * 3)
        for i in 0..<count {
            let k = UInt32(cmyk[i * 4 + 3])
            for c in 0..<3 {
                rgb[i * 3 + c] = UInt8((UInt32(cmyk[i * 4 + c]) * k + 127) / 255)
            }
        }
        return rgb
    }
}
