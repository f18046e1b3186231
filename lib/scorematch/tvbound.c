/* tvbound.c — the total-variation error of the Euler–Maruyama reverse SDE in 1-D against its three sources (De
 * Bortoli, Thornton, Heng & Doucet 2021, Thm 1; docs/MATH.md §4.4): the prior mismatch (decaying like e^{-T}), the
 * step size gamma and the score error, with the chain's law propagated exactly on a grid (no Monte Carlo). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dpm_internal.h"
#include "dpm_oracle.h"
#include "dpm_scorematch.h"

/* Integrals are grid sums h sum_j f(x_j): the grid is fine against every density here, so they are the integrals
 * to spectral accuracy for these smooth, decaying integrands. */

static int check_args(const dpm_mixture *mix, double T, size_t N, double eta)
{
  if (!mix) DPM_ERROR(GSL_EINVAL, "tv bound: NULL mixture");
  if (mix->d != 1) DPM_ERROR(GSL_EINVAL, "tv bound: the study is 1-D (data dimension %zu)", mix->d);
  for (size_t k = 0; k < mix->K; k++)
    if (mix->w[k] > 0.0 && mix->kind[k] == DPM_COV_ZERO)
      DPM_ERROR(GSL_EINVAL, "tv bound: the data must have a density (component %zu is a point mass)", k);
  if (!(isfinite(T) && T > 0.0 && T <= 50.0)) DPM_ERROR(GSL_EDOM, "tv bound: T = %g must be in (0, 50]", T);
  if (N == 0 || N > 10000000) DPM_ERROR(GSL_EDOM, "tv bound: steps N = %zu must be in [1, 1e7]", N);
  if (!(isfinite(eta) && eta > -1.0)) DPM_ERROR(GSL_EDOM, "tv bound: score error eta = %g must be > -1", eta);
  return DPM_SUCCESS;
}

/* The grid of a run: step h and half-width L after the defaults, and its size G. */
static int grid_of(const dpm_mixture *mix, double T, size_t N, double *h, double *L, size_t *G)
{
  const double gamma = T / (double)N;
  if (*h == 0.0) *h = fmin(0.02, sqrt(2.0 * gamma) / 3.0);
  if (*L == 0.0) {
    double far = 0.0;
    for (size_t k = 0; k < mix->K; k++)
      far = fmax(far, fabs(mix->mu[k]) + 6.0 * sqrt(mix->lambda[k]));
    *L = fmax(8.0, far);
  }
  if (!(isfinite(*h) && *h > 0.0 && isfinite(*L) && *L > 0.0))
    DPM_ERROR(GSL_EDOM, "tv bound: grid step %g and half-width %g must be finite and > 0", *h, *L);
  const double g = 2.0 * *L / *h + 1.0;
  if (g > 1e6)
    DPM_ERROR(GSL_EINVAL, "tv bound: %.0f grid points (step %g on [-%g, %g]) exceed 10^6", g, *h, *L, *L);
  *G = (size_t)g;
  return DPM_SUCCESS;
}

/* One Euler–Maruyama step of a density on the grid: every source i moves to mu_i = x_i + gamma (x_i + 2 c sc_i)
 * and spreads its mass with the Gaussian kernel of variance 2 gamma over +-W grid points. On a grid with h <= sd/3
 * the kernel's grid sum is 1/h to rounding (Poisson summation: the error is of order exp(-2 pi^2 sd^2/h^2)), so no
 * normalisation is needed and what a window loses at the box's edge is lost mass (returned). The kernel values
 * come from the recurrence g(u + delta) = g(u) exp(-u delta - delta^2/2): two exponentials per source. */
static double spread(size_t G, double L, double h, const double *x, const double *sc, double c, double gamma,
                     long W, const double *p, double *pn)
{
  const double sd = sqrt(2.0 * gamma), dl = h / sd, cdl = exp(-dl * dl), norm = DPM_INV_SQRT_2PI / sd;
  double lost = 0.0;
  memset(pn, 0, G * sizeof *pn);
  for (size_t i = 0; i < G; i++) {
    if (p[i] == 0.0) continue;
    const double mu = x[i] + gamma * (x[i] + 2.0 * c * sc[i]), mass = p[i] * h;
    const long ctr = lround((mu + L) / h);
    const long j0 = ctr - W < 0 ? 0 : ctr - W, j1 = ctr + W >= (long)G ? (long)G - 1 : ctr + W;
    if (j0 > j1) {
      lost += mass;
      continue;
    }
    const double u0 = (x[j0] - mu) / sd;
    double g = exp(-0.5 * u0 * u0), a = exp(-u0 * dl - 0.5 * dl * dl), put = 0.0;
    for (long j = j0; j <= j1; j++) {
      const double v = mass * norm * g;
      pn[j] += v;
      put += v * h;
      g *= a;
      a *= cdl;
    }
    lost += mass - put;
  }
  return lost;
}

