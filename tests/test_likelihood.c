/* test_likelihood.c — the probability-flow likelihood (docs/MATH.md §4.3) against the exact log q_t0: the
 * exact-divergence answer within the sum of the solver's local tolerances for VP, sub-VP, VE and EDM and for
 * isotropic, diagonal and full covariances; the fixed-step integrators at their orders; Hutchinson unbiased within
 * k standard errors with a variance falling as 1/M; the prior-mismatch identity; decode(encode(x)) = x; the same
 * bits for 1 and 2 threads; the finite-difference divergence of a model without one. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include <gsl/gsl_rng.h>

#include "dpmlab.h"
#include "likelihood_internal.h"
#include "testutil.h"

static const char *const PROCS[4] = {"vp", "subvp", "ve", "edm"};

/* A 2-D mixture with one component of each Gaussian kind: isotropic, diagonal, full. */
static dpm_mixture *kinds2(void)
{
  dpm_mixture *mix = dpm_mixture_alloc(3, 2);
  assert_non_null(mix);
  const double m0[2] = {-1.5, 0.5}, m1[2] = {1.0, 1.5}, m2[2] = {0.5, -1.0}, dv[2] = {0.3, 0.05},
               full[4] = {0.4, 0.25, 0.25, 0.3}, w[3] = {0.3, 0.3, 0.4};
  assert_int_equal(dpm_mixture_set_mean(mix, 0, m0), 0);
  assert_int_equal(dpm_mixture_set_mean(mix, 1, m1), 0);
  assert_int_equal(dpm_mixture_set_mean(mix, 2, m2), 0);
  assert_int_equal(dpm_mixture_set_iso(mix, 0, 0.2), 0);
  assert_int_equal(dpm_mixture_set_diag(mix, 1, dv), 0);
  assert_int_equal(dpm_mixture_set_full(mix, 2, full), 0);
  assert_int_equal(dpm_mixture_set_weights(mix, w), 0);
  return mix;
}

static void sample_t0(const dpm_mixture *mix, const dpm_process *p, double t0, size_t n, uint64_t seed, double *x)
{
  double m, s;
  assert_int_equal(dpm_process_ms(p, t0, &m, &s), 0);
  gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
  dpm_test_sample_qt(mix, r, m, s, n, x, NULL, NULL);
  gsl_rng_free(r);
}

/* The global error of an adaptive solve is at most the sum of the local errors it accepted (for a flow that does
 * not amplify them, which holds here to within the factor exp(int |div f|) ~ q_t0/q_T, absorbed in |logq|): each
 * step's error on delta is <= atol + rtol |delta|, so |err| <= nsteps (atol + rtol (|delta| + |log q_T| + 1)). */
static double tol_bound(const dpm_likelihood_point *r, const dpm_likelihood_params *par)
{
  return (double)r->nsteps * (par->atol + par->rtol * (fabs(r->delta) + fabs(r->logq_T) + 1.0));
}

static void test_exact_all_processes(void **state)
{
  (void)state;
  dpm_mixture *mix = kinds2();
  dpm_likelihood *w = dpm_likelihood_alloc(mix, NULL, 0);
  assert_non_null(w);
  enum { N = 12 };
  double x[N * 2], xT[N * 2];
  dpm_likelihood_point res[N];
  for (int q = 0; q < 4; q++) {
    dpm_process p;
    assert_int_equal(dpm_process_parse(&p, PROCS[q]), 0);
    for (int k = 0; k < 2; k++) {
      dpm_likelihood_params par;
      dpm_likelihood_params_default(&par);
      par.method = k ? DPM_LIK_RK8PD : DPM_LIK_RK45;
      par.rtol = k ? 1e-10 : 1e-7;
      par.atol = par.rtol * 1e-2;
      sample_t0(mix, &p, par.t0, N, 11 + (uint64_t)q, x);
      assert_int_equal(dpm_likelihood_eval(w, &p, &par, N, x, res, xT), 0);
      for (size_t i = 0; i < N; i++) {
        const double err = res[i].logp - res[i].logq_true, bound = tol_bound(&res[i], &par);
        if (!(fabs(err) <= bound))
          fail_msg("%s %s point %zu: err %.3g > bound %.3g (nsteps %lu)", PROCS[q], k ? "rk8pd" : "rk45", i, err,
                   bound, res[i].nsteps);
        assert_true(res[i].nfe > 0);
        assert_close(res[i].bpd, -res[i].logp / (2.0 * M_LN2), 1e-15, 0.0);
      }
    }
    dpm_process_clear(&p);
  }
  dpm_likelihood_free(w);
  dpm_mixture_free(mix);
}

