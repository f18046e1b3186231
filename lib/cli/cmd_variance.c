/* cmd_variance.c — `dpmlab variance`: the Analytic-DPM optimal reverse variance per step (Bao et al. ICLR 2022;
 * docs/MATH.md §3): Gamma_n, sigma*_n^2 clipped into its bounds, and the per-step ELBO terms for beta_n, beta~_n
 * and sigma*_n^2. */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"
#include "commands.h"

int cmd_variance(int argc, char **argv)
{
  const char *cmd = "variance", *data = NULL, *sched = NULL, *outp = NULL;
  size_t N = 0;
  double eta = 1.0;
  int meta = 0;
  cli_gamma_opts g = {0, 1e-10, 0, 0};
  cli_opt opts[] = {
      {"data", OPT_STR, &data, "data spec: built-in name[:opts], FILE.json or FILE.csv (required)", 0},
      {"schedule", OPT_STR, &sched, "beta schedule: linear (1e-4 .. 0.02) or cosine (required)", 0},
      {"N", OPT_SIZE, &N, "number of steps N >= 1 (required)", 0},
      {"eta", OPT_DOUBLE, &eta, "DDIM family: lambda_n^2 = eta^2 beta~_n, eta in [0, 1] (default 1 = DDPM)", 0},
      CLI_GAMMA_OPTIONS(g, "Gamma_n by adaptive quadrature (d <= 2); gamma_se is then 0",
                        "Gamma_n by Monte Carlo with M >= 2 exact samples of q_n per step"),
      {"out", OPT_STR, &outp, "output file (written whole or not at all); default stdout", 0},
      {"meta", OPT_FLAG, &meta, "begin the output with '#' metadata lines (version, command)", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc = cli_parse(
      argc, argv, opts,
      "usage: dpmlab variance --data SPEC --schedule linear|cosine --N N [--eta E] (--quad | --mc M) [--seed S]\n"
      "The Analytic-DPM optimal reverse variance (Bao et al. 2022), one row per step n = 1..N:\n"
      "  n,beta,alpha_bar,gamma,gamma_se,one_minus_gamma,lambda2,sigma2,lower,upper,L_beta,L_betatilde,L_opt\n"
      "gamma = Gamma_n = E|E[eps|x_n]|^2/d, gamma_se its Monte Carlo standard error (0 with --quad);\n"
      "one_minus_gamma = 1 - Gamma_n = E tr Cov[eps|x_n]/d integrated directly (accurate where Gamma_n -> 1 and\n"
      "1 minus it would have no digit left); sigma2 and the L columns are formed from it;\n"
      "lambda2 = eta^2 beta~_n; sigma2 = sigma*_n^2 = lambda2 + (sqrt(bbar_n/alpha_n) - sqrt(bbar_{n-1} -\n"
      "lambda2))^2 (1 - Gamma_n), clipped into [lower, upper] = [lambda2, lambda2 + (...)^2] (it lies inside\n"
      "whenever Gamma_n is in [0, 1]; a Monte Carlo Gamma_n may not be);\n"
      "L_beta, L_betatilde, L_opt = the ELBO term L_{n-1} in nats with the optimal mean and the variance beta_n,\n"
      "beta~_n, sigma2 (for n >= 2 L_opt = (d/2) log(sigma2/lambda2) when sigma2 is inside its bounds).\n"
      "Decoder convention, row n = 1 (the step x_1 -> x_0): lambda2 = 0 and sigma2 is clipped into\n"
      "[0, bbar_1/abar_1]; the L columns hold L_0 = -E log N(x_0; mu*_1(x_1), v I) = (d/2)(log(2 pi v) + e/v),\n"
      "e = (bbar_1/abar_1)(1 - Gamma_1), with v = beta_1 (L_beta), beta~_2 (L_betatilde, Improved DDPM's\n"
      "choice) and v = sigma2 (L_opt; = e when Gamma_1 is in [0, 1]).\n"
      "Sum_n L + the prior term = the negative ELBO of the N-step model.");
  if (rc) return rc < 0 ? CLI_OK : rc;
  if ((rc = cli_require(cmd, opts, "data")) || (rc = cli_require(cmd, opts, "schedule")) ||
      (rc = cli_require(cmd, opts, "N")))
    return rc;
  if (N < 1) return cli_errorf(cmd, CLI_EUSAGE, "--N must be >= 1 (got %zu)", N);
  if ((rc = cli_gamma_check(cmd, opts, &g, 0))) return rc;
  if (!(eta >= 0.0 && eta <= 1.0)) return cli_errorf(cmd, CLI_EUSAGE, "--eta must be in [0, 1] (got %g)", eta);
  dpm_schedule *sch = dpm_schedule_alloc_by_name(sched, N);
  if (!sch) return cli_fail(cmd, CLI_EUSAGE, "bad --schedule");
  dpm_mixture *mix = cli_load_data(cmd, data);
  if (!mix) {
    dpm_schedule_free(sch);
    return CLI_EDATA;
  }
  dpm_out *out = NULL;
  double *buf = calloc(15 * (N + 1), sizeof *buf);
  if (!buf) {
    rc = cli_errorf(cmd, CLI_EDATA, "out of memory (N = %zu)", N);
    goto done;
  }
  double *gamma = buf, *se = buf + (N + 1), *cg = buf + 2 * (N + 1), *c = buf + 3 * (N + 1);
  const dpm_analytic_gamma_result gres = {gamma, se, cg, NULL};
  if ((rc = cli_gamma_route_result(cmd, mix, sch, &g, &gres))) goto done;
  rc = CLI_EDATA;
  double e_norm2;
  dpm_mixture_moments(mix, NULL, NULL, &e_norm2);
  dpm_analytic_model mod = {
      .d = mix->d, .eta = eta, .e_norm2 = e_norm2, .gamma = gamma, .gamma_err = se, .cgamma = cg};
  dpm_analytic_table tab = {0};
  double **cols[] = {&tab.beta,  &tab.alpha_bar, &tab.lambda2,   &tab.sigma2,      &tab.lower,
                     &tab.upper, &tab.L_beta,    &tab.L_clipped, &tab.L_betatilde, &tab.gamma};
  for (size_t j = 0; j < sizeof cols / sizeof cols[0]; j++)
    *cols[j] = c + j * (N + 1);
  if (dpm_analytic_table_fill(sch, &mod, &tab)) {
    cli_fail(cmd, CLI_EDATA, "variance table failed");
    goto done;
  }
  if (!(out = cli_out_open(cmd, outp, argc, argv, !meta))) goto done;
  FILE *fp = dpm_out_file(out);
  fputs("n,beta,alpha_bar,gamma,gamma_se,one_minus_gamma,lambda2,sigma2,lower,upper,L_beta,L_betatilde,L_opt\n",
        fp);
  for (size_t n = 1; n <= N; n++) {
    double row[13] = {(double)n,     tab.beta[n],        tab.alpha_bar[n], tab.gamma[n], se[n],
                      cg[n],         tab.lambda2[n],     tab.sigma2[n],    tab.lower[n], tab.upper[n],
                      tab.L_beta[n], tab.L_betatilde[n], tab.L_clipped[n]};
    dpm_csv_write_row(fp, row, 13);
  }
  rc = dpm_out_close(out, 1) ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
  out = NULL;
done:
  if (out) dpm_out_close(out, 0);
  free(buf);
  dpm_mixture_free(mix);
  dpm_schedule_free(sch);
  return rc;
}
