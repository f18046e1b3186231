/* dpm_analytic.h — Analytic-DPM (Bao, Li, Zhu, Zhang, ICLR 2022; docs/MATH.md §3): Gamma_n =
 * E_{q_n}|E[eps|x_n]|^2/d by Monte Carlo and by quadrature, the optimal reverse variance sigma*^2 of the DDIM
 * family and its bounds, per-step ELBO terms and the total negative ELBO, the optimal trajectory by dynamic
 * programming, the state-dependent diagonal covariance (SN-/NPR-DPM, Bao et al. ICML 2022) and the samplers that
 * use them. */
#ifndef DPM_ANALYTIC_H
#define DPM_ANALYTIC_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>

#include "dpm_data.h"
#include "dpm_denoiser.h"
#include "dpm_oracle.h"
#include "dpm_process.h"

/* Conventions used throughout.
 *
 * Arrays "per n" have length N+1 and are indexed by the step n of the schedule, like dpm_schedule's own arrays;
 * entry 0 is not a step: outputs set it to NAN and inputs ignore it.
 *
 * A reverse step goes from t to s, 0 <= s < t <= N. In the DDIM family the forward posterior is
 * q(x_s | x_t, x_0) = N(mu~(x_t, x_0), lambda^2 I) with lambda^2 = eta^2 beta~_{s|t}, beta~_{s|t} =
 * bbar_s beta_{t|s} / bbar_t, eta in [0, 1] (eta = 1: DDPM, eta = 0: deterministic DDIM), and
 *   mu~(x_t, x_0) = sqrt(abar_s) x_0 + sqrt(bbar_s - lambda^2) (x_t - sqrt(abar_t) x_0) / sqrt(bbar_t)
 *                 = c0 x_0 + cx x_t.
 * The step to s = 0 is the decoder: lambda^2 = 0, mu~ = x_0, and its term in the ELBO is a negative
 * log-likelihood, not a KL divergence (see dpm_analytic_step_term).
 *
 * A trajectory is tau[0..K-1], 1 <= tau[0] < ... < tau[K-1] <= N (the paper's tau_1..tau_K); the sampler walks
 * x_{tau[K-1]} -> ... -> x_{tau[0]} -> x_0. Arrays "per trajectory step" have K entries: entry 0 belongs to the
 * decoder step tau[0] -> 0 and entry k >= 1 to the step tau[k] -> tau[k-1]. */

/* ---- Gamma_n and its complement 1 - Gamma_n ---------------------------------------------------------------
 *
 * Near the end of a schedule (q_n close to N(0, I)) Gamma_n -> 1 and 1 - Gamma_n, which sets sigma*^2 - lambda^2
 * and the ELBO terms, is far smaller than Gamma_n's own error (on the cosine schedule 1 - Gamma_N ~ 1e-8): formed
 * as 1 minus a computed Gamma it has no correct digit left. By the law of total variance E|eps|^2/d = 1 = Gamma_n
 * + E tr Cov[eps|x_n]/d with Cov[eps|x] = (m^2/s^2) Cov[x_0|x], so the complement is an expectation of its own,
 * cgamma_n = E_{q_n} tr Cov[eps|x_n]/d, which both routes below integrate directly to relative accuracy. */

/* Per-n outputs of the Gamma routes, each a per-n array (N+1) or NULL (not wanted: costs nothing). */
typedef struct {
  double *gamma;      /* Gamma_n */
  double *gamma_err;  /* its standard error (Monte Carlo) or error estimate (quadrature) */
  double *cgamma;     /* 1 - Gamma_n = E tr Cov[eps|x_n]/d, integrated directly */
  double *cgamma_err; /* its standard error or error estimate */
} dpm_analytic_gamma_result;

/* ---- Gamma_n by Monte Carlo ------------------------------------------------------------------------------ */

/* Workspace for Gamma by Monte Carlo with exact samples x ~ q_t of a mixture: M samples per time, drawn in
 * blocks, with one oracle, one generator and one set of buffers per OpenMP thread (the thread count is fixed at
 * alloc time: omp_get_max_threads()). The mixture is borrowed and must outlive the workspace. NULL on error
 * (M < 2, NULL mix, ENOMEM). */
