/// Retries across nodes (G5): a request whose first attempt deducted on another node.
extension Coordinator {
    /// The order of `first`, the gid that deducted for `record`'s request on another node, as
    /// the answer to this node's attempt; this node's row goes, since it deducted nothing (its
    /// barrier is the rollback marker or was never written). Needs no call to that node: the
    /// order's id comes from the gid, its time and round from Redis' record of the request,
    /// its hold from Redis' holds.
    func adopt(_ first: OrderElsewhere, record: TxnRecord) async throws -> Order {
        var order = Order(orderID: GlobalTransactionID.orderID(forGID: first.gid), gid: first.gid, item: record.item,
                          round: first.round, user: record.user, requestID: record.requestID, createdMs: first.deductedMs)
        if let hold = try await stock.hold(gid: first.gid) {
            order.hold = hold.state ?? .held
            order.expiresMs = hold.expiresMs
        }
        // A no-op for a row already final (a rollback rechecked): its verdict on this gid stands.
        try await journal.discard(gid: record.gid)
        journalWrote()
        schedule.settled(record.gid)
        counters.adoptedElsewhere += 1
        logger.info("request answered with another node's order", metadata: meta(record, "elsewhere").merging([
            "order_gid": "\(first.gid)", "order_round": "\(first.round)",
        ]) { $1 })
        return order
    }
}
