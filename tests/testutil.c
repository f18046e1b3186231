/* testutil.c — shared test helpers (see testutil.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

void dpm_test_assert_close(double actual, double expected, double rtol, double atol, const char *what,
                           const char *file, int line)
{
  if (isnan(actual) && isnan(expected)) return;
  if (isinf(actual) || isinf(expected)) {
    if (actual == expected) return;
  } else if (fabs(actual - expected) <= atol + rtol * fabs(expected)) {
    return;
  }
  print_error("%s:%d: %s = %.17g, expected %.17g (rtol %.3g, atol %.3g, diff %.3g)\n", file, line, what, actual,
              expected, rtol, atol, fabs(actual - expected));
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

void dpm_test_expect_failure(const char *args, const char *input, const char *outpath, int code,
                             const char *needle, size_t label)
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
    print_error("case %zu `%s`: exit %d (want %s), stderr '%s' (want one line containing '%s'), stdout '%s', "
                "output file %s\n",
                label, cmd, rc,
                code == 1   ? "1"
                : code == 2 ? "2"
                            : "1 or 2",
                err ? err : "", needle, out ? out : "", left ? "LEFT" : "absent");
    free(out);
    free(err);
    _fail(__FILE__, __LINE__);
  }
  free(out);
  free(err);
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
