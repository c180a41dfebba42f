/* Integration tests of lib/decode with real FFmpeg decoding of the clips made by
 * test/data/make_fixtures.sh (read from $VI_FIXTURES).
 *
 * Expected timestamps are never written down: each test runs `ffprobe -show_entries frame=...`
 * on the same file, takes the frames' best-effort timestamps and key flags it prints, and
 * applies the documented sampling rule (docs/decoding.md) to them. Images are checked against
 * other decodes (the unrotated clip, threads=1) or against the `ffmpeg` command's own output. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "test_paths.h"
#include "decode/decode.h"

#define OUT 224
#define IMG_BYTES ((size_t)OUT * OUT * 3)

/* ---- helpers --------------------------------------------------------------------------------- */

#define fixture vi_test_fixture

static vi__decode_params params(double fps) {
    vi__decode_params p = {fps, 0, 0, 0, OUT};
    return p;
}

typedef struct {
    int n;
    int64_t *ts;
    uint8_t *img; /* n * IMG_BYTES, when kept */
    double duration;
} decoded;

static void decoded_free(decoded *d) {
    free(d->ts);
    free(d->img);
    memset(d, 0, sizeof *d);
}

/* Decode a whole file; returns the status of the first failing call. */
static vi_status decode_file(const char *path, const vi__decode_params *p, int keep_images,
                             decoded *out) {
    memset(out, 0, sizeof *out);
    struct vi__decoder *dec = NULL;
    vi_status st = vi__decoder_open(path, p, &dec);
    if (st != VI_OK) {
        ck_assert_ptr_null(dec);
        return st;
    }
    out->duration = vi__decoder_duration(dec);
    uint8_t *rgb = malloc(IMG_BYTES);
    ck_assert_ptr_nonnull(rgb);
    int cap = 0;
    for (;;) {
        int got = -1;
        int64_t pts = 0;
        st = vi__decoder_next(dec, rgb, &pts, &got);
        if (st != VI_OK) break;
        ck_assert_int_ge(got, 0);
        if (!got) break;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            out->ts = realloc(out->ts, (size_t)cap * sizeof *out->ts);
            ck_assert_ptr_nonnull(out->ts);
            if (keep_images) {
                out->img = realloc(out->img, (size_t)cap * IMG_BYTES);
                ck_assert_ptr_nonnull(out->img);
            }
        }
        out->ts[out->n] = pts;
        if (keep_images) memcpy(out->img + (size_t)out->n * IMG_BYTES, rgb, IMG_BYTES);
        out->n++;
    }
    /* the end of the stream is sticky */
    if (st == VI_OK) {
        int got = -1;
        int64_t pts;
        ck_assert_int_eq(vi__decoder_next(dec, rgb, &pts, &got), VI_OK);
        ck_assert_int_eq(got, 0);
    }
    free(rgb);
    vi__decoder_close(dec);
    return st;
}

typedef struct {
    int n;
    int64_t *us;
    int *key;
} probed;

/* The video frames of `path` as `ffprobe -show_entries frame=...` prints them. */
static probed probe(const char *path) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v quiet -select_streams V:0 -show_entries "
             "frame=key_frame,best_effort_timestamp_time -of compact=p=0 '%s'", path);
    FILE *f = popen(cmd, "r");
    ck_assert_msg(f != NULL, "cannot run ffprobe");
    probed p = {0, NULL, NULL};
    int cap = 0;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        const char *k = strstr(line, "key_frame=");
        const char *t = strstr(line, "best_effort_timestamp_time=");
        if (!k || !t) continue;
        char *end;
        double sec = strtod(t + strlen("best_effort_timestamp_time="), &end);
        if (end == t + strlen("best_effort_timestamp_time=")) continue; /* N/A */
        if (p.n == cap) {
            cap = cap ? cap * 2 : 256;
            p.us = realloc(p.us, (size_t)cap * sizeof *p.us);
            p.key = realloc(p.key, (size_t)cap * sizeof *p.key);
            ck_assert(p.us && p.key);
        }
        p.us[p.n] = llround(sec * 1e6);
        p.key[p.n] = atoi(k + strlen("key_frame="));
        p.n++;
    }
    int rc = pclose(f);
    ck_assert_msg(rc == 0, "ffprobe failed on %s", path);
    ck_assert_msg(p.n > 0, "ffprobe printed no frame for %s", path);
    return p;
}

static void probed_free(probed *p) {
    free(p->us);
    free(p->key);
}

/* ffprobe's stream-level value of `entry` (e.g. "duration") for the first video stream. */
static double probe_stream_value(const char *path, const char *entry) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v quiet -select_streams V:0 -show_entries stream=%s -of csv=p=0 '%s'",
             entry, path);
    FILE *f = popen(cmd, "r");
    ck_assert(f != NULL);
    double v = NAN;
    if (fscanf(f, "%lf", &v) != 1) v = NAN;
    pclose(f);
    return v;
}

/* The sampling rule of docs/decoding.md, applied to ffprobe's frames: the grid starts at the
 * first frame; a frame is taken when it reaches the next grid point, and the next grid point is
 * then the first one strictly after it. Returns the number of expected samples in `out`. */
static int64_t grid(int64_t first, int64_t k, double fps) {
    return first + llround((double)k * 1e6 / fps);
}

