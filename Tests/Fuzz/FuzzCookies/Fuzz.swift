// libFuzzer target: the Cookie header (RFC 6265 §5.4) and query strings.
import FuzzSupport
import HTTPServer

@_cdecl("FuzzCookies_main")
func entry(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var headers = HTTPHeaders()
    for line in text.split(separator: "\n", maxSplits: 8) { headers.add("Cookie", String(line)) }
    _ = Cookies.parse(headers)
    _ = FormData.parseURLEncoded(text)
    _ = LocalRedirect.path(text)
    return 0
}
