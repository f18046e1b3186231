/* bridge_toy.c — the 2-D toy of Diffusion Schrödinger Bridge (De Bortoli et al. 2021, §6 and Figure 2): a mixture
 * of eight Gaussians to N(0, I) for the reference dX = sigma dW, solved twice by independent routes — Sinkhorn
 * between samples composed with Brownian bridges (paths), and IPF on a 2-D grid with the one-step kernels applied
 * in turn (time marginals p_t = phi_hat_t phi_t) — and compared at three times (docs/MATH.md §5.4, §5.5). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "dpm_bridge.h"

#define FROM_SPEC "ring8:r=3,sd=0.4"
#define TO_SPEC   "gauss:d=2"
#define SIG2      1.0
#define NSTEPS    8  /* grid IPF time steps N; the times shown are k/N, k = 2, 4, 6 */
#define NPATH     60 /* paths drawn */
#define KPATH     40 /* their steps */
#define NSHOW     3

static const size_t SHOW_K[NSHOW] = {2, 4, 6};

typedef struct {
  size_t n, G, iters;
  double lo, hi;
  double grid_err[64]; /* L1 marginal error per grid iteration */
  double sk_iters, sk_cost, sk_entropic;
  double gm[NSHOW][2], gc[NSHOW][3];  /* grid marginal mean, covariance (xx, xy, yy) at the shown times */
  double sm[NSHOW][2], sc[NSHOW][3];  /* the same from Sinkhorn's dynamic bridge (exact moments of its plan) */
  double pm[NSHOW][2], pse[NSHOW][2]; /* the sample mean of the drawn-path ensemble and its standard error */
} results;

static int compute(const demo_ctx *ctx, const dpm_mixture *a, const dpm_mixture *b, results *R)
{
  const size_t n = R->n, d = 2, np = ctx->quick ? 400 : 4000;
  double *x = malloc(n * d * sizeof *x), *y = malloc(n * d * sizeof *y);
  double *paths = malloc((KPATH + 1) * np * d * sizeof *paths);
  dpm_bridge_sinkhorn *sk = NULL;
  dpm_bridge_grid *gr = NULL;
  dpm_out *out = NULL;
  double *p = NULL;
  int st = x && y && paths ? DPM_SUCCESS : GSL_ENOMEM;
  /* samples of both ends, Sinkhorn, paths */
  dpm_mixture_sample_workspace *wa = st ? NULL : dpm_mixture_sample_alloc(a);
  dpm_mixture_sample_workspace *wb = st ? NULL : dpm_mixture_sample_alloc(b);
  gsl_rng *r = st ? NULL : dpm_rng_stream_alloc(demo_seed(ctx, 1), 0);
  if (!st && (!wa || !wb || !r)) st = GSL_ENOMEM;
  if (!st) st = dpm_mixture_sample(a, wa, r, n, x, NULL);
  if (!st) st = dpm_mixture_sample(b, wb, r, n, y, NULL);
  if (!st && !(sk = dpm_bridge_sinkhorn_alloc(n, n, d, x, y, NULL, NULL))) st = GSL_EFAILED;
  if (!st) {
    dpm_bridge_sinkhorn_params par = dpm_bridge_sinkhorn_default();
    par.reg = 2 * SIG2;
    st = dpm_bridge_sinkhorn_solve(sk, &par);
    R->sk_iters = (double)sk->iters;
    R->sk_cost = sk->transport;
    R->sk_entropic = sk->entropic;
  }
  if (!st) st = dpm_bridge_sinkhorn_paths(sk, np, KPATH, demo_seed(ctx, 2), paths, NULL);
  /* grid IPF on a square holding all but 1e-12 of both laws */
  if (!st) {
    double bl[2], bh[2];
    R->lo = HUGE_VAL;
    R->hi = -HUGE_VAL;
    const dpm_mixture *both[2] = {a, b};
    for (int q = 0; q < 2; q++) {
      dpm_mixture_box(both[q], 1e-12, bl, bh);
      R->lo = fmin(R->lo, fmin(bl[0], bl[1]));
      R->hi = fmax(R->hi, fmax(bh[0], bh[1]));
    }
    if (!(gr = dpm_bridge_grid_alloc(a, b, R->G, R->lo, R->hi, NSTEPS, SIG2))) st = GSL_EFAILED;
  }
  for (size_t it = 0; it < R->iters && !st; it++)
    st = dpm_bridge_grid_iterate(gr, &R->grid_err[it]);
  if (!st && !(p = malloc(gr->M * sizeof *p))) st = GSL_ENOMEM;
  if (!st) out = demo_dat_open(ctx, ctx->data_path, "2-D toy: Sinkhorn bridge paths and grid-IPF time marginals");
  if (!st && !out) st = GSL_EFAILED;
  FILE *fp = out ? dpm_out_file(out) : NULL;
  if (!st) {
    demo_dat_block(fp, "paths", "t x_1 x_2 (Sinkhorn's plan x Brownian bridges; a blank line between paths)");
    for (size_t q = 0; q < NPATH; q++) {
      for (size_t k = 0; k <= KPATH; k++) {
        const double *v = paths + (k * np + q) * d, row[3] = {(double)k / KPATH, v[0], v[1]};
        demo_dat_row(fp, 3, row);
      }
      fputc('\n', fp);
    }
    demo_dat_block(fp, "ends", "x_1 x_2 y_1 y_2 (the samples of both ends)");
    for (size_t i = 0; i < n; i++) {
      const double row[4] = {x[2 * i], x[2 * i + 1], y[2 * i], y[2 * i + 1]};
      demo_dat_row(fp, 4, row);
    }
    demo_dat_block(fp, "grid_err", "iteration L1_marginal_error");
    for (size_t it = 0; it < R->iters; it++) {
      const double row[2] = {(double)(it + 1), R->grid_err[it]};
      demo_dat_row(fp, 2, row);
    }
  }
  for (size_t s = 0; s < NSHOW && !st; s++) {
    const size_t k = SHOW_K[s], kp = k * KPATH / NSTEPS; /* the same time on the paths' grid */
    double mean[2], cov[4], mt[2], St[4];
    st = dpm_bridge_grid_marginal(gr, k, p, mean, cov);
    if (!st) st = dpm_bridge_sinkhorn_marginal(sk, (double)k / NSTEPS, mt, St);
    if (st) break;
    R->gm[s][0] = mean[0];
    R->gm[s][1] = mean[1];
    R->gc[s][0] = cov[0];
    R->gc[s][1] = cov[1];
    R->gc[s][2] = cov[3];
    R->sm[s][0] = mt[0];
    R->sm[s][1] = mt[1];
    R->sc[s][0] = St[0];
    R->sc[s][1] = St[1];
    R->sc[s][2] = St[3];
    for (size_t j = 0; j < 2; j++) {
      double m = 0, v = 0;
      for (size_t q = 0; q < np; q++)
        m += paths[(kp * np + q) * d + j] / (double)np;
      for (size_t q = 0; q < np; q++) {
        const double e = paths[(kp * np + q) * d + j] - m;
        v += e * e / (double)(np - 1);
      }
      R->pm[s][j] = m;
      R->pse[s][j] = sqrt(v / (double)np);
    }
    char blk[32];
    snprintf(blk, sizeof blk, "p_%zu", s + 1);
    demo_dat_block(fp, blk, "x_1 x_2 density t (grid IPF's p_t = phi_hat_t phi_t, a blank line per x_1)");
    const size_t G = gr->G;
    const double cell = gr->dx * gr->dx;
    for (size_t i = 0; i < G; i++) {
      for (size_t j = 0; j < G; j++) {
        const double row[4] = {gr->x[i], gr->x[j], p[i * G + j] / cell, (double)k / NSTEPS};
        demo_dat_row(fp, 4, row);
      }
      fputc('\n', fp);
    }
    snprintf(blk, sizeof blk, "at_%zu", s + 1);
    demo_dat_block(fp, blk, "x_1 x_2 (Sinkhorn bridge paths at the same t)");
    for (size_t q = 0; q < np && q < 300; q++)
      demo_dat_row(fp, 2, paths + (kp * np + q) * d);
  }
  int cst = out ? demo_dat_close(out, st == DPM_SUCCESS) : DPM_SUCCESS;
  if (!st) st = cst;
  free(p);
  dpm_bridge_grid_free(gr);
  dpm_bridge_sinkhorn_free(sk);
  if (r) gsl_rng_free(r);
  dpm_mixture_sample_free(wa);
  dpm_mixture_sample_free(wb);
  free(x);
  free(y);
  free(paths);
  return st;
}

