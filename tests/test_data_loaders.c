/* test_data_loaders.c — the ways dpm_data builds a mixture (docs/MATH.md §2) other than its setters: the JSON
 * loader (round trip, the accepted forms of a covariance, every error path), the CSV point-set loader, and the
 * built-in data sets with their options and errors. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "dpm_common.h"
#include "dpm_data.h"
#include "dpm_io.h"
#include "dpm_rng.h"
#include "test_data_common.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---- JSON ---------------------------------------------------------------------------------------------- */

/* Every field of a and b equal bit for bit. */
static void assert_same_mixture(const dpm_mixture *a, const dpm_mixture *b)
{
  assert_int_equal(a->K, b->K);
  assert_int_equal(a->d, b->d);
  size_t K = a->K, d = a->d;
  assert_memory_equal(a->w, b->w, K * sizeof(double));
  assert_memory_equal(a->logw, b->logw, K * sizeof(double));
  assert_memory_equal(a->mu, b->mu, K * d * sizeof(double));
  assert_memory_equal(a->kind, b->kind, K * sizeof(dpm_cov_kind));
  assert_memory_equal(a->lambda, b->lambda, K * d * sizeof(double));
  assert_true((a->U == NULL) == (b->U == NULL));
  for (size_t k = 0; k < K; k++)
    if (a->kind[k] == DPM_COV_FULL) {
      assert_memory_equal(a->U + k * d * d, b->U + k * d * d, d * d * sizeof(double));
      assert_memory_equal(a->Sigma + k * d * d, b->Sigma + k * d * d, d * d * sizeof(double));
    }
  assert_true((a->labels == NULL) == (b->labels == NULL));
  if (a->labels) assert_memory_equal(a->labels, b->labels, K * sizeof(int));
  assert_int_equal(a->nlabels, b->nlabels);
}

static void test_json_roundtrip(void **state)
{
  (void)state;
  dpm_mixture *m = mixed4();
  /* awkward numbers: -0, tiny, huge, 17 significant digits, weights that do not sum to 1 */
  double mu0[3] = {-0.0, 1e-300, 123456789.12345679}, w[4] = {1, 2, 3, 1.0 / 3.0};
  assert_int_equal(dpm_mixture_set_mean(m, 0, mu0), 0);
  assert_int_equal(dpm_mixture_set_weights(m, w), 0);
  int lab[4] = {0, 2, 1, 2};
  assert_int_equal(dpm_mixture_set_labels(m, lab), 0);
  char path[] = "/tmp/dpmtest-rtXXXXXX.json", path2[] = "/tmp/dpmtest-rt2XXXXXX.json";
  int fd = mkstemps(path, 5), fd2 = mkstemps(path2, 5);
  assert_true(fd >= 0 && fd2 >= 0);
  close(fd);
  close(fd2);
  FILE *fp = fopen(path, "w");
  assert_int_equal(dpm_data_write_json(m, fp), 0);
  fclose(fp);
  dpm_mixture *l = dpm_data_load_json(path);
  assert_non_null(l);
  assert_same_mixture(m, l);
  assert_true(signbit(l->mu[0]));
  assert_string_equal(l->name, path);
  /* write(load(write(m))) is the same text, and from_spec dispatches ".json" to the same loader */
  fp = fopen(path2, "w");
  assert_int_equal(dpm_data_write_json(l, fp), 0);
  fclose(fp);
  char *t1 = slurp_file(path), *t2 = slurp_file(path2);
  assert_string_equal(t1, t2);
  dpm_mixture *s = dpm_data_from_spec(path);
  assert_non_null(s);
  assert_same_mixture(m, s);
  assert_string_equal(s->name, path);
  dpm_mixture *s2 = dpm_data_load_json_string(t1, "mem");
  assert_non_null(s2);
  assert_same_mixture(m, s2);
  assert_string_equal(s2->name, "mem");
  /* a point set writes no covariances and reads back as one */
  dpm_mixture *ps = dpm_data_from_spec("moons:n=50");
  fp = fopen(path2, "w");
  assert_int_equal(dpm_data_write_json(ps, fp), 0);
  fclose(fp);
  free(t2);
  t2 = slurp_file(path2);
  assert_null(strstr(t2, "covariances"));
  dpm_mixture *pl = dpm_data_load_json(path2);
  assert_non_null(pl);
  assert_true(dpm_mixture_is_pointset(pl));
  assert_same_mixture(ps, pl);
  unlink(path);
  unlink(path2);
  free(t1);
  free(t2);
  dpm_mixture_free(m);
  dpm_mixture_free(l);
  dpm_mixture_free(s);
  dpm_mixture_free(s2);
  dpm_mixture_free(ps);
  dpm_mixture_free(pl);
}

