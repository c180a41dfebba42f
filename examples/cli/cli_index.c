/* cli_index.c - `vinfringe index build`: a searchable on-disk catalogue of references (the
 * manifest DB.vidx, its vectors DB.vidx.<uid>.vec, its lock DB.vidx.lock and, for approximate
 * kinds, DB.vidx.faiss). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The run: the index being built and, for --json, the inputs added and failed so far. */
typedef struct build {
    vi_index *index;
    const cli_args *args;
    FILE *added, *failed; /* JSON array items (memory streams), or NULL without --json */
    char *added_buf, *failed_buf;
    size_t added_len, failed_len;
    int n_added, n_failed;
} build;

static int add_one(void *user, cli_session *s, const cli_input *in, vi_embedding **embp) {
    const vi_embedding *emb = *embp;
    build *b = user;
    vi_status st = vi_index_add(b->index, in->id, emb);
    if (st != VI_OK) {
        /* The index's own trouble (disk, memory) would hit every input: stop. */
        s->fatal = st == VI_E_IO || st == VI_E_NOMEM || st == VI_E_INTERNAL;
        return cli_fail(s, "%s: %s", in->path, vi_last_error());
    }
    if (b->added) {
        fputs(b->n_added ? ",{\"id\":" : "{\"id\":", b->added);
        cli_json_string(b->added, in->id);
        fputs(",\"path\":", b->added);
        cli_json_string(b->added, in->path);
        fprintf(b->added, ",\"frames\":%d,\"duration\":", (int)vi_embedding_frame_count(emb));
        cli_json_number(b->added, vi_embedding_duration(emb));
        fputs(",\"warnings\":", b->added);
        cli_json_warnings(b->added, cli_embedding_warnings(emb));
        fputc('}', b->added);
    }
    b->n_added++;
    return 0;
}

static void failed_one(void *user, const cli_input *in, const char *message) {
    build *b = user;
    if (b->failed) {
        fputs(b->n_failed ? ",{\"id\":" : "{\"id\":", b->failed);
        cli_json_string(b->failed, in->id);
        fputs(",\"path\":", b->failed);
        cli_json_string(b->failed, in->path);
        fputs(",\"error\":", b->failed);
        cli_json_string(b->failed, message);
        fputc('}', b->failed);
    }
    b->n_failed++;
}

/* --append: an input whose id the index already holds is refused before any work. */
static int check_new_ids(const cli_inputs *in, const vi_index *index, const char *db) {
    const int32_t n = vi_index_size(index);
    for (int32_t k = 0; k < n; k++)
        for (int i = 0; i < in->n; i++)
            if (strcmp(vi_index_id(index, k), in->v[i].id) == 0)
                return cli_usage_error(&cli_cmd_index_build,
                                       "%s would get the id '%s', which %s already holds; give "
                                       "it another id with --id-from FILE (lines ID<TAB>PATH)",
                                       in->v[i].path, in->v[i].id, db);
    return 0;
}

static void print_summary(const cli_args *a, build *b, int32_t size, int32_t before,
                          const char *kind) {
    if (a->format == CLI_FMT_JSON) {
        fputs("{\"index\":", stdout);
        cli_json_string(stdout, a->output);
        printf(",\"entries\":%d,\"added\":%d,\"kind\":\"%s\",\"inputs\":[", (int)size,
               (int)(size - before), kind);
        fflush(b->added);
        fwrite(b->added_buf, 1, b->added_len, stdout);
        fputs("],\"failed\":[", stdout);
        fflush(b->failed);
        fwrite(b->failed_buf, 1, b->failed_len, stdout);
        fputs("]}\n", stdout);
    } else if (!a->quiet) {
        char skipped[64] = "";
        if (b->n_failed) snprintf(skipped, sizeof skipped, " (%d inputs skipped)", b->n_failed);
        if (a->append)
            printf("%s: %d entries (%d added), %s search%s\n", a->output, (int)size,
                   (int)(size - before), kind, skipped);
        else
            printf("%s: %d entries, %s search%s\n", a->output, (int)size, kind, skipped);
    }
}

