/* C side of the cgo layer: call + copy vi_last_error() in one C call; callback trampolines. */
#include <stdlib.h>
#include <string.h>

#include "_cgo_export.h"
#include "capi.h"

/* On failure, a malloc'ed copy of this thread's message; NULL on success (or out of memory). */
static vi_status take(vi_status st, char **err) {
    if (err) *err = st == VI_OK ? NULL : strdup(vi_last_error());
    return st;
}

static int progress_trampoline(void *user, double done, double total) {
    return (int)vigoProgress((uintptr_t)user, done, total);
}

static int epoch_trampoline(void *user, int32_t epoch, const vi_train_losses *losses) {
    return (int)vigoEpoch((uintptr_t)user, epoch, (vi_train_losses *)losses);
}

static void log_trampoline(void *user, int32_t level, const char *msg) {
    (void)user;
    vigoLog(level, (char *)msg);
}

vi_status vigo_set_threads(int32_t n, char **err) { return take(vi_set_threads(n), err); }

void vigo_log_enable(int32_t on) { vi_log_set(on ? log_trampoline : NULL, NULL); }

vi_status vigo_model_load(const char *path, vi_model **out, char **err) {
    return take(vi_model_load(path, out), err);
}

vi_status vigo_model_load_memory(const void *data, size_t size, vi_model **out, char **err) {
    return take(vi_model_load_memory(data, size, out), err);
}

vi_status vigo_embed_video(const vi_model *model, const char *path, float fps, int32_t max_frames,
                           int32_t keyframes_only, int32_t decode_threads,
                           uintptr_t progress_handle, vi_embedding **out, char **err) {
    vi_embed_options o;
    vi_status st = vi_embed_options_init(&o, sizeof o);
    if (st != VI_OK) return take(st, err);
    o.fps = fps;
    o.max_frames = max_frames;
    o.keyframes_only = keyframes_only;
    o.decode_threads = decode_threads;
    if (progress_handle != 0) {
        o.progress = progress_trampoline;
        o.progress_user = (void *)progress_handle; /* an integer handle, not a Go pointer */
    }
    return take(vi_embed_video(model, path, &o, out), err);
}

vi_status vigo_embed_frames(const vi_model *model, const uint8_t *rgb, int32_t n_frames,
                            int32_t width, int32_t height, int32_t stride, const int64_t *pts_us,
                            vi_embedding **out, char **err) {
    return take(vi_embed_frames(model, rgb, n_frames, width, height, stride, pts_us, out), err);
}

vi_status vigo_embedding_save(const vi_embedding *emb, const char *path, char **err) {
    return take(vi_embedding_save(emb, path), err);
}

vi_status vigo_embedding_load(const char *path, vi_embedding **out, char **err) {
    return take(vi_embedding_load(path, out), err);
}

vi_status vigo_embedding_to_memory(const vi_embedding *emb, void **data, size_t *size,
                                   char **err) {
    return take(vi_embedding_to_memory(emb, data, size), err);
}

vi_status vigo_embedding_from_memory(const void *data, size_t size, vi_embedding **out,
                                     char **err) {
    return take(vi_embedding_from_memory(data, size, out), err);
}

vi_status vigo_compare(const vi_embedding *query, const vi_embedding *ref, int32_t localize,
                       float threshold, vi_match **out, char **err) {
    vi_compare_options o;
    vi_status st = vi_compare_options_init(&o, sizeof o);
    if (st != VI_OK) return take(st, err);
    o.localize = localize;
    o.threshold = threshold;
    return take(vi_compare(query, ref, &o, out), err);
}

vi_status vigo_match_segment(const vi_match *match, int32_t i, vi_segment *out, char **err) {
    return take(vi_match_segment(match, i, out), err);
}

static vi_status index_options(vi_index_options *o, int32_t kind, int32_t candidates,
                               int32_t frame_neighbors, int32_t effort, int32_t read_only) {
    vi_status st = vi_index_options_init(o, sizeof *o);
    o->kind = kind;
    o->candidates = candidates;
    o->frame_neighbors = frame_neighbors;
    o->effort = effort;
    o->read_only = read_only;
    return st;
}

vi_status vigo_index_create_with(int32_t kind, int32_t candidates, int32_t frame_neighbors,
                                 int32_t effort, vi_index **out, char **err) {
    vi_index_options o;
    vi_status st = index_options(&o, kind, candidates, frame_neighbors, effort, 0);
    return take(st == VI_OK ? vi_index_create_with(&o, out) : st, err);
}

vi_status vigo_index_open(const char *path, int32_t kind, int32_t candidates,
                          int32_t frame_neighbors, int32_t effort, int32_t read_only,
                          vi_index **out, char **err) {
    vi_index_options o;
    vi_status st = index_options(&o, kind, candidates, frame_neighbors, effort, read_only);
    return take(st == VI_OK ? vi_index_open(path, &o, out) : st, err);
}

