/* Allocation wrappers: the single place where lib/ calls the C allocator. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

void *vi__malloc(size_t n) { return vi__fault_alloc_fails() ? NULL : malloc(n ? n : 1); }

void *vi__calloc(size_t count, size_t size) {
    if (size != 0 && count > SIZE_MAX / size) return NULL;
    return vi__fault_alloc_fails() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *vi__realloc(void *p, size_t n) { return vi__fault_alloc_fails() ? NULL : realloc(p, n ? n : 1); }

void *vi__mallocarray(size_t count, size_t size) {
    if (size != 0 && count > SIZE_MAX / size) return NULL;
    return vi__malloc(count * size);
}

void vi__free(void *p) { free(p); }

char *vi__strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *copy = vi__malloc(n);
    if (copy) memcpy(copy, s, n);
    return copy;
}
