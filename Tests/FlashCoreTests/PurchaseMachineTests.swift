import Testing
@testable import FlashCore

/// The per-purchase protocol, step by step, without I/O.
@Suite struct PurchaseMachineTests {
    @Test func happyPathJournalsThenDeductsThenCommitsOrder() {
        var m = PurchaseMachine(mode: .purchase)
        #expect(m.start() == .writeJournal)
        #expect(m.journaled(state: .prepared, reason: nil, existed: false) == .runStockScript)
        #expect(m.stockReplied(.deducted(remaining: 3)) == .commitOrder)
        #expect(m.committed() == .replyOrdered(replayed: false))
        #expect(m.state == .finished)
    }

    @Test(arguments: [
        (StockReply.soldOut, FailureReason.soldOut),
        (.limitReached, .limitReached),
        (.rolledBack, .rolledBack),
        (.noSale, .unknownSale),
        (.staleRound(current: 2), .saleReset),
    ])
    func refusalsCommitTheirReason(reply: StockReply, reason: FailureReason) {
        var m = PurchaseMachine(mode: .purchase)
        _ = m.start()
        _ = m.journaled(state: .prepared, reason: nil, existed: false)
        #expect(m.stockReplied(reply) == .commitFailure(reason))
        #expect(m.committed() == .replyRefused(reason, replayed: false))
    }

    /// The sale's clock refused it before any stock step: the row goes, nothing is final.
    @Test(arguments: [FailureReason.notOpen, .closed, .paused])
    func aClockRefusalDiscardsTheRow(reason: FailureReason) {
        var m = PurchaseMachine(mode: .purchase)
        _ = m.start()
        _ = m.journaled(state: .prepared, reason: nil, existed: false)
        #expect(m.stockReplied(.clockRefused(reason)) == .discardJournal(reason))
        #expect(m.committed() == .replyRefused(reason, replayed: false))
        var failing = PurchaseMachine(mode: .purchase)
        _ = failing.start()
        _ = failing.journaled(state: .prepared, reason: nil, existed: false)
        _ = failing.stockReplied(.clockRefused(reason))
        // A row that could not be removed stays prepared, for the timeout check to roll back.
        #expect(failing.failed(EngineError(.journalUnavailable, "disk")) == .leavePending(EngineError(.journalUnavailable, "disk")))
    }

    @Test func aRetriedStockStepThatAlreadyDeductedStillOrders() {
        var m = PurchaseMachine(mode: .purchase)
        _ = m.start()
        _ = m.journaled(state: .prepared, reason: nil, existed: false)
        #expect(m.stockReplied(.alreadyDeducted) == .commitOrder)
    }

    @Test func retryOfFinishedPurchaseReplaysWithoutTouchingRedis() {
        var ok = PurchaseMachine(mode: .purchase)
        _ = ok.start()
        #expect(ok.journaled(state: .succeeded, reason: nil, existed: true) == .replyOrdered(replayed: true))

        var refused = PurchaseMachine(mode: .purchase)
        _ = refused.start()
        #expect(refused.journaled(state: .failed, reason: .soldOut, existed: true) == .replyRefused(.soldOut, replayed: true))
    }

    /// The same request deducted on another node first: this node's row goes and the answer
    /// is that node's order, from the stock step or from a back-check.
    @Test func aRequestOrderedOnAnotherNodeIsAdopted() {
        let first = OrderElsewhere(gid: "a-1", round: 1, deductedMs: 5)
        var m = PurchaseMachine(mode: .purchase)
        _ = m.start()
        _ = m.journaled(state: .prepared, reason: nil, existed: false)
        #expect(m.stockReplied(.orderedElsewhere(first)) == .adoptOrder(first))
        #expect(m.committed() == .replyOrdered(replayed: true))

        var resolving = PurchaseMachine(mode: .resolve)
        #expect(resolving.start() == .backCheck)
        #expect(resolving.backChecked(.orderedElsewhere(first)) == .adoptOrder(first))
        #expect(resolving.failed(.redisUnavailable("down")) == .leavePending(.redisUnavailable("down")), "the row stays for the next check")
    }

