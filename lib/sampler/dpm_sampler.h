/* dpm_sampler.h — the sampler table (the pattern of gsl_odeiv2_step_type): a timeline of grid points, the problem
 * as a plain struct, step types with one step function each, and the driver that owns the loop, the history ring,
 * the warm-up of multistep methods, the random streams and the NFE count (docs/samplers.md, docs/MATH.md §3-4). */
#ifndef DPM_SAMPLER_H
#define DPM_SAMPLER_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>

#include "dpm_data.h"
#include "dpm_denoiser.h"
#include "dpm_process.h"

/* ---- timeline: the grid a sampler walks ------------------------------------------------------------------
 * K steps over K + 1 points i = 0..K from the start (most noise, i = 0) to the end (i = K); step i goes from point
 * i to point i + 1. Each point holds its time t, m, s, log m (finite where m underflows), lambda = log(m/s)
 * (+INFINITY at s = 0) and, on a discrete schedule, its step index n (SIZE_MAX on a continuous process). The
 * process is borrowed and must outlive the timeline. */
typedef struct {
  size_t K, Kmax;
  const dpm_process *proc;
  double *t, *m, *s, *log_m, *lambda; /* K + 1 each */
  size_t *n;                          /* K + 1 */
} dpm_timeline;

/* A timeline for up to Kmax >= 1 steps. NULL on error. */
dpm_timeline *dpm_timeline_alloc(size_t Kmax);
void dpm_timeline_free(dpm_timeline *tl); /* NULL is a no-op */

/* From K + 1 strictly decreasing times t[0] > ... > t[K] >= 0 in the process's domain (the last may be 0, where
 * s = 0 only if the process has s_0 = 0: the final denoising step). On a discrete process every time must be an
 * integer. Errors: K = 0 or K > Kmax, a non-decreasing or out-of-domain time (GSL_EDOM). */
int dpm_timeline_set_times(dpm_timeline *tl, const dpm_process *p, size_t K, const double *t);
/* A continuous process on a grid of K + 1 points from t_max to t_min: "uniform" (in t), "edm" (Karras et al.'s
 * rho-schedule in sigma, rho > 0, default 7 when rho is 0), "loglinear" (geometric sigma), "lambda" (uniform in
 * lambda, DPM-Solver) — dpm_grid_* of dpm_process.h, mapped back to t — or "quadratic" (in t, dense near t_min:
 * t_i = t_min + (t_max - t_min)((K - i)/K)^2, the "quad" of score_sde and DDIM; on EDM t = sigma). Errors:
 * unknown grid, K < 1. */
int dpm_timeline_set_grid(dpm_timeline *tl, const dpm_process *p, const char *grid, size_t K, double rho);
/* DDIM's schedule (Song et al. 2021, §4.2 and Appendix D.3): K steps uniformly spaced among the discrete steps of
 * the DDPM schedule sch (sigma_n = sqrt(bbar_n / abar_n), n = 1..N), from the first step n0 whose sigma_n reaches
 * sigma_start (n0 = N when sigma_start >= sigma_N, e.g. INFINITY: plain DDIM) down to step 1: n_i = 1 +
 * floor((n0 - 1)(K - i)/K), i = 0..K. With sigma_start < sigma_N it is "DDIM offset" as Permenter & Yuan define it
 * in their schedule table (arXiv 2306.04848, Table 1; their released experiments start the same uniform spacing
 * at sigma = 40 instead of sigma_N = 157): a start step offset below N, not a shifted spacing (diffusers'
 * steps_offset / "leading"). On a discrete process (p->sch) the points are the steps n_i themselves (sch NULL:
 * p->sch); on a continuous one they are t = dpm_process_t_of_sigma(p, sigma_{n_i}), which must lie in the
 * process's sigma range (to a relative 1e-12, then clamped). Errors: NULL, K < 1 or n0 - 1 < K (GSL_EINVAL), a
 * sigma outside the range (GSL_EDOM), as dpm_timeline_set_times. */
int dpm_timeline_set_ddim(dpm_timeline *tl, const dpm_process *p, const dpm_schedule *sch, size_t K,
                          double sigma_start);
/* An explicit grid from a text file: one time per line (for VE and EDM t = sigma; on ddpm a step index), '#'
 * starts a comment, blank lines are skipped; K + 1 >= 2 strictly decreasing times in the process's domain, K <=
 * Kmax; then as dpm_timeline_set_times. Errors name file:line (unreadable file, not one finite number, not
 * decreasing, outside the domain, too many times). */
