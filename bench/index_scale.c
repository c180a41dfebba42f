/* bench/index_scale.c - how the catalogue index scales (docs/benchmarks.md, "Index at scale").
 *
 *   make BUILD=build bench-index       (or: build/bench/index_scale [SECONDS...])
 *   build/bench/index_scale --disk DIR SECONDS...   the on-disk index: append, reopen, search
 *
 * Synthetic catalogue: references of 60 one-per-second frame vectors, each an independent
 * normalised Gaussian 256-d vector (seeded), for 10k, 100k and 1M indexed seconds. Queries are
 * planted copies: 30-second excerpts of random references with noise added (cosine ~0.7 to the
 * original frame, far above the ~0.06 spread between unrelated vectors) and renormalised.
 * For each size and index kind it prints: build time (vi_index_add of every reference: float16
 * storage + FAISS add/training), memory (resident growth while building, and the process peak),
 * time per query of FAISS alone (the index's own FAISS object, same query vectors, same k) and of
 * the full vi_index_search (FAISS + voting + re-ranking 20 candidates with vi_compare), all in
 * CPU seconds of the process (so other load on the machine does not inflate them), their
 * ratio, hit@1 (the planted source ranked first), and for approximate kinds recall@1 and
 * recall@10 of the per-frame neighbours against exact search (recall@1: the exact nearest
 * neighbour, here the planted original frame, is the approximate nearest too; recall@10 also
 * counts the unrelated vectors that fill ranks 2..10 at near-equal similarity). Each size runs in its own child process so that
 * peak RSS is per size. Single-threaded: run with OMP_NUM_THREADS=1 for one-core figures. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/objects.h"
#include "index/index.h"
#include "vinfringe.h"

#define DIM 256
#define REF_S 60
#define QUERY_S 30
#define MAX_QUERIES 10
#define K 10
#define MODEL "synthetic:00000000"

/* CPU time of this process: the machine the figures were taken on was shared, and with
 * OMP_NUM_THREADS=1 the process's CPU time is the one-core cost without the waiting. */
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double rss_mb(void) {
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return (double)rss * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

static double peak_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

/* splitmix64 + Box-Muller: the same vectors on every run */
static uint64_t mix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double gauss(uint64_t *s) {
    const double u1 = ((double)(mix(s) >> 11) + 1) / 9007199254740993.0;
    const double u2 = (double)(mix(s) >> 11) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}
static void normalise(float *v) {
    double n = 0;
    for (int d = 0; d < DIM; d++) n += (double)v[d] * v[d];
    for (int d = 0; d < DIM; d++) v[d] = (float)(v[d] / sqrt(n));
}

/* Reference r: REF_S vectors, from its own seed. */
static struct vi_embedding *reference(int32_t r) {
    struct vi_embedding *e;
    if (vi__embedding_alloc(DIM, REF_S, MODEL, &e) != VI_OK) abort();
    uint64_t s = 0x1234567ull + (uint64_t)r * 0x100000001b3ull;
    double mean[DIM] = {0};
    for (int f = 0; f < REF_S; f++) {
        float *v = e->frames + (size_t)f * DIM;
        for (int d = 0; d < DIM; d++) v[d] = (float)gauss(&s);
        normalise(v);
        for (int d = 0; d < DIM; d++) mean[d] += v[d];
        e->pts_us[f] = (int64_t)f * 1000000;
    }
    for (int d = 0; d < DIM; d++) e->video[d] = (float)mean[d];
    normalise(e->video);
    e->duration = REF_S;
    return e;
}

/* Query q: QUERY_S seconds of reference *src from second `start`, with noise. */
static struct vi_embedding *query(int q, int32_t n_refs, int32_t *src) {
    uint64_t s = 0xfeedull + (uint64_t)q * 7919;
    *src = (int32_t)(mix(&s) % (uint64_t)n_refs);
    const int start = (int)(mix(&s) % (REF_S - QUERY_S + 1));
    struct vi_embedding *r = reference(*src), *e;
    if (vi__embedding_alloc(DIM, QUERY_S, MODEL, &e) != VI_OK) abort();
    double mean[DIM] = {0};
    for (int f = 0; f < QUERY_S; f++) {
        float *v = e->frames + (size_t)f * DIM;
        const float *o = r->frames + (size_t)(start + f) * DIM;
        for (int d = 0; d < DIM; d++) v[d] = o[d] + (float)(gauss(&s) / 16.0);
        normalise(v);
        for (int d = 0; d < DIM; d++) mean[d] += v[d];
        e->pts_us[f] = (int64_t)f * 1000000;
    }
    for (int d = 0; d < DIM; d++) e->video[d] = (float)mean[d];
    normalise(e->video);
    e->duration = QUERY_S;
    vi_embedding_free(r);
    return e;
}

static const char *kind_name(int32_t k) {
    static const char *const names[] = {"auto", "exact", "hnsw", "ivfpq"};
    return names[k & 3];
}

static vi_index *build(int32_t kind, int32_t n_refs, double *seconds, double *mb) {
    vi_index_options o;
    VI_INDEX_OPTIONS_INIT(o);
    o.kind = kind;
    vi_index *x;
    if (vi_index_create_with(&o, &x) != VI_OK) abort();
    const double r0 = rss_mb(), t0 = now();
    x->defer_sync = 1; /* one FAISS build at the end, as vi_index_load does */
    for (int32_t r = 0; r < n_refs; r++) {
        struct vi_embedding *e = reference(r);
        char id[32];
        snprintf(id, sizeof id, "ref%07d", (int)r);
        if (vi_index_add(x, id, e) != VI_OK) {
            fprintf(stderr, "add: %s\n", vi_last_error());
            exit(1);
        }
        vi_embedding_free(e);
    }
    x->defer_sync = 0;
    if (vi__index_sync(x) != VI_OK) {
        fprintf(stderr, "faiss: %s\n", vi_last_error());
        exit(1);
    }
    *seconds = now() - t0;
    *mb = rss_mb() - r0;
    return x;
}

static void run_size(int64_t seconds_total, int with_hnsw) {
    const int32_t n_refs = (int32_t)((seconds_total + REF_S - 1) / REF_S);
    const int32_t kinds[] = {VI_INDEX_EXACT, VI_INDEX_IVFPQ, VI_INDEX_HNSW};
    const int n_kinds = with_hnsw ? 3 : 2;
    /* fewer queries at 1M: exact search of a 30 s query takes seconds there */
    const int n_queries = seconds_total >= 1000000 ? 4 : MAX_QUERIES;
    struct vi_embedding *q[MAX_QUERIES];
    int32_t src[MAX_QUERIES];
    for (int i = 0; i < n_queries; i++) q[i] = query(i, n_refs, &src[i]);
    int64_t *exact_labels = NULL;
    for (int ki = 0; ki < n_kinds; ki++) {
        double build_s, build_mb;
        vi_index *x = build(kinds[ki], n_refs, &build_s, &build_mb);
        /* FAISS alone: the index's FAISS object, the same query vectors and k as stage 1 */
        const int32_t k = x->opts.frame_neighbors;
        float *sims = malloc(sizeof(float) * QUERY_S * (size_t)k);
        int64_t *labels = malloc(sizeof(int64_t) * QUERY_S * (size_t)k * n_queries);
        double t0 = now();
        for (int i = 0; i < n_queries; i++)
            if (vi__faiss_search(x->faiss, QUERY_S, q[i]->frames, k, sims,
                                 labels + (size_t)i * QUERY_S * k) != VI_OK)
                abort();
        const double faiss_ms = (now() - t0) * 1000 / n_queries;
        /* the full search */
        int hit1 = 0;
        t0 = now();
        for (int i = 0; i < n_queries; i++) {
            vi_hits *h;
            if (vi_index_search(x, q[i], K, &h) != VI_OK) abort();
            char want[32];
            snprintf(want, sizeof want, "ref%07d", (int)src[i]);
            hit1 += vi_hits_count(h) > 0 && strcmp(vi_hits_id(h, 0), want) == 0;
            vi_hits_free(h);
        }
        const double full_ms = (now() - t0) * 1000 / n_queries;
        /* recall@10 of the approximate per-frame neighbours against exact search */
        double recall = 1.0, recall1 = 1.0;
        if (ki == 0) {
            exact_labels = labels;
            labels = NULL;
        } else {
            long found = 0, total = 0, found1 = 0;
            for (size_t qf = 0; qf < (size_t)n_queries * QUERY_S; qf++)
                found1 += labels[qf * k] == exact_labels[qf * k];
            recall1 = (double)found1 / (double)(n_queries * QUERY_S);
            for (size_t qf = 0; qf < (size_t)n_queries * QUERY_S; qf++)
                for (int a = 0; a < 10; a++) {
                    total++;
                    for (int b = 0; b < 10; b++)
                        if (labels[qf * k + a] == exact_labels[qf * k + b]) {
                            found++;
                            break;
                        }
                }
            recall = (double)found / (double)total;
        }
        printf("| %lld | %s | %.1f | %.0f | %.0f | %.1f | %.1f | %.2f | %d/%d | %.3f | %.3f |\n",
               (long long)seconds_total, kind_name(vi_index_kind_used(x)), build_s, build_mb,
               peak_mb(), faiss_ms, full_ms, full_ms / faiss_ms, hit1, n_queries, recall1, recall);
        fflush(stdout);
        free(sims);
        free(labels);
        vi_index_free(x);
    }
    free(exact_labels);
    for (int i = 0; i < n_queries; i++) vi_embedding_free(q[i]);
}

/* The on-disk index at one size: append every reference (each add writes its record, fsyncs
 * and replaces the manifest), close (writes the FAISS cache), reopen (CRC of every record, FAISS
 * cache read), search. Wall-clock times here: they include the disk. */
static double wall(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void run_disk(int64_t seconds_total, const char *dir) {
    const int32_t n_refs = (int32_t)((seconds_total + REF_S - 1) / REF_S);
    char path[512];
    snprintf(path, sizeof path, "%s/scale-%lld.vidx", dir, (long long)seconds_total);
    vi_index_options o;
    VI_INDEX_OPTIONS_INIT(o);
    vi_index *x;
    double t0 = wall();
    if (vi_index_open(path, &o, &x) != VI_OK) {
        fprintf(stderr, "open: %s\n", vi_last_error());
        exit(1);
    }
    for (int32_t r = 0; r < n_refs; r++) {
        struct vi_embedding *e = reference(r);
        char id[32];
        snprintf(id, sizeof id, "ref%07d", (int)r);
        if (vi_index_add(x, id, e) != VI_OK) {
            fprintf(stderr, "add: %s\n", vi_last_error());
            exit(1);
        }
        vi_embedding_free(e);
    }
    const char *kind = kind_name(vi_index_kind_used(x));
    vi_index_free(x);
    const double append_s = wall() - t0;
    const double r0 = rss_mb();
    t0 = wall();
    if (vi_index_load(path, &x) != VI_OK) {
        fprintf(stderr, "reopen: %s\n", vi_last_error());
        exit(1);
    }
    const double open_s = wall() - t0, open_mb = rss_mb() - r0;
    int32_t src;
    struct vi_embedding *q = query(0, n_refs, &src);
    vi_hits *h;
    t0 = wall();
    if (vi_index_search(x, q, K, &h) != VI_OK) abort();
    const double search_ms = (wall() - t0) * 1000;
    char want[32];
    snprintf(want, sizeof want, "ref%07d", (int)src);
    printf("| %lld | %s | %.1f (%.2f ms per reference) | %.2f | %.0f | %.1f | %s |\n",
           (long long)seconds_total, kind, append_s, append_s * 1000 / n_refs, open_s, open_mb,
           search_ms, vi_hits_count(h) && strcmp(vi_hits_id(h, 0), want) == 0 ? "yes" : "no");
    fflush(stdout);
    vi_hits_free(h);
    vi_embedding_free(q);
    vi_index_free(x);
}

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "--disk") == 0) { /* --disk DIR SECONDS... */
        printf("| indexed seconds | kind | append all, s | reopen s | RSS growth on reopen MB | "
               "first search ms | source first |\n|---|---|---|---|---|---|---|\n");
        for (int i = 3; i < argc; i++) run_disk(atoll(argv[i]), argv[2]);
        return 0;
    }
    int64_t sizes[8] = {10000, 100000, 1000000};
    int n = 3;
    if (argc > 1) {
        n = 0;
        for (int i = 1; i < argc && n < 8; i++) sizes[n++] = atoll(argv[i]);
    }
    printf("| indexed seconds | kind | build s | index MB (RSS growth) | peak RSS MB | "
           "FAISS alone ms/query | full search ms/query | ratio | hit@1 | recall@1 | recall@10 |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|\n");
    fflush(stdout);
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            run_size(sizes[i], sizes[i] <= 10000);
            _exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
    }
    return 0;
}
