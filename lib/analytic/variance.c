/* variance.c — the DDIM-family reverse step, the optimal variance sigma*^2 and its bounds (from Gamma_n or from
 * 1 - Gamma_n given directly), per-step ELBO terms and the negative ELBO (Bao et al. ICLR 2022, Thms 1-2;
 * docs/MATH.md §3). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dpm_analytic.h"
#include "dpm_common.h"
#include "dpm_rng.h"
#include "dpm_internal.h"
/* ---- one reverse step ------------------------------------------------------------------------------------------
 */

/* Fill the step from its ingredients; rem = bbar_s - lambda^2 >= 0. The x_0 coefficient of mu~ is formed without
 * cancellation: c0 = sqrt(abar_s) - sqrt(rem abar_t/bbar_t) = abar_s (beta + alpha lambda^2) /
 * (bbar_t (sqrt(abar_s) + sqrt(rem abar_t/bbar_t))), using abar_s bbar_t - bbar_s abar_t = abar_s beta. */
static void step_fill(dpm_analytic_step *st, size_t s, size_t t, double eta, double abar_s, double bbar_s,
                      double abar_t, double bbar_t, double alpha, double beta, double beta_tilde, double rem)
{
  st->s = s;
  st->t = t;
  st->eta = eta;
  st->abar_s = abar_s;
  st->bbar_s = bbar_s;
  st->abar_t = abar_t;
  st->bbar_t = bbar_t;
  st->alpha_ts = alpha;
  st->beta_ts = beta;
  st->err_scale = bbar_t / abar_t;
  if (s == 0) { /* the decoder: mu~ = x_0 */
    st->beta_tilde_ts = 0.0;
    st->lambda2 = 0.0;
    st->c0 = 1.0;
    st->cx = 0.0;
  } else {
    st->beta_tilde_ts = beta_tilde;
    st->lambda2 = eta * eta * beta_tilde;
    if (rem < 0.0) rem = 0.0;
    const double r = sqrt(rem * abar_t / bbar_t);
    st->c0 = abar_s * (beta + alpha * st->lambda2) / (bbar_t * (sqrt(abar_s) + r));
    st->cx = sqrt(rem / bbar_t);
  }
  st->coef2 = st->c0 * st->c0 * st->err_scale;
}

static int eta_ok(double eta) { return isfinite(eta) && eta >= 0.0 && eta <= 1.0; }

int dpm_analytic_step_n(const dpm_schedule *sch, size_t n, double eta, dpm_analytic_step *st)
{
  if (!sch || !st) DPM_ERROR(GSL_EINVAL, "analytic step: NULL schedule or output");
  if (n < 1 || n > sch->N) DPM_ERROR(GSL_EINVAL, "analytic step: n = %zu outside 1..%zu", n, sch->N);
  if (!eta_ok(eta)) DPM_ERROR(GSL_EDOM, "analytic step: eta = %g outside [0, 1]", eta);
  const double lambda2 = eta * eta * sch->beta_tilde[n];
  step_fill(st, n - 1, n, eta, sch->alpha_bar[n - 1], sch->beta_bar[n - 1], sch->alpha_bar[n], sch->beta_bar[n],
            sch->alpha[n], sch->beta[n], sch->beta_tilde[n], sch->beta_bar[n - 1] - lambda2);
  return DPM_SUCCESS;
}

int dpm_analytic_step_ts(const dpm_schedule *sch, size_t s, size_t t, double eta, dpm_analytic_step *st)
{
  if (!sch || !st) DPM_ERROR(GSL_EINVAL, "analytic step: NULL schedule or output");
  if (!(s < t && t <= sch->N))
    DPM_ERROR(GSL_EINVAL, "analytic step: need 0 <= s < t <= N = %zu (got s = %zu, t = %zu)", sch->N, s, t);
  if (!eta_ok(eta)) DPM_ERROR(GSL_EDOM, "analytic step: eta = %g outside [0, 1]", eta);
  const double la = sch->log_alpha_bar[t] - sch->log_alpha_bar[s];
  const double alpha = exp(la), beta = -expm1(la);
  const double abar_s = sch->alpha_bar[s], bbar_s = sch->beta_bar[s], bbar_t = sch->beta_bar[t];
  const double beta_tilde = bbar_s * beta / bbar_t;
  /* bbar_s - eta^2 beta~ = bbar_s (bbar_t - eta^2 beta)/bbar_t and bbar_t - beta = alpha bbar_s: no cancellation
   */
  const double rem = bbar_s * (alpha * bbar_s + (1.0 - eta * eta) * beta) / bbar_t;
  step_fill(st, s, t, eta, abar_s, bbar_s, sch->alpha_bar[t], bbar_t, alpha, beta, beta_tilde, rem);
  return DPM_SUCCESS;
}

