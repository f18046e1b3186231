/* test_bridge.c — the Schrödinger bridge module (docs/MATH.md §5) against independent routes: the Gaussian closed
 * form against the scalar formula, the joint precision's off-diagonal block (-I/sigma^2, the defining property of
 * an entropic coupling with a Brownian kernel) and the mutual-information form of OT_sigma; the drift against the
 * Lyapunov equation by central differences; Euler–Maruyama paths against their exact moment recursion within
 * standard errors; exact IPF against the Fibonacci ratios and its measured linear rate; the DSB reference's fixed
 * point; Sinkhorn's marginals, its agreement with the closed form on Gaussian samples within replica standard
 * errors, its epsilon -> 0 and epsilon -> infinity limits through the optimality bounds, and its thread
 * independence. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_sort.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dpmlab.h"
#include "dpm_bridge.h"
#include "testutil.h"

#define EPSU DBL_EPSILON

/* The check problem of docs/MATH.md §5: m0 = -1, Sigma_0 = 0.5, m1 = 1.5, Sigma_1 = 2, sigma^2 = 1. */
static const double M0 = -1.0, S0 = 0.5, M1 = 1.5, S1 = 2.0, SIG2 = 1.0;

/* A d x d symmetric positive-definite matrix B B^T + d I / 4 from the stream (seed, 0). */
static void random_spd(size_t d, uint64_t seed, double *S)
{
  gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
  double B[16];
  for (size_t i = 0; i < d * d; i++)
    B[i] = gsl_ran_gaussian(r, 1.0);
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) {
      double s = i == j ? 0.25 * (double)d : 0.0;
      for (size_t l = 0; l < d; l++)
        s += B[i * d + l] * B[j * d + l];
      S[i * d + j] = s;
    }
  gsl_rng_free(r);
}

/* Inverse of a 2d x 2d SPD matrix and its log-determinant by Gauss–Jordan with partial pivoting (long double). */
static double inv_logdet(size_t n, const double *a, double *inv)
{
  long double A[8][16];
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < 2 * n; j++)
      A[i][j] = j < n ? a[i * n + j] : (j - n == i ? 1.0L : 0.0L);
  long double logdet = 0.0L;
  for (size_t c = 0; c < n; c++) {
    size_t p = c;
    for (size_t i = c + 1; i < n; i++)
      if (fabsl(A[i][c]) > fabsl(A[p][c])) p = i;
    for (size_t j = 0; j < 2 * n; j++) {
      long double t = A[c][j];
      A[c][j] = A[p][j];
      A[p][j] = t;
    }
    const long double piv = A[c][c];
    logdet += logl(fabsl(piv));
    for (size_t j = 0; j < 2 * n; j++)
      A[c][j] /= piv;
    for (size_t i = 0; i < n; i++)
      if (i != c) {
        const long double f = A[i][c];
        for (size_t j = 0; j < 2 * n; j++)
          A[i][j] -= f * A[c][j];
      }
  }
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++)
      inv[i * n + j] = (double)A[i][j + n];
  return (double)logdet;
}

/* The 1-D check values. D, C, OT from the matrix code against the scalar formula (another code path) and against
 * two independent characterisations: C solves C^2 + sigma^2 C = S0 S1 (the joint precision's off-diagonal entry is
 * -1/sigma^2, i.e. the coupling's density is exp(x y / sigma^2) times a product), and OT = E|X - Y|^2 + 2 sigma^2
 * I(X; Y) with the Gaussian mutual information I = 1/2 log(S0 S1 / (S0 S1 - C^2)). The printed check values of
 * docs/MATH.md §5 are given to 10 digits. */
static void test_check_values(void **state)
{
  (void)state;
  dpm_bridge_gauss *g = dpm_bridge_gauss_alloc(1, &M0, &S0, &M1, &S1, SIG2);
  assert_non_null(g);
  double D, C, OT;
  dpm_bridge_gauss_scalar(M0, S0, M1, S1, SIG2, &D, &C, &OT);
  assert_close(g->D[0], D, 4 * EPSU, 0);
  assert_close(g->C[0], C, 8 * EPSU, 0);
  assert_close(g->OT, OT, 8 * EPSU, 0);
  assert_close(C * C + SIG2 * C, S0 * S1, 8 * EPSU, 0);
  const double mi = 0.5 * log(S0 * S1 / (S0 * S1 - C * C));
  const double ot_mi = (M0 - M1) * (M0 - M1) + S0 + S1 - 2 * C + 2 * SIG2 * mi;
  assert_close(g->OT, ot_mi, 32 * EPSU, 0);
  assert_close(D, 2.2360679775, 0, 5e-11);
  assert_close(C, 0.6180339887, 0, 5e-11);
  assert_close(g->OT, 7.9951438476, 0, 5e-11);
  double mt, St;
  assert_int_equal(dpm_bridge_gauss_marginal(g, 0.5, &mt, &St), 0);
  assert_close(St, 1.1840169944, 0, 5e-11);
  assert_close(mt, 0.25, 0, 4 * EPSU);
  /* the end marginals are the constraints */
  assert_int_equal(dpm_bridge_gauss_marginal(g, 0.0, &mt, &St), 0);
  assert_close(St, S0, 4 * EPSU, 0);
  assert_int_equal(dpm_bridge_gauss_marginal(g, 1.0, &mt, &St), 0);
  assert_close(St, S1, 4 * EPSU, 0);
  assert_raises(dpm_bridge_gauss_marginal(g, 1.5, &mt, &St), GSL_EDOM, "t must be");
  dpm_bridge_gauss_free(g);
  /* bad input */
  const double neg = -1.0, nan = NAN;
  assert_raises_null(dpm_bridge_gauss_alloc(1, &M0, &neg, &M1, &S1, SIG2), "Sigma_0");
  assert_raises_null(dpm_bridge_gauss_alloc(1, &M0, &S0, &M1, &S1, 0.0), "sigma^2");
  assert_raises_null(dpm_bridge_gauss_alloc(1, &nan, &S0, &M1, &S1, SIG2), "non-finite");
}

/* d = 3 with random full covariances: the coupling N((m0, m1), [[S0, C], [C^T, S1]]) is positive-definite, the
 * off-diagonal block of its precision is -I/sigma^2 (so its density is exp(<x, y>/sigma^2) times a function of x
 * times a function of y: the static Schrödinger coupling), and OT = |m0 - m1|^2 + tr S0 + tr S1 - 2 tr C +
 * sigma^2 (log det S0 + log det S1 - log det Sigma_joint) (transport plus 2 sigma^2 times the mutual information).
 * Tolerances: the inversion's rounding, a few hundred ulps of the condition number (< 100 here). */
