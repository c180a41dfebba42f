/* cli_index.c - `vinfringe index build`: a searchable catalogue (.vidx) of references. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Add one input to the index under its file name without directory and extension. */
static int add_input(cli_session *s, vi_index *index, const char *path, int i, int n) {
    char id[1024], label[1100];
    vi_embedding *emb = NULL;
    cli_basename_noext(path, id, sizeof id);
    snprintf(label, sizeof label, "%s (%d/%d)", id, i + 1, n);
    int rc = cli_load_input(s, path, label, &emb);
    if (rc == 0) {
        vi_status st = vi_index_add(index, id, emb);
        rc = st == VI_OK ? 0 : cli_error("%s: %s", path, vi_last_error());
    }
    vi_embedding_free(emb);
    return rc;
}

static int run_index_build(const cli_args *a) {
    cli_session s;
    vi_index *index = NULL;
    vi_status st;
    int rc = cli_session_init(&s, a);
    if (rc == 0 && (st = vi_index_create(&index)) != VI_OK)
        rc = cli_lib_error(st);
    for (int i = 0; rc == 0 && i < a->npos; i++)
        rc = add_input(&s, index, a->pos[i], i, a->npos);
    if (rc == 0 && (st = vi_index_save(index, a->output)) != VI_OK)
        rc = cli_lib_error(st);
    if (rc == 0 && !a->quiet)
        printf("%s: %d entries\n", a->output, (int)vi_index_size(index));
    vi_index_free(index);
    cli_session_free(&s);
    return rc;
}

const cli_command cli_cmd_index_build = {
    .name = "index build",
    .synopsis = "[--model M] -o DB.vidx INPUT...",
    .summary = "Build a searchable index (.vidx) from reference videos or embeddings.",
    .help = "\nEach INPUT is a video or an embedding (.vemb). Its id in the index is its file name\n"
            "without directory and extension (refs/movie.mp4 -> movie).\n"
            "\nOptions:\n"
            "  -o, --output DB.vidx  where to write the index (required)\n"
            "  -m, --model M         model for the inputs that are videos; default: built-in\n"
            "      --fps F           frames sampled per second of video (default 1)\n"
            "      --keyframes       decode keyframes only (faster, coarser)\n"
            "      --max-frames N    stop after N sampled frames\n"
            "      --threads N       threads for the backbone (default: libtorch's)\n"
            "  -q, --quiet           no progress bar, no summary line\n"
            "  -h, --help            this help\n"
            "\nAll inputs must come from the same model. Exit status: 0 ok, 1 error, 2 bad usage.\n",
    .options = CLI_OPTS_EMBED | CLI_OPT_OUTPUT,
    .required = CLI_OPT_OUTPUT,
    .min_pos = 1,
    .max_pos = -1,
    .run = run_index_build,
};
