/* The container, embedding files and index files: round trips and every kind of damage.
 * Pure C, no FFmpeg or libtorch: embeddings are built by hand from a seeded generator. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/formats.h"
#include "index/index.h"
#include "index/index_file.h"

static float frand(unsigned *seed) { return (float)rand_r(seed) / (float)RAND_MAX - 0.5f; }

static vi_embedding *make_embedding(int32_t dim, int32_t n, unsigned seed, const char *model) {
    struct vi_embedding *e;
    ck_assert_int_eq(vi__embedding_alloc(dim, n, model, &e), VI_OK);
    for (int32_t i = 0; i < dim; i++) e->video[i] = frand(&seed);
    for (int32_t i = 0; i < dim * n; i++) e->frames[i] = frand(&seed);
    for (int32_t i = 0; i < n; i++) e->pts_us[i] = 1000000LL * i + 33;
    e->duration = n + 0.5;
    return e;
}

static void assert_same_embedding(const vi_embedding *a, const vi_embedding *b) {
    ck_assert_int_eq(vi_embedding_dim(a), vi_embedding_dim(b));
    ck_assert_int_eq(vi_embedding_frame_count(a), vi_embedding_frame_count(b));
    int32_t d = vi_embedding_dim(a), n = vi_embedding_frame_count(a);
    ck_assert_mem_eq(vi_embedding_video_vector(a), vi_embedding_video_vector(b), d * 4);
    ck_assert_mem_eq(vi_embedding_frame_vectors(a), vi_embedding_frame_vectors(b), (size_t)d * n * 4);
    ck_assert_mem_eq(vi_embedding_timestamps(a), vi_embedding_timestamps(b), (size_t)n * 8);
    ck_assert_double_eq(vi_embedding_duration(a), vi_embedding_duration(b));
    ck_assert_str_eq(vi_embedding_model_id(a), vi_embedding_model_id(b));
}

START_TEST(test_container_round_trip_keeps_every_entry) {
    vi__docw *w = vi__docw_create();
    float f[6] = {1, -2, 3.5f, 0, 1e-7f, -1e7f};
    uint8_t q[4] = {0, 1, 128, 255};
    vi__tensor tf = {"a/f", VI__DT_F32, 2, {2, 3}, 0, 0, f, 0};
    vi__tensor tq = {"b.q", VI__DT_U8Q, 1, {4}, 0.5f, -1.0f, q, 0};
    vi__docw_str(w, "s", "hello");
    vi__docw_i64(w, "i", -1234567890123LL);
    vi__docw_f64(w, "d", 0.1);
    vi__docw_tensor(w, &tf);
    vi__docw_tensor(w, &tq);
    uint8_t *buf;
    size_t n;
    ck_assert_int_eq(vi__docw_finish(w, VI__MAGIC_MODEL, &buf, &n), VI_OK);
    vi__doc *doc;
    ck_assert_int_eq(vi__doc_parse(buf, n, VI__MAGIC_MODEL, VI_E_BAD_MODEL, &doc), VI_OK);
    int64_t i;
    double d;
    ck_assert_str_eq(vi__doc_str(doc, "s"), "hello");
    ck_assert(vi__doc_i64(doc, "i", &i) && i == -1234567890123LL);
    ck_assert(vi__doc_f64(doc, "d", &d) && d == 0.1);
    ck_assert_ptr_null(vi__doc_str(doc, "i")); /* wrong type reads as absent */
    ck_assert_int_eq(vi__doc_tensor_count(doc), 2);
    const vi__tensor *t = vi__doc_tensor(doc, "a/f");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->ndim, 2);
    ck_assert_int_eq(t->dims[1], 3);
    float back[6];
    vi__tensor_to_f32(t, back);
    ck_assert_mem_eq(back, f, sizeof f);
    float deq[4];
    vi__tensor_to_f32(vi__doc_tensor(doc, "b.q"), deq);
    for (int k = 0; k < 4; k++) ck_assert_float_eq(deq[k], q[k] * 0.5f - 1.0f);
    vi__doc_free(doc);
    /* another kind's magic is refused */
    ck_assert_int_eq(vi__doc_parse(buf, n, VI__MAGIC_INDEX, VI_E_FORMAT, &doc), VI_E_FORMAT);
    ck_assert_ptr_null(doc);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "magic"));
    vi__free(buf);
}
END_TEST

