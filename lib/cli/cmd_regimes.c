/* cmd_regimes.c — `dpmlab regimes`: the speciation and collapse times of the ideal denoiser of n training points
 * from two Gaussian classes in R^d, measured along reverse trajectories of the OU process, beside the predictions
 * of Biroli, Bonnaire, de Bortoli & Mézard (2024): t_S = log(Lambda)/2 and the excess-entropy criterion for t_C
 * (docs/MATH.md §4.4). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "dpm_scorematch.h"

/* A comma list of at most cap integers >= lo into v. Returns the count, or 0 after a usage error naming the
 * option. */
static size_t parse_sizes(const char *cmd, const char *opt, const char *text, double lo, size_t cap, size_t *v)
{
  size_t n = 0;
  const char *p = text;
  while (*p) {
    char *end;
    const double x = strtod(p, &end);
    if (end == p || (*end && *end != ',') || !isfinite(x) || x < lo || x > 1e6 || x != floor(x) || n == cap) {
      cli_errorf(cmd, CLI_EUSAGE, "--%s: '%s' is not a list of at most %zu integers in [%g, 1e6]", opt, text, cap,
                 lo);
      return 0;
    }
    v[n++] = (size_t)x;
    p = *end ? end + 1 : end;
  }
  if (n == 0) cli_errorf(cmd, CLI_EUSAGE, "--%s: empty list", opt);
  return n;
}

enum { MAXL = 32 };