static int expected_samples(const probed *p, double fps, int keyframes_only, int max_frames,
                            int64_t *out) {
    int n = 0, have_first = 0;
    int64_t first = 0, next = 0;
    for (int i = 0; i < p->n; i++) {
        if (keyframes_only && !p->key[i]) continue;
        if (max_frames > 0 && n >= max_frames) break;
        const int64_t t = p->us[i];
        if (have_first && t < next) continue;
        if (!have_first) {
            have_first = 1;
            first = t;
        }
        out[n++] = t;
        int64_t k = 1;
        while (grid(first, k, fps) <= t) k++;
        next = grid(first, k, fps);
    }
    return n;
}

/* Decode `name` at `fps` and compare with the rule applied to ffprobe's frames `p`. */
static void check_samples(const char *name, const probed *p, double fps, int keyframes_only) {
    int64_t *want = malloc((size_t)p->n * sizeof *want);
    ck_assert_ptr_nonnull(want);
    const int n_want = expected_samples(p, fps, keyframes_only, 0, want);
    vi__decode_params prm = params(fps);
    prm.keyframes_only = keyframes_only;
    decoded d;
    ck_assert_msg(decode_file(fixture(name), &prm, 0, &d) == VI_OK, "%s: %s", name,
                  vi_last_error());
    ck_assert_msg(d.n == n_want, "%s at %g fps%s: %d frames sampled, ffprobe's frames give %d",
                  name, fps, keyframes_only ? " (keyframes)" : "", d.n, n_want);
    for (int i = 0; i < d.n; i++)
        ck_assert_msg(llabs(d.ts[i] - want[i]) <= 1, "%s frame %d: pts %lld us, ffprobe %lld us",
                      name, i, (long long)d.ts[i], (long long)want[i]);
    decoded_free(&d);
    free(want);
}

static void check_against_ffprobe(const char *name, double fps, int keyframes_only) {
    probed p = probe(fixture(name));
    check_samples(name, &p, fps, keyframes_only);
    probed_free(&p);
}

static double mean_abs_diff(const uint8_t *a, const uint8_t *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += abs((int)a[i] - (int)b[i]);
    return s / (double)n;
}

static double variance(const uint8_t *a, size_t n) {
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        s += a[i];
        s2 += (double)a[i] * a[i];
    }
    s /= (double)n;
    return s2 / (double)n - s * s;
}

/* The first frame as the ffmpeg command renders it (autorotation on), squashed to OUT x OUT
 * with the same area filter. */
static uint8_t *ffmpeg_first_frame(const char *path) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -v quiet -i '%s' -frames:v 1 -vf scale=%d:%d:flags=area "
             "-f rawvideo -pix_fmt rgb24 -", path, OUT, OUT);
    FILE *f = popen(cmd, "r");
    ck_assert(f != NULL);
    uint8_t *img = malloc(IMG_BYTES);
    ck_assert_ptr_nonnull(img);
    size_t got = fread(img, 1, IMG_BYTES, f);
    ck_assert_int_eq(pclose(f), 0);
    ck_assert_msg(got == IMG_BYTES, "ffmpeg gave %zu bytes for %s", got, path);
    return img;
}

static const uint8_t *px(const uint8_t *img, int y, int x) {
    return img + ((size_t)y * OUT + (size_t)x) * 3;
}

/* ---- timestamps and sampling ------------------------------------------------------------------ */

static const char *const ts_clips[] = {
    "clip_a.mp4",      "clip_b.mp4",   "clip_a_copy.mp4", "clip_vfr.mp4",   "clip_offset.mp4",
    "clip_rot90.mp4",  "clip_mpeg2.ts", "clip_vp8.webm",  "clip_cover.mp4", "one_frame.mp4",
    "odd_33x17.mkv",   "tiny_1x1.mkv", "tiny_2x2.mp4",    "big_4096.mp4",   "clip_sizechange.ts",
};
#define N_TS_CLIPS ((int)(sizeof ts_clips / sizeof ts_clips[0]))

START_TEST(test_timestamps_match_ffprobe_at_1fps) {
    check_against_ffprobe(ts_clips[_i], 1.0, 0);
}
END_TEST

START_TEST(test_sampling_rates_match_ffprobe) {
    static const double rates[] = {0.25, 0.5, 1.0, 2.0, 3.0, 7.5, 25.0, 60.0};
    static const char *const names[] = {"clip_a.mp4", "clip_vfr.mp4", "clip_mpeg2.ts"};
    for (int c = 0; c < 3; c++) {
        probed p = probe(fixture(names[c]));
        for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
            check_samples(names[c], &p, rates[i], 0);
        probed_free(&p);
    }
}
END_TEST

START_TEST(test_sample_count_follows_duration) {
    /* constant 25 fps for 10 s: ceil(10 * fps) samples, and every frame at >= 25 fps */
    const char *path = fixture("clip_a.mp4");
    probed p = probe(path);
    const double span = (double)(p.us[p.n - 1] - p.us[0]) / 1e6 + 1.0 / 25;
    static const double rates[] = {0.5, 1.0, 2.0, 4.0, 25.0, 50.0};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        vi__decode_params prm = params(rates[i]);
        decoded d;
        ck_assert_int_eq(decode_file(path, &prm, 0, &d), VI_OK);
        const int want = rates[i] >= 25 ? p.n : (int)ceil(span * rates[i] - 1e-9);
        ck_assert_msg(d.n == want, "%g fps: %d frames, want %d", rates[i], d.n, want);
        decoded_free(&d);
    }
    probed_free(&p);
}
END_TEST

