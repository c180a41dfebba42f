/* Decoding and frame sampling with FFmpeg 5.1 (libavformat, libavcodec, libswscale, libavutil).
 *
 * One decoder streams one file: packets of the chosen video stream go to a frame-threaded
 * decoder; decoded frames are sampled on presentation time and only the sampled ones are
 * converted by swscale to the square RGB24 image the backbone takes. Nothing is buffered beyond
 * the frames FFmpeg keeps in flight for its threads, so memory does not depend on the length.
 *
 * Sampling grid: grid point k is first_pts + k / fps (microseconds, rounded), anchored at the
 * first decoded frame. A frame is emitted when its pts reaches the next grid point; after
 * emitting a frame at t the next grid point is the first one strictly after t, so a gap in a
 * variable-frame-rate stream never produces a burst of frames. Timestamps reported are the
 * frames' own best-effort pts, converted from the stream time base to microseconds.
 *
 * Cheap skipping: a packet whose pts lies before the next grid point can never be sampled (the
 * grid only moves forward), so while such packets arrive the decoder runs with
 * skip_frame = AVDISCARD_NONREF: frames nothing else refers to are not reconstructed at all.
 * Frame threading copies skip_frame per packet, so the switch takes effect packet by packet.
 *
 * Logging: FFmpeg's messages reach vi__log through decode_log.c's av_log callback; the codec
 * context's per-macroblock complaints are pushed below what it forwards (log_level_offset),
 * and this file reports each skipped packet once instead. Errors carry av_strerror's text. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "decode.h"

#define VI_DECODE_MAX_SIDE 16384
#define VI_DECODE_MAX_PIXELS (INT64_C(1) << 27)
/* Consecutive failures (demuxing, sending or receiving) after which the rest of the file is
 * given up: damaged files recover long before this, endless garbage never does. */
#define VI_DECODE_MAX_ERRORS 100
/* Added to the level of the codec's own messages: ERROR (16) becomes 56 (TRACE), which neither
 * the default level (INFO, 32) nor decode_log.c's forwarding (WARNING and worse) lets through. */
#define VI_DECODE_LOG_OFFSET 40
/* A timestamp this far (microseconds) before the previous frame's is a discontinuity. */
#define VI_DECODE_MAX_BACKSTEP 1000000
/* SWS_AREA averages every source pixel that falls in a destination pixel when shrinking (no
 * aliasing on 1080p -> 224) and interpolates when enlarging tiny frames. */
#define VI_DECODE_SWS_FLAGS (SWS_AREA | SWS_ACCURATE_RND)
/* Build with -DVI_DECODE_SKIP_NONREF=0 to decode every frame (for benchmarking the skipping). */
#ifndef VI_DECODE_SKIP_NONREF
#define VI_DECODE_SKIP_NONREF 1
#endif

/* A signed permutation mapping source offsets (from the image centre, y down) to display
 * offsets: dst = m * src, with m = {xx, xy; yx, yy}. Identity when no rotation applies. */
struct vi__orient {
    int xx, xy, yx, yy;
};

/* Colour conversion to the square RGB24 output. Shared by the decoder and vi__scale_rgb. */
struct vi__scaler {
    struct SwsContext *sws;
    int src_w, src_h, src_fmt, src_space, src_range; /* what `sws` was last set up for */
    int32_t size;       /* output side */
    int stride;         /* bytes per row of `buf`, a multiple of 64 */
    uint8_t *buf;       /* 64-byte aligned view into `raw`: swscale's SIMD wants aligned rows */
    uint8_t *raw;
};

struct vi__decoder {
    char *path;
    vi__decode_params p;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVStream *st;
    AVPacket *pkt;
    AVFrame *frame;
    struct vi__scaler sc;
    struct vi__orient orient;
    int orient_known;          /* stream-level display matrix seen (else frame side data) */

    int64_t first_us;          /* pts of the first decoded frame: the grid's anchor */
    int have_first;
    int64_t next_us;           /* next grid point */
    int64_t last_us;           /* last decoded frame's pts (to synthesise missing ones) */
    int64_t end_us;            /* end of the last decoded frame (its pts plus its duration) */
    int64_t packet_end_us;     /* end of the last packet of the stream read (keyframes_only) */
    int capped;                /* max_frames stopped the decoder */
    int64_t frame_dur_us;      /* nominal frame duration, for frames without a timestamp */
    int64_t ts_offset;         /* added to timestamps after a backward jump (see frame_time_us) */
    int32_t emitted;
    int64_t decoded;           /* frames decoded (sampled or not) */

    int demux_eof;             /* flush packet sent */
    int finished;
    int skipping;              /* skip_frame currently AVDISCARD_NONREF */
    int64_t key_packets;       /* keyframe packets seen (keyframes_only) */
    int consecutive_errors;
    int64_t errors;            /* damaged packets / frames skipped in total */
    int last_error;            /* last AVERROR seen, for the final message */
};

static const char *av_err(int err, char buf[AV_ERROR_MAX_STRING_SIZE]) {
    av_strerror(err, buf, AV_ERROR_MAX_STRING_SIZE);
    return buf;
}

static int is_io_error(int err) {
    return err == AVERROR(ENOENT) || err == AVERROR(EACCES) || err == AVERROR(EISDIR) ||
           err == AVERROR(EIO) || err == AVERROR(EPERM) || err == AVERROR(ENOTDIR) ||
           err == AVERROR(ELOOP) || err == AVERROR(ENAMETOOLONG);
}

static int size_ok(int64_t w, int64_t h) {
    return w > 0 && h > 0 && w <= VI_DECODE_MAX_SIDE && h <= VI_DECODE_MAX_SIDE &&
           w * h <= VI_DECODE_MAX_PIXELS;
}

static vi_status oversize(const char *path, int64_t w, int64_t h) {
    return vi__fail(VI_E_UNSUPPORTED, "cannot decode %s: frame size %lldx%lld is beyond the "
                    "supported %dx%d / %lld pixels", path, (long long)w, (long long)h,
                    VI_DECODE_MAX_SIDE, VI_DECODE_MAX_SIDE, (long long)VI_DECODE_MAX_PIXELS);
}