/* Euler, Heun and RK4 in rho: the error of log p falls as N^-1, N^-2, N^-4 (slope measured between N and 2N). */
static void test_fixed_step_orders(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  dpm_likelihood *w = dpm_likelihood_alloc(mix, NULL, 0);
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VP);
  const double x[1] = {0.7};
  const dpm_lik_method meth[3] = {DPM_LIK_EULER, DPM_LIK_HEUN, DPM_LIK_RK4};
  const double order[3] = {1, 2, 4};
  const size_t N0[3] = {400, 200, 100};
  for (int q = 0; q < 3; q++) {
    double e[2];
    for (int k = 0; k < 2; k++) {
      dpm_likelihood_params par;
      dpm_likelihood_params_default(&par);
      par.t0 = 1e-3;
      par.method = meth[q];
      par.steps = N0[q] << k;
      dpm_likelihood_point r;
      assert_int_equal(dpm_likelihood_eval(w, &p, &par, 1, x, &r, NULL), 0);
      e[k] = fabs(r.logp - r.logq_true);
    }
    const double slope = log2(e[0] / e[1]);
    /* asymptotic: the next term of the error expansion is O(1/N) relative to the leading one */
    if (!(fabs(slope - order[q]) < 0.25)) fail_msg("method %d: slope %.3f, expected %.0f", q, slope, order[q]);
  }
  dpm_likelihood_free(w);
  dpm_mixture_free(mix);
}

/* Hutchinson: the estimator is linear in v^T J v along a trajectory that does not depend on v, so E[logp_H] =
 * logp_exact (up to the ODE error) and Var falls as 1/M. R replicate seeds each at M = 1 and M = 8, for Rademacher
 * and Gaussian probes: mean within 4 SE; the variance ratio's log within 4 sd of log 8 (sd of the log of a ratio
 * of two sample variances of R values ~ sqrt(2/(R-1)) each, for near-Gaussian values: sqrt(4/(R-1))). */
static void test_hutchinson(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("ring8");
  dpm_likelihood *w = dpm_likelihood_alloc(mix, NULL, 0);
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VP);
  const double x[2] = {2.7, 2.9};
  enum { R = 120 };
  dpm_likelihood_params par;
  dpm_likelihood_params_default(&par);
  par.rtol = 1e-8;
  par.atol = 1e-10;
  dpm_likelihood_point ex;
  assert_int_equal(dpm_likelihood_eval(w, &p, &par, 1, x, &ex, NULL), 0);
  par.div = DPM_LIK_DIV_HUTCHINSON;
  for (int pk = 0; pk < 2; pk++) {
    par.probe = pk ? DPM_LIK_PROBE_GAUSSIAN : DPM_LIK_PROBE_RADEMACHER;
    double var[2];
    const size_t Ms[2] = {1, 8};
    for (int k = 0; k < 2; k++) {
      par.probes = Ms[k];
      double v[R], mean, se;
      for (size_t r = 0; r < R; r++) {
        par.seed = 1000 * (uint64_t)(pk * 2 + k) + r;
        dpm_likelihood_point h;
        assert_int_equal(dpm_likelihood_eval(w, &p, &par, 1, x, &h, NULL), 0);
        v[r] = h.logp - ex.logp;
      }
      dpm_test_mean_se(v, R, &mean, &se);
      assert_within_se(mean, se, 0.0, 4.0);
      var[k] = se * se * R;
    }
    const double lr = log(var[0] / var[1]);
    if (!(fabs(lr - log(8.0)) < 4.0 * sqrt(4.0 / (R - 1))))
      fail_msg("probe %d: variance ratio %.3f, expected 8", pk, var[0] / var[1]);
  }
  /* differences along the probe agree with the Hessian route to the finite-difference error (eps^(2/3)) */
  par.probes = 4;
  par.seed = 5;
  dpm_likelihood_point a, b;
  assert_int_equal(dpm_likelihood_eval(w, &p, &par, 1, x, &a, NULL), 0);
  par.hvp_fd = 1;
  assert_int_equal(dpm_likelihood_eval(w, &p, &par, 1, x, &b, NULL), 0);
  assert_close(b.logp, a.logp, 0.0, tol_bound(&a, &par) + tol_bound(&b, &par));
  dpm_likelihood_free(w);
  dpm_mixture_free(mix);
}