START_TEST(test_vfr_one_sample_per_grid_interval) {
    const char *path = fixture("clip_vfr.mp4");
    probed p = probe(path);
    /* the clip really is variable: its frame intervals differ */
    int64_t dmin = INT64_MAX, dmax = 0;
    for (int i = 1; i < p.n; i++) {
        const int64_t dt = p.us[i] - p.us[i - 1];
        dmin = dt < dmin ? dt : dmin;
        dmax = dt > dmax ? dt : dmax;
    }
    ck_assert_msg(dmax > 3 * dmin, "clip_vfr.mp4 is not variable-rate (%lld..%lld us)",
                  (long long)dmin, (long long)dmax);
    for (double fps = 1; fps <= 10; fps *= 2.5) {
        vi__decode_params prm = params(fps);
        decoded d;
        ck_assert_int_eq(decode_file(path, &prm, 0, &d), VI_OK);
        ck_assert_int_ge(d.n, 2);
        ck_assert(d.ts[0] == p.us[0]);
        for (int i = 1; i < d.n; i++) {
            const int64_t a = (int64_t)floor((double)(d.ts[i - 1] - d.ts[0]) * fps / 1e6 + 1e-9);
            const int64_t b = (int64_t)floor((double)(d.ts[i] - d.ts[0]) * fps / 1e6 + 1e-9);
            ck_assert_msg(b > a, "%g fps: frames %d and %d (%lld, %lld us) in one grid interval",
                          fps, i - 1, i, (long long)d.ts[i - 1], (long long)d.ts[i]);
        }
        decoded_free(&d);
    }
    probed_free(&p);
}
END_TEST

START_TEST(test_nonzero_start_is_kept) {
    static const char *const names[] = {"clip_offset.mp4", "clip_mpeg2.ts"};
    for (int i = 0; i < 2; i++) {
        const char *path = fixture(names[i]);
        probed p = probe(path);
        ck_assert_msg(p.us[0] > 0, "%s should start after 0", names[i]);
        decoded d;
        vi__decode_params prm = params(1);
        ck_assert_int_eq(decode_file(path, &prm, 0, &d), VI_OK);
        ck_assert_int_ge(d.n, 3);
        ck_assert_msg(llabs(d.ts[0] - p.us[0]) <= 1, "%s starts at %lld us, ffprobe %lld",
                      names[i], (long long)d.ts[0], (long long)p.us[0]);
        decoded_free(&d);
        probed_free(&p);
    }
}
END_TEST

START_TEST(test_timestamp_jump_back_continues_timeline) {
    /* clip_concat.ts is clip_mpeg2.ts twice over: its timestamps restart half-way */
    vi__decode_params prm = params(1);
    decoded once, twice;
    ck_assert_int_eq(decode_file(fixture("clip_mpeg2.ts"), &prm, 0, &once), VI_OK);
    ck_assert_int_eq(decode_file(fixture("clip_concat.ts"), &prm, 0, &twice), VI_OK);
    ck_assert_int_ge(twice.n, 2 * once.n - 1);
    ck_assert_int_le(twice.n, 2 * once.n + 1);
    for (int i = 0; i < once.n; i++) ck_assert(twice.ts[i] == once.ts[i]);
    /* increasing, and as regular as in a constant-rate stream: with every 25 fps frame present
     * two samples at 1 fps are less than 1 s + one frame (40 ms) apart */
    for (int i = 1; i < twice.n; i++)
        ck_assert_msg(twice.ts[i] > twice.ts[i - 1] && twice.ts[i] - twice.ts[i - 1] <= 1040000,
                      "frame %d at %lld after %lld", i, (long long)twice.ts[i],
                      (long long)twice.ts[i - 1]);
    decoded_free(&once);
    decoded_free(&twice);
}
END_TEST

START_TEST(test_max_frames_is_a_prefix) {
    const char *path = fixture("clip_a.mp4");
    vi__decode_params prm = params(5);
    decoded all, capped;
    ck_assert_int_eq(decode_file(path, &prm, 1, &all), VI_OK);
    ck_assert_int_gt(all.n, 7);
    prm.max_frames = 7;
    ck_assert_int_eq(decode_file(path, &prm, 1, &capped), VI_OK);
    ck_assert_int_eq(capped.n, 7);
    for (int i = 0; i < 7; i++) ck_assert(capped.ts[i] == all.ts[i]);
    ck_assert(memcmp(capped.img, all.img, 7 * IMG_BYTES) == 0);
    decoded_free(&capped);
    prm.max_frames = all.n + 100;
    ck_assert_int_eq(decode_file(path, &prm, 0, &capped), VI_OK);
    ck_assert_int_eq(capped.n, all.n);
    decoded_free(&capped);
    decoded_free(&all);
}
END_TEST

