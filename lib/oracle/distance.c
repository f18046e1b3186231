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
 *  - large d: tiles of QB queries x KB points; D_y = |x|^2 + |y|^2 - 2 x.y with x.y by DGEMM, then a streaming
 *    (online) log-sum-exp over the tiles as in streaming-softmax attention, and sum_y e_y y by a second DGEMM, so
 *    memory is O(batch + data). The rule that keeps it exact where it matters: the computed D_y is within
 *    delta_y = (2d + 4) u (|x|^2 + |y|^2) of the true one (u = 2^-53; a dot product of length d errs by at most
 *    d u |x||y| <= d u (|x|^2 + |y|^2)/2, the two norms and the sums add the rest). A point is recomputed by
 *    coordinate differences (refined) when it may be the nearest (D_y - delta_y <= the least upper bound of the
 *    minimum so far), or when its weight can matter (D_y - delta_y <= that bound + 2 sigma^2 T, T = 40, below
 *    which e^-T < 2^-57) and the expansion cancels: D_y < kappa (|x|^2 + |y|^2), kappa = 1/8. So D*, y* and the
 *    ties are exact as on the small-d route, and every other D_y that matters is within 8 (2d + 4) u D_y of the
 *    exact value, 16 times the bound (d + 2) u D_y of the coordinate-difference sum itself; the weighted sum of
 *    the refined points is accumulated as e_y (x - y), the rest enters as (sum e_y) x - sum e_y y, whose rounding
 *    is at most ~ (K + d) u (|x| + max |y|) sum e_y absolute.
 *    The data is split into at most NSUPER fixed chunks (a function of K only), each streamed by one thread with
 *    its own running minimum, and the chunk states are merged in chunk order: the result is the same bits for
 *    any thread count. OpenBLAS runs single-threaded inside (openblas_set_num_threads(1) around the region). */
#include <math.h>
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
  NSUPER = 8            /* at most this many fixed data chunks, streamed in parallel and merged in order */
};
#define DIST_T     40.0    /* e^-40 < 2^-57: weights below it relative to the nearest's 1 do not matter */
#define DIST_KAPPA 0.125   /* refine where D_y < kappa (|x|^2 + |y|^2): the expansion's cancellation */
#define DIST_U     0x1p-53 /* unit roundoff */

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

static double *alloc_aligned(size_t n)
{
  size_t bytes = pad_lanes(n) * sizeof(double);
  bytes = (bytes + 63) / 64 * 64;
  void *p = aligned_alloc(64, bytes ? bytes : 64);
  if (!p) DPM_ERROR_NULL(GSL_ENOMEM, "distance: out of memory (%zu bytes)", bytes);
  return p;
}

/* ---- small d: one query against the transposed set ---------------------------------------------------------- */

