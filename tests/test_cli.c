/* test_cli.c — the dpmlab command line as a user runs it: every documented column against a closed form
 * computed here, reproducible sampling, and one-line errors with no output file for every kind of bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dpmlab.h"
#include "testutil.h"

/* Parse CSV text (skipping '#' lines and the header) into rows of doubles; returns the row count. */
static size_t parse_csv(const char *text, double *v, size_t cap, size_t *cols, char *header, size_t hcap)
{
  const char *path = dpm_test_tmpfile(".csv", text);
  double *data;
  size_t r, c;
  char *hdr;
  assert_int_equal(dpm_csv_read(path, &data, &r, &c, &hdr), 0);
  unlink(path);
  assert_true(r * c <= cap);
  memcpy(v, data, r * c * sizeof(double));
  *cols = c;
  if (header) snprintf(header, hcap, "%s", hdr ? hdr : "");
  free(data);
  free(hdr);
  return r;
}

static void test_help(void **state)
{
  (void)state;
  char *out = dpm_test_run_ok("help", NULL);
  assert_non_null(strstr(out, "oracle"));
  assert_non_null(strstr(out, "distance"));
  assert_non_null(strstr(out, "gmm1d"));
  free(out);
  const char *cmds[] = {"oracle", "distance", "data"};
  for (int i = 0; i < 3; i++) {
    char a[64];
    snprintf(a, sizeof a, "%s --help", cmds[i]);
    out = dpm_test_run_ok(a, NULL);
    assert_non_null(strstr(out, "usage: dpmlab"));
    free(out);
    snprintf(a, sizeof a, "help %s", cmds[i]);
    out = dpm_test_run_ok(a, NULL);
    assert_non_null(strstr(out, "--"));
    free(out);
  }
}

/* One Gaussian N(mu, v) in 1-D at (m, s): q_t = N(m mu, C), C = m^2 v + s^2, and every posterior quantity in
 * closed form: E[x0|x] = mu + m v (x - m mu)/C, Var[x0|x] = v s^2 / C, E[eps|x] = s (x - m mu)/C. */
static void test_oracle_columns_1d(void **state)
{
  (void)state;
  const double mu = 0.5, v = 0.25, m = 0.8, s = 0.6, C = m * m * v + s * s;
  const char *json = dpm_test_tmpfile(".json", "{\"weights\": [1], \"means\": [[0.5]], \"covariances\": [0.25]}");
  char args[512];
  snprintf(args, sizeof args, "oracle --data %s --m 0.8 --s 0.6 --at -", json);
  char *out = dpm_test_run_ok(args, "x\n-2\n0.4\n3.25\n100\n");
  double rows[64], xs[] = {-2, 0.4, 3.25, 100};
  size_t cols;
  char hdr[256];
  size_t r = parse_csv(out, rows, 64, &cols, hdr, sizeof hdr);
  assert_string_equal(hdr, "logq,score_1,x0_1,eps_1,trcov,lap");
  assert_int_equal(r, 4);
  assert_int_equal(cols, 6);
  for (size_t i = 0; i < 4; i++) {
    double x = xs[i], *row = rows + i * 6, dx = x - m * mu;
    /* %.17g round-trips a double, so the only error is the library's arithmetic: a few ulps */
    assert_close(row[0], -0.5 * dx * dx / C - 0.5 * log(2 * M_PI * C), 1e-13, 1e-14);
    assert_close(row[1], -dx / C, 1e-13, 1e-300);
    assert_close(row[2], mu + m * v * dx / C, 1e-13, 1e-300);
    assert_close(row[3], s * dx / C, 1e-13, 1e-300);
    assert_close(row[4], v * s * s / C, 1e-13, 0);
    assert_close(row[5], -1 / C, 1e-13, 0);
  }
  free(out);
  unlink(json);
}

