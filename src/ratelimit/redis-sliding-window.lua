-- One sliding-window-counter decision, atomically, on Redis's clock:
-- sliding-window.ts, line for line (ADR 0014 for the algorithm, ADR 0015 for
-- the store). redis-scripts.test.ts checks the two agree on random sequences.
--
-- KEYS[1]  the caller's state under one policy, a hash:
--          s = start of the current fixed window (ms since the epoch),
--          c = cost admitted in it, p = cost admitted in the window before
-- ARGV[1]  W, the window in ms
-- ARGV[2]  N, the most a window admits (quota + burst)
-- ARGV[3]  cost: an integer >= 0; 0 only reads
--
-- Returns {allowed (1|0), remaining, retry_after_ms, reset_after_ms}.
-- A refused call or a read writes nothing; an admitted one stores the counts
-- expiring when the estimate falls to 0.

-- `now`, `window`, `start`, `current` and `previous` come from
-- redis-sliding-window-roll.lua, which redis-store.ts puts before this script.
local limit = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
-- A clock behind the saved window counts as that window's first millisecond.
local elapsed = math.max(0, now - start)

local function fits(count)
  return previous * (window - elapsed) + count * window <= limit * window
end

local function reset_after(count)
  if count > 0 then
    return start + 2 * window - now
  elseif previous > 0 then
    return start + window - now
  end
  return 0
end

local function remaining(count)
  local room = limit * window - previous * (window - elapsed) - count * window
  return math.max(0, math.floor(room / window))
end

if cost == 0 then
  return { 1, remaining(current), 0, reset_after(current) }
end

if cost <= limit and fits(current + cost) then
  current = current + cost
  local reset = reset_after(current)
  redis.call('HSET', KEYS[1], 's', start, 'c', current, 'p', previous)
  redis.call('PEXPIRE', KEYS[1], reset)
  return { 1, remaining(current), 0, reset }
end

local retry_at
if cost > limit then
  retry_at = now + math.max(reset_after(current), window)
else
  -- Later in this window, as the previous window's weight shrinks.
  local room = limit - current - cost
  if room >= 0 and previous > 0 then
    local x = window - math.floor(room * window / previous)
    if x <= window - 1 then
      retry_at = start + math.max(x, elapsed + 1)
    end
  end
  -- Else in the next window, where this window's count is the previous one.
  if not retry_at then
    local y = 0
    if current > 0 then
      y = math.max(0, window - math.floor((limit - cost) * window / current))
    end
    retry_at = start + window + y
  end
end
return { 0, remaining(current), retry_at - now, reset_after(current) }
