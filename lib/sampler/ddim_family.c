/* ddim_family.c — the DDIM family as entries of the sampler table: DDPM with sigma^2 = beta or beta~ (Ho et al.
 * 2020, Algorithm 2), DDIM(eta) (Song, Meng, Ermon 2021, eq. (12)), Analytic-DDPM and Analytic-DDIM with the
 * optimal variance sigma*^2 = lambda^2 + (sqrt(bbar_t/alpha_{t|s}) - sqrt(bbar_s - lambda^2))^2 (1 - Gamma_t)
 * (Bao et al. ICLR 2022, Theorem 1 and eq. (9)), and the diagonal-covariance sampler of SN-/NPR-DPM (Bao et al.
 * ICML 2022, eq. (7)); docs/MATH.md §3, update rules in docs/samplers.md. Every step is written for any process
 * of the table through (m, s) and the exact transition, so the same entries run on DDPM schedules and on VP,
 * sub-VP, VE and EDM grids. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dpm_common.h"
#include "dpm_sampler.h"

typedef enum { VAR_BETA, VAR_BETA_TILDE, VAR_LAMBDA, VAR_OPT, VAR_DIAG } var_kind;

typedef struct {
  var_kind var;
  const dpm_sampler_type *type;
  size_t Kmax;
  double *sigma2; /* per step: the reverse variance (VAR_DIAG: lambda^2) */
  double *gamma;  /* per point (VAR_OPT) */
} ddim_state;

static void ddim_free(void *state)
{
  ddim_state *S = state;
  if (!S) return;
  free(S->sigma2);
  free(S->gamma);
  free(S);
}

static void *ddim_alloc_var(size_t Kmax, var_kind var, const dpm_sampler_type *type)
{
  ddim_state *S = dpm_calloc(1, sizeof *S);
  if (!S) return NULL;
  S->var = var;
  S->type = type;
  S->Kmax = Kmax;
  if (!(S->sigma2 = dpm_malloc(Kmax * sizeof(double))) || !(S->gamma = dpm_malloc(Kmax * sizeof(double)))) {
    ddim_free(S);
    return NULL;
  }
  return S;
}

static void *alloc_beta(size_t nmax, size_t d, size_t Kmax)
{
  return (void)nmax, (void)d, ddim_alloc_var(Kmax, VAR_BETA, &dpm_sampler_ddpm);
}
static void *alloc_beta_tilde(size_t nmax, size_t d, size_t Kmax)
{
  return (void)nmax, (void)d, ddim_alloc_var(Kmax, VAR_BETA_TILDE, &dpm_sampler_ddpm_betatilde);
}
static void *alloc_lambda(size_t nmax, size_t d, size_t Kmax)
{
  return (void)nmax, (void)d, ddim_alloc_var(Kmax, VAR_LAMBDA, &dpm_sampler_ddim);
}
static void *alloc_opt_ddpm(size_t nmax, size_t d, size_t Kmax)
{
  return (void)nmax, (void)d, ddim_alloc_var(Kmax, VAR_OPT, &dpm_sampler_analytic_ddpm);
}
static void *alloc_opt_ddim(size_t nmax, size_t d, size_t Kmax)
{
  return (void)nmax, (void)d, ddim_alloc_var(Kmax, VAR_OPT, &dpm_sampler_analytic_ddim);
}
static void *alloc_diag(size_t nmax, size_t d, size_t Kmax)
{
  return (void)nmax, (void)d, ddim_alloc_var(Kmax, VAR_DIAG, &dpm_sampler_diag_cov);
}

/* eta of a run: fixed at 1 for the DDPM-form entries (eta_default NAN), else the parameter or the default */
static double run_eta(const dpm_sampler_type *T, const dpm_sampler_problem *pb)
{
  if (isnan(T->eta_default)) return 1.0;
  return isnan(pb->par.eta) ? T->eta_default : pb->par.eta;
}

/* Per-step variances (walk order). The step into s = 0 is the decoder: beta gives s_t^2 = bbar_t, beta~ takes the
 * beta~ of the step before it (Improved DDPM's convention; s_t^2 when K = 1), sigma*^2 gives
 * (bbar_t/abar_t)(1 - Gamma_t); it is used only with final_noise. */
