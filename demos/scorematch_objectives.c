/* scorematch_objectives.c — why denoising score matching trains the score (Vincent 2011, eq. 11; Hyvarinen 2005,
 * eq. 4; Song et al. 2019, eq. 7; docs/MATH.md §4.4): on a 1-D mixture at one noise level of the VP process, the
 * Fisher divergence, implicit SM, sliced SM and DSM of the exact score of a perturbed mixture (means shifted by
 * delta) against delta — four parallel curves, the gaps DSM - SM = d/s^2 and Fisher - SM = d Gamma/s^2 constant in
 * delta — and the exact least-squares DSM fit of linear models against their number of features, whose DSM loss
 * approaches its floor d(1 - Gamma)/s^2 while the Fisher divergence goes to zero, with the second-order DSM fit of
 * the Laplacian on the same features (Lu et al. 2022, trace form); and the likelihood-weighted DSM bound on
 * -E log p^SDE (Song, Durkan, Murray & Ermon 2021, Thm 1) of the same perturbed scores beside its exact floor and
 * the likelihood module's numbers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "dpm_likelihood.h"
#include "dpm_rng.h"
#include "dpm_scorematch.h"

#define DATA_SPEC "gmm1d"
#define T_EVAL    0.3 /* VP time */
#define DMAX      1.5 /* delta range [-DMAX, DMAX] */
#define NSIZES    7
#define NLB       4    /* models of the likelihood-bound table */
#define LB_T0     1e-3 /* its lower time */

static const size_t SIZES[NSIZES] = {1, 2, 4, 8, 16, 32, 64};
static const char *const BASES[2] = {"rff", "bump"};

typedef struct {
  size_t ndelta, M, Mfit;
  double m, s, d, gamma, gamma_err;
  double c_dsm, c_fisher, c_floor;   /* d/s^2, d Gamma/s^2, d(1 - Gamma)/s^2 */
  double gap_dsm_mean, gap_dsm_maxz; /* mean over delta of dsm - sm, and max |gap - d/s^2|/se */
  double gap_fis_mean, gap_fis_maxz; /* the same for fisher - sm against d Gamma/s^2 */
  double ssm_maxz;                   /* max |ssm - sm|/se */
  double argmin[4];                  /* the delta minimising fisher, sm, dsm, ssm on the grid */
  double tab_delta[5], tab[5][4];    /* five rows of the table */
  double fit_fisher[2][NSIZES], fit_dsm[2][NSIZES], fit_P[2][NSIZES];
  double fit_rel1[2][NSIZES], fit_rel2[2][NSIZES]; /* relative errors of the first- and second-order fits */
  double lap2;                                     /* E (Delta log q_t)^2, the second-order normaliser */
  size_t lb_M, lb_n;                               /* draws of the bound; points of the likelihood module */
  dpm_sm_likbound lb[NLB];
  double lb_elbo[NLB], lb_elbo_se[NLB], lb_ode[NLB], lb_ode_se[NLB];
} results;

static const double LB_DELTA[NLB] = {0.0, 0.1, 0.3, 0.6};

/* The likelihood-weighted DSM bound of the perturbed scores at t0 (VP) beside the likelihood module's per-point
 * SDE bound averaged over lb_n exact draws of q_t0 and its ODE cross-entropy H(q_t0) + KL(q_t0 || p^ODE) (prior
 * N(0, s_T^2)). */
