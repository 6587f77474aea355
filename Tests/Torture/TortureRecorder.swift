import Synchronization

/// What the buyers were told, kept by the harness itself: the independent record the
/// invariants are checked against.
final class TortureRecorder: Sendable {
    struct Answer: Sendable {
        var user: String
        var requestID: String
        var status: Int
        var orderID: String?
    }

    private let answers = Mutex<[Answer]>([])

    func record(_ a: Answer) { answers.withLock { $0.append(a) } }
    var all: [Answer] { answers.withLock { $0 } }
}
