/* sampler_guidance.c — the edm2 toy panel (Karras et al. 2024, "Guiding a diffusion model with a bad version of
 * itself", Figure 2) with exact scores: log q_sigma of a labelled 2-D mixture under the EDM process at several
 * sigma with score arrows (the oracle), exact draws of q_0 by class, and EDM's Heun sampler (Karras et al. 2022,
 * Algorithm 1) run without guidance, with classifier guidance (Dhariwal & Nichol 2021, eq. 10), classifier-free
 * guidance (Ho & Salimans 2022, eq. 6) and autoguidance (Karras et al. 2024, eq. 2): samples against the
 * class-conditional q_0(x|y) and trajectories with and without guidance (docs/MATH.md §2, §4; docs/samplers.md,
 * "Guidance"). The notebook quotes, for each guidance kind and two weights, the mode weights recovered against the
 * class-conditional's, the share off the class, the mean exact log-density, each with its standard error, and by
 * how much CFG misses its tilted law p(x|y)^(1+w) p(x)^(-w) / Z on a 1-D mixture. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "demo.h"
#include "dpm_guidance.h"

#define SAMPLER   "edm-heun"
#define CLASS_Y   0
#define NCOMP     6
#define NPATH     12
#define NSIGMA    3
#define NROW      8   /* the table: exact draws, none, classifier x2, cfg x2, auto x2 */
#define NPANEL    4   /* the figure's second row: none, classifier, cfg, auto */
#define NBATCH    10  /* batch means for the total-variation distance and the 1-D distances */
#define BOX       3.5 /* the panels show [-BOX, BOX]^2 */
#define AUTO_VAR  0.25
#define SPEC1     "gmm1d:sep=3,sd=0.7"
#define NW1       3
#define TILT_GRID 20001
#define PI        3.14159265358979323846

/* The data: two classes of three elongated Gaussians each (the shape of the edm2 toy: narrow branches, classes
 * that touch); component k has mean MU[k], standard deviations SD_ALONG[k], SD_ACROSS[k] along and across the
 * direction ANGLE[k] (degrees), weight WT[k], class LAB[k]. */
static const double MU[NCOMP][2] = {{-2.0, 1.3},  {-1.0, -1.5}, {0.35, 0.45},
                                    {1.35, 1.35}, {2.1, -0.8},  {0.3, -2.4}};
static const double ANGLE[NCOMP] = {25.0, -60.0, 45.0, 60.0, -30.0, 10.0};
static const double SD_ALONG[NCOMP] = {0.45, 0.40, 0.30, 0.40, 0.45, 0.35};
static const double SD_ACROSS[NCOMP] = {0.10, 0.10, 0.12, 0.10, 0.10, 0.10};
static const double WT[NCOMP] = {0.22, 0.16, 0.12, 0.20, 0.18, 0.12};
static const int LAB[NCOMP] = {0, 0, 0, 1, 1, 1};
static const double SIGMAS[NSIGMA] = {0.2, 0.6, 1.5};
static const double W1D[NW1] = {0.0, 1.0, 3.0};

/* the rows of the table; panel p of the figure shows row PANEL_ROW[p] */
static const char *const ROW_KIND[NROW] = {"exact", "none", "classifier", "classifier",
                                           "cfg",   "cfg",  "auto",       "auto"};
static const double ROW_W[NROW] = {NAN, NAN, 1.0, 4.0, 1.0, 3.0, 1.0, 3.0};
static const size_t PANEL_ROW[NPANEL] = {1, 2, 5, 7};
#define ROW_CLS4 3 /* classifier w = 4 */
#define ROW_CFG3 5 /* cfg w = 3 */

typedef struct {
  size_t ngrid, narrow, K, n, nfig, ntruth, n1;
} sizes;

