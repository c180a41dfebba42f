/* Per-thread error message and the status strings. The message lives in thread-local storage so
 * that a shared vi_model never holds per-call state and concurrent callers never see each other's
 * errors. */
#include <stdio.h>
#include <string.h>

#include "common.h"

#define VI__MESSAGE_SIZE 1024

static _Thread_local char tls_message[VI__MESSAGE_SIZE];

vi_status vi__fail(vi_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tls_message, sizeof tls_message, fmt, ap);
    va_end(ap);
    return status;
}

void vi__error_prefix(const char *fmt, ...) {
    char prefix[VI__MESSAGE_SIZE];
    char old[VI__MESSAGE_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, tls_message, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof tls_message - 3) n = sizeof tls_message - 3;
    memcpy(tls_message, prefix, n);
    memcpy(tls_message + n, ": ", 2);
    n += 2;
    size_t rest = strnlen(old, sizeof old - 1);
    if (rest > sizeof tls_message - 1 - n) rest = sizeof tls_message - 1 - n;
    memcpy(tls_message + n, old, rest);
    tls_message[n + rest] = '\0';
}

void vi__clear_error(void) { tls_message[0] = '\0'; }

const char *vi_last_error(void) { return tls_message; }

const char *vi_status_str(vi_status status) {
    switch (status) {
    case VI_OK: return "success";
    case VI_E_INVALID_ARG: return "invalid argument";
    case VI_E_IO: return "input/output error";
    case VI_E_NO_VIDEO: return "no video stream";
    case VI_E_DECODE: return "cannot decode video";
    case VI_E_UNSUPPORTED: return "unsupported input";
    case VI_E_BAD_MODEL: return "bad model file";
    case VI_E_FORMAT: return "bad file format";
    case VI_E_NOMEM: return "out of memory";
    case VI_E_INTERNAL: return "internal error";
    case VI_E_CANCELLED: return "cancelled";
    }
    return "unknown status";
}
