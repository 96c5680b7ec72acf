/**
 * The Lua script behind {@link RedisThrottlerStorage}: decides one or more hits atomically, with
 * the semantics of `MemoryThrottlerStorage` (the stock `ThrottlerStorageService`'s).
 *
 * Called as `EVALSHA sha numkeys k1 h1 k2 h2 … ttl1 limit1 block1 ttl2 limit2 block2 …`: per
 * request, a hash `k` holding the window end `e`, block end `b` and block flag `k`, and a sorted
 * set `h` of hits scored by their expiry. Both names carry the same hash tag, so they live in one
 * Cluster slot. Replies with `totalHits, timeToExpire, isBlocked (0/1), timeToBlockExpire` per
 * request, flattened.
 *
 * Times come from the server's `TIME`, so every instance sharing the Redis agrees on windows
 * whatever its own clock says.
 *
 * Cost: an allowed hit in a running window is five commands (`HMGET`, `ZREMRANGEBYSCORE`,
 * `ZCARD`, `ZADD`, `PEXPIRE`). The hash is written only when it changes (a new window, a block
 * starting or ending), with a `PEXPIRE` of `max(ttl, blockDuration)`: long enough for every
 * field to matter (a window ends within `ttl`, a block within `blockDuration`), and the hits of
 * a block that ends after that have all expired by then. The sorted set gets `PEXPIRE ttl` on
 * each hit, its newest entry's lifetime. So a key that is not hit again disappears once nothing
 * in it can matter any more.
 *
 * A hit's member is `<now>:<count before it>`: the count of live hits only grows within one
 * millisecond (the removal of expired hits at `now` happens on the first call at `now`), so two
 * hits never share a member; should one ever exist already (`ZADD` answers 0), the hit is
 * stored under a longer, new member rather than lost.
 *
 * A TypeScript constant rather than a `.lua` file, so that `tsc` alone builds the package.
 *
 * @see {@link RedisThrottlerStorage}
 */
export const THROTTLER_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function add(hk, ttl, count)
  local member = now .. ':' .. count
  if redis.call('ZADD', hk, now + ttl, member) == 0 then
    redis.call('ZADD', hk, now + ttl, member .. ':' .. redis.call('ZCARD', hk))
  end
  redis.call('PEXPIRE', hk, ttl)
end
local out = {}
for i = 1, #KEYS / 2 do
  local sk = KEYS[2 * i - 1]
  local hk = KEYS[2 * i]
  local ttl = tonumber(ARGV[3 * i - 2])
  local limit = tonumber(ARGV[3 * i - 1])
  local block = tonumber(ARGV[3 * i])
  local st = redis.call('HMGET', sk, 'e', 'b', 'k')
  local expiresAt = tonumber(st[1])
  local blockExpiresAt = tonumber(st[2]) or 0
  local blocked = st[3] == '1'
  local changed = false
  redis.call('ZREMRANGEBYSCORE', hk, '-inf', now)
  local count = redis.call('ZCARD', hk)
  if expiresAt == nil or expiresAt <= now then
    expiresAt = now + ttl
    changed = true
  end
  local tte = math.ceil((expiresAt - now) / 1000)
  local total, isBlocked, ttbe
  if block <= 0 then
    if count >= limit then
      isBlocked = 1
      total = count + 1
      if count > 0 then
        local oldest = redis.call('ZRANGE', hk, 0, 0, 'WITHSCORES')
        ttbe = math.ceil((tonumber(oldest[2]) - now) / 1000)
      else
        ttbe = tte
      end
    else
      add(hk, ttl, count)
      isBlocked = 0
      total = count + 1
      ttbe = 0
    end
  else
    if blocked and now >= blockExpiresAt then
      blocked = false
      changed = true
      redis.call('DEL', hk)
      count = 0
    end
    if not blocked then
      add(hk, ttl, count)
      count = count + 1
      if count > limit then
        blocked = true
        blockExpiresAt = now + block
        changed = true
      end
    end
    total = count
    if blocked then
      isBlocked = 1
      ttbe = math.ceil((blockExpiresAt - now) / 1000)
    else
      isBlocked = 0
      ttbe = 0
    end
  end
  if changed then
    redis.call('HSET', sk, 'e', string.format('%d', expiresAt), 'b', string.format('%d', blockExpiresAt), 'k', blocked and '1' or '0')
    redis.call('PEXPIRE', sk, math.ceil(math.max(ttl, block, 1)))
  end
  out[#out + 1] = total
  out[#out + 1] = tte
  out[#out + 1] = isBlocked
  out[#out + 1] = ttbe
end
return out
`;
