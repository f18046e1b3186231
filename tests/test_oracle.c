/* test_oracle.c — the closed-form oracle (docs/MATH.md §2) against independent routes: a dense Cholesky
 * computation of the textbook formulas, a long-double brute force, finite differences of log q_t and of the score,
 * Tweedie's formula, self-normalised Monte Carlo over the prior, the identity E tr Cov[eps|x] = d - E|E[eps|x]|^2,
 * the VP<->VE change of variables, rotations (full vs diagonal covariances), extreme (m, s), class posteriors,
 * error paths and thread-count independence; plus the oracle-backed denoiser. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>

#include "dpmlab.h"
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

#define EPSU DBL_EPSILON

/* ---- test mixtures ------------------------------------------------------------------------------------------ */

/* d = 3, K = 5, one component of every kind (two full, one nearly singular), unequal weights, three labels. */
static dpm_mixture *mix_a(void)
{
  dpm_mixture *mix = dpm_mixture_alloc(5, 3);
  assert_non_null(mix);
  const double mu[5][3] = {
      {1.0, 0.0, 0.0}, {-1.0, 1.0, 0.5}, {0.0, -1.5, 1.0}, {2.0, 2.0, -1.0}, {-0.5, 0.5, -1.5}};
  for (size_t k = 0; k < 5; k++)
    assert_int_equal(dpm_mixture_set_mean(mix, k, mu[k]), DPM_SUCCESS);
  assert_int_equal(dpm_mixture_set_iso(mix, 0, 0.5), DPM_SUCCESS);
  const double var1[3] = {0.3, 1.2, 0.05};
  assert_int_equal(dpm_mixture_set_diag(mix, 1, var1), DPM_SUCCESS);
  const double cov2[9] = {1.0, 0.6, -0.2, 0.6, 0.8, 0.1, -0.2, 0.1, 0.4};
  assert_int_equal(dpm_mixture_set_full(mix, 2, cov2), DPM_SUCCESS);
  assert_int_equal(dpm_mixture_set_zero(mix, 3), DPM_SUCCESS);
  const double cov4[9] = {0.5, 0.49, 0.0, 0.49, 0.5, 0.0, 0.0, 0.0, 0.2}; /* eigenvalues 0.99, 0.2, 0.01 */
  assert_int_equal(dpm_mixture_set_full(mix, 4, cov4), DPM_SUCCESS);
  const double w[5] = {0.3, 0.2, 0.25, 0.15, 0.1};
  assert_int_equal(dpm_mixture_set_weights(mix, w), DPM_SUCCESS);
  const int labels[5] = {0, 1, 0, 2, 1};
  assert_int_equal(dpm_mixture_set_labels(mix, labels), DPM_SUCCESS);
  return mix;
}

/* A finite set of K points in R^2 with coordinates multiples of 1/8 (so m y is exact for m = 1e4 and x - m y is
 * exact near m y), unequal weights. */
static dpm_mixture *mix_points(void)
{
  const double Y[7][2] = {{0.0, 0.0}, {1.0, 0.5},     {-1.25, 0.75}, {0.5, -1.5},
                          {2.0, 2.0}, {-2.0, -0.125}, {0.375, 1.625}};
  dpm_mixture *mix = dpm_mixture_alloc(7, 2);
  assert_non_null(mix);
  for (size_t k = 0; k < 7; k++)
    assert_int_equal(dpm_mixture_set_mean(mix, k, Y[k]), DPM_SUCCESS);
  const double w[7] = {1, 2, 1, 3, 1, 1, 2};
  assert_int_equal(dpm_mixture_set_weights(mix, w), DPM_SUCCESS);
  return mix;
}

/* A mixture of diagonal kinds only (iso, diag, zero) in R^2, multiples of 1/8 again. */
static dpm_mixture *mix_diag(void)
{
  dpm_mixture *mix = dpm_mixture_alloc(4, 2);
  assert_non_null(mix);
  const double mu[4][2] = {{0.5, 0.25}, {-1.0, 1.5}, {1.75, -1.0}, {-0.5, -2.0}};
  for (size_t k = 0; k < 4; k++)
    assert_int_equal(dpm_mixture_set_mean(mix, k, mu[k]), DPM_SUCCESS);
  assert_int_equal(dpm_mixture_set_iso(mix, 0, 0.25), DPM_SUCCESS);
  const double v1[2] = {0.5, 0.0625};
  assert_int_equal(dpm_mixture_set_diag(mix, 1, v1), DPM_SUCCESS);
  const double v3[2] = {1e-3, 2.0};
  assert_int_equal(dpm_mixture_set_diag(mix, 3, v3), DPM_SUCCESS);
  const double w[4] = {0.4, 0.3, 0.2, 0.1};
  assert_int_equal(dpm_mixture_set_weights(mix, w), DPM_SUCCESS);
  return mix;
}

/* Every output of the oracle for n points, in one allocation. */
typedef struct {
  size_t n, d, K, L;
  double *logq, *score, *hess, *lap, *x0, *eps, *trcov, *diagcov, *cov, *resp, *logresp, *cpost;
  dpm_oracle_result res;
} full_out;

static void out_alloc(full_out *o, size_t n, const dpm_mixture *mix)
{
  memset(o, 0, sizeof *o);
  o->n = n;
  o->d = mix->d;
  o->K = mix->K;
  o->L = (size_t)mix->nlabels;
  size_t d = o->d;
  o->logq = calloc(n, sizeof(double));
  o->score = calloc(n * d, sizeof(double));
  o->hess = calloc(n * d * d, sizeof(double));
  o->lap = calloc(n, sizeof(double));
  o->x0 = calloc(n * d, sizeof(double));
  o->eps = calloc(n * d, sizeof(double));
  o->trcov = calloc(n, sizeof(double));
  o->diagcov = calloc(n * d, sizeof(double));
  o->cov = calloc(n * d * d, sizeof(double));
  o->resp = calloc(n * o->K, sizeof(double));
  o->logresp = calloc(n * o->K, sizeof(double));
  o->cpost = o->L ? calloc(n * o->L, sizeof(double)) : NULL;
  o->res = (dpm_oracle_result){.logq = o->logq,
                               .score = o->score,
                               .hess = o->hess,
                               .lap = o->lap,
                               .x0 = o->x0,
                               .eps = o->eps,
                               .trcov = o->trcov,
                               .diagcov = o->diagcov,
                               .cov = o->cov,
                               .resp = o->resp,
                               .logresp = o->logresp,
                               .class_post = o->cpost};
}

static void out_free(full_out *o)
{
  free(o->logq);
  free(o->score);
  free(o->hess);
  free(o->lap);
  free(o->x0);
  free(o->eps);
  free(o->trcov);
  free(o->diagcov);
  free(o->cov);
  free(o->resp);
  free(o->logresp);
  free(o->cpost);
}

static void eval_all(dpm_oracle *orc, double m, double s, size_t n, const double *x, full_out *o)
{
  assert_int_equal(dpm_oracle_eval(orc, m, s, n, x, &o->res), DPM_SUCCESS);
}

/* Assert |a - b| <= tol * scale componentwise over len entries. */
static void vec_close(const double *a, const double *b, size_t len, double tol, const double *scale, double scale1)
{
  for (size_t i = 0; i < len; i++)
    assert_close(a[i], b[i], 0.0, tol * (scale ? scale[i] : scale1));
}

/* ---- route 1: textbook formulas with dense Cholesky factors (docs/MATH.md §2 as printed) -------------------- */

typedef struct {
  double logq, lap, trcov;
  double score[8], x0[8], hess[64], cov[64], resp[8];
  /* magnitudes: sums of |terms| entering each output, for a forward rounding bound */
  double mag_score[8], mag_x0[8], mag_hess[64], mag_cov[64], mag_lap, mag_tr, mag_logq;
  double kappa; /* max condition number of the C_k */
} dense_ref;

