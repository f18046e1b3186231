/* test_sampler_ge.c — the gradient-estimation samplers of ge.c (Permenter & Yuan 2023, Algorithm 2;
 * docs/samplers.md): with gamma = 1, ge is DDIM (eta = 0) and ge-stochastic is DDIM (eta = 1) step for step to
 * rounding on VE, EDM and VP grids; with gamma = 2 the walk equals the update written out in VE coordinates with
 * the oracle's eps; the step into s = 0 is the Tweedie estimate; the measured global order (1 at gamma = 2, 2 at
 * the Adams-Bashforth gamma); the exact NFE; a non-finite gamma is refused; dpmlab sample --gamma. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "dpmlab.h"
#include "testutil.h"

/* Run T over tl from the starts x (n x d, overwritten by the end points) with the given gamma and eta; returns
 * the NFE the driver reported, checked against the denoiser's own count. */
static unsigned long run(const dpm_sampler_type *T, dpm_denoiser *dn, const dpm_timeline *tl, size_t n, size_t d,
                         double *x, double gamma, double eta)
{
  (void)d;
  dpm_sampler_params par;
  dpm_sampler_params_default(&par);
  par.ge_gamma = gamma;
  par.eta = eta;
  return dpm_test_sampler_run(T, dn, tl, &par, 11, n, x);
}

/* max_k |a_k - b_k| / (1 + |b_k|) */
static double maxrel(const double *a, const double *b, size_t nd)
{
  double e = 0.0;
  for (size_t k = 0; k < nd; k++)
    e = fmax(e, fabs(a[k] - b[k]) / (1.0 + fabs(b[k])));
  return e;
}

/* For every prefix of the grid (k = 1..K steps, the timeline's first k + 1 times) run ge (resp. ge-stochastic)
 * with gamma = 1 and ddim with eta = 0 (resp. 1) from the same starts and seed: with gamma = 1 the extrapolated
 * direction is eps(x_t) itself, and sigma' = sigma_{t-1}^2/sigma_t is DDIM's eta = 1 step (ge.c), so the
 * iterates agree after every step. Both evaluate the same eps at the same points with the same coefficients and
 * draw the same noise, so the only allowed difference is rounding: 64 DBL_EPSILON relative (they are in fact equal
 * bit for bit as written). */
static void check_gamma1(const char *spec, const char *grid, size_t K)
{
  const size_t n = 64, d = 2;
  dpm_mixture *mix = dpm_data_from_spec("ring8");
  assert_non_null(mix);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, spec), 0);
  dpm_timeline *full = dpm_timeline_alloc(K), *tl = dpm_timeline_alloc(K);
  assert_int_equal(dpm_timeline_set_grid(full, &p, grid, K, 0), 0);
  double *x0 = malloc(n * d * sizeof *x0), *a = malloc(n * d * sizeof *a), *b = malloc(n * d * sizeof *b);
  dpm_test_gaussian_starts(n, d, full->s[0], 7, x0);
  const dpm_sampler_type *ge[] = {&dpm_sampler_ge, &dpm_sampler_ge_stochastic};
  const double eta[] = {0.0, 1.0};
  for (size_t v = 0; v < 2; v++)
    for (size_t k = 1; k <= K; k++) {
      assert_int_equal(dpm_timeline_set_times(tl, &p, k, full->t), 0);
      memcpy(a, x0, n * d * sizeof *a);
      memcpy(b, x0, n * d * sizeof *b);
      assert_int_equal(run(ge[v], dn, tl, n, d, a, 1.0, NAN), k);
      assert_int_equal(run(&dpm_sampler_ddim, dn, tl, n, d, b, 0.0, eta[v]), k);
      const double e = maxrel(a, b, n * d);
      if (!(e <= 64.0 * DBL_EPSILON))
        fail_msg("%s, gamma = 1 on %s/%s: differs from ddim(eta = %g) after step %zu by %.3g", ge[v]->name, spec,
                 grid, eta[v], k, e);
    }
  free(x0);
  free(a);
  free(b);
  dpm_timeline_free(tl);
  dpm_timeline_free(full);
  dpm_process_clear(&p);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

static void test_gamma1_is_ddim(void **state)
{
  (void)state;
  check_gamma1("ve", "loglinear", 12);
  check_gamma1("edm", "edm", 12);
  check_gamma1("vp", "lambda", 12);
}

