/* test_bridge_bench.c — solvers scored against the closed-form entropic plan of a Gaussian-mixture potential
 * (Gushchin et al., NeurIPS 2023; docs/MATH.md §5.7): the exact plan's score from M draws per test point is pure
 * sampling error (its leading term (200/M)(1 + (d + 1)/4) for a Gaussian conditional, and M times the score the
 * same at M and 4M for a mixture), and Sinkhorn's out-of-sample conditional plan improves with the sample size at
 * the parametric rate n^-1 of entropic OT's statistical error; grid IPF's score falls to rounding level at the
 * Poisson-summation rate of its grid (docs/MATH.md §5.5), and mean-matching IPF's affine regressor is biased on
 * the non-Gaussian plan while its bump regressor comes closer (§5.6). */
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

/* Grid IPF: every sum of the grid is a Riemann sum of Gaussians of variance >= v = min(eps/N, Sigma~) with
 * aliasing error ~ exp(-2 pi^2 v/dx^2) in the moments (Poisson summation), so the squared-distance score falls
 * like exp(-4 pi^2 v/dx^2): the slope of log UVP against 1/dx^2 is -4 pi^2 v. With eps = 0.5, N = 10 the step
 * kernel's v = 0.05 is the smallest (the plan's components have Sigma~ = 0.25). The exact plan's score is 0, so
 * the bound is the whole error: below the coarse grid's score extrapolated at that rate, down to rounding. */
static void test_grid_rate(void **state)
{
  (void)state;
  const size_t d = 2, N = 10, nt = 60, L = 3, Gs[3] = {36, 44, 52};
  const double eps = 0.5, v = eps / (double)N;
  dpm_mixture *mu0 = gauss_iso(d, 1.0), *pot = dpm_bridge_gmmpot_default(d);
  /* the domain of dpm_bridge_bench_grid: the box holding all but 1e-14 of mu0 and of pot */
  double lo = HUGE_VAL, hi = -HUGE_VAL, bl[2], bh[2];
  const dpm_mixture *both[2] = {mu0, pot};
  for (int e = 0; e < 2; e++) {
    dpm_mixture_box(both[e], 1e-14, bl, bh);
    for (size_t j = 0; j < d; j++) {
      lo = fmin(lo, bl[j]);
      hi = fmax(hi, bh[j]);
    }
  }
  double ix[3], ly[3], u[3];
  for (size_t l = 0; l < L; l++) {
    dpm_bridge_bench_score sc;
    double err;
    assert_int_equal(dpm_bridge_bench_grid(mu0, pot, eps, Gs[l], N, 30, 100, nt, 5, &sc, &err), 0);
    const double dx = (hi - lo) / (double)(Gs[l] - 1);
    ix[l] = 1.0 / (dx * dx);
    ly[l] = log(sc.uvp_cond);
    u[l] = sc.uvp_cond;
    printf("grid G = %zu: uvp %.4g (marginal L1 %.2g)\n", Gs[l], sc.uvp_cond, err);
    assert_true(err < 1e-9); /* IPF converged far below the grid error */
    if (l) assert_true(u[l] < u[l - 1]);
  }
  const double slope = (ly[2] - ly[0]) / (ix[2] - ix[0]), pred = -4.0 * M_PI * M_PI * v;
  printf("grid: slope of log uvp against 1/dx^2 %.3f, predicted %.3f\n", slope, pred);
  assert_true(fabs(slope / pred - 1.0) < 0.2);
  /* a fine grid: below the bound extrapolated from the coarsest at the predicted rate, plus rounding (the score's
   * tr S1 + tr S2 - 2 tr (.)^{1/2} cancels to ~1e3 ulps of tr S, here ~1e-11 in UVP) */
  dpm_bridge_bench_score fine;
  assert_int_equal(dpm_bridge_bench_grid(mu0, pot, eps, 80, N, 30, 100, nt, 5, &fine, NULL), 0);
  const double dxf = (hi - lo) / 79.0, bound = u[0] * exp(pred * (1.0 / (dxf * dxf) - ix[0])) + 1e-10;
  printf("grid G = 80: uvp %.3g, bound %.3g\n", fine.uvp_cond, bound);
  assert_true(fine.uvp_cond < bound);
  dpm_mixture_free(mu0);
  dpm_mixture_free(pot);
}

