/* dpm_forward.h — forward simulation of the processes' SDEs dx = a(t) x dt + g(t) dB by Euler–Maruyama
 * (Kloeden & Platen 1992, Ch. 9), the paths whose marginals docs/MATH.md §1 gives in closed form. */
#ifndef DPM_FORWARD_H
#define DPM_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "dpm_process.h"

typedef struct dpm_forward dpm_forward;

/* A workspace for up to nmax paths in R^d over up to Kmax steps: one generator per path (gsl_rng_taus2, seeded
 * per run from (seed, path index)) and the per-step coefficients, so nothing is allocated in the step loop. NULL
 * on error (a zero size, GSL_ENOMEM). */
dpm_forward *dpm_forward_alloc(size_t nmax, size_t d, size_t Kmax);
void dpm_forward_free(dpm_forward *w); /* NULL is a no-op */

/* Euler–Maruyama of the forward SDE of p over K >= 1 steps of the increasing times t[0] < t[1] < ... < t[K] in
 * [0, t_max]: x (n x d) holds the points at t[0] and receives them at t[K]; step k is
 *   x <- x + a(t_k) x h_k + g(t_k) sqrt(h_k) z,  h_k = t[k+1] - t[k],  z ~ N(0, I),
 * path j drawing from its own stream (seed, j), so the result is the same bits for any number of threads (a run
 * continued from its end with another seed is a valid continuation). Weak order 1: the moments of x differ from
 * those of the exact marginal q_t by O(max h). Errors: n > nmax, K = 0 or > Kmax, times not increasing or
 * outside the domain (GSL_EDOM). */
int dpm_forward_em(dpm_forward *w, const dpm_process *p, size_t K, const double *t, uint64_t seed, size_t n,
                   double *x);

#endif
