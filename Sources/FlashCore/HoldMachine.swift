/// A confirm, cancel or expiry of one held order as a pure state machine (G7), like
/// `PurchaseMachine`: the coordinator performs each action and feeds back its result.
///
///     held:   writeIntent ─▶ decide ─▶ recordVerdict ─▶ reply
///     intent: decide ─▶ recordVerdict ─▶ reply          (a crash or an outage left it)
///     final:  reply                                      (a repeat: the verdict stands)
///
/// The intent is journaled before Redis is asked, so a kill -9 at any point leaves a row that
/// recovery finds and decides again; Redis' barrier makes the repeat harmless. Whatever Redis
/// answers is recorded, even when it is not what was asked: a confirm that finds the order
/// released (or its hold run out) records the release.
public struct HoldMachine: Sendable {
    public enum Action: Sendable, Equatable {
        case writeIntent(HoldState, ReleaseCause?)
        case decide(HoldAction)
        case recordVerdict(HoldState, ReleaseCause?)
        case injectFault(FaultRequest)
        /// The order's hold as it now stands; `replayed`: nothing changed by this call.
        case reply(replayed: Bool)
        /// Answer with the error; an intent written stays for the timeout check to finish.
        case fail(EngineError)
    }

    public enum State: Sendable, Equatable {
        case idle, intending, deciding, recording, finished
    }

    public private(set) var state: State = .idle
    public let action: HoldAction
    public let fault: FaultRequest?
    private var changed = false

    public init(action: HoldAction, fault: FaultRequest? = nil) {
        self.action = action
        self.fault = fault
    }

    /// Starts from the order's hold as the journal has it.
    public mutating func start(_ hold: HoldState?) -> Action {
        precondition(state == .idle, "start() called twice")
        switch hold {
        case nil, .confirmed?, .released?:
            // A final order (no hold) or a decided one: the verdict stands.
            state = .finished
            return .reply(replayed: true)
        case .held?:
            state = .intending
            return .writeIntent(action.intent, action == .confirm ? nil : cause)
        case .confirming?, .releasing?:
            state = .deciding
            return .decide(action)
        }
    }

    public mutating func intentWritten() -> Action {
        precondition(state == .intending)
        if let f = fault, f.point == .afterIntent { return crash(f) }
        state = .deciding
        return .decide(action)
    }

    public mutating func decided(_ reply: HoldReply) -> Action {
        precondition(state == .deciding)
        if let f = fault, f.point == .afterDecision { return crash(f) }
        state = .recording
        switch reply {
        case .confirmed:
            changed = true
            return .recordVerdict(.confirmed, nil)
        case .released:
            changed = true
            // A confirm that finds the hold run out releases it: an expiry.
            return .recordVerdict(.released, action == .confirm ? .expired : cause)
        case .stillHeld:
            // An expiry asked early on Redis' clock: the order goes back to held.
            return .recordVerdict(.held, nil)
        case .missing:
            state = .finished
            return .fail(EngineError(.redisBehind, "Redis holds no deduction for this order: it is behind the journal "
                                     + "(see status); an operator repairs it with flashsalectl sale repair"))
        }
    }

    public mutating func recorded() -> Action {
        precondition(state == .recording)
        state = .finished
        return .reply(replayed: !changed)
    }

    public mutating func failed(_ error: EngineError) -> Action {
        state = .finished
        return .fail(error)
    }

    private var cause: ReleaseCause { action == .expire ? .expired : .cancelled }

    private mutating func crash(_ f: FaultRequest) -> Action {
        state = .finished
        return .injectFault(f)
    }
}
