/* sampler_analytic.c — DDIM-family ancestral samplers on any trajectory (Bao et al. ICLR 2022, docs/MATH.md §3):
 * x_s = mu~(x_t, x0-hat(x_t)) + sigma z with lambda^2 = eta^2 beta~_{s|t}, which gives Analytic-DDPM
 * (eta = 1, sigma*^2), Analytic-DDIM (eta = 0, sigma*^2), DDPM (beta, beta~) and DDIM (sigma = 0), and the
 * state-dependent diagonal-covariance sampler of SN-/NPR-DPM (Bao et al. ICML 2022). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "dpm_analytic.h"
#include "dpm_common.h"

struct dpm_sampler_analytic {
  size_t d, nmax;
  double *x0;  /* nmax x d: x0-hat */
  double *var; /* nmax x d: per-coordinate variance (diagonal sampler) */
};

void dpm_sampler_analytic_free(dpm_sampler_analytic *w)
{
  if (!w) return;
  free(w->x0);
  free(w->var);
  free(w);
}

dpm_sampler_analytic *dpm_sampler_analytic_alloc(size_t d, size_t nmax)
{
  if (d == 0 || nmax == 0) DPM_ERROR_NULL(GSL_EINVAL, "analytic sampler: need d >= 1 and nmax >= 1 (got %zu, %zu)", d,
               nmax);
  dpm_sampler_analytic *w = dpm_calloc(1, sizeof *w);
  if (!w) return NULL;
  w->d = d;
  w->nmax = nmax;
  w->x0 = dpm_malloc(nmax * d * sizeof(double));
  w->var = dpm_malloc(nmax * d * sizeof(double));
  if (!w->x0 || !w->var) {
    dpm_sampler_analytic_free(w);
    return NULL;
  }
  return w;
}

/* Shared checks and the start x_{tau_K} ~ N(0, I) or exact q_{tau_K}. */
static int start(dpm_sampler_analytic *w, const dpm_schedule *sch, size_t K, const size_t *tau,
                 const dpm_sampler_analytic_opts *opts, int need_sigma2, size_t n, double *x, gsl_rng *r)
{
  if (!w || !opts || !x || !r) DPM_ERROR(GSL_EINVAL, "analytic sampler: NULL workspace, options, x or generator");
  int st = dpm_analytic_check_traj(sch, K, tau);
  if (st != DPM_SUCCESS) return st;
  if (n > w->nmax) DPM_ERROR(GSL_EBADLEN, "analytic sampler: %zu points exceed the workspace's %zu", n, w->nmax);
  if (!(isfinite(opts->eta) && opts->eta >= 0.0 && opts->eta <= 1.0))
    DPM_ERROR(GSL_EDOM, "analytic sampler: eta = %g outside [0, 1]", opts->eta);
  if (need_sigma2) {
    if (!opts->sigma2) DPM_ERROR(GSL_EINVAL, "analytic sampler: sigma2 is NULL");
    for (size_t k = 0; k < K; k++)
      if (!(isfinite(opts->sigma2[k]) && opts->sigma2[k] >= 0.0))
        DPM_ERROR(GSL_EDOM, "analytic sampler: sigma2[%zu] = %g is not a variance", k, opts->sigma2[k]);
  }
  const size_t T = tau[K - 1], nd = n * w->d;
  if (opts->start_mix) {
    if (opts->start_mix->d != w->d)
      DPM_ERROR(GSL_EBADLEN, "analytic sampler: start mixture dimension %zu != %zu", opts->start_mix->d, w->d);
    dpm_mixture_sample_t(opts->start_mix, r, sqrt(sch->alpha_bar[T]), sqrt(sch->beta_bar[T]), n, x, NULL, NULL);
  } else {
    for (size_t i = 0; i < nd; i++)
      x[i] = gsl_ran_gaussian_ziggurat(r, 1.0);
  }
  return DPM_SUCCESS;
}

