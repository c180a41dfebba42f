/* Fine-tuning the backbone contrastively on copy-style augmented frames (SSCD / S2VS style).
 *
 * 1. Frames: every input is decoded once into square RGB24 frames of side input_size * 5 / 4
 *    (160 for the 128 input), so that crops can be taken before scaling to the input size.
 *    A video gives `frames_per_video` frames spread over its duration (its sampling rate is
 *    chosen per video, from 0.2 to 30 frames per second); a still image (a file that decodes to a
 *    single frame) gives the whole picture and three random crops of 45..80 % of its side,
 *    taken from a decode at twice the side. The frames can be kept in a cache file.
 * 2. Steps: a batch of B distinct sources (a video or a still; videos are drawn with
 *    probability 0.6 when both kinds exist, so that a few hundred photos do not drown the
 *    videos), one random frame of each, two independently augmented views of each frame. One
 *    frame per source per batch keeps near-identical neighbouring frames from becoming each
 *    other's negatives. Everything random in a step derives from (seed, step), so a resumed
 *    run draws exactly what the uninterrupted run would have drawn.
 * 3. Views: a random resized crop (or the whole frame), the library's copy-style transformation
 *    (train_augment.c: flip, crop, colour, blur, noise, border, grey, rotation), then with some
 *    probability text-like overlays and logos, picture-in-picture with another source of the
 *    batch (either way round), JPEG-like blockiness with posterisation, and a resolution drop.
 * 4. The loss, backward pass and AdamW update run in libtorch (finetune_net.cpp).
 * 5. Checkpoints: a container (docs/file-formats.md) with the step, the options that must match
 *    and the network and optimiser tensors, written atomically every checkpoint_every steps. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../decode/decode.h"
#include "../formats/formats.h"
#include "../model/model.h"
#include "finetune.h"
#include "finetune_net.h"
#include "train.h"

#define FRAMES_MAGIC "VIFTFRM\0"
#define FRAMES_VERSION 1u
#define CKPT_MAGIC "VIFTCKPT"
#define CKPT_KIND "vinfringe-finetune-checkpoint"
#define STILL_CROPS 3
#define P_VIDEO 0.6
#define HEAD_DIM 256 /* the DMI head's output, as in docs/model.md */
#define HEAD_SEED_SALT 0x5EEDD31Aull
#define SCENE_MIN_DIFFERENCE 3.0 /* mean absolute pixel difference (0..255) of a scene negative */

/* ---------------------------------------------------------------------------------------------
 * Small image operations on square or rectangular packed RGB24 buffers.
 */

static uint8_t clamp_u8(double v) { return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)(v + 0.5); }

/* Bilinear resize of a w x h region (row stride `stride` bytes) to dw x dh (packed). */
static void resize(const uint8_t *src, int32_t w, int32_t h, int32_t stride, uint8_t *dst,
                   int32_t dw, int32_t dh) {
    for (int32_t y = 0; y < dh; y++) {
        double fy = ((double)y + 0.5) * h / dh - 0.5;
        if (fy < 0) fy = 0;
        int32_t y0 = (int32_t)fy;
        if (y0 > h - 1) y0 = h - 1;
        const int32_t y1 = y0 + 1 < h ? y0 + 1 : h - 1;
        const double ay = fy - y0;
        for (int32_t x = 0; x < dw; x++) {
            double fx = ((double)x + 0.5) * w / dw - 0.5;
            if (fx < 0) fx = 0;
            int32_t x0 = (int32_t)fx;
            if (x0 > w - 1) x0 = w - 1;
            const int32_t x1 = x0 + 1 < w ? x0 + 1 : w - 1;
            const double ax = fx - x0;
            const uint8_t *p00 = src + (size_t)y0 * stride + (size_t)x0 * 3;
            const uint8_t *p01 = src + (size_t)y0 * stride + (size_t)x1 * 3;
            const uint8_t *p10 = src + (size_t)y1 * stride + (size_t)x0 * 3;
            const uint8_t *p11 = src + (size_t)y1 * stride + (size_t)x1 * 3;
            uint8_t *o = dst + ((size_t)y * dw + x) * 3;
            for (int c = 0; c < 3; c++) {
                const double top = p00[c] + ax * (p01[c] - p00[c]);
                const double bot = p10[c] + ax * (p11[c] - p10[c]);
                o[c] = clamp_u8(top + ay * (bot - top));
            }
        }
    }
}

static double uni(vi__rng *r, double lo, double hi) { return lo + (hi - lo) * vi__rng_uniform(r); }

/* Blend a rectangle of colour `rgb` with opacity `alpha` (clipped to the image). */
static void fill_rect(uint8_t *img, int32_t S, int32_t x0, int32_t y0, int32_t w, int32_t h,
                      const uint8_t rgb[3], double alpha) {
    for (int32_t y = y0 < 0 ? 0 : y0; y < y0 + h && y < S; y++)
        for (int32_t x = x0 < 0 ? 0 : x0; x < x0 + w && x < S; x++) {
            uint8_t *p = img + ((size_t)y * S + x) * 3;
            for (int c = 0; c < 3; c++) p[c] = clamp_u8(p[c] + alpha * (rgb[c] - p[c]));
        }
}

static void random_colour(vi__rng *r, uint8_t rgb[3]) {
    const double u = vi__rng_uniform(r);
    for (int c = 0; c < 3; c++)
        rgb[c] = u < 0.35 ? 255 : u < 0.55 ? 0 : (uint8_t)vi__rng_below(r, 256);
}

/* Caption-like text: 1..3 lines of glyphs (random 3x5 bit patterns, the shape of letters),
 * sometimes on a dark box; or a logo (a solid or hollow square) in a corner. */
