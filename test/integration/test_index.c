/* The catalogue index with real embeddings (fixture clips through FFmpeg and the built-in model)
 * plus seeded random distractors: exact and approximate FAISS search, two-stage search finding a
 * partial copy, on-disk append / reopen, corrupt and truncated files, model mismatch, a
 * simulated crash during an add, and concurrent searches. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/objects.h"
#include "index/index.h"
#include "test_paths.h"
#include "vinfringe.h"

static vi_model *model;
static vi_embedding *clip_a, *clip_b, *clip_vp8, *clip_copy, *clip_long;
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
    clip_vp8 = embed("clip_vp8.webm");
    clip_copy = embed("clip_a_copy.mp4");
    clip_long = embed("clip_long.mp4");
    snprintf(dir, sizeof dir, "/tmp/vi_index_test_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    vi_embedding_free(clip_a);
    vi_embedding_free(clip_b);
    vi_embedding_free(clip_vp8);
    vi_embedding_free(clip_copy);
    vi_embedding_free(clip_long);
    vi_model_free(model);
}

static const char *tmp(const char *name) {
    static char ring[16][256];
    static int next;
    char *p = ring[next++ % 16];
    snprintf(p, sizeof ring[0], "%s/%s", dir, name);
    return p;
}

/* The data file of the on-disk index `name` in the test directory: "<name>.<uid>.vec", the only
 * one (a rebuild removes the one it replaced). */
static const char *data_file(const char *name) {
    static char path[2][300];
    static int next;
    char *p = path[next++ % 2];
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int found = 0;
    const size_t n = strlen(name);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const size_t len = strlen(de->d_name);
        if (len == n + 21 && strncmp(de->d_name, name, n) == 0 && de->d_name[n] == '.' &&
            strcmp(de->d_name + len - 4, ".vec") == 0) {
            snprintf(p, sizeof path[0], "%s/%s", dir, de->d_name);
            found++;
        }
    }
    closedir(d);
    ck_assert_msg(found == 1, "%d data files for %s", found, name);
    return p;
}

