/* cmd_data.c — `dpmlab data`: a data set as a JSON mixture file, or N exact samples of q_0 (or of q_t) as CSV. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "cli.h"
#include "commands.h"

int cmd_data(int argc, char **argv)
{
  const char *cmd = "data", *data = NULL, *outp = NULL;
  size_t n = 0;
  uint64_t seed = 0;
  double m = 1.0, s = 0.0;
  int meta = 0, labels = 0;
  cli_opt opts[] = {
      {"data", OPT_STR, &data, "data spec: built-in name[:opts], FILE.json or FILE.csv (required)", 0},
      {"n", OPT_SIZE, &n, "draw N exact samples (CSV x_1..x_d) instead of printing the mixture as JSON", 0},
      {"seed", OPT_U64, &seed, "random seed for --n (default 0); same seed, same samples", 0},
      {"m", OPT_DOUBLE, &m, "with --n and --s: sample q_t, the law of m x_0 + s eps (default m = 1)", 0},
      {"s", OPT_DOUBLE, &s, "with --n: noise scale s > 0 of q_t (default: sample q_0)", 0},
      {"labels", OPT_FLAG, &labels, "with --n: add a column 'component' (and 'label' when labelled)", 0},
      {"out", OPT_STR, &outp, "output file (written whole or not at all); default stdout", 0},
      {"meta", OPT_FLAG, &meta, "begin CSV output with '#' metadata lines (version, command, seed)", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc = cli_parse(argc, argv, opts,
                     "usage: dpmlab data --data SPEC [--n N [--seed S] [--s S [--m M]] [--labels]] [--out F]\n"
                     "without --n: the mixture as JSON {weights, means, covariances, labels}; with --n: N rows "
                     "x_1..x_d");
  if (rc) return rc < 0 ? CLI_OK : rc;
  if ((rc = cli_require(cmd, opts, "data"))) return rc;
  if (cli_seen(opts, "n") && n == 0) return cli_errorf(cmd, CLI_EUSAGE, "--n must be at least 1");
  if (n > 100000000) return cli_errorf(cmd, CLI_EUSAGE, "--n %zu is too large (at most 1e8)", n);
  if (cli_seen(opts, "s") && !(s > 0)) return cli_errorf(cmd, CLI_EDATA, "s must be > 0 (got %g)", s);
  if (cli_seen(opts, "m") && !(m > 0)) return cli_errorf(cmd, CLI_EDATA, "m must be > 0 (got %g)", m);
  if (!cli_seen(opts, "n") && (cli_seen(opts, "s") || cli_seen(opts, "m") || cli_seen(opts, "seed") || labels))
    return cli_errorf(cmd, CLI_EUSAGE, "--seed, --s, --m and --labels need --n");
  if (cli_seen(opts, "m") && !cli_seen(opts, "s"))
    return cli_errorf(cmd, CLI_EUSAGE,
                      "--m needs --s (q_t is the law of m x_0 + s eps; without --s the draws are q_0)");
  dpm_mixture *mix = cli_load_data(cmd, data);
  if (!mix) return CLI_EDATA;
  rc = CLI_EDATA;
  dpm_out *out = NULL;
  double *x = NULL;
  size_t *comp = NULL;
  gsl_rng *r = NULL;
  dpm_mixture_sample_workspace *smp = NULL;
  if (!cli_seen(opts, "n")) {
    if (!(out = cli_out_open(cmd, outp, argc, argv, 1))) goto done;
    if (dpm_data_write_json(mix, dpm_out_file(out))) {
      cli_fail(cmd, CLI_EDATA, "write failed");
      goto done;
    }
    rc = dpm_out_close(out, 1) ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
    out = NULL;
    goto done;
  }
  size_t d = mix->d;
  x = malloc(n * d * sizeof(double));
  comp = malloc(n * sizeof(size_t));
  r = dpm_rng_stream_alloc(seed, 0);
  smp = dpm_mixture_sample_alloc(mix);
  if (!x || !comp || !r || !smp) {
    cli_errorf(cmd, CLI_EDATA, "out of memory for %zu samples", n);
    goto done;
  }
  /* draw x_0 with its component first, so --labels reports the component of each x_t */
  if (dpm_mixture_sample(mix, smp, r, n, x, comp)) {
    cli_fail(cmd, CLI_EDATA, "sampling failed");
    goto done;
  }
  if (cli_seen(opts, "s"))
    for (size_t i = 0; i < n * d; i++)
      x[i] = m * x[i] + s * gsl_ran_gaussian_ziggurat(r, 1.0);
  if (!(out = cli_out_open(cmd, outp, argc, argv, !meta))) goto done;
  FILE *fp = dpm_out_file(out);
  if (meta) fprintf(fp, "# seed: %llu\n", (unsigned long long)seed);
  cli_header_vec(fp, "x", d);
  if (labels) fputs(mix->labels ? ",component,label" : ",component", fp);
  fputc('\n', fp);
  /* each row in the shortest round-trip form; the component and its label (small integers) print as integers */
  const size_t width = d + (labels ? 1 + (mix->labels != NULL) : 0);
  double *row = malloc(width * sizeof *row);
  if (!row) {
    cli_fail(cmd, CLI_EDATA, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    memcpy(row, x + i * d, d * sizeof *row);
    if (labels) {
      row[d] = (double)comp[i];
      if (mix->labels) row[d + 1] = mix->labels[comp[i]];
    }
    dpm_csv_write_row(fp, row, width);
  }
  free(row);
  rc = dpm_out_close(out, 1) ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
  out = NULL;
done:
  if (out) dpm_out_close(out, 0);
  gsl_rng_free(r);
  dpm_mixture_sample_free(smp);
  free(x);
  free(comp);
  dpm_mixture_free(mix);
  return rc;
}
