/* The calibration stage: fit a model's scoring calibration (docs/thresholds.md) from background
 * footage and labelled comparisons. Depends on model (bank, model file), compare (segments and
 * their evidence) and the FAISS shim; the public vi_calibrator_* functions are in
 * lib/api/api_calibrate.c. */
#ifndef VI_CALIBRATE_H
#define VI_CALIBRATE_H

#include "../common/common.h"
#include "../common/objects.h"

/* The calibrator behind vi_calibrator_* (arguments checked by lib/api/api_calibrate.c). */
VI_HIDDEN vi_status vi__calibrator_create(const vi_model *base, const vi_calibrate_options *opts,
                                          vi_calibrator **out);
VI_HIDDEN void vi__calibrator_free(vi_calibrator *c);
VI_HIDDEN vi_status vi__calibrator_add_background(vi_calibrator *c, const struct vi_embedding *e);
VI_HIDDEN vi_status vi__calibrator_add_reference(vi_calibrator *c, const char *id,
                                                 const struct vi_embedding *e);
VI_HIDDEN vi_status vi__calibrator_add_query(vi_calibrator *c, const struct vi_embedding *e,
                                             const char *copies);
VI_HIDDEN vi_status vi__calibrator_fit(vi_calibrator *c, vi_calibration_report *rep);
VI_HIDDEN vi_status vi__calibrator_save(const vi_calibrator *c, const char *path);


/* Logistic regression by Newton's method (logistic.c): the d weights w minimising the mean log
 * loss of sigmoid(x[i] . w) against y[i] (0 or 1) over n rows of x (n x d, row-major, the
 * intercept a column of ones if wanted), plus l2 / 2 * |w|^2. Starts from w as given. Returns
 * the mean log loss, or NaN when out of memory. d <= 16. */
VI_HIDDEN double vi__logistic_fit(const float *x, const float *y, int32_t n, int32_t d, double l2,
                                  double *w);

#endif
