-- Every index operation is one call of this script, so each runs atomically in one
-- round trip. KEYS[1] is the ids hash (external id -> internal id), "{prefix}:ids"; every
-- other key shares its "{prefix}:" part, so all of them live in one Redis Cluster slot
-- (names as in constants.key_layout). ARGV[1] is the command; the rest depends on it.
-- Article hash fields: x external id, s signature, n shingle count, t text hash,
-- m metadata (JSON), c cluster id, i ingest time, b band hashes (2 bytes each),
-- a anchors (8 bytes each), f figures, e names and v vocabulary (4-byte hashes),
-- z cleaned text (zlib).
local IDS = KEYS[1]
local BASE = string.sub(IDS, 1, #IDS - 3)
local SEQ, CSEQ, RECENT, AGES, PENDING = BASE .. 'seq', BASE .. 'cseq', BASE .. 'r', BASE .. 't', BASE .. 'p'
local P_DOC, P_BAND, P_ANCHOR = BASE .. 'd:', BASE .. 'b:', BASE .. 'a:'
local P_LINK, P_CL, P_SITE = BASE .. 'l:', BASE .. 'c:', BASE .. 's:'
local CMD = ARGV[1]
local ROW = {'x', 's', 'n', 't', 'm', 'c', 'f', 'e', 'v'}

local function band_key(bands, i)
  return P_BAND .. string.char(i) .. string.sub(bands, i * 8 + 1, i * 8 + 8)
end

local function anchor_key(anchors, i)
  return P_ANCHOR .. string.sub(anchors, i * 8 + 1, i * 8 + 8)
end

local function touch(cid, now)
  redis.call('ZADD', RECENT, now, cid)
end

local function new_cluster(now)
  local cid = 'c' .. redis.call('INCR', CSEQ)
  touch(cid, now)
  return cid
end

-- Candidates: articles sharing an LSH bucket, or at least `min_shared` anchors (anchors
-- held by more than `max_post` articles are boilerplate and skipped). With `iid` the
-- article is added to its buckets and (non-boilerplate) anchors on the way; ids in the
-- set `skip` are never returned. Returns
-- {anchors searched, rows}; a row is the ROW fields plus the number of anchors shared
-- with the query and the candidate's own anchor count.
local function candidates(bands, anchors, skip, iid, max_cand, min_shared, max_post)
  local found, order = {}, {}
  for m in pairs(skip) do found[m] = true end
  for i = 0, #bands / 8 - 1 do
    local key = band_key(bands, i)
    for _, m in ipairs(redis.call('SMEMBERS', key)) do
      if not found[m] then found[m] = true; order[#order + 1] = m end
    end
    if iid then redis.call('SADD', key, iid) end
  end
  local n_anchors = #anchors / 8
  local need = math.min(min_shared, n_anchors)
  local shared, searched = {}, 0
  for i = 0, n_anchors - 1 do
    local key = anchor_key(anchors, i)
    local members = redis.call('SMEMBERS', key)
    local size = #members
    if size <= max_post then
      searched = searched + 1
      for _, m in ipairs(members) do
        local k = (shared[m] or 0) + 1
        shared[m] = k
        if k == need and not found[m] then found[m] = true; order[#order + 1] = m end
      end
    end
    if iid and size < max_post then redis.call('SADD', key, iid) end
  end
  local rows = {}
  for k = 1, math.min(#order, max_cand) do
    local m = order[k]
    local d = redis.call('HMGET', P_DOC .. m, unpack(ROW))
    if d[1] then
      rows[#rows + 1] = m
      for j = 1, #ROW do rows[#rows + 1] = d[j] end
      rows[#rows + 1] = shared[m] or 0
      rows[#rows + 1] = redis.call('HSTRLEN', P_DOC .. m, 'a') / 8
    end
  end
  return {searched, rows}
end

-- Re-label the pieces of cluster `cid` that are no longer connected; the largest keeps `cid`.
local function split(cid, now)
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
    local ncid = new_cluster(now)
    for _, m in ipairs(comps[k]) do
      redis.call('SREM', P_CL .. cid, m)
      redis.call('SADD', P_CL .. ncid, m)
      redis.call('HSET', P_DOC .. m, 'c', ncid)
    end
  end
end

local function remove(iid, now)
  local doc = P_DOC .. iid
  local d = redis.call('HMGET', doc, 'x', 'b', 'a', 'c')
  if not d[1] then return 0 end
  local bands, anchors, cid = d[2], d[3], d[4]
  for i = 0, #bands / 8 - 1 do redis.call('SREM', band_key(bands, i), iid) end
  for i = 0, #anchors / 8 - 1 do redis.call('SREM', anchor_key(anchors, i), iid) end
  local nbrs = redis.call('SMEMBERS', P_LINK .. iid)
  for _, nb in ipairs(nbrs) do redis.call('SREM', P_LINK .. nb, iid) end
  redis.call('DEL', P_LINK .. iid, doc)
  redis.call('HDEL', IDS, d[1])
  redis.call('ZREM', AGES, iid)
  redis.call('ZREM', PENDING, d[1])
  redis.call('SREM', P_CL .. cid, iid)
  if redis.call('EXISTS', P_CL .. cid) == 0 then
    redis.call('ZREM', RECENT, cid)
  else
    touch(cid, now)
    if #nbrs > 1 then split(cid, now) end
  end
  return 1
end

-- Link `iid` to `others` (verified copies) and merge their clusters into the largest.
local function link(iid, others, now)
  local cid = redis.call('HGET', P_DOC .. iid, 'c')
  if not cid then return false end
  local best, best_n = cid, redis.call('SCARD', P_CL .. cid)
  local merge = {[cid] = true}
  for _, other in ipairs(others) do
    local ocid = redis.call('HGET', P_DOC .. other, 'c')
    if ocid then
      redis.call('SADD', P_LINK .. iid, other)
      redis.call('SADD', P_LINK .. other, iid)
      if not merge[ocid] then
        merge[ocid] = true
        local n = redis.call('SCARD', P_CL .. ocid)
        if n > best_n or (n == best_n and ocid < best) then best, best_n = ocid, n end
      end
    end
  end
  for ocid in pairs(merge) do
    if ocid ~= best then
      for _, m in ipairs(redis.call('SMEMBERS', P_CL .. ocid)) do
        redis.call('HSET', P_DOC .. m, 'c', best)
        redis.call('SADD', P_CL .. best, m)
      end
      redis.call('DEL', P_CL .. ocid)
      redis.call('ZREM', RECENT, ocid)
    end
  end
  touch(best, now)
  return best
end

-- Count each line once more for a site's statistics, keeping at most `cap` lines.
local function learn_lines(site, first, last, cap)
  local key = P_SITE .. site
  for j = first, last do redis.call('ZINCRBY', key, 1, ARGV[j]) end
  local size = redis.call('ZCARD', key)
  if size > cap then redis.call('ZREMRANGEBYRANK', key, 0, size - cap - 1) end
end

-- Index one article whose fields start at ARGV[k] (see 'upsert'); returns its result and
-- the position after its fields. Same id and text: nothing changes.
local function upsert_one(k, now, cap, max_cand, min_shared, max_post)
  local ext, bands, anchors, th = ARGV[k], ARGV[k + 2], ARGV[k + 3], ARGV[k + 4]
  local site, n_lines = ARGV[k + 11], tonumber(ARGV[k + 12])
  local lines_at = k + 13
  local n_links = tonumber(ARGV[lines_at + n_lines])
  local links_at = lines_at + n_lines + 1
  local n_seen = tonumber(ARGV[links_at + n_links])
  local seen_at = links_at + n_links + 1
  local next_k = seen_at + n_seen
  local skip, links = {}, {}
  for j = seen_at, next_k - 1 do skip[ARGV[j]] = true end
  for j = links_at, links_at + n_links - 1 do links[#links + 1] = ARGV[j] end
  local iid = redis.call('HGET', IDS, ext)
  if iid then
    local d = redis.call('HMGET', P_DOC .. iid, 't', 'c')
    if d[1] == th then
      skip[iid] = true
      local found = candidates(bands, anchors, skip, false, max_cand, min_shared, max_post)
      return {'unchanged', iid, d[2], found[1], found[2]}, next_k
    end
    remove(iid, now)
  end
  local status = iid and 'replaced' or 'created'
  iid = tostring(redis.call('INCR', SEQ))
  skip[iid] = true
  local cid = new_cluster(now)
  local found = candidates(bands, anchors, skip, iid, max_cand, min_shared, max_post)
  redis.call('HSET', P_DOC .. iid, 'x', ext, 's', ARGV[k + 1], 'n', ARGV[k + 5], 't', th, 'm', ARGV[k + 6],
    'c', cid, 'i', now, 'b', bands, 'a', anchors, 'f', ARGV[k + 7], 'e', ARGV[k + 8], 'v', ARGV[k + 9],
    'z', ARGV[k + 10])
  redis.call('HSET', IDS, ext, iid)
  redis.call('ZADD', AGES, now, iid)
  redis.call('SADD', P_CL .. cid, iid)
  if site ~= '' then learn_lines(site, lines_at, lines_at + n_lines - 1, cap) end
  cid = link(iid, links, now)
  -- candidates that appeared after the caller's query (a concurrent or earlier-in-batch
  -- article) are not verified yet: the article stays pending until 'finish' records them,
  -- so a crash in between is repaired by the sweep
  if #found[2] > 0 then redis.call('ZADD', PENDING, now, ext) end
  return {status, iid, cid, found[1], found[2]}, next_k
end

if CMD == 'upsert' then
  -- 2 now, 3 max lines kept per site, 4 max candidates, 5 min shared anchors, 6 max anchor
  -- postings, then per article: external id, signature, bands, anchors, text hash,
  -- shingle count, metadata, figures, names, vocabulary, cleaned text, site statistics key
  -- suffix ('' for none), L, L line keys, N, N internal ids of verified copies to link,
  -- S, S internal ids the caller has already verified. An article is written whole with
  -- its links in one step; articles go in order, so a later one sees the earlier ones.
  -- Returns per article {status, internal id, cluster id, anchors searched, rows of the
  -- candidates the caller has not seen}.
  local now, cap = ARGV[2], tonumber(ARGV[3])
  local max_cand, min_shared, max_post = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
  local out, k = {}, 7
  while k <= #ARGV do
    out[#out + 1], k = upsert_one(k, now, cap, max_cand, min_shared, max_post)
  end
  return out

elseif CMD == 'check' then
  -- 2 max candidates, 3 min shared anchors, 4 max anchor postings, then per article:
  -- external id to leave out (or ''), bands, anchors. Read-only.
  local max_cand, min_shared, max_post = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
  local out = {}
  for k = 5, #ARGV, 3 do
    local exclude, skip = redis.call('HGET', IDS, ARGV[k]), {}
    if exclude then skip[exclude] = true end
    out[#out + 1] = candidates(ARGV[k + 1], ARGV[k + 2], skip, false, max_cand, min_shared, max_post)
  end
  return out

elseif CMD == 'get' then
  -- 2 external id, 3 max candidates, 4 min shared anchors, 5 max anchor postings
  local iid = redis.call('HGET', IDS, ARGV[2])
  if not iid then return false end
  local d = redis.call('HMGET', P_DOC .. iid, 'x', 's', 'n', 't', 'm', 'c', 'f', 'e', 'v', 'b', 'a', 'z', 'i')
  local found = candidates(d[10], d[11], {[iid] = true}, false, tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]))
  return {iid, d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], 0, #d[11] / 8, d[12], d[13], found[1], found[2]}

elseif CMD == 'delete' then
  -- 2 external id, 3 now
  local iid = redis.call('HGET', IDS, ARGV[2])
  if not iid then return 0 end
  return remove(iid, ARGV[3])

elseif CMD == 'expire' then
  -- 2 cutoff (ingest time), 3 now, 4 at most this many: removes the oldest articles
  -- ingested before the cutoff, each as a delete would; returns how many went
  local old = redis.call('ZRANGEBYSCORE', AGES, '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))
  for _, iid in ipairs(old) do remove(iid, ARGV[3]) end
  return #old

elseif CMD == 'finish' then
  -- 2 now, 3 max lines kept per site, then per article: internal id, site statistics key
  -- suffix ('' for none), L, L line keys, N, N internal ids to link to. Counts each line
  -- once more for its site, links, and clears the pending mark; returns the cluster ids.
  local now, cap = ARGV[2], tonumber(ARGV[3])
  local out, k = {}, 4
  while k <= #ARGV do
    local iid, site, n_lines = ARGV[k], ARGV[k + 1], tonumber(ARGV[k + 2])
    k = k + 3
    if site ~= '' then learn_lines(site, k, k + n_lines - 1, cap) end
    k = k + n_lines
    local n_links, others = tonumber(ARGV[k]), {}
    for j = k + 1, k + n_links do others[#others + 1] = ARGV[j] end
    k = k + n_links + 1
    local ext = redis.call('HGET', P_DOC .. iid, 'x')
    if ext then redis.call('ZREM', PENDING, ext) end
    out[#out + 1] = link(iid, others, now)
  end
  return out

elseif CMD == 'pending' then
  -- 2 cutoff, 3 at most: external ids of articles whose verdict was never recorded
  return redis.call('ZRANGEBYSCORE', PENDING, '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))

elseif CMD == 'site_lines' then
  -- per article: site statistics key suffix, L, L line keys. For each article, how many
  -- stories of its site carried each line.
  local out, k = {}, 2
  while k <= #ARGV do
    local key, n, counts = P_SITE .. ARGV[k], tonumber(ARGV[k + 1]), {}
    for j = k + 2, k + 1 + n do counts[#counts + 1] = redis.call('ZSCORE', key, ARGV[j]) or 0 end
    out[#out + 1] = counts
    k = k + 2 + n
  end
  return out

elseif CMD == 'clusters' then
  -- 2.. external ids; returns their cluster ids (false when unknown)
  local out = {}
  for k = 2, #ARGV do
    local iid = redis.call('HGET', IDS, ARGV[k])
    out[#out + 1] = iid and redis.call('HGET', P_DOC .. iid, 'c') or false
  end
  return out

elseif CMD == 'cluster' then
  -- 2 cluster id, 3 max members: rows of internal id, external id, signature, shingle
  -- count, text hash, metadata, ingest time
  local rows = {}
  local members = redis.call('SMEMBERS', P_CL .. ARGV[2])
  for k = 1, math.min(#members, tonumber(ARGV[3])) do
    local d = redis.call('HMGET', P_DOC .. members[k], 'x', 's', 'n', 't', 'm', 'i')
    if d[1] then
      rows[#rows + 1] = members[k]
      for j = 1, 6 do rows[#rows + 1] = d[j] end
    end
  end
  return {#members, rows}

elseif CMD == 'recent' then
  -- 2 since (ingest time), 3 offset, 4 count, 5 min size, 6 max members each:
  -- newest-changed clusters as {cluster id, size, member metadata...}
  local out = {}
  local cids = redis.call('ZREVRANGEBYSCORE', RECENT, '+inf', ARGV[2], 'LIMIT', ARGV[3], ARGV[4])
  for _, cid in ipairs(cids) do
    local size = redis.call('SCARD', P_CL .. cid)
    if size >= tonumber(ARGV[5]) then
      local metas = {}
      local members = redis.call('SRANDMEMBER', P_CL .. cid, tonumber(ARGV[6]))
      for _, m in ipairs(members) do metas[#metas + 1] = redis.call('HGET', P_DOC .. m, 'm') end
      out[#out + 1] = {cid, size, metas}
    end
  end
  return {#cids, out}
end
return redis.error_reply('unknown command ' .. tostring(CMD))