int dpm_sampler_analytic_run(dpm_sampler_analytic *w, dpm_denoiser *dn, const dpm_schedule *sch, size_t K,
                             const size_t *tau, const dpm_sampler_analytic_opts *opts, size_t n, double *x,
                             gsl_rng *r)
{
  if (!dn) DPM_ERROR(GSL_EINVAL, "analytic sampler: denoiser is NULL");
  if (w && dn->d != w->d)
    DPM_ERROR(GSL_EBADLEN, "analytic sampler: denoiser dimension %zu != workspace dimension %zu", dn->d, w->d);
  int st = start(w, sch, K, tau, opts, 1, n, x, r);
  if (st != DPM_SUCCESS) return st;
  const size_t nd = n * w->d;
  dpm_analytic_step a;
  for (size_t k = K; k-- > 0;) {
    const size_t t = tau[k], s = k > 0 ? tau[k - 1] : 0;
    dpm_analytic_step_ts(sch, s, t, opts->eta, &a);
    st = dpm_denoiser_eval(dn, sqrt(a.abar_t), sqrt(a.bbar_t), n, x, NULL, w->x0, NULL);
    if (st != DPM_SUCCESS)
      DPM_ERROR(st, "analytic sampler: denoiser %s failed at step %zu -> %zu", dn->type->name, t, s);
    const double sd = (k > 0 || opts->final_noise) ? sqrt(opts->sigma2[k]) : 0.0;
    for (size_t i = 0; i < nd; i++) {
      double v = a.c0 * w->x0[i] + a.cx * x[i];
      if (sd > 0.0) v += sd * gsl_ran_gaussian_ziggurat(r, 1.0);
      x[i] = v;
    }
  }
  return DPM_SUCCESS;
}

int dpm_sampler_analytic_diag_run(dpm_sampler_analytic *w, dpm_oracle *o, const dpm_schedule *sch, size_t K,
                                  const size_t *tau, const dpm_sampler_analytic_opts *opts, size_t n, double *x,
                                  gsl_rng *r)
{
  if (!o) DPM_ERROR(GSL_EINVAL, "diagonal sampler: oracle is NULL");
  if (w && dpm_oracle_mixture(o)->d != w->d)
    DPM_ERROR(GSL_EBADLEN, "diagonal sampler: oracle dimension %zu != workspace dimension %zu",
              dpm_oracle_mixture(o)->d, w->d);
  int st = start(w, sch, K, tau, opts, 0, n, x, r);
  if (st != DPM_SUCCESS) return st;
  const size_t nd = n * w->d;
  dpm_analytic_step a;
  for (size_t k = K; k-- > 0;) {
    const size_t t = tau[k], s = k > 0 ? tau[k - 1] : 0;
    dpm_analytic_step_ts(sch, s, t, opts->eta, &a);
    dpm_oracle_result res;
    memset(&res, 0, sizeof res);
    res.x0 = w->x0;
    res.diagcov = w->var;
    if ((st = dpm_oracle_eval(o, sqrt(a.abar_t), sqrt(a.bbar_t), n, x, &res)) != DPM_SUCCESS)
      DPM_ERROR(st, "diagonal sampler: oracle failed at step %zu -> %zu", t, s);
    const int noise = k > 0 || opts->final_noise;
    const double c2 = a.c0 * a.c0;
    for (size_t i = 0; i < nd; i++) {
      double v = a.c0 * w->x0[i] + a.cx * x[i];
      if (noise) {
        /* sigma*(x)^2 = lambda^2 + c0^2 diag Cov[x_0|x_t]; clamp rounding below 0 */
        const double var = a.lambda2 + c2 * (w->var[i] > 0.0 ? w->var[i] : 0.0);
        if (var > 0.0) v += sqrt(var) * gsl_ran_gaussian_ziggurat(r, 1.0);
      }
      x[i] = v;
    }
  }
  return DPM_SUCCESS;
}
