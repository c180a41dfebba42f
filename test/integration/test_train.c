/* Training a DMI head through the public API on real clips ($VI_FIXTURES, made by
 * test/data/make_fixtures.sh) with the built-in model's frozen backbone: the loss goes down, the
 * saved model loads and still ranks the disguised copy of clip_a closest to clip_a, training is
 * deterministic given the seed, and bad input fails with clear messages. Runs are kept tiny
 * (a few clips, few frames, few epochs) so that the suite takes seconds. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_paths.h"
#include "vinfringe.h"

#define fx vi_test_fixture

#define MAX_EPOCHS 32

struct record {
    int32_t n;
    vi_train_losses l[MAX_EPOCHS];
};

static int on_epoch(void *user, int32_t epoch, const vi_train_losses *l) {
    struct record *r = user;
    ck_assert_int_eq(epoch, r->n + 1);
    ck_assert(isfinite(l->total) && isfinite(l->nce) && isfinite(l->exclusivity) &&
              isfinite(l->mutual_info));
    ck_assert_int_gt(l->steps, 0);
    if (r->n < MAX_EPOCHS) r->l[r->n++] = *l;
    return 0;
}

static vi_model *base;

static void load_base(void) {
    ck_assert_msg(vi_model_load(NULL, &base) == VI_OK, "built-in model: %s", vi_last_error());
}

static void small_options(vi_train_options *o, uint64_t seed) {
    ck_assert_int_eq(VI_TRAIN_OPTIONS_INIT(*o), VI_OK);
    o->seed = seed;
    o->views = 3;
    o->max_frames = 8;
    o->learning_rate = 1e-3f;
}

static vi_trainer *trainer_on(const vi_train_options *o, const char *const *clips, int n) {
    vi_trainer *t = NULL;
    ck_assert_msg(vi_trainer_create(base, o, &t) == VI_OK, "create: %s", vi_last_error());
    for (int i = 0; i < n; i++)
        ck_assert_msg(vi_trainer_add_video(t, fx(clips[i]), -1) == VI_OK, "%s: %s", clips[i],
                      vi_last_error());
    ck_assert_int_eq(vi_trainer_video_count(t), n);
    return t;
}

static float cosine(const vi_embedding *a, const vi_embedding *b) {
    const float *x = vi_embedding_video_vector(a), *y = vi_embedding_video_vector(b);
    double s = 0;
    for (int32_t i = 0; i < vi_embedding_dim(a); i++) s += (double)x[i] * y[i];
    return (float)s;
}

static vi_embedding *embed(const vi_model *m, const char *name) {
    vi_embedding *e = NULL;
    ck_assert_msg(vi_embed_video(m, fx(name), NULL, &e) == VI_OK, "%s: %s", name, vi_last_error());
    return e;
}

START_TEST(test_training_lowers_the_loss_and_saves_a_model) {
    load_base();
    static const char *const clips[] = {"clip_a.mp4", "clip_b.mp4", "clip_vp8.webm",
                                        "clip_mpeg2.ts"};
    vi_train_options o;
    small_options(&o, 7);
    vi_trainer *t = trainer_on(&o, clips, 4);
    struct record r = {0};
    const int epochs = 12;
    ck_assert_msg(vi_trainer_run(t, epochs, on_epoch, &r) == VI_OK, "%s", vi_last_error());
    ck_assert_int_eq(r.n, epochs);
    /* 4 self-supervised videos of 3 views: at most half the groups in a batch, so two steps of
     * 2 pairs and 6 negatives an epoch */
    ck_assert_int_eq(r.l[0].steps, 2);
    ck_assert(r.l[0].exclusivity > 0);
    const double first = (r.l[0].total + r.l[1].total) / 2;
    const double last = (r.l[epochs - 2].total + r.l[epochs - 1].total) / 2;
    ck_assert_msg(last < first, "loss did not decrease: %.4f -> %.4f", first, last);

    char out[] = "/tmp/vi_train_XXXXXX";
    int fd = mkstemp(out);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_msg(vi_trainer_save(t, out) == VI_OK, "save: %s", vi_last_error());
    vi_trainer_free(t);

    vi_model *m = NULL;
    ck_assert_msg(vi_model_load(out, &m) == VI_OK, "load trained: %s", vi_last_error());
    unlink(out);
    ck_assert_int_eq(vi_model_dim(m), 256);
    ck_assert_int_eq(vi_model_feature_dim(m), vi_model_feature_dim(base));
    ck_assert_str_ne(vi_model_id(m), vi_model_id(base));
    ck_assert_ptr_nonnull(strstr(vi_model_description(m), "DMI head"));
    vi_embedding *a = embed(m, "clip_a.mp4"), *b = embed(m, "clip_b.mp4");
    vi_embedding *v = embed(m, "clip_vp8.webm"), *c = embed(m, "clip_a_copy.mp4");
    const float ca = cosine(c, a), cb = cosine(c, b), cv = cosine(c, v);
    ck_assert_msg(ca > cb && ca > cv, "copy of clip_a: cos a %.3f, b %.3f, vp8 %.3f", ca, cb, cv);
    vi_embedding_free(a);
    vi_embedding_free(b);
    vi_embedding_free(v);
    vi_embedding_free(c);
    vi_model_free(m);
    vi_model_free(base);
}
END_TEST

