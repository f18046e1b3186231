/* driver.c — the timeline a sampler walks and the driver that owns the loop, the history ring, the warm-up of
 * multistep methods, one random stream per sample and the NFE count (the pattern of GSL's odeiv2 driver;
 * docs/samplers.md). */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "dpm_analytic.h"
#include "dpm_common.h"
#include "dpm_internal.h"
#include "dpm_rng.h"
#include "dpm_sampler.h"

/* ---- timeline ---------------------------------------------------------------------------------------------- */

dpm_timeline *dpm_timeline_alloc(size_t Kmax)
{
  if (Kmax < 1 || Kmax > 100000000)
    DPM_ERROR_NULL(GSL_EINVAL, "timeline: Kmax must be in [1, 1e8] (got %zu)", Kmax);
  dpm_timeline *tl = dpm_calloc(1, sizeof *tl);
  if (!tl) return NULL;
  tl->Kmax = Kmax;
  double **arrs[] = {&tl->t, &tl->m, &tl->s, &tl->log_m, &tl->lambda};
  for (size_t i = 0; i < 5; i++)
    if (!(*arrs[i] = dpm_malloc((Kmax + 1) * sizeof(double)))) goto fail;
  if (!(tl->n = dpm_malloc((Kmax + 1) * sizeof(size_t)))) goto fail;
  return tl;
fail:
  dpm_timeline_free(tl);
  return NULL;
}

void dpm_timeline_free(dpm_timeline *tl)
{
  if (!tl) return;
  free(tl->t);
  free(tl->m);
  free(tl->s);
  free(tl->log_m);
  free(tl->lambda);
  free(tl->n);
  free(tl);
}

int dpm_timeline_set_times(dpm_timeline *tl, const dpm_process *p, size_t K, const double *t)
{
  if (!tl || !p || !t) DPM_ERROR(GSL_EINVAL, "timeline: NULL timeline, process or times");
  if (K < 1 || K > tl->Kmax) DPM_ERROR(GSL_EINVAL, "timeline: K = %zu steps outside [1, %zu]", K, tl->Kmax);
  const int disc = p->type && p->type->discrete;
  for (size_t i = 0; i <= K; i++) {
    if (i > 0 && !(t[i] < t[i - 1]))
      DPM_ERROR(GSL_EDOM, "timeline: times must decrease strictly (t[%zu] = %g, t[%zu] = %g)", i - 1, t[i - 1], i,
                t[i]);
    if (disc && t[i] != floor(t[i]))
      DPM_ERROR(GSL_EDOM, "timeline: t[%zu] = %g is not a step index of the discrete process", i, t[i]);
    int st = dpm_process_ms(p, t[i], &tl->m[i], &tl->s[i]);
    if (st) {
      dpm_error_context("timeline point %zu", i);
      return st;
    }
    if (!(tl->s[i] > 0.0) && i < K)
      DPM_ERROR(GSL_EDOM, "timeline: s = 0 at t[%zu] = %g; only the last point may be noise-free", i, t[i]);
    tl->t[i] = t[i];
    tl->log_m[i] = dpm_process_log_m(p, t[i]);
    tl->lambda[i] = tl->s[i] > 0.0 ? dpm_process_lambda(p, t[i]) : (double)INFINITY;
    tl->n[i] = disc ? (size_t)t[i] : SIZE_MAX;
  }
  tl->K = K;
  tl->proc = p;
  return DPM_SUCCESS;
}

