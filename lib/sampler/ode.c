/* ode.c — the probability-flow ODE dx/dt = a(t) x - (1/2) g(t)^2 score(x, t) (Song et al. 2021, eq. (13)) as
 * entries of the sampler table: Euler, Heun and classical RK4 in the process's own time t, adaptive RK45 through
 * GSL's odeiv2 (rkf45), and EDM's deterministic Heun (Karras et al. 2022, Algorithm 1) and stochastic churn
 * sampler (Algorithm 2) in sigma = s/m on x^ = x/m, where every process's flow is dx^/dsigma = eps-hat
 * (docs/MATH.md §1.4, §4.1-4.2; update rules in docs/samplers.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_odeiv2.h>

#include "dpm_common.h"
#include "dpm_sampler.h"

/* ---- state shared by the entries: three n x d buffers; rk45 adds GSL's stepper -------------------------- */

typedef struct {
  size_t nmax, d;
  double *k, *y, *e; /* nmax x d: a derivative accumulator, a stage point, an eps-prediction */
  /* rk45 */
  gsl_odeiv2_step *step;
  gsl_odeiv2_control *con;
  gsl_odeiv2_evolve *evo;
  size_t dim; /* dimension the stepper and evolver were allocated for (0: none yet) */
  double h;   /* the last step size taken (carried from one grid interval to the next) */
  int status; /* the first failure inside the right-hand side (the evolver only sees GSL_EBADFUNC) */
  dpm_sampler_step *st;
} ode_state;

static void ode_free(void *state)
{
  ode_state *S = state;
  if (!S) return;
  free(S->k);
  free(S->y);
  free(S->e);
  if (S->evo) gsl_odeiv2_evolve_free(S->evo);
  if (S->con) gsl_odeiv2_control_free(S->con);
  if (S->step) gsl_odeiv2_step_free(S->step);
  free(S);
}

static void *ode_alloc(size_t nmax, size_t d, size_t Kmax)
{
  (void)Kmax;
  ode_state *S = dpm_calloc(1, sizeof *S);
  if (!S) return NULL;
  S->nmax = nmax;
  S->d = d;
  const size_t nd = nmax * d;
  if (!(S->k = dpm_malloc(nd * sizeof(double))) || !(S->y = dpm_malloc(nd * sizeof(double))) ||
      !(S->e = dpm_malloc(nd * sizeof(double)))) {
    ode_free(S);
    return NULL;
  }
  return S;
}

/* ---- the probability flow in t ------------------------------------------------------------------------- */

/* f(x, t) = a(t) x + (1/2) g(t)^2 eps-hat/s(t)  (score = -eps/s) */
typedef struct {
  double a, half_g2_over_s;
} pf_coef;

static int pf_coef_at(const dpm_process *p, double t, double s, pf_coef *c)
{
  const double a = dpm_process_a(p, t), g = dpm_process_g(p, t);
  if (!isfinite(a) || !isfinite(g)) return GSL_EDOM; /* raised by the process */
  c->a = a;
  c->half_g2_over_s = 0.5 * g * g / s;
  return DPM_SUCCESS;
}

/* dx = f(x, t) from the eps-prediction e at t */
static void pf_rhs(const pf_coef *c, size_t nd, const double *x, const double *e, double *dx)
{
  for (size_t k = 0; k < nd; k++)
    dx[k] = c->a * x[k] + c->half_g2_over_s * e[k];
}

/* Evaluate f at timeline point k (eps into e, reusing the driver's evaluation when ready) */
static int pf_eval_point(dpm_sampler_step *st, size_t k, const double *x, double *e, double *dx)
{
  const dpm_timeline *tl = st->pb->tl;
  pf_coef c;
  int rc = dpm_sampler_step_eval(st, k, x, e, NULL);
  if (rc) return rc;
  if ((rc = pf_coef_at(tl->proc, tl->t[k], tl->s[k], &c))) return rc;
  pf_rhs(&c, st->n * st->d, x, e, dx);
  return DPM_SUCCESS;
}

