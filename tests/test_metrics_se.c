/* test_metrics_se.c — metrics with standard errors (dpm_metrics.h, metrics_se.c) against closed forms: the mean
 * log-density of Gaussian draws is -H within 4 SE; the unbiased MMD^2 and energy distance between two Gaussians
 * match their Gaussian-integral values within 4 SE, are within 4 SE of 0 for one law, and their U-statistic SE
 * agrees with the spread over replications; sliced W2 of a shifted sample is |c|/sqrt(2) up to the slicing error;
 * nearest distances and the memorisation rate by hand. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "dpmlab.h"
#include "testutil.h"

static double *draws(const dpm_mixture *mix, size_t n, uint64_t seed, uint64_t stream)
{
  double *x = malloc(n * mix->d * sizeof *x);
  dpm_mixture_sample_workspace *w = dpm_mixture_sample_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(seed, stream);
  assert_int_equal(dpm_mixture_sample(mix, w, r, n, x, NULL), 0);
  gsl_rng_free(r);
  dpm_mixture_sample_free(w);
  return x;
}

/* N(0, 0.5^2 I) in R^2: E log q = -H = -(d/2) log(2 pi e v) */
static void test_logq_mean(void **state)
{
  (void)state;
  const double mu[2] = {0.3, -1}, var[2] = {0.25, 0.25};
  dpm_mixture *g = dpm_test_gauss(2, mu, var);
  const size_t n = 5000;
  double *x = draws(g, n, 1, 0), m, se;
  assert_int_equal(dpm_metrics_logq_mean(g, n, x, &m, &se), 0);
  assert_within_se(m, se, -log(2 * M_PI * M_E * 0.25), 4.0);
  assert_close(se, sqrt(1.0 / (double)n), 0.1, 0); /* Var log q = Var(chi2_d)/4 = d/2 = 1 for a Gaussian */
  assert_int_equal(dpm_metrics_logq_mean(g, 1, mu, &m, &se), 0);
  assert_close(m, -log(2 * M_PI * 0.25), 1e-14, 0);
  assert_true(isnan(se));
  assert_raises(dpm_metrics_logq_mean(dpm_test_mixture("sample:of=gmm1d,n=3"), n, x, &m, &se), GSL_EDOM,
                "point mass");
  free(x);
  dpm_mixture_free(g);
}

/* X ~ N(0, 1), Y ~ N(delta, 1) in 1-D: Z = X - Y ~ N(-delta, 2), X - X' ~ N(0, 2);
 * E exp(-Z^2 / 2h^2) = h / sqrt(h^2 + tau^2) exp(-mu^2 / (2 (h^2 + tau^2))), E|Z| = tau sqrt(2/pi)
 * e^{-mu^2/2tau^2}
 * + mu (1 - 2 Phi(-mu/tau)). */