/* A full 2x2 covariance: log q_t and the score against a direct 2x2 inverse. */
static void test_oracle_full_cov_2d(void **state)
{
  (void)state;
  const char *json = dpm_test_tmpfile(
      ".json", "{\"means\": [[1, -1]], \"covariances\": [[[2.0, 0.6], [0.6, 0.5]]], \"weights\": [3]}");
  const double m = 0.7, s = 0.3, S[4] = {2.0, 0.6, 0.6, 0.5}, mu[2] = {1, -1};
  double C[4] = {m * m * S[0] + s * s, m * m * S[1], m * m * S[2], m * m * S[3] + s * s};
  double det = C[0] * C[3] - C[1] * C[2], Ci[4] = {C[3] / det, -C[1] / det, -C[2] / det, C[0] / det};
  char args[512];
  snprintf(args, sizeof args, "oracle --data %s --m 0.7 --s 0.3 --at -", json);
  char *out = dpm_test_run_ok(args, "0,0\n1.5,-2\n-3,4\n");
  double rows[64], pts[] = {0, 0, 1.5, -2, -3, 4};
  size_t cols;
  size_t r = parse_csv(out, rows, 64, &cols, NULL, 0);
  assert_int_equal(r, 3);
  assert_int_equal(cols, 9);
  for (size_t i = 0; i < 3; i++) {
    double d0 = pts[2 * i] - m * mu[0], d1 = pts[2 * i + 1] - m * mu[1];
    double q = d0 * (Ci[0] * d0 + Ci[1] * d1) + d1 * (Ci[2] * d0 + Ci[3] * d1);
    double *row = rows + i * cols;
    assert_close(row[0], -0.5 * q - 0.5 * log(4 * M_PI * M_PI * det), 1e-12, 1e-13);
    assert_close(row[1], -(Ci[0] * d0 + Ci[1] * d1), 1e-12, 1e-13);
    assert_close(row[2], -(Ci[2] * d0 + Ci[3] * d1), 1e-12, 1e-13);
    assert_close(row[8], -(Ci[0] + Ci[3]), 1e-12, 0);
    /* Tweedie: x0 = (x + s^2 score)/m, eps = -s score */
    assert_close(row[3], (pts[2 * i] + s * s * row[1]) / m, 1e-12, 1e-13);
    assert_close(row[6], -s * row[2], 1e-12, 1e-13);
  }
  free(out);
  unlink(json);
}

static void test_oracle_process_time(void **state)
{
  (void)state;
  /* --process vp --t T is the same as --m m_T --s s_T */
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VP);
  double m, s;
  dpm_process_ms(&p, 0.3, &m, &s);
  char a1[256], a2[256];
  snprintf(a1, sizeof a1, "oracle --data ring8 --process vp --t 0.3 --at -");
  snprintf(a2, sizeof a2, "oracle --data ring8 --m %.17g --s %.17g --at -", m, s);
  char *o1 = dpm_test_run_ok(a1, "0.5,0.25\n3,-1\n"), *o2 = dpm_test_run_ok(a2, "0.5,0.25\n3,-1\n");
  assert_string_equal(o1, o2);
  free(o1);
  free(o2);
}

