/* The model file module (lib/model/model_file.c): every part read, validated whole and written
 * back. Pure C: small model files are written here with the container writer, spelling the keys
 * of docs/file-formats.md ("Models") independently of the module; the shipped model is read from
 * the source tree. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "test_paths.h"

enum { IN = 4, OUT = 2 };

/* How tiny_model damages the file it writes. */
struct damage {
    const char *skip;    /* leave out this tensor or key */
    const char *reshape; /* give this tensor one column too many */
    const char *nan;     /* put a NaN into this tensor */
    const char *extra;   /* add a tensor of this name */
    int64_t mirror;      /* mirror_average value */
    int finetune_keys;   /* how many of the three finetune_* keys to write */
};

static void head_name(int layer, int bias, char *buf, size_t n) {
    const char *part = bias ? "bias" : "weight";
    if (layer < 6) snprintf(buf, n, "dmi.sub%d.%s", layer, part);
    else snprintf(buf, n, "dmi.%s.%s", layer == 6 ? "aux" : "fuse", part);
}

static void put(vi__docw *w, const char *name, int64_t d0, int64_t d1, const struct damage *d) {
    if (d->skip && strcmp(d->skip, name) == 0) return;
    if (d->reshape && strcmp(d->reshape, name) == 0) d1 = d1 ? d1 + 1 : 2;
    float *v = calloc((size_t)(d0 * (d1 ? d1 : 1)), sizeof(float));
    for (int64_t i = 0; i < d0 * (d1 ? d1 : 1); i++) v[i] = (float)(i % 7) * 0.25f - 0.5f;
    if (d->nan && strcmp(d->nan, name) == 0) v[0] = NAN;
    vi__tensor t = {.name = name, .dtype = VI__DT_F32, .ndim = d1 ? 2 : 1, .dims = {d0, d1},
                    .data = v, .nbytes = (size_t)(d0 * (d1 ? d1 : 1)) * sizeof(float)};
    vi__docw_tensor(w, &t);
    free(v);
}

/* A small model file: a two-tensor "backbone" and a DMI head for IN-d features. */
static uint8_t *tiny_model(const struct damage *d, int with_head, size_t *n) {
    vi__docw *w = vi__docw_create();
    const char *keys[] = {"kind", "backbone", "name"};
    const char *vals[] = {"vinfringe-model", "mobilenet_v2", "tiny"};
    for (int i = 0; i < 3; i++)
        if (!d->skip || strcmp(d->skip, keys[i]) != 0) vi__docw_str(w, keys[i], vals[i]);
    vi__docw_str(w, "description", "a test model");
    if (!d->skip || strcmp(d->skip, "input_size") != 0) vi__docw_i64(w, "input_size", 64);
    vi__docw_i64(w, "mirror_average", d->mirror);
    const char *ft[] = {"finetune_trainable_blocks", "finetune_steps", "finetune_seed"};
    for (int i = 0; i < d->finetune_keys; i++) vi__docw_i64(w, ft[i], 7 + i);
    put(w, "conv/kernel", 3, 2, d);
    put(w, "conv_bn/gamma", 2, 0, d);
    for (int l = 0; with_head && l < 8; l++)
        for (int bias = 0; bias < 2; bias++) {
            char name[64];
            head_name(l, bias, name, sizeof name);
            put(w, name, OUT, bias ? 0 : (l == 7 ? 6 * OUT : IN), d);
        }
    if (d->extra) put(w, d->extra, 2, 0, d);
    uint8_t *buf;
    ck_assert_int_eq(vi__docw_finish(w, VI__MAGIC_MODEL, &buf, n), VI_OK);
    return buf;
}

/* Parse a damaged tiny model: expect VI_E_BAD_MODEL and `what` in the message. */
static void expect_refused(const struct damage *d, const char *what) {
    size_t n;
    uint8_t *buf = tiny_model(d, 1, &n);
    vi__model_file *mf = (vi__model_file *)1;
    ck_assert_int_eq(vi__model_file_parse(buf, n, &mf), VI_E_BAD_MODEL);
    ck_assert_ptr_null(mf);
    ck_assert_msg(strstr(vi_last_error(), what) != NULL, "'%s' not in: %s", what, vi_last_error());
    vi__free(buf);
}