static int ddim_reset(void *state, const dpm_sampler_problem *pb)
{
  ddim_state *S = state;
  const dpm_timeline *tl = pb->tl;
  const size_t K = tl->K;
  if (K > S->Kmax) DPM_ERROR(GSL_EBADLEN, "sampler: %zu steps exceed the state's %zu", K, S->Kmax);
  const double eta = run_eta(S->type, pb);
  if (pb->sigma2 && S->var != VAR_DIAG) {
    memcpy(S->sigma2, pb->sigma2, K * sizeof(double));
    return DPM_SUCCESS;
  }
  int st;
  if (S->var == VAR_OPT && (st = dpm_sampler_gamma(pb->mix, tl, &pb->par, S->gamma))) return st;
  for (size_t i = 0; i < K; i++) {
    dpm_sampler_ddim_coef c;
    if ((st = dpm_sampler_ddim_coef_get(tl, i, eta, &c))) return st;
    double v = 0.0;
    switch (S->var) {
    case VAR_BETA:
      v = c.beta;
      break;
    case VAR_BETA_TILDE:
      v = c.beta_tilde;
      break;
    case VAR_LAMBDA:
    case VAR_DIAG:
      v = c.lambda2;
      break;
    case VAR_OPT: {
      const double g = S->gamma[i] < 0.0 ? 0.0 : S->gamma[i] > 1.0 ? 1.0 : S->gamma[i]; /* 0 <= Gamma <= 1 */
      v = c.lambda2 + c.coef2 * (1.0 - g);
      break;
    }
    }
    S->sigma2[i] = v;
  }
  if (S->var == VAR_BETA_TILDE && !(tl->s[K] > 0.0)) {
    dpm_sampler_ddim_coef c;
    if (K >= 2) {
      if ((st = dpm_sampler_ddim_coef_get(tl, K - 2, eta, &c))) return st;
      S->sigma2[K - 1] = c.beta_tilde;
    } else
      S->sigma2[K - 1] = tl->s[K - 1] * tl->s[K - 1];
  }
  return DPM_SUCCESS;
}

/* x_b = r x_a + ce eps-hat(x_a) + sigma z; no noise into s = 0 unless final_noise */
static int ddim_apply(void *state, dpm_sampler_step *st)
{
  ddim_state *S = state;
  const size_t i = st->i, nd = st->n * st->d;
  dpm_sampler_ddim_coef c;
  int rc = dpm_sampler_ddim_coef_get(st->pb->tl, i, run_eta(st->type, st->pb), &c);
  if (rc) return rc;
  double *eps = st->eval, *x = st->x, *z = st->z;
  if (!st->eval_ready && (rc = dpm_sampler_step_eval(st, i, x, eps, NULL))) return rc;
  const int noise = st->pb->tl->s[i + 1] > 0.0 || st->pb->par.final_noise;
  const double sd = noise ? sqrt(S->sigma2[i]) : 0.0;
  if (sd > 0.0) dpm_sampler_step_noise(st, z);
  for (size_t k = 0; k < nd; k++) {
    double v = c.r * x[k] + c.ce * eps[k];
    if (sd > 0.0) v += sd * z[k];
    x[k] = v;
  }
  return DPM_SUCCESS;
}

/* x_b = c0 x0-hat + cx x_a + sqrt(lambda^2 + c0^2 diag Cov[x_0|x_a]) z */
static int diag_apply(void *state, dpm_sampler_step *st)
{
  (void)state;
  const dpm_timeline *tl = st->pb->tl;
  const size_t i = st->i, nd = st->n * st->d;
  dpm_sampler_ddim_coef c;
  int rc = dpm_sampler_ddim_coef_get(tl, i, run_eta(st->type, st->pb), &c);
  if (rc) return rc;
  double *x0 = st->eval, *var = st->work, *x = st->x, *z = st->z;
  if ((rc = dpm_sampler_step_eval_diagcov(st, i, x, x0, var))) return rc;
  const double cx = sqrt(fmax(tl->s[i + 1] * tl->s[i + 1] - c.lambda2, 0.0)) / tl->s[i], c2 = c.c0 * c.c0;
  const int noise = tl->s[i + 1] > 0.0 || st->pb->par.final_noise;
  if (noise) dpm_sampler_step_noise(st, z);
  for (size_t k = 0; k < nd; k++) {
    double v = c.c0 * x0[k] + cx * x[k];
    if (noise) {
      const double s2 = c.lambda2 + c2 * (var[k] > 0.0 ? var[k] : 0.0); /* clamp rounding below 0 */
      v += sqrt(s2) * z[k];
    }
    x[k] = v;
  }
  return DPM_SUCCESS;
}

