/* test_sampler_expo.c — the exponential-integrator and multistep samplers of expo.c (docs/samplers.md,
 * docs/MATH.md §4): DPM-Solver-1 is DDIM (eta = 0) step for step to rounding; the measured global orders of
 * accuracy on the lambda-uniform VP grid against a high-accuracy solve of the same probability-flow ODE from the
 * same start; DPM-Solver++(2M) SDE with eta = 0 is DPM-Solver++(2M); the exact NFE of every entry. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "dpmlab.h"
#include "testutil.h"

/* Run T over tl from the given starts x (n x d, overwritten by the end points) with eta; returns the NFE. */
static unsigned long run(const dpm_sampler_type *T, dpm_denoiser *dn, const dpm_timeline *tl, size_t n, size_t d,
                         double *x, double eta)
{
  (void)d;
  dpm_sampler_params par;
  dpm_sampler_params_default(&par);
  par.eta = eta;
  return dpm_test_sampler_run(T, dn, tl, &par, 3, n, x);
}

/* One step a -> b of both from the same x: DDIM computes x_b = r x_a + (s_b - r s_a) eps, DPM-Solver-1
 * x_b = r x_a - s_b expm1(h) eps with h = lambda_b - lambda_a. The two eps coefficients are equal in exact
 * arithmetic; in floating point DDIM's subtraction loses eps_mach (s_b + r s_a) and h carries the rounding of the
 * lambdas, eps_mach (|lambda_a| + |lambda_b|), amplified to r s_a eps_mach (|lambda_a| + |lambda_b|) by e^h. So
 * per coordinate |x_ddim - x_dpm1| <= 8 eps_mach [ r |x_a| + (s_b + r s_a)(2 + |lambda_a| + |lambda_b|) |eps| ].
 */
static void check_dpm1_ddim(const char *spec, const char *grid, size_t K)
{
  dpm_mixture *mix = dpm_data_from_spec("ring8");
  assert_non_null(mix);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, spec), 0);
  dpm_timeline *tl = dpm_timeline_alloc(K), *one = dpm_timeline_alloc(1);
  if (p.kind == DPM_PROCESS_DDPM)
    assert_int_equal(dpm_timeline_set_trajectory(tl, &p, grid, K, NULL), 0);
  else
    assert_int_equal(dpm_timeline_set_grid(tl, &p, grid, K, 0), 0);
  const size_t n = 64, d = 2;
  double *x = malloc(n * d * sizeof *x), *a = malloc(n * d * sizeof *a), *b = malloc(n * d * sizeof *b);
  double *eps = malloc(n * d * sizeof *eps);
  dpm_test_gaussian_starts(n, d, tl->s[0], 17, x);
  for (size_t i = 0; i < K; i++) {
    assert_int_equal(dpm_timeline_set_times(one, &p, 1, tl->t + i), 0);
    memcpy(a, x, n * d * sizeof *x);
    memcpy(b, x, n * d * sizeof *x);
    assert_int_equal(run(&dpm_sampler_ddim, dn, one, n, d, a, 0.0), 1);
    assert_int_equal(run(&dpm_sampler_dpm_solver_1, dn, one, n, d, b, NAN), 1);
    const double m0 = one->m[0] >= DBL_MIN ? one->m[0] : DBL_MIN;
    assert_int_equal(dpm_denoiser_eval(dn, m0, one->s[0], n, x, eps, NULL, NULL), 0);
    const double r = exp(one->log_m[1] - one->log_m[0]), sa = one->s[0], sb = one->s[1];
    const double lam = fabs(one->lambda[0]) + (isfinite(one->lambda[1]) ? fabs(one->lambda[1]) : 0.0);
    for (size_t k = 0; k < n * d; k++) {
      const double tol = 8.0 * DBL_EPSILON * (r * fabs(x[k]) + (sb + r * sa) * (2.0 + lam) * fabs(eps[k]));
      if (!(fabs(a[k] - b[k]) <= tol))
        fail_msg("%s/%s step %zu, coordinate %zu: ddim %.17g, dpm-solver-1 %.17g (difference %.3g > %.3g)", spec,
                 grid, i, k, a[k], b[k], fabs(a[k] - b[k]), tol);
    }
    memcpy(x, a, n * d * sizeof *x);
  }
  free(x);
  free(a);
  free(b);
  free(eps);
  dpm_timeline_free(tl);
  dpm_timeline_free(one);
  dpm_process_clear(&p);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

static void test_dpm1_is_ddim(void **state)
{
  (void)state;
  check_dpm1_ddim("vp", "lambda", 12);
  check_dpm1_ddim("edm", "edm", 12);
  check_dpm1_ddim("ddpm:schedule=linear,N=1000", "even", 10); /* ends with the step into s = 0 */
}

