/* On-disk appendable indexes (vi_index_open); layout in docs/file-formats.md:
 *   <path>        manifest: the container (kind "vinfringe-index-manifest") with the model id,
 *                 the ids and, per reference, its record's offset, length and CRC-32, and how
 *                 many bytes of the data file are valid. Replaced atomically (temp + rename).
 *   <path>.vec    data file: a 64-byte header, then the records, appended; memory-mapped.
 *   <path>.faiss  cache of the FAISS structure (HNSW / IVF-PQ only), with its own CRC.
 * An add writes and fsyncs its record past the valid end of the data file, then replaces the
 * manifest: a crash before the rename leaves the previous manifest, which ignores the bytes
 * beyond its valid length. The FAISS cache covers a prefix of the rows; the rest is added on
 * open, and a cache that does not match (other index, kind or CRC) is rebuilt. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../formats/formats.h"
#include "index.h"

#define MANIFEST_FORMAT 2
#define DATA_MAGIC "VIVECS\0\0"
#define DATA_VERSION 1
#define FAISS_MAGIC "VIFAISS\0"
#define FAISS_VERSION 1
#define FAISS_HEADER 48
#define MAX_MANIFEST ((size_t)1 << 36) /* also the bound for single-file indexes */

static char *sidecar(const char *path, const char *ext) {
    const size_t n = strlen(path) + strlen(ext) + 1;
    char *p = vi__malloc(n);
    if (p) snprintf(p, n, "%s%s", path, ext);
    return p;
}

static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_i64(uint8_t *p, int64_t v) { memcpy(p, &v, 8); }
static uint32_t get_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static int64_t get_i64(const uint8_t *p) {
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

static int64_t random_uid(void) {
    uint64_t v = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &v, sizeof v) != (ssize_t)sizeof v) v = 0;
        close(fd);
    }
    if (!v) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec ^
            ((uint64_t)getpid() << 32);
    }
    return (int64_t)(v >> 1);
}

/* ---- manifest --------------------------------------------------------------------------- */

static vi_status write_manifest(const struct vi_index *x) {
    int64_t ids_len = 0;
    for (int32_t i = 0; i < x->n; i++) ids_len += (int64_t)strlen(x->ids[i]);
    const size_t n = (size_t)x->n + 1;
    int64_t *lens = vi__calloc(n, 8), *counts = vi__calloc(n, 8), *offs = vi__calloc(n, 8);
    int64_t *durs = vi__calloc(n, 8), *crcs = vi__calloc(n, 8);
    char *ids = vi__calloc((size_t)ids_len + 1, 1);
    vi__docw *w = vi__docw_create();
    vi_status st;
    if (!lens || !counts || !offs || !durs || !crcs || !ids || !w) {
        vi__docw_free(w);
        st = vi__fail(VI_E_NOMEM, "cannot write %s: out of memory", x->path);
    } else {
        size_t c = 0;
        for (int32_t i = 0; i < x->n; i++) {
            lens[i] = (int64_t)strlen(x->ids[i]);
            memcpy(ids + c, x->ids[i], (size_t)lens[i]);
            c += (size_t)lens[i];
            counts[i] = x->n_frames[i];
            offs[i] = (int64_t)x->offset[i];
            durs[i] = x->duration_us[i];
            crcs[i] = x->crc[i];
        }
        vi__docw_str(w, "kind", "vinfringe-index-manifest");
        vi__docw_i64(w, "index_format", MANIFEST_FORMAT);
        vi__docw_str(w, "model_id", x->model_id ? x->model_id : "");
        vi__docw_i64(w, "dim", x->dim);
        vi__docw_i64(w, "count", x->n);
        vi__docw_i64(w, "frames", x->total);
        vi__docw_i64(w, "uid", x->uid);
        vi__docw_i64(w, "search_kind", x->opts.kind);
        vi__docw_i64(w, "data_bytes", (int64_t)x->heap_len);
        vi__docw_str(w, "ids", ids);
        const vi__tensor t[] = {
            {"id_lengths", VI__DT_I64, 1, {x->n}, 0, 0, lens, 0},
            {"frame_counts", VI__DT_I64, 1, {x->n}, 0, 0, counts, 0},
            {"offsets", VI__DT_I64, 1, {x->n}, 0, 0, offs, 0},
            {"durations_us", VI__DT_I64, 1, {x->n}, 0, 0, durs, 0},
            {"crcs", VI__DT_I64, 1, {x->n}, 0, 0, crcs, 0},
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) vi__docw_tensor(w, &t[i]);
        uint8_t *buf;
        size_t len;
        st = vi__docw_finish(w, VI__MAGIC_INDEX, &buf, &len);
        if (st == VI_OK) {
            st = vi__write_file_atomic(x->path, buf, len);
            vi__free(buf);
        }
    }
    vi__free(lens);
    vi__free(counts);
    vi__free(offs);
    vi__free(durs);
    vi__free(crcs);
    vi__free(ids);
    return st;
}

