/* test_oracle_robustness.c — the closed-form oracle (docs/MATH.md §2) at its limits: finite outputs at extreme
 * (m, s) and far points, the documented far-point bound (refused with GSL_ERANGE beyond 2^52 standard deviations),
 * every error path, and the same bits for any thread count or batch position. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <gsl/gsl_randist.h>

#include "test_oracle_common.h"

/* ---- robustness
 * -------------------------------------------------------------------------------------------------- */

/* Mixture A (every kind) at every (m, s) in {1e-6, 1e-3, 1, 1e4}^2 at near and far points (up to 1e6): all outputs
 * finite, responsibilities and class posteriors non-negative summing to 1 within 2 K u, covariances non-negative
 * on the diagonal and Laplacian = trace of the Hessian. */
static void test_extremes_finite(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture_kinds();
  dpm_oracle *orc = dpm_test_oracle(mix);
  const size_t d = 3, K = 5, L = 3;
  const double vals[4] = {1e-6, 1e-3, 1.0, 1e4};
  gsl_rng *r = dpm_rng_stream_alloc(33, 0);
  double x[13 * 3];
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 4; b++) {
      const double m = vals[a], s = vals[b];
      size_t n = 0;
      dpm_test_sample_qt(mix, r, m, s, 8, x, NULL, NULL);
      n = 8;
      const double far[5] = {1e2, -1e3, 1e4, 1e5, -1e6};
      for (int f = 0; f < 5; f++, n++)
        for (size_t j = 0; j < d; j++)
          x[n * d + j] = m * mix->mu[j] + far[f] * (m + s) * (j == (size_t)f % d ? 1 : 0.5);
      full_out o;
      out_alloc(&o, n, mix);
      eval_all(orc, m, s, n, x, &o);
      for (size_t i = 0; i < n; i++) {
        assert_true(isfinite(o.logq[i]) && isfinite(o.lap[i]) && isfinite(o.trcov[i]));
        assert_true(o.trcov[i] >= 0.0);
        double rs = 0, cs = 0, tr = 0;
        for (size_t k = 0; k < K; k++) {
          assert_true(o.resp[i * K + k] >= 0.0 && o.resp[i * K + k] <= 1.0);
          assert_true(o.logresp[i * K + k] <= 0.0 && !isnan(o.logresp[i * K + k]));
          rs += o.resp[i * K + k];
        }
        for (size_t y = 0; y < L; y++)
          cs += o.cpost[i * L + y];
        assert_close(rs, 1.0, 0.0, 2.0 * (double)K * EPSU);
        assert_close(cs, 1.0, 0.0, 2.0 * (double)K * EPSU);
        for (size_t j = 0; j < d; j++) {
          assert_true(isfinite(o.score[i * d + j]) && isfinite(o.eps[i * d + j]) && isfinite(o.x0[i * d + j]));
          assert_true(o.diagcov[i * d + j] >= 0.0 && o.cov[i * d * d + j * d + j] >= 0.0);
          tr += o.hess[i * d * d + j * d + j];
        }
        for (size_t j = 0; j < d * d; j++)
          assert_true(isfinite(o.hess[i * d * d + j]) && isfinite(o.cov[i * d * d + j]));
        double hm = 0;
        for (size_t j = 0; j < d; j++)
          hm += fabs(o.hess[i * d * d + j * d + j]);
        assert_close(o.lap[i], tr, 0.0, 64 * (double)(K + d) * EPSU * (hm + fabs(tr)));
      }
      out_free(&o);
    }
  gsl_rng_free(r);
  dpm_oracle_free(orc);
  dpm_mixture_free(mix);
}

