/* test_analytic.c — Analytic-DPM (Bao et al. ICLR 2022, docs/MATH.md §3) against independent routes: literal
 * formulas, finite differences, quadrature vs Monte Carlo, closed forms for Gaussian data (where the optimal
 * Gaussian reverse transitions are exact, so the ELBO gap is the prior mismatch alone and the samplers are exact),
 * brute-force path search, and two-sample statistics with thresholds from their null distribution.
 *
 * Tolerances. EPS = 2.2e-16 is the unit roundoff; a formula evaluated two ways is compared to a small multiple of
 * EPS times its condition (stated at each use). Monte Carlo checks are K_SE = 5 standard errors wide (fixed
 * seeds; a false alarm needs a 5-sigma event, probability 6e-7 per check) plus the quadrature's own error
 * estimate. Kolmogorov-Smirnov checks use Massart's DKW bound P(sup|F_n - F| > e) <= 2 exp(-2 n e^2) at
 * alpha = 1e-3, plus a bias bound where the sampler is not exact (Pinsker, stated there). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sort.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dpmlab.h"
#include "testutil.h"

#define EPS      2.220446049250313e-16
#define K_SE     5.0
#define KS_ALPHA 1e-3

/* ---- data sets and helpers ------------------------------------------------------------------------------------
 */

/* 1-D: 0.4 N(-1.5, 0.5^2) + 0.6 N(1, 0.3^2), two well separated modes of different widths. */
static dpm_mixture *mix_bimodal(void)
{
  dpm_mixture *m = dpm_mixture_alloc(2, 1);
  assert_non_null(m);
  const double a = -1.5, b = 1.0, w[2] = {0.4, 0.6};
  assert_int_equal(dpm_mixture_set_mean(m, 0, &a), 0);
  assert_int_equal(dpm_mixture_set_mean(m, 1, &b), 0);
  assert_int_equal(dpm_mixture_set_iso(m, 0, 0.25), 0);
  assert_int_equal(dpm_mixture_set_iso(m, 1, 0.09), 0);
  assert_int_equal(dpm_mixture_set_weights(m, w), 0);
  return m;
}

/* One Gaussian N(mu, diag(var)) in R^d. */
static dpm_mixture *mix_gauss(size_t d, const double *mu, const double *var)
{
  dpm_mixture *m = dpm_mixture_alloc(1, d);
  assert_non_null(m);
  assert_int_equal(dpm_mixture_set_mean(m, 0, mu), 0);
  assert_int_equal(dpm_mixture_set_diag(m, 0, var), 0);
  return m;
}

/* 2-D: K Gaussians of variance var on a circle of radius R, equal weights. */
static dpm_mixture *mix_ring(size_t K, double R, double var)
{
  dpm_mixture *m = dpm_mixture_alloc(K, 2);
  assert_non_null(m);
  for (size_t k = 0; k < K; k++) {
    const double a = 2.0 * M_PI * (double)k / (double)K, mu[2] = {R * cos(a), R * sin(a)};
    assert_int_equal(dpm_mixture_set_mean(m, k, mu), 0);
    assert_int_equal(dpm_mixture_set_iso(m, k, var), 0);
  }
  return m;
}

/* A finite point set (point masses, equal weights). */
static dpm_mixture *mix_points(size_t K, size_t d, const double *pts)
{
  dpm_mixture *m = dpm_mixture_alloc(K, d);
  assert_non_null(m);
  for (size_t k = 0; k < K; k++)
    assert_int_equal(dpm_mixture_set_mean(m, k, pts + k * d), 0);
  return m;
}

static double *vec(size_t n)
{
  double *v = calloc(n, sizeof(double));
  assert_non_null(v);
  return v;
}

/* Gamma_n for n = 1..N by quadrature (relative tolerance 1e-10), with its error estimate. */
static void quad_gamma(const dpm_mixture *mix, const dpm_schedule *sch, double *g, double *err)
{
  dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mix, 1e-10);
  assert_non_null(q);
  assert_int_equal(dpm_analytic_gamma_quad_schedule(q, sch, g, err), 0);
  dpm_analytic_gamma_quad_free(q);
}

/* Gamma of one Gaussian N(mu, diag v) at (m, s): E[eps|x]_j = s (x_j - m mu_j)/C_j, C_j = m^2 v_j + s^2, so
 * E|E[eps|x]|^2/d = (1/d) sum_j s^2/C_j. */
static double gauss_gamma(size_t d, const double *v, double m, double s)
{
  double acc = 0.0;
  for (size_t j = 0; j < d; j++)
    acc += s * s / (m * m * v[j] + s * s);
  return acc / (double)d;
}

/* Kolmogorov-Smirnov statistic of x[0..n-1] (sorted in place) against the CDF F. */
static double ks_stat(double *x, size_t n, double (*F)(double, const void *), const void *ctx)
{
  gsl_sort(x, 1, n);
  double D = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double f = F(x[i], ctx), hi = (double)(i + 1) / (double)n - f, lo = f - (double)i / (double)n;
    if (hi > D) D = hi;
    if (lo > D) D = lo;
  }
  return D;
}

/* CDF of a 1-D mixture of Gaussians. */
static double mix_cdf(double x, const void *ctx)
{
  const dpm_mixture *m = ctx;
  double acc = 0.0;
  for (size_t k = 0; k < m->K; k++)
    acc += m->w[k] * gsl_cdf_ugaussian_P((x - m->mu[k]) / sqrt(m->lambda[k]));
  return acc;
}

typedef struct {
  double mean, sd;
} normal_law;

static double normal_cdf(double x, const void *ctx)
{
  const normal_law *l = ctx;
  return gsl_cdf_ugaussian_P((x - l->mean) / l->sd);
}

/* Massart's DKW threshold: P(sup|F_n - F| > e) <= alpha for e = sqrt(log(2/alpha)/(2n)). */
static double dkw(size_t n, double alpha) { return sqrt(log(2.0 / alpha) / (2.0 * (double)n)); }

/* ---- one step: literal formulas, bounds, sub-sequence vs per-step
 * ----------------------------------------------- */

/* sigma*^2 against docs/MATH.md §3 literally: lambda^2 + (sqrt(bbar_n/alpha_n) - sqrt(bbar_{n-1} - lambda^2))^2
 * (1 - Gamma) and, for eta = 1, the DDPM form (beta/alpha)(1 - (beta/bbar) Gamma); then the bounds for every n,
 * linear and cosine, several eta. The literal difference of square roots a - b loses (a + b)/(a - b) digits, so
 * it is compared at 16 EPS (1 + 2 (a + b)/(a - b)) relative. Bounds: sigma*^2 in [lambda^2, lambda^2 + coef2]
 * holds iff 0 <= Gamma <= 1, allowed to fail by the quadrature error times coef2. */
static void test_sigma2_formulas_and_bounds(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_bimodal();
  const size_t N = 1000;
  dpm_schedule *schs[2] = {dpm_schedule_linear_alloc(N, 1e-4, 0.02), dpm_schedule_cosine_alloc(N)};
  const double etas[] = {0.0, 0.3, 0.7, 1.0};
  double *g = vec(N + 1), *ge = vec(N + 1);
  for (int c = 0; c < 2; c++) {
    const dpm_schedule *sch = schs[c];
    assert_non_null(sch);
    quad_gamma(mix, sch, g, ge);
    for (size_t e = 0; e < sizeof etas / sizeof etas[0]; e++) {
      const double eta = etas[e];
      for (size_t n = 1; n <= N; n++) {
        dpm_analytic_step st;
        assert_int_equal(dpm_analytic_step_n(sch, n, eta, &st), 0);
        const double lam2 = eta * eta * sch->beta_tilde[n];
        const double a = sqrt(sch->beta_bar[n] / sch->alpha[n]), b = sqrt(sch->beta_bar[n - 1] - lam2);
        const double lit = lam2 + (a - b) * (a - b) * (1.0 - g[n]);
        const double opt = dpm_analytic_sigma2_opt(&st, g[n]);
        assert_close(opt, lit, 16 * EPS * (1 + 2 * (a + b) / (a - b)), 0);
        if (eta == 1.0) {
          const double ddpm = sch->beta[n] / sch->alpha[n] * (1 - sch->beta[n] / sch->beta_bar[n] * g[n]);
          /* 1 - (beta/bbar) Gamma cancels by at most a factor 1/(1 - Gamma beta/bbar) */
          assert_close(opt, ddpm, 16 * EPS / (1 - g[n] * sch->beta[n] / sch->beta_bar[n]), 0);
        }
        const double lo = dpm_analytic_sigma2_lower(&st), hi = dpm_analytic_sigma2_upper(&st);
        assert_close(lo, lam2, 4 * EPS, 0);
        const double slack = st.coef2 * ge[n] + 4 * EPS * hi;
        assert_true(opt >= lo - slack);
        assert_true(opt <= hi + slack);
        /* clipping: an estimate outside the bounds lands on them, inside it is kept */
        assert_true(dpm_analytic_sigma2_clip(&st, -1.0, HUGE_VAL) == lo);
        assert_true(dpm_analytic_sigma2_clip(&st, 2.0 * hi + 1.0, HUGE_VAL) == hi);
        assert_true(dpm_analytic_sigma2_clip(&st, 0.5 * (lo + hi), HUGE_VAL) == 0.5 * (lo + hi));
        assert_true(isnan(dpm_analytic_sigma2_clip(&st, NAN, HUGE_VAL)));
      }
    }
  }
  free(g);
  free(ge);
  dpm_schedule_free(schs[0]);
  dpm_schedule_free(schs[1]);
  dpm_mixture_free(mix);
}

/* With K = N the sub-sequence route (beta_{t|s} = -expm1(log abar_t - log abar_s)) equals the per-step route
 * (beta_n from the schedule). log abar_t is a running sum, so log abar_t - log abar_{t-1} carries an absolute
 * rounding error <= 2 EPS (|log abar_t| + 1); through expm1 that is a relative error of
 * 2 EPS (1 + |log abar_t|)/beta_t in beta_{t|s}, inherited by every coefficient up to a small factor: compare at
 * 32 EPS (1 + |log abar_n|/beta_n), plus the per-step route's own cancellation bbar_{n-1}/(bbar_{n-1} - lambda^2)
 * (<= 1e-11 for these schedules). */
static void test_subsequence_equals_per_step(void **state)
{
  (void)state;
  const size_t N = 1000;
  dpm_schedule *schs[2] = {dpm_schedule_linear_alloc(N, 1e-4, 0.02), dpm_schedule_cosine_alloc(N)};
  const double etas[] = {0.0, 0.5, 1.0};
  for (int c = 0; c < 2; c++) {
    const dpm_schedule *sch = schs[c];
    for (size_t e = 0; e < 3; e++)
      for (size_t n = 1; n <= N; n++) {
        dpm_analytic_step a, b;
        assert_int_equal(dpm_analytic_step_n(sch, n, etas[e], &a), 0);
        assert_int_equal(dpm_analytic_step_ts(sch, n - 1, n, etas[e], &b), 0);
        /* plus the per-step route's own cancellation in rem = bbar_{n-1} - lambda^2 */
        const double rem = sch->beta_bar[n - 1] - etas[e] * etas[e] * sch->beta_tilde[n];
        const double tol =
            32 * EPS *
            (1 + fabs(sch->log_alpha_bar[n]) / sch->beta[n] + (n > 1 ? sch->beta_bar[n - 1] / rem : 0.0));
        assert_true(tol < 1e-11);
        assert_close(b.beta_ts, a.beta_ts, tol, 0);
        assert_close(b.alpha_ts, a.alpha_ts, tol, 0);
        assert_close(b.lambda2, a.lambda2, tol, 0);
        assert_close(b.c0, a.c0, tol, 0);
        assert_close(b.cx, a.cx, tol, 1e-300);
        assert_close(b.coef2, a.coef2, tol, 0);
        assert_close(dpm_analytic_sigma2_opt(&b, 0.3), dpm_analytic_sigma2_opt(&a, 0.3), tol, 0);
      }
  }
  dpm_schedule_free(schs[0]);
  dpm_schedule_free(schs[1]);
}

/* sigma*^2 minimises the step's ELBO term and the minimum is (d/2) log(sigma*^2/lambda^2) (decoder:
 * (d/2)(log(2 pi sigma*^2) + 1)). With v = sigma^2, L(v) = (d/2)[log v + (lambda^2 + A)/v] + const, so at
 * v* = lambda^2 + A: L' = 0, L'' = (d/2)/v*^2, L''' = -+4 (d/2)/v*^3, L'''' = 18 (d/2)/v*^4 (decoder the same
 * up to sign). Central differences with h = delta v*:
 *   first derivative, scaled by v* /(d/2): truncation (2/3) delta^2, rounding e_L/((d/2) delta);
 *   second derivative, scaled by v*^2/(d/2), must be 1: truncation 1.5 delta^2, rounding 4 e_L/((d/2) delta^2);
 * with e_L = 8 EPS (d/2)(2 + A/lambda^2) the rounding of one evaluation (terms of size 1 and A/lambda^2). */
