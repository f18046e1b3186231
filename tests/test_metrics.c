/* test_metrics.c — the sample-quality metrics (lib/metrics.c) against independent routes: the 1-D W1 against a
 * fine-grid quadrature of int |F_n - F| with a derived error bound and its mean against the exact expectation
 * (de Moivre's binomial mean absolute deviation), its n^{-1/2} law as a measured slope, KS against the DKW bound,
 * the closed-form MMD against Monte Carlo and against closed forms, the 1-D energy distance against
 * 2 int (F_n - G_m)^2, sliced W1 against its rotation average, mode weights against binomial errors, and every
 * error path. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sort.h>

#include "dpmlab.h"
#include "testutil.h"

/* gmm1d defaults: w N(-2, 0.5^2) + (1 - w) N(2, 0.5^2), w = 0.3 */
static const double G_W = 0.3, G_MU = 2.0, G_SD = 0.5;

/* The gmm1d CDF and density written out here with erfc (an independent route to dpm_metrics_cdf1). */
static double gmm_cdf(double x)
{
  return G_W * 0.5 * erfc(-(x + G_MU) / (G_SD * M_SQRT2)) + (1 - G_W) * 0.5 * erfc(-(x - G_MU) / (G_SD * M_SQRT2));
}

static double *draw(const dpm_mixture *mix, size_t n, uint64_t seed)
{
  double *x = malloc(n * mix->d * sizeof *x);
  assert_non_null(x);
  gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
  dpm_test_sample_q0(mix, r, n, x, NULL);
  gsl_rng_free(r);
  return x;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* ---- CDF ------------------------------------------------------------------------------------------------ */

static void test_cdf(void **state)
{
  (void)state;
  dpm_mixture *g = dpm_test_mixture("gauss:d=1,sd=1");
  /* Phi(1.959963984540054) = 0.975 (tabulated quantile); Phi(0) = 1/2 */
  assert_close(dpm_metrics_cdf1(g, 1.959963984540054), 0.975, 1e-15, 0);
  assert_close(dpm_metrics_cdf1(g, 0.0), 0.5, 0, 0);
  dpm_mixture_free(g);
  dpm_mixture *m = dpm_test_mixture("gmm1d");
  for (double x = -5; x <= 5; x += 0.37)
    assert_close(dpm_metrics_cdf1(m, x), gmm_cdf(x), 1e-14, 1e-16);
  dpm_mixture_free(m);
  /* point masses: right-continuous steps */
  dpm_mixture *p = dpm_mixture_alloc(2, 1);
  double a = -1, b = 2, w[2] = {0.25, 0.75};
  dpm_mixture_set_mean(p, 0, &a);
  dpm_mixture_set_mean(p, 1, &b);
  dpm_mixture_set_weights(p, w);
  assert_close(dpm_metrics_cdf1(p, -1.0000001), 0.0, 0, 0);
  assert_close(dpm_metrics_cdf1(p, -1.0), 0.25, 0, 0);
  assert_close(dpm_metrics_cdf1(p, 1.9999), 0.25, 0, 0);
  assert_close(dpm_metrics_cdf1(p, 2.0), 1.0, 0, 0);
  dpm_mixture_free(p);
}

/* ---- W1 --------------------------------------------------------------------------------------------------- */

/* int |F_n - F| by the composite trapezoid rule on cells of width <= h between consecutive sample points (F_n is
 * constant on each), plus both tails on [L, x_(1)] and [x_(n), R]. Error bound: on a cell where c - F keeps its
 * sign the trapezoid error is <= h^3 max|f'|/12; a cell holding the crossing (at most one per sample interval, n+1
 * in all) has |c - F| Lipschitz with constant max f, error <= h^2 max f/4; truncating at L, R costs the tail
 * integrals, below 1e-30 for 12 standard deviations. */
static double w1_grid(size_t n, const double *xs, double h, double L, double R, double *bound)
{
  const double fmax = 1.0 / (G_SD * sqrt(2 * M_PI));               /* >= max f of the mixture */
  const double fpmax = exp(-0.5) / (G_SD * G_SD * sqrt(2 * M_PI)); /* >= max |f'| */
  double total = 0.0, err = 0.0;
  for (size_t i = 0; i <= n; i++) {
    double a = i == 0 ? L : xs[i - 1], b = i == n ? R : xs[i], c = (double)i / (double)n;
    if (!(b > a)) continue;
    size_t cells = (size_t)ceil((b - a) / h);
    double hh = (b - a) / (double)cells, s = 0.5 * (fabs(c - gmm_cdf(a)) + fabs(c - gmm_cdf(b)));
    for (size_t j = 1; j < cells; j++)
      s += fabs(c - gmm_cdf(a + (double)j * hh));
    total += s * hh;
    err += (b - a) * hh * hh * fpmax / 12 + hh * hh * fmax / 4;
  }
  *bound = err + 1e-30;
  return total;
}

static void test_w1_quadrature(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  size_t ns[2] = {7, 60};
  for (int t = 0; t < 2; t++) {
    size_t n = ns[t];
    double *x = draw(mix, n, 11 + (uint64_t)t), w1, bound;
    assert_int_equal(dpm_metrics_w1_exact(mix, n, x, &w1), DPM_SUCCESS);
    double *xs = malloc(n * sizeof *xs);
    memcpy(xs, x, n * sizeof *xs);
    qsort(xs, n, sizeof *xs, cmp_double);
    double L = fmin(xs[0], -G_MU - 12 * G_SD), R = fmax(xs[n - 1], G_MU + 12 * G_SD);
    double ref = w1_grid(n, xs, 2e-4, L, R, &bound);
    assert_true(bound < 1e-6);
    assert_close(w1, ref, 0, bound + 64 * DBL_EPSILON * (R - L));
    free(xs);
    free(x);
  }
  dpm_mixture_free(mix);
}

/* De Moivre: E|B - n p| = 2 k0 C(n, k0) p^k0 (1 - p)^(n - k0 + 1), k0 = floor(n p) + 1, for B ~ Bin(n, p). */
static double binom_mad(size_t n, double p)
{
  if (!(p > 0) || !(p < 1)) return 0.0;
  double k0 = floor((double)n * p) + 1, dn = (double)n;
  if (k0 > dn) return 0.0;
  double lc = lgamma(dn + 1) - lgamma(k0 + 1) - lgamma(dn - k0 + 1);
  return 2 * k0 * exp(lc + k0 * log(p) + (dn - k0 + 1) * log1p(-p));
}

/* E W1 = int E|F_n(x) - F(x)| dx = int MAD(n, F(x))/n dx (trapezoid on a fine grid; the integrand is continuous).
 */
static double w1_expected(size_t n)
{
  const double L = -G_MU - 12 * G_SD, R = G_MU + 12 * G_SD;
  const size_t cells = 40000;
  double h = (R - L) / (double)cells, s = 0.0;
  for (size_t j = 0; j <= cells; j++) {
    double v = binom_mad(n, gmm_cdf(L + (double)j * h)) / (double)n;
    s += (j == 0 || j == cells) ? 0.5 * v : v;
  }
  return s * h;
}

static void test_w1_rate(void **state)
{
  (void)state;
  /* de Moivre's formula against the direct binomial sum */
  for (double p = 0.05; p < 1; p += 0.1) {
    double direct = 0.0;
    for (unsigned k = 0; k <= 30; k++)
      direct += gsl_ran_binomial_pdf(k, p, 30) * fabs(k - 30 * p);
    assert_close(binom_mad(30, p), direct, 1e-12, 1e-15);
  }
  /* Measured mean W1 over R repetitions at each n against the exact expectation (4 se), then the slope of
   * log E W1 against log n: the measured slope (least squares over the four sizes) must agree with the exact
   * one within 4 of its standard errors (propagated from each mean's se), and the exact slope must be -1/2 up to
   * the O(n^{-1/2}) correction of E sqrt(n) W1 -> sqrt(2/pi) int sqrt(F(1-F)), which is below 0.02 here. */
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  enum { NS = 4, R = 300 };
  const size_t ns[NS] = {100, 400, 1600, 6400};
  double lx[NS], ly[NS], lse[NS], ley[NS];
  gsl_rng *r = dpm_rng_stream_alloc(21, 0);
  double *x = malloc(ns[NS - 1] * sizeof *x), v[R];
  for (int t = 0; t < NS; t++) {
    for (int rep = 0; rep < R; rep++) {
      dpm_test_sample_q0(mix, r, ns[t], x, NULL);
      assert_int_equal(dpm_metrics_w1_exact(mix, ns[t], x, &v[rep]), DPM_SUCCESS);
    }
    double mean, se, ex = w1_expected(ns[t]);
    dpm_test_mean_se(v, R, &mean, &se);
    assert_within_se(mean, se, ex, 4);
    lx[t] = log((double)ns[t]);
    ly[t] = log(mean);
    lse[t] = se / mean; /* se of log mean (delta method) */
    ley[t] = log(ex);
  }
  double mx = 0, my = 0, mey = 0;
  for (int t = 0; t < NS; t++) {
    mx += lx[t] / NS;
    my += ly[t] / NS;
    mey += ley[t] / NS;
  }
  double sxx = 0, sxy = 0, sey = 0, var = 0;
  for (int t = 0; t < NS; t++)
    sxx += (lx[t] - mx) * (lx[t] - mx);
  for (int t = 0; t < NS; t++) {
    sxy += (lx[t] - mx) * (ly[t] - my);
    sey += (lx[t] - mx) * (ley[t] - mey);
    var += (lx[t] - mx) * (lx[t] - mx) * lse[t] * lse[t] / (sxx * sxx);
  }
  double slope = sxy / sxx, slope_exact = sey / sxx;
  assert_within_se(slope, sqrt(var), slope_exact, 4);
  assert_close(slope_exact, -0.5, 0, 0.02);
  free(x);
  gsl_rng_free(r);
  dpm_mixture_free(mix);
}

static void test_w1_identities(void **state)
{
  (void)state;
  /* a point set and the same points as a mixture of equal point masses: W1 = 0 up to rounding (n eps range) */
  dpm_mixture *g = dpm_test_mixture("gmm1d");
  const size_t n = 500;
  double *x = draw(g, n, 5);
  x[7] = x[3]; /* a tie */
  dpm_mixture *p = dpm_mixture_alloc(n, 1);
  double range = 0;
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(dpm_mixture_set_mean(p, i, &x[i]), DPM_SUCCESS);
    range = fmax(range, fabs(x[i]));
  }
  double w1, ks;
  assert_int_equal(dpm_metrics_w1_exact(p, n, x, &w1), DPM_SUCCESS);
  assert_close(w1, 0.0, 0, 8 * (double)n * DBL_EPSILON * range);
  assert_int_equal(dpm_metrics_ks_exact(p, n, x, &ks), DPM_SUCCESS);
  assert_close(ks, 0.0, 0, 8 * (double)n * DBL_EPSILON);
  /* half the points: W1 between the empirical laws = (1/m) sum |sorted differences| (1-D quantile coupling) */
  double *xs = malloc(n * sizeof *xs);
  memcpy(xs, x, n * sizeof *xs);
  qsort(xs, n, sizeof *xs, cmp_double);
  size_t m = n / 2;
  double *y = malloc(m * sizeof *y), ref = 0;
  for (size_t i = 0; i < m; i++)
    y[i] = xs[2 * i + 1] + 0.3;
  for (size_t i = 0; i < m; i++)
    ref += 0.5 * (fabs(y[i] - xs[2 * i]) + fabs(y[i] - xs[2 * i + 1]));
  assert_int_equal(dpm_metrics_w1_exact(p, m, y, &w1), DPM_SUCCESS);
  assert_close(w1, ref / (double)m, 1e-12, 8 * (double)n * DBL_EPSILON * range);
  free(y);
  free(xs);
  dpm_mixture_free(p);
  free(x);
  dpm_mixture_free(g);

  /* a N(0,1) sample shifted by c, |c| large: the laws are stochastically ordered (F >= F_n up to Phi(-|c|+6)),
   * so W1 = |c + mean x| exactly, ~ |c| within 4/sqrt(n) */
  dpm_mixture *s = dpm_test_mixture("gauss:d=1,sd=1");
  const size_t n2 = 2000;
  double *z = draw(s, n2, 9);
  for (int sign = -1; sign <= 1; sign += 2) {
    double c = 40.0 * sign, mean = 0;
    for (size_t i = 0; i < n2; i++) {
      z[i] += c;
      mean += z[i] / (double)n2;
    }
    assert_int_equal(dpm_metrics_w1_exact(s, n2, z, &w1), DPM_SUCCESS);
    assert_close(w1, fabs(mean), 1e-12, 0);
    assert_within_se(w1, 1.0 / sqrt((double)n2), fabs(c), 4);
    for (size_t i = 0; i < n2; i++)
      z[i] -= c;
  }
  free(z);
  dpm_mixture_free(s);
}