/* Every truncation and every single-byte flip of a small file must be rejected cleanly. */
START_TEST(test_container_rejects_every_truncation_and_flip) {
    vi_embedding *e = make_embedding(8, 3, 7, "m:1");
    uint8_t *buf;
    size_t n;
    ck_assert_int_eq(vi__embedding_encode(e, &buf, &n), VI_OK);
    vi_embedding *back = NULL;
    for (size_t cut = 0; cut < n; cut++) {
        ck_assert_int_eq(vi__embedding_decode(buf, cut, &back), VI_E_FORMAT);
        ck_assert_ptr_null(back);
        ck_assert(strlen(vi_last_error()) > 0);
    }
    for (size_t pos = 0; pos < n; pos++) {
        buf[pos] ^= 0x5a;
        ck_assert_int_eq(vi__embedding_decode(buf, n, &back), VI_E_FORMAT);
        buf[pos] ^= 0x5a;
    }
    ck_assert_int_eq(vi__embedding_decode(buf, n, &back), VI_OK);
    assert_same_embedding(e, back);
    vi_embedding_free(back);
    vi_embedding_free(e);
    vi__free(buf);
}
END_TEST

START_TEST(test_container_refuses_newer_version) {
    vi_embedding *e = make_embedding(4, 1, 3, "m:1");
    uint8_t *buf;
    size_t n;
    ck_assert_int_eq(vi__embedding_encode(e, &buf, &n), VI_OK);
    buf[8] = VI__FORMAT_VERSION + 1;
    uint32_t crc = vi__crc32(0, buf, 36); /* a well-formed header of a future version */
    for (int k = 0; k < 4; k++) buf[36 + k] = (uint8_t)(crc >> (8 * k));
    vi_embedding *back;
    ck_assert_int_eq(vi__embedding_decode(buf, n, &back), VI_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "version"));
    vi__free(buf);
    vi_embedding_free(e);
}
END_TEST

START_TEST(test_embedding_file_round_trip_and_bad_files) {
    char dir[] = "/tmp/vi_formats_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s/e.vemb", dir);
    snprintf(bad, sizeof bad, "%s/bad.vemb", dir);
    vi_embedding *e = make_embedding(16, 5, 11, "model-x:00ff00ff");
    ck_assert_int_eq(vi_embedding_save(e, path), VI_OK);
    vi_embedding *back;
    ck_assert_int_eq(vi_embedding_load(path, &back), VI_OK);
    assert_same_embedding(e, back);
    vi_embedding_free(back);
    void *mem;
    size_t n;
    ck_assert_int_eq(vi_embedding_to_memory(e, &mem, &n), VI_OK);
    ck_assert_int_eq(vi_embedding_from_memory(mem, n, &back), VI_OK);
    assert_same_embedding(e, back);
    vi_embedding_free(back);
    /* missing file, directory, empty file, text file, truncated file */
    ck_assert_int_eq(vi_embedding_load("/nonexistent/x.vemb", &back), VI_E_IO);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "/nonexistent/x.vemb"));
    ck_assert_int_eq(vi_embedding_load(dir, &back), VI_E_IO);
    FILE *f = fopen(bad, "wb");
    fclose(f);
    ck_assert_int_eq(vi_embedding_load(bad, &back), VI_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), bad));
    f = fopen(bad, "wb");
    fputs("this is a text file, not an embedding, but long enough for a header......\n", f);
    fclose(f);
    ck_assert_int_eq(vi_embedding_load(bad, &back), VI_E_FORMAT);
    f = fopen(bad, "wb");
    fwrite(mem, 1, n - 3, f);
    fclose(f);
    ck_assert_int_eq(vi_embedding_load(bad, &back), VI_E_FORMAT);
    ck_assert_ptr_null(back);
    /* NULL arguments */
    ck_assert_int_eq(vi_embedding_load(NULL, &back), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_embedding_load(path, NULL), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_embedding_save(NULL, path), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_embedding_from_memory(NULL, 10, &back), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_embedding_save(e, "/nonexistent/dir/e.vemb"), VI_E_IO);
    vi_buffer_free(mem);
    vi_buffer_free(NULL);
    vi_embedding_free(NULL);
    vi_embedding_free(e);
    unlink(path);
    unlink(bad);
    rmdir(dir);
}
END_TEST

/* A single-file index decoded into a store and its table, as vi_index_load reads it. */
struct decoded_index {
    vi__store *store;
    struct vi__refs refs;
    int32_t kind;
};

static vi_status decode_index(const uint8_t *buf, size_t n, struct decoded_index *d) {
    memset(d, 0, sizeof *d);
    return vi__index_file_decode(buf, n, &d->store, &d->refs, &d->kind);
}

static void decoded_free(struct decoded_index *d) {
    if (d->store) d->store->ops->close(d->store);
    vi__refs_clear(&d->refs);
}

