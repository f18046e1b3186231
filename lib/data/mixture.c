/* mixture.c — Gaussian mixtures q_0 = sum_k w_k N(mu_k, Sigma_k) with eigen-factored covariances
 * Sigma_k = U_k diag(lambda_k) U_k^T: validating setters, exact sampling of q_0 and q_t (x_t = m x_0 + s eps),
 * exact moments and a high-mass box (docs/MATH.md §2, "Sampling x_t ~ q_t exactly" and "Full covariances"). */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_randist.h>

#include "dpm_common.h"
#include "dpm_data.h"
#include "dpm_internal.h"

/* ---- allocation ---------------------------------------------------------------------------------------- */

dpm_mixture *dpm_mixture_alloc(size_t K, size_t d)
{
  if (K == 0 || d == 0)
    DPM_ERROR_NULL(GSL_EINVAL, "mixture: need K >= 1 components and dimension d >= 1 (got K = %zu, d = %zu)", K,
                   d);
  if (K > SIZE_MAX / sizeof(double) / d)
    DPM_ERROR_NULL(GSL_ENOMEM, "mixture: K = %zu by d = %zu is too large", K, d);
  dpm_mixture *mix = dpm_calloc(1, sizeof *mix);
  if (!mix) return NULL;
  mix->K = K;
  mix->d = d;
  mix->w = dpm_malloc(K * sizeof *mix->w);
  mix->logw = dpm_malloc(K * sizeof *mix->logw);
  mix->mu = dpm_calloc(K * d, sizeof *mix->mu);
  mix->kind = dpm_malloc(K * sizeof *mix->kind);
  mix->lambda = dpm_calloc(K * d, sizeof *mix->lambda);
  if (!mix->w || !mix->logw || !mix->mu || !mix->kind || !mix->lambda) {
    dpm_mixture_free(mix);
    return NULL;
  }
  for (size_t k = 0; k < K; k++) {
    mix->w[k] = 1.0 / (double)K;
    mix->logw[k] = log(mix->w[k]);
    mix->kind[k] = DPM_COV_ZERO;
  }
  return mix;
}

void dpm_mixture_free(dpm_mixture *mix)
{
  if (!mix) return;
  free(mix->w);
  free(mix->logw);
  free(mix->mu);
  free(mix->kind);
  free(mix->lambda);
  free(mix->U);
  free(mix->Sigma);
  free(mix->labels);
  free(mix);
}

dpm_mixture *dpm_mixture_clone(const dpm_mixture *mix)
{
  dpm_mixture *c = dpm_mixture_alloc(mix->K, mix->d);
  if (!c) return NULL;
  size_t K = mix->K, d = mix->d;
  memcpy(c->w, mix->w, K * sizeof *c->w);
  memcpy(c->logw, mix->logw, K * sizeof *c->logw);
  memcpy(c->mu, mix->mu, K * d * sizeof *c->mu);
  memcpy(c->kind, mix->kind, K * sizeof *c->kind);
  memcpy(c->lambda, mix->lambda, K * d * sizeof *c->lambda);
  if (mix->U) {
    c->U = dpm_malloc(K * d * d * sizeof *c->U);
    c->Sigma = dpm_malloc(K * d * d * sizeof *c->Sigma);
    if (!c->U || !c->Sigma) goto fail;
    memcpy(c->U, mix->U, K * d * d * sizeof *c->U);
    memcpy(c->Sigma, mix->Sigma, K * d * d * sizeof *c->Sigma);
  }
  if (mix->labels) {
    c->labels = dpm_malloc(K * sizeof *c->labels);
    if (!c->labels) goto fail;
    memcpy(c->labels, mix->labels, K * sizeof *c->labels);
  }
  c->nlabels = mix->nlabels;
  memcpy(c->name, mix->name, sizeof c->name);
  return c;
fail:
  dpm_mixture_free(c);
  return NULL;
}

/* ---- setters ------------------------------------------------------------------------------------------- */

static int check_index(const dpm_mixture *mix, size_t k)
{
  if (!mix) DPM_ERROR(GSL_EINVAL, "mixture: NULL mixture");
  if (k >= mix->K) DPM_ERROR(GSL_EINVAL, "component %zu: index out of range (K = %zu)", k, mix->K);
  return DPM_SUCCESS;
}

