/* Safe files and honest results of the index and of every atomic writer (issue 18), each a
 * defect of 0.3.0 reproduced: threads sharing a temporary name, two creators of one index, a
 * rebuild that is not atomic for readers, vi_index_save comparing paths as strings, appends
 * that rewrite the whole manifest, searches returning fewer results than asked, and sizes
 * declared in files trusted before use. Real embeddings (fixture clips through FFmpeg and the
 * built-in model) plus seeded random distractors, real files in a temporary directory. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/objects.h"
#include "test_paths.h"
#include "vinfringe.h"

static vi_model *model;
static vi_embedding *clip_a, *clip_b, *clip_copy;
static char dir[64];

static vi_embedding *embed(const char *name) {
    vi_embedding *e = NULL;
    vi_status st = vi_embed_video(model, vi_test_fixture(name), NULL, &e);
    ck_assert_msg(st == VI_OK, "%s: %s", name, vi_last_error());
    return e;
}

static void setup(void) {
    ck_assert_int_eq(vi_model_load(NULL, &model), VI_OK);
    clip_a = embed("clip_a.mp4");
    clip_b = embed("clip_b.mp4");
    clip_copy = embed("clip_a_copy.mp4");
    snprintf(dir, sizeof dir, "/tmp/vi_safety_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    vi_embedding_free(clip_a);
    vi_embedding_free(clip_b);
    vi_embedding_free(clip_copy);
    vi_model_free(model);
}

static const char *tmp(const char *name) {
    static char ring[16][256];
    static int next;
    char *p = ring[next++ % 16];
    snprintf(p, sizeof ring[0], "%s/%s", dir, name);
    return p;
}

/* A random embedding of n frames (normalised Gaussian vectors, 1 fps) of the model's id. */
static vi_embedding *distractor(uint64_t seed, int32_t n) {
    struct vi_embedding *e;
    ck_assert_int_eq(vi__embedding_alloc(vi_model_dim(model), n, vi_model_id(model), &e), VI_OK);
    uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
    for (int32_t f = 0; f <= n; f++) {
        float *v = f < n ? e->frames + (size_t)f * (size_t)e->dim : e->video;
        double norm = 0;
        for (int d = 0; d < e->dim; d++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            v[d] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5);
            norm += (double)v[d] * v[d];
        }
        for (int d = 0; d < e->dim; d++) v[d] = (float)(v[d] / sqrt(norm));
        if (f < n) e->pts_us[f] = (int64_t)f * 1000000;
    }
    e->duration = n;
    return e;
}

static void add(vi_index *x, const char *id, const vi_embedding *e) {
    const vi_status st = vi_index_add(x, id, e);
    ck_assert_msg(st == VI_OK, "add %s: %s", id, vi_last_error());
}

/* Names in `dir` containing `needle`. */
static int count_files(const char *needle) {
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) n += strstr(de->d_name, needle) != NULL;
    closedir(d);
    return n;
}

static int same_embedding(const vi_embedding *a, const vi_embedding *b) {
    const int32_t n = vi_embedding_frame_count(a), dim = vi_embedding_dim(a);
    return n == vi_embedding_frame_count(b) && dim == vi_embedding_dim(b) &&
           memcmp(vi_embedding_frame_vectors(a), vi_embedding_frame_vectors(b),
                  (size_t)n * (size_t)dim * sizeof(float)) == 0;
}

/* ---- atomic writes --------------------------------------------------------------------- */

struct saver {
    const vi_embedding *e;
    const char *path;
    int rounds, failed;
    char error[256];
};

static void *save_loop(void *arg) {
    struct saver *s = arg;
    for (int i = 0; i < s->rounds; i++) {
        if (vi_embedding_save(s->e, s->path) != VI_OK) {
            if (!s->failed++) snprintf(s->error, sizeof s->error, "%s", vi_last_error());
        }
    }
    return NULL;
}

