/* cli_compare.c - `vinfringe compare`: how likely video A copies video B. */
#include "cli.h"

static int run_compare(const cli_args *a) {
    cli_session s;
    vi_embedding *qa = NULL, *rb = NULL;
    vi_match *m = NULL;
    int rc = cli_session_init(&s, a);
    if (rc == 0)
        rc = cli_load_input(&s, a->pos[0], a->pos[0], &qa);
    if (rc == 0)
        rc = cli_load_input(&s, a->pos[1], a->pos[1], &rb);
    if (rc == 0) {
        vi_status st = vi_compare(qa, rb, NULL, &m);
        rc = st == VI_OK ? 0 : cli_error("%s vs %s: %s", a->pos[0], a->pos[1], vi_last_error());
    }
    if (rc == 0 && a->json)
        cli_json_compare(stdout, a->pos[0], a->pos[1], m);
    else if (rc == 0)
        cli_report_compare(stdout, a->pos[0], a->pos[1], m);
    vi_match_free(m);
    vi_embedding_free(qa);
    vi_embedding_free(rb);
    cli_session_free(&s);
    return rc;
}

const cli_command cli_cmd_compare = {
    .name = "compare",
    .synopsis = "[--model M] [--json] A B",
    .summary = "Score how likely A (the query) is a copy of B (the reference).",
    .help = "\nA and B are videos or embeddings (.vemb, made by `vinfringe embed`).\n"
            "\nOptions:\n"
            "  -m, --model M       model for the inputs that are videos; default: built-in\n"
            "      --json          one JSON object on stdout:\n"
            "                      {\"a\":..,\"b\":..,\"score\":..,\"segments\":[..],"
            "\"video_similarity\":..}\n"
            "      --fps F         frames sampled per second of video (default 1)\n"
            "      --keyframes     decode keyframes only (faster, coarser)\n"
            "      --max-frames N  stop after N sampled frames\n"
            "      --threads N     threads for the backbone (default: libtorch's)\n"
            "  -q, --quiet         no progress bar\n"
            "  -h, --help          this help\n"
            "\nThe score is in [0, 1]; segments are {\"query_start\",\"query_end\",\"ref_start\","
            "\"ref_end\",\"score\"} in seconds.\nExit status: 0 ok, 1 error, 2 bad usage.\n",
    .options = CLI_OPTS_EMBED | CLI_OPT_JSON,
    .min_pos = 2,
    .max_pos = 2,
    .run = run_compare,
};
