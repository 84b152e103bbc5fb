// libFuzzer target: the chunked body decoder (RFC 9112 §7.1), fed in random-sized pieces.
import FuzzSupport
import HTTPServer

@_cdecl("FuzzChunked_main")
func entry(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    guard size > 0 else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let step = Int(bytes[0]) % 17 + 1 // the first byte chooses the piece size
    var decoder = ChunkedDecoder(maxBody: 1 << 20)
    var body: [UInt8] = []
    var pending: [UInt8] = []
    var offset = 1
    while offset < size, !decoder.isDone {
        pending += bytes[offset..<min(offset + step, size)]
        offset += step
        guard let used = try? pending.withUnsafeBufferPointer({ (b) throws(HTTPParseError) -> Int in try decoder.feed(b, into: &body) }) else {
            return 0
        }
        precondition(used <= pending.count)
        pending.removeFirst(used)
    }
    precondition(body.count == decoder.bodyBytes && body.count <= 1 << 20)
    return 0
}