/* Component k's U block back to the identity (it is only read for FULL components, but keep it defined). */
static void reset_U(dpm_mixture *mix, size_t k)
{
  if (!mix->U) return;
  size_t d = mix->d;
  double *Uk = mix->U + k * d * d;
  memset(Uk, 0, d * d * sizeof *Uk);
  for (size_t i = 0; i < d; i++)
    Uk[i * d + i] = 1.0;
}

int dpm_mixture_set_mean(dpm_mixture *mix, size_t k, const double *mu)
{
  int st = check_index(mix, k);
  if (st) return st;
  for (size_t i = 0; i < mix->d; i++)
    if (!isfinite(mu[i]))
      DPM_ERROR(GSL_EBADFUNC, "component %zu: mean has a non-finite entry (%g at coordinate %zu)", k, mu[i], i);
  memcpy(mix->mu + k * mix->d, mu, mix->d * sizeof *mu);
  return DPM_SUCCESS;
}

int dpm_mixture_set_zero(dpm_mixture *mix, size_t k)
{
  int st = check_index(mix, k);
  if (st) return st;
  mix->kind[k] = DPM_COV_ZERO;
  memset(mix->lambda + k * mix->d, 0, mix->d * sizeof *mix->lambda);
  reset_U(mix, k);
  return DPM_SUCCESS;
}

int dpm_mixture_set_iso(dpm_mixture *mix, size_t k, double var)
{
  int st = check_index(mix, k);
  if (st) return st;
  if (!isfinite(var) || !(var > 0))
    DPM_ERROR(GSL_EDOM, "component %zu: isotropic variance %g must be positive and finite", k, var);
  mix->kind[k] = DPM_COV_ISO;
  for (size_t i = 0; i < mix->d; i++)
    mix->lambda[k * mix->d + i] = var;
  reset_U(mix, k);
  return DPM_SUCCESS;
}

int dpm_mixture_set_diag(dpm_mixture *mix, size_t k, const double *var)
{
  int st = check_index(mix, k);
  if (st) return st;
  for (size_t i = 0; i < mix->d; i++)
    if (!isfinite(var[i]) || !(var[i] > 0))
      DPM_ERROR(GSL_EDOM, "component %zu: variance %g at coordinate %zu must be positive and finite", k, var[i],
                i);
  mix->kind[k] = DPM_COV_DIAG;
  memcpy(mix->lambda + k * mix->d, var, mix->d * sizeof *var);
  reset_U(mix, k);
  return DPM_SUCCESS;
}

