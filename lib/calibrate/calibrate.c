/* vi_calibrator: fit a model's scoring calibration (docs/thresholds.md, "Calibrating a model").
 *
 * Inputs: background footage (videos or images that copy nothing a user will look for, embedded
 * here with the model: the background bank), and a labelled catalogue: references, and queries
 * each copying one reference or none, as embeddings of the model. The fit:
 * 1. the bank: every background frame vector, thinned evenly to bank_size;
 * 2. every reference's and query's frame backgrounds against that bank (lib/model);
 * 3. every (query, reference) comparison's candidate segments (lib/compare, uncalibrated) and
 *    their evidence features (lib/compare/evidence.c);
 * 4. the segment logit: a logistic regression of "this pair is a copy" on the features of each
 *    pair's best segment (chosen by the current weights, refitted a few times), with one more
 *    weight, the logit of a pair without any segment;
 * 5. the probabilities: a logistic regression on the pair's logit alone (vi_compare), and one on
 *    (the pair's logit, the best logit of another reference for the same query), so that a
 *    query matching several references alike is a weak copy of each (vi_index_search);
 * 6. the recommended threshold: the lowest probability at which the labelled pairs reach the
 *    target precision (or, if they never do, the threshold of the best F1); a segment is
 *    reported when the sigmoid of its own logit reaches SEGMENT_MIN.
 * With verdict_only, steps 1 and 4 are the base model's (its bank and segment weights), and so
 * is the probability of a pair compared alone; only the catalogue probability and the threshold
 * are fitted: segment evidence is learnt from ordinary copies, while how much a
 * look-alike reference weighs against a copy is learnt from a catalogue that has them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../compare/align.h"
#include "../compare/compare.h"
#include "../model/model.h"
#include "calibrate.h"

#define NF VI__EVIDENCE_FEATURES
#define REFITS 4        /* rounds of choosing each pair's best segment and refitting */
#define SEGMENT_MIN 0.5f /* segments are reported when their own evidence says "copied" */
#define L2 1e-3         /* ridge of the logistic fits: keeps separable data finite */

struct cal_ref {
    char *id;
    struct vi_embedding *e;
};

struct cal_query {
    struct vi_embedding *e;
    int32_t copies; /* index of the reference it copies, -1: none */
};

struct vi_calibrator {
    const vi_model *base;
    vi_calibrate_options opts;
    float *bank;
    int64_t n_bank, cap_bank;
    int32_t dim;
    struct cal_ref *refs;
    int32_t n_refs, cap_refs;
    struct cal_query *queries;
    int32_t n_queries, cap_queries;
    /* after vi_calibrator_fit */
    int32_t fitted;
    struct vi__calibration calib;
    float *fitted_bank; /* the bank kept (n_fitted_bank x dim) */
    int64_t n_fitted_bank;
    char fit_info[512];
};

/* The features of a pair's candidate segments. */
struct pair {
    int32_t q, r;
    float label;
    int32_t n_seg;
    float (*feat)[NF];
    float logit; /* best segment's logit under the final weights (or logit_none) */
};

static vi_status grow(void **p, int32_t *cap, int32_t n, size_t size) {
    if (n < *cap) return VI_OK;
    const int32_t c = *cap ? 2 * *cap : 16;
    void *q = vi__realloc(*p, (size_t)c * size);
    if (!q) return vi__fail(VI_E_NOMEM, "out of memory");
    *p = q;
    *cap = c;
    return VI_OK;
}

vi_status vi__calibrator_create(const vi_model *base, const vi_calibrate_options *opts,
                                vi_calibrator **out) {
    vi_calibrator *c = vi__calloc(1, sizeof *c);
    if (!c) return vi__fail(VI_E_NOMEM, "out of memory");
    c->base = base;
    c->opts = *opts;
    c->dim = base->head.out_dim;
    *out = c;
    return VI_OK;
}

void vi__calibrator_free(vi_calibrator *c) {
    if (!c) return;
    vi__free(c->bank);
    for (int32_t i = 0; i < c->n_refs; i++) {
        vi__free(c->refs[i].id);
        vi_embedding_free(c->refs[i].e);
    }
    vi__free(c->refs);
    for (int32_t i = 0; i < c->n_queries; i++) vi_embedding_free(c->queries[i].e);
    vi__free(c->queries);
    vi__free(c->fitted_bank);
    vi__free(c);
}

static vi_status check_embedding(const vi_calibrator *c, const struct vi_embedding *e) {
    if (strcmp(e->model_id, c->base->id) != 0)
        return vi__fail(VI_E_FORMAT, "an embedding of model %s given to the calibrator of model "
                        "%s", e->model_id, c->base->id);
    return VI_OK;
}

