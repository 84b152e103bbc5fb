import Foundation

/// What a file is, read from its header without decoding pixels.
public struct ImageInfo: Sendable, Equatable {
    public var format: ImageFormat
    /// Dimensions as stored in the file.
    public var width: Int
    public var height: Int
    /// EXIF orientation (JPEG APP1); `.up` when absent or unreadable.
    public var orientation: ExifOrientation
    /// Human-readable colour model, e.g. "YCbCr 4:2:0", "greyscale", "RGBA, 16-bit".
    public var colorModel: String
    /// Progressive JPEG or Adam7-interlaced PNG.
    public var isProgressive: Bool
    /// Bytes of memory a full decode holds at its peak, from the header alone: the upright RGB
    /// image and the decoder's own buffer (for a 16-bit Adam7 PNG, libpng's 16-bit linear RGBA
    /// copy of the whole image as well). What a caller budgets before it decodes.
    public var decodeCost: Int

    /// Dimensions once the orientation is applied: what a person sees.
    public var displayWidth: Int { orientation.swapsDimensions ? height : width }
    public var displayHeight: Int { orientation.swapsDimensions ? width : height }
}

/// An upright RGB image and what its file said about itself.
public struct DecodedImage: Sendable {
    public var image: RGBImage
    public var info: ImageInfo
}

/// The entry point for reading images: sniff, check limits, decode, orient.
public enum ImageDecoder {
    /// Reads the header only: format, size, orientation. Enforces the byte and dimension limits.
    public static func info(_ bytes: [UInt8], limits: ImageLimits = .default) throws(ImageError) -> ImageInfo {
        try bytes.withUnsafeBufferPointer { (buffer) throws(ImageError) -> ImageInfo in
            try inspect(buffer, limits: limits).info
        }
    }

    /// Decodes a JPEG or PNG into an upright RGB image, alpha composited on white.
    public static func decode(_ bytes: [UInt8], limits: ImageLimits = .default) throws(ImageError) -> DecodedImage {
        try bytes.withUnsafeBufferPointer { (buffer) throws(ImageError) -> DecodedImage in
            let inspected = try inspect(buffer, limits: limits)
            let stored: RGBImage
            switch inspected.header {
            case let .jpeg(header): stored = try JPEGCodec.decode(buffer, header: header)
            case let .png(header): stored = try PNGCodec.decode(buffer, header: header)
            }
            return DecodedImage(image: stored.applyingOrientation(inspected.info.orientation),
                                info: inspected.info)
        }
    }

    public static func info(_ data: Data, limits: ImageLimits = .default) throws(ImageError) -> ImageInfo {
        try info([UInt8](data), limits: limits)
    }

    public static func decode(_ data: Data, limits: ImageLimits = .default) throws(ImageError) -> DecodedImage {
        try decode([UInt8](data), limits: limits)
    }

    private enum Header {
        case jpeg(JPEGCodec.Header)
        case png(PNGCodec.Header)
    }

    private static func inspect(_ bytes: UnsafeBufferPointer<UInt8>, limits: ImageLimits)
        throws(ImageError) -> (info: ImageInfo, header: Header)
    {
        try limits.check(byteCount: bytes.count)
        switch ImageFormat.sniff(bytes) {
        case .jpeg:
            let header = try JPEGCodec.header(bytes)
            try limits.check(width: header.width, height: header.height)
            let markers = JPEGMarkers(scanning: bytes)
            let info = ImageInfo(format: .jpeg, width: header.width, height: header.height,
                                 orientation: markers.orientation,
                                 colorModel: jpegColorModel(header),
                                 isProgressive: markers.isProgressive,
                                 decodeCost: header.width * header.height * 3 * 2) // decoded + turned upright
            return (info, .jpeg(header))
        case .png:
            let header = try PNGCodec.header(bytes)
            try limits.check(width: header.width, height: header.height)
            let info = ImageInfo(format: .png, width: header.width, height: header.height,
                                 orientation: .up, colorModel: pngColorModel(header),
                                 isProgressive: header.isInterlaced,
                                 decodeCost: header.width * header.height * (header.bitDepth == 16 && header.isInterlaced ? 8 + 3 : 3))
            return (info, .png(header))
        case nil:
            throw .unsupportedFormat
        }
    }

    private static func jpegColorModel(_ header: JPEGCodec.Header) -> String {
        let subsampling = ["4:4:4", "4:2:2", "4:2:0", "grey", "4:4:0", "4:1:1"]
        let s = Int(header.subsampling)
        let sampling = subsampling.indices.contains(s) ? subsampling[s] : "unusual sampling"
        switch header.colorspace {
        case 0: return "RGB"
        case 1: return "YCbCr \(sampling)"
        case 2: return "greyscale"
        case 3: return "CMYK"
        case 4: return "YCCK"
        default: return "unknown"
        }
    }

    private static func pngColorModel(_ header: PNGCodec.Header) -> String {
        // PNG spec §11.2.2, table 11.1.
        let model: String
        switch header.colorType {
        case 0: model = "greyscale"
        case 2: model = "RGB"
        case 3: model = "palette"
        case 4: model = "greyscale + alpha"
        case 6: model = "RGBA"
        default: model = "unknown"
        }
        return "\(model), \(header.bitDepth)-bit"
    }
}

/// The entry point for writing images.
public enum ImageEncoder {
    /// Lossless PNG.
    public static func png(_ image: RGBImage) throws(ImageError) -> [UInt8] {
        try PNGCodec.encode(image)
    }

    /// JPEG at `quality` 1...100 (4:4:4 chroma from 90 up, 4:2:0 below).
    public static func jpeg(_ image: RGBImage, quality: Int = 90, progressive: Bool = false) throws(ImageError) -> [UInt8] {
        try JPEGCodec.encode(image, quality: quality, progressive: progressive)
    }

    public static func encode(_ image: RGBImage, as format: ImageFormat, quality: Int = 90) throws(ImageError) -> [UInt8] {
        switch format {
        case .png: try png(image)
        case .jpeg: try jpeg(image, quality: quality)
        }
    }
}
