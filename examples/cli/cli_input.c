/* cli_input.c - the session of one command run: lazy model, input files, error messages. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>

#include "cli.h"

int cli_error(const char *fmt, ...) {
    va_list ap;
    fputs("vinfringe: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_ERROR;
}

int cli_lib_error(vi_status status) {
    const char *msg = vi_last_error();
    return cli_error("%s", (msg && *msg) ? msg : vi_status_str(status));
}

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

void cli_basename_noext(const char *path, char *buf, size_t size) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t len = (dot && dot != base) ? (size_t)(dot - base) : strlen(base);
    if (len >= size)
        len = size - 1;
    memcpy(buf, base, len);
    buf[len] = '\0';
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
    s->progress = cli_progress_new(!args->quiet);
    if (!s->progress)
        return cli_error("out of memory");
    s->embed.progress = cli_progress_cb;
    s->embed.progress_user = s->progress;
    return 0;
}

void cli_session_free(cli_session *s) {
    vi_model_free(s->model);
    cli_progress_free(s->progress);
    memset(s, 0, sizeof *s);
}

const vi_model *cli_session_model(cli_session *s) {
    if (!s->model) {
        vi_status st = vi_model_load(s->args->model, &s->model);
        if (st != VI_OK) {
            cli_lib_error(st);
            return NULL;
        }
    }
    return s->model;
}

int cli_load_input(cli_session *s, const char *path, const char *label, vi_embedding **out) {
    cli_kind kind = cli_sniff(path);
    const vi_model *model;
    vi_status st;
    *out = NULL;
    if (kind == CLI_KIND_EMBEDDING) {
        st = vi_embedding_load(path, out);
        return st == VI_OK ? 0 : cli_lib_error(st);
    }
    if (kind == CLI_KIND_MODEL || kind == CLI_KIND_INDEX)
        return cli_error("%s: is a vinfringe %s, not a video or an embedding (.vemb)", path,
                         cli_kind_name(kind));
    /* A video, or a file the library will explain it cannot read. */
    if (!(model = cli_session_model(s)))
        return CLI_EXIT_ERROR;
    cli_progress_start(s->progress, label);
    st = vi_embed_video(model, path, &s->embed, out);
    cli_progress_end(s->progress);
    return st == VI_OK ? 0 : cli_lib_error(st);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cli_expand_dir(const char *arg, int (*add)(void *user, const char *path), void *user) {
    struct stat st;
    if (stat(arg, &st) != 0 || !S_ISDIR(st.st_mode)) return add(user, arg);
    DIR *d = opendir(arg);
    if (!d) return cli_error("%s: cannot read the directory: %s", arg, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        size_t len = strlen(arg) + strlen(e->d_name) + 2;
        char *p = malloc(len);
        if (!p) {
            rc = cli_error("out of memory");
            break;
        }
        snprintf(p, len, "%s/%s", arg, e->d_name);
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(p);
            continue;
        }
        if (n == cap) {
            size_t c = cap ? 2 * cap : 64;
            char **grown = realloc(names, c * sizeof *names);
            if (!grown) {
                free(p);
                rc = cli_error("out of memory");
                break;
            }
            names = grown;
            cap = c;
        }
        names[n++] = p;
    }
    closedir(d);
    if (rc == 0 && n == 0) rc = cli_error("%s: the directory has no files", arg);
    if (rc == 0) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; rc == 0 && i < n; i++) rc = add(user, names[i]);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}
