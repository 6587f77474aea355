import Synchronization

/// What the buyers were told, kept by the harness itself: the independent record the
/// invariants are checked against.
import TestSupport

final class TortureRecorder: Sendable {
    typealias Answer = Buyer.Answer

    private let answers = Mutex<[Answer]>([])

    func record(_ a: Answer) { answers.withLock { $0.append(a) } }
    var all: [Answer] { answers.withLock { $0 } }
}
