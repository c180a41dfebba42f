/* vi_embed_*: frames -> backbone features (in batches) -> head -> embedding.
 * Frames are streamed through a small batch buffer: a decoder fills one slot at a time, full
 * batches go through the backbone, and only the per-frame embeddings (dim floats each) and the
 * running sum of features (for the video-level vector) are kept. */
#include <math.h>
#include <string.h>

#include "../decode/decode.h"
#include "../formats/formats.h"
#include "../model/model.h"

#define BATCH 8 /* frames per backbone call: measured faster than 1 and no slower than 16 */
#define MAX_FPS 60.0f

struct accumulator {
    const vi_model *model;
    int32_t size;     /* backbone input side */
    int32_t fdim;     /* feature dim */
    int32_t dim;      /* embedding dim */
    uint8_t *batch;   /* BATCH x size x size x 3 */
    int64_t batch_pts[BATCH];
    int32_t n_batch;
    float *features;  /* BATCH x fdim */
    double *sum;      /* fdim: running sum of frame features */
    float *frames;    /* cap x dim */
    int64_t *pts;     /* cap */
    int32_t n, cap;
};

static void acc_release(struct accumulator *a) {
    vi__free(a->batch);
    vi__free(a->features);
    vi__free(a->sum);
    vi__free(a->frames);
    vi__free(a->pts);
    memset(a, 0, sizeof *a);
}

static vi_status acc_init(struct accumulator *a, const vi_model *m) {
    memset(a, 0, sizeof *a);
    a->model = m;
    a->size = m->input_size;
    a->fdim = m->head.in_dim;
    a->dim = m->head.out_dim;
    a->batch = vi__malloc((size_t)BATCH * a->size * a->size * 3);
    a->features = vi__mallocarray((size_t)BATCH * a->fdim, sizeof(float));
    a->sum = vi__calloc((size_t)a->fdim, sizeof(double));
    if (!a->batch || !a->features || !a->sum) {
        acc_release(a);
        return vi__fail(VI_E_NOMEM, "out of memory");
    }
    return VI_OK;
}

/* Where the next frame's RGB pixels go. */
static uint8_t *acc_slot(struct accumulator *a) {
    return a->batch + (size_t)a->n_batch * a->size * a->size * 3;
}

static vi_status acc_flush(struct accumulator *a) {
    if (a->n_batch == 0) return VI_OK;
    vi_status st = vi__net_features(a->model->net, a->batch, a->n_batch, a->size, a->features);
    if (st != VI_OK) return st;
    if (a->n + a->n_batch > a->cap) {
        int32_t cap = a->cap ? a->cap * 2 : 64;
        float *frames = vi__realloc(a->frames, (size_t)cap * a->dim * sizeof(float));
        if (frames) a->frames = frames;
        int64_t *pts = vi__realloc(a->pts, (size_t)cap * sizeof(int64_t));
        if (pts) a->pts = pts;
        if (!frames || !pts) return vi__fail(VI_E_NOMEM, "out of memory after %d frames", a->n);
        a->cap = cap;
    }
    for (int32_t i = 0; i < a->n_batch; i++) {
        const float *f = a->features + (size_t)i * a->fdim;
        for (int32_t c = 0; c < a->fdim; c++) a->sum[c] += f[c];
        a->pts[a->n + i] = a->batch_pts[i];
    }
    vi__head_apply(&a->model->head, a->features, a->n_batch, a->frames + (size_t)a->n * a->dim);
    a->n += a->n_batch;
    a->n_batch = 0;
    return VI_OK;
}

static vi_status acc_commit(struct accumulator *a, int64_t pts_us) {
    a->batch_pts[a->n_batch++] = pts_us;
    return a->n_batch == BATCH ? acc_flush(a) : VI_OK;
}

