/* make check-crash: crash safety of the on-disk index. A child process appends to an index, or
 * rebuilds it, and is killed with SIGKILL: once before each write-path system call it makes in
 * turn (vi__fault_kill_at_write: every open-to-create, write, sync, truncate, rename and unlink
 * of lib/), then at random moments. After every kill the index must open (read-only, as a
 * search would) with every entry whose add had returned VI_OK before the kill (at most the one
 * add under way may be there too), a rebuild must show the old or the new index whole; and once
 * the next writer has opened it, nothing may be left but the manifest, its lock, one data file
 * and the FAISS cache: no temporary file, no orphaned data file.
 *
 * The parent only forks, kills, reads what the children report through a pipe and lists the
 * directory: every library call runs in a child (libgomp and libtorch are not fork-safe).
 *
 *   crash_main FIXTURES_DIR [RANDOM_KILLS]   (make check-crash) */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "vinfringe.h"

#define N_REFS 6

static char dir[64], db[96];
static const char *const clips[] = {"clip_a.mp4", "clip_b.mp4", "clip_vp8.webm",
                                    "one_frame.mp4", "clip_mpeg2.ts", "clip_a_copy.mp4"};

static const char *vemb(int i) {
    static char p[2][128];
    snprintf(p[i & 1], sizeof p[0], "%s/ref%d.vemb", dir, i);
    return p[i & 1];
}

/* ---- children ---------------------------------------------------------------------------- */

static void report(int fd, const char *line) {
    if (write(fd, line, strlen(line)) < 0) _exit(3);
}

/* Embed the clips once (the only child that loads the model). */
static int child_embed(const char *fixtures) {
    vi_model *m;
    if (vi_model_load(NULL, &m) != VI_OK) return 1;
    vi_embed_options o;
    vi_embed_options_init(&o, sizeof o);
    o.max_frames = 6;
    for (int i = 0; i < N_REFS; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", fixtures, clips[i]);
        vi_embedding *e;
        if (vi_embed_video(m, path, &o, &e) != VI_OK || vi_embedding_save(e, vemb(i)) != VI_OK) {
            fprintf(stderr, "%s: %s\n", clips[i], vi_last_error());
            return 1;
        }
        vi_embedding_free(e);
    }
    vi_model_free(m);
    return 0;
}

/* Append refs [from, to) one by one, reporting "+<i>" after each add returned VI_OK. */
static int child_append(int fd, int from, int to, int64_t kill_at) {
    vi_embedding *e[N_REFS] = {0};
    for (int i = from; i < to; i++)
        if (vi_embedding_load(vemb(i), &e[i]) != VI_OK) return 1;
    vi__fault_kill_at_write(kill_at);
    vi_index_options o;
    vi_index_options_init(&o, sizeof o);
    o.kind = VI_INDEX_HNSW; /* also writes a FAISS cache on close */
    vi_index *x;
    if (vi_index_open(db, &o, &x) != VI_OK) return 1;
    for (int i = from; i < to; i++) {
        char id[16], line[16];
        snprintf(id, sizeof id, "ref%d", i);
        if (vi_index_add(x, id, e[i]) != VI_OK) return 1;
        snprintf(line, sizeof line, "+%d\n", i);
        report(fd, line);
    }
    vi_index_free(x);
    report(fd, "closed\n");
    return 0;
}

/* Rebuild the index with refs [from, to), reporting "switched" once the flush returned. */
static int child_rebuild(int fd, int from, int to, int64_t kill_at) {
    vi_embedding *e[N_REFS] = {0};
    for (int i = from; i < to; i++)
        if (vi_embedding_load(vemb(i), &e[i]) != VI_OK) return 1;
    vi__fault_kill_at_write(kill_at);
    vi_index_options o;
    vi_index_options_init(&o, sizeof o);
    o.kind = VI_INDEX_HNSW;
    o.replace = 1;
    vi_index *x;
    if (vi_index_open(db, &o, &x) != VI_OK) return 1;
    for (int i = from; i < to; i++) {
        char id[16];
        snprintf(id, sizeof id, "ref%d", i);
        if (vi_index_add(x, id, e[i]) != VI_OK) return 1;
    }
    if (vi_index_flush(x) != VI_OK) return 1;
    report(fd, "switched\n");
    vi_index_free(x);
    report(fd, "closed\n");
    return 0;
}

/* Open read-only and report the ids ("=<i>" each), then "ok"; or "fail <message>". */
static int child_read(int fd) {
    vi_index *x;
    if (vi_index_load(db, &x) != VI_OK) {
        char line[1200];
        snprintf(line, sizeof line, "fail %s\n", vi_last_error());
        report(fd, line);
        return 0;
    }
    for (int32_t i = 0; i < vi_index_size(x); i++) {
        char line[32];
        int n;
        if (sscanf(vi_index_id(x, i), "ref%d", &n) != 1) n = -1;
        snprintf(line, sizeof line, "=%d\n", n);
        report(fd, line);
    }
    vi_index_free(x);
    report(fd, "ok\n");
    return 0;
}