static int compute_bound(const demo_ctx *ctx, const dpm_mixture *mix, results *R)
{
  dpm_process p;
  int st = dpm_process_parse(&p, "vp");
  if (st) return st;
  double m0, s0;
  if ((st = dpm_process_ms(&p, LB_T0, &m0, &s0))) return st;
  const size_t n = R->lb_n, d = mix->d;
  double *x = malloc(n * d * sizeof *x), *bd = malloc(n * sizeof *bd);
  dpm_mixture_sample_workspace *sw = dpm_mixture_sample_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(ctx->seed, 1000);
  st = (x && bd && sw && r) ? DPM_SUCCESS : GSL_ENOMEM;
  if (!st) st = dpm_mixture_sample_t(mix, sw, r, m0, s0, n, x, NULL, NULL);
  for (size_t k = 0; k < NLB && !st; k++) {
    demo_progress(ctx, "likelihood bound: delta = %g", LB_DELTA[k]);
    dpm_sm_model *md = dpm_sm_model_perturbed_alloc(mix, LB_DELTA[k], 0.0);
    dpm_denoiser *dn = md ? dpm_sm_model_denoiser_alloc(md, 0) : NULL;
    dpm_likelihood *w = dn ? dpm_likelihood_alloc(mix, &dn, 1) : NULL;
    st = w ? DPM_SUCCESS : GSL_ENOMEM;
    if (!st) st = dpm_sm_likelihood_bound(mix, md, &p, LB_T0, R->lb_M, ctx->seed + k, &R->lb[k]);
    if (!st)
      st = dpm_likelihood_elbo_sde(w, &p, LB_T0, DPM_LIK_PRIOR_GAUSSIAN, 64, ctx->seed, n, x, bd, NULL, NULL);
    if (!st) {
      double s1 = 0.0, s2 = 0.0;
      for (size_t i = 0; i < n; i++) {
        s1 -= bd[i];
        s2 += bd[i] * bd[i];
      }
      R->lb_elbo[k] = s1 / (double)n;
      R->lb_elbo_se[k] = sqrt((s2 / (double)n - R->lb_elbo[k] * R->lb_elbo[k]) / (double)(n - 1));
      dpm_likelihood_params par;
      dpm_likelihood_params_default(&par);
      par.t0 = LB_T0;
      par.prior = DPM_LIK_PRIOR_GAUSSIAN;
      par.rtol = 1e-6;
      double kl, kse;
      st = dpm_likelihood_model_kl(w, &p, &par, n, ctx->seed, &kl, &kse, NULL);
      R->lb_ode[k] = R->lb[k].entropy_t0 + kl;
      R->lb_ode_se[k] = kse;
    }
    dpm_likelihood_free(w);
    dpm_denoiser_free(dn);
    dpm_sm_model_free(md);
  }
  gsl_rng_free(r);
  dpm_mixture_sample_free(sw);
  free(x);
  free(bd);
  dpm_process_clear(&p);
  return st;
}