START_TEST(test_every_part_of_a_tiny_model_is_read) {
    size_t n;
    const struct damage none = {.mirror = 1, .finetune_keys = 3};
    uint8_t *buf = tiny_model(&none, 1, &n);
    vi__model_file *mf;
    ck_assert_msg(vi__model_file_parse(buf, n, &mf) == VI_OK, "%s", vi_last_error());
    vi__free(buf); /* nothing of the buffer is referenced afterwards */
    ck_assert_str_eq(mf->meta.name, "tiny");
    ck_assert_str_eq(mf->meta.description, "a test model");
    ck_assert_ptr_null(mf->meta.license);
    ck_assert_int_eq(mf->meta.input_size, 64);
    ck_assert_int_eq(mf->meta.mirror_average, 1);
    ck_assert_int_eq(mf->meta.finetuned, 1);
    ck_assert_int_eq(mf->meta.finetune_steps, 8);
    ck_assert_int_eq(mf->backbone.n, 2);
    ck_assert_int_eq(mf->head.present, 1);
    ck_assert_int_eq(mf->head.in_dim, IN);
    ck_assert_int_eq(mf->head.out_dim, OUT);
    ck_assert_int_eq(mf->head.weight[7].dims[1], 6 * OUT);
    vi__model_file_free(mf);
}
END_TEST

/* The defect of 0.3: a head with dmi.sub* and dmi.fuse but no dmi.aux.weight loaded as "no
 * head". Every one of the 16 head tensors, left out alone, is now named in the refusal. */
START_TEST(test_a_partial_head_is_refused_naming_the_missing_tensor) {
    for (int l = 0; l < 8; l++)
        for (int bias = 0; bias < 2; bias++) {
            char name[64];
            head_name(l, bias, name, sizeof name);
            const struct damage d = {.skip = name};
            char what[100];
            snprintf(what, sizeof what, "'%s' is missing", name);
            expect_refused(&d, what);
        }
}
END_TEST

START_TEST(test_damaged_parts_are_refused) {
    expect_refused(&(struct damage){.reshape = "dmi.sub3.weight"}, "dmi.sub3.weight");
    expect_refused(&(struct damage){.reshape = "dmi.fuse.bias"}, "dmi.fuse.bias");
    expect_refused(&(struct damage){.reshape = "dmi.aux.weight"}, "dmi.");
    expect_refused(&(struct damage){.nan = "dmi.sub0.bias"}, "NaN");
    expect_refused(&(struct damage){.extra = "dmi.sub6.weight"}, "dmi.sub6.weight");
    expect_refused(&(struct damage){.extra = "calib.scale"}, "calib.scale");
    expect_refused(&(struct damage){.skip = "name"}, "name");
    expect_refused(&(struct damage){.skip = "kind"}, "kind");
    expect_refused(&(struct damage){.skip = "backbone"}, "backbone");
    expect_refused(&(struct damage){.skip = "input_size"}, "input_size");
    expect_refused(&(struct damage){.mirror = 2}, "mirror_average");
    expect_refused(&(struct damage){.finetune_keys = 2}, "fine-tuning");
    /* a headless model is a model */
    size_t n;
    uint8_t *buf = tiny_model(&(struct damage){0}, 0, &n);
    vi__model_file *mf;
    ck_assert_int_eq(vi__model_file_parse(buf, n, &mf), VI_OK);
    ck_assert_int_eq(mf->head.present, 0);
    vi__model_file_free(mf);
    /* every truncation of the file fails cleanly */
    for (size_t cut = 0; cut < n; cut += 7) {
        ck_assert_int_eq(vi__model_file_parse(buf, cut, &mf), VI_E_BAD_MODEL);
        ck_assert_ptr_null(mf);
    }
    vi__free(buf);
}
END_TEST

/* ---- the calibration block ---------------------------------------------------------------- */

/* A tiny model with a fitted calibration (written by the module's own writer), encoded. */
static uint8_t *calibrated_tiny_model(size_t *n) {
    uint8_t *buf = tiny_model(&(struct damage){0}, 1, n);
    vi__model_file *mf;
    ck_assert_int_eq(vi__model_file_parse(buf, *n, &mf), VI_OK);
    vi__free(buf);
    float bank[5 * OUT];
    for (int i = 0; i < 5 * OUT; i++) bank[i] = (float)(i % 3) * 0.5f - 0.5f;
    struct vi__calibration c = {.segment_w = {-3, 4, 2, 1, 0.5f}, .logit_none = -6,
                                .pair_w = {0.2f, 1.1f}, .search_w = {0.1f, 1.2f, -0.4f},
                                .segment_min = 0.3f, .threshold = 0.6f};
    ck_assert_int_eq(vi__model_file_set_calibration(mf, bank, 5, OUT, 3, &c, "a test fit"), VI_OK);
    ck_assert_int_eq(vi__model_file_encode(mf, &buf, n), VI_OK);
    vi__model_file_free(mf);
    return buf;
}

