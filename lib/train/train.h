/* Training the DMI head on frozen backbone features: copy-style augmentations of decoded frames
 * (train_augment.c) and the trainer itself (trainer.c: feature cache, batches, saving). The
 * public vi_trainer_* entry points are in lib/api/api_train.c. */
#ifndef VI_TRAIN_H
#define VI_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "../common/common.h"
#include "../head/head.h"
#include "../backbone/backbone.h"

/* A small deterministic generator (splitmix64). */
typedef struct vi__rng {
    uint64_t s;
} vi__rng;

VI_HIDDEN uint64_t vi__rng_next(vi__rng *r);
/* Uniform in [0, 1). */
VI_HIDDEN double vi__rng_uniform(vi__rng *r);
/* Uniform integer in [0, n) (n >= 1). */
VI_HIDDEN int32_t vi__rng_below(vi__rng *r, int32_t n);

/* Copy-style augmentation operations (bits of a mask). */
enum {
    VI__AUG_HFLIP = 1 << 0,
    VI__AUG_CROP = 1 << 1,      /* crop 50..90 % of each side, scaled back up */
    VI__AUG_COLOUR = 1 << 2,    /* brightness, contrast, gamma, per-channel gain */
    VI__AUG_BLUR = 1 << 3,      /* box blur, twice (close to a Gaussian) */
    VI__AUG_NOISE = 1 << 4,     /* additive noise, fresh on every frame */
    VI__AUG_BORDER = 1 << 5,    /* letterbox / pillarbox / frame: the picture shrunk in a border */
    VI__AUG_GREY = 1 << 6,
    VI__AUG_ROTATE = 1 << 7,    /* rotation by 4..20 degrees, either way */
    VI__AUG_ALL = (1 << 8) - 1
};

/* A transformation drawn once per view and applied to every frame of it. */
typedef struct vi__augment {
    uint32_t ops;
    float crop_w, crop_h, crop_x, crop_y;    /* fractions of the side */
    float brightness, contrast, gamma, gain[3];
    int32_t blur_radius;
    float noise_sigma;
    float border_scale_x, border_scale_y, border_x, border_y; /* picture size and offset */
    uint8_t border_rgb[3];
    float angle;                             /* radians */
} vi__augment;

/* Draw a transformation: each op with probability 0.4, at least two of them. */
VI_HIDDEN void vi__augment_draw(vi__rng *rng, vi__augment *aug);
/* Apply `aug` to one square RGB24 frame of side `size`, in place; `scratch` holds size*size*3
 * bytes. `rng` feeds the per-frame noise. */
VI_HIDDEN void vi__augment_apply(const vi__augment *aug, uint8_t *rgb, int32_t size,
                                 uint8_t *scratch, vi__rng *rng);

/* Copy-style edits through libavfilter (train_filter.c). vi__filter_draw writes a filter graph
 * description ("[in]...[out]") for a view of `n_frames` square RGB24 frames of side `size`
 * sampled at `fps`: at least one of a speed change, a lower frame rate, a temporal crop, a hue
 * change, a caption band, picture-in-picture over generated footage, a logo. vi__filter_apply
 * runs it over the frames; the output (vi__malloc'ed, *n_out frames of the same size) may have
 * more or fewer frames than the input. */
VI_HIDDEN void vi__filter_draw(vi__rng *rng, int32_t size, double fps, int32_t n_frames,
                               char *graph, size_t graph_size);
VI_HIDDEN vi_status vi__filter_apply(const char *graph, const uint8_t *frames, int32_t n,
                                     int32_t size, double fps, uint8_t **out, int32_t *n_out);

/* The trainer behind vi_trainer (see include/vinfringe.h). */
typedef struct vi__trainer vi__trainer;

/* `base_head` is the base model's folded head, used when opts->on_base_head is set. */
VI_HIDDEN vi_status vi__trainer_create(const vi__net *net, int32_t feature_dim, int32_t input_size,
                                       const vi__head *base_head, const uint8_t *base_model,
                                       size_t base_size, const vi_train_options *opts,
                                       vi__trainer **out);
VI_HIDDEN void vi__trainer_free(vi__trainer *t);
VI_HIDDEN vi_status vi__trainer_add_video(vi__trainer *t, const char *path, int32_t group);
VI_HIDDEN int32_t vi__trainer_video_count(const vi__trainer *t);
VI_HIDDEN vi_status vi__trainer_run(vi__trainer *t, int32_t epochs, vi_train_epoch_fn fn,
                                    void *user);
VI_HIDDEN vi_status vi__trainer_save(const vi__trainer *t, const char *path);
/* Checkpoints: the head, Adam's state, the epoch count and the generator, with a key naming
 * the base model, the options and the cached views they belong to. */
VI_HIDDEN vi_status vi__trainer_save_checkpoint(const vi__trainer *t, const char *path);
VI_HIDDEN vi_status vi__trainer_load_checkpoint(vi__trainer *t, const char *path);
VI_HIDDEN int32_t vi__trainer_epochs_done(const vi__trainer *t);

#endif
