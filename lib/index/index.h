/* The catalogue index (docs/architecture.md, "Index"; file layouts in docs/file-formats.md).
 *
 * References are the rows of a table (index_record.h) whose records, [float16 frame vectors |
 * float32 video vector | int64 pts], live in a store (index_store.h): a heap buffer for an
 * in-memory index, a memory-mapped append-only data file for an on-disk one. A FAISS index
 * (lib/shim/faiss_shim.h) over every frame vector, labelled by global frame row, finds
 * candidate references; the candidates are re-ranked with the full comparison (lib/compare),
 * which yields the segments. The modules depend one way: index.c -> index_file.c,
 * index_store_heap.c, index_disk.c -> index_record.c -> common.
 *
 * Searches only read: the records, the FAISS index (whose search is const) and the table. Add,
 * open and flush change them and need exclusive access (the public contract). */
#ifndef VI_INDEX_H
#define VI_INDEX_H

#include "../common/common.h"
#include "../common/objects.h"
#include "../shim/faiss_shim.h"
#include "index_store.h"

/* AUTO uses exact search below this many frame vectors (one per indexed second). */
#define VI__INDEX_AUTO_EXACT_MAX 100000
/* IVF-PQ needs this many vectors to train; below it an IVF-PQ index searches exactly. */
#define VI__INDEX_IVFPQ_MIN 10000
#define VI__INDEX_DEFAULT_CANDIDATES 20
#define VI__INDEX_DEFAULT_NEIGHBORS 16

struct vi_index {
    vi_index_options opts;  /* resolved copy of the caller's options */
    struct vi__refs refs;   /* the references */
    vi__store *store;       /* where their records are */
    vi__faiss *faiss;       /* over every frame vector; NULL while empty */
    int faiss_dirty;        /* the store's cached FAISS structure is older than `faiss` */
    int defer_sync;         /* bulk loading (benchmarks): adds leave FAISS to vi__index_sync */
};

struct vi_hits {
    int32_t n;
    char **ids;
    struct vi_match **matches;
};

/* Options with defaults filled in and checked. */
VI_HIDDEN vi_status vi__index_resolve_options(const vi_index_options *in, vi_index_options *out);
/* A new empty in-memory index. */
VI_HIDDEN vi_status vi__index_create(const vi_index_options *resolved, struct vi_index **out);
/* Open an on-disk index (vi_index_open), or, read-only, a single-file one. */
VI_HIDDEN vi_status vi__index_open(const char *path, const vi_index_options *resolved,
                                   struct vi_index **out);
VI_HIDDEN vi_status vi__index_add(struct vi_index *x, const char *id,
                                  const struct vi_embedding *e);
VI_HIDDEN vi_status vi__index_search(const struct vi_index *x, const struct vi_embedding *q,
                                     int32_t k, struct vi_hits **out);
/* Commit (a replace), then save the FAISS structure with the store. */
VI_HIDDEN vi_status vi__index_flush(struct vi_index *x);
/* Write the single-file form to `path` (a no-op onto the index's own manifest). */
VI_HIDDEN vi_status vi__index_save(const struct vi_index *x, const char *path);
/* Bring the FAISS index up to date with the references (after adds with defer_sync). */
VI_HIDDEN vi_status vi__index_sync(struct vi_index *x);
/* The vi_index_kind FAISS runs now. */
VI_HIDDEN int32_t vi__index_kind_used(const struct vi_index *x);
VI_HIDDEN void vi__index_free(struct vi_index *x);

#endif
