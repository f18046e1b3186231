/* analytic_clipping.c — why Analytic-DPM clips its variance estimate into the bounds (Bao, Li, Zhu, Zhang, ICLR
 * 2022, §3.1 and Appendix; docs/MATH.md §3): Gamma-hat_n = E|eps-hat(x_n)|^2/d of imperfect denoisers (a
 * relative-error model at two error sizes, the memorising ideal denoiser of a finite sample, and the exact
 * denoiser's own Monte Carlo noise) against the true Gamma_n, the estimate sigma-hat^2 against sigma*^2 with and
 * without clipping on the full chain and on a 10-step trajectory, and what each variance costs in ELBO and sample
 * quality with the imperfect mean. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "dpm_analytic.h"
#include "dpm_imperfect.h"
#include "dpm_metrics.h"

#define N_STEPS   1000
#define DATA_SPEC "gmm1d"
#define QUAD_TOL  1e-13
/* Monte Carlo samples per step for Gamma-hat_n (the estimate Analytic-DPM would use); --quick: 200 */
static size_t MC_M = 2000;
#define N_TRAIN 100 /* training-set size of the memorising model */
#define K_TRAJ  10  /* the few-step trajectory */
/* samples for the W1 of each sampler; --quick: 2000 */
static size_t N_SAMPLE = 20000;
#define NMOD  4
#define NVAR  4
#define NSHOW 8

typedef enum { MOD_EXACT, MOD_REL_SMALL, MOD_REL_LARGE, MOD_MEMORISE } model_id;
static const char *const MOD_NAME[NMOD] = {"exact (MC noise only)", "relative error 0.2", "relative error 0.5",
                                           "memorising, 100 points"};
static const double REL_ETA[NMOD] = {0.0, 0.2, 0.5, 0.0};
/* the variances compared with each imperfect model's mean: the estimate unclipped and clipped, sigma*^2 of the
 * true Gamma, lambda^2 + c_0^2 mse (the best for the model's own mean) */
/* the streams (seed, index) of the sub-tasks that draw from streams of their own (demo_seed) */
enum { SEED_REL_SMALL = 11, SEED_REL_LARGE = 12, SEED_GAMMA_HAT = 100 };
static const size_t SHOW_N[NSHOW] = {1, 2, 10, 50, 200, 500, 800, 1000};

typedef struct {
  double *gamma, *gamma_err;          /* per n: the truth by cubature */
  double *ghat[NMOD], *ghat_se[NMOD]; /* per n: the estimates */
  double *x0mse[NMOD];                /* per n: E|x_0 - x0-hat(x_n)|^2/d of each model */
  size_t tau[K_TRAJ];                 /* the even trajectory */
  size_t nout_chain[NMOD], nneg_chain[NMOD], nout_traj[NMOD], nneg_traj[NMOD]; /* unclipped outside / < 0 */
  double nelbo_chain[NMOD][NVAR], nelbo_traj[NMOD][NVAR]; /* negative ELBO with the model's mean (nats) */
  double rest_chain[NMOD][NVAR], rest_traj[NMOD][NVAR];   /* the same without the decoder term */
  double ghat1[NMOD], dec_clip[NMOD];                     /* Gamma-hat_1 and the clipped decoder variance */
  double w1[NMOD][NVAR];                                  /* W1 of K_TRAJ-step samples (NAN: not a variance) */
  double w1_floor, H;
} results;

/* ---- the variances of one step ----------------------------------------------------------------------------- */

/* The four variances of the step st for model m (per-n arrays indexed at st->t). */
static void step_variances(const results *R, size_t m, const dpm_analytic_step *st, double *v)
{
  const size_t t = st->t;
  v[0] = dpm_analytic_sigma2_opt(st, R->ghat[m][t]);
  v[1] = dpm_analytic_sigma2_clip(st, v[0], INFINITY);
  v[2] = dpm_analytic_sigma2_opt(st, R->gamma[t]);
  v[3] = dpm_analytic_sigma2_mse(st, R->x0mse[m][t]);
}

