/* cmd_oracle.c — `dpmlab oracle`: the exact q_t quantities (docs/MATH.md §2) at the points of a CSV file. */
#include <stdlib.h>

#include "cli.h"
#include "commands.h"

int cmd_oracle(int argc, char **argv)
{
  const char *cmd = "oracle", *data = NULL, *at = NULL, *outp = NULL, *proc = NULL;
  double m = 1.0, s = 0.0, t = 0.0;
  int meta = 0;
  cli_opt opts[] = {
      {"data", OPT_STR, &data, "data spec: built-in name[:opts], FILE.json or FILE.csv (required)", 0},
      {"m", OPT_DOUBLE, &m, "signal scale m > 0 of x_t = m x_0 + s eps (default 1)", 0},
      {"s", OPT_DOUBLE, &s, "noise scale s > 0 (required unless --process and --t)", 0},
      {"process", OPT_STR, &proc, "take (m, s) from a process at --t: vp, subvp, ve, ve-sde, edm[:opts]", 0},
      {"t", OPT_DOUBLE, &t, "time for --process", 0},
      {"at", OPT_STR, &at, "CSV file of query points, one per row, d columns; - for stdin (required)", 0},
      {"out", OPT_STR, &outp, "output file (written whole or not at all); default stdout", 0},
      {"meta", OPT_FLAG, &meta, "begin the output with '#' metadata lines (version, command)", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc =
      cli_parse(argc, argv, opts,
                "usage: dpmlab oracle --data SPEC (--m M --s S | --process P --t T) --at POINTS.csv [--out F]\n"
                "columns: logq,score_1..d,x0_1..d,eps_1..d,trcov,lap  (x0 = E[x0|x], eps = E[eps|x],\n"
                "trcov = tr Cov[x0|x], lap = Laplacian of log q_t), one row per input point, in order");
  if (rc) return rc < 0 ? CLI_OK : rc;
  if ((rc = cli_require(cmd, opts, "data")) || (rc = cli_require(cmd, opts, "at"))) return rc;
  if (cli_seen(opts, "process")) {
    if ((rc = cli_require(cmd, opts, "t"))) return rc;
    if (cli_seen(opts, "m") || cli_seen(opts, "s"))
      return cli_errorf(cmd, CLI_EUSAGE, "give either --m/--s or --process/--t, not both");
    dpm_process p;
    if (dpm_process_parse(&p, proc)) return cli_fail(cmd, CLI_EUSAGE, "bad --process");
    if (!(t > 0)) return cli_errorf(cmd, CLI_EDATA, "--t must be > 0 (got %g)", t);
    if (dpm_process_ms(&p, t, &m, &s)) return cli_fail(cmd, CLI_EDATA, "--t outside the process's domain");
  } else if ((rc = cli_require(cmd, opts, "s"))) {
    return rc;
  }
  if (!(s > 0)) return cli_errorf(cmd, CLI_EDATA, "s must be > 0 (got %g)", s);
  if (!(m > 0)) return cli_errorf(cmd, CLI_EDATA, "m must be > 0 (got %g)", m);

  dpm_mixture *mix = cli_load_data(cmd, data);
  if (!mix) return CLI_EDATA;
  double *x = NULL, *buf = NULL;
  size_t n = 0, d = mix->d, cols = 0;
  dpm_oracle *o = NULL;
  dpm_out *out = NULL;
  rc = CLI_EDATA;
  if (dpm_csv_read(at, &x, &n, &cols, NULL)) {
    cli_fail(cmd, CLI_EDATA, "cannot read --at");
    goto done;
  }
  if (cols != d) {
    cli_errorf(cmd, CLI_EDATA, "%s: points have %zu columns but the data is %zu-dimensional", at, cols, d);
    goto done;
  }
  o = dpm_oracle_alloc(mix);
  buf = malloc(n * (3 * d + 3) * sizeof(double));
  if (!o || !buf) {
    cli_fail(cmd, CLI_EDATA, "out of memory");
    goto done;
  }
  dpm_oracle_result res = {0};
  res.logq = buf;
  res.score = buf + n;
  res.x0 = res.score + n * d;
  res.eps = res.x0 + n * d;
  res.trcov = res.eps + n * d;
  res.lap = res.trcov + n;
  if (dpm_oracle_eval(o, m, s, n, x, &res)) {
    cli_fail(cmd, CLI_EDATA, "oracle failed");
    goto done;
  }
  if (!(out = cli_out_open(cmd, outp, argc, argv, !meta))) goto done;
  FILE *fp = dpm_out_file(out);
  fputs("logq,", fp);
  cli_header_vec(fp, "score", d);
  fputc(',', fp);
  cli_header_vec(fp, "x0", d);
  fputc(',', fp);
  cli_header_vec(fp, "eps", d);
  fputs(",trcov,lap\n", fp);
  double *row = malloc((3 * d + 3) * sizeof(double));
  if (!row) {
    dpm_out_close(out, 0);
    out = NULL;
    cli_errorf(cmd, CLI_EDATA, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    size_t j = 0;
    row[j++] = res.logq[i];
    for (size_t k = 0; k < d; k++)
      row[j++] = res.score[i * d + k];
    for (size_t k = 0; k < d; k++)
      row[j++] = res.x0[i * d + k];
    for (size_t k = 0; k < d; k++)
      row[j++] = res.eps[i * d + k];
    row[j++] = res.trcov[i];
    row[j++] = res.lap[i];
    dpm_csv_write_row(fp, row, j);
  }
  free(row);
  rc = dpm_out_close(out, 1) ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
  out = NULL;
done:
  if (out) dpm_out_close(out, 0);
  dpm_oracle_free(o);
  free(buf);
  free(x);
  dpm_mixture_free(mix);
  return rc;
}
