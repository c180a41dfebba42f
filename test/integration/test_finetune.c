/* Fine-tuning the backbone (vi_backbone_finetune, lib/train/finetune.c,
 * lib/train/finetune_net.cpp) on real fixture clips ($VI_FIXTURES) with the built-in model: optimiser
 * steps lower the contrastive loss on a fixed batch; the written model loads with the normal
 * loader and differs from the base only in the trainable units; an interrupted run resumed from
 * its checkpoint ends bit-identical to an uninterrupted one; a corrupt checkpoint, an empty input
 * list and undecodable inputs fail (or are skipped) with clear messages. Runs are tiny: the last
 * one or two units, a few frames per clip, a handful of steps. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/formats.h"
#include "model/model.h"
#include "test_paths.h"
#include "train/finetune.h"
#include "train/finetune_net.h"
#include "vinfringe.h"

#define fx vi_test_fixture

static const char *const k_clips[] = {"clip_a.mp4", "clip_b.mp4", "clip_vfr.mp4",
                                      "clip_mpeg2.ts", "clip_vp8.webm", "one_frame.mp4"};
#define N_CLIPS 6

static vi_model *base;
static char dir[256];

static void setup(void) {
    ck_assert_int_eq(vi_set_threads(1), VI_OK); /* one thread: bit-exact reruns */
    ck_assert_msg(vi_model_load(NULL, &base) == VI_OK, "built-in model: %s", vi_last_error());
    snprintf(dir, sizeof dir, "/tmp/vi_test_finetune_XXXXXX");
    ck_assert(mkdtemp(dir) != NULL);
}

