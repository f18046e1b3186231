/* entropy.c — the differential entropy H(q_0) of a mixture by cubature (d <= 2) or Monte Carlo. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dpm_data.h"
#include "dpm_common.h"
#include "dpm_rng.h"
#include "dpm_quad.h"
#include "dpm_internal.h"
/* ---- differential entropy --------------------------------------------------------------------------------------
 */

/* log q_0(x) of a mixture without point masses; logc[k] = sum_j log(2 pi lambda_kj); lk (K) and z (d) scratch. */
static double mix_logq0(const dpm_mixture *mix, const double *logc, const double *x, double *lk, double *z)
{
  const size_t d = mix->d, K = mix->K;
  for (size_t k = 0; k < K; k++) {
    if (!(mix->w[k] > 0.0)) {
      lk[k] = -HUGE_VAL;
      continue;
    }
    const double *mu = mix->mu + k * d, *lam = mix->lambda + k * d;
    if (mix->kind[k] == DPM_COV_FULL && mix->U) {
      const double *U = mix->U + k * d * d;
      for (size_t j = 0; j < d; j++) {
        double acc = 0.0;
        for (size_t i = 0; i < d; i++)
          acc += U[i * d + j] * (x[i] - mu[i]);
        z[j] = acc;
      }
    } else {
      for (size_t j = 0; j < d; j++)
        z[j] = x[j] - mu[j];
    }
    double q = 0.0;
    for (size_t j = 0; j < d; j++)
      q += z[j] * z[j] / lam[j];
    lk[k] = mix->logw[k] - 0.5 * (q + logc[k]);
  }
  return dpm_logsumexp(lk, K, 1);
}

static int entropy_prepare(const dpm_mixture *mix, double *logc, const char *what)
{
  for (size_t k = 0; k < mix->K; k++) {
    if (!(mix->w[k] > 0.0)) {
      logc[k] = 0.0;
      continue;
    }
    double acc = 0.0;
    for (size_t j = 0; j < mix->d; j++) {
      const double l = mix->lambda[k * mix->d + j];
      if (mix->kind[k] == DPM_COV_ZERO || !(l > 0.0))
        DPM_ERROR(GSL_EDOM,
                  "%s: component %zu is a point mass: a finite set has no density, its differential "
                  "entropy is -infinity (undefined)",
                  what, k);
      acc += DPM_LOG_2PI + log(l);
    }
    logc[k] = acc;
  }
  return DPM_SUCCESS;
}

enum { ENTROPY_MC_BLOCK = 4096 };

typedef struct {
  const dpm_mixture *mix;
  const double *logc;
  size_t k;
  double scale[2], x[2], z[2];
  double *lk; /* K */
} entropy_ctx;

/* g(u) = -log q_0(x) at x = mu_k + U_k diag(sqrt(lambda_k)) u, and its control variate -l_k(x) = -log w_k +
 * (|u|^2 + logc_k)/2 (the component's own term: g = -l_k + log r_k(x), log r_k = 0 where k owns x). */
static int entropy_fn(void *vctx, size_t np, const double *u, double *out, double *cv)
{
  entropy_ctx *e = vctx;
  const size_t d = e->mix->d, k = e->k;
  const double c0 = -e->mix->logw[k] + 0.5 * e->logc[k];
  for (size_t p = 0; p < np; p++) {
    dpm_mixture_component_point(e->mix, k, e->mix->mu + k * d, e->scale, u + p * d, e->x);
    out[p] = -mix_logq0(e->mix, e->logc, e->x, e->lk, e->z);
    double c = c0;
    for (size_t j = 0; j < d; j++)
      c += 0.5 * u[p * d + j] * u[p * d + j];
    cv[p] = c;
  }
  return DPM_SUCCESS;
}

int dpm_mixture_entropy_quad(const dpm_mixture *mix, double rel_tol, double *H, double *err)
{
  if (!mix || !H) DPM_ERROR(GSL_EINVAL, "entropy quadrature: NULL mixture or output");
  int st = dpm_quad_check(mix->d, rel_tol, "entropy quadrature");
  if (st != DPM_SUCCESS) return st;
  const size_t d = mix->d, K = mix->K;
  dpm_quad_workspace *cub = dpm_quad_workspace_alloc(d, 1);
  if (!cub) return GSL_ENOMEM;
  double *logc = dpm_malloc(K * sizeof(double)), *lk = dpm_malloc(K * sizeof(double));
  if (!logc || !lk) {
    st = GSL_ENOMEM;
    goto done;
  }
  if ((st = entropy_prepare(mix, logc, "entropy quadrature")) != DPM_SUCCESS) goto done;
  entropy_ctx e;
  memset(&e, 0, sizeof e);
  e.mix = mix;
  e.logc = logc;
  e.lk = lk;
  double total = 0.0, terr = 0.0;
  for (size_t k = 0; k < K; k++) {
    if (!(mix->w[k] > 0.0)) continue;
    e.k = k;
    for (size_t j = 0; j < d; j++)
      e.scale[j] = sqrt(mix->lambda[k * d + j]);
    /* the control variate's integral over the box: (-log w_k + logc_k/2) A0^d + (d/2) A2 A0^(d-1) */
    double A0, A2;
    dpm_quad_box_moments(&A0, &A2);
    const double cint =
        (-mix->logw[k] + 0.5 * logc[k]) * (d == 2 ? A0 * A0 : A0) + 0.5 * (double)d * A2 * (d == 2 ? A0 : 1.0);
    double v, ve;
    if ((st = dpm_quad_integrate(cub, entropy_fn, &e, &cint, rel_tol, 1e-13, NULL, &v, &ve)) != DPM_SUCCESS)
      goto done;
    total += mix->w[k] * v;
    terr += mix->w[k] * ve;
  }
  *H = total;
  if (err) *err = terr;
done:
  free(logc);
  free(lk);
  dpm_quad_workspace_free(cub);
  return st;
}

