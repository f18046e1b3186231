/* test_perf_smallbatch.c — the serial path of the mixture oracle (lib/oracle/oracle.c, docs/MATH.md §2) and of the
 * ideal denoiser (lib/oracle/distance.c, docs/MATH.md §2.11): a small batch, or any call made from inside a
 * caller's parallel region (one point per OpenMP task, as the likelihood solver does), runs without an OpenMP
 * region of its own and gives the same bits as the whole batch evaluated in parallel outside any region. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <gsl/gsl_randist.h>

#include "dpmlab.h"
#include "test_oracle_common.h"
#include "testutil.h"

/* The result struct pointing at points [i, i + ...) of o (every output of the oracle, test_oracle_common.h). */
static dpm_oracle_result at(const full_out *o, size_t i)
{
  const size_t d = o->d;
  dpm_oracle_result r = o->res;
  r.logq += i;
  r.score += i * d;
  r.hess += i * d * d;
  r.lap += i;
  r.x0 += i * d;
  r.eps += i * d;
  r.trcov += i;
  r.diagcov += i * d;
  r.cov += i * d * d;
  r.resp += i * o->K;
  r.logresp += i * o->K;
  if (r.class_post) r.class_post += i * o->L;
  return r;
}

static void assert_same_bits(const full_out *a, const full_out *b, const char *what)
{
  const size_t n = a->n, d = a->d;
  const struct {
    const double *x, *y;
    size_t len;
    const char *name;
  } f[] = {{a->logq, b->logq, n, "logq"},
           {a->score, b->score, n * d, "score"},
           {a->hess, b->hess, n * d * d, "hess"},
           {a->lap, b->lap, n, "lap"},
           {a->x0, b->x0, n * d, "x0"},
           {a->eps, b->eps, n * d, "eps"},
           {a->trcov, b->trcov, n, "trcov"},
           {a->diagcov, b->diagcov, n * d, "diagcov"},
           {a->cov, b->cov, n * d * d, "cov"},
           {a->resp, b->resp, n * a->K, "resp"},
           {a->logresp, b->logresp, n * a->K, "logresp"},
           {a->cpost, b->cpost, a->cpost ? n * a->L : 0, "class_post"}};
  for (size_t k = 0; k < sizeof f / sizeof *f; k++)
    if (f[k].len && memcmp(f[k].x, f[k].y, f[k].len * sizeof(double)) != 0)
      fail_msg("%s: %s differs", what, f[k].name);
}

/* n draws of q_t of mix at (m, s), seed fixed */
static double *draws(const dpm_mixture *mix, double m, double s, size_t n, unsigned long seed)
{
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, seed);
  double *x = dpm_test_vec(n * mix->d);
  dpm_test_sample_qt(mix, r, m, s, n, x, NULL, NULL);
  gsl_rng_free(r);
  return x;
}

/* The oracle on n points: the whole batch with 2 threads (the parallel path: n K (d + 8) is above the threshold),
 * against (a) one call per point from inside a parallel region of 2 threads, each with its own oracle, (b) one
 * call per point from one thread outside any region, (c) the whole batch from inside a region. */
static void check_oracle(const char *spec, size_t n)
{
  dpm_mixture *mix = dpm_test_mixture(spec);
  const size_t d = mix->d, K = mix->K;
  const double m = 0.8, s = 0.6;
  assert_true((double)n * (double)K * (double)(d + 8) >= 65536.0); /* the batch takes the parallel path */
  double *x = draws(mix, m, s, n, 7);
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  omp_set_num_threads(2);
#endif
  full_out whole, per, one, inner;
  out_alloc(&whole, n, mix);
  out_alloc(&per, n, mix);
  out_alloc(&one, n, mix);
  out_alloc(&inner, n, mix);
  dpm_oracle *o = dpm_test_oracle(mix);
  dpm_oracle_result r = at(&whole, 0);
  assert_int_equal(dpm_oracle_eval(o, m, s, n, x, &r), 0);
  int bad = 0;
#pragma omp parallel num_threads(2) reduction(+ : bad)
  {
    dpm_oracle *ot = dpm_oracle_alloc(mix);
    if (!ot) bad++;
#pragma omp for schedule(dynamic, 1)
    for (size_t i = 0; i < n; i++) {
      dpm_oracle_result ri = at(&per, i);
      if (ot && dpm_oracle_eval(ot, m, s, 1, x + i * d, &ri)) bad++;
    }
    int tid = 0;
#ifdef _OPENMP
    tid = omp_get_thread_num();
#endif
    if (ot && tid == 0) { /* the whole batch from inside the region */
      dpm_oracle_result ri = at(&inner, 0);
      if (dpm_oracle_eval(ot, m, s, n, x, &ri)) bad++;
    }
    dpm_oracle_free(ot);
  }
  assert_int_equal(bad, 0);
  for (size_t i = 0; i < n; i++) {
    dpm_oracle_result ri = at(&one, i);
    assert_int_equal(dpm_oracle_eval(o, m, s, 1, x + i * d, &ri), 0);
  }
  char what[128];
  snprintf(what, sizeof what, "%s: one point per task inside a region", spec);
  assert_same_bits(&whole, &per, what);
  snprintf(what, sizeof what, "%s: one point per call", spec);
  assert_same_bits(&whole, &one, what);
  snprintf(what, sizeof what, "%s: the batch inside a region", spec);
  assert_same_bits(&whole, &inner, what);
#ifdef _OPENMP
  omp_set_num_threads(saved);
#endif
  dpm_oracle_free(o);
  out_free(&whole);
  out_free(&per);
  out_free(&one);
  out_free(&inner);
  free(x);
  dpm_mixture_free(mix);
}