/* A random embedding of n frames (normalised Gaussian vectors, 1 fps) of the model's id. */
static vi_embedding *distractor(uint64_t seed, int32_t n, const char *model_id) {
    struct vi_embedding *e;
    ck_assert_int_eq(vi__embedding_alloc(256, n, model_id, &e), VI_OK);
    uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
    for (int32_t f = 0; f <= n; f++) {
        float *v = f < n ? e->frames + (size_t)f * 256 : e->video;
        double norm = 0;
        for (int d = 0; d < 256; d++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            const double u1 = ((double)(s >> 11) + 1) / 9007199254740993.0;
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            const double u2 = (double)(s >> 11) / 9007199254740992.0;
            v[d] = (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
            norm += (double)v[d] * v[d];
        }
        for (int d = 0; d < 256; d++) v[d] = (float)(v[d] / sqrt(norm));
        if (f < n) e->pts_us[f] = (int64_t)f * 1000000;
    }
    e->duration = n;
    return e;
}

static void add(vi_index *x, const char *id, const vi_embedding *e) {
    vi_status st = vi_index_add(x, id, e);
    ck_assert_msg(st == VI_OK, "add %s: %s", id, vi_last_error());
}

/* clip_a, clip_b, clip_vp8, clip_long and `n_distractors` random references of 30 s. */
static void fill(vi_index *x, int n_distractors) {
    add(x, "clip_b", clip_b);
    for (int i = 0; i < n_distractors; i++) {
        char id[32];
        snprintf(id, sizeof id, "noise%03d", i);
        vi_embedding *d = distractor((uint64_t)i + 1, 30, vi_model_id(model));
        add(x, id, d);
        vi_embedding_free(d);
        if (i == n_distractors / 2) add(x, "clip_a", clip_a);
    }
    if (n_distractors == 0) add(x, "clip_a", clip_a);
    add(x, "clip_vp8", clip_vp8);
    add(x, "clip_long", clip_long);
}

static vi_hits *search(const vi_index *x, const vi_embedding *q, int k) {
    vi_hits *h = NULL;
    vi_status st = vi_index_search(x, q, k, &h);
    ck_assert_msg(st == VI_OK, "search: %s", vi_last_error());
    return h;
}

static vi_index_options opts(int32_t kind, int32_t candidates) {
    vi_index_options o;
    ck_assert_int_eq(VI_INDEX_OPTIONS_INIT(o), VI_OK);
    o.kind = kind;
    o.candidates = candidates;
    return o;
}

static void assert_same_hits(const vi_hits *a, const vi_hits *b) {
    ck_assert_int_eq(vi_hits_count(a), vi_hits_count(b));
    for (int32_t i = 0; i < vi_hits_count(a); i++) {
        ck_assert_str_eq(vi_hits_id(a, i), vi_hits_id(b, i));
        ck_assert_float_eq(vi_hits_score(a, i), vi_hits_score(b, i));
        ck_assert_int_eq(vi_match_segment_count(vi_hits_match(a, i)),
                         vi_match_segment_count(vi_hits_match(b, i)));
    }
}

START_TEST(test_exact_and_approximate_agree_on_the_copy) {
    /* 200 distractors x 30 s + the clips: 6 000+ frame vectors, 5 candidates re-ranked */
    vi_index_options oe = opts(VI_INDEX_EXACT, 5), oh = opts(VI_INDEX_HNSW, 5);
    vi_index *exact, *hnsw;
    ck_assert_int_eq(vi_index_create_with(&oe, &exact), VI_OK);
    ck_assert_int_eq(vi_index_create_with(&oh, &hnsw), VI_OK);
    fill(exact, 200);
    fill(hnsw, 200);
    ck_assert_int_eq(vi_index_kind_used(exact), VI_INDEX_EXACT);
    ck_assert_int_eq(vi_index_kind_used(hnsw), VI_INDEX_HNSW);
    ck_assert_int_eq(vi_index_size(exact), 204);
    ck_assert_int_eq(vi_index_frame_count(exact), 200 * 30 + vi_embedding_frame_count(clip_a) +
                     vi_embedding_frame_count(clip_b) + vi_embedding_frame_count(clip_vp8) +
                     vi_embedding_frame_count(clip_long));
    vi_hits *he = search(exact, clip_copy, 3), *hh = search(hnsw, clip_copy, 3);
    ck_assert_str_eq(vi_hits_id(he, 0), "clip_a");
    ck_assert_str_eq(vi_hits_id(hh, 0), "clip_a");
    /* the re-ranking is the same full comparison: the same segments for the same reference, in
     * both and as vi_compare on the float16-stored reference (within float16's rounding). A
     * calibrated score also weighs the other candidates (docs/thresholds.md), which stage 1 of
     * exact and HNSW may choose differently; an uncalibrated one is vi_compare's. */
    vi_match *m;
    ck_assert_int_eq(vi_compare(clip_copy, clip_a, NULL, &m), VI_OK);
    const vi_match *me = vi_hits_match(he, 0), *mh = vi_hits_match(hh, 0);
    ck_assert_int_eq(vi_match_segment_count(me), vi_match_segment_count(m));
    ck_assert_int_eq(vi_match_segment_count(mh), vi_match_segment_count(m));
    for (int32_t i = 0; i < vi_match_segment_count(m); i++) {
        vi_segment a, b;
        ck_assert_int_eq(vi_match_segment(me, i, &a), VI_OK);
        ck_assert_int_eq(vi_match_segment(m, i, &b), VI_OK);
        ck_assert_double_eq_tol(a.query_start, b.query_start, 0.01);
        ck_assert_double_eq_tol(a.ref_end, b.ref_end, 0.01);
    }
    if (!vi_match_is_calibrated(m)) {
        ck_assert_float_eq(vi_hits_score(he, 0), vi_hits_score(hh, 0));
        ck_assert_float_eq_tol(vi_hits_score(he, 0), vi_match_score(m), 0.01f);
    }
    ck_assert_int_eq(vi_match_is_copy(me), vi_hits_score(he, 0) >= vi_match_threshold(me));
    vi_match_free(m);
    /* every clip finds itself first in both */
    const vi_embedding *self[] = {clip_b, clip_vp8, clip_long};
    const char *names[] = {"clip_b", "clip_vp8", "clip_long"};
    for (int i = 0; i < 3; i++) {
        vi_hits *a = search(exact, self[i], 1), *b = search(hnsw, self[i], 1);
        ck_assert_str_eq(vi_hits_id(a, 0), names[i]);
        assert_same_hits(a, b);
        vi_hits_free(a);
        vi_hits_free(b);
    }
    vi_hits_free(he);
    vi_hits_free(hh);
    vi_index_free(exact);
    vi_index_free(hnsw);
}
END_TEST

START_TEST(test_ivfpq_index_trains_and_finds_the_copy) {
    vi_index_options o = opts(VI_INDEX_IVFPQ, 5);
    vi_index *x;
    ck_assert_int_eq(vi_index_create_with(&o, &x), VI_OK);
    fill(x, 2);
    ck_assert_int_eq(vi_index_kind_used(x), VI_INDEX_EXACT); /* too few vectors to train */
    for (int i = 0; i < 340; i++) {
        char id[32];
        snprintf(id, sizeof id, "more%03d", i);
        vi_embedding *d = distractor((uint64_t)i + 1000, 30, vi_model_id(model));
        add(x, id, d);
        vi_embedding_free(d);
    }
    ck_assert_int_ge(vi_index_frame_count(x), VI__INDEX_IVFPQ_MIN);
    ck_assert_int_eq(vi_index_kind_used(x), VI_INDEX_IVFPQ);
    vi_hits *h = search(x, clip_copy, 3);
    ck_assert_str_eq(vi_hits_id(h, 0), "clip_a");
    vi_hits_free(h);
    vi_index_free(x);
}
END_TEST

/* A query of `n` seconds: clip_b's first 3 s, 5 s of clip_a_copy (seconds 3..7), clip_vp8. */
static vi_embedding *spliced_query(void) {
    const vi_embedding *parts[] = {clip_b, clip_copy, clip_vp8};
    const int32_t from[] = {0, 3, 0}, count[] = {3, 5, 4};
    struct vi_embedding *q;
    ck_assert_int_eq(vi__embedding_alloc(256, 12, vi_model_id(model), &q), VI_OK);
    int32_t f = 0;
    double video[256] = {0};
    for (int p = 0; p < 3; p++) {
        ck_assert_int_ge(vi_embedding_frame_count(parts[p]), from[p] + count[p]);
        for (int32_t i = 0; i < count[p]; i++, f++) {
            memcpy(q->frames + (size_t)f * 256,
                   vi_embedding_frame_vectors(parts[p]) + (size_t)(from[p] + i) * 256,
                   256 * sizeof(float));
            q->pts_us[f] = (int64_t)f * 1000000;
            for (int d = 0; d < 256; d++) video[d] += q->frames[(size_t)f * 256 + d];
        }
    }
    double norm = 0;
    for (int d = 0; d < 256; d++) norm += video[d] * video[d];
    for (int d = 0; d < 256; d++) q->video[d] = (float)(video[d] / sqrt(norm));
    q->duration = 12;
    return q;
}

START_TEST(test_two_stage_search_finds_a_partial_copy) {
    vi_index_options o = opts(VI_INDEX_EXACT, 3);
    vi_index *x;
    ck_assert_int_eq(vi_index_create_with(&o, &x), VI_OK);
    fill(x, 100);
    vi_embedding *q = spliced_query();
    vi_hits *h = search(x, q, 3);
    int found = -1;
    for (int32_t i = 0; i < vi_hits_count(h); i++)
        if (strcmp(vi_hits_id(h, i), "clip_a") == 0) found = i;
    ck_assert_msg(found >= 0, "clip_a is not among the 3 candidates re-ranked");
    /* the copied excerpt is localised: a segment inside the query's seconds 3..8 */
    const vi_match *m = vi_hits_match(h, found);
    ck_assert_int_ge(vi_match_segment_count(m), 1);
    vi_segment s;
    int inside = 0;
    for (int32_t i = 0; i < vi_match_segment_count(m); i++) {
        ck_assert_int_eq(vi_match_segment(m, i, &s), VI_OK);
        if (s.query_start < 8.0 && s.query_end > 3.0) inside = 1;
    }
    ck_assert_msg(inside, "no segment overlaps the copied seconds 3..8 of the query");
    vi_hits_free(h);
    vi_embedding_free(q);
    vi_index_free(x);
}
END_TEST

START_TEST(test_on_disk_index_appends_and_reopens) {
    char path[256];
    snprintf(path, sizeof path, "%s", tmp("cat.vidx"));
    vi_index_options o = opts(VI_INDEX_HNSW, 3);
    vi_index *x;
    ck_assert_int_eq(vi_index_open(path, &o, &x), VI_OK);
    ck_assert_int_eq(vi_index_size(x), 0);
    add(x, "clip_b", clip_b);
    add(x, "clip_a", clip_a);
    ck_assert_int_eq(vi_index_flush(x), VI_OK);
    vi_index_free(x);
    struct stat sb;
    ck_assert_int_eq(stat(data_file("cat.vidx"), &sb), 0);
    ck_assert_int_eq(stat(tmp("cat.vidx.faiss"), &sb), 0);
    /* reopen with default options: the stored kind sticks; append without rebuilding */
    ck_assert_int_eq(vi_index_open(path, NULL, &x), VI_OK);
    ck_assert_int_eq(vi_index_size(x), 2);
    ck_assert_int_eq(vi_index_kind_used(x), VI_INDEX_HNSW);
    for (int i = 0; i < 20; i++) {
        char id[32];
        snprintf(id, sizeof id, "noise%03d", i);
        vi_embedding *d = distractor((uint64_t)i + 7, 30, vi_model_id(model));
        add(x, id, d);
        vi_embedding_free(d);
    }
    add(x, "clip_vp8", clip_vp8);
    vi_index_free(x);
    /* the same references in memory rank the same way as the reopened file */
    vi_index *mem, *disk;
    vi_index_options om = opts(VI_INDEX_HNSW, 3);
    ck_assert_int_eq(vi_index_create_with(&om, &mem), VI_OK);
    add(mem, "clip_b", clip_b);
    add(mem, "clip_a", clip_a);
    for (int i = 0; i < 20; i++) {
        char id[32];
        snprintf(id, sizeof id, "noise%03d", i);
        vi_embedding *d = distractor((uint64_t)i + 7, 30, vi_model_id(model));
        add(mem, id, d);
        vi_embedding_free(d);
    }
    add(mem, "clip_vp8", clip_vp8);
    vi_index *loaded;
    ck_assert_int_eq(vi_index_load(path, &loaded), VI_OK); /* load = open read-only */
    ck_assert_int_eq(vi_index_size(loaded), 23);
    ck_assert_int_eq(vi_index_kind_used(loaded), VI_INDEX_HNSW);
    om.read_only = 1;
    ck_assert_int_eq(vi_index_open(path, &om, &disk), VI_OK);
    ck_assert_int_eq(vi_index_size(disk), 23);
    ck_assert_str_eq(vi_index_id(disk, 22), "clip_vp8");
    ck_assert_int_eq(vi_index_add(disk, "x", clip_a), VI_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "read-only"));
    vi_hits *a = search(mem, clip_copy, 5), *b = search(disk, clip_copy, 5);
    ck_assert_str_eq(vi_hits_id(b, 0), "clip_a");
    assert_same_hits(a, b);
    vi_hits_free(a);
    vi_hits_free(b);
    /* save writes a single self-contained file that loads back the same */
    ck_assert_int_eq(vi_index_save(disk, tmp("single.vidx")), VI_OK);
    vi_index *single;
    ck_assert_int_eq(vi_index_load(tmp("single.vidx"), &single), VI_OK);
    ck_assert_int_eq(vi_index_kind_used(single), VI_INDEX_HNSW);
    a = search(single, clip_copy, 5);
    b = search(loaded, clip_copy, 5);
    assert_same_hits(a, b);
    vi_hits_free(a);
    vi_hits_free(b);
    /* a single-file index cannot be appended to */
    vi_index *bad;
    ck_assert_int_eq(vi_index_open(tmp("single.vidx"), NULL, &bad), VI_E_FORMAT);
    ck_assert_ptr_null(bad);
    vi_index_free(single);
    vi_index_free(loaded);
    vi_index_free(disk);
    vi_index_free(mem);
}
END_TEST

