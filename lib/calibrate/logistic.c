/* Logistic regression for the calibration: a handful of weights, so Newton's method with a
 * small dense solve converges in a few steps. */
#include <math.h>
#include <string.h>

#include "calibrate.h"

#define MAX_D 16
#define MAX_STEPS 50

static double sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }

/* Solve A x = b for a symmetric positive definite d x d A (Cholesky); 0 when not positive. */
static int solve_spd(double *a, double *b, int32_t d) {
    for (int32_t j = 0; j < d; j++) {
        double s = a[j * d + j];
        for (int32_t k = 0; k < j; k++) s -= a[j * d + k] * a[j * d + k];
        if (!(s > 0.0)) return 0;
        a[j * d + j] = sqrt(s);
        for (int32_t i = j + 1; i < d; i++) {
            double t = a[i * d + j];
            for (int32_t k = 0; k < j; k++) t -= a[i * d + k] * a[j * d + k];
            a[i * d + j] = t / a[j * d + j];
        }
    }
    for (int32_t i = 0; i < d; i++) { /* L y = b */
        for (int32_t k = 0; k < i; k++) b[i] -= a[i * d + k] * b[k];
        b[i] /= a[i * d + i];
    }
    for (int32_t i = d - 1; i >= 0; i--) { /* L^T x = y */
        for (int32_t k = i + 1; k < d; k++) b[i] -= a[k * d + i] * b[k];
        b[i] /= a[i * d + i];
    }
    return 1;
}

static double loss(const float *x, const float *y, int32_t n, int32_t d, double l2,
                   const double *w) {
    double total = 0.0;
    for (int32_t i = 0; i < n; i++) {
        double z = 0.0;
        for (int32_t k = 0; k < d; k++) z += w[k] * x[(size_t)i * d + k];
        /* log(1 + e^-z) for y = 1, log(1 + e^z) for y = 0, computed without overflow */
        const double m = y[i] > 0.5f ? -z : z;
        total += m > 0 ? m + log1p(exp(-m)) : log1p(exp(m));
    }
    double reg = 0.0;
    for (int32_t k = 0; k < d; k++) reg += w[k] * w[k];
    return total / (n > 0 ? n : 1) + 0.5 * l2 * reg;
}

double vi__logistic_fit(const float *x, const float *y, int32_t n, int32_t d, double l2,
                        double *w) {
    if (d < 1 || d > MAX_D) return NAN;
    double h[MAX_D * MAX_D], g[MAX_D], step[MAX_D], trial[MAX_D];
    double current = loss(x, y, n, d, l2, w);
    for (int32_t it = 0; it < MAX_STEPS; it++) {
        memset(h, 0, sizeof h);
        memset(g, 0, sizeof g);
        for (int32_t i = 0; i < n; i++) {
            const float *xi = x + (size_t)i * d;
            double z = 0.0;
            for (int32_t k = 0; k < d; k++) z += w[k] * xi[k];
            const double p = sigmoid(z), r = p - y[i], v = p * (1.0 - p);
            for (int32_t a = 0; a < d; a++) {
                g[a] += r * xi[a];
                for (int32_t b = 0; b <= a; b++) h[a * d + b] += v * xi[a] * xi[b];
            }
        }
        const double inv = 1.0 / (n > 0 ? n : 1);
        for (int32_t a = 0; a < d; a++) {
            g[a] = g[a] * inv + l2 * w[a];
            for (int32_t b = 0; b <= a; b++) {
                h[a * d + b] = h[a * d + b] * inv + (a == b ? l2 + 1e-9 : 0.0);
                h[b * d + a] = h[a * d + b];
            }
            step[a] = g[a];
        }
        if (!solve_spd(h, step, d)) break;
        /* damped: halve the step until the loss does not rise */
        double t = 1.0, next = current;
        for (int32_t halvings = 0; halvings < 30; halvings++, t *= 0.5) {
            for (int32_t k = 0; k < d; k++) trial[k] = w[k] - t * step[k];
            next = loss(x, y, n, d, l2, trial);
            if (next <= current) break;
        }
        if (!(next <= current)) break;
        memcpy(w, trial, (size_t)d * sizeof *w);
        const double gain = current - next;
        current = next;
        if (gain < 1e-10) break;
    }
    return current;
}
