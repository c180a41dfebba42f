/* Constructors and destructors of the plain value objects (lib/common/objects.h). */
#include <string.h>

#include "common.h"
#include "objects.h"

vi_status vi__embedding_alloc(int32_t dim, int32_t n_frames, const char *model_id,
                              struct vi_embedding **out) {
    *out = NULL;
    if (dim <= 0 || n_frames <= 0)
        return vi__fail(VI_E_INVALID_ARG, "embedding of %d frames x %d dims", n_frames, dim);
    struct vi_embedding *e = vi__calloc(1, sizeof *e);
    if (!e) return vi__fail(VI_E_NOMEM, "out of memory");
    e->dim = dim;
    e->n_frames = n_frames;
    e->video = vi__calloc((size_t)dim, sizeof(float));
    e->frames = vi__calloc((size_t)n_frames * (size_t)dim, sizeof(float));
    e->pts_us = vi__calloc((size_t)n_frames, sizeof(int64_t));
    e->model_id = vi__strdup(model_id ? model_id : "");
    if (!e->video || !e->frames || !e->pts_us || !e->model_id) {
        vi_embedding_free(e);
        return vi__fail(VI_E_NOMEM, "out of memory for %d x %d embedding", n_frames, dim);
    }
    *out = e;
    return VI_OK;
}

struct vi_embedding *vi__embedding_copy(const struct vi_embedding *e) {
    struct vi_embedding *c;
    if (vi__embedding_alloc(e->dim, e->n_frames, e->model_id, &c) != VI_OK) return NULL;
    memcpy(c->video, e->video, (size_t)e->dim * sizeof(float));
    memcpy(c->frames, e->frames, (size_t)e->dim * (size_t)e->n_frames * sizeof(float));
    memcpy(c->pts_us, e->pts_us, (size_t)e->n_frames * sizeof(int64_t));
    c->duration = e->duration;
    c->warnings = e->warnings;
    c->calib = e->calib;
    if (e->frame_bg) {
        c->frame_bg = vi__mallocarray((size_t)e->n_frames, sizeof(float));
        if (!c->frame_bg) {
            vi_embedding_free(c);
            return NULL;
        }
        memcpy(c->frame_bg, e->frame_bg, (size_t)e->n_frames * sizeof(float));
    }
    return c;
}

void vi_embedding_free(vi_embedding *e) {
    if (!e) return;
    vi__free(e->video);
    vi__free(e->frames);
    vi__free(e->pts_us);
    vi__free(e->model_id);
    vi__free(e->frame_bg);
    vi__free(e);
}

struct vi_match *vi__match_alloc(int32_t n_segments) {
    struct vi_match *m = vi__calloc(1, sizeof *m);
    if (!m) return NULL;
    if (n_segments > 0) {
        m->segments = vi__calloc((size_t)n_segments, sizeof *m->segments);
        if (!m->segments) {
            vi__free(m);
            return NULL;
        }
    }
    m->n_segments = n_segments;
    return m;
}

void vi_match_free(vi_match *m) {
    if (!m) return;
    vi__free(m->segments);
    vi__free(m);
}
