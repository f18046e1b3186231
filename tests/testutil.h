/* testutil.h — shared test helpers: a double-precision assert with a relative and an absolute tolerance,
 * Monte Carlo standard errors, and running the built command line. */
#ifndef DPM_TESTUTIL_H
#define DPM_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* Passes when |actual - expected| <= atol + rtol |expected| (both NaN passes; equal infinities pass); otherwise
 * fails printing both values as %.17g with the call site. */
#define assert_close(actual, expected, rtol, atol)                                                                \
  dpm_test_assert_close((actual), (expected), (rtol), (atol), #actual, __FILE__, __LINE__)
void dpm_test_assert_close(double actual, double expected, double rtol, double atol, const char *what,
                           const char *file, int line);

/* Passes when |mean - expected| <= k * se (a Monte Carlo check k standard errors wide). */
#define assert_within_se(mean, se, expected, k)                                                                   \
  dpm_test_assert_within_se((mean), (se), (expected), (k), #mean, __FILE__, __LINE__)
void dpm_test_assert_within_se(double mean, double se, double expected, double k, const char *what,
                               const char *file, int line);

/* Sample mean and its standard error of v[0..n-1]. */
void dpm_test_mean_se(const double *v, size_t n, double *mean, double *se);

/* Run a shell command line (through /bin/sh -c) with stdin from `input` (may be NULL), capturing stdout and
 * stderr (caller frees both, either may be NULL to discard); returns the exit status (or -1). */
int dpm_test_run(const char *cmdline, const char *input, char **out, char **err);

/* Run `dpmlab ARGS` (adding `--out OUTPATH` when outpath != NULL) with stdin from input (may be NULL) and assert
 * the failure contract: exit status `code` (or 1 or 2 when code == 0), exactly one line on stderr containing
 * needle, nothing on stdout, and no output file left at outpath. `label` names the case in the failure message. */
void dpm_test_expect_failure(const char *args, const char *input, const char *outpath, int code,
                             const char *needle, size_t label);

/* Path of the built dpmlab binary. */
const char *dpm_test_bin(void);

/* Write text to a fresh temporary file and return its path (static buffer per call slot 0..7). */
const char *dpm_test_tmpfile(const char *suffix, const char *text);

#endif
