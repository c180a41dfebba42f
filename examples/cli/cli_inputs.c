/* cli_inputs.c - the inputs of a batch and their ids (docs/cli.md, "Inputs and ids").
 *
 *   a file named directly          its base name without the last extension  (as in 0.3)
 *   a file found in a directory D  its path relative to D without the last extension, with '/'
 *                                  separators: D/season1/ep01.mp4 -> season1/ep01
 *   a line "ID<TAB>PATH" of --id-from FILE    ID
 *
 * Directories are walked recursively in byte order of the names, skipping names that start
 * with '.' and symbolic links to directories (no loops); a file is taken when its extension is
 * in --ext (case-insensitive; default CLI_DEFAULT_EXTS, '*' takes every file). Two inputs with
 * one id are refused before any work. The Python package's folder helper implements the same
 * rule; keep them in step. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static int add_input(cli_inputs *in, const char *path, const char *id) {
    if (in->n == in->cap) {
        int cap = in->cap ? 2 * in->cap : 32;
        cli_input *v = realloc(in->v, (size_t)cap * sizeof *v);
        if (!v) return cli_error("out of memory");
        in->v = v;
        in->cap = cap;
    }
    cli_input *x = &in->v[in->n];
    struct stat sb;
    x->path = strdup(path);
    x->id = strdup(id);
    x->bytes = stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
    if (!x->path || !x->id) {
        free(x->path);
        free(x->id);
        return cli_error("out of memory");
    }
    in->n++;
    return 0;
}

void cli_inputs_free(cli_inputs *in) {
    for (int i = 0; i < in->n; i++) {
        free(in->v[i].path);
        free(in->v[i].id);
    }
    free(in->v);
    memset(in, 0, sizeof *in);
}

/* `name` without its last extension (a leading dot is not an extension), into a new string. */
static char *strip_ext(const char *name) {
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strrchr(base, '.');
    size_t len = (dot && dot != base) ? (size_t)(dot - name) : strlen(name);
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, name, len);
        s[len] = '\0';
    }
    return s;
}

/* --ext: does `name` end in one of the extensions of `list` (comma-separated, dots optional,
 * case-insensitive; "*" matches everything)? */
