/* test_data_mixture.c — the mixture object of dpm_data (docs/MATH.md §2): setters and their errors, the eigen
 * factorisation, exact moments against an independent formula, exact sampling of q_0 and of q_t (the law of
 * m x_0 + s eps, docs/MATH.md §1) checked by Monte Carlo within K_SE standard errors, same seed same bits, and the
 * high-mass box. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "dpm_common.h"
#include "dpm_data.h"
#include "dpm_io.h"
#include "dpm_rng.h"
#include "test_data_common.h"

/* ---- helpers ------------------------------------------------------------------------------------------- */

/* The covariance of component k of mixed4, written out independently of the library. */
static double sigma4(size_t k, size_t i, size_t j)
{
  switch (k) {
  case 0:
    return i == j ? ISO0 : 0.0;
  case 1:
    return i == j ? DIAG1[i] : 0.0;
  case 2:
    return FULL2[i * 3 + j];
  default:
    return 0.0;
  }
}

/* Exact moments of mixed4 by the raw-moment route E[x x^T] - mean mean^T (the library uses the centred form). */
static void moments4(double mean[3], double cov[9], double *en2)
{
  *en2 = 0;
  for (size_t i = 0; i < 3; i++) {
    mean[i] = 0;
    for (size_t k = 0; k < 4; k++)
      mean[i] += W4[k] * MU4[k][i];
  }
  for (size_t i = 0; i < 3; i++)
    for (size_t j = 0; j < 3; j++) {
      double s = 0;
      for (size_t k = 0; k < 4; k++)
        s += W4[k] * (sigma4(k, i, j) + MU4[k][i] * MU4[k][j]);
      cov[i * 3 + j] = s - mean[i] * mean[j];
    }
  for (size_t k = 0; k < 4; k++)
    for (size_t i = 0; i < 3; i++)
      *en2 += W4[k] * (MU4[k][i] * MU4[k][i] + sigma4(k, i, i));
}

/* Sample mean of every coordinate and of every centred product (x_i - mean_i)(x_j - mean_j) (whose expectation
 * is cov_ij when mean is exact) against the exact values, each within K_SE standard errors estimated from the
 * sample itself (n large, so the estimated se is accurate to about 1/sqrt(2n) relative). */
static void check_moments(const double *x, size_t n, size_t d, const double *mean, const double *cov)
{
  double *v = malloc(n * sizeof *v), mu_hat, se;
  assert_non_null(v);
  for (size_t i = 0; i < d; i++) {
    for (size_t a = 0; a < n; a++)
      v[a] = x[a * d + i];
    dpm_test_mean_se(v, n, &mu_hat, &se);
    assert_within_se(mu_hat, se, mean[i], K_SE);
  }
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j <= i; j++) {
      for (size_t a = 0; a < n; a++)
        v[a] = (x[a * d + i] - mean[i]) * (x[a * d + j] - mean[j]);
      dpm_test_mean_se(v, n, &mu_hat, &se);
      if (cov[i * d + j] == 0 && se == 0)
        assert_true(mu_hat == 0);
      else
        assert_within_se(mu_hat, se, cov[i * d + j], K_SE);
    }
  free(v);
}

/* ---- allocation and setters ---------------------------------------------------------------------------- */

static void test_alloc(void **state)
{
  (void)state;
  expect_null(dpm_mixture_alloc(0, 2), "K >= 1");
  expect_null(dpm_mixture_alloc(2, 0), "d >= 1");
  dpm_mixture_free(NULL);
  dpm_mixture *m = dpm_mixture_alloc(3, 2);
  assert_non_null(m);
  assert_int_equal(m->K, 3);
  assert_int_equal(m->d, 2);
  assert_null(m->U);
  assert_null(m->labels);
  assert_int_equal(m->nlabels, 0);
  assert_true(dpm_mixture_is_pointset(m));
  for (size_t k = 0; k < 3; k++) {
    assert_true(m->w[k] == 1.0 / 3.0);
    assert_true(m->logw[k] == log(1.0 / 3.0));
    assert_int_equal(m->kind[k], DPM_COV_ZERO);
    for (size_t i = 0; i < 2; i++)
      assert_true(m->mu[k * 2 + i] == 0 && m->lambda[k * 2 + i] == 0);
  }
  dpm_mixture_free(m);
}

