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
    /* the base's calibration was fitted for another head: a trained model is uncalibrated and
     * says so, down to each match (docs/thresholds.md) */
    ck_assert_int_eq(vi_model_is_calibrated(base), 1);
    ck_assert_int_eq(vi_model_is_calibrated(m), 0);
    ck_assert_str_eq(vi_model_calibration_info(m), "");
    ck_assert_float_eq(vi_model_threshold(m), 0.5f);
    vi_embedding *a = embed(m, "clip_a.mp4"), *b = embed(m, "clip_b.mp4");
    vi_embedding *v = embed(m, "clip_vp8.webm"), *c = embed(m, "clip_a_copy.mp4");
    ck_assert_int_eq(vi_embedding_is_calibrated(c), 0);
    vi_match *match = NULL;
    ck_assert_int_eq(vi_compare(c, a, NULL, &match), VI_OK);
    ck_assert_int_eq(vi_match_is_calibrated(match), 0);
    ck_assert_float_eq(vi_match_threshold(match), 0.5f);
    ck_assert_int_eq(vi_match_is_copy(match), vi_match_score(match) >= 0.5f);
    vi_match_free(match);
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

/* Bytes of a file (malloc'ed), for comparing saved models. */
static unsigned char *slurp(const char *path, long *n) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)*n + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(fread(b, 1, (size_t)*n, f), (size_t)*n);
    fclose(f);
    return b;
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void temp_name(char *buf, size_t size, const char *what) {
    snprintf(buf, size, "/tmp/vi_train_%s_%d", what, (int)getpid());
}

static int stop_at(void *user, int32_t epoch, const vi_train_losses *l) {
    return epoch >= *(const int32_t *)user;
}

/* Interrupted after 2 of 5 epochs, resumed from the checkpoint in a fresh trainer: the saved
 * model is byte for byte the one of an uninterrupted run. Then damaged, truncated, foreign and
 * missing checkpoints fail with clear messages and leave the trainer usable. */
START_TEST(test_checkpoint_resume) {
    load_base();
    static const char *const clips[] = {"clip_a.mp4", "clip_b.mp4", "clip_vp8.webm"};
    char ckpt[256], out_resumed[256], out_straight[256];
    temp_name(ckpt, sizeof ckpt, "ckpt");
    temp_name(out_resumed, sizeof out_resumed, "resumed.vimodel");
    temp_name(out_straight, sizeof out_straight, "straight.vimodel");
    unlink(ckpt);
    vi_train_options o;
    small_options(&o, 11);
    o.checkpoint = ckpt;
    /* interrupted after epoch 2 (the checkpoint is written before the callback) */
    vi_trainer *t = trainer_on(&o, clips, 3);
    int32_t stop = 2;
    ck_assert_int_eq(vi_trainer_run(t, 5, stop_at, &stop), VI_E_CANCELLED);
    ck_assert_int_eq(vi_trainer_epochs_done(t), 2);
    vi_trainer_free(t);
    /* resumed in a new trainer */
    t = trainer_on(&o, clips, 3);
    ck_assert_msg(vi_trainer_load_checkpoint(t, ckpt) == VI_OK, "%s", vi_last_error());
    ck_assert_int_eq(vi_trainer_epochs_done(t), 2);
    struct record r = {0};
    r.n = 2; /* the callback sees epochs 3, 4, 5 */
    ck_assert_msg(vi_trainer_run(t, 3, on_epoch, &r) == VI_OK, "%s", vi_last_error());
    ck_assert_int_eq(vi_trainer_epochs_done(t), 5);
    ck_assert_int_eq(vi_trainer_save(t, out_resumed), VI_OK);
    vi_trainer_free(t);
    /* uninterrupted */
    o.checkpoint = NULL;
    t = trainer_on(&o, clips, 3);
    ck_assert_int_eq(vi_trainer_run(t, 5, NULL, NULL), VI_OK);
    ck_assert_int_eq(vi_trainer_save(t, out_straight), VI_OK);
    vi_trainer_free(t);
    long na, nb;
    unsigned char *a = slurp(out_resumed, &na), *b = slurp(out_straight, &nb);
    ck_assert_int_eq(na, nb);
    ck_assert_msg(memcmp(a, b, (size_t)na) == 0, "resumed and uninterrupted models differ");
    free(a);
    free(b);
    unlink(out_resumed);
    unlink(out_straight);

    /* bad checkpoints */
    long nc;
    unsigned char *good = slurp(ckpt, &nc);
    t = trainer_on(&o, clips, 3);
    write_bytes(ckpt, "not a checkpoint at all, just text", 34);
    ck_assert_int_eq(vi_trainer_load_checkpoint(t, ckpt), VI_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), ckpt));
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "checkpoint"));
    write_bytes(ckpt, good, (size_t)nc / 2); /* truncated */
    ck_assert_int_eq(vi_trainer_load_checkpoint(t, ckpt), VI_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "checkpoint"));
    /* a flipped byte in the middle of the compressed payload (not its last bytes: the final
     * deflate byte may end in padding bits that no check covers) */
    good[nc / 2] ^= 0x5a;
    write_bytes(ckpt, good, (size_t)nc);
    ck_assert_int_eq(vi_trainer_load_checkpoint(t, ckpt), VI_E_FORMAT);
    good[nc / 2] ^= 0x5a;
    unlink(ckpt);
    ck_assert_int_eq(vi_trainer_load_checkpoint(t, ckpt), VI_E_IO);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), ckpt));
    ck_assert_int_eq(vi_trainer_load_checkpoint(t, NULL), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_trainer_epochs_done(t), 0);
    ck_assert_int_eq(vi_trainer_run(t, 1, NULL, NULL), VI_OK); /* still usable */
    vi_trainer_free(t);
    /* a checkpoint of another run (another seed) */
    write_bytes(ckpt, good, (size_t)nc);
    small_options(&o, 12);
    t = trainer_on(&o, clips, 3);
    ck_assert_int_eq(vi_trainer_load_checkpoint(t, ckpt), VI_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "another training run"));
    vi_trainer_free(t);
    free(good);
    unlink(ckpt);
    vi_model_free(base);
}
END_TEST

