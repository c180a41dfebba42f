/* cli_train.c - `vinfringe train`: train a DMI head on the frozen backbone of a model and write
 * a new model file. Parses its own options (training has many that no other command takes);
 * cli_main.c hands it the words after "train". */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int cli_train_main(int argc, char **argv);

static const char k_train_help[] =
    "Usage: vinfringe train [OPTIONS] -o OUT.vimodel [VIDEO|DIR]...\n"
    "\n"
    "Train a DMI head (six sub-feature heads, an auxiliary head and a fusion layer; see\n"
    "docs/training.md) on the frozen backbone of a model, and write a complete model file.\n"
    "Each video is decoded once; `--views` copy-style augmented versions of it (flip, crop,\n"
    "colour, blur, noise, borders, greyscale, rotation; with --filters also libavfilter's\n"
    "edits) are made and their backbone features\n"
    "kept in memory. Videos given as arguments (a directory means every file in it) train\n"
    "self-supervised: two views of the same video are a positive pair. With --groups, labelled\n"
    "groups of near-duplicates are positives of each other. A video that cannot be decoded is\n"
    "skipped with a warning.\n"
    "\nOptions:\n"
    "  -o, --output OUT.vimodel  where to write the trained model (required)\n"
    "  -m, --model M             base model whose backbone is used (default: built-in)\n"
    "  -g, --groups FILE         ground truth: one group of near-duplicate video paths per line\n"
    "                            (separated by spaces or tabs; groups sharing a video merge)\n"
    "  -e, --epochs N            epochs (default 100)\n"
    "      --seed N              seed of the initialisation, augmentations, batches (default 1)\n"
    "      --views N             augmented views cached per video, 1..16 (default 4)\n"
    "      --fps F               frames sampled per second (default 1)\n"
    "      --max-frames N        frames kept per video, taken uniformly (default 60)\n"
    "      --batch N             (anchor, positive) pairs per step (default 64)\n"
    "      --negatives N         negatives per step (default 2048)\n"
    "      --lr X                Adam learning rate (default 1e-4)\n"
    "      --weight-decay X      Adam weight decay (default 5e-4)\n"
    "      --lr-step N           multiply the learning rate by 0.1 after N epochs (default 0:\n"
    "                            constant)\n"
    "      --cache DIR           keep each video's features in DIR, so that a later run with\n"
    "                            the same model and options skips decoding\n"
    "      --d-weight X          weight of the exclusivity term D (default 0.1; 0 ablates it)\n"
    "      --m-weight X          weight of the mutual-information term M (default 0.7; 0\n"
    "                            ablates it)\n"
    "      --single-head         train one linear head with InfoNCE only (ablation baseline)\n"
    "      --on-base-head        train on the output of the base model's head (e.g. the\n"
    "                            default model's PCA whitening) as a fixed first layer, starting\n"
    "                            from the base model; folded into the saved head\n"
    "      --filters             also edit each augmented view with libavfilter (speed or\n"
    "                            frame-rate change, temporal crop, hue, caption band,\n"
    "                            picture-in-picture, logo) before the pixel operations\n"
    "      --checkpoint FILE     write FILE after every epoch (head, optimiser, epoch, random\n"
    "                            state); if FILE exists, resume from it: the run continues to\n"
    "                            -e epochs in all and ends with the same head as an\n"
    "                            uninterrupted run\n"
    "      --save-every N        also write OUT with '-eN' before its extension every N epochs\n"
    "                            (to pick an epoch on held-out data)\n"
    "      --threads N           threads for libtorch (default: libtorch's)\n"
    "      --json                one JSON object per epoch and one at the end, on stdout\n"
    "  -v, --loglevel LEVEL      messages on stderr: quiet, error, warning, info (default),\n"
    "                            verbose or debug\n"
    "  -q, --quiet               no per-video and per-epoch lines\n"
    "  -h, --help                this help\n"
    "\nPrints one line per epoch: the loss and its terms (InfoNCE sum, exclusivity D,\n"
    "mutual-information term M); with --json {\"epoch\",\"epochs\",\"loss\",\"nce\",\n"
    "\"exclusivity\",\"mutual_info\",\"steps\",\"seconds\"} per epoch, then {\"output\",\"videos\",\n"
    "\"skipped\",\"seconds\"}. Exit status: 0 ok, 1 error, 2 bad usage.\n";

static int usage(const char *fmt, const char *word) {
    fputs("vinfringe train: ", stderr);
    fprintf(stderr, fmt, word);
    fputs("\nTry 'vinfringe train --help' for more information.\n", stderr);
    return CLI_EXIT_USAGE;
}

/* A growing list of (path, group). */
struct videos {
    char **path;
    int *group;
    int n, cap;
};