static void test_coupling_structure(void **state)
{
  (void)state;
  enum { d = 3, n = 6 };
  double S0m[9], S1m[9], m0[3] = {0.5, -1.0, 2.0}, m1[3] = {-0.25, 1.5, 0.0};
  random_spd(d, 11, S0m);
  random_spd(d, 12, S1m);
  const double sig2[] = {0.05, 1.0, 7.0};
  for (size_t c = 0; c < 3; c++) {
    dpm_bridge_gauss *g = dpm_bridge_gauss_alloc(d, m0, S0m, m1, S1m, sig2[c]);
    assert_non_null(g);
    double J[36], P[36];
    for (size_t i = 0; i < d; i++)
      for (size_t j = 0; j < d; j++) {
        J[i * n + j] = S0m[i * d + j];
        J[(i + d) * n + j + d] = S1m[i * d + j];
        J[i * n + j + d] = g->C[i * d + j];
        J[(i + d) * n + j] = g->C[j * d + i];
      }
    const double ldj = inv_logdet(n, J, P);
    for (size_t i = 0; i < d; i++)
      for (size_t j = 0; j < d; j++)
        assert_close(P[i * n + j + d], i == j ? -1.0 / sig2[c] : 0.0, 0, 1e-11 / sig2[c]);
    double I0[9], I1[9];
    const double ld0 = inv_logdet(d, S0m, I0), ld1 = inv_logdet(d, S1m, I1);
    double ot = 0.0;
    for (size_t j = 0; j < d; j++)
      ot += (m0[j] - m1[j]) * (m0[j] - m1[j]) + S0m[j * d + j] + S1m[j * d + j] - 2 * g->C[j * d + j];
    assert_close(g->transport, ot, 1e-13, 1e-13);
    ot += sig2[c] * (ld0 + ld1 - ldj);
    assert_close(g->OT, ot, 1e-12, 1e-12);
    dpm_bridge_gauss_free(g);
  }
}

/* The drift is consistent with the time marginals: for the linear SDE dX = b dt + sigma dW with b = (m1 - m0) +
 * A_t (x - mu_t), d Sigma_t/dt = A_t Sigma_t + Sigma_t A_t^T + sigma^2 I and d mu_t/dt = m1 - m0. Sigma_t is a
 * quadratic in t, so the central difference (Sigma_{t+h} - Sigma_{t-h})/2h is exact but for rounding, at most a
 * few eps max|Sigma|/h. d = 3, random covariances. */
static void test_lyapunov(void **state)
{
  (void)state;
  enum { d = 3 };
  double S0m[9], S1m[9], m0[3] = {1.0, 0.0, -2.0}, m1[3] = {0.0, 3.0, 1.0};
  random_spd(d, 21, S0m);
  random_spd(d, 22, S1m);
  dpm_bridge_gauss *g = dpm_bridge_gauss_alloc(d, m0, S0m, m1, S1m, 0.7);
  assert_non_null(g);
  const double h = 1e-3;
  for (double t = 0.1; t < 0.95; t += 0.2) {
    double Sp[9], Sm[9], St[9], mu[3], A[9], b[3];
    assert_int_equal(dpm_bridge_gauss_marginal(g, t + h, NULL, Sp), 0);
    assert_int_equal(dpm_bridge_gauss_marginal(g, t - h, NULL, Sm), 0);
    assert_int_equal(dpm_bridge_gauss_marginal(g, t, mu, St), 0);
    assert_int_equal(dpm_bridge_gauss_drift(g, t, 1, mu, b, A), 0);
    double smax = 0.0;
    for (size_t i = 0; i < 9; i++)
      smax = fmax(smax, fabs(St[i]));
    for (size_t i = 0; i < d; i++) {
      assert_close(b[i], m1[i] - m0[i], 0, 16 * EPSU * (1 + fabs(m1[i] - m0[i])));
      for (size_t j = 0; j < d; j++) {
        double rhs = i == j ? 0.7 : 0.0;
        for (size_t l = 0; l < d; l++)
          rhs += A[i * d + l] * St[l * d + j] + St[i * d + l] * A[j * d + l];
        assert_close((Sp[i * d + j] - Sm[i * d + j]) / (2 * h), rhs, 0, 64 * EPSU * smax / h);
      }
    }
  }
  /* 1-D at t = 0: b(0, x) = E[X_1 | X_0 = x] - x = (m1 - m0) + (C/S0 - 1)(x - m0) */
  dpm_bridge_gauss *g1 = dpm_bridge_gauss_alloc(1, &M0, &S0, &M1, &S1, SIG2);
  const double x = 0.3;
  double b;
  assert_int_equal(dpm_bridge_gauss_drift(g1, 0.0, 1, &x, &b, NULL), 0);
  assert_close(b, (M1 - M0) + (g1->C[0] / S0 - 1) * (x - M0), 8 * EPSU, 8 * EPSU);
  dpm_bridge_gauss_free(g1);
  dpm_bridge_gauss_free(g);
}

/* Euler–Maruyama paths of the 1-D check bridge: the scheme is linear, so its law at step k is N(mu_k, P_k) with
 * P_{k+1} = (1 + h a_k)^2 P_k + sigma^2 h exactly (the mean stays mu_k since mu_{k+1} = mu_k + h (m1 - m0)). The
 * sample mean and variance at t = 1/2 and t = 1 must lie within 4 standard errors of (mu_k, P_k); P_K - Sigma_1 is
 * the scheme's O(h) bias, and halving h halves it (ratio within 10% of 1/2). Same bits for 1 and 2 threads. */
static void test_em_paths(void **state)
{
  (void)state;
  dpm_bridge_gauss *g = dpm_bridge_gauss_alloc(1, &M0, &S0, &M1, &S1, SIG2);
  enum { n = 20000, K = 50 };
  double *paths = malloc((K + 1) * n * sizeof *paths), *p2 = malloc((K + 1) * n * sizeof *p2);
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  assert_int_equal(dpm_bridge_gauss_sample(g, n, K, 5, paths), 0);
#ifdef _OPENMP
  omp_set_num_threads(2);
#endif
  assert_int_equal(dpm_bridge_gauss_sample(g, n, K, 5, p2), 0);
#ifdef _OPENMP
  omp_set_num_threads(saved);
#endif
  assert_memory_equal(paths, p2, (K + 1) * n * sizeof *paths);
  double bias[2];
  for (int pass = 0; pass < 2; pass++) {
    const size_t KK = pass == 0 ? K : 2 * K;
    const double h = 1.0 / (double)KK;
    double P = S0;
    for (size_t k = 0; k < KK; k++) {
      double a;
      const double mu = M0 + (double)k * h * (M1 - M0);
      assert_int_equal(dpm_bridge_gauss_drift(g, (double)k * h, 1, &mu, &(double){0}, &a), 0);
      P = (1 + h * a) * (1 + h * a) * P + SIG2 * h;
      if (pass == 0 && (k + 1 == K / 2 || k + 1 == K)) {
        const double *x = paths + (k + 1) * n;
        double m, se, v = 0.0, m4 = 0.0;
        dpm_test_mean_se(x, n, &m, &se);
        const double mu1 = M0 + (double)(k + 1) * h * (M1 - M0);
        assert_within_se(m, se, mu1, 4);
        for (size_t i = 0; i < n; i++)
          v += (x[i] - mu1) * (x[i] - mu1) / n;
        for (size_t i = 0; i < n; i++)
          m4 += pow(x[i] - mu1, 4) / n;
        assert_within_se(v, sqrt((m4 - v * v) / n), P, 4);
      }
    }
    bias[pass] = P - S1;
  }
  assert_close(bias[1] / bias[0], 0.5, 0.1, 0);
  free(p2);
  free(paths);
  dpm_bridge_gauss_free(g);
}

