/* cmd_bridge.c — `dpmlab bridge`: the Schrödinger bridge between two data sets for the reference dX = sigma dW on
 * [0, 1] (De Bortoli et al. 2021; Janati et al. 2020; docs/MATH.md §5): the Gaussian closed form, exact IPF
 * iterate by iterate against it, log-domain Sinkhorn between point sets, IPF on a grid in 1-D and 2-D, or
 * mean-matching IPF on particles, as JSON;
 * optionally the plan and bridge paths as CSV. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli.h"
#include "commands.h"

static json_t *jvec(const double *v, size_t n)
{
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_real(v[i]));
  return a;
}

static json_t *jmat(const double *v, size_t d)
{
  json_t *a = json_array();
  for (size_t i = 0; i < d; i++)
    json_array_append_new(a, jvec(v + i * d, d));
  return a;
}

/* The mean and covariance of a one-component mixture with a density. */
static int single_gaussian(const char *cmd, const char *opt, const dpm_mixture *mix, double **m, double **S)
{
  if (mix->K != 1)
    return cli_errorf(cmd, CLI_EDATA, "--%s: the closed form and IPF need one Gaussian, '%s' has %zu components",
                      opt, mix->name, mix->K);
  if (mix->kind[0] == DPM_COV_ZERO)
    return cli_errorf(cmd, CLI_EDATA, "--%s: '%s' is a point mass, not a Gaussian with a covariance", opt,
                      mix->name);
  const size_t d = mix->d;
  *m = malloc(d * sizeof **m);
  *S = malloc(d * d * sizeof **S);
  if (!*m || !*S) return cli_errorf(cmd, CLI_EDATA, "out of memory");
  memcpy(*m, mix->mu, d * sizeof **m);
  dpm_mixture_cov(mix, 0, *S);
  return CLI_OK;
}

/* The paths ((K + 1) x n x d) as CSV: path,t,x_1..x_d, one row per path and grid point. -1 when out of memory. */
static int write_paths(FILE *fp, size_t n, size_t K, size_t d, const double *paths)
{
  fputs("path,t,", fp);
  cli_header_vec(fp, "x", d);
  fputc('\n', fp);
  double *row = malloc((d + 2) * sizeof *row); /* path index, t, x: the shortest round-trip form */
  if (!row) return -1;
  for (size_t p = 0; p < n; p++)
    for (size_t k = 0; k <= K; k++) {
      row[0] = (double)p;
      row[1] = (double)k / (double)K;
      memcpy(row + 2, paths + (k * n + p) * d, d * sizeof *row);
      dpm_csv_write_row(fp, row, d + 2);
    }
  free(row);
  return 0;
}

static json_t *jscore(const dpm_bridge_bench_score *sc)
{
  json_t *o = json_object();
  json_object_set_new(o, "uvp_cond", json_real(sc->uvp_cond));
  json_object_set_new(o, "uvp_cond_se", json_real(sc->uvp_cond_se));
  json_object_set_new(o, "bw2_cond", json_real(sc->bw2_cond));
  json_object_set_new(o, "uvp_marg", json_real(sc->uvp_marg));
  json_object_set_new(o, "bw2_marg", json_real(sc->bw2_marg));
  return o;
}

/* The solvers --method benchmark scores (--bench-methods), and their settings. */
typedef struct {
  int sinkhorn, grid, mm;
  size_t gpts, gsteps, giters;
  const char *regressor;
  dpm_bridge_bench_mm_params mmp;
} bench_opts;

/* --bench-methods: a comma-separated list of sinkhorn, grid, mean-matching (each at most once). CLI_EUSAGE. */
static int parse_bench_methods(const char *cmd, const char *list, bench_opts *b)
{
  b->sinkhorn = b->grid = b->mm = 0;
  const char *p = list;
  for (;;) {
    const char *e = strchr(p, ',');
    const size_t len = e ? (size_t)(e - p) : strlen(p);
    int *flag = len == 8 && strncmp(p, "sinkhorn", 8) == 0          ? &b->sinkhorn
                : len == 4 && strncmp(p, "grid", 4) == 0            ? &b->grid
                : len == 13 && strncmp(p, "mean-matching", 13) == 0 ? &b->mm
                                                                    : NULL;
    if (!flag)
      return cli_errorf(cmd, CLI_EUSAGE, "unknown --bench-methods entry '%.*s' (sinkhorn, grid, mean-matching)",
                        (int)len, p);
    if (*flag) return cli_errorf(cmd, CLI_EUSAGE, "--bench-methods names '%.*s' twice", (int)len, p);
    *flag = 1;
    if (!e) break;
    p = e + 1;
  }
  return CLI_OK;
}

/* --method benchmark: the solvers of --bench-methods (Sinkhorn, grid IPF, mean-matching IPF) and the exact plan
 * (from draws) scored against the mixture-potential ground truth of Gushchin et al. 2023 (docs/MATH.md §5.7). */
