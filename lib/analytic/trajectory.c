/* trajectory.c — the optimal trajectory by dynamic programming over the cost J(s,t) (Bao et al. ICLR 2022, §4;
 * docs/MATH.md §3). */
#include <float.h>
#include <math.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dpm_analytic.h"
#include "dpm_common.h"
#include "dpm_rng.h"
#include "dpm_internal.h"
/* ---- optimal trajectory
 * ------------------------------------------------------------------------------------------- */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define DP_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DP_CLONES
#endif

/* glibc's vector exp, expm1 and log1p (libmvec), declared as math-vector.h does under -ffast-math, for the costs
 * in SIMD lanes (at most 4 ulp each). */
extern double exp(double) __attribute__((__simd__("notinbranch")));
extern double expm1(double) __attribute__((__simd__("notinbranch")));
extern double log1p(double) __attribute__((__simd__("notinbranch")));

enum { COST_LANES = 8 };

/* The cost of s -> t, 1 <= s < t, DDPM family: with beta = beta_{t|s}, alpha = alpha_{t|s},
 *   J = log(sigma*^2/lambda^2) = log1p(coef2 (1 - g)/lambda^2),  coef2/lambda^2 = beta/(alpha bbar_s),
 *   F = log(1 - beta g / bbar_t),
 * for s = s0 .. s0 + n - 1 into out, in chunks of COST_LANES lanes: loops of constant length (the unused lanes
 * repeat s0), so every cost goes through the vector functions and its bits depend neither on its lane nor on the
 * call (the table, one cost, the cumulative cost: the same number). */
DP_CLONES static void cost_row(const dpm_schedule *sch, double g, dpm_cost_kind cost, size_t t, size_t s0,
                               size_t n, double *out)
{
  if (g < 0.0) g = 0.0;
  if (g > 1.0) g = 1.0;
  const double lt = sch->log_alpha_bar[t], bt = sch->beta_bar[t], omg = 1.0 - g;
  for (size_t c = 0; c < n; c += COST_LANES) {
    double la[COST_LANES], bs[COST_LANES], v[COST_LANES];
    for (size_t j = 0; j < COST_LANES; j++) {
      const size_t s = s0 + (c + j < n ? c + j : 0);
      la[j] = lt - sch->log_alpha_bar[s];
      bs[j] = sch->beta_bar[s];
    }
    if (cost == DPM_COST_J) {
#pragma omp simd
      for (size_t j = 0; j < COST_LANES; j++) {
        const double beta = -expm1(la[j]), alpha = exp(la[j]);
        v[j] = log1p(beta * omg / (alpha * bs[j]));
      }
    } else {
#pragma omp simd
      for (size_t j = 0; j < COST_LANES; j++) {
        const double beta = -expm1(la[j]);
        v[j] = log1p(-beta * g / bt);
      }
    }
    for (size_t j = 0; j < COST_LANES && c + j < n; j++)
      out[c + j] = v[j];
  }
}

static double cost_eval(const dpm_schedule *sch, double g, dpm_cost_kind cost, size_t s, size_t t)
{
  double v;
  cost_row(sch, g, cost, t, s, 1, &v);
  return v;
}

double dpm_analytic_cost(const dpm_schedule *sch, const double *gamma, dpm_cost_kind cost, size_t s, size_t t)
{
  if (!sch || !gamma || s < 1 || s >= t || t > sch->N || (cost != DPM_COST_J && cost != DPM_COST_F)) return NAN;
  return cost_eval(sch, gamma[t], cost, s, t);
}

/* The cost table is kept (computed once per solve, not once per layer) up to this many steps: N^2/2 doubles, 32
 * MB. */
enum { DP_TABLE_MAX_N = 2896, DP_LANES = 16, DP_PAR_MIN_N = 2048 };

struct dpm_analytic_dp {
  size_t N, K;
  double *D[2]; /* N+1 each: best cost of a path ending at t with the current number of points */
  size_t *arg;  /* K x (N+1): predecessor of t in layer k */
  double *C;    /* cost of s -> t at tri(t) + s - 1, 1 <= s < t <= N (NULL when N > DP_TABLE_MAX_N) */
  double *Dall; /* K x (N+1): every layer's best costs, for the target-major order (N < DP_PAR_MIN_N) */
};

