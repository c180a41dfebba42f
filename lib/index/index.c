/* Index: adding references and ranking them for a query. */
#include <stdlib.h>
#include <string.h>

#include "../compare/compare.h"
#include "index.h"

struct vi_embedding *vi__embedding_copy(const struct vi_embedding *e) {
    struct vi_embedding *c;
    if (vi__embedding_alloc(e->dim, e->n_frames, e->model_id, &c) != VI_OK) return NULL;
    memcpy(c->video, e->video, (size_t)e->dim * sizeof(float));
    memcpy(c->frames, e->frames, (size_t)e->dim * e->n_frames * sizeof(float));
    memcpy(c->pts_us, e->pts_us, (size_t)e->n_frames * sizeof(int64_t));
    c->duration = e->duration;
    return c;
}

vi_status vi__index_add(struct vi_index *x, const char *id, const struct vi_embedding *e) {
    if (x->model_id && (strcmp(x->model_id, e->model_id) != 0 || x->dim != e->dim))
        return vi__fail(VI_E_FORMAT, "cannot add '%s': its embedding comes from model %s, the "
                        "index holds model %s", id, e->model_id, x->model_id);
    if (x->n == x->cap) {
        int32_t cap = x->cap ? x->cap * 2 : 16;
        char **ids = vi__realloc(x->ids, (size_t)cap * sizeof *ids);
        if (ids) x->ids = ids;
        struct vi_embedding **refs = vi__realloc(x->refs, (size_t)cap * sizeof *refs);
        if (refs) x->refs = refs;
        if (!ids || !refs) return vi__fail(VI_E_NOMEM, "out of memory");
        x->cap = cap;
    }
    char *idc = vi__strdup(id);
    struct vi_embedding *copy = vi__embedding_copy(e);
    char *mid = x->model_id ? NULL : vi__strdup(e->model_id);
    if (!idc || !copy || (!x->model_id && !mid)) {
        vi__free(idc);
        vi__free(mid);
        vi_embedding_free(copy);
        return vi__fail(VI_E_NOMEM, "out of memory");
    }
    if (!x->model_id) {
        x->model_id = mid;
        x->dim = e->dim;
    }
    x->ids[x->n] = idc;
    x->refs[x->n] = copy;
    x->n++;
    return VI_OK;
}

struct scored {
    float score;
    int32_t ref;
    struct vi_match *match;
};

static int by_score_desc(const void *a, const void *b) {
    const struct scored *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->ref - y->ref; /* stable: insertion order breaks ties */
}

void vi_hits_free(vi_hits *h) {
    if (!h) return;
    for (int32_t i = 0; i < h->n; i++) {
        vi__free(h->ids[i]);
        vi_match_free(h->matches[i]);
    }
    vi__free(h->ids);
    vi__free(h->matches);
    vi__free(h);
}

vi_status vi__index_search(const struct vi_index *x, const struct vi_embedding *q, int32_t k,
                           struct vi_hits **out) {
    *out = NULL;
    if (x->model_id && (strcmp(x->model_id, q->model_id) != 0 || x->dim != q->dim))
        return vi__fail(VI_E_FORMAT, "the query comes from model %s but the index holds model %s",
                        q->model_id, x->model_id);
    struct scored *all = vi__calloc((size_t)(x->n ? x->n : 1), sizeof *all);
    struct vi_hits *h = vi__calloc(1, sizeof *h);
    vi_status st = (all && h) ? VI_OK : vi__fail(VI_E_NOMEM, "out of memory");
    for (int32_t i = 0; st == VI_OK && i < x->n; i++) {
        st = vi__compare(q, x->refs[i], 1, &all[i].match);
        if (st == VI_OK) {
            all[i].score = all[i].match->score;
            all[i].ref = i;
        }
    }
    if (st == VI_OK) {
        qsort(all, (size_t)x->n, sizeof *all, by_score_desc);
        int32_t n = k < x->n ? k : x->n;
        h->ids = vi__calloc((size_t)(n ? n : 1), sizeof *h->ids);
        h->matches = vi__calloc((size_t)(n ? n : 1), sizeof *h->matches);
        if (!h->ids || !h->matches) st = vi__fail(VI_E_NOMEM, "out of memory");
        for (int32_t i = 0; st == VI_OK && i < n; i++) {
            h->ids[i] = vi__strdup(x->ids[all[i].ref]);
            if (!h->ids[i]) {
                st = vi__fail(VI_E_NOMEM, "out of memory");
                break;
            }
            h->matches[i] = all[i].match; /* moved into the hits */
            all[i].match = NULL;
            h->n = i + 1;
        }
    }
    for (int32_t i = 0; all && i < x->n; i++) vi_match_free(all[i].match);
    vi__free(all);
    if (st != VI_OK) {
        vi_hits_free(h);
        return st;
    }
    *out = h;
    return VI_OK;
}
