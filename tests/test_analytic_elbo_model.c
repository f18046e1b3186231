/* test_analytic_elbo_model.c — the ELBO of a model with an imperfect mean, the variance optimal for that mean and
 * the excess of a step term over its minimum (lib/analytic/elbo_model.c; Bao et al. ICLR 2022, docs/MATH.md §3),
 * each against an independent route: the step terms of dpm_analytic_step_term_mse evaluated directly, the
 * Gamma-based dpm_analytic_elbo, a Taylor series where the direct difference cancels, and a bracketing search.
 *
 * Tolerances. EPS = 2.2e-16 is the unit roundoff; a difference of two terms of size L carries an error of a few
 * EPS L, stated at each use. The Gamma array is synthetic (any values in [0, 1] define a model): the identities
 * checked here are algebraic and hold for every Gamma, so no quadrature is needed. */
#include <math.h>
#include <stdlib.h>

#include "dpmlab.h"
#include "testutil.h"

#define EPS 2.220446049250313e-16
#define NS  200

static dpm_schedule *schedule(void)
{
  dpm_schedule *sch = dpm_schedule_linear_alloc(NS, 1e-4, 0.02 * 1000.0 / NS);
  assert_non_null(sch);
  return sch;
}

/* Gamma_n rising from ~0 to ~1 like the Gamma of data with a small spread */
static void synthetic_gamma(const dpm_schedule *sch, double *gamma)
{
  gamma[0] = NAN;
  for (size_t n = 1; n <= sch->N; n++)
    gamma[n] = sch->beta_bar[n] / (sch->beta_bar[n] + 0.05 * sch->alpha_bar[n]);
}

/* The excess equals the difference of the two terms wherever that difference does not cancel, for KL steps and
 * the decoder, and is the Taylor series u^2/4 - u^3/6 where it does. */
static void test_excess(void **state)
{
  (void)state;
  dpm_schedule *sch = schedule();
  const size_t ts[4][2] = {{0, 1}, {0, 7}, {5, 6}, {20, 150}};
  const double mse[3] = {1e-3, 0.2, 3.0}, scale[4] = {0.3, 0.9, 1.7, 10.0};
  for (size_t i = 0; i < 4; i++)
    for (size_t j = 0; j < 3; j++) {
      dpm_analytic_step a;
      assert_int_equal(dpm_analytic_step_ts(sch, ts[i][0], ts[i][1], 1.0, &a), DPM_SUCCESS);
      const double smin = dpm_analytic_sigma2_mse(&a, mse[j]);
      const double Lmin = dpm_analytic_step_term_mse(&a, 1, mse[j], smin);
      for (size_t k = 0; k < 4; k++) {
        const double s2 = scale[k] * smin, L = dpm_analytic_step_term_mse(&a, 1, mse[j], s2);
        /* the direct difference is exact to a few EPS of the terms' size */
        assert_close(dpm_analytic_term_excess(smin, s2), L - Lmin, 0.0, 16.0 * EPS * (fabs(L) + fabs(Lmin) + 1.0));
        assert_true(dpm_analytic_term_excess(smin, s2) >= 0.0);
      }
    }
  /* u = smin/s2 - 1 = 1e-6: excess = u^2/4 - u^3/6 + O(u^4) = 2.5e-13 to 1e-12 relative; the naive difference
   * of two O(1) terms would keep no correct digit here */
  const double u = 1e-6;
  assert_close(dpm_analytic_term_excess(1.0 + u, 1.0), u * u / 4.0 - u * u * u / 6.0, 1e-9, 0.0);
  assert_close(dpm_analytic_term_excess(2.0, 2.0), 0.0, 0.0, 0.0);
  assert_true(isinf(dpm_analytic_term_excess(1.0, 0.0)));
  assert_true(isinf(dpm_analytic_term_excess(0.0, 1.0)));
  assert_true(isnan(dpm_analytic_term_excess(-1.0, 1.0)));
  assert_true(isnan(dpm_analytic_term_excess(1.0, NAN)));
  dpm_schedule_free(sch);
}

