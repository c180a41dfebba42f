/* Crash-safe file replacement (vi__write_file_atomic) and the removal of what a killed writer
 * left behind (vi__remove_stale_temps).
 *
 * A replacement is written to a temporary file of its own, "<path>.tmp.<12 random hex>",
 * created with O_EXCL in the target's directory (so two threads or processes saving one path
 * never share it), locked with flock while it lives, fsynced, renamed over the target, and the
 * directory fsynced: after a crash the target is the old or the new file, whole. A temporary
 * file nobody holds the lock of belongs to a writer that died; vi__remove_stale_temps deletes
 * those and never one still being written. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define TMP_MARK ".tmp."

/* `n` random lowercase hex digits (getrandom; the clock and the address of a local as a
 * fallback, which O_EXCL makes safe anyway). */
static void random_hex(char *out, size_t n) {
    uint8_t raw[16];
    if (getrandom(raw, sizeof raw, GRND_NONBLOCK) != (ssize_t)sizeof raw) {
        uint64_t x = (uint64_t)(uintptr_t)&raw ^ ((uint64_t)getpid() << 32);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x ^= (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec;
        for (size_t i = 0; i < sizeof raw; i++, x = x * 6364136223846793005ull + 1442695040888963407ull)
            raw[i] = (uint8_t)(x >> 56);
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) out[i] = hex[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 15];
    out[n] = '\0';
}

vi_status vi__fsync_dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? vi__malloc((size_t)(slash - path) + 2) : NULL;
    if (slash && !dir) return vi__fail(VI_E_NOMEM, "out of memory");
    if (dir) {
        const size_t n = slash == path ? 1 : (size_t)(slash - path);
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    const int fd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    vi__free(dir);
    if (fd < 0) return vi__fail(VI_E_IO, "cannot sync the directory of %s: %s", path,
                                strerror(errno));
    vi__fault_point();
    const int rc = fsync(fd);
    const int err = errno;
    close(fd);
    /* some file systems cannot sync a directory; the rename itself is then all there is */
    if (rc != 0 && err != EINVAL && err != EROFS)
        return vi__fail(VI_E_IO, "cannot sync the directory of %s: %s", path, strerror(err));
    return VI_OK;
}

/* Create "<path>.tmp.<random>" exclusively and lock it; `tmp` receives its name. */
static int create_temp(const char *path, char **tmp) {
    const size_t len = strlen(path) + sizeof TMP_MARK + 13;
    for (int attempt = 0; attempt < 100; attempt++) {
        char *name = vi__malloc(len);
        if (!name) {
            errno = ENOMEM;
            return -1;
        }
        char suffix[13];
        random_hex(suffix, 12);
        snprintf(name, len, "%s" TMP_MARK "%s", path, suffix);
        vi__fault_point();
        const int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0) {
            const int err = errno;
            vi__free(name);
            if (err == EEXIST) continue;
            errno = err;
            return -1;
        }
        /* Live: a cleaner skips a locked temporary file. Between open and flock a cleaner may
         * have taken it for a dead writer's and removed it: then start again. */
        struct stat sb;
        if (flock(fd, LOCK_EX) != 0 || fstat(fd, &sb) != 0 || sb.st_nlink == 0) {
            close(fd);
            vi__free(name);
            continue;
        }
        *tmp = name;
        return fd;
    }
    errno = EEXIST;
    return -1;
}

static int write_fully(int fd, const void *data, size_t size) {
    const uint8_t *p = data;
    while (size > 0) {
        vi__fault_point();
        const ssize_t w = write(fd, p, size);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        size -= (size_t)w;
    }
    return 0;
}

vi_status vi__write_file_atomic(const char *path, const void *data, size_t size) {
    char *tmp = NULL;
    const int fd = create_temp(path, &tmp);
    if (fd < 0) {
        if (errno == ENOMEM) return vi__fail(VI_E_NOMEM, "cannot write %s: out of memory", path);
        return vi__fail(VI_E_IO, "cannot write %s: %s", path, strerror(errno));
    }
    int ok = write_fully(fd, data, size) == 0;
    if (ok) {
        vi__fault_point();
        ok = fsync(fd) == 0;
    }
    if (ok) {
        vi__fault_point();
        ok = rename(tmp, path) == 0;
    }
    const int err = errno;
    if (!ok) {
        vi__fault_point();
        unlink(tmp);
    }
    close(fd); /* releases the lock, after the rename: the name is gone by then */
    vi__free(tmp);
    if (!ok) return vi__fail(VI_E_IO, "cannot write %s: %s", path, strerror(err));
    return vi__fsync_dir_of(path);
}

int vi__remove_if_stale(const char *name) {
    const int fd = open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return 0;
    struct stat held, named;
    int removed = 0;
    /* Unlinked while the lock is held: a writer that created the file but had not locked it
     * yet blocks in flock until then, finds the file gone and starts again. */
    if (fstat(fd, &held) == 0 && S_ISREG(held.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
        stat(name, &named) == 0 && named.st_dev == held.st_dev && named.st_ino == held.st_ino) {
        vi__fault_point();
        removed = unlink(name) == 0;
    }
    close(fd);
    return removed;
}

vi_status vi__remove_stale_temps(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const size_t dir_len = slash ? (size_t)(slash - path) : 0;
    char *dir = vi__malloc(dir_len + 2);
    if (!dir) return vi__fail(VI_E_NOMEM, "out of memory");
    if (slash) {
        memcpy(dir, path, dir_len ? dir_len : 1);
        dir[dir_len ? dir_len : 1] = '\0';
    } else {
        memcpy(dir, ".", 2);
    }
    DIR *d = opendir(dir);
    if (!d) {
        vi__free(dir);
        return VI_OK; /* nothing to clean where nothing can be listed */
    }
    const size_t base_len = strlen(base);
    vi_status st = VI_OK;
    struct dirent *de;
    while (st == VI_OK && (de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, base, base_len) != 0 ||
            strncmp(de->d_name + base_len, TMP_MARK, sizeof TMP_MARK - 1) != 0 ||
            strchr(de->d_name + base_len + sizeof TMP_MARK - 1, '/'))
            continue;
        const size_t n = strlen(dir) + strlen(de->d_name) + 2;
        char *full = vi__malloc(n);
        if (!full) {
            st = vi__fail(VI_E_NOMEM, "out of memory");
            break;
        }
        snprintf(full, n, "%s/%s", dir, de->d_name);
        vi__remove_if_stale(full);
        vi__free(full);
    }
    closedir(d);
    vi__free(dir);
    return st;
}