static void ref_dense(const dpm_mixture *mix, double m, double s, const double *x, dense_ref *R)
{
  const size_t d = mix->d, K = mix->K;
  assert_true(d <= 8 && K <= 8);
  memset(R, 0, sizeof *R);
  double l[8], g[8][8], x0k[8][8], Sk[8][64], Cinv[8][64], Sig[64];
  gsl_matrix *C = gsl_matrix_alloc(d, d);
  gsl_vector *b = gsl_vector_alloc(d), *y = gsl_vector_alloc(d);
  for (size_t k = 0; k < K; k++) {
    dpm_mixture_cov(mix, k, Sig);
    for (size_t i = 0; i < d; i++)
      for (size_t j = 0; j < d; j++)
        gsl_matrix_set(C, i, j, m * m * Sig[i * d + j] + (i == j ? s * s : 0.0));
    double cmax = 0;
    for (size_t i = 0; i < d; i++)
      cmax = fmax(cmax, gsl_matrix_get(C, i, i));
    assert_int_equal(gsl_linalg_cholesky_decomp1(C), GSL_SUCCESS);
    double logdet = 0.0;
    for (size_t i = 0; i < d; i++)
      logdet += 2.0 * log(gsl_matrix_get(C, i, i));
    R->kappa = fmax(R->kappa, (m * m * 2.0 * cmax + s * s) / (s * s));
    for (size_t i = 0; i < d; i++)
      gsl_vector_set(b, i, x[i] - m * mix->mu[k * d + i]);
    gsl_linalg_cholesky_solve(C, b, y); /* y = C^{-1}(x - m mu) */
    double quad = 0.0;
    for (size_t i = 0; i < d; i++)
      quad += gsl_vector_get(b, i) * gsl_vector_get(y, i);
    l[k] = mix->logw[k] - 0.5 * quad - 0.5 * (logdet + (double)d * log(2.0 * 3.14159265358979323846));
    for (size_t i = 0; i < d; i++)
      g[k][i] = -gsl_vector_get(y, i);
    for (size_t i = 0; i < d; i++) { /* mu_hat = mu + m Sigma C^{-1}(x - m mu) */
      double acc = 0.0;
      for (size_t j = 0; j < d; j++)
        acc += Sig[i * d + j] * gsl_vector_get(y, j);
      x0k[k][i] = mix->mu[k * d + i] + m * acc;
    }
    for (size_t j = 0; j < d; j++) { /* columns of C^{-1} and of C^{-1} Sigma */
      for (size_t i = 0; i < d; i++)
        gsl_vector_set(b, i, i == j ? 1.0 : 0.0);
      gsl_linalg_cholesky_solve(C, b, y);
      for (size_t i = 0; i < d; i++)
        Cinv[k][i * d + j] = gsl_vector_get(y, i);
    }
    for (size_t i = 0; i < d; i++) /* S = Sigma - m^2 Sigma C^{-1} Sigma */
      for (size_t j = 0; j < d; j++) {
        double acc = 0.0;
        for (size_t p = 0; p < d; p++)
          for (size_t q = 0; q < d; q++)
            acc += Sig[i * d + p] * Cinv[k][p * d + q] * Sig[q * d + j];
        Sk[k][i * d + j] = Sig[i * d + j] - m * m * acc;
      }
  }
  double mx = -HUGE_VAL;
  for (size_t k = 0; k < K; k++)
    mx = fmax(mx, l[k]);
  double sum = 0.0;
  for (size_t k = 0; k < K; k++)
    sum += exp(l[k] - mx);
  R->logq = mx + log(sum);
  R->mag_logq = fabs(mx) + 1.0;
  for (size_t k = 0; k < K; k++)
    R->resp[k] = exp(l[k] - R->logq);
  for (size_t k = 0; k < K; k++)
    for (size_t i = 0; i < d; i++) {
      R->score[i] += R->resp[k] * g[k][i];
      R->mag_score[i] += R->resp[k] * fabs(g[k][i]);
      R->x0[i] += R->resp[k] * x0k[k][i];
      R->mag_x0[i] += R->resp[k] * fabs(x0k[k][i]);
    }
  /* one-pass second moments, as docs/MATH.md prints them */
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) {
      double h = 0.0, mh = 0.0, c = 0.0, mc = 0.0;
      for (size_t k = 0; k < K; k++) {
        h += R->resp[k] * (g[k][i] * g[k][j] - Cinv[k][i * d + j]);
        mh += R->resp[k] * (fabs(g[k][i] * g[k][j]) + fabs(Cinv[k][i * d + j]));
        c += R->resp[k] * (Sk[k][i * d + j] + x0k[k][i] * x0k[k][j]);
        mc += R->resp[k] * (fabs(Sk[k][i * d + j]) + m * m * fabs(Sk[k][i * d + j]) + fabs(x0k[k][i] * x0k[k][j]));
      }
      R->hess[i * d + j] = h - R->score[i] * R->score[j];
      R->mag_hess[i * d + j] = mh + fabs(R->score[i] * R->score[j]);
      R->cov[i * d + j] = c - R->x0[i] * R->x0[j];
      R->mag_cov[i * d + j] = mc + fabs(R->x0[i] * R->x0[j]);
    }
  for (size_t i = 0; i < d; i++) {
    R->lap += R->hess[i * d + i];
    R->mag_lap += R->mag_hess[i * d + i];
    R->trcov += R->cov[i * d + i];
    R->mag_tr += R->mag_cov[i * d + i];
  }
  gsl_matrix_free(C);
  gsl_vector_free(b);
  gsl_vector_free(y);
}

/* Oracle vs the dense textbook route at moderate (m, s) on mixture A (all four kinds). Both are backward-stable
 * linear algebra on matrices of condition <= kappa = max (m^2 lambda_max + s^2)/s^2, so each output differs by at
 * most ~ d kappa u times the magnitude of the terms it sums (mag_*, which include the one-pass cancellations of
 * the printed formulas); we allow 64 (K + d) kappa u. */
static void test_dense_reference(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_a();
  dpm_oracle *orc = dpm_oracle_alloc(mix);
  assert_non_null(orc);
  const double ms[3][2] = {{1.0, 0.5}, {0.6, 0.8}, {1.3, 0.25}};
  const size_t n = 6, d = 3, K = 5;
  double x[6 * 3];
  gsl_rng *r = dpm_rng_stream_alloc(11, 0);
  full_out o;
  out_alloc(&o, n, mix);
  for (size_t c = 0; c < 3; c++) {
    const double m = ms[c][0], s = ms[c][1];
    sample_qt(mix, r, m, s, n - 1, x, NULL, NULL);
    x[(n - 1) * d + 0] = 4.0; /* a point in the tails */
    x[(n - 1) * d + 1] = -3.0;
    x[(n - 1) * d + 2] = 5.0;
    eval_all(orc, m, s, n, x, &o);
    for (size_t i = 0; i < n; i++) {
      dense_ref R;
      ref_dense(mix, m, s, x + i * d, &R);
      const double tol = 64.0 * (double)(K + d) * R.kappa * EPSU;
      assert_close(o.logq[i], R.logq, 0.0, tol * R.mag_logq);
      vec_close(o.score + i * d, R.score, d, tol, R.mag_score, 0);
      vec_close(o.x0 + i * d, R.x0, d, tol, R.mag_x0, 0);
      vec_close(o.hess + i * d * d, R.hess, d * d, tol, R.mag_hess, 0);
      vec_close(o.cov + i * d * d, R.cov, d * d, tol, R.mag_cov, 0);
      assert_close(o.lap[i], R.lap, 0.0, tol * R.mag_lap);
      assert_close(o.trcov[i], R.trcov, 0.0, tol * R.mag_tr);
      for (size_t k = 0; k < K; k++) {
        assert_close(o.resp[i * K + k], R.resp[k], 0.0, tol * (1.0 + R.mag_logq));
        assert_close(o.logresp[i * K + k], log(R.resp[k]), 0.0, tol * (1.0 + R.mag_logq) / R.resp[k]);
      }
      for (size_t j = 0; j < d; j++) {
        assert_close(o.diagcov[i * d + j], o.cov[i * d * d + j * d + j], 0.0,
                     4.0 * (double)d * EPSU * R.mag_cov[j * d + j]);
        assert_close(o.eps[i * d + j], -s * o.score[i * d + j], 2 * EPSU, 0.0);
      }
    }
  }
  gsl_rng_free(r);
  out_free(&o);
  dpm_oracle_free(orc);
  dpm_mixture_free(mix);
}

/* ---- route 2: long-double brute force for diagonal kinds, any (m, s) ---------------------------------------- */

typedef struct {
  long double logq, lap, trcov, mag_lap, mag_tr, lmag;
  long double score[2], eps[2], x0[2], hess[4], diagcov[2], resp[8];
  long double mag_score[2], mag_x0[2], mag_hess[4], mag_diag[2];
} ld_ref;

/* docs/MATH.md §2 for Sigma_k = diag(lambda_k): l_k, r_k, g_k = -(x - m mu)/c,
 * mu_hat = mu + m lambda (x - m mu)/c, S_k = diag(lambda s^2/c), in 80-bit arithmetic, summing (x - m mu)/s per
 * component (no x - m E[x0|x]). */