double dpm_analytic_sigma2_opt_cgamma(const dpm_analytic_step *st, double cgamma)
{
  return st->lambda2 + st->coef2 * cgamma;
}

double dpm_analytic_sigma2_opt(const dpm_analytic_step *st, double gamma)
{
  return dpm_analytic_sigma2_opt_cgamma(st, 1.0 - gamma);
}

double dpm_analytic_sigma2_lower(const dpm_analytic_step *st) { return st->lambda2; }

double dpm_analytic_sigma2_upper(const dpm_analytic_step *st) { return st->lambda2 + st->coef2; }

double dpm_analytic_sigma2_upper_box(const dpm_analytic_step *st, size_t d, const double *lo, const double *hi)
{
  if (!lo || !hi || d == 0) return NAN;
  double r2 = 0.0;
  for (size_t j = 0; j < d; j++) {
    const double h = 0.5 * (hi[j] - lo[j]);
    r2 += h * h;
  }
  return st->lambda2 + st->c0 * st->c0 * r2 / (double)d;
}

double dpm_analytic_sigma2_clip(const dpm_analytic_step *st, double sigma2, double upper_box)
{
  if (isnan(sigma2)) return NAN;
  double hi = dpm_analytic_sigma2_upper(st);
  if (upper_box < hi) hi = upper_box;
  const double lo = st->lambda2;
  if (sigma2 < lo) sigma2 = lo;
  if (sigma2 > hi) sigma2 = hi;
  return sigma2;
}

/* ---- ELBO terms
 * ------------------------------------------------------------------------------------------------- */

/* The terms (docs/MATH.md §3). For s >= 1: KL(N(mu~(x_t, x_0), lambda^2 I) || N(mu(x_t), sigma^2 I)) =
 * (d/2)[log(sigma^2/lambda^2) + lambda^2/sigma^2 - 1] + |mu~ - mu|^2/(2 sigma^2), and mu~ - mu = c0 (x_0 -
 * x0-hat), so the expectation is (d/2)[... + c0^2 x0mse/sigma^2]. The decoder (s = 0), derivation of its closed
 * form: L_0 = -E log N(x_0; mu_1(x_t), sigma^2 I) = E[(d/2) log(2 pi sigma^2) + |x_0 - mu_1(x_t)|^2/(2 sigma^2)].
 * With s = 0, abar_0 = 1 and bbar_0 - lambda^2 = 0, so mu~(x_t, x_0) = x_0 and the optimal mean is mu_1*(x_t) =
 * E[x_0|x_t]. Then E|x_0 - E[x_0|x_t]|^2 = E tr Cov[x_0|x_t]; from x_t = sqrt(abar_t) x_0 + sqrt(bbar_t) eps,
 * Cov[x_0|x_t] = (bbar_t/abar_t) Cov[eps|x_t], and by the law of total variance E tr Cov[eps|x_t] = E|eps|^2 -
 * E|E[eps|x_t]|^2 = d (1 - Gamma_t). Hence E|x_0 - E[x_0|x_t]|^2 = d (bbar_t/abar_t)(1 - Gamma_t) = d x0mse and
 * L_0 = (d/2)[log(2 pi sigma^2) + x0mse/sigma^2], minimised at sigma^2 = x0mse (the s = 0 case of sigma*^2) where
 * it is (d/2)(log(2 pi sigma*^2) + 1). */
double dpm_analytic_step_term_mse(const dpm_analytic_step *st, size_t d, double x0mse, double sigma2)
{
  if (isnan(sigma2) || sigma2 < 0.0 || isnan(x0mse)) return NAN;
  const double half_d = 0.5 * (double)d, A = st->c0 * st->c0 * x0mse;
  if (st->s == 0) { /* decoder: -E log N(x_0; x0-hat, sigma2 I) */
    if (sigma2 == 0.0) return A > 0.0 ? HUGE_VAL : -HUGE_VAL;
    return half_d * (log(2.0 * M_PI * sigma2) + A / sigma2);
  }
  if (st->lambda2 == 0.0 || sigma2 == 0.0) return HUGE_VAL;
  /* log(sigma2/lambda2) + lambda2/sigma2 - 1 = u - log1p(u), u = lambda2/sigma2 - 1 */
  const double u = (st->lambda2 - sigma2) / sigma2;
  return half_d * ((u - log1p(u)) + A / sigma2);
}

