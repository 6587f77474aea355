/// Asks Redis Sentinels which server is the primary of one master name, the way Redis'
/// client guidelines for Sentinel say: try the sentinels in turn, take the first answer, and
/// move the sentinel that gave it to the front. Not thread-safe: owned by one `RedisConnection`.
final class SentinelLocator {
    let master: String
    private var sentinels: [RedisConnection]

    init(sentinels: [RedisEndpoint], master: String, timeoutMs: Int, credentials: RedisCredentials?) {
        self.master = master
        // Short timeouts: a sentinel that is down must not hold a purchase batch for long.
        self.sentinels = sentinels.map {
            RedisConnection(target: .direct($0), connectTimeoutMs: timeoutMs, commandTimeoutMs: timeoutMs, credentials: credentials,
                            lenientAuth: true)
        }
    }

    deinit { sentinels.forEach { $0.close() } }

    /// The primary's address as the sentinels know it now; throws `.connection` when none answers.
    func primary() throws -> RedisEndpoint {
        var failures: [String] = []
        var refusedAll = true
        for (i, sentinel) in sentinels.enumerated() {
            do {
                let reply = try sentinel.command(["SENTINEL", "get-master-addr-by-name", master])
                guard let pair = reply.array, pair.count == 2, let host = pair[0].string,
                      let port = pair[1].int, (1...65535).contains(port) else {
                    failures.append("\(sentinel.target) does not monitor \(master)")
                    refusedAll = false
                    continue
                }
                if i > 0 { sentinels.swapAt(0, i) }
                return .tcp(host: host, port: Int(port))
            } catch let e as RedisError {
                failures.append("\(sentinel.target): \(e.message)")
                if e.kind != .authentication { refusedAll = false }
            }
        }
        let message = "no sentinel names a primary for \(master) (" + failures.joined(separator: "; ") + ")"
        // Every sentinel wanting credentials it didn't get is a setting to fix, not an outage.
        throw refusedAll ? RedisError.authentication(message) : RedisError.connection(message)
    }
}