START_TEST(test_threads_saving_one_path_never_collide) {
    /* 0.3.0 wrote both threads' bytes to "<path>.tmp.<pid>": 499 of 1000 saves failed and 27
     * files that a call had reported written were corrupt. */
    const char *path = tmp("shared.vemb");
    for (int round = 0; round < 5; round++) {
        struct saver s[2] = {{clip_a, path, 60, 0, ""}, {clip_b, path, 60, 0, ""}};
        pthread_t th[2];
        for (int t = 0; t < 2; t++) ck_assert_int_eq(pthread_create(&th[t], NULL, save_loop, &s[t]), 0);
        for (int t = 0; t < 2; t++) pthread_join(th[t], NULL);
        for (int t = 0; t < 2; t++) ck_assert_msg(!s[t].failed, "%d saves failed: %s", s[t].failed, s[t].error);
        vi_embedding *back = NULL;
        ck_assert_msg(vi_embedding_load(path, &back) == VI_OK, "%s", vi_last_error());
        ck_assert(same_embedding(back, clip_a) || same_embedding(back, clip_b));
        vi_embedding_free(back);
    }
    ck_assert_int_eq(count_files(".tmp"), 0);
}
END_TEST

/* ---- two creators of one index --------------------------------------------------------- */

struct creator {
    const char *path, *id;
    const vi_embedding *e;
    vi_status open_st, add_st;
    char error[256];
};

static void *create_and_add(void *arg) {
    struct creator *c = arg;
    vi_index *x = NULL;
    c->add_st = VI_E_INTERNAL;
    c->open_st = vi_index_open(c->path, NULL, &x);
    if (c->open_st == VI_OK) c->add_st = vi_index_add(x, c->id, c->e);
    else snprintf(c->error, sizeof c->error, "%s", vi_last_error());
    vi_index_free(x);
    return NULL;
}

START_TEST(test_two_creators_of_one_index_lose_nothing) {
    /* 0.3.0 truncated the data file before taking the lock: 130 of 300 rounds left an index
     * that did not open, and twice open and add returned VI_OK for an entry that was lost. */
    for (int round = 0; round < 40; round++) {
        char path[256];
        snprintf(path, sizeof path, "%s/race%02d.vidx", dir, round);
        struct creator c[2] = {{path, "a", clip_a, 0, 0, ""}, {path, "b", clip_b, 0, 0, ""}};
        pthread_t th[2];
        for (int t = 0; t < 2; t++)
            ck_assert_int_eq(pthread_create(&th[t], NULL, create_and_add, &c[t]), 0);
        for (int t = 0; t < 2; t++) pthread_join(th[t], NULL);
        vi_index *x = NULL;
        ck_assert_msg(vi_index_load(path, &x) == VI_OK, "round %d: %s", round, vi_last_error());
        for (int t = 0; t < 2; t++) {
            if (c[t].open_st != VI_OK) { /* the other writer held the index: said so */
                ck_assert_int_eq(c[t].open_st, VI_E_IO);
                ck_assert_msg(strstr(c[t].error, "another writer"), "%s", c[t].error);
                continue;
            }
            ck_assert_int_eq(c[t].add_st, VI_OK);
            int found = 0;
            for (int32_t i = 0; i < vi_index_size(x); i++) found |= !strcmp(vi_index_id(x, i), c[t].id);
            ck_assert_msg(found, "round %d: '%s' was added (VI_OK) and is lost", round, c[t].id);
        }
        vi_index_free(x);
    }
    ck_assert_int_eq(count_files(".tmp"), 0);
}
END_TEST

/* ---- rebuilds -------------------------------------------------------------------------- */

/* Build `path` anew (what `vinfringe index build -o` does): n references. */
static void rebuild(const char *path, int n) {
    vi_index_options o;
    ck_assert_int_eq(VI_INDEX_OPTIONS_INIT(o), VI_OK);
    o.replace = 1;
    vi_index *x;
    ck_assert_msg(vi_index_open(path, &o, &x) == VI_OK, "%s", vi_last_error());
    add(x, "clip_a", clip_a);
    for (int i = 1; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "noise%03d", i);
        vi_embedding *d = distractor((uint64_t)i, 8);
        add(x, id, d);
        vi_embedding_free(d);
    }
    ck_assert_int_eq(vi_index_flush(x), VI_OK);
    vi_index_free(x);
}

struct reader {
    const char *path;
    volatile int stop;
    int loads, failed, odd_size;
    char error[256];
};

static void *load_loop(void *arg) {
    struct reader *r = arg;
    while (!r->stop) {
        vi_index *x = NULL;
        if (vi_index_load(r->path, &x) != VI_OK) {
            if (!r->failed++) snprintf(r->error, sizeof r->error, "%s", vi_last_error());
        } else {
            const int32_t n = vi_index_size(x);
            r->odd_size += n != 3 && n != 5;
        }
        vi_index_free(x);
        r->loads++;
    }
    return NULL;
}

