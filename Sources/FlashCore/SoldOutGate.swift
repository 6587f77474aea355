import Synchronization

/// The sold-out fast path: once an item is known sold out, a purchase of it is answered
/// `sold_out` from this flag, on the connection's own event loop, without touching Redis, the
/// journal or the coordinator.
///
/// It is safe because it only ever refuses, and only purchases that never started:
/// - the flag is set from the purchase script's own answer (sold out, or the last unit taken)
///   and is dropped by a restock or reset on this node at once, and on any node by the
///   coordinator's refresh, which re-reads every flagged sale from Redis every `refreshInterval`
///   (a restock raises the stock and the total, a reset changes the round);
/// - a request whose gid may have a journal row (the filter says "maybe") takes the normal path,
///   so a retry of a purchase that got an order still gets its order back (G5);
/// - until the journal's history has been read into the filters (`historyLoaded`, in the
///   background after start-up) nothing is answered here;
/// - the same goes for other nodes' purchases: a retry a load balancer sent here may belong to
///   an order another node made. The requests that deducted for an item on any node (Redis'
///   `req:ITEM`) are read into its filter before the item's first fast answer, and again
///   whenever their number grew while fast answers were given (`othersToRead`).
///
/// A fast sold-out answer is not journaled: the purchase never began. The same request later
/// (same request id) is answered by whatever the sale says then.
///
/// The sale's clock is answered here too, on the same terms: a paused, not yet open or closed
/// sale (`SaleClock`, judged on Redis' time) refuses at once. The clocks come from this node's
/// admin verbs at once and from the coordinator's refresh for every sale, so every node agrees
/// within the refresh interval; the purchase script judges again, on Redis' own clock.
public final class SoldOutGate: Sendable {
    struct Entry: Sendable {
        /// The round the flag is about; 0 while only the filter is known.
        var round: Int
        /// Digests of every purchase of the item this node journaled (or is journaling), in any
        /// round: a request id keeps its first outcome across a reset, so a retry of one
        /// ordered in an earlier round must reach its row, not a fast "sold out".
        var seen = DigestFilter()
        var soldOut = false
        /// The sale's total when the flag was first confirmed by a refresh: a restock changes it.
        var total: Int?
        /// Bumped by every `clear` and every new round: a sold-out answer from a script sent
        /// before a restock here must not raise the flag again after it.
        var generation = 0

        /// The entry of a newer round: the same filter, no flag, the generation moved on.
        func advanced(to round: Int) -> Entry {
            var e = Entry(round: round)
            e.seen = seen
            e.generation = generation + 1
            return e
        }
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var historyLoaded = false
        /// No fast answers at all (the node's lease is lost: purchases get `node_conflict`).
        var suspended = false
        /// Each sale's clock as last read; a sale without one is always open.
        var clocks: [String: SaleClock] = [:]
        /// Items whose other nodes' requests are in the filter: for which spell of refusals
        /// (`spell`), how many Redis had when read, and whether a fast answer was asked for
        /// since the last look.
        var others: [String: (spell: Spell, count: Int, asked: Bool)] = [:]
        /// Items a fast answer was asked for before their requests were read for its spell.
        var othersWanted: [String: Spell] = [:]

        /// What a fast refusal of `item` is about now: its reason, round and generation. A
        /// new spell (sold out again after a restock, closed after not yet open) reads other
        /// nodes' requests afresh before its first fast answer: any number of orders may have
        /// been made in between.
        func spell(_ item: String, _ reason: FailureReason) -> Spell {
            let e = entries[item]
            return Spell(reason: reason, round: e?.round ?? 0, generation: e?.generation ?? 0)
        }

        /// Runs `body` on the entry with the filter uniquely referenced: taken out of the
        /// dictionary first, so inserting into its bit arrays never copies them.
        mutating func update(_ item: String, round: Int, _ body: (inout Entry) -> Void) {
            var e = entries.removeValue(forKey: item) ?? Entry(round: round)
            // Round 0: only the filter was known (other nodes' requests read first).
            if e.round == 0 { e.round = round }
            body(&e)
            entries[item] = e
        }
    }