/* A writer opens and closes the index (what cleans up after a crash). */
static int child_recover(void) {
    vi_index *x;
    if (vi_index_open(db, NULL, &x) != VI_OK) {
        fprintf(stderr, "recover: %s\n", vi_last_error());
        return 1;
    }
    vi_index_free(x);
    return 0;
}

/* ---- the parent ------------------------------------------------------------------------- */

enum job { J_EMBED, J_APPEND, J_REBUILD, J_READ, J_RECOVER };

struct outcome {
    int status;        /* exit status, or 128 + signal */
    char out[8192];    /* what the child reported */
};

static void run(enum job job, int from, int to, int64_t kill_at, long kill_after_us,
                const char *fixtures, struct outcome *res) {
    int p[2];
    if (pipe(p) != 0) exit(2);
    fflush(NULL);
    const pid_t pid = fork();
    if (pid < 0) exit(2);
    if (pid == 0) {
        close(p[0]);
        int rc = 1;
        switch (job) {
        case J_EMBED: rc = child_embed(fixtures); break;
        case J_APPEND: rc = child_append(p[1], from, to, kill_at); break;
        case J_REBUILD: rc = child_rebuild(p[1], from, to, kill_at); break;
        case J_READ: rc = child_read(p[1]); break;
        case J_RECOVER: rc = child_recover(); break;
        }
        _exit(rc);
    }
    close(p[1]);
    if (kill_after_us > 0) {
        struct timespec t = {kill_after_us / 1000000, (kill_after_us % 1000000) * 1000};
        nanosleep(&t, NULL);
        kill(pid, SIGKILL);
    }
    size_t n = 0;
    ssize_t r;
    while ((r = read(p[0], res->out + n, sizeof res->out - 1 - n)) > 0) n += (size_t)r;
    res->out[n] = '\0';
    close(p[0]);
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) continue;
    res->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Which refs the index holds (bit i), read in a child; -1 if it does not open. */
static int read_index(char *why, size_t why_len) {
    struct outcome o;
    run(J_READ, 0, 0, 0, 0, NULL, &o);
    if (o.status != 0 || !strstr(o.out, "ok\n")) {
        snprintf(why, why_len, "%.1000s",
                 strncmp(o.out, "fail ", 5) == 0 ? o.out + 5 : "reader died");
        return -1;
    }
    int set = 0;
    for (const char *s = o.out; (s = strchr(s, '=')) != NULL; s++) set |= 1 << atoi(s + 1);
    return set;
}

