import ArgumentParser
import Foundation
import WebApp

/// A failure the command line reports as one plain sentence (exit status 1).
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data(("error: " + message + "\n").utf8))
}

/// A progress line on standard error, rewritten in place (a terminal shows one line that
/// counts up); `done` ends it.
func printProgress(_ message: String, done: Bool = false) {
    FileHandle.standardError.write(Data(("\r" + message + (done ? "\n" : "")).utf8))
}

/// Reads a whole file, refusing anything larger than `limit` before reading it.
func readFile(_ path: String, limit: Int) throws -> [UInt8] {
    let url = URL(fileURLWithPath: path)
    let attributes: [FileAttributeKey: Any]
    do {
        attributes = try FileManager.default.attributesOfItem(atPath: url.path)
    } catch {
        throw CLIError("\(path): no such file")
    }
    if attributes[.type] as? FileAttributeType == .typeDirectory {
        throw CLIError("\(path): is a directory")
    }
    if let size = attributes[.size] as? Int, size > limit {
        throw CLIError("\(path): file is \(size) bytes, the limit is \(limit) bytes")
    }
    do {
        return [UInt8](try Data(contentsOf: url))
    } catch {
        throw CLIError("\(path): cannot be read (\(error.localizedDescription))")
    }
}

/// Writes through a temporary file and a rename, so a failure never leaves half a file behind.
func writeFileAtomically(_ path: String, bytes: [UInt8]) throws {
    do {
        try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw CLIError("\(path): cannot be written (\(error.localizedDescription))")
    }
}

extension WebAppConfiguration {
    /// The service's settings as a command that reads its database sees them: the ARTWORKER_*
    /// environment, then the command's `--data` folder, if given.
    static func forCommand(data: String?) throws -> WebAppConfiguration {
        var configuration = WebAppConfiguration()
        try configuration.apply(environment: ProcessInfo.processInfo.environment)
        if let data { configuration.dataDirectory = URL(fileURLWithPath: data) }
        return configuration
    }
}