/* gamma = 2 on VE, written out in VE coordinates (m = 1, s = sigma) with the oracle's eps, step by step:
 * x_1 = x_0 + (sigma_1 - sigma_0) eps(x_0), then x_{i+1} = x_i + (sigma_{i+1} - sigma_i)(eps(x_{i-1}) +
 * 2 (eps(x_i) - eps(x_{i-1}))). The two computations group the same operations differently, so they agree to a
 * few rounding errors per step amplified by the walk (measured: 2e-16 relative after K = 8 steps); 1e-13 allows
 * for a different compiler's contraction, while a wrong coefficient (eps-bar of the previous step in place of the
 * raw eps, gamma - 1 for gamma) moves the end points by O(0.1) — gamma = 2 ends 0.39 away from DDIM here. */
static void test_gamma2_by_hand(void **state)
{
  (void)state;
  const size_t n = 32, d = 2, K = 8;
  const double gamma = 2.0;
  dpm_mixture *mix = dpm_data_from_spec("ring8");
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, "ve"), 0);
  dpm_timeline *tl = dpm_timeline_alloc(K);
  assert_int_equal(dpm_timeline_set_grid(tl, &p, "loglinear", K, 0), 0);
  double *x = malloc(n * d * sizeof *x), *y = malloc(n * d * sizeof *y), *e = malloc(n * d * sizeof *e),
         *ep = malloc(n * d * sizeof *ep), *dd = malloc(n * d * sizeof *dd);
  dpm_test_gaussian_starts(n, d, tl->s[0], 9, x);
  memcpy(y, x, n * d * sizeof *y);
  for (size_t i = 0; i < K; i++) {
    assert_int_equal(dpm_denoiser_eval(dn, 1.0, tl->s[i], n, y, e, NULL, NULL), 0);
    const double h = tl->s[i + 1] - tl->s[i];
    for (size_t k = 0; k < n * d; k++) {
      const double bar = i == 0 ? e[k] : ep[k] + gamma * (e[k] - ep[k]);
      y[k] += h * bar;
      ep[k] = e[k];
    }
  }
  memcpy(dd, x, n * d * sizeof *dd);
  assert_int_equal(run(&dpm_sampler_ge, dn, tl, n, d, x, gamma, NAN), K);
  const double err = maxrel(x, y, n * d);
  if (!(err <= 1e-13)) fail_msg("ge, gamma = 2 on ve: differs from the update by hand by %.3g", err);
  /* and gamma = 2 is not DDIM: the extrapolation moves the end points (the guard against a no-op gamma) */
  assert_int_equal(run(&dpm_sampler_ddim, dn, tl, n, d, dd, 0.0, 0.0), K);
  assert_true(maxrel(x, dd, n * d) > 1e-2);
  free(x);
  free(y);
  free(e);
  free(ep);
  free(dd);
  dpm_timeline_free(tl);
  dpm_process_clear(&p);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* On a DDPM trajectory the last step goes into s = 0: both entries take the plain DDIM (Tweedie) step there,
 * x_K = m_K x0-hat(x_{K-1}) = x0-hat (m_0 = 1), whatever gamma; K NFE for K steps. Checked against K - 1 steps of
 * the same entry and the oracle's x0-hat, to rounding. */
