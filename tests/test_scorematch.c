/* test_scorematch.c — the score-matching identities of docs/MATH.md §4.4 against independent routes: DSM - SM =
 * d/s^2 and SSM - SM = 0 within k standard errors on common random numbers; Fisher - SM = d Gamma/s^2 and DSM -
 * Fisher = d (1 - Gamma)/s^2 with Gamma by cubature (the DDPM simple-loss constant); the Fisher identity by
 * importance sampling; the finite-difference fallbacks and the linear features' derivatives against exact ones
 * with the h/2h error bound; exact least squares recovering an affine true score to solver precision, and the DSM
 * fit within its sampling error; the model file bit for bit; the same bits for 1 and 2 threads; the errors; the
 * learnable-means mixture fitted to the exact score to the simplex tolerance and by DSM within its replica error.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>

#include "dpmlab.h"
#include "dpm_scorematch.h"
#include "testutil.h"

/* k standard errors for every Monte Carlo check (two-sided false-alarm probability 6e-5 each) */
#define KSE 4.0

static double gamma_quad(const dpm_mixture *mix, double m, double s)
{
  dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mix, 1e-10);
  assert_non_null(q);
  double g = NAN, err = NAN;
  assert_int_equal(dpm_analytic_gamma_quad_eval(q, m, s, &g, &err), DPM_SUCCESS);
  dpm_analytic_gamma_quad_free(q);
  return g;
}

/* Check every identity for one model at (m, s); Gamma by cubature, an independent route. */
static void check_identities(const dpm_mixture *mix, dpm_sm_model *md, double m, double s, size_t M, uint64_t seed,
                             double gamma)
{
  dpm_sm_objectives o;
  assert_int_equal(dpm_sm_objectives_eval(mix, md, m, s, M, seed, &o), DPM_SUCCESS);
  const double d = (double)mix->d;
  assert_within_se(o.dsm_minus_sm, o.dsm_minus_sm_se, d / (s * s), KSE);
  assert_within_se(o.ssm_minus_sm, o.ssm_minus_sm_se, 0.0, KSE);
  assert_within_se(o.fisher_minus_sm, o.fisher_minus_sm_se, d * gamma / (s * s), KSE);
  assert_within_se(o.dsm_minus_fisher, o.dsm_minus_fisher_se, d * (1.0 - gamma) / (s * s), KSE);
  assert_within_se(o.score2, o.score2_se, d * gamma / (s * s), KSE);
  /* the DDPM simple loss E|eps_theta - eps|^2 = s^2 dsm, and its gap to s^2 fisher is d (1 - Gamma) */
  assert_within_se(s * s * o.dsm_minus_fisher, s * s * o.dsm_minus_fisher_se, d * (1.0 - gamma), KSE);
  assert_true(o.fisher >= 0.0 && o.dsm >= o.dsm_minus_fisher - KSE * o.dsm_minus_fisher_se);
}

static void test_identities(void **state)
{
  (void)state;
  const char *specs[] = {"gmm1d", "ring8"};
  const double ms[][2] = {{0.9, 0.45}, {0.6, 0.8}};
  for (int a = 0; a < 2; a++) {
    dpm_mixture *mix = dpm_test_mixture(specs[a]);
    for (int b = 0; b < 2; b++) {
      const double m = ms[b][0], s = ms[b][1], gamma = gamma_quad(mix, m, s);
      dpm_sm_model *models[3] = {dpm_sm_model_perturbed_alloc(mix, 0.4, 0.8), dpm_sm_model_mixture_alloc(mix),
                                 NULL};
      dpm_sm_linear *L = dpm_sm_linear_alloc_for(DPM_SM_BASIS_RFF, 12, 0.7, 3, mix, 1, NULL);
      assert_non_null(L);
      double *th = dpm_sm_linear_theta(L);
      for (size_t i = 0; i < dpm_sm_linear_nfeatures(L) * mix->d; i++)
        th[i] = 0.3 * sin(1.0 + (double)i); /* an arbitrary model: the identities hold for every theta */
      models[2] = dpm_sm_linear_model_alloc(L);
      for (int k = 0; k < 3; k++) {
        assert_non_null(models[k]);
        check_identities(mix, models[k], m, s, 20000, 11 + (uint64_t)k, gamma);
        dpm_sm_model_free(models[k]);
      }
      dpm_sm_linear_free(L);
    }
    dpm_mixture_free(mix);
  }
}

