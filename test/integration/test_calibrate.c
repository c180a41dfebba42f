/* Calibration through the public API (docs/thresholds.md): a calibrator fitted on real clips
 * decoded by FFmpeg and embedded by libtorch, the calibrated model written, loaded and used;
 * what an uncalibrated model and mismatched embeddings give; bad arguments. Fixtures come from
 * test/data/make_fixtures.sh ($VI_FIXTURES). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_paths.h"
#include "vinfringe.h"

#define fx vi_test_fixture

static vi_embedding *embed_with(const vi_model *m, const char *name) {
    vi_embedding *e = NULL;
    vi_status st = vi_embed_video(m, fx(name), NULL, &e);
    ck_assert_msg(st == VI_OK, "%s: %s", name, vi_last_error());
    return e;
}

static vi_match *compare(const vi_embedding *q, const vi_embedding *r, float threshold) {
    vi_compare_options o;
    ck_assert_int_eq(vi_compare_options_init(&o, sizeof o), VI_OK);
    o.threshold = threshold;
    vi_match *m = NULL;
    ck_assert_msg(vi_compare(q, r, &o, &m) == VI_OK, "%s", vi_last_error());
    return m;
}

/* The verdict is the score against the match's threshold, whatever scored it. */
static void assert_verdict_consistent(const vi_match *m) {
    const float s = vi_match_score(m), t = vi_match_threshold(m);
    ck_assert(s >= 0.0f && s <= 1.0f);
    ck_assert(t > 0.0f && t <= 1.0f);
    ck_assert_int_eq(vi_match_is_copy(m), s >= t);
}

enum { N_REFS = 3, N_QUERIES = 4 };
static const char *const refs[N_REFS] = {"clip_a.mp4", "clip_b.mp4", "clip_life.mp4"};
static const char *const queries[N_QUERIES] = {"clip_a_copy.mp4", "clip_b_copy.mp4",
                                               "clip_mpeg2.ts", "clip_cellauto.mp4"};
/* what each query copies (clip_mpeg2.ts is the first 4 s of clip_a's test pattern) */
static const char *const copies[N_QUERIES] = {"clip_a.mp4", "clip_b.mp4", "clip_a.mp4", NULL};

/* Fit a calibration of `base` on the fixtures and write it to `path`. */
static void fit_fixtures(const vi_model *base, const char *path, vi_calibration_report *rep) {
    vi_calibrator *cal = NULL;
    ck_assert_msg(vi_calibrator_create(base, NULL, &cal) == VI_OK, "%s", vi_last_error());
    vi_embedding *bg[2] = {embed_with(base, "bg_gradients.mp4"), embed_with(base, "one_frame.mp4")};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(vi_calibrator_add_background(cal, bg[i]), VI_OK);
        vi_embedding_free(bg[i]);
    }
    for (int i = 0; i < N_REFS; i++) {
        vi_embedding *e = embed_with(base, refs[i]);
        ck_assert_int_eq(vi_calibrator_add_reference(cal, refs[i], e), VI_OK);
        /* an id given twice is refused */
        ck_assert_int_eq(vi_calibrator_add_reference(cal, refs[i], e), VI_E_INVALID_ARG);
        vi_embedding_free(e);
    }
    /* saving before fitting says so */
    ck_assert_int_eq(vi_calibrator_save(cal, path), VI_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "vi_calibrator_fit"));
    for (int i = 0; i < N_QUERIES; i++) {
        vi_embedding *e = embed_with(base, queries[i]);
        ck_assert_int_eq(vi_calibrator_add_query(cal, e, copies[i]), VI_OK);
        if (i == 0) { /* a label naming no reference is refused */
            ck_assert_int_eq(vi_calibrator_add_query(cal, e, "nowhere.mp4"), VI_E_INVALID_ARG);
            ck_assert_ptr_nonnull(strstr(vi_last_error(), "nowhere.mp4"));
        }
        vi_embedding_free(e);
    }
    VI_CALIBRATION_REPORT_INIT(*rep);
    ck_assert_msg(vi_calibrator_fit(cal, rep) == VI_OK, "%s", vi_last_error());
    ck_assert_msg(vi_calibrator_save(cal, path) == VI_OK, "%s", vi_last_error());
    vi_calibrator_free(cal);
}

