/* distance.c — a finite set seen by Permenter & Yuan (arXiv 2306.04848, docs/MATH.md §2 "Finite sets"): the
 * smoothed squared distance dist^2(x, sigma) = -2 sigma^2 log sum_y exp(-|x - y|^2 / (2 sigma^2)), its gradient
 * grad dist^2 = 2 sigma eps*, the ideal denoiser eps*(x, sigma) = sum_y (x - y) w_y / (sigma sum_y w_y), and the
 * projection (nearest point).
 *
 * Numerics: with D_y = |x - y|^2 summed coordinate by coordinate (no |x|^2 - 2 x.y + |y|^2 cancellation) and
 * D* = min_y D_y, every weight is e_y = exp(-(D_y - D*) / (2 sigma^2)) in (0, 1], the nearest point's exactly 1,
 * so dist^2 = D* - 2 sigma^2 log1p(sum_{y != y*} e_y) (which lies in [D* - 2 sigma^2 log K, D*] in floating
 * point too) and 1/2 grad dist^2 = sigma eps* = sum_y e_y (x - y) / sum_y e_y: no underflow in a ratio for any
 * sigma, no overflow for far points. Two sweeps over the set per point (minimum, then weights), no scratch. */
#include <math.h>
#include <string.h>

#include "dpm_common.h"
#include "dpm_distance.h"

static double dist2_point(size_t d, const double *x, const double *y)
{
  double acc = 0.0;
  for (size_t j = 0; j < d; j++) {
    double t = x[j] - y[j];
    acc += t * t;
  }
  return acc;
}

double dpm_distance_min2(size_t K, size_t d, const double *Y, const double *x, size_t *index)
{
  double best = HUGE_VAL;
  size_t at = 0;
  for (size_t k = 0; k < K; k++) {
    double D = dist2_point(d, x, Y + k * d);
    if (D < best) { /* strict: ties go to the lowest index */
      best = D;
      at = k;
    }
  }
  if (index) *index = at;
  return best;
}

int dpm_distance_eval(size_t K, size_t d, const double *Y, double sigma, size_t n, const double *x, double *dist2,
                      double *grad, double *eps, double *proj, size_t *proj_index)
{
  if (!(isfinite(sigma) && sigma > 0.0))
    DPM_ERROR(GSL_EDOM, "distance: sigma must be > 0 and finite (got %g)", sigma);
  if (K == 0) DPM_ERROR(GSL_EINVAL, "distance: the point set is empty (K = 0)");
  if (d == 0) DPM_ERROR(GSL_EBADLEN, "distance: dimension d = 0");
  if (!Y) DPM_ERROR(GSL_EINVAL, "distance: point set Y is NULL");
  for (size_t k = 0; k < K; k++)
    for (size_t j = 0; j < d; j++)
      if (!isfinite(Y[k * d + j]))
        DPM_ERROR(GSL_EBADFUNC, "distance: set point %zu is not finite (coordinate %zu = %g)", k, j, Y[k * d + j]);
  if (n == 0) return DPM_SUCCESS;
  if (!x) DPM_ERROR(GSL_EINVAL, "distance: x is NULL for %zu points", n);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < d; j++)
      if (!isfinite(x[i * d + j]))
        DPM_ERROR(GSL_EBADFUNC, "distance: point %zu is not finite (coordinate %zu = %g)", i, j, x[i * d + j]);

  const double two_s2 = 2.0 * sigma * sigma;
  const int want_w = grad || eps;
  /* threads only when the batch outweighs the cost of a parallel region */
  const int par = n > 1 && (double)n * (double)K * (double)(d + 8) >= 65536.0;
  (void)par;
#pragma omp parallel for schedule(static) if (par)
  for (size_t i = 0; i < n; i++) {
    const double *xi = x + i * d;
    size_t best = 0;
    const double Dmin = dpm_distance_min2(K, d, Y, xi, &best);
    if (proj) memcpy(proj + i * d, Y + best * d, d * sizeof(double));
    if (proj_index) proj_index[i] = best;
    if (!dist2 && !want_w) continue;
    /* Second sweep: e_y = exp(-(D_y - D*)/(2 sigma^2)); the nearest point contributes exactly 1 (and exactly
     * (x - y*)), ties too. When 2 sigma^2 underflows, e_y is 1 for ties and 0 otherwise, the sigma -> 0 limit. */
    double other = 0.0;
    double *ga = NULL;
    if (want_w) {
      ga = grad ? grad + i * d : eps + i * d;
      for (size_t j = 0; j < d; j++)
        ga[j] = 0.0;
    }
    for (size_t k = 0; k < K; k++) {
      const double *y = Y + k * d;
      double e;
      if (k == best) {
        e = 1.0;
      } else {
        const double D = dist2_point(d, xi, y);
        e = D == Dmin ? 1.0 : exp(-(D - Dmin) / two_s2);
        other += e;
      }
      if (want_w && e > 0.0)
        for (size_t j = 0; j < d; j++)
          ga[j] += e * (xi[j] - y[j]);
    }
    const double total = 1.0 + other;
    if (dist2) dist2[i] = other > 0.0 ? Dmin - two_s2 * log1p(other) : Dmin;
    if (want_w) {
      /* ga holds sum_y e_y (x - y); sigma eps* = ga / total, grad dist^2 = 2 sigma eps*. */
      for (size_t j = 0; j < d; j++) {
        const double se = ga[j] / total;
        if (eps) eps[i * d + j] = se / sigma;
        if (grad) grad[i * d + j] = 2.0 * se;
      }
    }
  }
  return DPM_SUCCESS;
}
