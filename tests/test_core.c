/* test_core.c — the core module (lib/core) against independent routes: the one error path (a reason raised at the
 * origin, context prepended by callers without losing it, truncation at the buffer's end, clearing, one reason
 * per thread), log-sum-exp against the direct sum, the (seed, index) random streams (same bits for the same pair,
 * distinct and uncorrelated streams otherwise, splitmix64's published first output), the Welford running moments
 * against a two-pass computation in long double within the Chan-Golub-LeVeque bound, and a self-test of the test
 * helpers' own failure modes (testutil.h), so that an error expectation cannot pass on an earlier error; and the
 * large-buffer allocator's alignment and failure. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dpm_common.h"
#include "dpm_internal.h"
#include "dpm_rng.h"
#include "testutil.h"

#define EPSU DBL_EPSILON

/* ---- the error path -------------------------------------------------------------------------------------- */

static int raise_at_origin(int status) { DPM_ERROR(status, "origin: value %d is bad\nsecond line", 7); }

static void *raise_null(void) { DPM_ERROR_NULL(GSL_ENOMEM, "origin of a NULL"); }

/* A caller that only passes the status up, adding context. */
static int pass_up(int status)
{
  const int st = raise_at_origin(status);
  if (st) dpm_error_context("step %d", 3);
  return st;
}

static void test_error_path(void **state)
{
  (void)state;
  dpm_error_clear();
  assert_string_equal(dpm_error_last(), "");
  /* raised at the origin: the status comes back, the reason is one line */
  assert_int_equal(raise_at_origin(GSL_EDOM), GSL_EDOM);
  assert_string_equal(dpm_error_last(), "origin: value 7 is bad second line");
  assert_null(raise_null());
  assert_string_equal(dpm_error_last(), "origin of a NULL");
  const int st = DPM_RAISE(GSL_EBADLEN, "raised without return");
  assert_int_equal(st, GSL_EBADLEN);
  assert_string_equal(dpm_error_last(), "raised without return");
  /* context is prepended and the origin's reason kept, at every level */
  assert_int_equal(pass_up(GSL_EINVAL), GSL_EINVAL);
  assert_string_equal(dpm_error_last(), "step 3: origin: value 7 is bad second line");
  dpm_error_context("sampler %s", "ddpm");
  assert_string_equal(dpm_error_last(), "sampler ddpm: step 3: origin: value 7 is bad second line");
  /* a newline in the context is folded too */
  dpm_error_context("a\nb");
  assert_string_equal(dpm_error_last(), "a b: sampler ddpm: step 3: origin: value 7 is bad second line");
  dpm_error_clear();
  assert_string_equal(dpm_error_last(), "");
}

/* The reason buffer holds 1023 characters: a long reason with context keeps the context and the reason's start,
 * cut at the buffer's end. */
static void test_error_truncation(void **state)
{
  (void)state;
  char big[2000];
  for (size_t i = 0; i < sizeof big - 1; i++)
    big[i] = (char)('a' + i % 26);
  big[sizeof big - 1] = '\0';
  dpm_errorf(__FILE__, __LINE__, GSL_EINVAL, "%s", big);
  const size_t cap = strlen(dpm_error_last());
  assert_int_equal(cap, 1023);
  assert_memory_equal(dpm_error_last(), big, cap);
  dpm_error_context("ctx");
  const char *r = dpm_error_last();
  assert_int_equal(strlen(r), cap);
  assert_memory_equal(r, "ctx: ", 5);
  assert_memory_equal(r + 5, big, cap - 5);
  /* a long context (up to 511 characters are kept): the whole context, then as much of the reason as fits */
  char reason[800];
  for (size_t i = 0; i < sizeof reason - 1; i++)
    reason[i] = (char)('A' + i % 26);
  reason[sizeof reason - 1] = '\0';
  dpm_errorf(__FILE__, __LINE__, GSL_EINVAL, "%s", reason);
  big[400] = '\0';
  dpm_error_context("%s", big);
  r = dpm_error_last();
  assert_int_equal(strlen(r), cap);
  assert_memory_equal(r, big, 400);
  assert_memory_equal(r + 400, ": ", 2);
  assert_memory_equal(r + 402, reason, cap - 402);
  dpm_error_clear();
}

