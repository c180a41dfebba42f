/* Integration tests of vi_video_thumbnail (lib/decode + lib/api) on the clips made by
 * test/data/make_fixtures.sh, with real FFmpeg decoding and encoding.
 *
 * Nothing expected is written down: the frame times come from the library's own sampling
 * decoder at the clip's frame rate, and the pictures are compared with what the `ffmpeg`
 * command renders at the same time (its default accurate seek and autorotation), decoding our
 * PNG and JPEG files with the `ffmpeg` command too. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "decode/decode.h"
#include "test_paths.h"

#define fixture vi_test_fixture

/* Every frame time of a clip, from the sampling decoder at a rate above the clip's. */
static int frame_times(const char *path, int64_t *ts, int cap) {
    vi__decode_params p = {.fps = 60, .out_size = 16};
    struct vi__decoder *d = NULL;
    ck_assert_int_eq(vi__decoder_open(path, &p, &d), VI_OK);
    uint8_t rgb[16 * 16 * 3];
    int n = 0, got = 1;
    while (got && n < cap) {
        ck_assert_int_eq(vi__decoder_next(d, rgb, &ts[n], &got), VI_OK);
        if (got) n++;
    }
    vi__decoder_close(d);
    return n;
}

static void *thumb(const char *path, int64_t t_us, int max_side, int format, size_t *size,
                   int64_t *at) {
    vi_thumbnail_options o;
    ck_assert_int_eq(VI_THUMBNAIL_OPTIONS_INIT(o), VI_OK);
    o.max_side = max_side;
    o.format = format;
    void *data = NULL;
    vi_status st = vi_video_thumbnail(path, t_us, &o, &data, size, at);
    ck_assert_msg(st == VI_OK, "thumbnail of %s at %lld: %s", path, (long long)t_us,
                  vi_last_error());
    ck_assert_ptr_nonnull(data);
    return data;
}

/* Width and height of a PNG from its IHDR chunk. */
static void png_size(const unsigned char *p, size_t n, int *w, int *h) {
    ck_assert_uint_ge(n, 24);
    ck_assert_int_eq(memcmp(p, "\x89PNG\r\n\x1a\n", 8), 0);
    ck_assert_int_eq(memcmp(p + 12, "IHDR", 4), 0);
    *w = p[16] << 24 | p[17] << 16 | p[18] << 8 | p[19];
    *h = p[20] << 24 | p[21] << 16 | p[22] << 8 | p[23];
}

/* Run an ffmpeg command line that writes raw RGB24 to stdout; returns the bytes read. */
static size_t ffmpeg_rgb(const char *cmd, unsigned char *buf, size_t cap) {
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    size_t got = fread(buf, 1, cap, f);
    pclose(f);
    return got;
}

/* An image file of ours decoded to RGB24 by the ffmpeg command. */
static size_t decode_image(const void *data, size_t size, unsigned char *buf, size_t cap) {
    char path[] = "/tmp/vi-thumb-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, size), (ssize_t)size);
    close(fd);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v quiet -i '%s' -f rawvideo -pix_fmt rgb24 -",
             path);
    size_t got = ffmpeg_rgb(cmd, buf, cap);
    unlink(path);
    return got;
}

/* The frame at `t` seconds as the ffmpeg command shows it (accurate seek, autorotation). */
static size_t ffmpeg_frame(const char *path, double t, unsigned char *buf, size_t cap) {
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v quiet -ss %.6f -i '%s' -frames:v 1 -f rawvideo "
             "-pix_fmt rgb24 -", t, path);
    return ffmpeg_rgb(cmd, buf, cap);
}

static double mean_abs_diff(const unsigned char *a, const unsigned char *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += abs((int)a[i] - (int)b[i]);
    return s / (double)n;
}

/* ---- tests ------------------------------------------------------------------------------------ */

