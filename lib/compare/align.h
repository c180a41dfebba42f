/* Private header of lib/compare: the candidate graph built from the frame similarities, the
 * aligners that turn it into copied segments, and every tuning constant of the stage in one place.
 * docs/alignment.md explains each constant and how the defaults were chosen. */
#ifndef VI_ALIGN_H
#define VI_ALIGN_H

#include <stdint.h>

#include "../common/common.h"
#include "../common/objects.h"

/* Every tunable below may be overridden at compile time (-DVI_ALIGN_Z_SEG=5.0f), which is how
 * the benchmark sweeps them; the defaults are the measured best (docs/alignment.md). */

/* ---- Similarity normalisation (align_sim.c) ------------------------------------------------ */
/* Raw cosines are model-dependent (unrelated frames: ~0..0.3 with the PCA-whitened head, ~0.5..0.8
 * with raw backbone features), so candidates are judged by a z-score against the background of
 * their own row and column: z = ((s - mu_row) / sigma_row + (s - mu_col) / sigma_col) / 2, where
 * mu and sigma are those of a normal fitted to the values below the row's (column's) quantile
 * VI_ALIGN_BG_QUANTILE, so that copied content above it does not move the background. */
#ifndef VI_ALIGN_BG_QUANTILE
#define VI_ALIGN_BG_QUANTILE 0.25     /* p: the part of a row/column trusted as background */
#endif
#define VI_ALIGN_SCALE_MIN 0.02       /* floor on the scale, so flat rows cannot explode z */
#ifndef VI_ALIGN_PRIOR_COUNT
#define VI_ALIGN_PRIOR_COUNT 16.0     /* pseudo-count shrinking row/column stats to global ones */
#endif
#define VI_ALIGN_PRIOR_LOC 0.15       /* prior background (tiny matrices only), whitened head */
#define VI_ALIGN_PRIOR_SCALE 0.10
#define VI_ALIGN_PRIOR_GLOBAL_COUNT 4.0 /* pseudo-count of that prior in the global stats */
#define VI_ALIGN_ROW_SAMPLE 512       /* values sampled per row for its quantiles */
#define VI_ALIGN_COL_SAMPLE_ROWS 256  /* query rows sampled for the column statistics */
#ifndef VI_ALIGN_TOPK
#define VI_ALIGN_TOPK 8               /* candidates kept per query row and per reference column */
#endif
#ifndef VI_ALIGN_Z_NODE
#define VI_ALIGN_Z_NODE 2.0f          /* a candidate's z must reach this */
#endif
#ifndef VI_ALIGN_Z_BASE
#define VI_ALIGN_Z_BASE 2.5f          /* node weight in the aligners = min(z, Z_CAP) - Z_BASE */
#endif
#ifndef VI_ALIGN_Z_CAP
#define VI_ALIGN_Z_CAP 15.0f
#endif
/* Multiple testing: a larger pair offers more chances for a run of high z by chance, so every z
 * is lowered by Z_SIZE_GAIN * (sqrt(2 ln N) - sqrt(2 ln Z_SIZE_REF)) for a pair of N = nq * nr
 * frame pairs above Z_SIZE_REF (sqrt(2 ln N) is how the largest of N unrelated z grows): the
 * thresholds below are those of a pair of Z_SIZE_REF frame pairs (a 15 s query against a 10 s
 * reference at 1 fps). */
#ifndef VI_ALIGN_Z_SIZE_GAIN
#define VI_ALIGN_Z_SIZE_GAIN 1.0
#endif
#define VI_ALIGN_Z_SIZE_REF 150.0
/* Weight lost per unit of z below the best node of the node's row and column (averaged): keeps
 * paths on the best matches inside a shot instead of wandering across it. */
#ifndef VI_ALIGN_DOMINATED_COST
#define VI_ALIGN_DOMINATED_COST 1.0f
#endif

/* ---- Segment acceptance (both aligners) ---------------------------------------------------- */
#ifndef VI_ALIGN_Z_SEG
#define VI_ALIGN_Z_SEG 4.0f           /* mean z along an accepted segment */
#endif
#ifndef VI_ALIGN_MIN_NODES
#define VI_ALIGN_MIN_NODES 3          /* matched frames in a segment (fewer in shorter videos) */
#endif
#define VI_ALIGN_SPEED_MIN 0.4        /* accepted reference/query speed of a segment */
#define VI_ALIGN_SPEED_MAX 2.5
#define VI_ALIGN_MAX_SEGMENTS 32
#ifndef VI_ALIGN_SEG_REL
#define VI_ALIGN_SEG_REL 0.5          /* a segment's mean z must reach this share of the best's */
#endif
#ifndef VI_ALIGN_MAX_GAP_S
#define VI_ALIGN_MAX_GAP_S 5.0        /* longest jump (seconds, either axis) inside one segment */
#endif

