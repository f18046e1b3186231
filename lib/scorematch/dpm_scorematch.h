/* dpm_scorematch.h — score matching without networks (docs/MATH.md §4.4): a small model interface for score models
 * s_theta(x; m, s), model classes with a known error (the exact score of a perturbed mixture) or linear in their
 * parameters (polynomial, random Fourier and Gaussian-bump features), the objectives D_Fisher, implicit SM
 * (Hyvarinen 2005), denoising SM (Vincent 2011) and sliced SM (Song et al. 2019) by Monte Carlo with standard
 * errors, their time-weighted integrals, exact least-squares DSM training and a saved model file. */
#ifndef DPM_SCOREMATCH_H
#define DPM_SCOREMATCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dpm_data.h"
#include "dpm_denoiser.h"
#include "dpm_process.h"

/* ---- the model interface ------------------------------------------------------------------------------------ */

typedef struct dpm_sm_model dpm_sm_model;

/* A score-model type (strategy table). Every op gets (m, s) already checked (finite, > 0) and n >= 0 points x
 * (n x d, row-major):
 *   score: s_theta(x; m, s) into score (n x d).
 *   div:   optional (NULL: by central differences): the divergence div_x s_theta into div (n).
 *   jvp:   optional (NULL: by central differences): the Jacobian times a direction per point, (grad_x s_theta) v,
 *          v (n x d), into jv (n x d).
 *   free:  releases the state (may be NULL). */
typedef struct {
  const char *name;
  int (*score)(dpm_sm_model *md, double m, double s, size_t n, const double *x, double *score);
  int (*div)(dpm_sm_model *md, double m, double s, size_t n, const double *x, double *div);
  int (*jvp)(dpm_sm_model *md, double m, double s, size_t n, const double *x, const double *v, double *jv);
  void (*free)(void *state);
} dpm_sm_model_type;

struct dpm_sm_model {
  const dpm_sm_model_type *type;
  void *state;
  size_t d;
  double fd_rel;    /* central-difference step of the fallbacks, relative to s (default 1e-4) */
  double *scratch;  /* fallback scratch (grown on demand, outside the hot loops) */
  size_t scratch_n; /* its length in doubles */
};

/* A model from a type and a state (owned: freed by the type's free). NULL on error (NULL type or score op, d = 0,
 * ENOMEM; the state is then freed through the type). */
dpm_sm_model *dpm_sm_model_alloc(const dpm_sm_model_type *type, void *state, size_t d);
void dpm_sm_model_free(dpm_sm_model *md); /* NULL is a no-op */

/* s_theta(x; m, s) for n points. GSL_EDOM for a bad (m, s), GSL_EINVAL for NULL arguments with n > 0, else the
 * type's status (with the model's name as context). */
int dpm_sm_model_score(dpm_sm_model *md, double m, double s, size_t n, const double *x, double *score);
/* div_x s_theta(x; m, s) (n): the type's op, or central differences with step h = fd_rel * s per coordinate
 * (truncation O(h^2), 2d score evaluations of the batch). Errors as dpm_sm_model_score; ENOMEM. */
int dpm_sm_model_div(dpm_sm_model *md, double m, double s, size_t n, const double *x, double *div);
/* (grad_x s_theta) v per point (n x d): the type's op or the central difference (s(x + h v) - s(x - h v))/(2h),
 * h = fd_rel * s. Errors as dpm_sm_model_score; ENOMEM. */
int dpm_sm_model_jvp(dpm_sm_model *md, double m, double s, size_t n, const double *x, const double *v, double *jv);
/* 1 when the type computes the divergence (resp. the Jacobian-vector product) itself; 0 otherwise or for NULL. */
int dpm_sm_model_has_div(const dpm_sm_model *md);
int dpm_sm_model_has_jvp(const dpm_sm_model *md);

/* The exact score of a mixture (mix is copied): the score, divergence (Laplacian of log q_t) and Jacobian
 * (Hessian of log q_t) from the oracle of the copy. NULL on error (NULL mix, ENOMEM). */
