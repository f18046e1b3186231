/* dpm_likelihood.h — likelihoods of diffusion models against ground truth (docs/MATH.md §4.3): the
 * probability-flow ODE log-density through the instantaneous change of variables (Chen et al. 2018; Song et al.
 * 2021, App. D.2) with the exact divergence or Hutchinson/Skilling probes, the ODE as an encoder and decoder,
 * the continuous-time ELBO of the reverse SDE (Song, Durkan, Murray & Ermon 2021, Thm 1, in its score-matching
 * form), and the model density p^ODE of an imperfect denoiser with the Monte Carlo KL(q_t0 || p^ODE). */
#ifndef DPM_LIKELIHOOD_H
#define DPM_LIKELIHOOD_H

#include <stddef.h>
#include <stdint.h>

#include "dpm_data.h"
#include "dpm_denoiser.h"
#include "dpm_process.h"

/* How the divergence of the drift is obtained. */
typedef enum {
  DPM_LIK_DIV_EXACT,     /* the oracle's Laplacian, a model's own divergence op, or central differences */
  DPM_LIK_DIV_HUTCHINSON /* (1/M) sum_k v_k^T J v_k over M probes held fixed through a solve */
} dpm_lik_div;

typedef enum { DPM_LIK_PROBE_RADEMACHER, DPM_LIK_PROBE_GAUSSIAN } dpm_lik_probe;

/* The density the flow ends in at T: the exact q_T (the answer is then log q_t0 up to the ODE error) or the
 * prior N(0, s_T^2 I) (the answer then differs by the prior mismatch). */
typedef enum { DPM_LIK_PRIOR_EXACT, DPM_LIK_PRIOR_GAUSSIAN } dpm_lik_prior;

/* The integrator (all in rho = log sigma, sigma = s/m): adaptive embedded Runge-Kutta pairs of GSL's odeiv2
 * (rkf45, Prince-Dormand 8(9)) with rtol/atol, or fixed steps uniform in rho (Euler, Heun, classical RK4). */
typedef enum { DPM_LIK_RK45, DPM_LIK_RK8PD, DPM_LIK_EULER, DPM_LIK_HEUN, DPM_LIK_RK4 } dpm_lik_method;

typedef struct {
  dpm_lik_method method; /* default DPM_LIK_RK45 */
  double rtol, atol;     /* adaptive methods: the local error control |e_i| <= atol + rtol |y_i| (1e-6, 1e-9) */
  size_t steps;          /* fixed-step methods: steps in rho (default 200) */
  dpm_lik_div div;       /* default DPM_LIK_DIV_EXACT */
  size_t probes;         /* Hutchinson: M >= 1 probes (default 1) */
  dpm_lik_probe probe;   /* Hutchinson: Rademacher (default) or Gaussian */
  int hvp_fd;          /* Hutchinson on exact data: 0 = exact Hessian-vector products of the oracle (default), 1 =
                          central differences of the score along each probe (always so for a model) */
  uint64_t seed;       /* Hutchinson: point i draws its probes from the stream (seed, i) (default 0) */
  double t0;           /* lower end of the time integral, > 0 (default 1e-5) */
  double T;            /* upper end; <= 0 or NAN means the process's t_max (the default) */
  dpm_lik_prior prior; /* default DPM_LIK_PRIOR_EXACT */
  size_t block;        /* points per task, >= 1 (default 1): a block is one ODE system whose step size serves
                          all its points (each still meets the local tolerance: the control is a max over the
                          components) and whose exact field is one pass for all of them (the kernel for data
                          without full covariances, else one oracle call), which amortises the per-step set-up;
                          blocks are fixed by point index, so results do not depend on the thread count */
} dpm_likelihood_params;

/* Fill the defaults above. Can't fail. */
void dpm_likelihood_params_default(dpm_likelihood_params *par);

/* Names: "rk45", "rk8pd", "euler", "heun", "rk4" / "exact", "hutchinson" / "rademacher", "gaussian" / "exact",
 * "gaussian". Each returns 0 and sets *out, or GSL_EINVAL naming the unknown name and the choices. */
int dpm_likelihood_method_parse(const char *name, dpm_lik_method *out);
int dpm_likelihood_div_parse(const char *name, dpm_lik_div *out);
int dpm_likelihood_probe_parse(const char *name, dpm_lik_probe *out);
int dpm_likelihood_prior_parse(const char *name, dpm_lik_prior *out);

/* The result at one point x (at time t0). */
typedef struct {
  double logp;           /* log p_t0(x) = log pi(x_T) + delta, nats */
  double delta;          /* int_t0^T div f(x_t, t) dt along the flow */
  double logq_T;         /* the exact log q_T(x_T) */
  double prior_mismatch; /* log N(x_T; 0, s_T^2 I) - log q_T(x_T) (whatever prior was used) */
  double logq_true;      /* the exact log q_t0(x) */
  double bpd;            /* -logp / (d log 2), bits per dimension */
  unsigned long nfe;     /* right-hand-side evaluations of its solve (one model call each, for the whole block;
                            the finite-difference routes evaluate 2d + 1 or 2M + 1 points per call) */
  unsigned long nsteps;  /* accepted steps of its solve */
} dpm_likelihood_point;

