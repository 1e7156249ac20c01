-- The opening both sliding-window scripts share (redis-sliding-window.lua and
-- redis-sliding-window-refund.lua): Redis scripts cannot include one another,
-- so redis-store.ts puts this text before each of them.
--
-- KEYS[1]  the caller's state under one policy, a hash: s = start of the current
--          fixed window (ms since the epoch), c = its count, p = the previous
--          window's count
-- ARGV[1]  W, the window in ms
--
-- Leaves `now` (Redis's clock, ms), `window`, and the saved counts rolled
-- forward to the window holding now: `start`, `current`, `previous`.

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local window = tonumber(ARGV[1])

local start = now - (now % window)
local previous, current = 0, 0
local saved = redis.call('HMGET', KEYS[1], 's', 'c', 'p')
local saved_start = tonumber(saved[1])
if saved_start then
  if saved_start >= start then
    start, current, previous = saved_start, tonumber(saved[2]), tonumber(saved[3])
  elseif saved_start == start - window then
    previous = tonumber(saved[2])
  end
end

