/* scorematch_linear.c — a score model trained without a network (docs/MATH.md §4.4): a linear model on Gaussian
 * bumps and the affine features, piecewise linear in log-SNR, fitted to a 2-D mixture by exact
 * least-squares denoising score matching with the s_t^2 weighting (Vincent 2011; Ho et al. 2020's simple loss),
 * its score field beside the exact one, its Fisher divergence over t, and its samples through DPM-Solver-2 (Lu et
 * al. 2022) against samples of the exact score from the same prior draws. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "dpm_scorematch.h"

#define DATA_SPEC "ring8:sd=0.4"
#define T_FIELD   0.1 /* VP time of the field panels */
#define NGRID     17  /* arrows per side */
#define LIM       6.0
#define NC        81 /* contour grid per side */
#define SAMPLER   "dpm-solver-2"
#define STEPS     20
#define NTIMES    8

typedef struct {
  size_t P, nknots, ntrain, nsamp, Mobj;
  double fisher_w, fisher_w_se, dsm_w, dsm_w_se, c_floor_w; /* sigma2-weighted integrals over [t_min, 1] */
  double times[NTIMES], fis_t[NTIMES], fis_t_se[NTIMES], sc2_t[NTIMES];
  double energy[2], energy_se[2]; /* learned, exact: energy distance to exact draws of q_0 */
  double logq[2], logq_se[2];     /* mean log q_0 of the samples */
} results;

static int field(dpm_sm_model *md, double m, double s, const double *gx, double *out)
{
  return dpm_sm_model_score(md, m, s, NGRID * NGRID, gx, out);
}