/* Exact IPF with Sigma_0 = Sigma_1 = I (d = 2), sigma = 1 from the Brownian reference: the cross-covariance after
 * the half-steps is c I with c = 1/2, 2/3, 3/5, 5/8, 8/13 (c <- 1/(1 + c)), to rounding; it converges to C_sigma =
 * (sqrt 5 - 1)/2 I; the map's derivative at the fixed point phi is -phi^2, so the error per full iteration falls
 * by phi^4 (measured ratio to 1e-6 after 8 iterations). */
static void test_ipf_fibonacci(void **state)
{
  (void)state;
  const double I2[4] = {1, 0, 0, 1}, z[2] = {0, 0};
  dpm_bridge_ipf_gauss *s = dpm_bridge_ipf_gauss_alloc(2, z, I2, dpm_bridge_kernel_brownian(1.0));
  assert_non_null(s);
  assert_close(s->Sxy[0], 1.0, 0, 0);
  const double want[] = {1.0 / 2, 2.0 / 3, 3.0 / 5, 5.0 / 8, 8.0 / 13, 13.0 / 21};
  for (int k = 0; k < 6; k++) {
    assert_int_equal(dpm_bridge_ipf_gauss_step(s, k % 2 == 0 ? 1 : 0, z, I2), 0);
    assert_close(s->Sxy[0], want[k], 8 * EPSU, 0);
    assert_close(s->Sxy[3], want[k], 8 * EPSU, 0);
    assert_close(s->Sxy[1], 0.0, 0, 0);
  }
  dpm_bridge_gauss *g = dpm_bridge_gauss_alloc(2, z, I2, z, I2, 1.0);
  const double phi = 0.5 * (sqrt(5.0) - 1.0);
  assert_close(g->C[0], phi, 4 * EPSU, 0);
  double e_prev = dpm_bridge_ipf_gauss_err(s, g->C), ratio = NAN;
  for (int it = 0; it < 5; it++) {
    dpm_bridge_ipf_gauss_step(s, 1, z, I2);
    dpm_bridge_ipf_gauss_step(s, 0, z, I2);
    const double e = dpm_bridge_ipf_gauss_err(s, g->C);
    ratio = e / e_prev;
    e_prev = e;
  }
  assert_close(ratio, pow(phi, 4), 1e-6, 0);
  dpm_bridge_ipf_gauss_free(s);
  dpm_bridge_gauss_free(g);
}

/* IPF converges to the closed form for full covariances and unequal means (d = 3), from the Brownian reference and
 * from the DSB discretised OU chain: the latter's kernel N(a x, q I) gives the Brownian problem with sigma^2 = q/a
 * (docs/MATH.md §5.3), so its IPF limit is C at sigma^2 = q/a. The error falls monotonically (linearly, at about
 * 0.83 per iteration for the first pair) to rounding level within 300 iterations; the means and marginals match
 * exactly after each half-step. */
static void test_ipf_limits(void **state)
{
  (void)state;
  enum { d = 3 };
  double S0m[9], S1m[9], m0[3] = {1.0, -1.0, 0.5}, m1[3] = {-2.0, 0.0, 3.0};
  random_spd(d, 31, S0m);
  random_spd(d, 32, S1m);
  double gam[20];
  for (int k = 0; k < 20; k++)
    gam[k] = 0.02 + 0.004 * k; /* an increasing step list, as in DSB */
  dpm_bridge_kernel kd;
  assert_int_equal(dpm_bridge_kernel_dsb(20, gam, &kd), 0);
  /* the composed kernel against the chain's definition: a = prod(1 - gamma), q by the variance recursion */
  double a = 1, q = 0;
  for (int k = 0; k < 20; k++) {
    a *= 1 - gam[k];
    q = q * (1 - gam[k]) * (1 - gam[k]) + 2 * gam[k];
  }
  assert_close(kd.a, a, 0, 0);
  assert_close(kd.q, q, 0, 0);
  const dpm_bridge_kernel ks[2] = {dpm_bridge_kernel_brownian(0.8), kd};
  for (int c = 0; c < 2; c++) {
    dpm_bridge_gauss *g = dpm_bridge_gauss_alloc(d, m0, S0m, m1, S1m, ks[c].q / ks[c].a);
    dpm_bridge_ipf_gauss *s = dpm_bridge_ipf_gauss_alloc(d, m0, S0m, ks[c]);
    assert_non_null(s);
    double e_prev = HUGE_VAL;
    for (int it = 0; it < 300; it++) {
      assert_int_equal(dpm_bridge_ipf_gauss_step(s, 1, m1, S1m), 0);
      for (size_t j = 0; j < d; j++)
        assert_close(s->my[j], m1[j], 0, 0);
      assert_int_equal(dpm_bridge_ipf_gauss_step(s, 0, m0, S0m), 0);
      const double e = dpm_bridge_ipf_gauss_err(s, g->C);
      assert_true(e < e_prev || e < 1e-11); /* monotone until rounding */
      e_prev = e;
    }
    assert_true(e_prev < 1e-11);
    for (size_t j = 0; j < d; j++) /* the mean's error falls at the same rate: same order as e */
      assert_close(s->my[j], m1[j], 0, 1e-10);
    dpm_bridge_ipf_gauss_free(s);
    dpm_bridge_gauss_free(g);
  }
  assert_raises(dpm_bridge_kernel_dsb(1, (double[]){1.5}, &kd), GSL_EDOM, "DSB step");
}

/* --------------------------------------------------------------------------------------------------------- */

static void solve_ok(dpm_bridge_sinkhorn *s, double reg, size_t scaling)
{
  dpm_bridge_sinkhorn_params p = dpm_bridge_sinkhorn_default();
  p.reg = reg;
  p.eps_scaling = scaling;
  const int st = dpm_bridge_sinkhorn_solve(s, &p);
  if (st) fail_msg("sinkhorn failed: %s", dpm_error_last());
}

/* Marginals: the rows of the plan sum to a (exact after the u-update but for the rounding of a log-sum-exp, a few
 * eps (1 + |u_i| + log m) relative), the columns to b within tol in the 2-norm; plain and epsilon-scaled runs
 * agree on the potentials up to the stopping tolerance (the dual is unique up to a constant, fixed here by
 * comparing u_i + v_j); 1 and 2 threads give the same bits; bad input is refused. */
