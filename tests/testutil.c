/* testutil.c — shared test helpers (see testutil.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <gsl/gsl_randist.h>

#include "dpm_common.h"
#include "dpm_rng.h"
#include "testutil.h"

int dpm_test_close(double actual, double expected, double rtol, double atol)
{
  if (isnan(actual) || isnan(expected)) return isnan(actual) && isnan(expected);
  if (isinf(actual) || isinf(expected)) return actual == expected;
  return fabs(actual - expected) <= atol + rtol * fabs(expected);
}

void dpm_test_assert_close(double actual, double expected, double rtol, double atol, const char *what,
                           const char *file, int line)
{
  if (dpm_test_close(actual, expected, rtol, atol)) return;
  print_error(
      "%s:%d: %s = %.17g, expected %.17g (diff %.3g > tolerance %.3g = atol %.3g + rtol %.3g |expected|)\n", file,
      line, what, actual, expected, fabs(actual - expected), atol + rtol * fabs(expected), atol, rtol);
  _fail(file, line);
}

void dpm_test_assert_within_se(double mean, double se, double expected, double k, const char *what,
                               const char *file, int line)
{
  if (isfinite(mean) && isfinite(se) && fabs(mean - expected) <= k * se) return;
  print_error("%s:%d: %s = %.17g +- %.3g (se), expected %.17g within %.1f se (off by %.2f se)\n", file, line, what,
              mean, se, expected, k, k > 0 && se > 0 ? fabs(mean - expected) / se : HUGE_VAL);
  _fail(file, line);
}

void dpm_test_mean_se(const double *v, size_t n, double *mean, double *se)
{
  double m = 0.0, q = 0.0;
  for (size_t i = 0; i < n; i++) {
    double dlt = v[i] - m;
    m += dlt / (double)(i + 1);
    q += dlt * (v[i] - m);
  }
  *mean = m;
  *se = n > 1 ? sqrt(q / (double)(n - 1) / (double)n) : HUGE_VAL;
}

/* ---- errors ------------------------------------------------------------------------------------------------ */

static int reason_ok(const char *needle, char *why, size_t cap)
{
  const char *r = dpm_error_last();
  if (!r[0]) {
    snprintf(why, cap, "no reason was recorded by this call");
    return 0;
  }
  if (needle && !strstr(r, needle)) {
    snprintf(why, cap, "reason \"%s\" does not contain \"%s\"", r, needle);
    return 0;
  }
  return 1;
}

int dpm_test_raised(int got, int want, const char *needle, char *why, size_t cap)
{
  if (got == DPM_SUCCESS) {
    snprintf(why, cap, "returned success (reason now \"%s\")", dpm_error_last());
    return 0;
  }
  if (want != DPM_TEST_ANY_ERROR && got != want) {
    snprintf(why, cap, "returned status %d (%s), expected %d (%s); reason \"%s\"", got, gsl_strerror(got), want,
             gsl_strerror(want), dpm_error_last());
    return 0;
  }
  return reason_ok(needle, why, cap);
}

int dpm_test_raised_null(const void *got, const char *needle, char *why, size_t cap)
{
  if (got) {
    snprintf(why, cap, "returned non-NULL %p (reason now \"%s\")", got, dpm_error_last());
    return 0;
  }
  return reason_ok(needle, why, cap);
}

void dpm_test_assert_raised(int got, int want, const char *needle, const char *call, const char *file, int line)
{
  char why[1400];
  if (dpm_test_raised(got, want, needle, why, sizeof why)) return;
  print_error("%s:%d: %s: %s\n", file, line, call, why);
  _fail(file, line);
}

void dpm_test_assert_raised_null(const void *got, const char *needle, const char *call, const char *file, int line)
{
  char why[1400];
  if (dpm_test_raised_null(got, needle, why, sizeof why)) return;
  print_error("%s:%d: %s: %s\n", file, line, call, why);
  _fail(file, line);
}

void dpm_test_assert_raised_nan(double got, const char *needle, const char *call, const char *file, int line)
{
  char why[1400];
  if (!isnan(got))
    snprintf(why, sizeof why, "returned %.17g, not NaN (reason now \"%s\")", got, dpm_error_last());
  else if (reason_ok(needle, why, sizeof why))
    return;
  print_error("%s:%d: %s: %s\n", file, line, call, why);
  _fail(file, line);
}

