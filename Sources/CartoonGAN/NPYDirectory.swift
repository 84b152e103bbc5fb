import Foundation

/// The published weight layout: one `<tensor name>.npy` file per tensor in a style's folder.
public enum NPYDirectory {
    /// Reads every `.npy` file in `directory`; tensor names are the file names without `.npy`.
    public static func load(_ directory: URL) throws(ModelError) -> TensorStore {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".npy") }.sorted()
        } catch {
            throw .invalidFile(directory.path, "cannot list the folder")
        }
        guard !names.isEmpty else { throw .invalidFile(directory.path, "holds no .npy files") }
        var store = TensorStore()
        for file in names {
            let bytes: [UInt8]
            do {
                bytes = [UInt8](try Data(contentsOf: directory.appendingPathComponent(file)))
            } catch {
                throw .invalidFile(file, "cannot be read")
            }
            let (shape, values) = try NPY.parse(bytes, name: file)
            store[String(file.dropLast(4))] = TensorStore.Entry(shape: shape, values: values)
        }
        return store
    }
}