/* ---- Temporal network (align_tn.c) -------------------------------------------------------- */
#define VI_ALIGN_TN_MAX_GAP_ROWS 64   /* bound on query rows searched back for a predecessor */
#ifndef VI_ALIGN_TN_LOCAL_SLOPE
#define VI_ALIGN_TN_LOCAL_SLOPE 3.0   /* per-step slope bound (time ratio) */
#endif
#ifndef VI_ALIGN_TN_GAP_COST
#define VI_ALIGN_TN_GAP_COST 0.75f    /* cost per frame skipped on both axes */
#endif

/* ---- Hough voting (align_hough.c) --------------------------------------------------------- */
#define VI_ALIGN_HV_N_SPEEDS 13       /* speeds voted for, geometric from 0.5 to 2 */
#define VI_ALIGN_HV_BIN_S 1.0         /* offset bin width, seconds of reference time */
#ifndef VI_ALIGN_HV_TOL_S
#define VI_ALIGN_HV_TOL_S 1.5         /* distance from the fitted line that still belongs to it */
#endif

/* ---- Refinement on the dense similarities (align_refine.c) --------------------------------- */
#ifndef VI_ALIGN_RF_EXT_S
#define VI_ALIGN_RF_EXT_S 4.0         /* how far (query seconds) a segment may grow at each end */
#endif
#ifndef VI_ALIGN_RF_SEARCH_S
#define VI_ALIGN_RF_SEARCH_S 3.0      /* offsets searched around the path's, either way */
#endif
#define VI_ALIGN_RF_OFF_STEP_S 0.25   /* offset step of that search */
#ifndef VI_ALIGN_RF_SPEED_STEPS
#define VI_ALIGN_RF_SPEED_STEPS 8     /* speeds searched per octave, 0.5x .. 2x */
#endif
#ifndef VI_ALIGN_RF_SPEED_COST
#define VI_ALIGN_RF_SPEED_COST 0.5    /* line score lost per octave away from 1x, per query frame */
#endif
#ifndef VI_ALIGN_RF_SPEED_ROWS
#define VI_ALIGN_RF_SPEED_ROWS 6      /* ... counted over at most this many query frames */
#endif
#ifndef VI_ALIGN_RF_REL
#define VI_ALIGN_RF_REL 0.5           /* an end frame stays in while its score >= REL x level */
#endif
#ifndef VI_ALIGN_RF_Z_MIN
#define VI_ALIGN_RF_Z_MIN 2.0f        /* ... and >= this */
#endif
#ifndef VI_ALIGN_REFINE
#define VI_ALIGN_REFINE 1             /* default of vi_align_params.refine */
#endif
#ifndef VI_ALIGN_RF_GAP_ROWS
#define VI_ALIGN_RF_GAP_ROWS 3        /* unmatched query frames that split a segment in two */
#endif
#define VI_ALIGN_RF_MAX_CELLS (1u << 18) /* larger windows keep the path's own segment */

/* ---- Calibrated score (compare.c) --------------------------------------------------------- */
/* score = 1 / (1 + exp(-SLOPE * (x - MID))), x = max(video cosine - VIDEO_DISCOUNT, segment
 * evidence), where the segment evidence = best segment's mean cosine * len / (len + HALF_LEN_S),
 * len = its query duration in seconds. A found segment is the stronger evidence: the video
 * cosine, which cannot tell neighbouring segments of one scene apart, counts VIDEO_DISCOUNT less.
 * Fitted on the benchmark's training split, the slope bounded so that the 6-digit JSON of the
 * command still orders strong matches (docs/alignment.md, section 6). */
#ifndef VI_SCORE_MID
#define VI_SCORE_MID 0.295f
#endif
#ifndef VI_SCORE_SLOPE
#define VI_SCORE_SLOPE 13.49f
#endif
#ifndef VI_SCORE_HALF_LEN_S
#define VI_SCORE_HALF_LEN_S 0.5f
#endif
#ifndef VI_SCORE_VIDEO_DISCOUNT
#define VI_SCORE_VIDEO_DISCOUNT 0.2f
#endif

