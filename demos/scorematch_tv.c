/* scorematch_tv.c — the three regimes of the convergence bound of De Bortoli, Thornton, Heng & Doucet (2021, Thm
 * 1; docs/MATH.md §4.4) in 1-D, without Monte Carlo: TV(generated, data) of the Euler–Maruyama reverse SDE of the
 * OU process against the horizon T (the prior mismatch decaying like e^{-T} down to the step floor), against the
 * step size gamma (slope 1, steeper than the bound's 1/2) and against a relative score error eta (linear, under
 * its Girsanov bound), each term isolated by the chain's exact law on a grid; and the self-consistency theorem of
 * Song, Durkan, Murray & Ermon (2021, Thm 2): the exact score's reverse SDE and probability flow from the prior
 * differ at every finite T unless the data are N(0, 1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "dpm_scorematch.h"

#define DATA_SPEC "gmm1d"
#define NT_MAX    16
#define NG_MAX    10
#define NE_MAX    8
#define NSC_T     5 /* horizons of the self-consistency table */
#define NSC_D     3 /* its data sets */

typedef struct {
  size_t nT, nG, nE;
  double gamma_T;           /* step of the T sweep */
  double T_G, T_E, gamma_E; /* horizon of the gamma sweep; horizon and step of the eta sweep */
  double T[NT_MAX], G[NG_MAX], E[NE_MAX];
  dpm_sm_tv_result rT[NT_MAX], rG[NG_MAX], rE[NE_MAX];
  double slope_prior, slope_out, slope_steps, slope_score, bound_ratio;
  dpm_sm_selfcons_result sc[NSC_D * NSC_T]; /* data-major */
} results;

static const char *const sc_spec[NSC_D] = {DATA_SPEC, "gauss:d=1,sd=0.5", "gauss:d=1,sd=1"};
static const double sc_T[NSC_T] = {0.5, 1.0, 2.0, 4.0, 8.0};

/* The self-consistency table: the exact score's SDE and ODE outputs from the prior for three data sets. */
static int compute_selfcons(const demo_ctx *ctx, results *R)
{
  demo_progress(ctx, "self-consistency: %d data sets x %d horizons", NSC_D, NSC_T);
  for (size_t a = 0; a < NSC_D; a++) {
    dpm_mixture *mix = dpm_data_from_spec(sc_spec[a]);
    if (!mix) return GSL_EFAILED;
    for (size_t b = 0; b < NSC_T; b++) {
      const int st = dpm_sm_selfcons_ou(mix, sc_T[b], 0.0, 0.0, &R->sc[a * NSC_T + b]);
      if (st) {
        dpm_mixture_free(mix);
        return st;
      }
    }
    dpm_mixture_free(mix);
  }
  return DPM_SUCCESS;
}

static double slope(double x0, double y0, double x1, double y1) { return log(y1 / y0) / log(x1 / x0); }