int dpm_mixture_set_full(dpm_mixture *mix, size_t k, const double *cov)
{
  int st = check_index(mix, k);
  if (st) return st;
  size_t d = mix->d;
  double amax = 0.0;
  for (size_t i = 0; i < d * d; i++) {
    if (!isfinite(cov[i]))
      DPM_ERROR(GSL_EBADFUNC, "component %zu: covariance has a non-finite entry (%g at [%zu][%zu])", k, cov[i],
                i / d, i % d);
    if (fabs(cov[i]) > amax) amax = fabs(cov[i]);
  }
  double tol = 1e3 * DBL_EPSILON * amax;
  for (size_t i = 0; i < d; i++)
    for (size_t j = i + 1; j < d; j++)
      if (fabs(cov[i * d + j] - cov[j * d + i]) > tol)
        DPM_ERROR(GSL_EINVAL,
                  "component %zu: covariance is not symmetric ([%zu][%zu] = %.17g, [%zu][%zu] = %.17g)", k, i, j,
                  cov[i * d + j], j, i, cov[j * d + i]);

  /* work: a (d x d) symmetrised copy, eval (d), evec (d x d) */
  gsl_matrix *a = gsl_matrix_alloc(d, d);
  gsl_matrix *evec = gsl_matrix_alloc(d, d);
  gsl_vector *eval = gsl_vector_alloc(d);
  gsl_eigen_symmv_workspace *ws = gsl_eigen_symmv_alloc(d);
  if (!mix->U && a && evec && eval && ws) { /* first FULL component: U (identity blocks) and Sigma */
    mix->U = dpm_malloc(mix->K * d * d * sizeof *mix->U);
    mix->Sigma = dpm_calloc(mix->K * d * d, sizeof *mix->Sigma);
    if (mix->U && mix->Sigma)
      for (size_t j = 0; j < mix->K; j++)
        reset_U(mix, j);
    else {
      free(mix->U);
      free(mix->Sigma);
      mix->U = mix->Sigma = NULL;
    }
  }
  if (!a || !evec || !eval || !ws || !mix->U) {
    gsl_matrix_free(a);
    gsl_matrix_free(evec);
    gsl_vector_free(eval);
    gsl_eigen_symmv_free(ws);
    DPM_ERROR(GSL_ENOMEM, "component %zu: out of memory factoring a %zu x %zu covariance", k, d, d);
  }
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++)
      gsl_matrix_set(a, i, j, 0.5 * (cov[i * d + j] + cov[j * d + i]));
  /* SPD test on a copy (evec serves as the scratch copy; it is overwritten by the eigenvectors below) */
  gsl_matrix_memcpy(evec, a);
  int chol = dpm_cholesky_lower(evec->data, d), eig = 0, est = GSL_SUCCESS;
  double *Sk = mix->Sigma + k * d * d;
  if (chol) {
    est = gsl_eigen_symmv(a, eval, evec, ws);
    if (est == GSL_SUCCESS) est = gsl_eigen_symmv_sort(eval, evec, GSL_EIGEN_SORT_VAL_DESC);
    /* Cholesky passed, but rounding may leave lambda_min <= 0 */
    eig = est == GSL_SUCCESS && gsl_vector_get(eval, d - 1) > 0;
    if (eig) {
      mix->kind[k] = DPM_COV_FULL;
      for (size_t i = 0; i < d * d; i++) /* the symmetrised input (== cov when cov is symmetric) */
        Sk[i] = 0.5 * (cov[i] + cov[(i % d) * d + i / d]);
      for (size_t i = 0; i < d; i++)
        mix->lambda[k * d + i] = gsl_vector_get(eval, i);
      double *Uk = mix->U + k * d * d;
      for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++)
          Uk[i * d + j] = gsl_matrix_get(evec, i, j);
    }
  }
  double lmin = chol ? gsl_vector_get(eval, d - 1) : 0.0;
  gsl_matrix_free(a);
  gsl_matrix_free(evec);
  gsl_vector_free(eval);
  gsl_eigen_symmv_free(ws);
  if (!chol) DPM_ERROR(GSL_EDOM, "component %zu: covariance is not positive definite (Cholesky failed)", k);
  if (est != GSL_SUCCESS)
    DPM_ERROR(est, "component %zu: eigen-decomposition of the covariance failed (%s)", k, gsl_strerror(est));
  if (!eig)
    DPM_ERROR(GSL_EDOM, "component %zu: covariance is numerically singular (smallest eigenvalue %g)", k, lmin);
  return DPM_SUCCESS;
}

int dpm_mixture_set_weights(dpm_mixture *mix, const double *w)
{
  if (!mix) DPM_ERROR(GSL_EINVAL, "weights: NULL mixture");
  double sum = 0.0;
  for (size_t k = 0; k < mix->K; k++) {
    if (!isfinite(w[k])) DPM_ERROR(GSL_EBADFUNC, "weights: non-finite weight %g at component %zu", w[k], k);
    if (w[k] < 0) DPM_ERROR(GSL_EDOM, "weights: negative weight %g at component %zu", w[k], k);
    sum += w[k];
  }
  if (!(sum > 0)) DPM_ERROR(GSL_EDOM, "weights: sum must be positive (got %g)", sum);
  if (!isfinite(sum)) DPM_ERROR(GSL_EDOM, "weights: sum overflows (weights too large)");
  /* Weights that already sum to 1 up to the rounding of the sum itself (|sum - 1| <= 2 K eps) are kept as given,
   * so normalised weights written out with %.17g read back bit for bit. logw = log w_k, except for a weight that
   * underflowed to a subnormal (or 0) on division, where log w_k - log sum keeps the precision. */
  int keep = fabs(sum - 1.0) <= 2.0 * (double)mix->K * DBL_EPSILON;
  for (size_t k = 0; k < mix->K; k++) {
    mix->w[k] = keep ? w[k] : w[k] / sum;
    if (!(w[k] > 0))
      mix->logw[k] = -HUGE_VAL;
    else if (mix->w[k] >= DBL_MIN)
      mix->logw[k] = log(mix->w[k]);
    else
      mix->logw[k] = log(w[k]) - log(sum);
  }
  return DPM_SUCCESS;
}

