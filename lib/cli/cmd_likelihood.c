/* cmd_likelihood.c — `dpmlab likelihood`: log-likelihoods by the probability-flow ODE with the exact divergence
 * or Hutchinson probes, against the exact log q_t0 (Song et al. 2021, App. D.2; docs/MATH.md §4.3), the encoding
 * x_T, the decoder back, and the likelihood of a model's own flow. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli.h"
#include "cmd_likelihood.h"
#include "commands.h"

void cli_lik_models_clear(cli_lik_models *M)
{
  for (size_t i = 0; i < M->n; i++) {
    if (M->scaled) dpm_denoiser_free(M->scaled[i]);
    if (M->mdl) cli_model_clear(&M->mdl[i]);
  }
  free(M->mdl);
  free(M->dn);
  free(M->scaled);
  memset(M, 0, sizeof *M);
}

int cli_lik_models_build(const char *cmd, const dpm_mixture *mix, const char *dspec, const char *guide, int w_seen,
                         double w, cli_lik_models *M)
{
  memset(M, 0, sizeof *M);
  if (strncmp(dspec, "relerr", 6) == 0)
    return cli_errorf(
        cmd, CLI_EUSAGE,
        "--denoiser relerr perturbs eps in a direction hashed from x: its flow is not differentiable; "
        "use scaled:c=C, empirical:n=N or --guide auto");
  double c = NAN;
  const char *inner = dspec;
  if (strncmp(dspec, "scaled", 6) == 0) {
    char *end;
    if (strncmp(dspec, "scaled:c=", 9) != 0 || (c = strtod(dspec + 9, &end), end == dspec + 9 || *end) ||
        !isfinite(c))
      return cli_errorf(cmd, CLI_EUSAGE, "--denoiser scaled needs c=C, a finite number (got '%s')", dspec);
    inner = "exact";
  }
  size_t nt = 1;
#ifdef _OPENMP
  nt = (size_t)omp_get_max_threads();
#endif
  M->mdl = calloc(nt, sizeof *M->mdl);
  M->dn = calloc(nt, sizeof *M->dn);
  M->scaled = calloc(nt, sizeof *M->scaled);
  if (!M->mdl || !M->dn || !M->scaled) {
    cli_lik_models_clear(M);
    return cli_errorf(cmd, CLI_EDATA, "out of memory");
  }
  for (size_t i = 0; i < nt; i++) {
    int rc = cli_model_build(cmd, mix, inner, guide, 0, 0, w_seen, w, &M->mdl[i]);
    M->n = i + (rc ? 0 : 1);
    if (rc) {
      cli_lik_models_clear(M);
      return rc;
    }
    M->dn[i] = cli_model_denoiser(&M->mdl[i]);
    if (isfinite(c)) {
      if (!(M->scaled[i] = dpm_denoiser_scaled_alloc(M->dn[i], c))) {
        cli_lik_models_clear(M);
        return cli_fail(cmd, CLI_EDATA, "cannot build the scaled denoiser");
      }
      M->dn[i] = M->scaled[i];
    }
  }
  return CLI_OK;
}

int cli_lik_run_setup(const char *cmd, const char *what, const char *data, const char *proc, const char *at,
                      const char *dspec, const char *guide, int w_seen, double w, cli_lik_run *r)
{
  memset(r, 0, sizeof *r);
  if (w_seen && !guide) return cli_errorf(cmd, CLI_EUSAGE, "--guidance needs --guide auto");
  if (guide && strncmp(guide, "auto", 4) != 0)
    return cli_errorf(cmd, CLI_EUSAGE, "--guide '%s': only auto[:var=V,keep=K] is supported here", guide);
  if (dpm_process_parse(&r->p, proc)) return cli_fail(cmd, CLI_EUSAGE, "bad --process");
  r->p_set = 1;
  int rc = CLI_EUSAGE;
  size_t cols = 0;
  if (r->p.kind == DPM_PROCESS_DDPM) {
    cli_errorf(cmd, rc, "--process ddpm is discrete; %s needs vp, subvp, ve or edm", what);
    goto fail;
  }
  rc = CLI_EDATA;
  if (!(r->mix = cli_load_data(cmd, data))) goto fail;
  if (dpm_csv_read(at, &r->x, &r->n, &cols, NULL)) {
    cli_fail(cmd, rc, "cannot read --at");
    goto fail;
  }
  if (cols != r->mix->d) {
    cli_errorf(cmd, rc, "%s: points have %zu columns but the data is %zu-dimensional", at, cols, r->mix->d);
    goto fail;
  }
  r->model = strcmp(dspec, "exact") != 0 || guide;
  if (r->model && (rc = cli_lik_models_build(cmd, r->mix, dspec, guide, w_seen, w, &r->M))) goto fail;
  return CLI_OK;
fail:
  cli_lik_run_clear(r);
  return rc;
}

void cli_lik_run_clear(cli_lik_run *r)
{
  cli_lik_models_clear(&r->M);
  free(r->x);
  dpm_mixture_free(r->mix);
  if (r->p_set) dpm_process_clear(&r->p);
  memset(r, 0, sizeof *r);
}

int cmd_likelihood(int argc, char **argv)
{
  const char *cmd = "likelihood", *data = NULL, *proc = NULL, *at = NULL, *outp = NULL, *divs = "exact",
             *probes = "rademacher", *priors = "exact", *method = "rk45", *dspec = "exact", *guide = NULL,
             *hvp = "hessian";
  dpm_likelihood_params par;
  dpm_likelihood_params_default(&par);
  double guidance = NAN;
  int meta = 0, decode = 0;
  cli_opt opts[] = {
      {"data", OPT_STR, &data, "data spec: built-in name[:opts], FILE.json or FILE.csv (required)", 0},
      {"process", OPT_STR, &proc, "vp, subvp, ve or edm[:opts] (required)", 0},
      {"at", OPT_STR, &at,
       "CSV of points x at t0 (with --decode: encodings x_T), d columns; - for stdin (required)", 0},
      {"div", OPT_STR, &divs, "exact (Laplacian; a model's divergence or central differences) | hutchinson", 0},
      {"probes", OPT_SIZE, &par.probes, "Hutchinson probes M per point, held fixed through a solve (default 1)",
       0},
      {"probe", OPT_STR, &probes, "rademacher (default) | gaussian", 0},
      {"hvp", OPT_STR, &hvp,
       "Hutchinson on the data: hessian (the oracle's v^T H v, default) | fd (differences along v)", 0},
      {"method", OPT_STR, &method, "rk45 (default) | rk8pd | euler | heun | rk4 (fixed steps in log sigma)", 0},
      {"rtol", OPT_DOUBLE, &par.rtol, "relative tolerance of rk45/rk8pd (default 1e-6)", 0},
      {"atol", OPT_DOUBLE, &par.atol, "absolute tolerance of rk45/rk8pd (default 1e-9)", 0},
      {"steps", OPT_SIZE, &par.steps, "steps of euler/heun/rk4 (default 200)", 0},
      {"t0", OPT_DOUBLE, &par.t0, "lower end t0 > 0 of the flow; logq_true = log q_t0 (default 1e-5)", 0},
      {"T", OPT_DOUBLE, &par.T, "upper end T <= t_max (default the process's t_max)", 0},
      {"prior", OPT_STR, &priors, "exact (q_T, default) | gaussian (N(0, s_T^2 I); adds prior_mismatch)", 0},
      {"seed", OPT_U64, &par.seed, "seed of the probes: point i uses the stream (seed, i) (default 0)", 0},
      {"denoiser", OPT_STR, &dspec,
       "the flow of a model: exact (default) | scaled:c=C | empirical:n=N[,seed=S] (relerr is refused)", 0},
      {"guide", OPT_STR, &guide, "auto[:var=V,keep=K]: the autoguided model (1 + w) D - w D_weak", 0},
      {"guidance", OPT_DOUBLE, &guidance, "guidance weight w of --guide auto (default 1)", 0},
      {"block", OPT_SIZE, &par.block,
       "points per task solved as one system (one oracle call per step for all; default 1)", 0},
      {"decode", OPT_FLAG, &decode, "integrate back from x_T at T to t0: columns x_1..x_d", 0},
      {"out", OPT_STR, &outp, "output file (written whole or not at all); default stdout", 0},
      {"meta", OPT_FLAG, &meta, "begin the output with '#' metadata lines", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc =
      cli_parse(argc, argv, opts,
                "usage: dpmlab likelihood --data SPEC --process vp|subvp|ve|edm --at POINTS.csv [--div "
                "exact|hutchinson]\n  [--probes M] [--probe rademacher|gaussian] [--rtol R] [--t0 T0] [--prior "
                "exact|gaussian] [--seed S]\n"
                "columns: logp,logq_true,err,nfe,bpd,xT_1..xT_d (+ prior_mismatch with --prior gaussian):\n"
                "logp = log p_t0(x) by the probability-flow ODE (nats), logq_true = the exact log q_t0(x),\n"
                "err = logp - logq_true, nfe = right-hand-side evaluations, bpd = -logp/(d log 2), xT = the\n"
                "encoding at T, prior_mismatch = log N(x_T; 0, s_T^2 I) - log q_T(x_T)");
  if (rc) return rc < 0 ? CLI_OK : rc;
  if ((rc = cli_require(cmd, opts, "data")) || (rc = cli_require(cmd, opts, "process")) ||
      (rc = cli_require(cmd, opts, "at")))
    return rc;
  if (dpm_likelihood_div_parse(divs, &par.div)) return cli_fail(cmd, CLI_EUSAGE, "--div");
  if (dpm_likelihood_probe_parse(probes, &par.probe)) return cli_fail(cmd, CLI_EUSAGE, "--probe");
  if (dpm_likelihood_prior_parse(priors, &par.prior)) return cli_fail(cmd, CLI_EUSAGE, "--prior");
  if (dpm_likelihood_method_parse(method, &par.method)) return cli_fail(cmd, CLI_EUSAGE, "--method");
  if (strcmp(hvp, "hessian") != 0 && strcmp(hvp, "fd") != 0)
    return cli_errorf(cmd, CLI_EUSAGE, "unknown --hvp '%s' (hessian, fd)", hvp);
  par.hvp_fd = hvp[0] == 'f';
  if (par.probes == 0) return cli_errorf(cmd, CLI_EUSAGE, "--probes must be >= 1");
  if (!(par.rtol >= 0.0 && par.atol >= 0.0 && par.rtol + par.atol > 0.0))
    return cli_errorf(cmd, CLI_EUSAGE, "--rtol and --atol must be >= 0 and not both 0 (got %g, %g)", par.rtol,
                      par.atol);
  if (par.steps == 0) return cli_errorf(cmd, CLI_EUSAGE, "--steps must be >= 1");
  if (par.block == 0) return cli_errorf(cmd, CLI_EUSAGE, "--block must be >= 1");
  if (!(par.t0 > 0.0)) return cli_errorf(cmd, CLI_EUSAGE, "--t0 must be > 0 (got %g)", par.t0);
  cli_lik_run R;
  if ((rc = cli_lik_run_setup(cmd, "the flow", data, proc, at, dspec, guide, cli_seen(opts, "guidance"), guidance,
                              &R)))
    return rc;
  const dpm_process *p = &R.p;
  const double *x = R.x;
  const size_t n = R.n, d = R.mix->d;
  double *xT = NULL;
  dpm_likelihood_point *res = NULL;
  dpm_likelihood *w = NULL;
  dpm_out *out = NULL;
  rc = CLI_EDATA;
  if (!(w = dpm_likelihood_alloc(R.mix, R.model ? R.M.dn : NULL, R.M.n)) ||
      !(xT = malloc(n * d * sizeof(double))) || !(res = malloc(n * sizeof *res))) {
    cli_fail(cmd, CLI_EDATA, "out of memory");
    goto done;
  }
  const double t_start = cli_now();
  unsigned long nfe_total = 0;
  if (decode) {
    if (dpm_likelihood_decode(w, p, &par, n, x, xT, &nfe_total)) {
      cli_fail(cmd, CLI_EDATA, "decoding failed");
      goto done;
    }
  } else if (dpm_likelihood_eval(w, p, &par, n, x, res, xT)) {
    cli_fail(cmd, CLI_EDATA, "the likelihood failed");
    goto done;
  }
  if (cli_now() - t_start > 2.0)
    fprintf(stderr, "dpmlab likelihood: %zu points in %.1f s\n", n, cli_now() - t_start);
  if (!(out = cli_out_open(cmd, outp, argc, argv, !meta))) goto done;
  FILE *fp = dpm_out_file(out);
  if (meta)
    fprintf(fp, "# process: %s\n# model: %s%s%s\n# div: %s  probes: %zu  probe: %s  hvp: %s  seed: %llu\n",
            dpm_process_name(p), dspec, guide ? " + " : "", guide ? guide : "", divs, par.probes, probes, hvp,
            (unsigned long long)par.seed);
  if (decode) {
    cli_header_vec(fp, "x", d);
    fputc('\n', fp);
    for (size_t i = 0; i < n; i++)
      dpm_csv_write_row(fp, xT + i * d, d);
    if (meta) fprintf(fp, "# nfe: %lu\n", nfe_total);
  } else {
    fputs("logp,logq_true,err,nfe,bpd,", fp);
    cli_header_vec(fp, "xT", d);
    fputs(par.prior == DPM_LIK_PRIOR_GAUSSIAN ? ",prior_mismatch\n" : "\n", fp);
    /* each row in the shortest round-trip form (nfe, below 2^53, prints as the integer it is) */
    const size_t width = 5 + d + (par.prior == DPM_LIK_PRIOR_GAUSSIAN);
    double *row = malloc(width * sizeof *row);
    if (!row) {
      cli_fail(cmd, CLI_EDATA, "out of memory");
      goto done;
    }
    for (size_t i = 0; i < n; i++) {
      const dpm_likelihood_point *r = res + i;
      row[0] = r->logp;
      row[1] = r->logq_true;
      row[2] = r->logp - r->logq_true;
      row[3] = (double)r->nfe;
      row[4] = r->bpd;
      memcpy(row + 5, xT + i * d, d * sizeof *row);
      if (par.prior == DPM_LIK_PRIOR_GAUSSIAN) row[5 + d] = r->prior_mismatch;
      dpm_csv_write_row(fp, row, width);
    }
    free(row);
  }
  rc = dpm_out_close(out, 1) ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
  out = NULL;
done:
  if (out) dpm_out_close(out, 0);
  dpm_likelihood_free(w);
  free(res);
  free(xT);
  cli_lik_run_clear(&R);
  return rc;
}
