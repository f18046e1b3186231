/* pfode.c — log-likelihoods by the probability-flow ODE (Song et al. 2021, eq. (13) and App. D.2; the
 * instantaneous change of variables of Chen et al. 2018, Thm 1): the augmented state [x, delta] integrated in
 * rho = log sigma from t0 to T through GSL odeiv2 or fixed steps, the encoding x_T, and the decoder back
 * (docs/MATH.md §4.3). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "dpm_common.h"
#include "dpm_internal.h"
#include "dpm_rng.h"
#include "likelihood_internal.h"

/* the most steps one solve may take before it is called stuck */
#define LIK_MAX_STEPS 2000000UL

/* d/drho [x, delta] = [w a x + s eps-hat, w d a + s div eps-hat], w = dt/drho = 2 s^2/g^2 (docs/MATH.md §4.3), for
 * the th->B points of the block, stored [x_1, delta_1, x_2, delta_2, ...]. The exact field of the data is one pass
 * of the kernel (axis-aligned components) or one oracle call (Laplacian or Hessian) for the block; the other
 * routes go point by point. */
static int rhs(double rho, const double y[], double f[], void *params)
{
  lik_thread *th = params;
  const size_t d = th->d, dd = d + 1, B = th->B;
  double t = NAN, m, s, a, w;
  int st = lik_at_rho(th, rho, &t, &m, &s, &a, &w);
  if (st) {
    /* reported below */
  } else if (!th->dn && th->div == DPM_LIK_DIV_EXACT && th->diag && th->use_diag &&
             dpm_oracle_field_eval(th->diag, m, s, B, y, dd, th->beps, th->bdiv) == DPM_SUCCESS) {
    /* axis-aligned data: the kernel, one pass per point; when it declines (a point beyond the oracle's distance
     * bound), the oracle below computes the same or names what it refuses */
    for (size_t b = 0; b < B; b++)
      th->bdiv[b] *= -s * s;
  } else if (!th->dn && (th->div == DPM_LIK_DIV_EXACT || !th->hvp_fd)) {
    for (size_t b = 0; b < B; b++)
      memcpy(th->bx + b * d, y + b * dd, d * sizeof(double));
    dpm_oracle_result res = {0};
    res.eps = th->beps;
    if (th->div == DPM_LIK_DIV_EXACT)
      res.lap = th->bdiv;
    else
      res.hess = th->hess;
    st = dpm_oracle_eval(th->o, m, s, B, th->bx, &res);
    for (size_t b = 0; b < B && !st; b++) {
      if (th->div == DPM_LIK_DIV_EXACT) {
        th->bdiv[b] *= -s * s;
        continue;
      }
      const double *H = th->hess + b * d * d, *pv = th->probes + b * th->M * d;
      double acc = 0.0;
      for (size_t k = 0; k < th->M; k++) {
        const double *v = pv + k * d;
        for (size_t i = 0; i < d; i++) {
          double hv = 0.0;
          for (size_t j = 0; j < d; j++)
            hv += H[i * d + j] * v[j];
          acc += v[i] * hv;
        }
      }
      th->bdiv[b] = -s * s * acc / (double)th->M;
    }
  } else {
    for (size_t b = 0; b < B && !st; b++) {
      th->pv = th->probes + b * th->M * d;
      st = lik_field(th, m, s, y + b * dd, th->beps + b * d, th->bdiv + b);
    }
  }
  if (st) {
    if (!th->status) {
      dpm_error_context("rho = log sigma = %.17g (t = %.17g)", rho, t);
      th->status = st;
    }
    return GSL_EBADFUNC;
  }
  th->nfe++;
  for (size_t b = 0; b < B; b++) {
    for (size_t j = 0; j < d; j++)
      f[b * dd + j] = w * a * y[b * dd + j] + s * th->beps[b * d + j];
    f[b * dd + d] = w * (double)d * a + th->bdiv[b];
  }
  return GSL_SUCCESS;
}

