/* cli_info.c - `vinfringe info`: what a file is (model, embedding, index, or something else). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* One "key  value" line, or one JSON member. */
typedef struct out {
    int json;
    int n; /* members written */
} out;

static void key(out *o, const char *k) {
    if (o->json) {
        fputs(o->n++ ? "," : "{", stdout);
        cli_json_string(stdout, k);
        fputc(':', stdout);
    } else {
        printf("%-12s ", k);
    }
}

static void str(out *o, const char *k, const char *v) {
    key(o, k);
    if (o->json) cli_json_string(stdout, v);
    else printf("%s\n", v);
}

static void num(out *o, const char *k, long long v) {
    key(o, k);
    printf(o->json ? "%lld" : "%lld\n", v);
}

static void flag(out *o, const char *k, int v, const char *yes, const char *no) {
    key(o, k);
    if (o->json) fputs(v ? "true" : "false", stdout);
    else printf("%s\n", v ? yes : no);
}

static void real(out *o, const char *k, double v) {
    key(o, k);
    if (o->json) cli_json_number(stdout, v);
    else printf("%.4f\n", v);
}

static void seconds(out *o, const char *k, double v) {
    char hms[32];
    key(o, k);
    if (o->json) cli_json_number(stdout, v);
    else printf("%s (%.3f s)\n", cli_hms(v, hms), v);
}

static void end(out *o) {
    if (o->json) fputs(o->n ? "}\n" : "{}\n", stdout);
}

static void head(out *o, const char *path, const char *kind) {
    str(o, "file", path);
    str(o, "kind", kind);
}

static int info_model(out *o, const char *path) {
    vi_model *m = NULL;
    vi_status st = vi_model_load(path, &m);
    if (st != VI_OK)
        return cli_lib_error(st);
    head(o, path, o->json ? "model" : cli_kind_name(CLI_KIND_MODEL));
    str(o, "id", vi_model_id(m));
    str(o, "description", vi_model_description(m));
    num(o, "dims", vi_model_dim(m));
    num(o, o->json ? "feature_dims" : "feature dims", vi_model_feature_dim(m));
    num(o, o->json ? "input_size" : "input size", vi_model_input_size(m));
    const int cal = vi_model_is_calibrated(m);
    flag(o, "calibrated", cal, "yes", "NO: scores use the library's fixed constants, the verdict "
         "threshold 0.5 (docs/thresholds.md, calibrating a model)");
    real(o, "threshold", vi_model_threshold(m));
    if (cal) str(o, o->json ? "calibration" : "calibration", vi_model_calibration_info(m));
    end(o);
    vi_model_free(m);
    return 0;
}

static int info_embedding(out *o, const char *path) {
    vi_embedding *e = NULL;
    vi_status st = vi_embedding_load(path, &e);
    if (st != VI_OK)
        return cli_lib_error(st);
    head(o, path, o->json ? "embedding" : cli_kind_name(CLI_KIND_EMBEDDING));
    int32_t n = vi_embedding_frame_count(e);
    const int64_t *ts = vi_embedding_timestamps(e);
    const int32_t w = cli_embedding_warnings(e);
    num(o, "dims", vi_embedding_dim(e));
    num(o, "frames", n);
    seconds(o, "duration", vi_embedding_duration(e));
    if (n > 0 && ts) {
        seconds(o, o->json ? "first_time" : "first frame", ts[0] * 1e-6);
        seconds(o, o->json ? "last_time" : "last frame", ts[n - 1] * 1e-6);
    }
    str(o, o->json ? "model_id" : "model id", vi_embedding_model_id(e));
    flag(o, "calibrated", vi_embedding_is_calibrated(e), "yes", "no");
    if (o->json) {
        key(o, "warnings");
        cli_json_warnings(stdout, w);
    } else {
        for (int32_t bit = 1; bit > 0 && bit <= w; bit <<= 1)
            if ((w & bit) && cli_warning_text(bit)) str(o, "warning", cli_warning_text(bit));
    }
    end(o);
    vi_embedding_free(e);
    return 0;
}

static int info_index(out *o, const char *path) {
    static const char *const kinds[] = {"auto", "exact", "hnsw", "ivfpq"};
    vi_index *x = NULL;
    vi_status st = vi_index_load(path, &x);
    if (st != VI_OK)
        return cli_lib_error(st);
    head(o, path, o->json ? "index" : cli_kind_name(CLI_KIND_INDEX));
    int32_t n = vi_index_size(x);
    num(o, "size", n);
    num(o, "frames", vi_index_frame_count(x));
    str(o, o->json ? "search" : "search", kinds[vi_index_kind_used(x) & 3]);
    key(o, "ids");
    if (o->json) fputc('[', stdout);
    for (int32_t i = 0; i < n; i++) {
        if (o->json) {
            if (i) fputc(',', stdout);
            cli_json_string(stdout, vi_index_id(x, i));
        } else {
            printf("%s%s\n", i == 0 ? "" : "             ", vi_index_id(x, i));
        }
    }
    if (o->json) fputc(']', stdout);
    else if (n == 0) putchar('\n');
    end(o);
    vi_index_free(x);
    return 0;
}

static int run_info(const cli_args *a) {
    const char *path = a->pos[0];
    out o = {a->format == CLI_FMT_JSON, 0};
    struct stat sb;
    if (stat(path, &sb) != 0)
        return cli_error("%s: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return cli_error("%s: is a directory", path);
    cli_kind kind = cli_sniff(path);
    if (kind == CLI_KIND_UNREADABLE)
        return cli_error("%s: %s", path, strerror(errno));
    switch (kind) {
    case CLI_KIND_MODEL: return info_model(&o, path);
    case CLI_KIND_EMBEDDING: return info_embedding(&o, path);
    case CLI_KIND_INDEX: return info_index(&o, path);
    default:
        head(&o, path, o.json ? "other" : cli_kind_name(kind));
        num(&o, o.json ? "bytes" : "size", (long long)sb.st_size);
        if (!o.json) printf("note         not a vinfringe file; other commands read it as a video\n");
        end(&o);
        return 0;
    }
}

const cli_command cli_cmd_info = {
    .name = "info",
    .synopsis = "[--json] FILE",
    .summary = "Describe a model (.vimodel), embedding (.vemb) or index (.vidx) file.",
    .help = "\nFor a model: id, description and dimensions. For an embedding: dimensions, frames,\n"
            "duration, the times of its first and last frames, the id of the model that made\n"
            "it and the warnings of a damaged or truncated video. For an index: its size,\n"
            "frame count, search kind and ids. Any other file (a video) is reported as not a\n"
            "vinfringe file; nothing is decoded.\n",
    .notes = "Prints 'key  value' lines (times as hh:mm:ss.mmm), or with --json one object\n"
             "whose \"kind\" is model, embedding, index or other (times in seconds).\n"
             "Exit status: 0 ok, 1 error (missing or damaged file), 2 bad usage.\n",
    .options = CLI_OPT_JSON | CLI_OPT_LOGLEVEL,
    .min_pos = 1,
    .max_pos = 1,
    .run = run_info,
};
