/* vi_trainer_*: argument checks and error context around lib/train/trainer.c. */
#include <math.h>
#include <string.h>

#include "../train/train.h"
#include "../model/model.h"

struct vi_trainer {
    vi__trainer *impl;
};

vi_status vi_train_options_init(vi_train_options *opts, size_t struct_size) {
    vi_train_options d;
    memset(&d, 0, sizeof d);
    d.seed = 1;
    d.fps = 1.0f;
    d.max_frames = 60;
    d.views = 4;
    d.batch_pairs = 64;
    d.max_negatives = 2048;
    d.learning_rate = 1e-4f;
    d.weight_decay = 5e-4f;
    d.lr_step_epochs = 0;
    d.exclusivity_weight = 0.1f;
    d.mi_weight = 0.7f;
    return vi__options_init(opts, struct_size, &d, sizeof d, "vi_train_options_init");
}

static vi_status read_options(const vi_train_options *in, vi_train_options *o) {
    vi_train_options_init(o, sizeof *o);
    if (in) {
        vi_status st = vi__copy_options(o, sizeof *o, in);
        if (st != VI_OK) return st;
    }
    if (!(o->fps > 0 && o->fps <= 60))
        return vi__fail(VI_E_INVALID_ARG, "fps %g is out of range (0, 60]", (double)o->fps);
    if (o->max_frames < 1 || o->max_frames > 10000)
        return vi__fail(VI_E_INVALID_ARG, "max_frames %d is out of range 1..10000", o->max_frames);
    if (o->views < 1 || o->views > 16)
        return vi__fail(VI_E_INVALID_ARG, "views %d is out of range 1..16", o->views);
    if (o->batch_pairs < 1 || o->batch_pairs > 65536)
        return vi__fail(VI_E_INVALID_ARG, "batch_pairs %d is out of range 1..65536",
                        o->batch_pairs);
    if (o->max_negatives < 0 || o->max_negatives > 1 << 20)
        return vi__fail(VI_E_INVALID_ARG, "max_negatives %d is out of range 0..%d",
                        o->max_negatives, 1 << 20);
    if (!(o->learning_rate > 0 && o->learning_rate < 10))
        return vi__fail(VI_E_INVALID_ARG, "learning_rate %g is out of range (0, 10)",
                        (double)o->learning_rate);
    if (!(o->weight_decay >= 0 && o->weight_decay < 1))
        return vi__fail(VI_E_INVALID_ARG, "weight_decay %g is out of range [0, 1)",
                        (double)o->weight_decay);
    if (o->lr_step_epochs < 0)
        return vi__fail(VI_E_INVALID_ARG, "lr_step_epochs %d is negative", o->lr_step_epochs);
    if (!(o->exclusivity_weight >= 0 && o->exclusivity_weight <= 100) ||
        !(o->mi_weight >= 0 && o->mi_weight <= 100))
        return vi__fail(VI_E_INVALID_ARG, "loss weights D %g, M %g are out of range [0, 100]",
                        (double)o->exclusivity_weight, (double)o->mi_weight);
    if (o->single_head != 0 && o->single_head != 1)
        return vi__fail(VI_E_INVALID_ARG, "single_head %d is not 0 or 1", o->single_head);
    if (o->filter_augment != 0 && o->filter_augment != 1)
        return vi__fail(VI_E_INVALID_ARG, "filter_augment %d is not 0 or 1", o->filter_augment);
    if (o->on_base_head != 0 && o->on_base_head != 1)
        return vi__fail(VI_E_INVALID_ARG, "on_base_head %d is not 0 or 1", o->on_base_head);
    return VI_OK;
}

vi_status vi_trainer_create(const vi_model *base, const vi_train_options *opts, vi_trainer **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_trainer_create: out is NULL");
    *out = NULL;
    if (!base) return vi__fail(VI_E_INVALID_ARG, "vi_trainer_create: base model is NULL");
    vi_train_options o;
    vi_status st = read_options(opts, &o);
    if (st != VI_OK) return st;
    vi_trainer *t = vi__calloc(1, sizeof *t);
    if (!t) return vi__fail(VI_E_NOMEM, "out of memory");
    st = vi__trainer_create(base->net, base->head.in_dim, base->input_size, &base->head,
                            base->bytes, base->n_bytes, &o, &t->impl);
    if (st != VI_OK) {
        vi__free(t);
        return st;
    }
    *out = t;
    return VI_OK;
}

void vi_trainer_free(vi_trainer *t) {
    if (!t) return;
    vi__trainer_free(t->impl);
    vi__free(t);
}

vi_status vi_trainer_add_video(vi_trainer *t, const char *path, int32_t group) {
    vi__clear_error();
    if (!t || !path)
        return vi__fail(VI_E_INVALID_ARG, "vi_trainer_add_video: trainer or path is NULL");
    if (group < -1)
        return vi__fail(VI_E_INVALID_ARG, "vi_trainer_add_video: group %d (use >= 0, or -1 for "
                        "self-supervised)", group);
    vi_status st = vi__trainer_add_video(t->impl, path, group);
    if (st != VI_OK && !strstr(vi_last_error(), path))
        vi__error_prefix("training on %s", path);
    if (st != VI_OK && st != VI_E_INVALID_ARG && st != VI_E_NOMEM)
        vi__log(VI_LOG_WARN, "training: skipping %s: %s", path, vi_last_error());
    return st;
}

int32_t vi_trainer_video_count(const vi_trainer *t) {
    return t ? vi__trainer_video_count(t->impl) : 0;
}

vi_status vi_trainer_run(vi_trainer *t, int32_t epochs, vi_train_epoch_fn on_epoch, void *user) {
    vi__clear_error();
    if (!t) return vi__fail(VI_E_INVALID_ARG, "vi_trainer_run: trainer is NULL");
    if (epochs < 1 || epochs > 1000000)
        return vi__fail(VI_E_INVALID_ARG, "vi_trainer_run: epochs %d is out of range", epochs);
    return vi__trainer_run(t->impl, epochs, on_epoch, user);
}

vi_status vi_trainer_save(const vi_trainer *t, const char *path) {
    vi__clear_error();
    if (!t || !path) return vi__fail(VI_E_INVALID_ARG, "vi_trainer_save: trainer or path is NULL");
    vi_status st = vi__trainer_save(t->impl, path);
    if (st != VI_OK && !strstr(vi_last_error(), path)) vi__error_prefix("saving %s", path);
    return st;
}

vi_status vi_trainer_load_checkpoint(vi_trainer *t, const char *path) {
    vi__clear_error();
    if (!t || !path)
        return vi__fail(VI_E_INVALID_ARG, "vi_trainer_load_checkpoint: trainer or path is NULL");
    vi_status st = vi__trainer_load_checkpoint(t->impl, path);
    if (st != VI_OK && !strstr(vi_last_error(), path))
        vi__error_prefix("loading the checkpoint %s", path);
    return st;
}

int32_t vi_trainer_epochs_done(const vi_trainer *t) {
    return t ? vi__trainer_epochs_done(t->impl) : 0;
}
