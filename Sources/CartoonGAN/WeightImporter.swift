import Foundation

/// The four published styles.
public enum Style: String, Sendable, CaseIterable, Codable {
    case hayao, hosoda, paprika, shinkai

    public var displayName: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }

    /// The model file of this style in a weights folder.
    public func modelURL(in folder: URL) -> URL {
        folder.appendingPathComponent("\(rawValue).safetensors")
    }
}

/// Turns the published `.npy` weights into verified model files.
public enum WeightImporter {
    /// Where a user can get the published weights.
    public static let sourceHint = """
        The published CartoonGAN weights (hayao, hosoda, paprika, shinkai) are the .npy files in \
        https://github.com/mnicnc404/CartoonGan-tensorflow under \
        style_transfer/cartoongan/pretrained_weights/<style>/ (converted from the authors' release, \
        https://github.com/Yijunmaverick/CartoonGAN-Test-Pytorch-Torch). Put each style's files in \
        DIR/<style>/ and run: artworker import-weights --from DIR
        """

    /// The SHA-256 of every source file, per style, from `Weights/manifest.json`.
    public static func manifest(_ url: URL) throws(ModelError) -> [String: [String: String]] {
        guard let data = FileManager.default.contents(atPath: url.path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let styles = object["styles"] as? [String: Any] else {
            throw .invalidFile(url.path, "is not a weights manifest")
        }
        var result: [String: [String: String]] = [:]
        for (style, value) in styles {
            guard let files = (value as? [String: Any])?["files"] as? [String: String] else {
                throw .invalidFile(url.path, "style \(style) has no file list")
            }
            result[style] = files
        }
        return result
    }

    /// Verifies `source/<style>/*.npy` against the manifest, builds the generator from them (so a
    /// bad set fails here, naming the tensor), and writes `destination/<style>.safetensors`.
    /// Returns the model file's SHA-256.
    @discardableResult
    public static func importStyle(_ style: Style, from source: URL, to destination: URL,
                                   manifest: [String: [String: String]]) throws(ModelError) -> String {
        let folder = source.appendingPathComponent(style.rawValue)
        guard let expected = manifest[style.rawValue] else {
            throw .invalidFile("manifest", "has no entry for \(style.rawValue)")
        }
        let present: [String]
        do {
            present = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".npy") }
        } catch {
            throw .invalidFile(folder.path, "does not exist.\n\(sourceHint)")
        }
        for file in present.sorted() where expected[file] == nil {
            throw .invalidFile(file, "is not in the manifest for \(style.rawValue)")
        }
        for (file, hash) in expected.sorted(by: { $0.key < $1.key }) {
            guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(file).path) else {
                throw .missingTensor("\(style.rawValue)/\(file)")
            }
            let found = sha256Hex([UInt8](data))
            guard found == hash else { throw .checksumMismatch("\(style.rawValue)/\(file)", expected: hash, found: found) }
        }
        let store = try NPYDirectory.load(folder)
        let architecture = GeneratorArchitecture.cartoonGAN
        _ = try Generator(weights: store, architecture: architecture) // strict check before writing
        let file = ModelFile(tensors: store, architecture: architecture, metadata: [
            "style": style.rawValue,
            "source": "CartoonGAN (Chen, Lai, Liu, CVPR 2018) pretrained generator, .npy from mnicnc404/CartoonGan-tensorflow",
            "source_files_verified": "sha256, Weights/manifest.json",
        ])
        do {
            try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        } catch {
            throw .invalidFile(destination.path, "cannot be created")
        }
        return try file.write(to: style.modelURL(in: destination))
    }
}
