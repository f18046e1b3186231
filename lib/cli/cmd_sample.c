/* cmd_sample.c — `dpmlab sample` and `dpmlab samplers`: draw samples through the sampler table (docs/samplers.md)
 * along a DDPM trajectory, a continuous process's time grid or an explicit grid file, with the exact or an
 * imperfect denoiser, optionally with exact guidance (classifier, CFG, autoguidance: dpm_guidance.h, docs/MATH.md
 * §4), and list the table. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_sample.h"
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
  if (strncmp(spec, "model:", 6) == 0) /* a score model file of `dpmlab train` (dpm_scorematch.h) */
    return (*inner = dpm_sm_denoiser_load(spec + 6, mix->d)) ? CLI_OK : cli_fail(cmd, CLI_EDATA, "bad model");
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

/* ---- the model with guidance -------------------------------------------------------------------------------- */

dpm_denoiser *cli_model_denoiser(const cli_model *mdl)
{
  return mdl->guided ? mdl->guided : mdl->outer ? mdl->outer : mdl->inner;
}

void cli_model_clear(cli_model *mdl)
{
  if (!mdl) return;
  dpm_denoiser_free(mdl->guided);
  dpm_denoiser_free(mdl->aux);
  dpm_denoiser_free(mdl->outer);
  dpm_denoiser_free(mdl->inner);
  dpm_mixture_free(mdl->m1);
  dpm_mixture_free(mdl->m2);
  dpm_energy_mixture_free(mdl->emix);
  free((double *)mdl->equad.c);
  memset(mdl, 0, sizeof *mdl);
}

/* "auto[:var=V,keep=K]" -> extra variance and kept components (defaults 0.25 and all) */
static int parse_auto(const char *cmd, const char *opts, double *var, size_t *keep)
{
  char buf[128];
  *var = 0.25;
  *keep = 0;
  if (!opts) return CLI_OK;
  if (strlen(opts) >= sizeof buf) return cli_errorf(cmd, CLI_EUSAGE, "--guide auto: options too long");
  strcpy(buf, opts);
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    char *eq = strchr(tok, '='), *end;
    if (!eq) return cli_errorf(cmd, CLI_EUSAGE, "--guide auto option '%s': expected key=value", tok);
    *eq = '\0';
    const double v = strtod(eq + 1, &end);
    if (end == eq + 1 || *end || !isfinite(v) || v < 0)
      return cli_errorf(cmd, CLI_EUSAGE, "--guide auto option %s: '%s' is not a number >= 0", tok, eq + 1);
    if (strcmp(tok, "var") == 0)
      *var = v;
    else if (strcmp(tok, "keep") == 0 && v == floor(v) && v <= 1e9)
      *keep = (size_t)v;
    else
      return cli_errorf(cmd, CLI_EUSAGE, "--guide auto: bad option '%s=%s' (var=V, keep=K)", tok, eq + 1);
  }
  return CLI_OK;
}

/* "mixture" (q->c stays NULL) or "c=X1/../Xd,tau=T" (q->c allocated: d entries, default 0; tau default 1) */
static int parse_energy(const char *cmd, const char *opts, size_t d, dpm_energy_quadratic *q)
{
  q->c = NULL;
  q->tau = 1.0;
  if (opts && strcmp(opts, "mixture") == 0) return CLI_OK;
  double *c = calloc(d, sizeof *c);
  if (!c) return cli_errorf(cmd, CLI_EDATA, "out of memory");
  q->c = c;
  char buf[256];
  if (opts && strlen(opts) >= sizeof buf) return cli_errorf(cmd, CLI_EUSAGE, "--guide energy: options too long");
  strcpy(buf, opts ? opts : "");
  for (char *tok = opts ? strtok(buf, ",") : NULL; tok; tok = strtok(NULL, ",")) {
    char *eq = strchr(tok, '='), *end;
    if (!eq) return cli_errorf(cmd, CLI_EUSAGE, "--guide energy option '%s': expected mixture or key=value", tok);
    *eq = '\0';
    if (strcmp(tok, "tau") == 0) {
      q->tau = strtod(eq + 1, &end);
      if (end == eq + 1 || *end || !(q->tau > 0.0 && isfinite(q->tau)))
        return cli_errorf(cmd, CLI_EUSAGE, "--guide energy: tau '%s' is not a number > 0", eq + 1);
    } else if (strcmp(tok, "c") == 0) {
      char *p = eq + 1;
      for (size_t k = 0; k < d; k++) {
        c[k] = strtod(p, &end);
        if (end == p || !isfinite(c[k]) || (k + 1 < d ? *end != '/' : *end != '\0'))
          return cli_errorf(cmd, CLI_EUSAGE, "--guide energy: c='%s' is not %zu numbers separated by '/'", eq + 1,
                            d);
        p = end + 1;
      }
    } else
      return cli_errorf(cmd, CLI_EUSAGE, "--guide energy: unknown option '%s' (mixture, or c=, tau=)", tok);
  }
  return CLI_OK;
}