typedef struct {
  sizes z;
  double pi_y[NCOMP];  /* the class-conditional's weights (0 off the class) */
  double H_y, H_y_err; /* differential entropy of q_0(x|y) */
  double mw[NROW][NCOMP], mw_se[NROW][NCOMP];
  double off[NROW], off_se[NROW]; /* share of samples whose mode is of another class */
  double tv[NROW], tv_se[NROW];   /* TV of the mode weights to pi_y */
  double lq[NROW], lq_se[NROW];   /* mean log q_0(x|y) */
  unsigned long nfe[NROW];
  double cfg_vs_cls; /* max |x_cfg(w = 3) - x_classifier(w = 4)| over the samples */
  double w1t[NW1], w1t_se[NW1], kst[NW1], kst_se[NW1]; /* 1-D CFG against its tilted law */
  double w1c[NW1], w1c_se[NW1];                        /* ... and against q_0(x|y) */
  double ks_bound;
  unsigned long nfe1;
} results;

/* The labelled 2-D mixture of the panel. */
static dpm_mixture *toy_mixture(void)
{
  dpm_mixture *mix = dpm_mixture_alloc(NCOMP, 2);
  int bad = !mix;
  for (size_t k = 0; k < NCOMP && !bad; k++) {
    const double a = ANGLE[k] * PI / 180.0, c = cos(a), s = sin(a);
    const double l1 = SD_ALONG[k] * SD_ALONG[k], l2 = SD_ACROSS[k] * SD_ACROSS[k];
    const double cov[4] = {l1 * c * c + l2 * s * s, (l1 - l2) * c * s, (l1 - l2) * c * s, l1 * s * s + l2 * c * c};
    bad = dpm_mixture_set_mean(mix, k, MU[k]) || dpm_mixture_set_full(mix, k, cov);
  }
  if (!bad) bad = dpm_mixture_set_weights(mix, WT) || dpm_mixture_set_labels(mix, LAB);
  if (bad) {
    dpm_mixture_free(mix);
    return NULL;
  }
  snprintf(mix->name, sizeof mix->name, "sampler_guidance toy");
  return mix;
}

/* The denoisers of the table's rows, built from the exact ones; free with models_free. */
typedef struct {
  dpm_mixture *cond, *weak;
  dpm_mixture_sample_workspace *msw; /* exact draws of cond */
  dpm_denoiser *unc, *dcond, *dweak, *row[NROW];
} models;

static void models_free(models *M)
{
  for (size_t r = 0; r < NROW; r++)
    if (M->row[r] != M->unc) dpm_denoiser_free(M->row[r]);
  dpm_mixture_sample_free(M->msw);
  dpm_denoiser_free(M->unc);
  dpm_denoiser_free(M->dcond);
  dpm_denoiser_free(M->dweak);
  dpm_mixture_free(M->cond);
  dpm_mixture_free(M->weak);
}

/* Row r's model: exact = none (exact draws of q_0(x|y)); none = the unconditional exact denoiser; classifier = it
 * + w grad log p_t(y|x); cfg = (1 + w) cond - w uncond; auto = (1 + w) cond - w weak, weak = q_0(x|y) * N(0,
 * AUTO_VAR I). */
static int models_build(const dpm_mixture *mix, models *M)
{
  memset(M, 0, sizeof *M);
  M->cond = dpm_guidance_class_mixture(mix, CLASS_Y);
  M->weak = M->cond ? dpm_guidance_weak_mixture(M->cond, AUTO_VAR, 0) : NULL;
  M->unc = dpm_denoiser_oracle_alloc(mix);
  M->dcond = M->cond ? dpm_denoiser_oracle_alloc(M->cond) : NULL;
  M->dweak = M->weak ? dpm_denoiser_oracle_alloc(M->weak) : NULL;
  M->msw = M->cond ? dpm_mixture_sample_alloc(M->cond) : NULL;
  if (!M->unc || !M->dcond || !M->dweak || !M->msw) return GSL_ENOMEM;
  for (size_t r = 1; r < NROW; r++) {
    const char *k = ROW_KIND[r];
    M->row[r] = strcmp(k, "none") == 0         ? M->unc
                : strcmp(k, "classifier") == 0 ? dpm_guidance_classifier_alloc(M->unc, mix, CLASS_Y, ROW_W[r])
                : strcmp(k, "cfg") == 0        ? dpm_guidance_combine_alloc(M->dcond, M->unc, ROW_W[r])
                                               : dpm_guidance_combine_alloc(M->dcond, M->dweak, ROW_W[r]);
    if (!M->row[r]) return GSL_EFAILED;
  }
  return DPM_SUCCESS;
}

