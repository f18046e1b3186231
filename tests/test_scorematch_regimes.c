/* test_scorematch_regimes.c — the dynamical regimes of the ideal denoiser (Biroli, Bonnaire, de Bortoli & Mézard
 * 2024; docs/MATH.md §4.4): the collapse time falls as the training set grows (more points, closer together, need
 * less noise to tell apart) while the speciation time does not depend on n within its standard error; speciation
 * moves with d by the predicted log(Lambda)/2; the predictors against closed forms (the top eigenvalue of the
 * two-class model, and the excess-entropy root for Gaussian data); 1 and 2 threads bit for bit; the command's rows
 * equal to the library's; every bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#include "dpmlab.h"
#include "dpm_scorematch.h"
#include "testutil.h"

static dpm_sm_regimes_result run(size_t d, size_t n, uint64_t seed)
{
  dpm_mixture *mix = dpm_sm_two_class_alloc(d, 1.0, 1.0);
  assert_non_null(mix);
  dpm_sm_regimes_params par;
  dpm_sm_regimes_params_default(&par);
  par.n = n;
  par.trajectories = 100;
  par.steps = 100;
  par.seed = seed;
  dpm_sm_regimes_result r;
  assert_int_equal(dpm_sm_regimes_run(mix, &par, &r), DPM_SUCCESS);
  assert_true(r.collapsed == 1.0); /* at t_min = 1e-4 every trajectory sits on one training point */
  assert_true(r.t_s > r.t_c);      /* the class is decided before the point */
  dpm_mixture_free(mix);
  return r;
}

static double comb(double a, double b) { return sqrt(a * a + b * b); }

/* n = 50 against n = 400 at d = 16 (independent training sets and noises): the collapse time falls by more than 4
 * combined standard errors, the speciation time agrees within 4 (it is set by the data's covariance, not by n). */
static void test_against_n(void **state)
{
  (void)state;
  const dpm_sm_regimes_result a = run(16, 50, 1), b = run(16, 400, 2);
  assert_true(a.t_c - b.t_c > 4.0 * comb(a.t_c_se, b.t_c_se));
  assert_close(a.t_s, b.t_s, 0.0, 4.0 * comb(a.t_s_se, b.t_s_se));
}

/* d = 16 against d = 64: the speciation time moves by log(Lambda_64/Lambda_16)/2 = log(65/17)/2 within 4 combined
 * standard errors (the prediction's O(1) offset cancels in the difference). */
static void test_speciation_against_d(void **state)
{
  (void)state;
  const dpm_sm_regimes_result a = run(16, 50, 3), b = run(64, 50, 4);
  assert_close(b.t_s - a.t_s, 0.5 * log(65.0 / 17.0), 0.0, 4.0 * comb(a.t_s_se, b.t_s_se));
}

/* The predictors. t_s: log(d mu^2 + sigma^2)/2 (the two-class covariance's top eigenvalue) to rounding. t_c for
 * Gaussian data N(0, s^2 I): the excess entropy is (d/2) log(1 + e^{-2t} s^2/Delta_t) - log n in closed form, zero
 * at t = log(1 + s^2/(n^{2/d} - 1))/2; the predictor's Monte Carlo entropy (20000 draws) errs by SE =
 * sqrt(d/2/20000) nats, which moves the root by SE/|f'(t_c)|: asserted within 4 of that. */
static void test_predictors(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_sm_two_class_alloc(16, 0.5, 2.0);
  double ts, tc;
  assert_int_equal(dpm_sm_regimes_predict(mix, 100, &ts, &tc), DPM_SUCCESS);
  assert_close(ts, 0.5 * log(16 * 0.25 + 4.0), 1e-12, 0.0);
  assert_true(tc > 0.0 && tc < ts);
  dpm_mixture_free(mix);
  const double d = 4, s2 = 4.0, n = 100;
  dpm_mixture *g = dpm_test_mixture("gauss:d=4,sd=2");
  assert_int_equal(dpm_sm_regimes_predict(g, (size_t)n, &ts, &tc), DPM_SUCCESS);
  const double t = 0.5 * log(1.0 + s2 / (pow(n, 2.0 / d) - 1.0)), e = exp(-2.0 * t), D = 1.0 - e, v = e * s2 + D;
  const double fp = 0.5 * d * (2.0 * e * (1.0 - s2) / v - 2.0 * e / D), se = sqrt(d / 2.0 / 20000.0);
  assert_close(tc, t, 0.0, 4.0 * se / fabs(fp));
  dpm_mixture_free(g);
}