/* ---- measured orders ------------------------------------------------------------------------------------------
 *
 * VP, lambda-uniform grid from t_max to t_min, ring8 (2-D), n = 32 starts of N(0, s_T^2 I): the error of a K-step
 * solve is the RMS distance of its end points to a reference solve from the same starts (dpm-solver-3 with 1280
 * steps, whose own error is below 1e-3 of the smallest error measured here, since it is third order with 16x the
 * steps of the finest run). For an order-p method e(K) = C K^{-p} (1 + O(1/K)), so the local slope between K and
 * 2K, p_j = log2(e(K)/e(2K)), tends to p with a correction that halves (or faster) at every doubling: the
 * deviation of the last slope from p is at most the change between the last two slopes. The test asserts |p_last -
 * p| <= 2 |p_last - p_prev| + 0.05 (the 0.05 absorbs the reference's and the rounding's share) with K = 10, 20,
 * 40, 80 (at least 10 steps ending above 0: every multistep step after the warm-up has full order). The theory
 * holds here, on a smooth grid in lambda with an exact, smooth denoiser; it does not on a grid ending at s = 0
 * (the last step is first order, a local error O(h) that dominates) nor for iPNDM, whose fixed weights assume
 * uniform steps (on this grid geometric in sigma), so iPNDM's slope is only printed. */

#define NK 5
static const size_t Ks[NK] = {10, 20, 40, 80, 160};

static void orders_setup(dpm_mixture **mix, dpm_denoiser **dn, dpm_process *p, double **x0, double **ref, size_t n)
{
  const size_t d = 2, Kref = 2560;
  *mix = dpm_data_from_spec("ring8:r=2,sd=0.5");
  assert_non_null(*mix);
  *dn = dpm_denoiser_oracle_alloc(*mix);
  dpm_process_init(p, DPM_PROCESS_VP);
  dpm_timeline *tl = dpm_timeline_alloc(Kref);
  assert_int_equal(dpm_timeline_set_grid(tl, p, "lambda", Kref, 0), 0);
  *x0 = malloc(n * d * sizeof **x0);
  *ref = malloc(n * d * sizeof **ref);
  dpm_test_gaussian_starts(n, d, tl->s[0], 23, *x0);
  memcpy(*ref, *x0, n * d * sizeof **ref);
  assert_int_equal(run(&dpm_sampler_dpm_solver_3, *dn, tl, n, d, *ref, NAN), 3 * Kref);
  dpm_timeline_free(tl);
}

/* errors e(K) of T on the lambda grid, K = Ks[] */
static void orders_measure(const dpm_sampler_type *T, dpm_denoiser *dn, const dpm_process *p, const double *x0,
                           const double *ref, size_t n, double *err)
{
  const size_t d = 2;
  double *x = malloc(n * d * sizeof *x);
  for (size_t k = 0; k < NK; k++) {
    dpm_timeline *tl = dpm_timeline_alloc(Ks[k]);
    assert_int_equal(dpm_timeline_set_grid(tl, p, "lambda", Ks[k], 0), 0);
    memcpy(x, x0, n * d * sizeof *x);
    const unsigned long nfe = run(T, dn, tl, n, d, x, isnan(T->eta_default) ? (double)NAN : 0.0);
    if (nfe != Ks[k] * T->nfe_per_step) fail_msg("%s: NFE %lu at K = %zu", T->name, nfe, Ks[k]);
    double ss = 0.0;
    for (size_t j = 0; j < n * d; j++)
      ss += (x[j] - ref[j]) * (x[j] - ref[j]);
    err[k] = sqrt(ss / (double)n);
    dpm_timeline_free(tl);
  }
  free(x);
}

static void test_orders(void **state)
{
  (void)state;
  const size_t n = 32;
  dpm_mixture *mix;
  dpm_denoiser *dn;
  dpm_process p;
  double *x0, *ref;
  orders_setup(&mix, &dn, &p, &x0, &ref, n);
  const struct {
    const dpm_sampler_type *T;
    double p; /* theoretical order; 0: only printed */
  } cases[] = {{&dpm_sampler_dpm_solver_1, 1}, {&dpm_sampler_dpm_solver_2, 2}, {&dpm_sampler_dpm_solver_3, 3},
               {&dpm_sampler_dpmpp_2m, 2},     {&dpm_sampler_dpmpp_3m, 3},     {&dpm_sampler_unipc, 3},
               {&dpm_sampler_deis, 3},         {&dpm_sampler_lms, 4},          {&dpm_sampler_dpmpp_2m_sde, 2},
               {&dpm_sampler_ipndm, 0}};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    double e[NK], sl[NK - 1];
    orders_measure(cases[c].T, dn, &p, x0, ref, n, e);
    for (size_t k = 0; k + 1 < NK; k++)
      sl[k] = log2(e[k] / e[k + 1]);
    print_message("%-13s errors %.3e %.3e %.3e %.3e %.3e  slopes %.3f %.3f %.3f %.3f\n", cases[c].T->name, e[0],
                  e[1], e[2], e[3], e[4], sl[0], sl[1], sl[2], sl[3]);
    if (cases[c].p == 0) continue;
    const double tol = 2.0 * fabs(sl[NK - 2] - sl[NK - 3]) + 0.05;
    if (!(fabs(sl[NK - 2] - cases[c].p) <= tol))
      fail_msg("%s: measured order %.3f, theory %.0f (allowed %.3f)", cases[c].T->name, sl[NK - 2], cases[c].p,
               tol);
  }
  free(x0);
  free(ref);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* The exact NFE of every entry of expo.c: K x nfe_per_step on a grid ending above 0 (VP, lambda grid, K = 12); on
 * a DDPM trajectory ending with the step into s = 0 (K = 10) the singlestep solvers take that step as DPM-Solver-1
 * (lambda = +inf there; k-diffusion's Euler step), one NFE, so 2K - 1 and 3K - 2. The end points are finite (not
 * necessarily accurate: this trajectory's last steps are long in lambda, where the multistep extrapolation
 * overshoots). */
