/* model.c — the score-model interface of score matching (docs/MATH.md §4.4): s_theta(x; m, s) batched, its
 * divergence and Jacobian-vector product exactly or by central differences, the exact score of a (perturbed)
 * mixture as a model with a known error, and the denoiser view of any model (Tweedie, §2.5). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dpm_common.h"
#include "dpm_oracle.h"
#include "dpm_scorematch.h"

static const char *model_name(const dpm_sm_model *md) { return md->type->name ? md->type->name : "(unnamed)"; }

dpm_sm_model *dpm_sm_model_alloc(const dpm_sm_model_type *type, void *state, size_t d)
{
  if (!type || !type->score || d == 0) {
    if (type && type->free) type->free(state);
    DPM_ERROR_NULL(GSL_EINVAL, "score model: NULL type or score op, or d = 0");
  }
  dpm_sm_model *md = dpm_calloc(1, sizeof *md);
  if (!md) {
    if (type->free) type->free(state);
    return NULL;
  }
  md->type = type;
  md->state = state;
  md->d = d;
  md->fd_rel = 1e-4;
  return md;
}

void dpm_sm_model_free(dpm_sm_model *md)
{
  if (!md) return;
  if (md->type->free) md->type->free(md->state);
  free(md->scratch);
  free(md);
}

static int check(const dpm_sm_model *md, double m, double s, size_t n, const void *x, const void *out)
{
  if (!md) DPM_ERROR(GSL_EINVAL, "score model: NULL model");
  if (!(isfinite(m) && m > 0.0 && isfinite(s) && s > 0.0))
    DPM_ERROR(GSL_EDOM, "score model %s: need finite m > 0 and s > 0 (got m = %g, s = %g)", model_name(md), m, s);
  if (n > 0 && (!x || !out)) DPM_ERROR(GSL_EINVAL, "score model %s: NULL points or output", model_name(md));
  return DPM_SUCCESS;
}

static int pass(const dpm_sm_model *md, int st)
{
  if (st) dpm_error_context("score model %s", model_name(md));
  return st;
}

int dpm_sm_model_score(dpm_sm_model *md, double m, double s, size_t n, const double *x, double *score)
{
  int st = check(md, m, s, n, x, score);
  if (st || n == 0) return st;
  return pass(md, md->type->score(md, m, s, n, x, score));
}

static double *scratch(dpm_sm_model *md, size_t len)
{
  if (md->scratch_n < len) {
    free(md->scratch);
    md->scratch_n = 0;
    if (!(md->scratch = dpm_malloc(len * sizeof *md->scratch))) return NULL;
    md->scratch_n = len;
  }
  return md->scratch;
}

int dpm_sm_model_div(dpm_sm_model *md, double m, double s, size_t n, const double *x, double *div)
{
  int st = check(md, m, s, n, x, div);
  if (st || n == 0) return st;
  if (md->type->div) return pass(md, md->type->div(md, m, s, n, x, div));
  /* central differences per coordinate: div = sum_i (s_i(x + h e_i) - s_i(x - h e_i)) / (2h) */
  const size_t d = md->d;
  double *xp = scratch(md, 3 * n * d);
  if (!xp) return GSL_ENOMEM;
  double *sp = xp + n * d, *sm = sp + n * d;
  const double h = md->fd_rel * s;
  for (size_t p = 0; p < n; p++)
    div[p] = 0.0;
  for (size_t i = 0; i < d; i++) {
    memcpy(xp, x, n * d * sizeof *xp);
    for (size_t p = 0; p < n; p++)
      xp[p * d + i] = x[p * d + i] + h;
    if ((st = md->type->score(md, m, s, n, xp, sp))) return pass(md, st);
    for (size_t p = 0; p < n; p++)
      xp[p * d + i] = x[p * d + i] - h;
    if ((st = md->type->score(md, m, s, n, xp, sm))) return pass(md, st);
    for (size_t p = 0; p < n; p++)
      div[p] += (sp[p * d + i] - sm[p * d + i]) / (2.0 * h);
  }
  return DPM_SUCCESS;
}

