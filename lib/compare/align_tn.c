/* Aligner 1: a temporal network (after Tan et al., "Scalable detection of partial near-duplicate
 * videos by visual-temporal consistency", ACM MM 2009), solved by dynamic programming over the
 * sparse candidate graph.
 *
 * Nodes are the candidate correspondences (query frame, reference frame). An edge joins two
 * nodes when both timelines move strictly forward, neither jumps more than VI_ALIGN_MAX_GAP_S,
 * and the step's speed stays within VI_ALIGN_TN_LOCAL_SLOPE. A 2x speed-up (reference frames
 * skipped) or a 0.5x slow-down (query frames repeated: the path takes one of each pair) costs
 * nothing; skipping frames on both axes at once (dropped frames, a short edit) costs
 * VI_ALIGN_TN_GAP_COST per frame. Steps that keep one timeline still are not allowed: inside a
 * static shot they would let a path slide along the shot and stretch the span. Nodes sorted by
 * (query, reference) frame are in topological order, so one sweep gives for every node the
 * heaviest path ending there (local alignment: a path may start anywhere). Paths are taken
 * greedily from the heaviest end, each stopping where it meets a node an earlier path took; a
 * few rounds recompute the sweep over the nodes that remain, so that several copied segments per
 * pair come out. */
#include <math.h>
#include <stdlib.h>

#include "align.h"

#define TN_ROUNDS 4

struct order {
    float best;
    int32_t n;
};

static int order_cmp(const void *a, const void *b) {
    const struct order *x = a, *y = b;
    if (x->best != y->best) return x->best > y->best ? -1 : 1;
    return x->n < y->n ? -1 : (x->n > y->n);
}

/* First node of row `i` whose reference time is >= t (rows are sorted by reference frame). */
static int32_t row_lower_bound(const struct vi_align_graph *g, int32_t i, double t) {
    int32_t lo = g->row_start[i], hi = g->row_start[i + 1];
    while (lo < hi) {
        const int32_t mid = lo + (hi - lo) / 2;
        if (g->tr[g->nodes[mid].ri] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* One sweep: best[n] = weight of the heaviest path ending at n over nodes not `used`. */
static void sweep(const struct vi_align_graph *g, const uint8_t *used, float *best, int32_t *prev) {
    const float inv_slope = (float)(1.0 / VI_ALIGN_TN_LOCAL_SLOPE);
    for (int32_t n = 0; n < g->n_nodes; n++) {
        prev[n] = -1;
        if (used[n]) {
            best[n] = -INFINITY;
            continue;
        }
        const struct vi_align_node *nd = &g->nodes[n];
        const int32_t i = nd->qi, j = nd->ri;
        float b = 0.0f;
        int32_t p = -1;
        for (int32_t i2 = i - 1; i2 >= 0 && i - i2 <= VI_ALIGN_TN_MAX_GAP_ROWS; i2--) {
            const double dtq = g->tq[i] - g->tq[i2];
            if (dtq > VI_ALIGN_MAX_GAP_S) break;
            const int32_t di = i - i2;
            const int32_t end = g->row_start[i2 + 1];
            for (int32_t m = row_lower_bound(g, i2, g->tr[j] - VI_ALIGN_MAX_GAP_S); m < end; m++) {
                if (used[m]) continue;
                const int32_t rj = g->nodes[m].ri;
                if (rj >= j) break;
                const int32_t dj = j - rj;
                const double dtr = g->tr[j] - g->tr[rj];
                if (dtq > 0.0 && dtr > 0.0) {
                    const float ratio = (float)(dtr / dtq);
                    if (ratio > VI_ALIGN_TN_LOCAL_SLOPE || ratio < inv_slope) continue;
                }
                const int32_t skipped = (di < dj ? di : dj) - 1;
                const float v = best[m] - (skipped > 0 ? VI_ALIGN_TN_GAP_COST * skipped : 0.0f);
                if (v > b) {
                    b = v;
                    p = m;
                }
            }
        }
        best[n] = nd->w + b;
        prev[n] = p;
    }
}

int32_t vi__align_tn(const struct vi_align_graph *g, struct vi_align_seg *out, int32_t max_out) {
    const int32_t N = g->n_nodes;
    if (N == 0 || max_out <= 0) return 0;
    float *best = vi__mallocarray((size_t)N, sizeof *best);
    int32_t *prev = vi__mallocarray((size_t)N, sizeof *prev);
    uint8_t *used = vi__calloc((size_t)N, 1);
    uint8_t *taken = vi__calloc((size_t)N, 1);
    int32_t *path = vi__mallocarray((size_t)N, sizeof *path);
    struct order *ord = vi__mallocarray((size_t)N, sizeof *ord);
    int32_t n_out = -1;
    if (!best || !prev || !used || !taken || !path || !ord) goto done;

    n_out = 0;
    for (int round = 0; round < TN_ROUNDS && n_out < max_out; round++) {
        sweep(g, used, best, prev);
        int32_t n_ord = 0;
        for (int32_t n = 0; n < N; n++) {
            taken[n] = 0;
            if (!used[n]) {
                ord[n_ord].best = best[n];
                ord[n_ord].n = n;
                n_ord++;
            }
        }
        qsort(ord, (size_t)n_ord, sizeof *ord, order_cmp);
        int32_t found = 0;
        for (int32_t k = 0; k < n_ord && n_out < max_out; k++) {
            int32_t n = ord[k].n;
            if (taken[n] || used[n]) continue;
            /* Walk back until the path meets a node an earlier path of this round took. */
            int32_t len = 0;
            while (n >= 0 && !taken[n] && !used[n]) {
                path[len++] = n;
                taken[n] = 1;
                n = prev[n];
            }
            for (int32_t a = 0, b = len - 1; a < b; a++, b--) {
                const int32_t t = path[a];
                path[a] = path[b];
                path[b] = t;
            }
            struct vi_align_seg seg;
            if (!vi__align_accept(g, path, len, &seg)) continue;
            /* Overlapping an accepted segment on both axes: a parallel echo, not a new copy. */
            const int dup = vi__align_is_echo(g, &seg, out, n_out);
            if (dup) continue;
            out[n_out++] = seg;
            found++;
            for (int32_t a = 0; a < len; a++) used[path[a]] = 1;
            for (int32_t i = seg.q0; i <= seg.q1; i++)
                for (int32_t m = g->row_start[i]; m < g->row_start[i + 1]; m++)
                    if (g->nodes[m].ri >= seg.r0 && g->nodes[m].ri <= seg.r1) used[m] = 1;
        }
        if (found == 0) break;
    }
    /* Heaviest first. */
    for (int32_t a = 1; a < n_out; a++)
        for (int32_t b = a; b > 0 && out[b].weight > out[b - 1].weight; b--) {
            const struct vi_align_seg t = out[b];
            out[b] = out[b - 1];
            out[b - 1] = t;
        }

done:
    vi__free(best);
    vi__free(prev);
    vi__free(used);
    vi__free(taken);
    vi__free(path);
    vi__free(ord);
    return n_out;
}