/* Start of row t of the cost table (entries s = 1..t-1). */
static size_t tri(size_t t) { return (t - 1) * (t - 2) / 2; }

void dpm_analytic_dp_free(dpm_analytic_dp *dp)
{
  if (!dp) return;
  free(dp->D[0]);
  free(dp->D[1]);
  free(dp->arg);
  free(dp->C);
  free(dp->Dall);
  free(dp);
}

dpm_analytic_dp *dpm_analytic_dp_alloc(size_t N, size_t K)
{
  if (K < 2 || K > N) DPM_ERROR_NULL(GSL_EINVAL, "trajectory DP: need 2 <= K <= N (got K = %zu, N = %zu)", K, N);
  dpm_analytic_dp *dp = dpm_calloc(1, sizeof *dp);
  if (!dp) return NULL;
  dp->N = N;
  dp->K = K;
  dp->D[0] = dpm_malloc((N + 1) * sizeof(double));
  dp->D[1] = dpm_malloc((N + 1) * sizeof(double));
  /* the table and the layers on huge pages when large: N = 1000 is 4 MB, a thousand first-touch faults else */
  dp->arg = dpm_malloc_large(K * (N + 1) * sizeof(size_t));
  if (N <= DP_TABLE_MAX_N) dp->C = dpm_malloc_large((tri(N + 1) + 1) * sizeof(double));
  if (N < DP_PAR_MIN_N) dp->Dall = dpm_malloc_large(K * (N + 1) * sizeof(double));
  if (!dp->D[0] || !dp->D[1] || !dp->arg || (N <= DP_TABLE_MAX_N && !dp->C) || (N < DP_PAR_MIN_N && !dp->Dall)) {
    dpm_analytic_dp_free(dp);
    return NULL;
  }
  return dp;
}

typedef double dp_v8d __attribute__((vector_size(64)));
typedef long long dp_v8l __attribute__((vector_size(64)));

/* Row t of the table (Ct[s] = cost of s -> t): *best = min over s in [s0, t) of pv[s] + Ct[s] and the smallest s
 * reaching it (the lowest index on ties, as a strict scan in increasing s gives), 0 when no term is below
 * HUGE_VAL. One pass in DP_LANES independent lanes (lane j sees s = s0 + j (mod DP_LANES)), each keeping its
 * running minimum and the first s reaching it by a strict <, so the lanes map onto SIMD registers and the steps
 * do not wait on each other; then the lanes folded: the minimum over the lanes, and the smallest index among the
 * lanes holding it, which is the first s overall. The same sums as the strict scan, compared exactly (v < m is
 * false for a NaN v in both): the same path, the same total. */
DP_CLONES static size_t dp_row_argmin(const double *restrict pv, const double *restrict Ct, size_t s0, size_t t,
                                      double *best)
{
  /* two vectors of 8 lanes (GCC vector extensions: one or more registers on every target); a lane's update is
   * a blend under the mask v < acc */
  const dp_v8d inf = {HUGE_VAL, HUGE_VAL, HUGE_VAL, HUGE_VAL, HUGE_VAL, HUGE_VAL, HUGE_VAL, HUGE_VAL};
  dp_v8d acc0 = inf, acc1 = inf;
  dp_v8l idx0 = {0}, idx1 = {0}, at = {0, 1, 2, 3, 4, 5, 6, 7};
  const dp_v8l step = {DP_LANES, DP_LANES, DP_LANES, DP_LANES, DP_LANES, DP_LANES, DP_LANES, DP_LANES};
  at += (long long)s0;
  size_t s = s0;
  for (; s + DP_LANES <= t; s += DP_LANES, at += step) {
    dp_v8d p0, p1, c0, c1;
    memcpy(&p0, pv + s, sizeof p0);
    memcpy(&p1, pv + s + 8, sizeof p1);
    memcpy(&c0, Ct + s, sizeof c0);
    memcpy(&c1, Ct + s + 8, sizeof c1);
    const dp_v8d v0 = p0 + c0, v1 = p1 + c1;
    const dp_v8l l0 = v0 < acc0, l1 = v1 < acc1;
    acc0 = (dp_v8d)(((dp_v8l)v0 & l0) | ((dp_v8l)acc0 & ~l0));
    acc1 = (dp_v8d)(((dp_v8l)v1 & l1) | ((dp_v8l)acc1 & ~l1));
    idx0 = (at & l0) | (idx0 & ~l0);
    idx1 = ((at + 8) & l1) | (idx1 & ~l1);
  }
  double acc[DP_LANES];
  long long idx[DP_LANES];
  memcpy(acc, &acc0, sizeof acc0);
  memcpy(acc + 8, &acc1, sizeof acc1);
  memcpy(idx, &idx0, sizeof idx0);
  memcpy(idx + 8, &idx1, sizeof idx1);
  for (size_t j = 0; s + j < t; j++) {
    const double v = pv[s + j] + Ct[s + j];
    if (v < acc[j]) {
      acc[j] = v;
      idx[j] = (long long)(s + j);
    }
  }
  double m = HUGE_VAL;
  for (size_t j = 0; j < DP_LANES; j++)
    m = acc[j] < m ? acc[j] : m;
  *best = m;
  if (!(m < HUGE_VAL)) return 0;
  long long arg = LLONG_MAX;
  for (size_t j = 0; j < DP_LANES; j++)
    if (acc[j] == m && idx[j] < arg) arg = idx[j];
  return (size_t)arg;
}

