/* gaussian.c — the Schrödinger bridge between two Gaussians in closed form (Janati et al. 2020, Theorem 1; Bunne
 * et al. 2023, Theorem 3): D_sigma, C_sigma, OT_sigma, the time marginals, the SDE drift and Euler–Maruyama paths
 * (docs/MATH.md §5.2). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "bridge_internal.h"
#include "dpm_bridge.h"
#include "dpm_internal.h"
#include "dpm_rng.h"

void dpm_bridge_gauss_free(dpm_bridge_gauss *g)
{
  if (!g) return;
  free(g->m0);
  free(g);
}

void dpm_bridge_gauss_scalar(double m0, double s0, double m1, double s1, double sigma2, double *D, double *C,
                             double *OT)
{
  const double dd = sqrt(4.0 * s0 * s1 + sigma2 * sigma2);
  if (D) *D = dd;
  if (C) *C = 0.5 * (dd - sigma2);
  if (OT)
    *OT = (m0 - m1) * (m0 - m1) + s0 + s1 - dd + sigma2 * (1.0 - log(2.0 * sigma2)) + sigma2 * log(dd + sigma2);
}

dpm_bridge_gauss *dpm_bridge_gauss_alloc(size_t d, const double *m0, const double *S0, const double *m1,
                                         const double *S1, double sigma2)
{
  if (!m0 || !S0 || !m1 || !S1 || d == 0) DPM_ERROR_NULL(GSL_EINVAL, "bridge: NULL argument or d = 0");
  if (!(isfinite(sigma2) && sigma2 > 0.0))
    DPM_ERROR_NULL(GSL_EDOM, "bridge: sigma^2 must be finite and > 0 (got %g)", sigma2);
  if (!dpm_bridge_all_finite(m0, d) || !dpm_bridge_all_finite(m1, d) || !dpm_bridge_all_finite(S0, d * d) ||
      !dpm_bridge_all_finite(S1, d * d))
    DPM_ERROR_NULL(GSL_EBADFUNC, "bridge: non-finite mean or covariance");
  const size_t dd = d * d;
  dpm_bridge_gauss *g = dpm_calloc(1, sizeof *g);
  double *mem = g ? dpm_malloc((2 * d + 4 * dd) * sizeof *mem) : NULL;
  double *w = mem ? dpm_malloc((5 * dd + d) * sizeof *w) : NULL;
  if (!w) {
    free(mem);
    free(g);
    return NULL;
  }
  g->d = d;
  g->sigma2 = sigma2;
  g->m0 = mem;
  g->m1 = mem + d;
  g->S0 = mem + 2 * d;
  g->S1 = g->S0 + dd;
  g->D = g->S1 + dd;
  g->C = g->D + dd;
  memcpy(g->m0, m0, d * sizeof *m0);
  memcpy(g->m1, m1, d * sizeof *m1);
  memcpy(g->S0, S0, dd * sizeof *S0);
  memcpy(g->S1, S1, dd * sizeof *S1);
  double *h = w, *hi = w + dd, *t1 = w + 2 * dd, *t2 = w + 3 * dd, *lam = w + 5 * dd;
  int st = DPM_SUCCESS;
  if (!dpm_bridge_is_spd(d, S0, t1)) {
    st = DPM_RAISE(GSL_EDOM, "bridge: Sigma_0 is not symmetric positive-definite");
    goto fail;
  }
  if (!dpm_bridge_is_spd(d, S1, t1)) {
    st = DPM_RAISE(GSL_EDOM, "bridge: Sigma_1 is not symmetric positive-definite");
    goto fail;
  }
  /* S0^{1/2}, S0^{-1/2}; D = (4 S0^{1/2} S1 S0^{1/2} + sigma^4 I)^{1/2} */
  if ((st = dpm_bridge_sym_pow(d, S0, 0.5, h, NULL)) || (st = dpm_bridge_sym_pow(d, S0, -0.5, hi, NULL)))
    goto fail;
  dpm_bridge_matmul(d, h, S1, t1);
  dpm_bridge_matmul(d, t1, h, t2);
  for (size_t i = 0; i < dd; i++)
    t2[i] *= 4.0;
  for (size_t i = 0; i < d; i++)
    t2[i * d + i] += sigma2 * sigma2;
  if ((st = dpm_bridge_sym_pow(d, t2, 0.5, g->D, lam))) goto fail;
  /* C = 1/2 (S0^{1/2} D S0^{-1/2} - sigma^2 I) */
  dpm_bridge_matmul(d, h, g->D, t1);
  dpm_bridge_matmul(d, t1, hi, g->C);
  for (size_t i = 0; i < dd; i++)
    g->C[i] *= 0.5;
  for (size_t i = 0; i < d; i++)
    g->C[i * d + i] -= 0.5 * sigma2;
  /* OT = |m0 - m1|^2 + tr S0 + tr S1 - tr D + d sigma^2 (1 - log 2 sigma^2) + sigma^2 log det(D + sigma^2 I); the
   * eigenvalues of D are the square roots of those of 4 S0^{1/2} S1 S0^{1/2} + sigma^4 I */
  double dm = 0.0, trS = 0.0, trD = 0.0, trC = 0.0, logdet = 0.0;
  for (size_t j = 0; j < d; j++) {
    dm += (m0[j] - m1[j]) * (m0[j] - m1[j]);
    trS += S0[j * d + j] + S1[j * d + j];
    trD += g->D[j * d + j];
    trC += g->C[j * d + j];
    logdet += log(sqrt(fmax(lam[j], 0.0)) + sigma2);
  }
  g->OT = dm + trS - trD + (double)d * sigma2 * (1.0 - log(2.0 * sigma2)) + sigma2 * logdet;
  g->transport = dm + trS - 2.0 * trC;
  free(w);
  return g;
