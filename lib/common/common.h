/* Internal helpers shared by every stage: error recording, allocation, logging.
 * Depends on nothing but the public header. Symbols use the vi__ prefix and stay hidden. */
#ifndef VI_COMMON_H
#define VI_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "vinfringe.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VI_HIDDEN __attribute__((visibility("hidden")))
#define VI_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Record `status` and a formatted message for vi_last_error() on this thread; returns status so
 * callers can write `return vi__fail(VI_E_IO, "cannot open %s: %s", path, strerror(errno));`. */
VI_HIDDEN vi_status vi__fail(vi_status status, const char *fmt, ...) VI_PRINTF(2, 3);
/* Prefix the current thread's message with more context ("embedding foo.mp4: <old message>"). */
VI_HIDDEN void vi__error_prefix(const char *fmt, ...) VI_PRINTF(1, 2);
/* Clear the thread's message (every public entry point calls this first). */
VI_HIDDEN void vi__clear_error(void);

/* Allocation wrappers: every allocation in lib/ goes through these, so tests can count them and
 * make them fail (vi__fault_fail_alloc_at). vi__malloc/calloc return NULL on failure (and on
 * overflow in calloc/mallocarray). */
VI_HIDDEN void *vi__malloc(size_t n);
VI_HIDDEN void *vi__calloc(size_t count, size_t size);
VI_HIDDEN void *vi__realloc(void *p, size_t n);
VI_HIDDEN void *vi__mallocarray(size_t count, size_t size);
VI_HIDDEN void vi__free(void *p);
VI_HIDDEN char *vi__strdup(const char *s);

/* Logging through the host's callback (silent by default); vi_log_set installs it. */
VI_HIDDEN void vi__log_set(vi_log_fn fn, void *user);
VI_HIDDEN void vi__log(vi_log_level level, const char *fmt, ...) VI_PRINTF(2, 3);

/* CRC-32 (zlib's) of a buffer, continuing from `crc` (start with 0). */
VI_HIDDEN uint32_t vi__crc32(uint32_t crc, const void *data, size_t n);

/* Read a whole file into a new buffer (vi__free it). Fails with VI_E_IO naming the file, also for
 * directories; `max_size` bounds the size accepted (0 = no bound). */
VI_HIDDEN vi_status vi__read_file(const char *path, uint8_t **data, size_t *size, size_t max_size);
/* Replace `path` by `data` atomically and durably (atomic_file.c): written to a temporary file
 * of its own ("<path>.tmp.<random>", created exclusively, locked while it lives), fsynced,
 * renamed over `path`, the directory fsynced. Concurrent writers of one path never collide. */
VI_HIDDEN vi_status vi__write_file_atomic(const char *path, const void *data, size_t size);
/* fsync the directory holding `path` (after a rename or a new file in it). */
VI_HIDDEN vi_status vi__fsync_dir_of(const char *path);
/* Remove the temporary files "<path>.tmp.*" that writers killed before their rename left: those
 * whose lock nobody holds (a live writer's never is). */
VI_HIDDEN vi_status vi__remove_stale_temps(const char *path);
/* Remove the file `name` if nobody holds its lock; 1 when removed. */
VI_HIDDEN int vi__remove_if_stale(const char *name);

/* Fault injection for the tests (faults.c), inert unless armed: check-oom fails the n-th
 * allocation of the wrappers above from now (0: none); the crash test kills the process with
 * SIGKILL at the n-th write-path system call from now (vi__fault_point is called before every
 * open-to-create, write, sync, truncate, rename and unlink of lib/). */
VI_HIDDEN void vi__fault_fail_alloc_at(int64_t n);
VI_HIDDEN int64_t vi__fault_alloc_count(void);
VI_HIDDEN int vi__fault_alloc_fails(void);
VI_HIDDEN void vi__fault_kill_at_write(int64_t n);
VI_HIDDEN int64_t vi__fault_write_count(void);
VI_HIDDEN void vi__fault_point(void);

/* Options structs start with `uint32_t struct_size`. `dst` (of our size) already holds the
 * defaults; copy the caller's first min(struct_size, dst_size) bytes over them, so fields that an
 * older caller does not know keep their defaults. VI_E_INVALID_ARG if struct_size is absurd. */
VI_HIDDEN vi_status vi__copy_options(void *dst, size_t dst_size, const void *src);
/* The body of every vi_*_options_init: zero the caller's `struct_size` bytes, copy as much of
 * `defaults` (a struct of `defaults_size` bytes) as fits, and record struct_size. `fn` names the
 * public function in error messages. */
VI_HIDDEN vi_status vi__options_init(void *opts, size_t struct_size, const void *defaults,
                                     size_t defaults_size, const char *fn);

/* A named float32 array (borrowed for the call): how tensors reach the libtorch shim. */
typedef struct vi__named_f32 {
    const char *name;
    const float *data;
    int32_t ndim;
    int64_t dims[4];
} vi__named_f32;

#ifdef __cplusplus
}
#endif

#endif
