/* cmd_train.c — `dpmlab train`: exact least-squares denoising score matching (Vincent 2011) of a linear score
 * model jointly over t with the weighting 1, s_t^2 or g_t^2/2 (Song et al. 2021, eq. 7; docs/MATH.md §4.4),
 * written as a JSON model file that `dpmlab sample --denoiser model:FILE` and `dpmlab score-matching --model
 * file:FILE` read. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "dpm_scorematch.h"

int cmd_train(int argc, char **argv)
{
  const char *cmd = "train", *data = NULL, *pspec = "vp", *mspec = NULL, *wname = "sigma2", *outp = NULL;
  size_t n = 20000, nk = 12, report = 0;
  double t_min = NAN, t_max = NAN, ridge = 1e-8;
  uint64_t seed = 0;
  cli_opt opts[] = {
      {"data", OPT_STR, &data, "data spec (required)", 0},
      {"process", OPT_STR, &pspec, "forward process: vp (default), subvp, ve, ve-sde, edm, ddpm[:...]", 0},
      {"model", OPT_STR, &mspec, "linear:basis=poly|rff|bump,size=S[,ell=W,seed=N] (required)", 0},
      {"weighting", OPT_STR, &wname, "lambda_t: sigma2 (s_t^2, default), likelihood (g_t^2/2) or uniform (1)", 0},
      {"n", OPT_SIZE, &n, "training draws (x_0, t, eps) (default 20000)", 0},
      {"knots", OPT_SIZE, &nk, "knots in lambda = log(m/s), uniform over [t-min, t-max] (default 12)", 0},
      {"t-min", OPT_DOUBLE, &t_min, "smallest training time (default the process's t_min)", 0},
      {"t-max", OPT_DOUBLE, &t_max, "largest training time (default the process's t_max)", 0},
      {"ridge", OPT_DOUBLE, &ridge, "ridge of the normal equations, relative to the mean weight (default 1e-8)",
       0},
      {"seed", OPT_U64, &seed, "seed: block b of 64 draws uses the stream (seed, b) (default 0)", 0},
      {"report", OPT_SIZE, &report,
       "also print on stderr the lambda-weighted Fisher divergence of the fit over [t-min, t-max] with this many "
       "Monte Carlo draws per quadrature node (8 nodes)",
       0},
      {"out", OPT_STR, &outp, "model file (JSON, written whole or not at all); default stdout", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc =
      cli_parse(argc, argv, opts,
                "usage: dpmlab train --data SPEC --process P --model linear:basis=B,size=S --weighting "
                "sigma2|likelihood|uniform --n N [--out FILE]\n"
                "Minimises (1/n) sum_i lambda(t_i) |s_theta(x_i, t_i) + eps_i/s_i|^2 + ridge |theta|^2 exactly "
                "(normal equations, Cholesky),\nt stratified over [t-min, t-max], theta piecewise linear in "
                "lambda = log(m/s) between the knots; writes the\ncoefficients as JSON for `dpmlab sample "
                "--denoiser model:FILE` (docs/MATH.md §4.4).");
  if (rc) return rc < 0 ? CLI_OK : rc;
  if ((rc = cli_require(cmd, opts, "data")) || (rc = cli_require(cmd, opts, "model"))) return rc;
  if (strncmp(mspec, "linear:", 7) != 0)
    return cli_errorf(cmd, CLI_EUSAGE, "--model must be linear:basis=B,size=S (got '%s')", mspec);
  dpm_sm_weighting w;
  if (dpm_sm_weighting_parse(wname, &w)) return cli_fail(cmd, CLI_EUSAGE, "bad --weighting");
  if (n < 2) return cli_errorf(cmd, CLI_EUSAGE, "--n must be >= 2");
  if (nk < 1 || nk > 1000) return cli_errorf(cmd, CLI_EUSAGE, "--knots must be in [1, 1000]");
  if (!(ridge >= 0.0)) return cli_errorf(cmd, CLI_EUSAGE, "--ridge must be >= 0 (got %g)", ridge);
  dpm_process proc;
  if (dpm_process_parse(&proc, pspec)) return cli_fail(cmd, CLI_EUSAGE, "bad --process");
  dpm_mixture *mix = NULL;
  dpm_sm_linear *L = NULL;
  dpm_sm_model *md = NULL;
  dpm_out *out = NULL;
  double *knots = NULL;
  rc = CLI_EUSAGE;
  if (!cli_seen(opts, "t-min")) t_min = proc.t_min;
  if (!cli_seen(opts, "t-max")) t_max = proc.t_max;
  if (!(t_min > 0.0 && t_max > t_min && t_max <= proc.t_max)) {
    cli_errorf(cmd, rc, "need 0 < --t-min < --t-max <= %g (got %g, %g)", proc.t_max, t_min, t_max);
    goto done;
  }
  const double lo = dpm_process_lambda(&proc, t_max), hi = dpm_process_lambda(&proc, t_min);
  if (!(isfinite(lo) && isfinite(hi) && hi > lo)) {
    cli_errorf(cmd, rc, "log-SNR range [%g, %g] of the times is empty or not finite", lo, hi);
    goto done;
  }
  if (!(knots = malloc(nk * sizeof *knots))) goto done;
  for (size_t k = 0; k < nk; k++)
    knots[k] = nk == 1 ? 0.5 * (lo + hi) : lo + (hi - lo) * (double)k / (double)(nk - 1);
  rc = CLI_EDATA;
  if (!(mix = cli_load_data(cmd, data))) goto done;
  if (!(L = dpm_sm_linear_from_spec(mspec + 7, mix, nk, knots))) {
    rc = cli_fail(cmd, CLI_EUSAGE, "bad --model");
    goto done;
  }
  const double t0 = cli_now();
  if (dpm_sm_linear_fit_joint(L, mix, &proc, w, t_min, t_max, n, seed, ridge)) {
    cli_fail(cmd, rc, "training failed");
    goto done;
  }
  if (report) {
    dpm_sm_objectives o;
    if (!(md = dpm_sm_linear_model_alloc(L)) ||
        dpm_sm_objectives_integrate(mix, md, &proc, w, t_min, t_max, 8, report < 2 ? 2 : report, seed + 1, &o)) {
      cli_fail(cmd, rc, "the report failed");
      goto done;
    }
    fprintf(stderr,
            "dpmlab train: %zu features x %zu knots in %.1f s; weighted Fisher divergence %.6g +- %.2g, weighted "
            "DSM %.6g +- %.2g (%s, t in [%g, %g])\n",
            dpm_sm_linear_nfeatures(L), nk, cli_now() - t0, o.fisher, o.fisher_se, o.dsm, o.dsm_se, wname, t_min,
            t_max);
  }
  if (!(out = cli_out_open(cmd, outp, argc, argv, 1))) goto done;
  if (dpm_sm_linear_write(L, pspec, wname, dpm_out_file(out))) {
    cli_fail(cmd, rc, "writing the model failed");
    goto done;
  }
  rc = dpm_out_close(out, 1) ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
  out = NULL;
done:
  if (out) dpm_out_close(out, 0);
  free(knots);
  dpm_sm_model_free(md);
  dpm_sm_linear_free(L);
  dpm_mixture_free(mix);
  dpm_process_clear(&proc);
  return rc;
}
