/* test_likelihood_cli.c — the continuous-time ELBO of the reverse SDE (Song, Durkan, Murray & Ermon 2021;
 * docs/MATH.md §4.3) against the exact log q_t0 — an identity for the exact score and prior q_T, a lower bound on
 * average for the Gaussian prior and for an imperfect score — and the command lines `dpmlab likelihood` and
 * `dpmlab elbo-sde`: the contract's columns, decoding, and one-line errors with no output file for bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gsl/gsl_rng.h>

#include "dpmlab.h"
#include "testutil.h"

/* Exact score, exact prior: log q_T(x_T) - int E[g^2 div s + 1/2 g^2 |s|^2 - d a] dt = log q_t0(x) exactly (Ito's
 * formula for log q_t along the forward transition), so the estimate is within 4 SE of the truth, per point. */
static void test_elbo_identity(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("ring8");
  dpm_likelihood *w = dpm_likelihood_alloc(mix, NULL, 0);
  dpm_oracle *o = dpm_test_oracle(mix);
  const char *procs[2] = {"vp", "edm"};
  const double x[6] = {2.8, 2.8, -4.1, 0.3, 0.5, -0.5};
  for (int q = 0; q < 2; q++) {
    dpm_process p;
    assert_int_equal(dpm_process_parse(&p, procs[q]), 0);
    double b[3], se[3], m0, s0;
    unsigned long nfe = 0;
    assert_int_equal(dpm_likelihood_elbo_sde(w, &p, 1e-5, DPM_LIK_PRIOR_EXACT, 400, 7, 3, x, b, se, &nfe), 0);
    assert_int_equal(nfe, 3 * 2 * 400); /* each draw at the antithetic pair */
    assert_int_equal(dpm_process_ms(&p, 1e-5, &m0, &s0), 0);
    for (int i = 0; i < 3; i++)
      assert_within_se(b[i], se[i], dpm_oracle_logq1(o, m0, s0, x + 2 * i), 4.0);
    dpm_process_clear(&p);
  }
  dpm_oracle_free(o);
  dpm_likelihood_free(w);
  dpm_mixture_free(mix);
}

/* The bound on average over x ~ q_t0: with the Gaussian prior E[B] = E[log q_t0] - KL(q_T || pi) <= E[log q_t0]
 * (mean difference at most 4 SE above 0); with a scaled score eps-hat = 1.5 eps and the exact prior
 * E[B] = E[log q_t0] - 1/2 int g^2 E|s_theta - s|^2 dt, strictly below (more than 4 SE). */
static void test_elbo_lower_bound(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VP);
  enum { N = 40 };
  double x[N], m0, s0, b[N], se[N], lq[N];
  assert_int_equal(dpm_process_ms(&p, 1e-5, &m0, &s0), 0);
  gsl_rng *r = dpm_rng_stream_alloc(3, 0);
  dpm_test_sample_qt(mix, r, m0, s0, N, x, NULL, NULL);
  gsl_rng_free(r);
  dpm_oracle *o = dpm_test_oracle(mix);
  for (int i = 0; i < N; i++)
    lq[i] = dpm_oracle_logq1(o, m0, s0, x + i);
  dpm_denoiser *ex = dpm_denoiser_oracle_alloc(mix), *sc = dpm_denoiser_scaled_alloc(ex, 1.5);
  for (int k = 0; k < 2; k++) {
    dpm_likelihood *w = dpm_likelihood_alloc(mix, k ? &sc : NULL, 1);
    assert_non_null(w);
    assert_int_equal(dpm_likelihood_elbo_sde(w, &p, 1e-5, k ? DPM_LIK_PRIOR_EXACT : DPM_LIK_PRIOR_GAUSSIAN, 200,
                                             11, N, x, b, se, NULL),
                     0);
    /* the mean over points of B - log q: its SE combines the spread over x and each point's MC error */
    double d[N], mean, sex, mc2 = 0.0;
    for (int i = 0; i < N; i++) {
      d[i] = b[i] - lq[i];
      mc2 += se[i] * se[i];
    }
    dpm_test_mean_se(d, N, &mean, &sex);
    const double setot = sqrt(sex * sex + mc2 / (N * (double)N));
    if (k == 0)
      assert_true(mean <= 4.0 * setot);
    else if (!(mean < -4.0 * setot))
      fail_msg("scaled score: mean B - log q = %g, SE %g: not below", mean, setot);
    dpm_likelihood_free(w);
  }
  dpm_denoiser_free(sc);
  dpm_denoiser_free(ex);
  dpm_oracle_free(o);
  dpm_mixture_free(mix);
}