vi_status vi__calibrator_add_background(vi_calibrator *c, const struct vi_embedding *e) {
    vi_status st = check_embedding(c, e);
    if (st != VI_OK) return st;
    const int64_t need = c->n_bank + e->n_frames;
    if (need > c->cap_bank) {
        int64_t cap = c->cap_bank ? 2 * c->cap_bank : 4096;
        while (cap < need) cap *= 2;
        float *b = vi__realloc(c->bank, (size_t)cap * (size_t)c->dim * sizeof *b);
        if (!b) return vi__fail(VI_E_NOMEM, "out of memory for the background bank");
        c->bank = b;
        c->cap_bank = cap;
    }
    memcpy(c->bank + (size_t)c->n_bank * (size_t)c->dim, e->frames,
           (size_t)e->n_frames * (size_t)c->dim * sizeof(float));
    c->n_bank = need;
    c->fitted = 0;
    return VI_OK;
}

vi_status vi__calibrator_add_reference(vi_calibrator *c, const char *id,
                                       const struct vi_embedding *e) {
    vi_status st = check_embedding(c, e);
    for (int32_t i = 0; st == VI_OK && i < c->n_refs; i++)
        if (strcmp(c->refs[i].id, id) == 0)
            st = vi__fail(VI_E_INVALID_ARG, "reference id '%s' is given twice", id);
    if (st == VI_OK) st = grow((void **)&c->refs, &c->cap_refs, c->n_refs, sizeof *c->refs);
    if (st != VI_OK) return st;
    char *idc = vi__strdup(id);
    struct vi_embedding *copy = vi__embedding_copy(e);
    if (!idc || !copy) {
        vi__free(idc);
        vi_embedding_free(copy);
        return vi__fail(VI_E_NOMEM, "out of memory");
    }
    c->refs[c->n_refs].id = idc;
    c->refs[c->n_refs++].e = copy;
    c->fitted = 0;
    return VI_OK;
}

vi_status vi__calibrator_add_query(vi_calibrator *c, const struct vi_embedding *e,
                                   const char *copies) {
    vi_status st = check_embedding(c, e);
    if (st != VI_OK) return st;
    int32_t ref = -1;
    if (copies) {
        for (int32_t i = 0; i < c->n_refs && ref < 0; i++)
            if (strcmp(c->refs[i].id, copies) == 0) ref = i;
        if (ref < 0)
            return vi__fail(VI_E_INVALID_ARG, "the query copies reference '%s', which was not "
                            "added (add references first)", copies);
    }
    st = grow((void **)&c->queries, &c->cap_queries, c->n_queries, sizeof *c->queries);
    if (st != VI_OK) return st;
    struct vi_embedding *copy = vi__embedding_copy(e);
    if (!copy) return vi__fail(VI_E_NOMEM, "out of memory");
    c->queries[c->n_queries].e = copy;
    c->queries[c->n_queries++].copies = ref;
    c->fitted = 0;
    return VI_OK;
}

/* ---- the fit -------------------------------------------------------------------------------- */

/* Keep at most `max` bank vectors, spread evenly over the order they were added in. */
static vi_status thin_bank(vi_calibrator *c, int64_t max) {
    const int64_t n = c->n_bank < max ? c->n_bank : max;
    vi__free(c->fitted_bank);
    c->fitted_bank = vi__mallocarray((size_t)n * (size_t)c->dim, sizeof(float));
    if (!c->fitted_bank) return vi__fail(VI_E_NOMEM, "out of memory for the background bank");
    for (int64_t i = 0; i < n; i++) {
        const int64_t from = (int64_t)((double)i * (double)c->n_bank / (double)n);
        memcpy(c->fitted_bank + (size_t)i * c->dim, c->bank + (size_t)from * c->dim,
               (size_t)c->dim * sizeof(float));
    }
    c->n_fitted_bank = n;
    return VI_OK;
}