static void test_final_step_tweedie(void **state)
{
  (void)state;
  const size_t n = 32, d = 2, K = 10;
  dpm_mixture *mix = dpm_data_from_spec("ring8");
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, "ddpm:schedule=linear,N=1000"), 0);
  dpm_timeline *tl = dpm_timeline_alloc(K), *pre = dpm_timeline_alloc(K);
  assert_int_equal(dpm_timeline_set_trajectory(tl, &p, "even", K, NULL), 0);
  assert_true(tl->s[K] == 0.0);
  assert_int_equal(dpm_timeline_set_times(pre, &p, K - 1, tl->t), 0);
  double *x = malloc(n * d * sizeof *x), *y = malloc(n * d * sizeof *y), *x0 = malloc(n * d * sizeof *x0);
  const dpm_sampler_type *T[] = {&dpm_sampler_ge, &dpm_sampler_ge_stochastic};
  for (size_t v = 0; v < 2; v++) {
    dpm_test_gaussian_starts(n, d, tl->s[0], 5, x);
    memcpy(y, x, n * d * sizeof *y);
    assert_int_equal(run(T[v], dn, tl, n, d, x, 2.0, NAN), K);
    assert_int_equal(run(T[v], dn, pre, n, d, y, 2.0, NAN), K - 1);
    assert_int_equal(dpm_denoiser_eval(dn, tl->m[K - 1], tl->s[K - 1], n, y, NULL, x0, NULL), 0);
    for (size_t k = 0; k < n * d; k++)
      assert_close(x[k], tl->m[K] * x0[k], 1e-12, 1e-12);
  }
  free(x);
  free(y);
  free(x0);
  dpm_timeline_free(tl);
  dpm_timeline_free(pre);
  dpm_process_clear(&p);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* The global error of ge at the end of a log-linear VE grid, against edm-heun (order 2) with 4096 steps from the
 * same starts (its own error, 4e-7 against 16384 steps, is 0.3% of the smallest error compared): the local
 * analysis of docs/samplers.md gives order 1 at gamma = 2 (the extrapolation overshoots by Euler's local error
 * with the opposite sign) and order 2 at gamma = 1 + q/2 (Adams-Bashforth 2 on the grid sigma_{t-1} = q sigma_t, q
 * depending on K). gmm1d, 16 starts, the largest error over the starts, K = 256, 512, 1024. Measured slopes: gamma
 * = 2 gives 0.83, 0.91, 0.95 over K = 128..1024 (approaching 1 as the O(1/K) pre-asymptotic term halves), 1 + q/2
 * gives 1.92, 1.96, 1.97; the last slope must be within 0.1 of the nominal order (an error in the extrapolation,
 * e.g. eps-bar of the previous step in place of the raw eps, changes the order by at least 1, or the constant by
 * far more than the margin). */
static double end_error(dpm_denoiser *dn, const dpm_process *p, size_t K, double gamma, const double *x0,
                        const double *ref, size_t n)
{
  dpm_timeline *tl = dpm_timeline_alloc(K);
  assert_int_equal(dpm_timeline_set_grid(tl, p, "loglinear", K, 0), 0);
  const double q = tl->s[1] / tl->s[0];
  double *x = malloc(n * sizeof *x), e = 0.0;
  memcpy(x, x0, n * sizeof *x);
  run(&dpm_sampler_ge, dn, tl, n, 1, x, isnan(gamma) ? 1.0 + 0.5 * q : gamma, NAN);
  for (size_t k = 0; k < n; k++)
    e = fmax(e, fabs(x[k] - ref[k]));
  free(x);
  dpm_timeline_free(tl);
  return e;
}

static void test_measured_order(void **state)
{
  (void)state;
  const size_t n = 16, Kref = 4096;
  dpm_mixture *mix = dpm_data_from_spec("gmm1d");
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, "ve"), 0);
  dpm_timeline *tl = dpm_timeline_alloc(Kref);
  assert_int_equal(dpm_timeline_set_grid(tl, &p, "loglinear", Kref, 0), 0);
  double *x0 = malloc(n * sizeof *x0), *ref = malloc(n * sizeof *ref);
  dpm_test_gaussian_starts(n, 1, tl->s[0], 21, x0);
  memcpy(ref, x0, n * sizeof *ref);
  run(&dpm_sampler_edm_heun, dn, tl, n, 1, ref, 2.0, NAN);
  const double gammas[] = {2.0, NAN}; /* NAN: 1 + q/2 */
  const double want[] = {1.0, 2.0};
  double last[2];
  for (size_t g = 0; g < 2; g++) {
    double e[2];
    for (size_t j = 0; j < 2; j++)
      e[j] = end_error(dn, &p, (size_t)512 << j, gammas[g], x0, ref, n);
    const double slope = log2(e[0] / e[1]);
    if (!(fabs(slope - want[g]) < 0.1))
      fail_msg("ge, gamma = %s: measured order %.3f between K = 512 and 1024 (errors %.3g, %.3g), nominal %g",
               g ? "1 + q/2" : "2", slope, e[0], e[1], want[g]);
    last[g] = e[1];
  }
  assert_true(last[1] < 0.1 * last[0]); /* at K = 1024 the second-order gamma is ~50x more accurate */
  free(x0);
  free(ref);
  dpm_timeline_free(tl);
  dpm_process_clear(&p);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* The table rows: one NFE per step, history 1, order 1; a non-finite gamma is refused naming the entry. */
