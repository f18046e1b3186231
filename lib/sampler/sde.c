/* sde.c — the reverse-SDE samplers as entries of the sampler table: Euler–Maruyama of the reverse SDE (Song et al.
 * ICLR 2021, eq. (6)), score_sde's reverse-diffusion and ancestral predictors (ibid., App. E and F) and its
 * predictor–corrector sampler with the Langevin corrector at a target signal-to-noise ratio (ibid., App. G,
 * Algorithms 2-5), annealed Langevin dynamics (Song & Ermon, NeurIPS 2019, Algorithm 1) and Restart sampling (Xu
 * et al., NeurIPS 2023, Algorithm 1); docs/MATH.md §4, update rules in docs/samplers.md. Every step sees the model
 * only through dpm_sampler_step_eval (score = -eps/s) and the process only through its table functions, so each
 * entry runs with any denoiser on any process it supports. */
#include <math.h>
#include <stdlib.h>

#include "dpm_common.h"
#include "dpm_sampler.h"

/* ---- shared pieces ------------------------------------------------------------------------------------------ */

/* The step's end point gets noise unless it is the noise-free end (s = 0) and final_noise is off. */
static int step_adds_noise(const dpm_sampler_step *st)
{
  return st->pb->tl->s[st->i + 1] > 0.0 || st->pb->par.final_noise;
}

/* The exact forward transition of the step: x_a = m_ab x_b + s_ab eps (a = i, b = i + 1). */
static int step_transition(const dpm_sampler_step *st, double *m_ab, double *s_ab)
{
  const dpm_timeline *tl = st->pb->tl;
  return dpm_process_transition(tl->proc, tl->t[st->i + 1], tl->t[st->i], m_ab, s_ab);
}

/* 1 for processes with m = 1 (VE, EDM), where score_sde's samplers take their VE forms */
static int exploding(const dpm_process *p) { return p->kind == DPM_PROCESS_VE || p->kind == DPM_PROCESS_EDM; }

/* ---- euler-maruyama ------------------------------------------------------------------------------------------
 * x_b = x_a - h [a(t_a) x_a - g(t_a)^2 score] + g(t_a) sqrt(h) z,  h = t_a - t_b,  score = -eps/s_a. */
static int em_apply(void *state, dpm_sampler_step *st)
{
  (void)state;
  const dpm_timeline *tl = st->pb->tl;
  const size_t i = st->i, nd = st->n * st->d;
  const double ta = tl->t[i], h = ta - tl->t[i + 1];
  const double fa = dpm_process_a(tl->proc, ta), g = dpm_process_g(tl->proc, ta);
  if (!isfinite(fa) || !isfinite(g)) return GSL_EDOM; /* raised by the process */
  double *eps = st->eval, *x = st->x, *z = st->z;
  int rc = dpm_sampler_step_eval(st, i, x, eps, NULL);
  if (rc) return rc;
  const int noise = step_adds_noise(st);
  if (noise) dpm_sampler_step_noise(st, z);
  const double c = g * g / tl->s[i], sq = g * sqrt(h);
  for (size_t k = 0; k < nd; k++) {
    double v = x[k] - h * (fa * x[k] + c * eps[k]);
    if (noise) v += sq * z[k];
    x[k] = v;
  }
  return DPM_SUCCESS;
}

/* ---- reverse-diffusion ---------------------------------------------------------------------------------------
 * The forward chain discretised by its exact transition, x_a = m_ab x_b + s_ab z: f = (m_ab - 1) x, G = s_ab
 * (score_sde's VPSDE / VESDE.discretize: sqrt(alpha_i) = m_ab, sqrt(beta_i) or sqrt(sigma_i^2 - sigma_{i-1}^2) =
 * s_ab). Reverse: x_b = x_a - f + G^2 score + G z = (2 - m_ab) x_a - (s_ab^2/s_a) eps + s_ab z. */
static int rd_update(dpm_sampler_step *st, const double *eps, int noise)
{
  double m_ab, s_ab;
  int rc = step_transition(st, &m_ab, &s_ab);
  if (rc) return rc;
  const size_t nd = st->n * st->d;
  double *x = st->x, *z = st->z;
  if (noise) dpm_sampler_step_noise(st, z);
  const double cx = 2.0 - m_ab, ce = s_ab * s_ab / st->pb->tl->s[st->i];
  for (size_t k = 0; k < nd; k++) {
    double v = cx * x[k] - ce * eps[k];
    if (noise) v += s_ab * z[k];
    x[k] = v;
  }
  return DPM_SUCCESS;
}