/* The far-point bound, both sides, on ring8 (isotropic lambda = 0.04 at radius 4) at (m, s) = (0.8, 0.6), where
 * every component has c = m^2 lambda + s^2 and rho^2 = |x - m mu_k|^2 / c. Along the axis of component 0 the
 * nearest centre is m mu_0 = (3.2, 0), so the bound rho^2 = 2^104 sits at x_1 = 3.2 + 2^52 sqrt(c). At 0.9 of it
 * the point is served: component 0 owns it (the next is ~1e15 nats away, r is exactly one-hot) so the Laplacian
 * is -2/c and tr Cov[x0|x] = 2 lambda s^2 / c, each to the documented u^2 rho^2 relative; at 1.1 of it, and at
 * the points that gave a Laplacian of 1.7e271 (x = 1e150) and a row of NaN (x = 2e154), the oracle refuses with
 * GSL_ERANGE naming the point and the coordinate, and writes nothing. */
static void test_far_points(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("ring8");
  dpm_oracle *orc = dpm_test_oracle(mix);
  const double m = 0.8, s = 0.6, lam = 0.04, c = m * m * lam + s * s, u = DBL_EPSILON;
  const double edge = 0x1p52 * sqrt(c);
  double x[2] = {3.2 + 0.9 * edge, 0.0}, lq = NAN, lap = NAN, tr = NAN, sc[2];
  dpm_oracle_result res = {0};
  res.logq = &lq;
  res.lap = &lap;
  res.trcov = &tr;
  res.score = sc;
  assert_int_equal(dpm_oracle_eval(orc, m, s, 1, x, &res), DPM_SUCCESS);
  const double rho2 = (x[0] - 3.2) * (x[0] - 3.2) / c;
  assert_true(isfinite(lq) && isfinite(sc[0]) && isfinite(sc[1]));
  assert_close(lap, -2.0 / c, 4.0 * u * u * rho2, 0.0);
  assert_close(tr, 2.0 * lam * s * s / c, 4.0 * u * u * rho2, 0.0);
  const double beyond[4][2] = {{3.2 + 1.1 * edge, 0.0}, {0.0, -(3.2 + 1.1 * edge)}, {1e150, 1e150}, {2e154, 0.0}};
  const char *coord[4] = {"coordinate 0", "coordinate 1", "coordinate", "coordinate 0 = 2e+154"};
  for (int i = 0; i < 4; i++) {
    double two[4] = {0.0, 0.5, beyond[i][0], beyond[i][1]}, lq2[2] = {7.0, 7.0};
    dpm_oracle_result r2 = {0};
    r2.logq = lq2;
    assert_raises(dpm_oracle_eval(orc, m, s, 2, two, &r2), GSL_ERANGE, "point 1 is too far from every component");
    assert_reason_has(coord[i]);
    assert_true(lq2[0] == 7.0 && lq2[1] == 7.0); /* nothing written */
  }
  dpm_oracle_free(orc);
  dpm_mixture_free(mix);
}

/* Every error path: bad (m, s) -> GSL_EDOM with a reason naming the parameter and value; non-finite x ->
 * GSL_EBADFUNC naming the point; class outputs without labels, with a label out of range or without class_y ->
 * GSL_EINVAL; an empty class -> GSL_EDOM; NULL x -> GSL_EINVAL; logq1 -> NaN on error; free(NULL) is a no-op. */