/* Evaluate f at any time t of the process */
static int pf_eval_t(dpm_sampler_step *st, double t, const double *x, double *e, double *dx)
{
  double m, s;
  int rc = dpm_process_ms(st->pb->tl->proc, t, &m, &s);
  if (rc) return rc;
  if ((rc = dpm_sampler_step_eval_t(st, t, x, e, NULL))) return rc;
  pf_coef c;
  if ((rc = pf_coef_at(st->pb->tl->proc, t, s, &c))) return rc;
  pf_rhs(&c, st->n * st->d, x, e, dx);
  return DPM_SUCCESS;
}

/* The step into s = 0 (a grid ending at t = 0, e.g. a DDPM trajectory): the flow's eps/s is singular there, so
 * every ODE entry takes EDM's final Euler step in sigma, which lands on the Tweedie estimate:
 * x_b = m_b x0-hat(x_a). One NFE. */
static int final_step(dpm_sampler_step *st)
{
  const dpm_timeline *tl = st->pb->tl;
  const size_t i = st->i, nd = st->n * st->d;
  double *x0 = st->work;
  int rc = dpm_sampler_step_eval(st, i, st->x, NULL, x0);
  if (rc) return rc;
  const double mb = tl->m[i + 1];
  for (size_t k = 0; k < nd; k++)
    st->x[k] = mb * x0[k];
  return DPM_SUCCESS;
}

/* ode-euler: x_b = x_a + h f(x_a, t_a), h = t_b - t_a */
static int euler_apply(void *state, dpm_sampler_step *st)
{
  ode_state *S = state;
  const dpm_timeline *tl = st->pb->tl;
  const size_t i = st->i, nd = st->n * st->d;
  if (!(tl->s[i + 1] > 0.0)) return final_step(st);
  int rc = pf_eval_point(st, i, st->x, st->eval, S->k);
  if (rc) return rc;
  const double h = tl->t[i + 1] - tl->t[i];
  for (size_t k = 0; k < nd; k++)
    st->x[k] += h * S->k[k];
  return DPM_SUCCESS;
}

/* heun: predictor y = x_a + h f(x_a, t_a), corrector x_b = x_a + (h/2)(f(x_a, t_a) + f(y, t_b)) */
static int heun_apply(void *state, dpm_sampler_step *st)
{
  ode_state *S = state;
  const dpm_timeline *tl = st->pb->tl;
  const size_t i = st->i, nd = st->n * st->d;
  if (!(tl->s[i + 1] > 0.0)) return final_step(st);
  double *x = st->x, *k1 = S->k, *y = S->y, *k2 = st->work;
  int rc = pf_eval_point(st, i, x, st->eval, k1);
  if (rc) return rc;
  const double h = tl->t[i + 1] - tl->t[i];
  for (size_t k = 0; k < nd; k++)
    y[k] = x[k] + h * k1[k];
  if ((rc = pf_eval_point(st, i + 1, y, S->e, k2))) return rc;
  for (size_t k = 0; k < nd; k++)
    x[k] += 0.5 * h * (k1[k] + k2[k]);
  return DPM_SUCCESS;
}

/* rk4: the classical four stages at t_a, t_a + h/2 (twice), t_b */
static int rk4_apply(void *state, dpm_sampler_step *st)
{
  ode_state *S = state;
  const dpm_timeline *tl = st->pb->tl;
  const size_t i = st->i, nd = st->n * st->d;
  if (!(tl->s[i + 1] > 0.0)) return final_step(st);
  double *x = st->x, *acc = S->k, *y = S->y, *kj = st->work, *e = S->e;
  const double ta = tl->t[i], h = tl->t[i + 1] - ta, tm = ta + 0.5 * h;
  int rc = pf_eval_point(st, i, x, st->eval, kj); /* k1 */
  if (rc) return rc;
  for (size_t k = 0; k < nd; k++) {
    acc[k] = kj[k];
    y[k] = x[k] + 0.5 * h * kj[k];
  }
  if ((rc = pf_eval_t(st, tm, y, e, kj))) return rc; /* k2 */
  for (size_t k = 0; k < nd; k++) {
    acc[k] += 2.0 * kj[k];
    y[k] = x[k] + 0.5 * h * kj[k];
  }
  if ((rc = pf_eval_t(st, tm, y, e, kj))) return rc; /* k3 */
  for (size_t k = 0; k < nd; k++) {
    acc[k] += 2.0 * kj[k];
    y[k] = x[k] + h * kj[k];
  }
  if ((rc = pf_eval_point(st, i + 1, y, e, kj))) return rc; /* k4 */
  for (size_t k = 0; k < nd; k++)
    x[k] += h / 6.0 * (acc[k] + kj[k]);
  return DPM_SUCCESS;
}