typedef struct dpm_analytic_gamma_mc dpm_analytic_gamma_mc;
dpm_analytic_gamma_mc *dpm_analytic_gamma_mc_alloc(const dpm_mixture *mix, size_t M);
void dpm_analytic_gamma_mc_free(dpm_analytic_gamma_mc *w); /* NULL is a no-op */

/* Gamma_n = E_{q_n}|E[eps|x_n]|^2/d for n = 1..N of a schedule under the exact oracle, with its standard error
 * (sample standard deviation / sqrt(M)). Time n draws its samples from the stream (seed, n), so the result is
 * the same bits for any number of threads; the times run in parallel. gamma and se (se may be NULL) are per-n
 * arrays (N+1). */
int dpm_analytic_gamma_mc_schedule(dpm_analytic_gamma_mc *w, const dpm_schedule *sch, uint64_t seed, double *gamma,
                                   double *se);

/* Gamma_n and/or 1 - Gamma_n (each with its standard error) for n = 1..N, as wanted by res, from the same samples
 * as dpm_analytic_gamma_mc_schedule (stream (seed, n)): the complement is the sample mean of (m^2/s^2)
 * tr Cov[x_0|x]/d, whose relative standard error stays small where 1 - Gamma_n is tiny. */
int dpm_analytic_gamma_mc_fill(dpm_analytic_gamma_mc *w, const dpm_schedule *sch, uint64_t seed,
                               const dpm_analytic_gamma_result *res);

/* The same at `count` arbitrary times given by (m[i], s[i]) (any process of docs/MATH.md §1), stream (seed, i). */
int dpm_analytic_gamma_mc_ms(dpm_analytic_gamma_mc *w, size_t count, const double *m, const double *s,
                             uint64_t seed, double *gamma, double *se);

/* The denoiser-side estimate Gamma-hat_n = E_{q_n}|eps-hat(x_n)|^2/d of any denoiser (an imperfect model) with
 * the same samples as dpm_analytic_gamma_mc_schedule for the same seed (stream (seed, n)); optionally also the
 * mean-square x_0 error x0mse_n = E|x_0 - x0-hat(x_n)|^2/d with its standard error (under the oracle this is
 * (bbar_n/abar_n)(1 - Gamma_n), docs/MATH.md §3). Serial over n (a denoiser is not shared between threads); the
 * denoiser's own evaluation may be parallel over points. dn->d must equal the mixture's d. se, x0mse and
 * x0mse_se may be NULL. */
int dpm_analytic_gamma_mc_denoiser(dpm_analytic_gamma_mc *w, dpm_denoiser *dn, const dpm_schedule *sch,
                                   uint64_t seed, double *gamma, double *se, double *x0mse, double *x0mse_se);

/* ---- Gamma_n by quadrature (ground truth in d = 1, 2) ---------------------------------------------------- */

/* Gamma = sum_k w_k E_{N(m mu_k, C_k)} |E[eps|x]|^2/d, each expectation an integral against the standard normal
 * in the principal coordinates of its component, x = m mu_k + U_k diag(sqrt(m^2 lambda_k + s^2)) u (point masses
 * included: C_k = s^2 I), over [-9, 9]^d (the normal mass outside is 2.3e-19 per axis), by adaptive cubature:
 * 15-point Gauss-Kronrod lines, in 2-D the sparse rule K15 x G7 + G7 x K15 - G7 x G7 (161 nodes per box), after
 * subtracting a quadratic control variate with a closed-form integral; boxes are evaluated 16 to an oracle call.
 * Adaptive rather than Gauss-Hermite because where the posterior switches between components the integrand
 * changes over a width set by the data, not by the component's scale. err is the summed per-box estimate: per
 * line max(|K15 - G7|, |N13|/10) floored by QUADPACK's rescaled estimate, in 2-D plus the product of the two
 * axes' G7 errors, plus a 50-eps rounding floor. The refinement stops at err <= rel_tol |Gamma| (or 1e-15), when
 * only rounding floors remain, or at 4000 boxes in 1-D and 6000 in 2-D per component. The schedule route
 * warm-starts each step from the previous step's boxes in fixed 16-step chains (independent of the thread
 * count), so its Gamma at a step may differ from a single-step evaluation within the two error estimates.
 * Typical cost per time: ~10^3 points per component in 1-D, ~10^4 in 2-D. Errors: d > 2 (GSL_EINVAL), rel_tol
 * outside [1e-14, 0.1], ENOMEM. The mixture is borrowed. */