static void test_entries_and_refusals(void **state)
{
  (void)state;
  assert_ptr_equal(dpm_sampler_type_find("ge"), &dpm_sampler_ge);
  assert_ptr_equal(dpm_sampler_type_find("ge-stochastic"), &dpm_sampler_ge_stochastic);
  assert_int_equal(dpm_sampler_ge.nfe_per_step, 1);
  assert_int_equal(dpm_sampler_ge.history, 1);
  assert_true(dpm_sampler_ge_stochastic.flags & DPM_SAMPLER_STOCHASTIC);
  assert_false(dpm_sampler_ge.flags & DPM_SAMPLER_STOCHASTIC);
  dpm_sampler_params par;
  dpm_sampler_params_default(&par);
  assert_true(par.ge_gamma == 2.0);
  dpm_mixture *mix = dpm_data_from_spec("gmm1d");
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, "edm"), 0);
  dpm_timeline *tl = dpm_timeline_alloc(4);
  assert_int_equal(dpm_timeline_set_grid(tl, &p, "edm", 4, 0), 0);
  dpm_sampler *smp = dpm_sampler_alloc(&dpm_sampler_ge, 4, 1, 4);
  dpm_sampler_problem pb = {.dn = dn, .tl = tl, .sigma2 = NULL, .mix = NULL};
  dpm_sampler_params_default(&pb.par);
  double x[4] = {0.1, 0.2, 0.3, 0.4};
  pb.par.ge_gamma = NAN;
  assert_raises(dpm_sampler_run(smp, &pb, 0, 4, x, 1, NULL), GSL_EDOM, "sampler ge");
  pb.par.ge_gamma = INFINITY;
  assert_raises(dpm_sampler_run(smp, &pb, 0, 4, x, 1, NULL), GSL_EDOM, "gamma");
  dpm_sampler_free(smp);
  dpm_timeline_free(tl);
  dpm_process_clear(&p);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* dpmlab sample --gamma: gamma = 1 prints ddim's samples to the last digit (%.17g reads back bit for bit, and the
 * library's gamma = 1 walk is DDIM's bit for bit); an explicit --gamma 2 is the default; --gamma 3 moves the
 * samples; a non-finite gamma is a usage error naming the option; a sampler that does not read it lists it as
 * unused in --meta. */
static void test_cli_gamma(void **state)
{
  (void)state;
  const char *base = "sample --data ring8 --process edm --grid edm --steps 8 --n 20 --seed 3";
  char cmd[256];
  snprintf(cmd, sizeof cmd, "%s --sampler ddim", base);
  char *ddim = dpm_test_run_ok(cmd, NULL);
  snprintf(cmd, sizeof cmd, "%s --sampler ge --gamma 1", base);
  char *g1 = dpm_test_run_ok(cmd, NULL);
  assert_string_equal(g1, ddim);
  snprintf(cmd, sizeof cmd, "%s --sampler ge", base);
  char *def = dpm_test_run_ok(cmd, NULL);
  snprintf(cmd, sizeof cmd, "%s --sampler ge --gamma 2", base);
  char *g2 = dpm_test_run_ok(cmd, NULL);
  assert_string_equal(g2, def);
  snprintf(cmd, sizeof cmd, "%s --sampler ge --gamma 3", base);
  char *g3 = dpm_test_run_ok(cmd, NULL);
  assert_true(strcmp(g3, def) != 0 && strcmp(def, ddim) != 0);
  snprintf(cmd, sizeof cmd, "%s --sampler ge-stochastic --gamma inf", base);
  dpm_test_expect_failure(cmd, NULL, NULL, 2, "--gamma", 0);
  snprintf(cmd, sizeof cmd, "%s --sampler ddim --gamma 3 --meta", base);
  char *meta = dpm_test_run_ok(cmd, NULL);
  assert_non_null(strstr(meta, "# unused by this sampler: --gamma"));
  free(ddim);
  free(g1);
  free(def);
  free(g2);
  free(g3);
  free(meta);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gamma1_is_ddim),       cmocka_unit_test(test_gamma2_by_hand),
      cmocka_unit_test(test_final_step_tweedie),   cmocka_unit_test(test_measured_order),
      cmocka_unit_test(test_entries_and_refusals), cmocka_unit_test(test_cli_gamma),
  };
  return cmocka_run_group_tests_name("sampler_ge", tests, NULL, NULL);
}
