/* test_perf_gemm.c — the DGEMM route of the ideal denoiser (lib/oracle/distance.c, docs/MATH.md §2.11): the rule
 * that drops a weight below e^-(T0 + ln K) of the nearest point's, the sparse sums over the kept points and the
 * fallback to the dense weighted DGEMM when a query keeps more than K/32 of them, each side of the switch against
 * a long-double brute force with the tolerance of the derivation; the same bits for 1 and 2 threads with sparse
 * and dense queries in the same tiles; OpenBLAS's thread count restored after overlapping callers; and .npy
 * arrays larger than one read block (npy.c) read back bit for bit, with errors placed in the second block. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <gsl/gsl_randist.h>

#include "dpmlab.h"
#include "dpm_kernel_internal.h"
#include "testutil.h"

#define U       0x1p-53 /* unit roundoff */
#define KAPPA   0.125   /* the route refines where D_y < KAPPA (|x|^2 + |y|^2) (distance.c) */
#define T_WIN   40.0    /* refinement window e^-T_WIN (distance.c) */
#define T0      36.8    /* weights below e^-(T0 + ln K) of the nearest's are dropped (distance.c) */
#define DENSE_D 32      /* a query keeping more than K / DENSE_D points (and more than 8) goes dense */

/* OpenBLAS's thread control (the library the tests link). */
extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);

/* n queries against the brute force. The bounds of docs/MATH.md §2.11: every exponent (D_y - D*)/(2 sigma^2) is
 * off by at most eps_w = [(2d + 4)/KAPPA + d + 2] u (2 D* + 2 sigma^2 T) / (2 sigma^2) + 4 u with T the larger of
 * the two windows; the dropped weights sum to less than K e^-(T0 + ln K) = e^-T0 < 2^-53 relative to the total,
 * which moves dist^2 by at most 2 sigma^2 2^-53 and sigma eps* (a weighted mean of x - y) by at most 2^-53 R
 * (R = max |x_j - y_j|); so dist^2 is within 2 sigma^2 (eps_w + u) + (d + 2) u D*, and sigma eps* within
 * (2 eps_w + u) R + (K + d + 4) u (|x|_inf + |Y|_inf) (the dense route's (sum e) x - sum e y rounds at most
 * like a sum of K terms). The nearest point is exact. */
static void check(size_t K, size_t d, const double *Y, double sigma, size_t n, const double *x, const char *what)
{
  double *dist2 = malloc(n * sizeof *dist2), *eps = malloc(n * d * sizeof *eps),
         *proj = malloc(n * d * sizeof *proj);
  size_t *pi = malloc(n * sizeof *pi);
  assert_int_equal(dpm_distance_eval(K, d, Y, sigma, n, x, dist2, NULL, eps, proj, pi), DPM_SUCCESS);
  long double *se = malloc(d * sizeof *se), ref;
  double ymax = 0.0;
  for (size_t k = 0; k < K * d; k++)
    ymax = fmax(ymax, fabs(Y[k]));
  const double two_s2 = 2.0 * sigma * sigma, T = fmax(T_WIN, T0 + log((double)K));
  double worst_d = 0.0, worst_e = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double *xi = x + i * d;
    size_t b = 0, b2 = 0;
    dpm_test_distance_brute(K, d, Y, sigma, xi, &ref, se, &b);
    const double Dmin = dpm_distance_min2(K, d, Y, xi, &b2);
    assert_int_equal(pi[i], b2);
    assert_int_equal(b, b2);
    assert_memory_equal(proj + i * d, Y + b * d, d * sizeof(double));
    const double eps_w =
        ((2.0 * (double)d + 4.0) / KAPPA + (double)d + 2.0) * U * (2.0 * Dmin + two_s2 * T) / two_s2 + 4.0 * U;
    const double tol_d = two_s2 * (eps_w + U) + (double)(d + 2) * U * Dmin;
    const double err_d = fabs((double)((long double)dist2[i] - ref));
    if (err_d > tol_d)
      fail_msg("%s: point %zu: dist2 %.17g vs %.17Lg (error %.3g > %.3g)", what, i, dist2[i], ref, err_d, tol_d);
    worst_d = fmax(worst_d, err_d / tol_d);
    double R = 0.0, xmax = 0.0;
    for (size_t j = 0; j < d; j++)
      xmax = fmax(xmax, fabs(xi[j]));
    for (size_t k = 0; k < K; k++)
      for (size_t j = 0; j < d; j++)
        R = fmax(R, fabs(xi[j] - Y[k * d + j]));
    const double tol_e = (2.0 * eps_w + U) * R + (double)(K + d + 4) * U * (xmax + ymax);
    for (size_t j = 0; j < d; j++) {
      const double got = sigma * eps[i * d + j], err = fabs((double)((long double)got - se[j]));
      if (err > tol_e)
        fail_msg("%s: point %zu coordinate %zu: sigma eps* %.17g vs %.17Lg (error %.3g > %.3g)", what, i, j, got,
                 se[j], err, tol_e);
      worst_e = fmax(worst_e, err / tol_e);
    }
  }
  print_message("%-52s worst error / bound: dist2 %.2g, eps %.2g\n", what, worst_d, worst_e);
  free(se);
  free(dist2);
  free(eps);
  free(proj);
  free(pi);
}

