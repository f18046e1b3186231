/* test_sampler_cli.c — `dpmlab samplers`, `dpmlab sample` and `dpmlab compare` (docs/samplers.md): the table as
 * CSV, the sample contract (columns, row count, NFE in --meta, same seed same bits, --init, --grid FILE equal to
 * the named grid it lists, --t-end, --denoise, guidance, unused flags recorded), the compare table (one row per
 * sampler, NFE and metric; skipped combinations on stderr), and every bad input as one stderr line with a non-zero
 * exit and no output file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpmlab.h"
#include "testutil.h"

static size_t count_lines(const char *s, const char *prefix_skip)
{
  size_t n = 0;
  for (const char *p = s; p && *p;) {
    const char *e = strchr(p, '\n');
    if (!prefix_skip || strncmp(p, prefix_skip, strlen(prefix_skip)) != 0) n++;
    p = e ? e + 1 : NULL;
  }
  return n;
}

static void test_samplers_table(void **state)
{
  (void)state;
  char *out = dpm_test_run_ok("samplers", NULL);
  assert_true(strncmp(out, "name,kind,order,nfe_per_step,description\n", 41) == 0);
  size_t rows = count_lines(out, NULL) - 1, entries = 0;
  for (size_t i = 0; dpm_sampler_types[i]; i++, entries++) {
    char row[128];
    snprintf(row, sizeof row, "\n%s,%s,%u,%u,", dpm_sampler_types[i]->name, dpm_sampler_types[i]->kind,
             dpm_sampler_types[i]->order, dpm_sampler_types[i]->nfe_per_step);
    assert_non_null(strstr(out, row));
  }
  assert_int_equal(rows, entries);
  free(out);
}

static void test_sample_contract(void **state)
{
  (void)state;
  char *a = dpm_test_run_ok(
      "sample --data ring8 --process ddpm:N=100 --sampler ddpm --steps 10 --n 50 --seed 4 --meta", NULL);
  assert_non_null(strstr(a, "# sampler: ddpm\n# steps: 10\n# nfe: 10\n# seed: 4\nx_1,x_2\n"));
  assert_int_equal(count_lines(a, "#"), 51);
  char *b = dpm_test_run_ok(
      "sample --data ring8 --process ddpm:N=100 --sampler ddpm --steps 10 --n 50 --seed 4 --meta", NULL);
  assert_string_equal(a, b); /* same seed, same bits */
  free(b);
  b = dpm_test_run_ok("sample --data ring8 --process ddpm:N=100 --sampler ddpm --steps 10 --n 50 --seed 5", NULL);
  assert_true(strcmp(strstr(a, "x_1"), b) != 0);
  free(a);
  free(b);
  /* --init: one row per starting point; a deterministic sampler from the same start gives the same points */
  const char *init = dpm_test_tmpfile(".csv", "0.5\n-1.0\n2.0\n");
  char cmd[512];
  snprintf(cmd, sizeof cmd, "sample --data gmm1d --sampler ddim --steps 20 --init %s --trajectory quadratic",
           init);
  a = dpm_test_run_ok(cmd, NULL);
  assert_int_equal(count_lines(a, NULL), 4);
  snprintf(cmd, sizeof cmd,
           "sample --data gmm1d --sampler ddim --steps 20 --init %s --trajectory quadratic --seed 9", init);
  b = dpm_test_run_ok(cmd, NULL);
  assert_string_equal(a, b);
  free(a);
  free(b);
  /* continuous processes through --grid; analytic entries and --trajectory dp run */
  free(dpm_test_run_ok("sample --data gmm1d --process vp --grid lambda --sampler analytic-ddim --steps 8 --n 5",
                       NULL));
  free(dpm_test_run_ok("sample --data gmm1d --process ddpm:N=200 --sampler analytic-ddpm --steps 5 --n 5 "
                       "--trajectory dp --denoiser relerr:eta=0.1",
                       NULL));
}

