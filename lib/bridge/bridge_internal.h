/* bridge_internal.h — small dense linear algebra shared by the bridge module's sources (not installed): checks,
 * products, symmetric matrix functions and Cholesky solves on row-major d x d matrices. */
#ifndef DPM_BRIDGE_INTERNAL_H
#define DPM_BRIDGE_INTERNAL_H

#include <stddef.h>

/* c = a b (all d x d; c must not alias a or b). */
void dpm_bridge_matmul(size_t d, const double *a, const double *b, double *c);
/* c = a b^T (c must not alias a or b). */
void dpm_bridge_matmul_nt(size_t d, const double *a, const double *b, double *c);
/* 1 when every entry of v (n) is finite. */
int dpm_bridge_all_finite(const double *v, size_t n);
/* 1 when a (d x d) is symmetric to 1e-12 relative and positive-definite (Cholesky succeeds). work: d^2. */
int dpm_bridge_is_spd(size_t d, const double *a, double *work);
/* out = U f(Lambda) U^T for the symmetric a = U Lambda U^T (the symmetric part of a is used) with f(l) = l^p,
 * p = 1/2 or -1/2 (eigenvalues clamped at 0 for p = 1/2). Status: GSL_EDOM for a non-positive eigenvalue with
 * p < 0; ENOMEM. lambda (d, may be NULL) receives the eigenvalues in ascending order. */
int dpm_bridge_sym_pow(size_t d, const double *a, double p, double *out, double *lambda);
/* Solve a x = b for symmetric positive-definite a (d x d) and nrhs right-hand sides stored as the COLUMNS of b (d
 * x nrhs, row-major), in place. L (d x d) is scratch. Returns 0 when a is not positive-definite, else 1. */
int dpm_bridge_spd_solve(size_t d, const double *a, size_t nrhs, double *b, double *L);

#endif
