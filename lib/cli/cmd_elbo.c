/* cmd_elbo.c — `dpmlab elbo`: the negative ELBO of a K-step DDIM-family model with the optimal mean and a choice
 * of reverse variance (beta, beta~, Analytic-DPM's sigma*^2 or its clipped estimate; Bao et al. ICLR 2022,
 * docs/MATH.md §3), against the differential entropy of the data: nelbo - H(q_0) = KL >= 0. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"

/* The command-line variance names (the contract) to the library's choices. */
static int variance_from_name(const char *name, dpm_variance_kind *v)
{
  static const struct {
    const char *name;
    dpm_variance_kind kind;
  } map[] = {{"beta", DPM_VAR_BETA},
             {"betatilde", DPM_VAR_BETA_TILDE},
             {"analytic", DPM_VAR_OPT},
             {"clipped", DPM_VAR_CLIPPED}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(name, map[i].name) == 0) {
      *v = map[i].kind;
      return 0;
    }
  return -1;
}

static int has_point_mass(const dpm_mixture *mix)
{
  for (size_t k = 0; k < mix->K; k++)
    if (mix->kind[k] == DPM_COV_ZERO && mix->w[k] > 0) return 1;
  return 0;
}

int cmd_elbo(int argc, char **argv)
{
  const char *cmd = "elbo", *data = NULL, *sched = NULL, *outp = NULL, *traj = NULL, *varname = NULL;
  size_t N = 0, K = 0, Mhat = 100;
  double eta = 1.0;
  uint64_t hat_seed = 0;
  int meta = 0;
  cli_gamma_opts g = {0, 1e-10, 0, 0};
  cli_opt opts[] = {
      {"data", OPT_STR, &data, "data spec: built-in name[:opts], FILE.json or FILE.csv (required)", 0},
      {"schedule", OPT_STR, &sched, "beta schedule: linear (1e-4 .. 0.02) or cosine (required)", 0},
      {"N", OPT_SIZE, &N, "number of steps N of the schedule (required)", 0},
      {"K", OPT_SIZE, &K, "number of trajectory points, 2 <= K <= N (required)", 0},
      {"trajectory", OPT_STR, &traj, "dp (least J cost), even or quadratic (required)", 0},
      {"variance", OPT_STR, &varname, "beta, betatilde, analytic or clipped (required)", 0},
      {"eta", OPT_DOUBLE, &eta, "DDIM family: lambda^2 = eta^2 beta~, eta in (0, 1] (default 1 = DDPM)", 0},
      CLI_GAMMA_OPTIONS(g, "Gamma_n by adaptive quadrature (d <= 2; the default when d <= 2)",
                        "Gamma_n by Monte Carlo with M >= 2 samples per step (default 1000 when d > 2)"),
      {"hat-mc", OPT_SIZE, &Mhat, "clipped: samples per step of the estimate Gamma-hat_n (default 100)", 0},
      {"hat-seed", OPT_U64, &hat_seed, "clipped: seed of Gamma-hat_n (default seed + 1)", 0},
      {"out", OPT_STR, &outp, "output file (written whole or not at all); default stdout", 0},
      {"meta", OPT_FLAG, &meta, "begin the output with '#' metadata lines (version, command)", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc = cli_parse(
      argc, argv, opts,
      "usage: dpmlab elbo --data SPEC --schedule linear|cosine --N N --K K --trajectory dp|even\n"
      "                   --variance beta|betatilde|analytic|clipped [--quad | --mc M] [--seed S] [--eta E]\n"
      "The negative ELBO of the K-step model p(x_N) = N(0, I), p(x_s|x_t) = N(mu*(x_t), sigma^2 I) with the\n"
      "optimal mean (exact E[x0|x]) along the trajectory, and a Gaussian decoder N(x_0; mu*(x_tau_1), sigma^2 "
      "I).\n"
      "One row: nelbo_nats,bpd,entropy_nats,gap_nats,prior_nats,decoder_nats\n"
      "  nelbo = prior + transitions + decoder (transitions = nelbo - prior - decoder, the K-1 KL terms);\n"
      "  bpd = nelbo/(d ln 2): bits per dimension of a continuous density (no 8-bit discretisation);\n"
      "  entropy = H(q_0), the differential entropy; gap = nelbo - entropy = KL(q(x_0, x_tau) || p) >= 0.\n"
      "Variances: beta = beta_{t|s}; betatilde = beta~_{s|t}; analytic = sigma*^2 from the true Gamma;\n"
      "clipped = sigma*^2 from an estimate Gamma-hat_n by Monte Carlo with --hat-mc samples and its own seed\n"
      "(--hat-seed, default seed + 1), clipped into its bounds (and, for a point set, the bound from its hull).\n"
      "Decoder variance: beta -> bbar_{tau_1}; betatilde -> beta~ of the step tau_2 -> tau_1; analytic/clipped "
      "->\n"
      "(bbar/abar)(1 - Gamma) at tau_1; 1 - Gamma_n = E tr Cov[eps|x_n]/d is integrated directly (it sets\n"
      "sigma*^2 and every term, and near n = N it is far below Gamma_n's own error).\n"
      "Gamma_n: --quad by default when d <= 2, else --mc 1000. The dp "
      "trajectory\n"
      "minimises the eta = 1 cost J from the same Gamma_n.\n"
      "A point set (any point-mass component) has no differential entropy: entropy_nats and gap_nats are then\n"
      "printed as nan, while the ELBO itself is still defined.");
  if (rc) return rc < 0 ? CLI_OK : rc;
  if ((rc = cli_require(cmd, opts, "data")) || (rc = cli_require(cmd, opts, "schedule")) ||
      (rc = cli_require(cmd, opts, "N")) || (rc = cli_require(cmd, opts, "K")) ||
      (rc = cli_require(cmd, opts, "trajectory")) || (rc = cli_require(cmd, opts, "variance")))
    return rc;
  if (N < 1) return cli_errorf(cmd, CLI_EUSAGE, "--N must be >= 1 (got %zu)", N);
  if (K < 2 || K > N) return cli_errorf(cmd, CLI_EUSAGE, "--K must be in [2, N] (got K = %zu, N = %zu)", K, N);
  if (strcmp(traj, "dp") != 0 && strcmp(traj, "even") != 0 && strcmp(traj, "quadratic") != 0)
    return cli_errorf(cmd, CLI_EUSAGE, "unknown --trajectory '%s' (dp, even, quadratic)", traj);
  dpm_variance_kind var;
  if (variance_from_name(varname, &var))
    return cli_errorf(cmd, CLI_EUSAGE, "unknown --variance '%s' (beta, betatilde, analytic, clipped)", varname);
  if ((rc = cli_gamma_check(cmd, opts, &g, 1))) return rc;
  if (!(eta > 0.0 && eta <= 1.0))
    return cli_errorf(cmd, CLI_EUSAGE, "--eta must be in (0, 1] for an ELBO (got %g; eta = 0 makes it infinite)",
                      eta);
  if (Mhat < 2) return cli_errorf(cmd, CLI_EUSAGE, "--hat-mc needs M >= 2 samples (got %zu)", Mhat);
  if (!cli_seen(opts, "hat-seed")) hat_seed = g.seed + 1;
  dpm_schedule *sch = dpm_schedule_alloc_by_name(sched, N);
  if (!sch) return cli_fail(cmd, CLI_EUSAGE, "bad --schedule");
  dpm_mixture *mix = cli_load_data(cmd, data);
  if (!mix) {
    dpm_schedule_free(sch);
    return CLI_EDATA;
  }
  const size_t d = mix->d;
  if (!g.quad && !cli_seen(opts, "mc")) {
    if (d <= 2)
      g.quad = 1;
    else
      g.M = 1000;
  }
  const cli_gamma_opts ghat = {0, g.rel_tol, Mhat, hat_seed};
  dpm_out *out = NULL;
  double *gamma = calloc(3 * (N + 1) + 2 * d, sizeof *gamma);
  double *gamma_hat = gamma ? gamma + N + 1 : NULL, *cgamma = gamma ? gamma + 2 * (N + 1) : NULL,
         *lo = gamma ? gamma + 3 * (N + 1) : NULL, *hi = lo ? lo + d : NULL;
  size_t *tau = calloc(K, sizeof *tau);
  if (!gamma || !tau) {
    rc = cli_errorf(cmd, CLI_EDATA, "out of memory (N = %zu, K = %zu)", N, K);
    goto done;
  }
  const dpm_analytic_gamma_result gres = {gamma, NULL, cgamma, NULL};
  if ((rc = cli_gamma_route_result(cmd, mix, sch, &g, &gres))) goto done;
  if (var == DPM_VAR_CLIPPED && (rc = cli_gamma_route(cmd, mix, sch, &ghat, gamma_hat, NULL))) goto done;
  rc = CLI_EDATA;
  if (dpm_analytic_trajectory(sch, gamma, traj, K, tau, NULL)) {
    cli_fail(cmd, CLI_EDATA, "trajectory failed");
    goto done;
  }
  double H = NAN, Herr = NAN;
  if (!has_point_mass(mix) && dpm_mixture_entropy(mix, &H, &Herr)) {
    cli_fail(cmd, CLI_EDATA, "entropy failed");
    goto done;
  }
  double e_norm2;
  dpm_mixture_moments(mix, NULL, NULL, &e_norm2);
  dpm_analytic_model mod = {.d = d, .eta = eta, .e_norm2 = e_norm2, .gamma = gamma, .cgamma = cgamma};
  if (var == DPM_VAR_CLIPPED) {
    mod.gamma_hat = gamma_hat;
    if (dpm_mixture_is_pointset(mix)) { /* the hull: a rigorous box for a finite set */
      dpm_mixture_box(mix, 0.0, lo, hi);
      mod.box_lo = lo;
      mod.box_hi = hi;
    }
  }
  dpm_elbo_result res;
  if (dpm_analytic_elbo(sch, &mod, var, K, tau, H, Herr, &res, NULL)) {
    cli_fail(cmd, CLI_EDATA, "ELBO failed");
    goto done;
  }
  if (!(out = cli_out_open(cmd, outp, argc, argv, !meta))) goto done;
  FILE *fp = dpm_out_file(out);
  fputs("nelbo_nats,bpd,entropy_nats,gap_nats,prior_nats,decoder_nats\n", fp);
  double row[6] = {res.nelbo, res.bpd, res.entropy, res.gap, res.prior, res.decoder};
  dpm_csv_write_row(fp, row, 6);
  rc = dpm_out_close(out, 1) ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
  out = NULL;
done:
  if (out) dpm_out_close(out, 0);
  free(gamma);
  free(tau);
  dpm_mixture_free(mix);
  dpm_schedule_free(sch);
  return rc;
}
