/* optim_memorisation.c — memorisation in the optimisation view (Permenter & Yuan, arXiv 2306.04848, §3; the
 * closed-form observation of Scarvelis, Borde & Solomon 2023): the share of samples within a tenth of the spacing
 * of a training point against the number of steps N, for ddim, ge and DPM-Solver-2 with the ideal denoiser of a
 * finite set, a relative-error model and the smoothed model (the ideal denoiser read at sqrt(sigma^2 + h^2)),
 * with binomial standard errors; and, on a circle set embedded in R^16, the mean distance of DDIM iterates to the
 * finite set against the distance to the circle it samples, along the trajectory (docs/MATH.md §2.10). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "demo.h"
#include "dpm_imperfect.h"
#include "dpm_optim.h"

#define DATA_SPEC  "circle:n=8"
#define MAN_SPEC   "circle:n=12,d=16"
#define PROC_SPEC  "edm:sigma_min=1e-3,sigma_max=10"
#define GRID       "uniform"
#define REL_RADIUS 0.1 /* radius / nearest-neighbour spacing */
#define RELERR     0.3 /* eta_err of the relative-error model */
#define SMOOTH_H   0.4 /* h of the smoothed model (about half the spacing 0.765 of circle:n=8) */
#define MAN_H      0.3 /* h of the smoothed model on MAN_SPEC (about half its spacing 0.518) */
#define MAN_SIG0   10.0
#define MAN_SIGK   1e-3
#define NSMP       3
#define NDN        3
#define MAXN       10

static const char *const SAMPLERS[NSMP] = {"ddim", "ge", "dpm-solver-2"};
static const char *const DN_NAMES[NDN] = {"ideal", "relative error", "smoothed"};
static const char *const DN_KEYS[NDN] = {"exact", "relerr", "smoothed"};

typedef struct {
  double share, se, dist, dist_se, man;
  unsigned long nfe;
} cell;

typedef struct {
  size_t n, nN, man_n, man_K;
  size_t N[MAXN];
  double spacing, radius, man_spacing;
  cell c[NSMP][NDN][MAXN];
  double man_end[2][2]; /* [model][0: to the set, 1: to the circle] at the last sigma */
  size_t first_one;     /* the smallest N at which ddim with the ideal denoiser has share 1 (0: none) */
} results;

