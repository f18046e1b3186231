/* distance.c — a finite set seen by Permenter & Yuan (arXiv 2306.04848, docs/MATH.md §2 "Finite sets"): the
 * smoothed squared distance dist^2(x, sigma) = -2 sigma^2 log sum_y exp(-|x - y|^2 / (2 sigma^2)), its gradient
 * grad dist^2 = 2 sigma eps*, the ideal denoiser eps*(x, sigma) = sum_y (x - y) w_y / (sigma sum_y w_y), and the
 * projection (nearest point), batched over query points at the machine's limit (docs/MATH.md §2.11).
 *
 * Numerics: with D_y = |x - y|^2 and D* = min_y D_y (exact, by coordinate differences), every weight is
 * e_y = exp(-(D_y - D*) / (2 sigma^2)) in (0, 1], the nearest point's exactly 1, so dist^2 = D* - 2 sigma^2
 * log1p(sum_{y != y*} e_y) (within [D* - 2 sigma^2 log K, D*] in floating point too) and 1/2 grad dist^2 =
 * sigma eps* = sum_y e_y (x - y) / sum_y e_y: no underflow in a ratio for any sigma, no overflow for far points.
 *
 * Two routes, by dimension (DIST_GEMM_MIN_D):
 *  - small d: per query, all D_y by coordinate differences against a transposed copy of the set (contiguous in
 *    y, so the loop over y vectorises), the exact minimum, then the weights with a vectorised exp (glibc's
 *    libmvec through `#pragma omp simd` on an exp declared simd; 2-8 lanes by the CPU, chosen once at load) and
 *    the weighted sums; threads over queries.
 *  - large d: D_y = |x|^2 + |y|^2 - 2 x.y with x.y for a tile of queries against the whole set by the product
 *    kernel of kernel8.c (by DGEMM on a CPU without AVX-512), the tile's rows of D kept (at most
 *    DIST_TILE_BYTES), so each query's exact minimum D* is known before any weight is formed. The computed D_y is
 *    within delta_y = (2d + 4) u (|x|^2 + |y|^2) of the true one (u = 2^-53; a dot product of length d errs by at
 *    most d u |x||y| <= d u (|x|^2 + |y|^2)/2, the norms and sums add the rest). With ub = min_y (D_y + delta_y)
 *    >= D*, a point is recomputed by coordinate differences (refined) when it may be the nearest (D_y - delta_y
 *    <= ub), or when its weight can matter (D_y - delta_y <= ub + 2 sigma^2 T, T = 40) and the expansion cancels
 *    (D_y < kappa (|x|^2 + |y|^2), kappa = 1/8): D*, y* and the ties are exact, every other D_y that matters
 *    within 8 (2d + 4) u D_y. A point with D_y - delta_y > ub + 2 sigma^2 T_drop, T_drop = T0 + ln K, T0 = 36.8,
 *    is dropped: its weight is below e^-T_drop, so the dropped weights sum to less than e^-36.8 < 2^-53 of the
 *    total. A query keeping at most max(8, K/32) points sums e_y (x - y) over them directly (sparse); one keeping
 *    more puts every weight in its row, and the tile's dense rows are multiplied by Y (the kernel or one DGEMM),
 *    entering as (sum e_y) x - sum e_y y (rounding ~ (K + d) u (|x| + max |y|) sum e_y); the refined points
 *    always enter as e_y (x - y). docs/MATH.md §2.11 has the bounds and the switch.
 *    The products are cut into fixed data chunks (a function of K only: KER_NCH points for the kernel, at most
 *    NSUPER for DGEMM), each row reduced by one thread, the dense sums cut into fixed column blocks (a function
 *    of d): no sum is split between threads, so the result is the same bits for any thread count. On the DGEMM
 *    route OpenBLAS runs single-threaded inside (blas_single_enter/leave). */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <gsl/gsl_cblas.h>

#include "dpm_common.h"
#include "dpm_distance.h"
#include "dpm_internal.h"
#include "dpm_kernel_internal.h"

/* glibc's vector exp (libmvec): the declaration math-vector.h makes under -ffast-math, made here without it, so
 * `#pragma omp simd` loops call _ZGV*_exp (at most 4 ulp; the scalar exp's 1 ulp elsewhere). */
extern double exp(double) __attribute__((__simd__("notinbranch")));

/* OpenBLAS's thread control (the library dpmlab links, see the Makefile). */
extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define DIST_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DIST_CLONES
#endif

/* 1 inside an active parallel region (a caller's OpenMP task): no region of our own is opened then. */
static int in_parallel(void)
{
#ifdef _OPENMP
  return omp_in_parallel();
#else
  return 0;
#endif
}

