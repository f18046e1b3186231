/* guidance.c — exact guidance as denoiser wrappers (docs/MATH.md §4, docs/samplers.md "Guidance"): classifier
 * guidance score + w grad log p_t(y|x) (Dhariwal & Nichol 2021, eq. 10), the linear guidance (1 + w) eps_main -
 * w eps_guide of classifier-free guidance (Ho & Salimans 2022, eq. 6) and autoguidance (Karras et al. 2024, eq. 2,
 * their weight 1 + w), energy guidance score - w grad_x E(E[x_0|x]) (DPS, Chung et al. 2023), and CFG's tilted law
 * for comparison. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dpm_common.h"
#include "dpm_guidance.h"
#include "dpm_metrics.h"
#include "dpm_oracle.h"

/* Grow a buffer of `size`-byte elements to hold n (geometric; reused across calls). */
static int grow(void **buf, size_t *cap, size_t n, size_t size)
{
  if (n <= *cap) return DPM_SUCCESS;
  size_t c = *cap ? *cap : 256;
  while (c < n)
    c *= 2;
  void *nb = realloc(*buf, c * size);
  if (!nb) DPM_ERROR(GSL_ENOMEM, "guidance: out of memory for %zu values", n);
  *buf = nb;
  *cap = c;
  return DPM_SUCCESS;
}

/* eps (always written) and x0 / score from it: eps = eps_base - s w g where g is the extra score term. */
static void finish(double m, double s, size_t n, size_t d, const double *x, double *eps, double *x0, double *score)
{
  dpm_denoiser_complete(m, s, n, d, x, DPM_PRED_EPS, eps, x0, score);
}

/* ---- classifier guidance ------------------------------------------------------------------------------------ */

typedef struct {
  dpm_denoiser *base;
  dpm_oracle *o;
  int y;
  double w;
  double *eps, *grad;
  int *ys;
  size_t cap_eps, cap_grad, cap_y;
} classifier_state;

static int classifier_eval(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *eps,
                           double *x0, double *score)
{
  classifier_state *S = dn->state;
  const size_t d = dn->d;
  int st;
  if ((st = grow((void **)&S->grad, &S->cap_grad, n * d, sizeof(double))) ||
      (st = grow((void **)&S->ys, &S->cap_y, n, sizeof(int))))
    return st;
  double *e = eps;
  if (!e) {
    if ((st = grow((void **)&S->eps, &S->cap_eps, n * d, sizeof(double)))) return st;
    e = S->eps;
  }
  if ((st = dpm_denoiser_eval(S->base, m, s, n, x, e, NULL, NULL))) {
    dpm_error_context("classifier guidance: base denoiser");
    return st;
  }
  for (size_t i = 0; i < n; i++)
    S->ys[i] = S->y;
  dpm_oracle_result res = {.class_y = S->ys, .class_grad = S->grad};
  if ((st = dpm_oracle_eval(S->o, m, s, n, x, &res))) {
    dpm_error_context("classifier guidance: class posterior");
    return st;
  }
  for (size_t k = 0; k < n * d; k++)
    e[k] -= s * S->w * S->grad[k];
  finish(m, s, n, d, x, e, x0, score);
  return DPM_SUCCESS;
}

static void classifier_free(void *state)
{
  classifier_state *S = state;
  if (!S) return;
  dpm_oracle_free(S->o);
  free(S->eps);
  free(S->grad);
  free(S->ys);
  free(S);
}

static const dpm_denoiser_type classifier_type = {"classifier-guidance", classifier_eval, classifier_free, NULL,
                                                  NULL};

/* the total weight of class y, or a raised error (returns -1) */
static double class_weight(const dpm_mixture *mix, int y)
{
  if (!mix->labels || mix->nlabels <= 0) {
    DPM_RAISE(GSL_EINVAL, "guidance: the data '%s' has no class labels", mix->name);
    return -1.0;
  }
  if (y < 0 || y >= mix->nlabels) {
    DPM_RAISE(GSL_EINVAL, "guidance: class %d outside [0, %d)", y, mix->nlabels);
    return -1.0;
  }
  double W = 0.0;
  for (size_t k = 0; k < mix->K; k++)
    if (mix->labels[k] == y) W += mix->w[k];
  if (!(W > 0.0)) {
    DPM_RAISE(GSL_EDOM, "guidance: class %d has no component of positive weight", y);
    return -1.0;
  }
  return W;
}