/* The exact model: Fisher divergence 0 to rounding, and SM = -E|grad log q|^2 (its minimum). */
static void test_exact_model(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("ring8");
  dpm_sm_model *md = dpm_sm_model_mixture_alloc(mix);
  dpm_sm_objectives o;
  assert_int_equal(dpm_sm_objectives_eval(mix, md, 0.8, 0.6, 4000, 5, &o), DPM_SUCCESS);
  assert_true(o.fisher == 0.0);
  const double gamma = gamma_quad(mix, 0.8, 0.6);
  assert_within_se(o.sm, o.sm_se, -2.0 * gamma / (0.6 * 0.6), KSE);
  /* the denoiser view returns the oracle's eps */
  dpm_denoiser *dn = dpm_sm_model_denoiser_alloc(md, 0), *ex = dpm_denoiser_oracle_alloc(mix);
  double x[6] = {0.3, -1.0, 2.5, 0.1, -3.0, -2.0}, e1[6], e2[6];
  assert_int_equal(dpm_denoiser_eval(dn, 0.8, 0.6, 3, x, e1, NULL, NULL), DPM_SUCCESS);
  assert_int_equal(dpm_denoiser_eval(ex, 0.8, 0.6, 3, x, e2, NULL, NULL), DPM_SUCCESS);
  for (int i = 0; i < 6; i++)
    assert_close(e1[i], e2[i], 4 * DBL_EPSILON, 4 * DBL_EPSILON);
  dpm_denoiser_free(dn);
  dpm_denoiser_free(ex);
  dpm_sm_model_free(md);
  dpm_mixture_free(mix);
}

/* The Fisher identity grad log q_t(x) = E[grad log q(x | x_0) | x] = E[-(x - m x_0)/s^2 | x] by self-normalised
 * importance sampling over x_0 ~ q_0 with weights N(x; m x_0, s^2 I), against the oracle's score; the delta-method
 * standard error of the ratio. */
static void test_fisher_identity(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("ring8");
  dpm_oracle *o = dpm_test_oracle(mix);
  const double m = 0.9, s = 0.7, x[2] = {1.5, 2.0};
  enum { N = 200000 };
  double *x0 = malloc(2 * N * sizeof *x0);
  gsl_rng *r = dpm_rng_stream_alloc(21, 0);
  dpm_test_sample_q0(mix, r, N, x0, NULL);
  double sw = 0, sw2 = 0, sf[2] = {0}, sf2[2] = {0}, swf[2] = {0};
  for (size_t i = 0; i < N; i++) {
    const double dx = x[0] - m * x0[2 * i], dy = x[1] - m * x0[2 * i + 1];
    const double w = exp(-(dx * dx + dy * dy) / (2 * s * s));
    const double f[2] = {-dx / (s * s), -dy / (s * s)};
    sw += w;
    sw2 += w * w;
    for (int j = 0; j < 2; j++) {
      sf[j] += w * f[j];
      sf2[j] += w * f[j] * w * f[j];
      swf[j] += w * w * f[j];
    }
  }
  double score[2];
  dpm_oracle_result res = {.score = score};
  assert_int_equal(dpm_oracle_eval(o, m, s, 1, x, &res), DPM_SUCCESS);
  for (int j = 0; j < 2; j++) {
    const double R = sf[j] / sw, mw = sw / N;
    /* Var(R) ~ E[(w f - R w)^2] / (N E[w]^2) */
    const double v = (sf2[j] - 2 * R * swf[j] + R * R * sw2) / N / (mw * mw) / N;
    assert_within_se(R, sqrt(v), score[j], KSE);
  }
  gsl_rng_free(r);
  free(x0);
  dpm_oracle_free(o);
  dpm_mixture_free(mix);
}

/* A model with only a score op, to exercise the finite-difference fallbacks. */
static int only_score(dpm_sm_model *md, double m, double s, size_t n, const double *x, double *score)
{
  return dpm_sm_model_score(md->state, m, s, n, x, score);
}
static const dpm_sm_model_type only_score_type = {"score-only", only_score, NULL, NULL, NULL};

/* Central differences against the exact divergence and Jacobian: the error at step h is bounded by the
 * difference between the steps h and 2h (error ~ h^2, so |D_h - exact| ~ |D_2h - D_h|/3), plus rounding
 * 64 eps max|score| / h. */
