/* test_oracle_distance.c — the Permenter–Yuan smoothed distance of a finite set (docs/MATH.md §2 "Finite sets")
 * against independent routes: 1/2 grad dist^2 = sigma eps* by finite differences of dist^2, the exact bounds
 * min - 2 sigma^2 log K <= dist^2 <= min, x - sigma eps* -> projection at the rate exp(-gap/(2 sigma^2)), a
 * long-double brute force at tiny sigma and far points, agreement with the oracle at (m, s) = (1, sigma), ties,
 * error paths and thread-count independence. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <gsl/gsl_randist.h>

#include "dpmlab.h"
#include "testutil.h"

#define EPSU DBL_EPSILON

enum { K6 = 6, D3 = 3 };

/* Six points in R^3, coordinates multiples of 1/8. */
static const double Y6[K6 * D3] = {0.0, 0.0,  0.0, 1.0, 0.5, -0.25, -1.25, 0.75,   0.5,
                                   0.5, -1.5, 1.0, 2.0, 2.0, -1.0,  -2.0,  -0.125, 0.375};

static double min2_brute(size_t K, size_t d, const double *Y, const double *x, size_t *at)
{
  double best = HUGE_VAL;
  for (size_t k = 0; k < K; k++) {
    double D = 0;
    for (size_t j = 0; j < d; j++)
      D += (x[j] - Y[k * d + j]) * (x[j] - Y[k * d + j]);
    if (D < best) {
      best = D;
      if (at) *at = k;
    }
  }
  return best;
}

static double dist2_1(size_t K, size_t d, const double *Y, double sigma, const double *x)
{
  double v = NAN;
  assert_int_equal(dpm_distance_eval(K, d, Y, sigma, 1, x, &v, NULL, NULL, NULL, NULL), DPM_SUCCESS);
  return v;
}

/* 1/2 grad dist^2 = sigma eps* (the theorem): grad vs central differences of dist^2, with the truncation error of
 * D(h) bounded by |D(2h) - D(h)| (= 3|f'''| h^2/6 + O(h^4)) plus the rounding of the differenced values,
 * 64 u (|dist^2| + 2 sigma^2 log K) / h; and the returned grad equals 2 sigma eps* to rounding (4 u). */
static void test_gradient_theorem(void **state)
{
  (void)state;
  gsl_rng *r = dpm_rng_stream_alloc(101, 0);
  const double sigmas[4] = {0.2, 0.5, 1.0, 3.0};
  const double h = 1e-4;
  for (int a = 0; a < 4; a++) {
    const double sg = sigmas[a];
    for (int p = 0; p < 6; p++) {
      double x[D3], g[D3], e[D3], dv;
      for (size_t j = 0; j < D3; j++)
        x[j] = gsl_ran_gaussian(r, 1.5);
      assert_int_equal(dpm_distance_eval(K6, D3, Y6, sg, 1, x, &dv, g, e, NULL, NULL), DPM_SUCCESS);
      const double fmag = fabs(dv) + 2 * sg * sg * log((double)K6);
      for (size_t j = 0; j < D3; j++) {
        assert_close(0.5 * g[j], sg * e[j], 4 * EPSU, 0.0);
        double f[4];
        const double st[4] = {h, -h, 2 * h, -2 * h};
        for (int t = 0; t < 4; t++) {
          double y[D3];
          memcpy(y, x, sizeof y);
          y[j] += st[t];
          f[t] = dist2_1(K6, D3, Y6, sg, y);
        }
        double dh = (f[0] - f[1]) / (2 * h), d2h = (f[2] - f[3]) / (4 * h);
        double tol = fabs(d2h - dh) + 2 * 64 * EPSU * fmag / h;
        assert_close(g[j], dh, 0.0, tol);
      }
    }
  }
  gsl_rng_free(r);
}

/* dist^2 -> min_y |x - y|^2 as sigma -> 0, with the exact bounds min - 2 sigma^2 log K <= dist^2 <= min (the sum
 * inside the log holds the nearest point's term exp(-min/(2 sigma^2)) and K terms each no larger); both hold in
 * floating point up to the rounding of the two terms, 4 u (min + 2 sigma^2 log K). At sigma = 1e-8 the upper
 * bound is attained to that rounding. */
