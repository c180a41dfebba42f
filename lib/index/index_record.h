/* What an index holds per reference (the reference table) and the byte layout of a reference's
 * record, shared by the index (index.c), its stores (index_store.h) and the single-file format
 * (index_file.c). Depends on common only.
 *
 * A record is [n_frames x dim float16 frame vectors][dim float32 video vector][n_frames int64
 * pts in microseconds], every value little-endian, padded with zeros to a multiple of 8 bytes
 * (docs/file-formats.md). */
#ifndef VI_INDEX_RECORD_H
#define VI_INDEX_RECORD_H

#include "../common/common.h"
#include "../common/objects.h"

#define VI__RECORD_ALIGN 8
/* Bounds every stored size is checked against before anything is allocated from it. */
#define VI__RECORD_MAX_DIM 65536

/* The references of an index in insertion order. All arrays have `cap` slots. */
struct vi__refs {
    char *model_id;       /* fixed by the first reference; NULL while empty */
    int32_t dim;
    int32_t n, cap;
    char **ids;
    int64_t *row0;        /* global row of each reference's first frame (FAISS label) */
    int32_t *n_frames;
    int64_t *duration_us;
    uint64_t *offset;     /* byte offset of each record in the store */
    uint32_t *crc;        /* CRC-32 of each record */
    int64_t total;        /* frame vectors, all references */
};

/* Append a reference (copies id and, for the first, model_id); VI_E_NOMEM leaves r unchanged. */
VI_HIDDEN vi_status vi__refs_push(struct vi__refs *r, const char *id, const char *model_id,
                                  int32_t dim, int32_t n_frames, int64_t duration_us,
                                  uint64_t offset, uint32_t crc);
/* Forget the last reference (an add that failed after registering it). */
VI_HIDDEN void vi__refs_pop(struct vi__refs *r);
/* Free every array and zero r. */
VI_HIDDEN void vi__refs_clear(struct vi__refs *r);
/* The reference holding global frame row `row` (0 <= row < total). */
VI_HIDDEN int32_t vi__refs_of_row(const struct vi__refs *r, int64_t row);

/* Seconds to whole microseconds for the tables: 0 for NaN, infinities and negative values,
 * clamped below 9e18 (the one place this guard lives). */
VI_HIDDEN int64_t vi__duration_us(double seconds);

/* float16 <-> float32 (IEEE binary16, round to nearest even; no F16C needed). */
VI_HIDDEN void vi__f16_encode(uint16_t *dst, const float *src, size_t n);
VI_HIDDEN void vi__f16_decode(float *dst, const uint16_t *src, size_t n);

/* Bytes of the record of n_frames x dim, or 0 when the sizes are out of range (dim 1..65536,
 * n_frames >= 1, the size representable). */
VI_HIDDEN size_t vi__record_size(int64_t dim, int64_t n_frames);
/* Serialise an embedding into a new vi__malloc'ed record of `*len` bytes. */
VI_HIDDEN vi_status vi__record_encode(const struct vi_embedding *e, uint8_t **rec, size_t *len);
/* Frame vectors j0 .. j0 + m - 1 of a record, as float32 into dst (m x dim). */
VI_HIDDEN void vi__record_frames(const uint8_t *rec, int32_t dim, int32_t j0, int32_t m,
                                 float *dst);
/* Presentation time of frame j of a record. */
VI_HIDDEN int64_t vi__record_pts(const uint8_t *rec, int32_t dim, int32_t n_frames, int32_t j);
/* The video vector of a record into dst (dim floats). */
VI_HIDDEN void vi__record_video(const uint8_t *rec, int32_t dim, int32_t n_frames, float *dst);
/* A new embedding holding reference i of `r`, whose records start at `base`. */
VI_HIDDEN vi_status vi__record_embedding(const struct vi__refs *r, const uint8_t *base,
                                         int32_t i, struct vi_embedding **out);

#endif
