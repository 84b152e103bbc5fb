import Dispatch
import Foundation
import HTTPServer
import ImageIO
import Synchronization
import Testing
@testable import WebApp

/// Decoding runs within a memory budget (issue 12, item 4).
/// What ran, in order (a class, so concurrent closures share it).
final class RunLog: Sendable {
    let entries = Mutex<[String]>([])
    func add(_ entry: String) { entries.withLock { $0.append(entry) } }
    var all: [String] { entries.withLock { $0 } }
}

@Suite("Decode gate")
struct DecodeGateTests {
    @Test("decodes run while their costs fit; the next waits its turn; past the waiting room, 503")
    func admission() async throws {
        let gate = DecodeGate(capacity: 100, maxWaiting: 1)
        let release = DispatchSemaphore(value: 0)
        let order = RunLog()
        async let first: Void = gate.run(cost: 60) { order.add("first"); release.wait() }
        while gate.inUse != 60 { try await Task.sleep(nanoseconds: 1_000_000) }
        async let second: Void = gate.run(cost: 60) { order.add("second") }
        try await Task.sleep(nanoseconds: 50_000_000)
        #expect(order.all == ["first"]) // 60 + 60 > 100: the second waits
        await #expect(throws: Refusal(.busy(retryAfter: 5), "upload.busy")) {
            try await gate.run(cost: 1) {}
        } // the waiting room (1) is full
        release.signal()
        try await first
        try await second
        #expect(order.all == ["first", "second"] && gate.inUse == 0)
        // A decode larger than the whole budget still runs, alone.
        try await gate.run(cost: 10_000) {}
        #expect(gate.inUse == 0)
    }

    @Test("the header's cost: 3 bytes a pixel, 11 for a 16-bit Adam7 PNG")
    func costs() throws {
        let cup = Photos.cup
        let info = try ImageDecoder.info(cup)
        #expect(info.decodeCost == info.width * info.height * 3)
    }
}