fail:
  (void)st;
  free(w);
  dpm_bridge_gauss_free(g);
  return NULL;
}

int dpm_bridge_gauss_marginal(const dpm_bridge_gauss *g, double t, double *mean, double *Sigma)
{
  if (!g) DPM_ERROR(GSL_EINVAL, "bridge: NULL closed form");
  if (!(t >= 0.0 && t <= 1.0)) DPM_ERROR(GSL_EDOM, "bridge: t must be in [0, 1] (got %g)", t);
  const size_t d = g->d;
  if (mean)
    for (size_t j = 0; j < d; j++)
      mean[j] = (1.0 - t) * g->m0[j] + t * g->m1[j];
  if (Sigma) {
    const double u = 1.0 - t, c = t * u;
    for (size_t i = 0; i < d; i++)
      for (size_t j = 0; j < d; j++)
        Sigma[i * d + j] = u * u * g->S0[i * d + j] + t * t * g->S1[i * d + j] +
                           c * (g->C[i * d + j] + g->C[j * d + i] + (i == j ? g->sigma2 : 0.0));
  }
  return DPM_SUCCESS;
}

/* A_t (d x d) and mu_t (d) at time t; work 2 d^2. */
static int drift_matrix(const dpm_bridge_gauss *g, double t, double *A, double *mu, double *work)
{
  const size_t d = g->d;
  double *Sig = work, *L = work + d * d;
  int st = dpm_bridge_gauss_marginal(g, t, mu, Sig);
  if (st) return st;
  /* A^T = Sigma_t^{-1} S_t with S_t = t S1 - (1 - t) S0 + (1 - t) C - t C^T - sigma^2 t I (the transpose of S_t^T)
   */
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++)
      A[i * d + j] = t * g->S1[i * d + j] - (1.0 - t) * g->S0[i * d + j] + (1.0 - t) * g->C[i * d + j] -
                     t * g->C[j * d + i] - (i == j ? g->sigma2 * t : 0.0);
  if (!dpm_bridge_spd_solve(d, Sig, d, A, L))
    DPM_ERROR(GSL_EDOM, "bridge: Sigma_t not positive-definite at t = %g", t);
  for (size_t i = 0; i < d; i++) /* transpose in place: A = S_t^T Sigma_t^{-1} */
    for (size_t j = 0; j < i; j++) {
      double tmp = A[i * d + j];
      A[i * d + j] = A[j * d + i];
      A[j * d + i] = tmp;
    }
  return DPM_SUCCESS;
}

