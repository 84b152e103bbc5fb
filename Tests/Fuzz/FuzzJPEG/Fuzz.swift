// libFuzzer target: JPEG decoding through ImageDecoder (header checks, limits, orientation).
import FuzzSupport
import ImageIO

@_cdecl("FuzzJPEG_main")
func entry(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Small limits: the fuzzer looks for crashes, not for big pictures.
    let limits = ImageLimits(maxBytes: 1 << 20, maxSide: 2048, maxPixels: 1 << 20)
    if let decoded = try? ImageDecoder.decode(bytes, limits: limits) {
        precondition(decoded.image.pixels.count == decoded.image.width * decoded.image.height * 3)
    }
    return 0
}
