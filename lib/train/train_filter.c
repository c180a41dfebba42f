/* Copy-style edits through libavfilter, for the trainer's augmented views: the edits that plain
 * pixel operations on one frame cannot make (train_augment.c keeps those): speed and frame-rate
 * changes, temporal crops, picture-in-picture over other footage, a logo and a caption band, and
 * colour grading by FFmpeg's own filters. A view's edit is one filter graph, drawn once and run
 * over the video's decoded frames (square RGB24 at the trainer's sampling rate): a buffer source,
 * the drawn chain, a scale back to the square input size, a buffer sink. Other footage (the
 * picture-in-picture background, the logo) comes from FFmpeg's generators (gradients,
 * testsrc2, cellauto, smptebars), seeded from the view's generator, so a view is reproducible. */
#include <stdio.h>
#include <string.h>

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>

#include "train.h"

/* Append to a bounded string. */
static void add(char *buf, size_t size, const char *fmt, double a, double b, double c, double d) {
    const size_t len = strlen(buf);
    if (len < size) snprintf(buf + len, size - len, fmt, a, b, c, d);
}

void vi__filter_draw(vi__rng *rng, int32_t size, double fps, int32_t n_frames, char *graph,
                     size_t graph_size) {
    graph[0] = 0;
    const double dur = n_frames / fps;
    int picked = 0;
    char chain[512] = "";
    while (!picked) {
        /* temporal edits: at most one of speed, frame rate, temporal crop */
        const double r = vi__rng_uniform(rng);
        if (r < 0.15 && n_frames >= 3) { /* faster or slower, resampled to the same rate */
            const double k = vi__rng_uniform(rng) < 0.5 ? 1.25 + vi__rng_uniform(rng)
                                                        : 0.5 + 0.3 * vi__rng_uniform(rng);
            add(chain, sizeof chain, "setpts=PTS/%.3f,fps=%g,", k, fps, 0, 0);
            picked = 1;
        } else if (r < 0.25 && n_frames >= 4) { /* a lower frame rate */
            add(chain, sizeof chain, "fps=%g,", fps * (0.4 + 0.3 * vi__rng_uniform(rng)), 0, 0, 0);
            picked = 1;
        } else if (r < 0.4 && n_frames >= 4) { /* keep 50..90 % of the duration */
            const double keep = 0.5 + 0.4 * vi__rng_uniform(rng);
            const double start = (1 - keep) * vi__rng_uniform(rng) * dur;
            add(chain, sizeof chain, "trim=start=%.3f:duration=%.3f,setpts=PTS-STARTPTS,",
                start, keep * dur + 0.5 / fps, 0, 0);
            picked = 1;
        }
        /* colour grading by FFmpeg's filters */
        if (vi__rng_uniform(rng) < 0.3) {
            add(chain, sizeof chain, "hue=h=%.1f:s=%.2f,", 360 * vi__rng_uniform(rng) - 180,
                0.3 + 1.2 * vi__rng_uniform(rng), 0, 0);
            picked = 1;
        }
        if (vi__rng_uniform(rng) < 0.25) { /* a caption band */
            const double h = 0.1 + 0.15 * vi__rng_uniform(rng);
            add(chain, sizeof chain,
                "drawbox=x=0:y=ih*%.3f:w=iw:h=ih*%.3f:color=black@%.2f:t=fill,",
                vi__rng_uniform(rng) < 0.5 ? 0.0 : 1 - h, h, 0.4 + 0.5 * vi__rng_uniform(rng), 0);
            picked = 1;
        }
        const double r2 = vi__rng_uniform(rng);
        if (r2 < 0.3) {
            picked = 2; /* picture-in-picture */
        } else if (r2 < 0.5) {
            picked = 3; /* a logo */
        }
    }
    const size_t n = strlen(chain);
    if (n && chain[n - 1] == ',') chain[n - 1] = 0;
    static const char *const sources[] = {"gradients=s=%dx%d:r=%g:seed=%u",
                                          "testsrc2=s=%dx%d:r=%g", "cellauto=s=%dx%d:r=%g",
                                          "smptebars=s=%dx%d:r=%g"};
    const int32_t src = vi__rng_below(rng, 4);
    const uint32_t seed = (uint32_t)(vi__rng_next(rng) & 0x7fffffff);
    /* generated footage ends (trim) after the longest the video can last once slowed down, so
     * that overlay always reaches the end of the stream */
    char other[200];
    const double other_dur = 2 * dur + 2 / fps;
    if (picked == 2) { /* the video shrunk to 40..70 % over other footage */
        const double s = 0.4 + 0.3 * vi__rng_uniform(rng);
        const int32_t fw = ((int32_t)(size * s)) & ~1;
        const int32_t x = vi__rng_below(rng, size - fw + 1), y = vi__rng_below(rng, size - fw + 1);
        snprintf(other, sizeof other, sources[src], size, size, fps, seed);
        snprintf(graph, graph_size, "[in]%s%sscale=%d:%d[fg];%s,trim=duration=%.3f[bg];"
                 "[bg][fg]overlay=%d:%d:shortest=1,scale=%d:%d,format=rgb24[out]", chain,
                 chain[0] ? "," : "", fw, fw, other, other_dur, x, y, size, size);
    } else if (picked == 3) { /* a logo of 12..25 % of the side in a corner */
        const int32_t lw = (int32_t)(size * (0.12 + 0.13 * vi__rng_uniform(rng))) & ~1;
        const int32_t corner = vi__rng_below(rng, 4);
        snprintf(other, sizeof other, sources[src], lw, lw, fps, seed);
        snprintf(graph, graph_size, "[in]%s%snull[v];%s,trim=duration=%.3f[logo];[v][logo]"
                 "overlay=%s:%s:shortest=1,scale=%d:%d,format=rgb24[out]", chain,
                 chain[0] ? "," : "", other, other_dur, corner & 1 ? "W-w-4" : "4",
                 corner & 2 ? "H-h-4" : "4", size, size);
    } else {
        snprintf(graph, graph_size, "[in]%s,scale=%d:%d,format=rgb24[out]", chain, size, size);
    }
}