void dpm_test_assert_reason_has(const char *needle, const char *file, int line)
{
  char why[1400];
  if (reason_ok(needle, why, sizeof why)) return;
  print_error("%s:%d: %s\n", file, line, why);
  _fail(file, line);
}

/* ---- fixtures ---------------------------------------------------------------------------------------------- */

dpm_mixture *dpm_test_mixture(const char *spec)
{
  dpm_mixture *m = dpm_data_from_spec(spec);
  if (!m) print_error("data spec \"%s\": %s\n", spec, dpm_error_last());
  assert_non_null(m);
  return m;
}

dpm_mixture *dpm_test_gauss(size_t d, const double *mu, const double *var)
{
  dpm_mixture *m = dpm_mixture_alloc(1, d);
  assert_non_null(m);
  assert_int_equal(dpm_mixture_set_mean(m, 0, mu), DPM_SUCCESS);
  assert_int_equal(dpm_mixture_set_diag(m, 0, var), DPM_SUCCESS);
  return m;
}

dpm_mixture *dpm_test_points(size_t K, size_t d, const double *pts, const double *w)
{
  dpm_mixture *m = dpm_mixture_alloc(K, d);
  assert_non_null(m);
  for (size_t k = 0; k < K; k++)
    assert_int_equal(dpm_mixture_set_mean(m, k, pts + k * d), DPM_SUCCESS);
  if (w) assert_int_equal(dpm_mixture_set_weights(m, w), DPM_SUCCESS);
  return m;
}

dpm_oracle *dpm_test_oracle(const dpm_mixture *mix)
{
  dpm_oracle *o = dpm_oracle_alloc(mix);
  assert_non_null(o);
  return o;
}

double *dpm_test_vec(size_t n)
{
  double *v = calloc(n ? n : 1, sizeof *v);
  assert_non_null(v);
  return v;
}

dpm_mixture *dpm_test_mixture_kinds(void)
{
  const double mu[5 * 3] = {1.0, 0.0, 0.0, -1.0, 1.0, 0.5, 0.0, -1.5, 1.0, 2.0, 2.0, -1.0, -0.5, 0.5, -1.5};
  const double w[5] = {0.3, 0.2, 0.25, 0.15, 0.1};
  dpm_mixture *mix = dpm_test_points(5, 3, mu, w);
  assert_int_equal(dpm_mixture_set_iso(mix, 0, 0.5), DPM_SUCCESS);
  const double var1[3] = {0.3, 1.2, 0.05};
  assert_int_equal(dpm_mixture_set_diag(mix, 1, var1), DPM_SUCCESS);
  const double cov2[9] = {1.0, 0.6, -0.2, 0.6, 0.8, 0.1, -0.2, 0.1, 0.4};
  assert_int_equal(dpm_mixture_set_full(mix, 2, cov2), DPM_SUCCESS);
  assert_int_equal(dpm_mixture_set_zero(mix, 3), DPM_SUCCESS);
  const double cov4[9] = {0.5, 0.49, 0.0, 0.49, 0.5, 0.0, 0.0, 0.0, 0.2}; /* eigenvalues 0.99, 0.2, 0.01 */
  assert_int_equal(dpm_mixture_set_full(mix, 4, cov4), DPM_SUCCESS);
  const int labels[5] = {0, 1, 0, 2, 1};
  assert_int_equal(dpm_mixture_set_labels(mix, labels), DPM_SUCCESS);
  return mix;
}

void dpm_test_sample_q0(const dpm_mixture *mix, gsl_rng *r, size_t n, double *x, size_t *comp)
{
  dpm_mixture_sample_workspace *w = dpm_mixture_sample_alloc(mix);
  assert_non_null(w);
  assert_int_equal(dpm_mixture_sample(mix, w, r, n, x, comp), DPM_SUCCESS);
  dpm_mixture_sample_free(w);
}