/* One run of K steps along the timeline tl from the prior draws of streams (seed, j): x (n x d), nfe. */
static int run_full(const dpm_sampler_type *T, dpm_denoiser *dn, const dpm_timeline *tl, uint64_t seed, size_t n,
                    size_t d, double *x, unsigned long *nfe)
{
  dpm_sampler *smp = dpm_sampler_alloc(T, n, d, tl->K);
  int st = smp ? DPM_SUCCESS : GSL_ENOMEM;
  dpm_sampler_problem pb = {.dn = dn, .tl = tl};
  dpm_sampler_params_default(&pb.par);
  if (!st) st = dpm_sampler_run(smp, &pb, seed, n, x, 0, nfe);
  dpm_sampler_free(smp);
  return st;
}

/* Walk the NPATH points x (2-D, from t[0]) over the K steps of the times t one step at a time, recording
 * path[k NPATH 2 + 2 j + c] after k steps (a deterministic one-step method: the same as one run over t). */
static int walk(const dpm_sampler_type *T, dpm_denoiser *dn, const dpm_process *p, size_t K, const double *t,
                double *x, double *path)
{
  dpm_sampler *smp = dpm_sampler_alloc(T, NPATH, 2, 1);
  dpm_timeline *tl = dpm_timeline_alloc(1);
  int st = smp && tl ? DPM_SUCCESS : GSL_ENOMEM;
  dpm_sampler_problem pb = {.dn = dn, .tl = tl};
  dpm_sampler_params_default(&pb.par);
  memcpy(path, x, 2 * NPATH * sizeof(double));
  for (size_t k = 0; k < K && !st; k++) {
    const double tk[2] = {t[k], t[k + 1]};
    st = dpm_timeline_set_times(tl, p, 1, tk);
    if (!st) st = dpm_sampler_run(smp, &pb, 0, NPATH, x, 1, NULL);
    memcpy(path + (k + 1) * 2 * NPATH, x, 2 * NPATH * sizeof(double));
  }
  dpm_sampler_free(smp);
  dpm_timeline_free(tl);
  return st;
}

/* The mode weights of row r's samples x (n) and what the table derives from them. */
static int mode_stats(const dpm_mixture *mix, const dpm_mixture *cond, size_t n, const double *x, results *R,
                      size_t r)
{
  int st = dpm_metrics_mode_tv(mix, n, x, R->mw[r], R->mw_se[r], NULL, NULL);
  double off = 0.0, tvb[NBATCH], wb[NCOMP];
  for (size_t k = 0; k < NCOMP; k++)
    if (LAB[k] != CLASS_Y) off += R->mw[r][k];
  R->off[r] = off;
  R->off_se[r] = sqrt(off * (1.0 - off) / (double)n);
  double tv = 0.0;
  for (size_t k = 0; k < NCOMP; k++)
    tv += 0.5 * fabs(R->mw[r][k] - R->pi_y[k]);
  R->tv[r] = tv;
  /* batch means: the TV of each of NBATCH contiguous batches, se = their sd / sqrt(NBATCH) */
  const size_t nb = n / NBATCH;
  double s1 = 0.0, s2 = 0.0;
  for (size_t b = 0; b < NBATCH && !st; b++) {
    st = dpm_metrics_mode_weights(mix, nb, x + 2 * b * nb, wb);
    tvb[b] = 0.0;
    for (size_t k = 0; k < NCOMP; k++)
      tvb[b] += 0.5 * fabs(wb[k] - R->pi_y[k]);
    s1 += tvb[b];
  }
  const double mean = s1 / NBATCH;
  for (size_t b = 0; b < NBATCH; b++)
    s2 += (tvb[b] - mean) * (tvb[b] - mean);
  R->tv_se[r] = sqrt(s2 / (NBATCH - 1)) / sqrt((double)NBATCH);
  if (!st) st = dpm_metrics_logq_mean(cond, n, x, &R->lq[r], &R->lq_se[r]);
  return st;
}

