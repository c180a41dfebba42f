/* The reference table, float16 and the record layout of an index (index_record.h). */
#include <math.h>
#include <string.h>

#include "../common/byteorder.h"
#include "index_record.h"

/* ---- the reference table ---------------------------------------------------------------- */

static int grow(void **field, size_t cap, size_t elem) {
    void *p = vi__realloc(*field, cap * elem);
    if (!p) return 0;
    *field = p;
    return 1;
}

vi_status vi__refs_push(struct vi__refs *r, const char *id, const char *model_id, int32_t dim,
                        int32_t n_frames, int64_t duration_us, uint64_t offset, uint32_t crc) {
    if (r->n == INT32_MAX) return vi__fail(VI_E_INVALID_ARG, "the index is full");
    if (r->n == r->cap) {
        const int32_t cap = r->cap ? (r->cap > INT32_MAX / 2 ? INT32_MAX : r->cap * 2) : 16;
        const size_t c = (size_t)cap;
        /* each array keeps its old contents when a later one fails: cap only grows after all */
        if (!grow((void **)&r->ids, c, sizeof *r->ids) ||
            !grow((void **)&r->row0, c, sizeof *r->row0) ||
            !grow((void **)&r->n_frames, c, sizeof *r->n_frames) ||
            !grow((void **)&r->duration_us, c, sizeof *r->duration_us) ||
            !grow((void **)&r->offset, c, sizeof *r->offset) ||
            !grow((void **)&r->crc, c, sizeof *r->crc))
            return vi__fail(VI_E_NOMEM, "out of memory");
        r->cap = cap;
    }
    char *idc = vi__strdup(id);
    char *mid = r->model_id ? NULL : vi__strdup(model_id);
    if (!idc || (!r->model_id && !mid)) {
        vi__free(idc);
        vi__free(mid);
        return vi__fail(VI_E_NOMEM, "out of memory");
    }
    if (!r->model_id) {
        r->model_id = mid;
        r->dim = dim;
    }
    r->ids[r->n] = idc;
    r->row0[r->n] = r->total;
    r->n_frames[r->n] = n_frames;
    r->duration_us[r->n] = duration_us;
    r->offset[r->n] = offset;
    r->crc[r->n] = crc;
    r->n++;
    r->total += n_frames;
    return VI_OK;
}

void vi__refs_pop(struct vi__refs *r) {
    if (r->n == 0) return;
    r->n--;
    r->total -= r->n_frames[r->n];
    vi__free(r->ids[r->n]);
    if (r->n == 0) {
        vi__free(r->model_id);
        r->model_id = NULL;
    }
}

void vi__refs_clear(struct vi__refs *r) {
    for (int32_t i = 0; i < r->n; i++) vi__free(r->ids[i]);
    vi__free(r->ids);
    vi__free(r->row0);
    vi__free(r->n_frames);
    vi__free(r->duration_us);
    vi__free(r->offset);
    vi__free(r->crc);
    vi__free(r->model_id);
    memset(r, 0, sizeof *r);
}

int32_t vi__refs_of_row(const struct vi__refs *r, int64_t row) {
    int32_t lo = 0, hi = r->n - 1;
    while (lo < hi) {
        const int32_t mid = lo + (hi - lo + 1) / 2;
        if (r->row0[mid] <= row) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

int64_t vi__duration_us(double seconds) {
    const double us = seconds * 1e6;
    return isfinite(us) && us > 0 ? (int64_t)llround(us < 9e18 ? us : 9e18) : 0;
}

/* ---- float16 ---------------------------------------------------------------------------- */

static uint16_t f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u, exp = (x >> 23) & 0xffu;
    uint32_t man = x & 0x7fffffu;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0u));
    const int32_t e = (int32_t)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) { /* subnormal half: value = h * 2^-24 */
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000u;
        const uint32_t shift = (uint32_t)(14 - e);
        uint32_t h = man >> shift;
        const uint32_t rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1u))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((uint32_t)e << 10) | (man >> 13);
    const uint32_t rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; /* a carry rounds up the exponent */
    return (uint16_t)(sign | h);
}

