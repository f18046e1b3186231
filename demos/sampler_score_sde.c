/* sampler_score_sde.c — the picture of score-based generative modelling (Song et al., ICLR 2021, Figure 1 and
 * eq. (6), (13)): log q_t(x) of the 1-D mixture gmm1d under the VP SDE as a heat map over (t, x) from the oracle,
 * with paths of the reverse SDE and of the probability-flow ODE drawn on top, each walked by a sampler of the
 * table with the exact denoiser (docs/MATH.md §1, §2, §4; update rules in docs/samplers.md). The notebook checks
 * that both samplers end at q_0 (exact W1 and KS against the mixture CDF) and that the step-by-step walk is the
 * sampler's own run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "demo.h"

#define DATA_SPEC "gmm1d"
#define NPATH     8
#define XHALF     4.5
#define LOGQ_MIN  (-7.0)

/* the reverse-SDE and probability-flow samplers, each the first of its list present in the table: the intended
 * methods first, then the DDIM-family entries that solve the same equations to first order */
static const char *const SDE_NAMES[] = {"euler-maruyama", "reverse-diffusion", "ddpm", NULL};
static const char *const ODE_NAMES[] = {"heun", "ode-euler", "ddim", NULL};

typedef struct {
  size_t nt, nx, K, nq;
} sizes;

static const dpm_sampler_type *first_present(const char *const *names, size_t *rank)
{
  for (size_t i = 0; names[i]; i++) {
    const dpm_sampler_type *T = dpm_sampler_type_find(names[i]);
    if (T) {
      *rank = i;
      return T;
    }
  }
  return NULL;
}

/* The results the notebook quotes. */
typedef struct {
  const dpm_sampler_type *T[2]; /* SDE, ODE */
  size_t rank[2];               /* position in its list: 0 = the intended method */
  sizes z;
  double w1[3], w1_se[3], ks[3]; /* SDE, ODE, exact samples of q_0 */
  double ks_bound;               /* DKW at level 1e-3 */
  double walk_vs_run[2];         /* max |walk end - run end| (NAN when not comparable) */
  unsigned long nfe[2];          /* NFE of one full run */
  double x_end_range[2];
} results;

/* Walk the n points x (start at t[0]) over the K steps of the times t one step at a time (a timeline of one step
 * per call), recording path[(k) n + j] after k steps; the step k draws its noise from the streams
 * (demo_seed(stream0 + k), j). */
static int walk(const demo_ctx *ctx, const dpm_sampler_type *T, dpm_denoiser *dn, const dpm_process *p,
                const dpm_mixture *mix, size_t K, const double *t, uint64_t stream0, size_t n, double *x,
                double *path)
{
  dpm_sampler *smp = dpm_sampler_alloc(T, n, 1, 1);
  dpm_timeline *tl = dpm_timeline_alloc(1);
  int st = smp && tl ? DPM_SUCCESS : GSL_ENOMEM;
  dpm_sampler_problem pb = {.dn = dn, .tl = tl, .mix = mix};
  dpm_sampler_params_default(&pb.par);
  memcpy(path, x, n * sizeof(double));
  for (size_t k = 0; k < K && !st; k++) {
    const double tk[2] = {t[k], t[k + 1]};
    st = dpm_timeline_set_times(tl, p, 1, tk);
    if (!st) st = dpm_sampler_run(smp, &pb, demo_seed(ctx, stream0 + k), n, x, 1, NULL);
    memcpy(path + (k + 1) * n, x, n * sizeof(double));
  }
  dpm_sampler_free(smp);
  dpm_timeline_free(tl);
  return st;
}

/* One full run of K steps over the times t: x (n) from its start, nfe its NFE. */
static int run_full(const dpm_sampler_type *T, dpm_denoiser *dn, const dpm_process *p, const dpm_mixture *mix,
                    size_t K, const double *t, uint64_t seed, size_t n, double *x, unsigned long *nfe)
{
  dpm_sampler *smp = dpm_sampler_alloc(T, n, 1, K);
  dpm_timeline *tl = dpm_timeline_alloc(K);
  int st = smp && tl ? DPM_SUCCESS : GSL_ENOMEM;
  dpm_sampler_problem pb = {.dn = dn, .tl = tl, .mix = mix};
  dpm_sampler_params_default(&pb.par);
  if (!st) st = dpm_timeline_set_times(tl, p, K, t);
  if (!st) st = dpm_sampler_run(smp, &pb, seed, n, x, 1, nfe);
  dpm_sampler_free(smp);
  dpm_timeline_free(tl);
  return st;
}