typedef struct dpm_analytic_gamma_quad dpm_analytic_gamma_quad;
dpm_analytic_gamma_quad *dpm_analytic_gamma_quad_alloc(const dpm_mixture *mix, double rel_tol);
void dpm_analytic_gamma_quad_free(dpm_analytic_gamma_quad *w); /* NULL is a no-op */

/* At one (m, s), m > 0, s > 0; err may be NULL. GSL_EMAXITER (with *gamma and *err set) when the box budget
 * stopped some component short of rel_tol: a real shortfall the caller sees, with the component named. */
int dpm_analytic_gamma_quad_eval(dpm_analytic_gamma_quad *w, double m, double s, double *gamma, double *err);
/* 1 - Gamma = sum_k w_k E_{N(m mu_k, C_k)} (m^2/s^2) tr Cov[x_0|x]/d at one (m, s), integrated directly (same
 * rule, tolerance relative to the complement itself, and two constant control variates: its value under component
 * k alone and under the data's Gaussian); err may be NULL; errors as dpm_analytic_gamma_quad_eval. */
int dpm_analytic_gamma_quad_eval_cgamma(dpm_analytic_gamma_quad *w, double m, double s, double *cgamma,
                                        double *err);
/* For n = 1..N of a schedule, parallel over n; per-n arrays (err may be NULL). Same as
 * dpm_analytic_gamma_quad_fill with only gamma and gamma_err wanted. */
int dpm_analytic_gamma_quad_schedule(dpm_analytic_gamma_quad *w, const dpm_schedule *sch, double *gamma,
                                     double *err);
/* Gamma_n and/or 1 - Gamma_n with their error estimates for n = 1..N, as wanted by res (each integrated with its
 * own warm-started boxes). When the box budget cuts steps short, every value is still filled and GSL_EMAXITER is
 * returned naming the first such step and component; any other failure (NaN rest of its chain) wins over it. */
int dpm_analytic_gamma_quad_fill(dpm_analytic_gamma_quad *w, const dpm_schedule *sch,
                                 const dpm_analytic_gamma_result *res);

/* ---- one reverse step: coefficients, optimal variance, bounds ------------------------------------------- */

typedef struct {
  size_t s, t; /* the step t -> s */
  double eta;  /* lambda^2 = eta^2 beta~_{s|t} */
  double abar_s, bbar_s, abar_t, bbar_t;
  double alpha_ts;      /* alpha_{t|s} = abar_t / abar_s */
  double beta_ts;       /* beta_{t|s} = 1 - alpha_{t|s} */
  double beta_tilde_ts; /* beta~_{s|t} = bbar_s beta_{t|s} / bbar_t (0 for the decoder) */
  double lambda2;       /* lambda^2_{s|t} */
  double c0, cx;        /* mu~ = c0 x_0 + cx x_t */
  double err_scale;     /* bbar_t / abar_t: under the oracle E|x_0 - E[x_0|x_t]|^2/d = err_scale (1 - Gamma_t) */
  double coef2;         /* c0^2 err_scale = (sqrt(bbar_t/alpha_{t|s}) - sqrt(bbar_s - lambda^2))^2 */
} dpm_analytic_step;

/* The step n -> n-1 from the schedule's own per-step arrays (beta_n, alpha_n, beta~_n), 1 <= n <= N. */
int dpm_analytic_step_n(const dpm_schedule *sch, size_t n, double eta, dpm_analytic_step *st);
/* The step t -> s of a sub-sequence, 0 <= s < t <= N, with beta_{t|s} = -expm1(log abar_t - log abar_s). With
 * s = t-1 it equals dpm_analytic_step_n to rounding. Errors: bad indices, eta outside [0, 1]. */