static void test_fd_fallbacks(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("ring8");
  dpm_sm_model *ex = dpm_sm_model_perturbed_alloc(mix, 0.2, 0.3);
  dpm_sm_model *fd = dpm_sm_model_alloc(&only_score_type, ex, 2);
  assert_false(dpm_sm_model_has_div(fd));
  enum { N = 16 };
  double x[2 * N], v[2 * N], div[N], div_h[N], div_2h[N], jv[2 * N], jv_h[2 * N], jv_2h[2 * N], sc[2 * N];
  gsl_rng *r = dpm_rng_stream_alloc(2, 0);
  for (int i = 0; i < 2 * N; i++) {
    x[i] = gsl_ran_gaussian(r, 3.0);
    v[i] = gsl_ran_gaussian(r, 1.0);
  }
  const double m = 0.9, s = 0.5;
  assert_int_equal(dpm_sm_model_div(ex, m, s, N, x, div), DPM_SUCCESS);
  assert_int_equal(dpm_sm_model_jvp(ex, m, s, N, x, v, jv), DPM_SUCCESS);
  assert_int_equal(dpm_sm_model_score(ex, m, s, N, x, sc), DPM_SUCCESS);
  assert_int_equal(dpm_sm_model_div(fd, m, s, N, x, div_h), DPM_SUCCESS);
  assert_int_equal(dpm_sm_model_jvp(fd, m, s, N, x, v, jv_h), DPM_SUCCESS);
  fd->fd_rel *= 2;
  assert_int_equal(dpm_sm_model_div(fd, m, s, N, x, div_2h), DPM_SUCCESS);
  assert_int_equal(dpm_sm_model_jvp(fd, m, s, N, x, v, jv_2h), DPM_SUCCESS);
  double smax = 0;
  for (int i = 0; i < 2 * N; i++)
    smax = fmax(smax, fabs(sc[i]) * (1 + fabs(v[i])));
  const double round = 64 * DBL_EPSILON * smax / (1e-4 * s);
  for (int i = 0; i < N; i++)
    assert_close(div_h[i], div[i], 0.0, fabs(div_2h[i] - div_h[i]) + round);
  for (int i = 0; i < 2 * N; i++)
    assert_close(jv_h[i], jv[i], 0.0, fabs(jv_2h[i] - jv_h[i]) + round);
  gsl_rng_free(r);
  dpm_sm_model_free(fd); /* its state (ex) is not owned: no free op */
  dpm_sm_model_free(ex);
  dpm_mixture_free(mix);
}

/* The linear model's exact divergence and Jacobian against its own central differences, for every basis in d = 3.
 */
static void test_linear_derivatives(void **state)
{
  (void)state;
  const double mu[3] = {0.5, -1.0, 0.2};
  const dpm_sm_basis_kind kinds[3] = {DPM_SM_BASIS_POLY, DPM_SM_BASIS_RFF, DPM_SM_BASIS_BUMP};
  const size_t sizes[3] = {3, 20, 20};
  for (int k = 0; k < 3; k++) {
    dpm_sm_linear *L = dpm_sm_linear_alloc(kinds[k], sizes[k], 0.8, 4, 3, mu, 1.3, 1, NULL);
    assert_non_null(L);
    if (kinds[k] == DPM_SM_BASIS_POLY) assert_int_equal(dpm_sm_linear_nfeatures(L), 20); /* C(6, 3) */
    double *th = dpm_sm_linear_theta(L);
    for (size_t i = 0; i < dpm_sm_linear_nfeatures(L) * 3; i++)
      th[i] = cos(0.7 * (double)i);
    dpm_sm_model *ex = dpm_sm_linear_model_alloc(L);
    dpm_sm_model *fd = dpm_sm_model_alloc(&only_score_type, ex, 3);
    enum { N = 8 };
    double x[3 * N], v[3 * N], div[N], dh[N], d2h[N], jv[3 * N], jh[3 * N], j2h[3 * N], sc[3 * N];
    gsl_rng *r = dpm_rng_stream_alloc(6, (uint64_t)k);
    for (int i = 0; i < 3 * N; i++) {
      x[i] = gsl_ran_gaussian(r, 1.5);
      v[i] = gsl_ran_gaussian(r, 1.0);
    }
    const double m = 0.7, s = 0.9;
    assert_int_equal(dpm_sm_model_div(ex, m, s, N, x, div), DPM_SUCCESS);
    assert_int_equal(dpm_sm_model_jvp(ex, m, s, N, x, v, jv), DPM_SUCCESS);
    assert_int_equal(dpm_sm_model_score(ex, m, s, N, x, sc), DPM_SUCCESS);
    assert_int_equal(dpm_sm_model_div(fd, m, s, N, x, dh), DPM_SUCCESS);
    assert_int_equal(dpm_sm_model_jvp(fd, m, s, N, x, v, jh), DPM_SUCCESS);
    fd->fd_rel *= 2;
    assert_int_equal(dpm_sm_model_div(fd, m, s, N, x, d2h), DPM_SUCCESS);
    assert_int_equal(dpm_sm_model_jvp(fd, m, s, N, x, v, j2h), DPM_SUCCESS);
    double smax = 0;
    for (int i = 0; i < 3 * N; i++)
      smax = fmax(smax, fabs(sc[i]) * (1 + fabs(v[i])));
    const double round = 64 * DBL_EPSILON * smax * (double)dpm_sm_linear_nfeatures(L) / (1e-4 * s);
    for (int i = 0; i < N; i++)
      assert_close(dh[i], div[i], 0.0, fabs(d2h[i] - dh[i]) + round);
    for (int i = 0; i < 3 * N; i++)
      assert_close(jh[i], jv[i], 0.0, fabs(j2h[i] - jh[i]) + round);
    gsl_rng_free(r);
    dpm_sm_model_free(fd);
    dpm_sm_model_free(ex);
    dpm_sm_linear_free(L);
  }
}

