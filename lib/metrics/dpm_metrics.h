/* dpm_metrics.h — sample quality against ground truth: distances between a sample and the exact q_0 of a
 * mixture (1-D W1 and KS against the exact CDF; MMD with a Gaussian kernel in closed form against the mixture),
 * and two-sample statistics between samples (energy distance, sliced W1, MMD). */
#ifndef DPM_METRICS_H
#define DPM_METRICS_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "dpm_data.h"

/* Exact CDF of a 1-D mixture (point masses: right-continuous steps). NAN for NaN x, and NAN with GSL_EBADLEN
 * raised when mix->d != 1. */
double dpm_metrics_cdf1(const dpm_mixture *mix, double x);

/* 1-D Wasserstein-1 distance between the empirical law of x[0..n-1] and the exact q_0 (d = 1):
 * W1 = int |F_n(x) - F(x)| dx, exact to rounding: on each interval between consecutive sorted points (and the two
 * tails) F_n is a constant c, the interval is split where F crosses c (bisection to adjacent doubles; F is
 * monotone) and each part integrated with the closed-form antiderivative of the mixture CDF
 * (int Phi((x - mu)/sd) dx = (x - mu) Phi + sd phi; point masses: (x - mu)_+). Sorts a copy of x. Status:
 * GSL_EBADLEN when d != 1, GSL_EINVAL for n = 0 or NULL, GSL_EBADFUNC for a non-finite point, GSL_ENOMEM. */
int dpm_metrics_w1_exact(const dpm_mixture *mix, size_t n, const double *x, double *w1);

/* Kolmogorov–Smirnov statistic sup |F_n - F| against the exact CDF (d = 1), from both one-sided limits at each
 * distinct sample value (ties and point masses handled). Under the null, P(KS > e) <= 2 exp(-2 n e^2)
 * (Dvoretzky–Kiefer–Wolfowitz with Massart's constant). Errors as dpm_metrics_w1_exact. */
int dpm_metrics_ks_exact(const dpm_mixture *mix, size_t n, const double *x, double *ks);

/* Squared MMD with the Gaussian kernel k(x,y) = exp(-|x-y|^2/(2 h^2)) between the empirical law of x (n x d)
 * and the exact mixture: the mixture-mixture and sample-mixture kernel expectations are Gaussian integrals in
 * closed form, E k(X, Y) = (h^2)^{d/2} det(M)^{-1/2} exp(-(a-b)^T M^{-1} (a-b)/2), M = A + B + h^2 I for
 * X ~ N(a, A), Y ~ N(b, B) (diagonal M unless a component is FULL, then a dense Cholesky factorisation); the
 * sample-sample term is the V-statistic (biased, >= 0) when unbiased == 0 or the U-statistic (unbiased, mean 0
 * under the null, may be < 0) when unbiased == 1 (n >= 2). O(n^2 d + n K d^2 + K^2 d^3); the result does not
 * depend on the thread count. Errors: h <= 0 or not finite (GSL_EDOM), bad n/unbiased (GSL_EINVAL), a
 * non-finite point (GSL_EBADFUNC), ENOMEM. */
int dpm_metrics_mmd2_exact(const dpm_mixture *mix, double h, size_t n, const double *x, int unbiased,
                           double *mmd2);

/* Two-sample statistics between x (n x d) and y (m x d), both V-statistics over all pairs (O((n + m)^2 d),
 * independent of the thread count): the energy distance 2 E|X - Y| - E|X - X'| - E|Y - Y'| (>= 0, 0 for identical
 * samples; in 1-D it equals 2 int (F_n - G_m)^2) and the biased squared MMD with the Gaussian kernel of
 * bandwidth h (>= 0). Errors: d = 0 (GSL_EBADLEN), empty sample (GSL_EINVAL), non-finite point (GSL_EBADFUNC),
 * h <= 0 (GSL_EDOM), ENOMEM. */
int dpm_metrics_energy(size_t d, size_t n, const double *x, size_t m, const double *y, double *energy);
int dpm_metrics_mmd2(size_t d, double h, size_t n, const double *x, size_t m, const double *y, double *mmd2);
/* Sliced W1 between equal-size samples x, y (n x d each): the mean over `nproj` directions u, uniform on the
 * sphere (normalised Gaussian vectors drawn from r), of the exact 1-D W1 (1/n) sum |sorted u.x - sorted u.y|.
 * Errors: nproj = 0 or NULL r (GSL_EINVAL), as above otherwise. */
int dpm_metrics_sliced_w1(size_t d, size_t n, const double *x, const double *y, size_t nproj, gsl_rng *r,
                          double *sw1);

