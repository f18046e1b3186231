/* cmd_tv_bound.c — `dpmlab tv-bound`: the total-variation error of the Euler–Maruyama reverse SDE in 1-D against
 * the horizon T, the number of steps and a relative score error, with the three terms of the convergence bound of
 * De Bortoli, Thornton, Heng & Doucet (2021, Thm 1) measured or bounded separately (docs/MATH.md §4.4). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "dpm_scorematch.h"

/* A comma list of at most cap finite numbers into v (each >= lo; integers when integer != 0). Returns the count,
 * or 0 after printing a usage error naming the option. */
static size_t parse_list(const char *cmd, const char *opt, const char *text, double lo, int integer, size_t cap,
                         double *v)
{
  size_t n = 0;
  const char *p = text;
  while (*p) {
    char *end;
    const double x = strtod(p, &end);
    if (end == p || (*end && *end != ',') || !isfinite(x) || x < lo || (integer && x != floor(x)) || n == cap) {
      cli_errorf(cmd, CLI_EUSAGE, "--%s: '%s' is not a list of at most %zu %s >= %g", opt, text, cap,
                 integer ? "integers" : "numbers", lo);
      return 0;
    }
    v[n++] = x;
    p = *end ? end + 1 : end;
  }
  if (n == 0) cli_errorf(cmd, CLI_EUSAGE, "--%s: empty list", opt);
  return n;
}

enum { MAXL = 64 };

int cmd_tv_bound(int argc, char **argv)
{
  const char *cmd = "tv-bound", *data = NULL, *tl = NULL, *sl = NULL, *el = "0", *outp = NULL;
  double h = 0.0, L = 0.0;
  int meta = 0;
  cli_opt opts[] = {
      {"data", OPT_STR, &data, "a 1-D data set with a density, e.g. gmm1d (required)", 0},
      {"T-list", OPT_STR, &tl, "comma list of horizons T > 0 of the OU process (required)", 0},
      {"steps-list", OPT_STR, &sl, "comma list of Euler–Maruyama step counts N >= 1, gamma = T/N (required)", 0},
      {"score-error-list", OPT_STR, &el, "comma list of relative score errors eta >= 0 (default 0)", 0},
      {"grid-h", OPT_DOUBLE, &h, "grid step (default min(0.02, sqrt(2 gamma)/3))", 0},
      {"L", OPT_DOUBLE, &L, "grid half-width (default max(8, largest |mean| + 6 sd))", 0},
      {"out", OPT_STR, &outp, "output file (written whole or not at all); default stdout", 0},
      {"meta", OPT_FLAG, &meta, "begin the output with '#' metadata lines", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc = cli_parse(
      argc, argv, opts,
      "usage: dpmlab tv-bound --data SPEC --T-list T1,T2,.. --steps-list N1,N2,.. --score-error-list E1,E2,..\n"
      "one row per (T, N, eta): T,steps,gamma,score_error,tv,tv_prior,prior_bound,tv_disc,tv_score,score_bound,"
      "mass_lost\n"
      "The reverse SDE of dX = -X dt + sqrt(2) dB from N(0, 1) at T to 0 by N Euler-Maruyama steps with the "
      "score\n"
      "(1 + eta) grad log q_t, its law propagated on a grid (no Monte Carlo): tv = TV(output, q_0). The three "
      "terms:\n"
      "tv_prior = TV(N(0, 1), q_T) <= prior_bound = e^-T sqrt(KL(q_0 || N(0,1))/2); tv_disc = TV of the chain\n"
      "without score error started at the exact q_T; tv_score = TV(output with eta, output without) <= "
      "score_bound\n"
      "(Girsanov); tv <= tv_prior + tv_disc + tv_score (docs/MATH.md §4.4).");
  if (rc) return rc < 0 ? CLI_OK : rc;
  if ((rc = cli_require(cmd, opts, "data")) || (rc = cli_require(cmd, opts, "T-list")) ||
      (rc = cli_require(cmd, opts, "steps-list")))
    return rc;
  double Tv[MAXL], Nv[MAXL], Ev[MAXL];
  const size_t nT = parse_list(cmd, "T-list", tl, 1e-300, 0, MAXL, Tv);
  if (!nT) return CLI_EUSAGE;
  const size_t nN = parse_list(cmd, "steps-list", sl, 1, 1, MAXL, Nv);
  if (!nN) return CLI_EUSAGE;
  const size_t nE = parse_list(cmd, "score-error-list", el, 0, 0, MAXL, Ev);
  if (!nE) return CLI_EUSAGE;
  if (!(h >= 0.0 && isfinite(h)) || !(L >= 0.0 && isfinite(L)))
    return cli_errorf(cmd, CLI_EUSAGE, "--grid-h and --L must be finite and > 0");
  dpm_mixture *mix = cli_load_data(cmd, data);
  if (!mix) return CLI_EDATA;
  const size_t n = nT * nN * nE;
  double *T = malloc(n * sizeof *T), *eta = malloc(n * sizeof *eta);
  size_t *N = malloc(n * sizeof *N);
  dpm_sm_tv_result *res = malloc(n * sizeof *res);
  dpm_out *out = NULL;
  rc = CLI_EDATA;
  if (!T || !eta || !N || !res) {
    cli_errorf(cmd, rc, "out of memory");
    goto done;
  }
  for (size_t a = 0, i = 0; a < nT; a++)
    for (size_t b = 0; b < nN; b++)
      for (size_t c = 0; c < nE; c++, i++) {
        T[i] = Tv[a];
        N[i] = (size_t)Nv[b];
        eta[i] = Ev[c];
      }
  const double t0 = cli_now();
  if (dpm_sm_tv_reverse_batch(mix, n, T, N, eta, h, L, res)) {
    cli_fail(cmd, rc, "the TV study failed");
    goto done;
  }
  if (cli_now() - t0 > 2.0) fprintf(stderr, "dpmlab tv-bound: %zu runs in %.1f s\n", n, cli_now() - t0);
  if (!(out = cli_out_open(cmd, outp, argc, argv, !meta))) goto done;
  FILE *fp = dpm_out_file(out);
  if (meta) fprintf(fp, "# data: %s\n# grid-h: %.17g\n# L: %.17g\n", data, h, L);
  fputs("T,steps,gamma,score_error,tv,tv_prior,prior_bound,tv_disc,tv_score,score_bound,mass_lost\n", fp);
  for (size_t i = 0; i < n; i++)
    fprintf(fp, "%.17g,%zu,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", T[i], N[i],
            T[i] / (double)N[i], eta[i], res[i].tv, res[i].tv_prior, res[i].prior_bound, res[i].tv_disc,
            res[i].tv_score, res[i].score_bound, res[i].mass_lost);
  rc = dpm_out_close(out, 1) ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
  out = NULL;
done:
  if (out) dpm_out_close(out, 0);
  free(T);
  free(eta);
  free(N);
  free(res);
  dpm_mixture_free(mix);
  return rc;
}
