/*
 * embed_video.c - fingerprint one video and print its embedding.
 *
 *   cc embed_video.c $(pkg-config --cflags --libs vinfringe) -o embed_video
 *   ./embed_video movie.mp4 [model.vimodel]
 *
 * Prints the model, the number of sampled frames, each frame's time, and the first values of
 * the video-level vector (256 floats, L2-normalised).
 */
#include "common.h"

int main(int argc, char **argv) {
    USAGE(2, 3, "VIDEO [MODEL]");
    vi_model *model = NULL;
    vi_embedding *emb = NULL;

    /* NULL loads the model compiled into the library. */
    CHECK(vi_model_load(argc > 2 ? argv[2] : NULL, &model));

    /* Options: sample 1 frame per second (the default); everything else default too. */
    vi_embed_options opts;
    CHECK(VI_EMBED_OPTIONS_INIT(opts));
    opts.fps = 1.0f;
    CHECK(vi_embed_video(model, argv[1], &opts, &emb));

    /* Accessors return borrowed pointers: valid until vi_embedding_free. */
    const int32_t dim = vi_embedding_dim(emb);
    const int32_t n = vi_embedding_frame_count(emb);
    const int64_t *pts = vi_embedding_timestamps(emb);
    const float *video = vi_embedding_video_vector(emb);
    printf("model     %s\n", vi_model_id(model));
    printf("video     %s (%.2f s)\n", argv[1], vi_embedding_duration(emb));
    printf("frames    %d, dim %d\n", n, dim);
    for (int32_t i = 0; i < n; i++)
        printf("frame %3d at %8.3f s\n", i, (double)pts[i] / 1e6);
    printf("vector   ");
    for (int32_t j = 0; j < dim && j < 8; j++)
        printf(" %+.4f", video[j]);
    printf(" ...\n");

    /* Keep it for later: compare or index it without decoding the video again. */
    CHECK(vi_embedding_save(emb, "embedding.vemb"));
    printf("saved     embedding.vemb\n");

    vi_embedding_free(emb);
    vi_model_free(model);
    return 0;
}
