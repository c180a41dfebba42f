/* The DMI head, folded. With sub-feature heads s_k = W_k x + b_k (k = 1..6), the auxiliary head
 * a = W_a x + b_a, and the fusion p = W_f concat(s_1..s_6) + b_f, the embedding is
 * L2norm(p + a). Writing W_f = [F_1 .. F_6] in 256-column blocks, every layer being linear:
 *     p + a = (sum_k F_k W_k + W_a) x + (sum_k F_k b_k + b_f + b_a) = A x + b.
 * So inference costs one matrix-vector product per frame, whatever the head's training shape. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "head.h"

void vi__l2_normalize(float *v, int32_t n) {
    double ss = 0;
    for (int32_t i = 0; i < n; i++) ss += (double)v[i] * v[i];
    if (ss <= 0 || !isfinite(ss)) return;
    float inv = (float)(1.0 / sqrt(ss));
    for (int32_t i = 0; i < n; i++) v[i] *= inv;
}

void vi__head_release(vi__head *head) {
    vi__free(head->A);
    vi__free(head->b);
    head->A = head->b = NULL;
}

/* y += a x over n floats. Blocks of 8 with non-aliasing pointers, so that the compiler turns each
 * block into vector instructions at -O2 (folding a trained head is 6 x 256 x 256 x 1856
 * multiply-adds at every model load; scalar, that was a third of a short clip's `embed`). */
static void add_scaled(float *restrict y, const float *restrict x, float a, int32_t n) {
    int32_t c = 0;
    for (; c + 8 <= n; c += 8)
        for (int u = 0; u < 8; u++) y[c + u] += a * x[c + u];
    for (; c < n; c++) y[c] += a * x[c];
}

/* Fetch tensor `name` as float32 with the expected shape (dims1 = 0 for a vector). */
static vi_status get_f32(const vi__doc *doc, const char *name, int64_t dims0, int64_t dims1,
                         float **out) {
    *out = NULL;
    const vi__tensor *t = vi__doc_tensor(doc, name);
    if (!t) return vi__fail(VI_E_BAD_MODEL, "head tensor '%s' is missing", name);
    int ok = dims1 ? (t->ndim == 2 && t->dims[0] == dims0 && t->dims[1] == dims1)
                   : (t->ndim == 1 && t->dims[0] == dims0);
    if (!ok)
        return vi__fail(VI_E_BAD_MODEL, "head tensor '%s' has the wrong shape (want %lld x %lld)",
                        name, (long long)dims0, (long long)dims1);
    *out = vi__mallocarray((size_t)vi__tensor_numel(t), sizeof(float));
    if (!*out) return vi__fail(VI_E_NOMEM, "out of memory for '%s'", name);
    vi__tensor_to_f32(t, *out);
    return VI_OK;
}

vi_status vi__head_from_doc(const vi__doc *doc, int32_t in_dim, vi__head *head) {
    memset(head, 0, sizeof *head);
    head->in_dim = in_dim;
    const vi__tensor *aux = vi__doc_tensor(doc, "dmi.aux.weight");
    if (!aux) { /* no head: embeddings are the backbone features themselves */
        head->out_dim = in_dim;
        return VI_OK;
    }
    if (aux->ndim != 2 || aux->dims[1] != in_dim || aux->dims[0] < 1 || aux->dims[0] > 65536)
        return vi__fail(VI_E_BAD_MODEL, "head tensor 'dmi.aux.weight' does not match the %d-d "
                        "backbone features", in_dim);
    const int32_t out = (int32_t)aux->dims[0];
    head->out_dim = out;
    float *W = NULL, *bias = NULL, *F = NULL;
    vi_status st = get_f32(doc, "dmi.aux.weight", out, in_dim, &head->A);
    if (st == VI_OK) st = get_f32(doc, "dmi.aux.bias", out, 0, &head->b);
    if (st == VI_OK) st = get_f32(doc, "dmi.fuse.weight", out, (int64_t)out * VI__DMI_SUBS, &F);
    if (st == VI_OK) {
        float *bf;
        st = get_f32(doc, "dmi.fuse.bias", out, 0, &bf);
        if (st == VI_OK) {
            for (int32_t i = 0; i < out; i++) head->b[i] += bf[i];
            vi__free(bf);
        }
    }
    for (int k = 0; st == VI_OK && k < VI__DMI_SUBS; k++) {
        char name[64];
        snprintf(name, sizeof name, "dmi.sub%d.weight", k);
        st = get_f32(doc, name, out, in_dim, &W);
        snprintf(name, sizeof name, "dmi.sub%d.bias", k);
        if (st == VI_OK) st = get_f32(doc, name, out, 0, &bias);
        if (st != VI_OK) break;
        /* A += F_k W_k ; b += F_k b_k, with F_k = columns [k*out, (k+1)*out) of F, row by
         * row of A (loop order i-j-c keeps the inner loop contiguous). */
        const int64_t ldf = (int64_t)out * VI__DMI_SUBS;
        for (int32_t i = 0; i < out; i++) {
            float *Ai = head->A + (int64_t)i * in_dim;
            const float *Fi = F + i * ldf + (int64_t)k * out;
            for (int32_t j = 0; j < out; j++) {
                const float f = Fi[j];
                if (f == 0.0f) continue;
                add_scaled(Ai, W + (int64_t)j * in_dim, f, in_dim);
                head->b[i] += f * bias[j];
            }
        }
        vi__free(W);
        vi__free(bias);
        W = bias = NULL;
    }
    vi__free(W);
    vi__free(bias);
    vi__free(F);
    if (st != VI_OK) vi__head_release(head);
    return st;
}

void vi__head_apply(const vi__head *head, const float *x, int32_t n, float *out) {
    const int32_t in = head->in_dim, od = head->out_dim;
    for (int32_t r = 0; r < n; r++) {
        const float *xr = x + (int64_t)r * in;
        float *o = out + (int64_t)r * od;
        if (!head->A) {
            memcpy(o, xr, (size_t)in * sizeof(float));
        } else {
            for (int32_t i = 0; i < od; i++) {
                const float *Ai = head->A + (int64_t)i * in;
                float acc = head->b[i];
                for (int32_t c = 0; c < in; c++) acc += Ai[c] * xr[c];
                o[i] = acc;
            }
        }
        vi__l2_normalize(o, od);
    }
}
