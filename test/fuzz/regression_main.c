/* Replays fuzz inputs without libFuzzer (as zstd's regression_driver.c): each argument is a
 * file or a directory of files, each file is passed once to LLVMFuzzerTestOneInput. Linked with
 * every fuzz target by `make check-fuzz`, so that the committed corpora and crashers run in
 * `make check` under the ordinary build (and under ASan/UBSan with `make check-san`). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    const long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    const int ok = buf && fread(buf, 1, (size_t)n, f) == (size_t)n;
    fclose(f);
    if (ok) LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    if (!ok) fprintf(stderr, "cannot read %s\n", path);
    return !ok;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    int failed = 0, files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "missing %s\n", argv[i]);
            failed++;
            continue;
        }
        if (!S_ISDIR(sb.st_mode)) {
            failed += run_file(argv[i]);
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.') continue;
            if (n == cap) names = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
            names[n] = malloc(strlen(argv[i]) + strlen(de->d_name) + 2);
            sprintf(names[n++], "%s/%s", argv[i], de->d_name);
        }
        if (d) closedir(d);
        qsort(names, n, sizeof *names, by_name); /* the same order on every run */
        for (size_t k = 0; k < n; k++) {
            failed += run_file(names[k]);
            files++;
            free(names[k]);
        }
        free(names);
    }
    printf("%s: %d inputs replayed, %d unreadable\n", argv[0], files, failed);
    return failed != 0;
}
