/* cli_finetune.c - `vinfringe finetune`: fine-tune the last blocks of a model's backbone
 * contrastively on copy-style augmented frames of videos and photos, and write a headless model
 * file with the fine-tuned backbone. Parses its own options; cli_main.c hands it the words after
 * "finetune". */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_finetune_main(int argc, char **argv);

static const char k_help[] =
    "Usage: vinfringe finetune [OPTIONS] -o OUT.vimodel [FILE|DIR]...\n"
    "\n"
    "Fine-tune the last blocks of a model's MobileNetV2 backbone contrastively (SSCD-style, see\n"
    "docs/training.md): each step takes one frame from each of --batch different sources\n"
    "(videos or still images), makes two independently augmented views of it (crop, flip,\n"
    "colour, blur, noise, borders, rotation, text and logo overlays, picture-in-picture,\n"
    "blockiness, low resolution) and minimises InfoNCE over all the views, on the library's own\n"
    "frame feature at the model's input size. Inputs are decoded once (a directory means every\n"
    "file in it); a file that cannot be decoded is skipped with a warning. The output model is\n"
    "HEADLESS (embeddings = backbone features); fit a head on it afterwards.\n"
    "\nOptions:\n"
    "  -o, --output OUT.vimodel  where to write the fine-tuned model (required)\n"
    "  -m, --model M             base model whose backbone is fine-tuned (default: built-in)\n"
    "  -l, --list FILE           read input paths from FILE, one per line ('#' comments)\n"
    "      --blocks N            trainable units from the end, 1..19: 1 = Conv_1 only,\n"
    "                            2 = + block_16, ..., 19 = everything (default 7)\n"
    "      --steps N             optimiser steps (default 1200)\n"
    "      --batch N             source frames per step, 2..512; two views each (default 32)\n"
    "      --lr X                AdamW peak learning rate; linear warm-up over the first 5 %\n"
    "                            of the steps, then cosine decay to 0 (default 1e-4)\n"
    "      --weight-decay X      AdamW weight decay (default 0)\n"
    "      --temperature X       InfoNCE temperature (default 0.07)\n"
    "      --koleo X             weight of the KoLeo entropy regulariser (default 0: off)\n"
    "      --head none|dmi       train a DMI head together with the backbone, with DMI's\n"
    "                            losses, and write it in the model (default none: headless)\n"
    "      --head-lr X           AdamW peak learning rate of the head (default 1e-3)\n"
    "      --d-weight X          DMI head: weight of the exclusivity term D (default 0.1)\n"
    "      --m-weight X          DMI head: weight of the auxiliary term M (default 0.7)\n"
    "      --temporal-positive P probability that a video frame's second view comes from its\n"
    "                            neighbouring sampled frame (default 0)\n"
    "      --scene-negatives F   share of each step's sources replaced by another moment of a\n"
    "                            video already in it, as a negative (0..0.5, default 0)\n"
    "      --vflip P             probability that a view is turned upside down (default 0)\n"
    "      --seed N              seed of the frame sampling and augmentations (default 1)\n"
    "      --frames-per-video N  frames taken from each video, spread over it (default 120)\n"
    "      --frame-cache FILE    keep the decoded frames in FILE and reuse them next time\n"
    "      --checkpoint FILE     write a checkpoint there every --checkpoint-every steps and at\n"
    "                            the end; if FILE exists, resume from it\n"
    "      --checkpoint-every K  steps between checkpoints and loss lines (default 100)\n"
    "      --stop-after N        stop after step N (writing the checkpoint), to resume later\n"
    "      --threads N           threads for libtorch (default: libtorch's)\n"
    "      --json                one JSON object per loss line and one at the end, on stdout\n"
    "  -v, --loglevel LEVEL      messages on stderr: quiet, error, warning, info (default),\n"
    "                            verbose or debug\n"
    "  -q, --quiet               no progress, no loss lines\n"
    "  -h, --help                this help\n"
    "\nPrints a progress line while decoding and training (on a terminal) and every K steps a\n"
    "line 'step S/N: loss L  acc A  mean M  (T s)': the last step's loss, the share of its\n"
    "views whose nearest view is their positive, and the mean loss since the previous line;\n"
    "with --json {\"step\",\"steps\",\"loss\",\"accuracy\",\"mean_loss\",\"seconds\"} instead,\n"
    "then {\"output\"} (or {\"stopped_after\"}).\n"
    "Exit status: 0 ok, 1 error, 2 bad usage, 3 stopped by --stop-after (resumable).\n";