int dpm_timeline_load_file(dpm_timeline *tl, const dpm_process *p, const char *path);
/* A DDPM process (dpm_process_init_schedule or "ddpm" spec) along the sub-sequence tau[0..K-1],
 * 1 <= tau[0] < ... < tau[K-1] <= N (Analytic-DPM's tau_1..tau_K): the points tau_K, ..., tau_1, 0, so K steps,
 * the last the decoder tau_1 -> 0. */
int dpm_timeline_set_tau(dpm_timeline *tl, const dpm_process *p, size_t K, const size_t *tau);
/* The same with the trajectory chosen by kind: "even", "quadratic" or "dp" (the least-cost path of Analytic-DPM,
 * which needs gamma, a per-n array of Gamma_n; NULL otherwise) — dpm_analytic_trajectory. K >= 2 unless N = 1. */
int dpm_timeline_set_trajectory(dpm_timeline *tl, const dpm_process *p, const char *kind, size_t K,
                                const double *gamma);

/* ---- the problem ------------------------------------------------------------------------------------------ */

/* Method parameters; dpm_sampler_params_default gives the defaults (NAN = the entry's own default). */
typedef struct {
  double eta;          /* DDIM family: lambda^2 = eta^2 beta~ (NAN: the entry's default) */
  int final_noise;     /* 0: the step to s = 0 returns the mean; 1: adds the entry's decoder noise */
  double gamma_rtol;   /* Analytic-DPM: relative tolerance of Gamma by cubature (d <= 2), default 1e-8 */
  size_t gamma_mc;     /* Analytic-DPM: Monte Carlo samples per point for Gamma when d > 2, default 4000 */
  uint64_t gamma_seed; /* their seed (point i uses stream (gamma_seed, i)), default 0 */
  double rtol, atol;   /* rk45: relative and absolute tolerance of the adaptive solve, default 1e-5 each */
  double s_churn, s_tmin, s_tmax, s_noise; /* edm-stochastic (Karras et al. Alg. 2): default 0, 0, inf, 1 */
  int denoise_final; /* 1: the driver replaces the end points by the Tweedie x0-hat at the last point when its
                        s > 0 (one more NFE); default 0 */
  double snr;        /* pc: the Langevin corrector's target signal-to-noise ratio r, default 0.16 */
  unsigned corrector_steps; /* pc: corrector steps per step (NFE 1 + this per step), default 1 */
  double langevin_eps;      /* langevin: NCSN's epsilon (alpha_i = eps s_i^2 / s_L^2); NAN: s_L^2 */
  unsigned langevin_steps;  /* langevin: Langevin steps T per noise level (the NFE per step), default 4 */
  double ge_gamma;          /* ge, ge-stochastic: the extrapolation weight gamma (finite), default 2 */
} dpm_sampler_params;

void dpm_sampler_params_default(dpm_sampler_params *par); /* can't fail */

/* Everything a run needs, borrowed. dn: the model (NFE counted on it). tl: the timeline (tl->proc the process).
 * sigma2: K per-step reverse variances (step i: point i -> i + 1), or NULL for the entry's own choice. mix: the
 * data, needed only by entries that use Gamma_t (Analytic-DPM) when sigma2 is NULL. */
typedef struct {
  dpm_denoiser *dn;
  const dpm_timeline *tl;
  const double *sigma2;
  const dpm_mixture *mix;
  dpm_sampler_params par;
} dpm_sampler_problem;

/* ---- the step types ----------------------------------------------------------------------------------------- */

enum {
  DPM_SAMPLER_STOCHASTIC = 1u << 0,    /* draws noise inside the steps */
  DPM_SAMPLER_NEEDS_SDE = 1u << 1,     /* uses the process's drift a(t) and diffusion g(t) */
  DPM_SAMPLER_REUSES_LAST = 1u << 2,   /* its last evaluation of a step is the first of the next (FSAL) */
  DPM_SAMPLER_PREDICTS_X0 = 1u << 3,   /* its history holds x0-predictions */
  DPM_SAMPLER_PREDICTS_EPS = 1u << 4,  /* its history holds eps-predictions */
  DPM_SAMPLER_NEEDS_DIAGCOV = 1u << 5, /* needs the denoiser's diagonal posterior variance */
  DPM_SAMPLER_NEEDS_GAMMA = 1u << 6    /* needs Gamma_t (the data, pb->mix) unless pb->sigma2 is given */
};