static int check_solver(const dpm_likelihood_params *par)
{
  if (par->method == DPM_LIK_RK45 || par->method == DPM_LIK_RK8PD) {
    if (!(isfinite(par->rtol) && isfinite(par->atol) && par->rtol >= 0.0 && par->atol >= 0.0 &&
          par->rtol + par->atol > 0.0))
      DPM_ERROR(GSL_EDOM, "likelihood: tolerances rtol = %g, atol = %g must be finite, >= 0 and not both 0",
                par->rtol, par->atol);
  } else if (par->method == DPM_LIK_EULER || par->method == DPM_LIK_HEUN || par->method == DPM_LIK_RK4) {
    if (par->steps == 0) DPM_ERROR(GSL_EDOM, "likelihood: fixed-step methods need steps >= 1");
  } else {
    DPM_ERROR(GSL_EINVAL, "likelihood: unknown method %d", (int)par->method);
  }
  if (par->div != DPM_LIK_DIV_EXACT && par->div != DPM_LIK_DIV_HUTCHINSON)
    DPM_ERROR(GSL_EINVAL, "likelihood: unknown divergence route %d", (int)par->div);
  if (par->div == DPM_LIK_DIV_HUTCHINSON && par->probes == 0)
    DPM_ERROR(GSL_EINVAL, "likelihood: Hutchinson needs at least one probe");
  if (par->prior != DPM_LIK_PRIOR_EXACT && par->prior != DPM_LIK_PRIOR_GAUSSIAN)
    DPM_ERROR(GSL_EINVAL, "likelihood: unknown prior %d", (int)par->prior);
  if (par->block == 0) DPM_ERROR(GSL_EINVAL, "likelihood: blocks need at least one point");
  return DPM_SUCCESS;
}

/* Integrate y (d + 1) from r0 to r1 (either direction). */
static int solve(lik_thread *th, const dpm_likelihood_params *par, double r0, double r1, double *y,
                 unsigned long *nsteps)
{
  const size_t dim = th->B * (th->d + 1);
  gsl_odeiv2_system sys = {rhs, NULL, dim, th};
  th->status = DPM_SUCCESS;
  *nsteps = 0;
  if (par->method == DPM_LIK_RK45 || par->method == DPM_LIK_RK8PD) {
    const gsl_odeiv2_step_type *T = par->method == DPM_LIK_RK45 ? gsl_odeiv2_step_rkf45 : gsl_odeiv2_step_rk8pd;
    if (th->step_type != T || th->step_dim != dim) { /* at most a few times per run: a new method or block size */
      if (th->step) gsl_odeiv2_step_free(th->step);
      if (th->evo) gsl_odeiv2_evolve_free(th->evo);
      th->step = NULL;
      th->evo = NULL;
      th->step_type = NULL;
      th->step_dim = 0;
      if (!(th->step = gsl_odeiv2_step_alloc(T, dim)) || !(th->evo = gsl_odeiv2_evolve_alloc(dim)))
        DPM_ERROR(GSL_ENOMEM, "likelihood: no memory for a stepper of dimension %zu", dim);
      th->step_type = T;
      th->step_dim = dim;
    }
    if (!th->con && !(th->con = gsl_odeiv2_control_y_new(par->atol, par->rtol)))
      DPM_ERROR(GSL_ENOMEM, "likelihood: no memory for the step-size control");
    int rc = gsl_odeiv2_control_init(th->con, par->atol, par->rtol, 1.0, 0.0);
    if (rc) DPM_ERROR(rc, "likelihood: step-size control refused rtol = %g, atol = %g", par->rtol, par->atol);
    gsl_odeiv2_step_reset(th->step);
    gsl_odeiv2_evolve_reset(th->evo);
    double r = r0, h = (r1 - r0) / 64.0;
    while (r != r1) {
      rc = gsl_odeiv2_evolve_apply(th->evo, th->con, th->step, &sys, &r, r1, &h, y);
      if (th->status) return th->status;
      if (rc) DPM_ERROR(rc, "likelihood: the adaptive solve failed at rho = %.17g: %s", r, gsl_strerror(rc));
      if (++*nsteps > LIK_MAX_STEPS)
        DPM_ERROR(GSL_EMAXITER, "likelihood: more than %lu steps at rho = %.17g (h = %.3g)", LIK_MAX_STEPS, r, h);
    }
    return DPM_SUCCESS;
  }
  /* fixed steps, uniform in rho */
  const size_t N = par->steps;
  const double h = (r1 - r0) / (double)N;
  double *k1 = th->k, *k2 = k1 + dim, *k3 = k2 + dim, *k4 = k3 + dim, *yt = k4 + dim;
  for (size_t i = 0; i < N; i++) {
    const double r = i + 1 == N ? r1 - h : r0 + (double)i * h;
    if (rhs(r, y, k1, th)) return th->status;
    if (par->method == DPM_LIK_EULER) {
      for (size_t j = 0; j < dim; j++)
        y[j] += h * k1[j];
    } else if (par->method == DPM_LIK_HEUN) {
      for (size_t j = 0; j < dim; j++)
        yt[j] = y[j] + h * k1[j];
      if (rhs(r + h, yt, k2, th)) return th->status;
      for (size_t j = 0; j < dim; j++)
        y[j] += 0.5 * h * (k1[j] + k2[j]);
    } else {
      for (size_t j = 0; j < dim; j++)
        yt[j] = y[j] + 0.5 * h * k1[j];
      if (rhs(r + 0.5 * h, yt, k2, th)) return th->status;
      for (size_t j = 0; j < dim; j++)
        yt[j] = y[j] + 0.5 * h * k2[j];
      if (rhs(r + 0.5 * h, yt, k3, th)) return th->status;
      for (size_t j = 0; j < dim; j++)
        yt[j] = y[j] + h * k3[j];
      if (rhs(r + h, yt, k4, th)) return th->status;
      for (size_t j = 0; j < dim; j++)
        y[j] += h / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j]);
    }
    ++*nsteps;
  }
  return DPM_SUCCESS;
}