static int rd_apply(void *state, dpm_sampler_step *st)
{
  (void)state;
  int rc = dpm_sampler_step_eval(st, st->i, st->x, st->eval, NULL);
  return rc ? rc : rd_update(st, st->eval, step_adds_noise(st));
}

/* ---- ancestral -----------------------------------------------------------------------------------------------
 * score_sde's AncestralSamplingPredictor. VP form (VP, sub-VP, DDPM; beta_i -> s_ab^2, sqrt(1 - beta_i) -> m_ab,
 * exact on VP where s_ab^2 = 1 - m_ab^2): x_b = (x_a + s_ab^2 score)/m_ab + s_ab z. VE form (VE, EDM; sigma_i^2 -
 * sigma_{i-1}^2 -> s_ab^2 = s_a^2 - s_b^2): x_b = x_a + s_ab^2 score + (s_b s_ab / s_a) z. */
static int anc_apply(void *state, dpm_sampler_step *st)
{
  (void)state;
  const dpm_timeline *tl = st->pb->tl;
  const size_t i = st->i, nd = st->n * st->d;
  double m_ab, s_ab;
  int rc = step_transition(st, &m_ab, &s_ab);
  if (rc) return rc;
  double *eps = st->eval, *x = st->x, *z = st->z;
  if ((rc = dpm_sampler_step_eval(st, i, x, eps, NULL))) return rc;
  const int noise = step_adds_noise(st);
  if (noise) dpm_sampler_step_noise(st, z);
  const double s2 = s_ab * s_ab, sa = tl->s[i];
  double cx, ce, sd;
  if (exploding(tl->proc)) {
    cx = 1.0;
    ce = s2 / sa;
    sd = tl->s[i + 1] * s_ab / sa;
  } else {
    cx = 1.0 / m_ab;
    ce = s2 / (sa * m_ab);
    sd = s_ab;
  }
  for (size_t k = 0; k < nd; k++) {
    double v = cx * x[k] - ce * eps[k];
    if (noise) v += sd * z[k];
    x[k] = v;
  }
  return DPM_SUCCESS;
}

/* ---- the Langevin corrector and pc ---------------------------------------------------------------------------
 * score_sde's LangevinCorrector at point k, C times: z ~ N(0, I), step = 2 alpha (r |z| / |score|)^2,
 * x <- x + step score + sqrt(2 step) z, with alpha = m_ab^2 (alpha_i = 1 - beta_i) on VP, sub-VP and DDPM, 1 on VE
 * and EDM. As in score_sde the norms |z| and |score| are averaged over the batch (one step size for all samples:
 * a per-sample ratio |z|/|score| is heavy-tailed in low dimension); the averages are summed in sample order, so
 * the result is still the same bits for any number of threads. */
static int langevin_correct(dpm_sampler_step *st, size_t k, double alpha, unsigned C)
{
  const dpm_timeline *tl = st->pb->tl;
  const size_t n = st->n, d = st->d, nd = n * d;
  const double r = st->pb->par.snr, s = tl->s[k];
  double *eps = st->eval, *x = st->x, *z = st->z;
  for (unsigned c = 0; c < C; c++) {
    int rc = dpm_sampler_step_eval(st, k, x, eps, NULL);
    if (rc) return rc;
    dpm_sampler_step_noise(st, z);
    double gn = 0.0, zn = 0.0;
    for (size_t j = 0; j < n; j++) {
      double g2 = 0.0, z2 = 0.0;
      for (size_t l = 0; l < d; l++) {
        g2 += eps[j * d + l] * eps[j * d + l];
        z2 += z[j * d + l] * z[j * d + l];
      }
      gn += sqrt(g2);
      zn += sqrt(z2);
    }
    gn /= (double)n * s; /* |score| = |eps|/s */
    zn /= (double)n;
    if (!(gn > 0.0)) continue; /* the score vanishes: nothing to correct (step size undefined) */
    const double step = 2.0 * alpha * (r * zn / gn) * (r * zn / gn), sq = sqrt(2.0 * step), ce = step / s;
    for (size_t q = 0; q < nd; q++)
      x[q] += sq * z[q] - ce * eps[q];
  }
  return DPM_SUCCESS;
}

