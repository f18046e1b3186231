/* denoiser.c — the denoiser interface (eps-, x0- and score-prediction at (x, m, s), MATH.md §2 "Tweedie") with
 * NFE counting in one place, and its exact implementation by the closed-form oracle. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dpm_common.h"
#include "dpm_denoiser.h"

int dpm_denoiser_eval(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *eps, double *x0,
                      double *score)
{
  if (!dn || !dn->type || !dn->type->eval) DPM_ERROR(GSL_EINVAL, "denoiser: NULL denoiser or type");
  const char *name = dn->type->name ? dn->type->name : "(unnamed)";
  if (!(isfinite(m) && m > 0.0)) DPM_ERROR(GSL_EDOM, "denoiser %s: m must be > 0 and finite (got %g)", name, m);
  if (!(isfinite(s) && s > 0.0)) DPM_ERROR(GSL_EDOM, "denoiser %s: s must be > 0 and finite (got %g)", name, s);
  int st = dn->type->eval(dn, m, s, n, x, eps, x0, score);
  if (st != DPM_SUCCESS) return st;
  dn->nfe++;
  dn->npoints += n;
  return DPM_SUCCESS;
}

void dpm_denoiser_free(dpm_denoiser *dn)
{
  if (!dn) return;
  if (dn->type && dn->type->free) dn->type->free(dn->state);
  free(dn);
}

dpm_denoiser *dpm_denoiser_alloc(const dpm_denoiser_type *type, void *state, size_t d)
{
  if (!type || !type->eval) DPM_ERROR_NULL(GSL_EINVAL, "denoiser: type or its eval is NULL");
  dpm_denoiser *dn = dpm_calloc(1, sizeof *dn);
  if (!dn) return NULL;
  dn->type = type;
  dn->state = state;
  dn->d = d;
  return dn;
}

void dpm_denoiser_complete(double m, double s, size_t n, size_t d, const double *x, int which, double *eps,
                           double *x0, double *score)
{
  const size_t nd = n * d;
  if (which == 0) { /* eps given: x0 = (x - s eps)/m, score = -eps/s */
    for (size_t i = 0; i < nd; i++) {
      if (x0) x0[i] = (x[i] - s * eps[i]) / m;
      if (score) score[i] = -eps[i] / s;
    }
  } else if (which == 1) { /* x0 given: eps = (x - m x0)/s, score = -eps/s = (m x0 - x)/s^2 */
    for (size_t i = 0; i < nd; i++) {
      const double e = (x[i] - m * x0[i]) / s;
      if (eps) eps[i] = e;
      if (score) score[i] = -e / s;
    }
  }
}

/* ---- the exact denoiser: one oracle evaluation ------------------------------------------------------------- */

static int oracle_eval(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *eps, double *x0,
                       double *score)
{
  dpm_oracle_result res;
  memset(&res, 0, sizeof res);
  res.eps = eps;
  res.x0 = x0;
  res.score = score;
  return dpm_oracle_eval((dpm_oracle *)dn->state, m, s, n, x, &res);
}

static void oracle_state_free(void *state) { dpm_oracle_free((dpm_oracle *)state); }

static const dpm_denoiser_type oracle_type = {"oracle", oracle_eval, oracle_state_free};

dpm_denoiser *dpm_denoiser_oracle_alloc(const dpm_mixture *mix)
{
  dpm_oracle *o = dpm_oracle_alloc(mix);
  if (!o) return NULL;
  dpm_denoiser *dn = dpm_denoiser_alloc(&oracle_type, o, mix->d);
  if (!dn) dpm_oracle_free(o);
  return dn;
}