int dpm_timeline_set_grid(dpm_timeline *tl, const dpm_process *p, const char *grid, size_t K, double rho)
{
  if (!tl || !p || !grid) DPM_ERROR(GSL_EINVAL, "timeline: NULL timeline, process or grid name");
  if (K < 1 || K > tl->Kmax) DPM_ERROR(GSL_EINVAL, "timeline: K = %zu steps outside [1, %zu]", K, tl->Kmax);
  double *t = tl->t; /* built in place, then checked and completed by set_times */
  int st;
  if (strcmp(grid, "uniform") == 0)
    st = dpm_grid_uniform(p->t_max, p->t_min, K + 1, t);
  else if (strcmp(grid, "lambda") == 0)
    st = dpm_grid_lambda(p, K + 1, t);
  else if (strcmp(grid, "quadratic") == 0) { /* dense near t_min: t_i = t_min + (t_max - t_min)((K - i)/K)^2 */
    for (size_t i = 0; i <= K; i++) {
      const double u = (double)(K - i) / (double)K;
      t[i] = p->t_min + (p->t_max - p->t_min) * u * u;
    }
    t[0] = p->t_max;
    t[K] = p->t_min;
    st = DPM_SUCCESS;
  } else if (strcmp(grid, "edm") == 0 || strcmp(grid, "loglinear") == 0) {
    double smin = dpm_process_sigma(p, p->t_min), smax = dpm_process_sigma(p, p->t_max);
    st = grid[0] == 'e' ? dpm_grid_edm_sigma(smin, smax, rho > 0 ? rho : 7.0, K + 1, t)
                        : dpm_grid_loglinear_sigma(smin, smax, K + 1, t);
    for (size_t i = 1; !st && i < K; i++)
      t[i] = dpm_process_t_of_sigma(p, t[i]);
    t[0] = p->t_max;
    t[K] = p->t_min;
  } else
    DPM_ERROR(GSL_EINVAL, "timeline: unknown grid '%s' (known: uniform, edm, loglinear, lambda, quadratic)", grid);
  if (st) return st;
  return dpm_timeline_set_times(tl, p, K, t);
}

int dpm_timeline_set_ddim(dpm_timeline *tl, const dpm_process *p, const dpm_schedule *sch, size_t K,
                          double sigma_start)
{
  if (!tl || !p) DPM_ERROR(GSL_EINVAL, "ddim schedule: NULL timeline or process");
  const int disc = p->type && p->type->discrete;
  if (!sch && disc) sch = p->sch;
  if (!sch) DPM_ERROR(GSL_EINVAL, "ddim schedule: needs a discrete DDPM schedule");
  if (isnan(sigma_start)) DPM_ERROR(GSL_EDOM, "ddim schedule: sigma_start is NaN");
  if (K < 1 || K > tl->Kmax) DPM_ERROR(GSL_EINVAL, "ddim schedule: K = %zu steps outside [1, %zu]", K, tl->Kmax);
  const size_t N = sch->N;
  size_t n0 = N;
  for (size_t n = 1; n <= N; n++)
    if (sqrt(sch->beta_bar[n] / sch->alpha_bar[n]) >= sigma_start) {
      n0 = n;
      break;
    }
  if (n0 - 1 < K) DPM_ERROR(GSL_EINVAL, "ddim schedule: %zu steps do not fit between step %zu and step 1", K, n0);
  double *t = tl->t; /* built in place, then checked and completed by set_times */
  const double lo = dpm_process_sigma(p, p->t_min), hi = dpm_process_sigma(p, p->t_max);
  for (size_t i = 0; i <= K; i++) {
    const size_t n = 1 + (n0 - 1) * (K - i) / K;
    if (disc) {
      t[i] = (double)n;
      continue;
    }
    double sg = sqrt(sch->beta_bar[n] / sch->alpha_bar[n]);
    if (!(sg >= lo * (1 - 1e-12) && sg <= hi * (1 + 1e-12)))
      DPM_ERROR(GSL_EDOM, "ddim schedule: sigma_%zu = %g outside the %s process's range [%g, %g]", n, sg,
                dpm_process_name(p), lo, hi);
    sg = fmin(fmax(sg, lo), hi);
    t[i] = sg == lo   ? p->t_min
           : sg == hi ? p->t_max
                      : fmin(fmax(dpm_process_t_of_sigma(p, sg), p->t_min), p->t_max);
  }
  return dpm_timeline_set_times(tl, p, K, t);
}