static void test_setter_errors(void **state)
{
  (void)state;
  dpm_mixture *m = mixed4();
  dpm_mixture *ref = dpm_mixture_clone(m);
  double bad[3] = {0, NAN, 0};
  expect_status(dpm_mixture_set_mean(m, 2, bad), "component 2: mean has a non-finite entry");
  bad[1] = INFINITY;
  expect_status(dpm_mixture_set_mean(m, 1, bad), "component 1: mean has a non-finite entry");
  expect_status(dpm_mixture_set_mean(m, 4, MU4[0]), "component 4: index out of range");
  expect_status(dpm_mixture_set_zero(m, 7), "component 7: index out of range");
  expect_status(dpm_mixture_set_iso(m, 0, 0.0), "component 0: isotropic variance");
  expect_status(dpm_mixture_set_iso(m, 0, -1.0), "component 0: isotropic variance");
  expect_status(dpm_mixture_set_iso(m, 1, NAN), "component 1: isotropic variance");
  expect_status(dpm_mixture_set_iso(m, 1, INFINITY), "component 1: isotropic variance");
  double dv[3] = {1, -0.5, 1};
  expect_status(dpm_mixture_set_diag(m, 3, dv), "component 3: variance -0.5 at coordinate 1");
  dv[1] = 0;
  expect_status(dpm_mixture_set_diag(m, 3, dv), "component 3: variance 0 at coordinate 1");
  /* not positive definite: indefinite, and positive semi-definite but singular */
  double indef[9] = {1, 2, 0, 2, 1, 0, 0, 0, 1}, psd[9] = {1, 1, 0, 1, 1, 0, 0, 0, 1};
  expect_status(dpm_mixture_set_full(m, 3, indef),
                "component 3: covariance is not positive definite (Cholesky failed)");
  expect_status(dpm_mixture_set_full(m, 1, psd), "component 1: covariance is not positive definite");
  double nonsym[9] = {2, 0.5, 0, 0.4, 2, 0, 0, 0, 2};
  expect_status(dpm_mixture_set_full(m, 0, nonsym), "component 0: covariance is not symmetric");
  double nf[9] = {2, 0, 0, 0, NAN, 0, 0, 0, 2};
  expect_status(dpm_mixture_set_full(m, 2, nf), "component 2: covariance has a non-finite entry");
  double w[4] = {0.5, -0.1, 0.3, 0.3};
  expect_status(dpm_mixture_set_weights(m, w), "weights: negative weight -0.1 at component 1");
  double w0[4] = {0, 0, 0, 0};
  expect_status(dpm_mixture_set_weights(m, w0), "weights: sum must be positive");
  w[1] = NAN;
  expect_status(dpm_mixture_set_weights(m, w), "weights: non-finite weight");
  double wbig[4] = {DBL_MAX, DBL_MAX, 0, 0};
  expect_status(dpm_mixture_set_weights(m, wbig), "weights: sum overflows");
  int lab[4] = {0, 1, -2, 0};
  expect_status(dpm_mixture_set_labels(m, lab), "labels: negative label -2 at component 2");
  /* a failed setter leaves the mixture as it was */
  assert_memory_equal(m->w, ref->w, 4 * sizeof(double));
  assert_memory_equal(m->mu, ref->mu, 12 * sizeof(double));
  assert_memory_equal(m->lambda, ref->lambda, 12 * sizeof(double));
  assert_memory_equal(m->kind, ref->kind, 4 * sizeof(dpm_cov_kind));
  assert_memory_equal(m->U, ref->U, 36 * sizeof(double));
  assert_memory_equal(m->Sigma, ref->Sigma, 36 * sizeof(double));
  assert_null(m->labels);
  dpm_mixture_free(ref);
  dpm_mixture_free(m);
}

