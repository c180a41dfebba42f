/* bench/index_append.c - the cost of an append to an on-disk index as the index grows
 * (docs/benchmarks.md, "Appending"; issue 18).
 *
 *   make bench-append            (or: build/bench/index_append [DIR [N]])
 *
 * Opens a new on-disk index in DIR (default: a temporary directory, removed afterwards) and
 * appends N (default 1000) references one vi_index_add call at a time, each a synthetic
 * reference of 60 one-per-second 256-d frame vectors (seeded, normalised; the vectors do not
 * matter to the cost). Prints the wall-clock time per append of the first 100 and of the last
 * 100 appends (means and medians) and their ratio, which stays near 1 when an append costs what
 * it adds (0.3 rewrote and fsynced the whole manifest each time). Wall-clock because the cost is
 * mostly the fdatasync; run it on an otherwise idle disk. Exact search (no FAISS cache) so that
 * FAISS's own growth is not counted. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/objects.h"
#include "vinfringe.h"

#define DIM 256
#define FRAMES 60
#define WINDOW 100

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static struct vi_embedding *reference(uint64_t seed) {
    struct vi_embedding *e;
    if (vi__embedding_alloc(DIM, FRAMES, "synthetic:00000000", &e) != VI_OK) abort();
    uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
    for (int32_t f = 0; f <= FRAMES; f++) {
        float *v = f < FRAMES ? e->frames + (size_t)f * DIM : e->video;
        double norm = 0;
        for (int d = 0; d < DIM; d++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            v[d] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5);
            norm += (double)v[d] * v[d];
        }
        for (int d = 0; d < DIM; d++) v[d] = (float)(v[d] / sqrt(norm));
        if (f < FRAMES) e->pts_us[f] = (int64_t)f * 1000000;
    }
    e->duration = FRAMES;
    return e;
}

static int by_value(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void stats(const double *t, int n, double *mean, double *median) {
    double *c = malloc((size_t)n * sizeof *c);
    memcpy(c, t, (size_t)n * sizeof *c);
    qsort(c, (size_t)n, sizeof *c, by_value);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += c[i];
    *mean = sum / n;
    *median = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    free(c);
}

int main(int argc, char **argv) {
    char tmp[] = "/tmp/vi_append_XXXXXX", path[4096];
    const char *dir = argc > 1 ? argv[1] : mkdtemp(tmp);
    const int n = argc > 2 ? atoi(argv[2]) : 1000;
    if (!dir || n < 2 * WINDOW) {
        fprintf(stderr, "usage: %s [DIR [N >= %d]]\n", argv[0], 2 * WINDOW);
        return 2;
    }
    snprintf(path, sizeof path, "%s/append.vidx", dir);
    vi_index_options o;
    VI_INDEX_OPTIONS_INIT(o);
    o.kind = VI_INDEX_EXACT;
    o.replace = 1; /* a fresh index whatever DIR holds */
    vi_index *x;
    if (vi_index_open(path, &o, &x) != VI_OK || vi_index_flush(x) != VI_OK) {
        fprintf(stderr, "open: %s\n", vi_last_error());
        return 1;
    }
    double *t = malloc((size_t)n * sizeof *t);
    for (int i = 0; i < n; i++) {
        struct vi_embedding *e = reference((uint64_t)i + 1);
        char id[32];
        snprintf(id, sizeof id, "ref%05d", i);
        const double t0 = now();
        if (vi_index_add(x, id, e) != VI_OK) {
            fprintf(stderr, "add %d: %s\n", i, vi_last_error());
            return 1;
        }
        t[i] = now() - t0;
        vi_embedding_free(e);
    }
    vi_index_free(x);
    double m0, d0, m1, d1;
    stats(t, WINDOW, &m0, &d0);
    stats(t + n - WINDOW, WINDOW, &m1, &d1);
    printf("appends of %d references of %d x %d-d frame vectors, one vi_index_add each\n", n,
           FRAMES, DIM);
    printf("first %d: mean %.3f ms, median %.3f ms\n", WINDOW, m0 * 1e3, d0 * 1e3);
    printf("last  %d: mean %.3f ms, median %.3f ms\n", WINDOW, m1 * 1e3, d1 * 1e3);
    printf("last / first: %.2fx (mean), %.2fx (median)\n", m1 / m0, d1 / d0);
    free(t);
    if (argc <= 1) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) return 1;
    }
    return 0;
}
