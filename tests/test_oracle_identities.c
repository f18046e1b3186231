/* test_oracle_identities.c — identities the closed-form oracle (docs/MATH.md §2) must satisfy: finite
 * differences of log q_t and of the score, class posteriors and their gradients, Tweedie's formula, the VP<->VE
 * change of variables (docs/MATH.md §1), self-normalised Monte Carlo over the prior, and
 * E tr Cov[eps|x] = d - E|E[eps|x]|^2. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "test_oracle_common.h"

/* ---- finite differences
 * ------------------------------------------------------------------------------------------ */

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
  dpm_mixture *mix = dpm_test_mixture_kinds();
  dpm_oracle *orc = dpm_test_oracle(mix);
  const size_t d = 3, n = 5;
  const double m = 0.8, s = 0.6, h1 = 1e-3, h2 = 5e-3;
  double x[5 * 3];
  gsl_rng *r = dpm_rng_stream_alloc(13, 0);
  dpm_test_sample_qt(mix, r, m, s, n, x, NULL, NULL);
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
  dpm_mixture *mix = dpm_test_mixture_kinds();
  dpm_oracle *orc = dpm_test_oracle(mix);
  const size_t d = 3, n = 4, L = 3, K = 5;
  const double m = 0.9, s = 0.5, h = 1e-3;
  double x[4 * 3], post[4 * 3], grad[3][4 * 3], resp[4 * 5];
  gsl_rng *r = dpm_rng_stream_alloc(14, 0);
  dpm_test_sample_qt(mix, r, m, s, n, x, NULL, NULL);
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

/* ---- identities
 * -------------------------------------------------------------------------------------------------- */

/* Tweedie: E[x0|x] = (x + s^2 score)/m and E[eps|x] = (x - m E[x0|x])/s = -s score, at moderate s where the
 * right-hand sides do not cancel. Rounding bound: each side carries relative error <= 16 (K + d) u of the
 * magnitudes it combines. */
static void test_tweedie(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture_kinds();
  dpm_oracle *orc = dpm_test_oracle(mix);
  const size_t d = 3, n = 50, K = 5;
  double x[50 * 3];
  gsl_rng *r = dpm_rng_stream_alloc(15, 0);
  full_out o;
  out_alloc(&o, n, mix);
  const double ms[3][2] = {{1.0, 1.0}, {0.5, 0.8}, {0.95, 0.3}};
  for (int c = 0; c < 3; c++) {
    const double m = ms[c][0], s = ms[c][1], tol = 16.0 * (double)(K + d) * EPSU;
    dpm_test_sample_qt(mix, r, m, s, n, x, NULL, NULL);
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
  dpm_mixture *mix = dpm_test_mixture_kinds();
  dpm_oracle *orc = dpm_test_oracle(mix);
  const size_t d = 3, n = 20, K = 5;
  const double m = 0.7, s = 0.45, tol = 64.0 * (double)(K + d) * EPSU;
  double x[20 * 3], xh[20 * 3];
  gsl_rng *r = dpm_rng_stream_alloc(16, 0);
  dpm_test_sample_qt(mix, r, m, s, n, x, NULL, NULL);
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

/* ---- Monte Carlo
 * ------------------------------------------------------------------------------------------------- */

/* Self-normalised importance sampling over the prior: x0_j ~ q_0, weights w_j = N(x; m x0_j, s^2 I). For each
 * f, E[f(x0)|x] ~ sum w f / sum w, with the delta-method standard error se^2 = sum w_j^2 (f_j - est)^2 / (sum
 * w)^2. Checked: E[x0|x] and, with c the oracle's mean, E[(x0 - c)(x0 - c)^T | x] = Cov[x0|x] (+ (mean - c)(mean -
 * c)^T, which is O(se^2) when the mean is right), within 5 standard errors. */
static void test_posterior_monte_carlo(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture_kinds();
  dpm_oracle *orc = dpm_test_oracle(mix);
  const size_t d = 3, N = 400000, n = 3;
  const double m = 0.8, s = 1.0;
  gsl_rng *r = dpm_rng_stream_alloc(31, 0);
  double *x0s = malloc(N * d * sizeof(double)), *lw = malloc(N * sizeof(double)), *w = malloc(N * sizeof(double));
  dpm_test_sample_q0(mix, r, N, x0s, NULL);
  double x[3 * 3];
  dpm_test_sample_qt(mix, r, m, s, n, x, NULL, NULL);
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
  dpm_mixture *mix = dpm_test_mixture_kinds();
  dpm_oracle *orc = dpm_test_oracle(mix);
  const size_t d = 3, N = 40000;
  gsl_rng *r = dpm_rng_stream_alloc(32, 0);
  double *x = malloc(N * d * sizeof(double)), *eps = malloc(N * d * sizeof(double)),
         *tr = malloc(N * sizeof(double));
  double *diff = malloc(N * sizeof(double));
  const double ms[3][2] = {{0.9, 0.4}, {0.6, 0.8}, {0.2, 1.0}};
  for (int c = 0; c < 3; c++) {
    const double m = ms[c][0], s = ms[c][1];
    dpm_test_sample_qt(mix, r, m, s, N, x, NULL, NULL);
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

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_finite_differences),
      cmocka_unit_test(test_class_posterior),
      cmocka_unit_test(test_tweedie),
      cmocka_unit_test(test_vp_ve),
      cmocka_unit_test(test_posterior_monte_carlo),
      cmocka_unit_test(test_eps_variance_identity),
  };
  return cmocka_run_group_tests_name("oracle_identities", tests, NULL, NULL);
}
