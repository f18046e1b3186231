/* dpm_denoiser.h — the denoiser interface every sampler and Analytic-DPM sees: eps-prediction, x0-prediction
 * and score at (x, m, s) for a batch (Tweedie, docs/MATH.md §2), and optionally the diagonal posterior variance
 * diag Cov[x_0|x] (Bao et al. ICML 2022, §3) and the divergence of the score (the exact-divergence
 * likelihood, §4). The oracle implements every op exactly; wrappers model imperfect networks. */
#ifndef DPM_DENOISER_H
#define DPM_DENOISER_H

#include <stddef.h>
#include "dpm_oracle.h"

typedef struct dpm_denoiser dpm_denoiser;

/* What a model predicts natively (the other predictions follow from it by dpm_denoiser_complete). */
typedef enum {
  DPM_PRED_EPS,  /* eps-hat(x) ~ E[eps|x] */
  DPM_PRED_X0,   /* x0-hat(x) ~ E[x_0|x] */
  DPM_PRED_SCORE /* score-hat(x) ~ grad log q_t(x) */
} dpm_pred_kind;

/* A denoiser type (strategy table). The ops receive m, s already checked (finite, > 0) and n >= 0 points x
 * (n x d, row-major); each returns a status and leaves the NFE count to the dpm_denoiser_eval* functions.
 *   eval:       fills any non-NULL of eps, x0, score (each n x d).
 *   free:       releases state (may be NULL).
 *   diagcov:    optional (NULL: the model has no posterior variance): diag Cov[x_0|x] into diagcov (n x d) and,
 *               when x0 != NULL, the mean E[x_0|x] from the same evaluation (n x d).
 *   divergence: optional (NULL: not available): div_x score(x) = Laplacian of log q_t into div (n) and, when
 *               score != NULL, the score from the same evaluation (n x d).
 * The optional ops come last so a table written as {name, eval, free} declines both. */
typedef struct {
  const char *name;
  int (*eval)(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *eps, double *x0,
              double *score);
  void (*free)(void *state);
  int (*diagcov)(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *x0, double *diagcov);
  int (*divergence)(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *score, double *div);
} dpm_denoiser_type;

struct dpm_denoiser {
  const dpm_denoiser_type *type;
  void *state;
  size_t d;
  unsigned long nfe;     /* number of batch evaluations (any op), counted by the dpm_denoiser_eval* functions */
  unsigned long npoints; /* number of point evaluations */
};

/* Evaluate (counts one NFE). Outputs related by eps = (x - m x0)/s, score = -eps/s whatever the type. Checks m, s
 * (finite, > 0; GSL_EDOM) before calling the type; nfe and npoints advance only on success. */
int dpm_denoiser_eval(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *eps, double *x0,
                      double *score);

/* The diagonal posterior variance diag Cov[x_0|x] (n x d) and optionally (x0 != NULL) the mean E[x_0|x] from the
 * same evaluation: one NFE. diag Cov[eps|x] = (m^2/s^2) diag Cov[x_0|x]. GSL_EINVAL ("denoiser X has no posterior
 * variance") when the type has no diagcov op, GSL_EDOM for a bad (m, s), else the op's status; nfe and npoints
 * advance only on success. */
int dpm_denoiser_eval_diagcov(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *x0,
                              double *diagcov);

/* The divergence of the score, div_x grad log q_t(x) = Laplacian of log q_t, per point (n), and optionally
 * (score != NULL) the score from the same evaluation: one NFE. GSL_EINVAL ("denoiser X has no divergence") when
 * the type has no divergence op, GSL_EDOM for a bad (m, s), else the op's status; counts as dpm_denoiser_eval. */
int dpm_denoiser_eval_divergence(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *score,
                                 double *div);

/* Whether the optional ops exist (1) or not (0; also for NULL). Can't fail. */
int dpm_denoiser_has_diagcov(const dpm_denoiser *dn);
int dpm_denoiser_has_divergence(const dpm_denoiser *dn);

/* Set nfe and npoints back to 0 (e.g. between two sampler runs). NULL is a no-op. Can't fail. */
void dpm_denoiser_reset_count(dpm_denoiser *dn);

void dpm_denoiser_free(dpm_denoiser *dn); /* NULL is a no-op; frees the state through the type */

/* The exact denoiser of a mixture (owns an oracle on mix; mix is borrowed). Every op, exactly: diagcov from the
 * oracle's diag Cov[x_0|x], divergence from its Laplacian. NULL on ENOMEM. */
dpm_denoiser *dpm_denoiser_oracle_alloc(const dpm_mixture *mix);

/* Helper for wrappers: a denoiser from a type and a state. NULL on error (NULL type or eval, ENOMEM). */
dpm_denoiser *dpm_denoiser_alloc(const dpm_denoiser_type *type, void *state, size_t d);

/* Fill the missing predictions from the one given (`given`; the array of that kind is read, the others written;
 * NULL outputs are skipped; an unknown kind does nothing). x0 from eps is (x - s eps)/m, eps from x0 is
 * (x - m x0)/s, which cancels as s -> 0: a denoiser that has eps should give eps. From the score: eps = -s score,
 * x0 = (x + s^2 score)/m. Can't fail. */
void dpm_denoiser_complete(double m, double s, size_t n, size_t d, const double *x, dpm_pred_kind given,
                           double *eps, double *x0, double *score);

#endif
