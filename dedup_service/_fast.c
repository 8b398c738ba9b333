/* Native core of the fingerprint: the same results as the numpy path in shingle.py,
 * minhash.py and fingerprint.py (tests compare them bit for bit), without a Python object
 * per word. Optional: without a C compiler the package falls back to that path.
 *
 * core(text, seed, k, anchor_k, anchor_mod, max_anchors, a, b)
 *   text: normalized text; words are what the regex \w+(?:['.,]\w+)* finds in it, \w
 *         being Unicode alphanumerics and "_" as for Python's re;
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

static inline int is_word(Py_UCS4 ch) { return ch == '_' || Py_UNICODE_ISALNUM(ch); }

/* Is there a word character at byte i? (without moving) */
static inline int word_at(const unsigned char *s, Py_ssize_t n, Py_ssize_t i) {
    if (i >= n) return 0;
    Py_ssize_t j = i;
    return is_word(decode(s, &j));
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
        if (!is_word(decode(s, &i))) continue;
        Py_ssize_t end = i;
        while (end < n) {
            Py_ssize_t j = end;
            if (is_word(decode(s, &j))) { end = j; continue; }
            unsigned char c = s[end];
            if ((c == '\'' || c == '.' || c == ',') && word_at(s, n, end + 1)) { end += 1; continue; }
            break;
        }
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

static PyMethodDef methods[] = {
    {"core", core, METH_VARARGS, "Words, text hash, signature, shingle count and anchors of a normalized text."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fast", NULL, -1, methods};

PyMODINIT_FUNC PyInit__fast(void) { return PyModule_Create(&module); }