/* The Gaussian prior: logp differs from the exact-prior answer by exactly the prior mismatch
 * log N(x_T; 0, s_T^2 I) - log q_T(x_T), recomputed here from x_T and the oracle. */
static void test_prior_mismatch(void **state)
{
  (void)state;
  dpm_mixture *mix = kinds2();
  dpm_likelihood *w = dpm_likelihood_alloc(mix, NULL, 0);
  dpm_oracle *o = dpm_test_oracle(mix);
  for (int q = 0; q < 4; q++) {
    dpm_process p;
    assert_int_equal(dpm_process_parse(&p, PROCS[q]), 0);
    dpm_likelihood_params par;
    dpm_likelihood_params_default(&par);
    double x[6], xT[6], mT, sT;
    sample_t0(mix, &p, par.t0, 3, 3, x);
    dpm_likelihood_point re[3], rg[3];
    assert_int_equal(dpm_likelihood_eval(w, &p, &par, 3, x, re, xT), 0);
    par.prior = DPM_LIK_PRIOR_GAUSSIAN;
    assert_int_equal(dpm_likelihood_eval(w, &p, &par, 3, x, rg, NULL), 0);
    assert_int_equal(dpm_process_ms(&p, p.t_max, &mT, &sT), 0);
    for (int i = 0; i < 3; i++) {
      const double *y = xT + 2 * i;
      const double lg = -(y[0] * y[0] + y[1] * y[1]) / (2 * sT * sT) - log(2 * M_PI * sT * sT);
      const double pm = lg - dpm_oracle_logq1(o, mT, sT, y);
      assert_close(rg[i].prior_mismatch, pm, 0.0, 1e-12 * (1 + fabs(lg)));
      assert_close(rg[i].logp - re[i].logp, pm, 0.0, 1e-12 * (1 + fabs(lg) + fabs(re[i].logp)));
      assert_close(rg[i].delta, re[i].delta, 0.0, 0.0); /* the same flow */
    }
    dpm_process_clear(&p);
  }
  dpm_oracle_free(o);
  dpm_likelihood_free(w);
  dpm_mixture_free(mix);
}

/* decode(encode(x)) = x: both solves at rtol, so the round trip is within the sum of their local tolerances on x
 * (atol + rtol |x|) per step. Then the same bits for 1 and 2 threads. */