START_TEST(test_same_seed_same_losses) {
    load_base();
    static const char *const clips[] = {"clip_a.mp4", "clip_b.mp4", "clip_vp8.webm"};
    struct record r[4] = {{0}, {0}, {0}, {0}};
    for (int run = 0; run < 4; run++) {
        vi_train_options o;
        small_options(&o, run == 2 ? 43 : 42);
        if (run == 3) o.lr_step_epochs = 1; /* learning rate x0.1 from the second epoch on */
        vi_trainer *t = trainer_on(&o, clips, 3);
        ck_assert_msg(vi_trainer_run(t, 3, on_epoch, &r[run]) == VI_OK, "%s", vi_last_error());
        vi_trainer_free(t);
    }
    for (int e = 0; e < 3; e++) {
        ck_assert_msg(r[0].l[e].total == r[1].l[e].total && r[0].l[e].nce == r[1].l[e].nce &&
                      r[0].l[e].exclusivity == r[1].l[e].exclusivity &&
                      r[0].l[e].mutual_info == r[1].l[e].mutual_info,
                      "epoch %d: %.9g vs %.9g with the same seed", e + 1, r[0].l[e].total,
                      r[1].l[e].total);
    }
    ck_assert_msg(r[0].l[0].total != r[2].l[0].total, "another seed gave the same loss");
    /* 2 steps an epoch: epoch 1 is the same, epoch 2's second step follows a slower update */
    ck_assert_int_eq(r[3].l[0].steps, 2);
    ck_assert(r[3].l[0].total == r[0].l[0].total && r[3].l[1].total != r[0].l[1].total);
    vi_model_free(base);
}
END_TEST

static int stop_at_two(void *user, int32_t epoch, const vi_train_losses *l) {
    *(int32_t *)user = epoch;
    return epoch >= 2;
}

START_TEST(test_labelled_groups_and_cancel) {
    load_base();
    vi_train_options o;
    small_options(&o, 3);
    o.views = 1; /* positives come from the labels only */
    vi_trainer *t = NULL;
    ck_assert_int_eq(vi_trainer_create(base, &o, &t), VI_OK);
    ck_assert_int_eq(vi_trainer_add_video(t, fx("clip_a.mp4"), 0), VI_OK);
    ck_assert_int_eq(vi_trainer_add_video(t, fx("clip_b.mp4"), 1), VI_OK);
    /* no group has two videos yet, and a single view makes no self-supervised pair */
    ck_assert_int_eq(vi_trainer_run(t, 1, NULL, NULL), VI_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "two views"));
    ck_assert_int_eq(vi_trainer_add_video(t, fx("clip_a_copy.mp4"), 0), VI_OK);
    int32_t seen = 0;
    ck_assert_int_eq(vi_trainer_run(t, 5, stop_at_two, &seen), VI_E_CANCELLED);
    ck_assert_int_eq(seen, 2);
    vi_trainer_free(t);
    vi_model_free(base);
}
END_TEST