enum {
  DIST_GEMM_MIN_D = 32, /* the DGEMM route from this dimension on */
  DIST_LANES = 8,       /* buffers are padded to a multiple of this and 64-byte aligned: no scalar epilogue */
  KB = 512,             /* points per tile of the DGEMM route */
  NSUPER = 8,           /* at most this many fixed data chunks of the DGEMM route, in parallel */
  DIST_DENSE_DIV = 32,  /* a query keeping more than K / DIST_DENSE_DIV points (and more than DIST_DENSE_MIN) */
  DIST_DENSE_MIN = 8,   /* takes its weighted sum by DGEMM over the whole set (docs/MATH.md §2.11) */
  KER_NCH = 240,        /* kernel route: points per chunk (30 groups of the kernel's 8 rows) */
  KER_KC = 256,         /* kernel route: d is cut into equal blocks of at most this many coordinates */
  KER_KCE = 256         /* kernel route: points per block of the dense weighted sums */
};
#define DIST_TILE_BYTES  ((size_t)32 << 20) /* the DGEMM route keeps a tile's distances in at most this */
#define DIST_QUERY_BYTES ((size_t)8 << 20)  /* and each d-wide buffer of the tile's queries in at most this */
#define DIST_DROP_T0     36.8    /* a weight below e^-(T0 + ln K) of the nearest's is dropped: K e^-T < 2^-53 */
#define DIST_T           40.0    /* e^-40 < 2^-57: weights below it relative to the nearest's 1 do not matter */
#define DIST_KAPPA       0.125   /* refine where D_y < kappa (|x|^2 + |y|^2): the expansion's cancellation */
#define DIST_U           0x1p-53 /* unit roundoff */

static double dist2_point(size_t d, const double *x, const double *y)
{
  double acc = 0.0;
  for (size_t j = 0; j < d; j++) {
    double t = x[j] - y[j];
    acc += t * t;
  }
  return acc;
}

double dpm_distance_min2(size_t K, size_t d, const double *Y, const double *x, size_t *index)
{
  double best = HUGE_VAL;
  size_t at = 0;
  for (size_t k = 0; k < K; k++) {
    double D = dist2_point(d, x, Y + k * d);
    if (D < best) { /* strict: ties go to the lowest index */
      best = D;
      at = k;
    }
  }
  if (index) *index = at;
  return best;
}

static size_t pad_lanes(size_t n) { return (n + DIST_LANES - 1) / DIST_LANES * DIST_LANES; }

/* |v|^2 of the large-d route in 8 partial sums (lane j mod 8, then a fixed tree), so it runs in SIMD lanes instead
 * of one dependent chain of d adds (the first tile forms |y|^2 of the whole set: 1.5e8 coordinates at d = 3 072).
 * Any order is within the (2d + 4) u bound of D_y; the order is fixed, so the bits do not depend on the thread. */
typedef double dist_v8 __attribute__((vector_size(64)));
DIST_CLONES
static double norm2_lanes(const double *v, size_t d)
{
  dist_v8 acc = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  size_t j = 0;
  for (; j + 8 <= d; j += 8) {
    dist_v8 a;
    memcpy(&a, v + j, sizeof a);
    acc += a * a;
  }
  double tail = 0.0;
  for (; j < d; j++)
    tail += v[j] * v[j];
  return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7])) + tail;
}

/* A buffer of n doubles, 64-byte aligned, its size rounded up to whole cache lines (so up to a multiple of
 * DIST_LANES doubles); huge pages from 2 MiB on (dpm_malloc_large). */
static double *alloc_aligned(size_t n) { return dpm_malloc_large(pad_lanes(n) * sizeof(double)); }

/* ---- small d: one query against the transposed set ---------------------------------------------------------- */

/* Weights below DIST_W_FLOOR = 2^-1020 (relative to the nearest's 1) are set to 0, and the argument of exp is
 * raised to DIST_EXP_FLOOR (e^-708 < 2^-1020) first: libmvec's vector exp takes a scalar detour for every lane
 * whose result would be subnormal or zero, and such a weight changes no sum by more than K 2^-1020 of the
 * nearest's weight (docs/MATH.md §2.11). */
#define DIST_EXP_FLOOR (-708.0)
#define DIST_W_FLOOR   0x1p-1020

/* One query's outputs from D*, the sum of the other weights and acc_j = sum_{y != y*} e_y (x_j - y_j): the
 * nearest's (x - y*) enters exactly, sigma eps*_j = ((x_j - y*_j) + acc_j) / (1 + other). */
static void direct_finish(size_t d, double two_s2, double sigma, double Dmin, double other, const double *xi,
                          const double *yb, const double *acc, double *dist2, double *grad, double *eps)
{
  if (dist2) *dist2 = other > 0.0 ? Dmin - two_s2 * log1p(other) : Dmin;
  const double total = 1.0 + other;
  for (size_t j = 0; j < d; j++) {
    const double se = ((xi[j] - yb[j]) + acc[j]) / total; /* sigma eps*_j */
    if (eps) eps[j] = se / sigma;
    if (grad) grad[j] = 2.0 * se;
  }
}

/* Yt: d x Kp (Kp = pad_lanes(K), padding columns 0), Dbuf: Kp. Writes the outputs of one query: two passes over
 * the set, the distances with their minimum, then the weights with their sums. */
