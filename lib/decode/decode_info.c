/* What FFmpeg build the library runs with: its licence and version, as FFmpeg reports them at
 * run time (not the headers we were compiled with: a distributor may swap the shared FFmpeg). */
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>

#include "decode.h"

const char *vi__decode_ffmpeg_license(void) {
    const char *s = avcodec_license();
    return s ? s : "";
}

const char *vi__decode_ffmpeg_version(void) {
    const char *s = av_version_info();
    return s ? s : "";
}
