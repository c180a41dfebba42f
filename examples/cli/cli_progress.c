/* cli_progress.c - progress of a run on stderr and, with --progress FILE, in machine-readable
 * form.
 *
 * On a terminal: a one-line bar, redrawn at most 10 times a second and erased at the end.
 * Otherwise (a log file, a pipe): a line when an input of a batch is done and, within a long
 * input, every 10 s; never escape codes. Both only at -v info and above, never with --quiet.
 * --progress FILE gets blocks of key=value lines (FFmpeg's -progress style), every 0.5 s and
 * at each input's start and end, the last block ending with progress=end.
 *
 * The overall ETA of a batch is measured on bytes: inputs done plus the decoded share of the
 * current one, against the total size of the inputs, extrapolated from the time spent so far.
 * The callback also turns Ctrl-C into a clean cancellation (VI_E_CANCELLED) while a video is
 * being embedded, so that no half-written output is left behind. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define BAR_WIDTH 30
#define LINE_PERIOD 10.0   /* seconds between progress lines within one input (no terminal) */
#define MACHINE_PERIOD 0.5 /* seconds between --progress blocks */

struct cli_progress {
    int bar;            /* draw a bar on the terminal */
    int lines;          /* print progress lines (no terminal) */
    FILE *machine;      /* --progress stream, or NULL */
    int sigint_ignored; /* SIGINT was ignored when the work started: leave it so */
    int drawn;          /* something is on the line */
    int last_permille;  /* last drawn position, to redraw only on change */
    double last_draw, last_line, last_machine;
    char label[48];     /* the tail of the current label, for the bar */
    char name[1100];    /* the whole label */
    const char *path;   /* the current input, borrowed until cli_progress_end */
    int n, index;       /* inputs in the batch, the current one (0-based) */
    int ended;          /* inputs ended (done or failed) */
    long long total_bytes, done_bytes, cur_bytes;
    double t0, file_t0; /* start of the run and of the current input */
    double cur_done, cur_total; /* seconds of the current input decoded / in all (0: unknown) */
};

static volatile sig_atomic_t g_interrupted;

static void on_sigint(int sig) {
    (void)sig;
    g_interrupted = 1;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

cli_progress *cli_progress_new(const cli_args *a) {
    cli_progress *p = calloc(1, sizeof *p);
    if (!p) {
        cli_error("out of memory");
        return NULL;
    }
    const int show = !a->quiet && a->loglevel >= CLI_LOG_INFO;
    const int tty = isatty(STDERR_FILENO);
    p->bar = show && tty;
    p->lines = show && !tty;
    p->n = 1;
    p->t0 = now_seconds();
    if (a->progress) {
        p->machine = fopen(a->progress, "w");
        if (!p->machine) {
            cli_error("%s: cannot write the progress: %s", a->progress, strerror(errno));
            free(p);
            return NULL;
        }
    }
    return p;
}

void cli_progress_free(cli_progress *p) {
    if (!p) return;
    if (p->machine) fclose(p->machine);
    free(p);
}

void cli_progress_batch(cli_progress *p, int n, long long bytes) {
    p->n = n > 0 ? n : 1;
    p->total_bytes = bytes;
    p->done_bytes = 0;
    p->ended = 0;
    p->t0 = now_seconds();
}

/* Share of the batch done, in [0, 1]. */
static double fraction_done(const cli_progress *p) {
    double cur = p->cur_total > 0 ? p->cur_done / p->cur_total : 0;
    if (cur > 1) cur = 1;
    if (p->total_bytes > 0)
        return ((double)p->done_bytes + cur * (double)p->cur_bytes) / (double)p->total_bytes;
    return (p->ended + cur) / p->n;
}

/* Seconds left for the whole batch, or -1 while there is too little to go on. */
static double eta_seconds(const cli_progress *p, double t) {
    const double f = fraction_done(p), elapsed = t - p->t0;
    if (f <= 0.001 || elapsed < 0.5) return -1;
    return elapsed * (1 - f) / f;
}

static void write_machine(cli_progress *p, double t, const char *state) {
    if (!p->machine) return;
    const double eta = eta_seconds(p, t);
    fprintf(p->machine, "input=%s\ninput_index=%d\ninputs=%d\ninput_time=%.3f\n"
            "input_duration=%.3f\nbytes_done=%lld\nbytes_total=%lld\nelapsed=%.3f\n",
            p->path ? p->path : "", p->index + 1, p->n, p->cur_done, p->cur_total,
            (long long)(fraction_done(p) * (double)p->total_bytes), p->total_bytes, t - p->t0);
    if (eta >= 0) fprintf(p->machine, "eta=%.3f\n", eta);
    else fputs("eta=N/A\n", p->machine);
    fprintf(p->machine, "progress=%s\n", state);
    fflush(p->machine);
    p->last_machine = t;
}

void cli_progress_start(cli_progress *p, const char *label, const char *path, int index,
                        long long bytes) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    if (old.sa_handler == SIG_IGN) /* e.g. a background job: keep ignoring Ctrl-C */
        sigaction(SIGINT, &old, NULL);
    p->sigint_ignored = old.sa_handler == SIG_IGN;
    p->drawn = 0;
    p->last_permille = -1;
    p->last_draw = 0;
    p->index = index;
    p->cur_bytes = bytes;
    p->cur_done = p->cur_total = 0;
    p->file_t0 = p->last_line = now_seconds();
    snprintf(p->name, sizeof p->name, "%s", label);
    p->path = path;
    /* Keep the tail of long labels: the file name is what tells inputs apart. */
    size_t len = strlen(label), keep = sizeof p->label - 1;
    if (len > keep)
        label += len - keep;
    memcpy(p->label, label, (len > keep ? keep : len) + 1);
    write_machine(p, p->file_t0, "continue");
}

