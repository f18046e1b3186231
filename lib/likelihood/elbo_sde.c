/* elbo_sde.c — the continuous-time ELBO of the reverse SDE (Song, Durkan, Murray & Ermon 2021, Thm 1, in its
 * score-matching form) by Monte Carlo with a standard error, one random stream per point
 * (docs/MATH.md §4.3). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "dpm_common.h"
#include "dpm_internal.h"
#include "dpm_rng.h"
#include "likelihood_internal.h"

typedef struct {
  const dpm_process *p;
  dpm_lik_prior prior;
  size_t M;
  uint64_t seed;
  double t0, T, rho0, rhoT, mT, sT, mTT, sTT;
  double vbar; /* the data's variance per coordinate, tr Cov[x_0]/d */
  const double *x;
  double *bound, *se;
  unsigned long *nfe;
} elbo_ctx;

/* Point i: M draws of (rho, eps, eps'), each log pi(x_T) - (rhoT - rho0) [-2 s div eps-hat + |eps-hat|^2 - w d a]
 * at x_t = m_{t|t0} x + s_{t|t0} eps, x_T = m_{T|t0} x + s_{T|t0} eps'. */
static int elbo_job(lik_thread *th, size_t i, void *arg)
{
  elbo_ctx *c = arg;
  const size_t d = th->d;
  const double *x = c->x + i * d;
  double *xt = th->k, *eps = xt + (d + 1), *xT = eps + (d + 1), *z = xT + (d + 1), *zT = z + (d + 1);
  th->p = c->p;
  th->t_lo = c->t0;
  th->t_hi = c->T;
  th->div = DPM_LIK_DIV_EXACT;
  th->M = 0;
  th->nfe = 0;
  dpm_rng_stream_set(th->r, c->seed, (uint64_t)i);
  const double L = c->rhoT - c->rho0;
  const size_t H = c->M / 2; /* strata of rho, two independent draws in each */
  double sum = 0.0, var = 0.0;
  int st = DPM_SUCCESS;
  for (size_t k = 0; k < H && !st; k++) {
    double v[2];
    for (int q = 0; q < 2 && !st; q++) {
      const double rho = c->rho0 + L * ((double)k + gsl_rng_uniform(th->r)) / (double)H;
      double t, m, s, a, w, mt, stt, sdiv, lp;
      if ((st = lik_at_rho(th, rho, &t, &m, &s, &a, &w))) break;
      if ((st = dpm_process_transition(c->p, c->t0, t, &mt, &stt))) break;
      double z2 = 0.0, zT2 = 0.0;
      for (size_t j = 0; j < d; j++) {
        z[j] = gsl_ran_gaussian_ziggurat(th->r, 1.0);
        z2 += z[j] * z[j];
      }
      for (size_t j = 0; j < d; j++) {
        zT[j] = gsl_ran_gaussian_ziggurat(th->r, 1.0);
        zT2 += zT[j] * zT[j];
      }
      /* control variates of mean 0: the chi^2 parts |eps-hat|^2 and log pi(x_T) would have for Gaussian data of
       * the same per-coordinate variance (exact at large sigma, where they dominate the variance) */
      const double C = m * m * c->vbar + s * s, ct = (s * stt / C) * (s * stt / C), rT = c->sTT / c->sT;
      v[q] = L * ct * (z2 - (double)d) + 0.5 * rT * rT * (zT2 - (double)d);
      for (int sg = 1; sg >= -1 && !st; sg -= 2) { /* the antithetic pair (eps, eps') and -(eps, eps') */
        for (size_t j = 0; j < d; j++) {
          xt[j] = mt * x[j] + sg * stt * z[j];
          xT[j] = c->mTT * x[j] + sg * c->sTT * zT[j];
        }
        if ((st = lik_field(th, m, s, xt, eps, &sdiv))) break;
        th->nfe++;
        if (c->prior == DPM_LIK_PRIOR_EXACT) {
          dpm_oracle_result r1 = {0};
          r1.logq = &lp;
          if ((st = dpm_oracle_eval(th->o, c->mT, c->sT, 1, xT, &r1))) break;
        } else {
          lp = lik_log_gauss(d, c->sT, xT);
        }
        v[q] += 0.5 * (lp - L * (-2.0 * sdiv + dpm_norm2(eps, d) - w * (double)d * a));
      }
    }
    if (st) break;
    sum += 0.5 * (v[0] + v[1]);
    var += 0.25 * (v[0] - v[1]) * (v[0] - v[1]); /* (sigma_k^2 / 2) estimated by (v0 - v1)^2 / 4 */
  }
  if (st) return st;
  c->bound[i] = sum / (double)H;
  if (c->se) c->se[i] = sqrt(var) / (double)H;
  c->nfe[i] = th->nfe;
  return DPM_SUCCESS;
}

int dpm_likelihood_elbo_sde(dpm_likelihood *w, const dpm_process *p, double t0, dpm_lik_prior prior, size_t M,
                            uint64_t seed, size_t n, const double *x, double *bound, double *se,
                            unsigned long *nfe)
{
  if (n && (!x || !bound)) DPM_ERROR(GSL_EINVAL, "elbo-sde: NULL points or output");
  if (M < 2) DPM_ERROR(GSL_EINVAL, "elbo-sde: need at least 2 Monte Carlo draws (got %zu)", M);
  if (prior != DPM_LIK_PRIOR_EXACT && prior != DPM_LIK_PRIOR_GAUSSIAN)
    DPM_ERROR(GSL_EINVAL, "elbo-sde: unknown prior %d", (int)prior);
  elbo_ctx c = {.p = p, .prior = prior, .M = M, .seed = seed, .t0 = t0, .x = x, .bound = bound, .se = se};
  int st = lik_check(w, p, t0, NAN, &c.T, &c.rho0, &c.rhoT);
  if (st) return st;
  for (size_t i = 0; i < n * w->d; i++)
    if (!isfinite(x[i]))
      DPM_ERROR(GSL_EBADFUNC, "elbo-sde: point %zu, coordinate %zu is not finite (%g)", i / w->d + 1, i % w->d + 1,
                x[i]);
  if ((st = dpm_process_ms(p, c.T, &c.mT, &c.sT)) || (st = dpm_process_transition(p, t0, c.T, &c.mTT, &c.sTT)))
    return st;
  double *mean = malloc(w->d * sizeof(double)), *cov = malloc(w->d * w->d * sizeof(double));
  if (!mean || !cov) {
    free(mean);
    free(cov);
    DPM_ERROR(GSL_ENOMEM, "elbo-sde: no memory");
  }
  dpm_mixture_moments(w->mix, mean, cov, NULL);
  c.vbar = 0.0;
  for (size_t j = 0; j < w->d; j++)
    c.vbar += cov[j * w->d + j] / (double)w->d;
  free(mean);
  free(cov);
  unsigned long *cnt = n ? dpm_calloc(n, sizeof *cnt) : NULL;
  if (n && !cnt) return GSL_ENOMEM;
  c.nfe = cnt;
  st = lik_run_points(w, n, elbo_job, &c, "elbo-sde");
  if (!st && nfe) {
    *nfe = 0;
    for (size_t i = 0; i < n; i++)
      *nfe += cnt[i];
  }
  free(cnt);
  return st;
}
