import TestSupport

/// The model check of the journal's in-memory tables (`GidTable`, `BuyerTable`): random inserts
/// and removals, each mirrored in a dictionary of the rows every key must still find. The
/// tables differ in what they must find; the churn that drives them is one.
struct TableChurn {
    /// Key → the rows it holds now, as the table should.
    var model: [UInt64: Set<Int64>] = [:]
    /// Every (key, row) inserted and not removed.
    var live: [(UInt64, Int64)] = []

    /// `steps` operations: one in `removeOneIn` (once more than 10 rows are live) removes a live
    /// row, the rest insert row `step`, or one past 2^32 one time in `hugeOneIn`. `key` picks
    /// each insert's key from the step and the generator.
    init(steps: ClosedRange<Int>, seed: UInt64, removeOneIn: UInt64, hugeOneIn: UInt64,
         key: (Int, inout SplitMix64) -> UInt64, insert: (UInt64, Int64, inout SplitMix64) -> Void,
         remove: (UInt64, Int64) -> Void) {
        var rng = SplitMix64(seed: seed)
        for step in steps {
            let k = key(step, &rng)
            if live.count > 10, rng.next() % removeOneIn == 0 {
                let (lk, r) = live.remove(at: Int(rng.next() % UInt64(live.count)))
                remove(lk, r)
                model[lk]?.remove(r)
            } else {
                let row = rng.next() % hugeOneIn == 0 ? Int64(UInt32.max) + Int64(step) : Int64(step)
                insert(k, row, &rng)
                model[k, default: []].insert(row)
                live.append((k, row))
            }
        }
    }
}
