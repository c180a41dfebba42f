/* vi_backbone_finetune: argument checks and error context around lib/train/finetune.c. */
#include <math.h>
#include <string.h>

#include "../train/finetune.h"
#include "../model/model.h"

vi_status vi_finetune_options_init(vi_finetune_options *opts, size_t struct_size) {
    vi_finetune_options d;
    memset(&d, 0, sizeof d);
    d.seed = 1;
    d.trainable_blocks = 7;
    d.steps = 1200;
    d.batch = 32;
    d.learning_rate = 1e-4f;
    d.weight_decay = 0.0f;
    d.temperature = 0.07f;
    d.koleo_weight = 0.0f;
    d.checkpoint_every = 100;
    d.frames_per_video = 120;
    d.head = VI_FINETUNE_HEADLESS;
    d.head_learning_rate = 1e-3f;
    d.temporal_positive = 0.0f;
    d.exclusivity_weight = 0.1f;
    d.mi_weight = 0.7f;
    d.scene_negatives = 0.0f;
    d.vflip = 0.0f;
    return vi__options_init(opts, struct_size, &d, sizeof d, "vi_finetune_options_init");
}

static vi_status read_options(const vi_finetune_options *in, vi_finetune_options *o) {
    vi_finetune_options_init(o, sizeof *o);
    if (in) {
        vi_status st = vi__copy_options(o, sizeof *o, in);
        if (st != VI_OK) return st;
    }
    if (o->trainable_blocks < 1 || o->trainable_blocks > 19)
        return vi__fail(VI_E_INVALID_ARG, "trainable_blocks %d is out of range 1..19",
                        (int)o->trainable_blocks);
    if (o->steps < 1 || o->steps > 10000000)
        return vi__fail(VI_E_INVALID_ARG, "steps %d is out of range 1..10000000", (int)o->steps);
    if (o->batch < 2 || o->batch > 512)
        return vi__fail(VI_E_INVALID_ARG, "batch %d is out of range 2..512", (int)o->batch);
    if (!(o->learning_rate > 0 && o->learning_rate < 1))
        return vi__fail(VI_E_INVALID_ARG, "learning_rate %g is out of range (0, 1)",
                        (double)o->learning_rate);
    if (!(o->weight_decay >= 0 && o->weight_decay < 1))
        return vi__fail(VI_E_INVALID_ARG, "weight_decay %g is out of range [0, 1)",
                        (double)o->weight_decay);
    if (!(o->temperature >= 0.01f && o->temperature <= 1))
        return vi__fail(VI_E_INVALID_ARG, "temperature %g is out of range [0.01, 1]",
                        (double)o->temperature);
    if (!(o->koleo_weight >= 0 && o->koleo_weight <= 100))
        return vi__fail(VI_E_INVALID_ARG, "koleo_weight %g is out of range [0, 100]",
                        (double)o->koleo_weight);
    if (o->checkpoint_every < 1)
        return vi__fail(VI_E_INVALID_ARG, "checkpoint_every %d is not positive",
                        (int)o->checkpoint_every);
    if (o->frames_per_video < 1 || o->frames_per_video > 100000)
        return vi__fail(VI_E_INVALID_ARG, "frames_per_video %d is out of range 1..100000",
                        (int)o->frames_per_video);
    if (o->head != VI_FINETUNE_HEADLESS && o->head != VI_FINETUNE_HEAD_DMI)
        return vi__fail(VI_E_INVALID_ARG, "head %d is not a vi_finetune_head", (int)o->head);
    if (!(o->head_learning_rate > 0 && o->head_learning_rate < 1))
        return vi__fail(VI_E_INVALID_ARG, "head_learning_rate %g is out of range (0, 1)",
                        (double)o->head_learning_rate);
    if (!(o->temporal_positive >= 0 && o->temporal_positive <= 1))
        return vi__fail(VI_E_INVALID_ARG, "temporal_positive %g is out of range [0, 1]",
                        (double)o->temporal_positive);
    if (!(o->exclusivity_weight >= 0 && o->exclusivity_weight <= 100) ||
        !(o->mi_weight >= 0 && o->mi_weight <= 100))
        return vi__fail(VI_E_INVALID_ARG, "exclusivity_weight %g or mi_weight %g is out of "
                        "range [0, 100]", (double)o->exclusivity_weight, (double)o->mi_weight);
    if (!(o->scene_negatives >= 0 && o->scene_negatives <= 0.5f))
        return vi__fail(VI_E_INVALID_ARG, "scene_negatives %g is out of range [0, 0.5]",
                        (double)o->scene_negatives);
    if (!(o->vflip >= 0 && o->vflip <= 1))
        return vi__fail(VI_E_INVALID_ARG, "vflip %g is out of range [0, 1]", (double)o->vflip);
    return VI_OK;
}

vi_status vi_backbone_finetune(const vi_model *base, const char *const *paths, int32_t n_paths,
                               const vi_finetune_options *opts, vi_finetune_progress_fn progress,
                               void *user, const char *out_model_path) {
    vi__clear_error();
    if (!base) return vi__fail(VI_E_INVALID_ARG, "vi_backbone_finetune: base model is NULL");
    if (!out_model_path)
        return vi__fail(VI_E_INVALID_ARG, "vi_backbone_finetune: output path is NULL");
    if (n_paths < 1 || !paths)
        return vi__fail(VI_E_INVALID_ARG, "vi_backbone_finetune: no input files (%d given)",
                        (int)(n_paths > 0 ? n_paths : 0));
    for (int32_t i = 0; i < n_paths; i++)
        if (!paths[i])
            return vi__fail(VI_E_INVALID_ARG, "vi_backbone_finetune: input path %d is NULL",
                            (int)i);
    vi_finetune_options o;
    vi_status st = read_options(opts, &o);
    if (st != VI_OK) {
        vi__error_prefix("vi_backbone_finetune");
        return st;
    }
    if (!base->bytes) return vi__fail(VI_E_INVALID_ARG, "vi_backbone_finetune: model has no file");
    return vi__finetune_run(base->bytes, base->n_bytes, base->input_size, paths, n_paths, &o,
                            progress, user, out_model_path);
}
