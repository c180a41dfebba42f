/* The DMI head, folded. With sub-feature heads s_k = W_k x + b_k (k = 1..6), the auxiliary head
 * a = W_a x + b_a, and the fusion p = W_f concat(s_1..s_6) + b_f, the embedding is
 * L2norm(p + a). Writing W_f = [F_1 .. F_6] in 256-column blocks, every layer being linear:
 *     p + a = (sum_k F_k W_k + W_a) x + (sum_k F_k b_k + b_f + b_a) = A x + b.
 * So inference costs one matrix-vector product per frame, whatever the head's training shape. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../formats/formats.h"
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

/* Layer `l` of the head as a new float32 array (NULL when out of memory). */
static float *layer_f32(const vi__tensor *t) {
    float *out = vi__mallocarray((size_t)vi__tensor_numel(t), sizeof(float));
    if (out) vi__tensor_to_f32(t, out);
    return out;
}

vi_status vi__head_fold(const vi__tensor *weight, const vi__tensor *bias, int32_t in_dim,
                        vi__head *head) {
    memset(head, 0, sizeof *head);
    head->in_dim = in_dim;
    if (!weight) { /* no head: embeddings are the backbone features themselves */
        head->out_dim = in_dim;
        return VI_OK;
    }
    const vi__tensor *aux = &weight[VI__DMI_AUX];
    if (aux->dims[1] != in_dim)
        return vi__fail(VI_E_BAD_MODEL, "the DMI head takes %lld-d features, the backbone gives "
                        "%d", (long long)aux->dims[1], in_dim);
    const int32_t out = (int32_t)aux->dims[0];
    head->out_dim = out;
    /* A = W_a, b = b_a + b_f to start with */
    head->A = layer_f32(aux);
    head->b = layer_f32(&bias[VI__DMI_AUX]);
    float *F = layer_f32(&weight[VI__DMI_FUSE]), *bf = layer_f32(&bias[VI__DMI_FUSE]);
    vi_status st = head->A && head->b && F && bf ? VI_OK : vi__fail(VI_E_NOMEM, "out of memory");
    for (int32_t i = 0; st == VI_OK && i < out; i++) head->b[i] += bf[i];
    vi__free(bf);
    for (int k = 0; st == VI_OK && k < VI__DMI_SUBS; k++) {
        float *W = layer_f32(&weight[k]), *bk = layer_f32(&bias[k]);
        if (!W || !bk) st = vi__fail(VI_E_NOMEM, "out of memory");
        /* A += F_k W_k ; b += F_k b_k, with F_k = columns [k*out, (k+1)*out) of F, row by
         * row of A (loop order i-j-c keeps the inner loop contiguous). */
        const int64_t ldf = (int64_t)out * VI__DMI_SUBS;
        for (int32_t i = 0; st == VI_OK && i < out; i++) {
            float *Ai = head->A + (int64_t)i * in_dim;
            const float *Fi = F + i * ldf + (int64_t)k * out;
            for (int32_t j = 0; j < out; j++) {
                const float f = Fi[j];
                if (f == 0.0f) continue;
                add_scaled(Ai, W + (int64_t)j * in_dim, f, in_dim);
                head->b[i] += f * bk[j];
            }
        }
        vi__free(W);
        vi__free(bk);
    }
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