/* Every comparison's candidate segments and their features. */
static vi_status collect(vi_calibrator *c, struct pair *pairs) {
    struct vi_align_params par = vi__align_params_default();
    par.calibrated = 0; /* the candidate segments, unjudged */
    vi_status st = VI_OK;
    for (int32_t qi = 0; st == VI_OK && qi < c->n_queries; qi++) {
        const struct vi_embedding *q = c->queries[qi].e;
        double *tq = vi__timeline(q);
        if (!tq) return vi__fail(VI_E_NOMEM, "out of memory");
        for (int32_t ri = 0; st == VI_OK && ri < c->n_refs; ri++) {
            const struct vi_embedding *r = c->refs[ri].e;
            struct pair *p = &pairs[(size_t)qi * c->n_refs + ri];
            p->q = qi;
            p->r = ri;
            p->label = c->queries[qi].copies == ri ? 1.0f : 0.0f;
            struct vi_match *m = NULL;
            double *tr = vi__timeline(r);
            st = tr ? vi__compare_params(q, r, 1, &par, &m) : vi__fail(VI_E_NOMEM, "out of memory");
            if (st == VI_OK && m->n_segments > 0) {
                p->feat = vi__mallocarray((size_t)m->n_segments, sizeof *p->feat);
                if (!p->feat) st = vi__fail(VI_E_NOMEM, "out of memory");
                for (int32_t k = 0; st == VI_OK && k < m->n_segments; k++)
                    vi__segment_evidence(q, r, tq, tr, &m->segments[k], p->feat[k]);
                if (st == VI_OK) p->n_seg = m->n_segments;
            }
            vi_match_free(m);
            vi__free(tr);
        }
        vi__free(tq);
    }
    return st;
}

static double seg_logit(const double *w, const float *f) {
    double z = w[0];
    for (int32_t k = 0; k < NF; k++) z += w[k + 1] * f[k];
    return z;
}

/* Step 4: w[0..NF] the segment logit's weights, w[NF + 1] the logit of a pair without segments. */
static vi_status fit_segments(struct pair *pairs, int64_t n, double *w) {
    const int32_t d = NF + 2;
    float *x = vi__mallocarray((size_t)n * d, sizeof *x);
    float *y = vi__mallocarray((size_t)n, sizeof *y);
    if (!x || !y) {
        vi__free(x);
        vi__free(y);
        return vi__fail(VI_E_NOMEM, "out of memory");
    }
    memset(w, 0, (size_t)d * sizeof *w);
    w[1] = 1.0; /* first round: each pair's best segment is its most similar */
    for (int32_t round = 0; round < REFITS; round++) {
        for (int64_t i = 0; i < n; i++) {
            const struct pair *p = &pairs[i];
            float *xi = x + (size_t)i * d;
            memset(xi, 0, (size_t)d * sizeof *xi);
            y[i] = p->label;
            if (p->n_seg == 0) {
                xi[NF + 1] = 1.0f;
                continue;
            }
            int32_t best = 0;
            for (int32_t k = 1; k < p->n_seg; k++)
                if (seg_logit(w, p->feat[k]) > seg_logit(w, p->feat[best])) best = k;
            xi[0] = 1.0f;
            memcpy(xi + 1, p->feat[best], NF * sizeof *xi);
        }
        if (isnan(vi__logistic_fit(x, y, (int32_t)n, d, L2, w))) {
            vi__free(x);
            vi__free(y);
            return vi__fail(VI_E_NOMEM, "out of memory");
        }
    }
    vi__free(x);
    vi__free(y);
    return VI_OK;
}

/* The best logit of another reference for the same query; -INFINITY when there is none. */
static float competitor(const struct pair *pairs, int32_t n_refs, int32_t q, int32_t r) {
    float best = -INFINITY;
    for (int32_t k = 0; k < n_refs; k++)
        if (k != r && pairs[(size_t)q * n_refs + k].logit > best)
            best = pairs[(size_t)q * n_refs + k].logit;
    return best;
}

/* Step 5: pair_w (each comparison alone) and search_w (with its best competitor). */
static vi_status fit_probability(const struct pair *pairs, int64_t n, int32_t n_refs,
                                 float logit_none, double *pw, double *sw) {
    float *x = vi__mallocarray((size_t)n * 3, sizeof *x);
    float *x2 = vi__mallocarray((size_t)n * 2, sizeof *x2);
    float *y = vi__mallocarray((size_t)n, sizeof *y);
    vi_status st = (x && x2 && y) ? VI_OK : vi__fail(VI_E_NOMEM, "out of memory");
    for (int64_t i = 0; st == VI_OK && i < n; i++) {
        const float comp = competitor(pairs, n_refs, pairs[i].q, pairs[i].r);
        x[3 * i] = x2[2 * i] = 1.0f;
        x[3 * i + 1] = x2[2 * i + 1] = pairs[i].logit;
        x[3 * i + 2] = comp > logit_none ? comp : logit_none;
        y[i] = pairs[i].label;
    }
    pw[0] = 0.0;
    pw[1] = 1.0;
    sw[0] = 0.0;
    sw[1] = 1.0;
    sw[2] = 0.0;
    if (st == VI_OK && (isnan(vi__logistic_fit(x2, y, (int32_t)n, 2, L2, pw)) ||
                        isnan(vi__logistic_fit(x, y, (int32_t)n, 3, L2, sw))))
        st = vi__fail(VI_E_NOMEM, "out of memory");
    vi__free(x);
    vi__free(x2);
    vi__free(y);
    return st;
}