/* The symmetry test accepts a relative asymmetry below 1e3 eps max|entry| (rounding from a computation) and
 * rejects one above it; an accepted matrix is stored symmetrised. */
static void test_symmetry_tolerance(void **state)
{
  (void)state;
  dpm_mixture *m = dpm_mixture_alloc(1, 2);
  double amax = 4.0;
  double ok[4] = {4, 1, 1 + 10 * DBL_EPSILON * amax, 3};
  assert_int_equal(dpm_mixture_set_full(m, 0, ok), 0);
  double out[4];
  dpm_mixture_cov(m, 0, out);
  assert_true(out[1] == out[2]);
  assert_close(out[1], 1.0, 0, 10 * DBL_EPSILON * amax);
  double no[4] = {4, 1, 1 + 1e4 * DBL_EPSILON * amax, 3};
  expect_status(dpm_mixture_set_full(m, 0, no), "component 0: covariance is not symmetric");
  dpm_mixture_free(m);
}

/* U diag(lambda) U^T reconstructs Sigma and U is orthogonal. The symmetric QR algorithm is backward stable: the
 * computed factors are exact for Sigma + E with ||E|| <= c d u ||Sigma|| (u = 2^-53, c a small constant; Golub &
 * Van Loan §8.3), so with d = 6 an error of 1e-12 max|Sigma| (~ 1000 d u) would mean a real fault. */
static void test_eigen_factor(void **state)
{
  (void)state;
  const size_t d = 6;
  gsl_rng *r = dpm_rng_stream_alloc(11, 0);
  double A[36], S[36];
  for (size_t i = 0; i < d * d; i++)
    A[i] = gsl_ran_gaussian(r, 1.0);
  double smax = 0;
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) {
      double s = i == j ? 0.05 : 0.0;
      for (size_t l = 0; l < d; l++)
        s += A[i * d + l] * A[j * d + l] / (double)d;
      S[i * d + j] = s;
      if (fabs(s) > smax) smax = fabs(s);
    }
  dpm_mixture *m = dpm_mixture_alloc(3, d);
  assert_int_equal(dpm_mixture_set_iso(m, 0, 2.0), 0);
  assert_null(m->U);
  assert_int_equal(dpm_mixture_set_full(m, 1, S), 0);
  assert_non_null(m->U);
  assert_int_equal(m->kind[1], DPM_COV_FULL);
  const double *U = m->U + d * d, *lam = m->lambda + d;
  for (size_t l = 0; l < d; l++)
    assert_true(lam[l] > 0);
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) {
      double rec = 0, orth = 0;
      for (size_t l = 0; l < d; l++) {
        rec += U[i * d + l] * lam[l] * U[j * d + l];
        orth += U[l * d + i] * U[l * d + j]; /* (U^T U)_ij */
      }
      assert_close(rec, S[i * d + j], 0, 1e-12 * smax);
      assert_close(orth, i == j ? 1.0 : 0.0, 0, 1e-12);
    }
  /* the covariance as set comes back bit for bit; the trace equals the eigenvalue sum */
  double out[36], tr = 0, sl = 0;
  dpm_mixture_cov(m, 1, out);
  assert_memory_equal(out, S, sizeof S);
  for (size_t i = 0; i < d; i++) {
    tr += S[i * d + i];
    sl += lam[i];
  }
  assert_close(sl, tr, 1e-12, 0);
  /* the other kinds read as identity U blocks and diagonal covariances */
  dpm_mixture_cov(m, 0, out);
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) {
      assert_true(out[i * d + j] == (i == j ? 2.0 : 0.0));
      assert_true(m->U[i * d + j] == (i == j ? 1.0 : 0.0));
    }
  /* a FULL component set back to a point mass */
  assert_int_equal(dpm_mixture_set_zero(m, 1), 0);
  assert_false(m->kind[1] == DPM_COV_FULL);
  for (size_t i = 0; i < d; i++)
    assert_true(m->lambda[d + i] == 0);
  gsl_rng_free(r);
  dpm_mixture_free(m);
}

