import Foundation

/// Where picture bytes live when not in the database: an S3-compatible object store
/// (`ARTWORKER_BLOB_URL`). Without one, each part's bytes stay in its `image_data` row (SQLite
/// or PostgreSQL `bytea`), which is the default.
///
/// The rule both backends keep: a picture's bytes are stored *before* the rows that name them
/// are committed (`Blobs.upload`), so a committed row never points at nothing. What a failure
/// leaves behind is the other way round — bytes no row names (a worker killed between the
/// upload and the commit, a lease lost, a picture deleted) — and `Blobs.sweep` removes those.
public protocol BlobStore: Sendable {
    /// "s3 bucket at endpoint", for logs (never a credential).
    var description: String { get }
    func put(_ key: String, _ data: Data) throws
    /// The bytes, or nil when there is no such key.
    func get(_ key: String) throws -> Data?
    /// Removes the key; removing a key that is not there is no error.
    func delete(_ key: String) throws
    /// Every key under `prefix`, with when it was stored.
    func list(prefix: String) throws -> [StoredBlob]
}

public struct StoredBlob: Sendable, Equatable {
    public var key: String
    public var lastModified: Date

    public init(key: String, lastModified: Date) {
        self.key = key
        self.lastModified = lastModified
    }
}

/// A row names bytes the object store does not have: lost outside Artworker (a bucket emptied
/// by hand, a lifecycle rule). Not the reader's fault, and not passing either.
public struct MissingBlob: Error, Sendable, CustomStringConvertible {
    public var key: String
    public init(key: String) { self.key = key }
    public var description: String { "the object store has no \(key), which the database names" }
}

/// The rules of picture bytes in an object store, the same for both backends.
public enum Blobs {
    /// Where pictures' parts go: one key per image and part.
    public static let imagePrefix = "images/"

    public static func key(image id: String, part: String) -> String { imagePrefix + id + "/" + part }

    /// The parts of an image that are stored, in the order rows are written ("before" only when
    /// there is one: pictures made before it existed have none; "poster" and "animation" only
    /// for clips).
    public static func parts(of image: Image) -> [(part: String, bytes: Data)] {
        let all: [(part: String, bytes: Data)] = [("original", image.original), ("result", image.result), ("thumbnail", image.thumbnail),
                                                  ("before", image.before), ("poster", image.poster), ("animation", image.animation)]
        return all.filter { !$0.bytes.isEmpty || ["original", "result", "thumbnail"].contains($0.part) }
    }

    /// Puts a part read back from its row into the image.
    public static func set(_ part: String, _ bytes: Data, in image: inout Image) {
        switch part {
        case "original": image.original = bytes
        case "result": image.result = bytes
        case "before": image.before = bytes
        case "poster": image.poster = bytes
        case "animation": image.animation = bytes
        default: image.thumbnail = bytes
        }
    }

    /// Stores every part of `images` in the object store, before their rows are committed.
    public static func upload(_ images: [Image], to blobs: (any BlobStore)?) throws {
        guard let blobs else { return }
        for image in images {
            for (part, bytes) in parts(of: image) { try blobs.put(key(image: image.id, part: part), bytes) }
        }
    }

    /// The bytes a row names: its own (`bytes`), or the object store's under `blob`.
    public static func read(bytes: Data, blob: String?, from blobs: (any BlobStore)?) throws -> Data {
        guard let blob else { return bytes }
        guard let blobs else {
            throw StorageUnavailable("pictures are in an object store, but ARTWORKER_BLOB_URL is not set")
        }
        guard let data = try blobs.get(blob) else { throw MissingBlob(key: blob) }
        return data
    }

    /// Removes the pictures' bytes no row names any more, among those stored more than `grace`
    /// ago (younger ones may belong to a row about to be committed). `referenced` answers which
    /// of some keys rows still name. Returns how many were removed.
    @discardableResult
    public static func sweep(_ blobs: any BlobStore, referenced: ([String]) throws -> Set<String>, grace: TimeInterval,
                             now: Date = Date()) throws -> Int {
        let old = try blobs.list(prefix: imagePrefix).filter { $0.lastModified < now.addingTimeInterval(-grace) }.map(\.key)
        var removed = 0
        var start = 0
        while start < old.count {
            let batch = Array(old[start..<min(start + 500, old.count)])
            let kept = try referenced(batch)
            for key in batch where !kept.contains(key) {
                try blobs.delete(key)
                removed += 1
            }
            start += batch.count
        }
        return removed
    }
}
