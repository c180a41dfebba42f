/* cli_text.c - readable output for compare and search (the default, without --json or --csv),
 * with times as hh:mm:ss.mmm. */
#include <math.h>

#include "cli.h"

const char *cli_hms(double seconds, char buf[32]) {
    if (!isfinite(seconds)) {
        snprintf(buf, 32, "--:--:--.---");
        return buf;
    }
    const char *sign = seconds < 0 ? "-" : "";
    long long ms = llround(fabs(seconds) * 1000.0);
    snprintf(buf, 32, "%s%02lld:%02lld:%02lld.%03lld", sign, ms / 3600000, ms / 60000 % 60,
             ms / 1000 % 60, ms % 1000);
    return buf;
}

static void print_segments(FILE *f, const vi_match *m, const char *indent) {
    int32_t n = m ? vi_match_segment_count(m) : 0;
    if (n == 0)
        return;
    fprintf(f, "%s%-27s %-27s %s\n", indent, "query", "reference", "score");
    for (int32_t i = 0; i < n; i++) {
        vi_segment s;
        char a[32], b[32], c[32], d[32];
        if (vi_match_segment(m, i, &s) == VI_OK)
            fprintf(f, "%s%s-%s   %s-%s   %.4f\n", indent, cli_hms(s.query_start, a),
                    cli_hms(s.query_end, b), cli_hms(s.ref_start, c), cli_hms(s.ref_end, d),
                    s.score);
    }
}

static void print_warnings(FILE *f, const char *key, const char *which, int32_t w) {
    for (int32_t bit = 1; bit > 0 && bit <= w; bit <<= 1)
        if ((w & bit) && cli_warning_name(bit))
            fprintf(f, "%s%s%s\n", key, which, cli_warning_text(bit));
}

void cli_text_compare(FILE *f, const char *a, int32_t wa, const char *b, int32_t wb,
                      const vi_match *m, cli_verdict v) {
    fprintf(f, "query      %s\n", a);
    fprintf(f, "reference  %s\n", b);
    fprintf(f, "score      %.4f   (copy score, 0..1)\n", vi_match_score(m));
    if (v.known)
        fprintf(f, "copy       %s    (threshold %.4f%s)\n", v.copy ? "yes" : "no ", v.threshold,
                v.calibrated ? "" : "; uncalibrated model");
    fprintf(f, "similarity %.4f   (cosine of the video vectors)\n", vi_match_video_similarity(m));
    print_warnings(f, "warning    ", "query: ", wa);
    print_warnings(f, "warning    ", "reference: ", wb);
    fprintf(f, "segments   %d\n", (int)vi_match_segment_count(m));
    print_segments(f, m, "  ");
}

void cli_text_search(FILE *f, const cli_args *a, const char *query, int32_t warnings,
                     const vi_hits *hits) {
    int32_t n = 0;
    for (int32_t i = 0; i < vi_hits_count(hits); i++) n += cli_hit_shown(a, hits, i);
    fprintf(f, "query %s\n", query);
    print_warnings(f, "  warning: ", "", warnings);
    if (n == 0) {
        fputs("  (no results)\n", f);
        return;
    }
    fprintf(f, "  %4s  %-7s  %-4s %s\n", "rank", "score", "copy", "id");
    for (int32_t i = 0; i < vi_hits_count(hits); i++) {
        if (!cli_hit_shown(a, hits, i)) continue;
        const cli_verdict v = cli_verdict_of(a, vi_hits_match(hits, i));
        fprintf(f, "  %4d  %.4f   %-4s %s\n", (int)(i + 1), vi_hits_score(hits, i),
                v.copy ? "yes" : "no", vi_hits_id(hits, i));
        print_segments(f, vi_hits_match(hits, i), "          ");
    }
}