static int run_benchmark(const char *cmd, const char *from, const char *to, double eps, size_t pairs, size_t nt,
                         size_t draws, uint64_t seed, const dpm_bridge_sinkhorn_params *p, const bench_opts *bo,
                         const char *outp, int argc, char **argv)
{
  int rc = CLI_EDATA;
  dpm_mixture *mu0 = cli_load_data(cmd, from), *pot = NULL;
  double *xy = NULL;
  json_t *root = NULL;
  dpm_out *out = NULL;
  if (!mu0) goto done;
  if (strcmp(to, "gmmpot") == 0) {
    if (!(pot = dpm_bridge_gmmpot_default(mu0->d))) {
      cli_fail(cmd, rc, "--to gmmpot");
      goto done;
    }
  } else if (!(pot = cli_load_data(cmd, to)))
    goto done;
  const size_t d = mu0->d;
  if (pot->d != d) {
    cli_errorf(cmd, rc, "--from has dimension %zu, the potential --to %zu", d, pot->d);
    goto done;
  }
  for (size_t k = 0; k < pot->K; k++)
    if (pot->kind[k] == DPM_COV_ZERO) {
      cli_errorf(cmd, rc,
                 "--to: the potential '%s' needs a covariance in every component (component %zu is a "
                 "point mass)",
                 to, k);
      goto done;
    }
  if (bo->grid && d > 2) {
    cli_errorf(cmd, rc, "--bench-methods grid: grid IPF works in dimension 1 or 2 (got %zu)", d);
    goto done;
  }
  const size_t gpts = bo->gpts ? bo->gpts : d == 1 ? 400 : 100;
  dpm_bridge_bench_score ssk, sex, sgr, smm;
  size_t iters = 0;
  double t0 = cli_now(), gerr = 0.0;
  if (bo->sinkhorn && dpm_bridge_bench_sinkhorn(mu0, pot, eps, pairs, nt, seed, p, &ssk, &iters)) {
    cli_fail(cmd, rc, "benchmark: sinkhorn");
    goto done;
  }
  if (bo->sinkhorn && cli_now() - t0 > 2.0)
    fprintf(stderr, "dpmlab bridge: benchmark sinkhorn %zu pairs in d = %zu, %zu iterations in %.1f s\n", pairs, d,
            iters, cli_now() - t0);
  t0 = cli_now();
  if (bo->grid &&
      dpm_bridge_bench_grid(mu0, pot, eps, gpts, bo->gsteps, bo->giters, pairs, nt, seed, &sgr, &gerr)) {
    cli_fail(cmd, rc, "benchmark: grid IPF");
    goto done;
  }
  if (bo->grid && cli_now() - t0 > 2.0)
    fprintf(stderr, "dpmlab bridge: benchmark grid IPF on %zu^%zu points, %zu iterations in %.1f s\n", gpts, d,
            bo->giters, cli_now() - t0);
  t0 = cli_now();
  if (bo->mm && dpm_bridge_bench_mm(mu0, pot, eps, pairs, nt, seed, &bo->mmp, &smm)) {
    cli_fail(cmd, rc, "benchmark: mean-matching IPF");
    goto done;
  }
  if (bo->mm && cli_now() - t0 > 2.0)
    fprintf(stderr, "dpmlab bridge: benchmark mean-matching IPF, %zu particles, %zu iterations in %.1f s\n",
            bo->mmp.M, bo->mmp.iters, cli_now() - t0);
  /* the same test points as Sinkhorn's: the sources of pairs n..n+nt-1 of the same streams */
  if (!(xy = malloc(2 * (pairs + nt) * d * sizeof *xy))) {
    cli_errorf(cmd, rc, "out of memory for %zu pairs", pairs + nt);
    goto done;
  }
  if (dpm_bridge_gmmpot_sample(mu0, pot, eps, pairs + nt, seed, xy, xy + (pairs + nt) * d) ||
      dpm_bridge_bench_exact(pot, eps, nt, xy + pairs * d, draws, seed + 1, &sex)) {
    cli_fail(cmd, rc, "benchmark: the exact plan");
    goto done;
  }
  root = json_object();
  json_object_set_new(root, "method", json_string("benchmark"));
  json_object_set_new(root, "d", json_integer((json_int_t)d));
  json_object_set_new(root, "eps", json_real(eps));
  json_object_set_new(root, "pairs", json_integer((json_int_t)pairs));
  json_object_set_new(root, "test_points", json_integer((json_int_t)nt));
  if (bo->sinkhorn) {
    json_t *js = jscore(&ssk);
    json_object_set_new(js, "iters", json_integer((json_int_t)iters));
    json_object_set_new(root, "sinkhorn", js);
  }
  json_t *je = jscore(&sex);
  json_object_set_new(je, "draws", json_integer((json_int_t)draws));
  json_object_set_new(root, "exact", je);
  if (bo->grid) {
    json_t *jg = jscore(&sgr);
    json_object_set_new(jg, "grid_points", json_integer((json_int_t)gpts));
    json_object_set_new(jg, "grid_steps", json_integer((json_int_t)bo->gsteps));
    json_object_set_new(jg, "iters", json_integer((json_int_t)bo->giters));
    json_object_set_new(jg, "marginal_err", json_real(gerr));
    json_object_set_new(root, "grid", jg);
  }
  if (bo->mm) {
    json_t *jm = jscore(&smm);
    json_object_set_new(jm, "regressor", json_string(bo->regressor));
    json_object_set_new(jm, "particles", json_integer((json_int_t)bo->mmp.M));
    json_object_set_new(jm, "chain_steps", json_integer((json_int_t)bo->mmp.N));
    json_object_set_new(jm, "iters", json_integer((json_int_t)bo->mmp.iters));
    json_object_set_new(jm, "draws", json_integer((json_int_t)bo->mmp.draws));
    json_object_set_new(root, "mean_matching", jm);
  }
  if (!(out = cli_out_open(cmd, outp, argc, argv, 1))) goto done;
  if (json_dumpf(root, dpm_out_file(out), JSON_INDENT(1) | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER)) {
    cli_errorf(cmd, rc, "JSON output failed");
    goto done;
  }
  fputc('\n', dpm_out_file(out));
  rc = dpm_out_close(out, 1) ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
  out = NULL;
done:
  if (out) dpm_out_close(out, 0);
  json_decref(root);
  free(xy);
  dpm_mixture_free(pot);
  dpm_mixture_free(mu0);
  return rc;
}

