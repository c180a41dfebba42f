/* Embedding files (.vemb): the container with the model id, duration, timestamps, the video
 * vector and the frame vectors as float32. */
#include <math.h>
#include <string.h>

#include "formats.h"

vi_status vi__embedding_encode(const struct vi_embedding *e, uint8_t **out, size_t *n) {
    vi__docw *w = vi__docw_create();
    if (!w) return vi__fail(VI_E_NOMEM, "out of memory");
    vi__docw_str(w, "kind", "vinfringe-embedding");
    vi__docw_str(w, "model_id", e->model_id);
    vi__docw_f64(w, "duration", e->duration);
    if (e->warnings) vi__docw_i64(w, "warnings", e->warnings); /* absent: 0 (files before 0.4) */
    vi__tensor video = {"video", VI__DT_F32, 1, {e->dim}, 0, 0, e->video, 0};
    vi__tensor frames = {"frames", VI__DT_F32, 2, {e->n_frames, e->dim}, 0, 0, e->frames, 0};
    vi__tensor pts = {"pts_us", VI__DT_I64, 1, {e->n_frames}, 0, 0, e->pts_us, 0};
    vi__docw_tensor(w, &video);
    vi__docw_tensor(w, &frames);
    vi__docw_tensor(w, &pts);
    if (e->calib.id && e->frame_bg) { /* absent: uncalibrated (and every file before 0.4) */
        vi__tensor bg = {"frame_bg", VI__DT_F32, 1, {e->n_frames}, 0, 0, e->frame_bg, 0};
        vi__docw_tensor(w, &bg);
        vi__calibration_write(w, &e->calib);
    }
    return vi__docw_finish(w, VI__MAGIC_EMBEDDING, out, n);
}

static int all_finite(const float *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

/* The frame backgrounds and the calibration of a calibrated model's embedding: both or none. */
static vi_status read_calibration(const vi__doc *doc, struct vi_embedding *e) {
    vi_status st = vi__calibration_read(doc, VI_E_FORMAT, &e->calib);
    if (st != VI_OK) return st;
    const vi__tensor *bg = vi__doc_tensor(doc, "frame_bg");
    if (!bg && !e->calib.id) return VI_OK;
    if (!bg || !e->calib.id)
        return vi__fail(VI_E_FORMAT, "embedding has %s but no %s", bg ? "frame backgrounds" :
                        "a calibration", bg ? "calibration" : "frame backgrounds");
    if (bg->dtype != VI__DT_F32 || bg->ndim != 1 || bg->dims[0] != e->n_frames)
        return vi__fail(VI_E_FORMAT, "embedding frame backgrounds do not match its %d frames",
                        e->n_frames);
    e->frame_bg = vi__mallocarray((size_t)e->n_frames, sizeof(float));
    if (!e->frame_bg) return vi__fail(VI_E_NOMEM, "out of memory");
    memcpy(e->frame_bg, bg->data, bg->nbytes);
    for (int32_t i = 0; i < e->n_frames; i++)
        if (!(e->frame_bg[i] >= -1.0f && e->frame_bg[i] <= 1.0f))
            return vi__fail(VI_E_FORMAT, "embedding frame background %d is out of [-1, 1]", i);
    return VI_OK;
}

vi_status vi__embedding_decode(const uint8_t *buf, size_t n, struct vi_embedding **out) {
    *out = NULL;
    vi__doc *doc;
    vi_status st = vi__doc_parse(buf, n, VI__MAGIC_EMBEDDING, VI_E_FORMAT, &doc);
    if (st != VI_OK) return st;
    const char *model_id = vi__doc_str(doc, "model_id");
    const vi__tensor *video = vi__doc_tensor(doc, "video");
    const vi__tensor *frames = vi__doc_tensor(doc, "frames");
    const vi__tensor *pts = vi__doc_tensor(doc, "pts_us");
    double duration = 0;
    if (!model_id || !video || !frames || !pts || !vi__doc_f64(doc, "duration", &duration) ||
        video->dtype != VI__DT_F32 || frames->dtype != VI__DT_F32 || pts->dtype != VI__DT_I64 ||
        video->ndim != 1 || frames->ndim != 2 || pts->ndim != 1 || frames->dims[1] != video->dims[0] ||
        pts->dims[0] != frames->dims[0] || frames->dims[0] < 1 || video->dims[0] < 1 ||
        frames->dims[0] > INT32_MAX || video->dims[0] > 65536 || !isfinite(duration)) {
        vi__doc_free(doc);
        return vi__fail(VI_E_FORMAT, "embedding entries missing or inconsistent");
    }
    struct vi_embedding *e;
    st = vi__embedding_alloc((int32_t)video->dims[0], (int32_t)frames->dims[0], model_id, &e);
    if (st == VI_OK) {
        memcpy(e->video, video->data, video->nbytes);
        memcpy(e->frames, frames->data, frames->nbytes);
        memcpy(e->pts_us, pts->data, pts->nbytes);
        e->duration = duration;
        int64_t warnings = 0;
        if (vi__doc_i64(doc, "warnings", &warnings))
            e->warnings = (int32_t)(warnings & (VI_EMBED_WARN_TRUNCATED | VI_EMBED_WARN_DAMAGED_FRAMES));
        st = read_calibration(doc, e);
        if (st != VI_OK) {
            vi_embedding_free(e);
            e = NULL;
        } else if (!all_finite(e->video, (size_t)e->dim) ||
            !all_finite(e->frames, (size_t)e->dim * (size_t)e->n_frames)) {
            vi_embedding_free(e);
            e = NULL;
            st = vi__fail(VI_E_FORMAT, "embedding holds non-finite values");
        }
    }
    vi__doc_free(doc);
    *out = e;
    return st;
}
