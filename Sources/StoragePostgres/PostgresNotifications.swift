import Foundation
import StorageCore
import Synchronization

/// Listens on `PostgresJobStore.channel` on a connection of its own and calls `wake` whenever
/// a job was queued on any node. Only a hint: workers poll anyway, so a notification lost
/// while the connection was down (or the listener restarting) delays a job by one poll at most.
final class PostgresJobListener: Sendable {
    private let url: String
    private let wake: @Sendable () -> Void
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(url: String, wake: @escaping @Sendable () -> Void) {
        self.url = url
        self.wake = wake
        let thread = Thread { [self] in loop() }
        thread.name = "artworker.listen"
        thread.start()
    }

    private func loop() {
        defer { finished.signal() }
        while !stopping.load(ordering: .relaxed) {
            do {
                let connection = try PostgresConnection(url: url)
                try connection.execute("LISTEN \(PostgresJobStore.channel)")
                wake() // anything queued while nobody listened
                while !stopping.load(ordering: .relaxed) {
                    if try connection.notifications(timeout: 0.5) > 0 { wake() }
                }
            } catch {
                // The database is away: try again shortly (the workers' polls carry on meanwhile).
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }

    /// Stops listening; returns when the listener's connection is closed.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        finished.wait()
    }
}
