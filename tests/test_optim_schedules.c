/* test_optim_schedules.c — the schedules of Permenter & Yuan's schedule table (arXiv 2306.04848, Table 1;
 * docs/MATH.md §2.10) and their admissibility: DDIM's uniform discrete steps and "DDIM offset" (the same spacing
 * started at the step whose sigma reaches 40) as timelines, step for step against their definition, on the
 * discrete DDPM and mapped to sigma on the EDM process; all four schedules of the table (ddim, ddim offset, edm,
 * loglinear) taken by ddim and ge at equal N with exactly N evaluations; the refusals. Admissibility, re-derived:
 * with one point Y = {0} the scaled denoisers sigma eps = (1 +- eta) x have relative error exactly eta and walk
 * DDIM exactly along the lower and the upper bound, so the largest admissible log-linear beta is where one of them
 * leaves the band: just below it both stay inside, just above it one leaves.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpmlab.h"
#include "testutil.h"

#define EPSU DBL_EPSILON

static double sig_n(const dpm_schedule *sch, size_t n) { return sqrt(sch->beta_bar[n] / sch->alpha_bar[n]); }

/* The steps n_i = 1 + floor((n0 - 1)(K - i)/K) on the ddpm process, written out for K = 10 and K = 3 from n0 =
 * 1000 (999 (K - i)/K: 999, 899.1, ...; 999, 666, 333), and the offset start: the first n with sigma_n >= 40. */
static void test_ddim_steps(void **state)
{
  (void)state;
  dpm_schedule *sch = dpm_schedule_linear_alloc(1000, 1e-4, 0.02);
  dpm_process p;
  assert_int_equal(dpm_process_init_schedule(&p, sch), DPM_SUCCESS);
  dpm_timeline *tl = dpm_timeline_alloc(20);
  assert_int_equal(dpm_timeline_set_ddim(tl, &p, NULL, 10, INFINITY), DPM_SUCCESS);
  const size_t want10[11] = {1000, 900, 800, 700, 600, 500, 400, 300, 200, 100, 1};
  for (size_t i = 0; i <= 10; i++)
    assert_int_equal(tl->n[i], want10[i]);
  assert_int_equal(dpm_timeline_set_ddim(tl, &p, NULL, 3, 1e300), DPM_SUCCESS);
  const size_t want3[4] = {1000, 667, 334, 1};
  for (size_t i = 0; i <= 3; i++)
    assert_int_equal(tl->n[i], want3[i]);
  size_t n0 = 0;
  for (size_t n = 1; n <= 1000 && !n0; n++)
    if (sig_n(sch, n) >= 40.0) n0 = n;
  assert_true(n0 > 1 && n0 < 1000 && sig_n(sch, n0 - 1) < 40.0);
  assert_int_equal(dpm_timeline_set_ddim(tl, &p, NULL, 10, 40.0), DPM_SUCCESS);
  for (size_t i = 0; i <= 10; i++)
    assert_int_equal(tl->n[i], 1 + (n0 - 1) * (10 - i) / 10);
  assert_raises(dpm_timeline_set_ddim(tl, &p, NULL, 20, sig_n(sch, 15)), GSL_EINVAL, "do not fit"); /* n0 = 15 */
  dpm_timeline_free(tl);
  dpm_process_clear(&p);
  dpm_schedule_free(sch);
}

/* On the EDM process over the DDPM's sigma range (t = sigma) the points are the DDPM's sigma_{n_i} (to the
 * clamp at the two ends, a relative 1e-12); a narrower process refuses plain DDIM (sigma_1000 = 157 > 80) and
 * takes the offset (40 < 80). Then the four schedules of the table at N = 10, each walked by ddim and ge from the
 * same starts: exactly N evaluations, finite end points. */
static void test_table_schedules(void **state)
{
  (void)state;
  dpm_schedule *sch = dpm_schedule_linear_alloc(1000, 1e-4, 0.02);
  char spec[128];
  snprintf(spec, sizeof spec, "edm:sigma_min=%.17g,sigma_max=%.17g", sig_n(sch, 1), sig_n(sch, 1000));
  dpm_process p, narrow;
  assert_int_equal(dpm_process_parse(&p, spec), DPM_SUCCESS);
  assert_int_equal(dpm_process_parse(&narrow, "edm:sigma_min=0.002,sigma_max=80"), DPM_SUCCESS);
  enum { K = 10, NS = 64 };
  dpm_timeline *tl = dpm_timeline_alloc(K);
  assert_int_equal(dpm_timeline_set_ddim(tl, &p, sch, K, INFINITY), DPM_SUCCESS);
  for (size_t i = 0; i <= K; i++)
    dpm_test_assert_close(tl->s[i], sig_n(sch, 1 + 999 * (K - i) / K), 1e-12, 0.0, "ddim sigma", __FILE__,
                          __LINE__);
  assert_raises(dpm_timeline_set_ddim(tl, &narrow, sch, K, INFINITY), GSL_EDOM, "outside");
  assert_int_equal(dpm_timeline_set_ddim(tl, &narrow, sch, K, 40.0), DPM_SUCCESS);
  assert_true(tl->s[0] >= 40.0 && tl->s[0] < 41.0);
  dpm_mixture *mix = dpm_test_mixture("ring8");
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  double x[NS * 2];
  dpm_sampler_params par;
  dpm_sampler_params_default(&par);
  const dpm_sampler_type *T[2] = {&dpm_sampler_ddim, &dpm_sampler_ge};
  for (int g = 0; g < 4; g++) {
    if (g == 0) assert_int_equal(dpm_timeline_set_ddim(tl, &p, sch, K, INFINITY), DPM_SUCCESS);
    if (g == 1) assert_int_equal(dpm_timeline_set_ddim(tl, &p, sch, K, 40.0), DPM_SUCCESS);
    if (g == 2) assert_int_equal(dpm_timeline_set_grid(tl, &p, "edm", K, 7.0), DPM_SUCCESS);
    if (g == 3) assert_int_equal(dpm_timeline_set_grid(tl, &p, "loglinear", K, 0.0), DPM_SUCCESS);
    assert_int_equal(tl->K, K);
    dpm_test_assert_close(tl->s[K], sig_n(sch, 1), 1e-12, 0.0, "every grid ends at sigma_1", __FILE__, __LINE__);
    for (int a = 0; a < 2; a++) {
      dpm_test_gaussian_starts(NS, 2, tl->s[0], 3, x);
      assert_int_equal(dpm_test_sampler_run(T[a], dn, tl, &par, 5, NS, x), K);
      for (size_t i = 0; i < NS * 2; i++)
        assert_true(isfinite(x[i]));
    }
  }
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
  dpm_timeline_free(tl);
  dpm_process_clear(&narrow);
  dpm_process_clear(&p);
  dpm_schedule_free(sch);
}

