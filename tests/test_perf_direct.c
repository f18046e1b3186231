/* test_perf_direct.c — the small-d route of the ideal denoiser (lib/oracle/distance.c, docs/MATH.md §2.11: the
 * distances by coordinate differences, the weights by a product with -1/(2 sigma^2) and libmvec's exp, weights
 * below 2^-1020 of the nearest's set to 0) against a long-double brute force with the route's own error bound,
 * both sides of the weight floor, and the same bits for 1 and 2 threads, one point per call, and whichever
 * outputs are asked for. */
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

#define U     0x1p-53 /* unit roundoff */
#define T_WIN 40.0    /* weights below e^-T_WIN of the nearest's enter the bound only through K e^-T_WIN */

/* The route's error bound. D_y = sum_j (x_j - y_j)^2 in floating point is within (d + 2) u D_y; the argument
 * (D_y - D*) (-1/(2 sigma^2)) adds three roundings, 3 u |arg|; libmvec's exp 4 u. Over the weights that matter
 * (arg <= T_WIN, so D_y <= D* + 2 sigma^2 T_WIN) each is within eps_w = (d + 2) u (2 D* + 2 sigma^2 T_WIN) /
 * (2 sigma^2) + 3 u T_WIN + 4 u of its value, and the others (the floored ones included) weigh at most K e^-T_WIN
 * in all against the nearest's 1. So dist^2 = D* - 2 sigma^2 log1p(other) is within 2 sigma^2 (eps_w +
 * K e^-T_WIN) + (d + 2) u D* + 2 u |dist^2|, and sigma eps* (a weighted mean of x - y) within (2 eps_w + 2 K
 * e^-T_WIN) R + (K + d + 4) u (|x|_inf + |Y|_inf) (R = max |x_j - y_j|, the last term the sums' rounding). */
static void check(size_t K, size_t d, const double *Y, double sigma, size_t n, const double *x, const char *what)
{
  double *dist2 = malloc(n * sizeof *dist2), *eps = malloc(n * d * sizeof *eps);
  size_t *pi = malloc(n * sizeof *pi);
  assert_int_equal(dpm_distance_eval(K, d, Y, sigma, n, x, dist2, NULL, eps, NULL, pi), DPM_SUCCESS);
  long double *se = malloc(d * sizeof *se), ref;
  double ymax = 0.0;
  for (size_t k = 0; k < K * d; k++)
    ymax = fmax(ymax, fabs(Y[k]));
  const double two_s2 = 2.0 * sigma * sigma, tail = (double)K * exp(-T_WIN);
  double worst_d = 0.0, worst_e = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double *xi = x + i * d;
    size_t b = 0;
    dpm_test_distance_brute(K, d, Y, sigma, xi, &ref, se, &b);
    assert_int_equal(pi[i], b);
    const double Dmin = dpm_distance_min2(K, d, Y, xi, NULL);
    const double eps_w = (double)(d + 2) * U * (2.0 * Dmin + two_s2 * T_WIN) / two_s2 + 3.0 * U * T_WIN + 4.0 * U;
    const double tol_d = two_s2 * (eps_w + tail) + (double)(d + 2) * U * Dmin + 2.0 * U * fabs(dist2[i]);
    const double err_d = fabs((double)((long double)dist2[i] - ref));
    if (err_d > tol_d)
      fail_msg("%s: point %zu: dist2 %.17g vs %.17Lg (error %.3g > %.3g)", what, i, dist2[i], ref, err_d, tol_d);
    worst_d = fmax(worst_d, err_d / tol_d);
    double R = 0.0, xmax = 0.0;
    for (size_t j = 0; j < d; j++)
      xmax = fmax(xmax, fabs(xi[j]));
    for (size_t k = 0; k < K; k++)
      for (size_t j = 0; j < d; j++)
        R = fmax(R, fabs(xi[j] - Y[k * d + j]));
    const double tol_e = (2.0 * eps_w + 2.0 * tail) * R + (double)(K + d + 4) * U * (xmax + ymax);
    for (size_t j = 0; j < d; j++) {
      const double got = sigma * eps[i * d + j], err = fabs((double)((long double)got - se[j]));
      if (err > tol_e)
        fail_msg("%s: point %zu coordinate %zu: sigma eps* %.17g vs %.17Lg (error %.3g > %.3g)", what, i, j, got,
                 se[j], err, tol_e);
      worst_e = fmax(worst_e, err / tol_e);
    }
  }
  print_message("%-40s worst error / bound: dist2 %.2g, eps %.2g\n", what, worst_d, worst_e);
  free(se);
  free(dist2);
  free(eps);
  free(pi);
}