/* The loss switches of the ablations: without D and M the total is the InfoNCE sum; a single
 * head trains on InfoNCE alone; on_base_head starts exactly from the base model (its head folded
 * back into the saved file gives the base model's embeddings). */
START_TEST(test_loss_switches) {
    load_base();
    static const char *const clips[] = {"clip_a.mp4", "clip_b.mp4", "clip_vp8.webm"};
    vi_train_options o;
    small_options(&o, 21);
    o.exclusivity_weight = 0;
    o.mi_weight = 0;
    vi_trainer *t = trainer_on(&o, clips, 3);
    struct record r = {0};
    ck_assert_int_eq(vi_trainer_run(t, 2, on_epoch, &r), VI_OK);
    ck_assert(r.l[0].exclusivity > 0 && r.l[0].mutual_info != 0); /* still reported */
    ck_assert_msg(r.l[0].total == r.l[0].nce, "total %.9g, nce %.9g", r.l[0].total, r.l[0].nce);
    vi_trainer_free(t);

    small_options(&o, 21);
    o.single_head = 1;
    t = trainer_on(&o, clips, 3);
    struct record rs = {0};
    ck_assert_int_eq(vi_trainer_run(t, 2, on_epoch, &rs), VI_OK);
    /* NCE(a^) alone is one of the nine terms of the sum */
    ck_assert(rs.l[0].total > 0 && rs.l[0].total < rs.l[0].nce);
    vi_trainer_free(t);
    o.single_head = 2;
    ck_assert_int_eq(vi_trainer_create(base, &o, &t), VI_E_INVALID_ARG);
    small_options(&o, 21);
    o.mi_weight = -1;
    ck_assert_int_eq(vi_trainer_create(base, &o, &t), VI_E_INVALID_ARG);

    small_options(&o, 21);
    o.on_base_head = 1;
    t = trainer_on(&o, clips, 3);
    char out[256];
    temp_name(out, sizeof out, "onbase.vimodel");
    ck_assert_int_eq(vi_trainer_save(t, out), VI_OK); /* untrained: the base model itself */
    vi_model *m = NULL;
    ck_assert_msg(vi_model_load(out, &m) == VI_OK, "%s", vi_last_error());
    vi_embedding *eb = embed(base, "clip_a.mp4"), *em = embed(m, "clip_a.mp4");
    const float *x = vi_embedding_video_vector(eb), *y = vi_embedding_video_vector(em);
    double worst = 0;
    for (int32_t i = 0; i < vi_embedding_dim(eb); i++)
        if (fabs((double)x[i] - y[i]) > worst) worst = fabs((double)x[i] - y[i]);
    ck_assert_msg(worst < 1e-4, "folded head differs from the base model by %g", worst);
    vi_embedding_free(eb);
    vi_embedding_free(em);
    vi_model_free(m);
    struct record rb = {0};
    ck_assert_int_eq(vi_trainer_run(t, 2, on_epoch, &rb), VI_OK);
    ck_assert(isfinite(rb.l[1].total));
    vi_trainer_free(t);
    unlink(out);
    vi_model_free(base);
}
END_TEST