static const vi__tensor *want_i64(const vi__doc *doc, const char *name, int64_t count) {
    const vi__tensor *t = vi__doc_tensor(doc, name);
    if (!t || t->dtype != VI__DT_I64 || t->ndim != 1 || t->dims[0] != count) return NULL;
    return t;
}

static int64_t at(const vi__tensor *t, int64_t i) {
    return get_i64((const uint8_t *)t->data + 8 * i);
}

/* Fill x from a parsed manifest; records are checked later against the data file. */
static vi_status read_manifest(struct vi_index *x, const vi__doc *doc, int64_t *data_bytes,
                               int32_t *stored_kind) {
    const char *p = x->path;
    int64_t format = 0, dim = 0, count = 0, frames = 0, uid = 0, kind = 0;
    const char *model_id = vi__doc_str(doc, "model_id"), *ids = vi__doc_str(doc, "ids");
    if (!vi__doc_i64(doc, "index_format", &format))
        return vi__fail(VI_E_FORMAT, "%s: manifest without a format number", p);
    if (format > MANIFEST_FORMAT)
        return vi__fail(VI_E_FORMAT, "%s: index format %lld is newer than this library's (%d)",
                        p, (long long)format, MANIFEST_FORMAT);
    if (!model_id || !ids || !vi__doc_i64(doc, "dim", &dim) || !vi__doc_i64(doc, "count", &count) ||
        !vi__doc_i64(doc, "frames", &frames) || !vi__doc_i64(doc, "uid", &uid) ||
        !vi__doc_i64(doc, "search_kind", &kind) || !vi__doc_i64(doc, "data_bytes", data_bytes) ||
        dim < 0 || dim > 65536 || count < 0 || count > INT32_MAX || (count > 0 && dim == 0) ||
        kind < 0 || kind > VI_INDEX_IVFPQ || *data_bytes < VI__INDEX_DATA_HEADER || frames < 0)
        return vi__fail(VI_E_FORMAT, "%s: manifest entries missing or inconsistent", p);
    const vi__tensor *lens = want_i64(doc, "id_lengths", count);
    const vi__tensor *counts = want_i64(doc, "frame_counts", count);
    const vi__tensor *offs = want_i64(doc, "offsets", count);
    const vi__tensor *durs = want_i64(doc, "durations_us", count);
    const vi__tensor *crcs = want_i64(doc, "crcs", count);
    if (!lens || !counts || !offs || !durs || !crcs)
        return vi__fail(VI_E_FORMAT, "%s: manifest tables missing or of the wrong length", p);
    x->uid = uid;
    x->dim = (int32_t)dim;
    *stored_kind = (int32_t)kind;
    const size_t ids_len = strlen(ids);
    size_t id_pos = 0;
    uint64_t expect = VI__INDEX_DATA_HEADER;
    char *id = vi__malloc(ids_len + 1);
    if (!id) return vi__fail(VI_E_NOMEM, "out of memory");
    vi_status st = VI_OK;
    for (int64_t i = 0; st == VI_OK && i < count; i++) {
        const int64_t nl = at(lens, i), nf = at(counts, i), off = at(offs, i);
        const int64_t crc = at(crcs, i);
        if (nl < 0 || (uint64_t)nl > ids_len - id_pos || nf < 1 || nf > INT32_MAX ||
            off != (int64_t)expect || crc < 0 || crc > (int64_t)UINT32_MAX) {
            st = vi__fail(VI_E_FORMAT, "%s: manifest entry %lld is inconsistent", p,
                          (long long)i);
            break;
        }
        memcpy(id, ids + id_pos, (size_t)nl);
        id[nl] = '\0';
        id_pos += (size_t)nl;
        expect += vi__index_record_size((int32_t)dim, (int32_t)nf);
        st = vi__index_push(x, id, model_id, (int32_t)dim, (int32_t)nf, at(durs, i),
                            (uint64_t)off, (uint32_t)crc);
    }
    vi__free(id);
    if (st != VI_OK) return st;
    if (id_pos != ids_len || x->total != frames || (int64_t)expect != *data_bytes)
        return vi__fail(VI_E_FORMAT, "%s: manifest lengths do not add up", p);
    return VI_OK;
}