static void test_sinkhorn_marginals(void **state)
{
  (void)state;
  enum { n = 150, m = 120, d = 2 };
  double x[n * d], y[m * d], a[n], b[m];
  gsl_rng *r = dpm_rng_stream_alloc(41, 0);
  for (size_t i = 0; i < n * d; i++)
    x[i] = gsl_ran_gaussian(r, 1.0);
  for (size_t i = 0; i < m * d; i++)
    y[i] = 2.0 + gsl_ran_gaussian(r, 0.5);
  for (size_t i = 0; i < n; i++)
    a[i] = 0.5 + gsl_rng_uniform(r);
  for (size_t j = 0; j < m; j++)
    b[j] = 0.5 + gsl_rng_uniform(r);
  gsl_rng_free(r);
  dpm_bridge_sinkhorn *s = dpm_bridge_sinkhorn_alloc(n, m, d, x, y, a, b);
  assert_non_null(s);
  double *plan = malloc(n * m * sizeof *plan), *u1 = malloc((n + m) * sizeof *u1);
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  solve_ok(s, 0.5, 0);
  memcpy(u1, s->u, n * sizeof *u1);
  memcpy(u1 + n, s->v, m * sizeof *u1);
  const double tr1 = s->transport, en1 = s->entropic;
#ifdef _OPENMP
  omp_set_num_threads(2);
#endif
  solve_ok(s, 0.5, 0);
#ifdef _OPENMP
  omp_set_num_threads(saved);
#endif
  assert_memory_equal(u1, s->u, n * sizeof *u1);
  assert_memory_equal(u1 + n, s->v, m * sizeof *u1);
  assert_memory_equal(&tr1, &s->transport, sizeof tr1);
  assert_memory_equal(&en1, &s->entropic, sizeof en1);
  dpm_bridge_sinkhorn_plan(s, plan);
  double umax = 0, e2 = 0;
  for (size_t i = 0; i < n; i++)
    umax = fmax(umax, fabs(s->u[i]));
  for (size_t i = 0; i < n; i++) {
    double rs = 0;
    for (size_t j = 0; j < m; j++)
      rs += plan[i * m + j];
    assert_close(rs, s->a[i], 16 * EPSU * (1 + umax + log((double)m)), 0);
  }
  for (size_t j = 0; j < m; j++) {
    double cs = 0;
    for (size_t i = 0; i < n; i++)
      cs += plan[i * m + j];
    e2 += (cs - s->b[j]) * (cs - s->b[j]);
  }
  assert_true(sqrt(e2) < 1e-9);
  assert_close(sqrt(e2), s->marginal_err, 1e-6, 1e-15);
  assert_true(s->iters % 10 == 1); /* stopped at a check: iteration 0, 10, 20, ... */
  /* epsilon scaling reaches the same plan */
  solve_ok(s, 0.5, 6);
  for (size_t i = 0; i < n; i += 7)
    for (size_t j = 0; j < m; j += 5)
      assert_close(s->u[i] + s->v[j], u1[i] + u1[n + j], 0, 1e-7);
  assert_close(s->transport, tr1, 1e-8, 0);
  /* bad input */
  dpm_bridge_sinkhorn_params p = dpm_bridge_sinkhorn_default();
  p.reg = 0.0;
  assert_raises(dpm_bridge_sinkhorn_solve(s, &p), GSL_EDOM, "reg");
  p.reg = 1.0;
  p.max_iter = 1;
  assert_raises(dpm_bridge_sinkhorn_solve(s, &p), GSL_EMAXITER, "above tol");
  dpm_bridge_sinkhorn_free(s);
  a[3] = 0.0;
  assert_raises_null(dpm_bridge_sinkhorn_alloc(n, m, d, x, y, a, b), "weight 3");
  x[5] = NAN;
  assert_raises_null(dpm_bridge_sinkhorn_alloc(n, m, d, x, y, NULL, NULL), "not finite");
  free(u1);
  free(plan);
}

/* Large Gaussian samples: Sinkhorn between n draws of N(m0, S0) and N(m1, S1) (the check problem) at reg = 2
 * sigma^2 estimates the closed form. The plug-in entropic cost and plan moments obey a central limit theorem
 * centred at the population values (del Barrio, González-Sanz, Loubes & Niles-Weed 2023), so over R independent
 * replicas the mean must lie within 4 replica standard errors of OT_sigma, C_sigma and Sigma_{1/2}. The dynamic
 * bridge's paths: end points exact, and at t = 1/2 their mean and variance within 4 standard errors of the plan's
 * exact time marginal. */
static void test_sinkhorn_gaussian(void **state)
{
  (void)state;
  enum { n = 500, R = 10 };
  double ot[R], cc[R], s12[R];
  double x[n], y[n];
  for (size_t rep = 0; rep < R; rep++) {
    gsl_rng *r = dpm_rng_stream_alloc(51, rep);
    for (size_t i = 0; i < n; i++)
      x[i] = M0 + sqrt(S0) * gsl_ran_gaussian(r, 1.0);
    for (size_t i = 0; i < n; i++)
      y[i] = M1 + sqrt(S1) * gsl_ran_gaussian(r, 1.0);
    gsl_rng_free(r);
    dpm_bridge_sinkhorn *s = dpm_bridge_sinkhorn_alloc(n, n, 1, x, y, NULL, NULL);
    solve_ok(s, 2 * SIG2, 0);
    ot[rep] = s->entropic;
    double mx, my, cxy, mt, St;
    dpm_bridge_sinkhorn_moments(s, &mx, &my, &cxy);
    cc[rep] = cxy;
    assert_int_equal(dpm_bridge_sinkhorn_marginal(s, 0.5, &mt, &St), 0);
    s12[rep] = St;
    if (rep == 0) {
      enum { np = 20000, K = 8 };
      double *paths = malloc((K + 1) * np * sizeof *paths);
      size_t *ends = malloc(2 * np * sizeof *ends);
      assert_int_equal(dpm_bridge_sinkhorn_paths(s, np, K, 3, paths, ends), 0);
      for (size_t p = 0; p < np; p += 97) {
        assert_close(paths[p], x[ends[2 * p]], 0, 0);
        assert_close(paths[K * np + p], y[ends[2 * p + 1]], 0, 0);
      }
      const double *xm = paths + (K / 2) * np;
      double m, se, v = 0, m4 = 0;
      dpm_test_mean_se(xm, np, &m, &se);
      assert_within_se(m, se, mt, 4);
      for (size_t p = 0; p < np; p++)
        v += (xm[p] - mt) * (xm[p] - mt) / np;
      for (size_t p = 0; p < np; p++)
        m4 += pow(xm[p] - mt, 4) / np;
      assert_within_se(v, sqrt((m4 - v * v) / np), St, 4);
      free(ends);
      free(paths);
    }
    dpm_bridge_sinkhorn_free(s);
  }
  double m, se, C, OT;
  dpm_bridge_gauss_scalar(M0, S0, M1, S1, SIG2, NULL, &C, &OT);
  dpm_test_mean_se(ot, R, &m, &se);
  assert_within_se(m, se, OT, 4);
  dpm_test_mean_se(cc, R, &m, &se);
  assert_within_se(m, se, C, 4);
  dpm_test_mean_se(s12, R, &m, &se);
  assert_within_se(m, se, 0.25 * S0 + 0.25 * S1 + 0.25 * (2 * C + SIG2), 4);
}