static void test_opt_variance_minimises_term(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_ring(3, 2.0, 0.04);
  const size_t N = 1000, d = 2;
  dpm_schedule *sch = dpm_schedule_linear_alloc(N, 1e-4, 0.02);
  dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mix, 1e-10);
  assert_non_null(q);
  const size_t ns[] = {1, 2, 10, 100, 400, 1000};
  const double etas[] = {0.2, 1.0};
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
    const size_t n = ns[i];
    double g, ge;
    assert_int_equal(dpm_analytic_gamma_quad_eval(q, sqrt(sch->alpha_bar[n]), sqrt(sch->beta_bar[n]), &g, &ge), 0);
    for (size_t e = 0; e < 2; e++) {
      dpm_analytic_step st;
      assert_int_equal(dpm_analytic_step_n(sch, n, etas[e], &st), 0);
      const double v = dpm_analytic_sigma2_opt(&st, g), hd = 0.5 * (double)d;
      const double A = v - st.lambda2, rel = n == 1 ? 0.0 : A / st.lambda2;
      const double eL = 8 * EPS * hd * (2 + rel + fabs(log(v)));
      const double d1 = 1e-4, h1 = d1 * v, d2 = 1e-3, h2 = d2 * v;
      const double D1 =
          (dpm_analytic_step_term(&st, d, g, v + h1) - dpm_analytic_step_term(&st, d, g, v - h1)) / (2 * h1);
      assert_close(D1 * v / hd, 0.0, 0, (2.0 / 3.0) * d1 * d1 + eL / (hd * d1));
      const double L0 = dpm_analytic_step_term(&st, d, g, v);
      const double D2 =
          (dpm_analytic_step_term(&st, d, g, v + h2) - 2 * L0 + dpm_analytic_step_term(&st, d, g, v - h2)) /
          (h2 * h2);
      assert_close(D2 * v * v / hd, 1.0, 0, 1.5 * d2 * d2 + 4 * eL / (hd * d2 * d2));
      assert_true(D2 > 0);
      if (n == 1) {
        assert_close(L0, hd * (log(2 * M_PI * v) + 1), 0, eL);
      } else {
        /* (d/2) log(v* /lambda^2): the computed form -log1p(-A/v*) agrees to a few EPS (1 + A/lambda^2) */
        assert_close(L0, hd * log(v / st.lambda2), 0, eL);
        assert_true(L0 >= 0);
      }
      /* and it is below the DDPM choices beta and beta~ (the minimum) */
      if (n > 1) {
        assert_true(L0 <= dpm_analytic_step_term(&st, d, g, st.beta_ts) + eL);
        assert_true(L0 <= dpm_analytic_step_term(&st, d, g, st.beta_tilde_ts) + eL);
      }
    }
  }
  dpm_analytic_gamma_quad_free(q);
  dpm_schedule_free(sch);
  dpm_mixture_free(mix);
}

/* ---- Gamma: quadrature vs closed form vs Monte Carlo
 * ------------------------------------------------------------ */

/* For one Gaussian, Gamma = (1/d) sum_j s^2/(m^2 lambda_j + s^2) with lambda_j the covariance's eigenvalues
 * (2 x 2 closed form here, independent of the data module's factorisation); the quadrature must agree within its
 * own error estimate plus 1e-13 (rounding of ~10^5 summed terms of size <= 1). Covers the diagonal path (d = 1)
 * and the full-covariance path (d = 2). */
static void test_gamma_quad_gaussian_closed_form(void **state)
{
  (void)state;
  const double mu1 = 0.7, v1 = 0.3;
  dpm_mixture *g1 = mix_gauss(1, &mu1, &v1);
  dpm_mixture *g2 = dpm_mixture_alloc(1, 2);
  const double mu2[2] = {0.5, -1.0}, cov[4] = {0.5, 0.3, 0.3, 0.4};
  assert_int_equal(dpm_mixture_set_mean(g2, 0, mu2), 0);
  assert_int_equal(dpm_mixture_set_full(g2, 0, cov), 0);
  const double tr = 0.9, det = 0.5 * 0.4 - 0.09, disc = sqrt(tr * tr / 4 - det);
  const double lam[2] = {tr / 2 + disc, tr / 2 - disc};
  dpm_analytic_gamma_quad *q1 = dpm_analytic_gamma_quad_alloc(g1, 1e-10),
                          *q2 = dpm_analytic_gamma_quad_alloc(g2, 1e-8);
  assert_non_null(q1);
  assert_non_null(q2);
  const double ss[] = {0.01, 0.1, 0.5, 0.9, 0.999};
  for (size_t i = 0; i < 5; i++) {
    const double s = ss[i], m = sqrt(1 - s * s);
    double g, e;
    assert_int_equal(dpm_analytic_gamma_quad_eval(q1, m, s, &g, &e), 0);
    assert_close(g, gauss_gamma(1, &v1, m, s), 0, e + 1e-13);
    assert_true(e <= 1e-10 * g + 1e-15);
    assert_int_equal(dpm_analytic_gamma_quad_eval(q2, m, s, &g, &e), 0);
    assert_close(g, gauss_gamma(2, lam, m, s), 0, e + 1e-13);
  }
  dpm_analytic_gamma_quad_free(q1);
  dpm_analytic_gamma_quad_free(q2);
  dpm_mixture_free(g1);
  dpm_mixture_free(g2);
}

/* Monte Carlo Gamma (M samples, stream (seed, n)) within K_SE standard errors (+ the quadrature error) of the
 * quadrature, for a range of n, on a 1-D mixture, a 2-D ring and a 1-D point set; the same bits for 1 and 2
 * threads; the (m, s) entry point equals the schedule one on the same stream indices. */
static void test_gamma_mc_vs_quad(void **state)
{
  (void)state;
  const size_t N = 1000, M = 20000;
  dpm_schedule *sch = dpm_schedule_linear_alloc(N, 1e-4, 0.02);
  const double pts[5] = {-2.0, -0.5, 0.0, 1.2, 2.5};
  dpm_mixture *mixes[3] = {mix_bimodal(), mix_ring(3, 2.0, 0.04), mix_points(5, 1, pts)};
  const size_t ns[] = {1, 3, 10, 30, 100, 200, 400, 700, 1000};
  const size_t nn = sizeof ns / sizeof ns[0];
  double *g = vec(N + 1), *se = vec(N + 1), *g2 = vec(N + 1), *se2 = vec(N + 1);
  for (int c = 0; c < 3; c++) {
    dpm_analytic_gamma_mc *w = dpm_analytic_gamma_mc_alloc(mixes[c], M);
    dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mixes[c], 1e-9);
    assert_non_null(w);
    assert_non_null(q);
    /* the (m, s) route at the listed steps (stream index = position in the list) */
    double m[16], s[16], gm[16], sem[16];
    for (size_t i = 0; i < nn; i++) {
      m[i] = sqrt(sch->alpha_bar[ns[i]]);
      s[i] = sqrt(sch->beta_bar[ns[i]]);
    }
    assert_int_equal(dpm_analytic_gamma_mc_ms(w, nn, m, s, 42, gm, sem), 0);
    for (size_t i = 0; i < nn; i++) {
      double gq, eq;
      assert_int_equal(dpm_analytic_gamma_quad_eval(q, m[i], s[i], &gq, &eq), 0);
      assert_true(fabs(gm[i] - gq) <= K_SE * sem[i] + eq);
      assert_true(sem[i] > 0 && sem[i] < 0.05);
    }
    dpm_analytic_gamma_quad_free(q);
    dpm_analytic_gamma_mc_free(w);
  }
  /* thread-count independence and the schedule route: the same streams give the same bits */
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  dpm_schedule *small = dpm_schedule_cosine_alloc(40);
  dpm_analytic_gamma_mc *w1 = dpm_analytic_gamma_mc_alloc(mixes[1], 3000);
#ifdef _OPENMP
  omp_set_num_threads(2);
#endif
  dpm_analytic_gamma_mc *w2 = dpm_analytic_gamma_mc_alloc(mixes[1], 3000);
#ifdef _OPENMP
  omp_set_num_threads(saved);
#endif
  assert_int_equal(dpm_analytic_gamma_mc_schedule(w1, small, 7, g, se), 0);
  assert_int_equal(dpm_analytic_gamma_mc_schedule(w2, small, 7, g2, se2), 0);
  assert_true(isnan(g[0]) && isnan(g2[0]));
  assert_memory_equal(g + 1, g2 + 1, 40 * sizeof(double));
  assert_memory_equal(se + 1, se2 + 1, 40 * sizeof(double));
  /* the (m, s) route on the same stream indices reproduces the schedule route */
  double ms_m[41], ms_s[41];
  for (size_t n = 0; n <= 40; n++) {
    ms_m[n] = n ? sqrt(small->alpha_bar[n]) : 1.0;
    ms_s[n] = n ? sqrt(small->beta_bar[n]) : 1.0;
  }
  assert_int_equal(dpm_analytic_gamma_mc_ms(w2, 41, ms_m, ms_s, 7, g2, se2), 0);
  assert_memory_equal(g + 1, g2 + 1, 40 * sizeof(double));
  /* a different seed gives different draws */
  assert_int_equal(dpm_analytic_gamma_mc_schedule(w2, small, 8, g2, se2), 0);
  assert_true(g2[20] != g[20]);
  dpm_analytic_gamma_mc_free(w1);
  dpm_analytic_gamma_mc_free(w2);
  dpm_schedule_free(small);
  for (int c = 0; c < 3; c++)
    dpm_mixture_free(mixes[c]);
  free(g);
  free(se);
  free(g2);
  free(se2);
  dpm_schedule_free(sch);
}

/* ---- Gamma and entropy by quadrature against a tensor Gauss-Legendre reference ----------------------------- */

#define REF_L  9.0 /* the quadrature's box [-9, 9]^d in each component's principal coordinates (dpm_analytic.h) */
#define REF_NQ 20  /* Gauss-Legendre nodes per panel */

/* The 1-D composite Gauss-Legendre rule on [-REF_L, REF_L] with P panels of REF_NQ nodes, with the normal density
 * folded into the weights: nodes x (P REF_NQ), weights w. */
static void gl_normal_rule(size_t P, double *x, double *w)
{
  gsl_integration_glfixed_table *t = gsl_integration_glfixed_table_alloc(REF_NQ);
  assert_non_null(t);
  for (size_t p = 0; p < P; p++) {
    const double a = -REF_L + 2.0 * REF_L * (double)p / (double)P,
                 b = -REF_L + 2.0 * REF_L * (double)(p + 1) / (double)P;
    for (size_t i = 0; i < REF_NQ; i++) {
      double xi, wi;
      assert_int_equal(gsl_integration_glfixed_point(a, b, i, &xi, &wi, t), 0);
      x[p * REF_NQ + i] = xi;
      w[p * REF_NQ + i] = wi * exp(-0.5 * xi * xi) / sqrt(2.0 * M_PI);
    }
  }
  gsl_integration_glfixed_table_free(t);
}

/* x = m mu_k + U_k diag(scale) u with scale_j = sqrt(m^2 lambda_kj + s^2) (U_k = I unless the component is full):
 * the principal coordinates in which dpm_analytic.h defines each component's integral. */
static void comp_frame(const dpm_mixture *mix, size_t k, double m, double s, const double *u, double *x)
{
  const size_t d = mix->d;
  for (size_t i = 0; i < d; i++) {
    double acc = m * mix->mu[k * d + i];
    for (size_t j = 0; j < d; j++) {
      const double sc = sqrt(m * m * mix->lambda[k * d + j] + s * s);
      const double Uij = mix->kind[k] == DPM_COV_FULL && mix->U ? mix->U[k * d * d + i * d + j] : (double)(i == j);
      acc += Uij * sc * u[j];
    }
    x[i] = acc;
  }
}

/* The integrand at n points x (n x d, n <= 4096) into out: Gamma's |E[eps|x]|^2/d from the oracle at (m, s), or
 * the entropy's -log q_0(x) (s = 0) from the mixture's densities directly (an independent route to log q_0). */