    private let state = Mutex<State>(State())
    public let gids: GlobalTransactionID

    public init(gids: GlobalTransactionID) {
        self.gids = gids
    }

    /// The fast answer and its gid, or nil when the purchase must take the normal path.
    /// `requestID` nil means the client sent none (and so can't retry): any gid is fresh then.
    /// `nowMs`: Redis' clock now, as this node reckons it, give or take `uncertaintyMs`.
    public func refusal(item: String, user: String, requestID: String?, nowMs: Int64,
                        uncertaintyMs: Int64 = 0) -> (reason: FailureReason, gid: String)? {
        state.withLock { s -> (reason: FailureReason, gid: String)? in
            guard s.historyLoaded, !s.suspended else { return nil }
            let entry = s.entries[item]
            guard let reason = s.clocks[item]?.refusal(atMs: nowMs, uncertainty: uncertaintyMs) ?? (entry?.soldOut == true ? .soldOut : nil)
            else { return nil }
            guard let requestID else {
                // No request id: no retry can refer to this purchase, so no journal row can exist.
                return (reason, GlobalTransactionID.make(node: gids.node, digest: UInt64.random(in: 0...UInt64.max)))
            }
            let spell = s.spell(item, reason)
            guard s.others[item]?.spell == spell else {
                s.othersWanted[item] = spell
                return nil
            }
            s.others[item]?.asked = true
            let digest = gids.digest(item: item, user: user, requestID: requestID)
            return entry?.seen.contains(digest) == true ? nil : (reason, GlobalTransactionID.make(node: gids.node, digest: digest))
        }
    }

    /// The sale's clock as read last (by an admin verb here or the refresh).
    public func setClock(item: String, _ clock: SaleClock) {
        state.withLock { $0.clocks[item] = clock == .always ? nil : clock }
    }

    public func clock(item: String) -> SaleClock? {
        state.withLock { $0.clocks[item] }
    }

    /// Called before a purchase's journal write, so that from then on its retries take the
    /// normal path even if the item sells out meanwhile.
    public func willJournal(item: String, round: Int, gid: String) {
        guard let digest = GlobalTransactionID.digest(ofGID: gid) else { return }
        state.withLock { s in
            s.update(item, round: round) { e in
                // A newer round is what the flag is about; the filter holds every round.
                if round > e.round { e = e.advanced(to: round) }
                e.seen.insert(digest)
            }
        }
    }

    /// The generation to hand back to `markSoldOut`: taken before the purchase script is sent.
    public func generation(item: String) -> Int {
        state.withLock { $0.entries[item]?.generation ?? 0 }
    }

    /// The purchase script said sold out (or took the last unit) in `round`, having been sent
    /// when the item was at `generation`; a restock or reset since then wins. Returns true when
    /// the item's other nodes' requests are still to be read before its first fast answer.
    @discardableResult
    public func markSoldOut(item: String, round: Int, generation: Int) -> Bool {
        state.withLock { s in
            s.update(item, round: round) { e in
                guard e.round == round, e.generation == generation else { return }
                e.soldOut = true
            }
            guard s.entries[item]?.soldOut == true else { return false }
            let spell = s.spell(item, .soldOut)
            guard s.others[item]?.spell != spell, s.othersWanted[item] != spell else { return false }
            s.othersWanted[item] = spell
            return true
        }
    }

    /// The node's lease is lost (or back): no fast answers meanwhile.
    public func setSuspended(_ suspended: Bool) {
        state.withLock { $0.suspended = suspended }
    }