int dpm_analytic_dp_solve(dpm_analytic_dp *dp, const dpm_schedule *sch, const double *gamma, dpm_cost_kind cost,
                          size_t K, size_t *tau, double *total)
{
  if (!dp || !sch || !gamma || !tau)
    DPM_ERROR(GSL_EINVAL, "trajectory DP: NULL workspace, schedule, gamma or tau");
  const size_t N = sch->N;
  if (N > dp->N || K > dp->K)
    DPM_ERROR(GSL_EBADLEN, "trajectory DP: (N, K) = (%zu, %zu) exceeds the workspace's (%zu, %zu)", N, K, dp->N,
              dp->K);
  if (K < 2 || K > N) DPM_ERROR(GSL_EINVAL, "trajectory DP: need 2 <= K <= N (got K = %zu, N = %zu)", K, N);
  if (cost != DPM_COST_J && cost != DPM_COST_F) DPM_ERROR(GSL_EINVAL, "trajectory DP: unknown cost %d", (int)cost);
  for (size_t t = 2; t <= N; t++)
    if (isnan(gamma[t])) DPM_ERROR(GSL_EDOM, "trajectory DP: gamma[%zu] is NaN", t);
  /* The cost of s -> t does not depend on the layer: with the table, each one is evaluated once here (the same
   * function as below, so the path is the same bits) instead of once per layer. The layers then only add. Threads
   * from the same size on as the layers': below it (N = 1000: 5e5 costs, ~20 ms) one thread was 2x faster than
   * two on the shared 2-core machine, whole process, where the region's wait on a descheduled thread dominates. */
  double *C = dp->C;
  const int par = N >= DP_PAR_MIN_N;
  if (C) {
#pragma omp parallel for schedule(dynamic, 16) if (par)
    for (size_t t = 2; t <= N; t++)
      cost_row(sch, gamma[t], cost, t, 1, t - 1, C + tri(t));
  }
  if (C && !par && dp->Dall) {
    /* Target-major order: for each t, every layer k that reaches it, so row t of the table is read from L1 by
     * all of them instead of the whole table streaming through the cache once per layer (K passes over N^2/2
     * doubles); layer k - 1's costs at s < t are all final by then. The same sums with the same tie rule as
     * layer by layer: the same path and total. */
    double *D = dp->Dall;
    const size_t W = N + 1;
    for (size_t j = 0; j < K * W; j++)
      D[j] = HUGE_VAL;
    D[1] = 0.0; /* one point: the path {1} */
    for (size_t t = 2; t <= N; t++) {
      const double *Ct = C + tri(t) - 1;
      const size_t klo = t + K > N + 2 ? t + K - N : 2, khi = K < t ? K : t;
      for (size_t k = klo; k <= khi; k++) {
        double best;
        const size_t bs = dp_row_argmin(D + (k - 2) * W, Ct, k - 1, t, &best);
        D[(k - 1) * W + t] = best;
        dp->arg[(k - 1) * W + t] = bs;
      }
    }
    const double tot = D[(K - 1) * W + N];
    if (!isfinite(tot)) DPM_ERROR(GSL_EDOM, "trajectory DP: no finite path (cost not finite)");
    tau[K - 1] = N;
    for (size_t k = K; k >= 2; k--)
      tau[k - 2] = dp->arg[(k - 1) * W + tau[k - 1]];
    if (total) *total = tot;
    return DPM_SUCCESS;
  }
  double *prev = dp->D[0], *cur = dp->D[1];
  for (size_t t = 0; t <= N; t++)
    prev[t] = t == 1 ? 0.0 : HUGE_VAL;
  /* layer k (1-based) holds paths with k points ending at t; t ranges over [k, N - (K - k)] */
  for (size_t k = 2; k <= K; k++) {
    const size_t tlo = k, thi = N - (K - k);
    /* round-robin chunks of 16 rows balance the rows' growing lengths without the dynamic schedule's atomics;
     * threads only for long layers: a layer of N = 1000 is ~0.3 ms of work, less than what a barrier costs when
     * the cores are shared (measured: 2 threads 3x slower than 1 on a loaded machine) */
    size_t *arg = dp->arg + (k - 1) * (N + 1);
    for (size_t t = 0; t <= N; t++)
      cur[t] = HUGE_VAL;
#pragma omp parallel for schedule(static, 16) if (par)
    for (size_t t = tlo; t <= thi; t++) {
      double best = HUGE_VAL;
      size_t bs = 0;
      if (C) {
        bs = dp_row_argmin(prev, C + tri(t) - 1, k - 1, t, &best);
      } else {
        for (size_t s = k - 1; s < t; s++) {
          if (prev[s] == HUGE_VAL) continue;
          const double v = prev[s] + cost_eval(sch, gamma[t], cost, s, t);
          if (v < best) {
            best = v;
            bs = s;
          }
        }
      }
      cur[t] = best;
      arg[t] = bs;
    }
    double *tmp = prev;
    prev = cur;
    cur = tmp;
  }
  if (!isfinite(prev[N])) DPM_ERROR(GSL_EDOM, "trajectory DP: no finite path (cost not finite)");
  tau[K - 1] = N;
  for (size_t k = K; k >= 2; k--)
    tau[k - 2] = dp->arg[(k - 1) * (N + 1) + tau[k - 1]];
  if (total) *total = prev[N];
  return DPM_SUCCESS;
}

