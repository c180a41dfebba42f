/* Thumbnails: one decoded frame of a video as a JPEG or PNG image (vi_video_thumbnail). */
#include <string.h>

#include "../decode/decode.h"

/* Default and bounds of vi_thumbnail_options.max_side. */
#define VI_THUMB_SIDE_DEFAULT 320
#define VI_THUMB_SIDE_MIN 16
#define VI_THUMB_SIDE_MAX 4096

vi_status vi_thumbnail_options_init(vi_thumbnail_options *opts, size_t struct_size) {
    vi_thumbnail_options d;
    memset(&d, 0, sizeof d);
    d.max_side = VI_THUMB_SIDE_DEFAULT;
    d.format = VI_IMAGE_JPEG;
    return vi__options_init(opts, struct_size, &d, sizeof d, "vi_thumbnail_options_init");
}

vi_status vi_video_thumbnail(const char *path, int64_t time_us, const vi_thumbnail_options *opts,
                             void **data, size_t *size, int64_t *frame_us) {
    vi__clear_error();
    if (!data || !size) return vi__fail(VI_E_INVALID_ARG, "vi_video_thumbnail: data or size is NULL");
    *data = NULL;
    *size = 0;
    if (!path) return vi__fail(VI_E_INVALID_ARG, "vi_video_thumbnail: path is NULL");
    vi_thumbnail_options o;
    vi_thumbnail_options_init(&o, sizeof o);
    if (opts) {
        vi_status st = vi__copy_options(&o, sizeof o, opts);
        if (st != VI_OK) return st;
    }
    if (o.max_side == 0) o.max_side = VI_THUMB_SIDE_DEFAULT;
    if (o.format == 0) o.format = VI_IMAGE_JPEG;
    if (o.max_side < VI_THUMB_SIDE_MIN || o.max_side > VI_THUMB_SIDE_MAX)
        return vi__fail(VI_E_INVALID_ARG, "vi_video_thumbnail: max_side %d is outside %d..%d",
                        (int)o.max_side, VI_THUMB_SIDE_MIN, VI_THUMB_SIDE_MAX);
    if (o.format != VI_IMAGE_JPEG && o.format != VI_IMAGE_PNG)
        return vi__fail(VI_E_INVALID_ARG, "vi_video_thumbnail: format %d is neither "
                        "VI_IMAGE_JPEG (1) nor VI_IMAGE_PNG (2)", (int)o.format);

    /* The decoder's own square output is not used: 16 keeps its buffer small. */
    const vi__decode_params p = {.fps = 1.0, .out_size = 16};
    struct vi__decoder *d = NULL;
    uint8_t *rgb = NULL, *image = NULL;
    int32_t w = 0, h = 0;
    int64_t pts = 0;
    size_t n = 0;
    vi_status st = vi__decoder_open(path, &p, &d);
    if (st == VI_OK) st = vi__decoder_frame_at(d, time_us, o.max_side, &rgb, &w, &h, &pts);
    vi__decoder_close(d);
    if (st == VI_OK) st = vi__encode_image(rgb, w, h, o.format, &image, &n);
    vi__free(rgb);
    if (st != VI_OK) return st;
    *data = image;
    *size = n;
    if (frame_us) *frame_us = pts;
    return VI_OK;
}