/* A set built around query 0 at the origin (the other queries random near the set): the nearest point at
 * D* = r0^2, `keep` - 1 more at D* + u_k w_drop / 2 (u_k uniform in (0, 1): their weights matter, down to
 * e^-(T0 + ln K)/2), and the rest beyond D* + 3 w_drop (dropped with a margin far above the D_y rounding), with
 * w_drop = 2 sigma^2 (T0 + ln K) — so query 0 keeps exactly `keep` points. Directions uniform on the sphere; the
 * points are shuffled over the chunks of the route. */
static void make_keep_set(size_t K, size_t d, size_t keep, double sigma, size_t n, unsigned long seed, double **Y,
                          double **x)
{
  gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
  *Y = malloc(K * d * sizeof **Y);
  *x = calloc(n * d, sizeof **x);
  const double wdrop = 2.0 * sigma * sigma * (T0 + log((double)K)), r0 = 10.0 * sigma;
  size_t *perm = malloc(K * sizeof *perm);
  for (size_t k = 0; k < K; k++)
    perm[k] = k;
  gsl_ran_shuffle(r, perm, K, sizeof *perm);
  for (size_t k = 0; k < K; k++) {
    const double D = k == 0     ? r0 * r0
                     : k < keep ? r0 * r0 + (0.01 + 0.98 * gsl_rng_uniform(r)) * wdrop / 2.0
                                : r0 * r0 + (3.0 + gsl_rng_uniform(r)) * wdrop;
    double *y = *Y + perm[k] * d, nrm = 0.0;
    for (size_t j = 0; j < d; j++) {
      y[j] = gsl_ran_gaussian_ziggurat(r, 1.0);
      nrm += y[j] * y[j];
    }
    for (size_t j = 0; j < d; j++)
      y[j] *= sqrt(D / nrm);
  }
  for (size_t i = 1; i < n; i++) { /* near a random point of the set */
    const double *y = *Y + gsl_rng_uniform_int(r, K) * d;
    for (size_t j = 0; j < d; j++)
      (*x)[i * d + j] = y[j] + sigma * gsl_ran_gaussian_ziggurat(r, 1.0);
  }
  free(perm);
  gsl_rng_free(r);
}

/* The large-d route's two ways to the products (the kernel where the CPU has it, and CBLAS): ROUTES[r] names
 * them, set_route(r) selects one for what follows. */
static const char *ROUTES[2] = {"kernel", "CBLAS"};
static int set_route(int r)
{
  if (r == 0 && !dpm_ukr8_available()) return 0; /* no AVX-512: the kernel side is not run */
  dpm_distance_use_kernel(r == 0);
  return 1;
}

