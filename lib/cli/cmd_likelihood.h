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

/* What both commands set up from their options: the continuous process, the data, the points of --at (n rows of
 * d columns) and, when dspec is not "exact" or guide is set (model = 1), the models. */
typedef struct {
  dpm_process p;
  int p_set; /* p was parsed (and is cleared by cli_lik_run_clear) */
  dpm_mixture *mix;
  double *x;
  size_t n;
  int model;
  cli_lik_models M;
} cli_lik_run;

/* Parse --process (vp, subvp, ve or edm; `what` names what needs it in the error, e.g. "the flow"), load --data,
 * read --at (its columns must be the data's dimension) and build the models (w_seen, w: --guidance; guide: only
 * auto[:...]). Returns an exit code (message printed); on failure r owns nothing. */
int cli_lik_run_setup(const char *cmd, const char *what, const char *data, const char *proc, const char *at,
                      const char *dspec, const char *guide, int w_seen, double w, cli_lik_run *r);
void cli_lik_run_clear(cli_lik_run *r); /* idempotent */

#endif