static void ref_ld(const dpm_mixture *mix, double m, double s, const double *x, ld_ref *R)
{
  const size_t d = mix->d, K = mix->K;
  assert_true(d == 2 && K <= 8);
  memset(R, 0, sizeof *R);
  long double l[8], lmag[8], g[8][2], x0k[8][2], sh[8][2], ic[8][2];
  const long double M = m, S = s;
  for (size_t k = 0; k < K; k++) {
    long double q = 0, ld = 0;
    for (size_t i = 0; i < d; i++) {
      long double lam = mix->lambda[k * d + i], z = (long double)x[i] - M * (long double)mix->mu[k * d + i];
      long double c = M * M * lam + S * S;
      q += z * z / c;
      ld += logl(2.0L * 3.14159265358979323846264338327950288L * c);
      g[k][i] = -z / c;
      ic[k][i] = 1.0L / c;
      x0k[k][i] = (long double)mix->mu[k * d + i] + M * lam * z / c;
      sh[k][i] = lam * S * S / c;
    }
    l[k] = (long double)mix->logw[k] - 0.5L * q - 0.5L * ld;
    lmag[k] = fabsl((long double)mix->logw[k]) + 0.5L * q + 0.5L * fabsl(ld);
  }
  long double mx = -HUGE_VALL, sum = 0;
  for (size_t k = 0; k < K; k++)
    mx = fmaxl(mx, l[k]);
  for (size_t k = 0; k < K; k++)
    sum += expl(l[k] - mx);
  R->logq = mx + logl(sum);
  for (size_t k = 0; k < K; k++) {
    R->resp[k] = expl(l[k] - R->logq);
    if (R->resp[k] > 1e-300L) R->lmag = fmaxl(R->lmag, lmag[k]);
  }
  for (size_t k = 0; k < K; k++)
    for (size_t i = 0; i < d; i++) {
      R->score[i] += R->resp[k] * g[k][i];
      R->mag_score[i] += R->resp[k] * fabsl(g[k][i]);
      R->x0[i] += R->resp[k] * x0k[k][i];
      R->mag_x0[i] += R->resp[k] * fabsl(x0k[k][i]);
    }
  for (size_t i = 0; i < d; i++)
    R->eps[i] = -S * R->score[i];
  for (size_t k = 0; k < K; k++) {
    long double dev2 = 0;
    for (size_t i = 0; i < d; i++) {
      long double dx = x0k[k][i] - R->x0[i], dg = g[k][i] - R->score[i];
      dev2 += dx * dx;
      R->diagcov[i] += R->resp[k] * (sh[k][i] + dx * dx);
      /* likewise x0_k - x0 */
      const long double bx = fabsl(dx) + fabsl(x0k[k][i]) + fabsl(R->x0[i]);
      R->mag_diag[i] += R->resp[k] * (sh[k][i] + bx * bx);
      R->mag_tr += R->resp[k] * (sh[k][i] + bx * bx);
      R->lap += R->resp[k] * (dg * dg - ic[k][i]);
      /* the deviation g_k - gbar is formed by a subtraction, so its rounding error is relative to |g_k| + |gbar|
       */
      const long double ai = fabsl(dg) + fabsl(g[k][i]) + fabsl(R->score[i]);
      R->mag_lap += R->resp[k] * (ai * ai + ic[k][i]);
      for (size_t j = 0; j < d; j++) {
        long double dgj = g[k][j] - R->score[j];
        R->hess[i * d + j] += R->resp[k] * (dg * dgj - (i == j ? ic[k][i] : 0.0L));
        const long double aj = fabsl(dgj) + fabsl(g[k][j]) + fabsl(R->score[j]);
        R->mag_hess[i * d + j] += R->resp[k] * (ai * aj + (i == j ? ic[k][i] : 0.0L));
      }
      R->trcov += R->resp[k] * sh[k][i];
    }
    R->trcov += R->resp[k] * dev2;
  }
}

/* The oracle against the 80-bit brute force over (m, s) in {1e-6, 1, 1e4}^2, at points near each component (x =
 * m mu_k + s xi), at points far from every component, and at a few in between. Rounding bound (standard forward
 * analysis): l_k is a sum of terms of total magnitude lmag_k = |log w_k| + quad_k/2 + |log det|/2, so it carries
 * an absolute error <= ~ d u lmag_k, which becomes the relative error of r_k; with L = max lmag_k over components
 * of non-negligible responsibility, each output is then off by <= ~ (K + d) u (1 + L) times the sum of the |terms|
 * it adds up (so far points, where L is large, are held to what their conditioning allows). We assert 64 (K + d) u
 * (1 + L) times that sum (for the project's target 1e-9 relative this is ample when L < 1e5). For the Hessian and
 * Laplacian the deviations g_k - gbar are themselves differences, so their terms count |g_k| + |gbar|. */
static void check_ld(dpm_oracle *orc, const dpm_mixture *mix, double m, double s, size_t n, const double *x)
{
  const size_t d = 2, K = mix->K;
  full_out o;
  out_alloc(&o, n, mix);
  eval_all(orc, m, s, n, x, &o);
  for (size_t i = 0; i < n; i++) {
    ld_ref R;
    ref_ld(mix, m, s, x + i * d, &R);
    const double tol = 64.0 * (double)(K + d) * EPSU * (1.0 + (double)R.lmag);
    assert_true(isfinite(o.logq[i]));
    assert_close(o.logq[i], (double)R.logq, 0.0, tol);
    double rs = 0.0;
    for (size_t k = 0; k < K; k++) {
      assert_close(o.resp[i * K + k], (double)R.resp[k], 0.0, tol);
      rs += o.resp[i * K + k];
    }
    assert_close(rs, 1.0, 0.0, 2.0 * (double)K * EPSU);
    for (size_t j = 0; j < d; j++) {
      assert_close(o.score[i * d + j], (double)R.score[j], 0.0, tol * (double)R.mag_score[j]);
      assert_close(o.eps[i * d + j], (double)R.eps[j], 0.0, tol * s * (double)R.mag_score[j]);
      assert_close(o.x0[i * d + j], (double)R.x0[j], 0.0, tol * (double)R.mag_x0[j]);
      assert_close(o.diagcov[i * d + j], (double)R.diagcov[j], 0.0, tol * (double)R.mag_diag[j]);
      assert_true(o.diagcov[i * d + j] >= 0.0);
    }
    for (size_t j = 0; j < d * d; j++)
      assert_close(o.hess[i * d * d + j], (double)R.hess[j], 0.0, tol * (double)R.mag_hess[j]);
    assert_close(o.lap[i], (double)R.lap, 0.0, tol * (double)R.mag_lap);
    assert_close(o.trcov[i], (double)R.trcov, 0.0, tol * (double)R.mag_tr);
  }
  out_free(&o);
}

/* rho^2 = min_k (x - m mu_k)^T C_k^{-1} (x - m mu_k) over diagonal components, in 80-bit arithmetic. */
static long double rho2_ld(const dpm_mixture *mix, double m, double s, const double *x)
{
  const size_t d = mix->d;
  long double best = HUGE_VALL;
  for (size_t k = 0; k < mix->K; k++) {
    long double q = 0;
    for (size_t j = 0; j < d; j++) {
      const long double z = (long double)x[j] - (long double)m * mix->mu[k * d + j];
      q += z * z / ((long double)m * m * mix->lambda[k * d + j] + (long double)s * s);
    }
    if (q < best) best = q;
  }
  return best;
}

/* Points near each component and far from all of them; far points beyond the oracle's documented range
 * (rho^2 > 2^104, more than 2^52 standard deviations from every component) are asserted to be refused with
 * GSL_ERANGE and left out. */