/* ---------------------------------------------------------------------------------------- */
/* Orientation                                                                              */
/* ---------------------------------------------------------------------------------------- */

/* The display matrix maps a source point (p, q) to (a p + c q, b p + d q) in picture
 * coordinates (y down), with a, b, c, d = m[0], m[1], m[3], m[4] in 16.16 fixed point. Only
 * quarter turns (with or without a mirror) are applied; the output stays square, so they
 * reduce to a signed permutation of the axes. */
static int orient_from_matrix(const int32_t *m, const char *path, struct vi__orient *o) {
    const double angle = av_display_rotation_get(m);
    if (isnan(angle)) return 0;
    const double a = m[0], b = m[1], c = m[3], d = m[4];
    const double quarter = fabs(remainder(angle, 90.0));
    if (quarter > 1.0) {
        vi__log(VI_LOG_WARN, "%s: display rotation of %.1f degrees is not a quarter turn; ignored",
                path, angle);
        return 0;
    }
    if (fabs(a) + fabs(d) >= fabs(b) + fabs(c)) {
        o->xx = a < 0 ? -1 : 1;
        o->xy = 0;
        o->yx = 0;
        o->yy = d < 0 ? -1 : 1;
    } else {
        o->xx = 0;
        o->xy = c < 0 ? -1 : 1;
        o->yx = b < 0 ? -1 : 1;
        o->yy = 0;
    }
    return 1;
}

static int orient_is_identity(const struct vi__orient *o) {
    return o->xx == 1 && o->yy == 1 && o->xy == 0 && o->yx == 0;
}

/* Copy the sw x sh image `src` (row stride `stride`) into packed `dst` of dw x dh (the same
 * size, or its axes swapped when the permutation swaps them), reoriented. With centred
 * coordinates u = 2 i - (size - 1), the source of display pixel u_d is m^T u_d (m is
 * orthogonal). */
static void orient_copy_rect(const struct vi__orient *o, const uint8_t *src, int stride,
                             int32_t sw, int32_t sh, uint8_t *dst, int32_t dw, int32_t dh) {
    if (orient_is_identity(o)) {
        for (int32_t y = 0; y < dh; y++) memcpy(dst + (size_t)y * dw * 3, src + (size_t)y * stride,
                                                (size_t)dw * 3);
        return;
    }
    for (int32_t y = 0; y < dh; y++) {
        const int vy = 2 * y - (dh - 1);
        uint8_t *row = dst + (size_t)y * dw * 3;
        for (int32_t x = 0; x < dw; x++) {
            const int vx = 2 * x - (dw - 1);
            const int sx = (o->xx * vx + o->yx * vy + (sw - 1)) / 2;
            const int sy = (o->xy * vx + o->yy * vy + (sh - 1)) / 2;
            const uint8_t *px = src + (size_t)sy * stride + (size_t)sx * 3;
            row[3 * x] = px[0];
            row[3 * x + 1] = px[1];
            row[3 * x + 2] = px[2];
        }
    }
}

/* The square case: the backbone's S x S input. */
static void orient_copy(const struct vi__orient *o, const uint8_t *src, int stride, uint8_t *dst,
                        int32_t s) {
    orient_copy_rect(o, src, stride, s, s, dst, s, s);
}

/* ---------------------------------------------------------------------------------------- */
/* Scaling                                                                                  */
/* ---------------------------------------------------------------------------------------- */

static vi_status scaler_init(struct vi__scaler *sc, int32_t size) {
    memset(sc, 0, sizeof *sc);
    sc->src_fmt = AV_PIX_FMT_NONE;
    sc->size = size;
    sc->stride = (size * 3 + 63) & ~63;
    sc->raw = vi__malloc((size_t)sc->stride * (size_t)size + 64);
    if (!sc->raw) return vi__fail(VI_E_NOMEM, "out of memory for a %dx%d frame", size, size);
    sc->buf = (uint8_t *)(((uintptr_t)sc->raw + 63) & ~(uintptr_t)63);
    return VI_OK;
}

static void scaler_free(struct vi__scaler *sc) {
    sws_freeContext(sc->sws);
    vi__free(sc->raw);
    memset(sc, 0, sizeof *sc);
}

/* The JPEG ("j") pixel formats are the plain ones at full range; swscale warns about them, so
 * they are replaced here and the range is passed explicitly. */
static enum AVPixelFormat unjpeg(enum AVPixelFormat f, int *full_range) {
    switch (f) {
    case AV_PIX_FMT_YUVJ420P: *full_range = 1; return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P: *full_range = 1; return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P: *full_range = 1; return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P: *full_range = 1; return AV_PIX_FMT_YUV440P;
    case AV_PIX_FMT_YUVJ411P: *full_range = 1; return AV_PIX_FMT_YUV411P;
    default: return f;
    }
}

/* Tell swscale the source's YUV matrix and range (RGB output is full range). */
static void set_colorspace(struct SwsContext *sws, enum AVPixelFormat fmt, int space, int full) {
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(fmt);
    if (desc && !(desc->flags & AV_PIX_FMT_FLAG_RGB) && desc->nb_components >= 3) {
        /* sws_getCoefficients takes SWS_CS_* values, which follow AVColorSpace numbering
         * and fall back to BT.601 for anything it does not know. */
        const int *coefs = sws_getCoefficients(
            space == AVCOL_SPC_UNSPECIFIED || space == AVCOL_SPC_RGB ? SWS_CS_DEFAULT : space);
        sws_setColorspaceDetails(sws, coefs, full, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0,
                                 1 << 16, 1 << 16);
    }
}

/* Convert one picture into sc->buf (size x size RGB24). `space` is an AVColorSpace, `range` an
 * AVColorRange; unspecified values keep swscale's defaults (BT.601, limited range). */