int dpm_analytic_trajectory(const dpm_schedule *sch, const double *gamma, const char *kind, size_t K, size_t *tau,
                            double *cum)
{
  if (!sch || !kind || !tau) DPM_ERROR(GSL_EINVAL, "trajectory: NULL schedule, kind or tau");
  int st;
  if (strcmp(kind, "dp") == 0) {
    if (!gamma) DPM_ERROR(GSL_EINVAL, "trajectory dp: gamma is NULL");
    if (K < 2 || K > sch->N)
      DPM_ERROR(GSL_EINVAL, "trajectory dp: need 2 <= K <= N (got K = %zu, N = %zu)", K, sch->N);
    dpm_analytic_dp *dp = dpm_analytic_dp_alloc(sch->N, K);
    if (!dp) return GSL_ENOMEM; /* raised by the allocation */
    st = dpm_analytic_dp_solve(dp, sch, gamma, DPM_COST_J, K, tau, NULL);
    dpm_analytic_dp_free(dp);
  } else if (strcmp(kind, "even") == 0 || strcmp(kind, "quadratic") == 0) {
    st = dpm_schedule_subsequence(sch, kind, K, tau);
  } else {
    DPM_ERROR(GSL_EINVAL, "trajectory: unknown kind '%s' (dp, even, quadratic)", kind);
  }
  if (st != DPM_SUCCESS) {
    dpm_error_context("trajectory %s (K = %zu)", kind, K);
    return st;
  }
  if (cum) {
    if (!gamma) DPM_ERROR(GSL_EINVAL, "trajectory: the cumulative cost needs gamma");
    cum[0] = 0.0;
    for (size_t k = 1; k < K; k++)
      cum[k] = cum[k - 1] + cost_eval(sch, gamma[tau[k]], DPM_COST_J, tau[k - 1], tau[k]);
  }
  return DPM_SUCCESS;
}