static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const results *R = arg;
  const char *spec[2] = {FROM_SPEC, TO_SPEC};
  demo_val_text(fp, "spec", 2, spec);
  demo_val1(fp, "sig2", SIG2);
  demo_val1(fp, "n", (double)R->n);
  demo_val1(fp, "G", (double)R->G);
  demo_val1(fp, "N", NSTEPS);
  demo_val1(fp, "iters", (double)R->iters);
  demo_val1(fp, "lo", R->lo);
  demo_val1(fp, "hi", R->hi);
  demo_val(fp, "grid_err", R->iters, R->grid_err);
  demo_val1(fp, "grid_err_last", R->grid_err[R->iters - 1]);
  demo_val1(fp, "sk_iters", R->sk_iters);
  demo_val1(fp, "sk_cost", R->sk_cost);
  demo_val1(fp, "sk_entropic", R->sk_entropic);
  for (size_t s = 0; s < NSHOW; s++) {
    char key[16];
    const double t = (double)SHOW_K[s] / NSTEPS;
    const double row[16] = {t,           R->gm[s][0],  R->gm[s][1],  R->sm[s][0], R->sm[s][1], R->pm[s][0],
                            R->pm[s][1], R->pse[s][0], R->pse[s][1], R->gc[s][0], R->gc[s][1], R->gc[s][2],
                            R->sc[s][0], R->sc[s][1],  R->sc[s][2],  0.0};
    snprintf(key, sizeof key, "cmp%zu", s + 1);
    demo_val(fp, key, 15, row);
  }
  return DPM_SUCCESS;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc = demo_init(&ctx, "bridge_toy",
                     "The DSB 2-D toy: a mixture to N(0, I) by Sinkhorn bridge paths and by grid IPF, compared.",
                     argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  results R = {0};
  R.n = ctx.quick ? 300 : 1500;
  R.G = ctx.quick ? 48 : 110;
  R.iters = ctx.quick ? 12 : 40;
  demo_progress(&ctx, "%s -> %s: Sinkhorn on %zu samples, grid IPF on %zu^2 cells", FROM_SPEC, TO_SPEC, R.n, R.G);
  dpm_mixture *a = dpm_data_from_spec(FROM_SPEC), *b = dpm_data_from_spec(TO_SPEC);
  if (!a || !b) {
    dpm_mixture_free(a);
    dpm_mixture_free(b);
    return demo_fail(&ctx, "loading the data");
  }
  int st = compute(&ctx, a, b, &R);
  dpm_mixture_free(a);
  dpm_mixture_free(b);
  static const char *const figures[1] = {"bridge_toy"};
  return st ? demo_fail(&ctx, "computing the bridge") : demo_publish(&ctx, 1, figures, write_values, &R);
}
