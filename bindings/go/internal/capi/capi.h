/*
 * capi.h - small C wrappers used by the cgo layer of the Go binding.
 *
 * vi_last_error() is per OS thread, and a goroutine may move to another OS thread between two
 * cgo calls. So every fallible call goes through a wrapper that calls the library function and,
 * on failure, copies the message in the same C call: `*err` receives a malloc'ed copy (free it
 * with free()), or NULL on success.
 *
 * Progress callbacks: Go passes a runtime/cgo.Handle (an integer) as `progress_handle`; the C
 * trampoline hands it back to Go. C never stores a Go pointer.
 */
#ifndef VINFRINGE_GO_CAPI_H
#define VINFRINGE_GO_CAPI_H

#include <stddef.h>
#include <stdint.h>

#include <vinfringe.h>

vi_status vigo_set_threads(int32_t n, char **err);
void vigo_log_enable(int32_t on);

vi_status vigo_model_load(const char *path, vi_model **out, char **err);
vi_status vigo_model_load_memory(const void *data, size_t size, vi_model **out, char **err);

vi_status vigo_embed_video(const vi_model *model, const char *path, float fps, int32_t max_frames,
                           int32_t keyframes_only, int32_t decode_threads,
                           uintptr_t progress_handle, vi_embedding **out, char **err);
vi_status vigo_embed_frames(const vi_model *model, const uint8_t *rgb, int32_t n_frames,
                            int32_t width, int32_t height, int32_t stride, const int64_t *pts_us,
                            vi_embedding **out, char **err);

vi_status vigo_embedding_save(const vi_embedding *emb, const char *path, char **err);
vi_status vigo_embedding_load(const char *path, vi_embedding **out, char **err);
vi_status vigo_embedding_to_memory(const vi_embedding *emb, void **data, size_t *size,
                                   char **err);
vi_status vigo_embedding_from_memory(const void *data, size_t size, vi_embedding **out,
                                     char **err);

vi_status vigo_compare(const vi_embedding *query, const vi_embedding *ref, int32_t localize,
                       float threshold, vi_match **out, char **err);
vi_status vigo_match_segment(const vi_match *match, int32_t i, vi_segment *out, char **err);

vi_status vigo_index_create(vi_index **out, char **err);
vi_status vigo_index_add(vi_index *index, const char *id, const vi_embedding *emb, char **err);
vi_status vigo_index_search(const vi_index *index, const vi_embedding *query, int32_t k,
                            vi_hits **out, char **err);
vi_status vigo_index_save(const vi_index *index, const char *path, char **err);
vi_status vigo_index_load(const char *path, vi_index **out, char **err);
/* Options travel as plain numbers; the wrappers fill a vi_index_options (0.2). */
vi_status vigo_index_create_with(int32_t kind, int32_t candidates, int32_t frame_neighbors,
                                 int32_t effort, vi_index **out, char **err);
vi_status vigo_index_open(const char *path, int32_t kind, int32_t candidates,
                          int32_t frame_neighbors, int32_t effort, int32_t read_only,
                          vi_index **out, char **err);
vi_status vigo_index_flush(vi_index *index, char **err);

vi_status vigo_trainer_create(const vi_model *base, const vi_train_options *opts,
                              vi_trainer **out, char **err);
vi_status vigo_trainer_add_video(vi_trainer *trainer, const char *path, int32_t group,
                                 char **err);
vi_status vigo_trainer_run(vi_trainer *trainer, int32_t epochs, uintptr_t epoch_handle,
                           char **err);
vi_status vigo_trainer_save(const vi_trainer *trainer, const char *path, char **err);
vi_status vigo_trainer_load_checkpoint(vi_trainer *trainer, const char *path, char **err);

vi_status vigo_finetune_options_init(vi_finetune_options *opts, char **err);
/* No progress callback: the Go side blocks until the run ends. */
vi_status vigo_backbone_finetune(const vi_model *base, const char *const *paths, int32_t n_paths,
                                 const vi_finetune_options *opts, const char *out_model_path,
                                 char **err);
vi_status vigo_train_options_init(vi_train_options *opts, char **err);

/* A thumbnail (0.4): *data is the library's buffer, free it with vi_buffer_free. */
vi_status vigo_video_thumbnail(const char *path, int64_t time_us, int32_t max_side,
                               int32_t format, void **data, size_t *size, int64_t *frame_us,
                               char **err);
vi_status vigo_embedding_calibrate(const vi_model *model, const vi_embedding *emb,
                                   vi_embedding **out, char **err);
vi_status vigo_calibrator_create(const vi_model *base, int32_t bank_size, int32_t bank_k,
                                 float target_precision, int32_t verdict_only,
                                 vi_calibrator **out, char **err);
vi_status vigo_calibrator_add_background(vi_calibrator *cal, const vi_embedding *e, char **err);
vi_status vigo_calibrator_add_reference(vi_calibrator *cal, const char *id, const vi_embedding *e,
                                        char **err);
vi_status vigo_calibrator_add_query(vi_calibrator *cal, const vi_embedding *e,
                                    const char *copies_id, char **err);
vi_status vigo_calibrator_fit(vi_calibrator *cal, vi_calibration_report *rep, char **err);
vi_status vigo_calibrator_save(const vi_calibrator *cal, const char *path, char **err);

#endif