/* ---- KS ------------------------------------------------------------------------------------------------- */

static void test_ks(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  const size_t n = 3000;
  const double alpha = 1e-3,
               eps = sqrt(log(2 / alpha) / (2.0 * (double)n)); /* DKW-Massart: P(KS > eps) <= alpha */
  double *x = draw(mix, n, 31), ks;
  assert_int_equal(dpm_metrics_ks_exact(mix, n, x, &ks), DPM_SUCCESS);
  assert_true(ks < eps);
  /* brute force: max over sorted points of both one-sided gaps, with the erfc CDF */
  double *xs = malloc(n * sizeof *xs), bf = 0;
  memcpy(xs, x, n * sizeof *xs);
  qsort(xs, n, sizeof *xs, cmp_double);
  for (size_t i = 0; i < n; i++) {
    double F = gmm_cdf(xs[i]);
    bf = fmax(bf, fmax((double)(i + 1) / (double)n - F, F - (double)i / (double)n));
  }
  assert_close(ks, bf, 1e-12, 1e-15);
  /* shifted by c: KS >= sup|F(x - c) - F(x)| - KS(true sample) > sup - eps (triangle inequality) */
  const double c = 1.0;
  double sup = 0;
  for (double t = -6; t <= 6; t += 1e-3)
    sup = fmax(sup, fabs(gmm_cdf(t - c) - gmm_cdf(t)));
  for (size_t i = 0; i < n; i++)
    x[i] += c;
  assert_int_equal(dpm_metrics_ks_exact(mix, n, x, &ks), DPM_SUCCESS);
  assert_true(ks > sup - eps);
  assert_true(ks > 5 * eps);
  free(xs);
  free(x);
  dpm_mixture_free(mix);
}