START_TEST(test_nearest_frame_is_chosen) {
    const char *path = fixture("clip_a.mp4");
    int64_t ts[400];
    const int n = frame_times(path, ts, 400);
    ck_assert_int_ge(n, 200); /* 10 s at 25 fps */
    const int picks[] = {0, 1, 37, 100, n / 2, n - 2};
    for (size_t k = 0; k < sizeof picks / sizeof picks[0]; k++) {
        const int i = picks[k];
        const int64_t gap = ts[i + 1] - ts[i];
        /* exactly on a frame, a third of the way to the next (this one), two thirds (the next) */
        const int64_t asks[3] = {ts[i], ts[i] + gap / 3, ts[i] + 2 * gap / 3};
        const int64_t want[3] = {ts[i], ts[i], ts[i + 1]};
        for (int a = 0; a < 3; a++) {
            size_t size;
            int64_t at = -1;
            void *img = thumb(path, asks[a], 64, VI_IMAGE_JPEG, &size, &at);
            ck_assert_msg(at == want[a], "asked %lld, got the frame at %lld, want %lld",
                          (long long)asks[a], (long long)at, (long long)want[a]);
            vi_buffer_free(img);
        }
    }
    /* before the first frame: the first; after the last: the last */
    size_t size;
    int64_t at = -1;
    vi_buffer_free(thumb(path, -5000000, 64, 0, &size, &at));
    ck_assert_int_eq(at, ts[0]);
    vi_buffer_free(thumb(path, ts[n - 1] + 60000000, 64, 0, &size, &at));
    ck_assert_int_eq(at, ts[n - 1]);
}
END_TEST

START_TEST(test_png_is_the_frame_ffmpeg_shows) {
    /* 320x240 fits the default 320: no scaling, so only the colour conversion may differ. */
    const char *path = fixture("clip_a.mp4");
    const size_t bytes = 320 * 240 * 3;
    unsigned char *ours = malloc(bytes + 1), *same = malloc(bytes + 1), *next = malloc(bytes + 1);
    ck_assert_ptr_nonnull(ours);
    ck_assert_ptr_nonnull(same);
    ck_assert_ptr_nonnull(next);
    size_t size;
    int64_t at;
    void *png = thumb(path, 4200000, 0, VI_IMAGE_PNG, &size, &at);
    int w, h;
    png_size(png, size, &w, &h);
    ck_assert_int_eq(w, 320);
    ck_assert_int_eq(h, 240);
    ck_assert_uint_eq(decode_image(png, size, ours, bytes + 1), bytes);
    ck_assert_uint_eq(ffmpeg_frame(path, at * 1e-6, same, bytes + 1), bytes);
    ck_assert_uint_eq(ffmpeg_frame(path, at * 1e-6 + 0.04, next, bytes + 1), bytes);
    const double d_same = mean_abs_diff(ours, same, bytes);
    const double d_next = mean_abs_diff(ours, next, bytes);
    ck_assert_msg(d_same < 2.0 && d_same * 3 < d_next,
                  "mean difference %.3f to ffmpeg's frame, %.3f to the next one", d_same, d_next);
    vi_buffer_free(png);
    free(ours);
    free(same);
    free(next);
}
END_TEST

START_TEST(test_jpeg_is_shrunk_and_decodes) {
    const char *path = fixture("clip_b.mp4");
    size_t size;
    int64_t at;
    unsigned char *jpg = thumb(path, 5000000, 100, VI_IMAGE_JPEG, &size, &at);
    ck_assert_uint_ge(size, 200);
    ck_assert_int_eq(jpg[0], 0xFF);
    ck_assert_int_eq(jpg[1], 0xD8);
    ck_assert_int_eq(jpg[size - 2], 0xFF);
    ck_assert_int_eq(jpg[size - 1], 0xD9);
    const size_t bytes = 100 * 75 * 3; /* 320x240 shrunk to fit 100 */
    unsigned char *ours = malloc(bytes + 1), *ref = malloc(bytes + 1);
    ck_assert_uint_eq(decode_image(jpg, size, ours, bytes + 1), bytes);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v quiet -ss %.6f -i '%s' -frames:v 1 -vf "
             "scale=100:75:flags=area -f rawvideo -pix_fmt rgb24 -", at * 1e-6, path);
    ck_assert_uint_eq(ffmpeg_rgb(cmd, ref, bytes + 1), bytes);
    const double d = mean_abs_diff(ours, ref, bytes);
    ck_assert_msg(d < 6.0, "JPEG differs from ffmpeg's frame by %.3f on average", d);
    vi_buffer_free(jpg);
    free(ours);
    free(ref);
}
END_TEST