/* Negative ELBO (nats) of the model with mean x0-hat and the variances v_k of choice `var` along tau (K steps,
 * tau[K-1] = N), dpm_analytic_elbo_mse; *rest receives prior + transitions (everything but the decoder). A
 * variance that is not positive makes its term +INFINITY (the model is undefined there). sigma2 holds K entries.
 */
static double nelbo_mse(const dpm_schedule *sch, const results *R, size_t m, size_t var, size_t K,
                        const size_t *tau, double e_norm2, double *sigma2, double *rest)
{
  for (size_t k = 0; k < K; k++) {
    dpm_analytic_step st;
    dpm_analytic_step_ts(sch, k == 0 ? 0 : tau[k - 1], tau[k], 1.0, &st);
    double v[NVAR];
    step_variances(R, m, &st, v);
    sigma2[k] = v[var];
  }
  double nelbo = NAN;
  if (dpm_analytic_elbo_mse(sch, 1, 1.0, e_norm2, K, tau, R->x0mse[m], sigma2, &nelbo, rest)) *rest = NAN;
  return nelbo;
}

/* ---- computation ------------------------------------------------------------------------------------------ */

static void results_free(results *R)
{
  free(R->gamma);
  free(R->gamma_err);
  for (size_t m = 0; m < NMOD; m++) {
    free(R->ghat[m]);
    free(R->ghat_se[m]);
    free(R->x0mse[m]);
  }
}

