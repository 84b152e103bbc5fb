import BlobS3
import Foundation
import StorageCore
import StoragePostgres
import StorageSQLite

extension WebAppConfiguration {
    /// The stores this configuration names: PostgreSQL when `databaseURL` is set, otherwise
    /// the SQLite file in the data folder (made private, 0700: hashes and private pictures);
    /// pictures' bytes in the object store of `blobURL`, if set. Either way the schema is
    /// migrated before this returns.
    public func openStores() throws -> Stores {
        let blobs = try openBlobs()
        if let databaseURL {
            do {
                return try PostgresDatabase(url: databaseURL).stores(blobs: blobs)
            } catch let error as StorageUnavailable {
                throw ConfigurationError("cannot reach the database at ARTWORKER_DATABASE_URL: \(error.reason)")
            }
        }
        do {
            try AppDatabase.privateFolder(dataDirectory)
        } catch {
            throw ConfigurationError("cannot create the data folder \(dataDirectory.path): \(error)")
        }
        return try AppDatabase.open(directory: dataDirectory).stores(blobs: blobs)
    }

    /// The object store of `blobURL`, checked once by listing it, so a wrong address, bucket or
    /// credential fails at start rather than at the first upload.
    func openBlobs() throws -> (any BlobStore)? {
        guard let blobURL else { return nil }
        do {
            let store = try S3BlobStore(url: blobURL, environment: environment)
            _ = try store.list(prefix: Blobs.imagePrefix + "-")
            return store
        } catch let error as S3BlobStore.ConfigurationError {
            throw ConfigurationError(error.description)
        } catch {
            throw ConfigurationError("cannot use the object store at ARTWORKER_BLOB_URL: \(error)")
        }
    }
}