/* K points N(0, 1) in R^d and n queries N(0, 1 + spread^2) */
static void make_set(size_t K, size_t d, size_t n, double spread, unsigned long seed, double **Y, double **x)
{
  gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
  *Y = malloc(K * d * sizeof **Y);
  *x = malloc(n * d * sizeof **x);
  for (size_t i = 0; i < K * d; i++)
    (*Y)[i] = gsl_ran_gaussian_ziggurat(r, 1.0);
  for (size_t i = 0; i < n * d; i++)
    (*x)[i] = gsl_ran_gaussian_ziggurat(r, sqrt(1.0 + spread * spread));
  gsl_rng_free(r);
}

/* d = 1, 2 (its one-pass sums), 3 and 7; K = 2001 (not a multiple of the lanes: the padding); sigma from 0.02
 * (most weights floored: D ~ 1 against 2 sigma^2 = 8e-4) to 20 (every weight near 1); queries out to 4 standard
 * deviations (spread 3), where the nearest is far and D* large. */
static void test_against_longdouble(void **state)
{
  (void)state;
  const size_t dims[4] = {1, 2, 3, 7}, K = 2001, n = 40;
  const double sigmas[4] = {0.02, 0.1, 1.0, 20.0};
  for (int a = 0; a < 4; a++) {
    double *Y, *x;
    make_set(K, dims[a], n, 3.0, 80 + (unsigned long)a, &Y, &x);
    for (int b = 0; b < 4; b++) {
      char what[64];
      snprintf(what, sizeof what, "d = %zu, sigma = %g", dims[a], sigmas[b]);
      check(K, dims[a], Y, sigmas[b], n, x, what);
    }
    free(Y);
    free(x);
  }
}

/* The weight floor, both sides, in d = 2 at sigma = 1/2 (2 sigma^2 = 1/2): the query on point 0, the other
 * points at D = 360 (weight e^-720 < 2^-1020: floored, so eps* = 0 and dist^2 = 0 exactly) or one of them at
 * D = 350 (e^-700 > 2^-1020: kept, sigma eps* = (x - y) e^-700 / (1 + e^-700) to the exp's 4 u and the products'
 * roundings, dist^2 = -2 sigma^2 e^-700 = -e^-700 / 2). */
static void test_weight_floor(void **state)
{
  (void)state;
  enum { K = 13 };
  double Y[2 * K], x[2] = {0.25, -0.5};
  for (int k = 0; k < K; k++) { /* points at distance sqrt(360) in directions spread around the query */
    const double th = 0.37 * k;
    Y[2 * k] = x[0] + sqrt(360.0) * cos(th);
    Y[2 * k + 1] = x[1] + sqrt(360.0) * sin(th);
  }
  Y[0] = x[0];
  Y[1] = x[1];
  double dist2, eps[2], proj[2];
  size_t pi;
  assert_int_equal(dpm_distance_eval(K, 2, Y, 0.5, 1, x, &dist2, NULL, eps, proj, &pi), DPM_SUCCESS);
  assert_int_equal(pi, 0);
  assert_true(dist2 == 0.0);
  assert_true(eps[0] == 0.0 && eps[1] == 0.0);
  Y[2] = x[0] + sqrt(350.0); /* point 1 now at D = 350 (to rounding) */
  Y[3] = x[1];
  const double D1 = (x[0] - Y[2]) * (x[0] - Y[2]);
  assert_int_equal(dpm_distance_eval(K, 2, Y, 0.5, 1, x, &dist2, NULL, eps, proj, &pi), DPM_SUCCESS);
  const double w = exp(-2.0 * D1), want0 = (x[0] - Y[2]) * w / (1.0 + w) / 0.5;
  assert_true(w > 0x1p-1020);
  assert_true(fabs(eps[0] - want0) <= 16 * U * fabs(want0));
  assert_true(eps[1] == 0.0);
  assert_true(fabs(dist2 + 0.5 * w) <= 16 * U * 0.5 * w);
}

