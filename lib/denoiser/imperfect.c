/* imperfect.c — imperfect denoisers over the denoiser interface (docs/MATH.md §2-3; the relative-error model of
 * Permenter & Yuan, seed 003, and the memorising ideal denoiser of a finite training set): eps-hat = eps + delta
 * with |delta| = eta |eps|, eps-hat = c eps, the posterior mean at the inflated noise sqrt(s^2 + m^2 h^2) (the
 * smoothed model, §2.10), and the exact denoiser of n i.i.d. training points. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpm_common.h"
#include "dpm_imperfect.h"
#include "dpm_rng.h"

/* Ensure a scratch buffer of at least n doubles (grown geometrically; reused across calls). */
static int ensure(double **buf, size_t *cap, size_t n)
{
  if (n <= *cap) return DPM_SUCCESS;
  size_t c = *cap ? *cap : 1024;
  while (c < n)
    c *= 2;
  double *nb = realloc(*buf, c * sizeof(double));
  if (!nb) DPM_ERROR(GSL_ENOMEM, "imperfect denoiser: out of memory for %zu doubles", n);
  *buf = nb;
  *cap = c;
  return DPM_SUCCESS;
}

static uint64_t bits_of(double v)
{
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  return u;
}

/* A uniform in (0, 1) from the top 53 bits. */
static double unit_open(uint64_t h) { return ((double)(h >> 11) + 0.5) * 0x1p-53; }

/* ---- relative error ------------------------------------------------------------------------------------------
 */

typedef struct {
  dpm_denoiser *inner;
  double eta;
  uint64_t seed;
  double *buf;
  size_t cap;
  double *dir; /* d */
} relerr_state;

/* Unit vector in R^d, a deterministic function of the key h: Box-Muller normals from splitmix64 counters. */
static void hashed_direction(uint64_t h, size_t d, double *u)
{
  double nrm = 0.0;
  for (size_t j = 0; j < d; j++) {
    const double u1 = unit_open(dpm_rng_mix64(h ^ (0x9E3779B97F4A7C15ULL * (2 * (uint64_t)j + 1))));
    const double u2 = unit_open(dpm_rng_mix64(h ^ (0x9E3779B97F4A7C15ULL * (2 * (uint64_t)j + 2))));
    u[j] = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
    nrm += u[j] * u[j];
  }
  nrm = sqrt(nrm);
  if (!(nrm > 0.0)) { /* probability zero; keep a valid direction */
    memset(u, 0, d * sizeof(double));
    u[0] = 1.0;
    return;
  }
  for (size_t j = 0; j < d; j++)
    u[j] /= nrm;
}

static int relerr_eval(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *eps, double *x0,
                       double *score)
{
  relerr_state *S = dn->state;
  const size_t d = dn->d;
  double *e = eps;
  if (!e) {
    const int st = ensure(&S->buf, &S->cap, n * d);
    if (st != DPM_SUCCESS) return st;
    e = S->buf;
  }
  int st = dpm_denoiser_eval(S->inner, m, s, n, x, e, NULL, NULL);
  if (st != DPM_SUCCESS) return st;
  const uint64_t hs = dpm_rng_mix64(dpm_rng_mix64(S->seed) ^ bits_of(s)) ^ bits_of(m);
  for (size_t i = 0; i < n; i++) {
    const double *xi = x + i * d;
    double *ei = e + i * d;
    uint64_t h = dpm_rng_mix64(hs);
    for (size_t j = 0; j < d; j++)
      h = dpm_rng_mix64(h ^ bits_of(xi[j]));
    double nrm = 0.0;
    for (size_t j = 0; j < d; j++)
      nrm += ei[j] * ei[j];
    nrm = sqrt(nrm);
    if (nrm == 0.0 || S->eta == 0.0) continue;
    hashed_direction(h, d, S->dir);
    for (size_t j = 0; j < d; j++)
      ei[j] += S->eta * nrm * S->dir[j];
  }
  dpm_denoiser_complete(m, s, n, d, x, DPM_PRED_EPS, e, x0, score);
  return DPM_SUCCESS;
}

static void relerr_free(void *state)
{
  relerr_state *S = state;
  if (!S) return;
  free(S->buf);
  free(S->dir);
  free(S);
}

/* No posterior variance and no divergence: the perturbation is a hashed function of x, not differentiable. */
static const dpm_denoiser_type relerr_type = {"relerr", relerr_eval, relerr_free, NULL, NULL};

