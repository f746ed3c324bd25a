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

# Presence (0027): per channel, three kinds of keys, each expiring a day after last use.
# - the entries zset: member "<uid>|<node>|<conn>|<name>", score = expiry (unix s), for
#   listing and sweeping;
# - per user of the channel, a zset of that user's own entries (same members and scores), so
#   "is this the user's first / last live entry" is one ZCOUNT, not a scan of the channel;
# - the users zset: member "<uid>|<name>", score = uid: who was announced online (a `join`
#   and no `leave` yet), for the first-K snapshot and the count.
# A subscribe or unsubscribe is O(log n) in the channel's size.
_PRESENCE_DAY = 86400

# KEYS[1] entries, KEYS[2] the user's entries, KEYS[3] users; ARGV: member, expiry, now, uid,
# name -> 1 if the user had no other live entry (first)
PRESENCE_ADD = f"""
redis.call('ZADD', KEYS[1], tonumber(ARGV[2]), ARGV[1])
redis.call('ZADD', KEYS[2], tonumber(ARGV[2]), ARGV[1])
redis.call('EXPIRE', KEYS[1], {_PRESENCE_DAY})
redis.call('EXPIRE', KEYS[2], {_PRESENCE_DAY})
redis.call('EXPIRE', KEYS[3], {_PRESENCE_DAY})
local others = redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[3], '+inf') - 1
if others > 0 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[3], ARGV[4], ARGV[4])
redis.call('ZADD', KEYS[3], tonumber(ARGV[4]), ARGV[4] .. '|' .. ARGV[5])
return 1
"""

# KEYS[1] entries, KEYS[2] the user's entries, KEYS[3] users; ARGV: member, now, uid
# -> 1 if it was the user's last live entry
PRESENCE_REMOVE = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[2], '+inf') > 0 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[3], ARGV[3], ARGV[3])
return 1
"""

# KEYS[1] entries, KEYS[2] users; ARGV: now, the users' entries key prefix (+ uid)
# -> expired members whose user has no live entry left, one per user still announced.
# The per-user keys are derived here (standalone Redis; under Cluster they would need a
# hash tag shared with KEYS[1]).
PRESENCE_SWEEP = """
local gone = {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])) do
  if redis.call('ZREM', KEYS[1], m) == 1 then
    local uid = string.match(m, '^[^|]*')
    local mine = ARGV[2] .. uid
    redis.call('ZREM', mine, m)
    if redis.call('ZCOUNT', mine, '(' .. ARGV[1], '+inf') == 0
       and redis.call('ZREMRANGEBYSCORE', KEYS[2], uid, uid) > 0 then
      table.insert(gone, m)
    end
  end
end
return gone
"""

# KEYS[1] users; ARGV: now, limit, the users' entries key prefix (+ uid)
# -> {total, "<uid>|<name>", ...}: up to `limit` users with a live entry, lowest ids first.
# Users whose entries all expired (not swept yet) are skipped; at most 2 * limit are looked
# at, so the work is bounded whatever the channel's size.
PRESENCE_PAGE = """
local out = {redis.call('ZCARD', KEYS[1])}
local limit = tonumber(ARGV[2])
if limit <= 0 then return out end
for _, u in ipairs(redis.call('ZRANGE', KEYS[1], 0, 2 * limit - 1)) do
  local uid = string.match(u, '^[^|]*')
  if redis.call('ZCOUNT', ARGV[3] .. uid, '(' .. ARGV[1], '+inf') > 0 then
    table.insert(out, u)
    if #out > limit then break end
  end
end
return out
"""

# A fixed-window counter: the first count starts the window (PEXPIRE NX needs Redis 7; the
# embedded Redis is 6.2). KEYS[1] counter; ARGV: window in ms. Returns the new count.
COUNT_IN_WINDOW = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1])) end
return n
"""

