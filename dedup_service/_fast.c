/* Native core of the hot path, each function giving the same results as the Python or
 * numpy code it stands in for (tests/test_fingerprint.py compares them), without a Python
 * object per word or per candidate: core (below) for the fingerprint, lines, facts,
 * screen and agree (each described above its definition). Optional: without a C
 * compiler the package falls back to the Python code.
 *
 * core(text, seed, k, anchor_k, anchor_mod, max_anchors, a, b)
 *   text: normalized text; words are what normalize.words finds in it: each word character
 *         of a solo script (is_solo) alone, else runs of other word characters with single
 *         "'", "." or "," between them (a word character: Unicode alphanumerics and "_",
 *         as Python's re has \w);
 *   a, b: the MinHash permutation parameters, num_perm little-endian uint64 each.
 * returns (words, text hash, signature, shingles, anchors) or None for a text with no word:
 *   text hash: xxh3-128 (canonical bytes) of the words joined by single spaces;
 *   signature: num_perm little-endian uint16, the low 16 bits of min (a*x+b mod 2^64) >> 32
 *              over the distinct k-shingle hashes x;
 *   shingles: the number of distinct k-shingles;
 *   anchors: the distinct anchor_k-shingle hashes that are 0 mod anchor_mod, ascending,
 *            at most max_anchors (the smallest), little-endian uint64.
 * A shingle hash is splitmix64 of the polynomial sum of its word hashes (xxh3-64 of each
 * word's UTF-8 with the seed) in base 0x9E3779B97F4A7C15; a text shorter than k words is
 * one shingle.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#define XXH_INLINE_ALL
#include "_vendor/xxhash.h"

#define MULT 0x9E3779B97F4A7C15ULL

static inline uint64_t splitmix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* Decode one code point of valid UTF-8 (Python's own encoding of a str). */
static inline Py_UCS4 decode(const unsigned char *s, Py_ssize_t *i) {
    unsigned char c = s[*i];
    if (c < 0x80) { *i += 1; return c; }
    if (c < 0xE0) { Py_UCS4 r = ((c & 0x1F) << 6) | (s[*i + 1] & 0x3F); *i += 2; return r; }
    if (c < 0xF0) {
        Py_UCS4 r = ((c & 0x0F) << 12) | ((s[*i + 1] & 0x3F) << 6) | (s[*i + 2] & 0x3F);
        *i += 3;
        return r;
    }
    Py_UCS4 r = ((c & 0x07) << 18) | ((s[*i + 1] & 0x3F) << 12) | ((s[*i + 2] & 0x3F) << 6) | (s[*i + 3] & 0x3F);
    *i += 4;
    return r;
}

static inline int is_word(Py_UCS4 ch) {
    if (ch < 0x80) return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
    return Py_UNICODE_ISALNUM(ch);
}

/* Scripts written without spaces between words (normalize.SOLO_SCRIPTS): each of their word
 * characters is a token of its own. */
static inline int is_solo(Py_UCS4 ch) {
    if (ch < 0x0E00) return 0;
    return ch <= 0x0EFF || (ch >= 0x1000 && ch <= 0x109F) || (ch >= 0x1780 && ch <= 0x17FF)
        || (ch >= 0x3000 && ch <= 0x312F) || (ch >= 0x31F0 && ch <= 0x31FF) || (ch >= 0x3400 && ch <= 0x4DBF)
        || (ch >= 0x4E00 && ch <= 0x9FFF) || (ch >= 0xF900 && ch <= 0xFAFF) || (ch >= 0x20000 && ch <= 0x3FFFF);
}

/* A word character that joins its neighbours into one token. */
static inline int is_joined(Py_UCS4 ch) { return is_word(ch) && !is_solo(ch); }

/* Is there a joined word character at byte i? (without moving) */
static inline int word_at(const unsigned char *s, Py_ssize_t n, Py_ssize_t i) {
    if (i >= n) return 0;
    Py_ssize_t j = i;
    return is_joined(decode(s, &j));
}

/* The end of a token whose first word character ends at byte `end`: nothing more after a
 * solo character, else more joined word characters, and single separator bytes (those in
 * `seps`) between two of them. */
static Py_ssize_t token_end(const unsigned char *s, Py_ssize_t n, Py_ssize_t end, Py_UCS4 first, const char *seps) {
    if (is_solo(first)) return end;
    while (end < n) {
        Py_ssize_t j = end;
        if (is_joined(decode(s, &j))) { end = j; continue; }
        if (s[end] != 0 && strchr(seps, s[end]) != NULL && word_at(s, n, end + 1)) { end += 1; continue; }
        break;
    }
    return end;
}

static int cmp_u64(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* Sort and keep distinct values; returns the new length. */
static Py_ssize_t sort_unique(uint64_t *v, Py_ssize_t n) {
    if (n == 0) return 0;
    qsort(v, (size_t)n, sizeof(uint64_t), cmp_u64);
    Py_ssize_t m = 1;
    for (Py_ssize_t i = 1; i < n; i++)
        if (v[i] != v[m - 1]) v[m++] = v[i];
    return m;
}

/* The k-shingle hashes of the word hashes t[0..n) into out (with repeats); returns how many. */
static Py_ssize_t shingles(const uint64_t *t, Py_ssize_t n, int k, uint64_t *out) {
    Py_ssize_t count = n - k + 1 > 1 ? n - k + 1 : 1;
    int width = k < n ? k : (int)n;
    for (Py_ssize_t i = 0; i < count; i++) {
        uint64_t acc = t[i];
        for (int j = 1; j < width; j++) acc = acc * MULT + t[i + j];
        out[i] = splitmix(acc);
    }
    return count;
}

/* How many distinct values v[0..n) holds: open addressing in `table` (2^bits slots, with
 * 2^bits >= 2n), where 0 marks an empty slot and the value 0 is counted apart. */
static Py_ssize_t count_distinct(const uint64_t *v, Py_ssize_t n, uint64_t *table, int bits) {
    size_t mask = ((size_t)1 << bits) - 1;
    memset(table, 0, sizeof(uint64_t) * (mask + 1));
    Py_ssize_t distinct = 0;
    int zero = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t x = v[i];
        if (x == 0) { zero = 1; continue; }
        size_t slot = (size_t)(x >> (64 - bits)) & mask;  /* the hashes are already mixed */
        while (table[slot] != 0 && table[slot] != x) slot = (slot + 1) & mask;
        if (table[slot] == 0) { table[slot] = x; distinct++; }
    }
    return distinct + zero;
}