static void overlay(uint8_t *img, int32_t S, vi__rng *r) {
    if (vi__rng_uniform(r) < 0.3) { /* logo */
        const int32_t side = (int32_t)(S * uni(r, 0.1, 0.25));
        const int32_t m = (int32_t)(S * 0.04);
        const int32_t x = vi__rng_below(r, 2) ? m : S - side - m;
        const int32_t y = vi__rng_below(r, 2) ? m : S - side - m;
        uint8_t col[3];
        random_colour(r, col);
        const double alpha = uni(r, 0.5, 1.0);
        fill_rect(img, S, x, y, side, side, col, alpha);
        if (vi__rng_below(r, 2)) {
            uint8_t inner[3];
            random_colour(r, inner);
            fill_rect(img, S, x + side / 4, y + side / 4, side / 2, side / 2, inner, alpha);
        }
        return;
    }
    const int32_t lines = 1 + vi__rng_below(r, 3);
    const int32_t gh = (int32_t)(S * uni(r, 0.05, 0.11)); /* glyph height */
    const int32_t gw = gh * 3 / 5 > 2 ? gh * 3 / 5 : 2;
    int32_t y = vi__rng_below(r, 2) ? (int32_t)(S * uni(r, 0.7, 0.85))
                                    : (int32_t)(S * uni(r, 0.03, 0.3));
    uint8_t col[3];
    random_colour(r, col);
    const double alpha = uni(r, 0.7, 1.0);
    for (int32_t l = 0; l < lines && y + gh < S; l++, y += gh * 3 / 2) {
        const int32_t n = 4 + vi__rng_below(r, 14);
        int32_t x = (int32_t)(S * uni(r, 0.02, 0.3));
        if (vi__rng_uniform(r) < 0.4) {
            const uint8_t black[3] = {0, 0, 0};
            fill_rect(img, S, x - 2, y - 2, n * (gw + gw / 3) + 4, gh + 4, black, 0.6);
        }
        for (int32_t g = 0; g < n && x + gw < S; g++, x += gw + gw / 3) {
            const uint32_t bits = (uint32_t)vi__rng_next(r);
            for (int32_t by = 0; by < 5; by++)
                for (int32_t bx = 0; bx < 3; bx++)
                    if (bits >> (by * 3 + bx) & 1u)
                        fill_rect(img, S, x + bx * gw / 3, y + by * gh / 5, gw / 3 + 1,
                                  gh / 5 + 1, col, alpha);
        }
    }
}

/* Picture-in-picture with `other` (square, side `os`): either the view shrinks into a corner of
 * the other picture, or a small other picture covers part of the view. */
static void pip(uint8_t *img, int32_t S, const uint8_t *other, int32_t os, uint8_t *tmp,
                vi__rng *r) {
    if (vi__rng_below(r, 2)) {
        const int32_t p = (int32_t)(S * uni(r, 0.45, 0.75));
        resize(img, S, S, S * 3, tmp, p, p);
        resize(other, os, os, os * 3, img, S, S);
        const int32_t x0 = vi__rng_below(r, S - p + 1), y0 = vi__rng_below(r, S - p + 1);
        for (int32_t y = 0; y < p; y++)
            memcpy(img + ((size_t)(y0 + y) * S + x0) * 3, tmp + (size_t)y * p * 3, (size_t)p * 3);
    } else {
        const int32_t p = (int32_t)(S * uni(r, 0.2, 0.4));
        resize(other, os, os, os * 3, tmp, p, p);
        const int32_t x0 = vi__rng_below(r, S - p + 1), y0 = vi__rng_below(r, S - p + 1);
        for (int32_t y = 0; y < p; y++)
            memcpy(img + ((size_t)(y0 + y) * S + x0) * 3, tmp + (size_t)y * p * 3, (size_t)p * 3);
    }
}

/* JPEG-like damage: each 4x4 or 8x8 block pulled towards its mean, then posterised. */
static void blocky(uint8_t *img, int32_t S, vi__rng *r) {
    const int32_t bs = 4 << vi__rng_below(r, 2);
    const double s = uni(r, 0.2, 0.6);
    const int32_t q = 4 << vi__rng_below(r, 2);
    for (int32_t by = 0; by < S; by += bs)
        for (int32_t bx = 0; bx < S; bx += bs) {
            double mean[3] = {0, 0, 0};
            int32_t n = 0;
            for (int32_t y = by; y < by + bs && y < S; y++)
                for (int32_t x = bx; x < bx + bs && x < S; x++, n++)
                    for (int c = 0; c < 3; c++) mean[c] += img[((size_t)y * S + x) * 3 + c];
            for (int c = 0; c < 3; c++) mean[c] /= n;
            for (int32_t y = by; y < by + bs && y < S; y++)
                for (int32_t x = bx; x < bx + bs && x < S; x++)
                    for (int c = 0; c < 3; c++) {
                        uint8_t *p = img + ((size_t)y * S + x) * 3 + c;
                        const double v = *p + s * (mean[c] - *p);
                        *p = clamp_u8(floor(v / q) * q + q / 2.0);
                    }
        }
}

/* Upside down, in place. */
static void flip_vertical(uint8_t *img, int32_t S, uint8_t *row) {
    const size_t rb = (size_t)S * 3;
    for (int32_t y = 0; y < S / 2; y++) {
        memcpy(row, img + y * rb, rb);
        memcpy(img + y * rb, img + (S - 1 - y) * rb, rb);
        memcpy(img + (S - 1 - y) * rb, row, rb);
    }
}

