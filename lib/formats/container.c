/* The container shared by model, embedding and index files (docs/file-formats.md): a checked
 * header, a zlib payload, and a list of named entries. The reader validates every length against
 * the bytes that remain before touching them, so any input, however damaged, fails cleanly. */
#include <string.h>
#include <zlib.h>

#include "formats.h"

#define HEADER_SIZE 40
#define MAX_PAYLOAD ((uint64_t)1 << 36) /* 64 GiB: far beyond any sane file, bounds inflate */
/* Deflate codes a 258-byte match in no less than 2 bits: a zlib stream never inflates to more
 * than 1032 times its size. A payload size beyond that cannot be true. */
#define MAX_INFLATE_RATIO 1032
/* The payload buffer starts at this or 4 x the compressed size and doubles as inflate fills it,
 * so that memory follows what the file holds, not what its header claims. */
#define FIRST_PAYLOAD_CHUNK ((size_t)1 << 20)
#define MAX_KEY 255

enum entry_type { ENTRY_STR = 1, ENTRY_I64 = 2, ENTRY_F64 = 3, ENTRY_TENSOR = 4 };

struct entry {
    char *key;
    int32_t type;
    char *str;
    int64_t i64;
    double f64;
    vi__tensor tensor; /* tensor.name == key; data points into the doc's payload */
};

struct vi__doc {
    uint8_t *payload;
    struct entry *entries;
    int32_t n_entries;
    int32_t n_tensors;
    int32_t *tensor_entry; /* index into entries of the i-th tensor */
};

/* ---- little-endian helpers ---- */

static uint32_t rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd_u64(const uint8_t *p) { return rd_u32(p) | (uint64_t)rd_u32(p + 4) << 32; }
static void wr_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void wr_u64(uint8_t *p, uint64_t v) {
    wr_u32(p, (uint32_t)v);
    wr_u32(p + 4, (uint32_t)(v >> 32));
}

static size_t dtype_size(int32_t dtype) {
    switch (dtype) {
    case VI__DT_F32: return 4;
    case VI__DT_U8Q: return 1;
    case VI__DT_I64: return 8;
    }
    return 0;
}

int64_t vi__tensor_numel(const vi__tensor *t) {
    int64_t n = 1;
    for (int32_t i = 0; i < t->ndim; i++) n *= t->dims[i];
    return n;
}

void vi__tensor_to_f32(const vi__tensor *t, float *out) {
    int64_t n = vi__tensor_numel(t);
    const uint8_t *p = t->data;
    switch (t->dtype) {
    case VI__DT_F32: memcpy(out, p, (size_t)n * 4); break;
    case VI__DT_U8Q:
        for (int64_t i = 0; i < n; i++) out[i] = (float)p[i] * t->qscale + t->qmin;
        break;
    case VI__DT_I64:
        for (int64_t i = 0; i < n; i++) {
            int64_t v;
            memcpy(&v, p + 8 * i, 8);
            out[i] = (float)v;
        }
        break;
    }
}

/* ---- reader ---- */

struct cursor {
    const uint8_t *p;
    size_t left;
};

static int take(struct cursor *c, size_t n, const uint8_t **out) {
    if (c->left < n) return 0;
    *out = c->p;
    c->p += n;
    c->left -= n;
    return 1;
}

void vi__doc_free(vi__doc *doc) {
    if (!doc) return;
    for (int32_t i = 0; i < doc->n_entries; i++) {
        vi__free(doc->entries[i].key);
        vi__free(doc->entries[i].str);
    }
    vi__free(doc->entries);
    vi__free(doc->tensor_entry);
    vi__free(doc->payload);
    vi__free(doc);
}

