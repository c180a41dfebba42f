/* cli_report.c - `vinfringe report`: a self-contained HTML page a reviewer can decide on: for
 * the best references of a query, the score (and verdict), a timeline of both videos with the
 * copied segments, the similarity along the alignment, and the matched frames side by side.
 *
 * The references are the REFERENCE arguments, each compared with the query (the best --top K
 * are shown), or with --index the top hits of a search, whose videos the REFERENCE arguments
 * locate by id (the id rule of index build). Everything on the page is computed here from the
 * public API: the segments from vi_compare, the curve from the frame vectors and timestamps of
 * the two embeddings, the thumbnails by vi_video_thumbnail at the aligned frames' times. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define THUMB_SIDE 240       /* longest side of a thumbnail, pixels */
#define DEFAULT_TOP 3
#define DEFAULT_FRAMES 6

/* A reference shown on the page. */
typedef struct ref {
    char *id, *path;          /* path NULL: its video is not known */
    vi_embedding *emb;        /* NULL without its video */
    vi_match *match;          /* the comparison with the query (owned), or NULL */
    const vi_match *hit;      /* --index without the video: the search's match (borrowed) */
    float score;
    char note[1200];
} ref;

typedef struct report {
    const cli_args *args;
    vi_embedding *query;
    int k, n;
    ref *refs;                /* best first */
} report;

static void ref_free(ref *r) {
    free(r->id);
    free(r->path);
    vi_embedding_free(r->emb);
    vi_match_free(r->match);
    memset(r, 0, sizeof *r);
}

/* Keep `r` if it is among the k best so far (ties: the earlier stays ahead); frees it if not. */
static int keep_best(report *rp, ref *r) {
    if (rp->n == rp->k && !(r->score > rp->refs[rp->n - 1].score)) {
        ref_free(r);
        return 0;
    }
    if (rp->n == rp->k) ref_free(&rp->refs[--rp->n]);
    int at = rp->n;
    while (at > 0 && r->score > rp->refs[at - 1].score) at--;
    memmove(&rp->refs[at + 1], &rp->refs[at], (size_t)(rp->n - at) * sizeof *rp->refs);
    rp->refs[at] = *r;
    rp->n++;
    return 0;
}

/* Batch callback (references given as arguments): compare with the query, keep the best. */
static int compare_one(void *user, cli_session *s, const cli_input *in, vi_embedding **emb) {
    report *rp = user;
    ref r = {0};
    vi_status st = vi_compare(rp->query, *emb, NULL, &r.match);
    if (st != VI_OK) return cli_fail(s, "%s: %s", in->path, vi_last_error());
    r.id = strdup(in->id);
    r.path = strdup(in->path);
    if (!r.id || !r.path) {
        ref_free(&r);
        s->fatal = 1;
        return cli_fail(s, "out of memory");
    }
    r.emb = *emb;
    *emb = NULL;
    r.score = vi_match_score(r.match);
    return keep_best(rp, &r);
}

