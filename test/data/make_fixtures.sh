#!/bin/sh
# Generate the media fixtures every test suite uses (decode, pipeline, CLI, bindings).
#
#   VI_FIXTURES=dir sh test/data/make_fixtures.sh
#
# Everything is made with the `ffmpeg` command from lavfi test sources, so nothing large is
# committed. The script is idempotent (a file that exists is kept; each one is written under a
# temporary name and renamed, so an interrupted run never leaves a half-written fixture) and
# takes a few seconds. Names are stable: docs/decoding.md lists them for the other test files.
#
# Real clips (H.264 in MP4 unless said otherwise, 8-bit 4:2:0):
#   clip_a.mp4            testsrc2, 10 s, 320x240, 25 fps, keyframe every 2 s, moov at the start
#   clip_b.mp4            mandelbrot zoom, 10 s, 320x240, 25 fps, keyframe every 2 s, moov at end
#   clip_a_copy.mp4       clip_a cropped to 80 %, scaled to 288x208, mirrored, re-encoded at low
#                         quality (CRF 38): a typical infringing copy of clip_a
#   clip_life.mp4         life (cellular automaton), 8 s, 160x120, 25 fps
#   clip_cellauto.mp4     cellauto rule 110, 8 s, 160x120, 25 fps
#   bg_gradients.mp4      slowly moving colour gradients, 12 s, 160x120: background footage
#   clip_b_copy.mp4       clip_b cropped to its top-left 85 %, scaled to 256x192, CRF 34
#   clip_vfr.mp4          variable frame rate: testsrc2 at 30 fps for 3 s, then one frame in 6
#                         (5 fps) to 8 s, with an extra frame at 5.0 s
#   clip_offset.mp4       testsrc2, 6 s, 25 fps, starting at 5.0 s (-output_ts_offset 5)
#   clip_late_start.mkv   testsrc2, 5 s, 160x120, 25 fps, starting at 360000 s: Matroska keeps
#                         no stream duration and declares 360005 s for the file
#   clip_rot90.mp4        clip_a stream-copied with rotate=90 metadata (display matrix: shown
#                         turned 90 degrees counter-clockwise, as ffmpeg's autorotate does)
#   clip_rot180.mp4       the same with rotate=180
#   clip_rot270.mp4       the same with rotate=270
#   clip_hflip.mp4        clip_a stream-copied, its track matrix patched to a horizontal mirror
#   clip_cover.mp4        4 s of clip_b plus a 640x480 PNG cover (attached picture, disposition
#                         attached_pic): the decoder must pick the real video stream
#   clip_mpeg2.ts         MPEG-2 video in MPEG-TS, 4 s, 25 fps, B-frames; starts at 1.4 s
#   clip_concat.ts        clip_mpeg2.ts twice, byte-wise: timestamps jump back 4 s half-way
#   clip_sizechange.ts    clip_mpeg2.ts followed by 3 s of 176x144 MPEG-2 from 7.4 s: the frame
#                         size changes mid-stream
#   clip_vp8.webm         VP8 in WebM, 4 s, 320x240, 25 fps (smptebars + moving testsrc overlay)
#   clip_long.mp4         testsrc2, 120 s, 160x120, 25 fps: for streaming / memory checks
#   big_4096.mp4          4096x4096, two frames at 1 fps
#   one_frame.mp4         a single frame (smptebars 320x240)
#   tiny_1x1.mkv          1x1 pixel PNG frames (RGB24), 5 fps, 2 s
#   tiny_2x2.mp4          2x2 H.264 4:4:4, 10 fps, 1 s
#   odd_33x17.mkv         33x17 FFV1 4:2:0 (odd sizes), 10 fps, 2 s
# Not video:
#   audio_only.m4a        3 s AAC sine: no video stream
#   audio_cover.mp3       3 s MP3 with an MJPEG cover picture: still no video stream
# Bad files (each must be rejected or survived, never crash or hang):
#   empty.mp4             0 bytes
#   text.mp4              a few lines of English text
#   garbage.mp4           32000 bytes of noise
#   truncated.mp4         the first half of clip_b (moov atom at the end is lost: unreadable)
#   truncated_playable.mp4 the first 60 % of clip_a (moov at the start: the first 6 s decode)
#   damaged.mp4           clip_a with 3 x 2000 bytes of noise written over its media data at 30 %,
#                         50 % and 70 % of the file: decodes with skipped/damaged frames
#   dir.mp4/              a directory named like a video
set -eu

: "${VI_FIXTURES:?set VI_FIXTURES to the output directory}"
FFMPEG=${FFMPEG:-ffmpeg}
D=$VI_FIXTURES
mkdir -p "$D"

# ff NAME ARGS...: run ffmpeg to make $D/NAME unless it exists. ARGS end with the output, which
# is spelled "$T" (a temporary name with the same extension, renamed on success).
ff() {
    name=$1
    shift
    [ -e "$D/$name" ] && return 0
    "$FFMPEG" -nostdin -hide_banner -loglevel error -y "$@"
    mv -f "$T" "$D/$name"
}
tmp() { T="$D/.tmp-$1"; }
put() { mv -f "$T" "$D/$1"; }

