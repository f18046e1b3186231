/* dpm_denoiser.h — the denoiser interface every sampler and Analytic-DPM sees: eps-prediction, x0-prediction
 * and score at (x, m, s) for a batch. The oracle implements it exactly; wrappers model imperfect networks. */
#ifndef DPM_DENOISER_H
#define DPM_DENOISER_H

#include <stddef.h>
#include "dpm_oracle.h"

typedef struct dpm_denoiser dpm_denoiser;

/* A denoiser type (strategy table). eval fills any non-NULL of eps, x0, score (each n x d) for n points x at
 * (m, s); it returns a status. free releases state (may be NULL). */
typedef struct {
  const char *name;
  int (*eval)(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *eps, double *x0,
              double *score);
  void (*free)(void *state);
} dpm_denoiser_type;

struct dpm_denoiser {
  const dpm_denoiser_type *type;
  void *state;
  size_t d;
  unsigned long nfe; /* number of batch evaluations, counted by dpm_denoiser_eval */
  unsigned long npoints; /* number of point evaluations */
};

/* Evaluate (counts NFE). Outputs related by eps = (x - m x0)/s, score = -eps/s whatever the type. Checks m, s
 * (finite, > 0; GSL_EDOM) before calling the type; nfe and npoints advance only on success. */
int dpm_denoiser_eval(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *eps, double *x0,
                      double *score);
void dpm_denoiser_free(dpm_denoiser *dn); /* NULL is a no-op; frees the state through the type */

/* The exact denoiser of a mixture (owns an oracle on mix; mix is borrowed). NULL on ENOMEM. */
dpm_denoiser *dpm_denoiser_oracle_alloc(const dpm_mixture *mix);

/* Helper for wrappers: a denoiser from a type and a state. */
dpm_denoiser *dpm_denoiser_alloc(const dpm_denoiser_type *type, void *state, size_t d);

/* Fill the missing predictions from the one given (which: 0 = eps given, 1 = x0 given; any other value does
 * nothing); NULL outputs are skipped. x0 from eps is (x - s eps)/m, eps from x0 is (x - m x0)/s, which cancels as
 * s -> 0: a denoiser that has eps should give eps. Can't fail. */
void dpm_denoiser_complete(double m, double s, size_t n, size_t d, const double *x, int which, double *eps,
                           double *x0, double *score);

#endif