dpm_denoiser *dpm_guidance_classifier_alloc(dpm_denoiser *base, const dpm_mixture *mix, int y, double w)
{
  if (!base || !mix) DPM_ERROR_NULL(GSL_EINVAL, "classifier guidance: NULL base denoiser or data");
  if (base->d != mix->d)
    DPM_ERROR_NULL(GSL_EBADLEN, "classifier guidance: denoiser in R^%zu, data in R^%zu", base->d, mix->d);
  if (!isfinite(w)) DPM_ERROR_NULL(GSL_EDOM, "classifier guidance: weight w = %g is not finite", w);
  if (class_weight(mix, y) < 0.0) return NULL;
  classifier_state *S = calloc(1, sizeof *S);
  if (!S) DPM_ERROR_NULL(GSL_ENOMEM, "classifier guidance: out of memory");
  S->base = base;
  S->y = y;
  S->w = w;
  if (!(S->o = dpm_oracle_alloc(mix))) {
    free(S);
    return NULL;
  }
  dpm_denoiser *dn = dpm_denoiser_alloc(&classifier_type, S, mix->d);
  if (!dn) classifier_free(S);
  return dn;
}

/* ---- linear guidance: CFG and autoguidance ------------------------------------------------------------------ */

typedef struct {
  dpm_denoiser *main_dn, *guide_dn;
  double w;
  double *a, *b;
  size_t cap_a, cap_b;
} combine_state;

static int combine_eval(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *eps, double *x0,
                        double *score)
{
  combine_state *S = dn->state;
  const size_t d = dn->d;
  int st;
  if ((st = grow((void **)&S->b, &S->cap_b, n * d, sizeof(double)))) return st;
  double *e = eps;
  if (!e) {
    if ((st = grow((void **)&S->a, &S->cap_a, n * d, sizeof(double)))) return st;
    e = S->a;
  }
  if ((st = dpm_denoiser_eval(S->main_dn, m, s, n, x, e, NULL, NULL))) {
    dpm_error_context("guidance: main denoiser");
    return st;
  }
  if ((st = dpm_denoiser_eval(S->guide_dn, m, s, n, x, S->b, NULL, NULL))) {
    dpm_error_context("guidance: guiding denoiser");
    return st;
  }
  for (size_t k = 0; k < n * d; k++)
    e[k] = (1.0 + S->w) * e[k] - S->w * S->b[k];
  finish(m, s, n, d, x, e, x0, score);
  return DPM_SUCCESS;
}

static void combine_free(void *state)
{
  combine_state *S = state;
  if (!S) return;
  free(S->a);
  free(S->b);
  free(S);
}

static const dpm_denoiser_type combine_type = {"linear-guidance", combine_eval, combine_free, NULL, NULL};

dpm_denoiser *dpm_guidance_combine_alloc(dpm_denoiser *main_dn, dpm_denoiser *guide_dn, double w)
{
  if (!main_dn || !guide_dn) DPM_ERROR_NULL(GSL_EINVAL, "guidance: NULL main or guiding denoiser");
  if (main_dn->d != guide_dn->d)
    DPM_ERROR_NULL(GSL_EBADLEN, "guidance: main denoiser in R^%zu, guiding one in R^%zu", main_dn->d, guide_dn->d);
  if (!isfinite(w)) DPM_ERROR_NULL(GSL_EDOM, "guidance: weight w = %g is not finite", w);
  combine_state *S = calloc(1, sizeof *S);
  if (!S) DPM_ERROR_NULL(GSL_ENOMEM, "guidance: out of memory");
  S->main_dn = main_dn;
  S->guide_dn = guide_dn;
  S->w = w;
  dpm_denoiser *dn = dpm_denoiser_alloc(&combine_type, S, main_dn->d);
  if (!dn) combine_free(S);
  return dn;
}

