/// The EXIF/TIFF `Orientation` tag (0x0112): how the stored pixels must be turned to be upright.
/// Raw values and meanings follow TIFF 6.0 §"Orientation" and EXIF 2.32 §4.6.4.
public enum ExifOrientation: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// 0th row is the top, 0th column the left: nothing to do.
    case up = 1
    /// 0th row top, 0th column right: mirror horizontally.
    case upMirrored = 2
    /// 0th row bottom, 0th column right: rotate 180°.
    case down = 3
    /// 0th row bottom, 0th column left: mirror vertically.
    case downMirrored = 4
    /// 0th row left, 0th column top: transpose.
    case leftMirrored = 5
    /// 0th row right, 0th column top: rotate 90° clockwise (a phone held upright).
    case right = 6
    /// 0th row right, 0th column bottom: transverse.
    case rightMirrored = 7
    /// 0th row left, 0th column bottom: rotate 90° counter-clockwise.
    case left = 8

    /// Whether width and height trade places when the image is made upright.
    public var swapsDimensions: Bool { rawValue >= 5 }

    public var description: String {
        switch self {
        case .up: "1 (normal)"
        case .upMirrored: "2 (mirrored horizontally)"
        case .down: "3 (rotated 180°)"
        case .downMirrored: "4 (mirrored vertically)"
        case .leftMirrored: "5 (transposed)"
        case .right: "6 (rotated 90° clockwise)"
        case .rightMirrored: "7 (transversed)"
        case .left: "8 (rotated 90° counter-clockwise)"
        }
    }
}

extension RGBImage {
    /// The upright image for pixels stored with the given EXIF orientation.
    public func applyingOrientation(_ orientation: ExifOrientation) -> RGBImage {
        if orientation == .up { return self }
        let w = width, h = height
        let outW = orientation.swapsDimensions ? h : w
        let outH = orientation.swapsDimensions ? w : h
        var out = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<outH {
                    for x in 0..<outW {
                        // Output (x, y) reads stored (sx, sy).
                        let (sx, sy): (Int, Int)
                        switch orientation {
                        case .up: (sx, sy) = (x, y)
                        case .upMirrored: (sx, sy) = (w - 1 - x, y)
                        case .down: (sx, sy) = (w - 1 - x, h - 1 - y)
                        case .downMirrored: (sx, sy) = (x, h - 1 - y)
                        case .leftMirrored: (sx, sy) = (y, x)
                        case .right: (sx, sy) = (y, h - 1 - x)
                        case .rightMirrored: (sx, sy) = (w - 1 - y, h - 1 - x)
                        case .left: (sx, sy) = (w - 1 - y, x)
                        }
                        let s = (sy * w + sx) * 3
                        let d = (y * outW + x) * 3
                        dst[d] = src[s]
                        dst[d + 1] = src[s + 1]
                        dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(width: outW, height: outH, pixels: out)
    }
}
