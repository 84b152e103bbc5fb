/// Turns decoded frames (each shown from its time until the next one's) into output slots at a
/// fixed rate: slot k shows whatever frame is on screen at time k / rate. A frame that covers no
/// slot is dropped; one that covers several is written once and held (its duration grows), so
/// each distinct picture costs one inference. With rate 12 a 24 fps clip keeps every other frame,
/// each held for two 24ths: animation "on twos".
struct FrameSampler {
    let rate: FrameRate
    /// The next slot not yet given out.
    private(set) var nextSlot = 0

    init(rate: FrameRate) {
        self.rate = rate
    }

    /// The first slot at or after `seconds` (a tiny tolerance keeps exact multiples exact).
    func slot(atOrAfter seconds: Double) -> Int {
        Int((seconds * rate.value - 1e-6).rounded(.up))
    }

    /// The slots a frame shown from (the previous call's end) until `end` seconds covers:
    /// empty when it falls between two slots.
    mutating func take(until end: Double) -> Range<Int> {
        let last = max(nextSlot, slot(atOrAfter: end))
        defer { nextSlot = last }
        return nextSlot..<last
    }
}
