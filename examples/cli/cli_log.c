/* cli_log.c - -v/--loglevel: which messages reach stderr. The command's own messages and the
 * library's (through vi_log_set, FFmpeg's included) share one level, as in FFmpeg: quiet shows
 * nothing, error only errors, warning adds warnings (damaged or truncated input, skipped inputs),
 * info (the default) adds progress, verbose the library's notes (FFmpeg's warnings among them),
 * debug everything. Usage errors (exit 2) are
 * printed whatever the level: they happen before it is known. */
#include <stdarg.h>
#include <string.h>

#include "cli.h"

static int g_level = CLI_LOG_INFO;
static cli_progress *g_progress;

static void vlog(int level, const char *fmt, va_list ap) {
    if (level > g_level) return;
    cli_progress_clear(g_progress);
    fputs(level == CLI_LOG_ERROR     ? "vinfringe: error: "
          : level == CLI_LOG_WARNING ? "vinfringe: warning: "
          : level == CLI_LOG_DEBUG   ? "vinfringe: debug: "
                                     : "vinfringe: ",
          stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fflush(stderr);
}

void cli_log(int level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

/* The library's messages are lines without a newline. */
static void from_library(void *user, int32_t level, const char *msg) {
    (void)user;
    cli_log(level <= VI_LOG_ERROR  ? CLI_LOG_ERROR
            : level == VI_LOG_WARN ? CLI_LOG_WARNING
            : level == VI_LOG_INFO ? CLI_LOG_VERBOSE
                                   : CLI_LOG_DEBUG,
            "%s", msg);
}

void cli_log_setup(int level) {
    g_level = level;
    /* Below warning nothing of the library is shown: leave it silent (the default). */
    vi_log_set(level >= CLI_LOG_WARNING ? from_library : NULL, NULL);
}

int cli_log_level(void) {
    return g_level;
}

void cli_log_progress(cli_progress *p) {
    g_progress = p;
}

int cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(CLI_LOG_ERROR, fmt, ap);
    va_end(ap);
    return CLI_EXIT_ERROR;
}

int cli_lib_error(vi_status status) {
    const char *msg = vi_last_error();
    return cli_error("%s", (msg && *msg) ? msg : vi_status_str(status));
}
