/* cmd_likelihood.h — what `dpmlab likelihood` and `dpmlab elbo-sde` share: the model whose flow (or reverse SDE)
 * they evaluate, one copy per thread (docs/MATH.md §4.3). */
#ifndef DPM_CLI_CMD_LIKELIHOOD_H
#define DPM_CLI_CMD_LIKELIHOOD_H

#include "cmd_sample.h"

/* The models of a run, one copy per thread (a denoiser is not for concurrent use). */
typedef struct {
  size_t n;
  cli_model *mdl;
  dpm_denoiser **dn;
  dpm_denoiser **scaled;
} cli_lik_models;

/* --denoiser exact | scaled:c=C | empirical:n=N[,seed=S] (and exact/empirical with --guide auto[:var=V,keep=K],
 * w_seen and w the --guidance weight), one copy per OpenMP thread into M->dn[0..M->n-1]. relerr is refused: its
 * perturbation is a hash of x, so its flow has no divergence. Returns an exit code (message printed); on failure
 * M owns nothing. */
int cli_lik_models_build(const char *cmd, const dpm_mixture *mix, const char *dspec, const char *guide, int w_seen,
                         double w, cli_lik_models *M);
void cli_lik_models_clear(cli_lik_models *M); /* idempotent */

#endif