START_TEST(test_keyframes_only_gives_keyframes) {
    static const char *const names[] = {"clip_a.mp4", "clip_b.mp4", "clip_mpeg2.ts",
                                        "clip_offset.mp4"};
    for (int i = 0; i < 4; i++) {
        const char *path = fixture(names[i]);
        probed p = probe(path);
        int n_key = 0;
        for (int j = 0; j < p.n; j++) n_key += p.key[j];
        ck_assert_msg(n_key > 1 && n_key < p.n, "%s: %d keyframes of %d", names[i], n_key, p.n);
        vi__decode_params prm = params(50);
        prm.keyframes_only = 1;
        decoded d;
        ck_assert_int_eq(decode_file(path, &prm, 0, &d), VI_OK);
        /* at a rate above the keyframe rate, every keyframe and nothing else */
        ck_assert_msg(d.n == n_key, "%s: %d frames, %d keyframes", names[i], d.n, n_key);
        for (int j = 0, k = 0; j < p.n; j++)
            if (p.key[j]) {
                ck_assert_msg(llabs(d.ts[k] - p.us[j]) <= 1, "%s: keyframe %d at %lld, got %lld",
                              names[i], k, (long long)p.us[j], (long long)d.ts[k]);
                k++;
            }
        decoded_free(&d);
        check_samples(names[i], &p, 1.0, 1);
        check_samples(names[i], &p, 0.3, 1);
        probed_free(&p);
    }
}
END_TEST

START_TEST(test_threads_do_not_change_output) {
    const char *path = fixture("clip_b.mp4");
    vi__decode_params prm = params(2);
    decoded auto_threads, one;
    ck_assert_int_eq(decode_file(path, &prm, 1, &auto_threads), VI_OK);
    prm.threads = 1;
    ck_assert_int_eq(decode_file(path, &prm, 1, &one), VI_OK);
    ck_assert_int_eq(one.n, auto_threads.n);
    ck_assert(memcmp(one.ts, auto_threads.ts, (size_t)one.n * sizeof *one.ts) == 0);
    ck_assert(memcmp(one.img, auto_threads.img, (size_t)one.n * IMG_BYTES) == 0);
    decoded_free(&one);
    decoded_free(&auto_threads);
}
END_TEST

START_TEST(test_skipping_keeps_sampled_frames_exact) {
    /* At the clip's own rate every frame is sampled, so nothing is skipped; at 1 fps the
     * non-reference frames between samples are not decoded. The frames sampled at 1 fps must
     * be bit-identical to the same frames of the full decode. */
    static const char *const names[] = {"clip_b.mp4", "clip_mpeg2.ts", "clip_vp8.webm"};
    for (int c = 0; c < 3; c++) {
        vi__decode_params prm = params(25);
        decoded all, sparse;
        ck_assert_int_eq(decode_file(fixture(names[c]), &prm, 1, &all), VI_OK);
        prm.fps = 1;
        ck_assert_int_eq(decode_file(fixture(names[c]), &prm, 1, &sparse), VI_OK);
        ck_assert_int_ge(sparse.n, 4);
        ck_assert_int_gt(all.n, 10 * sparse.n);
        for (int i = 0, j = 0; i < sparse.n; i++) {
            while (j < all.n && all.ts[j] < sparse.ts[i]) j++;
            ck_assert_msg(j < all.n && all.ts[j] == sparse.ts[i], "%s: %lld not in full decode",
                          names[c], (long long)sparse.ts[i]);
            ck_assert_msg(memcmp(all.img + (size_t)j * IMG_BYTES,
                                 sparse.img + (size_t)i * IMG_BYTES, IMG_BYTES) == 0,
                          "%s: frame at %lld differs from the full decode", names[c],
                          (long long)sparse.ts[i]);
        }
        decoded_free(&all);
        decoded_free(&sparse);
    }
}
END_TEST

START_TEST(test_duration_from_container) {
    static const char *const names[] = {"clip_a.mp4", "clip_offset.mp4", "clip_vfr.mp4",
                                        "clip_vp8.webm"};
    for (int i = 0; i < 4; i++) {
        const char *path = fixture(names[i]);
        struct vi__decoder *dec;
        vi__decode_params prm = params(1);
        ck_assert_int_eq(vi__decoder_open(path, &prm, &dec), VI_OK);
        const double got = vi__decoder_duration(dec);
        vi__decoder_close(dec);
        double want = probe_stream_value(path, "duration");
        if (isnan(want)) { /* WebM keeps the duration at the container level */
            char cmd[8192];
            snprintf(cmd, sizeof cmd,
                     "ffprobe -v quiet -show_entries format=duration -of csv=p=0 '%s'", path);
            FILE *f = popen(cmd, "r");
            ck_assert(f && fscanf(f, "%lf", &want) == 1);
            pclose(f);
        }
        ck_assert_msg(fabs(got - want) < 1e-3, "%s: duration %f, ffprobe %f", names[i], got, want);
    }
}
END_TEST

/* ---- images ----------------------------------------------------------------------------------- */

/* rot: display = source turned `quarter` quarter turns counter-clockwise; mirror: then
 * mirrored left-right. Returns the source pixel of display pixel (y, x). */
static const uint8_t *oriented(const uint8_t *src, int quarter, int mirror, int y, int x) {
    if (mirror) x = OUT - 1 - x;
    switch (quarter) {
    case 1: return px(src, x, OUT - 1 - y);
    case 2: return px(src, OUT - 1 - y, OUT - 1 - x);
    case 3: return px(src, OUT - 1 - x, y);
    default: return px(src, y, x);
    }
}