static void test_sample_bad_inputs(void **state)
{
  (void)state;
  const char *outp = dpm_test_tmpfile(".csv", "");
  remove(outp);
  const char *bad = dpm_test_tmpfile(".csv", "1,2\n3,4\n");
  const char *junk = dpm_test_tmpfile(".csv", "1\nfoo\n");
  char c1[256], c2[256];
  snprintf(c1, sizeof c1, "sample --data gmm1d --sampler ddpm --steps 10 --init %s", bad);
  snprintf(c2, sizeof c2, "sample --data gmm1d --sampler ddpm --steps 10 --init %s", junk);
  size_t k = 0;
  dpm_test_expect_failure("sample --data gmm1d --sampler nope --steps 10 --n 5", NULL, outp, 2,
                          "known: ddpm, ddpm-betatilde, ddim", k++);
  dpm_test_expect_failure("sample --data gmm1d --process ddpm:N=50 --sampler ddim --steps 51 --n 5", NULL, outp, 2,
                          "exceeds", k++);
  dpm_test_expect_failure("sample --data gmm1d --sampler ddim --steps 10 --n 0", NULL, outp, 2, "--n", k++);
  dpm_test_expect_failure("sample --data gmm1d --sampler ddim --steps 10", NULL, outp, 2, "--n", k++);
  dpm_test_expect_failure("sample --data gmm1d --sampler ddim --n 5", NULL, outp, 2, "--steps", k++);
  dpm_test_expect_failure(c1, NULL, outp, 1, "columns", k++);
  dpm_test_expect_failure(c2, NULL, outp, 1, "", k++);
  dpm_test_expect_failure("sample --data gmm1d --sampler ddim --steps 10 --n 5 --init /nonexistent.csv", NULL,
                          outp, 1, "nonexistent", k++);
  dpm_test_expect_failure("sample --data gmm1d --sampler ddim --steps 10 --n 5 --denoiser noisy", NULL, outp, 2,
                          "noisy", k++);
  dpm_test_expect_failure("sample --data gmm1d --sampler ddim --steps 10 --n 5 --denoiser relerr", NULL, outp, 2,
                          "eta", k++);
  dpm_test_expect_failure("sample --data gmm1d --sampler ddpm --steps 10 --n 5 --eta 0.5", NULL, outp, 2, "eta",
                          k++);
  dpm_test_expect_failure("sample --data gmm1d --sampler ddim --steps 10 --n 5 --eta 2", NULL, outp, 2, "eta",
                          k++);
  dpm_test_expect_failure("sample --data gmm1d --process vpp --sampler ddim --steps 10 --n 5", NULL, outp, 2,
                          "vpp", k++);
  dpm_test_expect_failure("sample --data gmm1d --process vp --grid cubic --sampler ddim --steps 10 --n 5", NULL,
                          outp, 2, "cubic", k++);
  dpm_test_expect_failure("sample --data gmm1d --trajectory spiral --sampler ddim --steps 10 --n 5", NULL, outp, 2,
                          "spiral", k++);
  dpm_test_expect_failure("sample --data gmm1d --sampler diag-cov --steps 10 --n 5 --denoiser relerr:eta=0.1",
                          NULL, outp, 1, "posterior variance", k++);
  dpm_test_expect_failure("sample --data nosuch --sampler ddim --steps 10 --n 5", NULL, outp, 1, "nosuch", k++);
  const char *nodec = dpm_test_tmpfile(".txt", "1\n0.5\n0.7\n");
  const char *good = dpm_test_tmpfile(".txt", "1\n0.5\n0.01\n");
  snprintf(c1, sizeof c1, "sample --data gmm1d --process vp --sampler ddim --grid %s --n 5", nodec);
  snprintf(c2, sizeof c2, "sample --data gmm1d --process vp --sampler ddim --grid %s --n 5 --steps 3", good);
  dpm_test_expect_failure(c1, NULL, outp, 1, "", k++);
  dpm_test_expect_failure(c2, NULL, outp, 2, "disagrees", k++);
  dpm_test_expect_failure(
      "sample --data gmm1d --process vp --sampler ddim --steps 5 --n 5 --grid /nonexistent.txt", NULL, outp, 2,
      "nonexistent", k++);
  dpm_test_expect_failure("sample --data gmm1d --sampler ddim --steps 5 --n 5 --t-end 0.1", NULL, outp, 2,
                          "--t-end", k++);
  dpm_test_expect_failure("sample --data gmm1d --process vp --sampler ddim --steps 5 --n 5 --t-end 2", NULL, outp,
                          2, "--t-end", k++);
  dpm_test_expect_failure("sample --data gmm1d --process vp --sampler ddim --steps 5 --n 5 --guide nope --class 0",
                          NULL, outp, 2, "nope", k++);
  dpm_test_expect_failure("sample --data gmm1d --process vp --sampler ddim --steps 5 --n 5 --guide cfg", NULL,
                          outp, 2, "--class", k++);
  dpm_test_expect_failure("sample --data gmm1d --process vp --sampler ddim --steps 5 --n 5 --guidance 2", NULL,
                          outp, 2, "--guidance", k++);
  dpm_test_expect_failure("sample --data gmm1d --process vp --sampler ddim --steps 5 --n 5 --class 5", NULL, outp,
                          1, "class 5", k++);
  dpm_test_expect_failure("sample --data gauss:d=1 --process vp --sampler ddim --steps 5 --n 5 --class 0", NULL,
                          outp, 1, "labels", k++);
  dpm_test_expect_failure("sample --data gmm1d --process vp --sampler ddim --steps 5 --n 5 --guide auto:var=-1",
                          NULL, outp, 2, "var", k++);
  dpm_test_expect_failure("sample --data gmm1d --process edm --sampler ddim --steps 5 --n 5 --churn x", NULL, outp,
                          2, "--churn", k++);
  dpm_test_expect_failure("sample --data gmm1d --process edm --sampler ddim --steps 5 --n 5 --churn 1,foo=2", NULL,
                          outp, 2, "foo", k++);
  dpm_test_expect_failure("sample --data gmm1d --process vp --sampler ddim --steps 5 --n 5 --rtol 0", NULL, outp,
                          2, "--rtol", k++);
  dpm_test_expect_failure("sample --data gmm1d --process vp --sampler ddim --steps 5 --n 5 --guide tilt:mixture",
                          NULL, outp, 2, "tilt", k++);
  dpm_test_expect_failure("sample --data gmm1d --process vp --sampler ddim --steps 5 --n 5 --guide energy:c=1/2",
                          NULL, outp, 2, "c=", k++);
  dpm_test_expect_failure("sample --data sample:of=gmm1d,n=9 --process vp --sampler ddim --steps 5 --n 5 --guide "
                          "energy:mixture",
                          NULL, outp, 1, "point mass", k++);
  /* compare */
  dpm_test_expect_failure("compare --data gmm1d --samplers ddim,nope --nfe 10 --n 50", NULL, outp, 2, "nope", k++);
  dpm_test_expect_failure("compare --data gmm1d --samplers ddim --nfe 10,x --n 50", NULL, outp, 2, "--nfe", k++);
  dpm_test_expect_failure("compare --data gmm1d --samplers ddim --nfe 10 --n 50 --metric fid", NULL, outp, 2,
                          "fid", k++);
  dpm_test_expect_failure("compare --data gmm1d --samplers ddim --nfe 10 --n 5", NULL, outp, 2, "--n", k++);
  dpm_test_expect_failure("compare --data gmm1d --samplers ddim --nfe 10", NULL, outp, 2, "--n", k++);
  dpm_test_expect_failure("compare --data gmm1d --samplers ddim --nfe 10 --n 50 --metric memo", NULL, outp, 2,
                          "empirical", k++);
  dpm_test_expect_failure("compare --data gmm1d --samplers rk45 --nfe 10 --n 50", NULL, outp, 1, "no (sampler",
                          k++);
  dpm_test_expect_failure("compare --data gmm1d --samplers ddim --nfe 10 --n 50 --grid cubic", NULL, outp, 2,
                          "cubic", k++);
}

