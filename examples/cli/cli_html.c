/* cli_html.c - the HTML page of `vinfringe report`: one self-contained file (inline CSS and
 * SVG, thumbnails as data: URIs, a few lines of script and no network) that any browser opens.
 * The script only counts the thumbnails the browser decoded into #thumbs-loaded and marks
 * <body data-rendered="1">, so that a headless browser can check the page as shown. */
#include <math.h>
#include <string.h>

#include "cli.h"

#define W 960.0 /* SVG user units */
#define LEFT 70.0
#define RIGHT 36.0

/* Segment colours, in turn. */
static const char *const k_colours[] = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e",
                                        "#17becf", "#8c564b", "#e377c2"};
#define N_COLOURS (sizeof k_colours / sizeof k_colours[0])

static void esc(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void base64(FILE *f, const unsigned char *d, size_t n) {
    static const char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        const unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) |
                           (i + 2 < n ? d[i + 2] : 0);
        fputc(k[v >> 18 & 63], f);
        fputc(k[v >> 12 & 63], f);
        fputc(i + 1 < n ? k[v >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? k[v & 63] : '=', f);
    }
}

/* hh:mm:ss for axis labels. */
static const char *hms_short(double s, char buf[32]) {
    const long long t = (long long)llround(s < 0 ? 0 : s);
    snprintf(buf, 32, "%02lld:%02lld:%02lld", t / 3600, t / 60 % 60, t % 60);
    return buf;
}

/* A tick step for an axis of `total` seconds: about 6 labels at round values. */
static double tick_step(double total) {
    static const double k_steps[] = {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
                                     7200, 18000, 36000};
    for (size_t i = 0; i < sizeof k_steps / sizeof k_steps[0]; i++)
        if (total / k_steps[i] <= 6) return k_steps[i];
    return 86400;
}

static void time_axis(FILE *f, double total, double y, double (*x)(double, double)) {
    char b[32];
    const double step = tick_step(total);
    for (double t = 0; t <= total + 1e-9; t += step)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"tick\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" class=\"axis\" text-anchor=\"middle\">%s</text>\n",
                x(t, total), y, x(t, total), y + 5, x(t, total), y + 18, hms_short(t, b));
}

static double x_of(double t, double total) {
    return LEFT + (total > 0 ? t / total : 0) * (W - LEFT - RIGHT);
}

static void timeline(FILE *f, const cli_page *p, const cli_section *s) {
    const int32_t n = s->match ? vi_match_segment_count(s->match) : 0;
    double total = p->query_duration > s->ref_duration ? p->query_duration : s->ref_duration;
    for (int32_t k = 0; k < n; k++) {
        vi_segment g;
        if (vi_match_segment(s->match, k, &g) != VI_OK) continue;
        if (g.query_end > total) total = g.query_end;
        if (g.ref_end > total) total = g.ref_end;
    }
    if (!(total > 0)) total = 1;
    const double rdur = s->ref_duration > 0 ? s->ref_duration : total;
    char a[32], b[32], c[32], d[32];
    fputs("<svg class=\"timeline\" viewBox=\"0 0 960 170\" role=\"img\" "
          "aria-label=\"timeline of both videos\">\n", f);
    fprintf(f, "<text x=\"4\" y=\"36\" class=\"lbl\">query</text>"
            "<rect x=\"%.1f\" y=\"24\" width=\"%.1f\" height=\"18\" class=\"bar\"/>\n",
            LEFT, x_of(p->query_duration, total) - LEFT);
    fprintf(f, "<text x=\"4\" y=\"116\" class=\"lbl\">reference</text>"
            "<rect x=\"%.1f\" y=\"104\" width=\"%.1f\" height=\"18\" class=\"bar%s\"/>\n", LEFT,
            x_of(rdur, total) - LEFT, s->ref_duration > 0 ? "" : " unknown");
    for (int32_t k = 0; k < n; k++) {
        vi_segment g;
        if (vi_match_segment(s->match, k, &g) != VI_OK) continue;
        const char *col = k_colours[k % N_COLOURS];
        const double q0 = x_of(g.query_start, total), q1 = x_of(g.query_end, total);
        const double r0 = x_of(g.ref_start, total), r1 = x_of(g.ref_end, total);
        fprintf(f, "<g class=\"segment\"><title>segment %d: query %s-%s, reference %s-%s, "
                "similarity %.3f</title>\n", (int)k + 1, cli_hms(g.query_start, a),
                cli_hms(g.query_end, b), cli_hms(g.ref_start, c), cli_hms(g.ref_end, d), g.score);
        fprintf(f, "<polygon points=\"%.1f,42 %.1f,42 %.1f,104 %.1f,104\" fill=\"%s\" "
                "fill-opacity=\"0.22\"/>\n", q0, q1 > q0 + 1 ? q1 : q0 + 1, r1 > r0 + 1 ? r1 : r0 + 1,
                r0, col);
        fprintf(f, "<rect x=\"%.1f\" y=\"24\" width=\"%.1f\" height=\"18\" fill=\"%s\"/>"
                "<rect x=\"%.1f\" y=\"104\" width=\"%.1f\" height=\"18\" fill=\"%s\"/></g>\n", q0,
                q1 - q0 > 1 ? q1 - q0 : 1, col, r0, r1 - r0 > 1 ? r1 - r0 : 1, col);
    }
    time_axis(f, total, 130, x_of);
    fputs("</svg>\n", f);
}