static void test_decode_and_threads(void **state)
{
  (void)state;
  dpm_mixture *mix = kinds2();
  enum { N = 8 };
  double x[2 * N], xT[2 * N], x2[2 * N], xT1[2 * N];
  dpm_likelihood_point r2[N], r1[N];
  for (int q = 0; q < 4; q++) {
    dpm_process p;
    assert_int_equal(dpm_process_parse(&p, PROCS[q]), 0);
    dpm_likelihood_params par;
    dpm_likelihood_params_default(&par);
    par.rtol = 1e-9;
    par.atol = 1e-11;
    sample_t0(mix, &p, par.t0, N, 21, x);
    omp_set_num_threads(2);
    dpm_likelihood *w = dpm_likelihood_alloc(mix, NULL, 0);
    assert_int_equal(dpm_likelihood_eval(w, &p, &par, N, x, r2, xT), 0);
    unsigned long nfe = 0;
    assert_int_equal(dpm_likelihood_decode(w, &p, &par, N, xT, x2, &nfe), 0);
    assert_true(nfe > 0);
    for (size_t i = 0; i < N; i++)
      for (int j = 0; j < 2; j++) {
        const double b = 2.0 * (double)r2[i].nsteps * (par.atol + par.rtol * (fabs(x[2 * i + j]) + 1.0));
        if (!(fabs(x2[2 * i + j] - x[2 * i + j]) <= b))
          fail_msg("%s: decode error %.3g > %.3g", PROCS[q], fabs(x2[2 * i + j] - x[2 * i + j]), b);
      }
    dpm_likelihood_free(w);
    omp_set_num_threads(1);
    w = dpm_likelihood_alloc(mix, NULL, 0);
    par.div = DPM_LIK_DIV_HUTCHINSON;
    par.probes = 2;
    assert_int_equal(dpm_likelihood_eval(w, &p, &par, N, x, r1, xT1), 0);
    dpm_likelihood_free(w);
    omp_set_num_threads(2);
    w = dpm_likelihood_alloc(mix, NULL, 0);
    assert_int_equal(dpm_likelihood_eval(w, &p, &par, N, x, r2, xT), 0);
    assert_memory_equal(xT, xT1, sizeof xT);
    for (size_t i = 0; i < N; i++) {
      assert_memory_equal(&r1[i].logp, &r2[i].logp, sizeof(double));
      assert_int_equal(r1[i].nfe, r2[i].nfe);
    }
    dpm_likelihood_free(w);
    /* blocks of 3 points (the last one short): each point within its bound of the truth, the same bits for 1 and
     * 2 threads */
    par.div = DPM_LIK_DIV_EXACT;
    par.block = 3;
    omp_set_num_threads(1);
    w = dpm_likelihood_alloc(mix, NULL, 0);
    assert_int_equal(dpm_likelihood_eval(w, &p, &par, N, x, r1, xT1), 0);
    dpm_likelihood_free(w);
    omp_set_num_threads(2);
    w = dpm_likelihood_alloc(mix, NULL, 0);
    assert_int_equal(dpm_likelihood_eval(w, &p, &par, N, x, r2, xT), 0);
    assert_memory_equal(xT, xT1, sizeof xT);
    for (size_t i = 0; i < N; i++) {
      assert_memory_equal(&r1[i].logp, &r2[i].logp, sizeof(double));
      assert_true(fabs(r2[i].logp - r2[i].logq_true) <= tol_bound(&r2[i], &par));
    }
    dpm_likelihood_free(w);
    dpm_process_clear(&p);
  }
  dpm_mixture_free(mix);
}

/* A model without a divergence op (autoguidance with w = 0 is the exact denoiser through the combine wrapper):
 * the divergence by central differences, h = eps^(1/3) s, relative error O(eps^(2/3)) ~ 1e-10 per evaluation, far
 * below the ODE tolerance; and the model KL of the exact field is 0 within that tolerance, of a scaled model
 * eps-hat = 1.2 eps positive beyond 4 standard errors. */