static void test_json_forms(void **state)
{
  (void)state;
  /* one number, a list of variances, a matrix, 0 for a point mass; weights optional (equal) */
  dpm_mixture *m = dpm_data_load_json_string("{\"means\": [[0, 1], [2, 3], [4, 5], [6, 7]],\n"
                                             " \"covariances\": [2, [1, 3], [[2, 1], [1, 2]], 0]}",
                                             "forms");
  assert_non_null(m);
  assert_int_equal(m->kind[0], DPM_COV_ISO);
  assert_int_equal(m->kind[1], DPM_COV_DIAG);
  assert_int_equal(m->kind[2], DPM_COV_FULL);
  assert_int_equal(m->kind[3], DPM_COV_ZERO);
  for (size_t k = 0; k < 4; k++)
    assert_true(m->w[k] == 0.25);
  assert_true(m->lambda[0] == 2 && m->lambda[1] == 2 && m->lambda[2] == 1 && m->lambda[3] == 3);
  /* [[2,1],[1,2]] has eigenvalues 3 and 1 */
  double l0 = fmax(m->lambda[4], m->lambda[5]), l1 = fmin(m->lambda[4], m->lambda[5]);
  assert_close(l0, 3, 4 * DBL_EPSILON, 0);
  assert_close(l1, 1, 8 * DBL_EPSILON, 0);
  assert_true(m->mu[5] == 5 && m->mu[7] == 7);
  assert_null(m->labels);
  assert_false(dpm_mixture_is_pointset(m));
  dpm_mixture_free(m);
  m = dpm_data_load_json_string("{\"means\": [[1], [2.5]], \"weights\": [1, 3], \"labels\": [1, 0]}", "pts");
  assert_non_null(m);
  assert_true(dpm_mixture_is_pointset(m));
  assert_true(m->w[0] == 0.25 && m->w[1] == 0.75);
  assert_int_equal(m->labels[0], 1);
  assert_int_equal(m->nlabels, 2);
  dpm_mixture_free(m);
}