/* --regressor: affine (S = 0) or bumps[:size=S,ridge=R] (defaults S = 16, R = 1e-3). CLI_EUSAGE with one line. */
static int parse_regressor(const char *cmd, const char *spec, size_t *S, double *ridge)
{
  *S = 0;
  *ridge = 0.0;
  if (strcmp(spec, "affine") == 0) return CLI_OK;
  if (strncmp(spec, "bumps", 5) != 0 || (spec[5] != '\0' && spec[5] != ':'))
    return cli_errorf(cmd, CLI_EUSAGE, "unknown --regressor '%s' (affine, bumps[:size=S,ridge=R])", spec);
  *S = 16;
  *ridge = 1e-3;
  const char *p = spec[5] ? spec + 6 : spec + 5;
  while (*p) {
    char *end = NULL;
    if (strncmp(p, "size=", 5) == 0) {
      p += 5;
      errno = 0;
      const long long v = *p == '-' ? -1 : strtoll(p, &end, 10);
      if (v < 2 || v > 256 || errno || end == p || (*end && *end != ','))
        return cli_errorf(cmd, CLI_EUSAGE, "--regressor bumps: size must be an integer in 2..256 (got '%s')", p);
      *S = (size_t)v;
    } else if (strncmp(p, "ridge=", 6) == 0) {
      p += 6;
      const double v = strtod(p, &end);
      if (end == p || (*end && *end != ',') || !(isfinite(v) && v >= 0.0))
        return cli_errorf(cmd, CLI_EUSAGE, "--regressor bumps: ridge must be a finite number >= 0 (got '%s')", p);
      *ridge = v;
    } else
      return cli_errorf(cmd, CLI_EUSAGE, "--regressor bumps: unknown parameter '%s' (size, ridge)", p);
    p = *end ? end + 1 : end;
  }
  return CLI_OK;
}