/* The calibrated tiny model rewritten with one calibration entry changed: `drop` left out, or
 * the number `key` set to `value`. */
static uint8_t *rewrite(const uint8_t *in, size_t n_in, const char *drop, const char *key,
                        double value, size_t *n) {
    vi__doc *doc;
    ck_assert_int_eq(vi__doc_parse(in, n_in, VI__MAGIC_MODEL, VI_E_BAD_MODEL, &doc), VI_OK);
    vi__docw *w = vi__docw_create();
    const char *strs[] = {"kind", "backbone", "name", "description", "calibration.fit"};
    for (int i = 0; i < 5; i++)
        if (!drop || strcmp(drop, strs[i]) != 0) vi__docw_str(w, strs[i], vi__doc_str(doc, strs[i]));
    const char *ints[] = {"input_size", "mirror_average", "calibration.bank_k", "calibration.id",
                          "calibration.bank_crc"};
    for (int i = 0; i < 5; i++) {
        int64_t v;
        ck_assert(vi__doc_i64(doc, ints[i], &v));
        if (key && strcmp(key, ints[i]) == 0) v = (int64_t)value;
        if (!drop || strcmp(drop, ints[i]) != 0) vi__docw_i64(w, ints[i], v);
    }
    const char *reals[] = {"calibration.logit_none", "calibration.segment_min",
                           "calibration.threshold"};
    for (int i = 0; i < 3; i++) {
        double v;
        ck_assert(vi__doc_f64(doc, reals[i], &v));
        if (key && strcmp(key, reals[i]) == 0) v = value;
        if (!drop || strcmp(drop, reals[i]) != 0) vi__docw_f64(w, reals[i], v);
    }
    for (int32_t i = 0; i < vi__doc_tensor_count(doc); i++) {
        const vi__tensor *t = vi__doc_tensor_at(doc, i);
        if (!drop || strcmp(drop, t->name) != 0) vi__docw_tensor(w, t);
    }
    uint8_t *out;
    ck_assert_int_eq(vi__docw_finish(w, VI__MAGIC_MODEL, &out, n), VI_OK);
    vi__doc_free(doc);
    return out;
}

static void expect_calibration_refused(const uint8_t *good, size_t n_good, const char *drop,
                                       const char *key, double value, const char *what) {
    size_t n;
    uint8_t *buf = rewrite(good, n_good, drop, key, value, &n);
    vi__model_file *mf = (vi__model_file *)1;
    ck_assert_int_eq(vi__model_file_parse(buf, n, &mf), VI_E_BAD_MODEL);
    ck_assert_ptr_null(mf);
    ck_assert_msg(strstr(vi_last_error(), what) != NULL, "'%s' not in: %s", what, vi_last_error());
    vi__free(buf);
}

