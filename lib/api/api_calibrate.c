/* vi_calibrator_*: argument checks, then lib/calibrate. */
#include <string.h>

#include "../calibrate/calibrate.h"
#include "../model/model.h"

vi_status vi_calibrate_options_init(vi_calibrate_options *opts, size_t struct_size) {
    vi_calibrate_options d;
    memset(&d, 0, sizeof d);
    d.bank_size = 20000;
    d.bank_k = 3;
    d.target_precision = 0.95f;
    return vi__options_init(opts, struct_size, &d, sizeof d, "vi_calibrate_options_init");
}

vi_status vi_calibrator_create(const vi_model *base, const vi_calibrate_options *opts,
                               vi_calibrator **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_calibrator_create: out is NULL");
    *out = NULL;
    if (!base) return vi__fail(VI_E_INVALID_ARG, "vi_calibrator_create: base model is NULL");
    if (!base->head.A)
        return vi__fail(VI_E_INVALID_ARG, "vi_calibrator_create: model %s has no embedding head "
                        "to calibrate (train or fit one first)", base->id);
    vi_calibrate_options o;
    vi_calibrate_options_init(&o, sizeof o);
    if (opts) {
        vi_status st = vi__copy_options(&o, sizeof o, opts);
        if (st != VI_OK) return st;
    }
    if (o.bank_size < 1 || o.bank_size > 1000000)
        return vi__fail(VI_E_INVALID_ARG, "calibrate options: bank_size %d is out of range "
                        "1..1000000", (int)o.bank_size);
    if (o.bank_k < 1 || o.bank_k > 64 || o.bank_k > o.bank_size)
        return vi__fail(VI_E_INVALID_ARG, "calibrate options: bank_k %d is out of range 1..64 "
                        "(and at most bank_size)", (int)o.bank_k);
    if (!(o.target_precision >= 0.5f && o.target_precision <= 1.0f))
        return vi__fail(VI_E_INVALID_ARG, "calibrate options: target_precision %g is out of "
                        "range [0.5, 1]", (double)o.target_precision);
    if (o.verdict_only != 0 && o.verdict_only != 1)
        return vi__fail(VI_E_INVALID_ARG, "calibrate options: verdict_only must be 0 or 1");
    if (o.verdict_only && !base->calib.id)
        return vi__fail(VI_E_INVALID_ARG, "calibrate options: verdict_only needs a calibrated "
                        "base model (model %s is uncalibrated)", base->id);
    return vi__calibrator_create(base, &o, out);
}

void vi_calibrator_free(vi_calibrator *c) { vi__calibrator_free(c); }

vi_status vi_calibrator_add_background(vi_calibrator *c, const vi_embedding *background) {
    vi__clear_error();
    if (!c || !background)
        return vi__fail(VI_E_INVALID_ARG, "vi_calibrator_add_background: NULL argument");
    return vi__calibrator_add_background(c, background);
}

vi_status vi_calibrator_add_reference(vi_calibrator *c, const char *id, const vi_embedding *ref) {
    vi__clear_error();
    if (!c || !id || !ref)
        return vi__fail(VI_E_INVALID_ARG, "vi_calibrator_add_reference: NULL argument");
    return vi__calibrator_add_reference(c, id, ref);
}

vi_status vi_calibrator_add_query(vi_calibrator *c, const vi_embedding *query,
                                  const char *copies_id) {
    vi__clear_error();
    if (!c || !query) return vi__fail(VI_E_INVALID_ARG, "vi_calibrator_add_query: NULL argument");
    return vi__calibrator_add_query(c, query, copies_id);
}

vi_status vi_calibrator_fit(vi_calibrator *c, vi_calibration_report *report) {
    vi__clear_error();
    if (!c) return vi__fail(VI_E_INVALID_ARG, "vi_calibrator_fit: calibrator is NULL");
    if (report && report->struct_size < sizeof(uint32_t))
        return vi__fail(VI_E_INVALID_ARG, "vi_calibrator_fit: report.struct_size is not set "
                        "(VI_CALIBRATION_REPORT_INIT)");
    return vi__calibrator_fit(c, report);
}

vi_status vi_calibrator_save(const vi_calibrator *c, const char *path) {
    vi__clear_error();
    if (!c || !path) return vi__fail(VI_E_INVALID_ARG, "vi_calibrator_save: NULL argument");
    vi_status st = vi__calibrator_save(c, path);
    if (st != VI_OK) vi__error_prefix("writing the calibrated model %s", path);
    return st;
}