dpm_sm_model *dpm_sm_model_mixture_alloc(const dpm_mixture *mix);
/* The exact score of a perturbed copy of mix, a model with a known error: every mean shifted by delta in each
 * coordinate and the weights tilted, w_k proportional to w_k exp(tilt k / max(K - 1, 1)). delta = tilt = 0 is
 * the exact score of mix. NULL on error (NULL mix, delta or tilt not finite, ENOMEM). */
dpm_sm_model *dpm_sm_model_perturbed_alloc(const dpm_mixture *mix, double delta, double tilt);
/* The mixture of a model made by the two functions above (NULL otherwise). */
const dpm_mixture *dpm_sm_model_mixture(const dpm_sm_model *md);

/* A denoiser (dpm_denoiser.h) whose score is the model's: eps = -s s_theta, x0 = (x + s^2 s_theta)/m; its
 * divergence op is the model's divergence. When own is 1 the denoiser frees the model, otherwise the model is
 * borrowed. NULL on error (NULL model, ENOMEM). */
dpm_denoiser *dpm_sm_model_denoiser_alloc(dpm_sm_model *md, int own);

/* ---- objectives at one noise level (m, s) ----------------------------------------------------------------------
 *
 * With x = m x_0 + s eps, x_0 ~ q_0, eps ~ N(0, I), v ~ N(0, I) (all totals over the d coordinates, in units of
 * score^2, i.e. 1/length^2):
 *   fisher = E |s_theta(x) - grad log q_t(x)|^2                 (needs the exact score: the oracle's)
 *   sm     = E [|s_theta(x)|^2 + 2 div s_theta(x)]               (Hyvarinen 2005, eq. 4, times 2)
 *   dsm    = E |s_theta(x) + eps/s|^2                           (Vincent 2011, eq. 11, times 2)
 *   ssm    = E [(v . s_theta(x))^2 + 2 v . (grad s_theta(x)) v]  (Song et al. 2019, eq. 7, times 2)
 * and the identities (docs/MATH.md §4.4): dsm - sm = d/s^2, fisher - sm = E|grad log q_t|^2 = d Gamma_t/s^2,
 * ssm - sm = 0, dsm - fisher = d (1 - Gamma_t)/s^2, for every model. Each is a Monte Carlo mean over the same M
 * draws (common random numbers), so the differences have their own, small, standard errors. */
typedef struct {
  double fisher, fisher_se, sm, sm_se, dsm, dsm_se, ssm, ssm_se;
  double dsm_minus_sm, dsm_minus_sm_se;         /* -> d/s^2 */
  double fisher_minus_sm, fisher_minus_sm_se;   /* -> E|grad log q_t|^2 */
  double ssm_minus_sm, ssm_minus_sm_se;         /* -> 0 */
  double dsm_minus_fisher, dsm_minus_fisher_se; /* -> d (1 - Gamma_t)/s^2 */
  double score2, score2_se;                     /* E|grad log q_t|^2 itself */
  size_t M;
} dpm_sm_objectives;

/* The objectives above for model md on the data mix at (m, s) with M >= 2 draws, in blocks of 1024: block b uses
 * the random stream (seed, b) for x_0, eps and v in that order, so the result is the same bits for any thread
 * count, and two models evaluated with one seed see the same draws. Errors: NULL arguments (GSL_EINVAL), a bad
 * (m, s) (GSL_EDOM), M < 2 (GSL_EINVAL), md->d != mix->d (GSL_EBADLEN), the model's or the oracle's; ENOMEM. */
int dpm_sm_objectives_eval(const dpm_mixture *mix, dpm_sm_model *md, double m, double s, size_t M, uint64_t seed,
                           dpm_sm_objectives *out);

/* Time weightings lambda_t of the objectives (docs/MATH.md §4.4). */
typedef enum {
  DPM_SM_WEIGHT_UNIFORM,   /* lambda = 1 */
  DPM_SM_WEIGHT_SIGMA2,    /* lambda = s_t^2 (NCSN; the DDPM simple loss) */
  DPM_SM_WEIGHT_LIKELIHOOD /* lambda = g(t)^2 / 2 (Song, Durkan, Murray & Ermon 2021) */
} dpm_sm_weighting;