static vi_status parse_entry(struct cursor *c, struct entry *e, vi_status bad, uint32_t index) {
    const uint8_t *p;
    if (!take(c, 2, &p)) return vi__fail(bad, "entry %u: truncated key length", index);
    size_t key_len = (size_t)p[0] | (size_t)p[1] << 8;
    if (key_len == 0 || key_len > MAX_KEY) return vi__fail(bad, "entry %u: bad key length", index);
    if (!take(c, key_len, &p)) return vi__fail(bad, "entry %u: truncated key", index);
    if (memchr(p, 0, key_len)) return vi__fail(bad, "entry %u: key contains NUL", index);
    e->key = vi__malloc(key_len + 1);
    if (!e->key) return vi__fail(VI_E_NOMEM, "out of memory");
    memcpy(e->key, p, key_len);
    e->key[key_len] = '\0';
    if (!take(c, 1, &p)) return vi__fail(bad, "entry '%s': truncated type", e->key);
    e->type = p[0];
    switch (e->type) {
    case ENTRY_STR: {
        if (!take(c, 4, &p)) return vi__fail(bad, "entry '%s': truncated", e->key);
        uint32_t len = rd_u32(p);
        if (!take(c, len, &p)) return vi__fail(bad, "entry '%s': truncated string", e->key);
        e->str = vi__malloc((size_t)len + 1);
        if (!e->str) return vi__fail(VI_E_NOMEM, "out of memory");
        memcpy(e->str, p, len);
        e->str[len] = '\0';
        return VI_OK;
    }
    case ENTRY_I64:
    case ENTRY_F64:
        if (!take(c, 8, &p)) return vi__fail(bad, "entry '%s': truncated number", e->key);
        if (e->type == ENTRY_I64) {
            uint64_t u = rd_u64(p);
            memcpy(&e->i64, &u, 8);
        } else {
            uint64_t u = rd_u64(p);
            memcpy(&e->f64, &u, 8);
        }
        return VI_OK;
    case ENTRY_TENSOR: {
        vi__tensor *t = &e->tensor;
        t->name = e->key;
        if (!take(c, 2, &p)) return vi__fail(bad, "tensor '%s': truncated header", e->key);
        t->dtype = p[0];
        t->ndim = p[1];
        if (!dtype_size(t->dtype)) return vi__fail(bad, "tensor '%s': unknown dtype %d", e->key, t->dtype);
        if (t->ndim > 4) return vi__fail(bad, "tensor '%s': %d dimensions (max 4)", e->key, t->ndim);
        uint64_t numel = 1;
        for (int32_t d = 0; d < t->ndim; d++) {
            if (!take(c, 8, &p)) return vi__fail(bad, "tensor '%s': truncated dims", e->key);
            uint64_t dim = rd_u64(p);
            if (dim > MAX_PAYLOAD || (dim && numel > MAX_PAYLOAD / dim))
                return vi__fail(bad, "tensor '%s': absurd shape", e->key);
            t->dims[d] = (int64_t)dim;
            numel *= dim;
        }
        if (t->dtype == VI__DT_U8Q) {
            if (!take(c, 8, &p)) return vi__fail(bad, "tensor '%s': truncated scale", e->key);
            uint32_t a = rd_u32(p), b = rd_u32(p + 4);
            memcpy(&t->qscale, &a, 4);
            memcpy(&t->qmin, &b, 4);
        }
        if (!take(c, 8, &p)) return vi__fail(bad, "tensor '%s': truncated size", e->key);
        uint64_t nbytes = rd_u64(p);
        if (nbytes != numel * dtype_size(t->dtype))
            return vi__fail(bad, "tensor '%s': %llu data bytes for %llu elements", e->key,
                            (unsigned long long)nbytes, (unsigned long long)numel);
        if (!take(c, (size_t)nbytes, &p))
            return vi__fail(bad, "tensor '%s': truncated data", e->key);
        t->data = p;
        t->nbytes = (size_t)nbytes;
        return VI_OK;
    }
    }
    return vi__fail(bad, "entry '%s': unknown type %d", e->key, e->type);
}