static void test_model_fd_and_kl(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("ring8");
  dpm_denoiser *ex = dpm_denoiser_oracle_alloc(mix), *ex2 = dpm_denoiser_oracle_alloc(mix);
  dpm_denoiser *comb = dpm_guidance_combine_alloc(ex, ex2, 0.0);
  assert_non_null(comb);
  assert_false(dpm_denoiser_has_divergence(comb));
  dpm_likelihood *w = dpm_likelihood_alloc(mix, &comb, 1);
  assert_non_null(w);
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VE);
  dpm_likelihood_params par;
  dpm_likelihood_params_default(&par);
  double x[8];
  sample_t0(mix, &p, par.t0, 4, 8, x);
  dpm_likelihood_point r[4];
  assert_int_equal(dpm_likelihood_eval(w, &p, &par, 4, x, r, NULL), 0);
  for (int i = 0; i < 4; i++)
    assert_close(r[i].logp, r[i].logq_true, 0.0, tol_bound(&r[i], &par));
  double kl, se;
  assert_int_equal(dpm_likelihood_model_kl(w, &p, &par, 20, 4, &kl, &se, NULL), 0);
  assert_true(fabs(kl) < 1e-3); /* 20 points each within its bound (~1e-4 at rtol 1e-6) */
  dpm_likelihood_free(w);
  /* the memorising model through the denoiser interface and its own divergence op: with its training set as the
   * data, its flow is that set's exact flow, so log p = log q_t0 of the set within the bound (t0 = 1e-2: a point
   * set's q_t0 is a sum of N(x_i, s^2 I) bumps, and a larger s keeps the solve short) */
  gsl_rng *rr = dpm_rng_stream_alloc(9, 0);
  dpm_denoiser *mem = dpm_denoiser_memorise_alloc(mix, 16, rr);
  gsl_rng_free(rr);
  assert_non_null(mem);
  assert_true(dpm_denoiser_has_divergence(mem));
  const dpm_mixture *train = dpm_denoiser_memorise_points(mem);
  w = dpm_likelihood_alloc(train, &mem, 1);
  dpm_likelihood_params pm = par;
  pm.t0 = 1e-2;
  sample_t0(train, &p, pm.t0, 4, 10, x);
  assert_int_equal(dpm_likelihood_eval(w, &p, &pm, 4, x, r, NULL), 0);
  for (int i = 0; i < 4; i++)
    assert_close(r[i].logp, r[i].logq_true, 0.0, tol_bound(&r[i], &pm));
  dpm_likelihood_free(w);
  dpm_denoiser_free(mem);
  dpm_denoiser *sc = dpm_denoiser_scaled_alloc(ex, 1.2);
  w = dpm_likelihood_alloc(mix, &sc, 1);
  assert_int_equal(dpm_likelihood_model_kl(w, &p, &par, 200, 4, &kl, &se, NULL), 0);
  assert_true(kl > 4.0 * se);
  dpm_likelihood_free(w);
  dpm_denoiser_free(sc);
  dpm_denoiser_free(comb);
  dpm_denoiser_free(ex2);
  dpm_denoiser_free(ex);
  dpm_mixture_free(mix);
}

/* A 2-D mixture of axis-aligned kinds only (isotropic, diagonal, a point mass or a narrow isotropic component,
 * and a component of weight 0): the data the field kernel serves. (A point mass at t0 = 1e-5 makes log q_t0
 * too sharp for the solver's error bound, whatever the field: the solver test uses the narrow component.) */
static dpm_mixture *axis4(int point_mass)
{
  dpm_mixture *mix = dpm_mixture_alloc(4, 2);
  assert_non_null(mix);
  const double m0[2] = {-1.5, 0.5}, m1[2] = {1.0, 1.5}, m2[2] = {0.5, -1.0}, m3[2] = {3.0, 3.0},
               dv[2] = {0.3, 0.05}, w[4] = {0.3, 0.3, 0.4, 0.0};
  assert_int_equal(dpm_mixture_set_mean(mix, 0, m0), 0);
  assert_int_equal(dpm_mixture_set_mean(mix, 1, m1), 0);
  assert_int_equal(dpm_mixture_set_mean(mix, 2, m2), 0);
  assert_int_equal(dpm_mixture_set_mean(mix, 3, m3), 0);
  assert_int_equal(dpm_mixture_set_iso(mix, 0, 0.2), 0);
  assert_int_equal(dpm_mixture_set_diag(mix, 1, dv), 0);
  assert_int_equal(point_mass ? dpm_mixture_set_zero(mix, 2) : dpm_mixture_set_iso(mix, 2, 0.05), 0);
  assert_int_equal(dpm_mixture_set_iso(mix, 3, 0.5), 0);
  assert_int_equal(dpm_mixture_set_weights(mix, w), 0);
  return mix;
}

