/* sm_internal.h — what the score-matching sources share and do not export: the linear model's layout, its hat
 * functions in lambda and the owning model view. */
#ifndef DPM_SM_INTERNAL_H
#define DPM_SM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dpm_scorematch.h"

struct dpm_sm_linear {
  dpm_sm_basis_kind kind;
  size_t size, d, P, L;
  double ell;
  uint64_t seed;
  double *mu_bar, v_bar;
  double *knots;        /* L */
  double *theta;        /* L x P x d */
  unsigned char *alpha; /* poly: P x d exponents */
  double *omega, *bias; /* rff: frequencies (size x d) and phases; bump: centres (size x d) */
};

/* The two hat functions alive at lambda: theta(lambda) = (1 - a) theta_k0 + a theta_{k0+1} (a = 0 and k0 = 0 when
 * L = 1; constant beyond the end knots). Can't fail. */
void dpm_sm_linear_hat(const dpm_sm_linear *L, double lambda, size_t *k0, double *a);

/* The score-model view of L; own = 1 makes the model free L. NULL on error. */
dpm_sm_model *dpm_sm_linear_model_make(dpm_sm_linear *L, int own);

/* The law of m x_0 + s eps for x_0 ~ mix as a new mixture (covariances m^2 Sigma_k + s^2 I; a point mass becomes
 * s^2 I). NULL on error (ENOMEM, or s = 0 with a point mass). */
dpm_mixture *dpm_sm_mixture_at(const dpm_mixture *mix, double m, double s);

#endif