/* Both sides of the switch: query 0 keeps K/32 points (the sparse sums) or K/32 + 1 (the dense DGEMM), for K =
 * 512 in one chunk and K = 4000 over 8 chunks, at d = 40 and 300. */
static void test_switch(void **state)
{
  (void)state;
  const size_t Ks[2] = {512, 4000}, ds[2] = {40, 300};
  for (int route = 0; route < 2; route++)
    for (int a = 0; a < 2 && set_route(route); a++)
      for (int side = 0; side < 2; side++) {
        const size_t K = Ks[a], d = ds[a], keep = K / DENSE_D + (size_t)side, n = 6;
        double *Y, *x;
        make_keep_set(K, d, keep, 0.7, n, 80 + (unsigned long)(2 * a + side), &Y, &x);
        char what[96];
        snprintf(what, sizeof what, "%s: K = %zu, d = %zu, query 0 keeps %zu (%s)", ROUTES[route], K, d, keep,
                 side ? "dense" : "sparse");
        check(K, d, Y, 0.7, n, x, what);
        free(Y);
        free(x);
      }
  dpm_distance_use_kernel(1);
}

/* The two regimes on ordinary data: sigma small against the spacing (a handful kept, sparse) and large (every
 * point kept, dense), with n = 300 queries spanning two tiles; and the tiny case K = 3 < the dense minimum. */
static void test_regimes(void **state)
{
  (void)state;
  const size_t K = 3000, d = 64, n = 300;
  gsl_rng *r = dpm_rng_stream_alloc(90, 0);
  double *Y = malloc(K * d * sizeof *Y), *x = malloc(n * d * sizeof *x);
  for (size_t i = 0; i < K * d; i++)
    Y[i] = gsl_rng_uniform(r);
  for (size_t i = 0; i < n; i++) {
    const double *y = Y + gsl_rng_uniform_int(r, K) * d;
    for (size_t j = 0; j < d; j++)
      x[i * d + j] = y[j] + 0.3 * gsl_ran_gaussian_ziggurat(r, 1.0);
  }
  for (int route = 0; route < 2; route++) {
    if (!set_route(route)) continue;
    char what[4][64];
    snprintf(what[0], 64, "%s: uniform cube, sigma = 0.3 (sparse)", ROUTES[route]);
    snprintf(what[1], 64, "%s: uniform cube, sigma = 5 (dense)", ROUTES[route]);
    snprintf(what[2], 64, "%s: K = 3, sigma = 0.2", ROUTES[route]);
    snprintf(what[3], 64, "%s: K = 1003, d = 61, n = 37, sigma = 2", ROUTES[route]);
    check(K, d, Y, 0.3, n, x, what[0]);
    check(K, d, Y, 5.0, n, x, what[1]);
    check(3, d, Y, 0.2, 40, x, what[2]);
    /* no size a multiple of the kernel's blocks: a last group of 3 points, 37 queries, 61 lanes (2 by mask) */
    check(1003, 61, Y, 2.0, 37, x, what[3]);
    /* d = 40 000: the tile cut to 24 queries by its d-wide buffers' 8 MiB (two tiles for 30 queries) */
    const size_t Kw = 40, dw = 40000, nw = 30;
    double *Yw = malloc(Kw * dw * sizeof *Yw), *xw = malloc(nw * dw * sizeof *xw);
    for (size_t i = 0; i < Kw * dw; i++)
      Yw[i] = gsl_rng_uniform(r);
    for (size_t i = 0; i < nw; i++)
      for (size_t j = 0; j < dw; j++)
        xw[i * dw + j] = Yw[(i % Kw) * dw + j] + 0.3 * gsl_ran_gaussian_ziggurat(r, 1.0);
    char wide[64];
    snprintf(wide, sizeof wide, "%s: K = 40, d = 40000, n = 30, sigma = 30", ROUTES[route]);
    check(Kw, dw, Yw, 30.0, nw, xw, wide);
    free(Yw);
    free(xw);
  }
  dpm_distance_use_kernel(1);
  gsl_rng_free(r);
  free(Y);
  free(x);
}

