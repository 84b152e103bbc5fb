import CMalloc
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
        let model = try Self.load(style.modelURL(in: folder))
        return loaded.withLock { table in
            if let existing = table[style] { return existing } // another thread got there first
            table[style] = model
            return model
        }
    }

    /// Reads and packs a model file. Loading makes ~45 MB of small arrays (the file's tensors)
    /// that die once the layers are packed; the heap keeps their pages, scattered between the
    /// packed weights that stay. `malloc_trim` gives free pages back to the system (glibc: from
    /// the whole heap, not only its top): a server with all four models loaded measured 486–516
    /// → 437–442 MB resident, and 868–906 → 824–842 MB at the peak of a 1280×960 conversion.
    private static func load(_ url: URL) throws(ModelError) -> (generator: Generator, sha256: String) {
        let model = try { () throws(ModelError) in
            let file = try ModelFile.read(url)
            return (try Generator(modelFile: file), file.sha256)
        }()
        _ = malloc_trim(0)
        return model
    }
}
