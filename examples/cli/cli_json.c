/* cli_json.c - JSON output: one object per line, strings escaped per RFC 8259. File names that
 * are not valid UTF-8 get U+FFFD in place of each bad byte, so the output is always valid. */
#include <math.h>

#include "cli.h"

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static int utf8_len(const unsigned char *s) {
    int n;
    unsigned min;
    unsigned cp;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0)
        n = 2, min = 0x80, cp = s[0] & 0x1F;
    else if ((s[0] & 0xF0) == 0xE0)
        n = 3, min = 0x800, cp = s[0] & 0x0F;
    else if ((s[0] & 0xF8) == 0xF0)
        n = 4, min = 0x10000, cp = s[0] & 0x07;
    else
        return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void cli_json_string(FILE *f, const char *str) {
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    fputc('"', f);
    while (*s) {
        int n = utf8_len(s);
        if (n == 0) {
            fputs("\\ufffd", f);
            s++;
            continue;
        }
        if (n > 1) {
            fwrite(s, 1, (size_t)n, f);
        } else if (*s == '"' || *s == '\\') {
            fputc('\\', f), fputc(*s, f);
        } else if (*s == '\n') {
            fputs("\\n", f);
        } else if (*s == '\t') {
            fputs("\\t", f);
        } else if (*s == '\r') {
            fputs("\\r", f);
        } else if (*s < 0x20 || *s == 0x7F) {
            fprintf(f, "\\u%04x", *s);
        } else {
            fputc(*s, f);
        }
        s += n;
    }
    fputc('"', f);
}

void cli_json_number(FILE *f, double v) {
    if (isfinite(v))
        fprintf(f, "%.9g", v); /* a float's full precision: scores near 1 still order */
    else
        fputs("null", f);
}

void cli_json_segments(FILE *f, const vi_match *m) {
    int32_t n = m ? vi_match_segment_count(m) : 0;
    fputc('[', f);
    for (int32_t i = 0; i < n; i++) {
        vi_segment seg;
        if (vi_match_segment(m, i, &seg) != VI_OK)
            continue;
        fputs(i ? ",{\"query_start\":" : "{\"query_start\":", f);
        cli_json_number(f, seg.query_start);
        fputs(",\"query_end\":", f);
        cli_json_number(f, seg.query_end);
        fputs(",\"ref_start\":", f);
        cli_json_number(f, seg.ref_start);
        fputs(",\"ref_end\":", f);
        cli_json_number(f, seg.ref_end);
        fputs(",\"score\":", f);
        cli_json_number(f, seg.score);
        fputc('}', f);
    }
    fputc(']', f);
}

void cli_json_warnings(FILE *f, int32_t w) {
    int first = 1;
    fputc('[', f);
    for (int32_t bit = 1; bit > 0 && bit <= w; bit <<= 1) {
        if (!(w & bit) || !cli_warning_name(bit)) continue;
        if (!first) fputc(',', f);
        cli_json_string(f, cli_warning_name(bit));
        first = 0;
    }
    fputc(']', f);
}

void cli_json_verdict(FILE *f, cli_verdict v) {
    fputs(",\"copy\":", f);
    fputs(!v.known ? "null" : v.copy ? "true" : "false", f);
    if (v.known) {
        fputs(",\"threshold\":", f);
        cli_json_number(f, v.threshold);
        fputs(v.calibrated ? ",\"calibrated\":true" : ",\"calibrated\":false", f);
    }
}

void cli_json_compare(FILE *f, const char *a, int32_t wa, const char *b, int32_t wb,
                      const vi_match *m, cli_verdict v) {
    fputs("{\"a\":", f);
    cli_json_string(f, a);
    fputs(",\"b\":", f);
    cli_json_string(f, b);
    fputs(",\"score\":", f);
    cli_json_number(f, vi_match_score(m));
    fputs(",\"segments\":", f);
    cli_json_segments(f, m);
    fputs(",\"video_similarity\":", f);
    cli_json_number(f, vi_match_video_similarity(m));
    cli_json_verdict(f, v);
    fputs(",\"a_warnings\":", f);
    cli_json_warnings(f, wa);
    fputs(",\"b_warnings\":", f);
    cli_json_warnings(f, wb);
    fputs("}\n", f);
}

void cli_json_search(FILE *f, const cli_args *a, const char *query, int32_t warnings,
                     const vi_hits *hits) {
    int32_t n = vi_hits_count(hits);
    fputs("{\"query\":", f);
    cli_json_string(f, query);
    fputs(",\"warnings\":", f);
    cli_json_warnings(f, warnings);
    fputs(",\"results\":[", f);
    for (int32_t i = 0, shown = 0; i < n; i++) {
        if (!cli_hit_shown(a, hits, i)) continue;
        fputs(shown++ ? ",{\"id\":" : "{\"id\":", f);
        cli_json_string(f, vi_hits_id(hits, i));
        fputs(",\"score\":", f);
        cli_json_number(f, vi_hits_score(hits, i));
        fputs(",\"segments\":", f);
        cli_json_segments(f, vi_hits_match(hits, i));
        cli_json_verdict(f, cli_verdict_of(a, vi_hits_match(hits, i)));
        fputc('}', f);
    }
    fputs("]}\n", f);
}

void cli_json_failed(FILE *f, const char *key, const char *input, const char *message) {
    fputc('{', f);
    cli_json_string(f, key);
    fputc(':', f);
    cli_json_string(f, input);
    fputs(",\"error\":", f);
    cli_json_string(f, message);
    fputs("}\n", f);
}
