/* FFmpeg's own messages (av_log) go to the library's log callback, silent unless the host set
 * one with vi_log_set: the library never prints. av_log's callback is process-wide, so it is
 * installed once, when the first decoder opens; a host that wants FFmpeg's default printing back
 * can call av_log_set_callback(av_log_default_callback) afterwards (documented in the header). */
#include <libavutil/log.h>
#include <pthread.h>
#include <string.h>

#include "decode.h"

/* The size of the last frame FFmpeg refused on this thread for exceeding max_pixels. FFmpeg
 * reports it only in this message (the codec context's size is reset), and probing a stream
 * runs on the caller's thread, so a thread-local copy lets the decoder name the size. */
static _Thread_local unsigned oversize_w, oversize_h;

void vi__decode_oversize(unsigned *w, unsigned *h, int reset) {
    *w = oversize_w;
    *h = oversize_h;
    if (reset) oversize_w = oversize_h = 0;
}

static void forward(void *avcl, int level, const char *fmt, va_list vl) {
    if (fmt && strstr(fmt, "exceeds specified max pixel count") &&
        strncmp(fmt, "Picture size %ux%u", 18) == 0) {
        va_list c;
        va_copy(c, vl);
        oversize_w = va_arg(c, unsigned);
        oversize_h = va_arg(c, unsigned);
        va_end(c);
    }
    if (level > AV_LOG_WARNING) return;
    char line[1024];
    int print_prefix = 1;
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &print_prefix);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    if (n > 0) vi__log(level <= AV_LOG_ERROR ? VI_LOG_WARN : VI_LOG_INFO, "ffmpeg: %s", line);
}

static pthread_once_t route_once = PTHREAD_ONCE_INIT;

static void install(void) { av_log_set_callback(forward); }

void vi__decode_route_log(void) { pthread_once(&route_once, install); }