/* One reason per thread: an error raised on another thread is not this thread's last reason. */
static void test_error_per_thread(void **state)
{
  (void)state;
#ifdef _OPENMP
  dpm_error_clear();
  int nthreads = 0, other_saw = -1;
#pragma omp parallel num_threads(2)
  {
#pragma omp single
    nthreads = omp_get_num_threads();
    if (omp_get_thread_num() == 1) {
      dpm_errorf(__FILE__, __LINE__, GSL_EDOM, "raised on thread 1");
      other_saw = strcmp(dpm_error_last(), "raised on thread 1") == 0;
    }
  }
  if (nthreads < 2) skip();
  assert_int_equal(other_saw, 1);
  assert_string_equal(dpm_error_last(), "");
#else
  skip();
#endif
}

/* ---- log-sum-exp ------------------------------------------------------------------------------------------ */

static void test_logsumexp(void **state)
{
  (void)state;
  const double v[6] = {-1.5, 0.25, 2.0, -30.0, 0.5, 1.0};
  double direct = 0.0;
  for (size_t i = 0; i < 6; i++)
    direct += exp(v[i]);
  /* each exp and the sum carry a few roundings of relative size u: 8 u covers them with room */
  assert_close(dpm_logsumexp(v, 6, 1), log(direct), 8 * EPSU, 0.0);
  /* stride 2: v[0], v[2], v[4] */
  assert_close(dpm_logsumexp(v, 3, 2), log(exp(v[0]) + exp(v[2]) + exp(v[4])), 8 * EPSU, 0.0);
  /* far outside exp's range: shifted exactly */
  const double big[2] = {1000.0, 1000.0}, tiny[2] = {-1000.0, -1000.0 + M_LN2};
  assert_close(dpm_logsumexp(big, 2, 1), 1000.0 + M_LN2, 4 * EPSU, 0.0);
  assert_close(dpm_logsumexp(tiny, 2, 1), -1000.0 + log(3.0), 4 * EPSU, 0.0);
  /* the exact cases of the contract */
  assert_true(dpm_logsumexp(v, 0, 1) == -HUGE_VAL);
  const double ninf[2] = {-HUGE_VAL, -HUGE_VAL}, pinf[2] = {1.0, HUGE_VAL};
  assert_true(dpm_logsumexp(ninf, 2, 1) == -HUGE_VAL);
  assert_true(dpm_logsumexp(pinf, 2, 1) == HUGE_VAL);
}

/* ---- random streams --------------------------------------------------------------------------------------- */

static void test_rng_streams(void **state)
{
  (void)state;
  /* splitmix64's first output from state 0 (Steele, Lea, Flood 2014; the reference implementation) */
  assert_true(dpm_rng_mix64(0) == 0xE220A8397B1DCDAFULL);
  enum { NS = 8, NDRAW = 4096 };
  /* same (seed, index): same bits, through alloc and through set */
  gsl_rng *a = dpm_rng_stream_alloc(42, 5), *b = dpm_rng_stream_alloc(42, 5), *c = dpm_rng_stream_alloc(7, 0);
  assert_non_null(a);
  assert_non_null(b);
  assert_non_null(c);
  dpm_rng_stream_set(c, 42, 5);
  for (size_t i = 0; i < NDRAW; i++) {
    const unsigned long x = gsl_rng_get(a);
    assert_true(x == gsl_rng_get(b));
    assert_true(x == gsl_rng_get(c));
  }
  gsl_rng_free(a);
  gsl_rng_free(b);
  gsl_rng_free(c);
  /* different indices (and seeds): the first draws differ, and the uniform streams are uncorrelated: the sample
   * correlation of two independent uniform sequences has standard error 1/sqrt(n); 5 of them */
  gsl_rng *r[NS];
  double *u = dpm_test_vec(NS * NDRAW);
  for (size_t s = 0; s < NS; s++) {
    r[s] = dpm_rng_stream_alloc(s < NS - 1 ? 42 : 43, s < NS - 1 ? s : 0);
    assert_non_null(r[s]);
    for (size_t i = 0; i < NDRAW; i++)
      u[s * NDRAW + i] = gsl_rng_uniform(r[s]);
  }
  for (size_t s = 0; s < NS; s++)
    for (size_t t = s + 1; t < NS; t++) {
      assert_true(u[s * NDRAW] != u[t * NDRAW]);
      double sxy = 0.0, sxx = 0.0, syy = 0.0;
      for (size_t i = 0; i < NDRAW; i++) {
        const double x = u[s * NDRAW + i] - 0.5, y = u[t * NDRAW + i] - 0.5;
        sxy += x * y;
        sxx += x * x;
        syy += y * y;
      }
      assert_close(sxy / sqrt(sxx * syy), 0.0, 0.0, 5.0 / sqrt((double)NDRAW));
    }
  for (size_t s = 0; s < NS; s++)
    gsl_rng_free(r[s]);
  free(u);
}

