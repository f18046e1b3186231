/* test_data.c — tests of dpm_data (docs/MATH.md §2): mixture setters and their errors, the eigen factorisation,
 * exact moments against an independent formula, exact sampling of q_0 and q_t checked by Monte Carlo within k
 * standard errors, the high-mass box, the JSON and CSV loaders (round trip and every error path) and the built-in
 * sets. */
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
#include "testutil.h"

/* Exact draws through a one-off sampling workspace, asserting success (q_0, or q_t = law of m x_0 + s eps). */
static void sample_q0(const dpm_mixture *mix, gsl_rng *r, size_t n, double *x, size_t *comp)
{
  dpm_mixture_sample_workspace *w = dpm_mixture_sample_alloc(mix);
  assert_non_null(w);
  assert_int_equal(dpm_mixture_sample(mix, w, r, n, x, comp), DPM_SUCCESS);
  dpm_mixture_sample_free(w);
}

static void sample_qt(const dpm_mixture *mix, gsl_rng *r, double m, double s, size_t n, double *x, double *x0,
                      double *eps)
{
  dpm_mixture_sample_workspace *w = dpm_mixture_sample_alloc(mix);
  assert_non_null(w);
  assert_int_equal(dpm_mixture_sample_t(mix, w, r, m, s, n, x, x0, eps), DPM_SUCCESS);
  dpm_mixture_sample_free(w);
}

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* Monte Carlo assertions are K_SE standard errors wide: with fixed seeds the tests are deterministic, and a
 * correct implementation fails one of the ~100 assertions below with probability about 100 * 5.7e-7. */
#define K_SE 5.0

/* ---- helpers ------------------------------------------------------------------------------------------- */

/* The call fails now (NULL, or a non-success status) with a reason containing substr (testutil.h). */
#define expect_null(expr, substr)   assert_raises_null((expr), (substr))
#define expect_status(expr, substr) assert_raises((expr), DPM_TEST_ANY_ERROR, (substr))

/* A mixture in R^3 with one component of every kind and unequal weights. */
static const double MU4[4][3] = {{1, -1, 0.5}, {-2, 0, 1}, {0, 2, -1}, {3, 3, 3}};
static const double W4[4] = {0.1, 0.3, 0.4, 0.2};
static const double DIAG1[3] = {0.5, 1.5, 0.2};
static const double FULL2[9] = {2, 0.6, 0.3, 0.6, 1, -0.2, 0.3, -0.2, 0.5};
static const double ISO0 = 0.3;

static dpm_mixture *mixed4(void)
{
  dpm_mixture *m = dpm_mixture_alloc(4, 3);
  assert_non_null(m);
  for (size_t k = 0; k < 4; k++)
    assert_int_equal(dpm_mixture_set_mean(m, k, MU4[k]), 0);
  assert_int_equal(dpm_mixture_set_iso(m, 0, ISO0), 0);
  assert_int_equal(dpm_mixture_set_diag(m, 1, DIAG1), 0);
  assert_int_equal(dpm_mixture_set_full(m, 2, FULL2), 0);
  assert_int_equal(dpm_mixture_set_zero(m, 3), 0);
  assert_int_equal(dpm_mixture_set_weights(m, W4), 0);
  return m;
}

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