/* The limits, through the optimality of the entropic plan gamma against two competitors (a, b uniform over n
 * 1-D points): against the sorted (monotone, optimal for |x - y|^2) permutation plan P, whose KL to a b^T is log
 * n, OT_0 <= <gamma, c> <= OT_0 + reg log n   (epsilon -> 0: the cost tends to the sorted coupling's); against the
 * independent plan a b^T,  <gamma, c> + reg KL(gamma | ab) <= <ab, c>, so KL <= (<ab, c> - <gamma, c>)/reg -> 0
 * and, by Pinsker, |gamma - ab|_1 <= sqrt(2 KL) (epsilon -> infinity). The column marginal is off by at most tol
 * in 2-norm, which moves the costs by at most max(c) sqrt(n) tol: added as slack. */
static void test_sinkhorn_limits(void **state)
{
  (void)state;
  enum { n = 40 };
  double x[n], y[n], xs[n], ys[n];
  gsl_rng *r = dpm_rng_stream_alloc(61, 0);
  for (size_t i = 0; i < n; i++) {
    xs[i] = x[i] = gsl_ran_gaussian(r, 1.0);
    ys[i] = y[i] = 1.0 + 2.0 * gsl_rng_uniform(r);
  }
  gsl_rng_free(r);
  gsl_sort(xs, 1, n);
  gsl_sort(ys, 1, n);
  double ot0 = 0, cind = 0, cmax = 0;
  for (size_t i = 0; i < n; i++)
    ot0 += (xs[i] - ys[i]) * (xs[i] - ys[i]) / n;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      cind += (x[i] - y[j]) * (x[i] - y[j]) / (n * n);
      cmax = fmax(cmax, (x[i] - y[j]) * (x[i] - y[j]));
    }
  const double slack = cmax * sqrt((double)n) * 1e-9;
  dpm_bridge_sinkhorn *s = dpm_bridge_sinkhorn_alloc(n, n, 1, x, y, NULL, NULL);
  double plan[n * n];
  const double small[] = {0.3, 0.1, 0.03};
  double prev = HUGE_VAL;
  for (int k = 0; k < 3; k++) {
    solve_ok(s, small[k], 8);
    assert_true(s->transport >= ot0 - slack);
    assert_true(s->transport <= ot0 + small[k] * log((double)n) + slack);
    assert_true(s->transport <= prev + slack);
    prev = s->transport;
  }
  const double big[] = {1e2, 1e4};
  for (int k = 0; k < 2; k++) {
    solve_ok(s, big[k], 0);
    const double kl = (s->entropic - s->transport) / big[k];
    assert_true(kl >= -slack);
    assert_true(kl <= (cind - s->transport + slack) / big[k]);
    dpm_bridge_sinkhorn_plan(s, plan);
    double l1 = 0;
    for (size_t i = 0; i < n * n; i++)
      l1 += fabs(plan[i] - 1.0 / (n * n));
    assert_true(l1 <= sqrt(2 * fmax(kl, 0) + 2 * slack) + slack);
    if (k == 1) assert_true(l1 < 1e-3);
  }
  dpm_bridge_sinkhorn_free(s);
}

/* Grid IPF ("dynamic Sinkhorn": the Gaussian one-step kernels applied one at a time) reproduces the closed form to
 * grid accuracy. The grid sums Gaussians of variance at least v = sigma^2/N (the one-step kernel) on spacing dx,
 * and by Poisson summation a Riemann sum of such a Gaussian is exact up to terms of order exp(-2 pi^2 v/dx^2): the
 * error in C_sigma must fall like that, so the measured slope of log|err| against 1/dx^2 between two fine grids is
 * -2 pi^2 v (within 20%); on a fine grid C, Sigma_{1/2} and mu_{1/2} agree to rounding (the IPF run to an L1
 * marginal error of 1e-14). In 2-D (full covariances, separable kernel; the domain 8 sd beyond the means, so the
 * truncated mass is below 1e-14) C and the marginal at t = 1/3 agree to 1e-10. */
static void test_grid_ipf(void **state)
{
  (void)state;
  dpm_mixture *a = dpm_data_load_json_string("{\"weights\":[1],\"means\":[[-1]],\"covariances\":[0.5]}", "a");
  dpm_mixture *b = dpm_data_load_json_string("{\"weights\":[1],\"means\":[[1.5]],\"covariances\":[2]}", "b");
  dpm_bridge_gauss *g = dpm_bridge_gauss_alloc(1, &M0, &S0, &M1, &S1, SIG2);
  double S12;
  dpm_bridge_gauss_marginal(g, 0.5, NULL, &S12);
  enum { N = 4 };
  const size_t Gs[3] = {40, 60, 100};
  double cerr[3], dx[3];
  for (int q = 0; q < 3; q++) {
    dpm_bridge_grid *s = dpm_bridge_grid_alloc(a, b, Gs[q], -11.0, 14.0, N, SIG2);
    assert_non_null(s);
    double e = 1.0;
    for (int it = 0; it < 200 && e > 1e-14; it++)
      assert_int_equal(dpm_bridge_grid_iterate(s, &e), 0);
    assert_true(e <= 1e-14);
    double C, m, S;
    assert_int_equal(dpm_bridge_grid_cross_cov(s, &C), 0);
    assert_int_equal(dpm_bridge_grid_marginal(s, N / 2, NULL, &m, &S), 0);
    cerr[q] = fabs(C - g->C[0]);
    dx[q] = s->dx;
    if (q == 2) {
      assert_close(C, g->C[0], 0, 1e-13);
      assert_close(S, S12, 0, 1e-13);
      assert_close(m, 0.25, 0, 1e-13);
    }
    dpm_bridge_grid_free(s);
  }
  const double slope = log(cerr[0] / cerr[1]) / (1 / (dx[0] * dx[0]) - 1 / (dx[1] * dx[1]));
  assert_close(slope, -2 * M_PI * M_PI * SIG2 / N, 0.2, 0);
  dpm_bridge_gauss_free(g);
  /* 2-D */
  const double m0[2] = {1.0, -1.0}, m1[2] = {-1.0, 0.5}, A0[4] = {1.0, 0.3, 0.3, 0.5},
               A1[4] = {0.8, -0.4, -0.4, 1.2};
  dpm_mixture *a2 = dpm_data_load_json_string(
      "{\"weights\":[1],\"means\":[[1,-1]],\"covariances\":[[[1,0.3],[0.3,0.5]]]}", "a2");
  dpm_mixture *b2 = dpm_data_load_json_string(
      "{\"weights\":[1],\"means\":[[-1,0.5]],\"covariances\":[[[0.8,-0.4],[-0.4,1.2]]]}", "b2");
  dpm_bridge_gauss *g2 = dpm_bridge_gauss_alloc(2, m0, A0, m1, A1, 1.5);
  dpm_bridge_grid *s = dpm_bridge_grid_alloc(a2, b2, 80, -9.0, 9.0, 3, 1.5);
  assert_non_null(s);
  double e = 1.0;
  for (int it = 0; it < 200 && e > 1e-13; it++)
    assert_int_equal(dpm_bridge_grid_iterate(s, &e), 0);
  double C[4], mean[2], cov[4], mt[2], St[4];
  assert_int_equal(dpm_bridge_grid_cross_cov(s, C), 0);
  for (int i = 0; i < 4; i++)
    assert_close(C[i], g2->C[i], 0, 1e-10);
  assert_int_equal(dpm_bridge_grid_marginal(s, 1, NULL, mean, cov), 0);
  assert_int_equal(dpm_bridge_gauss_marginal(g2, 1.0 / 3.0, mt, St), 0);
  for (int i = 0; i < 2; i++)
    assert_close(mean[i], mt[i], 0, 1e-10);
  for (int i = 0; i < 4; i++)
    assert_close(cov[i], St[i], 0, 1e-10);
  dpm_bridge_grid_free(s);
  assert_raises_null(dpm_bridge_grid_alloc(a2, b, 64, -7.0, 7.0, 3, 1.5), "dimension");
  assert_raises_null(dpm_bridge_grid_alloc(a2, b2, 64, 7.0, -7.0, 3, 1.5), "range");
  dpm_mixture_free(a2);
  dpm_mixture_free(b2);
  dpm_mixture_free(a);
  dpm_mixture_free(b);
  dpm_bridge_gauss_free(g2);
}

