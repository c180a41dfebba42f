/* The whole pipeline through the public API: real clips decoded by FFmpeg, the built-in model run
 * by libtorch, comparison, index, and every kind of bad input (damaged model files are made with
 * the container writer). Fixtures come from
 * test/data/make_fixtures.sh ($VI_FIXTURES); the model files from the source tree ($VI_SRCDIR). */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/formats.h"
#include "test_paths.h"
#include "vinfringe.h"

#define fx vi_test_fixture
#define src vi_test_source

static vi_model *model;

static void load_model(void) {
    vi_status st = vi_model_load(NULL, &model);
    ck_assert_msg(st == VI_OK, "built-in model: %s", vi_last_error());
}

static void free_model(void) {
    vi_model_free(model);
    model = NULL;
}

static vi_embedding *embed(const char *name) {
    vi_embedding *e = NULL;
    vi_status st = vi_embed_video(model, fx(name), NULL, &e);
    ck_assert_msg(st == VI_OK, "%s: %s", name, vi_last_error());
    return e;
}

static float score(const vi_embedding *q, const vi_embedding *r) {
    vi_match *m;
    ck_assert_int_eq(vi_compare(q, r, NULL, &m), VI_OK);
    float s = vi_match_score(m);
    ck_assert(s >= 0.0f && s <= 1.0f);
    vi_match_free(m);
    return s;
}

START_TEST(test_builtin_model_describes_itself) {
    ck_assert_int_gt(vi_model_dim(model), 0);
    ck_assert_int_gt(vi_model_feature_dim(model), 0);
    ck_assert_int_ge(vi_model_input_size(model), 32); /* side of the square backbone input */
    ck_assert_int_le(vi_model_input_size(model), 1024);
    ck_assert(strlen(vi_model_id(model)) > 9);
    ck_assert_ptr_nonnull(vi_model_description(model));
    /* the same file loaded from disk is the same model (same id) */
    vi_model *again;
    ck_assert_int_eq(vi_model_load(src("models/default.vimodel"), &again), VI_OK);
    ck_assert_str_eq(vi_model_id(again), vi_model_id(model));
    vi_model_free(again);
}
END_TEST

START_TEST(test_copy_scores_higher_than_unrelated) {
    vi_embedding *a = embed("clip_a.mp4"), *b = embed("clip_b.mp4"), *c = embed("clip_a_copy.mp4");
    const float copy = score(c, a), unrelated = score(c, b), self = score(a, a);
    ck_assert_msg(copy > unrelated, "copy %.3f <= unrelated %.3f", copy, unrelated);
    ck_assert_msg(self >= copy, "self %.3f < copy %.3f", self, copy);
    vi_match *m;
    ck_assert_int_eq(vi_compare(c, a, NULL, &m), VI_OK);
    ck_assert_float_gt(vi_match_video_similarity(m), -1.0001f);
    for (int32_t i = 0; i < vi_match_segment_count(m); i++) {
        vi_segment s;
        ck_assert_int_eq(vi_match_segment(m, i, &s), VI_OK);
        ck_assert(s.query_start <= s.query_end && s.ref_start <= s.ref_end);
    }
    vi_segment s;
    ck_assert_int_eq(vi_match_segment(m, vi_match_segment_count(m), &s), VI_E_INVALID_ARG);
    vi_match_free(m);
    vi_embedding_free(a);
    vi_embedding_free(b);
    vi_embedding_free(c);
}
END_TEST