/* One candidate correspondence (query frame qi shows reference frame ri). */
struct vi_align_node {
    int32_t qi, ri;
    float sim; /* raw cosine */
    float z;   /* normalised score */
    float w;   /* weight in the aligners (vi__align_graph_build sets it; may be negative) */
};

/* The candidate graph: nodes sorted by (qi, ri), plus each video's timeline in seconds. */
struct vi_align_graph {
    int32_t nq, nr;
    const double *tq, *tr;  /* frame times, seconds, non-decreasing */
    double iq, ir;          /* typical frame interval of each video, seconds (> 0) */
    int32_t n_nodes;
    struct vi_align_node *nodes;
    int32_t *row_start;     /* nq + 1 offsets into nodes */
    float *row_best;        /* nq: best raw cosine of each query frame (NAN: invalid frame) */
    float *col_best;        /* nr: best raw cosine of each reference frame */
    /* Background of each query row and reference column: (loc, 1 / scale) pairs, so that the
     * refinement (align_refine.c) can judge any cell as the graph did (vi__align_z). */
    float *row_bg, *col_bg;
    float abs_loc, abs_inv; /* the absolute term (abs_inv 0: off) */
    float z_shift;          /* subtracted from every z (VI_ALIGN_Z_SIZE_GAIN) */
};

/* The normalised score of raw cosine `s` at query frame i, reference frame j. */
static inline float vi__align_z(const struct vi_align_graph *g, int32_t i, int32_t j, float s) {
    const float zr = (s - g->row_bg[2 * i]) * g->row_bg[2 * i + 1];
    const float zc = (s - g->col_bg[2 * j]) * g->col_bg[2 * j + 1];
    const float z = 0.5f * (zr + zc), za = (s - g->abs_loc) * g->abs_inv;
    return (za > z ? za : z) - g->z_shift;
}

/* One found segment, in frame indices (inclusive) of each video. */
struct vi_align_seg {
    int32_t q0, q1, r0, r1;
    int32_t n_nodes;
    float mean_sim, mean_z;
    double weight;          /* sum of node weights: the ranking key */
    int has_times;          /* vi__align_refine set t[] and speed */
    double t[4];            /* query start, end, reference start, end (seconds) */
    double speed;           /* reference seconds per query second of the refined line */
};

enum vi_align_method { VI_ALIGN_TN = 0, VI_ALIGN_HOUGH = 1, VI_ALIGN_DEFAULT = VI_ALIGN_TN };

/* ---- Model-level background (absolute term) ------------------------------------------------ */
/* A pair's own background cannot reveal a copy that fills it: a whole copy of a static clip is
 * uniformly similar, so every z is ~0. For that case candidates also get an absolute score
 * z_abs = (s - ABS_LOC) / ABS_SCALE, where ABS_LOC/ABS_SCALE describe unrelated frames *for the
 * model*, and z = max(z_pair, z_abs). The defaults fit the shipped model (unrelated frame cosines
 * ~N(-0.01, 0.05) on the benchmark's train split: z 4 at a cosine of 0.08, their 95th
 * percentile); raw backbone features (unrelated ~0.5..0.8) need their own values or ABS_SCALE 0
 * (which disables the term). */
#ifndef VI_ALIGN_ABS_LOC
#define VI_ALIGN_ABS_LOC (-0.04f)
#endif
#ifndef VI_ALIGN_ABS_SCALE
#define VI_ALIGN_ABS_SCALE 0.03f
#endif

/* The low-contrast fallback: when no aligner segment is found but the two videos match as a
 * whole (video cosine >= VI_ALIGN_WHOLE_COS), their frames may simply all look alike (a whole
 * copy of a static clip: no frame pair stands out, so no path does). Then the segment is the
 * span of query frames, and of reference frames, whose best cross-video cosine is within
 * VI_ALIGN_WHOLE_MARGIN of the pair's best; it does not change the copy score. */