/* sigma2_mse minimises the term: every variance on a grid around it gives a larger term (by the excess), and
 * under the oracle's error it is sigma*^2. */
static void test_sigma2_mse(void **state)
{
  (void)state;
  dpm_schedule *sch = schedule();
  double gamma[NS + 1];
  synthetic_gamma(sch, gamma);
  const size_t ts[3][2] = {{0, 3}, {9, 10}, {40, 120}};
  for (size_t i = 0; i < 3; i++) {
    dpm_analytic_step a;
    assert_int_equal(dpm_analytic_step_ts(sch, ts[i][0], ts[i][1], 1.0, &a), DPM_SUCCESS);
    const double g = gamma[a.t], e = a.err_scale * (1.0 - g);
    const double s2 = dpm_analytic_sigma2_mse(&a, e);
    /* the oracle's mean: the same variance as Analytic-DPM's sigma*^2 (two routes: err_scale (1 - Gamma) c0^2
     * against coef2 (1 - Gamma)) */
    assert_close(s2, dpm_analytic_sigma2_opt(&a, g), 8.0 * EPS, 0.0);
    const double L0 = dpm_analytic_step_term_mse(&a, 1, e, s2);
    for (int k = -20; k <= 20; k++) {
      if (k == 0) continue;
      const double L = dpm_analytic_step_term_mse(&a, 1, e, s2 * exp(0.05 * k));
      assert_true(L >= L0 - 8.0 * EPS * fabs(L0));
    }
  }
  dpm_analytic_step a;
  assert_int_equal(dpm_analytic_step_ts(sch, 0, 5, 1.0, &a), DPM_SUCCESS);
  assert_close(dpm_analytic_sigma2_mse(&a, 0.25), 0.25, 0.0, 0.0); /* decoder: lambda^2 = 0, c0 = 1 */
  assert_true(isnan(dpm_analytic_sigma2_mse(&a, -1.0)));
  dpm_schedule_free(sch);
}

/* With the oracle's mean-square error and the variances of dpm_analytic_sigma2_traj, the imperfect-mean ELBO is
 * dpm_analytic_elbo's (which works from Gamma), for every variance choice, on the full chain and on a sparse
 * trajectory; rest is the total without the decoder. */
static void test_elbo_mse_matches_elbo(void **state)
{
  (void)state;
  dpm_schedule *sch = schedule();
  double gamma[NS + 1], x0mse[NS + 1], sigma2[NS];
  synthetic_gamma(sch, gamma);
  size_t chain[NS], even[8];
  for (size_t i = 0; i < NS; i++)
    chain[i] = i + 1;
  assert_int_equal(dpm_schedule_subsequence(sch, "even", 8, even), DPM_SUCCESS);
  const double e_norm2 = 2.5, etas[2] = {1.0, 0.5};
  const dpm_variance_kind vars[3] = {DPM_VAR_BETA, DPM_VAR_BETA_TILDE, DPM_VAR_OPT};
  for (size_t ie = 0; ie < 2; ie++) {
    x0mse[0] = NAN;
    for (size_t n = 1; n <= NS; n++) {
      dpm_analytic_step a;
      assert_int_equal(dpm_analytic_step_ts(sch, n - 1, n, etas[ie], &a), DPM_SUCCESS);
      x0mse[n] = a.err_scale * (1.0 - gamma[n]);
    }
    dpm_analytic_model mod = {.d = 2, .eta = etas[ie], .e_norm2 = e_norm2, .gamma = gamma};
    for (size_t tr = 0; tr < 2; tr++) {
      const size_t K = tr ? 8 : NS, *tau = tr ? even : chain;
      for (size_t v = 0; v < 3; v++) {
        assert_int_equal(dpm_analytic_sigma2_traj(sch, &mod, vars[v], K, tau, sigma2), DPM_SUCCESS);
        dpm_elbo_result ref;
        double terms[NS];
        assert_int_equal(dpm_analytic_elbo(sch, &mod, vars[v], K, tau, NAN, 0.0, &ref, terms), DPM_SUCCESS);
        double nelbo, rest;
        assert_int_equal(dpm_analytic_elbo_mse(sch, 2, etas[ie], e_norm2, K, tau, x0mse, sigma2, &nelbo, &rest),
                         DPM_SUCCESS);
        /* a sum of K terms, each equal to rounding: K EPS times the sum of magnitudes */
        double mag = fabs(ref.prior);
        for (size_t k = 0; k < K; k++)
          mag += fabs(terms[k]);
        assert_close(nelbo, ref.nelbo, 0.0, 8.0 * (double)K * EPS * mag);
        assert_close(rest, ref.prior + ref.transitions, 0.0, 8.0 * (double)K * EPS * mag);
      }
    }
  }
  dpm_schedule_free(sch);
}