static int usage(const char *fmt, const char *word) {
    fputs("vinfringe finetune: ", stderr);
    fprintf(stderr, fmt, word);
    fputs("\nTry 'vinfringe finetune --help' for more information.\n", stderr);
    return CLI_EXIT_USAGE;
}

struct list {
    char **p;
    int n, cap;
};

static int list_add(struct list *l, const char *s) {
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 64;
        char **p = realloc(l->p, (size_t)cap * sizeof *p);
        if (!p) return cli_error("out of memory");
        l->p = p;
        l->cap = cap;
    }
    if (!(l->p[l->n] = strdup(s))) return cli_error("out of memory");
    l->n++;
    return 0;
}

static void list_free(struct list *l) {
    for (int i = 0; i < l->n; i++) free(l->p[i]);
    free(l->p);
}

static int add_path(void *user, const char *path) { return list_add(user, path); }

/* A file, or every regular file of a directory (sorted, not recursive). */
static int add_argument(struct list *l, const char *arg) {
    return cli_expand_dir(arg, add_path, l);
}

static int read_list(struct list *l, const char *file) {
    FILE *f = fopen(file, "r");
    if (!f) return cli_error("%s: cannot open the list: %s", file, strerror(errno));
    char buf[4096];
    int rc = 0;
    while (rc == 0 && fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\r\n")] = 0;
        if (buf[0] && buf[0] != '#') rc = list_add(l, buf);
    }
    fclose(f);
    return rc;
}

struct ctx {
    int quiet, tty, every, json;
    long stop_after;
};

/* Fine-tuning's own notes (frames decoded, resuming) are progress here: shown at info. */
static void on_log(void *user, int32_t level, const char *msg) {
    const struct ctx *c = user;
    if (level <= VI_LOG_WARN) cli_log(CLI_LOG_WARNING, "%s", msg);
    else if (level == VI_LOG_INFO && !c->quiet) cli_log(CLI_LOG_INFO, "%s", msg);
    else if (level == VI_LOG_DEBUG) cli_log(CLI_LOG_DEBUG, "%s", msg);
}

static int on_progress(void *user, const vi_finetune_progress *p) {
    const struct ctx *c = user;
    const int show = !c->quiet && c->tty && cli_log_level() >= CLI_LOG_INFO;
    if (p->phase == VI_FINETUNE_DECODING) {
        if (show)
            fprintf(stderr, "\rdecoding %d/%d (%.0f s)  ", (int)p->done, (int)p->total,
                    p->seconds);
        if (show && p->done == p->total) fputc('\n', stderr);
        return 0;
    }
    if (show)
        fprintf(stderr, "\rstep %d/%d  loss %.4f  (%.0f s)  ", (int)p->done, (int)p->total,
                p->loss, p->seconds);
    if ((c->json || !c->quiet) && (p->done % c->every == 0 || p->done == p->total)) {
        if (show) fputc('\n', stderr);
        if (c->json) {
            printf("{\"step\":%d,\"steps\":%d,\"loss\":", (int)p->done, (int)p->total);
            cli_json_number(stdout, p->loss);
            fputs(",\"accuracy\":", stdout);
            cli_json_number(stdout, p->accuracy);
            fputs(",\"mean_loss\":", stdout);
            cli_json_number(stdout, p->loss_avg);
            printf(",\"seconds\":%.3f}\n", p->seconds);
        } else {
            printf("step %d/%d: loss %.4f  acc %.3f  mean %.4f  (%.1f s)\n", (int)p->done,
                   (int)p->total, p->loss, p->accuracy, p->loss_avg, p->seconds);
        }
        fflush(stdout);
    }
    return c->stop_after > 0 && p->done >= c->stop_after;
}

