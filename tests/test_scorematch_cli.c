/* test_scorematch_cli.c — `dpmlab score-matching` and `dpmlab train` (docs/MATH.md §4.4): the contract's columns,
 * the row equal bit for bit to the library's objectives on the same draws, the DSM fit of an affine score within
 * its sampling error, the DSM fit of a mixture's means, the model file read back by score-matching and by `dpmlab
 * sample --denoiser model:FILE`, and every bad input as one stderr line with a non-zero exit and no output file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpmlab.h"
#include "testutil.h"

#define HEADER "fisher,fisher_se,sm,sm_se,dsm,dsm_se,ssm,ssm_se,dsm_minus_sm,fisher_minus_sm\n"

/* The ten numbers of the row after the header. */
static void parse_row(const char *out, double v[10])
{
  const char *p = strstr(out, HEADER);
  assert_non_null(p);
  p += strlen(HEADER);
  for (int i = 0; i < 10; i++) {
    char *end;
    v[i] = strtod(p, &end);
    assert_true(end != p);
    p = end + 1;
  }
}

static void test_contract(void **state)
{
  (void)state;
  char *out = dpm_test_run_ok("score-matching --data ring8 --process vp --t 0.4 --model perturbed:delta=0.3 "
                              "--mc 3000 --seed 7",
                              NULL);
  assert_true(strncmp(out, HEADER, strlen(HEADER)) == 0);
  double v[10];
  parse_row(out, v);
  /* the library on the same draws */
  dpm_mixture *mix = dpm_test_mixture("ring8");
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, "vp"), DPM_SUCCESS);
  double m, s;
  assert_int_equal(dpm_process_ms(&p, 0.4, &m, &s), DPM_SUCCESS);
  dpm_sm_model *md = dpm_sm_model_perturbed_alloc(mix, 0.3, 0.0);
  dpm_sm_objectives o;
  assert_int_equal(dpm_sm_objectives_eval(mix, md, m, s, 3000, 7, &o), DPM_SUCCESS);
  const double want[10] = {o.fisher, o.fisher_se, o.sm,     o.sm_se,        o.dsm,
                           o.dsm_se, o.ssm,       o.ssm_se, o.dsm_minus_sm, o.fisher_minus_sm};
  for (int i = 0; i < 10; i++)
    assert_true(v[i] == want[i]);
  dpm_sm_model_free(md);
  dpm_mixture_free(mix);
  free(out);
  /* --help names the units */
  out = dpm_test_run_ok("score-matching --help", NULL);
  assert_non_null(strstr(out, "Totals over the d coordinates"));
  free(out);
}

/* The DSM fit of a Gaussian's affine score with a degree-1 basis: the fitted eps-prediction errs by a Gaussian
 * of covariance c_i G^{-1}/M per coordinate (c_i = Var(eps_i|x), G = E phi phi^T), so the Fisher divergence of
 * the fit is (1/s^2) sum_i c_i chi^2_P/M in distribution, mean (1/s^2) sum_i c_i P/M. It must stay below five
 * times that mean (a chi^2 with d P = 6 degrees of freedom exceeds 5 x 6 with probability 4e-5) plus 4 standard
 * errors of its own estimate. */
static void test_fit_gaussian(void **state)
{
  (void)state;
  const size_t M = 20000;
  char *out = dpm_test_run_ok("score-matching --data gauss:d=2,sd=1.5 --process vp --t 0.2 --model "
                              "linear:basis=poly,size=1 --fit --mc 20000 --seed 3",
                              NULL);
  double v[10];
  parse_row(out, v);
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, "vp"), DPM_SUCCESS);
  double m, s;
  assert_int_equal(dpm_process_ms(&p, 0.2, &m, &s), DPM_SUCCESS);
  const double var = 2.25, c = m * m * var / (m * m * var + s * s), mean = 2.0 * c * 3.0 / (double)M / (s * s);
  assert_true(v[0] >= 0.0);
  assert_true(v[0] <= 5.0 * mean + 4.0 * v[1]);
  /* an unfitted (theta = 0) model has fisher = E|grad log q|^2 = d/(m^2 var + s^2) */
  free(out);
  out = dpm_test_run_ok("score-matching --data gauss:d=2,sd=1.5 --process vp --t 0.2 --model "
                        "linear:basis=poly,size=1 --mc 20000 --seed 3",
                        NULL);
  parse_row(out, v);
  assert_within_se(v[0], v[1], 2.0 / (m * m * var + s * s), 4.0);
  free(out);
}

/* --model mixture:delta=D --fit: the means fitted by DSM at t; the Fisher divergence of the fit (a parameter error
 * of order M^{-1/2} costs of order 1/M) falls far below that of the start, and an unknown option is refused. */
static void test_fit_mixture(void **state)
{
  (void)state;
  double v0[10], v1[10];
  char *out = dpm_test_run_ok("score-matching --data gmm1d --t 0.3 --model mixture:delta=0.5 --mc 4000", NULL);
  parse_row(out, v0);
  free(out);
  out = dpm_test_run_ok("score-matching --data gmm1d --t 0.3 --model mixture:delta=0.5 --fit --mc 4000", NULL);
  parse_row(out, v1);
  free(out);
  assert_true(v1[0] < 0.01 * v0[0]);
  dpm_test_expect_failure("score-matching --data gmm1d --t 0.3 --model mixture:shift=1 --fit", NULL,
                          "/tmp/dpm_sm_never.csv", 2, "shift", 0);
}

