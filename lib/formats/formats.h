/* File formats: one generic container (docs/file-formats.md) used for models, embeddings and
 * indexes, and the typed encoders built on it. Pure C + zlib; every parser takes a memory buffer
 * so that it can be fuzzed, and path-based functions are thin wrappers.
 *
 * Container: a 40-byte header (magic, format version, sizes, CRC-32 of the payload and of the
 * header) followed by the zlib-compressed payload, a list of named entries: strings, integers,
 * doubles and tensors (float32, int64, or uint8 with an affine dequantisation). */
#ifndef VI_FORMATS_H
#define VI_FORMATS_H

#include <stddef.h>
#include <stdint.h>

#include "../common/common.h"
#include "../common/objects.h"

#define VI__MAGIC_MODEL "VIMODEL\0"
#define VI__MAGIC_EMBEDDING "VIEMBED\0"
#define VI__MAGIC_INDEX "VIINDEX\0"
#define VI__FORMAT_VERSION 1

enum vi__dtype { VI__DT_F32 = 1, VI__DT_U8Q = 2, VI__DT_I64 = 3 };

/* A tensor view. For VI__DT_U8Q, value = q * qscale + qmin. `data` may be unaligned. */
typedef struct vi__tensor {
    const char *name;
    int32_t dtype;
    int32_t ndim;       /* 0..4 */
    int64_t dims[4];
    float qscale, qmin; /* U8Q only */
    const void *data;
    size_t nbytes;
} vi__tensor;

/* Number of elements of a tensor (product of dims; 1 for ndim 0). */
VI_HIDDEN int64_t vi__tensor_numel(const vi__tensor *t);
/* Convert any dtype to float32 into `out` (numel floats). */
VI_HIDDEN void vi__tensor_to_f32(const vi__tensor *t, float *out);

typedef struct vi__doc vi__doc; /* a parsed, verified container */

/* Verify and decompress a container of kind `magic`. Failures (wrong magic, newer version,
 * truncation, CRC mismatch, malformed entries) return `bad` (VI_E_BAD_MODEL or VI_E_FORMAT)
 * with a message saying which check failed. The doc does not reference `buf` afterwards. */
VI_HIDDEN vi_status vi__doc_parse(const uint8_t *buf, size_t n, const char magic[8], vi_status bad,
                                  vi__doc **out);
VI_HIDDEN void vi__doc_free(vi__doc *doc);
/* Lookups; NULL / 0 when absent or of another type. */
VI_HIDDEN const char *vi__doc_str(const vi__doc *doc, const char *key);
VI_HIDDEN int vi__doc_i64(const vi__doc *doc, const char *key, int64_t *value);
VI_HIDDEN int vi__doc_f64(const vi__doc *doc, const char *key, double *value);
VI_HIDDEN const vi__tensor *vi__doc_tensor(const vi__doc *doc, const char *name);
VI_HIDDEN int32_t vi__doc_tensor_count(const vi__doc *doc);
VI_HIDDEN const vi__tensor *vi__doc_tensor_at(const vi__doc *doc, int32_t i);

typedef struct vi__docw vi__docw; /* a container being written */
VI_HIDDEN vi__docw *vi__docw_create(void);
VI_HIDDEN void vi__docw_free(vi__docw *w);
/* Appenders copy their arguments; errors are sticky and reported by vi__docw_finish. */
VI_HIDDEN void vi__docw_str(vi__docw *w, const char *key, const char *value);
VI_HIDDEN void vi__docw_i64(vi__docw *w, const char *key, int64_t value);
VI_HIDDEN void vi__docw_f64(vi__docw *w, const char *key, double value);
VI_HIDDEN void vi__docw_tensor(vi__docw *w, const vi__tensor *t);
/* Compress and frame; `*out` is vi__malloc'ed. Frees `w` in every case. */
VI_HIDDEN vi_status vi__docw_finish(vi__docw *w, const char magic[8], uint8_t **out, size_t *n);

/* The calibration block (calibration_block.c), shared by model, embedding and index files.
 * vi__calibration_read leaves `c` zeroed (uncalibrated) when the block is absent and fails with
 * `bad` naming the entry when it is partial, out of range, or does not match its id, the
 * vi__calibration_crc of the other fields. */
VI_HIDDEN int vi__calibration_is_key(const char *name);
VI_HIDDEN uint32_t vi__calibration_crc(const struct vi__calibration *c);
VI_HIDDEN void vi__calibration_write(vi__docw *w, const struct vi__calibration *c);
VI_HIDDEN vi_status vi__calibration_read(const vi__doc *doc, vi_status bad,
                                         struct vi__calibration *c);

/* Embedding <-> container bytes. */
VI_HIDDEN vi_status vi__embedding_encode(const struct vi_embedding *e, uint8_t **out, size_t *n);
VI_HIDDEN vi_status vi__embedding_decode(const uint8_t *buf, size_t n, struct vi_embedding **out);

#endif
