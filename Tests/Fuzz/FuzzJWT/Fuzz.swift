// libFuzzer target: session token verification (strict HS256 JWT, RFC 7519 / RFC 7515).
import FuzzSupport
import Auth
import Foundation

let signer = JWTSigner(secret: Array(repeating: 7, count: 32))
let now = Date(timeIntervalSince1970: 1_800_000_000)

@_cdecl("FuzzJWT_main")
func entry(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? signer.verify(text, now: now)
    _ = JWTSigner.decodeBase64URL(text)
    return 0
}
