/* cmd_memorisation.c — `dpmlab memorisation`: the share of samples that land within a radius of a training point
 * (the ideal denoiser of a finite set regenerates it) against the number of steps, the sampler and the model —
 * ideal, relative-error and the smoothed (generalising) denoiser — with binomial standard errors, and the mean
 * distance to the set and, for the circle and sphere sets, to the manifold they sample (Permenter & Yuan, arXiv
 * 2306.04848, §3; Scarvelis et al. 2023; docs/MATH.md §2.10). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_sample.h"
#include "commands.h"

enum { CAP = 64 };

/* Split a list at sep into buf (modified) and items; returns the count (0 for an empty item or too many). */
static size_t split(char *buf, char sep, char **items, size_t cap)
{
  size_t k = 0;
  for (char *p = buf; k < cap;) {
    char *c = strchr(p, sep);
    if (c) *c = '\0';
    if (!*p) return 0;
    items[k++] = p;
    if (!c) return k;
    p = c + 1;
  }
  return 0;
}

/* The manifold a built-in circle: or sphere: spec samples (k = 1 or its k; radius r), or 0 for any other data. */
static int manifold_of(const char *spec, size_t *k, double *r)
{
  const int circle = strncmp(spec, "circle", 6) == 0 && (spec[6] == '\0' || spec[6] == ':');
  const int sphere = strncmp(spec, "sphere", 6) == 0 && (spec[6] == '\0' || spec[6] == ':');
  if (!circle && !sphere) return 0;
  *k = circle ? 1 : 2;
  *r = 1.0;
  for (const char *p = spec + 6; p && *p; p = strchr(p + 1, ',')) {
    const char *q = *p == ':' || *p == ',' ? p + 1 : p;
    if (q[0] == 'r' && q[1] == '=') *r = strtod(q + 2, NULL);
    if (sphere && q[0] == 'k' && q[1] == '=') *k = (size_t)strtoul(q + 2, NULL, 10);
  }
  return 1;
}

/* One model of the --denoisers list: "smoothed:h=H" (the ideal denoiser read at sqrt(sigma^2 + h^2), h >= 0)
 * here, anything else through cli_model_build (exact, relerr:eta=E[,seed=S], empirical:n=N[,seed=S]). */
typedef struct {
  cli_model mdl;
  dpm_denoiser *exact, *smooth;
} model;

static int model_build(const char *cmd, const dpm_mixture *mix, const char *spec, model *m)
{
  memset(m, 0, sizeof *m);
  if (strncmp(spec, "smoothed", 8) != 0) return cli_model_build(cmd, mix, spec, NULL, 0, 0, 0, 0.0, &m->mdl);
  char *end = NULL;
  const double h = strncmp(spec, "smoothed:h=", 11) == 0 ? strtod(spec + 11, &end) : (double)NAN;
  if (!end || end == spec + 11 || *end || !(isfinite(h) && h >= 0.0))
    return cli_errorf(cmd, CLI_EUSAGE, "--denoisers: '%s': expected smoothed:h=H with H >= 0", spec);
  if (!(m->exact = dpm_denoiser_oracle_alloc(mix)) || !(m->smooth = dpm_denoiser_smoothed_alloc(m->exact, h))) {
    dpm_denoiser_free(m->exact);
    m->exact = NULL;
    return cli_fail(cmd, CLI_EDATA, "cannot build the smoothed denoiser");
  }
  return CLI_OK;
}

static dpm_denoiser *model_denoiser(const model *m) { return m->smooth ? m->smooth : cli_model_denoiser(&m->mdl); }

static void model_clear(model *m)
{
  dpm_denoiser_free(m->smooth);
  dpm_denoiser_free(m->exact);
  cli_model_clear(&m->mdl);
  memset(m, 0, sizeof *m);
}