START_TEST(test_rotation_metadata_is_applied) {
    static const struct {
        const char *name;
        int quarter, mirror;
    } cases[] = {{"clip_rot90.mp4", 1, 0}, {"clip_rot180.mp4", 2, 0}, {"clip_rot270.mp4", 3, 0},
                 {"clip_hflip.mp4", 0, 1}};
    vi__decode_params prm = params(1);
    prm.max_frames = 3;
    decoded plain;
    ck_assert_int_eq(decode_file(fixture("clip_a.mp4"), &prm, 1, &plain), VI_OK);
    ck_assert_int_eq(plain.n, 3);
    for (int c = 0; c < 4; c++) {
        decoded r;
        ck_assert_int_eq(decode_file(fixture(cases[c].name), &prm, 1, &r), VI_OK);
        ck_assert_int_eq(r.n, plain.n);
        ck_assert(memcmp(r.ts, plain.ts, sizeof *r.ts * 3) == 0);
        /* not the unrotated image ... */
        ck_assert(memcmp(r.img, plain.img, IMG_BYTES) != 0);
        /* ... but exactly the unrotated one turned / mirrored */
        for (int f = 0; f < r.n; f++)
            for (int y = 0; y < OUT; y++)
                for (int x = 0; x < OUT; x++) {
                    const uint8_t *want = oriented(plain.img + (size_t)f * IMG_BYTES,
                                                   cases[c].quarter, cases[c].mirror, y, x);
                    const uint8_t *got = px(r.img + (size_t)f * IMG_BYTES, y, x);
                    ck_assert_msg(memcmp(want, got, 3) == 0, "%s frame %d pixel (%d,%d)",
                                  cases[c].name, f, y, x);
                }
        /* and the same way round as the ffmpeg command shows it (5.1 autorotates quarter
         * turns but ignores mirrors) */
        if (!cases[c].mirror) {
            uint8_t *ref = ffmpeg_first_frame(fixture(cases[c].name));
            const double same = mean_abs_diff(ref, r.img, IMG_BYTES);
            const double unrotated = mean_abs_diff(ref, plain.img, IMG_BYTES);
            ck_assert_msg(same < 6 && same * 4 < unrotated,
                          "%s: differs from ffmpeg's autorotated frame by %.2f (unrotated %.2f)",
                          cases[c].name, same, unrotated);
            free(ref);
        }
        decoded_free(&r);
    }
    decoded_free(&plain);
}
END_TEST

START_TEST(test_images_match_ffmpeg_command) {
    /* one frame of several codecs, sizes and pixel formats, against `ffmpeg -vf scale` */
    static const char *const names[] = {"clip_a.mp4",   "clip_b.mp4",    "clip_vp8.webm",
                                        "clip_mpeg2.ts", "odd_33x17.mkv", "tiny_2x2.mp4",
                                        "one_frame.mp4", "big_4096.mp4"};
    for (int i = 0; i < 8; i++) {
        const char *path = fixture(names[i]);
        vi__decode_params prm = params(1);
        prm.max_frames = 1;
        decoded d;
        ck_assert_int_eq(decode_file(path, &prm, 1, &d), VI_OK);
        ck_assert_int_eq(d.n, 1);
        uint8_t *ref = ffmpeg_first_frame(path);
        const double diff = mean_abs_diff(ref, d.img, IMG_BYTES);
        ck_assert_msg(diff < 4, "%s: mean difference %.2f from ffmpeg's frame", names[i], diff);
        free(ref);
        decoded_free(&d);
    }
}
END_TEST

START_TEST(test_size_change_mid_stream) {
    /* 320x240 then 176x144 testsrc: the second part's images are ffmpeg's too */
    const char *path = fixture("clip_sizechange.ts");
    vi__decode_params prm = params(1);
    decoded d;
    ck_assert_int_eq(decode_file(path, &prm, 1, &d), VI_OK);
    ck_assert_int_ge(d.n, 6);
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -v quiet -copyts -i '%s' -vf select='gte(t\\,%f)',scale=%d:%d:flags=area "
             "-frames:v 1 -f rawvideo -pix_fmt rgb24 -", path, (double)d.ts[d.n - 1] / 1e6 - 1e-4,
             OUT, OUT);
    FILE *f = popen(cmd, "r");
    ck_assert(f != NULL);
    uint8_t *ref = malloc(IMG_BYTES);
    ck_assert_ptr_nonnull(ref);
    ck_assert_int_eq(fread(ref, 1, IMG_BYTES, f), IMG_BYTES);
    ck_assert_int_eq(pclose(f), 0);
    const uint8_t *last = d.img + (size_t)(d.n - 1) * IMG_BYTES;
    const double diff = mean_abs_diff(ref, last, IMG_BYTES);
    const double other = mean_abs_diff(ref, d.img, IMG_BYTES);
    ck_assert_msg(diff < 4 && other > 4 * diff, "last frame differs from ffmpeg's by %.2f "
                  "(first frame: %.2f)", diff, other);
    free(ref);
    decoded_free(&d);
}
END_TEST

START_TEST(test_big_frame_decodes) {
    const char *path = fixture("big_4096.mp4");
    ck_assert_double_eq(probe_stream_value(path, "width"), 4096);
    vi__decode_params prm = params(1);
    decoded d;
    ck_assert_msg(decode_file(path, &prm, 1, &d) == VI_OK, "%s", vi_last_error());
    ck_assert_int_eq(d.n, 2);
    ck_assert(variance(d.img, IMG_BYTES) > 100); /* a picture, not a flat colour */
    decoded_free(&d);
}
END_TEST

