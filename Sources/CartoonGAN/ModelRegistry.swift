import Foundation
import Synchronization

/// The generators of a weights folder, loaded on first use (one model file is ~45 MB and takes
/// about a second to pack) and kept, with the SHA-256 of the file they came from for provenance.
public final class ModelRegistry: Sendable {
    public let folder: URL
    private let loaded = Mutex<[Style: (generator: Generator, sha256: String)]>([:])

    public init(folder: URL) {
        self.folder = folder
    }

    /// The styles whose model files are present.
    public var availableStyles: [Style] {
        Style.allCases.filter { FileManager.default.fileExists(atPath: $0.modelURL(in: folder).path) }
    }

    public func model(_ style: Style) throws(ModelError) -> (generator: Generator, sha256: String) {
        if let model = loaded.withLock({ $0[style] }) { return model }
        let file = try ModelFile.read(style.modelURL(in: folder))
        let model = (try Generator(modelFile: file), file.sha256)
        return loaded.withLock { table in
            if let existing = table[style] { return existing } // another thread got there first
            table[style] = model
            return model
        }
    }
}
