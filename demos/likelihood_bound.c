/* likelihood_bound.c — the likelihoods a diffusion model cannot check, against ground truth on a 2-D mixture
 * (docs/MATH.md §4.3): the continuous-time ELBO of the reverse SDE (Song, Durkan, Murray & Ermon 2021, Thm 1) and
 * its gap for the exact and for imperfect scores, the model's own density p^ODE of imperfect denoisers (scaled,
 * autoguided) with KL(q_t0 || p^ODE) by Monte Carlo, and the truncation study: how log p depends on t0 and how
 * log q_t0 approaches log q_0. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

#define DATA_SPEC "ring8"
#define NC        7
#define NW        5
#define NT0       6

static const double CS[NC] = {0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2};
static const double WS[NW] = {0.0, 0.25, 0.5, 1.0, 2.0};
static const double T0S[NT0] = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1};

typedef struct {
  size_t npts, nkl, mc;
  double kl[NC], kl_se[NC], gap[NC], gap_se[NC];
  double akl[NW], akl_se[NW];
  double pt_gap_exact, pt_gap_exact_se, pt_gap_scaled, pt_gap_scaled_se;
  double trunc_ode[2][NT0], trunc_q[2][NT0], slope[2];
} results;

/* mean and SE of v (n) */
static void mean_se(size_t n, const double *v, double *mean, double *se)
{
  double s1 = 0.0, s2 = 0.0;
  for (size_t i = 0; i < n; i++)
    s1 += v[i];
  const double dn = (double)n, m = s1 / dn;
  for (size_t i = 0; i < n; i++)
    s2 += (v[i] - m) * (v[i] - m);
  *mean = m;
  *se = sqrt(s2 / (dn - 1.0) / dn);
}