/* train writes a model file; score-matching --model file: and sample --denoiser model: read it. */
static void test_train_roundtrip(void **state)
{
  (void)state;
  char path[] = "/tmp/dpm_sm_trainXXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  remove(path);
  char cmd[512];
  snprintf(
      cmd, sizeof cmd,
      "train --data gmm1d --process vp --model linear:basis=bump,size=16,ell=0.4 --weighting sigma2 --n 20000 "
      "--knots 8 --seed 2 --out %s",
      path);
  char *out = dpm_test_run_ok(cmd, NULL);
  assert_string_equal(out, "");
  free(out);
  dpm_sm_linear *L = dpm_sm_linear_read(path);
  assert_non_null(L);
  assert_int_equal(dpm_sm_linear_nknots(L), 8);
  assert_int_equal(dpm_sm_linear_nfeatures(L), 18);
  dpm_sm_linear_free(L);
  /* the trained model is close to the exact score at a middle time: its Fisher divergence is a small fraction of
   * E|grad log q|^2 (the divergence of the zero model) */
  snprintf(cmd, sizeof cmd, "score-matching --data gmm1d --process vp --t 0.3 --model file:%s --mc 4000", path);
  out = dpm_test_run_ok(cmd, NULL);
  double v[10];
  parse_row(out, v);
  free(out);
  assert_true(v[0] < 0.1 * v[9]);
  snprintf(cmd, sizeof cmd,
           "sample --data gmm1d --process vp --sampler ddim --steps 10 --n 5 --seed 1 --denoiser model:%s --meta",
           path);
  out = dpm_test_run_ok(cmd, NULL);
  assert_non_null(strstr(out, "x_1\n"));
  free(out);
  /* the weighting is recorded, and changes the fit */
  snprintf(cmd, sizeof cmd,
           "train --data gmm1d --process vp --model linear:basis=bump,size=16,ell=0.4 --weighting likelihood "
           "--n 20000 --knots 8 --seed 2");
  char *lik = dpm_test_run_ok(cmd, NULL);
  assert_non_null(strstr(lik, "\"weighting\": \"likelihood\""));
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char *sig = calloc(1, 1 << 16);
  assert_true(fread(sig, 1, (1 << 16) - 1, f) > 0);
  fclose(f);
  assert_non_null(strstr(sig, "\"weighting\": \"sigma2\""));
  assert_true(strcmp(strstr(sig, "\"theta\""), strstr(lik, "\"theta\"")) != 0);
  free(sig);
  free(lik);
  /* a model of another dimension is refused */
  snprintf(cmd, sizeof cmd, "sample --data ring8 --process vp --sampler ddim --steps 10 --n 5 --denoiser model:%s",
           path);
  dpm_test_expect_failure(cmd, NULL, "/tmp/dpm_sm_never.csv", 1, "dimension", 0);
  remove(path);
}

static void test_bad_input(void **state)
{
  (void)state;
  const char *o = "/tmp/dpm_sm_cli_out.csv";
  const char *bad_json = dpm_test_tmpfile(".json", "{\"format\": \"dpmlab-linear-score\", \"d\": 1, \"size\": 2}");
  char c1[256], c2[256];
  snprintf(c1, sizeof c1, "score-matching --data gmm1d --t 0.3 --model file:%s", bad_json);
  snprintf(c2, sizeof c2, "sample --data gmm1d --sampler ddim --steps 5 --n 3 --denoiser model:%s", bad_json);
  const struct {
    const char *args;
    int code;
    const char *needle;
  } cases[] = {
      {"score-matching --data gmm1d --model exact", 2, "--t"},
      {"score-matching --data gmm1d --t 0", 2, "--t"},
      {"score-matching --data gmm1d --t 2", 2, "--t"},
      {"score-matching --data gmm1d --t nan", 2, "t"},
      {"score-matching --data gmm1d --t 0.3 --model spline", 2, "spline"},
      {"score-matching --data gmm1d --t 0.3 --model perturbed:delta=nan", 2, "delta"},
      {"score-matching --data gmm1d --t 0.3 --model perturbed:tilt=1", 2, "delta"},
      {"score-matching --data gmm1d --t 0.3 --model linear:basis=wavelet,size=3", 2, "wavelet"},
      {"score-matching --data gmm1d --t 0.3 --model linear:basis=rff", 2, "size"},
      {"score-matching --data gmm1d --t 0.3 --fit", 2, "linear and mixture"},
      {"score-matching --data gmm1d --t 0.3 --mc 1", 2, "--mc"},
      {"score-matching --data nosuchset --t 0.3", 1, "nosuchset"},
      {"score-matching --data gmm1d --t 0.3 --process warp", 2, "warp"},
      {"score-matching --data gmm1d --t 0.3 --model file:/nonexistent/m.json", 1, "m.json"},
      {c1, 1, "\"ell\" missing"},
      {"score-matching --data gmm1d --t 0.3 --model linear:basis=rff,size=50 --fit --fit-mc 10 --ridge 0", 1,
       "positive definite"},
      {"train --data gmm1d --model exact", 2, "linear"},
      {"train --data gmm1d --model linear:basis=poly,size=2 --weighting snr", 2, "snr"},
      {"train --data gmm1d --model linear:basis=poly,size=2 --t-min 0.5 --t-max 0.2", 2, "t-min"},
      {"train --data gmm1d --model linear:basis=poly,size=2 --knots 0", 2, "knots"},
      {"train --model linear:basis=poly,size=2", 2, "data"},
      {c2, 1, "\"ell\" missing"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    dpm_test_expect_failure(cases[i].args, NULL, o, cases[i].code, cases[i].needle, i);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_contract),    cmocka_unit_test(test_fit_gaussian),
      cmocka_unit_test(test_fit_mixture), cmocka_unit_test(test_train_roundtrip),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests_name("scorematch_cli", tests, NULL, NULL);
}
