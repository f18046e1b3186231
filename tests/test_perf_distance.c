/* test_perf_distance.c — the batched ideal denoiser of lib/oracle/distance.c (docs/MATH.md §2.11) on both of its
 * routes (coordinate differences for small d, DGEMM tiles with a streaming log-sum-exp for large d) and on both
 * sides of the DGEMM route's refinement rule, against a long-double brute force with tolerances derived from the
 * rule's error bounds; the sigma -> 0 limit and ties on the DGEMM route; the same bits for 1 and 2 threads. */
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

#define U     0x1p-53 /* unit roundoff */
#define KAPPA 0.125   /* the DGEMM route refines where D_y < KAPPA (|x|^2 + |y|^2) (distance.c) */
#define T_WIN 40.0    /* weights below e^-T_WIN do not matter (distance.c) */

/* Compare n queries with the brute force. The tolerances follow the error analysis of distance.c: each weight's
 * exponent (D_y - D*)/(2 sigma^2) is off by at most eps_w = [(2d + 4)/KAPPA + d + 2] u (2 D* + 2 sigma^2 T) /
 * (2 sigma^2) (D_y from the expansion, not refined only where D_y >= KAPPA (|x|^2 + |y|^2), over the window
 * D_y <= D* + 2 sigma^2 T, and D* from the coordinate sum) + 4 u (libmvec's exp); so dist^2 is within
 * 2 sigma^2 eps_w + (d + 2) u D*, and sigma eps* (a weighted mean of
 * x - y) within 2 eps_w R + (K + d + 4) u (|x|_inf + |Y|_inf) (R = max |x_j - y_j|; the DGEMM sum
 * (sum e) x - sum e y rounds at most like a sum of K terms). The nearest point is exact. */
static void check(size_t K, size_t d, const double *Y, double sigma, size_t n, const double *x, const char *what)
{
  double *dist2 = malloc(n * sizeof *dist2), *eps = malloc(n * d * sizeof *eps),
         *grad = malloc(n * d * sizeof *grad), *proj = malloc(n * d * sizeof *proj);
  size_t *pi = malloc(n * sizeof *pi);
  assert_int_equal(dpm_distance_eval(K, d, Y, sigma, n, x, dist2, grad, eps, proj, pi), DPM_SUCCESS);
  long double *se = malloc(d * sizeof *se), ref;
  double ymax = 0.0;
  for (size_t k = 0; k < K * d; k++)
    ymax = fmax(ymax, fabs(Y[k]));
  const double two_s2 = 2.0 * sigma * sigma;
  double worst_d = 0.0, worst_e = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double *xi = x + i * d;
    size_t b = 0, b2 = 0;
    dpm_test_distance_brute(K, d, Y, sigma, xi, &ref, se, &b);
    const double Dmin = dpm_distance_min2(K, d, Y, xi, &b2);
    assert_int_equal(pi[i], b2);
    assert_int_equal(b, b2);
    assert_memory_equal(proj + i * d, Y + b * d, d * sizeof(double));
    const double eps_w =
        ((2.0 * (double)d + 4.0) / KAPPA + (double)d + 2.0) * U * (2.0 * Dmin + two_s2 * T_WIN) / two_s2 + 4.0 * U;
    const double tol_d = two_s2 * eps_w + (double)(d + 2) * U * Dmin;
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
    const double tol_e = 2.0 * eps_w * R + (double)(K + d + 4) * U * (xmax + ymax);
    for (size_t j = 0; j < d; j++) {
      const double got = sigma * eps[i * d + j], err = fabs((double)((long double)got - se[j]));
      if (err > tol_e)
        fail_msg("%s: point %zu coordinate %zu: sigma eps* %.17g vs %.17Lg (error %.3g > %.3g)", what, i, j, got,
                 se[j], err, tol_e);
      worst_e = fmax(worst_e, err / tol_e);
      assert_true(grad[i * d + j] == 2.0 * sigma * eps[i * d + j] ||
                  fabs(grad[i * d + j] - 2.0 * got) <= 4 * U * fabs(got));
    }
  }
  print_message("%-44s worst error / bound: dist2 %.2g, eps %.2g\n", what, worst_d, worst_e);
  free(se);
  free(dist2);
  free(eps);
  free(grad);
  free(proj);
  free(pi);
}

/* K points N(offset, 1) in R^d and n queries N(offset, (1 + spread^2)) */
static void make_set(size_t K, size_t d, size_t n, double offset, double spread, unsigned long seed, double **Y,
                     double **x)
{
  gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
  *Y = malloc(K * d * sizeof **Y);
  *x = malloc(n * d * sizeof **x);
  for (size_t i = 0; i < K * d; i++)
    (*Y)[i] = offset + gsl_ran_gaussian_ziggurat(r, 1.0);
  for (size_t i = 0; i < n * d; i++)
    (*x)[i] = offset + gsl_ran_gaussian_ziggurat(r, sqrt(1.0 + spread * spread));
  gsl_rng_free(r);
}

/* Both routes at small, middle and large sigma; for d = 40 and 200 (the DGEMM route) D_y ~ |x|^2 + |y|^2, so no
 * point beyond the nearest candidates is refined (one side of the rule), and K = 5000 spans 10 tiles in 8
 * chunks. */