static void test_u_statistics(void **state)
{
  (void)state;
  const double delta = 0.5, h = 1.0, t2 = 2.0, tau = sqrt(2.0), z = 0.0, one = 1.0, dm = 0.5;
  dpm_mixture *a = dpm_test_gauss(1, &z, &one), *b = dpm_test_gauss(1, &dm, &one);
  const double mmd_exact = 2.0 * h / sqrt(h * h + t2) * (1.0 - exp(-delta * delta / (2.0 * (h * h + t2))));
  const double eabs = tau * sqrt(2.0 / M_PI) * exp(-delta * delta / (2.0 * t2)) +
                      delta * (1.0 - 2.0 * gsl_cdf_ugaussian_P(-delta / tau));
  const double en_exact = 2.0 * eabs - 2.0 * tau * sqrt(2.0 / M_PI);
  const size_t n = 1500;
  double *x = draws(a, n, 2, 0), *y = draws(b, n, 2, 1), *y0 = draws(a, n, 2, 2), v, se;
  assert_int_equal(dpm_metrics_mmd2_u(1, h, n, x, y, &v, &se), 0);
  assert_within_se(v, se, mmd_exact, 4.0);
  assert_int_equal(dpm_metrics_energy_u(1, n, x, y, &v, &se), 0);
  assert_within_se(v, se, en_exact, 4.0);
  assert_int_equal(dpm_metrics_mmd2_u(1, h, n, x, y0, &v, &se), 0); /* same law: mean 0 */
  assert_within_se(v, se, 0.0, 4.0);
  assert_int_equal(dpm_metrics_energy_u(1, n, x, y0, &v, &se), 0);
  assert_within_se(v, se, 0.0, 4.0);
  double hb;
  assert_int_equal(dpm_metrics_median_bandwidth(1, n, x, n, y0, &hb), 0);
  /* median of |X - X'| for X - X' ~ N(0, 2): sqrt(2) Phi^{-1}(3/4) = 0.9539; 1000 points: ~3 % */
  assert_close(hb, sqrt(2.0) * gsl_cdf_ugaussian_Pinv(0.75), 0.05, 0);
  /* the SE against the spread of the statistic over 40 independent replications (n = 100) under the alternative:
   * a ratio within 40 % (the sd of 40 replications is itself uncertain by ~11 %) */
  enum { R = 40 };
  double vm[R], ve[R], sm = 0, se_e = 0;
  for (size_t k = 0; k < R; k++) {
    double *xa = draws(a, 100, 3, 2 * k), *yb = draws(b, 100, 3, 2 * k + 1), s1, s2;
    assert_int_equal(dpm_metrics_mmd2_u(1, h, 100, xa, yb, vm + k, &s1), 0);
    assert_int_equal(dpm_metrics_energy_u(1, 100, xa, yb, ve + k, &s2), 0);
    sm += s1 / R;
    se_e += s2 / R;
    free(xa);
    free(yb);
  }
  double mean, sdm, sde;
  dpm_test_mean_se(vm, R, &mean, &sdm);
  dpm_test_mean_se(ve, R, &mean, &sde);
  assert_close(sm, sdm * sqrt((double)R), 0.4, 0);
  assert_close(se_e, sde * sqrt((double)R), 0.4, 0);
  assert_raises(dpm_metrics_mmd2_u(1, 0.0, n, x, y, &v, &se), GSL_EDOM, "bandwidth");
  assert_raises(dpm_metrics_energy_u(1, 1, x, y, &v, &se), GSL_EINVAL, "n >= 2");
  free(x);
  free(y);
  free(y0);
  dpm_mixture_free(a);
  dpm_mixture_free(b);
}

/* y = x + c: every projection's W2^2 is (u.c)^2, whose mean over the sphere in R^2 is |c|^2/2 (variance of
 * cos^2: 1/8); in 1-D SW2 is the exact sorted W2. */
static void test_sliced_w2(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("ring8");
  const size_t n = 400, P = 500;
  double *x = draws(mix, n, 4, 0), *y = malloc(n * 2 * sizeof *y), c[2] = {0.6, -0.8}, sw, se;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < 2; k++)
      y[2 * i + k] = x[2 * i + k] + c[k];
  gsl_rng *r = dpm_rng_stream_alloc(4, 9);
  assert_int_equal(dpm_metrics_sliced_w2(2, n, x, y, P, r, &sw, &se), 0);
  assert_within_se(sw * sw, sqrt(1.0 / 8.0 / (double)P), 0.5, 4.0);
  assert_true(se >= 0 && se < 0.05); /* a rigid shift: each batch has nearly the same value */
  double a[5] = {3, 1, 2, 5, 4}, b[5] = {0, 0.5, 2, 1, 1}, w2 = 0; /* sorted: 1..5 vs 0,0.5,1,1,2 */
  const double sa[5] = {1, 2, 3, 4, 5}, sb[5] = {0, 0.5, 1, 1, 2};
  for (size_t i = 0; i < 5; i++)
    w2 += (sa[i] - sb[i]) * (sa[i] - sb[i]) / 5;
  assert_int_equal(dpm_metrics_sliced_w2(1, 5, a, b, 3, r, &sw, &se), 0);
  assert_close(sw, sqrt(w2), 1e-14, 0);
  assert_true(isnan(se));
  gsl_rng_free(r);
  free(x);
  free(y);
  dpm_mixture_free(mix);
}