int dpm_analytic_step_ts(const dpm_schedule *sch, size_t s, size_t t, double eta, dpm_analytic_step *st);

/* sigma*^2 = lambda^2 + coef2 (1 - gamma) (docs/MATH.md §3), for the decoder (s = 0)
 * (bbar_t/abar_t)(1 - gamma). */
double dpm_analytic_sigma2_opt(const dpm_analytic_step *st, double gamma);
/* The same from the complement cgamma = 1 - Gamma_t directly: lambda^2 + coef2 cgamma, accurate to the relative
 * accuracy of cgamma however small it is (dpm_analytic_sigma2_opt(st, g) is this at 1 - g). */
double dpm_analytic_sigma2_opt_cgamma(const dpm_analytic_step *st, double cgamma);
/* Bounds from 0 <= Gamma <= 1: lambda^2 <= sigma*^2 <= lambda^2 + coef2. */
double dpm_analytic_sigma2_lower(const dpm_analytic_step *st);
double dpm_analytic_sigma2_upper(const dpm_analytic_step *st);
/* Bounded-data upper bound: if x_0 lies in the box [lo_j, hi_j] (j < d) then tr Cov[x_0|x_t]/d <= r^2 =
 * (1/d) sum_j ((hi_j - lo_j)/2)^2 and sigma*^2 <= lambda^2 + c0^2 r^2 (one [a, b]: r = (b-a)/2; docs/MATH.md §3).
 * Rigorous for a point set with its hull (dpm_mixture_box); for Gaussian components the box from
 * dpm_mixture_box(tail) holds all but `tail` of the mass and the bound is that of the data truncated to it. */
double dpm_analytic_sigma2_upper_box(const dpm_analytic_step *st, size_t d, const double *lo, const double *hi);
/* Clip an estimate into [lower, min(upper, upper_box)]; pass upper_box = INFINITY for none. NAN stays NAN. */
double dpm_analytic_sigma2_clip(const dpm_analytic_step *st, double sigma2, double upper_box);

/* ---- ELBO terms ----------------------------------------------------------------------------------------- */

/* The step's term of the negative ELBO in nats for reverse variance sigma2 and the optimal mean
 * mu*(x_t) = mu~(x_t, E[x_0|x_t]), d the dimension, gamma = Gamma_t:
 *   s >= 1:  L = E KL(q(x_s|x_t,x_0) || N(mu*, sigma2 I))
 *              = (d/2)[log(sigma2/lambda^2) + lambda^2/sigma2 - 1 + coef2 (1 - gamma)/sigma2],
 *            minimised at sigma2 = sigma*^2 where it equals (d/2) log(sigma*^2/lambda^2);
 *            +INFINITY when lambda^2 = 0 (eta = 0: the ELBO is defined for eta > 0 only) or sigma2 = 0.
 *   s = 0:   the decoder L_0 = -E log N(x_0; mu*(x_t), sigma2 I) = (d/2)[log(2 pi sigma2) + e/sigma2] with
 *            e = E|x_0 - E[x_0|x_t]|^2/d = (bbar_t/abar_t)(1 - gamma); +INFINITY for sigma2 = 0.
 * NAN for sigma2 < 0 or NAN. */
double dpm_analytic_step_term(const dpm_analytic_step *st, size_t d, double gamma, double sigma2);
/* The same from the complement cgamma = 1 - Gamma_t given directly (step_term(st, d, g, v) is this at 1 - g). */
double dpm_analytic_step_term_cgamma(const dpm_analytic_step *st, size_t d, double cgamma, double sigma2);
/* The same for any mean x0-hat, given its mean-square error x0mse = E|x_0 - x0-hat(x_t)|^2/d (the term
 * coef2 (1 - gamma) above becomes c0^2 x0mse). */
double dpm_analytic_step_term_mse(const dpm_analytic_step *st, size_t d, double x0mse, double sigma2);
/* |d term / d gamma| = (d/2) c0^2 err_scale / sigma2 = (d/2) coef2/sigma2, for error propagation (by the
 * envelope theorem the same at sigma2 = sigma*^2(gamma)). */
double dpm_analytic_step_term_dgamma(const dpm_analytic_step *st, size_t d, double sigma2);