/* After a writer's open: only the manifest, its lock, one data file and the cache remain. */
static int leftovers(char *what, size_t len) {
    DIR *d = opendir(dir);
    int bad = 0, data = 0;
    struct dirent *de;
    what[0] = '\0';
    while (d && (de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (n[0] == '.' || strstr(n, ".vemb")) continue;
        if (!strcmp(n, "db.vidx") || !strcmp(n, "db.vidx.lock") || !strcmp(n, "db.vidx.faiss"))
            continue;
        if (strncmp(n, "db.vidx.", 8) == 0 && strlen(n) == 8 + 16 + 4 &&
            !strcmp(n + strlen(n) - 4, ".vec") && data++ == 0)
            continue;
        bad++;
        if (strlen(what) + strlen(n) + 2 < len) strcat(strcat(what, n), " ");
    }
    if (d) closedir(d);
    return bad;
}

static int failures;

static void fail(const char *ctx, const char *msg) {
    failures++;
    fprintf(stderr, "FAIL %s: %s\n", ctx, msg);
}

/* Check the index after a killed child: it opens, holds every entry of `must`, nothing beyond
 * `allowed_a` or `allowed_b`, and after the next writer's open nothing is left over. */
static void verify(const char *ctx, int allowed_a, int allowed_b, int must) {
    char why[1200];
    const int got = read_index(why, sizeof why);
    if (got < 0) {
        fail(ctx, why);
        return;
    }
    if ((got & must) != must) {
        snprintf(why, sizeof why, "entries 0x%x committed, index holds 0x%x", must, got);
        fail(ctx, why);
    }
    if (got != allowed_a && got != allowed_b && (got & ~(allowed_a | allowed_b)) != 0) {
        snprintf(why, sizeof why, "index holds 0x%x, expected 0x%x or 0x%x", got, allowed_a,
                 allowed_b);
        fail(ctx, why);
    }
    struct outcome o;
    run(J_RECOVER, 0, 0, 0, 0, NULL, &o);
    if (o.status != 0) fail(ctx, "the next writer cannot open the index");
    if (leftovers(why, sizeof why)) fail(ctx, why);
}

static void reset_index(int set_from, int set_to) {
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -f '%s'/db.vidx*", dir);
    if (system(cmd) != 0) exit(2);
    struct outcome o;
    run(J_APPEND, set_from, set_to, 0, 0, NULL, &o);
    if (o.status != 0) {
        fprintf(stderr, "cannot build the starting index\n");
        exit(2);
    }
}

static int bits(int from, int to) {
    int b = 0;
    for (int i = from; i < to; i++) b |= 1 << i;
    return b;
}

/* Appending refs 2..5 to an index of refs 0..1: what was reported committed must be there. */
static void append_case(const char *ctx, int64_t kill_at, long kill_after_us) {
    reset_index(0, 2);
    struct outcome o;
    run(J_APPEND, 2, N_REFS, kill_at, kill_after_us, NULL, &o);
    int must = bits(0, 2), next = 2;
    for (const char *s = o.out; (s = strchr(s, '+')) != NULL; s++) {
        must |= 1 << atoi(s + 1);
        next = atoi(s + 1) + 1;
    }
    const int may = must | (next < N_REFS ? 1 << next : 0);
    verify(ctx, must, may, must);
}

/* Rebuilding an index of refs 0..2 as refs 3..5: the old or the new one, whole. */
static void rebuild_case(const char *ctx, int64_t kill_at, long kill_after_us) {
    reset_index(0, 3);
    struct outcome o;
    run(J_REBUILD, 3, N_REFS, kill_at, kill_after_us, NULL, &o);
    const int old = bits(0, 3), new_ = bits(3, N_REFS);
    char why[1200];
    const int got = read_index(why, sizeof why);
    if (got < 0) fail(ctx, why);
    else if (strstr(o.out, "switched") ? got != new_ : got != old && got != new_) {
        snprintf(why, sizeof why, "index holds 0x%x (old 0x%x, new 0x%x, %s)", got, old, new_,
                 strstr(o.out, "switched") ? "switched" : "not switched");
        fail(ctx, why);
    }
    verify(ctx, old, new_, strstr(o.out, "switched") ? new_ : 0);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FIXTURES_DIR [RANDOM_KILLS]\n", argv[0]);
        return 2;
    }
    const int random_kills = argc > 2 ? atoi(argv[2]) : 40;
    snprintf(dir, sizeof dir, "/tmp/vi_crash_XXXXXX");
    if (!mkdtemp(dir)) return 2;
    snprintf(db, sizeof db, "%s/db.vidx", dir);
    struct outcome o;
    run(J_EMBED, 0, 0, 0, 0, argv[1], &o);
    if (o.status != 0) {
        fprintf(stderr, "cannot embed the fixtures\n");
        return 2;
    }
    /* 1. a kill before each write-path system call in turn, until a run completes */
    int64_t sweeps[2] = {0, 0};
    for (int rebuild = 0; rebuild < 2; rebuild++) {
        for (int64_t n = 1;; n++) {
            char ctx[64];
            snprintf(ctx, sizeof ctx, "%s, killed at write call %lld", rebuild ? "rebuild" : "append",
                     (long long)n);
            reset_index(0, rebuild ? 3 : 2);
            struct outcome c;
            run(rebuild ? J_REBUILD : J_APPEND, rebuild ? 3 : 2, N_REFS, n, 0, NULL, &c);
            const int survived = c.status == 0;
            if (survived) break; /* n is beyond the run's last write call */
            sweeps[rebuild]++;
            if (c.status != 128 + SIGKILL) {
                fail(ctx, "the child failed instead of being killed");
                break;
            }
            if (rebuild) rebuild_case(ctx, n, 0);
            else append_case(ctx, n, 0);
        }
    }
    /* 2. kills at random moments, spread over a run's length */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    reset_index(0, 2);
    run(J_APPEND, 2, N_REFS, 0, 0, NULL, &o);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const long span = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
    srand(12345);
    for (int k = 0; k < random_kills; k++) {
        char ctx[64];
        const long after = 1 + (long)((double)rand() / RAND_MAX * (double)span);
        snprintf(ctx, sizeof ctx, "%s, killed after %ld us", k % 2 ? "rebuild" : "append", after);
        if (k % 2) rebuild_case(ctx, 0, after);
        else append_case(ctx, 0, after);
    }
    printf("crash safety: append killed before each of its %lld write calls, rebuild before each "
           "of its %lld, %d kills at random moments (run length %.0f ms): %d failures\n",
           (long long)sweeps[0], (long long)sweeps[1], random_kills, span / 1000.0, failures);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 2;
    return failures != 0;
}
