/* field.c — the likelihood workspace and the field the probability-flow ODE integrates (docs/MATH.md §4.3):
 * eps-hat and the divergence term s div eps-hat = -s^2 Laplacian of log q_t, exactly from the oracle (Song et al.
 * 2021, App. D.2), by a model's divergence op, by central differences, or by Hutchinson/Skilling probes
 * (Hutchinson 1989; Skilling 1989; Grathwohl et al. 2019) with the oracle's Hessian-vector products or
 * differences along the probe. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dpm_common.h"
#include "dpm_internal.h"
#include "dpm_rng.h"
#include "likelihood_internal.h"

void dpm_likelihood_params_default(dpm_likelihood_params *par)
{
  if (!par) return;
  memset(par, 0, sizeof *par);
  par->method = DPM_LIK_RK45;
  par->rtol = 1e-6;
  par->atol = 1e-9;
  par->steps = 200;
  par->div = DPM_LIK_DIV_EXACT;
  par->probes = 1;
  par->probe = DPM_LIK_PROBE_RADEMACHER;
  par->hvp_fd = 0;
  par->seed = 0;
  par->t0 = 1e-5;
  par->T = NAN;
  par->prior = DPM_LIK_PRIOR_EXACT;
  par->block = 1;
}

static int parse_name(const char *what, const char *name, const char *const *names, int *out)
{
  if (!name) DPM_ERROR(GSL_EINVAL, "likelihood: NULL %s name", what);
  char list[128] = "";
  for (int i = 0; names[i]; i++) {
    if (strcmp(name, names[i]) == 0) {
      *out = i;
      return DPM_SUCCESS;
    }
    strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
    strncat(list, names[i], sizeof list - strlen(list) - 1);
  }
  DPM_ERROR(GSL_EINVAL, "unknown %s '%s' (%s)", what, name, list);
}

int dpm_likelihood_method_parse(const char *name, dpm_lik_method *out)
{
  static const char *const names[] = {"rk45", "rk8pd", "euler", "heun", "rk4", NULL};
  int i = 0, st = parse_name("method", name, names, &i);
  if (!st) *out = (dpm_lik_method)i;
  return st;
}

int dpm_likelihood_div_parse(const char *name, dpm_lik_div *out)
{
  static const char *const names[] = {"exact", "hutchinson", NULL};
  int i = 0, st = parse_name("divergence", name, names, &i);
  if (!st) *out = (dpm_lik_div)i;
  return st;
}

int dpm_likelihood_probe_parse(const char *name, dpm_lik_probe *out)
{
  static const char *const names[] = {"rademacher", "gaussian", NULL};
  int i = 0, st = parse_name("probe", name, names, &i);
  if (!st) *out = (dpm_lik_probe)i;
  return st;
}

int dpm_likelihood_prior_parse(const char *name, dpm_lik_prior *out)
{
  static const char *const names[] = {"exact", "gaussian", NULL};
  int i = 0, st = parse_name("prior", name, names, &i);
  if (!st) *out = (dpm_lik_prior)i;
  return st;
}

/* ---- workspace ------------------------------------------------------------------------------------------- */

static void thread_clear(lik_thread *th)
{
  dpm_oracle_free(th->o);
  dpm_oracle_field_free(th->diag);
  if (th->evo) gsl_odeiv2_evolve_free(th->evo);
  if (th->con) gsl_odeiv2_control_free(th->con);
  if (th->step) gsl_odeiv2_step_free(th->step);
  if (th->r) gsl_rng_free(th->r);
  free(th->score);
  free(th->hess);
  free(th->probes);
  free(th->fdx);
  free(th->fde);
  free(th->k);
  free(th->bx);
  free(th->beps);
  free(th->bdiv);
}

int lik_thread_reserve(lik_thread *th, size_t M, size_t B)
{
  const size_t d = th->d, need = M > d ? M : d, nb = B > 1 ? B : 1;
  if (need <= th->cap && nb <= th->bcap) return DPM_SUCCESS;
  const size_t cap = need > th->cap ? need : th->cap, bcap = nb > th->bcap ? nb : th->bcap;
  if (cap > ((size_t)1 << 24) / (d + 1) || bcap > ((size_t)1 << 24) / (cap * (d + 1)))
    DPM_ERROR(GSL_EINVAL, "likelihood: %zu probes in blocks of %zu points is too many", M, B);
  double *pr = realloc(th->probes, bcap * cap * d * sizeof(double));
  if (pr) th->probes = pr;
  double *fx = realloc(th->fdx, (2 * cap + 1) * d * sizeof(double));
  if (fx) th->fdx = fx;
  double *fe = realloc(th->fde, (2 * cap + 1) * d * sizeof(double));
  if (fe) th->fde = fe;
  double *hs = realloc(th->hess, bcap * d * d * sizeof(double));
  if (hs) th->hess = hs;
  double *bx = realloc(th->bx, bcap * d * sizeof(double));
  if (bx) th->bx = bx;
  double *be = realloc(th->beps, bcap * d * sizeof(double));
  if (be) th->beps = be;
  double *bd = realloc(th->bdiv, bcap * sizeof(double));
  if (bd) th->bdiv = bd;
  double *k = realloc(th->k, 6 * bcap * (d + 1) * sizeof(double));
  if (k) th->k = k;
  if (!pr || !fx || !fe || !hs || !bx || !be || !bd || !k)
    DPM_ERROR(GSL_ENOMEM, "likelihood: no memory for %zu probes in blocks of %zu points", M, B);
  th->cap = cap;
  th->bcap = bcap;
  return DPM_SUCCESS;
}

