// libFuzzer target: clips and animated GIFs through ClipConverter (the header read, every limit,
// then decoding, sampling, flicker reduction and encoding with a stand-in for the network), and
// through FilmFrames as a film's video is read for its palette (a frame every half second).
// FFmpeg's and giflib's own code is not instrumented; what is found is in how we drive them.
import Foundation
import FuzzSupport
import ImageIO
import Video

@_cdecl("FuzzClip_main")
func entry(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Small limits: the fuzzer looks for crashes, not for long clips.
    let options = ClipOptions(maxSide: 32, limits: ClipLimits(maxBytes: 1 << 20, maxSeconds: 5, maxOutputFrames: 30,
                                                              maxDecodedFrames: 120, maxSide: 512, maxPixels: 1 << 18,
                                                              maxGIFWork: 1 << 22))
    guard (try? ClipConverter.plan(bytes, options: options)) != nil else { return 0 }
    var taken = 0
    let film = FilmOptions(interval: 0.5, maxSide: 32, limits: options.limits)
    if let count = try? FilmFrames.read(bytes, options: film, frame: { _, image, fraction in
        precondition(image.width <= 32 && image.height <= 32 && (0...1).contains(fraction))
        taken += 1
    }) {
        precondition(count == taken && count <= 30)
    }
    if let result = try? ClipConverter.convert(bytes, options: options, workDirectory: FileManager.default.temporaryDirectory,
                                               process: { $0 }) {
        precondition(result.frames >= 1 && result.frames <= 30 && !result.mp4.isEmpty)
    }
    return 0
}
