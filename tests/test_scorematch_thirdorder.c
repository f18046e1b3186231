/* test_scorematch_thirdorder.c — the third-order score target grad Delta log q_t (Lu et al. 2022; docs/MATH.md
 * §4.4) by central differences of the oracle's Laplacian: against the closed form (log q)''' of a 1-D mixture
 * within the h/2h error estimate of the central difference, zero for a Gaussian (whose Laplacian is constant) up
 * to the rounding of the difference, second order in h in 2-D (the error ratio of h and h/2 is 4), the errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpmlab.h"
#include "dpm_scorematch.h"
#include "testutil.h"

/* (log q)''' of the 1-D mixture at (m, s): with q^(r) = sum_k w_k N_k^(r), u = x - m mu_k, v = m^2 lambda_k + s^2,
 * N' = -(u/v) N, N'' = (u^2/v^2 - 1/v) N, N''' = (3u/v^2 - u^3/v^3) N, and (log q)''' = q'''/q - 3 q'' q'/q^2 +
 * 2 (q'/q)^3. */
static double third_1d(const dpm_mixture *mix, double m, double s, double x)
{
  double q0 = 0.0, q1 = 0.0, q2 = 0.0, q3 = 0.0;
  for (size_t k = 0; k < mix->K; k++) {
    const double v = m * m * mix->lambda[k] + s * s, u = x - m * mix->mu[k];
    const double N = mix->w[k] * exp(-0.5 * u * u / v) / sqrt(2.0 * M_PI * v);
    q0 += N;
    q1 += -(u / v) * N;
    q2 += (u * u / (v * v) - 1.0 / v) * N;
    q3 += (3.0 * u / (v * v) - u * u * u / (v * v * v)) * N;
  }
  const double a = q1 / q0;
  return q3 / q0 - 3.0 * q2 * q1 / (q0 * q0) + 2.0 * a * a * a;
}

/* 1-D: the central difference D(h) errs by c h^2 + O(h^4) + rounding; |D(h) - D(h/2)| (4/3) estimates the error
 * of D(h/2), asserted within twice that plus the rounding 1e-15 |Delta log q| / h. */
static void test_closed_form_1d(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  const double m = 0.8, s = 0.6, h = 0.01;
  double x[9], a[9], b[9];
  for (int i = 0; i < 9; i++)
    x[i] = -3.0 + 0.75 * i;
  assert_int_equal(dpm_sm_third_order(mix, m, s, 9, x, h, a), 0);
  assert_int_equal(dpm_sm_third_order(mix, m, s, 9, x, h / 2, b), 0);
  double worst = 0.0;
  for (int i = 0; i < 9; i++) {
    const double exact = third_1d(mix, m, s, x[i]), est = 4.0 / 3.0 * fabs(a[i] - b[i]);
    assert_close(b[i], exact, 0.0, 2.0 * est + 1e-15 * 10.0 / h);
    worst = fmax(worst, fabs(exact));
  }
  assert_true(worst > 0.1); /* the target is not trivially zero here */
  dpm_mixture_free(mix);
}

/* A Gaussian's Laplacian is the constant -d/(m^2 v + s^2): its gradient vanishes, so the difference is rounding
 * alone, |Delta log q| 1e-16 / h. */
static void test_gaussian_zero(void **state)
{
  (void)state;
  dpm_mixture *g = dpm_test_mixture("gauss:d=3,sd=1.5");
  const double x[6] = {0.3, -1.0, 2.0, 1.5, 0.0, -0.7}, h = 1e-3;
  double out[6];
  assert_int_equal(dpm_sm_third_order(g, 0.9, 0.4, 2, x, h, out), 0);
  for (int i = 0; i < 6; i++)
    assert_true(fabs(out[i]) <= 4.0 * 3.0 * 1e-16 / h);
  dpm_mixture_free(g);
}

/* 2-D (ring8): the error ratio of steps h and h/2 against the h/4 result is 4 (second order) within 10%. */
static void test_order_2d(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("ring8");
  const double x[4] = {1.0, 0.5, -2.0, 1.2}, m = 0.9, s = 0.5, h = 0.1;
  double a[4], b[4], c[4];
  assert_int_equal(dpm_sm_third_order(mix, m, s, 2, x, h, a), 0);
  assert_int_equal(dpm_sm_third_order(mix, m, s, 2, x, h / 2, b), 0);
  assert_int_equal(dpm_sm_third_order(mix, m, s, 2, x, h / 4, c), 0);
  for (int i = 0; i < 4; i++)
    assert_close((a[i] - c[i]) / (b[i] - c[i]), 5.0, 0.1, 0.0); /* (16 - 1)/(4 - 1) for a pure h^2 error */
  dpm_mixture_free(mix);
}

static void test_errors(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  double x = 0.0, out;
  assert_raises(dpm_sm_third_order(NULL, 1.0, 1.0, 1, &x, 0.0, &out), GSL_EINVAL, "NULL");
  assert_raises(dpm_sm_third_order(mix, 1.0, 0.0, 1, &x, 0.0, &out), GSL_EDOM, "s");
  assert_raises(dpm_sm_third_order(mix, 1.0, 1.0, 1, &x, -1.0, &out), GSL_EDOM, "step");
  x = NAN;
  assert_raises(dpm_sm_third_order(mix, 1.0, 1.0, 1, &x, 0.0, &out), GSL_EBADFUNC, "");
  dpm_mixture_free(mix);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_closed_form_1d),
      cmocka_unit_test(test_gaussian_zero),
      cmocka_unit_test(test_order_2d),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests_name("scorematch_thirdorder", tests, NULL, NULL);
}