START_TEST(test_rebuild_switches_atomically_under_readers) {
    /* 0.3.0's rebuild moved the data file into place before the manifest: 359 of 59715 loads
     * during rebuilds failed, and a kill between the two renames left an index that did not
     * open. A rebuild now writes a new data file and switches by replacing the manifest. */
    const char *path = tmp("r.vidx");
    rebuild(path, 3);
    struct reader r = {path, 0, 0, 0, 0, ""};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, load_loop, &r), 0);
    for (int i = 0; i < 30; i++) rebuild(path, i % 2 ? 3 : 5);
    r.stop = 1;
    pthread_join(th, NULL);
    ck_assert_msg(r.failed == 0, "%d of %d loads failed: %s", r.failed, r.loads, r.error);
    ck_assert_int_eq(r.odd_size, 0);
    ck_assert_int_gt(r.loads, 0);
    /* one data file remains, and nothing temporary */
    ck_assert_int_eq(count_files(".vec"), 1);
    ck_assert_int_eq(count_files(".tmp"), 0);
    /* a replace that is never flushed leaves the index as it was */
    vi_index_options o;
    ck_assert_int_eq(VI_INDEX_OPTIONS_INIT(o), VI_OK);
    o.replace = 1;
    vi_index *x;
    ck_assert_int_eq(vi_index_open(path, &o, &x), VI_OK);
    ck_assert_int_eq(vi_index_size(x), 0);
    add(x, "clip_b", clip_b);
    vi_index_free(x);
    ck_assert_int_eq(vi_index_load(path, &x), VI_OK);
    ck_assert_int_eq(vi_index_size(x), 3);
    ck_assert_str_eq(vi_index_id(x, 0), "clip_a");
    vi_index_free(x);
    ck_assert_int_eq(count_files(".vec"), 1);
}
END_TEST

/* ---- vi_index_save onto the open index ------------------------------------------------- */

START_TEST(test_save_onto_own_manifest_under_another_name) {
    /* 0.3.0 compared the paths as strings: saving "x.vidx" to "./x.vidx" replaced the live
     * manifest by a single-file index. */
    vi_index *x;
    ck_assert_int_eq(vi_index_open(tmp("x.vidx"), NULL, &x), VI_OK);
    add(x, "clip_a", clip_a);
    add(x, "clip_b", clip_b);
    char dotted[300], doubled[300];
    snprintf(dotted, sizeof dotted, "%s/./x.vidx", dir);
    snprintf(doubled, sizeof doubled, "%s//x.vidx", dir);
    ck_assert_int_eq(vi_index_save(x, dotted), VI_OK);
    ck_assert_int_eq(vi_index_save(x, doubled), VI_OK);
    vi_index_free(x);
    /* still the on-disk index: it opens for adding */
    const vi_status st = vi_index_open(tmp("x.vidx"), NULL, &x);
    ck_assert_msg(st == VI_OK, "%s", vi_last_error());
    ck_assert_int_eq(vi_index_size(x), 2);
    add(x, "clip_copy", clip_copy);
    vi_index_free(x);
}
END_TEST

/* ---- append cost ----------------------------------------------------------------------- */

START_TEST(test_append_writes_only_what_it_adds) {
    /* 0.3.0 rewrote and fsynced the whole manifest on every add: N adds cost O(N^2). An add
     * now appends one entry to the data file and leaves the manifest alone. */
    vi_index *x;
    ck_assert_int_eq(vi_index_open(tmp("g.vidx"), NULL, &x), VI_OK);
    add(x, "clip_a", clip_a);
    struct stat m0;
    ck_assert_int_eq(stat(tmp("g.vidx"), &m0), 0);
    for (int i = 0; i < 20; i++) {
        char id[32];
        snprintf(id, sizeof id, "noise%03d", i);
        vi_embedding *d = distractor((uint64_t)i + 11, 5);
        add(x, id, d);
        vi_embedding_free(d);
    }
    struct stat m1;
    ck_assert_int_eq(stat(tmp("g.vidx"), &m1), 0);
    ck_assert_msg(m0.st_ino == m1.st_ino && m0.st_size == m1.st_size &&
                      m0.st_mtim.tv_sec == m1.st_mtim.tv_sec &&
                      m0.st_mtim.tv_nsec == m1.st_mtim.tv_nsec,
                  "the manifest was rewritten by an add");
    vi_index_free(x);
    ck_assert_int_eq(vi_index_load(tmp("g.vidx"), &x), VI_OK);
    ck_assert_int_eq(vi_index_size(x), 21);
    vi_index_free(x);
}
END_TEST

