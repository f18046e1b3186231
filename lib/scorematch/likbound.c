/* likbound.c — the likelihood-weighted DSM bound on the cross-entropy of the reverse SDE (Song, Durkan, Murray &
 * Ermon 2021, Thm 1 with eq. 7's weighting lambda = g^2; docs/MATH.md §4.4), written in rho = log sigma where the
 * weight is flat: -E log p^SDE_t0 <= -E_{q_T} log pi - d int a dt + int E[|eps_theta|^2 - 2 eps_theta . eps] drho,
 * by stratified Monte Carlo with a standard error, beside its exact model-free part H(q_t0) + KL(q_T || pi). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "dpm_internal.h"
#include "dpm_oracle.h"
#include "dpm_rng.h"
#include "dpm_scorematch.h"
#include "sm_internal.h"

enum { STRATA_PER_BLOCK = 256 };

dpm_mixture *dpm_sm_mixture_at(const dpm_mixture *mix, double m, double s)
{
  const size_t d = mix->d;
  dpm_mixture *q = dpm_mixture_clone(mix);
  double *mu = dpm_malloc(d * (d + 2) * sizeof *mu);
  if (!q || !mu) {
    dpm_mixture_free(q);
    free(mu);
    return NULL;
  }
  double *var = mu + d, *cov = var + d;
  int st = DPM_SUCCESS;
  for (size_t k = 0; k < mix->K && !st; k++) {
    for (size_t j = 0; j < d; j++) {
      mu[j] = m * mix->mu[k * d + j];
      var[j] = m * m * mix->lambda[k * d + j] + s * s;
    }
    st = dpm_mixture_set_mean(q, k, mu);
    if (st) break;
    if (mix->kind[k] == DPM_COV_FULL) {
      const double *U = mix->U + k * d * d;
      for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < d; b++) {
          double c = 0.0;
          for (size_t j = 0; j < d; j++)
            c += U[a * d + j] * var[j] * U[b * d + j];
          cov[a * d + b] = c;
        }
      for (size_t a = 0; a < d; a++) /* exactly symmetric */
        for (size_t b = 0; b < a; b++)
          cov[a * d + b] = cov[b * d + a];
      st = dpm_mixture_set_full(q, k, cov);
    } else if (mix->kind[k] == DPM_COV_DIAG)
      st = dpm_mixture_set_diag(q, k, var);
    else
      st = dpm_mixture_set_iso(q, k, var[0]);
  }
  free(mu);
  if (st) {
    dpm_mixture_free(q);
    return NULL;
  }
  return q;
}