void cli_progress_clear(cli_progress *p) {
    if (p && p->drawn) {
        fputs("\r\033[K", stderr);
        p->drawn = 0;
        p->last_permille = -1; /* redraw on the next callback */
    }
}

static void print_eta(char *buf, size_t size, double eta) {
    const long long s = (long long)(eta + 0.5);
    if (eta >= 0) snprintf(buf, size, ", ETA %02lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
    else buf[0] = '\0';
}

void cli_progress_end(cli_progress *p, int ok) {
    const double t = now_seconds();
    if (!p->sigint_ignored)
        signal(SIGINT, SIG_DFL);
    cli_progress_clear(p);
    p->done_bytes += p->cur_bytes;
    p->cur_bytes = 0;
    p->ended++;
    p->cur_done = p->cur_total = 0;
    if (ok && p->lines && p->n > 1) {
        char eta[64] = "";
        if (p->done_bytes < p->total_bytes) print_eta(eta, sizeof eta, eta_seconds(p, t));
        fprintf(stderr, "vinfringe: progress: %s done in %.1f s%s\n", p->name, t - p->file_t0,
                eta);
        fflush(stderr);
    }
    write_machine(p, t, "continue");
    p->path = NULL;
    if (g_interrupted) /* the library has cancelled; let the default action end us as usual */
        raise(SIGINT);
}

void cli_progress_finish(cli_progress *p) {
    if (p) write_machine(p, now_seconds(), "end");
}

static void draw_bar(cli_progress *p, int permille, double done, double total, double t) {
    char eta[64] = "";
    if (p->n > 1) print_eta(eta, sizeof eta, eta_seconds(p, t));
    if (permille >= 0) {
        char bar[BAR_WIDTH + 1];
        int fill = permille * BAR_WIDTH / 1000;
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, '.', (size_t)(BAR_WIDTH - fill));
        bar[BAR_WIDTH] = '\0';
        fprintf(stderr, "\r\033[K%s [%s] %3d%% %.0f/%.0f s%s", p->label, bar, permille / 10,
                done, total, eta);
    } else {
        fprintf(stderr, "\r\033[K%s %.0f s%s", p->label, done, eta);
    }
    fflush(stderr);
    p->drawn = 1;
}

int cli_progress_cb(void *user, double done, double total) {
    cli_progress *p = user;
    if (g_interrupted)
        return 1;
    const double t = now_seconds();
    p->cur_done = done;
    p->cur_total = total;
    if (p->machine && t - p->last_machine >= MACHINE_PERIOD) write_machine(p, t, "continue");
    if (p->lines && t - p->last_line >= LINE_PERIOD) {
        char eta[64];
        print_eta(eta, sizeof eta, eta_seconds(p, t));
        if (total > 0)
            fprintf(stderr, "vinfringe: progress: %s %.0f%% (%.0f/%.0f s)%s\n", p->name,
                    100.0 * (done < total ? done : total) / total, done, total, eta);
        else
            fprintf(stderr, "vinfringe: progress: %s %.0f s%s\n", p->name, done, eta);
        fflush(stderr);
        p->last_line = t;
    }
    if (!p->bar)
        return 0;
    int permille = total > 0 ? (int)(1000.0 * (done < total ? done : total) / total) : -2;
    if (permille == p->last_permille || t - p->last_draw < 0.1)
        return 0;
    p->last_permille = permille;
    p->last_draw = t;
    draw_bar(p, permille, done, total, t);
    return 0;
}