START_TEST(test_rotation_is_shown_as_ffmpeg_does) {
    const char *path = fixture("clip_rot90.mp4");
    const size_t bytes = 240 * 320 * 3;
    unsigned char *ours = malloc(bytes + 1), *ref = malloc(bytes + 1);
    size_t size;
    int64_t at;
    void *png = thumb(path, 2000000, 320, VI_IMAGE_PNG, &size, &at);
    int w, h;
    png_size(png, size, &w, &h);
    ck_assert_int_eq(w, 240); /* turned a quarter: portrait */
    ck_assert_int_eq(h, 320);
    ck_assert_uint_eq(decode_image(png, size, ours, bytes + 1), bytes);
    ck_assert_uint_eq(ffmpeg_frame(path, at * 1e-6, ref, bytes + 1), bytes);
    const double d = mean_abs_diff(ours, ref, bytes);
    ck_assert_msg(d < 2.0, "rotated thumbnail differs from ffmpeg's by %.3f", d);
    vi_buffer_free(png);
    free(ours);
    free(ref);
}
END_TEST

START_TEST(test_odd_and_tiny_sizes) {
    /* 33x17 and 1x1 frames are never enlarged; JPEG copes with odd sizes */
    const struct { const char *name; int w, h; } k[] = {{"odd_33x17.mkv", 33, 17},
                                                        {"tiny_1x1.mkv", 1, 1}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        for (int format = VI_IMAGE_JPEG; format <= VI_IMAGE_PNG; format++) {
            size_t size;
            int64_t at;
            void *img = thumb(fixture(k[i].name), 500000, 320, format, &size, &at);
            unsigned char buf[33 * 17 * 3 + 1];
            ck_assert_uint_eq(decode_image(img, size, buf, sizeof buf),
                              (size_t)(k[i].w * k[i].h * 3));
            vi_buffer_free(img);
        }
    }
}
END_TEST

START_TEST(test_bad_input_is_refused) {
    void *data = (void *)1;
    size_t size = 7;
    vi_thumbnail_options o;
    ck_assert_int_eq(VI_THUMBNAIL_OPTIONS_INIT(o), VI_OK);
    ck_assert_int_eq(o.max_side, 320);
    ck_assert_int_eq(o.format, VI_IMAGE_JPEG);
    ck_assert_int_eq(vi_video_thumbnail(fixture("missing.mp4"), 0, NULL, &data, &size, NULL),
                     VI_E_IO);
    ck_assert_ptr_null(data);
    ck_assert_uint_eq(size, 0);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "missing.mp4"));
    ck_assert_int_eq(vi_video_thumbnail(fixture("text.mp4"), 0, NULL, &data, &size, NULL),
                     VI_E_DECODE);
    ck_assert_int_eq(vi_video_thumbnail(fixture("audio_only.m4a"), 0, NULL, &data, &size, NULL),
                     VI_E_NO_VIDEO);
    ck_assert_int_eq(vi_video_thumbnail(fixture("dir.mp4"), 0, NULL, &data, &size, NULL),
                     VI_E_IO);
    ck_assert_int_eq(vi_video_thumbnail(NULL, 0, NULL, &data, &size, NULL), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_video_thumbnail(fixture("clip_a.mp4"), 0, NULL, NULL, &size, NULL),
                     VI_E_INVALID_ARG);
    o.max_side = 8;
    ck_assert_int_eq(vi_video_thumbnail(fixture("clip_a.mp4"), 0, &o, &data, &size, NULL),
                     VI_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(vi_last_error(), "16..4096"));
    o.max_side = 0;
    o.format = 7;
    ck_assert_int_eq(vi_video_thumbnail(fixture("clip_a.mp4"), 0, &o, &data, &size, NULL),
                     VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_thumbnail_options_init(&o, 2), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi_thumbnail_options_init(NULL, sizeof o), VI_E_INVALID_ARG);
    /* frame_us may be NULL; the damaged clip still gives a picture */
    ck_assert_int_eq(vi_video_thumbnail(fixture("damaged.mp4"), 5000000, NULL, &data, &size,
                                        NULL), VI_OK);
    ck_assert_uint_gt(size, 100);
    vi_buffer_free(data);
    vi_buffer_free(NULL);
}
END_TEST

Suite *thumbnail_suite(void) {
    Suite *s = suite_create("thumbnail");
    TCase *tc = tcase_create("frames");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_nearest_frame_is_chosen);
    tcase_add_test(tc, test_png_is_the_frame_ffmpeg_shows);
    tcase_add_test(tc, test_jpeg_is_shrunk_and_decodes);
    tcase_add_test(tc, test_rotation_is_shown_as_ffmpeg_does);
    tcase_add_test(tc, test_odd_and_tiny_sizes);
    tcase_add_test(tc, test_bad_input_is_refused);
    suite_add_tcase(s, tc);
    return s;
}