int dpm_sm_likelihood_bound(const dpm_mixture *mix, dpm_sm_model *md, const dpm_process *p, double t0, size_t M,
                            uint64_t seed, dpm_sm_likbound *out)
{
  if (!mix || !md || !p || !p->type || !out) DPM_ERROR(GSL_EINVAL, "likelihood bound: NULL argument");
  if (md->d != mix->d)
    DPM_ERROR(GSL_EBADLEN, "likelihood bound: model dimension %zu != data dimension %zu", md->d, mix->d);
  if (p->kind == DPM_PROCESS_DDPM || p->type->discrete)
    DPM_ERROR(GSL_EINVAL, "likelihood bound: process %s is discrete; the bound needs vp, subvp, ve or edm",
              dpm_process_name(p));
  const double T = p->t_max;
  if (!(isfinite(t0) && t0 > 0.0 && t0 < T))
    DPM_ERROR(GSL_EDOM, "likelihood bound: t0 = %g must be in (0, T = %g)", t0, T);
  if (M < 4) DPM_ERROR(GSL_EINVAL, "likelihood bound: need M >= 4 draws (got %zu)", M);
  const size_t d = mix->d, H = M / 2, nb = (H + STRATA_PER_BLOCK - 1) / STRATA_PER_BLOCK;
  double m0, s0, mT, sT;
  int st = dpm_process_ms(p, t0, &m0, &s0);
  if (!st) st = dpm_process_ms(p, T, &mT, &sT);
  if (st) return dpm_error_context("likelihood bound"), st;
  const double rho0 = log(s0 / m0), rhoT = log(sT / mT), L = rhoT - rho0;
  if (!(isfinite(L) && L > 0.0)) DPM_ERROR(GSL_EDOM, "likelihood bound: log sigma does not increase on [t0, T]");

  /* the exact parts: -E_{q_T} log N(0, sT^2 I) = d/2 log(2 pi sT^2) + E|x_T|^2/(2 sT^2), E|x_T|^2 = mT^2 E|x_0|^2
   * + d sT^2; -d int a dt = -d log(m_T/m_t0); and H(q_t0), H(q_T) by the data module */
  double e2 = 0.0;
  double *mean = dpm_malloc(d * (d + 1) * sizeof *mean);
  if (!mean) return GSL_ENOMEM;
  dpm_mixture_moments(mix, mean, mean + d, &e2);
  free(mean);
  const double ex2 = mT * mT * e2 + (double)d * sT * sT;
  out->prior_term = 0.5 * (double)d * (DPM_LOG_2PI + 2.0 * log(sT)) + ex2 / (2.0 * sT * sT);
  out->drift_term = -(double)d * (dpm_process_log_m(p, T) - dpm_process_log_m(p, t0));
  dpm_mixture *q0 = dpm_sm_mixture_at(mix, m0, s0), *qT = dpm_sm_mixture_at(mix, mT, sT);
  double H0 = NAN, HT = NAN, e0 = 0.0, eT = 0.0;
  st = (q0 && qT) ? DPM_SUCCESS : GSL_ENOMEM;
  if (!st) st = dpm_mixture_entropy(q0, &H0, &e0);
  if (!st) st = dpm_mixture_entropy(qT, &HT, &eT);
  dpm_mixture_free(q0);
  dpm_mixture_free(qT);
  if (st) return dpm_error_context("likelihood bound: the entropies of q_t0 and q_T"), st;
  out->entropy_t0 = H0;
  out->entropy_err = e0 + eT;
  out->kl_prior = out->prior_term - HT;

  /* the Monte Carlo part: H strata of rho, two independent draws each; block b of 256 strata uses the stream
   * (seed, b); per draw v = |eps_theta|^2 - 2 eps_theta . eps (the DSM integrand minus its d) and f = |eps_theta -
   * E[eps|x]|^2 (the Fisher integrand), both times L */
  double *acc = dpm_calloc(4 * nb, sizeof *acc); /* per block: sum v, sum (dv)^2/4, sum f, sum (df)^2/4 */
  if (!acc) return GSL_ENOMEM;
  dpm_oracle *o = dpm_oracle_alloc(mix);
  dpm_mixture_sample_workspace *sw = dpm_mixture_sample_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
  double *buf = dpm_malloc(5 * d * sizeof *buf);
  st = (o && sw && r && buf) ? DPM_SUCCESS : GSL_ENOMEM;
  double *x = buf, *x0 = x + d, *eps = x0 + d, *sc = eps + d, *ep = sc + d;
  for (size_t b = 0; b < nb && !st; b++) {
    dpm_rng_stream_set(r, seed, b);
    const size_t k1 = (b + 1) * STRATA_PER_BLOCK < H ? (b + 1) * STRATA_PER_BLOCK : H;
    for (size_t k = b * STRATA_PER_BLOCK; k < k1 && !st; k++) {
      double v[2], f[2];
      for (int q = 0; q < 2 && !st; q++) {
        const double rho = rho0 + L * ((double)k + gsl_rng_uniform(r)) / (double)H;
        double t = dpm_process_t_of_lambda(p, -rho), m, s;
        if (!isfinite(t)) {
          st = DPM_RAISE(GSL_EDOM, "likelihood bound: no t at log sigma = %g", rho);
          break;
        }
        t = fmin(fmax(t, t0), T);
        if ((st = dpm_process_ms(p, t, &m, &s))) break;
        if ((st = dpm_mixture_sample_t(mix, sw, r, m, s, 1, x, x0, eps))) break;
        if ((st = dpm_sm_model_score(md, m, s, 1, x, sc))) break;
        dpm_oracle_result res = {.eps = ep};
        if ((st = dpm_oracle_eval(o, m, s, 1, x, &res))) break;
        double vv = 0.0, ff = 0.0;
        for (size_t j = 0; j < d; j++) {
          const double et = -s * sc[j];
          vv += et * et - 2.0 * et * eps[j];
          ff += (et - ep[j]) * (et - ep[j]);
        }
        v[q] = L * vv;
        f[q] = L * ff;
      }
      if (st) break;
      acc[4 * b] += 0.5 * (v[0] + v[1]);
      acc[4 * b + 1] += 0.25 * (v[0] - v[1]) * (v[0] - v[1]);
      acc[4 * b + 2] += 0.5 * (f[0] + f[1]);
      acc[4 * b + 3] += 0.25 * (f[0] - f[1]) * (f[0] - f[1]);
    }
  }
  if (!st) {
    double sv = 0.0, vv = 0.0, sf = 0.0, vf = 0.0;
    for (size_t b = 0; b < nb; b++) {
      sv += acc[4 * b];
      vv += acc[4 * b + 1];
      sf += acc[4 * b + 2];
      vf += acc[4 * b + 3];
    }
    out->dsm_term = sv / (double)H;
    out->dsm_se = sqrt(vv) / (double)H;
    out->fisher_term = sf / (double)H;
    out->fisher_se = sqrt(vf) / (double)H;
    out->bound = out->prior_term + out->drift_term + out->dsm_term;
    out->bound_se = out->dsm_se;
    out->floor = out->entropy_t0 + out->kl_prior;
    out->M = 2 * H;
  } else
    dpm_error_context("likelihood bound");
  free(acc);
  free(buf);
  gsl_rng_free(r);
  dpm_mixture_sample_free(sw);
  dpm_oracle_free(o);
  return st;
}