int dpm_sm_model_jvp(dpm_sm_model *md, double m, double s, size_t n, const double *x, const double *v, double *jv)
{
  int st = check(md, m, s, n, x, jv);
  if (st || n == 0) return st;
  if (!v) DPM_ERROR(GSL_EINVAL, "score model %s: NULL direction", model_name(md));
  if (md->type->jvp) return pass(md, md->type->jvp(md, m, s, n, x, v, jv));
  const size_t d = md->d, nd = n * d;
  double *xp = scratch(md, 2 * nd);
  if (!xp) return GSL_ENOMEM;
  double *sm = xp + nd;
  const double h = md->fd_rel * s;
  for (size_t i = 0; i < nd; i++)
    xp[i] = x[i] - h * v[i];
  if ((st = md->type->score(md, m, s, n, xp, sm))) return pass(md, st);
  for (size_t i = 0; i < nd; i++)
    xp[i] = x[i] + h * v[i];
  if ((st = md->type->score(md, m, s, n, xp, jv))) return pass(md, st);
  for (size_t i = 0; i < nd; i++)
    jv[i] = (jv[i] - sm[i]) / (2.0 * h);
  return DPM_SUCCESS;
}

int dpm_sm_model_has_div(const dpm_sm_model *md) { return md && md->type->div ? 1 : 0; }
int dpm_sm_model_has_jvp(const dpm_sm_model *md) { return md && md->type->jvp ? 1 : 0; }

/* ---- the exact score of a (perturbed) mixture --------------------------------------------------------------- */

typedef struct {
  dpm_mixture *mix;
  dpm_oracle *o;
  double *hess; /* n x d x d, grown on demand */
  size_t hess_n;
} mixture_state;

static void mixture_free(void *state)
{
  mixture_state *ms = state;
  if (!ms) return;
  dpm_oracle_free(ms->o);
  dpm_mixture_free(ms->mix);
  free(ms->hess);
  free(ms);
}

static int mixture_score(dpm_sm_model *md, double m, double s, size_t n, const double *x, double *score)
{
  mixture_state *ms = md->state;
  dpm_oracle_result res = {.score = score};
  return dpm_oracle_eval(ms->o, m, s, n, x, &res);
}

static int mixture_div(dpm_sm_model *md, double m, double s, size_t n, const double *x, double *div)
{
  mixture_state *ms = md->state;
  dpm_oracle_result res = {.lap = div};
  return dpm_oracle_eval(ms->o, m, s, n, x, &res);
}

static int mixture_jvp(dpm_sm_model *md, double m, double s, size_t n, const double *x, const double *v,
                       double *jv)
{
  mixture_state *ms = md->state;
  const size_t d = md->d;
  if (ms->hess_n < n) {
    free(ms->hess);
    ms->hess_n = 0;
    if (!(ms->hess = dpm_malloc(n * d * d * sizeof *ms->hess))) return GSL_ENOMEM;
    ms->hess_n = n;
  }
  dpm_oracle_result res = {.hess = ms->hess};
  int st = dpm_oracle_eval(ms->o, m, s, n, x, &res);
  if (st) return st;
  for (size_t p = 0; p < n; p++) {
    const double *H = ms->hess + p * d * d;
    for (size_t i = 0; i < d; i++) {
      double acc = 0.0;
      for (size_t j = 0; j < d; j++)
        acc += H[i * d + j] * v[p * d + j];
      jv[p * d + i] = acc;
    }
  }
  return DPM_SUCCESS;
}

static const dpm_sm_model_type mixture_type = {"mixture", mixture_score, mixture_div, mixture_jvp, mixture_free};
static const dpm_sm_model_type perturbed_type = {"perturbed", mixture_score, mixture_div, mixture_jvp,
                                                 mixture_free};

static dpm_sm_model *mixture_model(dpm_mixture *copy, const dpm_sm_model_type *type)
{
  mixture_state *ms = dpm_calloc(1, sizeof *ms);
  if (!ms) {
    dpm_mixture_free(copy);
    return NULL;
  }
  ms->mix = copy;
  if (!(ms->o = dpm_oracle_alloc(copy))) {
    mixture_free(ms);
    return NULL;
  }
  return dpm_sm_model_alloc(type, ms, copy->d);
}

