/* thirdorder.c — the third-order score target of high-order score matching (Lu, Zheng, Bao, Chen, Li & Zhu 2022;
 * docs/MATH.md §4.4): grad Delta log q_t(x), the gradient of the Laplacian (the trace of the third derivative
 * of log q_t over its first two indices), by central differences of the oracle's exact Laplacian. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dpm_internal.h"
#include "dpm_oracle.h"
#include "dpm_scorematch.h"

int dpm_sm_third_order(const dpm_mixture *mix, double m, double s, size_t n, const double *x, double h,
                       double *out)
{
  if (!mix || (n > 0 && (!x || !out))) DPM_ERROR(GSL_EINVAL, "third-order target: NULL argument");
  if (!dpm_ms_ok(m, s))
    DPM_ERROR(GSL_EDOM, "third-order target: need finite m > 0 and s > 0 (got m = %g, s = %g)", m, s);
  if (h == 0.0) h = 1e-3 * s;
  if (!(isfinite(h) && h > 0.0)) DPM_ERROR(GSL_EDOM, "third-order target: step h = %g must be finite and > 0", h);
  if (n == 0) return DPM_SUCCESS;
  const size_t d = mix->d;
  /* the 2d shifted copies of every point in one batch: row (i, j, sign) = x_i +- h e_j */
  double *xs = dpm_malloc(2 * n * d * d * sizeof *xs), *lap = dpm_malloc(2 * n * d * sizeof *lap);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  int st = (xs && lap && o) ? DPM_SUCCESS : GSL_ENOMEM;
  if (!st) {
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < d; j++)
        for (size_t q = 0; q < 2; q++) {
          double *row = xs + ((i * d + j) * 2 + q) * d;
          memcpy(row, x + i * d, d * sizeof *row);
          row[j] += q ? -h : h;
        }
    dpm_oracle_result res = {.lap = lap};
    st = dpm_oracle_eval(o, m, s, 2 * n * d, xs, &res);
  }
  if (!st)
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < d; j++)
        out[i * d + j] = (lap[(i * d + j) * 2] - lap[(i * d + j) * 2 + 1]) / (2.0 * h);
  else
    dpm_error_context("third-order target");
  free(xs);
  free(lap);
  dpm_oracle_free(o);
  return st;
}