/* Build the embedding: frame vectors as computed, the video vector from the mean feature. */
static vi_status acc_finish(struct accumulator *a, double duration, vi_embedding **out) {
    vi_status st = acc_flush(a);
    if (st != VI_OK) return st;
    if (a->n == 0) return vi__fail(VI_E_NO_VIDEO, "no frames");
    struct vi_embedding *e;
    st = vi__embedding_alloc(a->dim, a->n, a->model->id, &e);
    if (st != VI_OK) return st;
    memcpy(e->frames, a->frames, (size_t)a->n * a->dim * sizeof(float));
    memcpy(e->pts_us, a->pts, (size_t)a->n * sizeof(int64_t));
    float *mean = a->features; /* reuse: at least fdim floats */
    for (int32_t c = 0; c < a->fdim; c++) mean[c] = (float)(a->sum[c] / a->n);
    vi__head_apply(&a->model->head, mean, 1, e->video);
    if (a->model->calib.id) { /* each frame's background, for the calibrated verdict */
        st = vi__embedding_background(a->model->bank, a->model->bank_k, e);
        if (st != VI_OK) {
            vi_embedding_free(e);
            return st;
        }
        e->calib = a->model->calib;
    }
    double last = (double)(a->pts[a->n - 1] - a->pts[0]) / 1e6;
    e->duration = duration > 0 ? duration : last;
    *out = e;
    return VI_OK;
}

vi_status vi_embed_options_init(vi_embed_options *opts, size_t struct_size) {
    vi_embed_options d;
    memset(&d, 0, sizeof d);
    d.fps = 1.0f;
    return vi__options_init(opts, struct_size, &d, sizeof d, "vi_embed_options_init");
}

static vi_status read_embed_options(const vi_embed_options *in, vi_embed_options *o) {
    vi_embed_options_init(o, sizeof *o);
    if (in) {
        vi_status st = vi__copy_options(o, sizeof *o, in);
        if (st != VI_OK) return st;
    }
    if (o->fps == 0) o->fps = 1.0f;
    if (!(o->fps > 0 && o->fps <= MAX_FPS))
        return vi__fail(VI_E_INVALID_ARG, "fps %g is out of range (0, %g]", (double)o->fps,
                        (double)MAX_FPS);
    if (o->max_frames < 0)
        return vi__fail(VI_E_INVALID_ARG, "max_frames %d is negative", o->max_frames);
    if (o->decode_threads < 0 || o->decode_threads > 64)
        return vi__fail(VI_E_INVALID_ARG, "decode_threads %d is out of range 0..64",
                        o->decode_threads);
    return VI_OK;
}

static vi_status embed_stream(struct vi__decoder *dec,
                              const vi_embed_options *o, struct accumulator *acc) {
    const double total = vi__decoder_duration(dec);
    int64_t first = INT64_MIN;
    for (;;) {
        int got = 0;
        int64_t pts;
        vi_status st = vi__decoder_next(dec, acc_slot(acc), &pts, &got);
        if (st != VI_OK) return st;
        if (!got) return VI_OK;
        if (first == INT64_MIN) first = pts;
        st = acc_commit(acc, pts);
        if (st != VI_OK) return st;
        if (o->progress && acc->n_batch == 0 &&
            o->progress(o->progress_user, (double)(pts - first) / 1e6, total) != 0)
            return vi__fail(VI_E_CANCELLED, "cancelled by the progress callback");
    }
}

vi_status vi_embed_video(const vi_model *model, const char *path, const vi_embed_options *opts,
                         vi_embedding **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_embed_video: out is NULL");
    *out = NULL;
    if (!model || !path) return vi__fail(VI_E_INVALID_ARG, "vi_embed_video: model or path is NULL");
    vi_embed_options o;
    vi_status st = read_embed_options(opts, &o);
    if (st != VI_OK) return st;
    vi__decode_params params = {o.fps, o.max_frames, o.keyframes_only, o.decode_threads,
                                model->input_size};
    struct vi__decoder *dec;
    st = vi__decoder_open(path, &params, &dec);
    if (st != VI_OK) return st;
    struct accumulator acc;
    st = acc_init(&acc, model);
    if (st == VI_OK) {
        st = embed_stream(dec, &o, &acc);
        /* The duration actually decoded, from the first frame (a truncated file declares more
         * than it holds; a stream starting at 360000 s does not last that long). */
        if (st == VI_OK) st = acc_finish(&acc, vi__decoder_decoded_span(dec), out);
        if (st == VI_OK) (*out)->warnings = vi__decoder_warnings(dec);
        if (st == VI_OK && o.progress) {
            double d = (*out)->duration;
            o.progress(o.progress_user, d, d);
        }
        acc_release(&acc);
    }
    vi__decoder_close(dec);
    if (st != VI_OK && st != VI_E_CANCELLED && !strstr(vi_last_error(), path))
        vi__error_prefix("embedding %s", path);
    return st;
}