static int cmp_u64(const void *a, const void *b)
{
  const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* One stream per sample index: with NI = 300000 indices of one seed, the first two 32-bit draws of each stream
 * (64 bits) must all differ. If only 32 bits of (seed, index) reached the generator, streams would coincide by
 * the birthday bound: about NI^2 / 2^33 = 10 equal pairs expected. With the state filled from the 64-bit hash the
 * expected number of equal pairs of 64-bit prefixes is NI^2 / 2^65 = 2e-9. */
static void test_rng_streams_distinct(void **state)
{
  (void)state;
  enum { NI = 300000 };
  uint64_t *v = malloc(NI * sizeof *v);
  assert_non_null(v);
  gsl_rng *r = dpm_rng_stream_alloc(1, 0);
  assert_non_null(r);
  for (size_t i = 0; i < NI; i++) {
    dpm_rng_stream_set(r, 1, i);
    const uint64_t hi = gsl_rng_get(r), lo = gsl_rng_get(r);
    v[i] = hi << 32 | lo;
  }
  gsl_rng_free(r);
  qsort(v, NI, sizeof *v, cmp_u64);
  size_t equal = 0;
  for (size_t i = 1; i < NI; i++)
    equal += v[i] == v[i - 1];
  assert_int_equal(equal, 0);
  free(v);
}

/* ---- running moments -------------------------------------------------------------------------------------- */

/* Welford against a two-pass mean and variance in long double. Chan, Golub and LeVeque (1983) bound the relative
 * error of the updating algorithm's sum of squares by about n kappa u with kappa = sqrt(1 + mean^2/var) the
 * condition number of the data; the mean's error by n u |mean|. Data with a large offset (kappa ~ 1e4) make the
 * bound bite; the assertion uses 4 n kappa u. Merging (Chan et al.) adds one more rounding per merge. */
static void test_welford(void **state)
{
  (void)state;
  enum { N = 3000 };
  gsl_rng *r = dpm_rng_stream_alloc(3, 0);
  assert_non_null(r);
  double *x = dpm_test_vec(N);
  for (size_t i = 0; i < N; i++)
    x[i] = 1e4 + gsl_rng_uniform(r) * 3.0 - 1.0;
  gsl_rng_free(r);
  long double sum = 0.0L, ss = 0.0L;
  for (size_t i = 0; i < N; i++)
    sum += x[i];
  const long double mean = sum / N;
  for (size_t i = 0; i < N; i++)
    ss += (x[i] - mean) * (x[i] - mean);
  const double m2 = (double)ss, var = m2 / (N - 1), se = sqrt(var / N);
  const double kappa = sqrt(1.0 + (double)(mean * mean) / var), tol_m2 = 4.0 * N * kappa * EPSU;

  dpm_welford all = {0};
  for (size_t i = 0; i < N; i++)
    dpm_welford_add(&all, x[i]);
  assert_true(all.n == N);
  assert_close(all.mean, (double)mean, N * EPSU, 0.0);
  assert_close(all.m2, m2, tol_m2, 0.0);
  assert_close(dpm_welford_se(&all), se, tol_m2, 0.0);

  /* the same data in three unequal pieces, merged (with empty pieces on either side: identities) */
  dpm_welford p[3] = {{0}}, empty = {0}, merged = {0};
  const size_t cut[4] = {0, 17, 1900, N};
  for (size_t k = 0; k < 3; k++)
    for (size_t i = cut[k]; i < cut[k + 1]; i++)
      dpm_welford_add(&p[k], x[i]);
  dpm_welford_merge(&merged, &empty);
  assert_true(merged.n == 0.0);
  for (size_t k = 0; k < 3; k++)
    dpm_welford_merge(&merged, &p[k]);
  const dpm_welford before = merged;
  dpm_welford_merge(&merged, &empty);
  assert_memory_equal(&before, &merged, sizeof merged);
  assert_true(merged.n == N);
  assert_close(merged.mean, (double)mean, N * EPSU, 0.0);
  assert_close(merged.m2, m2, tol_m2, 0.0);
  /* fewer than two values: no standard error */
  dpm_welford one = {0};
  assert_true(dpm_welford_se(&one) == HUGE_VAL);
  dpm_welford_add(&one, 2.5);
  assert_true(dpm_welford_se(&one) == HUGE_VAL);
  assert_true(one.mean == 2.5 && one.m2 == 0.0);
  free(x);
}

static void test_small_helpers(void **state)
{
  (void)state;
  const double v[3] = {3.0, -4.0, 12.0};
  assert_true(dpm_norm2(v, 3) == 169.0);
  assert_true(dpm_norm2(v, 0) == 0.0);
  assert_true(dpm_ms_ok(1.0, 0.5));
  assert_false(dpm_ms_ok(0.0, 0.5));
  assert_false(dpm_ms_ok(1.0, 0.0));
  assert_false(dpm_ms_ok(NAN, 0.5));
  assert_false(dpm_ms_ok(1.0, HUGE_VAL));
  assert_false(dpm_ms_ok(-1.0, 0.5));
}

/* ---- the build: GSL's CBLAS calls go to OpenBLAS ------------------------------------------------------------ */

/* libgsl needs libgslcblas, but the program links -lopenblas (found through pkg-config) ahead of it, so the
 * global symbol lookup that resolves libgsl's cblas_* calls must find OpenBLAS's. */
static void test_blas_binding(void **state)
{
  (void)state;
  const char *names[3] = {"cblas_ddot", "cblas_dgemv", "cblas_dgemm"};
  for (size_t i = 0; i < 3; i++) {
    void *f = dlsym(RTLD_DEFAULT, names[i]);
    Dl_info info;
    assert_non_null(f);
    assert_true(dladdr(f, &info) != 0 && info.dli_fname);
    if (!strstr(info.dli_fname, "openblas")) print_error("%s resolves to %s\n", names[i], info.dli_fname);
    assert_non_null(strstr(info.dli_fname, "openblas"));
  }
}

/* ---- the test helpers themselves -------------------------------------------------------------------------- */

static int calls;
static int fails_silently(void) /* returns an error status without raising */
{
  calls++;
  return GSL_EINVAL;
}
static int succeeds(void)
{
  calls++;
  return DPM_SUCCESS;
}
static void *null_silently(void) { return NULL; }
/* raises only when it finds no earlier reason on record (i.e. when the expectation cleared it first) */
static int raises_if_cleared(void)
{
  calls++;
  return dpm_error_last()[0] ? GSL_EFAULT : raise_at_origin(GSL_EDOM);
}

/* Each failure mode of the error expectation is detected; in particular a reason left by an earlier call does not
 * make a silent failure or a success pass. */
static void test_error_helpers(void **state)
{
  (void)state;
  char why[1400];
  /* an earlier error is on record in every case below */
  raise_at_origin(GSL_EDOM);
  dpm_error_clear();
  assert_false(dpm_test_raised(succeeds(), GSL_EINVAL, NULL, why, sizeof why));
  assert_non_null(strstr(why, "returned success"));
  raise_at_origin(GSL_EDOM);
  dpm_error_clear();
  assert_false(dpm_test_raised(fails_silently(), GSL_EINVAL, NULL, why, sizeof why));
  assert_non_null(strstr(why, "no reason was recorded"));
  dpm_error_clear();
  assert_false(dpm_test_raised(raise_at_origin(GSL_EDOM), GSL_EINVAL, NULL, why, sizeof why));
  assert_non_null(strstr(why, "expected"));
  dpm_error_clear();
  assert_false(dpm_test_raised(raise_at_origin(GSL_EDOM), GSL_EDOM, "not in the reason", why, sizeof why));
  assert_non_null(strstr(why, "does not contain"));
  raise_at_origin(GSL_EDOM);
  dpm_error_clear();
  assert_false(dpm_test_raised_null(null_silently(), NULL, why, sizeof why));
  assert_non_null(strstr(why, "no reason was recorded"));
  assert_false(dpm_test_raised_null(why, NULL, why, sizeof why));
  assert_non_null(strstr(why, "non-NULL"));
  dpm_error_clear();
  assert_false(dpm_test_raised_null(raise_null(), "other", why, sizeof why));
  /* and the passing cases, through the macros: the call is evaluated once, after the reason was cleared */
  calls = 0;
  raise_at_origin(GSL_EBADLEN);
  assert_raises(raises_if_cleared(), GSL_EDOM, "origin: value 7");
  assert_int_equal(calls, 1);
  assert_raises(pass_up(GSL_EDOM), GSL_EDOM, "step 3: origin");
  assert_raises(raise_at_origin(GSL_EBADLEN), DPM_TEST_ANY_ERROR, NULL);
  assert_raises_null(raise_null(), "NULL");
  assert_reason_has("origin of");
  assert_true(dpm_test_raised(raise_at_origin(GSL_EDOM), GSL_EDOM, "value 7", why, sizeof why));

  /* assert_close's predicate: the tolerance is atol + rtol |expected|; NaN only matches NaN */
  assert_true(dpm_test_close(1.0 + 0.5e-9, 1.0, 1e-9, 0.0));
  assert_false(dpm_test_close(1.0 + 3e-9, 1.0, 1e-9, 1e-9));
  assert_false(dpm_test_close(NAN, 1.0, 1.0, 1.0));
  assert_false(dpm_test_close(1.0, NAN, 1.0, 1.0));
  assert_true(dpm_test_close(NAN, NAN, 0.0, 0.0));
  assert_false(dpm_test_close(HUGE_VAL, 1e308, 1.0, 1.0));
  assert_true(dpm_test_close(-HUGE_VAL, -HUGE_VAL, 0.0, 0.0));
}

/* The shared fixture builds what it is asked for, frees it, and refuses a bad data spec (cmocka then fails). */
/* dpm_malloc_large: 64-byte alignment below 2 MiB and 2 MiB alignment from it on, every byte writable (the size is
 * never rounded down), a request of 0 bytes a valid pointer, and a request no allocator can meet a NULL with
 * GSL_ENOMEM raised (the one error path), not a crash. */
static void test_malloc_large(void **state)
{
  (void)state;
  const size_t sizes[6] = {0, 1, 100, ((size_t)1 << 21) - 8, (size_t)1 << 21, ((size_t)5 << 20) + 3};
  for (int i = 0; i < 6; i++) {
    unsigned char *p = dpm_malloc_large(sizes[i]);
    assert_non_null(p);
    const uintptr_t align = sizes[i] >= ((size_t)1 << 21) ? ((uintptr_t)1 << 21) : 64;
    assert_int_equal((uintptr_t)p % align, 0);
    memset(p, 0xA5, sizes[i]);
    if (sizes[i]) assert_int_equal(p[sizes[i] - 1], 0xA5);
    free(p);
  }
  dpm_error_clear();
  assert_raises_null(dpm_malloc_large(SIZE_MAX - 16), "out of memory");
}

static void test_fixture(void **state)
{
  (void)state;
  dpm_test_fixture fx = {.data = "gmm1d", .N = 10};
  void *st = &fx;
  assert_int_equal(dpm_test_fixture_setup(&st), 0);
  assert_non_null(fx.mix);
  assert_non_null(fx.oracle);
  assert_non_null(fx.sch);
  assert_int_equal(fx.mix->d, 1);
  assert_int_equal(dpm_test_fixture_teardown(&st), 0);
  assert_null(fx.mix);
  assert_null(fx.oracle);
  assert_null(fx.sch);
  dpm_test_fixture bad = {.data = "no-such-set"};
  st = &bad;
  assert_int_equal(dpm_test_fixture_setup(&st), -1);
  assert_null(bad.mix);
  assert_null(bad.oracle);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_path),       cmocka_unit_test(test_error_truncation),
      cmocka_unit_test(test_error_per_thread), cmocka_unit_test(test_logsumexp),
      cmocka_unit_test(test_rng_streams),      cmocka_unit_test(test_rng_streams_distinct),
      cmocka_unit_test(test_welford),          cmocka_unit_test(test_small_helpers),
      cmocka_unit_test(test_error_helpers),    cmocka_unit_test(test_blas_binding),
      cmocka_unit_test(test_fixture),          cmocka_unit_test(test_malloc_large),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
