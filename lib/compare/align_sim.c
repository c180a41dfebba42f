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

/* Eight floats: GCC/Clang's vector extension gives the kernel independent accumulators that a
 * plain reduction loop would not get without -ffast-math. The kernel is compiled twice (AVX2 and
 * the baseline, where each vector is split into two SSE/NEON registers) and the loader picks
 * one for the CPU at hand. */
typedef float v8f __attribute__((vector_size(32)));
/* The same, loadable from any float address (rows are not 32-byte aligned) without breaking
 * strict aliasing rules. */
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));

/* Macros rather than functions: a 32-byte vector crossing a function boundary in the baseline
 * clone would change the calling convention (GCC's -Wpsabi). */
#define LOAD8(p) (*(const v8u *)(const void *)(p))
#define HSUM8(v) ((((v)[0] + (v)[4]) + ((v)[1] + (v)[5])) + (((v)[2] + (v)[6]) + ((v)[3] + (v)[7])))

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VI_KERNEL_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VI_KERNEL_CLONES
#endif

/* out[a * ldo + b] = dot(q[a], r[b]) for a < na (<= 4) query rows and all nb reference rows. */
VI_KERNEL_CLONES
static void dot_block(const float *const *q, int32_t na, const float *r, int32_t nb, int32_t dim,
                      float *out, size_t ldo) {
    const int32_t d8 = dim & ~7;
    for (int32_t b = 0; b < nb; b++) {
        const float *rb = r + (size_t)b * (size_t)dim;
        if (na == 4) {
            v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
            for (int32_t d = 0; d < d8; d += 8) {
                const v8f x = LOAD8(rb + d);
                a0 += LOAD8(q[0] + d) * x;
                a1 += LOAD8(q[1] + d) * x;
                a2 += LOAD8(q[2] + d) * x;
                a3 += LOAD8(q[3] + d) * x;
            }
            float s0 = HSUM8(a0), s1 = HSUM8(a1), s2 = HSUM8(a2), s3 = HSUM8(a3);
            for (int32_t d = d8; d < dim; d++) {
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
                v8f acc = {0};
                for (int32_t d = 0; d < d8; d += 8) acc += LOAD8(q[a] + d) * LOAD8(rb + d);
                float s = HSUM8(acc);
                for (int32_t d = d8; d < dim; d++) s += q[a][d] * rb[d];
                out[(size_t)a * ldo + b] = s;
            }
        }
    }
}

/* Reference rows are taken in chunks small enough to stay in L2 while every group of four query
 * rows of the block sweeps them: the reference matrix is read from memory once per block of
 * query rows, not once per four rows. */
#define REF_CHUNK 64

