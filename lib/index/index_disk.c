/* The on-disk store (index_store.h) behind vi_index_open; file layout in docs/file-formats.md.
 *
 *   NAME            manifest: the container (kind "vinfringe-index-manifest", format 3) with the
 *                   index's uid, search kind and the name of its data file. Replaced
 *                   atomically, and only when the index is created, rebuilt or changes kind.
 *   NAME.<uid>.vec  data file: a 64-byte header, then the entries one after another, each a
 *                   CRC-checked entry header (id, model, sizes, CRC of the record) followed by
 *                   its record. Appended to, and memory-mapped read-only.
 *   NAME.faiss      cache of the FAISS structure (HNSW, IVF-PQ), tagged with the uid.
 *   NAME.lock       empty; a writer holds flock on it from open to close.
 *
 * An add writes its entry past the end of the data file and fdatasyncs it: then it is
 * committed. Its cost is the entry's, whatever the size of the index (0.3 rewrote the whole
 * manifest: N adds cost O(N^2)). A crash leaves at most one incomplete entry at the end; readers
 * ignore it and the next writer cuts it off. A damaged entry with complete entries after it is
 * not a crash but a corrupt file, and fails the open.
 *
 * A rebuild (replace mode) writes a new data file under a new uid while readers keep reading
 * the old one, switches by replacing the manifest (commit), then removes the old data file: a
 * reader that read the old manifest just before and finds its data file gone reads the manifest
 * again. Whatever a killed writer left (temporary files, data files no manifest names, an
 * incomplete last entry) is removed by the next writer, under the lock.
 *
 * Format 2 (0.2, 0.3): the manifest lists the entries of NAME.vec itself (the "base"). Opening
 * one for writing rewrites its manifest as format 3 (same data file, the base kept), after
 * which entries are appended past the base; 0.3 then refuses it as newer. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../common/byteorder.h"
#include "../formats/formats.h"
#include "index_store.h"

#define MANIFEST_FORMAT 3
#define DATA_MAGIC "VIVECS\0\0"
#define DATA_VERSION 1
#define DATA_HEADER 64
#define ENTRY_MAGIC 0x31454956u /* "VIE1" */
#define ENTRY_FIXED 44          /* entry header bytes before the id */
#define CACHE_MAGIC "VIFAISS\0"
#define CACHE_VERSION 2         /* 1: FAISS's own serialisation (0.2, 0.3), ignored */
#define CACHE_HEADER 48
#define MAX_MANIFEST ((size_t)1 << 36)
#define MAX_NAME 255
#define OPEN_RETRIES 16         /* manifest re-reads while rebuilds switch under a reader */

struct disk_store {
    vi__store pub;           /* first: a vi__store * is a struct disk_store * */
    char *path;              /* manifest */
    char *data_path;         /* the data file in use (a replace's new one until commit) */
    char *old_data_path;     /* replace: the replaced index's data file, removed at commit */
    int fd;                  /* data file */
    int lock_fd;             /* NAME.lock (writers) */
    uint8_t *map;
    size_t map_len;          /* bytes mapped; >= pub.size (beyond the file end is never read) */
    int64_t uid;
    int32_t kind;            /* stored search kind */
    int64_t base_bytes;      /* end of a format-2 base; DATA_HEADER otherwise */
    struct vi__refs base;    /* a format-2 base, written back with every manifest */
};

/* ---- names ------------------------------------------------------------------------------ */

static char *join(const char *a, const char *b) {
    const size_t n = strlen(a) + strlen(b) + 1;
    char *p = vi__malloc(n);
    if (p) snprintf(p, n, "%s%s", a, b);
    return p;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* `name` (a file of the manifest's directory) as a path. */
static char *sibling(const char *manifest, const char *name) {
    const size_t dir = (size_t)(base_name(manifest) - manifest);
    char *p = vi__malloc(dir + strlen(name) + 1);
    if (!p) return NULL;
    memcpy(p, manifest, dir);
    strcpy(p + dir, name);
    return p;
}

/* "NAME.<uid as 16 hex digits>.vec" */
static char *data_name_for(const char *manifest, int64_t uid) {
    char tail[32];
    snprintf(tail, sizeof tail, ".%016llx.vec", (unsigned long long)uid);
    return join(manifest, tail);
}

static int64_t random_uid(void) {
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v || !v) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec ^
            ((uint64_t)getpid() << 32);
    }
    return (int64_t)(v >> 1);
}

/* ---- manifest --------------------------------------------------------------------------- */

