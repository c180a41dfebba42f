/* The backbone port against the original: models/mobilenet_v2.vimodel (converted from nsfwjs by
 * models/convert_nsfwjs.mjs) is loaded through the container parser, built by lib/backbone
 * and run on two real photographs; its activations must match those TensorFlow.js computed with
 * the original nsfwjs model (test/data/backbone_ref/activations.txt, made by
 * models/make_backbone_reference.mjs).
 *
 * Tolerance: for every layer compared, the largest absolute difference over the recorded values
 * must stay below kRelTol times the layer's activation scale (its largest |activation|, recorded
 * by the reference). The two implementations differ only in float32 summation order, in batch
 * norm being folded into the convolutions here, and in the dequantisation of the uint8 weights
 * (TF.js computes q * scale + min in double from the manifest's doubles, the container keeps
 * float32 scale and min); all of these are far below 1e-4 of the scale.
 *
 * libtorch is only touched inside the tests (Check forks each one), never in the parent. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "formats/formats.h"
#include "backbone/backbone.h"

#define SIZE 224
#define IMAGE_BYTES (SIZE * SIZE * 3)

static const double kRelTol = 1e-4;

/* ---- fixtures: files from the source tree ---- */

static char *src_path(const char *rel) {
    const char *root = getenv("VI_SRCDIR");
    ck_assert_msg(root != NULL, "VI_SRCDIR is not set");
    size_t n = strlen(root) + strlen(rel) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", root, rel);
    return p;
}

static uint8_t *read_all(const char *rel, size_t *size) {
    char *path = src_path(rel);
    uint8_t *data = NULL;
    vi_status st = vi__read_file(path, &data, size, 0);
    ck_assert_msg(st == VI_OK, "reading %s: %s", path, vi_last_error());
    free(path);
    return data;
}

static uint8_t *read_image(const char *name) {
    char rel[128];
    snprintf(rel, sizeof rel, "test/data/backbone_ref/%s.rgb", name);
    size_t n = 0;
    uint8_t *rgb = read_all(rel, &n);
    ck_assert_uint_eq(n, IMAGE_BYTES);
    return rgb;
}

/* The model's tensors, dequantised to float32 as the library's loader hands them to the shim
 * (every tensor except the head's "dmi.*"). `skip` names a tensor to leave out. */
typedef struct loaded {
    vi__doc *doc;
    vi__named_f32 *t;
    float **buf;
    int32_t n;
} loaded;

static loaded load_model(const char *skip) {
    size_t size = 0;
    uint8_t *bytes = read_all("models/mobilenet_v2.vimodel", &size);
    loaded L = {0};
    vi_status st = vi__doc_parse(bytes, size, VI__MAGIC_MODEL, VI_E_BAD_MODEL, &L.doc);
    ck_assert_msg(st == VI_OK, "parsing mobilenet_v2.vimodel: %s", vi_last_error());
    vi__free(bytes);
    ck_assert_str_eq(vi__doc_str(L.doc, "backbone"), "mobilenet_v2");
    int64_t input_size = 0;
    ck_assert(vi__doc_i64(L.doc, "input_size", &input_size));
    ck_assert_int_eq(input_size, SIZE);

    int32_t count = vi__doc_tensor_count(L.doc);
    ck_assert_int_gt(count, 0);
    L.t = calloc((size_t)count, sizeof *L.t);
    L.buf = calloc((size_t)count, sizeof *L.buf);
    ck_assert(L.t && L.buf);
    for (int32_t i = 0; i < count; i++) {
        const vi__tensor *t = vi__doc_tensor_at(L.doc, i);
        ck_assert_msg(strncmp(t->name, "dmi.", 4) != 0, "backbone file holds head tensor %s",
                      t->name);
        if (skip && strcmp(t->name, skip) == 0) {
            continue;
        }
        float *f = malloc(sizeof(float) * (size_t)(vi__tensor_numel(t) + 1));
        ck_assert_ptr_nonnull(f);
        vi__tensor_to_f32(t, f);
        vi__named_f32 *o = &L.t[L.n];
        o->name = t->name;
        o->data = f;
        o->ndim = t->ndim;
        memcpy(o->dims, t->dims, sizeof o->dims);
        L.buf[L.n++] = f;
    }
    return L;
}

static void unload(loaded *L) {
    for (int32_t i = 0; i < L->n; i++) {
        free(L->buf[i]);
    }
    free(L->buf);
    free(L->t);
    vi__doc_free(L->doc);
}

