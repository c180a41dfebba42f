/* cli_embed.c - `vinfringe embed`: fingerprint one video into a .vemb file. */
#include "cli.h"

static void print_summary(const cli_args *a, const char *video, const vi_embedding *emb) {
    const int32_t w = cli_embedding_warnings(emb);
    if (a->format == CLI_FMT_JSON) {
        fputs("{\"input\":", stdout);
        cli_json_string(stdout, video);
        fputs(",\"output\":", stdout);
        cli_json_string(stdout, a->output);
        printf(",\"frames\":%d,\"dim\":%d,\"duration\":", (int)vi_embedding_frame_count(emb),
               (int)vi_embedding_dim(emb));
        cli_json_number(stdout, vi_embedding_duration(emb));
        fputs(",\"model_id\":", stdout);
        cli_json_string(stdout, vi_embedding_model_id(emb));
        fputs(",\"warnings\":", stdout);
        cli_json_warnings(stdout, w);
        fputs("}\n", stdout);
    } else if (!a->quiet) {
        char hms[32];
        printf("%s: %d frames, %d dims, %s -> %s%s\n", video, (int)vi_embedding_frame_count(emb),
               (int)vi_embedding_dim(emb), cli_hms(vi_embedding_duration(emb), hms), a->output,
               w ? " (with warnings)" : "");
    }
}

static int run_embed(const cli_args *a) {
    cli_session s;
    vi_embedding *emb = NULL;
    const char *video = a->pos[0];
    int rc = cli_session_init(&s, a);
    if (rc == 0 && cli_sniff(video) == CLI_KIND_EMBEDDING)
        rc = cli_error("%s: is already an embedding (.vemb); expected a video", video);
    if (rc == 0) {
        cli_progress_start(s.progress, video, video, 0, 0);
        rc = cli_load_input(&s, video, &emb);
        cli_progress_end(s.progress, rc == 0);
        cli_progress_finish(s.progress);
        if (rc != 0) cli_error("%s", s.message);
    }
    if (rc == 0) {
        vi_status st = vi_embedding_save(emb, a->output);
        rc = st == VI_OK ? 0 : cli_lib_error(st);
    }
    if (rc == 0) print_summary(a, video, emb);
    vi_embedding_free(emb);
    cli_session_free(&s);
    return rc;
}

const cli_command cli_cmd_embed = {
    .name = "embed",
    .synopsis = "[--model M] [--fps F] [--json] -o OUT.vemb VIDEO",
    .summary = "Fingerprint a video and save its embedding (.vemb).",
    .help = "\nThe embedding is written to a temporary name and renamed: never half-written.\n",
    .notes = "Prints one summary line on stdout (none with --quiet), or with --json one object:\n"
             "  {\"input\":..,\"output\":..,\"frames\":..,\"dim\":..,\"duration\":..,"
             "\"model_id\":..,\"warnings\":[..]}\n"
             "Exit status: 0 ok, 1 error, 2 bad usage.\n",
    .options = CLI_OPTS_EMBED | CLI_OPT_OUTPUT | CLI_OPT_JSON,
    .required = CLI_OPT_OUTPUT,
    .min_pos = 1,
    .max_pos = 1,
    .run = run_embed,
};
