/* cmd_score_matching.c — `dpmlab score-matching`: the Fisher divergence, implicit (Hyvarinen 2005), denoising
 * (Vincent 2011) and sliced (Song et al. 2019) score-matching objectives of a score model at one time t, by Monte
 * Carlo on common draws, with the constant gaps DSM - SM = d/s^2 and Fisher - SM = E|grad log q_t|^2
 * (docs/MATH.md §4.4). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "dpm_scorematch.h"

/* The model of a spec: exact | perturbed:delta=D[,tilt=T] | linear:basis=B,size=S[,ell=W,seed=N] | file:PATH.
 * *lin receives the linear model (owned by the caller) for linear specs. Returns an exit code (message printed).
 */
static int model_from_spec(const char *cmd, const char *spec, const dpm_mixture *mix, dpm_sm_model **md,
                           dpm_sm_linear **lin)
{
  *md = NULL;
  *lin = NULL;
  if (strcmp(spec, "exact") == 0) {
    *md = dpm_sm_model_mixture_alloc(mix);
  } else if (strncmp(spec, "perturbed:", 10) == 0 || strcmp(spec, "perturbed") == 0 ||
             strncmp(spec, "mixture:", 8) == 0 || strcmp(spec, "mixture") == 0) {
    double delta = NAN, tilt = 0.0;
    char buf[128];
    if (strlen(spec) >= sizeof buf) return cli_errorf(cmd, CLI_EUSAGE, "--model: spec too long");
    strcpy(buf, spec);
    char *save = NULL, *opts = strchr(buf, ':');
    for (char *tok = opts ? strtok_r(opts + 1, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) {
      char *eq = strchr(tok, '='), *end;
      double v = eq ? strtod(eq + 1, &end) : (double)NAN;
      if (!eq || end == eq + 1 || *end || !isfinite(v))
        return cli_errorf(cmd, CLI_EUSAGE, "--model %s: bad option '%s' (delta=D, tilt=T)", buf, tok);
      *eq = '\0';
      if (strcmp(tok, "delta") == 0)
        delta = v;
      else if (strcmp(tok, "tilt") == 0)
        tilt = v;
      else
        return cli_errorf(cmd, CLI_EUSAGE, "--model %s: unknown option '%s' (delta, tilt)", buf, tok);
    }
    if (opts) *opts = '\0';
    if (isnan(delta)) return cli_errorf(cmd, CLI_EUSAGE, "--model %s needs delta=D", buf);
    *md = dpm_sm_model_perturbed_alloc(mix, delta, tilt);
  } else if (strncmp(spec, "linear:", 7) == 0) {
    if (!(*lin = dpm_sm_linear_from_spec(spec + 7, mix, 1, NULL))) return cli_fail(cmd, CLI_EUSAGE, "bad --model");
    *md = dpm_sm_linear_model_alloc(*lin);
  } else if (strncmp(spec, "file:", 5) == 0) {
    if (!(*lin = dpm_sm_linear_read(spec + 5))) return cli_fail(cmd, CLI_EDATA, "cannot read the model file");
    if (dpm_sm_linear_dim(*lin) != mix->d)
      return cli_errorf(cmd, CLI_EDATA, "model file %s: dimension %zu != data dimension %zu", spec + 5,
                        dpm_sm_linear_dim(*lin), mix->d);
    *md = dpm_sm_linear_model_alloc(*lin);
  } else
    return cli_errorf(cmd, CLI_EUSAGE,
                      "unknown --model '%s' (exact, perturbed:delta=D, mixture:delta=D, linear:basis=B,size=S, "
                      "file:PATH)",
                      spec);
  return *md ? CLI_OK : cli_fail(cmd, CLI_EDATA, "cannot build the model");
}

int cmd_score_matching(int argc, char **argv)
{
  const char *cmd = "score-matching", *data = NULL, *pspec = "vp", *mspec = "exact", *outp = NULL;
  double t = NAN, ridge = 1e-8;
  size_t M = 10000, fit_mc = 0;
  uint64_t seed = 0;
  int fit = 0, meta = 0;
  cli_opt opts[] = {
      {"data", OPT_STR, &data, "data spec (required)", 0},
      {"process", OPT_STR, &pspec, "forward process: vp (default), subvp, ve, ve-sde, edm, ddpm[:...]", 0},
      {"t", OPT_DOUBLE, &t, "time t (0 < t <= t_max; for ddpm the step, for edm sigma) (required)", 0},
      {"model", OPT_STR, &mspec,
       "exact (default) | perturbed:delta=D[,tilt=T] | mixture:delta=D[,tilt=T] (learnable means from that start) "
       "| linear:basis=poly|rff|bump,size=S[,ell=W,seed=N] | file:MODEL.json (from dpmlab train)",
       0},
      {"fit", OPT_FLAG, &fit,
       "fit the model at t by DSM first, on draws from seed + 1: linear models by exact least squares, mixture "
       "means by the Nelder-Mead simplex",
       0},
      {"fit-mc", OPT_SIZE, &fit_mc, "draws for --fit (default: --mc)", 0},
      {"ridge", OPT_DOUBLE, &ridge, "ridge of the --fit normal equations (default 1e-8)", 0},
      {"mc", OPT_SIZE, &M, "Monte Carlo draws (default 10000)", 0},
      {"seed", OPT_U64, &seed, "seed: block b of 1024 draws uses the stream (seed, b) (default 0)", 0},
      {"out", OPT_STR, &outp, "output file (written whole or not at all); default stdout", 0},
      {"meta", OPT_FLAG, &meta, "begin the output with '#' metadata lines", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc = cli_parse(
      argc, argv, opts,
      "usage: dpmlab score-matching --data SPEC --process P --t T --model M [--fit] --mc M [--seed S]\n"
      "one row: fisher,fisher_se,sm,sm_se,dsm,dsm_se,ssm,ssm_se,dsm_minus_sm,fisher_minus_sm\n"
      "Totals over the d coordinates, in score units (1/length^2), at x_t = m x_0 + s eps:\n"
      "  fisher = E|s_theta - grad log q_t|^2, sm = E[|s_theta|^2 + 2 div s_theta] (Hyvarinen, times 2),\n"
      "  dsm = E|s_theta + eps/s|^2 (Vincent, times 2), ssm = E[(v.s_theta)^2 + 2 v.(grad s_theta) v], v ~ N(0, "
      "I)\n"
      "  (Song et al. 2019, times 2); all on the same draws, so dsm_minus_sm -> d/s^2 and fisher_minus_sm ->\n"
      "  E|grad log q_t|^2 for every model (docs/MATH.md §4.4). Without --fit a linear model has theta = 0 and a\n"
      "  mixture model is its starting point, the perturbed one.");
  if (rc) return rc < 0 ? CLI_OK : rc;
  if ((rc = cli_require(cmd, opts, "data")) || (rc = cli_require(cmd, opts, "t"))) return rc;
  if (M < 2) return cli_errorf(cmd, CLI_EUSAGE, "--mc must be >= 2");
  if (!(ridge >= 0.0)) return cli_errorf(cmd, CLI_EUSAGE, "--ridge must be >= 0 (got %g)", ridge);
  const int is_mix = strncmp(mspec, "mixture", 7) == 0;
  if (fit && strncmp(mspec, "linear:", 7) != 0 && !is_mix)
    return cli_errorf(cmd, CLI_EUSAGE, "--fit applies to linear and mixture models only (got --model %s)", mspec);
  if (cli_seen(opts, "fit-mc") && !fit) return cli_errorf(cmd, CLI_EUSAGE, "--fit-mc needs --fit");
  dpm_process proc;
  if (dpm_process_parse(&proc, pspec)) return cli_fail(cmd, CLI_EUSAGE, "bad --process");
  dpm_mixture *mix = NULL;
  dpm_sm_model *md = NULL;
  dpm_sm_linear *lin = NULL;
  dpm_out *out = NULL;
  double m, s;
  rc = CLI_EUSAGE;
  if (!(t > 0.0 && t <= proc.t_max)) {
    cli_errorf(cmd, rc, "--t must be in (0, %g] for %s (got %g)", proc.t_max, pspec, t);
    goto done;
  }
  if (dpm_process_ms(&proc, t, &m, &s) || !(s > 0.0)) {
    cli_fail(cmd, rc, "bad --t");
    goto done;
  }
  rc = CLI_EDATA;
  if (!(mix = cli_load_data(cmd, data))) goto done;
  if ((rc = model_from_spec(cmd, mspec, mix, &md, &lin))) goto done;
  rc = CLI_EDATA;
  if (fit && lin &&
      dpm_sm_linear_fit_level(lin, mix, m, s, DPM_SM_TARGET_DSM, fit_mc ? fit_mc : M, seed + 1, ridge, NULL)) {
    cli_fail(cmd, rc, "fitting the linear model failed");
    goto done;
  }
  if (fit && is_mix) {
    dpm_mixture *fitted = NULL;
    const int fst = dpm_sm_mixture_fit_means(dpm_sm_model_mixture(md), mix, m, s, DPM_SM_TARGET_DSM,
                                             fit_mc ? fit_mc : M, seed + 1, 0.5, 1e-4, 20000, &fitted, NULL);
    dpm_sm_model_free(md);
    md = fst ? NULL : dpm_sm_model_mixture_alloc(fitted);
    dpm_mixture_free(fitted);
    if (!md) {
      cli_fail(cmd, rc, "fitting the mixture's means failed");
      goto done;
    }
  }
  dpm_sm_objectives o;
  if (dpm_sm_objectives_eval(mix, md, m, s, M, seed, &o)) {
    cli_fail(cmd, rc, "the objectives failed");
    goto done;
  }
  if (!(out = cli_out_open(cmd, outp, argc, argv, !meta))) goto done;
  FILE *fp = dpm_out_file(out);
  if (meta)
    fprintf(fp, "# process: %s\n# t: %.17g\n# m: %.17g\n# s: %.17g\n# model: %s\n# mc: %zu\n# seed: %llu\n", pspec,
            t, m, s, mspec, M, (unsigned long long)seed);
  fputs("fisher,fisher_se,sm,sm_se,dsm,dsm_se,ssm,ssm_se,dsm_minus_sm,fisher_minus_sm\n", fp);
  fprintf(fp, "%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", o.fisher, o.fisher_se, o.sm,
          o.sm_se, o.dsm, o.dsm_se, o.ssm, o.ssm_se, o.dsm_minus_sm, o.fisher_minus_sm);
  rc = dpm_out_close(out, 1) ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
  out = NULL;
done:
  if (out) dpm_out_close(out, 0);
  dpm_sm_model_free(md);
  dpm_sm_linear_free(lin);
  dpm_mixture_free(mix);
  dpm_process_clear(&proc);
  return rc;
}
