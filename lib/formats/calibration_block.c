/* The calibration block (docs/file-formats.md, "Calibration"): the scoring constants of a
 * calibrated model, written alike into model files, embedding files and indexes. Every key is
 * spelled here. A file without the block is uncalibrated; a block that is partial, or whose
 * values are out of range or do not match its checksum, is refused. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "formats.h"

#define KEY_ID "calibration.id"
#define KEY_BANK_CRC "calibration.bank_crc"
#define KEY_SEGMENT_W "calibration.segment_w"
#define KEY_PAIR_W "calibration.pair_w"
#define KEY_SEARCH_W "calibration.search_w"
#define KEY_LOGIT_NONE "calibration.logit_none"
#define KEY_SEGMENT_MIN "calibration.segment_min"
#define KEY_THRESHOLD "calibration.threshold"
#define WEIGHT_MAX 1000.0 /* a fitted weight beyond this is a damaged file, not a fit */

int vi__calibration_is_key(const char *name) {
    return strncmp(name, "calibration.", 12) == 0;
}

uint32_t vi__calibration_crc(const struct vi__calibration *c) {
    struct vi__calibration tmp = *c;
    tmp.id = 0;
    uint32_t crc = vi__crc32(0, &tmp, sizeof tmp);
    return crc ? crc : 1; /* 0 means uncalibrated */
}

void vi__calibration_write(vi__docw *w, const struct vi__calibration *c) {
    if (!c->id) return;
    vi__docw_i64(w, KEY_ID, c->id);
    vi__docw_i64(w, KEY_BANK_CRC, c->bank_crc);
    const vi__tensor sw = {KEY_SEGMENT_W, VI__DT_F32, 1, {VI__EVIDENCE_FEATURES + 1}, 0, 0,
                           c->segment_w, sizeof c->segment_w};
    const vi__tensor pw = {KEY_PAIR_W, VI__DT_F32, 1, {2}, 0, 0, c->pair_w, sizeof c->pair_w};
    const vi__tensor cw = {KEY_SEARCH_W, VI__DT_F32, 1, {3}, 0, 0, c->search_w,
                           sizeof c->search_w};
    vi__docw_tensor(w, &sw);
    vi__docw_tensor(w, &pw);
    vi__docw_tensor(w, &cw);
    vi__docw_f64(w, KEY_LOGIT_NONE, c->logit_none);
    vi__docw_f64(w, KEY_SEGMENT_MIN, c->segment_min);
    vi__docw_f64(w, KEY_THRESHOLD, c->threshold);
}

/* A float32 vector entry of exactly n finite values in [-WEIGHT_MAX, WEIGHT_MAX]. */
static int read_weights(const vi__doc *doc, const char *key, float *out, int64_t n) {
    const vi__tensor *t = vi__doc_tensor(doc, key);
    if (!t || t->dtype != VI__DT_F32 || t->ndim != 1 || t->dims[0] != n) return 0;
    memcpy(out, t->data, (size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        if (!(fabs(out[i]) <= WEIGHT_MAX)) return 0;
    return 1;
}

static int read_f32(const vi__doc *doc, const char *key, double lo, double hi, float *out) {
    double v;
    if (!vi__doc_f64(doc, key, &v) || !(v >= lo && v <= hi)) return 0;
    *out = (float)v;
    return 1;
}

vi_status vi__calibration_read(const vi__doc *doc, vi_status bad, struct vi__calibration *c) {
    memset(c, 0, sizeof *c);
    int present = 0;
    for (int32_t i = 0; i < vi__doc_tensor_count(doc); i++)
        present |= vi__calibration_is_key(vi__doc_tensor_at(doc, i)->name);
    int64_t id = 0, bank_crc = -1;
    present |= vi__doc_i64(doc, KEY_ID, &id);
    present |= vi__doc_i64(doc, KEY_BANK_CRC, &bank_crc);
    if (!present) return VI_OK; /* uncalibrated */
    const char *wrong = NULL;
    if (!(id > 0 && id <= (int64_t)UINT32_MAX)) wrong = KEY_ID;
    else if (!(bank_crc >= 0 && bank_crc <= (int64_t)UINT32_MAX)) wrong = KEY_BANK_CRC;
    else if (!read_weights(doc, KEY_SEGMENT_W, c->segment_w, VI__EVIDENCE_FEATURES + 1))
        wrong = KEY_SEGMENT_W;
    else if (!read_weights(doc, KEY_PAIR_W, c->pair_w, 2)) wrong = KEY_PAIR_W;
    else if (!read_weights(doc, KEY_SEARCH_W, c->search_w, 3)) wrong = KEY_SEARCH_W;
    else if (!read_f32(doc, KEY_LOGIT_NONE, -WEIGHT_MAX, WEIGHT_MAX, &c->logit_none))
        wrong = KEY_LOGIT_NONE;
    else if (!read_f32(doc, KEY_SEGMENT_MIN, 0.0, 1.0, &c->segment_min)) wrong = KEY_SEGMENT_MIN;
    else if (!read_f32(doc, KEY_THRESHOLD, 0.0, 1.0, &c->threshold)) wrong = KEY_THRESHOLD;
    if (wrong) {
        memset(c, 0, sizeof *c);
        return vi__fail(bad, "the calibration block is damaged: '%s' is missing or out of range",
                        wrong);
    }
    c->id = (uint32_t)id;
    c->bank_crc = (uint32_t)bank_crc;
    if (vi__calibration_crc(c) != c->id) {
        memset(c, 0, sizeof *c);
        return vi__fail(bad, "the calibration block is damaged: its values do not match its id");
    }
    return VI_OK;
}