dpm_denoiser *dpm_denoiser_relerr_alloc(dpm_denoiser *inner, double eta_err, uint64_t seed)
{
  if (!inner) DPM_ERROR_NULL(GSL_EINVAL, "relerr denoiser: inner denoiser is NULL");
  if (!(isfinite(eta_err) && eta_err >= 0.0))
    DPM_ERROR_NULL(GSL_EDOM, "relerr denoiser: relative error must be >= 0 and finite (got %g)", eta_err);
  relerr_state *S = dpm_calloc(1, sizeof *S);
  if (!S) return NULL;
  S->inner = inner;
  S->eta = eta_err;
  S->seed = seed;
  S->dir = dpm_malloc(inner->d * sizeof(double));
  if (!S->dir) {
    relerr_free(S);
    return NULL;
  }
  dpm_denoiser *dn = dpm_denoiser_alloc(&relerr_type, S, inner->d);
  if (!dn) relerr_free(S);
  return dn;
}

/* ---- scaled noise prediction
 * ------------------------------------------------------------------------------------ */

typedef struct {
  dpm_denoiser *inner;
  double c;
  double *buf;
  size_t cap;
} scaled_state;

static int scaled_eval(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *eps, double *x0,
                       double *score)
{
  scaled_state *S = dn->state;
  const size_t nd = n * dn->d;
  double *e = eps;
  if (!e) {
    const int st = ensure(&S->buf, &S->cap, nd);
    if (st != DPM_SUCCESS) return st;
    e = S->buf;
  }
  const int st = dpm_denoiser_eval(S->inner, m, s, n, x, e, NULL, NULL);
  if (st != DPM_SUCCESS) return st;
  for (size_t i = 0; i < nd; i++)
    e[i] *= S->c;
  dpm_denoiser_complete(m, s, n, dn->d, x, DPM_PRED_EPS, e, x0, score);
  return DPM_SUCCESS;
}

static void scaled_free(void *state)
{
  scaled_state *S = state;
  if (!S) return;
  free(S->buf);
  free(S);
}

/* score-hat = -eps-hat/s = c score, so div score-hat = c div score exactly: forwarded when the inner model has it.
 * No posterior variance (c != 1 is not the mean of any posterior the model could report). */
static int scaled_divergence(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *score,
                             double *div)
{
  scaled_state *S = dn->state;
  const int st = dpm_denoiser_eval_divergence(S->inner, m, s, n, x, score, div);
  if (st != DPM_SUCCESS) return st;
  for (size_t i = 0; i < n; i++)
    div[i] *= S->c;
  if (score)
    for (size_t i = 0; i < n * dn->d; i++)
      score[i] *= S->c;
  return DPM_SUCCESS;
}

static const dpm_denoiser_type scaled_type = {"scaled", scaled_eval, scaled_free, NULL, scaled_divergence};
static const dpm_denoiser_type scaled_nodiv_type = {"scaled", scaled_eval, scaled_free, NULL, NULL};

dpm_denoiser *dpm_denoiser_scaled_alloc(dpm_denoiser *inner, double c)
{
  if (!inner) DPM_ERROR_NULL(GSL_EINVAL, "scaled denoiser: inner denoiser is NULL");
  if (!isfinite(c)) DPM_ERROR_NULL(GSL_EDOM, "scaled denoiser: scale c must be finite (got %g)", c);
  scaled_state *S = dpm_calloc(1, sizeof *S);
  if (!S) return NULL;
  S->inner = inner;
  S->c = c;
  dpm_denoiser *dn =
      dpm_denoiser_alloc(dpm_denoiser_has_divergence(inner) ? &scaled_type : &scaled_nodiv_type, S, inner->d);
  if (!dn) scaled_free(S);
  return dn;
}

/* ---- smoothed (kernel-widened) ideal denoiser --------------------------------------------------------------- */

typedef struct {
  dpm_denoiser *inner;
  double h;
  double *buf;
  size_t cap;
} smoothed_state;

static int smoothed_eval(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *eps, double *x0,
                         double *score)
{
  smoothed_state *S = dn->state;
  const size_t d = dn->d;
  double *a = x0;
  if (!a) {
    const int st = ensure(&S->buf, &S->cap, n * d);
    if (st != DPM_SUCCESS) return st;
    a = S->buf;
  }
  const double sp = hypot(s, m * S->h); /* s' = sqrt(s^2 + m^2 h^2), finite and > 0 */
  const int st = dpm_denoiser_eval(S->inner, m, sp, n, x, NULL, a, NULL);
  if (st != DPM_SUCCESS) return st;
  dpm_denoiser_complete(m, s, n, d, x, DPM_PRED_X0, eps, a, score);
  return DPM_SUCCESS;
}