static vi__net *make_net(void) {
    loaded L = load_model(NULL);
    vi__net *net = NULL;
    vi_status st = vi__net_create(L.t, L.n, &net);
    ck_assert_msg(st == VI_OK, "vi__net_create: %s", vi_last_error());
    unload(&L); /* the net keeps its own copies */
    return net;
}

/* ---- the reference file ---- */

typedef struct record {
    char image[32], layer[64], kind[8];
    int y, x, c;
    double value;
} record;

static record *read_records(int *n_out) {
    char *path = src_path("test/data/backbone_ref/activations.txt");
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    int cap = 8192, n = 0;
    record *r = malloc(sizeof *r * (size_t)cap);
    ck_assert_ptr_nonnull(r);
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') {
            continue;
        }
        if (n == cap) {
            cap *= 2;
            r = realloc(r, sizeof *r * (size_t)cap);
            ck_assert_ptr_nonnull(r);
        }
        record *q = &r[n];
        ck_assert_msg(sscanf(line, "%31s %63s %7s %d %d %d %lf", q->image, q->layer, q->kind,
                             &q->y, &q->x, &q->c, &q->value) == 7,
                      "bad line in %s: %s", path, line);
        n++;
    }
    fclose(f);
    free(path);
    ck_assert_int_gt(n, 1000);
    *n_out = n;
    return r;
}

/* ---- tests ---- */

/* Every layer recorded for every image: shape, per-channel means and point values. */
START_TEST(test_activations_match_tfjs_reference) {
    int n_rec = 0;
    record *rec = read_records(&n_rec);
    vi__net *net = make_net();
    const int64_t cap = (int64_t)112 * 112 * 96;
    float *act = malloc(sizeof(float) * (size_t)cap);
    float *input = malloc(sizeof(float) * IMAGE_BYTES);
    double *mean = malloc(sizeof(double) * 1280);
    ck_assert(act && input && mean);
    int layers_checked = 0, values_checked = 0;

    for (int i = 0; i < n_rec;) {
        /* One (image, layer) group: it starts with "shape" then "absmax". */
        const record *g = &rec[i];
        ck_assert_str_eq(g->kind, "shape");
        ck_assert_str_eq(rec[i + 1].kind, "absmax");
        const double scale = rec[i + 1].value;
        ck_assert_double_gt(scale, 0.0);

        uint8_t *rgb = read_image(g->image);
        for (int k = 0; k < IMAGE_BYTES; k++) {
            input[k] = (float)rgb[k] / 255.0f; /* as nsfwjs: toFloat().div(255) */
        }
        free(rgb);
        int64_t count = 0, shape[4] = {0};
        vi_status st = vi__net_activation(net, input, 1, SIZE, SIZE, g->layer, act, cap, &count,
                                          shape);
        ck_assert_msg(st == VI_OK, "layer %s: %s", g->layer, vi_last_error());
        ck_assert_msg(shape[0] == 1 && shape[1] == g->y && shape[2] == g->x && shape[3] == g->c,
                      "layer %s: shape %lldx%lldx%lld, reference %dx%dx%d", g->layer,
                      (long long)shape[1], (long long)shape[2], (long long)shape[3], g->y, g->x,
                      g->c);
        const int H = g->y, W = g->x, C = g->c;
        ck_assert_int_eq(count, (int64_t)H * W * C);
        for (int c = 0; c < C; c++) {
            mean[c] = 0;
        }
        for (int64_t k = 0; k < count; k++) {
            mean[k % C] += act[k];
        }

        double max_err = 0;
        int j = i + 2;
        for (; j < n_rec && strcmp(rec[j].image, g->image) == 0 &&
               strcmp(rec[j].layer, g->layer) == 0;
             j++) {
            const record *r = &rec[j];
            double ours;
            if (strcmp(r->kind, "mean") == 0) {
                ck_assert(r->c >= 0 && r->c < C);
                ours = mean[r->c] / (H * W);
            } else {
                ck_assert_str_eq(r->kind, "at");
                ck_assert(r->y >= 0 && r->y < H && r->x >= 0 && r->x < W && r->c >= 0 &&
                          r->c < C);
                ours = act[((int64_t)r->y * W + r->x) * C + r->c];
            }
            double err = fabs(ours - r->value);
            if (err > max_err) {
                max_err = err;
            }
            values_checked++;
        }
        ck_assert_msg(max_err <= kRelTol * scale,
                      "%s %s: max abs error %.3g exceeds %.1g x scale %.4g", g->image, g->layer,
                      max_err, kRelTol, scale);
        layers_checked++;
        i = j;
    }
    ck_assert_int_ge(layers_checked, 20);
    ck_assert_int_gt(values_checked, 5000);
    free(mean);
    free(input);
    free(act);
    vi__net_free(net);
    free(rec);
}
END_TEST