DIST_CLONES
static void direct_query(size_t K, size_t Kp, size_t d, const double *restrict Y, const double *restrict Yt,
                         double two_s2, double sigma, const double *restrict xi, double *restrict Dbuf,
                         double *dist2, double *grad, double *eps, double *proj, size_t *proj_index)
{
  double *restrict D = __builtin_assume_aligned(Dbuf, 64);
  const double *restrict T = __builtin_assume_aligned(Yt, 64);
  /* D_y coordinate by coordinate (the same sum, in the same order, as dist2_point) and the minimum by a SIMD min
   * reduction (exact in any order); in d = 2 both in one pass */
  double Dmin = HUGE_VAL;
  if (d == 2) {
    const double x0 = xi[0], x1 = xi[1];
    const double *restrict T1 = T + Kp;
#pragma omp simd aligned(D, T, T1 : 64) reduction(min : Dmin)
    for (size_t k = 0; k < K; k++) {
      const double t0 = x0 - T[k], t1 = x1 - T1[k], v = t0 * t0 + t1 * t1;
      D[k] = v;
      Dmin = v < Dmin ? v : Dmin;
    }
  } else {
    const double x0 = xi[0];
#pragma omp simd aligned(D, T : 64)
    for (size_t k = 0; k < K; k++) {
      const double t = x0 - T[k];
      D[k] = t * t;
    }
    for (size_t j = 1; j < d; j++) {
      const double xj = xi[j];
      const double *restrict Tj = T + j * Kp;
#pragma omp simd aligned(D, Tj : 64)
      for (size_t k = 0; k < K; k++) {
        const double t = xj - Tj[k];
        D[k] += t * t;
      }
    }
#pragma omp simd aligned(D : 64) reduction(min : Dmin)
    for (size_t k = 0; k < K; k++)
      Dmin = D[k] < Dmin ? D[k] : Dmin;
  }
  for (size_t k = K; k < Kp; k++)
    D[k] = HUGE_VAL; /* padding: weight 0 */
  size_t best = 0;   /* the first index at the minimum (ties go to the lowest): the first block of DIST_LANES
                      * holding it by vector compares, then the index inside that block */
  for (;; best += DIST_LANES) {
    int hit = 0;
#pragma omp simd aligned(D : 64) reduction(| : hit)
    for (size_t k = best; k < best + DIST_LANES; k++)
      hit |= D[k] == Dmin;
    if (hit) break;
  }
  while (D[best] != Dmin)
    best++;
  if (proj) memcpy(proj, Y + best * d, d * sizeof(double));
  if (proj_index) *proj_index = best;
  const int want_w = grad || eps;
  if (!dist2 && !want_w) return;
  /* the weights, in place, and their sum: e_y = exp(-(D_y - D*)/(2 sigma^2)), by the product with -1/(2 sigma^2)
   * (one rounding more than a division, which costs as much as the exp), the argument raised to DIST_EXP_FLOOR
   * and the weights below DIST_W_FLOOR set to 0 (three loops: GCC vectorises no select in a loop that calls the
   * simd exp); the nearest's 1 is kept out of the sum (D = +inf gives weight 0) and its (x - y*) added exactly.
   * When 2 sigma^2 underflows, e_y is 1 for ties and 0 otherwise (the sigma -> 0 limit). */
  D[best] = HUGE_VAL;
  double other = 0.0;
  const double c = -1.0 / two_s2;
  if (two_s2 > 0.0 && isfinite(c)) {
#pragma omp simd aligned(D : 64)
    for (size_t k = 0; k < Kp; k++) {
      const double a = (D[k] - Dmin) * c;
      D[k] = a > DIST_EXP_FLOOR ? a : DIST_EXP_FLOOR;
    }
#pragma omp simd aligned(D : 64)
    for (size_t k = 0; k < Kp; k++)
      D[k] = exp(D[k]);
    if (d == 2 && want_w) { /* d = 2: the sums of the weights and of the weighted differences in one pass */
      const double x0 = xi[0], x1 = xi[1];
      const double *restrict T1 = T + Kp;
      double a0 = 0.0, a1 = 0.0;
#pragma omp simd aligned(D, T, T1 : 64) reduction(+ : other, a0, a1)
      for (size_t k = 0; k < Kp; k++) {
        const double w = D[k] < DIST_W_FLOOR ? 0.0 : D[k];
        other += w;
        a0 += w * (x0 - T[k]);
        a1 += w * (x1 - T1[k]);
      }
      const double acc2[2] = {a0, a1};
      direct_finish(2, two_s2, sigma, Dmin, other, xi, Y + best * d, acc2, dist2, grad, eps);
      return;
    }
#pragma omp simd aligned(D : 64) reduction(+ : other)
    for (size_t k = 0; k < Kp; k++) {
      const double w = D[k] < DIST_W_FLOOR ? 0.0 : D[k];
      D[k] = w;
      other += w;
    }
  } else {
    for (size_t k = 0; k < Kp; k++) {
      D[k] = two_s2 > 0.0 ? exp(-(D[k] - Dmin) / two_s2) : D[k] == Dmin ? 1.0 : 0.0;
      other += D[k];
    }
  }
  if (!want_w) {
    *dist2 = other > 0.0 ? Dmin - two_s2 * log1p(other) : Dmin;
    return;
  }
  double acc[DIST_GEMM_MIN_D];
  for (size_t j = 0; j < d; j++) {
    const double xj = xi[j];
    const double *restrict Tj = T + j * Kp;
    double a = 0.0;
#pragma omp simd aligned(D, Tj : 64) reduction(+ : a)
    for (size_t k = 0; k < Kp; k++)
      a += D[k] * (xj - Tj[k]);
    acc[j] = a;
  }
  direct_finish(d, two_s2, sigma, Dmin, other, xi, Y + best * d, acc, dist2, grad, eps);
}

