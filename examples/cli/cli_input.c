/* cli_input.c - the session of one command run: lazy model, embedding or reading one input,
 * the warnings a damaged or truncated input leaves. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

cli_kind cli_sniff(const char *path) {
    char magic[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return CLI_KIND_UNREADABLE;
    size_t n = fread(magic, 1, sizeof magic, f);
    fclose(f);
    if (n == sizeof magic && memcmp(magic, "VIEMBED", 8) == 0)
        return CLI_KIND_EMBEDDING;
    if (n == sizeof magic && memcmp(magic, "VIINDEX", 8) == 0)
        return CLI_KIND_INDEX;
    if (n == sizeof magic && memcmp(magic, "VIMODEL", 8) == 0)
        return CLI_KIND_MODEL;
    return CLI_KIND_OTHER;
}

const char *cli_kind_name(cli_kind kind) {
    switch (kind) {
    case CLI_KIND_MODEL: return "model (.vimodel)";
    case CLI_KIND_EMBEDDING: return "embedding (.vemb)";
    case CLI_KIND_INDEX: return "index (.vidx)";
    default: return "other file";
    }
}

int cli_session_init(cli_session *s, const cli_args *args) {
    vi_status st;
    memset(s, 0, sizeof *s);
    s->args = args;
    if (args->threads > 0 && (st = vi_set_threads(args->threads)) != VI_OK)
        return cli_lib_error(st);
    if ((st = VI_EMBED_OPTIONS_INIT(s->embed)) != VI_OK)
        return cli_lib_error(st);
    s->embed.fps = (float)args->fps;
    s->embed.max_frames = args->max_frames;
    s->embed.keyframes_only = args->keyframes;
    s->progress = cli_progress_new(args);
    if (!s->progress)
        return CLI_EXIT_ERROR;
    cli_log_progress(s->progress);
    s->embed.progress = cli_progress_cb;
    s->embed.progress_user = s->progress;
    return 0;
}

int cli_fail(cli_session *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->message, sizeof s->message, fmt, ap);
    va_end(ap);
    return CLI_EXIT_ERROR;
}

void cli_session_free(cli_session *s) {
    vi_model_free(s->model);
    cli_log_progress(NULL);
    cli_progress_free(s->progress);
    memset(s, 0, sizeof *s);
}

const vi_model *cli_session_model(cli_session *s) {
    if (!s->model) {
        vi_status st = vi_model_load(s->args->model, &s->model);
        if (st != VI_OK) {
            const char *msg = vi_last_error();
            cli_fail(s, "%s", (msg && *msg) ? msg : vi_status_str(st));
            s->fatal = 1; /* every other input would fail the same way */
            return NULL;
        }
    }
    return s->model;
}

int32_t cli_embedding_warnings(const vi_embedding *emb) {
    return vi_embedding_warnings(emb);
}

/* Warning bits in order, with their JSON names and what they mean. */
static const struct {
    int32_t bit;
    const char *name, *text;
} k_warnings[] = {
    {VI_EMBED_WARN_TRUNCATED, "truncated",
     "the video ends before its declared duration (truncated file?)"},
    {VI_EMBED_WARN_DAMAGED_FRAMES, "damaged_frames", "damaged data was skipped while decoding"},
};

const char *cli_warning_name(int32_t bit) {
    for (size_t i = 0; i < sizeof k_warnings / sizeof k_warnings[0]; i++)
        if (k_warnings[i].bit == bit) return k_warnings[i].name;
    return NULL;
}

const char *cli_warning_text(int32_t bit) {
    for (size_t i = 0; i < sizeof k_warnings / sizeof k_warnings[0]; i++)
        if (k_warnings[i].bit == bit) return k_warnings[i].text;
    return NULL;
}

static void log_warnings(const char *path, const vi_embedding *emb) {
    const int32_t w = cli_embedding_warnings(emb);
    char hms[32];
    for (int32_t bit = 1; bit > 0 && bit <= w; bit <<= 1)
        if ((w & bit) && cli_warning_text(bit))
            cli_log(CLI_LOG_WARNING, "%s: %s; %s of video embedded", path, cli_warning_text(bit),
                    cli_hms(vi_embedding_duration(emb), hms));
}

int cli_load_input(cli_session *s, const char *path, vi_embedding **out) {
    cli_kind kind = cli_sniff(path);
    const vi_model *model;
    vi_status st;
    *out = NULL;
    s->fatal = 0;
    if (kind == CLI_KIND_EMBEDDING) {
        st = vi_embedding_load(path, out);
    } else if (kind == CLI_KIND_MODEL || kind == CLI_KIND_INDEX) {
        return cli_fail(s, "%s: is a vinfringe %s, not a video or an embedding (.vemb)", path,
                        cli_kind_name(kind));
    } else {
        /* A video, or a file the library will explain it cannot read. */
        if (!(model = cli_session_model(s)))
            return CLI_EXIT_ERROR;
        st = vi_embed_video(model, path, &s->embed, out);
    }
    if (st != VI_OK) {
        const char *msg = vi_last_error();
        return cli_fail(s, "%s", (msg && *msg) ? msg : vi_status_str(st));
    }
    log_warnings(path, *out);
    return 0;
}