static void test_json_errors(void **state)
{
  (void)state;
  /* syntax error: the reason is file:LINE:COL; the bad token is on line 3 */
  const char *p = dpm_test_tmpfile(".json", "{\n  \"means\": [[1, 2],\n    [3 4]]\n}\n");
  assert_non_null(p);
  char want[128];
  snprintf(want, sizeof want, "%s:3:", p);
  expect_null(dpm_data_load_json(p), want);
  expect_null(dpm_data_from_spec(p), want);
  unlink(p);
  expect_null(dpm_data_load_json("/nonexistent/dir/x.json"), "/nonexistent/dir/x.json: unable to open");
  expect_null(dpm_data_load_json_string("{\"means\": [[1]],}", "t"), "t:1:");
  expect_null(dpm_data_load_json_string("{\"means\": [[1]], \"means\": [[2]]}", "t"), "duplicate");

  struct {
    const char *text, *reason;
  } cases[] = {
      {"[1, 2]", "t: top level must be an object"},
      {"{}", "t: missing \"means\""},
      {"{\"weights\": [1]}", "t: missing \"means\""},
      {"{\"means\": []}", "t: means: expected a non-empty list"},
      {"{\"means\": [[]]}", "t: means[0]: expected a non-empty list"},
      {"{\"means\": 3}", "t: means: expected a non-empty list"},
      {"{\"means\": [[1, 2], [3]]}", "t: means[1]: has 1 coordinates but means[0] has 2"},
      {"{\"means\": [[1, 2], 3]}", "t: means[1]: expected a list of 2 numbers"},
      {"{\"means\": [[1, 2], [3, 4], [\"a\", 5]]}", "t: means[2][0]: expected a number"},
      {"{\"means\": [[1, null]]}", "t: means[0][1]: expected a number"},
      {"{\"means\": [[1, true]]}", "t: means[0][1]: expected a number"},
      {"{\"means\": [[1]], \"colour\": 3}", "t: unknown key \"colour\""},
      {"{\"means\": [[1], [2]], \"weights\": [1]}", "t: weights: expected a list of 2 numbers"},
      {"{\"means\": [[1], [2]], \"weights\": 1}", "t: weights: expected a list of 2 numbers"},
      {"{\"means\": [[1], [2]], \"weights\": [1, \"x\"]}", "t: weights[1]: expected a number"},
      {"{\"means\": [[1], [2]], \"weights\": [0.5, -0.1]}", "t: weights: negative weight -0.1 at component 1"},
      {"{\"means\": [[1], [2]], \"weights\": [0, 0]}", "t: weights: sum must be positive"},
      {"{\"means\": [[1, 2], [3, 4]], \"covariances\": [1]}", "t: covariances: expected a list of 2 entries"},
      {"{\"means\": [[1, 2], [3, 4]], \"covariances\": [1, [1, 2, 3]]}",
       "t: covariances[1]: expected a number, a list of 2 variances or a 2 x 2 matrix"},
      {"{\"means\": [[1, 2], [3, 4]], \"covariances\": [1, \"big\"]}", "t: covariances[1]: expected a number"},
      {"{\"means\": [[1, 2], [3, 4]], \"covariances\": [[1, 2], [[1, 0], [0]]]}",
       "t: covariances[1][1]: expected 2 numbers, got 1"},
      {"{\"means\": [[1, 2], [3, 4]], \"covariances\": [[1, 2], [[1, 0], [0, null]]]}",
       "t: covariances[1][1][1]: expected a number"},
      {"{\"means\": [[1, 2], [3, 4]], \"covariances\": [[1, -1], 1]}",
       "t: component 0: variance -1 at coordinate 1"},
      {"{\"means\": [[1, 2], [3, 4]], \"covariances\": [1, -2]}",
       "t: covariances[1]: variance -2 must be positive"},
      {"{\"means\": [[1, 2], [3, 4]], \"covariances\": [1, [[1, 2], [2, 1]]]}",
       "t: component 1: covariance is not positive definite"},
      {"{\"means\": [[1, 2], [3, 4]], \"covariances\": [[[1, 0.5], [0.4, 1]], 1]}",
       "t: component 0: covariance is not symmetric"},
      {"{\"means\": [[1], [2]], \"labels\": [0]}", "t: labels: expected a list of 2 integers"},
      {"{\"means\": [[1], [2]], \"labels\": [0, -1]}", "t: labels[1]: expected an integer"},
      {"{\"means\": [[1], [2]], \"labels\": [0, 1.5]}", "t: labels[1]: expected an integer"},
  };
  char why[1400];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dpm_error_clear();
    dpm_mixture *m = dpm_data_load_json_string(cases[i].text, "t");
    if (!dpm_test_raised_null(m, cases[i].reason, why, sizeof why)) {
      dpm_mixture_free(m);
      print_error("case %zu: %s: %s\n", i, cases[i].text, why);
      fail();
    }
  }
  expect_status(dpm_data_write_json(NULL, stdout), "NULL mixture");
}

/* ---- CSV ----------------------------------------------------------------------------------------------- */