/* ---- MMD -------------------------------------------------------------------------------------------------- */

static double kern(size_t d, const double *a, const double *b, double h)
{
  double r2 = 0;
  for (size_t j = 0; j < d; j++)
    r2 += (a[j] - b[j]) * (a[j] - b[j]);
  return exp(-0.5 * r2 / (h * h));
}

/* d = 2: a full, an isotropic, a diagonal and a point-mass component, unequal weights. */
static dpm_mixture *mix_2d(void)
{
  dpm_mixture *mix = dpm_mixture_alloc(4, 2);
  const double mu[4][2] = {{1, 0}, {-1, 1}, {0.5, 2}, {0, -1.5}};
  for (size_t k = 0; k < 4; k++)
    assert_int_equal(dpm_mixture_set_mean(mix, k, mu[k]), DPM_SUCCESS);
  const double cov[4] = {1.0, 0.6, 0.6, 0.8}, var[2] = {0.1, 0.7}, w[4] = {0.4, 0.25, 0.15, 0.2};
  assert_int_equal(dpm_mixture_set_full(mix, 0, cov), DPM_SUCCESS);
  assert_int_equal(dpm_mixture_set_iso(mix, 1, 0.3), DPM_SUCCESS);
  assert_int_equal(dpm_mixture_set_diag(mix, 2, var), DPM_SUCCESS);
  assert_int_equal(dpm_mixture_set_weights(mix, w), DPM_SUCCESS);
  return mix;
}

