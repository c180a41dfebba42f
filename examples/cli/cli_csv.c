/* cli_csv.c - CSV output of compare and search (--csv): RFC 4180 (fields quoted when they hold
 * a comma, a quote or a line break; quotes doubled), a header line first, then one line per
 * result. Times in seconds. `segments` packs every copied span of a result into one field:
 * "QS-QE=RS-RE" spans separated by spaces, e.g. "0.000-29.000=12.000-41.000". `copy` stays
 * empty until the model gives a verdict threshold. New columns are only ever appended. */
#include <math.h>
#include <string.h>

#include "cli.h"

static void csv_field(FILE *f, const char *s) {
    if (!s) s = "";
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_number(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.9g", v);
}

static void csv_segments(FILE *f, const vi_match *m) {
    int32_t n = m ? vi_match_segment_count(m) : 0;
    for (int32_t i = 0; i < n; i++) {
        vi_segment s;
        if (vi_match_segment(m, i, &s) == VI_OK)
            fprintf(f, "%s%.3f-%.3f=%.3f-%.3f", i ? " " : "", s.query_start, s.query_end,
                    s.ref_start, s.ref_end);
    }
}

static void csv_verdict(FILE *f, cli_verdict v) {
    if (v.known) fputs(v.copy ? "true" : "false", f);
}

void cli_csv_compare(FILE *f, const char *a, const char *b, const vi_match *m, cli_verdict v) {
    fputs("a,b,score,video_similarity,segment_count,segments,copy\n", f);
    csv_field(f, a);
    fputc(',', f);
    csv_field(f, b);
    fputc(',', f);
    csv_number(f, vi_match_score(m));
    fputc(',', f);
    csv_number(f, vi_match_video_similarity(m));
    fprintf(f, ",%d,", (int)vi_match_segment_count(m));
    csv_segments(f, m);
    fputc(',', f);
    csv_verdict(f, v);
    fputc('\n', f);
}

void cli_csv_search_header(FILE *f) {
    fputs("query,rank,id,score,segment_count,segments,copy\n", f);
}

void cli_csv_search(FILE *f, const cli_args *a, const char *query, const vi_hits *hits) {
    for (int32_t i = 0; i < vi_hits_count(hits); i++) {
        if (!cli_hit_shown(a, hits, i)) continue;
        const vi_match *m = vi_hits_match(hits, i);
        csv_field(f, query);
        fprintf(f, ",%d,", (int)(i + 1));
        csv_field(f, vi_hits_id(hits, i));
        fputc(',', f);
        csv_number(f, vi_hits_score(hits, i));
        fprintf(f, ",%d,", m ? (int)vi_match_segment_count(m) : 0);
        csv_segments(f, m);
        fputc(',', f);
        csv_verdict(f, cli_verdict_of(a, m));
        fputc('\n', f);
    }
}