/* The two-sided bound is attained: with Y = {0}, eps*(x, sigma) = x/sigma, and the scaled model c eps* has
 * |sigma c eps* - (x - proj x)| = |c - 1| dist everywhere: relative error eta = |c - 1|. DDIM multiplies x by
 * 1 - beta c, i.e. by the lower factor 1 - beta (eta + 1) for c = 1 + eta and by the upper 1 + beta (eta - 1) for
 * c = 1 - eta, so these two walks are the bounds (checked to rounding) and every other model with error eta lies
 * between them. Admissibility asks exactly that both keep dist/(sqrt(d) sigma) in [1/nu, nu] at every iterate:
 * at beta_max (1 - 1e-6) both do; at beta_max (1 + 1e-6) one leaves (a margin of ~1e-6 N in the ratio, far above
 * rounding). The measured relative error of both models is eta to rounding. */
static void test_admissible_tight(void **state)
{
  (void)state;
  enum { D = 4, NMAX = 40 };
  const double Y[D] = {0.0, 0.0, 0.0, 0.0}, nu = 2.0;
  dpm_mixture *mix = dpm_test_points(1, D, Y, NULL);
  dpm_denoiser *ex = dpm_denoiser_oracle_alloc(mix);
  const double etas[] = {0.1, 0.3, 0.6}, r0s[] = {1.0, 0.7, 1.6};
  const size_t Ns[] = {5, 20, NMAX};
  for (int e = 0; e < 3; e++) {
    dpm_denoiser *lo_dn = dpm_denoiser_scaled_alloc(ex, 1.0 + etas[e]);
    dpm_denoiser *hi_dn = dpm_denoiser_scaled_alloc(ex, 1.0 - etas[e]);
    double eta_lo, eta_hi;
    assert_int_equal(
        dpm_optim_relerr_measure(1, D, Y, lo_dn, DPM_OPTIM_GRAD_TRUE, nu, 0.01, 1.0, 200, 1, &eta_lo, NULL, NULL),
        DPM_SUCCESS);
    assert_int_equal(
        dpm_optim_relerr_measure(1, D, Y, hi_dn, DPM_OPTIM_GRAD_TRUE, nu, 0.01, 1.0, 200, 1, &eta_hi, NULL, NULL),
        DPM_SUCCESS);
    dpm_test_assert_close(eta_lo, etas[e], 64 * EPSU, 0.0, "eta of c = 1 + eta", __FILE__, __LINE__);
    dpm_test_assert_close(eta_hi, etas[e], 64 * EPSU, 0.0, "eta of c = 1 - eta", __FILE__, __LINE__);
    for (int a = 0; a < 3; a++)
      for (int c = 0; c < 3; c++) {
        const size_t N = Ns[a];
        double bmax;
        assert_int_equal(dpm_optim_loglinear_beta_max(N, etas[e], nu, r0s[c], 0.95, &bmax), DPM_SUCCESS);
        assert_true(bmax > 0.0 && bmax < 0.95);
        for (int side = 0; side < 2; side++) {
          const double beta = bmax * (side ? 1.0 + 1e-6 : 1.0 - 1e-6);
          double sig[NMAX + 1], x[D] = {r0s[c] * sqrt((double)D) * 1.0, 0.0, 0.0, 0.0};
          for (size_t t = 0; t <= N; t++)
            sig[t] = pow(1.0 - beta, (double)t);
          int left = 0;
          for (int w = 0; w < 2; w++) {
            double dist[NMAX + 1], lo[NMAX + 1], hi[NMAX + 1];
            assert_int_equal(
                dpm_optim_ddim_bound(1, D, Y, w ? hi_dn : lo_dn, N, sig, etas[e], x, dist, lo, hi, NULL, NULL),
                DPM_SUCCESS);
            for (size_t t = 1; t <= N; t++) {
              dpm_test_assert_close(dist[t], w ? hi[t] : lo[t], 64 * EPSU * (double)t, 0.0, "bound attained",
                                    __FILE__, __LINE__);
              const double ratio = dist[t] / (sqrt((double)D) * sig[t]);
              left |= ratio < 1.0 / nu || ratio > nu;
            }
          }
          assert_int_equal(left, side);
          assert_int_equal(dpm_optim_schedule_admissible(N, sig, etas[e], nu, r0s[c]), !side);
        }
      }
    dpm_denoiser_free(hi_dn);
    dpm_denoiser_free(lo_dn);
  }
  dpm_denoiser_free(ex);
  dpm_mixture_free(mix);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ddim_steps),
      cmocka_unit_test(test_table_schedules),
      cmocka_unit_test(test_admissible_tight),
  };
  return cmocka_run_group_tests_name("optim_schedules", tests, NULL, NULL);
}
