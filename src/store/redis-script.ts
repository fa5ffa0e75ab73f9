// The Lua script behind `redisStore`: one atomic decision per call on one budget's hash, timed by Redis's own clock
// (`TIME`), so that clock skew between machines cannot overspend a budget. Kept apart from the client glue so that
// it can be read (and reviewed) as the one place where shared state changes.
//
// The hash `prefix{key}`: v = '1' (the format), t<i>/u<i> = tokens of bucket i and the Redis ms they refer to,
// p/po = pause end and the instant the server named, sr/sx = the server's remaining quota and its reset, g = cost
// units granted so far (the grant counter: a view corrected by it counts what was granted after its request; its
// samples are in the units' hash, below). Anything else (another type, a foreign field, a non-number) is bad data: the
// key is deleted and the budget starts afresh.
//
// The sorted set `prefix{key}:slots` holds the shared concurrency slots: member = slot id, score = Redis ms when it
// expires (its `ttlMs` after it was taken). Expired slots are dropped at every call.
//
// The sorted set `prefix{key}:clients` counts the live clients of the budget: member = client id, score = Redis ms of
// its last call. A client that has not called for its `ttlMs` is no longer counted.
//
// The hash `prefix{key}:units` holds the budget's units other than requests (tokens, …), each field prefixed by its
// unit's name and '|': t<i>/u<i> = its buckets, sr/sa = the server's count and the Redis ms it refers to, sx = the
// server's reset, sp = units back per ms (0: all at the reset, a fixed window), sl = the quota's capacity, g = the
// unit's grant counter, l1/l2 = the grant counter as it was after two earlier grants at least the reorder span apart
// (l1: before the first grant, until there are two), l2t = the Redis ms of the later one, lt = the Redis ms of the
// last grant. A grant's counter as returned (the one its answer's view is corrected by) is the latest of them at
// least the reorder span old, plus the grant (exact when nothing was granted within the span): requests granted
// shortly before it may reach the API server after it (each process's network and event loop delays them
// differently), so its answer's count may not hold them yet. Samples above the counter were taken before it started
// afresh, and are not used. The fields '|l1', '|l2', '|l2t', '|lt' (the empty name, which no unit has: unit names
// have 1 character or more) sample the requests' counter g of the budget's hash, and a grant returns its counter the
// same way, with how far it is below g. '|w0' is the requests' counter when the server's window began, as far as the
// store knows (taken at a grant while no view was live), and '|w0x' the reset of that window (0 until a view named
// it): a window's first view takes off what was granted since its counter, but no more than what was granted in the
// window less what the server counted of it. The hash is apart from the budget's, and these fields are in it, because
// a script of an earlier release, sharing the budget during an upgrade, deletes the budget's hash for a field it does
// not know. A grant keeps it at least as long as the budget's hash.
//
// The hash `prefix{key}:leases` holds the budget's rate leases: field = client id, value = 'rate burst end' (cost units
// per ms, cost units, Redis ms). While a lease lasts its holder decides alone within its rate and burst, and the
// buckets refill that much slower and hold that much less (piece by piece as leases end between two calls), so that
// the fleet's total in any span stays within the budget's rate × span + burst. A lease that has ended is dropped at
// the next call. A pause that ends later than before is published on the channel named in ARGV ('<forMs> <orderedForMs>
// <hash>').
//
// KEYS[1] the hash, KEYS[2] the slots, KEYS[3] the clients (optional), KEYS[4] the units (optional: without it, the
// requests' counter a grant returns is exact), KEYS[5] the leases (optional). ARGV: want, need, maxWaitMs,
// pauseForMs, orderedForMs, viewRemaining, viewResetInMs, viewCounter, slotMax, slotTtlMs, slotTake, giveBack,
// clientId, clientTtlMs (each '' when absent), the count of slots released and their ids, the count of buckets and
// limit, intervalMs, capacity for each, then the count of units and for each: name, want, giveBack, settle,
// viewRemaining, viewLimit, viewResetInMs, viewRefill ('c' continuous, 'w' window, '' no view), viewCounter,
// viewAgeMs, the count of its buckets and limit, intervalMs, capacity for each; then the lease: rate ('' to leave it
// as it is, 0 to hand it back), least rate of a new one, burst, ttlMs, most share of the rate every lease together
// holds; then the pause channel ('' to publish nothing), then the reorder span in ms ('' for 50), then the view's span
// (how far its counter is below the exact one, '' for 0) and the quota's limit ('' when not known).
// Returns { granted (string, may be fractional), waitMs (integer), reason ('' | 'rate' | 'paused' | 'server'),
// pausedForMs, orderedForMs (integers), reset (1 when bad data was thrown away), counter (string: the requests' grant
// counter g, for a grant the one its answer's view is corrected by, see l1/l2 above), clients (integer, the live
// clients counted, 0 when not counted), the unit that held the grant ('' none), the caller's lease: rate, burst,
// tokens moved into it by this call, negative for a debt (strings, '0' without a lease), ms until it ends (integer),
// how far the requests' counter returned is below g (string, '0' when exact), then each unit's grant counter (string)
// in the order asked: for a unit granted, the counter its answer's view is corrected by (see l1/l2 above) }.
import { TWO_SOURCES_RESET_SPREAD_MS } from '../headers/reset-rounding.js';

