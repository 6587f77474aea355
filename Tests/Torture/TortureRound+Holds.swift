import Control
import Foundation
import TestSupport

/// The shop's side of a round with holds: confirms and cancels of acknowledged orders, sent to
/// any node, and the crash of one mid-decision.
extension TortureRound {
    /// Four in ten orders are confirmed, three cancelled, the rest left to run out; each after
    /// a pause of up to 0.4 s, through a node picked by the order (often not its seller's).
    func decide(_ orderID: String, u: Int, p: Int, nodes: [FlashdProcess], recorder: TortureRecorder) {
        let pick = (u * 7 + p * 3 + number) % 10
        guard pick < 7 else { return }
        usleep(UInt32((u * 37 + p * 101) % 400) * 1000)
        let node = nodes[(u + p + number) % nodes.count]
        recorder.record(Buyer.decideUntilAnswered(socket: node.socketPath, orderID: orderID, verb: pick < 4 ? "confirm" : "cancel"))
    }

    /// Asks the seller of an acknowledged order to crash in the middle of a confirm or cancel
    /// (its outcome unknown to the shop), and restarts it. Returns the kills (0 if none).
    func crashAHold(recorder: TortureRecorder, nodes: [FlashdProcess]) throws -> Int {
        let deadline = Date().addingTimeInterval(2)
        var answer: Buyer.Answer?
        while answer == nil && Date() < deadline {
            answer = recorder.all.first { $0.status == 201 && $0.orderID != nil }
            if answer == nil { usleep(20_000) }
        }
        guard let answer, let id = answer.orderID, let u = Int(answer.user.dropFirst()) else { return 0 }
        let seller = nodes[u % nodes.count]
        let verb = number % 2 == 0 ? "confirm" : "cancel"
        let point = number % 4 < 2 ? "after-intent" : "after-decision"
        let r = try? seller.client().send("POST", "/v1/orders/\(id)/\(verb)",
                                          body: Array(#"{"crash_after":"\#(point)","crash_mode":"exit"}"#.utf8))
        // An answer: the hold was decided already (a confirm or cancel of the shop's came
        // first), so nothing crashed.
        guard r == nil else { return 0 }
        _ = try seller.waitForExit(timeout: 10)
        try seller.start()
        return 1
    }

    /// Holds not yet decided over every node's journal (nil: a journal unreadable now).
    func undecided(_ nodes: [FlashdProcess]) -> Int? {
        var sum = 0
        for node in nodes {
            guard let n = (try? node.sql("SELECT COUNT(*) FROM txns WHERE hold IN ('held', 'confirming', 'releasing')"))
                .flatMap({ Int($0) }) else { return nil }
            sum += n
        }
        return sum
    }
}
