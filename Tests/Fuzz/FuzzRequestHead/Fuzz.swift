// libFuzzer target: the request head parser (RFC 9112), whole and fed in two pieces.
import FuzzSupport
import HTTPServer

@_cdecl("FuzzRequestHead_main")
func entry(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let limits = HTTPLimits()
    let whole = try? RequestHeadParser.parse(bytes, limits: limits)
    // The incremental scanner must find the same end whatever the split.
    var scanner = HeadScanner()
    let split = size / 2
    var end: Int?
    do {
        end = try scanner.scan(UnsafeBufferPointer(rebasing: bytes[0..<split]), limits: limits)
        if end == nil { end = try scanner.scan(bytes, limits: limits) }
    } catch {
        end = nil
    }
    if let end, let whole {
        precondition(end == whole.1, "incremental scan disagrees: \(end) vs \(whole.1)")
    }
    return 0
}