static int compute(const demo_ctx *ctx, const dpm_mixture *mix, results *R)
{
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VP);
  const double lo = dpm_process_lambda(&p, p.t_max), hi = dpm_process_lambda(&p, p.t_min);
  double knots[16];
  for (size_t k = 0; k < R->nknots; k++)
    knots[k] = lo + (hi - lo) * (double)k / (double)(R->nknots - 1);
  dpm_sm_linear *L =
      dpm_sm_linear_alloc_for(DPM_SM_BASIS_BUMP, R->P, 0.3, demo_seed(ctx, 1), mix, R->nknots, knots);
  dpm_sm_model *md = L ? dpm_sm_linear_model_alloc(L) : NULL, *ex = dpm_sm_model_mixture_alloc(mix);
  dpm_denoiser *dl = md ? dpm_sm_model_denoiser_alloc(md, 0) : NULL, *de = dpm_denoiser_oracle_alloc(mix);
  const size_t n = R->nsamp, d = 2;
  double *gx = malloc(NGRID * NGRID * d * sizeof *gx), *fe = malloc(NGRID * NGRID * d * sizeof *fe),
         *fl = malloc(NGRID * NGRID * d * sizeof *fl), *cx = malloc(NC * NC * d * sizeof *cx),
         *cl = malloc(NC * NC * sizeof *cl),
         *xs[2] = {malloc(n * d * sizeof(double)), malloc(n * d * sizeof(double))},
         *x0 = malloc(n * d * sizeof *x0);
  const dpm_sampler_type *T = dpm_sampler_type_find(SAMPLER);
  dpm_sampler *smp = T ? dpm_sampler_alloc(T, n, d, STEPS) : NULL;
  dpm_timeline *tl = dpm_timeline_alloc(STEPS);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  dpm_out *out = NULL;
  int st = (L && md && ex && dl && de && gx && fe && fl && cx && cl && xs[0] && xs[1] && x0 && smp && tl && o)
               ? DPM_SUCCESS
               : GSL_ENOMEM;
  /* training */
  if (!st) {
    demo_progress(ctx, "training %zu features x %zu knots on %zu draws", dpm_sm_linear_nfeatures(L), R->nknots,
                  R->ntrain);
    st = dpm_sm_linear_fit_joint(L, mix, &p, DPM_SM_WEIGHT_SIGMA2, p.t_min, p.t_max, R->ntrain, demo_seed(ctx, 2),
                                 1e-6);
  }
  /* the fit: weighted integrals, and the Fisher divergence at a few times against E|grad log q_t|^2 */
  dpm_sm_objectives o_w;
  if (!st)
    st = dpm_sm_objectives_integrate(mix, md, &p, DPM_SM_WEIGHT_SIGMA2, p.t_min, p.t_max, 8, R->Mobj,
                                     demo_seed(ctx, 3), &o_w);
  if (!st) {
    R->fisher_w = o_w.fisher;
    R->fisher_w_se = o_w.fisher_se;
    R->dsm_w = o_w.dsm;
    R->dsm_w_se = o_w.dsm_se;
    R->c_floor_w = o_w.dsm_minus_fisher;
  }
  for (int k = 0; k < NTIMES && !st; k++) {
    double m, s;
    R->times[k] = 0.02 * pow(50.0, (double)k / (NTIMES - 1));
    dpm_sm_objectives ok;
    st = dpm_process_ms(&p, R->times[k], &m, &s);
    if (!st) st = dpm_sm_objectives_eval(mix, md, m, s, R->Mobj, demo_seed(ctx, 4), &ok);
    if (!st) {
      R->fis_t[k] = ok.fisher;
      R->fis_t_se[k] = ok.fisher_se;
      R->sc2_t[k] = ok.score2;
    }
  }
  if (!st) out = demo_dat_open(ctx, ctx->data_path, "a linear score model trained by least-squares DSM");
  if (!st && !out) st = GSL_EFAILED;
  FILE *fp = out ? dpm_out_file(out) : NULL;
  /* the fields at T_FIELD on a grid, over log q_t */
  double m, s;
  if (!st) st = dpm_process_ms(&p, T_FIELD, &m, &s);
  for (size_t i = 0; i < NGRID && gx; i++)
    for (size_t j = 0; j < NGRID; j++) {
      gx[(i * NGRID + j) * d] = -LIM + 2.0 * LIM * ((double)i + 0.5) / NGRID;
      gx[(i * NGRID + j) * d + 1] = -LIM + 2.0 * LIM * ((double)j + 0.5) / NGRID;
    }
  for (size_t i = 0; i < NC && cx; i++)
    for (size_t j = 0; j < NC; j++) {
      cx[(i * NC + j) * d] = -LIM + 2.0 * LIM * (double)i / (NC - 1);
      cx[(i * NC + j) * d + 1] = -LIM + 2.0 * LIM * (double)j / (NC - 1);
    }
  if (!st) st = field(ex, m, s, gx, fe);
  if (!st) st = field(md, m, s, gx, fl);
  dpm_oracle_result rl = {.logq = cl};
  if (!st) st = dpm_oracle_eval(o, m, s, NC * NC, cx, &rl);
  if (!st) {
    demo_dat_block(fp, "logq", "x_1 x_2 log_q_t (grid, blank line per x_1)");
    for (size_t i = 0; i < NC; i++) {
      for (size_t j = 0; j < NC; j++) {
        const double v[3] = {cx[(i * NC + j) * d], cx[(i * NC + j) * d + 1], cl[i * NC + j]};
        demo_dat_row(fp, 3, v);
      }
      fputc('\n', fp);
    }
    /* arrows scaled to a common length unit: the largest exact score on the grid spans 1.3 grid cells */
    double smax = 0.0;
    for (size_t i = 0; i < NGRID * NGRID; i++)
      smax = fmax(smax, hypot(fe[i * d], fe[i * d + 1]));
    const double scale = 1.3 * (2.0 * LIM / NGRID) / smax;
    demo_dat_block(fp, "field", "x_1 x_2 exact_1 exact_2 learned_1 learned_2 (arrows, scaled) err");
    for (size_t i = 0; i < NGRID * NGRID; i++) {
      const double v[7] = {gx[i * d],
                           gx[i * d + 1],
                           scale * fe[i * d],
                           scale * fe[i * d + 1],
                           scale * fl[i * d],
                           scale * fl[i * d + 1],
                           hypot(fl[i * d] - fe[i * d], fl[i * d + 1] - fe[i * d + 1])};
      demo_dat_row(fp, 7, v);
    }
    demo_dat_block(fp, "fisher_t", "t fisher fisher_se score2");
    for (int k = 0; k < NTIMES; k++) {
      const double v[4] = {R->times[k], R->fis_t[k], R->fis_t_se[k], R->sc2_t[k]};
      demo_dat_row(fp, 4, v);
    }
  }
  /* samples: the learned and the exact denoiser from the same prior draws, and exact draws of q_0 */
  dpm_sampler_problem pb = {.tl = tl, .mix = mix};
  dpm_sampler_params_default(&pb.par);
  if (!st) st = dpm_timeline_set_grid(tl, &p, "lambda", STEPS, 0.0);
  dpm_denoiser *dns[2] = {dl, de};
  for (int q = 0; q < 2 && !st; q++) {
    pb.dn = dns[q];
    st = dpm_sampler_run(smp, &pb, demo_seed(ctx, 5), n, xs[q], 0, NULL);
  }
  if (!st) {
    gsl_rng *r = dpm_rng_stream_alloc(demo_seed(ctx, 6), 0);
    dpm_mixture_sample_workspace *sw = dpm_mixture_sample_alloc(mix);
    st = r && sw ? dpm_mixture_sample(mix, sw, r, n, x0, NULL) : GSL_ENOMEM;
    gsl_rng_free(r);
    dpm_mixture_sample_free(sw);
  }
  for (int q = 0; q < 2 && !st; q++) {
    st = dpm_metrics_energy_u(d, n, xs[q], x0, &R->energy[q], &R->energy_se[q]);
    if (!st) st = dpm_metrics_logq_mean(mix, n, xs[q], &R->logq[q], &R->logq_se[q]);
  }
  if (!st) {
    demo_dat_block(fp, "samples", "learned_1 learned_2 exact_score_1 exact_score_2 data_1 data_2");
    for (size_t i = 0; i < n; i++) {
      const double v[6] = {xs[0][i * d],     xs[0][i * d + 1], xs[1][i * d],
                           xs[1][i * d + 1], x0[i * d],        x0[i * d + 1]};
      demo_dat_row(fp, 6, v);
    }
  }
  if (out) {
    const int cst = demo_dat_close(out, st == DPM_SUCCESS);
    if (!st) st = cst;
  }
  dpm_oracle_free(o);
  dpm_timeline_free(tl);
  dpm_sampler_free(smp);
  dpm_denoiser_free(dl);
  dpm_denoiser_free(de);
  dpm_sm_model_free(md);
  dpm_sm_model_free(ex);
  dpm_sm_linear_free(L);
  free(gx);
  free(fe);
  free(fl);
  free(cx);
  free(cl);
  free(xs[0]);
  free(xs[1]);
  free(x0);
  return st;
}