static int eval_direct(size_t K, size_t d, const double *Y, double sigma, size_t n, const double *x, double *dist2,
                       double *grad, double *eps, double *proj, size_t *proj_index)
{
  const size_t Kp = pad_lanes(K);
  double *Yt = alloc_aligned(d * Kp);
  if (!Yt) return GSL_ENOMEM;
  for (size_t j = 0; j < d; j++) {
    for (size_t k = 0; k < K; k++)
      Yt[j * Kp + k] = Y[k * d + j];
    for (size_t k = K; k < Kp; k++)
      Yt[j * Kp + k] = 0.0;
  }
  const double two_s2 = 2.0 * sigma * sigma;
  /* threads only when the batch outweighs the cost of a parallel region and the caller is not running in
   * parallel already; otherwise a plain loop with no OpenMP region at all (a region of one thread still sets up
   * a team). Each query's arithmetic is the same on either path: the same bits. */
  const int par = n > 1 && dpm_omp_max_threads() > 1 &&
                  (double)n * (double)K * (double)(d + 8) >= DPM_PAR_MIN_WORK && !in_parallel();
  const int nt = par ? dpm_omp_max_threads() : 1;
  double **bufs = dpm_calloc((size_t)nt, sizeof *bufs);
  int st = bufs ? DPM_SUCCESS : GSL_ENOMEM;
  for (int t = 0; !st && t < nt; t++)
    if (!(bufs[t] = alloc_aligned(Kp))) st = GSL_ENOMEM;
  if (!st && !par) {
    for (size_t i = 0; i < n; i++)
      direct_query(K, Kp, d, Y, Yt, two_s2, sigma, x + i * d, bufs[0], dist2 ? dist2 + i : NULL,
                   grad ? grad + i * d : NULL, eps ? eps + i * d : NULL, proj ? proj + i * d : NULL,
                   proj_index ? proj_index + i : NULL);
  } else if (!st) {
#pragma omp parallel for schedule(static) num_threads(nt)
    for (size_t i = 0; i < n; i++) {
      double *buf = bufs[dpm_omp_thread_num()];
      direct_query(K, Kp, d, Y, Yt, two_s2, sigma, x + i * d, buf, dist2 ? dist2 + i : NULL,
                   grad ? grad + i * d : NULL, eps ? eps + i * d : NULL, proj ? proj + i * d : NULL,
                   proj_index ? proj_index + i : NULL);
    }
  }
  if (bufs)
    for (int t = 0; t < nt; t++)
      free(bufs[t]);
  free(bufs);
  free(Yt);
  return st;
}

/* ---- large d: DGEMM tiles, the tile's distances kept, negligible weights dropped -----------------------------
 */

/* OpenBLAS runs single-threaded inside the route (the route's own threads split the work). The save and restore
 * of its global thread count is shared by every caller running at the same time (user threads, or calls from
 * inside a parallel region): the first to enter saves and sets 1, the last to leave restores, under a mutex, so
 * overlapping callers neither run multi-threaded BLAS inside each other's regions nor leave the count at 1. */
static pthread_mutex_t blas_mutex = PTHREAD_MUTEX_INITIALIZER;
static int blas_users = 0, blas_saved = 1;

static void blas_single_enter(void)
{
  pthread_mutex_lock(&blas_mutex);
  if (blas_users++ == 0) {
    blas_saved = openblas_get_num_threads();
    openblas_set_num_threads(1);
  }
  pthread_mutex_unlock(&blas_mutex);
}

static void blas_single_leave(void)
{
  pthread_mutex_lock(&blas_mutex);
  if (--blas_users == 0) openblas_set_num_threads(blas_saved);
  pthread_mutex_unlock(&blas_mutex);
}

/* The state of one query once its row of distances is known. */
typedef struct {
  double M;     /* exact D of the nearest point */
  size_t best;  /* its index (lowest on ties) */
  double other; /* sum of the kept weights of every other point */
  double sE;    /* dense queries: sum of the weights entering through the weighted DGEMM */
  size_t nkeep; /* points whose weight may exceed e^-T_drop (the survivors) */
  int dense;    /* 1: the weighted sum by DGEMM over the whole set; 0: by the survivors alone */
} dist_state;

/* One query tile: its nq queries' rows of D (nq x K, row stride K) in Dt, and the per-query results. */
typedef struct {
  size_t K, d, nq, nch, ncb;
  const double *Y, *X, *xn;
  double *yn; /* |y|^2, filled by the first tile's chunks */
  double two_s2, win, wdrop;
  int want_w, first; /* first: the first tile, which computes yn block by block before its DGEMM */
  double *Dt;        /* nq x K: -2 x.y, then D, then (dense rows) the weights */
  dist_state *S;     /* nq */
  double *A;         /* nq x d: sum over the exactly accumulated points of e (x - y) */
  double *GY;        /* nq x d: dense rows, compacted: sum of e y (the kernel or DGEMM) */
  size_t *dense_row; /* the dense queries in order; their count in *ndense */
  size_t ndense;
  /* the kernel route (dpm_ukr8) */
  int kern;
  size_t nqp; /* nq rounded up to the kernel's rows (8) */
  double *Xp; /* d x nqp: the tile's queries, coordinate-major, zero past nq */
} tile_job;

/* Data chunk c (fixed bounds, a function of K only): D = |x|^2 + |y|^2 - 2 x.y for the tile, x.y by DGEMM; on
 * the first tile |y|^2 of each block first (one pass over the set, in parallel, the block then warm for the
 * DGEMM; each |y|^2 is the same sum whichever thread forms it). */
