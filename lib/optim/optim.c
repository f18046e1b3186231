/* optim.c — the optimisation view of diffusion of Permenter & Yuan (arXiv 2306.04848, §3–4): DDIM as gradient
 * descent on 1/2 dist_K^2 through 1/2 grad dist^2 = sigma eps*, the relative-error model, admissible schedules and
 * the two-sided distance bound along DDIM, the memorised share of a sample and the distance to a circle or
 * sphere. docs/MATH.md §2.10. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "dpm_common.h"
#include "dpm_distance.h"
#include "dpm_metrics.h"
#include "dpm_optim.h"
#include "dpm_rng.h"

static int check_sigmas(double sigma, double sigma_prev)
{
  if (!(isfinite(sigma) && sigma > 0.0)) DPM_ERROR(GSL_EDOM, "optim: sigma = %g must be finite and > 0", sigma);
  if (!(isfinite(sigma_prev) && sigma_prev >= 0.0))
    DPM_ERROR(GSL_EDOM, "optim: sigma_prev = %g must be finite and >= 0", sigma_prev);
  return DPM_SUCCESS;
}

int dpm_optim_ddim_step(dpm_denoiser *dn, double sigma, double sigma_prev, size_t n, const double *x, double *xout)
{
  if (!dn || (n > 0 && (!x || !xout))) DPM_ERROR(GSL_EINVAL, "optim ddim step: NULL denoiser or points");
  int st = check_sigmas(sigma, sigma_prev);
  if (st) return st;
  if (n == 0) return DPM_SUCCESS;
  const size_t d = dn->d;
  double *eps = dpm_malloc(n * d * sizeof *eps);
  if (!eps) return GSL_ENOMEM;
  st = dpm_denoiser_eval(dn, 1.0, sigma, n, x, eps, NULL, NULL);
  if (st == DPM_SUCCESS)
    for (size_t i = 0; i < n * d; i++)
      xout[i] = x[i] + (sigma_prev - sigma) * eps[i];
  else
    dpm_error_context("optim ddim step at sigma = %g", sigma);
  free(eps);
  return st;
}

int dpm_optim_grad_step(size_t K, size_t d, const double *Y, double sigma, double sigma_prev, size_t n,
                        const double *x, double *xout)
{
  if (n > 0 && !xout) DPM_ERROR(GSL_EINVAL, "optim gradient step: NULL output");
  int st = check_sigmas(sigma, sigma_prev);
  if (st) return st;
  if (n == 0) return DPM_SUCCESS;
  double *g = dpm_malloc(n * d * sizeof *g);
  if (!g) return GSL_ENOMEM;
  st = dpm_distance_eval(K, d, Y, sigma, n, x, NULL, g, NULL, NULL, NULL);
  if (st == DPM_SUCCESS) {
    const double step = 1.0 - sigma_prev / sigma;
    for (size_t i = 0; i < n * d; i++)
      xout[i] = x[i] - step * (0.5 * g[i]);
  }
  free(g);
  return st;
}

int dpm_optim_diagnose(size_t K, size_t d, const double *Y, dpm_denoiser *dn, double sigma, size_t n,
                       const double *x, double *dist, double *smoothed_dist2, double *ratio, double *x0hat,
                       double *grad_err)
{
  if (dn && dn->d != d)
    DPM_ERROR(GSL_EBADLEN, "optim diagnose: denoiser dimension %zu, set dimension %zu", dn->d, d);
  if (n == 0) return DPM_SUCCESS;
  double *eps_star = dpm_malloc(n * d * sizeof *eps_star);
  double *eps = dn ? dpm_malloc(n * d * sizeof *eps) : NULL;
  int st = (!eps_star || (dn && !eps)) ? GSL_ENOMEM : DPM_SUCCESS;
  if (!st) st = dpm_distance_eval(K, d, Y, sigma, n, x, smoothed_dist2, NULL, eps_star, NULL, NULL);
  if (!st && dn) {
    st = dpm_denoiser_eval(dn, 1.0, sigma, n, x, eps, NULL, NULL);
    if (st) dpm_error_context("optim diagnose at sigma = %g", sigma);
  }
  if (!st) {
    const double *e = dn ? eps : eps_star;
    for (size_t i = 0; i < n; i++) {
      const double *xi = x + i * d;
      const double D = sqrt(dpm_distance_min2(K, d, Y, xi, NULL));
      if (dist) dist[i] = D;
      if (ratio) ratio[i] = D / (sqrt((double)d) * sigma);
      if (x0hat)
        for (size_t j = 0; j < d; j++)
          x0hat[i * d + j] = xi[j] - sigma * e[i * d + j];
      if (grad_err) {
        double s2 = 0.0;
        for (size_t j = 0; dn && j < d; j++) {
          const double diff = sigma * (eps[i * d + j] - eps_star[i * d + j]);
          s2 += diff * diff;
        }
        grad_err[i] = (dn && D > 0.0) ? sqrt(s2) / D : (double)NAN;
      }
    }
  }
  free(eps_star);
  free(eps);
  return st;
}

/* |sigma eps - grad f| / dist for one point: grad f the true x - proj or the smoothed sigma eps*. */
static double rel_err_one(size_t d, const double *x, const double *eps, double sigma, const double *proj,
                          const double *eps_star, double D)
{
  double s2 = 0.0;
  for (size_t j = 0; j < d; j++) {
    const double g = proj ? x[j] - proj[j] : sigma * eps_star[j];
    const double diff = sigma * eps[j] - g;
    s2 += diff * diff;
  }
  return sqrt(s2) / D;
}