export const SCRIPT = `
local key = KEYS[1]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

local function num(v)
  local n = tonumber(v)
  if n == nil or n ~= n or n == math.huge or n == -math.huge then return nil end
  return n
end

local want = num(ARGV[1]) or 0
local need = num(ARGV[2]) or want
local maxWait = num(ARGV[3]) or 0
local giveBack = num(ARGV[12]) or 0
local nrelease = num(ARGV[15]) or 0
local first = 16 + nrelease
local nlimits = num(ARGV[first]) or 0
first = first + 1
local ufirst = first + 3 * nlimits
local nunits = num(ARGV[ufirst]) or 0
-- The lease's arguments and the pause channel follow the units.
local lfirst = ufirst + 1
for j = 1, nunits do lfirst = lfirst + 11 + 3 * (num(ARGV[lfirst + 10]) or 0) end
local channel = ARGV[lfirst + 5] or ''
local reorder = num(ARGV[lfirst + 6]) or 50

local h = {}
local reset = 0
local kind = redis.call('TYPE', key)['ok']
if kind == 'hash' then
  local raw = redis.call('HGETALL', key)
  for i = 1, #raw, 2 do h[raw[i]] = raw[i + 1] end
  local ok = h['v'] == '1'
  for f, v in pairs(h) do
    if f ~= 'v' then
      local known = f == 'p' or f == 'po' or f == 'sr' or f == 'sx' or f == 'g' or string.match(f, '^[tu]%d+$') ~= nil
      if not known or num(v) == nil then ok = false end
    end
  end
  if not ok then h = {}; reset = 1; redis.call('DEL', key) end
elseif kind ~= 'none' then
  h = {}; reset = 1; redis.call('DEL', key)
end

-- The pause: the latest end wins.
local p = num(h['p']) or 0
local po = num(h['po']) or 0
local before = p
if before <= now then before = 0 end
local pf = num(ARGV[4])
if pf ~= nil and pf > 0 then
  if now + pf > p then p = now + pf end
  local of = num(ARGV[5]) or pf
  if now + of > po then po = now + of end
end
if p <= now then p = 0; po = 0 end
-- A pause that ends later than before is pushed to the clients that watch the budget: those holding a lease make no
-- call for seconds, and would not hear of it otherwise.
if p > before and channel ~= '' then
  redis.call('PUBLISH', channel, math.ceil(p - now) .. ' ' .. math.ceil(math.max(po - now, 0)) .. ' ' .. key)
end

local units = {}
local ukey = KEYS[4]
-- The units' hash, read when a unit is asked, requests may be granted or the server's view comes (it holds the
-- requests' samples and the counter at the start of the server's window too).
local uh = {}
if ukey ~= nil and (nunits > 0 or want > 0 or ARGV[6] ~= '') then
  local ukind = redis.call('TYPE', ukey)['ok']
  if ukind == 'hash' then
    local raw = redis.call('HGETALL', ukey)
    local ok = true
    for i = 1, #raw, 2 do
      if num(raw[i + 1]) == nil then ok = false end
      uh[raw[i]] = raw[i + 1]
    end
    if not ok then uh = {}; reset = 1; redis.call('DEL', ukey) end
  elseif ukind ~= 'none' then
    reset = 1; redis.call('DEL', ukey)
  end
end

-- The server's view: a later reset starts a new window, one within the senders' rounding is the same window (the
-- lower count and the earlier reset win), an earlier one describes a window gone by.
local sr = num(h['sr'])
local sx = num(h['sx'])
if sx == nil or sr == nil or now >= sx then sr = nil; sx = nil end
local g = num(h['g']) or 0
local vr = num(ARGV[6])
local vx = num(ARGV[7])
local vg = num(ARGV[8])
-- The view's span (how far its counter is below the exact one: what was granted shortly before its request) and the
-- quota's limit, when known.
local vs = math.max(0, num(ARGV[lfirst + 7]) or 0)
local vl = num(ARGV[lfirst + 8])
-- The requests' counter when the server's window began, as far as the store knows it (w0, at a grant while no view
-- of the server's was live), and that window's reset once a view named it (w0x; 0 until then).
local w0 = num(uh['|w0'])
local w0x = num(uh['|w0x'])
if w0 == nil or w0x == nil or w0 > g then w0 = nil; w0x = nil end
local wdirty = false
if vr ~= nil and vx ~= nil and vx > 0 then
  vx = now + vx
  if sx == nil or vx > sx + ${TWO_SOURCES_RESET_SPREAD_MS} then
    -- A new window: what was granted after the request this view answers is not in its count yet (some of it may
    -- be, when it overtook that request: the count errs low). Within the window, grants keep the count.
    if vg ~= nil and g > vg then
      -- What may not be counted yet: at most what was granted since the view's counter (after its request, and
      -- shortly before it); at least what was granted after its request. Between the two: what was granted in this
      -- window less what the server counted of it (limit less remaining), when both are known: what the server
      -- counted beyond the requests granted before this one (another client's, or a late one of the last window)
      -- leaves the least.
      local most = g - vg
      local least = math.max(0, most - vs)
      if vl ~= nil and w0 ~= nil and (w0x == 0 or math.abs(w0x - vx) <= ${TWO_SOURCES_RESET_SPREAD_MS}) then
        most = math.min(most, math.max(least, (g - w0) - (vl - vr)))
      end
      vr = vr - most
    end
    -- The window's start counter belongs to this window from now on, or to none when it began in another.
    if w0 ~= nil then
      if w0x == 0 then w0x = vx; wdirty = true
      elseif math.abs(w0x - vx) > ${TWO_SOURCES_RESET_SPREAD_MS} then w0 = nil; w0x = nil; wdirty = true end
    end
    sr = vr; sx = vx
  elseif vx >= sx - ${TWO_SOURCES_RESET_SPREAD_MS} then
    if vr < sr then sr = vr end
    if vx < sx then sx = vx end
  end
end

-- Shared concurrency: expired slots go, released slots go.
local smax = num(ARGV[9])
local skey = KEYS[2]
local skind = redis.call('TYPE', skey)['ok']
if skind ~= 'zset' and skind ~= 'none' then redis.call('DEL', skey); reset = 1 end
if skind == 'zset' then
  redis.call('ZREMRANGEBYSCORE', skey, '-inf', now)
  for i = 16, 15 + nrelease do redis.call('ZREM', skey, ARGV[i]) end
end

-- The live clients: this one counted now, those silent for longer than their ttl no longer.
local clients = 0
local ckey = KEYS[3]
if ckey ~= nil then
  local ckind = redis.call('TYPE', ckey)['ok']
  if ckind ~= 'zset' and ckind ~= 'none' then redis.call('DEL', ckey); reset = 1 end
  local cttl = num(ARGV[14]) or 60000
  if ARGV[13] ~= '' then
    redis.call('ZADD', ckey, now, ARGV[13])
    redis.call('PEXPIRE', ckey, math.ceil(cttl) + 1000)
  end
  redis.call('ZREMRANGEBYSCORE', ckey, '-inf', now - cttl)
  clients = redis.call('ZCARD', ckey)
end

-- The rate leases, earliest end first: each holds a part of the rate and of the burst while it lasts.
local lkey = KEYS[5]
local leases = {}
if lkey ~= nil then
  local lkind = redis.call('TYPE', lkey)['ok']
  if lkind == 'hash' then
    local raw = redis.call('HGETALL', lkey)
    local bad = {}
    for i = 1, #raw, 2 do
      local r, b, e = string.match(raw[i + 1], '^(%S+) (%S+) (%S+)$')
      r = num(r); b = num(b); e = num(e)
      if r == nil or b == nil or e == nil or r < 0 or b < 0 then
        table.insert(bad, raw[i])
      else
        table.insert(leases, { id = raw[i], r = r, b = b, e = e })
      end
    end
    if #bad > 0 then reset = 1; redis.call('HDEL', lkey, unpack(bad)) end
  elseif lkind ~= 'none' then
    reset = 1; redis.call('DEL', lkey)
  end
end
table.sort(leases, function(a, b) return a.e < b.e end)

-- A bucket brought from u to now: it refills at its rate less the leases that held a part of it, piece by piece as
-- they ended, and holds its capacity less their bursts.
local function refill(t, u, rate, capacity)
  local held, heldBurst = 0, 0
  for _, l in ipairs(leases) do
    if l.e > u then held = held + l.r; heldBurst = heldBurst + l.b end
  end
  local at = u
  for _, l in ipairs(leases) do
    if l.e > u and l.e < now then
      t = math.min(capacity - heldBurst, t + (l.e - at) * math.max(0, rate - held))
      at = l.e; held = held - l.r; heldBurst = heldBurst - l.b
    end
  end
  if now > at then t = t + (now - at) * math.max(0, rate - held) end
  return math.min(capacity - heldBurst, t)
end

-- The buckets, refilled to now.
local tokens = {}
local ttl = 1000
for i = 1, nlimits do
  local limit = num(ARGV[first + 3 * i - 3]) or 1
  local interval = num(ARGV[first + 3 * i - 2]) or 1000
  local capacity = num(ARGV[first + 3 * i - 1]) or limit
  local t = num(h['t' .. i])
  local u = num(h['u' .. i])
  if t == nil or u == nil then t = capacity; u = now end
  tokens[i] = { t = refill(t, u, limit / interval, capacity), limit = limit, interval = interval, capacity = capacity }
end

-- Leases that have ended are gone (a crashed process frees its part by itself).
local ended = {}
local live = {}
for _, l in ipairs(leases) do
  if l.e > now then table.insert(live, l) else table.insert(ended, l.id) end
end
leases = live
if #ended > 0 then redis.call('HDEL', lkey, unpack(ended)) end
local leasedBurst = 0
for _, l in ipairs(leases) do leasedBurst = leasedBurst + l.b end
-- Units of an earlier grant that went unused come back (never above the capacity the leases leave).
if giveBack > 0 then
  for i = 1, nlimits do
    local b = tokens[i]
    b.t = math.min(b.capacity - leasedBurst, b.t + giveBack)
  end
end
if giveBack > 0 and sr ~= nil then sr = sr + giveBack end

-- The units other than requests: each one's buckets and the server's count of it, brought to now.
local function level(s, at)
  if s.sp > 0 then return math.min(s.sl, s.sr + math.max(0, at - s.sa) * s.sp) end
  if at >= s.sx then return s.sl end
  return s.sr
end
-- A grant of amount on a grant counter c (g, its samples l1, l2, l2t and its last grant's time lt): returns the
-- counter its answer's view is to be corrected by, the counter as it was at least the reorder span ago plus the
-- grant: the counter before this grant when nothing was granted within the span, else the latest sample that old,
-- else the one before it (taken at least the span before the latest), else the counter before this grant (nothing
-- was sampled before it). Samples above the counter were taken before it started afresh: none then.
local function grant(c, amount)
  local sampled = c.l1 ~= nil and c.l2 ~= nil and c.l2t ~= nil and c.l1 <= c.l2 and c.l2 <= c.g
  -- Nothing granted within the span (lt: the Redis ms of the last grant): the counter is as it was then.
  local quiet = c.lt ~= nil and c.lt <= now and now - c.lt >= reorder
  local safe = c.g
  if sampled and not quiet then
    if now - c.l2t >= reorder then safe = c.l2 else safe = c.l1 end
  end
  local counted = safe + amount
  local before = c.g
  c.g = c.g + amount
  if not sampled or quiet then c.l1 = before; c.l2 = c.g; c.l2t = now
  elseif now - c.l2t >= reorder then c.l1 = c.l2; c.l2 = c.g; c.l2t = now end
  c.lt = now
  return counted
end
if ukey ~= nil and nunits > 0 then
  local at = ufirst + 1
  for j = 1, nunits do
    local f = ARGV[at] .. '|'
    local u = { name = ARGV[at], f = f, want = math.max(0, num(ARGV[at + 1]) or 0), buckets = {} }
    u.g = num(uh[f .. 'g']) or 0
    u.l1 = num(uh[f .. 'l1']); u.l2 = num(uh[f .. 'l2']); u.l2t = num(uh[f .. 'l2t']); u.lt = num(uh[f .. 'lt'])
    local back = math.max(0, num(ARGV[at + 2]) or 0)
    local settle = num(ARGV[at + 3]) or 0
    local nl = num(ARGV[at + 10]) or 0
    for i = 1, nl do
      local b = at + 11 + 3 * (i - 1)
      local limit = num(ARGV[b]) or 1
      local interval = num(ARGV[b + 1]) or 1000
      local capacity = num(ARGV[b + 2]) or limit
      local t = num(uh[f .. 't' .. i])
      local tu = num(uh[f .. 'u' .. i])
      if t == nil or tu == nil then t = capacity; tu = now end
      if now > tu then t = t + (now - tu) * limit / interval end
      t = math.min(capacity, t + back - settle)
      u.buckets[i] = { t = t, limit = limit, interval = interval, capacity = capacity }
    end
    local s = { sr = num(uh[f .. 'sr']), sa = num(uh[f .. 'sa']), sx = num(uh[f .. 'sx']), sp = num(uh[f .. 'sp']) }
    s.sl = num(uh[f .. 'sl'])
    if s.sr ~= nil and s.sa ~= nil and s.sx ~= nil and s.sp ~= nil and s.sl ~= nil then u.server = s end
    -- What the server said: a continuous quota's latest count holds; a window's as the budget's own view above.
    local vr = num(ARGV[at + 4])
    local vkind = ARGV[at + 7]
    if vr ~= nil and (vkind == 'c' or vkind == 'w') then
      local cap = math.max(num(ARGV[at + 5]) or vr, vr, 1)
      local vx = num(ARGV[at + 6]) or 0
      local rx = now
      if vx > 0 then rx = now + vx end
      local sp = 0
      if vkind == 'c' then
        -- The rate the answer implies (what was missing, over the span from the answer to the reset), and what came
        -- back at that rate since the answer, before what was granted after its request is taken off (the order that
        -- never counts more than the server holds).
        local age = math.max(0, num(ARGV[at + 9]) or 0)
        if cap > vr and rx > now then sp = (cap - vr) / (rx - now + age) else sp = cap / 1000 end
        vr = math.min(cap, vr + sp * age)
      end
      local vg = num(ARGV[at + 8])
      if vg ~= nil and u.g > vg then vr = vr - (u.g - vg) end
      local known = u.server
      if known == nil or vkind == 'c' or known.sp > 0 or rx > known.sx + ${TWO_SOURCES_RESET_SPREAD_MS} then
        u.server = { sr = vr, sa = now, sx = rx, sp = sp, sl = cap }
      elseif rx >= known.sx - ${TWO_SOURCES_RESET_SPREAD_MS} then
        if vr < level(known, now) then known.sr = vr; known.sa = now end
        if rx < known.sx then known.sx = rx end
      end
    end
    if back > 0 and u.server ~= nil then
      u.server.sr = math.min(u.server.sl, level(u.server, now) + back); u.server.sa = now
    end
    units[j] = u
    at = at + 11 + 3 * nl
  end
end
-- A unit's quota that the server says is spent holds the grant, as the server's count of requests does.
local unitWait = 0
local unitHeld = ''
for _, u in ipairs(units) do
  local s = u.server
  if u.want > 0 and s ~= nil then
    local needed = math.min(u.want, s.sl)
    local lv = level(s, now)
    if lv < needed then
      local w = 1
      if s.sp > 0 then w = (needed - lv) / s.sp elseif s.sx > now then w = s.sx - now end
      if w > unitWait then unitWait = w; unitHeld = u.name end
    end
  end
end

-- This client's lease: asked, renewed (its rate lowered at once, raised only within the share the leases may hold),
-- or handed back. A new lease's bucket starts with what the shared one can spare of its burst, less what it must wait
-- for tokens owed (a negative count: the client's bucket is in debt as long).
local cid = ARGV[13] or ''
local mine = nil
for _, l in ipairs(leases) do
  if l.id == cid then mine = l end
end
local moved = 0
local lrate = num(ARGV[lfirst])
if lkey ~= nil and lrate ~= nil and cid ~= '' then
  if lrate <= 0 then
    if mine ~= nil then
      local rest = {}
      for _, l in ipairs(leases) do
        if l ~= mine then table.insert(rest, l) end
      end
      leases = rest; mine = nil
      redis.call('HDEL', lkey, cid)
    end
  elseif nlimits > 0 then
    local lmin = num(ARGV[lfirst + 1]) or lrate
    local lburst = num(ARGV[lfirst + 2]) or 1
    local lttl = num(ARGV[lfirst + 3]) or 0
    local lshare = math.min(1, num(ARGV[lfirst + 4]) or 0)
    local othersRate, othersBurst = 0, 0
    for _, l in ipairs(leases) do
      if l ~= mine then othersRate = othersRate + l.r; othersBurst = othersBurst + l.b end
    end
    -- Tokens owed (reservations counting on the refill at today's rate) are repaid at that rate first: how long that
    -- takes is how long a lease new or raised now must wait before it sends on its added rate, as if it began then.
    local slowest, least, lag = math.huge, math.huge, 0
    local allRate = othersRate
    if mine ~= nil then allRate = allRate + mine.r end
    for i = 1, nlimits do
      local b = tokens[i]
      slowest = math.min(slowest, b.limit / b.interval)
      least = math.min(least, b.capacity)
      if b.t < 0 then lag = math.max(lag, -b.t / math.max(b.limit / b.interval - allRate, 1e-9)) end
    end
    local rate = math.min(lrate, lshare * slowest - othersRate)
    if mine ~= nil then
      local keep = math.min(lrate, mine.r)
      if rate < keep or lag * 2 > lttl then rate = keep end
      if rate > mine.r and lag > 0 then moved = -(rate - mine.r) * lag end
      mine.r = rate
      if lttl > 0 then mine.e = now + lttl end
    elseif lttl > 0 and lag * 2 <= lttl and rate >= lmin and rate > lrate * 1e-6 and othersBurst + lburst <= least - 1
      and sr == nil and smax == nil then
      mine = { id = cid, r = rate, b = lburst, e = now + lttl }
      table.insert(leases, mine)
      moved = lburst
      for i = 1, nlimits do moved = math.min(moved, math.max(0, tokens[i].t)) end
      for i = 1, nlimits do tokens[i].t = tokens[i].t - moved end
      if lag > 0 then moved = moved - rate * lag end
    end
    if mine ~= nil then redis.call('HSET', lkey, cid, mine.r .. ' ' .. mine.b .. ' ' .. mine.e) end
  end
end
-- What the leases leave of each bucket: its rate (never quite 0) and its capacity (never below a cost unit).
local leasedRate = 0
leasedBurst = 0
local lastEnd = now
for _, l in ipairs(leases) do
  leasedRate = leasedRate + l.r; leasedBurst = leasedBurst + l.b
  if l.e > lastEnd then lastEnd = l.e end
end
if lkey ~= nil and #leases > 0 then redis.call('PEXPIRE', lkey, math.ceil(lastEnd - now) + 1000) end
for i = 1, nlimits do
  local b = tokens[i]
  b.rate = math.max(b.limit / b.interval - leasedRate, 1e-9)
  b.cap = math.max(b.capacity - leasedBurst, math.min(1, b.capacity))
end

local granted = 0
local wait = 0
local reason = ''
local held = ''
-- The requests' grant counter as returned, and its samples after a grant.
local counter = nil
local span = 0
local requests = nil
if want > 0 then
  local amount = want
  if sr ~= nil and sr < amount then amount = math.max(sr, need) end
  if p > now then
    wait = p - now; reason = 'paused'
  elseif sr ~= nil and sr < need then
    wait = sx - now; reason = 'server'
  elseif smax ~= nil and redis.call('ZCARD', skey) >= smax then
    -- Every slot is held: the first slot to expire frees one, unless a request ends sooner (the caller asks again).
    local earliest = redis.call('ZRANGE', skey, 0, 0, 'WITHSCORES')
    wait = math.max(1, (num(earliest[2]) or now) - now); reason = 'concurrency'
  elseif unitWait > 0 then
    wait = unitWait; reason = 'server'; held = unitHeld
  else
    -- When every bucket holds min(amount, capacity): a cost above the capacity goes when the bucket is full.
    local ready = now
    for i = 1, nlimits do
      local b = tokens[i]
      local target = math.min(amount, b.cap)
      if b.t < target then
        local at = now + (target - b.t) / b.rate
        if at > ready then ready = at end
      end
    end
    for _, u in ipairs(units) do
      for _, b in ipairs(u.buckets) do
        local target = math.min(u.want, b.capacity)
        if u.want > 0 and b.t < target then
          local at = now + (target - b.t) * b.interval / b.limit
          if at > ready then ready = at; held = u.name end
        end
      end
    end
    wait = ready - now
    if wait <= maxWait then
      granted = amount
      for i = 1, nlimits do tokens[i].t = tokens[i].t - amount end
      for _, u in ipairs(units) do
        if u.want > 0 then
          for _, b in ipairs(u.buckets) do b.t = b.t - u.want end
          local s = u.server
          if s ~= nil then
            if s.sp == 0 and now >= s.sx then s.sx = now + 1000 end
            s.sr = level(s, now) - u.want; s.sa = now
          end
          u.c = grant(u, u.want)
        end
      end
      if sr ~= nil then sr = sr - amount end
      -- The requests' counter as the units' (its samples under the empty name in the units' hash, see the header).
      if ukey ~= nil then
        requests = { g = g, l1 = num(uh['|l1']), l2 = num(uh['|l2']), l2t = num(uh['|l2t']), lt = num(uh['|lt']) }
        counter = grant(requests, amount)
        span = requests.g - counter
        -- No view of the server's live: this grant may be the first of a window, which began no later than the
        -- counter as it was the reorder span ago; unless a start counter was taken since the last window's view
        -- ended, and no view has named its window yet.
        if sr == nil and (w0 == nil or w0x > 0) then
          w0 = counter - amount; w0x = 0; wdirty = true
        end
        g = requests.g
      else
        g = g + amount
        counter = g
      end
      local take = ARGV[11]
      if smax ~= nil and take ~= '' then
        local ends = now + wait + (num(ARGV[10]) or 60000)
        redis.call('ZADD', skey, ends, take)
        if redis.call('PTTL', skey) < ends - now then redis.call('PEXPIRE', skey, math.ceil(ends - now) + 1000) end
      end
    end
    if wait > 0 then reason = 'rate' end
  end
end

-- Write back; the key lives until its state is what a new key would have anyway.
local fields = { 'v', '1', 'g', tostring(g) }
for i = 1, nlimits do
  local b = tokens[i]
  table.insert(fields, 't' .. i); table.insert(fields, tostring(b.t))
  table.insert(fields, 'u' .. i); table.insert(fields, tostring(now))
  local full = (b.cap - b.t) / b.rate
  if full > ttl then ttl = full end
end
local stale = {}
if p > 0 then
  table.insert(fields, 'p'); table.insert(fields, tostring(p))
  table.insert(fields, 'po'); table.insert(fields, tostring(po))
  if p - now > ttl then ttl = p - now end
else
  table.insert(stale, 'p'); table.insert(stale, 'po')
end
if sr ~= nil then
  table.insert(fields, 'sr'); table.insert(fields, tostring(sr))
  table.insert(fields, 'sx'); table.insert(fields, tostring(sx))
  if sx - now > ttl then ttl = sx - now end
else
  table.insert(stale, 'sr'); table.insert(stale, 'sx')
end
for i = nlimits + 1, nlimits + 8 do
  if h['t' .. i] ~= nil then table.insert(stale, 't' .. i); table.insert(stale, 'u' .. i) end
end
if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
redis.call('HSET', key, unpack(fields))
redis.call('PEXPIRE', key, math.ceil(ttl) + 1000)

-- The units' state, each field under its unit's name; the hash lives as long as its longest-lived field needs, and
-- at least as long as the budget's hash (the requests' samples are taken of its counter).
if ukey ~= nil and (#units > 0 or requests ~= nil or wdirty) then
  local ufields = {}
  -- (Its life left, less the margin added to it: each call would add that much more.)
  local uttl = redis.call('PTTL', ukey) - 1000
  if requests ~= nil then
    for _, k in ipairs({ 'l1', 'l2', 'l2t', 'lt' }) do
      table.insert(ufields, '|' .. k); table.insert(ufields, tostring(requests[k]))
    end
  end
  -- The window's start counter, written when it changed.
  if wdirty and w0 ~= nil then
    table.insert(ufields, '|w0'); table.insert(ufields, tostring(w0))
    table.insert(ufields, '|w0x'); table.insert(ufields, tostring(w0x))
  elseif wdirty then
    redis.call('HDEL', ukey, '|w0', '|w0x')
  end
  for _, u in ipairs(units) do
    local f = u.f
    table.insert(ufields, f .. 'g'); table.insert(ufields, tostring(u.g))
    if u.l2t ~= nil then
      for _, k in ipairs({ 'l1', 'l2', 'l2t', 'lt' }) do
        if u[k] ~= nil then table.insert(ufields, f .. k); table.insert(ufields, tostring(u[k])) end
      end
    end
    for i, b in ipairs(u.buckets) do
      table.insert(ufields, f .. 't' .. i); table.insert(ufields, tostring(b.t))
      table.insert(ufields, f .. 'u' .. i); table.insert(ufields, tostring(now))
      local full = (b.capacity - b.t) * b.interval / b.limit
      if full > uttl then uttl = full end
    end
    local s = u.server
    if s ~= nil then
      for _, k in ipairs({ 'sr', 'sa', 'sx', 'sp', 'sl' }) do
        table.insert(ufields, f .. k); table.insert(ufields, tostring(s[k]))
      end
      -- A continuous quota's count is kept for a minute past its reset: whole, it still bounds a burst.
      local keep = s.sx - now
      if s.sp > 0 then keep = keep + 60000 end
      if keep > uttl then uttl = keep end
    end
  end
  if #ufields > 0 then
    redis.call('HSET', ukey, unpack(ufields))
    redis.call('PEXPIRE', ukey, math.ceil(math.max(uttl, ttl)) + 1000)
  end
end

local pausedFor = 0
local orderedFor = 0
if p > now then pausedFor = math.ceil(p - now); orderedFor = math.ceil(math.max(po - now, 0)) end
local counted = tostring(counter or g)
local reply = { tostring(granted), math.ceil(wait), reason, pausedFor, orderedFor, reset, counted, clients, held }
if mine ~= nil then
  table.insert(reply, tostring(mine.r)); table.insert(reply, tostring(mine.b))
  table.insert(reply, tostring(moved)); table.insert(reply, math.floor(mine.e - now))
else
  table.insert(reply, '0'); table.insert(reply, '0'); table.insert(reply, '0'); table.insert(reply, 0)
end
table.insert(reply, tostring(span))
for _, u in ipairs(units) do table.insert(reply, tostring(u.c or u.g)) end
return reply
`;