START_TEST(test_embedding_vectors_are_unit_length_and_timed) {
    vi_embedding *a = embed("clip_a.mp4");
    const int32_t n = vi_embedding_frame_count(a), d = vi_embedding_dim(a);
    ck_assert_int_eq(d, vi_model_dim(model));
    ck_assert_int_ge(n, 9); /* 10 s at 1 fps */
    ck_assert_int_le(n, 11);
    const int64_t *t = vi_embedding_timestamps(a);
    for (int32_t i = 1; i < n; i++) ck_assert_int_gt(t[i], t[i - 1]);
    ck_assert_double_gt(vi_embedding_duration(a), 9.0);
    const float *v = vi_embedding_frame_vectors(a);
    for (int32_t i = 0; i <= n; i++) {
        const float *row = i < n ? v + (size_t)i * d : vi_embedding_video_vector(a);
        double ss = 0;
        for (int32_t k = 0; k < d; k++) ss += (double)row[k] * row[k];
        ck_assert_double_eq_tol(ss, 1.0, 1e-4);
    }
    /* twice the rate gives about twice the frames */
    vi_embed_options o;
    VI_EMBED_OPTIONS_INIT(o);
    o.fps = 2;
    vi_embedding *b;
    ck_assert_int_eq(vi_embed_video(model, fx("clip_a.mp4"), &o, &b), VI_OK);
    ck_assert_int_ge(vi_embedding_frame_count(b), 2 * n - 2);
    vi_embedding_free(b);
    o.fps = 1;
    o.max_frames = 3;
    ck_assert_int_eq(vi_embed_video(model, fx("clip_a.mp4"), &o, &b), VI_OK);
    ck_assert_int_eq(vi_embedding_frame_count(b), 3);
    vi_embedding_free(b);
    o.fps = -1;
    ck_assert_int_eq(vi_embed_video(model, fx("clip_a.mp4"), &o, &b), VI_E_INVALID_ARG);
    ck_assert_ptr_null(b);
    vi_embedding_free(a);
}
END_TEST

/* The default model averages each frame's feature with its mirror image's, so a mirrored copy
 * (the decoder applies the container's mirror matrix) gets the same vectors up to rounding. */
START_TEST(test_mirrored_copy_gets_the_same_vectors) {
    vi_embedding *a = embed("clip_a.mp4"), *m = embed("clip_hflip.mp4");
    ck_assert_int_eq(vi_embedding_frame_count(a), vi_embedding_frame_count(m));
    vi_match *r;
    ck_assert_int_eq(vi_compare(m, a, NULL, &r), VI_OK);
    ck_assert_msg(vi_match_video_similarity(r) > 0.999f, "mirror cosine %.5f",
                  (double)vi_match_video_similarity(r));
    vi_match_free(r);
    vi_embedding_free(a);
    vi_embedding_free(m);
}
END_TEST

/* Frames decoded by the ffmpeg command and handed over as RGB give nearly the embedding that the
 * library's own decoding gives (both paths scale differently, so not bit-identical). */
START_TEST(test_embed_frames_agrees_with_embed_video) {
    const int w = 320, h = 240, max = 12;
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -loglevel error -i '%s' -vf fps=1 -frames:v %d -f rawvideo -pix_fmt rgb24 -",
             fx("clip_a.mp4"), max);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    uint8_t *rgb = malloc((size_t)w * h * 3 * max);
    size_t got = fread(rgb, (size_t)w * h * 3, max, p);
    pclose(p);
    ck_assert_int_ge(got, 9);
    vi_embedding *frames, *video = embed("clip_a.mp4");
    ck_assert_int_eq(vi_embed_frames(model, rgb, (int32_t)got, w, h, 0, NULL, &frames), VI_OK);
    ck_assert_int_eq(vi_embedding_frame_count(frames), (int32_t)got);
    const int32_t d = vi_embedding_dim(video);
    double dot = 0;
    for (int32_t k = 0; k < d; k++)
        dot += vi_embedding_video_vector(frames)[k] * vi_embedding_video_vector(video)[k];
    ck_assert_msg(dot > 0.9, "video vectors differ: cosine %.3f", dot);
    /* bad frame arguments */
    vi_embedding *bad;
    ck_assert_int_eq(vi_embed_frames(model, rgb, 0, w, h, 0, NULL, &bad), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_embed_frames(model, rgb, 1, w, h, w, NULL, &bad), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_embed_frames(model, NULL, 1, w, h, 0, NULL, &bad), VI_E_INVALID_ARG);
    int64_t back[2] = {1000000, 0};
    ck_assert_int_eq(vi_embed_frames(model, rgb, 2, w, h, 0, back, &bad), VI_E_INVALID_ARG);
    ck_assert_ptr_null(bad);
    free(rgb);
    vi_embedding_free(frames);
    vi_embedding_free(video);
}
END_TEST

