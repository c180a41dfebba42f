/* Version queries and process-wide settings. */
#include "../decode/decode.h"
#include "../backbone/backbone.h"
#include "vinfringe.h"

#define VI_STR2(x) #x
#define VI_STR(x) VI_STR2(x)

uint32_t vi_version(void) { return VI_VERSION_NUMBER; }

const char *vi_version_string(void) {
    return VI_STR(VI_VERSION_MAJOR) "." VI_STR(VI_VERSION_MINOR) "." VI_STR(VI_VERSION_PATCH);
}

const char *vi_ffmpeg_license(void) { return vi__decode_ffmpeg_license(); }

const char *vi_ffmpeg_version(void) { return vi__decode_ffmpeg_version(); }

vi_status vi_set_threads(int32_t n_threads) {
    vi__clear_error();
    if (n_threads < 0 || n_threads > 1024)
        return vi__fail(VI_E_INVALID_ARG, "vi_set_threads: %d threads (0..1024)", n_threads);
    if (n_threads == 0) return VI_OK;
    return vi__torch_set_threads(n_threads);
}

void vi_log_set(vi_log_fn fn, void *user) {
    vi__log_set(fn, user);
    vi__decode_route_log();
}
