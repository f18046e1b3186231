/* test_scorematch_tv.c — the total-variation study of the reverse SDE in 1-D (De Bortoli et al. 2021, Thm 1;
 * docs/MATH.md §4.4), whose numbers have no Monte Carlo error: the prior mismatch under its Pinsker bound and
 * decaying with slope -1 in T; the chain's TV under prior + discretisation (the kernel contracts TV); the
 * discretisation term with the measured slope 1 in the step size (Euler–Maruyama's weak order, steeper than the
 * bound's 1/2); the score-error term under its Girsanov bound and linear in eta; the grid resolved (halving h
 * changes nothing that matters); tv <= prior + steps + score terms; the command's rows equal to the library's; the
 * same bits for 1 and 2 threads; the errors. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#include "dpmlab.h"
#include "dpm_scorematch.h"
#include "testutil.h"

static dpm_sm_tv_result run(const dpm_mixture *mix, double T, size_t N, double eta)
{
  dpm_sm_tv_result r;
  assert_int_equal(dpm_sm_tv_reverse(mix, T, N, eta, 0.0, 0.0, &r), DPM_SUCCESS);
  assert_true(r.mass_lost < 1e-12);
  return r;
}

/* The prior term: TV(N(0,1), q_T) = c e^{-T} (1 + O(e^{-T})) (the slowest OU mode is the mean, decaying like
 * e^{-T}; the next, the variance, like e^{-2T}), so the slope of log TV over [T, T + 1] is -1 + O(e^{-T});
 * asserted within e^{-T}. The Pinsker bound holds at every T, and so does tv <= tv_prior + tv_disc (data
 * processing: one Markov kernel applied to both starts). */
static void test_prior_term(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  double prev = NAN;
  for (int T = 1; T <= 6; T++) {
    const dpm_sm_tv_result r = run(mix, T, (size_t)(40 * T), 0.0);
    assert_true(r.tv_prior <= r.prior_bound);
    assert_true(r.tv <= r.tv_prior + r.tv_disc + 1e-12); /* eta = 0: tv_score = 0 */
    assert_true(r.tv_score == 0.0);
    if (T >= 4) {
      const double slope = log(r.tv_prior) - log(prev);
      assert_close(slope, -1.0, 0.0, exp(-(T - 1)));
    }
    prev = r.tv_prior;
  }
  dpm_mixture_free(mix);
}

/* The discretisation term at T = 6 (prior mismatch 8e-4, far below): Euler–Maruyama has weak order 1, so tv_disc =
 * a gamma + O(gamma^2) and the slope over a halving of gamma is 1 + O(gamma); at gamma <= 0.04 the correction is a
 * few per cent, asserted within 0.05. It is at least the rate 1/2 of the theorem's bound. The output from the
 * prior equals it to within the prior term. */
static void test_step_term(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  const dpm_sm_tv_result a = run(mix, 6.0, 150, 0.0), b = run(mix, 6.0, 300, 0.0);
  const double slope = log(a.tv_disc / b.tv_disc) / log(2.0);
  assert_close(slope, 1.0, 0.0, 0.05);
  assert_true(slope >= 0.5);
  assert_close(b.tv, b.tv_disc, 0.0, b.tv_prior);
  /* the grid resolves the chain: halving h moves tv_disc by far less than its own size (the |p - q| integrand's
   * kinks make the grid sum O(h^2)) */
  dpm_sm_tv_result c;
  assert_int_equal(dpm_sm_tv_reverse(mix, 6.0, 150, 0.0, 0.01, 0.0, &c), DPM_SUCCESS);
  assert_close(c.tv_disc, a.tv_disc, 1e-3, 0.0);
  dpm_mixture_free(mix);
}

/* The score-error term: tv_score = TV(output with eta, output without) <= eta sqrt(gamma sum E s^2 / 2) (Girsanov,
 * then Pinsker) at every eta, and so is |tv(eta) - tv(0)|; the three terms bound the total. The output's law is a
 * smooth function of eta with a non-zero first derivative, so tv_score = a eta + O(eta^2): the slope of its log
 * over a doubling of eta is 1 + O(eta), asserted within 4 eta. */
static void test_score_term(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  const dpm_sm_tv_result r0 = run(mix, 5.0, 250, 0.0);
  double ts[3];
  const double etas[3] = {0.01, 0.02, 0.04};
  for (int i = 0; i < 3; i++) {
    const dpm_sm_tv_result r = run(mix, 5.0, 250, etas[i]);
    assert_true(r.tv_score <= r.score_bound);
    assert_true(fabs(r.tv - r0.tv) <= r.tv_score + 1e-12);
    assert_true(r.tv <= r.tv_prior + r.tv_disc + r.tv_score + 1e-12);
    assert_true(r.tv_disc == r0.tv_disc); /* the steps term does not see eta */
    ts[i] = r.tv_score;
  }
  assert_close(log(ts[1] / ts[0]) / log(2.0), 1.0, 0.0, 4 * etas[1]);
  assert_close(log(ts[2] / ts[1]) / log(2.0), 1.0, 0.0, 4 * etas[2]);
  assert_true(r0.score_bound == 0.0);
  dpm_mixture_free(mix);
}

