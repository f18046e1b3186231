/* dpm_data.h — toy data q_0: Gaussian mixtures in R^d with full, diagonal, isotropic or zero (point mass)
 * covariances and optional class labels; finite point sets are mixtures of point masses (docs/MATH.md §2). */
#ifndef DPM_DATA_H
#define DPM_DATA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <gsl/gsl_rng.h>

typedef enum {
  DPM_COV_ZERO = 0, /* point mass: Sigma = 0 */
  DPM_COV_ISO = 1,  /* Sigma = v I */
  DPM_COV_DIAG = 2, /* Sigma = diag(v) */
  DPM_COV_FULL = 3  /* Sigma = U diag(lambda) U^T */
} dpm_cov_kind;

/* A mixture sum_k w_k N(mu_k, Sigma_k). Every covariance is held eigen-factored: lambda (K x d, row k the
 * eigenvalues of Sigma_k, >= 0) and, for DPM_COV_FULL components only, U (K x d x d, row-major, columns the
 * eigenvectors); for the other kinds U is the identity and not stored (U == NULL when no component is FULL). */
typedef struct {
  size_t d, K;
  double *w;          /* K, normalised, sum 1 */
  double *logw;       /* K, log w_k (-inf for a zero weight) */
  double *mu;         /* K x d */
  dpm_cov_kind *kind; /* K */
  double *lambda;     /* K x d */
  double *U;          /* K x d x d or NULL */
  int *labels;        /* K or NULL: integer class label per component, >= 0 */
  int nlabels;        /* 1 + max label, 0 when unlabelled */
  char name[128];     /* the spec it came from, for metadata */
  double *Sigma;      /* K x d x d or NULL (allocated with U): each FULL component's covariance exactly as set, so
                       * dpm_mixture_cov and the JSON writer return the caller's numbers bit for bit */
} dpm_mixture;

/* An empty mixture of K components in R^d, all point masses at 0 with equal weights. NULL on error. */
dpm_mixture *dpm_mixture_alloc(size_t K, size_t d);
void dpm_mixture_free(dpm_mixture *mix); /* NULL is a no-op */

/* Setters for component k, validating as they go (finite, symmetric positive-definite, ...); each returns a
 * status and raises an error naming component k on bad input. */
int dpm_mixture_set_mean(dpm_mixture *mix, size_t k, const double *mu);
int dpm_mixture_set_zero(dpm_mixture *mix, size_t k);
int dpm_mixture_set_iso(dpm_mixture *mix, size_t k, double var);         /* var > 0 */
int dpm_mixture_set_diag(dpm_mixture *mix, size_t k, const double *var); /* each > 0 */
int dpm_mixture_set_full(dpm_mixture *mix, size_t k, const double *cov); /* d x d row-major, SPD (Cholesky) */
/* Weights w[0..K-1] >= 0 with a positive finite sum; normalised on the way in. */
int dpm_mixture_set_weights(dpm_mixture *mix, const double *w);
/* Labels (>= 0) per component, or NULL to drop them. */
int dpm_mixture_set_labels(dpm_mixture *mix, const int *labels);

/* 1 when every component is a point mass (a finite point set). */
int dpm_mixture_is_pointset(const dpm_mixture *mix);

/* Covariance of component k as a dense d x d row-major matrix (out). */
void dpm_mixture_cov(const dpm_mixture *mix, size_t k, double *out);
/* Exact mixture moments: mean (d) and covariance (d x d), and E||x_0||^2. Any output may be NULL. */
/* x = c + U_k diag(scale) u: a point in component k's eigen frame (U_k the identity unless the component is full).
 * Can't fail. */
void dpm_mixture_component_point(const dpm_mixture *mix, size_t k, const double *c, const double *scale,
                                 const double *u, double *x);

void dpm_mixture_moments(const dpm_mixture *mix, double *mean, double *cov, double *e_norm2);
/* Smallest box [lo, hi]^d per coordinate holding all but `tail` mass: for point masses the exact hull, for
 * Gaussian components mean +- z sd with z from a union bound over the d coordinates of each component, averaged
 * with the weights: z = Q^{-1}(tail / 2d), never looser than the bound over all K d coordinates; components of
 * zero weight are left out (lo, hi each d). */