static void test_threads(void **state)
{
  (void)state;
  const int nth = omp_get_max_threads();
  omp_set_num_threads(1);
  const dpm_sm_regimes_result a = run(8, 60, 5);
  omp_set_num_threads(2);
  const dpm_sm_regimes_result b = run(8, 60, 5);
  omp_set_num_threads(nth);
  assert_memory_equal(&a, &b, sizeof a);
}

static void test_cli_and_errors(void **state)
{
  (void)state;
  char *out =
      dpm_test_run_ok("regimes --d 8 --n 60,120 --trajectories 100 --steps 100 --seed 5 --no-predict", NULL);
  const char *hdr = "d,n,lambda,t_s,t_s_se,t_s_pred,t_c,t_c_se,t_c_pred,collapsed\n";
  assert_true(strncmp(out, hdr, strlen(hdr)) == 0);
  const char *p = out + strlen(hdr);
  const size_t ns[2] = {60, 120};
  for (int b = 0; b < 2; b++) {
    double v[10];
    for (int k = 0; k < 10; k++) {
      char *end;
      v[k] = strtod(p, &end);
      assert_true(end != p);
      p = end + 1;
    }
    const dpm_sm_regimes_result r = run(8, ns[b], 5);
    assert_true(v[0] == 8 && v[1] == (double)ns[b] && v[2] == 9.0);
    assert_true(v[3] == r.t_s && v[4] == r.t_s_se && v[6] == r.t_c && v[7] == r.t_c_se && v[9] == r.collapsed);
    assert_true(isnan(v[5]) && isnan(v[8]));
  }
  free(out);
  dpm_mixture *mix = dpm_sm_two_class_alloc(4, 1.0, 1.0), *plain = dpm_test_mixture("gauss:d=4,sd=1");
  dpm_sm_regimes_params par;
  dpm_sm_regimes_params_default(&par);
  dpm_sm_regimes_result r;
  assert_raises(dpm_sm_regimes_run(plain, &par, &r), GSL_EINVAL, "labels");
  par.n = 1;
  assert_raises(dpm_sm_regimes_run(mix, &par, &r), GSL_EINVAL, "training points");
  dpm_sm_regimes_params_default(&par);
  par.margin = 0.5;
  assert_raises(dpm_sm_regimes_run(mix, &par, &r), GSL_EDOM, "margin");
  dpm_sm_regimes_params_default(&par);
  par.t_min = 20.0;
  assert_raises(dpm_sm_regimes_run(mix, &par, &r), GSL_EDOM, "t_min");
  assert_null(dpm_sm_two_class_alloc(0, 1.0, 1.0));
  assert_null(dpm_sm_two_class_alloc(4, NAN, 1.0));
  dpm_mixture_free(mix);
  dpm_mixture_free(plain);
  const char *o = "/tmp/dpm_sm_regimes_out.csv";
  const struct {
    const char *args;
    int code;
    const char *needle;
  } cases[] = {
      {"regimes --n 1", 2, "--n"},
      {"regimes --d 0", 2, "--d"},
      {"regimes --d 4,x", 2, "--d"},
      {"regimes --n 2.5", 2, "--n"},
      {"regimes --mu -1", 2, "--mu"},
      {"regimes --sigma nan", 2, "--sigma"},
      {"regimes --margin 0.7 --no-predict", 1, "margin"},
      {"regimes --t-min 20 --no-predict", 1, "t_min"},
      {"regimes --trajectories 1 --no-predict", 1, "trajectories"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    dpm_test_expect_failure(cases[i].args, NULL, o, cases[i].code, cases[i].needle, i);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_against_n),      cmocka_unit_test(test_speciation_against_d),
      cmocka_unit_test(test_predictors),     cmocka_unit_test(test_threads),
      cmocka_unit_test(test_cli_and_errors),
  };
  return cmocka_run_group_tests_name("scorematch_regimes", tests, NULL, NULL);
}
