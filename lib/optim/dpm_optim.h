/* dpm_optim.h — the optimisation view of diffusion (Permenter & Yuan, arXiv 2306.04848): the DDIM step as a
 * gradient step on f = 1/2 dist^2 of a finite set K, trajectory diagnostics, the relative-error model of a
 * denoiser, admissible schedules and the two-sided distance bound along DDIM, memorisation and the distance to
 * a manifold. All in VE coordinates (m = 1, s = sigma). docs/MATH.md §2.10. */
#ifndef DPM_OPTIM_H
#define DPM_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "dpm_denoiser.h"

/* The DDIM step of any denoiser in VE coordinates, x' = x + (sigma_prev - sigma) eps_theta(x, sigma), for n
 * points x (n x d, d = dn->d) into xout (n x d; may alias x). One NFE. Errors: NULL dn, x or xout with n > 0
 * (GSL_EINVAL), sigma not finite or <= 0, sigma_prev not finite or < 0 (GSL_EDOM), else the denoiser's. */
int dpm_optim_ddim_step(dpm_denoiser *dn, double sigma, double sigma_prev, size_t n, const double *x,
                        double *xout);

/* The same step as gradient descent on the smoothed f = 1/2 dist^2(., sigma) of the set Y (K x d): x' = x - (1 -
 * sigma_prev/sigma) grad f(x), with grad f = 1/2 grad dist^2 from dpm_distance_eval (docs/MATH.md §2.8). xout
 * (n x d) may alias x. Errors as dpm_optim_ddim_step and dpm_distance_eval; ENOMEM. */
int dpm_optim_grad_step(size_t K, size_t d, const double *Y, double sigma, double sigma_prev, size_t n,
                        const double *x, double *xout);

/* Trajectory diagnostics of n iterates x (n x d) at sigma > 0 against the set Y (K x d). Any output may be NULL:
 * dist (n): the true distance min_y |x - y| (brute force); smoothed_dist2 (n): dist^2(x, sigma) of §2.8; ratio
 * (n): dist/(sqrt(d) sigma); x0hat (n x d): x - sigma eps, eps the denoiser's (the ideal eps* when dn is NULL);
 * grad_err (n): |sigma eps_theta - grad f| / dist with grad f the smoothed 1/2 grad dist^2(., sigma) (NaN when
 * dn is NULL or dist = 0). One NFE when dn is given. Errors: as dpm_distance_eval, dn->d != d (GSL_EBADLEN),
 * the denoiser's; ENOMEM. */
int dpm_optim_diagnose(size_t K, size_t d, const double *Y, dpm_denoiser *dn, double sigma, size_t n,
                       const double *x, double *dist, double *smoothed_dist2, double *ratio, double *x0hat,
                       double *grad_err);

/* Which gradient a denoiser's relative error is measured against. */
typedef enum {
  DPM_OPTIM_GRAD_TRUE,    /* grad f = x - proj_K(x), f = 1/2 dist_K^2 unsmoothed: the paper's model, the one the
                             distance bound of dpm_optim_ddim_bound needs */
  DPM_OPTIM_GRAD_SMOOTHED /* grad f = 1/2 grad dist^2(x, sigma) = sigma eps*(x, sigma): the ideal denoiser's */
} dpm_optim_grad_kind;

/* The measured relative error of a denoiser on the band of Permenter & Yuan's relative-error model,
 *   eta = max |sigma eps_theta(x, sigma) - grad f(x)| / dist_K(x)  over  dist_K(x)/nu <= sqrt(d) sigma <= nu
 * dist_K(x), sampled: n_samples pairs, the i-th from the stream (seed, i): a point y of Y uniformly, a direction u
 * uniform on the unit sphere, a radius r log-uniform in [r_lo, r_hi], x = y + r u; then sigma = dist_K(x) nu^v /
 * sqrt(d) with v uniform in [-1, 1] (so log sigma is uniform across the band). Pairs with dist_K(x) = 0 are
 * skipped. Outputs (any may be NULL): eta, and the band actually sampled: dist_range[2] (min, max of dist_K(x))
 * and sigma_range[2]. Errors: nu < 1 or not finite, r_lo <= 0, r_hi < r_lo (GSL_EDOM), n_samples = 0, NULL Y or dn
 * (GSL_EINVAL), dn->d != d (GSL_EBADLEN), the denoiser's; ENOMEM. */
int dpm_optim_relerr_measure(size_t K, size_t d, const double *Y, dpm_denoiser *dn, dpm_optim_grad_kind kind,
                             double nu, double r_lo, double r_hi, size_t n_samples, uint64_t seed, double *eta,
                             double *dist_range, double *sigma_range);

