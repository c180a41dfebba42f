/* The DMI losses of lib/train/train_dmi.cpp against values computed independently with numpy
 * (test/data/dmi_loss_ref.py -> test/data/dmi_loss_ref.json, read from $VI_SRCDIR): every NCE
 * term, D and M on the pair and negative batches, the total; and where the gradients go (M reaches
 * only the auxiliary head, D reaches the sub-feature heads and nothing else). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "train/train_dmi.h"

#define MAXV 512

static char *json;
static double ref_val[MAXV];

static void load_ref(void) {
    const char *dir = getenv("VI_SRCDIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/test/data/dmi_loss_ref.json", dir ? dir : ".");
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    json = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(json);
    ck_assert_int_eq(fread(json, 1, (size_t)n, f), (size_t)n);
    json[n] = 0;
    fclose(f);
}

static void free_ref(void) {
    free(json);
    json = NULL;
}

/* The numbers of top-level key `key` (a number or nested arrays of numbers, flattened) into
 * out[cap]; returns how many. */
static int ref_numbers(const char *key, double *out, int cap) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    ck_assert_msg(p != NULL, "key %s missing from the reference", key);
    p += strlen(pat);
    int depth = 0, n = 0;
    for (;;) {
        while (*p == ' ' || *p == '\n' || *p == ',') p++;
        if (*p == '[') {
            depth++;
            p++;
        } else if (*p == ']') {
            depth--;
            p++;
            if (depth == 0) break;
        } else {
            char *end;
            double v = strtod(p, &end);
            ck_assert_msg(end != p, "bad number in %s", key);
            ck_assert_int_lt(n, cap);
            out[n++] = v;
            p = end;
            if (depth == 0) break;
        }
    }
    return n;
}

static double ref1(const char *key) {
    ck_assert_int_eq(ref_numbers(key, ref_val, 1), 1);
    return ref_val[0];
}

static float *ref_floats(const char *key, int expect) {
    int n = ref_numbers(key, ref_val, MAXV);
    ck_assert_int_eq(n, expect);
    float *f = malloc(sizeof(float) * (size_t)n);
    for (int i = 0; i < n; i++) f[i] = (float)ref_val[i];
    return f;
}

/* Build the head with the reference weights and inputs. */
struct problem {
    vi__dmi *dmi;
    int B, M;
    float *xa, *xp, *xn;
};

static void problem_make(struct problem *pb) {
    pb->B = (int)ref1("B");
    pb->M = (int)ref1("M");
    const int din = (int)ref1("in_dim"), dout = (int)ref1("out_dim");
    ck_assert_int_eq(vi__dmi_create(din, dout, 1, 1e-3, 0, &pb->dmi), VI_OK);
    pb->xa = ref_floats("anchor", pb->B * din);
    pb->xp = ref_floats("positive", pb->B * din);
    pb->xn = ref_floats("negative", pb->M * din);
    double *w = malloc(sizeof(double) * 8 * 6 * 64);
    int nw = ref_numbers("weights", w, 8 * 6 * 64);
    ck_assert_int_eq(nw, 7 * dout * din + dout * 6 * dout);
    double b[8 * 64];
    ck_assert_int_eq(ref_numbers("biases", b, 8 * 64), 8 * dout);
    float wf[6 * 64 * 64], bf[64];
    int off = 0;
    for (int l = 0; l < VI__DMI_LAYERS; l++) {
        const int fan = l == VI__DMI_FUSE ? 6 * dout : din;
        for (int i = 0; i < dout * fan; i++) wf[i] = (float)w[off + i];
        off += dout * fan;
        for (int i = 0; i < dout; i++) bf[i] = (float)b[l * dout + i];
        ck_assert_int_eq(vi__dmi_set(pb->dmi, l, wf, bf), VI_OK);
        /* read back what was set */
        float back[6 * 64 * 64];
        ck_assert_int_eq(vi__dmi_get(pb->dmi, l, back, NULL), VI_OK);
        ck_assert(memcmp(back, wf, sizeof(float) * (size_t)(dout * fan)) == 0);
    }
    free(w);
}

static void problem_free(struct problem *pb) {
    vi__dmi_free(pb->dmi);
    free(pb->xa);
    free(pb->xp);
    free(pb->xn);
}

static void near(const char *what, double got, double want) {
    const double tol = 2e-4 * (1.0 + fabs(want)); /* float32 against float64 */
    ck_assert_msg(fabs(got - want) <= tol, "%s: got %.9g, numpy %.9g", what, got, want);
}

