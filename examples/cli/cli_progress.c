/* cli_progress.c - a one-line progress bar on stderr, drawn only when stderr is a terminal.
 * The callback also turns Ctrl-C into a clean cancellation (VI_E_CANCELLED) while a video is
 * being embedded, so that no half-written output is left behind. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define BAR_WIDTH 30

struct cli_progress {
    int tty;            /* draw at all */
    int sigint_ignored; /* SIGINT was ignored when the work started: leave it so */
    int drawn;          /* something is on the line */
    int last_permille;  /* last drawn position, to redraw only on change */
    double last_draw;   /* monotonic seconds of the last draw */
    char label[48];
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

cli_progress *cli_progress_new(int enabled) {
    cli_progress *p = calloc(1, sizeof *p);
    if (p)
        p->tty = enabled && isatty(STDERR_FILENO);
    return p;
}

void cli_progress_free(cli_progress *p) {
    free(p);
}

void cli_progress_start(cli_progress *p, const char *label) {
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
    /* Keep the tail of long labels: the file name is what tells inputs apart. */
    size_t len = strlen(label), keep = sizeof p->label - 1;
    if (len > keep)
        label += len - keep;
    memcpy(p->label, label, (len > keep ? keep : len) + 1);
}

void cli_progress_end(cli_progress *p) {
    if (!p->sigint_ignored)
        signal(SIGINT, SIG_DFL);
    if (p->drawn)
        fputs("\r\033[K", stderr);
    p->drawn = 0;
    if (g_interrupted) /* the library has cancelled; let the default action end us as usual */
        raise(SIGINT);
}

int cli_progress_cb(void *user, double done, double total) {
    cli_progress *p = user;
    if (g_interrupted)
        return 1;
    if (!p->tty)
        return 0;
    double t = now_seconds();
    int permille = total > 0 ? (int)(1000.0 * (done < total ? done : total) / total) : -2;
    if (permille == p->last_permille || t - p->last_draw < 0.1)
        return 0;
    p->last_permille = permille;
    p->last_draw = t;
    if (permille >= 0) {
        char bar[BAR_WIDTH + 1];
        int fill = permille * BAR_WIDTH / 1000;
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, '.', (size_t)(BAR_WIDTH - fill));
        bar[BAR_WIDTH] = '\0';
        fprintf(stderr, "\r\033[K%s [%s] %3d%% %.0f/%.0f s", p->label, bar, permille / 10, done,
                total);
    } else {
        fprintf(stderr, "\r\033[K%s %.0f s", p->label, done);
    }
    fflush(stderr);
    p->drawn = 1;
    return 0;
}