/* Admissibility of a schedule sigma[0] > sigma[1] > ... > sigma[N] >= 0 (sigma[0] the start, the step i taking
 * sigma[i-1] to sigma[i] with beta_i = 1 - sigma[i]/sigma[i-1]) for the relative-error model (eta, nu), starting
 * from ratio0 = dist_K(x_start)/(sqrt(d) sigma[0]) in [1/nu, nu]. As we recall Permenter & Yuan 2023 (their
 * Definition of an (eta, nu)-admissible schedule and the DDIM convergence theorem of §4; numbering from memory):
 * the schedule is admissible when, for every t = 1..N with sigma[t] > 0 (a last step to 0 is free), beta_t (eta +
 * 1) < 1 and ratio0 prod_{i<=t} (1 - beta_i (eta + 1))/(1 - beta_i) >= 1/nu  and  ratio0 prod_{i<=t} (1 + beta_i
 * (eta - 1))/(1 - beta_i) <= nu, i.e. the two-sided bound of dpm_optim_ddim_bound keeps dist_K(x_t)/(sqrt(d)
 * sigma_t) inside the band where the model holds, so the bound can be chained to the end. Returns 1 (admissible),
 * 0 (not), or -1 on bad input (N = 0, NULL, a schedule not decreasing or not finite, eta < 0, nu < 1, ratio0
 * outside [1/nu, nu]: raised, GSL_EDOM/GSL_EINVAL). */
int dpm_optim_schedule_admissible(size_t N, const double *sigma, double eta, double nu, double ratio0);

/* The largest beta in (0, beta_cap] for which the log-linear schedule sigma_t = sigma_0 (1 - beta)^t, t = 0..N,
 * is (eta, nu)-admissible from ratio0 (dpm_optim_schedule_admissible), by bisection to 1e-12 absolute (the set
 * of admissible beta is an interval from 0: every factor worsens with beta); beta_cap itself when it is admissible
 * and 0 when no beta is. Non-increasing in eta. Errors (as dpm_optim_schedule_admissible; beta_cap not in (0, 1):
 * GSL_EDOM): the status, *beta_max untouched. */
int dpm_optim_loglinear_beta_max(size_t N, double eta, double nu, double ratio0, double beta_cap,
                                 double *beta_max);

/* DDIM from one start x (d) along sigma[0] > ... > sigma[N] >= 0 (sigma[0] > 0) with the denoiser dn, and the
 * two-sided bound of Permenter & Yuan (docs/MATH.md §2.10): with beta_i = 1 - sigma[i]/sigma[i-1] and the
 * relative error eta (against the true gradient x - proj_K(x)),
 *   dist_K(x_0) prod_{i<=t} max(0, 1 - beta_i (eta + 1)) <= dist_K(x_t) <= dist_K(x_0) prod_{i<=t} (1 + beta_i
 * (eta - 1)). Fills (N + 1 each, index t = 0 the start; any may be NULL) dist (the measured dist_K(x_t)), lo, hi
 * (the bounds), err (the realised relative error at x_t, sigma_t against the true gradient, for t < N; NaN at t =
 * N and where dist_K = 0), and xs ((N + 1) x d, the iterates). The bound at t is implied whenever err[i] <= eta
 * for every i < t. N NFE. Errors: as dpm_optim_ddim_step, dn->d != d (GSL_EBADLEN), N = 0 or a bad schedule
 * (GSL_EDOM), eta < 0 (GSL_EDOM); ENOMEM. */
int dpm_optim_ddim_bound(size_t K, size_t d, const double *Y, dpm_denoiser *dn, size_t N, const double *sigma,
                         double eta, const double *x, double *dist, double *lo, double *hi, double *err,
                         double *xs);

/* ---- memorisation and the manifold (docs/MATH.md §2.10) ------------------------------------------------------
 */

/* The nearest-neighbour spacing of the set Y (K >= 2 points, K x d): the median over the points of the distance
 * to the nearest other point (brute force, O(K^2 d)); for an even K the mean of the two middle values. Errors:
 * NULL Y or output, K < 2 (GSL_EINVAL), a non-finite coordinate (GSL_EBADFUNC), a spacing of 0 (GSL_EDOM:
 * repeated points); ENOMEM. */
int dpm_optim_nn_spacing(size_t K, size_t d, const double *Y, double *spacing);

/* Memorisation of a sample x (n x d) by the set Y (K x d): the share of samples within radius rel_radius x
 * spacing of a point of Y (spacing = dpm_optim_nn_spacing), with its binomial standard error sqrt(p(1 - p)/n),
 * and the mean distance to the nearest point of Y with its standard error sd/sqrt(n) (dpm_metrics_nearest). Any
 * output may be NULL; radius (may be NULL) receives the absolute radius. Errors: rel_radius not finite or <= 0
 * (GSL_EDOM), n = 0 (GSL_EINVAL), those of dpm_optim_nn_spacing and dpm_metrics_nearest. */
int dpm_optim_memorisation(size_t K, size_t d, const double *Y, size_t n, const double *x, double rel_radius,
                           double *share, double *share_se, double *mean_dist, double *dist_se, double *radius);

/* The distance of n points x (n x d) to the sphere S^k of radius r centred at 0 in the first k + 1 coordinates of
 * R^d (k = 1: the circle of the builtin circle:, k >= 1: sphere:), in closed form: dist^2 = (|x_{1..k+1}| - r)^2
 * + |x_{k+2..d}|^2. Errors: k + 1 > d, r not finite or <= 0 (GSL_EDOM), NULL with n > 0 (GSL_EINVAL). */
int dpm_optim_sphere_dist(size_t k, double r, size_t d, size_t n, const double *x, double *dist);

#endif
