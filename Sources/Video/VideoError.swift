import Foundation

/// Everything that can go wrong reading or writing a clip, each with a sentence a person
/// understands. Library messages only ever appear as the `detail` of a damaged file.
public enum VideoError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    case empty
    case fileTooLarge(bytes: Int, limit: Int)
    case notAClip
    case noVideoStream
    case unsupportedCodec(String)
    case invalidDimensions(width: Int, height: Int)
    case tooLarge(width: Int, height: Int, limit: Int)
    case tooLong(seconds: Double, limit: Double)
    case tooManyFrames(count: Int, limit: Int)
    case noFrames
    case damaged(detail: String)
    /// The stream turned out to be other than its header said (longer, larger, more frames).
    case misdeclared(detail: String)
    case encodingFailed(detail: String)
    case cancelled

    public var description: String {
        switch self {
        case .empty: "the file is empty"
        case let .fileTooLarge(bytes, limit): "the clip is \(Self.megabytes(bytes)), the limit is \(Self.megabytes(limit))"
        case .notAClip: "not a video or animated GIF this service can read"
        case .noVideoStream: "the file has no video in it"
        case let .unsupportedCodec(name): "video coded as \(name) is not supported"
        case let .invalidDimensions(width, height): "the clip claims to be \(width)×\(height) pixels, which is not a valid size"
        case let .tooLarge(width, height, limit): "the clip is \(width)×\(height), the limit is \(limit) pixels a side"
        case let .tooLong(seconds, limit): "the clip lasts \(Self.seconds(seconds)), the limit is \(Self.seconds(limit))"
        case let .tooManyFrames(count, limit): "the clip has \(count) frames or more, the limit is \(limit)"
        case .noFrames: "the clip has no frames that could be decoded"
        case let .damaged(detail): "the clip is damaged or incomplete (\(detail))"
        case let .misdeclared(detail): "the clip is not what its header says (\(detail))"
        case let .encodingFailed(detail): "could not write the clip (\(detail))"
        case .cancelled: "cancelled"
        }
    }

    public var errorDescription: String? { description }

    static func megabytes(_ bytes: Int) -> String {
        bytes % 1_000_000 == 0 ? "\(bytes / 1_000_000) MB" : String(format: "%.1f MB", Double(bytes) / 1_000_000)
    }

    static func seconds(_ s: Double) -> String {
        s == s.rounded() ? "\(Int(s)) s" : String(format: "%.1f s", s)
    }
}