int cmd_regimes(int argc, char **argv)
{
  const char *cmd = "regimes", *dl = "16", *nl = "100", *outp = NULL;
  double mu = 1.0, sigma = 1.0;
  int meta = 0, nopred = 0;
  dpm_sm_regimes_params par;
  dpm_sm_regimes_params_default(&par);
  cli_opt opts[] = {
      {"d", OPT_STR, &dl, "comma list of dimensions d (default 16)", 0},
      {"n", OPT_STR, &nl, "comma list of training-set sizes n >= 2 (default 100)", 0},
      {"mu", OPT_DOUBLE, &mu, "class means -+mu in every coordinate (default 1)", 0},
      {"sigma", OPT_DOUBLE, &sigma, "within-class standard deviation (default 1)", 0},
      {"trajectories", OPT_SIZE, &par.trajectories, "reverse trajectories per (d, n) (default 200)", 0},
      {"steps", OPT_SIZE, &par.steps, "steps of the geometric time grid from T to t-min (default 200)", 0},
      {"T", OPT_DOUBLE, &par.T, "horizon of the OU process (default 10)", 0},
      {"t-min", OPT_DOUBLE, &par.t_min, "end of the reverse process (default 1e-4)", 0},
      {"margin", OPT_DOUBLE, &par.margin, "speciation threshold 1/2 + margin (default 0.1)", 0},
      {"seed", OPT_U64, &par.seed,
       "seed: the training set from stream (seed, 0), the trajectories' noise from (seed, 1) (default 1)", 0},
      {"no-predict", OPT_FLAG, &nopred, "skip the predictions (columns NaN)", 0},
      {"out", OPT_STR, &outp, "output file (written whole or not at all); default stdout", 0},
      {"meta", OPT_FLAG, &meta, "begin the output with '#' metadata lines", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc = cli_parse(
      argc, argv, opts,
      "usage: dpmlab regimes [--d D1,D2,..] [--n N1,N2,..] [--mu M] [--sigma S] [--trajectories K] [--steps N]\n"
      "                      [--T T] [--t-min T0] [--margin E] [--seed S]\n"
      "one row per (d, n): d,n,lambda,t_s,t_s_se,t_s_pred,t_c,t_c_se,t_c_pred,collapsed\n"
      "n training points from N(-mu 1, sigma^2 I) and N(+mu 1, sigma^2 I) in R^d; K reverse trajectories of\n"
      "dX = -X dt + sqrt(2) dB from N(0, I) at T to t-min with the ideal denoiser of the training set. t_s: the\n"
      "largest time from which on the posterior of the endpoint's class stays >= 1/2 + margin; t_c: the same for\n"
      "the weight of the endpoint's training point > 1/2 (means over trajectories, standard errors). Predictions\n"
      "(Biroli, Bonnaire, de Bortoli & Mezard 2024): t_s_pred = log(lambda)/2, lambda = d mu^2 + sigma^2 the top\n"
      "eigenvalue of the data covariance; t_c_pred where H(P_t) - (d/2) log(2 pi e (1 - e^-2t)) = log n.\n"
      "collapsed: the share of endpoints with a point weight > 1/2 (docs/MATH.md §4.4).");
  if (rc) return rc < 0 ? CLI_OK : rc;
  size_t dv[MAXL], nv[MAXL];
  const size_t nd = parse_sizes(cmd, "d", dl, 1, MAXL, dv);
  if (!nd) return CLI_EUSAGE;
  const size_t nn = parse_sizes(cmd, "n", nl, 2, MAXL, nv);
  if (!nn) return CLI_EUSAGE;
  if (!(isfinite(mu) && mu > 0.0)) return cli_errorf(cmd, CLI_EUSAGE, "--mu must be finite and > 0");
  if (!(isfinite(sigma) && sigma > 0.0)) return cli_errorf(cmd, CLI_EUSAGE, "--sigma must be finite and > 0");
  dpm_sm_regimes_result *res = malloc(nd * nn * sizeof *res);
  double *ps = malloc(nd * nn * sizeof *ps), *pc = malloc(nd * nn * sizeof *pc), *lam = malloc(nd * sizeof *lam);
  dpm_out *out = NULL;
  rc = CLI_EDATA;
  if (!res || !ps || !pc || !lam) {
    cli_errorf(cmd, rc, "out of memory");
    goto done;
  }
  const double t0 = cli_now();
  for (size_t a = 0; a < nd; a++) {
    dpm_mixture *mix = dpm_sm_two_class_alloc(dv[a], mu, sigma);
    if (!mix) {
      cli_fail(cmd, rc, "the two-class data");
      goto done;
    }
    lam[a] = (double)dv[a] * mu * mu + sigma * sigma;
    for (size_t b = 0; b < nn; b++) {
      const size_t i = a * nn + b;
      par.n = nv[b];
      int st = dpm_sm_regimes_run(mix, &par, &res[i]);
      ps[i] = pc[i] = NAN;
      if (!st && !nopred) st = dpm_sm_regimes_predict(mix, nv[b], &ps[i], &pc[i]);
      if (st) {
        dpm_mixture_free(mix);
        char what[96];
        snprintf(what, sizeof what, "the run at d = %zu, n = %zu", dv[a], nv[b]);
        cli_fail(cmd, rc, what);
        goto done;
      }
      if (cli_now() - t0 > 2.0)
        fprintf(stderr, "dpmlab regimes: d = %zu, n = %zu done (%.1f s)\n", dv[a], nv[b], cli_now() - t0);
    }
    dpm_mixture_free(mix);
  }
  if (!(out = cli_out_open(cmd, outp, argc, argv, !meta))) goto done;
  FILE *fp = dpm_out_file(out);
  if (meta)
    fprintf(fp, "# mu: %.17g\n# sigma: %.17g\n# trajectories: %zu\n# steps: %zu\n# T: %.17g\n# t-min: %.17g\n", mu,
            sigma, par.trajectories, par.steps, par.T, par.t_min);
  fputs("d,n,lambda,t_s,t_s_se,t_s_pred,t_c,t_c_se,t_c_pred,collapsed\n", fp);
  for (size_t a = 0; a < nd; a++)
    for (size_t b = 0; b < nn; b++) {
      const dpm_sm_regimes_result *r = &res[a * nn + b];
      fprintf(fp, "%zu,%zu,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", dv[a], nv[b], lam[a], r->t_s,
              r->t_s_se, ps[a * nn + b], r->t_c, r->t_c_se, pc[a * nn + b], r->collapsed);
    }
  rc = dpm_out_close(out, 1) ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
  out = NULL;
done:
  if (out) dpm_out_close(out, 0);
  free(res);
  free(ps);
  free(pc);
  free(lam);
  return rc;
}