/* Mean-matching IPF (DSB without networks) on the check problem: with affine least squares (exact for Gaussians)
 * its only errors are Monte Carlo and the fixed-variance backward kernel, whose bias is O(h): after one full
 * iteration its Cov(X_0, X_1) approaches exact IPF's (3/5) as N grows, at measured order 1 in h = 1/N. The order
 * from N = 8 and 32 must lie within 4 standard errors of 1, the standard error propagated from the estimates' own
 * (Cov of M pairs: sd(X_0 X_1)/sqrt(M)); and the bias must at least halve. */
static void test_mean_matching(void **state)
{
  (void)state;
  dpm_mixture *a = dpm_data_load_json_string("{\"weights\":[1],\"means\":[[-1]],\"covariances\":[0.5]}", "a");
  dpm_mixture *b = dpm_data_load_json_string("{\"weights\":[1],\"means\":[[1.5]],\"covariances\":[2]}", "b");
  enum { M = 400000 };
  const size_t Ns[2] = {8, 32};
  double bias[2], se[2];
  const double exact = 3.0 / 5.0; /* exact IPF after one full iteration (test_ipf_fibonacci's recursion) */
  for (int q = 0; q < 2; q++) {
    dpm_bridge_mm *s = dpm_bridge_mm_alloc(a, b, Ns[q], M, SIG2, 11);
    assert_non_null(s);
    double C;
    assert_int_equal(dpm_bridge_mm_iterate(s, &C), 0);
    /* the standard error of a sample covariance: sd of (x0 - m0)(x1 - m1) over sqrt(M) */
    const double *x0 = s->X, *x1 = s->X + Ns[q] * M;
    double m0 = 0, m1 = 0, v = 0;
    for (size_t i = 0; i < M; i++) {
      m0 += x0[i] / M;
      m1 += x1[i] / M;
    }
    for (size_t i = 0; i < M; i++) {
      const double z = (x0[i] - m0) * (x1[i] - m1) - C;
      v += z * z / (M - 1);
    }
    bias[q] = C - exact;
    se[q] = sqrt(v / M);
    dpm_bridge_mm_free(s);
  }
  const double order = log(bias[0] / bias[1]) / log(4.0);
  const double se_order = sqrt(pow(se[0] / bias[0], 2) + pow(se[1] / bias[1], 2)) / log(4.0);
  assert_within_se(order, se_order, 1.0, 4);
  assert_true(fabs(bias[1]) < 0.5 * fabs(bias[0]));
  assert_raises_null(dpm_bridge_mm_alloc(a, b, 0, M, SIG2, 1), "N >= 1");
  dpm_mixture_free(a);
  dpm_mixture_free(b);
}

/* Cov(X_0, X_N) of a mean-matching workspace's last forward simulation (1-D) and its standard error sd((x0 -
 * m0)(x1 - m1))/sqrt(M). */
static double mm_cov_se(const dpm_bridge_mm *s, double *se)
{
  const size_t M = s->M;
  const double *x0 = s->X, *x1 = s->X + s->N * M;
  double m0 = 0, m1 = 0, c = 0, v = 0;
  for (size_t i = 0; i < M; i++) {
    m0 += x0[i] / (double)M;
    m1 += x1[i] / (double)M;
  }
  for (size_t i = 0; i < M; i++)
    c += (x0[i] - m0) * (x1[i] - m1) / (double)(M - 1);
  for (size_t i = 0; i < M; i++) {
    const double z = (x0[i] - m0) * (x1[i] - m1) - c;
    v += z * z / (double)(M - 1);
  }
  *se = sqrt(v / (double)M);
  return c;
}

/* The bump regressor with no bumps (S = 0) is the affine regressor: the same operations in the same order on the
 * same streams, so the particles and the iterates are the same bits whatever the ridge (it only touches bump
 * coefficients). Its refusals: S = 1, S^d > 256, a negative or NaN ridge. */
static void test_mean_matching_affine_basis(void **state)
{
  (void)state;
  dpm_mixture *a = dpm_data_load_json_string(
      "{\"weights\":[0.5,0.5],\"means\":[[-1.5],[1.5]],\"covariances\":[0.25,0.25]}", "a");
  dpm_mixture *b = dpm_data_load_json_string("{\"weights\":[1],\"means\":[[0]],\"covariances\":[1]}", "b");
  dpm_bridge_mm *s0 = dpm_bridge_mm_alloc(a, b, 6, 3000, SIG2, 9),
                *s1 = dpm_bridge_mm_alloc_bumps(a, b, 6, 3000, SIG2, 9, 0, 0.5);
  assert_non_null(s0);
  assert_non_null(s1);
  for (int it = 0; it < 2; it++) {
    double C0, C1;
    assert_int_equal(dpm_bridge_mm_iterate(s0, &C0), 0);
    assert_int_equal(dpm_bridge_mm_iterate(s1, &C1), 0);
    assert_true(memcmp(&C0, &C1, sizeof C0) == 0);
    assert_true(memcmp(s0->X, s1->X, 7 * 3000 * sizeof(double)) == 0);
  }
  dpm_bridge_mm_free(s0);
  dpm_bridge_mm_free(s1);
  assert_raises_null(dpm_bridge_mm_alloc_bumps(a, b, 6, 3000, SIG2, 9, 1, 0.1), "size >= 2");
  assert_raises_null(dpm_bridge_mm_alloc_bumps(a, b, 6, 3000, SIG2, 9, 300, 0.1), "exceed 256");
  assert_raises_null(dpm_bridge_mm_alloc_bumps(a, b, 6, 3000, SIG2, 9, 8, -1.0), "ridge");
  assert_raises_null(dpm_bridge_mm_alloc_bumps(a, b, 6, 3000, SIG2, 9, 8, NAN), "ridge");
  dpm_mixture_free(a);
  dpm_mixture_free(b);
}