/* Every bad input: a clear status, a message naming the file, no output object. */
START_TEST(test_bad_videos_fail_cleanly) {
    static const struct {
        const char *name;
        vi_status want; /* VI_OK: any failure status is acceptable */
    } cases[] = {
        {"does_not_exist.mp4", VI_E_IO}, {"dir.mp4", VI_E_IO},
        {"empty.mp4", VI_OK},            {"text.mp4", VI_OK},
        {"garbage.mp4", VI_OK},          {"truncated.mp4", VI_OK},
        {"audio_only.m4a", VI_E_NO_VIDEO}, {"audio_cover.mp3", VI_E_NO_VIDEO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vi_embedding *e = (vi_embedding *)1;
        const char *path = fx(cases[i].name);
        vi_status st = vi_embed_video(model, path, NULL, &e);
        ck_assert_msg(st != VI_OK, "%s: accepted", cases[i].name);
        if (cases[i].want != VI_OK)
            ck_assert_msg(st == cases[i].want, "%s: status %s", cases[i].name, vi_status_str(st));
        ck_assert_ptr_null(e);
        ck_assert_msg(strstr(vi_last_error(), cases[i].name), "%s: message '%s'", cases[i].name,
                      vi_last_error());
    }
}
END_TEST

/* Damaged but partly readable files, huge and tiny frames, one frame: embedded, not refused. */
START_TEST(test_unusual_videos_are_embedded) {
    static const char *names[] = {"truncated_playable.mp4", "damaged.mp4", "big_4096.mp4",
                                  "one_frame.mp4", "tiny_1x1.mkv", "tiny_2x2.mp4",
                                  "odd_33x17.mkv", "clip_vfr.mp4", "clip_rot90.mp4"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        vi_embedding *e;
        vi_status st = vi_embed_video(model, fx(names[i]), NULL, &e);
        ck_assert_msg(st == VI_OK, "%s: %s", names[i], vi_last_error());
        ck_assert_int_ge(vi_embedding_frame_count(e), 1);
        if (strcmp(names[i], "one_frame.mp4") == 0) ck_assert_int_eq(vi_embedding_frame_count(e), 1);
        vi_embedding_free(e);
    }
}
END_TEST

static int cancel_after_first(void *user, double done, double total) {
    int *calls = user;
    return ++*calls >= 1;
}

START_TEST(test_progress_callback_cancels) {
    vi_embed_options o;
    VI_EMBED_OPTIONS_INIT(o);
    int calls = 0;
    o.progress = cancel_after_first;
    o.progress_user = &calls;
    vi_embedding *e;
    ck_assert_int_eq(vi_embed_video(model, fx("clip_long.mp4"), &o, &e), VI_E_CANCELLED);
    ck_assert_ptr_null(e);
    ck_assert_int_eq(calls, 1);
}
END_TEST

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

START_TEST(test_bad_model_files_fail_cleanly) {
    FILE *f = fopen(src("models/default.vimodel"), "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), n);
    fclose(f);
    char path[] = "/tmp/vi_model_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    vi_model *m = (vi_model *)1;
    write_bytes(path, buf, (size_t)n / 2); /* truncated */
    ck_assert_int_eq(vi_model_load(path, &m), VI_E_BAD_MODEL);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), path));
    buf[n / 2] ^= 0xff; /* damaged */
    write_bytes(path, buf, (size_t)n);
    ck_assert_int_eq(vi_model_load(path, &m), VI_E_BAD_MODEL);
    ck_assert_int_eq(vi_model_load_memory(buf, (size_t)n, &m), VI_E_BAD_MODEL);
    ck_assert_int_eq(vi_model_load_memory(buf, 3, &m), VI_E_BAD_MODEL);
    write_bytes(path, "not a model\n", 12); /* text */
    ck_assert_int_eq(vi_model_load(path, &m), VI_E_BAD_MODEL);
    ck_assert_int_eq(vi_model_load(fx("clip_a.mp4"), &m), VI_E_BAD_MODEL); /* a video */
    ck_assert_int_eq(vi_model_load("/nonexistent.vimodel", &m), VI_E_IO);
    ck_assert_int_eq(vi_model_load(NULL, NULL), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_model_load_memory(NULL, 10, &m), VI_E_INVALID_ARG);
    ck_assert_ptr_null(m);
    unlink(path);
    free(buf);
}
END_TEST