/* --index: the top hits of a search; each hit's video is found among `in` by id. */
static int search_refs(cli_session *s, report *rp, const cli_inputs *in, vi_hits **hits) {
    const cli_args *a = rp->args;
    vi_index *index = NULL;
    vi_index_options o;
    vi_status st = VI_INDEX_OPTIONS_INIT(o);
    o.read_only = 1;
    o.candidates = a->candidates;
    if (st == VI_OK) st = vi_index_open(a->index, &o, &index);
    if (st == VI_OK) st = vi_index_search(index, rp->query, rp->k, hits);
    vi_index_free(index);
    if (st != VI_OK) return cli_lib_error(st);
    int rc = 0;
    const int32_t n = vi_hits_count(*hits);
    cli_progress_batch(s->progress, n, 0);
    for (int32_t i = 0; rc == 0 && i < n; i++) {
        ref *r = &rp->refs[rp->n++];
        const cli_input *x = NULL;
        for (int j = 0; j < in->n && !x; j++)
            if (strcmp(in->v[j].id, vi_hits_id(*hits, i)) == 0) x = &in->v[j];
        r->id = strdup(vi_hits_id(*hits, i));
        r->score = vi_hits_score(*hits, i);
        r->hit = vi_hits_match(*hits, i);
        if (!r->id) return cli_error("out of memory");
        if (!x) {
            snprintf(r->note, sizeof r->note, "its video was not given: pass the files or the "
                     "directory the index was built from (or --id-from) to see its frames");
            continue;
        }
        if (!(r->path = strdup(x->path))) return cli_error("out of memory");
        char label[1100];
        snprintf(label, sizeof label, "%s (%d/%d)", x->id, (int)i + 1, (int)n);
        cli_progress_start(s->progress, label, x->path, i, x->bytes);
        int lrc = cli_load_input(s, x->path, &r->emb);
        cli_progress_end(s->progress, lrc == 0);
        if (lrc == 0 && vi_compare(rp->query, r->emb, NULL, &r->match) != VI_OK)
            lrc = cli_fail(s, "%s: %s", x->path, vi_last_error());
        if (lrc != 0 && (!a->keep_going || s->fatal)) {
            rc = cli_error("%s", s->message);
        } else if (lrc != 0) {
            cli_log(CLI_LOG_WARNING, "skipped %s: %s", x->path, s->message);
            snprintf(r->note, sizeof r->note, "its video could not be read: %s", s->message);
            vi_embedding_free(r->emb);
            r->emb = NULL;
        } else {
            r->score = vi_match_score(r->match); /* float32 here, float16 in the index */
        }
    }
    cli_progress_finish(s->progress);
    return rc;
}

/* ---- what the page shows ----------------------------------------------------------------- */

static float dot(const float *a, const float *b, int32_t dim) {
    float s = 0;
    for (int32_t i = 0; i < dim; i++) s += a[i] * b[i];
    return s;
}

/* The reference frame nearest time `t_us`. */
static int32_t nearest_frame(const int64_t *ts, int32_t n, double t_us) {
    int32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int32_t mid = (lo + hi) / 2;
        if ((double)ts[mid] < t_us) lo = mid + 1;
        else hi = mid;
    }
    if (lo > 0 && fabs((double)ts[lo - 1] - t_us) <= fabs((double)ts[lo] - t_us)) lo--;
    return lo;
}

/* For each query frame: the reference frame the alignment maps it to (inside a copied segment,
 * by linear interpolation along it; -1 outside), and the best-matching reference frame. */
static int curve(const report *rp, const ref *r, cli_section *sec, int32_t *aligned,
                 int32_t *best) {
    const vi_embedding *q = rp->query, *e = r->emb;
    const int32_t nq = vi_embedding_frame_count(q), nr = vi_embedding_frame_count(e);
    const int32_t dim = vi_embedding_dim(q);
    const int64_t *tq = vi_embedding_timestamps(q), *tr = vi_embedding_timestamps(e);
    const float *vq = vi_embedding_frame_vectors(q), *vr = vi_embedding_frame_vectors(e);
    sec->curve_time = malloc((size_t)nq * sizeof *sec->curve_time);
    sec->curve_aligned = malloc((size_t)nq * sizeof *sec->curve_aligned);
    sec->curve_best = malloc((size_t)nq * sizeof *sec->curve_best);
    if (!sec->curve_time || !sec->curve_aligned || !sec->curve_best) return -1;
    sec->n_curve = nq;
    const int32_t nseg = vi_match_segment_count(r->match);
    for (int32_t i = 0; i < nq; i++) {
        const double t = tq[i] * 1e-6;
        const float *qi = vq + (size_t)i * (size_t)dim;
        sec->curve_time[i] = t;
        best[i] = 0;
        float b = -2;
        for (int32_t j = 0; j < nr; j++) {
            const float d = dot(qi, vr + (size_t)j * (size_t)dim, dim);
            if (d > b) b = d, best[i] = j;
        }
        sec->curve_best[i] = b;
        aligned[i] = -1;
        sec->curve_aligned[i] = NAN;
        for (int32_t k = 0; k < nseg && aligned[i] < 0; k++) {
            vi_segment g;
            if (vi_match_segment(r->match, k, &g) != VI_OK || t < g.query_start - 1e-6 ||
                t > g.query_end + 1e-6)
                continue;
            const double span = g.query_end - g.query_start;
            const double u = span > 0 ? (t - g.query_start) / span : 0;
            const double t_ref = g.ref_start + u * (g.ref_end - g.ref_start);
            aligned[i] = nearest_frame(tr, nr, t_ref * 1e6);
            sec->curve_aligned[i] = dot(qi, vr + (size_t)aligned[i] * (size_t)dim, dim);
        }
    }
    return 0;
}

