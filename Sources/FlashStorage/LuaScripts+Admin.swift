/// The scripts of the sale's administration: create, restock, reset and pause. Each is one
/// atomic step in Redis, and those an operator may retry (restock, reset) take a request id,
/// so a retry whose first answer was lost changes nothing twice.
extension LuaScripts {
    /// KEYS: sales set, sale hash, round 1's deduction counts. ARGV: item, stock, limit, opens, closes (ms of
    /// Redis' clock, '' none), hold (ms, '' none).
    /// Reply: 0 = created in round 1; 1 = the sale exists already (nothing changed).
    /// The counts start at `*` = 0: from here on a lost deduction can be told (see `buy`).
    static let create = LuaScript(name: "create", source: """
        if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
        redis.call('HSET', KEYS[2], 'round', 1, 'limit', ARGV[3], 'total', ARGV[2], 'stock', ARGV[2])
        if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], 'opens', ARGV[4]) end
        if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], 'closes', ARGV[5]) end
        if ARGV[6] ~= '' then redis.call('HSET', KEYS[2], 'hold', ARGV[6]) end
        redis.call('SADD', KEYS[1], ARGV[1])
        if redis.call('HGET', KEYS[3], '*') == false then redis.call('HSET', KEYS[3], '*', 0) end
        return 0
        """)

    /// KEYS: sale hash, the item's admin requests. ARGV: units to add, request id ('' none).
    /// Reply: -1 = no such sale; otherwise the stock left after the restock. A request id seen
    /// before adds nothing: a restock whose answer was lost, retried, restocks once.
    static let restock = LuaScript(name: "restock", source: """
        if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
        if ARGV[2] ~= '' then
          if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return redis.call('HGET', KEYS[1], 'stock') end
          redis.call('HSET', KEYS[2], ARGV[2], 'restock ' .. ARGV[1])
        end
        redis.call('HINCRBY', KEYS[1], 'total', ARGV[1])
        return redis.call('HINCRBY', KEYS[1], 'stock', ARGV[1])
        """)

    /// KEYS: sale hash, the new round's deduction counts, the item's admin requests. ARGV:
    /// expected current round, new stock, new limit, request id ('' none: a retry with the same
    /// id returns the round it made instead of making another), opens and closes in ms of
    /// Redis' clock ('' none), hold in ms ('' none).
    /// Reply: -1 = no such sale; -2 = the round changed meanwhile (nothing changed);
    /// otherwise the new round, whose stock, total and limit are set and whose barriers start empty.
    ///
    /// The replaced round's barriers stay. A transaction of that round may still be pending on
    /// any node (a node knows only its own), and its back-check must find its barrier: deleting
    /// it turned a deduction into a rollback, the unit taken and no order.
    static let reset = LuaScript(name: "reset", source: """
        local round = redis.call('HGET', KEYS[1], 'round')
        if not round then return -1 end
        if ARGV[4] ~= '' then
          local made = redis.call('HGET', KEYS[3], ARGV[4])
          if made then return tonumber(string.sub(made, 7)) end
        end
        if round ~= ARGV[1] then return -2 end
        local next = tonumber(round) + 1
        if ARGV[4] ~= '' then redis.call('HSET', KEYS[3], ARGV[4], 'round ' .. next) end
        redis.call('HSET', KEYS[1], 'round', next, 'limit', ARGV[3], 'total', ARGV[2], 'stock', ARGV[2])
        -- The new round's clock replaces the old one, and a reset ends a pause.
        redis.call('HDEL', KEYS[1], 'opens', 'closes', 'paused', 'hold')
        if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'opens', ARGV[5]) end
        if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'closes', ARGV[6]) end
        if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'hold', ARGV[7]) end
        if redis.call('HGET', KEYS[2], '*') == false then redis.call('HSET', KEYS[2], '*', 0) end
        return next
        """)

    /// KEYS: sale hash. ARGV: '1' pause, '0' resume. Reply: -1 no such sale, else 0.
    static let pause = LuaScript(name: "pause", source: """
        if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
        if ARGV[1] == '1' then redis.call('HSET', KEYS[1], 'paused', '1') else redis.call('HDEL', KEYS[1], 'paused') end
        return 0
        """)
}