int dpm_timeline_load_file(dpm_timeline *tl, const dpm_process *p, const char *path)
{
  if (!tl || !p || !path) DPM_ERROR(GSL_EINVAL, "timeline: NULL timeline, process or path");
  FILE *fp = fopen(path, "r");
  if (!fp) DPM_ERROR(GSL_EFAILED, "%s: cannot open the time grid: %s", path, strerror(errno));
  char line[256];
  size_t lineno = 0, npt = 0;
  int st = DPM_SUCCESS;
  while (!st && fgets(line, sizeof line, fp)) {
    lineno++;
    const size_t len = strlen(line);
    if (len + 1 == sizeof line && line[len - 1] != '\n' && !feof(fp)) {
      st = DPM_RAISE(GSL_EINVAL, "%s:%zu: line too long for one time", path, lineno);
      break;
    }
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    for (size_t k = strlen(line); k > 0 && isspace((unsigned char)line[k - 1]); k--)
      line[k - 1] = '\0';
    char *b = line;
    while (isspace((unsigned char)*b))
      b++;
    if (!*b) continue;
    char *end;
    errno = 0;
    const double v = strtod(b, &end);
    while (isspace((unsigned char)*end))
      end++;
    if (end == b || *end || errno == ERANGE || !isfinite(v))
      st = DPM_RAISE(GSL_EINVAL, "%s:%zu: not one finite number: '%s'", path, lineno, b);
    else if (npt > tl->Kmax)
      st = DPM_RAISE(GSL_EBADLEN, "%s:%zu: more than %zu times (Kmax = %zu steps)", path, lineno, tl->Kmax + 1,
                     tl->Kmax);
    else if (npt > 0 && !(v < tl->t[npt - 1]))
      st = DPM_RAISE(GSL_EDOM, "%s:%zu: times must decrease strictly (%.17g after %.17g)", path, lineno, v,
                     tl->t[npt - 1]);
    else {
      double m, s;
      if ((st = dpm_process_ms(p, v, &m, &s)))
        dpm_error_context("%s:%zu", path, lineno);
      else if (p->type && p->type->discrete && v != floor(v))
        st = DPM_RAISE(GSL_EDOM, "%s:%zu: %.17g is not a step index of the %s process", path, lineno, v,
                       dpm_process_name(p));
      tl->t[npt++] = v;
    }
  }
  if (!st && ferror(fp)) st = DPM_RAISE(GSL_EFAILED, "%s: read error", path);
  fclose(fp);
  if (st) return st;
  if (npt < 2) DPM_ERROR(GSL_EINVAL, "%s: a time grid needs at least 2 times (got %zu)", path, npt);
  if ((st = dpm_timeline_set_times(tl, p, npt - 1, tl->t))) dpm_error_context("%s", path);
  return st;
}

int dpm_timeline_set_tau(dpm_timeline *tl, const dpm_process *p, size_t K, const size_t *tau)
{
  if (!tl || !p || !tau) DPM_ERROR(GSL_EINVAL, "timeline: NULL timeline, process or trajectory");
  if (!p->sch)
    DPM_ERROR(GSL_EINVAL, "timeline: a trajectory needs a discrete (ddpm) process, not %s", dpm_process_name(p));
  int st = dpm_analytic_check_traj(p->sch, K, tau);
  if (st) return st;
  if (K > tl->Kmax) DPM_ERROR(GSL_EINVAL, "timeline: K = %zu steps exceed its %zu", K, tl->Kmax);
  for (size_t i = 0; i < K; i++)
    tl->t[i] = (double)tau[K - 1 - i];
  tl->t[K] = 0.0;
  return dpm_timeline_set_times(tl, p, K, tl->t);
}

int dpm_timeline_set_trajectory(dpm_timeline *tl, const dpm_process *p, const char *kind, size_t K,
                                const double *gamma)
{
  if (!tl || !p || !kind) DPM_ERROR(GSL_EINVAL, "timeline: NULL timeline, process or trajectory kind");
  if (!p->sch)
    DPM_ERROR(GSL_EINVAL, "timeline: a trajectory needs a discrete (ddpm) process, not %s", dpm_process_name(p));
  if (K < 1 || K > tl->Kmax) DPM_ERROR(GSL_EINVAL, "timeline: K = %zu steps outside [1, %zu]", K, tl->Kmax);
  size_t *tau = tl->n; /* scratch: set_tau copies tau into t before it rewrites n */
  int st = dpm_analytic_trajectory(p->sch, gamma, kind, K, tau, NULL);
  if (st) return st;
  return dpm_timeline_set_tau(tl, p, K, tau);
}

/* ---- the table ---------------------------------------------------------------------------------------------- */

