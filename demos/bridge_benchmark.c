/* bridge_benchmark.c — Sinkhorn, grid IPF and mean-matching IPF scored against a non-Gaussian ground truth
 * (Gushchin et al., NeurIPS 2023, §3-4): for the mixture-potential pairs whose entropic plan pi(y | x) is known in
 * closed form, the BW2-UVP of Sinkhorn's out-of-sample conditional plan (averaged over test points) and of the
 * target marginal against the number of pairs in d = 2, 4, 16, 64, beside the exact plan scored from the same
 * number of draws (its sampling floor); grid IPF's score in d = 2 against the grid spacing with its
 * Poisson-summation rate; mean-matching IPF (De Bortoli et al. 2021) with the affine regressor in every d and
 * Gaussian bumps in d = 2, beside the exact plan from as many draws (docs/MATH.md §5.5-5.7). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "dpm_bridge.h"

#define EPS    0.5 /* eps = sigma^2; Sinkhorn's reg = 2 eps */
#define ND     4
#define NNMAX  5
#define NGMAX  6
#define NMM    5
#define GSTEPS 10 /* grid IPF's reference steps: the kernel's variance eps/N = 0.05 sets the grid's rate */

static const size_t DIMS[ND] = {2, 4, 16, 64};

typedef struct {
  size_t nn, nt;
  size_t n[NNMAX];
  double sk[ND][NNMAX], sk_se[ND][NNMAX], skm[ND][NNMAX], ex[ND][NNMAX], ex_se[ND][NNMAX], it[ND][NNMAX];
  double pred[ND][NNMAX]; /* the exact plan's Gaussian-conditional floor (200/M)(1 + (d + 1)/4) */
  double slope[ND];       /* least-squares slope of log Sinkhorn score against log n */
  /* grid IPF in d = 2 against the grid */
  size_t ng;
  double gG[NGMAX], gix[NGMAX], gu[NGMAX], gse[NGMAX], gm[NGMAX], gerr[NGMAX], gslope, gpred;
  /* mean-matching IPF: d, bumps per axis, particles, steps, iterations, draws; scores; the exact plan's */
  double mm[NMM][12];
} results;

static double fit_slope(size_t k, const size_t *n, const double *v)
{
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < k; i++) {
    const double x = log((double)n[i]), y = log(v[i]);
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double dk = (double)k;
  return (dk * sxy - sx * sy) / (dk * sxx - sx * sx);
}