/* ---- mixtures for guidance ---------------------------------------------------------------------------------- */

/* component k of src, with extra added to its covariance, into component j of dst */
static int copy_component(dpm_mixture *dst, size_t j, const dpm_mixture *src, size_t k, double extra, double *work)
{
  const size_t d = src->d;
  int st = dpm_mixture_set_mean(dst, j, src->mu + k * d);
  if (st) return st;
  const double *lam = src->lambda + k * d;
  switch (src->kind[k]) {
  case DPM_COV_ZERO:
    return extra > 0.0 ? dpm_mixture_set_iso(dst, j, extra) : dpm_mixture_set_zero(dst, j);
  case DPM_COV_ISO:
    return dpm_mixture_set_iso(dst, j, lam[0] + extra);
  case DPM_COV_DIAG:
    for (size_t a = 0; a < d; a++)
      work[a] = lam[a] + extra;
    return dpm_mixture_set_diag(dst, j, work);
  default:
    dpm_mixture_cov(src, k, work);
    for (size_t a = 0; a < d; a++)
      work[a * d + a] += extra;
    return dpm_mixture_set_full(dst, j, work);
  }
}

/* The mixture of the components sel[0..K-1] of mix (weights renormalised, labels kept), covariances + extra I. */
static dpm_mixture *subset(const dpm_mixture *mix, const size_t *sel, size_t K, double extra, const char *tag)
{
  const size_t d = mix->d;
  dpm_mixture *out = dpm_mixture_alloc(K, d);
  double *w = malloc(K * sizeof *w), *work = malloc(d * d * sizeof *work);
  int *lab = mix->labels ? malloc(K * sizeof *lab) : NULL;
  int st = (!out || !w || !work || (mix->labels && !lab)) ? DPM_RAISE(GSL_ENOMEM, "guidance: out of memory") : 0;
  for (size_t j = 0; !st && j < K; j++) {
    w[j] = mix->w[sel[j]];
    if (lab) lab[j] = mix->labels[sel[j]];
    st = copy_component(out, j, mix, sel[j], extra, work);
  }
  if (!st) st = dpm_mixture_set_weights(out, w);
  if (!st && lab) st = dpm_mixture_set_labels(out, lab);
  if (!st) snprintf(out->name, sizeof out->name, "%.100s%s", mix->name, tag);
  free(w);
  free(work);
  free(lab);
  if (st) {
    dpm_mixture_free(out);
    return NULL;
  }
  return out;
}

dpm_mixture *dpm_guidance_class_mixture(const dpm_mixture *mix, int y)
{
  if (!mix) DPM_ERROR_NULL(GSL_EINVAL, "guidance: NULL data");
  if (class_weight(mix, y) < 0.0) return NULL;
  size_t *sel = malloc(mix->K * sizeof *sel), K = 0;
  if (!sel) DPM_ERROR_NULL(GSL_ENOMEM, "guidance: out of memory");
  for (size_t k = 0; k < mix->K; k++)
    if (mix->labels[k] == y && mix->w[k] > 0.0) sel[K++] = k;
  dpm_mixture *out = subset(mix, sel, K, 0.0, "|y");
  free(sel);
  return out;
}