static void ref_integrand(dpm_oracle *o, const dpm_mixture *mix, double m, double s, size_t n, const double *x,
                          double *out)
{
  const size_t d = mix->d;
  if (s > 0.0) {
    static double eps[4096 * 2];
    dpm_oracle_result res;
    memset(&res, 0, sizeof res);
    res.eps = eps;
    assert_int_equal(dpm_oracle_eval(o, m, s, n, x, &res), 0);
    for (size_t i = 0; i < n; i++) {
      double a = 0.0;
      for (size_t j = 0; j < d; j++)
        a += eps[i * d + j] * eps[i * d + j];
      out[i] = a / (double)d;
    }
    return;
  }
  for (size_t i = 0; i < n; i++) {
    double lmax = -HUGE_VAL, l[16];
    assert_true(mix->K <= 16);
    for (size_t k = 0; k < mix->K; k++) {
      double S[4], z[2], q;
      dpm_mixture_cov(mix, k, S);
      for (size_t j = 0; j < d; j++)
        z[j] = x[i * d + j] - mix->mu[k * d + j];
      double det;
      if (d == 1) {
        det = S[0];
        q = z[0] * z[0] / S[0];
      } else {
        det = S[0] * S[3] - S[1] * S[2];
        q = (S[3] * z[0] * z[0] - (S[1] + S[2]) * z[0] * z[1] + S[0] * z[1] * z[1]) / det;
      }
      l[k] = log(mix->w[k]) - 0.5 * (q + log(det) + (double)d * log(2.0 * M_PI));
      if (l[k] > lmax) lmax = l[k];
    }
    double sum = 0.0;
    for (size_t k = 0; k < mix->K; k++)
      sum += exp(l[k] - lmax);
    out[i] = -(lmax + log(sum));
  }
}

/* sum_k w_k E_{N(0, I)} f(x_k(u)) over [-9, 9]^d by the tensor composite Gauss-Legendre rule with P panels per
 * axis (P <= 36), accumulated in long double: f as in ref_integrand (s = 0: the entropy). */
static double gl_reference(const dpm_mixture *mix, double m, double s, size_t P)
{
  const size_t d = mix->d, n1 = P * REF_NQ;
  static double x1[36 * REF_NQ], w1[36 * REF_NQ], u[4096 * 2], xx[4096 * 2], f[4096];
  assert_true(P <= 36);
  gl_normal_rule(P, x1, w1);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  assert_non_null(o);
  long double total = 0.0L;
  for (size_t k = 0; k < mix->K; k++) {
    long double acc = 0.0L;
    for (size_t a = 0; a < (d == 2 ? n1 : 1); a++) { /* one row of the tensor grid per call */
      for (size_t b = 0; b < n1; b++) {
        if (d == 1)
          u[b] = x1[b];
        else {
          u[2 * b] = x1[a];
          u[2 * b + 1] = x1[b];
        }
        comp_frame(mix, k, m, s > 0.0 ? s : 0.0, u + b * d, xx + b * d);
      }
      ref_integrand(o, mix, m, s, n1, xx, f);
      long double row = 0.0L;
      for (size_t b = 0; b < n1; b++)
        row += (long double)w1[b] * f[b];
      acc += d == 2 ? (long double)w1[a] * row : row;
    }
    total += (long double)mix->w[k] * acc;
  }
  dpm_oracle_free(o);
  return (double)total;
}

/* 2-D: three Gaussians with full covariances of different orientations and widths (eigenvalues 0.09 to 0.75). */
static dpm_mixture *mix_full2(void)
{
  dpm_mixture *m = dpm_mixture_alloc(3, 2);
  assert_non_null(m);
  const double mu[3][2] = {{0.0, 0.0}, {2.0, 1.0}, {-1.5, 1.5}}, w[3] = {0.5, 0.3, 0.2};
  const double cov[3][4] = {{0.5, 0.3, 0.3, 0.4}, {0.2, -0.1, -0.1, 0.3}, {0.3, 0.05, 0.05, 0.1}};
  for (size_t k = 0; k < 3; k++) {
    assert_int_equal(dpm_mixture_set_mean(m, k, mu[k]), 0);
    assert_int_equal(dpm_mixture_set_full(m, k, cov[k]), 0);
  }
  assert_int_equal(dpm_mixture_set_weights(m, w), 0);
  return m;
}

/* The reported error bounds the true error. Reference: the same integrals (each component's expectation over
 * [-9, 9]^d in its principal coordinates) by a tensor composite Gauss-Legendre rule, P and 3P/2 panels of 20
 * nodes per axis; their spread bounds the reference's own error and must be below a quarter of the quadrature's
 * estimate (so the check can see an underestimate). Then |quad - ref| <= err + spread + 8 EPS |ref| (the last
 * term: the relative rounding of the reference's positive-weight sums of integrand values accurate to a few
 * units of roundoff). Checked on gmm1d (1-D), ring8 and a full-covariance 2-D mixture at steps across a cosine
 * schedule (N = 100, from nearly clean data to pure noise), for the warm-started schedule route at rel_tol 1e-10,
 * the (m, s) route at 1e-10 and at 1e-5 (coarse boxes, where an optimistic estimate would show), and against the
 * (m, s) route at 1e-13 (a much tighter tolerance: |g_10 - g_13| <= e_10 + e_13); each estimate also meets its
 * tolerance. The entropy quadrature is checked the same way for gmm1d and the 2-D mixture (reference -log q_0
 * from the mixture's densities, not the library's). */
static void test_quad_vs_gauss_legendre(void **state)
{
  (void)state;
  const size_t N = 100, ns[] = {1, 5, 20, 50, 80, 100}, nn = sizeof ns / sizeof ns[0];
  dpm_schedule *sch = dpm_schedule_cosine_alloc(N);
  assert_non_null(sch);
  dpm_mixture *mixes[3] = {dpm_data_from_spec("gmm1d"), dpm_data_from_spec("ring8"), mix_full2()};
  const size_t P[3] = {24, 12, 12};
  double *g = vec(N + 1), *e = vec(N + 1);
  for (int c = 0; c < 3; c++) {
    const dpm_mixture *mix = mixes[c];
    assert_non_null(mix);
    dpm_analytic_gamma_quad *q10 = dpm_analytic_gamma_quad_alloc(mix, 1e-10),
                            *q5 = dpm_analytic_gamma_quad_alloc(mix, 1e-5),
                            *q13 = dpm_analytic_gamma_quad_alloc(mix, 1e-13);
    assert_non_null(q10);
    assert_non_null(q5);
    assert_non_null(q13);
    assert_int_equal(dpm_analytic_gamma_quad_schedule(q10, sch, g, e), 0);
    for (size_t i = 0; i < nn; i++) {
      const size_t n = ns[i];
      const double m = sqrt(sch->alpha_bar[n]), s = sqrt(sch->beta_bar[n]);
      const double ref = gl_reference(mix, m, s, P[c]), spread = fabs(ref - gl_reference(mix, m, s, P[c] * 3 / 2));
      const double slack = spread + 8.0 * EPS * fabs(ref);
      /* the schedule route (warm starts) */
      assert_true(e[n] > 0.0 && e[n] <= 1e-10 * g[n] + 1e-15);
      assert_true(spread <= 0.25 * e[n]);
      assert_close(g[n], ref, 0, e[n] + slack);
      /* the (m, s) route at 1e-10, 1e-5 and 1e-13 */
      double g10, e10, g5, e5, g13, e13;
      assert_int_equal(dpm_analytic_gamma_quad_eval(q10, m, s, &g10, &e10), 0);
      assert_int_equal(dpm_analytic_gamma_quad_eval(q5, m, s, &g5, &e5), 0);
      assert_int_equal(dpm_analytic_gamma_quad_eval(q13, m, s, &g13, &e13), 0);
      assert_true(e10 <= 1e-10 * g10 + 1e-15 && e5 <= 1e-5 * g5 + 1e-15);
      assert_close(g10, ref, 0, e10 + slack);
      assert_close(g5, ref, 0, e5 + slack);
      assert_close(g10, g13, 0, e10 + e13);
    }
    dpm_analytic_gamma_quad_free(q10);
    dpm_analytic_gamma_quad_free(q5);
    dpm_analytic_gamma_quad_free(q13);
    if (c == 1) continue; /* ring8 has no entropy check here (test_elbo_bounds_entropy covers it against MC) */
    double H, He;
    assert_int_equal(dpm_mixture_entropy_quad(mix, 1e-10, &H, &He), 0);
    const double Href = gl_reference(mix, 1.0, 0.0, P[c]),
                 Hspread = fabs(Href - gl_reference(mix, 1.0, 0.0, P[c] * 3 / 2));
    assert_true(He <= 1e-10 * fabs(H) + 1e-13);
    assert_true(Hspread <= 0.25 * He);
    assert_close(H, Href, 0, He + Hspread + 8.0 * EPS * fabs(Href));
  }
  free(g);
  free(e);
  for (int c = 0; c < 3; c++)
    dpm_mixture_free(mixes[c]);
  dpm_schedule_free(sch);
}

/* The schedule route's warm starts run in chains of steps fixed by the schedule alone, so its results are the same
 * bits for 1 and 2 threads; at every step it agrees with the (m, s) route (which starts from the coarse grid)
 * within the sum of the two error estimates. */
static void test_gamma_quad_schedule_route(void **state)
{
  (void)state;
  const size_t N = 60;
  dpm_schedule *sch = dpm_schedule_cosine_alloc(N);
  dpm_mixture *mix = mix_ring(3, 2.0, 0.04);
  double *g1 = vec(N + 1), *e1 = vec(N + 1), *g2 = vec(N + 1), *e2 = vec(N + 1);
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  dpm_analytic_gamma_quad *w1 = dpm_analytic_gamma_quad_alloc(mix, 1e-9);
#ifdef _OPENMP
  omp_set_num_threads(2);
#endif
  dpm_analytic_gamma_quad *w2 = dpm_analytic_gamma_quad_alloc(mix, 1e-9);
#ifdef _OPENMP
  omp_set_num_threads(saved);
#endif
  assert_non_null(w1);
  assert_non_null(w2);
  assert_int_equal(dpm_analytic_gamma_quad_schedule(w1, sch, g1, e1), 0);
  assert_int_equal(dpm_analytic_gamma_quad_schedule(w2, sch, g2, e2), 0);
  assert_true(isnan(g1[0]) && isnan(e1[0]));
  assert_memory_equal(g1 + 1, g2 + 1, N * sizeof(double));
  assert_memory_equal(e1 + 1, e2 + 1, N * sizeof(double));
  for (size_t n = 1; n <= N; n++) {
    double g, e;
    assert_int_equal(dpm_analytic_gamma_quad_eval(w2, sqrt(sch->alpha_bar[n]), sqrt(sch->beta_bar[n]), &g, &e), 0);
    assert_close(g1[n], g, 0, e1[n] + e);
  }
  dpm_analytic_gamma_quad_free(w1);
  dpm_analytic_gamma_quad_free(w2);
  free(g1);
  free(e1);
  free(g2);
  free(e2);
  dpm_mixture_free(mix);
  dpm_schedule_free(sch);
}

/* Under the oracle, E|x_0 - E[x_0|x_n]|^2 = d (bbar_n/abar_n)(1 - Gamma_n): the Monte Carlo x_0 error of the
 * exact denoiser (with its standard error) against the right side from quadrature Gamma, within K_SE se plus
 * the quadrature error times bbar/abar. The denoiser route's Gamma-hat of the exact denoiser reproduces the
 * oracle route on the same streams (same draws, same eps: equal to rounding, 1e-12 relative). */
static void test_x0_error_identity(void **state)
{
  (void)state;
  const size_t N = 50, M = 20000;
  dpm_schedule *sch = dpm_schedule_cosine_alloc(N);
  dpm_mixture *mix = mix_ring(3, 2.0, 0.04);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_analytic_gamma_mc *w = dpm_analytic_gamma_mc_alloc(mix, M);
  assert_non_null(dn);
  assert_non_null(w);
  double *g = vec(N + 1), *se = vec(N + 1), *gh = vec(N + 1), *seh = vec(N + 1), *e0 = vec(N + 1),
         *e0se = vec(N + 1), *gq = vec(N + 1), *gqe = vec(N + 1);
  assert_int_equal(dpm_analytic_gamma_mc_schedule(w, sch, 11, g, se), 0);
  assert_int_equal(dpm_analytic_gamma_mc_denoiser(w, dn, sch, 11, gh, seh, e0, e0se), 0);
  quad_gamma(mix, sch, gq, gqe);
  for (size_t n = 1; n <= N; n++) {
    assert_close(gh[n], g[n], 1e-12, 0);
    const double r = sch->beta_bar[n] / sch->alpha_bar[n];
    assert_true(fabs(e0[n] - r * (1 - gq[n])) <= K_SE * e0se[n] + r * gqe[n]);
  }
  assert_true(dn->nfe == N * ((M + 1023) / 1024));
  free(g);
  free(se);
  free(gh);
  free(seh);
  free(e0);
  free(e0se);
  free(gq);
  free(gqe);
  dpm_analytic_gamma_mc_free(w);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
  dpm_schedule_free(sch);
}

/* ---- trajectories --------------------------------------------------------------------------------------------
 */

/* Brute force over all C(N-2, K-2) paths 1 < tau_2 < ... < tau_{K-1} < N by recursion. */
static void brute(const dpm_schedule *sch, const double *g, dpm_cost_kind c, size_t K, size_t k, size_t *cur,
                  double acc, double *best, size_t *arg)
{
  const size_t N = sch->N;
  if (k == K - 1) {
    const double tot = acc + dpm_analytic_cost(sch, g, c, cur[k - 1], N);
    if (tot < *best) {
      *best = tot;
      memcpy(arg, cur, (K - 1) * sizeof(size_t));
      arg[K - 1] = N;
    }
    return;
  }
  for (size_t t = cur[k - 1] + 1; t + (K - 1 - k) <= N; t++) {
    cur[k] = t;
    brute(sch, g, c, K, k + 1, cur, acc + dpm_analytic_cost(sch, g, c, cur[k - 1], t), best, arg);
  }
}