/* Prior term L_T = E KL(N(sqrt(abar_t) x_0, bbar_t I) || N(0, I)) = (d/2)(bbar_t - 1 - log bbar_t)
 * + abar_t E|x_0|^2 / 2, from E|x_0|^2 = e_norm2 (dpm_mixture_moments). NAN on bad t. */
double dpm_analytic_prior_kl(const dpm_schedule *sch, size_t t, size_t d, double e_norm2);

/* ---- variance choices and the model they define -------------------------------------------------------- */

typedef enum {
  DPM_VAR_BETA,       /* sigma^2 = beta_{t|s}; decoder: beta_{t|0} = bbar_t (beta_1 when tau_1 = 1) */
  DPM_VAR_BETA_TILDE, /* sigma^2 = beta~_{s|t}; decoder: beta~ of the next step (beta~_{tau_1|tau_2}, i.e.
                         beta~_2 per step — Improved DDPM's clipped log-variance), bbar_t when K = 1 */
  DPM_VAR_OPT,        /* sigma*^2 from the true Gamma (model.gamma) */
  DPM_VAR_CLIPPED,    /* sigma-hat^2 from the estimate model.gamma_hat, clipped into [lower, min(upper,
                         upper_box)] (Analytic-DPM as used with a network) */
  DPM_VAR_ZERO        /* sigma^2 = 0: deterministic steps (plain DDIM with eta = 0) */
} dpm_variance_kind;

/* "beta", "beta_tilde", "opt", "clipped", "zero"; parse returns GSL_EINVAL naming an unknown name. */
const char *dpm_variance_name(dpm_variance_kind v);
int dpm_variance_parse(const char *name, dpm_variance_kind *v);

/* What the variance choices and ELBO need to know about the data and the model. */
typedef struct {
  size_t d;                /* data dimension */
  double eta;              /* lambda^2 = eta^2 beta~: in [0, 1] for variances and sampling, (0, 1] for ELBOs */
  double e_norm2;          /* E|x_0|^2 (prior term) */
  const double *gamma;     /* per n: true Gamma_n (the optimal mean's error term and DPM_VAR_OPT) */
  const double *gamma_err; /* per n or NULL: absolute uncertainty of gamma (standard error or quadrature error) */
  const double *gamma_hat; /* per n or NULL: the estimate behind DPM_VAR_CLIPPED (NULL: gamma, or cgamma) */
  const double *box_lo, *box_hi; /* d each or NULL: bounded-data upper bound used by DPM_VAR_CLIPPED */
  const double *cgamma;     /* per n or NULL: 1 - Gamma_n integrated directly (dpm_analytic_gamma_result); when
                               given, sigma*^2 (DPM_VAR_OPT) and every ELBO term use it instead of 1 - gamma */
  const double *cgamma_err; /* per n or NULL: its absolute uncertainty (the ELBO's error then propagates it) */
} dpm_analytic_model;

/* The reverse variance of every trajectory step (per trajectory step, K entries, see the conventions above).
 * Errors: bad trajectory, eta outside [0, 1], NULL gamma when the choice needs it. */
int dpm_analytic_sigma2_traj(const dpm_schedule *sch, const dpm_analytic_model *mod, dpm_variance_kind var,
                             size_t K, const size_t *tau, double *sigma2);

/* The negative ELBO of the model p(x_{tau_K}) = N(0, I), p(x_s | x_t) = N(mu*(x_t), sigma^2 I) along a
 * trajectory, with the decoder N(x_0; mu*(x_tau_1), sigma^2 I):
 *   nelbo = prior + transitions + decoder = E_q[-log p(x_0, x_tau) + log q(x_tau | x_0)] >= -E log p(x_0) >=
 * H(q_0), and nelbo - H(q_0) = KL(q(x_0, x_tau) || p(x_0, x_tau)) >= 0 exactly (the gap). A note on units: the
 * decoder is a continuous Gaussian density, so nelbo bounds a differential cross-entropy and is compared with the
 * differential entropy H(q_0) (which may be negative), not with the discretised 8-bit likelihood of image models;
 * bpd = nelbo / (d ln 2) is "bits per dimension" in that continuous sense. Requires eta in (0, 1] (with eta = 0
 * the KL against the deterministic q(x_s|x_t,x_0) is infinite). */