const dpm_sampler_type *const dpm_sampler_types[] = {&dpm_sampler_ddpm,
                                                     &dpm_sampler_ddpm_betatilde,
                                                     &dpm_sampler_ddim,
                                                     &dpm_sampler_analytic_ddpm,
                                                     &dpm_sampler_analytic_ddim,
                                                     &dpm_sampler_diag_cov,
                                                     &dpm_sampler_ode_euler,
                                                     &dpm_sampler_heun,
                                                     &dpm_sampler_rk4,
                                                     &dpm_sampler_rk45,
                                                     &dpm_sampler_edm_heun,
                                                     &dpm_sampler_edm_stochastic,
                                                     &dpm_sampler_dpm_solver_1,
                                                     &dpm_sampler_dpm_solver_2,
                                                     &dpm_sampler_dpm_solver_3,
                                                     &dpm_sampler_dpmpp_2m,
                                                     &dpm_sampler_dpmpp_3m,
                                                     &dpm_sampler_dpmpp_2m_sde,
                                                     &dpm_sampler_unipc,
                                                     &dpm_sampler_deis,
                                                     &dpm_sampler_lms,
                                                     &dpm_sampler_ipndm,
                                                     &dpm_sampler_euler_maruyama,
                                                     &dpm_sampler_reverse_diffusion,
                                                     &dpm_sampler_ancestral,
                                                     &dpm_sampler_pc,
                                                     &dpm_sampler_langevin,
                                                     &dpm_sampler_restart,
                                                     &dpm_sampler_ge,
                                                     &dpm_sampler_ge_stochastic,
                                                     NULL};

const dpm_sampler_type *dpm_sampler_type_find(const char *name)
{
  for (size_t i = 0; name && dpm_sampler_types[i]; i++)
    if (strcmp(dpm_sampler_types[i]->name, name) == 0) return dpm_sampler_types[i];
  return NULL;
}

int dpm_sampler_type_supports(const dpm_sampler_type *type, const dpm_process *p)
{
  if (!type || !p) return 0;
  const unsigned on = type->flags & DPM_SAMPLER_ON_MASK;
  return on == 0 || (on & DPM_SAMPLER_ON(p->kind)) != 0;
}

void dpm_sampler_type_names(char *buf, size_t size)
{
  if (!buf || size == 0) return;
  buf[0] = '\0';
  size_t len = 0;
  for (size_t i = 0; dpm_sampler_types[i] && len + 1 < size; i++) {
    int w = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", dpm_sampler_types[i]->name);
    if (w < 0) break;
    len += (size_t)w;
  }
}

void dpm_sampler_params_default(dpm_sampler_params *par)
{
  par->eta = NAN;
  par->final_noise = 0;
  par->gamma_rtol = 1e-8;
  par->gamma_mc = 4000;
  par->gamma_seed = 0;
  par->snr = 0.16;
  par->corrector_steps = 1;
  par->langevin_eps = NAN;
  par->langevin_steps = 4;
  par->ge_gamma = 2.0;
  par->rtol = 1e-5;
  par->atol = 1e-5;
  par->s_churn = 0.0;
  par->s_tmin = 0.0;
  par->s_tmax = INFINITY;
  par->s_noise = 1.0;
  par->denoise_final = 0;
}

/* ---- the driver --------------------------------------------------------------------------------------------- */

struct dpm_sampler {
  const dpm_sampler_type *type;
  void *state;
  size_t nmax, d, Kmax, nring;
  double **ring; /* nring = history + 2 slots of nmax x d */
  const double **hist;
  double *work, *z; /* nmax x d */
  gsl_rng **rng;    /* nmax */
};

void dpm_sampler_free(dpm_sampler *smp)
{
  if (!smp) return;
  if (smp->state && smp->type->free) smp->type->free(smp->state);
  if (smp->ring)
    for (size_t k = 0; k < smp->nring; k++)
      free(smp->ring[k]);
  free(smp->ring);
  free(smp->hist);
  free(smp->work);
  free(smp->z);
  if (smp->rng)
    for (size_t j = 0; j < smp->nmax; j++)
      gsl_rng_free(smp->rng[j]);
  free(smp->rng);
  free(smp);
}