/* Cosine rows: out[a * nr + j] = cos(q row rows[a], r row j), NAN where either row is invalid. */
static void sim_rows(const float *qf, const int32_t *rows, int32_t n_rows, const float *rf,
                     int32_t nr, int32_t dim, const float *invq, const float *invr, float *out) {
    for (int32_t b0 = 0; b0 < nr; b0 += REF_CHUNK) {
        const int32_t nb = nr - b0 < REF_CHUNK ? nr - b0 : REF_CHUNK;
        for (int32_t a0 = 0; a0 < n_rows; a0 += 4) {
            const int32_t na = n_rows - a0 < 4 ? n_rows - a0 : 4;
            const float *qp[4];
            for (int32_t a = 0; a < na; a++) qp[a] = qf + (size_t)rows[a0 + a] * (size_t)dim;
            dot_block(qp, na, rf + (size_t)b0 * (size_t)dim, nb, dim,
                      out + (size_t)a0 * (size_t)nr + b0, (size_t)nr);
        }
    }
    for (int32_t a = 0; a < n_rows; a++) {
        float *o = out + (size_t)a * (size_t)nr;
        const float iq = invq[rows[a]];
        for (int32_t j = 0; j < nr; j++) {
            const float s = o[j] * iq * invr[j];
            o[j] = (iq > 0.0f && invr[j] > 0.0f && isfinite(s)) ? s : NAN;
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

/* The standard normal's p-quantile (Acklam's rational approximation, relative error < 1.2e-9). */
static double normal_quantile(double p) {
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                               2.445134137142996e+00, 3.754408661907416e+00};
    if (p < 0.02425) {
        const double q = sqrt(-2.0 * log(p));
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
    }
    if (p > 1.0 - 0.02425) return -normal_quantile(1.0 - p);
    const double q = p - 0.5, r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
}

/* Background of n finite values, modelled as a normal N(mu, sigma) of which only the part below
 * its quantile p = VI_ALIGN_BG_QUANTILE is trusted: the values above may be copied content (up to
 * 1 - p of a row). With t the empirical p-quantile and a the standard normal's, the normal's
 * E[(t - x)^2; x < t] = sigma^2 * ((a^2 + 1) p + a phi(a)) gives sigma from the lower tail alone,
 * and mu = t - a sigma. Both are shrunk towards `prior` with `prior_count` pseudo-observations. */
static struct bg background(float *v, int32_t n, struct bg prior, double prior_count) {
    double loc = prior.loc, scale = prior.scale;
    if (n > 0) {
        const float a = select_kth(v, n, (int32_t)(VI_ALIGN_BG_QUANTILE * (n - 1) + 0.5));
        double ss = 0.0;
        for (int32_t k = 0; k < n; k++)
            if (v[k] < a) ss += (double)(a - v[k]) * (a - v[k]);
        const double p = VI_ALIGN_BG_QUANTILE, za = normal_quantile(p);
        const double m2 = (za * za + 1.0) * p + za * exp(-0.5 * za * za) / sqrt(2.0 * M_PI);
        const double sc = sqrt(ss / ((double)n * m2));
        const double mu = a - sc * za;
        loc = ((double)n * mu + prior_count * prior.loc) / ((double)n + prior_count);
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
    vi__free(g->row_best);
    vi__free(g->col_best);
    vi__free(g->row_bg);
    vi__free(g->col_bg);
    g->nodes = NULL;
    g->row_bg = NULL;
    g->col_bg = NULL;
    g->row_start = NULL;
    g->row_best = NULL;
    g->col_best = NULL;
    g->n_nodes = 0;
}

/* Query rows per block of the main pass: 64, fewer for very long references, so that a block
 * stays within 8M floats (32 MB). */
#define ROW_BLOCK 64

vi_status vi__align_graph_build(const float *qf, int32_t nq, const float *rf, int32_t nr,
                                int32_t dim, const double *tq, const double *tr,
                                const struct vi_align_params *par, struct vi_align_graph *g) {
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
    float *colinv = vi__mallocarray((size_t)nr, sizeof *colinv);
    float *collc = vi__mallocarray((size_t)nr, sizeof *collc);
    struct topk *coltop = vi__calloc((size_t)nr, sizeof *coltop);
    /* The column sample: n_sample query rows x nr, capped at 8M floats. */
    int32_t n_sample = nq < VI_ALIGN_COL_SAMPLE_ROWS ? nq : VI_ALIGN_COL_SAMPLE_ROWS;
    const size_t cap = (size_t)8 << 20;
    if ((size_t)n_sample * (size_t)nr > cap) n_sample = (int32_t)(cap / (size_t)nr);
    if (n_sample < 1) n_sample = 1;
    int32_t row_block = ROW_BLOCK;
    if ((size_t)row_block * (size_t)nr > cap) row_block = (int32_t)(cap / (size_t)nr);
    if (row_block < 4) row_block = 4;
    const size_t blk_rows = (size_t)(n_sample > row_block ? n_sample : row_block);
    float *buf = vi__mallocarray(blk_rows * (size_t)nr, sizeof *buf);
    const int32_t scratch_n = nr > n_sample ? nr : n_sample;
    float *scratch = vi__mallocarray((size_t)scratch_n + 65536, sizeof *scratch);
    int32_t *rows = vi__mallocarray(blk_rows, sizeof *rows);
    struct topk *rowtop = vi__mallocarray(ROW_BLOCK, sizeof *rowtop);
    struct vi_align_node *nodes = NULL;
    g->row_best = vi__mallocarray((size_t)nq, sizeof *g->row_best);
    g->col_best = vi__mallocarray((size_t)nr, sizeof *g->col_best);
    g->row_bg = vi__mallocarray(2 * (size_t)nq, sizeof *g->row_bg);
    g->col_bg = vi__mallocarray(2 * (size_t)nr, sizeof *g->col_bg);
    if (!g->row_best || !g->col_best || !g->row_bg || !g->col_bg) goto done;
    for (int32_t i = 0; i < nq; i++) {
        g->row_bg[2 * i] = 0.0f;
        g->row_bg[2 * i + 1] = 0.0f; /* inverse scale 0: an invalid row never matches */
    }
    for (int32_t j = 0; j < nr; j++) g->col_best[j] = NAN;
    if (!invq || !invr || !colbg || !colinv || !collc || !coltop || !buf || !scratch || !rows ||
        !rowtop)
        goto done;

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
        colinv[j] = 1.0f / colbg[j].scale;
        collc[j] = colbg[j].loc * colinv[j];
        g->col_bg[2 * j] = colbg[j].loc;
        g->col_bg[2 * j + 1] = colinv[j];
    }

    /* Pass 2: every query row; keep the row's and the columns' best candidates. */
    const float abs_loc = par->abs_loc;
    const float abs_inv = par->abs_scale > 0.0f ? 1.0f / par->abs_scale : 0.0f;
    g->abs_loc = abs_loc;
    g->abs_inv = abs_inv;
    const double n_cells = (double)nq * (double)nr;
    g->z_shift = n_cells > VI_ALIGN_Z_SIZE_REF
                     ? (float)(VI_ALIGN_Z_SIZE_GAIN * (sqrt(2.0 * log(n_cells)) -
                                                       sqrt(2.0 * log(VI_ALIGN_Z_SIZE_REF))))
                     : 0.0f;
    const float z_shift = g->z_shift;
    size_t n_nodes = 0, cap_nodes = (size_t)nq * VI_ALIGN_TOPK + 16;
    nodes = vi__mallocarray(cap_nodes, sizeof *nodes);
    if (!nodes) goto done;
    const int32_t rstep = nr > VI_ALIGN_ROW_SAMPLE ? (nr + VI_ALIGN_ROW_SAMPLE - 1) /
                                                         VI_ALIGN_ROW_SAMPLE
                                                   : 1;
    for (int32_t i0 = 0; i0 < nq; i0 += row_block) {
        const int32_t nb = nq - i0 < row_block ? nq - i0 : row_block;
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
            float best = NAN;
            for (int32_t j = 0; j < nr; j++) {
                if (!(s[j] <= best)) best = isnan(s[j]) ? best : s[j];
                if (!(s[j] <= g->col_best[j]) && !isnan(s[j])) g->col_best[j] = s[j];
            }
            g->row_best[i0 + a] = best;
            if (invq[i0 + a] <= 0.0f) continue;
            const struct bg rb = background(scratch, m, global, VI_ALIGN_PRIOR_COUNT);
            /* z >= Z_NODE  <=>  s * (ri + ci_j) >= 2 Z_NODE + loc * ri + cl_j * ci_j: with the
             * column terms precomputed, the common case (far below) is one multiply-add. */
            const float rinv = 1.0f / rb.scale, rl = rb.loc * rinv;
            g->row_bg[2 * (i0 + a)] = rb.loc;
            g->row_bg[2 * (i0 + a) + 1] = rinv;
            for (int32_t j = 0; j < nr; j++) {
                float z = 0.5f * (s[j] * (rinv + colinv[j]) - rl - collc[j]);
                const float za = (s[j] - abs_loc) * abs_inv;
                if (za > z) z = za;
                z -= z_shift;
                if (!(z >= VI_ALIGN_Z_NODE)) continue; /* also skips NaN */
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
    /* Weights: a node loses DOMINATED_COST per unit of z it falls short of the best candidate of
     * its row and of its column (averaged). colbg is reused as the column maxima. */
    for (int32_t j = 0; j < nr; j++) colbg[j].loc = -INFINITY;
    for (size_t k = 0; k < n_nodes; k++)
        if (nodes[k].z > colbg[nodes[k].ri].loc) colbg[nodes[k].ri].loc = nodes[k].z;
    for (int32_t i = 0; i < nq; i++) {
        float rmax = -INFINITY;
        for (int32_t k = g->row_start[i]; k < g->row_start[i + 1]; k++)
            if (nodes[k].z > rmax) rmax = nodes[k].z;
        for (int32_t k = g->row_start[i]; k < g->row_start[i + 1]; k++) {
            struct vi_align_node *nd = &nodes[k];
            const float deficit = 0.5f * ((rmax - nd->z) + (colbg[nd->ri].loc - nd->z));
            nd->w = vi__align_weight(nd->z) - VI_ALIGN_DOMINATED_COST * deficit;
        }
    }
    g->nodes = nodes;
    g->n_nodes = (int32_t)n_nodes;
    nodes = NULL;
    st = VI_OK;

done:
    vi__free(nodes);
    vi__free(invq);
    vi__free(invr);
    vi__free(colbg);
    vi__free(colinv);
    vi__free(collc);
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

/* Nearest frame to time `t` on a non-decreasing timeline. */
static int32_t nearest_frame(const double *t, int32_t n, double x) {
    int32_t lo = 0, hi = n;
    while (lo < hi) {
        const int32_t mid = lo + (hi - lo) / 2;
        if (t[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == n) return n - 1;
    if (lo > 0 && x - t[lo - 1] < t[lo] - x) return lo - 1;
    return lo;
}

/* The ends of a path are its least certain part: inside a shot, the first and last query frames
 * of a copy also resemble their reference frame's neighbours, and the path may start or end a
 * few frames off the copy's line. Fit the line t_ref = v * t_query + b through the path (weighted
 * least squares, then again without the nodes more than VI_ALIGN_HV_TOL_S off it), clip it to the
 * path's box and take the box of the clipped line as the segment. */
static void snap_to_line(const struct vi_align_graph *g, const int32_t *path, int32_t n,
                         struct vi_align_seg *seg) {
    double v = 0.0, b = 0.0;
    for (int pass = 0; pass < 2; pass++) {
        double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (int32_t k = 0; k < n; k++) {
            const struct vi_align_node *nd = &g->nodes[path[k]];
            const double x = g->tq[nd->qi], y = g->tr[nd->ri];
            if (pass == 1 && fabs(y - (v * x + b)) > VI_ALIGN_HV_TOL_S * (v > 1.0 ? v : 1.0))
                continue;
            const double w = (nd->w > 0.0f ? nd->w : 0.0f) + 0.1;
            sw += w;
            sx += w * x;
            sy += w * y;
            sxx += w * x * x;
            sxy += w * x * y;
        }
        if (sw <= 0.0) return;
        const double mx = sx / sw, my = sy / sw, vxx = sxx / sw - mx * mx;
        if (!(vxx > 1e-9)) return;
        v = (sxy / sw - mx * my) / vxx;
        b = my - v * mx;
        if (!(v >= VI_ALIGN_SPEED_MIN && v <= VI_ALIGN_SPEED_MAX)) return;
    }
    double t0 = g->tq[seg->q0], t1 = g->tq[seg->q1];
    const double u0 = (g->tr[seg->r0] - b) / v, u1 = (g->tr[seg->r1] - b) / v;
    if (u0 > t0) t0 = u0;
    if (u1 < t1) t1 = u1;
    if (!(t1 >= t0)) return;
    const int32_t q0 = nearest_frame(g->tq, g->nq, t0), q1 = nearest_frame(g->tq, g->nq, t1);
    const int32_t r0 = nearest_frame(g->tr, g->nr, v * t0 + b);
    const int32_t r1 = nearest_frame(g->tr, g->nr, v * t1 + b);
    if (q1 < q0 || r1 < r0) return;
    /* A line that keeps less than half of the path on either axis fits the noise, not the path
     * (short paths inside a static shot): keep the path's own box then. */
    if (2 * (q1 - q0 + 1) < seg->q1 - seg->q0 + 1 || 2 * (r1 - r0 + 1) < seg->r1 - seg->r0 + 1)
        return;
    seg->q0 = q0;
    seg->q1 = q1;
    seg->r0 = r0;
    seg->r1 = r1;
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
        weight += nd->w;
    }
    seg->n_nodes = n;
    seg->mean_sim = (float)(sum_sim / n);
    seg->mean_z = (float)(sum_z / n);
    seg->weight = weight;
    if (seg->mean_z < VI_ALIGN_Z_SEG) return 0;
    if (n >= 4) snap_to_line(g, path, n, seg);
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

int vi__align_is_echo(const struct vi_align_graph *g, const struct vi_align_seg *seg,
                      const struct vi_align_seg *acc, int32_t n) {
    const double gap = VI_ALIGN_MAX_GAP_S;
    for (int32_t k = 0; k < n; k++) {
        const struct vi_align_seg *a = &acc[k];
        const int near_q = g->tq[seg->q0] <= g->tq[a->q1] + g->iq + gap &&
                           g->tq[a->q0] <= g->tq[seg->q1] + g->iq + gap;
        const int near_r = g->tr[seg->r0] <= g->tr[a->r1] + g->ir + gap &&
                           g->tr[a->r0] <= g->tr[seg->r1] + g->ir + gap;
        if (near_q && near_r) return 1;
    }
    return 0;
}

int vi__align_whole(const struct vi_align_graph *g, struct vi_align_seg *seg) {
    if (!g->row_best || !g->col_best) return 0;
    float top = -INFINITY;
    for (int32_t i = 0; i < g->nq; i++)
        if (g->row_best[i] > top) top = g->row_best[i];
    if (!isfinite(top)) return 0;
    const float cut = top - VI_ALIGN_WHOLE_MARGIN;
    seg->q0 = seg->r0 = INT32_MAX;
    seg->q1 = seg->r1 = -1;
    double sum = 0.0;
    int32_t n = 0;
    for (int32_t i = 0; i < g->nq; i++)
        if (g->row_best[i] >= cut) {
            if (seg->q0 == INT32_MAX) seg->q0 = i;
            seg->q1 = i;
            sum += g->row_best[i];
            n++;
        }
    for (int32_t j = 0; j < g->nr; j++)
        if (g->col_best[j] >= cut) {
            if (seg->r0 == INT32_MAX) seg->r0 = j;
            seg->r1 = j;
        }
    if (n == 0 || seg->r1 < 0) return 0;
    seg->n_nodes = n;
    seg->mean_sim = (float)(sum / n);
    seg->mean_z = 0.0f;
    seg->weight = 0.0;
    return 1;
}
