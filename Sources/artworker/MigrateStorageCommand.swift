import ArgumentParser
import BlobS3
import Foundation
import StorageMigration
import StoragePostgres
import StorageSQLite
import StorageCore

/// Moves a one-machine installation onto PostgreSQL: `artworker migrate-storage --from
/// sqlite:data --to postgres://… [--blobs s3://…]`. Stop the service first; the copy is one
/// transaction and can be run again.
struct MigrateStorageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-storage",
        abstract: "Copy an SQLite database into PostgreSQL (pictures' bytes into an object store, with --blobs), then check counts and checksums (safe to run again).")

    @Option(help: "The SQLite database: sqlite:FOLDER (with artworker.sqlite in it) or sqlite:FILE.")
    var from: String

    @Option(help: "The PostgreSQL database: a libpq URL, postgres://user@host:port/database.")
    var to: String

    @Option(help: "An S3-compatible object store for pictures' bytes: s3://BUCKET?endpoint=https://HOST&region=REGION (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). Without it they go into PostgreSQL.")
    var blobs: String?

    func run() throws {
        guard from.hasPrefix("sqlite:") else { throw ValidationError("--from must be sqlite:PATH (a data folder or its artworker.sqlite)") }
        guard to.hasPrefix("postgres://") || to.hasPrefix("postgresql://") else {
            throw ValidationError("--to must be a PostgreSQL URL: postgres://user@host:port/database")
        }
        var path = String(from.dropFirst("sqlite:".count))
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw CLIError("\(path): no such file or folder") }
        if isFolder.boolValue { path = URL(fileURLWithPath: path).appendingPathComponent("artworker.sqlite").path }
        guard FileManager.default.fileExists(atPath: path) else { throw CLIError("\(path): no database here") }
        let source: AppDatabase, target: PostgresDatabase, objectStore: S3BlobStore?
        do {
            objectStore = try blobs.map { try S3BlobStore(url: $0, environment: ProcessInfo.processInfo.environment) }
            _ = try objectStore?.list(prefix: Blobs.imagePrefix + "-") // a wrong address or credential fails before anything is copied
        } catch let error as S3BlobStore.ConfigurationError {
            throw CLIError(error.description)
        } catch {
            throw CLIError("cannot use the object store at --blobs: \(error)")
        }
        do {
            source = try AppDatabase(path: path) // migrates it to the current schema first, as serve would
            target = try PostgresDatabase(url: to)
        } catch let error as StorageUnavailable {
            throw CLIError("cannot reach PostgreSQL: \(error.reason)")
        }
        print("copying \(path) into \(target.description)" + (objectStore.map { ", pictures into the \($0.description)" } ?? ""))
        do {
            let report = try StorageCopy.copy(from: source, to: target, blobs: objectStore) { print("  " + $0) }
            for sum in report.checksums { print("  verified \(sum.name): \(sum.rows) rows, sha256 \(sum.sha256.prefix(16))…") }
            let added = report.tables.reduce(0) { $0 + $1.added }
            print("done: every table has the same rows on both sides; \(added) rows added by this run")
        } catch let mismatch as StorageCopy.Mismatch {
            throw CLIError("the copy does not match: \(mismatch.description)")
        } catch let error as PostgresError {
            throw CLIError("PostgreSQL refused the copy (nothing was changed): \(error.message)")
        } catch let error as StorageUnavailable {
            throw CLIError("lost PostgreSQL or the object store during the copy (no row was changed): \(error.reason)")
        } catch let error as S3Error {
            throw CLIError("the object store refused the copy (no row was changed): \(error.message)")
        }
    }
}