static void test_mmd_closed_forms(void **state)
{
  (void)state;
  /* 1-D N(0, v), one sample point at 0: E k(0, Y) = h/sqrt(v + h^2), E k(Y, Y') = h/sqrt(2v + h^2) */
  dpm_mixture *g = dpm_mixture_alloc(1, 1);
  double zero = 0, v = 0.7, h = 0.9, m2;
  dpm_mixture_set_mean(g, 0, &zero);
  dpm_mixture_set_iso(g, 0, v);
  assert_int_equal(dpm_metrics_mmd2_exact(g, h, 1, &zero, 0, &m2), DPM_SUCCESS);
  assert_close(m2, 1 - 2 * h / sqrt(v + h * h) + h / sqrt(2 * v + h * h), 1e-14, 1e-15);
  dpm_mixture_free(g);

  /* a point set with equal weights is the empirical law of its atoms: the closed form equals the two-sample
   * V-statistic against the atoms, and that equals the brute-force double sum */
  dpm_mixture *ring = dpm_test_mixture("sample:of=ring8,n=40,seed=3");
  dpm_mixture *src = dpm_test_mixture("ring8");
  const size_t n = 30;
  double *x = draw(src, n, 4), a, b;
  assert_int_equal(dpm_metrics_mmd2_exact(ring, 1.5, n, x, 0, &a), DPM_SUCCESS);
  assert_int_equal(dpm_metrics_mmd2(2, 1.5, n, x, ring->K, ring->mu, &b), DPM_SUCCESS);
  double sxx = 0, sxy = 0, syy = 0, K = (double)ring->K;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++)
      sxx += kern(2, x + 2 * i, x + 2 * j, 1.5);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < ring->K; j++)
      sxy += kern(2, x + 2 * i, ring->mu + 2 * j, 1.5);
  for (size_t i = 0; i < ring->K; i++)
    for (size_t j = 0; j < ring->K; j++)
      syy += kern(2, ring->mu + 2 * i, ring->mu + 2 * j, 1.5);
  double bf = sxx / (double)(n * n) + syy / (K * K) - 2 * sxy / ((double)n * K);
  assert_close(a, bf, 1e-12, 1e-14);
  assert_close(b, bf, 1e-12, 1e-14);
  /* the two-sample statistic of identical samples is 0; the U- and V-statistics differ by the diagonal */
  assert_int_equal(dpm_metrics_mmd2(2, 1.5, n, x, n, x, &b), DPM_SUCCESS);
  assert_close(b, 0, 0, 1e-14);
  double u;
  assert_int_equal(dpm_metrics_mmd2_exact(ring, 1.5, n, x, 1, &u), DPM_SUCCESS);
  double dn = (double)n, vxx = sxx / (dn * dn), uxx = (sxx - dn) / (dn * (dn - 1));
  assert_close(a - u, vxx - uxx, 1e-12, 1e-14);
  free(x);
  dpm_mixture_free(src);
  dpm_mixture_free(ring);
}

