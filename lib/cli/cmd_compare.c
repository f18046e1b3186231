/* cmd_compare.c — `dpmlab compare`: every (sampler, NFE) pair of two lists on one data set and process, each
 * judged against the exact q_0 by metrics with standard errors (dpm_metrics.h) — the toy version of the papers'
 * FID-against-steps tables (docs/samplers.md). */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_sample.h"
#include "commands.h"

enum { M_LOGQ, M_MMD, M_ENERGY, M_SW2, M_W1, M_KS, M_MODES, M_NEAREST, M_MEMO, M_COUNT };
static const char *const metric_names[M_COUNT] = {"logq", "mmd",   "energy",  "sw2", "w1",
                                                  "ks",   "modes", "nearest", "memo"};

/* Split a comma list into buf (modified) and items; returns the count (0 for an empty item). */
static size_t split(char *buf, char **items, size_t cap)
{
  size_t k = 0;
  for (char *p = buf; k < cap;) {
    char *c = strchr(p, ',');
    if (c) *c = '\0';
    if (!*p) return 0;
    items[k++] = p;
    if (!c) return k;
    p = c + 1;
  }
  return 0;
}

/* Append "dpmlab compare: MSG\n" to the notes (printed on stderr after a successful run; truncated at cap); *last
 * receives the offset of this message's text. */