static int compute(const demo_ctx *ctx, const dpm_mixture *mix, results *R)
{
  const size_t n = R->nT + R->nG + R->nE;
  double T[NT_MAX + NG_MAX + NE_MAX], eta[NT_MAX + NG_MAX + NE_MAX];
  size_t N[NT_MAX + NG_MAX + NE_MAX];
  dpm_sm_tv_result res[NT_MAX + NG_MAX + NE_MAX];
  size_t i = 0;
  for (size_t a = 0; a < R->nT; a++, i++) {
    T[i] = R->T[a];
    N[i] = (size_t)llround(R->T[a] / R->gamma_T);
    eta[i] = 0.0;
  }
  for (size_t a = 0; a < R->nG; a++, i++) {
    T[i] = R->T_G;
    N[i] = (size_t)llround(R->T_G / R->G[a]);
    eta[i] = 0.0;
  }
  for (size_t a = 0; a < R->nE; a++, i++) {
    T[i] = R->T_E;
    N[i] = (size_t)llround(R->T_E / R->gamma_E);
    eta[i] = R->E[a];
  }
  demo_progress(ctx, "%zu runs of the reverse chain on a grid", n);
  int st = dpm_sm_tv_reverse_batch(mix, n, T, N, eta, 0.0, 0.0, res);
  if (st) return st;
  memcpy(R->rT, res, R->nT * sizeof *res);
  memcpy(R->rG, res + R->nT, R->nG * sizeof *res);
  memcpy(R->rE, res + R->nT + R->nG, R->nE * sizeof *res);
  dpm_out *out =
      demo_dat_open(ctx, ctx->data_path, "TV of the reverse SDE against T, the step size and the score error");
  if (!out) return GSL_EFAILED;
  FILE *fp = dpm_out_file(out);
  demo_dat_block(fp, "T", "T gamma tv tv_prior prior_bound tv_disc");
  for (size_t a = 0; a < R->nT; a++) {
    const double v[6] = {R->T[a],           R->gamma_T,           R->rT[a].tv,
                         R->rT[a].tv_prior, R->rT[a].prior_bound, R->rT[a].tv_disc};
    demo_dat_row(fp, 6, v);
  }
  demo_dat_block(fp, "gamma", "gamma T tv tv_disc ref_slope1 ref_slope_half");
  const double g0 = R->G[R->nG - 1], d0 = R->rG[R->nG - 1].tv_disc;
  for (size_t a = 0; a < R->nG; a++) {
    const double v[6] = {
        R->G[a], R->T_G, R->rG[a].tv, R->rG[a].tv_disc, d0 * R->G[a] / g0, d0 * sqrt(R->G[a] / g0)};
    demo_dat_row(fp, 6, v);
  }
  demo_dat_block(fp, "eta", "eta T gamma tv tv_score score_bound tv_disc");
  for (size_t a = 0; a < R->nE; a++) {
    const double v[7] = {R->E[a],         R->T_E, R->gamma_E, R->rE[a].tv, R->rE[a].tv_score, R->rE[a].score_bound,
                         R->rE[a].tv_disc};
    demo_dat_row(fp, 7, v);
  }
  st = demo_dat_close(out, 1);
  /* the measured slopes: prior term over the last unit of T, the output's TV over [1, 2], steps over the two
   * smallest gamma, score over the two smallest eta; and how loose the Girsanov bound is there */
  const size_t a1 = R->nT - 1, a0 = R->nT - 1 - (size_t)llround(1.0 / (R->T[1] - R->T[0]));
  R->slope_prior = log(R->rT[a1].tv_prior / R->rT[a0].tv_prior) / (R->T[a1] - R->T[a0]);
  size_t b0 = 0, b1 = 0;
  for (size_t a = 0; a < R->nT; a++) {
    if (fabs(R->T[a] - 1.0) < 1e-9) b0 = a;
    if (fabs(R->T[a] - 2.0) < 1e-9) b1 = a;
  }
  R->slope_out = log(R->rT[b1].tv / R->rT[b0].tv) / (R->T[b1] - R->T[b0]);
  R->slope_steps = slope(R->G[R->nG - 2], R->rG[R->nG - 2].tv_disc, R->G[R->nG - 1], R->rG[R->nG - 1].tv_disc);
  R->slope_score = slope(R->E[1], R->rE[1].tv_score, R->E[2], R->rE[2].tv_score);
  R->bound_ratio = R->rE[1].score_bound / R->rE[1].tv_score;
  return st;
}

