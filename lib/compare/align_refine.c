/* Refinement of a found segment on the dense similarities around it.
 *
 * The aligners work on a sparse graph of each frame's best candidates, so a path's ends are its
 * least certain part, a path may bridge the other footage between two excerpts of one
 * reference, and its slope follows whichever candidates were kept: inside a copied scene every
 * query frame resembles every frame of the reference. The refinement looks again at every cell
 * of a window around the segment (VI_ALIGN_RF_EXT_S of query time either side):
 * 1. row evidence: each query frame's best score against the segment's reference frames; the
 *    segment's level is the median over its frames, and its ends grow frame by frame while the
 *    next frame's evidence reaches VI_ALIGN_RF_REL x that level (and VI_ALIGN_RF_Z_MIN), and
 *    shrink while an end frame's does not;
 * 2. a run of VI_ALIGN_RF_GAP_ROWS frames or more below that threshold inside the segment
 *    splits it in two (two excerpts with other footage between them);
 * 3. for each part, the line t_ref = v * t_query + b with the most score along it, over speeds
 *    0.5x .. 2x (and the path's own) with a prior cost per octave away from 1x, and offsets
 *    within VI_ALIGN_RF_SEARCH_S of the best-matching reference frames;
 * 4. times: each query end half-way between the last frame in and the first frame out (a frame
 *    samples one instant), the reference ends on the line, clipped to the reference.
 * Work: at most VI_ALIGN_RF_MAX_CELLS cosines per segment; a larger window keeps the path's
 * segment. */
#include <math.h>
#include <stdlib.h>

#include "align.h"
#include "compare.h"

#define Z_OUT (-1e30f) /* marks a line point outside the window / the reference */

struct window {
    int32_t qa, qb, ra, rb; /* frames covered, inclusive */
    int32_t ncol;
    float *z;               /* (qb - qa + 1) x ncol normalised scores */
};

/* Score of query frame i at reference time x, interpolated linearly between the two reference
 * frames around x (so that a line through the frames themselves scores best); Z_OUT outside the
 * window. */
static float z_at(const struct vi_align_graph *g, const struct window *w, int32_t i, double x) {
    if (i < w->qa || i > w->qb) return Z_OUT;
    const double lo = g->tr[w->ra] - 0.5 * g->ir, hi = g->tr[w->rb] + 0.5 * g->ir;
    if (x < lo || x > hi) return Z_OUT;
    int32_t a = w->ra, b = w->rb;
    while (b - a > 1) { /* last frame with time <= x */
        const int32_t m = a + (b - a) / 2;
        if (g->tr[m] <= x)
            a = m;
        else
            b = m;
    }
    if (g->tr[b] <= x) a = b;
    const float *row = w->z + (size_t)(i - w->qa) * (size_t)w->ncol;
    if (a + 1 > w->rb || !(x > g->tr[a]) || !(g->tr[a + 1] > g->tr[a])) return row[a - w->ra];
    const float f = (float)((x - g->tr[a]) / (g->tr[a + 1] - g->tr[a]));
    return (1.0f - f) * row[a - w->ra] + f * row[a + 1 - w->ra];
}

