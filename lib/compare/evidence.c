/* The calibrated verdict of a comparison (docs/thresholds.md): what a found segment shows, and
 * how a calibrated model turns that into the probability that the two videos share copied
 * content.
 *
 * A segment is a line through the pair's frame similarities: query frame i (at time t_i inside
 * the segment) shows the reference at x_i = ref_start + (t_i - query_start) * speed. Along it,
 * with s_i the best cosine of query frame i against the reference frames at most one frame from
 * x_i, four features (VI__EVIDENCE_FEATURES) describe the evidence:
 *   1. the mean of s_i: how alike the aligned frames are;
 *   2. the mean excess over the background, (s_i - b_i) / (1 - b_i), with b_i the query frame's
 *      background (its similarity to the model's background bank): a black frame, a title card
 *      or a desktop resembles a great many unrelated frames, so matching one is weak evidence.
 *      Only the query's side is needed: a generic reference frame is matched strongly only by a
 *      generic query frame, whose own background already says so; so references, and the
 *      records of an index, need no backgrounds;
 *   3. the mean contrast with the pair's other alignments, (s_i - o_i) / (1 - o_i), with o_i the
 *      best cosine of query frame i against reference frames at least CONTRAST_GAP_S from x_i:
 *      a copy matches its own moment better than other moments of the same scene;
 *   4. log(1 + the segment's query seconds): longer copies are stronger evidence.
 * The segment's logit is an affine function of them; the pair's logit is its best segment's (or
 * the calibration's logit_none when none is found), and the probability is
 * sigmoid(w0 + w1 logit + w2 max(logit_none, competitor)), where the competitor is the best
 * logit of any other reference of the catalogue the query was searched in (none for vi_compare):
 * a query that matches several references equally well is weak evidence of copying any one. */
#include <math.h>

#include "compare.h"

#define CONTRAST_GAP_S 2.0 /* reference frames this far from the line are other moments */
#define RANGE_MIN 0.02     /* floor of 1 - b and 1 - o: the relative excess stays bounded */

/* The frame of non-decreasing times t[0..n-1] nearest x. */
static int32_t nearest(const double *t, int32_t n, double x) {
    int32_t lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        const int32_t mid = lo + (hi - lo) / 2;
        if (t[mid] <= x) lo = mid;
        else hi = mid;
    }
    return fabs(t[hi] - x) < fabs(t[lo] - x) ? hi : lo;
}

static float relative_excess(float s, float base) {
    const float range = 1.0f - base;
    return (s - base) / (range > RANGE_MIN ? range : RANGE_MIN);
}

void vi__segment_evidence(const struct vi_embedding *q, const struct vi_embedding *r,
                          const double *tq, const double *tr, const vi_segment *seg,
                          float features[VI__EVIDENCE_FEATURES]) {
    const int32_t dim = q->dim;
    const double qlen = seg->query_end - seg->query_start;
    const double speed = qlen > 0.0 ? (seg->ref_end - seg->ref_start) / qlen : 1.0;
    double sum_s = 0.0, sum_excess = 0.0, sum_contrast = 0.0;
    int32_t n = 0;
    for (int32_t i = 0; i < q->n_frames; i++) {
        /* the query frames whose time lies in the segment (the first one at least) */
        if (tq[i] < seg->query_start - 1e-6 || (tq[i] >= seg->query_end && n > 0)) continue;
        const double x = seg->ref_start + (tq[i] - seg->query_start) * speed;
        const float *qv = q->frames + (size_t)i * (size_t)dim;
        const int32_t jx = nearest(tr, r->n_frames, x);
        float s = -1.0f, other = -1.0f;
        for (int32_t j = 0; j < r->n_frames; j++) {
            const float c = vi__dot(qv, r->frames + (size_t)j * (size_t)dim, dim);
            if (!isfinite(c)) continue;
            if (j >= jx - 1 && j <= jx + 1) {
                if (c > s) s = c;
            } else if (fabs(tr[j] - x) >= CONTRAST_GAP_S && c > other) {
                other = c;
            }
        }
        const float b = q->frame_bg[i];
        sum_s += s;
        sum_excess += relative_excess(s, b);
        sum_contrast += other > -1.0f ? relative_excess(s, other) : 0.0f;
        n++;
    }
    if (n == 0) n = 1;
    features[0] = (float)(sum_s / n);
    features[1] = (float)(sum_excess / n);
    features[2] = (float)(sum_contrast / n);
    features[3] = (float)log1p(qlen > 0.0 ? qlen : 0.0);
}

float vi__evidence_logit(const struct vi__calibration *c,
                         const float features[VI__EVIDENCE_FEATURES]) {
    double z = c->segment_w[0];
    for (int32_t k = 0; k < VI__EVIDENCE_FEATURES; k++) z += (double)c->segment_w[k + 1] * features[k];
    return isfinite(z) ? (float)z : c->logit_none;
}

float vi__evidence_probability(const struct vi__calibration *c, float logit, float competitor) {
    double z;
    if (competitor == -INFINITY) { /* compared alone */
        z = (double)c->pair_w[0] + (double)c->pair_w[1] * logit;
    } else {
        const float other = competitor > c->logit_none ? competitor : c->logit_none;
        z = (double)c->search_w[0] + (double)c->search_w[1] * logit +
            (double)c->search_w[2] * other;
    }
    const double p = 1.0 / (1.0 + exp(-z));
    return isfinite(p) ? (float)p : (z > 0 ? 1.0f : 0.0f);
}

void vi__catalogue_probabilities(const struct vi__calibration *c, struct vi_match *const *m,
                                 int32_t n) {
    /* the best and second-best logits: each match's competitor is the best of the others */
    float best = -INFINITY, second = -INFINITY;
    int32_t at = -1;
    for (int32_t i = 0; i < n; i++) {
        if (!m[i] || !m[i]->calibrated) continue;
        if (m[i]->logit > best) {
            second = best;
            best = m[i]->logit;
            at = i;
        } else if (m[i]->logit > second) {
            second = m[i]->logit;
        }
    }
    for (int32_t i = 0; i < n; i++) {
        if (!m[i] || !m[i]->calibrated) continue;
        const float competitor = i == at ? second : best;
        m[i]->score = vi__evidence_probability(c, m[i]->logit,
                                               competitor == -INFINITY ? c->logit_none
                                                                       : competitor);
    }
}
