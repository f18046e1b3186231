/* test_perf_cli.c — the command line's binary input and output and its thread count: NumPy .npy arrays accepted
 * wherever a CSV of points is (--data, --at, --init) and written when --out ends in .npy, bit for bit the same
 * numbers as the CSV route, one-line errors for a bad .npy; and --threads N giving the same bits for N = 1 and 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpmlab.h"
#include "testutil.h"

static const double pts[8] = {0.5, 0.25, -1.0, 2.0, 3.5, -0.75, 1e-3, -4.0};

/* the four 2-D points as a .npy file (by the library's writer) and as CSV text; paths in static buffers */
static void write_points(char *npy, size_t ncap, char *csv, size_t ccap)
{
  snprintf(npy, ncap, "/tmp/dpmperf-XXXXXX.npy");
  int fd = mkstemps(npy, 4);
  assert_true(fd >= 0);
  FILE *fp = fdopen(fd, "wb");
  assert_int_equal(dpm_npy_write(fp, pts, 4, 2), 0);
  fclose(fp);
  snprintf(csv, ccap, "%s", dpm_test_tmpfile(".csv", "x_1,x_2\n0.5,0.25\n-1,2\n3.5,-0.75\n0.001,-4\n"));
}

/* parse CSV text (stdout of a command) as the reader does */
static double *parse_text(const char *text, size_t *rows, size_t *cols)
{
  FILE *mem = fmemopen((void *)text, strlen(text), "r");
  double *v = NULL;
  assert_int_equal(dpm_csv_read_stream(mem, "stdout", &v, rows, cols, NULL), 0);
  fclose(mem);
  return v;
}

static void test_npy_in_and_out(void **state)
{
  (void)state;
  char npy[64], csv[256], args[1024];
  write_points(npy, sizeof npy, csv, sizeof csv);
  static const char *cmds[] = {"oracle --data ring8 --m 0.8 --s 0.6 --at",
                               "distance --data sample:of=ring8,n=50 --sigma 0.3 --at",
                               "sample --data ring8 --process vp --sampler ddim --steps 5 --init"};
  for (size_t c = 0; c < sizeof cmds / sizeof *cmds; c++) {
    snprintf(args, sizeof args, "%s %s", cmds[c], csv);
    char *from_csv = dpm_test_run_ok(args, NULL);
    snprintf(args, sizeof args, "%s %s", cmds[c], npy);
    char *from_npy = dpm_test_run_ok(args, NULL);
    assert_string_equal(from_csv, from_npy);
    /* the same run into a .npy file: the numbers of the CSV output, bit for bit */
    char out[64] = "/tmp/dpmperf-out-XXXXXX.npy";
    int fd = mkstemps(out, 4);
    close(fd);
    size_t n = strlen(args);
    snprintf(args + n, sizeof args - n, " --out %s", out);
    free(dpm_test_run_ok(args, NULL));
    size_t r1, c1, r2, c2;
    double *a = parse_text(from_csv, &r1, &c1), *b = NULL;
    assert_int_equal(dpm_csv_read(out, &b, &r2, &c2, NULL), 0);
    assert_int_equal(r1, r2);
    assert_int_equal(c1, c2);
    assert_memory_equal(a, b, r1 * c1 * sizeof *a);
    free(a);
    free(b);
    unlink(out);
    free(from_csv);
    free(from_npy);
  }
  unlink(npy);
  unlink(csv);
}