int cmd_bridge(int argc, char **argv)
{
  const char *cmd = "bridge", *from = NULL, *to = NULL, *method = NULL, *outp = NULL, *planp = NULL,
             *pathsp = NULL, *regressor = "affine", *bmethods = "sinkhorn";
  double sigma2 = NAN, t = 0.5, tol = 1e-9;
  size_t iters = 20, n = 100, K = 50, scaling = 0, max_iter = 100000, gpts = 0, gsteps = 10, particles = 20000,
         csteps = 20, pairs = 1000, ntest = 200, draws = 1000;
  uint64_t seed = 0;
  cli_opt opts[] = {
      {"from", OPT_STR, &from,
       "mu_0: a data spec (one Gaussian for closed-form/ipf, a point set for sinkhorn, any mixture for "
       "benchmark) (required)",
       0},
      {"to", OPT_STR, &to,
       "mu_1: a data spec of the same dimension; benchmark: the potential psi, a mixture with covariances, or "
       "gmmpot (the built-in one) (required)",
       0},
      {"sigma2", OPT_DOUBLE, &sigma2,
       "sigma^2 > 0 of the reference dX = sigma dW; Sinkhorn's reg = 2 sigma^2 "
       "(required)",
       0},
      {"method", OPT_STR, &method, "closed-form | ipf | sinkhorn | grid | mean-matching | benchmark (required)",
       0},
      {"pairs", OPT_SIZE, &pairs, "benchmark: ground-truth pairs given to Sinkhorn (default 1000)", 0},
      {"test-points", OPT_SIZE, &ntest,
       "benchmark: test points x where the conditional plans are scored (default "
       "200)",
       0},
      {"draws", OPT_SIZE, &draws,
       "benchmark: draws of the exact plan per test point, test point i from the stream (seed + 1, i) (default "
       "1000)",
       0},
      {"bench-methods", OPT_STR, &bmethods,
       "benchmark: the solvers scored, a comma-separated list of sinkhorn, grid (d <= 2), mean-matching (default "
       "sinkhorn; the exact plan always)",
       0},
      {"iters", OPT_SIZE, &iters,
       "ipf, grid, mean-matching (also in the benchmark): full iterations (both half-steps) to run (default 20)",
       0},
      {"grid-points", OPT_SIZE, &gpts, "grid: points per axis (default 400 in 1-D, 100 in 2-D)", 0},
      {"grid-steps", OPT_SIZE, &gsteps, "grid: time steps N of the reference chain (default 10)", 0},
      {"particles", OPT_SIZE, &particles, "mean-matching: particles per simulation (default 20000)", 0},
      {"chain-steps", OPT_SIZE, &csteps, "mean-matching: time steps N of the particle chains (default 20)", 0},
      {"regressor", OPT_STR, &regressor,
       "mean-matching: affine (default) or bumps[:size=S,ridge=R], affine plus S^d Gaussian bumps on a grid by "
       "ridge least squares (default S = 16, R = 1e-3)",
       0},
      {"t", OPT_DOUBLE, &t, "time in [0, 1] of the reported marginal mean_t, Sigma_t (default 0.5)", 0},
      {"plan", OPT_STR, &planp, "sinkhorn: write the plan here as CSV (a row per source point, no header)", 0},
      {"paths", OPT_STR, &pathsp, "write --n bridge paths on --steps uniform steps here as CSV path,t,x_1..x_d",
       0},
      {"n", OPT_SIZE, &n, "number of paths (default 100)", 0},
      {"steps", OPT_SIZE, &K, "time steps of each path (default 50)", 0},
      {"seed", OPT_U64, &seed, "seed of the paths: path i uses the stream (seed, i) (default 0)", 0},
      {"tol", OPT_DOUBLE, &tol, "sinkhorn: stop when |gamma^T 1 - b|_2 < tol (default 1e-9; 1e-6 for benchmark)",
       0},
      {"max-iter", OPT_SIZE, &max_iter, "sinkhorn: iteration budget (default 100000)", 0},
      {"eps-scaling", OPT_SIZE, &scaling, "sinkhorn: stages of epsilon-scaling before the target reg (default 0)",
       0},
      {"out", OPT_STR, &outp, "JSON output file (written whole or not at all); default stdout", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc = cli_parse(
      argc, argv, opts,
      "usage: dpmlab bridge --from SPEC --to SPEC --sigma2 S2 --method "
      "closed-form|ipf|sinkhorn|grid|mean-matching|benchmark\n"
      "       [--iters N] [--t T] [--plan FILE.csv] [--paths FILE.csv --n N --steps K]\n"
      "       [--regressor affine|bumps[:size=S,ridge=R]] (mean-matching)\n"
      "The Schroedinger bridge for the reference dX = sigma dW on [0, 1] (static cost |x - y|^2, penalty\n"
      "2 sigma^2 KL), as JSON.\n"
      "closed-form: {\"C\", \"OT\", \"t\", \"mean_t\", \"Sigma_t\", \"D\", \"transport\"} (C = Cov(X_0, X_1));\n"
      "ipf: the same and \"ipf\": [{\"iter\", \"C\", \"err\"}, ...] (C after each full iteration,\n"
      "  err = |C - C_sigma|_F) and \"rate\";\n"
      "sinkhorn (point sets): {\"cost\" (transport only), \"entropic_cost\", \"marginal_err\", \"iters\", \"C\", "
      "\"t\",\n"
      "  \"mean_t\", \"Sigma_t\"};\n"
      "grid (densities in 1-D or 2-D): \"grid\": [{\"iter\", \"marginal_err\", \"C\", \"err\"}, ...] (the L1 "
      "error of\n"
      "  the X_1 marginal before the update; err against C_sigma when both ends are single Gaussians, else "
      "null),\n"
      "  \"C\", \"t\", \"mean_t\", \"Sigma_t\" (at the grid time nearest t), \"range\";\n"
      "mean-matching: \"mean_matching\": [{\"iter\", \"C\", \"err\", \"err_ipf\"}, ...] (err_ipf against exact "
      "IPF's\n"
      "  iterate), \"regressor\", \"C\", \"t\", \"mean_t\", \"Sigma_t\" (from the last forward particles);\n"
      "benchmark (--to the potential psi, --sigma2 = eps, the plan pi(y|x) ~ N(y; x, eps I) psi(y) in closed\n"
      "  form): {\"d\", \"eps\", \"pairs\", \"test_points\", \"sinkhorn\": {\"uvp_cond\", \"uvp_cond_se\", "
      "\"bw2_cond\",\n"
      "  \"uvp_marg\", \"bw2_marg\", \"iters\"}, \"exact\": {... \"draws\"}}: BW2-UVP of the conditional "
      "plans\n"
      "  averaged over the test points and of the target marginal (--pairs, --test-points, --draws, --seed);\n"
      "  --bench-methods sinkhorn,grid,mean-matching adds \"grid\": {scores, \"grid_points\", \"grid_steps\", "
      "\"iters\",\n"
      "  \"marginal_err\"} (the laws on the grid, its conditional plan from the potentials) and "
      "\"mean_matching\":\n"
      "  {scores, \"regressor\", \"particles\", \"chain_steps\", \"iters\", \"draws\"} (mu_0 to the first --pairs "
      "targets,\n"
      "  the conditional plan from --draws runs of the fitted forward chain per test point).");
  if (rc) return rc < 0 ? CLI_OK : rc;
  if ((rc = cli_require(cmd, opts, "from")) || (rc = cli_require(cmd, opts, "to")) ||
      (rc = cli_require(cmd, opts, "sigma2")) || (rc = cli_require(cmd, opts, "method")))
    return rc;
  int mcf = strcmp(method, "closed-form") == 0, mipf = strcmp(method, "ipf") == 0,
      msk = strcmp(method, "sinkhorn") == 0, mgrid = strcmp(method, "grid") == 0,
      mmm = strcmp(method, "mean-matching") == 0, mbench = strcmp(method, "benchmark") == 0;
  if (!mcf && !mipf && !msk && !mgrid && !mmm && !mbench)
    return cli_errorf(cmd, CLI_EUSAGE,
                      "unknown --method '%s' (closed-form, ipf, sinkhorn, grid, mean-matching, benchmark)",
                      method);
  if (mbench && (pathsp || planp))
    return cli_errorf(cmd, CLI_EUSAGE, "--paths and --plan are not outputs of --method benchmark");
  if (mbench && (pairs < 2 || ntest < 2 || draws < 2))
    return cli_errorf(cmd, CLI_EUSAGE, "--pairs, --test-points and --draws must be >= 2");
  if ((mgrid || mmm) && pathsp) return cli_errorf(cmd, CLI_EUSAGE, "--paths needs closed-form, ipf or sinkhorn");
  size_t rsize = 0;
  double rridge = 0.0;
  bench_opts bo = {.sinkhorn = 1};
  if (cli_seen(opts, "bench-methods") && !mbench)
    return cli_errorf(cmd, CLI_EUSAGE, "--bench-methods needs --method benchmark");
  if (mbench && (rc = parse_bench_methods(cmd, bmethods, &bo))) return rc;
  if (cli_seen(opts, "regressor") && !mmm && !bo.mm)
    return cli_errorf(cmd, CLI_EUSAGE,
                      "--regressor needs --method mean-matching (or benchmark with mean-matching)");
  if ((rc = parse_regressor(cmd, regressor, &rsize, &rridge))) return rc;
  if ((mmm || bo.mm) && (iters == 0 || csteps == 0 || particles < 16))
    return cli_errorf(cmd, CLI_EUSAGE, "--iters and --chain-steps must be >= 1, --particles >= 16");
  if ((mgrid || bo.grid) && (iters == 0 || gsteps == 0 || (cli_seen(opts, "grid-points") && gpts < 3)))
    return cli_errorf(cmd, CLI_EUSAGE, "--iters and --grid-steps must be >= 1, --grid-points >= 3");
  if (!(isfinite(sigma2) && sigma2 > 0.0))
    return cli_errorf(cmd, CLI_EUSAGE, "--sigma2 must be a finite number > 0 (got %g)", sigma2);
  if (!(t >= 0.0 && t <= 1.0)) return cli_errorf(cmd, CLI_EUSAGE, "--t must be in [0, 1] (got %g)", t);
  if ((mipf || mgrid) && iters == 0) return cli_errorf(cmd, CLI_EUSAGE, "--iters must be >= 1");
  if (planp && !msk) return cli_errorf(cmd, CLI_EUSAGE, "--plan needs --method sinkhorn");
  if (pathsp && (n == 0 || K == 0)) return cli_errorf(cmd, CLI_EUSAGE, "--n and --steps must be >= 1");
  if (!pathsp && (cli_seen(opts, "n") || cli_seen(opts, "steps")))
    return cli_errorf(cmd, CLI_EUSAGE, "--n and --steps need --paths");
  if (!(isfinite(tol) && tol > 0.0)) return cli_errorf(cmd, CLI_EUSAGE, "--tol must be finite and > 0");
  if (max_iter == 0) return cli_errorf(cmd, CLI_EUSAGE, "--max-iter must be >= 1");
  if (mbench) {
    dpm_bridge_sinkhorn_params bp = dpm_bridge_sinkhorn_default();
    bp.tol = cli_seen(opts, "tol") ? tol : 1e-6; /* far below the scores' sampling error */
    bp.max_iter = max_iter;
    bp.eps_scaling = scaling;
    bo.gpts = cli_seen(opts, "grid-points") ? gpts : 0; /* 0: 400 in 1-D, 100 in 2-D, set once d is known */
    bo.gsteps = gsteps;
    bo.giters = iters;
    bo.regressor = regressor;
    bo.mmp = (dpm_bridge_bench_mm_params){
        .N = csteps, .M = particles, .S = rsize, .iters = iters, .draws = draws, .ridge = rridge};
    return run_benchmark(cmd, from, to, sigma2, pairs, ntest, draws, seed, &bp, &bo, outp, argc, argv);
  }

  dpm_mixture *mu0 = cli_load_data(cmd, from), *mu1 = mu0 ? cli_load_data(cmd, to) : NULL;
  double *m0 = NULL, *S0 = NULL, *m1 = NULL, *S1 = NULL, *paths = NULL, *plan = NULL;
  dpm_bridge_gauss *g = NULL;
  dpm_bridge_ipf_gauss *ipf = NULL;
  dpm_bridge_sinkhorn *sk = NULL;
  dpm_bridge_grid *grid = NULL;
  dpm_bridge_mm *mm = NULL;
  dpm_out *out = NULL, *pout = NULL, *qout = NULL;
  json_t *root = NULL;
  rc = CLI_EDATA;
  if (!mu1) goto done;
  const size_t d = mu0->d;
  if (mu1->d != d) {
    cli_errorf(cmd, rc, "--from has dimension %zu, --to %zu", d, mu1->d);
    goto done;
  }
  root = json_object();
  double *mt = malloc(d * sizeof *mt), *St = malloc(d * d * sizeof *St), *C = malloc(d * d * sizeof *C);
  if (!mt || !St || !C) {
    cli_errorf(cmd, rc, "out of memory");
    free(mt);
    free(St);
    free(C);
    goto done;
  }
  if (pathsp && !(paths = malloc((K + 1) * n * d * sizeof *paths))) {
    cli_errorf(cmd, rc, "out of memory for %zu paths of %zu steps", n, K);
    goto done_mt;
  }
  if (mcf || mipf) {
    if (single_gaussian(cmd, "from", mu0, &m0, &S0) || single_gaussian(cmd, "to", mu1, &m1, &S1)) goto done_mt;
    if (!(g = dpm_bridge_gauss_alloc(d, m0, S0, m1, S1, sigma2))) {
      cli_fail(cmd, rc, "closed form failed");
      goto done_mt;
    }
    dpm_bridge_gauss_marginal(g, t, mt, St);
    json_object_set_new(root, "C", jmat(g->C, d));
    json_object_set_new(root, "OT", json_real(g->OT));
    json_object_set_new(root, "transport", json_real(g->transport));
    json_object_set_new(root, "t", json_real(t));
    json_object_set_new(root, "mean_t", jvec(mt, d));
    json_object_set_new(root, "Sigma_t", jmat(St, d));
    json_object_set_new(root, "D", jmat(g->D, d));
    if (mipf) {
      if (!(ipf = dpm_bridge_ipf_gauss_alloc(d, m0, S0, dpm_bridge_kernel_brownian(sigma2)))) {
        cli_fail(cmd, rc, "IPF failed");
        goto done_mt;
      }
      json_t *arr = json_array();
      json_object_set_new(root, "ipf", arr);
      double e_prev = dpm_bridge_ipf_gauss_err(ipf, g->C), rate = NAN;
      for (size_t it = 1; it <= iters; it++) {
        if (dpm_bridge_ipf_gauss_step(ipf, 1, m1, S1) || dpm_bridge_ipf_gauss_step(ipf, 0, m0, S0)) {
          dpm_error_context("IPF iteration %zu", it);
          cli_fail(cmd, rc, "IPF failed");
          goto done_mt;
        }
        const double e = dpm_bridge_ipf_gauss_err(ipf, g->C);
        if (e_prev > 0.0 && e > 0.0) rate = e / e_prev;
        e_prev = e;
        json_t *row = json_object();
        json_object_set_new(row, "iter", json_integer((json_int_t)it));
        json_object_set_new(row, "C", jmat(ipf->Sxy, d));
        json_object_set_new(row, "err", json_real(e));
        json_array_append_new(arr, row);
      }
      json_object_set_new(root, "rate", isfinite(rate) ? json_real(rate) : json_null());
    }
    if (paths && dpm_bridge_gauss_sample(g, n, K, seed, paths)) {
      cli_fail(cmd, rc, "bridge paths failed");
      goto done_mt;
    }
  } else if (mmm) {
    if (d > 8) {
      cli_errorf(cmd, rc, "mean-matching here works in dimension <= 8 (got %zu)", d);
      goto done_mt;
    }
    if (!(mm = dpm_bridge_mm_alloc_bumps(mu0, mu1, csteps, particles, sigma2, seed, rsize, rridge))) {
      cli_fail(cmd, rc, "mean-matching IPF set-up failed");
      goto done_mt;
    }
    /* exact IPF and the closed form to compare with, when both ends are single Gaussians */
    if (mu0->K == 1 && mu1->K == 1 && mu0->kind[0] != DPM_COV_ZERO && mu1->kind[0] != DPM_COV_ZERO) {
      if (single_gaussian(cmd, "from", mu0, &m0, &S0) || single_gaussian(cmd, "to", mu1, &m1, &S1)) goto done_mt;
      g = dpm_bridge_gauss_alloc(d, m0, S0, m1, S1, sigma2);
      ipf = g ? dpm_bridge_ipf_gauss_alloc(d, m0, S0, dpm_bridge_kernel_brownian(sigma2)) : NULL;
      if (!ipf) {
        cli_fail(cmd, rc, "closed form failed");
        goto done_mt;
      }
    }
    json_t *arr = json_array();
    json_object_set_new(root, "regressor", json_string(regressor));
    json_object_set_new(root, "mean_matching", arr);
    for (size_t it = 1; it <= iters; it++) {
      if (dpm_bridge_mm_iterate(mm, C)) {
        dpm_error_context("mean-matching iteration %zu", it);
        cli_fail(cmd, rc, "mean-matching IPF failed");
        goto done_mt;
      }
      json_t *row = json_object();
      json_object_set_new(row, "iter", json_integer((json_int_t)it));
      json_object_set_new(row, "C", jmat(C, d));
      double ce = 0.0, ie = 0.0;
      if (ipf && (dpm_bridge_ipf_gauss_step(ipf, 1, m1, S1) || dpm_bridge_ipf_gauss_step(ipf, 0, m0, S0))) {
        cli_fail(cmd, rc, "exact IPF failed");
        goto done_mt;
      }
      for (size_t i = 0; g && i < d * d; i++) {
        ce += (C[i] - g->C[i]) * (C[i] - g->C[i]);
        ie += (C[i] - ipf->Sxy[i]) * (C[i] - ipf->Sxy[i]);
      }
      json_object_set_new(row, "err", g ? json_real(sqrt(ce)) : json_null());
      json_object_set_new(row, "err_ipf", g ? json_real(sqrt(ie)) : json_null());
      json_array_append_new(arr, row);
    }
    /* the time marginal's moments from the last forward simulation's particles */
    const size_t kt = (size_t)lround(t * (double)csteps), M = mm->M;
    const double *xs = mm->X + kt * M * d;
    for (size_t j = 0; j < d; j++) {
      double acc = 0.0;
      for (size_t i = 0; i < M; i++)
        acc += xs[i * d + j];
      mt[j] = acc / (double)M;
    }
    for (size_t a = 0; a < d; a++)
      for (size_t b = 0; b < d; b++) {
        double acc = 0.0;
        for (size_t i = 0; i < M; i++)
          acc += (xs[i * d + a] - mt[a]) * (xs[i * d + b] - mt[b]);
        St[a * d + b] = acc / (double)(M - 1);
      }
    json_object_set_new(root, "C", jmat(C, d));
    json_object_set_new(root, "t", json_real((double)kt / (double)csteps));
    json_object_set_new(root, "mean_t", jvec(mt, d));
    json_object_set_new(root, "Sigma_t", jmat(St, d));
    if (g) json_object_set_new(root, "C_closed_form", jmat(g->C, d));
  } else if (mgrid) {
    if (d > 2) {
      cli_errorf(cmd, rc, "grid IPF works in dimension 1 or 2 (got %zu)", d);
      goto done_mt;
    }
    /* the domain: a square holding all but 1e-14 of both laws */
    double lo = HUGE_VAL, hi = -HUGE_VAL, bl[2], bh[2];
    const dpm_mixture *both[2] = {mu0, mu1};
    for (int q = 0; q < 2; q++) {
      dpm_mixture_box(both[q], 1e-14, bl, bh);
      for (size_t j = 0; j < d; j++) {
        lo = fmin(lo, bl[j]);
        hi = fmax(hi, bh[j]);
      }
    }
    if (!cli_seen(opts, "grid-points")) gpts = d == 1 ? 400 : 100;
    if (!(grid = dpm_bridge_grid_alloc(mu0, mu1, gpts, lo, hi, gsteps, sigma2))) {
      cli_fail(cmd, rc, "grid IPF set-up failed");
      goto done_mt;
    }
    /* the closed form to compare with, when both ends are single Gaussians */
    if (mu0->K == 1 && mu1->K == 1) {
      m0 = malloc(d * sizeof *m0);
      S0 = malloc(d * d * sizeof *S0);
      m1 = malloc(d * sizeof *m1);
      S1 = malloc(d * d * sizeof *S1);
      if (m0 && S0 && m1 && S1) {
        memcpy(m0, mu0->mu, d * sizeof *m0);
        memcpy(m1, mu1->mu, d * sizeof *m1);
        dpm_mixture_cov(mu0, 0, S0);
        dpm_mixture_cov(mu1, 0, S1);
        g = dpm_bridge_gauss_alloc(d, m0, S0, m1, S1, sigma2);
      }
      if (!g) {
        cli_fail(cmd, rc, "closed form failed");
        goto done_mt;
      }
    }
    json_t *arr = json_array();
    json_object_set_new(root, "grid", arr);
    for (size_t it = 1; it <= iters; it++) {
      double e;
      if (dpm_bridge_grid_iterate(grid, &e) || dpm_bridge_grid_cross_cov(grid, C)) {
        dpm_error_context("grid IPF iteration %zu", it);
        cli_fail(cmd, rc, "grid IPF failed");
        goto done_mt;
      }
      json_t *row = json_object();
      json_object_set_new(row, "iter", json_integer((json_int_t)it));
      json_object_set_new(row, "marginal_err", json_real(e));
      json_object_set_new(row, "C", jmat(C, d));
      double ce = 0.0;
      if (g)
        for (size_t i = 0; i < d * d; i++)
          ce += (C[i] - g->C[i]) * (C[i] - g->C[i]);
      json_object_set_new(row, "err", g ? json_real(sqrt(ce)) : json_null());
      json_array_append_new(arr, row);
    }
    const size_t kt = (size_t)lround(t * (double)gsteps);
    if (dpm_bridge_grid_marginal(grid, kt, NULL, mt, St)) {
      cli_fail(cmd, rc, "grid marginal failed");
      goto done_mt;
    }
    json_object_set_new(root, "C", jmat(C, d));
    json_object_set_new(root, "t", json_real((double)kt / (double)gsteps));
    json_object_set_new(root, "mean_t", jvec(mt, d));
    json_object_set_new(root, "Sigma_t", jmat(St, d));
    json_t *rg = json_array();
    json_array_append_new(rg, json_real(lo));
    json_array_append_new(rg, json_real(hi));
    json_object_set_new(root, "range", rg);
    if (g) json_object_set_new(root, "C_closed_form", jmat(g->C, d));
  } else {
    if (!dpm_mixture_is_pointset(mu0) || !dpm_mixture_is_pointset(mu1)) {
      cli_errorf(cmd, rc, "sinkhorn needs point sets: '%s' has covariances (use sample:of=SPEC,n=N)",
                 dpm_mixture_is_pointset(mu0) ? to : from);
      goto done_mt;
    }
    if (!(sk = dpm_bridge_sinkhorn_alloc(mu0->K, mu1->K, d, mu0->mu, mu1->mu, mu0->w, mu1->w))) {
      cli_fail(cmd, rc, "sinkhorn set-up failed");
      goto done_mt;
    }
    dpm_bridge_sinkhorn_params p = dpm_bridge_sinkhorn_default();
    p.reg = 2.0 * sigma2;
    p.tol = tol;
    p.max_iter = max_iter;
    p.eps_scaling = scaling;
    const double t0 = cli_now();
    if (dpm_bridge_sinkhorn_solve(sk, &p)) {
      cli_fail(cmd, rc, "sinkhorn failed");
      goto done_mt;
    }
    const double el = cli_now() - t0;
    if (el > 2.0)
      fprintf(stderr, "dpmlab bridge: sinkhorn %zu x %zu, %zu iterations in %.1f s\n", mu0->K, mu1->K, sk->iters,
              el);
    dpm_bridge_sinkhorn_moments(sk, mt, St, C); /* St: scratch for the target mean */
    json_object_set_new(root, "cost", json_real(sk->transport));
    json_object_set_new(root, "entropic_cost", json_real(sk->entropic));
    json_object_set_new(root, "marginal_err", json_real(sk->marginal_err));
    json_object_set_new(root, "iters", json_integer((json_int_t)sk->iters));
    json_object_set_new(root, "C", jmat(C, d));
    dpm_bridge_sinkhorn_marginal(sk, t, mt, St);
    json_object_set_new(root, "t", json_real(t));
    json_object_set_new(root, "mean_t", jvec(mt, d));
    json_object_set_new(root, "Sigma_t", jmat(St, d));
    if (planp) {
      if (!(plan = malloc(mu0->K * mu1->K * sizeof *plan))) {
        cli_errorf(cmd, rc, "out of memory for the plan");
        goto done_mt;
      }
      dpm_bridge_sinkhorn_plan(sk, plan);
    }
    if (paths && dpm_bridge_sinkhorn_paths(sk, n, K, seed, paths, NULL)) {
      cli_fail(cmd, rc, "bridge paths failed");
      goto done_mt;
    }
  }
  /* every output opened only now, and committed together */
  if (!(out = cli_out_open(cmd, outp, argc, argv, 1))) goto done_mt;
  if (planp && !(pout = cli_out_open(cmd, planp, argc, argv, 1))) goto done_mt;
  if (pathsp && !(qout = cli_out_open(cmd, pathsp, argc, argv, 1))) goto done_mt;
  if (json_dumpf(root, dpm_out_file(out), JSON_INDENT(1) | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER)) {
    cli_errorf(cmd, rc, "JSON output failed");
    goto done_mt;
  }
  fputc('\n', dpm_out_file(out));
  if (pout)
    for (size_t i = 0; i < mu0->K; i++)
      dpm_csv_write_row(dpm_out_file(pout), plan + i * mu1->K, mu1->K);
  if (qout && write_paths(dpm_out_file(qout), n, K, d, paths)) {
    rc = cli_fail(cmd, CLI_EDATA, "out of memory");
    goto done_mt;
  }
  int bad = dpm_out_close(out, 1);
  out = NULL;
  if (pout) bad |= dpm_out_close(pout, 1);
  pout = NULL;
  if (qout) bad |= dpm_out_close(qout, 1);
  qout = NULL;
  rc = bad ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
done_mt:
  free(mt);
  free(St);
  free(C);
done:
  if (out) dpm_out_close(out, 0);
  if (pout) dpm_out_close(pout, 0);
  if (qout) dpm_out_close(qout, 0);
  json_decref(root);
  free(plan);
  free(paths);
  free(m0);
  free(S0);
  free(m1);
  free(S1);
  dpm_bridge_sinkhorn_free(sk);
  dpm_bridge_grid_free(grid);
  dpm_bridge_mm_free(mm);
  dpm_bridge_ipf_gauss_free(ipf);
  dpm_bridge_gauss_free(g);
  dpm_mixture_free(mu1);
  dpm_mixture_free(mu0);
  return rc;
}