/* ---- data file -------------------------------------------------------------------------- */

static void data_header(const struct vi_index *x, uint8_t h[VI__INDEX_DATA_HEADER]) {
    memset(h, 0, VI__INDEX_DATA_HEADER);
    memcpy(h, DATA_MAGIC, 8);
    put_u32(h + 8, DATA_VERSION);
    put_i64(h + 16, x->uid);
    put_u32(h + 60, vi__crc32(0, h, 60));
}

static vi_status write_all(int fd, const void *buf, size_t n, off_t off, const char *path) {
    const uint8_t *p = buf;
    while (n > 0) {
        const ssize_t w = pwrite(fd, p, n, off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return vi__fail(VI_E_IO, "cannot write %s: %s", path, strerror(errno));
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return VI_OK;
}

static vi_status map_data(struct vi_index *x, size_t len, const char *data_path) {
    if (x->map) munmap((void *)(uintptr_t)x->map, x->map_len);
    x->map = NULL;
    x->map_len = 0;
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, x->fd, 0);
    if (m == MAP_FAILED)
        return vi__fail(VI_E_IO, "cannot map %s: %s", data_path, strerror(errno));
    x->map = m;
    x->map_len = len;
    return VI_OK;
}

/* Create an empty index: data file header first, then the manifest that makes it exist. */
static vi_status create_files(struct vi_index *x, const char *data_path) {
    x->uid = random_uid();
    x->heap_len = VI__INDEX_DATA_HEADER;
    int fd = open(data_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return vi__fail(VI_E_IO, "cannot create %s: %s", data_path, strerror(errno));
    uint8_t h[VI__INDEX_DATA_HEADER];
    data_header(x, h);
    vi_status st = write_all(fd, h, sizeof h, 0, data_path);
    if (st == VI_OK && fsync(fd) != 0)
        st = vi__fail(VI_E_IO, "cannot write %s: %s", data_path, strerror(errno));
    close(fd);
    return st == VI_OK ? write_manifest(x) : st;
}

/* ---- FAISS cache ------------------------------------------------------------------------ */

static void load_faiss_cache(struct vi_index *x) {
    if (vi__index_wanted_kind(x) == VI__FAISS_FLAT) return; /* rebuilt: cheaper than reading */
    char *p = sidecar(x->path, ".faiss");
    uint8_t *buf = NULL;
    size_t n = 0;
    if (!p || vi__read_file(p, &buf, &n, 0) != VI_OK || n < FAISS_HEADER ||
        memcmp(buf, FAISS_MAGIC, 8) != 0 || get_u32(buf + 8) != FAISS_VERSION ||
        get_u32(buf + 44) != vi__crc32(0, buf, 44) ||
        (int32_t)get_u32(buf + 12) != vi__index_wanted_kind(x) || get_i64(buf + 16) != x->uid ||
        get_i64(buf + 24) > x->total || get_i64(buf + 24) < 0 ||
        (uint64_t)get_i64(buf + 32) != n - FAISS_HEADER ||
        get_u32(buf + 40) != vi__crc32(0, buf + FAISS_HEADER, n - FAISS_HEADER)) {
        vi__free(buf);
        vi__free(p);
        vi__clear_error();
        return; /* missing or stale: vi__index_sync_faiss rebuilds */
    }
    vi__faiss *f = NULL;
    if (vi__faiss_deserialize(buf + FAISS_HEADER, n - FAISS_HEADER, x->opts.effort, &f) == VI_OK &&
        vi__faiss_count(f) == get_i64(buf + 24) && vi__faiss_kind(f) == vi__index_wanted_kind(x)) {
        x->faiss = f;
    } else {
        vi__faiss_free(f);
        vi__clear_error();
    }
    vi__free(buf);
    vi__free(p);
}

vi_status vi__index_flush(struct vi_index *x) {
    if (!x->path || x->opts.read_only || !x->faiss || !x->faiss_dirty) return VI_OK;
    if (vi__faiss_kind(x->faiss) == VI__FAISS_FLAT) {
        x->faiss_dirty = 0;
        return VI_OK;
    }
    uint8_t *payload;
    size_t n;
    vi_status st = vi__faiss_serialize(x->faiss, &payload, &n);
    if (st != VI_OK) return st;
    uint8_t *buf = vi__malloc(n + FAISS_HEADER);
    char *p = sidecar(x->path, ".faiss");
    if (!buf || !p) {
        st = vi__fail(VI_E_NOMEM, "out of memory while saving the FAISS index");
    } else {
        memset(buf, 0, FAISS_HEADER);
        memcpy(buf, FAISS_MAGIC, 8);
        put_u32(buf + 8, FAISS_VERSION);
        put_u32(buf + 12, (uint32_t)vi__faiss_kind(x->faiss));
        put_i64(buf + 16, x->uid);
        put_i64(buf + 24, vi__faiss_count(x->faiss));
        put_i64(buf + 32, (int64_t)n);
        put_u32(buf + 40, vi__crc32(0, payload, n));
        put_u32(buf + 44, vi__crc32(0, buf, 44));
        memcpy(buf + FAISS_HEADER, payload, n);
        st = vi__write_file_atomic(p, buf, n + FAISS_HEADER);
        if (st == VI_OK) x->faiss_dirty = 0;
    }
    vi__free(payload);
    vi__free(buf);
    vi__free(p);
    return st;
}

/* ---- open / append / close -------------------------------------------------------------- */

static vi_status open_disk(struct vi_index *x, const char *path) {
    char *data_path = sidecar(path, ".vec");
    x->path = vi__strdup(path);
    if (!data_path || !x->path) {
        vi__free(data_path);
        return vi__fail(VI_E_NOMEM, "out of memory");
    }
    vi_status st = VI_OK;
    uint8_t *mbuf = NULL;
    size_t mlen = 0;
    vi__doc *doc = NULL;
    int64_t data_bytes = 0;
    int32_t stored_kind = 0;
    st = vi__read_file(path, &mbuf, &mlen, MAX_MANIFEST);
    if (st == VI_OK) st = vi__doc_parse(mbuf, mlen, VI__MAGIC_INDEX, VI_E_FORMAT, &doc);
    vi__free(mbuf);
    if (st == VI_OK) st = read_manifest(x, doc, &data_bytes, &stored_kind);
    vi__doc_free(doc);
    if (st == VI_OK) {
        x->heap_len = (size_t)data_bytes;
        x->fd = open(data_path, (x->opts.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
        if (x->fd < 0)
            st = vi__fail(VI_E_IO, "cannot open %s: %s", data_path, strerror(errno));
    }
    if (st == VI_OK && !x->opts.read_only && flock(x->fd, LOCK_EX | LOCK_NB) != 0)
        st = vi__fail(VI_E_IO, "cannot open %s for adding: %s (another process is adding to it)",
                      data_path, strerror(errno));
    struct stat sb;
    if (st == VI_OK && fstat(x->fd, &sb) != 0)
        st = vi__fail(VI_E_IO, "cannot read %s: %s", data_path, strerror(errno));
    if (st == VI_OK && (int64_t)sb.st_size < data_bytes)
        st = vi__fail(VI_E_FORMAT, "%s is truncated: %lld bytes, the manifest %s says %lld",
                      data_path, (long long)sb.st_size, path, (long long)data_bytes);
    if (st == VI_OK) st = map_data(x, (size_t)data_bytes, data_path);
    if (st == VI_OK) {
        uint8_t h[VI__INDEX_DATA_HEADER];
        data_header(x, h);
        if (memcmp(x->map, DATA_MAGIC, 8) != 0 || get_u32(x->map + 60) != vi__crc32(0, x->map, 60))
            st = vi__fail(VI_E_FORMAT, "%s: not an index data file or damaged header", data_path);
        else if (get_u32(x->map + 8) > DATA_VERSION)
            st = vi__fail(VI_E_FORMAT, "%s: data format %u is newer than this library's (%d)",
                          data_path, get_u32(x->map + 8), DATA_VERSION);
        else if (memcmp(x->map, h, VI__INDEX_DATA_HEADER) != 0)
            st = vi__fail(VI_E_FORMAT, "%s does not belong to the manifest %s (another index's "
                          "data file)", data_path, path);
    }
    for (int32_t i = 0; st == VI_OK && i < x->n; i++) {
        const size_t len = vi__index_record_size(x->dim, x->n_frames[i]);
        if (vi__crc32(0, x->map + x->offset[i], len) != x->crc[i])
            st = vi__fail(VI_E_FORMAT, "%s: the vectors of '%s' (entry %d) fail their CRC check",
                          data_path, x->ids[i], (int)i);
    }
    if (st == VI_OK) {
        if (x->opts.kind == VI_INDEX_AUTO) {
            x->opts.kind = stored_kind;
        } else if (x->opts.kind != stored_kind && !x->opts.read_only) {
            st = write_manifest(x); /* the kind chosen now sticks */
        }
    }
    if (st == VI_OK) {
        load_faiss_cache(x);
        st = vi__index_sync_faiss(x);
    }
    vi__free(data_path);
    return st;
}

vi_status vi__index_open(const char *path, const vi_index_options *o, struct vi_index **out) {
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT) {
        if (o->read_only) return vi__fail(VI_E_IO, "cannot open %s: %s", path, strerror(ENOENT));
        struct vi_index *x = vi__index_new(o);
        char *data_path = sidecar(path, ".vec");
        vi_status st = (x && data_path) ? VI_OK : vi__fail(VI_E_NOMEM, "out of memory");
        if (st == VI_OK) {
            x->path = (char *)(uintptr_t)path; /* borrowed for write_manifest */
            st = create_files(x, data_path);
            x->path = NULL;
        }
        vi__free(data_path);
        vi__index_free(x);
        if (st != VI_OK) return st;
    }
    /* A single-file index (vi_index_save) opens read-only, in memory. */
    uint8_t *buf = NULL;
    size_t n = 0;
    vi__doc *doc = NULL;
    vi_status st = vi__read_file(path, &buf, &n, MAX_MANIFEST);
    if (st == VI_OK) st = vi__doc_parse(buf, n, VI__MAGIC_INDEX, VI_E_FORMAT, &doc);
    const char *kind = doc ? vi__doc_str(doc, "kind") : NULL;
    const int single = kind && strcmp(kind, "vinfringe-index") == 0;
    vi__doc_free(doc);
    if (st == VI_OK && single) {
        if (o->read_only) st = vi__index_decode_with(buf, n, o, out);
        else
            st = vi__fail(VI_E_FORMAT, "%s is a single-file index (vi_index_save), which cannot "
                          "be added to: open it read-only, or build an on-disk index", path);
    }
    vi__free(buf);
    if (st != VI_OK || single) return st;
    struct vi_index *x = vi__index_new(o);
    if (!x) return vi__fail(VI_E_NOMEM, "out of memory");
    st = open_disk(x, path);
    if (st != VI_OK) {
        x->opts.read_only = 1; /* nothing to flush; keep the error message */
        vi__index_free(x);
        return st;
    }
    *out = x;
    return VI_OK;
}

vi_status vi__index_disk_append(struct vi_index *x, const char *id, const struct vi_embedding *e) {
    if (x->opts.read_only)
        return vi__fail(VI_E_INVALID_ARG, "cannot add '%s': %s is open read-only", id, x->path);
    uint8_t *rec;
    size_t len;
    vi_status st = vi__index_make_record(x, id, e, &rec, &len);
    if (st != VI_OK) return st;
    char *data_path = sidecar(x->path, ".vec");
    const size_t off = x->heap_len;
    if (!data_path) st = vi__fail(VI_E_NOMEM, "out of memory");
    /* 1. the record, past the valid end (dropping what a crashed add may have left there) */
    if (st == VI_OK && ftruncate(x->fd, (off_t)off) != 0)
        st = vi__fail(VI_E_IO, "cannot write %s: %s", data_path, strerror(errno));
    if (st == VI_OK) st = write_all(x->fd, rec, len, (off_t)off, data_path);
    if (st == VI_OK && fdatasync(x->fd) != 0)
        st = vi__fail(VI_E_IO, "cannot write %s: %s", data_path, strerror(errno));
    const uint32_t crc = vi__crc32(0, rec, len);
    vi__free(rec);
    if (st == VI_OK) st = map_data(x, off + len, data_path);
    /* 2. the manifest that makes it part of the index */
    if (st == VI_OK) {
        st = vi__index_push(x, id, e->model_id, e->dim, e->n_frames,
                            (int64_t)llround(e->duration > 0 ? e->duration * 1e6 : 0), off, crc);
        if (st == VI_OK) {
            x->heap_len = off + len;
            st = write_manifest(x);
            if (st != VI_OK) { /* the previous manifest still rules */
                x->heap_len = off;
                x->n--;
                x->total -= x->n_frames[x->n];
                vi__free(x->ids[x->n]);
                if (x->n == 0) {
                    vi__free(x->model_id);
                    x->model_id = NULL;
                }
            }
        }
    }
    vi__free(data_path);
    /* 3. FAISS, in memory; its cache file is written by flush / close */
    return st == VI_OK ? vi__index_sync_faiss(x) : st;
}

void vi__index_disk_close(struct vi_index *x) {
    if (!x->path) return;
    vi__index_flush(x); /* best effort: vi_index_flush reports errors */
    if (x->map) munmap((void *)(uintptr_t)x->map, x->map_len);
    x->map = NULL;
    if (x->fd >= 0) close(x->fd); /* also releases the flock */
    x->fd = -1;
}
