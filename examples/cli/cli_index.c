/* cli_index.c - `vinfringe index build`: a searchable on-disk catalogue of references (the
 * manifest DB.vidx, its vectors DB.vidx.vec and, for approximate kinds, DB.vidx.faiss). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The index's files: the manifest at `base` and its two companions. */
static const char *const k_exts[] = {".vec", ".faiss", ""};

static void file_name(char *buf, size_t size, const char *base, int which) {
    snprintf(buf, size, "%s%s", base, k_exts[which]);
}

/* Without --append the index is built under a temporary name and moved over DB at the end,
 * companions first, the manifest last: a failed build leaves any previous DB alone. */
static int publish(const char *tmp, const char *out, int ok) {
    char from[4200], to[4200];
    int rc = 0;
    for (int w = 0; w < 3; w++) {
        file_name(from, sizeof from, tmp, w);
        file_name(to, sizeof to, out, w);
        if (!ok) {
            unlink(from);
        } else if (access(from, F_OK) != 0) {
            unlink(to); /* e.g. the FAISS cache of a previous, approximate index */
        } else if (rename(from, to) != 0 && rc == 0) {
            rc = cli_error("cannot write %s: %s", to, strerror(errno));
        }
    }
    return rc;
}

static int run_index_build(const cli_args *a) {
    cli_session s;
    vi_index *index = NULL;
    vi_index_options o;
    vi_status st;
    char tmp[4200];
    const char *path = a->output;
    if (!a->append) {
        snprintf(tmp, sizeof tmp, "%s.partial-%ld", a->output, (long)getpid());
        path = tmp;
    }
    int rc = cli_session_init(&s, a);
    if (rc == 0 && (st = VI_INDEX_OPTIONS_INIT(o)) != VI_OK) rc = cli_lib_error(st);
    o.kind = a->kind;
    if (rc == 0 && (st = vi_index_open(path, &o, &index)) != VI_OK) rc = cli_lib_error(st);
    const int32_t before = vi_index_size(index);
    for (int i = 0; rc == 0 && i < a->npos; i++)
        rc = add_input(&s, index, a->pos[i], i, a->npos);
    if (rc == 0 && (st = vi_index_flush(index)) != VI_OK) rc = cli_lib_error(st);
    const int32_t size = vi_index_size(index);
    static const char *const kinds[] = {"auto", "exact", "hnsw", "ivfpq"};
    const char *kind = kinds[vi_index_kind_used(index) & 3];
    vi_index_free(index);
    if (!a->append) {
        int prc = publish(tmp, a->output, rc == 0);
        if (rc == 0) rc = prc;
    }
    if (rc == 0 && !a->quiet) {
        if (a->append)
            printf("%s: %d entries (%d added), %s search\n", a->output, (int)size,
                   (int)(size - before), kind);
        else
            printf("%s: %d entries, %s search\n", a->output, (int)size, kind);
    }
    cli_session_free(&s);
    return rc;
}

const cli_command cli_cmd_index_build = {
    .name = "index build",
    .synopsis = "[--model M] [--kind K] [--append] -o DB.vidx INPUT...",
    .summary = "Build (or add to) a searchable index of reference videos or embeddings.",
    .help = "\nEach INPUT is a video or an embedding (.vemb). Its id in the index is its file name\n"
            "without directory and extension (refs/movie.mp4 -> movie). The index is DB.vidx (a\n"
            "small manifest) plus DB.vidx.vec (the frame vectors, float16, memory-mapped when\n"
            "searching) and, for approximate kinds, DB.vidx.faiss; keep them together.\n"
            "\nOptions:\n"
            "  -o, --output DB.vidx  the index (required)\n"
            "      --append          add to DB.vidx (created if missing) instead of replacing it;\n"
            "                        each input is committed as it is added\n"
            "      --kind K          how frame vectors are searched: auto (default: exact below\n"
            "                        100000 vectors, ivfpq above), exact, hnsw or ivfpq; with\n"
            "                        --append, auto keeps the index's kind\n"
            "  -m, --model M         model for the inputs that are videos; default: built-in\n"
            "      --fps F           frames sampled per second of video (default 1)\n"
            "      --keyframes       decode keyframes only (faster, coarser)\n"
            "      --max-frames N    stop after N sampled frames\n"
            "      --threads N       threads for the backbone (default: libtorch's)\n"
            "  -q, --quiet           no progress bar, no summary line\n"
            "  -h, --help            this help\n"
            "\nAll inputs must come from the same model. Without --append nothing is written\n"
            "unless every input succeeds. Exit status: 0 ok, 1 error, 2 bad usage.\n",
    .options = CLI_OPTS_EMBED | CLI_OPT_OUTPUT | CLI_OPT_KIND | CLI_OPT_APPEND,
    .required = CLI_OPT_OUTPUT,
    .min_pos = 1,
    .max_pos = -1,
    .run = run_index_build,
};
