/* Writes the seed inputs of every fuzz target (make fuzz-seeds): small valid files of each
 * format, made by the library's own writers from deterministic data, into
 * test/fuzz/corpus/<target>/seed-* (both input forms of fuzz_frame.h for the checksummed
 * formats). The fuzzers start from them; the committed corpora are
 * these seeds plus what fuzzing found, minimised (docs/testing.md).
 *
 *   make_seeds CORPUS_DIR */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/byteorder.h"
#include "formats/formats.h"
#include "index/index.h"
#include "index/index_file.h"
#include "shim/faiss_shim.h"

static const char *corpus;

static void put_file(const char *target, const char *name, const uint8_t *a, size_t na,
                     const uint8_t *b, size_t nb) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", corpus, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/seed-%s", corpus, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(a, 1, na, f) != na || (nb && fwrite(b, 1, nb, f) != nb) || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    printf("%s (%zu bytes)\n", path, na + nb);
}

/* The uncompressed payload of a container file (new malloc'ed buffer). */
static uint8_t *payload_of(const uint8_t *file, size_t n, size_t *len) {
    uLongf plen = (uLongf)vi__get_le64(file + 16);
    uint8_t *p = malloc(plen ? plen : 1);
    if (!p || n < 40 || uncompress(p, &plen, file + 40, (uLong)(n - 40)) != Z_OK) {
        fprintf(stderr, "cannot inflate a seed\n");
        exit(1);
    }
    *len = plen;
    return p;
}

/* Both input forms of a container target (test/fuzz/fuzz_frame.h): "file-NAME", the form byte
 * 0 then the file; "entries-NAME", the form byte 1 then its uncompressed payload. */
static void put_container(const char *target, const char *name, const uint8_t *file, size_t n) {
    char full[128];
    const uint8_t raw = 0, entries = 1;
    uint8_t *both = malloc(n + 1);
    both[0] = raw;
    memcpy(both + 1, file, n);
    snprintf(full, sizeof full, "file-%s", name);
    put_file(target, full, both, n + 1, NULL, 0);
    free(both);
    size_t len;
    uint8_t *p = payload_of(file, n, &len);
    both = malloc(len + 1);
    both[0] = entries;
    memcpy(both + 1, p, len);
    snprintf(full, sizeof full, "entries-%s", name);
    put_file(target, full, both, len + 1, NULL, 0);
    free(both);
    free(p);
}

/* Both forms of fuzz_index_disk's input: flags 0 (as on disk) and 3 (the manifest's payload,
 * data checksums rewritten by the target). */
static void put_disk(const char *name, const uint8_t *manifest, size_t mn, const uint8_t *data,
                     size_t dn) {
    for (int form = 0; form < 2; form++) {
        size_t len = mn;
        uint8_t *m = form ? payload_of(manifest, mn, &len) : NULL;
        uint8_t *head = malloc(5 + len);
        head[0] = form ? 3 : 0;
        vi__put_le32(head + 1, (uint32_t)len);
        memcpy(head + 5, form ? m : manifest, len);
        char full[128];
        snprintf(full, sizeof full, "%s-%s", form ? "entries" : "file", name);
        put_file("fuzz_index_disk", full, head, 5 + len, data, dn);
        free(head);
        free(m);
    }
}

static void check(vi_status st, const char *what) {
    if (st != VI_OK) {
        fprintf(stderr, "%s: %s\n", what, vi_last_error());
        exit(1);
    }
}

static struct vi_embedding *embedding(int32_t dim, int32_t n, unsigned seed) {
    struct vi_embedding *e;
    check(vi__embedding_alloc(dim, n, "seed-model:1", &e), "embedding");
    for (int32_t f = 0; f <= n; f++) {
        float *v = f < n ? e->frames + (size_t)f * (size_t)dim : e->video;
        double norm = 0;
        for (int32_t d = 0; d < dim; d++) {
            v[d] = (float)sin((double)(seed * 977u + (unsigned)f * 31u + (unsigned)d));
            norm += (double)v[d] * v[d];
        }
        for (int32_t d = 0; d < dim; d++) v[d] = (float)(v[d] / sqrt(norm));
        if (f < n) e->pts_us[f] = 1000000LL * f + 40000;
    }
    e->duration = n;
    return e;
}