/* sd over batches / sqrt(B) of the tilted-law distances of n points (B contiguous batches). */
static int tilt_batches(const dpm_mixture *mix, double w, size_t n, const double *x, double *w1_se, double *ks_se)
{
  const size_t nb = n / NBATCH;
  double a[NBATCH], b[NBATCH], ma = 0.0, mb = 0.0, va = 0.0, vb = 0.0;
  for (size_t i = 0; i < NBATCH; i++) {
    int st = dpm_guidance_tilt_distance(mix, CLASS_Y, w, TILT_GRID, nb, x + i * nb, &a[i], &b[i]);
    if (st) return st;
    ma += a[i] / NBATCH;
    mb += b[i] / NBATCH;
  }
  for (size_t i = 0; i < NBATCH; i++) {
    va += (a[i] - ma) * (a[i] - ma);
    vb += (b[i] - mb) * (b[i] - mb);
  }
  *w1_se = sqrt(va / (NBATCH - 1) / NBATCH);
  *ks_se = sqrt(vb / (NBATCH - 1) / NBATCH);
  return DPM_SUCCESS;
}

/* The 1-D check: CFG samples of SPEC1's class y against the tilted law and against q_0(x|y). */
static int compute_1d(const demo_ctx *ctx, const dpm_sampler_type *T, results *R)
{
  const sizes z = R->z;
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_EDM);
  dpm_mixture *mix = dpm_data_from_spec(SPEC1);
  dpm_mixture *cond = mix ? dpm_guidance_class_mixture(mix, CLASS_Y) : NULL;
  dpm_denoiser *unc = mix ? dpm_denoiser_oracle_alloc(mix) : NULL,
               *dc = cond ? dpm_denoiser_oracle_alloc(cond) : NULL;
  dpm_timeline *tl = dpm_timeline_alloc(z.K);
  double *x = malloc(z.n1 * sizeof(double));
  int st = (mix && cond && unc && dc && tl && x) ? DPM_SUCCESS : GSL_EFAILED;
  if (!st) st = dpm_timeline_set_grid(tl, &p, "edm", z.K, 7.0);
  for (size_t i = 0; i < NW1 && !st; i++) {
    dpm_denoiser *g = dpm_guidance_combine_alloc(dc, unc, W1D[i]);
    st = g ? run_full(T, g, tl, demo_seed(ctx, 200), z.n1, 1, x, &R->nfe1) : GSL_EFAILED;
    if (!st) st = dpm_guidance_tilt_distance(mix, CLASS_Y, W1D[i], TILT_GRID, z.n1, x, &R->w1t[i], &R->kst[i]);
    if (!st) st = tilt_batches(mix, W1D[i], z.n1, x, &R->w1t_se[i], &R->kst_se[i]);
    if (!st) st = dpm_metrics_w1_ks_se(cond, z.n1, x, &R->w1c[i], &R->w1c_se[i], NULL, NULL);
    dpm_denoiser_free(g);
  }
  R->ks_bound = sqrt(log(2.0 / 1e-3) / (2.0 * (double)z.n1));
  dpm_mixture_free(mix);
  dpm_mixture_free(cond);
  dpm_denoiser_free(unc);
  dpm_denoiser_free(dc);
  dpm_timeline_free(tl);
  free(x);
  return st;
}

/* A gnuplot nonuniform matrix over the square grid xs (n): first row n then x_1..x_n, then per y_j the row
 * y_j, v(x_1, y_j) ... (v[j n + i]). */
static void write_matrix(FILE *fp, size_t n, const double *xs, const double *v, double *row)
{
  row[0] = (double)n;
  memcpy(row + 1, xs, n * sizeof(double));
  demo_dat_row(fp, n + 1, row);
  for (size_t j = 0; j < n; j++) {
    row[0] = xs[j];
    memcpy(row + 1, v + j * n, n * sizeof(double));
    demo_dat_row(fp, n + 1, row);
  }
}