/* Parse "uniform", "sigma2" or "likelihood"; -1 (raised, GSL_EINVAL) otherwise. */
int dpm_sm_weighting_parse(const char *name, dpm_sm_weighting *w);
const char *dpm_sm_weighting_name(dpm_sm_weighting w);
/* lambda(t) of a weighting for a process; NaN (raised) outside the process's domain. */
double dpm_sm_weighting_eval(dpm_sm_weighting w, const dpm_process *p, double t);

/* The weighted integrals int_{t0}^{t1} lambda(t) D(t) dt of every objective by nt-point Gauss–Legendre quadrature
 * in t with M draws per node (node j uses the seeds seed + j), each standard error the quadrature sum of the
 * nodes' (the quadrature error itself is not included). out gets the integrals in the fields of dpm_sm_objectives
 * (the
 * *_se the propagated standard errors, M = nt * M). Errors: as dpm_sm_objectives_eval, 0 <= t0 < t1 <= t_max
 * violated or nt = 0 (GSL_EDOM / GSL_EINVAL). */
int dpm_sm_objectives_integrate(const dpm_mixture *mix, dpm_sm_model *md, const dpm_process *p, dpm_sm_weighting w,
                                double t0, double t1, size_t nt, size_t M, uint64_t seed, dpm_sm_objectives *out);

/* ---- models linear in their parameters
 * ---------------------------------------------------------------------------
 *
 * eps_theta(x; m, s) = sum_j phi_j(z) theta_j(lambda), s_theta = -eps_theta/s, on standardised coordinates
 * z = (x - m mu_bar)/r, r = sqrt(m^2 v_bar + s^2) (mu_bar the data mean, v_bar = tr Cov[x_0]/d), lambda =
 * log(m/s). theta_j in R^d; in lambda, theta is piecewise linear between L knots (hat functions, constant outside;
 * L = 1: one noise level). Bases (P features): "poly" every monomial z^alpha, |alpha| <= S (S the degree); "rff"
 * 1, z_1..z_d and S random Fourier features cos(omega . z + b), omega ~ N(0, I/ell^2), b ~ U[0, 2 pi); "bump" 1,
 * z_1..z_d and S Gaussian bumps exp(-|z - c|^2/(2 ell^2)) with centres evenly spread on [-3, 3] in d = 1,
 * N(0, 1.5^2 I) otherwise. Random features come from the stream (seed, 0). */
typedef enum { DPM_SM_BASIS_POLY, DPM_SM_BASIS_RFF, DPM_SM_BASIS_BUMP } dpm_sm_basis_kind;

typedef struct dpm_sm_linear dpm_sm_linear;

/* A linear model with theta = 0 for data of dimension d with mean mu_bar (d) and v_bar > 0, L >= 1 knots in
 * lambda (increasing; NULL with L = 1 means one level). ell > 0 is the feature width (rff, bump; ignored for
 * poly). NULL on error (size 0 for rff/bump, a poly basis of more than 4096 features, bad numbers, ENOMEM). */
dpm_sm_linear *dpm_sm_linear_alloc(dpm_sm_basis_kind kind, size_t size, double ell, uint64_t seed, size_t d,
                                   const double *mu_bar, double v_bar, size_t L, const double *knots);
/* The same with mu_bar and v_bar from the mixture's exact moments. */
dpm_sm_linear *dpm_sm_linear_alloc_for(dpm_sm_basis_kind kind, size_t size, double ell, uint64_t seed,
                                       const dpm_mixture *mix, size_t L, const double *knots);
void dpm_sm_linear_free(dpm_sm_linear *L); /* NULL is a no-op */
/* From the options of a "linear:" model spec, "basis=poly|rff|bump,size=S[,ell=W][,seed=N]" (ell default 0.5,
 * seed 0; size is the degree for poly, the number of random features or bumps otherwise), for the data mix with L
 * knots (as dpm_sm_linear_alloc_for). NULL on error (naming the bad option). */