int dpm_mixture_set_labels(dpm_mixture *mix, const int *labels)
{
  if (!mix) DPM_ERROR(GSL_EINVAL, "labels: NULL mixture");
  if (!labels) {
    free(mix->labels);
    mix->labels = NULL;
    mix->nlabels = 0;
    return DPM_SUCCESS;
  }
  int mx = -1;
  for (size_t k = 0; k < mix->K; k++) {
    if (labels[k] < 0) DPM_ERROR(GSL_EDOM, "labels: negative label %d at component %zu", labels[k], k);
    if (labels[k] == INT_MAX) DPM_ERROR(GSL_EDOM, "labels: label %d at component %zu is too large", labels[k], k);
    if (labels[k] > mx) mx = labels[k];
  }
  if (!mix->labels) {
    mix->labels = dpm_malloc(mix->K * sizeof *mix->labels);
    if (!mix->labels) return GSL_ENOMEM;
  }
  memcpy(mix->labels, labels, mix->K * sizeof *labels);
  mix->nlabels = mx + 1;
  return DPM_SUCCESS;
}

/* ---- queries ------------------------------------------------------------------------------------------- */

int dpm_mixture_is_pointset(const dpm_mixture *mix)
{
  for (size_t k = 0; k < mix->K; k++)
    if (mix->kind[k] != DPM_COV_ZERO) return 0;
  return 1;
}

/* Sigma_k[i][j]: diag(lambda_k) unless FULL, else the stored covariance (= U diag(lambda) U^T to rounding). */
static double cov_entry(const dpm_mixture *mix, size_t k, size_t i, size_t j)
{
  size_t d = mix->d;
  const double *lam = mix->lambda + k * d;
  if (mix->kind[k] != DPM_COV_FULL) return i == j ? lam[i] : 0.0;
  return mix->Sigma[(k * d + i) * d + j];
}

void dpm_mixture_cov(const dpm_mixture *mix, size_t k, double *out)
{
  size_t d = mix->d;
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j <= i; j++)
      out[i * d + j] = out[j * d + i] = cov_entry(mix, k, i, j);
}

static double mean_coord(const dpm_mixture *mix, size_t i)
{
  double s = 0.0;
  for (size_t k = 0; k < mix->K; k++)
    s += mix->w[k] * mix->mu[k * mix->d + i];
  return s;
}

/* mean = sum_k w_k mu_k; cov = sum_k w_k (Sigma_k + (mu_k - mean)(mu_k - mean)^T) (the centred form avoids the
 * cancellation of E[x x^T] - mean mean^T); E||x_0||^2 = sum_k w_k (||mu_k||^2 + tr Sigma_k). */
void dpm_mixture_moments(const dpm_mixture *mix, double *mean, double *cov, double *e_norm2)
{
  size_t d = mix->d, K = mix->K;
  if (mean)
    for (size_t i = 0; i < d; i++)
      mean[i] = mean_coord(mix, i);
  if (cov) {
    for (size_t i = 0; i < d; i++) {
      double mi = mean ? mean[i] : mean_coord(mix, i);
      for (size_t j = 0; j <= i; j++) {
        double mj = mean ? mean[j] : mean_coord(mix, j);
        double s = 0.0;
        for (size_t k = 0; k < K; k++)
          s += mix->w[k] * (cov_entry(mix, k, i, j) + (mix->mu[k * d + i] - mi) * (mix->mu[k * d + j] - mj));
        cov[i * d + j] = cov[j * d + i] = s;
      }
    }
  }
  if (e_norm2) {
    double s = 0.0;
    for (size_t k = 0; k < K; k++) {
      double t = 0.0;
      for (size_t i = 0; i < d; i++)
        t += mix->mu[k * d + i] * mix->mu[k * d + i] + mix->lambda[k * d + i];
      s += mix->w[k] * t;
    }
    *e_norm2 = s;
  }
}