static char *slurp_file(const char *path)
{
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  assert_non_null(s);
  assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
  s[n] = '\0';
  fclose(fp);
  return s;
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
  sample_q0(m, r, n, x, comp);
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
  sample_q0(m, r, 100000, x, comp);
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
  sample_qt(m, r, mt, st, n, x, x0, eps);
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
  sample_qt(m, r, mt, st, n, y, NULL, NULL);
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
    sample_q0(m, r, n, b, NULL);
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
  sample_q0(m, r, n, a, NULL);
  gsl_rng_free(r);
  r = dpm_rng_stream_alloc(42, 7);
  sample_q0(m, r, n, b, NULL);
  assert_memory_equal(a, b, n * 3 * sizeof *a);
  dpm_rng_stream_set(r, 43, 7);
  sample_q0(m, r, n, b, NULL);
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
  sample_q0(m, r, n, x, NULL);
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

/* ---- JSON ---------------------------------------------------------------------------------------------- */

/* Every field of a and b equal bit for bit. */
static void assert_same_mixture(const dpm_mixture *a, const dpm_mixture *b)
{
  assert_int_equal(a->K, b->K);
  assert_int_equal(a->d, b->d);
  size_t K = a->K, d = a->d;
  assert_memory_equal(a->w, b->w, K * sizeof(double));
  assert_memory_equal(a->logw, b->logw, K * sizeof(double));
  assert_memory_equal(a->mu, b->mu, K * d * sizeof(double));
  assert_memory_equal(a->kind, b->kind, K * sizeof(dpm_cov_kind));
  assert_memory_equal(a->lambda, b->lambda, K * d * sizeof(double));
  assert_true((a->U == NULL) == (b->U == NULL));
  for (size_t k = 0; k < K; k++)
    if (a->kind[k] == DPM_COV_FULL) {
      assert_memory_equal(a->U + k * d * d, b->U + k * d * d, d * d * sizeof(double));
      assert_memory_equal(a->Sigma + k * d * d, b->Sigma + k * d * d, d * d * sizeof(double));
    }
  assert_true((a->labels == NULL) == (b->labels == NULL));
  if (a->labels) assert_memory_equal(a->labels, b->labels, K * sizeof(int));
  assert_int_equal(a->nlabels, b->nlabels);
}

static void test_json_roundtrip(void **state)
{
  (void)state;
  dpm_mixture *m = mixed4();
  /* awkward numbers: -0, tiny, huge, 17 significant digits, weights that do not sum to 1 */
  double mu0[3] = {-0.0, 1e-300, 123456789.12345679}, w[4] = {1, 2, 3, 1.0 / 3.0};
  assert_int_equal(dpm_mixture_set_mean(m, 0, mu0), 0);
  assert_int_equal(dpm_mixture_set_weights(m, w), 0);
  int lab[4] = {0, 2, 1, 2};
  assert_int_equal(dpm_mixture_set_labels(m, lab), 0);
  char path[] = "/tmp/dpmtest-rtXXXXXX.json", path2[] = "/tmp/dpmtest-rt2XXXXXX.json";
  int fd = mkstemps(path, 5), fd2 = mkstemps(path2, 5);
  assert_true(fd >= 0 && fd2 >= 0);
  close(fd);
  close(fd2);
  FILE *fp = fopen(path, "w");
  assert_int_equal(dpm_data_write_json(m, fp), 0);
  fclose(fp);
  dpm_mixture *l = dpm_data_load_json(path);
  assert_non_null(l);
  assert_same_mixture(m, l);
  assert_true(signbit(l->mu[0]));
  assert_string_equal(l->name, path);
  /* write(load(write(m))) is the same text, and from_spec dispatches ".json" to the same loader */
  fp = fopen(path2, "w");
  assert_int_equal(dpm_data_write_json(l, fp), 0);
  fclose(fp);
  char *t1 = slurp_file(path), *t2 = slurp_file(path2);
  assert_string_equal(t1, t2);
  dpm_mixture *s = dpm_data_from_spec(path);
  assert_non_null(s);
  assert_same_mixture(m, s);
  assert_string_equal(s->name, path);
  dpm_mixture *s2 = dpm_data_load_json_string(t1, "mem");
  assert_non_null(s2);
  assert_same_mixture(m, s2);
  assert_string_equal(s2->name, "mem");
  /* a point set writes no covariances and reads back as one */
  dpm_mixture *ps = dpm_data_from_spec("moons:n=50");
  fp = fopen(path2, "w");
  assert_int_equal(dpm_data_write_json(ps, fp), 0);
  fclose(fp);
  free(t2);
  t2 = slurp_file(path2);
  assert_null(strstr(t2, "covariances"));
  dpm_mixture *pl = dpm_data_load_json(path2);
  assert_non_null(pl);
  assert_true(dpm_mixture_is_pointset(pl));
  assert_same_mixture(ps, pl);
  unlink(path);
  unlink(path2);
  free(t1);
  free(t2);
  dpm_mixture_free(m);
  dpm_mixture_free(l);
  dpm_mixture_free(s);
  dpm_mixture_free(s2);
  dpm_mixture_free(ps);
  dpm_mixture_free(pl);
}

static void test_json_forms(void **state)
{
  (void)state;
  /* one number, a list of variances, a matrix, 0 for a point mass; weights optional (equal) */
  dpm_mixture *m = dpm_data_load_json_string("{\"means\": [[0, 1], [2, 3], [4, 5], [6, 7]],\n"
                                             " \"covariances\": [2, [1, 3], [[2, 1], [1, 2]], 0]}",
                                             "forms");
  assert_non_null(m);
  assert_int_equal(m->kind[0], DPM_COV_ISO);
  assert_int_equal(m->kind[1], DPM_COV_DIAG);
  assert_int_equal(m->kind[2], DPM_COV_FULL);
  assert_int_equal(m->kind[3], DPM_COV_ZERO);
  for (size_t k = 0; k < 4; k++)
    assert_true(m->w[k] == 0.25);
  assert_true(m->lambda[0] == 2 && m->lambda[1] == 2 && m->lambda[2] == 1 && m->lambda[3] == 3);
  /* [[2,1],[1,2]] has eigenvalues 3 and 1 */
  double l0 = fmax(m->lambda[4], m->lambda[5]), l1 = fmin(m->lambda[4], m->lambda[5]);
  assert_close(l0, 3, 4 * DBL_EPSILON, 0);
  assert_close(l1, 1, 8 * DBL_EPSILON, 0);
  assert_true(m->mu[5] == 5 && m->mu[7] == 7);
  assert_null(m->labels);
  assert_false(dpm_mixture_is_pointset(m));
  dpm_mixture_free(m);
  m = dpm_data_load_json_string("{\"means\": [[1], [2.5]], \"weights\": [1, 3], \"labels\": [1, 0]}", "pts");
  assert_non_null(m);
  assert_true(dpm_mixture_is_pointset(m));
  assert_true(m->w[0] == 0.25 && m->w[1] == 0.75);
  assert_int_equal(m->labels[0], 1);
  assert_int_equal(m->nlabels, 2);
  dpm_mixture_free(m);
}

static void test_json_errors(void **state)
{
  (void)state;
  /* syntax error: the reason is file:LINE:COL; the bad token is on line 3 */
  const char *p = dpm_test_tmpfile(".json", "{\n  \"means\": [[1, 2],\n    [3 4]]\n}\n");
  assert_non_null(p);
  char want[128];
  snprintf(want, sizeof want, "%s:3:", p);
  expect_null(dpm_data_load_json(p), want);
  expect_null(dpm_data_from_spec(p), want);
  unlink(p);
  expect_null(dpm_data_load_json("/nonexistent/dir/x.json"), "/nonexistent/dir/x.json: unable to open");
  expect_null(dpm_data_load_json_string("{\"means\": [[1]],}", "t"), "t:1:");
  expect_null(dpm_data_load_json_string("{\"means\": [[1]], \"means\": [[2]]}", "t"), "duplicate");

  struct {
    const char *text, *reason;
  } cases[] = {
      {"[1, 2]", "t: top level must be an object"},
      {"{}", "t: missing \"means\""},
      {"{\"weights\": [1]}", "t: missing \"means\""},
      {"{\"means\": []}", "t: means: expected a non-empty list"},
      {"{\"means\": [[]]}", "t: means[0]: expected a non-empty list"},
      {"{\"means\": 3}", "t: means: expected a non-empty list"},
      {"{\"means\": [[1, 2], [3]]}", "t: means[1]: has 1 coordinates but means[0] has 2"},
      {"{\"means\": [[1, 2], 3]}", "t: means[1]: expected a list of 2 numbers"},
      {"{\"means\": [[1, 2], [3, 4], [\"a\", 5]]}", "t: means[2][0]: expected a number"},
      {"{\"means\": [[1, null]]}", "t: means[0][1]: expected a number"},
      {"{\"means\": [[1, true]]}", "t: means[0][1]: expected a number"},
      {"{\"means\": [[1]], \"colour\": 3}", "t: unknown key \"colour\""},
      {"{\"means\": [[1], [2]], \"weights\": [1]}", "t: weights: expected a list of 2 numbers"},
      {"{\"means\": [[1], [2]], \"weights\": 1}", "t: weights: expected a list of 2 numbers"},
      {"{\"means\": [[1], [2]], \"weights\": [1, \"x\"]}", "t: weights[1]: expected a number"},
      {"{\"means\": [[1], [2]], \"weights\": [0.5, -0.1]}", "t: weights: negative weight -0.1 at component 1"},
      {"{\"means\": [[1], [2]], \"weights\": [0, 0]}", "t: weights: sum must be positive"},
      {"{\"means\": [[1, 2], [3, 4]], \"covariances\": [1]}", "t: covariances: expected a list of 2 entries"},
      {"{\"means\": [[1, 2], [3, 4]], \"covariances\": [1, [1, 2, 3]]}",
       "t: covariances[1]: expected a number, a list of 2 variances or a 2 x 2 matrix"},
      {"{\"means\": [[1, 2], [3, 4]], \"covariances\": [1, \"big\"]}", "t: covariances[1]: expected a number"},
      {"{\"means\": [[1, 2], [3, 4]], \"covariances\": [[1, 2], [[1, 0], [0]]]}",
       "t: covariances[1][1]: expected 2 numbers, got 1"},
      {"{\"means\": [[1, 2], [3, 4]], \"covariances\": [[1, 2], [[1, 0], [0, null]]]}",
       "t: covariances[1][1][1]: expected a number"},
      {"{\"means\": [[1, 2], [3, 4]], \"covariances\": [[1, -1], 1]}",
       "t: component 0: variance -1 at coordinate 1"},
      {"{\"means\": [[1, 2], [3, 4]], \"covariances\": [1, -2]}",
       "t: covariances[1]: variance -2 must be positive"},
      {"{\"means\": [[1, 2], [3, 4]], \"covariances\": [1, [[1, 2], [2, 1]]]}",
       "t: component 1: covariance is not positive definite"},
      {"{\"means\": [[1, 2], [3, 4]], \"covariances\": [[[1, 0.5], [0.4, 1]], 1]}",
       "t: component 0: covariance is not symmetric"},
      {"{\"means\": [[1], [2]], \"labels\": [0]}", "t: labels: expected a list of 2 integers"},
      {"{\"means\": [[1], [2]], \"labels\": [0, -1]}", "t: labels[1]: expected an integer"},
      {"{\"means\": [[1], [2]], \"labels\": [0, 1.5]}", "t: labels[1]: expected an integer"},
  };
  char why[1400];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dpm_error_clear();
    dpm_mixture *m = dpm_data_load_json_string(cases[i].text, "t");
    if (!dpm_test_raised_null(m, cases[i].reason, why, sizeof why)) {
      dpm_mixture_free(m);
      print_error("case %zu: %s: %s\n", i, cases[i].text, why);
      fail();
    }
  }
  expect_status(dpm_data_write_json(NULL, stdout), "NULL mixture");
}