/* ---- search returns what was asked ----------------------------------------------------- */

START_TEST(test_search_returns_k_results_when_the_index_holds_them) {
    /* 0.3.0 returned at most the stage-1 candidates: 7-18 results for --top 100 on 53
     * references, and fewer than the default 10 when the votes fell on few references. */
    vi_index *x;
    vi_index_options o;
    ck_assert_int_eq(VI_INDEX_OPTIONS_INIT(o), VI_OK);
    ck_assert_int_eq(vi_index_create_with(&o, &x), VI_OK);
    add(x, "clip_a", clip_a);
    add(x, "clip_b", clip_b);
    for (int i = 0; i < 51; i++) {
        char id[32];
        snprintf(id, sizeof id, "noise%03d", i);
        vi_embedding *d = distractor((uint64_t)i + 100, 10);
        add(x, id, d);
        vi_embedding_free(d);
    }
    vi_hits *h = NULL;
    ck_assert_int_eq(vi_index_search(x, clip_copy, 40, &h), VI_OK);
    ck_assert_int_eq(vi_hits_count(h), 40);
    ck_assert_str_eq(vi_hits_id(h, 0), "clip_a");
    vi_hits_free(h);
    ck_assert_int_eq(vi_index_search(x, clip_copy, 100, &h), VI_OK);
    ck_assert_int_eq(vi_hits_count(h), 53);
    vi_hits_free(h);
    vi_index_free(x);
    /* one neighbour per query frame, two candidates: the votes reach a few references only */
    o.frame_neighbors = 1;
    o.candidates = 2;
    ck_assert_int_eq(vi_index_create_with(&o, &x), VI_OK);
    add(x, "clip_a", clip_a);
    for (int i = 0; i < 20; i++) {
        char id[32];
        snprintf(id, sizeof id, "noise%03d", i);
        vi_embedding *d = distractor((uint64_t)i + 200, 10);
        add(x, id, d);
        vi_embedding_free(d);
    }
    ck_assert_int_eq(vi_index_search(x, clip_copy, 10, &h), VI_OK);
    ck_assert_int_eq(vi_hits_count(h), 10);
    ck_assert_str_eq(vi_hits_id(h, 0), "clip_a");
    for (int32_t i = 1; i < 10; i++) ck_assert(vi_hits_score(h, i) <= vi_hits_score(h, i - 1));
    vi_hits_free(h);
    vi_index_free(x);
}
END_TEST

/* ---- sizes declared in files ----------------------------------------------------------- */

static void put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* A container header (docs/file-formats.md) for `compressed` bytes declaring `payload`. */
static void container_header(uint8_t h[40], const char *magic, uint64_t payload,
                             uint64_t compressed, uint32_t payload_crc) {
    memset(h, 0, 40);
    memcpy(h, magic, 8);
    put_le32(h + 8, 1);
    put_le64(h + 16, payload);
    put_le64(h + 24, compressed);
    put_le32(h + 32, payload_crc);
    put_le32(h + 36, (uint32_t)crc32(0, h, 36));
}

static long max_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

START_TEST(test_declared_sizes_are_bounded_by_the_file) {
    /* A real embedding file whose header claims a 64 GiB payload: 0.3.0 said "out of memory".
     * A size is now checked against what the compressed bytes can hold (zlib inflates at
     * most 1032 bytes per byte) before anything is allocated. */
    void *buf;
    size_t n;
    ck_assert_int_eq(vi_embedding_to_memory(clip_a, &buf, &n), VI_OK);
    uint8_t *f = buf;
    container_header(f, "VIEMBED\0", (uint64_t)1 << 36, n - 40, 0);
    vi_embedding *e = NULL;
    ck_assert_int_eq(vi_embedding_from_memory(f, n, &e), VI_E_FORMAT);
    ck_assert_msg(strstr(vi_last_error(), "can hold"), "%s", vi_last_error());
    vi_buffer_free(buf);
    /* 512 MB of zeros deflate to about 500 KB; the file claims 1 GiB. 0.3.0 allocated the
     * claim and inflated everything there was (2.27 GB for a 2 MB file). */
    const size_t zeros = (size_t)512 << 20, chunk = 1 << 20;
    uint8_t *in = calloc(1, chunk);
    size_t cap = zeros / 500, len = 40;
    uint8_t *file = malloc(cap);
    ck_assert(in && file);
    z_stream z;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(deflateInit(&z, 9), Z_OK);
    for (size_t done = 0; done < zeros; done += chunk) {
        z.next_in = in;
        z.avail_in = (uInt)chunk;
        const int flush = done + chunk >= zeros ? Z_FINISH : Z_NO_FLUSH;
        do {
            z.next_out = file + len;
            z.avail_out = (uInt)(cap - len);
            deflate(&z, flush);
            len = cap - z.avail_out;
            ck_assert(len < cap);
        } while (z.avail_in > 0 || (flush == Z_FINISH && z.avail_out == 0));
    }
    deflateEnd(&z);
    container_header(file, "VIEMBED\0", (uint64_t)1 << 30, len - 40, 0);
    const long before = max_rss_mb();
    ck_assert_int_eq(vi_embedding_from_memory(file, len, &e), VI_E_FORMAT);
    const long grown = max_rss_mb() - before;
    ck_assert_msg(grown < 100, "peak memory grew by %ld MB for a %zu-byte file", grown, len);
    free(in);
    free(file);
}
END_TEST

