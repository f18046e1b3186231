/* selfcons.c — self-consistency of a score field with its own reverse process in 1-D (Song, Durkan, Murray & Ermon
 * 2021, Thm 2 and its discussion; docs/MATH.md §4.4): the outputs of the reverse SDE and of the probability-flow
 * ODE of a mixture's exact score, both started from the prior N(0, 1) of the OU process at a finite T, in closed
 * form up to 1-D quadrature (no Monte Carlo, no time steps), and the score defect that makes the two differ unless
 * the data are N(0, 1). */
#include <float.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dpm_internal.h"
#include "dpm_oracle.h"
#include "dpm_scorematch.h"

/* The CDF (upper = 0) or survival function (upper = 1) of the 1-D mixture's time-t marginal at y: a sum of
 * Gaussian CDFs with means m mu_k and variances m^2 lambda_k + s^2. */
static double mix_tail(const dpm_mixture *mix, double m, double s, double y, int upper)
{
  double F = 0.0;
  for (size_t k = 0; k < mix->K; k++) {
    if (!(mix->w[k] > 0.0)) continue;
    const double sd = sqrt(m * m * mix->lambda[k] + s * s), u = y - m * mix->mu[k];
    F += mix->w[k] * (upper ? gsl_cdf_gaussian_Q(u, sd) : gsl_cdf_gaussian_P(u, sd));
  }
  return F;
}

/* y with F(y) = target (upper = 0) or 1 - F(y) = target (upper = 1) by bisection on [-B, B] to the resolution of
 * doubles (the tail functions are monotone). */
