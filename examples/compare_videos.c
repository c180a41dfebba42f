/*
 * compare_videos.c - is QUERY a copy of REFERENCE? Print the score and the copied segments.
 *
 *   cc compare_videos.c $(pkg-config --cflags --libs vinfringe) -o compare_videos
 *   ./compare_videos upload.mp4 original.mp4
 *
 * Either argument may also be an embedding file (.vemb) saved earlier, e.g. by embed_video.
 */
#include <string.h>

#include "common.h"

/* Embed a video, or load an embedding file when the name ends in ".vemb". */
static void load(const vi_model *model, const char *path, vi_embedding **out) {
    size_t len = strlen(path);
    if (len > 5 && strcmp(path + len - 5, ".vemb") == 0)
        CHECK(vi_embedding_load(path, out));
    else
        CHECK(vi_embed_video(model, path, NULL, out)); /* NULL: default options */
}

int main(int argc, char **argv) {
    USAGE(3, 3, "QUERY REFERENCE");
    vi_model *model = NULL;
    vi_embedding *query = NULL, *ref = NULL;
    vi_match *match = NULL;

    CHECK(vi_model_load(NULL, &model)); /* the built-in model */
    load(model, argv[1], &query);
    load(model, argv[2], &ref);

    /* localize = 1 (the default) also finds which spans were copied. */
    vi_compare_options opts;
    CHECK(VI_COMPARE_OPTIONS_INIT(opts));
    opts.localize = 1;
    CHECK(vi_compare(query, ref, &opts, &match));

    /* The score is in [0, 1]; docs/thresholds.md says how to pick a cut-off. */
    printf("score %.6f\n", vi_match_score(match));
    printf("video_similarity %.6f\n", vi_match_video_similarity(match));
    const int32_t n = vi_match_segment_count(match);
    printf("segments %d\n", n);
    for (int32_t i = 0; i < n; i++) {
        vi_segment s;
        CHECK(vi_match_segment(match, i, &s));
        printf("  query %7.2f-%7.2f s  <->  reference %7.2f-%7.2f s  (similarity %.3f)\n",
               s.query_start, s.query_end, s.ref_start, s.ref_end, s.score);
    }

    vi_match_free(match);
    vi_embedding_free(query);
    vi_embedding_free(ref);
    vi_model_free(model);
    return 0;
}
