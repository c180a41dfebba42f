/* Copy-style augmentations for self-supervised positives, as plain pixel operations on the
 * decoded square RGB24 frames: what infringers do to a video (mirror, crop, recolour, blur, add
 * noise, letterbox, desaturate, tilt). A view draws its transformation once, so that every frame
 * of it is edited the same way, as a re-published copy would be (noise excepted). */
#include <math.h>
#include <string.h>

#include "train.h"

uint64_t vi__rng_next(vi__rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double vi__rng_uniform(vi__rng *r) { return (double)(vi__rng_next(r) >> 11) * 0x1.0p-53; }

int32_t vi__rng_below(vi__rng *r, int32_t n) {
    return n <= 1 ? 0 : (int32_t)(vi__rng_uniform(r) * n);
}

static float uni(vi__rng *r, double lo, double hi) {
    return (float)(lo + (hi - lo) * vi__rng_uniform(r));
}

void vi__augment_draw(vi__rng *rng, vi__augment *a) {
    memset(a, 0, sizeof *a);
    const uint32_t all[] = {VI__AUG_HFLIP, VI__AUG_CROP,   VI__AUG_COLOUR, VI__AUG_BLUR,
                            VI__AUG_NOISE, VI__AUG_BORDER, VI__AUG_GREY,   VI__AUG_ROTATE};
    const int n_ops = (int)(sizeof all / sizeof all[0]);
    for (int i = 0; i < n_ops; i++)
        if (vi__rng_uniform(rng) < 0.4) a->ops |= all[i];
    while (__builtin_popcount(a->ops) < 2) a->ops |= all[vi__rng_below(rng, n_ops)];

    a->crop_w = uni(rng, 0.5, 0.9);
    a->crop_h = uni(rng, 0.5, 0.9);
    a->crop_x = uni(rng, 0, 1.0 - a->crop_w);
    a->crop_y = uni(rng, 0, 1.0 - a->crop_h);
    a->brightness = uni(rng, -40, 40);
    a->contrast = uni(rng, 0.6, 1.4);
    a->gamma = uni(rng, 0.6, 1.6);
    for (int c = 0; c < 3; c++) a->gain[c] = uni(rng, 0.85, 1.15);
    a->blur_radius = 1 + vi__rng_below(rng, 3);
    a->noise_sigma = uni(rng, 4, 24);
    /* border: letterbox (bars top and bottom), pillarbox (left and right) or a frame */
    const int kind = vi__rng_below(rng, 3);
    const float s = uni(rng, 0.6, 0.9);
    a->border_scale_x = kind == 0 ? 1.0f : s;
    a->border_scale_y = kind == 1 ? 1.0f : s;
    a->border_x = uni(rng, 0, 1.0 - a->border_scale_x);
    a->border_y = uni(rng, 0, 1.0 - a->border_scale_y);
    const uint8_t grey = (uint8_t)vi__rng_below(rng, 256);
    const int black = vi__rng_uniform(rng) < 0.6;
    for (int c = 0; c < 3; c++) a->border_rgb[c] = black ? 0 : grey;
    const float deg = uni(rng, 4, 20) * (vi__rng_uniform(rng) < 0.5 ? -1.0f : 1.0f);
    a->angle = deg * (float)(M_PI / 180.0);
}

static uint8_t clamp_u8(float v) { return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)(v + 0.5f); }

/* dst(x, y) = src(ax*x + bx*y + cx, ay*x + by*y + cy) (pixel centres), bilinear, `fill` outside. */
static void warp(const uint8_t *src, uint8_t *dst, int32_t n, float ax, float bx, float cx,
                 float ay, float by, float cy, const uint8_t fill[3]) {
    for (int32_t y = 0; y < n; y++) {
        for (int32_t x = 0; x < n; x++) {
            const float fx = x + 0.5f, fy = y + 0.5f;
            const float sx = ax * fx + bx * fy + cx - 0.5f, sy = ay * fx + by * fy + cy - 0.5f;
            uint8_t *o = dst + ((size_t)y * n + x) * 3;
            if (sx < -0.5f || sy < -0.5f || sx > n - 0.5f || sy > n - 0.5f) {
                memcpy(o, fill, 3);
                continue;
            }
            const float cxs = sx < 0 ? 0 : sx > n - 1 ? (float)(n - 1) : sx;
            const float cys = sy < 0 ? 0 : sy > n - 1 ? (float)(n - 1) : sy;
            int32_t x0 = (int32_t)cxs, y0 = (int32_t)cys;
            int32_t x1 = x0 + 1 < n ? x0 + 1 : x0, y1 = y0 + 1 < n ? y0 + 1 : y0;
            const float wx = cxs - x0, wy = cys - y0;
            const uint8_t *p00 = src + ((size_t)y0 * n + x0) * 3;
            const uint8_t *p01 = src + ((size_t)y0 * n + x1) * 3;
            const uint8_t *p10 = src + ((size_t)y1 * n + x0) * 3;
            const uint8_t *p11 = src + ((size_t)y1 * n + x1) * 3;
            for (int c = 0; c < 3; c++) {
                const float top = p00[c] + (p01[c] - p00[c]) * wx;
                const float bot = p10[c] + (p11[c] - p10[c]) * wx;
                o[c] = clamp_u8(top + (bot - top) * wy);
            }
        }
    }
}