static int compute(const demo_ctx *ctx, const dpm_schedule *sch, results *R)
{
  const size_t N = sch->N;
  dpm_mixture *mix = dpm_data_from_spec(DATA_SPEC);
  if (!mix) return GSL_EINVAL;
  int st = DPM_SUCCESS;
  R->gamma = malloc((N + 1) * sizeof(double));
  R->gamma_err = malloc((N + 1) * sizeof(double));
  for (size_t m = 0; m < NMOD; m++) {
    R->ghat[m] = malloc((N + 1) * sizeof(double));
    R->ghat_se[m] = malloc((N + 1) * sizeof(double));
    R->x0mse[m] = malloc((N + 1) * sizeof(double));
    if (!R->ghat[m] || !R->ghat_se[m] || !R->x0mse[m]) st = GSL_ENOMEM;
  }
  size_t *chain = malloc(N * sizeof(size_t));
  double *x = malloc(N_SAMPLE * sizeof(double)), *s2buf = malloc(N * sizeof(double));
  dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mix, QUAD_TOL);
  dpm_analytic_gamma_mc *mc = dpm_analytic_gamma_mc_alloc(mix, MC_M);
  dpm_denoiser *exact = dpm_denoiser_oracle_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(ctx->seed, 0);
  dpm_denoiser *dn[NMOD] = {NULL, NULL, NULL, NULL};
  dpm_sampler_analytic *smp = dpm_sampler_analytic_alloc(1, N_SAMPLE);
  if (!st && (!R->gamma || !R->gamma_err || !chain || !x || !s2buf || !q || !mc || !exact || !r || !smp))
    st = GSL_ENOMEM;
  if (!st) {
    dn[MOD_EXACT] = exact;
    dn[MOD_REL_SMALL] = dpm_denoiser_relerr_alloc(exact, REL_ETA[MOD_REL_SMALL], demo_seed(ctx, SEED_REL_SMALL));
    dn[MOD_REL_LARGE] = dpm_denoiser_relerr_alloc(exact, REL_ETA[MOD_REL_LARGE], demo_seed(ctx, SEED_REL_LARGE));
    dpm_rng_stream_set(r, ctx->seed, 1);
    dn[MOD_MEMORISE] = dpm_denoiser_memorise_alloc(mix, N_TRAIN, r);
    for (size_t m = 0; m < NMOD; m++)
      if (!dn[m]) st = GSL_ENOMEM;
  }
  if (!st) {
    st = demo_gamma_quad(ctx, q, DATA_SPEC, "linear", sch, QUAD_TOL, R->gamma, R->gamma_err);
  }
  if (!st) st = dpm_mixture_entropy(mix, &R->H, NULL);
  /* every model's estimate from the same samples x_n ~ q_n (streams (demo_seed(SEED_GAMMA_HAT), n)) */
  for (size_t m = 0; m < NMOD && !st; m++) {
    demo_progress(ctx, "Gamma-hat_n of the %s model, M = %zu per step", MOD_NAME[m], MC_M);
    st = dpm_analytic_gamma_mc_denoiser(mc, dn[m], sch, demo_seed(ctx, SEED_GAMMA_HAT), R->ghat[m], R->ghat_se[m],
                                        R->x0mse[m], NULL);
  }
  if (!st) st = dpm_schedule_subsequence(sch, "even", K_TRAJ, R->tau);
  for (size_t i = 0; i < N; i++)
    chain[i] = i + 1;

  /* where the unclipped estimate leaves the bounds */
  for (size_t m = 0; m < NMOD && !st; m++) {
    for (size_t pass = 0; pass < 2; pass++) {
      const size_t K = pass == 0 ? N : K_TRAJ;
      const size_t *tau = pass == 0 ? chain : R->tau;
      size_t nout = 0, nneg = 0;
      for (size_t k = 0; k < K; k++) {
        dpm_analytic_step a;
        dpm_analytic_step_ts(sch, k == 0 ? 0 : tau[k - 1], tau[k], 1.0, &a);
        double v[NVAR];
        step_variances(R, m, &a, v);
        if (v[0] < dpm_analytic_sigma2_lower(&a) || v[0] > dpm_analytic_sigma2_upper(&a)) nout++;
        if (!(v[0] > 0.0)) nneg++;
      }
      (pass == 0 ? R->nout_chain : R->nout_traj)[m] = nout;
      (pass == 0 ? R->nneg_chain : R->nneg_traj)[m] = nneg;
    }
  }

  /* what each variance costs with the model's own (imperfect) mean */
  double e_norm2 = 0.0;
  dpm_mixture_moments(mix, NULL, NULL, &e_norm2);
  for (size_t m = 0; m < NMOD && !st; m++)
    for (size_t v = 0; v < NVAR; v++) {
      R->nelbo_chain[m][v] = nelbo_mse(sch, R, m, v, N, chain, e_norm2, s2buf, &R->rest_chain[m][v]);
      R->nelbo_traj[m][v] = nelbo_mse(sch, R, m, v, K_TRAJ, R->tau, e_norm2, s2buf, &R->rest_traj[m][v]);
    }
  for (size_t m = 0; m < NMOD && !st; m++) {
    dpm_analytic_step a;
    dpm_analytic_step_ts(sch, 0, 1, 1.0, &a);
    double v[NVAR];
    step_variances(R, m, &a, v);
    R->ghat1[m] = R->ghat[m][1];
    R->dec_clip[m] = v[1];
  }

  /* sample quality of K_TRAJ-step DDPM-family samplers with each model's mean and each variance */
  double sigma2[K_TRAJ];
  for (size_t m = 0; m < NMOD && !st; m++) {
    demo_progress(ctx, "sampling K = %d with the %s model", K_TRAJ, MOD_NAME[m]);
    for (size_t v = 0; v < NVAR && !st; v++) {
      int ok = 1;
      for (size_t k = 0; k < K_TRAJ; k++) {
        dpm_analytic_step a;
        dpm_analytic_step_ts(sch, k == 0 ? 0 : R->tau[k - 1], R->tau[k], 1.0, &a);
        double vv[NVAR];
        step_variances(R, m, &a, vv);
        sigma2[k] = vv[v];
        if (!(sigma2[k] >= 0.0)) ok = 0;
      }
      R->w1[m][v] = NAN;
      if (!ok) continue; /* a negative variance: no sampler */
      dpm_sampler_analytic_opts opts = {.eta = 1.0, .sigma2 = sigma2, .final_noise = 0, .start_mix = NULL};
      dpm_rng_stream_set(r, ctx->seed, 1000 + m * NVAR + v);
      st = dpm_sampler_analytic_run(smp, dn[m], sch, K_TRAJ, R->tau, &opts, N_SAMPLE, x, r);
      if (!st) st = dpm_metrics_w1_exact(mix, N_SAMPLE, x, &R->w1[m][v]);
    }
  }
  if (!st) {
    dpm_rng_stream_set(r, ctx->seed, 2000);
    dpm_mixture_sample_workspace *msw = dpm_mixture_sample_alloc(mix);
    st = msw ? dpm_mixture_sample(mix, msw, r, N_SAMPLE, x, NULL) : GSL_ENOMEM;
    dpm_mixture_sample_free(msw);
    if (!st) st = dpm_metrics_w1_exact(mix, N_SAMPLE, x, &R->w1_floor);
  }

  for (size_t m = 1; m < NMOD; m++)
    dpm_denoiser_free(dn[m]);
  dpm_sampler_analytic_free(smp);
  dpm_denoiser_free(exact);
  gsl_rng_free(r);
  dpm_analytic_gamma_mc_free(mc);
  dpm_analytic_gamma_quad_free(q);
  free(x);
  free(s2buf);
  free(chain);
  dpm_mixture_free(mix);
  return st;
}