/* The processes an entry runs on: DPM_SAMPLER_ON(kind) for each dpm_process_kind it supports (e.g.
 * DPM_SAMPLER_ON(DPM_PROCESS_EDM) for an EDM-only method); an entry with none of these bits set runs on every
 * process of the table. The driver refuses a process the entry does not support (GSL_EINVAL naming both), and the
 * conformance test runs each entry on the first it supports of vp, ve, edm, subvp, ddpm. */
#define DPM_SAMPLER_ON(kind) (1u << (8 + (unsigned)(kind)))
#define DPM_SAMPLER_ON_MASK  (0x1fu << 8)

typedef struct dpm_sampler_step dpm_sampler_step;

/* A sampler type: one row of the table. alloc(nmax, d, Kmax) returns its state (NULL on error; may be NULL when
 * the type has none: then alloc and free are NULL); reset(state, pb) runs once per run before the first step
 * (per-step coefficients, variances); apply(state, st) takes the step st->i in place on st->x; free releases
 * the state. nfe_per_step 0 means variable (adaptive). */
typedef struct {
  const char *name;
  const char *kind;        /* "ancestral", "deterministic", "sde", "ode", ... (the `dpmlab samplers` column) */
  const char *reference;   /* paper and equation */
  const char *description; /* one line */
  unsigned order;          /* nominal order of accuracy */
  unsigned history;        /* evaluations of earlier steps it uses (multistep methods) */
  unsigned nfe_per_step;
  unsigned flags;
  double eta_default; /* DDIM family; NAN when not used */
  void *(*alloc)(size_t nmax, size_t d, size_t Kmax);
  int (*reset)(void *state, const dpm_sampler_problem *pb);
  int (*apply)(void *state, dpm_sampler_step *st);
  void (*free)(void *state);
} dpm_sampler_type;

/* What a step function sees. The driver fills it before each apply. eval is this step's slot of the history ring
 * (n x d): what the step stores there is hist[0] of the next step; hist[j] (j < nhist) is the slot of step
 * i - 1 - j. order = min(type order, nhist + 1) for multistep types (warm-up with lower orders), else the type's
 * order. eval_ready is 1 when the previous step (REUSES_LAST) already evaluated at this x into eval. */
struct dpm_sampler_step {
  const dpm_sampler_problem *pb;
  const dpm_sampler_type *type;
  size_t i, n, d;
  unsigned order;
  double eta;   /* pb->par.eta, or the type's default */
  double *x;    /* n x d, updated in place */
  double *eval; /* n x d */
  const double *const *hist;
  size_t nhist;
  int eval_ready;
  double *next;     /* n x d: the slot of step i + 1 (REUSES_LAST types write their last evaluation here) */
  int next_ready;   /* set by apply when it wrote next */
  double *work, *z; /* n x d scratch each */
  gsl_rng **rng;    /* rng[j]: the stream of sample j */
};

/* Evaluate the denoiser at timeline point k for the n points x (one NFE): eps and/or x0 (either may be NULL).
 * Where m underflows to below DBL_MIN (e.g. DDPM with N >= 250000), the model is evaluated at m = DBL_MIN, at
 * which q_t = N(0, s^2 I) to rounding. On failure the denoiser's reason gets the context
 * "sampler NAME, step t_i -> t_{i+1}". */
int dpm_sampler_step_eval(dpm_sampler_step *st, size_t k, const double *x, double *eps, double *x0);
/* The same at any time t of the process (intermediate stages; 0 <= t <= t_max, s(t) > 0): one NFE, with m(t),
 * s(t) from tl->proc (m clamped at DBL_MIN as above). Errors: t outside the domain (GSL_EDOM), the denoiser's. */
int dpm_sampler_step_eval_t(dpm_sampler_step *st, double t, const double *x, double *eps, double *x0);
/* The same at explicit (m, s) (both > 0), for points off the process's path (e.g. EDM's churned sigma above
 * sigma(t_max)): one NFE. */
int dpm_sampler_step_eval_ms(dpm_sampler_step *st, double m, double s, const double *x, double *eps, double *x0);
/* The same for the diagonal posterior variance (dpm_denoiser_eval_diagcov): x0 and diag Cov[x_0|x]. */
int dpm_sampler_step_eval_diagcov(dpm_sampler_step *st, size_t k, const double *x, double *x0, double *diagcov);
/* Fill z (n x d) with standard normals, sample j from its own stream rng[j] (the same bits for any thread
 * count). Can't fail. */
void dpm_sampler_step_noise(dpm_sampler_step *st, double *z);

