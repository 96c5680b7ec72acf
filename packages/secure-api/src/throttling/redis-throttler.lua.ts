/**
 * The Lua script behind {@link RedisThrottlerStorage}: decides one or more hits atomically, with
 * the semantics of `MemoryThrottlerStorage` (the stock `ThrottlerStorageService`'s).
 *
 * Called as `EVALSHA sha numkeys k1 h1 k2 h2 … ttl1 limit1 block1 ttl2 limit2 block2 …`: per
 * request, a hash `k` holding the window end `e`, block end `b`, block flag `k` and a hit
 * sequence `n`, and a sorted set `h` of hits scored by their expiry. Both names carry the same
 * hash tag, so they live in one Cluster slot. Replies with `totalHits, timeToExpire, isBlocked
 * (0/1), timeToBlockExpire` per request, flattened.
 *
 * Times come from the server's `TIME`, so every instance sharing the Redis agrees on windows
 * whatever its own clock says. Both keys get a `PEXPIRE` of `max(ttl, blockDuration)` on every
 * call: a key that is not hit again disappears once nothing in it can matter any more.
 *
 * A TypeScript constant rather than a `.lua` file, so that `tsc` alone builds the package.
 *
 * @see {@link RedisThrottlerStorage}
 */
export const THROTTLER_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 1, #KEYS / 2 do
  local sk = KEYS[2 * i - 1]
  local hk = KEYS[2 * i]
  local ttl = tonumber(ARGV[3 * i - 2])
  local limit = tonumber(ARGV[3 * i - 1])
  local block = tonumber(ARGV[3 * i])
  local st = redis.call('HMGET', sk, 'e', 'b', 'k', 'n')
  local expiresAt = tonumber(st[1]) or (now + ttl)
  local blockExpiresAt = tonumber(st[2]) or 0
  local blocked = st[3] == '1'
  local seq = tonumber(st[4]) or 0
  redis.call('ZREMRANGEBYSCORE', hk, '-inf', now)
  local count = redis.call('ZCARD', hk)
  local tte = math.ceil((expiresAt - now) / 1000)
  if tte <= 0 then
    expiresAt = now + ttl
    tte = math.ceil(ttl / 1000)
  end
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
      seq = seq + 1
      redis.call('ZADD', hk, now + ttl, seq)
      isBlocked = 0
      total = count + 1
      ttbe = 0
    end
  else
    if blocked and now >= blockExpiresAt then
      blocked = false
      redis.call('DEL', hk)
      count = 0
    end
    if not blocked then
      seq = seq + 1
      redis.call('ZADD', hk, now + ttl, seq)
      count = count + 1
      if count > limit then
        blocked = true
        blockExpiresAt = now + block
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
  redis.call('HSET', sk, 'e', string.format('%d', expiresAt), 'b', string.format('%d', blockExpiresAt), 'k', blocked and '1' or '0', 'n', seq)
  local px = math.ceil(math.max(ttl, block, 1))
  redis.call('PEXPIRE', sk, px)
  redis.call('PEXPIRE', hk, px)
  out[#out + 1] = total
  out[#out + 1] = tte
  out[#out + 1] = isBlocked
  out[#out + 1] = ttbe
end
return out
`;