/* The DP equals brute force (same path; costs equal to 1e-13 relative: the same sums in the same order, with DP
 * partial sums exact copies), for J and for the reference code's F on N = 12, 14 and K = 4, 5; F gives the same
 * path and the totals differ by the telescoped constant log(bbar_N abar_1/(abar_N bbar_1)) (to 64 EPS times the
 * sum of |terms|). The extremes K = N (one path) and K = N - 1 too. J's closed form log1p(beta(1-Gamma)/(alpha
 * bbar_s)) equals log(sigma*^2_{s|t}/lambda^2_{s|t}) from the step (16 EPS relative). */
static void test_dp_vs_brute_force(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_bimodal();
  const size_t Ns[] = {12, 14}, Ks[] = {4, 5};
  for (int c = 0; c < 2; c++) {
    dpm_schedule *sch = c == 0 ? dpm_schedule_cosine_alloc(Ns[c]) : dpm_schedule_linear_alloc(Ns[c], 0.01, 0.3);
    const size_t N = sch->N;
    double *g = vec(N + 1), *ge = vec(N + 1);
    quad_gamma(mix, sch, g, ge);
    for (size_t s = 1; s < N; s++)
      for (size_t t = s + 1; t <= N; t++) {
        dpm_analytic_step st;
        assert_int_equal(dpm_analytic_step_ts(sch, s, t, 1.0, &st), 0);
        assert_close(dpm_analytic_cost(sch, g, DPM_COST_J, s, t),
                     log(dpm_analytic_sigma2_opt(&st, g[t]) / st.lambda2), 16 * EPS, 16 * EPS);
      }
    for (int kk = 0; kk < 2; kk++) {
      const size_t K = Ks[kk];
      dpm_analytic_dp *dp = dpm_analytic_dp_alloc(N, K);
      assert_non_null(dp);
      size_t tau[8], tauF[8], arg[8], cur[8];
      double tot, totF, best = HUGE_VAL, bestF = HUGE_VAL;
      assert_int_equal(dpm_analytic_dp_solve(dp, sch, g, DPM_COST_J, K, tau, &tot), 0);
      cur[0] = 1;
      brute(sch, g, DPM_COST_J, K, 1, cur, 0.0, &best, arg);
      assert_memory_equal(tau, arg, K * sizeof(size_t));
      assert_close(tot, best, 1e-13, 0);
      assert_int_equal(dpm_analytic_dp_solve(dp, sch, g, DPM_COST_F, K, tauF, &totF), 0);
      brute(sch, g, DPM_COST_F, K, 1, cur, 0.0, &bestF, arg);
      assert_memory_equal(tauF, arg, K * sizeof(size_t));
      assert_memory_equal(tauF, tau, K * sizeof(size_t));
      const double tele = log(sch->beta_bar[N] * sch->alpha_bar[1] / (sch->alpha_bar[N] * sch->beta_bar[1]));
      assert_close(tot - totF, tele, 0, 64 * EPS * (fabs(tot) + fabs(totF) + fabs(tele)));
      /* the trajectory front end returns the same path and cumulative cost */
      size_t tau2[8];
      double cum[8];
      assert_int_equal(dpm_analytic_trajectory(sch, g, "dp", K, tau2, cum), 0);
      assert_memory_equal(tau2, tau, K * sizeof(size_t));
      assert_close(cum[K - 1], tot, 1e-13, 0);
      assert_true(cum[0] == 0.0);
      dpm_analytic_dp_free(dp);
    }
    /* the extreme K = N admits one path, every step, costing the sum of one-step J (same order of additions) */
    dpm_analytic_dp *dp = dpm_analytic_dp_alloc(N, N);
    size_t all[16];
    double tot, sum = 0.0;
    assert_int_equal(dpm_analytic_dp_solve(dp, sch, g, DPM_COST_J, N, all, &tot), 0);
    for (size_t k = 0; k < N; k++)
      assert_int_equal(all[k], k + 1);
    for (size_t t = 2; t <= N; t++)
      sum += dpm_analytic_cost(sch, g, DPM_COST_J, t - 1, t);
    assert_close(tot, sum, 1e-15, 0);
    /* K = N - 1 drops exactly one interior point: brute force again */
    size_t arg[16], cur[16];
    double best = HUGE_VAL;
    assert_int_equal(dpm_analytic_dp_solve(dp, sch, g, DPM_COST_J, N - 1, all, &tot), 0);
    cur[0] = 1;
    brute(sch, g, DPM_COST_J, N - 1, 1, cur, 0.0, &best, arg);
    assert_memory_equal(all, arg, (N - 1) * sizeof(size_t));
    assert_close(tot, best, 1e-13, 0);
    dpm_analytic_dp_free(dp);
    free(g);
    free(ge);
    dpm_schedule_free(sch);
  }
  dpm_mixture_free(mix);
}

/* KL(q || p*) = (d/2) sum J + c (Bao et al. Thm): the transitions of the ELBO with sigma*^2 along any trajectory
 * equal (d/2) times the path's cumulative J (to 1e-12 relative: K terms, each two formulas for one number), and
 * since prior and decoder depend only on tau_1 = 1 and tau_K = N, ELBO differences between trajectories are
 * (d/2) differences of J. The DP path's J is <= that of the even and quadratic paths. */
static void test_trajectory_elbo_consistency(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_bimodal();
  const size_t N = 300, K = 12, d = 1;
  dpm_schedule *sch = dpm_schedule_linear_alloc(N, 3e-4, 0.06);
  double *g = vec(N + 1), *ge = vec(N + 1), e2;
  quad_gamma(mix, sch, g, ge);
  dpm_mixture_moments(mix, NULL, NULL, &e2);
  dpm_analytic_model mod = {d, 1.0, e2, g, ge, NULL, NULL, NULL};
  const char *kinds[] = {"dp", "even", "quadratic"};
  double J[3], nelbo[3], dec[3];
  for (int i = 0; i < 3; i++) {
    size_t tau[12];
    double cum[12], terms[12];
    assert_int_equal(dpm_analytic_trajectory(sch, g, kinds[i], K, tau, cum), 0);
    assert_true(tau[0] == 1 && tau[K - 1] == N);
    dpm_elbo_result r;
    assert_int_equal(dpm_analytic_elbo(sch, &mod, DPM_VAR_OPT, K, tau, NAN, NAN, &r, terms), 0);
    assert_close(r.transitions, 0.5 * (double)d * cum[K - 1], 1e-12, 0);
    double sum = 0.0;
    for (size_t k = 1; k < K; k++)
      sum += terms[k];
    assert_close(sum, r.transitions, 1e-14, 0);
    assert_close(terms[0], r.decoder, 0, 0);
    assert_close(r.nelbo, r.prior + r.transitions + r.decoder, 1e-15, 1e-15);
    assert_close(r.bpd, r.nelbo / ((double)d * M_LN2), 1e-15, 0);
    assert_true(isnan(r.gap));
    J[i] = cum[K - 1];
    nelbo[i] = r.nelbo;
    dec[i] = r.decoder;
  }
  assert_true(J[0] <= J[1] && J[0] <= J[2]);
  assert_close(dec[1], dec[0], 1e-15, 0);
  assert_close(nelbo[1] - nelbo[0], 0.5 * (double)d * (J[1] - J[0]), 0, 1e-12 * fabs(nelbo[1]));
  assert_close(nelbo[2] - nelbo[0], 0.5 * (double)d * (J[2] - J[0]), 0, 1e-12 * fabs(nelbo[2]));
  free(g);
  free(ge);
  dpm_schedule_free(sch);
  dpm_mixture_free(mix);
}

/* ---- ELBO
 * ------------------------------------------------------------------------------------------------------- */

/* Gaussian data N(mu, v I), eta = 1: the forward chain is Markov (so is its restriction to any trajectory) and
 * every reverse transition q(x_s | x_t) is Gaussian with a constant isotropic covariance, so the optimal Gaussian
 * model reproduces it exactly and the ELBO gap is the prior mismatch alone: nelbo - H =
 * KL(N(sqrt(abar_T) mu, c I) || N(0, I)), c = abar_T v + bbar_T, for any trajectory, with H = (d/2) log(2 pi e v).
 * Closed-form Gamma (no quadrature). Compared to 1e-10 relative to the largest term (sums of <= 100 terms of size
 * <= 10^2, each to a few EPS). The per-step table sums to the K = N ELBO. */
static void test_elbo_gaussian_exact(void **state)
{
  (void)state;
  const size_t d = 2, N = 100;
  const double mu[2] = {0.8, -0.3}, var[2] = {0.5, 0.5};
  dpm_schedule *sch = dpm_schedule_linear_alloc(N, 1e-3, 0.05);
  double *g = vec(N + 1);
  g[0] = NAN;
  for (size_t n = 1; n <= N; n++)
    g[n] = gauss_gamma(d, var, sqrt(sch->alpha_bar[n]), sqrt(sch->beta_bar[n]));
  const double e2 = mu[0] * mu[0] + mu[1] * mu[1] + 2 * var[0];
  const double H = 0.5 * (double)d * log(2 * M_PI * M_E * var[0]);
  const double abT = sch->alpha_bar[N], c = abT * var[0] + sch->beta_bar[N];
  const double kl_prior =
      0.5 * ((double)d * c + abT * (mu[0] * mu[0] + mu[1] * mu[1]) - (double)d - (double)d * log(c));
  assert_true(kl_prior > 1e-3); /* the test has teeth: the prior mismatch is visible */
  size_t tauN[100], tau10[10];
  for (size_t k = 0; k < N; k++)
    tauN[k] = k + 1;
  assert_int_equal(dpm_schedule_subsequence(sch, "quadratic", 10, tau10), 0);
  const double etas[] = {1.0, 0.4};
  for (int e = 0; e < 2; e++) {
    dpm_analytic_model mod = {d, etas[e], e2, g, NULL, NULL, NULL, NULL};
    dpm_elbo_result r, r10, rb;
    assert_int_equal(dpm_analytic_elbo(sch, &mod, DPM_VAR_OPT, N, tauN, H, 0.0, &r, NULL), 0);
    assert_int_equal(dpm_analytic_elbo(sch, &mod, DPM_VAR_OPT, 10, tau10, H, 0.0, &r10, NULL), 0);
    assert_int_equal(dpm_analytic_elbo(sch, &mod, DPM_VAR_BETA, 10, tau10, H, 0.0, &rb, NULL), 0);
    /* the prior term is E KL(q(x_T|x_0) || N(0, I)), at least the marginal mismatch */
    const double bT = sch->beta_bar[N];
    assert_close(r.prior, 0.5 * ((double)d * bT + abT * e2 - (double)d - (double)d * log(bT)), 1e-13, 0);
    assert_true(r.prior > kl_prior);
    const double tol = 1e-10 * (fabs(r.transitions) + fabs(r.decoder) + 1);
    if (etas[e] == 1.0) {
      assert_close(r.gap, kl_prior, 0, tol);
      assert_close(r10.gap, kl_prior, 0, tol);
    } else {
      /* eta < 1: the forward process is not Markov in reverse, the Markov model cannot match its joint, and the
       * gap KL(q_eta(x_{0:N}) || p) only exceeds the prior mismatch (data processing to x_N) */
      assert_true(r.gap > kl_prior + tol);
      assert_true(r10.gap > kl_prior + tol);
    }
    /* the fixed variances are worse */
    assert_true(rb.gap > r10.gap + tol);
  }
  /* table (eta = 1): sum_n L_x[n] + prior equals the K = N ELBO of the same choice */
  dpm_analytic_model mod = {d, 1.0, e2, g, NULL, NULL, NULL, NULL};
  double *Lb = vec(N + 1), *Lt = vec(N + 1), *Lo = vec(N + 1), *Lc = vec(N + 1);
  dpm_analytic_table tab;
  memset(&tab, 0, sizeof tab);
  tab.L_beta = Lb;
  tab.L_betatilde = Lt;
  tab.L_opt = Lo;
  tab.L_clipped = Lc;
  assert_int_equal(dpm_analytic_table_fill(sch, &mod, &tab), 0);
  const dpm_variance_kind kinds[4] = {DPM_VAR_BETA, DPM_VAR_BETA_TILDE, DPM_VAR_OPT, DPM_VAR_CLIPPED};
  double *cols[4] = {Lb, Lt, Lo, Lc};
  for (int k = 0; k < 4; k++) {
    dpm_elbo_result r;
    assert_int_equal(dpm_analytic_elbo(sch, &mod, kinds[k], N, tauN, H, 0.0, &r, NULL), 0);
    double sum = dpm_analytic_prior_kl(sch, N, d, e2), mag = fabs(sum);
    for (size_t n = 1; n <= N; n++) {
      sum += cols[k][n];
      mag += fabs(cols[k][n]);
    }
    /* the two routes differ by per-step vs sub-sequence rounding (see test_subsequence_equals_per_step) */
    assert_close(r.nelbo, sum, 0, 1e-11 * mag);
    assert_true(isnan(cols[k][0]));
  }
  free(Lb);
  free(Lt);
  free(Lo);
  free(Lc);
  free(g);
  dpm_schedule_free(sch);
}