DIST_CLONES
static void tile_chunk(const tile_job *J, size_t c)
{
  const size_t ntiles = (J->K + KB - 1) / KB, c0 = c * ntiles / J->nch * KB, c1e = (c + 1) * ntiles / J->nch * KB,
               c1 = c1e < J->K ? c1e : J->K;
  for (size_t k0 = c0; k0 < c1; k0 += KB) {
    const size_t kb = c1 - k0 < KB ? c1 - k0 : KB;
    if (J->first)
      for (size_t k = k0; k < k0 + kb; k++)
        J->yn[k] = norm2_lanes(J->Y + k * J->d, J->d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)J->nq, (int)kb, (int)J->d, -2.0, J->X, (int)J->d,
                J->Y + k0 * J->d, (int)J->d, 0.0, J->Dt + k0, (int)J->K);
    const double *restrict yn = J->yn + k0;
    for (size_t q = 0; q < J->nq; q++) { /* while the block is in cache */
      double *restrict g = J->Dt + q * J->K + k0;
      const double xn = J->xn[q];
#pragma omp simd
      for (size_t k = 0; k < kb; k++) {
        const double D0 = xn + yn[k] + g[k];
        g[k] = D0 > 0.0 ? D0 : 0.0;
      }
    }
  }
}

/* The kernel route's chunk c of KER_NCH points (fixed bounds): x.y for every query of the tile by dpm_ukr8 (the
 * set's rows as its 8 rows, the packed queries as its lanes; d in equal blocks of at most KER_KC, summed in block
 * order), then D = |x|^2 + |y|^2 - 2 x.y into the tile's rows, as the DGEMM route forms it; on the first tile
 * |y|^2 of the chunk first. A last group of fewer than 8 points runs on a zero-padded copy of its rows. scr: the
 * calling thread's scratch, the chunk's x.y (KER_NCH x nqp) and then room for those 8 rows (8 x d). */
static void tile_chunk_kernel(const tile_job *J, size_t c, double *scr)
{
  const size_t K = J->K, d = J->d, nq = J->nq, nqp = J->nqp, j0 = c * KER_NCH,
               j1 = j0 + KER_NCH < K ? j0 + KER_NCH : K, nkb = (d + KER_KC - 1) / KER_KC;
  double *Cs = scr, *pad = scr + (size_t)KER_NCH * nqp;
  if (J->first)
    for (size_t k = j0; k < j1; k++)
      J->yn[k] = norm2_lanes(J->Y + k * d, d);
  for (size_t b = 0; b < nkb; b++) {
    const size_t p0 = b * d / nkb, p1 = (b + 1) * d / nkb;
    for (size_t j = j0; j < j1; j += DPM_UKR_ROWS) {
      const double *Ub = J->Y + j * d;
      if (j + DPM_UKR_ROWS > j1) {
        if (b == 0) {
          memset(pad, 0, DPM_UKR_ROWS * d * sizeof(double));
          memcpy(pad, Ub, (j1 - j) * d * sizeof(double));
        }
        Ub = pad;
      }
      for (size_t q = 0; q < nq; q += DPM_UKR_LANES)
        dpm_ukr8(p1 - p0, Ub + p0, d, J->Xp + p0 * nqp + q, nqp, nq - q < DPM_UKR_LANES ? nq - q : DPM_UKR_LANES,
                 Cs + (j - j0) * nqp + q, nqp, b > 0);
    }
  }
  const double *restrict yn = J->yn;
  for (size_t q = 0; q < nq; q++) {
    double *restrict g = J->Dt + q * K;
    const double xn = J->xn[q];
    for (size_t j = j0; j < j1; j++) {
      const double D0 = xn + yn[j] + -2.0 * Cs[(j - j0) * nqp + q];
      g[j] = D0 > 0.0 ? D0 : 0.0;
    }
  }
}

enum { FLAG_REFINE = 1, FLAG_KEEP = 2 };

/* Query q of the tile: the exact nearest point, which points are kept, the route, and its weights (sparse: the
 * sums over the kept points, exactly; dense: the weights of the points not refined left in its row of Dt for
 * the weighted DGEMM). flags: K bytes of scratch. */
