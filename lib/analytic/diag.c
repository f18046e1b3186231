/* diag.c — the diagonal posterior covariance of SN-/NPR-DPM (Bao et al. ICML 2022) as a per-coordinate reverse
 * variance. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dpm_analytic.h"
#include "dpm_common.h"
#include "dpm_rng.h"
#include "dpm_internal.h"
/* ---- diagonal covariance
 * ------------------------------------------------------------------------------------------ */

int dpm_analytic_diag_sigma2(dpm_oracle *o, const dpm_schedule *sch, size_t s, size_t t, double eta, size_t n,
                             const double *x, double *sigma2)
{
  if (!o || !sigma2) DPM_ERROR(GSL_EINVAL, "diagonal variance: NULL oracle or output");
  dpm_analytic_step a;
  int st = dpm_analytic_step_ts(sch, s, t, eta, &a);
  if (st != DPM_SUCCESS) return st;
  dpm_oracle_result res;
  memset(&res, 0, sizeof res);
  res.diagcov = sigma2;
  if ((st = dpm_oracle_eval(o, sqrt(a.abar_t), sqrt(a.bbar_t), n, x, &res)) != DPM_SUCCESS) return st;
  const size_t nd = n * dpm_oracle_mixture(o)->d;
  const double c2 = a.c0 * a.c0;
  for (size_t i = 0; i < nd; i++)
    sigma2[i] = a.lambda2 + c2 * sigma2[i];
  return DPM_SUCCESS;
}