void dpm_mixture_box(const dpm_mixture *mix, double tail, double *lo, double *hi);

/* Scratch for exact sampling: cumulative weights (K) and one normal vector (d), so no draw allocates. Sized for a
 * mixture's (K, d) and usable with any mixture of that shape (the weights are read at each call). One workspace
 * per thread. NULL on ENOMEM (raised). _free(NULL) is a no-op. */
typedef struct dpm_mixture_sample_workspace dpm_mixture_sample_workspace;
dpm_mixture_sample_workspace *dpm_mixture_sample_alloc(const dpm_mixture *mix);
void dpm_mixture_sample_free(dpm_mixture_sample_workspace *w);

/* Exact samples: n draws from q_0 into x (n x d); when comp != NULL, the component index of each. Returns
 * GSL_EINVAL for a NULL argument, GSL_EBADLEN for a workspace of another shape; nothing is drawn on error. */
int dpm_mixture_sample(const dpm_mixture *mix, dpm_mixture_sample_workspace *w, gsl_rng *r, size_t n, double *x,
                       size_t *comp);
/* Exact samples from q_t = law of m x_0 + s eps; x0 (n x d) receives the clean draws when non-NULL and eps
 * (n x d) the noise when non-NULL. Errors as dpm_mixture_sample, and GSL_EDOM unless m and s >= 0 are
 * finite. */
int dpm_mixture_sample_t(const dpm_mixture *mix, dpm_mixture_sample_workspace *w, gsl_rng *r, double m, double s,
                         size_t n, double *x, double *x0, double *eps);

/* A deep copy; NULL on ENOMEM. */
dpm_mixture *dpm_mixture_clone(const dpm_mixture *mix);

/* ---- specs and files ---------------------------------------------------------------------------------- */

/* Build a mixture from a spec: a built-in name with options (see dpm_data_builtin_help), a path ending in
 * ".json" (a mixture file) or ".csv" (a point set). On error returns NULL and raises an error naming the
 * problem and where (file:line, component, option). */
dpm_mixture *dpm_data_from_spec(const char *spec);

/* One line per built-in set: "name[:options]  description". */
const char *dpm_data_builtin_help(void);

/* JSON mixture file {"weights": [...], "means": [[...]...], "covariances": [...], "labels": [...]}; each
 * covariance a d x d matrix, a list of d variances or one number; no "covariances" => point masses. */
dpm_mixture *dpm_data_load_json(const char *path);
/* The same from a string in memory (what = a name for messages). */
dpm_mixture *dpm_data_load_json_string(const char *text, const char *what);
/* Write a mixture as JSON in the format above (status; out is written atomically by the caller's stream). */
int dpm_data_write_json(const dpm_mixture *mix, FILE *fp);

/* A CSV point set: one point per line, an optional header line, '#' comment lines, equal widths, finite
 * numbers. The mixture has equal weights and point masses. */
dpm_mixture *dpm_data_load_csv(const char *path);

/* ---- differential entropy of the data -------------------------------------------------------------------- */

/* H(q_0) = -E log q_0(x_0) in nats. Quadrature (d <= 2): the adaptive cubature of dpm_analytic_gamma_quad_alloc
 * applied to -log q_0 per component, to relative tolerance rel_tol. Monte Carlo (any d): M exact samples in
 * blocks of 4096 with stream (seed, block), err = standard error; same bits for any thread count. Both fail with
 * GSL_EDOM for a mixture with a point mass (a finite set has no density: its differential entropy is -infinity,
 * undefined). dpm_mixture_entropy picks quadrature (rel_tol 1e-10) in d <= 2, else Monte Carlo (M = 200000,
 * seed 0). Each call allocates its scratch once. */
int dpm_mixture_entropy_quad(const dpm_mixture *mix, double rel_tol, double *H, double *err);
int dpm_mixture_entropy_mc(const dpm_mixture *mix, size_t M, uint64_t seed, double *H, double *se);
int dpm_mixture_entropy(const dpm_mixture *mix, double *H, double *err);

#endif
