/* cmd_distance.c — `dpmlab distance`: Permenter & Yuan's smoothed squared distance to a point set, its gradient,
 * the ideal denoiser eps* and the projection, at the points of a CSV file (docs/MATH.md §2, finite sets). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

int cmd_distance(int argc, char **argv)
{
  const char *cmd = "distance", *data = NULL, *at = NULL, *outp = NULL;
  double sigma = 0.0;
  int meta = 0;
  cli_opt opts[] = {
      {"data", OPT_STR, &data,
       "a point set: a .csv file or a built-in point set (swissroll, sample:...) (required)", 0},
      {"sigma", OPT_DOUBLE, &sigma, "noise level sigma > 0 (required)", 0},
      {"at", OPT_STR, &at, "CSV file of query points, d columns; - for stdin (required)", 0},
      {"out", OPT_STR, &outp, "output file (written whole or not at all); default stdout", 0},
      {"meta", OPT_FLAG, &meta, "begin the output with '#' metadata lines", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc = cli_parse(argc, argv, opts,
                     "usage: dpmlab distance --data POINTSET --sigma S --at POINTS.csv [--out F]\n"
                     "columns: dist2,grad_1..d,eps_1..d,proj_1..d  with dist2 = -2 sigma^2 log sum_y "
                     "exp(-|x-y|^2/(2 sigma^2)),\ngrad = grad dist2 = 2 sigma eps*, eps = ideal denoiser eps*(x, "
                     "sigma), proj = nearest point of the set");
  if (rc) return rc < 0 ? CLI_OK : rc;
  if ((rc = cli_require(cmd, opts, "data")) || (rc = cli_require(cmd, opts, "sigma")) ||
      (rc = cli_require(cmd, opts, "at")))
    return rc;
  if (!(sigma > 0)) return cli_errorf(cmd, CLI_EDATA, "sigma must be > 0 (got %g)", sigma);
  dpm_mixture *mix = cli_load_data(cmd, data);
  if (!mix) return CLI_EDATA;
  rc = CLI_EDATA;
  double *x = NULL, *buf = NULL;
  size_t n = 0, cols = 0, d = mix->d;
  dpm_out *out = NULL;
  if (!dpm_mixture_is_pointset(mix)) {
    cli_errorf(cmd, CLI_EDATA,
               "'%s' is not a point set (it has non-zero covariances); use a .csv file, a point "
               "set such as swissroll, or sample:of=...,n=N",
               data);
    goto done;
  }
  if (dpm_csv_read(at, &x, &n, &cols, NULL)) {
    cli_fail(cmd, CLI_EDATA, "cannot read --at");
    goto done;
  }
  if (cols != d) {
    cli_errorf(cmd, CLI_EDATA, "%s: points have %zu columns but the point set is %zu-dimensional", at, cols, d);
    goto done;
  }
  buf = malloc((n + 1) * (3 * d + 1) * sizeof(double)); /* the outputs, then one output row */
  if (!buf) {
    cli_errorf(cmd, CLI_EDATA, "out of memory");
    goto done;
  }
  double *dist2 = buf, *grad = buf + n, *eps = grad + n * d, *proj = eps + n * d;
  if (dpm_distance_eval(mix->K, d, mix->mu, sigma, n, x, dist2, grad, eps, proj, NULL)) {
    cli_fail(cmd, CLI_EDATA, "distance failed");
    goto done;
  }
  if (!(out = cli_out_open(cmd, outp, argc, argv, !meta))) goto done;
  FILE *fp = dpm_out_file(out);
  fputs("dist2,", fp);
  cli_header_vec(fp, "grad", d);
  fputc(',', fp);
  cli_header_vec(fp, "eps", d);
  fputc(',', fp);
  cli_header_vec(fp, "proj", d);
  fputc('\n', fp);
  double *row = proj + n * d; /* shortest round-trip text, or straight to a .npy target */
  for (size_t i = 0; i < n; i++) {
    row[0] = dist2[i];
    memcpy(row + 1, grad + i * d, d * sizeof(double));
    memcpy(row + 1 + d, eps + i * d, d * sizeof(double));
    memcpy(row + 1 + 2 * d, proj + i * d, d * sizeof(double));
    dpm_csv_write_row(fp, row, 3 * d + 1);
  }
  rc = dpm_out_close(out, 1) ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
  out = NULL;
done:
  if (out) dpm_out_close(out, 0);
  free(buf);
  free(x);
  dpm_mixture_free(mix);
  return rc;
}