static vi_status parse_entries(vi__doc *doc, size_t size, vi_status bad) {
    struct cursor c = {doc->payload, size};
    const uint8_t *p;
    if (!take(&c, 4, &p)) return vi__fail(bad, "payload too short");
    uint32_t count = rd_u32(p);
    if (count > size / 4) return vi__fail(bad, "payload claims %u entries", count);
    doc->entries = vi__calloc(count, sizeof *doc->entries);
    doc->tensor_entry = vi__calloc(count, sizeof *doc->tensor_entry);
    if (!doc->entries || !doc->tensor_entry) return vi__fail(VI_E_NOMEM, "out of memory");
    for (uint32_t i = 0; i < count; i++) {
        struct entry *e = &doc->entries[i];
        doc->n_entries = (int32_t)i + 1;
        vi_status st = parse_entry(&c, e, bad, i);
        if (st != VI_OK) return st;
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(doc->entries[j].key, e->key) == 0)
                return vi__fail(bad, "duplicate entry '%s'", e->key);
        if (e->type == ENTRY_TENSOR) doc->tensor_entry[doc->n_tensors++] = (int32_t)i;
    }
    if (c.left != 0) return vi__fail(bad, "%zu stray bytes after the last entry", c.left);
    return VI_OK;
}

vi_status vi__doc_parse(const uint8_t *buf, size_t n, const char magic[8], vi_status bad,
                        vi__doc **out) {
    *out = NULL;
    if (n < HEADER_SIZE) return vi__fail(bad, "file too short (%zu bytes) for a header", n);
    if (memcmp(buf, magic, 8) != 0) {
        char kind[9];
        memcpy(kind, magic, 8);
        kind[8] = '\0';
        return vi__fail(bad, "not a %s file (wrong magic bytes)", kind);
    }
    if (rd_u32(buf + 36) != vi__crc32(0, buf, 36)) return vi__fail(bad, "header checksum mismatch");
    uint32_t version = rd_u32(buf + 8);
    if (version > VI__FORMAT_VERSION || version == 0)
        return vi__fail(bad, "format version %u, this library reads up to %d: upgrade libvinfringe",
                        version, VI__FORMAT_VERSION);
    uint64_t payload_size = rd_u64(buf + 16), compressed = rd_u64(buf + 24);
    if (compressed != n - HEADER_SIZE)
        return vi__fail(bad, "file is %zu bytes, header says %llu: truncated or padded", n,
                        (unsigned long long)(compressed + HEADER_SIZE));
    if (payload_size > MAX_PAYLOAD || payload_size < 4)
        return vi__fail(bad, "absurd payload size %llu", (unsigned long long)payload_size);
    if (payload_size / MAX_INFLATE_RATIO > compressed)
        return vi__fail(bad, "the header declares a %llu-byte payload, more than its %llu "
                        "compressed bytes can hold", (unsigned long long)payload_size,
                        (unsigned long long)compressed);

    size_t cap = compressed < FIRST_PAYLOAD_CHUNK / 4 ? FIRST_PAYLOAD_CHUNK : (size_t)compressed * 4;
    if (cap > payload_size) cap = (size_t)payload_size;
    vi__doc *doc = vi__calloc(1, sizeof *doc);
    if (doc) doc->payload = vi__malloc(cap);
    if (!doc || !doc->payload) {
        vi__doc_free(doc);
        return vi__fail(VI_E_NOMEM, "out of memory for a %zu-byte payload", cap);
    }
    /* Inflate in chunks of at most 1 GiB because zlib's counters are 32-bit. */
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK) {
        vi__doc_free(doc);
        return vi__fail(VI_E_NOMEM, "zlib initialisation failed");
    }
    const uint8_t *in = buf + HEADER_SIZE;
    size_t in_left = (size_t)compressed, out_done = 0;
    int zret;
    for (;;) { /* Z_BUF_ERROR (no progress: input exhausted or output full) ends the loop too */
        if (zs.avail_in == 0 && in_left > 0) {
            zs.next_in = (Bytef *)in;
            zs.avail_in = (uInt)(in_left > (1u << 30) ? (1u << 30) : in_left);
            in += zs.avail_in;
            in_left -= zs.avail_in;
        }
        if (zs.avail_out == 0 && out_done < payload_size) {
            if (out_done == cap) { /* full: grow, never past the declared size */
                size_t grown = cap > (size_t)payload_size / 2 ? (size_t)payload_size : cap * 2;
                uint8_t *p = vi__realloc(doc->payload, grown);
                if (!p) {
                    inflateEnd(&zs);
                    vi__doc_free(doc);
                    return vi__fail(VI_E_NOMEM, "out of memory for a %zu-byte payload", grown);
                }
                doc->payload = p;
                cap = grown;
            }
            size_t room = cap - out_done;
            zs.next_out = doc->payload + out_done;
            zs.avail_out = (uInt)(room > (1u << 30) ? (1u << 30) : room);
            out_done += zs.avail_out;
        }
        zret = inflate(&zs, Z_NO_FLUSH);
        if (zret != Z_OK) break;
    }
    int complete = zret == Z_STREAM_END && zs.total_out == payload_size && zs.avail_in == 0 &&
                   in_left == 0;
    inflateEnd(&zs);
    if (!complete) {
        vi__doc_free(doc);
        return vi__fail(bad, "compressed payload is damaged or truncated");
    }
    if (vi__crc32(0, doc->payload, (size_t)payload_size) != rd_u32(buf + 32)) {
        vi__doc_free(doc);
        return vi__fail(bad, "payload checksum mismatch: the file is damaged");
    }
    vi_status st = parse_entries(doc, (size_t)payload_size, bad);
    if (st != VI_OK) {
        vi__doc_free(doc);
        return st;
    }
    *out = doc;
    return VI_OK;
}

