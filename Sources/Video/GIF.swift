import CGif
import Foundation
import ImageIO

/// Whether bytes are a GIF (GIF87a or GIF89a, the only two versions there are).
public func isGIF(_ bytes: [UInt8]) -> Bool {
    bytes.starts(with: Array("GIF87a".utf8)) || bytes.starts(with: Array("GIF89a".utf8))
}

// giflib calls this with the GifFileType whose UserData is an unretained MemoryInput that the
// reader keeps alive until DGifCloseFile.
private let readGIF: @convention(c) (UnsafeMutablePointer<GifFileType>?, UnsafeMutablePointer<GifByteType>?, Int32) -> Int32 = { gif, buffer, size in
    let input = Unmanaged<MemoryInput>.fromOpaque(gif!.pointee.UserData!).takeUnretainedValue()
    guard let buffer else { return 0 }
    return Int32(input.read(into: buffer, count: Int(size)))
}

/// Reads an animated GIF through giflib, one frame at a time, composited as browsers show it
/// (disposal methods, transparency over a white matte, delays under 2/100 s shown as 1/10 s).
///
/// A GIF bomb is a few kilobytes that claim a huge screen or thousands of frames: the screen is
/// checked before anything is allocated, and frames and composited pixels are counted as they come.
final class GIFReader {
    private let input: MemoryInput
    let info: ClipInfo
    let limits: ClipLimits
    private static let matte = RGB(255, 255, 255)

    init(bytes: [UInt8], limits: ClipLimits) throws(VideoError) {
        try limits.check(byteCount: bytes.count)
        guard isGIF(bytes) else { throw .notAClip }
        self.limits = limits
        input = MemoryInput(bytes)
        // The logical screen: bytes 6–9, little-endian (GIF89a §18).
        guard bytes.count >= 13 else { throw .damaged(detail: "the GIF header is cut short") }
        let width = Int(bytes[6]) | Int(bytes[7]) << 8, height = Int(bytes[8]) | Int(bytes[9]) << 8
        try limits.check(width: width, height: height)
        let (frames, seconds) = try Self.scan(input, limits: limits, screen: width * height)
        info = ClipInfo(media: .gif, container: "gif", codec: "gif", storedWidth: width, storedHeight: height,
                        rotation: 0, seconds: seconds, frameRate: nil, frameCount: frames, hasAudio: false)
    }

    /// Counts frames and adds up delays without inflating any pixels (the LZW blocks are
    /// skipped as they are), so a GIF bomb is refused before it is queued.
    private static func scan(_ input: MemoryInput, limits: ClipLimits, screen: Int) throws(VideoError) -> (frames: Int, seconds: Double) {
        input.position = 0
        defer { input.position = 0 }
        var error: Int32 = 0
        guard let gif = DGifOpen(Unmanaged.passUnretained(input).toOpaque(), readGIF, &error) else {
            throw .damaged(detail: message(error))
        }
        defer { DGifCloseFile(gif, &error) }
        var frames = 0, work = 0, hundredths = 0
        var delay = 0
        while true {
            var record = UNDEFINED_RECORD_TYPE
            guard DGifGetRecordType(gif, &record) == GIF_OK else { throw .damaged(detail: message(gif.pointee.Error)) }
            if record == TERMINATE_RECORD_TYPE { break }
            var block: UnsafeMutablePointer<GifByteType>?
            if record == EXTENSION_RECORD_TYPE {
                var code: Int32 = 0
                guard DGifGetExtension(gif, &code, &block) == GIF_OK else { throw .damaged(detail: message(gif.pointee.Error)) }
                if code == GRAPHICS_EXT_FUNC_CODE, let block, block[0] >= 4 {
                    var control = GraphicsControlBlock()
                    DGifExtensionToGCB(Int(block[0]), block + 1, &control)
                    delay = Int(control.DelayTime)
                }
                while block != nil {
                    guard DGifGetExtensionNext(gif, &block) == GIF_OK else { throw .damaged(detail: message(gif.pointee.Error)) }
                }
            } else if record == IMAGE_DESC_RECORD_TYPE {
                guard DGifGetImageDesc(gif) == GIF_OK else { throw .damaged(detail: message(gif.pointee.Error)) }
                frames += 1
                if frames > limits.maxDecodedFrames { throw .tooManyFrames(count: frames, limit: limits.maxDecodedFrames) }
                try limits.check(width: Int(gif.pointee.Image.Width), height: Int(gif.pointee.Image.Height))
                work += Int(gif.pointee.Image.Width) * Int(gif.pointee.Image.Height) + screen
                if work > limits.maxGIFWork {
                    throw .tooManyFrames(count: frames, limit: max(1, limits.maxGIFWork / (2 * screen)))
                }
                hundredths += delay < 2 ? 10 : delay
                try limits.check(seconds: Double(hundredths) / 100)
                delay = 0
                var size: Int32 = 0
                guard DGifGetCode(gif, &size, &block) == GIF_OK else { throw .damaged(detail: message(gif.pointee.Error)) }
                while block != nil {
                    guard DGifGetCodeNext(gif, &block) == GIF_OK else { throw .damaged(detail: message(gif.pointee.Error)) }
                }
            }
        }
        if frames == 0 { throw .noFrames }
        return (frames, Double(hundredths) / 100)
    }