static int compute(const demo_ctx *ctx, const dpm_mixture *mix, results *R)
{
  const size_t n = R->npts, d = mix->d;
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VP);
  dpm_likelihood_params par;
  dpm_likelihood_params_default(&par);
  dpm_denoiser *ex = dpm_denoiser_oracle_alloc(mix);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  dpm_likelihood *wex = dpm_likelihood_alloc(mix, NULL, 0);
  double *x = malloc(n * d * sizeof(double)), *b = malloc(n * sizeof(double)), *se = malloc(n * sizeof(double));
  double *lq = malloc(n * sizeof(double)), *tmp = malloc(n * sizeof(double));
  dpm_likelihood_point *res = malloc(n * sizeof *res);
  gsl_rng *r = dpm_rng_stream_alloc(demo_seed(ctx, 0), 0);
  dpm_mixture_sample_workspace *sw = dpm_mixture_sample_alloc(mix);
  dpm_out *out = NULL;
  int st = (ex && o && wex && x && b && se && lq && tmp && res && r && sw) ? DPM_SUCCESS : GSL_ENOMEM;
  double m0, s0;
  if (!st) st = dpm_process_ms(&p, par.t0, &m0, &s0);
  if (!st) st = dpm_mixture_sample_t(mix, sw, r, m0, s0, n, x, NULL, NULL);
  dpm_oracle_result orr = {0};
  orr.logq = lq;
  if (!st) st = dpm_oracle_eval(o, m0, s0, n, x, &orr);
  if (!st) out = demo_dat_open(ctx, ctx->data_path, "SDE bound, model KL and truncation against the truth");
  if (!st && !out) st = GSL_EFAILED;
  FILE *fp = out ? dpm_out_file(out) : NULL;

  /* (a) per point: the SDE bound of the exact score with the Gaussian prior, and of the scaled score c = 1.2
   * with the exact prior, and log p^ODE of the scaled model, each against log q_t0 */
  dpm_denoiser *sc = ex ? dpm_denoiser_scaled_alloc(ex, CS[NC - 1]) : NULL;
  dpm_likelihood *wsc = sc ? dpm_likelihood_alloc(mix, &sc, 1) : NULL;
  if (!st && !wsc) st = GSL_ENOMEM;
  double *b2 = malloc(n * sizeof(double)), *se2 = malloc(n * sizeof(double));
  if (!st && (!b2 || !se2)) st = GSL_ENOMEM;
  if (!st)
    st = dpm_likelihood_elbo_sde(wex, &p, par.t0, DPM_LIK_PRIOR_GAUSSIAN, R->mc, demo_seed(ctx, 1), n, x, b, se,
                                 NULL);
  if (!st)
    st = dpm_likelihood_elbo_sde(wsc, &p, par.t0, DPM_LIK_PRIOR_EXACT, R->mc, demo_seed(ctx, 2), n, x, b2, se2,
                                 NULL);
  if (!st) st = dpm_likelihood_eval(wsc, &p, &par, n, x, res, NULL);
  if (!st) {
    demo_dat_block(fp, "points",
                   "logq_t0 bound_exact-logq se bound_scaled-logq se logp_ode_scaled-logq (one row per point)");
    double g1 = 0, g2 = 0;
    for (size_t i = 0; i < n; i++) {
      const double v[6] = {lq[i], b[i] - lq[i], se[i], b2[i] - lq[i], se2[i], res[i].logp - lq[i]};
      demo_dat_row(fp, 6, v);
      tmp[i] = v[1];
      g1 += se[i] * se[i];
      g2 += se2[i] * se2[i];
    }
    double sx;
    mean_se(n, tmp, &R->pt_gap_exact, &sx);
    R->pt_gap_exact_se = sqrt(sx * sx + g1 / ((double)n * (double)n));
    for (size_t i = 0; i < n; i++)
      tmp[i] = b2[i] - lq[i];
    mean_se(n, tmp, &R->pt_gap_scaled, &sx);
    R->pt_gap_scaled_se = sqrt(sx * sx + g2 / ((double)n * (double)n));
  }
  dpm_likelihood_free(wsc);
  dpm_denoiser_free(sc);

  /* (b) scaled models: KL(q_t0 || p^ODE) and the mean SDE-bound gap E[log q - B] against c */
  if (!st) demo_dat_block(fp, "scaled", "c kl_ode se gap_sde se");
  for (size_t k = 0; k < NC && !st; k++) {
    dpm_denoiser *m = dpm_denoiser_scaled_alloc(ex, CS[k]);
    dpm_likelihood *wm = m ? dpm_likelihood_alloc(mix, &m, 1) : NULL;
    if (!wm) st = GSL_ENOMEM;
    if (!st)
      st = dpm_likelihood_model_kl(wm, &p, &par, R->nkl, demo_seed(ctx, 10 + k), &R->kl[k], &R->kl_se[k], NULL);
    if (!st)
      st = dpm_likelihood_elbo_sde(wm, &p, par.t0, DPM_LIK_PRIOR_EXACT, R->mc, demo_seed(ctx, 20 + k), n, x, b, se,
                                   NULL);
    if (!st) {
      double g = 0.0;
      for (size_t i = 0; i < n; i++) {
        tmp[i] = lq[i] - b[i];
        g += se[i] * se[i];
      }
      double sx;
      mean_se(n, tmp, &R->gap[k], &sx);
      R->gap_se[k] = sqrt(sx * sx + g / ((double)n * (double)n));
      const double v[5] = {CS[k], R->kl[k], R->kl_se[k], R->gap[k], R->gap_se[k]};
      demo_dat_row(fp, 5, v);
    }
    dpm_likelihood_free(wm);
    dpm_denoiser_free(m);
  }

  /* (c) autoguidance (1 + w) D - w D_weak with a blurred copy of the data (extra variance 0.25) */
  dpm_mixture *weak = dpm_guidance_weak_mixture(mix, 0.25, 0);
  dpm_denoiser *dw = weak ? dpm_denoiser_oracle_alloc(weak) : NULL;
  if (!st && !dw) st = GSL_ENOMEM;
  if (!st) demo_dat_block(fp, "auto", "w kl_ode se");
  for (size_t k = 0; k < NW && !st; k++) {
    dpm_denoiser *m = dpm_guidance_combine_alloc(ex, dw, WS[k]);
    dpm_likelihood *wm = m ? dpm_likelihood_alloc(mix, &m, 1) : NULL;
    if (!wm) st = GSL_ENOMEM;
    if (!st)
      st = dpm_likelihood_model_kl(wm, &p, &par, R->nkl, demo_seed(ctx, 30 + k), &R->akl[k], &R->akl_se[k], NULL);
    if (!st) {
      const double v[3] = {WS[k], R->akl[k], R->akl_se[k]};
      demo_dat_row(fp, 3, v);
    }
    dpm_likelihood_free(wm);
    dpm_denoiser_free(m);
  }
  dpm_denoiser_free(dw);
  dpm_mixture_free(weak);

  /* (d) truncation: at exact draws of q_0, |log p_ODE(t0) - log q_0| and |log q_t0 - log q_0| against t0, VP and
   * EDM (log q_0 by the oracle at m = 1, s = 1e-100, where s^2 is far below every variance of the data) */
  if (!st) st = dpm_mixture_sample(mix, sw, r, n, x, NULL);
  if (!st) st = dpm_oracle_eval(o, 1.0, 1e-100, n, x, &orr);
  for (int q = 0; q < 2 && !st; q++) {
    dpm_process pq;
    dpm_process_init(&pq, q ? DPM_PROCESS_EDM : DPM_PROCESS_VP);
    demo_dat_block(fp, q ? "trunc_edm" : "trunc_vp", "t0 mean|logp_ode-logq0| mean|logq_t0-logq0|");
    for (size_t k = 0; k < NT0 && !st; k++) {
      dpm_likelihood_params pt;
      dpm_likelihood_params_default(&pt);
      pt.t0 = T0S[k];
      pt.rtol = 1e-9;
      pt.atol = 1e-11;
      if ((st = dpm_likelihood_eval(wex, &pq, &pt, n, x, res, NULL))) break;
      double a1 = 0.0, a2 = 0.0;
      for (size_t i = 0; i < n; i++) {
        a1 += fabs(res[i].logp - lq[i]) / (double)n;
        a2 += fabs(res[i].logq_true - lq[i]) / (double)n;
      }
      R->trunc_ode[q][k] = a1;
      R->trunc_q[q][k] = a2;
      const double v[3] = {T0S[k], a1, a2};
      demo_dat_row(fp, 3, v);
    }
    R->slope[q] = log(R->trunc_q[q][2] / R->trunc_q[q][1]) / log(T0S[2] / T0S[1]);
  }
  int cst = out ? demo_dat_close(out, st == DPM_SUCCESS) : DPM_SUCCESS;
  if (!st) st = cst;
  dpm_mixture_sample_free(sw);
  gsl_rng_free(r);
  free(x);
  free(b);
  free(se);
  free(b2);
  free(se2);
  free(lq);
  free(tmp);
  free(res);
  dpm_likelihood_free(wex);
  dpm_oracle_free(o);
  dpm_denoiser_free(ex);
  return st;
}