static void test_weights_labels_clone(void **state)
{
  (void)state;
  dpm_mixture *m = dpm_mixture_alloc(3, 1);
  double w[3] = {1, 3, 0};
  assert_int_equal(dpm_mixture_set_weights(m, w), 0);
  assert_true(m->w[0] == 0.25 && m->w[1] == 0.75 && m->w[2] == 0);
  assert_close(m->logw[0], log(0.25), 1e-15, 0);
  assert_close(m->logw[1], log(0.75), 1e-15, 0);
  assert_true(isinf(m->logw[2]) && m->logw[2] < 0);
  int lab[3] = {4, 0, 2};
  assert_int_equal(dpm_mixture_set_labels(m, lab), 0);
  assert_int_equal(m->nlabels, 5);
  dpm_mixture *c = dpm_mixture_clone(m);
  assert_non_null(c);
  assert_true(c->labels != m->labels && c->w != m->w);
  assert_memory_equal(c->labels, lab, sizeof lab);
  assert_int_equal(c->nlabels, 5);
  assert_memory_equal(c->w, m->w, 3 * sizeof(double));
  assert_int_equal(dpm_mixture_set_labels(m, NULL), 0);
  assert_null(m->labels);
  assert_int_equal(m->nlabels, 0);
  assert_non_null(c->labels);
  dpm_mixture_free(m);
  dpm_mixture_free(c);

  m = mixed4();
  c = dpm_mixture_clone(m);
  assert_memory_equal(c->U, m->U, 4 * 9 * sizeof(double));
  assert_memory_equal(c->Sigma, m->Sigma, 4 * 9 * sizeof(double));
  assert_true(c->U != m->U);
  dpm_mixture_free(m);
  dpm_mixture_free(c);
}

/* ---- moments, sampling, box ---------------------------------------------------------------------------- */

static void test_moments_exact(void **state)
{
  (void)state;
  dpm_mixture *m = mixed4();
  double mean[3], cov[9], en2, mean_ref[3], cov_ref[9], en2_ref;
  dpm_mixture_moments(m, mean, cov, &en2);
  moments4(mean_ref, cov_ref, &en2_ref);
  /* two exact routes in double precision: they agree to rounding, entries O(10), so 1e-13 absolute */
  for (size_t i = 0; i < 3; i++)
    assert_close(mean[i], mean_ref[i], 0, 1e-13);
  for (size_t i = 0; i < 9; i++)
    assert_close(cov[i], cov_ref[i], 0, 1e-13);
  assert_close(en2, en2_ref, 1e-14, 0);
  /* any output may be NULL; the covariance alone does not need the mean */
  double cov2[9];
  dpm_mixture_moments(m, NULL, cov2, NULL);
  for (size_t i = 0; i < 9; i++)
    assert_close(cov2[i], cov_ref[i], 0, 1e-13);
  /* tr Cov + |mean|^2 = E|x|^2 */
  double tr = cov[0] + cov[4] + cov[8] + mean[0] * mean[0] + mean[1] * mean[1] + mean[2] * mean[2];
  assert_close(tr, en2, 1e-13, 0);
  dpm_mixture_free(m);

  /* gmm1d defaults by hand: 0.3 N(-2, 0.25) + 0.7 N(2, 0.25): mean 0.8, E x^2 = 0.25 + 4, var 4.25 - 0.64 */
  m = dpm_data_from_spec("gmm1d");
  assert_non_null(m);
  dpm_mixture_moments(m, mean, cov, &en2);
  assert_close(mean[0], 0.8, 1e-15, 1e-15);
  assert_close(cov[0], 3.61, 1e-14, 0);
  assert_close(en2, 4.25, 1e-15, 0);
  dpm_mixture_free(m);
}