int cli_model_build(const char *cmd, const dpm_mixture *mix, const char *dspec, const char *guide, int has_class,
                    int y, int w_seen, double w, cli_model *mdl)
{
  memset(mdl, 0, sizeof *mdl);
  int rc = denoiser_from_spec(cmd, dspec, mix, &mdl->inner, &mdl->outer);
  if (rc) {
    cli_model_clear(mdl);
    return rc;
  }
  snprintf(mdl->what, sizeof mdl->what, "%.100s", dspec);
  if (!guide && !has_class) {
    if (w_seen) rc = cli_errorf(cmd, CLI_EUSAGE, "--guidance needs --class Y or --guide auto");
    if (rc) cli_model_clear(mdl);
    return rc;
  }
  char kind[32] = "classifier";
  const char *opts = NULL;
  if (guide) {
    const char *colon = strchr(guide, ':');
    size_t len = colon ? (size_t)(colon - guide) : strlen(guide);
    if (len >= sizeof kind) len = sizeof kind - 1;
    memcpy(kind, guide, len);
    kind[len] = '\0';
    opts = colon ? colon + 1 : NULL;
  }
  dpm_denoiser *base = mdl->outer ? mdl->outer : mdl->inner;
  rc = CLI_EDATA;
  if (strcmp(kind, "classifier") == 0 || strcmp(kind, "cfg") == 0) {
    if (opts) {
      rc = cli_errorf(cmd, CLI_EUSAGE, "--guide %s takes no options", kind);
      goto fail;
    }
    if (!has_class) {
      rc = cli_errorf(cmd, CLI_EUSAGE, "--guide %s needs --class Y", kind);
      goto fail;
    }
    if (kind[0] == 'c' && kind[1] == 'l') { /* score + w grad log p_t(y|x) */
      if (!w_seen) w = 1.0;
      if (!(mdl->guided = dpm_guidance_classifier_alloc(base, mix, y, w))) {
        cli_fail(cmd, CLI_EDATA, "--class");
        goto fail;
      }
    } else { /* (1 + w) eps(x | y) - w eps(x), the conditional exact */
      if (!w_seen) w = 0.0;
      if (!(mdl->m1 = dpm_guidance_class_mixture(mix, y)) || !(mdl->aux = dpm_denoiser_oracle_alloc(mdl->m1)) ||
          !(mdl->guided = dpm_guidance_combine_alloc(mdl->aux, base, w))) {
        cli_fail(cmd, CLI_EDATA, "--class");
        goto fail;
      }
    }
  } else if (strcmp(kind, "auto") == 0) { /* (1 + w) D - w D_weak */
    double var;
    size_t keep;
    if ((rc = parse_auto(cmd, opts, &var, &keep))) goto fail;
    rc = CLI_EDATA;
    if (!w_seen) w = 1.0;
    const dpm_mixture *src = mix;
    if (has_class) { /* the class-conditional model, guided by its own weak version */
      dpm_denoiser_free(mdl->outer);
      dpm_denoiser_free(mdl->inner);
      mdl->outer = NULL;
      if (!(mdl->m1 = dpm_guidance_class_mixture(mix, y)) || !(mdl->inner = dpm_denoiser_oracle_alloc(mdl->m1))) {
        cli_fail(cmd, CLI_EDATA, "--class");
        goto fail;
      }
      base = mdl->inner;
      src = mdl->m1;
    }
    if (!(mdl->m2 = dpm_guidance_weak_mixture(src, var, keep)) ||
        !(mdl->aux = dpm_denoiser_oracle_alloc(mdl->m2)) ||
        !(mdl->guided = dpm_guidance_combine_alloc(base, mdl->aux, w))) {
      cli_fail(cmd, CLI_EDATA, "--guide auto");
      goto fail;
    }
  } else if (strcmp(kind, "energy") == 0) { /* score - w grad_x E(E[x0|x]) */
    if (!w_seen) w = 1.0;
    if ((rc = parse_energy(cmd, opts, mix->d, &mdl->equad))) goto fail;
    rc = CLI_EDATA;
    dpm_energy_fn fn = dpm_energy_quadratic_fn;
    void *ctx = &mdl->equad;
    if (!mdl->equad.c) { /* energy:mixture */
      const dpm_mixture *src = mix;
      if (has_class && !(src = mdl->m1 = dpm_guidance_class_mixture(mix, y))) {
        cli_fail(cmd, CLI_EDATA, "--class");
        goto fail;
      }
      if (!(mdl->emix = dpm_energy_mixture_alloc(src))) {
        cli_fail(cmd, CLI_EDATA, "--guide energy:mixture");
        goto fail;
      }
      fn = dpm_energy_mixture_fn;
      ctx = mdl->emix;
    } else if (has_class) {
      rc = cli_errorf(cmd, CLI_EUSAGE, "--guide energy:c=... does not use --class");
      goto fail;
    }
    if (!(mdl->guided = dpm_guidance_energy_alloc(base, mix, fn, ctx, w))) {
      cli_fail(cmd, CLI_EDATA, "--guide energy");
      goto fail;
    }
  } else if (strcmp(kind, "tilt") == 0) { /* the exact model of p e^{-w |x - c|^2 / (2 tau^2)} / Z */
    if (!w_seen) w = 1.0;
    if ((rc = parse_energy(cmd, opts, mix->d, &mdl->equad))) goto fail;
    rc = CLI_EDATA;
    if (!mdl->equad.c || has_class || !(w >= 0.0)) {
      rc = cli_errorf(cmd, CLI_EUSAGE, "--guide tilt takes c=X1/../Xd,tau=T, no --class and a weight >= 0");
      goto fail;
    }
    if (!(mdl->m2 = dpm_guidance_tilt_quadratic(mix, mdl->equad.c, mdl->equad.tau, w)) ||
        !(mdl->guided = dpm_denoiser_oracle_alloc(mdl->m2))) {
      cli_fail(cmd, CLI_EDATA, "--guide tilt");
      goto fail;
    }
  } else {
    rc = cli_errorf(cmd, CLI_EUSAGE, "unknown --guide '%s' (classifier, cfg, auto[:var=V,keep=K], energy:...)",
                    kind);
    goto fail;
  }
  const size_t used = strlen(mdl->what);
  snprintf(mdl->what + used, sizeof mdl->what - used, " + %s%s%s class=%d w=%g", kind, opts ? ":" : "",
           opts ? opts : "", has_class ? y : -1, w);
  return CLI_OK;
fail:
  cli_model_clear(mdl);
  return rc;
}