static void copy_file(const char *from, const char *to) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    ck_assert_int_eq(system(cmd), 0);
}

static void open_fails(const char *path, vi_status want, const char *needle) {
    vi_index *x = (vi_index *)1;
    vi_status st = vi_index_load(path, &x);
    ck_assert_msg(st == want, "status %d (%s), want %d", st, vi_last_error(), want);
    ck_assert_ptr_null(x);
    ck_assert_msg(strstr(vi_last_error(), needle), "'%s' not in: %s", needle, vi_last_error());
}

START_TEST(test_corrupt_or_truncated_files_are_refused) {
    char path[256];
    snprintf(path, sizeof path, "%s", tmp("c.vidx"));
    vi_index *x;
    ck_assert_int_eq(vi_index_open(path, NULL, &x), VI_OK);
    fill(x, 3);
    vi_index_free(x);
    char vec[300];
    snprintf(vec, sizeof vec, "%s", data_file("c.vidx"));
    copy_file(vec, tmp("good.vec"));
    copy_file(path, tmp("good.manifest"));
    /* a data file cut short: the cut entry reads as an append a crash interrupted, the entries
     * before it remain */
    struct stat sb;
    ck_assert_int_eq(stat(vec, &sb), 0);
    ck_assert_int_eq(truncate(vec, sb.st_size - 100), 0);
    ck_assert_int_eq(vi_index_load(path, &x), VI_OK);
    ck_assert_int_eq(vi_index_size(x), 6);
    vi_index_free(x);
    /* one flipped byte in a record with entries after it: a corrupt file */
    copy_file(tmp("good.vec"), vec);
    FILE *f = fopen(vec, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, 64 + 1000, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 64 + 1000, SEEK_SET);
    fputc(c ^ 0x10, f);
    fclose(f);
    open_fails(path, VI_E_FORMAT, "CRC");
    /* a damaged data header */
    copy_file(tmp("good.vec"), vec);
    f = fopen(vec, "r+b");
    fputc('X', f);
    fclose(f);
    open_fails(path, VI_E_FORMAT, "c.vidx.");
    /* missing data file */
    ck_assert_int_eq(unlink(vec), 0);
    open_fails(path, VI_E_IO, "c.vidx.");
    /* truncated manifest */
    copy_file(tmp("good.vec"), vec);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(truncate(path, sb.st_size / 2), 0);
    open_fails(path, VI_E_FORMAT, "c.vidx");
    /* a data file of another index under this one's name */
    copy_file(tmp("good.manifest"), path);
    vi_index *other;
    ck_assert_int_eq(vi_index_open(tmp("o.vidx"), NULL, &other), VI_OK);
    add(other, "clip_a", clip_a);
    vi_index_free(other);
    copy_file(data_file("o.vidx"), vec);
    open_fails(path, VI_E_FORMAT, "another index");
    /* the good pair opens again; a damaged FAISS cache is rebuilt, not trusted */
    copy_file(tmp("good.vec"), vec);
    ck_assert_int_eq(vi_index_load(path, &x), VI_OK);
    ck_assert_int_eq(vi_index_size(x), 7);
    vi_index_free(x);
    vi_index_options oh = opts(VI_INDEX_HNSW, 3);
    ck_assert_int_eq(vi_index_open(path, &oh, &x), VI_OK);
    vi_index_free(x);
    ck_assert_int_eq(stat(tmp("c.vidx.faiss"), &sb), 0);
    ck_assert_int_eq(truncate(tmp("c.vidx.faiss"), sb.st_size - 10), 0);
    ck_assert_int_eq(vi_index_load(path, &x), VI_OK);
    ck_assert_int_eq(vi_index_kind_used(x), VI_INDEX_HNSW);
    vi_hits *h = search(x, clip_copy, 1);
    ck_assert_str_eq(vi_hits_id(h, 0), "clip_a");
    vi_hits_free(h);
    vi_index_free(x);
}
END_TEST

