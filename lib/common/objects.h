/* Plain data behind the public value handles. Shared by formats/, compare/, index/ and api/.
 * Each object owns all of its arrays (allocated with vi__malloc) and is freed by its vi_*_free. */
#ifndef VI_OBJECTS_H
#define VI_OBJECTS_H

#include <stdint.h>

#include "vinfringe.h"

/* How a calibrated model turns the evidence of a comparison into a verdict (docs/thresholds.md,
 * fitted by vi_calibrator): kept in the model file, copied into every embedding the model makes
 * and into every index, so that comparing needs no model. id 0: uncalibrated (the fixed scoring
 * of the library applies and the verdict uses VI__UNCALIBRATED_THRESHOLD). */
#define VI__EVIDENCE_FEATURES 4 /* per segment: mean cosine, excess over the background, contrast
                                   with the pair's other alignments, log(1 + seconds) */
struct vi__calibration {
    uint32_t id;                               /* CRC-32 of the fields below */
    uint32_t bank_crc;                         /* CRC-32 of the model's background bank */
    float segment_w[VI__EVIDENCE_FEATURES + 1]; /* segment logit: w[0] + w[1..] . features */
    float logit_none;                          /* a pair's logit when no segment is found */
    float pair_w[2];                           /* alone: sigmoid(w0 + w1 logit) */
    float search_w[3];                         /* among other references of a catalogue:
                                                  sigmoid(w0 + w1 logit + w2 competitor) */
    float segment_min;                         /* segments less probable are not reported */
    float threshold;                           /* recommended threshold on the probability */
};
#define VI__UNCALIBRATED_THRESHOLD 0.5f

struct vi_embedding {
    int32_t dim;       /* vector dimension */
    int32_t n_frames;  /* >= 1 */
    float *video;      /* dim floats, L2-normalised */
    float *frames;     /* n_frames x dim, row-major, each row L2-normalised */
    int64_t *pts_us;   /* n_frames presentation times, microseconds, non-decreasing */
    double duration;   /* seconds of video decoded: first frame to the end of the last */
    char *model_id;    /* NUL-terminated, never NULL */
    int32_t warnings;  /* vi_embed_warning bits (0: decoded cleanly to the end) */
    float *frame_bg;   /* n_frames: each frame's similarity to the model's background bank (the
                          mean of its nearest bank vectors); NULL when the model is uncalibrated */
    struct vi__calibration calib; /* of the model that made it (id 0: uncalibrated) */
};

struct vi_match {
    float score;            /* copy probability in [0, 1] */
    float threshold;        /* the operating threshold of the verdict (score >= threshold) */
    float logit;            /* the pair's evidence (calibrated comparisons; search ranks by it) */
    int32_t calibrated;     /* 1: scored by the model's calibration */
    float video_similarity; /* cosine of the video vectors */
    float speed_ratio;      /* estimated query speed / reference speed, 0 when unknown */
    int32_t n_segments;
    vi_segment *segments;
};

/* Allocate an embedding with zeroed arrays for n_frames x dim and a copy of model_id. */
vi_status vi__embedding_alloc(int32_t dim, int32_t n_frames, const char *model_id,
                              struct vi_embedding **out) __attribute__((visibility("hidden")));
struct vi_match *vi__match_alloc(int32_t n_segments) __attribute__((visibility("hidden")));
/* A deep copy of an embedding (frame backgrounds and calibration included); NULL when out of
 * memory. */
struct vi_embedding *vi__embedding_copy(const struct vi_embedding *e)
    __attribute__((visibility("hidden")));

#endif
