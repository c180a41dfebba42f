/* Honest embedding results (issue 18): the duration an embedding records is what was decoded,
 * from the first frame; decoding problems are kept as vi_embedding_warnings bits; what cannot be
 * a video file (a FIFO, a frame far beyond the size bound) is refused up front, before anything
 * blocks or is decoded. Real FFmpeg decoding of the fixtures of test/data/make_fixtures.sh, the
 * built-in model; expected times come from ffprobe on the same files. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "test_paths.h"
#include "vinfringe.h"

#define fx vi_test_fixture

static vi_model *model;

static void load_model(void) {
    ck_assert_msg(vi_model_load(NULL, &model) == VI_OK, "built-in model: %s", vi_last_error());
}

static void free_model(void) {
    vi_model_free(model);
    model = NULL;
}

static vi_embedding *embed(const char *path) {
    vi_embedding *e = NULL;
    const vi_status st = vi_embed_video(model, path, NULL, &e);
    ck_assert_msg(st == VI_OK, "%s: %s", path, vi_last_error());
    return e;
}

/* First and last best-effort frame time (seconds) ffprobe reports for the video stream, and
 * the last frame's duration. */
static void probe_frames(const char *path, double *first, double *last, double *last_dur) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v quiet -select_streams V:0 -show_entries "
             "frame=best_effort_timestamp_time,pkt_duration_time -of csv=p=0 '%s'", path);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    double t, d;
    int n = 0;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        d = 0;
        if (sscanf(line, "%lf,%lf", &t, &d) < 1) continue;
        if (n++ == 0) *first = t;
        *last = t;
        *last_dur = d;
    }
    ck_assert_int_eq(pclose(f), 0);
    ck_assert_int_gt(n, 0);
}

/* A stream value ffprobe prints ("duration" or "start_time"), NAN when N/A. */
static double probe_value(const char *path, const char *what) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v quiet -select_streams V:0 -show_entries format=%s -of csv=p=0 '%s'",
             what, path);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    double v = NAN;
    if (fscanf(f, "%lf", &v) != 1) v = NAN;
    pclose(f);
    return v;
}

START_TEST(test_truncated_video_records_the_decoded_duration_and_a_warning) {
    const char *path = fx("truncated_playable.mp4");
    double first, last, last_dur;
    probe_frames(path, &first, &last, &last_dur);
    const double decoded = last + last_dur - first, declared = probe_value(path, "duration");
    ck_assert_msg(declared - decoded > 2, "fixture: %.2f s declared, %.2f s decodable", declared,
                  decoded);
    vi_embedding *e = embed(path);
    ck_assert_msg(fabs(vi_embedding_duration(e) - decoded) < 0.1,
                  "duration %.3f s; ffprobe decodes %.3f s of the %.3f s declared",
                  vi_embedding_duration(e), decoded, declared);
    ck_assert_msg(vi_embedding_warnings(e) & VI_EMBED_WARN_TRUNCATED, "warnings %d",
                  (int)vi_embedding_warnings(e));
    vi_embedding_free(e);
    /* the whole file it was cut from: its full length and no warning */
    e = embed(fx("clip_a.mp4"));
    ck_assert_msg(fabs(vi_embedding_duration(e) - probe_value(fx("clip_a.mp4"), "duration")) <
                      0.05, "clip_a: %.3f s", vi_embedding_duration(e));
    ck_assert_int_eq(vi_embedding_warnings(e), 0);
    vi_embedding_free(e);
}
END_TEST

START_TEST(test_duration_counts_from_the_first_frame) {
    /* starts at 360000 s and lasts 5 s; the file declares 360005 s */
    static const char *const names[] = {"clip_late_start.mkv", "clip_offset.mp4",
                                        "clip_mpeg2.ts"};
    for (int i = 0; i < 3; i++) {
        const char *path = fx(names[i]);
        double first, last, last_dur;
        probe_frames(path, &first, &last, &last_dur);
        const double span = last + last_dur - first;
        vi_embedding *e = embed(path);
        ck_assert_msg(fabs(vi_embedding_duration(e) - span) < 0.1,
                      "%s: duration %.3f s, frames span %.3f s from %.3f s", names[i],
                      vi_embedding_duration(e), span, first);
        ck_assert_msg(vi_embedding_warnings(e) == 0, "%s: warnings %d", names[i],
                      (int)vi_embedding_warnings(e));
        /* timestamps stay as ffprobe reports them */
        ck_assert(fabs((double)vi_embedding_timestamps(e)[0] / 1e6 - first) < 1e-3);
        vi_embedding_free(e);
    }
}
END_TEST

START_TEST(test_damaged_frames_are_flagged) {
    vi_embedding *e = embed(fx("damaged.mp4"));
    ck_assert_msg(vi_embedding_warnings(e) == VI_EMBED_WARN_DAMAGED_FRAMES, "warnings %d",
                  (int)vi_embedding_warnings(e));
    vi_embedding_free(e);
}
END_TEST

START_TEST(test_warnings_are_kept_in_the_embedding_file) {
    vi_embedding *e = embed(fx("truncated_playable.mp4"));
    const int32_t w = vi_embedding_warnings(e);
    ck_assert_int_ne(w, 0);
    char path[64];
    snprintf(path, sizeof path, "/tmp/vi_warn_%d.vemb", (int)getpid());
    ck_assert_int_eq(vi_embedding_save(e, path), VI_OK);
    vi_embedding *back = NULL;
    ck_assert_int_eq(vi_embedding_load(path, &back), VI_OK);
    unlink(path);
    ck_assert_int_eq(vi_embedding_warnings(back), w);
    ck_assert(vi_embedding_duration(back) == vi_embedding_duration(e));
    vi_embedding_free(back);
    void *buf;
    size_t n;
    ck_assert_int_eq(vi_embedding_to_memory(e, &buf, &n), VI_OK);
    ck_assert_int_eq(vi_embedding_from_memory(buf, n, &back), VI_OK);
    ck_assert_int_eq(vi_embedding_warnings(back), w);
    vi_buffer_free(buf);
    vi_embedding_free(back);
    vi_embedding_free(e);
    ck_assert_int_eq(vi_embedding_warnings(NULL), 0);
}
END_TEST