dpm_sampler *dpm_sampler_alloc(const dpm_sampler_type *type, size_t nmax, size_t d, size_t Kmax)
{
  if (!type || !type->apply) DPM_ERROR_NULL(GSL_EINVAL, "sampler: NULL type or step function");
  if (nmax == 0 || d == 0 || Kmax == 0)
    DPM_ERROR_NULL(GSL_EINVAL, "sampler %s: need nmax, d, Kmax >= 1 (got %zu, %zu, %zu)", type->name, nmax, d,
                   Kmax);
  if (nmax > SIZE_MAX / sizeof(double) / d)
    DPM_ERROR_NULL(GSL_ENOMEM, "sampler %s: %zu x %zu too large", type->name, nmax, d);
  dpm_sampler *smp = dpm_calloc(1, sizeof *smp);
  if (!smp) return NULL;
  smp->type = type;
  smp->nmax = nmax;
  smp->d = d;
  smp->Kmax = Kmax;
  smp->nring = type->history + 2;
  const size_t nd = nmax * d;
  if (!(smp->ring = dpm_calloc(smp->nring, sizeof(double *))) ||
      !(smp->hist = dpm_calloc(type->history + 1, sizeof(double *))) ||
      !(smp->work = dpm_malloc(nd * sizeof(double))) || !(smp->z = dpm_malloc(nd * sizeof(double))) ||
      !(smp->rng = dpm_calloc(nmax, sizeof(gsl_rng *))))
    goto fail;
  for (size_t k = 0; k < smp->nring; k++)
    if (!(smp->ring[k] = dpm_malloc(nd * sizeof(double)))) goto fail;
  for (size_t j = 0; j < nmax; j++)
    if (!(smp->rng[j] = gsl_rng_alloc(gsl_rng_taus2))) {
      DPM_RAISE(GSL_ENOMEM, "sampler %s: no memory for %zu generators", type->name, nmax);
      goto fail;
    }
  if (type->alloc && !(smp->state = type->alloc(nmax, d, Kmax))) goto fail;
  return smp;
fail:
  dpm_sampler_free(smp);
  return NULL;
}

const dpm_sampler_type *dpm_sampler_get_type(const dpm_sampler *smp) { return smp ? smp->type : NULL; }

/* "sampler ddim, step 10 -> 5" (discrete) or "... step 0.5 -> 0.25" */
static void step_context(const dpm_sampler_step *st)
{
  const dpm_timeline *tl = st->pb->tl;
  if (tl->n[st->i] != SIZE_MAX)
    dpm_error_context("sampler %s, step %zu -> %zu", st->type->name, tl->n[st->i], tl->n[st->i + 1]);
  else
    dpm_error_context("sampler %s, step %g -> %g", st->type->name, tl->t[st->i], tl->t[st->i + 1]);
}

int dpm_sampler_step_eval(dpm_sampler_step *st, size_t k, const double *x, double *eps, double *x0)
{
  const dpm_timeline *tl = st->pb->tl;
  const double m = tl->m[k] >= DBL_MIN ? tl->m[k] : DBL_MIN;
  int rc = dpm_denoiser_eval(st->pb->dn, m, tl->s[k], st->n, x, eps, x0, NULL);
  if (rc) step_context(st);
  return rc;
}

int dpm_sampler_step_eval_ms(dpm_sampler_step *st, double m, double s, const double *x, double *eps, double *x0)
{
  int rc = dpm_denoiser_eval(st->pb->dn, m >= DBL_MIN ? m : DBL_MIN, s, st->n, x, eps, x0, NULL);
  if (rc) step_context(st);
  return rc;
}

int dpm_sampler_step_eval_t(dpm_sampler_step *st, double t, const double *x, double *eps, double *x0)
{
  double m, s;
  int rc = dpm_process_ms(st->pb->tl->proc, t, &m, &s);
  if (rc) {
    step_context(st);
    return rc;
  }
  return dpm_sampler_step_eval_ms(st, m, s, x, eps, x0);
}

int dpm_sampler_step_eval_diagcov(dpm_sampler_step *st, size_t k, const double *x, double *x0, double *diagcov)
{
  const dpm_timeline *tl = st->pb->tl;
  const double m = tl->m[k] >= DBL_MIN ? tl->m[k] : DBL_MIN;
  int rc = dpm_denoiser_eval_diagcov(st->pb->dn, m, tl->s[k], st->n, x, x0, diagcov);
  if (rc) step_context(st);
  return rc;
}