static void test_npy_errors(void **state)
{
  (void)state;
  char npy[64], csv[256], args[1024];
  write_points(npy, sizeof npy, csv, sizeof csv);
  FILE *fp = fopen(npy, "rb");
  unsigned char buf[256];
  const size_t n = fread(buf, 1, sizeof buf, fp);
  fclose(fp);
  assert_int_equal(n, 128 + 64);
  char dir[] = "/tmp/dpmperf-dir-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char outpath[128];
  snprintf(outpath, sizeof outpath, "%s/out.csv", dir);
  /* truncated data */
  fp = fopen(npy, "wb");
  fwrite(buf, 1, n - 5, fp);
  fclose(fp);
  snprintf(args, sizeof args, "oracle --data ring8 --s 1 --at %s", npy);
  dpm_test_expect_failure(args, NULL, outpath, 1, "truncated .npy data (7 of 8 values)", 0);
  snprintf(args, sizeof args, "sample --data ring8 --process vp --sampler ddim --steps 5 --init %s", npy);
  dpm_test_expect_failure(args, NULL, outpath, 1, "truncated .npy data", 1);
  /* another dtype: '<f4' in place of '<f8' */
  size_t at = 0;
  while (at + 3 <= n && memcmp(buf + at, "<f8", 3) != 0)
    at++;
  assert_true(at + 3 <= n);
  buf[at + 2] = '4';
  fp = fopen(npy, "wb");
  fwrite(buf, 1, n, fp);
  fclose(fp);
  snprintf(args, sizeof args, "distance --data sample:of=ring8,n=50 --sigma 0.3 --at %s", npy);
  dpm_test_expect_failure(args, NULL, outpath, 1, "dtype '<f4' is not float64", 2);
  /* not a .npy file at all */
  fp = fopen(npy, "wb");
  fputs("0.5,0.25\n", fp);
  fclose(fp);
  snprintf(args, sizeof args, "oracle --data ring8 --s 1 --at %s", npy);
  dpm_test_expect_failure(args, NULL, outpath, 1, "not a .npy file", 3);
  /* output that is not a numeric table cannot be a .npy */
  snprintf(outpath, sizeof outpath, "%s/out.npy", dir);
  dpm_test_expect_failure("samplers", NULL, outpath, 1, "cannot be written as .npy", 4);
  assert_int_equal(rmdir(dir), 0);
  unlink(npy);
  unlink(csv);
}

/* --data FILE.npy: a point set read from .npy is the point set of the same numbers in CSV, bit for bit (the
 * library's mixture, and the oracle's and the distance's output through the command line); a malformed .npy
 * given to --data is one line on stderr, exit status 1, no output file. */
static void test_npy_data(void **state)
{
  (void)state;
  enum { K = 37, D = 3 };
  double set[K * D];
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 11);
  for (size_t i = 0; i < K * D; i++) /* full 53-bit mantissas, so the CSV route's parser is exercised */
    set[i] = 4.0 * (gsl_rng_uniform(r) - 0.5) + gsl_rng_uniform(r) * 1e-9;
  gsl_rng_free(r);
  char npy[64] = "/tmp/dpmperf-set-XXXXXX.npy", csv[64] = "/tmp/dpmperf-set-XXXXXX.csv";
  int fd = mkstemps(npy, 4);
  assert_true(fd >= 0);
  FILE *fp = fdopen(fd, "wb");
  assert_int_equal(dpm_npy_write(fp, set, K, D), 0);
  fclose(fp);
  fd = mkstemps(csv, 4);
  assert_true(fd >= 0);
  fp = fdopen(fd, "w");
  fputs("x_1,x_2,x_3\n", fp);
  for (size_t k = 0; k < K; k++)
    dpm_csv_write_row(fp, set + k * D, D);
  fclose(fp);
  /* the library: the same K x d means, bit for bit, and the same equal weights */
  dpm_mixture *a = dpm_test_mixture(npy), *b = dpm_test_mixture(csv);
  assert_int_equal(a->K, K);
  assert_int_equal(a->d, D);
  assert_int_equal(b->K, K);
  assert_int_equal(b->d, D);
  assert_memory_equal(a->mu, set, sizeof set);
  assert_memory_equal(b->mu, set, sizeof set);
  assert_memory_equal(a->w, b->w, K * sizeof *a->w);
  dpm_mixture_free(a);
  dpm_mixture_free(b);
  /* the command line: the same output text from either file */
  const char *at = dpm_test_tmpfile(".csv", "0.5,0.25,-1\n-1,2,0.125\n3.5,-0.75,1e-3\n");
  static const char *cmds[] = {"oracle --m 0.8 --s 0.6", "distance --sigma 0.3"};
  char args[512];
  for (size_t c = 0; c < sizeof cmds / sizeof *cmds; c++) {
    snprintf(args, sizeof args, "%s --data %s --at %s", cmds[c], csv, at);
    char *from_csv = dpm_test_run_ok(args, NULL);
    snprintf(args, sizeof args, "%s --data %s --at %s", cmds[c], npy, at);
    char *from_npy = dpm_test_run_ok(args, NULL);
    assert_string_equal(from_csv, from_npy);
    assert_true(strlen(from_csv) > 100);
    free(from_csv);
    free(from_npy);
  }
  /* malformed .npy files as --data: truncated, another dtype, text under a .npy name */
  fp = fopen(npy, "rb");
  unsigned char buf[2048];
  const size_t n = fread(buf, 1, sizeof buf, fp);
  fclose(fp);
  assert_int_equal(n, 128 + K * D * sizeof(double));
  char dir[] = "/tmp/dpmperf-dir-XXXXXX", outpath[128];
  assert_non_null(mkdtemp(dir));
  snprintf(outpath, sizeof outpath, "%s/out.csv", dir);
  fp = fopen(npy, "wb");
  fwrite(buf, 1, n - 8, fp);
  fclose(fp);
  snprintf(args, sizeof args, "distance --data %s --sigma 0.3 --at %s", npy, at);
  dpm_test_expect_failure(args, NULL, outpath, 1, "truncated .npy data (110 of 111 values)", 0);
  size_t pos = 0;
  while (pos + 3 <= n && memcmp(buf + pos, "<f8", 3) != 0)
    pos++;
  assert_true(pos + 3 <= n);
  buf[pos + 1] = 'i';
  fp = fopen(npy, "wb");
  fwrite(buf, 1, n, fp);
  fclose(fp);
  snprintf(args, sizeof args, "oracle --data %s --s 1 --at %s", npy, at);
  dpm_test_expect_failure(args, NULL, outpath, 1, "dtype '<i8'", 1);
  fp = fopen(npy, "wb");
  fputs("0.5,0.25,1\n", fp);
  fclose(fp);
  dpm_test_expect_failure(args, NULL, outpath, 1, "not a .npy file", 2);
  assert_int_equal(rmdir(dir), 0);
  unlink(npy);
  unlink(csv);
  unlink(at);
}

