/* cli_info.c - `vinfringe info`: what a file is (model, embedding, index, or something else). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static void print_head(const char *path, cli_kind kind) {
    printf("file         %s\n", path);
    printf("kind         %s\n", cli_kind_name(kind));
}

static int info_model(const char *path) {
    vi_model *m = NULL;
    vi_status st = vi_model_load(path, &m);
    if (st != VI_OK)
        return cli_lib_error(st);
    print_head(path, CLI_KIND_MODEL);
    printf("id           %s\n", vi_model_id(m));
    printf("description  %s\n", vi_model_description(m));
    printf("dims         %d\n", (int)vi_model_dim(m));
    printf("feature dims %d\n", (int)vi_model_feature_dim(m));
    printf("input size   %d\n", (int)vi_model_input_size(m));
    vi_model_free(m);
    return 0;
}

static int info_embedding(const char *path) {
    vi_embedding *e = NULL;
    vi_status st = vi_embedding_load(path, &e);
    if (st != VI_OK)
        return cli_lib_error(st);
    print_head(path, CLI_KIND_EMBEDDING);
    int32_t n = vi_embedding_frame_count(e);
    const int64_t *ts = vi_embedding_timestamps(e);
    printf("dims         %d\n", (int)vi_embedding_dim(e));
    printf("frames       %d\n", (int)n);
    printf("duration     %.3f s\n", vi_embedding_duration(e));
    if (n > 0 && ts)
        printf("timestamps   %.3f .. %.3f s\n", ts[0] * 1e-6, ts[n - 1] * 1e-6);
    printf("model id     %s\n", vi_embedding_model_id(e));
    vi_embedding_free(e);
    return 0;
}

static int info_index(const char *path) {
    vi_index *x = NULL;
    vi_status st = vi_index_load(path, &x);
    if (st != VI_OK)
        return cli_lib_error(st);
    print_head(path, CLI_KIND_INDEX);
    int32_t n = vi_index_size(x);
    printf("size         %d\n", (int)n);
    for (int32_t i = 0; i < n; i++)
        printf("%-12s %s\n", i == 0 ? "ids" : "", vi_index_id(x, i));
    vi_index_free(x);
    return 0;
}

static int run_info(const cli_args *a) {
    const char *path = a->pos[0];
    struct stat sb;
    if (stat(path, &sb) != 0)
        return cli_error("%s: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return cli_error("%s: is a directory", path);
    cli_kind kind = cli_sniff(path);
    if (kind == CLI_KIND_UNREADABLE)
        return cli_error("%s: %s", path, strerror(errno));
    switch (kind) {
    case CLI_KIND_MODEL: return info_model(path);
    case CLI_KIND_EMBEDDING: return info_embedding(path);
    case CLI_KIND_INDEX: return info_index(path);
    default:
        print_head(path, kind);
        printf("size         %lld bytes\n", (long long)sb.st_size);
        printf("note         not a vinfringe file; other commands read it as a video\n");
        return 0;
    }
}

const cli_command cli_cmd_info = {
    .name = "info",
    .synopsis = "FILE",
    .summary = "Describe a model (.vimodel), embedding (.vemb) or index (.vidx) file.",
    .help = "\nFor a model: id, description and dimensions. For an embedding: dimensions, frames,\n"
            "duration and the id of the model that made it. For an index: its size and ids.\n"
            "Any other file (a video) is reported as not a vinfringe file; nothing is decoded.\n"
            "\nOptions:\n"
            "  -h, --help  this help\n"
            "\nExit status: 0 ok, 1 error (missing or damaged file), 2 bad usage.\n",
    .options = 0,
    .min_pos = 1,
    .max_pos = 1,
    .run = run_info,
};