static PyObject *core(PyObject *self, PyObject *args) {
    PyObject *text;
    unsigned long long seed;
    int k, anchor_k, anchor_mod;
    Py_ssize_t max_anchors;
    Py_buffer a, b;
    if (!PyArg_ParseTuple(args, "UKiiiny*y*", &text, &seed, &k, &anchor_k, &anchor_mod, &max_anchors, &a, &b))
        return NULL;
    PyObject *result = NULL;
    uint64_t *words = NULL, *sh = NULL;
    Py_ssize_t num_perm = a.len / 8;
    if (k < 1 || anchor_k < 1 || anchor_mod < 1 || b.len != a.len || num_perm == 0) {
        PyErr_SetString(PyExc_ValueError, "bad shingle or permutation parameters");
        goto done;
    }
    Py_ssize_t n;
    const unsigned char *s = (const unsigned char *)PyUnicode_AsUTF8AndSize(text, &n);
    if (s == NULL) goto done;

    /* words: hash each, and hash the space-joined words for the exact-copy test */
    words = PyMem_Malloc(sizeof(uint64_t) * (size_t)(n / 2 + 1));
    if (words == NULL) { PyErr_NoMemory(); goto done; }
    XXH3_state_t joined;
    XXH3_128bits_reset(&joined);
    Py_ssize_t n_words = 0, i = 0;
    while (i < n) {
        Py_ssize_t start = i;
        Py_UCS4 first = decode(s, &i);
        if (!is_word(first)) continue;
        Py_ssize_t end = token_end(s, n, i, first, "'.,");
        if (n_words > 0) XXH3_128bits_update(&joined, " ", 1);
        XXH3_128bits_update(&joined, s + start, (size_t)(end - start));
        words[n_words++] = XXH3_64bits_withSeed(s + start, (size_t)(end - start), (XXH64_hash_t)seed);
        i = end;
    }
    if (n_words == 0) { result = Py_NewRef(Py_None); goto done; }
    XXH128_canonical_t digest;
    XXH128_canonicalFromHash(&digest, XXH3_128bits_digest(&joined));

    int bits = 1;
    while (((Py_ssize_t)1 << bits) < 2 * n_words) bits++;
    sh = PyMem_Malloc(sizeof(uint64_t) * ((size_t)n_words + ((size_t)1 << bits)));
    if (sh == NULL) { PyErr_NoMemory(); goto done; }
    uint64_t *table = sh + n_words;

    /* signature: repeats do not change a minimum, so no need to make the shingles distinct */
    Py_ssize_t n_all = shingles(words, n_words, k, sh);
    Py_ssize_t n_sh = count_distinct(sh, n_all, table, bits);
    const uint64_t *pa = a.buf, *pb = b.buf;
    uint32_t *best = (uint32_t *)table;  /* num_perm <= 2 * table slots is checked below */
    if (num_perm > 2 * ((Py_ssize_t)1 << bits)) {
        best = PyMem_Malloc(sizeof(uint32_t) * (size_t)num_perm);
        if (best == NULL) { PyErr_NoMemory(); goto done; }
    }
    for (Py_ssize_t p = 0; p < num_perm; p++) best[p] = 0xFFFFFFFFu;
    for (Py_ssize_t x = 0; x < n_all; x++) {
        uint64_t h = sh[x];
        for (Py_ssize_t p = 0; p < num_perm; p++) {
            uint32_t v = (uint32_t)((pa[p] * h + pb[p]) >> 32);
            best[p] = v < best[p] ? v : best[p];
        }
    }
    PyObject *sig = PyBytes_FromStringAndSize(NULL, num_perm * 2);
    if (sig != NULL) {
        unsigned char *out = (unsigned char *)PyBytes_AS_STRING(sig);
        for (Py_ssize_t p = 0; p < num_perm; p++) {
            out[2 * p] = (unsigned char)(best[p] & 0xFF);
            out[2 * p + 1] = (unsigned char)((best[p] >> 8) & 0xFF);
        }
    }
    if (best != (uint32_t *)table) PyMem_Free(best);
    if (sig == NULL) goto done;

    /* anchors: content-defined sample of the distinct anchor_k-shingles, ascending */
    Py_ssize_t n_an = shingles(words, n_words, anchor_k, sh), kept = 0;
    for (Py_ssize_t x = 0; x < n_an; x++)
        if (sh[x] % (uint64_t)anchor_mod == 0) sh[kept++] = sh[x];
    kept = sort_unique(sh, kept);
    if (kept > max_anchors) kept = max_anchors;
    PyObject *anchors = PyBytes_FromStringAndSize((const char *)sh, kept * 8);
    if (anchors == NULL) { Py_DECREF(sig); goto done; }
    result = Py_BuildValue("(ny#NnN)", n_words, (const char *)digest.digest, (Py_ssize_t)16, sig, n_sh, anchors);

done:
    PyMem_Free(words);
    PyMem_Free(sh);
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    return result;
}

/* ---- facts(text, fact_words, stopwords, cased_low, cased_high) ------------------------
 * The same results as features.facts_python (tests compare them): tokens are what
 * features.tokens finds (as core's words, with "/" and "-" also joining), each distinct
 * token once in order of first appearance; a token with a decimal digit is a figure (its
 * '-'-separated parts that hold a digit, rejoined by '-', digits made ASCII); any other token is a word; a word whose casefold is a key of
 * fact_words (bytes -> bytes) adds that figure (else the first of its parts between apostrophes and hyphens that is one); the vocabulary is the sorted distinct
 * top 16 bits of the words' casefolds' xxh32; names are the casefolds of words with an
 * upper-case first letter whose lower() is neither a lower-case word of the text nor in
 * stopwords (a frozenset of bytes), when the share of such capitalized words lies in
 * [cased_low, cased_high]. Hashes are xxh32 (seed 0) of UTF-8. Case mappings of ASCII
 * words are done here; other words go through Python's own str methods.
 * returns (figures: uint32 bytes, names: uint32 bytes, vocabulary: uint16 bytes), native byte order
 */

typedef struct {
    Py_ssize_t start, len;  /* the token in the UTF-8 text */
    uint64_t hash;          /* xxh3-64 of its bytes, for the distinct-token table */
    int digit, ascii, lower_word;
    int numeral;            /* an ideographic numeral ("三千", "第三"): a figure as written */
    int caseless;           /* no cased character: lower() and casefold() leave it as it is */
} Token;