/* ---- rk45: GSL's adaptive Runge-Kutta-Fehlberg (4, 5) on the whole batch ------------------------------ */

static int rk45_rhs(double t, const double y[], double dydt[], void *params)
{
  ode_state *S = params;
  dpm_sampler_step *st = S->st;
  /* the stepper may probe the end of the interval only, never beyond it; guard t against rounding past t_b */
  const dpm_timeline *tl = st->pb->tl;
  const double lo = tl->t[st->i + 1], hi = tl->t[st->i];
  if (t < lo) t = lo;
  if (t > hi) t = hi;
  int rc = pf_eval_t(st, t, y, S->e, dydt);
  if (rc) {
    if (!S->status) S->status = rc;
    return GSL_EBADFUNC;
  }
  return GSL_SUCCESS;
}

static int rk45_reset(void *state, const dpm_sampler_problem *pb)
{
  ode_state *S = state;
  const double rtol = pb->par.rtol, atol = pb->par.atol;
  if (!(isfinite(rtol) && isfinite(atol) && rtol >= 0.0 && atol >= 0.0 && rtol + atol > 0.0))
    DPM_ERROR(GSL_EDOM, "rk45: tolerances rtol = %g, atol = %g must be finite, >= 0 and not both 0", rtol, atol);
  if (!S->con && !(S->con = gsl_odeiv2_control_y_new(atol, rtol)))
    DPM_ERROR(GSL_ENOMEM, "rk45: no memory for the step-size control");
  int rc = gsl_odeiv2_control_init(S->con, atol, rtol, 1.0, 0.0);
  if (rc) DPM_ERROR(rc, "rk45: step-size control refused rtol = %g, atol = %g", rtol, atol);
  S->h = 0.0;
  return DPM_SUCCESS;
}

/* Integrate from t_a to t_b with as many internal steps as the tolerance needs (variable NFE). The stepper works
 * on the batch as one system of dimension n d, so one right-hand side is one NFE for all points. */
static int rk45_apply(void *state, dpm_sampler_step *st)
{
  ode_state *S = state;
  const dpm_timeline *tl = st->pb->tl;
  const size_t i = st->i, dim = st->n * st->d;
  if (!(tl->s[i + 1] > 0.0)) return final_step(st);
  if (S->dim != dim) { /* once per run at most: the stepper's workspace has the batch's dimension */
    if (S->evo) gsl_odeiv2_evolve_free(S->evo);
    if (S->step) gsl_odeiv2_step_free(S->step);
    S->evo = NULL;
    S->step = NULL;
    S->dim = 0;
    if (!(S->step = gsl_odeiv2_step_alloc(gsl_odeiv2_step_rkf45, dim)) || !(S->evo = gsl_odeiv2_evolve_alloc(dim)))
      DPM_ERROR(GSL_ENOMEM, "rk45: no memory for a system of dimension %zu", dim);
    S->dim = dim;
  }
  gsl_odeiv2_step_reset(S->step);
  gsl_odeiv2_evolve_reset(S->evo);
  gsl_odeiv2_system sys = {rk45_rhs, NULL, dim, S};
  S->st = st;
  S->status = DPM_SUCCESS;
  double t = tl->t[i];
  const double t1 = tl->t[i + 1];
  double h = S->h < 0.0 && S->h > t1 - t ? S->h : t1 - t; /* the last step size, or the whole interval */
  while (t > t1) {
    int rc = gsl_odeiv2_evolve_apply(S->evo, S->con, S->step, &sys, &t, t1, &h, st->x);
    if (S->status) return S->status;
    if (rc) DPM_ERROR(rc, "rk45: the adaptive solve failed at t = %.17g (step %.3g): %s", t, h, gsl_strerror(rc));
  }
  S->h = h;
  return DPM_SUCCESS;
}

/* ---- EDM: Heun in sigma on x^ = x/m ------------------------------------------------------------------------ */

