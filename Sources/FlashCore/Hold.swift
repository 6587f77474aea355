/// Checkout holds (G7). An order of a sale with a hold is `held` until the shop confirms it
/// (paid) or it is released (cancelled, or its time ran out); a released order gives its unit
/// and the buyer's per-user slot back, once. Orders of a sale without a hold are final from the
/// start, as before holds existed (`hold == nil` on the order).
///
/// Redis decides: the gid's barrier goes `d` → `c` (confirmed) or `d` → `x` (released) in one
/// script, so whichever of a confirm and a release runs first for a gid wins and the other
/// sees its mark. The journal writes its intent first (`confirming`, `releasing`) and the
/// barrier's verdict after; recovery and the timeout check finish an intent a crash left.
public enum HoldState: String, Sendable, Codable, CaseIterable {
    case held
    /// A confirm is journaled and its script may or may not have run.
    case confirming
    /// A release (cancel or expiry) is journaled and its script may or may not have run.
    case releasing
    case confirmed
    case released

    /// Confirmed or released: nothing will change it again.
    public var isFinal: Bool { self == .confirmed || self == .released }
    /// An intent a crash may have left: recovery runs its script again.
    public var isIntent: Bool { self == .confirming || self == .releasing }
}

/// Why a held order was released.
public enum ReleaseCause: String, Sendable, Codable, CaseIterable {
    /// The shop cancelled it (payment failed, the buyer gave up).
    case cancelled
    /// Its hold ran out on Redis' clock.
    case expired
}

/// What a hold script is asked to do for a gid.
public enum HoldAction: String, Sendable, Equatable, CaseIterable {
    /// held → confirmed, unless the hold ran out on Redis' clock: then it is released instead.
    case confirm
    /// held → released at once.
    case cancel
    /// held → released, if the hold ran out on Redis' clock; otherwise nothing.
    case expire

    /// The journal state that records this action's intent.
    public var intent: HoldState { self == .confirm ? .confirming : .releasing }
}

/// What a hold script answered: the barrier's verdict for the gid.
public enum HoldReply: Sendable, Equatable {
    case confirmed
    case released
    /// An expiry asked too early on Redis' clock: still held until `expiresMs`.
    case stillHeld(expiresMs: Int64)
    /// Redis has no deduction for the gid: it lost the write (G9) or the gid never bought.
    case missing
}

/// A hold as Redis keeps it (the holds hash, by gid): enough for any node to confirm or
/// release an order it did not sell, knowing only its id.
public struct HoldEntry: Sendable, Equatable {
    public var gid: String
    public var item: String
    public var round: Int
    public var user: String
    public var expiresMs: Int64
    /// The barrier now: held (`d`), confirmed (`c`), released (`x`); nil when Redis has none.
    public var state: HoldState?

    public init(gid: String, item: String, round: Int, user: String, expiresMs: Int64, state: HoldState?) {
        self.gid = gid
        self.item = item
        self.round = round
        self.user = user
        self.expiresMs = expiresMs
        self.state = state
    }

    /// The node that sold it: its gid's prefix.
    public var node: String { String(gid[..<(gid.lastIndex(of: "-") ?? gid.endIndex)]) }
}

/// Held orders of one item's round in the journal, by state.
public struct HoldCounts: Sendable, Equatable {
    public var held = 0
    public var confirmed = 0
    public var released = 0
    /// Confirms and releases journaled and not finished: Redis may already have decided them.
    public var deciding = 0
    public init(held: Int = 0, confirmed: Int = 0, released: Int = 0, deciding: Int = 0) {
        self.held = held
        self.confirmed = confirmed
        self.released = released
        self.deciding = deciding
    }
}