/* The same bits for 1 and 2 threads, for one point per call (the serial path) against one batch, and for each
 * output whether or not the others are asked for (d = 2 sums the weights in one pass with the weighted
 * differences, the other routes separately). */
static void test_same_bits(void **state)
{
  (void)state;
  const size_t dims[3] = {1, 2, 5}, K = 3001, n = 300;
  for (int a = 0; a < 3; a++) {
    const size_t d = dims[a];
    double *Y, *x;
    make_set(K, d, n, 0.5, 90 + (unsigned long)a, &Y, &x);
    double *dist[3], *eps[3], *grad[3], *proj[3];
    size_t *pi[3];
    for (int t = 0; t < 3; t++) {
      dist[t] = malloc(n * sizeof(double));
      eps[t] = malloc(n * d * sizeof(double));
      grad[t] = malloc(n * d * sizeof(double));
      proj[t] = malloc(n * d * sizeof(double));
      pi[t] = malloc(n * sizeof(size_t));
    }
#ifdef _OPENMP
    const int saved = omp_get_max_threads();
    for (int t = 0; t < 2; t++) {
      omp_set_num_threads(t + 1);
      assert_int_equal(dpm_distance_eval(K, d, Y, 0.3, n, x, dist[t], grad[t], eps[t], proj[t], pi[t]), 0);
    }
    omp_set_num_threads(saved);
#else
    for (int t = 0; t < 2; t++)
      assert_int_equal(dpm_distance_eval(K, d, Y, 0.3, n, x, dist[t], grad[t], eps[t], proj[t], pi[t]), 0);
#endif
    for (size_t i = 0; i < n; i++) /* one point per call, each output alone */
      assert_int_equal(dpm_distance_eval(K, d, Y, 0.3, 1, x + i * d, dist[2] + i, NULL, NULL, NULL, NULL), 0);
    for (size_t i = 0; i < n; i++) {
      assert_int_equal(dpm_distance_eval(K, d, Y, 0.3, 1, x + i * d, NULL, NULL, eps[2] + i * d, NULL, NULL), 0);
      assert_int_equal(dpm_distance_eval(K, d, Y, 0.3, 1, x + i * d, NULL, grad[2] + i * d, NULL, NULL, NULL), 0);
      assert_int_equal(dpm_distance_eval(K, d, Y, 0.3, 1, x + i * d, NULL, NULL, NULL, proj[2] + i * d, pi[2] + i),
                       0);
    }
    for (int t = 1; t < 3; t++) {
      assert_memory_equal(dist[0], dist[t], n * sizeof(double));
      assert_memory_equal(eps[0], eps[t], n * d * sizeof(double));
      assert_memory_equal(grad[0], grad[t], n * d * sizeof(double));
      assert_memory_equal(proj[0], proj[t], n * d * sizeof(double));
      assert_memory_equal(pi[0], pi[t], n * sizeof(size_t));
    }
    for (int t = 0; t < 3; t++) {
      free(dist[t]);
      free(eps[t]);
      free(grad[t]);
      free(proj[t]);
      free(pi[t]);
    }
    free(Y);
    free(x);
  }
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_against_longdouble),
      cmocka_unit_test(test_weight_floor),
      cmocka_unit_test(test_same_bits),
  };
  return cmocka_run_group_tests_name("perf_direct", tests, NULL, NULL);
}
