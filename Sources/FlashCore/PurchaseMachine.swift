/// The per-purchase protocol as a pure state machine: it owns no I/O. The coordinator feeds it
/// the result of each step and performs the action it returns, until the action is final.
///
///     purchase:  writeJournal ─▶ runStockScript ─▶ commitOrder | commitFailure | adoptOrder ─▶ reply
///     resolve:   backCheck ─▶ commitOrder | commitFailure(rolledBack) | adoptOrder ─▶ reply
///
/// A retry that finds its row still prepared switches to the resolve path at once (dtm#553)
/// instead of waiting for the timeout check. A transient failure after the journal row exists
/// leaves the transaction prepared for the timeout check; before it exists there is nothing to
/// resolve and the error goes straight back.
///
/// `adoptOrder` is the same request having deducted on another node first (a load balancer's
/// retry): this node's row goes, and the answer is that node's order. A retry that finds its
/// row rolled back asks Redis again for the same reason: the first attempt, on another node,
/// may have deducted after this one was rolled back.
public struct PurchaseMachine: Sendable {
    public enum State: Sendable, Equatable {
        case idle
        case journaling
        case deducting
        case backChecking
        case committingOrder(replayed: Bool)
        case committingFailure(FailureReason, replayed: Bool)
        /// The sale's clock refused the purchase: its prepared row is being removed.
        case discarding(FailureReason)
        /// The request deducted on another node: this node's prepared row is being removed.
        case adopting(replayed: Bool)
        /// A retry found its row rolled back: is the request another node's order now?
        case recheckingRollback
        case finished
    }

    public enum Action: Sendable, Equatable {
        case writeJournal
        case runStockScript
        case backCheck
        case commitOrder
        case commitFailure(FailureReason)
        /// Remove the prepared row: the purchase never began (the sale's clock refused it before
        /// any stock step), so no outcome binds its request id, as with a fast refusal.
        case discardJournal(FailureReason)
        /// Drop the row if still prepared (it deducted nothing) and answer with the order of
        /// the gid that deducted for this request on another node.
        case adoptOrder(OrderElsewhere)
        /// Crash here as the request asked (only reachable when fault injection is enabled).
        case injectFault(FaultRequest)
        case replyOrdered(replayed: Bool)
        case replyRefused(FailureReason, replayed: Bool)
        /// Answer with the error; the transaction stays prepared and the timeout check owns it.
        case leavePending(EngineError)
        /// Answer with the error; nothing was written that needs resolving.
        case fail(EngineError)
    }

    public enum Mode: Sendable, Equatable {
        /// A client's purchase: journal first, then the stock step.
        case purchase
        /// The timeout check or recovery: the row exists and is prepared.
        case resolve
    }

    public private(set) var state: State = .idle
    public let mode: Mode
    public let fault: FaultRequest?

    public init(mode: Mode, fault: FaultRequest? = nil) {
        self.mode = mode
        self.fault = fault
    }

    public mutating func start() -> Action {
        precondition(state == .idle, "start() called twice")
        switch mode {
        case .purchase:
            state = .journaling
            return .writeJournal
        case .resolve:
            state = .backChecking
            return .backCheck
        }
    }

    /// The journal row for this gid: the one just written (`existed == false`) or one found there.
    public mutating func journaled(state found: TxnState, reason: FailureReason?, existed: Bool) -> Action {
        precondition(state == .journaling)
        if !existed {
            if let f = fault, f.point == .afterJournal { return crash(f) }
            state = .deducting
            return .runStockScript
        }
        switch found {
        case .succeeded:
            state = .finished
            return .replyOrdered(replayed: true)
        case .failed where (reason ?? .rolledBack) == .rolledBack && mode == .purchase:
            state = .recheckingRollback
            return .backCheck
        case .failed:
            state = .finished
            return .replyRefused(reason ?? .rolledBack, replayed: true)
        case .prepared:
            // Someone started this purchase and never finished it: settle it now.
            state = .backChecking
            return .backCheck
        }
    }