static void smoothed_free(void *state)
{
  smoothed_state *S = state;
  if (!S) return;
  free(S->buf);
  free(S);
}

static const dpm_denoiser_type smoothed_type = {"smoothed", smoothed_eval, smoothed_free, NULL, NULL};

dpm_denoiser *dpm_denoiser_smoothed_alloc(dpm_denoiser *inner, double h)
{
  if (!inner) DPM_ERROR_NULL(GSL_EINVAL, "smoothed denoiser: inner denoiser is NULL");
  if (!(isfinite(h) && h >= 0.0))
    DPM_ERROR_NULL(GSL_EDOM, "smoothed denoiser: width h must be >= 0 and finite (got %g)", h);
  smoothed_state *S = dpm_calloc(1, sizeof *S);
  if (!S) return NULL;
  S->inner = inner;
  S->h = h;
  dpm_denoiser *dn = dpm_denoiser_alloc(&smoothed_type, S, inner->d);
  if (!dn) smoothed_free(S);
  return dn;
}

/* ---- memorising model
 * --------------------------------------------------------------------------------------------- */

typedef struct {
  dpm_mixture *points;
  dpm_denoiser *exact; /* the exact denoiser of the point set */
} memorise_state;

static int memorise_eval(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *eps, double *x0,
                         double *score)
{
  memorise_state *S = dn->state;
  return dpm_denoiser_eval(S->exact, m, s, n, x, eps, x0, score);
}

static void memorise_free(void *state)
{
  memorise_state *S = state;
  if (!S) return;
  dpm_denoiser_free(S->exact);
  dpm_mixture_free(S->points);
  free(S);
}

/* The exact denoiser of its training set: the posterior variance and the divergence are those of that set's q_t.
 */
static int memorise_diagcov(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *x0,
                            double *diagcov)
{
  memorise_state *S = dn->state;
  return dpm_denoiser_eval_diagcov(S->exact, m, s, n, x, x0, diagcov);
}

static int memorise_divergence(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *score,
                               double *div)
{
  memorise_state *S = dn->state;
  return dpm_denoiser_eval_divergence(S->exact, m, s, n, x, score, div);
}

static const dpm_denoiser_type memorise_type = {"memorise", memorise_eval, memorise_free, memorise_diagcov,
                                                memorise_divergence};

dpm_denoiser *dpm_denoiser_memorise_alloc(const dpm_mixture *mix, size_t n_train, gsl_rng *r)
{
  if (!mix || !r) DPM_ERROR_NULL(GSL_EINVAL, "memorising denoiser: NULL mixture or generator");
  if (n_train == 0) DPM_ERROR_NULL(GSL_EINVAL, "memorising denoiser: need at least one training point");
  const size_t d = mix->d;
  memorise_state *S = dpm_calloc(1, sizeof *S);
  double *pts = dpm_malloc(n_train * d * sizeof(double));
  if (!S || !pts) goto fail;
  if (!(S->points = dpm_mixture_alloc(n_train, d))) goto fail;
  dpm_mixture_sample_workspace *smp = dpm_mixture_sample_alloc(mix);
  const int sst = smp ? dpm_mixture_sample(mix, smp, r, n_train, pts, NULL) : GSL_ENOMEM;
  dpm_mixture_sample_free(smp);
  if (sst != DPM_SUCCESS) goto fail;
  for (size_t k = 0; k < n_train; k++)
    if (dpm_mixture_set_mean(S->points, k, pts + k * d) != DPM_SUCCESS) goto fail;
  snprintf(S->points->name, sizeof S->points->name, "memorised:%zu", n_train);
  if (!(S->exact = dpm_denoiser_oracle_alloc(S->points))) goto fail;
  free(pts);
  dpm_denoiser *dn = dpm_denoiser_alloc(&memorise_type, S, d);
  if (!dn) memorise_free(S);
  return dn;
fail:
  free(pts);
  memorise_free(S);
  return NULL;
}

const dpm_mixture *dpm_denoiser_memorise_points(const dpm_denoiser *dn)
{
  if (!dn || dn->type != &memorise_type) return NULL;
  return ((const memorise_state *)dn->state)->points;
}
