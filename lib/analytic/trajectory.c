/* trajectory.c — the optimal trajectory by dynamic programming over the cost J(s,t) (Bao et al. ICLR 2022, §4;
 * docs/MATH.md §3). */
#include <float.h>
#include <math.h>
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

/* The cost of t -> s, 1 <= s < t, DDPM family: with beta = beta_{t|s}, alpha = alpha_{t|s},
 *   J = log(sigma*^2/lambda^2) = log1p(coef2 (1 - g)/lambda^2),  coef2/lambda^2 = beta/(alpha bbar_s),
 *   F = log(1 - beta g / bbar_t). */
static double cost_eval(const dpm_schedule *sch, double g, dpm_cost_kind cost, size_t s, size_t t)
{
  if (g < 0.0) g = 0.0;
  if (g > 1.0) g = 1.0;
  const double la = sch->log_alpha_bar[t] - sch->log_alpha_bar[s];
  const double beta = -expm1(la), alpha = exp(la);
  if (cost == DPM_COST_J) return log1p(beta * (1.0 - g) / (alpha * sch->beta_bar[s]));
  return log1p(-beta * g / sch->beta_bar[t]);
}

double dpm_analytic_cost(const dpm_schedule *sch, const double *gamma, dpm_cost_kind cost, size_t s, size_t t)
{
  if (!sch || !gamma || s < 1 || s >= t || t > sch->N || (cost != DPM_COST_J && cost != DPM_COST_F)) return NAN;
  return cost_eval(sch, gamma[t], cost, s, t);
}

/* The cost table is kept (computed once per solve, not once per layer) up to this many steps: N^2/2 doubles, 32
 * MB. */
enum { DP_TABLE_MAX_N = 2896, DP_BLOCK = 64, DP_PAR_MIN_N = 2048 };

struct dpm_analytic_dp {
  size_t N, K;
  double *D[2]; /* N+1 each: best cost of a path ending at t with the current number of points */
  size_t *arg;  /* K x (N+1): predecessor of t in layer k */
  double *C;    /* cost of s -> t at tri(t) + s - 1, 1 <= s < t <= N (NULL when N > DP_TABLE_MAX_N) */
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
  dp->arg = dpm_malloc(K * (N + 1) * sizeof(size_t));
  if (N <= DP_TABLE_MAX_N) dp->C = dpm_malloc((tri(N + 1) + 1) * sizeof(double));
  if (!dp->D[0] || !dp->D[1] || !dp->arg || (N <= DP_TABLE_MAX_N && !dp->C)) {
    dpm_analytic_dp_free(dp);
    return NULL;
  }
  return dp;
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
   * function as below, so the path is the same bits) instead of once per layer. The layers then only add. */
  double *C = dp->C;
  if (C) {
#pragma omp parallel for schedule(dynamic, 16)
    for (size_t t = 2; t <= N; t++)
      for (size_t s = 1; s < t; s++)
        C[tri(t) + s - 1] = cost_eval(sch, gamma[t], cost, s, t);
  }
  double *prev = dp->D[0], *cur = dp->D[1];
  for (size_t t = 0; t <= N; t++)
    prev[t] = t == 1 ? 0.0 : HUGE_VAL;
  /* layer k (1-based) holds paths with k points ending at t; t ranges over [k, N - (K - k)] */
  for (size_t k = 2; k <= K; k++) {
    const size_t tlo = k, thi = N - (K - k);
    size_t *arg = dp->arg + (k - 1) * (N + 1);
    for (size_t t = 0; t <= N; t++)
      cur[t] = HUGE_VAL;
    /* round-robin chunks of 16 rows balance the rows' growing lengths without the dynamic schedule's atomics;
     * threads only for long layers: a layer of N = 1000 is ~0.3 ms of work, less than what a barrier costs when
     * the cores are shared (measured: 2 threads 3x slower than 1 on a loaded machine) */
    const int par = N >= DP_PAR_MIN_N;
    (void)par;
#pragma omp parallel for schedule(static, 16) if (par)
    for (size_t t = tlo; t <= thi; t++) {
      double best = HUGE_VAL;
      size_t bs = 0;
      if (C) {
        /* row t of the table in blocks of DP_BLOCK: each block's minimum by a min reduction (exact in any order,
         * so it runs in SIMD lanes), the row's minimum over the blocks, then the first s reaching it inside the
         * first block that does (the lowest index on ties, as a strict scan would) */
        const double *restrict Ct = C + tri(t) - 1, *restrict pv = prev; /* Ct[s] = cost of s -> t */
        double bmin[DP_TABLE_MAX_N / DP_BLOCK + 2];
        const size_t s0 = k - 1, nb = (t - s0 + DP_BLOCK - 1) / DP_BLOCK;
        for (size_t b = 0; b < nb; b++) {
          const size_t lo = s0 + b * DP_BLOCK, hi = lo + DP_BLOCK < t ? lo + DP_BLOCK : t;
          double m = HUGE_VAL;
#pragma omp simd reduction(min : m)
          for (size_t s = lo; s < hi; s++) {
            const double v = pv[s] + Ct[s];
            m = v < m ? v : m;
          }
          bmin[b] = m;
          best = m < best ? m : best;
        }
        if (best < HUGE_VAL) {
          size_t b = 0;
          while (bmin[b] != best)
            b++;
          for (size_t s = s0 + b * DP_BLOCK;; s++)
            if (pv[s] + Ct[s] == best) {
              bs = s;
              break;
            }
        }
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
