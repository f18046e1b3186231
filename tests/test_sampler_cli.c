/* test_sampler_cli.c — `dpmlab samplers` and `dpmlab sample` (docs/samplers.md): the table as CSV, the sample
 * contract (columns, row count, NFE in --meta, same seed same bits, --init), and every bad input as one stderr
 * line with a non-zero exit and no output file. */
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
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_samplers_table),
      cmocka_unit_test(test_sample_contract),
      cmocka_unit_test(test_sample_bad_inputs),
  };
  return cmocka_run_group_tests_name("sampler_cli", tests, NULL, NULL);
}