static int compute(const demo_ctx *ctx, const dpm_mixture *mix, const dpm_sampler_type *T, results *R)
{
  const sizes z = R->z;
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_EDM);
  models M;
  int st = models_build(mix, &M);
  dpm_oracle *o = dpm_oracle_alloc(mix), *oc = M.cond ? dpm_oracle_alloc(M.cond) : NULL;
  const size_t ng = z.ngrid, na = z.narrow;
  double *xs = malloc(ng * sizeof(double)), *pts = malloc(2 * ng * ng * sizeof(double));
  double *lq = malloc(ng * ng * sizeof(double)), *row = malloc((ng + 1) * sizeof(double));
  double *apts = malloc(2 * na * na * sizeof(double)), *ax0 = malloc(2 * na * na * sizeof(double));
  double *x = malloc(2 * z.n * sizeof(double)), *xcls = malloc(2 * z.n * sizeof(double));
  double *path = malloc((z.K + 1) * 2 * NPATH * sizeof(double));
  double *upath = malloc((z.K + 1) * 2 * NPATH * sizeof(double));
  double *truth = malloc(2 * z.ntruth * sizeof(double)), *t = malloc((z.K + 1) * sizeof(double));
  size_t *comp = malloc(z.ntruth * sizeof(size_t));
  dpm_timeline *tl = dpm_timeline_alloc(z.K);
  dpm_mixture_sample_workspace *msw = dpm_mixture_sample_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(ctx->seed, 0);
  dpm_out *out = NULL;
  if (!st && !(o && oc && xs && pts && lq && row && apts && ax0 && x && xcls && path && upath && truth && t &&
               comp && tl && msw && r))
    st = GSL_ENOMEM;
  if (!st) st = dpm_timeline_set_grid(tl, &p, "edm", z.K, 7.0);
  if (!st) memcpy(t, tl->t, (z.K + 1) * sizeof(double));
  if (!st) {
    out = demo_dat_open(ctx, ctx->data_path, "the edm2 toy panel: log q_sigma, score arrows, guided samples");
    if (!out) st = GSL_EFAILED;
  }
  FILE *fp = out ? dpm_out_file(out) : NULL;

  /* the class-conditional's weights and entropy */
  for (size_t k = 0; k < NCOMP; k++)
    R->pi_y[k] = 0.0;
  for (size_t k = 0, j = 0; k < NCOMP && !st; k++)
    if (LAB[k] == CLASS_Y) R->pi_y[k] = M.cond->w[j++];
  if (!st) st = dpm_mixture_entropy(M.cond, &R->H_y, &R->H_y_err);

  /* row 1: log q_sigma on the grid, arrows of the denoiser displacement x0-hat - x = sigma^2 score, capped */
  for (size_t i = 0; i < ng && !st; i++)
    xs[i] = BOX * (-1.0 + 2.0 * (double)i / (double)(ng - 1));
  for (size_t j = 0; j < ng && !st; j++)
    for (size_t i = 0; i < ng; i++) {
      pts[2 * (j * ng + i)] = xs[i];
      pts[2 * (j * ng + i) + 1] = xs[j];
    }
  const double aspace = 2.0 * BOX / (double)na, acap = 0.9 * aspace;
  for (size_t j = 0; j < na; j++)
    for (size_t i = 0; i < na; i++) {
      apts[2 * (j * na + i)] = -BOX + aspace * ((double)i + 0.5);
      apts[2 * (j * na + i) + 1] = -BOX + aspace * ((double)j + 0.5);
    }
  for (size_t q = 0; q < NSIGMA && !st; q++) {
    dpm_oracle_result res = {.logq = lq};
    st = dpm_oracle_eval(o, 1.0, SIGMAS[q], ng * ng, pts, &res);
    dpm_oracle_result ares = {.x0 = ax0};
    if (!st) st = dpm_oracle_eval(o, 1.0, SIGMAS[q], na * na, apts, &ares);
    if (st) break;
    char name[32], cols[64];
    snprintf(name, sizeof name, "logq_%zu", q + 1);
    demo_dat_block(fp, name, "nonuniform matrix: first row N x_1..x_N; then y_j log q_sigma(x_i, y_j)");
    write_matrix(fp, ng, xs, lq, row);
    snprintf(name, sizeof name, "arrows_%zu", q + 1);
    snprintf(cols, sizeof cols, "x y dx dy sigma=%g", SIGMAS[q]);
    demo_dat_block(fp, name, cols);
    for (size_t a = 0; a < na * na; a++) {
      double dx = ax0[2 * a] - apts[2 * a], dy = ax0[2 * a + 1] - apts[2 * a + 1], len = hypot(dx, dy);
      double f = len > acap ? acap / len : 1.0, v[4] = {apts[2 * a], apts[2 * a + 1], f * dx, f * dy};
      demo_dat_row(fp, 4, v);
    }
  }
  /* the class-conditional log q_0(x|y), drawn under the samples */
  if (!st) {
    dpm_oracle_result res = {.logq = lq};
    st = dpm_oracle_eval(oc, 1.0, 1e-100, ng * ng, pts, &res);
    if (!st) {
      demo_dat_block(fp, "logq_cond", "nonuniform matrix: first row N x_1..x_N; then y_j log q_0(x_i, y_j | y)");
      write_matrix(fp, ng, xs, lq, row);
    }
  }
  /* exact draws of q_0 with their class */
  if (!st) st = dpm_mixture_sample(mix, msw, r, z.ntruth, truth, comp);
  if (!st) {
    demo_dat_block(fp, "truth", "x y class");
    for (size_t j = 0; j < z.ntruth; j++) {
      double v[3] = {truth[2 * j], truth[2 * j + 1], (double)LAB[comp[j]]};
      demo_dat_row(fp, 3, v);
    }
  }

  /* the table: every row's model from the same prior draws (streams (seed', j)), so cfg at w and classifier at
   * 1 + w, the same score, give the same samples up to rounding */
  const uint64_t seed = demo_seed(ctx, 100);
  for (size_t rr = 0; rr < NROW && !st; rr++) {
    demo_progress(ctx, "%s w = %g: %zu samples", ROW_KIND[rr], ROW_W[rr], z.n);
    if (M.row[rr])
      st = run_full(T, M.row[rr], tl, seed, z.n, 2, x, &R->nfe[rr]);
    else {
      gsl_rng *rx = dpm_rng_stream_alloc(seed, 0);
      st = rx ? dpm_mixture_sample(M.cond, M.msw, rx, z.n, x, NULL) : GSL_ENOMEM;
      if (rx) gsl_rng_free(rx);
    }
    if (!st) st = mode_stats(mix, M.cond, z.n, x, R, rr);
    if (!st && rr == ROW_CLS4) memcpy(xcls, x, 2 * z.n * sizeof(double));
    if (!st && rr == ROW_CFG3) {
      R->cfg_vs_cls = 0.0;
      for (size_t j = 0; j < 2 * z.n; j++)
        R->cfg_vs_cls = fmax(R->cfg_vs_cls, fabs(x[j] - xcls[j]));
    }
    for (size_t pnl = 0; pnl < NPANEL && !st; pnl++)
      if (PANEL_ROW[pnl] == rr) {
        char name[32];
        snprintf(name, sizeof name, "samples_%zu", pnl + 1);
        demo_dat_block(fp, name, "x y");
        for (size_t j = 0; j < z.nfig; j++)
          demo_dat_row(fp, 2, x + 2 * j);
      }
  }

  /* the trajectories: the same NPATH starts x_T ~ N(0, sigma_max^2 I) for every panel, unguided and guided */
  double start[2 * NPATH];
  for (size_t k = 0; k < 2 * NPATH; k++)
    start[k] = t[0] * gsl_ran_gaussian_ziggurat(r, 1.0);
  if (!st) {
    double xp[2 * NPATH];
    memcpy(xp, start, sizeof xp);
    st = walk(T, M.unc, &p, z.K, t, xp, upath);
  }
  for (size_t pnl = 0; pnl < NPANEL && !st; pnl++) {
    double xp[2 * NPATH];
    memcpy(xp, start, sizeof xp);
    st = walk(T, M.row[PANEL_ROW[pnl]], &p, z.K, t, xp, path);
    if (st) break;
    for (size_t g = 0; g < 2; g++) {
      const double *pp = g ? path : upath;
      char name[32];
      snprintf(name, sizeof name, g ? "paths_%zu" : "unguided_%zu", pnl + 1);
      demo_dat_block(fp, name, "x y (one path per line segment)");
      for (size_t j = 0; j < NPATH; j++) {
        for (size_t k = 0; k <= z.K; k++)
          demo_dat_row(fp, 2, pp + k * 2 * NPATH + 2 * j);
        fputc('\n', fp);
      }
    }
  }
  if (!st) {
    /* the panels' weights and the sigmas, read by the figure script as this block's column names */
    char names[128];
    snprintf(names, sizeof names, "%g %g %g %g %g %g", ROW_W[PANEL_ROW[1]], ROW_W[PANEL_ROW[2]],
             ROW_W[PANEL_ROW[3]], SIGMAS[0], SIGMAS[1], SIGMAS[2]);
    demo_dat_block(fp, "panels", names);
  }
  int cst = out ? demo_dat_close(out, st == DPM_SUCCESS) : DPM_SUCCESS;
  if (!st) st = cst;

  /* the toy as a mixture file, for the notebook's command-line cells */
  if (!st) {
    char jpath[DEMO_PATH_MAX];
    st = demo_pathf(jpath, "%s/data/sampler_guidance.json", ctx->out);
    dpm_out *jo = st ? NULL : dpm_out_open(jpath);
    if (!st && !jo) st = GSL_EFAILED;
    if (!st) st = dpm_data_write_json(mix, dpm_out_file(jo));
    if (jo) {
      int c2 = dpm_out_close(jo, st == DPM_SUCCESS);
      if (!st) st = c2;
    }
  }
  if (!st) st = compute_1d(ctx, T, R);

  models_free(&M);
  dpm_oracle_free(o);
  dpm_oracle_free(oc);
  dpm_timeline_free(tl);
  dpm_mixture_sample_free(msw);
  if (r) gsl_rng_free(r);
  free(xs);
  free(pts);
  free(lq);
  free(row);
  free(apts);
  free(ax0);
  free(x);
  free(xcls);
  free(path);
  free(upath);
  free(truth);
  free(t);
  free(comp);
  return st;
}