#ifndef VI_ALIGN_WHOLE_COS
#define VI_ALIGN_WHOLE_COS 0.5f       /* (was VI_SCORE_MID, now fitted separately) */
#endif
#ifndef VI_ALIGN_WHOLE_MARGIN
#define VI_ALIGN_WHOLE_MARGIN 0.15f
#endif
/* The run-time choices of one comparison (tests and the benchmark vary them). */
struct vi_align_params {
    int32_t method;  /* enum vi_align_method */
    float abs_loc;   /* VI_ALIGN_ABS_LOC */
    float abs_scale; /* VI_ALIGN_ABS_SCALE; <= 0 disables the absolute term */
    float whole_cos; /* VI_ALIGN_WHOLE_COS; > 1 disables the low-contrast fallback */
    int32_t refine;  /* 1: refine each segment on the dense similarities (align_refine.c) */
    float score_mid, score_slope, score_half_len; /* VI_SCORE_MID, _SLOPE, _HALF_LEN_S */
    float score_video_discount;                   /* VI_SCORE_VIDEO_DISCOUNT */
    int32_t calibrated; /* 1: calibrated embeddings get the calibrated verdict (evidence.c) */
};

static inline struct vi_align_params vi__align_params_default(void) {
    struct vi_align_params p = {VI_ALIGN_DEFAULT, VI_ALIGN_ABS_LOC, VI_ALIGN_ABS_SCALE,
                                VI_ALIGN_WHOLE_COS, VI_ALIGN_REFINE,
                                VI_SCORE_MID, VI_SCORE_SLOPE, VI_SCORE_HALF_LEN_S,
                                VI_SCORE_VIDEO_DISCOUNT, 1};
    return p;
}

/* Build the candidate graph of two sets of frame vectors (rows of `dim` floats; rows with NaN/Inf
 * or zero norm never match). Work is O(nq * nr * dim) time and O((nq + nr) * TOPK) memory plus a
 * bounded sample; the full matrix is never stored. Free with vi__align_graph_free. */
VI_HIDDEN vi_status vi__align_graph_build(const float *qf, int32_t nq, const float *rf, int32_t nr,
                                          int32_t dim, const double *tq, const double *tr,
                                          const struct vi_align_params *par,
                                          struct vi_align_graph *g);
VI_HIDDEN void vi__align_graph_free(struct vi_align_graph *g);

/* The aligners: fill up to `max_out` segments, best (highest weight) first; return how many, or
 * -1 when out of memory. */
VI_HIDDEN int32_t vi__align_tn(const struct vi_align_graph *g, struct vi_align_seg *out,
                               int32_t max_out);
VI_HIDDEN int32_t vi__align_hough(const struct vi_align_graph *g, struct vi_align_seg *out,
                                  int32_t max_out);

/* Refine a found segment on the dense similarities around it (align_refine.c): the best line
 * over 0.5x .. 2x, the ends where the score along it falls below a share of the segment's own
 * level, and times in seconds (seg->t, seg->speed, seg->has_times). `qf`/`rf` are the frame rows
 * the graph was built from; q_dur/r_dur the videos' durations (NaN: unknown). A segment that
 * holds two excerpts (a run of unmatched query frames inside) is split, the second part going
 * to `*extra` (NULL: no split). Returns 2 after a split, 1 if refined, 0 if left as it was, -1
 * when out of memory. */
VI_HIDDEN int vi__align_refine(const struct vi_align_graph *g, const float *qf, const float *rf,
                               int32_t dim, double q_dur, double r_dur, struct vi_align_seg *seg,
                               struct vi_align_seg *extra);

VI_HIDDEN int vi__align_whole(const struct vi_align_graph *g, struct vi_align_seg *seg);

/* Shared by the aligners: judge a path (nodes by index into g->nodes, in order) and summarise it
 * into `seg`; returns 1 if it is an acceptable copied segment. */
VI_HIDDEN int vi__align_accept(const struct vi_align_graph *g, const int32_t *path, int32_t n,
                               struct vi_align_seg *seg);
/* 1 if `seg` overlaps, or lies within VI_ALIGN_MAX_GAP_S on both axes of, one of the `n`
 * segments already accepted: a parallel echo (the rest of a shot matching itself), not a copy. */
VI_HIDDEN int vi__align_is_echo(const struct vi_align_graph *g, const struct vi_align_seg *seg,
                                const struct vi_align_seg *acc, int32_t n);
/* Node weight before the dominance cost. */
static inline float vi__align_weight(float z) {
    return (z < VI_ALIGN_Z_CAP ? z : VI_ALIGN_Z_CAP) - VI_ALIGN_Z_BASE;
}

/* vi__compare with explicit parameters (NULL: the defaults); tests and benchmarks use it. */
VI_HIDDEN vi_status vi__compare_params(const struct vi_embedding *q, const struct vi_embedding *r,
                                       int localize, const struct vi_align_params *par,
                                       struct vi_match **out);

#endif
