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