static vi_status scaler_run(struct vi__scaler *sc, const uint8_t *const data[4],
                            const int linesize[4], int w, int h, enum AVPixelFormat fmt, int space,
                            int range, const char *what) {
    int full = range == AVCOL_RANGE_JPEG;
    fmt = unjpeg(fmt, &full);
    if (!sc->sws || w != sc->src_w || h != sc->src_h || (int)fmt != sc->src_fmt ||
        space != sc->src_space || full != sc->src_range) {
        sc->sws = sws_getCachedContext(sc->sws, w, h, fmt, sc->size, sc->size, AV_PIX_FMT_RGB24,
                                       VI_DECODE_SWS_FLAGS, NULL, NULL, NULL);
        if (!sc->sws) {
            sc->src_fmt = AV_PIX_FMT_NONE;
            const char *name = av_get_pix_fmt_name(fmt);
            return vi__fail(VI_E_UNSUPPORTED, "%s: cannot convert %dx%d %s frames to RGB", what,
                            w, h, name ? name : "unknown-format");
        }
        set_colorspace(sc->sws, fmt, space, full);
        sc->src_w = w;
        sc->src_h = h;
        sc->src_fmt = fmt;
        sc->src_space = space;
        sc->src_range = full;
    }
    uint8_t *dst[4] = {sc->buf, NULL, NULL, NULL};
    int dst_stride[4] = {sc->stride, 0, 0, 0};
    int rows = sws_scale(sc->sws, data, linesize, 0, h, dst, dst_stride);
    if (rows <= 0) {
        char eb[AV_ERROR_MAX_STRING_SIZE];
        return vi__fail(VI_E_INTERNAL, "%s: swscale failed on a %dx%d frame: %s", what, w, h,
                        rows < 0 ? av_err(rows, eb) : "no output");
    }
    return VI_OK;
}

vi_status vi__scale_rgb(const uint8_t *rgb, int32_t width, int32_t height, int32_t stride,
                        uint8_t *out, int32_t out_size) {
    if (!rgb || !out || out_size <= 0 || out_size > VI_DECODE_MAX_SIDE)
        return vi__fail(VI_E_INVALID_ARG, "vi__scale_rgb: bad arguments");
    if (!size_ok(width, height))
        return vi__fail(VI_E_UNSUPPORTED, "host frame of %dx%d pixels is out of range", width,
                        height);
    if (stride == 0) stride = width * 3;
    if (stride < width * 3)
        return vi__fail(VI_E_INVALID_ARG, "host frame stride %d < width * 3", stride);
    struct vi__scaler sc;
    vi_status st = scaler_init(&sc, out_size);
    if (st != VI_OK) return st;
    /* swscale reads source rows with SIMD loads that may run past the end of a row; a host
     * buffer carries no padding, so it is copied into an aligned, padded one first. */
    const int src_stride = (width * 3 + 64 + 63) & ~63;
    uint8_t *raw = vi__malloc((size_t)src_stride * (size_t)(height + 1) + 64);
    if (!raw) {
        scaler_free(&sc);
        return vi__fail(VI_E_NOMEM, "out of memory for a %dx%d host frame", width, height);
    }
    uint8_t *copy = (uint8_t *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    for (int32_t y = 0; y < height; y++) {
        memcpy(copy + (size_t)y * src_stride, rgb + (size_t)y * stride, (size_t)width * 3);
        memset(copy + (size_t)y * src_stride + (size_t)width * 3, 0,
               (size_t)(src_stride - width * 3));
    }
    memset(copy + (size_t)height * src_stride, 0, (size_t)src_stride);
    const uint8_t *data[4] = {copy, NULL, NULL, NULL};
    const int linesize[4] = {src_stride, 0, 0, 0};
    st = scaler_run(&sc, data, linesize, width, height, AV_PIX_FMT_RGB24, AVCOL_SPC_RGB,
                    AVCOL_RANGE_JPEG, "host frame");
    if (st == VI_OK) {
        const struct vi__orient id = {1, 0, 0, 1};
        orient_copy(&id, sc.buf, sc.stride, out, out_size);
    }
    vi__free(raw);
    scaler_free(&sc);
    return st;
}

/* The API moved in FFmpeg 6.1 (stream side data went to codecpar, the frame key flag to
 * flags); FFmpeg 5.1 is the target, the newer spelling only keeps later versions building. */
static const int32_t *stream_display_matrix(const AVStream *st) {
#ifdef FF_API_AVSTREAM_SIDE_DATA
    const AVPacketSideData *sd = av_packet_side_data_get(
        st->codecpar->coded_side_data, st->codecpar->nb_coded_side_data, AV_PKT_DATA_DISPLAYMATRIX);
    return sd && sd->size >= 9 * sizeof(int32_t) ? (const int32_t *)sd->data : NULL;
#else
    size_t size = 0;
    const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
    return m && size >= 9 * sizeof(int32_t) ? (const int32_t *)m : NULL;
#endif
}

/* A frame's duration in its stream's time base (0 when unknown). */
static int64_t frame_duration(const AVFrame *f) {
#if LIBAVUTIL_VERSION_MAJOR >= 58
    return f->duration > 0 ? f->duration : 0;
#else
    return f->pkt_duration > 0 ? f->pkt_duration : 0;
#endif
}

static int frame_is_key(const AVFrame *f) {
#ifdef AV_FRAME_FLAG_KEY
    return (f->flags & AV_FRAME_FLAG_KEY) != 0;
#else
    return f->key_frame;
#endif
}

/* ---------------------------------------------------------------------------------------- */
/* Opening                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* Check the path ourselves first: FFmpeg's reasons for a missing file or a directory are
 * less clear, and an empty file is not worth probing. */
static vi_status check_path(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0)
        return vi__fail(VI_E_IO, "cannot open %s: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) return vi__fail(VI_E_IO, "cannot open %s: is a directory", path);
    /* A FIFO, socket or device would block or never end: only files are videos. */
    if (!S_ISREG(sb.st_mode))
        return vi__fail(VI_E_IO, "cannot open %s: not a regular file (a %s)", path,
                        S_ISFIFO(sb.st_mode)   ? "FIFO"
                        : S_ISSOCK(sb.st_mode) ? "socket"
                        : S_ISCHR(sb.st_mode)  ? "character device"
                        : S_ISBLK(sb.st_mode)  ? "block device"
                                               : "special file");
    if (access(path, R_OK) != 0)
        return vi__fail(VI_E_IO, "cannot read %s: %s", path, strerror(errno));
    if (sb.st_size == 0)
        return vi__fail(VI_E_DECODE, "cannot decode %s: the file is empty", path);
    return VI_OK;
}

/* av_find_best_stream prefers streams with decoded frames but does not exclude attached
 * pictures (cover art), which are single still images: pick among the other video streams. */
static int pick_stream(AVFormatContext *fmt, const AVCodec **codec) {
    int idx = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, codec, 0);
    if (idx >= 0 && !(fmt->streams[idx]->disposition & AV_DISPOSITION_ATTACHED_PIC)) return idx;
    int best = -1;
    int64_t best_area = -1;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVStream *s = fmt->streams[i];
        if (s->codecpar->codec_type != AVMEDIA_TYPE_VIDEO ||
            (s->disposition & AV_DISPOSITION_ATTACHED_PIC))
            continue;
        const int64_t area = (int64_t)s->codecpar->width * s->codecpar->height;
        if (area > best_area) {
            best = (int)i;
            best_area = area;
        }
    }
    if (best >= 0) {
        *codec = avcodec_find_decoder(fmt->streams[best]->codecpar->codec_id);
        return best;
    }
    return idx >= 0 ? AVERROR_STREAM_NOT_FOUND : idx;
}

