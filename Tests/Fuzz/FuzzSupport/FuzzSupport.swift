// What every fuzz target shares: libFuzzer's driver as the program's entry point.
//
// SwiftPM links an executable target with `main` aliased to `<Module>_main`, so a target built
// with -parse-as-library must define that symbol itself; it hands control to libFuzzer's own
// driver (LLVMFuzzerRunDriver, libFuzzer ≥ LLVM 11) with the target's test function.

public typealias FuzzTest = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

@_extern(c, "LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ test: FuzzTest) -> Int32

/// Runs libFuzzer with the command line it was started with.
public func runFuzzer(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ test: FuzzTest) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, test)
}
