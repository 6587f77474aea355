import Logging

/// Redis' and its replicas' health as purchases find it: errors mapped to the engine's codes,
/// an outage logged once, and what it left pending retried as soon as it ends.
extension Coordinator {
    func engineError(_ error: any Error, _ gid: String) -> EngineError {
        let e = (error as? EngineError) ?? EngineError(.internalError, "\(error)")
        switch e.code {
        case .redisUnavailable:
            metrics.redisErrors.increment()
            markRedis(ok: false, e.message)
        case .replicasBehind:
            metrics.redisErrors.increment()
            markReplicas(ok: false, e.message)
        case .journalUnavailable:
            metrics.journalErrors.increment()
            markJournal(ok: false, e.message)
        case .nodeConflict where nodeLeaseHeld:
            // Redis itself refused: whatever this process believed, the lease is not its own.
            logger.critical("redis refused a script: this node id's lease is not this process's; nothing is settled until it is claimed again",
                            metadata: ["node": "\(config.node)"])
            setNodeLease(held: false, holder: nil)
        default:
            break
        }
        return e.gid == nil ? e.with(gid: gid) : e
    }

    func markRedis(ok: Bool, _ message: String? = nil) {
        if ok {
            if !redisHealthy {
                logger.notice("redis regained", metadata: MessageID.metadata(MessageID.redisRegained))
                retryPendingNow()
            }
            redisHealthy = true
            lastRedisError = nil
        } else {
            if redisHealthy {
                logger.error("redis lost", metadata: ["error": "\(message ?? "")", "message_id": "\(MessageID.redisLost)"])
            }
            redisHealthy = false
            lastRedisError = message
        }
    }

    /// A journal write succeeded: any write, a purchase's or the timeout check's, ends an episode.
    func journalWrote() {
        if journalWriteError != nil { markJournal(ok: true) }
    }

    /// The journal's writes failing or working again, logged once per episode: a full disk
    /// fails every purchase the same way. `status` and systemd's STATUS= line show it.
    func markJournal(ok: Bool, _ message: String? = nil) {
        if ok {
            guard let was = journalWriteError else { return }
            logger.notice("journal writes work again", metadata: ["was": "\(was)"])
            journalWriteError = nil
        } else {
            if journalWriteError == nil {
                logger.error("journal writes fail; purchases get 503 until they work", metadata: ["error": "\(message ?? "")"])
            }
            journalWriteError = message ?? "journal write failed"
        }
    }

    /// Logged once per episode, not per purchase: while replicas lag, every purchase fails the same way.
    func markReplicas(ok: Bool, _ message: String? = nil) {
        if ok {
            guard replicasBehind else { return }
            replicasBehind = false
            logger.notice("redis replicas confirm writes again; pending purchases are checked within a second")
            retryPendingNow()
        } else {
            if !replicasBehind {
                logger.error("redis replicas do not confirm writes; purchases stay pending until they do",
                             metadata: ["error": "\(message ?? "")"])
            }
            replicasBehind = true
        }
    }

    /// After an outage ends, the transactions it left pending are checked at the timeout
    /// check's next pass (within a second) instead of at the end of their backoff (up to
    /// `retryCap`). At most every 5 s: a flapping Redis or replica must not turn the backoff
    /// into a retry of everything pending at every flap.
    func retryPendingNow() {
        schedule.retryBackedOffNow(time())
    }
}
