/// Everything that can be wrong with a model or its weights; every message names the tensor
/// or file concerned.
public enum ModelError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidFile(String, String)
    case missingTensor(String)
    case wrongShape(String, expected: [Int], found: [Int])
    case unusedTensors([String])
    case checksumMismatch(String, expected: String, found: String)
    case unknownStyle(String)
    case inputTooSmall(width: Int, height: Int)
    case invalidArchitecture(String)
    case cancelled

    public var description: String {
        switch self {
        case let .invalidFile(name, why): "\(name): \(why)"
        case let .missingTensor(name): "tensor \(name) is missing"
        case let .wrongShape(name, expected, found): "tensor \(name) has shape \(found), expected \(expected)"
        case let .unusedTensors(names): "unexpected tensors: \(names.sorted().joined(separator: ", "))"
        case let .checksumMismatch(name, expected, found): "\(name): SHA-256 is \(found), the manifest says \(expected)"
        case let .unknownStyle(style): "unknown style '\(style)' (styles: hayao, hosoda, paprika, shinkai)"
        case let .inputTooSmall(width, height): "image is \(width)×\(height); the generator needs at least 5×5 pixels"
        case let .invalidArchitecture(why): "invalid architecture: \(why)"
        case .cancelled: "the conversion was cancelled"
        }
    }
}
