/*
 * cli.h - shared declarations of the `vinfringe` command (examples/cli/).
 *
 * The command is an ordinary host program: it includes only the public header and links
 * libvinfringe like any other user would. Files, one job each:
 *   cli_main.c      dispatch, `help`, `--version`
 *   cli_args.c      the option table, option parsing, generated --help, usage errors (exit 2)
 *   cli_log.c       -v/--loglevel: the command's and the library's messages on stderr
 *   cli_input.c     the session: lazy model loading, sniffing file kinds, embedding an input
 *   cli_inputs.c    inputs of a batch: directories, --ext, --id-from, ids and their uniqueness
 *   cli_batch.c     the batch loop: every input in order, --keep-going, the summary
 *   cli_progress.c  progress: a bar on a terminal, lines otherwise, --progress FILE, the ETA
 *   cli_json.c      JSON output (one object per line)
 *   cli_csv.c       CSV output (--csv)
 *   cli_text.c      readable tables and times (hh:mm:ss.mmm)
 *   cli_html.c      the self-contained HTML page of `report`
 *   cli_embed.c, cli_compare.c, cli_index.c, cli_search.c, cli_info.c, cli_report.c,
 *   cli_train.c, cli_finetune.c   the subcommands
 */
#ifndef VI_CLI_H
#define VI_CLI_H

#include <stdio.h>

#include "vinfringe.h"

/* Exit codes: the contract scripts rely on. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_ERROR = 1, CLI_EXIT_USAGE = 2 };

/* Options; a command lists the ones it accepts as a bit mask (cli_args.c has the table with
 * their names and help lines). */
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
    CLI_OPT_KIND = 1u << 9,        /* index build: --kind */
    CLI_OPT_APPEND = 1u << 10,     /* index build: --append */
    CLI_OPT_CANDIDATES = 1u << 11, /* search: --candidates */
    CLI_OPT_LOGLEVEL = 1u << 12,   /* -v / --loglevel: every command */
    CLI_OPT_KEEP_GOING = 1u << 13, /* batch commands */
    CLI_OPT_EXT = 1u << 14,        /* commands that expand directories */
    CLI_OPT_ID_FROM = 1u << 15,    /* commands that name their inputs by id */
    CLI_OPT_CSV = 1u << 16,        /* compare, search */
    CLI_OPT_PROGRESS = 1u << 17,   /* --progress FILE: machine-readable progress */
    CLI_OPT_INDEX = 1u << 18,      /* report: --index DB.vidx */
    CLI_OPT_FRAMES = 1u << 19,     /* report: --frames N thumbnails per reference */
    CLI_OPT_THRESHOLD = 1u << 20,  /* compare, search, report: --threshold T of the verdict */
    CLI_OPT_COPIES_ONLY = 1u << 21, /* search: --copies-only */
};
/* The options that control embedding, shared by every command that may embed a video. */
#define CLI_OPTS_EMBED                                                                         \
    (CLI_OPT_MODEL | CLI_OPT_FPS | CLI_OPT_KEYFRAMES | CLI_OPT_MAX_FRAMES | CLI_OPT_THREADS |  \
     CLI_OPT_QUIET | CLI_OPT_PROGRESS | CLI_OPT_LOGLEVEL)
/* The options of a command that runs over many inputs, directories included. */
#define CLI_OPTS_BATCH (CLI_OPT_KEEP_GOING | CLI_OPT_EXT)

/* Extensions of the files taken from a directory argument when --ext is not given. */
#define CLI_DEFAULT_EXTS CLI_DEFAULT_EXTS_1 CLI_DEFAULT_EXTS_2
#define CLI_DEFAULT_EXTS_1 "mp4,m4v,mov,mkv,webm,avi,wmv,flv,mpg,mpeg,ts,m2ts," /* two halves: */
#define CLI_DEFAULT_EXTS_2 "mts,3gp,ogv,vemb"                               /* --help's lines */

/* Log levels of -v/--loglevel, FFmpeg's names. The library's VI_LOG_INFO notes (FFmpeg's own
 * warnings among them) show from verbose on. */