/* A Gaussian N(mu, diag var) has the affine score -(x - m mu)_i/(m^2 var_i + s^2): a degree-1 polynomial basis
 * contains it. Least squares on the oracle's E[eps|x] leaves a zero residual, so the fit recovers the score to the
 * solver's precision; the DSM fit (target eps) recovers it within its sampling error: the LS estimate has
 * covariance Var(eps|x) G^{-1}/M with G -> E[phi phi^T], so the prediction error at z has standard deviation
 * sqrt(c_i phi(z)^T G^{-1} phi(z)/M), c_i = m^2 var_i/(m^2 var_i + s^2). */
static void test_exact_training(void **state)
{
  (void)state;
  const double mu[2] = {1.0, -0.5}, var[2] = {0.5, 2.0}, m = 0.8, s = 0.6;
  dpm_mixture *mix = dpm_test_gauss(2, mu, var);
  dpm_oracle *o = dpm_test_oracle(mix);
  const double xt[6] = {0.0, 0.0, 2.0, -1.5, -1.0, 3.0};
  double sc_true[6], sc[6];
  dpm_oracle_result res = {.score = sc_true};
  assert_int_equal(dpm_oracle_eval(o, m, s, 3, xt, &res), DPM_SUCCESS);
  dpm_sm_linear *L = dpm_sm_linear_alloc_for(DPM_SM_BASIS_POLY, 1, 0.0, 0, mix, 1, NULL);
  dpm_sm_model *md = dpm_sm_linear_model_alloc(L);
  double resid = NAN;
  assert_int_equal(dpm_sm_linear_fit_level(L, mix, m, s, DPM_SM_TARGET_ORACLE, 5000, 1, 0.0, &resid), DPM_SUCCESS);
  assert_true(resid < 1e-20);
  assert_int_equal(dpm_sm_model_score(md, m, s, 3, xt, sc), DPM_SUCCESS);
  for (int i = 0; i < 6; i++)
    assert_close(sc[i], sc_true[i], 1e-12, 1e-12);
  /* DSM target */
  const size_t M = 40000;
  assert_int_equal(dpm_sm_linear_fit_level(L, mix, m, s, DPM_SM_TARGET_DSM, M, 2, 0.0, &resid), DPM_SUCCESS);
  assert_int_equal(dpm_sm_model_score(md, m, s, 3, xt, sc), DPM_SUCCESS);
  double phi[9], mean[2], cov[4];
  assert_int_equal(dpm_sm_linear_features(L, m, s, 3, xt, phi, NULL), DPM_SUCCESS);
  dpm_mixture_moments(mix, mean, cov, NULL);
  const double vbar = 0.5 * (cov[0] + cov[3]), r2 = m * m * vbar + s * s;
  for (int p = 0; p < 3; p++)
    for (int i = 0; i < 2; i++) {
      /* G = E[phi phi^T] for phi = (1, z): diag(1, (m^2 var_j + s^2)/r^2) */
      double q = 1.0;
      for (int j = 0; j < 2; j++)
        q += phi[p * 3 + 1 + j] * phi[p * 3 + 1 + j] * r2 / (m * m * var[j] + s * s);
      const double c = m * m * var[i] / (m * m * var[i] + s * s), sd_eps = sqrt(c * q / (double)M);
      assert_within_se(-s * sc[p * 2 + i], sd_eps, -s * sc_true[p * 2 + i], KSE);
    }
  /* the fitted residual per coordinate estimates E Var(eps|x) = mean of c_i */
  const double cbar =
      0.5 * (m * m * var[0] / (m * m * var[0] + s * s) + m * m * var[1] / (m * m * var[1] + s * s));
  assert_close(resid, cbar, 0.05, 0.0);
  dpm_sm_model_free(md);
  dpm_sm_linear_free(L);
  dpm_oracle_free(o);
  dpm_mixture_free(mix);
}

