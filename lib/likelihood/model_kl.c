/* model_kl.c — the model's own likelihood: KL(q_t0 || p^ODE) of the density an imperfect denoiser's
 * probability-flow ODE defines, by Monte Carlo over exact draws of q_t0 with a standard error (docs/MATH.md
 * §4.3; the flow of Song et al. 2021, App. D.2, with the model's drift). */
#include <math.h>
#include <stdlib.h>

#include "dpm_common.h"
#include "dpm_internal.h"
#include "dpm_rng.h"
#include "likelihood_internal.h"

int dpm_likelihood_model_kl(dpm_likelihood *w, const dpm_process *p, const dpm_likelihood_params *par, size_t M,
                            uint64_t seed, double *kl, double *se, double *logp)
{
  if (!w || !p || !par || !kl) DPM_ERROR(GSL_EINVAL, "model KL: NULL argument");
  if (M < 2) DPM_ERROR(GSL_EINVAL, "model KL: need at least 2 Monte Carlo draws (got %zu)", M);
  double T, r0, r1, m0, s0;
  int st = lik_check(w, p, par->t0, par->T, &T, &r0, &r1);
  if (!st) st = dpm_process_ms(p, par->t0, &m0, &s0);
  if (st) return st;
  const size_t d = w->d;
  double *x = malloc(M * d * sizeof(double));
  dpm_likelihood_point *res = malloc(M * sizeof *res);
  gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
  dpm_mixture_sample_workspace *sw = dpm_mixture_sample_alloc(w->mix);
  if (!x || !res || !r || !sw) st = DPM_RAISE(GSL_ENOMEM, "model KL: no memory for %zu draws", M);
  if (!st) st = dpm_mixture_sample_t(w->mix, sw, r, m0, s0, M, x, NULL, NULL);
  if (!st) st = dpm_likelihood_eval(w, p, par, M, x, res, NULL);
  if (!st) {
    dpm_welford acc = {0};
    for (size_t i = 0; i < M; i++) {
      dpm_welford_add(&acc, res[i].logq_true - res[i].logp);
      if (logp) logp[i] = res[i].logp;
    }
    *kl = acc.mean;
    if (se) *se = dpm_welford_se(&acc);
  } else {
    dpm_error_context("model KL");
  }
  dpm_mixture_sample_free(sw);
  gsl_rng_free(r);
  free(res);
  free(x);
  return st;
}