dpm_sm_linear *dpm_sm_linear_from_spec(const char *opts, const dpm_mixture *mix, size_t L, const double *knots);
/* Parse "poly", "rff", "bump"; -1 (raised) otherwise. */
int dpm_sm_basis_parse(const char *name, dpm_sm_basis_kind *kind);
const char *dpm_sm_basis_name(dpm_sm_basis_kind kind);

/* Sizes and the coefficients: theta is L x P x d (knot, feature, output coordinate), writable. */
size_t dpm_sm_linear_nfeatures(const dpm_sm_linear *L);
size_t dpm_sm_linear_nknots(const dpm_sm_linear *L);
size_t dpm_sm_linear_dim(const dpm_sm_linear *L);
double *dpm_sm_linear_theta(dpm_sm_linear *L);

/* The features phi_j(z(x)) of n points at (m, s) into phi (n x P) and, when dphi != NULL, their gradients in x,
 * d phi_j/d x_i into dphi (n x P x d). Errors: a bad (m, s) (GSL_EDOM), NULL (GSL_EINVAL). */
int dpm_sm_linear_features(const dpm_sm_linear *L, double m, double s, size_t n, const double *x, double *phi,
                           double *dphi);

/* A score model view of L (borrowed: must outlive the model), with exact divergence and Jacobian. */
dpm_sm_model *dpm_sm_linear_model_alloc(dpm_sm_linear *L);

/* What the least-squares fit regresses on. DSM: the noise eps of each draw (denoising score matching, needs only
 * samples of x_0); ORACLE: E[eps|x] from the exact oracle (the Fisher-divergence projection of the true score). */
typedef enum { DPM_SM_TARGET_DSM, DPM_SM_TARGET_ORACLE } dpm_sm_target;

/* The score of a mixture with learnable means (model class (c)): starting from init (its weights and covariances
 * kept), fit the means at one noise level (m, s) by minimising over them, on M fixed draws x = m x_0 + s eps of
 * the data (stream (seed, b) per block of 1024, as dpm_sm_objectives_eval), either the DSM objective (1/M) sum
 * |s_mu(x) + eps/s|^2 (target DPM_SM_TARGET_DSM) or the Fisher divergence (1/M) sum |s_mu(x) - grad log q_t(x)|^2
 * to the data's exact score (DPM_SM_TARGET_ORACLE, zero at the data's means when init has the data's weights and
 * covariances), with GSL's Nelder–Mead simplex (nmsimplex2) from init's means with initial step `step`, until the
 * simplex size is below tol or after maxit iterations. *fitted receives a new mixture (the caller frees it), *loss
 * (may be NULL) the final objective. Errors: NULL, dimension mismatch (GSL_EBADLEN), M < 2, bad (m, s), step or
 * tol not > 0 (GSL_EDOM), GSL_EMAXITER when maxit is reached first (*fitted still set); ENOMEM. */
int dpm_sm_mixture_fit_means(const dpm_mixture *init, const dpm_mixture *data, double m, double s,
                             dpm_sm_target target, size_t M, uint64_t seed, double step, double tol, size_t maxit,
                             dpm_mixture **fitted, double *loss);

/* Fit one noise level (m, s) by exact least squares: with M draws x = m x_0 + s eps (stream (seed, b) per block
 * of 1024, as dpm_sm_objectives_eval), theta minimises (1/M) sum |eps_theta(x) - target|^2 + ridge |theta|^2
 * (= s^2 times the DSM loss in score units, plus the ridge), through the normal equations (G + ridge I) theta =
 * B, G = (1/M) sum phi phi^T, by Cholesky. Every knot of L gets the same coefficients. resid (may be NULL)
 * receives the mean squared residual per coordinate. Errors: NULL, M < 2, ridge < 0, bad (m, s), d mismatch,
 * normal equations not positive definite (GSL_EDOM: add a ridge); ENOMEM. */
int dpm_sm_linear_fit_level(dpm_sm_linear *L, const dpm_mixture *mix, double m, double s, dpm_sm_target target,
                            size_t M, uint64_t seed, double ridge, double *resid);

