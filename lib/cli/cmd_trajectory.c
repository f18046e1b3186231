/* cmd_trajectory.c — `dpmlab trajectory`: a K-step sub-sequence 1 = tau_1 < ... < tau_K = N of a DDPM schedule,
 * the least-cost one by dynamic programming over J(s,t) = log(sigma*^2_{s|t}/lambda^2_{s|t}) (Analytic-DPM,
 * Bao et al. ICLR 2022, docs/MATH.md §3) or an even / quadratic one, with its cumulative cost. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"

int cmd_trajectory(int argc, char **argv)
{
  const char *cmd = "trajectory", *data = NULL, *sched = NULL, *outp = NULL, *kind = "dp";
  size_t N = 0, K = 0;
  int meta = 0;
  cli_gamma_opts g = {0, 1e-10, 0, 0};
  cli_opt opts[] = {
      {"data", OPT_STR, &data, "data spec: built-in name[:opts], FILE.json or FILE.csv (required)", 0},
      {"schedule", OPT_STR, &sched, "beta schedule: linear (1e-4 .. 0.02) or cosine (required)", 0},
      {"N", OPT_SIZE, &N, "number of steps N of the schedule (required)", 0},
      {"K", OPT_SIZE, &K, "number of trajectory points, 2 <= K <= N (required)", 0},
      {"kind", OPT_STR, &kind, "dp (least total cost), even or quadratic (default dp)", 0},
      CLI_GAMMA_OPTIONS(g, "Gamma_n by adaptive quadrature (d <= 2)",
                        "Gamma_n by Monte Carlo with M >= 2 exact samples of q_n per step"),
      {"out", OPT_STR, &outp, "output file (written whole or not at all); default stdout", 0},
      {"meta", OPT_FLAG, &meta, "begin the output with '#' metadata lines (version, command)", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc = cli_parse(
      argc, argv, opts,
      "usage: dpmlab trajectory --data SPEC --schedule linear|cosine --N N --K K (--quad | --mc M)\n"
      "                         [--kind dp|even|quadratic] [--seed S]\n"
      "A K-step trajectory 1 = tau_1 < ... < tau_K = N of the DDPM model (eta = 1), one row per point:\n"
      "  k,tau,cost\n"
      "cost = sum_{j=2}^{k} J(tau_{j-1}, tau_j), J(s,t) = log(sigma*^2_{s|t}/lambda^2_{s|t}) (0 on row 1), so "
      "the\n"
      "last row is the path's total; KL(q || p*) = (d/2) * total + const. --kind dp minimises the total by\n"
      "dynamic programming (Analytic-DPM), O(K N^2).");
  if (rc) return rc < 0 ? CLI_OK : rc;
  if ((rc = cli_require(cmd, opts, "data")) || (rc = cli_require(cmd, opts, "schedule")) ||
      (rc = cli_require(cmd, opts, "N")) || (rc = cli_require(cmd, opts, "K")))
    return rc;
  if (N < 1) return cli_errorf(cmd, CLI_EUSAGE, "--N must be >= 1 (got %zu)", N);
  if (K < 2 || K > N) return cli_errorf(cmd, CLI_EUSAGE, "--K must be in [2, N] (got K = %zu, N = %zu)", K, N);
  if (strcmp(kind, "dp") != 0 && strcmp(kind, "even") != 0 && strcmp(kind, "quadratic") != 0)
    return cli_errorf(cmd, CLI_EUSAGE, "unknown --kind '%s' (dp, even, quadratic)", kind);
  if ((rc = cli_gamma_check(cmd, opts, &g, 0))) return rc;
  dpm_schedule *sch = dpm_schedule_alloc_by_name(sched, N);
  if (!sch) return cli_fail(cmd, CLI_EUSAGE, "bad --schedule");
  dpm_mixture *mix = cli_load_data(cmd, data);
  if (!mix) {
    dpm_schedule_free(sch);
    return CLI_EDATA;
  }
  dpm_out *out = NULL;
  double *gamma = calloc(N + 1 + K, sizeof *gamma), *cum = gamma ? gamma + N + 1 : NULL;
  size_t *tau = calloc(K, sizeof *tau);
  if (!gamma || !tau) {
    rc = cli_errorf(cmd, CLI_EDATA, "out of memory (N = %zu, K = %zu)", N, K);
    goto done;
  }
  if ((rc = cli_gamma_route(cmd, mix, sch, &g, gamma, NULL))) goto done;
  rc = CLI_EDATA;
  if (dpm_analytic_trajectory(sch, gamma, kind, K, tau, cum)) {
    cli_fail(cmd, CLI_EDATA, "trajectory failed");
    goto done;
  }
  if (!(out = cli_out_open(cmd, outp, argc, argv, !meta))) goto done;
  FILE *fp = dpm_out_file(out);
  fputs("k,tau,cost\n", fp);
  for (size_t k = 0; k < K; k++) {
    double row[3] = {(double)(k + 1), (double)tau[k], cum[k]};
    dpm_csv_write_row(fp, row, 3);
  }
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