int cli_grid_is_named(const char *grid)
{
  static const char *const names[] = {"uniform",   "edm",  "loglinear",   "lambda",
                                      "quadratic", "ddim", "ddim-offset", NULL};
  for (size_t i = 0; names[i]; i++)
    if (strcmp(grid, names[i]) == 0) return 1;
  return 0;
}

int cli_sampler_list(const char *cmd, const char *opt, char *const *names, size_t n,
                     const dpm_sampler_type **types)
{
  for (size_t i = 0; i < n; i++)
    if (!(types[i] = dpm_sampler_type_find(names[i]))) {
      char known[1024];
      dpm_sampler_type_names(known, sizeof known);
      return cli_errorf(cmd, CLI_EUSAGE, "--%s: unknown sampler '%s' (known: %s)", opt, names[i], known);
    }
  return CLI_OK;
}

int cli_count_list(const char *cmd, const char *opt, char *const *items, size_t n, size_t *v, size_t *vmax)
{
  *vmax = 1;
  for (size_t i = 0; i < n; i++) {
    char *end;
    const double x = strtod(items[i], &end);
    if (end == items[i] || *end || !(x >= 1 && x <= 100000) || x != floor(x))
      return cli_errorf(cmd, CLI_EUSAGE, "--%s: '%s' is not an integer in [1, 100000]", opt, items[i]);
    v[i] = (size_t)x;
    if (v[i] > *vmax) *vmax = v[i];
  }
  return CLI_OK;
}

