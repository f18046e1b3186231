/* cmd_admissible.c — `dpmlab admissible`: the relative error eta of a denoiser on the band of Permenter & Yuan's
 * relative-error model (arXiv 2306.04848, §4) measured by sampling, and the largest admissible log-linear step
 * beta for it (docs/MATH.md §2.10). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_sample.h"
#include "commands.h"

int cmd_admissible(int argc, char **argv)
{
  const char *cmd = "admissible", *data = NULL, *dspec = "exact", *gradk = "true", *outp = NULL;
  size_t N = 10, M = 2000;
  double nu = NAN, cap = 0.5, ratio0 = 1.0, r_lo = NAN, r_hi = NAN;
  uint64_t seed = 0;
  int meta = 0;
  cli_opt opts[] = {
      {"data", OPT_STR, &data, "a point set: a .csv file or a built-in point set (circle, sphere, ...) (required)",
       0},
      {"denoiser", OPT_STR, &dspec, "exact (default) | relerr:eta=E[,seed=S] | empirical:n=N[,seed=S]", 0},
      {"nu", OPT_DOUBLE, &nu, "band half-width nu >= 1: dist/nu <= sqrt(d) sigma <= nu dist (required)", 0},
      {"beta-max", OPT_DOUBLE, &cap, "largest beta tried, in (0, 1) (default 0.5)", 0},
      {"steps", OPT_SIZE, &N, "number N of log-linear steps the schedule must stay admissible for (default 10)",
       0},
      {"ratio0", OPT_DOUBLE, &ratio0, "dist/(sqrt(d) sigma) at the start, in [1/nu, nu] (default 1)", 0},
      {"grad", OPT_STR, &gradk, "true (x - proj(x), the theorem's; default) or smoothed (sigma eps*)", 0},
      {"samples", OPT_SIZE, &M, "sampled (x, sigma) pairs on the band (default 2000)", 0},
      {"r-lo", OPT_DOUBLE, &r_lo,
       "smallest distance of a sampled x to its point (default 1e-3 x the set's spread)", 0},
      {"r-hi", OPT_DOUBLE, &r_hi, "largest distance (default the set's spread)", 0},
      {"seed", OPT_U64, &seed, "seed: pair i uses the stream (seed, i) (default 0)", 0},
      {"out", OPT_STR, &outp, "output file (written whole or not at all); default stdout", 0},
      {"meta", OPT_FLAG, &meta, "begin the output with '#' metadata lines", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc =
      cli_parse(argc, argv, opts,
                "usage: dpmlab admissible --data POINTSET --nu V [--denoiser D] [--beta-max B] [--steps N]\n"
                "one row: eta,beta_max,nu,steps,ratio0,dist_min,dist_max,sigma_min,sigma_max\n"
                "eta = max |sigma eps_theta(x, sigma) - grad f(x)| / dist(x) over the sampled band, f = dist^2/2;"
                "\nbeta_max = the largest beta in (0, B] for which sigma_t = (1 - beta)^t sigma_0, t <= N, is "
                "(eta, nu)-admissible\n(the two-sided distance bound keeps dist/(sqrt(d) sigma) in the band); "
                "0 when none is. The band columns\nreport the distances and noise levels actually sampled.");
  if (rc) return rc < 0 ? CLI_OK : rc;
  if ((rc = cli_require(cmd, opts, "data")) || (rc = cli_require(cmd, opts, "nu"))) return rc;
  if (!(isfinite(nu) && nu >= 1.0))
    return cli_errorf(cmd, CLI_EUSAGE, "--nu must be a finite number >= 1 (got %g)", nu);
  if (!(cap > 0.0 && cap < 1.0)) return cli_errorf(cmd, CLI_EUSAGE, "--beta-max must be in (0, 1) (got %g)", cap);
  if (N == 0) return cli_errorf(cmd, CLI_EUSAGE, "--steps must be >= 1");
  if (M == 0) return cli_errorf(cmd, CLI_EUSAGE, "--samples must be >= 1");
  if (!(ratio0 >= 1.0 / nu && ratio0 <= nu))
    return cli_errorf(cmd, CLI_EUSAGE, "--ratio0 must be in [1/nu, nu] = [%g, %g] (got %g)", 1.0 / nu, nu, ratio0);
  dpm_optim_grad_kind kind;
  if (strcmp(gradk, "true") == 0)
    kind = DPM_OPTIM_GRAD_TRUE;
  else if (strcmp(gradk, "smoothed") == 0)
    kind = DPM_OPTIM_GRAD_SMOOTHED;
  else
    return cli_errorf(cmd, CLI_EUSAGE, "unknown --grad '%s' (true, smoothed)", gradk);
  dpm_mixture *mix = cli_load_data(cmd, data);
  if (!mix) return CLI_EDATA;
  cli_model mdl;
  memset(&mdl, 0, sizeof mdl);
  dpm_out *out = NULL;
  rc = CLI_EDATA;
  const size_t d = mix->d, K = mix->K;
  if (!dpm_mixture_is_pointset(mix)) {
    cli_errorf(cmd, rc, "'%s' is not a point set (it has non-zero covariances)", data);
    goto done;
  }
  /* the set's spread sqrt(mean |y - ybar|^2) sets the default radii */
  double spread = 0.0;
  for (size_t j = 0; j < d; j++) {
    double mean = 0.0, var = 0.0;
    for (size_t k = 0; k < K; k++)
      mean += mix->mu[k * d + j] / (double)K;
    for (size_t k = 0; k < K; k++)
      var += (mix->mu[k * d + j] - mean) * (mix->mu[k * d + j] - mean) / (double)K;
    spread += var;
  }
  spread = spread > 0.0 ? sqrt(spread) : 1.0;
  if (!cli_seen(opts, "r-lo")) r_lo = 1e-3 * spread;
  if (!cli_seen(opts, "r-hi")) r_hi = spread;
  if (!(r_lo > 0.0 && isfinite(r_hi) && r_hi >= r_lo)) {
    cli_errorf(cmd, CLI_EUSAGE, "need 0 < --r-lo <= --r-hi finite (got %g, %g)", r_lo, r_hi);
    rc = CLI_EUSAGE;
    goto done;
  }
  if ((rc = cli_model_build(cmd, mix, dspec, NULL, 0, 0, 0, 0.0, &mdl))) goto done;
  rc = CLI_EDATA;
  double eta = NAN, dr[2], sr[2], bmax = NAN;
  if (dpm_optim_relerr_measure(K, d, mix->mu, cli_model_denoiser(&mdl), kind, nu, r_lo, r_hi, M, seed, &eta, dr,
                               sr)) {
    cli_fail(cmd, rc, "measuring the relative error failed");
    goto done;
  }
  if (dpm_optim_loglinear_beta_max(N, eta, nu, ratio0, cap, &bmax)) {
    cli_fail(cmd, rc, "the largest admissible beta failed");
    goto done;
  }
  if (!(out = cli_out_open(cmd, outp, argc, argv, !meta))) goto done;
  FILE *fp = dpm_out_file(out);
  if (meta)
    fprintf(fp, "# model: %s\n# grad: %s\n# samples: %zu\n# seed: %llu\n# r_lo: %.17g\n# r_hi: %.17g\n", mdl.what,
            gradk, M, (unsigned long long)seed, r_lo, r_hi);
  fputs("eta,beta_max,nu,steps,ratio0,dist_min,dist_max,sigma_min,sigma_max\n", fp);
  fprintf(fp, "%.17g,%.17g,%.17g,%zu,%.17g,%.17g,%.17g,%.17g,%.17g\n", eta, bmax, nu, N, ratio0, dr[0], dr[1],
          sr[0], sr[1]);
  rc = dpm_out_close(out, 1) ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
  out = NULL;
done:
  if (out) dpm_out_close(out, 0);
  cli_model_clear(&mdl);
  dpm_mixture_free(mix);
  return rc;
}