/* Prepare thread th for a solve of the block of points i0..i0+B-1: the process, the time clamp, the divergence
 * route and the probes of each point (point i from the stream (seed, i)). */
static int prepare(lik_thread *th, const dpm_process *p, const dpm_likelihood_params *par, double t0, double T,
                   size_t i0, size_t B)
{
  th->p = p;
  th->t_lo = t0;
  th->t_hi = T;
  th->div = par->div;
  th->hvp_fd = par->hvp_fd;
  th->M = par->div == DPM_LIK_DIV_HUTCHINSON ? par->probes : 0;
  th->B = B;
  th->nfe = 0;
  int st = lik_thread_reserve(th, th->M, B);
  if (st || !th->M) return st;
  const size_t nv = th->M * th->d;
  for (size_t b = 0; b < B; b++) {
    dpm_rng_stream_set(th->r, par->seed, (uint64_t)(i0 + b));
    double *pv = th->probes + b * nv;
    for (size_t k = 0; k < nv; k++)
      pv[k] = par->probe == DPM_LIK_PROBE_GAUSSIAN ? gsl_ran_gaussian_ziggurat(th->r, 1.0)
                                                   : (gsl_rng_uniform_int(th->r, 2) ? 1.0 : -1.0);
  }
  return DPM_SUCCESS;
}