/* The entries (docs/samplers.md has each update rule). */
extern const dpm_sampler_type dpm_sampler_ddpm, dpm_sampler_ddpm_betatilde, dpm_sampler_ddim,
    dpm_sampler_analytic_ddpm, dpm_sampler_analytic_ddim, dpm_sampler_diag_cov;
/* The exponential-integrator and multistep family (expo.c). */
extern const dpm_sampler_type dpm_sampler_dpm_solver_1, dpm_sampler_dpm_solver_2, dpm_sampler_dpm_solver_3,
    dpm_sampler_dpmpp_2m, dpm_sampler_dpmpp_3m, dpm_sampler_dpmpp_2m_sde, dpm_sampler_unipc, dpm_sampler_deis,
    dpm_sampler_lms, dpm_sampler_ipndm;
/* The probability-flow ODE solvers and EDM's samplers (ode.c). */
extern const dpm_sampler_type dpm_sampler_ode_euler, dpm_sampler_heun, dpm_sampler_rk4, dpm_sampler_rk45,
    dpm_sampler_edm_heun, dpm_sampler_edm_stochastic;

/* The reverse-SDE samplers, annealed Langevin and Restart sampling (sde.c). */
extern const dpm_sampler_type dpm_sampler_euler_maruyama, dpm_sampler_reverse_diffusion, dpm_sampler_ancestral,
    dpm_sampler_pc, dpm_sampler_langevin, dpm_sampler_restart;
/* Permenter & Yuan's gradient-estimation sampler, deterministic and stochastic (ge.c). */
extern const dpm_sampler_type dpm_sampler_ge, dpm_sampler_ge_stochastic;
/* score_sde's Langevin corrector (the corrector of `pc`), on its own: `steps` times at timeline point k of
 * st->pb->tl, z ~ N(0, I) from the samples' streams, step = 2 alpha (r |z| / |score|)^2 with r = st->pb->par.snr
 * and the norms averaged over the n samples, x <- x + step score + sqrt(2 step) z (score = -eps/s_k, through
 * dpm_sampler_step_eval: `steps` NFE). st needs pb, type, i, n, d, x, eval, z and rng. Errors: k outside the
 * timeline, s_k = 0, alpha <= 0, a bad snr (GSL_EDOM), the denoiser's. */
int dpm_sampler_langevin_correct(dpm_sampler_step *st, size_t k, double alpha, unsigned steps);

/* The table, NULL-terminated, and lookup by name (NULL when unknown; no error raised). */
extern const dpm_sampler_type *const dpm_sampler_types[];
const dpm_sampler_type *dpm_sampler_type_find(const char *name);
/* 1 when the type runs on the process (its DPM_SAMPLER_ON bits, none = every process), else 0. Can't fail. */
int dpm_sampler_type_supports(const dpm_sampler_type *type, const dpm_process *p);
/* "a, b, c": the names in table order into buf (truncated to size). */
void dpm_sampler_type_names(char *buf, size_t size);

/* ---- the driver ------------------------------------------------------------------------------------------- */

typedef struct dpm_sampler dpm_sampler;

/* A driver for one type, up to nmax points in R^d and Kmax steps: its state, the history ring, scratch and one
 * generator per point (gsl_rng_taus2, seeded per run from (seed, point index)) — everything a run needs, so
 * nothing is allocated inside the step loop. NULL on error. */
dpm_sampler *dpm_sampler_alloc(const dpm_sampler_type *type, size_t nmax, size_t d, size_t Kmax);
void dpm_sampler_free(dpm_sampler *smp); /* NULL is a no-op */
const dpm_sampler_type *dpm_sampler_get_type(const dpm_sampler *smp);

/* Draw n samples: x (n x d) holds the start x at t_0 when x_given, else is drawn from N(0, s_0^2 I) (the
 * prior; sample j from stream (seed, j)); the K steps of pb->tl are then taken in order and x receives the end
 * points. nfe (may be NULL) receives the denoiser evaluations of this run (from the denoiser's own counter). The
 * result is the same bits for any number of threads. Errors: n > nmax, a dimension or K that does not fit, a
 * type's requirement not met (GSL_EINVAL naming it), the denoiser's errors with the step as context. */
int dpm_sampler_run(dpm_sampler *smp, const dpm_sampler_problem *pb, uint64_t seed, size_t n, double *x,
                    int x_given, unsigned long *nfe);

/* ---- helpers the DDIM-family entries share (docs/samplers.md) -------------------------------------------- */

