import Foundation
import StorageCore

extension AppDatabase {
    /// Every store of the product on this SQLite database.
    public func stores() -> Stores {
        Stores(users: SQLiteUserStore(database: self), revokedTokens: SQLiteRevokedTokens(database: self),
               attempts: SQLiteAuthAttempts(database: self), images: SQLiteImageStore(database: self),
               movies: SQLiteMovieStore(database: self), examples: SQLiteExampleStore(database: self),
               makeJobs: { SQLiteJobStore(database: self, settings: $0) },
               appliedMigrations: { try self.appliedMigrations() },
               description: "sqlite \(pool.path)")
    }
}