static void test_dist2_bounds(void **state)
{
  (void)state;
  gsl_rng *r = dpm_rng_stream_alloc(102, 0);
  const double sigmas[7] = {1e-8, 1e-4, 0.05, 0.3, 1.0, 10.0, 1e3};
  for (int p = 0; p < 20; p++) {
    double x[D3];
    const double scale = p < 15 ? 1.5 : 1e5; /* the last five far from the set */
    for (size_t j = 0; j < D3; j++)
      x[j] = gsl_ran_gaussian(r, scale);
    size_t at = 99, bi = 0;
    const double mn = min2_brute(K6, D3, Y6, x, &bi);
    assert_close(dpm_distance_min2(K6, D3, Y6, x, &at), mn, 0.0, 0.0);
    assert_int_equal(at, bi);
    for (int a = 0; a < 7; a++) {
      const double sg = sigmas[a], band = 2 * sg * sg * log((double)K6);
      const double dv = dist2_1(K6, D3, Y6, sg, x), slack = 4 * EPSU * (mn + band);
      assert_true(isfinite(dv));
      assert_true(dv <= mn + slack);
      assert_true(dv >= mn - band - slack);
      if (a == 0) assert_close(dv, mn, 4 * EPSU, 0.0);
    }
  }
  gsl_rng_free(r);
}

/* x - sigma eps* = sum_y p_y y with p_y the normalised weights, so with y* the nearest point,
 * x - sigma eps* - y* = sum_{y != y*} p_y (y - y*) and, writing e_y = exp(-(D_y - D*)/(2 sigma^2)),
 *   p_2 |y_2 - y*| - sum_{y != y*, y_2} p_y |y - y*|  <=  err  <=  sum_{y != y*} e_y |y - y*|,
 * p_y = e_y / sum e. Both bounds are checked (plus rounding 8 u (|x| + |y*|)), and together they pin the rate:
 * err ~ exp(-gap/(2 sigma^2)) |y_2 - y*| with gap = D_2 - D*. */
static void test_projection_limit(void **state)
{
  (void)state;
  const double x[D3] = {0.25, 0.125, 0.0625}; /* nearest: point 0, then point 1 */
  double D[K6], mn = HUGE_VAL;
  size_t best = 0;
  for (size_t k = 0; k < K6; k++) {
    D[k] = 0;
    for (size_t j = 0; j < D3; j++)
      D[k] += pow(x[j] - Y6[k * D3 + j], 2);
    if (D[k] < mn) {
      mn = D[k];
      best = k;
    }
  }
  assert_int_equal(best, 0);
  size_t second = best == 0 ? 1 : 0;
  for (size_t k = 0; k < K6; k++)
    if (k != best && D[k] < D[second]) second = k;
  const double sigmas[6] = {0.6, 0.4, 0.3, 0.2, 0.15, 0.12};
  double prev = HUGE_VAL;
  for (int a = 0; a < 6; a++) {
    const double sg = sigmas[a];
    double e[D3], pr[D3];
    size_t pi = 99;
    assert_int_equal(dpm_distance_eval(K6, D3, Y6, sg, 1, x, NULL, NULL, e, pr, &pi), DPM_SUCCESS);
    assert_int_equal(pi, best);
    assert_memory_equal(pr, Y6 + best * D3, sizeof pr);
    double err = 0, xs = 0;
    for (size_t j = 0; j < D3; j++) {
      err += pow(x[j] - sg * e[j] - Y6[best * D3 + j], 2);
      xs += fabs(x[j]) + fabs(Y6[best * D3 + j]);
    }
    err = sqrt(err);
    double ew[K6], tot = 0, upper = 0, others = 0;
    for (size_t k = 0; k < K6; k++) {
      ew[k] = exp(-(D[k] - mn) / (2 * sg * sg));
      tot += ew[k];
    }
    for (size_t k = 0; k < K6; k++) {
      if (k == best) continue;
      double dk = 0;
      for (size_t j = 0; j < D3; j++)
        dk += pow(Y6[k * D3 + j] - Y6[best * D3 + j], 2);
      dk = sqrt(dk);
      upper += ew[k] * dk;
      if (k != second) others += ew[k] / tot * dk;
    }
    double d2 = 0;
    for (size_t j = 0; j < D3; j++)
      d2 += pow(Y6[second * D3 + j] - Y6[best * D3 + j], 2);
    const double lower = ew[second] / tot * sqrt(d2) - others, round = 8 * EPSU * xs;
    if (!(err <= upper + round && err >= lower - round)) {
      print_error("sigma %g: error %.6g outside [%.6g, %.6g]\n", sg, err, lower, upper);
      fail();
    }
    assert_true(lower > 0.5 * upper); /* the bounds are tight enough to fix the rate */
    assert_true(err < prev);
    prev = err;
  }
}