/* The field kernel against the oracle. Each output is a responsibility-weighted sum over the K components of
 * terms formed with a few roundings each, the weights from exp (the kernel's vector exp is within 4 ulp) of
 * l_k = base_k - q_k/2 whose rounding error is ~ u (1 + q_k), q_k the squared Mahalanobis distance: so the two
 * codes agree within c (K + d + 8) u per term, relative to (1 + q_k) times the size of the term. The scales below
 * are those sums of absolute terms, from the oracle's responsibilities; c = 16. And a point's bits do not depend
 * on the block it comes in (37 points: a group of 32 and a padded group of 5, against one point per call). */
static void test_kernel_vs_oracle(void **state)
{
  (void)state;
  /* the last: more components than the kernel keeps 32 lanes for (groups of 8) */
  const char *specs[4] = {"ring8", "axis4", "sample:of=ring8,n=40", "sample:of=ring8,n=2100"};
  for (int q = 0; q < 4; q++) {
    dpm_mixture *mix = q == 1 ? axis4(1) : dpm_test_mixture(specs[q]);
    const size_t K = mix->K, d = mix->d;
    dpm_oracle_field *g = NULL;
    assert_int_equal(dpm_oracle_field_alloc(mix, &g), 0);
    assert_non_null(g);
    dpm_oracle *o = dpm_oracle_alloc(mix);
    enum { N = 37 };
    double x[N * 2], eps[N * 2], lap[N], oeps[N * 2], olap[N], e1[2], l1;
    double *resp = malloc(N * K * sizeof(double));
    const double ms[4][2] = {{0.999, 0.01}, {0.8, 0.6}, {0.1, 0.995}, {1.0, 3.0}};
    gsl_rng *r = dpm_rng_stream_alloc(5, (uint64_t)q);
    for (int c = 0; c < 4; c++) {
      const double m = ms[c][0], s = ms[c][1];
      dpm_test_sample_qt(mix, r, m, s, N, x, NULL, NULL);
      for (size_t j = 0; j < d; j++) /* one point well out, between and beyond the components */
        x[(N - 1) * d + j] = 6.0 * (double)(j + 1);
      assert_int_equal(dpm_oracle_field_eval(g, m, s, N, x, d, eps, lap), 0);
      dpm_oracle_result res = {0};
      res.eps = oeps;
      res.lap = olap;
      res.resp = resp;
      assert_int_equal(dpm_oracle_eval(o, m, s, N, x, &res), 0);
      for (size_t i = 0; i < N; i++) {
        double se = 0.0, sl = 0.0, gb2 = 0.0;
        for (size_t j = 0; j < d; j++)
          gb2 += oeps[i * d + j] * oeps[i * d + j] / (s * s);
        for (size_t k = 0; k < K; k++) {
          const double rk = resp[i * K + k];
          double v2 = 0.0, vinf = 0.0, qk = 0.0, tr = 0.0;
          for (size_t j = 0; j < d; j++) {
            const double cc = m * m * mix->lambda[k * d + j] + s * s, z = x[i * d + j] - m * mix->mu[k * d + j];
            v2 += (z / cc) * (z / cc);
            vinf = fmax(vinf, fabs(z / cc));
            qk += z * z / cc;
            tr += 1.0 / cc;
          }
          se += rk * s * vinf * (1.0 + qk);
          sl += rk * ((sqrt(v2) + sqrt(gb2)) * (sqrt(v2) + sqrt(gb2)) + tr) * (1.0 + qk);
        }
        const double c16 = 16.0 * (double)(K + d + 8) * DBL_EPSILON / 2.0;
        for (size_t j = 0; j < d; j++)
          if (!(fabs(eps[i * d + j] - oeps[i * d + j]) <= c16 * se))
            fail_msg("%s (m, s) = (%g, %g) point %zu: eps %.17g vs oracle %.17g (bound %.3g)", specs[q], m, s, i,
                     eps[i * d + j], oeps[i * d + j], c16 * se);
        if (!(fabs(lap[i] - olap[i]) <= c16 * sl))
          fail_msg("%s (m, s) = (%g, %g) point %zu: lap %.17g vs oracle %.17g (bound %.3g)", specs[q], m, s, i,
                   lap[i], olap[i], c16 * sl);
        assert_int_equal(dpm_oracle_field_eval(g, m, s, 1, x + i * d, d, e1, &l1), 0);
        assert_memory_equal(e1, eps + i * d, d * sizeof(double));
        assert_memory_equal(&l1, lap + i, sizeof(double));
      }
    }
    gsl_rng_free(r);
    free(resp);
    dpm_oracle_free(o);
    dpm_oracle_field_free(g);
    dpm_mixture_free(mix);
  }
  /* full covariances are left to the oracle; a point beyond the oracle's distance bound is declined */
  dpm_mixture *mix = kinds2();
  dpm_oracle_field *g = NULL;
  assert_int_equal(dpm_oracle_field_alloc(mix, &g), 0);
  assert_null(g);
  dpm_mixture_free(mix);
  mix = dpm_test_mixture("ring8");
  assert_int_equal(dpm_oracle_field_alloc(mix, &g), 0);
  const double far[2] = {1e17, 0.0};
  double e[2], l;
  assert_int_equal(dpm_oracle_field_eval(g, 0.9, 0.1, 1, far, 2, e, &l), GSL_ERANGE);
  dpm_oracle_field_free(g);
  dpm_mixture_free(mix);
}