void vi__finetune_view(const uint8_t *src, const uint8_t *other, int32_t src_size, uint8_t *out,
                       int32_t S, uint8_t *scratch, double vflip, uint64_t seed) {
    vi__rng r = {seed};
    /* Random resized crop: area 35..100 %, aspect 3:4..4:3; the whole frame 40 % of the time. */
    if (vi__rng_uniform(&r) < 0.4) {
        resize(src, src_size, src_size, src_size * 3, out, S, S);
    } else {
        const double area = uni(&r, 0.35, 1.0), aspect = exp(uni(&r, log(0.75), log(4.0 / 3)));
        int32_t cw = (int32_t)(src_size * sqrt(area * aspect));
        int32_t ch = (int32_t)(src_size * sqrt(area / aspect));
        cw = cw < 16 ? 16 : cw > src_size ? src_size : cw;
        ch = ch < 16 ? 16 : ch > src_size ? src_size : ch;
        const int32_t x = vi__rng_below(&r, src_size - cw + 1);
        const int32_t y = vi__rng_below(&r, src_size - ch + 1);
        resize(src + ((size_t)y * src_size + x) * 3, cw, ch, src_size * 3, out, S, S);
    }
    vi__augment a;
    vi__augment_draw(&r, &a);
    vi__augment_apply(&a, out, S, scratch, &r);
    if (vi__rng_uniform(&r) < 0.2) overlay(out, S, &r);
    if (other && vi__rng_uniform(&r) < 0.15) pip(out, S, other, src_size, scratch, &r);
    if (vi__rng_uniform(&r) < 0.1) blocky(out, S, &r);
    if (vi__rng_uniform(&r) < 0.1) { /* resolution drop: down to 1/4..1/2, back up */
        const int32_t lo = (int32_t)(S * uni(&r, 0.25, 0.5));
        resize(out, S, S, S * 3, scratch, lo, lo);
        resize(scratch, lo, lo, lo * 3, out, S, S);
    }
    /* drawn last, and only when asked for, so that runs without it keep their views */
    if (vflip > 0 && vi__rng_uniform(&r) < vflip) flip_vertical(out, S, scratch);
}

/* ---------------------------------------------------------------------------------------------
 * The frames: decoded once, kept in memory and optionally in a cache file.
 */

typedef struct source {
    int32_t first, count;
    int32_t still;
} source;

typedef struct frames {
    int32_t side, n, n_sources, cap;
    uint8_t *pix;
    source *src;
    uint32_t key;
} frames;

static void frames_free(frames *F) {
    vi__free(F->pix);
    vi__free(F->src);
    memset(F, 0, sizeof *F);
}

static vi_status frames_reserve(frames *F, int32_t more) {
    if (F->n + more <= F->cap) return VI_OK;
    int32_t cap = F->cap ? F->cap : 256;
    while (cap < F->n + more) cap *= 2;
    const size_t fb = (size_t)F->side * F->side * 3;
    uint8_t *p = vi__realloc(F->pix, (size_t)cap * fb);
    if (!p) return vi__fail(VI_E_NOMEM, "fine-tuning: out of memory for %d frames", (int)cap);
    F->pix = p;
    F->cap = cap;
    return VI_OK;
}

/* Identity of the inputs and decoding settings: names, sizes and modification times. */
static uint32_t inputs_key(const char *const *paths, int32_t n, int32_t side, int32_t per_video) {
    int32_t hdr[3] = {side, per_video, (int32_t)FRAMES_VERSION};
    uint32_t crc = vi__crc32(0, hdr, sizeof hdr);
    for (int32_t i = 0; i < n; i++) {
        crc = vi__crc32(crc, paths[i], strlen(paths[i]) + 1);
        struct stat sb;
        if (stat(paths[i], &sb) == 0) {
            int64_t meta[2] = {(int64_t)sb.st_size, (int64_t)sb.st_mtime};
            crc = vi__crc32(crc, meta, sizeof meta);
        }
    }
    return crc;
}

/* Decode one input into F (appending a source), or fail leaving F as it was. */
static vi_status decode_one(frames *F, const char *path, int32_t per_video, uint64_t seed) {
    const int32_t side = F->side;
    const size_t fb = (size_t)side * side * 3;
    struct vi__decoder *d = NULL;
    vi__decode_params p = {.fps = 1.0, .max_frames = 1, .threads = 1, .out_size = side};
    vi_status st = vi__decoder_open(path, &p, &d);
    if (st != VI_OK) return st;
    const double duration = vi__decoder_duration(d);
    vi__decoder_close(d);
    double fps = duration > 0 ? per_video / duration : 2.0;
    fps = fps < 0.2 ? 0.2 : fps > 30 ? 30 : fps;
    p.fps = fps;
    p.max_frames = per_video;
    st = vi__decoder_open(path, &p, &d);
    if (st != VI_OK) return st;
    const int32_t first = F->n;
    for (;;) {
        if ((st = frames_reserve(F, 1)) != VI_OK) break;
        int64_t pts;
        int got = 0;
        st = vi__decoder_next(d, F->pix + (size_t)F->n * fb, &pts, &got);
        if (st != VI_OK || !got) break;
        F->n++;
    }
    vi__decoder_close(d);
    if (st == VI_OK && F->n == first)
        st = vi__fail(VI_E_NO_VIDEO, "%s gave no frame", path);
    if (st != VI_OK) {
        F->n = first;
        return st;
    }
    int32_t still = 0;
    if (F->n - first == 1) { /* a still image: the whole picture + crops of a sharper decode */
        still = 1;
        const int32_t big = 2 * side;
        uint8_t *img = vi__malloc((size_t)big * big * 3);
        if (!img) return vi__fail(VI_E_NOMEM, "fine-tuning: out of memory");
        p.out_size = big;
        p.max_frames = 1;
        st = vi__decoder_open(path, &p, &d);
        int got = 0;
        int64_t pts;
        if (st == VI_OK) {
            st = vi__decoder_next(d, img, &pts, &got);
            vi__decoder_close(d);
        }
        if (st == VI_OK && got && (st = frames_reserve(F, STILL_CROPS)) == VI_OK) {
            vi__rng r = {seed};
            for (int k = 0; k < STILL_CROPS; k++) {
                const int32_t c = (int32_t)(big * uni(&r, 0.45, 0.8));
                const int32_t x = vi__rng_below(&r, big - c + 1);
                const int32_t y = vi__rng_below(&r, big - c + 1);
                resize(img + ((size_t)y * big + x) * 3, c, c, big * 3,
                       F->pix + (size_t)F->n * fb, side, side);
                F->n++;
            }
        }
        vi__free(img);
        if (st != VI_OK) {
            F->n = first;
            return st;
        }
    }
    source *s = vi__realloc(F->src, (size_t)(F->n_sources + 1) * sizeof *s);
    if (!s) {
        F->n = first;
        return vi__fail(VI_E_NOMEM, "fine-tuning: out of memory");
    }
    F->src = s;
    F->src[F->n_sources++] = (source){first, F->n - first, still};
    return VI_OK;
}

