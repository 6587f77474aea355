/// The fence against a Redis that is behind the journal (G9).
///
/// Redis can lose writes the journal holds: a restart from an older snapshot, a stale replica
/// promoted, a flush. Units it forgot were sold would be sold again. Redis counts every
/// deduction of a round, per node and in all, in the same script that deducts; a node knows
/// two floors those counts can't be under while Redis keeps its writes: its own orders of the
/// round (each one had its deduction), and the most deductions in all it has read before.
/// Every purchase script and a check once a second compare them; below a floor, the item is
/// fenced in Redis, for every node, until an operator repairs it from the journals.
public struct FenceFloor: Sendable, Equatable {
    public var node: String
    /// This node's orders of the round: a lower bound on its deductions.
    public var orders: Int
    /// The most deductions in all this node has read for the round.
    public var seen: Int

    public init(node: String, orders: Int, seen: Int) {
        self.node = node
        self.orders = orders
        self.seen = seen
    }
}

/// What the periodic check of one sale round read from Redis.
public enum FenceReading: Sendable, Equatable {
    /// `mine`/`all`: the round's deductions by this node and in all (nil: a round made before
    /// Redis counted them). `fences`: node → why it fenced the item (empty: not fenced).
    case current(mine: Int?, all: Int?, fences: [String: String])
    case otherRound(Int)
    case noSale
}

/// What a repair found, and did when applied.
public struct RepairResult: Sendable, Equatable {
    /// This node's orders of the round whose barrier Redis had lost (restored when applied).
    public var missing: Int
    /// Redis' stock after the repair (below zero: that many units were sold twice while
    /// Redis was behind).
    public var stockAfter: Int

    public init(missing: Int, stockAfter: Int) {
        self.missing = missing
        self.stockAfter = stockAfter
    }
}

/// One sale round.
public struct SaleRound: Hashable, Sendable {
    public var item: String
    public var round: Int
    public init(item: String, round: Int) {
        self.item = item
        self.round = round
    }
}

/// A node's side of the fence: its floors per sale round and the fences it knows of. A value
/// type the coordinator owns; every change is a plain mutation, so it is tested without Redis.
struct FenceBook: Sendable {
    /// This node's orders per round, counted from the journal and then one per order
    /// committed. Absent: not counted yet; the floor is 0 meanwhile (no false fence).
    private(set) var orders: [SaleRound: Int] = [:]
    /// Rounds whose count is being read from the journal: orders committed meanwhile are not
    /// added (the read may or may not include them), so the count can only be low, never high.
    private var loading: Set<SaleRound> = []
    private(set) var seen: [SaleRound: Int] = [:]
    /// Fenced items: node → reason, as Redis last said.
    private(set) var fenced: [String: [String: String]] = [:]

    func floor(_ key: SaleRound, node: String) -> FenceFloor {
        FenceFloor(node: node, orders: orders[key] ?? 0, seen: seen[key] ?? 0)
    }

    func needsCount(_ key: SaleRound) -> Bool { orders[key] == nil && !loading.contains(key) }

    /// Counted, and not being counted again: an order committed from now on is surely not in
    /// the count, so it may be added. Asked before the commit is sent, not after: a commit sent
    /// while the count was read may be in it, and adding it again would raise the floor above
    /// the truth (a false fence).
    func isCounted(_ key: SaleRound) -> Bool { orders[key] != nil && !loading.contains(key) }

    mutating func startCounting(_ key: SaleRound) { loading.insert(key) }

    /// The count could not be read: asked again next time.
    mutating func abandonCount(_ key: SaleRound) { loading.remove(key) }

    mutating func counted(_ key: SaleRound, orders n: Int) {
        loading.remove(key)
        orders[key] = max(orders[key] ?? 0, n)
    }

    /// A new order of this node was committed, whose commit was sent when `isCounted` said so.
    mutating func ordered(_ key: SaleRound) {
        guard let n = orders[key] else { return }
        orders[key] = n + 1
    }

    mutating func observe(_ key: SaleRound, all: Int) {
        seen[key] = max(seen[key] ?? 0, all)
    }

    /// After a repair: what Redis holds now is the new floor, whatever was seen before.
    mutating func rebase(_ key: SaleRound, all: Int) {
        seen[key] = all
    }

    mutating func setFences(_ item: String, _ fences: [String: String]) {
        fenced[item] = fences.isEmpty ? nil : fences
    }

    /// A purchase script refused: fenced, reason to be read by the next check.
    mutating func fencedByScript(_ item: String, node: String) {
        if fenced[item] == nil { fenced[item] = [node: "found by a purchase; the check within a second gives the figures"] }
    }

    /// Why purchases of `item` are refused, or nil.
    func refusal(_ item: String) -> String? {
        guard let fences = fenced[item] else { return nil }
        return fences.sorted { $0.key < $1.key }.map { "node \($0.key): \($0.value)" }.joined(separator: "; ")
    }

    var fencedItems: [String] { fenced.keys.sorted() }
}
