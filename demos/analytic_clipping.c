/* analytic_clipping.c — why Analytic-DPM clips its variance estimate into the bounds (Bao, Li, Zhu, Zhang, ICLR
 * 2022, §3.1 and Appendix; docs/MATH.md §3): Gamma-hat_n = E|eps-hat(x_n)|^2/d of imperfect denoisers (a relative-error
 * model at two error sizes, the memorising ideal denoiser of a finite sample, and the exact denoiser's own Monte
 * Carlo noise) against the true Gamma_n, the estimate sigma-hat^2 against sigma*^2 with and without clipping on
 * the full chain and on a 10-step trajectory, and what each variance costs in ELBO and sample quality with the
 * imperfect mean. */
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
#define N_TRAIN   100   /* training-set size of the memorising model */
#define K_TRAJ    10    /* the few-step trajectory */
/* samples for the W1 of each sampler; --quick: 2000 */
static size_t N_SAMPLE = 20000;
#define NMOD      4
#define NVAR      4
#define NSHOW     8

typedef enum { MOD_EXACT, MOD_REL_SMALL, MOD_REL_LARGE, MOD_MEMORISE } model_id;
static const char *const MOD_NAME[NMOD] = {"exact (MC noise only)", "relative error 0.2", "relative error 0.5",
                                           "memorising, 100 points"};
static const double REL_ETA[NMOD] = {0.0, 0.2, 0.5, 0.0};
/* the variances compared with each imperfect model's mean */
static const char *const VAR_NAME[NVAR] = {"σ̂² unclipped", "σ̂² clipped", "σ*² (true Γ)",
                                           "λ² + c₀²·mse (best for this mean)"};
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
 * variance that is not positive makes its term +INFINITY (the model is undefined there). sigma2 holds K entries. */
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
  if (!st && (!R->gamma || !R->gamma_err || !chain || !x || !s2buf || !q || !mc || !exact || !r || !smp)) st = GSL_ENOMEM;
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
    st = dpm_analytic_gamma_mc_denoiser(mc, dn[m], sch, demo_seed(ctx, SEED_GAMMA_HAT), R->ghat[m], R->ghat_se[m], R->x0mse[m],
                                        NULL);
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

/* A negative ELBO: "∞" when infinite, with the finite rest (prior + transitions) when only the decoder is. */
static void md_nelbo(demo_md *b, double v, double rest)
{
  if (isinf(v) && isfinite(rest))
    demo_md_add(b, " ∞ (decoder; rest %.4f) |", rest);
  else if (isinf(v))
    demo_md_add(b, " ∞ |");
  else
    demo_md_add(b, " %.4f |", v);
}

static void md_num(demo_md *b, double v)
{
  if (isinf(v))
    demo_md_add(b, " ∞ |");
  else if (isnan(v))
    demo_md_add(b, " — |");
  else
    demo_md_add(b, " %.4f |", v);
}

/* A table with a row per model and a column per variance: negative ELBOs (with rest, the same without the
 * decoder term) or plain numbers (rest NULL). */
static void md_model_table(demo_md *b, const double (*val)[NVAR], const double (*rest)[NVAR])
{
  demo_md_add(b, "| model |");
  for (size_t v = 0; v < NVAR; v++)
    demo_md_add(b, " %s |", VAR_NAME[v]);
  demo_md_rule(b, "| :--- |", NVAR);
  for (size_t m = 0; m < NMOD; m++) {
    demo_md_add(b, "| %s |", MOD_NAME[m]);
    for (size_t v = 0; v < NVAR; v++) {
      if (rest)
        md_nelbo(b, val[m][v], rest[m][v]);
      else
        md_num(b, val[m][v]);
    }
    demo_md_add(b, "\n");
  }
}

