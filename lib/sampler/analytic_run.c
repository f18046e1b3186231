/* analytic_run.c — the Analytic-DPM sampling API (Bao et al. ICLR 2022, docs/MATH.md §3) as a thin user of the
 * sampler table: a run along a trajectory with given per-step variances is the `ddim` entry with those variances
 * (eta sets the mean: Analytic-DDPM/DDPM eta = 1, Analytic-DDIM/DDIM eta = 0), and the diagonal-covariance run is
 * the `diag-cov` entry (SN-/NPR-DPM, Bao et al. ICML 2022) on the oracle's exact posterior variance. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "dpm_analytic.h"
#include "dpm_common.h"
#include "dpm_sampler.h"

struct dpm_sampler_analytic {
  size_t d, nmax;
};

void dpm_sampler_analytic_free(dpm_sampler_analytic *w) { free(w); }

dpm_sampler_analytic *dpm_sampler_analytic_alloc(size_t d, size_t nmax)
{
  if (d == 0 || nmax == 0)
    DPM_ERROR_NULL(GSL_EINVAL, "analytic sampler: need d >= 1 and nmax >= 1 (got %zu, %zu)", d, nmax);
  dpm_sampler_analytic *w = dpm_calloc(1, sizeof *w);
  if (!w) return NULL;
  w->d = d;
  w->nmax = nmax;
  return w;
}

/* Checks, the start x_{tau_K} ~ N(0, I) or exact q_{tau_K} drawn with r, and the run through the table. */
static int run(dpm_sampler_analytic *w, const dpm_sampler_type *type, dpm_denoiser *dn, const dpm_schedule *sch,
               size_t K, const size_t *tau, const dpm_sampler_analytic_opts *opts, size_t n, double *x, gsl_rng *r)
{
  if (!w || !opts || !x || !r || !dn)
    DPM_ERROR(GSL_EINVAL, "analytic sampler: NULL workspace, options, x or generator");
  if (dn->d != w->d)
    DPM_ERROR(GSL_EBADLEN, "analytic sampler: denoiser dimension %zu != workspace dimension %zu", dn->d, w->d);
  int st = dpm_analytic_check_traj(sch, K, tau);
  if (st != DPM_SUCCESS) return st;
  if (n > w->nmax) DPM_ERROR(GSL_EBADLEN, "analytic sampler: %zu points exceed the workspace's %zu", n, w->nmax);
  if (!(isfinite(opts->eta) && opts->eta >= 0.0 && opts->eta <= 1.0))
    DPM_ERROR(GSL_EDOM, "analytic sampler: eta = %g outside [0, 1]", opts->eta);
  const int need_sigma2 = type == &dpm_sampler_ddim;
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
    dpm_mixture_sample_workspace *smp = dpm_mixture_sample_alloc(opts->start_mix);
    st = smp ? dpm_mixture_sample_t(opts->start_mix, smp, r, sqrt(sch->alpha_bar[T]), sqrt(sch->beta_bar[T]), n, x,
                                    NULL, NULL)
             : GSL_ENOMEM;
    dpm_mixture_sample_free(smp);
    if (st != DPM_SUCCESS) return st;
  } else {
    for (size_t i = 0; i < nd; i++)
      x[i] = gsl_ran_gaussian_ziggurat(r, 1.0);
  }
  dpm_process p;
  dpm_timeline *tl = dpm_timeline_alloc(K);
  dpm_sampler *smp = dpm_sampler_alloc(type, n > 0 ? n : 1, w->d, K);
  double *s2 = need_sigma2 ? dpm_malloc(K * sizeof(double)) : NULL;
  st = GSL_ENOMEM;
  if (tl && smp && (s2 || !need_sigma2)) {
    for (size_t k = 0; need_sigma2 && k < K; k++)
      s2[K - 1 - k] = opts->sigma2[k]; /* walk order */
    dpm_sampler_problem pb = {.dn = dn, .tl = tl, .sigma2 = s2, .mix = NULL};
    dpm_sampler_params_default(&pb.par);
    pb.par.eta = opts->eta;
    pb.par.final_noise = opts->final_noise;
    if (!(st = dpm_process_init_schedule(&p, sch)) && !(st = dpm_timeline_set_tau(tl, &p, K, tau)))
      st = n > 0 ? dpm_sampler_run(smp, &pb, gsl_rng_get(r), n, x, 1, NULL) : DPM_SUCCESS;
  }
  free(s2);
  dpm_sampler_free(smp);
  dpm_timeline_free(tl);
  return st;
}

int dpm_sampler_analytic_run(dpm_sampler_analytic *w, dpm_denoiser *dn, const dpm_schedule *sch, size_t K,
                             const size_t *tau, const dpm_sampler_analytic_opts *opts, size_t n, double *x,
                             gsl_rng *r)
{
  return run(w, &dpm_sampler_ddim, dn, sch, K, tau, opts, n, x, r);
}

int dpm_sampler_analytic_diag_run(dpm_sampler_analytic *w, dpm_oracle *o, const dpm_schedule *sch, size_t K,
                                  const size_t *tau, const dpm_sampler_analytic_opts *opts, size_t n, double *x,
                                  gsl_rng *r)
{
  if (!o) DPM_ERROR(GSL_EINVAL, "diagonal sampler: oracle is NULL");
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(dpm_oracle_mixture(o));
  if (!dn) return GSL_ENOMEM;
  int st = run(w, &dpm_sampler_diag_cov, dn, sch, K, tau, opts, n, x, r);
  dpm_denoiser_free(dn);
  return st;
}