    /// Decodes every frame, composited, at `width × height`, each with its start time. Returns
    /// the time the last frame ends.
    @discardableResult
    func decode(width outWidth: Int, height outHeight: Int, isCancelled: () -> Bool,
                frame onFrame: (DecodedFrame) throws -> Void) throws -> Double {
        input.position = 0
        var error: Int32 = 0
        guard let gif = DGifOpen(Unmanaged.passUnretained(input).toOpaque(), readGIF, &error) else {
            throw VideoError.damaged(detail: Self.message(error))
        }
        defer { DGifCloseFile(gif, &error) }
        let screenWidth = Int(gif.pointee.SWidth), screenHeight = Int(gif.pointee.SHeight)
        try limits.check(width: screenWidth, height: screenHeight)
        var canvas = RGBImage(width: screenWidth, height: screenHeight, fill: Self.matte)
        var saved: RGBImage?
        var control = GraphicsControlBlock(DisposalMode: DISPOSAL_UNSPECIFIED, UserInputFlag: false, DelayTime: 0, TransparentColor: NO_TRANSPARENT_COLOR)
        var previous: (disposal: Int32, rect: (x: Int, y: Int, w: Int, h: Int))?
        var frames = 0, work = 0
        var seconds = 0.0
        var line = [GifByteType]()

        while true {
            var record = UNDEFINED_RECORD_TYPE
            guard DGifGetRecordType(gif, &record) == GIF_OK else { throw VideoError.damaged(detail: Self.message(gif.pointee.Error)) }
            if record == TERMINATE_RECORD_TYPE { break }
            if record == EXTENSION_RECORD_TYPE {
                var code: Int32 = 0
                var block: UnsafeMutablePointer<GifByteType>?
                guard DGifGetExtension(gif, &code, &block) == GIF_OK else { throw VideoError.damaged(detail: Self.message(gif.pointee.Error)) }
                if code == GRAPHICS_EXT_FUNC_CODE, let block, block[0] >= 4 {
                    DGifExtensionToGCB(Int(block[0]), block + 1, &control)
                }
                while block != nil {
                    guard DGifGetExtensionNext(gif, &block) == GIF_OK else { throw VideoError.damaged(detail: Self.message(gif.pointee.Error)) }
                }
                continue
            }
            guard record == IMAGE_DESC_RECORD_TYPE else { continue }
            guard DGifGetImageDesc(gif) == GIF_OK else { throw VideoError.damaged(detail: Self.message(gif.pointee.Error)) }
            frames += 1
            if frames > limits.maxDecodedFrames { throw VideoError.tooManyFrames(count: frames, limit: limits.maxDecodedFrames) }
            let desc = gif.pointee.Image
            let frameWidth = Int(desc.Width), frameHeight = Int(desc.Height)
            guard frameWidth > 0, frameHeight > 0 else { throw VideoError.damaged(detail: "a frame has no pixels") }
            // Every frame inflates its own pixels and is composited onto the whole screen.
            work += frameWidth * frameHeight + screenWidth * screenHeight
            if work > limits.maxGIFWork {
                throw VideoError.tooManyFrames(count: frames, limit: max(1, limits.maxGIFWork / (screenWidth * screenHeight * 2)))
            }
            guard let colours = desc.ColorMap ?? gif.pointee.SColorMap else { throw VideoError.damaged(detail: "a frame has no colour table") }

            // Dispose of the previous frame as it asked (GIF89a §23.c.iv).
            if let (disposal, rect) = previous {
                if disposal == DISPOSE_BACKGROUND {
                    Self.fill(&canvas, rect, Self.matte)
                } else if disposal == DISPOSE_PREVIOUS, let saved {
                    canvas = saved
                }
            }
            if control.DisposalMode == DISPOSE_PREVIOUS { saved = canvas }

            if line.count < frameWidth { line = [GifByteType](repeating: 0, count: frameWidth) }
            let rows: [Int] = desc.Interlace
                ? Array(stride(from: 0, to: frameHeight, by: 8)) + Array(stride(from: 4, to: frameHeight, by: 8))
                  + Array(stride(from: 2, to: frameHeight, by: 4)) + Array(stride(from: 1, to: frameHeight, by: 2))
                : Array(0..<frameHeight)
            let left = Int(desc.Left), top = Int(desc.Top)
            let palette = UnsafeBufferPointer(start: colours.pointee.Colors, count: Int(colours.pointee.ColorCount))
            let transparent = control.TransparentColor
            for row in rows {
                let status = line.withUnsafeMutableBufferPointer { DGifGetLine(gif, $0.baseAddress, Int32(frameWidth)) }
                guard status == GIF_OK else { throw VideoError.damaged(detail: Self.message(gif.pointee.Error)) }
                let y = top + row
                guard y < screenHeight else { continue } // drawn off the screen: clipped, as browsers do
                canvas.pixels.withUnsafeMutableBufferPointer { pixels in
                    // A frame may lie partly or wholly right of the screen (its offset is a
                    // stranger's number): only the columns on the screen are drawn.
                    for x in 0..<max(0, min(frameWidth, screenWidth - left)) {
                        let index = Int(line[x])
                        guard Int32(index) != transparent, index < palette.count else { continue }
                        let p = (y * screenWidth + left + x) * 3
                        pixels[p] = palette[index].Red
                        pixels[p + 1] = palette[index].Green
                        pixels[p + 2] = palette[index].Blue
                    }
                }
            }
            if isCancelled() { throw VideoError.cancelled }
            // Browsers show delays of 0 or 1 hundredths as 10 hundredths.
            let delay = control.DelayTime < 2 ? 10 : Int(control.DelayTime)
            let start = seconds
            seconds += Double(delay) / 100
            try limits.check(seconds: seconds)
            let shown = canvas // copied only when the next frame draws
            try onFrame(DecodedFrame(seconds: start) {
                shown.width == outWidth && shown.height == outHeight ? shown
                    : shown.resized(width: outWidth, height: outHeight, filter: .area)
            })
            previous = (control.DisposalMode, (left, top, frameWidth, frameHeight))
            control = GraphicsControlBlock(DisposalMode: DISPOSAL_UNSPECIFIED, UserInputFlag: false, DelayTime: 0, TransparentColor: NO_TRANSPARENT_COLOR)
        }
        if frames == 0 { throw VideoError.noFrames }
        return seconds
    }