static int pc_check(const dpm_sampler_problem *pb)
{
  if (!(pb->par.snr > 0.0 && isfinite(pb->par.snr)))
    DPM_ERROR(GSL_EDOM, "--snr must be a finite number > 0 (got %g)", pb->par.snr);
  if (pb->par.corrector_steps > 1000)
    DPM_ERROR(GSL_EDOM, "--corrector-steps must be at most 1000 (got %u)", pb->par.corrector_steps);
  return DPM_SUCCESS;
}

static int pc_reset(void *state, const dpm_sampler_problem *pb) { return (void)state, pc_check(pb); }

/* corrector at t_a (score_sde's pc_sampler: corrector, then predictor), then the reverse-diffusion predictor */
static int pc_apply(void *state, dpm_sampler_step *st)
{
  (void)state;
  double m_ab, s_ab;
  int rc = step_transition(st, &m_ab, &s_ab);
  if (rc) return rc;
  const double alpha = exploding(st->pb->tl->proc) ? 1.0 : m_ab * m_ab;
  if ((rc = langevin_correct(st, st->i, alpha, st->pb->par.corrector_steps))) return rc;
  return rd_apply(state, st);
}

int dpm_sampler_langevin_correct(dpm_sampler_step *st, size_t k, double alpha, unsigned steps)
{
  if (!st || !st->pb || !st->pb->tl || k > st->pb->tl->K)
    DPM_ERROR(GSL_EINVAL, "Langevin corrector: NULL step or point %zu outside the timeline", k);
  if (!(st->pb->tl->s[k] > 0.0)) DPM_ERROR(GSL_EDOM, "Langevin corrector: s = 0 at point %zu", k);
  if (!(alpha > 0.0 && isfinite(alpha))) DPM_ERROR(GSL_EDOM, "Langevin corrector: alpha = %g", alpha);
  int rc = pc_check(st->pb);
  return rc ? rc : langevin_correct(st, k, alpha, steps);
}

/* ---- langevin (annealed Langevin dynamics) -------------------------------------------------------------------
 * NCSN's levels are the timeline's points after the start: step i anneals at level b = i + 1 with
 * alpha_b = eps s_b^2 / s_K^2 and takes T steps x <- x + (alpha_b/2) score(x, t_b) + sqrt(alpha_b) z. */
static int ald_reset(void *state, const dpm_sampler_problem *pb)
{
  (void)state;
  const dpm_timeline *tl = pb->tl;
  if (!(tl->s[tl->K] > 0.0))
    DPM_ERROR(GSL_EDOM, "annealed Langevin needs s > 0 at every level (the grid ends at s = 0)");
  const double e = pb->par.langevin_eps;
  if (!isnan(e) && !(e > 0.0 && isfinite(e))) DPM_ERROR(GSL_EDOM, "Langevin epsilon must be > 0 (got %g)", e);
  if (pb->par.langevin_steps < 1 || pb->par.langevin_steps > 100000)
    DPM_ERROR(GSL_EDOM, "Langevin steps per level must be in [1, 100000] (got %u)", pb->par.langevin_steps);
  return DPM_SUCCESS;
}

static int ald_apply(void *state, dpm_sampler_step *st)
{
  (void)state;
  const dpm_timeline *tl = st->pb->tl;
  const size_t b = st->i + 1, nd = st->n * st->d;
  const double sL = tl->s[tl->K], sb = tl->s[b];
  const double e = isnan(st->pb->par.langevin_eps) ? sL * sL : st->pb->par.langevin_eps;
  const double alpha = e * (sb / sL) * (sb / sL), sq = sqrt(alpha), ce = 0.5 * alpha / sb;
  double *eps = st->eval, *x = st->x, *z = st->z;
  for (unsigned it = 0; it < st->pb->par.langevin_steps; it++) {
    int rc = dpm_sampler_step_eval(st, b, x, eps, NULL);
    if (rc) return rc;
    dpm_sampler_step_noise(st, z);
    for (size_t k = 0; k < nd; k++)
      x[k] += sq * z[k] - ce * eps[k];
  }
  return DPM_SUCCESS;
}

/* ---- restart ---------------------------------------------------------------------------------------------------
 * Heun steps of the probability-flow ODE dx/dt = a(t) x + g(t)^2 eps / (2 s) along the grid (Euler into s = 0);
 * after the step that first reaches sigma = s/m <= RESTART_SIGMA_MIN (from above), RESTART_K times: re-noise
 * forward by the exact transition to the time of sigma = RESTART_SIGMA_MAX and come back to that grid point
 * with RESTART_N Heun steps on EDM's rho = 7 schedule in sigma. */
