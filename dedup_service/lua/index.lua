-- Every index operation is one call of this script, so each runs atomically in one
-- round trip. KEYS are the index's key names and name prefixes, in the order of
-- keys.SCRIPT_KEYS; all share the hash tag "{prefix}", so they live in one Redis Cluster
-- slot. protocol.py lays out the calls: ARGV holds the command, its named arguments, and
-- for some commands items (records of named fields); a reply row holds the fields the
-- caller names (ARGS.<kind>_row), in its order.
--
-- Postings (LSH buckets and anchors) are not one key each: a 6-byte token names a shard
-- (2 bytes, appended to the key prefix) and a field in it (4 bytes), whose value is the
-- comma-joined internal ids. Small hashes are stored as compact listpacks, so a posting
-- costs about a dozen bytes instead of a key of its own (about 90).
-- Article hash fields: x external id, t text hash, c cluster id, i ingest time,
-- b band tokens, a anchor tokens, r record (signature and facts, packed by the caller),
-- m metadata (JSON), z cleaned text (zstd; zlib when written by earlier versions), s hash
-- of the text as sent (before site chrome was taken out: what "sent again" compares).
local IDS, SEQ, CSEQ, RECENT, FIRST, LOW, PENDING, P_DOC, P_BAND, P_ANCHOR, P_LINK, P_CL, P_SITE, GONE, P_GONE = unpack(KEYS)