static void thumb(cli_thumb *t, const char *path, int64_t time_us, int *count) {
    t->time = time_us * 1e-6;
    if (cli_sniff(path) == CLI_KIND_EMBEDDING) return; /* an embedding file has no pictures */
    vi_thumbnail_options o;
    VI_THUMBNAIL_OPTIONS_INIT(o);
    o.max_side = THUMB_SIDE;
    void *data = NULL;
    size_t size = 0;
    int64_t at = time_us;
    vi_status st = vi_video_thumbnail(path, time_us, &o, &data, &size, &at);
    if (st != VI_OK) {
        cli_log(CLI_LOG_WARNING, "no thumbnail of %s at %.3f s: %s", path, time_us * 1e-6,
                vi_last_error());
        return;
    }
    t->data = data;
    t->size = size;
    t->time = at * 1e-6;
    (*count)++;
}

/* The frame pairs shown: up to `want` query frames spread evenly over the copied segments,
 * each with its aligned reference frame; without segments, the query frames that match some
 * reference frame best, each with that frame. In time order. */
static int pairs(const report *rp, const ref *r, cli_section *sec, const int32_t *aligned,
                 const int32_t *best, int want, int *thumbs) {
    const int32_t nq = vi_embedding_frame_count(rp->query);
    const int32_t dim = vi_embedding_dim(rp->query);
    const int64_t *tq = vi_embedding_timestamps(rp->query), *tr = vi_embedding_timestamps(r->emb);
    const float *vq = vi_embedding_frame_vectors(rp->query);
    const float *vr = vi_embedding_frame_vectors(r->emb);
    int32_t *pick = malloc((size_t)nq * sizeof *pick), *partner = malloc((size_t)nq * sizeof *pick);
    int32_t n_in = 0, n = 0;
    if (!pick || !partner) {
        free(pick);
        free(partner);
        return -1;
    }
    for (int32_t i = 0; i < nq; i++)
        if (aligned[i] >= 0) pick[n_in++] = i;
    if (n_in > 0) {
        n = n_in < want ? n_in : want;
        for (int32_t k = 0; k < n; k++) { /* evenly spaced, first and last included */
            const int32_t at = n > 1 ? (int32_t)lround((double)k * (n_in - 1) / (n - 1)) : n_in / 2;
            partner[k] = aligned[pick[at]];
            pick[k] = pick[at];
        }
    } else {
        for (int32_t i = 0; i < nq; i++) pick[i] = i;
        n = nq < want ? nq : want;
        for (int32_t k = 0; k < n; k++) { /* selection of the n best by curve_best */
            int32_t m = k;
            for (int32_t i = k + 1; i < nq; i++)
                if (sec->curve_best[pick[i]] > sec->curve_best[pick[m]]) m = i;
            const int32_t t = pick[k];
            pick[k] = pick[m];
            pick[m] = t;
        }
        for (int32_t k = 1; k < n; k++) /* back to time order */
            for (int32_t j = k; j > 0 && pick[j] < pick[j - 1]; j--) {
                const int32_t t = pick[j];
                pick[j] = pick[j - 1];
                pick[j - 1] = t;
            }
        for (int32_t k = 0; k < n; k++) partner[k] = best[pick[k]];
    }
    sec->pairs = calloc(n > 0 ? (size_t)n : 1, sizeof *sec->pairs);
    if (!sec->pairs) n = 0;
    for (int32_t k = 0; k < n; k++) {
        cli_pair *p = &sec->pairs[k];
        p->similarity = dot(vq + (size_t)pick[k] * (size_t)dim,
                            vr + (size_t)partner[k] * (size_t)dim, dim);
        thumb(&p->query, rp->args->pos[0], tq[pick[k]], thumbs);
        thumb(&p->ref, r->path, tr[partner[k]], thumbs);
        sec->n_pairs++;
    }
    free(pick);
    free(partner);
    return sec->pairs ? 0 : -1;
}

