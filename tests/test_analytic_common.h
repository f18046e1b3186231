/* test_analytic_common.h — fixtures shared by the Analytic-DPM test programs (test_analytic_gamma.c,
 * test_analytic_variance.c, test_analytic_trajectory.c): toy mixtures, Gamma by quadrature, closed forms for
 * Gaussian data and the one-sample Kolmogorov-Smirnov machinery.
 *
 * Tolerances. EPS = 2.2e-16 is the unit roundoff; a formula evaluated two ways is compared to a small multiple of
 * EPS times its condition (stated at each use). Monte Carlo checks are K_SE = 5 standard errors wide (fixed
 * seeds; a false alarm needs a 5-sigma event, probability 6e-7 per check) plus the quadrature's own error
 * estimate. Kolmogorov-Smirnov checks use Massart's DKW bound P(sup|F_n - F| > e) <= 2 exp(-2 n e^2) at
 * alpha = 1e-3, plus a bias bound where the sampler is not exact (Pinsker, stated there). */
#ifndef DPM_TEST_ANALYTIC_COMMON_H
#define DPM_TEST_ANALYTIC_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sort.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dpmlab.h"
#include "testutil.h"

#define EPS      2.220446049250313e-16
#define K_SE     5.0
#define KS_ALPHA 1e-3

/* ---- data sets and helpers ------------------------------------------------------------------------------------
 */

/* 1-D: 0.4 N(-1.5, 0.5^2) + 0.6 N(1, 0.3^2), two well separated modes of different widths. */
static inline dpm_mixture *mix_bimodal(void)
{
  dpm_mixture *m = dpm_mixture_alloc(2, 1);
  assert_non_null(m);
  const double a = -1.5, b = 1.0, w[2] = {0.4, 0.6};
  assert_int_equal(dpm_mixture_set_mean(m, 0, &a), 0);
  assert_int_equal(dpm_mixture_set_mean(m, 1, &b), 0);
  assert_int_equal(dpm_mixture_set_iso(m, 0, 0.25), 0);
  assert_int_equal(dpm_mixture_set_iso(m, 1, 0.09), 0);
  assert_int_equal(dpm_mixture_set_weights(m, w), 0);
  return m;
}

/* One Gaussian N(mu, diag(var)) in R^d (the shared builder). */
static inline dpm_mixture *mix_gauss(size_t d, const double *mu, const double *var)
{
  return dpm_test_gauss(d, mu, var);
}

/* 2-D: K Gaussians of variance var on a circle of radius R, equal weights. */
static inline dpm_mixture *mix_ring(size_t K, double R, double var)
{
  dpm_mixture *m = dpm_mixture_alloc(K, 2);
  assert_non_null(m);
  for (size_t k = 0; k < K; k++) {
    const double a = 2.0 * M_PI * (double)k / (double)K, mu[2] = {R * cos(a), R * sin(a)};
    assert_int_equal(dpm_mixture_set_mean(m, k, mu), 0);
    assert_int_equal(dpm_mixture_set_iso(m, k, var), 0);
  }
  return m;
}

/* A finite point set (point masses, equal weights; the shared builder). */
static inline dpm_mixture *mix_points(size_t K, size_t d, const double *pts)
{
  return dpm_test_points(K, d, pts, NULL);
}

static inline double *vec(size_t n) { return dpm_test_vec(n); }

/* Gamma_n for n = 1..N by quadrature (relative tolerance 1e-10), with its error estimate. */
static inline void quad_gamma(const dpm_mixture *mix, const dpm_schedule *sch, double *g, double *err)
{
  dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mix, 1e-10);
  assert_non_null(q);
  assert_int_equal(dpm_analytic_gamma_quad_schedule(q, sch, g, err), 0);
  dpm_analytic_gamma_quad_free(q);
}

/* Gamma of one Gaussian N(mu, diag v) at (m, s): E[eps|x]_j = s (x_j - m mu_j)/C_j, C_j = m^2 v_j + s^2, so
 * E|E[eps|x]|^2/d = (1/d) sum_j s^2/C_j. */
static inline double gauss_gamma(size_t d, const double *v, double m, double s)
{
  double acc = 0.0;
  for (size_t j = 0; j < d; j++)
    acc += s * s / (m * m * v[j] + s * s);
  return acc / (double)d;
}

/* Kolmogorov-Smirnov statistic of x[0..n-1] (sorted in place) against the CDF F. */
static inline double ks_stat(double *x, size_t n, double (*F)(double, const void *), const void *ctx)
{
  gsl_sort(x, 1, n);
  double D = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double f = F(x[i], ctx), hi = (double)(i + 1) / (double)n - f, lo = f - (double)i / (double)n;
    if (hi > D) D = hi;
    if (lo > D) D = lo;
  }
  return D;
}

/* CDF of a 1-D mixture of Gaussians. */
static inline double mix_cdf(double x, const void *ctx)
{
  const dpm_mixture *m = ctx;
  double acc = 0.0;
  for (size_t k = 0; k < m->K; k++)
    acc += m->w[k] * gsl_cdf_ugaussian_P((x - m->mu[k]) / sqrt(m->lambda[k]));
  return acc;
}

typedef struct {
  double mean, sd;
} normal_law;

static inline double normal_cdf(double x, const void *ctx)
{
  const normal_law *l = ctx;
  return gsl_cdf_ugaussian_P((x - l->mean) / l->sd);
}

/* Massart's DKW threshold: P(sup|F_n - F| > e) <= alpha for e = sqrt(log(2/alpha)/(2n)). */
static inline double dkw(size_t n, double alpha) { return sqrt(log(2.0 / alpha) / (2.0 * (double)n)); }

#endif