static double curve_y(double v, double lo) {
    return 20 + (1.0 - v) / (1.0 - lo) * 180; /* 1 at the top (y 20), lo at y 200 */
}

static void curve(FILE *f, const cli_page *p, const cli_section *s) {
    if (s->n_curve == 0) return;
    double lo = 0;
    for (int i = 0; i < s->n_curve; i++) {
        if (s->curve_best[i] < lo) lo = s->curve_best[i];
        if (!isnan(s->curve_aligned[i]) && s->curve_aligned[i] < lo) lo = s->curve_aligned[i];
    }
    lo = floor(lo * 4) / 4;
    const double total = p->query_duration > s->curve_time[s->n_curve - 1]
                             ? p->query_duration
                             : s->curve_time[s->n_curve - 1];
    fputs("<svg class=\"curve\" viewBox=\"0 0 960 240\" role=\"img\" "
          "aria-label=\"similarity along the alignment\">\n", f);
    const int32_t n = s->match ? vi_match_segment_count(s->match) : 0;
    for (int32_t k = 0; k < n; k++) {
        vi_segment g;
        if (vi_match_segment(s->match, k, &g) != VI_OK) continue;
        fprintf(f, "<rect x=\"%.1f\" y=\"20\" width=\"%.1f\" height=\"180\" fill=\"%s\" "
                "fill-opacity=\"0.10\"/>\n", x_of(g.query_start, total),
                x_of(g.query_end, total) - x_of(g.query_start, total), k_colours[k % N_COLOURS]);
    }
    for (double v = 1.0; v >= lo - 1e-9; v -= 0.25)
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" class=\"axis\" text-anchor=\"end\">%.2f</text>\n",
                LEFT, W - RIGHT, curve_y(v, lo), curve_y(v, lo), LEFT - 6, curve_y(v, lo) + 4, v);
    /* Best match anywhere in the reference (grey), then along the alignment (red). */
    const float *series[2] = {s->curve_best, s->curve_aligned};
    const char *classes[2] = {"best", "aligned"};
    for (int c = 0; c < 2; c++) {
        int open = 0;
        for (int i = 0; i < s->n_curve; i++) {
            const float v = series[c][i];
            if (isnan(v)) {
                if (open) fputs("\"/>\n", f);
                open = 0;
                continue;
            }
            if (!open) fprintf(f, "<polyline class=\"%s\" points=\"", classes[c]);
            fprintf(f, "%s%.1f,%.1f", open ? " " : "", x_of(s->curve_time[i], total),
                    curve_y(v, lo));
            open = 1;
        }
        if (open) fputs("\"/>\n", f);
    }
    for (int i = 0; i < s->n_pairs; i++)
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"200\" y2=\"206\" class=\"mark\"/>\n",
                x_of(s->pairs[i].query.time, total), x_of(s->pairs[i].query.time, total));
    time_axis(f, total, 206, x_of);
    fputs("</svg>\n<p class=\"legend\"><span class=\"key aligned\"></span> similarity of each "
          "query frame to the reference frame the alignment maps it to (copied segments only) "
          "&nbsp; <span class=\"key best\"></span> best similarity to any reference frame; "
          "ticks: the frames shown below</p>\n", f);
}

static void image(FILE *f, const cli_thumb *t, const char *side) {
    char b[32];
    if (t->data) {
        fprintf(f, "<img class=\"thumb\" data-side=\"%s\" alt=\"%s frame at %s\" "
                "src=\"data:image/jpeg;base64,", side, side, cli_hms(t->time, b));
        base64(f, t->data, t->size);
        fputs("\">", f);
    } else {
        fprintf(f, "<div class=\"nothumb\">no picture<br>(%s is not a video here)</div>", side);
    }
}