typedef struct {
    uint32_t *v;
    Py_ssize_t n;
    uint64_t *table;  /* open addressing on value + 1 (0: empty), 2^bits slots */
    int bits;
} U32List;  /* distinct values in order of first appearance */

static void u32_add(U32List *l, uint32_t x) {
    size_t mask = ((size_t)1 << l->bits) - 1, slot = (size_t)(x * 0x9E3779B1u) & mask;
    uint64_t key = (uint64_t)x + 1;
    while (l->table[slot] != 0) {
        if (l->table[slot] == key) return;
        slot = (slot + 1) & mask;
    }
    l->table[slot] = key;
    l->v[l->n++] = x;
}

static int u32_init(U32List *l, Py_ssize_t cap) {
    int bits = 1;
    while (((Py_ssize_t)1 << bits) < 2 * cap + 2) bits++;
    l->v = PyMem_Malloc(sizeof(uint32_t) * (size_t)(cap + 1));
    l->table = PyMem_Calloc((size_t)1 << bits, sizeof(uint64_t));
    l->n = 0;
    l->bits = bits;
    if (l->v == NULL || l->table == NULL) { PyErr_NoMemory(); return -1; }
    return 0;
}

static void u32_free(U32List *l) {
    PyMem_Free(l->v);
    PyMem_Free(l->table);
}

static int cmp_u16(const void *x, const void *y) {
    uint16_t a = *(const uint16_t *)x, b = *(const uint16_t *)y;
    return (a > b) - (a < b);
}

/* A Python str method applied to the token, as UTF-8 (a new reference to keep alive). */
static PyObject *str_method(const unsigned char *s, const Token *t, const char *name, const char **out,
                            Py_ssize_t *out_len) {
    PyObject *str = PyUnicode_DecodeUTF8((const char *)s + t->start, t->len, "strict");
    if (str == NULL) return NULL;
    PyObject *res = PyObject_CallMethod(str, name, NULL);
    Py_DECREF(str);
    if (res == NULL) return NULL;
    *out = PyUnicode_AsUTF8AndSize(res, out_len);
    if (*out == NULL) { Py_DECREF(res); return NULL; }
    return res;
}

/* Index of the distinct token with these bytes, or -1. */
static Py_ssize_t token_find(const unsigned char *s, const Token *tokens, const Py_ssize_t *table, int bits,
                             const char *bytes, Py_ssize_t len, uint64_t hash) {
    size_t mask = ((size_t)1 << bits) - 1, slot = (size_t)(hash >> (64 - bits)) & mask;
    while (table[slot] >= 0) {
        const Token *t = &tokens[table[slot]];
        if (t->hash == hash && t->len == len && memcmp(s + t->start, bytes, (size_t)len) == 0) return table[slot];
        slot = (slot + 1) & mask;
    }
    return -1;
}

/* The lower-cased (or case-folded: the same for ASCII) form of a word in buf, or via Python;
 * a word of characters without case is its own. */