static float f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    uint32_t x;
    if (exp == 0) {
        const float f = (float)man * 0x1p-24f;
        memcpy(&x, &f, 4);
        x |= sign;
    } else if (exp == 31) {
        x = sign | 0x7f800000u | (man << 13);
    } else {
        x = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

void vi__f16_encode(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = f32_to_f16(src[i]);
}

void vi__f16_decode(float *dst, const uint16_t *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = f16_to_f32(src[i]);
}

/* ---- records ---------------------------------------------------------------------------- */

size_t vi__record_size(int64_t dim, int64_t n_frames) {
    if (dim < 1 || dim > VI__RECORD_MAX_DIM || n_frames < 1) return 0;
    /* per frame: dim float16 + one int64; bounded so that the sum cannot overflow */
    const uint64_t per_frame = (uint64_t)dim * 2 + 8;
    if ((uint64_t)n_frames > (SIZE_MAX / 2 - (uint64_t)dim * 4) / per_frame) return 0;
    const size_t raw = (size_t)n_frames * (size_t)per_frame + (size_t)dim * 4;
    return (raw + VI__RECORD_ALIGN - 1) / VI__RECORD_ALIGN * VI__RECORD_ALIGN;
}

static size_t video_part(int32_t dim, int32_t n_frames) {
    return (size_t)n_frames * (size_t)dim * 2;
}
static size_t pts_part(int32_t dim, int32_t n_frames) {
    return video_part(dim, n_frames) + (size_t)dim * 4;
}

vi_status vi__record_encode(const struct vi_embedding *e, uint8_t **rec, size_t *len) {
    *rec = NULL;
    *len = 0;
    const size_t n = vi__record_size(e->dim, e->n_frames);
    if (!n) return vi__fail(VI_E_INVALID_ARG, "embedding of %d frames x %d dims cannot be "
                            "indexed", e->n_frames, e->dim);
    uint8_t *r = vi__calloc(1, n);
    if (!r) return vi__fail(VI_E_NOMEM, "out of memory for a %zu-byte record", n);
    const size_t nv = (size_t)e->n_frames * (size_t)e->dim;
    uint16_t buf[1024];
    for (size_t done = 0; done < nv;) {
        const size_t m = nv - done < 1024 ? nv - done : 1024;
        vi__f16_encode(buf, e->frames + done, m);
        for (size_t k = 0; k < m; k++) vi__put_le16(r + 2 * (done + k), buf[k]);
        done += m;
    }
    uint8_t *v = r + video_part(e->dim, e->n_frames);
    for (int32_t k = 0; k < e->dim; k++) vi__put_lef32(v + 4 * (size_t)k, e->video[k]);
    uint8_t *p = r + pts_part(e->dim, e->n_frames);
    for (int32_t k = 0; k < e->n_frames; k++) vi__put_lei64(p + 8 * (size_t)k, e->pts_us[k]);
    *rec = r;
    *len = n;
    return VI_OK;
}

void vi__record_frames(const uint8_t *rec, int32_t dim, int32_t j0, int32_t m, float *dst) {
    const uint8_t *src = rec + (size_t)j0 * (size_t)dim * 2;
    const size_t nv = (size_t)m * (size_t)dim;
    uint16_t buf[1024];
    for (size_t done = 0; done < nv;) {
        const size_t c = nv - done < 1024 ? nv - done : 1024;
        for (size_t k = 0; k < c; k++) buf[k] = vi__get_le16(src + 2 * (done + k));
        vi__f16_decode(dst + done, buf, c);
        done += c;
    }
}

int64_t vi__record_pts(const uint8_t *rec, int32_t dim, int32_t n_frames, int32_t j) {
    return vi__get_lei64(rec + pts_part(dim, n_frames) + (size_t)j * 8);
}

void vi__record_video(const uint8_t *rec, int32_t dim, int32_t n_frames, float *dst) {
    const uint8_t *v = rec + video_part(dim, n_frames);
    for (int32_t k = 0; k < dim; k++) dst[k] = vi__get_lef32(v + 4 * (size_t)k);
}

vi_status vi__record_embedding(const struct vi__refs *r, const uint8_t *base, int32_t i,
                               struct vi_embedding **out) {
    const int32_t nf = r->n_frames[i];
    vi_status st = vi__embedding_alloc(r->dim, nf, r->model_id, out);
    if (st != VI_OK) return st;
    struct vi_embedding *e = *out;
    const uint8_t *rec = base + r->offset[i];
    vi__record_frames(rec, r->dim, 0, nf, e->frames);
    vi__record_video(rec, r->dim, nf, e->video);
    for (int32_t j = 0; j < nf; j++) e->pts_us[j] = vi__record_pts(rec, r->dim, nf, j);
    e->duration = (double)r->duration_us[i] / 1e6;
    return VI_OK;
}