dpm_likelihood *dpm_likelihood_alloc(const dpm_mixture *mix, dpm_denoiser *const *models, size_t nmodels)
{
  if (!mix) DPM_ERROR_NULL(GSL_EINVAL, "likelihood: NULL data");
  if (models && nmodels == 0) DPM_ERROR_NULL(GSL_EINVAL, "likelihood: an empty list of models");
  const size_t d = mix->d;
  int nt = dpm_omp_max_threads();
  if (models && (size_t)nt > nmodels) nt = (int)nmodels;
  if (nt < 1) nt = 1;
  for (size_t i = 0; models && i < (size_t)nt; i++)
    if (!models[i] || models[i]->d != d)
      DPM_ERROR_NULL(GSL_EBADLEN, "likelihood: model %zu is NULL or not %zu-dimensional", i, d);
  dpm_likelihood *w = dpm_calloc(1, sizeof *w);
  if (!w) return NULL;
  w->mix = mix;
  w->d = d;
  w->nthreads = nt;
  w->model = models != NULL;
  if (!(w->th = dpm_calloc((size_t)nt, sizeof *w->th))) {
    free(w);
    return NULL;
  }
  for (int i = 0; i < nt; i++) {
    lik_thread *th = &w->th[i];
    th->d = d;
    th->dn = models ? models[i] : NULL;
    th->o = dpm_oracle_alloc(mix);
    th->r = dpm_rng_stream_alloc(0, 0);
    th->score = malloc(d * sizeof(double));
    th->use_diag = 1;
    if (!th->o || !th->r || !th->score || lik_thread_reserve(th, 1, 1) ||
        (!models && dpm_oracle_field_alloc(mix, &th->diag))) {
      dpm_likelihood_free(w);
      DPM_ERROR_NULL(GSL_ENOMEM, "likelihood: no memory for the workspace (d = %zu)", d);
    }
  }
  return w;
}

void lik_set_kernel(dpm_likelihood *w, int on)
{
  for (int i = 0; w && i < w->nthreads; i++)
    w->th[i].use_diag = on != 0;
}

void dpm_likelihood_free(dpm_likelihood *w)
{
  if (!w) return;
  for (int i = 0; w->th && i < w->nthreads; i++)
    thread_clear(&w->th[i]);
  free(w->th);
  free(w);
}

/* ---- the field ---------------------------------------------------------------------------------------------- */

/* eps-hat at n points: the oracle's E[eps|x] or the model's prediction */
static int eps_at(lik_thread *th, double m, double s, size_t n, const double *x, double *eps)
{
  if (th->dn) return dpm_denoiser_eval(th->dn, m, s, n, x, eps, NULL, NULL);
  dpm_oracle_result res = {0};
  res.eps = eps;
  return dpm_oracle_eval(th->o, m, s, n, x, &res);
}