int dpm_optim_relerr_measure(size_t K, size_t d, const double *Y, dpm_denoiser *dn, dpm_optim_grad_kind kind,
                             double nu, double r_lo, double r_hi, size_t n_samples, uint64_t seed, double *eta,
                             double *dist_range, double *sigma_range)
{
  if (!Y || !dn || K == 0 || n_samples == 0)
    DPM_ERROR(GSL_EINVAL, "relative error: NULL set or denoiser, or nothing to sample");
  if (dn->d != d) DPM_ERROR(GSL_EBADLEN, "relative error: denoiser dimension %zu, set dimension %zu", dn->d, d);
  if (!(isfinite(nu) && nu >= 1.0)) DPM_ERROR(GSL_EDOM, "relative error: nu = %g must be finite and >= 1", nu);
  if (!(isfinite(r_lo) && isfinite(r_hi) && r_lo > 0.0 && r_hi >= r_lo))
    DPM_ERROR(GSL_EDOM, "relative error: radii [%g, %g] must satisfy 0 < r_lo <= r_hi", r_lo, r_hi);
  double *buf = dpm_malloc(4 * d * sizeof *buf);
  if (!buf) return GSL_ENOMEM;
  double *x = buf, *eps = buf + d, *eps_star = buf + 2 * d, *proj = buf + 3 * d;
  double worst = 0.0, dmin = HUGE_VAL, dmax = 0.0, smin = HUGE_VAL, smax = 0.0;
  int st = DPM_SUCCESS;
  for (size_t i = 0; i < n_samples && !st; i++) {
    gsl_rng *r = dpm_rng_stream_alloc(seed, (uint64_t)i);
    if (!r) {
      st = GSL_ENOMEM;
      break;
    }
    const size_t k = (size_t)gsl_rng_uniform_int(r, (unsigned long)K);
    gsl_ran_dir_nd(r, d, x);
    const double rad = r_lo * exp(gsl_rng_uniform(r) * log(r_hi / r_lo));
    const double v = 2.0 * gsl_rng_uniform(r) - 1.0;
    gsl_rng_free(r);
    for (size_t j = 0; j < d; j++)
      x[j] = Y[k * d + j] + rad * x[j];
    size_t at = 0;
    const double D = sqrt(dpm_distance_min2(K, d, Y, x, &at));
    if (!(D > 0.0)) continue;
    const double sigma = D * pow(nu, v) / sqrt((double)d);
    st = dpm_denoiser_eval(dn, 1.0, sigma, 1, x, eps, NULL, NULL);
    if (!st && kind == DPM_OPTIM_GRAD_SMOOTHED)
      st = dpm_distance_eval(K, d, Y, sigma, 1, x, NULL, NULL, eps_star, NULL, NULL);
    if (st) {
      dpm_error_context("relative error at sample %zu (sigma = %g)", i, sigma);
      break;
    }
    memcpy(proj, Y + at * d, d * sizeof *proj);
    const double e = rel_err_one(d, x, eps, sigma, kind == DPM_OPTIM_GRAD_TRUE ? proj : NULL, eps_star, D);
    if (e > worst || isnan(e)) worst = e;
    dmin = fmin(dmin, D);
    dmax = fmax(dmax, D);
    smin = fmin(smin, sigma);
    smax = fmax(smax, sigma);
  }
  free(buf);
  if (st) return st;
  if (eta) *eta = worst;
  if (dist_range) dist_range[0] = dmin, dist_range[1] = dmax;
  if (sigma_range) sigma_range[0] = smin, sigma_range[1] = smax;
  return DPM_SUCCESS;
}

static int check_schedule(size_t N, const double *sigma)
{
  if (N == 0 || !sigma) DPM_ERROR(GSL_EINVAL, "schedule: needs N >= 1 steps and N + 1 values");
  if (!(isfinite(sigma[0]) && sigma[0] > 0.0))
    DPM_ERROR(GSL_EDOM, "schedule: sigma[0] = %g must be > 0", sigma[0]);
  for (size_t i = 1; i <= N; i++)
    if (!(isfinite(sigma[i]) && sigma[i] >= 0.0 && sigma[i] < sigma[i - 1]))
      DPM_ERROR(GSL_EDOM, "schedule: sigma[%zu] = %g must be >= 0 and below sigma[%zu] = %g", i, sigma[i], i - 1,
                sigma[i - 1]);
  return DPM_SUCCESS;
}