START_TEST(test_a_calibration_block_is_read_back_and_checked_whole) {
    size_t n;
    uint8_t *good = calibrated_tiny_model(&n);
    vi__model_file *mf;
    /* unchanged, the block reads back with every constant */
    uint8_t *same = rewrite(good, n, NULL, NULL, 0, &n);
    ck_assert_msg(vi__model_file_parse(same, n, &mf) == VI_OK, "%s", vi_last_error());
    vi__free(same);
    ck_assert_uint_ne(mf->calibration.calib.id, 0);
    ck_assert_int_eq(mf->calibration.bank_k, 3);
    ck_assert_int_eq(mf->calibration.bank.dims[0], 5);
    ck_assert(fabsf(mf->calibration.calib.threshold - 0.6f) < 1e-6f);
    ck_assert(fabsf(mf->calibration.calib.search_w[2] + 0.4f) < 1e-6f);
    ck_assert_str_eq(mf->calibration.fit, "a test fit");
    /* the calibration is not part of the model's embedding identity */
    const uint32_t with = vi__model_file_embedding_crc(mf);
    vi__model_file_free(mf);
    uint8_t *plain = tiny_model(&(struct damage){0}, 1, &n);
    ck_assert_int_eq(vi__model_file_parse(plain, n, &mf), VI_OK);
    vi__free(plain);
    ck_assert_uint_eq(mf->calibration.calib.id, 0); /* no block: uncalibrated, not an error */
    ck_assert_uint_eq(vi__model_file_embedding_crc(mf), with);
    vi__model_file_free(mf);
    size_t n_good;
    vi__free(good);
    good = calibrated_tiny_model(&n_good);
    /* missing entries */
    const char *keys[] = {"calibration.id", "calibration.bank_crc", "calibration.segment_w",
                          "calibration.pair_w", "calibration.search_w", "calibration.logit_none",
                          "calibration.segment_min", "calibration.threshold",
                          "calibration.bank", "calibration.bank_k"};
    for (int i = 0; i < 10; i++) {
        expect_calibration_refused(good, n_good, keys[i], NULL, 0, keys[i]);
    }
    /* out of range */
    expect_calibration_refused(good, n_good, NULL, "calibration.threshold", 1.5,
                               "calibration.threshold");
    expect_calibration_refused(good, n_good, NULL, "calibration.segment_min", -0.1,
                               "calibration.segment_min");
    expect_calibration_refused(good, n_good, NULL, "calibration.logit_none", NAN,
                               "calibration.logit_none");
    expect_calibration_refused(good, n_good, NULL, "calibration.bank_k", 0, "calibration.bank_k");
    expect_calibration_refused(good, n_good, NULL, "calibration.bank_k", 6, "calibration.bank_k");
    /* a changed constant no longer matches the id; a changed bank its checksum */
    expect_calibration_refused(good, n_good, NULL, "calibration.threshold", 0.5,
                               "do not match its id");
    expect_calibration_refused(good, n_good, NULL, "calibration.bank_crc", 12345,
                               "do not match its id");
    /* every truncation fails cleanly */
    for (size_t cut = 0; cut < n_good; cut += 5) {
        mf = (vi__model_file *)1;
        ck_assert_int_eq(vi__model_file_parse(good, cut, &mf), VI_E_BAD_MODEL);
        ck_assert_ptr_null(mf);
    }
    vi__free(good);
}
END_TEST

