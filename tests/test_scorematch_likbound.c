/* test_scorematch_likbound.c — the likelihood-weighted DSM bound on -E log p^SDE (Song, Durkan, Murray & Ermon
 * 2021, Thm 1 with lambda = g^2; docs/MATH.md §4.4) against exact numbers: for the exact score the bound equals
 * H(q_t0) + KL(q_T || pi) (entropies by cubature) within 4 standard errors; for a perturbed score it exceeds that
 * floor by 1/2 int g^2 D_Fisher dt within 4 combined standard errors; and it equals the average over points of
 * q_t0 of the likelihood module's per-point SDE bound (its score-matching form, an independent estimator of the
 * same number) within 4 combined standard errors; the errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpmlab.h"
#include "dpm_likelihood.h"
#include "dpm_rng.h"
#include "dpm_scorematch.h"
#include "testutil.h"

#define T0 1e-3

static dpm_sm_likbound bound_of(const dpm_mixture *mix, dpm_sm_model *md, size_t M, uint64_t seed)
{
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, "vp"), 0);
  dpm_sm_likbound b;
  assert_int_equal(dpm_sm_likelihood_bound(mix, md, &p, T0, M, seed, &b), DPM_SUCCESS);
  assert_true(b.M == M && isfinite(b.bound) && b.bound_se > 0.0);
  /* the parts add up, and the entropies are resolved far below the Monte Carlo error */
  assert_close(b.bound, b.prior_term + b.drift_term + b.dsm_term, 1e-14, 0.0);
  assert_true(b.entropy_err < 0.01 * b.bound_se);
  return b;
}

/* The exact score: D_Fisher = 0 at every t (the model's eps and the oracle's E[eps|x] agree to rounding), so the
 * bound is its floor H(q_t0) + KL(q_T || pi). */
static void test_exact_score(void **state)
{
  (void)state;
  const char *specs[2] = {"gmm1d", "ring8"};
  for (int i = 0; i < 2; i++) {
    dpm_mixture *mix = dpm_test_mixture(specs[i]);
    dpm_sm_model *md = dpm_sm_model_mixture_alloc(mix);
    const dpm_sm_likbound b = bound_of(mix, md, 20000, 11);
    assert_true(b.fisher_term < 1e-20);
    assert_close(b.bound, b.floor, 0.0, 4.0 * b.bound_se + b.entropy_err);
    dpm_sm_model_free(md);
    dpm_mixture_free(mix);
  }
}

/* A perturbed score (means shifted by 0.3): bound - floor = 1/2 int g^2 D_Fisher dt > 0. */
static void test_perturbed_score(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  dpm_sm_model *md = dpm_sm_model_perturbed_alloc(mix, 0.3, 0.0);
  const dpm_sm_likbound b = bound_of(mix, md, 20000, 12);
  assert_true(b.fisher_term > 10.0 * b.fisher_se);
  const double se = sqrt(b.bound_se * b.bound_se + b.fisher_se * b.fisher_se);
  assert_close(b.bound - b.floor, b.fisher_term, 0.0, 4.0 * se + b.entropy_err);
  dpm_sm_model_free(md);
  dpm_mixture_free(mix);
}

/* The likelihood module's SDE bound B(x) per point (score-matching form, exact divergence) averaged over n exact
 * draws of q_t0 estimates the same -E log p^SDE bound: the two agree within 4 combined standard errors (the
 * average's standard error from the spread over points, which includes its inner Monte Carlo error). */
static void test_against_likelihood_module(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  dpm_sm_model *md = dpm_sm_model_perturbed_alloc(mix, 0.3, 0.0);
  const dpm_sm_likbound b = bound_of(mix, md, 20000, 13);
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, "vp"), 0);
  double m0, s0;
  assert_int_equal(dpm_process_ms(&p, T0, &m0, &s0), 0);
  const size_t n = 400;
  double *x = malloc(n * sizeof *x), *bd = malloc(n * sizeof *bd);
  dpm_mixture_sample_workspace *sw = dpm_mixture_sample_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(7, 0);
  assert_non_null(x);
  assert_non_null(bd);
  assert_int_equal(dpm_mixture_sample_t(mix, sw, r, m0, s0, n, x, NULL, NULL), 0);
  dpm_denoiser *dn = dpm_sm_model_denoiser_alloc(md, 0);
  dpm_likelihood *w = dpm_likelihood_alloc(mix, &dn, 1);
  assert_non_null(w);
  assert_int_equal(dpm_likelihood_elbo_sde(w, &p, T0, DPM_LIK_PRIOR_GAUSSIAN, 64, 3, n, x, bd, NULL, NULL), 0);
  double s1 = 0.0, s2 = 0.0;
  for (size_t i = 0; i < n; i++) {
    s1 -= bd[i];
    s2 += bd[i] * bd[i];
  }
  const double mean = s1 / (double)n, se = sqrt((s2 / (double)n - mean * mean) / (double)(n - 1));
  assert_close(mean, b.bound, 0.0, 4.0 * sqrt(se * se + b.bound_se * b.bound_se));
  dpm_likelihood_free(w);
  dpm_denoiser_free(dn);
  gsl_rng_free(r);
  dpm_mixture_sample_free(sw);
  free(x);
  free(bd);
  dpm_sm_model_free(md);
  dpm_mixture_free(mix);
}

static void test_errors(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d"), *ring = dpm_test_mixture("ring8");
  dpm_sm_model *md = dpm_sm_model_mixture_alloc(mix);
  dpm_process p, q;
  assert_int_equal(dpm_process_parse(&p, "vp"), 0);
  assert_int_equal(dpm_process_parse(&q, "ddpm"), 0);
  dpm_sm_likbound b;
  assert_raises(dpm_sm_likelihood_bound(NULL, md, &p, T0, 100, 1, &b), GSL_EINVAL, "NULL");
  assert_raises(dpm_sm_likelihood_bound(mix, md, &p, 0.0, 100, 1, &b), GSL_EDOM, "t0");
  assert_raises(dpm_sm_likelihood_bound(mix, md, &p, 2.0, 100, 1, &b), GSL_EDOM, "t0");
  assert_raises(dpm_sm_likelihood_bound(mix, md, &p, T0, 3, 1, &b), GSL_EINVAL, "M >= 4");
  assert_raises(dpm_sm_likelihood_bound(mix, md, &q, T0, 100, 1, &b), GSL_EINVAL, "discrete");
  assert_raises(dpm_sm_likelihood_bound(ring, md, &p, T0, 100, 1, &b), GSL_EBADLEN, "dimension");
  dpm_process_clear(&p);
  dpm_process_clear(&q);
  dpm_sm_model_free(md);
  dpm_mixture_free(ring);
  dpm_mixture_free(mix);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exact_score),
      cmocka_unit_test(test_perturbed_score),
      cmocka_unit_test(test_against_likelihood_module),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests_name("scorematch_likbound", tests, NULL, NULL);
}
