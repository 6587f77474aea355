import FlashStorage
import Logging

/// Barrier keys must never be evicted (dtmcli#1): refuse to start when Redis' eviction policy
/// could, unless told otherwise. Without persistence a Redis restart loses stock and barriers
/// alike: warn.
struct RedisSettingsCheck {
    let stock: RedisStockStore
    /// `--allow-evicting-redis`.
    let allowEvicting: Bool
    let logger: Logger

    func run() async throws {
        let policy: String
        do {
            policy = try await stock.configValue("maxmemory-policy")
        } catch {
            // Down, or an ACL user without CONFIG (which would also show Redis' passwords).
            let text = "could not read Redis' settings; check by hand that maxmemory-policy is noeviction (barrier keys "
                + "must never be evicted) and appendonly yes with appendfsync always"
            logger.warning("\(text)", metadata: ["error": "\(error)"])
            return
        }
        if policy != "noeviction" && !policy.hasPrefix("volatile-") {
            guard allowEvicting else {
                throw DaemonError("Redis maxmemory-policy is \(policy): it may evict barrier keys and let a unit be sold twice. "
                                  + "Set maxmemory-policy noeviction, or start with --allow-evicting-redis")
            }
            logger.critical("Redis maxmemory-policy may evict barrier keys (allowed by --allow-evicting-redis)",
                            metadata: ["policy": "\(policy)"])
        }
        // What a Redis crash can lose. Whatever it loses, the fence (G9) stops the items it
        // forgot sales of; these say how often an operator would have to repair.
        if (try? await stock.configValue("appendonly")) != "yes" {
            let text = "Redis runs without appendonly: a restart loses deductions and barriers since its last snapshot, "
                + "and the items they belong to stop selling until repaired; set appendonly yes"
            logger.warning("\(text)")
        } else if let fsync = try? await stock.configValue("appendfsync"), fsync != "always" {
            let text = "Redis appendfsync is \(fsync): a crash of the machine can lose up to "
                + (fsync == "no" ? "the last 30 s or so" : "the last second") + " of acknowledged deductions, "
                + "and the items they belong to stop selling until repaired; set appendfsync always"
            logger.warning("\(text)")
        }
    }
}