/* ---- CSV ----------------------------------------------------------------------------------------------- */

static void test_csv(void **state)
{
  (void)state;
  const char *p = dpm_test_tmpfile(".csv", "# a point set\nx, y\n\n1.5, -2\n# middle comment\n  3,4e-1 \n\n0,0\n");
  dpm_mixture *m = dpm_data_load_csv(p);
  assert_non_null(m);
  assert_int_equal(m->K, 3);
  assert_int_equal(m->d, 2);
  assert_true(dpm_mixture_is_pointset(m));
  const double want[6] = {1.5, -2, 3, 0.4, 0, 0};
  assert_memory_equal(m->mu, want, sizeof want);
  for (size_t k = 0; k < 3; k++)
    assert_true(m->w[k] == 1.0 / 3.0);
  assert_string_equal(m->name, p);
  dpm_mixture_free(m);
  m = dpm_data_from_spec(p); /* ".csv" dispatches here */
  assert_non_null(m);
  assert_int_equal(m->K, 3);
  dpm_mixture_free(m);
  unlink(p);

  struct {
    const char *text, *reason;
  } cases[] = {
      {"1,2\n3,4\n5\n", ":3: 1 columns, expected 2"},
      {"a,b\n1,2\n3,4,5\n", ":3: 3 columns, expected 2"},
      {"1,2\nnan,4\n", ":2: field 1 is not finite"},
      {"1,2\n3,inf\n", ":2: field 2 is not finite"},
      {"x,y\n1,2\n3,abc\n", ":3: field 2 is not a number"},
      {"", "no data rows"},
      {"# only a comment\n\n", "no data rows"},
      {"x,y\n", "no data rows"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    p = dpm_test_tmpfile(".csv", cases[i].text);
    char reason[160];
    snprintf(reason, sizeof reason, "%s%s", cases[i].reason[0] == ':' ? p : "", cases[i].reason);
    expect_null(dpm_data_load_csv(p), reason);
    unlink(p);
  }
  /* a line longer than DPM_IO_MAX_LINE on line 2 */
  size_t len = DPM_IO_MAX_LINE + 100;
  char *text = malloc(len + 16);
  strcpy(text, "1,2\n");
  memset(text + 4, '1', len);
  strcpy(text + 4 + len, "\n");
  p = dpm_test_tmpfile(".csv", text);
  char longline[160];
  snprintf(longline, sizeof longline, "%s:2: line too long", p);
  expect_null(dpm_data_load_csv(p), longline);
  unlink(p);
  free(text);
  expect_null(dpm_data_load_csv("/nonexistent/dir/p.csv"), "/nonexistent/dir/p.csv: cannot open");
  expect_null(dpm_data_from_spec("/nonexistent/dir/p.csv"), "cannot open");
}

/* ---- built-in sets ------------------------------------------------------------------------------------- */

static void test_builtin_gaussian_sets(void **state)
{
  (void)state;
  dpm_mixture *m = dpm_data_from_spec("gmm1d:sep=6,sd=1.5,w=0.2");
  assert_non_null(m);
  assert_int_equal(m->K, 2);
  assert_int_equal(m->d, 1);
  assert_true(m->mu[0] == -3 && m->mu[1] == 3);
  assert_true(m->kind[0] == DPM_COV_ISO && m->lambda[0] == 2.25 && m->lambda[1] == 2.25);
  assert_close(m->w[0], 0.2, 1e-15, 0);
  assert_close(m->w[1], 0.8, 1e-15, 0);
  assert_int_equal(m->labels[0], 0);
  assert_int_equal(m->labels[1], 1);
  assert_string_equal(m->name, "gmm1d:sep=6,sd=1.5,w=0.2");
  dpm_mixture_free(m);

  m = dpm_data_from_spec("ring8:r=3");
  assert_non_null(m);
  assert_int_equal(m->K, 8);
  assert_int_equal(m->d, 2);
  assert_int_equal(m->nlabels, 8);
  for (size_t k = 0; k < 8; k++) {
    assert_close(hypot(m->mu[2 * k], m->mu[2 * k + 1]), 3, 1e-15, 0);
    assert_close(atan2(m->mu[2 * k + 1], m->mu[2 * k]), remainder(2 * M_PI * (double)k / 8, 2 * M_PI), 0, 1e-15);
    assert_close(m->lambda[2 * k], 0.04, 1e-15, 0);
    assert_int_equal(m->labels[k], (int)k);
    assert_close(m->w[k], 0.125, 0, 0);
  }
  dpm_mixture_free(m);

  m = dpm_data_from_spec("grid25:sd=0.5");
  assert_non_null(m);
  assert_int_equal(m->K, 25);
  for (size_t row = 0; row < 5; row++)
    for (size_t col = 0; col < 5; col++) {
      size_t k = 5 * row + col;
      assert_true(m->mu[2 * k] == 2.0 * ((double)col - 2) && m->mu[2 * k + 1] == 2.0 * ((double)row - 2));
      assert_int_equal(m->labels[k], (int)k);
      assert_true(m->lambda[2 * k] == 0.25);
    }
  dpm_mixture_free(m);

  m = dpm_data_from_spec("gauss:d=5,sd=2");
  assert_non_null(m);
  assert_int_equal(m->K, 1);
  assert_int_equal(m->d, 5);
  for (size_t i = 0; i < 5; i++)
    assert_true(m->mu[i] == 0 && m->lambda[i] == 4);
  dpm_mixture_free(m);
  m = dpm_data_from_spec("gauss");
  assert_int_equal(m->d, 2);
  assert_true(m->lambda[0] == 1);
  dpm_mixture_free(m);

  const char *help = dpm_data_builtin_help();
  const char *names[] = {"gmm1d", "ring8", "grid25", "swissroll", "moons", "checkerboard", "gauss", "sample"};
  for (size_t i = 0; i < 8; i++)
    assert_non_null(strstr(help, names[i]));
}

static void test_builtin_point_sets(void **state)
{
  (void)state;
  /* swiss roll without noise lies on the curve: with (X, Y) = 7 p + (2, 2/(3 pi)), t = |(X, Y)| in
   * [1.5 pi, 4.5 pi] and the polar angle equals t mod 2 pi */
  dpm_mixture *m = dpm_data_from_spec("swissroll:n=500");
  assert_non_null(m);
  assert_int_equal(m->K, 500);
  assert_int_equal(m->d, 2);
  assert_true(dpm_mixture_is_pointset(m));
  for (size_t k = 0; k < 500; k++) {
    double X = 7 * m->mu[2 * k] + 2, Y = 7 * m->mu[2 * k + 1] + 2 / (3 * M_PI), t = hypot(X, Y);
    assert_true(t >= 1.5 * M_PI - 1e-12 && t <= 4.5 * M_PI + 1e-12);
    assert_close(remainder(atan2(Y, X) - t, 2 * M_PI), 0, 0, 1e-12);
  }
  /* the population mean is 0 and the spread about unit: sample mean within K_SE se */
  double mean[2], cov[4];
  dpm_mixture_moments(m, mean, cov, NULL);
  assert_within_se(mean[0], sqrt(cov[0] / 500), 0, K_SE);
  assert_within_se(mean[1], sqrt(cov[3] / 500), 0, K_SE);
  assert_true(cov[0] > 0.5 && cov[0] < 1.5 && cov[3] > 0.5 && cov[3] < 1.5);
  dpm_mixture_free(m);

  /* moons without noise: outer points on the unit circle about (-0.5, -0.25), inner on the one about
   * (0.5, 0.25); labels 0 then 1 */
  m = dpm_data_from_spec("moons:n=101,noise=0");
  assert_non_null(m);
  assert_int_equal(m->K, 101);
  assert_int_equal(m->nlabels, 2);
  for (size_t k = 0; k < 101; k++) {
    int inner = k >= 50;
    assert_int_equal(m->labels[k], inner);
    double cx = inner ? 0.5 : -0.5, cy = inner ? 0.25 : -0.25;
    assert_close(hypot(m->mu[2 * k] - cx, m->mu[2 * k + 1] - cy), 1, 0, 1e-14);
  }
  dpm_mixture_free(m);

  /* checkerboard: every point on a black square of [-2,2]^2, the 8 squares equally likely (binomial se) */
  const size_t n = 80000;
  m = dpm_data_from_spec("checkerboard:n=80000,seed=9");
  assert_non_null(m);
  size_t cnt[16] = {0};
  for (size_t k = 0; k < n; k++) {
    double x = m->mu[2 * k], y = m->mu[2 * k + 1];
    assert_true(x >= -2 && x <= 2 && y >= -2 && y <= 2);
    int c = (int)floor(x + 2), r = (int)floor(y + 2);
    assert_int_equal((c + r) % 2, 0);
    cnt[4 * r + c]++;
  }
  for (int r = 0; r < 4; r++)
    for (int c = r % 2; c < 4; c += 2)
      assert_within_se((double)cnt[4 * r + c] / (double)n, sqrt(0.125 * 0.875 / (double)n), 0.125, K_SE);
  dpm_mixture_free(m);

  /* sample: the draws are exactly those of dpm_mixture_sample with the stream (seed, 0); labels carried over */
  m = dpm_data_from_spec("sample:of=gmm1d:sep=6,n=50,seed=3");
  assert_non_null(m);
  assert_int_equal(m->K, 50);
  assert_int_equal(m->d, 1);
  assert_true(dpm_mixture_is_pointset(m));
  assert_string_equal(m->name, "sample:of=gmm1d:sep=6,n=50,seed=3");
  dpm_mixture *src = dpm_data_from_spec("gmm1d:sep=6");
  gsl_rng *r = dpm_rng_stream_alloc(3, 0);
  double x[50];
  size_t comp[50];
  sample_q0(src, r, 50, x, comp);
  assert_memory_equal(m->mu, x, sizeof x);
  for (size_t k = 0; k < 50; k++)
    assert_int_equal(m->labels[k], (int)comp[k]);
  gsl_rng_free(r);
  dpm_mixture_free(src);
  dpm_mixture_free(m);
  /* inner options after the first: n= belongs to sample, the other options to the inner spec */
  m = dpm_data_from_spec("sample:of=moons:n=100,noise=0.1,n=20");
  assert_non_null(m);
  assert_int_equal(m->K, 20);
  dpm_mixture_free(m);
  /* the inner spec may be a file */
  const char *p = dpm_test_tmpfile(".json", "{\"means\": [[1, 2]], \"covariances\": [0.5]}");
  char spec[128];
  snprintf(spec, sizeof spec, "sample:of=%s,n=7", p);
  m = dpm_data_from_spec(spec);
  assert_non_null(m);
  assert_int_equal(m->K, 7);
  assert_int_equal(m->d, 2);
  dpm_mixture_free(m);
  unlink(p);
}

static void test_builtin_errors(void **state)
{
  (void)state;
  struct {
    const char *spec, *reason;
  } cases[] = {
      {"foo", "unknown data set 'foo' (known: gmm1d, ring8"},
      {"foo:sd=1", "unknown data set 'foo'"},
      {"", "empty data spec"},
      {"gmm1d:bogus=1", "gmm1d: unknown option 'bogus' (options: sep, sd, w)"},
      {"gmm1d:sd", "gmm1d: malformed option 'sd'"},
      {"gmm1d:=3", "gmm1d: malformed option"},
      {"gmm1d:sd=", "gmm1d: option 'sd': empty value"},
      {"gmm1d:sd=abc", "gmm1d: option 'sd': malformed value 'abc'"},
      {"gmm1d:sd=1x", "gmm1d: option 'sd': malformed value '1x'"},
      {"gmm1d:sd=0", "gmm1d: option 'sd' must be > 0"},
      {"gmm1d:sd=-1", "gmm1d: option 'sd' must be > 0"},
      {"gmm1d:sd=nan", "gmm1d: option 'sd': value 'nan' is not a finite number"},
      {"gmm1d:sd=1e999", "gmm1d: option 'sd'"},
      {"gmm1d:w=1", "gmm1d: option 'w' must lie in (0, 1)"},
      {"gmm1d:sep=-2", "gmm1d: option 'sep' must be >= 0"},
      {"gmm1d:sd=1,sd=2", "gmm1d: option 'sd' given twice"},
      {"ring8:sd=0", "ring8: option 'sd' must be > 0"},
      {"grid25:n=4", "grid25: unknown option 'n'"},
      {"gauss:d=0", "gauss: option 'd' must lie in [1,"},
      {"gauss:d=2.5", "gauss: option 'd' must be an integer"},
      {"swissroll:n=0", "swissroll: option 'n' must lie in [1, 10000000]"},
      {"swissroll:n=20000000", "swissroll: option 'n' must lie in [1, 10000000]"},
      {"swissroll:noise=-1", "swissroll: option 'noise' must be >= 0"},
      {"moons:seed=-1", "moons: option 'seed': malformed value '-1'"},
      {"moons:seed=abc", "moons: option 'seed': malformed value"},
      {"moons:seed=99999999999999999999999", "moons: option 'seed': value"},
      {"checkerboard:noise=1", "checkerboard: unknown option 'noise'"},
      {"sample", "sample: needs the option 'of=SPEC'"},
      {"sample:n=5", "sample: the option 'of=SPEC' must come first"},
      {"sample:of=", "sample: option 'of': empty value"},
      {"sample:of=foo,n=5", "unknown data set 'foo'"},
      {"sample:of=gmm1d,n=0", "sample: option 'n' must lie in [1,"},
      {"sample:of=gmm1d:sd=-1,n=5", "gmm1d: option 'sd' must be > 0"},
      {"sample:of=gauss:d=100000,n=10000", "sample: option 'n'"},
      {"sample:of=gmm1d,n=5,n=6", "sample: option 'n' given twice"},
      {"/nonexistent/m.json", "unable to open"},
  };
  char why[1400];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dpm_error_clear();
    dpm_mixture *m = dpm_data_from_spec(cases[i].spec);
    if (!dpm_test_raised_null(m, cases[i].reason, why, sizeof why)) {
      dpm_mixture_free(m);
      print_error("spec \"%s\": %s\n", cases[i].spec, why);
      fail();
    }
  }
  expect_null(dpm_data_from_spec(NULL), "empty data spec");
  /* "name:" with nothing after the colon is the defaults */
  dpm_mixture *m = dpm_data_from_spec("ring8:");
  assert_non_null(m);
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
      cmocka_unit_test(test_json_roundtrip),
      cmocka_unit_test(test_json_forms),
      cmocka_unit_test(test_json_errors),
      cmocka_unit_test(test_csv),
      cmocka_unit_test(test_builtin_gaussian_sets),
      cmocka_unit_test(test_builtin_point_sets),
      cmocka_unit_test(test_builtin_errors),
  };
  return cmocka_run_group_tests_name("data", tests, NULL, NULL);
}
