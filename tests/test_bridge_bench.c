/* test_bridge_bench.c — solvers scored against the closed-form entropic plan of a Gaussian-mixture potential
 * (Gushchin et al., NeurIPS 2023; docs/MATH.md §5.7): the exact plan's score from M draws per test point is pure
 * sampling error (its leading term (200/M)(1 + (d + 1)/4) for a Gaussian conditional, and M times the score the
 * same at M and 4M for a mixture), and Sinkhorn's out-of-sample conditional plan improves with the sample size at
 * the parametric rate n^-1 of entropic OT's statistical error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dpmlab.h"
#include "dpm_bridge.h"
#include "testutil.h"

static dpm_mixture *gauss_iso(size_t d, double var)
{
  dpm_mixture *m = dpm_mixture_alloc(1, d);
  assert_non_null(m);
  double mu[64] = {0};
  assert_int_equal(dpm_mixture_set_mean(m, 0, mu), 0);
  assert_int_equal(dpm_mixture_set_iso(m, 0, var), 0);
  return m;
}

/* test points: the sources of nt pairs */
static double *test_points(const dpm_mixture *mu0, const dpm_mixture *pot, double eps, size_t nt, uint64_t seed)
{
  double *x = malloc(2 * nt * mu0->d * sizeof *x);
  assert_non_null(x);
  assert_int_equal(dpm_bridge_gmmpot_sample(mu0, pot, eps, nt, seed, x, x + nt * mu0->d), 0);
  return x;
}

static void test_exact_gaussian(void **state)
{
  (void)state;
  const size_t d = 4, nt = 400, M = 1000;
  const double eps = 1.0;
  dpm_mixture *mu0 = gauss_iso(d, 1.0), *pot = gauss_iso(d, 0.5);
  double *xt = test_points(mu0, pot, eps, nt, 7);
  dpm_bridge_bench_score sc, sc1;
  assert_int_equal(dpm_bridge_bench_exact(pot, eps, nt, xt, M, 3, &sc), 0);
  /* leading term of E BW^2 for M draws of N(m, s I): s d / M (mean) + s d (d + 1) / (4 M) (Bures, Wishart) */
  const double pred = 200.0 / (double)M * (1.0 + (double)(d + 1) / 4.0);
  printf("exact gaussian: uvp %.5f +- %.5f pred %.5f marg %.3g\n", sc.uvp_cond, sc.uvp_cond_se, pred, sc.uvp_marg);
  /* the next order is O(M^-2): relative (d + 1)/M */
  assert_true(fabs(sc.uvp_cond - pred) < 4.0 * sc.uvp_cond_se + pred * (double)(d + 1) / (double)M);
#ifdef _OPENMP
  const int nth = omp_get_max_threads();
  omp_set_num_threads(nth > 1 ? 1 : 2);
  assert_int_equal(dpm_bridge_bench_exact(pot, eps, nt, xt, M, 3, &sc1), 0);
  omp_set_num_threads(nth);
  assert_true(sc1.uvp_cond == sc.uvp_cond && sc1.uvp_marg == sc.uvp_marg);
#endif
  free(xt);
  dpm_mixture_free(mu0);
  dpm_mixture_free(pot);
}

static dpm_mixture *pot4(void)
{
  dpm_mixture *pot =
      dpm_data_load_json_string("{\"weights\":[0.4,0.3,0.2,0.1],\"means\":[[-2,0],[2,0.5],[0,2],[0.5,-2]],"
                                "\"covariances\":[[[0.5,0.1],[0.1,0.3]],[0.4,0.6],0.3,0.5]}",
                                "pot4");
  assert_non_null(pot);
  return pot;
}

static void test_exact_mixture(void **state)
{
  (void)state;
  const size_t nt = 400, M = 250;
  const double eps = 0.5;
  dpm_mixture *mu0 = gauss_iso(2, 1.0), *pot = pot4();
  double *xt = test_points(mu0, pot, eps, nt, 11);
  dpm_bridge_bench_score a, b;
  assert_int_equal(dpm_bridge_bench_exact(pot, eps, nt, xt, M, 1, &a), 0);
  assert_int_equal(dpm_bridge_bench_exact(pot, eps, nt, xt, 4 * M, 2, &b), 0);
  const double ua = (double)M * a.uvp_cond, ub = 4.0 * (double)M * b.uvp_cond,
               se = hypot((double)M * a.uvp_cond_se, 4.0 * (double)M * b.uvp_cond_se);
  printf("exact mixture: M uvp %.4f at M, %.4f at 4M (se %.4f)\n", ua, ub, se);
  assert_true(fabs(ua - ub) < 4.0 * se);
  free(xt);
  dpm_mixture_free(mu0);
  dpm_mixture_free(pot);
}

static void test_sinkhorn_rate(void **state)
{
  (void)state;
  const size_t nt = 200, R = 4, L = 4;
  const double eps = 0.5;
  dpm_mixture *mu0 = gauss_iso(2, 1.0), *pot = pot4();
  dpm_bridge_sinkhorn_params p = dpm_bridge_sinkhorn_default();
  p.tol = 1e-6; /* the potentials' error is far below the statistical error of order n^-1/2 */
  double lx[4], ly[4], lse[4];
  for (size_t l = 0; l < L; l++) {
    const size_t n = (size_t)150 << l;
    double v[8];
    for (size_t r = 0; r < R; r++) {
      dpm_bridge_bench_score sc;
      assert_int_equal(dpm_bridge_bench_sinkhorn(mu0, pot, eps, n, nt, 100 + r, &p, &sc, NULL), 0);
      v[r] = sc.uvp_cond;
    }
    double m, se;
    dpm_test_mean_se(v, R, &m, &se);
    lx[l] = log((double)n);
    ly[l] = log(m);
    lse[l] = se / m;
  }
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t l = 0; l < L; l++) {
    sx += lx[l];
    sy += ly[l];
    sxx += lx[l] * lx[l];
    sxy += lx[l] * ly[l];
  }
  const double dL = (double)L, slope = (dL * sxy - sx * sy) / (dL * sxx - sx * sx);
  double vs = 0.0, mx = sx / dL;
  for (size_t l = 0; l < L; l++)
    vs += pow((lx[l] - mx) * lse[l], 2);
  const double sse = sqrt(vs) / (sxx - dL * mx * mx);
  printf("sinkhorn: slope of log uvp against log n %.3f +- %.3f (n 150..1200, %zu replicas)\n", slope, sse, R);
  /* the parametric rate: Sinkhorn's potentials converge at n^-1/2 (del Barrio et al. 2023), a squared error at
   * n^-1; the slope's standard error from the replicas' spread at each n */
  assert_true(fabs(slope + 1.0) < 4.0 * sse);
  assert_true(slope + 4.0 * sse < 0.0);
  dpm_mixture_free(mu0);
  dpm_mixture_free(pot);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exact_gaussian),
      cmocka_unit_test(test_exact_mixture),
      cmocka_unit_test(test_sinkhorn_rate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