dpm_sm_model *dpm_sm_model_mixture_alloc(const dpm_mixture *mix)
{
  if (!mix) DPM_ERROR_NULL(GSL_EINVAL, "score model mixture: NULL mixture");
  dpm_mixture *copy = dpm_mixture_clone(mix);
  return copy ? mixture_model(copy, &mixture_type) : NULL;
}

dpm_sm_model *dpm_sm_model_perturbed_alloc(const dpm_mixture *mix, double delta, double tilt)
{
  if (!mix) DPM_ERROR_NULL(GSL_EINVAL, "score model perturbed: NULL mixture");
  if (!isfinite(delta) || !isfinite(tilt))
    DPM_ERROR_NULL(GSL_EDOM, "score model perturbed: delta = %g and tilt = %g must be finite", delta, tilt);
  dpm_mixture *copy = dpm_mixture_clone(mix);
  if (!copy) return NULL;
  const size_t d = mix->d, K = mix->K;
  double *w = dpm_malloc((K + d) * sizeof *w), *mu = w ? w + K : NULL;
  int st = w ? DPM_SUCCESS : GSL_ENOMEM;
  for (size_t k = 0; k < K && !st; k++) {
    for (size_t j = 0; j < d; j++)
      mu[j] = mix->mu[k * d + j] + delta;
    st = dpm_mixture_set_mean(copy, k, mu);
    w[k] = mix->w[k] * exp(tilt * (double)k / (double)(K > 1 ? K - 1 : 1));
  }
  if (!st) st = dpm_mixture_set_weights(copy, w);
  free(w);
  if (st) {
    dpm_error_context("score model perturbed (delta = %g, tilt = %g)", delta, tilt);
    dpm_mixture_free(copy);
    return NULL;
  }
  return mixture_model(copy, &perturbed_type);
}

const dpm_mixture *dpm_sm_model_mixture(const dpm_sm_model *md)
{
  if (!md || (md->type != &mixture_type && md->type != &perturbed_type)) return NULL;
  return ((const mixture_state *)md->state)->mix;
}

/* ---- the denoiser view ----------------------------------------------------------------------------------------
 */

typedef struct {
  dpm_sm_model *md;
  int own;
  double *buf; /* n x d score, grown on demand */
  size_t buf_n;
} den_state;

static void den_free(void *state)
{
  den_state *ds = state;
  if (!ds) return;
  if (ds->own) dpm_sm_model_free(ds->md);
  free(ds->buf);
  free(ds);
}

static int den_eval(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *eps, double *x0,
                    double *score)
{
  den_state *ds = dn->state;
  const size_t d = dn->d;
  double *sc = score;
  if (!sc) {
    if (ds->buf_n < n) {
      free(ds->buf);
      ds->buf_n = 0;
      if (!(ds->buf = dpm_malloc(n * d * sizeof *ds->buf))) return GSL_ENOMEM;
      ds->buf_n = n;
    }
    sc = ds->buf;
  }
  int st = dpm_sm_model_score(ds->md, m, s, n, x, sc);
  if (st) return st;
  dpm_denoiser_complete(m, s, n, d, x, DPM_PRED_SCORE, eps, x0, sc);
  return DPM_SUCCESS;
}

static int den_divergence(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *score,
                          double *div)
{
  den_state *ds = dn->state;
  int st = dpm_sm_model_div(ds->md, m, s, n, x, div);
  if (!st && score) st = dpm_sm_model_score(ds->md, m, s, n, x, score);
  return st;
}

static const dpm_denoiser_type den_type = {"score-model", den_eval, den_free, NULL, den_divergence};

dpm_denoiser *dpm_sm_model_denoiser_alloc(dpm_sm_model *md, int own)
{
  if (!md) DPM_ERROR_NULL(GSL_EINVAL, "score-model denoiser: NULL model");
  den_state *ds = dpm_calloc(1, sizeof *ds);
  if (!ds) return NULL;
  ds->md = md;
  ds->own = own;
  dpm_denoiser *dn = dpm_denoiser_alloc(&den_type, ds, md->d);
  if (!dn) {
    ds->own = 0;
    den_free(ds);
  }
  return dn;
}