# noise N: N pseudo-random bytes, the same on every run (seeded noise source).
noise() {
    "$FFMPEG" -nostdin -hide_banner -loglevel error -f lavfi -i "anoisesrc=seed=${2:-7}:r=8000" \
        -t "$(awk "BEGIN { print $1 / 8000 }")" -f u8 -c:a pcm_u8 - | head -c "$1"
}

X264="-c:v libx264 -preset veryfast -pix_fmt yuv420p -bf 3"

tmp clip_a.mp4
ff clip_a.mp4 -f lavfi -i testsrc2=s=320x240:r=25:d=10 $X264 -g 50 -movflags +faststart "$T"
tmp clip_b.mp4
ff clip_b.mp4 -f lavfi -i mandelbrot=s=320x240:r=25 -t 10 $X264 -g 50 "$T"
tmp clip_a_copy.mp4
ff clip_a_copy.mp4 -i "$D/clip_a.mp4" -vf "crop=iw*0.8:ih*0.8,scale=288:208,hflip" $X264 \
    -crf 38 "$T"
# Footage of a calibration (test_calibrate.c, the bindings): a fourth and fifth unrelated
# source, generic background footage, and a copy of clip_b.
tmp clip_life.mp4
ff clip_life.mp4 -f lavfi -i life=s=160x120:r=25:mold=10:seed=7 -t 8 $X264 -g 50 "$T"
tmp clip_cellauto.mp4
ff clip_cellauto.mp4 -f lavfi -i cellauto=s=160x120:r=25:rule=110:seed=3 -t 8 $X264 -g 50 "$T"
tmp bg_gradients.mp4
ff bg_gradients.mp4 -f lavfi -i gradients=s=160x120:r=25:speed=0.02:seed=5 -t 12 $X264 -g 50 "$T"
tmp clip_b_copy.mp4
ff clip_b_copy.mp4 -i "$D/clip_b.mp4" -vf "crop=iw*0.85:ih*0.85:0:0,scale=256:192" $X264 \
    -crf 34 "$T"
tmp clip_vfr.mp4
ff clip_vfr.mp4 -f lavfi -i testsrc2=s=320x240:r=30:d=8 \
    -vf "select='lt(t\,3)+not(mod(n\,6))+eq(n\,150)'" -fps_mode vfr $X264 "$T"
tmp clip_offset.mp4
ff clip_offset.mp4 -f lavfi -i testsrc2=s=320x240:r=25:d=6 $X264 -g 25 -output_ts_offset 5 "$T"
tmp clip_late_start.mkv
ff clip_late_start.mkv -f lavfi -i testsrc2=s=160x120:r=25:d=5 $X264 -g 25 -output_ts_offset 360000 "$T"
for r in 90 180 270; do
    tmp "clip_rot$r.mp4"
    ff "clip_rot$r.mp4" -i "$D/clip_a.mp4" -c copy -metadata:s:v "rotate=$r" "$T"
done

# clip_hflip.mp4: FFmpeg 5.1 cannot write a mirroring display matrix, so the track header's
# matrix {a b u c d v x y w} is overwritten with {-1 0 0 0 1 0 width 0 1} (16.16 / 2.30 fixed
# point). The "tkhd" box of the single track is found with od; version 0 puts the matrix 40
# bytes after the box type.
if [ ! -e "$D/clip_hflip.mp4" ]; then
    tmp clip_hflip.mp4
    cp "$D/clip_a.mp4" "$T"
    off=$(od -A n -t x1 -v "$T" | awk '{ for (i = 1; i <= NF; i++) { n++; b[n % 4] = $i;
        if (n >= 4 && b[(n - 3) % 4] == "74" && b[(n - 2) % 4] == "6b" &&
            b[(n - 1) % 4] == "68" && b[n % 4] == "64") { print n - 4; exit } } }')
    ver=$(od -A n -t u1 -j $((off + 4)) -N 1 "$T" | tr -d ' ')
    [ "$ver" = 0 ] || { echo "make_fixtures: unexpected tkhd version $ver" >&2; exit 1; }
    # width 320 = 0x0140 in 16.16: bytes 01 40 00 00
    printf '\377\377\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\001\000\000'\
'\000\000\000\000\001\100\000\000\000\000\000\000\100\000\000\000' |
        dd of="$T" bs=1 seek=$((off + 44)) conv=notrunc 2>/dev/null
    mv -f "$T" "$D/clip_hflip.mp4"
fi

if [ ! -e "$D/clip_cover.mp4" ]; then
    tmp cover.png
    ff cover.png -f lavfi -i smptebars=s=640x480 -frames:v 1 "$T"
    tmp clip_cover.mp4
    ff clip_cover.mp4 -i "$D/clip_b.mp4" -i "$D/cover.png" -map 0:v -map 1 -t 4 -c:v:0 copy \
        -c:v:1 png -disposition:v:1 attached_pic "$T"