enum { RESTART_K = 2, RESTART_N = 3 };
#define RESTART_SIGMA_MIN 0.06
#define RESTART_SIGMA_MAX 0.30

typedef struct {
  double *e1, *e2, *xp; /* nmax x d */
} restart_state;

static void restart_free(void *state)
{
  restart_state *S = state;
  if (!S) return;
  free(S->e1);
  free(S->e2);
  free(S->xp);
  free(S);
}

static void *restart_alloc(size_t nmax, size_t d, size_t Kmax)
{
  (void)Kmax;
  restart_state *S = dpm_calloc(1, sizeof *S);
  if (!S) return NULL;
  const size_t bytes = nmax * d * sizeof(double);
  if (!(S->e1 = dpm_malloc(bytes)) || !(S->e2 = dpm_malloc(bytes)) || !(S->xp = dpm_malloc(bytes))) {
    restart_free(S);
    return NULL;
  }
  return S;
}

/* eps at time t of the process (one NFE, through the driver: its NFE count and error context) */
static int eval_at(dpm_sampler_step *st, double t, const double *x, double *eps)
{
  return dpm_sampler_step_eval_t(st, t, x, eps, NULL);
}

/* drift coefficients of the probability-flow ODE at t: dx/dt = ca x + ce eps */
static int pf_coef(const dpm_process *p, double t, double *ca, double *ce)
{
  double m, s;
  int rc = dpm_process_ms(p, t, &m, &s);
  if (rc) return rc;
  const double g = dpm_process_g(p, t);
  *ca = dpm_process_a(p, t);
  *ce = 0.5 * g * g / s;
  return isfinite(*ca) && isfinite(*ce) ? DPM_SUCCESS : GSL_EDOM;
}

/* One Heun step of the ODE from ta to tb (< ta) on x, with e1 = eps(x, ta) already evaluated (Euler when s(tb) =
 * 0, EDM's Algorithm 1 convention). */
static int heun(dpm_sampler_step *st, restart_state *S, double ta, double tb, double sb)
{
  const size_t nd = st->n * st->d;
  const dpm_process *p = st->pb->tl->proc;
  double a1, c1, a2, c2;
  int rc = pf_coef(p, ta, &a1, &c1);
  if (rc) return rc;
  const double h = tb - ta; /* < 0 */
  double *x = st->x, *xp = S->xp, *e1 = S->e1, *e2 = S->e2;
  for (size_t k = 0; k < nd; k++)
    xp[k] = x[k] + h * (a1 * x[k] + c1 * e1[k]);
  if (!(sb > 0.0)) {
    for (size_t k = 0; k < nd; k++)
      x[k] = xp[k];
    return DPM_SUCCESS;
  }
  if ((rc = eval_at(st, tb, xp, e2)) || (rc = pf_coef(p, tb, &a2, &c2))) return rc;
  for (size_t k = 0; k < nd; k++)
    x[k] += 0.5 * h * (a1 * x[k] + c1 * e1[k] + a2 * xp[k] + c2 * e2[k]);
  return DPM_SUCCESS;
}

static int restart_apply(void *state, dpm_sampler_step *st)
{
  restart_state *S = state;
  const dpm_timeline *tl = st->pb->tl;
  const dpm_process *p = tl->proc;
  const size_t i = st->i, b = i + 1, nd = st->n * st->d;
  int rc = eval_at(st, tl->t[i], st->x, S->e1);
  if (rc || (rc = heun(st, S, tl->t[i], tl->t[b], tl->s[b]))) return rc;
  const double sig_a = tl->s[i] / tl->m[i], sig_b = tl->s[b] > 0.0 ? tl->s[b] / tl->m[b] : 0.0;
  if (!(sig_b > 0.0 && sig_b <= RESTART_SIGMA_MIN && sig_a > RESTART_SIGMA_MIN)) return DPM_SUCCESS;
  const double smax = dpm_process_sigma(p, p->t_max);
  if (!(smax > RESTART_SIGMA_MAX)) return DPM_SUCCESS; /* the process never reaches the interval's top */
  const double t_hi = dpm_process_t_of_sigma(p, RESTART_SIGMA_MAX);
  double m_fw, s_fw, sig[RESTART_N + 1];
  if ((rc = dpm_process_transition(p, tl->t[b], t_hi, &m_fw, &s_fw))) return rc;
  if ((rc = dpm_grid_edm_sigma(sig_b, RESTART_SIGMA_MAX, 7.0, RESTART_N + 1, sig))) return rc;
  double *x = st->x, *z = st->z;
  for (int r = 0; r < RESTART_K; r++) {
    dpm_sampler_step_noise(st, z); /* forward: x_hi = m_fw x_b + s_fw z, the exact transition */
    for (size_t k = 0; k < nd; k++)
      x[k] = m_fw * x[k] + s_fw * z[k];
    for (size_t j = 0; j < RESTART_N; j++) {
      const double ta = j == 0 ? t_hi : dpm_process_t_of_sigma(p, sig[j]);
      const double tb = j + 1 == RESTART_N ? tl->t[b] : dpm_process_t_of_sigma(p, sig[j + 1]);
      double mb, sb;
      if ((rc = dpm_process_ms(p, tb, &mb, &sb)) || (rc = eval_at(st, ta, x, S->e1)) ||
          (rc = heun(st, S, ta, tb, sb)))
        return rc;
    }
  }
  return DPM_SUCCESS;
}