int dpm_optim_schedule_admissible(size_t N, const double *sigma, double eta, double nu, double ratio0)
{
  if (check_schedule(N, sigma)) return -1;
  if (!(isfinite(eta) && eta >= 0.0) || !(isfinite(nu) && nu >= 1.0)) {
    DPM_RAISE(GSL_EDOM, "admissible: eta = %g must be >= 0 and nu = %g >= 1", eta, nu);
    return -1;
  }
  if (!(ratio0 >= 1.0 / nu && ratio0 <= nu)) {
    DPM_RAISE(GSL_EDOM, "admissible: start ratio %g outside the band [1/nu, nu] = [%g, %g]", ratio0, 1.0 / nu, nu);
    return -1;
  }
  double lo = ratio0, hi = ratio0;
  for (size_t i = 1; i <= N; i++) {
    if (sigma[i] == 0.0) continue; /* the last step, to sigma = 0 (beta = 1), leaves no band to stay in */
    const double beta = 1.0 - sigma[i] / sigma[i - 1];
    if (!(beta * (eta + 1.0) < 1.0)) return 0;
    lo *= (1.0 - beta * (eta + 1.0)) / (1.0 - beta);
    hi *= (1.0 + beta * (eta - 1.0)) / (1.0 - beta);
    if (lo < 1.0 / nu || hi > nu) return 0;
  }
  return 1;
}

/* Admissibility of the log-linear schedule of N steps with factor 1 - beta (sigma_0 = 1: only ratios matter). */
static int loglinear_ok(size_t N, double beta, double eta, double nu, double ratio0, double *sig)
{
  sig[0] = 1.0;
  for (size_t i = 1; i <= N; i++)
    sig[i] = sig[i - 1] * (1.0 - beta);
  return dpm_optim_schedule_admissible(N, sig, eta, nu, ratio0);
}

int dpm_optim_loglinear_beta_max(size_t N, double eta, double nu, double ratio0, double beta_cap, double *beta_max)
{
  if (!beta_max) DPM_ERROR(GSL_EINVAL, "admissible: NULL output");
  if (!(beta_cap > 0.0 && beta_cap < 1.0))
    DPM_ERROR(GSL_EDOM, "admissible: beta cap %g must lie in (0, 1)", beta_cap);
  if (N == 0) DPM_ERROR(GSL_EINVAL, "admissible: needs N >= 1 steps");
  double *sig = dpm_malloc((N + 1) * sizeof *sig);
  if (!sig) return GSL_ENOMEM;
  int ok = loglinear_ok(N, beta_cap, eta, nu, ratio0, sig);
  double a = 0.0, b = beta_cap;
  if (ok == 1)
    a = beta_cap;
  else if (ok == 0)
    while (b - a > 1e-12) { /* invariant: a admissible (or 0), b not */
      const double c = 0.5 * (a + b);
      ok = loglinear_ok(N, c, eta, nu, ratio0, sig);
      if (ok < 0) break;
      if (ok)
        a = c;
      else
        b = c;
    }
  free(sig);
  if (ok < 0) {
    dpm_error_context("log-linear beta");
    return GSL_EDOM;
  }
  *beta_max = a;
  return DPM_SUCCESS;
}

