-- Every index operation is one call of this script, so each runs atomically in one
-- round trip. KEYS[1] is the ids hash (external id -> internal id), "{prefix}:ids"; every
-- other key shares its "{prefix}:" part, so all of them live in one Redis Cluster slot
-- (names as in constants.key_layout). ARGV[1] is the command; the rest depends on it.
--
-- Postings (LSH buckets and anchors) are not one key each: a 6-byte token names a shard
-- (2 bytes, appended to the key prefix) and a field in it (4 bytes), whose value is the
-- comma-joined internal ids. Small hashes are stored as compact listpacks, so a posting
-- costs about a dozen bytes instead of a key of its own (about 90).
-- Article hash fields: x external id, t text hash, c cluster id, i ingest time,
-- b band tokens, a anchor tokens, r record (signature and facts, packed by the caller),
-- m metadata (JSON), z cleaned text (zstd; zlib when written by earlier versions), s hash
-- of the text as sent (before site chrome was taken out: what "sent again" compares).
local IDS = KEYS[1]
local BASE = string.sub(IDS, 1, #IDS - 3)
local SEQ, CSEQ, RECENT, LOW, PENDING = BASE .. 'seq', BASE .. 'cseq', BASE .. 'r', BASE .. 'lo', BASE .. 'p'
local P_DOC, P_BAND, P_ANCHOR = BASE .. 'd:', BASE .. 'b:', BASE .. 'a:'
local P_LINK, P_CL, P_SITE = BASE .. 'l:', BASE .. 'c:', BASE .. 's:'
local CMD = ARGV[1]
local TOK, LINE = 6, 8 -- bytes per posting token and per line key

local function posting(prefix, tokens, i)
  local at = i * TOK
  return prefix .. string.sub(tokens, at + 1, at + 2), string.sub(tokens, at + 3, at + TOK)
end

local function ids_of(value)
  local out = {}
  if value then for m in string.gmatch(value, '[^,]+') do out[#out + 1] = m end end
  return out
end

-- Add `iid` to a posting that holds `n` ids (`value`, or none), unless it is full.
local function post(key, field, value, n, iid, max_post)
  if n < max_post then redis.call('HSET', key, field, value and (value .. ',' .. iid) or iid) end
end

local function unpost(key, field, iid)
  local kept = {}
  for _, m in ipairs(ids_of(redis.call('HGET', key, field))) do
    if m ~= iid then kept[#kept + 1] = m end
  end
  if #kept == 0 then redis.call('HDEL', key, field) else redis.call('HSET', key, field, table.concat(kept, ',')) end
end

local function touch(cid, now)
  redis.call('ZADD', RECENT, now, cid)
end

local function new_cluster(now)
  local cid = 'c' .. redis.call('INCR', CSEQ)
  touch(cid, now)
  return cid
end

-- Candidates: articles sharing an LSH bucket, or at least `min_shared` anchors (fewer
-- when that is over the share `min_share` of the query's anchors) and at least the
-- share `min_share` of the smaller anchor set (a bucket keeps its first `max_post`
-- articles, an anchor posting its first `max_anchor_post`; a full one is still
-- searched). With `iid` the article is added to its postings that are not full, on the
-- way; ids in the set `skip` are never returned, and at most `per_cluster` rows of one
-- cluster are (its first found: a story copied hundreds of times costs each new copy no
-- more than `per_cluster` copies do).
-- Returns {anchors searched, rows, copyable}; a row is internal id, external id, cluster
-- id, record, metadata, text hash, anchors shared with the query and the candidate's own
-- anchor count; copyable is 1 when some candidate could be a copy (it shares a bucket, or
-- the share `copy_share` of the smaller anchor set), else 0.
local function candidates(bands, anchors, skip, iid, s)
  local found, order, by_band = {}, {}, {}
  for m in pairs(skip) do found[m] = true end
  -- postings are read where they are (gmatch), not copied into tables: this loop is most
  -- of the script's own time
  for i = 0, #bands / TOK - 1 do
    local key, field = posting(P_BAND, bands, i)
    local value = redis.call('HGET', key, field)
    local n_members = 0
    if value then
      for m in string.gmatch(value, '[^,]+') do
        n_members = n_members + 1
        if not found[m] then found[m] = true; by_band[m] = true; order[#order + 1] = m end
      end
    end
    if iid then post(key, field, value, n_members, iid, s.max_post) end
  end
  local n_anchors = #anchors / TOK
  local need = math.min(s.min_shared, math.max(1, math.ceil(s.min_share * n_anchors)))
  local shared = {}
  for i = 0, n_anchors - 1 do
    local key, field = posting(P_ANCHOR, anchors, i)
    local value = redis.call('HGET', key, field)
    local n_members = 0
    if value then
      for m in string.gmatch(value, '[^,]+') do
        n_members = n_members + 1
        local k = (shared[m] or 0) + 1
        shared[m] = k
        if k == need and not found[m] then found[m] = true; order[#order + 1] = m end
      end
    end
    if iid then post(key, field, value, n_members, iid, s.max_anchor_post) end
  end
  local rows, copyable, per_cluster, crowded = {}, 0, {}, false
  for k = 1, math.min(#order, s.max_cand) do
    local m = order[k]
    local doc, n_shared, own = P_DOC .. m, shared[m] or 0, nil
    local keep = by_band[m]
    if not keep then
      own = redis.call('HSTRLEN', doc, 'a') / TOK
      keep = n_shared >= s.min_share * math.min(n_anchors, own)
    end
    local copy = keep and (by_band[m] or n_shared >= s.copy_share * math.min(n_anchors, own))
    if keep and crowded then
      -- some cluster has given its share: look a candidate's cluster up before the rest
      local cid = redis.call('HGET', doc, 'c')
      if cid and copy then copyable = 1 end
      keep = cid and (per_cluster[cid] or 0) < s.per_cluster
    end
    if keep then
      -- the anchor tokens come along (a hundred bytes) rather than their length in a call of its own
      local d = redis.call('HMGET', doc, 'x', 'c', 'r', 'm', 't', 'a')
      if d[1] then
        if copy then copyable = 1 end
        local taken = (per_cluster[d[2]] or 0) + 1
        per_cluster[d[2]] = taken
        crowded = crowded or taken >= s.per_cluster
        rows[#rows + 1] = m
        for j = 1, 5 do rows[#rows + 1] = d[j] end
        rows[#rows + 1] = n_shared
        rows[#rows + 1] = own or #d[6] / TOK
      end
    end
  end
  return {n_anchors, rows, copyable}
end

-- Search settings from ARGV[k..k+6]: max candidates, min shared anchors, min share of
-- anchors for a candidate, and for a possible copy, max articles a bucket keeps, and an
-- anchor posting, max candidates of one cluster.
local function search_args(k)
  return {max_cand = tonumber(ARGV[k]), min_shared = tonumber(ARGV[k + 1]), min_share = tonumber(ARGV[k + 2]),
    copy_share = tonumber(ARGV[k + 3]), max_post = tonumber(ARGV[k + 4]), max_anchor_post = tonumber(ARGV[k + 5]),
    per_cluster = tonumber(ARGV[k + 6])}
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
  for i = 0, #bands / TOK - 1 do
    local key, field = posting(P_BAND, bands, i)
    unpost(key, field, iid)
  end
  for i = 0, #anchors / TOK - 1 do
    local key, field = posting(P_ANCHOR, anchors, i)
    unpost(key, field, iid)
  end
  local nbrs = redis.call('SMEMBERS', P_LINK .. iid)
  for _, nb in ipairs(nbrs) do redis.call('SREM', P_LINK .. nb, iid) end
  redis.call('DEL', P_LINK .. iid, doc)
  redis.call('HDEL', IDS, d[1])
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

-- Count each line (8-byte keys, concatenated) once more for a site's statistics, keeping
-- at most `cap` lines; returns the keys now carried by at least `chrome` stories.
local function learn_lines(site, lines, cap, chrome)
  local key, out = P_SITE .. site, {}
  for i = 0, #lines / LINE - 1 do
    local line = string.sub(lines, i * LINE + 1, i * LINE + LINE)
    if tonumber(redis.call('ZINCRBY', key, 1, line)) >= chrome then out[#out + 1] = line end
  end
  local size = redis.call('ZCARD', key)
  if size > cap then redis.call('ZREMRANGEBYRANK', key, 0, size - cap - 1) end
  return out
end

if CMD == 'upsert' then
  -- 2 now, 3 max lines kept per site, 4 stories that make a line chrome, 5-11 search
  -- settings (see search_args), then 10 fields per article: external id, text hash, band
  -- tokens, anchor tokens, record, metadata, cleaned text, site statistics key suffix (''
  -- for none), its line keys, and the hash of the text as sent. Articles go in order, so
  -- a later one sees the earlier ones. An id sent again with the same text as sent is
  -- 'unchanged' (or 'updated': its metadata replaced), whatever site chrome was learnt
  -- in between. Returns per article {status, internal id, cluster id, anchors searched,
  -- candidate rows, chrome lines learnt, pending}. An article with a candidate that could
  -- be a copy is marked pending until 'finish' records its verdict (the sweep redoes it
  -- after a crash, and so does the caller when the same article is sent again); one
  -- without is a new story, and its site's lines are counted here.
  local now, cap, chrome, search = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), search_args(5)
  local out = {}
  for k = 12, #ARGV, 10 do
    local ext, th, bands, anchors, site = ARGV[k], ARGV[k + 1], ARGV[k + 2], ARGV[k + 3], ARGV[k + 7]
    local meta, sent = ARGV[k + 5], ARGV[k + 9]
    local iid, status, cid, found = redis.call('HGET', IDS, ext), 'created', nil, nil
    local was = iid and redis.call('HMGET', P_DOC .. iid, 's', 't', 'm', 'c')
    -- articles written before 's' was kept compare by their cleaned text
    if was and (was[1] and was[1] == sent or not was[1] and was[2] == th) then
      status, cid = 'unchanged', was[4]
      if was[3] ~= meta then redis.call('HSET', P_DOC .. iid, 'm', meta); status = 'updated' end
      found = candidates(bands, anchors, {[iid] = true}, false, search)
    else
      if iid then remove(iid, now); status = 'replaced' end
      iid = tostring(redis.call('INCR', SEQ))
      cid = new_cluster(now)
      found = candidates(bands, anchors, {[iid] = true}, iid, search)
      redis.call('HSET', P_DOC .. iid, 'x', ext, 't', th, 'c', cid, 'i', now, 'b', bands, 'a', anchors,
        'r', ARGV[k + 4], 'm', meta, 'z', ARGV[k + 6], 's', sent)
      redis.call('HSET', IDS, ext, iid)
      redis.call('SADD', P_CL .. cid, iid)
    end
    local learnt, pending = {}, 0
    if status == 'unchanged' or status == 'updated' then
      -- sent again before its verdict was recorded (the service stopped, or Redis did,
      -- in between): the caller records it now rather than the sweep later
      if redis.call('ZSCORE', PENDING, ext) then pending = 1 end
    else
      if found[3] == 1 then
        redis.call('ZADD', PENDING, now, ext)
        pending = 1
      elseif site ~= '' then
        learnt = learn_lines(site, ARGV[k + 8], cap, chrome)
      end
    end
    out[#out + 1] = {status, iid, cid, found[1], found[2], learnt, pending}
  end
  return out

elseif CMD == 'check' then
  -- 2-8 search settings (see search_args), 9 external id to leave out (or ''), 10 band
  -- tokens, 11 anchor tokens. Read-only.
  local exclude, skip = redis.call('HGET', IDS, ARGV[9]), {}
  if exclude then skip[exclude] = true end
  return candidates(ARGV[10], ARGV[11], skip, false, search_args(2))

elseif CMD == 'get' then
  -- 2 external id, 3-9 search settings (see search_args)
  local iid = redis.call('HGET', IDS, ARGV[2])
  if not iid then return false end
  local d = redis.call('HMGET', P_DOC .. iid, 'x', 'c', 'r', 'm', 't', 'a', 'b', 'z', 'i')
  local found = candidates(d[7], d[6], {[iid] = true}, false, search_args(3))
  return {iid, d[1], d[2], d[3], d[4], d[5], 0, #d[6] / TOK, d[8], d[9], found[1], found[2]}

elseif CMD == 'texts' then
  -- 2.. internal ids: each article's compressed cleaned text (false when gone)
  local out = {}
  for k = 2, #ARGV do out[#out + 1] = redis.call('HGET', P_DOC .. ARGV[k], 'z') end
  return out

elseif CMD == 'delete' then
  -- 2 external id, 3 now
  local iid = redis.call('HGET', IDS, ARGV[2])
  if not iid then return 0 end
  return remove(iid, ARGV[3])

elseif CMD == 'expire' then
  -- 2 cutoff (ingest time), 3 now, 4 at most this many, 5 internal ids to look at, at
  -- most: removes the oldest articles ingested before the cutoff, each as a delete would;
  -- returns {how many went, ids looked at}. Internal ids grow with ingest time, so a
  -- cursor walks them in order: no index of ages needed.
  local cutoff, at_most, max_steps = tonumber(ARGV[2]), tonumber(ARGV[4]), tonumber(ARGV[5])
  local iid, top = tonumber(redis.call('GET', LOW) or '1'), tonumber(redis.call('GET', SEQ) or '0')
  local removed, steps = 0, 0
  while iid <= top and removed < at_most and steps < max_steps do
    local t = redis.call('HGET', P_DOC .. iid, 'i')
    if t then
      if tonumber(t) >= cutoff then break end
      removed = removed + remove(tostring(iid), ARGV[3])
    end
    iid, steps = iid + 1, steps + 1
  end
  redis.call('SET', LOW, iid)
  return {removed, steps}

elseif CMD == 'finish' then
  -- 2 now, 3 max lines kept per site, 4 stories that make a line chrome, then per
  -- article: internal id, site statistics key suffix ('' for none), its line keys,
  -- comma-joined internal ids to link to. Counts each line once more for its site, links,
  -- and clears the pending mark; returns {cluster id, chrome lines learnt} each.
  local now, cap, chrome = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
  local out = {}
  for k = 5, #ARGV, 4 do
    local iid, site = ARGV[k], ARGV[k + 1]
    local learnt = {}
    if site ~= '' then learnt = learn_lines(site, ARGV[k + 2], cap, chrome) end
    local ext = redis.call('HGET', P_DOC .. iid, 'x')
    if ext then redis.call('ZREM', PENDING, ext) end
    out[#out + 1] = {link(iid, ids_of(ARGV[k + 3]), now), learnt}
  end
  return out

elseif CMD == 'pending' then
  -- 2 cutoff, 3 at most: external ids of articles whose verdict was never recorded
  return redis.call('ZRANGEBYSCORE', PENDING, '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))

elseif CMD == 'chrome' then
  -- 2 stories that make a line chrome, 3 at most, then site statistics key suffixes:
  -- each site's chrome lines
  local out = {}
  for k = 4, #ARGV do
    out[#out + 1] = redis.call('ZRANGEBYSCORE', P_SITE .. ARGV[k], ARGV[2], '+inf', 'LIMIT', 0, tonumber(ARGV[3]))
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
  -- 2 cluster id, 3 max members: rows of internal id, external id, record, metadata,
  -- text hash, ingest time
  local rows = {}
  local members = redis.call('SMEMBERS', P_CL .. ARGV[2])
  for k = 1, math.min(#members, tonumber(ARGV[3])) do
    local d = redis.call('HMGET', P_DOC .. members[k], 'x', 'r', 'm', 't', 'i')
    if d[1] then
      rows[#rows + 1] = members[k]
      for j = 1, 5 do rows[#rows + 1] = d[j] end
    end
  end
  return {#members, rows}

elseif CMD == 'recent' then
  -- 2 since (time of last change), 3 and 4 the cursor: score and cluster id of the last
  -- cluster a page scanned ('+inf' and '' to start), 5 count, 6 min size, 7 max members
  -- each. Scans `count` clusters after the cursor, newest change first (those changed at
  -- one time in the reverse order of their ids, as the zset keeps them); returns
  -- {clusters scanned, score and id of the last scanned, {cluster id, score, size, member
  -- metadata...} of those of at least min size}.
  local since, top, after, count, min_size = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
  local scanned = {}
  if after ~= '' then
    -- the rest of the cursor's own time first: ties are common, as one call writes many
    local ties = redis.call('ZREVRANGEBYSCORE', RECENT, top, top, 'WITHSCORES')
    for i = 1, #ties, 2 do
      if ties[i] < after and #scanned < 2 * count then
        scanned[#scanned + 1], scanned[#scanned + 2] = ties[i], ties[i + 1]
      end
    end
    top = '(' .. top
  end
  if #scanned < 2 * count then
    local rest = redis.call('ZREVRANGEBYSCORE', RECENT, top, since, 'WITHSCORES', 'LIMIT', 0, count - #scanned / 2)
    for i = 1, #rest do scanned[#scanned + 1] = rest[i] end
  end
  local out = {}
  for i = 1, #scanned, 2 do
    local cid = scanned[i]
    local size = redis.call('SCARD', P_CL .. cid)
    if size >= min_size then
      local metas = {}
      local members = redis.call('SRANDMEMBER', P_CL .. cid, tonumber(ARGV[7]))
      for _, m in ipairs(members) do metas[#metas + 1] = redis.call('HGET', P_DOC .. m, 'm') end
      out[#out + 1] = {cid, scanned[i + 1], size, metas}
    end
  end
  return {#scanned / 2, scanned[#scanned] or '', scanned[#scanned - 1] or '', out}
end
return redis.error_reply('unknown command ' .. tostring(CMD))