DIST_CLONES
static void tile_query(const tile_job *J, size_t q, unsigned char *restrict flags)
{
  const size_t K = J->K, d = J->d;
  const double cd = (2.0 * (double)d + 4.0) * DIST_U, two_s2 = J->two_s2, xn = J->xn[q];
  const double *restrict yn = J->yn;
  const double *xq = J->X + q * d;
  double *restrict r = J->Dt + q * K;
  dist_state *s = J->S + q;
  /* the least upper bound of the minimum */
  double ub = HUGE_VAL;
#pragma omp simd reduction(min : ub)
  for (size_t k = 0; k < K; k++) {
    const double hi = r[k] + cd * (xn + yn[k]);
    ub = hi < ub ? hi : ub;
  }
  /* refine the candidates for the nearest, and the points whose weight can matter where the expansion cancels;
   * keep every point whose weight may exceed e^-T_drop of the nearest's */
  const double lim_ref = ub + J->win, lim_keep = ub + J->wdrop;
  size_t nkeep = 0;
#pragma omp simd reduction(+ : nkeep)
  for (size_t k = 0; k < K; k++) {
    const double nrm = xn + yn[k], lo = r[k] - cd * nrm;
    const int ref = lo <= ub || (lo <= lim_ref && r[k] < DIST_KAPPA * nrm), keep = lo <= lim_keep;
    flags[k] = (unsigned char)((ref ? FLAG_REFINE : 0) | (keep ? FLAG_KEEP : 0));
    nkeep += (size_t)keep;
  }
  double M = HUGE_VAL;
  size_t best = 0;
  for (size_t k = 0; k < K; k++) {
    if (!(flags[k] & FLAG_REFINE)) continue;
    r[k] = dist2_point(d, xq, J->Y + k * d);
    if (r[k] < M) { /* strict, in index order: ties go to the lowest index */
      M = r[k];
      best = k;
    }
  }
  s->M = M;
  s->best = best;
  s->nkeep = nkeep;
  s->dense = nkeep > DIST_DENSE_MIN && nkeep > K / DIST_DENSE_DIV;
  s->sE = 0.0;
  double *a = J->want_w ? J->A + q * d : NULL;
  if (a) memset(a, 0, d * sizeof(double));
  double other = 0.0;
  if (!s->dense) { /* the kept points alone: e (x - y) accumulated directly */
    for (size_t k = 0; k < K; k++) {
      if (!(flags[k] & FLAG_KEEP) || k == best) continue;
      const double Dk = r[k] > M ? r[k] : M;
      const double e = Dk == M ? 1.0 : two_s2 > 0.0 ? exp(-(Dk - M) / two_s2) : 0.0;
      if (e == 0.0) continue;
      other += e;
      if (a) {
        const double *restrict y = J->Y + k * d;
#pragma omp simd
        for (size_t j = 0; j < d; j++)
          a[j] += e * (xq[j] - y[j]);
      }
    }
    s->other = other;
    return;
  }
  /* dense: every weight; the refined points exactly, the others left in the row for the weighted DGEMM */
  double osum = 0.0;
  if (two_s2 > 0.0) {
#pragma omp simd reduction(+ : osum)
    for (size_t k = 0; k < K; k++) {
      const double e = exp(-((r[k] > M ? r[k] : M) - M) / two_s2);
      r[k] = flags[k] & FLAG_REFINE ? 0.0 : e;
      osum += r[k];
    }
  } else {
    for (size_t k = 0; k < K; k++)
      r[k] = 0.0; /* not refined: D > M, weight 0 in the sigma -> 0 limit */
  }
  for (size_t k = 0; k < K; k++) {
    if (!(flags[k] & FLAG_REFINE) || k == best) continue;
    const double *y = J->Y + k * d;
    const double Dk = dist2_point(d, xq, y);
    const double e = Dk == M ? 1.0 : two_s2 > 0.0 ? exp(-(Dk - M) / two_s2) : 0.0;
    other += e;
    if (a && e > 0.0)
      for (size_t j = 0; j < d; j++)
        a[j] += e * (xq[j] - y[j]);
  }
  s->other = other + osum;
  s->sE = osum;
}

/* Column block b of the dense queries' weighted sums: GY[:, j0:j1) = E Y[:, j0:j1), E their rows of weights
 * (compacted to the top of Dt). The blocks are fixed by d, each element one DGEMM over all K: the same bits for
 * any thread count. */
static void tile_dense_block(const tile_job *J, size_t b)
{
  const size_t j0 = b * J->d / J->ncb, j1 = (b + 1) * J->d / J->ncb;
  if (j1 > j0)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)J->ndense, (int)(j1 - j0), (int)J->K, 1.0, J->Dt,
                (int)J->K, J->Y + j0, (int)J->d, 0.0, J->GY + j0, (int)J->d);
}

/* The kernel route's dense weighted sums, thread t of nt: GY[:, cols] = E Y[:, cols] for the column groups
 * [g0, g1) of DPM_UKR_LANES (a fixed split of d), E the dense rows of weights (compacted to the top of Dt, zero
 * rows up to a multiple of 8); each element summed over the set in blocks of KER_KCE points, in order: its bits
 * do not depend on nt. */
static void tile_dense_kernel(const tile_job *J, size_t t, size_t nt)
{
  const size_t K = J->K, d = J->d, ng = (d + DPM_UKR_LANES - 1) / DPM_UKR_LANES, g0 = ng * t / nt,
               g1 = ng * (t + 1) / nt, nr = (J->ndense + DPM_UKR_ROWS - 1) / DPM_UKR_ROWS * DPM_UKR_ROWS;
  for (size_t p0 = 0; p0 < K; p0 += KER_KCE) {
    const size_t kc = K - p0 < KER_KCE ? K - p0 : KER_KCE;
    for (size_t g = g0; g < g1; g++) {
      const size_t c0 = g * DPM_UKR_LANES, nl = d - c0 < DPM_UKR_LANES ? d - c0 : DPM_UKR_LANES;
      for (size_t r = 0; r < nr; r += DPM_UKR_ROWS)
        dpm_ukr8(kc, J->Dt + r * K + p0, K, J->Y + p0 * d + c0, d, nl, J->GY + r * d + c0, d, p0 > 0);
    }
  }
}