/* The same bits for 1 and 2 threads with sparse and dense queries in the same tiles (query 0 of each kind, the
 * others near random points), for every output; dist2 alone (no weighted sums) the same bits as with them. */
static void test_threads(void **state)
{
  (void)state;
#ifdef _OPENMP
  const size_t K = 2500, d = 96, n = 280;
  for (int rs = 0; rs < 4; rs++) {
    const int side = rs % 2;
    if (!set_route(rs / 2)) continue;
    double *Y, *x;
    make_keep_set(K, d, K / DENSE_D + (size_t)side, 0.5, n, 95 + (unsigned long)side, &Y, &x);
    double *out[2][3];
    size_t *pi[2];
    const int saved = omp_get_max_threads();
    for (int t = 0; t < 2; t++) {
      omp_set_num_threads(t + 1);
      out[t][0] = malloc(n * sizeof(double));
      out[t][1] = malloc(n * d * sizeof(double));
      out[t][2] = malloc(n * d * sizeof(double));
      pi[t] = malloc(n * sizeof(size_t));
      assert_int_equal(dpm_distance_eval(K, d, Y, 0.5, n, x, out[t][0], out[t][1], out[t][2], NULL, pi[t]), 0);
    }
    omp_set_num_threads(saved);
    assert_memory_equal(out[0][0], out[1][0], n * sizeof(double));
    assert_memory_equal(out[0][1], out[1][1], n * d * sizeof(double));
    assert_memory_equal(out[0][2], out[1][2], n * d * sizeof(double));
    assert_memory_equal(pi[0], pi[1], n * sizeof(size_t));
    double *only = malloc(n * sizeof(double));
    assert_int_equal(dpm_distance_eval(K, d, Y, 0.5, n, x, only, NULL, NULL, NULL, NULL), 0);
    assert_memory_equal(only, out[0][0], n * sizeof(double));
    free(only);
    for (int t = 0; t < 2; t++) {
      for (int k = 0; k < 3; k++)
        free(out[t][k]);
      free(pi[t]);
    }
    free(Y);
    free(x);
  }
  dpm_distance_use_kernel(1);
#else
  skip();
#endif
}

/* OpenBLAS's thread count (both routes; the kernel route leaves it alone): set to 1 inside the CBLAS route and
 * restored after it, also when calls overlap: each thread
 * of a parallel region starts its call 1 ms after the previous one, so a later call enters while an earlier one
 * has set 1 and leaves after it has restored (a save and restore per call would then end at 1); every overlapping
 * call returns the bits of a lone call. */