    /// The sale changed here (restock, reset, create): it may have stock again.
    public func clear(item: String, round: Int) {
        state.withLock { s in
            s.update(item, round: round) { e in
                if e.round == round {
                    e.soldOut = false
                    e.total = nil
                    e.generation += 1
                } else if round > e.round {
                    e = e.advanced(to: round)
                }
            }
        }
    }

    /// Items flagged sold out, with the round and total the flag was taken at.
    public func flagged() -> [(item: String, round: Int, total: Int?)] {
        state.withLock { s in s.entries.compactMap { $0.value.soldOut ? ($0.key, $0.value.round, $0.value.total) : nil } }
    }

    /// A refresh read `sale` from Redis for a flagged item: keep the flag only if nothing changed.
    /// Returns true when the flag was dropped.
    @discardableResult
    public func refreshed(_ sale: SaleInfo) -> Bool {
        state.withLock { s -> Bool in
            guard let current = s.entries[sale.item], current.soldOut else { return false }
            var dropped = false
            s.update(sale.item, round: sale.round) { e in
                if sale.round != e.round {
                    if sale.round > e.round {
                        e = e.advanced(to: sale.round)
                    } else {
                        e.soldOut = false
                    }
                    dropped = true
                } else if sale.remaining > 0 || (e.total != nil && e.total != sale.total) {
                    e.soldOut = false
                    e.total = nil
                    e.generation += 1
                    dropped = true
                } else {
                    e.total = sale.total
                }
            }
            return dropped
        }
    }

    /// Adds the digests of journal rows written before this process started, of every round.
    public func remember(_ rows: [(item: String, round: Int, digest: UInt64)]) {
        state.withLock { s in
            for r in rows {
                s.update(r.item, round: r.round) { e in
                    if r.round > e.round { e = e.advanced(to: r.round) }
                    e.seen.insert(r.digest)
                }
            }
        }
    }

    /// Items whose other nodes' requests must be read (again): asked for before they were
    /// read, or asked for since and maybe grown (`count` then is what was read last).
    public func othersToRead() -> [OthersRead] {
        state.withLock { s in
            var list = s.othersWanted.map { OthersRead(item: $0.key, spell: $0.value, count: nil) }
            for (item, o) in s.others where o.asked && s.othersWanted[item] == nil {
                s.others[item]?.asked = false
                list.append(OthersRead(item: item, spell: o.spell, count: o.count))
            }
            s.othersWanted = [:]
            return list
        }
    }

    /// One item's other nodes' requests to read: for which spell of refusals, and how many
    /// were read last for it (nil: none yet, read them all).
    public struct OthersRead: Sendable {
        public var item: String
        public var spell: Spell
        public var count: Int?
    }

    /// A spell of fast refusals of one item: its reason, the round and the flag's generation.
    /// A plain value, compared on every fast answer without allocating.
    public struct Spell: Sendable, Equatable {
        var reason: FailureReason
        var round: Int
        var generation: Int
    }

    /// Adds requests that deducted for `item` on any node to its filter: a retry of any of
    /// them takes the normal path.
    public func rememberOthers(item: String, _ requests: [(user: String, requestID: String)]) {
        let digests = requests.map { gids.digest(item: item, user: $0.user, requestID: $0.requestID) }
        state.withLock { s in
            let round = s.entries[item]?.round ?? 0
            s.update(item, round: round) { e in
                for d in digests { e.seen.insert(d) }
            }
        }
    }

    /// Every request of `read` is in the filter now (`count` of them in Redis when the read
    /// began): fast answers of its spell may start.
    public func othersRead(_ read: OthersRead, count: Int) {
        state.withLock { $0.others[read.item] = (read.spell, count, false) }
    }

    /// The journal's history is in the filters: fast answers may start.
    public func markHistoryLoaded() {
        state.withLock { $0.historyLoaded = true }
    }

    public var soldOutCount: Int { state.withLock { s in s.entries.values.filter(\.soldOut).count } }
    public var isHistoryLoaded: Bool { state.withLock { $0.historyLoaded } }
}