int lik_field(lik_thread *th, double m, double s, const double *x, double *eps, double *sdiv)
{
  const size_t d = th->d;
  /* eps_mach^(1/3): the central difference's truncation error (h^2) and rounding (eps_mach/h) balance */
  const double h0 = 6.0554544523933395e-06 * s;
  int st;
  if (th->div == DPM_LIK_DIV_EXACT && !th->dn) { /* the oracle's Laplacian */
    double lap;
    dpm_oracle_result res = {0};
    res.eps = eps;
    res.lap = &lap;
    if ((st = dpm_oracle_eval(th->o, m, s, 1, x, &res))) return st;
    *sdiv = -s * s * lap;
    return DPM_SUCCESS;
  }
  if (th->div == DPM_LIK_DIV_EXACT && dpm_denoiser_has_divergence(th->dn)) { /* the model's own divergence */
    double lap;
    if ((st = dpm_denoiser_eval_divergence(th->dn, m, s, 1, x, th->score, &lap))) return st;
    for (size_t j = 0; j < d; j++)
      eps[j] = -s * th->score[j];
    *sdiv = -s * s * lap;
    return DPM_SUCCESS;
  }
  if (th->div == DPM_LIK_DIV_HUTCHINSON && !th->dn && !th->hvp_fd) { /* v^T H v with the oracle's Hessian */
    dpm_oracle_result res = {0};
    res.eps = eps;
    res.hess = th->hess;
    if ((st = dpm_oracle_eval(th->o, m, s, 1, x, &res))) return st;
    double acc = 0.0;
    for (size_t k = 0; k < th->M; k++) {
      const double *v = th->pv + k * d;
      double q = 0.0;
      for (size_t i = 0; i < d; i++) {
        double hv = 0.0;
        for (size_t j = 0; j < d; j++)
          hv += th->hess[i * d + j] * v[j];
        q += v[i] * hv;
      }
      acc += q;
    }
    *sdiv = -s * s * acc / (double)th->M;
    return DPM_SUCCESS;
  }
  /* central differences in one batch: the centre, then +-h along each axis (exact) or each probe (Hutchinson) */
  const int hutch = th->div == DPM_LIK_DIV_HUTCHINSON;
  const size_t npair = hutch ? th->M : d;
  double *X = th->fdx, *E = th->fde;
  memcpy(X, x, d * sizeof(double));
  for (size_t k = 0; k < npair; k++) {
    double *xp = X + (1 + 2 * k) * d, *xm = xp + d;
    memcpy(xp, x, d * sizeof(double));
    memcpy(xm, x, d * sizeof(double));
    if (hutch) {
      const double *v = th->pv + k * d;
      const double nv = sqrt(dpm_norm2(v, d));
      const double h = nv > 0.0 ? h0 / nv : h0;
      for (size_t j = 0; j < d; j++) {
        xp[j] += h * v[j];
        xm[j] -= h * v[j];
      }
    } else {
      xp[k] += h0;
      xm[k] -= h0;
    }
  }
  if ((st = eps_at(th, m, s, 1 + 2 * npair, X, E))) return st;
  memcpy(eps, E, d * sizeof(double));
  double acc = 0.0;
  for (size_t k = 0; k < npair; k++) {
    const double *ep = E + (1 + 2 * k) * d, *em = ep + d;
    const double *xp = X + (1 + 2 * k) * d, *xm = xp + d;
    if (hutch) {
      const double *v = th->pv + k * d;
      const double nv = sqrt(dpm_norm2(v, d));
      const double h = nv > 0.0 ? h0 / nv : h0;
      double q = 0.0;
      for (size_t j = 0; j < d; j++)
        q += v[j] * (ep[j] - em[j]);
      acc += q / (2.0 * h);
    } else {
      acc += (ep[k] - em[k]) / (xp[k] - xm[k]); /* the step as represented, not as intended */
    }
  }
  *sdiv = s * (hutch ? acc / (double)th->M : acc);
  return DPM_SUCCESS;
}

int lik_at_rho(const lik_thread *th, double rho, double *t, double *m, double *s, double *a, double *w)
{
  double tt = dpm_process_t_of_lambda(th->p, -rho);
  if (!isfinite(tt)) return dpm_error_context("t at rho = %.17g", rho), GSL_EDOM;
  if (tt < th->t_lo) tt = th->t_lo;
  if (tt > th->t_hi) tt = th->t_hi;
  int st = dpm_process_ms(th->p, tt, m, s);
  if (st) return st;
  const double g = dpm_process_g(th->p, tt);
  *a = dpm_process_a(th->p, tt);
  if (!(g > 0.0) || !isfinite(*a)) DPM_ERROR(GSL_EDOM, "likelihood: g(t) = %g at t = %.17g", g, tt);
  *w = 2.0 * (*s) * (*s) / (g * g);
  *t = tt;
  return DPM_SUCCESS;
}

int lik_check(const dpm_likelihood *w, const dpm_process *p, double t0, double T_in, double *T, double *rho0,
              double *rhoT)
{
  if (!w || !p || !p->type) DPM_ERROR(GSL_EINVAL, "likelihood: NULL workspace or process");
  if (p->kind == DPM_PROCESS_DDPM || p->type->discrete)
    DPM_ERROR(GSL_EINVAL, "likelihood: process %s is discrete; the flow needs vp, subvp, ve or edm",
              dpm_process_name(p));
  const double Tr = (isfinite(T_in) && T_in > 0.0) ? T_in : p->t_max;
  if (!(isfinite(t0) && t0 > 0.0)) DPM_ERROR(GSL_EDOM, "likelihood: t0 must be > 0 (got %g)", t0);
  if (!(Tr <= p->t_max)) DPM_ERROR(GSL_EDOM, "likelihood: T = %g is beyond t_max = %g", Tr, p->t_max);
  if (!(t0 < Tr)) DPM_ERROR(GSL_EDOM, "likelihood: need t0 < T (got t0 = %g, T = %g)", t0, Tr);
  const double s0 = dpm_process_sigma(p, t0), s1 = dpm_process_sigma(p, Tr);
  if (!(s0 > 0.0 && isfinite(s0) && s1 > s0 && isfinite(s1)))
    DPM_ERROR(GSL_EDOM, "likelihood: sigma(t0) = %g, sigma(T) = %g must be finite, positive and increasing", s0,
              s1);
  *T = Tr;
  *rho0 = log(s0);
  *rhoT = log(s1);
  return DPM_SUCCESS;
}

double lik_log_gauss(size_t d, double s, const double *x)
{
  return -0.5 * dpm_norm2(x, d) / (s * s) - (double)d * (log(s) + 0.5 * DPM_LOG_2PI);
}
