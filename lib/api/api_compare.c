/* vi_compare and the vi_match accessors. */
#include <string.h>

#include "../compare/compare.h"

vi_status vi_compare_options_init(vi_compare_options *opts, size_t struct_size) {
    vi_compare_options d;
    memset(&d, 0, sizeof d);
    d.localize = 1;
    return vi__options_init(opts, struct_size, &d, sizeof d, "vi_compare_options_init");
}

vi_status vi_compare(const vi_embedding *query, const vi_embedding *ref,
                     const vi_compare_options *opts, vi_match **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_compare: out is NULL");
    *out = NULL;
    if (!query || !ref) return vi__fail(VI_E_INVALID_ARG, "vi_compare: query or ref is NULL");
    vi_compare_options o;
    vi_compare_options_init(&o, sizeof o);
    if (opts) {
        vi_status st = vi__copy_options(&o, sizeof o, opts);
        if (st != VI_OK) return st;
    }
    if (query->dim != ref->dim || strcmp(query->model_id, ref->model_id) != 0)
        return vi__fail(VI_E_FORMAT, "embeddings come from different models (%s, %d-d vs %s, %d-d)",
                        query->model_id, query->dim, ref->model_id, ref->dim);
    if (!(o.threshold >= 0.0f && o.threshold <= 1.0f))
        return vi__fail(VI_E_INVALID_ARG, "vi_compare: threshold %g is out of range [0, 1]",
                        (double)o.threshold);
    vi_status st = vi__compare(query, ref, o.localize != 0, out);
    if (st == VI_OK && o.threshold > 0.0f) (*out)->threshold = o.threshold;
    return st;
}

float vi_match_score(const vi_match *m) { return m ? m->score : 0.0f; }
int32_t vi_match_is_copy(const vi_match *m) { return m && m->score >= m->threshold ? 1 : 0; }
float vi_match_threshold(const vi_match *m) { return m ? m->threshold : 0.0f; }
int32_t vi_match_is_calibrated(const vi_match *m) { return m ? m->calibrated : 0; }
float vi_match_video_similarity(const vi_match *m) { return m ? m->video_similarity : 0.0f; }
int32_t vi_match_segment_count(const vi_match *m) { return m ? m->n_segments : 0; }

vi_status vi_match_segment(const vi_match *m, int32_t i, vi_segment *out) {
    vi__clear_error();
    if (!m || !out) return vi__fail(VI_E_INVALID_ARG, "vi_match_segment: NULL argument");
    if (i < 0 || i >= m->n_segments)
        return vi__fail(VI_E_INVALID_ARG, "segment %d out of range (0..%d)", i, m->n_segments - 1);
    *out = m->segments[i];
    return VI_OK;
}
