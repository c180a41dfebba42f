/* cli_args.c - the option table, option parsing and --help for every subcommand; usage errors
 * exit with status 2. Each option is defined once here (name, value, help line); a command
 * lists the options it accepts as a bit mask and its --help shows exactly those. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct opt_spec {
    const char *name;  /* long name without "--" */
    char short_name;   /* 0: none */
    unsigned bit;      /* CLI_OPT_* */
    const char *value; /* name of the value in --help; NULL: a flag */
    const char *help;  /* the help line(s) */
} opt_spec;

/* In --help order. */
static const opt_spec k_opts[] = {
    {"output", 'o', CLI_OPT_OUTPUT, "FILE", "where to write the result (required)"},
    {"index", 0, CLI_OPT_INDEX, "DB.vidx",
     "report on the top hits of a search of DB.vidx for\n"
     "QUERY; the REFERENCE arguments (files, directories,\n"
     "--id-from) then say where each id's video is"},
    {"top", 'k', CLI_OPT_TOP, "K",
     "results per query, best first (default: search 10,\n"
     "report 3)"},
    {"candidates", 0, CLI_OPT_CANDIDATES, "N",
     "references re-ranked by the full comparison, chosen\n"
     "by a vote of the nearest frame vectors (default 20,\n"
     "never fewer than K; an index of at most that many\n"
     "references is compared in full)"},
    {"threshold", 0, CLI_OPT_THRESHOLD, "T",
     "threshold of the copy verdict, in (0, 1] (default: the\n"
     "model's recommended one, docs/thresholds.md)"},
    {"copies-only", 0, CLI_OPT_COPIES_ONLY, NULL, "list only the results judged copies"},
    {"frames", 0, CLI_OPT_FRAMES, "N", "matched frame pairs shown per reference (default 6)"},
    {"append", 0, CLI_OPT_APPEND, NULL,
     "add to DB.vidx (created if missing) instead of\n"
     "replacing it; each input is committed as it is added"},
    {"kind", 0, CLI_OPT_KIND, "K",
     "how frame vectors are searched: auto (default: exact\n"
     "below 100000 vectors, ivfpq above), exact, hnsw or\n"
     "ivfpq; with --append, auto keeps the index's kind"},
    {"id-from", 0, CLI_OPT_ID_FROM, "FILE",
     "more inputs, with their ids: one 'ID<TAB>PATH' per\n"
     "line (PATH relative to FILE's directory; '-': stdin)"},
    {"ext", 0, CLI_OPT_EXT, "LIST",
     "extensions of the files taken from directories,\n"
     "comma-separated ('*': every file); default:\n"
     CLI_DEFAULT_EXTS_1 "\n" CLI_DEFAULT_EXTS_2},
    {"keep-going", 0, CLI_OPT_KEEP_GOING, NULL,
     "skip an input that fails (with a warning) and go on;\n"
     "the failed inputs are listed at the end, exit status 1"},
    {"json", 0, CLI_OPT_JSON, NULL, "JSON output: one object per line"},
    {"csv", 0, CLI_OPT_CSV, NULL, "CSV output: a header line, then a line per result"},
    {"model", 'm', CLI_OPT_MODEL, "M",
     "model file (.vimodel) for the inputs that are videos;\n"
     "default: the model built into the library"},
    {"fps", 0, CLI_OPT_FPS, "F", "frames sampled per second of video (default 1)"},
    {"keyframes", 0, CLI_OPT_KEYFRAMES, NULL, "decode keyframes only (faster, coarser)"},
    {"max-frames", 0, CLI_OPT_MAX_FRAMES, "N", "stop after N sampled frames"},
    {"threads", 0, CLI_OPT_THREADS, "N", "threads for the backbone (default: libtorch's)"},
    {"progress", 0, CLI_OPT_PROGRESS, "FILE",
     "write machine-readable progress to FILE: key=value\n"
     "lines, each block ending with progress=continue or\n"
     "progress=end"},
    {"loglevel", 'v', CLI_OPT_LOGLEVEL, "LEVEL",
     "messages on stderr: quiet, error, warning, info\n"
     "(the default: also progress), verbose (also FFmpeg's\n"
     "and the library's notes) or debug"},
    {"quiet", 'q', CLI_OPT_QUIET, NULL, "no progress and no summary line"},
};
#define N_OPTS (sizeof k_opts / sizeof k_opts[0])