/* 0.3 loaded a model whose head lacked dmi.aux.weight (but had dmi.sub* and dmi.fuse) as a
 * headless model and embedded with 1856-d vectors; it must be refused, naming the tensor. */
START_TEST(test_a_model_without_its_auxiliary_head_is_refused) {
    FILE *f = fopen(src("models/default.vimodel"), "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *buf = malloc((size_t)n);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), n);
    fclose(f);
    vi__doc *doc;
    ck_assert_int_eq(vi__doc_parse(buf, (size_t)n, VI__MAGIC_MODEL, VI_E_BAD_MODEL, &doc), VI_OK);
    free(buf);
    vi__docw *w = vi__docw_create();
    static const char *const strs[] = {"kind", "backbone", "name", "description"};
    for (int i = 0; i < 4; i++) vi__docw_str(w, strs[i], vi__doc_str(doc, strs[i]));
    static const char *const ints[] = {"input_size", "mirror_average"};
    for (int i = 0; i < 2; i++) {
        int64_t v;
        ck_assert(vi__doc_i64(doc, ints[i], &v));
        vi__docw_i64(w, ints[i], v);
    }
    int dropped = 0;
    for (int32_t i = 0; i < vi__doc_tensor_count(doc); i++) {
        const vi__tensor *t = vi__doc_tensor_at(doc, i);
        if (strcmp(t->name, "dmi.aux.weight") == 0) dropped = 1;
        else vi__docw_tensor(w, t);
    }
    ck_assert(dropped);
    uint8_t *bytes;
    size_t size;
    ck_assert_int_eq(vi__docw_finish(w, VI__MAGIC_MODEL, &bytes, &size), VI_OK);
    vi__doc_free(doc);
    vi_model *m = (vi_model *)1;
    ck_assert_int_eq(vi_model_load_memory(bytes, size, &m), VI_E_BAD_MODEL);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(vi_last_error(), "'dmi.aux.weight' is missing") != NULL, "%s",
                  vi_last_error());
    vi__free(bytes);
}
END_TEST

START_TEST(test_null_arguments_are_rejected) {
    vi_embedding *e = (vi_embedding *)1;
    ck_assert_int_eq(vi_embed_video(NULL, fx("clip_a.mp4"), NULL, &e), VI_E_INVALID_ARG);
    ck_assert_ptr_null(e);
    ck_assert_int_eq(vi_embed_video(model, NULL, NULL, &e), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_embed_video(model, fx("clip_a.mp4"), NULL, NULL), VI_E_INVALID_ARG);
    vi_match *m;
    ck_assert_int_eq(vi_compare(NULL, NULL, NULL, &m), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_index_search(NULL, NULL, 1, NULL), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_index_add(NULL, "x", NULL), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_model_dim(NULL), 0);
    ck_assert_ptr_null(vi_model_id(NULL));
    ck_assert_int_eq(vi_embedding_frame_count(NULL), 0);
    ck_assert_ptr_null(vi_hits_id(NULL, 0));
    ck_assert(strlen(vi_last_error()) > 0);
    vi_model_free(NULL);
    vi_match_free(NULL);
    vi_hits_free(NULL);
}
END_TEST

struct job {
    const char *name;
    vi_embedding *out;
    vi_status st;
};