static double dot(const float *a, const float *b, int32_t n) {
    double s = 0;
    for (int32_t i = 0; i < n; i++) {
        s += (double)a[i] * b[i];
    }
    return s;
}

/* Features of baboon, baboon, fruits in one batch, and of baboon alone. */
START_TEST(test_features_are_unit_length_and_deterministic) {
    vi__net *net = make_net();
    const int32_t dim = vi__net_feature_dim(net);
    ck_assert_int_eq(dim, 1856);
    uint8_t *baboon = read_image("baboon");
    uint8_t *fruits = read_image("fruits");
    uint8_t *batch = malloc(3 * IMAGE_BYTES);
    float *f = malloc(sizeof(float) * 4 * (size_t)dim);
    ck_assert(batch && f);
    memcpy(batch, baboon, IMAGE_BYTES);
    memcpy(batch + IMAGE_BYTES, baboon, IMAGE_BYTES);
    memcpy(batch + 2 * IMAGE_BYTES, fruits, IMAGE_BYTES);
    vi_status st = vi__net_features(net, batch, 3, SIZE, f);
    ck_assert_msg(st == VI_OK, "%s", vi_last_error());
    st = vi__net_features(net, baboon, 1, SIZE, f + 3 * dim);
    ck_assert_msg(st == VI_OK, "%s", vi_last_error());

    for (int k = 0; k < 4; k++) {
        const float *v = f + k * dim;
        for (int32_t i = 0; i < dim; i++) {
            ck_assert_msg(isfinite(v[i]) && v[i] >= 0.0f, "feature %d[%d] = %g", k, i, v[i]);
        }
        ck_assert_double_eq_tol(dot(v, v, dim), 1.0, 1e-5);
        /* each part (out_relu: 1280, block_13_expand_relu: 576) carries half the energy */
        ck_assert_double_eq_tol(dot(v, v, 1280), 0.5, 1e-5);
    }
    /* the same image twice in a batch: bitwise equal */
    ck_assert_int_eq(memcmp(f, f + dim, sizeof(float) * (size_t)dim), 0);
    /* alone vs in a batch: equal up to rounding */
    for (int32_t i = 0; i < dim; i++) {
        ck_assert_float_eq_tol(f[i], f[3 * dim + i], 1e-5f);
    }
    /* a different photograph: clearly different, yet not orthogonal (features are >= 0) */
    const double cos_bf = dot(f, f + 2 * dim, dim);
    ck_assert_msg(cos_bf < 0.95 && cos_bf > 0.0, "cos(baboon, fruits) = %g", cos_bf);

    free(f);
    free(batch);
    free(fruits);
    free(baboon);
    vi__net_free(net);
}
END_TEST

/* The features must agree with the activation path: pooling the reference-checked out_relu by
 * hand gives the first part of the feature. */
START_TEST(test_feature_is_gem_of_out_relu) {
    vi__net *net = make_net();
    const int32_t dim = vi__net_feature_dim(net);
    uint8_t *rgb = read_image("fruits");
    float *input = malloc(sizeof(float) * IMAGE_BYTES);
    float *act = malloc(sizeof(float) * 7 * 7 * 1280);
    float *f = malloc(sizeof(float) * (size_t)dim);
    double *g = calloc(1280, sizeof(double));
    ck_assert(input && act && f && g);
    for (int k = 0; k < IMAGE_BYTES; k++) {
        input[k] = (float)rgb[k] / 255.0f;
    }
    int64_t count = 0, shape[4];
    ck_assert_int_eq(vi__net_activation(net, input, 1, SIZE, SIZE, "out_relu", act, 7 * 7 * 1280,
                                        &count, shape),
                     VI_OK);
    ck_assert_int_eq(vi__net_features(net, rgb, 1, SIZE, f), VI_OK);
    double norm = 0;
    for (int c = 0; c < 1280; c++) {
        for (int p = 0; p < 49; p++) {
            double v = fmax(act[p * 1280 + c], 1e-6);
            g[c] += v * v * v / 49.0;
        }
        g[c] = cbrt(g[c]);
        norm += g[c] * g[c];
    }
    norm = sqrt(norm);
    for (int c = 0; c < 1280; c++) {
        ck_assert_double_eq_tol(f[c], g[c] / norm / sqrt(2.0), 1e-5);
    }
    free(g);
    free(f);
    free(act);
    free(input);
    free(rgb);
    vi__net_free(net);
}
END_TEST