static int float_cmp(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static double norm_of(const float *v, int32_t dim) {
    const double s = vi__dot(v, v, dim);
    return (isfinite(s) && s > 1e-20) ? sqrt(s) : 0.0;
}

/* The line of query frames q0..q1 (speed 0.5x .. 2x, a cost per octave away from 1x, offsets
 * around the reference frames the query frames match best), then the times: query ends half-way
 * to the neighbouring frames, reference ends on the line, both clipped to the videos. */
static int finish(const struct vi_align_graph *g, const struct window *w, int32_t q0, int32_t q1,
                  double q_dur, double r_dur, struct vi_align_seg *seg) {
    if (q1 < q0) return 0;
    /* Reference frames matched best by these query frames: the centre of the offset search. */
    int32_t r0 = INT32_MAX, r1 = -1;
    for (int32_t i = q0; i <= q1; i++) {
        const float *row = w->z + (size_t)(i - w->qa) * (size_t)w->ncol;
        int32_t bc = 0;
        for (int32_t c = 1; c < w->ncol; c++)
            if (row[c] > row[bc]) bc = c;
        if (w->ra + bc < r0) r0 = w->ra + bc;
        if (w->ra + bc > r1) r1 = w->ra + bc;
    }
    if (q1 == seg->q1 && q0 == seg->q0) { /* unchanged span: the path's own box is better */
        r0 = seg->r0;
        r1 = seg->r1;
    }
    const double tq_mid = 0.5 * (g->tq[q0] + g->tq[q1]);
    const double tr_mid = 0.5 * (g->tr[r0] + g->tr[r1]);
    double bv = (g->tr[r1] - g->tr[r0] + g->ir) / (g->tq[q1] - g->tq[q0] + g->iq);
    if (bv < 0.5) bv = 0.5;
    if (bv > 2.0) bv = 2.0;
    double bb = tr_mid - bv * tq_mid;
    if (q1 > q0) {
        /* Score of a line: the summed positive z of its query frames, less a prior cost per
         * octave away from 1x (most copies play at their own speed; with weak evidence a slanted
         * line through a copied scene scores as well as the true one by chance). The prior
         * weighs like VI_ALIGN_RF_SPEED_ROWS frames at most, so that a long segment's own
         * evidence decides its speed. Speeds: the grid 0.5x .. 2x, then the path's own. */
        const double search = VI_ALIGN_RF_SEARCH_S;
        const int32_t n_off = (int32_t)(2.0 * search / VI_ALIGN_RF_OFF_STEP_S + 0.5);
        const double v_path = bv;
        const double prior_rows = q1 - q0 + 1 < VI_ALIGN_RF_SPEED_ROWS ? q1 - q0 + 1
                                                                      : VI_ALIGN_RF_SPEED_ROWS;
        double best = -INFINITY;
        for (int32_t k = -VI_ALIGN_RF_SPEED_STEPS; k <= VI_ALIGN_RF_SPEED_STEPS + 1; k++) {
            const double v =
                k > VI_ALIGN_RF_SPEED_STEPS ? v_path : exp2((double)k / VI_ALIGN_RF_SPEED_STEPS);
            const double cost = VI_ALIGN_RF_SPEED_COST * fabs(log2(v)) * prior_rows;
            for (int32_t o = 0; o <= n_off; o++) {
                const double b = tr_mid - v * tq_mid - search + o * VI_ALIGN_RF_OFF_STEP_S;
                double sc = -cost;
                for (int32_t i = q0; i <= q1; i++) {
                    const float z = z_at(g, w, i, v * g->tq[i] + b);
                    if (z > 0.0f) sc += z;
                }
                if (sc > best) {
                    best = sc;
                    bv = v;
                    bb = b;
                }
            }
        }
    }
    double qs = q0 > 0 ? 0.5 * (g->tq[q0 - 1] + g->tq[q0]) : g->tq[0];
    double qe = q1 + 1 < g->nq ? 0.5 * (g->tq[q1] + g->tq[q1 + 1]) : g->tq[q1] + g->iq;
    if (q1 + 1 == g->nq && isfinite(q_dur) && q_dur > g->tq[q1] && q_dur < qe) qe = q_dur;
    const double r_lo = g->tr[0] < 0.0 ? g->tr[0] : 0.0;
    double r_hi = g->tr[g->nr - 1] + g->ir;
    if (isfinite(r_dur) && r_dur > g->tr[g->nr - 1] && r_dur < r_hi) r_hi = r_dur;
    /* The query span is what matched (row evidence); a line leaving the reference is the line's
     * error, so only the reference span is clipped. */
    double rs = bv * qs + bb, re = bv * qe + bb;
    if (rs < r_lo) rs = r_lo;
    if (re > r_hi) re = r_hi;
    if (!(qe > qs) || !(re > rs)) return 0;
    seg->q0 = q0;
    seg->q1 = q1;
    seg->r0 = r0;
    seg->r1 = r1;
    seg->has_times = 1;
    seg->t[0] = qs;
    seg->t[1] = qe;
    seg->t[2] = rs;
    seg->t[3] = re;
    seg->speed = bv;
    return 1;
}

int vi__align_refine(const struct vi_align_graph *g, const float *qf, const float *rf, int32_t dim,
                     double q_dur, double r_dur, struct vi_align_seg *seg,
                     struct vi_align_seg *extra) {
    if (!g->row_bg || !g->col_bg || seg->q1 <= seg->q0 || seg->r1 < seg->r0) return 0;
    const double ext = VI_ALIGN_RF_EXT_S, search = VI_ALIGN_RF_SEARCH_S;
    struct window w;
    w.qa = seg->q0;
    w.qb = seg->q1;
    while (w.qa > 0 && g->tq[seg->q0] - g->tq[w.qa - 1] <= ext) w.qa--;
    while (w.qb + 1 < g->nq && g->tq[w.qb + 1] - g->tq[seg->q1] <= ext) w.qb++;
    /* Reference frames any searched line can reach over the window's query frames. */
    const double reach = search + 2.0 * (ext + g->tq[seg->q1] - g->tq[seg->q0]);
    w.ra = seg->r0;
    w.rb = seg->r1;
    while (w.ra > 0 && g->tr[seg->r0] - g->tr[w.ra - 1] <= reach) w.ra--;
    while (w.rb + 1 < g->nr && g->tr[w.rb + 1] - g->tr[seg->r1] <= reach) w.rb++;
    const int32_t nrow = w.qb - w.qa + 1;
    w.ncol = w.rb - w.ra + 1;
    if ((size_t)nrow * (size_t)w.ncol > VI_ALIGN_RF_MAX_CELLS) return 0;

    w.z = vi__mallocarray((size_t)nrow * (size_t)w.ncol, sizeof *w.z);
    float *cn = vi__mallocarray((size_t)w.ncol, sizeof *cn);
    float *line = vi__mallocarray(2 * (size_t)nrow, sizeof *line);
    if (!w.z || !cn || !line) {
        vi__free(w.z);
        vi__free(cn);
        vi__free(line);
        return -1;
    }
    for (int32_t c = 0; c < w.ncol; c++)
        cn[c] = (float)norm_of(rf + (size_t)(w.ra + c) * (size_t)dim, dim);
    for (int32_t a = 0; a < nrow; a++) {
        const int32_t i = w.qa + a;
        const float *qv = qf + (size_t)i * (size_t)dim;
        const double qn = norm_of(qv, dim);
        for (int32_t c = 0; c < w.ncol; c++) {
            const int32_t j = w.ra + c;
            float z = -10.0f;
            if (qn > 0.0 && cn[c] > 0.0f) {
                const float s = (float)(vi__dot(qv, rf + (size_t)j * (size_t)dim, dim) /
                                        (qn * cn[c]));
                if (isfinite(s)) z = vi__align_z(g, i, j, s); /* uncapped: lines need contrast */
            }
            w.z[(size_t)a * (size_t)w.ncol + c] = z;
        }
    }

    /* 1. Row evidence: each query frame's best score against the segment's reference frames
     * (with VI_ALIGN_RF_EXT_S of margin), judged against the segment's own level. */
    float *ev = line;
    for (int32_t a = 0; a < nrow; a++) {
        float m = Z_OUT;
        const float *row = w.z + (size_t)a * (size_t)w.ncol;
        for (int32_t c = 0; c < w.ncol; c++) {
            const double t = g->tr[w.ra + c];
            if (t < g->tr[seg->r0] - ext || t > g->tr[seg->r1] + ext) continue;
            if (row[c] > m) m = row[c];
        }
        ev[a] = m;
    }
    float *tmp = line + nrow;
    int32_t nl = 0;
    for (int32_t i = seg->q0; i <= seg->q1; i++) tmp[nl++] = ev[i - w.qa];
    int32_t res = 0;
    if (nl >= 2) {
        qsort(tmp, (size_t)nl, sizeof *tmp, float_cmp);
        const float level = 0.5f * (tmp[(nl - 1) / 2] + tmp[nl / 2]);
        float th = (float)VI_ALIGN_RF_REL * level;
        if (th < VI_ALIGN_RF_Z_MIN) th = VI_ALIGN_RF_Z_MIN;
#define EV(i) ev[(i) - w.qa]
        int32_t q0 = seg->q0, q1 = seg->q1;
        while (q0 > w.qa && EV(q0 - 1) >= th) q0--;
        while (q1 < w.qb && EV(q1 + 1) >= th) q1++;
        while (q0 < q1 && EV(q0) < th) q0++;
        while (q1 > q0 && EV(q1) < th) q1--;
        /* 2. A run of VI_ALIGN_RF_GAP_ROWS query frames or more below the threshold inside the
         * segment: two copied excerpts with other footage between them. */
        int32_t cut0 = -1, cut1 = -1;
        for (int32_t i = q0; i <= q1 && cut0 < 0; i++) {
            if (EV(i) >= th) continue;
            int32_t k = i;
            while (k + 1 <= q1 && EV(k + 1) < th) k++;
            if (k - i + 1 >= VI_ALIGN_RF_GAP_ROWS && i > q0 && k < q1) {
                cut0 = i;
                cut1 = k;
            }
            i = k;
        }
#undef EV
        if (cut0 >= 0 && extra) {
            *extra = *seg;
            res = finish(g, &w, cut1 + 1, q1, q_dur, r_dur, extra) ? 2 : 0;
            q1 = cut0 - 1;
        }
        if (finish(g, &w, q0, q1, q_dur, r_dur, seg))
            res = res ? 2 : 1;
        else if (res == 2) { /* the first part failed: the second takes its place */
            *seg = *extra;
            res = 1;
        }
    }
    vi__free(w.z);
    vi__free(cn);
    vi__free(line);
    return res;
}