static void test_blas_threads(void **state)
{
  (void)state;
  const size_t K = 20000, d = 64, n = 64;
  double *Y, *x;
  make_keep_set(K, d, 10, 0.6, n, 99, &Y, &x);
  const int before = openblas_get_num_threads();
  openblas_set_num_threads(2);
  double *lone = malloc(n * sizeof *lone), *many = malloc(4 * n * sizeof *many);
  for (int route = 0; route < 2; route++) {
    if (!set_route(route)) continue;
    assert_int_equal(dpm_distance_eval(K, d, Y, 0.6, n, x, lone, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(openblas_get_num_threads(), 2);
    int bad = 0;
    for (int round = 0; round < 4; round++) {
#pragma omp parallel for num_threads(4) schedule(static, 1) reduction(+ : bad)
      for (int t = 0; t < 4; t++) {
        usleep(1000u * (unsigned)t);
        bad += dpm_distance_eval(K, d, Y, 0.6, n, x, many + (size_t)t * n, NULL, NULL, NULL, NULL) != 0;
      }
      assert_int_equal(openblas_get_num_threads(), 2);
      for (int t = 0; t < 4; t++)
        assert_memory_equal(many + (size_t)t * n, lone, n * sizeof(double));
    }
    assert_int_equal(bad, 0);
  }
  dpm_distance_use_kernel(1);
  openblas_set_num_threads(before);
  free(lone);
  free(many);
  free(Y);
  free(x);
}

/* .npy arrays of more than one read block (2^20 values): written and read back bit for bit; a NaN in the
 * second block named by its [row, column]; a file cut inside the second block reports how many values came. */
static void test_npy_blocks(void **state)
{
  (void)state;
  const size_t rows = 1200, cols = 1000, n = rows * cols; /* 1.2 M values: two blocks */
  double *v = malloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = sin((double)i) * 1e3 + (double)i * 0x1p-30;
  char path[64];
  snprintf(path, sizeof path, "/tmp/dpmnpyblk-%ld.npy", (long)getpid());
  for (int c = 0; c < 3; c++) {
    if (c == 1) v[1100 * cols + 7] = NAN;
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(dpm_npy_write(fp, v, rows, cols), DPM_SUCCESS);
    assert_int_equal(fclose(fp), 0);
    if (c == 2) assert_int_equal(truncate(path, 128 + (off_t)(n - 1000) * 8 + 4), 0);
    double *w = NULL;
    size_t r = 0, k = 0;
    if (c == 0) {
      assert_int_equal(dpm_csv_read(path, &w, &r, &k, NULL), DPM_SUCCESS);
      assert_int_equal(r, rows);
      assert_int_equal(k, cols);
      assert_memory_equal(w, v, n * sizeof(double));
      free(w);
    } else if (c == 1) {
      dpm_error_clear();
      dpm_test_assert_raised(dpm_csv_read(path, &w, &r, &k, NULL), GSL_EBADFUNC, "element [1100, 7] is not finite",
                             "dpm_csv_read", __FILE__, __LINE__);
      assert_null(w);
      v[1100 * cols + 7] = 0.0;
    } else {
      dpm_error_clear();
      dpm_test_assert_raised(dpm_csv_read(path, &w, &r, &k, NULL), GSL_EINVAL,
                             "truncated .npy data (1199000 of 1200000 values)", "dpm_csv_read", __FILE__,
                             __LINE__);
      assert_null(w);
    }
  }
  unlink(path);
  free(v);
}

/* The DGEMM route checks the set through the |y|^2 its first tile forms: the first non-finite coordinate is named
 * as the plain scan names it (a NaN before an infinity, in point order), with 1 and 2 threads and before any
 * output is written; a finite point whose |y|^2 overflows is let through, as before. */
static void test_set_check(void **state)
{
  (void)state;
  const size_t K = 300, d = 40, n = 3;
  double *Y = malloc(K * d * sizeof *Y), x[3 * 40], dist2[3];
  uint64_t st = 11;
  for (size_t k = 0; k < K * d; k++) {
    st = st * 6364136223846793005ULL + 1442695040888963407ULL;
    Y[k] = (double)(st >> 11) * 0x1p-53;
  }
  for (size_t i = 0; i < n * d; i++)
    x[i] = Y[i] + 0.01;
  const int saved = omp_get_max_threads();
  for (int nt = 1; nt <= 2; nt++) {
    omp_set_num_threads(nt);
    Y[250 * d + 1] = INFINITY;
    Y[170 * d + 5] = NAN;
    dist2[0] = dist2[1] = dist2[2] = -1.0;
    assert_raises(dpm_distance_eval(K, d, Y, 1.0, n, x, dist2, NULL, NULL, NULL, NULL), GSL_EBADFUNC,
                  "set point 170 is not finite (coordinate 5");
    assert_true(dist2[0] == -1.0 && dist2[2] == -1.0); /* nothing written */
    Y[170 * d + 5] = 0.5;
    assert_raises(dpm_distance_eval(K, d, Y, 1.0, n, x, dist2, NULL, NULL, NULL, NULL), GSL_EBADFUNC,
                  "set point 250 is not finite (coordinate 1");
    Y[250 * d + 1] = 1e200; /* finite: |y|^2 overflows, the point is let through */
    assert_int_equal(dpm_distance_eval(K, d, Y, 1.0, n, x, dist2, NULL, NULL, NULL, NULL), DPM_SUCCESS);
    assert_true(isfinite(dist2[0]) && isfinite(dist2[1]) && isfinite(dist2[2]));
    Y[250 * d + 1] = 0.5;
  }
  omp_set_num_threads(saved);
  free(Y);
}

/* The kernel alone (kernel8.c): every element of C against a long-double dot product, within the bound of a
 * length-kc sum of fused multiply-adds, kc u sum_k |U_rk V_kl| (Higham, Accuracy and Stability, §3.1; one more
 * term and |C_old| when adding), for every lane count 1..24, both modes, row strides unlike the widths; C's lanes
 * past nl and its rows' padding left as they were; and V's last row ending at a page the process may not read,
 * so a masked lane that touched memory would fault. */
static void test_kernel(void **state)
{
  (void)state;
  if (!dpm_ukr8_available()) skip();
  const size_t kc = 77, ldu = 83, ldc = 29, R = DPM_UKR_ROWS;
  const long page = sysconf(_SC_PAGESIZE);
  double *A = malloc(R * ldu * sizeof *A), *C = malloc(R * ldc * sizeof *C), *C0 = malloc(R * ldc * sizeof *C0);
  unsigned char *map = mmap(NULL, 2 * (size_t)page + kc * 32 * sizeof(double), PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(map != MAP_FAILED);
  const size_t span = ((kc * 32 * sizeof(double)) / (size_t)page + 1) * (size_t)page; /* V's pages */
  assert_int_equal(mprotect(map + span, (size_t)page, PROT_NONE), 0);
  uint64_t st = 5;
  for (size_t i = 0; i < R * ldu; i++) {
    st = st * 6364136223846793005ULL + 1442695040888963407ULL;
    A[i] = (double)(st >> 11) * 0x1p-52 - 1.0;
  }
  for (size_t nl = 1; nl <= DPM_UKR_LANES; nl++) {
    const size_t ldv = nl + 5; /* V: kc rows of ldv, the last row's lane nl - 1 the page's last double */
    double *V = (double *)(map + span) - ((kc - 1) * ldv + nl);
    for (size_t i = 0; i < (kc - 1) * ldv + nl; i++) {
      st = st * 6364136223846793005ULL + 1442695040888963407ULL;
      V[i] = (double)(st >> 11) * 0x1p-50 - 4.0;
    }
    for (int add = 0; add < 2; add++) {
      for (size_t i = 0; i < R * ldc; i++)
        C0[i] = C[i] = sin((double)(i + nl));
      dpm_ukr8(kc, A, ldu, V, ldv, nl, C, ldc, add);
      for (size_t r = 0; r < R; r++)
        for (size_t l = 0; l < ldc; l++) {
          const double got = C[r * ldc + l], old = C0[r * ldc + l];
          if (l >= nl) {
            assert_true(got == old);
            continue;
          }
          long double ref = add ? old : 0.0L, mag = add ? fabs(old) : 0.0;
          for (size_t k = 0; k < kc; k++) {
            ref += (long double)A[r * ldu + k] * V[k * ldv + l];
            mag += fabs(A[r * ldu + k] * V[k * ldv + l]);
          }
          const double tol = (double)(kc + 1) * U * (double)mag, err = fabs((double)((long double)got - ref));
          if (err > tol) fail_msg("nl %zu add %d C[%zu][%zu]: error %.3g > %.3g", nl, add, r, l, err, tol);
        }
    }
  }
  munmap(map, 2 * (size_t)page + kc * 32 * sizeof(double));
  free(A);
  free(C);
  free(C0);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_switch),       cmocka_unit_test(test_regimes),    cmocka_unit_test(test_threads),
      cmocka_unit_test(test_blas_threads), cmocka_unit_test(test_npy_blocks), cmocka_unit_test(test_set_check),
      cmocka_unit_test(test_kernel),
  };
  return cmocka_run_group_tests_name("perf_gemm", tests, NULL, NULL);
}