enum { CLI_LOG_QUIET = -1, CLI_LOG_ERROR = 0, CLI_LOG_WARNING = 1, CLI_LOG_INFO = 2,
       CLI_LOG_VERBOSE = 3, CLI_LOG_DEBUG = 4 };

/* Output formats of the result commands. */
enum { CLI_FMT_TEXT = 0, CLI_FMT_JSON = 1, CLI_FMT_CSV = 2 };

/* Parsed command line of one subcommand. */
typedef struct cli_args {
    const char *model;    /* --model, NULL: the built-in model */
    const char *output;   /* -o / --output */
    double fps;           /* --fps, 0: library default */
    int top;              /* --top; 0: the command's default */
    int format;           /* CLI_FMT_*: --json, --csv */
    int keyframes;        /* --keyframes */
    int max_frames;       /* --max-frames, 0: no cap */
    int threads;          /* --threads, 0: libtorch's default */
    int quiet;            /* --quiet */
    int kind;             /* --kind, a vi_index_kind; 0: automatic */
    int append;           /* --append */
    int candidates;       /* --candidates, 0: library default */
    int loglevel;         /* -v / --loglevel, a CLI_LOG_*; default CLI_LOG_INFO */
    int keep_going;       /* --keep-going */
    const char *ext;      /* --ext, NULL: the default extensions */
    const char *id_from;  /* --id-from FILE */
    const char *progress; /* --progress FILE */
    const char *index;    /* --index DB.vidx */
    int frames;           /* --frames N; 0: the command's default */
    double threshold;     /* --threshold T; 0: each match's (the model's recommended one) */
    int copies_only;      /* --copies-only */
    unsigned given;       /* CLI_OPT_* given on the command line */
    int npos;             /* positional arguments */
    char **pos;
} cli_args;

/* A subcommand. Its --help is: usage line, summary, `help`, the options it accepts (from the
 * option table), then `notes`. */
