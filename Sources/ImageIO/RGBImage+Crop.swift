extension RGBImage {
    /// The pixels inside a rectangle. The rectangle must lie within the image.
    public func cropped(x: Int, y: Int, width cropWidth: Int, height cropHeight: Int) -> RGBImage {
        precondition(x >= 0 && y >= 0 && cropWidth > 0 && cropHeight > 0
                     && x + cropWidth <= width && y + cropHeight <= height,
                     "crop rectangle lies outside the \(width)×\(height) image")
        if x == 0 && y == 0 && cropWidth == width && cropHeight == height { return self }
        var out = [UInt8]()
        out.reserveCapacity(cropWidth * cropHeight * 3)
        for row in y..<(y + cropHeight) {
            let start = (row * width + x) * 3
            out.append(contentsOf: pixels[start..<(start + cropWidth * 3)])
        }
        return RGBImage(width: cropWidth, height: cropHeight, pixels: out)
    }

    /// The largest centred rectangle with the aspect ratio `aspectWidth : aspectHeight`.
    public func centerCropped(aspectWidth: Int, aspectHeight: Int) -> RGBImage {
        precondition(aspectWidth > 0 && aspectHeight > 0, "aspect ratio must be positive")
        // Compare width/height with aspectWidth/aspectHeight without rounding.
        if width * aspectHeight > height * aspectWidth {
            let w = max(1, height * aspectWidth / aspectHeight)
            return cropped(x: (width - w) / 2, y: 0, width: w, height: height)
        } else {
            let h = max(1, width * aspectHeight / aspectWidth)
            return cropped(x: 0, y: (height - h) / 2, width: width, height: h)
        }
    }
}