/* Exact W1 of n points as 5 batches: the mean and its standard error over the batches. */
static int w1_batches(const dpm_mixture *mix, size_t n, const double *x, double *mean, double *se)
{
  const size_t B = 5, nb = n / B;
  double s1 = 0.0, s2 = 0.0;
  for (size_t b = 0; b < B; b++) {
    double w;
    int st = dpm_metrics_w1_exact(mix, nb, x + b * nb, &w);
    if (st) return st;
    s1 += w;
    s2 += w * w;
  }
  *mean = s1 / (double)B;
  *se = sqrt(fmax(s2 / (double)B - *mean * *mean, 0.0) / (double)(B - 1));
  return DPM_SUCCESS;
}

static int compute(const demo_ctx *ctx, const dpm_mixture *mix, results *R)
{
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VP);
  const sizes z = R->z;
  dpm_oracle *o = dpm_oracle_alloc(mix);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  double *xs = malloc(z.nx * sizeof(double)), *lq = malloc(z.nt * z.nx * sizeof(double));
  double *row = malloc((z.nt + 1 > NPATH + 1 ? z.nt + 1 : NPATH + 1) * sizeof(double));
  double *t = malloc((z.K + 1) * sizeof(double));
  double *path[2] = {malloc((z.K + 1) * NPATH * sizeof(double)), malloc((z.K + 1) * NPATH * sizeof(double))};
  double *xq = malloc(z.nq * sizeof(double)), *x0 = malloc(z.nq * sizeof(double));
  dpm_mixture_sample_workspace *msw = dpm_mixture_sample_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(ctx->seed, 0);
  dpm_out *out = NULL;
  int st =
      (o && dn && xs && lq && row && t && path[0] && path[1] && xq && x0 && msw && r) ? DPM_SUCCESS : GSL_ENOMEM;
  if (!st) st = dpm_grid_uniform(p.t_max, p.t_min, z.K + 1, t);
  if (!st)
    out = demo_dat_open(ctx, ctx->data_path,
                        "log q_t of gmm1d under the VP SDE with reverse-SDE and "
                        "probability-flow paths");
  if (!st && !out) st = GSL_EFAILED;
  FILE *fp = out ? dpm_out_file(out) : NULL;

  /* the heat map: cell centres t = t_min + (j + 1/2)(1 - t_min)/nt */
  for (size_t i = 0; i < z.nx && !st; i++)
    xs[i] = XHALF * (-1.0 + 2.0 * (double)i / (double)(z.nx - 1));
  for (size_t j = 0; j < z.nt && !st; j++) {
    double tj = p.t_min + ((double)j + 0.5) * (p.t_max - p.t_min) / (double)z.nt, m, s;
    dpm_process_ms(&p, tj, &m, &s);
    dpm_oracle_result res = {0};
    res.logq = lq + j * z.nx;
    st = dpm_oracle_eval(o, m, s, z.nx, xs, &res);
  }
  if (!st) {
    demo_dat_block(fp, "logq",
                   "gnuplot nonuniform matrix: first row NT then t_1..t_NT; then per row x_i and "
                   "log q_t(x_i)");
    row[0] = (double)z.nt;
    for (size_t j = 0; j < z.nt; j++)
      row[1 + j] = p.t_min + ((double)j + 0.5) * (p.t_max - p.t_min) / (double)z.nt;
    demo_dat_row(fp, z.nt + 1, row);
    for (size_t i = 0; i < z.nx; i++) {
      row[0] = xs[i];
      for (size_t j = 0; j < z.nt; j++)
        row[1 + j] = lq[j * z.nx + i];
      demo_dat_row(fp, z.nt + 1, row);
    }
  }

  /* the paths: the same NPATH starts x_T ~ N(0, s_T^2) for both samplers (stream (seed, 0)) */
  double xstart[NPATH], s_T, m_T;
  dpm_process_ms(&p, p.t_max, &m_T, &s_T);
  for (size_t k = 0; k < NPATH; k++)
    xstart[k] = s_T * gsl_ran_gaussian_ziggurat(r, 1.0);
  for (size_t q = 0; q < 2 && !st; q++) {
    double x[NPATH];
    memcpy(x, xstart, sizeof x);
    st = walk(ctx, R->T[q], dn, &p, mix, z.K, t, 1 + q * z.K, NPATH, x, path[q]);
    if (st) break;
    demo_dat_block(fp, q == 0 ? "paths_sde" : "paths_ode", "t x_t(path 1) ... x_t(path 8)");
    for (size_t k = 0; k <= z.K; k++) {
      row[0] = t[k];
      memcpy(row + 1, path[q] + k * NPATH, NPATH * sizeof(double));
      demo_dat_row(fp, NPATH + 1, row);
    }
    /* the walk against one run over the whole timeline: the same for a deterministic one-step method */
    R->walk_vs_run[q] = NAN;
    if (!(R->T[q]->flags & DPM_SAMPLER_STOCHASTIC) && R->T[q]->history == 0) {
      memcpy(x, xstart, sizeof x);
      st = run_full(R->T[q], dn, &p, mix, z.K, t, ctx->seed, NPATH, x, NULL);
      double worst = 0.0;
      for (size_t k = 0; k < NPATH; k++)
        worst = fmax(worst, fabs(x[k] - path[q][z.K * NPATH + k]));
      R->walk_vs_run[q] = worst;
    }
  }
  if (!st) {
    /* the samplers' names, read by the figure script as this block's column names */
    char names[256];
    snprintf(names, sizeof names, "%s %s", R->T[0]->name, R->T[1]->name);
    demo_dat_block(fp, "samplers", names);
  }
  int cst = out ? demo_dat_close(out, st == DPM_SUCCESS) : DPM_SUCCESS;
  if (!st) st = cst;

  /* sample quality of each sampler's full run from nq prior draws, and of exact draws of q_0 (the floor) */
  for (size_t k = 0; k < z.nq && !st; k++)
    x0[k] = s_T * gsl_ran_gaussian_ziggurat(r, 1.0);
  for (size_t q = 0; q < 3 && !st; q++) {
    if (q < 2) {
      memcpy(xq, x0, z.nq * sizeof(double));
      st = run_full(R->T[q], dn, &p, mix, z.K, t, demo_seed(ctx, 1000 + q), z.nq, xq, &R->nfe[q]);
    } else
      st = dpm_mixture_sample(mix, msw, r, z.nq, xq, NULL);
    if (!st) st = w1_batches(mix, z.nq, xq, &R->w1[q], &R->w1_se[q]);
    if (!st) st = dpm_metrics_ks_exact(mix, z.nq, xq, &R->ks[q]);
  }
  R->ks_bound = sqrt(log(2.0 / 1e-3) / (2.0 * (double)z.nq));

  dpm_oracle_free(o);
  dpm_denoiser_free(dn);
  dpm_mixture_sample_free(msw);
  if (r) gsl_rng_free(r);
  free(xs);
  free(lq);
  free(row);
  free(t);
  free(path[0]);
  free(path[1]);
  free(xq);
  free(x0);
  return st;
}