static int compute(const demo_ctx *ctx, const dpm_mixture *mix, results *R)
{
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VP);
  int st = dpm_process_ms(&p, T_EVAL, &R->m, &R->s);
  const double m = R->m, s = R->s;
  R->d = (double)mix->d;
  dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mix, 1e-10);
  if (!q) return GSL_ENOMEM;
  if (!st) st = dpm_analytic_gamma_quad_eval(q, m, s, &R->gamma, &R->gamma_err);
  dpm_analytic_gamma_quad_free(q);
  if (st) return st;
  R->c_dsm = R->d / (s * s);
  R->c_fisher = R->d * R->gamma / (s * s);
  R->c_floor = R->d * (1.0 - R->gamma) / (s * s);
  dpm_out *out = demo_dat_open(ctx, ctx->data_path, "score-matching objectives against a model parameter");
  if (!out) return GSL_EFAILED;
  FILE *fp = dpm_out_file(out);
  demo_dat_block(
      fp, "delta",
      "delta fisher fisher_se sm sm_se dsm dsm_se ssm ssm_se dsm_minus_sm dsm_minus_sm_se fisher_minus_sm "
      "fisher_minus_sm_se c_dsm c_fisher");
  const uint64_t seed = demo_seed(ctx, 1); /* the same draws for every delta: common random numbers */
  double best[4] = {INFINITY, INFINITY, INFINITY, INFINITY};
  R->gap_dsm_mean = R->gap_fis_mean = 0.0;
  R->gap_dsm_maxz = R->gap_fis_maxz = R->ssm_maxz = 0.0;
  size_t row = 0;
  for (size_t i = 0; i < R->ndelta && !st; i++) {
    const double delta = -DMAX + 2.0 * DMAX * (double)i / (double)(R->ndelta - 1);
    dpm_sm_model *md = dpm_sm_model_perturbed_alloc(mix, delta, 0.0);
    dpm_sm_objectives o;
    st = md ? dpm_sm_objectives_eval(mix, md, m, s, R->M, seed, &o) : GSL_ENOMEM;
    dpm_sm_model_free(md);
    if (st) break;
    const double v[15] = {delta,
                          o.fisher,
                          o.fisher_se,
                          o.sm,
                          o.sm_se,
                          o.dsm,
                          o.dsm_se,
                          o.ssm,
                          o.ssm_se,
                          o.dsm_minus_sm,
                          o.dsm_minus_sm_se,
                          o.fisher_minus_sm,
                          o.fisher_minus_sm_se,
                          R->c_dsm,
                          R->c_fisher};
    demo_dat_row(fp, 15, v);
    R->gap_dsm_mean += o.dsm_minus_sm / (double)R->ndelta;
    R->gap_fis_mean += o.fisher_minus_sm / (double)R->ndelta;
    R->gap_dsm_maxz = fmax(R->gap_dsm_maxz, fabs(o.dsm_minus_sm - R->c_dsm) / o.dsm_minus_sm_se);
    R->gap_fis_maxz = fmax(R->gap_fis_maxz, fabs(o.fisher_minus_sm - R->c_fisher) / o.fisher_minus_sm_se);
    R->ssm_maxz = fmax(R->ssm_maxz, fabs(o.ssm_minus_sm) / o.ssm_minus_sm_se);
    const double f[4] = {o.fisher, o.sm, o.dsm, o.ssm};
    for (int k = 0; k < 4; k++)
      if (f[k] < best[k]) {
        best[k] = f[k];
        R->argmin[k] = delta;
      }
    /* five table rows: the ends, the quarter points and the middle */
    if (row < 5 && i == row * (R->ndelta - 1) / 4) {
      R->tab_delta[row] = delta;
      memcpy(R->tab[row], f, sizeof f);
      row++;
    }
  }
  /* E (Delta log q_t)^2 over the draws of the objectives, the scale of the second-order errors */
  if (!st) {
    double *x = malloc(R->M * mix->d * sizeof *x), *lap = malloc(R->M * sizeof *lap);
    gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
    dpm_mixture_sample_workspace *sw = dpm_mixture_sample_alloc(mix);
    dpm_oracle *o = dpm_oracle_alloc(mix);
    st = x && lap && r && sw && o ? dpm_mixture_sample_t(mix, sw, r, m, s, R->M, x, NULL, NULL) : GSL_ENOMEM;
    dpm_oracle_result res = {.lap = lap};
    if (!st) st = dpm_oracle_eval(o, m, s, R->M, x, &res);
    R->lap2 = 0.0;
    for (size_t i = 0; i < R->M && !st; i++)
      R->lap2 += lap[i] * lap[i] / (double)R->M;
    dpm_oracle_free(o);
    dpm_mixture_sample_free(sw);
    gsl_rng_free(r);
    free(x);
    free(lap);
  }
  /* linear models fitted by exact least-squares DSM at the same noise level: the score (first order) and, on the
   * same features, the Laplacian by second-order DSM (Lu et al. 2022, trace form) */
  for (int b = 0; b < 2 && !st; b++) {
    char blk[32];
    snprintf(blk, sizeof blk, "fit_%s", BASES[b]);
    demo_dat_block(fp, blk,
                   "features fisher fisher_se dsm dsm_se floor rel1 rel1_dsm rel2 rel2_se (relative: fisher / "
                   "E|grad log q|^2, (dsm - floor) / E|grad log q|^2, E|h - lap|^2 / E lap^2)");
    dpm_sm_basis_kind kind;
    if ((st = dpm_sm_basis_parse(BASES[b], &kind))) break;
    for (int k = 0; k < NSIZES && !st; k++) {
      dpm_sm_linear *L =
          dpm_sm_linear_alloc_for(kind, SIZES[k], 0.5, demo_seed(ctx, 10 + (uint64_t)k), mix, 1, NULL);
      dpm_sm_model *md = L ? dpm_sm_linear_model_alloc(L) : NULL;
      dpm_sm_objectives o;
      st = md ? DPM_SUCCESS : GSL_ENOMEM;
      if (!st)
        st = dpm_sm_linear_fit_level(L, mix, m, s, DPM_SM_TARGET_DSM, R->Mfit, demo_seed(ctx, 2), 1e-10, NULL);
      if (!st) st = dpm_sm_objectives_eval(mix, md, m, s, R->M, seed, &o);
      double w[1 + 1 + 64], lerr = NAN, lerr_se = NAN;
      if (!st)
        st = dpm_sm_second_order_fit(L, mix, m, s, DPM_SM_TARGET_DSM, R->Mfit, demo_seed(ctx, 3), 1e-10, w, &lerr,
                                     &lerr_se);
      if (!st) {
        R->fit_P[b][k] = (double)dpm_sm_linear_nfeatures(L);
        R->fit_fisher[b][k] = o.fisher;
        R->fit_dsm[b][k] = o.dsm;
        R->fit_rel1[b][k] = o.fisher / R->c_fisher;
        R->fit_rel2[b][k] = lerr / R->lap2;
        const double v[10] = {
            R->fit_P[b][k],    o.fisher,         o.fisher_se,       o.dsm,
            o.dsm_se,          R->c_floor,       R->fit_rel1[b][k], (o.dsm - R->c_floor) / R->c_fisher,
            R->fit_rel2[b][k], lerr_se / R->lap2};
        demo_dat_row(fp, 10, v);
      }
      dpm_sm_model_free(md);
      dpm_sm_linear_free(L);
    }
  }
  int cst = demo_dat_close(out, st == DPM_SUCCESS);
  return st ? st : cst;
}