/* ---- outputs ---------------------------------------------------------------------------------------------- */

/* One block of variance ratios for the steps tau[k-1] -> tau[k] (k = 1..K-1; the decoder step is left out). */
static void write_ratio_block(FILE *fp, const char *name, const dpm_schedule *sch, const results *R, size_t K,
                              const size_t *tau)
{
  demo_dat_block(fp, name,
                 "t s lower/sigma*^2 upper/sigma*^2 then per model (exact-MC rel0.2 rel0.5 memorise) unclipped/"
                 "sigma*^2 clipped/sigma*^2 (steps t -> s, eta = 1)");
  for (size_t k = 1; k < K; k++) {
    dpm_analytic_step a;
    dpm_analytic_step_ts(sch, tau[k - 1], tau[k], 1.0, &a);
    const double opt = dpm_analytic_sigma2_opt(&a, R->gamma[a.t]);
    double row[4 + 2 * NMOD] = {(double)a.t, (double)a.s, dpm_analytic_sigma2_lower(&a) / opt,
                                dpm_analytic_sigma2_upper(&a) / opt};
    for (size_t m = 0; m < NMOD; m++) {
      double v[NVAR];
      step_variances(R, m, &a, v);
      row[4 + 2 * m] = v[0] / opt;
      row[5 + 2 * m] = v[1] / opt;
    }
    demo_dat_row(fp, 4 + 2 * NMOD, row);
  }
}

static int write_data(const demo_ctx *ctx, const dpm_schedule *sch, const results *R)
{
  dpm_out *out = demo_dat_open(ctx, ctx->data_path,
                               "Analytic-DPM clipping: Gamma-hat of imperfect denoisers and the variance estimate "
                               "with and without clipping, gmm1d, linear N = 1000");
  if (!out) return GSL_EFAILED;
  FILE *fp = dpm_out_file(out);
  demo_dat_block(fp, "gamma",
                 "n Gamma_n Gamma_err then per model (exact-MC rel0.2 rel0.5 memorise) Gamma-hat_n se x0mse_n");
  for (size_t n = 1; n <= sch->N; n++) {
    double row[3 + 3 * NMOD] = {(double)n, R->gamma[n], R->gamma_err[n]};
    for (size_t m = 0; m < NMOD; m++) {
      row[3 + 3 * m] = R->ghat[m][n];
      row[4 + 3 * m] = R->ghat_se[m][n];
      row[5 + 3 * m] = R->x0mse[m][n];
    }
    demo_dat_row(fp, 3 + 3 * NMOD, row);
  }
  size_t *chain = malloc(sch->N * sizeof(size_t));
  if (!chain) {
    demo_dat_close(out, 0);
    return GSL_ENOMEM;
  }
  for (size_t i = 0; i < sch->N; i++)
    chain[i] = i + 1;
  write_ratio_block(fp, "ratio_chain", sch, R, sch->N, chain);
  write_ratio_block(fp, "ratio_traj", sch, R, K_TRAJ, R->tau);
  free(chain);
  return demo_dat_close(out, 1);
}

/* The values of the notebook (demos/analytic_clipping.md): the rows est[i] of the estimates at selected steps
 * (n, Gamma_n, then Gamma-hat_n and its standard error per model), the counts of steps where the unclipped
 * estimate leaves the band or is not positive (per model), Gamma-hat_1 and the clipped decoder variance per model,
 * and per model m and variance v the negative ELBO (nelbo_chain[m], nelbo_traj[m]; inf when a variance is not
 * positive), the same without the decoder term (rest_chain[m], rest_traj[m]) and the W1 of the samples (w1[m];
 * NaN when a variance is negative). */
