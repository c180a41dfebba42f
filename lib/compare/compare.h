/* Similarity and temporal alignment, plain C on float arrays. */
#ifndef VI_COMPARE_H
#define VI_COMPARE_H

#include <stdint.h>

#include "../common/common.h"
#include "../common/objects.h"

VI_HIDDEN float vi__dot(const float *a, const float *b, int32_t n);

/* Compare two embeddings of the same model (caller checked dims and model ids): video-level
 * cosine, calibrated score, and (if `localize`) copied segments from the frame similarities. */
VI_HIDDEN vi_status vi__compare(const struct vi_embedding *q, const struct vi_embedding *r,
                                int localize, struct vi_match **out);

/* Frame times of an embedding in seconds (vi__malloc'ed; NULL when out of memory), forced
 * non-decreasing. */
VI_HIDDEN double *vi__timeline(const struct vi_embedding *e);
/* 1 when the query carries its model's calibration and frame backgrounds (the reference, of the
 * same model, needs neither: evidence.c). */
VI_HIDDEN int vi__calibrated_pair(const struct vi_embedding *q, const struct vi_embedding *r);

/* The calibrated verdict (evidence.c): the features of a found segment (both embeddings
 * calibrated: frame_bg set; tq/tr their timelines in seconds), a segment's logit, and the
 * probability of a pair's logit: compared alone (competitor -INFINITY), or among other
 * references whose best logit is `competitor`. */
VI_HIDDEN void vi__segment_evidence(const struct vi_embedding *q, const struct vi_embedding *r,
                                    const double *tq, const double *tr, const vi_segment *seg,
                                    float features[VI__EVIDENCE_FEATURES]);
VI_HIDDEN float vi__evidence_logit(const struct vi__calibration *c,
                                   const float features[VI__EVIDENCE_FEATURES]);
VI_HIDDEN float vi__evidence_probability(const struct vi__calibration *c, float logit,
                                         float competitor);
/* A search's verdicts: the n comparisons of one query with the references of a catalogue
 * (stage 2 of vi_index_search) rescored, each calibrated one against the best logit of the
 * others (its competitor), with the calibration c of the query. Uncalibrated matches keep their
 * score. */
VI_HIDDEN void vi__catalogue_probabilities(const struct vi__calibration *c,
                                           struct vi_match *const *m, int32_t n);

#endif
