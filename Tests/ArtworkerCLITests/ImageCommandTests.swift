import Foundation
import Testing
import TestSupport

/// Runs the built `artworker` executable, as a user would.
enum CLI {
    static var executable: URL {
        // Tests run from the build directory that also holds the executable.
        let candidates = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("artworker") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    static var shared: URL { SharedData.root }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

@Suite("artworker image")
struct ImageCommandTests {
    let chelsea = CLI.shared.appendingPathComponent("testdata/photos/chelsea.png").path

    @Test("info describes a file")
    func info() throws {
        let result = try CLI.run(["image", "info", chelsea])
        #expect(result.status == 0)
        #expect(result.stdout.contains("PNG, 451×300, RGB, 8-bit"))
        #expect(result.stdout.contains("orientation 1 (normal)"))
    }

    @Test("convert shrinks and re-encodes, and info reads the result")
    func convert() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let output = dir.appendingPathComponent("small.jpg").path
        let result = try CLI.run(["image", "convert", chelsea, output, "--max-side", "200", "--quality", "85"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("JPEG, 200×133"))
        let info = try CLI.run(["image", "info", output])
        #expect(info.stdout.contains("JPEG, 200×133"))
        #expect(info.stdout.contains("baseline"))
    }

    @Test("bad input gets a readable error and a non-zero exit", arguments: [
        (["image", "info", "/nonexistent/photo.jpg"], "no such file"),
        (["image", "convert", "NOT-AN-IMAGE", "OUT.png"], "not a JPEG or PNG file"),
        (["image", "convert", "PHOTO", "OUT.gif"], "cannot tell the output format"),
        (["image", "convert", "PHOTO", "OUT.png", "--max-side", "0"], "--max-side must be at least 1"),
        (["image", "convert", "PHOTO", "OUT.jpg", "--quality", "101"], "--quality must be between 1 and 100"),
        (["image", "info", "PHOTO", "--max-pixels", "1000"], "the limit is 1000 pixels"),
    ])
    func errors(arguments: [String], message: String) throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let junk = dir.appendingPathComponent("junk.png")
        try Data("definitely not a picture".utf8).write(to: junk)
        let args = arguments.map { arg in
            switch arg {
            case "PHOTO": chelsea
            case "NOT-AN-IMAGE": junk.path
            case let out where out.hasPrefix("OUT."): dir.appendingPathComponent(out).path
            default: arg
            }
        }
        let result = try CLI.run(args)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "OUT.png") || arguments[1] != "convert" || message.isEmpty)
    }

    @Test("doctor finds the system libraries")
    func doctor() throws {
        let result = try CLI.run(["doctor"])
        #expect(result.status == 0, "\(result.stdout)")
        for library in ["libjpeg-turbo", "libpng", "zlib", "libxcrypt", "kernels"] {
            #expect(result.stdout.contains("ok   \(library)"))
        }
    }
}