vi_status vi_embed_frames(const vi_model *model, const uint8_t *rgb, int32_t n_frames,
                          int32_t width, int32_t height, int32_t stride, const int64_t *pts_us,
                          vi_embedding **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_embed_frames: out is NULL");
    *out = NULL;
    if (!model || !rgb) return vi__fail(VI_E_INVALID_ARG, "vi_embed_frames: model or rgb is NULL");
    if (n_frames <= 0 || width <= 0 || height <= 0 || width > 16384 || height > 16384)
        return vi__fail(VI_E_INVALID_ARG, "vi_embed_frames: %d frames of %dx%d", n_frames, width,
                        height);
    if (stride == 0) stride = width * 3;
    if (stride < width * 3)
        return vi__fail(VI_E_INVALID_ARG, "vi_embed_frames: stride %d < width * 3", stride);
    for (int32_t i = 1; pts_us && i < n_frames; i++)
        if (pts_us[i] < pts_us[i - 1])
            return vi__fail(VI_E_INVALID_ARG, "vi_embed_frames: timestamps decrease at frame %d", i);
    struct accumulator acc;
    vi_status st = acc_init(&acc, model);
    for (int32_t i = 0; st == VI_OK && i < n_frames; i++) {
        const uint8_t *frame = rgb + (size_t)i * (size_t)stride * (size_t)height;
        st = vi__scale_rgb(frame, width, height, stride, acc_slot(&acc), acc.size);
        if (st == VI_OK) st = acc_commit(&acc, pts_us ? pts_us[i] : (int64_t)i * 1000000);
    }
    if (st == VI_OK) st = acc_finish(&acc, 0, out);
    if (st == VI_OK && n_frames > 1) /* duration: the span plus one frame interval */
        (*out)->duration += (*out)->duration / (n_frames - 1);
    else if (st == VI_OK)
        (*out)->duration = 1.0;
    acc_release(&acc);
    return st;
}

/* ---- accessors ---- */

int32_t vi_embedding_dim(const vi_embedding *e) { return e ? e->dim : 0; }
int32_t vi_embedding_frame_count(const vi_embedding *e) { return e ? e->n_frames : 0; }
const int64_t *vi_embedding_timestamps(const vi_embedding *e) { return e ? e->pts_us : NULL; }
const float *vi_embedding_video_vector(const vi_embedding *e) { return e ? e->video : NULL; }
const float *vi_embedding_frame_vectors(const vi_embedding *e) { return e ? e->frames : NULL; }
double vi_embedding_duration(const vi_embedding *e) { return e ? e->duration : 0; }
const char *vi_embedding_model_id(const vi_embedding *e) { return e ? e->model_id : NULL; }
int32_t vi_embedding_is_calibrated(const vi_embedding *e) { return e && e->calib.id ? 1 : 0; }
int32_t vi_embedding_warnings(const vi_embedding *e) { return e ? e->warnings : 0; }

vi_status vi_embedding_calibrate(const vi_model *model, const vi_embedding *emb,
                                 vi_embedding **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_embedding_calibrate: out is NULL");
    *out = NULL;
    if (!model || !emb) return vi__fail(VI_E_INVALID_ARG, "vi_embedding_calibrate: NULL argument");
    if (!model->calib.id)
        return vi__fail(VI_E_INVALID_ARG, "vi_embedding_calibrate: model %s is uncalibrated",
                        model->id);
    if (strcmp(model->id, emb->model_id) != 0 || emb->dim != model->head.out_dim)
        return vi__fail(VI_E_FORMAT, "vi_embedding_calibrate: the embedding comes from model %s, "
                        "not %s", emb->model_id, model->id);
    struct vi_embedding *e = vi__embedding_copy(emb);
    if (!e) return vi__fail(VI_E_NOMEM, "out of memory");
    vi_status st = vi__embedding_background(model->bank, model->bank_k, e);
    if (st != VI_OK) {
        vi_embedding_free(e);
        return st;
    }
    e->calib = model->calib;
    *out = e;
    return VI_OK;
}