static int videos_add(struct videos *v, const char *path, int group) {
    if (v->n == v->cap) {
        int cap = v->cap ? v->cap * 2 : 32;
        char **p = realloc(v->path, (size_t)cap * sizeof *p);
        if (p) v->path = p;
        int *g = realloc(v->group, (size_t)cap * sizeof *g);
        if (g) v->group = g;
        if (!p || !g) return cli_error("out of memory");
        v->cap = cap;
    }
    if (!(v->path[v->n] = strdup(path))) return cli_error("out of memory");
    v->group[v->n++] = group;
    return 0;
}

static void videos_free(struct videos *v) {
    for (int i = 0; i < v->n; i++) free(v->path[i]);
    free(v->path);
    free(v->group);
}

static int add_video(void *user, const char *path) { return videos_add(user, path, -1); }

/* A file, or every regular file of a directory (sorted, not recursive). */
static int add_argument(struct videos *v, const char *arg) {
    return cli_expand_dir(arg, add_video, v);
}

/* Union-find over the videos of the ground-truth file. */
static int uf_find(int *parent, int i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
}

/* Read the ground truth: each line a group; a video on several lines merges them. */
static int read_groups(const char *file, struct videos *v) {
    FILE *f = fopen(file, "r");
    if (!f) return cli_error("%s: cannot open the ground-truth file: %s", file, strerror(errno));
    struct videos all = {0};
    int *line_of = NULL, rc = 0;
    char buf[65536];
    while (rc == 0 && fgets(buf, sizeof buf, f)) {
        int first = all.n;
        for (char *tok = strtok(buf, " \t\r\n"); tok && rc == 0; tok = strtok(NULL, " \t\r\n")) {
            if (tok[0] == '#') break;
            int dup = -1;
            for (int i = 0; i < all.n && dup < 0; i++)
                if (strcmp(all.path[i], tok) == 0) dup = i;
            rc = dup >= 0 ? videos_add(&all, all.path[dup], all.group[dup])
                          : videos_add(&all, tok, all.n);
        }
        int *lo = realloc(line_of, (size_t)(all.n + 1) * sizeof *lo);
        if (!lo) rc = cli_error("out of memory");
        else line_of = lo;
        for (int i = first; rc == 0 && i < all.n; i++) line_of[i] = first;
    }
    fclose(f);
    if (rc == 0 && all.n == 0) rc = cli_error("%s: the ground-truth file names no video", file);
    if (rc == 0) {
        /* all.group[i] is the index of the first occurrence of the path; union each entry
         * with the first entry of its line */
        int *parent = malloc((size_t)all.n * sizeof *parent);
        if (!parent) rc = cli_error("out of memory");
        for (int i = 0; rc == 0 && i < all.n; i++) parent[i] = i;
        for (int i = 0; rc == 0 && i < all.n; i++) {
            int a = uf_find(parent, all.group[i]), b = uf_find(parent, all.group[line_of[i]]);
            if (a != b) parent[a] = b;
        }
        for (int i = 0; rc == 0 && i < all.n; i++)
            if (all.group[i] == i) rc = videos_add(v, all.path[i], uf_find(parent, i));
        free(parent);
    }
    free(line_of);
    videos_free(&all);
    return rc;
}

struct epoch_ctx {
    int quiet, json, epochs;
    double t0;
    long save_every;
    vi_trainer *trainer;
    const char *output;
    int failed;
};

