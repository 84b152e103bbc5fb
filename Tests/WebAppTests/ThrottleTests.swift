import Foundation
import Testing
@testable import WebApp

@Suite("Login throttling")
struct ThrottleTests {
    @Test("kicks in per username and per address, and recovers as the window slides")
    func kicksInAndRecovers() {
        let throttle = LoginThrottle(policy: .init(window: 60, perUsername: 3, perAddress: 5))
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        for i in 0..<3 { throttle.recordFailure(username: "Mei", address: "10.0.0.1", now: t0.addingTimeInterval(Double(i))) }
        #expect(throttle.retryAfter(username: "mei", address: "10.0.0.9", now: t0.addingTimeInterval(3)) == 57)
        #expect(throttle.retryAfter(username: "satsuki", address: "10.0.0.1", now: t0.addingTimeInterval(3)) == nil)
        #expect(throttle.retryAfter(username: "mei", address: "10.0.0.9", now: t0.addingTimeInterval(61)) == nil) // recovered
        for i in 0..<5 { throttle.recordFailure(username: "user\(i)", address: "10.0.0.2", now: t0) }
        #expect(throttle.retryAfter(username: "someone", address: "10.0.0.2", now: t0.addingTimeInterval(1)) == 59)
        throttle.recordSuccess(username: "MEI")
        #expect(throttle.retryAfter(username: "mei", address: "10.0.0.8", now: t0.addingTimeInterval(4)) == nil)
    }
}
