"""Defaults and tunables, in one place (the Redis key names are in ``keys``)."""

from __future__ import annotations

DEFAULT_THRESHOLD = 0.5
DEFAULT_NUM_PERM = 128
# word 5-shingles: long enough that common phrases ("said on Monday") rarely collide,
# short enough that one edited word only disturbs 5 shingles
DEFAULT_SHINGLE_SIZE = 5
DEFAULT_SEED = 1
DEFAULT_KEY_PREFIX = "dedup"
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
DEFAULT_MATCH_LIMIT = 50
MAX_MATCH_LIMIT = 1000
# matches of a check whose shared passages are given (explain=N): each costs an alignment
MAX_EXPLAINED = 20
# candidates fetched per query; buckets of boilerplate-only texts can grow without bound
DEFAULT_MAX_CANDIDATES = 2000
MAX_ID_LENGTH = 256
# longest text or html accepted (a long feature is about 100k characters)
MAX_TEXT_CHARS = 1_000_000
# texts longer than this (about 30k words, >10 ms of work) are fingerprinted in a thread
# so that the event loop keeps serving other requests
EXECUTOR_TEXT_CHARS = 200_000
# characters of a long text counted at a time for its normalized length (a few ms each)
FOLD_BOUND_SLICE = 32_768
# seconds /metrics waits for Redis's article count; a scrape must answer while Redis stalls
METRICS_REDIS_TIMEOUT = 0.5
# malformed requests logged a minute (one warning line each); the rest are counted, not logged
MALFORMED_LOG_PER_MINUTE = 10


# Anchors (content-defined sample of word 3-shingles for containment search and
# estimates): one in 8 by default (IndexLayout.anchor_sample, fixed per index), so a
# passage of 40 words carries about 5 anchors; a candidate
# must share MIN_SHARED_ANCHORS, or a quarter of the query's anchors when that is fewer:
# a short text (4 anchors or fewer, about 30 words) can keep a single one in a copy.
# 3 words, not 5: an edited word breaks fewer anchors.
ANCHOR_SHINGLE_SIZE = 3
DEFAULT_ANCHOR_SAMPLE = 8
MAX_ANCHORS = 256
MIN_SHARED_ANCHORS = 2
# a rewrite (an article written from another) keeps at least one in eight of its 3-word
# phrases verbatim from its source (see thresholds.Thresholds.rewrite)
REWRITE_PHRASE_SHARE = 1 / 8
# a candidate must also, unless it shares an LSH bucket, hold at least this share of the
# smaller anchor set: half a rewrite's share of phrases (anchors are a sample of them,
# so the share is an estimate); a related text keeps about 0.7**3 = 0.34 of the anchors
MIN_SHARED_ANCHOR_SHARE = REWRITE_PHRASE_SHARE / 2
# an article is written from one source story, sometimes two: of its possible rewrites,
# only the candidates holding the most of its sampled phrases are measured on their texts
REWRITE_SOURCES = 2
# a cut-down copy keeps 0.9 of the words, about 0.73 of the anchors: an article whose
# candidates all share less than half of the smaller anchor set (and no LSH bucket)
# has no copy among them, so its verdict needs no second call to record links
COPY_ANCHOR_SHARE = 0.5
# a posting (an LSH bucket or an anchor) keeps at most this many articles (its first): a
# common phrase stops growing, while a story syndicated hundreds of times is still found
# through its first copies, and its buckets stay short values in their shard's listpack
MAX_POSTINGS = 100
# an anchor posting keeps fewer: a 3-word phrase held by this many articles is a stock
# phrase ("said in a statement") or a story's copies, whose first ones lead to the rest
# (measured in docs/decisions.md, "Tuning")
MAX_ANCHOR_POSTINGS = 64
# a search returns at most this many candidates of one cluster (the first it finds: a
# story's earliest copies lead its buckets), so that each new copy of a story copied
# hundreds of times is verified against this many, not against every copy so far; the
# cluster endpoint lists them all
CLUSTER_CANDIDATES = 32
# a pair whose estimates fall between related and copy is measured on its stored texts
# (see classify) when neither has more words than this: a longer text carries 100+
# anchors, which pin the estimate within a few points
MAX_ALIGNED_WORDS = 1000
# an excerpt of this many words (a lede, a teaser) says enough to be a copy of its story;
# a shorter line found whole in two texts (a tagline, a section name, an agency blurb, a
# credit) is stock text, and shows neither a copy nor a rewrite (see thresholds.Thresholds)
MIN_COPY_WORDS = 25

# Postings (LSH buckets, anchors) live in 2**shard_bits hashes per kind (fixed when an
# index is created), each a compact listpack while it has at most REDIS_TUNING's 1024
# fields: 13 bits keep about 300k articles compact, 16 bits 2.5M (docs/design.md)
DEFAULT_SHARD_BITS = 13
# settings the embedded redis-server starts with, and recommended for an external one:
# small hashes (postings shards, articles) stay listpacks, a dozen bytes per field
REDIS_TUNING = {"hash-max-ziplist-entries": "1024", "hash-max-ziplist-value": "4096"}

# Site chrome: a line carried by this many distinct stories of one site is boilerplate
# ("Connect with us", agency blurbs, teaser headings) and is left out of the shingles.
CHROME_MIN_STORIES = 3
# line statistics kept per site; the rarest lines (mostly story text seen once) go first
SITE_LINES_KEPT = 5000
# a process re-reads a site's chrome lines at most this often (seconds), for at most
# this many sites; lines it learns itself apply at once
CHROME_REFRESH = 5.0
CHROME_SITES_CACHED = 10_000

# cluster reads: members returned by GET /v1/clusters/{id}; listing pages and samples
MAX_CLUSTER_MEMBERS = 1000
CLUSTER_PAGE = 100
MAX_CLUSTER_PAGES = 20
CLUSTER_SAMPLE = 50

# webhook deliveries: an answer is replayed for a day; a claim in progress expires sooner
DELIVERY_TTL = 86_400
DELIVERY_PENDING_TTL = 300

# retention: articles removed per script call, so Redis is never blocked for long
EXPIRE_BATCH = 200
# an ingest's verdict is recorded right after its index write; one still missing after
# this many seconds belongs to a service that stopped in between, and the sweep redoes it
PENDING_GRACE = 30.0
MAINTENANCE_INTERVAL = 10.0
# seconds a stopping service waits for its background work and its Redis client
SHUTDOWN_TIMEOUT = 5.0
# articles per upsert script call in a batch: one round trip each, and Redis is never
# blocked for more than a few milliseconds
UPSERT_CHUNK = 50
# chunks a batch prepares and sends ahead of the oldest reply it has not read, so that
# Redis has the next chunk's write while this process verifies
BATCH_WRITES_AHEAD = 2
# a batch hands the event loop back after each article of CPU work, so that single
# requests are served meanwhile and its next writes go to Redis as soon as possible
BATCH_YIELD_EVERY = 1

# the serving process's garbage-collector thresholds (see cli.tune_gc): a young-generation
# collection every 100k net container allocations (a few batches) instead of every 700
GC_THRESHOLDS = (100_000, 50, 100)