static void test_mmd_rotation(void **state)
{
  (void)state;
  /* MMD is invariant under a rotation R of both the sample and the mixture: a diagonal mixture against the same
   * mixture with full covariances R diag R^T and means R mu (the dense Cholesky path against the diagonal one) */
  const double th = 0.7, c = cos(th), s = sin(th);
  const double mu[3][2] = {{1, 0}, {-1, 1}, {0.5, -2}}, var[3][2] = {{1.0, 0.2}, {0.3, 0.3}, {0.05, 2.0}};
  const double w[3] = {0.5, 0.3, 0.2};
  dpm_mixture *a = dpm_mixture_alloc(3, 2), *b = dpm_mixture_alloc(3, 2);
  for (size_t k = 0; k < 3; k++) {
    double rm[2] = {c * mu[k][0] - s * mu[k][1], s * mu[k][0] + c * mu[k][1]};
    double cov[4] = {c * c * var[k][0] + s * s * var[k][1], c * s * (var[k][0] - var[k][1]),
                     c * s * (var[k][0] - var[k][1]), s * s * var[k][0] + c * c * var[k][1]};
    assert_int_equal(dpm_mixture_set_mean(a, k, mu[k]), DPM_SUCCESS);
    assert_int_equal(dpm_mixture_set_diag(a, k, var[k]), DPM_SUCCESS);
    assert_int_equal(dpm_mixture_set_mean(b, k, rm), DPM_SUCCESS);
    assert_int_equal(dpm_mixture_set_full(b, k, cov), DPM_SUCCESS);
  }
  assert_int_equal(dpm_mixture_set_weights(a, w), DPM_SUCCESS);
  assert_int_equal(dpm_mixture_set_weights(b, w), DPM_SUCCESS);
  const size_t n = 50;
  double *x = draw(a, n, 33), *rx = malloc(2 * n * sizeof *rx), ma, mb;
  for (size_t i = 0; i < n; i++) {
    x[2 * i] += 0.4; /* not a sample of a, so the terms do not cancel */
    rx[2 * i] = c * x[2 * i] - s * x[2 * i + 1];
    rx[2 * i + 1] = s * x[2 * i] + c * x[2 * i + 1];
  }
  for (int unb = 0; unb <= 1; unb++) {
    assert_int_equal(dpm_metrics_mmd2_exact(a, 0.7, n, x, unb, &ma), DPM_SUCCESS);
    assert_int_equal(dpm_metrics_mmd2_exact(b, 0.7, n, rx, unb, &mb), DPM_SUCCESS);
    assert_close(mb, ma, 1e-12, 1e-14);
  }
  assert_true(ma > 1e-3); /* a non-trivial value (about 0.009) */
  free(rx);
  free(x);
  dpm_mixture_free(a);
  dpm_mixture_free(b);
}

static void test_mmd_monte_carlo(void **state)
{
  (void)state;
  /* mmd2_exact - V_xx = E k(Y, Y') - 2 E_Y (1/n) sum_i k(x_i, Y): Monte Carlo with g_j = k(Y_j, Y'_j) -
   * (2/n) sum_i k(x_i, Y_j) over independent pairs, within 4 standard errors; for ring8 (isotropic) and for a
   * mixture with a full, diagonal, isotropic and point-mass component (the dense Cholesky path). */
  dpm_mixture *mixes[2] = {dpm_test_mixture("ring8"), mix_2d()};
  const double hs[2] = {1.0, 0.6};
  for (int t = 0; t < 2; t++) {
    dpm_mixture *mix = mixes[t];
    const size_t n = 100, M = 20000;
    double *x = draw(mix, n, 40 + (uint64_t)t), *y = draw(mix, 2 * M, 50 + (uint64_t)t), h = hs[t];
    /* the sample itself from another distribution (a shifted copy), so the terms do not cancel */
    for (size_t i = 0; i < n; i++)
      x[2 * i] += 0.7;
    double *g = malloc(M * sizeof *g), vxx = 0, m2;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++)
        vxx += kern(2, x + 2 * i, x + 2 * j, h) / (double)(n * n);
    for (size_t j = 0; j < M; j++) {
      double s = 0;
      for (size_t i = 0; i < n; i++)
        s += kern(2, x + 2 * i, y + 2 * j, h);
      g[j] = kern(2, y + 2 * j, y + 2 * (M + j), h) - 2 * s / (double)n;
    }
    double mean, se;
    dpm_test_mean_se(g, M, &mean, &se);
    assert_int_equal(dpm_metrics_mmd2_exact(mix, h, n, x, 0, &m2), DPM_SUCCESS);
    assert_within_se(m2 - vxx, se, mean, 4);
    assert_true(m2 > 0);
    free(g);
    free(y);
    free(x);
    dpm_mixture_free(mix);
  }
}