static size_t parse(const char *text, double *v, size_t cap, size_t *cols, char *hdr, size_t hcap)
{
  const char *path = dpm_test_tmpfile(".csv", text);
  double *data;
  size_t r, c;
  char *h;
  assert_int_equal(dpm_csv_read(path, &data, &r, &c, &h), 0);
  unlink(path);
  assert_true(r * c <= cap);
  memcpy(v, data, r * c * sizeof(double));
  *cols = c;
  snprintf(hdr, hcap, "%s", h ? h : "");
  free(data);
  free(h);
  return r;
}

static void test_cli_contract(void **state)
{
  (void)state;
  const char *pts = "2.8,2.9\n-4.1,0.3\n0.2,-3.9\n"; /* points where q_t0 has mass */
  char *out = dpm_test_run_ok("likelihood --data ring8 --process vp --at - --rtol 1e-8", pts);
  double v[64], u[64];
  size_t cols;
  char hdr[256];
  size_t r = parse(out, v, 64, &cols, hdr, sizeof hdr);
  free(out);
  assert_string_equal(hdr, "logp,logq_true,err,nfe,bpd,xT_1,xT_2");
  assert_int_equal(r, 3);
  for (size_t i = 0; i < r; i++) {
    const double *row = v + i * cols;
    assert_close(row[2], row[0] - row[1], 0.0, 4.0 * 2.2e-16 * fabs(row[0]));
    assert_true(fabs(row[2]) < 1e-4); /* rtol 1e-8 and a few hundred steps: the bound of test_likelihood */
    assert_true(row[3] >= 1 && row[3] == floor(row[3]));
    assert_close(row[4], -row[0] / (2 * M_LN2), 1e-15, 0.0);
  }
  /* the Gaussian prior adds prior_mismatch = its logp - the exact prior's */
  out = dpm_test_run_ok("likelihood --data ring8 --process ve --at - --prior gaussian --div hutchinson --probes 3 "
                        "--probe gaussian --seed 4 --t0 1e-4",
                        pts);
  r = parse(out, u, 64, &cols, hdr, sizeof hdr);
  free(out);
  assert_string_equal(hdr, "logp,logq_true,err,nfe,bpd,xT_1,xT_2,prior_mismatch");
  char *out2 = dpm_test_run_ok("likelihood --data ring8 --process ve --at - --div hutchinson --probes 3 "
                               "--probe gaussian --seed 4 --t0 1e-4",
                               pts);
  double e[64];
  size_t c2;
  parse(out2, e, 64, &c2, hdr, sizeof hdr);
  free(out2);
  for (size_t i = 0; i < r; i++)
    assert_close(u[i * cols] - e[i * c2], u[i * cols + 7], 0.0, 1e-12 * (1 + fabs(u[i * cols])));
  /* --decode of the encodings returns the points */
  char enc[512] = "", *p = enc;
  for (size_t i = 0; i < 3; i++)
    p += snprintf(p, sizeof enc - (size_t)(p - enc), "%.17g,%.17g\n", v[i * 7 + 5], v[i * 7 + 6]);
  out = dpm_test_run_ok("likelihood --data ring8 --process vp --at - --rtol 1e-8 --decode", enc);
  r = parse(out, u, 64, &cols, hdr, sizeof hdr);
  free(out);
  assert_string_equal(hdr, "x_1,x_2");
  const double x0[6] = {2.8, 2.9, -4.1, 0.3, 0.2, -3.9};
  for (size_t i = 0; i < 6; i++)
    assert_close(u[i], x0[i], 0.0, 1e-5);
  /* a model's flow: scaled:c=1 is the exact field through the denoiser interface */
  out = dpm_test_run_ok("likelihood --data ring8 --process edm --at - --denoiser scaled:c=1", pts);
  r = parse(out, u, 64, &cols, hdr, sizeof hdr);
  free(out);
  for (size_t i = 0; i < r; i++)
    assert_true(fabs(u[i * cols + 2]) < 1e-3);
  /* elbo-sde */
  out = dpm_test_run_ok("elbo-sde --data ring8 --process vp --at - --mc 200 --prior exact", pts);
  r = parse(out, u, 64, &cols, hdr, sizeof hdr);
  free(out);
  assert_string_equal(hdr, "bound,bound_se,logq_true");
  assert_int_equal(r, 3);
  for (size_t i = 0; i < r; i++) {
    assert_close(u[i * 3 + 2], v[i * 7 + 1], 1e-14, 0.0);
    assert_within_se(u[i * 3], u[i * 3 + 1], u[i * 3 + 2], 4.0);
  }
  /* a model's bound: scaled:c=1 is the exact score through the denoiser interface (its divergence op), the same
   * bits */
  char *a1 = dpm_test_run_ok("elbo-sde --data ring8 --process vp --at - --mc 50 --seed 3", pts);
  char *a2 =
      dpm_test_run_ok("elbo-sde --data ring8 --process vp --at - --mc 50 --seed 3 --denoiser scaled:c=1", pts);
  assert_string_equal(a1, a2);
  free(a1);
  free(a2);
}