/* ---- the entries
 * ------------------------------------------------------------------------------------------------ */

const dpm_sampler_type dpm_sampler_euler_maruyama = {
    "euler-maruyama",
    "sde",
    "Song et al. 2021, eq. (6); score_sde EulerMaruyamaPredictor",
    "Euler-Maruyama of the reverse SDE dx = [a x - g^2 score] dt + g dB",
    1,
    0,
    1,
    DPM_SAMPLER_STOCHASTIC | DPM_SAMPLER_NEEDS_SDE | DPM_SAMPLER_PREDICTS_EPS,
    NAN,
    NULL,
    NULL,
    em_apply,
    NULL};

const dpm_sampler_type dpm_sampler_reverse_diffusion = {
    "reverse-diffusion",
    "sde",
    "Song et al. 2021, App. E; score_sde ReverseDiffusionPredictor",
    "reverse diffusion: the forward chain's discretisation f, G reversed",
    1,
    0,
    1,
    DPM_SAMPLER_STOCHASTIC | DPM_SAMPLER_PREDICTS_EPS,
    NAN,
    NULL,
    NULL,
    rd_apply,
    NULL};

const dpm_sampler_type dpm_sampler_ancestral = {
    "ancestral",
    "ancestral",
    "Song et al. 2021, App. F; score_sde AncestralSamplingPredictor",
    "ancestral sampling, VP form on VP/sub-VP/DDPM and VE form on VE/EDM",
    1,
    0,
    1,
    DPM_SAMPLER_STOCHASTIC | DPM_SAMPLER_PREDICTS_EPS,
    NAN,
    NULL,
    NULL,
    anc_apply,
    NULL};

const dpm_sampler_type dpm_sampler_pc = {
    "pc",
    "sde",
    "Song et al. 2021, App. G, Algorithms 2-5; score_sde pc_sampler with LangevinCorrector",
    "predictor-corrector: --corrector-steps C Langevin steps at --snr r, then reverse diffusion (NFE 1 + C)",
    1,
    0,
    2, /* 1 + corrector_steps at the default corrector_steps = 1 */
    DPM_SAMPLER_STOCHASTIC | DPM_SAMPLER_PREDICTS_EPS,
    NAN,
    NULL,
    pc_reset,
    pc_apply,
    NULL};

const dpm_sampler_type dpm_sampler_langevin = {
    "langevin",
    "langevin",
    "Song & Ermon 2019, Algorithm 1 (annealed Langevin dynamics)",
    "annealed Langevin dynamics: T steps of size eps s_i^2/s_L^2 at each level (NFE T per step)",
    1,
    0,
    4, /* langevin_steps at its default */
    DPM_SAMPLER_STOCHASTIC | DPM_SAMPLER_PREDICTS_EPS | DPM_SAMPLER_ON(DPM_PROCESS_VE) |
        DPM_SAMPLER_ON(DPM_PROCESS_EDM),
    NAN,
    NULL,
    ald_reset,
    ald_apply,
    NULL};

const dpm_sampler_type dpm_sampler_restart = {
    "restart",
    "sde",
    "Xu et al. 2023, Algorithm 1 (one restart interval sigma in [0.06, 0.30], K = 2, N = 3)",
    "Restart sampling: Heun ODE steps, re-noised forward twice through one interval (variable NFE)",
    2,
    0,
    0,
    DPM_SAMPLER_STOCHASTIC | DPM_SAMPLER_NEEDS_SDE | DPM_SAMPLER_PREDICTS_EPS,
    NAN,
    restart_alloc,
    NULL,
    restart_apply,
    restart_free};