static void test_csv(void **state)
{
  (void)state;
  const char *p = dpm_test_tmpfile(".csv", "# a point set\nx, y\n\n1.5, -2\n# middle comment\n  3,4e-1 \n\n0,0\n");
  dpm_mixture *m = dpm_data_load_csv(p);
  assert_non_null(m);
  assert_int_equal(m->K, 3);
  assert_int_equal(m->d, 2);
  assert_true(dpm_mixture_is_pointset(m));
  const double want[6] = {1.5, -2, 3, 0.4, 0, 0};
  assert_memory_equal(m->mu, want, sizeof want);
  for (size_t k = 0; k < 3; k++)
    assert_true(m->w[k] == 1.0 / 3.0);
  assert_string_equal(m->name, p);
  dpm_mixture_free(m);
  m = dpm_data_from_spec(p); /* ".csv" dispatches here */
  assert_non_null(m);
  assert_int_equal(m->K, 3);
  dpm_mixture_free(m);
  unlink(p);

  struct {
    const char *text, *reason;
  } cases[] = {
      {"1,2\n3,4\n5\n", ":3: 1 columns, expected 2"},
      {"a,b\n1,2\n3,4,5\n", ":3: 3 columns, expected 2"},
      {"1,2\nnan,4\n", ":2: field 1 is not finite"},
      {"1,2\n3,inf\n", ":2: field 2 is not finite"},
      {"x,y\n1,2\n3,abc\n", ":3: field 2 is not a number"},
      {"", "no data rows"},
      {"# only a comment\n\n", "no data rows"},
      {"x,y\n", "no data rows"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    p = dpm_test_tmpfile(".csv", cases[i].text);
    char reason[160];
    snprintf(reason, sizeof reason, "%s%s", cases[i].reason[0] == ':' ? p : "", cases[i].reason);
    expect_null(dpm_data_load_csv(p), reason);
    unlink(p);
  }
  /* a line longer than DPM_IO_MAX_LINE on line 2 (no length limit: its one 65636-digit field overflows) */
  size_t len = DPM_IO_MAX_LINE + 100;
  char *text = malloc(len + 16);
  strcpy(text, "1,2\n");
  memset(text + 4, '1', len);
  strcpy(text + 4 + len, "\n");
  p = dpm_test_tmpfile(".csv", text);
  char longline[160];
  snprintf(longline, sizeof longline, "%s:2: field 1 is out of the range of a double", p);
  expect_null(dpm_data_load_csv(p), longline);
  unlink(p);
  free(text);
  expect_null(dpm_data_load_csv("/nonexistent/dir/p.csv"), "/nonexistent/dir/p.csv: cannot open");
  expect_null(dpm_data_from_spec("/nonexistent/dir/p.csv"), "cannot open");
}

/* ---- built-in sets ------------------------------------------------------------------------------------- */

static void test_builtin_gaussian_sets(void **state)
{
  (void)state;
  dpm_mixture *m = dpm_data_from_spec("gmm1d:sep=6,sd=1.5,w=0.2");
  assert_non_null(m);
  assert_int_equal(m->K, 2);
  assert_int_equal(m->d, 1);
  assert_true(m->mu[0] == -3 && m->mu[1] == 3);
  assert_true(m->kind[0] == DPM_COV_ISO && m->lambda[0] == 2.25 && m->lambda[1] == 2.25);
  assert_close(m->w[0], 0.2, 1e-15, 0);
  assert_close(m->w[1], 0.8, 1e-15, 0);
  assert_int_equal(m->labels[0], 0);
  assert_int_equal(m->labels[1], 1);
  assert_string_equal(m->name, "gmm1d:sep=6,sd=1.5,w=0.2");
  dpm_mixture_free(m);

  m = dpm_data_from_spec("ring8:r=3");
  assert_non_null(m);
  assert_int_equal(m->K, 8);
  assert_int_equal(m->d, 2);
  assert_int_equal(m->nlabels, 8);
  for (size_t k = 0; k < 8; k++) {
    assert_close(hypot(m->mu[2 * k], m->mu[2 * k + 1]), 3, 1e-15, 0);
    assert_close(atan2(m->mu[2 * k + 1], m->mu[2 * k]), remainder(2 * M_PI * (double)k / 8, 2 * M_PI), 0, 1e-15);
    assert_close(m->lambda[2 * k], 0.04, 1e-15, 0);
    assert_int_equal(m->labels[k], (int)k);
    assert_close(m->w[k], 0.125, 0, 0);
  }
  dpm_mixture_free(m);

  m = dpm_data_from_spec("grid25:sd=0.5");
  assert_non_null(m);
  assert_int_equal(m->K, 25);
  for (size_t row = 0; row < 5; row++)
    for (size_t col = 0; col < 5; col++) {
      size_t k = 5 * row + col;
      assert_true(m->mu[2 * k] == 2.0 * ((double)col - 2) && m->mu[2 * k + 1] == 2.0 * ((double)row - 2));
      assert_int_equal(m->labels[k], (int)k);
      assert_true(m->lambda[2 * k] == 0.25);
    }
  dpm_mixture_free(m);

  m = dpm_data_from_spec("gauss:d=5,sd=2");
  assert_non_null(m);
  assert_int_equal(m->K, 1);
  assert_int_equal(m->d, 5);
  for (size_t i = 0; i < 5; i++)
    assert_true(m->mu[i] == 0 && m->lambda[i] == 4);
  dpm_mixture_free(m);
  m = dpm_data_from_spec("gauss");
  assert_int_equal(m->d, 2);
  assert_true(m->lambda[0] == 1);
  dpm_mixture_free(m);

  const char *help = dpm_data_builtin_help();
  const char *names[] = {"gmm1d", "ring8", "grid25", "swissroll", "moons", "checkerboard", "gauss", "sample"};
  for (size_t i = 0; i < 8; i++)
    assert_non_null(strstr(help, names[i]));
}

static void test_builtin_point_sets(void **state)
{
  (void)state;
  /* swiss roll without noise lies on the curve: with (X, Y) = 7 p + (2, 2/(3 pi)), t = |(X, Y)| in
   * [1.5 pi, 4.5 pi] and the polar angle equals t mod 2 pi */
  dpm_mixture *m = dpm_data_from_spec("swissroll:n=500");
  assert_non_null(m);
  assert_int_equal(m->K, 500);
  assert_int_equal(m->d, 2);
  assert_true(dpm_mixture_is_pointset(m));
  for (size_t k = 0; k < 500; k++) {
    double X = 7 * m->mu[2 * k] + 2, Y = 7 * m->mu[2 * k + 1] + 2 / (3 * M_PI), t = hypot(X, Y);
    assert_true(t >= 1.5 * M_PI - 1e-12 && t <= 4.5 * M_PI + 1e-12);
    assert_close(remainder(atan2(Y, X) - t, 2 * M_PI), 0, 0, 1e-12);
  }
  /* the population mean is 0 and the spread about unit: sample mean within K_SE se */
  double mean[2], cov[4];
  dpm_mixture_moments(m, mean, cov, NULL);
  assert_within_se(mean[0], sqrt(cov[0] / 500), 0, K_SE);
  assert_within_se(mean[1], sqrt(cov[3] / 500), 0, K_SE);
  assert_true(cov[0] > 0.5 && cov[0] < 1.5 && cov[3] > 0.5 && cov[3] < 1.5);
  dpm_mixture_free(m);

  /* moons without noise: outer points on the unit circle about (-0.5, -0.25), inner on the one about
   * (0.5, 0.25); labels 0 then 1 */
  m = dpm_data_from_spec("moons:n=101,noise=0");
  assert_non_null(m);
  assert_int_equal(m->K, 101);
  assert_int_equal(m->nlabels, 2);
  for (size_t k = 0; k < 101; k++) {
    int inner = k >= 50;
    assert_int_equal(m->labels[k], inner);
    double cx = inner ? 0.5 : -0.5, cy = inner ? 0.25 : -0.25;
    assert_close(hypot(m->mu[2 * k] - cx, m->mu[2 * k + 1] - cy), 1, 0, 1e-14);
  }
  dpm_mixture_free(m);

  /* checkerboard: every point on a black square of [-2,2]^2, the 8 squares equally likely (binomial se) */
  const size_t n = 80000;
  m = dpm_data_from_spec("checkerboard:n=80000,seed=9");
  assert_non_null(m);
  size_t cnt[16] = {0};
  for (size_t k = 0; k < n; k++) {
    double x = m->mu[2 * k], y = m->mu[2 * k + 1];
    assert_true(x >= -2 && x <= 2 && y >= -2 && y <= 2);
    int c = (int)floor(x + 2), r = (int)floor(y + 2);
    assert_int_equal((c + r) % 2, 0);
    cnt[4 * r + c]++;
  }
  for (int r = 0; r < 4; r++)
    for (int c = r % 2; c < 4; c += 2)
      assert_within_se((double)cnt[4 * r + c] / (double)n, sqrt(0.125 * 0.875 / (double)n), 0.125, K_SE);
  dpm_mixture_free(m);

  /* sample: the draws are exactly those of dpm_mixture_sample with the stream (seed, 0); labels carried over */
  m = dpm_data_from_spec("sample:of=gmm1d:sep=6,n=50,seed=3");
  assert_non_null(m);
  assert_int_equal(m->K, 50);
  assert_int_equal(m->d, 1);
  assert_true(dpm_mixture_is_pointset(m));
  assert_string_equal(m->name, "sample:of=gmm1d:sep=6,n=50,seed=3");
  dpm_mixture *src = dpm_data_from_spec("gmm1d:sep=6");
  gsl_rng *r = dpm_rng_stream_alloc(3, 0);
  double x[50];
  size_t comp[50];
  dpm_test_sample_q0(src, r, 50, x, comp);
  assert_memory_equal(m->mu, x, sizeof x);
  for (size_t k = 0; k < 50; k++)
    assert_int_equal(m->labels[k], (int)comp[k]);
  gsl_rng_free(r);
  dpm_mixture_free(src);
  dpm_mixture_free(m);
  /* inner options after the first: n= belongs to sample, the other options to the inner spec */
  m = dpm_data_from_spec("sample:of=moons:n=100,noise=0.1,n=20");
  assert_non_null(m);
  assert_int_equal(m->K, 20);
  dpm_mixture_free(m);
  /* the inner spec may be a file */
  const char *p = dpm_test_tmpfile(".json", "{\"means\": [[1, 2]], \"covariances\": [0.5]}");
  char spec[128];
  snprintf(spec, sizeof spec, "sample:of=%s,n=7", p);
  m = dpm_data_from_spec(spec);
  assert_non_null(m);
  assert_int_equal(m->K, 7);
  assert_int_equal(m->d, 2);
  dpm_mixture_free(m);
  unlink(p);
}

static void test_builtin_errors(void **state)
{
  (void)state;
  struct {
    const char *spec, *reason;
  } cases[] = {
      {"foo", "unknown data set 'foo' (known: gmm1d, ring8"},
      {"foo:sd=1", "unknown data set 'foo'"},
      {"", "empty data spec"},
      {"gmm1d:bogus=1", "gmm1d: unknown option 'bogus' (options: sep, sd, w)"},
      {"gmm1d:sd", "gmm1d: malformed option 'sd'"},
      {"gmm1d:=3", "gmm1d: malformed option"},
      {"gmm1d:sd=", "gmm1d: option 'sd': empty value"},
      {"gmm1d:sd=abc", "gmm1d: option 'sd': malformed value 'abc'"},
      {"gmm1d:sd=1x", "gmm1d: option 'sd': malformed value '1x'"},
      {"gmm1d:sd=0", "gmm1d: option 'sd' must be > 0"},
      {"gmm1d:sd=-1", "gmm1d: option 'sd' must be > 0"},
      {"gmm1d:sd=nan", "gmm1d: option 'sd': value 'nan' is not a finite number"},
      {"gmm1d:sd=1e999", "gmm1d: option 'sd'"},
      {"gmm1d:w=1", "gmm1d: option 'w' must lie in (0, 1)"},
      {"gmm1d:sep=-2", "gmm1d: option 'sep' must be >= 0"},
      {"gmm1d:sd=1,sd=2", "gmm1d: option 'sd' given twice"},
      {"ring8:sd=0", "ring8: option 'sd' must be > 0"},
      {"grid25:n=4", "grid25: unknown option 'n'"},
      {"gauss:d=0", "gauss: option 'd' must lie in [1,"},
      {"gauss:d=2.5", "gauss: option 'd' must be an integer"},
      {"swissroll:n=0", "swissroll: option 'n' must lie in [1, 10000000]"},
      {"swissroll:n=20000000", "swissroll: option 'n' must lie in [1, 10000000]"},
      {"swissroll:noise=-1", "swissroll: option 'noise' must be >= 0"},
      {"moons:seed=-1", "moons: option 'seed': malformed value '-1'"},
      {"moons:seed=abc", "moons: option 'seed': malformed value"},
      {"moons:seed=99999999999999999999999", "moons: option 'seed': value"},
      {"checkerboard:noise=1", "checkerboard: unknown option 'noise'"},
      {"sample", "sample: needs the option 'of=SPEC'"},
      {"sample:n=5", "sample: the option 'of=SPEC' must come first"},
      {"sample:of=", "sample: option 'of': empty value"},
      {"sample:of=foo,n=5", "unknown data set 'foo'"},
      {"sample:of=gmm1d,n=0", "sample: option 'n' must lie in [1,"},
      {"sample:of=gmm1d:sd=-1,n=5", "gmm1d: option 'sd' must be > 0"},
      {"sample:of=gauss:d=100000,n=10000", "sample: option 'n'"},
      {"sample:of=gmm1d,n=5,n=6", "sample: option 'n' given twice"},
      {"/nonexistent/m.json", "unable to open"},
  };
  char why[1400];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dpm_error_clear();
    dpm_mixture *m = dpm_data_from_spec(cases[i].spec);
    if (!dpm_test_raised_null(m, cases[i].reason, why, sizeof why)) {
      dpm_mixture_free(m);
      print_error("spec \"%s\": %s\n", cases[i].spec, why);
      fail();
    }
  }
  expect_null(dpm_data_from_spec(NULL), "empty data spec");
  /* "name:" with nothing after the colon is the defaults */
  dpm_mixture *m = dpm_data_from_spec("ring8:");
  assert_non_null(m);
  dpm_mixture_free(m);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json_roundtrip),        cmocka_unit_test(test_json_forms),
      cmocka_unit_test(test_json_errors),           cmocka_unit_test(test_csv),
      cmocka_unit_test(test_builtin_gaussian_sets), cmocka_unit_test(test_builtin_point_sets),
      cmocka_unit_test(test_builtin_errors),
  };
  return cmocka_run_group_tests_name("data_loaders", tests, NULL, NULL);
}