/* Same bits for 1 and 2 threads (objectives and fits); the model file round trip is bit for bit. */
static void test_threads_and_file(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("ring8");
  dpm_sm_linear *L = dpm_sm_linear_alloc_for(DPM_SM_BASIS_BUMP, 30, 0.6, 9, mix, 1, NULL);
  dpm_sm_model *md = dpm_sm_linear_model_alloc(L);
  dpm_sm_objectives o1, o2;
  const int nt = omp_get_max_threads();
  double th1[33 * 2];
  omp_set_num_threads(1);
  assert_int_equal(dpm_sm_linear_fit_level(L, mix, 0.8, 0.5, DPM_SM_TARGET_DSM, 3000, 3, 1e-8, NULL), 0);
  memcpy(th1, dpm_sm_linear_theta(L), sizeof th1);
  assert_int_equal(dpm_sm_objectives_eval(mix, md, 0.8, 0.5, 3000, 4, &o1), DPM_SUCCESS);
  omp_set_num_threads(2);
  assert_int_equal(dpm_sm_linear_fit_level(L, mix, 0.8, 0.5, DPM_SM_TARGET_DSM, 3000, 3, 1e-8, NULL), 0);
  assert_memory_equal(th1, dpm_sm_linear_theta(L), sizeof th1);
  assert_int_equal(dpm_sm_objectives_eval(mix, md, 0.8, 0.5, 3000, 4, &o2), DPM_SUCCESS);
  omp_set_num_threads(nt);
  assert_memory_equal(&o1, &o2, sizeof o1);
  /* file round trip */
  char path[] = "/tmp/dpm_sm_modelXXXXXX";
  int fdsc = mkstemp(path);
  assert_true(fdsc >= 0);
  FILE *fp = fdopen(fdsc, "w");
  assert_int_equal(dpm_sm_linear_write(L, "vp", "sigma2", fp), DPM_SUCCESS);
  fclose(fp);
  dpm_sm_linear *L2 = dpm_sm_linear_read(path);
  assert_non_null(L2);
  assert_memory_equal(dpm_sm_linear_theta(L2), th1, sizeof th1);
  dpm_sm_model *md2 = dpm_sm_linear_model_alloc(L2);
  const double x[4] = {0.3, 1.0, -2.0, 0.5};
  double a[4], b[4];
  assert_int_equal(dpm_sm_model_score(md, 0.8, 0.5, 2, x, a), DPM_SUCCESS);
  assert_int_equal(dpm_sm_model_score(md2, 0.8, 0.5, 2, x, b), DPM_SUCCESS);
  assert_memory_equal(a, b, sizeof a);
  dpm_denoiser *dn = dpm_sm_denoiser_load(path, 2);
  assert_non_null(dn);
  double eps[4];
  assert_int_equal(dpm_denoiser_eval(dn, 0.8, 0.5, 2, x, eps, NULL, NULL), DPM_SUCCESS);
  for (int i = 0; i < 4; i++)
    assert_close(eps[i], -0.5 * a[i], 2 * DBL_EPSILON, 0.0);
  dpm_denoiser_free(dn);
  assert_raises_null(dpm_sm_denoiser_load(path, 3), "dimension");
  remove(path);
  dpm_sm_model_free(md2);
  dpm_sm_linear_free(L2);
  dpm_sm_model_free(md);
  dpm_sm_linear_free(L);
  dpm_mixture_free(mix);
}