/* --threads N: the same bits for 1 and 2 threads on runs large enough to take the parallel paths (the oracle and
 * the distance over 3000 points, 400 stochastic DDPM paths, Gamma_n by Monte Carlo over 40 steps); listed in
 * every command's --help; 0 or junk is a usage error. */
static void test_threads(void **state)
{
  (void)state;
  char pts_path[64] = "/tmp/dpmperf-pts-XXXXXX.csv", args[1024];
  int fd = mkstemps(pts_path, 4);
  close(fd);
  snprintf(args, sizeof args, "data --data ring8 --n 3000 --seed 3 --m 0.8 --s 0.6 --out %s", pts_path);
  free(dpm_test_run_ok(args, NULL));
  char cmds[4][256];
  snprintf(cmds[0], sizeof cmds[0], "oracle --data ring8 --m 0.8 --s 0.6 --at %s", pts_path);
  snprintf(cmds[1], sizeof cmds[1], "distance --data sample:of=ring8,n=500 --sigma 0.3 --at %s", pts_path);
  snprintf(cmds[2], sizeof cmds[2],
           "sample --data ring8 --process ddpm --sampler ddpm --steps 20 --n 400 --seed 5");
  snprintf(cmds[3], sizeof cmds[3], "variance --data ring8 --schedule linear --N 40 --mc 3000 --seed 2");
  for (int c = 0; c < 4; c++) {
    char run[1100];
    snprintf(run, sizeof run, "%s --threads 1", cmds[c]);
    char *one = dpm_test_run_ok(run, NULL);
    snprintf(run, sizeof run, "%s --threads=2", cmds[c]);
    char *two = dpm_test_run_ok(run, NULL);
    if (strcmp(one, two) != 0) fail_msg("`%s`: --threads 1 and 2 differ", cmds[c]);
    assert_true(strlen(one) > 1000);
    free(one);
    free(two);
  }
  unlink(pts_path);
  static const char *names[] = {"oracle", "distance", "data",    "variance", "trajectory", "elbo",
                                "sample", "samplers", "compare", "trace",    "admissible"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    snprintf(args, sizeof args, "%s --help", names[i]);
    char *help = dpm_test_run_ok(args, NULL);
    if (!strstr(help, "--threads N")) fail_msg("`dpmlab %s --help` does not list --threads", names[i]);
    free(help);
  }
  dpm_test_expect_failure("oracle --data ring8 --s 1 --at - --threads 0", "0,0\n", NULL, 2, "--threads", 0);
  dpm_test_expect_failure("samplers --threads two", NULL, NULL, 2, "--threads: 'two'", 1);
  dpm_test_expect_failure("samplers --threads", NULL, NULL, 2, "--threads needs a value", 2);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_npy_in_and_out),
      cmocka_unit_test(test_npy_errors),
      cmocka_unit_test(test_npy_data),
      cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests_name("perf_cli", tests, NULL, NULL);
}
