/* vi_model_*: argument checks, then lib/model. */
#include "../model/model.h"

vi_status vi_model_load_memory(const void *data, size_t size, vi_model **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_model_load_memory: out is NULL");
    *out = NULL;
    if (!data) return vi__fail(VI_E_INVALID_ARG, "vi_model_load_memory: data is NULL");
    return vi__model_load_copy(data, size, out);
}

vi_status vi_model_load(const char *path, vi_model **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_model_load: out is NULL");
    *out = NULL;
    return path ? vi__model_load_file(path, out) : vi__model_load_builtin(out);
}

void vi_model_free(vi_model *m) { vi__model_free(m); }

int32_t vi_model_dim(const vi_model *m) { return m ? m->head.out_dim : 0; }
int32_t vi_model_feature_dim(const vi_model *m) { return m ? m->head.in_dim : 0; }
int32_t vi_model_input_size(const vi_model *m) { return m ? m->input_size : 0; }
const char *vi_model_id(const vi_model *m) { return m ? m->id : NULL; }
const char *vi_model_description(const vi_model *m) { return m ? m->description : NULL; }
int32_t vi_model_is_calibrated(const vi_model *m) { return m && m->calib.id ? 1 : 0; }
float vi_model_threshold(const vi_model *m) {
    return m && m->calib.id ? m->calib.threshold : VI__UNCALIBRATED_THRESHOLD;
}
const char *vi_model_calibration_info(const vi_model *m) { return m ? m->calibration_fit : NULL; }
