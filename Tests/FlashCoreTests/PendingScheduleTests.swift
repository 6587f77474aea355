import Testing
@testable import FlashCore

/// The timeout check's timing, without a clock or a store: instants are `t0` plus offsets.
@Suite struct PendingScheduleTests {
    let t0 = ContinuousClock.now
    let config = CoordinatorConfig(node: "n", retryBase: .milliseconds(500), retryCap: .seconds(30))

    @Test func aJournaledRowIsDueAfterTheCheckDelayAndSettlingRemovesIt() {
        var s = PendingSchedule()
        s.journaled("a", due: t0 + .seconds(3))
        #expect(s.due(at: t0 + .seconds(2)) { _ in false }.isEmpty)
        #expect(s.due(at: t0 + .seconds(3)) { _ in false } == ["a"])
        #expect(s.due(at: t0 + .seconds(3)) { $0 == "a" }.isEmpty, "one that is running is left to its run")
        #expect(s.nextWake(after: t0, cap: .seconds(1)) == t0 + .seconds(1), "the wake-up is capped")
        #expect(s.nextWake(after: t0 + .milliseconds(2500), cap: .seconds(1)) == t0 + .seconds(3))
        s.settled("a")
        #expect(s.count == 0 && !s.contains("a"))
    }

    @Test func failuresBackOffExponentiallyUpToTheCap() {
        var s = PendingSchedule()
        s.journaled("a", due: t0)
        var delays: [Duration] = []
        for _ in 0..<10 { delays.append(s.failed("a", now: t0) { config.backoff(afterAttempts: $0) }.delay) }
        #expect(delays.prefix(4) == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4)])
        #expect(delays.last == .seconds(30))
        #expect(s.entries["a"] == .init(due: t0 + .seconds(30), attempts: 10))
    }

    @Test func afterAnOutageBackedOffRowsAreDueAtOnceButNotAtEveryFlap() {
        var s = PendingSchedule()
        s.journaled("fresh", due: t0 + .seconds(3))
        s.journaled("retried", due: t0)
        _ = s.failed("retried", now: t0) { _ in .seconds(30) }
        #expect(s.retryBackedOffNow(t0 + .seconds(1)) == 1)
        #expect(s.due(at: t0 + .seconds(1)) { _ in false } == ["retried"], "a fresh row keeps its check delay")
        _ = s.failed("retried", now: t0 + .seconds(1)) { _ in .seconds(30) }
        #expect(s.retryBackedOffNow(t0 + .seconds(2)) == 0, "within 5 s of the last: throttled")
        #expect(s.retryBackedOffNow(t0 + .seconds(7)) == 1)
    }

    @Test func theEarliestRowIsBroughtForwardAsAProbeAndTheSweepAdoptsOnlyUnknownRows() {
        var s = PendingSchedule()
        s.journaled("late", due: t0 + .seconds(9))
        s.journaled("early", due: t0 + .seconds(4))
        #expect(s.bringEarliestForward(t0) { $0 == "early" }, "the earliest not running: late")
        #expect(s.entries["late"]?.due == t0)
        #expect(!s.bringEarliestForward(t0) { $0 == "early" }, "it is due already")
        s.adopt("late", due: t0 + .seconds(50), attempts: 3)
        #expect(s.entries["late"] == .init(due: t0, attempts: 0), "a known row is not replaced")
        s.adopt("swept", due: t0 + .seconds(1), attempts: 2)
        #expect(s.entries["swept"] == .init(due: t0 + .seconds(1), attempts: 2))
    }
}