static void seeds_embedding(void) {
    struct vi_embedding *e = embedding(8, 3, 1);
    uint8_t *buf;
    size_t n;
    check(vi__embedding_encode(e, &buf, &n), "encode");
    put_container("fuzz_embedding", "plain", buf, n);
    vi__free(buf);
    e->warnings = VI_EMBED_WARN_TRUNCATED | VI_EMBED_WARN_DAMAGED_FRAMES;
    check(vi__embedding_encode(e, &buf, &n), "encode");
    put_container("fuzz_embedding", "warnings", buf, n);
    vi__free(buf);
    vi_embedding_free(e);
}

static void tensor(vi__docw *w, const char *name, int32_t dtype, int64_t d0, int64_t d1) {
    static float data[4096];
    for (size_t i = 0; i < sizeof data / sizeof data[0]; i++) data[i] = (float)((i % 7) - 3) / 8;
    vi__tensor t = {name, dtype, d1 ? 2 : 1, {d0, d1}, 0.01f, -1.0f, data, 0};
    vi__docw_tensor(w, &t);
}

static void seeds_model(void) {
    for (int with_head = 0; with_head < 2; with_head++) {
        vi__docw *w = vi__docw_create();
        vi__docw_str(w, "kind", "vinfringe-model");
        vi__docw_str(w, "backbone", "mobilenet_v2");
        vi__docw_str(w, "name", "seed");
        vi__docw_str(w, "description", "a fuzzing seed");
        vi__docw_i64(w, "input_size", 64);
        vi__docw_i64(w, "mirror_average", with_head);
        tensor(w, "conv/kernel", VI__DT_F32, 3, 2);
        tensor(w, "conv_bn/gamma", VI__DT_U8Q, 2, 0);
        for (int l = 0; with_head && l < 8; l++) {
            char name[64];
            const char *layer = l < 6 ? "sub" : l == 6 ? "aux" : "fuse";
            for (int bias = 0; bias < 2; bias++) {
                if (l < 6) snprintf(name, sizeof name, "dmi.sub%d.%s", l, bias ? "bias" : "weight");
                else snprintf(name, sizeof name, "dmi.%s.%s", layer, bias ? "bias" : "weight");
                tensor(w, name, VI__DT_F32, 4, bias ? 0 : (l == 7 ? 24 : 6));
            }
        }
        uint8_t *buf;
        size_t n;
        check(vi__docw_finish(w, VI__MAGIC_MODEL, &buf, &n), "model");
        put_container("fuzz_model", with_head ? "head" : "backbone-only", buf, n);
        vi__free(buf);
    }
}