static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  const results *R = arg;
  char key[64], text[DEMO_PATH_MAX];
  const char *t[1] = {DATA_SPEC};
  demo_val_text(fp, "spec", 1, t);
  demo_val1(fp, "N", N_STEPS);
  demo_val1(fp, "M", (double)MC_M);
  demo_val1(fp, "K", K_TRAJ);
  demo_val1(fp, "n_train", N_TRAIN);
  demo_val1(fp, "n_sample", (double)N_SAMPLE);
  demo_val1(fp, "H", R->H);
  demo_val1(fp, "w1_floor", R->w1_floor);
  snprintf(text, sizeof text, "%llu", (unsigned long long)demo_seed(ctx, SEED_GAMMA_HAT));
  t[0] = text;
  demo_val_text(fp, "mc_seed", 1, t);
  size_t len = 0;
  for (size_t k = 0; k < K_TRAJ && len < sizeof text; k++)
    len += (size_t)snprintf(text + len, sizeof text - len, k ? ", %zu" : "%zu", R->tau[k]);
  demo_val_text(fp, "tau_text", 1, t);
  for (size_t i = 0; i < NSHOW; i++) {
    const size_t n = SHOW_N[i];
    double row[2 + 2 * NMOD] = {(double)n, R->gamma[n]};
    for (size_t m = 0; m < NMOD; m++) {
      row[2 + 2 * m] = R->ghat[m][n];
      row[3 + 2 * m] = R->ghat_se[m][n];
    }
    snprintf(key, sizeof key, "est[%zu]", i);
    demo_val(fp, key, 2 + 2 * NMOD, row);
  }
  demo_val_sizes(fp, "nout_chain", NMOD, R->nout_chain);
  demo_val_sizes(fp, "nneg_chain", NMOD, R->nneg_chain);
  demo_val_sizes(fp, "nout_traj", NMOD, R->nout_traj);
  demo_val_sizes(fp, "nneg_traj", NMOD, R->nneg_traj);
  demo_val(fp, "ghat1", NMOD, R->ghat1);
  demo_val(fp, "dec_clip", NMOD, R->dec_clip);
  for (size_t m = 0; m < NMOD; m++) {
    snprintf(key, sizeof key, "nelbo_chain[%zu]", m);
    demo_val(fp, key, NVAR, R->nelbo_chain[m]);
    snprintf(key, sizeof key, "rest_chain[%zu]", m);
    demo_val(fp, key, NVAR, R->rest_chain[m]);
    snprintf(key, sizeof key, "nelbo_traj[%zu]", m);
    demo_val(fp, key, NVAR, R->nelbo_traj[m]);
    snprintf(key, sizeof key, "rest_traj[%zu]", m);
    demo_val(fp, key, NVAR, R->rest_traj[m]);
    snprintf(key, sizeof key, "w1[%zu]", m);
    demo_val(fp, key, NVAR, R->w1[m]);
  }
  return DPM_SUCCESS;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc =
      demo_init(&ctx, "analytic_clipping",
                "Analytic-DPM clipping: Gamma-hat of imperfect denoisers (relative error, memorisation, Monte "
                "Carlo noise) and the variance estimate with and without clipping (gmm1d, linear N = 1000).",
                argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  if (ctx.quick) {
    MC_M = 200;
    N_SAMPLE = 2000;
  }
  dpm_schedule *sch = dpm_schedule_linear_alloc(N_STEPS, 1e-4, 0.02);
  if (!sch) return demo_fail(&ctx, "making the schedule");
  results R;
  memset(&R, 0, sizeof R);
  if (compute(&ctx, sch, &R))
    rc = demo_fail(&ctx, "computing the estimates");
  else if (write_data(&ctx, sch, &R))
    rc = demo_fail(&ctx, "writing the data");
  else {
    static const char *const figures[1] = {"analytic_clipping"};
    rc = demo_publish(&ctx, 1, figures, write_values, &R);
  }
  results_free(&R);
  dpm_schedule_free(sch);
  return rc;
}