    public mutating func stockReplied(_ reply: StockReply) -> Action {
        precondition(state == .deducting)
        switch reply {
        case .deducted, .alreadyDeducted:
            if let f = fault, f.point == .afterStock { return crash(f) }
            return commitOrder(replayed: false)
        case .rolledBack: return commitFailure(.rolledBack, replayed: false)
        case .soldOut: return commitFailure(.soldOut, replayed: false)
        case .limitReached: return commitFailure(.limitReached, replayed: false)
        case .noSale: return commitFailure(.unknownSale, replayed: false)
        case .staleRound: return commitFailure(.saleReset, replayed: false)
        case .clockRefused(let reason):
            state = .discarding(reason)
            return .discardJournal(reason)
        case .orderedElsewhere(let first):
            return adopt(first, replayed: true)
        case .fenced:
            // Nothing was deducted, but the row exists: the timeout check's back-check settles
            // it (it writes the rollback marker), as for any purchase left pending.
            state = .finished
            return .leavePending(EngineError(.redisBehind, "sales of this item are stopped: Redis holds fewer deductions than "
                                             + "the journal proves (see status); an operator repairs it with flashsalectl sale repair"))
        }
    }

    public mutating func backChecked(_ reply: BackCheckReply) -> Action {
        precondition(state == .backChecking || state == .recheckingRollback)
        // A resolved retry answers with what the first attempt would have: it is a replay.
        let replayed = mode == .purchase
        if state == .recheckingRollback {
            // The row is final; only another node's order can change the answer.
            guard case .orderedElsewhere(let first) = reply else {
                state = .finished
                return .replyRefused(.rolledBack, replayed: true)
            }
            return adopt(first, replayed: true)
        }
        switch reply {
        case .deducted: return commitOrder(replayed: replayed)
        case .rolledBack: return commitFailure(.rolledBack, replayed: replayed)
        case .orderedElsewhere(let first): return adopt(first, replayed: replayed)
        }
    }

    /// The commit asked for by the last action is durable.
    public mutating func committed() -> Action {
        switch state {
        case .committingOrder(let replayed):
            state = .finished
            return .replyOrdered(replayed: replayed)
        case .committingFailure(let reason, let replayed):
            state = .finished
            return .replyRefused(reason, replayed: replayed)
        case .discarding(let reason):
            state = .finished
            return .replyRefused(reason, replayed: false)
        case .adopting(let replayed):
            state = .finished
            return .replyOrdered(replayed: replayed)
        default:
            preconditionFailure("committed() in \(state)")
        }
    }

    /// The step the last action asked for failed with `error`.
    public mutating func failed(_ error: EngineError) -> Action {
        let before = state
        state = .finished
        switch before {
        case .journaling:
            // The row may or may not exist; if it does, it is prepared and the timeout check
            // finds it through the journal at the next start-up at the latest.
            return .fail(error)
        case .recheckingRollback:
            // The row is final and says rolled back: that answer stands when Redis can't be asked.
            return .replyRefused(.rolledBack, replayed: true)
        case .deducting, .backChecking, .committingOrder, .committingFailure, .discarding, .adopting:
            // A row not discarded stays prepared: the timeout check rolls it back.
            return .leavePending(error)
        case .idle, .finished:
            preconditionFailure("failed() in \(before)")
        }
    }

    private mutating func commitOrder(replayed: Bool) -> Action {
        if let f = fault, f.point == .beforeOrder { return crash(f) }
        state = .committingOrder(replayed: replayed)
        return .commitOrder
    }

    private mutating func commitFailure(_ reason: FailureReason, replayed: Bool) -> Action {
        state = .committingFailure(reason, replayed: replayed)
        return .commitFailure(reason)
    }

    private mutating func adopt(_ first: OrderElsewhere, replayed: Bool) -> Action {
        state = .adopting(replayed: replayed)
        return .adoptOrder(first)
    }

    private mutating func crash(_ f: FaultRequest) -> Action {
        state = .finished
        return .injectFault(f)
    }
}