int dpm_optim_ddim_bound(size_t K, size_t d, const double *Y, dpm_denoiser *dn, size_t N, const double *sigma,
                         double eta, const double *x, double *dist, double *lo, double *hi, double *err,
                         double *xs)
{
  if (!dn || !x || !Y) DPM_ERROR(GSL_EINVAL, "distance bound: NULL denoiser, set or start");
  if (dn->d != d) DPM_ERROR(GSL_EBADLEN, "distance bound: denoiser dimension %zu, set dimension %zu", dn->d, d);
  if (!(isfinite(eta) && eta >= 0.0)) DPM_ERROR(GSL_EDOM, "distance bound: eta = %g must be >= 0", eta);
  int st = check_schedule(N, sigma);
  if (st) return st;
  double *buf = dpm_malloc(3 * d * sizeof *buf);
  if (!buf) return GSL_ENOMEM;
  double *cur = buf, *eps = buf + d, *nxt = buf + 2 * d;
  memcpy(cur, x, d * sizeof *cur);
  size_t at = 0;
  const double D0 = sqrt(dpm_distance_min2(K, d, Y, cur, &at));
  double pl = 1.0, ph = 1.0;
  for (size_t t = 0;; t++) {
    const double D = t == 0 ? D0 : sqrt(dpm_distance_min2(K, d, Y, cur, &at));
    if (dist) dist[t] = D;
    if (lo) lo[t] = D0 * pl;
    if (hi) hi[t] = D0 * ph;
    if (xs) memcpy(xs + t * d, cur, d * sizeof *cur);
    if (t == N) {
      if (err) err[t] = NAN;
      break;
    }
    st = dpm_denoiser_eval(dn, 1.0, sigma[t], 1, cur, eps, NULL, NULL);
    if (st) {
      dpm_error_context("distance bound at step %zu (sigma = %g)", t, sigma[t]);
      break;
    }
    if (err) err[t] = D > 0.0 ? rel_err_one(d, cur, eps, sigma[t], Y + at * d, NULL, D) : (double)NAN;
    for (size_t j = 0; j < d; j++)
      nxt[j] = cur[j] + (sigma[t + 1] - sigma[t]) * eps[j];
    memcpy(cur, nxt, d * sizeof *cur);
    const double beta = 1.0 - sigma[t + 1] / sigma[t];
    pl *= fmax(0.0, 1.0 - beta * (eta + 1.0));
    ph *= 1.0 + beta * (eta - 1.0);
  }
  free(buf);
  return st;
}

/* ---- memorisation and the manifold -------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int dpm_optim_nn_spacing(size_t K, size_t d, const double *Y, double *spacing)
{
  if (!Y || !spacing || K < 2) DPM_ERROR(GSL_EINVAL, "nearest-neighbour spacing: needs >= 2 points (got %zu)", K);
  for (size_t i = 0; i < K * d; i++)
    if (!isfinite(Y[i])) DPM_ERROR(GSL_EBADFUNC, "nearest-neighbour spacing: point %zu is not finite", i / d);
  double *nn = dpm_malloc(K * sizeof *nn);
  if (!nn) return GSL_ENOMEM;
  for (size_t i = 0; i < K; i++) {
    double best = HUGE_VAL;
    for (size_t k = 0; k < K; k++) {
      if (k == i) continue;
      double s2 = 0.0;
      for (size_t j = 0; j < d; j++) {
        const double u = Y[i * d + j] - Y[k * d + j];
        s2 += u * u;
      }
      best = fmin(best, s2);
    }
    nn[i] = sqrt(best);
  }
  qsort(nn, K, sizeof *nn, cmp_double);
  const double med = K % 2 ? nn[K / 2] : 0.5 * (nn[K / 2 - 1] + nn[K / 2]);
  free(nn);
  if (!(med > 0.0)) DPM_ERROR(GSL_EDOM, "nearest-neighbour spacing: 0 (repeated points)");
  *spacing = med;
  return DPM_SUCCESS;
}

int dpm_optim_memorisation(size_t K, size_t d, const double *Y, size_t n, const double *x, double rel_radius,
                           double *share, double *share_se, double *mean_dist, double *dist_se, double *radius)
{
  if (!(isfinite(rel_radius) && rel_radius > 0.0))
    DPM_ERROR(GSL_EDOM, "memorisation: relative radius %g must be > 0 and finite", rel_radius);
  if (n == 0 || !x) DPM_ERROR(GSL_EINVAL, "memorisation: empty sample");
  double h;
  int st = dpm_optim_nn_spacing(K, d, Y, &h);
  if (st) {
    dpm_error_context("memorisation");
    return st;
  }
  const double rad = rel_radius * h;
  st = dpm_metrics_nearest(d, n, x, K, Y, rad, mean_dist, dist_se, share, share_se);
  if (st) {
    dpm_error_context("memorisation");
    return st;
  }
  if (radius) *radius = rad;
  return DPM_SUCCESS;
}

int dpm_optim_sphere_dist(size_t k, double r, size_t d, size_t n, const double *x, double *dist)
{
  if (n > 0 && (!x || !dist)) DPM_ERROR(GSL_EINVAL, "sphere distance: NULL points or output");
  if (k < 1 || k + 1 > d)
    DPM_ERROR(GSL_EDOM, "sphere distance: needs 1 <= k and k + 1 <= d (got k = %zu, d = %zu)", k, d);
  if (!(isfinite(r) && r > 0.0)) DPM_ERROR(GSL_EDOM, "sphere distance: radius %g must be > 0 and finite", r);
  for (size_t i = 0; i < n; i++) {
    const double *xi = x + i * d;
    double a = 0.0, b = 0.0;
    for (size_t j = 0; j <= k; j++)
      a += xi[j] * xi[j];
    for (size_t j = k + 1; j < d; j++)
      b += xi[j] * xi[j];
    const double radial = sqrt(a) - r;
    dist[i] = sqrt(radial * radial + b);
  }
  return DPM_SUCCESS;
}
