/* The candidate graph of a video pair: frame similarities, their normalisation against each
 * row's and column's background, and the sparse set of candidate correspondences that the
 * aligners work on.
 *
 * The full nq x nr similarity matrix is never stored. One pass over a bounded sample of query
 * rows estimates the background of every reference column (and of the whole matrix); the main
 * pass then computes the matrix a block of query rows at a time, normalises it, and keeps only
 * the VI_ALIGN_TOPK best entries of every query row and of every reference column whose z-score
 * reaches VI_ALIGN_Z_NODE. Memory is O((nq + nr) * TOPK) plus the sample; time is dominated by
 * the nq * nr * dim multiply-adds of the blocked kernel below. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "align.h"

/* Four floats: GCC/Clang's vector extension compiles to SSE/NEON without extra -m flags, and
 * gives the kernel the independent accumulators that a plain reduction loop would not get
 * without -ffast-math. */
typedef float v4f __attribute__((vector_size(16)));

static inline v4f load4(const float *p) {
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline float hsum4(v4f v) { return v[0] + v[1] + v[2] + v[3]; }

/* out[a * ldo + b] = dot(q[a], r[b]) for a < na (<= 4) query rows and all nb reference rows. */
static void dot_block(const float *const *q, int32_t na, const float *r, int32_t nb, int32_t dim,
                      float *out, size_t ldo) {
    const int32_t d4 = dim & ~3;
    for (int32_t b = 0; b < nb; b++) {
        const float *rb = r + (size_t)b * (size_t)dim;
        if (na == 4) {
            v4f a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;
            for (int32_t d = 0; d < d4; d += 4) {
                const v4f x = load4(rb + d);
                a0 += load4(q[0] + d) * x;
                a1 += load4(q[1] + d) * x;
                a2 += load4(q[2] + d) * x;
                a3 += load4(q[3] + d) * x;
            }
            float s0 = hsum4(a0), s1 = hsum4(a1), s2 = hsum4(a2), s3 = hsum4(a3);
            for (int32_t d = d4; d < dim; d++) {
                s0 += q[0][d] * rb[d];
                s1 += q[1][d] * rb[d];
                s2 += q[2][d] * rb[d];
                s3 += q[3][d] * rb[d];
            }
            out[b] = s0;
            out[ldo + b] = s1;
            out[2 * ldo + b] = s2;
            out[3 * ldo + b] = s3;
        } else {
            for (int32_t a = 0; a < na; a++) {
                v4f acc = {0, 0, 0, 0};
                for (int32_t d = 0; d < d4; d += 4) acc += load4(q[a] + d) * load4(rb + d);
                float s = hsum4(acc);
                for (int32_t d = d4; d < dim; d++) s += q[a][d] * rb[d];
                out[(size_t)a * ldo + b] = s;
            }
        }
    }
}

/* Reference rows are processed in chunks that stay in L2 while four query rows sweep them. */
#define REF_CHUNK 256

/* Cosine rows: out[a * nr + j] = cos(q row rows[a], r row j), NAN where either row is invalid. */
static void sim_rows(const float *qf, const int32_t *rows, int32_t n_rows, const float *rf,
                     int32_t nr, int32_t dim, const float *invq, const float *invr, float *out) {
    for (int32_t a0 = 0; a0 < n_rows; a0 += 4) {
        const int32_t na = n_rows - a0 < 4 ? n_rows - a0 : 4;
        const float *qp[4];
        for (int32_t a = 0; a < na; a++) qp[a] = qf + (size_t)rows[a0 + a] * (size_t)dim;
        for (int32_t b0 = 0; b0 < nr; b0 += REF_CHUNK) {
            const int32_t nb = nr - b0 < REF_CHUNK ? nr - b0 : REF_CHUNK;
            dot_block(qp, na, rf + (size_t)b0 * (size_t)dim, nb, dim,
                      out + (size_t)a0 * (size_t)nr + b0, (size_t)nr);
        }
        for (int32_t a = 0; a < na; a++) {
            float *o = out + (size_t)(a0 + a) * (size_t)nr;
            const float iq = invq[rows[a0 + a]];
            for (int32_t j = 0; j < nr; j++) {
                const float s = o[j] * iq * invr[j];
                o[j] = (iq > 0.0f && invr[j] > 0.0f && isfinite(s)) ? s : NAN;
            }
        }
    }
}

/* k-th smallest of a[0..n-1] (reorders a). Quickselect with a median-of-three pivot. */
static float select_kth(float *a, int32_t n, int32_t k) {
    int32_t lo = 0, hi = n - 1;
    while (hi > lo) {
        const int32_t mid = lo + (hi - lo) / 2;
        float x = a[lo], y = a[mid], z = a[hi];
        float pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        int32_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                const float t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return a[k];
    }
    return a[k];
}

struct bg {
    float loc, scale;
};

/* Background of n finite values: a low quantile as location, the spread of the lower tail as
 * scale, shrunk towards `prior` with VI_ALIGN_PRIOR_COUNT pseudo-observations. Both quantiles sit
 * below the median, so up to ~70% of a row may be copied content without moving its background. */
static struct bg background(float *v, int32_t n, struct bg prior, double prior_count) {
    double loc = prior.loc, scale = prior.scale;
    if (n > 0) {
        const float hi = select_kth(v, n, (int32_t)(VI_ALIGN_BG_QUANTILE * (n - 1) + 0.5));
        const float lo = select_kth(v, n, (int32_t)(VI_ALIGN_BG_TAIL_QUANTILE * (n - 1) + 0.5));
        const double sc = (double)(hi - lo) / VI_ALIGN_BG_TAIL_SPAN;
        loc = ((double)n * hi + prior_count * prior.loc) / ((double)n + prior_count);
        scale = ((double)n * sc + prior_count * prior.scale) / ((double)n + prior_count);
    }
    if (!(scale >= VI_ALIGN_SCALE_MIN)) scale = VI_ALIGN_SCALE_MIN;
    struct bg b = {(float)loc, (float)scale};
    return b;
}

/* Inverse L2 norm of each row; 0 marks a row that must never match (NaN, Inf, zero). */
static void inverse_norms(const float *f, int32_t n, int32_t dim, float *inv) {
    for (int32_t i = 0; i < n; i++) {
        const float *row = f + (size_t)i * (size_t)dim;
        double s = 0.0;
        for (int32_t d = 0; d < dim; d++) s += (double)row[d] * row[d];
        inv[i] = (isfinite(s) && s > 1e-20) ? (float)(1.0 / sqrt(s)) : 0.0f;
    }
}

/* Typical frame interval: the median positive step, 1 s when there is none. */
static double typical_interval(const double *t, int32_t n) {
    if (n < 2) return 1.0;
    float *d = vi__mallocarray((size_t)n, sizeof *d);
    if (!d) return 1.0;
    int32_t m = 0;
    for (int32_t i = 1; i < n; i++)
        if (t[i] > t[i - 1]) d[m++] = (float)(t[i] - t[i - 1]);
    const double v = m > 0 ? select_kth(d, m, m / 2) : 1.0;
    vi__free(d);
    return v > 0.0 ? v : 1.0;
}

/* A bounded list of the best (z, index, sim) entries, kept unsorted with its minimum tracked. */
struct topk {
    float z[VI_ALIGN_TOPK], sim[VI_ALIGN_TOPK];
    int32_t idx[VI_ALIGN_TOPK];
    int32_t n;
    int32_t min_at;
};

static void topk_push(struct topk *t, float z, float sim, int32_t idx) {
    if (t->n < VI_ALIGN_TOPK) {
        t->z[t->n] = z;
        t->sim[t->n] = sim;
        t->idx[t->n] = idx;
        t->n++;
        if (t->n == VI_ALIGN_TOPK) {
            int32_t m = 0;
            for (int32_t k = 1; k < t->n; k++)
                if (t->z[k] < t->z[m]) m = k;
            t->min_at = m;
        }
        return;
    }
    if (z <= t->z[t->min_at]) return;
    t->z[t->min_at] = z;
    t->sim[t->min_at] = sim;
    t->idx[t->min_at] = idx;
    int32_t m = 0;
    for (int32_t k = 1; k < t->n; k++)
        if (t->z[k] < t->z[m]) m = k;
    t->min_at = m;
}

static int node_cmp(const void *a, const void *b) {
    const struct vi_align_node *x = a, *y = b;
    if (x->qi != y->qi) return x->qi < y->qi ? -1 : 1;
    if (x->ri != y->ri) return x->ri < y->ri ? -1 : 1;
    return 0;
}

void vi__align_graph_free(struct vi_align_graph *g) {
    if (!g) return;
    vi__free(g->nodes);
    vi__free(g->row_start);
    g->nodes = NULL;
    g->row_start = NULL;
    g->n_nodes = 0;
}

/* Query rows per block of the main pass. */
#define ROW_BLOCK 16

vi_status vi__align_graph_build(const float *qf, int32_t nq, const float *rf, int32_t nr,
                                int32_t dim, const double *tq, const double *tr,
                                struct vi_align_graph *g) {
    memset(g, 0, sizeof *g);
    g->nq = nq;
    g->nr = nr;
    g->tq = tq;
    g->tr = tr;
    g->iq = typical_interval(tq, nq);
    g->ir = typical_interval(tr, nr);
    if (nq <= 0 || nr <= 0 || dim <= 0) {
        g->row_start = vi__calloc((size_t)(nq > 0 ? nq : 0) + 1, sizeof *g->row_start);
        return g->row_start ? VI_OK : vi__fail(VI_E_NOMEM, "compare: out of memory");
    }

    vi_status st = VI_E_NOMEM;
    float *invq = vi__mallocarray((size_t)nq, sizeof *invq);
    float *invr = vi__mallocarray((size_t)nr, sizeof *invr);
    struct bg *colbg = vi__mallocarray((size_t)nr, sizeof *colbg);
    struct topk *coltop = vi__calloc((size_t)nr, sizeof *coltop);
    /* The column sample: n_sample query rows x nr, capped at 8M floats. */
    int32_t n_sample = nq < VI_ALIGN_COL_SAMPLE_ROWS ? nq : VI_ALIGN_COL_SAMPLE_ROWS;
    const size_t cap = (size_t)8 << 20;
    if ((size_t)n_sample * (size_t)nr > cap) n_sample = (int32_t)(cap / (size_t)nr);
    if (n_sample < 1) n_sample = 1;
    const size_t blk_rows = (size_t)(n_sample > ROW_BLOCK ? n_sample : ROW_BLOCK);
    float *buf = vi__mallocarray(blk_rows * (size_t)nr, sizeof *buf);
    const int32_t scratch_n = nr > n_sample ? nr : n_sample;
    float *scratch = vi__mallocarray((size_t)scratch_n + 65536, sizeof *scratch);
    int32_t *rows = vi__mallocarray(blk_rows, sizeof *rows);
    struct topk *rowtop = vi__mallocarray(ROW_BLOCK, sizeof *rowtop);
    struct vi_align_node *nodes = NULL;
    if (!invq || !invr || !colbg || !coltop || !buf || !scratch || !rows || !rowtop) goto done;

    inverse_norms(qf, nq, dim, invq);
    inverse_norms(rf, nr, dim, invr);

    /* Pass 1: sampled query rows -> global and per-column backgrounds. */
    for (int32_t a = 0; a < n_sample; a++)
        rows[a] = (int32_t)(((int64_t)a * nq + nq / 2) / n_sample);
    sim_rows(qf, rows, n_sample, rf, nr, dim, invq, invr, buf);
    const size_t total = (size_t)n_sample * (size_t)nr;
    const size_t step = total > 65536 ? total / 65536 + 1 : 1;
    int32_t ng = 0;
    for (size_t k = 0; k < total; k += step)
        if (!isnan(buf[k])) scratch[ng++] = buf[k];
    const struct bg prior = {(float)VI_ALIGN_PRIOR_LOC, (float)VI_ALIGN_PRIOR_SCALE};
    const struct bg global = background(scratch, ng, prior, VI_ALIGN_PRIOR_GLOBAL_COUNT);
    for (int32_t j = 0; j < nr; j++) {
        int32_t m = 0;
        for (int32_t a = 0; a < n_sample; a++) {
            const float s = buf[(size_t)a * (size_t)nr + j];
            if (!isnan(s)) scratch[m++] = s;
        }
        colbg[j] = background(scratch, m, global, VI_ALIGN_PRIOR_COUNT);
    }

    /* Pass 2: every query row; keep the row's and the columns' best candidates. */
    size_t n_nodes = 0, cap_nodes = (size_t)nq * VI_ALIGN_TOPK + 16;
    nodes = vi__mallocarray(cap_nodes, sizeof *nodes);
    if (!nodes) goto done;
    const int32_t rstep = nr > VI_ALIGN_ROW_SAMPLE ? (nr + VI_ALIGN_ROW_SAMPLE - 1) /
                                                         VI_ALIGN_ROW_SAMPLE
                                                   : 1;
    for (int32_t i0 = 0; i0 < nq; i0 += ROW_BLOCK) {
        const int32_t nb = nq - i0 < ROW_BLOCK ? nq - i0 : ROW_BLOCK;
        for (int32_t a = 0; a < nb; a++) rows[a] = i0 + a;
        sim_rows(qf, rows, nb, rf, nr, dim, invq, invr, buf);
        for (int32_t a = 0; a < nb; a++) {
            const float *s = buf + (size_t)a * (size_t)nr;
            int32_t m = 0;
            for (int32_t j = 0; j < nr; j += rstep)
                if (!isnan(s[j])) scratch[m++] = s[j];
            struct topk *rt = &rowtop[a];
            rt->n = 0;
            rt->min_at = 0;
            if (invq[i0 + a] <= 0.0f) continue;
            const struct bg rb = background(scratch, m, global, VI_ALIGN_PRIOR_COUNT);
            const float rinv = 1.0f / rb.scale;
            for (int32_t j = 0; j < nr; j++) {
                if (isnan(s[j])) continue;
                const float z = 0.5f * ((s[j] - rb.loc) * rinv +
                                        (s[j] - colbg[j].loc) / colbg[j].scale);
                if (!(z >= VI_ALIGN_Z_NODE)) continue;
                topk_push(rt, z, s[j], j);
                topk_push(&coltop[j], z, s[j], i0 + a);
            }
            for (int32_t k = 0; k < rt->n; k++) {
                struct vi_align_node *nd = &nodes[n_nodes++];
                nd->qi = i0 + a;
                nd->ri = rt->idx[k];
                nd->sim = rt->sim[k];
                nd->z = rt->z[k];
            }
        }
    }
    size_t n_col = 0;
    for (int32_t j = 0; j < nr; j++) n_col += (size_t)coltop[j].n;
    if (n_col > 0) {
        struct vi_align_node *grown = vi__realloc(nodes, (n_nodes + n_col) * sizeof *nodes);
        if (!grown) goto done;
        nodes = grown;
        for (int32_t j = 0; j < nr; j++)
            for (int32_t k = 0; k < coltop[j].n; k++) {
                struct vi_align_node *nd = &nodes[n_nodes++];
                nd->qi = coltop[j].idx[k];
                nd->ri = j;
                nd->sim = coltop[j].sim[k];
                nd->z = coltop[j].z[k];
            }
    }
    qsort(nodes, n_nodes, sizeof *nodes, node_cmp);
    size_t u = 0;
    for (size_t k = 0; k < n_nodes; k++)
        if (u == 0 || node_cmp(&nodes[u - 1], &nodes[k]) != 0) nodes[u++] = nodes[k];
    n_nodes = u;

    g->row_start = vi__calloc((size_t)nq + 1, sizeof *g->row_start);
    if (!g->row_start) goto done;
    for (size_t k = 0; k < n_nodes; k++) g->row_start[nodes[k].qi + 1]++;
    for (int32_t i = 0; i < nq; i++) g->row_start[i + 1] += g->row_start[i];
    g->nodes = nodes;
    g->n_nodes = (int32_t)n_nodes;
    nodes = NULL;
    st = VI_OK;

done:
    vi__free(nodes);
    vi__free(invq);
    vi__free(invr);
    vi__free(colbg);
    vi__free(coltop);
    vi__free(buf);
    vi__free(scratch);
    vi__free(rows);
    vi__free(rowtop);
    if (st != VI_OK) {
        vi__align_graph_free(g);
        return vi__fail(VI_E_NOMEM, "compare: out of memory aligning %d x %d frames", nq, nr);
    }
    return VI_OK;
}

int vi__align_accept(const struct vi_align_graph *g, const int32_t *path, int32_t n,
                     struct vi_align_seg *seg) {
    int32_t min_nodes = VI_ALIGN_MIN_NODES;
    if (g->nq < min_nodes) min_nodes = g->nq;
    if (g->nr < min_nodes) min_nodes = g->nr;
    if (n < min_nodes || n <= 0) return 0;
    seg->q0 = seg->r0 = INT32_MAX;
    seg->q1 = seg->r1 = -1;
    double sum_sim = 0.0, sum_z = 0.0, weight = 0.0;
    for (int32_t k = 0; k < n; k++) {
        const struct vi_align_node *nd = &g->nodes[path[k]];
        if (nd->qi < seg->q0) seg->q0 = nd->qi;
        if (nd->qi > seg->q1) seg->q1 = nd->qi;
        if (nd->ri < seg->r0) seg->r0 = nd->ri;
        if (nd->ri > seg->r1) seg->r1 = nd->ri;
        sum_sim += nd->sim;
        sum_z += nd->z;
        weight += vi__align_weight(nd->z);
    }
    seg->n_nodes = n;
    seg->mean_sim = (float)(sum_sim / n);
    seg->mean_z = (float)(sum_z / n);
    seg->weight = weight;
    if (seg->mean_z < VI_ALIGN_Z_SEG) return 0;
    /* Speed over the whole span (each end covers one frame interval). A segment of one frame on
     * either axis has no measurable speed and is judged by its similarity alone. */
    if (seg->q1 > seg->q0 && seg->r1 > seg->r0) {
        const double ql = g->tq[seg->q1] - g->tq[seg->q0] + g->iq;
        const double rl = g->tr[seg->r1] - g->tr[seg->r0] + g->ir;
        const double speed = rl / ql;
        if (!(speed >= VI_ALIGN_SPEED_MIN && speed <= VI_ALIGN_SPEED_MAX)) return 0;
    }
    return 1;
}
