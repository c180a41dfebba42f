/*
 * common.h - tiny helpers shared by the example programs (not part of the library).
 *
 * CHECK(call) runs a libvinfringe call that returns a vi_status and, if it failed, prints the
 * status and the library's message (which names the file and FFmpeg's or libtorch's reason)
 * and exits. Real programs would clean up and recover instead; examples stay short.
 */
#ifndef VI_EXAMPLES_COMMON_H
#define VI_EXAMPLES_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include <vinfringe.h>

#define CHECK(call)                                                                             \
    do {                                                                                        \
        vi_status check_st_ = (call);                                                           \
        if (check_st_ != VI_OK) {                                                               \
            fprintf(stderr, "%s:%d: %s failed: %s (%s)\n", __FILE__, __LINE__, #call,           \
                    vi_last_error(), vi_status_str(check_st_));                                 \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)

/* Print a usage line and exit with status 2 when argc is outside [min, max]. */
#define USAGE(min, max, text)                                                                   \
    do {                                                                                        \
        if (argc < (min) || argc > (max)) {                                                     \
            fprintf(stderr, "usage: %s %s\n", argv[0], text);                                   \
            return 2;                                                                           \
        }                                                                                       \
    } while (0)

#endif