int cli_timeline_set_grid(dpm_timeline *tl, const dpm_process *p, const char *grid, size_t K, double rho)
{
  const int ddim = strcmp(grid, "ddim") == 0, offset = strcmp(grid, "ddim-offset") == 0;
  if (!ddim && !offset) return dpm_timeline_set_grid(tl, p, grid, K, rho);
  dpm_schedule *sch = dpm_schedule_linear_alloc(1000, 1e-4, 0.02);
  if (!sch) return GSL_ENOMEM;
  const int st = dpm_timeline_set_ddim(tl, p, sch, K, ddim ? HUGE_VAL : 40.0);
  dpm_schedule_free(sch);
  return st;
}

int cli_process_setup(const char *cmd, const char *spec, int t_end_seen, double t_end, dpm_process *p)
{
  if (dpm_process_parse(p, spec)) return cli_fail(cmd, CLI_EUSAGE, "bad --process");
  if (!t_end_seen) return CLI_OK;
  int rc = CLI_OK;
  if (p->sch)
    rc = cli_errorf(cmd, CLI_EUSAGE, "--t-end is for continuous processes (ddpm ends at step 0)");
  else if (!(t_end >= 0.0 && t_end < p->t_max))
    rc = cli_errorf(cmd, CLI_EUSAGE, "--t-end %g outside [0, %g) for %s", t_end, p->t_max, dpm_process_name(p));
  else
    p->t_min = t_end;
  if (rc) dpm_process_clear(p);
  return rc;
}

/* lines of a file (an upper bound on the grid points it holds); 0 when unreadable */
static size_t count_lines(const char *path)
{
  FILE *fp = fopen(path, "r");
  if (!fp) return 0;
  size_t n = 1;
  for (int c; (c = fgetc(fp)) != EOF;)
    n += c == '\n';
  fclose(fp);
  return n;
}

/* The flags that only some samplers read: given ones the chosen sampler ignores are listed in --meta. */
static const struct {
  const char *flag, *users;
} flag_users[] = {
    {"rtol", " rk45 "}, {"atol", " rk45 "},          {"churn", " edm-stochastic "},
    {"snr", " pc "},    {"corrector-steps", " pc "}, {"gamma", " ge ge-stochastic "},
    {NULL, NULL},
};

