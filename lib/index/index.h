/* The catalogue index. Version 1 keeps every reference embedding (frame vectors included) in
 * memory and ranks by the full comparison (lib/compare), which also yields the copied segments. */
#ifndef VI_INDEX_H
#define VI_INDEX_H

#include "../common/common.h"
#include "../common/objects.h"

struct vi_index {
    int32_t n, cap;
    char **ids;                  /* n copies */
    struct vi_embedding **refs;  /* n owned copies */
    char *model_id;              /* fixed by the first add; NULL while empty */
    int32_t dim;
};

struct vi_hits {
    int32_t n;
    char **ids;
    struct vi_match **matches;
};

VI_HIDDEN vi_status vi__index_add(struct vi_index *index, const char *id, const struct vi_embedding *e);
VI_HIDDEN vi_status vi__index_search(const struct vi_index *index, const struct vi_embedding *q,
                                     int32_t k, struct vi_hits **out);
VI_HIDDEN vi_status vi__index_encode(const struct vi_index *index, uint8_t **out, size_t *n);
VI_HIDDEN vi_status vi__index_decode(const uint8_t *buf, size_t n, struct vi_index **out);
VI_HIDDEN struct vi_embedding *vi__embedding_copy(const struct vi_embedding *e);

#endif
