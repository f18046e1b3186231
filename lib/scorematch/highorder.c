/* highorder.c — second-order denoising score matching in its trace form (Lu, Zheng, Bao, Chen, Li & Zhu 2022;
 * docs/MATH.md §4.4): the unbiased target (|eps|^2 - d)/s^2 - |grad log q_t|^2 of the Laplacian Delta log q_t,
 * from the second-order Tweedie identity grad^2 log q_t = E[(eps eps^T - I)/s^2 | x] - grad log q_t grad log
 * q_t^T, and the exact least-squares fit of a scalar linear model to it, judged against the oracle's Laplacian. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dpm_internal.h"
#include "dpm_oracle.h"
#include "dpm_rng.h"
#include "dpm_scorematch.h"
#include "sm_internal.h"

enum { HO_BLOCK = 1024 };

int dpm_sm_second_order_fit(const dpm_sm_linear *L, const dpm_mixture *mix, double m, double s,
                            dpm_sm_target target, size_t M, uint64_t seed, double ridge, double *w, double *err,
                            double *err_se)
{
  if (!L || !mix || !w) DPM_ERROR(GSL_EINVAL, "second-order fit: NULL argument");
  if (L->d != mix->d)
    DPM_ERROR(GSL_EBADLEN, "second-order fit: model dimension %zu != data dimension %zu", L->d, mix->d);
  if (M < 2) DPM_ERROR(GSL_EINVAL, "second-order fit: need at least 2 draws (got %zu)", M);
  if (!(isfinite(ridge) && ridge >= 0.0)) DPM_ERROR(GSL_EDOM, "second-order fit: ridge %g must be >= 0", ridge);
  if (!dpm_ms_ok(m, s))
    DPM_ERROR(GSL_EDOM, "second-order fit: need finite m > 0 and s > 0 (got m = %g, s = %g)", m, s);
  const size_t d = L->d, P = L->P, B = M < HO_BLOCK ? M : HO_BLOCK;
  double *G = dpm_calloc(P * P + P + B * (P + 2 * d + 2), sizeof *G);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  dpm_mixture_sample_workspace *sw = dpm_mixture_sample_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
  int st = (G && o && sw && r) ? DPM_SUCCESS : GSL_ENOMEM;
  double *bv = G + P * P, *phi = bv + P, *x = phi + B * P, *eps = x + B * d, *lap = eps + B * d, *tg = lap + B;
  double *sc = dpm_malloc(B * d * sizeof *sc);
  if (!sc) st = GSL_ENOMEM;
  dpm_welford acc = {0};
  for (int pass = 0; pass < 2 && !st;
       pass++) { /* 0: accumulate the normal equations; 1: the error on fresh draws */
    const uint64_t sd = seed + (uint64_t)pass;
    for (size_t b = 0, done = 0; !st && done < M; b++) {
      const size_t n = M - done < B ? M - done : B;
      dpm_rng_stream_set(r, sd, b);
      st = dpm_mixture_sample_t(mix, sw, r, m, s, n, x, NULL, eps);
      dpm_oracle_result res = {.score = sc, .lap = lap};
      if (!st) st = dpm_oracle_eval(o, m, s, n, x, &res);
      if (!st) st = dpm_sm_linear_features(L, m, s, n, x, phi, NULL);
      if (st) break;
      for (size_t p = 0; p < n; p++) {
        if (pass == 0) {
          tg[p] = target == DPM_SM_TARGET_ORACLE
                      ? lap[p]
                      : (dpm_norm2(eps + p * d, d) - (double)d) / (s * s) - dpm_norm2(sc + p * d, d);
          for (size_t i = 0; i < P; i++) {
            bv[i] += phi[p * P + i] * tg[p];
            for (size_t j = 0; j <= i; j++)
              G[i * P + j] += phi[p * P + i] * phi[p * P + j];
          }
        } else {
          double h = 0.0;
          for (size_t i = 0; i < P; i++)
            h += phi[p * P + i] * w[i];
          dpm_welford_add(&acc, (h - lap[p]) * (h - lap[p]));
        }
      }
      done += n;
    }
    if (pass == 0 && !st) { /* solve (G/M + ridge I) w = b/M by Cholesky */
      for (size_t i = 0; i < P; i++) {
        for (size_t j = 0; j <= i; j++)
          G[i * P + j] /= (double)M;
        G[i * P + i] += ridge;
        bv[i] /= (double)M;
      }
      if (!dpm_cholesky_lower(G, P)) {
        st = DPM_RAISE(GSL_EDOM,
                       "second-order fit: the normal equations (%zu unknowns) are not positive definite; "
                       "add a ridge or use fewer features",
                       P);
        break;
      }
      for (size_t i = 0; i < P; i++) {
        double a = bv[i];
        for (size_t k = 0; k < i; k++)
          a -= G[i * P + k] * w[k];
        w[i] = a / G[i * P + i];
      }
      for (size_t i = P; i-- > 0;) {
        double a = w[i];
        for (size_t k = i + 1; k < P; k++)
          a -= G[k * P + i] * w[k];
        w[i] = a / G[i * P + i];
      }
    }
  }
  if (!st) {
    if (err) *err = acc.mean;
    if (err_se) *err_se = dpm_welford_se(&acc);
  } else
    dpm_error_context("second-order fit at m = %g, s = %g", m, s);
  free(sc);
  gsl_rng_free(r);
  dpm_mixture_sample_free(sw);
  dpm_oracle_free(o);
  free(G);
  return st;
}
