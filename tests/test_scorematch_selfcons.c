/* test_scorematch_selfcons.c — self-consistency of a score field with its own reverse process (Song, Durkan,
 * Murray & Ermon 2021, Thm 2; docs/MATH.md §4.4), checked in 1-D without Monte Carlo: the exact score of data N(0,
 * 1) is the score of its own reverse SDE from the prior at every finite T (defect and SDE-ODE gap zero to
 * rounding); for any other data, Gaussian N(0, 1/4) included, both are positive at every finite T, with the gap
 * bounded below by the triangle inequality; the probability flow, a bijection, keeps TV(prior, q_T) exactly; the
 * reverse SDE's output error and the defect decay with the OU spectrum's slopes -2 and -4 in T against the flow's
 * -1; the closed form agrees with the Euler–Maruyama chain of the TV study as its step shrinks; the same bits for
 * 1 and 2 threads; the errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#include "dpmlab.h"
#include "dpm_scorematch.h"
#include "testutil.h"

static dpm_sm_selfcons_result run(const dpm_mixture *mix, double T)
{
  dpm_sm_selfcons_result r;
  assert_int_equal(dpm_sm_selfcons_ou(mix, T, 0.0, 0.0, &r), DPM_SUCCESS);
  /* both outputs are probability densities: their grid sums are 1 to the grid's (spectral) accuracy */
  assert_close(r.mass_sde, 1.0, 0.0, 1e-12);
  assert_close(r.mass_ode, 1.0, 0.0, 1e-12);
  return r;
}

/* Data N(0, 1): q_T = N(0, 1) is the prior, r = 1, h_0 = 1, and the flow map is the identity, so every gap is a
 * sum of ~1600 rounding errors of size 1e-16 (and the defect their square). */
static void test_self_consistent_gaussian(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gauss:d=1,sd=1");
  for (double T = 0.5; T <= 8.0; T *= 2.0) {
    const dpm_sm_selfcons_result r = run(mix, T);
    assert_true(r.tv_prior < 1e-12);
    assert_true(r.tv_sde_ode < 1e-12);
    assert_true(r.tv_sde_data < 1e-12 && r.tv_ode_data < 1e-12);
    assert_true(r.defect < 1e-24);
    assert_close(r.var_sde, 1.0, 0.0, 1e-12);
    assert_close(r.var_ode, 1.0, 0.0, 1e-12);
  }
  dpm_mixture_free(mix);
}

/* Any other data: q_T differs from the prior at every finite T, the flow (a bijection) keeps that TV exactly, so
 * TV(p^ODE_0, q_0) = TV(N(0, 1), q_T) up to the grid sum's error at the kinks of |f| (relative O(h^2)), while the
 * reverse SDE contracts it (data processing, strictly here): TV(p^SDE_0, p^ODE_0) >= tv_prior - tv_sde_data > 0,
 * and the field is not the score of its own reverse SDE (defect > 0). Gaussian data with the wrong variance is no
 * exception. */
static void test_not_self_consistent(void **state)
{
  (void)state;
  const char *specs[2] = {"gmm1d", "gauss:d=1,sd=0.5"};
  const double h = 0.01;
  for (int s = 0; s < 2; s++) {
    dpm_mixture *mix = dpm_test_mixture(specs[s]);
    for (double T = 0.5; T <= 4.0; T *= 2.0) {
      const dpm_sm_selfcons_result r = run(mix, T);
      assert_close(r.tv_ode_data, r.tv_prior, h * h, 0.0);
      assert_true(r.tv_sde_data < (1.0 - h * h) * r.tv_prior);
      assert_true(r.tv_sde_ode >= (1.0 - h * h) * r.tv_prior - r.tv_sde_data);
      assert_true(r.defect > 0.0);
    }
    dpm_mixture_free(mix);
  }
}