static void extreme_points(const dpm_mixture *mix, double m, double s, gsl_rng *r, size_t *n, double *x)
{
  const size_t d = 2;
  size_t c = 0;
  for (size_t k = 0; k < mix->K; k++) /* near each component, at its own scale */
    for (size_t j = 0; j < d; j++) {
      double sd = sqrt(m * m * mix->lambda[k * d + j] + s * s);
      x[c * d + j] = m * mix->mu[k * d + j] + sd * gsl_ran_gaussian(r, 1.0);
      if (j == d - 1) c++;
    }
  const double far[4][2] = {{1e3, 0.0}, {-7e2, 3e2}, {0.0, -1e6}, {3.5e5, 2.5e5}};
  dpm_oracle *orc = dpm_oracle_alloc(mix);
  assert_non_null(orc);
  for (size_t f = 0; f < 4; f++) {
    for (size_t j = 0; j < d; j++)
      x[c * d + j] = m * mix->mu[j] + far[f][j] * (m + s);
    if (rho2_ld(mix, m, s, x + c * d) <= 0x1p104L) {
      c++;
    } else {
      double lq;
      dpm_oracle_result res = {0};
      res.logq = &lq;
      assert_raises(dpm_oracle_eval(orc, m, s, 1, x + c * d, &res), GSL_ERANGE, "too far from every component");
    }
  }
  dpm_oracle_free(orc);
  *n = c;
}

static void test_pointset_bruteforce(void **state)
{
  (void)state;
  const double vals[3] = {1e-6, 1.0, 1e4};
  dpm_mixture *mixes[2] = {mix_points(), mix_diag()};
  gsl_rng *r = dpm_rng_stream_alloc(12, 0);
  double x[16 * 2];
  for (int q = 0; q < 2; q++) {
    dpm_oracle *orc = dpm_oracle_alloc(mixes[q]);
    assert_non_null(orc);
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 3; b++) {
        size_t n;
        extreme_points(mixes[q], vals[a], vals[b], r, &n, x);
        check_ld(orc, mixes[q], vals[a], vals[b], n, x);
      }
    /* moderate (m, s) between components */
    for (size_t i = 0; i < 8; i++) {
      x[2 * i] = gsl_ran_gaussian(r, 1.5);
      x[2 * i + 1] = gsl_ran_gaussian(r, 1.5);
    }
    check_ld(orc, mixes[q], 0.9, 0.4, 8, x);
    check_ld(orc, mixes[q], 0.3, 0.05, 8, x);
    dpm_oracle_free(orc);
    dpm_mixture_free(mixes[q]);
  }
  gsl_rng_free(r);
}

/* ---- route 3: finite differences ------------------------------------------------------------------------------
 */

/* A central difference D(h) has error a h^2 + O(h^4) (a = f'''/6 for a first, f''''/12 for a second derivative),
 * so |D(2h) - D(h)| = 3|a| h^2 + O(h^4) bounds the truncation error of D(h) with a factor-3 margin; add the
 * rounding error of the differenced values (|f| err_rel / h for a first difference, 4 |f| err_rel / h^2 for a
 * second), with err_rel = 64 u the relative error of one oracle value. */
static void assert_fd(double actual, double dh, double d2h, double fmag, double h, int second, const char *what)
{
  double round = second ? 4.0 * 64.0 * EPSU * fmag / (h * h) : 64.0 * EPSU * fmag / h;
  double tol = fabs(d2h - dh) + 2.0 * round;
  if (!(fabs(actual - dh) <= tol)) {
    print_error("%s: oracle %.17g, finite difference %.17g (2h: %.17g), tol %.3g\n", what, actual, dh, d2h, tol);
    fail();
  }
}

static double logq_at(dpm_oracle *orc, double m, double s, const double *x, size_t d, size_t j, double h)
{
  double y[8];
  memcpy(y, x, d * sizeof(double));
  y[j] += h;
  return dpm_oracle_logq1(orc, m, s, y);
}

/* score and Laplacian vs central differences of log q_t; Hessian vs central differences of the score. */
static void test_finite_differences(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_a();
  dpm_oracle *orc = dpm_oracle_alloc(mix);
  const size_t d = 3, n = 5;
  const double m = 0.8, s = 0.6, h1 = 1e-3, h2 = 5e-3;
  double x[5 * 3];
  gsl_rng *r = dpm_rng_stream_alloc(13, 0);
  sample_qt(mix, r, m, s, n, x, NULL, NULL);
  full_out o;
  out_alloc(&o, n, mix);
  eval_all(orc, m, s, n, x, &o);
  for (size_t i = 0; i < n; i++) {
    const double *xi = x + i * d, f0 = dpm_oracle_logq1(orc, m, s, xi), fmag = fabs(f0) + 1.0;
    double lap_h = 0.0, lap_2h = 0.0;
    for (size_t j = 0; j < d; j++) {
      double dh = (logq_at(orc, m, s, xi, d, j, h1) - logq_at(orc, m, s, xi, d, j, -h1)) / (2 * h1);
      double d2h = (logq_at(orc, m, s, xi, d, j, 2 * h1) - logq_at(orc, m, s, xi, d, j, -2 * h1)) / (4 * h1);
      assert_fd(o.score[i * d + j], dh, d2h, fmag, h1, 0, "score");
      lap_h += (logq_at(orc, m, s, xi, d, j, h2) - 2 * f0 + logq_at(orc, m, s, xi, d, j, -h2)) / (h2 * h2);
      lap_2h +=
          (logq_at(orc, m, s, xi, d, j, 2 * h2) - 2 * f0 + logq_at(orc, m, s, xi, d, j, -2 * h2)) / (4 * h2 * h2);
    }
    assert_fd(o.lap[i], lap_h, lap_2h, (double)d * fmag, h2, 1, "Laplacian");
    /* Hessian column j from the score at x +- h e_j */
    for (size_t j = 0; j < d; j++) {
      double y[4][3], sc[4][3];
      const double steps[4] = {h1, -h1, 2 * h1, -2 * h1};
      for (int t = 0; t < 4; t++) {
        memcpy(y[t], xi, sizeof y[t]);
        y[t][j] += steps[t];
      }
      dpm_oracle_result res = {0};
      res.score = &sc[0][0];
      assert_int_equal(dpm_oracle_eval(orc, m, s, 4, &y[0][0], &res), DPM_SUCCESS);
      double gmag = 1.0;
      for (int t = 0; t < 4; t++)
        for (size_t p = 0; p < d; p++)
          gmag = fmax(gmag, fabs(sc[t][p]));
      for (size_t p = 0; p < d; p++) {
        double dh = (sc[0][p] - sc[1][p]) / (2 * h1), d2h = (sc[2][p] - sc[3][p]) / (4 * h1);
        assert_fd(o.hess[i * d * d + p * d + j], dh, d2h, gmag, h1, 0, "Hessian");
        assert_true(o.hess[i * d * d + p * d + j] == o.hess[i * d * d + j * d + p]); /* exactly symmetric */
      }
    }
  }
  gsl_rng_free(r);
  out_free(&o);
  dpm_oracle_free(orc);
  dpm_mixture_free(mix);
}

/* Class posterior: sums to 1 and equals the summed responsibilities; grad log p(y|x) vs central differences of
 * log p(y|x); and sum_y p(y|x) grad log p(y|x) = grad sum_y p(y|x) = 0. */
static void test_class_posterior(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_a();
  dpm_oracle *orc = dpm_oracle_alloc(mix);
  const size_t d = 3, n = 4, L = 3, K = 5;
  const double m = 0.9, s = 0.5, h = 1e-3;
  double x[4 * 3], post[4 * 3], grad[3][4 * 3], resp[4 * 5];
  gsl_rng *r = dpm_rng_stream_alloc(14, 0);
  sample_qt(mix, r, m, s, n, x, NULL, NULL);
  for (int y = 0; y < (int)L; y++) {
    int ys[4] = {y, y, y, y};
    dpm_oracle_result res = {0};
    res.class_post = post;
    res.class_y = ys;
    res.class_grad = grad[y];
    res.resp = resp;
    assert_int_equal(dpm_oracle_eval(orc, m, s, n, x, &res), DPM_SUCCESS);
  }
  for (size_t i = 0; i < n; i++) {
    double tot = 0.0;
    for (size_t y = 0; y < L; y++) {
      double byhand = 0.0;
      for (size_t k = 0; k < K; k++)
        if ((size_t)mix->labels[k] == y) byhand += resp[i * K + k];
      assert_close(post[i * L + y], byhand, 4.0 * (double)K * EPSU, 0.0);
      tot += post[i * L + y];
    }
    assert_close(tot, 1.0, 0.0, 4.0 * (double)K * EPSU);
    for (size_t j = 0; j < d; j++) {
      double acc = 0.0, mag = 0.0;
      for (size_t y = 0; y < L; y++) {
        acc += post[i * L + y] * grad[y][i * d + j];
        mag += post[i * L + y] * fabs(grad[y][i * d + j]);
      }
      assert_close(acc, 0.0, 0.0, 64.0 * (double)K * EPSU * mag);
    }
    for (size_t y = 0; y < L; y++)
      for (size_t j = 0; j < d; j++) {
        double pv[4];
        const double steps[4] = {h, -h, 2 * h, -2 * h};
        for (int t = 0; t < 4; t++) {
          double xp[3], pp[3];
          memcpy(xp, x + i * d, sizeof xp);
          xp[j] += steps[t];
          dpm_oracle_result res = {0};
          res.class_post = pp;
          assert_int_equal(dpm_oracle_eval(orc, m, s, 1, xp, &res), DPM_SUCCESS);
          pv[t] = log(pp[y]);
        }
        double dh = (pv[0] - pv[1]) / (2 * h), d2h = (pv[2] - pv[3]) / (4 * h);
        assert_fd(grad[y][i * d + j], dh, d2h, fabs(pv[0]) + 1.0, h, 0, "class gradient");
      }
  }
  gsl_rng_free(r);
  dpm_oracle_free(orc);
  dpm_mixture_free(mix);
}

