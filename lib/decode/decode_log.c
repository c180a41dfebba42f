/* Routing FFmpeg's own messages (av_log) to the host's log callback. av_log's callback is
 * process-wide, so it is changed only when the host asks, through vi_log_set. */
#include <libavutil/log.h>
#include <string.h>

#include "decode.h"

static void forward(void *avcl, int level, const char *fmt, va_list vl) {
    if (level > AV_LOG_WARNING) return;
    char line[1024];
    int print_prefix = 1;
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &print_prefix);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    if (n > 0) vi__log(level <= AV_LOG_ERROR ? VI_LOG_WARN : VI_LOG_INFO, "ffmpeg: %s", line);
}

void vi__decode_route_log(int on) { av_log_set_callback(on ? forward : av_log_default_callback); }