/* A workspace for the flow of one field: the exact data (models == NULL: eps-hat and the Laplacian from the
 * field kernel when no component of mix has a full covariance, else from the oracle, and the Hessian from the
 * oracle; docs/MATH.md §4.3) or a model (models[0..nmodels-1], nmodels >= 1 copies of the same denoiser, one per
 * thread, since a denoiser is not for concurrent use; the model's divergence op when it has one, else central
 * differences). mix (borrowed, must outlive the workspace) is always the data: it gives the exact q_T of the
 * exact prior and the truth log q_t0. Points are solved one per task (or par->block per task, blocks fixed by
 * index) over min(nmodels, omp threads) threads (any thread count for the data), each point from its own probe
 * stream, so the results are the same bits for any number of threads. NULL on error (NULL mix, a model of another
 * dimension, ENOMEM; raised). */
typedef struct dpm_likelihood dpm_likelihood;
dpm_likelihood *dpm_likelihood_alloc(const dpm_mixture *mix, dpm_denoiser *const *models, size_t nmodels);
void dpm_likelihood_free(dpm_likelihood *w); /* NULL is a no-op */

/* Encode n points x (n x d) at t0 along the probability flow to T (the augmented state [x, delta]) and return the
 * likelihood of each (res, n) and the encodings x_T (xT, n x d, may be NULL). Errors: GSL_EINVAL (NULL argument,
 * a discrete ddpm process, probes = 0, a bad method), GSL_EDOM (t0 <= 0, t0 >= T, T beyond the process, bad
 * tolerances or steps = 0, block = 0), GSL_EBADFUNC (a non-finite point), a failed solve (naming the point or
 * block and rho); the reason names the first failing task. */
int dpm_likelihood_eval(dpm_likelihood *w, const dpm_process *p, const dpm_likelihood_params *par, size_t n,
                        const double *x, dpm_likelihood_point *res, double *xT);

/* Decode: integrate the flow backward from x_T (n x d) at T to t0 into x (n x d), with the same integrator;
 * nfe (may be NULL) receives the total number of right-hand-side evaluations. Errors as dpm_likelihood_eval. */
int dpm_likelihood_decode(dpm_likelihood *w, const dpm_process *p, const dpm_likelihood_params *par, size_t n,
                          const double *xT, double *x, unsigned long *nfe);

/* The continuous-time ELBO of the reverse SDE with the workspace's score s (Song, Durkan, Murray & Ermon 2021,
 * Thm 1, in its score-matching form): for x at t0,
 *   log p^SDE_t0(x) >= B(x) = E[log pi(x_T)] - int_t0^T E[g^2 div s + 1/2 g^2 |s|^2 - d a](x_t, t) dt,
 * x_t = m_{t|t0} x + s_{t|t0} eps, x_T likewise. With the exact score and pi = q_T this is an identity
 * (B = log q_t0(x), Ito's formula for log q_t along the forward transition); with
 * pi = N(0, s_T^2 I) the average gap over q_t0 is KL(q_T || pi); for a model score the average gap is
 * 1/2 int g^2 E|s_theta - grad log q_t|^2 dt >= 0. Monte Carlo: rho = log sigma in [log sigma(t0), log sigma(T)]
 * stratified into floor(M/2) equal strata with two independent draws each (weight dt/drho = 2 s^2/g^2), each
 * draw (rho, eps, eps') evaluated at the antithetic pair +-(eps, eps') (2 model calls) with the mean-zero control
 * variates c (|eps|^2 - d) of the Gaussian-data chi^2 parts; the standard error from the within-stratum
 * differences. M >= 2 (M odd: M - 1 draws); point i uses the stream (seed, i). bound (n), se (n, may be NULL);
 * nfe (may be NULL) the total model calls, 4 floor(M/2) per point. Errors as dpm_likelihood_eval (M < 2:
 * GSL_EINVAL). */
int dpm_likelihood_elbo_sde(dpm_likelihood *w, const dpm_process *p, double t0, dpm_lik_prior prior, size_t M,
                            uint64_t seed, size_t n, const double *x, double *bound, double *se,
                            unsigned long *nfe);

/* KL(q_t0 || p^ODE) of the workspace's field by Monte Carlo: M >= 2 exact draws x_i of q_t0 (stream (seed, 0)),
 * each KL_i = log q_t0(x_i) - log p^ODE(x_i) with the flow of par (Hutchinson probes from (par->seed, i)); kl its
 * mean, se the standard error (may be NULL), logp (M, may be NULL) the model's values. With the exact field and
 * prior the KL is 0 up to the ODE error. Errors as dpm_likelihood_eval, and the data's sampling errors. */
int dpm_likelihood_model_kl(dpm_likelihood *w, const dpm_process *p, const dpm_likelihood_params *par, size_t M,
                            uint64_t seed, double *kl, double *se, double *logp);

#endif