/* Fit jointly in t on [t0, t1] for the weighting w: minimises (1/n) sum_i lambda(t_i)/s_i^2 |eps_theta(x_i) -
 * eps_i|^2 + ridge |theta|^2 over all L knots, the DSM loss in score units weighted by lambda_t, with t stratified
 * (block b of 64 draws at t = t0 + (b + u_b)(t1 - t0)/B, stream (seed, b)). Errors as dpm_sm_linear_fit_level,
 * and a bad time range (GSL_EDOM). */
int dpm_sm_linear_fit_joint(dpm_sm_linear *L, const dpm_mixture *mix, const dpm_process *p, dpm_sm_weighting w,
                            double t0, double t1, size_t n, uint64_t seed, double ridge);

/* Second-order score matching (Lu, Zheng, Bao, Chen, Li & Zhu 2022, the trace form of their second-order DSM): the
 * conditional identity grad^2 log q_t(x) = E[(eps eps^T - I)/s^2 | x] - grad log q_t grad log q_t^T (second-order
 * Tweedie) makes r2 = (|eps|^2 - d)/s^2 - |grad log q_t(x)|^2 an unbiased target of the Laplacian Delta log
 * q_t(x). A scalar linear model h(x) = sum_j phi_j(z) w_j on L's features is fitted at (m, s) by exact least
 * squares on M draws (stream (seed, b) per block of 1024) against r2 (DSM, with the exact first-order score) or
 * against the oracle's Laplacian (ORACLE); w (P, dpm_sm_linear_nfeatures) receives the coefficients, and err,
 * err_se (may be NULL) the mean squared error E|h - Delta log q_t|^2 on M fresh draws (streams (seed + 1, b)) with
 * its standard error. Errors as dpm_sm_linear_fit_level. */
int dpm_sm_second_order_fit(const dpm_sm_linear *L, const dpm_mixture *mix, double m, double s,
                            dpm_sm_target target, size_t M, uint64_t seed, double ridge, double *w, double *err,
                            double *err_se);

/* The third-order target of high-order score matching (Lu et al. 2022): grad Delta log q_t(x) (n x d into out),
 * the gradient of the Laplacian of log q_t (sum_k d^3 log q_t / dx_k dx_k dx_j), by central differences of the
 * oracle's exact Laplacian with step h (0: 1e-3 s): truncation O(h^2) (the fifth derivatives times h^2/6), 2d
 * Laplacians per point in one oracle batch. Errors: NULL (GSL_EINVAL), a bad (m, s) or h (GSL_EDOM), the oracle's;
 * ENOMEM. */
int dpm_sm_third_order(const dpm_mixture *mix, double m, double s, size_t n, const double *x, double h,
                       double *out);

/* Write L as a JSON model file to fp, with process and weighting (each may be NULL) recorded as string fields for
 * the reader. Status: GSL_EBADFUNC for a non-finite coefficient (nothing written), GSL_EFAILED on a write error.
 */
int dpm_sm_linear_write(const dpm_sm_linear *L, const char *process, const char *weighting, FILE *fp);
/* Read a model file written by dpm_sm_linear_write. NULL on error (naming the file and the field). */
dpm_sm_linear *dpm_sm_linear_read(const char *path);

/* The denoiser of a model file, owning everything (for `dpmlab sample --denoiser model:FILE`); d is the data
 * dimension it must match. NULL on error (unreadable file, d mismatch: GSL_EBADLEN). */
dpm_denoiser *dpm_sm_denoiser_load(const char *path, size_t d);

