/// The Redis scripts of the purchase protocol. Each runs atomically inside Redis, which is what
/// makes "deducted" and "rolled back" mutually exclusive for a gid: whichever script runs first
/// for that gid decides, and the other sees its barrier.
///
/// Replies are integers (or arrays of integers), decoded into `StockReply` / `BackCheckReply`
/// in `RedisStockStore`; no reply is ever compared as a string.
///
/// Barriers live in one hash per sale round (`bar:ITEM:ROUND`, field gid, value `d` or `r`) and
/// never expire: a barrier must outlive every transaction that may still be back-checked (the
/// dtm hole where a 1-day barrier TTL under a 7-day retention turned deductions into rollbacks).
/// They are dropped only with their round, by a reset, which is refused while anything is pending.
///
/// A script that finds a barrier (`d` or `r`) writes it again, unchanged. That looks useless
/// but is what makes WAIT mean something for it: WAIT only covers the calling connection's own
/// writes, and the barrier it read may have been written by another connection (or a process
/// since killed) and not be on any replica yet. The rewrite goes into the replication stream
/// after it, so a replica that has the rewrite has the barrier too.
struct LuaScript: Sendable {
    let name: String
    let source: String
}

enum LuaScripts {
    /// KEYS: sale hash, barrier hash, per-user hash. ARGV: gid, user, round.
    /// Reply {code, value}:
    ///   {0, remaining}  deducted now, barrier written
    ///   {1, 0}          barrier already `d`: this gid was deducted before (a retried step)
    ///   {2, 0}          barrier `r`: a back-check rolled it back; no deduction may happen
    ///   {3, 0}          sold out
    ///   {4, 0}          the user's limit is reached
    ///   {5, 0}          no such sale
    ///   {6, round}      the sale is in another round now (reset since the gid was made)
    static let buy = LuaScript(name: "buy", source: """
        local round = redis.call('HGET', KEYS[1], 'round')
        if not round then return {5, 0} end
        if round ~= ARGV[3] then return {6, tonumber(round)} end
        local barrier = redis.call('HGET', KEYS[2], ARGV[1])
        if barrier == 'd' then
          redis.call('HSET', KEYS[2], ARGV[1], 'd')
          return {1, 0}
        end
        if barrier == 'r' then
          redis.call('HSET', KEYS[2], ARGV[1], 'r')
          return {2, 0}
        end
        local limit = tonumber(redis.call('HGET', KEYS[1], 'limit'))
        local bought = tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')
        if bought >= limit then return {4, 0} end
        local left = tonumber(redis.call('HGET', KEYS[1], 'stock'))
        if left <= 0 then return {3, 0} end
        redis.call('HINCRBY', KEYS[1], 'stock', -1)
        redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
        redis.call('HSET', KEYS[2], ARGV[1], 'd')
        return {0, left - 1}
        """)

    /// KEYS: barrier hash. ARGV: gid.
    /// Reply: 0 = barrier `d`, the deduction happened; 1 = no deduction, and the rollback marker
    /// `r` is in place (written now if the barrier was absent), so a late buy for the gid is refused.
    static let backCheck = LuaScript(name: "back-check", source: """
        local barrier = redis.call('HGET', KEYS[1], ARGV[1])
        if barrier == 'd' then
          redis.call('HSET', KEYS[1], ARGV[1], 'd')
          return 0
        end
        redis.call('HSET', KEYS[1], ARGV[1], 'r')
        return 1
        """)

    /// KEYS: the node's lease key. ARGV: token, ttl in ms.
    /// Reply {1, 0, ""}: the lease is this token's now (taken or renewed);
    ///       {0, ttl, holder}: another token holds it for ttl more milliseconds.
    static let claimNode = LuaScript(name: "claim-node", source: """
        local holder = redis.call('GET', KEYS[1])
        if holder == false or holder == ARGV[1] then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          return {1, 0, ''}
        end
        return {0, redis.call('PTTL', KEYS[1]), holder}
        """)

    /// KEYS: the node's lease key. ARGV: token. Deletes the lease only if the token holds it.
    static let releaseNode = LuaScript(name: "release-node", source: """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """)

    /// KEYS: sales set, sale hash. ARGV: item, stock, limit.
    /// Reply: 0 = created in round 1; 1 = the sale exists already (nothing changed).
    static let create = LuaScript(name: "create", source: """
        if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
        redis.call('HSET', KEYS[2], 'round', 1, 'limit', ARGV[3], 'total', ARGV[2], 'stock', ARGV[2])
        redis.call('SADD', KEYS[1], ARGV[1])
        return 0
        """)

    /// KEYS: sale hash. ARGV: units to add.
    /// Reply: -1 = no such sale; otherwise the stock left after the restock.
    static let restock = LuaScript(name: "restock", source: """
        if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
        redis.call('HINCRBY', KEYS[1], 'total', ARGV[1])
        return redis.call('HINCRBY', KEYS[1], 'stock', ARGV[1])
        """)

    /// KEYS: sale hash, barrier hash and per-user hash of the round being replaced.
    /// ARGV: expected current round, new stock, new limit.
    /// Reply: -1 = no such sale; -2 = the round changed meanwhile (nothing changed);
    /// otherwise the new round, whose stock, total and limit are set and whose barriers start empty.
    static let reset = LuaScript(name: "reset", source: """
        local round = redis.call('HGET', KEYS[1], 'round')
        if not round then return -1 end
        if round ~= ARGV[1] then return -2 end
        redis.call('DEL', KEYS[2], KEYS[3])
        local next = tonumber(round) + 1
        redis.call('HSET', KEYS[1], 'round', next, 'limit', ARGV[3], 'total', ARGV[2], 'stock', ARGV[2])
        return next
        """)
}