/* The grid plan's conditional at the cell centres against two independent routes over the same plan gamma_ab
 * proportional to f_a (K^N)_ab g_b: by the tower rule, sum_a p0_a m(x_a) is the X_1 marginal's mean
 * (dpm_bridge_grid_marginal at k = N) and sum_a p0_a x_a m(x_a)^T - m_0 m_1^T its cross-covariance
 * (dpm_bridge_grid_cross_cov), p0 the plan's X_0 marginal (k = 0); exact identities, so to rounding. In 1-D and
 * 2-D, between mixtures. */
static void test_grid_cond_identity(void **state)
{
  (void)state;
  for (size_t dim = 1; dim <= 2; dim++) {
    dpm_mixture *a = dpm_data_from_spec(dim == 1 ? "gmm1d" : "gauss:d=2"),
                *b = dim == 1 ? gauss_iso(1, 1.0) : pot4();
    assert_non_null(a);
    const size_t G = dim == 1 ? 120 : 40, N = 3;
    dpm_bridge_grid *g = dpm_bridge_grid_alloc(a, b, G, -6.0, 6.0, N, 0.7);
    assert_non_null(g);
    for (int it = 0; it < 4; it++)
      assert_int_equal(dpm_bridge_grid_iterate(g, NULL), 0);
    const size_t M = g->M;
    double *p0 = malloc(M * sizeof *p0), *xs = malloc(M * dim * sizeof *xs),
           *mean = malloc(M * dim * sizeof *mean), *cov = malloc(M * dim * dim * sizeof *cov);
    assert_true(p0 && xs && mean && cov);
    for (size_t c = 0; c < M; c++) {
      xs[c * dim] = g->x[dim == 1 ? c : c / G];
      if (dim == 2) xs[c * 2 + 1] = g->x[c % G];
    }
    double m0[2], m1[2], C[4], tm[2] = {0, 0}, tc[4] = {0, 0, 0, 0};
    assert_int_equal(dpm_bridge_grid_marginal(g, 0, p0, m0, NULL), 0);
    assert_int_equal(dpm_bridge_grid_marginal(g, N, NULL, m1, NULL), 0);
    assert_int_equal(dpm_bridge_grid_cross_cov(g, C), 0);
    assert_int_equal(dpm_bridge_grid_cond(g, M, xs, mean, cov), 0);
    for (size_t c = 0; c < M; c++)
      for (size_t u = 0; u < dim; u++) {
        tm[u] += p0[c] * mean[c * dim + u];
        for (size_t v = 0; v < dim; v++)
          tc[u * dim + v] += p0[c] * xs[c * dim + u] * mean[c * dim + v];
      }
    for (size_t u = 0; u < dim; u++) {
      printf("grid cond %zu-D: mean %.15g against %.15g\n", dim, tm[u], m1[u]);
      assert_true(fabs(tm[u] - m1[u]) < 1e-12);
      for (size_t v = 0; v < dim; v++)
        assert_true(fabs(tc[u * dim + v] - m0[u] * m1[v] - C[u * dim + v]) < 1e-12);
    }
    for (size_t c = 0; c < M; c++) /* a covariance: positive diagonal */
      for (size_t u = 0; u < dim; u++)
        assert_true(cov[c * dim * dim + u * dim + u] > 0.0);
    free(p0);
    free(xs);
    free(mean);
    free(cov);
    dpm_bridge_grid_free(g);
    dpm_mixture_free(a);
    dpm_mixture_free(b);
  }
}