int dpm_mixture_entropy_mc(const dpm_mixture *mix, size_t M, uint64_t seed, double *H, double *se)
{
  if (!mix || !H) DPM_ERROR(GSL_EINVAL, "entropy MC: NULL mixture or output");
  if (M < 2) DPM_ERROR(GSL_EINVAL, "entropy MC: need M >= 2 samples (got %zu)", M);
  const size_t d = mix->d, K = mix->K, nb = (M + ENTROPY_MC_BLOCK - 1) / ENTROPY_MC_BLOCK;
  /* Every scratch buffer once per call, one slice per thread (indexed by thread number), before the parallel loop:
   * nothing allocates inside it. */
  const int nt = dpm_omp_max_threads();
  const size_t T = (size_t)nt;
  double *logc = dpm_malloc(K * sizeof(double));
  dpm_welford *blk = dpm_calloc(nb, sizeof *blk);
  double *x = dpm_malloc(T * ENTROPY_MC_BLOCK * d * sizeof(double)), *lk = dpm_malloc(T * K * sizeof(double)),
         *z = dpm_malloc(T * d * sizeof(double));
  gsl_rng **rng = dpm_calloc(T, sizeof *rng);
  dpm_mixture_sample_workspace **smp = dpm_calloc(T, sizeof *smp);
  int st = DPM_SUCCESS;
  if (!logc || !blk || !x || !lk || !z || !rng || !smp) {
    st = GSL_ENOMEM;
    goto done;
  }
  for (size_t t = 0; t < T; t++) {
    if (!(rng[t] = dpm_rng_stream_alloc(seed, 0))) {
      st = DPM_RAISE(GSL_ENOMEM, "entropy MC: out of memory (random stream)");
      goto done;
    }
    if (!(smp[t] = dpm_mixture_sample_alloc(mix))) {
      st = GSL_ENOMEM;
      goto done;
    }
  }
  if ((st = entropy_prepare(mix, logc, "entropy MC")) != DPM_SUCCESS) goto done;
  int fail = DPM_SUCCESS;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
  for (size_t b = 0; b < nb; b++) {
    const size_t tid = (size_t)dpm_omp_thread_num();
    const size_t n = b + 1 < nb ? (size_t)ENTROPY_MC_BLOCK : M - b * ENTROPY_MC_BLOCK;
    double *xt = x + tid * ENTROPY_MC_BLOCK * d, *lkt = lk + tid * K, *zt = z + tid * d;
    dpm_rng_stream_set(rng[tid], seed, (uint64_t)b);
    const int sst = dpm_mixture_sample(mix, smp[tid], rng[tid], n, xt, NULL);
    if (sst != DPM_SUCCESS) {
#pragma omp atomic write
      fail = sst;
      continue;
    }
    dpm_welford a = {0.0, 0.0, 0.0};
    for (size_t i = 0; i < n; i++)
      dpm_welford_add(&a, -mix_logq0(mix, logc, xt + i * d, lkt, zt));
    blk[b] = a;
  }
  if (fail != DPM_SUCCESS) { /* the sampler raised the reason (in its thread); say where in this one */
    st = DPM_RAISE(fail, "entropy MC: sampling q_0 failed");
    goto done;
  }
  dpm_welford all = {0.0, 0.0, 0.0};
  for (size_t b = 0; b < nb; b++)
    dpm_welford_merge(&all, &blk[b]);
  *H = all.mean;
  if (se) *se = dpm_welford_se(&all);
done:
  if (rng)
    for (size_t t = 0; t < T; t++)
      gsl_rng_free(rng[t]);
  if (smp)
    for (size_t t = 0; t < T; t++)
      dpm_mixture_sample_free(smp[t]);
  free(rng);
  free(smp);
  free(x);
  free(lk);
  free(z);
  free(logc);
  free(blk);
  return st;
}

int dpm_mixture_entropy(const dpm_mixture *mix, double *H, double *err)
{
  if (!mix) DPM_ERROR(GSL_EINVAL, "entropy: mixture is NULL");
  if (mix->d <= 2) return dpm_mixture_entropy_quad(mix, 1e-10, H, err);
  return dpm_mixture_entropy_mc(mix, 200000, 0, H, err);
}