/* Yt: d x Kp (Kp = pad_lanes(K), padding columns 0), Dbuf: Kp. Writes the outputs of one query. */
DIST_CLONES
static void direct_query(size_t K, size_t Kp, size_t d, const double *restrict Y, const double *restrict Yt,
                         double two_s2, double sigma, const double *restrict xi, double *restrict Dbuf,
                         double *dist2, double *grad, double *eps, double *proj, size_t *proj_index)
{
  double *restrict D = __builtin_assume_aligned(Dbuf, 64);
  const double *restrict T = __builtin_assume_aligned(Yt, 64);
  /* D_y coordinate by coordinate (the same sum, in the same order, as dist2_point) */
  {
    const double x0 = xi[0];
#pragma omp simd aligned(D, T : 64)
    for (size_t k = 0; k < Kp; k++) {
      const double t = x0 - T[k];
      D[k] = t * t;
    }
  }
  for (size_t j = 1; j < d; j++) {
    const double xj = xi[j];
    const double *restrict Tj = T + j * Kp;
#pragma omp simd aligned(D, Tj : 64)
    for (size_t k = 0; k < Kp; k++) {
      const double t = xj - Tj[k];
      D[k] += t * t;
    }
  }
  for (size_t k = K; k < Kp; k++)
    D[k] = HUGE_VAL; /* padding: weight exp(-inf) = 0 */
  /* the minimum by a SIMD min reduction (exact in any order), then its first index: ties go to the lowest */
  double Dmin = HUGE_VAL;
#pragma omp simd aligned(D : 64) reduction(min : Dmin)
  for (size_t k = 0; k < Kp; k++)
    Dmin = D[k] < Dmin ? D[k] : Dmin;
  size_t best = 0;
  while (D[best] != Dmin)
    best++;
  if (proj) memcpy(proj, Y + best * d, d * sizeof(double));
  if (proj_index) *proj_index = best;
  const int want_w = grad || eps;
  if (!dist2 && !want_w) return;
  /* the weights, in place: e_y = exp(-(D_y - D*)/(2 sigma^2)); the nearest's 1 is kept out of the sum and its
   * (x - y*) added exactly. When 2 sigma^2 underflows, e_y is 1 for ties and 0 otherwise (the sigma -> 0 limit).
   */
  if (two_s2 > 0.0) {
#pragma omp simd aligned(D : 64)
    for (size_t k = 0; k < Kp; k++)
      D[k] = exp(-(D[k] - Dmin) / two_s2);
  } else {
    for (size_t k = 0; k < Kp; k++)
      D[k] = D[k] == Dmin ? 1.0 : 0.0;
  }
  D[best] = 0.0; /* its 1 stays out of the sum, so log1p(other) keeps every digit of a small sum */
  double other = 0.0;
#pragma omp simd aligned(D : 64) reduction(+ : other)
  for (size_t k = 0; k < Kp; k++)
    other += D[k];
  if (dist2) *dist2 = other > 0.0 ? Dmin - two_s2 * log1p(other) : Dmin;
  if (!want_w) return;
  const double total = 1.0 + other;
  const double *yb = Y + best * d;
  for (size_t j = 0; j < d; j++) {
    const double xj = xi[j];
    const double *restrict Tj = T + j * Kp;
    double acc = 0.0;
#pragma omp simd aligned(D, Tj : 64) reduction(+ : acc)
    for (size_t k = 0; k < Kp; k++)
      acc += D[k] * (xj - Tj[k]);
    const double se = ((xj - yb[j]) + acc) / total; /* sigma eps*_j */
    if (eps) eps[j] = se / sigma;
    if (grad) grad[j] = 2.0 * se;
  }
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

/* ---- large d: DGEMM tiles with a streaming log-sum-exp ----------------------------------------------------- */

/* The running state of one query over one data chunk, relative to its current exact minimum M. */
typedef struct {
  double M;     /* exact D of the nearest point so far (+inf before the first) */
  size_t best;  /* its index */
  double other; /* sum of the weights of every other point */
  double sE;    /* sum of the weights of the points not refined (entering through the DGEMM sum) */
} dist_state;

/* One query tile against one data chunk [k0, k1): the D tile by DGEMM, refinement, weights, and (when the
 * weighted sums are wanted) GY += E Y_tile by DGEMM. A: nq x d, sum over refined of e (x - y); GY: nq x d. */
typedef struct {
  size_t K, d, nq, Kq;
  const double *Y, *yn, *X, *xn;
  double two_s2;
  int want_w;
} tile_job;

DIST_CLONES
static void tile_weights(const tile_job *J, size_t k0, size_t kb, double *restrict G, dist_state *S,
                         double *restrict A, double *restrict GY, unsigned char *refine)
{
  const size_t d = J->d;
  const double cd = (2.0 * (double)d + 4.0) * DIST_U, two_s2 = J->two_s2;
  const double win = two_s2 * DIST_T;
  for (size_t q = 0; q < J->nq; q++) {
    double *restrict g = G + q * KB;
    const double xn = J->xn[q];
    const double *xq = J->X + q * d;
    const double *restrict yn = J->yn + k0;
    dist_state *s = S + q;
    /* D_y = |x|^2 + |y|^2 - 2 x.y (g holds -2 x.y), and the least upper bound of the minimum */
    double ub = s->M;
#pragma omp simd reduction(min : ub)
    for (size_t k = 0; k < kb; k++) {
      const double D0 = xn + yn[k] + g[k], D = D0 > 0.0 ? D0 : 0.0, hi = D + cd * (xn + yn[k]);
      g[k] = D;
      ub = hi < ub ? hi : ub;
    }
    /* refine: candidates for the nearest, and points whose weight can matter where the expansion cancels */
    size_t nref = 0;
    double Mnew = s->M;
    size_t bnew = s->best;
    for (size_t k = 0; k < kb; k++) {
      const double nrm = xn + yn[k], lo = g[k] - cd * nrm;
      refine[k] = lo <= ub || (lo <= ub + win && g[k] < DIST_KAPPA * nrm);
      if (!refine[k]) continue;
      nref++;
      g[k] = dist2_point(d, xq, J->Y + (k0 + k) * d);
      if (g[k] < Mnew) { /* strict, and earlier tiles came first: ties go to the lowest index */
        Mnew = g[k];
        bnew = k0 + k;
      }
    }
    if (Mnew < s->M) { /* a new nearest point: rescale the state to it; the old one's 1 joins the others */
      const int first = s->M == HUGE_VAL;
      const double f = first || !(two_s2 > 0.0) ? 0.0 : exp(-(s->M - Mnew) / two_s2);
      s->other = first ? 0.0 : (s->other + 1.0) * f;
      s->sE *= f;
      if (J->want_w) {
        const double *yo = J->Y + s->best * d;
        for (size_t j = 0; j < d; j++) {
          A[q * d + j] = first ? 0.0 : f * A[q * d + j] + f * (xq[j] - yo[j]);
          GY[q * d + j] *= f;
        }
      }
      s->M = Mnew;
      s->best = bnew;
    }
    const double M = s->M;
    /* weights of the points not refined (their D exceeds M + delta_y, so e < 1), then the refined ones */
    double osum = 0.0;
    if (two_s2 > 0.0) {
#pragma omp simd reduction(+ : osum)
      for (size_t k = 0; k < kb; k++) {
        const double e = exp(-((g[k] > M ? g[k] : M) - M) / two_s2);
        g[k] = refine[k] ? 0.0 : e;
        osum += g[k];
      }
    } else {
      for (size_t k = 0; k < kb; k++)
        g[k] = 0.0; /* not refined: D > M, weight 0 in the sigma -> 0 limit */
    }
    s->other += osum;
    s->sE += osum;
    if (!nref) continue;
    for (size_t k = 0; k < kb; k++) {
      if (!refine[k] || k0 + k == s->best) continue;
      const double *y = J->Y + (k0 + k) * d;
      const double Dk = dist2_point(d, xq, y);
      const double e = Dk == M ? 1.0 : two_s2 > 0.0 ? exp(-(Dk - M) / two_s2) : 0.0;
      s->other += e;
      if (J->want_w && e > 0.0)
        for (size_t j = 0; j < d; j++)
          A[q * d + j] += e * (xq[j] - y[j]);
    }
  }
}

/* Stream chunk [c0, c1) of the set for a tile of nq queries. */
static void stream_chunk(const tile_job *J, size_t c0, size_t c1, double *G, dist_state *S, double *A, double *GY,
                         unsigned char *refine)
{
  const size_t d = J->d;
  for (size_t q = 0; q < J->nq; q++) {
    S[q].M = HUGE_VAL;
    S[q].best = 0;
    S[q].other = 0.0;
    S[q].sE = 0.0;
  }
  if (J->want_w) {
    memset(A, 0, J->nq * d * sizeof(double));
    memset(GY, 0, J->nq * d * sizeof(double));
  }
  for (size_t k0 = c0; k0 < c1; k0 += KB) {
    const size_t kb = c1 - k0 < KB ? c1 - k0 : KB;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)J->nq, (int)kb, (int)d, -2.0, J->X, (int)d,
                J->Y + k0 * d, (int)d, 0.0, G, KB);
    tile_weights(J, k0, kb, G, S, A, GY, refine);
    if (J->want_w) { /* GY += E Y_tile, E the weights of the points not refined */
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)J->nq, (int)d, (int)kb, 1.0, G, KB,
                  J->Y + k0 * d, (int)d, 1.0, GY, (int)d);
    }
  }
}