START_TEST(test_one_frame_video) {
    static const double rates[] = {0.01, 1, 60};
    for (int i = 0; i < 3; i++) {
        vi__decode_params prm = params(rates[i]);
        decoded d;
        ck_assert_int_eq(decode_file(fixture("one_frame.mp4"), &prm, 1, &d), VI_OK);
        ck_assert_int_eq(d.n, 1);
        ck_assert(variance(d.img, IMG_BYTES) > 100);
        decoded_free(&d);
    }
}
END_TEST

START_TEST(test_tiny_frames) {
    vi__decode_params prm = params(5);
    decoded d;
    ck_assert_int_eq(decode_file(fixture("tiny_1x1.mkv"), &prm, 1, &d), VI_OK);
    ck_assert_int_ge(d.n, 5);
    for (size_t i = 3; i < IMG_BYTES; i++) ck_assert_int_eq(d.img[i], d.img[i % 3]);
    decoded_free(&d);
    ck_assert_int_eq(decode_file(fixture("tiny_2x2.mp4"), &prm, 1, &d), VI_OK);
    ck_assert_int_ge(d.n, 5);
    decoded_free(&d);
}
END_TEST

START_TEST(test_cover_art_is_skipped) {
    /* clip_cover.mp4 = 4 s of clip_b (stream copy) + a larger PNG cover picture */
    vi__decode_params prm = params(1);
    decoded cover, plain;
    ck_assert_int_eq(decode_file(fixture("clip_cover.mp4"), &prm, 1, &cover), VI_OK);
    prm.max_frames = cover.n;
    ck_assert_int_eq(decode_file(fixture("clip_b.mp4"), &prm, 1, &plain), VI_OK);
    ck_assert_int_ge(cover.n, 4);
    ck_assert_int_eq(cover.n, plain.n);
    ck_assert(memcmp(cover.ts, plain.ts, (size_t)cover.n * sizeof *cover.ts) == 0);
    ck_assert(memcmp(cover.img, plain.img, (size_t)cover.n * IMG_BYTES) == 0);
    decoded_free(&cover);
    decoded_free(&plain);
}
END_TEST

/* ---- bad input --------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    vi_status want;
} bad_inputs[] = {
    {"no_such_file.mp4", VI_E_IO}, {"dir.mp4", VI_E_IO},           {"empty.mp4", VI_E_DECODE},
    {"text.mp4", VI_E_DECODE},     {"garbage.mp4", VI_E_DECODE},   {"truncated.mp4", VI_E_DECODE},
    {"audio_only.m4a", VI_E_NO_VIDEO}, {"audio_cover.mp3", VI_E_NO_VIDEO},
};
#define N_BAD ((int)(sizeof bad_inputs / sizeof bad_inputs[0]))

START_TEST(test_bad_input_fails_clearly) {
    const char *path = fixture(bad_inputs[_i].name);
    vi__decode_params prm = params(1);
    decoded d;
    vi__clear_error();
    const vi_status st = decode_file(path, &prm, 0, &d);
    ck_assert_msg(st == bad_inputs[_i].want, "%s: status %d (%s), want %d", bad_inputs[_i].name,
                  st, vi_last_error(), bad_inputs[_i].want);
    ck_assert_msg(strstr(vi_last_error(), path) != NULL, "message \"%s\" does not name %s",
                  vi_last_error(), path);
    decoded_free(&d);
}
END_TEST

START_TEST(test_unreadable_paths_are_io_errors) {
    /* a path through a regular file */
    char path[4096];
    snprintf(path, sizeof path, "%s/sub.mp4", fixture("clip_a.mp4"));
    vi__decode_params prm = params(1);
    struct vi__decoder *dec = (struct vi__decoder *)&prm;
    ck_assert_int_eq(vi__decoder_open(path, &prm, &dec), VI_E_IO);
    ck_assert_ptr_null(dec);
    ck_assert(strstr(vi_last_error(), path) != NULL);
    /* a file without read permission (root reads everything, so only as another user) */
    if (geteuid() != 0) {
        snprintf(path, sizeof path, "%s/unreadable_%d.mp4", getenv("VI_FIXTURES"), (int)getpid());
        FILE *f = fopen(path, "wb");
        ck_assert(f != NULL);
        fputs("x", f);
        fclose(f);
        ck_assert_int_eq(chmod(path, 0), 0);
        const vi_status st = vi__decoder_open(path, &prm, &dec);
        const int named = strstr(vi_last_error(), path) != NULL;
        unlink(path);
        ck_assert_int_eq(st, VI_E_IO);
        ck_assert(named);
    }
}
END_TEST

START_TEST(test_invalid_arguments) {
    vi__decode_params prm = params(1);
    struct vi__decoder *dec = (struct vi__decoder *)&prm;
    ck_assert_int_eq(vi__decoder_open(NULL, &prm, &dec), VI_E_INVALID_ARG);
    ck_assert_ptr_null(dec);
    ck_assert_int_eq(vi__decoder_open(fixture("clip_a.mp4"), NULL, &dec), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi__decoder_open(fixture("clip_a.mp4"), &prm, NULL), VI_E_INVALID_ARG);
    prm.out_size = 0;
    ck_assert_int_eq(vi__decoder_open(fixture("clip_a.mp4"), &prm, &dec), VI_E_INVALID_ARG);
    prm = params(-1);
    ck_assert_int_eq(vi__decoder_open(fixture("clip_a.mp4"), &prm, &dec), VI_E_INVALID_ARG);
    prm = params(NAN);
    ck_assert_int_eq(vi__decoder_open(fixture("clip_a.mp4"), &prm, &dec), VI_E_INVALID_ARG);
    vi__decoder_close(NULL);
    ck_assert_double_eq(vi__decoder_duration(NULL), 0);
}
END_TEST