static int compute(const demo_ctx *ctx, results *R)
{
  int st = DPM_SUCCESS;
  double *xy = NULL;
  dpm_bridge_sinkhorn_params p = dpm_bridge_sinkhorn_default();
  /* the potentials' error is far below the scores' sampling error (1e-4 against 1e-6 moves a score by < 0.1 %) */
  p.tol = ctx->quick ? 1e-4 : 1e-6;
  for (size_t a = 0; a < ND && !st; a++) {
    const size_t d = DIMS[a];
    char spec[32];
    snprintf(spec, sizeof spec, "gauss:d=%zu", d);
    dpm_mixture *mu0 = dpm_data_from_spec(spec), *pot = dpm_bridge_gmmpot_default(d);
    if (!mu0 || !pot) st = GSL_EFAILED;
    for (size_t l = 0; l < R->nn && !st; l++) {
      const size_t n = R->n[l], nt = R->nt;
      demo_progress(ctx, "d = %zu, %zu pairs", d, n);
      dpm_bridge_bench_score s, e;
      size_t iters = 0;
      st = dpm_bridge_bench_sinkhorn(mu0, pot, EPS, n, nt, demo_seed(ctx, 10 * a + l), &p, &s, &iters);
      free(xy);
      xy = st ? NULL : malloc(2 * (n + nt) * d * sizeof *xy);
      if (!st && !xy) st = GSL_ENOMEM;
      if (!st)
        st = dpm_bridge_gmmpot_sample(mu0, pot, EPS, n + nt, demo_seed(ctx, 10 * a + l), xy, xy + (n + nt) * d);
      if (!st) st = dpm_bridge_bench_exact(pot, EPS, nt, xy + n * d, n, demo_seed(ctx, 100 + 10 * a + l), &e);
      if (st) break;
      R->sk[a][l] = s.uvp_cond;
      R->sk_se[a][l] = s.uvp_cond_se;
      R->skm[a][l] = s.uvp_marg;
      R->ex[a][l] = e.uvp_cond;
      R->ex_se[a][l] = e.uvp_cond_se;
      R->it[a][l] = (double)iters;
      R->pred[a][l] = 200.0 / (double)n * (1.0 + (double)(d + 1) / 4.0);
    }
    if (!st) R->slope[a] = fit_slope(R->nn, R->n, R->sk[a]);
    dpm_mixture_free(mu0);
    dpm_mixture_free(pot);
  }
  free(xy);
  xy = NULL;
  if (st) return st;

  /* grid IPF in d = 2 on grids of G points per axis over the box of both laws */
  dpm_mixture *mu0 = dpm_data_from_spec("gauss:d=2"), *pot = dpm_bridge_gmmpot_default(2);
  if (!mu0 || !pot) st = GSL_EFAILED;
  double lo = HUGE_VAL, hi = -HUGE_VAL, bl[2], bh[2];
  for (int e = 0; e < 2 && !st; e++) {
    dpm_mixture_box(e ? pot : mu0, 1e-14, bl, bh);
    for (size_t j = 0; j < 2; j++) {
      lo = fmin(lo, bl[j]);
      hi = fmax(hi, bh[j]);
    }
  }
  const size_t nmax = R->n[R->nn - 1];
  for (size_t l = 0; l < R->ng && !st; l++) {
    const size_t G = (size_t)R->gG[l];
    demo_progress(ctx, "grid IPF, G = %zu", G);
    dpm_bridge_bench_score g;
    st = dpm_bridge_bench_grid(mu0, pot, EPS, G, GSTEPS, 30, nmax, R->nt, demo_seed(ctx, 7), &g, &R->gerr[l]);
    const double dx = (hi - lo) / (double)(G - 1);
    R->gix[l] = 1.0 / (dx * dx);
    R->gu[l] = g.uvp_cond;
    R->gse[l] = g.uvp_cond_se;
    R->gm[l] = g.uvp_marg;
  }
  if (!st) { /* the measured slope over the three finest grids, and the predicted one */
    const size_t a = R->ng - 3;
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t l = a; l < R->ng; l++) {
      sx += R->gix[l];
      sy += log(R->gu[l]);
      sxx += R->gix[l] * R->gix[l];
      sxy += R->gix[l] * log(R->gu[l]);
    }
    R->gslope = (3.0 * sxy - sx * sy) / (3.0 * sxx - sx * sx);
    R->gpred = -4.0 * M_PI * M_PI * EPS / GSTEPS;
  }
  dpm_mixture_free(mu0);
  dpm_mixture_free(pot);

  /* mean-matching IPF: the affine regressor in every d, Gaussian bumps in d = 2 */
  for (size_t r = 0; r < NMM && !st; r++) {
    const size_t d = r == 0 ? 2 : DIMS[r - 1], S = r == 0 ? (ctx->quick ? 6 : 8) : 0;
    dpm_bridge_bench_mm_params q = dpm_bridge_bench_mm_default();
    q.S = S;
    q.ridge = S ? 1e-3 : 0.0;
    q.N = ctx->quick || d == 64 ? 5 : 10;
    q.iters = ctx->quick ? 3 : 5;
    q.M = d == 64 ? (ctx->quick ? 300 : 1000) : ctx->quick ? 1000 : 4000;
    q.draws = d == 64 ? (ctx->quick ? 100 : 200) : ctx->quick ? 200 : 1000;
    char spec[32];
    snprintf(spec, sizeof spec, "gauss:d=%zu", d);
    mu0 = dpm_data_from_spec(spec);
    pot = dpm_bridge_gmmpot_default(d);
    xy = malloc(2 * (nmax + R->nt) * d * sizeof *xy);
    if (!mu0 || !pot || !xy) st = GSL_EFAILED;
    demo_progress(ctx, "mean-matching IPF, d = %zu, %s", d, S ? "bumps" : "affine");
    dpm_bridge_bench_score m, e;
    const uint64_t seed = demo_seed(ctx, 200 + r);
    if (!st) st = dpm_bridge_bench_mm(mu0, pot, EPS, nmax, R->nt, seed, &q, &m);
    if (!st) st = dpm_bridge_gmmpot_sample(mu0, pot, EPS, nmax + R->nt, seed, xy, xy + (nmax + R->nt) * d);
    if (!st) st = dpm_bridge_bench_exact(pot, EPS, R->nt, xy + nmax * d, q.draws, seed + 1, &e);
    if (!st) {
      const double row[12] = {
          (double)d,   (double)S,       (double)q.M,
          (double)q.N, (double)q.iters, (double)q.draws,
          m.uvp_cond,  m.uvp_cond_se,   m.uvp_marg,
          e.uvp_cond,  e.uvp_cond_se,   (m.uvp_cond - e.uvp_cond) / hypot(m.uvp_cond_se, e.uvp_cond_se)};
      memcpy(R->mm[r], row, sizeof row);
    }
    free(xy);
    xy = NULL;
    dpm_mixture_free(mu0);
    dpm_mixture_free(pot);
  }
  if (st) return st;
  dpm_out *out =
      demo_dat_open(ctx, ctx->data_path, "Sinkhorn and the exact plan scored by BW2-UVP (Gushchin et al.)");
  if (!out) return GSL_EFAILED;
  FILE *fp = dpm_out_file(out);
  for (size_t a = 0; a < ND; a++) {
    char blk[16];
    snprintf(blk, sizeof blk, "d%zu", DIMS[a]);
    demo_dat_block(fp, blk, "n sinkhorn_uvp_cond se sinkhorn_uvp_marg exact_uvp_cond se floor d");
    for (size_t l = 0; l < R->nn; l++) {
      const double row[8] = {(double)R->n[l], R->sk[a][l],    R->sk_se[a][l], R->skm[a][l],
                             R->ex[a][l],     R->ex_se[a][l], R->pred[a][l],  (double)DIMS[a]};
      demo_dat_row(fp, 8, row);
    }
  }
  demo_dat_block(fp, "by_d", "d sinkhorn_uvp_cond se sinkhorn_uvp_marg exact_uvp_cond se (at the largest n)");
  for (size_t a = 0; a < ND; a++) {
    const size_t l = R->nn - 1;
    const double row[6] = {(double)DIMS[a], R->sk[a][l], R->sk_se[a][l],
                           R->skm[a][l],    R->ex[a][l], R->ex_se[a][l]};
    demo_dat_row(fp, 6, row);
  }
  demo_dat_block(fp, "grid",
                 "G inv_dx2 grid_uvp_cond se grid_uvp_marg marginal_err rate_line (d = 2, grid IPF; the line "
                 "exp(-4 pi^2 (eps/N)/dx^2) through the finest grid)");
  const size_t gl = R->ng - 1;
  for (size_t l = 0; l < R->ng; l++) {
    const double row[7] = {R->gG[l],
                           R->gix[l],
                           R->gu[l],
                           R->gse[l],
                           R->gm[l],
                           R->gerr[l],
                           R->gu[gl] * exp(R->gpred * (R->gix[l] - R->gix[gl]))};
    demo_dat_row(fp, 7, row);
  }
  demo_dat_block(fp, "mm",
                 "d bumps particles steps iters draws mm_uvp_cond se mm_uvp_marg exact_uvp_cond se excess_se");
  for (size_t r = 0; r < NMM; r++)
    demo_dat_row(fp, 12, R->mm[r]);
  return demo_dat_close(out, 1);
}