/* The dense rows of weights moved to the top of Dt, in order (row j <= its source row: a forward copy). */
static void tile_compact(tile_job *J)
{
  J->ndense = 0;
  for (size_t q = 0; q < J->nq; q++) {
    if (!J->S[q].dense || !J->want_w) continue;
    if (J->ndense != q) memcpy(J->Dt + J->ndense * J->K, J->Dt + q * J->K, J->K * sizeof(double));
    J->dense_row[J->ndense++] = q;
  }
  if (J->kern) /* the kernel's 8-row groups read zero rows past the last dense one */
    for (size_t r = J->ndense; r % DPM_UKR_ROWS; r++)
      memset(J->Dt + r * J->K, 0, J->K * sizeof(double));
}

/* The set's finiteness from |y|^2, formed by the first tile anyway: a non-finite coordinate makes its point's
 * |y|^2 NaN or +inf, so only those points are scanned, in order, and the first non-finite coordinate is the one
 * the plain scan of every coordinate would name (a finite point whose |y|^2 overflows scans clean and is let
 * through, as before). Returns its index k * d + j, or SIZE_MAX when every coordinate is finite. */
static size_t first_nonfinite(size_t K, size_t d, const double *Y, const double *yn)
{
  for (size_t k = 0; k < K; k++)
    if (!isfinite(yn[k]))
      for (size_t j = 0; j < d; j++)
        if (!isfinite(Y[k * d + j])) return k * d + j;
  return SIZE_MAX;
}

/* The kernel route where the CPU has it; tests switch it off to check the CBLAS route too. */
static int use_kernel = 1;

int dpm_distance_use_kernel(int on)
{
  const int was = use_kernel;
  use_kernel = on != 0;
  return was;
}

static int eval_gemm(size_t K, size_t d, const double *Y, double sigma, size_t n, const double *x, double *dist2,
                     double *grad, double *eps, double *proj, size_t *proj_index)
{
  const int want_w = grad || eps;
  /* the tile's distances take at most DIST_TILE_BYTES, each of its three d-wide buffers (the packed queries, the
   * exact sums, the dense sums) at most DIST_QUERY_BYTES (at least 8 queries) */
  size_t QB = DIST_TILE_BYTES / (K * sizeof(double)) / 8 * 8;
  const size_t QBd = DIST_QUERY_BYTES / (d * sizeof(double)) / 8 * 8;
  QB = QB > QBd ? QBd : QB;
  QB = QB < 8 ? 8 : QB > 256 ? 256 : QB;
  if (QB > n) QB = n;
  const size_t ntiles = (K + KB - 1) / KB, nch = ntiles < NSUPER ? ntiles : NSUPER;
  const size_t ncb = d >= 2048 ? 8 : d >= 512 ? 4 : d >= 128 ? 2 : 1;
  /* threads unless the caller already runs in parallel: then plain loops, no region of ours */
  const int par = dpm_omp_max_threads() > 1 && !in_parallel();
  const int nt = par ? dpm_omp_max_threads() : 1;
  const int kern = use_kernel && dpm_ukr8_available();
  const size_t QBp = (QB + DPM_UKR_ROWS - 1) / DPM_UKR_ROWS * DPM_UKR_ROWS; /* rows of Dt and GY: zero-padded */
  const size_t scr_len = (size_t)KER_NCH * QBp + DPM_UKR_ROWS * d;
  double *yn = dpm_malloc(K * sizeof(double)), *xn = dpm_malloc(QB * sizeof(double));
  double *Dt = alloc_aligned(QBp * K);
  dist_state *S = dpm_malloc(QB * sizeof(dist_state));
  double *A = want_w ? dpm_malloc(QB * d * sizeof(double)) : NULL;
  double *GY = want_w ? dpm_malloc(QBp * d * sizeof(double)) : NULL;
  size_t *dense_row = dpm_malloc(QB * sizeof(size_t));
  unsigned char *flags = dpm_malloc((size_t)nt * K);
  double *Xp = kern ? alloc_aligned(d * QBp) : NULL, *scr = kern ? alloc_aligned((size_t)nt * scr_len) : NULL;
  int st = yn && xn && Dt && S && (!want_w || (A && GY)) && dense_row && flags && (!kern || (Xp && scr))
               ? DPM_SUCCESS
               : GSL_ENOMEM;
  if (st) goto done;
  const double two_s2 = 2.0 * sigma * sigma;
  size_t bad = SIZE_MAX; /* the first non-finite coordinate of the set, found with the first tile's |y|^2 */
  if (!kern) blas_single_enter();
  const size_t nchk = kern ? (K + KER_NCH - 1) / KER_NCH : nch; /* the data chunks */
  for (size_t i0 = 0; i0 < n; i0 += QB) {
    const size_t nq = n - i0 < QB ? n - i0 : QB, nqp = (nq + DPM_UKR_ROWS - 1) / DPM_UKR_ROWS * DPM_UKR_ROWS;
    const double *X = x + i0 * d;
    for (size_t q = 0; q < nq; q++)
      xn[q] = norm2_lanes(X + q * d, d);
    if (kern)
      for (size_t k = 0; k < d; k++)
        for (size_t q = 0; q < nqp; q++)
          Xp[k * nqp + q] = q < nq ? X[q * d + k] : 0.0;
    tile_job J = {.K = K,
                  .d = d,
                  .nq = nq,
                  .nch = nch,
                  .ncb = ncb,
                  .Y = Y,
                  .X = X,
                  .xn = xn,
                  .yn = yn,
                  .two_s2 = two_s2,
                  .win = two_s2 * DIST_T,
                  .wdrop = two_s2 * (DIST_DROP_T0 + log((double)K)),
                  .want_w = want_w,
                  .first = i0 == 0,
                  .Dt = Dt,
                  .S = S,
                  .A = A,
                  .GY = GY,
                  .dense_row = dense_row,
                  .kern = kern,
                  .nqp = nqp,
                  .Xp = Xp};
    if (!par) {
      for (size_t c = 0; c < nchk; c++)
        if (kern)
          tile_chunk_kernel(&J, c, scr);
        else
          tile_chunk(&J, c);
      if (J.first && (bad = first_nonfinite(K, d, Y, yn)) != SIZE_MAX) break;
      for (size_t q = 0; q < nq; q++)
        tile_query(&J, q, flags);
      tile_compact(&J);
      if (J.ndense && kern)
        tile_dense_kernel(&J, 0, 1);
      else if (J.ndense)
        for (size_t b = 0; b < ncb; b++)
          tile_dense_block(&J, b);
    } else {
#pragma omp parallel num_threads(nt)
      {
        const size_t tid = (size_t)dpm_omp_thread_num();
        unsigned char *fl = flags + tid * K;
#pragma omp for schedule(dynamic, 1)
        for (size_t c = 0; c < nchk; c++)
          if (kern)
            tile_chunk_kernel(&J, c, scr + tid * scr_len);
          else
            tile_chunk(&J, c);
#pragma omp single
        if (J.first) bad = first_nonfinite(K, d, Y, yn);
        if (bad == SIZE_MAX) {
#pragma omp for schedule(dynamic, 1)
          for (size_t q = 0; q < nq; q++)
            tile_query(&J, q, fl);
#pragma omp single
          tile_compact(&J);
          if (J.ndense && kern)
            tile_dense_kernel(&J, tid, (size_t)dpm_omp_num_threads());
          else if (J.ndense) {
#pragma omp for schedule(dynamic, 1)
            for (size_t b = 0; b < ncb; b++)
              tile_dense_block(&J, b);
          }
        }
      }
      if (bad != SIZE_MAX) break;
    }
    for (size_t q = 0, jd = 0; q < nq; q++) {
      const size_t i = i0 + q;
      const dist_state *s = S + q;
      const double *xq = X + q * d, *yb = Y + s->best * d;
      if (proj) memcpy(proj + i * d, yb, d * sizeof(double));
      if (proj_index) proj_index[i] = s->best;
      if (dist2) dist2[i] = s->other > 0.0 ? s->M - two_s2 * log1p(s->other) : s->M;
      if (!want_w) continue;
      const double total = 1.0 + s->other, *num = A + q * d;
      const double *gy = s->dense ? GY + jd++ * d : NULL;
      for (size_t j = 0; j < d; j++) {
        const double se = gy ? ((xq[j] - yb[j]) + num[j] + (s->sE * xq[j] - gy[j])) / total
                             : ((xq[j] - yb[j]) + num[j]) / total; /* sigma eps*_j */
        if (eps) eps[i * d + j] = se / sigma;
        if (grad) grad[i * d + j] = 2.0 * se;
      }
    }
  }
  if (!kern) blas_single_leave();
done:
  free(yn);
  free(xn);
  free(Dt);
  free(S);
  free(A);
  free(GY);
  free(dense_row);
  free(flags);
  free(Xp);
  free(scr);
  if (st) DPM_ERROR(st, "distance: out of memory for %zu points against %zu in dimension %zu", n, K, d);
  if (bad != SIZE_MAX)
    DPM_ERROR(GSL_EBADFUNC, "distance: set point %zu is not finite (coordinate %zu = %g)", bad / d, bad % d,
              Y[bad]);
  return st;
}

