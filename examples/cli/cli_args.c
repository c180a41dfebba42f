/* cli_args.c - option parsing for every subcommand; usage errors exit with status 2. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct opt_spec {
    const char *name; /* long name without "--" */
    char short_name;  /* 0: none */
    unsigned bit;     /* CLI_OPT_* */
    int takes_value;
} opt_spec;

static const opt_spec k_opts[] = {
    {"model", 'm', CLI_OPT_MODEL, 1},         {"fps", 0, CLI_OPT_FPS, 1},
    {"output", 'o', CLI_OPT_OUTPUT, 1},       {"json", 0, CLI_OPT_JSON, 0},
    {"top", 'k', CLI_OPT_TOP, 1},             {"keyframes", 0, CLI_OPT_KEYFRAMES, 0},
    {"max-frames", 0, CLI_OPT_MAX_FRAMES, 1}, {"threads", 0, CLI_OPT_THREADS, 1},
    {"quiet", 'q', CLI_OPT_QUIET, 0},         {"kind", 0, CLI_OPT_KIND, 1},
    {"append", 0, CLI_OPT_APPEND, 0},         {"candidates", 0, CLI_OPT_CANDIDATES, 1},
};

/* --kind names, indexed by vi_index_kind. */
static const char *const k_kinds[] = {"auto", "exact", "hnsw", "ivfpq"};
#define N_OPTS (sizeof k_opts / sizeof k_opts[0])

void cli_print_help(const cli_command *cmd, FILE *f) {
    fprintf(f, "Usage: vinfringe %s %s\n\n%s\n%s", cmd->name, cmd->synopsis, cmd->summary,
            cmd->help);
}

int cli_usage_error(const cli_command *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "vinfringe %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nUsage: vinfringe %s %s\nTry 'vinfringe %s --help' for more information.\n",
            cmd->name, cmd->synopsis, cmd->name);
    return CLI_EXIT_USAGE;
}

static int parse_int(const char *s, int min, int *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > INT_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_positive(const char *s, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno != 0 || !isfinite(v) || v <= 0)
        return -1;
    *out = v;
    return 0;
}

/* Store the value of one option; returns -1 or an exit code as cli_parse. */
static int set_option(const cli_command *cmd, const opt_spec *o, const char *v, cli_args *a) {
    int bad = 0;
    switch (o->bit) {
    case CLI_OPT_MODEL: a->model = v; break;
    case CLI_OPT_OUTPUT: a->output = v; break;
    case CLI_OPT_JSON: a->json = 1; break;
    case CLI_OPT_KEYFRAMES: a->keyframes = 1; break;
    case CLI_OPT_QUIET: a->quiet = 1; break;
    case CLI_OPT_FPS: bad = parse_positive(v, &a->fps); break;
    case CLI_OPT_TOP: bad = parse_int(v, 1, &a->top); break;
    case CLI_OPT_MAX_FRAMES: bad = parse_int(v, 1, &a->max_frames); break;
    case CLI_OPT_THREADS: bad = parse_int(v, 1, &a->threads); break;
    case CLI_OPT_APPEND: a->append = 1; break;
    case CLI_OPT_CANDIDATES: bad = parse_int(v, 1, &a->candidates); break;
    case CLI_OPT_KIND:
        a->kind = -1;
        for (int i = 0; i < (int)(sizeof k_kinds / sizeof k_kinds[0]); i++)
            if (strcmp(v, k_kinds[i]) == 0) a->kind = i;
        if (a->kind < 0)
            return cli_usage_error(cmd, "bad value '%s' for --kind (expected auto, exact, hnsw "
                                   "or ivfpq)", v);
        break;
    default: break;
    }
    if (bad)
        return cli_usage_error(cmd, "bad value '%s' for --%s (expected a %s)", v, o->name,
                               o->bit == CLI_OPT_FPS ? "positive number" : "positive integer");
    return -1;
}

static const opt_spec *find_long(const char *name, size_t len) {
    for (size_t i = 0; i < N_OPTS; i++)
        if (strlen(k_opts[i].name) == len && strncmp(k_opts[i].name, name, len) == 0)
            return &k_opts[i];
    return NULL;
}

static const opt_spec *find_short(char c) {
    for (size_t i = 0; i < N_OPTS; i++)
        if (k_opts[i].short_name == c)
            return &k_opts[i];
    return NULL;
}

/* One option word at argv[*i] (may consume the next word as its value). */
static int parse_option(const cli_command *cmd, int argc, char **argv, int *i, cli_args *a,
                        unsigned *given) {
    const char *word = argv[*i], *value = NULL;
    const opt_spec *o;
    if (word[1] == '-') {
        const char *eq = strchr(word + 2, '=');
        o = find_long(word + 2, eq ? (size_t)(eq - word - 2) : strlen(word + 2));
        value = eq ? eq + 1 : NULL;
    } else {
        o = find_short(word[1]);
        value = (o && word[2] != '\0') ? word + 2 : NULL;
        if (o && value && !o->takes_value)
            o = NULL; /* no bundling of flags: "-qx" is unknown */
    }
    if (!o || !(cmd->options & o->bit))
        return cli_usage_error(cmd, "unknown option '%s'", word);
    if (!o->takes_value && value)
        return cli_usage_error(cmd, "option --%s takes no value", o->name);
    if (o->takes_value && !value) {
        if (*i + 1 >= argc)
            return cli_usage_error(cmd, "option '%s' needs a value", word);
        value = argv[++*i];
    }
    *given |= o->bit;
    return set_option(cmd, o, value, a);
}

static int wants_help(int argc, char **argv) {
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, cli_args *a) {
    unsigned given = 0;
    int no_more_options = 0;
    memset(a, 0, sizeof *a);
    a->top = 10;
    if (wants_help(argc, argv)) {
        cli_print_help(cmd, stdout);
        return CLI_EXIT_OK;
    }
    a->pos = calloc((size_t)argc + 1, sizeof *a->pos);
    if (!a->pos)
        return cli_error("out of memory");
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (no_more_options || w[0] != '-' || w[1] == '\0') {
            a->pos[a->npos++] = argv[i];
        } else if (strcmp(w, "--") == 0) {
            no_more_options = 1;
        } else {
            int rc = parse_option(cmd, argc, argv, &i, a, &given);
            if (rc >= 0)
                return rc;
        }
    }
    if ((cmd->required & CLI_OPT_OUTPUT) && !(given & CLI_OPT_OUTPUT))
        return cli_usage_error(cmd, "missing -o OUTPUT");
    if (a->npos < cmd->min_pos)
        return cli_usage_error(cmd, "missing argument");
    if (cmd->max_pos >= 0 && a->npos > cmd->max_pos)
        return cli_usage_error(cmd, "too many arguments");
    return -1;
}

void cli_args_free(cli_args *args) {
    free(args->pos);
    args->pos = NULL;
    args->npos = 0;
}

int cli_parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end) return -1;
    *out = v;
    return 0;
}