/* 80-bit brute force of dist^2 and eps* from the definitions (log-sum-exp in long double) at sigma from 1e-8 to
 * 1e3 and at points near the set and far from it (|x| ~ 1e6). Rounding: the exponents -D_y/(2 sigma^2) carry
 * absolute errors ~ d u D_y/(2 sigma^2) which become relative errors of the weights, so with L = max over
 * non-negligible weights of D_y/(2 sigma^2) (relative to the minimum), dist^2 is within
 * 64 (K + d) u (min + 2 sigma^2 (1 + L)) and each eps* coordinate within 64 (K + d) u (1 + L) sum_y p_y |x -
 * y|/sigma. */
static void test_longdouble(void **state)
{
  (void)state;
  gsl_rng *r = dpm_rng_stream_alloc(103, 0);
  const double sigmas[6] = {1e-8, 1e-3, 0.1, 1.0, 30.0, 1e3};
  for (int a = 0; a < 6; a++)
    for (int p = 0; p < 12; p++) {
      const double sg = sigmas[a];
      double x[D3];
      if (p < 6) { /* near a set point, at the scale sigma */
        for (size_t j = 0; j < D3; j++)
          x[j] = Y6[(size_t)p * D3 + j] + sg * gsl_ran_gaussian(r, 1.0);
      } else if (p < 9) {
        for (size_t j = 0; j < D3; j++)
          x[j] = gsl_ran_gaussian(r, 2.0);
      } else {
        for (size_t j = 0; j < D3; j++)
          x[j] = gsl_ran_gaussian(r, 1e6);
      }
      long double Dl[K6], mn = HUGE_VALL, S = 0, acc[D3] = {0}, L = 0, mag[D3] = {0};
      const long double s2 = (long double)sg * sg;
      for (size_t k = 0; k < K6; k++) {
        Dl[k] = 0;
        for (size_t j = 0; j < D3; j++)
          Dl[k] += powl((long double)x[j] - Y6[k * D3 + j], 2);
        mn = fminl(mn, Dl[k]);
      }
      for (size_t k = 0; k < K6; k++) {
        long double w = expl(-(Dl[k] - mn) / (2 * s2));
        S += w;
        if (w > 1e-300L) L = fmaxl(L, Dl[k] / (2 * s2));
        for (size_t j = 0; j < D3; j++) {
          acc[j] += w * ((long double)x[j] - Y6[k * D3 + j]);
          mag[j] += w * fabsl((long double)x[j] - Y6[k * D3 + j]);
        }
      }
      const long double d2 = mn - 2 * s2 * logl(S);
      double dv, e[D3];
      assert_int_equal(dpm_distance_eval(K6, D3, Y6, sg, 1, x, &dv, NULL, e, NULL, NULL), DPM_SUCCESS);
      const double tol = 64.0 * (K6 + D3) * EPSU;
      assert_close(dv, (double)d2, 0.0, tol * (double)(mn + 2 * s2 * (1 + L)));
      for (size_t j = 0; j < D3; j++) {
        assert_true(isfinite(e[j]));
        assert_close(e[j], (double)(acc[j] / (sg * S)), 0.0, tol * (double)(1 + L) * (double)(mag[j] / (sg * S)));
      }
    }
  gsl_rng_free(r);
}

/* eps* is E[eps|x] of the point set at (m, s) = (1, sigma): the distance module and the oracle agree to the
 * rounding bound of the long-double test (both are the same ratio formed in different orders). */