    /// Fills the part of `rect` that lies on the image (none, for a frame drawn off the screen).
    private static func fill(_ image: inout RGBImage, _ rect: (x: Int, y: Int, w: Int, h: Int), _ colour: RGB) {
        let top = max(rect.y, 0), bottom = min(rect.y + rect.h, image.height)
        let left = max(rect.x, 0), right = min(rect.x + rect.w, image.width)
        guard top < bottom, left < right else { return }
        for y in top..<bottom {
            for x in left..<right { image[x, y] = colour }
        }
    }

    static func message(_ code: Int32) -> String {
        guard let text = GifErrorString(code) else { return "GIF error \(code)" }
        return String(cString: text)
    }
}

// giflib calls this with the GifFileType whose UserData is an unretained GIFOutput owned by
// the writer until EGifCloseFile.
private final class GIFOutput {
    var bytes: [UInt8] = []
}

private let writeGIF: @convention(c) (UnsafeMutablePointer<GifFileType>?, UnsafePointer<GifByteType>?, Int32) -> Int32 = { gif, buffer, size in
    let output = Unmanaged<GIFOutput>.fromOpaque(gif!.pointee.UserData!).takeUnretainedValue()
    guard let buffer, size > 0 else { return 0 }
    output.bytes.append(contentsOf: UnsafeBufferPointer(start: buffer, count: Int(size)))
    return size
}

