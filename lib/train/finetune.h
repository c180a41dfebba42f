/* Fine-tuning the backbone (finetune.c); the public entry point is lib/api/api_finetune.c.
 * Kept apart from train.h, which belongs to the DMI head trainer. */
#ifndef VI_FINETUNE_H
#define VI_FINETUNE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/common.h"

/* Run a fine-tuning on the backbone of the model file `base` (its bytes) and write the
 * fine-tuned model (headless, or with the DMI head trained with it) to `out_path`. `opts` is
 * complete (defaults already filled in). */
VI_HIDDEN vi_status vi__finetune_run(const uint8_t *base, size_t base_size, int32_t input_size,
                                     const char *const *paths, int32_t n_paths,
                                     const vi_finetune_options *opts,
                                     vi_finetune_progress_fn progress, void *user,
                                     const char *out_path);

/* Make one augmented view (side `out_size`) of a square RGB24 frame `src` of side `src_size`;
 * `other` (same side) is another source frame for picture-in-picture. `scratch` holds
 * 2 * out_size * out_size * 3 bytes. `vflip`: probability of turning the view upside down.
 * Exposed for tests. */
VI_HIDDEN void vi__finetune_view(const uint8_t *src, const uint8_t *other, int32_t src_size,
                                 uint8_t *out, int32_t out_size, uint8_t *scratch, double vflip,
                                 uint64_t seed);

#endif
