-- One sliding-window refund, atomically, on Redis's clock: slidingWindowRefund
-- in sliding-window.ts, line for line (ADR 0014 for the algorithm, ADR 0015 for
-- the store). redis-scripts.test.ts checks the two agree on random sequences.
--
-- KEYS[1]  the caller's state under one policy, the hash redis-sliding-window.lua
--          keeps: s = start of the current fixed window, c = its count,
--          p = the previous window's count
-- ARGV[1]  W, the window in ms
-- ARGV[2]  cost to give back: an integer >= 0
--
-- Returns reset_after_ms of the state left behind (0: none).
--
-- A charge lands whole in one window: it comes off the current count when that
-- holds it, else off the previous one; never below 0. Nothing to give back
-- writes nothing; counts back to 0 delete the key.

-- `now`, `window`, `start`, `current` and `previous` come from
-- redis-sliding-window-roll.lua, which redis-store.ts puts before this script.
local cost = tonumber(ARGV[2])

local function reset_after(count, previous_count)
  if count > 0 then
    return start + 2 * window - now
  elseif previous_count > 0 then
    return start + window - now
  end
  return 0
end

local refunded_current, refunded_previous = current, previous
if current >= cost then
  refunded_current = current - cost
else
  refunded_previous = math.max(0, previous - cost)
end

if refunded_current == current and refunded_previous == previous then
  return reset_after(current, previous)
end
if refunded_current == 0 and refunded_previous == 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
local reset = reset_after(refunded_current, refunded_previous)
redis.call('HSET', KEYS[1], 's', start, 'c', refunded_current, 'p', refunded_previous)
redis.call('PEXPIRE', KEYS[1], reset)
return reset
