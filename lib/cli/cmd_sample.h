/* cmd_sample.h — what `dpmlab sample` and `dpmlab compare` share: the model (the --denoiser, optionally wrapped in
 * exact guidance, dpm_guidance.h), the process with its end time, and the timeline from a named grid or a file. */
#ifndef DPM_CLI_CMD_SAMPLE_H
#define DPM_CLI_CMD_SAMPLE_H

#include "dpmlab.h"

/* The denoiser a run uses and everything it is built from (owned). */
typedef struct {
  dpm_denoiser *inner, *outer, *aux, *guided;
  dpm_mixture *m1, *m2;
  dpm_energy_mixture *emix;   /* energy guidance: -log p */
  dpm_energy_quadratic equad; /* or |x - c|^2 / (2 tau^2), c owned */
  char what[160];             /* "exact", "relerr:eta=0.1 + classifier y=0 w=1", ... for --meta */
} cli_model;

/* Build from --denoiser (exact | relerr:eta=E[,seed=S] | empirical:n=N[,seed=S]) and the guidance options:
 * guide NULL (classifier when has_class, none otherwise), "classifier", "cfg", "auto[:var=V,keep=K]",
 * "energy:c=X1/../Xd,tau=T" (quadratic, c default 0, tau 1) or "energy:mixture" (-log q_0, with --class -log
 * q_0(x|y)) or "tilt:c=..,tau=T" (the exact denoiser of the quadratically tilted data,
 * dpm_guidance_tilt_quadratic); w_seen and w the --guidance weight (defaults: classifier 1, cfg 0, auto 1, energy
 * 1, tilt 1). Returns an exit code (message printed); on failure the model owns nothing. */
int cli_model_build(const char *cmd, const dpm_mixture *mix, const char *dspec, const char *guide, int has_class,
                    int y, int w_seen, double w, cli_model *mdl);
dpm_denoiser *cli_model_denoiser(const cli_model *mdl);
void cli_model_clear(cli_model *mdl); /* NULL-safe, idempotent */

/* 1 when grid names a built-in grid (uniform, edm, loglinear, lambda, quadratic, ddim, ddim-offset); otherwise it
 * is a file. */
int cli_grid_is_named(const char *grid);
/* The named grid with K intervals on the continuous process p: dpm_timeline_set_grid's names, and the two DDIM
 * schedules of Permenter & Yuan's schedule table (dpm_timeline_set_ddim on the linear-beta DDPM, N = 1000, beta
 * 1e-4 .. 0.02): "ddim" (uniform discrete steps from sigma_N = 157.4, so the process's sigma range must reach it,
 * e.g. edm:sigma_max=160) and "ddim-offset" (the same spacing from the first step with sigma >= 40). Returns a
 * GSL status with the library's reason. */
int cli_timeline_set_grid(dpm_timeline *tl, const dpm_process *p, const char *grid, size_t K, double rho);
/* The names cli_grid_is_named accepts, for messages and --help. */
#define CLI_GRID_NAMES "uniform, edm, loglinear, lambda, quadratic, ddim, ddim-offset"

/* The sampler types of n names (items of a split list option `opt`) into types[0..n-1]. Returns 0, or a printed
 * usage error naming the unknown sampler and listing the known ones. */
int cli_sampler_list(const char *cmd, const char *opt, char *const *names, size_t n,
                     const dpm_sampler_type **types);
/* n integers in [1, 100000] (items of a list option `opt`) into v[0..n-1], their maximum into *vmax (at least 1).
 * Returns 0, or a printed usage error naming the bad item. */
int cli_count_list(const char *cmd, const char *opt, char *const *items, size_t n, size_t *v, size_t *vmax);

/* Parse the process and apply --t-end (t_end_seen): continuous processes only, 0 <= t_end < t_max. Returns an exit
 * code (message printed); on failure p owns nothing. */
int cli_process_setup(const char *cmd, const char *spec, int t_end_seen, double t_end, dpm_process *p);

#endif
