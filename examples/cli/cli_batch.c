/* cli_batch.c - the batch loop of index build, search and report: load every input in order
 * (embed a video or read a .vemb), hand it to the command, and decide what a failure does.
 *
 * Without --keep-going the first failure stops the run with its error. With it, a failed input
 * is skipped with a warning, the run goes on, and the end lists every skipped input; the exit
 * status is then 1 (the summary is an error message). A failure that would repeat for every input (the model cannot be loaded)
 * stops the run either way. The loop keeps the inputs' order: parallel loading (--jobs) may
 * load ahead, but must call `each` in this order. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_batch_run(cli_session *s, const cli_inputs *in, cli_batch *b) {
    long long bytes = 0;
    int *failed = calloc((size_t)(in->n ? in->n : 1), sizeof *failed);
    if (!failed) return cli_error("out of memory");
    for (int i = 0; i < in->n; i++) bytes += in->v[i].bytes;
    cli_progress_batch(s->progress, in->n, bytes);
    b->done = b->skipped = 0;
    int rc = 0;
    for (int i = 0; i < in->n && rc == 0; i++) {
        const cli_input *x = &in->v[i];
        char label[1100];
        vi_embedding *emb = NULL;
        if (in->n > 1) snprintf(label, sizeof label, "%s (%d/%d)", x->id, i + 1, in->n);
        else snprintf(label, sizeof label, "%s", x->path);
        cli_progress_start(s->progress, label, x->path, i, x->bytes);
        int r = cli_load_input(s, x->path, &emb);
        cli_progress_end(s->progress, r == 0);
        if (r == 0) r = b->each(b->user, s, x, &emb);
        vi_embedding_free(emb);
        if (r == 0) {
            b->done++;
        } else if (s->args->keep_going && !s->fatal) {
            cli_log(CLI_LOG_WARNING, "skipped %s: %s", x->path, s->message);
            if (b->failed) b->failed(b->user, x, s->message);
            failed[i] = 1;
            b->skipped++;
        } else {
            rc = cli_error("%s", s->message);
        }
    }
    cli_progress_finish(s->progress);
    if (rc == 0 && b->skipped > 0) {
        rc = cli_error("%d of %d inputs failed and were skipped:", b->skipped, in->n);
        for (int i = 0; i < in->n; i++)
            if (failed[i]) cli_log(CLI_LOG_ERROR, "  %s", in->v[i].path);
    }
    free(failed);
    return rc;
}