/* One Heun step of dx^/dsigma = eps-hat from a start point (log m, s) = (log_ma, sa) that holds x with its
 * eps-prediction e1 already evaluated, to timeline point b. In x: with r = m_b/m_a,
 * Euler y = r x + (s_b - r s_a) e1 (DDIM's deterministic step), then x_b = r x + (s_b - r s_a)(e1 + e2)/2 with
 * e2 = eps-hat(y) at b; into s_b = 0 the Euler step alone (= m_b x0-hat). */
static int heun_sigma(ode_state *S, dpm_sampler_step *st, double log_ma, double sa, const double *e1, size_t b)
{
  const dpm_timeline *tl = st->pb->tl;
  const size_t nd = st->n * st->d;
  const double r = exp(tl->log_m[b] - log_ma), ce = tl->s[b] - r * sa;
  double *x = st->x, *y = S->y, *e2 = S->e;
  for (size_t k = 0; k < nd; k++)
    y[k] = r * x[k] + ce * e1[k];
  if (!(tl->s[b] > 0.0)) {
    memcpy(x, y, nd * sizeof(double));
    return DPM_SUCCESS;
  }
  int rc = dpm_sampler_step_eval(st, b, y, e2, NULL);
  if (rc) return rc;
  for (size_t k = 0; k < nd; k++)
    x[k] = r * x[k] + 0.5 * ce * (e1[k] + e2[k]);
  return DPM_SUCCESS;
}

static int edm_heun_apply(void *state, dpm_sampler_step *st)
{
  const dpm_timeline *tl = st->pb->tl;
  const size_t i = st->i;
  int rc = dpm_sampler_step_eval(st, i, st->x, st->eval, NULL);
  if (rc) return rc;
  return heun_sigma(state, st, tl->log_m[i], tl->s[i], st->eval, i + 1);
}

static int edm_stochastic_reset(void *state, const dpm_sampler_problem *pb)
{
  (void)state;
  const dpm_sampler_params *par = &pb->par;
  if (!(isfinite(par->s_churn) && par->s_churn >= 0.0))
    DPM_ERROR(GSL_EDOM, "edm-stochastic: S_churn = %g must be finite and >= 0", par->s_churn);
  if (!(par->s_tmin >= 0.0 && par->s_tmax >= par->s_tmin))
    DPM_ERROR(GSL_EDOM, "edm-stochastic: need 0 <= S_tmin <= S_tmax (got %g, %g)", par->s_tmin, par->s_tmax);
  if (!(isfinite(par->s_noise) && par->s_noise >= 0.0))
    DPM_ERROR(GSL_EDOM, "edm-stochastic: S_noise = %g must be finite and >= 0", par->s_noise);
  return DPM_SUCCESS;
}

/* Karras et al. 2022, Algorithm 2 for any process, in sigma = s/m on x^ = x/m: gamma = min(S_churn/K, sqrt2 - 1)
 * when S_tmin <= sigma_a <= S_tmax (else 0); sigma^ = (1 + gamma) sigma_a; x^ += sqrt(sigma^2 - sigma_a^2)
 * S_noise z; then the Heun step from sigma^ to sigma_b. The churned point is evaluated on the process at
 * t(sigma^) when sigma^ <= sigma(t_max), else at (m_a, m_a sigma^) (the same x^ and sigma: for the exact
 * denoiser the same prediction, docs/MATH.md §1.4). gamma = 0 is edm-heun's step bit for bit. */
static int edm_stochastic_apply(void *state, dpm_sampler_step *st)
{
  ode_state *S = state;
  const dpm_sampler_params *par = &st->pb->par;
  const dpm_timeline *tl = st->pb->tl;
  const dpm_process *p = tl->proc;
  const size_t i = st->i, nd = st->n * st->d;
  const double sig_a = tl->s[i] / tl->m[i];
  double gamma = 0.0;
  if (par->s_churn > 0.0 && sig_a >= par->s_tmin && sig_a <= par->s_tmax)
    gamma = fmin(par->s_churn / (double)tl->K, M_SQRT2 - 1.0);
  if (gamma == 0.0) return edm_heun_apply(state, st);
  const double sig_h = (1.0 + gamma) * sig_a, sig_max = dpm_process_sigma(p, p->t_max);
  double log_mh = tl->log_m[i], mh, sh;
  if (sig_h <= sig_max) {
    const double th = dpm_process_t_of_sigma(p, sig_h);
    int rc = dpm_process_ms(p, th, &mh, &sh);
    if (rc) return rc;
    log_mh = dpm_process_log_m(p, th);
  } else {
    mh = tl->m[i];
    sh = tl->m[i] * sig_h;
  }
  /* x_hat = m^ x^ + m^ sqrt(sigma^2 - sigma_a^2) S_noise z, with x^ = x/m_a */
  const double r = exp(log_mh - tl->log_m[i]), cz = mh * sqrt(sig_h * sig_h - sig_a * sig_a) * par->s_noise;
  double *z = st->z, *x = st->x;
  dpm_sampler_step_noise(st, z);
  for (size_t k = 0; k < nd; k++)
    x[k] = r * x[k] + cz * z[k];
  int rc = dpm_sampler_step_eval_ms(st, mh, sh, x, S->k, NULL);
  if (rc) return rc;
  return heun_sigma(S, st, log_mh, sh, S->k, i + 1);
}

