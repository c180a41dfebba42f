/* Decoding and frame sampling with FFmpeg: the only stage that includes libav* headers.
 * A decoder streams sampled frames one at a time, already converted by swscale to the
 * backbone's square RGB24 input, so memory does not grow with the video's length.
 * docs/decoding.md describes the sampling rule, the conversion and the error mapping. */
#ifndef VI_DECODE_H
#define VI_DECODE_H

#include <stdint.h>

#include "../common/common.h"

typedef struct vi__decode_params {
    double fps;             /* sampling rate on presentation time (> 0): the first frame, then
                               the first frame reaching each grid point first_pts + k / fps */
    int32_t max_frames;     /* 0 = no cap */
    int32_t keyframes_only; /* decode keyframes only */
    int32_t threads;        /* 0 = automatic */
    int32_t out_size;       /* side of the square RGB24 output image (whole frame squashed) */
} vi__decode_params;

struct vi__decoder;

/* Open `path` and its best video stream. Errors: VI_E_IO (missing, directory, unreadable),
 * VI_E_DECODE (not media / damaged header), VI_E_NO_VIDEO (no video stream),
 * VI_E_UNSUPPORTED (no decoder, absurd frame size); the message names the file and FFmpeg's
 * reason. */
VI_HIDDEN vi_status vi__decoder_open(const char *path, const vi__decode_params *p,
                                     struct vi__decoder **out);
/* Produce the next sampled frame into `rgb` (out_size * out_size * 3 bytes, rotation metadata
 * applied) with its presentation time in microseconds. `*got` is 0 at the end of the stream.
 * Damaged packets are skipped with a warning through vi__log. A file that yields no frame at all
 * fails with VI_E_NO_VIDEO (or VI_E_DECODE when decoding errors were seen). */
VI_HIDDEN vi_status vi__decoder_next(struct vi__decoder *d, uint8_t *rgb, int64_t *pts_us, int *got);
/* The frame nearest `t_us` (presentation time in microseconds, as vi__decoder_next reports it),
 * found by seeking to the keyframe before it and decoding forward, as packed RGB24 of its
 * displayed size (sample aspect ratio and rotation metadata applied) shrunk to fit in
 * max_side x max_side, into a new buffer `*rgb` of *w x *h pixels (vi__free it); `*pts_us`
 * receives the frame's time. Use a freshly opened decoder, once. */
VI_HIDDEN vi_status vi__decoder_frame_at(struct vi__decoder *d, int64_t t_us, int32_t max_side,
                                         uint8_t **rgb, int32_t *w, int32_t *h, int64_t *pts_us);
/* An image file (JPEG or PNG, a vi_image_format) of packed RGB24 pixels, encoded by libavcodec
 * into a new buffer (vi__free it). */
VI_HIDDEN vi_status vi__encode_image(const uint8_t *rgb, int32_t w, int32_t h, int32_t format,
                                     uint8_t **data, size_t *size);
/* Duration in seconds the container declares for the stream (0 if unknown), measured from the
 * stream's start (a non-zero start time is not counted). */
VI_HIDDEN double vi__decoder_duration(const struct vi__decoder *d);
/* Seconds actually decoded so far: from the first decoded frame to the end of the last one (to
 * the next sampling point when max_frames stopped the decoder). 0 before the first frame. */
VI_HIDDEN double vi__decoder_decoded_span(const struct vi__decoder *d);
/* vi_embed_warning bits, final once vi__decoder_next reported the end of the stream:
 * VI_EMBED_WARN_DAMAGED_FRAMES when packets or frames were skipped, VI_EMBED_WARN_TRUNCATED when
 * the stream ended more than VI__DECODE_TRUNCATED_S seconds (or 5 % of the declared duration,
 * whichever is more) before the end the container declares. */
#define VI__DECODE_TRUNCATED_S 1.0
VI_HIDDEN int32_t vi__decoder_warnings(const struct vi__decoder *d);
VI_HIDDEN void vi__decoder_close(struct vi__decoder *d);

/* Resize one packed RGB24 host frame (any size, row stride `stride`) to the square output. */
VI_HIDDEN vi_status vi__scale_rgb(const uint8_t *rgb, int32_t width, int32_t height, int32_t stride,
                                  uint8_t *out, int32_t out_size);

/* Route FFmpeg's warnings and errors to vi__log from now on (idempotent, thread-safe). */
VI_HIDDEN void vi__decode_route_log(void);
/* The frame size FFmpeg last refused on this thread for being larger than max_pixels (0 x 0:
 * none since the last reset); `reset` clears it. */
VI_HIDDEN void vi__decode_oversize(unsigned *w, unsigned *h, int reset);

/* The licence (avcodec_license()) and version (av_version_info()) of the FFmpeg build loaded at
 * run time; static strings, never NULL. */
VI_HIDDEN const char *vi__decode_ffmpeg_license(void);
VI_HIDDEN const char *vi__decode_ffmpeg_version(void);

#endif
