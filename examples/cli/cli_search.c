/* cli_search.c - `vinfringe search`: the references of an index most likely copied by each
 * query. */
#include "cli.h"

static int search_one(cli_session *s, const vi_index *index, const char *query) {
    vi_embedding *emb = NULL;
    vi_hits *hits = NULL;
    int rc = cli_load_input(s, query, query, &emb);
    if (rc == 0) {
        vi_status st = vi_index_search(index, emb, s->args->top, &hits);
        rc = st == VI_OK ? 0 : cli_error("%s: %s", query, vi_last_error());
    }
    if (rc == 0 && s->args->json)
        cli_json_search(stdout, query, hits);
    else if (rc == 0)
        cli_report_search(stdout, query, hits);
    fflush(stdout);
    vi_hits_free(hits);
    vi_embedding_free(emb);
    return rc;
}

static int run_search(const cli_args *a) {
    cli_session s;
    vi_index *index = NULL;
    vi_status st;
    vi_index_options o;
    int rc = cli_session_init(&s, a);
    if (rc == 0 && (st = VI_INDEX_OPTIONS_INIT(o)) != VI_OK) rc = cli_lib_error(st);
    o.read_only = 1;
    o.candidates = a->candidates;
    if (rc == 0 && (st = vi_index_open(a->pos[0], &o, &index)) != VI_OK)
        rc = cli_lib_error(st);
    for (int i = 1; rc == 0 && i < a->npos; i++)
        rc = search_one(&s, index, a->pos[i]);
    vi_index_free(index);
    cli_session_free(&s);
    return rc;
}

const cli_command cli_cmd_search = {
    .name = "search",
    .synopsis = "[--model M] [--top K] [--candidates N] [--json] DB.vidx QUERY...",
    .summary = "Find the references of an index that each QUERY most likely copies.",
    .help = "\nEach QUERY is a video or an embedding (.vemb); it must come from the same model as\n"
            "the index, else the search fails.\n"
            "\nOptions:\n"
            "  -k, --top K         results per query, best first (default 10)\n"
            "      --candidates N  references re-ranked by the full comparison, chosen by a\n"
            "                      vote of the nearest frame vectors (default 20; an index of\n"
            "                      at most N references is compared in full)\n"
            "      --json          one JSON object per query on stdout:\n"
            "                      {\"query\":..,\"results\":[{\"id\":..,\"score\":..,"
            "\"segments\":[..]}]}\n"
            "  -m, --model M       model for the queries that are videos; default: built-in\n"
            "      --fps F         frames sampled per second of video (default 1)\n"
            "      --keyframes     decode keyframes only (faster, coarser)\n"
            "      --max-frames N  stop after N sampled frames\n"
            "      --threads N     threads for the backbone (default: libtorch's)\n"
            "  -q, --quiet         no progress bar\n"
            "  -h, --help          this help\n"
            "\nQueries are processed in order; the first failing one stops the run.\n"
            "Exit status: 0 ok, 1 error, 2 bad usage.\n",
    .options = CLI_OPTS_EMBED | CLI_OPT_JSON | CLI_OPT_TOP | CLI_OPT_CANDIDATES,
    .min_pos = 2,
    .max_pos = -1,
    .run = run_search,
};