static vi_status open_input(struct vi__decoder *d) {
    char eb[AV_ERROR_MAX_STRING_SIZE];
    const char *path = d->path;
    d->fmt = avformat_alloc_context();
    if (!d->fmt) return vi__fail(VI_E_NOMEM, "out of memory opening %s", path);
    /* Local files only: a playlist or concat file must not reach out to the network. */
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "protocol_whitelist", "file,crypto,data", 0);
    /* The "file:" prefix keeps names with a colon ("a:b.mp4") from being read as protocols. */
    const size_t n = strlen(path) + sizeof "file:";
    char *url = vi__malloc(n);
    if (!url) {
        av_dict_free(&opts);
        return vi__fail(VI_E_NOMEM, "out of memory opening %s", path);
    }
    snprintf(url, n, "file:%s", path);
    int ret = avformat_open_input(&d->fmt, url, NULL, &opts);
    vi__free(url);
    av_dict_free(&opts);
    if (ret < 0) {
        /* avformat_open_input frees the context on failure */
        if (is_io_error(ret))
            return vi__fail(VI_E_IO, "cannot open %s: %s", path, av_err(ret, eb));
        if (ret == AVERROR(ENOMEM)) return vi__fail(VI_E_NOMEM, "out of memory opening %s", path);
        return vi__fail(VI_E_DECODE, "cannot decode %s: not a media file FFmpeg reads (%s)", path,
                        av_err(ret, eb));
    }
    /* Probing decodes the first frames of formats whose header has no frame size (PNG, JPEG):
     * max_pixels makes FFmpeg refuse an oversized frame from its header instead of allocating
     * and decoding it (a 16000x16000 PNG took 1 GB and 12 s before). */
    AVDictionary **probe_opts = NULL;
    const unsigned n_streams = d->fmt->nb_streams;
    if (n_streams > 0) {
        probe_opts = vi__calloc(n_streams, sizeof *probe_opts);
        if (!probe_opts) return vi__fail(VI_E_NOMEM, "out of memory probing %s", path);
        for (unsigned i = 0; i < n_streams; i++)
            av_dict_set_int(&probe_opts[i], "max_pixels", VI_DECODE_MAX_PIXELS, 0);
    }
    unsigned big_w, big_h;
    vi__decode_oversize(&big_w, &big_h, 1);
    ret = avformat_find_stream_info(d->fmt, probe_opts);
    for (unsigned i = 0; i < n_streams; i++) av_dict_free(&probe_opts[i]);
    vi__free(probe_opts);
    vi__decode_oversize(&big_w, &big_h, 1);
    if (big_w || big_h) return oversize(path, (int64_t)big_w, (int64_t)big_h);
    if (ret < 0) {
        if (ret == AVERROR(ENOMEM)) return vi__fail(VI_E_NOMEM, "out of memory probing %s", path);
        return vi__fail(VI_E_DECODE, "cannot decode %s: cannot read stream information (%s)",
                        path, av_err(ret, eb));
    }
    return VI_OK;
}