/* ---- the total-variation bound of the reverse SDE in 1-D (De Bortoli, Thornton, Heng & Doucet 2021, Thm 1)
 * -------
 *
 * Forward process the Ornstein–Uhlenbeck dX = -X dt + sqrt(2) dB (m_t = e^{-t}, s_t^2 = 1 - e^{-2t}, prior
 * N(0, 1)); the reverse SDE dx = [x + 2 s_theta(x, t)] dt + sqrt(2) dB-bar from t = T to 0 by N Euler–Maruyama
 * steps of gamma = T/N, with the score s_theta = (1 + eta) grad log q_t (a relative score error eta: the scaled
 * denoiser eps-hat = (1 + eta) eps). The law of the chain is propagated exactly on a grid of step h on [-L, L]
 * (each step a Gaussian kernel of variance 2 gamma; mass leaving the box is counted as lost), so nothing is Monte
 * Carlo. The theorem's three terms, each with a computable bound or a clean measurement (docs/MATH.md §4.4):
 *   prior:  TV(N(0, 1), q_T) <= e^{-T} sqrt(KL(q_0 || N(0, 1))/2)   (Pinsker; KL decays like e^{-2T} along OU)
 *   steps:  tv_disc, the chain without score error started at the exact q_T (the theorem: O(sqrt(gamma)) e^{C T})
 *   score:  tv_score = TV(output with eta, output without, both from the prior)
 *           <= |eta| sqrt(gamma sum_k E_{p_k} |grad log q_{t_k}|^2 / 2)   (Girsanov, then Pinsker)
 * and tv <= tv_prior + tv_disc + tv_score (the triangle inequality; the chain's kernel does not increase TV). */
typedef struct {
  double tv;          /* TV(law of the chain's output from N(0, 1), q_0) */
  double tv_prior;    /* TV(N(0, 1), q_T): the prior mismatch alone */
  double prior_bound; /* e^{-T} sqrt(KL(q_0 || N(0, 1))/2) >= tv_prior */
  double tv_disc;     /* TV(output of the chain without score error from the exact q_T, q_0): the steps alone */
  double tv_score;    /* TV(output with the score error, output without), both from N(0, 1) */
  double score_bound; /* the Girsanov bound on tv_score */
  double mass_lost;   /* probability that left [-L, L] on the way (should be negligible) */
} dpm_sm_tv_result;

/* One run: data mix (d = 1, with a density: no point masses), horizon T > 0, N >= 1 steps, eta > -1 finite, grid
 * step h > 0 (0: min(0.02, sqrt(2 gamma)/3)) and half-width L > 0 (0: the larger of 8 and the data's largest
 * |mean| + 6 sd). Errors: d != 1 or a point mass (GSL_EINVAL), bad numbers (GSL_EDOM), more than 10^6 grid points
 * (GSL_EINVAL); ENOMEM. Deterministic. */
int dpm_sm_tv_reverse(const dpm_mixture *mix, double T, size_t N, double eta, double h, double L,
                      dpm_sm_tv_result *out);

/* n runs (T[i], N[i], eta[i]) into out[i], in parallel over the runs (each with its own workspace; the same
 * results for any thread count). Errors as dpm_sm_tv_reverse, naming the run. */
int dpm_sm_tv_reverse_batch(const dpm_mixture *mix, size_t n, const double *T, const size_t *N, const double *eta,
                            double h, double L, dpm_sm_tv_result *out);

/* ---- self-consistency of the score with its own reverse process (Song, Durkan, Murray & Ermon 2021, Thm 2)
 * -------
 *
 * The OU process of the TV study (prior N(0, 1), finite horizon T) and the exact score grad log q_t of 1-D data
 * with a density. Started from the prior instead of q_T, the reverse SDE's output is p^SDE_0 = q_0 h_0 with
 * h_0(x) = E[r(X_T) | X_0 = x], r = N(0, 1)/q_T (the forward process conditioned to end in the prior), and the
 * probability-flow ODE's is p^ODE_0(x) = q_0(x) r(F_T^-1(F_0(x))) (1-D flows keep quantiles). The field is the
 * score of its own reverse SDE at t = 0 exactly when grad log h_0 = 0; defect = E_{p^SDE_0} |grad log h_0|^2 is
 * that Fisher divergence. A field that is the score of its own reverse process has marginals that solve the
 * forward equation and end in N(0, 1) at T, so its p_0 is N(0, 1) (docs/MATH.md §4.4): defect and
 * TV(p^SDE_0, p^ODE_0) vanish for data N(0, 1) and for no other data, at any finite T. Every number is a grid
 * sum (step h, half-width L) with no Monte Carlo. */