static void test_oracle_serial_path(void **state)
{
  (void)state;
  check_oracle("ring8", 1200);               /* isotropic components, d = 2 */
  check_oracle("gauss:d=20", 2400);          /* one component, d = 20 */
  check_oracle("sample:of=ring8,n=200", 60); /* point masses */
  dpm_mixture *kinds = dpm_test_mixture_kinds();
  /* every covariance kind (iso, diag, full, point mass) */
  const size_t n = 1500, d = kinds->d;
  double *x = draws(kinds, 0.7, 0.5, n, 3);
  full_out whole, per;
  out_alloc(&whole, n, kinds);
  out_alloc(&per, n, kinds);
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  omp_set_num_threads(2);
#endif
  dpm_oracle *o = dpm_test_oracle(kinds);
  dpm_oracle_result r = at(&whole, 0);
  assert_int_equal(dpm_oracle_eval(o, 0.7, 0.5, n, x, &r), 0);
  int bad = 0;
#pragma omp parallel num_threads(2) reduction(+ : bad)
  {
    dpm_oracle *ot = dpm_oracle_alloc(kinds);
    if (!ot) bad++;
#pragma omp for schedule(dynamic, 1)
    for (size_t i = 0; i < n; i++) {
      dpm_oracle_result ri = at(&per, i);
      if (ot && dpm_oracle_eval(ot, 0.7, 0.5, 1, x + i * d, &ri)) bad++;
    }
    dpm_oracle_free(ot);
  }
  assert_int_equal(bad, 0);
  assert_same_bits(&whole, &per, "every covariance kind: one point per task inside a region");
#ifdef _OPENMP
  omp_set_num_threads(saved);
#endif
  dpm_oracle_free(o);
  out_free(&whole);
  out_free(&per);
  free(x);
  dpm_mixture_free(kinds);
}

/* The ideal denoiser on both routes (d = 2: coordinate differences; d = 40: DGEMM tiles over several chunks), n
 * queries: the whole batch with 2 threads outside any region against the whole batch from inside a region, and
 * one query per call outside any region against one query per task inside a region. The small-d route's
 * arithmetic is per query, so there the batch and the single queries agree too; the DGEMM route's tile shape
 * follows the batch (a batch is the same bits for any thread count, not for any batching). */
static void check_distance(size_t K, size_t d, size_t n, double sigma)
{
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 17);
  double *Y = dpm_test_vec(K * d), *x = dpm_test_vec(n * d);
  for (size_t i = 0; i < K * d; i++)
    Y[i] = gsl_ran_gaussian(r, 1.0);
  for (size_t i = 0; i < n * d; i++)
    x[i] = gsl_ran_gaussian(r, 1.2);
  gsl_rng_free(r);
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  omp_set_num_threads(2);
#endif
  double *v[4][3]; /* [batch outside, single outside, single inside, batch inside][dist2, eps, proj] */
  for (int c = 0; c < 4; c++) {
    v[c][0] = dpm_test_vec(n);
    v[c][1] = dpm_test_vec(n * d);
    v[c][2] = dpm_test_vec(n * d);
  }
  assert_int_equal(dpm_distance_eval(K, d, Y, sigma, n, x, v[0][0], NULL, v[0][1], v[0][2], NULL), 0);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(
        dpm_distance_eval(K, d, Y, sigma, 1, x + i * d, v[1][0] + i, NULL, v[1][1] + i * d, v[1][2] + i * d, NULL),
        0);
  int bad = 0;
#pragma omp parallel num_threads(2) reduction(+ : bad)
  {
#pragma omp for schedule(dynamic, 1)
    for (size_t i = 0; i < n; i++)
      if (dpm_distance_eval(K, d, Y, sigma, 1, x + i * d, v[2][0] + i, NULL, v[2][1] + i * d, v[2][2] + i * d,
                            NULL))
        bad++;
#pragma omp single
    if (dpm_distance_eval(K, d, Y, sigma, n, x, v[3][0], NULL, v[3][1], v[3][2], NULL)) bad++;
  }
  assert_int_equal(bad, 0);
  const size_t len[3] = {n, n * d, n * d};
  for (int f = 0; f < 3; f++) {
    assert_memory_equal(v[0][f], v[3][f], len[f] * sizeof(double));
    assert_memory_equal(v[1][f], v[2][f], len[f] * sizeof(double));
    if (d < 32) assert_memory_equal(v[0][f], v[1][f], len[f] * sizeof(double));
  }
#ifdef _OPENMP
  omp_set_num_threads(saved);
#endif
  for (int c = 0; c < 4; c++)
    for (int f = 0; f < 3; f++)
      free(v[c][f]);
  free(Y);
  free(x);
}

static void test_distance_serial_path(void **state)
{
  (void)state;
  check_distance(3000, 2, 300, 0.3); /* 300 x 3000 x 10 work: the parallel path for the batch */
  check_distance(3000, 40, 40, 2.0); /* DGEMM route, 6 tiles of 512 in 6 chunks */
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_oracle_serial_path),
      cmocka_unit_test(test_distance_serial_path),
  };
  return cmocka_run_group_tests_name("perf_smallbatch", tests, NULL, NULL);
}
