/* dpm_distance.h — finite point sets as Permenter & Yuan (arXiv 2306.04848) see them: the ideal denoiser
 * eps*(x, sigma), the smoothed squared distance dist^2(x, sigma) = -2 sigma^2 log sum_y exp(-|x-y|^2/(2 sigma^2))
 * whose gradient obeys 1/2 grad dist^2 = sigma eps* exactly, and the projection (nearest point).
 * docs/MATH.md §2. */
#ifndef DPM_DISTANCE_H
#define DPM_DISTANCE_H

#include <stddef.h>

/* For n query points x (n x d) against a set Y of K points (K x d), at sigma > 0. Any output may be NULL:
 * dist2 (n), grad (n x d, = grad_x dist^2), eps (n x d, = eps*), proj (n x d, the nearest point of Y; ties go to
 * the lowest index), proj_index (n). Errors: sigma <= 0 or non-finite (GSL_EDOM), K == 0 or Y == NULL or x == NULL
 * with n > 0 (GSL_EINVAL), d == 0 (GSL_EBADLEN), a non-finite x or Y (GSL_EBADFUNC, naming the point). Stable for
 * any sigma: log-sum-exp about the nearest point, so no exp underflow to 0 in a ratio, dist^2 within the exact
 * bounds [min - 2 sigma^2 log K, min], and as 2 sigma^2 underflows the limit (min, nearest point, ties averaged).
 * For d >= 32 weights below e^-(36.8 + ln K) of the nearest point's may be dropped (together less than 2^-53 of
 * the total: dist^2 moves by at most 2 sigma^2 u, sigma eps*_j by at most u max_y |x_j - y_j|, docs/MATH.md
 * §2.11), and the call needs about 56 MiB of scratch beyond its arguments (32 MiB for a tile's distances, 8 MiB
 * for each of three d-wide buffers of its queries; more only where 8 queries of dimension d take more). Parallel
 * over points and data chunks (OpenMP), same bits for any thread count; safe to call from several threads at once.
 */
int dpm_distance_eval(size_t K, size_t d, const double *Y, double sigma, size_t n, const double *x, double *dist2,
                      double *grad, double *eps, double *proj, size_t *proj_index);

/* Exact squared distance to the set, min_y |x - y|^2, and the index of the nearest point (lowest on ties; index
 * may be NULL). Can't fail: +inf and index 0 for K == 0. */
double dpm_distance_min2(size_t K, size_t d, const double *Y, const double *x, size_t *index);

#endif