static vi_status open_codec(struct vi__decoder *d) {
    char eb[AV_ERROR_MAX_STRING_SIZE];
    const char *path = d->path;
    const AVCodec *codec = NULL;
    int idx = pick_stream(d->fmt, &codec);
    if (idx < 0) {
        int other_media = 0;
        for (unsigned i = 0; i < d->fmt->nb_streams; i++) {
            const enum AVMediaType t = d->fmt->streams[i]->codecpar->codec_type;
            other_media |= t == AVMEDIA_TYPE_AUDIO || t == AVMEDIA_TYPE_VIDEO ||
                           t == AVMEDIA_TYPE_SUBTITLE;
        }
        if (!other_media)
            return vi__fail(VI_E_DECODE, "cannot decode %s: no audio or video stream found (%s)",
                            path, av_err(idx, eb));
        return vi__fail(VI_E_NO_VIDEO, "%s has no video stream (%s)", path, av_err(idx, eb));
    }
    d->st = d->fmt->streams[idx];
    const AVCodecParameters *par = d->st->codecpar;
    /* Only our stream is read; the demuxer may drop the others' packets early. */
    for (unsigned i = 0; i < d->fmt->nb_streams; i++)
        if ((int)i != idx) d->fmt->streams[i]->discard = AVDISCARD_ALL;
    if (!codec) {
        const char *name = avcodec_get_name(par->codec_id);
        return vi__fail(VI_E_UNSUPPORTED, "cannot decode %s: no decoder for codec %s in this "
                        "FFmpeg build", path, name ? name : "unknown");
    }
    if ((par->width || par->height) && !size_ok(par->width, par->height))
        return oversize(path, par->width, par->height);
    d->dec = avcodec_alloc_context3(codec);
    if (!d->dec) return vi__fail(VI_E_NOMEM, "out of memory opening the decoder for %s", path);
    int ret = avcodec_parameters_to_context(d->dec, par);
    if (ret < 0)
        return vi__fail(VI_E_DECODE, "cannot decode %s: bad codec parameters (%s)", path,
                        av_err(ret, eb));
    d->dec->log_level_offset = VI_DECODE_LOG_OFFSET;
    d->dec->max_pixels = VI_DECODE_MAX_PIXELS; /* never allocate a frame beyond the bound */
    d->dec->pkt_timebase = d->st->time_base;
    d->dec->thread_count = d->p.threads;
    d->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    if (d->p.keyframes_only) d->dec->skip_frame = AVDISCARD_NONKEY;
    ret = avcodec_open2(d->dec, codec, NULL);
    if (ret < 0) {
        if (ret == AVERROR(ENOMEM)) return vi__fail(VI_E_NOMEM, "out of memory opening %s", path);
        return vi__fail(ret == AVERROR_PATCHWELCOME || ret == AVERROR(ENOSYS) ? VI_E_UNSUPPORTED
                                                                                : VI_E_DECODE,
                        "cannot decode %s: cannot open the %s decoder (%s)", path, codec->name,
                        av_err(ret, eb));
    }

    const int32_t *m = stream_display_matrix(d->st);
    d->orient = (struct vi__orient){1, 0, 0, 1};
    if (m) {
        orient_from_matrix(m, path, &d->orient);
        d->orient_known = 1; /* a stream-level matrix wins over per-frame side data */
    }

    AVRational rate = av_guess_frame_rate(d->fmt, d->st, NULL);
    d->frame_dur_us = rate.num > 0 && rate.den > 0 ? av_rescale(AV_TIME_BASE, rate.den, rate.num)
                                                   : 40000;
    if (d->frame_dur_us <= 0) d->frame_dur_us = 40000;
    return VI_OK;
}

vi_status vi__decoder_open(const char *path, const vi__decode_params *p, struct vi__decoder **out) {
    vi__decode_route_log();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi__decoder_open: out is NULL");
    *out = NULL;
    if (!path || !p) return vi__fail(VI_E_INVALID_ARG, "vi__decoder_open: path or params is NULL");
    if (p->out_size <= 0 || p->out_size > 4096 || p->max_frames < 0 || p->threads < 0 ||
        isnan(p->fps) || p->fps < 0 || p->fps > 1000)
        return vi__fail(VI_E_INVALID_ARG, "cannot open %s: bad decoding parameters (fps %g, "
                        "output %d, threads %d)", path, p->fps, p->out_size, p->threads);
    vi_status st = check_path(path);
    if (st != VI_OK) return st;

    struct vi__decoder *d = vi__calloc(1, sizeof *d);
    if (!d) return vi__fail(VI_E_NOMEM, "out of memory opening %s", path);
    d->p = *p;
    if (!(d->p.fps > 0)) d->p.fps = 1.0;
    d->path = vi__strdup(path);
    d->pkt = av_packet_alloc();
    d->frame = av_frame_alloc();
    if (!d->path || !d->pkt || !d->frame) {
        vi__decoder_close(d);
        return vi__fail(VI_E_NOMEM, "out of memory opening %s", path);
    }
    st = scaler_init(&d->sc, p->out_size);
    if (st == VI_OK) st = open_input(d);
    if (st == VI_OK) st = open_codec(d);
    if (st != VI_OK) {
        vi__decoder_close(d);
        return st;
    }
    *out = d;
    return VI_OK;
}

void vi__decoder_close(struct vi__decoder *d) {
    if (!d) return;
    avcodec_free_context(&d->dec);
    avformat_close_input(&d->fmt);
    av_packet_free(&d->pkt);
    av_frame_free(&d->frame);
    scaler_free(&d->sc);
    vi__free(d->path);
    vi__free(d);
}

double vi__decoder_duration(const struct vi__decoder *d) {
    if (!d) return 0;
    /* The stream's own duration first: a container's duration may also count a non-zero start
     * (MP4 with an initial empty edit, Matroska) or longer audio. */
    if (d->st && d->st->duration != AV_NOPTS_VALUE && d->st->duration > 0)
        return (double)d->st->duration * av_q2d(d->st->time_base);
    if (d->fmt && d->fmt->duration != AV_NOPTS_VALUE && d->fmt->duration > 0) {
        int64_t dur = d->fmt->duration;
        const int64_t start = d->fmt->start_time;
        /* Whether a container's duration counts its start time is not said; of the two
         * readings take the shorter (a Matroska file starting at 360000 s and lasting 5 s
         * declares 360005 s): it never makes a complete file look truncated. */
        if (start != AV_NOPTS_VALUE && start > 0 && dur > start) dur -= start;
        return (double)dur / AV_TIME_BASE;
    }
    return 0;
}

/* Where the stream is declared to end, on the decoder's timeline (microseconds); INT64_MIN
 * when unknown. */
static int64_t declared_end_us(const struct vi__decoder *d) {
    const double dur = vi__decoder_duration(d);
    if (!(dur > 0) || !d->have_first) return INT64_MIN;
    int64_t start = d->first_us;
    if (d->st->start_time != AV_NOPTS_VALUE)
        start = av_rescale_q(d->st->start_time, d->st->time_base, AV_TIME_BASE_Q);
    else if (d->fmt->start_time != AV_NOPTS_VALUE)
        start = d->fmt->start_time;
    return start + (int64_t)llround(dur * 1e6);
}

/* End of what was decoded: the last frame's end, or with keyframes_only (whose frames are
 * seconds apart) the last packet's. */
static int64_t decoded_end_us(const struct vi__decoder *d) {
    int64_t end = d->end_us;
    if (d->p.keyframes_only && d->packet_end_us > end) end = d->packet_end_us;
    return end;
}

/* Decoding reached the end of the stream well before the end the container declares. */
static int truncated(const struct vi__decoder *d) {
    const int64_t declared = declared_end_us(d);
    if (d->capped || !d->finished || declared == INT64_MIN) return 0;
    const double slack = fmax(VI__DECODE_TRUNCATED_S, 0.05 * vi__decoder_duration(d));
    return (double)(declared - decoded_end_us(d)) / 1e6 > slack;
}