static void test_mmd_unbiased_null(void **state)
{
  (void)state;
  /* under the null the U-statistic has mean exactly 0: repeat over R samples, within 4 se of 0 */
  dpm_mixture *mix = mix_2d();
  enum { R = 300 };
  const size_t n = 60;
  double v[R], vb[R];
  gsl_rng *r = dpm_rng_stream_alloc(77, 0);
  double *x = malloc(2 * n * sizeof *x);
  for (int rep = 0; rep < R; rep++) {
    dpm_test_sample_q0(mix, r, n, x, NULL);
    assert_int_equal(dpm_metrics_mmd2_exact(mix, 0.8, n, x, 1, &v[rep]), DPM_SUCCESS);
    assert_int_equal(dpm_metrics_mmd2_exact(mix, 0.8, n, x, 0, &vb[rep]), DPM_SUCCESS);
    assert_true(vb[rep] >= 0);
  }
  double mean, se;
  dpm_test_mean_se(v, R, &mean, &se);
  assert_within_se(mean, se, 0.0, 4);
  /* the V-statistic's bias is (1 - E k(Y, Y'))/n > 0: its mean is far from 0 in the same units */
  dpm_test_mean_se(vb, R, &mean, &se);
  assert_true(mean > 4 * se);
  free(x);
  gsl_rng_free(r);
  dpm_mixture_free(mix);
}

/* ---- energy distance and sliced W1 -----------------------------------------------------------------------------
 */

static void test_energy(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  const size_t n = 300, m = 200;
  double *x = draw(mix, n, 61), *y = draw(mix, m, 62), e;
  for (size_t j = 0; j < m; j++)
    y[j] += 0.2;
  /* 1-D: energy distance = 2 int (F_n - G_m)^2 dx (Szekely), exactly over the merged sorted points */
  assert_int_equal(dpm_metrics_energy(1, n, x, m, y, &e), DPM_SUCCESS);
  double *xs = malloc(n * sizeof *xs), *ys = malloc(m * sizeof *ys);
  memcpy(xs, x, n * sizeof *xs);
  memcpy(ys, y, m * sizeof *ys);
  qsort(xs, n, sizeof *xs, cmp_double);
  qsort(ys, m, sizeof *ys, cmp_double);
  size_t i = 0, j = 0;
  double prev = fmin(xs[0], ys[0]), integ = 0;
  while (i < n || j < m) {
    double nxt = (j >= m || (i < n && xs[i] <= ys[j])) ? xs[i] : ys[j];
    double dF = (double)i / (double)n - (double)j / (double)m;
    integ += dF * dF * (nxt - prev);
    prev = nxt;
    if (j >= m || (i < n && xs[i] <= ys[j]))
      i++;
    else
      j++;
  }
  assert_close(e, 2 * integ, 1e-10, 1e-14);
  assert_true(e > 0);
  /* identical samples: exactly 0; different samples in 2-D, several seeds: >= 0 */
  assert_int_equal(dpm_metrics_energy(1, n, x, n, x, &e), DPM_SUCCESS);
  assert_close(e, 0, 0, 0);
  dpm_mixture *ring = dpm_test_mixture("ring8");
  for (uint64_t s = 0; s < 5; s++) {
    double *a = draw(ring, 50, 100 + s), *b = draw(ring, 70, 200 + s);
    assert_int_equal(dpm_metrics_energy(2, 50, a, 70, b, &e), DPM_SUCCESS);
    assert_true(e >= 0);
    free(a);
    free(b);
  }
  dpm_mixture_free(ring);
  free(xs);
  free(ys);
  free(x);
  free(y);
  dpm_mixture_free(mix);
}