/* grid IPF's and mean-matching's conditional plans: the same bits for 1 and 2 threads */
static void test_threads(void **state)
{
  (void)state;
#ifdef _OPENMP
  dpm_mixture *mu0 = gauss_iso(2, 1.0), *pot = dpm_bridge_gmmpot_default(2);
  dpm_bridge_bench_mm_params q = dpm_bridge_bench_mm_default();
  q.M = 400;
  q.N = 5;
  q.iters = 2;
  q.draws = 200;
  q.S = 4;
  q.ridge = 1e-3;
  dpm_bridge_bench_score a[2], b[2];
  const int nth = omp_get_max_threads();
  for (int r = 0; r < 2; r++) {
    omp_set_num_threads(r ? 2 : 1);
    assert_int_equal(dpm_bridge_bench_mm(mu0, pot, 0.5, 200, 64, 9, &q, &a[r]), 0);
    assert_int_equal(dpm_bridge_bench_grid(mu0, pot, 0.5, 40, 2, 3, 200, 300, 9, &b[r], NULL), 0);
  }
  omp_set_num_threads(nth);
  assert_true(a[0].uvp_cond == a[1].uvp_cond && a[0].bw2_marg == a[1].bw2_marg);
  assert_true(b[0].uvp_cond == b[1].uvp_cond && b[0].bw2_marg == b[1].bw2_marg);
  dpm_mixture_free(mu0);
  dpm_mixture_free(pot);
#else
  (void)state;
#endif
}

/* Mean-matching IPF on the mixture-potential pairs in d = 2: its conditional plan from R runs of the fitted chain
 * per test point has the exact plan's sampling floor at R draws, so the exact plan from R draws at the same test
 * points is the reference. The affine regressor cannot represent the nonlinear conditional mean (the plan is a
 * mixture whose weights depend on x): its score exceeds the exact plan's by more than 4 standard errors; Gaussian
 * bumps (S = 8 per axis) remove most of that bias: their score is below the affine one by more than 4 standard
 * errors. */
static void test_mm_bias(void **state)
{
  (void)state;
  const size_t d = 2, n = 1000, nt = 100, R = 500;
  const double eps = 0.5;
  dpm_mixture *mu0 = gauss_iso(d, 1.0), *pot = dpm_bridge_gmmpot_default(d);
  dpm_bridge_bench_mm_params q = dpm_bridge_bench_mm_default();
  q.M = 4000;
  q.N = 10;
  q.iters = 5;
  q.draws = R;
  dpm_bridge_bench_score aff, bum, ex;
  assert_int_equal(dpm_bridge_bench_mm(mu0, pot, eps, n, nt, 21, &q, &aff), 0);
  q.S = 8;
  q.ridge = 1e-3;
  assert_int_equal(dpm_bridge_bench_mm(mu0, pot, eps, n, nt, 21, &q, &bum), 0);
  double *xy = malloc(2 * (n + nt) * d * sizeof *xy);
  assert_non_null(xy);
  assert_int_equal(dpm_bridge_gmmpot_sample(mu0, pot, eps, n + nt, 21, xy, xy + (n + nt) * d), 0);
  assert_int_equal(dpm_bridge_bench_exact(pot, eps, nt, xy + n * d, R, 22, &ex), 0);
  printf("mean-matching: affine %.3f +- %.3f, bumps %.3f +- %.3f, exact (%zu draws) %.3f +- %.3f\n", aff.uvp_cond,
         aff.uvp_cond_se, bum.uvp_cond, bum.uvp_cond_se, R, ex.uvp_cond, ex.uvp_cond_se);
  assert_true(aff.uvp_cond - ex.uvp_cond > 4.0 * hypot(aff.uvp_cond_se, ex.uvp_cond_se));
  assert_true(aff.uvp_cond - bum.uvp_cond > 4.0 * hypot(aff.uvp_cond_se, bum.uvp_cond_se));
  free(xy);
  dpm_mixture_free(mu0);
  dpm_mixture_free(pot);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exact_gaussian),
      cmocka_unit_test(test_exact_mixture),
      cmocka_unit_test(test_sinkhorn_rate),
      cmocka_unit_test(test_grid_rate),
      cmocka_unit_test(test_grid_cond_identity),
      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_mm_bias),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