/* OUT.vimodel -> OUT-eN.vimodel */
static void epoch_name(const char *output, int epoch, char *buf, size_t size) {
    const char *dot = strrchr(output, '.'), *slash = strrchr(output, '/');
    if (!dot || (slash && dot < slash)) dot = output + strlen(output);
    snprintf(buf, size, "%.*s-e%d%s", (int)(dot - output), output, epoch, dot);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int on_epoch(void *user, int32_t epoch, const vi_train_losses *l) {
    struct epoch_ctx *c = user;
    if (c->json) {
        printf("{\"epoch\":%d,\"epochs\":%d,\"loss\":", (int)epoch, c->epochs);
        cli_json_number(stdout, l->total);
        fputs(",\"nce\":", stdout);
        cli_json_number(stdout, l->nce);
        fputs(",\"exclusivity\":", stdout);
        cli_json_number(stdout, l->exclusivity);
        fputs(",\"mutual_info\":", stdout);
        cli_json_number(stdout, l->mutual_info);
        printf(",\"steps\":%d,\"seconds\":%.3f}\n", (int)l->steps, now_s() - c->t0);
    } else if (!c->quiet)
        printf("epoch %d/%d: loss %.4f  nce %.4f  D %.4f  M %.4f  (%d steps, %.1f s)\n", (int)epoch,
               c->epochs, l->total, l->nce, l->exclusivity, l->mutual_info, (int)l->steps,
               now_s() - c->t0);
    fflush(stdout);
    if (c->save_every > 0 && epoch % c->save_every == 0) {
        char name[4096];
        epoch_name(c->output, (int)epoch, name, sizeof name);
        if (vi_trainer_save(c->trainer, name) != VI_OK) {
            c->failed = cli_error("%s", vi_last_error());
            return 1;
        }
    }
    return 0;
}

int cli_train_main(int argc, char **argv) {
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"model", required_argument, 0, 'm'},
        {"groups", required_argument, 0, 'g'}, {"epochs", required_argument, 0, 'e'},
        {"seed", required_argument, 0, 1},     {"views", required_argument, 0, 2},
        {"fps", required_argument, 0, 3},      {"max-frames", required_argument, 0, 4},
        {"batch", required_argument, 0, 5},    {"negatives", required_argument, 0, 6},
        {"lr", required_argument, 0, 7},       {"weight-decay", required_argument, 0, 8},
        {"threads", required_argument, 0, 9},  {"lr-step", required_argument, 0, 10},
        {"cache", required_argument, 0, 11},  {"d-weight", required_argument, 0, 12},
        {"m-weight", required_argument, 0, 13}, {"single-head", no_argument, 0, 14},
        {"on-base-head", no_argument, 0, 15},  {"checkpoint", required_argument, 0, 16},
        {"save-every", required_argument, 0, 17}, {"filters", no_argument, 0, 18},
        {"json", no_argument, 0, 19},          {"loglevel", required_argument, 0, 'v'},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
    };
    const char *output = NULL, *model_path = NULL, *groups = NULL;
    int json = 0, level = CLI_LOG_INFO;
    long epochs = 100, threads = 0, save_every = 0, lv;
    double dv;
    int quiet = 0, c;
    vi_train_options o;
    VI_TRAIN_OPTIONS_INIT(o);
    optind = 1;
    opterr = 0;
    /* getopt wants argv[0] to be the program: shift by one */
    char **av = calloc((size_t)argc + 2, sizeof *av);
    if (!av) return cli_error("out of memory");
    av[0] = "vinfringe train";
    for (int i = 0; i < argc; i++) av[i + 1] = argv[i];
    const int ac = argc + 1;
    int rc = -1;
    while (rc < 0 && (c = getopt_long(ac, av, ":o:m:g:e:v:qh", longopts, NULL)) != -1) {
        const char *arg = optarg;
        switch (c) {
        case 'o': output = arg; break;
        case 'm': model_path = arg; break;
        case 'g': groups = arg; break;
        case 'q': quiet = 1; break;
        case 19: json = 1; break;
        case 'v':
            if ((level = cli_parse_loglevel(arg)) < CLI_LOG_QUIET)
                rc = usage("bad value '%s' for --loglevel", arg);
            break;
        case 'h':
            fputs(k_train_help, stdout);
            rc = CLI_EXIT_OK;
            break;
        case 'e':
            if (cli_parse_long(arg, 1, 1000000, &epochs)) rc = usage("bad --epochs '%s'", arg);
            break;
        case 1:
            if (cli_parse_long(arg, 0, 0x7fffffffL, &lv)) rc = usage("bad --seed '%s'", arg);
            else o.seed = (uint64_t)lv;
            break;
        case 2:
            if (cli_parse_long(arg, 1, 16, &lv)) rc = usage("bad --views '%s' (1..16)", arg);
            else o.views = (int32_t)lv;
            break;
        case 3:
            if (cli_parse_double(arg, &dv) || !(dv > 0 && dv <= 60))
                rc = usage("bad --fps '%s' (0 < F <= 60)", arg);
            else o.fps = (float)dv;
            break;
        case 4:
            if (cli_parse_long(arg, 1, 10000, &lv)) rc = usage("bad --max-frames '%s'", arg);
            else o.max_frames = (int32_t)lv;
            break;
        case 5:
            if (cli_parse_long(arg, 1, 65536, &lv)) rc = usage("bad --batch '%s'", arg);
            else o.batch_pairs = (int32_t)lv;
            break;
        case 6:
            if (cli_parse_long(arg, 0, 1 << 20, &lv)) rc = usage("bad --negatives '%s'", arg);
            else o.max_negatives = (int32_t)lv;
            break;
        case 7:
            if (cli_parse_double(arg, &dv) || !(dv > 0 && dv < 10)) rc = usage("bad --lr '%s'", arg);
            else o.learning_rate = (float)dv;
            break;
        case 8:
            if (cli_parse_double(arg, &dv) || !(dv >= 0 && dv < 1))
                rc = usage("bad --weight-decay '%s'", arg);
            else o.weight_decay = (float)dv;
            break;
        case 9:
            if (cli_parse_long(arg, 0, 256, &threads)) rc = usage("bad --threads '%s'", arg);
            break;
        case 10:
            if (cli_parse_long(arg, 0, 1000000, &lv)) rc = usage("bad --lr-step '%s'", arg);
            else o.lr_step_epochs = (int32_t)lv;
            break;
        case 11: o.cache_dir = arg; break;
        case 12:
        case 13:
            if (cli_parse_double(arg, &dv) || !(dv >= 0 && dv <= 100))
                rc = usage(c == 12 ? "bad --d-weight '%s' (0..100)"
                                   : "bad --m-weight '%s' (0..100)", arg);
            else if (c == 12) o.exclusivity_weight = (float)dv;
            else o.mi_weight = (float)dv;
            break;
        case 14: o.single_head = 1; break;
        case 15: o.on_base_head = 1; break;
        case 16: o.checkpoint = arg; break;
        case 18: o.filter_augment = 1; break;
        case 17:
            if (cli_parse_long(arg, 1, 1000000, &save_every)) rc = usage("bad --save-every '%s'", arg);
            break;
        case ':': rc = usage("option '%s' needs a value", av[optind - 1]); break;
        default: rc = usage("unknown option '%s'", av[optind - 1]); break;
        }
    }
    if (rc < 0 && !output) rc = usage("%s", "missing -o OUT.vimodel");
    if (rc < 0 && optind >= ac && !groups)
        rc = usage("%s", "no videos: give VIDEO or DIR, or --groups FILE");
    cli_log_setup(level);
    struct videos v = {0};
    if (rc < 0 && groups && read_groups(groups, &v) != 0) rc = CLI_EXIT_ERROR;
    for (int i = optind; rc < 0 && i < ac; i++)
        if (add_argument(&v, av[i]) != 0) rc = CLI_EXIT_ERROR;
    vi_model *model = NULL;
    vi_trainer *t = NULL;
    vi_status st;
    if (rc < 0 && threads > 0 && (st = vi_set_threads((int32_t)threads)) != VI_OK)
        rc = cli_lib_error(st);
    if (rc < 0 && (st = vi_model_load(model_path, &model)) != VI_OK) rc = cli_lib_error(st);
    if (rc < 0 && (st = vi_trainer_create(model, &o, &t)) != VI_OK) rc = cli_lib_error(st);
    const double t0 = now_s();
    int skipped = 0;
    for (int i = 0; rc < 0 && i < v.n; i++) {
        st = vi_trainer_add_video(t, v.path[i], v.group[i]);
        if (st != VI_OK) {
            cli_log(CLI_LOG_WARNING, "skipping %s: %s", v.path[i], vi_last_error());
            skipped++;
        } else if (!quiet) {
            cli_log(CLI_LOG_INFO, "[%d/%d] %s (%.1f s)", i + 1, v.n, v.path[i], now_s() - t0);
        }
    }
    if (rc < 0 && !quiet && !json)
        printf("features: %d videos (%d skipped) in %.1f s\n", (int)vi_trainer_video_count(t),
               skipped, now_s() - t0);
    struct epoch_ctx ctx = {quiet, json, (int)epochs, now_s(), save_every, t, output, 0};
    int32_t done = 0;
    if (rc < 0 && o.checkpoint && access(o.checkpoint, F_OK) == 0) {
        if ((st = vi_trainer_load_checkpoint(t, o.checkpoint)) != VI_OK) {
            rc = cli_lib_error(st);
        } else {
            done = vi_trainer_epochs_done(t);
            if (!quiet && !json)
                printf("resuming from %s after epoch %d\n", o.checkpoint, (int)done);
        }
    }
    if (rc < 0 && done < epochs &&
        (st = vi_trainer_run(t, (int32_t)(epochs - done), on_epoch, &ctx)) != VI_OK)
        rc = ctx.failed ? CLI_EXIT_ERROR : cli_lib_error(st);
    if (rc < 0 && (st = vi_trainer_save(t, output)) != VI_OK) rc = cli_lib_error(st);
    if (rc < 0 && json) {
        fputs("{\"output\":", stdout);
        cli_json_string(stdout, output);
        printf(",\"videos\":%d,\"skipped\":%d,\"seconds\":%.3f}\n",
               (int)vi_trainer_video_count(t), skipped, now_s() - t0);
    } else if (rc < 0 && !quiet) {
        printf("wrote %s (%.1f s in all)\n", output, now_s() - t0);
    }
    if (rc < 0) rc = CLI_EXIT_OK;
    vi_trainer_free(t);
    vi_model_free(model);
    videos_free(&v);
    free(av);
    return rc;
}
