/* test_oracle_common.h — fixtures shared by the oracle's test programs (test_oracle_reference.c,
 * test_oracle_identities.c, test_oracle_robustness.c): two small mixtures with coordinates that are exact in
 * binary, every output of the oracle (docs/MATH.md §2) for n points in one allocation, and a componentwise
 * closeness check. The mixture of every covariance kind is the shared dpm_test_mixture_kinds(). */
#ifndef DPM_TEST_ORACLE_COMMON_H
#define DPM_TEST_ORACLE_COMMON_H

#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "dpmlab.h"
#include "testutil.h"

#define EPSU DBL_EPSILON

/* A finite set of K points in R^2 with coordinates multiples of 1/8 (so m y is exact for m = 1e4 and x - m y is
 * exact near m y), unequal weights. */
static inline dpm_mixture *mix_points(void)
{
  const double Y[7 * 2] = {0.0, 0.0, 1.0, 0.5, -1.25, 0.75, 0.5, -1.5, 2.0, 2.0, -2.0, -0.125, 0.375, 1.625};
  const double w[7] = {1, 2, 1, 3, 1, 1, 2};
  return dpm_test_points(7, 2, Y, w);
}

/* A mixture of diagonal kinds only (iso, diag, zero) in R^2, multiples of 1/8 again. */
static inline dpm_mixture *mix_diag(void)
{
  const double mu[4 * 2] = {0.5, 0.25, -1.0, 1.5, 1.75, -1.0, -0.5, -2.0}, w[4] = {0.4, 0.3, 0.2, 0.1};
  dpm_mixture *mix = dpm_test_points(4, 2, mu, w);
  assert_int_equal(dpm_mixture_set_iso(mix, 0, 0.25), DPM_SUCCESS);
  const double v1[2] = {0.5, 0.0625};
  assert_int_equal(dpm_mixture_set_diag(mix, 1, v1), DPM_SUCCESS);
  const double v3[2] = {1e-3, 2.0};
  assert_int_equal(dpm_mixture_set_diag(mix, 3, v3), DPM_SUCCESS);
  return mix;
}

/* Every output of the oracle for n points, in one allocation. */
typedef struct {
  size_t n, d, K, L;
  double *logq, *score, *hess, *lap, *x0, *eps, *trcov, *diagcov, *cov, *resp, *logresp, *cpost;
  dpm_oracle_result res;
} full_out;

static inline void out_alloc(full_out *o, size_t n, const dpm_mixture *mix)
{
  memset(o, 0, sizeof *o);
  o->n = n;
  o->d = mix->d;
  o->K = mix->K;
  o->L = (size_t)mix->nlabels;
  size_t d = o->d;
  o->logq = calloc(n, sizeof(double));
  o->score = calloc(n * d, sizeof(double));
  o->hess = calloc(n * d * d, sizeof(double));
  o->lap = calloc(n, sizeof(double));
  o->x0 = calloc(n * d, sizeof(double));
  o->eps = calloc(n * d, sizeof(double));
  o->trcov = calloc(n, sizeof(double));
  o->diagcov = calloc(n * d, sizeof(double));
  o->cov = calloc(n * d * d, sizeof(double));
  o->resp = calloc(n * o->K, sizeof(double));
  o->logresp = calloc(n * o->K, sizeof(double));
  o->cpost = o->L ? calloc(n * o->L, sizeof(double)) : NULL;
  o->res = (dpm_oracle_result){.logq = o->logq,
                               .score = o->score,
                               .hess = o->hess,
                               .lap = o->lap,
                               .x0 = o->x0,
                               .eps = o->eps,
                               .trcov = o->trcov,
                               .diagcov = o->diagcov,
                               .cov = o->cov,
                               .resp = o->resp,
                               .logresp = o->logresp,
                               .class_post = o->cpost};
}

static inline void out_free(full_out *o)
{
  free(o->logq);
  free(o->score);
  free(o->hess);
  free(o->lap);
  free(o->x0);
  free(o->eps);
  free(o->trcov);
  free(o->diagcov);
  free(o->cov);
  free(o->resp);
  free(o->logresp);
  free(o->cpost);
}

static inline void eval_all(dpm_oracle *orc, double m, double s, size_t n, const double *x, full_out *o)
{
  assert_int_equal(dpm_oracle_eval(orc, m, s, n, x, &o->res), DPM_SUCCESS);
}

/* Assert |a - b| <= tol * scale componentwise over len entries. */
static inline void vec_close(const double *a, const double *b, size_t len, double tol, const double *scale,
                             double scale1)
{
  for (size_t i = 0; i < len; i++)
    assert_close(a[i], b[i], 0.0, tol * (scale ? scale[i] : scale1));
}

#endif