/* W1/KS with batch means agree with the plain metrics and their SE with the spread over replications; mode
 * weights' binomial SE and their TV by hand */
static void test_w1_ks_modes(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  const size_t n = 2000;
  double *x = draws(mix, n, 5, 0), w1, w1s, ks, kss, a, b;
  assert_int_equal(dpm_metrics_w1_ks_se(mix, n, x, &w1, &w1s, &ks, &kss), 0);
  assert_int_equal(dpm_metrics_w1_exact(mix, n, x, &a), 0);
  assert_int_equal(dpm_metrics_ks_exact(mix, n, x, &b), 0);
  assert_close(w1, a, 0, 0);
  assert_close(ks, b, 0, 0);
  /* batch means against the spread of the full statistic over 40 independent replications (n = 1000): the mean
   * SE within 40 % of their sd (each sd and SE uncertain by ~11 %) */
  enum { R = 40 };
  double vw[R], vk[R], mw = 0, mk = 0, mean, sdw, sdk;
  for (size_t k = 0; k < R; k++) {
    double *xr = draws(mix, 1000, 6, k), s1, s2;
    assert_int_equal(dpm_metrics_w1_ks_se(mix, 1000, xr, vw + k, &s1, vk + k, &s2), 0);
    mw += s1 / R;
    mk += s2 / R;
    free(xr);
  }
  dpm_test_mean_se(vw, R, &mean, &sdw);
  dpm_test_mean_se(vk, R, &mean, &sdk);
  assert_close(mw, sdw * sqrt((double)R), 0.4, 0);
  assert_close(mk, sdk * sqrt((double)R), 0.4, 0);
  double wt[2], se[2], tv, tvs;
  assert_int_equal(dpm_metrics_mode_tv(mix, n, x, wt, se, &tv, &tvs), 0);
  assert_close(se[0], sqrt(wt[0] * wt[1] / (double)n), 1e-14, 0);
  assert_close(tv, 0.5 * (fabs(wt[0] - mix->w[0]) + fabs(wt[1] - mix->w[1])), 1e-15, 0);
  assert_within_se(wt[0], se[0], mix->w[0], 4.0);
  assert_true(tvs > 0);
  free(x);
  dpm_mixture_free(mix);
}

static void test_nearest(void **state)
{
  (void)state;
  const double pts[] = {0, 0, 1, 0}, x[] = {0.1, 0, 0.6, 0, 3, 0};
  double md, ms, rate, rs;
  assert_int_equal(dpm_metrics_nearest(2, 3, x, 2, pts, 0.2, &md, &ms, &rate, &rs), 0);
  assert_close(md, (0.1 + 0.4 + 2.0) / 3, 1e-15, 0);
  const double sd = sqrt(((0.1 - md) * (0.1 - md) + (0.4 - md) * (0.4 - md) + (2 - md) * (2 - md)) / 2);
  assert_close(ms, sd / sqrt(3.0), 1e-14, 0);
  assert_close(rate, 1.0 / 3, 1e-15, 0);
  assert_close(rs, sqrt(2.0 / 9 / 3), 1e-15, 0);
  assert_raises(dpm_metrics_nearest(2, 3, x, 2, pts, 0.0, &md, &ms, &rate, &rs), GSL_EDOM, "radius");
  assert_raises(dpm_metrics_nearest(2, 0, x, 2, pts, 0.2, &md, &ms, &rate, &rs), GSL_EINVAL, "empty");
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_logq_mean),   cmocka_unit_test(test_u_statistics), cmocka_unit_test(test_sliced_w2),
      cmocka_unit_test(test_w1_ks_modes), cmocka_unit_test(test_nearest),
  };
  return cmocka_run_group_tests_name("metrics_se", tests, NULL, NULL);
}