static vi_status write_manifest(const struct disk_store *ds) {
    const struct vi__refs *b = &ds->base;
    int64_t ids_len = 0;
    for (int32_t i = 0; i < b->n; i++) ids_len += (int64_t)strlen(b->ids[i]);
    const size_t n = (size_t)b->n + 1;
    int64_t *lens = vi__calloc(n, 8), *counts = vi__calloc(n, 8), *offs = vi__calloc(n, 8);
    int64_t *durs = vi__calloc(n, 8), *crcs = vi__calloc(n, 8);
    char *ids = vi__calloc((size_t)ids_len + 1, 1);
    vi__docw *w = vi__docw_create();
    vi_status st;
    if (!lens || !counts || !offs || !durs || !crcs || !ids || !w) {
        vi__docw_free(w);
        st = vi__fail(VI_E_NOMEM, "cannot write %s: out of memory", ds->path);
    } else {
        size_t c = 0;
        for (int32_t i = 0; i < b->n; i++) {
            /* the container stores int64 little-endian itself; the tensors are explicit too */
            const size_t len = strlen(b->ids[i]);
            memcpy(ids + c, b->ids[i], len);
            c += len;
            vi__put_lei64((uint8_t *)&lens[i], (int64_t)len);
            vi__put_lei64((uint8_t *)&counts[i], b->n_frames[i]);
            vi__put_lei64((uint8_t *)&offs[i], (int64_t)b->offset[i]);
            vi__put_lei64((uint8_t *)&durs[i], b->duration_us[i]);
            vi__put_lei64((uint8_t *)&crcs[i], b->crc[i]);
        }
        vi__docw_str(w, "kind", "vinfringe-index-manifest");
        vi__docw_i64(w, "index_format", MANIFEST_FORMAT);
        vi__docw_i64(w, "uid", ds->uid);
        vi__docw_i64(w, "search_kind", ds->kind);
        vi__docw_str(w, "data_file", base_name(ds->data_path));
        vi__docw_i64(w, "data_bytes", ds->base_bytes);
        vi__docw_str(w, "model_id", b->model_id ? b->model_id : "");
        vi__docw_i64(w, "dim", b->dim);
        vi__docw_i64(w, "count", b->n);
        vi__docw_i64(w, "frames", b->total);
        vi__docw_str(w, "ids", ids);
        const vi__tensor t[] = {
            {"id_lengths", VI__DT_I64, 1, {b->n}, 0, 0, lens, 0},
            {"frame_counts", VI__DT_I64, 1, {b->n}, 0, 0, counts, 0},
            {"offsets", VI__DT_I64, 1, {b->n}, 0, 0, offs, 0},
            {"durations_us", VI__DT_I64, 1, {b->n}, 0, 0, durs, 0},
            {"crcs", VI__DT_I64, 1, {b->n}, 0, 0, crcs, 0},
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) vi__docw_tensor(w, &t[i]);
        uint8_t *buf;
        size_t len;
        st = vi__docw_finish(w, VI__MAGIC_INDEX, &buf, &len);
        if (st == VI_OK) {
            st = vi__write_file_atomic(ds->path, buf, len);
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
    return vi__get_lei64((const uint8_t *)t->data + 8 * i);
}

/* What a manifest says; `base` gets its format-2 entries (checked against each other here,
 * against the data file later). */
struct manifest {
    int64_t format, uid, kind, data_bytes;
    char *data_file; /* basename */
};

static vi_status read_manifest(const char *path, const vi__doc *doc, struct manifest *m,
                               struct vi__refs *base) {
    int64_t dim = 0, count = 0, frames = 0;
    const char *model_id = vi__doc_str(doc, "model_id"), *ids = vi__doc_str(doc, "ids");
    const char *kind = vi__doc_str(doc, "kind");
    if (!kind || strcmp(kind, "vinfringe-index-manifest") != 0)
        return vi__fail(VI_E_FORMAT, "%s: not an index manifest", path);
    if (!vi__doc_i64(doc, "index_format", &m->format))
        return vi__fail(VI_E_FORMAT, "%s: manifest without a format number", path);
    if (m->format > MANIFEST_FORMAT)
        return vi__fail(VI_E_FORMAT, "%s: index format %lld is newer than this library's (%d)",
                        path, (long long)m->format, MANIFEST_FORMAT);
    if (!model_id || !ids || !vi__doc_i64(doc, "dim", &dim) ||
        !vi__doc_i64(doc, "count", &count) || !vi__doc_i64(doc, "frames", &frames) ||
        !vi__doc_i64(doc, "uid", &m->uid) || !vi__doc_i64(doc, "search_kind", &m->kind) ||
        !vi__doc_i64(doc, "data_bytes", &m->data_bytes) || m->format < 2 || dim < 0 ||
        dim > VI__RECORD_MAX_DIM || count < 0 || count > INT32_MAX || (count > 0 && dim == 0) ||
        m->kind < 0 || m->kind > VI_INDEX_IVFPQ || m->data_bytes < DATA_HEADER || frames < 0)
        return vi__fail(VI_E_FORMAT, "%s: manifest entries missing or inconsistent", path);
    const char *data_file = m->format >= 3 ? vi__doc_str(doc, "data_file") : NULL;
    if (m->format >= 3) {
        const size_t n = data_file ? strlen(data_file) : 0;
        if (n == 0 || n > MAX_NAME || strchr(data_file, '/') || strcmp(data_file, ".") == 0 ||
            strcmp(data_file, "..") == 0)
            return vi__fail(VI_E_FORMAT, "%s: the manifest names no valid data file", path);
        m->data_file = vi__strdup(data_file);
    } else {
        m->data_file = join(base_name(path), ".vec");
    }
    if (!m->data_file) return vi__fail(VI_E_NOMEM, "out of memory");
    const vi__tensor *lens = want_i64(doc, "id_lengths", count);
    const vi__tensor *counts = want_i64(doc, "frame_counts", count);
    const vi__tensor *offs = want_i64(doc, "offsets", count);
    const vi__tensor *durs = want_i64(doc, "durations_us", count);
    const vi__tensor *crcs = want_i64(doc, "crcs", count);
    if (!lens || !counts || !offs || !durs || !crcs)
        return vi__fail(VI_E_FORMAT, "%s: manifest tables missing or of the wrong length", path);
    const size_t ids_len = strlen(ids);
    size_t id_pos = 0;
    uint64_t expect = DATA_HEADER;
    char *id = vi__malloc(ids_len + 1);
    if (!id) return vi__fail(VI_E_NOMEM, "out of memory");
    vi_status st = VI_OK;
    for (int64_t i = 0; st == VI_OK && i < count; i++) {
        const int64_t nl = at(lens, i), nf = at(counts, i), off = at(offs, i);
        const int64_t crc = at(crcs, i);
        const size_t rec = vi__record_size(dim, nf);
        if (nl < 0 || (uint64_t)nl > ids_len - id_pos || nf < 1 || nf > INT32_MAX || !rec ||
            off != (int64_t)expect || crc < 0 || crc > (int64_t)UINT32_MAX ||
            rec > (uint64_t)m->data_bytes - expect) {
            st = vi__fail(VI_E_FORMAT, "%s: manifest entry %lld is inconsistent", path,
                          (long long)i);
            break;
        }
        memcpy(id, ids + id_pos, (size_t)nl);
        id[nl] = '\0';
        id_pos += (size_t)nl;
        expect += rec;
        st = vi__refs_push(base, id, model_id, (int32_t)dim, (int32_t)nf, at(durs, i),
                           (uint64_t)off, (uint32_t)crc);
    }
    vi__free(id);
    if (st != VI_OK) return st;
    if (id_pos != ids_len || base->total != frames || (int64_t)expect != m->data_bytes)
        return vi__fail(VI_E_FORMAT, "%s: manifest lengths do not add up", path);
    return VI_OK;
}

/* Read and check the manifest at `path`. VI_E_IO with errno ENOENT when it does not exist. */
static vi_status load_manifest(const char *path, struct manifest *m, struct vi__refs *base) {
    memset(m, 0, sizeof *m);
    uint8_t *buf = NULL;
    size_t n = 0;
    vi__doc *doc = NULL;
    vi_status st = vi__read_file(path, &buf, &n, MAX_MANIFEST);
    if (st == VI_OK) st = vi__doc_parse(buf, n, VI__MAGIC_INDEX, VI_E_FORMAT, &doc);
    vi__free(buf);
    if (st == VI_OK) st = read_manifest(path, doc, m, base);
    vi__doc_free(doc);
    return st;
}

/* ---- data file -------------------------------------------------------------------------- */

static void data_header(int64_t uid, uint8_t h[DATA_HEADER]) {
    memset(h, 0, DATA_HEADER);
    memcpy(h, DATA_MAGIC, 8);
    vi__put_le32(h + 8, DATA_VERSION);
    vi__put_lei64(h + 16, uid);
    vi__put_le32(h + 60, vi__crc32(0, h, 60));
}

static vi_status write_at(int fd, const struct iovec *iov_in, int n_iov, off_t off,
                          const char *path) {
    struct iovec iov[2];
    memcpy(iov, iov_in, (size_t)n_iov * sizeof *iov);
    struct iovec *v = iov;
    while (n_iov > 0) {
        vi__fault_point();
        const ssize_t w = pwritev(fd, v, n_iov, off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return vi__fail(VI_E_IO, "cannot write %s: %s", path, strerror(errno));
        off += w;
        size_t left = (size_t)w;
        while (n_iov > 0 && left >= v->iov_len) {
            left -= v->iov_len;
            v++;
            n_iov--;
        }
        if (n_iov > 0) {
            v->iov_base = (uint8_t *)v->iov_base + left;
            v->iov_len -= left;
        }
    }
    return VI_OK;
}

/* Map at least `len` bytes of the data file (geometrically more, so that appends rarely remap;
 * bytes past the end of the file are never read). */
static vi_status map_data(struct disk_store *ds, size_t len) {
    if (ds->map && len <= ds->map_len) return VI_OK;
    size_t want = len;
    if (!ds->pub.read_only) {
        want = ds->map_len ? ds->map_len : 1u << 20;
        while (want < len) want = want > SIZE_MAX / 2 ? len : want * 2;
    }
    void *m = mmap(NULL, want, PROT_READ, MAP_SHARED, ds->fd, 0);
    if (m == MAP_FAILED)
        return vi__fail(VI_E_IO, "cannot map %s: %s", ds->data_path, strerror(errno));
    if (ds->map) munmap(ds->map, ds->map_len);
    ds->map = m;
    ds->map_len = want;
    ds->pub.base = ds->map;
    return VI_OK;
}

/* Create a data file holding only its header, exclusively (a new uid gives a new name). */
static vi_status create_data(struct disk_store *ds) {
    ds->uid = random_uid();
    vi__free(ds->data_path);
    ds->data_path = data_name_for(ds->path, ds->uid);
    if (!ds->data_path) return vi__fail(VI_E_NOMEM, "out of memory");
    vi__fault_point();
    ds->fd = open(ds->data_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (ds->fd < 0)
        return vi__fail(VI_E_IO, "cannot create %s: %s", ds->data_path, strerror(errno));
    uint8_t h[DATA_HEADER];
    data_header(ds->uid, h);
    const struct iovec iov = {h, sizeof h};
    vi_status st = write_at(ds->fd, &iov, 1, 0, ds->data_path);
    if (st == VI_OK) {
        vi__fault_point();
        if (fsync(ds->fd) != 0)
            st = vi__fail(VI_E_IO, "cannot write %s: %s", ds->data_path, strerror(errno));
    }
    ds->pub.size = DATA_HEADER;
    ds->base_bytes = DATA_HEADER;
    return st == VI_OK ? map_data(ds, DATA_HEADER) : st;
}

/* Entry header: u32 magic, u32 header bytes (a multiple of 8), u64 record bytes, i32 frames,
 * i32 dim, i64 duration (us), u32 CRC of the record, u32 id bytes, u32 model id bytes, the id,
 * the model id, zeros up to the last 4 bytes: the CRC-32 of everything before them. */
static size_t entry_header_size(size_t id_len, size_t model_len) {
    return (ENTRY_FIXED + id_len + model_len + 4 + 7) / 8 * 8;
}

struct entry_view {
    size_t header_len;
    uint64_t record_len;
    int32_t n_frames, dim;
    int64_t duration_us;
    uint32_t record_crc;
    const char *id, *model_id; /* not terminated: id_len, model_len bytes in the mapping */
    uint32_t id_len, model_len;
};

/* Check the entry header at p (`avail` bytes readable there); 0 if it is not a valid one. */
static int parse_entry_header(const uint8_t *p, size_t avail, struct entry_view *v) {
    if (avail < ENTRY_FIXED + 4 || vi__get_le32(p) != ENTRY_MAGIC) return 0;
    const uint32_t hlen = vi__get_le32(p + 4);
    v->id_len = vi__get_le32(p + 36);
    v->model_len = vi__get_le32(p + 40);
    if (hlen % 8 || hlen > avail || hlen < ENTRY_FIXED + 4 || v->id_len > hlen ||
        v->model_len > hlen || hlen != entry_header_size(v->id_len, v->model_len))
        return 0;
    if (vi__get_le32(p + hlen - 4) != vi__crc32(0, p, hlen - 4)) return 0;
    v->header_len = hlen;
    v->record_len = vi__get_le64(p + 8);
    v->n_frames = vi__get_lei32(p + 16);
    v->dim = vi__get_lei32(p + 20);
    v->duration_us = vi__get_lei64(p + 24);
    v->record_crc = vi__get_le32(p + 32);
    v->id = (const char *)p + ENTRY_FIXED;
    v->model_id = v->id + v->id_len;
    return v->record_len == vi__record_size(v->dim, v->n_frames) && v->record_len != 0 &&
           !memchr(v->id, 0, v->id_len) && !memchr(v->model_id, 0, v->model_len) &&
           v->model_len > 0;
}

static char *copy_str(const char *s, size_t n) {
    char *c = vi__malloc(n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

/* Check the base against the data file and read the entries after it into `refs`; `*end`
 * receives the end of the last complete entry. Bytes after it are an interrupted append unless
 * a complete entry header follows them (then the file is damaged). */
static vi_status scan_data(struct disk_store *ds, size_t file_size, struct vi__refs *refs,
                           size_t *end) {
    const uint8_t *m = ds->map;
    const char *dp = ds->data_path;
    uint8_t h[DATA_HEADER];
    data_header(ds->uid, h);
    if (file_size < DATA_HEADER || memcmp(m, DATA_MAGIC, 8) != 0 ||
        vi__get_le32(m + 60) != vi__crc32(0, m, 60))
        return vi__fail(VI_E_FORMAT, "%s: not an index data file or damaged header", dp);
    if (vi__get_le32(m + 8) > DATA_VERSION)
        return vi__fail(VI_E_FORMAT, "%s: data format %u is newer than this library's (%d)", dp,
                        vi__get_le32(m + 8), DATA_VERSION);
    if (memcmp(m, h, DATA_HEADER) != 0)
        return vi__fail(VI_E_FORMAT, "%s does not belong to the manifest %s (another index's "
                        "data file)", dp, ds->path);
    if ((uint64_t)file_size < (uint64_t)ds->base_bytes)
        return vi__fail(VI_E_FORMAT, "%s is truncated: %zu bytes, the manifest %s says %lld", dp,
                        file_size, ds->path, (long long)ds->base_bytes);
    vi_status st = VI_OK;
    const struct vi__refs *b = &ds->base;
    for (int32_t i = 0; st == VI_OK && i < b->n; i++) {
        const size_t len = vi__record_size(b->dim, b->n_frames[i]);
        if (vi__crc32(0, m + b->offset[i], len) != b->crc[i])
            return vi__fail(VI_E_FORMAT, "%s: the vectors of '%s' (entry %d) fail their CRC "
                            "check", dp, b->ids[i], (int)i);
        st = vi__refs_push(refs, b->ids[i], b->model_id, b->dim, b->n_frames[i],
                           b->duration_us[i], b->offset[i], b->crc[i]);
    }
    size_t pos = (size_t)ds->base_bytes;
    while (st == VI_OK && pos < file_size) {
        struct entry_view v;
        if (!parse_entry_header(m + pos, file_size - pos, &v)) break;
        const size_t rec = pos + v.header_len;
        if (v.record_len > file_size - rec) break;
        if (vi__crc32(0, m + rec, (size_t)v.record_len) != v.record_crc) break;
        char *id = copy_str(v.id, v.id_len), *model = copy_str(v.model_id, v.model_len);
        if (!id || !model) {
            st = vi__fail(VI_E_NOMEM, "out of memory");
        } else if (refs->model_id && (strcmp(refs->model_id, model) != 0 ||
                                      refs->dim != v.dim)) {
            st = vi__fail(VI_E_FORMAT, "%s: entry '%s' at byte %zu is of model %s, the index "
                          "holds model %s", dp, id, pos, model, refs->model_id);
        } else {
            st = vi__refs_push(refs, id, model, v.dim, v.n_frames, v.duration_us, rec,
                               v.record_crc);
        }
        vi__free(id);
        vi__free(model);
        pos = rec + (size_t)v.record_len;
    }
    if (st != VI_OK) return st;
    *end = pos;
    /* An append interrupted by a crash is the last thing in the file. */
    for (size_t q = pos + 8; q + ENTRY_FIXED + 4 <= file_size; q += 8) {
        struct entry_view v;
        if (parse_entry_header(m + q, file_size - q, &v))
            return vi__fail(VI_E_FORMAT, "%s: the entry at byte %zu fails its CRC check and "
                            "complete entries follow it: the file is corrupt", dp, pos);
    }
    return VI_OK;
}

/* ---- opening ---------------------------------------------------------------------------- */

static vi_status take_lock(struct disk_store *ds) {
    char *lock_path = join(ds->path, ".lock");
    if (!lock_path) return vi__fail(VI_E_NOMEM, "out of memory");
    vi__fault_point();
    ds->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    vi_status st = VI_OK;
    if (ds->lock_fd < 0)
        st = vi__fail(VI_E_IO, "cannot open %s for adding: %s", lock_path, strerror(errno));
    else if (flock(ds->lock_fd, LOCK_EX | LOCK_NB) != 0)
        st = vi__fail(VI_E_IO, "cannot open %s for adding: %s (another writer holds %s)",
                      ds->path, strerror(errno), lock_path);
    vi__free(lock_path);
    return st;
}

/* Under the lock: remove what killed writers left: temporary files of the manifest and the
 * cache, and data files ("NAME.<16 hex>.vec") that neither the manifest nor `keep` name. */
static vi_status remove_leftovers(struct disk_store *ds, const char *keep) {
    char *cache = join(ds->path, ".faiss");
    if (!cache) return vi__fail(VI_E_NOMEM, "out of memory");
    vi_status st = vi__remove_stale_temps(ds->path);
    if (st == VI_OK) st = vi__remove_stale_temps(cache);
    vi__free(cache);
    if (st != VI_OK) return st;
    const char *base = base_name(ds->path);
    const size_t base_len = strlen(base);
    char *dir = sibling(ds->path, ".");
    if (!dir) return vi__fail(VI_E_NOMEM, "out of memory");
    DIR *d = opendir(dir);
    vi__free(dir);
    if (!d) return VI_OK;
    struct dirent *de;
    while (st == VI_OK && (de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (strlen(n) != base_len + 21 || strncmp(n, base, base_len) != 0 || n[base_len] != '.' ||
            strcmp(n + base_len + 17, ".vec") != 0 ||
            strspn(n + base_len + 1, "0123456789abcdef") != 16)
            continue;
        if (strcmp(n, base_name(ds->data_path)) == 0 || (keep && strcmp(n, base_name(keep)) == 0))
            continue;
        char *full = sibling(ds->path, n);
        if (!full) {
            st = vi__fail(VI_E_NOMEM, "out of memory");
            break;
        }
        vi__fault_point();
        unlink(full);
        vi__free(full);
    }
    closedir(d);
    return st;
}

/* Open the data file named by the manifest just read. ENOENT: see open_existing. */
static vi_status open_data(struct disk_store *ds, const struct manifest *m, struct vi__refs *refs) {
    vi__free(ds->data_path);
    ds->data_path = sibling(ds->path, m->data_file);
    if (!ds->data_path) return vi__fail(VI_E_NOMEM, "out of memory");
    ds->uid = m->uid;
    ds->kind = (int32_t)m->kind;
    ds->base_bytes = m->data_bytes;
    ds->fd = open(ds->data_path, (ds->pub.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (ds->fd < 0) {
        const int err = errno;
        vi_status st = vi__fail(VI_E_IO, "cannot open %s: %s", ds->data_path, strerror(err));
        errno = err;
        return st;
    }
    struct stat sb;
    if (fstat(ds->fd, &sb) != 0)
        return vi__fail(VI_E_IO, "cannot read %s: %s", ds->data_path, strerror(errno));
    if (!S_ISREG(sb.st_mode) || sb.st_size < 0 || (uint64_t)sb.st_size > SIZE_MAX / 2)
        return vi__fail(VI_E_FORMAT, "%s is not an index data file", ds->data_path);
    const size_t file_size = (size_t)sb.st_size;
    if (file_size < DATA_HEADER)
        return vi__fail(VI_E_FORMAT, "%s: not an index data file or damaged header",
                        ds->data_path);
    vi_status st = map_data(ds, file_size);
    size_t end = 0;
    if (st == VI_OK) st = scan_data(ds, file_size, refs, &end);
    if (st != VI_OK) return st;
    ds->pub.size = end;
    if (!ds->pub.read_only && end < file_size) { /* cut off an interrupted append */
        vi__fault_point();
        if (ftruncate(ds->fd, (off_t)end) != 0 || fsync(ds->fd) != 0)
            return vi__fail(VI_E_IO, "cannot write %s: %s", ds->data_path, strerror(errno));
    }
    return VI_OK;
}

static void reset_for_retry(struct disk_store *ds, struct vi__refs *refs) {
    if (ds->map) munmap(ds->map, ds->map_len);
    ds->map = NULL;
    ds->map_len = 0;
    ds->pub.base = NULL;
    ds->pub.size = 0;
    if (ds->fd >= 0) close(ds->fd);
    ds->fd = -1;
    vi__refs_clear(refs);
    vi__refs_clear(&ds->base);
}

/* Read the manifest and open its data file. A reader can meet a rebuild that switched
 * manifests and removed the data file it just read about: it then reads the manifest again. */
static vi_status open_existing(struct disk_store *ds, struct vi__refs *refs) {
    vi_status st = VI_OK;
    for (int attempt = 0; attempt < OPEN_RETRIES; attempt++) {
        struct manifest m;
        st = load_manifest(ds->path, &m, &ds->base);
        if (st == VI_OK) st = open_data(ds, &m, refs);
        const int gone = st == VI_E_IO && errno == ENOENT && m.data_file;
        vi__free(m.data_file);
        if (!gone || !ds->pub.read_only) break;
        reset_for_retry(ds, refs);
        struct timespec pause = {0, 1000000L << (attempt < 6 ? attempt : 6)};
        nanosleep(&pause, NULL);
    }
    return st;
}

static vi_status disk_open(struct disk_store *ds, const struct vi__disk_open *how,
                           struct vi__refs *refs) {
    struct stat sb;
    if (how->read_only) return open_existing(ds, refs);
    vi_status st = take_lock(ds); /* before any other file is touched */
    if (st != VI_OK) return st;
    const int exists = stat(ds->path, &sb) == 0;
    if (!exists && errno != ENOENT)
        return vi__fail(VI_E_IO, "cannot open %s: %s", ds->path, strerror(errno));
    if (how->replace) {
        /* the index being replaced keeps serving readers until the commit */
        if (exists) {
            struct manifest m;
            struct vi__refs ignored = {0};
            st = load_manifest(ds->path, &m, &ignored);
            vi__refs_clear(&ignored);
            if (st == VI_OK) {
                ds->old_data_path = sibling(ds->path, m.data_file);
                if (!ds->old_data_path) st = vi__fail(VI_E_NOMEM, "out of memory");
            } else {
                /* a damaged index is replaced too: what it named cannot be known */
                vi__clear_error();
                st = VI_OK;
            }
            vi__free(m.data_file);
        }
        if (st == VI_OK) st = create_data(ds);
        ds->pub.uncommitted = 1;
        if (st == VI_OK) st = remove_leftovers(ds, ds->old_data_path);
        return st;
    }
    if (!exists) { /* create: the data file first, then the manifest that makes it exist */
        st = create_data(ds);
        if (st == VI_OK) st = vi__fsync_dir_of(ds->data_path);
        if (st == VI_OK) st = write_manifest(ds);
        if (st == VI_OK) st = remove_leftovers(ds, NULL);
        return st;
    }
    struct manifest m;
    st = load_manifest(ds->path, &m, &ds->base);
    if (st == VI_OK) st = open_data(ds, &m, refs);
    const int64_t format = m.format;
    vi__free(m.data_file);
    if (st == VI_OK && format < MANIFEST_FORMAT) st = write_manifest(ds); /* see the top */
    if (st == VI_OK) st = remove_leftovers(ds, NULL);
    return st;
}

/* ---- the store operations --------------------------------------------------------------- */

static vi_status disk_append(vi__store *s, const struct vi__entry *e, const uint8_t *rec,
                             size_t len, uint64_t *offset) {
    struct disk_store *ds = (struct disk_store *)s;
    if (s->read_only)
        return vi__fail(VI_E_INVALID_ARG, "cannot add '%s': %s is open read-only", e->id,
                        ds->path);
    const size_t id_len = strlen(e->id), model_len = strlen(e->model_id);
    if (id_len > UINT32_MAX / 2 || model_len == 0 || model_len > UINT32_MAX / 2)
        return vi__fail(VI_E_INVALID_ARG, "cannot add '%s': id or model id too long", e->id);
    const size_t hlen = entry_header_size(id_len, model_len);
    uint8_t *h = vi__calloc(1, hlen);
    if (!h) return vi__fail(VI_E_NOMEM, "cannot add '%s': out of memory", e->id);
    vi__put_le32(h, ENTRY_MAGIC);
    vi__put_le32(h + 4, (uint32_t)hlen);
    vi__put_le64(h + 8, len);
    vi__put_lei32(h + 16, e->n_frames);
    vi__put_lei32(h + 20, e->dim);
    vi__put_lei64(h + 24, e->duration_us);
    vi__put_le32(h + 32, vi__crc32(0, rec, len));
    vi__put_le32(h + 36, (uint32_t)id_len);
    vi__put_le32(h + 40, (uint32_t)model_len);
    memcpy(h + ENTRY_FIXED, e->id, id_len);
    memcpy(h + ENTRY_FIXED + id_len, e->model_id, model_len);
    vi__put_le32(h + hlen - 4, vi__crc32(0, h, hlen - 4));
    const size_t pos = s->size;
    const struct iovec iov[2] = {{h, hlen}, {(void *)(uintptr_t)rec, len}};
    vi_status st = write_at(ds->fd, iov, 2, (off_t)pos, ds->data_path);
    vi__free(h);
    if (st == VI_OK) {
        vi__fault_point();
        if (fdatasync(ds->fd) != 0)
            st = vi__fail(VI_E_IO, "cannot write %s: %s", ds->data_path, strerror(errno));
    }
    if (st == VI_OK) st = map_data(ds, pos + hlen + len);
    if (st != VI_OK) { /* take back what may have reached the file */
        vi__fault_point();
        if (ftruncate(ds->fd, (off_t)pos) == 0) fdatasync(ds->fd);
        return st;
    }
    s->size = pos + hlen + len;
    *offset = pos + hlen;
    return VI_OK;
}

static vi_status disk_read_cache(vi__store *s, int32_t kind, uint8_t **out, size_t *n) {
    struct disk_store *ds = (struct disk_store *)s;
    *out = NULL;
    *n = 0;
    if (ds->pub.uncommitted) return VI_OK;
    char *p = join(ds->path, ".faiss");
    if (!p) return vi__fail(VI_E_NOMEM, "out of memory");
    uint8_t *buf = NULL;
    size_t len = 0;
    const vi_status st = vi__read_file(p, &buf, &len, 0);
    vi__free(p);
    if (st == VI_E_NOMEM) return st;
    if (st != VI_OK || len < CACHE_HEADER || memcmp(buf, CACHE_MAGIC, 8) != 0 ||
        vi__get_le32(buf + 8) != CACHE_VERSION || vi__get_le32(buf + 44) != vi__crc32(0, buf, 44) ||
        vi__get_lei32(buf + 12) != kind || vi__get_lei64(buf + 16) != ds->uid ||
        vi__get_le64(buf + 32) != len - CACHE_HEADER ||
        vi__get_le32(buf + 40) != vi__crc32(0, buf + CACHE_HEADER, len - CACHE_HEADER)) {
        vi__free(buf); /* missing, stale or damaged: the index rebuilds it */
        vi__clear_error();
        return VI_OK;
    }
    memmove(buf, buf + CACHE_HEADER, len - CACHE_HEADER);
    *out = buf;
    *n = len - CACHE_HEADER;
    return VI_OK;
}

static vi_status disk_write_cache(vi__store *s, int32_t kind, int64_t rows, const uint8_t *payload,
                                  size_t n) {
    struct disk_store *ds = (struct disk_store *)s;
    if (s->read_only || ds->pub.uncommitted) return VI_OK;
    if (n > SIZE_MAX - CACHE_HEADER) return vi__fail(VI_E_NOMEM, "out of memory");
    uint8_t *buf = vi__malloc(n + CACHE_HEADER);
    char *p = join(ds->path, ".faiss");
    vi_status st;
    if (!buf || !p) {
        st = vi__fail(VI_E_NOMEM, "out of memory while saving the FAISS index");
    } else {
        memset(buf, 0, CACHE_HEADER);
        memcpy(buf, CACHE_MAGIC, 8);
        vi__put_le32(buf + 8, CACHE_VERSION);
        vi__put_lei32(buf + 12, kind);
        vi__put_lei64(buf + 16, ds->uid);
        vi__put_lei64(buf + 24, rows);
        vi__put_le64(buf + 32, n);
        vi__put_le32(buf + 40, vi__crc32(0, payload, n));
        vi__put_le32(buf + 44, vi__crc32(0, buf, 44));
        memcpy(buf + CACHE_HEADER, payload, n);
        st = vi__write_file_atomic(p, buf, n + CACHE_HEADER);
    }
    vi__free(buf);
    vi__free(p);
    return st;
}

static vi_status disk_commit(vi__store *s) {
    struct disk_store *ds = (struct disk_store *)s;
    if (!ds->pub.uncommitted) return VI_OK;
    vi__fault_point();
    if (fsync(ds->fd) != 0)
        return vi__fail(VI_E_IO, "cannot write %s: %s", ds->data_path, strerror(errno));
    vi_status st = vi__fsync_dir_of(ds->data_path);
    if (st == VI_OK) st = write_manifest(ds); /* the switch */
    if (st != VI_OK) return st;
    ds->pub.uncommitted = 0;
    /* The replaced index's files; readers that have them open keep reading them. */
    char *cache = join(ds->path, ".faiss");
    if (cache) {
        vi__fault_point();
        unlink(cache);
        vi__free(cache);
    }
    if (ds->old_data_path && strcmp(ds->old_data_path, ds->data_path) != 0) {
        vi__fault_point();
        unlink(ds->old_data_path);
    }
    vi__free(ds->old_data_path);
    ds->old_data_path = NULL;
    return vi__fsync_dir_of(ds->path);
}

static vi_status disk_set_kind(vi__store *s, int32_t kind) {
    struct disk_store *ds = (struct disk_store *)s;
    if (kind == ds->kind) return VI_OK;
    const int32_t old = ds->kind;
    ds->kind = kind;
    if (s->read_only || ds->pub.uncommitted) return VI_OK; /* written with the commit */
    vi_status st = write_manifest(ds);
    if (st != VI_OK) ds->kind = old;
    return st;
}

static void disk_close(vi__store *s) {
    struct disk_store *ds = (struct disk_store *)s;
    if (ds->map) munmap(ds->map, ds->map_len);
    if (ds->pub.uncommitted && ds->fd >= 0) { /* a replace never committed: as if never begun */
        vi__fault_point();
        unlink(ds->data_path);
    }
    if (ds->fd >= 0) close(ds->fd);
    if (ds->lock_fd >= 0) close(ds->lock_fd); /* releases the lock */
    vi__refs_clear(&ds->base);
    vi__free(ds->path);
    vi__free(ds->data_path);
    vi__free(ds->old_data_path);
    vi__free(ds);
}

static const struct vi__store_ops disk_ops = {disk_append, disk_read_cache, disk_write_cache,
                                              disk_commit, disk_set_kind, disk_close};

vi_status vi__disk_store_open(const char *path, const struct vi__disk_open *how, vi__store **out,
                              struct vi__refs *refs, int32_t *kind) {
    *out = NULL;
    *kind = VI_INDEX_AUTO;
    struct disk_store *ds = vi__calloc(1, sizeof *ds);
    if (!ds) return vi__fail(VI_E_NOMEM, "out of memory");
    ds->pub.ops = &disk_ops;
    ds->pub.read_only = how->read_only;
    ds->fd = -1;
    ds->lock_fd = -1;
    ds->path = vi__strdup(path);
    ds->pub.path = ds->path;
    vi_status st = ds->path ? disk_open(ds, how, refs) : vi__fail(VI_E_NOMEM, "out of memory");
    if (st != VI_OK) {
        ds->pub.uncommitted = ds->pub.uncommitted && ds->fd >= 0; /* discard a replace's new file */
        disk_close(&ds->pub);
        vi__refs_clear(refs);
        return st;
    }
    *kind = ds->kind;
    *out = &ds->pub;
    return VI_OK;
}

int vi__disk_store_owns(const vi__store *s, const char *path) {
    if (!s || s->ops != &disk_ops) return 0;
    const struct disk_store *ds = (const struct disk_store *)s;
    struct stat target, own;
    if (stat(path, &target) != 0) return 0;
    if (stat(ds->path, &own) == 0 && own.st_dev == target.st_dev && own.st_ino == target.st_ino)
        return 1;
    if (ds->fd >= 0 && fstat(ds->fd, &own) == 0 && own.st_dev == target.st_dev &&
        own.st_ino == target.st_ino)
        return 2;
    static const char *const ext[] = {".faiss", ".lock"};
    for (int i = 0; i < 2; i++) {
        char *p = join(ds->path, ext[i]);
        const int same = p && stat(p, &own) == 0 && own.st_dev == target.st_dev &&
                         own.st_ino == target.st_ino;
        vi__free(p);
        if (same) return 2;
    }
    return 0;
}

vi_status vi__disk_store_check(const uint8_t *manifest, size_t n, const uint8_t *data,
                               size_t data_n, struct vi__refs *refs) {
    struct disk_store ds;
    memset(&ds, 0, sizeof ds);
    ds.path = (char *)(uintptr_t)"manifest";
    ds.data_path = (char *)(uintptr_t)"data file";
    ds.fd = ds.lock_fd = -1;
    ds.pub.read_only = 1;
    struct manifest m;
    memset(&m, 0, sizeof m);
    vi__doc *doc = NULL;
    vi_status st = vi__doc_parse(manifest, n, VI__MAGIC_INDEX, VI_E_FORMAT, &doc);
    if (st == VI_OK) st = read_manifest(ds.path, doc, &m, &ds.base);
    vi__doc_free(doc);
    if (st == VI_OK) {
        ds.uid = m.uid;
        ds.base_bytes = m.data_bytes;
        ds.map = (uint8_t *)(uintptr_t)data;
        size_t end = 0;
        st = data_n < DATA_HEADER
                 ? vi__fail(VI_E_FORMAT, "data file: not an index data file or damaged header")
                 : scan_data(&ds, data_n, refs, &end);
    }
    vi__free(m.data_file);
    vi__refs_clear(&ds.base);
    if (st != VI_OK) vi__refs_clear(refs);
    return st;
}
