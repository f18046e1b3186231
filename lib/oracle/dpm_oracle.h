/* dpm_oracle.h — the closed-form oracle: exact quantities of q_t = law of m x_0 + s eps for a Gaussian-mixture
 * q_0, batched over points, at any (m, s) (docs/MATH.md §2). The single place that knows the closed forms. */
#ifndef DPM_ORACLE_H
#define DPM_ORACLE_H

#include <stddef.h>
#include "dpm_data.h"

/* What to compute for a batch of n points x (n x d, row-major). Every pointer is caller-owned; NULL means "not
 * wanted" and costs nothing. Shapes: per point a scalar (n), a vector (n x d), a matrix (n x d x d), per
 * component (n x K) or per label (n x nlabels). */
typedef struct {
  double *logq;       /* log q_t(x) */
  double *score;      /* grad log q_t(x) */
  double *hess;       /* Hessian of log q_t (n x d x d) */
  double *lap;        /* Laplacian of log q_t */
  double *x0;         /* E[x_0 | x] */
  double *eps;        /* E[eps | x] = -s grad log q_t */
  double *trcov;      /* tr Cov[x_0 | x] */
  double *diagcov;    /* diag Cov[x_0 | x] (n x d) */
  double *cov;        /* Cov[x_0 | x] (n x d x d) */
  double *resp;       /* responsibilities r_k(x) (n x K) */
  double *logresp;    /* log r_k(x) (n x K) */
  double *class_post; /* p_t(y | x) (n x nlabels) */
  const int *class_y; /* with class_grad: the label y_i per point (n) */
  double *class_grad; /* grad_x log p_t(y_i | x) (n x d) */
} dpm_oracle_result;

typedef struct dpm_oracle dpm_oracle;

/* An oracle for mix (borrowed: must outlive the oracle and must not be modified while the oracle lives, since the
 * set-up for (m, s) is cached). It owns its scratch, sized for omp_get_max_threads() at allocation; the set-up for
 * a given (m, s) costs O(K d) and is cached, so repeated calls at one (m, s) are cheap. Not for concurrent use
 * from several threads: give each thread its own oracle. Eval itself runs parallel over points (OpenMP) with
 * results that do not depend on the thread count (nor on the batch a point comes in); a small batch, or a call
 * made from inside a caller's parallel region (one point per task), runs serially with no OpenMP region of its
 * own, to the same bits. Mixtures without full components (and K d <= 65536) take the lanes route: 16 points of
 * a block in SIMD lanes, the responsibilities' exp vectorised (libmvec, at most 4 ulp); the route depends only on
 * the mixture, so every call on one oracle agrees bit for bit whatever the outputs asked for. NULL on ENOMEM or
 * for an empty mixture (raising the error). */
dpm_oracle *dpm_oracle_alloc(const dpm_mixture *mix);
void dpm_oracle_free(dpm_oracle *o); /* NULL is a no-op */
const dpm_mixture *dpm_oracle_mixture(const dpm_oracle *o);

/* Evaluate at (m, s), m > 0 finite, s > 0 finite (with s^2 a normal double and m^2 finite), for n points. Returns
 * GSL_EDOM for a bad (m, s), GSL_EBADFUNC for a non-finite x (naming the point), GSL_ERANGE for a point farther
 * than 2^52 standard deviations from every component of positive weight (rho^2 = min_k (x - m mu_k)^T C_k^{-1}
 * (x - m mu_k) > 2^104, where rounding leaves no correct digit in the second moments and |x|^2 soon overflows;
 * naming the point and its farthest coordinate), GSL_EINVAL for x == NULL with n > 0 or for class outputs on an
 * unlabelled mixture, without class_y, or with a label out of range (naming the point), GSL_EDOM when class_grad
 * asks about a class with no component of positive weight; DPM_SUCCESS otherwise (res == NULL validates only).
 * Nothing is written on error. Within that range every output is finite and formed without cancellation, e.g.
 * eps = s sum_k r_k C_k^{-1}(x - m mu_k), never (x - m x0)/s, and second moments in two passes. */
int dpm_oracle_eval(dpm_oracle *o, double m, double s, size_t n, const double *x, dpm_oracle_result *res);

/* Convenience: log q_t at one point; NaN on error (after raising it as dpm_oracle_eval does). */
double dpm_oracle_logq1(dpm_oracle *o, double m, double s, const double *x);

/* The exact field of data whose components are all axis-aligned (isotropic, diagonal, point masses), for a block
 * of points at one (m, s) (field_lanes.c, docs/MATH.md §4.3 "The field kernel": the probability-flow ODE's field).
 * Not for concurrent use: one per thread. */
typedef struct dpm_oracle_field dpm_oracle_field;

/* *out = a kernel for mix, or NULL (and DPM_SUCCESS) when a component has a full covariance (the oracle serves
 * those). Status: GSL_EINVAL (NULL mix), GSL_ENOMEM (raised). */
int dpm_oracle_field_alloc(const dpm_mixture *mix, dpm_oracle_field **out);
void dpm_oracle_field_free(dpm_oracle_field *g); /* NULL is a no-op */

/* eps = E[eps|x] (n x d) and lap = Laplacian of log q_t (n) at the n points x (row i at x + i ldx, its first d
 * values) of q_t = law of m x_0 + s eps, as dpm_oracle_eval gives them up to rounding: each output within
 * c (K + d) u of the scale of its terms (vector exp: at most 4 ulp; sums in lanes). The same bits for a point
 * whatever the block it comes in and the thread. Returns DPM_SUCCESS; GSL_EDOM for an (m, s) the oracle refuses;
 * GSL_ERANGE when a point is farther than the oracle's bound from every component with mass, or an output is not
 * finite. The last two are not raised: the caller asks the oracle then, which names the problem. */
int dpm_oracle_field_eval(dpm_oracle_field *g, double m, double s, size_t n, const double *x, size_t ldx,
                          double *eps, double *lap);

#endif
