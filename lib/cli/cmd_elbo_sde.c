/* cmd_elbo_sde.c — `dpmlab elbo-sde`: the continuous-time ELBO of the reverse SDE (Song, Durkan, Murray & Ermon
 * 2021, Thm 1, integration-by-parts form) at each point by Monte Carlo with a standard error, beside the exact
 * log q_t0 (docs/MATH.md §4.3). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_likelihood.h"
#include "commands.h"

int cmd_elbo_sde(int argc, char **argv)
{
  const char *cmd = "elbo-sde", *data = NULL, *proc = NULL, *at = NULL, *outp = NULL, *priors = "gaussian",
             *dspec = "exact", *guide = NULL;
  double guidance = NAN;
  size_t M = 1000;
  double t0 = 1e-5;
  uint64_t seed = 0;
  int meta = 0;
  cli_opt opts[] = {
      {"data", OPT_STR, &data, "data spec: built-in name[:opts], FILE.json or FILE.csv (required)", 0},
      {"process", OPT_STR, &proc, "vp, subvp, ve or edm[:opts] (required)", 0},
      {"at", OPT_STR, &at, "CSV of points x at t0, d columns; - for stdin (required)", 0},
      {"mc", OPT_SIZE, &M, "Monte Carlo draws M >= 2 per point (default 1000)", 0},
      {"t0", OPT_DOUBLE, &t0, "lower end t0 > 0; logq_true = log q_t0 (default 1e-5)", 0},
      {"prior", OPT_STR, &priors, "gaussian (N(0, s_T^2 I), the paper's; default) | exact (q_T: B = log q_t0)", 0},
      {"seed", OPT_U64, &seed, "seed: point i uses the stream (seed, i) (default 0)", 0},
      {"denoiser", OPT_STR, &dspec,
       "the bound of a model's score: exact (default) | scaled:c=C | empirical:n=N[,seed=S] (relerr is refused)",
       0},
      {"guide", OPT_STR, &guide, "auto[:var=V,keep=K]: the autoguided model (1 + w) D - w D_weak", 0},
      {"guidance", OPT_DOUBLE, &guidance, "guidance weight w of --guide auto (default 1)", 0},
      {"out", OPT_STR, &outp, "output file (written whole or not at all); default stdout", 0},
      {"meta", OPT_FLAG, &meta, "begin the output with '#' metadata lines", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc = cli_parse(
      argc, argv, opts,
      "usage: dpmlab elbo-sde --data SPEC --process P --at POINTS.csv [--mc M]\n"
      "columns: bound,bound_se,logq_true: the lower bound B(x) <= log p^SDE_t0(x) of the reverse SDE\n"
      "with the exact score (or --denoiser's), by Monte Carlo (nats) with its standard error, and the exact\n"
      "log q_t0(x)");
  if (rc) return rc < 0 ? CLI_OK : rc;
  if ((rc = cli_require(cmd, opts, "data")) || (rc = cli_require(cmd, opts, "process")) ||
      (rc = cli_require(cmd, opts, "at")))
    return rc;
  if (M < 2) return cli_errorf(cmd, CLI_EUSAGE, "--mc must be >= 2 (got %zu)", M);
  if (!(t0 > 0.0)) return cli_errorf(cmd, CLI_EUSAGE, "--t0 must be > 0 (got %g)", t0);
  dpm_lik_prior prior;
  if (dpm_likelihood_prior_parse(priors, &prior)) return cli_fail(cmd, CLI_EUSAGE, "--prior");
  cli_lik_run R;
  if ((rc = cli_lik_run_setup(cmd, "the bound", data, proc, at, dspec, guide, cli_seen(opts, "guidance"), guidance,
                              &R)))
    return rc;
  const dpm_process *p = &R.p;
  const double *x = R.x;
  const size_t n = R.n;
  double *buf = NULL;
  dpm_likelihood *w = NULL;
  dpm_oracle *o = NULL;
  dpm_out *out = NULL;
  rc = CLI_EDATA;
  if (!(w = dpm_likelihood_alloc(R.mix, R.model ? R.M.dn : NULL, R.M.n)) || !(o = dpm_oracle_alloc(R.mix)) ||
      !(buf = malloc(3 * n * sizeof(double)))) {
    cli_fail(cmd, CLI_EDATA, "out of memory");
    goto done;
  }
  double m0, s0;
  const double t_start = cli_now();
  if (dpm_likelihood_elbo_sde(w, p, t0, prior, M, seed, n, x, buf, buf + n, NULL)) {
    cli_fail(cmd, CLI_EDATA, "the bound failed");
    goto done;
  }
  dpm_oracle_result res = {0};
  res.logq = buf + 2 * n;
  if (dpm_process_ms(p, t0, &m0, &s0) || dpm_oracle_eval(o, m0, s0, n, x, &res)) {
    cli_fail(cmd, CLI_EDATA, "log q_t0 failed");
    goto done;
  }
  if (cli_now() - t_start > 2.0)
    fprintf(stderr, "dpmlab elbo-sde: %zu points x %zu draws in %.1f s\n", n, M, cli_now() - t_start);
  if (!(out = cli_out_open(cmd, outp, argc, argv, !meta))) goto done;
  FILE *fp = dpm_out_file(out);
  if (meta)
    fprintf(fp, "# process: %s\n# prior: %s\n# model: %s%s%s\n# mc: %zu  seed: %llu  t0: %.17g\n",
            dpm_process_name(p), priors, dspec, guide ? " + " : "", guide ? guide : "", M,
            (unsigned long long)seed, t0);
  fputs("bound,bound_se,logq_true\n", fp);
  for (size_t i = 0; i < n; i++) {
    const double row[3] = {buf[i], buf[n + i], buf[2 * n + i]};
    dpm_csv_write_row(fp, row, 3);
  }
  rc = dpm_out_close(out, 1) ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
  out = NULL;
done:
  if (out) dpm_out_close(out, 0);
  dpm_likelihood_free(w);
  dpm_oracle_free(o);
  free(buf);
  cli_lik_run_clear(&R);
  return rc;
}