static void *embed_job(void *arg) {
    struct job *j = arg;
    j->st = vi_embed_video(model, j->name, NULL, &j->out);
    return NULL;
}

/* One model, two threads embedding at once: same vectors as one at a time. */
START_TEST(test_model_is_shared_by_threads) {
    struct job jobs[2] = {{fx("clip_a.mp4"), NULL, 0}, {fx("clip_b.mp4"), NULL, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, embed_job, &jobs[i]);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    vi_embedding *seq[2] = {embed("clip_a.mp4"), embed("clip_b.mp4")};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(jobs[i].st, VI_OK);
        const int32_t d = vi_embedding_dim(seq[i]), n = vi_embedding_frame_count(seq[i]);
        ck_assert_int_eq(vi_embedding_frame_count(jobs[i].out), n);
        const float *x = vi_embedding_frame_vectors(seq[i]), *y = vi_embedding_frame_vectors(jobs[i].out);
        for (int64_t k = 0; k < (int64_t)n * d; k++) ck_assert_float_eq_tol(x[k], y[k], 1e-4f);
        vi_embedding_free(seq[i]);
        vi_embedding_free(jobs[i].out);
    }
}
END_TEST

START_TEST(test_index_finds_the_source_of_a_copy) {
    vi_embedding *a = embed("clip_a.mp4"), *b = embed("clip_b.mp4"), *c = embed("clip_a_copy.mp4");
    vi_embedding *v = embed("clip_vp8.webm");
    vi_index *x;
    ck_assert_int_eq(vi_index_create(&x), VI_OK);
    ck_assert_int_eq(vi_index_add(x, "b", b), VI_OK);
    ck_assert_int_eq(vi_index_add(x, "a", a), VI_OK);
    ck_assert_int_eq(vi_index_add(x, "vp8", v), VI_OK);
    char path[] = "/tmp/vi_index_XXXXXX";
    close(mkstemp(path));
    ck_assert_int_eq(vi_index_save(x, path), VI_OK);
    vi_index *y;
    ck_assert_int_eq(vi_index_load(path, &y), VI_OK);
    vi_index *both[2] = {x, y};
    for (int k = 0; k < 2; k++) {
        vi_hits *h;
        ck_assert_int_eq(vi_index_search(both[k], c, 2, &h), VI_OK);
        ck_assert_int_eq(vi_hits_count(h), 2);
        ck_assert_str_eq(vi_hits_id(h, 0), "a");
        ck_assert(vi_hits_score(h, 0) >= vi_hits_score(h, 1));
        ck_assert_ptr_nonnull(vi_hits_match(h, 0));
        ck_assert_ptr_null(vi_hits_match(h, 2));
        vi_hits_free(h);
    }
    unlink(path);
    vi_index_free(x);
    vi_index_free(y);
    vi_embedding_free(a);
    vi_embedding_free(b);
    vi_embedding_free(c);
    vi_embedding_free(v);
}
END_TEST

Suite *pipeline_suite(void) {
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("pipeline");
    tcase_add_checked_fixture(tc, load_model, free_model);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_builtin_model_describes_itself);
    tcase_add_test(tc, test_copy_scores_higher_than_unrelated);
    tcase_add_test(tc, test_embedding_vectors_are_unit_length_and_timed);
    tcase_add_test(tc, test_embed_frames_agrees_with_embed_video);
    tcase_add_test(tc, test_mirrored_copy_gets_the_same_vectors);
    tcase_add_test(tc, test_bad_videos_fail_cleanly);
    tcase_add_test(tc, test_unusual_videos_are_embedded);
    tcase_add_test(tc, test_progress_callback_cancels);
    tcase_add_test(tc, test_bad_model_files_fail_cleanly);
    tcase_add_test(tc, test_a_model_without_its_auxiliary_head_is_refused);
    tcase_add_test(tc, test_null_arguments_are_rejected);
    tcase_add_test(tc, test_model_is_shared_by_threads);
    tcase_add_test(tc, test_index_finds_the_source_of_a_copy);
    suite_add_tcase(s, tc);
    return s;
}
