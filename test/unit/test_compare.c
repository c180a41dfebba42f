/* Unit tests of lib/compare on hand-built embeddings.
 *
 * Videos are synthetic but structured like real ones: a sequence of shots, each shot a random
 * direction (with a few shared "genre" directions, so unrelated shots are mildly similar) and its
 * frames drifting around it. A copy takes reference frames, adds noise of a given strength, and
 * may skip frames (speed-up) or repeat them (slow-down) before splicing them into unrelated
 * query footage. Two similarity regimes are built: "head" (unrelated frames ~0..0.3, copies
 * ~0.6..0.9, like the PCA-whitened head) and "raw" (unrelated ~0.5..0.8, like raw backbone
 * features). The ground truth is known by construction; found spans are checked within one frame,
 * and a small benchmark prints the VCSL segment F1 of both aligners. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "common/objects.h"
#include "compare/align.h"
#include "compare/compare.h"

#define DIM 256
#define N_GENRES 4

/* ---- deterministic random numbers ---------------------------------------------------------- */

typedef struct {
    uint64_t s;
} rng_t;

static uint64_t rng_next(rng_t *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_unit(rng_t *r) { return (double)(rng_next(r) >> 11) / 9007199254740992.0; }

static int rng_int(rng_t *r, int lo, int hi) { /* inclusive */
    return lo + (int)(rng_unit(r) * (hi - lo + 1));
}

static double rng_gauss(rng_t *r) {
    double u = rng_unit(r), v = rng_unit(r);
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static void normalize(float *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)v[i] * v[i];
    const float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
    for (int i = 0; i < n; i++) v[i] *= inv;
}

static void random_unit(rng_t *r, float *v, int n) {
    for (int i = 0; i < n; i++) v[i] = (float)rng_gauss(r);
    normalize(v, n);
}

/* ---- synthetic footage ------------------------------------------------------------------- */

/* A world: the shared directions every video of one test draws from. */
typedef struct {
    rng_t rng;
    float genre[N_GENRES][DIM];
    float common[DIM];
    int raw; /* 1: add a strong common component (raw-backbone-like similarities) */
} world_t;

static void world_init(world_t *w, uint64_t seed, int raw) {
    w->rng.s = seed;
    for (int g = 0; g < N_GENRES; g++) random_unit(&w->rng, w->genre[g], DIM);
    random_unit(&w->rng, w->common, DIM);
    w->raw = raw;
}

/* `n` clean content frames: shots of 2..12 frames, drifting around the shot's direction. */
static float *footage(world_t *w, int n) {
    float *f = malloc((size_t)n * DIM * sizeof *f);
    float shot[DIM], drift[DIM], step[DIM];
    int left = 0;
    for (int i = 0; i < n; i++) {
        if (left == 0) {
            left = rng_int(&w->rng, 2, 12);
            random_unit(&w->rng, shot, DIM);
            const float *g = w->genre[rng_int(&w->rng, 0, N_GENRES - 1)];
            for (int d = 0; d < DIM; d++) shot[d] += 0.45f * g[d];
            normalize(shot, DIM);
            memset(drift, 0, sizeof drift);
        }
        random_unit(&w->rng, step, DIM);
        for (int d = 0; d < DIM; d++) drift[d] = 0.8f * drift[d] + 0.25f * step[d];
        float *o = f + (size_t)i * DIM;
        for (int d = 0; d < DIM; d++) o[d] = shot[d] + drift[d];
        normalize(o, DIM);
        left--;
    }
    return f;
}

/* What the model would output for clean content `c` seen through a copy edit of `noise`. */
static void observe(world_t *w, const float *c, float noise, float *out) {
    float nv[DIM];
    random_unit(&w->rng, nv, DIM);
    for (int d = 0; d < DIM; d++) out[d] = c[d] + noise * nv[d];
    normalize(out, DIM);
    if (w->raw) {
        for (int d = 0; d < DIM; d++) out[d] = 0.62f * out[d] + 0.78f * w->common[d];
        normalize(out, DIM);
    }
}

static struct vi_embedding *make_emb(int n, const float *frames, double fps, double t0) {
    struct vi_embedding *e = NULL;
    ck_assert_int_eq(vi__embedding_alloc(DIM, n, "synthetic", &e), VI_OK);
    memcpy(e->frames, frames, (size_t)n * DIM * sizeof(float));
    for (int i = 0; i < n; i++) {
        e->pts_us[i] = (int64_t)llround((t0 + i / fps) * 1e6);
        for (int d = 0; d < DIM; d++) e->video[d] += frames[(size_t)i * DIM + d];
    }
    normalize(e->video, DIM);
    e->duration = t0 + n / fps;
    return e;
}

/* A ground-truth copied span in seconds. */
typedef struct {
    double q0, q1, r0, r1;
} truth_t;

/* A test pair under construction: the reference footage, and the query assembled piece by
 * piece from unrelated filler and (edited) excerpts of the reference. */
typedef struct {
    world_t *w;
    int nr;
    float *ref_clean;
    float *q;   /* observed query frames */
    int nq, cap;
    double q_fps, r_fps, q_t0;
    truth_t truth[8];
    int n_truth;
} pair_t;

static void pair_init(pair_t *p, world_t *w, int nr) {
    memset(p, 0, sizeof *p);
    p->w = w;
    p->nr = nr;
    p->ref_clean = footage(w, nr);
    p->cap = 64;
    p->q = malloc((size_t)p->cap * DIM * sizeof(float));
    p->q_fps = p->r_fps = 1.0;
}

static float *q_push(pair_t *p) {
    if (p->nq == p->cap) {
        p->cap *= 2;
        p->q = realloc(p->q, (size_t)p->cap * DIM * sizeof(float));
    }
    return p->q + (size_t)(p->nq++) * DIM;
}

static void add_filler(pair_t *p, int n) {
    float *c = footage(p->w, n);
    for (int i = 0; i < n; i++) observe(p->w, c + (size_t)i * DIM, 0.1f, q_push(p));
    free(c);
}

/* Copy reference frames [r0, r1) at `speed` (2: every second frame, 0.5: each frame twice). */
static void add_copy(pair_t *p, int r0, int r1, double speed, float noise) {
    const int q_start = p->nq;
    const int n = (int)((r1 - r0) / speed + 0.5);
    for (int k = 0; k < n; k++) {
        int src = r0 + (int)(k * speed);
        if (src >= r1) src = r1 - 1;
        observe(p->w, p->ref_clean + (size_t)src * DIM, noise, q_push(p));
    }
    truth_t *t = &p->truth[p->n_truth++];
    t->q0 = p->q_t0 + q_start / p->q_fps;
    t->q1 = p->q_t0 + p->nq / p->q_fps;
    t->r0 = r0 / p->r_fps;
    t->r1 = r1 / p->r_fps;
}

static void pair_embeddings(pair_t *p, struct vi_embedding **q, struct vi_embedding **r) {
    float *rf = malloc((size_t)p->nr * DIM * sizeof *rf);
    for (int i = 0; i < p->nr; i++)
        observe(p->w, p->ref_clean + (size_t)i * DIM, 0.1f, rf + (size_t)i * DIM);
    *r = make_emb(p->nr, rf, p->r_fps, 0.0);
    *q = make_emb(p->nq, p->q, p->q_fps, p->q_t0);
    free(rf);
}

static void pair_free(pair_t *p) {
    free(p->ref_clean);
    free(p->q);
}

/* ---- checks -------------------------------------------------------------------------------- */

static void print_match(const char *name, const struct vi_match *m) {
    printf("%s: score %.3f video %.3f speed %.2f, %d segment(s)", name, m->score,
           m->video_similarity, m->speed_ratio, m->n_segments);
    for (int k = 0; k < m->n_segments; k++)
        printf(" [q %.2f-%.2f r %.2f-%.2f s %.2f]", m->segments[k].query_start,
               m->segments[k].query_end, m->segments[k].ref_start, m->segments[k].ref_end,
               m->segments[k].score);
    printf("\n");
    fflush(stdout);
}

/* Every truth span is found by exactly one segment, within `tol_q` / `tol_r` seconds. */
static void check_spans(const struct vi_match *m, const truth_t *t, int n, double tol_q,
                        double tol_r) {
    ck_assert_int_eq(m->n_segments, n);
    for (int k = 0; k < n; k++) {
        int hit = 0;
        for (int s = 0; s < m->n_segments; s++) {
            const vi_segment *g = &m->segments[s];
            if (fabs(g->query_start - t[k].q0) <= tol_q && fabs(g->query_end - t[k].q1) <= tol_q &&
                fabs(g->ref_start - t[k].r0) <= tol_r && fabs(g->ref_end - t[k].r1) <= tol_r)
                hit++;
        }
        ck_assert_msg(hit == 1, "truth q %.2f-%.2f r %.2f-%.2f found %d times", t[k].q0, t[k].q1,
                      t[k].r0, t[k].r1, hit);
    }
}

/* The parameters for a world. The model-level constants (absolute z, copy-score calibration)
 * describe one model's unrelated frames and videos; the defaults are fitted to the shipped model
 * (unrelated frame cosines ~N(-0.01, 0.05)), so each synthetic world sets its own: the "head"
 * world's unrelated frames are ~0..0.3 (absolute term 0.15 / 0.10, score calibrated at a video
 * cosine of 0.5), and raw-backbone-like similarities need the absolute term and the low-contrast
 * fallback off (docs/alignment.md). */
static struct vi_align_params params_for(const world_t *w, int method) {
    struct vi_align_params p = vi__align_params_default();
    p.method = method;
    p.abs_loc = 0.15f;
    p.abs_scale = 0.10f;
    p.score_mid = 0.5f;
    p.score_slope = 12.0f;
    p.score_half_len = 3.0f;
    if (w->raw) {
        p.abs_scale = 0.0f;
        p.whole_cos = 2.0f;
    }
    return p;
}

static struct vi_match *run(const world_t *w, const struct vi_embedding *q,
                            const struct vi_embedding *r, int localize) {
    struct vi_match *m = NULL;
    const struct vi_align_params par = params_for(w, VI_ALIGN_DEFAULT);
    ck_assert_int_eq(vi__compare_params(q, r, localize, &par, &m), VI_OK);
    ck_assert_ptr_nonnull(m);
    ck_assert(m->score >= 0.0f && m->score <= 1.0f);
    ck_assert(isfinite(m->video_similarity));
    return m;
}

/* ---- VCSL segment metric (He et al., CVPR 2022): overlap on each axis, multiplied ---------- */

typedef struct {
    double q0, q1, r0, r1;
} box_t;

static int cmp_d2(const void *a, const void *b) {
    const double *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Length of the union of n intervals iv[2k], iv[2k+1] (sorted in place). */
static double union_len(double *iv, int n) {
    if (n == 0) return 0;
    qsort(iv, (size_t)n, 2 * sizeof(double), cmp_d2);
    double total = 0, s = iv[0], e = iv[1];
    for (int k = 1; k < n; k++) {
        if (iv[2 * k] > e) {
            total += e - s;
            s = iv[2 * k];
            e = iv[2 * k + 1];
        } else if (iv[2 * k + 1] > e) {
            e = iv[2 * k + 1];
        }
    }
    return total + e - s;
}

/* Precision of `a` against `b` (recall: swap them), both axes multiplied. */
static double overlap_ratio(const box_t *a, int na, const box_t *b, int nb) {
    double tp_q = 0, tp_r = 0, sum_q = 0, sum_r = 0;
    double *iq = malloc((size_t)(nb + 1) * 2 * sizeof(double));
    double *ir = malloc((size_t)(nb + 1) * 2 * sizeof(double));
    for (int i = 0; i < na; i++) {
        int k = 0;
        for (int j = 0; j < nb; j++) {
            const double q0 = fmax(a[i].q0, b[j].q0), q1 = fmin(a[i].q1, b[j].q1);
            const double r0 = fmax(a[i].r0, b[j].r0), r1 = fmin(a[i].r1, b[j].r1);
            if (q1 > q0 && r1 > r0) {
                iq[2 * k] = q0;
                iq[2 * k + 1] = q1;
                ir[2 * k] = r0;
                ir[2 * k + 1] = r1;
                k++;
            }
        }
        tp_q += union_len(iq, k);
        tp_r += union_len(ir, k);
        sum_q += a[i].q1 - a[i].q0;
        sum_r += a[i].r1 - a[i].r0;
    }
    free(iq);
    free(ir);
    return (tp_q / (sum_q + 1e-6)) * (tp_r / (sum_r + 1e-6));
}

static void pair_pr(const struct vi_match *m, const truth_t *t, int nt, double *p, double *r) {
    box_t pred[VI_ALIGN_MAX_SEGMENTS], gt[8];
    const int np = m->n_segments;
    for (int k = 0; k < np; k++) {
        pred[k].q0 = m->segments[k].query_start;
        pred[k].q1 = m->segments[k].query_end;
        pred[k].r0 = m->segments[k].ref_start;
        pred[k].r1 = m->segments[k].ref_end;
    }
    for (int k = 0; k < nt; k++) {
        gt[k].q0 = t[k].q0;
        gt[k].q1 = t[k].q1;
        gt[k].r0 = t[k].r0;
        gt[k].r1 = t[k].r1;
    }
    if (np == 0 && nt == 0) {
        *p = *r = 1;
    } else if (np == 0) {
        *p = 1;
        *r = 0;
    } else if (nt == 0) {
        *p = 0;
        *r = 1;
    } else {
        *p = overlap_ratio(pred, np, gt, nt);
        *r = overlap_ratio(gt, nt, pred, np);
    }
}

/* ---- tests --------------------------------------------------------------------------------- */

START_TEST(test_dot_matches_naive_sum) {
    float a[37], b[37];
    double want = 0;
    for (int i = 0; i < 37; i++) {
        a[i] = (float)sin(i * 0.7);
        b[i] = (float)cos(i * 1.3);
        want += (double)a[i] * b[i];
    }
    ck_assert_double_eq_tol(vi__dot(a, b, 37), want, 1e-5);
    ck_assert_float_eq(vi__dot(a, b, 0), 0.0f);
}
END_TEST

START_TEST(test_whole_copy_is_one_segment) {
    world_t w;
    world_init(&w, 11, 0);
    pair_t p;
    pair_init(&p, &w, 60);
    add_copy(&p, 0, 60, 1.0, 0.6f);
    struct vi_embedding *q, *r;
    pair_embeddings(&p, &q, &r);
    struct vi_match *m = run(&w, q, r, 1);
    print_match("whole copy", m);
    check_spans(m, p.truth, p.n_truth, 1.0, 1.0);
    ck_assert_float_eq_tol(m->speed_ratio, 1.0f, 0.05f);
    ck_assert(m->score > 0.9f);
    vi_match_free(m);
    vi_embedding_free(q);
    vi_embedding_free(r);
    pair_free(&p);
}
END_TEST

/* The query starts at 7.5 s on its own timeline and holds a 30 s excerpt after 20 s of other
 * footage; both regimes of similarity must give the same spans. */
START_TEST(test_excerpt_time_shifted) {
    world_t w;
    world_init(&w, 21 + (uint64_t)_i, _i);
    pair_t p;
    pair_init(&p, &w, 120);
    p.q_t0 = 7.5;
    add_filler(&p, 20);
    add_copy(&p, 40, 70, 1.0, 0.75f);
    add_filler(&p, 25);
    struct vi_embedding *q, *r;
    pair_embeddings(&p, &q, &r);
    struct vi_match *m = run(&w, q, r, 1);
    print_match(_i ? "excerpt (raw regime)" : "excerpt (head regime)", m);
    check_spans(m, p.truth, p.n_truth, 1.0, 1.0);
    vi_match_free(m);
    vi_embedding_free(q);
    vi_embedding_free(r);
    pair_free(&p);
}
END_TEST

START_TEST(test_speedup_2x_by_frame_skipping) {
    world_t w;
    world_init(&w, 31, 0);
    pair_t p;
    pair_init(&p, &w, 120);
    add_filler(&p, 15);
    add_copy(&p, 20, 80, 2.0, 0.6f);
    add_filler(&p, 15);
    struct vi_embedding *q, *r;
    pair_embeddings(&p, &q, &r);
    struct vi_match *m = run(&w, q, r, 1);
    print_match("2x", m);
    /* The last query frame shows reference frame 78; frame 79 is skipped, so the reference end
     * may be one (reference) frame short. */
    check_spans(m, p.truth, p.n_truth, 1.0, 1.0);
    ck_assert_float_eq_tol(m->speed_ratio, 2.0f, 0.15f);
    vi_match_free(m);
    vi_embedding_free(q);
    vi_embedding_free(r);
    pair_free(&p);
}
END_TEST

START_TEST(test_slowdown_half_by_repetition) {
    world_t w;
    world_init(&w, 41, 0);
    pair_t p;
    pair_init(&p, &w, 90);
    add_filler(&p, 10);
    add_copy(&p, 30, 55, 0.5, 0.6f);
    add_filler(&p, 10);
    struct vi_embedding *q, *r;
    pair_embeddings(&p, &q, &r);
    struct vi_match *m = run(&w, q, r, 1);
    print_match("0.5x", m);
    check_spans(m, p.truth, p.n_truth, 1.0, 1.0);
    ck_assert_float_eq_tol(m->speed_ratio, 0.5f, 0.05f);
    vi_match_free(m);
    vi_embedding_free(q);
    vi_embedding_free(r);
    pair_free(&p);
}
END_TEST

START_TEST(test_two_segments_and_dropped_frames) {
    world_t w;
    world_init(&w, 51, 0);
    pair_t p;
    pair_init(&p, &w, 150);
    add_filler(&p, 12);
    add_copy(&p, 90, 120, 1.0, 0.7f);
    add_filler(&p, 20);
    add_copy(&p, 10, 35, 1.0, 0.7f);
    add_filler(&p, 8);
    /* Drop two frames inside the second copy: replace them with unrelated footage. */
    float *junk = footage(&w, 2);
    const int at = (int)(p.truth[1].q0 + 10);
    for (int k = 0; k < 2; k++) observe(&w, junk + k * DIM, 0.1f, p.q + (size_t)(at + k) * DIM);
    free(junk);
    struct vi_embedding *q, *r;
    pair_embeddings(&p, &q, &r);
    struct vi_match *m = run(&w, q, r, 1);
    print_match("two segments", m);
    check_spans(m, p.truth, p.n_truth, 1.0, 1.0);
    vi_match_free(m);
    vi_embedding_free(q);
    vi_embedding_free(r);
    pair_free(&p);
}
END_TEST

/* Two excerpts of one short reference, in order, with 4 s of other footage between them (as in
 * bench/'s two-excerpt partial copies): a path may bridge the filler (both timelines move
 * forward), the refinement must split it at the unmatched query frames. Each excerpt is found
 * within one frame on the query axis. On the reference axis a 4-frame excerpt of one static shot
 * hardly pins its line: with the raw regime's sharper frames it is within one frame too, in the
 * head regime (measured: 2 of the first excerpt's 4 s) it only has to overlap the truth. */
START_TEST(test_two_excerpts_of_one_reference_are_split) {
    world_t w;
    world_init(&w, 131 + (uint64_t)_i, _i);
    pair_t p;
    pair_init(&p, &w, 12);
    add_filler(&p, 4);
    add_copy(&p, 1, 5, 1.0, 0.5f);
    add_filler(&p, 4);
    add_copy(&p, 6, 11, 1.0, 0.5f);
    add_filler(&p, 3);
    struct vi_embedding *q, *r;
    pair_embeddings(&p, &q, &r);
    struct vi_match *m = run(&w, q, r, 1);
    print_match(_i ? "two excerpts (raw)" : "two excerpts (head)", m);
    check_spans(m, p.truth, p.n_truth, 1.0, _i ? 1.0 : 1e9);
    for (int k = 0; k < m->n_segments; k++) {
        const vi_segment *g = &m->segments[k];
        const truth_t *t = &p.truth[g->query_start < p.truth[1].q0 - 1.0 ? 0 : 1];
        const double ov = fmin(g->ref_end, t->r1) - fmax(g->ref_start, t->r0);
        ck_assert_msg(ov >= 1.0, "r %.2f-%.2f vs %.2f-%.2f", g->ref_start, g->ref_end, t->r0,
                      t->r1);
    }
    vi_match_free(m);
    vi_embedding_free(q);
    vi_embedding_free(r);
    pair_free(&p);
}
END_TEST

/* vi__align_refine on a segment that holds only the middle of a copy: it must grow to the copy's
 * first and last query frames (and stop at the filler), put each end half-way to the next
 * sampled frame, and map the ends through the copy's line. The copy: query frames 6..25 show
 * reference frames 5..24 (1 fps), so the expected times are query 5.5 .. 25.5 and reference
 * 4.5 .. 24.5 at speed 1 (the shifts of the query ends are exact, the reference ends within one
 * frame). */
START_TEST(test_refine_grows_a_truncated_segment) {
    world_t w;
    world_init(&w, 141, 0);
    pair_t p;
    pair_init(&p, &w, 30);
    add_filler(&p, 6);
    add_copy(&p, 5, 25, 1.0, 0.5f);
    add_filler(&p, 6);
    struct vi_embedding *q, *r;
    pair_embeddings(&p, &q, &r);
    double tq[64], tr[64];
    for (int i = 0; i < q->n_frames; i++) tq[i] = q->pts_us[i] / 1e6;
    for (int i = 0; i < r->n_frames; i++) tr[i] = r->pts_us[i] / 1e6;
    const struct vi_align_params par = params_for(&w, VI_ALIGN_DEFAULT);
    struct vi_align_graph g;
    ck_assert_int_eq(vi__align_graph_build(q->frames, q->n_frames, r->frames, r->n_frames, DIM,
                                           tq, tr, &par, &g), VI_OK);
    struct vi_align_seg seg, extra;
    memset(&seg, 0, sizeof seg);
    seg.q0 = 8;
    seg.q1 = 23;
    seg.r0 = 7;
    seg.r1 = 22;
    ck_assert_int_eq(vi__align_refine(&g, q->frames, r->frames, DIM, q->duration, r->duration,
                                      &seg, &extra), 1);
    printf("refined: q %d-%d, %.2f-%.2f s, r %.2f-%.2f s, speed %.3f\n", seg.q0, seg.q1,
           seg.t[0], seg.t[1], seg.t[2], seg.t[3], seg.speed);
    ck_assert_int_eq(seg.has_times, 1);
    ck_assert_int_eq(seg.q0, 6);
    ck_assert_int_eq(seg.q1, 25);
    ck_assert_double_eq_tol(seg.t[0], 5.5, 1e-9);
    ck_assert_double_eq_tol(seg.t[1], 25.5, 1e-9);
    /* Inside a shot, lines a fraction of a frame apart score alike: one frame on this axis. */
    ck_assert_double_eq_tol(seg.t[2], 4.5, 1.0);
    ck_assert_double_eq_tol(seg.t[3], 24.5, 1.0);
    ck_assert_double_eq_tol(seg.speed, 1.0, 0.1);
    vi__align_graph_free(&g);
    vi_embedding_free(q);
    vi_embedding_free(r);
    pair_free(&p);
}
END_TEST

/* A whole copy of a static 8 s clip: every frame pair is equally similar, so no path stands out
 * against the pair's own background; the low-contrast fallback must still report the whole span
 * (and an unrelated static clip must not get one). */
START_TEST(test_static_clip_whole_copy) {
    world_t w;
    world_init(&w, 111, 0);
    float shot[DIM], other[DIM];
    random_unit(&w.rng, shot, DIM);
    random_unit(&w.rng, other, DIM);
    float clean[8 * DIM], ref[8 * DIM], copy[8 * DIM], unrel[8 * DIM];
    for (int i = 0; i < 8; i++) {
        float jitter[DIM];
        random_unit(&w.rng, jitter, DIM);
        for (int d = 0; d < DIM; d++) clean[i * DIM + d] = shot[d] + 0.05f * jitter[d];
        normalize(clean + i * DIM, DIM);
        observe(&w, clean + i * DIM, 0.05f, ref + i * DIM);
        observe(&w, clean + i * DIM, 0.5f, copy + i * DIM);
        observe(&w, other, 0.3f, unrel + i * DIM);
    }
    struct vi_embedding *r = make_emb(8, ref, 1.0, 0.0), *q = make_emb(8, copy, 1.0, 0.0);
    struct vi_embedding *u = make_emb(8, unrel, 1.0, 0.0);
    struct vi_match *m = run(&w, q, r, 1);
    print_match("static clip copy", m);
    const truth_t t = {0.0, 8.0, 0.0, 8.0};
    check_spans(m, &t, 1, 1.0, 1.0);
    vi_match_free(m);
    /* Without the absolute term only the fallback can find it; without both, nothing can. */
    struct vi_align_params par = params_for(&w, VI_ALIGN_DEFAULT);
    par.abs_scale = 0.0f;
    ck_assert_int_eq(vi__compare_params(q, r, 1, &par, &m), VI_OK);
    check_spans(m, &t, 1, 1.0, 1.0);
    vi_match_free(m);
    par.whole_cos = 2.0f;
    ck_assert_int_eq(vi__compare_params(q, r, 1, &par, &m), VI_OK);
    ck_assert_int_eq(m->n_segments, 0);
    vi_match_free(m);
    m = run(&w, u, r, 1);
    print_match("static clip unrelated", m);
    ck_assert_int_eq(m->n_segments, 0);
    vi_match_free(m);
    vi_embedding_free(r);
    vi_embedding_free(q);
    vi_embedding_free(u);
}
END_TEST

START_TEST(test_copy_scores_above_non_copy) {
    world_t w;
    world_init(&w, 61 + (uint64_t)_i, _i);
    pair_t a, b;
    pair_init(&a, &w, 80);
    add_filler(&a, 20);
    add_copy(&a, 10, 30, 1.0, 0.7f);
    add_filler(&a, 20);
    pair_init(&b, &w, 80);
    add_filler(&b, 60);
    struct vi_embedding *qa, *ra, *qb, *rb;
    pair_embeddings(&a, &qa, &ra);
    pair_embeddings(&b, &qb, &rb);
    struct vi_match *ma = run(&w, qa, ra, 1), *mb = run(&w, qb, rb, 1);
    print_match(_i ? "partial copy (raw)" : "partial copy (head)", ma);
    print_match(_i ? "no copy (raw)" : "no copy (head)", mb);
    ck_assert_int_eq(ma->n_segments, 1);
    /* The thresholds are set for weak real copies (docs/alignment.md), so a pair that copies
     * nothing may still show a chance path: it must be far weaker than the real copy's. */
    for (int k = 0; k < mb->n_segments; k++)
        ck_assert_float_lt(mb->segments[k].score, ma->segments[0].score - 0.3f);
    if (mb->n_segments == 0) ck_assert_float_eq(mb->speed_ratio, 0.0f);
    /* With raw-backbone-like similarities even unrelated videos have a video cosine ~0.95, and the
     * default calibration (fitted for the whitened head) saturates: only the order is checked. */
    if (_i) {
        ck_assert(ma->score >= mb->score);
    } else {
        ck_assert(ma->score > mb->score);
        ck_assert(mb->score < 0.5f && ma->score > 0.5f);
    }
    /* Video-level only: no segments, and the score follows the video cosine alone. */
    struct vi_match *va = run(&w, qa, ra, 0);
    ck_assert_int_eq(va->n_segments, 0);
    ck_assert_float_eq(va->video_similarity, ma->video_similarity);
    ck_assert(va->score <= ma->score);
    vi_match_free(va);
    vi_match_free(ma);
    vi_match_free(mb);
    vi_embedding_free(qa);
    vi_embedding_free(ra);
    vi_embedding_free(qb);
    vi_embedding_free(rb);
    pair_free(&a);
    pair_free(&b);
}
END_TEST

START_TEST(test_single_frame_videos) {
    world_t w;
    world_init(&w, 71, 0);
    float *ref = footage(&w, 60);
    float one[DIM], other[DIM];
    observe(&w, ref + 30 * DIM, 0.3f, one);
    random_unit(&w.rng, other, DIM);
    struct vi_embedding *r = make_emb(60, ref, 1.0, 0.0);
    struct vi_embedding *q1 = make_emb(1, one, 1.0, 0.0);
    struct vi_embedding *u1 = make_emb(1, other, 1.0, 0.0);
    struct vi_embedding *r1 = make_emb(1, ref + 30 * DIM, 1.0, 0.0);
    /* One copied frame against a minute. Its best candidate is reference frame 30; whether one
     * frame is enough evidence for a segment depends on how distinct it is from the rest (here,
     * same-genre shots make it borderline), but a reported segment must be at the right place. */
    double tq1 = 0.0, tr60[60];
    for (int i = 0; i < 60; i++) tr60[i] = i;
    struct vi_align_graph g;
    const struct vi_align_params par = params_for(&w, VI_ALIGN_DEFAULT);
    ck_assert_int_eq(vi__align_graph_build(one, 1, ref, 60, DIM, &tq1, tr60, &par, &g), VI_OK);
    ck_assert_int_ge(g.n_nodes, 1);
    int top = 0;
    for (int k = 1; k < g.n_nodes; k++)
        if (g.nodes[k].z > g.nodes[top].z) top = k;
    ck_assert_int_eq(g.nodes[top].qi, 0);
    ck_assert_int_eq(g.nodes[top].ri, 30);
    vi__align_graph_free(&g);
    struct vi_match *m = run(&w, q1, r, 1);
    print_match("1 frame vs 60", m);
    ck_assert_int_le(m->n_segments, 1);
    if (m->n_segments == 1) { /* frame 30 samples 30.0 s: the span holds it, one interval long */
        ck_assert(m->segments[0].ref_start <= 30.0 && m->segments[0].ref_end >= 30.0);
        ck_assert_double_eq_tol(m->segments[0].ref_end - m->segments[0].ref_start, 1.0, 1e-9);
        ck_assert_double_eq_tol(m->segments[0].query_start, 0.0, 1e-9);
        ck_assert_double_eq_tol(m->segments[0].query_end, 1.0, 1e-9);
    }
    vi_match_free(m);
    /* A minute against one frame, and one frame against one frame: never crash, sane output. */
    m = run(&w, r, r1, 1);
    print_match("60 vs 1 frame", m);
    ck_assert_int_le(m->n_segments, 1);
    vi_match_free(m);
    m = run(&w, q1, r1, 1);
    print_match("1 vs 1 copy", m);
    const float copy_score = m->score;
    vi_match_free(m);
    m = run(&w, u1, r1, 1);
    print_match("1 vs 1 unrelated", m);
    ck_assert_int_eq(m->n_segments, 0);
    ck_assert(copy_score > m->score);
    vi_match_free(m);
    vi_embedding_free(r);
    vi_embedding_free(q1);
    vi_embedding_free(u1);
    vi_embedding_free(r1);
    free(ref);
}
END_TEST

START_TEST(test_nan_and_inf_never_match) {
    world_t w;
    world_init(&w, 81, 0);
    pair_t p;
    pair_init(&p, &w, 60);
    add_filler(&p, 10);
    add_copy(&p, 20, 45, 1.0, 0.6f);
    add_filler(&p, 10);
    struct vi_embedding *q, *r;
    pair_embeddings(&p, &q, &r);
    /* Poison three query frames outside the copy, one inside it, and one reference frame. */
    q->frames[2 * DIM + 5] = NAN;
    q->frames[4 * DIM] = INFINITY;
    q->frames[(size_t)(q->n_frames - 1) * DIM + 7] = -INFINITY;
    q->frames[20 * DIM + 1] = NAN;
    r->frames[50 * DIM] = NAN;
    struct vi_match *m = run(&w, q, r, 1);
    print_match("NaN frames", m);
    check_spans(m, p.truth, p.n_truth, 1.0, 1.0);
    vi_match_free(m);
    /* Poisoned video vector: video similarity 0, still a valid score. */
    q->video[3] = NAN;
    m = run(&w, q, r, 1);
    ck_assert_float_eq(m->video_similarity, 0.0f);
    vi_match_free(m);
    /* Everything poisoned: no segment, no crash. */
    for (size_t k = 0; k < (size_t)q->n_frames * DIM; k++) q->frames[k] = NAN;
    m = run(&w, q, r, 1);
    ck_assert_int_eq(m->n_segments, 0);
    ck_assert_float_eq(m->speed_ratio, 0.0f);
    vi_match_free(m);
    vi_embedding_free(q);
    vi_embedding_free(r);
    pair_free(&p);
}
END_TEST

/* Random small pairs with poisoned vectors and hostile timestamps (duplicates, going backwards,
 * jumps of days, the int64 extremes): both aligners must succeed with sane output. */
START_TEST(test_hostile_inputs_never_break) {
    world_t w;
    world_init(&w, 121, 0);
    for (int it = 0; it < 150; it++) {
        const int nq = rng_int(&w.rng, 1, 40), nr = rng_int(&w.rng, 1, 40);
        float *fq = footage(&w, nq), *fr = footage(&w, nr);
        if (it % 3 == 0) memcpy(fq, fr, (size_t)(nq < nr ? nq : nr) * DIM * sizeof(float));
        struct vi_embedding *q = make_emb(nq, fq, 1.0, 0.0), *r = make_emb(nr, fr, 1.0, 0.0);
        static const float poison[] = {NAN, INFINITY, -INFINITY, 1e38f, 0.0f};
        for (int k = rng_int(&w.rng, 0, 4); k > 0; k--) {
            struct vi_embedding *e = rng_int(&w.rng, 0, 1) ? q : r;
            const float v = poison[rng_int(&w.rng, 0, 4)];
            float *row = e->frames + (size_t)rng_int(&w.rng, 0, e->n_frames - 1) * DIM;
            if (rng_int(&w.rng, 0, 3) == 0)
                memset(row, 0, DIM * sizeof(float)); /* a zero vector */
            else
                row[rng_int(&w.rng, 0, DIM - 1)] = v;
            if (rng_int(&w.rng, 0, 5) == 0) e->video[rng_int(&w.rng, 0, DIM - 1)] = v;
        }
        static const int64_t odd[] = {INT64_MIN, INT64_MAX, 0, -5000000, 86400000000LL};
        for (int k = rng_int(&w.rng, 0, 3); k > 0; k--) {
            struct vi_embedding *e = rng_int(&w.rng, 0, 1) ? q : r;
            e->pts_us[rng_int(&w.rng, 0, e->n_frames - 1)] = odd[rng_int(&w.rng, 0, 4)];
        }
        for (int method = 0; method < 2; method++) {
            struct vi_match *m = NULL;
            const struct vi_align_params par = params_for(&w, method);
            ck_assert_int_eq(vi__compare_params(q, r, 1, &par, &m), VI_OK);
            ck_assert(m->score >= 0.0f && m->score <= 1.0f);
            ck_assert(isfinite(m->video_similarity) && isfinite(m->speed_ratio));
            for (int k = 0; k < m->n_segments; k++) {
                const vi_segment *g = &m->segments[k];
                ck_assert(g->query_end >= g->query_start && g->ref_end >= g->ref_start);
                ck_assert(g->score >= -1.0f && g->score <= 1.0f);
            }
            vi_match_free(m);
        }
        vi_embedding_free(q);
        vi_embedding_free(r);
        free(fq);
        free(fr);
    }
}
END_TEST

START_TEST(test_rejects_bad_arguments) {
    world_t w;
    world_init(&w, 91, 0);
    float *f = footage(&w, 3);
    struct vi_embedding *a = make_emb(3, f, 1.0, 0.0), *b = NULL;
    ck_assert_int_eq(vi__embedding_alloc(DIM / 2, 3, "synthetic", &b), VI_OK);
    struct vi_match *m = (struct vi_match *)1;
    ck_assert_int_eq(vi__compare(a, NULL, 1, &m), VI_E_INVALID_ARG);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(vi__compare(a, b, 1, &m), VI_E_FORMAT);
    ck_assert_ptr_null(m);
    vi_embedding_free(a);
    vi_embedding_free(b);
    free(f);
}
END_TEST

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* An hour against an hour with two copied minutes: bounded time and a correct answer. */
START_TEST(test_hour_against_hour_is_bounded) {
    world_t w;
    world_init(&w, 101, 0);
    pair_t p;
    pair_init(&p, &w, 3600);
    add_filler(&p, 1000);
    add_copy(&p, 2000, 2060, 1.0, 0.7f);
    add_filler(&p, 1500);
    add_copy(&p, 300, 360, 1.0, 0.7f);
    add_filler(&p, 3600 - p.nq);
    struct vi_embedding *q, *r;
    pair_embeddings(&p, &q, &r);
    for (int method = 0; method < 2; method++) {
        const double t0 = now_s();
        struct vi_match *m = NULL;
        const struct vi_align_params par = params_for(&w, method);
        ck_assert_int_eq(vi__compare_params(q, r, 1, &par, &m), VI_OK);
        const double dt = now_s() - t0;
        printf("3600 x 3600 frames, %s: %.2f s\n", method ? "hough" : "temporal network", dt);
        print_match("  hour", m);
        check_spans(m, p.truth, p.n_truth, 1.0, 1.0);
        ck_assert(dt < 60.0);
        vi_match_free(m);
    }
    vi_embedding_free(q);
    vi_embedding_free(r);
    pair_free(&p);
}
END_TEST

/* The measurement behind the default aligner, scored with VCSL's segment precision/recall.
 * Long pairs: a 60..240 s reference, one to three excerpts of 5..40 s at 0.5x..2x with noise,
 * spliced into unrelated footage. Short pairs (like bench/'s partial copies): a 6..12 s reference
 * copied whole or in part (at least 3 s) between 0..15 s of other footage. One pair in five of
 * each kind copies nothing; half the pairs use each similarity regime. */
static void benchmark(int method, int refine, int n_pairs, int short_refs, double *f1_out) {
    static const double speeds[] = {1.0, 1.0, 1.0, 0.5, 2.0, 0.8, 1.25, 1.5};
    double sp = 0, sr = 0;
    for (int k = 0; k < n_pairs; k++) {
        world_t w;
        world_init(&w, (short_refs ? 5000 : 1000) + (uint64_t)k, k % 2);
        pair_t p;
        pair_init(&p, &w, short_refs ? rng_int(&w.rng, 6, 12) : rng_int(&w.rng, 60, 240));
        const int copies = k % 5 == 4 ? 0 : short_refs ? 1 : rng_int(&w.rng, 1, 3);
        add_filler(&p, rng_int(&w.rng, 0, short_refs ? 15 : 20));
        for (int c = 0; c < copies; c++) {
            const double v = speeds[rng_int(&w.rng, 0, 7)];
            int len, r0;
            if (short_refs) {
                len = rng_int(&w.rng, 3, p.nr);
                r0 = rng_int(&w.rng, 0, p.nr - len);
            } else {
                len = rng_int(&w.rng, 5, 40);
                r0 = rng_int(&w.rng, 0, p.nr - len - 1);
            }
            add_copy(&p, r0, r0 + len, v, 0.4f + 0.5f * (float)rng_unit(&w.rng));
            add_filler(&p, rng_int(&w.rng, short_refs ? 0 : 3, short_refs ? 15 : 30));
        }
        struct vi_embedding *q, *r;
        pair_embeddings(&p, &q, &r);
        struct vi_match *m = NULL;
        struct vi_align_params par = params_for(&w, method);
        par.refine = refine;
        ck_assert_int_eq(vi__compare_params(q, r, 1, &par, &m), VI_OK);
        double pp, rr;
        pair_pr(m, p.truth, p.n_truth, &pp, &rr);
        sp += pp;
        sr += rr;
        vi_match_free(m);
        vi_embedding_free(q);
        vi_embedding_free(r);
        pair_free(&p);
    }
    const double P = sp / n_pairs, R = sr / n_pairs;
    *f1_out = 2 * P * R / (P + R + 1e-12);
    printf("synthetic VCSL metric, %s%s, %s references: precision %.3f recall %.3f F1 %.3f "
           "(%d pairs)\n", method ? "hough" : "temporal network", refine ? "" : " unrefined",
           short_refs ? "short" : "long", P, R, *f1_out, n_pairs);
    fflush(stdout);
}

START_TEST(test_aligners_segment_f1) {
    double f1[2][2], unrefined[2];
    for (int method = 0; method < 2; method++)
        for (int kind = 0; kind < 2; kind++) benchmark(method, 1, 100, kind, &f1[method][kind]);
    for (int kind = 0; kind < 2; kind++)
        benchmark(VI_ALIGN_DEFAULT, 0, 100, kind, &unrefined[kind]);
    const int d = VI_ALIGN_DEFAULT, o = 1 - VI_ALIGN_DEFAULT;
    ck_assert(f1[d][0] + f1[d][1] >= f1[o][0] + f1[o][1]);
    /* The refinement trades a little on these synthetic short pairs (clean, strong frames, many
     * speed changes) for more on bench/'s real partial copies (docs/alignment.md, section 8). */
    ck_assert(f1[d][0] >= 0.85 && f1[d][1] >= 0.75);
    ck_assert(unrefined[0] >= 0.85 && unrefined[1] >= 0.8);
}
END_TEST

Suite *compare_suite(void) {
    Suite *s = suite_create("compare");
    TCase *tc = tcase_create("spans");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_dot_matches_naive_sum);
    tcase_add_test(tc, test_whole_copy_is_one_segment);
    tcase_add_loop_test(tc, test_excerpt_time_shifted, 0, 2);
    tcase_add_test(tc, test_speedup_2x_by_frame_skipping);
    tcase_add_test(tc, test_slowdown_half_by_repetition);
    tcase_add_test(tc, test_two_segments_and_dropped_frames);
    tcase_add_test(tc, test_static_clip_whole_copy);
    tcase_add_loop_test(tc, test_two_excerpts_of_one_reference_are_split, 0, 2);
    tcase_add_test(tc, test_refine_grows_a_truncated_segment);
    suite_add_tcase(s, tc);
    tc = tcase_create("scores_and_robustness");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_copy_scores_above_non_copy, 0, 2);
    tcase_add_test(tc, test_single_frame_videos);
    tcase_add_test(tc, test_nan_and_inf_never_match);
    tcase_add_test(tc, test_hostile_inputs_never_break);
    tcase_add_test(tc, test_rejects_bad_arguments);
    suite_add_tcase(s, tc);
    tc = tcase_create("measurements");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_hour_against_hour_is_bounded);
    tcase_add_test(tc, test_aligners_segment_f1);
    suite_add_tcase(s, tc);
    return s;
}