static void test_matches_oracle(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_mixture_alloc(K6, D3);
  for (size_t k = 0; k < K6; k++)
    assert_int_equal(dpm_mixture_set_mean(mix, k, Y6 + k * D3), DPM_SUCCESS);
  dpm_oracle *orc = dpm_oracle_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(104, 0);
  const double sigmas[5] = {1e-6, 0.05, 0.5, 2.0, 100.0};
  const size_t n = 40;
  double x[40 * D3], e1[40 * D3], e2[40 * D3], lq[40], d2[40];
  for (int a = 0; a < 5; a++) {
    const double sg = sigmas[a];
    dpm_test_sample_qt(mix, r, 1.0, sg, n, x, NULL, NULL);
    dpm_oracle_result res = {0};
    res.eps = e1;
    res.logq = lq;
    assert_int_equal(dpm_oracle_eval(orc, 1.0, sg, n, x, &res), DPM_SUCCESS);
    assert_int_equal(dpm_distance_eval(K6, D3, Y6, sg, n, x, d2, NULL, e2, NULL, NULL), DPM_SUCCESS);
    for (size_t i = 0; i < n; i++) {
      double mn = min2_brute(K6, D3, Y6, x + i * D3, NULL), L = 1 + mn / (2 * sg * sg);
      double tol = 64.0 * (K6 + D3) * EPSU * L, mag = sqrt(mn) / sg + 1;
      for (size_t j = 0; j < D3; j++)
        assert_close(e2[i * D3 + j], e1[i * D3 + j], 0.0, tol * mag * 4);
      /* log q_t = -dist^2/(2 sigma^2) - log K - (d/2) log(2 pi sigma^2) for equal weights */
      double lq2 = -d2[i] / (2 * sg * sg) - log((double)K6) - 0.5 * D3 * log(2 * 3.14159265358979323846 * sg * sg);
      assert_close(lq[i], lq2, 0.0, tol * (fabs(lq2) + 1));
    }
  }
  gsl_rng_free(r);
  dpm_oracle_free(orc);
  dpm_mixture_free(mix);
}

/* Ties: the projection goes to the lowest index among equidistant points (duplicates included), and with two
 * nearest points at equal distance and tiny sigma, sigma eps* is x minus their midpoint. */
static void test_ties(void **state)
{
  (void)state;
  const double Y[4 * 2] = {1.0, 0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 5.0}; /* point 2 duplicates point 0 */
  const double x[3 * 2] = {0.0, 0.5, 0.75, 0.0, 0.0, 0.0};
  size_t pi[3];
  double pr[6], e[6], dv[3];
  assert_int_equal(dpm_distance_eval(4, 2, Y, 1e-4, 3, x, dv, NULL, e, pr, pi), DPM_SUCCESS);
  assert_int_equal(pi[0], 0); /* equidistant from 0, 1, 2 */
  assert_int_equal(pi[1], 0); /* nearest 0 and its duplicate 2 */
  assert_int_equal(pi[2], 0);
  assert_memory_equal(pr, Y, 2 * sizeof(double));
  size_t at = 9;
  assert_true(dpm_distance_min2(4, 2, Y, x + 2, &at) == 0.0625);
  assert_int_equal(at, 0);
  /* x = (0, 0.5): points 0, 1, 2 tie (weights 1 each): sigma eps* = x - (1 - 1 + 1)/3 e_1, dist^2 = min - 2 s^2
   * log 3 */
  assert_close(1e-4 * e[0], 0.0 - 1.0 / 3.0, 4 * EPSU, 0.0);
  assert_close(1e-4 * e[1], 0.5, 4 * EPSU, 0.0);
  assert_close(dv[0], 1.25 - 2e-8 * log(3.0), 4 * EPSU, 0.0);
  /* x = (0.75, 0): points 0 and 2 tie: sigma eps* = x - y_0 */
  assert_close(1e-4 * e[2], -0.25, 4 * EPSU, 0.0);
  assert_close(dv[1], 0.0625 - 2e-8 * log(2.0), 4 * EPSU, 0.0);
  /* sigma so small that 2 sigma^2 underflows to 0: ties keep weight 1 (no 0/0), dist^2 is the minimum exactly */
  assert_int_equal(dpm_distance_eval(4, 2, Y, 1e-200, 3, x, dv, NULL, e, pr, pi), DPM_SUCCESS);
  assert_true(dv[0] == 1.25 && dv[1] == 0.0625 && dv[2] == 1.0);
  assert_close(1e-200 * e[2], -0.25, 4 * EPSU, 0.0);
  assert_true(e[3] == 0.0);
}

