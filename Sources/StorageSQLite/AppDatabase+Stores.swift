import Foundation
import StorageCore

extension AppDatabase {
    /// Every store of the product on this SQLite database, with pictures' bytes in `blobs`
    /// when given (otherwise in the database).
    public func stores(blobs: (any BlobStore)? = nil) -> Stores {
        Stores(users: SQLiteUserStore(database: self), revokedTokens: SQLiteRevokedTokens(database: self),
               attempts: SQLiteAuthAttempts(database: self), images: SQLiteImageStore(database: self, blobs: blobs),
               movies: SQLiteMovieStore(database: self), examples: SQLiteExampleStore(database: self),
               makeJobs: { SQLiteJobStore(database: self, settings: $0, blobs: blobs) },
               appliedMigrations: { try self.appliedMigrations() },
               description: "sqlite \(pool.path)" + (blobs.map { ", pictures in the \($0.description)" } ?? ""), blobs: blobs,
               dataVersion: { try self.dataVersion() })
    }
}