static void test_sample_q0(void **state)
{
  (void)state;
  const size_t n = 400000, d = 3;
  dpm_mixture *m = mixed4();
  double *x = malloc(n * d * sizeof *x);
  size_t *comp = malloc(n * sizeof *comp);
  gsl_rng *r = dpm_rng_stream_alloc(1, 0);
  dpm_test_sample_q0(m, r, n, x, comp);
  double mean[3], cov[9], en2;
  moments4(mean, cov, &en2);
  check_moments(x, n, d, mean, cov);
  /* E|x|^2 */
  double *v = malloc(n * sizeof *v), mh, se;
  for (size_t a = 0; a < n; a++)
    v[a] = x[a * d] * x[a * d] + x[a * d + 1] * x[a * d + 1] + x[a * d + 2] * x[a * d + 2];
  dpm_test_mean_se(v, n, &mh, &se);
  assert_within_se(mh, se, en2, K_SE);
  /* component frequencies: binomial, se = sqrt(w (1 - w) / n); the point mass component returns its point */
  size_t cnt[4] = {0, 0, 0, 0};
  for (size_t a = 0; a < n; a++) {
    assert_true(comp[a] < 4);
    cnt[comp[a]]++;
    if (comp[a] == 3) assert_memory_equal(x + a * d, MU4[3], sizeof MU4[3]);
  }
  for (size_t k = 0; k < 4; k++)
    assert_within_se((double)cnt[k] / (double)n, sqrt(W4[k] * (1 - W4[k]) / (double)n), W4[k], K_SE);
  /* per-component: the full component alone has mean mu_2 and covariance FULL2 */
  size_t n2 = 0;
  for (size_t a = 0; a < n; a++)
    if (comp[a] == 2) memmove(x + n2++ * d, x + a * d, d * sizeof *x);
  double c2[9];
  for (size_t i = 0; i < 9; i++)
    c2[i] = FULL2[i];
  check_moments(x, n2, d, MU4[2], c2);
  /* a zero weight is never drawn */
  double w3[4] = {0.5, 0, 0.5, 0};
  assert_int_equal(dpm_mixture_set_weights(m, w3), 0);
  dpm_test_sample_q0(m, r, 100000, x, comp);
  for (size_t a = 0; a < 100000; a++)
    assert_true(comp[a] == 0 || comp[a] == 2);
  gsl_rng_free(r);
  free(v);
  free(x);
  free(comp);
  dpm_mixture_free(m);
}

/* q_t = law of m x0 + s eps: mean m mean_0, covariance m^2 Cov_0 + s^2 I (docs/MATH.md §2
 * "Sampling x_t ~ q_t"). */