int dpm_sm_tv_reverse(const dpm_mixture *mix, double T, size_t N, double eta, double h, double L,
                      dpm_sm_tv_result *out)
{
  int st = check_args(mix, T, N, eta);
  size_t G = 0;
  if (!st) st = grid_of(mix, T, N, &h, &L, &G);
  if (st) return st;
  if (!out) DPM_ERROR(GSL_EINVAL, "tv bound: NULL output");
  const double gamma = T / (double)N;
  double *buf = dpm_malloc(9 * G * sizeof *buf);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  if (!buf || !o) {
    free(buf);
    dpm_oracle_free(o);
    return GSL_ENOMEM;
  }
  /* p: the chain with the score error from the prior N(0, 1); p0: the chain without it from the prior; r: the
   * chain without it from the exact q_T (its error is the discretisation's alone) */
  double *x = buf, *p = x + G, *pn = p + G, *r = pn + G, *rn = r + G, *p0 = rn + G, *p0n = p0 + G, *sc = p0n + G,
         *lq = sc + G;
  for (size_t j = 0; j < G; j++) {
    x[j] = -L + h * (double)j;
    p[j] = p0[j] = DPM_INV_SQRT_2PI * exp(-0.5 * x[j] * x[j]);
  }
  /* the prior mismatch TV(N(0, 1), q_T) and KL(q_0 || N(0, 1)) on the same grid (the TV integrand has kinks where
   * the densities cross: its grid sum is accurate to O(h^2)) */
  const double mT = exp(-T), sT = sqrt(-expm1(-2.0 * T));
  dpm_oracle_result res = {.logq = lq};
  st = dpm_oracle_eval(o, mT, sT, G, x, &res);
  double tvp = 0.0, kl = 0.0;
  for (size_t j = 0; j < G && !st; j++) {
    r[j] = exp(lq[j]);
    tvp += 0.5 * h * fabs(p[j] - r[j]);
  }
  const double s0 = 1e-100; /* q_0 itself: the oracle at s -> 0 (C_k = Sigma_k + s^2, s^2 still a normal double) */
  if (!st) st = dpm_oracle_eval(o, 1.0, s0, G, x, &res);
  for (size_t j = 0; j < G && !st; j++) {
    const double q0 = exp(lq[j]);
    if (q0 > 0.0) kl += h * q0 * (lq[j] + 0.5 * DPM_LOG_2PI + 0.5 * x[j] * x[j]);
  }
  /* the reverse chain x <- x + gamma (x + 2 (1 + eta) s(x, t)) + sqrt(2 gamma) z, t = T, T - gamma, ..., gamma;
   * and the Girsanov sum: KL(path with eta || path with 0) = sum_k E_{p_k} |2 eta gamma s|^2 / (2 * 2 gamma) =
   * eta^2 gamma sum_k E_{p_k} s^2 */
  const long W = (long)ceil(9.0 * sqrt(2.0 * gamma) / h);
  double lost = 0.0, lost_r = 0.0, lost_0 = 0.0, gsum = 0.0;
  for (size_t k = 0; k < N && !st; k++) {
    const double t = T - gamma * (double)k, m = exp(-t), s = sqrt(-expm1(-2.0 * t));
    dpm_oracle_result rs = {.score = sc};
    if ((st = dpm_oracle_eval(o, m, s, G, x, &rs))) break;
    double e2 = 0.0;
    for (size_t j = 0; j < G; j++)
      e2 += h * p[j] * sc[j] * sc[j];
    gsum += gamma * e2;
    lost += spread(G, L, h, x, sc, 1.0 + eta, gamma, W, p, pn);
    lost_r += spread(G, L, h, x, sc, 1.0, gamma, W, r, rn);
    if (eta != 0.0) lost_0 += spread(G, L, h, x, sc, 1.0, gamma, W, p0, p0n);
    double *tmp = p;
    p = pn;
    pn = tmp;
    tmp = r;
    r = rn;
    rn = tmp;
    if (eta != 0.0) {
      tmp = p0;
      p0 = p0n;
      p0n = tmp;
    }
  }
  if (!st) st = dpm_oracle_eval(o, 1.0, s0, G, x, &res);
  if (!st) {
    double tv = 0.0, tvr = 0.0, tvs = 0.0;
    for (size_t j = 0; j < G; j++) {
      const double q0 = exp(lq[j]);
      tv += 0.5 * h * fabs(p[j] - q0);
      tvr += 0.5 * h * fabs(r[j] - q0);
      if (eta != 0.0) tvs += 0.5 * h * fabs(p[j] - p0[j]);
    }
    /* mass that left the box counts fully against the chain (rounding can make the lost mass -1e-11: clamped) */
    out->tv = tv + 0.5 * fmax(lost, 0.0);
    out->tv_prior = tvp;
    out->prior_bound = exp(-T) * sqrt(fmax(kl, 0.0) / 2.0);
    out->tv_disc = tvr + 0.5 * fmax(lost_r, 0.0);
    out->tv_score = eta != 0.0 ? tvs + 0.5 * (fmax(lost, 0.0) + fmax(lost_0, 0.0)) : 0.0;
    out->score_bound = fabs(eta) * sqrt(gsum / 2.0);
    out->mass_lost = fmax(lost, 0.0);
  } else
    dpm_error_context("tv bound (T = %g, N = %zu, eta = %g)", T, N, eta);
  dpm_oracle_free(o);
  free(buf);
  return st;
}

int dpm_sm_tv_reverse_batch(const dpm_mixture *mix, size_t n, const double *T, const size_t *N, const double *eta,
                            double h, double L, dpm_sm_tv_result *out)
{
  if (n > 0 && (!T || !N || !eta || !out)) DPM_ERROR(GSL_EINVAL, "tv bound batch: NULL argument");
  for (size_t i = 0; i < n; i++) { /* validate every run first, so a bad one is named before any work */
    double hh = h, LL = L;
    size_t G;
    int st = check_args(mix, T[i], N[i], eta[i]);
    if (!st) st = grid_of(mix, T[i], N[i], &hh, &LL, &G);
    if (st) {
      dpm_error_context("run %zu", i);
      return st;
    }
  }
  int bad = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(| : bad)
  for (size_t i = 0; i < n; i++)
    if (dpm_sm_tv_reverse(mix, T[i], N[i], eta[i], h, L, &out[i])) bad = 1;
  if (bad) DPM_ERROR(GSL_EFAILED, "tv bound batch: a run failed (out of memory or a non-finite score)");
  return DPM_SUCCESS;
}