START_TEST(test_model_mismatch_names_both_models) {
    vi_index *x;
    ck_assert_int_eq(vi_index_open(tmp("m.vidx"), NULL, &x), VI_OK);
    add(x, "clip_a", clip_a);
    vi_embedding *other = distractor(3, 10, "another-model:12345678");
    ck_assert_int_eq(vi_index_add(x, "other", other), VI_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "another-model:12345678"));
    ck_assert_ptr_nonnull(strstr(vi_last_error(), vi_model_id(model)));
    ck_assert_int_eq(vi_index_size(x), 1);
    vi_index_free(x);
    ck_assert_int_eq(vi_index_load(tmp("m.vidx"), &x), VI_OK);
    vi_hits *h = (vi_hits *)1;
    ck_assert_int_eq(vi_index_search(x, other, 3, &h), VI_E_FORMAT);
    ck_assert_ptr_null(h);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "another-model:12345678"));
    ck_assert_ptr_nonnull(strstr(vi_last_error(), vi_model_id(model)));
    vi_index_free(x);
    vi_embedding_free(other);
}
END_TEST

START_TEST(test_crash_during_add_leaves_previous_index) {
    char path[256];
    snprintf(path, sizeof path, "%s", tmp("k.vidx"));
    vi_index *x;
    ck_assert_int_eq(vi_index_open(path, NULL, &x), VI_OK);
    add(x, "clip_a", clip_a);
    add(x, "clip_b", clip_b);
    vi_index_free(x);
    struct stat sb;
    ck_assert_int_eq(stat(data_file("k.vidx"), &sb), 0);
    const off_t committed = sb.st_size;
    /* An add that died half-way through writing its entry: cut the third entry short. */
    ck_assert_int_eq(vi_index_open(path, NULL, &x), VI_OK);
    add(x, "clip_vp8", clip_vp8);
    vi_index_free(x);
    ck_assert_int_eq(stat(data_file("k.vidx"), &sb), 0);
    ck_assert_int_eq(truncate(data_file("k.vidx"), committed + (sb.st_size - committed) / 2), 0);
    ck_assert_int_eq(vi_index_load(path, &x), VI_OK);
    ck_assert_int_eq(vi_index_size(x), 2);
    vi_hits *h = search(x, clip_copy, 2);
    ck_assert_str_eq(vi_hits_id(h, 0), "clip_a");
    vi_hits_free(h);
    vi_index_free(x);
    /* the next writer cuts the incomplete entry off before anything else */
    ck_assert_int_eq(vi_index_open(path, NULL, &x), VI_OK);
    ck_assert_int_eq(stat(data_file("k.vidx"), &sb), 0);
    ck_assert_int_eq(sb.st_size, committed);
    add(x, "clip_long", clip_long);
    ck_assert_int_eq(vi_index_size(x), 3);
    vi_index_free(x);
    ck_assert_int_eq(vi_index_load(path, &x), VI_OK);
    ck_assert_str_eq(vi_index_id(x, 2), "clip_long");
    vi_index_free(x);
    /* a second writer is refused while the first has the index open */
    vi_index *w1, *w2;
    ck_assert_int_eq(vi_index_open(path, NULL, &w1), VI_OK);
    ck_assert_int_eq(vi_index_open(path, NULL, &w2), VI_E_IO);
    vi_index_free(w1);
}
END_TEST