/* Chunk c of the data, tiles [c ntiles / nch, (c + 1) ntiles / nch), streamed into its slots of S, A and GY with
 * the scratch G and R of the thread that runs it. */
static void gemm_chunk(const tile_job *J, size_t ntiles, size_t nch, size_t c, double *G, unsigned char *R,
                       dist_state *S, double *A, double *GY)
{
  const size_t QB = J->Kq, d = J->d, c0 = c * ntiles / nch * KB, c1e = (c + 1) * ntiles / nch * KB,
               c1 = c1e < J->K ? c1e : J->K;
  stream_chunk(J, c0, c1, G, S + c * QB, J->want_w ? A + c * QB * d : NULL, J->want_w ? GY + c * QB * d : NULL, R);
}

static int eval_gemm(size_t K, size_t d, const double *Y, double sigma, size_t n, const double *x, double *dist2,
                     double *grad, double *eps, double *proj, size_t *proj_index)
{
  const int want_w = grad || eps;
  size_t QB = ((size_t)1 << 18) / d;
  QB = QB < 8 ? 8 : QB > 256 ? 256 : QB;
  if (QB > n) QB = n;
  const size_t ntiles = (K + KB - 1) / KB, nch = ntiles < NSUPER ? ntiles : NSUPER;
  /* the chunks in parallel unless the caller already runs in parallel: then a plain loop, no region of ours */
  const int par = nch > 1 && dpm_omp_max_threads() > 1 && !in_parallel();
  const int nt = par ? dpm_omp_max_threads() : 1;
  double *yn = dpm_malloc(K * sizeof(double)), *xn = dpm_malloc(QB * sizeof(double));
  dist_state *S = dpm_malloc(nch * QB * sizeof(dist_state));
  double *A = want_w ? dpm_malloc(nch * QB * d * sizeof(double)) : NULL;
  double *GY = want_w ? dpm_malloc(nch * QB * d * sizeof(double)) : NULL;
  double **Gt = dpm_calloc((size_t)nt, sizeof *Gt);
  unsigned char **Rt = dpm_calloc((size_t)nt, sizeof *Rt);
  int st = yn && xn && S && (!want_w || (A && GY)) && Gt && Rt ? DPM_SUCCESS : GSL_ENOMEM;
  for (int t = 0; !st && t < nt; t++)
    if (!(Gt[t] = alloc_aligned(QB * KB)) || !(Rt[t] = dpm_malloc(KB))) st = GSL_ENOMEM;
  if (st) goto done;
  for (size_t k = 0; k < K; k++)
    yn[k] = dpm_norm2(Y + k * d, d);
  const double two_s2 = 2.0 * sigma * sigma;
  const int blas_nt = openblas_get_num_threads();
  openblas_set_num_threads(1);
  for (size_t i0 = 0; i0 < n; i0 += QB) {
    const size_t nq = n - i0 < QB ? n - i0 : QB;
    const double *X = x + i0 * d;
    for (size_t q = 0; q < nq; q++)
      xn[q] = dpm_norm2(X + q * d, d);
    const tile_job J = {K, d, nq, QB, Y, yn, X, xn, two_s2, want_w};
    if (!par) {
      for (size_t c = 0; c < nch; c++)
        gemm_chunk(&J, ntiles, nch, c, Gt[0], Rt[0], S, A, GY);
    } else {
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
      for (size_t c = 0; c < nch; c++) {
        const int tid = dpm_omp_thread_num();
        gemm_chunk(&J, ntiles, nch, c, Gt[tid], Rt[tid], S, A, GY);
      }
    }
    /* merge the chunks in order */
    for (size_t q = 0; q < nq; q++) {
      const size_t i = i0 + q;
      const double *xq = X + q * d;
      size_t pb = 0;
      for (size_t c = 1; c < nch; c++)
        if (S[c * QB + q].M < S[pb * QB + q].M) pb = c; /* strict: the lower chunk (lower index) on ties */
      const double M = S[pb * QB + q].M;
      const size_t best = S[pb * QB + q].best;
      double other = 0.0, sE = 0.0;
      double *num = want_w ? A + pb * QB * d + q * d : NULL; /* accumulate into chunk pb's slot */
      double *gy = want_w ? GY + pb * QB * d + q * d : NULL;
      for (size_t c = 0; c < nch; c++) {
        const dist_state *s = S + c * QB + q;
        const double f = s->M == M ? 1.0 : two_s2 > 0.0 ? exp(-(s->M - M) / two_s2) : 0.0;
        other += c == pb ? s->other : (s->other + 1.0) * f;
        sE += f * s->sE;
        if (!want_w || c == pb) continue;
        const double *a = A + c * QB * d + q * d, *g = GY + c * QB * d + q * d, *yb = Y + s->best * d;
        for (size_t j = 0; j < d; j++) {
          num[j] += f * a[j] + f * (xq[j] - yb[j]);
          gy[j] += f * g[j];
        }
      }
      if (proj) memcpy(proj + i * d, Y + best * d, d * sizeof(double));
      if (proj_index) proj_index[i] = best;
      if (dist2) dist2[i] = other > 0.0 ? M - two_s2 * log1p(other) : M;
      if (!want_w) continue;
      const double total = 1.0 + other, *yb = Y + best * d;
      for (size_t j = 0; j < d; j++) {
        const double se = ((xq[j] - yb[j]) + num[j] + (sE * xq[j] - gy[j])) / total; /* sigma eps*_j */
        if (eps) eps[i * d + j] = se / sigma;
        if (grad) grad[i * d + j] = 2.0 * se;
      }
    }
  }
  openblas_set_num_threads(blas_nt);
done:
  if (Gt)
    for (int t = 0; t < nt; t++)
      free(Gt[t]);
  if (Rt)
    for (int t = 0; t < nt; t++)
      free(Rt[t]);
  free(Gt);
  free(Rt);
  free(yn);
  free(xn);
  free(S);
  free(A);
  free(GY);
  if (st) DPM_ERROR(st, "distance: out of memory for %zu points against %zu in dimension %zu", n, K, d);
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
  for (size_t k = 0; k < K; k++)
    for (size_t j = 0; j < d; j++)
      if (!isfinite(Y[k * d + j]))
        DPM_ERROR(GSL_EBADFUNC, "distance: set point %zu is not finite (coordinate %zu = %g)", k, j, Y[k * d + j]);
  if (n == 0) return DPM_SUCCESS;
  if (!x) DPM_ERROR(GSL_EINVAL, "distance: x is NULL for %zu points", n);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < d; j++)
      if (!isfinite(x[i * d + j]))
        DPM_ERROR(GSL_EBADFUNC, "distance: point %zu is not finite (coordinate %zu = %g)", i, j, x[i * d + j]);
  if (d >= DIST_GEMM_MIN_D && K >= 2) return eval_gemm(K, d, Y, sigma, n, x, dist2, grad, eps, proj, proj_index);
  return eval_direct(K, d, Y, sigma, n, x, dist2, grad, eps, proj, proj_index);
}