/* Errors: sigma <= 0, NaN or infinite -> GSL_EDOM; K = 0 -> GSL_EINVAL; d = 0 -> GSL_EBADLEN; a non-finite query
 * point -> GSL_EBADFUNC naming it; a non-finite set point -> GSL_EBADFUNC; NULL x with n > 0 -> GSL_EINVAL. */
static void test_errors(void **state)
{
  (void)state;
  double x[2 * D3] = {0, 0, 0, 1, 1, 1}, dv[2];
  const double bad[4] = {0.0, -1.0, NAN, HUGE_VAL};
  for (int i = 0; i < 4; i++) {
    assert_raises(dpm_distance_eval(K6, D3, Y6, bad[i], 2, x, dv, NULL, NULL, NULL, NULL), GSL_EDOM,
                  "sigma must be > 0");
  }
  assert_raises(dpm_distance_eval(0, D3, Y6, 1.0, 2, x, dv, NULL, NULL, NULL, NULL), GSL_EINVAL, NULL);
  assert_raises(dpm_distance_eval(K6, 0, Y6, 1.0, 2, x, dv, NULL, NULL, NULL, NULL), GSL_EBADLEN, NULL);
  x[4] = NAN;
  assert_raises(dpm_distance_eval(K6, D3, Y6, 1.0, 2, x, dv, NULL, NULL, NULL, NULL), GSL_EBADFUNC, "point 1");
  x[4] = 1;
  double Yb[K6 * D3];
  memcpy(Yb, Y6, sizeof Yb);
  Yb[7] = -HUGE_VAL;
  assert_raises(dpm_distance_eval(K6, D3, Yb, 1.0, 2, x, dv, NULL, NULL, NULL, NULL), GSL_EBADFUNC, "set point 2");
  assert_raises(dpm_distance_eval(K6, D3, Y6, 1.0, 2, NULL, dv, NULL, NULL, NULL, NULL), GSL_EINVAL, NULL);
  assert_int_equal(dpm_distance_eval(K6, D3, Y6, 1.0, 0, NULL, NULL, NULL, NULL, NULL, NULL), DPM_SUCCESS);
}

/* Same bits for 1 and 2 threads (a batch large enough to be split). */
static void test_threads(void **state)
{
  (void)state;
  const size_t n = 4001;
  double *x = malloc(n * D3 * sizeof(double)), *out[2][4];
  size_t *idx[2];
  gsl_rng *r = dpm_rng_stream_alloc(105, 0);
  for (size_t i = 0; i < n * D3; i++)
    x[i] = gsl_ran_gaussian(r, 2.0);
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
#endif
  for (int t = 0; t < 2; t++) {
    for (int q = 0; q < 4; q++)
      out[t][q] = malloc(n * D3 * sizeof(double));
    idx[t] = malloc(n * sizeof(size_t));
#ifdef _OPENMP
    omp_set_num_threads(t + 1);
#endif
    assert_int_equal(dpm_distance_eval(K6, D3, Y6, 0.3, n, x, out[t][0], out[t][1], out[t][2], out[t][3], idx[t]),
                     DPM_SUCCESS);
  }
#ifdef _OPENMP
  omp_set_num_threads(saved);
#endif
  assert_memory_equal(out[0][0], out[1][0], n * sizeof(double));
  for (int q = 1; q < 4; q++)
    assert_memory_equal(out[0][q], out[1][q], n * D3 * sizeof(double));
  assert_memory_equal(idx[0], idx[1], n * sizeof(size_t));
  for (int t = 0; t < 2; t++) {
    for (int q = 0; q < 4; q++)
      free(out[t][q]);
    free(idx[t]);
  }
  free(x);
  gsl_rng_free(r);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gradient_theorem), cmocka_unit_test(test_dist2_bounds),
      cmocka_unit_test(test_projection_limit), cmocka_unit_test(test_longdouble),
      cmocka_unit_test(test_matches_oracle),   cmocka_unit_test(test_ties),
      cmocka_unit_test(test_errors),           cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests_name("oracle_distance", tests, NULL, NULL);
}