/* Copy one filtered frame into the growing output. */
static vi_status take(const AVFrame *f, int32_t size, uint8_t **out, int32_t *n, int32_t *cap) {
    if (f->width != size || f->height != size || f->format != AV_PIX_FMT_RGB24)
        return vi__fail(VI_E_INTERNAL, "the filter graph gave a %dx%d frame of format %d",
                        f->width, f->height, f->format);
    const size_t fb = (size_t)size * size * 3;
    if (*n == *cap) {
        const int32_t nc = *cap ? *cap * 2 : 16;
        uint8_t *nb = vi__realloc(*out, (size_t)nc * fb);
        if (!nb) return vi__fail(VI_E_NOMEM, "out of memory for filtered frames");
        *out = nb;
        *cap = nc;
    }
    uint8_t *dst = *out + (size_t)(*n)++ * fb;
    for (int32_t y = 0; y < size; y++)
        memcpy(dst + (size_t)y * size * 3, f->data[0] + (size_t)y * f->linesize[0],
               (size_t)size * 3);
    return VI_OK;
}

static vi_status av_fail(int ret, const char *what, const char *graph) {
    char eb[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(ret, eb, sizeof eb);
    return vi__fail(ret == AVERROR(ENOMEM) ? VI_E_NOMEM : VI_E_INTERNAL,
                    "libavfilter: %s failed (%s) for the graph '%s'", what, eb, graph);
}

vi_status vi__filter_apply(const char *graph, const uint8_t *frames, int32_t n, int32_t size,
                           double fps, uint8_t **out, int32_t *n_out) {
    *out = NULL;
    *n_out = 0;
    AVFilterGraph *g = avfilter_graph_alloc();
    AVFilterInOut *ins = avfilter_inout_alloc(), *outs = avfilter_inout_alloc();
    AVFrame *f = av_frame_alloc();
    AVFilterContext *src = NULL, *sink = NULL;
    vi_status st = g && ins && outs && f ? VI_OK : vi__fail(VI_E_NOMEM, "out of memory");
    int ret = 0;
    const int tb = 1000; /* time base 1/1000 s */
    if (st == VI_OK) {
        g->nb_threads = 1; /* deterministic and light: the trainer runs one view at a time */
        char args[256];
        snprintf(args, sizeof args,
                 "video_size=%dx%d:pix_fmt=%d:time_base=1/%d:pixel_aspect=1/1:frame_rate=%d/1000",
                 size, size, AV_PIX_FMT_RGB24, tb, (int)(fps * 1000 + 0.5));
        ret = avfilter_graph_create_filter(&src, avfilter_get_by_name("buffer"), "in", args, NULL,
                                           g);
        if (ret >= 0)
            ret = avfilter_graph_create_filter(&sink, avfilter_get_by_name("buffersink"), "out",
                                               NULL, NULL, g);
        if (ret < 0) st = av_fail(ret, "creating the buffer source and sink", graph);
    }
    if (st == VI_OK) {
        outs->name = av_strdup("in");
        outs->filter_ctx = src;
        ins->name = av_strdup("out");
        ins->filter_ctx = sink;
        ret = avfilter_graph_parse_ptr(g, graph, &ins, &outs, NULL);
        if (ret >= 0) ret = avfilter_graph_config(g, NULL);
        if (ret < 0) st = av_fail(ret, "building", graph);
    }
    int32_t cap = 0;
    const size_t fb = (size_t)size * size * 3;
    for (int32_t i = 0; st == VI_OK && i <= n; i++) {
        if (i < n) {
            av_frame_unref(f);
            f->format = AV_PIX_FMT_RGB24;
            f->width = f->height = size;
            f->pts = (int64_t)(i * (double)tb / fps + 0.5);
            ret = av_frame_get_buffer(f, 0);
            if (ret < 0) {
                st = av_fail(ret, "allocating a frame", graph);
                break;
            }
            for (int32_t y = 0; y < size; y++)
                memcpy(f->data[0] + (size_t)y * f->linesize[0],
                       frames + (size_t)i * fb + (size_t)y * size * 3, (size_t)size * 3);
            ret = av_buffersrc_add_frame(src, f);
        } else {
            ret = av_buffersrc_add_frame(src, NULL); /* end of stream: flush */
        }
        if (ret < 0) {
            st = av_fail(ret, "feeding a frame", graph);
            break;
        }
        for (;;) {
            av_frame_unref(f);
            ret = av_buffersink_get_frame(sink, f);
            if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) break;
            if (ret < 0) {
                st = av_fail(ret, "reading a frame", graph);
                break;
            }
            st = take(f, size, out, n_out, &cap);
            if (st == VI_OK && *n_out > 4 * n + 64)
                st = vi__fail(VI_E_INTERNAL, "libavfilter: the graph '%s' gave %d frames for %d",
                              graph, *n_out, n);
            if (st != VI_OK) break;
        }
    }
    av_frame_free(&f);
    avfilter_inout_free(&ins);
    avfilter_inout_free(&outs);
    avfilter_graph_free(&g);
    if (st == VI_OK && *n_out == 0)
        st = vi__fail(VI_E_INTERNAL, "libavfilter: the graph '%s' gave no frame", graph);
    if (st != VI_OK) {
        vi__free(*out);
        *out = NULL;
        *n_out = 0;
    }
    return st;
}