/* Box blur of radius r along rows (dx = 3) or columns (dx = 3 * n), src -> dst. */
static void box_pass(const uint8_t *src, uint8_t *dst, int32_t n, int32_t r, int vertical) {
    for (int32_t line = 0; line < n; line++) {
        for (int32_t i = 0; i < n; i++) {
            int sum[3] = {0, 0, 0}, cnt = 0;
            for (int32_t k = i - r; k <= i + r; k++) {
                if (k < 0 || k >= n) continue;
                const uint8_t *p = vertical ? src + ((size_t)k * n + line) * 3
                                            : src + ((size_t)line * n + k) * 3;
                for (int c = 0; c < 3; c++) sum[c] += p[c];
                cnt++;
            }
            uint8_t *o = vertical ? dst + ((size_t)i * n + line) * 3
                                  : dst + ((size_t)line * n + i) * 3;
            for (int c = 0; c < 3; c++) o[c] = (uint8_t)((sum[c] + cnt / 2) / cnt);
        }
    }
}

/* A normal deviate (Box-Muller). */
static float gauss(vi__rng *r) {
    double u = vi__rng_uniform(r), v = vi__rng_uniform(r);
    if (u < 1e-12) u = 1e-12;
    return (float)(sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v));
}

void vi__augment_apply(const vi__augment *a, uint8_t *rgb, int32_t n, uint8_t *scratch,
                       vi__rng *rng) {
    const size_t bytes = (size_t)n * n * 3;
    static const uint8_t black[3] = {0, 0, 0};
    /* geometry first, as an editor would crop, tilt and mirror before the picture is framed */
    if (a->ops & VI__AUG_CROP) {
        warp(rgb, scratch, n, a->crop_w, 0, a->crop_x * n, 0, a->crop_h, a->crop_y * n, black);
        memcpy(rgb, scratch, bytes);
    }
    if (a->ops & VI__AUG_ROTATE) { /* rotate about the centre, zoomed so that corners stay full */
        const float c = cosf(a->angle), s = sinf(a->angle), h = n / 2.0f;
        const float z = 1.0f / (fabsf(c) + fabsf(s)); /* inverse zoom */
        warp(rgb, scratch, n, c * z, -s * z, h - (c * z * h - s * z * h), s * z, c * z,
             h - (s * z * h + c * z * h), black);
        memcpy(rgb, scratch, bytes);
    }
    if (a->ops & VI__AUG_HFLIP) {
        for (int32_t y = 0; y < n; y++) {
            uint8_t *row = rgb + (size_t)y * n * 3;
            for (int32_t x = 0; x < n / 2; x++) {
                uint8_t t[3];
                memcpy(t, row + x * 3, 3);
                memcpy(row + x * 3, row + (n - 1 - x) * 3, 3);
                memcpy(row + (n - 1 - x) * 3, t, 3);
            }
        }
    }
    if (a->ops & VI__AUG_BORDER) {
        const float sx = a->border_scale_x, sy = a->border_scale_y;
        warp(rgb, scratch, n, 1.0f / sx, 0, -a->border_x * n / sx, 0, 1.0f / sy,
             -a->border_y * n / sy, a->border_rgb);
        memcpy(rgb, scratch, bytes);
    }
    if (a->ops & VI__AUG_COLOUR) {
        uint8_t lut[3][256];
        for (int c = 0; c < 3; c++)
            for (int v = 0; v < 256; v++) {
                float x = powf(v / 255.0f, a->gamma) * 255.0f;
                x = ((x - 128.0f) * a->contrast + 128.0f + a->brightness) * a->gain[c];
                lut[c][v] = clamp_u8(x);
            }
        for (size_t i = 0; i < bytes; i++) rgb[i] = lut[i % 3][rgb[i]];
    }
    if (a->ops & VI__AUG_GREY) {
        for (size_t i = 0; i < bytes; i += 3) {
            const uint8_t g = clamp_u8(0.299f * rgb[i] + 0.587f * rgb[i + 1] + 0.114f * rgb[i + 2]);
            rgb[i] = rgb[i + 1] = rgb[i + 2] = g;
        }
    }
    if (a->ops & VI__AUG_BLUR) {
        for (int pass = 0; pass < 2; pass++) {
            box_pass(rgb, scratch, n, a->blur_radius, 0);
            box_pass(scratch, rgb, n, a->blur_radius, 1);
        }
    }
    if (a->ops & VI__AUG_NOISE) {
        for (size_t i = 0; i < bytes; i++) rgb[i] = clamp_u8(rgb[i] + a->noise_sigma * gauss(rng));
    }
}