fi
tmp clip_mpeg2.ts
ff clip_mpeg2.ts -f lavfi -i testsrc2=s=320x240:r=25:d=4 -c:v mpeg2video -q:v 4 -bf 2 -g 12 \
    "$T"
if [ ! -e "$D/clip_concat.ts" ]; then
    tmp clip_concat.ts
    cat "$D/clip_mpeg2.ts" "$D/clip_mpeg2.ts" > "$T"
    put clip_concat.ts
fi
if [ ! -e "$D/clip_sizechange.ts" ]; then
    tmp small.ts
    ff small.ts -f lavfi -i testsrc=s=176x144:r=25:d=3 -c:v mpeg2video -q:v 4 -bf 2 -g 12 \
        -output_ts_offset 6 "$T"
    tmp clip_sizechange.ts
    cat "$D/clip_mpeg2.ts" "$D/small.ts" > "$T"
    put clip_sizechange.ts
    rm -f "$D/small.ts"
fi
tmp clip_vp8.webm
ff clip_vp8.webm -f lavfi -i smptebars=s=320x240:r=25:d=4 -f lavfi -i testsrc=s=80x60:r=25:d=4 \
    -filter_complex "[0][1]overlay=x='t*50':y=90" -c:v libvpx -deadline realtime -cpu-used 8 \
    -b:v 300k "$T"
tmp clip_long.mp4
ff clip_long.mp4 -f lavfi -i testsrc2=s=160x120:r=25:d=120 -c:v libx264 -preset ultrafast \
    -pix_fmt yuv420p "$T"
tmp big_4096.mp4
ff big_4096.mp4 -f lavfi -i testsrc2=s=4096x4096:r=1 -frames:v 2 -c:v libx264 \
    -preset ultrafast -pix_fmt yuv420p "$T"
tmp one_frame.mp4
ff one_frame.mp4 -f lavfi -i smptebars=s=320x240:r=25 -frames:v 1 $X264 "$T"
tmp tiny_1x1.mkv
ff tiny_1x1.mkv -f lavfi -i testsrc=s=16x16:r=5:d=2 -vf scale=1:1 -c:v png "$T"
tmp tiny_2x2.mp4
ff tiny_2x2.mp4 -f lavfi -i testsrc2=s=2x2:r=10:d=1 -c:v libx264 -preset veryfast \
    -pix_fmt yuv444p "$T"
tmp odd_33x17.mkv
ff odd_33x17.mkv -f lavfi -i testsrc=s=33x17:r=10:d=2 -pix_fmt yuv420p -c:v ffv1 "$T"

tmp audio_only.m4a
ff audio_only.m4a -f lavfi -i sine=frequency=440:duration=3 -c:a aac "$T"
if [ ! -e "$D/audio_cover.mp3" ]; then
    tmp cover_small.png
    ff cover_small.png -f lavfi -i smptebars=s=320x240 -frames:v 1 "$T"
    tmp audio_cover.mp3
    ff audio_cover.mp3 -f lavfi -i sine=duration=3 -i "$D/cover_small.png" -map 0 -map 1 \
        -c:a libmp3lame -c:v mjpeg -disposition:v attached_pic "$T"
fi

# Bad files. Each is written to a temporary name first, like the clips.
size() { wc -c < "$1" | tr -d ' '; }
if [ ! -e "$D/empty.mp4" ]; then tmp empty.mp4; : > "$T"; put empty.mp4; fi
if [ ! -e "$D/text.mp4" ]; then
    tmp text.mp4
    printf 'This is a plain text file, not a video.\nIt holds a few lines of prose and %s\n' \
        'nothing else, so no demuxer should take it for media.' > "$T"
    put text.mp4
fi
if [ ! -e "$D/garbage.mp4" ]; then tmp garbage.mp4; noise 32000 > "$T"; put garbage.mp4; fi
if [ ! -e "$D/truncated.mp4" ]; then
    tmp truncated.mp4
    head -c $(($(size "$D/clip_b.mp4") / 2)) "$D/clip_b.mp4" > "$T"
    put truncated.mp4
fi
if [ ! -e "$D/truncated_playable.mp4" ]; then
    tmp truncated_playable.mp4
    head -c $(($(size "$D/clip_a.mp4") * 6 / 10)) "$D/clip_a.mp4" > "$T"
    put truncated_playable.mp4
fi
if [ ! -e "$D/damaged.mp4" ]; then
    tmp damaged.mp4
    cp "$D/clip_a.mp4" "$T"
    n=$(size "$T")
    for pct in 30 50 70; do
        noise 2000 "$pct" | dd of="$T" bs=1 seek=$((n * pct / 100)) conv=notrunc 2>/dev/null
    done
    put damaged.mp4
fi
mkdir -p "$D/dir.mp4"
rm -f "$D"/.tmp-*
