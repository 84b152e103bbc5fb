// libFuzzer target: multipart/form-data splitting (RFC 7578, RFC 2046 §5.1.1).
import FuzzSupport
import HTTPServer

@_cdecl("FuzzMultipart_main")
func entry(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let body = Array(UnsafeBufferPointer(start: data, count: size))
    if let parts = try? Multipart.parse(body, boundary: "B", limits: MultipartLimits(maxParts: 64, maxPartBytes: 1 << 20)) {
        precondition(parts.count <= 64 && parts.allSatisfy { $0.data.count <= min(1 << 20, size) })
    }
    _ = Multipart.boundary(contentType: String(decoding: body.prefix(200), as: UTF8.self))
    return 0
}