/* The solver with the kernel: on axis-aligned data (ring8 and axis4) the exact-divergence answer equals log q_t0
 * within the summed local tolerances for every process and both adaptive methods, as through the oracle (the
 * kernel switched off), the two within the sum of their bounds; 1 and 2 threads bit for bit in blocks of 3; a
 * point beyond the oracle's bound refused with the oracle's error. */
static void test_kernel_solver(void **state)
{
  (void)state;
  enum { N = 10 };
  double x[N * 2], xT[N * 2], xT1[N * 2];
  dpm_likelihood_point res[N], ro[N], r1[N];
  for (int q = 0; q < 2; q++) {
    dpm_mixture *mix = q ? axis4(0) : dpm_test_mixture("ring8");
    for (int pr = 0; pr < 4; pr++) {
      dpm_process p;
      assert_int_equal(dpm_process_parse(&p, PROCS[pr]), 0);
      for (int k = 0; k < 2; k++) {
        dpm_likelihood_params par;
        dpm_likelihood_params_default(&par);
        par.method = k ? DPM_LIK_RK8PD : DPM_LIK_RK45;
        par.rtol = k ? 1e-10 : 1e-7;
        par.atol = par.rtol * 1e-2;
        par.block = 4;
        sample_t0(mix, &p, par.t0, N, 31 + (uint64_t)pr, x);
        dpm_likelihood *w = dpm_likelihood_alloc(mix, NULL, 0);
        assert_non_null(w);
        assert_int_equal(dpm_likelihood_eval(w, &p, &par, N, x, res, xT), 0);
        lik_set_kernel(w, 0);
        assert_int_equal(dpm_likelihood_eval(w, &p, &par, N, x, ro, NULL), 0);
        for (size_t i = 0; i < N; i++) {
          const double b = tol_bound(&res[i], &par), bo = tol_bound(&ro[i], &par);
          if (!(fabs(res[i].logp - res[i].logq_true) <= b) || !(fabs(res[i].logp - ro[i].logp) <= b + bo))
            fail_msg("%s %s %s point %zu: kernel %.17g, oracle %.17g, truth %.17g (bounds %.3g, %.3g)",
                     q ? "axis4" : "ring8", PROCS[pr], k ? "rk8pd" : "rk45", i, res[i].logp, ro[i].logp,
                     res[i].logq_true, b, bo);
        }
        dpm_likelihood_free(w);
      }
      if (pr == 0) { /* threads */
        dpm_likelihood_params par;
        dpm_likelihood_params_default(&par);
        par.method = DPM_LIK_RK8PD;
        par.block = 3;
        omp_set_num_threads(1);
        dpm_likelihood *w = dpm_likelihood_alloc(mix, NULL, 0);
        assert_int_equal(dpm_likelihood_eval(w, &p, &par, N, x, r1, xT1), 0);
        dpm_likelihood_free(w);
        omp_set_num_threads(2);
        w = dpm_likelihood_alloc(mix, NULL, 0);
        assert_int_equal(dpm_likelihood_eval(w, &p, &par, N, x, res, xT), 0);
        assert_memory_equal(xT, xT1, sizeof xT);
        for (size_t i = 0; i < N; i++) {
          assert_memory_equal(&r1[i].logp, &res[i].logp, sizeof(double));
          assert_int_equal(r1[i].nfe, res[i].nfe);
        }
        const double far[2] = {1e17, 0.0};
        assert_raises(dpm_likelihood_eval(w, &p, &par, 1, far, res, NULL), GSL_ERANGE, "too far");
        dpm_likelihood_free(w);
      }
      dpm_process_clear(&p);
    }
    dpm_mixture_free(mix);
  }
}