/* The share table: every (sampler, model, N) from the same prior draws (stream (seed, j)). */
static int share_table(const demo_ctx *ctx, const dpm_mixture *mix, results *R, FILE *fp)
{
  const size_t d = mix->d, n = R->n;
  dpm_process p;
  int st = dpm_process_parse(&p, PROC_SPEC);
  if (st) return st;
  dpm_denoiser *ex = dpm_denoiser_oracle_alloc(mix);
  dpm_denoiser *dn[NDN] = {ex, ex ? dpm_denoiser_relerr_alloc(ex, RELERR, demo_seed(ctx, 3)) : NULL,
                           ex ? dpm_denoiser_smoothed_alloc(ex, SMOOTH_H) : NULL};
  const size_t Kmax = R->N[R->nN - 1];
  dpm_timeline *tl = dpm_timeline_alloc(Kmax);
  double *x = malloc(n * d * sizeof *x), *md = malloc(n * sizeof *md);
  if (!dn[0] || !dn[1] || !dn[2] || !tl || !x || !md) st = GSL_ENOMEM;
  if (!st) st = dpm_optim_nn_spacing(mix->K, d, mix->mu, &R->spacing);
  R->radius = REL_RADIUS * R->spacing;
  for (size_t a = 0; a < NSMP && !st; a++) {
    const dpm_sampler_type *T = dpm_sampler_type_find(SAMPLERS[a]);
    dpm_sampler *smp = T ? dpm_sampler_alloc(T, n, d, Kmax) : NULL;
    if (!smp) {
      st = T ? GSL_ENOMEM : DPM_RAISE(GSL_EINVAL, "sampler %s is not in the table", SAMPLERS[a]);
      break;
    }
    demo_progress(ctx, "share against N: %s", SAMPLERS[a]);
    for (size_t m = 0; m < NDN && !st; m++) {
      char blk[32];
      snprintf(blk, sizeof blk, "share_%s_%s", SAMPLERS[a], DN_KEYS[m]);
      demo_dat_block(fp, blk, "N nfe share share_se mean_dist mean_dist_se manifold_dist");
      for (size_t k = 0; k < R->nN && !st; k++) {
        cell *c = &R->c[a][m][k];
        dpm_sampler_problem pb = {.dn = dn[m], .tl = tl, .mix = mix};
        dpm_sampler_params_default(&pb.par);
        st = dpm_timeline_set_grid(tl, &p, GRID, R->N[k], 0.0);
        if (!st) st = dpm_sampler_run(smp, &pb, demo_seed(ctx, 1), n, x, 0, &c->nfe);
        if (!st)
          st = dpm_optim_memorisation(mix->K, d, mix->mu, n, x, REL_RADIUS, &c->share, &c->se, &c->dist,
                                      &c->dist_se, NULL);
        if (!st) st = dpm_optim_sphere_dist(1, 1.0, d, n, x, md);
        if (st) {
          dpm_error_context("%s, %s, N = %zu", SAMPLERS[a], DN_NAMES[m], R->N[k]);
          break;
        }
        c->man = 0.0;
        for (size_t i = 0; i < n; i++)
          c->man += md[i] / (double)n;
        const double v[7] = {(double)R->N[k], (double)c->nfe, c->share, c->se, c->dist, c->dist_se, c->man};
        demo_dat_row(fp, 7, v);
      }
    }
    dpm_sampler_free(smp);
  }
  R->first_one = 0;
  for (size_t k = 0; k < R->nN && !R->first_one; k++)
    if (R->c[0][0][k].share == 1.0) R->first_one = R->N[k];
  free(md);
  free(x);
  dpm_timeline_free(tl);
  dpm_denoiser_free(dn[2]);
  dpm_denoiser_free(dn[1]);
  dpm_denoiser_free(ex);
  dpm_process_clear(&p);
  return st;
}

/* DDIM (the VE step of dpm_optim_ddim_step) over a log-linear grid from MAN_SIG0 to MAN_SIGK on the circle set
 * in R^16, from n draws of N(0, MAN_SIG0^2 I): the mean distance to the set and to the circle at every sigma, for
 * the ideal and the smoothed model. */
static int manifold_panel(const demo_ctx *ctx, results *R, FILE *fp)
{
  dpm_mixture *mix = dpm_data_from_spec(MAN_SPEC);
  if (!mix) return GSL_EINVAL;
  const size_t d = mix->d, n = R->man_n, K = R->man_K;
  R->man_spacing = NAN;
  dpm_denoiser *ex = dpm_denoiser_oracle_alloc(mix);
  dpm_denoiser *sm = ex ? dpm_denoiser_smoothed_alloc(ex, MAN_H) : NULL;
  double *x = malloc(n * d * sizeof *x), *ds = malloc(n * sizeof *ds), *dm = malloc(n * sizeof *dm);
  int st = (ex && sm && x && ds && dm) ? DPM_SUCCESS : GSL_ENOMEM;
  if (!st) st = dpm_optim_nn_spacing(mix->K, d, mix->mu, &R->man_spacing);
  dpm_denoiser *dn[2] = {ex, sm};
  for (int m = 0; m < 2 && !st; m++) {
    demo_progress(ctx, "distance to the set and to the circle along DDIM: %s", m ? "smoothed" : "ideal");
    demo_dat_block(fp, m ? "man_smoothed" : "man_ideal", "sigma dist_set dist_set_se dist_circle dist_circle_se");
    gsl_rng *r = dpm_rng_stream_alloc(demo_seed(ctx, 5), 0);
    if (!r) {
      st = GSL_ENOMEM;
      break;
    }
    for (size_t i = 0; i < n * d; i++)
      x[i] = MAN_SIG0 * gsl_ran_gaussian_ziggurat(r, 1.0);
    gsl_rng_free(r);
    for (size_t k = 0; k <= K && !st; k++) {
      const double sig = MAN_SIG0 * pow(MAN_SIGK / MAN_SIG0, (double)k / (double)K);
      st = dpm_optim_diagnose(mix->K, d, mix->mu, NULL, sig, n, x, ds, NULL, NULL, NULL, NULL);
      if (!st) st = dpm_optim_sphere_dist(1, 1.0, d, n, x, dm);
      if (st) break;
      double a = 0, b = 0, a2 = 0, b2 = 0;
      for (size_t i = 0; i < n; i++)
        a += ds[i] / (double)n, b += dm[i] / (double)n;
      for (size_t i = 0; i < n; i++)
        a2 += (ds[i] - a) * (ds[i] - a), b2 += (dm[i] - b) * (dm[i] - b);
      const double v[5] = {sig, a, sqrt(a2 / (double)(n - 1) / (double)n), b,
                           sqrt(b2 / (double)(n - 1) / (double)n)};
      demo_dat_row(fp, 5, v);
      if (k == K) R->man_end[m][0] = a, R->man_end[m][1] = b;
      if (k < K) {
        const double next = MAN_SIG0 * pow(MAN_SIGK / MAN_SIG0, (double)(k + 1) / (double)K);
        st = dpm_optim_ddim_step(dn[m], sig, next, n, x, x);
      }
    }
  }
  free(dm);
  free(ds);
  free(x);
  dpm_denoiser_free(sm);
  dpm_denoiser_free(ex);
  dpm_mixture_free(mix);
  return st;
}

