// libFuzzer target: colour files (the study's x,y,z CSV and our own export).
import FuzzSupport
import Palette

@_cdecl("FuzzColourCSV_main")
func entry(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    if let parsed = try? PaletteCSV.parse(bytes) {
        precondition(parsed.rowCount > 0)
        for colour in parsed.ungrouped { precondition((0...255).contains(colour.r) && (0...255).contains(colour.b)) }
    }
    return 0
}