/* Components with zero weight carry no mass and are left out. A point mass contributes its point. A Gaussian
 * component contributes mu_ki +- z sd_ki, sd_ki = sqrt(Sigma_k[i][i]); the mass outside the box is then at most
 * sum_k w_k sum_i P(|Z| > z) = 2 d Q(z) (union bound over the d coordinates of each component, averaged over k
 * with the weights: no worse than the K d bound and never looser), so z = Q^{-1}(tail / (2 d)). tail <= 0 gives
 * an infinite box when any Gaussian component has mass; z is clamped at 0 for tail >= 2d. */
void dpm_mixture_box(const dpm_mixture *mix, double tail, double *lo, double *hi)
{
  size_t d = mix->d;
  double z;
  if (!(tail > 0))
    z = HUGE_VAL;
  else if (tail / (2.0 * (double)d) >= 0.5)
    z = 0.0;
  else
    z = gsl_cdf_ugaussian_Qinv(tail / (2.0 * (double)d));
  for (size_t i = 0; i < d; i++) {
    lo[i] = HUGE_VAL;
    hi[i] = -HUGE_VAL;
  }
  for (size_t k = 0; k < mix->K; k++) {
    if (!(mix->w[k] > 0)) continue;
    for (size_t i = 0; i < d; i++) {
      double c = mix->mu[k * d + i];
      double h = 0.0;
      if (mix->kind[k] != DPM_COV_ZERO) {
        double sd = sqrt(cov_entry(mix, k, i, i));
        h = sd > 0 ? z * sd : 0.0;
      }
      if (c - h < lo[i]) lo[i] = c - h;
      if (c + h > hi[i]) hi[i] = c + h;
    }
  }
}

/* ---- sampling ------------------------------------------------------------------------------------------ */

/* Component index from one uniform u by inversion of the cumulative weights cum[0..K-1] (binary search); zero
 * weights are never chosen; rounding (cum[K-1] < 1) falls back to the last component with mass. */
static size_t pick_component(const dpm_mixture *mix, const double *cum, double u)
{
  size_t K = mix->K;
  size_t lo = 0, hi = K; /* first index with u < cum[idx] lies in [lo, hi) or none */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (u < cum[mid])
      hi = mid;
    else
      lo = mid + 1;
  }
  if (lo < K) return lo;
  size_t k = K - 1;
  while (k > 0 && !(mix->w[k] > 0))
    k--;
  return k;
}

/* One draw x0 = mu_k + U_k sqrt(lambda_k) z into out (d); z is d scratch doubles. */
static void draw_component(const dpm_mixture *mix, gsl_rng *r, size_t k, double *z, double *out)
{
  size_t d = mix->d;
  const double *mu = mix->mu + k * d, *lam = mix->lambda + k * d;
  switch (mix->kind[k]) {
  case DPM_COV_ZERO:
    memcpy(out, mu, d * sizeof *out);
    break;
  case DPM_COV_ISO:
  case DPM_COV_DIAG:
    for (size_t i = 0; i < d; i++)
      out[i] = mu[i] + sqrt(lam[i]) * gsl_ran_gaussian_ziggurat(r, 1.0);
    break;
  case DPM_COV_FULL: {
    const double *Uk = mix->U + k * d * d;
    for (size_t j = 0; j < d; j++)
      z[j] = sqrt(lam[j]) * gsl_ran_gaussian_ziggurat(r, 1.0);
    for (size_t i = 0; i < d; i++) {
      double s = mu[i];
      for (size_t j = 0; j < d; j++)
        s += Uk[i * d + j] * z[j];
      out[i] = s;
    }
    break;
  }
  }
}

struct dpm_mixture_sample_workspace {
  size_t K, d;
  double *cum; /* K: cumulative weights, rebuilt from the mixture at each call */
  double *z;   /* d: one standard normal vector in the eigen frame */
};