/* Fraction of samples whose most responsible mixture component is k: argmax_k of the oracle's responsibility at
 * m = 1, s = 1e-6 (C_k = Sigma_k + 1e-12 I: the mixture's own log-densities log w_k N(x; mu_k, Sigma_k) for
 * Gaussian components, nearest atom (weighted) for point masses; ties to the smaller k). weights (K) are the
 * modes' shares in the sample, to compare with mix->w (binomial standard errors). Errors as above. */
int dpm_metrics_mode_weights(const dpm_mixture *mix, size_t n, const double *x, double *weights);

/* ---- metrics with standard errors (metrics_se.c) ------------------------------------------------------------
 * Each returns the statistic and a standard error; which one is stated per function: the sample standard
 * deviation over sqrt(n) for means, the binomial sqrt(p(1-p)/n) for shares, the U-statistic variance for MMD and
 * energy distance, and batch means (B = 10 contiguous batches of floor(n/B) points, se = sd over batches /
 * sqrt(B): the spread of the statistic, not its bias) for W1, KS and sliced W2. se is NAN when n is too small
 * (n < 2, or n < 2B for batch means). Errors: NULL or empty sample (GSL_EINVAL), non-finite point
 * (GSL_EBADFUNC), wrong dimension (GSL_EBADLEN), ENOMEM. */

/* Mean exact log-density (nats) of the sample under q_0 (d any; GSL_EDOM when a component is a point mass: no
 * density): log q_0 by the oracle at m = 1, s = 1e-100. se: sd / sqrt(n). */
int dpm_metrics_logq_mean(const dpm_mixture *mix, size_t n, const double *x, double *mean, double *se);

/* The median heuristic: the median of |z_i - z_j| over the pairs i < j of the pooled sample z = (the first
 * min(n, 500) points of x, the first min(m, 500) of y). GSL_EDOM when that median is 0 (all points equal). */
int dpm_metrics_median_bandwidth(size_t d, size_t n, const double *x, size_t m, const double *y, double *h);

/* Unbiased squared MMD (Gaussian kernel exp(-|u - v|^2 / (2 h^2))) and energy distance (2E|X - Y| - E|X - X'| -
 * E|Y - Y'|) between equal-size samples x and y (n x d each, n >= 2): the U-statistic over pairs i != j of
 * h(z_i, z_j) = k(x_i, x_j) + k(y_i, y_j) - k(x_i, y_j) - k(x_j, y_i) (Gretton et al. 2012, Lemma 6; the energy
 * distance with k = -|u - v|). Both are unbiased (mean 0 when x and y have the same law; they may be < 0). se:
 * the U-statistic variance to second order, sqrt(4 zeta1 / n + 2 zeta2 / (n (n - 1))), zeta1 = the variance over i
 * of the row means of h, zeta2 = the variance of h over pairs (zeta1 vanishes under the null, zeta2 does not). */
int dpm_metrics_mmd2_u(size_t d, double h, size_t n, const double *x, const double *y, double *mmd2, double *se);
int dpm_metrics_energy_u(size_t d, size_t n, const double *x, const double *y, double *energy, double *se);

/* Sliced Wasserstein-2 between equal-size samples (n x d each): sqrt of the mean over nproj directions (uniform on
 * the sphere, drawn from r) of the exact 1-D W2^2 = (1/n) sum (sorted u.x - sorted u.y)^2. se by batch means
 * (same directions in every batch). */
int dpm_metrics_sliced_w2(size_t d, size_t n, const double *x, const double *y, size_t nproj, gsl_rng *r,
                          double *sw2, double *se);

/* Exact 1-D W1 and KS against the mixture CDF (dpm_metrics_w1_exact, dpm_metrics_ks_exact) with batch-means
 * standard errors; any output may be NULL. */
int dpm_metrics_w1_ks_se(const dpm_mixture *mix, size_t n, const double *x, double *w1, double *w1_se, double *ks,
                         double *ks_se);

/* Mode weights (dpm_metrics_mode_weights) with binomial standard errors (weights, se: K each; se may be NULL) and
 * their total-variation distance to pi: tv = (1/2) sum_k |weights_k - w_k| with a batch-means se (tv, tv_se may
 * be NULL). */
int dpm_metrics_mode_tv(const dpm_mixture *mix, size_t n, const double *x, double *weights, double *se, double *tv,
                        double *tv_se);

/* Distance to a point set pts (m x d): the mean over the sample of the Euclidean distance to the nearest point,
 * se = sd / sqrt(n), and the memorisation rate: the share of samples within radius (> 0) of a point, binomial se.
 * Any output may be NULL. GSL_EDOM for radius <= 0 or not finite. */
int dpm_metrics_nearest(size_t d, size_t n, const double *x, size_t m, const double *pts, double radius,
                        double *mean_dist, double *dist_se, double *rate, double *rate_se);

#endif