static uint8_t *read_source(const char *name, size_t *n) {
    FILE *f = fopen(vi_test_source(name), "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    uint8_t *b = malloc((size_t)len);
    ck_assert(b && fread(b, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void assert_same_tensor(const vi__tensor *a, const vi__tensor *b) {
    ck_assert_str_eq(a->name, b->name);
    ck_assert_int_eq(a->dtype, b->dtype);
    ck_assert_int_eq(a->ndim, b->ndim);
    ck_assert_mem_eq(a->dims, b->dims, sizeof a->dims);
    ck_assert_uint_eq(a->nbytes, b->nbytes);
    ck_assert(memcmp(a->data, b->data, a->nbytes) == 0);
}

/* The shipped model: read, written back, read again: every part the same, bit for bit. */
START_TEST(test_the_default_model_survives_a_round_trip) {
    size_t n;
    uint8_t *buf = read_source("models/default.vimodel", &n);
    vi__model_file *a, *b;
    ck_assert_msg(vi__model_file_parse(buf, n, &a) == VI_OK, "%s", vi_last_error());
    free(buf);
    ck_assert_int_eq(a->head.present, 1);
    ck_assert_int_gt(a->backbone.n, 200);
    uint8_t *out;
    ck_assert_int_eq(vi__model_file_encode(a, &out, &n), VI_OK);
    ck_assert_msg(vi__model_file_parse(out, n, &b) == VI_OK, "%s", vi_last_error());
    vi__free(out);
    ck_assert_str_eq(a->meta.name, b->meta.name);
    ck_assert_str_eq(a->meta.description, b->meta.description);
    ck_assert_str_eq(a->meta.license, b->meta.license);
    ck_assert_str_eq(a->meta.source, b->meta.source);
    ck_assert_int_eq(a->meta.input_size, b->meta.input_size);
    ck_assert_int_eq(a->meta.mirror_average, b->meta.mirror_average);
    ck_assert_int_eq(a->backbone.n, b->backbone.n);
    for (int32_t i = 0; i < a->backbone.n; i++)
        assert_same_tensor(&a->backbone.tensors[i], &b->backbone.tensors[i]);
    for (int l = 0; l < VI__DMI_LAYERS; l++) {
        assert_same_tensor(&a->head.weight[l], &b->head.weight[l]);
        assert_same_tensor(&a->head.bias[l], &b->head.bias[l]);
    }
    vi__model_file_free(a);
    vi__model_file_free(b);
}
END_TEST

/* What the trainers do: a derived model keeps the metadata and backbone, loses the old head,
 * gets a new one (all layers, or the file is not written) and replaced backbone tensors. */
START_TEST(test_a_derived_model_has_only_what_its_writer_gave_it) {
    size_t n;
    uint8_t *buf = tiny_model(&(struct damage){.mirror = 1}, 1, &n);
    vi__model_file *mf, *back;
    ck_assert_int_eq(vi__model_file_parse(buf, n, &mf), VI_OK);
    vi__free(buf);
    vi__model_file_clear_head(mf);
    ck_assert_int_eq(mf->head.present, 0);
    ck_assert_int_eq(vi__model_file_encode(mf, &buf, &n), VI_OK);
    ck_assert_int_eq(vi__model_file_parse(buf, n, &back), VI_OK);
    vi__free(buf);
    ck_assert_int_eq(back->head.present, 0);
    ck_assert_int_eq(back->meta.mirror_average, 1);
    vi__model_file_free(back);
    /* a head with a layer unset is refused by the writer */
    static float w[OUT * 6 * OUT], bias[OUT];
    for (int l = 0; l < 7; l++)
        vi__model_file_set_head_layer(mf, l, w, bias, OUT, l == 7 ? 6 * OUT : IN);
    ck_assert_int_eq(vi__model_file_encode(mf, &buf, &n), VI_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "dmi.fuse.weight"));
    vi__model_file_set_head_layer(mf, 7, w, bias, OUT, 6 * OUT);
    /* a backbone tensor replaced by a float32 copy, another added */
    const float k[6] = {1, 2, 3, 4, 5, 6};
    vi__named_f32 t = {.name = "conv/kernel", .data = k, .ndim = 2, .dims = {3, 2}};
    ck_assert_int_eq(vi__model_file_put_backbone(mf, &t), VI_OK);
    t.name = "conv2/kernel";
    ck_assert_int_eq(vi__model_file_put_backbone(mf, &t), VI_OK);
    mf->meta.name = "tiny-derived";
    ck_assert_int_eq(vi__model_file_encode(mf, &buf, &n), VI_OK);
    ck_assert_int_eq(vi__model_file_parse(buf, n, &back), VI_OK);
    vi__free(buf);
    ck_assert_str_eq(back->meta.name, "tiny-derived");
    ck_assert_int_eq(back->head.present, 1);
    ck_assert_int_eq(back->backbone.n, 3);
    ck_assert_str_eq(back->backbone.tensors[0].name, "conv/kernel");
    ck_assert(memcmp(back->backbone.tensors[0].data, k, sizeof k) == 0);
    vi__named_f32 *list;
    int32_t nl;
    ck_assert_int_eq(vi__model_file_backbone_f32(back, &list, &nl), VI_OK);
    ck_assert_int_eq(nl, 3);
    ck_assert_float_eq(list[2].data[5], 6.0f);
    vi__named_f32_free(list, nl);
    vi__model_file_free(back);
    vi__model_file_free(mf);
}
END_TEST

Suite *model_file_suite(void) {
    Suite *s = suite_create("model_file");
    TCase *tc = tcase_create("parts");
    tcase_set_timeout(tc, 60); /* fast, but a loaded machine starves forked tests */
    tcase_add_test(tc, test_every_part_of_a_tiny_model_is_read);
    tcase_add_test(tc, test_a_partial_head_is_refused_naming_the_missing_tensor);
    tcase_add_test(tc, test_damaged_parts_are_refused);
    tcase_add_test(tc, test_a_derived_model_has_only_what_its_writer_gave_it);
    tcase_add_test(tc, test_a_calibration_block_is_read_back_and_checked_whole);
    suite_add_tcase(s, tc);
    tc = tcase_create("shipped");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_the_default_model_survives_a_round_trip);
    suite_add_tcase(s, tc);
    return s;
}
