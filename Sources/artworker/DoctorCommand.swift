import ArgumentParser
import CPNG
import CTurboJPEG
import CXCrypt
import CZlib
import Foundation
import Kernels

/// Checks that the system libraries Artworker links are present and able to do their jobs, and
/// reports what a bug report needs: library versions and the CPU's vector extensions.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the system libraries and CPU features Artworker relies on.")

    func run() throws {
        var failed = false
        func report(_ name: String, _ ok: Bool, _ detail: String) {
            print("\(ok ? "ok  " : "FAIL") \(name): \(detail)")
            if !ok { failed = true }
        }

        if let handle = tjInitCompress() {
            tjDestroy(handle)
            report("libjpeg-turbo", true, "TurboJPEG API available")
        } else {
            report("libjpeg-turbo", false, "tjInitCompress failed")
        }

        let png = Int(png_access_version_number())
        report("libpng", png >= 10629, "\(png / 10000).\(png / 100 % 100).\(png % 100)"
               + (png >= 10629 ? "" : " (1.6.29 or newer needed)"))

        report("zlib", true, String(cString: zlibVersion()))

        // bcrypt must be available: the accounts store "$2b$" hashes (crypt(5)).
        var setting = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        let salt = crypt_gensalt_rn("$2b$", 4, nil, 0, &setting, Int32(setting.count))
        report("libxcrypt", salt != nil, salt != nil ? "bcrypt ($2b$) supported" : "bcrypt not supported")

        let flags = Self.cpuFlags()
        let simd = ["avx512f", "avx2", "fma"].filter { flags.contains($0) }
        report("cpu", true, simd.isEmpty ? "no AVX2/AVX-512 (kernels will be slow)"
                                         : "vector extensions: " + simd.joined(separator: ", "))
        // The tile shapes this build's kernels were compiled for: a build for x86-64-v3 runs on an
        // AVX-512 machine but leaves half of each register idle, and `make test-wide`'s build is
        // for testing only.
        let hint = flags.contains("avx512f") && (!Tiling.wideVectors || Tiling.emulatedWideVectors)
            ? " — this CPU has AVX-512: `make build` (CPU=native) builds for it" : ""
        report("kernels", true, Tiling.description + hint)
        if failed { throw ExitCode.failure }
    }

    static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":")
        else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }
}