static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const results *R = arg;
  const char *spec[1] = {DATA_SPEC};
  demo_val_text(fp, "spec", 1, spec);
  const char *names[2] = {R->T[0]->name, R->T[1]->name};
  const char *refs[2] = {R->T[0]->reference, R->T[1]->reference};
  demo_val_text(fp, "sampler", 2, names);
  demo_val_text(fp, "reference", 2, refs);
  const char *fallback[2] = {R->rank[0] ? "a stand-in (euler-maruyama is not in the table yet)"
                                        : "the intended "
                                          "method",
                             R->rank[1] ? "a stand-in (heun is not in the table yet)" : "the intended method"};
  demo_val_text(fp, "which", 2, fallback);
  demo_val1(fp, "npath", NPATH);
  demo_val1(fp, "K", (double)R->z.K);
  demo_val1(fp, "nq", (double)R->z.nq);
  double nfe[2] = {(double)R->nfe[0], (double)R->nfe[1]};
  demo_val(fp, "nfe", 2, nfe);
  demo_val(fp, "w1", 3, R->w1);
  demo_val(fp, "w1_se", 3, R->w1_se);
  demo_val(fp, "ks", 3, R->ks);
  demo_val1(fp, "ks_bound", R->ks_bound);
  demo_val(fp, "walk_vs_run", 2, R->walk_vs_run);
  return DPM_SUCCESS;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc = demo_init(&ctx, "sampler_score_sde",
                     "The score_sde picture: log q_t of a 1-D mixture under the VP SDE with reverse-SDE and "
                     "probability-flow paths drawn by samplers of the table.",
                     argc, argv);
  if (rc) return rc < 0 ? 0 : rc;

  results R = {0};
  R.z = ctx.quick ? (sizes){80, 91, 60, 1000} : (sizes){300, 241, 400, 20000};
  R.T[0] = first_present(SDE_NAMES, &R.rank[0]);
  R.T[1] = first_present(ODE_NAMES, &R.rank[1]);
  if (!R.T[0] || !R.T[1]) {
    fprintf(stderr, "sampler_score_sde: no reverse-SDE or probability-flow sampler in the table\n");
    return 1;
  }
  demo_progress(&ctx, "reverse SDE: %s, probability flow: %s, %zu steps", R.T[0]->name, R.T[1]->name, R.z.K);
  dpm_mixture *mix = dpm_data_from_spec(DATA_SPEC);
  if (!mix) return demo_fail(&ctx, "loading " DATA_SPEC);
  int st = compute(&ctx, mix, &R);
  static const char *const figures[1] = {"sampler_score_sde"};
  rc = st ? demo_fail(&ctx, "computing the paths") : demo_publish(&ctx, 1, figures, write_values, &R);
  dpm_mixture_free(mix);
  return rc;
}