void dpm_sampler_step_noise(dpm_sampler_step *st, double *z)
{
  const size_t n = st->n, d = st->d;
  gsl_rng **rng = st->rng;
#pragma omp parallel for schedule(static) if (n * d >= 4096)
  for (size_t j = 0; j < n; j++)
    for (size_t c = 0; c < d; c++)
      z[j * d + c] = gsl_ran_gaussian_ziggurat(rng[j], 1.0);
}

int dpm_sampler_run(dpm_sampler *smp, const dpm_sampler_problem *pb, uint64_t seed, size_t n, double *x,
                    int x_given, unsigned long *nfe)
{
  if (!smp || !pb || !pb->dn || !pb->tl || !pb->tl->proc || !x)
    DPM_ERROR(GSL_EINVAL, "sampler: NULL driver, problem, denoiser, timeline or x");
  const dpm_sampler_type *T = smp->type;
  const dpm_timeline *tl = pb->tl;
  if (n > smp->nmax)
    DPM_ERROR(GSL_EBADLEN, "sampler %s: %zu points exceed the driver's %zu", T->name, n, smp->nmax);
  if (pb->dn->d != smp->d)
    DPM_ERROR(GSL_EBADLEN, "sampler %s: denoiser dimension %zu != driver dimension %zu", T->name, pb->dn->d,
              smp->d);
  if (tl->K < 1 || tl->K > smp->Kmax)
    DPM_ERROR(GSL_EBADLEN, "sampler %s: %zu steps outside the driver's [1, %zu]", T->name, tl->K, smp->Kmax);
  if (!dpm_sampler_type_supports(T, tl->proc))
    DPM_ERROR(GSL_EINVAL, "sampler %s: does not run on the %s process", T->name, dpm_process_name(tl->proc));
  if ((T->flags & DPM_SAMPLER_NEEDS_DIAGCOV) && !dpm_denoiser_has_diagcov(pb->dn))
    DPM_ERROR(GSL_EINVAL, "sampler %s: denoiser %s has no posterior variance", T->name, pb->dn->type->name);
  if ((T->flags & DPM_SAMPLER_NEEDS_GAMMA) && !pb->sigma2 && !pb->mix)
    DPM_ERROR(GSL_EINVAL, "sampler %s: needs the data (Gamma_t) or per-step variances", T->name);
  if (pb->mix && pb->mix->d != smp->d)
    DPM_ERROR(GSL_EBADLEN, "sampler %s: data dimension %zu != %zu", T->name, pb->mix->d, smp->d);
  if (pb->sigma2)
    for (size_t i = 0; i < tl->K; i++)
      if (!(isfinite(pb->sigma2[i]) && pb->sigma2[i] >= 0.0))
        DPM_ERROR(GSL_EDOM, "sampler %s: sigma2[%zu] = %g is not a variance", T->name, i, pb->sigma2[i]);
  const double eta = isnan(pb->par.eta) ? T->eta_default : pb->par.eta;
  if (!isnan(T->eta_default) && !(eta >= 0.0 && eta <= 1.0))
    DPM_ERROR(GSL_EDOM, "sampler %s: eta = %g outside [0, 1]", T->name, eta);
  int rc;
  if (T->reset && (rc = T->reset(smp->state, pb))) {
    dpm_error_context("sampler %s", T->name);
    return rc;
  }
  const size_t d = smp->d, nd = n * d;
  for (size_t j = 0; j < n; j++)
    dpm_rng_stream_set(smp->rng[j], seed, j);
  dpm_sampler_step st = {
      .pb = pb, .type = T, .n = n, .d = d, .eta = eta, .x = x, .work = smp->work, .z = smp->z, .rng = smp->rng};
  if (!x_given) {
    dpm_sampler_step_noise(&st, x);
    for (size_t k = 0; k < nd; k++)
      x[k] *= tl->s[0];
  }
  const unsigned long nfe0 = pb->dn->nfe;
  const size_t H = T->history, R = smp->nring;
  int ready = 0;
  for (size_t i = 0; i < tl->K; i++) {
    st.i = i;
    st.eval = smp->ring[i % R];
    st.next = smp->ring[(i + 1) % R];
    st.nhist = i < H ? i : H;
    for (size_t j = 0; j < st.nhist; j++)
      smp->hist[j] = smp->ring[(i + R - 1 - j) % R];
    st.hist = smp->hist;
    st.order = H > 0 && st.nhist + 1 < T->order ? (unsigned)st.nhist + 1 : T->order;
    st.eval_ready = ready;
    st.next_ready = 0;
    if ((rc = T->apply(smp->state, &st))) return rc;
    ready = (T->flags & DPM_SAMPLER_REUSES_LAST) && st.next_ready;
  }
  if (pb->par.denoise_final && tl->s[tl->K] > 0.0) { /* Tweedie: x0-hat at the last point, one NFE */
    st.i = tl->K - 1;
    if ((rc = dpm_sampler_step_eval(&st, tl->K, x, NULL, smp->work))) return rc;
    memcpy(x, smp->work, nd * sizeof(double));
  }
  if (nfe) *nfe = pb->dn->nfe - nfe0;
  return DPM_SUCCESS;
}