struct job {
    const vi_index *x;
    const vi_embedding *const *queries;
    int n;
    vi_hits *out[4];
    int failed;
};

static void *run_job(void *arg) {
    struct job *j = arg;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < j->n; i++) {
            vi_hits *h = NULL;
            if (vi_index_search(j->x, j->queries[i], 5, &h) != VI_OK) j->failed = 1;
            if (round == 2) j->out[i] = h;
            else vi_hits_free(h);
        }
    }
    return NULL;
}

START_TEST(test_concurrent_searches_match_serial_ones) {
    vi_index_options o = opts(VI_INDEX_HNSW, 4);
    vi_index *x;
    ck_assert_int_eq(vi_index_open(tmp("t.vidx"), &o, &x), VI_OK);
    fill(x, 60);
    const vi_embedding *queries[] = {clip_copy, clip_b, clip_vp8, clip_long};
    vi_hits *serial[4];
    for (int i = 0; i < 4; i++) serial[i] = search(x, queries[i], 5);
    struct job jobs[4];
    pthread_t th[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (struct job){.x = x, .queries = queries, .n = 4};
        ck_assert_int_eq(pthread_create(&th[t], NULL, run_job, &jobs[t]), 0);
    }
    for (int t = 0; t < 4; t++) ck_assert_int_eq(pthread_join(th[t], NULL), 0);
    for (int t = 0; t < 4; t++) {
        ck_assert(!jobs[t].failed);
        for (int i = 0; i < 4; i++) {
            assert_same_hits(serial[i], jobs[t].out[i]);
            vi_hits_free(jobs[t].out[i]);
        }
    }
    for (int i = 0; i < 4; i++) vi_hits_free(serial[i]);
    vi_index_free(x);
}
END_TEST