typedef struct cli_command {
    const char *name;     /* as typed: "compare", "index build" */
    const char *synopsis; /* "[--model M] [--json] A B" */
    const char *summary;  /* one line for `vinfringe help` */
    const char *help;     /* description, before the options */
    const char *notes;    /* after the options: output format, exit status */
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
int cli_parse_double(const char *s, double *out);
/* A -v/--loglevel value (quiet, error, warning, info, debug, or FFmpeg's numbers): the
 * CLI_LOG_* level, or -2 if `s` is none of them. */
int cli_parse_loglevel(const char *s);
void cli_args_free(cli_args *args);
/* Print "vinfringe CMD: message" and a usage hint on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cli_print_help(const cli_command *cmd, FILE *f);

/* cli_log.c */
/* Route messages from now on: the command's own and the library's (vi_log_set) at `level` and
 * more severe go to stderr, as "vinfringe: error: ...", "vinfringe: warning: ...". */
void cli_log_setup(int level);
int cli_log_level(void);
void cli_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "vinfringe: error: <message>" (unless -v quiet); returns CLI_EXIT_ERROR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "vinfringe: error: <the library's message>"; returns CLI_EXIT_ERROR. */
int cli_lib_error(vi_status status);
/* The progress display a log line must erase first (NULL: none). */
struct cli_progress;
void cli_log_progress(struct cli_progress *p);

/* cli_input.c */
/* Kinds of input file, told by their first 8 bytes. */
typedef enum cli_kind {
    CLI_KIND_UNREADABLE, CLI_KIND_OTHER, CLI_KIND_MODEL, CLI_KIND_EMBEDDING, CLI_KIND_INDEX
} cli_kind;
cli_kind cli_sniff(const char *path);
const char *cli_kind_name(cli_kind kind);

/* State shared by the files of one command run: the model (loaded on first need), the embed
 * options, the progress display and the message of the last failure. */
typedef struct cli_session {
    const cli_args *args;
    vi_model *model;
    vi_embed_options embed;
    struct cli_progress *progress;
    int fatal;         /* the last failure stops a batch even with --keep-going (no model) */
    char message[1024]; /* the last failure, for the caller to print as an error or warning */
} cli_session;
int cli_session_init(cli_session *s, const cli_args *args);
void cli_session_free(cli_session *s);
/* Record a failure message in s->message; returns CLI_EXIT_ERROR. */
int cli_fail(cli_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The model, loaded on first call. Returns NULL after recording the error (fatal). */
const vi_model *cli_session_model(cli_session *s);
/* Embedding of `path`: read when it is a .vemb file, else embedded as a video; warnings of a
 * damaged or truncated video are logged. Returns 0, or CLI_EXIT_ERROR with s->message set
 * (nothing printed). The progress display must have been started for it. */
int cli_load_input(cli_session *s, const char *path, vi_embedding **out);
/* The vi_embed_warning bits of an embedding (0 for clean input). */
int32_t cli_embedding_warnings(const vi_embedding *emb);
/* The name of warning bit `bit` ("truncated", "damaged_frames") and its explanation. */
const char *cli_warning_name(int32_t bit);
const char *cli_warning_text(int32_t bit);

/* cli_inputs.c */
/* One input of a batch: its path and its id (see docs/cli.md, "Inputs and ids"). */
typedef struct cli_input {
    char *path;
    char *id;
    long long bytes; /* size on disk, weighting the overall ETA */
} cli_input;
typedef struct cli_inputs {
    cli_input *v;
    int n, cap;
} cli_inputs;
/* The inputs named by the positional arguments from `first` on (directories expanded
 * recursively, keeping the files whose extension --ext lists) and by --id-from. With `unique`,
 * two inputs with one id are a usage error naming both paths. Returns 0, or the exit status
 * after printing the error. */
int cli_inputs_collect(const cli_command *cmd, const cli_args *a, int first, int unique,
                       cli_inputs *out);
void cli_inputs_free(cli_inputs *in);
/* `arg` itself, or every regular file of the directory `arg` (sorted, not recursive, no dot
 * files), passed to `add` in turn; 0, the first nonzero `add` result, or an error status after
 * printing the message (unreadable or empty directory). train and finetune use it. */
int cli_expand_dir(const char *arg, int (*add)(void *user, const char *path), void *user);

/* cli_batch.c */
/* Called for each input that loaded, in input order; returns 0, or CLI_EXIT_ERROR with
 * s->message set (the input failed; s->fatal stops the batch even with --keep-going). `*emb`
 * is freed afterwards unless the callback keeps it (and sets *emb to NULL). */
typedef int (*cli_batch_fn)(void *user, cli_session *s, const cli_input *in, vi_embedding **emb);
/* Called for each input that failed, when the batch goes on (--keep-going). */
typedef void (*cli_batch_failed_fn)(void *user, const cli_input *in, const char *message);
typedef struct cli_batch {
    cli_batch_fn each;
    cli_batch_failed_fn failed; /* optional */
    void *user;
    int done, skipped;          /* filled by cli_batch_run */
} cli_batch;
/* Load every input in order and hand it to b->each. Without --keep-going the first failure
 * stops the run (its error printed); with it, failed inputs are skipped with a warning and
 * listed at the end. Returns 0 when every input succeeded, else CLI_EXIT_ERROR. */
int cli_batch_run(cli_session *s, const cli_inputs *in, cli_batch *b);

/* cli_progress.c */
typedef struct cli_progress cli_progress;
/* The progress display of a run: a bar on stderr when it is a terminal, a line per input (and
 * every 10 s) when it is not, both at -v info and without --quiet; and key=value blocks in the
 * file `machine` (--progress; NULL: none). Ctrl-C always cancels the work cleanly. NULL when
 * out of memory or `machine` cannot be opened (after printing why). */
cli_progress *cli_progress_new(const cli_args *a);
void cli_progress_free(cli_progress *p);
/* A batch of `n` inputs weighing `bytes` in all: the overall ETA is measured on them. */
void cli_progress_batch(cli_progress *p, int n, long long bytes);
/* Input `index` (0-based) of the batch: `path` (borrowed until cli_progress_end), `bytes` on
 * disk, shown as `label`. */
void cli_progress_start(cli_progress *p, const char *label, const char *path, int index,
                        long long bytes);
void cli_progress_end(cli_progress *p, int ok);
/* The run is over (writes progress=end to the machine stream). */
void cli_progress_finish(cli_progress *p);
/* Erase the bar before other text goes to stderr. */
void cli_progress_clear(cli_progress *p);
int cli_progress_cb(void *user, double done, double total); /* a vi_progress_fn */

/* The copy verdict of a match: its score against --threshold, or against the match's own
 * threshold (the model's recommended one; 0.5 for an uncalibrated model, which `calibrated`
 * says). `known` is 0 only without a match. */
typedef struct cli_verdict {
    int known;
    int copy;
    double threshold;
    int calibrated;
} cli_verdict;
cli_verdict cli_verdict_of(const cli_args *a, const vi_match *m);
/* Whether search shows hit i: every hit, or with --copies-only those judged copies. */
int cli_hit_shown(const cli_args *a, const vi_hits *hits, int32_t i);

/* cli_text.c */
/* `seconds` as hh:mm:ss.mmm (hours grow past 99 as needed). */
const char *cli_hms(double seconds, char buf[32]);
void cli_text_compare(FILE *f, const char *a, int32_t wa, const char *b, int32_t wb,
                      const vi_match *m, cli_verdict v);
void cli_text_search(FILE *f, const cli_args *a, const char *query, int32_t warnings,
                     const vi_hits *hits);

/* cli_json.c */
void cli_json_string(FILE *f, const char *s);
void cli_json_number(FILE *f, double v);
void cli_json_warnings(FILE *f, int32_t warnings);
void cli_json_verdict(FILE *f, cli_verdict v);
void cli_json_segments(FILE *f, const vi_match *m);
void cli_json_compare(FILE *f, const char *a, int32_t wa, const char *b, int32_t wb,
                      const vi_match *m, cli_verdict v);
void cli_json_search(FILE *f, const cli_args *a, const char *query, int32_t warnings,
                     const vi_hits *hits);
void cli_json_failed(FILE *f, const char *key, const char *input, const char *message);

/* cli_csv.c */
void cli_csv_compare(FILE *f, const char *a, const char *b, const vi_match *m, cli_verdict v);
/* search: the header once, then the lines of each query's results. */
void cli_csv_search_header(FILE *f);
void cli_csv_search(FILE *f, const cli_args *a, const char *query, const vi_hits *hits);

/* cli_html.c: the page of `report`, filled by cli_report.c. */
typedef struct cli_thumb {
    double time;         /* seconds on the video's timeline (the frame shown) */
    unsigned char *data; /* JPEG bytes (vi_buffer_free), or NULL: no image */
    size_t size;
} cli_thumb;
typedef struct cli_pair {
    cli_thumb query, ref;
    float similarity;    /* cosine of the two frame vectors */
} cli_pair;
typedef struct cli_section {
    int rank;                 /* 1 = best */
    const char *id, *path;    /* path NULL: the reference's video was not given */
    float score, video_similarity;
    cli_verdict verdict;
    const vi_match *match;    /* segments */
    double ref_duration;      /* 0: unknown */
    int n_curve;              /* query frames */
    double *curve_time;       /* seconds */
    float *curve_aligned;     /* similarity to the aligned reference frame; NAN outside */
    float *curve_best;        /* best similarity to any reference frame */
    int n_pairs;
    cli_pair *pairs;
    const char *note;         /* why something is missing, or NULL */
} cli_section;
typedef struct cli_page {
    const char *query;
    double query_duration;
    int32_t query_warnings;
    const char *model_id;
    const char *index;        /* --index, or NULL */
    int n;
    cli_section *sections;
    int thumbnails;           /* images embedded */
} cli_page;
void cli_html_write(FILE *f, const cli_page *page);

/* The subcommands (cli_<name>.c). */
extern const cli_command cli_cmd_embed, cli_cmd_compare, cli_cmd_index_build, cli_cmd_search,
    cli_cmd_info, cli_cmd_report;

#endif
