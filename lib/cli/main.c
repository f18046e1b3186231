/* main.c — the dpmlab command line: a table of subcommands over libdpmlab, each writing CSV. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static int cmd_help(int argc, char **argv);

/* The command table: adding a command is one line here and one cmd_<name>.c file. */
static const cli_command commands[] = {
    {"oracle", "exact log q_t, score, E[x0|x], E[eps|x], tr Cov, Laplacian at points", cmd_oracle},
    {"distance", "smoothed distance, its gradient, ideal denoiser and projection for a point set", cmd_distance},
    {"data", "a data set as a JSON mixture, or N exact samples as CSV", cmd_data},
    {"variance", "Analytic-DPM: Gamma_n, optimal reverse variance, bounds and ELBO terms per step", cmd_variance},
    {"trajectory", "Analytic-DPM: optimal (dp), even or quadratic K-step trajectory and its cost", cmd_trajectory},
    {"elbo", "Analytic-DPM: negative ELBO, bits/dim, entropy and gap of a K-step model", cmd_elbo},
    {"sample", "draw samples with a sampler of the table (DDPM, DDIM, Analytic-DPM, ...)", cmd_sample},
    {"samplers", "the sampler table: name, kind, order, NFE per step, description", cmd_samplers},
    {"compare", "every (sampler, NFE) pair judged against the exact q_0, with standard errors", cmd_compare},
    {"trace", "distance diagnostics along a sampler's trajectories on a point set (Permenter & Yuan)", cmd_trace},
    {"admissible", "measured relative error eta of a denoiser and the largest admissible log-linear beta",
     cmd_admissible},
    {"bridge",
     "Schroedinger bridge: Gaussian closed form, exact IPF iterate by iterate, Sinkhorn between point sets",
     cmd_bridge},
    {"memorisation", "share of samples regenerating a point of the set against steps, sampler and model",
     cmd_memorisation},
    {"score-matching", "Fisher, implicit, denoising and sliced score-matching objectives of a score model",
     cmd_score_matching},
    {"likelihood", "log-likelihood by the probability-flow ODE (exact divergence or Hutchinson) against the truth",
     cmd_likelihood},
    {"elbo-sde", "the reverse SDE's continuous-time ELBO by Monte Carlo, beside the exact log q_t0", cmd_elbo_sde},
    {"train", "exact least-squares DSM training of a linear score model, written as a model file", cmd_train},
    {"tv-bound", "TV error of the reverse SDE in 1-D against T, steps and score error (three terms)",
     cmd_tv_bound},
    {"regimes", "speciation and collapse times of the ideal denoiser against n and d (Biroli et al. 2024)",
     cmd_regimes},
    {"help", "list the commands, or `dpmlab help CMD` for one", cmd_help},
    {NULL, NULL, NULL},
};

static const cli_command *find(const char *name)
{
  for (const cli_command *c = commands; c->name; c++)
    if (strcmp(c->name, name) == 0) return c;
  return NULL;
}

static void usage(FILE *fp)
{
  fprintf(fp,
          "usage: dpmlab <command> [options]   (dpmlab <command> --help for its options)\n\n"
          "dpmlab %s: a numerical workbench for diffusion models on toy distributions, with exact oracles.\n\n"
          "commands:\n",
          DPM_VERSION);
  int width = 0; /* the names' column, as wide as the longest name */
  for (const cli_command *c = commands; c->name; c++)
    if ((int)strlen(c->name) > width) width = (int)strlen(c->name);
  for (const cli_command *c = commands; c->name; c++)
    fprintf(fp, "  %-*s %s\n", width, c->name, c->summary);
  fprintf(fp, "\ndata specs (--data): a built-in name with options, a .json mixture file or a .csv point set:\n%s",
          dpm_data_builtin_help());
}

static int cmd_help(int argc, char **argv)
{
  if (argc >= 2) {
    const cli_command *c = find(argv[1]);
    if (!c || c->run == cmd_help) return cli_errorf("help", CLI_EUSAGE, "unknown command '%s'", argv[1]);
    char *sub[] = {(char *)c->name, "--help", NULL};
    return c->run(2, sub);
  }
  usage(stdout);
  return CLI_OK;
}

/* OpenBLAS's own thread pool stays empty: dpmlab parallelises with OpenMP and calls BLAS single-threaded, so the
 * pool's threads, which OpenBLAS starts in its constructor and which poll with sched_yield for ~2^28 cycles before
 * they sleep, would only take a core from the OpenMP threads for the first ~0.1 s of every run (measured on the
 * d = 2 ideal denoiser: 0.056 s against 0.070 s whole process). OpenBLAS reads OPENBLAS_NUM_THREADS in that
 * constructor; this one runs before it (a prioritised constructor; the Makefile links OpenBLAS statically into the
 * command line) and sets 1 unless the user has set it. */
__attribute__((constructor(101))) static void blas_pool_off(void) { setenv("OPENBLAS_NUM_THREADS", "1", 0); }

int main(int argc, char **argv)
{
  dpm_error_install();
  if (argc < 2) {
    usage(stderr);
    return CLI_EUSAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) return cmd_help(1, argv);
  if (strcmp(argv[1], "--version") == 0) {
    printf("dpmlab %s\n", DPM_VERSION);
    return CLI_OK;
  }
  const cli_command *c = find(argv[1]);
  if (!c) {
    fprintf(stderr, "dpmlab: unknown command '%s' (try: dpmlab help)\n", argv[1]);
    return CLI_EUSAGE;
  }
  return c->run(argc - 1, argv + 1);
}
