-- One script for every index operation, so each runs atomically in one round trip.
-- KEYS[1] ids hash (external id -> internal id), KEYS[2] article id counter,
-- KEYS[3] cluster id counter. ARGV[1..4]: key prefixes for articles, LSH buckets,
-- links and clusters; ARGV[5] the command; the rest depends on the command.
-- Article hash fields: x external id, s signature, n shingle count, t text hash,
-- m metadata (JSON), c cluster id, a ingest time, b band hashes (8 bytes a band).
local IDS, SEQ, CSEQ = KEYS[1], KEYS[2], KEYS[3]
local P_DOC, P_BAND, P_LINK, P_CL = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local CMD = ARGV[5]

local function band_key(bands, i)
  return P_BAND .. string.char(i) .. string.sub(bands, i * 8 + 1, i * 8 + 8)
end

local function new_cluster()
  return 'c' .. redis.call('INCR', CSEQ)
end

-- candidates sharing a bucket with `bands`; inserts `iid` into the buckets when given.
local function candidates(bands, exclude, iid, max_cand)
  local seen, rows, count = {}, {}, 0
  if exclude then seen[exclude] = true end
  for i = 0, #bands / 8 - 1 do
    local key = band_key(bands, i)
    if count < max_cand then
      for _, m in ipairs(redis.call('SMEMBERS', key)) do
        if not seen[m] and count < max_cand then
          seen[m] = true
          count = count + 1
          local d = redis.call('HMGET', P_DOC .. m, 'x', 's', 'n', 't', 'm', 'c')
          if d[1] then
            rows[#rows + 1] = m
            for j = 1, 6 do rows[#rows + 1] = d[j] end
          end
        end
      end
    end
    if iid then redis.call('SADD', key, iid) end
  end
  return rows
end

-- Re-label the pieces of cluster `cid` that are no longer connected; the largest keeps `cid`.
local function split(cid)
  local members = redis.call('SMEMBERS', P_CL .. cid)
  local seen, comps = {}, {}
  for _, start in ipairs(members) do
    if not seen[start] then
      local comp, stack = {}, {start}
      seen[start] = true
      while #stack > 0 do
        local cur = table.remove(stack)
        comp[#comp + 1] = cur
        for _, nb in ipairs(redis.call('SMEMBERS', P_LINK .. cur)) do
          if not seen[nb] then seen[nb] = true; stack[#stack + 1] = nb end
        end
      end
      comps[#comps + 1] = comp
    end
  end
  if #comps < 2 then return end
  table.sort(comps, function(a, b) return #a > #b end)
  for k = 2, #comps do
    local ncid = new_cluster()
    for _, m in ipairs(comps[k]) do
      redis.call('SREM', P_CL .. cid, m)
      redis.call('SADD', P_CL .. ncid, m)
      redis.call('HSET', P_DOC .. m, 'c', ncid)
    end
  end
end

local function remove(iid)
  local doc = P_DOC .. iid
  local d = redis.call('HMGET', doc, 'x', 'b', 'c')
  if not d[1] then return 0 end
  local bands, cid = d[2], d[3]
  for i = 0, #bands / 8 - 1 do redis.call('SREM', band_key(bands, i), iid) end
  local nbrs = redis.call('SMEMBERS', P_LINK .. iid)
  for _, nb in ipairs(nbrs) do redis.call('SREM', P_LINK .. nb, iid) end
  redis.call('DEL', P_LINK .. iid, doc)
  redis.call('HDEL', IDS, d[1])
  redis.call('SREM', P_CL .. cid, iid)
  if #nbrs > 1 then split(cid) end
  return 1
end

if CMD == 'upsert' then
  -- ARGV: 6 external id, 7 signature, 8 band hashes, 9 text hash, 10 shingle count,
  -- 11 metadata, 12 max candidates, 13 ingest time
  local ext, bands, th = ARGV[6], ARGV[8], ARGV[9]
  local max_cand = tonumber(ARGV[12])
  local iid = redis.call('HGET', IDS, ext)
  if iid then
    local d = redis.call('HMGET', P_DOC .. iid, 't', 'c')
    if d[1] == th then
      return {'unchanged', iid, d[2], candidates(bands, iid, false, max_cand)}
    end
    remove(iid)
  end
  local status = iid and 'replaced' or 'created'
  iid = tostring(redis.call('INCR', SEQ))
  local cid = new_cluster()
  local rows = candidates(bands, iid, iid, max_cand)
  redis.call('HSET', P_DOC .. iid, 'x', ext, 's', ARGV[7], 'n', ARGV[10], 't', th, 'm', ARGV[11],
    'c', cid, 'a', ARGV[13], 'b', bands)
  redis.call('HSET', IDS, ext, iid)
  redis.call('SADD', P_CL .. cid, iid)
  return {status, iid, cid, rows}

elseif CMD == 'check' then
  -- ARGV: 6 external id to leave out (or ''), 7 band hashes, 8 max candidates
  local exclude = redis.call('HGET', IDS, ARGV[6])
  return candidates(ARGV[7], exclude, false, tonumber(ARGV[8]))

elseif CMD == 'get' then
  -- ARGV: 6 external id, 7 max candidates
  local iid = redis.call('HGET', IDS, ARGV[6])
  if not iid then return false end
  local d = redis.call('HMGET', P_DOC .. iid, 'x', 's', 'n', 't', 'm', 'c', 'b')
  return {iid, d[1], d[2], d[3], d[4], d[5], d[6], candidates(d[7], iid, false, tonumber(ARGV[7]))}

elseif CMD == 'delete' then
  -- ARGV: 6 external id
  local iid = redis.call('HGET', IDS, ARGV[6])
  if not iid then return 0 end
  return remove(iid)

elseif CMD == 'clusters' then
  -- ARGV: 6.. external ids; returns their cluster ids (false when unknown)
  local out = {}
  for k = 6, #ARGV do
    local iid = redis.call('HGET', IDS, ARGV[k])
    out[#out + 1] = iid and redis.call('HGET', P_DOC .. iid, 'c') or false
  end
  return out

elseif CMD == 'link' then
  -- ARGV: 6 internal id, 7.. internal ids it duplicates or contains; merges their clusters
  -- into the largest one and returns its id.
  local iid = ARGV[6]
  local cid = redis.call('HGET', P_DOC .. iid, 'c')
  if not cid then return false end
  local best, best_n = cid, redis.call('SCARD', P_CL .. cid)
  local others = {}
  for k = 7, #ARGV do
    local other = ARGV[k]
    local ocid = redis.call('HGET', P_DOC .. other, 'c')
    if ocid then
      redis.call('SADD', P_LINK .. iid, other)
      redis.call('SADD', P_LINK .. other, iid)
      if not others[ocid] and ocid ~= cid then
        others[ocid] = true
        local n = redis.call('SCARD', P_CL .. ocid)
        if n > best_n or (n == best_n and ocid < best) then best, best_n = ocid, n end
      end
    end
  end
  others[cid] = true
  for ocid in pairs(others) do
    if ocid ~= best then
      for _, m in ipairs(redis.call('SMEMBERS', P_CL .. ocid)) do
        redis.call('HSET', P_DOC .. m, 'c', best)
        redis.call('SADD', P_CL .. best, m)
      end
      redis.call('DEL', P_CL .. ocid)
    end
  end
  return best
end
return redis.error_reply('unknown command ' .. tostring(CMD))