static void test_routes(void **state)
{
  (void)state;
  const size_t dims[3] = {3, 40, 200}, K = 5000, n = 24;
  const double sigmas[3] = {0.3, 3.0, 30.0};
  for (int a = 0; a < 3; a++) {
    double *Y, *x;
    make_set(K, dims[a], n, 0.0, 0.3, 40 + (unsigned long)a, &Y, &x);
    for (int b = 0; b < 3; b++) {
      char what[96];
      snprintf(what, sizeof what, "d = %zu, sigma = %g", dims[a], sigmas[b]);
      check(K, dims[a], Y, sigmas[b], n, x, what);
    }
    free(Y);
    free(x);
  }
}

/* Cancellation (the other side of the rule): every coordinate offset by 1e4, so |x|^2 + |y|^2 ~ 1.3e10 against
 * D ~ 2 d = 128: the expansion's error bound (2d + 4) u 1.3e10 ~ 2e-4 is far above what the weights at sigma = 1
 * and 0.05 can bear; the rule refines the window and the result meets the same bounds as without an offset. */
static void test_cancellation(void **state)
{
  (void)state;
  double *Y, *x;
  make_set(1500, 64, 12, 1e4, 0.2, 50, &Y, &x);
  check(1500, 64, Y, 1.0, 12, x, "d = 64, offset 1e4, sigma = 1");
  check(1500, 64, Y, 0.05, 12, x, "d = 64, offset 1e4, sigma = 0.05");
  free(Y);
  free(x);
}

/* sigma -> 0 on the DGEMM route: 2 sigma^2 underflows, dist^2 = D*, sigma eps* = x - (mean of the tied nearest
 * points); with a duplicated nearest point and an exact tie at any sigma, the tie weights are exactly 1 each. */
static void test_limits_and_ties(void **state)
{
  (void)state;
  const size_t K = 1200, d = 48;
  double *Y, *x;
  make_set(K, d, 1, 0.0, 0.0, 60, &Y, &x);
  for (size_t j = 0; j < d; j++) { /* point 7 and point 1100 equal, both nearest to x */
    Y[7 * d + j] = x[j] + 0.125;
    Y[1100 * d + j] = x[j] + 0.125;
  }
  double dist2, se[48], proj[48];
  size_t pi;
  assert_int_equal(dpm_distance_eval(K, d, Y, 1e-170, 1, x, &dist2, NULL, se, proj, &pi), DPM_SUCCESS);
  assert_int_equal(pi, 7);
  const double Dstar = dpm_distance_min2(K, d, Y, x, NULL); /* the same sum over coordinates */
  assert_true(dist2 == Dstar);
  for (size_t j = 0; j < d; j++) { /* the mean of two equal differences, scaled by 1/sigma and back */
    const double want = x[j] - Y[7 * d + j];
    assert_true(fabs(se[j] * 1e-170 - want) <= 2 * U * fabs(want));
  }
  /* at sigma = 0.01 the two ties weigh 1 each and every other point is beyond e^-(90 / 2e-4): dist2 = D* - 2
   * sigma^2 log 2, to the rounding of that one product and difference */
  assert_int_equal(dpm_distance_eval(K, d, Y, 0.01, 1, x, &dist2, NULL, NULL, NULL, NULL), DPM_SUCCESS);
  const double want = Dstar - 2e-4 * log(2.0);
  assert_true(fabs(dist2 - want) <= 4 * U * Dstar);
  free(Y);
  free(x);
}

/* The same bits for 1 and 2 threads on both routes (and so for any number of chunks per thread). */
static void test_threads(void **state)
{
  (void)state;
#ifdef _OPENMP
  const size_t dims[2] = {2, 100}, K = 3000, n = 300;
  for (int a = 0; a < 2; a++) {
    const size_t d = dims[a];
    double *Y, *x;
    make_set(K, d, n, 0.0, 0.5, 70 + (unsigned long)a, &Y, &x);
    double *out[2][3];
    const int saved = omp_get_max_threads();
    for (int t = 0; t < 2; t++) {
      omp_set_num_threads(t + 1);
      out[t][0] = malloc(n * sizeof(double));
      out[t][1] = malloc(n * d * sizeof(double));
      out[t][2] = malloc(n * d * sizeof(double));
      assert_int_equal(dpm_distance_eval(K, d, Y, 0.7, n, x, out[t][0], out[t][1], NULL, out[t][2], NULL), 0);
    }
    omp_set_num_threads(saved);
    assert_memory_equal(out[0][0], out[1][0], n * sizeof(double));
    assert_memory_equal(out[0][1], out[1][1], n * d * sizeof(double));
    assert_memory_equal(out[0][2], out[1][2], n * d * sizeof(double));
    for (int t = 0; t < 2; t++)
      for (int k = 0; k < 3; k++)
        free(out[t][k]);
    free(Y);
    free(x);
  }
#else
  skip();
#endif
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_routes),
      cmocka_unit_test(test_cancellation),
      cmocka_unit_test(test_limits_and_ties),
      cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests_name("perf_distance", tests, NULL, NULL);
}