static void test_cli_and_errors(void **state)
{
  (void)state;
  char *out = dpm_test_run_ok("tv-bound --data gmm1d --T-list 2,3 --steps-list 60 --score-error-list 0,0.1", NULL);
  const char *hdr = "T,steps,gamma,score_error,tv,tv_prior,prior_bound,tv_disc,tv_score,score_bound,mass_lost\n";
  assert_true(strncmp(out, hdr, strlen(hdr)) == 0);
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  const char *p = out + strlen(hdr);
  const double Ts[2] = {2, 3}, es[2] = {0, 0.1};
  for (int a = 0; a < 2; a++)
    for (int c = 0; c < 2; c++) {
      double v[11];
      for (int k = 0; k < 11; k++) {
        char *end;
        v[k] = strtod(p, &end);
        assert_true(end != p);
        p = end + 1;
      }
      const dpm_sm_tv_result r = run(mix, Ts[a], 60, es[c]);
      assert_true(v[0] == Ts[a] && v[1] == 60 && v[3] == es[c]);
      assert_true(v[4] == r.tv && v[5] == r.tv_prior && v[6] == r.prior_bound && v[7] == r.tv_disc);
      assert_true(v[8] == r.tv_score && v[9] == r.score_bound);
    }
  free(out);
  /* the batch in parallel: the same bits for 1 and 2 threads */
  {
    const double Tb[3] = {1.0, 2.0, 3.0}, eb[3] = {0.0, 0.05, 0.1};
    const size_t Nb[3] = {20, 40, 60};
    dpm_sm_tv_result a1[3], a2[3];
    const int nth = omp_get_max_threads();
    omp_set_num_threads(1);
    assert_int_equal(dpm_sm_tv_reverse_batch(mix, 3, Tb, Nb, eb, 0, 0, a1), 0);
    omp_set_num_threads(2);
    assert_int_equal(dpm_sm_tv_reverse_batch(mix, 3, Tb, Nb, eb, 0, 0, a2), 0);
    omp_set_num_threads(nth);
    assert_memory_equal(a1, a2, sizeof a1);
  }
  dpm_sm_tv_result r;
  assert_raises(dpm_sm_tv_reverse(mix, 0.0, 10, 0.0, 0, 0, &r), GSL_EDOM, "T");
  assert_raises(dpm_sm_tv_reverse(mix, 1.0, 0, 0.0, 0, 0, &r), GSL_EDOM, "steps");
  assert_raises(dpm_sm_tv_reverse(mix, 1.0, 10, NAN, 0, 0, &r), GSL_EDOM, "eta");
  assert_raises(dpm_sm_tv_reverse(mix, 1.0, 10, 0.0, 1e-9, 0, &r), GSL_EINVAL, "grid points");
  dpm_mixture *ring = dpm_test_mixture("ring8"), *pts = dpm_test_mixture("sample:of=gmm1d,n=5");
  assert_raises(dpm_sm_tv_reverse(ring, 1.0, 10, 0.0, 0, 0, &r), GSL_EINVAL, "1-D");
  assert_raises(dpm_sm_tv_reverse(pts, 1.0, 10, 0.0, 0, 0, &r), GSL_EINVAL, "density");
  dpm_mixture_free(ring);
  dpm_mixture_free(pts);
  dpm_mixture_free(mix);
  const char *o = "/tmp/dpm_sm_tv_out.csv";
  const struct {
    const char *args;
    int code;
    const char *needle;
  } cases[] = {
      {"tv-bound --data gmm1d --steps-list 10", 2, "T-list"},
      {"tv-bound --data gmm1d --T-list 1 --steps-list 10,x", 2, "steps-list"},
      {"tv-bound --data gmm1d --T-list 1 --steps-list 2.5", 2, "steps-list"},
      {"tv-bound --data gmm1d --T-list -1 --steps-list 10", 2, "T-list"},
      {"tv-bound --data gmm1d --T-list 1 --steps-list 10 --score-error-list nan", 2, "score-error-list"},
      {"tv-bound --data gmm1d --T-list 100 --steps-list 10", 1, "T = 100"},
      {"tv-bound --data ring8 --T-list 1 --steps-list 10", 1, "1-D"},
      {"tv-bound --data nosuch --T-list 1 --steps-list 10", 1, "nosuch"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    dpm_test_expect_failure(cases[i].args, NULL, o, cases[i].code, cases[i].needle, i);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_prior_term),
      cmocka_unit_test(test_step_term),
      cmocka_unit_test(test_score_term),
      cmocka_unit_test(test_cli_and_errors),
  };
  return cmocka_run_group_tests_name("scorematch_tv", tests, NULL, NULL);
}
