/*
 * cli.h - shared declarations of the `vinfringe` command (examples/cli/).
 *
 * The command is an ordinary host program: it includes only the public header and links
 * libvinfringe like any other user would. Files, one job each:
 *   cli_main.c      dispatch, `help`, `--version`
 *   cli_args.c      option parsing and usage errors (exit 2)
 *   cli_input.c     the session: lazy model loading, sniffing file kinds, library errors (exit 1)
 *   cli_progress.c  the progress bar on stderr (only when stderr is a terminal)
 *   cli_json.c      JSON output (one object per line)
 *   cli_report.c    readable tables
 *   cli_embed.c, cli_compare.c, cli_index.c, cli_search.c, cli_info.c   the subcommands
 */
#ifndef VI_CLI_H
#define VI_CLI_H

#include <stdio.h>

#include "vinfringe.h"

/* Exit codes: the contract scripts rely on. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_ERROR = 1, CLI_EXIT_USAGE = 2 };

/* Options; a command lists the ones it accepts as a bit mask. */
enum {
    CLI_OPT_MODEL = 1u << 0,
    CLI_OPT_FPS = 1u << 1,
    CLI_OPT_OUTPUT = 1u << 2,
    CLI_OPT_JSON = 1u << 3,
    CLI_OPT_TOP = 1u << 4,
    CLI_OPT_KEYFRAMES = 1u << 5,
    CLI_OPT_MAX_FRAMES = 1u << 6,
    CLI_OPT_THREADS = 1u << 7,
    CLI_OPT_QUIET = 1u << 8,
    CLI_OPT_KIND = 1u << 9,       /* index build: --kind */
    CLI_OPT_APPEND = 1u << 10,    /* index build: --append */
    CLI_OPT_CANDIDATES = 1u << 11, /* search: --candidates */
};
/* The options that control embedding, shared by every command that may embed a video. */
#define CLI_OPTS_EMBED                                                                         \
    (CLI_OPT_MODEL | CLI_OPT_FPS | CLI_OPT_KEYFRAMES | CLI_OPT_MAX_FRAMES | CLI_OPT_THREADS |  \
     CLI_OPT_QUIET)

/* Parsed command line of one subcommand. */
typedef struct cli_args {
    const char *model;  /* --model, NULL: the built-in model */
    const char *output; /* -o / --output */
    double fps;         /* --fps, 0: library default */
    int top;            /* --top, default 10 */
    int json;           /* --json */
    int keyframes;      /* --keyframes */
    int max_frames;     /* --max-frames, 0: no cap */
    int threads;        /* --threads, 0: libtorch's default */
    int quiet;          /* --quiet */
    int kind;           /* --kind, a vi_index_kind; 0: automatic */
    int append;         /* --append */
    int candidates;     /* --candidates, 0: library default */
    int npos;           /* positional arguments */
    char **pos;
} cli_args;

/* A subcommand. */
typedef struct cli_command {
    const char *name;     /* as typed: "compare", "index build" */
    const char *synopsis; /* "[--model M] [--json] A B" */
    const char *summary;  /* one line for `vinfringe help` */
    const char *help;     /* the rest of `--help`: description and options */
    unsigned options;     /* CLI_OPT_* accepted */
    unsigned required;    /* CLI_OPT_* that must be given */
    int min_pos, max_pos; /* positional count; max_pos < 0: unlimited */
    int (*run)(const cli_args *args);
} cli_command;

/* cli_args.c */
/* Parse argv (the words after the subcommand name). Returns -1 when parsing succeeded,
 * otherwise the exit code to return at once (0 after --help, 2 after a usage error). */
int cli_parse(const cli_command *cmd, int argc, char **argv, cli_args *out);
/* A whole-string integer in [lo, hi] / a whole-string finite-or-not double: 0, or -1 if `s` is
 * not one (the subcommands with their own option tables use these). */
int cli_parse_long(const char *s, long lo, long hi, long *out);
/* `arg` itself, or every regular file of the directory `arg` (sorted, not recursive, no dot
 * files), passed to `add` in turn; 0, the first nonzero `add` result, or an error status after
 * printing the message (unreadable or empty directory). */
int cli_expand_dir(const char *arg, int (*add)(void *user, const char *path), void *user);
int cli_parse_double(const char *s, double *out);
void cli_args_free(cli_args *args);
/* Print "vinfringe CMD: message" and a usage hint on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cli_print_help(const cli_command *cmd, FILE *f);

/* cli_input.c */
/* Kinds of input file, told by their first 8 bytes. */
typedef enum cli_kind {
    CLI_KIND_UNREADABLE, CLI_KIND_OTHER, CLI_KIND_MODEL, CLI_KIND_EMBEDDING, CLI_KIND_INDEX
} cli_kind;
cli_kind cli_sniff(const char *path);
const char *cli_kind_name(cli_kind kind);

/* State shared by the files of one command run: the model (loaded on first need), the embed
 * options and the progress bar. */
typedef struct cli_session {
    const cli_args *args;
    vi_model *model;
    vi_embed_options embed;
    struct cli_progress *progress;
} cli_session;
int cli_session_init(cli_session *s, const cli_args *args);
void cli_session_free(cli_session *s);
/* The model, loaded on first call. Returns NULL after printing an error. */
const vi_model *cli_session_model(cli_session *s);
/* Embedding of `path`: read when it is a .vemb file, else embedded as a video. `label` names
 * the work on the progress bar. Returns 0, or 1 after printing an error. */
int cli_load_input(cli_session *s, const char *path, const char *label, vi_embedding **out);

/* Print "vinfringe: error: <the library's message>"; returns CLI_EXIT_ERROR. */
int cli_lib_error(vi_status status);
/* Print "vinfringe: error: <message>"; returns CLI_EXIT_ERROR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The file name without directory and last extension, into buf. */
void cli_basename_noext(const char *path, char *buf, size_t size);

/* cli_progress.c */
typedef struct cli_progress cli_progress;
/* A bar drawn on stderr when `enabled` and stderr is a terminal; else a silent object that
 * still lets Ctrl-C cancel the work cleanly. */
cli_progress *cli_progress_new(int enabled);
void cli_progress_free(cli_progress *p);
void cli_progress_start(cli_progress *p, const char *label);
void cli_progress_end(cli_progress *p);
int cli_progress_cb(void *user, double done, double total); /* a vi_progress_fn */

/* cli_json.c */
void cli_json_string(FILE *f, const char *s);
void cli_json_number(FILE *f, double v);
void cli_json_segments(FILE *f, const vi_match *m);
void cli_json_compare(FILE *f, const char *a, const char *b, const vi_match *m);
void cli_json_search(FILE *f, const char *query, const vi_hits *hits);

/* cli_report.c */
void cli_report_compare(FILE *f, const char *a, const char *b, const vi_match *m);
void cli_report_search(FILE *f, const char *query, const vi_hits *hits);

/* The subcommands (cli_<name>.c). */
extern const cli_command cli_cmd_embed, cli_cmd_compare, cli_cmd_index_build, cli_cmd_search,
    cli_cmd_info;

#endif