static int write_notebook(const demo_ctx *ctx, const void *arg)
{
  const results *R = arg;
  dpm_notebook *nb = demo_notebook_begin(
      ctx, "Analytic-DPM: why the variance estimate is clipped",
      "Analytic-DPM estimates $\\Gamma_n = \\mathbb E_{q_n}\\|\\mathbb E[\\epsilon\\mid x_n]\\|^2/d$ with a "
      "trained "
      "noise predictor, $\\hat\\Gamma_n = \\frac1M\\sum_m\\|\\hat\\epsilon_n(x_{n,m})\\|^2/d$, and clips the "
      "resulting "
      "variance into the interval the theorem guarantees (Bao, Li, Zhu, Zhang, ICLR 2022). This demo shows on "
      "`gmm1d` what goes wrong without the clipping when the noise predictor is not the exact $\\mathbb "
      "E[\\epsilon\\mid x]$ — a relative-error model, the memorising ideal denoiser of a finite training sample, "
      "or "
      "just the Monte Carlo noise of the estimate — and what each choice of variance then costs.");
  if (!nb) return GSL_ENOMEM;
  int st = dpm_notebook_markdown(
      nb,
      "## Why clip\n\n"
      "For a step $t \\to s$ of the DDPM family ($\\lambda^2 = \\tilde\\beta_{s|t}$, $c_0$ the $x_0$-coefficient "
      "of "
      "$\\tilde\\mu_{s|t}$, $\\kappa = (\\sqrt{\\bar\\beta_t/\\alpha_{t|s}} - \\sqrt{\\bar\\beta_s - "
      "\\lambda^2})^2 = "
      "c_0^2\\bar\\beta_t/\\bar\\alpha_t$) the estimate is\n\n"
      "$$\\hat\\sigma^2_{s|t} = \\lambda^2 + \\kappa\\,(1 - \\hat\\Gamma_t),\\qquad \\text{clipped into}\\quad "
      "[\\lambda^2,\\ \\lambda^2 + \\kappa].$$\n\n"
      "The bounds come from $0 \\le \\Gamma_t \\le 1$, which holds for the exact $\\mathbb E[\\epsilon\\mid x]$ "
      "only. "
      "Two things break it in practice:\n\n"
      "1. **The mean is not optimal.** An imperfect predictor $\\hat\\epsilon = \\mathbb E[\\epsilon\\mid x] + "
      "\\delta$ with an error uncorrelated with $\\mathbb E[\\epsilon\\mid x]$ has $\\mathbb "
      "E\\|\\hat\\epsilon\\|^2 = "
      "\\mathbb E\\|\\mathbb E[\\epsilon\\mid x]\\|^2 + \\mathbb E\\|\\delta\\|^2$: $\\hat\\Gamma$ is biased *up* "
      "(the relative-error model has $\\hat\\Gamma = (1+\\eta^2)\\Gamma$ exactly), so $\\hat\\sigma^2$ is biased "
      "*down* and falls below $\\lambda^2$, even below $0$, wherever $\\Gamma_t$ is near 1. Yet the same error "
      "makes "
      "the mean worse, and the variance that is optimal *for that mean* is larger, not smaller: with the mean "
      "$\\tilde\\mu(x_t, \\hat x_0)$ the step's KL term is $\\frac d2[\\log\\frac{\\sigma^2}{\\lambda^2} + "
      "\\frac{\\lambda^2}{\\sigma^2} - 1 + \\frac{c_0^2\\,e_t}{\\sigma^2}]$ with $e_t = \\mathbb E\\|x_0 - \\hat "
      "x_0(x_t)\\|^2/d$, minimised at $\\sigma^2 = \\lambda^2 + c_0^2 e_t$ (the idea behind NPR-DPM, Bao et al. "
      "ICML 2022). For the relative-error model $c_0^2 e_t = \\kappa(1 - \\Gamma_t + \\eta^2\\Gamma_t)$: the "
      "estimate errs by $-\\kappa\\eta^2\\Gamma_t$, the mean calls for $+\\kappa\\eta^2\\Gamma_t$.\n"
      "2. **Monte Carlo noise.** Even with the exact predictor, $\\hat\\Gamma_t$ is an average of $M$ samples "
      "with "
      "standard error $\\approx\\sqrt{2/(dM)}$ near $\\Gamma_t = 1$, so it exceeds 1 about half the time "
      "there.\n\n"
      "A negative variance is no model at all; one below $\\lambda^2$ is worse than DDPM's own $\\tilde\\beta$. "
      "Clipping at $\\lambda^2$ caps the damage at DDPM's choice.");
  if (!st)
    st =
        dpm_notebook_markdown(nb, "The estimate with a Monte Carlo $\\hat\\Gamma$ from the command line (clipped, "
                                  "as Analytic-DPM uses it):");
  if (!st)
    st = demo_notebook_command(nb, "{build}/dpmlab variance --data %s --schedule linear --N %d --mc %zu --seed %llu",
                               DATA_SPEC, N_STEPS, MC_M, (unsigned long long)demo_seed(ctx, SEED_GAMMA_HAT));

  /* the numbers at selected n */
  if (!st) {
    demo_md b = {0};
    demo_md_add(
        &b,
        "## The estimates\n\n"
        "$\\hat\\Gamma_n$ of each model from the same $M = %zu$ exact samples $x_n \\sim q_n$ per step, against "
        "the "
        "true $\\Gamma_n$ (cubature). The memorising model is the exact denoiser of %d i.i.d. draws from `%s`, "
        "evaluated on the population $q_n$.\n\n| $n$ | $\\Gamma_n$ |",
        MC_M, N_TRAIN, DATA_SPEC);
    for (size_t m = 0; m < NMOD; m++)
      demo_md_add(&b, " $\\hat\\Gamma_n$ %s |", MOD_NAME[m]);
    demo_md_rule(&b, "| ---: | ---: |", NMOD);
    for (size_t i = 0; i < NSHOW; i++) {
      const size_t n = SHOW_N[i];
      demo_md_add(&b, "| %zu | %.5f |", n, R->gamma[n]);
      for (size_t m = 0; m < NMOD; m++)
        demo_md_add(&b, " %.4g ± %.2g |", R->ghat[m][n], R->ghat_se[m][n]);
      demo_md_add(&b, "\n");
    }
    demo_md_add(
        &b,
        "\nSteps where the unclipped $\\hat\\sigma^2$ leaves $[\\lambda^2, \\lambda^2 + \\kappa]$ (and where it "
        "is not even positive), on the full chain of %d steps and on the even trajectory of K = %d steps "
        "($\\tau$ = ",
        N_STEPS, K_TRAJ);
    for (size_t k = 0; k < K_TRAJ; k++)
      demo_md_add(&b, k ? ", %zu" : "%zu", R->tau[k]);
    demo_md_add(&b,
                "):\n\n| model | full chain: outside | full chain: ≤ 0 | K = %d: outside | K = %d: ≤ 0 |\n"
                "| :--- | ---: | ---: | ---: | ---: |\n",
                K_TRAJ, K_TRAJ);
    for (size_t m = 0; m < NMOD; m++)
      demo_md_add(&b, "| %s | %zu | %zu | %zu | %zu |\n", MOD_NAME[m], R->nout_chain[m], R->nneg_chain[m],
                  R->nout_traj[m], R->nneg_traj[m]);
    st = demo_md_emit(nb, &b);
  }
  if (!st)
    st = dpm_notebook_markdown(
        nb,
        "## The figure\n\n"
        "(a) $\\hat\\Gamma_n$ against $n$; above the shaded line $\\Gamma = 1$ the unclipped estimate is below "
        "the "
        "lower bound. (b) and (c) the unclipped (solid) and clipped (dashed) $\\hat\\sigma^2$ relative to the "
        "optimum "
        "$\\sigma^{*2}$, with the band of the bounds shaded, on the full chain and on the %d-step trajectory; "
        "values $\\le 0.05$ (including negative variances) are drawn as triangles on the lower edge. On the full "
        "chain the band is narrow wherever $\\Gamma_n \\approx 1$ ($\\kappa \\ll \\lambda^2$ for one small step), "
        "so a "
        "biased $\\hat\\Gamma$ hardly moves the variance — except for the memorising model at small $n$, whose "
        "$\\hat\\Gamma$ is orders of magnitude too large. On the few-step trajectory $\\kappa$ is comparable to "
        "$\\lambda^2$ and the same bias sends the estimate out of the band.",
        K_TRAJ);
  if (!st)
    st = demo_notebook_figure(ctx, nb, "analytic_clipping",
        "(a) $\\hat\\Gamma_n$ of imperfect denoisers against the true $\\Gamma_n$; (b), (c) "
        "$\\hat\\sigma^2/\\sigma^{*2}$ unclipped and clipped, full chain and 10-step trajectory.");

  /* costs */
  if (!st) {
    demo_md b = {0};
    demo_md_add(
        &b,
        "## What each variance costs with the model's own mean\n\n"
        "Negative ELBO (nats; $H(q_0) = %.4f$) of the model whose mean uses the imperfect $\\hat x_0$, for four "
        "variances: the unclipped and the clipped estimate, the optimum $\\sigma^{*2}$ of the *exact* mean, and "
        "$\\lambda^2 + c_0^2 e_t$, the optimum for the model's own mean ($e_t$ its measured mean-square "
        "$x_0$-error). ∞: some variance is not positive; where only the decoder's is, the finite rest (prior "
        "and transition terms) is shown. The decoder step $\\tau_1 \\to 0$ has $\\lambda^2 = 0$, so clipping "
        "into its band turns an estimate $\\hat\\Gamma_1 > 1$ into the variance 0, a deterministic decoder "
        "whose likelihood is $-\\infty$ (harmless for sampling, fatal for the ELBO): here $\\hat\\Gamma_1$ = ",
        R->H);
    for (size_t m = 0; m < NMOD; m++)
      demo_md_add(&b, "%s%.4g (%s, clipped decoder variance %.3g)", m ? "; " : "", R->ghat1[m], MOD_NAME[m],
                  R->dec_clip[m]);
    demo_md_add(&b, ".\n\n");
    demo_md_add(&b, "**Full chain, %d steps**\n\n", N_STEPS);
    md_model_table(&b, R->nelbo_chain, R->rest_chain);
    demo_md_add(&b, "\n**Even trajectory, K = %d**\n\n", K_TRAJ);
    md_model_table(&b, R->nelbo_traj, R->rest_traj);
    demo_md_add(&b,
                "\n**Sample quality**, K = %d: exact $W_1$ to $q_0$ of %zu samples drawn with the model's mean and "
                "each variance (— : a negative variance, no sampler). For scale, %zu exact samples of $q_0$ have "
                "$W_1$ = %.4f.\n\n",
                K_TRAJ, N_SAMPLE, N_SAMPLE, R->w1_floor);
    md_model_table(&b, R->w1, NULL);
    st = demo_md_emit(nb, &b);
  }
  return demo_notebook_finish(ctx, nb, st);
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
    rc = demo_publish(&ctx, 1, figures, write_notebook, &R);
  }
  results_free(&R);
  dpm_schedule_free(sch);
  return rc;
}