typedef struct {
  double T;
  double tv_prior;           /* TV(N(0, 1), q_T) */
  double tv_sde_data;        /* TV(p^SDE_0, q_0) */
  double tv_ode_data;        /* TV(p^ODE_0, q_0) */
  double tv_sde_ode;         /* TV(p^SDE_0, p^ODE_0): zero only for self-consistent fields */
  double defect;             /* E_{p^SDE_0} |grad log p^SDE_0 - grad log q_0|^2 */
  double mass_sde, mass_ode; /* the grid sums of the two densities (1 up to the grid's accuracy) */
  double mean_sde, var_sde, mean_ode, var_ode; /* their moments */
} dpm_sm_selfcons_result;

/* One horizon T in [0.05, 30] for 1-D data mix with a density; grid step h (0: 0.01; at most s_T/3) and half-width
 * L (0: the larger of 8 and the data's largest |mean| + 8 sd), at most 20000 points. Errors: NULL, d != 1 or a
 * point mass (GSL_EINVAL), bad numbers (GSL_EDOM); ENOMEM. Deterministic (parallel over grid points). */
int dpm_sm_selfcons_ou(const dpm_mixture *mix, double T, double h, double L, dpm_sm_selfcons_result *out);

/* ---- the likelihood-weighted DSM bound (Song, Durkan, Murray & Ermon 2021, Thm 1 and eq. 7) -------------------
 *
 * For the reverse SDE of a continuous process with the model's score, started from the prior pi = N(0, s_T^2 I) at
 * T = t_max, the cross-entropy of the data at t0 is bounded by the likelihood-weighted (lambda = g^2/2) DSM loss
 * plus the prior and drift terms. In rho = log sigma (dt = 2 s^2/g^2 drho) the weight is flat (docs/MATH.md §4.4):
 *   -E_{q_t0} log p^SDE_t0 <= bound = prior_term + drift_term + dsm_term,
 *   prior_term = -E_{q_T} log pi (closed form), drift_term = -d int_t0^T a dt = -d log(m_T/m_t0),
 *   dsm_term = int E[|eps_theta|^2 - 2 eps_theta . eps] drho  (= 1/2 int g^2 (D_DSM - d/s^2) dt),
 * and bound = floor + fisher_term with floor = H(q_t0) + KL(q_T || pi) (model-free, exact) and fisher_term =
 * 1/2 int g^2 D_Fisher dt = int E|eps_theta - E[eps|x]|^2 drho >= 0: the bound is tight for the exact score up to
 * the prior mismatch. */
typedef struct {
  double bound, bound_se;        /* the likelihood-weighted DSM bound, nats (its Monte Carlo standard error) */
  double prior_term, drift_term; /* -E_{q_T} log pi, -d int a dt (exact) */
  double dsm_term, dsm_se;       /* the Monte Carlo part */
  double fisher_term, fisher_se; /* 1/2 int g^2 D_Fisher dt on the same draws */
  double entropy_t0;             /* H(q_t0), nats (dpm_mixture_entropy) */
  double kl_prior;               /* KL(q_T || pi) = prior_term - H(q_T) */
  double entropy_err;            /* the entropies' error estimate */
  double floor;                  /* H(q_t0) + KL(q_T || pi): the bound of the exact score */
  size_t M;                      /* draws used (M rounded down to even) */
} dpm_sm_likbound;

/* The bound for model md on data mix under process p (vp, subvp, ve, edm; T = p->t_max) at t0 in (0, T), with M >=
 * 4 draws: rho stratified into M/2 equal strata of [log sigma(t0), log sigma(T)] with two independent draws (x_0,
 * eps) each, strata in blocks of 256 with the random stream (seed, block); standard errors from the within-stratum
 * differences. Deterministic for a given seed. Errors: NULL (GSL_EINVAL), d mismatch (GSL_EBADLEN), a discrete
 * process (GSL_EINVAL), t0 outside (0, T) (GSL_EDOM), M < 4 (GSL_EINVAL), the entropies' (a data set with a point
 * mass has none at t0 = 0 but has one here), the model's or the oracle's; ENOMEM. */
