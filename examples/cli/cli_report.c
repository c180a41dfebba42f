/* cli_report.c - readable tables for compare and search (the default, without --json). */
#include "cli.h"

static void print_segments(FILE *f, const vi_match *m, const char *indent) {
    int32_t n = m ? vi_match_segment_count(m) : 0;
    if (n == 0)
        return;
    fprintf(f, "%s%-23s %-23s %s\n", indent, "query (s)", "reference (s)", "score");
    for (int32_t i = 0; i < n; i++) {
        vi_segment s;
        if (vi_match_segment(m, i, &s) == VI_OK)
            fprintf(f, "%s%9.2f - %-9.2f   %9.2f - %-9.2f   %.4f\n", indent, s.query_start,
                    s.query_end, s.ref_start, s.ref_end, s.score);
    }
}

void cli_report_compare(FILE *f, const char *a, const char *b, const vi_match *m) {
    fprintf(f, "query      %s\n", a);
    fprintf(f, "reference  %s\n", b);
    fprintf(f, "score      %.4f   (copy score, 0..1)\n", vi_match_score(m));
    fprintf(f, "similarity %.4f   (cosine of the video vectors)\n", vi_match_video_similarity(m));
    fprintf(f, "segments   %d\n", (int)vi_match_segment_count(m));
    print_segments(f, m, "  ");
}

void cli_report_search(FILE *f, const char *query, const vi_hits *hits) {
    int32_t n = vi_hits_count(hits);
    fprintf(f, "query %s\n", query);
    if (n == 0) {
        fputs("  (no results)\n", f);
        return;
    }
    fprintf(f, "  %4s  %-7s  %s\n", "rank", "score", "id");
    for (int32_t i = 0; i < n; i++) {
        fprintf(f, "  %4d  %.4f   %s\n", (int)(i + 1), vi_hits_score(hits, i), vi_hits_id(hits, i));
        print_segments(f, vi_hits_match(hits, i), "          ");
    }
}