static PyObject *mapped(const unsigned char *s, const Token *t, const char *method, char *buf, const char **out,
                        Py_ssize_t *out_len, int *failed) {
    *failed = 0;
    if (t->ascii || t->caseless) {
        for (Py_ssize_t i = 0; i < t->len; i++) {
            unsigned char c = s[t->start + i];
            buf[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        *out = buf;
        *out_len = t->len;
        return NULL;
    }
    PyObject *keep = str_method(s, t, method, out, out_len);
    if (keep == NULL) *failed = 1;
    return keep;
}

/* The ideographic numerals, multipliers and weekday markers of features' facts tokens. */
static inline int is_numeral(Py_UCS4 ch) {
    switch (ch) {
    case 0x3007: case 0x96F6: case 0x4E00: case 0x4E8C: case 0x4E24: case 0x4E09: case 0x56DB: case 0x4E94:
    case 0x516D: case 0x4E03: case 0x516B: case 0x4E5D: case 0x5341: case 0x767E: case 0x5343: case 0x4E07:
    case 0x4EBF: case 0x842C: case 0x5104: case 0x5146:  /* 〇零一二两三四五六七八九十百千万亿萬億兆 */
        return 1;
    default:
        return 0;
    }
}

static inline int is_multiplier(Py_UCS4 ch) {  /* 十百千万亿萬億兆 */
    return ch == 0x5341 || ch == 0x767E || ch == 0x5343 || ch == 0x4E07 || ch == 0x4EBF || ch == 0x842C
        || ch == 0x5104 || ch == 0x5146;
}

static inline int is_ascii_digit(const unsigned char *s, Py_ssize_t n, Py_ssize_t i) {
    return i < n && s[i] >= '0' && s[i] <= '9';
}

/* Is there a word character (\w) at byte i? */
static inline int any_word_at(const unsigned char *s, Py_ssize_t n, Py_ssize_t i) {
    if (i >= n) return 0;
    Py_ssize_t j = i;
    return is_word(decode(s, &j));
}

/* The code point at byte i, and the byte after it in *next (0 past the end). */
static inline Py_UCS4 peek(const unsigned char *s, Py_ssize_t n, Py_ssize_t i, Py_ssize_t *next) {
    *next = i;
    if (i >= n) return 0;
    return decode(s, next);
}

/* The end of thousands grouped by spaces from byte start, as features' pattern
 * [0-9]{1,3}(?: [0-9]{3})+(?:[.,][0-9]+)?(?!\w) matches them (the most groups first, each
 * with its decimals first), or -1. */
static Py_ssize_t grouped_end(const unsigned char *s, Py_ssize_t n, Py_ssize_t start) {
    Py_ssize_t lead = 0;
    while (lead < 3 && is_ascii_digit(s, n, start + lead)) lead++;
    if (lead == 0 || start + lead >= n || s[start + lead] != ' ') return -1;
    Py_ssize_t groups = 0, e = start + lead;
    while (e + 3 < n && s[e] == ' ' && is_ascii_digit(s, n, e + 1) && is_ascii_digit(s, n, e + 2)
           && is_ascii_digit(s, n, e + 3)) {
        e += 4;
        groups++;
    }
    for (; groups > 0; groups--) {
        e = start + lead + 4 * groups;
        if (e < n && (s[e] == '.' || s[e] == ',') && is_ascii_digit(s, n, e + 1)) {
            Py_ssize_t t = e + 1;
            while (is_ascii_digit(s, n, t)) t++;
            if (!any_word_at(s, n, t)) return t;
        }
        if (!any_word_at(s, n, e)) return e;
    }
    return -1;
}

/* The end of the facts token (features._TOKEN) whose first character `first` lies at bytes
 * [start, i), trying its alternatives in the pattern's order: an ideographic weekday, an
 * ideographic numeral of two or an ordinal, grouped thousands, a joined token (with the
 * ideographic multiplier of a figure ending in a digit), or a solo character. *numeral is
 * set for an ideographic numeral token. */
static Py_ssize_t fact_token_end(const unsigned char *s, Py_ssize_t n, Py_ssize_t start, Py_ssize_t i,
                                 Py_UCS4 first, int *numeral) {
    Py_ssize_t j, k;
    Py_UCS4 c1 = peek(s, n, i, &j), c2;
    *numeral = 0;
    /* (?:星期|礼拜|周)[一二三四五六日天] */
    if (first == 0x661F || first == 0x793C || first == 0x5468) {
        Py_ssize_t at = i;
        if (first != 0x5468) {
            if (c1 != (first == 0x661F ? 0x671F : 0x62DC)) goto numerals;  /* 期, 拜 */
            at = j;
        }
        c2 = peek(s, n, at, &k);
        if (c2 == 0x4E00 || c2 == 0x4E8C || c2 == 0x4E09 || c2 == 0x56DB || c2 == 0x4E94 || c2 == 0x516D
            || c2 == 0x65E5 || c2 == 0x5929)
            return k;
    }
    /* [月火水木金土日]曜日? */
    if ((first == 0x6708 || first == 0x706B || first == 0x6C34 || first == 0x6728 || first == 0x91D1
         || first == 0x571F || first == 0x65E5) && c1 == 0x66DC) {
        return peek(s, n, j, &k) == 0x65E5 ? k : j;
    }
numerals:
    /* 第?[numerals]{2,}|第[numerals] */
    if (first == 0x7B2C || is_numeral(first)) {
        Py_ssize_t e = i, run = first == 0x7B2C ? 0 : 1;
        while (is_numeral(peek(s, n, e, &k))) { e = k; run++; }
        if (run >= (first == 0x7B2C ? 1 : 2)) { *numeral = 1; return e; }
    }
    if (first >= '0' && first <= '9') {
        Py_ssize_t e = grouped_end(s, n, start);
        if (e >= 0) return e;
    }
    if (is_solo(first)) return i;
    Py_ssize_t end = token_end(s, n, i, first, "'.,/-");
    if (s[end - 1] >= '0' && s[end - 1] <= '9')
        while (is_multiplier(peek(s, n, end, &k))) end = k;
    return end;
}

/* fact_words (bytes -> bytes) as an open-addressing table on the xxh32 of each key. */
typedef struct {
    struct { uint32_t hash; PyObject *key, *value; } *slots;  /* key NULL: empty */
    size_t mask;
} FactWords;

static int fact_words_init(FactWords *t, PyObject *dict) {
    size_t size = 4;
    while (size < 2 * (size_t)PyDict_GET_SIZE(dict) + 2) size <<= 1;
    t->slots = PyMem_Calloc(size, sizeof(*t->slots));
    t->mask = size - 1;
    if (t->slots == NULL) { PyErr_NoMemory(); return -1; }
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        if (!PyBytes_Check(key) || !PyBytes_Check(value)) {
            PyErr_SetString(PyExc_ValueError, "fact_words maps bytes to bytes");
            return -1;
        }
        uint32_t h = XXH32(PyBytes_AS_STRING(key), (size_t)PyBytes_GET_SIZE(key), 0);
        size_t slot = (size_t)(h * 0x9E3779B1u) & t->mask;
        while (t->slots[slot].key != NULL) slot = (slot + 1) & t->mask;
        t->slots[slot].hash = h;
        t->slots[slot].key = key;  /* borrowed: the dict outlives the call */
        t->slots[slot].value = value;
    }
    return 0;
}

/* The value of the fact word with these bytes (whose xxh32 is hash), or NULL. */
static PyObject *fact_words_get(const FactWords *t, const char *bytes, Py_ssize_t len, uint32_t hash) {
    size_t slot = (size_t)(hash * 0x9E3779B1u) & t->mask;
    for (; t->slots[slot].key != NULL; slot = (slot + 1) & t->mask) {
        PyObject *key = t->slots[slot].key;
        if (t->slots[slot].hash == hash && PyBytes_GET_SIZE(key) == len && memcmp(PyBytes_AS_STRING(key), bytes, (size_t)len) == 0)
            return t->slots[slot].value;
    }
    return NULL;
}

/* Is bytes[0..len) in the frozenset `set` (of bytes)? -1 on error. */
static int contains_bytes(PyObject *set, const char *bytes, Py_ssize_t len) {
    PyObject *key = PyBytes_FromStringAndSize(bytes, len);
    if (key == NULL) return -1;
    int found = PySet_Contains(set, key);
    Py_DECREF(key);
    return found;
}

static PyObject *facts(PyObject *self, PyObject *args) {
    PyObject *text, *fact_words, *stopwords;
    double cased_low, cased_high;
    if (!PyArg_ParseTuple(args, "UO!O!dd", &text, &PyDict_Type, &fact_words, &PyFrozenSet_Type, &stopwords,
                          &cased_low, &cased_high))
        return NULL;
    Py_ssize_t n;
    const unsigned char *s = (const unsigned char *)PyUnicode_AsUTF8AndSize(text, &n);
    if (s == NULL) return NULL;
    PyObject *result = NULL;
    Token *tokens = PyMem_Malloc(sizeof(Token) * (size_t)(n / 2 + 1));
    Py_ssize_t *table = NULL;
    char *buf = PyMem_Malloc((size_t)n + 1);
    uint16_t *vocab = NULL;
    U32List figures = {0}, names = {0};
    /* the fact words, by the xxh32 of their bytes (which the vocabulary computes anyway) */
    FactWords words_table = {0};
    if (tokens == NULL || buf == NULL) { PyErr_NoMemory(); goto done; }
    if (fact_words_init(&words_table, fact_words) < 0) goto done;

    /* tokens, each distinct one once */
    Py_ssize_t n_tok = 0, i = 0;
    int bits = 1;
    while (((Py_ssize_t)1 << bits) < n + 2) bits++;  /* n/2+1 tokens at most: load under 1/2 */
    table = PyMem_Malloc(sizeof(Py_ssize_t) * ((size_t)1 << bits));
    if (table == NULL) { PyErr_NoMemory(); goto done; }
    memset(table, 0xFF, sizeof(Py_ssize_t) * ((size_t)1 << bits));
    while (i < n) {
        Py_ssize_t start = i;
        Py_UCS4 first = decode(s, &i);
        if (!is_word(first)) continue;
        int numeral;
        Py_ssize_t end = fact_token_end(s, n, start, i, first, &numeral);
        i = end;
        uint64_t h = XXH3_64bits(s + start, (size_t)(end - start));
        if (token_find(s, tokens, table, bits, (const char *)s + start, end - start, h) >= 0) continue;
        Token *t = &tokens[n_tok];
        t->start = start;
        t->len = end - start;
        t->hash = h;
        t->digit = 0;
        t->numeral = numeral;
        t->ascii = 1;
        int upper_or_title = 0, cased_lower = 0;
        for (Py_ssize_t j = start; j < end;) {
            Py_UCS4 ch = decode(s, &j);
            if (ch < 0x80) {
                if (ch >= '0' && ch <= '9') t->digit = 1;
                else if (ch >= 'A' && ch <= 'Z') upper_or_title = 1;
                else if (ch >= 'a' && ch <= 'z') cased_lower = 1;
                continue;
            }
            t->ascii = 0;
            if (Py_UNICODE_ISDECIMAL(ch)) t->digit = 1;
            if (Py_UNICODE_ISUPPER(ch) || Py_UNICODE_ISTITLE(ch)) upper_or_title = 1;
            else if (Py_UNICODE_ISLOWER(ch)) cased_lower = 1;
        }
        t->lower_word = !t->digit && !upper_or_title && cased_lower;  /* str.islower() */
        t->caseless = !upper_or_title && !cased_lower;  /* Han, kana, Arabic, Hebrew...: no Python call */
        size_t mask = ((size_t)1 << bits) - 1, slot = (size_t)(h >> (64 - bits)) & mask;
        while (table[slot] >= 0) slot = (slot + 1) & mask;
        table[slot] = n_tok++;
    }
    if (u32_init(&figures, n_tok) < 0 || u32_init(&names, n_tok) < 0) goto done;
    vocab = PyMem_Malloc(sizeof(uint16_t) * (size_t)(n_tok + 1));
    if (vocab == NULL) { PyErr_NoMemory(); goto done; }

    /* figures of tokens with a digit, then the words' vocabulary and spelled numbers */
    Py_ssize_t n_words = 0, n_cap = 0, n_vocab = 0;
    for (Py_ssize_t k = 0; k < n_tok; k++) {
        const Token *t = &tokens[k];
        if (t->numeral) { u32_add(&figures, XXH32(s + t->start, (size_t)t->len, 0)); continue; }
        if (!t->digit) continue;
        Py_ssize_t len = 0, part = t->start;
        const unsigned char *end = s + t->start + t->len;
        while (s + part <= end) {
            const unsigned char *dash = memchr(s + part, '-', (size_t)(end - (s + part)));
            Py_ssize_t stop = dash ? dash - s : end - s;
            int has = 0;
            for (Py_ssize_t j = part; j < stop;) if (Py_UNICODE_ISDECIMAL(decode(s, &j))) { has = 1; break; }
            if (has) {  /* its digits as ASCII: a figure is the same in every script */
                if (len) buf[len++] = '-';
                for (Py_ssize_t j = part; j < stop;) {
                    Py_ssize_t from = j;
                    Py_UCS4 ch = decode(s, &j);
                    int digit = ch >= 0x80 ? Py_UNICODE_TODECIMAL(ch) : -1;
                    if (digit >= 0) buf[len++] = (char)('0' + digit);
                    else { memcpy(buf + len, s + from, (size_t)(j - from)); len += j - from; }
                }
            }
            part = stop + 1;
        }
        u32_add(&figures, XXH32(buf, (size_t)len, 0));
    }
    for (Py_ssize_t k = 0; k < n_tok; k++) {
        const Token *t = &tokens[k];
        if (t->digit) continue;
        n_words++;
        const char *fold;
        Py_ssize_t fold_len;
        int failed;
        PyObject *keep = mapped(s, t, "casefold", buf, &fold, &fold_len, &failed);
        if (failed) goto done;
        uint32_t fold_hash = XXH32(fold, (size_t)fold_len, 0);
        vocab[n_vocab++] = (uint16_t)(fold_hash >> 16);
        PyObject *figure = fact_words_get(&words_table, fold, fold_len, fold_hash);
        /* else that of the first part of a word joined by apostrophes or hyphens that has one */
        int joined = memchr(fold, '\'', (size_t)fold_len) != NULL || memchr(fold, '-', (size_t)fold_len) != NULL;
        for (Py_ssize_t from = 0, to = 0; figure == NULL && joined && from <= fold_len; from = ++to) {
            while (to < fold_len && fold[to] != '\'' && fold[to] != '-') to++;
            figure = fact_words_get(&words_table, fold + from, to - from, XXH32(fold + from, (size_t)(to - from), 0));
        }
        if (figure != NULL) u32_add(&figures, XXH32(PyBytes_AS_STRING(figure), (size_t)PyBytes_GET_SIZE(figure), 0));
        Py_XDECREF(keep);
        Py_ssize_t j = t->start;
        if (Py_UNICODE_ISUPPER(decode(s, &j))) n_cap++;
    }
    qsort(vocab, (size_t)n_vocab, sizeof(uint16_t), cmp_u16);
    Py_ssize_t distinct = 0;
    for (Py_ssize_t k = 0; k < n_vocab; k++)
        if (distinct == 0 || vocab[k] != vocab[distinct - 1]) vocab[distinct++] = vocab[k];
    n_vocab = distinct;

    /* names, when case carries information */
    double share = n_words ? (double)n_cap / (double)n_words : -1.0;
    if (n_words && share >= cased_low && share <= cased_high) {
        for (Py_ssize_t k = 0; k < n_tok; k++) {
            const Token *t = &tokens[k];
            Py_ssize_t j = t->start;
            if (t->digit || !Py_UNICODE_ISUPPER(decode(s, &j))) continue;
            const char *low;
            Py_ssize_t low_len;
            int failed;
            PyObject *keep = mapped(s, t, "lower", buf, &low, &low_len, &failed);
            if (failed) goto done;
            Py_ssize_t same = token_find(s, tokens, table, bits, low, low_len, XXH3_64bits(low, (size_t)low_len));
            int stop = contains_bytes(stopwords, low, low_len);
            Py_XDECREF(keep);
            if (stop < 0) goto done;
            if ((same >= 0 && tokens[same].lower_word) || stop) continue;
            const char *fold;
            Py_ssize_t fold_len;
            keep = mapped(s, t, "casefold", buf, &fold, &fold_len, &failed);
            if (failed) goto done;
            u32_add(&names, XXH32(fold, (size_t)fold_len, 0));
            Py_XDECREF(keep);
        }
    }
    result = Py_BuildValue("(y#y#y#)", (const char *)figures.v, figures.n * 4, (const char *)names.v, names.n * 4,
                           (const char *)vocab, n_vocab * 2);

done:
    PyMem_Free(tokens);
    PyMem_Free(table);
    PyMem_Free(buf);
    PyMem_Free(vocab);
    u32_free(&figures);
    u32_free(&names);
    PyMem_Free(words_table.slots);
    return result;
}

/* ---- screen(query_sig, query_hash, query_shingles, searched, records, hashes, shared, anchors,
 *             k, anchor_k, near, low) ---------------------------------------------------
 * The same estimates as classify.containment and minhash.jaccard_many (tests compare
 * them), for every candidate of a query at once. A candidate's record holds its shingle
 * count as the first little-endian uint32 and its signature as the last len(query_sig)
 * bytes (see candidate.pack_record); hashes are text hashes, shared the anchors it shares
 * with the query and anchors its own anchor count.
 * returns [(i, similarity, containment of the query in it, of it in the query), ...] for
 * the candidates worth a close look: the same text, similarity >= near or either
 * containment >= low.
 */

static inline double clip(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

/* word-level share and its variance from a shingle-level share (see classify._word_share) */
static inline void word_share(double share, double var, int k, double *p, double *var_out) {
    share = clip(share, 1e-3, 1.0);
    *p = pow(share, 1.0 / k);
    double slope = *p / (k * share);
    *var_out = var * slope * slope;
}

static double containment_of(double jac, double size_a, double size_b, double shared, double anchors_a,
                             double num_perm, int k, int anchor_k) {
    double j = clip(jac, 0.02, 0.98);
    double inter = jac * (size_a + size_b) / (1.0 + jac);
    double derived = size_a > 0 ? fmin(1.0, inter / fmax(size_a, 1)) : 0.0;
    double slope = (size_a + size_b) / (fmax(size_a, 1) * ((1 + j) * (1 + j)));
    double p_d, var_d, p_a, var_a;
    word_share(derived, fmax(slope * slope * j * (1 - j) / num_perm, 1e-4), k, &p_d, &var_d);
    if (!(anchors_a > 0)) return p_d;
    double anchors = fmax(anchors_a, 1);
    double by_anchors = fmin(1.0, shared / anchors);
    double c = clip(by_anchors, 0.05, 0.95);
    word_share(by_anchors, c * (1 - c) / anchors, anchor_k, &p_a, &var_a);
    double w_a = 1 / fmax(var_a, 1e-6), w_d = 1 / fmax(var_d, 1e-6);
    return (w_a * p_a + w_d * p_d) / (w_a + w_d);
}

static PyObject *screen(PyObject *self, PyObject *args) {
    Py_buffer query;
    const char *query_hash;
    Py_ssize_t query_hash_len, nq, searched;
    PyObject *records, *hashes, *shared, *anchors;
    int k, anchor_k;
    double near, low;
    if (!PyArg_ParseTuple(args, "y*y#nnO!O!O!O!iidd", &query, &query_hash, &query_hash_len, &nq, &searched,
                          &PyList_Type, &records, &PyList_Type, &hashes, &PyList_Type, &shared, &PyList_Type,
                          &anchors, &k, &anchor_k, &near, &low))
        return NULL;
    PyObject *out = NULL;
    Py_ssize_t n = PyList_GET_SIZE(records), perm = query.len / 2;
    if (PyList_GET_SIZE(hashes) != n || PyList_GET_SIZE(shared) != n || PyList_GET_SIZE(anchors) != n || perm == 0
        || k < 1 || anchor_k < 1) {
        PyErr_SetString(PyExc_ValueError, "screen: lists of unequal length or bad parameters");
        goto done;
    }
    out = PyList_New(0);
    if (out == NULL) goto done;
    const unsigned char *q = query.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *rec = PyList_GET_ITEM(records, i), *th = PyList_GET_ITEM(hashes, i);
        if (!PyBytes_Check(rec) || PyBytes_GET_SIZE(rec) < 16 + query.len || !PyBytes_Check(th)) {
            PyErr_SetString(PyExc_ValueError, "screen: a record or text hash is not bytes of the right size");
            Py_CLEAR(out);
            goto done;
        }
        const unsigned char *r = (const unsigned char *)PyBytes_AS_STRING(rec);
        uint32_t size = (uint32_t)r[0] | ((uint32_t)r[1] << 8) | ((uint32_t)r[2] << 16) | ((uint32_t)r[3] << 24);
        const unsigned char *tail = r + PyBytes_GET_SIZE(rec) - query.len;
        Py_ssize_t agree = 0;
        for (Py_ssize_t p = 0; p < perm; p++) {
            agree += tail[2 * p] == q[2 * p] && tail[2 * p + 1] == q[2 * p + 1];
        }
        double sim = (double)agree / (double)perm;
        double n_shared = PyFloat_AsDouble(PyList_GET_ITEM(shared, i));
        double own = PyFloat_AsDouble(PyList_GET_ITEM(anchors, i));
        if (PyErr_Occurred()) { Py_CLEAR(out); goto done; }
        double c_q = containment_of(sim, (double)nq, (double)size, n_shared, (double)searched, (double)perm, k,
                                    anchor_k);
        double c_c = containment_of(sim, (double)size, (double)nq, n_shared, own, (double)perm, k, anchor_k);
        int exact = PyBytes_GET_SIZE(th) == query_hash_len
                    && memcmp(PyBytes_AS_STRING(th), query_hash, (size_t)query_hash_len) == 0;
        if (exact || sim >= near || fmax(c_q, c_c) >= low) {
            PyObject *row = Py_BuildValue("(nddd)", i, sim, c_q, c_c);
            if (row == NULL || PyList_Append(out, row) < 0) { Py_XDECREF(row); Py_CLEAR(out); goto done; }
            Py_DECREF(row);
        }
    }

done:
    PyBuffer_Release(&query);
    return out;
}

/* ---- lines(raw, folded) -------------------------------------------------------------
 * The same lines as normalize.split_lines_python (tests compare them), given the text and
 * its folded form: the lines of both (str.splitlines), each with inner whitespace
 * collapsed (str.split), the first of each distinct folded line that holds a word
 * character. returns [(raw line, folded line, xxh3-64 of the folded line's UTF-8 as
 * canonical bytes), ...], or None when folding changed the number of lines.
 */

/* The next line of s[*pos..n) as [*start, *end), as str.splitlines() cuts it. */
static int next_line(const unsigned char *s, Py_ssize_t n, Py_ssize_t *pos, Py_ssize_t *start, Py_ssize_t *end) {
    if (*pos >= n) return 0;
    *start = *pos;
    for (Py_ssize_t i = *pos; i < n; i++) {
        unsigned char c = s[i];
        Py_ssize_t brk = 0;
        if (c == '\n' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e) brk = 1;
        else if (c == '\r') brk = i + 1 < n && s[i + 1] == '\n' ? 2 : 1;
        else if (c == 0xC2 && i + 1 < n && s[i + 1] == 0x85) brk = 2;                 /* U+0085 */
        else if (c == 0xE2 && i + 2 < n && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) brk = 3;
        if (brk) {
            *end = i;
            *pos = i + brk;
            return 1;
        }
    }
    *end = *pos = n;
    return 1;
}

static inline int is_space(Py_UCS4 ch) {
    if (ch < 0x80) return ch == ' ' || (ch >= 0x09 && ch <= 0x0d) || (ch >= 0x1c && ch <= 0x1f);
    return Py_UNICODE_ISSPACE(ch);
}

/* The marks normalize.fold_script drops: Arabic tatweel and harakat, Hebrew points. */
static inline int is_dropped_mark(Py_UCS4 ch) {
    return ch == 0x0640 || (ch >= 0x064B && ch <= 0x065F) || ch == 0x0670 || (ch >= 0x0591 && ch <= 0x05BD)
        || ch == 0x05BF || ch == 0x05C1 || ch == 0x05C2 || ch == 0x05C4 || ch == 0x05C5 || ch == 0x05C7;
}

/* s[start..end) with whitespace runs made one space and the ends stripped, into out; with
 * `script`, as normalize.fold_script first (digits of every script made ASCII, marks dropped). */
static Py_ssize_t collapse(const unsigned char *s, Py_ssize_t start, Py_ssize_t end, char *out, int *has_word,
                           int script) {
    Py_ssize_t len = 0, i = start;
    int gap = 0;
    *has_word = 0;
    while (i < end) {
        Py_ssize_t j = i;
        Py_UCS4 ch = decode(s, &j);
        int digit = -1;
        if (script && ch >= 0x0591) {
            if (is_dropped_mark(ch)) { i = j; continue; }
            digit = Py_UNICODE_TODECIMAL(ch);
        }
        if (is_space(ch)) {
            gap = len > 0;
        } else {
            if (gap) { out[len++] = ' '; gap = 0; }
            if (digit >= 0) {
                out[len++] = (char)('0' + digit);
            } else {
                memcpy(out + len, s + i, (size_t)(j - i));
                len += j - i;
            }
            if (!*has_word && is_word(ch)) *has_word = 1;
        }
        i = j;
    }
    return len;
}

static Py_ssize_t count_lines(const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t count = 0, pos = 0, start, end;
    while (next_line(s, n, &pos, &start, &end)) count++;
    return count;
}

static PyObject *lines(PyObject *self, PyObject *args) {
    PyObject *raw_obj, *folded_obj;
    if (!PyArg_ParseTuple(args, "UU", &raw_obj, &folded_obj)) return NULL;
    Py_ssize_t nr, nf;
    const unsigned char *raw = (const unsigned char *)PyUnicode_AsUTF8AndSize(raw_obj, &nr);
    if (raw == NULL) return NULL;
    const unsigned char *folded = (const unsigned char *)PyUnicode_AsUTF8AndSize(folded_obj, &nf);
    if (folded == NULL) return NULL;
    Py_ssize_t n_lines = count_lines(folded, nf);
    if (n_lines != count_lines(raw, nr)) Py_RETURN_NONE;

    PyObject *out = NULL;
    char *arena = PyMem_Malloc((size_t)nf + 1), *buf = PyMem_Malloc((size_t)nr + 1);
    int bits = 1;
    while (((Py_ssize_t)1 << bits) < 2 * n_lines + 2) bits++;
    size_t mask = ((size_t)1 << bits) - 1;
    /* distinct folded lines: (hash, offset in arena, length), open addressing */
    Py_ssize_t *slots = PyMem_Malloc(sizeof(Py_ssize_t) * (mask + 1) * 3);
    if (arena == NULL || buf == NULL || slots == NULL) { PyErr_NoMemory(); goto done; }
    for (size_t k = 0; k <= mask; k++) slots[3 * k + 2] = -1;
    out = PyList_New(0);
    if (out == NULL) goto done;
    Py_ssize_t fpos = 0, rpos = 0, fs, fe, rs, re, used = 0;
    while (next_line(folded, nf, &fpos, &fs, &fe) && next_line(raw, nr, &rpos, &rs, &re)) {
        int has_word, raw_word;
        char *norm = arena + used;
        Py_ssize_t len = collapse(folded, fs, fe, norm, &has_word, 1);
        if (!has_word) continue;
        uint64_t h = XXH3_64bits(norm, (size_t)len);
        size_t slot = (size_t)(h >> (64 - bits)) & mask;
        int seen = 0;
        while (slots[3 * slot + 2] >= 0) {
            if ((uint64_t)slots[3 * slot] == h && slots[3 * slot + 2] == len
                && memcmp(arena + slots[3 * slot + 1], norm, (size_t)len) == 0) { seen = 1; break; }
            slot = (slot + 1) & mask;
        }
        if (seen) continue;
        slots[3 * slot] = (Py_ssize_t)h;
        slots[3 * slot + 1] = used;
        slots[3 * slot + 2] = len;
        used += len;
        Py_ssize_t raw_len = collapse(raw, rs, re, buf, &raw_word, 0);
        XXH64_canonical_t key;
        XXH64_canonicalFromHash(&key, h);
        PyObject *row = Py_BuildValue("(s#s#y#)", buf, raw_len, norm, len, (const char *)key.digest, (Py_ssize_t)8);
        if (row == NULL || PyList_Append(out, row) < 0) { Py_XDECREF(row); Py_CLEAR(out); goto done; }
        Py_DECREF(row);
    }

done:
    PyMem_Free(arena);
    PyMem_Free(buf);
    PyMem_Free(slots);
    return out;
}

/* ---- agree(query_record, candidate_record, threshold, nearly_all) -------------------------
 * classify.facts_agree on two packed records (see candidate.pack_record: a head of four
 * little-endian uint32 (shingles, figures, names, vocabulary sizes), then the figures and
 * names as uint32, the vocabulary as uint16, the signature), the smaller text (fewer
 * shingles; the query on a tie) against the larger, without decoding them.
 */

typedef struct {
    uint32_t size, n_fig, n_names, n_vocab;
    const unsigned char *fig, *names, *vocab;
} Record;

static inline uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int read_record(const unsigned char *p, Py_ssize_t len, Record *r) {
    if (len < 16) return -1;
    r->size = le32(p);
    r->n_fig = le32(p + 4);
    r->n_names = le32(p + 8);
    r->n_vocab = le32(p + 12);
    if ((uint64_t)16 + 4 * ((uint64_t)r->n_fig + r->n_names) + 2 * (uint64_t)r->n_vocab > (uint64_t)len) return -1;
    r->fig = p + 16;
    r->names = r->fig + 4 * (size_t)r->n_fig;
    r->vocab = r->names + 4 * (size_t)r->n_names;
    return 0;
}

static int cmp_u32(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

/* Sorted distinct copy of n little-endian uint32 (shifted right by `shift`); returns the count. */
static Py_ssize_t sorted_distinct(const unsigned char *p, uint32_t n, int shift, uint32_t *out) {
    for (uint32_t i = 0; i < n; i++) out[i] = le32(p + 4 * (size_t)i) >> shift;
    qsort(out, n, sizeof(uint32_t), cmp_u32);
    Py_ssize_t m = 0;
    for (uint32_t i = 0; i < n; i++)
        if (m == 0 || out[i] != out[m - 1]) out[m++] = out[i];
    return m;
}

static int in_sorted(const uint32_t *v, Py_ssize_t n, uint32_t x) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (v[mid] < x) lo = mid + 1; else hi = mid;
    }
    return lo < n && v[lo] == x;
}