/* Cache file: magic, version, side, frames, sources, key (u32 each after the magic), then per
 * source first/count/still (u32), a CRC-32 of everything so far, then the pixels. The pixels are
 * not checksummed (hundreds of MB); their size is checked. */
static vi_status frames_save(const frames *F, const char *path) {
    const size_t head = 8 + 5 * 4 + (size_t)F->n_sources * 12 + 4;
    const size_t pix = (size_t)F->n * F->side * F->side * 3;
    uint8_t *buf = vi__malloc(head + pix);
    if (!buf) return vi__fail(VI_E_NOMEM, "fine-tuning: out of memory writing %s", path);
    memcpy(buf, FRAMES_MAGIC, 8);
    uint32_t *u = (uint32_t *)(void *)(buf + 8);
    size_t k = 0;
    u[k++] = FRAMES_VERSION;
    u[k++] = (uint32_t)F->side;
    u[k++] = (uint32_t)F->n;
    u[k++] = (uint32_t)F->n_sources;
    u[k++] = F->key;
    for (int32_t i = 0; i < F->n_sources; i++) {
        u[k++] = (uint32_t)F->src[i].first;
        u[k++] = (uint32_t)F->src[i].count;
        u[k++] = (uint32_t)F->src[i].still;
    }
    u[k] = vi__crc32(0, buf, head - 4);
    memcpy(buf + head, F->pix, pix);
    vi_status st = vi__write_file_atomic(path, buf, head + pix);
    vi__free(buf);
    return st;
}

