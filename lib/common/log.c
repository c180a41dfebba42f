/* Diagnostics go to the host's callback; the library is silent by default. */
#include <stdio.h>

#include "common.h"

static vi_log_fn log_fn;
static void *log_user;

void vi__log_set(vi_log_fn fn, void *user) {
    log_fn = fn;
    log_user = user;
}

void vi__log(vi_log_level level, const char *fmt, ...) {
    vi_log_fn fn = log_fn;
    if (!fn) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fn(log_user, (int32_t)level, line);
}