/* One block: encode points i0..i0+B-1 at t0 to T and evaluate the ends. */
static int eval_block(lik_thread *th, const dpm_process *p, const dpm_likelihood_params *par, double t0, double T,
                      double rho0, double rhoT, size_t i0, size_t B, const double *x, dpm_likelihood_point *res,
                      double *xT)
{
  const size_t d = th->d, dd = d + 1;
  int st = prepare(th, p, par, t0, T, i0, B);
  if (st) return st;
  double *y = th->k + 5 * B * dd;
  for (size_t b = 0; b < B; b++) {
    memcpy(y + b * dd, x + b * d, d * sizeof(double));
    y[b * dd + d] = 0.0;
  }
  unsigned long nsteps = 0;
  if ((st = solve(th, par, rho0, rhoT, y, &nsteps))) return st;
  double mT, sT, m0, s0;
  if ((st = dpm_process_ms(p, T, &mT, &sT)) || (st = dpm_process_ms(p, t0, &m0, &s0))) return st;
  for (size_t b = 0; b < B; b++)
    memcpy(th->bx + b * d, y + b * dd, d * sizeof(double));
  dpm_oracle_result r1 = {0};
  r1.logq = th->bdiv;
  if ((st = dpm_oracle_eval(th->o, mT, sT, B, th->bx, &r1))) return dpm_error_context("log q_T at x_T"), st;
  for (size_t b = 0; b < B; b++) {
    dpm_likelihood_point *r = res + b;
    const double *yb = y + b * dd, lg = lik_log_gauss(d, sT, yb);
    r->delta = yb[d];
    r->logq_T = th->bdiv[b];
    r->prior_mismatch = lg - th->bdiv[b];
    r->logp = (par->prior == DPM_LIK_PRIOR_EXACT ? th->bdiv[b] : lg) + yb[d];
    r->bpd = -r->logp / ((double)d * M_LN2);
    r->nfe = th->nfe;
    r->nsteps = nsteps;
    if (xT) memcpy(xT + b * d, yb, d * sizeof(double));
  }
  r1.logq = th->bdiv;
  if ((st = dpm_oracle_eval(th->o, m0, s0, B, x, &r1))) return dpm_error_context("log q_t0 at x"), st;
  for (size_t b = 0; b < B; b++)
    res[b].logq_true = th->bdiv[b];
  return DPM_SUCCESS;
}

/* Run job(i) for i < n over the workspace's threads; on failure the first failing point's reason, with the
 * point in front. */
static int run_points(dpm_likelihood *w, size_t n, lik_job job, void *ctx, const char *what)
{
  int fail = DPM_SUCCESS;
  size_t fail_at = 0;
  char reason[768] = "";
#pragma omp parallel for schedule(dynamic, 1) num_threads(w->nthreads)
  for (size_t i = 0; i < n; i++) {
    const int st = job(&w->th[dpm_omp_thread_num()], i, ctx);
    if (st != DPM_SUCCESS) {
#pragma omp critical(dpm_likelihood_fail)
      if (fail == DPM_SUCCESS || i < fail_at) {
        fail = st;
        fail_at = i;
        snprintf(reason, sizeof reason, "%s", dpm_error_last());
      }
    }
  }
  if (fail != DPM_SUCCESS) {
    dpm_error_clear();
    dpm_error_context("%s", reason);
    dpm_error_context("%s: task %zu", what, fail_at + 1);
  }
  return fail;
}

typedef struct {
  const dpm_process *p;
  const dpm_likelihood_params *par;
  double t0, T, rho0, rhoT;
  const double *x;
  dpm_likelihood_point *res;
  double *xT;
  unsigned long *nfe;
  size_t n;
} eval_ctx;

/* the points of task k: [k block, min((k + 1) block, n)) */
static size_t block_of(const eval_ctx *c, size_t k, size_t *i0)
{
  *i0 = k * c->par->block;
  const size_t i1 = *i0 + c->par->block < c->n ? *i0 + c->par->block : c->n;
  return i1 - *i0;
}

static int eval_job(lik_thread *th, size_t k, void *arg)
{
  eval_ctx *c = arg;
  const size_t d = th->d;
  size_t i0, B = block_of(c, k, &i0);
  const int st = eval_block(th, c->p, c->par, c->t0, c->T, c->rho0, c->rhoT, i0, B, c->x + i0 * d, c->res + i0,
                            c->xT ? c->xT + i0 * d : NULL);
  if (st && B > 1) dpm_error_context("points %zu..%zu", i0 + 1, i0 + B);
  if (st && B == 1) dpm_error_context("point %zu", i0 + 1);
  return st;
}

