import Foundation

/// The shared test data (`../shared` beside the checkout, or `$ARTWORKER_SHARED`).
public enum SharedData {
    public static var root: URL {
        if let path = ProcessInfo.processInfo.environment["ARTWORKER_SHARED"] {
            return URL(fileURLWithPath: path)
        }
        // Tests/TestSupport/TestSupport.swift → package root → ../shared
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }

    /// The checkout's root folder.
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    public static func url(_ relativePath: String) -> URL { root.appendingPathComponent(relativePath) }

    public static func bytes(_ relativePath: String) throws -> [UInt8] {
        let url = url(relativePath)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw MissingTestData(path: url.path)
        }
        return [UInt8](data)
    }
}

public struct MissingTestData: Error, CustomStringConvertible {
    public let path: String
    public var description: String { "missing test data \(path); set ARTWORKER_SHARED to the shared folder" }
}

/// A reproducible pseudo-random source (SplitMix64), so any failure can be replayed.
public struct SeededRandom: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// n values uniform in [−scale, scale].
    public mutating func floats(_ n: Int, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in Float.random(in: -scale...scale, using: &self) }
    }
}