static const struct entry *find(const vi__doc *doc, const char *key, int32_t type) {
    for (int32_t i = 0; i < doc->n_entries; i++)
        if (doc->entries[i].type == type && strcmp(doc->entries[i].key, key) == 0)
            return &doc->entries[i];
    return NULL;
}

const char *vi__doc_str(const vi__doc *doc, const char *key) {
    const struct entry *e = find(doc, key, ENTRY_STR);
    return e ? e->str : NULL;
}

int vi__doc_i64(const vi__doc *doc, const char *key, int64_t *value) {
    const struct entry *e = find(doc, key, ENTRY_I64);
    if (e) *value = e->i64;
    return e != NULL;
}

int vi__doc_f64(const vi__doc *doc, const char *key, double *value) {
    const struct entry *e = find(doc, key, ENTRY_F64);
    if (e) *value = e->f64;
    return e != NULL;
}

const vi__tensor *vi__doc_tensor(const vi__doc *doc, const char *name) {
    const struct entry *e = find(doc, name, ENTRY_TENSOR);
    return e ? &e->tensor : NULL;
}

int32_t vi__doc_tensor_count(const vi__doc *doc) { return doc->n_tensors; }

const vi__tensor *vi__doc_tensor_at(const vi__doc *doc, int32_t i) {
    if (i < 0 || i >= doc->n_tensors) return NULL;
    return &doc->entries[doc->tensor_entry[i]].tensor;
}

/* ---- writer ---- */

struct vi__docw {
    uint8_t *buf;
    size_t len, cap;
    uint32_t count;
    int failed;
};

vi__docw *vi__docw_create(void) {
    vi__docw *w = vi__calloc(1, sizeof *w);
    if (!w) return NULL;
    w->len = 4; /* room for the entry count */
    w->cap = 4096;
    w->buf = vi__malloc(w->cap);
    if (!w->buf) {
        vi__free(w);
        return NULL;
    }
    return w;
}

void vi__docw_free(vi__docw *w) {
    if (!w) return;
    vi__free(w->buf);
    vi__free(w);
}