static void test_cli_bad_inputs(void **state)
{
  (void)state;
  char outpath[64];
  snprintf(outpath, sizeof outpath, "/tmp/dpm_lik_bad_%d.csv", (int)getpid());
  const struct {
    const char *args, *input;
    int code;
    const char *needle;
  } cases[] = {
      {"likelihood --data ring8 --process vp", "0,0\n", 2, "missing --at"},
      {"likelihood --data ring8 --at -", "0,0\n", 2, "missing --process"},
      {"likelihood --data ring8 --process vp --at - --div trace", "0,0\n", 2, "trace"},
      {"likelihood --data ring8 --process vp --at - --probe cauchy", "0,0\n", 2, "cauchy"},
      {"likelihood --data ring8 --process vp --at - --prior flat", "0,0\n", 2, "flat"},
      {"likelihood --data ring8 --process vp --at - --method rk99", "0,0\n", 2, "rk99"},
      {"likelihood --data ring8 --process vp --at - --div hutchinson --probes 0", "0,0\n", 2, "--probes"},
      {"likelihood --data ring8 --process vp --at - --rtol 0 --atol 0", "0,0\n", 2, "rtol"},
      {"likelihood --data ring8 --process vp --at - --t0 0", "0,0\n", 2, "--t0"},
      {"likelihood --data ring8 --process vp --at - --t0 2", "0,0\n", 1, "t0 < T"},
      {"likelihood --data ring8 --process ddpm --at -", "0,0\n", 2, "discrete"},
      {"likelihood --data ring8 --process vq --at -", "0,0\n", 2, "vq"},
      {"likelihood --data nosuchset --process vp --at -", "0,0\n", 1, "nosuchset"},
      {"likelihood --data ring8 --process vp --at -", "0,0,0\n", 1, "3 columns"},
      {"likelihood --data ring8 --process vp --at -", "0,nan\n", 1, "not finite"},
      {"likelihood --data ring8 --process vp --at - --denoiser relerr:eta=0.1", "0,0\n", 2, "relerr"},
      {"likelihood --data ring8 --process vp --at - --guide cfg", "0,0\n", 2, "cfg"},
      {"elbo-sde --data ring8 --process vp --at - --mc 1", "0,0\n", 2, "--mc"},
      {"elbo-sde --data ring8 --process edm --at - --prior flat", "0,0\n", 2, "flat"},
      {"elbo-sde --data ring8 --process vp --at -", "1\n", 1, "1 columns"},
      {"elbo-sde --data ring8 --process vp --at - --denoiser relerr:eta=0.1", "0,0\n", 2, "relerr"},
      {"elbo-sde --data ring8 --process vp --at - --guidance 2", "0,0\n", 2, "--guide auto"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    dpm_test_expect_failure(cases[i].args, cases[i].input, outpath, cases[i].code, cases[i].needle, i);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_elbo_identity),
      cmocka_unit_test(test_elbo_lower_bound),
      cmocka_unit_test(test_cli_contract),
      cmocka_unit_test(test_cli_bad_inputs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