vi_status vigo_index_flush(vi_index *index, char **err) {
    return take(vi_index_flush(index), err);
}

vi_status vigo_index_create(vi_index **out, char **err) {
    return take(vi_index_create(out), err);
}

vi_status vigo_index_add(vi_index *index, const char *id, const vi_embedding *emb, char **err) {
    return take(vi_index_add(index, id, emb), err);
}

vi_status vigo_index_search(const vi_index *index, const vi_embedding *query, int32_t k,
                            vi_hits **out, char **err) {
    return take(vi_index_search(index, query, k, out), err);
}

vi_status vigo_index_save(const vi_index *index, const char *path, char **err) {
    return take(vi_index_save(index, path), err);
}

vi_status vigo_index_load(const char *path, vi_index **out, char **err) {
    return take(vi_index_load(path, out), err);
}

vi_status vigo_train_options_init(vi_train_options *opts, char **err) {
    return take(vi_train_options_init(opts, sizeof *opts), err);
}

vi_status vigo_trainer_create(const vi_model *base, const vi_train_options *opts,
                              vi_trainer **out, char **err) {
    return take(vi_trainer_create(base, opts, out), err);
}

vi_status vigo_trainer_add_video(vi_trainer *trainer, const char *path, int32_t group,
                                 char **err) {
    return take(vi_trainer_add_video(trainer, path, group), err);
}

vi_status vigo_trainer_run(vi_trainer *trainer, int32_t epochs, uintptr_t epoch_handle,
                           char **err) {
    /* The callback is always installed: it reports the losses of each epoch to Go. */
    return take(vi_trainer_run(trainer, epochs, epoch_trampoline, (void *)epoch_handle), err);
}

vi_status vigo_trainer_save(const vi_trainer *trainer, const char *path, char **err) {
    return take(vi_trainer_save(trainer, path), err);
}

vi_status vigo_trainer_load_checkpoint(vi_trainer *trainer, const char *path, char **err) {
    return take(vi_trainer_load_checkpoint(trainer, path), err);
}

vi_status vigo_finetune_options_init(vi_finetune_options *opts, char **err) {
    return take(vi_finetune_options_init(opts, sizeof *opts), err);
}

vi_status vigo_backbone_finetune(const vi_model *base, const char *const *paths, int32_t n_paths,
                                 const vi_finetune_options *opts, const char *out_model_path,
                                 char **err) {
    return take(vi_backbone_finetune(base, paths, n_paths, opts, NULL, NULL, out_model_path),
                err);
}

vi_status vigo_video_thumbnail(const char *path, int64_t time_us, int32_t max_side,
                               int32_t format, void **data, size_t *size, int64_t *frame_us,
                               char **err) {
    vi_thumbnail_options o;
    vi_status st = vi_thumbnail_options_init(&o, sizeof o);
    if (st != VI_OK) return take(st, err);
    o.max_side = max_side;
    o.format = format;
    return take(vi_video_thumbnail(path, time_us, &o, data, size, frame_us), err);
}

/* ---- calibration ---- */

vi_status vigo_embedding_calibrate(const vi_model *model, const vi_embedding *emb,
                                   vi_embedding **out, char **err) {
    return take(vi_embedding_calibrate(model, emb, out), err);
}

vi_status vigo_calibrator_create(const vi_model *base, int32_t bank_size, int32_t bank_k,
                                 float target_precision, int32_t verdict_only,
                                 vi_calibrator **out, char **err) {
    vi_calibrate_options o;
    vi_status st = vi_calibrate_options_init(&o, sizeof o);
    if (st != VI_OK) return take(st, err);
    if (bank_size) o.bank_size = bank_size;
    if (bank_k) o.bank_k = bank_k;
    if (target_precision != 0.0f) o.target_precision = target_precision;
    o.verdict_only = verdict_only;
    return take(vi_calibrator_create(base, &o, out), err);
}

vi_status vigo_calibrator_add_background(vi_calibrator *cal, const vi_embedding *e, char **err) {
    return take(vi_calibrator_add_background(cal, e), err);
}

vi_status vigo_calibrator_add_reference(vi_calibrator *cal, const char *id, const vi_embedding *e,
                                        char **err) {
    return take(vi_calibrator_add_reference(cal, id, e), err);
}

vi_status vigo_calibrator_add_query(vi_calibrator *cal, const vi_embedding *e,
                                    const char *copies_id, char **err) {
    return take(vi_calibrator_add_query(cal, e, copies_id), err);
}

vi_status vigo_calibrator_fit(vi_calibrator *cal, vi_calibration_report *rep, char **err) {
    rep->struct_size = (uint32_t)sizeof *rep;
    return take(vi_calibrator_fit(cal, rep), err);
}

vi_status vigo_calibrator_save(const vi_calibrator *cal, const char *path, char **err) {
    return take(vi_calibrator_save(cal, path), err);
}
