-- GCRA for one rate-limit key, run atomically by Redis. Mirrors `resilience_ratelimit::gcra` and
-- `InMemoryStore` line for line (see src/script.rs for the contract).
--
-- KEYS[1]  the key's hash: ep (epoch, s), tat, pu (paused until), le/lb/lu (learned quota:
--          emission ns, burst, until), all integers in nanoseconds since `ep`
-- ARGV[1]  operation: acquire | confirm | release | observe
-- ARGV[2]  configured emission interval (ns), ARGV[3] configured burst
-- ARGV[4]  clock override: epoch seconds ("" = use the server's TIME), ARGV[5] ns since it
-- ARGV[6..] operation arguments
--
-- Lua numbers are doubles: every value stays an exact integer below 2^53 because time is
-- counted from an epoch that moves every 30 days (values written under an older epoch are
-- shifted when read) and callers clamp waits and windows to 30 days.

local PERIOD = 2592000
local NS = 1000000000

local e = tonumber(ARGV[2])
local b = tonumber(ARGV[3])
local ep, now
if ARGV[4] ~= '' then
  ep = tonumber(ARGV[4])
  now = tonumber(ARGV[5])
else
  local t = redis.call('TIME')
  local sec = tonumber(t[1])
  ep = sec - (sec % PERIOD)
  now = (sec - ep) * NS + tonumber(t[2]) * 1000
end

local s = redis.call('HMGET', KEYS[1], 'ep', 'tat', 'pu', 'le', 'lb', 'lu')
local exists = s[2] ~= false
local tat = tonumber(s[2]) or 0
local pu = tonumber(s[3]) or 0
local le = tonumber(s[4]) or 0
local lb = tonumber(s[5]) or 0
local lu = tonumber(s[6]) or 0
local kep = tonumber(s[1])
if kep and kep ~= ep then
  local shift = (kep - ep) * NS
  tat = math.max(0, tat + shift)
  pu = math.max(0, pu + shift)
  lu = math.max(0, lu + shift)
end

local function tol(x, y)
  return x * (y - 1)
end

-- floor(a / d) for integers below 2^53, corrected for the rounding of the float division
local function floordiv(a, d)
  local q = math.floor(a / d)
  if q * d > a then
    q = q - 1
  elseif (q + 1) * d <= a then
    q = q + 1
  end
  return q
end

-- Quota::strictest
local function strictest(e1, b1, e2, b2)
  local em = math.max(e1, e2)
  local t = math.min(tol(e1, b1), tol(e2, b2))
  local bb = math.min(b1, b2, floordiv(t, em) + 1)
  return em, math.max(bb, 1)
end

-- KeyState::effective: an expired learned quota is dropped
local function effective()
  if le > 0 and lu <= now then
    le = 0
    lb = 0
    lu = 0
  end
  if le > 0 then
    return strictest(e, b, le, lb)
  end
  return e, b
end

-- gcra::earliest + gcra::acquire
local function acquire(ee, bb, max_wait)
  local tau = tol(ee, bb)
  local base = math.max(tat, now)
  local allow = math.max(base - tau, 0)
  local after
  if pu > now and pu > allow then
    after = math.max(base, pu + tau) + ee
    allow = pu
  else
    after = base + ee
  end
  local wait = math.max(allow - now, 0)
  if wait > max_wait then
    return {0, wait, 0, ee, bb}
  end
  tat = after
  return {1, wait, after, ee, bb}
end

-- gcra::release
local function release(tat_after, emission)
  if tat == tat_after then
    tat = math.max(tat_after - emission, 0)
    return 1
  end
  return 0
end

-- the key lives until it is idle again (bucket full, no pause, no learned quota), plus 1 s
local function save()
  local last = math.max(tat, pu, lu)
  local ttl = math.ceil((last - now) / 1000000) + 1000
  if ttl < 1000 then
    ttl = 1000
  end
  redis.call('HSET', KEYS[1], 'ep', ep, 'tat', tat, 'pu', pu, 'le', le, 'lb', lb, 'lu', lu)
  redis.call('PEXPIRE', KEYS[1], ttl)
end

local op = ARGV[1]
if op == 'acquire' then
  -- ARGV[7]: a floor for this permit only (ns from now), as if the key were paused that long
  local floor = tonumber(ARGV[7]) or 0
  local saved_pu = pu
  if floor > 0 then
    pu = math.max(pu, now + floor)
  end
  local ee, bb = effective()
  local r = acquire(ee, bb, tonumber(ARGV[6]))
  pu = saved_pu
  save()
  return r
elseif op == 'confirm' then
  local tat_after = tonumber(ARGV[6])
  local emission = tonumber(ARGV[7])
  if pu <= now then
    -- not paused since the reservation: it stands
    return {2, 0, tat_after, emission, 0}
  end
  release(tat_after, emission)
  local ee, bb = effective()
  local r = acquire(ee, bb, tonumber(ARGV[8]))
  save()
  return r
elseif op == 'release' then
  if not exists then
    return {0}
  end
  local refunded = release(tonumber(ARGV[6]), tonumber(ARGV[7]))
  if refunded == 1 then
    save()
  end
  return {refunded}
elseif op == 'observe' then
  local pause = tonumber(ARGV[6])
  local learn = ARGV[7]
  local remaining = tonumber(ARGV[11])
  local before = pu
  if pause >= 0 then
    pu = math.max(pu, now + pause)
  end
  if learn == 'set' then
    le = tonumber(ARGV[8])
    lb = tonumber(ARGV[9])
    lu = math.max(now, pu) + tonumber(ARGV[10])
  elseif learn == 'clear' then
    le = 0
    lb = 0
    lu = 0
  end
  local ee, bb = effective()
  if remaining > 0 then
    tat = math.max(tat, math.max(now + tol(ee, bb) - ee * (remaining - 1), 0))
  end
  save()
  local paused_for = -1
  if pu > math.max(before, now) then
    paused_for = pu - now
  end
  return {ee, bb, paused_for}
end
return redis.error_reply('unknown operation')