static void test_distance_columns(void **state)
{
  (void)state;
  const char *set = dpm_test_tmpfile(".csv", "x,y\n0,0\n1,0\n0,2\n");
  const double Y[] = {0, 0, 1, 0, 0, 2}, sigma = 0.4;
  char args[512];
  snprintf(args, sizeof args, "distance --data %s --sigma 0.4 --at -", set);
  char *out = dpm_test_run_ok(args, "0.3,0.1\n0.9,1.2\n-1,-1\n");
  double rows[64], pts[] = {0.3, 0.1, 0.9, 1.2, -1, -1};
  size_t cols;
  char hdr[256];
  size_t r = parse_csv(out, rows, 64, &cols, hdr, sizeof hdr);
  assert_string_equal(hdr, "dist2,grad_1,grad_2,eps_1,eps_2,proj_1,proj_2");
  assert_int_equal(r, 3);
  for (size_t i = 0; i < 3; i++) {
    double sum = 0, e[2] = {0, 0}, best = INFINITY;
    size_t bi = 0;
    for (size_t k = 0; k < 3; k++) {
      double dx = pts[2 * i] - Y[2 * k], dy = pts[2 * i + 1] - Y[2 * k + 1], d2 = dx * dx + dy * dy;
      double w = exp(-d2 / (2 * sigma * sigma));
      sum += w;
      e[0] += w * dx;
      e[1] += w * dy;
      if (d2 < best) best = d2, bi = k;
    }
    double *row = rows + i * cols;
    assert_close(row[0], -2 * sigma * sigma * log(sum), 1e-12, 1e-14);
    for (int j = 0; j < 2; j++) {
      assert_close(row[3 + j], e[j] / (sigma * sum), 1e-12, 1e-14);
      assert_close(row[1 + j], 2 * sigma * row[3 + j], 1e-12, 1e-14);
      assert_close(row[5 + j], Y[2 * bi + j], 0, 0);
    }
  }
  free(out);
  unlink(set);
}

static void test_data_reproducible(void **state)
{
  (void)state;
  char *a = dpm_test_run_ok("data --data ring8 --n 50 --seed 7", NULL),
       *b = dpm_test_run_ok("data --data ring8 --n 50 --seed 7", NULL),
       *c = dpm_test_run_ok("data --data ring8 --n 50 --seed 8", NULL);
  assert_string_equal(a, b);
  assert_string_not_equal(a, c);
  assert_int_equal(strncmp(a, "x_1,x_2\n", 8), 0);
  size_t lines = 0;
  for (const char *p = a; *p; p++)
    lines += *p == '\n';
  assert_int_equal(lines, 51);
  free(a);
  free(b);
  free(c);
  /* the JSON the data command prints loads back as the same mixture */
  char *json = dpm_test_run_ok("data --data gmm1d:sep=3", NULL);
  const char *path = dpm_test_tmpfile(".json", json);
  char args[512];
  snprintf(args, sizeof args, "oracle --data %s --s 0.5 --at -", path);
  char *o1 = dpm_test_run_ok(args, "0.3\n"),
       *o2 = dpm_test_run_ok("oracle --data gmm1d:sep=3 --s 0.5 --at -", "0.3\n");
  assert_string_equal(o1, o2);
  free(json);
  free(o1);
  free(o2);
  unlink(path);
}

/* Every bad input: exit status 1 or 2, exactly one line on stderr naming the problem, no output file. */
typedef struct {
  const char *args; /* %s is replaced by the bad file when file != NULL */
  const char *file_suffix, *file_text;
  const char *input;
  int code;
  const char *needle;
} bad_case;