double dpm_analytic_step_term_cgamma(const dpm_analytic_step *st, size_t d, double cgamma, double sigma2)
{
  return dpm_analytic_step_term_mse(st, d, st->err_scale * cgamma, sigma2);
}

double dpm_analytic_step_term(const dpm_analytic_step *st, size_t d, double gamma, double sigma2)
{
  return dpm_analytic_step_term_cgamma(st, d, 1.0 - gamma, sigma2);
}

double dpm_analytic_step_term_dgamma(const dpm_analytic_step *st, size_t d, double sigma2)
{
  return 0.5 * (double)d * st->coef2 / sigma2;
}

double dpm_analytic_prior_kl(const dpm_schedule *sch, size_t t, size_t d, double e_norm2)
{
  if (!sch || t > sch->N) return NAN;
  const double abar = sch->alpha_bar[t];
  /* bbar - 1 - log bbar = -abar - log1p(-abar) >= 0, exact near abar = 0 */
  return 0.5 * (double)d * (-abar - log1p(-abar)) + 0.5 * abar * e_norm2;
}

/* ---- variance choices
 * -------------------------------------------------------------------------------------------- */

static const char *const var_names[] = {"beta", "beta_tilde", "opt", "clipped", "zero"};

const char *dpm_variance_name(dpm_variance_kind v)
{
  return (unsigned)v < sizeof var_names / sizeof var_names[0] ? var_names[v] : "unknown";
}

int dpm_variance_parse(const char *name, dpm_variance_kind *v)
{
  if (!name || !v) DPM_ERROR(GSL_EINVAL, "variance: NULL name or output");
  for (size_t i = 0; i < sizeof var_names / sizeof var_names[0]; i++)
    if (strcmp(name, var_names[i]) == 0) {
      *v = (dpm_variance_kind)i;
      return DPM_SUCCESS;
    }
  DPM_ERROR(GSL_EINVAL, "variance: unknown choice '%s' (beta, beta_tilde, opt, clipped, zero)", name);
}

int dpm_analytic_check_traj(const dpm_schedule *sch, size_t K, const size_t *tau)
{
  if (!sch || !tau) DPM_ERROR(GSL_EINVAL, "trajectory: NULL schedule or tau");
  if (K < 1) DPM_ERROR(GSL_EINVAL, "trajectory: K must be >= 1");
  if (tau[0] < 1) DPM_ERROR(GSL_EINVAL, "trajectory: tau[0] must be >= 1 (got %zu)", tau[0]);
  for (size_t k = 1; k < K; k++)
    if (tau[k] <= tau[k - 1])
      DPM_ERROR(GSL_EINVAL, "trajectory: not increasing at k = %zu (tau = %zu after %zu)", k, tau[k], tau[k - 1]);
  if (tau[K - 1] > sch->N) DPM_ERROR(GSL_EINVAL, "trajectory: tau[K-1] = %zu > N = %zu", tau[K - 1], sch->N);
  return DPM_SUCCESS;
}

static double box_upper(const dpm_analytic_model *mod, const dpm_analytic_step *st)
{
  if (!mod->box_lo || !mod->box_hi) return HUGE_VAL;
  return dpm_analytic_sigma2_upper_box(st, mod->d, mod->box_lo, mod->box_hi);
}

/* 1 - Gamma_n of the model: integrated directly when given, else formed from Gamma_n. */
static double model_cgamma(const dpm_analytic_model *mod, size_t n)
{
  return mod->cgamma ? mod->cgamma[n] : 1.0 - mod->gamma[n];
}

/* 1 - Gamma-hat_n of the estimate behind DPM_VAR_CLIPPED: from gamma_hat when given, else the model's own. */
static double hat_cgamma(const dpm_analytic_model *mod, size_t n)
{
  return mod->gamma_hat ? 1.0 - mod->gamma_hat[n] : model_cgamma(mod, n);
}

