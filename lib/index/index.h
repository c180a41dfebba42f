/* The catalogue index (docs/architecture.md, "Search"; file layout in docs/file-formats.md).
 *
 * References are stored as records [float16 frame vectors | float32 video vector | int64 pts],
 * one after another, either in a heap buffer (in-memory index) or in a data file that is
 * memory-mapped read-only (on-disk index, vi_index_open). A FAISS index (lib/shim/faiss_shim.h)
 * over every frame vector, labelled by global frame row, finds candidate references; the
 * candidates are re-ranked with the full comparison (lib/compare), which yields the segments.
 *
 * Searches only read: the records, the FAISS index (whose search is const) and the tables
 * below. Add, open and flush change them and need exclusive access (the public contract). */
#ifndef VI_INDEX_H
#define VI_INDEX_H

#include "../common/common.h"
#include "../common/objects.h"
#include "../shim/faiss_shim.h"

/* AUTO uses exact search below this many frame vectors (one per indexed second). */
#define VI__INDEX_AUTO_EXACT_MAX 100000
/* IVF-PQ needs this many vectors to train; below it an IVF-PQ index searches exactly. */
#define VI__INDEX_IVFPQ_MIN 10000
#define VI__INDEX_DEFAULT_CANDIDATES 20
#define VI__INDEX_DEFAULT_NEIGHBORS 16
/* Records and the data file header are padded to this many bytes. */
#define VI__INDEX_ALIGN 8
#define VI__INDEX_DATA_HEADER 64

struct vi_index {
    vi_index_options opts;  /* resolved copy of the caller's options */
    char *model_id;         /* fixed by the first add; NULL while empty */
    int32_t dim;
    int32_t n, cap;         /* references */
    char **ids;
    int64_t *row0;          /* global row of each reference's first frame (FAISS label) */
    int32_t *n_frames;
    int64_t *duration_us;
    uint64_t *offset;       /* byte offset of each record in the storage */
    uint32_t *crc;          /* CRC-32 of each record */
    int64_t total;          /* frame vectors, all references */
    /* storage: heap (in-memory) or a read-only mapping of the data file (on-disk) */
    uint8_t *heap;
    size_t heap_len, heap_cap;
    const uint8_t *map;
    size_t map_len;         /* bytes mapped = valid bytes of the data file */
    /* on-disk only */
    char *path;             /* manifest path; NULL for an in-memory index */
    int fd;                 /* data file, open for appending unless read-only; -1 otherwise */
    int64_t uid;            /* random id shared by the manifest, data file and FAISS cache */
    int faiss_dirty;        /* the FAISS cache file is older than the index */
    int defer_sync;         /* bulk loading: vi__index_add leaves FAISS to one final sync */
    vi__faiss *faiss;       /* NULL while empty */
};

struct vi_hits {
    int32_t n;
    char **ids;
    struct vi_match **matches;
};

/* float16 <-> float32 (IEEE binary16, round to nearest even; no F16C needed). */
VI_HIDDEN void vi__f16_encode(uint16_t *dst, const float *src, size_t n);
VI_HIDDEN void vi__f16_decode(float *dst, const uint16_t *src, size_t n);

/* Bytes of one reference's record, and where its parts start in the storage. */
VI_HIDDEN size_t vi__index_record_size(int32_t dim, int32_t n_frames);
VI_HIDDEN const uint8_t *vi__index_storage(const struct vi_index *x);
/* A new embedding holding reference i (frames decoded to float32). */
VI_HIDDEN vi_status vi__index_ref_embedding(const struct vi_index *x, int32_t i,
                                            struct vi_embedding **out);
/* Options with defaults filled in and checked. */
VI_HIDDEN vi_status vi__index_resolve_options(const vi_index_options *in, vi_index_options *out);
VI_HIDDEN struct vi_index *vi__index_new(const vi_index_options *resolved);
/* Checks the model, serialises the record into `*rec` (vi__malloc'ed, `*len` bytes). */
VI_HIDDEN vi_status vi__index_make_record(const struct vi_index *x, const char *id,
                                          const struct vi_embedding *e, uint8_t **rec,
                                          size_t *len);
/* Register a record that is already in the storage at `offset`. */
VI_HIDDEN vi_status vi__index_push(struct vi_index *x, const char *id, const char *model_id,
                                   int32_t dim, int32_t n_frames, int64_t duration_us,
                                   uint64_t offset, uint32_t crc);
/* Bring the FAISS index up to date with the records (build, switch kind, or add new rows). */
VI_HIDDEN vi_status vi__index_sync_faiss(struct vi_index *x);
/* The kind of FAISS index the options and the current size call for. */
VI_HIDDEN int32_t vi__index_wanted_kind(const struct vi_index *x);

VI_HIDDEN vi_status vi__index_add(struct vi_index *index, const char *id, const struct vi_embedding *e);
VI_HIDDEN vi_status vi__index_search(const struct vi_index *index, const struct vi_embedding *q,
                                     int32_t k, struct vi_hits **out);
VI_HIDDEN void vi__index_free(struct vi_index *x);

/* Single-file index (.vidx format 1: everything in one container, float32). */
VI_HIDDEN vi_status vi__index_encode(const struct vi_index *index, uint8_t **out, size_t *n);
VI_HIDDEN vi_status vi__index_decode(const uint8_t *buf, size_t n, struct vi_index **out);
VI_HIDDEN vi_status vi__index_decode_with(const uint8_t *buf, size_t n,
                                          const vi_index_options *resolved,
                                          struct vi_index **out);

/* On-disk appendable index (index_disk.c): manifest + "<path>.vec" + "<path>.faiss". */
VI_HIDDEN vi_status vi__index_open(const char *path, const vi_index_options *resolved,
                                   struct vi_index **out);
VI_HIDDEN vi_status vi__index_disk_append(struct vi_index *x, const char *id,
                                          const struct vi_embedding *e);
VI_HIDDEN vi_status vi__index_flush(struct vi_index *x);
VI_HIDDEN void vi__index_disk_close(struct vi_index *x);

VI_HIDDEN struct vi_embedding *vi__embedding_copy(const struct vi_embedding *e);

#endif