/// Writes an animated GIF that loops forever: one 256-colour table per frame (giflib's median
/// cut), delays in hundredths of a second.
public final class GIFWriter {
    public let width: Int
    public let height: Int
    private let output = GIFOutput()
    private var gif: UnsafeMutablePointer<GifFileType>?

    public init(width: Int, height: Int) throws(VideoError) {
        precondition(width > 0 && height > 0 && width <= 65535 && height <= 65535)
        self.width = width
        self.height = height
        var error: Int32 = 0
        gif = EGifOpen(Unmanaged.passUnretained(output).toOpaque(), writeGIF, &error)
        guard let gif else { throw .encodingFailed(detail: GIFReader.message(error)) }
        EGifSetGifVersion(gif, true)
        guard EGifPutScreenDesc(gif, Int32(width), Int32(height), 8, 0, nil) == GIF_OK else { throw failure() }
        // The NETSCAPE2.0 application extension: loop count 0 = forever.
        var application = Array("NETSCAPE2.0".utf8)
        var loop: [UInt8] = [1, 0, 0]
        guard EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE) == GIF_OK,
              EGifPutExtensionBlock(gif, 11, &application) == GIF_OK,
              EGifPutExtensionBlock(gif, 3, &loop) == GIF_OK,
              EGifPutExtensionTrailer(gif) == GIF_OK else { throw failure() }
    }

    deinit {
        var error: Int32 = 0
        if let gif { EGifCloseFile(gif, &error) }
    }

    private func failure() -> VideoError {
        .encodingFailed(detail: GIFReader.message(gif?.pointee.Error ?? 0))
    }

    /// Adds a frame shown for `hundredths` of a second.
    public func write(_ image: RGBImage, hundredths: Int) throws(VideoError) {
        precondition(image.width == width && image.height == height, "frames must all be \(width)×\(height)")
        guard let gif else { throw .encodingFailed(detail: "the GIF is closed") }
        let count = width * height
        var red = [GifByteType](repeating: 0, count: count), green = red, blue = red, indices = red
        for i in 0..<count {
            red[i] = image.pixels[i * 3]
            green[i] = image.pixels[i * 3 + 1]
            blue[i] = image.pixels[i * 3 + 2]
        }
        var colours = [GifColorType](repeating: GifColorType(), count: 256)
        var size: Int32 = 256
        guard GifQuantizeBuffer(UInt32(width), UInt32(height), &size, &red, &green, &blue, &indices, &colours) == GIF_OK,
              let map = GifMakeMapObject(256, colours) else {
            throw .encodingFailed(detail: "the colours could not be reduced to 256")
        }
        defer { GifFreeMapObject(map) }
        var control = GraphicsControlBlock(DisposalMode: DISPOSE_DO_NOT, UserInputFlag: false,
                                           DelayTime: Int32(min(max(hundredths, 2), 65535)), TransparentColor: NO_TRANSPARENT_COLOR)
        var extensionBytes = [GifByteType](repeating: 0, count: 4)
        let length = EGifGCBToExtension(&control, &extensionBytes)
        guard EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, Int32(length), extensionBytes) == GIF_OK,
              EGifPutImageDesc(gif, 0, 0, Int32(width), Int32(height), false, map) == GIF_OK else { throw failure() }
        for row in 0..<height {
            let status = indices.withUnsafeMutableBufferPointer { EGifPutLine(gif, $0.baseAddress! + row * width, Int32(width)) }
            guard status == GIF_OK else { throw failure() }
        }
    }

    /// Ends the file and returns its bytes.
    public func finish() throws(VideoError) -> [UInt8] {
        guard let gif else { return output.bytes }
        var error: Int32 = 0
        self.gif = nil
        guard EGifCloseFile(gif, &error) == GIF_OK else { throw .encodingFailed(detail: GIFReader.message(error)) }
        return output.bytes
    }
}