int dpm_distance_eval(size_t K, size_t d, const double *Y, double sigma, size_t n, const double *x, double *dist2,
                      double *grad, double *eps, double *proj, size_t *proj_index)
{
  if (!(isfinite(sigma) && sigma > 0.0))
    DPM_ERROR(GSL_EDOM, "distance: sigma must be > 0 and finite (got %g)", sigma);
  if (K == 0) DPM_ERROR(GSL_EINVAL, "distance: the point set is empty (K = 0)");
  if (d == 0) DPM_ERROR(GSL_EBADLEN, "distance: dimension d = 0");
  if (!Y) DPM_ERROR(GSL_EINVAL, "distance: point set Y is NULL");
  const int gemm = d >= DIST_GEMM_MIN_D && K >= 2 && n > 0; /* the DGEMM route checks the set with its |y|^2 */
  if (!gemm)
    for (size_t k = 0; k < K; k++)
      for (size_t j = 0; j < d; j++)
        if (!isfinite(Y[k * d + j]))
          DPM_ERROR(GSL_EBADFUNC, "distance: set point %zu is not finite (coordinate %zu = %g)", k, j,
                    Y[k * d + j]);
  if (n == 0) return DPM_SUCCESS;
  if (!x) DPM_ERROR(GSL_EINVAL, "distance: x is NULL for %zu points", n);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < d; j++)
      if (!isfinite(x[i * d + j]))
        DPM_ERROR(GSL_EBADFUNC, "distance: point %zu is not finite (coordinate %zu = %g)", i, j, x[i * d + j]);
  if (gemm) return eval_gemm(K, d, Y, sigma, n, x, dist2, grad, eps, proj, proj_index);
  return eval_direct(K, d, Y, sigma, n, x, dist2, grad, eps, proj, proj_index);
}