/* A variance that is not positive makes the total infinite; when only the decoder's is, rest stays finite. Bad
 * arguments are refused with a status. */
static void test_elbo_mse_edges(void **state)
{
  (void)state;
  dpm_schedule *sch = schedule();
  double x0mse[NS + 1], sigma2[4] = {-1e-3, 0.01, 0.02, 0.05};
  for (size_t n = 0; n <= NS; n++)
    x0mse[n] = 0.1;
  const size_t tau[4] = {1, 50, 120, NS};
  double nelbo = 0.0, rest = 0.0;
  assert_int_equal(dpm_analytic_elbo_mse(sch, 1, 1.0, 1.0, 4, tau, x0mse, sigma2, &nelbo, &rest), DPM_SUCCESS);
  assert_true(isinf(nelbo) && nelbo > 0.0);
  assert_true(isfinite(rest));
  sigma2[0] = 0.01;
  sigma2[2] = 0.0;
  assert_int_equal(dpm_analytic_elbo_mse(sch, 1, 1.0, 1.0, 4, tau, x0mse, sigma2, &nelbo, &rest), DPM_SUCCESS);
  assert_true(isinf(nelbo) && isinf(rest));

  dpm_error_install();
  sigma2[2] = 0.02;
  const size_t bad[4] = {1, 120, 50, NS};
  assert_raises(dpm_analytic_elbo_mse(sch, 1, 1.0, 1.0, 4, bad, x0mse, sigma2, &nelbo, NULL), DPM_TEST_ANY_ERROR,
                NULL);
  assert_raises(dpm_analytic_elbo_mse(sch, 1, 0.0, 1.0, 4, tau, x0mse, sigma2, &nelbo, NULL), DPM_TEST_ANY_ERROR,
                NULL);
  assert_raises(dpm_analytic_elbo_mse(sch, 0, 1.0, 1.0, 4, tau, x0mse, sigma2, &nelbo, NULL), DPM_TEST_ANY_ERROR,
                NULL);
  sigma2[1] = NAN;
  assert_raises(dpm_analytic_elbo_mse(sch, 1, 1.0, 1.0, 4, tau, x0mse, sigma2, &nelbo, NULL), GSL_EBADFUNC, NULL);
  sigma2[1] = 0.01;
  x0mse[50] = -1.0;
  assert_raises(dpm_analytic_elbo_mse(sch, 1, 1.0, 1.0, 4, tau, x0mse, sigma2, &nelbo, NULL), GSL_EDOM, NULL);
  dpm_schedule_free(sch);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_excess),
      cmocka_unit_test(test_sigma2_mse),
      cmocka_unit_test(test_elbo_mse_matches_elbo),
      cmocka_unit_test(test_elbo_mse_edges),
  };
  return cmocka_run_group_tests_name("analytic_elbo_model", tests, NULL, NULL);
}