static uint8_t *grow(vi__docw *w, size_t n) {
    if (w->failed) return NULL;
    if (w->len + n > w->cap) {
        size_t cap = w->cap;
        while (w->len + n > cap) cap *= 2;
        uint8_t *b = vi__realloc(w->buf, cap);
        if (!b) {
            w->failed = 1;
            return NULL;
        }
        w->buf = b;
        w->cap = cap;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

static int put_key(vi__docw *w, const char *key, int type) {
    size_t n = strlen(key);
    if (n == 0 || n > MAX_KEY) {
        w->failed = 1;
        return 0;
    }
    uint8_t *p = grow(w, 2 + n + 1);
    if (!p) return 0;
    p[0] = (uint8_t)n;
    p[1] = (uint8_t)(n >> 8);
    memcpy(p + 2, key, n);
    p[2 + n] = (uint8_t)type;
    w->count++;
    return 1;
}

void vi__docw_str(vi__docw *w, const char *key, const char *value) {
    size_t n = strlen(value);
    if (!put_key(w, key, ENTRY_STR)) return;
    uint8_t *p = grow(w, 4 + n);
    if (!p) return;
    wr_u32(p, (uint32_t)n);
    memcpy(p + 4, value, n);
}

void vi__docw_i64(vi__docw *w, const char *key, int64_t value) {
    if (!put_key(w, key, ENTRY_I64)) return;
    uint8_t *p = grow(w, 8);
    uint64_t u;
    memcpy(&u, &value, 8);
    if (p) wr_u64(p, u);
}

void vi__docw_f64(vi__docw *w, const char *key, double value) {
    if (!put_key(w, key, ENTRY_F64)) return;
    uint8_t *p = grow(w, 8);
    uint64_t u;
    memcpy(&u, &value, 8);
    if (p) wr_u64(p, u);
}

void vi__docw_tensor(vi__docw *w, const vi__tensor *t) {
    if (t->ndim < 0 || t->ndim > 4 || !dtype_size(t->dtype)) {
        w->failed = 1;
        return;
    }
    size_t nbytes = (size_t)vi__tensor_numel(t) * dtype_size(t->dtype);
    if (!put_key(w, t->name, ENTRY_TENSOR)) return;
    size_t head = 2 + 8 * (size_t)t->ndim + (t->dtype == VI__DT_U8Q ? 8 : 0) + 8;
    uint8_t *p = grow(w, head + nbytes);
    if (!p) return;
    p[0] = (uint8_t)t->dtype;
    p[1] = (uint8_t)t->ndim;
    p += 2;
    for (int32_t d = 0; d < t->ndim; d++, p += 8) wr_u64(p, (uint64_t)t->dims[d]);
    if (t->dtype == VI__DT_U8Q) {
        uint32_t a, b;
        memcpy(&a, &t->qscale, 4);
        memcpy(&b, &t->qmin, 4);
        wr_u32(p, a);
        wr_u32(p + 4, b);
        p += 8;
    }
    wr_u64(p, nbytes);
    if (nbytes) memcpy(p + 8, t->data, nbytes);
}

vi_status vi__docw_finish(vi__docw *w, const char magic[8], uint8_t **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (!w || w->failed) {
        vi__docw_free(w);
        return vi__fail(VI_E_NOMEM, "out of memory (or invalid entry) while serialising");
    }
    wr_u32(w->buf, w->count);
    uLong bound = compressBound((uLong)w->len);
    uint8_t *file = vi__malloc(HEADER_SIZE + (size_t)bound);
    if (!file) {
        vi__docw_free(w);
        return vi__fail(VI_E_NOMEM, "out of memory while compressing");
    }
    uLongf clen = bound;
    /* Level 6: model and index files compress a few percent at best (float data); a higher
     * level costs time for nothing. */
    if (compress2(file + HEADER_SIZE, &clen, w->buf, (uLong)w->len, 6) != Z_OK) {
        vi__free(file);
        vi__docw_free(w);
        return vi__fail(VI_E_INTERNAL, "zlib compression failed");
    }
    memcpy(file, magic, 8);
    wr_u32(file + 8, VI__FORMAT_VERSION);
    wr_u32(file + 12, 0);
    wr_u64(file + 16, w->len);
    wr_u64(file + 24, clen);
    wr_u32(file + 32, vi__crc32(0, w->buf, w->len));
    wr_u32(file + 36, vi__crc32(0, file, 36));
    vi__docw_free(w);
    *out = file;
    *n = HEADER_SIZE + clen;
    return VI_OK;
}