/* ---- route 4: identities
 * ---------------------------------------------------------------------------------------- */

/* Tweedie: E[x0|x] = (x + s^2 score)/m and E[eps|x] = (x - m E[x0|x])/s = -s score, at moderate s where the
 * right-hand sides do not cancel. Rounding bound: each side carries relative error <= 16 (K + d) u of the
 * magnitudes it combines. */
static void test_tweedie(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_a();
  dpm_oracle *orc = dpm_oracle_alloc(mix);
  const size_t d = 3, n = 50, K = 5;
  double x[50 * 3];
  gsl_rng *r = dpm_rng_stream_alloc(15, 0);
  full_out o;
  out_alloc(&o, n, mix);
  const double ms[3][2] = {{1.0, 1.0}, {0.5, 0.8}, {0.95, 0.3}};
  for (int c = 0; c < 3; c++) {
    const double m = ms[c][0], s = ms[c][1], tol = 16.0 * (double)(K + d) * EPSU;
    sample_qt(mix, r, m, s, n, x, NULL, NULL);
    eval_all(orc, m, s, n, x, &o);
    for (size_t i = 0; i < n * d; i++) {
      double tw = (x[i] + s * s * o.score[i]) / m;
      double mag = (fabs(x[i]) + s * s * fabs(o.score[i])) / m + fabs(o.x0[i]);
      assert_close(o.x0[i], tw, 0.0, tol * (mag + 1.0));
      double e = (x[i] - m * o.x0[i]) / s;
      assert_close(o.eps[i], e, 0.0, tol * (fabs(x[i]) + m * fabs(o.x0[i]) + 1.0) / s);
    }
  }
  gsl_rng_free(r);
  out_free(&o);
  dpm_oracle_free(orc);
  dpm_mixture_free(mix);
}

/* VP <-> VE (docs/MATH.md §1): q_t(x) = q_hat_{s/m}(x/m) / m^d, so the oracle at (m, s) for x equals the oracle at
 * (1, s/m) for x/m: E[x0|x], E[eps|x], responsibilities and Cov[x0|x] identical, score scaled by 1/m, log q
 * shifted by -d log m. Rounding bound 64 (K + d) u relative. */
static void test_vp_ve(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_a();
  dpm_oracle *orc = dpm_oracle_alloc(mix);
  const size_t d = 3, n = 20, K = 5;
  const double m = 0.7, s = 0.45, tol = 64.0 * (double)(K + d) * EPSU;
  double x[20 * 3], xh[20 * 3];
  gsl_rng *r = dpm_rng_stream_alloc(16, 0);
  sample_qt(mix, r, m, s, n, x, NULL, NULL);
  for (size_t i = 0; i < n * d; i++)
    xh[i] = x[i] / m;
  full_out a, b;
  out_alloc(&a, n, mix);
  out_alloc(&b, n, mix);
  eval_all(orc, m, s, n, x, &a);
  eval_all(orc, 1.0, s / m, n, xh, &b);
  for (size_t i = 0; i < n; i++) {
    assert_close(a.logq[i], b.logq[i] - (double)d * log(m), 0.0, tol * (fabs(b.logq[i]) + 10.0));
    for (size_t j = 0; j < d; j++) {
      size_t q = i * d + j;
      double gm = fabs(a.score[q]) + 10.0, xm = fabs(a.x0[q]) + 10.0;
      assert_close(a.x0[q], b.x0[q], 0.0, tol * xm);
      assert_close(a.eps[q], b.eps[q], 0.0, tol * s * gm);
      assert_close(a.score[q], b.score[q] / m, 0.0, tol * gm);
      assert_close(a.diagcov[q], b.diagcov[q], tol, 0.0);
    }
    for (size_t k = 0; k < K; k++)
      assert_close(a.resp[i * K + k], b.resp[i * K + k], 0.0, tol * 10.0);
    assert_close(a.trcov[i], b.trcov[i], tol, 0.0);
  }
  gsl_rng_free(r);
  out_free(&a);
  out_free(&b);
  dpm_oracle_free(orc);
  dpm_mixture_free(mix);
}

/* ---- route 5: full covariances vs the same covariances diagonal
 * --------------------------------------------------- */

/* Rotate a mixture of diagonal Gaussians by an orthogonal Q: Sigma' = Q Sigma Q^T (declared FULL), mu' = Q mu.
 * Then log q'(Q x) = log q(x), score' = Q score, E'[x0] = Q E[x0], Cov' = Q Cov Q^T, Hess' = Q H Q^T. */
static void random_orthogonal(gsl_rng *r, size_t d, double *Q)
{
  gsl_matrix *A = gsl_matrix_alloc(d, d), *Qm = gsl_matrix_alloc(d, d), *Rm = gsl_matrix_alloc(d, d);
  gsl_vector *tau = gsl_vector_alloc(d);
  for (size_t i = 0; i < d * d; i++)
    A->data[i] = gsl_ran_gaussian(r, 1.0);
  gsl_linalg_QR_decomp(A, tau);
  gsl_linalg_QR_unpack(A, tau, Qm, Rm);
  memcpy(Q, Qm->data, d * d * sizeof(double));
  gsl_matrix_free(A);
  gsl_matrix_free(Qm);
  gsl_matrix_free(Rm);
  gsl_vector_free(tau);
}

static void matvec(size_t d, const double *A, const double *x, double *y)
{
  for (size_t i = 0; i < d; i++) {
    y[i] = 0;
    for (size_t j = 0; j < d; j++)
      y[i] += A[i * d + j] * x[j];
  }
}

/* out = Q M Q^T */
static void conjugate(size_t d, const double *Q, const double *M, double *out)
{
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) {
      double acc = 0;
      for (size_t p = 0; p < d; p++)
        for (size_t q = 0; q < d; q++)
          acc += Q[i * d + p] * M[p * d + q] * Q[j * d + q];
      out[i * d + j] = acc;
    }
}

/* d = 3 (loop rotations) and d = 20 (BLAS blocks, n not a multiple of the block). Rounding: Q x, the eigen
 * decomposition of Q Sigma Q^T (backward error ~ d u |Sigma|) and the rotations each perturb an output by
 * <= ~ d kappa u of its scale (kappa = max (m^2 lambda + s^2)/s^2); we allow 64 d kappa u. */
