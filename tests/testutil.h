/* testutil.h — shared test helpers: a double-precision assert with a relative and an absolute tolerance, Monte
 * Carlo standard errors, assertions that a call raised an error (through dpm_errorf, see dpm_common.h), the
 * shared fixtures (data sets, oracles, schedules) as builders and as cmocka setup/teardown, and running the built
 * command line. */
#ifndef DPM_TESTUTIL_H
#define DPM_TESTUTIL_H

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dpm_data.h"
#include "dpm_oracle.h"
#include "dpm_process.h"
#include "dpm_sampler.h"

/* Passes when |actual - expected| <= atol + rtol |expected| (both NaN passes; equal infinities pass); otherwise
 * fails printing both values as %.17g, the difference and the tolerance, with the call site. */
#define assert_close(actual, expected, rtol, atol)                                                                \
  dpm_test_assert_close((actual), (expected), (rtol), (atol), #actual, __FILE__, __LINE__)
/* The predicate behind assert_close: 1 when it would pass. */
int dpm_test_close(double actual, double expected, double rtol, double atol);
void dpm_test_assert_close(double actual, double expected, double rtol, double atol, const char *what,
                           const char *file, int line);

/* Passes when |mean - expected| <= k * se (a Monte Carlo check k standard errors wide). */
#define assert_within_se(mean, se, expected, k)                                                                   \
  dpm_test_assert_within_se((mean), (se), (expected), (k), #mean, __FILE__, __LINE__)
void dpm_test_assert_within_se(double mean, double se, double expected, double k, const char *what,
                               const char *file, int line);

/* Sample mean and its standard error of v[0..n-1]. */
void dpm_test_mean_se(const double *v, size_t n, double *mean, double *se);

/* ---- errors: did *this* call raise? ---------------------------------------------------------------------- */

/* Any non-success status (for assert_raises when the exact code is not part of the contract). */
#define DPM_TEST_ANY_ERROR INT_MIN

/* Forget the last reason, evaluate `call` (an int status), then assert that it returned `status` (or any
 * non-success status for DPM_TEST_ANY_ERROR), that it recorded a reason, and that the reason contains `needle`
 * (NULL: any reason). A failure prints the call, the caller's file:line, the status and the reason. */
#define assert_raises(call, status, needle)                                                                       \
  do {                                                                                                            \
    dpm_error_clear();                                                                                            \
    const int st_raised_ = (call);                                                                                \
    dpm_test_assert_raised(st_raised_, (status), (needle), #call, __FILE__, __LINE__);                            \
  } while (0)

/* The same for a call that returns a pointer: NULL, with a fresh reason containing `needle` (NULL: any). An
 * unexpected non-NULL result is reported (and leaked: the test stops there). */
#define assert_raises_null(call, needle)                                                                          \
  do {                                                                                                            \
    dpm_error_clear();                                                                                            \
    const void *p_raised_ = (call);                                                                               \
    dpm_test_assert_raised_null(p_raised_, (needle), #call, __FILE__, __LINE__);                                  \
  } while (0)

/* The same for a call that returns a double: NaN, with a fresh reason containing `needle` (NULL: any). */
#define assert_raises_nan(call, needle)                                                                           \
  do {                                                                                                            \
    dpm_error_clear();                                                                                            \
    const double v_raised_ = (call);                                                                              \
    dpm_test_assert_raised_nan(v_raised_, (needle), #call, __FILE__, __LINE__);                                   \
  } while (0)

/* Assert that the last reason (whatever raised it) contains needle; prints both and the caller's file:line. */
#define assert_reason_has(needle) dpm_test_assert_reason_has((needle), __FILE__, __LINE__)

/* The checks behind the macros, without failing: 1 when status `got` (after dpm_error_clear() and the call)
 * meets `want` and the recorded reason is non-empty and contains needle (NULL: any); else 0 with what is wrong
 * in why[0..cap-1]. dpm_test_raised_null is the same for a pointer result (it must be NULL). */
int dpm_test_raised(int got, int want, const char *needle, char *why, size_t cap);
int dpm_test_raised_null(const void *got, const char *needle, char *why, size_t cap);
void dpm_test_assert_raised(int got, int want, const char *needle, const char *call, const char *file, int line);
void dpm_test_assert_raised_null(const void *got, const char *needle, const char *call, const char *file,
                                 int line);
void dpm_test_assert_raised_nan(double got, const char *needle, const char *call, const char *file, int line);
void dpm_test_assert_reason_has(const char *needle, const char *file, int line);

/* ---- fixtures ----------------------------------------------------------------------------------------------- */

/* Builders that assert success, so a test reads as its mathematics. Free the results as usual. */
dpm_mixture *dpm_test_mixture(const char *spec); /* dpm_data_from_spec(spec), e.g. "gmm1d", "ring8" */
dpm_mixture *dpm_test_gauss(size_t d, const double *mu, const double *var); /* one N(mu, diag var) in R^d */
/* K points in R^d (pts row-major K x d), weights w (NULL: equal) */
dpm_mixture *dpm_test_points(size_t K, size_t d, const double *pts, const double *w);
dpm_oracle *dpm_test_oracle(const dpm_mixture *mix);
double *dpm_test_vec(size_t n); /* n zeros (calloc); free() it */
/* d = 3, K = 5: one component of every covariance kind (iso, diag, two full of which one nearly singular with
 * eigenvalues 0.99, 0.2, 0.01, and a point mass), unequal weights 0.3, 0.2, 0.25, 0.15, 0.1 and labels
 * 0, 1, 0, 2, 1. */
dpm_mixture *dpm_test_mixture_kinds(void);
/* The ideal denoiser of the point set Y (K x d) at one query x in long double, over every point: the smoothed
 * squared distance dist2, sigma eps* (se, d entries) and the nearest index best — the reference of the distance
 * routes' tests (docs/MATH.md §2.11). */
void dpm_test_distance_brute(size_t K, size_t d, const double *Y, double sigma, const double *x,
                             long double *dist2, long double *se, size_t *best);
/* n exact draws of q_0 (components into comp, may be NULL), or of q_t = law of m x_0 + s eps (x0 and eps may be
 * NULL), through a one-off sampling workspace, asserting success. */
void dpm_test_sample_q0(const dpm_mixture *mix, gsl_rng *r, size_t n, double *x, size_t *comp);
void dpm_test_sample_qt(const dpm_mixture *mix, gsl_rng *r, double m, double s, size_t n, double *x, double *x0,
                        double *eps);

/* A cmocka fixture: fill the inputs, pass it as the prestate of cmocka_unit_test_prestate_setup_teardown(test,
 * dpm_test_fixture_setup, dpm_test_fixture_teardown, &fx) (or of a group), and the test reads the outputs from
 * `dpm_test_fixture *f = *state`. */
typedef struct {
  const char *data;   /* in: a data spec; NULL = no mixture and no oracle */
  size_t N;           /* in: steps of DDPM's linear schedule (beta 1e-4 .. 0.02); 0 = no schedule */
  int cosine;         /* in: the cosine schedule of N steps instead */
  dpm_mixture *mix;   /* out */
  dpm_oracle *oracle; /* out: the oracle of mix */
  dpm_schedule *sch;  /* out */
} dpm_test_fixture;
int dpm_test_fixture_setup(void **state);    /* 0, or -1 (cmocka then fails the test) */
int dpm_test_fixture_teardown(void **state); /* frees the outputs; the fixture can be set up again */

/* ---- the command line ----------------------------------------------------------------------------------------
 */

/* Run a shell command line (through /bin/sh -c) with stdin from `input` (may be NULL), capturing stdout and
 * stderr (caller frees both, either may be NULL to discard); returns the exit status (or -1). */
int dpm_test_run(const char *cmdline, const char *input, char **out, char **err);

/* Run `dpmlab ARGS` (adding `--out OUTPATH` when outpath != NULL) with stdin from input (may be NULL) and assert
 * the failure contract: exit status `code` (or 1 or 2 when code == 0), exactly one line on stderr containing
 * needle, nothing on stdout, and no output file left at outpath. `label` names the case in the failure message,
 * which also gives the caller's file:line. */
#define dpm_test_expect_failure(args, input, outpath, code, needle, label)                                        \
  dpm_test_expect_failure_at((args), (input), (outpath), (code), (needle), (label), __FILE__, __LINE__)
void dpm_test_expect_failure_at(const char *args, const char *input, const char *outpath, int code,
                                const char *needle, size_t label, const char *file, int line);

/* Run `dpmlab ARGS` with stdin from input (may be NULL), assert exit status 0 (else print the command, the status
 * and stderr), and return stdout (caller frees). */
char *dpm_test_run_ok(const char *args, const char *input);

/* Path of the built dpmlab binary. */
const char *dpm_test_bin(void);

/* Write text to a fresh temporary file and return its path (static buffer per call slot 0..7). */
const char *dpm_test_tmpfile(const char *suffix, const char *text);

/* ---- samplers ---------------------------------------------------------------------------------------------- */

/* n x d starts s z, z standard normal from the stream (seed, 0). */
void dpm_test_gaussian_starts(size_t n, size_t d, double s, uint64_t seed, double *x);

/* Run the sampler type T over tl with the parameters par from the starts x (n x dn->d, overwritten by the end
 * points), seed `seed`; fails the test on an error (printing the reason). Returns the NFE the driver reported,
 * asserted equal to the denoiser's own count over the run. */
unsigned long dpm_test_sampler_run(const dpm_sampler_type *T, dpm_denoiser *dn, const dpm_timeline *tl,
                                   const dpm_sampler_params *par, uint64_t seed, size_t n, double *x);

#endif