static int run_index_build(const cli_args *a) {
    cli_session s;
    cli_inputs in;
    build b = {0};
    vi_index_options o;
    vi_status st;
    int rc = cli_inputs_collect(&cli_cmd_index_build, a, 0, 1, &in);
    if (rc != 0) return rc;
    b.args = a;
    if (a->format == CLI_FMT_JSON &&
        (!(b.added = open_memstream(&b.added_buf, &b.added_len)) ||
         !(b.failed = open_memstream(&b.failed_buf, &b.failed_len))))
        rc = cli_error("out of memory");
    if (rc == 0) rc = cli_session_init(&s, a);
    else memset(&s, 0, sizeof s);
    if (rc == 0 && (st = VI_INDEX_OPTIONS_INIT(o)) != VI_OK) rc = cli_lib_error(st);
    o.kind = a->kind;
    /* Without --append the new index replaces DB in one step at the flush: readers see the
     * old one until then, and a build that is not flushed leaves it alone. */
    o.replace = !a->append;
    if (rc == 0 && (st = vi_index_open(a->output, &o, &b.index)) != VI_OK) rc = cli_lib_error(st);
    if (rc == 0 && a->append) rc = check_new_ids(&in, b.index, a->output);
    const int32_t before = vi_index_size(b.index);
    int batch_rc = 0;
    if (rc == 0) {
        cli_batch batch = {add_one, failed_one, &b, 0, 0};
        batch_rc = cli_batch_run(&s, &in, &batch);
        /* With --keep-going the inputs that loaded are kept; the status still says 1. */
        if (batch_rc != 0 && !(a->keep_going && !s.fatal && batch.done > 0)) rc = batch_rc;
    }
    if (rc == 0 && (st = vi_index_flush(b.index)) != VI_OK) rc = cli_lib_error(st);
    const int32_t size = vi_index_size(b.index);
    static const char *const kinds[] = {"auto", "exact", "hnsw", "ivfpq"};
    const char *kind = kinds[vi_index_kind_used(b.index) & 3];
    vi_index_free(b.index);
    if (rc == 0) print_summary(a, &b, size, before, kind);
    if (rc == 0) rc = batch_rc;
    if (b.added) fclose(b.added);
    if (b.failed) fclose(b.failed);
    free(b.added_buf);
    free(b.failed_buf);
    cli_session_free(&s);
    cli_inputs_free(&in);
    return rc;
}

const cli_command cli_cmd_index_build = {
    .name = "index build",
    .synopsis = "[--kind K] [--append] [--keep-going] [OPTIONS] -o DB.vidx INPUT|DIR...",
    .summary = "Build (or add to) a searchable index of reference videos or embeddings.",
    .help = "\nEach INPUT is a video or an embedding (.vemb); a directory stands for the files\n"
            "below it (recursively) whose extension --ext lists. An input's id in the index:\n"
            "a file named directly: its name without directory and extension\n"
            "(refs/movie.mp4 -> movie); a file found in a directory DIR: its path below DIR\n"
            "without extension (DIR/season1/ep01.mp4 -> season1/ep01); a line of --id-from:\n"
            "its ID. Two inputs with one id are refused before any work (exit 2).\n"
            "The index is DB.vidx (a small manifest) plus DB.vidx.<uid>.vec (the frame\n"
            "vectors, float16, memory-mapped when searching), DB.vidx.lock and, for\n"
            "approximate kinds, DB.vidx.faiss; keep them together.\n",
    .notes = "All inputs must come from the same model. Without --append nothing is written\n"
             "unless every input succeeds (with --keep-going: unless at least one does).\n"
             "Prints 'DB.vidx: N entries, KIND search', or with --json one object:\n"
             "  {\"index\":..,\"entries\":..,\"added\":..,\"kind\":..,\"inputs\":[{\"id\",\"path\","
             "\"frames\",\n   \"duration\",\"warnings\"}..],\"failed\":[{\"id\",\"path\","
             "\"error\"}..]}\n"
             "Exit status: 0 ok, 1 error (or an input skipped by --keep-going), 2 bad usage.\n",
    .options = CLI_OPTS_EMBED | CLI_OPTS_BATCH | CLI_OPT_OUTPUT | CLI_OPT_KIND | CLI_OPT_APPEND |
               CLI_OPT_ID_FROM | CLI_OPT_JSON,
    .required = CLI_OPT_OUTPUT,
    .min_pos = 1,
    .max_pos = -1,
    .run = run_index_build,
};