void dpm_test_sample_qt(const dpm_mixture *mix, gsl_rng *r, double m, double s, size_t n, double *x, double *x0,
                        double *eps)
{
  dpm_mixture_sample_workspace *w = dpm_mixture_sample_alloc(mix);
  assert_non_null(w);
  assert_int_equal(dpm_mixture_sample_t(mix, w, r, m, s, n, x, x0, eps), DPM_SUCCESS);
  dpm_mixture_sample_free(w);
}

int dpm_test_fixture_setup(void **state)
{
  dpm_test_fixture *f = *state;
  if (!f) return -1;
  f->mix = NULL;
  f->oracle = NULL;
  f->sch = NULL;
  if (f->data) {
    f->mix = dpm_data_from_spec(f->data);
    f->oracle = f->mix ? dpm_oracle_alloc(f->mix) : NULL;
    if (!f->oracle) {
      print_error("fixture \"%s\": %s\n", f->data, dpm_error_last());
      dpm_test_fixture_teardown(state);
      return -1;
    }
  }
  if (f->N) {
    f->sch = f->cosine ? dpm_schedule_cosine_alloc(f->N) : dpm_schedule_linear_alloc(f->N, 1e-4, 0.02);
    if (!f->sch) {
      print_error("fixture schedule (N = %zu): %s\n", f->N, dpm_error_last());
      dpm_test_fixture_teardown(state);
      return -1;
    }
  }
  return 0;
}

int dpm_test_fixture_teardown(void **state)
{
  dpm_test_fixture *f = *state;
  if (!f) return 0;
  dpm_oracle_free(f->oracle);
  dpm_mixture_free(f->mix);
  dpm_schedule_free(f->sch);
  f->oracle = NULL;
  f->mix = NULL;
  f->sch = NULL;
  return 0;
}

/* ---- the command line --------------------------------------------------------------------------------------- */

static char *slurp(FILE *fp)
{
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  size_t k;
  while (buf && (k = fread(buf + len, 1, cap - len - 1, fp)) > 0) {
    len += k;
    if (cap - len < 2) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) {
        free(buf);
        return NULL;
      }
      buf = nb;
    }
  }
  if (buf) buf[len] = '\0';
  return buf;
}