/* Mean-matching IPF with Gaussian bumps on a non-Gaussian problem, a two-component 1-D mixture to N(0, 1), against
 * grid IPF on the same discrete chain (N steps of variance sigma^2/N), which is exact to grid accuracy. After one
 * full iteration the forward simulation's Cov(X_0, X_N) estimates the grid's plan after its next f-update (the
 * f-update with the previous g: the forward half-bridge). Its remaining error is the fixed-variance kernel's O(h)
 * bias (test_mean_matching) plus the regression's: it must shrink from N = 5 to N = 20 by more than 4 combined
 * standard errors, while the affine regressor, which cannot represent the mixture's nonlinear drift, stays farther
 * from the grid than the bumps by more than 4 standard errors at N = 20. */
static void test_mean_matching_bumps(void **state)
{
  (void)state;
  dpm_mixture *a = dpm_data_load_json_string(
      "{\"weights\":[0.5,0.5],\"means\":[[-1.5],[1.5]],\"covariances\":[0.25,0.25]}", "a");
  dpm_mixture *b = dpm_data_load_json_string("{\"weights\":[1],\"means\":[[0]],\"covariances\":[1]}", "b");
  enum { M = 40000, G = 600 };
  const size_t Ns[2] = {5, 20};
  double err[2], se[2], gsave[G];
  for (int q = 0; q < 2; q++) {
    /* the grid's forward half-bridge of iteration 2: f from mu0 and g of iteration 1 */
    dpm_bridge_grid *g = dpm_bridge_grid_alloc(a, b, G, -7.0, 7.0, Ns[q], SIG2);
    assert_non_null(g);
    assert_int_equal(dpm_bridge_grid_iterate(g, NULL), 0);
    memcpy(gsave, g->g, sizeof gsave);
    assert_int_equal(dpm_bridge_grid_iterate(g, NULL), 0);
    memcpy(g->g, gsave, sizeof gsave);
    double Cg;
    assert_int_equal(dpm_bridge_grid_cross_cov(g, &Cg), 0);
    dpm_bridge_grid_free(g);
    dpm_bridge_mm *s = dpm_bridge_mm_alloc_bumps(a, b, Ns[q], M, SIG2, 13, 16, 1e-3);
    assert_non_null(s);
    assert_int_equal(dpm_bridge_mm_iterate(s, NULL), 0);
    err[q] = mm_cov_se(s, &se[q]) - Cg;
    dpm_bridge_mm_free(s);
    if (q == 1) { /* the affine regressor on the same problem */
      dpm_bridge_mm *sa = dpm_bridge_mm_alloc(a, b, Ns[q], M, SIG2, 13);
      assert_non_null(sa);
      assert_int_equal(dpm_bridge_mm_iterate(sa, NULL), 0);
      double sea;
      const double erra = mm_cov_se(sa, &sea) - Cg;
      dpm_bridge_mm_free(sa);
      assert_true(fabs(erra) - fabs(err[1]) > 4.0 * sqrt(sea * sea + se[1] * se[1]));
    }
  }
  assert_true(fabs(err[0]) - fabs(err[1]) > 4.0 * sqrt(se[0] * se[0] + se[1] * se[1]));
  dpm_mixture_free(a);
  dpm_mixture_free(b);
}

/* log pi(y | x) of the mixture-potential plan from its closed-form parameters (one point x, one y). */
static double gmmpot_logpi(const dpm_mixture *pot, double eps, const double *x, const double *y)
{
  const size_t K = pot->K, d = pot->d;
  double w[8], m[16], St[32], acc = 0.0;
  assert_int_equal(dpm_bridge_gmmpot_cond(pot, eps, 1, x, w, m, St, NULL, NULL), 0);
  for (size_t k = 0; k < K; k++) {
    double P[4], r[2] = {y[0] - m[k * d], d == 2 ? y[1] - m[k * d + 1] : 0.0}, z[2];
    memcpy(P, St + k * d * d, d * d * sizeof *P);
    if (d == 1) {
      acc += w[k] * exp(-0.5 * r[0] * r[0] / P[0]) / sqrt(2 * M_PI * P[0]);
    } else {
      const double det = P[0] * P[3] - P[1] * P[2];
      z[0] = (P[3] * r[0] - P[1] * r[1]) / det;
      z[1] = (-P[2] * r[0] + P[0] * r[1]) / det;
      acc += w[k] * exp(-0.5 * (r[0] * z[0] + r[1] * z[1])) / (2 * M_PI * sqrt(det));
    }
  }
  return log(acc);
}

/* The mixture-potential benchmark (Gushchin et al. 2023): pi(y | x) in closed form is the entropic plan for the
 * cost 1/2 |x - y|^2 with eps, so log pi(y | x) = <x, y>/eps + a(x) + b(y) and its mixed derivatives are d^2/dx_a
 * dy_b = delta_ab/eps: checked by central differences at steps h and h/2 in 1-D and 2-D (three full-covariance
 * components), tolerance the Richardson estimate 4|D(h) - D(h/2)| plus rounding 1e-6/h^2 ... of log pi. The pair
 * sampler: the mean of Y over pairs within 4 SE of the mean of the closed-form conditional means. BW^2 between
 * Gaussians against the 1-D formula (m1 - m2)^2 + (sqrt s1 - sqrt s2)^2 and zero for equal laws. */