static size_t ntasks(size_t n, size_t block) { return n / block + (n % block ? 1 : 0); }

static int check_points(size_t n, size_t d, const double *x)
{
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < d; j++)
      if (!isfinite(x[i * d + j]))
        DPM_ERROR(GSL_EBADFUNC, "likelihood: point %zu, coordinate %zu is not finite (%g)", i + 1, j + 1,
                  x[i * d + j]);
  return DPM_SUCCESS;
}

int dpm_likelihood_eval(dpm_likelihood *w, const dpm_process *p, const dpm_likelihood_params *par, size_t n,
                        const double *x, dpm_likelihood_point *res, double *xT)
{
  if (!par || (n && (!x || !res))) DPM_ERROR(GSL_EINVAL, "likelihood: NULL parameters, points or results");
  eval_ctx c = {.p = p, .par = par, .x = x, .res = res, .xT = xT};
  int st = lik_check(w, p, par->t0, par->T, &c.T, &c.rho0, &c.rhoT);
  if (!st) st = check_solver(par);
  if (!st) st = check_points(n, w->d, x);
  if (st) return st;
  c.t0 = par->t0;
  c.n = n;
  return run_points(w, ntasks(n, par->block), eval_job, &c, "likelihood");
}

static int decode_job(lik_thread *th, size_t k, void *arg)
{
  eval_ctx *c = arg;
  const size_t d = th->d, dd = d + 1;
  size_t i0, B = block_of(c, k, &i0);
  int st = prepare(th, c->p, c->par, c->t0, c->T, i0, B);
  double *y = th->k + 5 * B * dd;
  for (size_t b = 0; b < B && !st; b++) {
    memcpy(y + b * dd, c->xT + (i0 + b) * d, d * sizeof(double));
    y[b * dd + d] = 0.0;
  }
  unsigned long nsteps;
  if (!st) st = solve(th, c->par, c->rhoT, c->rho0, y, &nsteps);
  if (st) {
    if (B > 1) dpm_error_context("points %zu..%zu", i0 + 1, i0 + B);
    if (B == 1) dpm_error_context("point %zu", i0 + 1);
    return st;
  }
  for (size_t b = 0; b < B; b++) {
    memcpy((double *)c->x + (i0 + b) * d, y + b * dd, d * sizeof(double));
    c->nfe[i0 + b] = th->nfe;
  }
  return DPM_SUCCESS;
}

int dpm_likelihood_decode(dpm_likelihood *w, const dpm_process *p, const dpm_likelihood_params *par, size_t n,
                          const double *xT, double *x, unsigned long *nfe)
{
  if (!par || (n && (!x || !xT))) DPM_ERROR(GSL_EINVAL, "decode: NULL parameters or points");
  eval_ctx c = {.p = p, .par = par, .x = x, .xT = (double *)xT};
  int st = lik_check(w, p, par->t0, par->T, &c.T, &c.rho0, &c.rhoT);
  if (!st) st = check_solver(par);
  if (!st) st = check_points(n, w->d, xT);
  if (st) return st;
  c.t0 = par->t0;
  unsigned long *cnt = n ? malloc(n * sizeof *cnt) : NULL;
  if (n && !cnt) DPM_ERROR(GSL_ENOMEM, "decode: no memory for %zu counters", n);
  c.nfe = cnt;
  c.n = n;
  st = run_points(w, ntasks(n, par->block), decode_job, &c, "decode");
  if (!st && nfe) {
    *nfe = 0;
    for (size_t i = 0; i < n; i++)
      *nfe += cnt[i];
  }
  free(cnt);
  return st;
}

int lik_run_points(dpm_likelihood *w, size_t n, lik_job job, void *ctx, const char *what)
{
  return run_points(w, n, job, ctx, what);
}
