/* Plain data behind the public value handles. Shared by formats/, compare/, index/ and api/.
 * Each object owns all of its arrays (allocated with vi__malloc) and is freed by its vi_*_free. */
#ifndef VI_OBJECTS_H
#define VI_OBJECTS_H

#include <stdint.h>

#include "vinfringe.h"

struct vi_embedding {
    int32_t dim;       /* vector dimension */
    int32_t n_frames;  /* >= 1 */
    float *video;      /* dim floats, L2-normalised */
    float *frames;     /* n_frames x dim, row-major, each row L2-normalised */
    int64_t *pts_us;   /* n_frames presentation times, microseconds, non-decreasing */
    double duration;   /* seconds of video decoded: first frame to the end of the last */
    char *model_id;    /* NUL-terminated, never NULL */
    int32_t warnings;  /* vi_embed_warning bits (0: decoded cleanly to the end) */
};

struct vi_match {
    float score;            /* calibrated copy score in [0, 1] */
    float video_similarity; /* cosine of the video vectors */
    float speed_ratio;      /* estimated query speed / reference speed, 0 when unknown */
    int32_t n_segments;
    vi_segment *segments;
};

/* Allocate an embedding with zeroed arrays for n_frames x dim and a copy of model_id. */
vi_status vi__embedding_alloc(int32_t dim, int32_t n_frames, const char *model_id,
                              struct vi_embedding **out) __attribute__((visibility("hidden")));
struct vi_match *vi__match_alloc(int32_t n_segments) __attribute__((visibility("hidden")));

#endif
