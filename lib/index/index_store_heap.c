/* The heap store (index_store.h): records one after another in a growing buffer. */
#include <string.h>

#include "index_store.h"

struct heap_store {
    vi__store pub;   /* first: a vi__store * is a struct heap_store * */
    uint8_t *buf;
    size_t cap;
};

static vi_status heap_append(vi__store *s, const struct vi__entry *e, const uint8_t *rec,
                             size_t len, uint64_t *offset) {
    struct heap_store *h = (struct heap_store *)s;
    if (len > SIZE_MAX / 2 - s->size)
        return vi__fail(VI_E_NOMEM, "cannot add '%s': the index is too large", e->id);
    if (s->size + len > h->cap) {
        size_t cap = h->cap ? h->cap : 65536;
        while (cap < s->size + len) cap *= 2;
        uint8_t *b = vi__realloc(h->buf, cap);
        if (!b) return vi__fail(VI_E_NOMEM, "cannot add '%s': out of memory", e->id);
        h->buf = b;
        h->cap = cap;
        s->base = b;
    }
    memcpy(h->buf + s->size, rec, len);
    *offset = s->size;
    s->size += len;
    return VI_OK;
}

static vi_status heap_read_cache(vi__store *s, int32_t kind, uint8_t **buf, size_t *n) {
    (void)s;
    (void)kind;
    *buf = NULL;
    *n = 0;
    return VI_OK;
}

static vi_status heap_write_cache(vi__store *s, int32_t kind, int64_t rows, const uint8_t *buf,
                                  size_t n) {
    (void)s, (void)kind, (void)rows, (void)buf, (void)n;
    return VI_OK; /* nothing outlives an in-memory index */
}

static vi_status heap_noop(vi__store *s) {
    (void)s;
    return VI_OK;
}

static vi_status heap_set_kind(vi__store *s, int32_t kind) {
    (void)s, (void)kind;
    return VI_OK;
}

static void heap_close(vi__store *s) {
    struct heap_store *h = (struct heap_store *)s;
    vi__free(h->buf);
    vi__free(h);
}

static const struct vi__store_ops heap_ops = {heap_append, heap_read_cache, heap_write_cache,
                                              heap_noop, heap_set_kind, heap_close};

vi_status vi__heap_store_create(vi__store **out) {
    struct heap_store *h = vi__calloc(1, sizeof *h);
    *out = NULL;
    if (!h) return vi__fail(VI_E_NOMEM, "out of memory");
    h->pub.ops = &heap_ops;
    *out = &h->pub;
    return VI_OK;
}
