"""Lua scripts run atomically inside Redis (one round trip, no interleaving)."""

# Durable publish: keep the event in the channel's capped history, then publish it.
# Re-publishing a seq (a retried send heals a crash between commit and publish) replaces it.
# KEYS[1] history zset; ARGV: pubsub channel, payload, seq, cap, ttl seconds
PUBLISH_DURABLE = """
local seq = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], seq, seq)
redis.call('ZADD', KEYS[1], seq, ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[4]) - 1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return redis.call('PUBLISH', ARGV[1], ARGV[2])
"""

# Presence sets are zsets: member "<uid>|<node>|<conn>|<name>", score = expiry (unix s).
# A helper counts the live members of one user.
_COUNT_USER = """
local function live_of_user(key, prefix, now, except)
  local n = 0
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', key, '(' .. now, '+inf')) do
    if m ~= except and string.sub(m, 1, string.len(prefix)) == prefix then n = n + 1 end
  end
  return n
end
"""

# KEYS[1] presence zset; ARGV: member, expiry, now, user prefix "<uid>|"; -> 1 if first
PRESENCE_ADD = (
    _COUNT_USER
    + """
redis.call('ZADD', KEYS[1], tonumber(ARGV[2]), ARGV[1])
redis.call('EXPIRE', KEYS[1], 86400)
if live_of_user(KEYS[1], ARGV[4], ARGV[3], ARGV[1]) == 0 then return 1 end
return 0
"""
)

# KEYS[1] presence zset; ARGV: member, now, user prefix; -> 1 if it was the user's last
PRESENCE_REMOVE = (
    _COUNT_USER
    + """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
if live_of_user(KEYS[1], ARGV[3], ARGV[2], '') == 0 then return 1 end
return 0
"""
)

# KEYS[1] presence zset; ARGV: now -> expired members whose user has no live member left
PRESENCE_SWEEP = (
    _COUNT_USER
    + """
local gone = {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])) do
  if redis.call('ZREM', KEYS[1], m) == 1 then
    local prefix = string.match(m, '^[^|]*|')
    if live_of_user(KEYS[1], prefix, ARGV[1], '') == 0 then table.insert(gone, m) end
  end
end
return gone
"""
)

# A fixed-window counter: the first count starts the window (PEXPIRE NX needs Redis 7; the
# embedded Redis is 6.2). KEYS[1] counter; ARGV: window in ms. Returns the new count.
COUNT_IN_WINDOW = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1])) end
return n
"""

# Tallied sets (broker/stores.py: SortedSetStore.tally_*). KEYS[1] zset, KEYS[2] meta hash
# (wm: the watermark, n: members), KEYS[3] hash of applied changes above wm
# (seq -> member|points|rest). The set is missing when the meta is, or when the zset is gone
# while the meta says it had members (evicted or deleted alone).
# Numbers go back to Redis through string.format('%.17g'): Lua's own tostring keeps only 14
# digits, and composite scores need 16.
_TALLY = """
local function fmt(x) return string.format('%.17g', x) end
local function bump(z, member, points, rest, span, limit)
  local old = redis.call('ZSCORE', z, member)
  local s, r = 0, span
  if old then
    old = tonumber(old)
    s = math.floor(old / span)
    r = old - s * span
  end
  s = s + points
  if s > limit - 1 then s = limit - 1 elseif s < 1 - limit then s = 1 - limit end
  if rest < r then r = rest end
  redis.call('ZADD', z, fmt(s * span + r), member)
end
local function advance(pend, w)
  while redis.call('HDEL', pend, fmt(w + 1)) == 1 do w = w + 1 end
  return w
end
local function watermark()
  local meta = redis.call('HMGET', KEYS[2], 'wm', 'n')
  if not meta[1] then return nil end
  if tonumber(meta[2] or '0') > 0 and redis.call('EXISTS', KEYS[1]) == 0 then return nil end
  return tonumber(meta[1])
end
local function save(w)
  redis.call('HSET', KEYS[2], 'wm', fmt(w), 'n', redis.call('ZCARD', KEYS[1]))
end
"""

# -> the watermark, or -1 when the set is missing
TALLY_WATERMARK = (
    _TALLY
    + """
return watermark() or -1
"""
)

# ARGV: span, limit, then (seq, member, points, rest) per change -> -1 missing, else pending
TALLY_APPLY = (
    _TALLY
    + """
local wm = watermark()
if not wm then return -1 end
local span, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 3, #ARGV, 4 do
  if tonumber(ARGV[i]) > wm and redis.call('HSETNX', KEYS[3], ARGV[i],
      ARGV[i + 1] .. '|' .. ARGV[i + 2] .. '|' .. ARGV[i + 3]) == 1 then
    bump(KEYS[1], ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), span, limit)
  end
end
save(advance(KEYS[3], wm))
return redis.call('HLEN', KEYS[3])
"""
)

# ARGV: seq, span, limit, then (member, score) pairs -> 1 installed, 0 refused (W > seq)
TALLY_REPLACE = (
    _TALLY
    + """
local seq = tonumber(ARGV[1])
local wm = watermark()
if wm and wm > seq then return 0 end
-- A missing set forgets what it had applied: W restarts at seq (a gap, if changes above
-- seq were lost with it, that the publisher's check turns into another rebuild).
if not wm then redis.call('DEL', KEYS[3]) end
local span, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('DEL', KEYS[1])
for i = 4, #ARGV, 2 do redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i]) end
local above = redis.call('HGETALL', KEYS[3])
for i = 1, #above, 2 do
  if tonumber(above[i]) <= seq then
    redis.call('HDEL', KEYS[3], above[i])
  else
    local member, points, rest = string.match(above[i + 1], '^(.*)|(-?%d+)|(%d+)$')
    bump(KEYS[1], member, tonumber(points), tonumber(rest), span, limit)
  end
end
save(advance(KEYS[3], seq))
return 1
"""
)

# KEYS: the set; ARGV: start, stop -> {n, joined}: ZREVRANGE WITHSCORES's n items (member
# and score alternating) as ONE newline-separated string. A whole 1,000-member board as
# 2,000 RESP replies cost the client ~10 CPU-ms to parse (a readline each); one bulk string
# costs a split, and n tells whether a member held a newline. Scores come as Redis formats
# them (%.17g: exact, unlike Lua's tostring on numbers).
SORTED_TOP_JOINED = """
local items = redis.call('ZREVRANGE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES')
return {#items, table.concat(items, '\\n')}
"""