static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const results *R = arg;
  const char *spec[1] = {DATA_SPEC};
  demo_val_text(fp, "spec", 1, spec);
  demo_val1(fp, "t", T_EVAL);
  demo_val1(fp, "m", R->m);
  demo_val1(fp, "s", R->s);
  demo_val1(fp, "d", R->d);
  demo_val1(fp, "dmax", DMAX);
  demo_val1(fp, "ndelta", (double)R->ndelta);
  demo_val1(fp, "M", (double)R->M);
  demo_val1(fp, "Mfit", (double)R->Mfit);
  demo_val1(fp, "gamma", R->gamma);
  demo_val1(fp, "gamma_err", R->gamma_err);
  demo_val1(fp, "c_dsm", R->c_dsm);
  demo_val1(fp, "c_fisher", R->c_fisher);
  demo_val1(fp, "c_floor", R->c_floor);
  demo_val1(fp, "lap2", R->lap2);
  demo_val1(fp, "gap_dsm_mean", R->gap_dsm_mean);
  demo_val1(fp, "gap_dsm_maxz", R->gap_dsm_maxz);
  demo_val1(fp, "gap_fis_mean", R->gap_fis_mean);
  demo_val1(fp, "gap_fis_maxz", R->gap_fis_maxz);
  demo_val1(fp, "ssm_maxz", R->ssm_maxz);
  demo_val(fp, "argmin", 4, R->argmin);
  demo_val1(fp, "lb_t0", LB_T0);
  demo_val1(fp, "lb_M", (double)R->lb_M);
  demo_val1(fp, "lb_n", (double)R->lb_n);
  demo_val(fp, "lbD", NLB, LB_DELTA);
  {
    double H[NLB], kl[NLB], fi[NLB], fse[NLB], fl[NLB], b[NLB], bse[NLB], z[NLB];
    for (size_t k = 0; k < NLB; k++) {
      H[k] = R->lb[k].entropy_t0;
      kl[k] = R->lb[k].kl_prior;
      fi[k] = R->lb[k].fisher_term;
      fse[k] = R->lb[k].fisher_se;
      fl[k] = R->lb[k].floor + R->lb[k].fisher_term;
      b[k] = R->lb[k].bound;
      bse[k] = R->lb[k].bound_se;
      z[k] = (b[k] - fl[k]) / sqrt(bse[k] * bse[k] + fse[k] * fse[k]);
    }
    demo_val(fp, "lbH", NLB, H);
    demo_val(fp, "lbKL", NLB, kl);
    demo_val(fp, "lbF", NLB, fi);
    demo_val(fp, "lbFse", NLB, fse);
    demo_val(fp, "lbExact", NLB, fl);
    demo_val(fp, "lbB", NLB, b);
    demo_val(fp, "lbBse", NLB, bse);
    demo_val(fp, "lbZ", NLB, z);
    demo_val(fp, "lbE", NLB, R->lb_elbo);
    demo_val(fp, "lbEse", NLB, R->lb_elbo_se);
    demo_val(fp, "lbO", NLB, R->lb_ode);
    demo_val(fp, "lbOse", NLB, R->lb_ode_se);
  }
  demo_val(fp, "tdelta", 5, R->tab_delta);
  for (int r = 0; r < 5; r++) {
    char key[16];
    snprintf(key, sizeof key, "tab[%d]", r);
    demo_val(fp, key, 4, R->tab[r]);
  }
  const char *names[2] = {"random Fourier features", "Gaussian bumps"};
  demo_val_text(fp, "basis", 2, names);
  for (int b = 0; b < 2; b++) {
    char key[24];
    snprintf(key, sizeof key, "fitP[%d]", b);
    demo_val(fp, key, NSIZES, R->fit_P[b]);
    snprintf(key, sizeof key, "fitF[%d]", b);
    demo_val(fp, key, NSIZES, R->fit_fisher[b]);
    snprintf(key, sizeof key, "fitD[%d]", b);
    demo_val(fp, key, NSIZES, R->fit_dsm[b]);
    snprintf(key, sizeof key, "fitR1[%d]", b);
    demo_val(fp, key, NSIZES, R->fit_rel1[b]);
    snprintf(key, sizeof key, "fitR2[%d]", b);
    demo_val(fp, key, NSIZES, R->fit_rel2[b]);
  }
  return DPM_SUCCESS;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc = demo_init(&ctx, "scorematch_objectives",
                     "Fisher, implicit, sliced and denoising score matching against a model parameter: parallel "
                     "curves with constant gaps, and exact least-squares DSM fits against the number of features.",
                     argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  results R = {0};
  R.ndelta = ctx.quick ? 9 : 41;
  R.M = ctx.quick ? 4000 : 100000;
  R.Mfit = ctx.quick ? 4000 : 50000;
  demo_progress(&ctx, "%s: %zu models x %zu draws at t = %g (VP)", DATA_SPEC, R.ndelta, R.M, T_EVAL);
  dpm_mixture *mix = dpm_data_from_spec(DATA_SPEC);
  if (!mix) return demo_fail(&ctx, "loading " DATA_SPEC);
  int st = compute(&ctx, mix, &R);
  R.lb_M = ctx.quick ? 4000 : 100000;
  R.lb_n = ctx.quick ? 50 : 400;
  if (!st) st = compute_bound(&ctx, mix, &R);
  static const char *const figures[1] = {"scorematch_objectives"};
  rc = st ? demo_fail(&ctx, "computing the objectives") : demo_publish(&ctx, 1, figures, write_values, &R);
  dpm_mixture_free(mix);
  return rc;
}
