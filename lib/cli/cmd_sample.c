/* cmd_sample.c — `dpmlab sample` and `dpmlab samplers`: draw samples through the sampler table (DDPM, DDIM,
 * Analytic-DPM and the diagonal-covariance sampler; docs/samplers.md) along a DDPM trajectory or a continuous
 * process's time grid, with the exact or an imperfect denoiser, and list the table. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "dpm_rng.h"

/* `dpmlab samplers`: one row per table entry */
int cmd_samplers(int argc, char **argv)
{
  const char *outp = NULL;
  int meta = 0;
  cli_opt opts[] = {
      {"out", OPT_STR, &outp, "output file (written whole or not at all); default stdout", 0},
      {"meta", OPT_FLAG, &meta, "begin the output with '#' metadata lines (version, command)", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc = cli_parse(argc, argv, opts,
                     "usage: dpmlab samplers [--out F] [--meta]\n"
                     "The sampler table, one row per entry: name,kind,order,nfe_per_step,description\n"
                     "(nfe_per_step 0 = adaptive; descriptions are quoted when they hold a comma or a quote).");
  if (rc) return rc < 0 ? CLI_OK : rc;
  dpm_out *out = cli_out_open("samplers", outp, argc, argv, !meta);
  if (!out) return CLI_EDATA;
  FILE *fp = dpm_out_file(out);
  fputs("name,kind,order,nfe_per_step,description\n", fp);
  for (size_t i = 0; dpm_sampler_types[i]; i++) {
    const dpm_sampler_type *T = dpm_sampler_types[i];
    fprintf(fp, "%s,%s,%u,%u,", T->name, T->kind, T->order, T->nfe_per_step);
    if (strpbrk(T->description, ",\"\n")) {
      fputc('"', fp);
      for (const char *c = T->description; *c; c++) {
        if (*c == '"') fputc('"', fp);
        fputc(*c, fp);
      }
      fputs("\"\n", fp);
    } else
      fprintf(fp, "%s\n", T->description);
  }
  return dpm_out_close(out, 1) ? cli_fail("samplers", CLI_EDATA, "write failed") : CLI_OK;
}

/* "exact", "relerr:eta=E[,seed=S]" or "empirical:n=N[,seed=S]" over the exact denoiser *inner. The wrapper (if
 * any) goes to *outer; the denoiser to use is *outer or *inner. Returns an exit code, message printed. */
static int denoiser_from_spec(const char *cmd, const char *spec, const dpm_mixture *mix, dpm_denoiser **inner,
                              dpm_denoiser **outer)
{
  char buf[256];
  if (strlen(spec) >= sizeof buf) return cli_errorf(cmd, CLI_EUSAGE, "--denoiser: spec too long");
  strcpy(buf, spec);
  char *opts = strchr(buf, ':');
  if (opts) *opts++ = '\0';
  int kind = strcmp(buf, "exact") == 0       ? 0
             : strcmp(buf, "relerr") == 0    ? 1
             : strcmp(buf, "empirical") == 0 ? 2
                                             : -1;
  if (kind < 0)
    return cli_errorf(cmd, CLI_EUSAGE, "unknown --denoiser '%s' (exact, relerr:eta=E, empirical:n=N)", buf);
  double eta = NAN, ntrain = NAN, seed = 0;
  for (char *tok = opts ? strtok(opts, ",") : NULL; tok; tok = strtok(NULL, ",")) {
    char *eq = strchr(tok, '='), *end;
    if (!eq) return cli_errorf(cmd, CLI_EUSAGE, "--denoiser option '%s': expected key=value", tok);
    *eq = '\0';
    double v = strtod(eq + 1, &end);
    if (end == eq + 1 || *end || !isfinite(v) || v < 0)
      return cli_errorf(cmd, CLI_EUSAGE, "--denoiser option %s: '%s' is not a number >= 0", tok, eq + 1);
    if (kind == 1 && strcmp(tok, "eta") == 0)
      eta = v;
    else if (kind == 2 && strcmp(tok, "n") == 0 && v >= 1 && v == floor(v) && v <= 1e8)
      ntrain = v;
    else if (kind > 0 && strcmp(tok, "seed") == 0 && v == floor(v) && v < 1.8e19)
      seed = v;
    else
      return cli_errorf(cmd, CLI_EUSAGE, "--denoiser %s: bad option '%s=%s'", buf, tok, eq + 1);
  }
  if (kind == 0 && opts) return cli_errorf(cmd, CLI_EUSAGE, "--denoiser exact takes no options");
  if (kind == 1 && isnan(eta)) return cli_errorf(cmd, CLI_EUSAGE, "--denoiser relerr needs eta=E");
  if (kind == 2 && isnan(ntrain))
    return cli_errorf(cmd, CLI_EUSAGE, "--denoiser empirical needs n=N (an integer >= 1)");
  if (kind == 2) { /* the memorising model: the exact denoiser of N draws of the data, stream (seed, 0) */
    gsl_rng *r = dpm_rng_stream_alloc((uint64_t)seed, 0);
    *inner = r ? dpm_denoiser_memorise_alloc(mix, (size_t)ntrain, r) : NULL;
    gsl_rng_free(r);
    return *inner ? CLI_OK : cli_fail(cmd, CLI_EDATA, "cannot build the empirical denoiser");
  }
  if (!(*inner = dpm_denoiser_oracle_alloc(mix))) return cli_fail(cmd, CLI_EDATA, "cannot build the denoiser");
  if (kind == 1 && !(*outer = dpm_denoiser_relerr_alloc(*inner, eta, (uint64_t)seed)))
    return cli_fail(cmd, CLI_EUSAGE, "bad --denoiser");
  return CLI_OK;
}

int cmd_sample(int argc, char **argv)
{
  const char *cmd = "sample", *data = NULL, *procspec = "ddpm", *name = NULL, *traj = "even", *grid = "uniform",
             *init = NULL, *dspec = "exact", *outp = NULL;
  size_t K = 0, n = 0;
  uint64_t seed = 0;
  double eta = NAN, rho = 7.0;
  int meta = 0, final_noise = 0;
  cli_opt opts[] = {
      {"data", OPT_STR, &data, "data spec: built-in name[:opts], FILE.json or FILE.csv (required)", 0},
      {"process", OPT_STR, &procspec,
       "ddpm[:schedule=linear|cosine,N=1000] (default), or vp|subvp|ve|ve-sde|edm[:opts] with --grid", 0},
      {"sampler", OPT_STR, &name, "a name from `dpmlab samplers` (required)", 0},
      {"steps", OPT_SIZE, &K, "number of steps K >= 1 (ddpm: K <= N; K >= 2 unless N = 1) (required)", 0},
      {"n", OPT_SIZE, &n, "number of samples (required unless --init)", 0},
      {"seed", OPT_U64, &seed, "seed: sample j uses the stream (seed, j); default 0", 0},
      {"trajectory", OPT_STR, &traj, "ddpm: even (default), quadratic or dp (Analytic-DPM's least-cost path)", 0},
      {"grid", OPT_STR, &grid, "continuous processes: uniform (default), edm, loglinear or lambda", 0},
      {"rho", OPT_DOUBLE, &rho, "--grid edm: rho > 0 (default 7)", 0},
      {"init", OPT_STR, &init, "CSV of starting points at the first time, one per row (replaces --n)", 0},
      {"denoiser", OPT_STR, &dspec, "exact (default), relerr:eta=E[,seed=S] or empirical:n=N[,seed=S]", 0},
      {"eta", OPT_DOUBLE, &eta, "ddim, analytic-ddim, diag-cov: lambda^2 = eta^2 beta~, eta in [0, 1]", 0},
      {"final-noise", OPT_FLAG, &final_noise, "add the decoder's noise on the last step into s = 0", 0},
      {"out", OPT_STR, &outp, "output file (written whole or not at all); default stdout", 0},
      {"meta", OPT_FLAG, &meta, "begin with '#' lines: version, command, sampler, steps, nfe, seed", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc = cli_parse(
      argc, argv, opts,
      "usage: dpmlab sample --data SPEC --process ddpm[:schedule=linear|cosine,N=1000] --sampler NAME --steps K\n"
      "                     --n COUNT [--seed S] [--trajectory even|quadratic|dp] [--init FILE.csv]\n"
      "                     [--denoiser exact|relerr:eta=E|empirical:n=N] [--eta E] [--final-noise]\n"
      "Draw samples of q_0 with a sampler of the table (`dpmlab samplers`), one row per sample: x_1..x_d.\n"
      "The walk starts at x ~ N(0, s_T^2 I) (or --init) and takes K steps; on ddpm the points are tau_K..tau_1\n"
      "of the trajectory and then 0 (the last step returns the mean unless --final-noise). NFE = K x "
      "nfe_per_step.\n"
      "analytic-*: sigma*^2 from the data's Gamma_t (cubature when d <= 2, else Monte Carlo).");
  if (rc) return rc < 0 ? CLI_OK : rc;
  if ((rc = cli_require(cmd, opts, "data")) || (rc = cli_require(cmd, opts, "sampler")) ||
      (rc = cli_require(cmd, opts, "steps")))
    return rc;
  const dpm_sampler_type *T = dpm_sampler_type_find(name);
  if (!T) {
    char names[512];
    dpm_sampler_type_names(names, sizeof names);
    return cli_errorf(cmd, CLI_EUSAGE, "unknown --sampler '%s' (known: %s)", name, names);
  }
  if (!init && (rc = cli_require(cmd, opts, "n"))) return rc;
  if (!init && n == 0) return cli_errorf(cmd, CLI_EUSAGE, "--n must be >= 1");
  if (K == 0) return cli_errorf(cmd, CLI_EUSAGE, "--steps must be >= 1");
  if (cli_seen(opts, "eta") && !(eta >= 0.0 && eta <= 1.0))
    return cli_errorf(cmd, CLI_EUSAGE, "--eta must be in [0, 1] (got %g)", eta);
  if (cli_seen(opts, "eta") && isnan(T->eta_default))
    return cli_errorf(cmd, CLI_EUSAGE, "--eta does not apply to %s (its eta is fixed at 1)", T->name);
  if (!(rho > 0.0)) return cli_errorf(cmd, CLI_EUSAGE, "--rho must be > 0 (got %g)", rho);
  dpm_process proc;
  if (dpm_process_parse(&proc, procspec)) return cli_fail(cmd, CLI_EUSAGE, "bad --process");
  const int disc = proc.sch != NULL;
  if (disc && cli_seen(opts, "grid"))
    rc = cli_errorf(cmd, CLI_EUSAGE, "--grid is for continuous processes; ddpm takes --trajectory");
  else if (!disc && cli_seen(opts, "trajectory"))
    rc = cli_errorf(cmd, CLI_EUSAGE, "--trajectory is for ddpm; continuous processes take --grid");
  else if (disc && strcmp(traj, "even") && strcmp(traj, "quadratic") && strcmp(traj, "dp"))
    rc = cli_errorf(cmd, CLI_EUSAGE, "unknown --trajectory '%s' (even, quadratic, dp)", traj);
  else if (disc && K > proc.sch->N)
    rc = cli_errorf(cmd, CLI_EUSAGE, "--steps K = %zu exceeds the schedule's N = %zu", K, proc.sch->N);
  else if (disc && K < 2 && proc.sch->N > 1)
    rc = cli_errorf(cmd, CLI_EUSAGE, "--steps must be >= 2 on a ddpm schedule with N > 1 (got %zu)", K);
  if (rc) {
    dpm_process_clear(&proc);
    return rc;
  }
  dpm_mixture *mix = cli_load_data(cmd, data);
  if (!mix) {
    dpm_process_clear(&proc);
    return CLI_EDATA;
  }
  const size_t d = mix->d;
  double *x = NULL, *gamma = NULL;
  dpm_denoiser *inner = NULL, *outer = NULL;
  dpm_timeline *tl = NULL;
  dpm_sampler *smp = NULL;
  dpm_out *out = NULL;
  rc = CLI_EDATA;
  if (init) {
    size_t rows = 0, cols = 0;
    if (dpm_csv_read(init, &x, &rows, &cols, NULL)) {
      cli_fail(cmd, CLI_EDATA, "cannot read --init");
      goto done;
    }
    if (cols != d || rows == 0) {
      cli_errorf(cmd, CLI_EDATA, "%s: %zu points with %zu columns, need >= 1 point with %zu", init, rows, cols, d);
      goto done;
    }
    if (cli_seen(opts, "n") && n != rows) {
      rc = cli_errorf(cmd, CLI_EUSAGE, "--n %zu disagrees with the %zu points of --init", n, rows);
      goto done;
    }
    n = rows;
  } else if (!(x = malloc(n * d * sizeof *x))) {
    cli_errorf(cmd, CLI_EDATA, "out of memory (n = %zu, d = %zu)", n, d);
    goto done;
  }
  if ((rc = denoiser_from_spec(cmd, dspec, mix, &inner, &outer))) goto done;
  rc = CLI_EDATA;
  if (!(tl = dpm_timeline_alloc(K))) {
    cli_fail(cmd, CLI_EDATA, "timeline");
    goto done;
  }
  if (disc && strcmp(traj, "dp") == 0) { /* Gamma_n for every n, then the least-cost path */
    cli_gamma_opts g = {d <= 2, 1e-8, 1000, seed};
    if (!(gamma = calloc(proc.sch->N + 1, sizeof *gamma))) {
      cli_errorf(cmd, CLI_EDATA, "out of memory (N = %zu)", proc.sch->N);
      goto done;
    }
    if ((rc = cli_gamma_route(cmd, mix, proc.sch, &g, gamma, NULL))) goto done;
    rc = CLI_EDATA;
  }
  if (disc ? dpm_timeline_set_trajectory(tl, &proc, traj, K, gamma)
           : dpm_timeline_set_grid(tl, &proc, grid, K, rho)) {
    cli_fail(cmd, disc ? CLI_EDATA : CLI_EUSAGE, "bad time grid");
    rc = disc ? CLI_EDATA : CLI_EUSAGE;
    goto done;
  }
  if (!(smp = dpm_sampler_alloc(T, n, d, K))) {
    cli_fail(cmd, CLI_EDATA, "cannot allocate the sampler");
    goto done;
  }
  dpm_sampler_problem pb = {.dn = outer ? outer : inner, .tl = tl, .sigma2 = NULL, .mix = mix};
  dpm_sampler_params_default(&pb.par);
  pb.par.eta = eta;
  pb.par.final_noise = final_noise;
  pb.par.gamma_seed = seed;
  unsigned long nfe = 0;
  if (dpm_sampler_run(smp, &pb, seed, n, x, init != NULL, &nfe)) {
    cli_fail(cmd, CLI_EDATA, "sampling failed");
    goto done;
  }
  if (!(out = cli_out_open(cmd, outp, argc, argv, !meta))) goto done;
  FILE *fp = dpm_out_file(out);
  if (meta)
    fprintf(fp, "# sampler: %s\n# steps: %zu\n# nfe: %lu\n# seed: %llu\n", T->name, K, nfe,
            (unsigned long long)seed);
  cli_header_vec(fp, "x", d);
  fputc('\n', fp);
  for (size_t j = 0; j < n; j++)
    dpm_csv_write_row(fp, x + j * d, d);
  rc = dpm_out_close(out, 1) ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
  out = NULL;
done:
  if (out) dpm_out_close(out, 0);
  dpm_sampler_free(smp);
  dpm_timeline_free(tl);
  dpm_denoiser_free(outer);
  dpm_denoiser_free(inner);
  free(gamma);
  free(x);
  dpm_mixture_free(mix);
  dpm_process_clear(&proc);
  return rc;
}