static void test_errors(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("ring8"), *g1 = dpm_test_mixture("gmm1d");
  dpm_sm_model *md = dpm_sm_model_mixture_alloc(mix);
  dpm_sm_objectives o;
  assert_raises(dpm_sm_objectives_eval(mix, md, 0.8, 0.0, 100, 0, &o), GSL_EDOM, "s > 0");
  assert_raises(dpm_sm_objectives_eval(mix, md, NAN, 0.5, 100, 0, &o), GSL_EDOM, NULL);
  assert_raises(dpm_sm_objectives_eval(mix, md, 0.8, 0.5, 1, 0, &o), GSL_EINVAL, "M >= 2");
  assert_raises(dpm_sm_objectives_eval(g1, md, 0.8, 0.5, 100, 0, &o), GSL_EBADLEN, "dimension");
  assert_raises_null(dpm_sm_model_perturbed_alloc(mix, NAN, 0.0), "finite");
  dpm_sm_basis_kind k;
  assert_raises(dpm_sm_basis_parse("spline", &k), DPM_TEST_ANY_ERROR, "spline");
  dpm_sm_weighting w;
  assert_raises(dpm_sm_weighting_parse("nope", &w), DPM_TEST_ANY_ERROR, "nope");
  const double mu[2] = {0, 0};
  assert_raises_null(dpm_sm_linear_alloc(DPM_SM_BASIS_RFF, 0, 1.0, 0, 2, mu, 1.0, 1, NULL), "size");
  assert_raises_null(dpm_sm_linear_alloc(DPM_SM_BASIS_BUMP, 4, -1.0, 0, 2, mu, 1.0, 1, NULL), "width");
  assert_raises_null(dpm_sm_linear_alloc(DPM_SM_BASIS_POLY, 2, 0.0, 0, 2, mu, 0.0, 1, NULL), "variance");
  /* singular normal equations: more features than draws, no ridge */
  dpm_sm_linear *L = dpm_sm_linear_alloc_for(DPM_SM_BASIS_RFF, 50, 1.0, 0, mix, 1, NULL);
  assert_raises(dpm_sm_linear_fit_level(L, mix, 0.8, 0.5, DPM_SM_TARGET_DSM, 10, 0, 0.0, NULL), GSL_EDOM,
                "positive definite");
  assert_raises(dpm_sm_linear_fit_level(L, g1, 0.8, 0.5, DPM_SM_TARGET_DSM, 100, 0, 0.0, NULL), GSL_EBADLEN,
                "dimension");
  const char *bad = dpm_test_tmpfile(".json", "{\"format\": \"dpmlab-linear-score\", \"d\": 2}");
  assert_raises_null(dpm_sm_linear_read(bad), "size");
  assert_raises_null(dpm_sm_linear_read("/nonexistent/model.json"), "model.json");
  dpm_sm_linear_free(L);
  dpm_sm_model_free(md);
  dpm_mixture_free(g1);
  dpm_mixture_free(mix);
}

/* Model class (c), a mixture with learnable means: from means shifted by 0.6, the Fisher-divergence fit to the
 * exact score (zero at the true means) recovers them to the simplex tolerance; the DSM fit recovers them within
 * its sampling error, estimated from 6 replicas with independent draws (the replica mean within 4 of its standard
 * errors of the truth). */
static void test_mixture_fit(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d"), *init = dpm_mixture_clone(mix), *fit = NULL;
  for (size_t k = 0; k < 2; k++) {
    const double mu = mix->mu[k] + 0.6;
    assert_int_equal(dpm_mixture_set_mean(init, k, &mu), DPM_SUCCESS);
  }
  const double m = 0.8, s = 0.6;
  double loss = NAN;
  assert_int_equal(
      dpm_sm_mixture_fit_means(init, mix, m, s, DPM_SM_TARGET_ORACLE, 2000, 1, 0.3, 1e-9, 2000, &fit, &loss), 0);
  for (size_t k = 0; k < 2; k++)
    assert_close(fit->mu[k], mix->mu[k], 0.0, 1e-7);
  assert_true(loss < 1e-12);
  dpm_mixture_free(fit);
  double sum[2] = {0}, sum2[2] = {0};
  enum { R = 6 };
  for (int rep = 0; rep < R; rep++) {
    assert_int_equal(dpm_sm_mixture_fit_means(init, mix, m, s, DPM_SM_TARGET_DSM, 4000, 100 + (uint64_t)rep, 0.3,
                                              1e-7, 2000, &fit, NULL),
                     0);
    for (size_t k = 0; k < 2; k++) {
      sum[k] += fit->mu[k];
      sum2[k] += fit->mu[k] * fit->mu[k];
    }
    dpm_mixture_free(fit);
  }
  for (size_t k = 0; k < 2; k++) {
    const double mean = sum[k] / R, sd = sqrt((sum2[k] - R * mean * mean) / (R - 1));
    assert_within_se(mean, sd / sqrt((double)R), mix->mu[k], KSE);
    assert_true(fabs(mean - mix->mu[k]) < 0.1); /* and far closer than the 0.6 it started from */
  }
  assert_raises(dpm_sm_mixture_fit_means(init, mix, m, s, DPM_SM_TARGET_DSM, 1000, 1, 0.3, 1e-12, 3, &fit, NULL),
                GSL_EMAXITER, "simplex");
  dpm_mixture_free(fit);
  dpm_mixture *r8 = dpm_test_mixture("ring8");
  assert_raises(dpm_sm_mixture_fit_means(init, r8, m, s, DPM_SM_TARGET_DSM, 1000, 1, 0.3, 1e-6, 10, &fit, NULL),
                GSL_EBADLEN, "dimension");
  dpm_mixture_free(r8);
  dpm_mixture_free(init);
  dpm_mixture_free(mix);
}