    /// A rolled-back row is asked about again: the first attempt may have deducted on another
    /// node after this one rolled back. Redis unreachable or no such order: the row's answer.
    @Test func aRetryOfARolledBackRequestAsksRedisAgain() {
        let first = OrderElsewhere(gid: "a-1", round: 1, deductedMs: 5)
        func rechecking() -> PurchaseMachine {
            var m = PurchaseMachine(mode: .purchase)
            _ = m.start()
            #expect(m.journaled(state: .failed, reason: .rolledBack, existed: true) == .backCheck)
            return m
        }
        var found = rechecking()
        #expect(found.backChecked(.orderedElsewhere(first)) == .adoptOrder(first))
        #expect(found.committed() == .replyOrdered(replayed: true))
        var none = rechecking()
        #expect(none.backChecked(.rolledBack) == .replyRefused(.rolledBack, replayed: true))
        var down = rechecking()
        #expect(down.failed(.redisUnavailable("down")) == .replyRefused(.rolledBack, replayed: true))
    }

    @Test func retryOfPreparedPurchaseBackChecksAtOnce() {
        var m = PurchaseMachine(mode: .purchase)
        _ = m.start()
        #expect(m.journaled(state: .prepared, reason: nil, existed: true) == .backCheck)
        #expect(m.backChecked(.deducted) == .commitOrder)
        #expect(m.committed() == .replyOrdered(replayed: true))
    }

    @Test func resolveModeBackChecksAndRollsBack() {
        var m = PurchaseMachine(mode: .resolve)
        #expect(m.start() == .backCheck)
        #expect(m.backChecked(.rolledBack) == .commitFailure(.rolledBack))
        #expect(m.committed() == .replyRefused(.rolledBack, replayed: false))
    }

    @Test func failureBeforeTheJournalRowIsPlainErrorAfterItLeavesPending() {
        let err = EngineError.redisUnavailable("down")
        var early = PurchaseMachine(mode: .purchase)
        _ = early.start()
        #expect(early.failed(err) == .fail(err))

        var late = PurchaseMachine(mode: .purchase)
        _ = late.start()
        _ = late.journaled(state: .prepared, reason: nil, existed: false)
        #expect(late.failed(err) == .leavePending(err))

        var committing = PurchaseMachine(mode: .purchase)
        _ = committing.start()
        _ = committing.journaled(state: .prepared, reason: nil, existed: false)
        _ = committing.stockReplied(.deducted(remaining: 0))
        #expect(committing.failed(.journalUnavailable("full")) == .leavePending(.journalUnavailable("full")))
    }

    @Test(arguments: FaultMode.allCases)
    func faultPointsFireWhereAsked(mode: FaultMode) {
        let afterJournal = FaultRequest(point: .afterJournal, mode: mode)
        var a = PurchaseMachine(mode: .purchase, fault: afterJournal)
        _ = a.start()
        #expect(a.journaled(state: .prepared, reason: nil, existed: false) == .injectFault(afterJournal))

        let afterStock = FaultRequest(point: .afterStock, mode: mode)
        var b = PurchaseMachine(mode: .purchase, fault: afterStock)
        _ = b.start()
        _ = b.journaled(state: .prepared, reason: nil, existed: false)
        #expect(b.stockReplied(.deducted(remaining: 1)) == .injectFault(afterStock))

        let beforeOrder = FaultRequest(point: .beforeOrder, mode: mode)
        var c = PurchaseMachine(mode: .purchase, fault: beforeOrder)
        _ = c.start()
        _ = c.journaled(state: .prepared, reason: nil, existed: false)
        #expect(c.stockReplied(.deducted(remaining: 1)) == .injectFault(beforeOrder))

        // A fault after the stock step doesn't fire when nothing was deducted.
        var d = PurchaseMachine(mode: .purchase, fault: afterStock)
        _ = d.start()
        _ = d.journaled(state: .prepared, reason: nil, existed: false)
        #expect(d.stockReplied(.soldOut) == .commitFailure(.soldOut))
    }
}