static void teardown(void) {
    vi_model_free(base);
    base = NULL;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* A path in the test's directory; each distinct name keeps its own buffer for the whole test,
 * so option fields may point at it. */
static const char *tmp(const char *name) {
    static char names[16][64], paths[16][512];
    static int n;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return paths[i];
    ck_assert_int_lt(n, 16);
    snprintf(names[n], sizeof names[0], "%s", name);
    snprintf(paths[n], sizeof paths[0], "%s/%s", dir, name);
    return paths[n++];
}

static void clip_paths(const char **out) {
    for (int i = 0; i < N_CLIPS; i++) out[i] = fx(k_clips[i]);
}

static void small(vi_finetune_options *o) {
    ck_assert_int_eq(VI_FINETUNE_OPTIONS_INIT(*o), VI_OK);
    o->trainable_blocks = 2; /* Conv_1 and block_16 */
    o->steps = 4;
    o->batch = 4;
    o->learning_rate = 1e-4f;
    o->frames_per_video = 6;
    o->checkpoint_every = 2;
}

static uint8_t *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    uint8_t *b = malloc((size_t)len + 1);
    ck_assert(b && fread(b, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* A fixed batch of 2 x pairs views of the fixture clips' frames, decoded here. */
START_TEST(test_steps_lower_the_loss_on_a_fixed_batch) {
    /* the built-in model's backbone tensors, straight from its file bytes */
    size_t n;
    uint8_t *bytes = read_all(vi_test_source("models/default.vimodel"), &n);
    vi__model_file *mf;
    ck_assert_int_eq(vi__model_file_parse(bytes, n, &mf), VI_OK);
    free(bytes);
    vi__named_f32 *list;
    int32_t used;
    ck_assert_int_eq(vi__model_file_backbone_f32(mf, &list, &used), VI_OK);
    const vi__bbt_config cfg = {.trainable_units = 2, .learning_rate = 1e-3f, .temperature = 0.07f};
    vi__bbt *net = NULL;
    ck_assert_msg(vi__bbt_create(list, used, &cfg, &net) == VI_OK, "%s", vi_last_error());
    /* frames: the first frame of each clip, at 160, two augmented views each */
    enum { P = N_CLIPS, SRC = 160, S = 128 };
    uint8_t *frames = malloc((size_t)P * SRC * SRC * 3);
    for (int i = 0; i < P; i++) {
        FILE *f;
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "ffmpeg -nostdin -loglevel error -i '%s' -frames:v 1 -vf scale=%d:%d "
                 "-f rawvideo -pix_fmt rgb24 -",
                 fx(k_clips[i]), SRC, SRC);
        f = popen(cmd, "r");
        ck_assert(f != NULL);
        ck_assert_int_eq(fread(frames + (size_t)i * SRC * SRC * 3, 1, SRC * SRC * 3, f),
                         SRC * SRC * 3);
        pclose(f);
    }
    uint8_t *views = malloc((size_t)2 * P * S * S * 3), *scratch = malloc(2 * S * S * 3);
    for (int i = 0; i < P; i++)
        for (int v = 0; v < 2; v++)
            vi__finetune_view(frames + (size_t)i * SRC * SRC * 3,
                              frames + (size_t)((i + 1) % P) * SRC * SRC * 3, SRC,
                              views + (size_t)(v * P + i) * S * S * 3, S, scratch, 0.0,
                              (uint64_t)(10 * i + v + 1));
    vi__bbt_stats before, after, s;
    ck_assert_int_eq(vi__bbt_step(net, views, P, S, 0, &before), VI_OK);
    ck_assert(isfinite(before.loss) && before.loss > 0);
    /* the InfoNCE loss of 2P views is at most log(2P - 1) + 2 / T in theory; check it is sane */
    ck_assert_float_lt(before.infonce, logf(2 * P - 1) + 2.0f / 0.07f);
    for (int k = 0; k < 8; k++) ck_assert_int_eq(vi__bbt_step(net, views, P, S, 1, &s), VI_OK);
    ck_assert_int_eq(vi__bbt_steps_done(net), 8);
    ck_assert_int_eq(vi__bbt_step(net, views, P, S, 0, &after), VI_OK);
    ck_assert_msg(after.loss < before.loss - 0.05f, "loss %.4f -> %.4f", before.loss, after.loss);
    /* measuring does not update */
    vi__bbt_stats again;
    ck_assert_int_eq(vi__bbt_step(net, views, P, S, 0, &again), VI_OK);
    ck_assert_float_eq(again.loss, after.loss);
    /* the state lists the two units' convolutions: Conv_1 (1) + block_16's three, x 6 arrays */
    ck_assert_int_eq(vi__bbt_state_count(net), 4 * 6);
    ck_assert(vi__bbt_is_trainable_tensor(net, "Conv_1/kernel"));
    ck_assert(vi__bbt_is_trainable_tensor(net, "block_16_project_BN/gamma"));
    ck_assert(!vi__bbt_is_trainable_tensor(net, "block_15_project/kernel"));
    vi__bbt_free(net);
    /* the same with a DMI head trained jointly: its 8 layers join the state (weight, bias and
     * their two AdamW moments each), and the total DMI loss falls on the fixed batch */
    vi__bbt_config hc = cfg;
    hc.dmi_head = 1;
    hc.head_dim = 32;
    hc.head_learning_rate = 1e-2f;
    hc.exclusivity_weight = 0.1f;
    hc.mi_weight = 0.7f;
    hc.head_seed = 3;
    ck_assert_msg(vi__bbt_create(list, used, &hc, &net) == VI_OK, "%s", vi_last_error());
    ck_assert_int_eq(vi__bbt_state_count(net), 4 * 6 + 8 * 6);
    ck_assert_int_eq(vi__bbt_step(net, views, P, S, 0, &before), VI_OK);
    ck_assert(isfinite(before.loss) && before.infonce > 0);
    for (int k = 0; k < 8; k++) ck_assert_int_eq(vi__bbt_step(net, views, P, S, 1, &s), VI_OK);
    ck_assert_int_eq(vi__bbt_step(net, views, P, S, 0, &after), VI_OK);
    ck_assert_msg(after.loss < before.loss - 0.05f, "DMI loss %.4f -> %.4f", before.loss,
                  after.loss);
    ck_assert_msg(after.infonce < before.infonce, "NCE(f) %.4f -> %.4f", before.infonce,
                  after.infonce);
    vi__bbt_free(net);
    vi__named_f32_free(list, used);
    vi__model_file_free(mf);
    free(frames);
    free(views);
    free(scratch);
}
END_TEST

/* Compare two model files tensor by tensor: returns how many differ; `*bad` counts differing
 * tensors whose name is not in a trainable unit (Conv_1, block_16_*). */
static int diff_models(const char *a, const char *b, int *bad, int *n_common) {
    size_t na, nb;
    uint8_t *ba = read_all(a, &na), *bb = read_all(b, &nb);
    vi__doc *da, *db;
    ck_assert_int_eq(vi__doc_parse(ba, na, VI__MAGIC_MODEL, VI_E_BAD_MODEL, &da), VI_OK);
    ck_assert_int_eq(vi__doc_parse(bb, nb, VI__MAGIC_MODEL, VI_E_BAD_MODEL, &db), VI_OK);
    int differ = 0;
    *bad = 0;
    *n_common = 0;
    for (int32_t i = 0; i < vi__doc_tensor_count(da); i++) {
        const vi__tensor *t = vi__doc_tensor_at(da, i);
        const vi__tensor *u = vi__doc_tensor(db, t->name);
        if (!u) continue;
        (*n_common)++;
        const int64_t n = vi__tensor_numel(t);
        ck_assert_int_eq(n, vi__tensor_numel(u));
        float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
        vi__tensor_to_f32(t, x);
        vi__tensor_to_f32(u, y);
        double md = 0;
        for (int64_t k = 0; k < n; k++) md = fmax(md, fabs((double)x[k] - y[k]));
        if (md > 1e-4) {
            differ++;
            if (strncmp(t->name, "Conv_1", 6) != 0 && strncmp(t->name, "block_16_", 9) != 0)
                (*bad)++;
        }
        free(x);
        free(y);
    }
    vi__doc_free(da);
    vi__doc_free(db);
    free(ba);
    free(bb);
    return differ;
}

START_TEST(test_output_loads_and_only_trainable_units_change) {
    const char *paths[N_CLIPS];
    clip_paths(paths);
    vi_finetune_options o;
    small(&o);
    o.learning_rate = 1e-3f;
    const char *out = tmp("ft.vimodel");
    ck_assert_msg(vi_backbone_finetune(base, paths, N_CLIPS, &o, NULL, NULL, out) == VI_OK, "%s",
                  vi_last_error());
    vi_model *m = NULL;
    ck_assert_msg(vi_model_load(out, &m) == VI_OK, "%s", vi_last_error());
    /* headless: the embedding is the backbone feature itself */
    ck_assert_int_eq(vi_model_dim(m), vi_model_feature_dim(m));
    ck_assert_int_eq(vi_model_input_size(m), vi_model_input_size(base));
    ck_assert(strstr(vi_model_description(m), "fine-tuned") != NULL);
    vi_embedding *e = NULL;
    ck_assert_msg(vi_embed_video(m, fx("clip_a.mp4"), NULL, &e) == VI_OK, "%s", vi_last_error());
    vi_embedding_free(e);
    vi_model_free(m);
    int bad, common;
    const int differ = diff_models(vi_test_source("models/default.vimodel"), out, &bad, &common);
    ck_assert_int_gt(common, 200);
    ck_assert_msg(differ >= 4, "only %d tensors changed", differ);
    ck_assert_msg(bad == 0, "%d tensors outside the trainable units changed", bad);
}
END_TEST

START_TEST(test_dmi_head_is_trained_with_the_backbone_and_written) {
    const char *paths[N_CLIPS];
    clip_paths(paths);
    vi_finetune_options o;
    small(&o);
    o.head = VI_FINETUNE_HEAD_DMI;
    o.temporal_positive = 0.5f;
    const char *out = tmp("dmi.vimodel");
    ck_assert_msg(vi_backbone_finetune(base, paths, N_CLIPS, &o, NULL, NULL, out) == VI_OK, "%s",
                  vi_last_error());
    vi_model *m = NULL;
    ck_assert_msg(vi_model_load(out, &m) == VI_OK, "%s", vi_last_error());
    ck_assert_int_eq(vi_model_dim(m), 256); /* the head's output, not the 1856-d feature */
    ck_assert(strstr(vi_model_description(m), "DMI head") != NULL);
    ck_assert(strstr(vi_model_id(m), "-dmi") != NULL);
    vi_embedding *e = NULL;
    ck_assert_msg(vi_embed_video(m, fx("clip_a.mp4"), NULL, &e) == VI_OK, "%s", vi_last_error());
    const float *v = vi_embedding_video_vector(e);
    double nn = 0;
    for (int i = 0; i < 256; i++) nn += (double)v[i] * v[i];
    ck_assert_msg(fabs(nn - 1.0) < 1e-4, "video vector norm^2 %g", nn);
    vi_embedding_free(e);
    vi_model_free(m);
    /* every head layer is in the file, in the loader's layout, and none is the base's */
    size_t na, nb;
    uint8_t *ba = read_all(out, &na), *bb = read_all(vi_test_source("models/default.vimodel"), &nb);
    vi__model_file *da, *db;
    ck_assert_int_eq(vi__model_file_parse(ba, na, &da), VI_OK);
    ck_assert_int_eq(vi__model_file_parse(bb, nb, &db), VI_OK);
    ck_assert_int_eq(da->head.present, 1);
    ck_assert_int_eq(da->head.out_dim, 256);
    ck_assert_int_eq(da->head.in_dim, 1856);
    for (int l = 0; l < VI__DMI_LAYERS; l++) {
        const vi__tensor *t = &da->head.weight[l], *u = &db->head.weight[l];
        ck_assert_int_eq(t->dims[1], l == VI__DMI_FUSE ? 6 * 256 : 1856);
        if (u->nbytes == t->nbytes) ck_assert(memcmp(t->data, u->data, t->nbytes) != 0);
    }
    vi__model_file_free(da);
    vi__model_file_free(db);
    free(ba);
    free(bb);
}
END_TEST

/* vi_backbone_finetune refuses `o` with VI_E_INVALID_ARG and a message naming `what`. */
static void expect_rejected(const vi_finetune_options *o, const char *what) {
    const char *one[1] = {fx("clip_a.mp4")};
    ck_assert_int_eq(vi_backbone_finetune(base, one, 1, o, NULL, NULL, tmp("h.vimodel")),
                     VI_E_INVALID_ARG);
    ck_assert_msg(strstr(vi_last_error(), what) != NULL, "'%s' not in: %s", what,
                  vi_last_error());
    ck_assert_int_ne(access(tmp("h.vimodel"), F_OK), 0);
}

START_TEST(test_bad_head_options_are_rejected) {
    vi_finetune_options o;
    small(&o);
    o.head = 7;
    expect_rejected(&o, "head 7");
    small(&o);
    o.temporal_positive = 1.5f;
    expect_rejected(&o, "temporal_positive");
    small(&o);
    o.head_learning_rate = 0.0f;
    expect_rejected(&o, "head_learning_rate");
    small(&o);
    o.scene_negatives = 0.6f;
    expect_rejected(&o, "scene_negatives");
    small(&o);
    o.vflip = -0.1f;
    expect_rejected(&o, "vflip");
    small(&o);
    o.exclusivity_weight = -1.0f;
    expect_rejected(&o, "exclusivity_weight");
}
END_TEST

static int stop_at_3(void *user, const vi_finetune_progress *p) {
    int *calls = user;
    (*calls)++;
    ck_assert(p->phase == VI_FINETUNE_DECODING || p->phase == VI_FINETUNE_TRAINING);
    if (p->phase == VI_FINETUNE_TRAINING) ck_assert(isfinite(p->loss));
    return p->phase == VI_FINETUNE_TRAINING && p->done == 3;
}

/* _i = 0: headless; 1: with a DMI head, temporal positives, scene negatives and vertical flips
 * (the head's parameters and moments are in the checkpoint too) */
START_TEST(test_resumed_run_equals_uninterrupted_run) {
    const char *paths[N_CLIPS];
    clip_paths(paths);
    vi_finetune_options o;
    small(&o);
    o.steps = 6;
    if (_i == 1) {
        o.head = VI_FINETUNE_HEAD_DMI;
        o.temporal_positive = 0.5f;
        o.scene_negatives = 0.25f;
        o.vflip = 0.5f;
    }
    o.frame_cache_path = tmp("frames.cache");
    o.checkpoint_path = tmp("a.ckpt");
    const char *out_a = tmp("a.vimodel");
    ck_assert_msg(vi_backbone_finetune(base, paths, N_CLIPS, &o, NULL, NULL, out_a) == VI_OK,
                  "%s", vi_last_error());
    ck_assert_int_eq(access(tmp("frames.cache"), R_OK), 0);
    /* interrupted at step 3 (not a checkpoint mark: the cancel writes one), then resumed */
    o.checkpoint_path = tmp("b.ckpt");
    const char *out_b = tmp("b.vimodel");
    int calls = 0;
    ck_assert_int_eq(vi_backbone_finetune(base, paths, N_CLIPS, &o, stop_at_3, &calls, out_b),
                     VI_E_CANCELLED);
    ck_assert(strstr(vi_last_error(), "step 3") != NULL);
    ck_assert_int_ne(access(out_b, F_OK), 0);
    ck_assert_int_eq(access(tmp("b.ckpt"), R_OK), 0);
    ck_assert_msg(vi_backbone_finetune(base, paths, N_CLIPS, &o, NULL, NULL, out_b) == VI_OK,
                  "%s", vi_last_error());
    size_t na, nb;
    uint8_t *a = read_all(out_a, &na), *b = read_all(out_b, &nb);
    ck_assert_msg(na == nb && memcmp(a, b, na) == 0, "resumed model differs from uninterrupted");
    free(a);
    free(b);
    /* a finished checkpoint: running again only rewrites the model */
    ck_assert_int_eq(vi_backbone_finetune(base, paths, N_CLIPS, &o, NULL, NULL, out_b), VI_OK);
    /* other options than the checkpoint's are refused */
    o.seed = 7;
    ck_assert_int_eq(vi_backbone_finetune(base, paths, N_CLIPS, &o, NULL, NULL, out_b),
                     VI_E_FORMAT);
    ck_assert(strstr(vi_last_error(), "other options") != NULL);
}
END_TEST

START_TEST(test_corrupt_checkpoint_fails_clearly) {
    const char *paths[N_CLIPS];
    clip_paths(paths);
    vi_finetune_options o;
    small(&o);
    o.steps = 2;
    o.checkpoint_path = tmp("c.ckpt");
    ck_assert_int_eq(vi_backbone_finetune(base, paths, N_CLIPS, &o, NULL, NULL, tmp("c.vimodel")),
                     VI_OK);
    /* flip a byte in the middle of a real checkpoint */
    size_t n;
    uint8_t *b = read_all(tmp("c.ckpt"), &n);
    b[n / 2] ^= 0x5a;
    FILE *f = fopen(tmp("c.ckpt"), "wb");
    ck_assert(f && fwrite(b, 1, n, f) == n);
    fclose(f);
    free(b);
    ck_assert_int_eq(vi_backbone_finetune(base, paths, N_CLIPS, &o, NULL, NULL, tmp("d.vimodel")),
                     VI_E_FORMAT);
    ck_assert_msg(strstr(vi_last_error(), "checkpoint") && strstr(vi_last_error(), "corrupt"),
                  "%s", vi_last_error());
    /* and a file that is not a checkpoint at all */
    f = fopen(tmp("c.ckpt"), "wb");
    ck_assert(f && fputs("not a checkpoint\n", f) >= 0);
    fclose(f);
    ck_assert_int_eq(vi_backbone_finetune(base, paths, N_CLIPS, &o, NULL, NULL, tmp("d.vimodel")),
                     VI_E_FORMAT);
    ck_assert_int_ne(access(tmp("d.vimodel"), F_OK), 0);
}
END_TEST

START_TEST(test_empty_input_list_is_rejected) {
    vi_finetune_options o;
    small(&o);
    const char *none[1] = {NULL};
    ck_assert_int_eq(vi_backbone_finetune(base, none, 0, &o, NULL, NULL, tmp("e.vimodel")),
                     VI_E_INVALID_ARG);
    ck_assert(strstr(vi_last_error(), "no input") != NULL);
    ck_assert_int_eq(vi_backbone_finetune(base, NULL, 3, &o, NULL, NULL, tmp("e.vimodel")),
                     VI_E_INVALID_ARG);
    o.trainable_blocks = 20;
    const char *one[1] = {fx("clip_a.mp4")};
    ck_assert_int_eq(vi_backbone_finetune(base, one, 1, &o, NULL, NULL, tmp("e.vimodel")),
                     VI_E_INVALID_ARG);
    ck_assert(strstr(vi_last_error(), "trainable_blocks") != NULL);
}
END_TEST

struct warnings {
    int n;
    char last[512];
};

static void on_log(void *user, int32_t level, const char *msg) {
    struct warnings *w = user;
    if (level == VI_LOG_WARN && strstr(msg, "fine-tuning: skipping")) {
        w->n++;
        snprintf(w->last, sizeof w->last, "%s", msg);
    }
}

START_TEST(test_undecodable_inputs_are_skipped_with_a_warning) {
    struct warnings w = {0, ""};
    vi_log_set(on_log, &w);
    const char *paths[] = {fx("clip_a.mp4"), fx("garbage.mp4"), fx("clip_b.mp4"),
                           fx("audio_only.m4a"), fx("one_frame.mp4")};
    vi_finetune_options o;
    small(&o);
    o.steps = 2;
    ck_assert_msg(vi_backbone_finetune(base, paths, 5, &o, NULL, NULL, tmp("f.vimodel")) == VI_OK,
                  "%s", vi_last_error());
    ck_assert_int_eq(w.n, 2);
    ck_assert(strstr(w.last, "audio_only.m4a") != NULL);
    /* nothing decodable at all: a clear error */
    const char *bad[] = {fx("garbage.mp4"), fx("empty.mp4")};
    ck_assert_int_eq(vi_backbone_finetune(base, bad, 2, &o, NULL, NULL, tmp("g.vimodel")),
                     VI_E_INVALID_ARG);
    ck_assert(strstr(vi_last_error(), "0 of 2 inputs decoded") != NULL);
    vi_log_set(NULL, NULL);
}
END_TEST

Suite *finetune_suite(void) {
    Suite *s = suite_create("finetune");
    TCase *tc = tcase_create("finetune");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_steps_lower_the_loss_on_a_fixed_batch);
    tcase_add_test(tc, test_output_loads_and_only_trainable_units_change);
    tcase_add_loop_test(tc, test_resumed_run_equals_uninterrupted_run, 0, 2);
    tcase_add_test(tc, test_dmi_head_is_trained_with_the_backbone_and_written);
    tcase_add_test(tc, test_bad_head_options_are_rejected);
    tcase_add_test(tc, test_corrupt_checkpoint_fails_clearly);
    tcase_add_test(tc, test_empty_input_list_is_rejected);
    tcase_add_test(tc, test_undecodable_inputs_are_skipped_with_a_warning);
    suite_add_tcase(s, tc);
    return s;
}