START_TEST(test_a_fitted_calibration_travels_with_the_model) {
    vi_model *base = NULL;
    ck_assert_int_eq(vi_model_load(NULL, &base), VI_OK);
    char path[] = "/tmp/vi-calibrated-XXXXXX";
    const int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    vi_calibration_report rep;
    fit_fixtures(base, path, &rep);
    ck_assert_int_eq(rep.pairs, N_REFS * N_QUERIES);
    ck_assert_int_eq(rep.copies, 3);
    ck_assert_int_ge(rep.bank_vectors, 3);
    ck_assert(rep.threshold > 0.0f && rep.threshold <= 1.0f);
    ck_assert(rep.micro_ap >= 0.0f && rep.micro_ap <= 1.0f);

    vi_model *m = NULL;
    ck_assert_msg(vi_model_load(path, &m) == VI_OK, "%s", vi_last_error());
    unlink(path);
    ck_assert_int_eq(vi_model_is_calibrated(m), 1);
    ck_assert(fabsf(vi_model_threshold(m) - rep.threshold) < 1e-6f);
    ck_assert_ptr_nonnull(strstr(vi_model_calibration_info(m), "background vectors"));
    /* the calibration does not change what the model embeds: same id, same vectors */
    ck_assert_str_eq(vi_model_id(m), vi_model_id(base));

    vi_embedding *a = embed_with(m, "clip_a.mp4"), *cp = embed_with(m, "clip_a_copy.mp4");
    vi_embedding *other = embed_with(m, "clip_cellauto.mp4");
    ck_assert_int_eq(vi_embedding_is_calibrated(a), 1);
    vi_match *same = compare(cp, a, 0.0f), *diff = compare(other, a, 0.0f);
    ck_assert_int_eq(vi_match_is_calibrated(same), 1);
    ck_assert(fabsf(vi_match_threshold(same) - rep.threshold) < 1e-6f);
    assert_verdict_consistent(same);
    assert_verdict_consistent(diff);
    ck_assert_msg(vi_match_score(same) > vi_match_score(diff), "copy %g, unrelated %g",
                  (double)vi_match_score(same), (double)vi_match_score(diff));
    /* a threshold given by the caller decides instead; the score stays */
    vi_match *strict = compare(cp, a, 1.0f);
    ck_assert_float_eq(vi_match_threshold(strict), 1.0f);
    ck_assert_float_eq(vi_match_score(strict), vi_match_score(same));
    assert_verdict_consistent(strict);

    /* the query's calibration scores a pair (the reference needs none): an embedding of the
     * base model is judged by the base's calibration, or the fixed 0.3 way when the base is
     * uncalibrated; calibrated after the fact with the new model, it is judged by that one */
    vi_embedding *plain = embed_with(base, "clip_a_copy.mp4"), *recal = NULL;
    vi_match *mixed = compare(plain, a, 0.0f);
    ck_assert_int_eq(vi_match_is_calibrated(mixed), vi_model_is_calibrated(base));
    ck_assert(fabsf(vi_match_threshold(mixed) - vi_model_threshold(base)) < 1e-6f);
    assert_verdict_consistent(mixed);
    ck_assert_int_eq(vi_embedding_calibrate(m, plain, &recal), VI_OK);
    ck_assert_int_eq(vi_embedding_is_calibrated(recal), 1);
    ck_assert_int_eq(vi_embedding_frame_count(recal), vi_embedding_frame_count(plain));
    vi_match *again = compare(recal, a, 0.0f);
    ck_assert_int_eq(vi_match_is_calibrated(again), 1);
    ck_assert(fabsf(vi_match_threshold(again) - rep.threshold) < 1e-6f);
    ck_assert(fabsf(vi_match_score(again) - vi_match_score(same)) < 1e-4f);

    /* a calibrated embedding survives the file format */
    void *buf = NULL;
    size_t n = 0;
    vi_embedding *back = NULL;
    ck_assert_int_eq(vi_embedding_to_memory(recal, &buf, &n), VI_OK);
    ck_assert_int_eq(vi_embedding_from_memory(buf, n, &back), VI_OK);
    vi_buffer_free(buf);
    ck_assert_int_eq(vi_embedding_is_calibrated(back), 1);
    vi_match *loaded = compare(back, a, 0.0f);
    ck_assert_float_eq(vi_match_score(loaded), vi_match_score(again));

    vi_match_free(loaded);
    vi_embedding_free(back);
    vi_match_free(again);
    vi_match_free(mixed);
    vi_match_free(strict);
    vi_match_free(same);
    vi_match_free(diff);
    vi_embedding_free(recal);
    vi_embedding_free(plain);
    vi_embedding_free(a);
    vi_embedding_free(cp);
    vi_embedding_free(other);
    vi_model_free(m);
    vi_model_free(base);
}
END_TEST