/* Gamma_t = E_{q_t}|E[eps|x_t]|^2/d of the data at the points 0..K-1 of a timeline (gamma, K entries): by
 * adaptive cubature in d <= 2 (rel. tolerance par->gamma_rtol), by Monte Carlo otherwise (par->gamma_mc samples,
 * point i from stream (par->gamma_seed, i)). Allocates its workspace (call it outside loops). */
int dpm_sampler_gamma(const dpm_mixture *mix, const dpm_timeline *tl, const dpm_sampler_params *par,
                      double *gamma);

/* The DDIM-family coefficients of the step i (point a = i to b = i + 1), for any process of the table:
 *   x_b = r x_a + ce eps-hat + sigma z,  r = m_b/m_a,  ce = sqrt(s_b^2 - lambda^2) - r s_a,
 *   lambda^2 = eta^2 beta~,  beta~ = s_b^2 s_{a|b}^2 / s_a^2 (the variance of q(x_b | x_a, x_0)),
 *   beta = s_{a|b}^2 (DDPM's beta_{t|s}),  c0 = m_b - sqrt(s_b^2 - lambda^2) m_a / s_a (x_0's coefficient),
 *   coef2 = ce^2 = (s_a/m_{a|b} - sqrt(s_b^2 - lambda^2))^2 (so sigma*^2 = lambda^2 + coef2 (1 - Gamma_a)). */
typedef struct {
  double r, ce, lambda2, beta, beta_tilde, c0, coef2;
} dpm_sampler_ddim_coef;
int dpm_sampler_ddim_coef_get(const dpm_timeline *tl, size_t i, double eta, dpm_sampler_ddim_coef *c);

/* ---- the Analytic-DPM sampling API as a user of the table (lib/sampler/analytic_run.c) ---------------------- */

/* One DDIM-family step t -> s:  x_s = mu~(x_t, x0-hat(x_t)) + sigma z,  z ~ N(0, I), with x0-hat from the
 * denoiser (the optimal mean mu* when the denoiser is exact). The methods are choices of (eta, variance):
 *   Analytic-DDPM  eta = 1, DPM_VAR_OPT or DPM_VAR_CLIPPED      DDPM  eta = 1, DPM_VAR_BETA or DPM_VAR_BETA_TILDE
 *   Analytic-DDIM  eta = 0, DPM_VAR_OPT or DPM_VAR_CLIPPED      DDIM  eta = 0, DPM_VAR_ZERO
 * The last step tau_1 -> 0 returns the mean x0-hat(x_{tau_1}) without noise (the usual convention: the
 * decoder's noise is below any visible scale) unless final_noise is set, when it adds sqrt(sigma2[0]) z so the
 * samples follow the model p(x_0) whose negative ELBO dpm_analytic_elbo computes. */
typedef struct {
  double eta;                   /* in [0, 1] */
  const double *sigma2;         /* per trajectory step (K entries), e.g. from dpm_analytic_sigma2_traj */
  int final_noise;              /* 0: last step returns the mean; 1: adds the decoder noise */
  const dpm_mixture *start_mix; /* NULL: x_{tau_K} ~ N(0, I); else exact q_{tau_K} of this mixture */
} dpm_sampler_analytic_opts;

/* Workspace for up to nmax points in R^d. NULL on error. */
typedef struct dpm_sampler_analytic dpm_sampler_analytic;
dpm_sampler_analytic *dpm_sampler_analytic_alloc(size_t d, size_t nmax);
void dpm_sampler_analytic_free(dpm_sampler_analytic *w); /* NULL is a no-op */

/* Draw n samples of x_0 into x (n x d) with the generator r (its stream is the caller's). Errors: n > nmax,
 * dn->d != d, bad trajectory, eta outside [0, 1], a negative or non-finite sigma2, denoiser errors. */
int dpm_sampler_analytic_run(dpm_sampler_analytic *w, dpm_denoiser *dn, const dpm_schedule *sch, size_t K,
                             const size_t *tau, const dpm_sampler_analytic_opts *opts, size_t n, double *x,
                             gsl_rng *r);

/* The diagonal-covariance sampler: mean from the oracle's E[x_0|x], per-coordinate variance
 * dpm_analytic_diag_sigma2 (opts->sigma2 is ignored; final_noise adds the decoder's diag Cov[x_0|x_{tau_1}]). */
int dpm_sampler_analytic_diag_run(dpm_sampler_analytic *w, dpm_oracle *o, const dpm_schedule *sch, size_t K,
                                  const size_t *tau, const dpm_sampler_analytic_opts *opts, size_t n, double *x,
                                  gsl_rng *r);

#endif
