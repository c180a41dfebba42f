/* Where the tests find their files: fixtures made by test/data/make_fixtures.sh ($VI_FIXTURES)
 * and files of the source tree ($VI_SRCDIR), both set by `make check`. The returned paths live in
 * a small ring of static buffers, so a few may be in use at once. */
#ifndef VI_TEST_PATHS_H
#define VI_TEST_PATHS_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

static inline const char *vi_test_path(const char *env, const char *name) {
    static char ring[8][4096];
    static int next;
    const char *dir = getenv(env);
    ck_assert_msg(dir != NULL, "%s is not set (run the tests through make check)", env);
    char *p = ring[next++ % 8];
    snprintf(p, sizeof ring[0], "%s/%s", dir, name);
    return p;
}

/* A fixture clip or bad file, e.g. vi_test_fixture("clip_a.mp4"). */
static inline const char *vi_test_fixture(const char *name) {
    return vi_test_path("VI_FIXTURES", name);
}

/* A file of the source tree, e.g. vi_test_source("models/default.vimodel"). */
static inline const char *vi_test_source(const char *name) {
    return vi_test_path("VI_SRCDIR", name);
}

#endif
