import Foundation
import StorageCore
import StoragePostgres
import StorageSQLite

extension WebAppConfiguration {
    /// The stores this configuration names: PostgreSQL when `databaseURL` is set, otherwise
    /// the SQLite file in the data folder (made private, 0700: hashes and private pictures).
    /// Either way the schema is migrated before this returns.
    public func openStores() throws -> Stores {
        if let databaseURL {
            do {
                return try PostgresDatabase(url: databaseURL).stores()
            } catch let error as StorageUnavailable {
                throw ConfigurationError("cannot reach the database at ARTWORKER_DATABASE_URL: \(error.reason)")
            }
        }
        do {
            try AppDatabase.privateFolder(dataDirectory)
        } catch {
            throw ConfigurationError("cannot create the data folder \(dataDirectory.path): \(error)")
        }
        return try AppDatabase.open(directory: dataDirectory).stores()
    }
}