static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const results *R = arg;
  demo_val1(fp, "eps", EPS);
  demo_val1(fp, "nt", (double)R->nt);
  demo_val1(fp, "nmin", (double)R->n[0]);
  demo_val1(fp, "nmax", (double)R->n[R->nn - 1]);
  for (size_t a = 0; a < ND; a++) {
    const size_t l = R->nn - 1;
    char key[16];
    snprintf(key, sizeof key, "row%zu", a + 1);
    const double row[10] = {(double)DIMS[a], R->sk[a][l],    R->sk_se[a][l], R->skm[a][l], R->it[a][l],
                            R->ex[a][l],     R->ex_se[a][l], R->pred[a][l],  R->slope[a],  R->sk[a][0]};
    demo_val(fp, key, 10, row);
  }
  for (size_t l = 0; l < R->ng; l++) {
    char key[16];
    snprintf(key, sizeof key, "g[%zu]", l);
    const double row[5] = {R->gG[l], sqrt(1.0 / R->gix[l]), R->gu[l], R->gm[l], R->gerr[l]};
    demo_val(fp, key, 5, row);
  }
  demo_val1(fp, "gsteps", (double)GSTEPS);
  demo_val1(fp, "gslope", R->gslope);
  demo_val1(fp, "gpred", R->gpred);
  demo_val1(fp, "gfloor", R->ex[0][R->nn - 1]);
  for (size_t r = 0; r < NMM; r++) {
    char key[16];
    snprintf(key, sizeof key, "mm[%zu]", r);
    demo_val(fp, key, 12, R->mm[r]);
  }
  return DPM_SUCCESS;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc = demo_init(&ctx, "bridge_benchmark",
                     "Sinkhorn, grid IPF and mean-matching IPF against the closed-form entropic plan of a "
                     "mixture potential, d = 2 to 64.",
                     argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  results R = {0};
  R.nn = ctx.quick ? 3 : 4;
  R.nt = ctx.quick ? 40 : 200;
  for (size_t l = 0; l < R.nn; l++)
    R.n[l] = (ctx.quick ? 60 : 125) << l;
  static const double GF[NGMAX] = {16, 24, 32, 40, 48, 56}, GQ[4] = {16, 24, 32, 40};
  R.ng = ctx.quick ? 4 : NGMAX;
  memcpy(R.gG, ctx.quick ? GQ : GF, R.ng * sizeof *R.gG);
  int st = compute(&ctx, &R);
  static const char *const figures[1] = {"bridge_benchmark"};
  return st ? demo_fail(&ctx, "computing the benchmark") : demo_publish(&ctx, 1, figures, write_values, &R);
}