/* the x_1 column of a sample's CSV (after '#' lines and the header) into v (cap), returns the count */
static size_t read_col1(const char *csv, double *v, size_t cap)
{
  size_t k = 0;
  int header = 1;
  for (const char *p = csv; p && *p && k < cap;) {
    const char *e = strchr(p, '\n');
    if (*p != '#') {
      if (!header) v[k++] = strtod(p, NULL);
      header = 0;
    }
    p = e ? e + 1 : NULL;
  }
  return k;
}

/* --grid FILE with the times of the uniform grid gives the same points (to the rounding of the times), --t-end
 * moves the end, --denoise adds one NFE, flags the sampler does not read are listed, guidance runs */
static void test_sample_grid_guidance(void **state)
{
  (void)state;
  char times[256] = "", cmd[512];
  for (int i = 0; i <= 4; i++) { /* dpm_grid_uniform(1, 1e-3, 5) */
    char line[40];
    snprintf(line, sizeof line, "%.17g\n", 1.0 + (1e-3 - 1.0) * i / 4.0);
    strcat(times, line);
  }
  const char *gf = dpm_test_tmpfile(".txt", times);
  snprintf(cmd, sizeof cmd, "sample --data gmm1d --process vp --sampler ddim --grid %s --n 20 --seed 3", gf);
  char *a = dpm_test_run_ok(cmd, NULL);
  char *b = dpm_test_run_ok(
      "sample --data gmm1d --process vp --sampler ddim --grid uniform --steps 4 --n 20 --seed 3", NULL);
  double va[20], vb[20];
  assert_int_equal(read_col1(a, va, 20), 20);
  assert_int_equal(read_col1(b, vb, 20), 20);
  for (size_t i = 0; i < 20; i++)
    assert_close(va[i], vb[i], 1e-12, 1e-12);
  free(a);
  free(b);
  a = dpm_test_run_ok(
      "sample --data gmm1d --process vp --sampler ddim --steps 4 --n 2 --t-end 0.01 --denoise --rtol "
      "1e-3 --snr 0.2 --meta",
      NULL);
  assert_non_null(strstr(a, "# grid: uniform, t 1 -> 0.01\n"));
  assert_non_null(strstr(a, "# unused by this sampler: --rtol --snr\n"));
  assert_non_null(strstr(a, "# nfe: 5\n")); /* 4 steps + the Tweedie step */
  free(a);
  /* classifier guidance at w = 1 on gmm1d (modes at -2 and 2, sd 0.5) draws class 1: P(x < 0 | y = 1) = 3e-5 */
  a = dpm_test_run_ok(
      "sample --data gmm1d --process ddpm:N=200 --sampler ddpm --steps 200 --n 200 --class 1 --meta", NULL);
  assert_non_null(strstr(a, "# model: exact + classifier class=1 w=1\n"));
  double v[200];
  assert_int_equal(read_col1(a, v, 200), 200);
  size_t neg = 0;
  for (size_t i = 0; i < 200; i++)
    neg += v[i] < 0;
  assert_true(neg <= 1);
  free(a);
  free(dpm_test_run_ok("sample --data ring8 --process vp --sampler ddim --steps 10 --n 5 --class 3 --guide cfg "
                       "--guidance 1.5",
                       NULL));
  free(dpm_test_run_ok("sample --data ring8 --process edm --grid edm --sampler ddim --steps 10 --n 5 --guide "
                       "auto:var=0.3,keep=4 --guidance 0.5",
                       NULL));
  /* --guide tilt samples the exact tilted law q_0 e^{-w|x - c|^2/(2 tau^2)}: mean within 4 SE of its exact mean
   * (100 DDIM steps: a bias far below the SE, 0.008); energy guidance (DPS form) runs */
  a = dpm_test_run_ok(
      "sample --data gmm1d --process vp --sampler ddim --steps 100 --n 2000 --guide tilt:c=2,tau=0.5", NULL);
  double *t = malloc(2000 * sizeof *t), mean, se, mexact;
  assert_int_equal(read_col1(a, t, 2000), 2000);
  dpm_test_mean_se(t, 2000, &mean, &se);
  dpm_mixture *g = dpm_test_mixture("gmm1d");
  const double c = 2.0;
  dpm_mixture *tg = dpm_guidance_tilt_quadratic(g, &c, 0.5, 1.0);
  dpm_mixture_moments(tg, &mexact, NULL, NULL);
  assert_within_se(mean, se, mexact, 4.0);
  dpm_mixture_free(tg);
  dpm_mixture_free(g);
  free(t);
  free(a);
  free(dpm_test_run_ok(
      "sample --data ring8 --process vp --sampler ddim --steps 10 --n 5 --guide energy:c=1/0,tau=0.5", NULL));
  free(dpm_test_run_ok(
      "sample --data ring8 --process vp --sampler ddim --steps 10 --n 5 --guide energy:mixture --class 2", NULL));
  char *h = dpm_test_run_ok("sample --help", NULL);
  assert_non_null(strstr(h, "--guide"));
  free(h);
}

