-- One GCRA decision, atomically, on Redis's clock: gcra.ts, line for line
-- (ADR 0014 for the algorithm, ADR 0015 for the store). redis-scripts.test.ts
-- checks the two agree on random sequences.
--
-- KEYS[1]  the caller's state under one policy: its theoretical arrival time
--          (TAT), integer microseconds since the epoch
-- ARGV[1]  T, the emission interval: integer microseconds per request
-- ARGV[2]  capacity: requests a full bucket admits at once (burst + 1)
-- ARGV[3]  cost: an integer >= 0; 0 only reads
-- ARGV[4]  the policy's window in ms (the retry hint of a cost over capacity)
--
-- Returns {allowed (1|0), remaining, retry_after_ms, reset_after_ms}.
--
-- Integers all the way (a double holds µs since the epoch exactly until 2255).
-- A refused call or a read writes nothing; an admitted one stores the new TAT
-- expiring at that TAT, when the bucket is full again and a missing key says
-- the same.

local time = redis.call('TIME')
local now = (tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)) * 1000

local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local tolerance = capacity * interval
local cost = tonumber(ARGV[3])
local window_ms = tonumber(ARGV[4])

local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local debt = tat - now

local function ceil_ms(us)
  return math.ceil(us / 1000)
end

local function remaining(debt_us)
  return math.max(0, math.floor((tolerance - debt_us) / interval))
end

if cost == 0 then
  return { 1, remaining(debt), 0, ceil_ms(debt) }
end

if cost <= capacity and debt + cost * interval <= tolerance then
  local next_debt = debt + cost * interval
  redis.call('SET', KEYS[1], tat + cost * interval, 'PX', ceil_ms(next_debt))
  return { 1, remaining(next_debt), 0, ceil_ms(next_debt) }
end

local retry_after
if cost > capacity then
  retry_after = math.max(ceil_ms(debt), window_ms)
else
  retry_after = ceil_ms(debt + cost * interval - tolerance)
end
return { 0, remaining(debt), retry_after, ceil_ms(debt) }