static int fill_section(const report *rp, const ref *r, int rank, cli_section *sec,
                        int *thumbs) {
    memset(sec, 0, sizeof *sec);
    sec->rank = rank;
    sec->id = r->id;
    sec->path = r->path;
    sec->score = r->score;
    sec->match = r->match ? r->match : r->hit;
    sec->video_similarity = sec->match ? vi_match_video_similarity(sec->match) : NAN;
    sec->verdict = cli_verdict_of(rp->args, sec->match);
    sec->note = r->note[0] ? r->note : NULL;
    if (!r->emb) return 0;
    sec->ref_duration = vi_embedding_duration(r->emb);
    const int32_t nq = vi_embedding_frame_count(rp->query);
    int32_t *aligned = malloc((size_t)nq * sizeof *aligned), *best = malloc((size_t)nq * sizeof *best);
    int rc = aligned && best ? curve(rp, r, sec, aligned, best) : -1;
    if (rc == 0) {
        if (!rp->args->quiet)
            cli_log(CLI_LOG_INFO, "report: decoding the matched frames of %s", r->id);
        rc = pairs(rp, r, sec, aligned, best, rp->args->frames ? rp->args->frames
                                                                : DEFAULT_FRAMES, thumbs);
    }
    free(aligned);
    free(best);
    return rc;
}

static void free_section(cli_section *sec) {
    free(sec->curve_time);
    free(sec->curve_aligned);
    free(sec->curve_best);
    for (int i = 0; i < sec->n_pairs; i++) {
        vi_buffer_free(sec->pairs[i].query.data);
        vi_buffer_free(sec->pairs[i].ref.data);
    }
    free(sec->pairs);
}

/* Write the page to a temporary name and rename it over `out`. */
static int write_page(const char *out, const cli_page *page) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.partial-%ld", out, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return cli_error("cannot write %s: %s", out, strerror(errno));
    cli_html_write(f, page);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, out) != 0) {
        int e = errno;
        unlink(tmp);
        return cli_error("cannot write %s: %s", out, strerror(e));
    }
    return 0;
}

static void print_summary(const cli_args *a, const cli_page *page) {
    if (a->format == CLI_FMT_JSON) {
        fputs("{\"output\":", stdout);
        cli_json_string(stdout, a->output);
        fputs(",\"query\":", stdout);
        cli_json_string(stdout, page->query);
        fputs(",\"references\":[", stdout);
        for (int i = 0; i < page->n; i++) {
            const cli_section *sec = &page->sections[i];
            printf("%s{\"rank\":%d,\"id\":", i ? "," : "", sec->rank);
            cli_json_string(stdout, sec->id);
            fputs(",\"path\":", stdout);
            if (sec->path) cli_json_string(stdout, sec->path);
            else fputs("null", stdout);
            fputs(",\"score\":", stdout);
            cli_json_number(stdout, sec->score);
            printf(",\"segments\":%d,\"frame_pairs\":%d",
                   sec->match ? (int)vi_match_segment_count(sec->match) : 0, sec->n_pairs);
            cli_json_verdict(stdout, sec->verdict);
            fputc('}', stdout);
        }
        printf("],\"thumbnails\":%d}\n", page->thumbnails);
    } else if (!a->quiet) {
        printf("%s: %d reference%s, %d thumbnails\n", a->output, page->n, page->n == 1 ? "" : "s",
               page->thumbnails);
    }
}

