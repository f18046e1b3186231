/* cmd_trace.c — `dpmlab trace`: the trajectory diagnostics of Permenter & Yuan (arXiv 2306.04848, §3–4) along any
 * sampler of the table on a point set in VE coordinates: true and smoothed distance, dist/(sqrt(d) sigma) and the
 * relative gradient error of the model at every grid point (docs/MATH.md §2.10). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_sample.h"
#include "commands.h"

int cmd_trace(int argc, char **argv)
{
  const char *cmd = "trace", *data = NULL, *procspec = NULL, *name = NULL, *grid = "loglinear", *init = NULL,
             *dspec = "exact", *outp = NULL;
  size_t K = 0;
  double rho = 0.0;
  uint64_t seed = 0;
  int meta = 0;
  cli_opt opts[] = {
      {"data", OPT_STR, &data, "a point set: a .csv file or a built-in point set (circle, sphere, ...) (required)",
       0},
      {"process", OPT_STR, &procspec, "ve or edm (m = 1, s = sigma) (required)", 0},
      {"sampler", OPT_STR, &name, "a sampler of the table (dpmlab samplers) (required)", 0},
      {"steps", OPT_SIZE, &K, "number of grid intervals K >= 1 (required unless --grid FILE)", 0},
      {"grid", OPT_STR, &grid,
       "uniform|edm|loglinear|lambda|quadratic|ddim|ddim-offset (default loglinear) or a FILE of times", 0},
      {"rho", OPT_DOUBLE, &rho, "--grid edm: rho > 0 (default 7)", 0},
      {"init", OPT_STR, &init, "CSV of starting points at the first time, one per row (required)", 0},
      {"denoiser", OPT_STR, &dspec, "exact (default) | relerr:eta=E[,seed=S] | empirical:n=N[,seed=S]", 0},
      {"seed", OPT_U64, &seed, "seed of stochastic samplers (default 0)", 0},
      {"out", OPT_STR, &outp, "output file (written whole or not at all); default stdout", 0},
      {"meta", OPT_FLAG, &meta, "begin the output with '#' metadata lines", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc =
      cli_parse(argc, argv, opts,
                "usage: dpmlab trace --data POINTSET --process ve|edm --sampler NAME --steps K [--grid G] "
                "--init FILE.csv [--denoiser D]\n"
                "one row per (starting point, grid point, the start included): "
                "point,step,sigma,dist,smoothed_dist2,ratio,grad_err,x_1..x_d\n"
                "dist = min_y |x - y|, smoothed_dist2 = -2 sigma^2 log sum_y exp(-|x-y|^2/(2 sigma^2)), ratio = "
                "dist/(sqrt(d) sigma),\ngrad_err = |sigma eps_theta - sigma eps*|/dist. The iterate at grid "
                "point k is the end of the sampler's run over\nthe grid's first k intervals from the same "
                "start and seed (k(k+1)/2 steps in all): the trajectory itself for one-step\nsamplers; "
                "multistep ones that lower their order at the end of a grid see a shorter grid.");
  if (rc) return rc < 0 ? CLI_OK : rc;
  const char *req[] = {"data", "process", "sampler", "init"};
  for (size_t i = 0; i < 4; i++)
    if ((rc = cli_require(cmd, opts, req[i]))) return rc;
  const int grid_file = !cli_grid_is_named(grid);
  if (!grid_file && (rc = cli_require(cmd, opts, "steps"))) return rc;
  const dpm_sampler_type *T = dpm_sampler_type_find(name);
  if (!T) return cli_fail(cmd, CLI_EUSAGE, "bad --sampler");
  dpm_process proc;
  if ((rc = cli_process_setup(cmd, procspec, 0, 0.0, &proc))) return rc;
  dpm_mixture *mix = NULL;
  dpm_timeline *tl = NULL, *sub = NULL;
  dpm_sampler *smp = NULL;
  cli_model mdl;
  memset(&mdl, 0, sizeof mdl);
  double *x0 = NULL, *x = NULL, *path = NULL, *diag = NULL;
  dpm_out *out = NULL;
  size_t n = 0, cols = 0;
  rc = CLI_EUSAGE;
  if (proc.kind != DPM_PROCESS_VE && proc.kind != DPM_PROCESS_EDM) {
    cli_errorf(cmd, rc, "--process %s: trace needs VE coordinates (m = 1, s = sigma): ve or edm", procspec);
    goto done;
  }
  rc = CLI_EDATA;
  if (!(mix = cli_load_data(cmd, data))) goto done;
  const size_t d = mix->d;
  if (!dpm_mixture_is_pointset(mix)) {
    cli_errorf(cmd, rc, "'%s' is not a point set (it has non-zero covariances)", data);
    goto done;
  }
  if (dpm_csv_read(init, &x0, &n, &cols, NULL)) {
    cli_fail(cmd, rc, "cannot read --init");
    goto done;
  }
  if (n == 0 || cols != d) {
    cli_errorf(cmd, rc, "%s: %zu points with %zu columns, need >= 1 point with %zu", init, n, cols, d);
    goto done;
  }
  if ((rc = cli_model_build(cmd, mix, dspec, NULL, 0, 0, 0, 0.0, &mdl))) goto done;
  rc = CLI_EDATA;
  if (grid_file) {
    if (!(tl = dpm_timeline_alloc(100000)) || dpm_timeline_load_file(tl, &proc, grid)) {
      cli_fail(cmd, rc, "bad --grid file");
      goto done;
    }
    K = tl->K;
  } else if (!(tl = dpm_timeline_alloc(K ? K : 1)) || cli_timeline_set_grid(tl, &proc, grid, K, rho)) {
    cli_fail(cmd, CLI_EUSAGE, "bad time grid");
    rc = CLI_EUSAGE;
    goto done;
  }
  sub = dpm_timeline_alloc(K);
  smp = dpm_sampler_alloc(T, n, d, K);
  x = malloc(n * d * sizeof *x);
  path = malloc((K + 1) * n * d * sizeof *path);
  diag = malloc(n * 4 * sizeof *diag);
  if (!sub || !smp || !x || !path || !diag) {
    cli_fail(cmd, rc, "out of memory");
    goto done;
  }
  memcpy(path, x0, n * d * sizeof *x0);
  dpm_sampler_problem pb = {.dn = cli_model_denoiser(&mdl), .tl = sub, .sigma2 = NULL, .mix = mix};
  dpm_sampler_params_default(&pb.par);
  for (size_t k = 1; k <= K; k++) {
    memcpy(x, x0, n * d * sizeof *x);
    if (dpm_timeline_set_times(sub, &proc, k, tl->t) || dpm_sampler_run(smp, &pb, seed, n, x, 1, NULL)) {
      cli_fail(cmd, rc, "sampling failed");
      goto done;
    }
    memcpy(path + k * n * d, x, n * d * sizeof *x);
  }
  if (!(out = cli_out_open(cmd, outp, argc, argv, !meta))) goto done;
  FILE *fp = dpm_out_file(out);
  if (meta)
    fprintf(fp, "# sampler: %s\n# model: %s\n# grid: %s\n# seed: %llu\n", T->name, mdl.what, grid,
            (unsigned long long)seed);
  fputs("point,step,sigma,dist,smoothed_dist2,ratio,grad_err,", fp);
  cli_header_vec(fp, "x", d);
  fputc('\n', fp);
  double *dist = diag, *sd2 = diag + n, *ratio = diag + 2 * n, *gerr = diag + 3 * n;
  for (size_t k = 0; k <= K; k++) {
    const double sigma = tl->s[k], *xk = path + k * n * d;
    if (sigma > 0.0) {
      if (dpm_optim_diagnose(mix->K, d, mix->mu, cli_model_denoiser(&mdl), sigma, n, xk, dist, sd2, ratio, NULL,
                             gerr)) {
        cli_fail(cmd, rc, "diagnostics failed");
        goto done;
      }
    } else /* sigma = 0: the unsmoothed limit */
      for (size_t i = 0; i < n; i++) {
        dist[i] = sqrt(dpm_distance_min2(mix->K, d, mix->mu, xk + i * d, NULL));
        sd2[i] = dist[i] * dist[i];
        ratio[i] = gerr[i] = (double)NAN;
      }
    for (size_t i = 0; i < n; i++) {
      fprintf(fp, "%zu,%zu,%.17g,%.17g,%.17g,%.17g,%.17g,", i, k, sigma, dist[i], sd2[i], ratio[i], gerr[i]);
      dpm_csv_write_row(fp, xk + i * d, d);
    }
  }
  rc = dpm_out_close(out, 1) ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
  out = NULL;
done:
  if (out) dpm_out_close(out, 0);
  free(diag);
  free(path);
  free(x);
  free(x0);
  dpm_sampler_free(smp);
  dpm_timeline_free(sub);
  dpm_timeline_free(tl);
  cli_model_clear(&mdl);
  dpm_mixture_free(mix);
  dpm_process_clear(&proc);
  return rc;
}