int cli_finetune_main(int argc, char **argv) {
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'},   {"model", required_argument, 0, 'm'},
        {"list", required_argument, 0, 'l'},     {"blocks", required_argument, 0, 1},
        {"steps", required_argument, 0, 2},      {"batch", required_argument, 0, 3},
        {"lr", required_argument, 0, 4},         {"weight-decay", required_argument, 0, 5},
        {"temperature", required_argument, 0, 6}, {"koleo", required_argument, 0, 7},
        {"seed", required_argument, 0, 8},       {"frames-per-video", required_argument, 0, 9},
        {"frame-cache", required_argument, 0, 10}, {"checkpoint", required_argument, 0, 11},
        {"checkpoint-every", required_argument, 0, 12}, {"stop-after", required_argument, 0, 13},
        {"threads", required_argument, 0, 14},   {"head", required_argument, 0, 15},
        {"head-lr", required_argument, 0, 16},   {"d-weight", required_argument, 0, 17},
        {"m-weight", required_argument, 0, 18},
        {"temporal-positive", required_argument, 0, 20}, {"scene-negatives", required_argument, 0, 21},
        {"vflip", required_argument, 0, 22},     {"quiet", no_argument, 0, 'q'},
        {"json", no_argument, 0, 23},            {"loglevel", required_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0},
    };
    const char *output = NULL, *model_path = NULL;
    long threads = 0, lv;
    double dv;
    struct ctx cx = {0, 0, 100, 0, 0};
    int level = CLI_LOG_INFO;
    struct list in = {0};
    vi_finetune_options o;
    VI_FINETUNE_OPTIONS_INIT(o);
    optind = 1;
    opterr = 0;
    char **av = calloc((size_t)argc + 2, sizeof *av);
    if (!av) return cli_error("out of memory");
    av[0] = "vinfringe finetune";
    for (int i = 0; i < argc; i++) av[i + 1] = argv[i];
    const int ac = argc + 1;
    int rc = -1, c;
    while (rc < 0 && (c = getopt_long(ac, av, ":o:m:l:v:qh", longopts, NULL)) != -1) {
        const char *arg = optarg;
        switch (c) {
        case 'o': output = arg; break;
        case 'm': model_path = arg; break;
        case 'l':
            if (read_list(&in, arg) != 0) rc = CLI_EXIT_ERROR;
            break;
        case 'q': cx.quiet = 1; break;
        case 23: cx.json = 1; break;
        case 'v':
            if ((level = cli_parse_loglevel(arg)) < CLI_LOG_QUIET)
                rc = usage("bad value '%s' for --loglevel", arg);
            else
                cli_log_setup(level);
            break;
        case 'h':
            fputs(k_help, stdout);
            rc = CLI_EXIT_OK;
            break;
        case 1:
            if (cli_parse_long(arg, 1, 19, &lv)) rc = usage("bad --blocks '%s' (1..19)", arg);
            else o.trainable_blocks = (int32_t)lv;
            break;
        case 2:
            if (cli_parse_long(arg, 1, 10000000, &lv)) rc = usage("bad --steps '%s'", arg);
            else o.steps = (int32_t)lv;
            break;
        case 3:
            if (cli_parse_long(arg, 2, 512, &lv)) rc = usage("bad --batch '%s' (2..512)", arg);
            else o.batch = (int32_t)lv;
            break;
        case 4:
            if (cli_parse_double(arg, &dv) || !(dv > 0 && dv < 1)) rc = usage("bad --lr '%s'", arg);
            else o.learning_rate = (float)dv;
            break;
        case 5:
            if (cli_parse_double(arg, &dv) || !(dv >= 0 && dv < 1))
                rc = usage("bad --weight-decay '%s'", arg);
            else o.weight_decay = (float)dv;
            break;
        case 6:
            if (cli_parse_double(arg, &dv) || !(dv >= 0.01 && dv <= 1))
                rc = usage("bad --temperature '%s' (0.01..1)", arg);
            else o.temperature = (float)dv;
            break;
        case 7:
            if (cli_parse_double(arg, &dv) || !(dv >= 0 && dv <= 100))
                rc = usage("bad --koleo '%s' (0..100)", arg);
            else o.koleo_weight = (float)dv;
            break;
        case 8:
            if (cli_parse_long(arg, 0, 0x7fffffffL, &lv)) rc = usage("bad --seed '%s'", arg);
            else o.seed = (uint64_t)lv;
            break;
        case 9:
            if (cli_parse_long(arg, 1, 100000, &lv)) rc = usage("bad --frames-per-video '%s'", arg);
            else o.frames_per_video = (int32_t)lv;
            break;
        case 10: o.frame_cache_path = arg; break;
        case 11: o.checkpoint_path = arg; break;
        case 12:
            if (cli_parse_long(arg, 1, 10000000, &lv)) rc = usage("bad --checkpoint-every '%s'", arg);
            else o.checkpoint_every = (int32_t)lv;
            break;
        case 13:
            if (cli_parse_long(arg, 1, 10000000, &cx.stop_after))
                rc = usage("bad --stop-after '%s'", arg);
            break;
        case 14:
            if (cli_parse_long(arg, 0, 256, &threads)) rc = usage("bad --threads '%s'", arg);
            break;
        case 15:
            if (strcmp(arg, "none") == 0) o.head = VI_FINETUNE_HEADLESS;
            else if (strcmp(arg, "dmi") == 0) o.head = VI_FINETUNE_HEAD_DMI;
            else rc = usage("bad --head '%s' (none or dmi)", arg);
            break;
        case 16:
            if (cli_parse_double(arg, &dv) || !(dv > 0 && dv < 1))
                rc = usage("bad --head-lr '%s'", arg);
            else o.head_learning_rate = (float)dv;
            break;
        case 17:
            if (cli_parse_double(arg, &dv) || !(dv >= 0 && dv <= 100))
                rc = usage("bad --d-weight '%s' (0..100)", arg);
            else o.exclusivity_weight = (float)dv;
            break;
        case 18:
            if (cli_parse_double(arg, &dv) || !(dv >= 0 && dv <= 100))
                rc = usage("bad --m-weight '%s' (0..100)", arg);
            else o.mi_weight = (float)dv;
            break;
        case 20:
            if (cli_parse_double(arg, &dv) || !(dv >= 0 && dv <= 1))
                rc = usage("bad --temporal-positive '%s' (0..1)", arg);
            else o.temporal_positive = (float)dv;
            break;
        case 21:
            if (cli_parse_double(arg, &dv) || !(dv >= 0 && dv <= 0.5))
                rc = usage("bad --scene-negatives '%s' (0..0.5)", arg);
            else o.scene_negatives = (float)dv;
            break;
        case 22:
            if (cli_parse_double(arg, &dv) || !(dv >= 0 && dv <= 1))
                rc = usage("bad --vflip '%s' (0..1)", arg);
            else o.vflip = (float)dv;
            break;
        case ':': rc = usage("option '%s' needs a value", av[optind - 1]); break;
        default: rc = usage("unknown option '%s'", av[optind - 1]); break;
        }
    }
    cx.every = o.checkpoint_every;
    cx.tty = isatty(2);
    if (rc < 0 && !output) rc = usage("%s", "missing -o OUT.vimodel");
    for (int i = optind; rc < 0 && i < ac; i++)
        if (add_argument(&in, av[i]) != 0) rc = CLI_EXIT_ERROR;
    if (rc < 0 && in.n == 0) rc = usage("%s", "no inputs: give FILE or DIR, or --list FILE");
    vi_model *model = NULL;
    vi_status st;
    vi_log_set(on_log, &cx);
    if (rc < 0 && threads > 0 && (st = vi_set_threads((int32_t)threads)) != VI_OK)
        rc = cli_lib_error(st);
    if (rc < 0 && (st = vi_model_load(model_path, &model)) != VI_OK) rc = cli_lib_error(st);
    if (rc < 0) {
        st = vi_backbone_finetune(model, (const char *const *)in.p, in.n, &o, on_progress, &cx,
                                  output);
        if (st == VI_E_CANCELLED && cx.stop_after > 0) {
            if (cx.json) printf("{\"stopped_after\":%ld}\n", cx.stop_after);
            else if (!cx.quiet) printf("stopped after step %ld (resume with the same options)\n",
                                       cx.stop_after);
            rc = 3;
        } else if (st != VI_OK) {
            rc = cli_lib_error(st);
        } else {
            if (cx.json) {
                fputs("{\"output\":", stdout);
                cli_json_string(stdout, output);
                fputs("}\n", stdout);
            } else if (!cx.quiet) {
                printf("wrote %s\n", output);
            }
            rc = CLI_EXIT_OK;
        }
    }
    vi_log_set(NULL, NULL);
    vi_model_free(model);
    list_free(&in);
    free(av);
    return rc;
}