static void frames(FILE *f, const cli_section *s) {
    char a[32], b[32];
    fputs("<div class=\"pairs\">\n", f);
    for (int i = 0; i < s->n_pairs; i++) {
        const cli_pair *p = &s->pairs[i];
        fputs("<figure class=\"pair\"><div class=\"imgs\">", f);
        image(f, &p->query, "query");
        image(f, &p->ref, "reference");
        fprintf(f, "</div><figcaption>query %s &harr; reference %s<br>similarity %.3f"
                "</figcaption></figure>\n", cli_hms(p->query.time, a), cli_hms(p->ref.time, b),
                p->similarity);
    }
    fputs("</div>\n", f);
}

static void segments_table(FILE *f, const cli_section *s) {
    const int32_t n = s->match ? vi_match_segment_count(s->match) : 0;
    char a[32], b[32], c[32], d[32];
    if (n == 0) {
        fputs("<p>No copied segment was found.</p>\n", f);
        return;
    }
    fputs("<table class=\"segments\"><tr><th></th><th>query</th><th>reference</th>"
          "<th>length</th><th>similarity</th></tr>\n", f);
    for (int32_t k = 0; k < n; k++) {
        vi_segment g;
        if (vi_match_segment(s->match, k, &g) != VI_OK) continue;
        fprintf(f, "<tr><td><span class=\"swatch\" style=\"background:%s\"></span>%d</td>"
                "<td>%s &ndash; %s</td><td>%s &ndash; %s</td><td>%.1f s</td><td>%.3f</td></tr>\n",
                k_colours[k % N_COLOURS], (int)k + 1, cli_hms(g.query_start, a),
                cli_hms(g.query_end, b), cli_hms(g.ref_start, c), cli_hms(g.ref_end, d),
                g.query_end - g.query_start, g.score);
    }
    fputs("</table>\n", f);
}

static void verdict(FILE *f, cli_verdict v) {
    if (!v.known)
        fputs("<span class=\"verdict none\" title=\"the model gives no decision threshold yet: "
              "judge by the score, the segments and the frames\">no verdict</span>", f);
    else
        fprintf(f, "<span class=\"verdict %s\">%s</span> <span class=\"meta\">(threshold "
                "%.4f)</span>", v.copy ? "copy" : "nocopy", v.copy ? "copy" : "not a copy",
                v.threshold);
}

static void section(FILE *f, const cli_page *p, const cli_section *s) {
    char a[32];
    fprintf(f, "<section class=\"ref\" id=\"ref-%d\">\n<h2>#%d &nbsp;", s->rank, s->rank);
    esc(f, s->id);
    fprintf(f, " <span class=\"score\">score %.4f</span> ", s->score);
    verdict(f, s->verdict);
    fputs("</h2>\n<p class=\"meta\">", f);
    if (s->path) {
        fputs("<code>", f);
        esc(f, s->path);
        fputs("</code>", f);
    }
    if (s->ref_duration > 0) fprintf(f, " &middot; %s", cli_hms(s->ref_duration, a));
    if (!isnan(s->video_similarity))
        fprintf(f, " &middot; video similarity %.4f", s->video_similarity);
    fprintf(f, " &middot; %d copied segment%s</p>\n",
            s->match ? (int)vi_match_segment_count(s->match) : 0,
            s->match && vi_match_segment_count(s->match) == 1 ? "" : "s");
    if (s->note) {
        fputs("<p class=\"note\">", f);
        esc(f, s->note);
        fputs("</p>\n", f);
    }
    fputs("<h3>Timeline</h3>\n", f);
    timeline(f, p, s);
    segments_table(f, s);
    if (s->n_curve > 0) {
        fputs("<h3>Similarity along the alignment</h3>\n", f);
        curve(f, p, s);
    }
    if (s->n_pairs > 0) {
        const int aligned = s->match && vi_match_segment_count(s->match) > 0;
        fprintf(f, "<h3>%s</h3>\n", aligned ? "Matched frames (query left, reference right)"
                                            : "Closest frames (no copied segment: query left, "
                                              "its most similar reference frame right)");
        frames(f, s);
    }
    fputs("</section>\n", f);
}

