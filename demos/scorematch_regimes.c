/* scorematch_regimes.c — the dynamical regimes of the ideal denoiser (Biroli, Bonnaire, de Bortoli & Mézard 2024,
 * arXiv:2402.18491; docs/MATH.md §4.4): for n training points from two Gaussian classes in R^d, the speciation
 * and collapse times measured along reverse trajectories of the OU process against n and d, beside the paper's
 * predictions t_S = log(Lambda)/2 and the excess-entropy criterion for t_C. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "dpm_scorematch.h"

#define MU    1.0
#define SIGMA 1.0
#define ND    3
#define NN    6

typedef struct {
  size_t nd, nn, K, steps;
  size_t d[ND], n[NN];
  dpm_sm_regimes_result r[ND][NN];
  double ps[ND][NN], pc[ND][NN];
  double ts_mean[ND], ts_off[ND]; /* t_s averaged over n, and its offset from log(Lambda)/2 */
  double tc_rel;                  /* the largest |t_c - t_c_pred|/t_c_pred over the runs with d >= 16, in % */
} results;

static int compute(const demo_ctx *ctx, results *R)
{
  dpm_sm_regimes_params par;
  dpm_sm_regimes_params_default(&par);
  par.trajectories = R->K;
  par.steps = R->steps;
  R->tc_rel = 0.0;
  for (size_t a = 0; a < R->nd; a++) {
    dpm_mixture *mix = dpm_sm_two_class_alloc(R->d[a], MU, SIGMA);
    if (!mix) return GSL_ENOMEM;
    double sum = 0.0;
    for (size_t b = 0; b < R->nn; b++) {
      demo_progress(ctx, "d = %zu, n = %zu: %zu trajectories", R->d[a], R->n[b], R->K);
      par.n = R->n[b];
      par.seed = demo_seed(ctx, a * NN + b);
      int st = dpm_sm_regimes_run(mix, &par, &R->r[a][b]);
      if (!st) st = dpm_sm_regimes_predict(mix, R->n[b], &R->ps[a][b], &R->pc[a][b]);
      if (st) {
        dpm_mixture_free(mix);
        return st;
      }
      sum += R->r[a][b].t_s;
      if (R->d[a] >= 16) R->tc_rel = fmax(R->tc_rel, 100.0 * fabs(R->r[a][b].t_c - R->pc[a][b]) / R->pc[a][b]);
    }
    R->ts_mean[a] = sum / (double)R->nn;
    R->ts_off[a] = R->ts_mean[a] - R->ps[a][0];
    dpm_mixture_free(mix);
  }
  dpm_out *out = demo_dat_open(ctx, ctx->data_path, "speciation and collapse times against n for several d");
  if (!out) return GSL_EFAILED;
  FILE *fp = dpm_out_file(out);
  for (size_t a = 0; a < R->nd; a++) {
    char name[32];
    snprintf(name, sizeof name, "d%zu", a + 1);
    demo_dat_block(fp, name, "n t_s t_s_se t_s_pred t_c t_c_se t_c_pred");
    for (size_t b = 0; b < R->nn; b++) {
      const dpm_sm_regimes_result *r = &R->r[a][b];
      const double v[7] = {(double)R->n[b], r->t_s, r->t_s_se, R->ps[a][b], r->t_c, r->t_c_se, R->pc[a][b]};
      demo_dat_row(fp, 7, v);
    }
  }
  return demo_dat_close(out, 1);
}

static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const results *R = arg;
  demo_val1(fp, "mu", MU);
  demo_val1(fp, "sigma", SIGMA);
  demo_val1(fp, "K", (double)R->K);
  demo_val1(fp, "steps", (double)R->steps);
  demo_val_sizes(fp, "dd", R->nd, R->d);
  demo_val_sizes(fp, "nn", R->nn, R->n);
  demo_val1(fp, "tc_rel", R->tc_rel);
  double lam[ND], ps[ND];
  for (size_t a = 0; a < R->nd; a++) {
    lam[a] = (double)R->d[a] * MU * MU + SIGMA * SIGMA;
    ps[a] = R->ps[a][0];
  }
  demo_val(fp, "lam", R->nd, lam);
  demo_val(fp, "tsp", R->nd, ps);
  demo_val(fp, "tsm", R->nd, R->ts_mean);
  demo_val(fp, "tso", R->nd, R->ts_off);
  /* the table: every (d, n) */
  const size_t m = R->nd * R->nn;
  double td[ND * NN], tn[ND * NN], ts[ND * NN], tse[ND * NN], tc[ND * NN], tcse[ND * NN], tcp[ND * NN];
  for (size_t a = 0, i = 0; a < R->nd; a++)
    for (size_t b = 0; b < R->nn; b++, i++) {
      td[i] = (double)R->d[a];
      tn[i] = (double)R->n[b];
      ts[i] = R->r[a][b].t_s;
      tse[i] = R->r[a][b].t_s_se;
      tc[i] = R->r[a][b].t_c;
      tcse[i] = R->r[a][b].t_c_se;
      tcp[i] = R->pc[a][b];
    }
  demo_val(fp, "td", m, td);
  demo_val(fp, "tn", m, tn);
  demo_val(fp, "ts", m, ts);
  demo_val(fp, "tse", m, tse);
  demo_val(fp, "tc", m, tc);
  demo_val(fp, "tcse", m, tcse);
  demo_val(fp, "tcp", m, tcp);
  return DPM_SUCCESS;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc = demo_init(&ctx, "scorematch_regimes",
                     "Speciation and collapse times of the ideal denoiser of n points from two Gaussian classes "
                     "in R^d, against n and d, beside the predictions of Biroli et al. (2024).",
                     argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  results R = {0};
  const int q = ctx.quick;
  static const size_t dq[2] = {8, 16}, df[ND] = {8, 16, 64}, nq[3] = {20, 100, 400},
                      nf[NN] = {20, 50, 100, 200, 400, 800};
  R.nd = q ? 2 : ND;
  R.nn = q ? 3 : NN;
  memcpy(R.d, q ? dq : df, R.nd * sizeof(size_t));
  memcpy(R.n, q ? nq : nf, R.nn * sizeof(size_t));
  R.K = q ? 40 : 300;
  R.steps = q ? 60 : 200;
  int st = compute(&ctx, &R);
  static const char *const figures[1] = {"scorematch_regimes"};
  return st ? demo_fail(&ctx, "computing the regimes") : demo_publish(&ctx, 1, figures, write_values, &R);
}
