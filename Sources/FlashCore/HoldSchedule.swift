/// This node's undecided holds (held, or an intent to finish) by when each is next due, in ms
/// of Redis' clock: its expiry, or a retry after a failed step. Kept in memory, not in a journal
/// index: an index entry per held order cost held purchases about 5% of their rate, and the
/// journal is what bounds purchases. Filled from the orders this node makes, and at start-up
/// from the journal's rows as the sold-out gate's history load reads them.
///
/// A min-heap with lazy deletion: `due` is the truth, the heap may hold stale pairs, which are
/// skipped when they come up.
struct HoldSchedule {
    private(set) var due: [String: Int64] = [:]
    private var heap: [(at: Int64, gid: String)] = []

    var count: Int { due.count }

    /// `gid` is undecided and next due `at` (replacing any earlier time).
    mutating func schedule(_ gid: String, at: Int64) {
        guard due[gid] != at else { return }
        due[gid] = at
        push((at, gid))
    }

    /// `gid` is decided (or gone): nothing more to do for it.
    mutating func decided(_ gid: String) {
        due[gid] = nil
        if due.isEmpty { heap.removeAll(keepingCapacity: true) }
    }

    /// Up to `limit` gids due by `nowMs`, soonest first. They stay scheduled: the caller
    /// schedules each again, or marks it decided, when its step ends.
    mutating func take(atMs nowMs: Int64, limit: Int) -> [String] {
        var out: [String] = []
        var seen: Set<String> = []
        var keep: [(at: Int64, gid: String)] = []
        while out.count < limit, let top = heap.first, top.at <= nowMs {
            pop()
            // A gid moved away from a time and back has two pairs at it: one comes out.
            guard due[top.gid] == top.at, seen.insert(top.gid).inserted else { continue }
            out.append(top.gid)
            keep.append(top)
        }
        // Still scheduled at the same time until the caller says otherwise; pushed back so a
        // caller that never answers (a crash of its task) can't lose one.
        for k in keep { push(k) }
        return out
    }

    private mutating func push(_ e: (at: Int64, gid: String)) {
        heap.append(e)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].at < heap[parent].at else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func pop() {
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && heap[l].at < heap[m].at { m = l }
            if r < heap.count && heap[r].at < heap[m].at { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            i = m
        }
    }
}