const dpm_sampler_type dpm_sampler_ddpm = {"ddpm",
                                           "ancestral",
                                           "Ho et al. 2020, Algorithm 2 (sigma^2 = beta)",
                                           "DDPM ancestral sampling with sigma^2 = beta_{t|s}",
                                           1,
                                           0,
                                           1,
                                           DPM_SAMPLER_STOCHASTIC | DPM_SAMPLER_PREDICTS_EPS,
                                           NAN,
                                           alloc_beta,
                                           ddim_reset,
                                           ddim_apply,
                                           ddim_free};

const dpm_sampler_type dpm_sampler_ddpm_betatilde = {
    "ddpm-betatilde",
    "ancestral",
    "Ho et al. 2020, Algorithm 2 (sigma^2 = beta~, eq. (7))",
    "DDPM ancestral sampling with the posterior variance sigma^2 = beta~_{s|t}",
    1,
    0,
    1,
    DPM_SAMPLER_STOCHASTIC | DPM_SAMPLER_PREDICTS_EPS,
    NAN,
    alloc_beta_tilde,
    ddim_reset,
    ddim_apply,
    ddim_free};

const dpm_sampler_type dpm_sampler_ddim = {
    "ddim",
    "deterministic",
    "Song, Meng, Ermon 2021, eq. (12) (sigma = eta sqrt(beta~))",
    "DDIM: sigma^2 = eta^2 beta~ with --eta E in [0 1] (default 0: deterministic)",
    1,
    0,
    1,
    DPM_SAMPLER_PREDICTS_EPS,
    0.0,
    alloc_lambda,
    ddim_reset,
    ddim_apply,
    ddim_free};

const dpm_sampler_type dpm_sampler_analytic_ddpm = {
    "analytic-ddpm",
    "ancestral",
    "Bao et al. ICLR 2022, Theorem 1 and eq. (9) (eta = 1)",
    "Analytic-DDPM: the DDPM mean with the optimal variance sigma*^2 from Gamma_t",
    1,
    0,
    1,
    DPM_SAMPLER_STOCHASTIC | DPM_SAMPLER_PREDICTS_EPS | DPM_SAMPLER_NEEDS_GAMMA,
    NAN,
    alloc_opt_ddpm,
    ddim_reset,
    ddim_apply,
    ddim_free};

const dpm_sampler_type dpm_sampler_analytic_ddim = {
    "analytic-ddim",
    "ancestral",
    "Bao et al. ICLR 2022, Theorem 1 and eq. (9) (eta = 0)",
    "Analytic-DDIM: the DDIM mean with the optimal variance sigma*^2 from Gamma_t (--eta sets lambda)",
    1,
    0,
    1,
    DPM_SAMPLER_STOCHASTIC | DPM_SAMPLER_PREDICTS_EPS | DPM_SAMPLER_NEEDS_GAMMA,
    0.0,
    alloc_opt_ddim,
    ddim_reset,
    ddim_apply,
    ddim_free};

const dpm_sampler_type dpm_sampler_diag_cov = {
    "diag-cov",
    "ancestral",
    "Bao et al. ICML 2022 (SN-/NPR-DPM), eq. (7): lambda^2 + c0^2 diag Cov[x_0|x_t]",
    "optimal state-dependent diagonal covariance from the denoiser's posterior variance (--eta E; default 1)",
    1,
    0,
    1,
    DPM_SAMPLER_STOCHASTIC | DPM_SAMPLER_PREDICTS_X0 | DPM_SAMPLER_NEEDS_DIAGCOV,
    1.0,
    alloc_diag,
    ddim_reset,
    diag_apply,
    ddim_free};
