/* ge.c — the gradient-estimation sampler of Permenter & Yuan 2023 (Interpreting and improving diffusion models
 * from an optimization perspective, Algorithm 2) and its stochastic variant as entries of the sampler table: in VE
 * coordinates x^ = x/m, sigma = s/m (every process's flow is dx^/dsigma = eps-hat, docs/MATH.md §1.4), DDIM's step
 * x^_{t-1} = x^_t + (sigma_{t-1} - sigma_t) eps-bar_t with the extrapolated direction
 * eps-bar_t = eps(x_{t+1}) + gamma (eps(x_t) - eps(x_{t+1})) (docs/MATH.md §2.8, §4.2; update rules in
 * docs/samplers.md). */
#include <math.h>
#include <stdlib.h>

#include "dpm_common.h"
#include "dpm_sampler.h"

static int ge_reset(void *state, const dpm_sampler_problem *pb)
{
  (void)state;
  if (!isfinite(pb->par.ge_gamma)) DPM_ERROR(GSL_EDOM, "gamma = %g must be finite", pb->par.ge_gamma);
  return DPM_SUCCESS;
}

/* Step i from point a = i to b = i + 1. In x = m x^ the VE step of either entry reads
 *   x_b = r x_a + (m_b sigma' - r s_a) eps-bar + m_b sqrt(sigma_b^2 - sigma'^2) z,   r = m_b/m_a,
 * with sigma' = sigma_b (ge: no noise) or sigma' = sigma_b^2/sigma_a (ge-stochastic: mu = 1/2 of the authors'
 * smalldiffusion `samples`, DDPM at gamma = 1).
 * These are exactly DDIM's coefficients (dpm_sampler_ddim_coef_get) at eta = 0 and eta = 1: with eta = 1,
 * lambda^2 = m_b^2 (sigma_b^2 - sigma'^2) and sqrt(s_b^2 - lambda^2) = m_b sigma', so they are taken from there
 * (through the exact transition: no cancellation in 1 - sigma_b^2/sigma_a^2 on fine grids).
 * eps-bar = eps_a + (gamma - 1)(eps_a - eps_prev) (= eps_prev + gamma (eps_a - eps_prev)), so gamma = 1 is DDIM's
 * step bit for bit; the first step (no previous evaluation) and the step into s = 0 (Tweedie, m_b x0-hat) use
 * eps-bar = eps_a. eps_a goes to this step's slot of the history ring (hist[0] of the next step). */
static int ge_step(dpm_sampler_step *st, double eta)
{
  const dpm_timeline *tl = st->pb->tl;
  const size_t i = st->i, nd = st->n * st->d;
  double *x = st->x, *eps = st->eval, *z = st->z;
  int rc = dpm_sampler_step_eval(st, i, x, eps, NULL);
  if (rc) return rc;
  const int final = !(tl->s[i + 1] > 0.0);
  dpm_sampler_ddim_coef c;
  if ((rc = dpm_sampler_ddim_coef_get(tl, i, final ? 0.0 : eta, &c))) return rc;
  const double g1 = st->pb->par.ge_gamma - 1.0;
  const double *prev = st->nhist > 0 && !final ? st->hist[0] : NULL;
  const double sd = sqrt(c.lambda2);
  if (sd > 0.0) dpm_sampler_step_noise(st, z);
  for (size_t k = 0; k < nd; k++) {
    const double e = prev ? eps[k] + g1 * (eps[k] - prev[k]) : eps[k];
    double v = c.r * x[k] + c.ce * e;
    if (sd > 0.0) v += sd * z[k];
    x[k] = v;
  }
  return DPM_SUCCESS;
}

static int ge_apply(void *state, dpm_sampler_step *st) { return (void)state, ge_step(st, 0.0); }
static int ge_stochastic_apply(void *state, dpm_sampler_step *st) { return (void)state, ge_step(st, 1.0); }

#define GE_REF "Permenter & Yuan 2023, Algorithm 2"

const dpm_sampler_type dpm_sampler_ge = {
    .name = "ge",
    .kind = "deterministic",
    .reference = GE_REF " (gradient estimation: eps-bar = eps(x_{t+1}) + gamma (eps(x_t) - eps(x_{t+1})))",
    .description = "gradient-estimation sampler: DDIM in sigma with eps-bar extrapolated from the last two "
                   "evaluations (--gamma G, default 2; 1 NFE per step)",
    .order = 1,
    .history = 1,
    .nfe_per_step = 1,
    .flags = DPM_SAMPLER_PREDICTS_EPS,
    .eta_default = NAN,
    .alloc = NULL,
    .reset = ge_reset,
    .apply = ge_apply,
    .free = NULL};

const dpm_sampler_type dpm_sampler_ge_stochastic = {
    .name = "ge-stochastic",
    .kind = "ancestral",
    .reference = GE_REF " with noise (sigma' = sigma_{t-1}^2/sigma_t, noise sqrt(sigma_{t-1}^2 - sigma'^2))",
    .description = "stochastic gradient-estimation sampler: step to sigma' = sigma_{t-1}^2/sigma_t along eps-bar, "
                   "then noise back up to sigma_{t-1} (--gamma G, default 2)",
    .order = 1,
    .history = 1,
    .nfe_per_step = 1,
    .flags = DPM_SAMPLER_STOCHASTIC | DPM_SAMPLER_PREDICTS_EPS,
    .eta_default = NAN,
    .alloc = NULL,
    .reset = ge_reset,
    .apply = ge_stochastic_apply,
    .free = NULL};