static void test_refusals(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  dpm_likelihood *w = dpm_likelihood_alloc(mix, NULL, 0);
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VP);
  dpm_likelihood_params par;
  dpm_likelihood_params_default(&par);
  dpm_likelihood_point r;
  double x[1] = {NAN};
  assert_raises(dpm_likelihood_eval(w, &p, &par, 1, x, &r, NULL), GSL_EBADFUNC, "not finite");
  x[0] = 0.0;
  par.t0 = 0.0;
  assert_raises(dpm_likelihood_eval(w, &p, &par, 1, x, &r, NULL), GSL_EDOM, "t0");
  par.t0 = 1e-5;
  par.T = 2.0;
  assert_raises(dpm_likelihood_eval(w, &p, &par, 1, x, &r, NULL), GSL_EDOM, "t_max");
  par.T = NAN;
  par.div = DPM_LIK_DIV_HUTCHINSON;
  par.probes = 0;
  assert_raises(dpm_likelihood_eval(w, &p, &par, 1, x, &r, NULL), GSL_EINVAL, "probe");
  par.div = DPM_LIK_DIV_EXACT;
  par.rtol = -1;
  assert_raises(dpm_likelihood_eval(w, &p, &par, 1, x, &r, NULL), GSL_EDOM, "rtol");
  dpm_lik_method meth;
  assert_raises(dpm_likelihood_method_parse("rk99", &meth), GSL_EINVAL, "rk99");
  dpm_process dd;
  assert_int_equal(dpm_process_parse(&dd, "ddpm"), 0);
  par.rtol = 1e-6;
  assert_raises(dpm_likelihood_eval(w, &dd, &par, 1, x, &r, NULL), GSL_EINVAL, "discrete");
  dpm_process_clear(&dd);
  double b;
  assert_raises(dpm_likelihood_elbo_sde(w, &p, 1e-5, DPM_LIK_PRIOR_EXACT, 1, 0, 1, x, &b, NULL, NULL), GSL_EINVAL,
                "Monte Carlo");
  dpm_likelihood_free(w);
  dpm_mixture_free(mix);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exact_all_processes),
      cmocka_unit_test(test_fixed_step_orders),
      cmocka_unit_test(test_hutchinson),
      cmocka_unit_test(test_prior_mismatch),
      cmocka_unit_test(test_decode_and_threads),
      cmocka_unit_test(test_model_fd_and_kl),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_kernel_vs_oracle),
      cmocka_unit_test(test_kernel_solver),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