/* Variance of the trajectory step k (st its step; next the step tau[1] -> tau[0] for the decoder's beta~). */
static double traj_sigma2(const dpm_analytic_model *mod, dpm_variance_kind var, const dpm_analytic_step *st,
                          const dpm_analytic_step *next)
{
  switch (var) {
  case DPM_VAR_BETA:
    return st->beta_ts;
  case DPM_VAR_BETA_TILDE:
    if (st->s > 0) return st->beta_tilde_ts;
    return next ? next->beta_tilde_ts : st->beta_ts;
  case DPM_VAR_OPT:
    return dpm_analytic_sigma2_opt_cgamma(st, model_cgamma(mod, st->t));
  case DPM_VAR_CLIPPED: /* the estimate: gamma_hat when given, else the model's own (complement included) */
    return dpm_analytic_sigma2_clip(st, dpm_analytic_sigma2_opt_cgamma(st, hat_cgamma(mod, st->t)),
                                    box_upper(mod, st));
  case DPM_VAR_ZERO:
    return 0.0;
  }
  return NAN;
}

static int model_check(const dpm_analytic_model *mod, dpm_variance_kind var, int need_gamma, const char *what)
{
  if (!mod) DPM_ERROR(GSL_EINVAL, "%s: model is NULL", what);
  if (!eta_ok(mod->eta)) DPM_ERROR(GSL_EDOM, "%s: eta = %g outside [0, 1]", what, mod->eta);
  if ((unsigned)var > (unsigned)DPM_VAR_ZERO)
    DPM_ERROR(GSL_EINVAL, "%s: unknown variance choice %d", what, (int)var);
  if ((need_gamma || var == DPM_VAR_OPT || var == DPM_VAR_CLIPPED) && !mod->gamma)
    DPM_ERROR(GSL_EINVAL, "%s: the variance '%s' needs model.gamma", what, dpm_variance_name(var));
  if (mod->d == 0) DPM_ERROR(GSL_EINVAL, "%s: model.d must be >= 1", what);
  return DPM_SUCCESS;
}

int dpm_analytic_sigma2_traj(const dpm_schedule *sch, const dpm_analytic_model *mod, dpm_variance_kind var,
                             size_t K, const size_t *tau, double *sigma2)
{
  int st = model_check(mod, var, 0, "trajectory variance");
  if (st != DPM_SUCCESS) return st;
  if ((st = dpm_analytic_check_traj(sch, K, tau)) != DPM_SUCCESS) return st;
  if (!sigma2) DPM_ERROR(GSL_EINVAL, "trajectory variance: output is NULL");
  dpm_analytic_step a, next;
  for (size_t k = 0; k < K; k++) {
    dpm_analytic_step_ts(sch, k == 0 ? 0 : tau[k - 1], tau[k], mod->eta, &a);
    if (k == 0 && K > 1) dpm_analytic_step_ts(sch, tau[0], tau[1], mod->eta, &next);
    sigma2[k] = traj_sigma2(mod, var, &a, k == 0 && K > 1 ? &next : NULL);
  }
  return DPM_SUCCESS;
}

int dpm_analytic_elbo(const dpm_schedule *sch, const dpm_analytic_model *mod, dpm_variance_kind var, size_t K,
                      const size_t *tau, double entropy, double entropy_err, dpm_elbo_result *res, double *terms)
{
  int st = model_check(mod, var, 1, "ELBO");
  if (st != DPM_SUCCESS) return st;
  if (!(mod->eta > 0.0))
    DPM_ERROR(GSL_EDOM, "ELBO: eta must be > 0 (with eta = 0 the KL to the deterministic q(x_s|x_t,x_0) is "
                        "infinite)");
  if ((st = dpm_analytic_check_traj(sch, K, tau)) != DPM_SUCCESS) return st;
  if (!res) DPM_ERROR(GSL_EINVAL, "ELBO: result is NULL");
  memset(res, 0, sizeof *res);
  const size_t d = mod->d;
  dpm_analytic_step a, next;
  double trans = 0.0, dec = 0.0, err = 0.0;
  for (size_t k = 0; k < K; k++) {
    dpm_analytic_step_ts(sch, k == 0 ? 0 : tau[k - 1], tau[k], mod->eta, &a);
    if (k == 0 && K > 1) dpm_analytic_step_ts(sch, tau[0], tau[1], mod->eta, &next);
    const double s2 = traj_sigma2(mod, var, &a, k == 0 && K > 1 ? &next : NULL);
    const double L = dpm_analytic_step_term_cgamma(&a, d, model_cgamma(mod, tau[k]), s2);
    if (terms) terms[k] = L;
    if (k == 0)
      dec = L;
    else
      trans += L;
    const double *gerr = mod->cgamma ? mod->cgamma_err : mod->gamma_err;
    if (gerr) err += dpm_analytic_step_term_dgamma(&a, d, s2) * fabs(gerr[tau[k]]);
  }
  res->prior = dpm_analytic_prior_kl(sch, tau[K - 1], d, mod->e_norm2);
  res->transitions = trans;
  res->decoder = dec;
  res->nelbo = res->prior + trans + dec;
  res->bpd = res->nelbo / ((double)d * M_LN2);
  res->nelbo_err = err;
  res->entropy = entropy;
  res->entropy_err = entropy_err;
  res->gap = res->nelbo - entropy;
  res->gap_err = err + fabs(entropy_err);
  return DPM_SUCCESS;
}

