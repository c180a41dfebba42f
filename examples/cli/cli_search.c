/* cli_search.c - `vinfringe search`: the references of an index most likely copied by each
 * query. */
#include "cli.h"

typedef struct search {
    const vi_index *index;
    const cli_args *args;
} search;

static int search_one(void *user, cli_session *s, const cli_input *in, vi_embedding **embp) {
    const vi_embedding *emb = *embp;
    const search *x = user;
    const cli_args *a = x->args;
    vi_hits *hits = NULL;
    vi_status st = vi_index_search(x->index, emb, a->top ? a->top : 10, &hits);
    if (st != VI_OK) {
        s->fatal = st == VI_E_NOMEM || st == VI_E_INTERNAL;
        return cli_fail(s, "%s: %s", in->path, vi_last_error());
    }
    const int32_t w = cli_embedding_warnings(emb);
    if (a->format == CLI_FMT_JSON)
        cli_json_search(stdout, a, in->path, w, hits);
    else if (a->format == CLI_FMT_CSV)
        cli_csv_search(stdout, a, in->path, hits);
    else
        cli_text_search(stdout, a, in->path, w, hits);
    fflush(stdout);
    vi_hits_free(hits);
    return 0;
}

/* --keep-going --json: a failed query still gets its line, with the error. */
static void search_failed(void *user, const cli_input *in, const char *message) {
    const search *x = user;
    if (x->args->format == CLI_FMT_JSON) {
        cli_json_failed(stdout, "query", in->path, message);
        fflush(stdout);
    }
}

static int run_search(const cli_args *a) {
    cli_session s;
    cli_inputs in;
    vi_index *index = NULL;
    vi_status st;
    vi_index_options o;
    int rc = cli_inputs_collect(&cli_cmd_search, a, 1, 0, &in);
    if (rc != 0) return rc;
    rc = cli_session_init(&s, a);
    if (rc == 0 && (st = VI_INDEX_OPTIONS_INIT(o)) != VI_OK) rc = cli_lib_error(st);
    o.read_only = 1;
    o.candidates = a->candidates;
    if (rc == 0 && (st = vi_index_open(a->pos[0], &o, &index)) != VI_OK)
        rc = cli_lib_error(st);
    if (rc == 0 && a->format == CLI_FMT_CSV) cli_csv_search_header(stdout);
    if (rc == 0) {
        search x = {index, a};
        cli_batch batch = {search_one, search_failed, &x, 0, 0};
        rc = cli_batch_run(&s, &in, &batch);
    }
    vi_index_free(index);
    cli_session_free(&s);
    cli_inputs_free(&in);
    return rc;
}

const cli_command cli_cmd_search = {
    .name = "search",
    .synopsis = "[--top K] [--threshold T] [--copies-only] [--json|--csv] [--keep-going] [OPTIONS] "
                "DB.vidx QUERY|DIR...",
    .summary = "Find the references of an index that each QUERY most likely copies.",
    .help = "\nEach QUERY is a video or an embedding (.vemb); a directory stands for the files\n"
            "below it (recursively) whose extension --ext lists. Queries must come from the\n"
            "same model as the index, else their search fails.\n",
    .notes = "Queries are processed in order; the first failing one stops the run, unless\n"
             "--keep-going. --json prints one object per query:\n"
             "  {\"query\":..,\"warnings\":[..],\"results\":[{\"id\":..,\"score\":..,"
             "\"segments\":[..],\"copy\":..}]}\n"
             "and, with --keep-going, {\"query\":..,\"error\":..} for a query that failed.\n"
             "--csv prints a header line, then one line per result:\n"
             "  query,rank,id,score,segment_count,segments,copy\n"
             "Exit status: 0 ok, 1 error (or a query skipped by --keep-going), 2 bad usage.\n",
    .options = CLI_OPTS_EMBED | CLI_OPTS_BATCH | CLI_OPT_JSON | CLI_OPT_CSV | CLI_OPT_TOP |
               CLI_OPT_CANDIDATES | CLI_OPT_THRESHOLD | CLI_OPT_COPIES_ONLY,
    .min_pos = 2,
    .max_pos = -1,
    .run = run_search,
};