START_TEST(test_index_options_are_checked) {
    vi_index_options o;
    ck_assert_int_eq(VI_INDEX_OPTIONS_INIT(o), VI_OK);
    ck_assert_int_eq(o.kind, VI_INDEX_AUTO);
    ck_assert_int_eq(o.candidates, 20);
    ck_assert_int_eq(o.frame_neighbors, 16);
    vi_index *x = (vi_index *)1;
    o.kind = 7;
    ck_assert_int_eq(vi_index_create_with(&o, &x), VI_E_INVALID_ARG);
    ck_assert_ptr_null(x);
    o.kind = 0;
    o.candidates = -1;
    ck_assert_int_eq(vi_index_open(tmp("never.vidx"), &o, &x), VI_E_INVALID_ARG);
    o.candidates = 0;
    o.read_only = 1;
    ck_assert_int_eq(vi_index_open(tmp("never.vidx"), &o, &x), VI_E_IO);
    ck_assert_int_eq(access(tmp("never.vidx"), F_OK), -1);
    ck_assert_int_eq(vi_index_options_init(NULL, sizeof o), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_index_flush(NULL), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_index_kind_used(NULL), VI_INDEX_EXACT);
    ck_assert_int_eq(vi_index_frame_count(NULL), 0);
    /* an older, smaller options struct: the missing fields keep their defaults */
    struct {
        uint32_t struct_size;
        int32_t kind;
    } old = {sizeof old, VI_INDEX_EXACT};
    ck_assert_int_eq(vi_index_create_with((const vi_index_options *)(void *)&old, &x), VI_OK);
    vi_index_free(x);
}
END_TEST

Suite *index_suite(void) {
    Suite *s = suite_create("index");
    TCase *tc = tcase_create("index");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_exact_and_approximate_agree_on_the_copy);
    tcase_add_test(tc, test_ivfpq_index_trains_and_finds_the_copy);
    tcase_add_test(tc, test_two_stage_search_finds_a_partial_copy);
    tcase_add_test(tc, test_on_disk_index_appends_and_reopens);
    tcase_add_test(tc, test_corrupt_or_truncated_files_are_refused);
    tcase_add_test(tc, test_model_mismatch_names_both_models);
    tcase_add_test(tc, test_crash_during_add_leaves_previous_index);
    tcase_add_test(tc, test_concurrent_searches_match_serial_ones);
    tcase_add_test(tc, test_index_options_are_checked);
    suite_add_tcase(s, tc);
    return s;
}