static int warnings;
static void count_warnings(void *user, int32_t level, const char *msg) {
    (void)user;
    (void)msg;
    if (level == VI_LOG_WARN) warnings++;
}

START_TEST(test_damaged_file_is_survived) {
    const char *path = fixture("damaged.mp4");
    warnings = 0;
    vi_log_set(count_warnings, NULL);
    vi__decode_params prm = params(1);
    decoded d;
    const vi_status st = decode_file(path, &prm, 0, &d);
    vi_log_set(NULL, NULL);
    ck_assert_msg(st == VI_OK, "%s", vi_last_error());
    ck_assert_int_gt(warnings, 0); /* damage is reported through the log callback */
    decoded clean;
    ck_assert_int_eq(decode_file(fixture("clip_a.mp4"), &prm, 0, &clean), VI_OK);
    ck_assert_int_ge(d.n, clean.n - 2);
    ck_assert_int_le(d.n, clean.n);
    for (int i = 1; i < d.n; i++) ck_assert(d.ts[i] > d.ts[i - 1]);
    decoded_free(&clean);
    decoded_free(&d);
}
END_TEST

START_TEST(test_truncated_file_gives_its_first_part) {
    const char *path = fixture("truncated_playable.mp4");
    check_against_ffprobe("truncated_playable.mp4", 1.0, 0);
    vi__decode_params prm = params(1);
    decoded d, clean;
    ck_assert_int_eq(decode_file(path, &prm, 1, &d), VI_OK);
    ck_assert_int_eq(decode_file(fixture("clip_a.mp4"), &prm, 1, &clean), VI_OK);
    ck_assert_int_ge(d.n, 3);
    ck_assert_int_lt(d.n, clean.n);
    /* what is there decodes as in the whole file */
    ck_assert(memcmp(d.img, clean.img, 2 * IMG_BYTES) == 0);
    decoded_free(&clean);
    decoded_free(&d);
}
END_TEST

/* ---- memory ----------------------------------------------------------------------------------- */

static long max_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

START_TEST(test_memory_does_not_grow_with_length) {
    /* clip_long.mp4 is 120 s; decoding 2 s of it, then all of it (every frame sampled) must
     * reach the same peak memory: frames are streamed, never accumulated. */
    const char *path = fixture("clip_long.mp4");
    vi__decode_params prm = params(25);
    uint8_t *rgb = malloc(IMG_BYTES);
    ck_assert_ptr_nonnull(rgb);
    long peak[2];
    int counts[2];
    for (int pass = 0; pass < 2; pass++) {
        prm.max_frames = pass == 0 ? 50 : 0;
        struct vi__decoder *dec;
        ck_assert_int_eq(vi__decoder_open(path, &prm, &dec), VI_OK);
        int got = 1, n = 0;
        int64_t pts;
        while (got) {
            ck_assert_int_eq(vi__decoder_next(dec, rgb, &pts, &got), VI_OK);
            n += got;
        }
        vi__decoder_close(dec);
        counts[pass] = n;
        peak[pass] = max_rss_kb();
    }
    free(rgb);
    ck_assert_int_eq(counts[0], 50);
    ck_assert_int_ge(counts[1], 2900);
#ifdef __SANITIZE_ADDRESS__
    /* AddressSanitizer's quarantine keeps freed memory (up to 256 MB) out of reuse, so peak
     * RSS grows there by design; leaks are LeakSanitizer's job in that build. */
    (void)peak;
#else
    ck_assert_msg(peak[1] - peak[0] < 16 * 1024, "peak memory grew from %ld kB to %ld kB",
                  peak[0], peak[1]);
#endif
}
END_TEST

/* ---- vi__scale_rgb ------------------------------------------------------------------------------ */