int dpm_sm_likelihood_bound(const dpm_mixture *mix, dpm_sm_model *md, const dpm_process *p, double t0, size_t M,
                            uint64_t seed, dpm_sm_likbound *out);

/* ---- dynamical regimes of the ideal denoiser (Biroli, Bonnaire, de Bortoli & Mezard 2024) ---------------------
 *
 * n training points drawn from labelled data; the reverse process of the OU forward process (m = e^{-t},
 * s^2 = 1 - e^{-2t}, prior N(0, I)) with the ideal denoiser of the training set (the exact score of their
 * empirical law), by ancestral steps on a geometric grid from T down to t_min. Along each trajectory the exact
 * posterior over the training points at every grid time gives the class posterior and the largest point weight;
 * the speciation time is the largest grid time from which on the posterior of the endpoint's class (balanced by
 * the training set's class shares, so it is 1/2 at large t) stays >= 1/2 + margin, the collapse time the largest
 * from which on the weight of the endpoint's training point stays > 1/2 (docs/MATH.md §4.4). The paper's
 * predictions: t_S = log(Lambda)/2, Lambda the largest eigenvalue of the data's covariance, and t_C where the
 * excess entropy H(P_t) - (d/2) log(2 pi e Delta_t) of the diffused data falls to log n (Delta_t = s_t^2). */
typedef struct {
  size_t n;            /* training points (>= 2) */
  size_t trajectories; /* reverse trajectories (>= 2) */
  size_t steps;        /* grid steps from T to t_min (>= 2) */
  double T, t_min;     /* the grid's ends, 0 < t_min < T <= 30 */
  double margin;       /* speciation threshold 1/2 + margin, margin in [0, 1/2) */
  uint64_t seed;       /* training set from stream (seed, 0); start and step noises from (seed, 1) */
} dpm_sm_regimes_params;

typedef struct {
  double t_s, t_s_se; /* mean speciation time over the trajectories, its standard error */
  double t_c, t_c_se; /* mean collapse time, its standard error */
  double collapsed;   /* share of trajectories whose endpoint's largest point weight is > 1/2 at t_min */
  size_t n, d, trajectories;
} dpm_sm_regimes_result;

/* Defaults: n = 100, 200 trajectories, 200 steps, T = 10, t_min = 1e-4, margin 0.1, seed 1. Can't fail. */
void dpm_sm_regimes_params_default(dpm_sm_regimes_params *par);

/* Two Gaussian classes N(-mu 1, sigma^2 I) and N(+mu 1, sigma^2 I) in R^d with equal weights and labels 0 and 1
 * (the paper's model: Lambda = d mu^2 + sigma^2). NULL on error (d = 0 or > 4096, mu or sigma not finite and > 0).
 */
dpm_mixture *dpm_sm_two_class_alloc(size_t d, double mu, double sigma);

/* One run on labelled data mix (at least two classes; with more, class 0 against the rest). Deterministic for a
 * given seed and the same bits for any thread count. Errors: NULL, unlabelled data, n, trajectories or steps out
 * of range, trajectories x n > 5e7, a training set in one class (GSL_EINVAL), T, t_min or margin out of range
 * (GSL_EDOM), the oracle's; ENOMEM. */
int dpm_sm_regimes_run(const dpm_mixture *mix, const dpm_sm_regimes_params *par, dpm_sm_regimes_result *out);

/* The predictions for data mix and n training points: t_s = log(Lambda)/2 (0 when Lambda <= 1), t_c the root of
 * H(P_t) - (d/2) log(2 pi e Delta_t) = log n by bisection in log t on [1e-6, 20], H by Monte Carlo (20000 draws,
 * a fixed stream: deterministic); NaN when there is no root there. Errors: NULL, n < 2 (GSL_EINVAL), the
 * eigensolver's or the entropy's; ENOMEM. */
int dpm_sm_regimes_predict(const dpm_mixture *mix, size_t n, double *t_s, double *t_c);

#endif
