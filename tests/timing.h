/* timing.h — the wall clock and the medians of the timing code in tests/ (bench_oracle's in-process timings and
 * its whole-process runs, test_format --bench). Header-only: the bench programs do not link testutil. */
#ifndef DPM_TESTS_TIMING_H
#define DPM_TESTS_TIMING_H

#include <stdlib.h>
#include <time.h>

/* seconds on the monotonic clock */
static inline double timing_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* qsort's comparison of doubles (ascending) */
static inline int timing_cmp_double(const void *a, const void *b)
{
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* t sorted ascending in place; returns its median (the upper one for even n), n >= 1 */
static inline double timing_median(double *t, size_t n)
{
  qsort(t, n, sizeof *t, timing_cmp_double);
  return t[n / 2];
}

#endif