static void rotated_case(size_t d, size_t K, size_t n, double m, double s, uint64_t seed)
{
  gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
  dpm_mixture *md = dpm_mixture_alloc(K, d), *mf = dpm_mixture_alloc(K, d);
  double *Q = malloc(d * d * sizeof(double)), *mu = malloc(d * sizeof(double)), *qmu = malloc(d * sizeof(double));
  double *var = malloc(d * sizeof(double)), *cov = calloc(d * d, sizeof(double)),
         *fc = malloc(d * d * sizeof(double));
  random_orthogonal(r, d, Q);
  double lmax = 0;
  for (size_t k = 0; k < K; k++) {
    for (size_t j = 0; j < d; j++) {
      mu[j] = gsl_ran_gaussian(r, 1.0);
      var[j] = 0.05 + gsl_rng_uniform(r);
      lmax = fmax(lmax, var[j]);
      cov[j * d + j] = var[j];
    }
    matvec(d, Q, mu, qmu);
    assert_int_equal(dpm_mixture_set_mean(md, k, mu), DPM_SUCCESS);
    assert_int_equal(dpm_mixture_set_mean(mf, k, qmu), DPM_SUCCESS);
    assert_int_equal(dpm_mixture_set_diag(md, k, var), DPM_SUCCESS);
    conjugate(d, Q, cov, fc);
    for (size_t i = 0; i < d; i++) /* exactly symmetric input */
      for (size_t j = 0; j < i; j++)
        fc[i * d + j] = fc[j * d + i];
    assert_int_equal(dpm_mixture_set_full(mf, k, fc), DPM_SUCCESS);
    assert_int_equal(mf->kind[k], DPM_COV_FULL);
  }
  double *w = malloc(K * sizeof(double));
  for (size_t k = 0; k < K; k++)
    w[k] = 1.0 + (double)k;
  dpm_mixture_set_weights(md, w);
  dpm_mixture_set_weights(mf, w);
  double *x = malloc(n * d * sizeof(double)), *qx = malloc(n * d * sizeof(double));
  sample_qt(md, r, m, s, n, x, NULL, NULL);
  for (size_t i = 0; i < n; i++)
    matvec(d, Q, x + i * d, qx + i * d);
  dpm_oracle *od = dpm_oracle_alloc(md), *of = dpm_oracle_alloc(mf);
  full_out a, b;
  out_alloc(&a, n, md);
  out_alloc(&b, n, mf);
  eval_all(od, m, s, n, x, &a);
  eval_all(of, m, s, n, qx, &b);
  const double kappa = (m * m * lmax + s * s) / (s * s), tol = 64.0 * (double)d * kappa * EPSU;
  double *t = malloc(d * d * sizeof(double));
  for (size_t i = 0; i < n; i++) {
    assert_close(b.logq[i], a.logq[i], 0.0, tol * (fabs(a.logq[i]) + (double)d));
    double gs = 0, xs = 0, hs = 0, cs = 0;
    for (size_t j = 0; j < d; j++) {
      gs = fmax(gs, fabs(a.score[i * d + j]));
      xs = fmax(xs, fabs(a.x0[i * d + j]));
    }
    for (size_t j = 0; j < d * d; j++) {
      hs = fmax(hs, fabs(a.hess[i * d * d + j]));
      cs = fmax(cs, fabs(a.cov[i * d * d + j]));
    }
    matvec(d, Q, a.score + i * d, t);
    vec_close(b.score + i * d, t, d, tol, NULL, gs + 1.0);
    matvec(d, Q, a.x0 + i * d, t);
    vec_close(b.x0 + i * d, t, d, tol, NULL, xs + 1.0);
    conjugate(d, Q, a.hess + i * d * d, t);
    vec_close(b.hess + i * d * d, t, d * d, tol, NULL, hs + gs * gs);
    conjugate(d, Q, a.cov + i * d * d, t);
    vec_close(b.cov + i * d * d, t, d * d, tol, NULL, cs + xs * xs);
    for (size_t j = 0; j < d; j++)
      assert_close(b.diagcov[i * d + j], t[j * d + j], 0.0, tol * (cs + xs * xs));
    assert_close(b.lap[i], a.lap[i], 0.0, tol * (double)d * (hs + gs * gs));
    assert_close(b.trcov[i], a.trcov[i], 0.0, tol * (double)d * (cs + xs * xs));
    for (size_t k = 0; k < K; k++)
      assert_close(b.resp[i * K + k], a.resp[i * K + k], 0.0, tol * (fabs(a.logq[i]) + 10));
  }
  free(t);
  out_free(&a);
  out_free(&b);
  dpm_oracle_free(od);
  dpm_oracle_free(of);
  dpm_mixture_free(md);
  dpm_mixture_free(mf);
  free(Q);
  free(mu);
  free(qmu);
  free(var);
  free(cov);
  free(fc);
  free(w);
  free(x);
  free(qx);
  gsl_rng_free(r);
}

static void test_full_vs_diag(void **state)
{
  (void)state;
  rotated_case(3, 4, 25, 0.9, 0.5, 21);
  rotated_case(20, 4, 37, 1.0, 0.7, 22); /* BLAS path, 37 = 2 blocks of 16 + a padded one */
  /* The same diagonal covariance declared FULL (EPSU a signed permutation) equals DIAG at every (m, s), extreme
   * ones included; rounding as in the brute-force test. */
  dpm_mixture *md = mix_diag(), *mf = mix_diag();
  for (size_t k = 0; k < 4; k++) {
    double c[4];
    dpm_mixture_cov(md, k, c);
    if (md->kind[k] == DPM_COV_ZERO) continue;
    assert_int_equal(dpm_mixture_set_full(mf, k, c), DPM_SUCCESS);
  }
  dpm_oracle *od = dpm_oracle_alloc(md), *of = dpm_oracle_alloc(mf);
  gsl_rng *r = dpm_rng_stream_alloc(23, 0);
  const double vals[3] = {1e-6, 1.0, 1e4};
  double x[16 * 2];
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++) {
      const double m = vals[a], s = vals[b];
      size_t n;
      extreme_points(md, m, s, r, &n, x);
      full_out A, B;
      out_alloc(&A, n, md);
      out_alloc(&B, n, mf);
      eval_all(od, m, s, n, x, &A);
      eval_all(of, m, s, n, x, &B);
      const double tol = 1e4 * 6.0 * EPSU;
      for (size_t i = 0; i < n; i++) {
        assert_close(B.logq[i], A.logq[i], tol, tol);
        for (size_t j = 0; j < 2; j++) {
          assert_close(B.x0[i * 2 + j], A.x0[i * 2 + j], tol, tol * (m + 1.0));
          assert_close(B.eps[i * 2 + j], A.eps[i * 2 + j], tol, tol);
          assert_close(B.diagcov[i * 2 + j], A.diagcov[i * 2 + j], tol, 0.0);
        }
        assert_close(B.lap[i], A.lap[i], tol, 0.0);
        assert_close(B.trcov[i], A.trcov[i], tol, 0.0);
      }
      out_free(&A);
      out_free(&B);
    }
  gsl_rng_free(r);
  dpm_oracle_free(od);
  dpm_oracle_free(of);
  dpm_mixture_free(md);
  dpm_mixture_free(mf);
}

/* ---- route 6: limits -------------------------------------------------------------------------------------------
 */

/* Point masses as the v -> 0 limit of isotropic components N(y_k, v I). Exactly: c = m^2 v + s^2 >= s^2 changes
 * each l_k by delta_k = 1/2 |z_k|^2 (1/s^2 - 1/c) - d/2 log(c/s^2), with |delta_k| <= m^2 v (|z_k|^2/(2 s^4) +
 * d/(2 s^2)), so |log q_iso - log q_points| <= max_k |delta_k| (a log-sum-exp moves by at most the largest shift).
 * The other outputs are smooth in v with a nonzero first-order term: the differences must shrink by 10 (slope 1 on
 * a log scale) when v shrinks by 10. */
static void test_pointset_limit(void **state)
{
  (void)state;
  dpm_mixture *mp = mix_points();
  const size_t K = mp->K, d = 2, n = 6;
  const double m = 0.8, s = 0.3;
  dpm_oracle *op = dpm_oracle_alloc(mp);
  double x[6 * 2];
  gsl_rng *r = dpm_rng_stream_alloc(24, 0);
  sample_qt(mp, r, m, s, n, x, NULL, NULL);
  full_out P;
  out_alloc(&P, n, mp);
  eval_all(op, m, s, n, x, &P);
  double diff[2][6][3];
  const double vs[2] = {1e-5, 1e-6};
  for (int a = 0; a < 2; a++) {
    dpm_mixture *mi = dpm_mixture_clone(mp);
    for (size_t k = 0; k < K; k++)
      assert_int_equal(dpm_mixture_set_iso(mi, k, vs[a]), DPM_SUCCESS);
    dpm_oracle *oi = dpm_oracle_alloc(mi);
    full_out I;
    out_alloc(&I, n, mi);
    eval_all(oi, m, s, n, x, &I);
    for (size_t i = 0; i < n; i++) {
      double bound = 0;
      for (size_t k = 0; k < K; k++) {
        double z2 = 0;
        for (size_t j = 0; j < d; j++)
          z2 += pow(x[i * d + j] - m * mp->mu[k * d + j], 2);
        bound = fmax(bound, m * m * vs[a] * (z2 / (2 * pow(s, 4)) + (double)d / (2 * s * s)));
      }
      assert_true(fabs(I.logq[i] - P.logq[i]) <= bound * (1 + 1e-6) + 64 * EPSU * fabs(P.logq[i]));
      double de = 0, dx = 0;
      for (size_t j = 0; j < d; j++) {
        de = fmax(de, fabs(I.eps[i * d + j] - P.eps[i * d + j]));
        dx = fmax(dx, fabs(I.x0[i * d + j] - P.x0[i * d + j]));
      }
      diff[a][i][0] = de;
      diff[a][i][1] = dx;
      diff[a][i][2] = fabs(I.trcov[i] - P.trcov[i]);
    }
    out_free(&I);
    dpm_oracle_free(oi);
    dpm_mixture_free(mi);
  }
  for (size_t i = 0; i < n; i++)
    for (int q = 0; q < 3; q++) {
      double slope = log10(diff[0][i][q] / diff[1][i][q]);
      if (!(slope > 0.9 && slope < 1.1)) {
        print_error("point %zu quantity %d: slope %.4f (diffs %.3g, %.3g)\n", i, q, slope, diff[0][i][q],
                    diff[1][i][q]);
        fail();
      }
    }
  out_free(&P);
  gsl_rng_free(r);
  dpm_oracle_free(op);
  dpm_mixture_free(mp);
}