START_TEST(test_terms_match_numpy) {
    struct problem pb;
    problem_make(&pb);
    vi__dmi_terms t;
    ck_assert_int_eq(vi__dmi_eval(pb.dmi, pb.xa, pb.xp, pb.B, pb.xn, pb.M, VI__DMI_GRAD_NONE, &t,
                                  NULL), VI_OK);
    double subs[6];
    ck_assert_int_eq(ref_numbers("nce_sub", subs, 6), 6);
    for (int k = 0; k < 6; k++) {
        char name[32];
        snprintf(name, sizeof name, "NCE(s_%d)", k + 1);
        near(name, t.nce_sub[k], subs[k]);
    }
    near("NCE(a)", t.nce_aux, ref1("nce_aux"));
    near("NCE(c)", t.nce_cat, ref1("nce_cat"));
    near("NCE(f)", t.nce_f, ref1("nce_f"));
    near("sum of NCE", t.nce, ref1("nce"));
    near("D on pairs", t.d_pair, ref1("d_pair"));
    near("M on pairs", t.m_pair, ref1("m_pair"));
    near("D on negatives", t.d_neg, ref1("d_neg"));
    near("M on negatives", t.m_neg, ref1("m_neg"));
    near("total", t.total, ref1("total"));
    /* the reference is not degenerate: the terms differ and D is far from 0 */
    ck_assert(t.d_pair > 1.0 && t.nce_sub[0] != t.nce_sub[1]);
    problem_free(&pb);
}
END_TEST

START_TEST(test_m_reaches_only_the_auxiliary_head) {
    struct problem pb;
    problem_make(&pb);
    vi__dmi_terms t;
    double g[VI__DMI_LAYERS];
    ck_assert_int_eq(vi__dmi_eval(pb.dmi, pb.xa, pb.xp, pb.B, pb.xn, pb.M, VI__DMI_GRAD_M, &t, g),
                     VI_OK);
    for (int l = 0; l < VI__DMI_LAYERS; l++) {
        if (l == VI__DMI_AUX)
            ck_assert_msg(g[l] > 1e-6, "M's gradient on the auxiliary head is %g", g[l]);
        else
            ck_assert_msg(g[l] == 0.0, "M's gradient reaches layer %d (norm %g)", l, g[l]);
    }
    problem_free(&pb);
}
END_TEST

START_TEST(test_d_reaches_the_sub_heads) {
    struct problem pb;
    problem_make(&pb);
    vi__dmi_terms t;
    double g[VI__DMI_LAYERS];
    ck_assert_int_eq(vi__dmi_eval(pb.dmi, pb.xa, pb.xp, pb.B, pb.xn, pb.M, VI__DMI_GRAD_D, &t, g),
                     VI_OK);
    for (int l = 0; l < 6; l++)
        ck_assert_msg(g[l] > 1e-6, "D's gradient on sub-head %d is %g", l, g[l]);
    ck_assert_msg(g[VI__DMI_AUX] == 0.0 && g[VI__DMI_FUSE] == 0.0,
                  "D's gradient reaches aux (%g) or fusion (%g)", g[VI__DMI_AUX], g[VI__DMI_FUSE]);
    /* the total's gradient reaches every layer */
    ck_assert_int_eq(vi__dmi_eval(pb.dmi, pb.xa, pb.xp, pb.B, pb.xn, pb.M, VI__DMI_GRAD_TOTAL, &t,
                                  g), VI_OK);
    for (int l = 0; l < VI__DMI_LAYERS; l++) ck_assert_msg(g[l] > 1e-6, "total: layer %d", l);
    problem_free(&pb);
}
END_TEST

START_TEST(test_steps_lower_the_loss_and_bad_input_fails) {
    struct problem pb;
    problem_make(&pb);
    vi__dmi_terms t0, t;
    ck_assert_int_eq(vi__dmi_eval(pb.dmi, pb.xa, pb.xp, pb.B, pb.xn, pb.M, 0, &t0, NULL), VI_OK);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(vi__dmi_step(pb.dmi, pb.xa, pb.xp, pb.B, pb.xn, pb.M, &t), VI_OK);
    ck_assert_int_eq(vi__dmi_eval(pb.dmi, pb.xa, pb.xp, pb.B, pb.xn, pb.M, 0, &t, NULL), VI_OK);
    ck_assert_msg(t.total < t0.total, "50 Adam steps: %g -> %g", t0.total, t.total);
    /* no negatives: D and M on the negative batch are 0 */
    ck_assert_int_eq(vi__dmi_eval(pb.dmi, pb.xa, pb.xp, pb.B, NULL, 0, 0, &t, NULL), VI_OK);
    ck_assert(t.d_neg == 0.0 && t.m_neg == 0.0 && t.d_pair > 0.0);
    ck_assert_int_eq(vi__dmi_eval(pb.dmi, pb.xa, pb.xp, 0, NULL, 0, 0, &t, NULL),
                     VI_E_INVALID_ARG);
    ck_assert_int_eq(vi__dmi_get(pb.dmi, 8, NULL, NULL), VI_E_INVALID_ARG);
    ck_assert(strstr(vi_last_error(), "layer") != NULL);
    ck_assert_int_eq(vi__dmi_set_lr(pb.dmi, 0), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi__dmi_set_lr(pb.dmi, 1e-4), VI_OK);
    problem_free(&pb);
}
END_TEST

Suite *dmi_loss_suite(void) {
    Suite *s = suite_create("dmi_loss");
    TCase *tc = tcase_create("dmi_loss");
    tcase_add_checked_fixture(tc, load_ref, free_ref);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_terms_match_numpy);
    tcase_add_test(tc, test_m_reaches_only_the_auxiliary_head);
    tcase_add_test(tc, test_d_reaches_the_sub_heads);
    tcase_add_test(tc, test_steps_lower_the_loss_and_bad_input_fails);
    suite_add_tcase(s, tc);
    return s;
}