static void seeds_index(void) {
    vi_index_options o;
    check(vi__index_resolve_options(NULL, &o), "options");
    struct vi_index *x;
    check(vi__index_create(&o, &x), "create");
    struct vi_embedding *a = embedding(8, 3, 2), *b = embedding(8, 1, 3);
    check(vi__index_add(x, "first", a), "add");
    check(vi__index_add(x, "second one", b), "add");
    uint8_t *buf;
    size_t n;
    check(vi__index_file_encode(&x->refs, x->store->base, VI_INDEX_HNSW, &buf, &n), "encode");
    put_container("fuzz_index_file", "two", buf, n);
    vi__free(buf);
    vi__index_free(x);
    /* on disk, format 3: the manifest and the data file, length-prefixed */
    char dir[] = "/tmp/vi_seeds_XXXXXX", path[64];
    if (!mkdtemp(dir)) exit(1);
    snprintf(path, sizeof path, "%s/s.vidx", dir);
    check(vi__index_open(path, &o, &x), "open");
    check(vi__index_add(x, "first", a), "add");
    check(vi__index_add(x, "second one", b), "add");
    uint8_t *manifest, *data = NULL;
    size_t mn, dn = x->store->size;
    data = vi__malloc(dn);
    memcpy(data, x->store->base, dn);
    vi__index_free(x);
    check(vi__read_file(path, &manifest, &mn, 0), "manifest");
    put_disk("format3", manifest, mn, data, dn);
    vi__free(manifest);
    /* format 2 (0.2, 0.3): the manifest lists the records; the data file holds them only */
    size_t r1, r2;
    uint8_t *rec1, *rec2;
    check(vi__record_encode(a, &rec1, &r1), "record");
    check(vi__record_encode(b, &rec2, &r2), "record");
    uint8_t *d2 = vi__calloc(1, 64 + r1 + r2);
    memcpy(d2, data, 64); /* the same header: magic, version 1, uid, CRC */
    memcpy(d2 + 64, rec1, r1);
    memcpy(d2 + 64 + r1, rec2, r2);
    vi__docw *w = vi__docw_create();
    vi__docw_str(w, "kind", "vinfringe-index-manifest");
    vi__docw_i64(w, "index_format", 2);
    vi__docw_str(w, "model_id", a->model_id);
    vi__docw_i64(w, "dim", 8);
    vi__docw_i64(w, "count", 2);
    vi__docw_i64(w, "frames", 4);
    vi__docw_i64(w, "uid", vi__get_lei64(data + 16));
    vi__docw_i64(w, "search_kind", 0);
    vi__docw_i64(w, "data_bytes", (int64_t)(64 + r1 + r2));
    vi__docw_str(w, "ids", "firstsecond one");
    int64_t lens[2] = {5, 10}, counts[2] = {3, 1}, offs[2] = {64, (int64_t)(64 + r1)};
    int64_t durs[2] = {3000000, 1000000}, crcs[2] = {vi__crc32(0, rec1, r1), vi__crc32(0, rec2, r2)};
    const vi__tensor t[] = {
        {"id_lengths", VI__DT_I64, 1, {2}, 0, 0, lens, 0},
        {"frame_counts", VI__DT_I64, 1, {2}, 0, 0, counts, 0},
        {"offsets", VI__DT_I64, 1, {2}, 0, 0, offs, 0},
        {"durations_us", VI__DT_I64, 1, {2}, 0, 0, durs, 0},
        {"crcs", VI__DT_I64, 1, {2}, 0, 0, crcs, 0},
    };
    for (size_t i = 0; i < 5; i++) vi__docw_tensor(w, &t[i]);
    check(vi__docw_finish(w, VI__MAGIC_INDEX, &manifest, &mn), "manifest 2");
    put_disk("format2", manifest, mn, d2, 64 + r1 + r2);
    vi__free(manifest);
    vi__free(d2);
    vi__free(rec1);
    vi__free(rec2);
    vi__free(data);
    vi_embedding_free(a);
    vi_embedding_free(b);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) exit(1);
}

/* The rows fuzz_faiss_cache.c rebuilds HNSW caches around (the same function). */
#define DIM 32
static void rows(void *ctx, int64_t from, int64_t to, float *dst) {
    (void)ctx;
    for (int64_t r = from; r < to; r++) {
        double norm = 0;
        for (int d = 0; d < DIM; d++) {
            const float v = (float)sin((double)(r * DIM + d) * 0.7071);
            dst[(r - from) * DIM + d] = v;
            norm += (double)v * v;
        }
        for (int d = 0; d < DIM; d++) dst[(r - from) * DIM + d] /= (float)sqrt(norm + 1e-12);
    }
}

static void seeds_faiss(void) {
    static const struct {
        int32_t kind;
        int64_t n;
        const char *name;
    } kinds[] = {{VI__FAISS_HNSW, 40, "hnsw"}, {VI__FAISS_IVFPQ, 300, "ivfpq"}};
    for (int k = 0; k < 2; k++) {
        const int64_t n = kinds[k].n;
        float *x = malloc((size_t)n * DIM * sizeof(float));
        rows(NULL, 0, n, x);
        vi__faiss *f;
        check(vi__faiss_create(kinds[k].kind, DIM, n, 8, &f), "faiss create");
        check(vi__faiss_train(f, n, x), "faiss train");
        check(vi__faiss_add(f, n, x), "faiss add");
        uint8_t *buf;
        size_t len;
        check(vi__faiss_cache_save(f, &buf, &len), "cache save");
        /* the fuzz target's prefix: kind byte (odd = HNSW), vector count (LE u32) */
        uint8_t head[5] = {kinds[k].kind == VI__FAISS_HNSW ? 1 : 0, 0, 0, 0, 0};
        vi__put_le32(head + 1, (uint32_t)n);
        put_file("fuzz_faiss_cache", kinds[k].name, head, 5, buf, len);
        vi__free(buf);
        vi__faiss_free(f);
        free(x);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    corpus = argv[1];
    seeds_embedding();
    seeds_model();
    seeds_index();
    seeds_faiss();
    return 0;
}