/* Negative ELBO >= H(q_0) (the gap is KL(q || p) >= 0) and the gap shrinks as N grows, on the 1-D bimodal
 * mixture with the cosine schedule (same continuous-time abar at any N) and the analytic variance, Gamma and H
 * by quadrature with propagated errors. The gap's decay between N = 100 and 1000 has slope ~1 in log-log (each
 * of N steps contributes O(1/N^2) of non-Gaussianity); asserted within [0.8, 1.2]. The entropy quadrature agrees
 * with Monte Carlo within K_SE se, and both with the closed form for a Gaussian. Per step, L_opt <= L_beta and
 * L_opt <= L_betatilde. */
static void test_elbo_bounds_entropy(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_bimodal();
  double H, He, Hm, Hs, e2;
  assert_int_equal(dpm_mixture_entropy(mix, &H, &He), 0);
  assert_int_equal(dpm_mixture_entropy_mc(mix, 100000, 5, &Hm, &Hs), 0);
  assert_true(He < 1e-8);
  assert_within_se(Hm, Hs, H, K_SE);
  dpm_mixture_moments(mix, NULL, NULL, &e2);
  const size_t Ns[3] = {10, 100, 1000};
  double gap[3], gerr[3];
  for (int i = 0; i < 3; i++) {
    const size_t N = Ns[i];
    dpm_schedule *sch = dpm_schedule_cosine_alloc(N);
    double *g = vec(N + 1), *ge = vec(N + 1);
    size_t *tau = malloc(N * sizeof(size_t));
    assert_non_null(tau);
    quad_gamma(mix, sch, g, ge);
    for (size_t k = 0; k < N; k++)
      tau[k] = k + 1;
    dpm_analytic_model mod = {1, 1.0, e2, g, ge, NULL, NULL, NULL};
    dpm_elbo_result r;
    assert_int_equal(dpm_analytic_elbo(sch, &mod, DPM_VAR_OPT, N, tau, H, He, &r, NULL), 0);
    assert_true(r.gap >= -r.gap_err);
    gap[i] = r.gap;
    gerr[i] = r.gap_err;
    double *Lb = vec(N + 1), *Lt = vec(N + 1), *Lo = vec(N + 1);
    dpm_analytic_table tab;
    memset(&tab, 0, sizeof tab);
    tab.L_beta = Lb;
    tab.L_betatilde = Lt;
    tab.L_opt = Lo;
    assert_int_equal(dpm_analytic_table_fill(sch, &mod, &tab), 0);
    for (size_t n = 1; n <= N; n++) {
      const double tol = 1e-12 * (1 + fabs(Lo[n]));
      assert_true(Lo[n] <= Lb[n] + tol);
      assert_true(Lo[n] <= Lt[n] + tol);
    }
    free(Lb);
    free(Lt);
    free(Lo);
    free(tau);
    free(g);
    free(ge);
    dpm_schedule_free(sch);
  }
  assert_true(gap[0] - gerr[0] > gap[1] + gerr[1]);
  assert_true(gap[1] - gerr[1] > gap[2] + gerr[2]);
  assert_true(gap[2] - gerr[2] > 0);
  const double slope = log10(gap[1] / gap[2]);
  assert_true(slope > 0.8 && slope < 1.2);
  /* the entropy of a Gaussian in closed form, quadrature (d = 2) and Monte Carlo (d = 3) */
  const double mu[3] = {0.1, 0.2, -0.3}, var[3] = {0.5, 2.0, 0.3};
  dpm_mixture *g2 = mix_gauss(2, mu, var), *g3 = mix_gauss(3, mu, var);
  const double H2 = 0.5 * (log(2 * M_PI * M_E * var[0]) + log(2 * M_PI * M_E * var[1]));
  const double H3 = H2 + 0.5 * log(2 * M_PI * M_E * var[2]);
  assert_int_equal(dpm_mixture_entropy(g2, &H, &He), 0);
  assert_close(H, H2, 0, He + 1e-13);
  assert_int_equal(dpm_mixture_entropy(g3, &H, &He), 0);
  assert_within_se(H, He, H3, K_SE);
  dpm_mixture_free(g2);
  dpm_mixture_free(g3);
  dpm_mixture_free(mix);
}

/* The bounded-data bound sigma*^2 <= lambda^2 + c0^2 r^2 holds for a point set with its exact hull (a theorem
 * for data in the box), every n and several eta (allowing the quadrature error times coef2), and clipping
 * respects it; for a Gaussian mixture's tail box it is reported and finite. */
static void test_box_bound(void **state)
{
  (void)state;
  const double pts[10] = {-1.0, 0.5, 0.3, 1.0, 0.9, -0.7, -0.2, -0.4, 1.1, 0.8};
  dpm_mixture *ps = mix_points(5, 2, pts);
  double lo[2], hi[2];
  dpm_mixture_box(ps, 0.0, lo, hi);
  assert_close(lo[0], -1.0, 0, 0);
  assert_close(hi[1], 1.0, 0, 0);
  const size_t N = 100;
  dpm_schedule *sch = dpm_schedule_linear_alloc(N, 1e-3, 0.2);
  double *g = vec(N + 1), *ge = vec(N + 1);
  quad_gamma(ps, sch, g, ge);
  const double etas[] = {0.0, 0.5, 1.0};
  int tighter = 0;
  for (int e = 0; e < 3; e++)
    for (size_t n = 1; n <= N; n++) {
      dpm_analytic_step st;
      assert_int_equal(dpm_analytic_step_n(sch, n, etas[e], &st), 0);
      const double ub = dpm_analytic_sigma2_upper_box(&st, 2, lo, hi), opt = dpm_analytic_sigma2_opt(&st, g[n]);
      assert_true(opt <= ub + st.coef2 * ge[n] + 4 * EPS * ub);
      if (ub < dpm_analytic_sigma2_upper(&st)) tighter = 1;
      const double cl = dpm_analytic_sigma2_clip(&st, 1e9, ub);
      assert_true(cl == fmin(ub, dpm_analytic_sigma2_upper(&st)));
    }
  assert_true(tighter); /* the box bound is the tighter one somewhere (large n) */
  /* in the model: the clipped variance of an overestimate lands on the box bound */
  dpm_analytic_model mod = {2, 1.0, 1.0, g, NULL, NULL, lo, hi};
  double *ghat = vec(N + 1), *s2 = vec(N + 1), *ubx = vec(N + 1);
  for (size_t n = 1; n <= N; n++)
    ghat[n] = -5.0; /* sigma-hat^2 far above every bound */
  mod.gamma_hat = ghat;
  dpm_analytic_table tab;
  memset(&tab, 0, sizeof tab);
  tab.sigma2 = s2;
  tab.upper_box = ubx;
  assert_int_equal(dpm_analytic_table_fill(sch, &mod, &tab), 0);
  for (size_t n = 1; n <= N; n++) {
    dpm_analytic_step st;
    dpm_analytic_step_n(sch, n, 1.0, &st);
    assert_true(s2[n] == fmin(ubx[n], dpm_analytic_sigma2_upper(&st)));
  }
  dpm_mixture *mix = mix_bimodal();
  double blo, bhi;
  dpm_mixture_box(mix, 1e-6, &blo, &bhi);
  dpm_analytic_step st;
  dpm_analytic_step_n(sch, 100, 1.0, &st);
  assert_true(isfinite(dpm_analytic_sigma2_upper_box(&st, 1, &blo, &bhi)));
  dpm_mixture_free(mix);
  free(ghat);
  free(s2);
  free(ubx);
  free(g);
  free(ge);
  dpm_schedule_free(sch);
  dpm_mixture_free(ps);
}

/* ---- imperfect denoisers
 * ------------------------------------------------------------------------------------------ */

/* Scaled c: Gamma-hat = c^2 Gamma-hat(exact) on the same streams (1e-13), and c^2 Gamma within K_SE se + c^2 err.
 * Relative error eta: |eps-hat - eps| = eta |eps| exactly (1e-13), deterministic in x, and Gamma-hat within K_SE
 * se of (1 + eta^2) Gamma (the direction is uniform and independent of eps). Memorising model of 20 training
 * points: at noise s far below the training spacing its eps-hat is (x - m y*)/s for the nearest training point y*,
 * so |eps-hat|^2 ~ |eps|^2 + dist(x_0, set)^2/s^2 and Gamma-hat exceeds 1 (the ceiling of any true Gamma:
 * E|E[eps|x]|^2
 * <= E|eps|^2 = d) — with 20 points over a range of ~4, dist^2/s^2 ~ 30 at s = 0.01; the clipped decoder
 * variance then sits on its lower bound 0. */
static void test_imperfect_denoisers(void **state)
{
  (void)state;
  const size_t N = 50, M = 10000;
  dpm_schedule *sch = dpm_schedule_cosine_alloc(N);
  dpm_mixture *mix = mix_bimodal();
  dpm_denoiser *ex = dpm_denoiser_oracle_alloc(mix);
  dpm_denoiser *sc = dpm_denoiser_scaled_alloc(ex, 1.5);
  dpm_denoiser *re = dpm_denoiser_relerr_alloc(ex, 0.4, 99);
  gsl_rng *r = dpm_rng_stream_alloc(3, 0);
  dpm_denoiser *me = dpm_denoiser_memorise_alloc(mix, 20, r);
  assert_non_null(sc);
  assert_non_null(re);
  assert_non_null(me);
  dpm_analytic_gamma_mc *w = dpm_analytic_gamma_mc_alloc(mix, M);
  double *gq = vec(N + 1), *gqe = vec(N + 1), *g0 = vec(N + 1), *s0 = vec(N + 1), *gs = vec(N + 1),
         *ss = vec(N + 1), *gr = vec(N + 1), *sr = vec(N + 1), *gm = vec(N + 1), *sm = vec(N + 1);
  quad_gamma(mix, sch, gq, gqe);
  assert_int_equal(dpm_analytic_gamma_mc_denoiser(w, ex, sch, 5, g0, s0, NULL, NULL), 0);
  assert_int_equal(dpm_analytic_gamma_mc_denoiser(w, sc, sch, 5, gs, ss, NULL, NULL), 0);
  assert_int_equal(dpm_analytic_gamma_mc_denoiser(w, re, sch, 6, gr, sr, NULL, NULL), 0);
  for (size_t n = 1; n <= N; n++) {
    assert_close(gs[n], 2.25 * g0[n], 1e-13, 0);
    assert_true(fabs(gs[n] - 2.25 * gq[n]) <= K_SE * ss[n] + 2.25 * gqe[n]);
    assert_true(fabs(gr[n] - 1.16 * gq[n]) <= K_SE * sr[n] + 1.16 * gqe[n]);
  }
  /* Gamma-hat != Gamma in the expected direction where it matters */
  for (size_t n = 1; n <= N; n += 7) {
    assert_true(gs[n] - 2.25 * gq[n] > -K_SE * ss[n] && gs[n] > gq[n] + K_SE * s0[n]);
  }
  /* relative error: exact size, determinism */
  double x[6] = {-2.0, -0.1, 0.0, 0.3, 1.0, 3.0}, e1[6], e2[6], eps[6];
  assert_int_equal(dpm_denoiser_eval(ex, 0.8, 0.6, 6, x, eps, NULL, NULL), 0);
  assert_int_equal(dpm_denoiser_eval(re, 0.8, 0.6, 6, x, e1, NULL, NULL), 0);
  assert_int_equal(dpm_denoiser_eval(re, 0.8, 0.6, 6, x, e2, NULL, NULL), 0);
  assert_memory_equal(e1, e2, sizeof e1);
  for (int i = 0; i < 6; i++)
    assert_close(fabs(e1[i] - eps[i]), 0.4 * fabs(eps[i]), 1e-13, 1e-300);
  /* x0 and score follow from eps-hat */
  double x0[6], sco[6];
  assert_int_equal(dpm_denoiser_eval(re, 0.8, 0.6, 6, x, NULL, x0, sco), 0);
  for (int i = 0; i < 6; i++) {
    assert_close(x0[i], (x[i] - 0.6 * e1[i]) / 0.8, 1e-14, 1e-14);
    assert_close(sco[i], -e1[i] / 0.6, 1e-14, 0);
  }
  /* memorising: at s = 0.01 (linear schedule's first step) against 20 training points */
  dpm_schedule *sch2 = dpm_schedule_linear_alloc(20, 1e-4, 0.1);
  dpm_analytic_gamma_mc *w2 = dpm_analytic_gamma_mc_alloc(mix, 5000);
  double *gq2 = vec(21), *gqe2 = vec(21);
  quad_gamma(mix, sch2, gq2, gqe2);
  assert_int_equal(dpm_analytic_gamma_mc_denoiser(w2, me, sch2, 5, gm, sm, NULL, NULL), 0);
  const dpm_mixture *tr = dpm_denoiser_memorise_points(me);
  assert_non_null(tr);
  assert_int_equal(tr->K, 20);
  assert_true(dpm_mixture_is_pointset(tr));
  assert_null(dpm_denoiser_memorise_points(ex));
  assert_true(gm[1] > 1.0 + K_SE * sm[1]);
  assert_true(gq2[1] < 1.0);
  dpm_analytic_model mod = {1, 1.0, 1.0, gq2, NULL, gm, NULL, NULL};
  double *s2 = vec(21), *lower = vec(21);
  dpm_analytic_table tab;
  memset(&tab, 0, sizeof tab);
  tab.sigma2 = s2;
  tab.lower = lower;
  assert_int_equal(dpm_analytic_table_fill(sch2, &mod, &tab), 0);
  assert_true(s2[1] == lower[1] && lower[1] == 0.0);
  free(gq2);
  free(gqe2);
  dpm_analytic_gamma_mc_free(w2);
  dpm_schedule_free(sch2);
  free(s2);
  free(lower);
  free(gq);
  free(gqe);
  free(g0);
  free(s0);
  free(gs);
  free(ss);
  free(gr);
  free(sr);
  free(gm);
  free(sm);
  dpm_analytic_gamma_mc_free(w);
  dpm_denoiser_free(me);
  dpm_denoiser_free(re);
  dpm_denoiser_free(sc);
  dpm_denoiser_free(ex);
  gsl_rng_free(r);
  dpm_mixture_free(mix);
  dpm_schedule_free(sch);
}