/* Load the cache if it exists and matches `key`; *loaded = 0 when it is absent or stale. */
static vi_status frames_load(frames *F, const char *path, uint32_t key, int *loaded) {
    *loaded = 0;
    struct stat sb;
    if (stat(path, &sb) != 0) return VI_OK;
    uint8_t *buf;
    size_t n;
    vi_status st = vi__read_file(path, &buf, &n, 0);
    if (st != VI_OK) return st;
    const uint32_t *u = (const uint32_t *)(const void *)(buf + 8);
    size_t head = 0;
    if (n < 32 || memcmp(buf, FRAMES_MAGIC, 8) != 0 || u[0] != FRAMES_VERSION) {
        st = vi__fail(VI_E_FORMAT, "frame cache %s: not a frame cache (wrong magic or version)",
                      path);
    } else if (u[4] != key || (int32_t)u[1] != F->side) {
        vi__log(VI_LOG_INFO, "fine-tuning: frame cache %s is for other inputs; rebuilding", path);
        vi__free(buf);
        return VI_OK;
    } else {
        head = 8 + 5 * 4 + (size_t)u[3] * 12 + 4;
        const size_t pix = (size_t)u[2] * F->side * F->side * 3;
        if (u[3] > (1u << 24) || u[2] > (1u << 24) || head > n || n - head != pix ||
            vi__crc32(0, buf, head - 4) != u[(head - 4 - 8) / 4])
            st = vi__fail(VI_E_FORMAT, "frame cache %s is truncated or corrupt (checksum or size "
                          "mismatch); delete it to rebuild", path);
    }
    if (st == VI_OK) {
        F->n = (int32_t)u[2];
        F->n_sources = (int32_t)u[3];
        F->src = vi__calloc((size_t)F->n_sources, sizeof *F->src);
        F->pix = vi__malloc(n - head + 1);
        if (!F->src || !F->pix) st = vi__fail(VI_E_NOMEM, "fine-tuning: out of memory");
    }
    for (int32_t i = 0; st == VI_OK && i < F->n_sources; i++) {
        F->src[i] = (source){(int32_t)u[5 + 3 * i], (int32_t)u[6 + 3 * i], (int32_t)u[7 + 3 * i]};
        if (F->src[i].first < 0 || F->src[i].count < 1 ||
            (int64_t)F->src[i].first + F->src[i].count > F->n)
            st = vi__fail(VI_E_FORMAT, "frame cache %s: source %d out of range", path, (int)i);
    }
    if (st == VI_OK) {
        memcpy(F->pix, buf + head, n - head);
        F->cap = F->n;
        *loaded = 1;
    } else {
        vi__free(F->src);
        vi__free(F->pix);
        F->src = NULL;
        F->pix = NULL;
        F->n = F->n_sources = 0;
    }
    vi__free(buf);
    return st;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static vi_status build_frames(frames *F, const char *const *paths, int32_t n_paths,
                              const vi_finetune_options *o, vi_finetune_progress_fn progress,
                              void *user, double t0) {
    F->key = inputs_key(paths, n_paths, F->side, o->frames_per_video);
    if (o->frame_cache_path) {
        int loaded = 0;
        vi_status st = frames_load(F, o->frame_cache_path, F->key, &loaded);
        if (st != VI_OK || loaded) {
            if (loaded)
                vi__log(VI_LOG_INFO, "fine-tuning: %d frames of %d sources from %s", (int)F->n,
                        (int)F->n_sources, o->frame_cache_path);
            return st;
        }
    }
    int32_t skipped = 0;
    for (int32_t i = 0; i < n_paths; i++) {
        vi_status st = decode_one(F, paths[i], o->frames_per_video, o->seed ^ (uint64_t)i);
        if (st == VI_E_NOMEM) return st;
        if (st != VI_OK) {
            skipped++;
            vi__log(VI_LOG_WARN, "fine-tuning: skipping %s: %s", paths[i], vi_last_error());
        }
        if (progress) {
            vi_finetune_progress pr = {VI_FINETUNE_DECODING, i + 1, n_paths, 0, 0, 0,
                                       now_s() - t0};
            if (progress(user, &pr) != 0)
                return vi__fail(VI_E_CANCELLED, "fine-tuning: cancelled while decoding");
        }
    }
    if (F->n_sources < 2)
        return vi__fail(VI_E_INVALID_ARG, "fine-tuning: %d of %d inputs decoded; at least two "
                        "sources are needed (the others are the negatives)",
                        (int)F->n_sources, (int)n_paths);
    vi__log(VI_LOG_INFO, "fine-tuning: %d frames from %d sources (%d skipped)", (int)F->n,
            (int)F->n_sources, (int)skipped);
    if (o->frame_cache_path) {
        vi_status st = frames_save(F, o->frame_cache_path);
        if (st != VI_OK) {
            vi__error_prefix("fine-tuning: writing the frame cache");
            return st;
        }
    }
    return VI_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Batches, schedule, checkpoints.
 */

static uint64_t step_seed(uint64_t seed, int64_t step) {
    vi__rng r = {seed ^ ((uint64_t)(step + 1) * 0x9E3779B97F4A7C15ull)};
    vi__rng_next(&r);
    return vi__rng_next(&r);
}

/* Mean absolute difference of two frames of side `side`, over every 4th pixel of every 4th row. */
static double frame_difference(const uint8_t *a, const uint8_t *b, int32_t side) {
    double sum = 0;
    int64_t n = 0;
    for (int32_t y = 0; y < side; y += 4)
        for (int32_t x = 0; x < side; x += 4)
            for (int c = 0; c < 3; c++, n++) {
                const size_t k = ((size_t)y * side + x) * 3 + c;
                sum += abs((int)a[k] - (int)b[k]);
            }
    return n ? sum / n : 0;
}

/* A scene negative for item p: another moment of its video, at least a third of the video away
 * and visibly different; -1 when there is none (a still, a short or a static video). */
static int32_t scene_frame(const frames *F, const source *a, int32_t kp, vi__rng *r) {
    const int32_t d = a->count / 3;
    if (a->still || d < 1) return -1;
    const int32_t below = kp - d + 1 > 0 ? kp - d + 1 : 0;            /* frames 0 .. kp - d */
    const int32_t above = a->count - (kp + d) > 0 ? a->count - (kp + d) : 0; /* kp + d .. */
    if (below + above == 0) return -1;
    const int32_t u = vi__rng_below(r, below + above);
    const int32_t k = u < below ? u : kp + d + (u - below);
    const size_t fb = (size_t)F->side * F->side * 3;
    if (frame_difference(F->pix + (size_t)(a->first + kp) * fb, F->pix + (size_t)(a->first + k) * fb,
                         F->side) < SCENE_MIN_DIFFERENCE)
        return -1;
    return k;
}

/* How many of a step's B items are scene negatives. */
static int32_t scene_count(int32_t B, const vi_finetune_options *o) {
    return (int32_t)(B * (double)o->scene_negatives);
}

/* Whether source s is among the first n chosen. */
static int already_chosen(const int32_t *chosen, int32_t n, int32_t s) {
    for (int32_t j = 0; j < n; j++)
        if (chosen[j] == s) return 1;
    return 0;
}

/* Views of step `step`: [first views of the B sources, second views]. Returns how many scene
 * negatives it placed. */
static int32_t make_batch(const frames *F, int32_t B, uint64_t seed, int64_t step, int32_t S,
                          const vi_finetune_options *o, uint8_t *views, uint8_t *scratch,
                          int32_t *chosen, int32_t *frame_of) {
    vi__rng r = {step_seed(seed, step)};
    int32_t n_still = 0;
    for (int32_t i = 0; i < F->n_sources; i++) n_still += F->src[i].still;
    const int32_t n_video = F->n_sources - n_still;
    /* the last K items are scene negatives of the first K (their frames are chosen below) */
    const int32_t K = scene_count(B, o);
    for (int32_t i = 0; i < B - K; i++) {
        int32_t s;
        for (;;) {
            const int want_still =
                n_video == 0 ? 1 : n_still == 0 ? 0 : vi__rng_uniform(&r) >= P_VIDEO;
            s = vi__rng_below(&r, F->n_sources);
            if (F->src[s].still != want_still) continue;
            /* a kind with fewer sources than wanted falls back to any unused source */
            if (!already_chosen(chosen, i, s)) break;
            const int32_t pool = want_still ? n_still : n_video;
            int32_t used = 0;
            for (int32_t j = 0; j < i; j++) used += F->src[chosen[j]].still == want_still;
            if (used >= pool) {
                for (s = 0; s < F->n_sources; s++)
                    if (!already_chosen(chosen, i, s)) break;
                break;
            }
        }
        chosen[i] = s;
    }
    const size_t fb = (size_t)F->side * F->side * 3, vb = (size_t)S * S * 3;
    int32_t placed = 0;
    for (int32_t i = 0; i < B; i++) {
        int32_t ka = -1;
        if (i >= B - K) { /* another moment of item p's video, or else a fresh source */
            const int32_t p = i - (B - K);
            chosen[i] = chosen[p];
            ka = scene_frame(F, &F->src[chosen[p]], frame_of[p], &r);
            placed += ka >= 0;
            if (ka < 0) {
                do chosen[i] = vi__rng_below(&r, F->n_sources);
                while (i < F->n_sources && already_chosen(chosen, i, chosen[i]));
            }
        }
        const source *a = &F->src[chosen[i]], *b = &F->src[chosen[(i + 1) % B]];
        if (ka < 0) ka = vi__rng_below(&r, a->count);
        frame_of[i] = ka;
        const uint8_t *fa = F->pix + (size_t)(a->first + ka) * fb;
        const uint8_t *fo = F->pix + (size_t)(b->first + vi__rng_below(&r, b->count)) * fb;
        /* the second view from the neighbouring sampled frame (a video's frames are spread
         * evenly over it), so that the views differ by where sampling landed as well */
        const uint8_t *fa2 = fa;
        if (o->temporal_positive > 0 && !a->still && a->count > 1 &&
            vi__rng_uniform(&r) < o->temporal_positive) {
            const int32_t k2 = ka == 0 ? 1 : ka == a->count - 1 ? ka - 1
                               : ka + (vi__rng_below(&r, 2) ? 1 : -1);
            fa2 = F->pix + (size_t)(a->first + k2) * fb;
        }
        vi__finetune_view(fa, fo, F->side, views + (size_t)i * vb, S, scratch, o->vflip,
                          vi__rng_next(&r));
        vi__finetune_view(fa2, fo, F->side, views + (size_t)(B + i) * vb, S, scratch, o->vflip,
                          vi__rng_next(&r));
    }
    return placed;
}

static float lr_at(const vi_finetune_options *o, int64_t step) {
    const int64_t warm = o->steps / 20 > 0 ? o->steps / 20 : 1;
    if (step < warm) return o->learning_rate * (float)(step + 1) / (float)warm;
    const double t = (double)(step - warm) / (double)(o->steps - warm > 0 ? o->steps - warm : 1);
    return (float)(o->learning_rate * 0.5 * (1.0 + cos(M_PI * t)));
}

static vi_status save_checkpoint(const vi__bbt *net, const vi_finetune_options *o, uint32_t key,
                                 const char *path) {
    vi__docw *w = vi__docw_create();
    if (!w) return vi__fail(VI_E_NOMEM, "fine-tuning: out of memory writing the checkpoint");
    vi__docw_str(w, "kind", CKPT_KIND);
    vi__docw_i64(w, "step", vi__bbt_steps_done(net));
    vi__docw_i64(w, "seed", (int64_t)o->seed);
    vi__docw_i64(w, "trainable_blocks", o->trainable_blocks);
    vi__docw_i64(w, "steps", o->steps);
    vi__docw_i64(w, "batch", o->batch);
    vi__docw_f64(w, "learning_rate", o->learning_rate);
    vi__docw_f64(w, "temperature", o->temperature);
    vi__docw_i64(w, "frames_key", key);
    vi__docw_i64(w, "head", o->head);
    vi__docw_f64(w, "head_learning_rate", o->head_learning_rate);
    vi__docw_f64(w, "temporal_positive", o->temporal_positive);
    vi__docw_f64(w, "scene_negatives", o->scene_negatives);
    vi__docw_f64(w, "vflip", o->vflip);
    vi__docw_f64(w, "exclusivity_weight", o->exclusivity_weight);
    vi__docw_f64(w, "mi_weight", o->mi_weight);
    /* the rng state of the next step: a function of (seed, step), stored for inspection */
    vi__docw_i64(w, "rng_next", (int64_t)step_seed(o->seed, vi__bbt_steps_done(net)));
    vi_status st = VI_OK;
    for (int32_t i = 0; i < vi__bbt_state_count(net) && st == VI_OK; i++) {
        vi__named_f32 nt;
        st = vi__bbt_state_get(net, i, &nt);
        if (st != VI_OK) break;
        vi__tensor t = {.name = nt.name, .dtype = VI__DT_F32, .ndim = nt.ndim, .data = nt.data};
        memcpy(t.dims, nt.dims, sizeof t.dims);
        t.nbytes = (size_t)vi__tensor_numel(&t) * sizeof(float);
        vi__docw_tensor(w, &t);
    }
    if (st != VI_OK) {
        vi__docw_free(w);
        return st;
    }
    uint8_t *bytes;
    size_t n;
    if ((st = vi__docw_finish(w, CKPT_MAGIC, &bytes, &n)) != VI_OK) return st;
    st = vi__write_file_atomic(path, bytes, n);
    vi__free(bytes);
    return st;
}

static vi_status load_checkpoint(vi__bbt *net, const vi_finetune_options *o, uint32_t key,
                                 const char *path, int *loaded) {
    *loaded = 0;
    struct stat sb;
    if (stat(path, &sb) != 0) return VI_OK;
    uint8_t *buf;
    size_t n;
    vi_status st = vi__read_file(path, &buf, &n, 0);
    if (st != VI_OK) return st;
    vi__doc *doc;
    st = vi__doc_parse(buf, n, CKPT_MAGIC, VI_E_FORMAT, &doc);
    vi__free(buf);
    if (st != VI_OK) {
        vi__error_prefix("fine-tuning: checkpoint %s is corrupt (delete it to start over)", path);
        return st;
    }
    const char *kind = vi__doc_str(doc, "kind");
    int64_t step = 0, seed = 0, tb = 0, steps = 0, batch = 0, fk = 0, head = 0;
    double temporal = 0, scene = 0, vflip = 0; /* absent from 0.2's checkpoints: these */
    vi__doc_f64(doc, "scene_negatives", &scene);
    vi__doc_f64(doc, "vflip", &vflip);
    vi__doc_i64(doc, "head", &head);
    vi__doc_f64(doc, "temporal_positive", &temporal);
    if (!kind || strcmp(kind, CKPT_KIND) != 0 || !vi__doc_i64(doc, "step", &step) ||
        !vi__doc_i64(doc, "seed", &seed) || !vi__doc_i64(doc, "trainable_blocks", &tb) ||
        !vi__doc_i64(doc, "steps", &steps) || !vi__doc_i64(doc, "batch", &batch) ||
        !vi__doc_i64(doc, "frames_key", &fk)) {
        st = vi__fail(VI_E_FORMAT, "fine-tuning: checkpoint %s lacks its step or options", path);
    } else if ((uint64_t)seed != o->seed || tb != o->trainable_blocks || steps != o->steps ||
               batch != o->batch || head != o->head ||
               temporal != (double)o->temporal_positive || scene != (double)o->scene_negatives ||
               vflip != (double)o->vflip) {
        st = vi__fail(VI_E_FORMAT,
                      "fine-tuning: checkpoint %s was made with other options (seed %lld, "
                      "trainable blocks %lld, steps %lld, batch %lld, head %lld, temporal "
                      "positives %g, scene negatives %g, vertical flips %g); delete it or use "
                      "them",
                      path, (long long)seed, (long long)tb, (long long)steps, (long long)batch,
                      (long long)head, temporal, scene, vflip);
    } else if ((uint32_t)fk != key) {
        st = vi__fail(VI_E_FORMAT, "fine-tuning: checkpoint %s was made on other inputs", path);
    } else if (step < 0 || step > steps) {
        st = vi__fail(VI_E_FORMAT, "fine-tuning: checkpoint %s: step %lld out of range", path,
                      (long long)step);
    }
    int32_t restored = 0;
    for (int32_t i = 0; st == VI_OK && i < vi__doc_tensor_count(doc); i++) {
        const vi__tensor *t = vi__doc_tensor_at(doc, i);
        const int64_t numel = vi__tensor_numel(t);
        float *data = vi__mallocarray((size_t)(numel > 0 ? numel : 1), sizeof(float));
        if (!data) {
            st = vi__fail(VI_E_NOMEM, "fine-tuning: out of memory reading the checkpoint");
            break;
        }
        vi__tensor_to_f32(t, data);
        st = vi__bbt_state_set(net, t->name, data, numel);
        vi__free(data);
        if (st != VI_OK) vi__error_prefix("fine-tuning: checkpoint %s", path);
        restored++;
    }
    if (st == VI_OK && restored != vi__bbt_state_count(net))
        st = vi__fail(VI_E_FORMAT, "fine-tuning: checkpoint %s holds %d of the %d state tensors",
                      path, (int)restored, (int)vi__bbt_state_count(net));
    if (st == VI_OK) {
        vi__bbt_set_steps_done(net, step);
        *loaded = 1;
    }
    vi__doc_free(doc);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * The model file.
 */

static vi_status build_net(const vi__model_file *mf, const vi__bbt_config *cfg, vi__bbt **net) {
    vi__named_f32 *list;
    int32_t n;
    vi_status st = vi__model_file_backbone_f32(mf, &list, &n);
    if (st == VI_OK) st = vi__bbt_create(list, n, cfg, net);
    vi__named_f32_free(list, n);
    return st;
}

static vi_status put_tensor(void *user, const vi__named_f32 *nt) {
    return vi__model_file_put_backbone((vi__model_file *)user, nt);
}

/* The base model's file `mf` becomes the fine-tuned model: its trainable backbone tensors
 * replaced, no head (or the one trained here), a new name and description. */
static vi_status save_model(vi__model_file *mf, const vi__bbt *net, const vi_finetune_options *o,
                            const char *path) {
    const char *base = mf->meta.name;
    char name[300], desc[900];
    const int dmi = o->head == VI_FINETUNE_HEAD_DMI;
    snprintf(name, sizeof name, "%.200s-ft%d%s", base, (int)o->trainable_blocks,
             dmi ? "-dmi" : "");
    if (dmi)
        snprintf(desc, sizeof desc,
                 "%.200s, backbone (last %d units) and a DMI head (6 x %d sub-feature heads, "
                 "auxiliary head, fusion) trained together by DMI's losses on copy-style frame "
                 "views (%d steps of %d frame pairs, D %g M %g, seed %llu)",
                 base, (int)o->trainable_blocks, HEAD_DIM, (int)o->steps,
                 (int)o->batch, (double)o->exclusivity_weight,
                 (double)o->mi_weight, (unsigned long long)o->seed);
    else
        snprintf(desc, sizeof desc,
                 "%.200s, backbone fine-tuned contrastively (last %d units, %d steps of %d "
                 "frame pairs, seed %llu); headless: embeddings are the backbone's frame features",
                 base, (int)o->trainable_blocks, (int)o->steps, (int)o->batch,
                 (unsigned long long)o->seed);
    mf->meta.name = name;
    mf->meta.description = desc;
    mf->meta.finetuned = 1;
    mf->meta.finetune_trainable_blocks = o->trainable_blocks;
    mf->meta.finetune_steps = o->steps;
    mf->meta.finetune_seed = (int64_t)o->seed;
    vi__model_file_clear_head(mf); /* a new backbone: nothing fitted on the old one survives */
    vi_status st = vi__bbt_export(net, put_tensor, mf);
    float *W[VI__DMI_LAYERS] = {0}, *b[VI__DMI_LAYERS] = {0};
    for (int32_t l = 0; dmi && st == VI_OK && l < VI__DMI_LAYERS; l++) {
        const int32_t fan = l == VI__DMI_FUSE ? VI__DMI_SUBS * HEAD_DIM : vi__bbt_feature_dim(net);
        W[l] = vi__mallocarray((size_t)HEAD_DIM * fan, sizeof(float));
        b[l] = vi__mallocarray(HEAD_DIM, sizeof(float));
        st = W[l] && b[l] ? vi__bbt_head_get(net, l, W[l], b[l])
                          : vi__fail(VI_E_NOMEM, "out of memory");
        if (st == VI_OK) vi__model_file_set_head_layer(mf, l, W[l], b[l], HEAD_DIM, fan);
    }
    if (st == VI_OK) st = vi__model_file_save(mf, path);
    for (int32_t l = 0; l < VI__DMI_LAYERS; l++) {
        vi__free(W[l]);
        vi__free(b[l]);
    }
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * The run.
 */

vi_status vi__finetune_run(const uint8_t *base, size_t base_size, int32_t input_size,
                           const char *const *paths, int32_t n_paths,
                           const vi_finetune_options *o, vi_finetune_progress_fn progress,
                           void *user, const char *out_path) {
    const double t0 = now_s();
    vi__model_file *mf = NULL;
    vi__bbt *net = NULL;
    frames F = {.side = input_size * 5 / 4};
    uint8_t *views = NULL, *scratch = NULL;
    int32_t *chosen = NULL, *frame_of = NULL;
    vi_status st = vi__model_file_parse(base, base_size, &mf);
    const vi__bbt_config cfg = {.trainable_units = o->trainable_blocks,
                                .learning_rate = o->learning_rate,
                                .weight_decay = o->weight_decay,
                                .temperature = o->temperature,
                                .koleo_weight = o->koleo_weight,
                                .dmi_head = o->head == VI_FINETUNE_HEAD_DMI,
                                .head_dim = HEAD_DIM,
                                .head_learning_rate = o->head_learning_rate,
                                .exclusivity_weight = o->exclusivity_weight,
                                .mi_weight = o->mi_weight,
                                .head_seed = o->seed ^ HEAD_SEED_SALT};
    if (st == VI_OK) st = build_net(mf, &cfg, &net);
    if (st == VI_OK) st = build_frames(&F, paths, n_paths, o, progress, user, t0);
    int loaded = 0;
    if (st == VI_OK && o->checkpoint_path)
        st = load_checkpoint(net, o, F.key, o->checkpoint_path, &loaded);
    if (st == VI_OK && loaded)
        vi__log(VI_LOG_INFO, "fine-tuning: resuming from %s at step %lld", o->checkpoint_path,
                (long long)vi__bbt_steps_done(net));
    const int32_t B = o->batch < F.n_sources ? o->batch : F.n_sources;
    const int32_t S = input_size;
    if (st == VI_OK && B != o->batch)
        vi__log(VI_LOG_WARN, "fine-tuning: only %d sources: batch reduced from %d to %d",
                (int)F.n_sources, (int)o->batch, (int)B);
    if (st == VI_OK) {
        views = vi__malloc((size_t)2 * B * S * S * 3);
        scratch = vi__malloc((size_t)2 * S * S * 3);
        chosen = vi__calloc((size_t)B, sizeof *chosen);
        frame_of = vi__calloc((size_t)B, sizeof *frame_of);
        if (!views || !scratch || !chosen || !frame_of) st = vi__fail(VI_E_NOMEM, "out of memory");
    }
    int64_t scene_placed = 0, scene_asked = 0;
    double loss_sum = 0;
    int32_t loss_n = 0;
    int cancel = 0;
    while (st == VI_OK && vi__bbt_steps_done(net) < o->steps) {
        const int64_t step = vi__bbt_steps_done(net);
        scene_placed += make_batch(&F, B, o->seed, step, S, o, views, scratch, chosen, frame_of);
        scene_asked += scene_count(B, o);
        vi__bbt_set_learning_rate(net, lr_at(o, step));
        vi__bbt_stats s;
        if ((st = vi__bbt_step(net, views, B, S, 1, &s)) != VI_OK) break;
        loss_sum += s.loss;
        loss_n++;
        const int64_t done = step + 1;
        if (progress) {
            vi_finetune_progress pr = {VI_FINETUNE_TRAINING, (int32_t)done, o->steps, s.loss,
                                       (float)(loss_sum / loss_n), s.accuracy, now_s() - t0};
            cancel = progress(user, &pr) != 0;
        }
        const int at_mark = done % o->checkpoint_every == 0 || done == o->steps || cancel;
        if (at_mark) {
            loss_sum = 0;
            loss_n = 0;
        }
        if (at_mark && o->checkpoint_path) {
            st = save_checkpoint(net, o, F.key, o->checkpoint_path);
            if (st != VI_OK) vi__error_prefix("fine-tuning: writing checkpoint");
        }
        if (st == VI_OK && cancel)
            st = vi__fail(VI_E_CANCELLED, "fine-tuning: cancelled at step %lld%s",
                          (long long)done, o->checkpoint_path ? " (checkpoint written)" : "");
    }
    if (st == VI_OK && scene_asked > 0)
        vi__log(VI_LOG_INFO, "fine-tuning: %lld of %lld scene negatives placed (the others had no "
                "visibly different moment and were fresh sources)", (long long)scene_placed,
                (long long)scene_asked);
    if (st == VI_OK) st = save_model(mf, net, o, out_path);
    vi__free(views);
    vi__free(scratch);
    vi__free(chosen);
    vi__free(frame_of);
    frames_free(&F);
    vi__bbt_free(net);
    vi__model_file_free(mf);
    return st;
}