-- ARGV: the command; n, then n argument names and n values; then, when items follow, m,
-- m field names, and m values an item.
local function request()
  local n = tonumber(ARGV[2])
  local args = {}
  for i = 1, n do args[ARGV[2 + i]] = ARGV[2 + n + i] end
  local items, at = {}, 3 + 2 * n
  local m = tonumber(ARGV[at] or '0')
  if m > 0 then
    for first = at + m + 1, #ARGV, m do
      local item = {}
      for i = 1, m do item[ARGV[at + i]] = ARGV[first + i - 1] end
      items[#items + 1] = item
    end
  end
  return ARGV[1], args, items
end
local CMD, ARGS, ITEMS = request()
-- An index of several partitions (docs/design.md, "Partitions"): this call's keys are
-- partition PART's of PARTS, and the ids it draws are its counter times PARTS plus PART,
-- so that an id names its home partition. One partition: ids are the counters.
local PARTS, PART = tonumber(ARGS.parts or '1'), tonumber(ARGS.part or '0')

-- The fields of a reply row, as the caller names them (comma-joined).
local function row_fields(list)
  local out = {}
  for name in string.gmatch(list or '', '[^,]+') do out[#out + 1] = name end
  return out
end

-- A reply row: `t`'s fields in the order of `names`; a field the script does not set
-- is an error, not a silent gap.
local function row(t, names)
  local out = {}
  for i, name in ipairs(names) do
    local v = t[name]
    if v == nil then error('no reply field ' .. name) end
    out[i] = v
  end
  return out
end
-- Candidate rows are many (up to max_candidates a search), so they are laid out flat, one
-- after another, each field at its named place: no table of their own.
local CANDIDATE = row_fields(ARGS.candidate_row)
local C_AT = {}
for i, name in ipairs(CANDIDATE) do C_AT[name] = i - 1 end
local C_IID, C_EXT, C_CLUSTER, C_RECORD = C_AT.iid, C_AT.ext, C_AT.cluster, C_AT.record
local C_META, C_HASH, C_SHARED, C_ANCHORS = C_AT.meta, C_AT.text_hash, C_AT.shared, C_AT.anchors

-- Append a candidate to flat `rows` (see C_AT).
local function add_candidate(rows, iid, d, shared, anchors)
  local at = #rows + 1
  rows[at + C_IID], rows[at + C_EXT], rows[at + C_CLUSTER], rows[at + C_RECORD] = iid, d[1], d[2], d[3]
  rows[at + C_META], rows[at + C_HASH], rows[at + C_SHARED], rows[at + C_ANCHORS] = d[4], d[5], shared, anchors
end

local TOK, LINE = 6, 8 -- bytes per posting token and per line key

local function posting(prefix, tokens, i)
  local at = i * TOK
  return prefix .. string.sub(tokens, at + 1, at + 2), string.sub(tokens, at + 3, at + TOK)
end

-- The i-th posting of `tokens` and the ids it holds now (a comma-joined string, or false).
local function read_posting(prefix, tokens, i)
  local key, field = posting(prefix, tokens, i)
  return key, field, redis.call('HGET', key, field)
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

local function new_id(counter)
  return tostring(redis.call('INCR', counter) * PARTS + PART)
end

local function new_cluster(now)
  local cid = 'c' .. new_id(CSEQ)
  touch(cid, now)
  return cid
end

-- A cluster's first appearance: the ingest time of its earliest member. FIRST keeps it for
-- clusters of two members or more; a lone article's is its own ingest time (most stories
-- are never copied, and an entry each would cost them about 120 bytes).
local function set_first(cid, members)
  local low, at = nil, nil
  for _, m in ipairs(members) do
    local t = redis.call('HGET', P_DOC .. m, 'i')
    if t and (not low or tonumber(t) < low) then low, at = tonumber(t), t end
  end
  if at and #members > 1 then redis.call('ZADD', FIRST, at, cid) else redis.call('ZREM', FIRST, cid) end
  return at
end

local function first_of(cid)
  local t = redis.call('ZSCORE', FIRST, cid)
  if t then return t end
  -- a lone article, or a cluster of an index written before FIRST (learnt once, here)
  return set_first(cid, redis.call('SMEMBERS', P_CL .. cid))
end

-- Candidates: articles sharing an LSH bucket, or at least `min_shared` anchors (fewer
-- when that is over the share `min_share` of the query's anchors) and at least the
-- share `min_share` of the smaller anchor set (a bucket keeps its first `max_post`
-- articles, an anchor posting its first `max_anchor_post`; a full one is still
-- searched). With `iid` the article is added to its postings that are not full, on the
-- way; ids in the set `skip` are never returned, and at most `per_cluster` rows of one
-- cluster are (its first found: a story copied hundreds of times costs each new copy no
-- more than `per_cluster` copies do).
-- Returns {searched = anchors searched, candidates = rows (flat, see C_AT), copyable}; a
-- candidate row has the article's internal and external id, cluster, record, metadata
-- and text hash, the anchors it shares with the query and its own anchor count; copyable is 1 when some
-- candidate could be a copy (it shares a bucket, or the share `copy_share` of the
-- smaller anchor set), else 0.
local function candidates(bands, anchors, skip, iid, s)
  local found, order, by_band = {}, {}, {}
  for m in pairs(skip) do found[m] = true end
  -- postings are read where they are (gmatch), not copied into tables: this loop is most
  -- of the script's own time
  for i = 0, #bands / TOK - 1 do
    local key, field, value = read_posting(P_BAND, bands, i)
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
    local key, field, value = read_posting(P_ANCHOR, anchors, i)
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
        add_candidate(rows, m, d, n_shared, own or #d[6] / TOK)
      end
    end
  end
  return {searched = n_anchors, candidates = rows, copyable = copyable}
end

-- Search settings: max candidates, min shared anchors, min share of anchors for a
-- candidate, and for a possible copy, max articles a bucket keeps, and an anchor posting,
-- max candidates of one cluster.
local function search_args()
  return {max_cand = tonumber(ARGS.max_candidates), min_shared = tonumber(ARGS.min_shared),
    min_share = tonumber(ARGS.min_share), copy_share = tonumber(ARGS.copy_share),
    max_post = tonumber(ARGS.max_post), max_anchor_post = tonumber(ARGS.max_anchor_post),
    per_cluster = tonumber(ARGS.per_cluster)}
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
    set_first(ncid, comps[k])
  end
  set_first(cid, comps[1])
end

local function remove(iid, now)
  local doc = P_DOC .. iid
  local d = redis.call('HMGET', doc, 'x', 'b', 'a', 'c', 'i')
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
    redis.call('ZREM', FIRST, cid)
  else
    touch(cid, now)
    if #nbrs > 1 then split(cid, now) end
    -- its first member gone, the next one is its first appearance; alone, its own
    local first = redis.call('ZSCORE', FIRST, cid)
    if first and (tonumber(first) == tonumber(d[5]) or redis.call('SCARD', P_CL .. cid) == 1) then
      set_first(cid, redis.call('SMEMBERS', P_CL .. cid))
    end
  end
  return 1
end

-- Partitioned: take an article out of its home partition, leaving a tombstone (its
-- external id, tokens, cluster, ingest time and neighbours) from which the caller undoes
-- the rest on the other partitions and then buries it; the repair sweep finishes a
-- tombstone a crash left.
local function detach(iid, now)
  local doc = P_DOC .. iid
  local ext = redis.call('HGET', doc, 'x')
  if not ext then return 0 end
  redis.call('HSET', doc, 'n', table.concat(redis.call('SMEMBERS', P_LINK .. iid), ','))
  redis.call('HDEL', doc, 'r', 'm', 'z', 's', 't')
  redis.call('RENAME', doc, P_GONE .. iid)
  redis.call('ZADD', GONE, now, iid)
  redis.call('DEL', P_LINK .. iid)
  redis.call('HDEL', IDS, ext)
  redis.call('ZREM', PENDING, ext)
  return 1
end

local function take_out(iid, now)
  if PARTS > 1 then return detach(iid, now) end
  return remove(iid, now)
end

-- An article sent again (a write's item `a`): its internal id (nil when new) and, when
-- its text as sent is the same, 'unchanged' (or 'updated', its metadata replaced) and its
-- cluster. Articles written before 's' was kept compare by their cleaned text.
local function sent_again(a)
  local iid = redis.call('HGET', IDS, a.id)
  local was = iid and redis.call('HMGET', P_DOC .. iid, 's', 't', 'm', 'c')
  if not (was and (was[1] and was[1] == a.sent_hash or not was[1] and was[2] == a.text_hash)) then return iid end
  if was[3] == a.meta then return iid, 'unchanged', was[4] end
  redis.call('HSET', P_DOC .. iid, 'm', a.meta)
  return iid, 'updated', was[4]
end

-- A new article (a write's item `a`) recorded under `iid`, alone in cluster `cid`.
local function record(a, iid, cid, now)
  redis.call('HSET', P_DOC .. iid, 'x', a.id, 't', a.text_hash, 'c', cid, 'i', now, 'b', a.bands,
    'a', a.anchors, 'r', a.record, 'm', a.meta, 'z', a.text, 's', a.sent_hash)
  redis.call('HSET', IDS, a.id, iid)
  redis.call('SADD', P_CL .. cid, iid)
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
  local first = first_of(best)
  for ocid in pairs(merge) do
    if ocid ~= best then
      local theirs = first_of(ocid)
      if theirs and (not first or tonumber(theirs) < tonumber(first)) then first = theirs end
      for _, m in ipairs(redis.call('SMEMBERS', P_CL .. ocid)) do
        redis.call('HSET', P_DOC .. m, 'c', best)
        redis.call('SADD', P_CL .. best, m)
      end
      redis.call('DEL', P_CL .. ocid)
      redis.call('ZREM', RECENT, ocid)
      redis.call('ZREM', FIRST, ocid)
    end
  end
  if first and redis.call('SCARD', P_CL .. best) > 1 then redis.call('ZADD', FIRST, first, best) end
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
  -- Arguments: now, lines_kept (per site), chrome_stories (that make a line chrome), the
  -- search settings; items: id, text_hash, bands, anchors, record, meta, text (cleaned,
  -- compressed), site (statistics key suffix, '' for none), line_keys, sent_hash (the
  -- text as sent). Articles go in order, so a later one sees the earlier ones. An id
  -- sent again with the same text as sent is 'unchanged' (or 'updated': its metadata
  -- replaced), whatever site chrome was learnt in between. Returns a row an article:
  -- status, iid, cluster, searched, candidates, learnt (chrome lines), pending. An
  -- article with a candidate that could be a copy is marked pending until 'finish'
  -- records its verdict (the sweep redoes it after a crash, and so does the caller when
  -- the same article is sent again); one without is a new story, and its site's lines
  -- are counted here.
  local now, cap, chrome, search = ARGS.now, tonumber(ARGS.lines_kept), tonumber(ARGS.chrome_stories), search_args()
  local UPSERTED = row_fields(ARGS.upserted_row)
  local out = {}
  for _, a in ipairs(ITEMS) do
    local iid, status, cid = sent_again(a)
    local found
    if status then
      found = candidates(a.bands, a.anchors, {[iid] = true}, false, search)
    else
      if iid then take_out(iid, now); status = 'replaced' else status = 'created' end
      iid, cid = new_id(SEQ), new_cluster(now)
      found = candidates(a.bands, a.anchors, {[iid] = true}, iid, search)
      record(a, iid, cid, now)
    end
    local learnt, pending = {}, 0
    if status == 'unchanged' or status == 'updated' then
      -- sent again before its verdict was recorded (the service stopped, or Redis did,
      -- in between): the caller records it now rather than the sweep later
      if redis.call('ZSCORE', PENDING, a.id) then pending = 1 end
    else
      if found.copyable == 1 then
        redis.call('ZADD', PENDING, now, a.id)
        pending = 1
      elseif a.site ~= '' then
        learnt = learn_lines(a.site, a.line_keys, cap, chrome)
      end
    end
    out[#out + 1] = row({status = status, iid = iid, cluster = cid, searched = found.searched,
      candidates = found.candidates, learnt = learnt, pending = pending}, UPSERTED)
  end
  return out

elseif CMD == 'check' then
  -- Arguments: the search settings, exclude (an external id to leave out, or ''), bands,
  -- anchors. Read-only; returns {searched, candidates}.
  local exclude, skip = redis.call('HGET', IDS, ARGS.exclude), {}
  if exclude then skip[exclude] = true end
  local found = candidates(ARGS.bands, ARGS.anchors, skip, false, search_args())
  return row(found, row_fields(ARGS.found_row))

elseif CMD == 'get' then
  -- Arguments: id, the search settings. Returns false, or a row: article (a candidate
  -- row of its own), text, ingested, searched, candidates.
  local iid = redis.call('HGET', IDS, ARGS.id)
  if not iid then return false end
  local d = redis.call('HMGET', P_DOC .. iid, 'x', 'c', 'r', 'm', 't', 'a', 'b', 'z', 'i')
  local found = candidates(d[7], d[6], {[iid] = true}, false, search_args())
  local article = {}
  add_candidate(article, iid, d, 0, #d[6] / TOK)
  return row({article = article, text = d[8], ingested = d[9], searched = found.searched,
    candidates = found.candidates}, row_fields(ARGS.stored_row))

elseif CMD == 'texts' then
  -- Items: iid, or id (external). Each article's compressed cleaned text (false when
  -- gone or unknown).
  local out = {}
  for _, a in ipairs(ITEMS) do
    local iid = a.iid or redis.call('HGET', IDS, a.id)
    out[#out + 1] = iid and redis.call('HGET', P_DOC .. iid, 'z') or false
  end
  return out

elseif CMD == 'delete' then
  -- Arguments: id, now. Returns 1 when the article was there.
  local iid = redis.call('HGET', IDS, ARGS.id)
  if not iid then return 0 end
  return take_out(iid, ARGS.now)

elseif CMD == 'expire' then
  -- Arguments: cutoff (ingest time), now, at_most (articles removed), max_steps
  -- (internal ids looked at): removes the oldest articles ingested before the cutoff,
  -- each as a delete would; returns a row: removed, steps. Internal ids grow with ingest
  -- time, so a cursor walks them in order: no index of ages needed.
  local cutoff, at_most, max_steps = tonumber(ARGS.cutoff), tonumber(ARGS.at_most), tonumber(ARGS.max_steps)
  local n, top = tonumber(redis.call('GET', LOW) or '1'), tonumber(redis.call('GET', SEQ) or '0')
  local removed, steps = 0, 0
  while n <= top and removed < at_most and steps < max_steps do
    local iid = tostring(n * PARTS + PART)
    local t = redis.call('HGET', P_DOC .. iid, 'i')
    if t then
      if tonumber(t) >= cutoff then break end
      removed = removed + take_out(iid, ARGS.now)
    end
    n, steps = n + 1, steps + 1
  end
  redis.call('SET', LOW, n)
  return row({removed = removed, steps = steps}, row_fields(ARGS.expired_row))

elseif CMD == 'finish' then
  -- Arguments: now, lines_kept, chrome_stories; items: iid, site (statistics key suffix,
  -- '' for none), line_keys, links (comma-joined internal ids). Counts each line once
  -- more for its site, links, and clears the pending mark; returns a row an article:
  -- cluster, learnt.
  local now, cap, chrome = ARGS.now, tonumber(ARGS.lines_kept), tonumber(ARGS.chrome_stories)
  local FINISHED = row_fields(ARGS.finished_row)
  local out = {}
  for _, a in ipairs(ITEMS) do
    local learnt = {}
    if a.site ~= '' then learnt = learn_lines(a.site, a.line_keys, cap, chrome) end
    local ext = redis.call('HGET', P_DOC .. a.iid, 'x')
    if ext then redis.call('ZREM', PENDING, ext) end
    out[#out + 1] = row({cluster = link(a.iid, ids_of(a.links), now), learnt = learnt}, FINISHED)
  end
  return out

elseif CMD == 'pending' then
  -- Arguments: cutoff, at_most: external ids of articles whose verdict was never recorded
  return redis.call('ZRANGEBYSCORE', PENDING, '-inf', '(' .. ARGS.cutoff, 'LIMIT', 0, tonumber(ARGS.at_most))

elseif CMD == 'chrome' then
  -- Arguments: chrome_stories, at_most; items: site (statistics key suffix). Each site's
  -- chrome lines.
  local out = {}
  for _, a in ipairs(ITEMS) do
    out[#out + 1] = redis.call('ZRANGEBYSCORE', P_SITE .. a.site, ARGS.chrome_stories, '+inf', 'LIMIT', 0,
      tonumber(ARGS.at_most))
  end
  return out

elseif CMD == 'clusters' then
  -- Items: id (external). Their cluster ids (false when unknown).
  local out = {}
  for _, a in ipairs(ITEMS) do
    local iid = redis.call('HGET', IDS, a.id)
    out[#out + 1] = iid and redis.call('HGET', P_DOC .. iid, 'c') or false
  end
  return out

elseif CMD == 'cluster' then
  -- Arguments: cluster, max_members. Returns a row: size, members (a row each: iid, ext,
  -- record, meta, text_hash, ingested).
  local MEMBER, members = row_fields(ARGS.member_row), {}
  local all = redis.call('SMEMBERS', P_CL .. ARGS.cluster)
  for k = 1, math.min(#all, tonumber(ARGS.max_members)) do
    local d = redis.call('HMGET', P_DOC .. all[k], 'x', 'r', 'm', 't', 'i')
    if d[1] then
      members[#members + 1] = row({iid = all[k], ext = d[1], record = d[2], meta = d[3], text_hash = d[4],
        ingested = d[5]}, MEMBER)
    end
  end
  return row({size = #all, members = members}, row_fields(ARGS.cluster_row))

elseif CMD == 'recent' then
  -- Arguments: since (time of last change), after_score and after_cluster (the cursor:
  -- the last cluster a page scanned; '+inf' and '' to start), count, min_size,
  -- max_members. Scans `count` clusters after the cursor, newest change first (those
  -- changed at one time in the reverse order of their ids, as the zset keeps them);
  -- returns a row: scanned, last_score, last_cluster (the last scanned), clusters (a row
  -- each of those of at least min_size members: cluster, score, size, metas, first).
  local top, after, count = ARGS.after_score, ARGS.after_cluster, tonumber(ARGS.count)
  local SUMMARY = row_fields(ARGS.summary_row)
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
    local rest = redis.call('ZREVRANGEBYSCORE', RECENT, top, ARGS.since, 'WITHSCORES', 'LIMIT', 0,
      count - #scanned / 2)
    for i = 1, #rest do scanned[#scanned + 1] = rest[i] end
  end
  local clusters = {}
  for i = 1, #scanned, 2 do
    local cid = scanned[i]
    local size = redis.call('SCARD', P_CL .. cid)
    if size >= tonumber(ARGS.min_size) then
      local metas, first = {}, nil
      local sample = redis.call('SRANDMEMBER', P_CL .. cid, tonumber(ARGS.max_members))
      if PARTS > 1 then
        -- members live in their own partitions: their ids, for the caller to read there
        metas, first = sample, redis.call('ZSCORE', FIRST, cid) or ''
      else
        for _, m in ipairs(sample) do metas[#metas + 1] = redis.call('HGET', P_DOC .. m, 'm') end
        first = first_of(cid) or ''
      end
      clusters[#clusters + 1] = row({cluster = cid, score = scanned[i + 1], size = size, metas = metas,
        first = first}, SUMMARY)
    end
  end
  return row({scanned = #scanned / 2, last_score = scanned[#scanned] or '', last_cluster = scanned[#scanned - 1] or '',
    clusters = clusters}, row_fields(ARGS.listing_row))
elseif CMD == 'claim' then
  -- Partitioned, a write's first step, in each article's home partition. Arguments:
  -- now, parts, part; items as upsert's. Records each article as upsert does, without
  -- its postings (the next step adds them in the partitions that hold them), and marks it
  -- pending until 'finish'; an article it replaces is detached. Returns a row an article:
  -- status, iid, cluster, pending, gone (the iid of the article replaced, or '').
  local now, CLAIMED, out = ARGS.now, row_fields(ARGS.claimed_row), {}
  for _, a in ipairs(ITEMS) do
    local iid, status, cid = sent_again(a)
    local gone = ''
    if not status then
      if iid then detach(iid, now); status, gone = 'replaced', iid else status = 'created' end
      iid, cid = new_id(SEQ), new_cluster(now)
      record(a, iid, cid, now)
      redis.call('ZADD', PENDING, now, a.id)
    end
    local pending = redis.call('ZSCORE', PENDING, a.id) and 1 or 0
    out[#out + 1] = row({status = status, iid = iid, cluster = cid, pending = pending, gone = gone}, CLAIMED)
  end
  return out

elseif CMD == 'post' then
  -- Partitioned, a search's postings in one partition. Arguments: max_post,
  -- max_anchor_post; items: iid ('' to search only), bands, anchors (the query's tokens
  -- that this partition holds). Adds iid to each posting that is not full and does not
  -- hold it yet (so a step done again adds nothing); returns an item's postings as they
  -- were (comma-joined ids, or false), bands then anchors, in the order of its tokens.
  local max_post, max_anchor_post, out = tonumber(ARGS.max_post), tonumber(ARGS.max_anchor_post), {}
  local function visit(prefix, tokens, iid, cap, values)
    for i = 0, #tokens / TOK - 1 do
      local key, field, value = read_posting(prefix, tokens, i)
      values[#values + 1] = value
      if iid ~= '' then
        local n, held = 0, false
        if value then
          for m in string.gmatch(value, '[^,]+') do n = n + 1; held = held or m == iid end
        end
        if not held then post(key, field, value, n, iid, cap) end
      end
    end
  end
  for _, a in ipairs(ITEMS) do
    local values = {}
    visit(P_BAND, a.bands, a.iid, max_post, values)
    visit(P_ANCHOR, a.anchors, a.iid, max_anchor_post, values)
    out[#out + 1] = values
  end
  return out

elseif CMD == 'rows' then
  -- Partitioned. Items: iid. Each article's candidate fields: x, c, r, m, t, a (false
  -- when gone).
  local out = {}
  for _, a in ipairs(ITEMS) do out[#out + 1] = redis.call('HMGET', P_DOC .. a.iid, 'x', 'c', 'r', 'm', 't', 'a') end
  return out

elseif CMD == 'unpost' then
  -- Partitioned. Items: iid, bands, anchors (the tokens this partition holds): takes the
  -- article out of those postings.
  for _, a in ipairs(ITEMS) do
    for i = 0, #a.bands / TOK - 1 do
      local key, field = posting(P_BAND, a.bands, i)
      unpost(key, field, a.iid)
    end
    for i = 0, #a.anchors / TOK - 1 do
      local key, field = posting(P_ANCHOR, a.anchors, i)
      unpost(key, field, a.iid)
    end
  end
  return #ITEMS

elseif CMD == 'learn' then
  -- Partitioned. Arguments: lines_kept, chrome_stories; items: site, line_keys. Counts
  -- each site's lines once more; returns each one's lines now chrome.
  local out = {}
  for _, a in ipairs(ITEMS) do
    out[#out + 1] = learn_lines(a.site, a.line_keys, tonumber(ARGS.lines_kept), tonumber(ARGS.chrome_stories))
  end
  return out
elseif CMD == 'settle' then
  -- Partitioned. Items: iid. Clears each article's pending mark (its verdict recorded
  -- elsewhere, or it had no copy); returns its cluster (false when gone).
  local out = {}
  for _, a in ipairs(ITEMS) do
    local d = redis.call('HMGET', P_DOC .. a.iid, 'x', 'c')
    if d[1] then redis.call('ZREM', PENDING, d[1]) end
    out[#out + 1] = d[2]
  end
  return out

elseif CMD == 'adjoin' then
  -- Partitioned. Items: iid, links (comma-joined ids). Adds the links of each article
  -- still here (one taken out meanwhile must not get a link set again); 1 when it is.
  local out = {}
  for _, a in ipairs(ITEMS) do
    local here = redis.call('EXISTS', P_DOC .. a.iid)
    if here == 1 then redis.call('SADD', P_LINK .. a.iid, unpack(ids_of(a.links))) end
    out[#out + 1] = here
  end
  return out

elseif CMD == 'relabel' then
  -- Partitioned. Arguments: cluster; items: iid. Puts each article still here in the
  -- cluster; returns its ingest time (false when it was taken out).
  local out = {}
  for _, a in ipairs(ITEMS) do
    local t = redis.call('HGET', P_DOC .. a.iid, 'i')
    if t then redis.call('HSET', P_DOC .. a.iid, 'c', ARGS.cluster) end
    out[#out + 1] = t
  end
  return out
end
return redis.error_reply('unknown command ' .. tostring(CMD))