/* ---- route 7: Monte Carlo
 * --------------------------------------------------------------------------------------- */

/* Self-normalised importance sampling over the prior: x0_j ~ q_0, weights w_j = N(x; m x0_j, s^2 I). For each
 * f, E[f(x0)|x] ~ sum w f / sum w, with the delta-method standard error se^2 = sum w_j^2 (f_j - est)^2 / (sum
 * w)^2. Checked: E[x0|x] and, with c the oracle's mean, E[(x0 - c)(x0 - c)^T | x] = Cov[x0|x] (+ (mean - c)(mean -
 * c)^T, which is O(se^2) when the mean is right), within 5 standard errors. */
static void test_posterior_monte_carlo(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_a();
  dpm_oracle *orc = dpm_oracle_alloc(mix);
  const size_t d = 3, N = 400000, n = 3;
  const double m = 0.8, s = 1.0;
  gsl_rng *r = dpm_rng_stream_alloc(31, 0);
  double *x0s = malloc(N * d * sizeof(double)), *lw = malloc(N * sizeof(double)), *w = malloc(N * sizeof(double));
  sample_q0(mix, r, N, x0s, NULL);
  double x[3 * 3];
  sample_qt(mix, r, m, s, n, x, NULL, NULL);
  full_out o;
  out_alloc(&o, n, mix);
  eval_all(orc, m, s, n, x, &o);
  for (size_t i = 0; i < n; i++) {
    const double *xi = x + i * d, *c = o.x0 + i * d;
    double mx = -HUGE_VAL, sw = 0, sw2 = 0;
    for (size_t j = 0; j < N; j++) {
      double q = 0;
      for (size_t p = 0; p < d; p++)
        q += pow(xi[p] - m * x0s[j * d + p], 2);
      lw[j] = -q / (2 * s * s);
      mx = fmax(mx, lw[j]);
    }
    for (size_t j = 0; j < N; j++) {
      w[j] = exp(lw[j] - mx);
      sw += w[j];
      sw2 += w[j] * w[j];
    }
    assert_true(sw * sw / sw2 > 1000.0); /* effective sample size: the delta method applies */
    /* f = x0_p, then f = (x0 - c)_p (x0 - c)_q for p <= q */
    for (size_t p = 0; p < d; p++) {
      double est = 0, v = 0;
      for (size_t j = 0; j < N; j++)
        est += w[j] * x0s[j * d + p];
      est /= sw;
      for (size_t j = 0; j < N; j++)
        v += w[j] * w[j] * pow(x0s[j * d + p] - est, 2);
      assert_within_se(est, sqrt(v) / sw, c[p], 5.0);
    }
    double tr_est = 0, tr_v = 0;
    for (size_t p = 0; p < d; p++)
      for (size_t q = p; q < d; q++) {
        double est = 0, v = 0;
        for (size_t j = 0; j < N; j++)
          est += w[j] * (x0s[j * d + p] - c[p]) * (x0s[j * d + q] - c[q]);
        est /= sw;
        for (size_t j = 0; j < N; j++)
          v += w[j] * w[j] * pow((x0s[j * d + p] - c[p]) * (x0s[j * d + q] - c[q]) - est, 2);
        assert_within_se(est, sqrt(v) / sw, o.cov[i * d * d + p * d + q], 5.0);
        if (p == q) assert_within_se(est, sqrt(v) / sw, o.diagcov[i * d + p], 5.0);
      }
    for (size_t j = 0; j < N; j++) {
      double f = 0;
      for (size_t p = 0; p < d; p++)
        f += pow(x0s[j * d + p] - c[p], 2);
      tr_est += w[j] * f;
      lw[j] = f;
    }
    tr_est /= sw;
    for (size_t j = 0; j < N; j++)
      tr_v += w[j] * w[j] * pow(lw[j] - tr_est, 2);
    assert_within_se(tr_est, sqrt(tr_v) / sw, o.trcov[i], 5.0);
  }
  free(x0s);
  free(lw);
  free(w);
  out_free(&o);
  gsl_rng_free(r);
  dpm_oracle_free(orc);
  dpm_mixture_free(mix);
}

/* E_{q_t} tr Cov[eps|x]/d = 1 - E_{q_t} |E[eps|x]|^2/d (docs/MATH.md §2, total variance of eps ~ N(0, I)), with
 * Cov[eps|x] = (m^2/s^2) Cov[x0|x]: the mean over x ~ q_t of the per-point difference is 0 within 5 standard
 * errors (the difference is not 0 point by point). */
static void test_eps_variance_identity(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_a();
  dpm_oracle *orc = dpm_oracle_alloc(mix);
  const size_t d = 3, N = 40000;
  gsl_rng *r = dpm_rng_stream_alloc(32, 0);
  double *x = malloc(N * d * sizeof(double)), *eps = malloc(N * d * sizeof(double)),
         *tr = malloc(N * sizeof(double));
  double *diff = malloc(N * sizeof(double));
  const double ms[3][2] = {{0.9, 0.4}, {0.6, 0.8}, {0.2, 1.0}};
  for (int c = 0; c < 3; c++) {
    const double m = ms[c][0], s = ms[c][1];
    sample_qt(mix, r, m, s, N, x, NULL, NULL);
    dpm_oracle_result res = {0};
    res.eps = eps;
    res.trcov = tr;
    assert_int_equal(dpm_oracle_eval(orc, m, s, N, x, &res), DPM_SUCCESS);
    for (size_t i = 0; i < N; i++) {
      double e2 = 0;
      for (size_t j = 0; j < d; j++)
        e2 += eps[i * d + j] * eps[i * d + j];
      diff[i] = (m * m / (s * s)) * tr[i] / (double)d - (1.0 - e2 / (double)d);
    }
    double mean, se;
    dpm_test_mean_se(diff, N, &mean, &se);
    assert_within_se(mean, se, 0.0, 5.0);
  }
  free(x);
  free(eps);
  free(tr);
  free(diff);
  gsl_rng_free(r);
  dpm_oracle_free(orc);
  dpm_mixture_free(mix);
}

/* ---- robustness
 * ------------------------------------------------------------------------------------------------- */

/* Mixture A (every kind) at every (m, s) in {1e-6, 1e-3, 1, 1e4}^2 at near and far points (up to 1e6): all outputs
 * finite, responsibilities and class posteriors non-negative summing to 1 within 2 K u, covariances non-negative
 * on the diagonal and Laplacian = trace of the Hessian. */