dpm_mixture *dpm_guidance_weak_mixture(const dpm_mixture *mix, double extra, size_t keep)
{
  if (!mix) DPM_ERROR_NULL(GSL_EINVAL, "weak mixture: NULL data");
  if (!(extra >= 0.0 && isfinite(extra)))
    DPM_ERROR_NULL(GSL_EDOM, "weak mixture: extra variance %g is not finite and >= 0", extra);
  const size_t K = keep >= 1 && keep < mix->K ? keep : mix->K;
  size_t *sel = malloc(mix->K * sizeof *sel);
  if (!sel) DPM_ERROR_NULL(GSL_ENOMEM, "weak mixture: out of memory");
  for (size_t k = 0; k < mix->K; k++)
    sel[k] = k;
  for (size_t a = 0; a < K; a++) /* partial selection sort: largest weights first, ties to the smaller index */
    for (size_t b = a + 1; b < mix->K; b++)
      if (mix->w[sel[b]] > mix->w[sel[a]] || (mix->w[sel[b]] == mix->w[sel[a]] && sel[b] < sel[a])) {
        const size_t t = sel[a];
        sel[a] = sel[b];
        sel[b] = t;
      }
  dpm_mixture *out = subset(mix, sel, K, extra, "|weak");
  free(sel);
  return out;
}

dpm_mixture *dpm_guidance_tilt_quadratic(const dpm_mixture *mix, const double *c, double tau, double w)
{
  if (!mix || !c) DPM_ERROR_NULL(GSL_EINVAL, "tilted mixture: NULL data or centre");
  if (!(tau > 0.0 && isfinite(tau))) DPM_ERROR_NULL(GSL_EDOM, "tilted mixture: tau = %g must be > 0", tau);
  if (!(w >= 0.0 && isfinite(w))) DPM_ERROR_NULL(GSL_EDOM, "tilted mixture: weight w = %g must be >= 0", w);
  if (w == 0.0) return dpm_mixture_clone(mix);
  const size_t d = mix->d, K = mix->K;
  const double a = w / (tau * tau);
  dpm_mixture *out = dpm_mixture_alloc(K, d);
  double *lw = malloc(K * sizeof *lw), *r = malloc(d * sizeof *r), *mu = malloc(d * sizeof *mu),
         *S = malloc(d * d * sizeof *S);
  int st = (!out || !lw || !r || !mu || !S) ? DPM_RAISE(GSL_ENOMEM, "tilted mixture: out of memory") : 0;
  double lmax = -INFINITY;
  for (size_t k = 0; !st && k < K; k++) {
    const double *U = mix->U && mix->kind[k] == DPM_COV_FULL ? mix->U + k * d * d : NULL;
    const double *lam = mix->lambda + k * d, *m0 = mix->mu + k * d;
    for (size_t b = 0; b < d; b++) { /* r = U^T (mu - c) in the component's eigen frame */
      double v = 0.0;
      for (size_t q = 0; q < d; q++)
        v += (U ? U[q * d + b] : (q == b)) * (m0[q] - c[q]);
      r[b] = v;
    }
    const int zero = mix->kind[k] == DPM_COV_ZERO;
    lw[k] = mix->logw[k];
    for (size_t b = 0; b < d; b++) {
      const double l = zero ? 0.0 : lam[b];
      lw[k] -= 0.5 * (log(l + 1.0 / a) + r[b] * r[b] / (l + 1.0 / a));
      r[b] /= 1.0 + a * l; /* (I + a Sigma)^{-1} (mu - c) */
    }
    if (lw[k] > lmax) lmax = lw[k];
    for (size_t q = 0; q < d; q++) {
      double v = 0.0;
      for (size_t b = 0; b < d; b++)
        v += (U ? U[q * d + b] : (q == b)) * r[b];
      mu[q] = c[q] + v;
    }
    st = dpm_mixture_set_mean(out, k, mu);
    if (st) break;
    if (zero)
      st = dpm_mixture_set_zero(out, k);
    else if (mix->kind[k] == DPM_COV_ISO)
      st = dpm_mixture_set_iso(out, k, lam[0] / (1.0 + a * lam[0]));
    else if (mix->kind[k] == DPM_COV_DIAG) {
      for (size_t b = 0; b < d; b++)
        r[b] = lam[b] / (1.0 + a * lam[b]);
      st = dpm_mixture_set_diag(out, k, r);
    } else {
      for (size_t p = 0; p < d; p++)
        for (size_t q = 0; q < d; q++) {
          double v = 0.0;
          for (size_t b = 0; b < d; b++)
            v += U[p * d + b] * U[q * d + b] * lam[b] / (1.0 + a * lam[b]);
          S[p * d + q] = v;
        }
      for (size_t p = 0; p < d; p++) /* exact symmetry for the Cholesky check */
        for (size_t q = 0; q < p; q++)
          S[p * d + q] = S[q * d + p] = 0.5 * (S[p * d + q] + S[q * d + p]);
      st = dpm_mixture_set_full(out, k, S);
    }
  }
  for (size_t k = 0; !st && k < K; k++)
    lw[k] = isfinite(lw[k]) ? exp(lw[k] - lmax) : 0.0;
  if (!st) st = dpm_mixture_set_weights(out, lw);
  if (!st && mix->labels) st = dpm_mixture_set_labels(out, mix->labels);
  if (!st) snprintf(out->name, sizeof out->name, "%.100s|tilt", mix->name);
  free(lw);
  free(r);
  free(mu);
  free(S);
  if (st) {
    dpm_mixture_free(out);
    return NULL;
  }
  return out;
}