static int compute(const demo_ctx *ctx, const dpm_mixture *mix, results *R)
{
  dpm_out *out = demo_dat_open(ctx, ctx->data_path,
                               "memorised share against N per sampler and model (circle:n=8, EDM process, grid "
                               "uniform in sigma); distances to the set and to the circle along DDIM (R^16)");
  if (!out) return GSL_EFAILED;
  FILE *fp = dpm_out_file(out);
  demo_dat_block(fp, "points", "y_1 y_2 (the set)");
  for (size_t i = 0; i < mix->K; i++)
    demo_dat_row(fp, 2, mix->mu + i * 2);
  int st = share_table(ctx, mix, R, fp);
  if (!st) st = manifold_panel(ctx, R, fp);
  const int cst = demo_dat_close(out, st == DPM_SUCCESS);
  return st ? st : cst;
}

static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const results *R = arg;
  const char *spec[1] = {DATA_SPEC}, *mspec[1] = {MAN_SPEC}, *proc[1] = {PROC_SPEC}, *grid[1] = {GRID};
  demo_val_text(fp, "spec", 1, spec);
  demo_val_text(fp, "man_spec", 1, mspec);
  demo_val_text(fp, "proc", 1, proc);
  demo_val_text(fp, "grid", 1, grid);
  demo_val1(fp, "n", (double)R->n);
  demo_val1(fp, "rel_radius", REL_RADIUS);
  demo_val1(fp, "spacing", R->spacing);
  demo_val1(fp, "radius", R->radius);
  demo_val1(fp, "relerr", RELERR);
  demo_val1(fp, "h", SMOOTH_H);
  demo_val1(fp, "man_h", MAN_H);
  demo_val1(fp, "man_spacing", R->man_spacing);
  demo_val1(fp, "man_n", (double)R->man_n);
  demo_val1(fp, "man_K", (double)R->man_K);
  demo_val1(fp, "man_sig0", MAN_SIG0);
  demo_val1(fp, "man_sigK", MAN_SIGK);
  demo_val(fp, "man_end_ideal", 2, R->man_end[0]);
  demo_val(fp, "man_end_smoothed", 2, R->man_end[1]);
  demo_val_sizes(fp, "N", R->nN, R->N);
  demo_val1(fp, "first_one", (double)R->first_one);
  demo_val1(fp, "N_last", (double)R->N[R->nN - 1]);
  /* one table row per (sampler, model): share and se at every N */
  const char *rname[NSMP * NDN];
  char names[NSMP * NDN][64], key[64];
  for (size_t a = 0; a < NSMP; a++)
    for (size_t m = 0; m < NDN; m++) {
      const size_t r = a * NDN + m;
      snprintf(names[r], sizeof names[r], "`%s`, %s", SAMPLERS[a], DN_NAMES[m]);
      rname[r] = names[r];
      double v[2 * MAXN];
      for (size_t k = 0; k < R->nN; k++)
        v[2 * k] = R->c[a][m][k].share, v[2 * k + 1] = R->c[a][m][k].se;
      snprintf(key, sizeof key, "share_row[%zu]", r);
      demo_val(fp, key, 2 * R->nN, v);
      for (size_t k = 0; k < R->nN; k++)
        v[2 * k] = R->c[a][m][k].dist, v[2 * k + 1] = R->c[a][m][k].man;
      snprintf(key, sizeof key, "dist_row[%zu]", r);
      demo_val(fp, key, 2 * R->nN, v);
    }
  demo_val_text(fp, "row_name", NSMP * NDN, rname);
  static const char *const rule[2 * MAXN] = {
      "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:",
      "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"};
  char heads[2 * MAXN][48];
  const char *head[2 * MAXN];
  for (size_t k = 0; k < R->nN; k++) {
    snprintf(heads[2 * k], sizeof heads[0], "$N = %zu$", R->N[k]);
    snprintf(heads[2 * k + 1], sizeof heads[0], "s.e.");
    head[2 * k] = heads[2 * k], head[2 * k + 1] = heads[2 * k + 1];
  }
  demo_val_text(fp, "share_head", 2 * R->nN, head);
  demo_val_text(fp, "share_rule", 2 * R->nN, rule);
  for (size_t k = 0; k < R->nN; k++) {
    snprintf(heads[2 * k], sizeof heads[0], "set, $N = %zu$", R->N[k]);
    snprintf(heads[2 * k + 1], sizeof heads[0], "circle");
  }
  demo_val_text(fp, "dist_head", 2 * R->nN, head);
  /* the ideal denoiser's share grows: the largest drop between successive N in standard errors of the difference
   * (negative: it never drops) and the rise from the first N to the last */
  const cell *c = R->c[0][0];
  double worst = -INFINITY;
  for (size_t k = 1; k < R->nN; k++)
    worst = fmax(worst, (c[k - 1].share - c[k].share) / fmax(hypot(c[k].se, c[k - 1].se), 1e-300));
  demo_val1(fp, "worst_drop_se", worst);
  const cell *last = &R->c[0][2][R->nN - 1];
  const double sm_last[3] = {last->share, last->se, last->man};
  demo_val(fp, "smoothed_last", 3, sm_last);
  return DPM_SUCCESS;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc = demo_init(&ctx, "optim_memorisation",
                     "Memorisation, measured: the share of samples regenerating a training point against the "
                     "steps for the ideal, relative-error and smoothed denoisers; distance to the set against the "
                     "distance to the manifold along DDIM.",
                     argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  static results R;
  if (ctx.quick) {
    R.n = 200, R.nN = 5, R.man_n = 100, R.man_K = 40;
    const size_t Nq[5] = {4, 16, 64, 128, 512};
    memcpy(R.N, Nq, sizeof Nq);
  } else {
    R.n = 2000, R.nN = 8, R.man_n = 1000, R.man_K = 100;
    const size_t Nf[8] = {4, 8, 16, 32, 64, 128, 256, 512};
    memcpy(R.N, Nf, sizeof Nf);
  }
  dpm_mixture *mix = dpm_data_from_spec(DATA_SPEC);
  if (!mix) return demo_fail(&ctx, "loading " DATA_SPEC);
  int st = compute(&ctx, mix, &R);
  static const char *const figures[1] = {"optim_memorisation"};
  rc = st ? demo_fail(&ctx, "computing the shares") : demo_publish(&ctx, 1, figures, write_values, &R);
  dpm_mixture_free(mix);
  return rc;
}