static int ext_wanted(const char *list, const char *name) {
    const char *dot = strrchr(name, '.');
    if (strcmp(list, "*") == 0) return 1;
    if (!dot || dot == name) return 0;
    const size_t len = strlen(dot + 1);
    for (const char *p = list; *p;) {
        while (*p == ',' || *p == '.' || *p == ' ') p++;
        const char *end = p;
        while (*end && *end != ',') end++;
        if ((size_t)(end - p) == len && strncasecmp(p, dot + 1, len) == 0) return 1;
        p = end;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted entry names of directory `dir` (no dot files), or NULL after printing an error. */
static char **list_dir(const char *dir, size_t *count) {
    DIR *d = opendir(dir);
    if (!d) {
        cli_error("%s: cannot read the directory: %s", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int bad = 0;
    while (!bad && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n + 1 >= cap) {
            size_t c = cap ? 2 * cap : 64;
            char **grown = realloc(names, c * sizeof *names);
            if (!grown) {
                bad = 1;
                break;
            }
            names = grown;
            cap = c;
        }
        if (!(names[n] = strdup(e->d_name))) bad = 1;
        else n++;
    }
    closedir(d);
    if (bad) {
        for (size_t i = 0; i < n; i++) free(names[i]);
        free(names);
        cli_error("out of memory");
        return NULL;
    }
    if (!names && !(names = calloc(1, sizeof *names))) {
        cli_error("out of memory");
        return NULL;
    }
    qsort(names, n, sizeof *names, cmp_str);
    *count = n;
    return names;
}

/* A directory walk: every wanted file below `root` goes to `visit` with its path relative to
 * `root`. `rel` is the current subdirectory ("" at the top). */
typedef struct walk {
    const char *root;
    const char *exts;  /* NULL: every file */
    int recursive;
    int (*visit)(void *user, const char *path, const char *rel);
    void *user;
    int found;
} walk;

static char *join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    int slash = la > 0 && a[la - 1] != '/';
    char *s = malloc(la + (size_t)slash + lb + 1);
    if (s) snprintf(s, la + (size_t)slash + lb + 1, "%s%s%s", a, slash ? "/" : "", b);
    return s;
}

static int walk_dir(walk *w, const char *rel) {
    char *dir = *rel ? join(w->root, rel) : strdup(w->root);
    size_t n = 0;
    char **names = dir ? list_dir(dir, &n) : NULL;
    int rc = names ? 0 : CLI_EXIT_ERROR;
    if (!dir) cli_error("out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char *path = join(dir, names[i]);
        char *sub = *rel ? join(rel, names[i]) : strdup(names[i]);
        struct stat sb, lsb;
        if (!path || !sub) {
            rc = cli_error("out of memory");
        } else if (stat(path, &sb) != 0) {
            /* a dangling link or a file removed meanwhile: not an input */
        } else if (S_ISDIR(sb.st_mode)) {
            if (w->recursive && lstat(path, &lsb) == 0 && !S_ISLNK(lsb.st_mode))
                rc = walk_dir(w, sub);
        } else if (S_ISREG(sb.st_mode) && (!w->exts || ext_wanted(w->exts, names[i]))) {
            w->found++;
            rc = w->visit(w->user, path, sub);
        }
        free(path);
        free(sub);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    free(dir);
    return rc;
}

/* ---- cli_expand_dir: the flat, unfiltered walk of train and finetune ---------------------- */

typedef struct flat_add {
    int (*add)(void *user, const char *path);
    void *user;
} flat_add;

static int flat_visit(void *user, const char *path, const char *rel) {
    (void)rel;
    const flat_add *f = user;
    return f->add(f->user, path);
}

int cli_expand_dir(const char *arg, int (*add)(void *user, const char *path), void *user) {
    struct stat st;
    if (stat(arg, &st) != 0 || !S_ISDIR(st.st_mode)) return add(user, arg);
    flat_add f = {add, user};
    walk w = {arg, NULL, 0, flat_visit, &f, 0};
    int rc = walk_dir(&w, "");
    if (rc == 0 && w.found == 0) rc = cli_error("%s: the directory has no files", arg);
    return rc;
}

/* ---- batch inputs --------------------------------------------------------------------------- */

static int visit_input(void *user, const char *path, const char *rel) {
    char *id = strip_ext(rel);
    int rc = id ? add_input(user, path, id) : cli_error("out of memory");
    free(id);
    return rc;
}

static int add_argument(cli_inputs *in, const char *arg, const char *exts) {
    struct stat st;
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
        walk w = {arg, exts, 1, visit_input, in, 0};
        int rc = walk_dir(&w, "");
        if (rc == 0 && w.found == 0)
            rc = cli_error("%s: the directory holds no file with the extensions %s (see --ext)",
                           arg, exts ? exts : "*");
        return rc;
    }
    /* A file (or a missing one: loading it reports the error, or skips it with --keep-going). */
    const char *slash = strrchr(arg, '/');
    char *id = strip_ext(slash ? slash + 1 : arg);
    int rc = id ? add_input(in, arg, id) : cli_error("out of memory");
    free(id);
    return rc;
}

/* --id-from FILE: "ID<TAB>PATH" lines; '#' lines and blank lines are skipped. */
static int add_list(const cli_command *cmd, cli_inputs *in, const char *file) {
    const int is_stdin = strcmp(file, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(file, "r");
    if (!f) return cli_error("%s: cannot open the id list: %s", file, strerror(errno));
    /* Relative paths are relative to the list's directory (as FFmpeg's concat lists). */
    const char *slash = strrchr(file, '/');
    char *dir = NULL;
    if (!is_stdin && slash && !(dir = strndup(file, (size_t)(slash - file + 1)))) {
        fclose(f);
        return cli_error("out of memory");
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0, lineno = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0 || line[0] == '#') continue;
        char *tab = strchr(line, '\t');
        if (!tab || tab == line || tab[1] == '\0') {
            rc = cli_usage_error(cmd, "%s:%d: expected ID<TAB>PATH", file, lineno);
            break;
        }
        *tab = '\0';
        const char *path = tab + 1;
        char *full = (path[0] != '/' && dir) ? join(dir, path) : strdup(path);
        struct stat sb;
        if (!full)
            rc = cli_error("out of memory");
        else if (stat(full, &sb) == 0 && S_ISDIR(sb.st_mode))
            rc = cli_usage_error(cmd, "%s:%d: %s is a directory (the list names files)", file,
                                 lineno, full);
        else
            rc = add_input(in, full, line);
        free(full);
    }
    free(line);
    free(dir);
    if (!is_stdin) fclose(f);
    return rc;
}

static int cmp_index_by_id(const void *a, const void *b, void *user) {
    const cli_input *v = user;
    const int i = *(const int *)a, j = *(const int *)b;
    int c = strcmp(v[i].id, v[j].id);
    return c ? c : (i > j) - (i < j);
}

/* Two inputs with one id: a usage error naming both, before any work. */
static int check_unique(const cli_command *cmd, const cli_inputs *in) {
    int *order = malloc((size_t)(in->n ? in->n : 1) * sizeof *order);
    if (!order) return cli_error("out of memory");
    for (int i = 0; i < in->n; i++) order[i] = i;
    qsort_r(order, (size_t)in->n, sizeof *order, cmp_index_by_id, in->v);
    int rc = 0;
    for (int k = 1; rc == 0 && k < in->n; k++) {
        const cli_input *a = &in->v[order[k - 1]], *b = &in->v[order[k]];
        if (strcmp(a->id, b->id) == 0)
            rc = cli_usage_error(cmd, "%s and %s would both get the id '%s'; give the inputs "
                                 "their ids with --id-from FILE (lines ID<TAB>PATH), or pass "
                                 "their common parent directory", a->path, b->path, a->id);
    }
    free(order);
    return rc;
}

int cli_inputs_collect(const cli_command *cmd, const cli_args *a, int first, int unique,
                       cli_inputs *out) {
    const char *exts = a->ext ? a->ext : CLI_DEFAULT_EXTS;
    int rc = 0;
    memset(out, 0, sizeof *out);
    if (a->ext && strspn(a->ext, " ,.") == strlen(a->ext))
        return cli_usage_error(cmd, "bad value '%s' for --ext (expected extensions such as "
                               "mp4,mkv, or '*')", a->ext);
    for (int i = first; rc == 0 && i < a->npos; i++) rc = add_argument(out, a->pos[i], exts);
    if (rc == 0 && a->id_from) rc = add_list(cmd, out, a->id_from);
    if (rc == 0 && out->n == 0) rc = cli_usage_error(cmd, "no inputs");
    if (rc == 0 && unique) rc = check_unique(cmd, out);
    if (rc != 0) cli_inputs_free(out);
    return rc;
}
