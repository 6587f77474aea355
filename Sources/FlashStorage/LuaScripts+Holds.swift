/// The scripts of checkout holds (G7). A held order's barrier is `d`, as for any deduction;
/// `c` marks it confirmed and `x` released. Both are written only over `d`, in one script with
/// the unit's return, so however often a release is retried or interrupted the unit goes back
/// once, and a confirm and a release racing each other are decided by whichever runs first.
extension LuaScripts {
    /// KEYS: sale hash, the order round's barrier hash, that round's per-user hash, the selling
    /// node's news list. ARGV: gid, user, the order's round, expires (ms of Redis' clock),
    /// action (`confirm`, `cancel`, `expire`), notify (`1`: push the gid onto the news list,
    /// because another node decided it).
    /// Reply {code, value}:
    ///   {1, now}      confirmed (`now` 1: by this call, 0: before)
    ///   {2, now}      released (`now` 1: by this call, the unit returned if the sale is still
    ///                 in the order's round; 0: before)
    ///   {3, expires}  still held: an expiry asked before `expires` on Redis' clock
    ///   {4, 0}        no deduction for the gid: Redis lost it (G9) or it never bought
    ///
    /// A confirm after the hold ran out on Redis' clock releases instead: the order expired,
    /// whatever the node's own clock says. A release in a round the sale has left returns no
    /// unit: that round's stock is gone with it. The per-user count never goes below zero.
    /// A mark found is written again unchanged, so WAIT covers it (see `LuaScripts`).
    static let decideHold = LuaScript(name: "decide-hold", source: """
        local b = redis.call('HGET', KEYS[2], ARGV[1])
        if b == 'c' or b == 'x' then
          redis.call('HSET', KEYS[2], ARGV[1], b)
          return {b == 'c' and 1 or 2, 0}
        end
        if b ~= 'd' then
          redis.call('HDEL', KEYS[2], '')
          return {4, 0}
        end
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local expired = now >= tonumber(ARGV[4])
        local reply
        if ARGV[5] == 'confirm' and not expired then
          redis.call('HSET', KEYS[2], ARGV[1], 'c')
          reply = {1, 1}
        elseif ARGV[5] == 'expire' and not expired then
          redis.call('HSET', KEYS[2], ARGV[1], 'd')
          return {3, tonumber(ARGV[4])}
        else
          redis.call('HSET', KEYS[2], ARGV[1], 'x')
          if redis.call('HGET', KEYS[1], 'round') == ARGV[3] then
            redis.call('HINCRBY', KEYS[1], 'stock', 1)
            if tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0') > 0 then
              redis.call('HINCRBY', KEYS[3], ARGV[2], -1)
            end
          end
          reply = {2, 1}
        end
        if ARGV[6] == '1' then redis.call('RPUSH', KEYS[4], ARGV[1]) end
        return reply
        """)

    /// KEYS: holds, sale hash, the order round's barrier hash. ARGV: gid, the order's round.
    /// A hold starts when its order is made. For a purchase the purchase script made it a moment
    /// ago; for one that recovery or a retry finishes later (a crash between the stock step and
    /// the order), the hold is renewed now, still held (`d`) and in the sale's current round, to
    /// run the sale's hold from Redis' clock now: the buyer can't pay for an order they were
    /// never told of, and the seed's crashed purchase must not find its hold over on arrival.
    /// Reply: {0} no hold for the gid; {1, expires, mark} with the barrier's mark (1 held,
    /// 2 confirmed, 3 released, 0 none).
    static let renewHold = LuaScript(name: "renew-hold", source: """
        local entry = redis.call('HGET', KEYS[1], ARGV[1])
        if not entry then return {0} end
        local item, round, user, expires = entry:match('^(%S+) (%S+) (%S+) (%S+)$')
        expires = tonumber(expires)
        local b = redis.call('HGET', KEYS[3], ARGV[1])
        local sale = redis.call('HMGET', KEYS[2], 'round', 'hold')
        if b == 'd' and sale[1] == ARGV[2] and sale[2] then
          local t = redis.call('TIME')
          local renewed = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(sale[2])
          if renewed > expires then
            expires = renewed
            redis.call('HSET', KEYS[1], ARGV[1], table.concat({item, round, user, expires}, ' '))
          end
        end
        local mark = 0
        if b == 'd' then mark = 1 elseif b == 'c' then mark = 2 elseif b == 'x' then mark = 3 end
        return {1, expires, mark}
        """)
}
