/* cli_main.c - `vinfringe`: dispatch to the subcommands, `help` and `--version`. */
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "cli.h"

static const cli_command *const k_commands[] = {
    &cli_cmd_embed, &cli_cmd_compare, &cli_cmd_index_build, &cli_cmd_search, &cli_cmd_report,
    &cli_cmd_info,
};
#define N_COMMANDS (sizeof k_commands / sizeof k_commands[0])

int cli_train_main(int argc, char **argv); /* cli_train.c: parses its own options */
int cli_finetune_main(int argc, char **argv); /* cli_finetune.c: likewise */

static void print_usage(FILE *f) {
    fputs("Usage: vinfringe COMMAND [OPTIONS] ARGS...\n\n"
          "Fingerprint videos and tell whether one is a copy of another.\n\nCommands:\n", f);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-12s %s\n", k_commands[i]->name, k_commands[i]->summary);
    fputs("  train        Train a DMI head on a model's backbone and write a new model.\n", f);
    fputs("  finetune     Fine-tune the backbone's last blocks (and a DMI head); write a model.\n", f);
    fputs("  help [CMD]   This help, or the help of CMD\n"
          "\nRun 'vinfringe COMMAND --help' for a command's options; 'vinfringe --version' for\n"
          "the versions. Exit status: 0 ok, 1 error, 2 bad usage.\n", f);
}

static int print_version(void) {
    const uint32_t rt = vi_version();
    printf("vinfringe %s\n", vi_version_string());
    printf("header  %d.%d.%d\nlibrary %s (%u)\n", VI_VERSION_MAJOR, VI_VERSION_MINOR,
           VI_VERSION_PATCH, vi_version_string(), (unsigned)rt);
    /* The FFmpeg the library loaded, with the licence FFmpeg reports (docs/licensing.md). */
    printf("ffmpeg  %s, licence: %s\n", vi_ffmpeg_version(), vi_ffmpeg_license());
    if (rt / 100 != VI_VERSION_NUMBER / 100)
        fprintf(stderr, "vinfringe: warning: built with header %d.%d but running library %s\n",
                VI_VERSION_MAJOR, VI_VERSION_MINOR, vi_version_string());
    return CLI_EXIT_OK;
}

static int top_usage_error(const char *fmt, const char *word) {
    fputs("vinfringe: ", stderr);
    fprintf(stderr, fmt, word);
    fputs("\nTry 'vinfringe --help' for more information.\n", stderr);
    return CLI_EXIT_USAGE;
}

/* The command named by argv[0] (and argv[1] for "index build"); *used receives how many words
 * named it. NULL after printing a usage error into *rc. */
static const cli_command *find_command(int argc, char **argv, int *used, int *rc) {
    *used = 1;
    if (strcmp(argv[0], "index") == 0) {
        if (argc >= 2 && strcmp(argv[1], "build") == 0) {
            *used = 2;
            return &cli_cmd_index_build;
        }
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            cli_print_help(&cli_cmd_index_build, stdout);
            *rc = CLI_EXIT_OK;
            return NULL;
        }
        *rc = cli_usage_error(&cli_cmd_index_build,
                              argc >= 2 ? "unknown index command" : "missing index command");
        return NULL;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[0], k_commands[i]->name) == 0)
            return k_commands[i];
    *rc = top_usage_error("unknown command '%s'", argv[0]);
    return NULL;
}

static int run_help(int argc, char **argv) {
    const cli_command *cmd;
    int used, rc = CLI_EXIT_OK;
    if (argc == 0) {
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[0], "train") == 0) {
        char help[] = "--help", *h[] = {help};
        return cli_train_main(1, h);
    }
    if (strcmp(argv[0], "finetune") == 0) {
        char help[] = "--help", *h[] = {help};
        return cli_finetune_main(1, h);
    }
    if (argc == 1 && strcmp(argv[0], "index") == 0)
        cmd = &cli_cmd_index_build; /* `help index`: its only subcommand */
    else if (!(cmd = find_command(argc, argv, &used, &rc)))
        return rc;
    cli_print_help(cmd, stdout);
    return CLI_EXIT_OK;
}

/* libtorch allocates and frees the same large activation buffers for every frame and every
 * training step. With glibc's defaults the largest go back to the kernel each time (mmap, heap
 * trimming) and are faulted in again: keeping them in the heap made a fine-tuning step 2.5x and
 * embedding 1.1x faster here (docs/training.md). It is a process-wide setting, so the host
 * program chooses it; the library never changes malloc's behaviour. */
static void keep_freed_memory(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 32 << 20); /* glibc's ceiling for this setting */
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

int main(int argc, char **argv) {
    const cli_command *cmd;
    cli_args args;
    int used, rc = CLI_EXIT_USAGE;
    keep_freed_memory();
    if (argc < 2) {
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return run_help(0, NULL);
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)
        return print_version();
    if (strcmp(argv[1], "help") == 0)
        return run_help(argc - 2, argv + 2);
    if (strcmp(argv[1], "train") == 0)
        return cli_train_main(argc - 2, argv + 2);
    if (strcmp(argv[1], "finetune") == 0)
        return cli_finetune_main(argc - 2, argv + 2);
    if (argv[1][0] == '-')
        return top_usage_error("unknown option '%s'", argv[1]);
    if (!(cmd = find_command(argc - 1, argv + 1, &used, &rc)))
        return rc;
    rc = cli_parse(cmd, argc - 1 - used, argv + 1 + used, &args);
    if (rc < 0) {
        cli_log_setup(args.loglevel);
        rc = cmd->run(&args);
        if (fflush(stdout) != 0 && rc == CLI_EXIT_OK)
            rc = cli_error("cannot write the output: %s", "stdout");
    }
    cli_args_free(&args);
    return rc;
}