static void put(double *col, size_t n, double v)
{
  if (col) col[n] = v;
}

int dpm_analytic_table_fill(const dpm_schedule *sch, const dpm_analytic_model *mod, dpm_analytic_table *tab)
{
  int st = model_check(mod, DPM_VAR_OPT, 1, "analytic table");
  if (st != DPM_SUCCESS) return st;
  if (!sch || !tab) DPM_ERROR(GSL_EINVAL, "analytic table: NULL schedule or table");
  double *cols[] = {tab->beta,        tab->alpha_bar, tab->gamma,     tab->gamma_err, tab->gamma_hat, tab->lambda2,
                    tab->sigma2_opt,  tab->sigma2,    tab->lower,     tab->upper,     tab->upper_box, tab->L_beta,
                    tab->L_betatilde, tab->L_opt,     tab->L_clipped, tab->cgamma};
  for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
    if (cols[c]) cols[c][0] = NAN;
  const size_t d = mod->d;
  const double *gh = mod->gamma_hat ? mod->gamma_hat : mod->gamma;
  dpm_analytic_step a, next;
  for (size_t n = 1; n <= sch->N; n++) {
    dpm_analytic_step_n(sch, n, mod->eta, &a);
    const double g = mod->gamma[n], cg = model_cgamma(mod, n);
    const double ub = box_upper(mod, &a);
    const double opt = dpm_analytic_sigma2_opt_cgamma(&a, cg);
    const double clip = dpm_analytic_sigma2_clip(&a, dpm_analytic_sigma2_opt_cgamma(&a, hat_cgamma(mod, n)), ub);
    put(tab->beta, n, sch->beta[n]);
    put(tab->alpha_bar, n, sch->alpha_bar[n]);
    put(tab->gamma, n, g);
    put(tab->cgamma, n, cg);
    put(tab->gamma_err, n, mod->gamma_err ? mod->gamma_err[n] : (double)NAN);
    put(tab->gamma_hat, n, gh[n]);
    put(tab->lambda2, n, a.lambda2);
    put(tab->sigma2_opt, n, opt);
    put(tab->sigma2, n, clip);
    put(tab->lower, n, dpm_analytic_sigma2_lower(&a));
    put(tab->upper, n, dpm_analytic_sigma2_upper(&a));
    put(tab->upper_box, n, ub);
    double var_beta = sch->beta[n], var_tilde = sch->beta_tilde[n];
    if (n == 1) { /* decoder convention, see dpm_analytic_table */
      if (sch->N >= 2) {
        dpm_analytic_step_n(sch, 2, mod->eta, &next);
        var_tilde = next.beta_tilde_ts;
      } else {
        var_tilde = sch->beta[1];
      }
    }
    put(tab->L_beta, n, dpm_analytic_step_term_cgamma(&a, d, cg, var_beta));
    put(tab->L_betatilde, n, dpm_analytic_step_term_cgamma(&a, d, cg, var_tilde));
    put(tab->L_opt, n, dpm_analytic_step_term_cgamma(&a, d, cg, opt));
    put(tab->L_clipped, n, dpm_analytic_step_term_cgamma(&a, d, cg, clip));
  }
  return DPM_SUCCESS;
}