static void test_bad_inputs(void **state)
{
  (void)state;
  char longline[DPM_IO_MAX_LINE + 64];
  memset(longline, '1', sizeof longline - 2);
  longline[sizeof longline - 2] = '\n';
  longline[sizeof longline - 1] = '\0';
  const bad_case cases[] = {
      {"frobnicate", NULL, NULL, NULL, 2, "unknown command"},
      {"oracle --data ring8 --s 1 --at - --bogus 1", NULL, NULL, "0,0\n", 2, "unknown option"},
      {"oracle --data ring8 --at -", NULL, NULL, "0,0\n", 2, "missing --s"},
      {"oracle --data ring8 --s 0 --at -", NULL, NULL, "0,0\n", 1, "s must be > 0"},
      {"oracle --data ring8 --s -1 --at -", NULL, NULL, "0,0\n", 1, "s must be > 0"},
      {"oracle --data ring8 --s abc --at -", NULL, NULL, "0,0\n", 2, "not a finite number"},
      {"oracle --data ring8 --s nan --at -", NULL, NULL, "0,0\n", 2, "not a finite number"},
      {"oracle --data ring8 --m 0 --s 1 --at -", NULL, NULL, "0,0\n", 1, "m must be > 0"},
      {"oracle --data nosuchset --s 1 --at -", NULL, NULL, "0,0\n", 1, "nosuchset"},
      {"oracle --data ring8 --s 1 --at /nonexistent.csv", NULL, NULL, NULL, 1, "/nonexistent.csv"},
      {"oracle --data /nonexistent.json --s 1 --at -", NULL, NULL, "0,0\n", 1, "/nonexistent.json"},
      {"oracle --data ring8 --s 1 --at -", NULL, NULL, "0,0,0\n", 1, "3 columns"},
      {"oracle --data ring8 --s 1 --at -", NULL, NULL, "0,nan\n", 1, "not finite"},
      {"oracle --data ring8 --s 1 --at -", NULL, NULL, "0,1\n2,x\n", 1, ":2:"},
      {"oracle --data ring8 --s 1 --at -", NULL, NULL, longline, 1, "out of the range of a double"},
      {"oracle --data %s --s 1 --at -", ".json", "{\"means\": [[0, 0]], \"covariances\": [[[1, 2], [2, 1]]]}",
       "0,0\n", 1, "component 0"},
      {"oracle --data %s --s 1 --at -", ".json", "{\"means\": [[0], [1]], \"weights\": [1, -1]}", "0\n", 1,
       "negative"},
      {"oracle --data %s --s 1 --at -", ".json", "{\"means\": [[0], [1]], \"weights\": [1, \n", "0\n", 1, ":"},
      {"oracle --data %s --s 1 --at -", ".json", "{\"means\": [[0], [1, 2]]}", "0\n", 1, "means"},
      {"oracle --data %s --s 1 --at -", ".csv", "1,2\n3\n", "0,0\n", 1, ":2:"},
      {"oracle --data ring8 --process vq --t 0.5 --at -", NULL, NULL, "0,0\n", 2, "vq"},
      {"distance --data ring8 --sigma 1 --at -", NULL, NULL, "0,0\n", 1, "not a point set"},
      {"distance --data swissroll --sigma 0 --at -", NULL, NULL, "0,0\n", 1, "sigma must be > 0"},
      {"data --data ring8 --n -5", NULL, NULL, NULL, 2, "non-negative integer"},
      {"data --data ring8 --n 0", NULL, NULL, NULL, 2, "at least 1"},
      {"data --data gauss:d=0", NULL, NULL, NULL, 1, "d"},
      {"oracle --data ring8 --m 0.8 --s 0.6 --at -", NULL, NULL, "1e150,1e150\n", 1, "point 0 is too far"},
      {"oracle --data ring8 --s 1 --at -", NULL, NULL, "0,0\n2e154,0\n", 1, "point 1 is too far"},
      {"data --data ring8 --n 5 --m 0.5", NULL, NULL, NULL, 2, "--m needs --s"},
      {"data --data ring8 --m 0.5 --s 1", NULL, NULL, NULL, 2, "need --n"},
      {"data --data ring8 --m 0.5", NULL, NULL, NULL, 2, "need --n"},
      {"data --data sample:of=nosuchset,n=5", NULL, NULL, NULL, 1, "sample: of=nosuchset: unknown data set"},
      {"help nosuchcommand", NULL, NULL, NULL, 2, "unknown command"},
  };
  char dir[] = "/tmp/dpmcli-XXXXXX";
  assert_non_null(mkdtemp(dir));
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const bad_case *c = &cases[i];
    char args[1024], outpath[300];
    const char *file = c->file_text ? dpm_test_tmpfile(c->file_suffix, c->file_text) : NULL;
    const char *hole = file ? strstr(c->args, "%s") : NULL;
    if (hole)
      snprintf(args, sizeof args, "%.*s%s%s", (int)(hole - c->args), c->args, file, hole + 2);
    else
      snprintf(args, sizeof args, "%s", c->args);
    snprintf(outpath, sizeof outpath, "%s/out%zu.csv", dir, i);
    int with_out = strncmp(args, "help", 4) != 0 && strncmp(args, "frob", 4) != 0;
    dpm_test_expect_failure(args, c->input, with_out ? outpath : NULL, c->code, c->needle, i);
    if (file) unlink(file);
  }
  char rm[300];
  snprintf(rm, sizeof rm, "rm -rf %s", dir);
  assert_int_equal(system(rm), 0);
}