static void test_sliced_w1(void **state)
{
  (void)state;
  dpm_mixture *ring = dpm_test_mixture("ring8");
  const size_t n = 200;
  double *x = draw(ring, n, 71), *y = malloc(2 * n * sizeof *y), sw;
  gsl_rng *r = dpm_rng_stream_alloc(72, 0);
  /* identical samples: 0 exactly */
  assert_int_equal(dpm_metrics_sliced_w1(2, n, x, x, 16, r, &sw), DPM_SUCCESS);
  assert_close(sw, 0, 0, 0);
  /* a shift by c e_1 keeps the order of every projection: one projection gives |c u_1| exactly, whose mean over
   * uniform directions is 2|c|/pi; R single-projection calls within 4 se */
  const double c = 1.3;
  for (size_t i = 0; i < n; i++) {
    y[2 * i] = x[2 * i] + c;
    y[2 * i + 1] = x[2 * i + 1];
  }
  enum { R = 2000 };
  double v[R];
  for (int k = 0; k < R; k++)
    assert_int_equal(dpm_metrics_sliced_w1(2, n, x, y, 1, r, &v[k]), DPM_SUCCESS);
  double mean, se;
  dpm_test_mean_se(v, R, &mean, &se);
  assert_within_se(mean, se, 2 * c / M_PI, 4);
  /* d = 1: the only directions are +-1, so sliced W1 is the 1-D W1 of the sorted samples */
  double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), ref = 0;
  for (size_t i = 0; i < n; i++) {
    a[i] = x[2 * i];
    b[i] = x[2 * i + 1] * 0.5;
  }
  assert_int_equal(dpm_metrics_sliced_w1(1, n, a, b, 3, r, &sw), DPM_SUCCESS);
  qsort(a, n, sizeof *a, cmp_double);
  qsort(b, n, sizeof *b, cmp_double);
  for (size_t i = 0; i < n; i++)
    ref += fabs(a[i] - b[i]) / (double)n;
  assert_close(sw, ref, 1e-13, 0);
  free(a);
  free(b);
  gsl_rng_free(r);
  free(y);
  free(x);
  dpm_mixture_free(ring);
}

/* ---- mode weights ------------------------------------------------------------------------------------------ */

static void test_mode_weights(void **state)
{
  (void)state;
  /* ring8 (r = 4, sd = 0.2): neighbouring means are 2 r sin(pi/8) = 3.06 = 15 sd apart, so a draw lands nearer
   * another mode with probability < 1e-12 and the mode counts are multinomial(n, w): each within 4 binomial se.
   * gmm1d: the decision boundary sits at x = -0.05, 3.9 sd from either mean, so the net misassignment is
   * < 3e-5 in either direction, below 1/50 of the binomial se at n = 40000. */
  const char *specs[2] = {"ring8", "gmm1d"};
  for (int t = 0; t < 2; t++) {
    dpm_mixture *mix = dpm_test_mixture(specs[t]);
    const size_t n = 40000;
    double *x = draw(mix, n, 81 + (uint64_t)t), *w = malloc(mix->K * sizeof *w), tot = 0;
    assert_int_equal(dpm_metrics_mode_weights(mix, n, x, w), DPM_SUCCESS);
    for (size_t k = 0; k < mix->K; k++) {
      double p = mix->w[k];
      assert_within_se(w[k], sqrt(p * (1 - p) / (double)n), p, 4);
      tot += w[k];
    }
    assert_close(tot, 1, 1e-12, 0);
    free(w);
    free(x);
    dpm_mixture_free(mix);
  }
  /* a point set: each sample goes to its nearest atom (brute force) */
  dpm_mixture *ps = dpm_test_mixture("sample:of=ring8,n=30,seed=1");
  dpm_mixture *src = dpm_test_mixture("ring8");
  const size_t n = 500;
  double *x = draw(src, n, 90), *w = malloc(ps->K * sizeof *w), *ref = calloc(ps->K, sizeof *ref);
  for (size_t i = 0; i < n; i++) {
    size_t best = 0;
    double bd = HUGE_VAL;
    for (size_t k = 0; k < ps->K; k++) {
      double dx = x[2 * i] - ps->mu[2 * k], dy = x[2 * i + 1] - ps->mu[2 * k + 1];
      if (dx * dx + dy * dy < bd) {
        bd = dx * dx + dy * dy;
        best = k;
      }
    }
    ref[best] += 1.0 / (double)n;
  }
  assert_int_equal(dpm_metrics_mode_weights(ps, n, x, w), DPM_SUCCESS);
  for (size_t k = 0; k < ps->K; k++)
    assert_close(w[k], ref[k], 1e-12, 0);
  free(ref);
  free(w);
  free(x);
  dpm_mixture_free(src);
  dpm_mixture_free(ps);
}