/* ---- the entries -------------------------------------------------------------------------------------------- */

#define PF_REF "Song et al. 2021, eq. (13)"

const dpm_sampler_type dpm_sampler_ode_euler = {
    "ode-euler",
    "ode",
    PF_REF " (probability flow), Euler in t",
    "Euler's method on the probability-flow ODE in the process's time t",
    1,
    0,
    1,
    DPM_SAMPLER_NEEDS_SDE | DPM_SAMPLER_PREDICTS_EPS,
    NAN,
    ode_alloc,
    NULL,
    euler_apply,
    ode_free};

const dpm_sampler_type dpm_sampler_heun = {
    "heun",
    "ode",
    PF_REF " with Heun's method in t (Karras et al. 2022, Algorithm 1 in t)",
    "Heun (explicit trapezoidal, 2nd order) on the probability-flow ODE in t; the step into s = 0 is Euler",
    2,
    0,
    2,
    DPM_SAMPLER_NEEDS_SDE | DPM_SAMPLER_PREDICTS_EPS,
    NAN,
    ode_alloc,
    NULL,
    heun_apply,
    ode_free};

const dpm_sampler_type dpm_sampler_rk4 = {"rk4",
                                          "ode",
                                          PF_REF " with the classical Runge-Kutta method in t",
                                          "classical 4-stage Runge-Kutta on the probability-flow ODE in t",
                                          4,
                                          0,
                                          4,
                                          DPM_SAMPLER_NEEDS_SDE | DPM_SAMPLER_PREDICTS_EPS,
                                          NAN,
                                          ode_alloc,
                                          NULL,
                                          rk4_apply,
                                          ode_free};

const dpm_sampler_type dpm_sampler_rk45 = {
    "rk45",
    "ode",
    PF_REF " with adaptive Runge-Kutta-Fehlberg (4, 5) (GSL odeiv2 rkf45)",
    "adaptive RK45 on the probability-flow ODE between grid points (--rtol, --atol; variable NFE)",
    5,
    0,
    0,
    DPM_SAMPLER_NEEDS_SDE | DPM_SAMPLER_PREDICTS_EPS,
    NAN,
    ode_alloc,
    rk45_reset,
    rk45_apply,
    ode_free};

const dpm_sampler_type dpm_sampler_edm_heun = {
    "edm-heun",
    "ode",
    "Karras et al. 2022, Algorithm 1 (dx^/dsigma = (x^ - D(x^; sigma))/sigma on x^ = x/m, eqs. (1), (3))",
    "EDM's deterministic Heun sampler in sigma = s/m; Euler predictor = the DDIM step; the step to sigma = 0 is "
    "Euler",
    2,
    0,
    2,
    DPM_SAMPLER_PREDICTS_EPS,
    NAN,
    ode_alloc,
    NULL,
    edm_heun_apply,
    ode_free};

const dpm_sampler_type dpm_sampler_edm_stochastic = {
    "edm-stochastic",
    "sde",
    "Karras et al. 2022, Algorithm 2 (S_churn, S_tmin, S_tmax, S_noise)",
    "EDM's stochastic sampler: churn sigma up by gamma = min(S_churn/K, sqrt2 - 1), then a Heun step in sigma",
    2,
    0,
    2,
    DPM_SAMPLER_STOCHASTIC | DPM_SAMPLER_PREDICTS_EPS,
    NAN,
    ode_alloc,
    edm_stochastic_reset,
    edm_stochastic_apply,
    ode_free};