int dpm_bridge_gauss_drift(const dpm_bridge_gauss *g, double t, size_t n, const double *x, double *b, double *A)
{
  if (!g || (n > 0 && (!x || !b))) DPM_ERROR(GSL_EINVAL, "bridge: NULL argument to the drift");
  if (!(t >= 0.0 && t <= 1.0)) DPM_ERROR(GSL_EDOM, "bridge: t must be in [0, 1] (got %g)", t);
  const size_t d = g->d;
  double *w = dpm_malloc((3 * d * d + d) * sizeof *w);
  if (!w) return GSL_ENOMEM;
  double *At = w, *mu = w + d * d;
  int st = drift_matrix(g, t, At, mu, w + d * d + d);
  if (!st) {
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < d; j++) {
        double s = g->m1[j] - g->m0[j];
        for (size_t l = 0; l < d; l++)
          s += At[j * d + l] * (x[i * d + l] - mu[l]);
        b[i * d + j] = s;
      }
    if (A) memcpy(A, At, d * d * sizeof *A);
  }
  free(w);
  return st;
}

int dpm_bridge_gauss_sample(const dpm_bridge_gauss *g, size_t n, size_t K, uint64_t seed, double *paths)
{
  if (!g || !paths || n == 0 || K == 0) DPM_ERROR(GSL_EINVAL, "bridge: NULL argument, n = 0 or K = 0");
  const size_t d = g->d, dd = d * d;
  /* per grid step: A_k (d x d), mu_k (d); then L0 = chol(S0) */
  double *tab = dpm_malloc((K * (dd + d) + 3 * dd) * sizeof *tab);
  if (!tab) return GSL_ENOMEM;
  double *L0 = tab + K * (dd + d), *work = L0 + dd;
  int st = DPM_SUCCESS;
  for (size_t k = 0; k < K && !st; k++)
    st = drift_matrix(g, (double)k / (double)K, tab + k * (dd + d), tab + k * (dd + d) + dd, work);
  if (st) {
    dpm_error_context("bridge paths");
    free(tab);
    return st;
  }
  memcpy(L0, g->S0, dd * sizeof *L0);
  dpm_cholesky_lower(L0, d); /* S0 was checked positive-definite at alloc */
  const double h = 1.0 / (double)K, sh = sqrt(g->sigma2 * h);
  int fail = 0;
#pragma omp parallel if (n * K * d * d > 20000)
  {
    gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
    double *z = dpm_malloc(2 * d * sizeof *z);
    if (!r || !z) {
#pragma omp atomic write
      fail = 1;
    }
#pragma omp for schedule(static)
    for (size_t i = 0; i < n; i++) {
      if (!r || !z) continue;
      dpm_rng_stream_set(r, seed, i);
      double *x = paths + i * d;
      for (size_t j = 0; j < d; j++)
        z[j] = gsl_ran_gaussian_ziggurat(r, 1.0);
      for (size_t j = 0; j < d; j++) {
        double s = g->m0[j];
        for (size_t l = 0; l <= j; l++)
          s += L0[j * d + l] * z[l];
        x[j] = s;
      }
      for (size_t k = 0; k < K; k++) {
        const double *A = tab + k * (dd + d), *mu = A + dd, *xk = paths + (k * n + i) * d;
        double *xn = paths + ((k + 1) * n + i) * d;
        for (size_t j = 0; j < d; j++)
          z[j] = gsl_ran_gaussian_ziggurat(r, 1.0);
        for (size_t j = 0; j < d; j++) {
          double b = g->m1[j] - g->m0[j];
          for (size_t l = 0; l < d; l++)
            b += A[j * d + l] * (xk[l] - mu[l]);
          xn[j] = xk[j] + h * b + sh * z[j];
        }
      }
    }
    free(z);
    if (r) gsl_rng_free(r);
  }
  free(tab);
  if (fail) DPM_ERROR(GSL_ENOMEM, "bridge: out of memory for the path generators");
  return DPM_SUCCESS;
}