typedef struct {
  double nelbo, bpd;           /* nats; bits per dimension */
  double prior;                /* L_{tau_K} */
  double transitions;          /* sum of the K-1 KL terms */
  double decoder;              /* L_0 */
  double nelbo_err;            /* linearised propagation of model.gamma_err (0 when NULL) */
  double entropy, entropy_err; /* as given */
  double gap, gap_err;         /* nelbo - entropy, nelbo_err + entropy_err (NAN when entropy is NAN) */
} dpm_elbo_result;

/* terms (K entries or NULL) receives each trajectory step's term (entry 0 the decoder). entropy may be NAN
 * (gap is then NAN). */
int dpm_analytic_elbo(const dpm_schedule *sch, const dpm_analytic_model *mod, dpm_variance_kind var, size_t K,
                      const size_t *tau, double entropy, double entropy_err, dpm_elbo_result *res, double *terms);

/* Per-step table for n = 1..N (every pointer a per-n array or NULL). The L_* columns: L_x[n] for n >= 2 is the
 * KL term L_{n-1} of the step n -> n-1; L_x[1] is the decoder term L_0 = -E log N(x_0; mu*_1(x_1), sigma_1^2 I)
 * with the choice's decoder variance (beta: beta_1; beta_tilde: beta~_2; opt: sigma*_1^2 = (bbar_1/abar_1)
 * (1 - Gamma_1); clipped: that from gamma_hat, clipped into [0, bbar_1/abar_1]). So sum_{n=1}^N L_x[n] +
 * dpm_analytic_prior_kl(sch, N, d, e_norm2) is the per-step negative ELBO. sigma2 is the clipped estimate;
 * upper_box is INFINITY without a box. */
typedef struct {
  double *beta, *alpha_bar, *gamma, *gamma_err, *gamma_hat;
  double *lambda2, *sigma2_opt, *sigma2, *lower, *upper, *upper_box;
  double *L_beta, *L_betatilde, *L_opt, *L_clipped;
  double *cgamma; /* 1 - Gamma_n as used: model.cgamma when given, else 1 - gamma */
} dpm_analytic_table;
int dpm_analytic_table_fill(const dpm_schedule *sch, const dpm_analytic_model *mod, dpm_analytic_table *tab);

/* ---- a model with an imperfect mean (lib/analytic/elbo_model.c) ----------------------------------------- */

/* The variance that minimises the step's term for a mean x0-hat with mean-square error x0mse = E|x_0 -
 * x0-hat(x_t)|^2/d: sigma2 = lambda^2 + c0^2 x0mse (the decoder: x0mse). Under the oracle (x0mse = err_scale
 * (1 - Gamma_t)) it is dpm_analytic_sigma2_opt. NAN for a NaN or negative x0mse. Can't fail otherwise. */
double dpm_analytic_sigma2_mse(const dpm_analytic_step *st, double x0mse);
/* What a step's term loses per dimension with the variance sigma2 instead of its minimiser sigma2_min (for the
 * same mean): [L(sigma2) - L(sigma2_min)]/d = (1/2)(u - log1p(u)), u = sigma2_min/sigma2 - 1, >= 0, accurate
 * also when the two terms agree to many digits. Holds for KL steps and the decoder alike. +INFINITY when exactly
 * one of the variances is 0, NAN for a negative or NaN one. */
double dpm_analytic_term_excess(double sigma2_min, double sigma2);
/* The negative ELBO (nats) of the model p(x_{tau_K}) = N(0, I), p(x_s|x_t) = N(mu~(x_t, x0-hat(x_t)), sigma2 I)
 * along the trajectory tau (K steps, see the conventions above) for a mean whose error is x0mse (per n) and the
 * variances sigma2 (per trajectory step, entry 0 the decoder's): prior + sum_k dpm_analytic_step_term_mse. A
 * variance <= 0 defines no model and makes its term +INFINITY. rest (may be NULL) receives everything but the
 * decoder term (prior + transitions). With x0mse from the oracle and sigma2 from dpm_analytic_sigma2_traj it is
 * dpm_analytic_elbo's nelbo. Errors: bad trajectory, eta outside (0, 1], d = 0, a negative or NaN x0mse on the
 * trajectory, a NaN variance. */