/* The rates in T. With r - 1 expanded in the OU eigenfunctions (Hermite polynomials), the mode n of q_T/N(0, 1) -
 * 1 decays like e^{-nT} and the conditional expectation E[. | X_0] damps it by another e^{-nT}: gmm1d's leading
 * mode is the mean (n = 1), so tv_ode = tv_prior ~ e^{-T}, tv_sde ~ e^{-2T} and the defect, a squared gradient of
 * h_0 - 1, ~ e^{-4T}, each up to a relative O(e^{-T}) from the next mode. The slopes of the logs over [4, 5] are
 * asserted within e^{-4}. */
static void test_rates(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  const dpm_sm_selfcons_result a = run(mix, 4.0), b = run(mix, 5.0);
  const double tol = exp(-4.0);
  assert_close(log(b.tv_ode_data / a.tv_ode_data), -1.0, 0.0, tol);
  assert_close(log(b.tv_sde_data / a.tv_sde_data), -2.0, 0.0, tol);
  assert_close(log(b.defect / a.defect), -4.0, 0.0, tol);
  dpm_mixture_free(mix);
}

/* The closed form against the Euler–Maruyama chain of the TV study (dpm_sm_tv_reverse with eta = 0 runs the same
 * reverse SDE from the same prior): |tv_N - tv_sde_data| <= TV(chain_N, p^SDE_0) = O(gamma), so the differences
 * fall at least by the factor 2 of Euler–Maruyama's weak order 1 at each halving of the step (asserted with 10%
 * for the O(gamma^2) remainder), and at N = 800 they are below the chain's own step error from q_T times 2. */
static void test_against_chain(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  const dpm_sm_selfcons_result r = run(mix, 2.0);
  double prev = NAN;
  for (size_t N = 100; N <= 800; N *= 2) {
    dpm_sm_tv_result t;
    assert_int_equal(dpm_sm_tv_reverse(mix, 2.0, N, 0.0, 0.0, 0.0, &t), DPM_SUCCESS);
    const double e = fabs(t.tv - r.tv_sde_data);
    if (N > 100) assert_true(prev / e >= 1.8);
    if (N == 800) assert_true(e <= 2.0 * t.tv_disc);
    prev = e;
  }
  dpm_mixture_free(mix);
}

static void test_threads_and_errors(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  dpm_sm_selfcons_result a, b, r;
  const int nth = omp_get_max_threads();
  omp_set_num_threads(1);
  assert_int_equal(dpm_sm_selfcons_ou(mix, 1.5, 0, 0, &a), 0);
  omp_set_num_threads(2);
  assert_int_equal(dpm_sm_selfcons_ou(mix, 1.5, 0, 0, &b), 0);
  omp_set_num_threads(nth);
  assert_memory_equal(&a, &b, sizeof a);
  assert_raises(dpm_sm_selfcons_ou(NULL, 1.0, 0, 0, &r), GSL_EINVAL, "NULL");
  assert_raises(dpm_sm_selfcons_ou(mix, 0.0, 0, 0, &r), GSL_EDOM, "T");
  assert_raises(dpm_sm_selfcons_ou(mix, NAN, 0, 0, &r), GSL_EDOM, "T");
  assert_raises(dpm_sm_selfcons_ou(mix, 1.0, 0.5, 0, &r), GSL_EDOM, "grid step");
  assert_raises(dpm_sm_selfcons_ou(mix, 1.0, 1e-4, 0, &r), GSL_EINVAL, "grid points");
  dpm_mixture *ring = dpm_test_mixture("ring8"), *pts = dpm_test_mixture("sample:of=gmm1d,n=5");
  assert_raises(dpm_sm_selfcons_ou(ring, 1.0, 0, 0, &r), GSL_EINVAL, "1-D");
  assert_raises(dpm_sm_selfcons_ou(pts, 1.0, 0, 0, &r), GSL_EINVAL, "density");
  dpm_mixture_free(ring);
  dpm_mixture_free(pts);
  dpm_mixture_free(mix);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_self_consistent_gaussian),
      cmocka_unit_test(test_not_self_consistent),
      cmocka_unit_test(test_rates),
      cmocka_unit_test(test_against_chain),
      cmocka_unit_test(test_threads_and_errors),
  };
  return cmocka_run_group_tests_name("scorematch_selfcons", tests, NULL, NULL);
}
