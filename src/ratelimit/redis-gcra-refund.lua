-- One GCRA refund, atomically, on Redis's clock: gcraRefund in gcra.ts, line
-- for line (ADR 0014 for the algorithm, ADR 0015 for the store).
-- redis-scripts.test.ts checks the two agree on random sequences.
--
-- KEYS[1]  the caller's state under one policy: its TAT, integer µs since the epoch
-- ARGV[1]  T, the emission interval: integer microseconds per request
-- ARGV[2]  cost to give back: an integer >= 0
--
-- Returns reset_after_ms of the state left behind (0: none).
--
-- The TAT moves back cost × T, never behind now. A missing or past TAT is
-- already a full bucket and is left alone; a refund that fills the bucket
-- deletes the key, since a missing key says the same; otherwise the new TAT is
-- stored expiring at itself, as redis-gcra.lua stores it.

local time = redis.call('TIME')
local now = (tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)) * 1000

local interval = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])

local function ceil_ms(us)
  return math.ceil(us / 1000)
end

local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat <= now then
  return 0
end
if cost == 0 then
  return ceil_ms(tat - now)
end

tat = tat - cost * interval
if tat <= now then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('SET', KEYS[1], tat, 'PX', ceil_ms(tat - now))
return ceil_ms(tat - now)