START_TEST(test_calibrator_arguments_are_checked) {
    vi_model *base = NULL;
    ck_assert_int_eq(vi_model_load(NULL, &base), VI_OK);
    vi_calibrator *cal = (vi_calibrator *)1;
    ck_assert_int_eq(vi_calibrator_create(NULL, NULL, &cal), VI_E_INVALID_ARG);
    ck_assert_ptr_null(cal);
    vi_calibrate_options o;
    ck_assert_int_eq(vi_calibrate_options_init(&o, sizeof o), VI_OK);
    ck_assert_int_eq(o.bank_k, 3);
    o.bank_k = 0;
    ck_assert_int_eq(vi_calibrator_create(base, &o, &cal), VI_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "bank_k"));
    VI_CALIBRATE_OPTIONS_INIT(o);
    o.target_precision = 1.5f;
    ck_assert_int_eq(vi_calibrator_create(base, &o, &cal), VI_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "target_precision"));
    ck_assert_int_eq(vi_calibrator_create(base, NULL, &cal), VI_OK);
    /* nothing added: fitting says what is missing */
    vi_calibration_report rep;
    VI_CALIBRATION_REPORT_INIT(rep);
    ck_assert_int_eq(vi_calibrator_fit(cal, &rep), VI_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "background"));
    vi_embedding *a = embed_with(base, "clip_a.mp4");
    ck_assert_int_eq(vi_calibrator_add_background(cal, a), VI_OK);
    ck_assert_int_eq(vi_calibrator_add_reference(cal, "a", a), VI_OK);
    ck_assert_int_eq(vi_calibrator_add_query(cal, a, "a"), VI_OK);
    ck_assert_int_eq(vi_calibrator_fit(cal, &rep), VI_E_INVALID_ARG); /* no non-copy query */
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "copy none"));
    ck_assert_int_eq(vi_calibrator_add_query(NULL, a, NULL), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_calibrator_add_reference(cal, NULL, a), VI_E_INVALID_ARG);
    /* vi_embedding_calibrate needs a calibrated model and its embeddings */
    vi_embedding *out = (vi_embedding *)1;
    ck_assert_int_eq(vi_embedding_calibrate(base, NULL, &out), VI_E_INVALID_ARG);
    ck_assert_ptr_null(out);
    vi_embedding_free(a);
    vi_calibrator_free(cal);
    vi_calibrator_free(NULL);
    vi_model_free(base);
}
END_TEST

Suite *calibrate_suite(void) {
    Suite *s = suite_create("calibrate");
    TCase *tc = tcase_create("calibrate");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_a_fitted_calibration_travels_with_the_model);
    tcase_add_test(tc, test_calibrator_arguments_are_checked);
    suite_add_tcase(s, tc);
    return s;
}