struct scored {
    float p;
    float label;
};

static int by_p_desc(const void *a, const void *b) {
    const struct scored *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return (x->label > y->label) - (x->label < y->label); /* ties: negatives first */
}

/* Step 6 and the report: micro-AP, the recommended threshold and the precision and recall there. */
static void choose_threshold(struct scored *s, int64_t n, float target, float *threshold,
                             vi_calibration_report *rep) {
    qsort(s, (size_t)n, sizeof *s, by_p_desc);
    int64_t pos = 0;
    for (int64_t i = 0; i < n; i++) pos += s[i].label > 0.5f;
    double tp = 0, ap = 0, best_f1 = -1;
    float at_target = NAN, at_f1 = 0.5f;
    for (int64_t i = 0; i < n; i++) {
        tp += s[i].label > 0.5f;
        if (s[i].label > 0.5f) ap += tp / (double)(i + 1);
        if (i + 1 < n && s[i + 1].p == s[i].p) continue; /* ties are decided together */
        const double prec = tp / (double)(i + 1), rec = pos ? tp / (double)pos : 0.0;
        if (prec >= target) at_target = s[i].p; /* the lowest such threshold */
        const double f1 = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0.0;
        if (f1 > best_f1) {
            best_f1 = f1;
            at_f1 = s[i].p;
        }
    }
    *threshold = isnan(at_target) ? at_f1 : at_target;
    int64_t above = 0, hit = 0;
    for (int64_t i = 0; i < n; i++)
        if (s[i].p >= *threshold) {
            above++;
            hit += s[i].label > 0.5f;
        }
    rep->pairs = (int32_t)n;
    rep->copies = (int32_t)pos;
    rep->micro_ap = pos ? (float)(ap / (double)pos) : 0.0f;
    rep->threshold = *threshold;
    rep->precision = above ? (float)hit / (float)above : 0.0f;
    rep->recall = pos ? (float)hit / (float)pos : 0.0f;
}

/* Steps 1 and 2: the bank kept and every embedding's frame backgrounds against it. */
static vi_status backgrounds(vi_calibrator *c) {
    if (c->opts.verdict_only) { /* the base model's own bank */
        vi_status st = VI_OK;
        for (int32_t i = 0; st == VI_OK && i < c->n_refs; i++)
            st = vi__embedding_background(c->base->bank, c->base->bank_k, c->refs[i].e);
        for (int32_t i = 0; st == VI_OK && i < c->n_queries; i++)
            st = vi__embedding_background(c->base->bank, c->base->bank_k, c->queries[i].e);
        return st;
    }
    vi_status st = thin_bank(c, c->opts.bank_size);
    vi__faiss *bank = NULL;
    if (st == VI_OK) st = vi__faiss_create(VI__FAISS_FLAT, c->dim, c->n_fitted_bank, 0, &bank);
    if (st == VI_OK) st = vi__faiss_add(bank, c->n_fitted_bank, c->fitted_bank);
    for (int32_t i = 0; st == VI_OK && i < c->n_refs; i++)
        st = vi__embedding_background(bank, c->opts.bank_k, c->refs[i].e);
    for (int32_t i = 0; st == VI_OK && i < c->n_queries; i++)
        st = vi__embedding_background(bank, c->opts.bank_k, c->queries[i].e);
    vi__faiss_free(bank);
    return st;
}