static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const results *R = arg;
  const char *spec[1] = {DATA_SPEC};
  demo_val_text(fp, "spec", 1, spec);
  demo_val1(fp, "gamma_T", R->gamma_T);
  demo_val1(fp, "T_G", R->T_G);
  demo_val1(fp, "T_E", R->T_E);
  demo_val1(fp, "gamma_E", R->gamma_E);
  demo_val1(fp, "Tlo", R->T[0]);
  demo_val1(fp, "Thi", R->T[R->nT - 1]);
  demo_val1(fp, "slope_prior", R->slope_prior);
  demo_val1(fp, "slope_out", R->slope_out);
  demo_val1(fp, "slope_steps", R->slope_steps);
  demo_val1(fp, "slope_score", R->slope_score);
  demo_val1(fp, "bound_ratio", R->bound_ratio);
  double t[NT_MAX], tv[NT_MAX], tp[NT_MAX], pb[NT_MAX], dd[NT_MAX];
  size_t k = 0;
  for (size_t a = 0; a < R->nT; a += 2, k++) {
    t[k] = R->T[a];
    tv[k] = R->rT[a].tv;
    tp[k] = R->rT[a].tv_prior;
    pb[k] = R->rT[a].prior_bound;
    dd[k] = R->rT[a].tv_disc;
  }
  demo_val(fp, "tT", k, t);
  demo_val(fp, "tvT", k, tv);
  demo_val(fp, "tpT", k, tp);
  demo_val(fp, "pbT", k, pb);
  demo_val(fp, "tdT", k, dd);
  double gd[NG_MAX];
  for (size_t a = 0; a < R->nG; a++)
    gd[a] = R->rG[a].tv_disc;
  demo_val(fp, "gG", R->nG, R->G);
  demo_val(fp, "tdG", R->nG, gd);
  double es[NE_MAX], eb[NE_MAX], et[NE_MAX];
  for (size_t a = 0; a < R->nE; a++) {
    es[a] = R->rE[a].tv_score;
    eb[a] = R->rE[a].score_bound;
    et[a] = R->rE[a].tv;
  }
  demo_val(fp, "eE", R->nE, R->E);
  demo_val(fp, "tsE", R->nE, es);
  demo_val(fp, "sbE", R->nE, eb);
  demo_val(fp, "tvE", R->nE, et);
  const char *scd[NSC_D * NSC_T];
  double sct[NSC_D * NSC_T], scp[NSC_D * NSC_T], sco[NSC_D * NSC_T], scs[NSC_D * NSC_T], scg[NSC_D * NSC_T],
      scf[NSC_D * NSC_T];
  for (size_t a = 0; a < NSC_D * NSC_T; a++) {
    scd[a] = sc_spec[a / NSC_T];
    sct[a] = R->sc[a].T;
    scp[a] = R->sc[a].tv_prior;
    sco[a] = R->sc[a].tv_ode_data;
    scs[a] = R->sc[a].tv_sde_data;
    scg[a] = R->sc[a].tv_sde_ode;
    scf[a] = R->sc[a].defect;
  }
  demo_val_text(fp, "scD", NSC_D * NSC_T, scd);
  demo_val(fp, "scT", NSC_D * NSC_T, sct);
  demo_val(fp, "scP", NSC_D * NSC_T, scp);
  demo_val(fp, "scO", NSC_D * NSC_T, sco);
  demo_val(fp, "scS", NSC_D * NSC_T, scs);
  demo_val(fp, "scG", NSC_D * NSC_T, scg);
  demo_val(fp, "scF", NSC_D * NSC_T, scf);
  return DPM_SUCCESS;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc =
      demo_init(&ctx, "scorematch_tv",
                "The total-variation bound of the reverse SDE in 1-D: TV(generated, data) against the horizon, "
                "the step size and a score error, each of its three terms isolated.",
                argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  results R = {0};
  const int q = ctx.quick;
  R.nT = q ? 8 : 14;
  for (size_t a = 0; a < R.nT; a++)
    R.T[a] = q ? 1.0 + (double)a : 0.5 * (double)(a + 1);
  R.gamma_T = q ? 0.05 : 0.005;
  R.T_G = 6.0;
  R.nG = q ? 5 : 9;
  for (size_t a = 0; a < R.nG; a++)
    R.G[a] = 0.5 / pow(2.0, (double)a);
  R.T_E = 5.0;
  R.gamma_E = q ? 0.05 : 0.005;
  R.nE = q ? 5 : 8;
  for (size_t a = 0; a < R.nE; a++)
    R.E[a] = 0.005 * pow(2.0, (double)a);
  dpm_mixture *mix = dpm_data_from_spec(DATA_SPEC);
  if (!mix) return demo_fail(&ctx, "loading " DATA_SPEC);
  int st = compute(&ctx, mix, &R);
  if (!st) st = compute_selfcons(&ctx, &R);
  static const char *const figures[1] = {"scorematch_tv"};
  rc = st ? demo_fail(&ctx, "computing the TV study") : demo_publish(&ctx, 1, figures, write_values, &R);
  dpm_mixture_free(mix);
  return rc;
}