START_TEST(test_fifo_is_refused_without_blocking) {
    /* Nobody writes to the FIFO: opening it for reading would block forever. */
    char path[64];
    snprintf(path, sizeof path, "/tmp/vi_fifo_%d.mp4", (int)getpid());
    unlink(path);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    vi_embedding *e = NULL;
    const vi_status st = vi_embed_video(model, path, NULL, &e);
    const int clear = strstr(vi_last_error(), "not a regular file") != NULL &&
                      strstr(vi_last_error(), path) != NULL;
    unlink(path);
    ck_assert_int_eq(st, VI_E_IO);
    ck_assert_msg(clear, "message: %s", vi_last_error());
    ck_assert_ptr_null(e);
}
END_TEST

/* A valid RGB PNG of w x h black pixels (16000 x 16000 compresses to a few MB). */
static void write_black_png(const char *path, uint32_t w, uint32_t h) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    fwrite(sig, 1, 8, f);
    uint8_t ihdr[4 + 13];
    memcpy(ihdr, "IHDR", 4);
    const uint32_t dims[2] = {w, h};
    for (int k = 0; k < 2; k++)
        for (int b = 0; b < 4; b++) ihdr[4 + 4 * k + b] = (uint8_t)(dims[k] >> (24 - 8 * b));
    memcpy(ihdr + 12, "\x08\x02\x00\x00\x00", 5); /* 8-bit RGB, deflate, no filter, no interlace */
    const size_t row_len = 1 + (size_t)w * 3;
    uint8_t *row = calloc(1, row_len);
    size_t cap = (size_t)w * h * 3 / 100 + 65536, len = 4;
    uint8_t *idat = malloc(cap);
    ck_assert(row && idat);
    memcpy(idat, "IDAT", 4);
    z_stream z;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(deflateInit(&z, 1), Z_OK);
    for (uint32_t y = 0; y < h; y++) {
        z.next_in = row;
        z.avail_in = (uInt)row_len;
        const int flush = y + 1 == h ? Z_FINISH : Z_NO_FLUSH;
        do {
            z.next_out = idat + len;
            z.avail_out = (uInt)(cap - len);
            deflate(&z, flush);
            len = cap - z.avail_out;
            ck_assert(len < cap);
        } while (z.avail_in > 0);
    }
    deflateEnd(&z);
    const uint8_t *chunks[3] = {ihdr, idat, (const uint8_t *)"IEND"};
    const size_t sizes[3] = {sizeof ihdr, len, 4};
    for (int c = 0; c < 3; c++) {
        const uint32_t n = (uint32_t)(sizes[c] - 4);
        const uint32_t crc = (uint32_t)crc32(0, chunks[c], (uInt)sizes[c]);
        const uint8_t be[8] = {n >> 24, n >> 16, n >> 8, n, crc >> 24, crc >> 16, crc >> 8, crc};
        fwrite(be, 1, 4, f);
        fwrite(chunks[c], 1, sizes[c], f);
        fwrite(be + 4, 1, 4, f);
    }
    ck_assert_int_eq(fclose(f), 0);
    free(row);
    free(idat);
}

static long max_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

START_TEST(test_huge_image_is_refused_before_decoding) {
    /* 16000 x 16000 is within the 16384 side but over the 2^27-pixel bound: decoding it would
     * take 768 MB for the frame alone (1 GB and 12 s in 0.3.0). */
    char path[64];
    snprintf(path, sizeof path, "/tmp/vi_huge_%d.png", (int)getpid());
    write_black_png(path, 16000, 16000);
    const long before = max_rss_kb();
    vi_embedding *e = NULL;
    const vi_status st = vi_embed_video(model, path, NULL, &e);
    const long grown_mb = (max_rss_kb() - before) / 1024;
    unlink(path);
    ck_assert_msg(st == VI_E_UNSUPPORTED, "status %d: %s", st, vi_last_error());
    ck_assert_msg(strstr(vi_last_error(), "16000x16000") != NULL, "%s", vi_last_error());
    ck_assert_msg(grown_mb < 200, "peak memory grew by %ld MB: the frame was decoded", grown_mb);
    ck_assert_ptr_null(e);
}
END_TEST

Suite *embed_results_suite(void) {
    Suite *s = suite_create("embed_results");
    TCase *tc = tcase_create("honest");
    tcase_add_checked_fixture(tc, load_model, free_model);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_truncated_video_records_the_decoded_duration_and_a_warning);
    tcase_add_test(tc, test_duration_counts_from_the_first_frame);
    tcase_add_test(tc, test_damaged_frames_are_flagged);
    tcase_add_test(tc, test_warnings_are_kept_in_the_embedding_file);
    tcase_add_test(tc, test_huge_image_is_refused_before_decoding);
    suite_add_tcase(s, tc);
    /* A blocked open would hang the test: a short timeout turns that into a failure. */
    tc = tcase_create("refused_up_front");
    tcase_add_checked_fixture(tc, load_model, free_model);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_fifo_is_refused_without_blocking);
    suite_add_tcase(s, tc);
    return s;
}