static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const results *R = arg;
  const char *spec[1] = {DATA_SPEC}, *smp[1] = {SAMPLER};
  demo_val_text(fp, "spec", 1, spec);
  demo_val_text(fp, "sampler", 1, smp);
  demo_val1(fp, "steps", STEPS);
  demo_val1(fp, "P", (double)R->P + 3.0);
  demo_val1(fp, "size", (double)R->P);
  demo_val1(fp, "nknots", (double)R->nknots);
  demo_val1(fp, "ntrain", (double)R->ntrain);
  demo_val1(fp, "nsamp", (double)R->nsamp);
  demo_val1(fp, "Mobj", (double)R->Mobj);
  demo_val1(fp, "tfield", T_FIELD);
  demo_val1(fp, "fisher_w", R->fisher_w);
  demo_val1(fp, "fisher_w_se", R->fisher_w_se);
  demo_val1(fp, "dsm_w", R->dsm_w);
  demo_val1(fp, "dsm_w_se", R->dsm_w_se);
  demo_val1(fp, "floor_w", R->c_floor_w);
  demo_val(fp, "times", NTIMES, R->times);
  demo_val(fp, "fis_t", NTIMES, R->fis_t);
  demo_val(fp, "fis_t_se", NTIMES, R->fis_t_se);
  demo_val(fp, "sc2_t", NTIMES, R->sc2_t);
  demo_val(fp, "energy", 2, R->energy);
  demo_val(fp, "energy_se", 2, R->energy_se);
  demo_val(fp, "logq", 2, R->logq);
  demo_val(fp, "logq_se", 2, R->logq_se);
  return DPM_SUCCESS;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc = demo_init(&ctx, "scorematch_linear",
                     "A linear score model trained by exact least-squares DSM on a 2-D mixture: its field beside "
                     "the exact one, its Fisher divergence over t, and its samples through DPM-Solver-2.",
                     argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  results R = {0};
  R.P = ctx.quick ? 60 : 300;
  R.nknots = ctx.quick ? 4 : 6;
  R.ntrain = ctx.quick ? 10000 : 100000;
  R.nsamp = ctx.quick ? 400 : 2000;
  R.Mobj = ctx.quick ? 500 : 4000;
  dpm_mixture *mix = dpm_data_from_spec(DATA_SPEC);
  if (!mix) return demo_fail(&ctx, "loading " DATA_SPEC);
  int st = compute(&ctx, mix, &R);
  static const char *const figures[1] = {"scorematch_linear"};
  rc = st ? demo_fail(&ctx, "training and sampling") : demo_publish(&ctx, 1, figures, write_values, &R);
  dpm_mixture_free(mix);
  return rc;
}
