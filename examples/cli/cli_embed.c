/* cli_embed.c - `vinfringe embed`: fingerprint one video into a .vemb file. */
#include "cli.h"

static int run_embed(const cli_args *a) {
    cli_session s;
    vi_embedding *emb = NULL;
    const char *video = a->pos[0];
    int rc = cli_session_init(&s, a);
    if (rc == 0 && cli_sniff(video) == CLI_KIND_EMBEDDING)
        rc = cli_error("%s: is already an embedding (.vemb); expected a video", video);
    if (rc == 0)
        rc = cli_load_input(&s, video, video, &emb);
    if (rc == 0) {
        vi_status st = vi_embedding_save(emb, a->output);
        rc = st == VI_OK ? 0 : cli_lib_error(st);
    }
    if (rc == 0 && !a->quiet)
        printf("%s: %d frames, %d dims, %.2f s -> %s\n", video,
               (int)vi_embedding_frame_count(emb), (int)vi_embedding_dim(emb),
               vi_embedding_duration(emb), a->output);
    vi_embedding_free(emb);
    cli_session_free(&s);
    return rc;
}

const cli_command cli_cmd_embed = {
    .name = "embed",
    .synopsis = "[--model M] [--fps F] -o OUT.vemb VIDEO",
    .summary = "Fingerprint a video and save its embedding (.vemb).",
    .help = "\nOptions:\n"
            "  -o, --output OUT.vemb  where to write the embedding (required)\n"
            "  -m, --model M          model file (.vimodel); default: the built-in model\n"
            "      --fps F            frames sampled per second of video (default 1)\n"
            "      --keyframes        decode keyframes only (faster, coarser)\n"
            "      --max-frames N     stop after N sampled frames\n"
            "      --threads N        threads for the backbone (default: libtorch's)\n"
            "  -q, --quiet            no progress bar, no summary line\n"
            "  -h, --help             this help\n"
            "\nPrints one summary line on stdout. Exit status: 0 ok, 1 error, 2 bad usage.\n",
    .options = CLI_OPTS_EMBED | CLI_OPT_OUTPUT,
    .required = CLI_OPT_OUTPUT,
    .min_pos = 1,
    .max_pos = 1,
    .run = run_embed,
};