/* --kind names, indexed by vi_index_kind. */
static const char *const k_kinds[] = {"auto", "exact", "hnsw", "ivfpq"};

/* "  -o, --output FILE  " padded to the help column. */
#define HELP_COLUMN 24

static void print_option(FILE *f, const char *shortname, const char *longname,
                         const char *value, const char *help) {
    char left[64];
    snprintf(left, sizeof left, "  %s%s--%s%s%s", shortname ? shortname : "    ",
             shortname ? ", " : "", longname, value ? " " : "", value ? value : "");
    fprintf(f, "%-*s", HELP_COLUMN, left);
    if ((int)strlen(left) >= HELP_COLUMN) fprintf(f, "\n%*s", HELP_COLUMN, "");
    for (const char *p = help; *p; p++) {
        fputc(*p, f);
        if (*p == '\n') fprintf(f, "%*s", HELP_COLUMN, "");
    }
    fputc('\n', f);
}

void cli_print_help(const cli_command *cmd, FILE *f) {
    fprintf(f, "Usage: vinfringe %s %s\n\n%s\n%s\nOptions:\n", cmd->name, cmd->synopsis,
            cmd->summary, cmd->help);
    for (size_t i = 0; i < N_OPTS; i++) {
        if (!(cmd->options & k_opts[i].bit)) continue;
        char s[3] = {'-', k_opts[i].short_name, 0};
        print_option(f, k_opts[i].short_name ? s : NULL, k_opts[i].name, k_opts[i].value,
                     k_opts[i].help);
    }
    print_option(f, "-h", "help", NULL, "this help");
    fprintf(f, "\n%s", cmd->notes ? cmd->notes : "Exit status: 0 ok, 1 error, 2 bad usage.\n");
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

int cli_parse_loglevel(const char *s) {
    /* FFmpeg's names and numbers, mapped onto the six levels the command has. */
    static const struct { const char *name; int level, number; } k_levels[] = {
        {"quiet", CLI_LOG_QUIET, -8}, {"panic", CLI_LOG_ERROR, 0},
        {"fatal", CLI_LOG_ERROR, 8},  {"error", CLI_LOG_ERROR, 16},
        {"warning", CLI_LOG_WARNING, 24}, {"info", CLI_LOG_INFO, 32},
        {"verbose", CLI_LOG_VERBOSE, 40}, {"debug", CLI_LOG_DEBUG, 48},
        {"trace", CLI_LOG_DEBUG, 56},
    };
    const int n = (int)(sizeof k_levels / sizeof k_levels[0]);
    long number;
    for (int i = 0; i < n; i++)
        if (strcmp(s, k_levels[i].name) == 0) return k_levels[i].level;
    if (cli_parse_long(s, -8, 1000, &number) == 0) {
        for (int i = n - 1; i >= 0; i--)
            if (number >= k_levels[i].number) return k_levels[i].level;
        return CLI_LOG_QUIET;
    }
    return -2;
}

/* Store the value of one option; returns -1 or an exit code as cli_parse. */
static int set_option(const cli_command *cmd, const opt_spec *o, const char *v, cli_args *a) {
    int bad = 0;
    switch (o->bit) {
    case CLI_OPT_MODEL: a->model = v; break;
    case CLI_OPT_OUTPUT: a->output = v; break;
    case CLI_OPT_JSON: a->format = CLI_FMT_JSON; break;
    case CLI_OPT_CSV: a->format = CLI_FMT_CSV; break;
    case CLI_OPT_KEYFRAMES: a->keyframes = 1; break;
    case CLI_OPT_QUIET: a->quiet = 1; break;
    case CLI_OPT_FPS: bad = parse_positive(v, &a->fps); break;
    case CLI_OPT_TOP: bad = parse_int(v, 1, &a->top); break;
    case CLI_OPT_MAX_FRAMES: bad = parse_int(v, 1, &a->max_frames); break;
    case CLI_OPT_THREADS: bad = parse_int(v, 1, &a->threads); break;
    case CLI_OPT_APPEND: a->append = 1; break;
    case CLI_OPT_CANDIDATES: bad = parse_int(v, 1, &a->candidates); break;
    case CLI_OPT_KEEP_GOING: a->keep_going = 1; break;
    case CLI_OPT_EXT: a->ext = v; break;
    case CLI_OPT_ID_FROM: a->id_from = v; break;
    case CLI_OPT_PROGRESS: a->progress = v; break;
    case CLI_OPT_INDEX: a->index = v; break;
    case CLI_OPT_FRAMES: bad = parse_int(v, 1, &a->frames) || a->frames > 100; break;
    case CLI_OPT_THRESHOLD: bad = parse_positive(v, &a->threshold) || a->threshold > 1.0; break;
    case CLI_OPT_COPIES_ONLY: a->copies_only = 1; break;
    case CLI_OPT_LOGLEVEL:
        if ((a->loglevel = cli_parse_loglevel(v)) < CLI_LOG_QUIET)
            return cli_usage_error(cmd, "bad value '%s' for --loglevel (expected quiet, error, "
                                   "warning, info, verbose or debug)", v);
        break;
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
                               o->bit == CLI_OPT_FPS       ? "positive number"
                               : o->bit == CLI_OPT_THRESHOLD ? "number in (0, 1]"
                               : o->bit == CLI_OPT_FRAMES ? "whole number from 1 to 100"
                                                          : "positive integer");
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
static int parse_option(const cli_command *cmd, int argc, char **argv, int *i, cli_args *a) {
    const char *word = argv[*i], *value = NULL;
    const opt_spec *o;
    if (word[1] == '-') {
        const char *eq = strchr(word + 2, '=');
        o = find_long(word + 2, eq ? (size_t)(eq - word - 2) : strlen(word + 2));
        value = eq ? eq + 1 : NULL;
    } else {
        o = find_short(word[1]);
        value = (o && word[2] != '\0') ? word + 2 : NULL;
        if (o && value && !o->value)
            o = NULL; /* no bundling of flags: "-qx" is unknown */
    }
    if (!o || !(cmd->options & o->bit))
        return cli_usage_error(cmd, "unknown option '%s'", word);
    if (!o->value && value)
        return cli_usage_error(cmd, "option --%s takes no value", o->name);
    if (o->value && !value) {
        if (*i + 1 >= argc)
            return cli_usage_error(cmd, "option '%s' needs a value", word);
        value = argv[++*i];
    }
    if ((o->bit == CLI_OPT_JSON && (a->given & CLI_OPT_CSV)) ||
        (o->bit == CLI_OPT_CSV && (a->given & CLI_OPT_JSON)))
        return cli_usage_error(cmd, "--json and --csv exclude each other");
    a->given |= o->bit;
    return set_option(cmd, o, value, a);
}

static int wants_help(int argc, char **argv) {
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, cli_args *a) {
    int no_more_options = 0;
    memset(a, 0, sizeof *a);
    a->loglevel = CLI_LOG_INFO;
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
            int rc = parse_option(cmd, argc, argv, &i, a);
            if (rc >= 0)
                return rc;
        }
    }
    if ((cmd->required & CLI_OPT_OUTPUT) && !(a->given & CLI_OPT_OUTPUT))
        return cli_usage_error(cmd, "missing -o OUTPUT");
    /* --id-from names inputs too: it stands for the last positional arguments. */
    const int from_list = (a->given & CLI_OPT_ID_FROM) ? 1 : 0;
    if (a->npos + from_list < cmd->min_pos)
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