static int warnings;
static char last_warning[1024];

static void count_warnings(void *user, int32_t level, const char *msg) {
    if (level == VI_LOG_WARN) {
        warnings++;
        snprintf(last_warning, sizeof last_warning, "%s", msg);
    }
}

/* Videos that break: one that cannot be read at all and one damaged in the middle. Both are
 * reported through vi_log; the damaged one keeps the frames FFmpeg could decode or is skipped,
 * and training goes on with the rest. */
START_TEST(test_bad_videos_are_skipped) {
    load_base();
    vi_train_options o;
    small_options(&o, 31);
    vi_trainer *t = NULL;
    ck_assert_int_eq(vi_trainer_create(base, &o, &t), VI_OK);
    warnings = 0;
    vi_log_set(count_warnings, NULL);
    ck_assert_int_eq(vi_trainer_add_video(t, fx("clip_a.mp4"), -1), VI_OK);
    ck_assert_int_eq(vi_trainer_add_video(t, fx("truncated.mp4"), -1), VI_E_DECODE);
    ck_assert_int_ge(warnings, 1);
    ck_assert_ptr_nonnull(strstr(last_warning, "truncated.mp4"));
    ck_assert_ptr_nonnull(strstr(last_warning, "skipping"));
    const int before = warnings;
    const vi_status st = vi_trainer_add_video(t, fx("damaged.mp4"), -1);
    ck_assert_msg(st == VI_OK || st == VI_E_DECODE, "damaged.mp4: %s", vi_last_error());
    ck_assert_msg(warnings > before, "no warning for damaged.mp4");
    ck_assert_int_eq(vi_trainer_add_video(t, fx("clip_b.mp4"), -1), VI_OK);
    vi_log_set(NULL, NULL);
    ck_assert_int_eq(vi_trainer_video_count(t), st == VI_OK ? 3 : 2);
    ck_assert_msg(vi_trainer_run(t, 2, NULL, NULL) == VI_OK, "%s", vi_last_error());
    vi_trainer_free(t);
    vi_model_free(base);
}
END_TEST

static int graphs, view_warnings;

static void count_graphs(void *user, int32_t level, const char *msg) {
    if (strstr(msg, "libavfilter graph [in]")) graphs++;
    if (level == VI_LOG_WARN && strstr(msg, "view")) view_warnings++;
    if (strstr(msg, "views, from ") && strstr(msg, ".vifeat")) cache_hits++;
}

/* libavfilter edits on the augmented views: one graph per augmented view, none failing; views
 * may change length (speed, frame rate, temporal crop), and the feature cache keeps those
 * lengths (a second trainer reads them back and gets the same losses). */
START_TEST(test_libavfilter_views) {
    load_base();
    char dir[] = "/tmp/vi_train_fcache_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    static const char *const clips[] = {"clip_long.mp4", "clip_a.mp4", "clip_b.mp4"};
    struct record r[2] = {{0}, {0}};
    for (int run = 0; run < 2; run++) {
        vi_train_options o;
        small_options(&o, 41);
        o.views = 6;
        o.max_frames = 12;
        o.fps = 2;
        o.filter_augment = 1;
        o.cache_dir = dir;
        graphs = view_warnings = cache_hits = 0;
        vi_log_set(count_graphs, NULL);
        vi_trainer *t = trainer_on(&o, clips, 3);
        vi_log_set(NULL, NULL);
        ck_assert_int_eq(view_warnings, 0);
        ck_assert_int_eq(graphs, run == 0 ? 3 * 5 : 0);
        ck_assert_int_eq(cache_hits, run == 0 ? 0 : 3);
        ck_assert_msg(vi_trainer_run(t, 2, on_epoch, &r[run]) == VI_OK, "%s", vi_last_error());
        vi_trainer_free(t);
    }
    ck_assert(r[0].l[1].total == r[1].l[1].total);
    dir_files(dir, 1, NULL, 0);
    rmdir(dir);
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
    tcase_add_test(tc, test_checkpoint_resume);
    tcase_add_test(tc, test_loss_switches);
    tcase_add_test(tc, test_bad_videos_are_skipped);
    tcase_add_test(tc, test_libavfilter_views);
    suite_add_tcase(s, tc);
    return s;
}