int dpm_test_run(const char *cmdline, const char *input, char **out, char **err)
{
  char inpath[] = "/tmp/dpmtest-inXXXXXX", outpath[] = "/tmp/dpmtest-outXXXXXX",
       errpath[] = "/tmp/dpmtest-errXXXXXX";
  int fi = mkstemp(inpath), fo = mkstemp(outpath), fe = mkstemp(errpath);
  if (fi < 0 || fo < 0 || fe < 0) return -1;
  if (input) {
    size_t n = strlen(input);
    if (write(fi, input, n) != (ssize_t)n) return -1;
  }
  close(fi);
  close(fo);
  close(fe);
  size_t len = strlen(cmdline) + 200;
  char *full = malloc(len);
  snprintf(full, len, "( %s ) <%s >%s 2>%s", cmdline, inpath, outpath, errpath);
  int st = system(full);
  free(full);
  FILE *fp;
  if (out) {
    fp = fopen(outpath, "r");
    *out = fp ? slurp(fp) : NULL;
    if (fp) fclose(fp);
  }
  if (err) {
    fp = fopen(errpath, "r");
    *err = fp ? slurp(fp) : NULL;
    if (fp) fclose(fp);
  }
  unlink(inpath);
  unlink(outpath);
  unlink(errpath);
  if (st == -1 || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

void dpm_test_expect_failure_at(const char *args, const char *input, const char *outpath, int code,
                                const char *needle, size_t label, const char *file, int line)
{
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "%s %s%s%s", dpm_test_bin(), args, outpath ? " --out " : "", outpath ? outpath : "");
  char *out = NULL, *err = NULL;
  int rc = dpm_test_run(cmd, input, &out, &err);
  size_t nl = 0;
  for (const char *p = err ? err : ""; *p; p++)
    nl += *p == '\n';
  int code_ok = code ? rc == code : (rc == 1 || rc == 2);
  int left = outpath && access(outpath, F_OK) == 0;
  if (!code_ok || !err || !strstr(err, needle) || nl != 1 || (out && *out) || left) {
    print_error("%s:%d: case %zu `%s`: exit %d (want %s), stderr '%s' (want one line containing '%s'), stdout "
                "'%s', output file %s\n",
                file, line, label, cmd, rc,
                code == 1   ? "1"
                : code == 2 ? "2"
                            : "1 or 2",
                err ? err : "", needle, out ? out : "", left ? "LEFT" : "absent");
    free(out);
    free(err);
    _fail(file, line);
  }
  free(out);
  free(err);
}

char *dpm_test_run_ok(const char *args, const char *input)
{
  size_t len = strlen(dpm_test_bin()) + strlen(args) + 2;
  char *cmd = malloc(len), *out = NULL, *err = NULL;
  assert_non_null(cmd);
  snprintf(cmd, len, "%s %s", dpm_test_bin(), args);
  int rc = dpm_test_run(cmd, input, &out, &err);
  if (rc != 0) {
    print_error("`%s` exited %d: %s\n", cmd, rc, err ? err : "");
    free(cmd);
    free(out);
    free(err);
    fail();
  }
  free(cmd);
  free(err);
  return out;
}

const char *dpm_test_bin(void)
{
  const char *env = getenv("DPMLAB_BIN");
  return env ? env : DPMLAB_BIN;
}

const char *dpm_test_tmpfile(const char *suffix, const char *text)
{
  static char paths[8][64];
  static int slot;
  char *p = paths[slot++ & 7];
  snprintf(p, 64, "/tmp/dpmtest-XXXXXX%s", suffix);
  int fd = mkstemps(p, (int)strlen(suffix));
  if (fd < 0) return NULL;
  size_t n = strlen(text);
  if (write(fd, text, n) != (ssize_t)n) {
    close(fd);
    return NULL;
  }
  close(fd);
  return p;
}

void dpm_test_gaussian_starts(size_t n, size_t d, double s, uint64_t seed, double *x)
{
  gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
  assert_non_null(r);
  for (size_t k = 0; k < n * d; k++)
    x[k] = s * gsl_ran_gaussian(r, 1.0);
  gsl_rng_free(r);
}

unsigned long dpm_test_sampler_run(const dpm_sampler_type *T, dpm_denoiser *dn, const dpm_timeline *tl,
                                   const dpm_sampler_params *par, uint64_t seed, size_t n, double *x)
{
  dpm_sampler *smp = dpm_sampler_alloc(T, n, dn->d, tl->K);
  assert_non_null(smp);
  dpm_sampler_problem pb = {.dn = dn, .tl = tl, .sigma2 = NULL, .mix = NULL, .par = *par};
  unsigned long nfe = 0;
  const unsigned long before = dn->nfe;
  if (dpm_sampler_run(smp, &pb, seed, n, x, 1, &nfe)) fail_msg("%s: %s", T->name, dpm_error_last());
  assert_int_equal(nfe, dn->nfe - before);
  dpm_sampler_free(smp);
  return nfe;
}

void dpm_test_distance_brute(size_t K, size_t d, const double *Y, double sigma, const double *x,
                             long double *dist2, long double *se, size_t *best)
{
  long double *D = malloc(K * sizeof *D), Dmin = INFINITY;
  for (size_t k = 0; k < K; k++) {
    long double acc = 0;
    for (size_t j = 0; j < d; j++) {
      const long double t = (long double)x[j] - (long double)Y[k * d + j];
      acc += t * t;
    }
    D[k] = acc;
    if (acc < Dmin) {
      Dmin = acc;
      *best = k;
    }
  }
  const long double two_s2 = 2.0L * sigma * sigma;
  long double other = 0, tot = 0;
  for (size_t j = 0; j < d; j++)
    se[j] = 0;
  for (size_t k = 0; k < K; k++) {
    const long double e = expl(-(D[k] - Dmin) / two_s2);
    if (k != *best) other += e;
    tot += e;
    for (size_t j = 0; j < d; j++)
      se[j] += e * ((long double)x[j] - (long double)Y[k * d + j]);
  }
  for (size_t j = 0; j < d; j++)
    se[j] /= tot;
  *dist2 = Dmin - two_s2 * log1pl(other);
  free(D);
}