START_TEST(test_index_file_round_trip_keeps_ids_and_vectors) {
    vi_index *x;
    ck_assert_int_eq(vi_index_create(&x), VI_OK);
    const char *ids[] = {"first", "", "third with spaces"};
    vi_embedding *e[3];
    for (int i = 0; i < 3; i++) {
        e[i] = make_embedding(8, 1 + 2 * i, 100 + i, "m:2");
        ck_assert_int_eq(vi_index_add(x, ids[i], e[i]), VI_OK);
    }
    vi_embedding *other = make_embedding(8, 2, 5, "another:1");
    ck_assert_int_eq(vi_index_add(x, "x", other), VI_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "another:1"));
    uint8_t *buf;
    size_t n;
    ck_assert_int_eq(vi__index_file_encode(&x->refs, x->store->base, VI_INDEX_HNSW, &buf, &n),
                     VI_OK);
    struct decoded_index back;
    ck_assert_int_eq(decode_index(buf, n, &back), VI_OK);
    ck_assert_int_eq(back.refs.n, 3);
    ck_assert_int_eq(back.kind, VI_INDEX_HNSW);
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(back.refs.ids[i], ids[i]);
        /* the index stores float16: compare what both hold, decoded */
        struct vi_embedding *ra, *rb;
        ck_assert_int_eq(vi__record_embedding(&x->refs, x->store->base, i, &ra), VI_OK);
        ck_assert_int_eq(vi__record_embedding(&back.refs, back.store->base, i, &rb), VI_OK);
        assert_same_embedding(ra, rb);
        ck_assert(vi_embedding_duration(ra) == vi_embedding_duration(rb));
        vi_embedding_free(ra);
        vi_embedding_free(rb);
    }
    decoded_free(&back);
    for (size_t cut = 0; cut < n; cut += 7) {
        struct decoded_index bad;
        ck_assert_int_eq(decode_index(buf, cut, &bad), VI_E_FORMAT);
        ck_assert_ptr_null(bad.store);
        ck_assert_int_eq(bad.refs.n, 0);
    }
    vi__free(buf);
    /* an empty index round-trips too */
    vi_index *empty;
    ck_assert_int_eq(vi_index_create(&empty), VI_OK);
    ck_assert_int_eq(vi__index_file_encode(&empty->refs, empty->store->base, 0, &buf, &n), VI_OK);
    ck_assert_int_eq(decode_index(buf, n, &back), VI_OK);
    ck_assert_int_eq(back.refs.n, 0);
    decoded_free(&back);
    vi__free(buf);
    vi_index_free(empty);
    for (int i = 0; i < 3; i++) vi_embedding_free(e[i]);
    vi_embedding_free(other);
    vi_index_free(x);
    vi_index_free(NULL);
}
END_TEST

START_TEST(test_status_strings_and_options_init) {
    for (int s = 0; s <= VI_E_CANCELLED; s++) ck_assert(strlen(vi_status_str((vi_status)s)) > 0);
    ck_assert_str_eq(vi_status_str((vi_status)12345), "unknown status");
    vi_embed_options o;
    ck_assert_int_eq(VI_EMBED_OPTIONS_INIT(o), VI_OK);
    ck_assert_uint_eq(o.struct_size, sizeof o);
    ck_assert_float_eq(o.fps, 1.0f);
    ck_assert_int_eq(vi_embed_options_init(NULL, sizeof o), VI_E_INVALID_ARG);
    vi_compare_options c;
    ck_assert_int_eq(VI_COMPARE_OPTIONS_INIT(c), VI_OK);
    ck_assert_int_eq(c.localize, 1);
    ck_assert_uint_eq(vi_version(), VI_VERSION_NUMBER);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", VI_VERSION_MAJOR, VI_VERSION_MINOR, VI_VERSION_PATCH);
    ck_assert_str_eq(vi_version_string(), want);
}
END_TEST

Suite *formats_suite(void) {
    Suite *s = suite_create("formats");
    TCase *tc = tcase_create("container");
    tcase_add_test(tc, test_container_round_trip_keeps_every_entry);
    tcase_add_test(tc, test_container_rejects_every_truncation_and_flip);
    tcase_add_test(tc, test_container_refuses_newer_version);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_add_test(tc, test_embedding_file_round_trip_and_bad_files);
    tcase_add_test(tc, test_index_file_round_trip_keeps_ids_and_vectors);
    tcase_add_test(tc, test_status_strings_and_options_init);
    suite_add_tcase(s, tc);
    return s;
}