START_TEST(test_bad_input) {
    load_base();
    vi_trainer *t = NULL;
    vi_train_options o;
    small_options(&o, 1);
    o.views = 0;
    ck_assert_int_eq(vi_trainer_create(base, &o, &t), VI_E_INVALID_ARG);
    ck_assert_ptr_null(t);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "views"));
    ck_assert_int_eq(vi_trainer_create(NULL, NULL, &t), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_trainer_create(base, NULL, NULL), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_trainer_create(base, NULL, &t), VI_OK); /* defaults */
    /* an empty trainer */
    ck_assert_int_eq(vi_trainer_run(t, 1, NULL, NULL), VI_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "no videos"));
    /* a missing video, a file that is not a video, a bad group: the trainer stays empty */
    const char *missing = fx("no_such_clip.mp4");
    ck_assert_int_eq(vi_trainer_add_video(t, missing, -1), VI_E_IO);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "no_such_clip.mp4"));
    ck_assert_int_eq(vi_trainer_add_video(t, fx("text.mp4"), -1), VI_E_DECODE);
    ck_assert_int_eq(vi_trainer_add_video(t, fx("audio_only.m4a"), -1), VI_E_NO_VIDEO);
    ck_assert_int_eq(vi_trainer_add_video(t, fx("clip_a.mp4"), -2), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_trainer_add_video(t, NULL, -1), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_trainer_video_count(t), 0);
    ck_assert_int_eq(vi_trainer_run(t, 1, NULL, NULL), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_trainer_run(t, 0, NULL, NULL), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_trainer_save(t, NULL), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_trainer_save(t, fx("dir.mp4")), VI_E_IO); /* a directory */
    ck_assert_int_eq(vi_trainer_run(NULL, 1, NULL, NULL), VI_E_INVALID_ARG);
    vi_trainer_free(t);
    vi_trainer_free(NULL);
    vi_model_free(base);
}
END_TEST

/* Files in `dir` (not . and ..); with `rm`, delete them too. */
static int dir_files(const char *dir, int rm, char *first, size_t first_size) {
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (n == 0 && first) snprintf(first, first_size, "%s", p);
        if (rm) unlink(p);
        n++;
    }
    closedir(d);
    return n;
}

static int cache_hits;

static void count_cache_hits(void *user, int32_t level, const char *msg) {
    if (strstr(msg, "views, from ") && strstr(msg, ".vifeat")) cache_hits++;
}

START_TEST(test_feature_cache) {
    load_base();
    char dir[] = "/tmp/vi_train_cache_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    static const char *const clips[] = {"clip_a.mp4", "clip_b.mp4"};
    struct record r[3] = {{0}, {0}, {0}};
    char first[2048] = "";
    for (int run = 0; run < 3; run++) {
        vi_train_options o;
        small_options(&o, 5);
        o.cache_dir = dir;
        if (run == 2) { /* a damaged cache file is recomputed, not trusted */
            FILE *f = fopen(first, "wb");
            ck_assert_ptr_nonnull(f);
            fputs("not a feature cache", f);
            fclose(f);
        }
        cache_hits = 0;
        vi_log_set(count_cache_hits, NULL);
        vi_trainer *t = trainer_on(&o, clips, 2);
        vi_log_set(NULL, NULL);
        ck_assert_int_eq(cache_hits, run == 0 ? 0 : run == 1 ? 2 : 1);
        ck_assert_msg(vi_trainer_run(t, 2, on_epoch, &r[run]) == VI_OK, "%s", vi_last_error());
        vi_trainer_free(t);
        ck_assert_int_eq(dir_files(dir, 0, first, sizeof first), 2); /* one file per video */
    }
    for (int run = 1; run < 3; run++)
        for (int e = 0; e < 2; e++)
            ck_assert_msg(r[run].l[e].total == r[0].l[e].total, "run %d epoch %d: %.9g vs %.9g",
                          run, e + 1, r[run].l[e].total, r[0].l[e].total);
    dir_files(dir, 1, NULL, 0);
    rmdir(dir);
    /* a cache directory that cannot be made */
    vi_train_options o;
    small_options(&o, 5);
    o.cache_dir = "/proc/no/such/dir";
    vi_trainer *t = NULL;
    ck_assert_int_eq(vi_trainer_create(base, &o, &t), VI_E_IO);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "/proc/no/such/dir"));
    vi_model_free(base);
}
END_TEST

Suite *train_suite(void) {
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_training_lowers_the_loss_and_saves_a_model);
    tcase_add_test(tc, test_same_seed_same_losses);
    tcase_add_test(tc, test_labelled_groups_and_cancel);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_feature_cache);
    suite_add_tcase(s, tc);
    return s;
}
