/* Where an index keeps its references' records (docs/architecture.md, "Index"). index.c
 * stores each record through this interface and reads records back from `base`; a store never
 * calls into index.c: it knows bytes, files and commits, nothing of FAISS or search.
 *
 * Two stores:
 *   heap  (index_store_heap.c): a growing buffer; in-memory indexes and single files.
 *   disk  (index_disk.c): a manifest and an append-only data file mapped read-only, whose
 *         entries are committed one by one (file layout in docs/file-formats.md). */
#ifndef VI_INDEX_STORE_H
#define VI_INDEX_STORE_H

#include "index_record.h"

/* What a stored record belongs to. */
struct vi__entry {
    const char *id;
    const char *model_id;
    int32_t dim;
    int32_t n_frames;
    int64_t duration_us;
};

typedef struct vi__store vi__store;

struct vi__store_ops {
    /* Store a record and the entry that describes it. The on-disk store has made it durable
     * (committed) when this returns VI_OK; on failure nothing is stored. `*offset` receives
     * where the record starts in `base`, which may move. */
    vi_status (*append)(vi__store *s, const struct vi__entry *e, const uint8_t *rec, size_t len,
                        uint64_t *offset);
    /* The saved search structure of `kind` (NULL, 0 when none or stale), vi__malloc'ed. */
    vi_status (*read_cache)(vi__store *s, int32_t kind, uint8_t **buf, size_t *n);
    /* Save the search structure (`rows` frame vectors of `kind`) for later opens. */
    vi_status (*write_cache)(vi__store *s, int32_t kind, int64_t rows, const uint8_t *buf,
                             size_t n);
    /* Make everything stored so far visible to others (the on-disk store in replace mode
     * switches to the new index here; otherwise a no-op). */
    vi_status (*commit)(vi__store *s);
    /* Record the search kind chosen (kept with the index for the next open). */
    vi_status (*set_kind)(vi__store *s, int32_t kind);
    /* Release everything (a replace that was never committed is discarded). */
    void (*close)(vi__store *s);
};

struct vi__store {
    const struct vi__store_ops *ops;
    const uint8_t *base;  /* the records: bytes [0, size) */
    size_t size;
    const char *path;     /* the on-disk index's manifest; NULL for the heap */
    int read_only;
    int uncommitted;      /* a replace not committed yet: others still see the old index */
};

/* A new empty heap store. */
VI_HIDDEN vi_status vi__heap_store_create(vi__store **out);

/* How vi__disk_store_open opens an on-disk index. */
struct vi__disk_open {
    int read_only;        /* never create, lock or write anything */
    int replace;          /* start empty; the old index stays until the first commit */
};

/* Open (creating if missing, unless read_only) the on-disk index whose manifest is `path`, and
 * fill `refs` (empty on entry) with its committed references, each record CRC-checked.
 * `*kind` receives the stored search kind (a vi_index_kind). A writer holds "<path>.lock"
 * until close; a second writer fails with VI_E_IO. */
VI_HIDDEN vi_status vi__disk_store_open(const char *path, const struct vi__disk_open *how,
                                        vi__store **out, struct vi__refs *refs, int32_t *kind);

/* The checks vi__disk_store_open makes, on a manifest and a data file held in memory (nothing
 * is opened or written): the fuzz target's entry. `refs` (empty on entry) receives the
 * committed references, whose records start at `data`. */
VI_HIDDEN vi_status vi__disk_store_check(const uint8_t *manifest, size_t n, const uint8_t *data,
                                         size_t data_n, struct vi__refs *refs);

/* Whether `path` names the same file as the on-disk index's manifest (1), one of its data or
 * cache files (2), or neither (0); by device and inode, so "./x.vidx" is "x.vidx". */
VI_HIDDEN int vi__disk_store_owns(const vi__store *s, const char *path);

#endif