int cmd_memorisation(int argc, char **argv)
{
  const char *cmd = "memorisation", *data = NULL, *procspec = "ve", *samplers = "ddim", *steps = "5,10,20,50,100",
             *denoisers = "exact", *grid = "loglinear", *outp = NULL;
  size_t n = 1000;
  double rel = 0.1, rho = 0.0;
  uint64_t seed = 0;
  int meta = 0;
  cli_opt opts[] = {
      {"data", OPT_STR, &data, "a point set: a .csv file or a built-in point set (circle, sphere, ...) (required)",
       0},
      {"process", OPT_STR, &procspec, "ve (default) or edm, with options (e.g. ve:sigma_min=1e-3,sigma_max=10)",
       0},
      {"samplers", OPT_STR, &samplers, "comma list of samplers of the table (default ddim)", 0},
      {"steps-list", OPT_STR, &steps, "comma list of step counts N (default 5,10,20,50,100)", 0},
      {"grid", OPT_STR, &grid, "uniform|edm|loglinear|lambda|quadratic|ddim|ddim-offset (default loglinear)", 0},
      {"rho", OPT_DOUBLE, &rho, "--grid edm: rho > 0 (default 7)", 0},
      {"denoisers", OPT_STR, &denoisers,
       "';' list of models: exact (default), relerr:eta=E[,seed=S], smoothed:h=H, empirical:n=N[,seed=S]", 0},
      {"sampler", OPT_STR, &samplers, "the same as --samplers", 0},
      {"denoiser", OPT_STR, &denoisers, "the same as --denoisers", 0},
      {"n", OPT_SIZE, &n, "samples per run, all runs from the same prior draws (default 1000)", 0},
      {"radius", OPT_DOUBLE, &rel, "radius relative to the set's nearest-neighbour spacing (default 0.1)", 0},
      {"seed", OPT_U64, &seed, "seed: sample j starts from the stream (seed, j) (default 0)", 0},
      {"out", OPT_STR, &outp, "output file (written whole or not at all); default stdout", 0},
      {"meta", OPT_FLAG, &meta, "begin the output with '#' metadata lines", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc = cli_parse(
      argc, argv, opts,
      "usage: dpmlab memorisation --data POINTSET [--process ve|edm] [--samplers LIST] [--steps-list LIST]\n"
      "         [--denoisers 'exact;relerr:eta=E;smoothed:h=H'] [--n COUNT] [--radius R] [--seed S]\n"
      "one row per (sampler, steps, denoiser): "
      "sampler,steps,nfe,denoiser,radius,share,share_se,mean_dist,mean_dist_se,manifold_dist,manifold_dist_se\n"
      "share = the fraction of the n samples within radius (= R x the median nearest-neighbour spacing of the "
      "set)\n"
      "of a point of the set, share_se = sqrt(share (1 - share)/n); mean_dist = the mean distance to the nearest\n"
      "point; manifold_dist = the mean distance to the circle or sphere a circle:/sphere: set samples (closed\n"
      "form; NaN for other data); standard errors sd/sqrt(n). smoothed:h=H is the ideal denoiser of the set read\n"
      "at sqrt(sigma^2 + H^2) (docs/MATH.md §2.10). On ve, --grid uniform is uniform in t (geometric in sigma); "
      "a\n"
      "grid uniform in sigma is --process edm --grid uniform.");
  if (rc) return rc < 0 ? CLI_OK : rc;
  if ((rc = cli_require(cmd, opts, "data"))) return rc;
  if (n == 0) return cli_errorf(cmd, CLI_EUSAGE, "--n must be >= 1");
  if (!(isfinite(rel) && rel > 0.0)) return cli_errorf(cmd, CLI_EUSAGE, "--radius must be > 0 (got %g)", rel);
  if (!cli_grid_is_named(grid))
    return cli_errorf(cmd, CLI_EUSAGE, "unknown --grid '%s' (" CLI_GRID_NAMES ")", grid);
  char sbuf[1024], nbuf[512], dbuf[1024];
  char *snames[CAP], *nitems[CAP], *dspecs[CAP];
  if (strlen(samplers) >= sizeof sbuf || strlen(steps) >= sizeof nbuf || strlen(denoisers) >= sizeof dbuf)
    return cli_errorf(cmd, CLI_EUSAGE, "a list option is too long");
  strcpy(sbuf, samplers);
  strcpy(nbuf, steps);
  strcpy(dbuf, denoisers);
  const size_t ns = split(sbuf, ',', snames, CAP), nn = split(nbuf, ',', nitems, CAP),
               nd = split(dbuf, ';', dspecs, CAP);
  if (!ns) return cli_errorf(cmd, CLI_EUSAGE, "--samplers: an empty or too long list '%s'", samplers);
  if (!nn) return cli_errorf(cmd, CLI_EUSAGE, "--steps-list: an empty or too long list '%s'", steps);
  if (!nd) return cli_errorf(cmd, CLI_EUSAGE, "--denoisers: an empty or too long list '%s'", denoisers);
  const dpm_sampler_type *types[CAP];
  size_t Ks[CAP], Kmax;
  if ((rc = cli_sampler_list(cmd, "samplers", snames, ns, types)) ||
      (rc = cli_count_list(cmd, "steps-list", nitems, nn, Ks, &Kmax)))
    return rc;
  dpm_process proc;
  if ((rc = cli_process_setup(cmd, procspec, 0, 0.0, &proc))) return rc;
  dpm_mixture *mix = NULL;
  dpm_timeline *tl = NULL;
  dpm_sampler *smp[CAP] = {NULL};
  model models[CAP];
  size_t nbuilt = 0;
  double *x = NULL, *md = NULL;
  dpm_out *out = NULL;
  rc = CLI_EUSAGE;
  if (proc.kind != DPM_PROCESS_VE && proc.kind != DPM_PROCESS_EDM) {
    cli_errorf(cmd, rc, "--process %s: memorisation runs in VE coordinates (m = 1, s = sigma): ve or edm",
               procspec);
    goto done;
  }
  rc = CLI_EDATA;
  if (!(mix = cli_load_data(cmd, data))) goto done;
  const size_t d = mix->d;
  if (!dpm_mixture_is_pointset(mix)) {
    cli_errorf(cmd, rc, "'%s' is not a point set (it has non-zero covariances)", data);
    goto done;
  }
  if (mix->K < 2) {
    cli_errorf(cmd, rc, "'%s' has %zu point; the radius needs a nearest-neighbour spacing (>= 2 points)", data,
               mix->K);
    goto done;
  }
  size_t mk = 0;
  double mr = NAN;
  const int on_manifold = manifold_of(data, &mk, &mr);
  for (; nbuilt < nd; nbuilt++)
    if ((rc = model_build(cmd, mix, dspecs[nbuilt], &models[nbuilt]))) goto done;
  rc = CLI_EDATA;
  if (!(tl = dpm_timeline_alloc(Kmax)) || !(x = malloc(n * d * sizeof *x)) || !(md = malloc(n * sizeof *md))) {
    cli_errorf(cmd, rc, "out of memory (n = %zu, d = %zu)", n, d);
    goto done;
  }
  for (size_t i = 0; i < ns; i++)
    if (!(smp[i] = dpm_sampler_alloc(types[i], n, d, Kmax))) {
      cli_fail(cmd, rc, "cannot allocate the sampler");
      goto done;
    }
  if (!(out = cli_out_open(cmd, outp, argc, argv, !meta))) goto done;
  FILE *fp = dpm_out_file(out);
  double spacing = NAN;
  if (dpm_optim_nn_spacing(mix->K, d, mix->mu, &spacing)) {
    cli_fail(cmd, rc, "bad point set");
    goto done;
  }
  if (meta)
    fprintf(fp, "# process: %s\n# grid: %s\n# n: %zu\n# seed: %llu\n# spacing: %.17g\n# manifold: %s\n",
            dpm_process_name(&proc), grid, n, (unsigned long long)seed, spacing,
            on_manifold ? (mk == 1 ? "circle" : "sphere") : "none");
  fputs("sampler,steps,nfe,denoiser,radius,share,share_se,mean_dist,mean_dist_se,manifold_dist,manifold_dist_se\n",
        fp);
  const double t0 = cli_now();
  for (size_t i = 0; i < ns; i++)
    for (size_t k = 0; k < nn; k++) {
      if (cli_timeline_set_grid(tl, &proc, grid, Ks[k], rho)) {
        cli_fail(cmd, rc, "bad time grid");
        goto done;
      }
      for (size_t j = 0; j < nd; j++) {
        dpm_sampler_problem pb = {.dn = model_denoiser(&models[j]), .tl = tl, .sigma2 = NULL, .mix = mix};
        dpm_sampler_params_default(&pb.par);
        unsigned long nfe = 0;
        double share, share_se, mdist, mdist_se, rad, man = NAN, man_se = NAN;
        if (dpm_sampler_run(smp[i], &pb, seed, n, x, 0, &nfe) ||
            dpm_optim_memorisation(mix->K, d, mix->mu, n, x, rel, &share, &share_se, &mdist, &mdist_se, &rad)) {
          dpm_error_context("%s, %zu steps, denoiser %s", types[i]->name, Ks[k], dspecs[j]);
          cli_fail(cmd, rc, "sampling failed");
          goto done;
        }
        if (on_manifold) {
          if (dpm_optim_sphere_dist(mk, mr, d, n, x, md)) {
            cli_fail(cmd, rc, "manifold distance failed");
            goto done;
          }
          double s = 0.0, s2 = 0.0;
          for (size_t q = 0; q < n; q++)
            s += md[q];
          man = s / (double)n;
          for (size_t q = 0; q < n; q++)
            s2 += (md[q] - man) * (md[q] - man);
          man_se = n > 1 ? sqrt(s2 / (double)(n - 1) / (double)n) : (double)NAN;
        }
        const char *q = strchr(dspecs[j], ',') ? "\"" : ""; /* a spec with options is one quoted field */
        fprintf(fp, "%s,%zu,%lu,%s%s%s,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", types[i]->name, Ks[k], nfe, q,
                dspecs[j], q, rad, share, share_se, mdist, mdist_se, man, man_se);
        if (cli_now() - t0 > 2.0)
          fprintf(stderr, "dpmlab %s: %s, %zu steps, %s done (%.1f s)\n", cmd, types[i]->name, Ks[k], dspecs[j],
                  cli_now() - t0);
      }
    }
  rc = dpm_out_close(out, 1) ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
  out = NULL;
done:
  if (out) dpm_out_close(out, 0);
  free(md);
  free(x);
  for (size_t i = 0; i < ns; i++)
    dpm_sampler_free(smp[i]);
  for (size_t j = 0; j < nbuilt; j++)
    model_clear(&models[j]);
  dpm_timeline_free(tl);
  dpm_mixture_free(mix);
  dpm_process_clear(&proc);
  return rc;
}