vi_status vi__calibrator_fit(vi_calibrator *c, vi_calibration_report *rep) {
    if (!c->opts.verdict_only && c->n_bank < c->opts.bank_k)
        return vi__fail(VI_E_INVALID_ARG, "the background bank holds %lld frame vectors; add "
                        "background footage (at least %d)", (long long)c->n_bank,
                        (int)c->opts.bank_k);
    if (c->n_refs < 1 || c->n_queries < 1)
        return vi__fail(VI_E_INVALID_ARG, "calibrating needs references and queries (have %d "
                        "and %d)", c->n_refs, c->n_queries);
    int32_t copies = 0;
    for (int32_t i = 0; i < c->n_queries; i++) copies += c->queries[i].copies >= 0;
    if (copies == 0 || copies == c->n_queries)
        return vi__fail(VI_E_INVALID_ARG, "calibrating needs queries that copy a reference and "
                        "queries that copy none (have %d of %d copying)", copies, c->n_queries);
    vi_status st = backgrounds(c);
    if (st != VI_OK) return st;

    const int64_t n = (int64_t)c->n_queries * c->n_refs;
    struct pair *pairs = vi__calloc((size_t)n, sizeof *pairs);
    struct scored *scored = vi__mallocarray((size_t)n, sizeof *scored);
    if (!pairs || !scored) st = vi__fail(VI_E_NOMEM, "out of memory");
    if (st == VI_OK) st = collect(c, pairs);
    double w[NF + 2], pw[2], sw[3];
    if (st == VI_OK && !c->opts.verdict_only) st = fit_segments(pairs, n, w);
    struct vi__calibration cal;
    memset(&cal, 0, sizeof cal);
    if (st == VI_OK) {
        for (int32_t k = 0; k <= NF; k++)
            cal.segment_w[k] = c->opts.verdict_only ? c->base->calib.segment_w[k] : (float)w[k];
        cal.logit_none = c->opts.verdict_only ? c->base->calib.logit_none : (float)w[NF + 1];
        for (int64_t i = 0; i < n; i++) {
            struct pair *p = &pairs[i];
            p->logit = cal.logit_none;
            for (int32_t k = 0; k < p->n_seg; k++)
                if (vi__evidence_logit(&cal, p->feat[k]) > p->logit)
                    p->logit = vi__evidence_logit(&cal, p->feat[k]);
        }
        st = fit_probability(pairs, n, c->n_refs, cal.logit_none, pw, sw);
    }
    if (st == VI_OK) {
        /* verdict_only: a pair compared alone has no catalogue around it, so it keeps the
         * base's pair weights, fitted without look-alike references */
        for (int32_t k = 0; k < 2; k++)
            cal.pair_w[k] = c->opts.verdict_only ? c->base->calib.pair_w[k] : (float)pw[k];
        for (int32_t k = 0; k < 3; k++) cal.search_w[k] = (float)sw[k];
        for (int64_t i = 0; i < n; i++) {
            const float comp = competitor(pairs, c->n_refs, pairs[i].q, pairs[i].r);
            scored[i].p = vi__evidence_probability(&cal, pairs[i].logit, comp);
            scored[i].label = pairs[i].label;
        }
        vi_calibration_report r;
        memset(&r, 0, sizeof r);
        choose_threshold(scored, n, c->opts.target_precision, &cal.threshold, &r);
        cal.segment_min = SEGMENT_MIN;
        r.bank_vectors = c->opts.verdict_only ? (int32_t)c->base->bank_n : (int32_t)c->n_fitted_bank;
        c->calib = cal;
        c->fitted = 1;
        snprintf(c->fit_info, sizeof c->fit_info,
                 "%d background vectors (k %d); %d references, %d queries (%d copies): on these "
                 "pairs micro-AP %.3f, threshold %.4g (precision %.3f, recall %.3f)",
                 r.bank_vectors, (int)c->opts.bank_k, c->n_refs, c->n_queries, r.copies,
                 (double)r.micro_ap, (double)r.threshold, (double)r.precision, (double)r.recall);
        if (rep) {
            const uint32_t size = rep->struct_size;
            r.struct_size = size;
            memcpy(rep, &r, size < sizeof r ? size : sizeof r);
        }
    }
    for (int64_t i = 0; pairs && i < n; i++) vi__free(pairs[i].feat);
    vi__free(pairs);
    vi__free(scored);
    return st;
}

vi_status vi__calibrator_save(const vi_calibrator *c, const char *path) {
    if (!c->fitted)
        return vi__fail(VI_E_INVALID_ARG, "the calibrator has not been fitted since its last "
                        "input (call vi_calibrator_fit)");
    vi__model_file *mf;
    vi_status st = vi__model_file_parse(c->base->bytes, c->base->n_bytes, &mf);
    if (st != VI_OK) return st;
    if (c->opts.verdict_only)
        st = vi__model_file_set_verdict(mf, &c->calib, c->fit_info);
    else
        st = vi__model_file_set_calibration(mf, c->fitted_bank, (int32_t)c->n_fitted_bank,
                                            c->dim, c->opts.bank_k, &c->calib, c->fit_info);
    if (st == VI_OK) st = vi__model_file_save(mf, path);
    vi__model_file_free(mf);
    return st;
}
