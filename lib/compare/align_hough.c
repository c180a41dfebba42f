/* Aligner 2: Hough voting over (speed, offset) lines (after Douze et al., "Circulant temporal
 * encoding", and the temporal Hough voting of VCSL's baselines), extended to speed changes.
 *
 * A copied span is a line t_ref = v * t_query + b in the similarity plane. Every candidate votes,
 * with its node weight, for the offset b it implies at each of VI_ALIGN_HV_N_SPEEDS speeds v
 * (geometric from 0.5 to 2). The heaviest (v, b) cell (with its two neighbouring offset bins)
 * gives a line; the candidates within VI_ALIGN_HV_TOL_S of it are refitted by weighted least
 * squares twice (so a speed between two voted ones, or a slight drift, still collects its whole
 * span), split where they jump more than VI_ALIGN_MAX_GAP_S, and each run is judged as a
 * segment. Its candidates leave the vote, and the next peak is taken, until the peaks fall below
 * what the smallest acceptable segment could weigh. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "align.h"

#define HV_MAX_PEAKS (4 * VI_ALIGN_MAX_SEGMENTS + 8)

struct line {
    double v, b;
};

static int32_t collect(const struct vi_align_graph *g, const uint8_t *used, struct line ln,
                       int32_t *members) {
    int32_t m = 0;
    const double tol = VI_ALIGN_HV_TOL_S * (ln.v > 1.0 ? ln.v : 1.0);
    for (int32_t n = 0; n < g->n_nodes; n++) {
        if (used[n]) continue;
        const struct vi_align_node *nd = &g->nodes[n];
        if (fabs(g->tr[nd->ri] - (ln.v * g->tq[nd->qi] + ln.b)) <= tol) members[m++] = n;
    }
    return m;
}

/* Weighted least squares of t_ref on t_query; keeps `ln` when the fit is degenerate and clamps
 * the speed to the range a segment may have. */
static struct line refit(const struct vi_align_graph *g, const int32_t *members, int32_t m,
                         struct line ln) {
    double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int32_t k = 0; k < m; k++) {
        const struct vi_align_node *nd = &g->nodes[members[k]];
        const double w = nd->w > 0.0f ? nd->w : 0.0f, x = g->tq[nd->qi], y = g->tr[nd->ri];
        sw += w;
        sx += w * x;
        sy += w * y;
        sxx += w * x * x;
        sxy += w * x * y;
    }
    if (sw <= 0) return ln;
    const double mx = sx / sw, my = sy / sw;
    const double vxx = sxx / sw - mx * mx, vxy = sxy / sw - mx * my;
    if (vxx > 1e-6) {
        double v = vxy / vxx;
        if (v < VI_ALIGN_SPEED_MIN) v = VI_ALIGN_SPEED_MIN;
        if (v > VI_ALIGN_SPEED_MAX) v = VI_ALIGN_SPEED_MAX;
        ln.v = v;
    }
    ln.b = my - ln.v * mx;
    return ln;
}

