/* make check-oom: allocation-failure injection along the main paths. Each scenario runs once to
 * count the allocations it makes through the library's wrappers, then once more for every n,
 * with the n-th allocation failing (vi__fault_fail_alloc_at): every run must end with a clean
 * status (VI_OK, or VI_E_NOMEM with a message), never a crash, and, since this runs under
 * AddressSanitizer, LeakSanitizer fails the program at exit if any run leaked.
 *
 * Scenarios: model load (the model file parsed and validated, the net built), embed (a 2-s clip
 * decoded by FFmpeg, through the backbone and head), compare, and the index: add, search and
 * save in memory; create, add, flush, reopen, search on disk. Allocations made by FFmpeg,
 * libtorch and FAISS themselves are not counted (they do not go through the wrappers).
 *
 * The model of the model-load scenario is models/mobilenet_v2.vimodel's backbone (1.8 MB) with
 * a DMI head of 8-d output added here: the same parsing, validation, net building and head
 * folding as the default model (21 MB, mostly its 256-d head), several times faster, which keeps
 * the 600-odd runs within minutes.
 *
 *   oom_main FIXTURES_DIR SOURCE_DIR [SCENARIO]   (make check-oom sets everything up) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "head/head.h"
#include "model/model.h"
#include "vinfringe.h"

static const char *fixtures, *srcdir;
static char workdir[64];
static vi_model *model;
static uint8_t *small_model; /* mobilenet_v2's backbone + an 8-d DMI head */
static size_t small_model_size;
static vi_embedding *emb_a, *emb_b;

static const char *fixture(const char *name) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", fixtures, name);
    return path;
}

static const char *work(const char *name) {
    static char path[2][256];
    static int next;
    char *p = path[next++ % 2];
    snprintf(p, sizeof path[0], "%s/%s", workdir, name);
    return p;
}

static void clean_workdir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'/*", workdir);
    if (system(cmd) != 0) fprintf(stderr, "cannot clean %s\n", workdir);
}

/* ---- scenarios: each returns the first failing status ---- */

static vi_status s_model_load(void) {
    vi_model *m = NULL;
    vi_status st = vi_model_load_memory(small_model, small_model_size, &m);
    vi_model_free(m);
    return st;
}

/* The backbone of mobilenet_v2.vimodel with an 8-d head of seeded values. */
static vi_status make_small_model(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/models/mobilenet_v2.vimodel", srcdir);
    uint8_t *buf;
    size_t n;
    vi_status st = vi__read_file(path, &buf, &n, 0);
    vi__model_file *mf = NULL;
    if (st == VI_OK) st = vi__model_file_parse(buf, n, &mf);
    vi__free(buf);
    if (st != VI_OK) return st;
    enum { OUT = 8, IN = 1856 }; /* the backbone's two feature layers, 576 + 1280 */
    static float w[VI__DMI_LAYERS][OUT * IN], b[VI__DMI_LAYERS][OUT];
    unsigned seed = 7;
    for (int l = 0; l < VI__DMI_LAYERS; l++) {
        const int fan_in = l == VI__DMI_FUSE ? VI__DMI_SUBS * OUT : IN;
        for (int i = 0; i < OUT * fan_in; i++) w[l][i] = (float)rand_r(&seed) / RAND_MAX - 0.5f;
        for (int i = 0; i < OUT; i++) b[l][i] = 0.01f * (float)i;
        vi__model_file_set_head_layer(mf, l, w[l], b[l], OUT, fan_in);
    }
    st = vi__model_file_encode(mf, &small_model, &small_model_size);
    vi__model_file_free(mf);
    return st;
}

static vi_status s_embed(void) {
    vi_embed_options o;
    vi_embed_options_init(&o, sizeof o);
    o.max_frames = 3;
    vi_embedding *e = NULL;
    vi_status st = vi_embed_video(model, fixture("clip_vp8.webm"), &o, &e);
    vi_embedding_free(e);
    return st;
}

static vi_status s_compare(void) {
    vi_match *m = NULL;
    vi_status st = vi_compare(emb_a, emb_b, NULL, &m);
    vi_match_free(m);
    return st;
}

static vi_status s_embedding_file(void) {
    vi_status st = vi_embedding_save(emb_a, work("a.vemb"));
    vi_embedding *back = NULL;
    if (st == VI_OK) st = vi_embedding_load(work("a.vemb"), &back);
    vi_embedding_free(back);
    clean_workdir();
    return st;
}