static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const results *R = arg;
  const char *sampler[1] = {SAMPLER}, *spec1[1] = {SPEC1};
  demo_val_text(fp, "sampler", 1, sampler);
  demo_val_text(fp, "spec1", 1, spec1);
  demo_val1(fp, "y", CLASS_Y);
  demo_val1(fp, "K", (double)R->z.K);
  demo_val1(fp, "n", (double)R->z.n);
  demo_val1(fp, "n1", (double)R->z.n1);
  demo_val1(fp, "npath", NPATH);
  demo_val1(fp, "auto_var", AUTO_VAR);
  demo_val(fp, "sigma", NSIGMA, SIGMAS);
  /* the components: mean, sd along and across, angle, weight, class, weight within class y */
  double v[NCOMP];
  for (size_t c = 0; c < 2; c++) {
    for (size_t k = 0; k < NCOMP; k++)
      v[k] = MU[k][c];
    demo_val(fp, c ? "mu_y" : "mu_x", NCOMP, v);
  }
  for (size_t k = 0; k < NCOMP; k++)
    v[k] = (double)(k + 1);
  demo_val(fp, "comp", NCOMP, v);
  demo_val(fp, "sd_along", NCOMP, SD_ALONG);
  demo_val(fp, "sd_across", NCOMP, SD_ACROSS);
  demo_val(fp, "angle", NCOMP, ANGLE);
  demo_val(fp, "weight", NCOMP, WT);
  for (size_t k = 0; k < NCOMP; k++)
    v[k] = LAB[k];
  demo_val(fp, "label", NCOMP, v);
  demo_val(fp, "pi_y", NCOMP, R->pi_y);
  demo_val1(fp, "H_y", R->H_y);
  demo_val1(fp, "neg_H_y", -R->H_y);
  /* the table, one list per column, NROW entries each; mode weights of the three class-y components */
  demo_val_text(fp, "kind", NROW, ROW_KIND);
  demo_val(fp, "w", NROW, ROW_W);
  size_t ky[NCOMP], ny = 0;
  for (size_t k = 0; k < NCOMP; k++)
    if (LAB[k] == CLASS_Y) ky[ny++] = k;
  double a[NROW], b[NROW];
  for (size_t c = 0; c < ny; c++) {
    char key[16], key_se[16];
    snprintf(key, sizeof key, "mw%zu", c);
    snprintf(key_se, sizeof key_se, "mw%zu_se", c);
    for (size_t r = 0; r < NROW; r++) {
      a[r] = R->mw[r][ky[c]];
      b[r] = R->mw_se[r][ky[c]];
    }
    demo_val(fp, key, NROW, a);
    demo_val(fp, key_se, NROW, b);
  }
  double piy[3] = {R->pi_y[ky[0]], R->pi_y[ky[1]], R->pi_y[ky[2]]};
  demo_val(fp, "pi_class", 3, piy);
  demo_val(fp, "off", NROW, R->off);
  demo_val(fp, "off_se", NROW, R->off_se);
  demo_val(fp, "tv", NROW, R->tv);
  demo_val(fp, "tv_se", NROW, R->tv_se);
  demo_val(fp, "lq", NROW, R->lq);
  demo_val(fp, "lq_se", NROW, R->lq_se);
  for (size_t r = 0; r < NROW; r++)
    a[r] = (double)R->nfe[r];
  demo_val(fp, "nfe", NROW, a);
  /* the w = 1 classifier row (exactly q_0(x|y)) and the exact draws: mean log-density against -H in standard
   * errors */
  demo_val1(fp, "lq_z", (R->lq[2] + R->H_y) / R->lq_se[2]);
  demo_val1(fp, "lq_z_exact", (R->lq[0] + R->H_y) / R->lq_se[0]);
  demo_val1(fp, "cfg_vs_cls", R->cfg_vs_cls);
  demo_val(fp, "w1d", NW1, W1D);
  demo_val(fp, "w1t", NW1, R->w1t);
  demo_val(fp, "w1t_se", NW1, R->w1t_se);
  demo_val(fp, "kst", NW1, R->kst);
  demo_val(fp, "kst_se", NW1, R->kst_se);
  demo_val(fp, "w1c", NW1, R->w1c);
  demo_val(fp, "w1c_se", NW1, R->w1c_se);
  demo_val1(fp, "ks_bound", R->ks_bound);
  demo_val1(fp, "nfe1", (double)R->nfe1);
  return DPM_SUCCESS;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc =
      demo_init(&ctx, "sampler_guidance",
                "The edm2 toy panel: log q_sigma of a labelled 2-D mixture with score arrows, and samples and "
                "trajectories of EDM's Heun sampler without guidance and with classifier guidance, CFG and "
                "autoguidance; CFG against its tilted law in 1-D.",
                argc, argv);
  if (rc) return rc < 0 ? 0 : rc;

  results R;
  memset(&R, 0, sizeof R);
  R.z = ctx.quick ? (sizes){61, 13, 24, 1000, 1000, 600, 2000} : (sizes){161, 15, 48, 10000, 1500, 1500, 20000};
  const dpm_sampler_type *T = dpm_sampler_type_find(SAMPLER);
  if (!T) {
    fprintf(stderr, "sampler_guidance: no sampler '%s' in the table\n", SAMPLER);
    return 1;
  }
  dpm_mixture *mix = toy_mixture();
  if (!mix) return demo_fail(&ctx, "building the mixture");
  int st = compute(&ctx, mix, T, &R);
  static const char *const figures[1] = {"sampler_guidance"};
  rc = st ? demo_fail(&ctx, "computing the panels") : demo_publish(&ctx, 1, figures, write_values, &R);
  dpm_mixture_free(mix);
  return rc;
}