static double mix_tail_inv(const dpm_mixture *mix, double m, double s, double target, int upper, double B)
{
  double lo = -B, hi = B;
  for (int it = 0; it < 200 && hi - lo > 4.0 * DBL_EPSILON * fmax(1.0, fabs(lo + hi)); it++) {
    const double mid = 0.5 * (lo + hi), F = mix_tail(mix, m, s, mid, upper);
    if ((F < target) != (upper != 0))
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

int dpm_sm_selfcons_ou(const dpm_mixture *mix, double T, double h, double L, dpm_sm_selfcons_result *out)
{
  if (!mix || !out) DPM_ERROR(GSL_EINVAL, "self-consistency: NULL argument");
  if (mix->d != 1) DPM_ERROR(GSL_EINVAL, "self-consistency: the study is 1-D (data dimension %zu)", mix->d);
  for (size_t k = 0; k < mix->K; k++)
    if (mix->w[k] > 0.0 && mix->kind[k] == DPM_COV_ZERO)
      DPM_ERROR(GSL_EINVAL, "self-consistency: the data must have a density (component %zu is a point mass)", k);
  if (!(isfinite(T) && T >= 0.05 && T <= 30.0))
    DPM_ERROR(GSL_EDOM, "self-consistency: T = %g must be in [0.05, 30]", T);
  if (h == 0.0) h = 0.01;
  if (L == 0.0) {
    double far = 0.0;
    for (size_t k = 0; k < mix->K; k++)
      if (mix->w[k] > 0.0) far = fmax(far, fabs(mix->mu[k]) + 8.0 * sqrt(mix->lambda[k]));
    L = fmax(8.0, far);
  }
  const double mT = exp(-T), sT = sqrt(-expm1(-2.0 * T));
  if (!(isfinite(h) && h > 0.0 && h <= sT / 3.0 && isfinite(L) && L > 0.0))
    DPM_ERROR(GSL_EDOM, "self-consistency: grid step %g must be in (0, s_T/3 = %g] and half-width %g > 0", h,
              sT / 3.0, L);
  const double gd = 2.0 * L / h + 1.0;
  if (gd > 2e4) DPM_ERROR(GSL_EINVAL, "self-consistency: %.0f grid points exceed 20000", gd);
  const size_t G = (size_t)gd;
  /* the h-transform's integral over X_T ~ N(mT x, sT^2) runs on its own grid z, wide enough (10 sT beyond mT L)
   * that the kernel is never cut at the edge */
  const double Lz = mT * L + 10.0 * sT;
  const size_t Gz = (size_t)(2.0 * Lz / h + 1.0);
  double *buf = dpm_malloc((7 * G + 3 * Gz) * sizeof *buf);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  if (!buf || !o) {
    free(buf);
    dpm_oracle_free(o);
    return GSL_ENOMEM;
  }
  double *x = buf, *lq0 = x + G, *lqT = lq0 + G, *y = lqT + G, *lqy = y + G, *hx = lqy + G, *gx = hx + G,
         *z = gx + G, *lqz = z + Gz, *r = lqz + Gz;
  for (size_t j = 0; j < G; j++)
    x[j] = -L + h * (double)j;
  for (size_t j = 0; j < Gz; j++)
    z[j] = -Lz + h * (double)j;
  /* q_0 (the oracle at s -> 0, as in tvbound.c) and q_T on the grids; r = pi/q_T, the prior's density ratio */
  dpm_oracle_result res = {.logq = lq0};
  int st = dpm_oracle_eval(o, 1.0, 1e-100, G, x, &res);
  res.logq = lqT;
  if (!st) st = dpm_oracle_eval(o, mT, sT, G, x, &res);
  res.logq = lqz;
  if (!st) st = dpm_oracle_eval(o, mT, sT, Gz, z, &res);
  for (size_t j = 0; j < Gz && !st; j++)
    r[j] = exp(-0.5 * z[j] * z[j] - 0.5 * DPM_LOG_2PI - lqz[j]);
  /* the ODE route: in 1-D the probability flow keeps quantiles, so its map from time 0 to T is y = F_T^-1(F_0(x))
   * and the output's density is q_0(x) r(y(x)) (change of variables, dy/dx = q_0(x)/q_T(y)) */
  const double B = 40.0 + L;
  for (size_t j = 0; j < G && !st; j++) {
    const int up = x[j] > 0.0;
    const double F0 = mix_tail(mix, 1.0, 0.0, x[j], up);
    y[j] = F0 > 0.0 ? mix_tail_inv(mix, mT, sT, F0, up, B) : (up ? B : -B);
  }
  res.logq = lqy;
  if (!st) st = dpm_oracle_eval(o, mT, sT, G, y, &res);
  /* the SDE route: the reverse SDE with the exact score from pi is the forward process conditioned on its end
   * having law pi (an h-transform), so its output is q_0(x) h_0(x), h_0(x) = E[r(X_T) | X_0 = x], X_T ~ N(mT x,
   * sT^2); the grid sum of the Gaussian kernel is its integral to rounding for h <= sT/3. gx = d log h_0/dx. */
  if (!st) {
    const double c = DPM_INV_SQRT_2PI / sT * h;
#pragma omp parallel for schedule(static)
    for (size_t j = 0; j < G; j++) {
      double a = 0.0, b = 0.0;
      for (size_t i = 0; i < Gz; i++) {
        const double u = (z[i] - mT * x[j]) / sT, k = c * exp(-0.5 * u * u) * r[i];
        a += k;
        b += k * u;
      }
      hx[j] = a;
      gx[j] = a > 0.0 ? mT / sT * b / a : 0.0;
    }
    double tsd = 0.0, tod = 0.0, tso = 0.0, ms = 0.0, mo = 0.0, def = 0.0, pri = 0.0;
    double mean_s = 0.0, var_s = 0.0, mean_o = 0.0, var_o = 0.0;
    for (size_t j = 0; j < G; j++) {
      const double q0 = exp(lq0[j]), ps = q0 * hx[j];
      const double po = q0 > 0.0 ? exp(lq0[j] - 0.5 * y[j] * y[j] - 0.5 * DPM_LOG_2PI - lqy[j]) : 0.0;
      const double pt = exp(lqT[j]), pi = DPM_INV_SQRT_2PI * exp(-0.5 * x[j] * x[j]);
      tsd += 0.5 * h * fabs(ps - q0);
      tod += 0.5 * h * fabs(po - q0);
      tso += 0.5 * h * fabs(ps - po);
      ms += h * ps;
      mo += h * po;
      def += h * ps * gx[j] * gx[j];
      pri += 0.5 * h * fabs(pi - pt);
      mean_s += h * ps * x[j];
      var_s += h * ps * x[j] * x[j];
      mean_o += h * po * x[j];
      var_o += h * po * x[j] * x[j];
    }
    out->T = T;
    out->tv_prior = pri;
    out->tv_sde_data = tsd;
    out->tv_ode_data = tod;
    out->tv_sde_ode = tso;
    out->defect = def;
    out->mass_sde = ms;
    out->mass_ode = mo;
    out->mean_sde = mean_s / ms;
    out->var_sde = var_s / ms - out->mean_sde * out->mean_sde;
    out->mean_ode = mean_o / mo;
    out->var_ode = var_o / mo - out->mean_ode * out->mean_ode;
  } else
    dpm_error_context("self-consistency (T = %g)", T);
  dpm_oracle_free(o);
  free(buf);
  return st;
}