/* ---- diagonal covariance ---------------------------------------------------------------------------------------
 */

/* The state-dependent diagonal variance averages (over q_t and coordinates) to the scalar sigma*^2: Monte Carlo
 * of mean_j sigma*(x)_j^2 with exact x ~ q_t, within K_SE se + coef2 times the quadrature error. The modes
 * overlap on purpose: a standard error is honest only when no rarely-visited region carries part of the mean;
 * with well separated modes Cov[x_0|x] is nearly constant except between the modes (probability < 1e-6 per
 * sample), which shifts the mean by more than the se computed from samples that never go there. For a diagonal
 * Gaussian it is constant and equals lambda^2 + c0^2 v_j s^2/(m^2 v_j + s^2) per coordinate (1e-12). */
static void test_diag_variance(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_ring(3, 1.0, 0.25);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mix, 1e-9);
  dpm_schedule *sch = dpm_schedule_linear_alloc(500, 1e-4, 0.03);
  gsl_rng *r = dpm_rng_stream_alloc(21, 0);
  const size_t M = 20000;
  double *x = vec(2 * M), *s2 = vec(2 * M), *v = vec(M);
  const size_t pairs[4][2] = {{0, 5}, {49, 50}, {100, 300}, {420, 500}};
  const double etas[] = {0.0, 1.0};
  for (int p = 0; p < 4; p++)
    for (int e = 0; e < 2; e++) {
      const size_t s = pairs[p][0], t = pairs[p][1];
      dpm_analytic_step st;
      assert_int_equal(dpm_analytic_step_ts(sch, s, t, etas[e], &st), 0);
      dpm_mixture_sample_t(mix, r, sqrt(st.abar_t), sqrt(st.bbar_t), M, x, NULL, NULL);
      assert_int_equal(dpm_analytic_diag_sigma2(o, sch, s, t, etas[e], M, x, s2), 0);
      for (size_t i = 0; i < M; i++)
        v[i] = 0.5 * (s2[2 * i] + s2[2 * i + 1]);
      double mean, se, g, ge;
      dpm_test_mean_se(v, M, &mean, &se);
      assert_int_equal(dpm_analytic_gamma_quad_eval(q, sqrt(st.abar_t), sqrt(st.bbar_t), &g, &ge), 0);
      assert_true(fabs(mean - dpm_analytic_sigma2_opt(&st, g)) <= K_SE * se + st.coef2 * ge);
    }
  const double mu[2] = {0.3, -0.2}, var[2] = {0.2, 1.5};
  dpm_mixture *gd = mix_gauss(2, mu, var);
  dpm_oracle *og = dpm_oracle_alloc(gd);
  dpm_analytic_step st;
  dpm_analytic_step_ts(sch, 100, 300, 0.5, &st);
  dpm_mixture_sample_t(gd, r, sqrt(st.abar_t), sqrt(st.bbar_t), 10, x, NULL, NULL);
  assert_int_equal(dpm_analytic_diag_sigma2(og, sch, 100, 300, 0.5, 10, x, s2), 0);
  for (size_t i = 0; i < 10; i++)
    for (size_t j = 0; j < 2; j++) {
      const double c = st.abar_t * var[j] + st.bbar_t;
      assert_close(s2[2 * i + j], st.lambda2 + st.c0 * st.c0 * var[j] * st.bbar_t / c, 1e-12, 0);
    }
  dpm_oracle_free(og);
  dpm_mixture_free(gd);
  free(x);
  free(s2);
  free(v);
  gsl_rng_free(r);
  dpm_schedule_free(sch);
  dpm_analytic_gamma_quad_free(q);
  dpm_oracle_free(o);
  dpm_mixture_free(mix);
}

/* ---- samplers
 * ------------------------------------------------------------------------------------------------------ */

/* The law of one coordinate of the sampler's output for Gaussian data N(mu, v) (per coordinate), by recursion:
 * the denoiser is linear, x0-hat = mu + k (x_t - m mu), k = m v/(m^2 v + s^2) (the Gaussian posterior mean,
 * independent of the oracle), so x_s = a x_t + b + sigma z with a = c0 k + cx, b = c0 mu (1 - k m); the decoder
 * returns x0-hat (+ sigma_0 z with final noise). Start N(0, 1) or exact q_T = N(m mu, m^2 v + s^2). */
static normal_law gauss_chain(const dpm_schedule *sch, size_t K, const size_t *tau, double eta, const double *s2,
                              int final_noise, int exact_start, double mu, double v)
{
  const size_t T = tau[K - 1];
  double mean = exact_start ? sqrt(sch->alpha_bar[T]) * mu : 0.0;
  double var = exact_start ? sch->alpha_bar[T] * v + sch->beta_bar[T] : 1.0;
  for (size_t k = K; k-- > 0;) {
    dpm_analytic_step st;
    dpm_analytic_step_ts(sch, k > 0 ? tau[k - 1] : 0, tau[k], eta, &st);
    const double m = sqrt(st.abar_t), s = sqrt(st.bbar_t), kk = m * v / (m * m * v + s * s);
    const double a = st.c0 * kk + st.cx, b = st.c0 * mu * (1 - kk * m);
    mean = a * mean + b;
    var = a * a * var + ((k > 0 || final_noise) ? s2[k] : 0.0);
  }
  normal_law l = {mean, sqrt(var)};
  return l;
}

/* Gaussian data: (1) every DDIM-family sampler's output law is the recursion's Gaussian, checked by KS with the
 * DKW threshold (beta, beta~, analytic eta = 1, 0.5, 0, plain DDIM); (2) for the analytic variance with an exact
 * start and final noise the recursion gives exactly N(mu, v) (the optimal Gaussian transitions are exact for
 * Gaussian data; 1e-10 relative after 10 steps); (3) plain DDIM is a deterministic linear map of the start, which
 * the sampler reproduces to 64 K EPS (|x| + 1) when the start is redrawn from the same stream. */
static void test_samplers_gaussian_exact(void **state)
{
  (void)state;
  const size_t N = 1000, K = 10, n = 20000;
  const double mu = 0.7, v = 0.3;
  dpm_mixture *gd = mix_gauss(1, &mu, &v);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(gd);
  dpm_schedule *sch = dpm_schedule_linear_alloc(N, 1e-4, 0.02);
  size_t tau[10];
  assert_int_equal(dpm_schedule_subsequence(sch, "even", K, tau), 0);
  double *g = vec(N + 1), *x = vec(n), *s2 = vec(K);
  for (size_t t = 1; t <= N; t++)
    g[t] = gauss_gamma(1, &v, sqrt(sch->alpha_bar[t]), sqrt(sch->beta_bar[t]));
  dpm_sampler_analytic *w = dpm_sampler_analytic_alloc(1, n);
  assert_non_null(w);
  gsl_rng *r = dpm_rng_stream_alloc(1234, 0);
  const struct {
    double eta;
    dpm_variance_kind var;
    int exact_start;
  } cases[] = {{1.0, DPM_VAR_BETA, 0},   {1.0, DPM_VAR_BETA_TILDE, 0}, {1.0, DPM_VAR_OPT, 1},
               {0.5, DPM_VAR_OPT, 1},    {0.0, DPM_VAR_OPT, 1},        {0.0, DPM_VAR_ZERO, 0},
               {1.0, DPM_VAR_CLIPPED, 0}};
  const double thr = dkw(n, KS_ALPHA);
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    dpm_analytic_model mod = {1, cases[c].eta, mu * mu + v, g, NULL, NULL, NULL, NULL};
    assert_int_equal(dpm_analytic_sigma2_traj(sch, &mod, cases[c].var, K, tau, s2), 0);
    dpm_sampler_analytic_opts opts = {cases[c].eta, s2, 1, cases[c].exact_start ? gd : NULL};
    assert_int_equal(dpm_sampler_analytic_run(w, dn, sch, K, tau, &opts, n, x, r), 0);
    normal_law law = gauss_chain(sch, K, tau, cases[c].eta, s2, 1, cases[c].exact_start, mu, v);
    assert_true(ks_stat(x, n, normal_cdf, &law) <= thr);
    if (cases[c].var == DPM_VAR_OPT) {
      assert_close(law.mean, mu, 1e-10, 0);
      assert_close(law.sd * law.sd, v, 1e-10, 0);
    }
  }
  /* DDIM: deterministic map; redraw the start from the same stream */
  dpm_analytic_model mod0 = {1, 0.0, mu * mu + v, g, NULL, NULL, NULL, NULL};
  assert_int_equal(dpm_analytic_sigma2_traj(sch, &mod0, DPM_VAR_ZERO, K, tau, s2), 0);
  dpm_sampler_analytic_opts opts = {0.0, s2, 0, NULL};
  dpm_rng_stream_set(r, 77, 0);
  assert_int_equal(dpm_sampler_analytic_run(w, dn, sch, K, tau, &opts, 100, x, r), 0);
  dpm_rng_stream_set(r, 77, 0);
  for (size_t i = 0; i < 100; i++) {
    double z = gsl_ran_gaussian_ziggurat(r, 1.0);
    for (size_t k = K; k-- > 0;) {
      dpm_analytic_step st;
      dpm_analytic_step_ts(sch, k > 0 ? tau[k - 1] : 0, tau[k], 0.0, &st);
      const double m = sqrt(st.abar_t), s = sqrt(st.bbar_t), x0 = mu + m * v / (m * m * v + s * s) * (z - m * mu);
      z = st.c0 * x0 + st.cx * z;
    }
    assert_close(x[i], z, 0, 64 * (double)K * EPS * (fabs(z) + 1));
  }
  gsl_rng_free(r);
  dpm_sampler_analytic_free(w);
  free(g);
  free(x);
  free(s2);
  dpm_schedule_free(sch);
  dpm_denoiser_free(dn);
  dpm_mixture_free(gd);
}

/* Analytic-DDPM on the 1-D bimodal mixture, cosine N = 1000, all steps, start N(0, 1), with the decoder noise
 * (final_noise), so the samples follow exactly the model p whose negative ELBO we compute: KS(p_0, q_0) <=
 * TV(p_0, q_0) <= sqrt(KL(q_0 || p_0)/2) <= sqrt(gap/2) (Pinsker and data processing), gap = nelbo - H from
 * quadrature (plus its error). So sup|F_n - F_q| <= DKW(alpha) + sqrt((gap + gap_err)/2) except with
 * probability alpha. At N = 1000 the gap is ~1e-3 nats, a bias bound ~0.025 next to DKW ~0.020 for n = 10000.
 * The diagonal-covariance sampler minimises each step's KL over a larger family (state-dependent diagonal
 * covariances include the scalar one), so its gap is at most the scalar one and the same threshold applies. For
 * Gaussian data with unequal coordinate variances the diagonal sampler is exact: per-coordinate KS against
 * N(mu_j, v_j) at alpha/2 each. */