/* ---- energy guidance ---------------------------------------------------------------------------------------- */

typedef struct {
  dpm_denoiser *base;
  dpm_oracle *o;
  dpm_energy_fn E;
  void *ctx;
  double w;
  double *eps, *x0, *cov, *g;
  size_t cap_eps, cap_x0, cap_cov, cap_g;
} energy_state;

static int energy_eval(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *eps, double *x0,
                       double *score)
{
  energy_state *S = dn->state;
  const size_t d = dn->d;
  int st;
  if ((st = grow((void **)&S->x0, &S->cap_x0, n * d, sizeof(double))) ||
      (st = grow((void **)&S->cov, &S->cap_cov, n * d * d, sizeof(double))) ||
      (st = grow((void **)&S->g, &S->cap_g, d, sizeof(double))))
    return st;
  double *e = eps;
  if (!e) {
    if ((st = grow((void **)&S->eps, &S->cap_eps, n * d, sizeof(double)))) return st;
    e = S->eps;
  }
  if ((st = dpm_denoiser_eval(S->base, m, s, n, x, e, NULL, NULL))) {
    dpm_error_context("energy guidance: base denoiser");
    return st;
  }
  dpm_oracle_result res = {.x0 = S->x0, .cov = S->cov};
  if ((st = dpm_oracle_eval(S->o, m, s, n, x, &res))) {
    dpm_error_context("energy guidance: posterior mean and covariance");
    return st;
  }
  const double c = S->w * m / s;
  for (size_t i = 0; i < n; i++) { /* eps + w (m/s) Cov[x0|x] grad E(x0-hat) */
    if ((st = S->E(S->ctx, d, S->x0 + i * d, NULL, S->g))) {
      dpm_error_context("energy guidance: point %zu", i);
      return st;
    }
    const double *C = S->cov + i * d * d;
    for (size_t a = 0; a < d; a++) {
      double v = 0.0;
      for (size_t b = 0; b < d; b++)
        v += C[a * d + b] * S->g[b];
      e[i * d + a] += c * v;
    }
  }
  finish(m, s, n, d, x, e, x0, score);
  return DPM_SUCCESS;
}

static void energy_free(void *state)
{
  energy_state *S = state;
  if (!S) return;
  dpm_oracle_free(S->o);
  free(S->eps);
  free(S->x0);
  free(S->cov);
  free(S->g);
  free(S);
}

static const dpm_denoiser_type energy_type = {"energy-guidance", energy_eval, energy_free, NULL, NULL};

