/* Still images encoded by libavcodec: JPEG (the MJPEG encoder, full-range 4:2:0 at a fixed
 * quantiser) or PNG (lossless RGB24), for thumbnails of decoded frames. */
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "decode.h"

/* MJPEG quantiser: 2 (best) .. 31; 3 keeps thumbnails sharp at about 1.5 bits per pixel. */
#define VI_IMAGE_JPEG_QSCALE 3

/* Fill `frame` (allocated for the encoder's format) from packed RGB24. */
static vi_status fill_frame(AVFrame *frame, const uint8_t *rgb, int32_t w, int32_t h) {
    const uint8_t *src[4] = {rgb, NULL, NULL, NULL};
    const int src_stride[4] = {w * 3, 0, 0, 0};
    if (frame->format == AV_PIX_FMT_RGB24) {
        av_image_copy(frame->data, frame->linesize, src, src_stride, AV_PIX_FMT_RGB24, w, h);
        return VI_OK;
    }
    struct SwsContext *sws = sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, frame->format,
                                            SWS_BICUBIC | SWS_ACCURATE_RND, NULL, NULL, NULL);
    if (!sws) return vi__fail(VI_E_INTERNAL, "cannot convert a %dx%d image for JPEG", w, h);
    /* JPEG's YUV is full range (JFIF); swscale's RGB source is full range too. */
    const int *coefs = sws_getCoefficients(SWS_CS_DEFAULT);
    sws_setColorspaceDetails(sws, coefs, 1, coefs, 1, 0, 1 << 16, 1 << 16);
    int rows = sws_scale(sws, src, src_stride, 0, h, frame->data, frame->linesize);
    sws_freeContext(sws);
    return rows > 0 ? VI_OK
                    : vi__fail(VI_E_INTERNAL, "cannot convert a %dx%d image for JPEG", w, h);
}

vi_status vi__encode_image(const uint8_t *rgb, int32_t w, int32_t h, int32_t format,
                           uint8_t **data, size_t *size) {
    *data = NULL;
    *size = 0;
    const int png = format == VI_IMAGE_PNG;
    const AVCodec *codec = avcodec_find_encoder(png ? AV_CODEC_ID_PNG : AV_CODEC_ID_MJPEG);
    if (!codec)
        return vi__fail(VI_E_UNSUPPORTED, "this FFmpeg build has no %s encoder",
                        png ? "PNG" : "JPEG (MJPEG)");
    AVCodecContext *c = avcodec_alloc_context3(codec);
    AVFrame *frame = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    vi_status st = VI_OK;
    char eb[AV_ERROR_MAX_STRING_SIZE];
    int ret;
    if (!c || !frame || !pkt) {
        st = vi__fail(VI_E_NOMEM, "out of memory encoding a %dx%d image", w, h);
        goto done;
    }
    c->width = w;
    c->height = h;
    c->time_base = (AVRational){1, 25};
    /* Plain 4:2:0 marked full range: the JPEG encoder takes it as JFIF without swscale's
     * warning about the deprecated "yuvj" formats. */
    c->pix_fmt = png ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_YUV420P;
    c->color_range = AVCOL_RANGE_JPEG;
    if (!png) {
        c->flags |= AV_CODEC_FLAG_QSCALE;
        c->global_quality = FF_QP2LAMBDA * VI_IMAGE_JPEG_QSCALE;
    }
    if ((ret = avcodec_open2(c, codec, NULL)) < 0) {
        av_strerror(ret, eb, sizeof eb);
        st = vi__fail(VI_E_INTERNAL, "cannot open the %s encoder for a %dx%d image: %s",
                      codec->name, w, h, eb);
        goto done;
    }
    frame->format = c->pix_fmt;
    frame->width = w;
    frame->height = h;
    frame->color_range = AVCOL_RANGE_JPEG;
    frame->quality = c->global_quality;
    frame->pts = 0;
    if (av_frame_get_buffer(frame, 0) < 0) {
        st = vi__fail(VI_E_NOMEM, "out of memory encoding a %dx%d image", w, h);
        goto done;
    }
    if ((st = fill_frame(frame, rgb, w, h)) != VI_OK) goto done;
    if ((ret = avcodec_send_frame(c, frame)) >= 0) ret = avcodec_send_frame(c, NULL);
    if (ret >= 0) ret = avcodec_receive_packet(c, pkt);
    if (ret < 0) {
        av_strerror(ret, eb, sizeof eb);
        st = vi__fail(ret == AVERROR(ENOMEM) ? VI_E_NOMEM : VI_E_INTERNAL,
                      "cannot encode a %dx%d %s image: %s", w, h, png ? "PNG" : "JPEG", eb);
        goto done;
    }
    if (!(*data = vi__malloc((size_t)pkt->size))) {
        st = vi__fail(VI_E_NOMEM, "out of memory for a %d-byte image", pkt->size);
        goto done;
    }
    memcpy(*data, pkt->data, (size_t)pkt->size);
    *size = (size_t)pkt->size;
done:
    av_packet_free(&pkt);
    av_frame_free(&frame);
    avcodec_free_context(&c);
    return st;
}
