# `vinfringe --version` names the FFmpeg the library loaded and its licence exactly as FFmpeg
# reports it (issue 19): compared with avcodec_license() and av_version_info() called by a probe
# built against the same FFmpeg through pkg-config.

expect 0 out '^ffmpeg  .+, licence: .+' --version
cat > "$WORK/probe.c" <<'PROBE'
#include <stdio.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
int main(void) { printf("%s, licence: %s\n", av_version_info(), avcodec_license()); return 0; }
PROBE
# The probe runs with the FFmpeg pkg-config names (PKG_CONFIG_PATH may point at another build).
ffdir=$(pkg-config --variable=libdir libavcodec)
if cc "$WORK/probe.c" $(pkg-config --cflags --libs libavcodec libavutil) -Wl,-rpath,"$ffdir" \
    -o "$WORK/probe" 2>"$WORK/probe.err"; then
    want=$("$WORK/probe")
    got=$(sed -n 's/^ffmpeg  //p' "$OUT")
    check "--version: ffmpeg line '$got' is FFmpeg's own '$want'" test "$got" = "$want"
else
    fail "probe against libavcodec builds" "$(cat "$WORK/probe.err")"
fi