static const char k_style[] =
    "body{font:14px/1.45 system-ui,-apple-system,'DejaVu Sans',sans-serif;margin:24px auto;"
    "max-width:1000px;padding:0 16px;color:#1d2330;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:0 0 4px}"
    "h3{font-size:14px;margin:18px 0 6px;color:#445}"
    "code{font:12px/1.3 'DejaVu Sans Mono',monospace;background:#f2f4f8;padding:1px 4px}"
    ".meta{color:#667;margin:2px 0}.note{background:#fff6d6;padding:6px 10px;border-radius:4px}"
    "section.ref{border:1px solid #dde2ea;border-radius:8px;padding:16px;margin:18px 0}"
    ".score{font-weight:600;margin-left:12px}"
    ".verdict{font-size:12px;padding:2px 8px;border-radius:10px;margin-left:8px;color:#fff}"
    ".verdict.none{background:#8a93a3}.verdict.copy{background:#c0392b}"
    ".verdict.nocopy{background:#27ae60}"
    "svg{width:100%;height:auto;display:block}.bar{fill:#e4e8ef}.bar.unknown{fill:#f3f4f7}"
    ".lbl{font-size:12px;fill:#445}.axis{font-size:11px;fill:#667}.tick{stroke:#99a}"
    ".grid{stroke:#e6e9ef}.mark{stroke:#1d2330;stroke-width:2}"
    "polyline{fill:none;stroke-width:2}polyline.aligned{stroke:#d62728}"
    "polyline.best{stroke:#8a93a3;stroke-dasharray:4 3;stroke-width:1.5}"
    ".legend{font-size:12px;color:#667}.key{display:inline-block;width:18px;height:3px;"
    "vertical-align:middle}.key.aligned{background:#d62728}.key.best{background:#8a93a3}"
    "table.segments{border-collapse:collapse;margin:8px 0;font-size:13px}"
    "table.segments td,table.segments th{padding:3px 10px;border-bottom:1px solid #eef0f4;"
    "text-align:left}.swatch{display:inline-block;width:10px;height:10px;margin-right:6px}"
    ".pairs{display:flex;flex-wrap:wrap;gap:12px}"
    "figure.pair{margin:0;border:1px solid #e4e8ef;border-radius:6px;padding:6px;"
    "background:#fafbfc}.imgs{display:flex;gap:4px;align-items:center}"
    "img.thumb{max-width:220px;max-height:165px;display:block}"
    ".nothumb{width:140px;height:100px;display:flex;align-items:center;justify-content:center;"
    "text-align:center;font-size:11px;color:#889;background:#eef0f4}"
    "figcaption{font-size:12px;color:#445;margin-top:4px}"
    "ol.summary li{margin:2px 0}footer{color:#889;font-size:12px;margin-top:24px}";

void cli_html_write(FILE *f, const cli_page *p) {
    char a[32];
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>vinfringe report: ", f);
    esc(f, p->query);
    fprintf(f, "</title>\n<style>%s</style></head>\n<body data-rendered=\"0\">\n", k_style);
    fputs("<header><h1>Copy report</h1>\n<p class=\"meta\">query <code>", f);
    esc(f, p->query);
    fprintf(f, "</code> &middot; %s", cli_hms(p->query_duration, a));
    for (int32_t bit = 1; bit > 0 && bit <= p->query_warnings; bit <<= 1)
        if ((p->query_warnings & bit) && cli_warning_text(bit)) {
            fputs(" &middot; <b>warning:</b> ", f);
            esc(f, cli_warning_text(bit));
        }
    fputs("</p>\n<p class=\"meta\">", f);
    if (p->index) {
        fputs("top hits of a search of <code>", f);
        esc(f, p->index);
        fputs("</code> &middot; ", f);
    }
    fputs("model <code>", f);
    esc(f, p->model_id);
    fprintf(f, "</code> &middot; vinfringe %s &middot; <span id=\"thumbs-loaded\">0</span> of "
            "<span id=\"thumbs-expected\">%d</span> thumbnails shown</p></header>\n",
            vi_version_string(), p->thumbnails);
    if (p->n == 0) fputs("<p>No reference to show.</p>\n", f);
    else fputs("<ol class=\"summary\">\n", f);
    for (int i = 0; i < p->n; i++) {
        fprintf(f, "<li><a href=\"#ref-%d\">", p->sections[i].rank);
        esc(f, p->sections[i].id);
        fprintf(f, "</a> &nbsp; score %.4f</li>\n", p->sections[i].score);
    }
    if (p->n > 0) fputs("</ol>\n", f);
    for (int i = 0; i < p->n; i++) section(f, p, &p->sections[i]);
    fputs("<footer>Made by <code>vinfringe report</code>. Scores are in [0, 1]: how likely the "
          "query copies the reference (docs/thresholds.md). Frames are decoded by FFmpeg at the "
          "aligned times.</footer>\n"
          "<script>\nwindow.addEventListener('load', function () {\n"
          "  var n = 0;\n"
          "  document.querySelectorAll('img.thumb').forEach(function (img) {\n"
          "    if (img.complete && img.naturalWidth > 0) n++;\n"
          "  });\n"
          "  document.getElementById('thumbs-loaded').textContent = String(n);\n"
          "  document.body.setAttribute('data-rendered', '1');\n"
          "});\n</script>\n</body></html>\n", f);
}
