/* test_oracle_reference.c — the closed-form oracle (docs/MATH.md §2: the posterior of a Gaussian mixture under
 * x_t = m x_0 + s eps, Tweedie's formula for its moments) against independent routes that recompute it: a dense
 * Cholesky computation of the textbook formulas, a long-double brute force for diagonal kinds at extreme (m, s),
 * rotations (full vs diagonal covariances) and the point-set limit of vanishing component variances. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>

#include "test_oracle_common.h"

/* ---- textbook formulas with dense Cholesky factors (docs/MATH.md §2 as printed)
 * ---------------------------------- */

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
  dpm_mixture *mix = dpm_test_mixture_kinds();
  dpm_oracle *orc = dpm_test_oracle(mix);
  const double ms[3][2] = {{1.0, 0.5}, {0.6, 0.8}, {1.3, 0.25}};
  const size_t n = 6, d = 3, K = 5;
  double x[6 * 3];
  gsl_rng *r = dpm_rng_stream_alloc(11, 0);
  full_out o;
  out_alloc(&o, n, mix);
  for (size_t c = 0; c < 3; c++) {
    const double m = ms[c][0], s = ms[c][1];
    dpm_test_sample_qt(mix, r, m, s, n - 1, x, NULL, NULL);
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

/* ---- long-double brute force for diagonal kinds, any (m, s)
 * ------------------------------------------------------ */

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
  dpm_oracle *orc = dpm_test_oracle(mix);
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
    dpm_oracle *orc = dpm_test_oracle(mixes[q]);
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

/* ---- full covariances vs the same covariances diagonal
 * ----------------------------------------------------------- */

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
  dpm_test_sample_qt(md, r, m, s, n, x, NULL, NULL);
  for (size_t i = 0; i < n; i++)
    matvec(d, Q, x + i * d, qx + i * d);
  dpm_oracle *od = dpm_test_oracle(md), *of = dpm_test_oracle(mf);
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
  dpm_oracle *od = dpm_test_oracle(md), *of = dpm_test_oracle(mf);
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

/* ---- limits
 * ------------------------------------------------------------------------------------------------------ */

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
  dpm_oracle *op = dpm_test_oracle(mp);
  double x[6 * 2];
  gsl_rng *r = dpm_rng_stream_alloc(24, 0);
  dpm_test_sample_qt(mp, r, m, s, n, x, NULL, NULL);
  full_out P;
  out_alloc(&P, n, mp);
  eval_all(op, m, s, n, x, &P);
  double diff[2][6][3];
  const double vs[2] = {1e-5, 1e-6};
  for (int a = 0; a < 2; a++) {
    dpm_mixture *mi = dpm_mixture_clone(mp);
    for (size_t k = 0; k < K; k++)
      assert_int_equal(dpm_mixture_set_iso(mi, k, vs[a]), DPM_SUCCESS);
    dpm_oracle *oi = dpm_test_oracle(mi);
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

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dense_reference),
      cmocka_unit_test(test_pointset_bruteforce),
      cmocka_unit_test(test_full_vs_diag),
      cmocka_unit_test(test_pointset_limit),
  };
  return cmocka_run_group_tests_name("oracle_reference", tests, NULL, NULL);
}
