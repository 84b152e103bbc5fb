// libFuzzer target: the ZIP reader (APPNOTE 6.3): directory, bounds, overlap, inflate, CRC.
import FuzzSupport
@testable import WebApp

@_cdecl("FuzzZip_main")
func entry(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let archive = try? ZipArchive(bytes, limits: .init(maxEntries: 64, maxEntryBytes: 1 << 20, maxTotalBytes: 4 << 20)) else { return 0 }
    for entry in archive.entries where !entry.isDirectory {
        if let contents = try? archive.contents(of: entry) { precondition(contents.count == entry.size) }
    }
    return 0
}