/* "S[,tmin=A,tmax=B,noise=C]" into the EDM churn parameters */
static int parse_churn(const char *cmd, const char *spec, dpm_sampler_params *par)
{
  char buf[160], *end;
  if (strlen(spec) >= sizeof buf) return cli_errorf(cmd, CLI_EUSAGE, "--churn: spec too long");
  strcpy(buf, spec);
  char *rest = strchr(buf, ',');
  if (rest) *rest++ = '\0';
  par->s_churn = strtod(buf, &end);
  if (end == buf || *end || !(par->s_churn >= 0.0 && isfinite(par->s_churn)))
    return cli_errorf(cmd, CLI_EUSAGE, "--churn: '%s' is not a number >= 0 (S_churn)", buf);
  for (char *tok = rest ? strtok(rest, ",") : NULL; tok; tok = strtok(NULL, ",")) {
    char *eq = strchr(tok, '=');
    if (!eq) return cli_errorf(cmd, CLI_EUSAGE, "--churn option '%s': expected key=value", tok);
    *eq = '\0';
    const double v = strtod(eq + 1, &end);
    if (end == eq + 1 || *end || !(v >= 0.0) || (isinf(v) && strcmp(tok, "tmax")))
      return cli_errorf(cmd, CLI_EUSAGE, "--churn option %s: '%s' is not a number >= 0", tok, eq + 1);
    if (strcmp(tok, "tmin") == 0)
      par->s_tmin = v;
    else if (strcmp(tok, "tmax") == 0)
      par->s_tmax = v;
    else if (strcmp(tok, "noise") == 0)
      par->s_noise = v;
    else
      return cli_errorf(cmd, CLI_EUSAGE, "--churn: unknown option '%s' (tmin=, tmax=, noise=)", tok);
  }
  return CLI_OK;
}