static void test_extremes_finite(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_a();
  dpm_oracle *orc = dpm_oracle_alloc(mix);
  const size_t d = 3, K = 5, L = 3;
  const double vals[4] = {1e-6, 1e-3, 1.0, 1e4};
  gsl_rng *r = dpm_rng_stream_alloc(33, 0);
  double x[13 * 3];
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 4; b++) {
      const double m = vals[a], s = vals[b];
      size_t n = 0;
      sample_qt(mix, r, m, s, 8, x, NULL, NULL);
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
  dpm_mixture *mix = mix_a();
  dpm_oracle *orc = dpm_oracle_alloc(mix);
  double x[3 * 3] = {0.1, 0.2, 0.3, 1, 2, 3, -1, 0, 1}, lq[3];
  dpm_oracle_result res = {0};
  res.logq = lq;
  const double badm[4] = {0.0, -1.0, NAN, HUGE_VAL};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(dpm_oracle_eval(orc, badm[i], 1.0, 3, x, &res), GSL_EDOM);
    assert_non_null(strstr(dpm_error_last(), "oracle: m must be > 0"));
    assert_int_equal(dpm_oracle_eval(orc, 1.0, badm[i], 3, x, &res), GSL_EDOM);
    assert_non_null(strstr(dpm_error_last(), "oracle: s must be > 0"));
  }
  assert_int_equal(dpm_oracle_eval(orc, 1.0, -1.0, 3, x, &res), GSL_EDOM);
  assert_non_null(strstr(dpm_error_last(), "(got -1)"));
  assert_int_equal(dpm_oracle_eval(orc, 1.0, 1e-170, 3, x, &res), GSL_EDOM); /* s^2 underflows */
  assert_int_equal(dpm_oracle_eval(orc, 1e200, 1.0, 3, x, &res), GSL_EDOM);  /* m^2 overflows */
  x[5] = NAN;
  assert_int_equal(dpm_oracle_eval(orc, 1.0, 1.0, 3, x, &res), GSL_EBADFUNC);
  assert_non_null(strstr(dpm_error_last(), "point 1"));
  assert_true(isnan(dpm_oracle_logq1(orc, 1.0, 1.0, x + 3)));
  x[5] = HUGE_VAL;
  assert_int_equal(dpm_oracle_eval(orc, 1.0, 1.0, 3, x, &res), GSL_EBADFUNC);
  x[5] = 3;
  assert_int_equal(dpm_oracle_eval(orc, 1.0, 1.0, 3, NULL, &res), GSL_EINVAL);
  assert_int_equal(dpm_oracle_eval(orc, 1.0, 1.0, 0, NULL, &res), DPM_SUCCESS); /* nothing to do */
  assert_int_equal(dpm_oracle_eval(NULL, 1.0, 1.0, 3, x, &res), GSL_EINVAL);
  assert_int_equal(dpm_oracle_eval(orc, 1.0, 1.0, 3, x, NULL), DPM_SUCCESS); /* validation only */

  double g[9], post[9];
  int ys[3] = {0, 1, 3};
  dpm_oracle_result cr = {0};
  cr.class_grad = g;
  cr.class_y = ys;
  assert_int_equal(dpm_oracle_eval(orc, 1.0, 1.0, 3, x, &cr), GSL_EINVAL);
  assert_non_null(strstr(dpm_error_last(), "point 2"));
  cr.class_y = NULL;
  assert_int_equal(dpm_oracle_eval(orc, 1.0, 1.0, 3, x, &cr), GSL_EINVAL);
  ys[2] = -1;
  cr.class_y = ys;
  assert_int_equal(dpm_oracle_eval(orc, 1.0, 1.0, 3, x, &cr), GSL_EINVAL);
  /* class 2 is component 3 alone: give it weight 0 */
  const double w0[5] = {0.3, 0.2, 0.25, 0.0, 0.1};
  dpm_mixture *mz = dpm_mixture_clone(mix);
  assert_int_equal(dpm_mixture_set_weights(mz, w0), DPM_SUCCESS);
  dpm_oracle *oz = dpm_oracle_alloc(mz);
  ys[2] = 2;
  assert_int_equal(dpm_oracle_eval(oz, 1.0, 1.0, 3, x, &cr), GSL_EDOM);
  cr.class_grad = NULL;
  cr.class_post = post; /* posterior of an empty class is fine: 0 */
  assert_int_equal(dpm_oracle_eval(oz, 1.0, 1.0, 3, x, &cr), DPM_SUCCESS);
  for (int i = 0; i < 3; i++)
    assert_true(post[i * 3 + 2] == 0.0);
  assert_int_equal(dpm_mixture_set_labels(mz, NULL), DPM_SUCCESS);
  assert_int_equal(dpm_oracle_eval(oz, 1.0, 1.0, 3, x, &cr), GSL_EINVAL);
  assert_non_null(strstr(dpm_error_last(), "without labels"));
  dpm_oracle_free(oz);
  dpm_mixture_free(mz);

  assert_null(dpm_oracle_alloc(NULL));
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
      mix = mix_a();
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
    sample_qt(mix, r, 0.9, 0.5, n, x, NULL, NULL);
    full_out a, b, one;
    out_alloc(&a, n, mix);
    out_alloc(&b, n, mix);
    out_alloc(&one, 1, mix);
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    dpm_oracle *o1 = dpm_oracle_alloc(mix);
    eval_all(o1, 0.9, 0.5, n, x, &a);
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    dpm_oracle *o2 = dpm_oracle_alloc(mix);
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

/* ---- the denoiser
 * ------------------------------------------------------------------------------------------------ */

/* The oracle denoiser returns the oracle's eps, x0 and score bit for bit; NFE and point counts advance on success
 * only; dpm_denoiser_complete reproduces the missing predictions (Tweedie relations, rounding 8 u of the terms).
 */
static void test_denoiser(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_a();
  dpm_oracle *orc = dpm_oracle_alloc(mix);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  assert_non_null(dn);
  assert_int_equal(dn->d, 3);
  const size_t n = 10, d = 3;
  const double m = 0.8, s = 0.6;
  double x[30], e1[30], x1[30], g1[30], e2[30], x2[30], g2[30];
  gsl_rng *r = dpm_rng_stream_alloc(51, 0);
  sample_qt(mix, r, m, s, n, x, NULL, NULL);
  dpm_oracle_result res = {0};
  res.eps = e1;
  res.x0 = x1;
  res.score = g1;
  assert_int_equal(dpm_oracle_eval(orc, m, s, n, x, &res), DPM_SUCCESS);
  assert_int_equal(dpm_denoiser_eval(dn, m, s, n, x, e2, x2, g2), DPM_SUCCESS);
  assert_memory_equal(e1, e2, sizeof e1);
  assert_memory_equal(x1, x2, sizeof x1);
  assert_memory_equal(g1, g2, sizeof g1);
  assert_int_equal(dpm_denoiser_eval(dn, m, s, n, x, NULL, x2, NULL), DPM_SUCCESS);
  assert_int_equal(dn->nfe, 2);
  assert_int_equal(dn->npoints, 2 * n);
  assert_int_equal(dpm_denoiser_eval(dn, m, -1.0, n, x, e2, NULL, NULL), GSL_EDOM);
  assert_int_equal(dpm_denoiser_eval(dn, 0.0, 1.0, n, x, e2, NULL, NULL), GSL_EDOM);
  x[4] = NAN;
  assert_int_equal(dpm_denoiser_eval(dn, m, s, n, x, e2, NULL, NULL), GSL_EBADFUNC);
  x[4] = 0.5;
  assert_int_equal(dn->nfe, 2);
  sample_qt(mix, r, m, s, n, x, NULL, NULL);
  assert_int_equal(dpm_oracle_eval(orc, m, s, n, x, &res), DPM_SUCCESS);
  dpm_denoiser_complete(m, s, n, d, x, DPM_PRED_EPS, e1, x2, g2);
  for (size_t i = 0; i < n * d; i++) {
    assert_close(x2[i], x1[i], 0.0, 8 * EPSU * (fabs(x[i]) + s * fabs(e1[i])) / m + 64 * 8 * EPSU * fabs(x1[i]));
    assert_close(g2[i], g1[i], 4 * EPSU, 0.0);
  }
  dpm_denoiser_complete(m, s, n, d, x, DPM_PRED_X0, e2, x1, g2);
  for (size_t i = 0; i < n * d; i++) {
    double mag = (fabs(x[i]) + m * fabs(x1[i])) / s;
    assert_close(e2[i], e1[i], 0.0, 64 * 8 * EPSU * mag);
    assert_close(g2[i], g1[i], 0.0, 64 * 8 * EPSU * mag / s);
  }
  assert_null(dpm_denoiser_alloc(NULL, NULL, 3));
  dpm_denoiser_free(NULL);
  dpm_denoiser_free(dn);
  gsl_rng_free(r);
  dpm_oracle_free(orc);
  dpm_mixture_free(mix);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dense_reference),
      cmocka_unit_test(test_pointset_bruteforce),
      cmocka_unit_test(test_finite_differences),
      cmocka_unit_test(test_class_posterior),
      cmocka_unit_test(test_tweedie),
      cmocka_unit_test(test_vp_ve),
      cmocka_unit_test(test_full_vs_diag),
      cmocka_unit_test(test_pointset_limit),
      cmocka_unit_test(test_posterior_monte_carlo),
      cmocka_unit_test(test_eps_variance_identity),
      cmocka_unit_test(test_extremes_finite),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_far_points),
      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_denoiser),
  };
  return cmocka_run_group_tests_name("oracle", tests, NULL, NULL);
}