static void note(char *buf, size_t cap, size_t *last, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void note(char *buf, size_t cap, size_t *last, const char *fmt, ...)
{
  size_t used = strlen(buf);
  if (used + 32 >= cap) return;
  used += (size_t)snprintf(buf + used, cap - used, "dpmlab compare: ");
  *last = used;
  va_list ap;
  va_start(ap, fmt);
  const int k = vsnprintf(buf + used, cap - used - 1, fmt, ap);
  va_end(ap);
  used = k < 0 ? used : used + (size_t)k < cap - 1 ? used + (size_t)k : cap - 2;
  buf[used] = '\n';
  buf[used + 1] = '\0';
}

/* one metric of the sample x against the truth (value, se) */
static int metric_eval(int m, const dpm_mixture *truth, size_t n, const double *x, const double *ref,
                       const double *pts, size_t npts, double radius, size_t nproj, uint64_t seed, double *v,
                       double *se)
{
  const size_t d = truth->d;
  double h, w1, ks, tmp;
  switch (m) {
  case M_LOGQ:
    return dpm_metrics_logq_mean(truth, n, x, v, se);
  case M_MMD: {
    const int st = dpm_metrics_median_bandwidth(d, n, x, n, ref, &h);
    return st ? st : dpm_metrics_mmd2_u(d, h, n, x, ref, v, se);
  }
  case M_ENERGY:
    return dpm_metrics_energy_u(d, n, x, ref, v, se);
  case M_SW2: {
    gsl_rng *r = dpm_rng_stream_alloc(seed, 0x5157ULL << 32);
    if (!r) return GSL_ENOMEM;
    const int st = dpm_metrics_sliced_w2(d, n, x, ref, nproj, r, v, se);
    gsl_rng_free(r);
    return st;
  }
  case M_W1:
  case M_KS: {
    const int st = dpm_metrics_w1_ks_se(truth, n, x, &w1, m == M_W1 ? se : &tmp, &ks, m == M_KS ? se : &tmp);
    *v = m == M_W1 ? w1 : ks;
    return st;
  }
  case M_MODES: {
    double *wt = malloc(truth->K * sizeof *wt);
    if (!wt) return GSL_ENOMEM;
    const int st = dpm_metrics_mode_tv(truth, n, x, wt, NULL, v, se);
    free(wt);
    return st;
  }
  default:
    return m == M_NEAREST ? dpm_metrics_nearest(d, n, x, npts, pts, radius, v, se, NULL, NULL)
                          : dpm_metrics_nearest(d, n, x, npts, pts, radius, NULL, NULL, v, se);
  }
}

int cmd_compare(int argc, char **argv)
{
  const char *cmd = "compare", *data = NULL, *procspec = "vp", *samplers = NULL, *nfes = NULL, *metrics = NULL,
             *grid = "uniform", *dspec = "exact", *guide = NULL, *outp = NULL;
  size_t n = 0, cls = 0, nproj = 100;
  uint64_t seed = 0;
  double t_end = NAN, w = NAN, radius = 0.1, rho = 7.0;
  int meta = 0;
  cli_opt opts[] = {
      {"data", OPT_STR, &data, "data spec (required)", 0},
      {"process", OPT_STR, &procspec, "vp (default), subvp, ve, edm or ddpm[:...] (ddpm: the even trajectory)", 0},
      {"samplers", OPT_STR, &samplers, "comma list of names from `dpmlab samplers` (required)", 0},
      {"nfe", OPT_STR, &nfes, "comma list of NFE budgets; steps = NFE / nfe_per_step, rounded (required)", 0},
      {"n", OPT_SIZE, &n, "samples per run (and exact reference draws) (required)", 0},
      {"metric", OPT_STR, &metrics,
       "comma list: logq, mmd, energy, sw2, w1, ks, modes, nearest, memo (default w1 in 1-D, mmd otherwise)", 0},
      {"seed", OPT_U64, &seed, "seed of every run (sample j: stream (seed, j)) and of the reference draws", 0},
      {"grid", OPT_STR, &grid,
       "continuous processes: uniform (default), edm, loglinear, lambda, quadratic, ddim, ddim-offset", 0},
      {"rho", OPT_DOUBLE, &rho, "--grid edm: rho > 0 (default 7)", 0},
      {"t-end", OPT_DOUBLE, &t_end, "end time of the grid (default the process's t_min)", 0},
      {"denoiser", OPT_STR, &dspec, "exact (default), relerr:eta=E[,seed=S] or empirical:n=N[,seed=S]", 0},
      {"class", OPT_SIZE, &cls, "guidance: class y; the truth is then q_0(x | y)", 0},
      {"guidance", OPT_DOUBLE, &w, "guidance weight (as in `dpmlab sample`)", 0},
      {"guide", OPT_STR, &guide, "classifier, cfg or auto[:var=V,keep=K] (as in `dpmlab sample`)", 0},
      {"radius", OPT_DOUBLE, &radius, "memo: a sample within this distance of a training point is memorised (0.1)",
       0},
      {"nproj", OPT_SIZE, &nproj, "sw2: number of random directions (default 100)", 0},
      {"out", OPT_STR, &outp, "output file (written whole or not at all); default stdout", 0},
      {"meta", OPT_FLAG, &meta, "begin the output with '#' metadata lines", 0},
      {NULL, 0, NULL, NULL, 0},
  };
  int rc = cli_parse(
      argc, argv, opts,
      "usage: dpmlab compare --data SPEC --process P --samplers LIST --nfe LIST --n COUNT [--metric LIST] [--seed "
      "S]\n"
      "Run every sampler at every NFE budget from the prior (same seed) and judge the samples against the exact\n"
      "q_0: one row per (sampler, NFE, metric): sampler,nfe,steps,metric,value,se (nfe = the run's measured "
      "NFE).\n"
      "Metrics and their standard errors: logq = mean log q_0 (sd/sqrt n); mmd = unbiased MMD^2, Gaussian "
      "kernel,\n"
      "median bandwidth, and energy = energy distance, both against n exact draws (U-statistic SE); sw2 = sliced\n"
      "W2 against exact draws, w1 and ks = exact 1-D distances to the CDF (batch means, 10 batches); modes = "
      "total\n"
      "variation of the mode weights from pi (batch means); nearest = mean distance to the training set and memo "
      "=\n"
      "the share within --radius of it (empirical denoiser, or a point-set data set; sd/sqrt n, binomial).\n"
      "A combination that does not fit (adaptive sampler, too few NFE, a process the sampler refuses) is skipped\n"
      "with one line on stderr.");
  if (rc) return rc < 0 ? CLI_OK : rc;
  const char *req[] = {"data", "samplers", "nfe", "n"};
  for (size_t i = 0; i < 4; i++)
    if ((rc = cli_require(cmd, opts, req[i]))) return rc;
  if (n < 20) return cli_errorf(cmd, CLI_EUSAGE, "--n must be >= 20 (standard errors by 10 batch means)");
  if (nproj == 0) return cli_errorf(cmd, CLI_EUSAGE, "--nproj must be >= 1");
  if (!(radius > 0.0 && isfinite(radius)))
    return cli_errorf(cmd, CLI_EUSAGE, "--radius must be > 0 (got %g)", radius);
  if (!(rho > 0.0)) return cli_errorf(cmd, CLI_EUSAGE, "--rho must be > 0 (got %g)", rho);
  if (!cli_grid_is_named(grid))
    return cli_errorf(cmd, CLI_EUSAGE, "unknown --grid '%s' (" CLI_GRID_NAMES ")", grid);
  if (cls > 1000000) return cli_errorf(cmd, CLI_EUSAGE, "--class %zu is out of range", cls);
  enum { CAP = 64 };
  char sbuf[1024], nbuf[512], mbuf[256];
  char *snames[CAP], *nitems[CAP], *mitems[CAP];
  if (strlen(samplers) >= sizeof sbuf || strlen(nfes) >= sizeof nbuf ||
      (metrics && strlen(metrics) >= sizeof mbuf))
    return cli_errorf(cmd, CLI_EUSAGE, "a list option is too long");
  strcpy(sbuf, samplers);
  strcpy(nbuf, nfes);
  const size_t ns = split(sbuf, snames, CAP), nn = split(nbuf, nitems, CAP);
  if (!ns) return cli_errorf(cmd, CLI_EUSAGE, "--samplers: an empty or too long list '%s'", samplers);
  if (!nn) return cli_errorf(cmd, CLI_EUSAGE, "--nfe: an empty or too long list '%s'", nfes);
  const dpm_sampler_type *types[CAP];
  size_t budget[CAP], Kmax;
  if ((rc = cli_sampler_list(cmd, "samplers", snames, ns, types)) ||
      (rc = cli_count_list(cmd, "nfe", nitems, nn, budget, &Kmax)))
    return rc;
  int want[M_COUNT] = {0};
  dpm_process proc;
  if ((rc = cli_process_setup(cmd, procspec, cli_seen(opts, "t-end"), t_end, &proc))) return rc;
  dpm_mixture *mix = cli_load_data(cmd, data);
  if (!mix) {
    dpm_process_clear(&proc);
    return CLI_EDATA;
  }
  if (metrics)
    strcpy(mbuf, metrics);
  else
    strcpy(mbuf, mix->d == 1 ? "w1" : "mmd");
  const size_t nm = split(mbuf, mitems, CAP);
  int order[CAP];
  rc = nm ? CLI_OK : cli_errorf(cmd, CLI_EUSAGE, "--metric: an empty list");
  for (size_t i = 0; !rc && i < nm; i++) {
    int m = -1;
    for (int k = 0; k < M_COUNT; k++)
      if (strcmp(mitems[i], metric_names[k]) == 0) m = k;
    if (m < 0)
      rc = cli_errorf(cmd, CLI_EUSAGE,
                      "--metric: unknown '%s' (logq, mmd, energy, sw2, w1, ks, modes, nearest, memo)", mitems[i]);
    else
      want[order[i] = m] = 1;
  }
  if (rc) {
    dpm_mixture_free(mix);
    dpm_process_clear(&proc);
    return rc;
  }
  const size_t d = mix->d;
  cli_model mdl = {0};
  dpm_mixture *truth_owned = NULL;
  dpm_timeline *tl = NULL;
  dpm_out *out = NULL;
  double *x = malloc(n * d * sizeof *x), *ref = malloc(n * d * sizeof *ref);
  const double *pts = NULL;
  size_t npts = 0, rows = 0, last = 0;
  char notes[8192] = "";
  rc = CLI_EDATA;
  if (!x || !ref) {
    cli_errorf(cmd, CLI_EDATA, "out of memory (n = %zu, d = %zu)", n, d);
    goto done;
  }
  if ((rc = cli_model_build(cmd, mix, dspec, guide, cli_seen(opts, "class"), (int)cls, cli_seen(opts, "guidance"),
                            w, &mdl)))
    goto done;
  rc = CLI_EDATA;
  const dpm_mixture *truth = mix;
  if (cli_seen(opts, "class")) {
    if (!(truth_owned = dpm_guidance_class_mixture(mix, (int)cls))) {
      cli_fail(cmd, CLI_EDATA, "--class");
      goto done;
    }
    truth = truth_owned;
  }
  if (want[M_NEAREST] || want[M_MEMO]) { /* the training set: the empirical denoiser's, or a point-set data set */
    const dpm_mixture *ps = mdl.inner ? dpm_denoiser_memorise_points(mdl.inner) : NULL;
    if (!ps && dpm_mixture_is_pointset(mix)) ps = mix;
    if (!ps) {
      rc =
          cli_errorf(cmd, CLI_EUSAGE, "--metric nearest/memo need --denoiser empirical:n=N or a point-set --data");
      goto done;
    }
    pts = ps->mu;
    npts = ps->K;
  }
  if (want[M_MMD] || want[M_ENERGY] || want[M_SW2]) { /* n exact draws of the truth, stream (seed, 2^40) */
    dpm_mixture_sample_workspace *ws = dpm_mixture_sample_alloc(truth);
    gsl_rng *r = dpm_rng_stream_alloc(seed, 1ULL << 40);
    const int st = ws && r ? dpm_mixture_sample(truth, ws, r, n, ref, NULL) : GSL_ENOMEM;
    dpm_mixture_sample_free(ws);
    gsl_rng_free(r);
    if (st) {
      cli_fail(cmd, CLI_EDATA, "reference draws");
      goto done;
    }
  }
  if (!(tl = dpm_timeline_alloc(Kmax)) || !(out = cli_out_open(cmd, outp, argc, argv, !meta))) {
    if (!tl) cli_fail(cmd, CLI_EDATA, "timeline");
    goto done;
  }
  FILE *fp = dpm_out_file(out);
  if (meta) fprintf(fp, "# process: %s\n# grid: %s\n# model: %s\n", procspec, proc.sch ? "even" : grid, mdl.what);
  fputs("sampler,nfe,steps,metric,value,se\n", fp);
  dpm_denoiser *dn = cli_model_denoiser(&mdl);
  for (size_t i = 0; i < ns; i++) {
    const dpm_sampler_type *T = types[i];
    for (size_t b = 0; b < nn; b++) {
      if (T->nfe_per_step == 0) {
        note(notes, sizeof notes, &last,
             "skipping %s at NFE %zu: adaptive step count (its NFE is not set by steps)", T->name, budget[b]);
        continue;
      }
      const size_t K = (size_t)floor((double)budget[b] / T->nfe_per_step + 0.5);
      const int disc = proc.sch != NULL;
      if (K < 1 || (disc && (K > proc.sch->N || (K < 2 && proc.sch->N > 1)))) {
        note(notes, sizeof notes, &last, "skipping %s at NFE %zu: %zu steps do not fit", T->name, budget[b], K);
        continue;
      }
      dpm_error_clear();
      dpm_sampler *smp = NULL;
      unsigned long nfe = 0;
      int st = disc ? dpm_timeline_set_trajectory(tl, &proc, "even", K, NULL)
                    : cli_timeline_set_grid(tl, &proc, grid, K, rho);
      if (!st) st = (smp = dpm_sampler_alloc(T, n, d, K)) ? 0 : GSL_ENOMEM;
      if (!st) {
        dpm_sampler_problem pb = {.dn = dn, .tl = tl, .sigma2 = NULL, .mix = mix};
        dpm_sampler_params_default(&pb.par);
        pb.par.gamma_seed = seed;
        st = dpm_sampler_run(smp, &pb, seed, n, x, 0, &nfe);
      }
      dpm_sampler_free(smp);
      if (st) {
        note(notes, sizeof notes, &last, "skipping %s at NFE %zu: %s", T->name, budget[b],
             dpm_error_last() ? dpm_error_last() : "failed");
        continue;
      }
      for (size_t k = 0; k < nm; k++) {
        double v = NAN, se = NAN;
        if (metric_eval(order[k], truth, n, x, ref, pts, npts, radius, nproj, seed, &v, &se)) {
          note(notes, sizeof notes, &last, "%s at NFE %zu, metric %s: %s", T->name, budget[b],
               metric_names[order[k]], dpm_error_last() ? dpm_error_last() : "failed");
          continue;
        }
        fprintf(fp, "%s,%lu,%zu,%s,%.17g,%.17g\n", T->name, nfe, K, metric_names[order[k]], v, se);
        rows++;
      }
    }
  }
  if (!rows) { /* one line: the reason of the last combination */
    const size_t len = strlen(notes);
    if (len && notes[len - 1] == '\n') notes[len - 1] = '\0';
    cli_errorf(cmd, CLI_EDATA, "no (sampler, NFE) combination could be run (last: %s)", notes + last);
    goto done;
  }
  fputs(notes, stderr);
  rc = dpm_out_close(out, 1) ? cli_fail(cmd, CLI_EDATA, "write failed") : CLI_OK;
  out = NULL;
done:
  if (out) dpm_out_close(out, 0);
  dpm_timeline_free(tl);
  cli_model_clear(&mdl);
  dpm_mixture_free(truth_owned);
  free(x);
  free(ref);
  dpm_mixture_free(mix);
  dpm_process_clear(&proc);
  return rc;
}