int32_t vi__align_hough(const struct vi_align_graph *g, struct vi_align_seg *out,
                        int32_t max_out) {
    const int32_t N = g->n_nodes;
    if (N == 0 || max_out <= 0) return 0;
    const double tq0 = g->tq[0], tq1 = g->tq[g->nq - 1];
    const double tr0 = g->tr[0], tr1 = g->tr[g->nr - 1];
    double speed[VI_ALIGN_HV_N_SPEEDS], bmin[VI_ALIGN_HV_N_SPEEDS];
    int32_t nbins[VI_ALIGN_HV_N_SPEEDS];
    size_t total_bins = 0;
    /* Bins of VI_ALIGN_HV_BIN_S, wider if absurd timestamps (days apart) would need more than
     * 2^20 bins per speed. */
    double bin_w = VI_ALIGN_HV_BIN_S;
    const double span = (tr1 - tr0) + 4.0 * (tq1 - tq0) + 4.0 * VI_ALIGN_HV_BIN_S;
    if (span / bin_w > (double)(1 << 20)) bin_w = span / (double)(1 << 20);
    for (int s = 0; s < VI_ALIGN_HV_N_SPEEDS; s++) {
        speed[s] = 0.5 * pow(4.0, (double)s / (VI_ALIGN_HV_N_SPEEDS - 1));
        bmin[s] = tr0 - speed[s] * tq1 - 2.0 * bin_w;
        const double bmax = tr1 - speed[s] * tq0 + 2.0 * bin_w;
        nbins[s] = (int32_t)((bmax - bmin[s]) / bin_w) + 2;
        total_bins += (size_t)nbins[s];
    }
    float *hist = vi__mallocarray(total_bins, sizeof *hist);
    uint8_t *used = vi__calloc((size_t)N, 1);
    int32_t *members = vi__mallocarray((size_t)N, sizeof *members);
    int32_t n_out = -1;
    if (!hist || !used || !members) goto done;

    /* The lightest peak worth following: the weight of the smallest acceptable segment. */
    int32_t min_nodes = VI_ALIGN_MIN_NODES;
    if (g->nq < min_nodes) min_nodes = g->nq;
    if (g->nr < min_nodes) min_nodes = g->nr;
    const float min_peak = (float)min_nodes * vi__align_weight(VI_ALIGN_Z_SEG) * 0.5f;

    n_out = 0;
    for (int peak = 0; peak < HV_MAX_PEAKS && n_out < max_out; peak++) {
        memset(hist, 0, total_bins * sizeof *hist);
        for (int32_t n = 0; n < N; n++) {
            if (used[n]) continue;
            const struct vi_align_node *nd = &g->nodes[n];
            const float w = nd->w;
            if (w <= 0.0f) continue;
            float *h = hist;
            for (int s = 0; s < VI_ALIGN_HV_N_SPEEDS; s++) {
                const double b = g->tr[nd->ri] - speed[s] * g->tq[nd->qi];
                const int32_t bin = (int32_t)((b - bmin[s]) / bin_w);
                if (bin >= 0 && bin < nbins[s]) h[bin] += w;
                h += nbins[s];
            }
        }
        float top = 0.0f;
        int top_s = -1;
        int32_t top_bin = -1;
        const float *h = hist;
        for (int s = 0; s < VI_ALIGN_HV_N_SPEEDS; s++) {
            for (int32_t b = 1; b + 1 < nbins[s]; b++) {
                const float v = h[b - 1] + h[b] + h[b + 1];
                if (v > top) {
                    top = v;
                    top_s = s;
                    top_bin = b;
                }
            }
            h += nbins[s];
        }
        if (top_s < 0 || top < min_peak) break;

        struct line ln = {speed[top_s], bmin[top_s] + (top_bin + 0.5) * bin_w};
        int32_t m = collect(g, used, ln, members);
        for (int it = 0; it < 2 && m > 1; it++) {
            ln = refit(g, members, m, ln);
            const int32_t m2 = collect(g, used, ln, members);
            if (m2 == 0) break;
            m = m2;
        }
        if (m == 0) m = collect(g, used, (struct line){speed[top_s], ln.b}, members);
        if (m == 0) break;
        /* Split into runs without long jumps; members are in (query, reference) order. */
        int32_t start = 0;
        for (int32_t k = 1; k <= m; k++) {
            int split = k == m;
            if (!split) {
                const struct vi_align_node *a = &g->nodes[members[k - 1]];
                const struct vi_align_node *b = &g->nodes[members[k]];
                split = g->tq[b->qi] - g->tq[a->qi] > VI_ALIGN_MAX_GAP_S ||
                        fabs(g->tr[b->ri] - g->tr[a->ri]) > VI_ALIGN_MAX_GAP_S * ln.v + 1.0;
            }
            if (!split) continue;
            struct vi_align_seg seg;
            if (n_out < max_out && vi__align_accept(g, members + start, k - start, &seg)) {
                const int dup = vi__align_is_echo(g, &seg, out, n_out);
                if (!dup) out[n_out++] = seg;
            }
            start = k;
        }
        for (int32_t k = 0; k < m; k++) used[members[k]] = 1;
    }
    for (int32_t a = 1; a < n_out; a++)
        for (int32_t b = a; b > 0 && out[b].weight > out[b - 1].weight; b--) {
            const struct vi_align_seg t = out[b];
            out[b] = out[b - 1];
            out[b - 1] = t;
        }

done:
    vi__free(hist);
    vi__free(used);
    vi__free(members);
    return n_out;
}