static void test_errors(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture_kinds();
  dpm_oracle *orc = dpm_test_oracle(mix);
  double x[3 * 3] = {0.1, 0.2, 0.3, 1, 2, 3, -1, 0, 1}, lq[3];
  dpm_oracle_result res = {0};
  res.logq = lq;
  const double badm[4] = {0.0, -1.0, NAN, HUGE_VAL};
  for (int i = 0; i < 4; i++) {
    assert_raises(dpm_oracle_eval(orc, badm[i], 1.0, 3, x, &res), GSL_EDOM, "oracle: m must be > 0");
    assert_raises(dpm_oracle_eval(orc, 1.0, badm[i], 3, x, &res), GSL_EDOM, "oracle: s must be > 0");
  }
  assert_raises(dpm_oracle_eval(orc, 1.0, -1.0, 3, x, &res), GSL_EDOM, "(got -1)");
  assert_raises(dpm_oracle_eval(orc, 1.0, 1e-170, 3, x, &res), GSL_EDOM, NULL); /* s^2 underflows */
  assert_raises(dpm_oracle_eval(orc, 1e200, 1.0, 3, x, &res), GSL_EDOM, NULL);  /* m^2 overflows */
  x[5] = NAN;
  assert_raises(dpm_oracle_eval(orc, 1.0, 1.0, 3, x, &res), GSL_EBADFUNC, "point 1");
  assert_raises_nan(dpm_oracle_logq1(orc, 1.0, 1.0, x + 3), NULL);
  x[5] = HUGE_VAL;
  assert_raises(dpm_oracle_eval(orc, 1.0, 1.0, 3, x, &res), GSL_EBADFUNC, NULL);
  x[5] = 3;
  assert_raises(dpm_oracle_eval(orc, 1.0, 1.0, 3, NULL, &res), GSL_EINVAL, NULL);
  assert_int_equal(dpm_oracle_eval(orc, 1.0, 1.0, 0, NULL, &res), DPM_SUCCESS); /* nothing to do */
  assert_raises(dpm_oracle_eval(NULL, 1.0, 1.0, 3, x, &res), GSL_EINVAL, NULL);
  assert_int_equal(dpm_oracle_eval(orc, 1.0, 1.0, 3, x, NULL), DPM_SUCCESS); /* validation only */

  double g[9], post[9];
  int ys[3] = {0, 1, 3};
  dpm_oracle_result cr = {0};
  cr.class_grad = g;
  cr.class_y = ys;
  assert_raises(dpm_oracle_eval(orc, 1.0, 1.0, 3, x, &cr), GSL_EINVAL, "point 2");
  cr.class_y = NULL;
  assert_raises(dpm_oracle_eval(orc, 1.0, 1.0, 3, x, &cr), GSL_EINVAL, NULL);
  ys[2] = -1;
  cr.class_y = ys;
  assert_raises(dpm_oracle_eval(orc, 1.0, 1.0, 3, x, &cr), GSL_EINVAL, NULL);
  /* class 2 is component 3 alone: give it weight 0 */
  const double w0[5] = {0.3, 0.2, 0.25, 0.0, 0.1};
  dpm_mixture *mz = dpm_mixture_clone(mix);
  assert_int_equal(dpm_mixture_set_weights(mz, w0), DPM_SUCCESS);
  dpm_oracle *oz = dpm_test_oracle(mz);
  ys[2] = 2;
  assert_raises(dpm_oracle_eval(oz, 1.0, 1.0, 3, x, &cr), GSL_EDOM, NULL);
  cr.class_grad = NULL;
  cr.class_post = post; /* posterior of an empty class is fine: 0 */
  assert_int_equal(dpm_oracle_eval(oz, 1.0, 1.0, 3, x, &cr), DPM_SUCCESS);
  for (int i = 0; i < 3; i++)
    assert_true(post[i * 3 + 2] == 0.0);
  assert_int_equal(dpm_mixture_set_labels(mz, NULL), DPM_SUCCESS);
  assert_raises(dpm_oracle_eval(oz, 1.0, 1.0, 3, x, &cr), GSL_EINVAL, "without labels");
  dpm_oracle_free(oz);
  dpm_mixture_free(mz);

  assert_raises_null(dpm_oracle_alloc(NULL), NULL);
  dpm_oracle_free(NULL);
  assert_true(dpm_oracle_mixture(orc) == mix);
  dpm_oracle_free(orc);
  dpm_mixture_free(mix);
}

/* Same bits for 1 and 2 threads, and for a point evaluated alone or inside a batch (every output, every kind; the
 * d = 20 mixture takes the BLAS block path). */
