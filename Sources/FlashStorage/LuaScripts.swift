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
/// A reset starts a new round with new barrier keys and leaves the old ones in place.
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
    /// The node's lease, checked in Redis by the scripts that settle a purchase: KEYS[n] the
    /// lease key, ARGV[m] this process's token (empty: no lease in use, as in store tests). A
    /// process that lost its node id (paused past the lease, or another process took the id)
    /// must not deduct or decide anything for that id's gids; its own view of the lease can be
    /// stale by however long it was paused, Redis' can't.
    static func leaseCheck(key: Int, token: Int, refusal: String) -> String {
        """
        if ARGV[\(token)] ~= '' and redis.call('GET', KEYS[\(key)]) ~= ARGV[\(token)] then return \(refusal) end
        """
    }

    /// Lua that fences the item (KEYS[5], the fences hash) for `node`, with the figures that
    /// made it: the one wording for the purchase script and the periodic check. Each argument
    /// is a Lua expression.
    static func fence(round: String, node: String, mine: String, all: String, orders: String, seen: String) -> String {
        """
        redis.call('HSET', KEYS[5], \(node), 'round ' .. \(round) .. ': redis holds ' .. \(mine) .. ' deductions by node '
                  .. \(node) .. ' and ' .. \(all) .. ' in all; the journal of node ' .. \(node) .. ' holds ' .. \(orders)
                  .. ' orders and it saw ' .. \(seen) .. ' deductions in all')
        """
    }

    /// KEYS: sale hash, barrier hash, per-user hash, deduction counts, fences, node lease, holds,
    /// the item's requests.
    /// ARGV: round, node, lease token, then five per purchase: gid, user, node's orders of the
    /// round, deductions in all seen, request id ('' none).
    ///
    /// One call settles any number of purchases of one sale round, in ARGV's order, each
    /// exactly as if it had been a call of its own: every one sees what those before it wrote
    /// (stock, the user's count, a request's record, a fence). flashd sends the purchases that
    /// reach one Redis connection together as one call (`RedisPipeline`), which costs Redis
    /// about a third less CPU than a call each: the lease, the sale, the fence and the clock
    /// are read once.
    ///
    /// Reply: an array with one reply per purchase, in order:
    ///   {0, remaining, expires}  deducted now, barrier written, counted; with a hold on the
    ///                   sale, the hold is recorded (holds hash: "ITEM ROUND USER EXPIRES") and
    ///                   `expires` is when it runs out on Redis' clock (0: no hold)
    ///   {1, 0}          barrier already `d`, `c` or `x`: this gid was deducted before (a
    ///                   retried step; a hold confirmed or released since is still that deduction)
    ///   {2, 0}          barrier `r`: a back-check rolled it back; no deduction may happen
    ///   {3, 0}          sold out
    ///   {4, 0}          the user's limit is reached
    ///   {5, 0}          no such sale
    ///   {6, round}      the sale is in another round now (reset since the gid was made)
    ///   {7, 0}          fenced: Redis is behind a journal; nothing written but the fence
    ///   {8, 0}          the node's lease is not this process's: nothing written
    ///   {9, opens}      the sale is not open yet on Redis' clock (TIME); {10, closes} closed;
    ///                   {11, 0} paused. Judged after the barrier, so a retried step of a
    ///                   purchase that deducted before the close still finds its deduction
    ///   {12, gid, round, ms}  another gid deducted for this request (user and request id)
    ///                   first, in `round` at `ms` of Redis' clock: a retry that reached
    ///                   another node. Nothing written but that record, unchanged
    ///
    /// The requests hash (`req:ITEM`, field "USER REQUESTID", value "GID ROUND MS") records
    /// which gid deducted for a request, in the same step as the deduction. A gid carries its
    /// node, so the same request on two nodes makes two gids; this record makes the second one
    /// answer with the first one's order instead of buying again (G5 across nodes). It is
    /// consulted before a rollback marker: a gid rolled back here may belong to a request that
    /// deducted on another node, and nothing is deducted either way.
    ///
    /// The fence (G9). The counts hash holds the round's deductions per node (field NODE) and
    /// in all (`*`), never decremented; the fences hash, why each node fenced the item. Each
    /// purchase carries two floors: the node's own orders of the round (each had its deduction
    /// here) and the most deductions in all it has read. Fewer here than either means Redis
    /// lost writes (an older snapshot, a stale replica promoted, a flush), and units it forgot
    /// were sold would be sold again: the item is fenced, for every node, until an operator
    /// repairs it. A round without `*` was made before counting began: nothing to compare
    /// until a deduction writes it.
    ///
    /// Order of writes: each purchase's, in the order a call of its own made them (stock,
    /// the user's count, the barrier, the counts, the request's record, the hold). A call that
    /// fails half-way (a key of the wrong type) leaves the purchases before it whole, and the
    /// failing one as a call of its own would: a unit lost, never a barrier `d` without its
    /// unit taken, and never a barrier uncounted, which would fence the item for good (a
    /// repair counts only the barriers it puts back).
    ///
    /// A call whose answers would write nothing writes something that changes nothing at its
    /// end (HDEL of a field no fence has): on a server that is a read-only replica now, a
    /// demoted primary still reachable after a failover, it fails with READONLY instead of
    /// answering "sold out" or "limit reached" from stale data.
    static let buy = LuaScript(name: "buy", source: """
        local replies = {}
        local probe = false
        local function all(reply)
          redis.call('HDEL', KEYS[5], '')
          for i = 4, #ARGV, 5 do replies[#replies + 1] = reply end
          return replies
        end
        \(leaseCheck(key: 6, token: 3, refusal: "all({8, 0})"))
        local sale = redis.call('HMGET', KEYS[1], 'round', 'limit', 'stock', 'opens', 'closes', 'paused', 'hold')
        if not sale[1] then return all({5, 0}) end
        if sale[1] ~= ARGV[1] then return all({6, tonumber(sale[1])}) end
        if redis.call('EXISTS', KEYS[5]) == 1 then return all({7, 0}) end
        local counts = redis.call('HMGET', KEYS[4], '*', ARGV[2])
        local counted = counts[1] ~= false
        local mine = tonumber(counts[2] or '0')
        local total = tonumber(counts[1] or '0')
        local fenced = false
        local left = tonumber(sale[3])
        local limit = tonumber(sale[2])
        local sold = 0
        local now = nil
        local function clock()
          if not now then
            local t = redis.call('TIME')
            now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
          end
          return now
        end
        local function refuse(reply)
          probe = true
          return reply
        end
        local function one(gid, user, orders, seen, rid)
          if fenced then return {7, 0} end
          if counted and (mine < tonumber(orders) or total < tonumber(seen)) then
            \(fence(round: "ARGV[1]", node: "ARGV[2]", mine: "mine", all: "total", orders: "orders", seen: "seen"))
            fenced = true
            return {7, 0}
          end
          local barrier = redis.call('HGET', KEYS[2], gid)
          if barrier == 'd' or barrier == 'c' or barrier == 'x' then
            redis.call('HSET', KEYS[2], gid, barrier)
            return {1, 0}
          end
          local asked = user .. ' ' .. rid
          if rid ~= '' then
            \(firstDeduction(hash: "KEYS[8]", field: "asked", gid: "gid"))
          end
          if barrier == 'r' then
            redis.call('HSET', KEYS[2], gid, 'r')
            return {2, 0}
          end
          if sale[6] == '1' then return refuse({11, 0}) end
          if sale[4] and clock() < tonumber(sale[4]) then return refuse({9, tonumber(sale[4])}) end
          if sale[5] and clock() >= tonumber(sale[5]) then return refuse({10, tonumber(sale[5])}) end
          local bought = tonumber(redis.call('HGET', KEYS[3], user) or '0')
          if bought >= limit then return refuse({4, 0}) end
          if left <= 0 then return refuse({3, 0}) end
          redis.call('HINCRBY', KEYS[1], 'stock', -1)
          redis.call('HINCRBY', KEYS[3], user, 1)
          redis.call('HSET', KEYS[2], gid, 'd')
          redis.call('HINCRBY', KEYS[4], ARGV[2], 1)
          redis.call('HINCRBY', KEYS[4], '*', 1)
          left = left - 1
          sold = sold + 1
          counted = true
          mine = mine + 1
          total = total + 1
          if rid ~= '' then redis.call('HSET', KEYS[8], asked, gid .. ' ' .. ARGV[1] .. ' ' .. clock()) end
          if sale[7] then
            -- The item is the sale key's last part (names can't hold ':', see RedisKeys).
            local expires = clock() + tonumber(sale[7])
            redis.call('HSET', KEYS[7], gid, table.concat({KEYS[1]:match('[^:]+$'), ARGV[1], user, expires}, ' '))
            return {0, left, expires}
          end
          return {0, left, 0}
        end
        for i = 4, #ARGV, 5 do
          replies[#replies + 1] = one(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
        end
        if sold == 0 and probe then redis.call('HDEL', KEYS[5], '') end
        return replies
        """)

    /// KEYS: sale hash, barrier hash, per-user hash, deduction counts, fences (as `buy`).
    /// ARGV: round, node, node's orders of the round, deductions in all seen.
    /// The periodic check of the fence, without a purchase. Reply:
    ///   {0, mine, all, fences...}  the round is current; `mine`/`all` are the counts (-1: a
    ///                              round made before counting); then the fence hash's
    ///                              fields and values (empty: not fenced)
    ///   {6, round}                 the sale is in another round now
    ///   {5, 0}                     no such sale
    static let checkFence = LuaScript(name: "check-fence", source: """
        local round = redis.call('HGET', KEYS[1], 'round')
        if not round then return {5, 0} end
        if round ~= ARGV[1] then return {6, tonumber(round)} end
        local counted = redis.call('HGET', KEYS[4], '*')
        local mine = -1
        local all = -1
        if counted then
          -- Written again, unchanged, so that WAIT after this script covers the counts read:
          -- a count read from a primary that a failover then loses must not become a floor.
          redis.call('HSET', KEYS[4], '*', counted)
          mine = tonumber(redis.call('HGET', KEYS[4], ARGV[2]) or '0')
          all = tonumber(counted)
          if redis.call('HEXISTS', KEYS[5], ARGV[2]) == 0 and (mine < tonumber(ARGV[3]) or all < tonumber(ARGV[4])) then
            \(fence(round: "ARGV[1]", node: "ARGV[2]", mine: "mine", all: "all", orders: "ARGV[3]", seen: "ARGV[4]"))
          end
        end
        local reply = {0, mine, all}
        for _, v in ipairs(redis.call('HGETALL', KEYS[5])) do table.insert(reply, v) end
        return reply
        """)

    /// KEYS: sale hash, barrier hash, per-user hash, deduction counts, fences (as `buy`), the
    /// item's requests.
    /// ARGV: round, node, apply (1) or dry run (0), then gid, user, wanted barrier, request id
    /// and ordered-at ms, five per order: this node's orders of the round, from its journal; `c`
    /// for a confirmed order, `x` for a released one, `d` for the rest. Applying puts back a
    /// lost record of which gid deducted for a request too (see `buy`), unless one is there.
    /// Re-applies every order whose barrier Redis lost: barrier as wanted, stock −1, the user's
    /// count +1, the deduction counted; for a released order the deduction counted only (its
    /// unit went back). A confirm Redis lost (`d`, wanted `c`) is marked again, so no release
    /// can take a paid unit back; a release it lost (`d`, wanted `x`) returns the unit.
    /// Idempotent: an order whose barrier is as wanted (or a hold's later mark) is skipped.
    /// Reply {round check, restored (or to restore), stock after}: {6, round} when the sale
    /// moved to another round, {5, 0} for no sale.
    static let repair = LuaScript(name: "repair", source: """
        local round = redis.call('HGET', KEYS[1], 'round')
        if not round then return {5, 0} end
        if round ~= ARGV[1] then return {6, tonumber(round)} end
        local missing = 0
        local apply = ARGV[3] == '1'
        for i = 4, #ARGV, 5 do
          local gid, user, want = ARGV[i], ARGV[i + 1], ARGV[i + 2]
          if apply and ARGV[i + 3] ~= '' then
            redis.call('HSETNX', KEYS[6], user .. ' ' .. ARGV[i + 3], gid .. ' ' .. ARGV[1] .. ' ' .. ARGV[i + 4])
          end
          local b = redis.call('HGET', KEYS[2], gid)
          local lost = b ~= 'd' and b ~= 'c' and b ~= 'x'
          if lost then
            missing = missing + 1
            if apply then
              redis.call('HSET', KEYS[2], gid, want)
              if want ~= 'x' then
                redis.call('HINCRBY', KEYS[1], 'stock', -1)
                redis.call('HINCRBY', KEYS[3], user, 1)
              end
              redis.call('HINCRBY', KEYS[4], ARGV[2], 1)
              redis.call('HINCRBY', KEYS[4], '*', 1)
            end
          elseif b == 'd' and want ~= 'd' then
            missing = missing + 1
            if apply then
              redis.call('HSET', KEYS[2], gid, want)
              if want == 'x' then
                redis.call('HINCRBY', KEYS[1], 'stock', 1)
                if tonumber(redis.call('HGET', KEYS[3], user) or '0') > 0 then redis.call('HINCRBY', KEYS[3], user, -1) end
              end
            end
          end
        end
        if ARGV[3] == '1' and redis.call('HGET', KEYS[4], '*') == false then redis.call('HSET', KEYS[4], '*', 0) end
        return {0, missing, tonumber(redis.call('HGET', KEYS[1], 'stock'))}
        """)

    /// KEYS: fences. ARGV: node. Lifts this node's fence of the item (after its repair).
    /// Reply: the number of fences left on the item (other nodes' still to repair).
    static let liftFence = LuaScript(name: "lift-fence", source: """
        redis.call('HDEL', KEYS[1], ARGV[1])
        return redis.call('HLEN', KEYS[1])
        """)

    /// KEYS: barrier hash, node lease, the item's requests. ARGV: gid, lease token, the
    /// request's field ("USER REQUESTID", '' none).
    /// Reply: 0 = barrier `d` (or a hold's `c`, `x`), the deduction happened; 1 = no deduction, and the rollback marker
    /// `r` is in place (written now if the barrier was absent), so a late buy for the gid is refused;
    /// 2 = the node's lease is not this process's: nothing read or written;
    /// {12, gid, round, ms} = no deduction for this gid (the marker is in place), but another
    /// gid deducted for the same request (see `buy`): the request's order is that one.
    static let backCheck = LuaScript(name: "back-check", source: """
        \(leaseCheck(key: 2, token: 2, refusal: "2"))
        local barrier = redis.call('HGET', KEYS[1], ARGV[1])
        if barrier == 'd' or barrier == 'c' or barrier == 'x' then
          redis.call('HSET', KEYS[1], ARGV[1], barrier)
          return 0
        end
        redis.call('HSET', KEYS[1], ARGV[1], 'r')
        if ARGV[3] ~= '' then
          \(firstDeduction(hash: "KEYS[3]", field: "ARGV[3]", gid: "ARGV[1]"))
        end
        return 1
        """)

    /// Lua that answers {12, gid, round, ms} when the requests hash says another gid than
    /// `gid` deducted for the request `field`. The record is written again, unchanged, for
    /// WAIT's sake (see the barriers above): the answer must not come from a write a failover
    /// could lose.
    static func firstDeduction(hash: String, field: String, gid: String) -> String {
        """
        local first = redis.call('HGET', \(hash), \(field))
          if first then
            local fgid, fround, fms = string.match(first, '^(%S+) (%d+) (%d+)$')
            if fgid and fgid ~= \(gid) then
              redis.call('HSET', \(hash), \(field), first)
              return {12, fgid, tonumber(fround), tonumber(fms)}
            end
          end
        """
    }

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
}