static void test_mixture_potential(void **state)
{
  (void)state;
  dpm_mixture *pot =
      dpm_data_load_json_string("{\"weights\":[0.5,0.3,0.2],\"means\":[[-2,0],[1,1.5],[2,-1]],"
                                "\"covariances\":[[[0.5,0.1],[0.1,0.3]],[0.4,0.6],[[0.3,-0.1],[-0.1,0.5]]]}",
                                "pot");
  dpm_mixture *pot1 = dpm_data_load_json_string(
      "{\"weights\":[0.6,0.4],\"means\":[[-1.5],[2]],\"covariances\":[0.3,0.8]}", "pot1");
  assert_non_null(pot);
  assert_non_null(pot1);
  const double eps = 0.7;
  const double pts[3][4] = {{0.3, -0.2, 0.5, 1.0}, {-1.0, 0.8, -1.5, 0.2}, {1.2, 0.1, 2.0, -0.7}};
  for (int c = 0; c < 3; c++)
    for (int dim = 1; dim <= 2; dim++) {
      const dpm_mixture *P = dim == 1 ? pot1 : pot;
      for (int a = 0; a < dim; a++)
        for (int b = 0; b < dim; b++) {
          double D[2];
          for (int q = 0; q < 2; q++) {
            const double h = q == 0 ? 1e-3 : 5e-4;
            double acc = 0.0;
            for (int sx = -1; sx <= 1; sx += 2)
              for (int sy = -1; sy <= 1; sy += 2) {
                double x[2] = {pts[c][0], pts[c][1]}, y[2] = {pts[c][2], pts[c][3]};
                x[a] += sx * h;
                y[b] += sy * h;
                acc += sx * sy * gmmpot_logpi(P, eps, x, y);
              }
            D[q] = acc / (4 * h * h);
          }
          const double tol = 4 * fabs(D[0] - D[1]) + 64 * DBL_EPSILON * 10 / (5e-4 * 5e-4);
          assert_close(D[1], a == b ? 1 / eps : 0.0, 0, tol);
        }
    }
  /* pairs */
  enum { n = 20000 };
  double *x = malloc(2 * n * sizeof *x), *y = malloc(2 * n * sizeof *y), *mc = malloc(2 * n * sizeof *mc);
  dpm_mixture *src = dpm_data_from_spec("gauss:d=2,sd=1.5");
  assert_int_equal(dpm_bridge_gmmpot_sample(src, pot, eps, n, 9, x, y), 0);
  assert_int_equal(dpm_bridge_gmmpot_cond(pot, eps, n, x, NULL, NULL, NULL, mc, NULL), 0);
  for (int j = 0; j < 2; j++) {
    double *v = malloc(n * sizeof *v), m, se;
    for (size_t i = 0; i < n; i++)
      v[i] = y[2 * i + j] - mc[2 * i + j]; /* mean 0 given x: the sampler draws from the closed form */
    dpm_test_mean_se(v, n, &m, &se);
    assert_within_se(m, se, 0.0, 4);
    free(v);
  }
  free(x);
  free(y);
  free(mc);
  dpm_mixture_free(src);
  /* BW^2 */
  const double m1 = 0.3, s1 = 2.0, m2 = -0.4, s2 = 0.5;
  double bw, uvp;
  assert_int_equal(dpm_bridge_bw2(1, &m1, &s1, &m2, &s2, &bw, &uvp), 0);
  assert_close(bw, (m1 - m2) * (m1 - m2) + pow(sqrt(s1) - sqrt(s2), 2), 16 * DBL_EPSILON, 0);
  assert_close(uvp, 100 * bw / (0.5 * s2), 16 * DBL_EPSILON, 0);
  const double S[4] = {1.0, 0.3, 0.3, 0.5}, mu[2] = {1, 2};
  assert_int_equal(dpm_bridge_bw2(2, mu, S, mu, S, &bw, NULL), 0);
  assert_close(bw, 0.0, 0, 1e-14);
  assert_raises(dpm_bridge_gmmpot_cond(pot, 0.0, 1, mu, NULL, NULL, NULL, NULL, NULL), GSL_EDOM, "eps");
  dpm_mixture_free(pot);
  dpm_mixture_free(pot1);
}

typedef struct {
  double c;
} imf_scalar;

/* a_t = S_t / Sigma_t for the 1-D check problem and the coupling c (docs/MATH.md §5.2 with c for C_sigma) */
static double imf_a(double t, void *par)
{
  const double c = ((imf_scalar *)par)->c, u = 1 - t;
  const double Sig = u * u * S0 + t * t * S1 + t * u * (2 * c + SIG2);
  return (t * S1 - u * S0 + u * c - t * c - SIG2 * t) / Sig;
}

/* Iterative Markovian fitting (Shi et al. 2023) in the Gaussian family. In 1-D the Markovian projection's
 * cross-covariance solves dK/dt = a_t K, so one step is c' = S0 exp(int_0^1 a_t dt): the library's rk8pd solve
 * against that integral by adaptive quadrature (QAGS, 1e-13), to 1e-9. C_sigma is a fixed point (d = 3, random
 * full covariances, to 1e-8). From the independent coupling (C = 0) the iterates converge to C_sigma with an error
 * that falls at every iteration. */
static void test_imf(void **state)
{
  (void)state;
  dpm_bridge_gauss *g = dpm_bridge_gauss_alloc(1, &M0, &S0, &M1, &S1, SIG2);
  gsl_integration_workspace *iw = gsl_integration_workspace_alloc(200);
  const double cs[3] = {0.0, 0.3, 0.9};
  for (int q = 0; q < 3; q++) {
    double cn, I, err;
    assert_int_equal(dpm_bridge_imf_gauss_step(g, &cs[q], &cn, 1e-12), 0);
    imf_scalar par = {cs[q]};
    gsl_function F = {imf_a, &par};
    assert_int_equal(gsl_integration_qags(&F, 0, 1, 0, 1e-13, 200, iw, &I, &err), 0);
    assert_close(cn, S0 * exp(I), 1e-9, 0);
  }
  gsl_integration_workspace_free(iw);
  /* convergence from independence */
  double c = 0.0, e_prev = fabs(c - g->C[0]);
  for (int it = 0; it < 40; it++) {
    assert_int_equal(dpm_bridge_imf_gauss_step(g, &c, &c, 1e-12), 0);
    const double e = fabs(c - g->C[0]);
    assert_true(e < e_prev || e < 1e-10);
    e_prev = e;
  }
  assert_true(e_prev < 1e-9);
  dpm_bridge_gauss_free(g);
  /* the fixed point in d = 3 */
  enum { d = 3 };
  double S0m[9], S1m[9], m0[3] = {1, 0, -1}, m1[3] = {0, 2, 1}, Cn[9];
  random_spd(d, 71, S0m);
  random_spd(d, 72, S1m);
  dpm_bridge_gauss *g3 = dpm_bridge_gauss_alloc(d, m0, S0m, m1, S1m, 0.9);
  assert_int_equal(dpm_bridge_imf_gauss_step(g3, g3->C, Cn, 1e-12), 0);
  for (int i = 0; i < 9; i++)
    assert_close(Cn[i], g3->C[i], 0, 1e-8);
  assert_raises(dpm_bridge_imf_gauss_step(g3, g3->C, Cn, 0.0), GSL_EDOM, "rtol");
  dpm_bridge_gauss_free(g3);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_check_values),
      cmocka_unit_test(test_coupling_structure),
      cmocka_unit_test(test_lyapunov),
      cmocka_unit_test(test_em_paths),
      cmocka_unit_test(test_ipf_fibonacci),
      cmocka_unit_test(test_ipf_limits),
      cmocka_unit_test(test_sinkhorn_marginals),
      cmocka_unit_test(test_sinkhorn_gaussian),
      cmocka_unit_test(test_sinkhorn_limits),
      cmocka_unit_test(test_grid_ipf),
      cmocka_unit_test(test_mean_matching),
      cmocka_unit_test(test_mean_matching_affine_basis),
      cmocka_unit_test(test_mean_matching_bumps),
      cmocka_unit_test(test_mixture_potential),
      cmocka_unit_test(test_imf),
  };
  return cmocka_run_group_tests_name("bridge", tests, NULL, NULL);
}
