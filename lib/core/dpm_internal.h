/* dpm_internal.h — library-internal helpers shared by every module (not installed): constants, the OpenMP
 * helpers and threshold, running moments with a standard error, and the NULL-returning raise. */
#ifndef DPM_INTERNAL_H
#define DPM_INTERNAL_H

#include <math.h>
#include <stddef.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dpm_common.h"

/* log(2 pi) */
#define DPM_LOG_2PI 1.83787706640934548356065947281123527
/* 1/sqrt(2 pi) */
#define DPM_INV_SQRT_2PI 0.398942280401432677939946059934381868

/* Work (points x components x (d + 8), the 8 standing for an exp) below which a batch runs on one thread. */
#define DPM_PAR_MIN_WORK 65536.0

static inline int dpm_omp_max_threads(void)
{
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

/* threads of the enclosing parallel region (1 outside one) */
static inline int dpm_omp_num_threads(void)
{
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

static inline int dpm_omp_thread_num(void)
{
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

/* Running mean and variance (Welford; Chan et al. for merging). Zero-initialise. */
typedef struct {
  double n, mean, m2;
} dpm_welford;

static inline void dpm_welford_add(dpm_welford *a, double v)
{
  a->n += 1.0;
  const double dl = v - a->mean;
  a->mean += dl / a->n;
  a->m2 += dl * (v - a->mean);
}

static inline void dpm_welford_merge(dpm_welford *a, const dpm_welford *b)
{
  if (b->n == 0.0) return;
  if (a->n == 0.0) {
    *a = *b;
    return;
  }
  const double n = a->n + b->n, dl = b->mean - a->mean;
  a->mean += dl * b->n / n;
  a->m2 += b->m2 + dl * dl * a->n * b->n / n;
  a->n = n;
}

/* standard error of the mean; HUGE_VAL with fewer than two values */
static inline double dpm_welford_se(const dpm_welford *a)
{
  return a->n > 1.0 ? sqrt(a->m2 / (a->n - 1.0) / a->n) : HUGE_VAL;
}

/* |v|^2 */
static inline double dpm_norm2(const double *v, size_t d)
{
  double acc = 0.0;
  for (size_t j = 0; j < d; j++)
    acc += v[j] * v[j];
  return acc;
}

/* In-place Cholesky factorisation a = L L^T of the lower triangle of a (d x d, row-major; the strict upper
 * triangle is neither read nor written): 1 when every pivot is positive and finite (a then holds L in its lower
 * triangle), 0 otherwise (a partly overwritten). Written out rather than calling gsl_linalg_cholesky_decomp1,
 * which reports failure through GSL's global error handler: a failed test is an expected outcome, not an error,
 * and swapping the handler around the call is not thread-safe. Cholesky–Banachiewicz, the same acceptance
 * criterion as GSL's. */
static inline int dpm_cholesky_lower(double *a, size_t d)
{
  for (size_t j = 0; j < d; j++) {
    double s = a[j * d + j];
    for (size_t l = 0; l < j; l++)
      s -= a[j * d + l] * a[j * d + l];
    if (!(s > 0) || !isfinite(s)) return 0;
    const double ljj = sqrt(s);
    a[j * d + j] = ljj;
    for (size_t i = j + 1; i < d; i++) {
      double t = a[i * d + j];
      for (size_t l = 0; l < j; l++)
        t -= a[i * d + l] * a[j * d + l];
      a[i * d + j] = t / ljj;
    }
  }
  return 1;
}

/* m, s finite and positive */
static inline int dpm_ms_ok(double m, double s) { return isfinite(m) && m > 0.0 && isfinite(s) && s > 0.0; }

#endif