static void test_threads(void **state)
{
  (void)state;
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
#endif
  for (int c = 0; c < 2; c++) {
    dpm_mixture *mix;
    size_t d;
    if (c == 0) {
      mix = dpm_test_mixture_kinds();
      d = 3;
    } else {
      d = 20;
      mix = dpm_mixture_alloc(3, d);
      gsl_rng *q = dpm_rng_stream_alloc(41, 1);
      double *cov = malloc(d * d * sizeof(double)), *A = malloc(d * d * sizeof(double)), mu[20];
      for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < d * d; i++)
          A[i] = gsl_ran_gaussian(q, 0.3);
        for (size_t i = 0; i < d; i++)
          for (size_t j = 0; j < d; j++) {
            double acc = i == j ? 0.1 : 0.0;
            for (size_t p = 0; p < d; p++)
              acc += A[i * d + p] * A[j * d + p];
            cov[i * d + j] = acc;
          }
        for (size_t i = 0; i < d; i++)
          for (size_t j = 0; j < i; j++)
            cov[i * d + j] = cov[j * d + i];
        for (size_t i = 0; i < d; i++)
          mu[i] = gsl_ran_gaussian(q, 1.0);
        dpm_mixture_set_mean(mix, k, mu);
        if (k < 2) assert_int_equal(dpm_mixture_set_full(mix, k, cov), DPM_SUCCESS);
      }
      free(cov);
      free(A);
      gsl_rng_free(q);
    }
    const size_t n = 2001; /* enough work for the batch to run on two threads */
    double *x = malloc(n * d * sizeof(double));
    gsl_rng *r = dpm_rng_stream_alloc(42, 0);
    dpm_test_sample_qt(mix, r, 0.9, 0.5, n, x, NULL, NULL);
    full_out a, b, one;
    out_alloc(&a, n, mix);
    out_alloc(&b, n, mix);
    out_alloc(&one, 1, mix);
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    dpm_oracle *o1 = dpm_test_oracle(mix);
    eval_all(o1, 0.9, 0.5, n, x, &a);
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    dpm_oracle *o2 = dpm_test_oracle(mix);
    eval_all(o2, 0.9, 0.5, n, x, &b);
    const size_t K = mix->K, L = (size_t)mix->nlabels;
    assert_memory_equal(a.logq, b.logq, n * sizeof(double));
    assert_memory_equal(a.score, b.score, n * d * sizeof(double));
    assert_memory_equal(a.eps, b.eps, n * d * sizeof(double));
    assert_memory_equal(a.x0, b.x0, n * d * sizeof(double));
    assert_memory_equal(a.hess, b.hess, n * d * d * sizeof(double));
    assert_memory_equal(a.cov, b.cov, n * d * d * sizeof(double));
    assert_memory_equal(a.diagcov, b.diagcov, n * d * sizeof(double));
    assert_memory_equal(a.lap, b.lap, n * sizeof(double));
    assert_memory_equal(a.trcov, b.trcov, n * sizeof(double));
    assert_memory_equal(a.resp, b.resp, n * K * sizeof(double));
    if (L) assert_memory_equal(a.cpost, b.cpost, n * L * sizeof(double));
    for (size_t i = 0; i < n; i += 97) { /* alone vs in the batch */
      eval_all(o2, 0.9, 0.5, 1, x + i * d, &one);
      assert_memory_equal(one.logq, a.logq + i, sizeof(double));
      assert_memory_equal(one.eps, a.eps + i * d, d * sizeof(double));
      assert_memory_equal(one.cov, a.cov + i * d * d, d * d * sizeof(double));
    }
    out_free(&a);
    out_free(&b);
    out_free(&one);
    dpm_oracle_free(o1);
    dpm_oracle_free(o2);
    dpm_mixture_free(mix);
    free(x);
    gsl_rng_free(r);
  }
#ifdef _OPENMP
  omp_set_num_threads(saved);
#endif
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_extremes_finite),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_far_points),
      cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests_name("oracle_robustness", tests, NULL, NULL);
}
