/* vi__compare: video-level similarity, copied-segment localisation and the calibrated copy score
 * of one query/reference pair. The similarity graph is built in align_sim.c, the segments come
 * from one of the aligners (align_tn.c, align_hough.c), and every constant is in align.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "align.h"
#include "compare.h"

float vi__dot(const float *a, const float *b, int32_t n) {
    /* Four partial sums: the same rounding on every platform, and independent chains. */
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

/* Cosine of two vectors; 0 ("no evidence") when either is zero or holds NaN/Inf. */
static float cosine(const float *a, const float *b, int32_t n) {
    double ab = 0.0, aa = 0.0, bb = 0.0;
    for (int32_t i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    if (!isfinite(ab) || !isfinite(aa) || !isfinite(bb) || aa <= 1e-20 || bb <= 1e-20) return 0.0f;
    double c = ab / sqrt(aa * bb);
    if (c > 1.0) c = 1.0;
    if (c < -1.0) c = -1.0;
    return (float)c;
}

/* Frame times in seconds, forced non-decreasing (a damaged file must not break the aligners'
 * binary searches); frames without a usable time are placed one second after the previous one. */
double *vi__timeline(const struct vi_embedding *e) {
    double *t = vi__mallocarray((size_t)e->n_frames, sizeof *t);
    if (!t) return NULL;
    for (int32_t i = 0; i < e->n_frames; i++) {
        double v = e->pts_us ? (double)e->pts_us[i] / 1e6 : (double)i;
        if (!isfinite(v)) v = i > 0 ? t[i - 1] + 1.0 : 0.0;
        if (i > 0 && v < t[i - 1]) v = t[i - 1];
        t[i] = v;
    }
    return t;
}

/* How long frame i is shown: the step to the next frame; for the last frame, the step from the
 * previous one (or the typical step) but never past the container's duration, which also gives
 * a one-frame video its length. */
static double frame_interval(const double *t, int32_t n, int32_t i, double duration, double typ) {
    if (i + 1 < n && t[i + 1] > t[i]) return t[i + 1] - t[i];
    double d = (i > 0 && t[i] > t[i - 1]) ? t[i] - t[i - 1] : (typ > 0.0 ? typ : 1.0);
    if (i == n - 1 && isfinite(duration) && duration > t[i]) {
        if (n == 1 || duration - t[i] < d) d = duration - t[i];
    }
    return d;
}

/* A segment's ends from its first and last matched frame. A frame samples one instant: the copy
 * began somewhere between the previous sampled frame and the first matched one, and ended between
 * the last matched frame and the next one, so each end is put half-way (the estimate with the
 * least expected error); at a video's ends, the video's own ends. */
static double seg_start(const double *t, int32_t i) {
    return i > 0 ? 0.5 * (t[i - 1] + t[i]) : t[0];
}

static double seg_end(const double *t, int32_t n, int32_t i, double duration, double typ) {
    if (i + 1 < n) return 0.5 * (t[i] + t[i + 1]);
    return t[i] + frame_interval(t, n, i, duration, typ);
}

static int seg_cmp(const void *a, const void *b) {
    const vi_segment *x = a, *y = b;
    if (x->query_start != y->query_start) return x->query_start < y->query_start ? -1 : 1;
    return (x->ref_start > y->ref_start) - (x->ref_start < y->ref_start);
}

static float calibrate(const struct vi_align_params *par, float x) {
    const float s = 1.0f / (1.0f + expf(-par->score_slope * (x - par->score_mid)));
    return isfinite(s) ? s : 0.0f;
}

int vi__calibrated_pair(const struct vi_embedding *q, const struct vi_embedding *r) {
    (void)r; /* the same model: checked by the caller; the reference needs no calibration */
    return q->calib.id && q->frame_bg;
}

/* The calibrated verdict (evidence.c): each found segment's logit; the pair's logit is the best
 * segment's, and its score the probability of that logit with no competitor; the segments less
 * probable by their own evidence (the sigmoid of their logit) than the calibration's segment_min
 * are not reported (they still rank the pair). */
static void judge(struct vi_match *m, const struct vi_embedding *q, const struct vi_embedding *r,
                  const double *tq, const double *tr) {
    const struct vi__calibration *c = &q->calib;
    float logit = c->logit_none;
    int32_t kept = 0;
    for (int32_t k = 0; k < m->n_segments; k++) {
        float f[VI__EVIDENCE_FEATURES];
        vi__segment_evidence(q, r, tq, tr, &m->segments[k], f);
        const float l = vi__evidence_logit(c, f);
        if (l > logit) logit = l;
        if (1.0f / (1.0f + expf(-l)) >= c->segment_min) /* the segment's own evidence */
            m->segments[kept++] = m->segments[k];
    }
    m->n_segments = kept;
    m->logit = logit;
    m->score = vi__evidence_probability(c, logit, -INFINITY);
    m->threshold = c->threshold;
    m->calibrated = 1;
}

static int usable(const struct vi_embedding *e) {
    return e->n_frames > 0 && e->frames != NULL;
}

vi_status vi__compare_params(const struct vi_embedding *q, const struct vi_embedding *r,
                             int localize, const struct vi_align_params *par,
                             struct vi_match **out) {
    const struct vi_align_params defaults = vi__align_params_default();
    if (!par) par = &defaults;
    if (!out) return vi__fail(VI_E_INVALID_ARG, "compare: out is NULL");
    *out = NULL;
    if (!q || !r) return vi__fail(VI_E_INVALID_ARG, "compare: query or reference is NULL");
    if (q->dim <= 0 || q->dim != r->dim)
        return vi__fail(VI_E_FORMAT, "compare: embeddings of %d and %d dimensions", q->dim, r->dim);

    const float vcos = (q->video && r->video) ? cosine(q->video, r->video, q->dim) : 0.0f;
    struct vi_align_seg segs[VI_ALIGN_MAX_SEGMENTS];
    int32_t n_seg = 0;
    int whole = 0; /* segs[0] is the low-contrast fallback (not evidence for the score) */
    double *tq = NULL, *tr = NULL;
    struct vi_align_graph g;
    memset(&g, 0, sizeof g);
    if (localize && usable(q) && usable(r)) {
        tq = vi__timeline(q);
        tr = vi__timeline(r);
        if (!tq || !tr) {
            vi__free(tq);
            vi__free(tr);
            return vi__fail(VI_E_NOMEM, "compare: out of memory");
        }
        vi_status st = vi__align_graph_build(q->frames, q->n_frames, r->frames, r->n_frames,
                                             q->dim, tq, tr, par, &g);
        if (st == VI_OK) {
            n_seg = par->method == VI_ALIGN_HOUGH ? vi__align_hough(&g, segs, VI_ALIGN_MAX_SEGMENTS)
                                                  : vi__align_tn(&g, segs, VI_ALIGN_MAX_SEGMENTS);
            if (n_seg < 0) st = vi__fail(VI_E_NOMEM, "compare: out of memory aligning");
        }
        /* Segments far weaker than the best one are chance paths beside a real copy. */
        float top_z = -INFINITY;
        for (int32_t k = 0; k < n_seg; k++)
            if (segs[k].mean_z > top_z) top_z = segs[k].mean_z;
        int32_t kept = 0;
        for (int32_t k = 0; k < n_seg; k++)
            if (segs[k].mean_z >= (float)VI_ALIGN_SEG_REL * top_z) segs[kept++] = segs[k];
        n_seg = kept;
        for (int32_t k = 0; k < n_seg; k++) segs[k].has_times = 0;
        const int32_t n_found = n_seg;
        for (int32_t k = 0; st == VI_OK && par->refine && k < n_found; k++) {
            struct vi_align_seg *extra = n_seg < VI_ALIGN_MAX_SEGMENTS ? &segs[n_seg] : NULL;
            const int rc = vi__align_refine(&g, q->frames, r->frames, q->dim, q->duration,
                                            r->duration, &segs[k], extra);
            if (rc < 0) st = vi__fail(VI_E_NOMEM, "compare: out of memory refining a segment");
            if (rc == 2) n_seg++;
        }
        if (st == VI_OK && n_seg == 0 && vcos >= par->whole_cos && vi__align_whole(&g, segs)) {
            segs[0].has_times = 0;
            whole = 1;
        }
        if (st != VI_OK) {
            vi__align_graph_free(&g);
            vi__free(tq);
            vi__free(tr);
            return st;
        }
    }

    if (whole) n_seg = 1;
    struct vi_match *m = vi__match_alloc(n_seg);
    if (!m) {
        vi__align_graph_free(&g);
        vi__free(tq);
        vi__free(tr);
        return vi__fail(VI_E_NOMEM, "compare: out of memory");
    }
    m->video_similarity = vcos;
    m->speed_ratio = 0.0f;
    float evidence = vcos - par->score_video_discount;
    for (int32_t k = 0; k < n_seg; k++) {
        const struct vi_align_seg *s = &segs[k];
        vi_segment *o = &m->segments[k];
        if (s->has_times) {
            o->query_start = s->t[0];
            o->query_end = s->t[1];
            o->ref_start = s->t[2];
            o->ref_end = s->t[3];
        } else {
            o->query_start = seg_start(tq, s->q0);
            o->query_end = seg_end(tq, q->n_frames, s->q1, q->duration, g.iq);
            o->ref_start = seg_start(tr, s->r0);
            o->ref_end = seg_end(tr, r->n_frames, s->r1, r->duration, g.ir);
        }
        o->score = s->mean_sim > 1.0f ? 1.0f : (s->mean_sim < -1.0f ? -1.0f : s->mean_sim);
        const double qlen = o->query_end - o->query_start;
        if (k == 0) /* segs[0] is the heaviest; a refined one knows its line's speed */
            m->speed_ratio = s->has_times ? (float)s->speed
                             : qlen > 0.0 ? (float)((o->ref_end - o->ref_start) / qlen)
                                          : 0.0f;
        const float e = o->score * (float)(qlen / (qlen + par->score_half_len));
        if (e > evidence && !whole) evidence = e;
    }
    if (n_seg > 1) qsort(m->segments, (size_t)n_seg, sizeof *m->segments, seg_cmp);
    m->score = calibrate(par, evidence);
    m->threshold = VI__UNCALIBRATED_THRESHOLD;
    if (localize && par->calibrated && vi__calibrated_pair(q, r)) judge(m, q, r, tq, tr);
    vi__align_graph_free(&g);
    vi__free(tq);
    vi__free(tr);
    *out = m;
    return VI_OK;
}

vi_status vi__compare(const struct vi_embedding *q, const struct vi_embedding *r, int localize,
                      struct vi_match **out) {
    return vi__compare_params(q, r, localize, NULL, out);
}