/* Input with a NUL byte (the rest of its line used to be dropped silently) is refused naming file:line, both
 * as query points and as a point set; a failed run leaves an existing --out file exactly as it was; --out
 * through a symbolic link writes the file it points to and keeps the link. */
static void test_nul_and_output_targets(void **state)
{
  (void)state;
  char dir[] = "/tmp/dpmcli2-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char bad[300], out[300], target[300], link[300], args[1200];
  snprintf(bad, sizeof bad, "%s/nul.csv", dir);
  snprintf(out, sizeof out, "%s/out.csv", dir);
  snprintf(target, sizeof target, "%s/target.csv", dir);
  snprintf(link, sizeof link, "%s/link.csv", dir);
  static const char nul[] = "0,0\n1,\0 2\n";
  FILE *fp = fopen(bad, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(nul, 1, sizeof nul - 1, fp), sizeof nul - 1);
  assert_int_equal(fclose(fp), 0);
  snprintf(args, sizeof args, "oracle --data ring8 --s 1 --at %s", bad);
  dpm_test_expect_failure(args, NULL, out, 1, ":2: NUL byte at column 3", 0);
  snprintf(args, sizeof args, "distance --data %s --sigma 1 --at -", bad);
  dpm_test_expect_failure(args, "0,0\n", out, 1, ":2: NUL byte", 1);

  /* an existing output survives a failure untouched */
  fp = fopen(out, "w");
  assert_non_null(fp);
  fputs("keep\n", fp);
  assert_int_equal(fclose(fp), 0);
  char cmd[1400], *o = NULL, *e = NULL;
  snprintf(cmd, sizeof cmd, "%s oracle --data ring8 --s 1 --at - --out %s", dpm_test_bin(), out);
  assert_int_equal(dpm_test_run(cmd, "0,0\n1e200,0\n", &o, &e), 1);
  free(o);
  free(e);
  fp = fopen(out, "r");
  char buf[64] = {0};
  assert_non_null(fp);
  assert_true(fread(buf, 1, sizeof buf - 1, fp) > 0);
  fclose(fp);
  assert_string_equal(buf, "keep\n");

  /* through a symbolic link */
  assert_int_equal(symlink("target.csv", link), 0);
  snprintf(args, sizeof args, "data --data gmm1d --n 3 --seed 2 --out %s", link);
  free(dpm_test_run_ok(args, NULL));
  struct stat st;
  assert_int_equal(lstat(link, &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  char *direct = dpm_test_run_ok("data --data gmm1d --n 3 --seed 2", NULL);
  fp = fopen(target, "r");
  char got[4096] = {0};
  assert_non_null(fp);
  assert_true(fread(got, 1, sizeof got - 1, fp) > 0);
  fclose(fp);
  assert_string_equal(got, direct);
  free(direct);
  unlink(bad);
  unlink(out);
  unlink(link);
  unlink(target);
  assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_help),
      cmocka_unit_test(test_oracle_columns_1d),
      cmocka_unit_test(test_oracle_full_cov_2d),
      cmocka_unit_test(test_oracle_process_time),
      cmocka_unit_test(test_distance_columns),
      cmocka_unit_test(test_data_reproducible),
      cmocka_unit_test(test_bad_inputs),
      cmocka_unit_test(test_nul_and_output_targets),
  };
  return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
