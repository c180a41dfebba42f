/* The header's thread promises, checked with real threads (and under ThreadSanitizer by `make
 * check-tsan`): one vi_model shared by threads that embed at once, and one vi_index searched by
 * threads at once, on disk and in memory, give what the same calls give one at a time. Real
 * FFmpeg decoding of the fixtures, the built-in model. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_paths.h"
#include "vinfringe.h"

#define THREADS 3

static vi_model *model;

static void load_model(void) {
    ck_assert_msg(vi_model_load(NULL, &model) == VI_OK, "%s", vi_last_error());
}

static void free_model(void) {
    vi_model_free(model);
    model = NULL;
}

static const char *const clips[] = {"clip_a.mp4", "clip_vp8.webm", "clip_a_copy.mp4"};

static vi_embedding *embed(const char *name) {
    vi_embed_options o;
    ck_assert_int_eq(VI_EMBED_OPTIONS_INIT(o), VI_OK);
    o.max_frames = 4; /* keeps the ThreadSanitizer run short */
    vi_embedding *e = NULL;
    const vi_status st = vi_embed_video(model, vi_test_fixture(name), &o, &e);
    ck_assert_msg(st == VI_OK, "%s: %s", name, vi_last_error());
    return e;
}

struct embed_job {
    int first;
    vi_embedding *out[3];
    vi_status st;
    char error[256];
};

static void *embed_all(void *arg) {
    struct embed_job *j = arg;
    for (int k = 0; k < 3 && j->st == VI_OK; k++) {
        vi_embed_options o;
        vi_embed_options_init(&o, sizeof o);
        o.max_frames = 4;
        j->st = vi_embed_video(model, vi_test_fixture(clips[(j->first + k) % 3]), &o, &j->out[k]);
        if (j->st != VI_OK) snprintf(j->error, sizeof j->error, "%s", vi_last_error());
    }
    return NULL;
}

static void assert_same(const vi_embedding *a, const vi_embedding *b) {
    const int32_t n = vi_embedding_frame_count(a), d = vi_embedding_dim(a);
    ck_assert_int_eq(vi_embedding_frame_count(b), n);
    const float *x = vi_embedding_frame_vectors(a), *y = vi_embedding_frame_vectors(b);
    for (int64_t k = 0; k < (int64_t)n * d; k++) ck_assert_float_eq_tol(x[k], y[k], 1e-4f);
}

START_TEST(test_one_model_embeds_in_several_threads_at_once) {
    vi_embedding *serial[3];
    for (int c = 0; c < 3; c++) serial[c] = embed(clips[c]);
    struct embed_job jobs[THREADS];
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        memset(&jobs[t], 0, sizeof jobs[t]);
        jobs[t].first = t;
        ck_assert_int_eq(pthread_create(&th[t], NULL, embed_all, &jobs[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < THREADS; t++) {
        ck_assert_msg(jobs[t].st == VI_OK, "thread %d: %s", t, jobs[t].error);
        for (int k = 0; k < 3; k++) {
            assert_same(serial[(t + k) % 3], jobs[t].out[k]);
            vi_embedding_free(jobs[t].out[k]);
        }
    }
    for (int c = 0; c < 3; c++) vi_embedding_free(serial[c]);
}
END_TEST

struct search_job {
    const vi_index *x;
    vi_embedding *const *queries;
    vi_hits *out[3];
    int failed;
};

static void *search_all(void *arg) {
    struct search_job *j = arg;
    for (int round = 0; round < 2; round++)
        for (int q = 0; q < 3; q++) {
            vi_hits *h = NULL;
            if (vi_index_search(j->x, j->queries[q], 3, &h) != VI_OK) j->failed++;
            if (round == 1) j->out[q] = h;
            else vi_hits_free(h);
        }
    return NULL;
}

static void searches_agree(const vi_index *x, vi_embedding *const *queries) {
    vi_hits *serial[3];
    for (int q = 0; q < 3; q++) ck_assert_int_eq(vi_index_search(x, queries[q], 3, &serial[q]), VI_OK);
    struct search_job jobs[THREADS];
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (struct search_job){.x = x, .queries = queries};
        ck_assert_int_eq(pthread_create(&th[t], NULL, search_all, &jobs[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < THREADS; t++) {
        ck_assert_int_eq(jobs[t].failed, 0);
        for (int q = 0; q < 3; q++) {
            ck_assert_int_eq(vi_hits_count(jobs[t].out[q]), vi_hits_count(serial[q]));
            for (int32_t i = 0; i < vi_hits_count(serial[q]); i++) {
                ck_assert_str_eq(vi_hits_id(jobs[t].out[q], i), vi_hits_id(serial[q], i));
                ck_assert_float_eq(vi_hits_score(jobs[t].out[q], i), vi_hits_score(serial[q], i));
            }
            vi_hits_free(jobs[t].out[q]);
        }
    }
    for (int q = 0; q < 3; q++) vi_hits_free(serial[q]);
}

START_TEST(test_one_index_is_searched_by_several_threads_at_once) {
    vi_embedding *e[3];
    for (int c = 0; c < 3; c++) e[c] = embed(clips[c]);
    char dir[] = "/tmp/vi_threads_XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.vidx", dir);
    static const int32_t kinds[] = {VI_INDEX_EXACT, VI_INDEX_HNSW};
    for (int k = 0; k < 2; k++) {
        vi_index_options o;
        ck_assert_int_eq(VI_INDEX_OPTIONS_INIT(o), VI_OK);
        o.kind = kinds[k];
        o.candidates = 2;
        o.replace = 1;
        vi_index *x;
        ck_assert_int_eq(vi_index_open(path, &o, &x), VI_OK);
        for (int c = 0; c < 3; c++) ck_assert_int_eq(vi_index_add(x, clips[c], e[c]), VI_OK);
        ck_assert_int_eq(vi_index_flush(x), VI_OK);
        searches_agree(x, e); /* the writer's own handle */
        vi_index_free(x);
        ck_assert_int_eq(vi_index_load(path, &x), VI_OK); /* mapped read-only */
        searches_agree(x, e);
        vi_index_free(x);
    }
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    for (int c = 0; c < 3; c++) vi_embedding_free(e[c]);
}
END_TEST

Suite *concurrency_suite(void) {
    Suite *s = suite_create("concurrency");
    TCase *tc = tcase_create("threads");
    tcase_add_checked_fixture(tc, load_model, free_model);
    tcase_set_timeout(tc, 600); /* ThreadSanitizer runs libtorch 5-15x slower */
    tcase_add_test(tc, test_one_model_embeds_in_several_threads_at_once);
    tcase_add_test(tc, test_one_index_is_searched_by_several_threads_at_once);
    suite_add_tcase(s, tc);
    return s;
}
