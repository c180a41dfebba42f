/* cli_compare.c - `vinfringe compare`: how likely video A copies video B; and the copy verdict
 * every result writer shares. */
#include "cli.h"

cli_verdict cli_verdict_of(const cli_args *a, const vi_match *m) {
    cli_verdict v = {0, 0, 0.0, 0};
    if (!m) return v;
    v.known = 1;
    v.calibrated = vi_match_is_calibrated(m);
    v.threshold = a->threshold > 0.0 ? a->threshold : (double)vi_match_threshold(m);
    v.copy = (double)vi_match_score(m) >= v.threshold;
    return v;
}

int cli_hit_shown(const cli_args *a, const vi_hits *hits, int32_t i) {
    return !a->copies_only || cli_verdict_of(a, vi_hits_match(hits, i)).copy;
}

/* Load one side of the comparison, with its own progress label. */
static int load(cli_session *s, const char *path, int index, vi_embedding **out) {
    cli_progress_start(s->progress, path, path, index, 0);
    int rc = cli_load_input(s, path, out);
    cli_progress_end(s->progress, rc == 0);
    return rc == 0 ? 0 : cli_error("%s", s->message);
}

static int run_compare(const cli_args *a) {
    cli_session s;
    vi_embedding *qa = NULL, *rb = NULL;
    vi_match *m = NULL;
    int rc = cli_session_init(&s, a);
    if (rc == 0) rc = load(&s, a->pos[0], 0, &qa);
    if (rc == 0) rc = load(&s, a->pos[1], 1, &rb);
    if (s.progress) cli_progress_finish(s.progress);
    if (rc == 0) {
        vi_status st = vi_compare(qa, rb, NULL, &m);
        rc = st == VI_OK ? 0 : cli_error("%s vs %s: %s", a->pos[0], a->pos[1], vi_last_error());
    }
    if (rc == 0) {
        const cli_verdict v = cli_verdict_of(a, m);
        const int32_t wa = cli_embedding_warnings(qa), wb = cli_embedding_warnings(rb);
        if (a->format == CLI_FMT_JSON)
            cli_json_compare(stdout, a->pos[0], wa, a->pos[1], wb, m, v);
        else if (a->format == CLI_FMT_CSV)
            cli_csv_compare(stdout, a->pos[0], a->pos[1], m, v);
        else
            cli_text_compare(stdout, a->pos[0], wa, a->pos[1], wb, m, v);
    }
    vi_match_free(m);
    vi_embedding_free(qa);
    vi_embedding_free(rb);
    cli_session_free(&s);
    return rc;
}

const cli_command cli_cmd_compare = {
    .name = "compare",
    .synopsis = "[--model M] [--threshold T] [--json|--csv] A B",
    .summary = "Score how likely A (the query) is a copy of B (the reference).",
    .help = "\nA and B are videos or embeddings (.vemb, made by `vinfringe embed`).\n",
    .notes = "The score is in [0, 1]; with a calibrated model (the built-in one is), the\n"
             "probability that A shares copied content with B. \"copy\" is the verdict at the\n"
             "model's recommended threshold, or at --threshold (docs/thresholds.md).\n"
             "--json prints one object:\n"
             "  {\"a\":..,\"b\":..,\"score\":..,\"segments\":[..],\"video_similarity\":..,"
             "\"copy\":..,\n   \"threshold\":..,\"calibrated\":..,\"a_warnings\":[..],"
             "\"b_warnings\":[..]}\n"
             "where a segment is {\"query_start\",\"query_end\",\"ref_start\",\"ref_end\","
             "\"score\"} in seconds.\n--csv prints a header line and one line: "
             "a,b,score,video_similarity,segment_count,\nsegments,copy.\n"
             "Exit status: 0 ok, 1 error, 2 bad usage.\n",
    .options = CLI_OPTS_EMBED | CLI_OPT_JSON | CLI_OPT_CSV | CLI_OPT_THRESHOLD,
    .min_pos = 2,
    .max_pos = 2,
    .run = run_compare,
};