START_TEST(test_scale_rgb_odd_sizes) {
    static const int sizes[][2] = {{1, 1}, {2, 2}, {3, 5}, {33, 17}, {1000, 7}, {7, 1000},
                                   {224, 224}, {1920, 1080}};
    uint8_t *out = malloc(IMG_BYTES), *out2 = malloc(IMG_BYTES);
    ck_assert(out && out2);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const int w = sizes[s][0], h = sizes[s][1];
        const int stride = w * 3 + 5; /* padded rows */
        uint8_t *img = malloc((size_t)stride * h);
        uint8_t *packed = malloc((size_t)w * 3 * h);
        ck_assert(img && packed);
        /* left half dark red, right half light blue (a single colour when w == 1) */
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint8_t *p = img + (size_t)y * stride + (size_t)x * 3;
                const int right = w > 1 && x >= (w + 1) / 2;
                p[0] = right ? 40 : 200;
                p[1] = right ? 120 : 10;
                p[2] = right ? 230 : 20;
                memcpy(packed + ((size_t)y * w + x) * 3, p, 3);
            }
        ck_assert_msg(vi__scale_rgb(img, w, h, stride, out, OUT) == VI_OK, "%dx%d: %s", w, h,
                      vi_last_error());
        ck_assert_int_eq(vi__scale_rgb(packed, w, h, 0, out2, OUT), VI_OK);
        ck_assert_msg(memcmp(out, out2, IMG_BYTES) == 0, "%dx%d: stride changes the result", w,
                      h);
        for (int y = 0; y < OUT; y += 7) {
            const uint8_t *l = px(out, y, 2), *r = px(out, y, OUT - 3);
            if (w == 1) {
                ck_assert_msg(abs(l[0] - 200) <= 2 && abs(l[1] - 10) <= 2 && abs(l[2] - 20) <= 2,
                              "1x%d: colour %d,%d,%d", h, l[0], l[1], l[2]);
                ck_assert(memcmp(l, r, 3) == 0);
            } else {
                ck_assert_msg(abs(l[0] - 200) <= 3 && abs(l[2] - 20) <= 3, "%dx%d left: %d,%d,%d",
                              w, h, l[0], l[1], l[2]);
                ck_assert_msg(abs(r[0] - 40) <= 3 && abs(r[2] - 230) <= 3, "%dx%d right: %d,%d,%d",
                              w, h, r[0], r[1], r[2]);
            }
        }
        free(img);
        free(packed);
    }
    /* bad arguments */
    uint8_t one[3] = {1, 2, 3};
    ck_assert_int_eq(vi__scale_rgb(one, 0, 1, 0, out, OUT), VI_E_UNSUPPORTED);
    ck_assert_int_eq(vi__scale_rgb(one, 20000, 1, 0, out, OUT), VI_E_UNSUPPORTED);
    ck_assert_int_eq(vi__scale_rgb(one, 2, 1, 3, out, OUT), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi__scale_rgb(NULL, 1, 1, 0, out, OUT), VI_E_INVALID_ARG);
    ck_assert_int_eq(vi__scale_rgb(one, 1, 1, 0, out, 0), VI_E_INVALID_ARG);
    free(out);
    free(out2);
}
END_TEST

START_TEST(test_scale_rgb_matches_decoded_frame) {
    /* a host frame equal to ffmpeg's RGB decode of one_frame.mp4 scales like the decoder's
     * own path (which converts from YUV, so only approximately) */
    const char *path = fixture("one_frame.mp4");
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -v quiet -i '%s' -frames:v 1 -f rawvideo -pix_fmt rgb24 -", path);
    const int w = (int)probe_stream_value(path, "width");
    const int h = (int)probe_stream_value(path, "height");
    uint8_t *host = malloc((size_t)w * h * 3), *out = malloc(IMG_BYTES);
    ck_assert(host && out);
    FILE *f = popen(cmd, "r");
    ck_assert(f != NULL);
    ck_assert_int_eq(fread(host, 1, (size_t)w * h * 3, f), (size_t)w * h * 3);
    ck_assert_int_eq(pclose(f), 0);
    ck_assert_int_eq(vi__scale_rgb(host, w, h, 0, out, OUT), VI_OK);
    vi__decode_params prm = params(1);
    decoded d;
    ck_assert_int_eq(decode_file(path, &prm, 1, &d), VI_OK);
    const double diff = mean_abs_diff(out, d.img, IMG_BYTES);
    ck_assert_msg(diff < 4, "host-frame path differs from the decoder by %.2f", diff);
    decoded_free(&d);
    free(host);
    free(out);
}
END_TEST

Suite *decode_suite(void) {
    Suite *s = suite_create("decode");
    TCase *tc = tcase_create("timestamps");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_timestamps_match_ffprobe_at_1fps, 0, N_TS_CLIPS);
    tcase_add_test(tc, test_sampling_rates_match_ffprobe);
    tcase_add_test(tc, test_sample_count_follows_duration);
    tcase_add_test(tc, test_vfr_one_sample_per_grid_interval);
    tcase_add_test(tc, test_nonzero_start_is_kept);
    tcase_add_test(tc, test_timestamp_jump_back_continues_timeline);
    tcase_add_test(tc, test_max_frames_is_a_prefix);
    tcase_add_test(tc, test_keyframes_only_gives_keyframes);
    tcase_add_test(tc, test_threads_do_not_change_output);
    tcase_add_test(tc, test_skipping_keeps_sampled_frames_exact);
    tcase_add_test(tc, test_duration_from_container);
    suite_add_tcase(s, tc);

    tc = tcase_create("images");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_rotation_metadata_is_applied);
    tcase_add_test(tc, test_images_match_ffmpeg_command);
    tcase_add_test(tc, test_size_change_mid_stream);
    tcase_add_test(tc, test_big_frame_decodes);
    tcase_add_test(tc, test_one_frame_video);
    tcase_add_test(tc, test_tiny_frames);
    tcase_add_test(tc, test_cover_art_is_skipped);
    tcase_add_test(tc, test_scale_rgb_odd_sizes);
    tcase_add_test(tc, test_scale_rgb_matches_decoded_frame);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad_input");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_bad_input_fails_clearly, 0, N_BAD);
    tcase_add_test(tc, test_unreadable_paths_are_io_errors);
    tcase_add_test(tc, test_invalid_arguments);
    tcase_add_test(tc, test_damaged_file_is_survived);
    tcase_add_test(tc, test_truncated_file_gives_its_first_part);
    suite_add_tcase(s, tc);

    tc = tcase_create("memory");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_memory_does_not_grow_with_length);
    suite_add_tcase(s, tc);
    return s;
}
