import Testing
import TestSupport
@testable import FlashCore

/// The in-memory schedule of undecided holds: soonest first, a replaced time wins, a decided
/// hold never comes up, and a taken one stays until its step says what next.
@Suite struct HoldScheduleTests {
    @Test func holdsComeUpSoonestFirstAndOnlyWhenDue() {
        var s = HoldSchedule()
        for (gid, at) in [("c", Int64(30)), ("a", 10), ("b", 20), ("d", 40)] { s.schedule(gid, at: at) }
        #expect(s.take(atMs: 5, limit: 10).isEmpty)
        #expect(s.take(atMs: 25, limit: 10) == ["a", "b"])
        #expect(s.take(atMs: 35, limit: 2) == ["a", "b"], "taken, not yet rescheduled: still due")
        s.decided("a")
        s.schedule("b", at: 100)
        #expect(s.take(atMs: 35, limit: 10) == ["c"])
        #expect(s.count == 3)
        #expect(s.take(atMs: 1000, limit: 10) == ["c", "d", "b"])
    }

    /// Random reschedules, some back to a time they had before (two pairs at one time in the
    /// heap: each gid must come out once), over many seeds.
    @Test(arguments: 1...50)
    func manyRescheduledHoldsComeOutOnceInOrder(seed: UInt64) {
        var s = HoldSchedule()
        var rng = SplitMix64(seed: seed)
        var want: [String: Int64] = [:]
        for i in 0..<2000 {
            let at = Int64(rng.next() % 40)
            s.schedule("g\(i % 700)", at: at)
            want["g\(i % 700)"] = at
        }
        for i in stride(from: 0, to: 700, by: 7) {
            s.decided("g\(i)")
            want["g\(i)"] = nil
        }
        let got = s.take(atMs: .max, limit: 10_000)
        #expect(got.count == want.count && Set(got) == Set(want.keys), "seed \(seed)")
        #expect(got.map { want[$0]! } == got.map { want[$0]! }.sorted(), "seed \(seed)")
        let again = s.take(atMs: .max, limit: 10_000)
        #expect(Set(again) == Set(got) && again.count == got.count, "a taken hold stays scheduled once")
    }
}
