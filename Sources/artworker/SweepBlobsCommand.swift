import ArgumentParser
import Foundation
import StorageCore
import WebApp

/// `artworker sweep-blobs`: removes pictures' bytes in the object store that no row names any
/// more (what `serve` does every ten minutes), for operators and tests.
struct SweepBlobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep-blobs",
        abstract: "Remove pictures' bytes in the object store (ARTWORKER_BLOB_URL) that no row names any more.")

    @Option(help: "Keep bytes stored less than this many seconds ago (an upload may be about to commit its rows).")
    var grace: Double = 3600

    @Option(help: "Folder with the SQLite database. Default: $ARTWORKER_DATA or ./data (unless $ARTWORKER_DATABASE_URL names PostgreSQL).")
    var data: String?

    func validate() throws {
        guard grace >= 0 else { throw ValidationError("--grace is a number of seconds, 0 or more") }
    }

    func run() throws {
        do {
            let configuration = try WebAppConfiguration.forCommand(data: data)
            guard configuration.blobURL != nil else {
                throw CLIError("ARTWORKER_BLOB_URL is not set: pictures are in the database, and there is nothing to sweep")
            }
            let stores = try configuration.openStores()
            var removed = 0
            guard try stores.exclusively("blob-sweep", { removed = try stores.sweepBlobs(grace: grace) }) else {
                throw CLIError("another node is sweeping the object store right now; try again later")
            }
            print("removed \(removed) object(s) no row names (stored over \(Int(grace)) s ago) from the \(stores.blobs!.description)")
        } catch let error as ConfigurationError {
            throw CLIError(error.description)
        }
    }
}
