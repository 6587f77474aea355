import Synchronization

/// What the buyers were told, kept by the harness itself: the independent record the
/// invariants are checked against.
import TestSupport

final class TortureRecorder: Sendable {
    typealias Answer = Buyer.Answer

    private let answers = Mutex<[Answer]>([])
    private let decided = Mutex<[Buyer.Decision]>([])

    func record(_ a: Answer) { answers.withLock { $0.append(a) } }
    var all: [Answer] { answers.withLock { $0 } }
    /// The shop's confirms and cancels of held orders, as answered.
    func record(_ d: Buyer.Decision) { decided.withLock { $0.append(d) } }
    var decisions: [Buyer.Decision] { decided.withLock { $0 } }
}