static void test_samplers_ks(void **state)
{
  (void)state;
  const size_t N = 1000, n = 10000;
  dpm_mixture *mix = mix_bimodal();
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  dpm_schedule *sch = dpm_schedule_cosine_alloc(N);
  double *g = vec(N + 1), *ge = vec(N + 1), *s2 = vec(N), *x = vec(2 * n), H, He, e2;
  size_t *tau = malloc(N * sizeof(size_t));
  assert_non_null(tau);
  for (size_t k = 0; k < N; k++)
    tau[k] = k + 1;
  quad_gamma(mix, sch, g, ge);
  assert_int_equal(dpm_mixture_entropy(mix, &H, &He), 0);
  dpm_mixture_moments(mix, NULL, NULL, &e2);
  dpm_analytic_model mod = {1, 1.0, e2, g, ge, NULL, NULL, NULL};
  dpm_elbo_result res;
  assert_int_equal(dpm_analytic_elbo(sch, &mod, DPM_VAR_OPT, N, tau, H, He, &res, NULL), 0);
  assert_int_equal(dpm_analytic_sigma2_traj(sch, &mod, DPM_VAR_OPT, N, tau, s2), 0);
  const double thr = dkw(n, KS_ALPHA) + sqrt(0.5 * (res.gap + res.gap_err));
  assert_true(thr < 0.05); /* the check has teeth */
  dpm_sampler_analytic *w = dpm_sampler_analytic_alloc(2, n);
  gsl_rng *r = dpm_rng_stream_alloc(2024, 0);
  dpm_sampler_analytic_opts opts = {1.0, s2, 1, NULL};
  dpm_sampler_analytic *w1 = dpm_sampler_analytic_alloc(1, n);
  assert_int_equal(dpm_sampler_analytic_run(w1, dn, sch, N, tau, &opts, n, x, r), 0);
  assert_true(ks_stat(x, n, mix_cdf, mix) <= thr);
  assert_int_equal(dpm_sampler_analytic_diag_run(w1, o, sch, N, tau, &opts, n, x, r), 0);
  assert_true(ks_stat(x, n, mix_cdf, mix) <= thr);
  /* Gaussian with unequal variances: the diagonal sampler is exact (K = 10, exact start, final noise) */
  const double mu[2] = {0.3, -1.0}, var[2] = {0.05, 2.0};
  dpm_mixture *gd = mix_gauss(2, mu, var);
  dpm_oracle *og = dpm_oracle_alloc(gd);
  size_t t10[10];
  assert_int_equal(dpm_schedule_subsequence(sch, "quadratic", 10, t10), 0);
  dpm_sampler_analytic_opts o2 = {1.0, NULL, 1, gd};
  assert_int_equal(dpm_sampler_analytic_diag_run(w, og, sch, 10, t10, &o2, n, x, r), 0);
  double *col = vec(n);
  for (size_t j = 0; j < 2; j++) {
    for (size_t i = 0; i < n; i++)
      col[i] = x[2 * i + j];
    normal_law law = {mu[j], sqrt(var[j])};
    assert_true(ks_stat(col, n, normal_cdf, &law) <= dkw(n, KS_ALPHA / 2));
  }
  /* the last step returns the mean without final noise: the output is E[x_0 | x_tau1] with x_tau1 ~ q_tau1
   * exactly, so its mean is mu and its variance v - E Var[x_0 | x_tau1] (the posterior variance is removed) */
  o2.final_noise = 0;
  const size_t t5[5] = {200, 400, 600, 800, 1000};
  assert_int_equal(dpm_sampler_analytic_diag_run(w, og, sch, 5, t5, &o2, n, x, r), 0);
  for (size_t i = 0; i < n; i++)
    col[i] = x[2 * i];
  double mean, se, vhat = 0.0;
  dpm_test_mean_se(col, n, &mean, &se);
  assert_within_se(mean, se, mu[0], K_SE);
  for (size_t i = 0; i < n; i++)
    vhat += (col[i] - mean) * (col[i] - mean) / (double)(n - 1);
  const double ab = sch->alpha_bar[t5[0]], bb = sch->beta_bar[t5[0]];
  const double vpred = var[0] * ab * var[0] / (ab * var[0] + bb); /* v - E Var[x_0 | x_tau1] */
  assert_true(vpred < 0.5 * var[0]);                              /* the check has teeth */
  /* the sample variance of n Gaussian draws has standard error var sqrt(2/(n-1)) */
  assert_within_se(vhat, vpred * sqrt(2.0 / (double)(n - 1)), vpred, K_SE);
  free(col);
  dpm_oracle_free(og);
  dpm_mixture_free(gd);
  gsl_rng_free(r);
  dpm_sampler_analytic_free(w);
  dpm_sampler_analytic_free(w1);
  free(tau);
  free(g);
  free(ge);
  free(s2);
  free(x);
  dpm_schedule_free(sch);
  dpm_oracle_free(o);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* Variance choices along a trajectory, against the step's own fields and the documented decoder conventions. */
static void test_variance_choices(void **state)
{
  (void)state;
  const size_t N = 50, K = 6;
  dpm_schedule *sch = dpm_schedule_linear_alloc(N, 1e-3, 0.05);
  double *g = vec(N + 1), s2[6];
  for (size_t n = 1; n <= N; n++)
    g[n] = 0.01 * (double)n / (double)N + 0.3;
  size_t tau[6];
  assert_int_equal(dpm_schedule_subsequence(sch, "even", K, tau), 0);
  dpm_analytic_model mod = {3, 0.6, 1.0, g, NULL, NULL, NULL, NULL};
  for (int v = 0; v <= (int)DPM_VAR_ZERO; v++) {
    dpm_variance_kind kind;
    assert_int_equal(dpm_variance_parse(dpm_variance_name((dpm_variance_kind)v), &kind), 0);
    assert_int_equal((int)kind, v);
    assert_int_equal(dpm_analytic_sigma2_traj(sch, &mod, kind, K, tau, s2), 0);
    for (size_t k = 0; k < K; k++) {
      dpm_analytic_step st, nx;
      dpm_analytic_step_ts(sch, k ? tau[k - 1] : 0, tau[k], 0.6, &st);
      dpm_analytic_step_ts(sch, tau[0], tau[1], 0.6, &nx);
      double want = 0.0;
      switch (kind) {
      case DPM_VAR_BETA:
        want = st.beta_ts;
        break;
      case DPM_VAR_BETA_TILDE:
        want = k ? st.beta_tilde_ts : nx.beta_tilde_ts;
        break;
      case DPM_VAR_OPT:
      case DPM_VAR_CLIPPED:
        want = st.lambda2 + st.coef2 * (1 - g[tau[k]]);
        break;
      case DPM_VAR_ZERO:
        want = 0.0;
        break;
      }
      assert_close(s2[k], want, 1e-15, 0);
    }
  }
  assert_true(tau[0] == 1);
  assert_close(s2[0], 0.0, 0, 0);
  /* decoder of beta: beta_{1|0} = bbar_1 = beta_1 */
  assert_int_equal(dpm_analytic_sigma2_traj(sch, &mod, DPM_VAR_BETA, K, tau, s2), 0);
  assert_close(s2[0], sch->beta[1], 1e-15, 0);
  /* eta = 0: the KL terms are infinite (lambda = 0), the ELBO refuses */
  dpm_analytic_step st;
  dpm_analytic_step_n(sch, 5, 0.0, &st);
  assert_true(dpm_analytic_step_term(&st, 1, 0.3, 0.01) == HUGE_VAL);
  assert_true(isnan(dpm_analytic_step_term(&st, 1, 0.3, -1.0)));
  /* a zero variance is an infinite KL, and a zero decoder variance an infinite NLL */
  dpm_analytic_model m1 = {3, 1.0, 1.0, g, NULL, NULL, NULL, NULL};
  dpm_elbo_result r;
  assert_int_equal(dpm_analytic_elbo(sch, &m1, DPM_VAR_ZERO, K, tau, NAN, NAN, &r, NULL), 0);
  assert_true(r.nelbo == HUGE_VAL);
  free(g);
  dpm_schedule_free(sch);
}

/* ---- errors
 * ----------------------------------------------------------------------------------------------------------- */

#define EXPECT_ERR(call, code)                                                                                    \
  do {                                                                                                            \
    assert_int_equal((call), (code));                                                                             \
    assert_true(strlen(dpm_error_last()) > 0);                                                                    \
  } while (0)
#define EXPECT_NULL(call)                                                                                         \
  do {                                                                                                            \
    assert_null(call);                                                                                            \
    assert_true(strlen(dpm_error_last()) > 0);                                                                    \
  } while (0)

static void test_errors(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_bimodal();
  const double pts[2] = {0.0, 1.0};
  dpm_mixture *ps = mix_points(2, 1, pts);
  const double mu3[3] = {0, 0, 0}, v3[3] = {1, 1, 1};
  dpm_mixture *g3 = mix_gauss(3, mu3, v3);
  dpm_schedule *sch = dpm_schedule_linear_alloc(20, 1e-3, 0.1);
  double g[21], se[21], m1[2] = {1.0, 0.5}, s1[2] = {0.0, 0.5};
  for (int i = 0; i <= 20; i++)
    g[i] = 0.5;
  g[0] = NAN;
  /* Gamma MC */
  EXPECT_NULL(dpm_analytic_gamma_mc_alloc(NULL, 10));
  EXPECT_NULL(dpm_analytic_gamma_mc_alloc(mix, 1));
  dpm_analytic_gamma_mc *w = dpm_analytic_gamma_mc_alloc(mix, 10);
  assert_non_null(w);
  EXPECT_ERR(dpm_analytic_gamma_mc_schedule(w, NULL, 0, g, se), GSL_EINVAL);
  EXPECT_ERR(dpm_analytic_gamma_mc_ms(w, 2, m1, s1, 0, g, se), GSL_EDOM);
  EXPECT_ERR(dpm_analytic_gamma_mc_ms(w, 2, NULL, s1, 0, g, se), GSL_EINVAL);
  dpm_denoiser *d3 = dpm_denoiser_oracle_alloc(g3);
  EXPECT_ERR(dpm_analytic_gamma_mc_denoiser(w, d3, sch, 0, g, se, NULL, NULL), GSL_EBADLEN);
  EXPECT_ERR(dpm_analytic_gamma_mc_denoiser(w, NULL, sch, 0, g, se, NULL, NULL), GSL_EINVAL);
  dpm_analytic_gamma_mc_free(w);
  dpm_analytic_gamma_mc_free(NULL);
  /* quadrature */
  EXPECT_NULL(dpm_analytic_gamma_quad_alloc(g3, 1e-8));
  EXPECT_NULL(dpm_analytic_gamma_quad_alloc(mix, 0.0));
  EXPECT_NULL(dpm_analytic_gamma_quad_alloc(NULL, 1e-8));
  dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mix, 1e-8);
  double gv;
  EXPECT_ERR(dpm_analytic_gamma_quad_eval(q, 1.0, 0.0, &gv, NULL), GSL_EDOM);
  EXPECT_ERR(dpm_analytic_gamma_quad_eval(q, NAN, 0.5, &gv, NULL), GSL_EDOM);
  EXPECT_ERR(dpm_analytic_gamma_quad_schedule(q, NULL, g, NULL), GSL_EINVAL);
  dpm_analytic_gamma_quad_free(q);
  dpm_analytic_gamma_quad_free(NULL);
  /* steps */
  dpm_analytic_step st;
  EXPECT_ERR(dpm_analytic_step_n(sch, 0, 1.0, &st), GSL_EINVAL);
  EXPECT_ERR(dpm_analytic_step_n(sch, 21, 1.0, &st), GSL_EINVAL);
  EXPECT_ERR(dpm_analytic_step_n(sch, 3, -0.1, &st), GSL_EDOM);
  EXPECT_ERR(dpm_analytic_step_n(sch, 3, 1.5, &st), GSL_EDOM);
  EXPECT_ERR(dpm_analytic_step_n(NULL, 3, 1.0, &st), GSL_EINVAL);
  EXPECT_ERR(dpm_analytic_step_ts(sch, 5, 5, 1.0, &st), GSL_EINVAL);
  EXPECT_ERR(dpm_analytic_step_ts(sch, 5, 21, 1.0, &st), GSL_EINVAL);
  EXPECT_ERR(dpm_analytic_step_ts(sch, 1, 5, NAN, &st), GSL_EDOM);
  assert_true(isnan(dpm_analytic_prior_kl(sch, 21, 1, 1.0)));
  assert_true(isnan(dpm_analytic_cost(sch, g, DPM_COST_J, 0, 5)));
  assert_true(isnan(dpm_analytic_cost(sch, g, DPM_COST_J, 5, 5)));
  assert_true(isnan(dpm_analytic_cost(sch, g, (dpm_cost_kind)7, 1, 5)));
  dpm_analytic_step_n(sch, 3, 1.0, &st);
  assert_true(isnan(dpm_analytic_sigma2_upper_box(&st, 1, NULL, NULL)));
  /* variance choices, trajectories, ELBO, table */
  dpm_variance_kind vk;
  EXPECT_ERR(dpm_variance_parse("fancy", &vk), GSL_EINVAL);
  EXPECT_ERR(dpm_variance_parse(NULL, &vk), GSL_EINVAL);
  assert_string_equal(dpm_variance_name((dpm_variance_kind)99), "unknown");
  size_t bad1[3] = {0, 3, 5}, bad2[3] = {1, 5, 5}, bad3[3] = {1, 5, 25}, ok[3] = {1, 8, 20};
  EXPECT_ERR(dpm_analytic_check_traj(sch, 0, ok), GSL_EINVAL);
  EXPECT_ERR(dpm_analytic_check_traj(sch, 3, bad1), GSL_EINVAL);
  EXPECT_ERR(dpm_analytic_check_traj(sch, 3, bad2), GSL_EINVAL);
  EXPECT_ERR(dpm_analytic_check_traj(sch, 3, bad3), GSL_EINVAL);
  EXPECT_ERR(dpm_analytic_check_traj(sch, 3, NULL), GSL_EINVAL);
  double s2[3];
  dpm_analytic_model mod = {1, 1.0, 1.0, NULL, NULL, NULL, NULL, NULL};
  EXPECT_ERR(dpm_analytic_sigma2_traj(sch, &mod, DPM_VAR_OPT, 3, ok, s2), GSL_EINVAL);
  assert_int_equal(dpm_analytic_sigma2_traj(sch, &mod, DPM_VAR_BETA, 3, ok, s2), 0);
  EXPECT_ERR(dpm_analytic_sigma2_traj(sch, &mod, DPM_VAR_BETA, 3, ok, NULL), GSL_EINVAL);
  EXPECT_ERR(dpm_analytic_sigma2_traj(sch, NULL, DPM_VAR_BETA, 3, ok, s2), GSL_EINVAL);
  EXPECT_ERR(dpm_analytic_sigma2_traj(sch, &mod, (dpm_variance_kind)9, 3, ok, s2), GSL_EINVAL);
  mod.eta = 2.0;
  EXPECT_ERR(dpm_analytic_sigma2_traj(sch, &mod, DPM_VAR_BETA, 3, ok, s2), GSL_EDOM);
  mod.gamma = g;
  mod.eta = 0.0;
  dpm_elbo_result res;
  EXPECT_ERR(dpm_analytic_elbo(sch, &mod, DPM_VAR_OPT, 3, ok, NAN, NAN, &res, NULL), GSL_EDOM);
  mod.eta = 1.0;
  EXPECT_ERR(dpm_analytic_elbo(sch, &mod, DPM_VAR_OPT, 3, ok, NAN, NAN, NULL, NULL), GSL_EINVAL);
  EXPECT_ERR(dpm_analytic_elbo(sch, &mod, DPM_VAR_OPT, 3, bad2, NAN, NAN, &res, NULL), GSL_EINVAL);
  mod.d = 0;
  EXPECT_ERR(dpm_analytic_elbo(sch, &mod, DPM_VAR_OPT, 3, ok, NAN, NAN, &res, NULL), GSL_EINVAL);
  mod.d = 1;
  dpm_analytic_table tab;
  memset(&tab, 0, sizeof tab);
  EXPECT_ERR(dpm_analytic_table_fill(NULL, &mod, &tab), GSL_EINVAL);
  mod.gamma = NULL;
  EXPECT_ERR(dpm_analytic_table_fill(sch, &mod, &tab), GSL_EINVAL);
  /* DP */
  EXPECT_NULL(dpm_analytic_dp_alloc(20, 1));
  EXPECT_NULL(dpm_analytic_dp_alloc(20, 21));
  dpm_analytic_dp *dp = dpm_analytic_dp_alloc(10, 3);
  size_t tau[5];
  EXPECT_ERR(dpm_analytic_dp_solve(dp, sch, g, DPM_COST_J, 3, tau, NULL), GSL_EBADLEN);
  dpm_analytic_dp_free(dp);
  dp = dpm_analytic_dp_alloc(20, 5);
  EXPECT_ERR(dpm_analytic_dp_solve(dp, sch, NULL, DPM_COST_J, 3, tau, NULL), GSL_EINVAL);
  EXPECT_ERR(dpm_analytic_dp_solve(dp, sch, g, (dpm_cost_kind)5, 3, tau, NULL), GSL_EINVAL);
  EXPECT_ERR(dpm_analytic_dp_solve(dp, sch, g, DPM_COST_J, 1, tau, NULL), GSL_EINVAL);
  g[7] = NAN;
  EXPECT_ERR(dpm_analytic_dp_solve(dp, sch, g, DPM_COST_J, 3, tau, NULL), GSL_EDOM);
  g[7] = 0.5;
  assert_int_equal(dpm_analytic_dp_solve(dp, sch, g, DPM_COST_J, 3, tau, NULL), 0);
  dpm_analytic_dp_free(dp);
  dpm_analytic_dp_free(NULL);
  EXPECT_ERR(dpm_analytic_trajectory(sch, g, "random", 3, tau, NULL), GSL_EINVAL);
  EXPECT_ERR(dpm_analytic_trajectory(sch, NULL, "dp", 3, tau, NULL), GSL_EINVAL);
  EXPECT_ERR(dpm_analytic_trajectory(sch, g, "dp", 1, tau, NULL), GSL_EINVAL);
  double cum[3];
  EXPECT_ERR(dpm_analytic_trajectory(sch, NULL, "even", 3, tau, cum), GSL_EINVAL);
  assert_int_equal(dpm_analytic_trajectory(sch, NULL, "even", 3, tau, NULL), 0);
  EXPECT_ERR(dpm_analytic_trajectory(sch, g, "even", 30, tau, NULL), GSL_EINVAL);
  /* entropy */
  double H, He;
  EXPECT_ERR(dpm_mixture_entropy(ps, &H, &He), GSL_EDOM);
  EXPECT_ERR(dpm_mixture_entropy_mc(ps, 100, 0, &H, &He), GSL_EDOM);
  EXPECT_ERR(dpm_mixture_entropy_quad(g3, 1e-8, &H, &He), GSL_EINVAL);
  EXPECT_ERR(dpm_mixture_entropy_mc(mix, 1, 0, &H, &He), GSL_EINVAL);
  EXPECT_ERR(dpm_mixture_entropy(NULL, &H, &He), GSL_EINVAL);
  /* diagonal variance and samplers */
  dpm_oracle *o = dpm_oracle_alloc(mix);
  double x[4] = {0.1, 0.2, 0.3, 0.4}, out[4];
  EXPECT_ERR(dpm_analytic_diag_sigma2(NULL, sch, 1, 2, 1.0, 4, x, out), GSL_EINVAL);
  EXPECT_ERR(dpm_analytic_diag_sigma2(o, sch, 2, 2, 1.0, 4, x, out), GSL_EINVAL);
  x[2] = NAN;
  EXPECT_ERR(dpm_analytic_diag_sigma2(o, sch, 1, 2, 1.0, 4, x, out), GSL_EBADFUNC);
  x[2] = 0.3;
  EXPECT_NULL(dpm_sampler_analytic_alloc(0, 10));
  EXPECT_NULL(dpm_sampler_analytic_alloc(1, 0));
  dpm_sampler_analytic *sw = dpm_sampler_analytic_alloc(1, 4);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(1, 1);
  double sig[3] = {0.01, 0.01, 0.01};
  dpm_sampler_analytic_opts opts = {1.0, sig, 0, NULL};
  assert_int_equal(dpm_sampler_analytic_run(sw, dn, sch, 3, ok, &opts, 4, x, r), 0);
  EXPECT_ERR(dpm_sampler_analytic_run(sw, dn, sch, 3, ok, &opts, 5, x, r), GSL_EBADLEN);
  EXPECT_ERR(dpm_sampler_analytic_run(sw, d3, sch, 3, ok, &opts, 4, x, r), GSL_EBADLEN);
  EXPECT_ERR(dpm_sampler_analytic_run(sw, NULL, sch, 3, ok, &opts, 4, x, r), GSL_EINVAL);
  EXPECT_ERR(dpm_sampler_analytic_run(sw, dn, sch, 3, bad1, &opts, 4, x, r), GSL_EINVAL);
  EXPECT_ERR(dpm_sampler_analytic_run(sw, dn, sch, 3, ok, &opts, 4, x, NULL), GSL_EINVAL);
  sig[1] = -1.0;
  EXPECT_ERR(dpm_sampler_analytic_run(sw, dn, sch, 3, ok, &opts, 4, x, r), GSL_EDOM);
  sig[1] = NAN;
  EXPECT_ERR(dpm_sampler_analytic_run(sw, dn, sch, 3, ok, &opts, 4, x, r), GSL_EDOM);
  sig[1] = 0.01;
  opts.sigma2 = NULL;
  EXPECT_ERR(dpm_sampler_analytic_run(sw, dn, sch, 3, ok, &opts, 4, x, r), GSL_EINVAL);
  opts.sigma2 = sig;
  opts.eta = -1.0;
  EXPECT_ERR(dpm_sampler_analytic_run(sw, dn, sch, 3, ok, &opts, 4, x, r), GSL_EDOM);
  opts.eta = 1.0;
  opts.start_mix = g3;
  EXPECT_ERR(dpm_sampler_analytic_run(sw, dn, sch, 3, ok, &opts, 4, x, r), GSL_EBADLEN);
  opts.start_mix = NULL;
  EXPECT_ERR(dpm_sampler_analytic_diag_run(sw, NULL, sch, 3, ok, &opts, 4, x, r), GSL_EINVAL);
  dpm_oracle *o3 = dpm_oracle_alloc(g3);
  EXPECT_ERR(dpm_sampler_analytic_diag_run(sw, o3, sch, 3, ok, &opts, 4, x, r), GSL_EBADLEN);
  dpm_oracle_free(o3);
  dpm_sampler_analytic_free(sw);
  dpm_sampler_analytic_free(NULL);
  /* imperfect denoisers */
  EXPECT_NULL(dpm_denoiser_relerr_alloc(NULL, 0.1, 0));
  EXPECT_NULL(dpm_denoiser_relerr_alloc(dn, -0.1, 0));
  EXPECT_NULL(dpm_denoiser_relerr_alloc(dn, NAN, 0));
  EXPECT_NULL(dpm_denoiser_scaled_alloc(NULL, 1.0));
  EXPECT_NULL(dpm_denoiser_scaled_alloc(dn, HUGE_VAL));
  EXPECT_NULL(dpm_denoiser_memorise_alloc(NULL, 5, r));
  EXPECT_NULL(dpm_denoiser_memorise_alloc(mix, 5, NULL));
  EXPECT_NULL(dpm_denoiser_memorise_alloc(mix, 0, r));
  assert_null(dpm_denoiser_memorise_points(NULL));
  /* errors of the inner denoiser propagate through the wrappers */
  dpm_denoiser *sc = dpm_denoiser_scaled_alloc(dn, 2.0), *re = dpm_denoiser_relerr_alloc(dn, 0.1, 0);
  assert_int_equal(dpm_denoiser_eval(sc, 1.0, 0.5, 4, x, out, NULL, NULL), 0);
  x[1] = HUGE_VAL;
  EXPECT_ERR(dpm_denoiser_eval(sc, 1.0, 0.5, 4, x, out, NULL, NULL), GSL_EBADFUNC);
  EXPECT_ERR(dpm_denoiser_eval(re, 1.0, 0.5, 4, x, NULL, out, NULL), GSL_EBADFUNC);
  dpm_denoiser_free(sc);
  dpm_denoiser_free(re);
  gsl_rng_free(r);
  dpm_denoiser_free(dn);
  dpm_denoiser_free(d3);
  dpm_oracle_free(o);
  dpm_schedule_free(sch);
  dpm_mixture_free(g3);
  dpm_mixture_free(ps);
  dpm_mixture_free(mix);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sigma2_formulas_and_bounds),
      cmocka_unit_test(test_subsequence_equals_per_step),
      cmocka_unit_test(test_opt_variance_minimises_term),
      cmocka_unit_test(test_gamma_quad_gaussian_closed_form),
      cmocka_unit_test(test_gamma_mc_vs_quad),
      cmocka_unit_test(test_quad_vs_gauss_legendre),
      cmocka_unit_test(test_gamma_quad_schedule_route),
      cmocka_unit_test(test_x0_error_identity),
      cmocka_unit_test(test_dp_vs_brute_force),
      cmocka_unit_test(test_trajectory_elbo_consistency),
      cmocka_unit_test(test_elbo_gaussian_exact),
      cmocka_unit_test(test_elbo_bounds_entropy),
      cmocka_unit_test(test_box_bound),
      cmocka_unit_test(test_imperfect_denoisers),
      cmocka_unit_test(test_diag_variance),
      cmocka_unit_test(test_samplers_gaussian_exact),
      cmocka_unit_test(test_samplers_ks),
      cmocka_unit_test(test_variance_choices),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests_name("analytic", tests, NULL, NULL);
}