START_TEST(test_missing_tensor_is_bad_model) {
    const char *gone = "block_7_project_BN/moving_variance";
    loaded L = load_model(gone);
    vi__net *net = (vi__net *)&L; /* must be reset to NULL */
    vi_status st = vi__net_create(L.t, L.n, &net);
    ck_assert_int_eq(st, VI_E_BAD_MODEL);
    ck_assert_ptr_null(net);
    ck_assert_msg(strstr(vi_last_error(), gone) != NULL, "message: %s", vi_last_error());
    unload(&L);
}
END_TEST

START_TEST(test_misshapen_tensor_is_bad_model) {
    loaded L = load_model(NULL);
    int found = 0;
    for (int32_t i = 0; i < L.n; i++) {
        if (strcmp(L.t[i].name, "block_3_expand/kernel") == 0) {
            L.t[i].dims[3] -= 1; /* 144 -> 143 output channels; the data is only shortened */
            found = 1;
        }
    }
    ck_assert(found);
    vi__net *net = NULL;
    ck_assert_int_eq(vi__net_create(L.t, L.n, &net), VI_E_BAD_MODEL);
    ck_assert_ptr_null(net);
    ck_assert_msg(strstr(vi_last_error(), "block_3_expand/kernel") != NULL, "message: %s",
                  vi_last_error());
    unload(&L);
}
END_TEST

START_TEST(test_bad_calls_are_rejected) {
    vi__net *net = make_net();
    float in[32 * 32 * 3] = {0};
    float out[16];
    int64_t count = -1, shape[4];
    ck_assert_int_eq(vi__net_activation(net, in, 1, 32, 32, "Conv1", out, 16, &count, shape),
                     VI_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "Conv1"));
    /* too small a buffer: fails but reports the size needed */
    ck_assert_int_eq(vi__net_activation(net, in, 1, 32, 32, "out_relu", out, 16, &count, shape),
                     VI_E_INVALID_ARG);
    ck_assert_int_eq(count, 1280);
    ck_assert_int_eq(shape[1] * shape[2] * shape[3], 1280);
    uint8_t px[8 * 8 * 3] = {0};
    float f[1856];
    ck_assert_int_eq(vi__net_features(net, px, 1, 8, f), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi__torch_set_threads(-1), VI_E_INVALID_ARG);
    vi__net_free(net);
    vi__net_free(NULL);
}
END_TEST

/* libtorch's own warnings (TORCH_WARN) go to the library's log, never to stderr. */
static char warned[512];
static int warned_level = -1;
static void catch_log(void *user, int32_t level, const char *msg) {
    (void)user;
    warned_level = level;
    snprintf(warned, sizeof warned, "%s", msg);
}

START_TEST(test_libtorch_warnings_reach_the_log) {
    char path[] = "/tmp/vi_stderr_XXXXXX";
    const int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    const int saved = dup(2);
    ck_assert_int_ge(dup2(fd, 2), 0);
    vi_log_set(catch_log, NULL);
    const vi_status st = vi__torch_warn("a test warning");
    vi_log_set(NULL, NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    const off_t written = lseek(fd, 0, SEEK_END);
    close(fd);
    unlink(path);
    ck_assert_int_eq(st, VI_OK);
    ck_assert_int_eq(warned_level, VI_LOG_WARN);
    ck_assert_msg(strstr(warned, "a test warning") != NULL, "log got: '%s'", warned);
    ck_assert_msg(written == 0, "%lld bytes went to stderr", (long long)written);
}
END_TEST

Suite *backbone_suite(void) {
    Suite *s = suite_create("backbone");
    TCase *tc = tcase_create("port");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_activations_match_tfjs_reference);
    tcase_add_test(tc, test_feature_is_gem_of_out_relu);
    suite_add_tcase(s, tc);
    tc = tcase_create("features");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_features_are_unit_length_and_deterministic);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_missing_tensor_is_bad_model);
    tcase_add_test(tc, test_misshapen_tensor_is_bad_model);
    tcase_add_test(tc, test_bad_calls_are_rejected);
    tcase_add_test(tc, test_libtorch_warnings_reach_the_log);
    suite_add_tcase(s, tc);
    return s;
}