int cmd_sample(int argc, char **argv)
{
  const char *cmd = "sample", *data = NULL, *procspec = "ddpm", *name = NULL, *traj = "even", *grid = "uniform",
             *init = NULL, *dspec = "exact", *outp = NULL, *guide = NULL, *churn = NULL;
  size_t K = 0, n = 0, cls = 0, csteps = 1;
  uint64_t seed = 0;
  double eta = NAN, rho = 7.0, t_end = NAN, w = NAN, rtol = NAN, atol = NAN, snr = NAN, ge_gamma = NAN;
  int meta = 0, final_noise = 0, denoise = 0;
  cli_opt opts[] = {
      {"data", OPT_STR, &data, "data spec: built-in name[:opts], FILE.json or FILE.csv (required)", 0},
      {"process", OPT_STR, &procspec,
       "ddpm[:schedule=linear|cosine,N=1000] (default), or vp|subvp|ve|ve-sde|edm[:opts] with --grid", 0},
      {"sampler", OPT_STR, &name, "a name from `dpmlab samplers` (required)", 0},
      {"steps", OPT_SIZE, &K, "number of grid intervals K >= 1 (required unless --grid FILE; ddpm: K <= N)", 0},
      {"n", OPT_SIZE, &n, "number of samples (required unless --init)", 0},
      {"seed", OPT_U64, &seed, "seed: sample j uses the stream (seed, j); default 0", 0},
      {"trajectory", OPT_STR, &traj, "ddpm: even (default), quadratic or dp (Analytic-DPM's least-cost path)", 0},
      {"grid", OPT_STR, &grid,
       "uniform (default), edm, loglinear, lambda, quadratic, ddim, ddim-offset (continuous processes; ddim: "
       "uniform steps of the linear DDPM with N = 1000 mapped to sigma, from sigma_N = 157.4 or, ddim-offset, "
       "from "
       "sigma = 40), or FILE: the K + 1 times one per line, decreasing (VE/EDM: t = sigma; ddpm: step indices)",
       0},
      {"rho", OPT_DOUBLE, &rho, "--grid edm: rho > 0 (default 7)", 0},
      {"t-end", OPT_DOUBLE, &t_end,
       "end time of the grid (default the process's t_min: 1e-3 VP/sub-VP/VE, sigma_min EDM)", 0},
      {"init", OPT_STR, &init, "CSV of starting points at the first time, one per row (replaces --n)", 0},
      {"denoise", OPT_FLAG, &denoise, "end with the Tweedie step x0-hat at the last point (one more NFE)", 0},
      {"denoiser", OPT_STR, &dspec, "exact (default), relerr:eta=E[,seed=S] or empirical:n=N[,seed=S]", 0},
      {"class", OPT_SIZE, &cls, "guidance: the class label y (classifier guidance unless --guide)", 0},
      {"guidance", OPT_DOUBLE, &w, "guidance weight w (default: classifier 1, cfg 0, auto 1, energy 1)", 0},
      {"guide", OPT_STR, &guide,
       "classifier (score + w grad log p(y|x)), cfg ((1+w) cond - w uncond), auto[:var=V,keep=K] ((1+w) D - w "
       "D_weak, D_weak = data * N(0, V I), default V = 0.25, top K components), energy:c=X1/../Xd,tau=T "
       "(score - w grad_x E(E[x0|x]), E = |x - c|^2/(2 tau^2)) or energy:mixture (E = -log q_0, or -log "
       "q_0(x|y)), or tilt:c=..,tau=T (the exact model of q_0 e^{-wE}, the "
       "law energy guidance aims at; replaces --denoiser)",
       0},
      {"eta", OPT_DOUBLE, &eta, "ddim, analytic-ddim, diag-cov: lambda^2 = eta^2 beta~, eta in [0, 1]", 0},
      {"final-noise", OPT_FLAG, &final_noise, "add the decoder's noise on the last step into s = 0", 0},
      {"rtol", OPT_DOUBLE, &rtol, "rk45: relative tolerance (default 1e-5)", 0},
      {"atol", OPT_DOUBLE, &atol, "rk45: absolute tolerance (default 1e-5)", 0},
      {"churn", OPT_STR, &churn, "edm-stochastic: S_churn[,tmin=S_tmin,tmax=S_tmax,noise=S_noise] (0,0,inf,1)", 0},
      {"snr", OPT_DOUBLE, &snr, "pc: the corrector's target signal-to-noise ratio r (default 0.16)", 0},
      {"corrector-steps", OPT_SIZE, &csteps, "pc: Langevin corrector steps per step (default 1)", 0},
      {"gamma", OPT_DOUBLE, &ge_gamma,
       "ge, ge-stochastic: eps-bar = eps(x_{t+1}) + G (eps(x_t) - eps(x_{t+1})), G finite (default 2)", 0},
      {"out", OPT_STR, &outp, "output file (written whole or not at all); default stdout", 0},
      {"meta", OPT_FLAG, &meta,
       "begin with '#' lines: version, command, process, grid, model, params, unused flags, sampler, steps, nfe, "
       "seed",
       0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc = cli_parse(
      argc, argv, opts,
      "usage: dpmlab sample --data SPEC --process vp|subvp|ve|edm|ddpm --sampler NAME [--steps K] --n COUNT\n"
      "         [--seed S] [--grid uniform|edm|loglinear|lambda|quadratic|ddim|ddim-offset|FILE] [--t-end EPS] "
      "[--init FILE.csv]\n"
      "         [--denoise] [--class Y --guidance W] [--guide cfg|classifier|auto:...]\n"
      "         [--denoiser exact|relerr:eta=E|empirical:n=N] [--rtol R] [--churn ...] [--snr R --corrector-steps "
      "C] [--gamma G]\n"
      "Draw samples of q_0 with a sampler of the table (`dpmlab samplers`), one row per sample: x_1..x_d.\n"
      "The walk starts at x ~ N(0, s_T^2 I) (or --init, at t = T) and takes K steps; on ddpm the points are\n"
      "tau_K..tau_1 of --trajectory and then 0 (the last step returns the mean unless --final-noise). NFE = K x\n"
      "nfe_per_step (+1 with --denoise); a guided model counts one NFE per evaluation (cfg and auto evaluate two\n"
      "exact models inside it). Sampler flags a sampler does not read are accepted and listed in --meta as "
      "unused.");
  if (rc) return rc < 0 ? CLI_OK : rc;
  if ((rc = cli_require(cmd, opts, "data")) || (rc = cli_require(cmd, opts, "sampler"))) return rc;
  const int grid_file = cli_seen(opts, "grid") && !cli_grid_is_named(grid);
  if (!grid_file && (rc = cli_require(cmd, opts, "steps"))) return rc;
  const dpm_sampler_type *T = dpm_sampler_type_find(name);
  if (!T) {
    char names[1024];
    dpm_sampler_type_names(names, sizeof names);
    return cli_errorf(cmd, CLI_EUSAGE, "unknown --sampler '%s' (known: %s)", name, names);
  }
  if (!init && (rc = cli_require(cmd, opts, "n"))) return rc;
  if (!init && n == 0) return cli_errorf(cmd, CLI_EUSAGE, "--n must be >= 1");
  if (cli_seen(opts, "steps") && K == 0) return cli_errorf(cmd, CLI_EUSAGE, "--steps must be >= 1");
  if (cli_seen(opts, "eta") && !(eta >= 0.0 && eta <= 1.0))
    return cli_errorf(cmd, CLI_EUSAGE, "--eta must be in [0, 1] (got %g)", eta);
  if (cli_seen(opts, "eta") && isnan(T->eta_default))
    return cli_errorf(cmd, CLI_EUSAGE, "--eta does not apply to %s (its eta is fixed at 1)", T->name);
  if (!(rho > 0.0)) return cli_errorf(cmd, CLI_EUSAGE, "--rho must be > 0 (got %g)", rho);
  if (cli_seen(opts, "rtol") && !(rtol > 0.0 && rtol < 1.0))
    return cli_errorf(cmd, CLI_EUSAGE, "--rtol must be in (0, 1) (got %g)", rtol);
  if (cli_seen(opts, "atol") && !(atol > 0.0 && atol < 1.0))
    return cli_errorf(cmd, CLI_EUSAGE, "--atol must be in (0, 1) (got %g)", atol);
  if (cli_seen(opts, "snr") && !(snr > 0.0)) return cli_errorf(cmd, CLI_EUSAGE, "--snr must be > 0 (got %g)", snr);
  if (csteps > 1000) return cli_errorf(cmd, CLI_EUSAGE, "--corrector-steps must be <= 1000 (got %zu)", csteps);
  if (cli_seen(opts, "gamma") && !isfinite(ge_gamma))
    return cli_errorf(cmd, CLI_EUSAGE, "--gamma must be finite (got %g)", ge_gamma);
  if (cls > 1000000) return cli_errorf(cmd, CLI_EUSAGE, "--class %zu is out of range", cls);
  dpm_sampler_params par;
  dpm_sampler_params_default(&par);
  if (churn && (rc = parse_churn(cmd, churn, &par))) return rc;
  dpm_process proc;
  if ((rc = cli_process_setup(cmd, procspec, cli_seen(opts, "t-end"), t_end, &proc))) return rc;
  const int disc = proc.sch != NULL;
  if (disc && cli_seen(opts, "grid") && !grid_file)
    rc = cli_errorf(cmd, CLI_EUSAGE,
                    "--grid %s is for continuous processes; ddpm takes --trajectory or --grid FILE", grid);
  else if ((!disc || grid_file) && cli_seen(opts, "trajectory"))
    rc = cli_errorf(cmd, CLI_EUSAGE,
                    "--trajectory is for ddpm without --grid FILE; continuous processes take --grid");
  else if (disc && strcmp(traj, "even") && strcmp(traj, "quadratic") && strcmp(traj, "dp"))
    rc = cli_errorf(cmd, CLI_EUSAGE, "unknown --trajectory '%s' (even, quadratic, dp)", traj);
  else if (disc && !grid_file && K > proc.sch->N)
    rc = cli_errorf(cmd, CLI_EUSAGE, "--steps K = %zu exceeds the schedule's N = %zu", K, proc.sch->N);
  else if (disc && !grid_file && K < 2 && proc.sch->N > 1)
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
  cli_model mdl = {0};
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
  if ((rc = cli_model_build(cmd, mix, dspec, guide, cli_seen(opts, "class"), (int)cls, cli_seen(opts, "guidance"),
                            w, &mdl)))
    goto done;
  rc = CLI_EDATA;
  if (grid_file) {
    const size_t lines = count_lines(grid);
    if (!lines) {
      rc = cli_errorf(cmd, CLI_EUSAGE,
                      "--grid '%s' is neither a grid (uniform, edm, loglinear, lambda, quadratic) nor "
                      "a readable file",
                      grid);
      goto done;
    }
    if (!(tl = dpm_timeline_alloc(lines > 1 ? lines : 1))) {
      cli_fail(cmd, CLI_EDATA, "timeline");
      goto done;
    }
    if (dpm_timeline_load_file(tl, &proc, grid)) {
      cli_fail(cmd, CLI_EDATA, "bad --grid file");
      goto done;
    }
    if (cli_seen(opts, "steps") && K != tl->K) {
      rc =
          cli_errorf(cmd, CLI_EUSAGE, "--steps %zu disagrees with the %zu intervals of --grid %s", K, tl->K, grid);
      goto done;
    }
    K = tl->K;
  } else {
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
             : cli_timeline_set_grid(tl, &proc, grid, K, rho)) {
      rc = disc ? CLI_EDATA : CLI_EUSAGE;
      cli_fail(cmd, rc, "bad time grid");
      goto done;
    }
  }
  if (!(smp = dpm_sampler_alloc(T, n, d, K))) {
    cli_fail(cmd, CLI_EDATA, "cannot allocate the sampler");
    goto done;
  }
  dpm_sampler_problem pb = {.dn = cli_model_denoiser(&mdl), .tl = tl, .sigma2 = NULL, .mix = mix, .par = par};
  pb.par.eta = eta;
  pb.par.final_noise = final_noise;
  pb.par.gamma_seed = seed;
  pb.par.denoise_final = denoise;
  if (cli_seen(opts, "rtol")) pb.par.rtol = rtol;
  if (cli_seen(opts, "atol")) pb.par.atol = atol;
  if (cli_seen(opts, "snr")) pb.par.snr = snr;
  if (cli_seen(opts, "gamma")) pb.par.ge_gamma = ge_gamma;
  pb.par.corrector_steps = (unsigned)csteps;
  unsigned long nfe = 0;
  if (dpm_sampler_run(smp, &pb, seed, n, x, init != NULL, &nfe)) {
    cli_fail(cmd, CLI_EDATA, "sampling failed");
    goto done;
  }
  if (!(out = cli_out_open(cmd, outp, argc, argv, !meta))) goto done;
  FILE *fp = dpm_out_file(out);
  if (meta) {
    fprintf(fp, "# process: %s\n# grid: %s, t %.17g -> %.17g\n# model: %s\n", procspec,
            grid_file ? grid
            : disc    ? traj
                      : grid,
            tl->t[0], tl->t[K], mdl.what);
    fprintf(fp,
            "# params: eta=%g final_noise=%d denoise=%d rtol=%g atol=%g churn=%g tmin=%g tmax=%g noise=%g snr=%g "
            "corrector_steps=%u gamma=%g\n",
            isnan(pb.par.eta) ? T->eta_default : pb.par.eta, final_noise, denoise, pb.par.rtol, pb.par.atol,
            pb.par.s_churn, pb.par.s_tmin, pb.par.s_tmax, pb.par.s_noise, pb.par.snr, pb.par.corrector_steps,
            pb.par.ge_gamma);
    int any = 0;
    char key[64];
    snprintf(key, sizeof key, " %s ", T->name);
    for (size_t i = 0; flag_users[i].flag; i++)
      if (cli_seen(opts, flag_users[i].flag) && !strstr(flag_users[i].users, key))
        fprintf(fp, "%s--%s", any++ ? " " : "# unused by this sampler: ", flag_users[i].flag);
    if (any) fputc('\n', fp);
    fprintf(fp, "# sampler: %s\n# steps: %zu\n# nfe: %lu\n# seed: %llu\n", T->name, K, nfe,
            (unsigned long long)seed);
  }
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
  cli_model_clear(&mdl);
  free(gamma);
  free(x);
  dpm_mixture_free(mix);
  dpm_process_clear(&proc);
  return rc;
}