static void test_sample_qt(void **state)
{
  (void)state;
  const size_t n = 400000, d = 3;
  const double mt = 0.6, st = 0.8;
  dpm_mixture *m = mixed4();
  double *x = malloc(n * d * sizeof *x), *x0 = malloc(n * d * sizeof *x0), *eps = malloc(n * d * sizeof *eps);
  gsl_rng *r = dpm_rng_stream_alloc(2, 0);
  dpm_test_sample_qt(m, r, mt, st, n, x, x0, eps);
  double mean[3], cov[9], en2, mt_mean[3], mt_cov[9];
  moments4(mean, cov, &en2);
  for (size_t i = 0; i < 3; i++)
    mt_mean[i] = mt * mean[i];
  for (size_t i = 0; i < 9; i++)
    mt_cov[i] = mt * mt * cov[i] + (i % 4 == 0 ? st * st : 0.0);
  check_moments(x, n, d, mt_mean, mt_cov);
  check_moments(x0, n, d, mean, cov);
  double zero[3] = {0, 0, 0}, eye[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  check_moments(eps, n, d, zero, eye);
  /* x = m x0 + s eps to the rounding of two products and a sum: |error| <= 2 u (|m x0| + |s eps|) */
  for (size_t i = 0; i < n * d; i++)
    assert_close(x[i], mt * x0[i] + st * eps[i], 0, 2 * DBL_EPSILON * (fabs(mt * x0[i]) + fabs(st * eps[i])));
  /* x0 and eps may be NULL: the same stream gives the same x */
  double *y = malloc(n * d * sizeof *y);
  dpm_rng_stream_set(r, 2, 0);
  dpm_test_sample_qt(m, r, mt, st, n, y, NULL, NULL);
  assert_memory_equal(x, y, n * d * sizeof *x);
  gsl_rng_free(r);
  free(x);
  free(x0);
  free(eps);
  free(y);
  dpm_mixture_free(m);
}

/* Sampling with a workspace: one workspace serves many calls (the draws equal those of a fresh workspace for the
 * same stream), and every bad argument is refused before the first draw: the output is untouched (no NaN fill)
 * and the generator has not advanced. */
static void test_sample_workspace(void **state)
{
  (void)state;
  const size_t n = 64;
  dpm_mixture *m = mixed4(), *other = dpm_mixture_alloc(2, 3);
  assert_non_null(other);
  dpm_mixture_sample_workspace *w = dpm_mixture_sample_alloc(m);
  assert_non_null(w);
  double a[64 * 3], b[64 * 3], keep[64 * 3];
  gsl_rng *r = dpm_rng_stream_alloc(5, 1);
  for (int rep = 0; rep < 3; rep++) { /* reuse: same stream, same bits as a fresh workspace */
    dpm_rng_stream_set(r, 5, 1);
    assert_int_equal(dpm_mixture_sample(m, w, r, n, a, NULL), DPM_SUCCESS);
    dpm_rng_stream_set(r, 5, 1);
    dpm_test_sample_q0(m, r, n, b, NULL);
    assert_memory_equal(a, b, sizeof a);
  }
  for (size_t i = 0; i < n * 3; i++)
    keep[i] = a[i] = 7.0;
  dpm_rng_stream_set(r, 5, 1);
  const unsigned long first = gsl_rng_get(r);
  dpm_rng_stream_set(r, 5, 1);
  assert_raises(dpm_mixture_sample(other, w, r, n, a, NULL), GSL_EBADLEN, "workspace is for K = 4");
  assert_raises(dpm_mixture_sample(m, NULL, r, n, a, NULL), GSL_EINVAL, "NULL");
  assert_raises(dpm_mixture_sample(m, w, r, n, NULL, NULL), GSL_EINVAL, "NULL output");
  assert_raises(dpm_mixture_sample_t(m, w, r, NAN, 1.0, n, a, NULL, NULL), GSL_EDOM, "m = nan");
  assert_raises(dpm_mixture_sample_t(m, w, r, 1.0, -1.0, n, a, NULL, NULL), GSL_EDOM, "s = -1");
  assert_raises(dpm_mixture_sample_t(m, w, r, 1.0, HUGE_VAL, n, a, NULL, NULL), GSL_EDOM, "s = inf");
  assert_memory_equal(a, keep, sizeof a);
  assert_true(gsl_rng_get(r) == first);
  dpm_mixture_sample_free(w);
  dpm_mixture_sample_free(NULL);
  assert_raises_null(dpm_mixture_sample_alloc(NULL), "NULL mixture");
  gsl_rng_free(r);
  dpm_mixture_free(m);
  dpm_mixture_free(other);
}

static void test_same_seed_same_bits(void **state)
{
  (void)state;
  const size_t n = 5000;
  dpm_mixture *m = mixed4();
  double *a = malloc(n * 3 * sizeof *a), *b = malloc(n * 3 * sizeof *b);
  gsl_rng *r = dpm_rng_stream_alloc(42, 7);
  dpm_test_sample_q0(m, r, n, a, NULL);
  gsl_rng_free(r);
  r = dpm_rng_stream_alloc(42, 7);
  dpm_test_sample_q0(m, r, n, b, NULL);
  assert_memory_equal(a, b, n * 3 * sizeof *a);
  dpm_rng_stream_set(r, 43, 7);
  dpm_test_sample_q0(m, r, n, b, NULL);
  assert_memory_not_equal(a, b, n * 3 * sizeof *a);
  gsl_rng_free(r);
  free(a);
  free(b);
  dpm_mixture_free(m);
  /* the drawn built-ins: the same seed gives the same points, another seed others */
  const char *specs[] = {"swissroll:noise=0.1,seed=5", "moons:seed=5", "checkerboard:seed=5",
                         "sample:of=ring8,n=300,seed=5"};
  for (size_t s = 0; s < 4; s++) {
    dpm_mixture *p = dpm_data_from_spec(specs[s]), *q = dpm_data_from_spec(specs[s]);
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal(p->K, q->K);
    assert_memory_equal(p->mu, q->mu, p->K * p->d * sizeof(double));
    dpm_mixture_free(p);
    dpm_mixture_free(q);
  }
  dpm_mixture *p = dpm_data_from_spec("moons:seed=5"), *q = dpm_data_from_spec("moons:seed=6");
  assert_memory_not_equal(p->mu, q->mu, p->K * p->d * sizeof(double));
  dpm_mixture_free(p);
  dpm_mixture_free(q);
}

/* Fraction of n draws outside [lo, hi]. */
static double outside_fraction(const dpm_mixture *m, double tail, size_t n, uint64_t seed)
{
  size_t d = m->d, out = 0;
  double *x = malloc(n * d * sizeof *x), *lo = malloc(d * sizeof *lo), *hi = malloc(d * sizeof *hi);
  gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
  dpm_mixture_box(m, tail, lo, hi);
  dpm_test_sample_q0(m, r, n, x, NULL);
  for (size_t a = 0; a < n; a++)
    for (size_t i = 0; i < d; i++)
      if (x[a * d + i] < lo[i] || x[a * d + i] > hi[i]) {
        out++;
        break;
      }
  gsl_rng_free(r);
  free(x);
  free(lo);
  free(hi);
  return (double)out / (double)n;
}

static void test_box(void **state)
{
  (void)state;
  const size_t n = 400000;
  const double tail = 0.05, se = sqrt(tail * (1 - tail) / (double)n);
  /* the union bound holds: P(outside) <= tail (one-sided, K_SE se of a binomial proportion at p = tail) */
  dpm_mixture *m = mixed4();
  assert_true(outside_fraction(m, tail, n, 3) <= tail + K_SE * se);
  dpm_mixture_free(m);
  m = dpm_data_from_spec("ring8");
  assert_true(outside_fraction(m, tail, n, 4) <= tail + K_SE * se);
  dpm_mixture_free(m);
  /* one Gaussian in 1-D: the box mu +- Q^{-1}(tail/2) sd holds exactly 1 - tail, so the bound is attained */
  m = dpm_data_from_spec("gauss:d=1,sd=3");
  assert_within_se(outside_fraction(m, tail, n, 5), se, tail, K_SE);
  double lo, hi;
  dpm_mixture_box(m, tail, &lo, &hi);
  assert_close(hi, 3 * 1.959963984540054, 1e-12, 0); /* Phi^{-1}(0.975) */
  assert_close(lo, -hi, 0, 0);
  dpm_mixture_free(m);
  /* point sets: the exact hull; a zero-weight point is not part of it */
  m = dpm_mixture_alloc(3, 2);
  double p0[2] = {-1, 5}, p1[2] = {2, -3}, p2[2] = {100, 100}, w[3] = {1, 1, 0}, blo[2], bhi[2];
  dpm_mixture_set_mean(m, 0, p0);
  dpm_mixture_set_mean(m, 1, p1);
  dpm_mixture_set_mean(m, 2, p2);
  dpm_mixture_set_weights(m, w);
  dpm_mixture_box(m, tail, blo, bhi);
  assert_true(blo[0] == -1 && bhi[0] == 2 && blo[1] == -3 && bhi[1] == 5);
  dpm_mixture_free(m);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alloc),
      cmocka_unit_test(test_setter_errors),
      cmocka_unit_test(test_symmetry_tolerance),
      cmocka_unit_test(test_eigen_factor),
      cmocka_unit_test(test_weights_labels_clone),
      cmocka_unit_test(test_moments_exact),
      cmocka_unit_test(test_sample_q0),
      cmocka_unit_test(test_sample_qt),
      cmocka_unit_test(test_same_seed_same_bits),
      cmocka_unit_test(test_sample_workspace),
      cmocka_unit_test(test_box),
  };
  return cmocka_run_group_tests_name("data_mixture", tests, NULL, NULL);
}
