/* bridge_benchmark.c — Sinkhorn scored against a non-Gaussian ground truth (Gushchin et al., NeurIPS 2023, §3-4):
 * for the mixture-potential pairs whose entropic plan pi(y | x) is known in closed form, the BW2-UVP of Sinkhorn's
 * out-of-sample conditional plan (averaged over test points) and of the target marginal against the number of
 * pairs in d = 2, 4, 16, 64, beside the exact plan scored from the same number of draws (its sampling floor)
 * (docs/MATH.md §5.7). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "dpm_bridge.h"

#define EPS   0.5 /* eps = sigma^2; Sinkhorn's reg = 2 eps */
#define ND    4
#define NNMAX 5

static const size_t DIMS[ND] = {2, 4, 16, 64};

typedef struct {
  size_t nn, nt;
  size_t n[NNMAX];
  double sk[ND][NNMAX], sk_se[ND][NNMAX], skm[ND][NNMAX], ex[ND][NNMAX], ex_se[ND][NNMAX], it[ND][NNMAX];
  double pred[ND][NNMAX]; /* the exact plan's Gaussian-conditional floor (200/M)(1 + (d + 1)/4) */
  double slope[ND];       /* least-squares slope of log Sinkhorn score against log n */
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
  return DPM_SUCCESS;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc =
      demo_init(&ctx, "bridge_benchmark",
                "Sinkhorn against the closed-form entropic plan of a mixture potential, d = 2 to 64.", argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  results R = {0};
  R.nn = ctx.quick ? 3 : 4;
  R.nt = ctx.quick ? 40 : 200;
  for (size_t l = 0; l < R.nn; l++)
    R.n[l] = (ctx.quick ? 60 : 125) << l;
  int st = compute(&ctx, &R);
  static const char *const figures[1] = {"bridge_benchmark"};
  return st ? demo_fail(&ctx, "computing the benchmark") : demo_publish(&ctx, 1, figures, write_values, &R);
}