dpm_denoiser *dpm_guidance_energy_alloc(dpm_denoiser *base, const dpm_mixture *mix, dpm_energy_fn energy,
                                        void *ctx, double w)
{
  if (!base || !mix || !energy) DPM_ERROR_NULL(GSL_EINVAL, "energy guidance: NULL base denoiser, data or energy");
  if (base->d != mix->d)
    DPM_ERROR_NULL(GSL_EBADLEN, "energy guidance: denoiser in R^%zu, data in R^%zu", base->d, mix->d);
  if (!isfinite(w)) DPM_ERROR_NULL(GSL_EDOM, "energy guidance: weight w = %g is not finite", w);
  energy_state *S = calloc(1, sizeof *S);
  if (!S) DPM_ERROR_NULL(GSL_ENOMEM, "energy guidance: out of memory");
  S->base = base;
  S->E = energy;
  S->ctx = ctx;
  S->w = w;
  if (!(S->o = dpm_oracle_alloc(mix))) {
    free(S);
    return NULL;
  }
  dpm_denoiser *dn = dpm_denoiser_alloc(&energy_type, S, base->d);
  if (!dn) energy_free(S);
  return dn;
}

int dpm_energy_quadratic_fn(void *ctx, size_t d, const double *x, double *value, double *grad)
{
  const dpm_energy_quadratic *q = ctx;
  if (!q || !q->c || !(q->tau > 0.0)) DPM_ERROR(GSL_EINVAL, "quadratic energy: NULL centre or tau <= 0");
  const double it2 = 1.0 / (q->tau * q->tau);
  double v = 0.0;
  for (size_t a = 0; a < d; a++) {
    const double r = x[a] - q->c[a];
    v += r * r;
    if (grad) grad[a] = r * it2;
  }
  if (value) *value = 0.5 * v * it2;
  return DPM_SUCCESS;
}

/* -log p(x) of a mixture through the oracle at m = 1 and s = 1e-100 (C_k = Sigma_k + 1e-200 I: Sigma_k to
 * rounding). */
struct dpm_energy_mixture {
  dpm_oracle *o;
  size_t d;
};

static const double ENERGY_S = 1e-100;

dpm_energy_mixture *dpm_energy_mixture_alloc(const dpm_mixture *mix)
{
  if (!mix) DPM_ERROR_NULL(GSL_EINVAL, "mixture energy: NULL data");
  for (size_t k = 0; k < mix->K; k++)
    if (mix->kind[k] == DPM_COV_ZERO && mix->w[k] > 0.0)
      DPM_ERROR_NULL(GSL_EDOM, "mixture energy: component %zu is a point mass (no density)", k);
  dpm_energy_mixture *e = calloc(1, sizeof *e);
  if (!e) DPM_ERROR_NULL(GSL_ENOMEM, "mixture energy: out of memory");
  e->d = mix->d;
  if (!(e->o = dpm_oracle_alloc(mix))) {
    free(e);
    return NULL;
  }
  return e;
}

void dpm_energy_mixture_free(dpm_energy_mixture *e)
{
  if (!e) return;
  dpm_oracle_free(e->o);
  free(e);
}

int dpm_energy_mixture_fn(void *ctx, size_t d, const double *x, double *value, double *grad)
{
  dpm_energy_mixture *e = ctx;
  if (!e || d != e->d) DPM_ERROR(GSL_EBADLEN, "mixture energy: NULL or dimension %zu != %zu", d, e ? e->d : 0);
  double lq;
  dpm_oracle_result res = {.logq = &lq, .score = grad};
  int st = dpm_oracle_eval(e->o, 1.0, ENERGY_S, 1, x, &res);
  if (st) return st;
  if (value) *value = -lq;
  if (grad)
    for (size_t a = 0; a < d; a++)
      grad[a] = -grad[a];
  return DPM_SUCCESS;
}