/* ---- shared helpers of the DDIM family ---------------------------------------------------------------------- */

int dpm_sampler_ddim_coef_get(const dpm_timeline *tl, size_t i, double eta, dpm_sampler_ddim_coef *c)
{
  if (!tl || !c || i >= tl->K) DPM_ERROR(GSL_EINVAL, "sampler: step %zu outside the timeline", i);
  const size_t a = i, b = i + 1;
  double m_ab, s_ab;
  int st = dpm_process_transition(tl->proc, tl->t[b], tl->t[a], &m_ab, &s_ab);
  if (st) return st;
  const double sa = tl->s[a], sb = tl->s[b];
  c->r = exp(tl->log_m[b] - tl->log_m[a]);
  c->beta = s_ab * s_ab;
  c->beta_tilde = sb * sb * c->beta / (sa * sa);
  c->lambda2 = eta * eta * c->beta_tilde;
  const double rest = sqrt(fmax(sb * sb - c->lambda2, 0.0));
  c->ce = rest - c->r * sa;
  c->c0 = tl->m[b] - rest * tl->m[a] / sa;
  c->coef2 = c->ce * c->ce;
  return DPM_SUCCESS;
}

int dpm_sampler_gamma(const dpm_mixture *mix, const dpm_timeline *tl, const dpm_sampler_params *par, double *gamma)
{
  if (!mix || !tl || !par || !gamma) DPM_ERROR(GSL_EINVAL, "sampler Gamma: NULL data, timeline, params or output");
  const size_t K = tl->K;
  int st = DPM_SUCCESS;
  if (mix->d <= 2) {
    dpm_analytic_gamma_quad *w = dpm_analytic_gamma_quad_alloc(mix, par->gamma_rtol);
    if (!w) return GSL_EINVAL; /* raised by the alloc: a bad tolerance (or GSL_ENOMEM) */
    for (size_t i = 0; i < K && !st; i++) {
      const double m = tl->m[i] >= DBL_MIN ? tl->m[i] : DBL_MIN;
      st = dpm_analytic_gamma_quad_eval(w, m, tl->s[i], &gamma[i], NULL);
      if (st == GSL_EMAXITER) st = DPM_SUCCESS; /* the box budget: the estimate stands, within its error */
      if (st) dpm_error_context("Gamma at timeline point %zu", i);
    }
    dpm_analytic_gamma_quad_free(w);
    return st;
  }
  dpm_analytic_gamma_mc *w = dpm_analytic_gamma_mc_alloc(mix, par->gamma_mc);
  double *m = dpm_malloc(K * sizeof(double));
  if (!w || !m) {
    dpm_analytic_gamma_mc_free(w);
    free(m);
    return GSL_ENOMEM;
  }
  for (size_t i = 0; i < K; i++)
    m[i] = tl->m[i] >= DBL_MIN ? tl->m[i] : DBL_MIN;
  st = dpm_analytic_gamma_mc_ms(w, K, m, tl->s, par->gamma_seed, gamma, NULL);
  free(m);
  dpm_analytic_gamma_mc_free(w);
  return st;
}