/* ---- errors ---------------------------------------------------------------------------------------------------
 */

static void test_errors(void **state)
{
  (void)state;
  dpm_mixture *g1 = dpm_test_mixture("gmm1d"), *g2 = dpm_test_mixture("ring8");
  double x[4] = {0.1, 0.2, 0.3, 0.4}, bad[2] = {0.0, NAN}, v, w[8];
  gsl_rng *r = dpm_rng_stream_alloc(1, 0);
  assert_raises(dpm_metrics_w1_exact(g2, 2, x, &v), GSL_EBADLEN, "2-dimensional");
  assert_raises(dpm_metrics_ks_exact(g2, 2, x, &v), GSL_EBADLEN, NULL);
  assert_true(isnan(dpm_metrics_cdf1(g2, 0.0)));
  assert_raises(dpm_metrics_w1_exact(NULL, 2, x, &v), GSL_EINVAL, NULL);
  assert_raises(dpm_metrics_w1_exact(g1, 0, x, &v), GSL_EINVAL, NULL);
  assert_raises(dpm_metrics_w1_exact(g1, 2, bad, &v), GSL_EBADFUNC, "point 1");
  assert_raises(dpm_metrics_ks_exact(g1, 2, bad, &v), GSL_EBADFUNC, NULL);
  assert_raises(dpm_metrics_w1_exact(g1, 2, x, NULL), GSL_EINVAL, NULL);
  assert_raises(dpm_metrics_mmd2_exact(g1, 0.0, 2, x, 0, &v), GSL_EDOM, NULL);
  assert_raises(dpm_metrics_mmd2_exact(g1, NAN, 2, x, 0, &v), GSL_EDOM, NULL);
  assert_raises(dpm_metrics_mmd2_exact(g1, 1.0, 1, x, 1, &v), GSL_EINVAL, NULL);
  assert_raises(dpm_metrics_mmd2_exact(g1, 1.0, 2, x, 2, &v), GSL_EINVAL, NULL);
  assert_raises(dpm_metrics_mmd2_exact(g1, 1.0, 2, bad, 0, &v), GSL_EBADFUNC, NULL);
  assert_raises(dpm_metrics_mmd2_exact(NULL, 1.0, 2, x, 0, &v), GSL_EINVAL, NULL);
  assert_raises(dpm_metrics_energy(0, 2, x, 2, x, &v), GSL_EBADLEN, NULL);
  assert_raises(dpm_metrics_energy(1, 0, x, 2, x, &v), GSL_EINVAL, NULL);
  assert_raises(dpm_metrics_energy(1, 2, x, 2, bad, &v), GSL_EBADFUNC, NULL);
  assert_raises(dpm_metrics_mmd2(1, -1.0, 2, x, 2, x, &v), GSL_EDOM, NULL);
  assert_raises(dpm_metrics_mmd2(1, 1.0, 2, x, 0, x, &v), GSL_EINVAL, NULL);
  assert_raises(dpm_metrics_sliced_w1(1, 2, x, x, 0, r, &v), GSL_EINVAL, NULL);
  assert_raises(dpm_metrics_sliced_w1(1, 2, x, x, 1, NULL, &v), GSL_EINVAL, NULL);
  assert_raises(dpm_metrics_sliced_w1(0, 2, x, x, 1, r, &v), GSL_EBADLEN, NULL);
  assert_raises(dpm_metrics_sliced_w1(1, 2, x, bad, 1, r, &v), GSL_EBADFUNC, NULL);
  assert_raises(dpm_metrics_mode_weights(g1, 2, bad, w), GSL_EBADFUNC, NULL);
  assert_raises(dpm_metrics_mode_weights(NULL, 2, x, w), GSL_EINVAL, NULL);
  assert_raises(dpm_metrics_mode_weights(g1, 0, x, w), GSL_EINVAL, NULL);
  assert_raises(dpm_metrics_mode_weights(g1, 2, x, NULL), GSL_EINVAL, NULL);
  gsl_rng_free(r);
  dpm_mixture_free(g1);
  dpm_mixture_free(g2);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cdf),
      cmocka_unit_test(test_w1_quadrature),
      cmocka_unit_test(test_w1_rate),
      cmocka_unit_test(test_w1_identities),
      cmocka_unit_test(test_ks),
      cmocka_unit_test(test_mmd_closed_forms),
      cmocka_unit_test(test_mmd_rotation),
      cmocka_unit_test(test_mmd_monte_carlo),
      cmocka_unit_test(test_mmd_unbiased_null),
      cmocka_unit_test(test_energy),
      cmocka_unit_test(test_sliced_w1),
      cmocka_unit_test(test_mode_weights),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