static void test_nfe(void **state)
{
  (void)state;
  const dpm_sampler_type *types[] = {
      &dpm_sampler_dpm_solver_1, &dpm_sampler_dpm_solver_2, &dpm_sampler_dpm_solver_3, &dpm_sampler_dpmpp_2m,
      &dpm_sampler_dpmpp_3m,     &dpm_sampler_dpmpp_2m_sde, &dpm_sampler_unipc,        &dpm_sampler_deis,
      &dpm_sampler_lms,          &dpm_sampler_ipndm};
  dpm_mixture *mix = dpm_data_from_spec("ring8");
  assert_non_null(mix);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_process pv, pd;
  dpm_process_init(&pv, DPM_PROCESS_VP);
  assert_int_equal(dpm_process_parse(&pd, "ddpm:schedule=linear,N=1000"), 0);
  dpm_timeline *tv = dpm_timeline_alloc(12), *td = dpm_timeline_alloc(10);
  assert_int_equal(dpm_timeline_set_grid(tv, &pv, "lambda", 12, 0), 0);
  assert_int_equal(dpm_timeline_set_trajectory(td, &pd, "even", 10, NULL), 0);
  const size_t n = 16, d = 2;
  double x[32];
  for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
    const dpm_sampler_type *T = types[k];
    assert_true(dpm_sampler_type_find(T->name) == T); /* listed in the table */
    dpm_test_gaussian_starts(n, d, tv->s[0], 5, x);
    unsigned long nfe = run(T, dn, tv, n, d, x, (double)NAN);
    if (nfe != 12 * T->nfe_per_step)
      fail_msg("%s on vp: NFE %lu, expected 12 x %u", T->name, nfe, T->nfe_per_step);
    dpm_test_gaussian_starts(n, d, td->s[0], 5, x);
    nfe = run(T, dn, td, n, d, x, (double)NAN);
    const unsigned long want = 10 * T->nfe_per_step - (T->nfe_per_step - 1);
    if (nfe != want) fail_msg("%s on ddpm: NFE %lu, expected %lu", T->name, nfe, want);
    for (size_t j = 0; j < n * d; j++)
      if (!isfinite(x[j])) fail_msg("%s on ddpm: end point %zu = %g", T->name, j, x[j]);
  }
  dpm_timeline_free(tv);
  dpm_timeline_free(td);
  dpm_process_clear(&pd);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* DPM-Solver++(2M) SDE with eta = 0 has no noise and is DPM-Solver++(2M) with the midpoint rule, on a grid of at
 * least 10 steps ending above 0 (where 2M keeps full order to the end): the same numbers up to the rounding of the
 * two groupings, a few ulps of the terms per step, accumulated over K = 16 steps of an O(1)-Lipschitz flow. */
static void test_2m_sde_eta0(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_data_from_spec("ring8");
  assert_non_null(mix);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VP);
  dpm_timeline *tl = dpm_timeline_alloc(16);
  assert_int_equal(dpm_timeline_set_grid(tl, &p, "lambda", 16, 0), 0);
  const size_t n = 16, d = 2;
  double a[32], b[32];
  dpm_test_gaussian_starts(n, d, tl->s[0], 9, a);
  memcpy(b, a, sizeof a);
  run(&dpm_sampler_dpmpp_2m, dn, tl, n, d, a, (double)NAN);
  run(&dpm_sampler_dpmpp_2m_sde, dn, tl, n, d, b, 0.0);
  for (size_t j = 0; j < n * d; j++)
    assert_close(b[j], a[j], 0.0, 16.0 * 64.0 * DBL_EPSILON * (1.0 + fabs(a[j])));
  dpm_timeline_free(tl);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dpm1_is_ddim),
      cmocka_unit_test(test_orders),
      cmocka_unit_test(test_nfe),
      cmocka_unit_test(test_2m_sde_eta0),
  };
  return cmocka_run_group_tests_name("sampler_expo", tests, NULL, NULL);
}
