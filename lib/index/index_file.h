/* Single-file indexes (.vidx format 1, vi_index_save / vi_index_load): the container with the
 * ids and every reference's vectors (float32) and times, in insertion order. */
#ifndef VI_INDEX_FILE_H
#define VI_INDEX_FILE_H

#include "index_store.h"

/* Serialise the references `refs` whose records start at `records`. */
VI_HIDDEN vi_status vi__index_file_encode(const struct vi__refs *refs, const uint8_t *records,
                                          int32_t search_kind, uint8_t **out, size_t *n);
/* Read `path`: when it is a single-file index, `*single` = 1 and its references go to a new
 * heap store `*store` and `refs` (empty on entry), its search kind to `*kind`; when it is
 * anything else (an on-disk index's manifest), `*single` = 0 and nothing is kept. */
VI_HIDDEN vi_status vi__index_file_load(const char *path, int *single, vi__store **store,
                                        struct vi__refs *refs, int32_t *kind);
/* The same from a buffer (which must hold a single-file index). */
VI_HIDDEN vi_status vi__index_file_decode(const uint8_t *buf, size_t n, vi__store **store,
                                          struct vi__refs *refs, int32_t *kind);

#endif