double vi__decoder_decoded_span(const struct vi__decoder *d) {
    if (!d || !d->have_first) return 0;
    int64_t end = decoded_end_us(d);
    const int64_t declared = declared_end_us(d);
    if (d->capped) { /* the last sample stands for the time up to the next sampling point */
        end = d->next_us;
        if (declared != INT64_MIN && declared < end && declared > d->last_us) end = declared;
    } else if (!truncated(d) && declared != INT64_MIN && declared > end) {
        end = declared; /* a complete file: its last frame shows until the declared end */
    }
    return end > d->first_us ? (double)(end - d->first_us) / 1e6 : 0;
}

int32_t vi__decoder_warnings(const struct vi__decoder *d) {
    if (!d) return 0;
    return (d->errors > 0 ? VI_EMBED_WARN_DAMAGED_FRAMES : 0) |
           (truncated(d) ? VI_EMBED_WARN_TRUNCATED : 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Decoding loop                                                                            */
/* ---------------------------------------------------------------------------------------- */

static int64_t grid_point(const struct vi__decoder *d, int64_t k) {
    return d->first_us + llround((double)k * 1e6 / d->p.fps);
}

/* The first grid point strictly after t. */
static int64_t grid_after(const struct vi__decoder *d, int64_t t) {
    int64_t k = (int64_t)floor((double)(t - d->first_us) * d->p.fps / 1e6) + 1;
    if (k < 1) k = 1;
    while (grid_point(d, k) <= t) k++;
    while (k > 1 && grid_point(d, k - 1) > t) k--;
    return grid_point(d, k);
}

/* A frame's presentation time in microseconds; frames without one are placed one nominal
 * frame duration after the previous frame. A jump back in time of more than a second (streams
 * concatenated byte-wise, a timestamp reset) would stall the grid for the rest of the file, so
 * the timeline is continued from the previous frame instead: reported times then stay
 * increasing and differ from ffprobe's only after such a jump. */
static int64_t frame_time_us(struct vi__decoder *d, const AVFrame *f) {
    int64_t ts = f->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE) ts = f->pts;
    int64_t us;
    if (ts == AV_NOPTS_VALUE) {
        us = d->decoded > 0 ? d->last_us + d->frame_dur_us : 0;
    } else {
        us = av_rescale_q(ts, d->st->time_base, AV_TIME_BASE_Q) + d->ts_offset;
        if (d->decoded > 0 && us < d->last_us - VI_DECODE_MAX_BACKSTEP) {
            const int64_t fixed = d->last_us + d->frame_dur_us;
            vi__log(VI_LOG_WARN, "%s: timestamps jump back by %.3f s after %.3f s; the timeline "
                    "is continued", d->path, (double)(d->last_us - us) / 1e6,
                    (double)d->last_us / 1e6);
            d->ts_offset += fixed - us;
            us = fixed;
        }
    }
    d->last_us = us;
    d->decoded++;
    const int64_t dur = frame_duration(f);
    const int64_t end =
        us + (dur > 0 ? av_rescale_q(dur, d->st->time_base, AV_TIME_BASE_Q) : d->frame_dur_us);
    if (end > d->end_us || d->decoded == 1) d->end_us = end;
    return us;
}

/* Decide whether the frame just decoded is sampled, and move the grid. */
static int take_frame(struct vi__decoder *d, int64_t t) {
    if (!d->have_first) {
        d->have_first = 1;
        d->first_us = t;
        d->next_us = grid_after(d, t);
        return 1;
    }
    if (t >= d->next_us) {
        d->next_us = grid_after(d, t);
        return 1;
    }
    return 0;
}

static vi_status too_many_errors(struct vi__decoder *d) {
    char eb[AV_ERROR_MAX_STRING_SIZE];
    if (d->emitted == 0)
        return vi__fail(VI_E_DECODE, "cannot decode %s: %d consecutive errors and no frame "
                        "decoded (last: %s)", d->path, d->consecutive_errors,
                        av_err(d->last_error, eb));
    vi__log(VI_LOG_WARN, "%s: giving up after %d consecutive errors (last: %s); keeping the %d "
            "frames sampled so far", d->path, d->consecutive_errors, av_err(d->last_error, eb),
            (int)d->emitted);
    d->finished = 1;
    return VI_OK;
}

/* Read the next packet of our stream and send it to the decoder (or the flush packet at the
 * end of the file). */
static vi_status feed(struct vi__decoder *d) {
    char eb[AV_ERROR_MAX_STRING_SIZE];
    for (;;) {
        int ret = av_read_frame(d->fmt, d->pkt);
        if (ret == AVERROR(ENOMEM)) return vi__fail(VI_E_NOMEM, "out of memory reading %s",
                                                    d->path);
        if (ret < 0) {
            if (ret != AVERROR_EOF && !(d->fmt->pb && avio_feof(d->fmt->pb))) {
                d->last_error = ret;
                d->errors++;
                vi__log(VI_LOG_WARN, "%s: skipping unreadable data: %s", d->path,
                        av_err(ret, eb));
                if (++d->consecutive_errors >= VI_DECODE_MAX_ERRORS) return too_many_errors(d);
                continue;
            }
            /* end of file (or truncated): drain the decoder */
            avcodec_send_packet(d->dec, NULL);
            d->demux_eof = 1;
            return VI_OK;
        }
        if (d->pkt->stream_index != d->st->index) {
            av_packet_unref(d->pkt);
            continue;
        }
        if (d->pkt->pts != AV_NOPTS_VALUE) { /* how far the stream goes, decoded or not */
            const int64_t pkt_dur = d->pkt->duration > 0 ? d->pkt->duration : 0;
            const int64_t end = av_rescale_q(d->pkt->pts + pkt_dur, d->st->time_base,
                                             AV_TIME_BASE_Q) + d->ts_offset;
            if (end > d->packet_end_us) d->packet_end_us = end;
        }
        if (d->p.keyframes_only) {
            /* Non-key packets are not even sent to the decoder, once the container has shown
             * that it marks keyframes (some never do; the decoder's NONKEY skipping and the
             * frames' key flag then do the work). */
            if (d->pkt->flags & AV_PKT_FLAG_KEY) {
                d->key_packets++;
            } else if (d->key_packets > 0) {
                av_packet_unref(d->pkt);
                continue;
            }
        }
        if (!d->p.keyframes_only && VI_DECODE_SKIP_NONREF) {
            /* Frames that cannot be sampled need not be reconstructed unless others refer to
             * them: such a packet presents before the next grid point. */
            int skip = 0;
            if (d->have_first && d->pkt->pts != AV_NOPTS_VALUE)
                skip = av_rescale_q(d->pkt->pts, d->st->time_base, AV_TIME_BASE_Q) +
                           d->ts_offset < d->next_us;
            if (skip != d->skipping) {
                d->dec->skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
                d->skipping = skip;
            }
        }
        ret = avcodec_send_packet(d->dec, d->pkt);
        av_packet_unref(d->pkt);
        if (ret == AVERROR(ENOMEM)) return vi__fail(VI_E_NOMEM, "out of memory decoding %s",
                                                    d->path);
        if (ret < 0 && ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) {
            d->last_error = ret;
            d->errors++;
            vi__log(VI_LOG_WARN, "%s: skipping a damaged packet: %s", d->path, av_err(ret, eb));
            if (++d->consecutive_errors >= VI_DECODE_MAX_ERRORS) return too_many_errors(d);
            continue;
        }
        return VI_OK;
    }
}

/* Some codecs carry the orientation in the bitstream (H.264 display orientation SEI) rather
 * than in the container: take it from the frame unless the stream had one. */
static void frame_orientation(struct vi__decoder *d, const AVFrame *f) {
    if (d->orient_known) return;
    const AVFrameSideData *sd = av_frame_get_side_data(f, AV_FRAME_DATA_DISPLAYMATRIX);
    if (sd && sd->size >= 9 * sizeof(int32_t)) {
        struct vi__orient o = {1, 0, 0, 1};
        if (orient_from_matrix((const int32_t *)sd->data, d->path, &o)) d->orient = o;
    }
}

static vi_status emit(struct vi__decoder *d, const AVFrame *f, uint8_t *rgb) {
    frame_orientation(d, f);
    vi_status st = scaler_run(&d->sc, (const uint8_t *const *)f->data, f->linesize, f->width,
                              f->height, (enum AVPixelFormat)f->format, f->colorspace,
                              f->color_range, d->path);
    if (st != VI_OK) return st;
    orient_copy(&d->orient, d->sc.buf, d->sc.stride, rgb, d->sc.size);
    return VI_OK;
}

vi_status vi__decoder_next(struct vi__decoder *d, uint8_t *rgb, int64_t *pts_us, int *got) {
    if (got) *got = 0;
    if (!d || !rgb || !pts_us || !got)
        return vi__fail(VI_E_INVALID_ARG, "vi__decoder_next: NULL argument");
    char eb[AV_ERROR_MAX_STRING_SIZE];
    while (!d->finished) {
        if (d->p.max_frames > 0 && d->emitted >= d->p.max_frames) {
            d->finished = 1;
            d->capped = 1;
            break;
        }
        int ret = avcodec_receive_frame(d->dec, d->frame);
        if (ret == AVERROR(EAGAIN)) {
            if (d->demux_eof) { /* cannot happen after a flush; do not spin */
                d->finished = 1;
                break;
            }
            vi_status st = feed(d);
            if (st != VI_OK) return st;
            continue;
        }
        if (ret == AVERROR_EOF) {
            d->finished = 1;
            break;
        }
        if (ret == AVERROR(ENOMEM)) return vi__fail(VI_E_NOMEM, "out of memory decoding %s",
                                                    d->path);
        if (ret < 0) {
            d->last_error = ret;
            d->errors++;
            vi__log(VI_LOG_WARN, "%s: skipping a damaged frame: %s", d->path, av_err(ret, eb));
            if (++d->consecutive_errors >= VI_DECODE_MAX_ERRORS) {
                vi_status st = too_many_errors(d);
                if (st != VI_OK) return st;
            }
            continue;
        }
        d->consecutive_errors = 0;
        AVFrame *f = d->frame;
        if (!size_ok(f->width, f->height)) {
            int w = f->width, h = f->height;
            av_frame_unref(f);
            return oversize(d->path, w, h);
        }
        if (d->p.keyframes_only && !frame_is_key(f)) {
            av_frame_unref(f);
            continue;
        }
        const int64_t t = frame_time_us(d, f);
        if (!take_frame(d, t)) {
            av_frame_unref(f);
            continue;
        }
        vi_status st = emit(d, f, rgb);
        av_frame_unref(f);
        if (st != VI_OK) return st;
        d->emitted++;
        *pts_us = t;
        *got = 1;
        return VI_OK;
    }
    if (d->emitted == 0) {
        if (d->errors > 0)
            return vi__fail(VI_E_DECODE, "cannot decode %s: no frame could be decoded (%lld "
                            "errors, last: %s)", d->path, (long long)d->errors,
                            av_err(d->last_error, eb));
        return vi__fail(VI_E_NO_VIDEO, "%s: the video stream has no frames", d->path);
    }
    return VI_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* One frame at a given time (thumbnails)                                                   */
/* ---------------------------------------------------------------------------------------- */

/* The displayed size of frame `f` (sample aspect ratio applied, axes swapped by a quarter
 * turn), shrunk to fit in max_side x max_side; never enlarged. */
static void display_size(const struct vi__decoder *d, const AVFrame *f, int32_t max_side,
                         int32_t *w, int32_t *h) {
    double dw = f->width, dh = f->height;
    AVRational sar = f->sample_aspect_ratio;
    if (sar.num <= 0 || sar.den <= 0) sar = d->st->sample_aspect_ratio;
    if (sar.num > 0 && sar.den > 0 && av_q2d(sar) > 0.1 && av_q2d(sar) < 10) dw *= av_q2d(sar);
    if (d->orient.xy != 0) {
        const double t = dw;
        dw = dh;
        dh = t;
    }
    double scale = (double)max_side / (dw > dh ? dw : dh);
    if (scale > 1) scale = 1;
    *w = (int32_t)lround(dw * scale);
    *h = (int32_t)lround(dh * scale);
    if (*w < 1) *w = 1;
    if (*h < 1) *h = 1;
}

/* Convert `f` to packed RGB24 of its displayed size fitted in max_side (orientation applied)
 * into a new buffer. */
static vi_status frame_to_rgb(struct vi__decoder *d, const AVFrame *f, int32_t max_side,
                              uint8_t **rgb, int32_t *w, int32_t *h) {
    frame_orientation(d, f);
    display_size(d, f, max_side, w, h);
    /* swscale works in the stored orientation: the pre-rotation size, then orient_copy_rect. */
    const int32_t sw = d->orient.xy != 0 ? *h : *w, sh = d->orient.xy != 0 ? *w : *h;
    int full = f->color_range == AVCOL_RANGE_JPEG;
    const enum AVPixelFormat fmt = unjpeg((enum AVPixelFormat)f->format, &full);
    struct SwsContext *sws = sws_getContext(f->width, f->height, fmt, sw, sh, AV_PIX_FMT_RGB24,
                                            VI_DECODE_SWS_FLAGS, NULL, NULL, NULL);
    if (!sws) {
        const char *name = av_get_pix_fmt_name(fmt);
        return vi__fail(VI_E_UNSUPPORTED, "%s: cannot convert %dx%d %s frames to RGB", d->path,
                        f->width, f->height, name ? name : "unknown-format");
    }
    set_colorspace(sws, fmt, f->colorspace, full);
    const int stride = (sw * 3 + 63) & ~63;
    uint8_t *raw = vi__malloc((size_t)stride * (size_t)(sh + 1) + 64);
    *rgb = vi__malloc((size_t)*w * (size_t)*h * 3);
    vi_status st = VI_OK;
    if (!raw || !*rgb) {
        st = vi__fail(VI_E_NOMEM, "out of memory for a %dx%d image of %s", *w, *h, d->path);
    } else {
        uint8_t *dst[4] = {(uint8_t *)(((uintptr_t)raw + 63) & ~(uintptr_t)63), NULL, NULL, NULL};
        int dst_stride[4] = {stride, 0, 0, 0};
        if (sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst,
                      dst_stride) <= 0)
            st = vi__fail(VI_E_INTERNAL, "%s: swscale failed on a %dx%d frame", d->path,
                          f->width, f->height);
        else
            orient_copy_rect(&d->orient, dst[0], stride, sw, sh, *rgb, *w, *h);
    }
    sws_freeContext(sws);
    vi__free(raw);
    if (st != VI_OK) {
        vi__free(*rgb);
        *rgb = NULL;
    }
    return st;
}

vi_status vi__decoder_frame_at(struct vi__decoder *d, int64_t t_us, int32_t max_side,
                               uint8_t **rgb, int32_t *w, int32_t *h, int64_t *pts_us) {
    if (!d || !rgb || !w || !h || !pts_us || max_side <= 0)
        return vi__fail(VI_E_INVALID_ARG, "vi__decoder_frame_at: bad arguments");
    *rgb = NULL;
    AVFrame *best = av_frame_alloc();
    if (!best) return vi__fail(VI_E_NOMEM, "out of memory decoding %s", d->path);
    /* Seek to the keyframe at or before t (demuxers that cannot seek leave us at the start),
     * then decode forward to the first frame at or after t; the nearer of it and the frame
     * before it wins. Every frame is reconstructed: no sampling grid applies here. */
    const int64_t target = av_rescale_q(t_us, AV_TIME_BASE_Q, d->st->time_base);
    if (av_seek_frame(d->fmt, d->st->index, target, AVSEEK_FLAG_BACKWARD) >= 0)
        avcodec_flush_buffers(d->dec);
    int64_t best_us = 0;
    int have = 0, done = 0;
    vi_status st = VI_OK;
    char eb[AV_ERROR_MAX_STRING_SIZE];
    while (!done && st == VI_OK) {
        int ret = avcodec_receive_frame(d->dec, d->frame);
        if (ret == AVERROR(EAGAIN)) {
            if (d->demux_eof || d->finished) break;
            st = feed(d);
            continue;
        }
        if (ret == AVERROR_EOF) break;
        if (ret == AVERROR(ENOMEM)) {
            st = vi__fail(VI_E_NOMEM, "out of memory decoding %s", d->path);
            break;
        }
        if (ret < 0) {
            d->last_error = ret;
            d->errors++;
            if (++d->consecutive_errors >= VI_DECODE_MAX_ERRORS) break;
            continue;
        }
        d->consecutive_errors = 0;
        if (!size_ok(d->frame->width, d->frame->height)) {
            st = vi__fail(VI_E_UNSUPPORTED, "cannot decode %s: frame size %dx%d is beyond the "
                          "supported %dx%d", d->path, d->frame->width, d->frame->height,
                          VI_DECODE_MAX_SIDE, VI_DECODE_MAX_SIDE);
            break;
        }
        const int64_t t = frame_time_us(d, d->frame);
        if (have && t > t_us) {
            done = 1;
            if (t - t_us >= t_us - best_us) { /* the frame before is nearer (or as near) */
                av_frame_unref(d->frame);
                break;
            }
        }
        av_frame_unref(best);
        av_frame_move_ref(best, d->frame);
        best_us = t;
        have = 1;
        if (t >= t_us) done = 1;
    }
    if (st == VI_OK && !have)
        st = d->errors > 0 ? vi__fail(VI_E_DECODE, "cannot decode %s: no frame could be decoded "
                                      "(last error: %s)", d->path, av_err(d->last_error, eb))
                           : vi__fail(VI_E_NO_VIDEO, "%s: the video stream has no frames",
                                      d->path);
    if (st == VI_OK) st = frame_to_rgb(d, best, max_side, rgb, w, h);
    if (st == VI_OK) *pts_us = best_us;
    av_frame_free(&best);
    return st;
}