/* Second-order DSM (Lu et al. 2022, trace form): a Gaussian N(mu, v I) in d = 2 has the constant Laplacian
 * -d/(m^2 v + s^2), in the span of the degree-0 polynomial. Fitted on the oracle's Laplacian it is recovered to
 * rounding; fitted on the DSM target r2 = (|eps|^2 - d)/s^2 - |grad log q_t|^2 the coefficient is the sample mean
 * of r2, within 4 of its standard errors (computed here from the same draws) of the truth. */
static void test_second_order(void **state)
{
  (void)state;
  const double mu[2] = {0.5, -1.0}, var[2] = {0.7, 0.7}, m = 0.9, s = 0.5;
  dpm_mixture *mix = dpm_test_gauss(2, mu, var);
  dpm_sm_linear *L = dpm_sm_linear_alloc_for(DPM_SM_BASIS_POLY, 0, 0.0, 0, mix, 1, NULL);
  assert_int_equal(dpm_sm_linear_nfeatures(L), 1);
  const double c = m * m * 0.7 + s * s, truth = -2.0 / c;
  double w = NAN, err = NAN, err_se = NAN;
  assert_int_equal(dpm_sm_second_order_fit(L, mix, m, s, DPM_SM_TARGET_ORACLE, 1000, 1, 0.0, &w, &err, &err_se),
                   0);
  assert_close(w, truth, 1e-13, 0.0);
  assert_true(err < 1e-24);
  enum { M = 20000 };
  assert_int_equal(dpm_sm_second_order_fit(L, mix, m, s, DPM_SM_TARGET_DSM, M, 2, 0.0, &w, &err, NULL), 0);
  /* the same draws as the fit (stream (2, b), blocks of 1024): the standard error of the mean of r2 */
  double *x = malloc(M * 2 * sizeof *x), *eps = malloc(M * 2 * sizeof *eps), *r2 = malloc(M * sizeof *r2);
  gsl_rng *r = dpm_rng_stream_alloc(2, 0);
  dpm_mixture_sample_workspace *sw = dpm_mixture_sample_alloc(mix);
  for (size_t b = 0, done = 0; done < M; b++) {
    const size_t n = M - done < 1024 ? M - done : 1024;
    dpm_rng_stream_set(r, 2, b);
    assert_int_equal(dpm_mixture_sample_t(mix, sw, r, m, s, n, x + 2 * done, NULL, eps + 2 * done), 0);
    done += n;
  }
  for (size_t i = 0; i < M; i++) {
    const double e2 = eps[2 * i] * eps[2 * i] + eps[2 * i + 1] * eps[2 * i + 1];
    const double g0 = (x[2 * i] - m * mu[0]) / c, g1 = (x[2 * i + 1] - m * mu[1]) / c;
    r2[i] = (e2 - 2.0) / (s * s) - (g0 * g0 + g1 * g1);
  }
  double mean, se;
  dpm_test_mean_se(r2, M, &mean, &se);
  assert_close(w, mean, 1e-12, 0.0);
  assert_within_se(w, se, truth, KSE);
  assert_close(err, (w - truth) * (w - truth), 1e-9, 0.0);
  dpm_mixture_sample_free(sw);
  gsl_rng_free(r);
  free(x);
  free(eps);
  free(r2);
  dpm_sm_linear_free(L);
  /* a richer basis on a mixture: many features, few draws, no ridge */
  dpm_mixture *r8 = dpm_test_mixture("ring8");
  L = dpm_sm_linear_alloc_for(DPM_SM_BASIS_RFF, 40, 0.5, 0, r8, 1, NULL);
  double w40[43];
  assert_raises(dpm_sm_second_order_fit(L, r8, m, s, DPM_SM_TARGET_DSM, 10, 0, 0.0, w40, NULL, NULL), GSL_EDOM,
                "positive definite");
  dpm_mixture *g1 = dpm_test_mixture("gmm1d");
  assert_raises(dpm_sm_second_order_fit(L, g1, m, s, DPM_SM_TARGET_DSM, 100, 0, 0.0, w40, NULL, NULL), GSL_EBADLEN,
                "dimension");
  dpm_mixture_free(g1);
  dpm_sm_linear_free(L);
  dpm_mixture_free(r8);
  dpm_mixture_free(mix);
}