static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const results *R = arg;
  const char *spec[1] = {DATA_SPEC};
  demo_val_text(fp, "spec", 1, spec);
  demo_val1(fp, "npts", (double)R->npts);
  demo_val1(fp, "nkl", (double)R->nkl);
  demo_val1(fp, "mc", (double)R->mc);
  demo_val(fp, "c", NC, CS);
  demo_val(fp, "kl", NC, R->kl);
  demo_val(fp, "kl_se", NC, R->kl_se);
  demo_val(fp, "gap", NC, R->gap);
  demo_val(fp, "gap_se", NC, R->gap_se);
  demo_val(fp, "w", NW, WS);
  demo_val(fp, "akl", NW, R->akl);
  demo_val(fp, "akl_se", NW, R->akl_se);
  demo_val1(fp, "pt_gap_exact", R->pt_gap_exact);
  demo_val1(fp, "pt_gap_exact_se", R->pt_gap_exact_se);
  demo_val1(fp, "pt_gap_scaled", R->pt_gap_scaled);
  demo_val1(fp, "pt_gap_scaled_se", R->pt_gap_scaled_se);
  demo_val(fp, "t0", NT0, T0S);
  demo_val(fp, "trunc_ode_vp", NT0, R->trunc_ode[0]);
  demo_val(fp, "trunc_q_vp", NT0, R->trunc_q[0]);
  demo_val(fp, "trunc_ode_edm", NT0, R->trunc_ode[1]);
  demo_val(fp, "trunc_q_edm", NT0, R->trunc_q[1]);
  demo_val(fp, "slope", 2, R->slope);
  return DPM_SUCCESS;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc = demo_init(&ctx, "likelihood_bound",
                     "The SDE bound and its gap, the model's own likelihood of imperfect denoisers with "
                     "KL(q || p^ODE), and the t0 truncation study, against the exact log q.",
                     argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  results R = {0};
  R.npts = ctx.quick ? 12 : 60;
  R.nkl = ctx.quick ? 12 : 100;
  R.mc = ctx.quick ? 200 : 2000;
  demo_progress(&ctx, "%s on vp: %zu points, %zu draws per KL", DATA_SPEC, R.npts, R.nkl);
  dpm_mixture *mix = dpm_data_from_spec(DATA_SPEC);
  if (!mix) return demo_fail(&ctx, "loading " DATA_SPEC);
  int st = compute(&ctx, mix, &R);
  static const char *const figures[1] = {"likelihood_bound"};
  rc = st ? demo_fail(&ctx, "computing the bounds") : demo_publish(&ctx, 1, figures, write_values, &R);
  dpm_mixture_free(mix);
  return rc;
}