/* --grid ddim and ddim-offset equal --grid FILE holding sigma_n = sqrt((1 - abar_n)/abar_n) of the linear DDPM
 * (N = 1000, beta 1e-4 .. 0.02, abar by its running product here) at n_i = 1 + floor((n0 - 1)(K - i)/K), n0 = N
 * or the first n with sigma_n >= 40 (DDIM's schedule and its offset, Permenter & Yuan's schedule table); plain
 * ddim needs a sigma range reaching sigma_N = 157.4 and names it otherwise */
static void test_sample_ddim_grids(void **state)
{
  (void)state;
  enum { N = 1000, K = 6 };
  static double sig[N + 1];
  double abar = 1.0;
  size_t n40 = 0;
  for (size_t n = 1; n <= N; n++) {
    abar *= 1.0 - (1e-4 + (0.02 - 1e-4) * (double)(n - 1) / (N - 1));
    sig[n] = sqrt((1.0 - abar) / abar);
    if (!n40 && sig[n] >= 40.0) n40 = n;
  }
  for (int off = 0; off <= 1; off++) {
    const size_t n0 = off ? n40 : N;
    char times[512] = "", cmd[512];
    for (size_t i = 0; i <= K; i++) {
      char line[40];
      snprintf(line, sizeof line, "%.17g\n", sig[1 + (n0 - 1) * (K - i) / K]);
      strcat(times, line);
    }
    const char *gf = dpm_test_tmpfile(".txt", times);
    snprintf(cmd, sizeof cmd, "sample --data ring8 --process edm:sigma_max=160 --sampler ddim --grid %s --n 8",
             gf);
    char *a = dpm_test_run_ok(cmd, NULL);
    snprintf(cmd, sizeof cmd,
             "sample --data ring8 --process edm:sigma_max=160 --sampler ddim --grid %s --steps %d --n 8",
             off ? "ddim-offset" : "ddim", K);
    char *b = dpm_test_run_ok(cmd, NULL);
    double va[8], vb[8];
    assert_int_equal(read_col1(a, va, 8), 8);
    assert_int_equal(read_col1(b, vb, 8), 8);
    for (size_t i = 0; i < 8; i++) /* the times agree to their rounding; the iterates inherit a few ulps */
      assert_close(va[i], vb[i], 1e-12, 1e-12);
    free(a);
    free(b);
  }
  const char *outp = dpm_test_tmpfile(".csv", "");
  remove(outp);
  dpm_test_expect_failure("sample --data ring8 --process edm --sampler ddim --grid ddim --steps 6 --n 2", NULL,
                          outp, 2, "157.4", 1);
}