dpm_mixture_sample_workspace *dpm_mixture_sample_alloc(const dpm_mixture *mix)
{
  if (!mix) DPM_ERROR_NULL(GSL_EINVAL, "mixture sampling: NULL mixture");
  dpm_mixture_sample_workspace *w = dpm_calloc(1, sizeof *w);
  if (!w) return NULL;
  w->K = mix->K;
  w->d = mix->d;
  w->cum = dpm_malloc(mix->K * sizeof *w->cum);
  w->z = dpm_malloc(mix->d * sizeof *w->z);
  if (!w->cum || !w->z) {
    dpm_mixture_sample_free(w);
    return NULL;
  }
  return w;
}

void dpm_mixture_sample_free(dpm_mixture_sample_workspace *w)
{
  if (!w) return;
  free(w->cum);
  free(w->z);
  free(w);
}

/* Shared body of both samplers: plain q_0 draws into x, or (noisy) x = m x0 + s eps. Checks everything before the
 * first draw, so on error nothing is written and the generator has not advanced. */
static int sample_impl(const dpm_mixture *mix, dpm_mixture_sample_workspace *w, gsl_rng *r, size_t n, double m,
                       double s, int noisy, double *x, double *x0, double *eps, size_t *comp)
{
  if (!mix || !w || !r) DPM_ERROR(GSL_EINVAL, "mixture sampling: NULL mixture, workspace or generator");
  if (w->K != mix->K || w->d != mix->d)
    DPM_ERROR(GSL_EBADLEN, "mixture sampling: workspace is for K = %zu, d = %zu, the mixture has K = %zu, d = %zu",
              w->K, w->d, mix->K, mix->d);
  if (n > 0 && !x) DPM_ERROR(GSL_EINVAL, "mixture sampling: NULL output for %zu draws", n);
  if (noisy && !(isfinite(m) && isfinite(s) && s >= 0.0))
    DPM_ERROR(GSL_EDOM, "mixture sampling: q_t needs finite m and s >= 0 (got m = %g, s = %g)", m, s);
  const size_t d = mix->d, K = mix->K;
  double *cum = w->cum, *z = w->z;
  double c = 0.0;
  for (size_t k = 0; k < K; k++)
    cum[k] = (c += mix->w[k]);
  for (size_t a = 0; a < n; a++) {
    size_t k = pick_component(mix, cum, gsl_rng_uniform(r));
    if (comp) comp[a] = k;
    double *xa = x + a * d;
    draw_component(mix, r, k, z, xa);
    if (!noisy) continue;
    if (x0) memcpy(x0 + a * d, xa, d * sizeof *xa);
    for (size_t i = 0; i < d; i++) {
      double e = gsl_ran_gaussian_ziggurat(r, 1.0);
      if (eps) eps[a * d + i] = e;
      xa[i] = m * xa[i] + s * e;
    }
  }
  return DPM_SUCCESS;
}

int dpm_mixture_sample(const dpm_mixture *mix, dpm_mixture_sample_workspace *w, gsl_rng *r, size_t n, double *x,
                       size_t *comp)
{
  return sample_impl(mix, w, r, n, 1.0, 0.0, 0, x, NULL, NULL, comp);
}

int dpm_mixture_sample_t(const dpm_mixture *mix, dpm_mixture_sample_workspace *w, gsl_rng *r, double m, double s,
                         size_t n, double *x, double *x0, double *eps)
{
  return sample_impl(mix, w, r, n, m, s, 1, x, x0, eps, NULL);
}

/* x = c + U_k diag(scale) u (U_k the identity unless component k is full). */
void dpm_mixture_component_point(const dpm_mixture *mix, size_t k, const double *c, const double *scale,
                                 const double *u, double *x)
{
  const size_t d = mix->d;
  if (mix->kind[k] == DPM_COV_FULL && mix->U) {
    const double *U = mix->U + k * d * d;
    for (size_t i = 0; i < d; i++) {
      double acc = c[i];
      for (size_t j = 0; j < d; j++)
        acc += U[i * d + j] * scale[j] * u[j];
      x[i] = acc;
    }
  } else {
    for (size_t i = 0; i < d; i++)
      x[i] = c[i] + scale[i] * u[i];
  }
}