static PyObject *agree(PyObject *self, PyObject *args) {
    Py_buffer qb, cb;
    double threshold, nearly_all;
    if (!PyArg_ParseTuple(args, "y*y*dd", &qb, &cb, &threshold, &nearly_all)) return NULL;
    PyObject *result = NULL;
    uint32_t *work = NULL;
    uint8_t *bitmap = NULL;
    Record q, c;
    if (read_record(qb.buf, qb.len, &q) < 0 || read_record(cb.buf, cb.len, &c) < 0) {
        PyErr_SetString(PyExc_ValueError, "agree: not a packed record");
        goto done;
    }
    const Record *small = q.size <= c.size ? &q : &c, *large = small == &q ? &c : &q;
    uint32_t most = small->n_fig + large->n_fig + small->n_names;
    work = PyMem_Malloc(sizeof(uint32_t) * ((size_t)most + 1));
    if (work == NULL) { PyErr_NoMemory(); goto done; }
    int ok = 1;
    if (small->n_fig > 0) {  /* most of the smaller text's figures reappear */
        uint32_t *mine = work, *theirs = work + small->n_fig;
        Py_ssize_t n_mine = sorted_distinct(small->fig, small->n_fig, 0, mine);
        Py_ssize_t n_theirs = sorted_distinct(large->fig, large->n_fig, 0, theirs);
        Py_ssize_t found = 0;
        for (Py_ssize_t i = 0; i < n_mine; i++) found += in_sorted(theirs, n_theirs, mine[i]);
        ok = (double)found / (double)small->n_fig >= threshold;
    }
    if (ok && small->n_names > 0 && large->n_vocab > 0) {  /* and so do its names, the lead's first */
        bitmap = PyMem_Calloc(65536 / 8, 1);
        if (bitmap == NULL) { PyErr_NoMemory(); goto done; }
        for (uint32_t i = 0; i < large->n_vocab; i++) {
            uint32_t key = (uint32_t)large->vocab[2 * (size_t)i] | ((uint32_t)large->vocab[2 * (size_t)i + 1] << 8);
            bitmap[key >> 3] |= (uint8_t)(1u << (key & 7));
        }
        Py_ssize_t n_keys = sorted_distinct(small->names, small->n_names, 16, work);
        Py_ssize_t found = 0;
        for (Py_ssize_t i = 0; i < n_keys; i++) found += (bitmap[work[i] >> 3] >> (work[i] & 7)) & 1;
        double share = (double)found / (double)n_keys;
        uint32_t lead = le32(small->names) >> 16;
        ok = share >= threshold && (((bitmap[lead >> 3] >> (lead & 7)) & 1) || share >= nearly_all);
    }
    result = PyBool_FromLong(ok);

done:
    PyMem_Free(work);
    PyMem_Free(bitmap);
    PyBuffer_Release(&qb);
    PyBuffer_Release(&cb);
    return result;
}

static PyMethodDef methods[] = {
    {"core", core, METH_VARARGS, "Words, text hash, signature, shingle count and anchors of a normalized text."},
    {"screen", screen, METH_VARARGS, "Similarity and containments of the candidates worth a close look."},
    {"lines", lines, METH_VARARGS, "The distinct lines with words of a text and of its folded form."},
    {"agree", agree, METH_VARARGS, "Whether the facts of two packed records agree (see classify.facts_agree)."},
    {"facts", facts, METH_VARARGS, "Figures, names and vocabulary of a text (see features.facts_python)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fast", NULL, -1, methods};

PyMODINIT_FUNC PyInit__fast(void) { return PyModule_Create(&module); }