static vi_status s_index_memory(void) {
    vi_index *x = NULL;
    vi_hits *h = NULL;
    vi_status st = vi_index_create(&x);
    if (st == VI_OK) st = vi_index_add(x, "a", emb_a);
    if (st == VI_OK) st = vi_index_add(x, "b", emb_b);
    if (st == VI_OK) st = vi_index_search(x, emb_a, 2, &h);
    vi_hits_free(h);
    if (st == VI_OK) st = vi_index_save(x, work("single.vidx"));
    vi_index_free(x);
    x = NULL;
    if (st == VI_OK) st = vi_index_load(work("single.vidx"), &x);
    vi_index_free(x);
    clean_workdir();
    return st;
}

static vi_status s_index_disk(void) {
    vi_index *x = NULL;
    vi_hits *h = NULL;
    vi_index_options o;
    vi_index_options_init(&o, sizeof o);
    o.kind = VI_INDEX_HNSW;
    vi_status st = vi_index_open(work("d.vidx"), &o, &x);
    if (st == VI_OK) st = vi_index_add(x, "a", emb_a);
    if (st == VI_OK) st = vi_index_add(x, "b", emb_b);
    if (st == VI_OK) st = vi_index_flush(x);
    vi_index_free(x);
    x = NULL;
    if (st == VI_OK) st = vi_index_load(work("d.vidx"), &x); /* reads the FAISS cache back */
    if (st == VI_OK) st = vi_index_search(x, emb_b, 2, &h);
    vi_hits_free(h);
    vi_index_free(x);
    x = NULL;
    o.replace = 1; /* a rebuild */
    if (st == VI_OK) st = vi_index_open(work("d.vidx"), &o, &x);
    if (st == VI_OK) st = vi_index_add(x, "b", emb_b);
    if (st == VI_OK) st = vi_index_flush(x);
    vi_index_free(x);
    clean_workdir();
    return st;
}

static const struct {
    const char *name;
    vi_status (*run)(void);
} scenarios[] = {
    {"model_load", s_model_load},         {"embed", s_embed},
    {"compare", s_compare},               {"embedding_file", s_embedding_file},
    {"index_memory", s_index_memory},     {"index_disk", s_index_disk},
};

static int run_scenario(int which) {
    const char *name = scenarios[which].name;
    vi__fault_fail_alloc_at(0);
    vi_status st = scenarios[which].run();
    const int64_t total = vi__fault_alloc_count();
    if (st != VI_OK) {
        fprintf(stderr, "%s: fails without injected failures: %s\n", name, vi_last_error());
        return 1;
    }
    int64_t clean = 0, ok = 0, bad = 0;
    for (int64_t n = 1;; n++) {
        vi__fault_fail_alloc_at(n);
        st = scenarios[which].run();
        const int64_t made = vi__fault_alloc_count();
        vi__fault_fail_alloc_at(0);
        if (made < n) { /* ran to its end before the n-th allocation: every one was tried */
            if (st != VI_OK) {
                fprintf(stderr, "%s: fails with no allocation failing: %s\n", name,
                        vi_last_error());
                bad++;
            }
            break;
        }
        if (st == VI_OK) {
            ok++; /* a failure the path recovers from (a cache rebuilt, a fallback) */
        } else if (st == VI_E_NOMEM && vi_last_error()[0]) {
            clean++;
        } else {
            fprintf(stderr, "%s: allocation %lld failed -> status %d (%s): %s\n", name,
                    (long long)n, st, vi_status_str(st), vi_last_error());
            bad++;
        }
    }
    printf("%-15s %5lld allocations: %5lld failed cleanly (VI_E_NOMEM), %4lld recovered, %lld "
           "wrong\n", name, (long long)total, (long long)clean, (long long)ok, (long long)bad);
    fflush(stdout);
    return bad != 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s FIXTURES_DIR SOURCE_DIR [SCENARIO]\n", argv[0]);
        return 2;
    }
    fixtures = argv[1];
    srcdir = argv[2];
    snprintf(workdir, sizeof workdir, "/tmp/vi_oom_XXXXXX");
    if (!mkdtemp(workdir)) return 2;
    int failed = 0;
    if (make_small_model() != VI_OK || vi_model_load(NULL, &model) != VI_OK ||
        vi_embed_video(model, fixture("clip_a.mp4"), NULL, &emb_a) != VI_OK ||
        vi_embed_video(model, fixture("clip_a_copy.mp4"), NULL, &emb_b) != VI_OK) {
        fprintf(stderr, "setup: %s\n", vi_last_error());
        failed = 1;
    }
    for (size_t i = 0; !failed && i < sizeof scenarios / sizeof scenarios[0]; i++)
        if (argc < 4 || strcmp(argv[3], scenarios[i].name) == 0) failed |= run_scenario((int)i);
    vi_embedding_free(emb_a);
    vi_embedding_free(emb_b);
    vi_model_free(model);
    vi__free(small_model);
    rmdir(workdir);
    return failed;
}
