/* denoiser.c — the denoiser interface (eps-, x0- and score-prediction at (x, m, s), docs/MATH.md §2 "Tweedie";
 * the diagonal posterior variance, §3; the divergence of the score, §4) with NFE counting in one place,
 * and its exact implementation by the closed-form oracle. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dpm_common.h"
#include "dpm_denoiser.h"

static const char *type_name(const dpm_denoiser *dn) { return dn->type->name ? dn->type->name : "(unnamed)"; }

/* The checks every op shares: a denoiser with a type, and (m, s) finite and > 0. */
static int check_call(const dpm_denoiser *dn, double m, double s)
{
  if (!dn || !dn->type || !dn->type->eval) DPM_ERROR(GSL_EINVAL, "denoiser: NULL denoiser or type");
  if (!(isfinite(m) && m > 0.0))
    DPM_ERROR(GSL_EDOM, "denoiser %s: m must be > 0 and finite (got %g)", type_name(dn), m);
  if (!(isfinite(s) && s > 0.0))
    DPM_ERROR(GSL_EDOM, "denoiser %s: s must be > 0 and finite (got %g)", type_name(dn), s);
  return DPM_SUCCESS;
}

/* After an op: count it on success, else name the denoiser in front of the origin's reason. */
static int count(dpm_denoiser *dn, size_t n, int st)
{
  if (st != DPM_SUCCESS) {
    dpm_error_context("denoiser %s", type_name(dn));
    return st;
  }
  dn->nfe++;
  dn->npoints += n;
  return DPM_SUCCESS;
}

int dpm_denoiser_eval(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *eps, double *x0,
                      double *score)
{
  int st = check_call(dn, m, s);
  if (st != DPM_SUCCESS) return st;
  return count(dn, n, dn->type->eval(dn, m, s, n, x, eps, x0, score));
}

int dpm_denoiser_eval_diagcov(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *x0,
                              double *diagcov)
{
  int st = check_call(dn, m, s);
  if (st != DPM_SUCCESS) return st;
  if (!dn->type->diagcov) DPM_ERROR(GSL_EINVAL, "denoiser %s has no posterior variance", type_name(dn));
  if (!diagcov) DPM_ERROR(GSL_EINVAL, "denoiser %s: posterior variance output is NULL", type_name(dn));
  return count(dn, n, dn->type->diagcov(dn, m, s, n, x, x0, diagcov));
}

int dpm_denoiser_eval_divergence(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *score,
                                 double *div)
{
  int st = check_call(dn, m, s);
  if (st != DPM_SUCCESS) return st;
  if (!dn->type->divergence) DPM_ERROR(GSL_EINVAL, "denoiser %s has no divergence", type_name(dn));
  if (!div) DPM_ERROR(GSL_EINVAL, "denoiser %s: divergence output is NULL", type_name(dn));
  return count(dn, n, dn->type->divergence(dn, m, s, n, x, score, div));
}

int dpm_denoiser_has_diagcov(const dpm_denoiser *dn) { return dn && dn->type && dn->type->diagcov ? 1 : 0; }

int dpm_denoiser_has_divergence(const dpm_denoiser *dn) { return dn && dn->type && dn->type->divergence ? 1 : 0; }

void dpm_denoiser_reset_count(dpm_denoiser *dn)
{
  if (!dn) return;
  dn->nfe = 0;
  dn->npoints = 0;
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

void dpm_denoiser_complete(double m, double s, size_t n, size_t d, const double *x, dpm_pred_kind given,
                           double *eps, double *x0, double *score)
{
  const size_t nd = n * d;
  switch (given) {
  case DPM_PRED_EPS: /* x0 = (x - s eps)/m, score = -eps/s */
    for (size_t i = 0; i < nd; i++) {
      if (x0) x0[i] = (x[i] - s * eps[i]) / m;
      if (score) score[i] = -eps[i] / s;
    }
    break;
  case DPM_PRED_X0: /* eps = (x - m x0)/s, score = -eps/s = (m x0 - x)/s^2 */
    for (size_t i = 0; i < nd; i++) {
      const double e = (x[i] - m * x0[i]) / s;
      if (eps) eps[i] = e;
      if (score) score[i] = -e / s;
    }
    break;
  case DPM_PRED_SCORE: /* eps = -s score, x0 = (x + s^2 score)/m */
    for (size_t i = 0; i < nd; i++) {
      if (eps) eps[i] = -s * score[i];
      if (x0) x0[i] = (x[i] + s * s * score[i]) / m;
    }
    break;
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

static int oracle_diagcov(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *x0,
                          double *diagcov)
{
  dpm_oracle_result res;
  memset(&res, 0, sizeof res);
  res.x0 = x0;
  res.diagcov = diagcov;
  return dpm_oracle_eval((dpm_oracle *)dn->state, m, s, n, x, &res);
}

static int oracle_divergence(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *score,
                             double *div)
{
  dpm_oracle_result res;
  memset(&res, 0, sizeof res);
  res.score = score;
  res.lap = div;
  return dpm_oracle_eval((dpm_oracle *)dn->state, m, s, n, x, &res);
}

static void oracle_state_free(void *state) { dpm_oracle_free((dpm_oracle *)state); }

static const dpm_denoiser_type oracle_type = {"oracle", oracle_eval, oracle_state_free, oracle_diagcov,
                                              oracle_divergence};

dpm_denoiser *dpm_denoiser_oracle_alloc(const dpm_mixture *mix)
{
  dpm_oracle *o = dpm_oracle_alloc(mix);
  if (!o) return NULL;
  dpm_denoiser *dn = dpm_denoiser_alloc(&oracle_type, o, mix->d);
  if (!dn) dpm_oracle_free(o);
  return dn;
}