static void test_compare(void **state)
{
  (void)state;
  char *out = NULL, *err = NULL;
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "%s compare --data gmm1d --process vp --samplers ddim,ddpm --nfe 5,20 --n 200 --metric w1,ks,logq,mmd",
           dpm_test_bin());
  assert_int_equal(dpm_test_run(cmd, NULL, &out, &err), 0);
  assert_true(strncmp(out, "sampler,nfe,steps,metric,value,se\n", 34) == 0);
  assert_int_equal(count_lines(out, NULL), 1 + 2 * 2 * 4);
  assert_non_null(strstr(out, "\nddim,20,20,w1,"));
  assert_non_null(strstr(out, "\nddpm,5,5,mmd,"));
  free(out);
  free(err);
  /* an adaptive sampler is skipped with one stderr line per budget; memo on a point set */
  snprintf(cmd, sizeof cmd,
           "%s compare --data sample:of=ring8,n=30 --samplers rk45,ddim --nfe 10 --n 40 --metric memo,nearest "
           "--radius 0.05",
           dpm_test_bin());
  assert_int_equal(dpm_test_run(cmd, NULL, &out, &err), 0);
  assert_int_equal(count_lines(out, NULL), 3);
  assert_non_null(strstr(err, "skipping rk45 at NFE 10"));
  free(out);
  free(err);
  char *h = dpm_test_run_ok("compare --help", NULL);
  assert_non_null(strstr(h, "sampler,nfe,steps,metric,value,se"));
  free(h);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_samplers_table),    cmocka_unit_test(test_sample_contract),
      cmocka_unit_test(test_sample_bad_inputs), cmocka_unit_test(test_sample_grid_guidance),
      cmocka_unit_test(test_sample_ddim_grids), cmocka_unit_test(test_compare),
  };
  return cmocka_run_group_tests_name("sampler_cli", tests, NULL, NULL);
}