/* The weighted integrals: with lambda = s_t^2 the gap DSM - Fisher integrates to int d (1 - Gamma_t) dt (the DDPM
 * simple loss's constant over t), with lambda = 1 the gap DSM - SM to int d/s_t^2 dt, each node of the
 * Gauss-Legendre rule computed independently here (Gamma by cubature, (m, s) from the process) and the Monte Carlo
 * integrals within 4 of their propagated standard errors; the weights themselves against the process's s and g. */
static void test_weighted_integrals(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, "vp"), DPM_SUCCESS);
  dpm_sm_model *md = dpm_sm_model_perturbed_alloc(mix, 0.3, 0.0);
  const double t0 = 0.05, t1 = 1.0;
  enum { NT = 6 };
  dpm_sm_objectives o2, o1;
  assert_int_equal(dpm_sm_objectives_integrate(mix, md, &p, DPM_SM_WEIGHT_SIGMA2, t0, t1, NT, 4000, 3, &o2), 0);
  assert_int_equal(dpm_sm_objectives_integrate(mix, md, &p, DPM_SM_WEIGHT_UNIFORM, t0, t1, NT, 4000, 3, &o1), 0);
  assert_int_equal(o2.M, NT * 4000);
  gsl_integration_glfixed_table *gl = gsl_integration_glfixed_table_alloc(NT);
  dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mix, 1e-10);
  double want2 = 0.0, want1 = 0.0;
  for (size_t j = 0; j < NT; j++) {
    double t, w, m, s, g, err;
    gsl_integration_glfixed_point(t0, t1, j, &t, &w, gl);
    assert_int_equal(dpm_process_ms(&p, t, &m, &s), DPM_SUCCESS);
    assert_int_equal(dpm_analytic_gamma_quad_eval(q, m, s, &g, &err), DPM_SUCCESS);
    want2 += w * (1.0 - g);
    want1 += w / (s * s);
    assert_close(dpm_sm_weighting_eval(DPM_SM_WEIGHT_SIGMA2, &p, t), s * s, 1e-15, 0.0);
    const double gg = dpm_process_g(&p, t);
    assert_close(dpm_sm_weighting_eval(DPM_SM_WEIGHT_LIKELIHOOD, &p, t), 0.5 * gg * gg, 1e-15, 0.0);
  }
  assert_within_se(o2.dsm_minus_fisher, o2.dsm_minus_fisher_se, want2, KSE);
  assert_within_se(o1.dsm_minus_sm, o1.dsm_minus_sm_se, want1, KSE);
  assert_raises(dpm_sm_objectives_integrate(mix, md, &p, DPM_SM_WEIGHT_SIGMA2, 0.5, 0.2, NT, 100, 0, &o1),
                GSL_EDOM, "t0");
  assert_true(isnan(dpm_sm_weighting_eval(DPM_SM_WEIGHT_SIGMA2, &p, 2.0)));
  gsl_integration_glfixed_table_free(gl);
  dpm_analytic_gamma_quad_free(q);
  dpm_sm_model_free(md);
  dpm_mixture_free(mix);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_identities),         cmocka_unit_test(test_exact_model),
      cmocka_unit_test(test_fisher_identity),    cmocka_unit_test(test_fd_fallbacks),
      cmocka_unit_test(test_linear_derivatives), cmocka_unit_test(test_exact_training),
      cmocka_unit_test(test_threads_and_file),   cmocka_unit_test(test_errors),
      cmocka_unit_test(test_mixture_fit),        cmocka_unit_test(test_second_order),
      cmocka_unit_test(test_weighted_integrals),
  };
  return cmocka_run_group_tests_name("scorematch", tests, NULL, NULL);
}