static int run_report(const cli_args *a) {
    cli_session s;
    cli_inputs in = {0};
    report rp = {a, NULL, a->top ? a->top : DEFAULT_TOP, 0, NULL};
    vi_hits *hits = NULL;
    cli_page page = {0};
    const char *query = a->pos[0];
    int rc = 0;
    if (!a->index && a->npos < 2 && !a->id_from)
        return cli_usage_error(&cli_cmd_report, "missing argument (a REFERENCE, or --index)");
    if (a->npos > 1 || a->id_from) rc = cli_inputs_collect(&cli_cmd_report, a, 1, a->index != NULL, &in);
    if (rc != 0) return rc;
    if (!(rp.refs = calloc((size_t)rp.k, sizeof *rp.refs))) rc = cli_error("out of memory");
    if (rc == 0) rc = cli_session_init(&s, a);
    else memset(&s, 0, sizeof s);
    if (rc == 0) {
        cli_progress_start(s.progress, query, query, 0, 0);
        rc = cli_load_input(&s, query, &rp.query);
        cli_progress_end(s.progress, rc == 0);
        if (rc != 0) cli_error("%s", s.message);
    }
    if (rc == 0 && a->index) {
        rc = search_refs(&s, &rp, &in, &hits);
    } else if (rc == 0) {
        cli_batch batch = {compare_one, NULL, &rp, 0, 0};
        rc = cli_batch_run(&s, &in, &batch);
        if (rc != 0 && a->keep_going && !s.fatal && batch.done > 0) rc = -rc; /* page, then 1 */
    }
    if (rc <= 0) {
        page.query = query;
        page.query_duration = vi_embedding_duration(rp.query);
        page.query_warnings = cli_embedding_warnings(rp.query);
        page.model_id = vi_embedding_model_id(rp.query);
        page.index = a->index;
        page.sections = calloc((size_t)(rp.n ? rp.n : 1), sizeof *page.sections);
        if (!page.sections) rc = cli_error("out of memory");
        for (int i = 0; page.sections && i < rp.n; i++, page.n++)
            if (fill_section(&rp, &rp.refs[i], i + 1, &page.sections[i], &page.thumbnails) != 0) {
                rc = cli_error("out of memory");
                page.n++;
                break;
            }
    }
    if (rc <= 0) {
        int wrc = write_page(a->output, &page);
        if (wrc == 0) print_summary(a, &page);
        else rc = wrc;
    }
    for (int i = 0; i < page.n; i++) free_section(&page.sections[i]);
    free(page.sections);
    for (int i = 0; i < rp.n; i++) ref_free(&rp.refs[i]);
    free(rp.refs);
    vi_hits_free(hits);
    vi_embedding_free(rp.query);
    cli_session_free(&s);
    cli_inputs_free(&in);
    return rc < 0 ? -rc : rc;
}

const cli_command cli_cmd_report = {
    .name = "report",
    .synopsis = "[--index DB.vidx] [--top K] [OPTIONS] -o OUT.html QUERY REFERENCE|DIR...",
    .summary = "Write an HTML page showing how QUERY matches its best references.",
    .help = "\nOne self-contained HTML file (no network, images embedded) for a reviewer: for each\n"
            "of the --top K best references, the copy score (and verdict), a timeline of both\n"
            "videos with the copied segments, the similarity of the query's frames along the\n"
            "alignment, and --frames N matched frame pairs side by side (decoded by FFmpeg at\n"
            "the aligned times). Without --index each REFERENCE (a video or .vemb; a directory:\n"
            "its files, as for index build) is compared with QUERY. With --index the top hits\n"
            "of a search of DB.vidx are shown, and the REFERENCE arguments locate their videos\n"
            "by id. A .vemb input has no pictures: its frames are left blank.\n",
    .notes = "Prints 'OUT.html: N references, M thumbnails', or with --json one object:\n"
             "  {\"output\":..,\"query\":..,\"references\":[{\"rank\",\"id\",\"path\",\"score\","
             "\"segments\",\n   \"frame_pairs\",\"copy\"}..],\"thumbnails\":..}\n"
             "Exit status: 0 ok, 1 error (or a reference skipped by --keep-going), 2 bad usage.\n",
    .options = CLI_OPTS_EMBED | CLI_OPTS_BATCH | CLI_OPT_OUTPUT | CLI_OPT_INDEX | CLI_OPT_TOP |
               CLI_OPT_FRAMES | CLI_OPT_CANDIDATES | CLI_OPT_ID_FROM | CLI_OPT_JSON |
               CLI_OPT_THRESHOLD,
    .required = CLI_OPT_OUTPUT,
    .min_pos = 1,
    .max_pos = -1,
    .run = run_report,
};
