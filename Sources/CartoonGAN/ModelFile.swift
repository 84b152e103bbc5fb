import Crypto
import Foundation

/// One style's generator on disk, in the safetensors layout: an 8-byte little-endian header
/// length, a JSON header (tensor name → dtype, shape, byte range; plus `__metadata__`), then the
/// raw little-endian float32 data. The metadata records the architecture, so the loader needs
/// nothing but the file.
///
/// Format: https://github.com/huggingface/safetensors ("Format" section).
public struct ModelFile: Sendable {
    public var tensors: TensorStore
    public var architecture: GeneratorArchitecture
    /// Free-form provenance: style, source, how it was made.
    public var metadata: [String: String]
    /// SHA-256 of the file's bytes, hex (set when read or written).
    public var sha256: String = ""

    public init(tensors: TensorStore, architecture: GeneratorArchitecture, metadata: [String: String]) {
        self.tensors = tensors
        self.architecture = architecture
        self.metadata = metadata
    }

    static let format = "artworker-cartoongan-generator"

    public func serialized() throws(ModelError) -> [UInt8] {
        var header: [String: Any] = [:]
        var meta = metadata
        meta["format"] = Self.format
        meta["base_channels"] = String(architecture.baseChannels)
        meta["residual_blocks"] = String(architecture.residualBlocks)
        meta["norm_groups"] = architecture.normGroups.map(String.init) ?? "instance"
        meta["weight_norm"] = architecture.weightNorm ? "true" : "false"
        meta["epsilon"] = String(architecture.epsilon)
        meta["epsilon_added_to"] = architecture.epsilonAddedToVariance ? "variance" : "std"
        header["__metadata__"] = meta
        var offset = 0
        let names = tensors.entries.keys.sorted()
        for name in names {
            let entry = tensors.entries[name]!
            let size = entry.values.count * 4
            header[name] = ["dtype": "F32", "shape": entry.shape, "data_offsets": [offset, offset + size]]
            offset += size
        }
        var json: [UInt8]
        do {
            json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        } catch {
            throw .invalidFile("model", "cannot encode the header")
        }
        // Pad the header with spaces so the data starts 8-byte aligned.
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: json)
        for name in names {
            for value in tensors.entries[name]!.values {
                withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            }
        }
        return bytes
    }

    /// A model file's bytes ([UInt8], or the Data `read` loads), read in place: a model is
    /// ~45 MB, so no second copy while loading.
    public static func parse(_ bytes: some ContiguousBytes, name: String) throws(ModelError) -> ModelFile {
        // withUnsafeBytes rethrows untyped errors: carry the typed one out in a Result.
        try bytes.withUnsafeBytes { raw in Result { () throws(ModelError) in try parse(contents: raw, name: name) } }.get()
    }

    private static func parse(contents bytes: UnsafeRawBufferPointer, name: String) throws(ModelError) -> ModelFile {
        guard bytes.count >= 8 else { throw .invalidFile(name, "too short to be a model file") }
        let headerLength = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        guard headerLength > 1, headerLength <= 100_000_000, 8 + headerLength <= bytes.count else {
            throw .invalidFile(name, "bad header length")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)]))
        } catch {
            throw .invalidFile(name, "header is not JSON")
        }
        guard let header = object as? [String: Any],
              let meta = header["__metadata__"] as? [String: String] else {
            throw .invalidFile(name, "header has no metadata")
        }
        guard meta["format"] == format else { throw .invalidFile(name, "not an Artworker generator file") }
        let architecture = try Self.architecture(meta, name: name)
        let dataStart = 8 + headerLength, dataLength = bytes.count - dataStart
        var store = TensorStore()
        var covered = 0
        for (tensor, value) in header where tensor != "__metadata__" {
            guard let info = value as? [String: Any], info["dtype"] as? String == "F32",
                  let shape = info["shape"] as? [Int], let range = info["data_offsets"] as? [Int],
                  range.count == 2, range[0] >= 0, range[0] <= range[1], range[1] <= dataLength,
                  shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) * 4 == range[1] - range[0]
            else { throw .invalidFile(name, "tensor \(tensor) has a bad header entry") }
            let values = [Float](unsafeUninitializedCapacity: (range[1] - range[0]) / 4) { buffer, initialized in
                for i in buffer.indices {
                    let bits = bytes.loadUnaligned(fromByteOffset: dataStart + range[0] + i * 4, as: UInt32.self)
                    buffer[i] = Float(bitPattern: UInt32(littleEndian: bits))
                }
                initialized = buffer.count
            }
            covered += range[1] - range[0]
            store[tensor] = TensorStore.Entry(shape: shape, values: values)
        }
        guard covered == dataLength else { throw .invalidFile(name, "data section does not match the header") }
        var file = ModelFile(tensors: store, architecture: architecture,
                             metadata: meta.filter { !Self.architectureKeys.contains($0.key) })
        file.sha256 = sha256Hex(bytes)
        return file
    }

    static let architectureKeys: Set<String> = [
        "format", "base_channels", "residual_blocks", "norm_groups", "weight_norm", "epsilon", "epsilon_added_to",
    ]

    static func architecture(_ meta: [String: String], name: String) throws(ModelError) -> GeneratorArchitecture {
        guard let base = meta["base_channels"].flatMap(Int.init),
              let blocks = meta["residual_blocks"].flatMap(Int.init),
              let groups = meta["norm_groups"],
              let epsilon = meta["epsilon"].flatMap(Double.init),
              let weightNorm = meta["weight_norm"], ["true", "false"].contains(weightNorm),
              let placement = meta["epsilon_added_to"], ["std", "variance"].contains(placement)
        else { throw .invalidFile(name, "metadata does not describe the architecture") }
        let normGroups: Int?
        if groups == "instance" {
            normGroups = nil
        } else if let g = Int(groups) {
            normGroups = g
        } else {
            throw .invalidFile(name, "norm_groups '\(groups)' is neither 'instance' nor a number")
        }
        return GeneratorArchitecture(baseChannels: base, residualBlocks: blocks, normGroups: normGroups,
                                     weightNorm: weightNorm == "true", epsilon: epsilon,
                                     epsilonAddedToVariance: placement == "variance")
    }

    public static func read(_ url: URL) throws(ModelError) -> ModelFile {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .invalidFile(url.path, "cannot be read")
        }
        return try parse(data, name: url.lastPathComponent)
    }

    /// Writes through a temporary file and a rename: readers never see half a model.
    public func write(to url: URL) throws(ModelError) -> String {
        let bytes = try serialized()
        do {
            try Data(bytes).write(to: url, options: .atomic)
        } catch {
            throw .invalidFile(url.path, "cannot be written")
        }
        return sha256Hex(bytes)
    }
}

extension Generator {
    /// Loads a model file and builds its generator (strictly: see `init(weights:architecture:)`).
    public init(modelFile: ModelFile) throws(ModelError) {
        try self.init(weights: modelFile.tensors, architecture: modelFile.architecture)
    }
}

func sha256Hex(_ bytes: some DataProtocol) -> String {
    SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}