/* ---- CFG's tilted law --------------------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
  const double u = *(const double *)a, v = *(const double *)b;
  return (u > v) - (u < v);
}

int dpm_guidance_tilt_distance(const dpm_mixture *mix, int y, double w, size_t ngrid, size_t n, const double *x,
                               double *w1, double *ks)
{
  if (!mix || !x || n == 0) DPM_ERROR(GSL_EINVAL, "tilted law: NULL data or empty sample");
  if (mix->d != 1) DPM_ERROR(GSL_EBADLEN, "tilted law: needs 1-D data, not d = %zu", mix->d);
  if (ngrid < 1001) DPM_ERROR(GSL_EINVAL, "tilted law: ngrid = %zu < 1001", ngrid);
  if (!isfinite(w)) DPM_ERROR(GSL_EDOM, "tilted law: weight w = %g is not finite", w);
  dpm_mixture *cond = dpm_guidance_class_mixture(mix, y);
  if (!cond) {
    dpm_error_context("tilted law");
    return GSL_EINVAL;
  }
  dpm_energy_mixture *ec = dpm_energy_mixture_alloc(cond), *eu = dpm_energy_mixture_alloc(mix);
  double *g = malloc(ngrid * sizeof *g), *F = malloc(ngrid * sizeof *F), *xs = malloc(n * sizeof *xs);
  int st = (!ec || !eu) ? GSL_EDOM : (!g || !F || !xs) ? DPM_RAISE(GSL_ENOMEM, "tilted law: out of memory") : 0;
  double lo, hi;
  dpm_mixture_box(mix, 1e-12, &lo, &hi);
  const double pad = 0.1 * (hi - lo);
  lo -= pad;
  hi += pad;
  const double h = (hi - lo) / (double)(ngrid - 1);
  double lmax = -INFINITY;
  for (size_t i = 0; !st && i < ngrid; i++) { /* log p_w up to a constant */
    const double xi = lo + h * (double)i;
    double ecv, euv;
    if ((st = dpm_energy_mixture_fn(ec, 1, &xi, &ecv, NULL)) ||
        (st = dpm_energy_mixture_fn(eu, 1, &xi, &euv, NULL)))
      break;
    g[i] = -(1.0 + w) * ecv + w * euv;
    if (g[i] > lmax) lmax = g[i];
  }
  if (!st) {
    F[0] = 0.0;
    double prev = exp(g[0] - lmax);
    for (size_t i = 1; i < ngrid; i++) {
      const double cur = exp(g[i] - lmax);
      F[i] = F[i - 1] + 0.5 * h * (prev + cur);
      prev = cur;
    }
    const double Z = F[ngrid - 1];
    for (size_t i = 0; i < ngrid; i++)
      F[i] /= Z;
    memcpy(xs, x, n * sizeof *xs);
    qsort(xs, n, sizeof *xs, cmp_double);
    /* F_n is constant between sample points; integrate |F_n - F| by the trapezoid rule on the grid and take the
     * sup over the grid points and both one-sided limits of F_n at each sample point */
    double W = 0.0, K = 0.0, prevd = 0.0;
    size_t j = 0;
    for (size_t i = 0; i < ngrid; i++) {
      const double xi = lo + h * (double)i;
      while (j < n && xs[j] <= xi)
        j++;
      const double dev = fabs((double)j / (double)n - F[i]);
      if (i) W += 0.5 * h * (prevd + dev);
      prevd = dev;
      if (dev > K) K = dev;
    }
    for (size_t k = 0; k < n; k++) { /* at the sample points, F from linear interpolation on the grid */
      const double u = (xs[k] - lo) / h;
      double Fk = u <= 0 ? 0.0 : u >= (double)(ngrid - 1) ? 1.0 : 0.0;
      if (u > 0 && u < (double)(ngrid - 1)) {
        const size_t i0 = (size_t)u;
        Fk = F[i0] + (u - (double)i0) * (F[i0 + 1] - F[i0]);
      }
      const double a = fabs((double)k / (double)n - Fk), b = fabs((double)(k + 1) / (double)n - Fk);
      if (a > K) K = a;
      if (b > K) K = b;
    }
    for (size_t k = 0; k < n; k++) /* beyond the grid F is 0 or 1 to 1e-12: the samples there add (distance)/n */
      W += (xs[k] < lo ? lo - xs[k] : xs[k] > hi ? xs[k] - hi : 0.0) / (double)n;
    if (w1) *w1 = W;
    if (ks) *ks = K;
  }
  dpm_energy_mixture_free(ec);
  dpm_energy_mixture_free(eu);
  dpm_mixture_free(cond);
  free(g);
  free(F);
  free(xs);
  return st;
}