int dpm_analytic_elbo_mse(const dpm_schedule *sch, size_t d, double eta, double e_norm2, size_t K,
                          const size_t *tau, const double *x0mse, const double *sigma2, double *nelbo,
                          double *rest);

/* ---- optimal trajectory ----------------------------------------------------------------------------------- */

typedef enum {
  DPM_COST_J, /* J(s,t) = log(sigma*^2_{s|t} / lambda^2_{s|t}) = log1p(beta_{t|s}(1 - Gamma_t)/(alpha_{t|s}
                 bbar_s)) */
  DPM_COST_F  /* F(s,t) = log(1 - beta_{t|s} Gamma_t / bbar_t) (the reference code's cost); J - F =
                 log(bbar_t/(alpha_{t|s} bbar_s)) telescopes to log(bbar_N abar_1 / (abar_N bbar_1)) */
} dpm_cost_kind;

/* The cost of the step t -> s (1 <= s < t <= N) in the DDPM family (eta = 1); Gamma_t is clipped into [0, 1]
 * first. NAN on bad indices. */
double dpm_analytic_cost(const dpm_schedule *sch, const double *gamma, dpm_cost_kind cost, size_t s, size_t t);

/* Dynamic programming for the least-cost K-step path 1 = tau_1 < ... < tau_K = N of sum_{k=2}^K C(tau_{k-1},
 * tau_k): O(K N^2) time (parallel over t within a layer), O(K N) memory plus, for N <= 2896, a table of the N^2/2
 * step costs so each is evaluated once per solve rather than once per layer; ties go to the smaller predecessor.
 * Workspace for up to N steps and K points, everything allocated here. Errors: K < 2 or K > N (GSL_EINVAL). */
typedef struct dpm_analytic_dp dpm_analytic_dp;
dpm_analytic_dp *dpm_analytic_dp_alloc(size_t N, size_t K);
void dpm_analytic_dp_free(dpm_analytic_dp *dp); /* NULL is a no-op */
/* tau receives K entries (tau[0] = 1, tau[K-1] = N); total (may be NULL) the path's cost. sch->N and K must fit
 * the workspace. */
int dpm_analytic_dp_solve(dpm_analytic_dp *dp, const dpm_schedule *sch, const double *gamma, dpm_cost_kind cost,
                          size_t K, size_t *tau, double *total);

/* A trajectory by kind "dp" (least J, K >= 2), "even" or "quadratic" (dpm_schedule_subsequence), with the
 * cumulative J cost cum[k] = sum_{j=1}^{k} J(tau[j-1], tau[j]) (cum[0] = 0; K entries, may be NULL). gamma may be
 * NULL for even/quadratic when cum is NULL. One-shot: allocates its DP workspace. */
int dpm_analytic_trajectory(const dpm_schedule *sch, const double *gamma, const char *kind, size_t K, size_t *tau,
                            double *cum);

/* ---- diagonal covariance (SN-DPM / NPR-DPM) -------------------------------------------------------------- */

/* The state-dependent optimal diagonal variance of the step t -> s (docs/MATH.md §3):
 *   sigma*(x)^2 = lambda^2 + c0^2 diag Cov[x_0|x] = lambda^2 + coef2 diag Cov[eps|x],
 * diag Cov[eps|x] = (abar_t/bbar_t) diag Cov[x_0|x], from the oracle, for n points x (n x d) into sigma2 (n x d).
 * Its average over q_t (mean over coordinates) is the scalar sigma*^2. */
int dpm_analytic_diag_sigma2(dpm_oracle *o, const dpm_schedule *sch, size_t s, size_t t, double eta, size_t n,
                             const double *x, double *sigma2);

/* Check a trajectory against a schedule: K >= 1, 1 <= tau[0] < ... < tau[K-1] <= N. Status. */
int dpm_analytic_check_traj(const dpm_schedule *sch, size_t K, const size_t *tau);

#endif