# Tallied sets (broker/stores.py: SortedSetStore.tally_*). KEYS[1] zset, KEYS[2] meta hash
# (wm: the watermark, n: members), KEYS[3] hash of applied changes above wm
# (seq -> member|points|rest|correct|wrong), KEYS[4] hash of each member's counts
# (member|c, member|w: how many of its changes were right and wrong; moved with the score
# in the same step, so they hold exactly the set's changes). The set is missing when the
# meta is, or when the zset is gone while the meta says it had members (evicted or
# deleted alone); counts missing alone are read as missing (the caller asks PostgreSQL).
# Numbers go back to Redis through string.format('%.17g'): Lua's own tostring keeps only 14
# digits, and composite scores need 16.
_TALLY = """
local function fmt(x) return string.format('%.17g', x) end
local function bump(z, member, points, rest, span, limit, right, wrong)
  -- both fields even when 0: a member lacking one has lost its counts
  redis.call('HINCRBY', KEYS[4], member .. '|c', right)
  redis.call('HINCRBY', KEYS[4], member .. '|w', wrong)
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

# ARGV: span, limit, then (seq, member, points, rest, correct, wrong) per change -> -1
# missing, else pending
TALLY_APPLY = (
    _TALLY
    + """
local wm = watermark()
if not wm then return -1 end
local span, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 3, #ARGV, 6 do
  if tonumber(ARGV[i]) > wm and redis.call('HSETNX', KEYS[3], ARGV[i],
      ARGV[i + 1] .. '|' .. ARGV[i + 2] .. '|' .. ARGV[i + 3] .. '|' .. ARGV[i + 4]
      .. '|' .. ARGV[i + 5]) == 1 then
    bump(KEYS[1], ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), span, limit,
         tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5]))
  end
end
save(advance(KEYS[3], wm))
return redis.call('HLEN', KEYS[3])
"""
)

# ARGV: seq, span, limit, then (member, score, correct, wrong) per member -> 1 installed,
# 0 refused (W > seq)
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
redis.call('DEL', KEYS[1], KEYS[4])
for i = 4, #ARGV, 4 do
  redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
  redis.call('HSET', KEYS[4], ARGV[i] .. '|c', ARGV[i + 2], ARGV[i] .. '|w', ARGV[i + 3])
end
local above = redis.call('HGETALL', KEYS[3])
for i = 1, #above, 2 do
  if tonumber(above[i]) <= seq then
    redis.call('HDEL', KEYS[3], above[i])
  else
    local member, points, rest, right, wrong =
      string.match(above[i + 1], '^(.*)|(-?%d+)|(%d+)|(%d+)|(%d+)$')
    if not member then  -- written by a version without counts
      member, points, rest = string.match(above[i + 1], '^(.*)|(-?%d+)|(%d+)$')
      right, wrong = 0, 0
    end
    bump(KEYS[1], member, tonumber(points), tonumber(rest), span, limit,
         tonumber(right), tonumber(wrong))
  end
end
save(advance(KEYS[3], seq))
return 1
"""
)

# A bot delta: append to the answer's stream (exact cap), refresh its expiry, THEN publish
# (the order resume relies on), and say whether the answer's cancel flag is set.
# KEYS[1] stream, KEYS[2] flag; ARGV: pubsub channel, payload, maxlen, ttl ms -> 0/1
STREAM_PUBLISH = """
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], '*', 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return redis.call('EXISTS', KEYS[2])
"""

# KEYS: the set; ARGV: start, stop -> {n, joined}: ZREVRANGE WITHSCORES's n items (member
# and score alternating) as ONE newline-separated string. A whole 1,000-member board as
# 2,000 RESP replies cost the client ~10 CPU-ms to parse (a readline each); one bulk string
# costs a split, and n tells whether a member held a newline. Scores come as Redis formats
# them (%.17g: exact, unlike Lua's tostring on numbers).
SORTED_TOP_JOINED = """
local items = redis.call('ZREVRANGE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES')
return {#items, table.concat(items, '\\n')}
"""