/* ---- the FAISS cache ------------------------------------------------------------------- */

START_TEST(test_damaged_faiss_cache_is_rebuilt_not_read) {
    /* 0.3.0 handed a cache with intact checksums but damaged content to faiss::read_index, which
     * leaked 45 KB per open when it threw (seen under LeakSanitizer: make check-san). The cache
     * is now this library's own layout, checked whole before anything is built from it. */
    vi_index_options o;
    ck_assert_int_eq(VI_INDEX_OPTIONS_INIT(o), VI_OK);
    o.kind = VI_INDEX_HNSW;
    vi_index *x;
    ck_assert_int_eq(vi_index_open(tmp("h.vidx"), &o, &x), VI_OK);
    add(x, "clip_a", clip_a);
    add(x, "clip_b", clip_b);
    vi_index_free(x);
    FILE *f = fopen(tmp("h.vidx.faiss"), "r+b");
    ck_assert_ptr_nonnull(f);
    uint8_t head[48];
    ck_assert_int_eq(fread(head, 1, 48, f), 48);
    fseek(f, 0, SEEK_END);
    const long n = ftell(f) - 48;
    ck_assert_int_gt(n, 64);
    uint8_t *payload = malloc((size_t)n);
    fseek(f, 48, SEEK_SET);
    ck_assert_int_eq(fread(payload, 1, (size_t)n, f), (size_t)n);
    for (long i = 24; i < n; i += 7) payload[i] ^= 0x5a; /* links and levels out of range */
    put_le32(head + 40, (uint32_t)crc32(0, payload, (uInt)n));
    put_le32(head + 44, (uint32_t)crc32(0, head, 44));
    fseek(f, 0, SEEK_SET);
    ck_assert_int_eq(fwrite(head, 1, 48, f), 48);
    ck_assert_int_eq(fwrite(payload, 1, (size_t)n, f), (size_t)n);
    ck_assert_int_eq(fclose(f), 0);
    free(payload);
    for (int round = 0; round < 3; round++) {
        ck_assert_int_eq(vi_index_load(tmp("h.vidx"), &x), VI_OK);
        ck_assert_int_eq(vi_index_kind_used(x), VI_INDEX_HNSW);
        vi_hits *h = NULL;
        ck_assert_int_eq(vi_index_search(x, clip_copy, 1, &h), VI_OK);
        ck_assert_str_eq(vi_hits_id(h, 0), "clip_a");
        vi_hits_free(h);
        vi_index_free(x);
    }
}
END_TEST

Suite *index_safety_suite(void) {
    Suite *s = suite_create("index_safety");
    TCase *tc = tcase_create("safety");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_threads_saving_one_path_never_collide);
    tcase_add_test(tc, test_two_creators_of_one_index_lose_nothing);
    tcase_add_test(tc, test_rebuild_switches_atomically_under_readers);
    tcase_add_test(tc, test_save_onto_own_manifest_under_another_name);
    tcase_add_test(tc, test_append_writes_only_what_it_adds);
    tcase_add_test(tc, test_search_returns_k_results_when_the_index_holds_them);
    tcase_add_test(tc, test_declared_sizes_are_bounded_by_the_file);
    tcase_add_test(tc, test_damaged_faiss_cache_is_rebuilt_not_read);
    suite_add_tcase(s, tc);
    return s;
}
