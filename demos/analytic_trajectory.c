/* analytic_trajectory.c — the optimal trajectory and sample quality of Analytic-DPM (Bao, Li, Zhu, Zhang, ICLR
 * 2022, §4 and Table 2; docs/MATH.md §3): the least-cost sub-sequences tau_1 < ... < tau_K found by dynamic programming
 * on J(s,t) = log(sigma*^2_{s|t}/lambda^2_{s|t}) against the even and quadratic ones, and the quality of samples
 * (exact W1 in 1-D, closed-form MMD in 2-D) of Analytic-DDPM, DDPM (beta~), DDIM and Analytic-DDIM against K. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "dpm_analytic.h"
#include "dpm_metrics.h"

#define N_STEPS 1000
#define NSETS   2
#define NTK     4 /* K of the trajectory figure */
#define NQK     4 /* K of the quality comparison */
#define NMETH   4
#define NREP    5  /* independent sample sets per (method, K): the error bars */
#define TAB_K   10 /* the K whose trajectories the notebook tabulates */
/* Kernel bandwidth of the 2-D MMD: the components' own scale (sd 0.2), where the metric sees whether each mode
 * has the right width; with a bandwidth of the ring's scale (h >= 1) every sampler looks alike. */
#define MMD_H 0.2

static const char *const SETS[NSETS] = {"gmm1d", "ring8"};
static double QUAD_TOL[NSETS] = {1e-13, 1e-5}; /* adaptive cubature tolerance for Gamma_n (see
                                                          analytic_variance.c for the cost in 2-D) */
static size_t NSAMP[NSETS] = {20000, 2000}; /* samples per set: W1 is O(n log n), MMD O(n^2); --quick: 2000, 200 */
static const size_t TK[NTK] = {10, 25, 50, 100};
static const size_t QK[NQK] = {10, 25, 50, 100};
/* the two figures, each drawn by plots/<figure>.gp from the one data file */
static const char *const FIGURES[2] = {"analytic_trajectory", "analytic_quality"};

typedef struct {
  const char *name, *label;
  double eta;
  dpm_variance_kind var;
} method;
static const method METHODS[NMETH] = {
    {"Analytic-DDPM", "Analytic-DDPM ($\\eta = 1$, $\\sigma^{*2}$)", 1.0, DPM_VAR_OPT},
    {"DDPM", "DDPM ($\\eta = 1$, $\\tilde\\beta$)", 1.0, DPM_VAR_BETA_TILDE},
    {"Analytic-DDIM", "Analytic-DDIM ($\\eta = 0$, $\\sigma^{*2}$)", 0.0, DPM_VAR_OPT},
    {"DDIM", "DDIM ($\\eta = 0$, $\\sigma = 0$)", 0.0, DPM_VAR_ZERO}};

typedef struct {
  const char *spec;
  size_t d;
  double *gamma, *gamma_err; /* per n */
  size_t *tau_dp[NTK], *tau_even[NTK], *tau_quad[NTK];
  double cost_dp[NTK], cost_even[NTK], cost_quad[NTK]; /* sum of J along each trajectory */
  double q_mean[NMETH][NQK], q_se[NMETH][NQK];         /* metric over NREP sample sets */
  double floor_mean, floor_se;                         /* the metric of NSAMP exact samples of q_0 */
} set_result;

/* ---- computation ------------------------------------------------------------------------------------------ */

static void set_free(set_result *r)
{
  free(r->gamma);
  free(r->gamma_err);
  for (size_t i = 0; i < NTK; i++) {
    free(r->tau_dp[i]);
    free(r->tau_even[i]);
    free(r->tau_quad[i]);
  }
}

/* sample mean and standard error of v[0..n-1] */
static void mean_se(const double *v, size_t n, double *mean, double *se)
{
  double m = 0.0, ss = 0.0;
  for (size_t i = 0; i < n; i++)
    m += v[i];
  m /= (double)n;
  for (size_t i = 0; i < n; i++)
    ss += (v[i] - m) * (v[i] - m);
  *mean = m;
  *se = n > 1 ? sqrt(ss / (double)(n - 1) / (double)n) : (double)NAN;
}

/* The quality metric of n points x of a data set: exact W1 in 1-D, the V-statistic MMD^2 in 2-D. */
static int metric(const dpm_mixture *mix, size_t n, const double *x, double *v)
{
  if (mix->d == 1) return dpm_metrics_w1_exact(mix, n, x, v);
  return dpm_metrics_mmd2_exact(mix, MMD_H, n, x, 0, v);
}

static int set_compute(const demo_ctx *ctx, const dpm_schedule *sch, size_t setidx, set_result *r)
{
  const char *spec = SETS[setidx];
  memset(r, 0, sizeof *r);
  r->spec = spec;
  const size_t N = sch->N, n = NSAMP[setidx];
  dpm_mixture *mix = dpm_data_from_spec(spec);
  if (!mix) return GSL_EINVAL;
  r->d = mix->d;
  int st = DPM_SUCCESS;
  r->gamma = malloc((N + 1) * sizeof(double));
  r->gamma_err = malloc((N + 1) * sizeof(double));
  for (size_t i = 0; i < NTK; i++) {
    r->tau_dp[i] = malloc(TK[i] * sizeof(size_t));
    r->tau_even[i] = malloc(TK[i] * sizeof(size_t));
    r->tau_quad[i] = malloc(TK[i] * sizeof(size_t));
    if (!r->tau_dp[i] || !r->tau_even[i] || !r->tau_quad[i]) st = GSL_ENOMEM;
  }
  size_t *tau = malloc(N * sizeof(size_t));
  double *cum = malloc(N * sizeof(double)), *sigma2 = malloc(N * sizeof(double));
  double *x = malloc(n * mix->d * sizeof(double));
  dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mix, QUAD_TOL[setidx]);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_sampler_analytic *smp = dpm_sampler_analytic_alloc(mix->d, n);
  gsl_rng *rng = dpm_rng_stream_alloc(ctx->seed, 0);
  if (!st && (!r->gamma || !r->gamma_err || !tau || !cum || !sigma2 || !x || !q || !dn || !smp || !rng))
    st = GSL_ENOMEM;

  if (!st) st = demo_gamma_quad(ctx, q, spec, "linear", sch, QUAD_TOL[setidx], r->gamma, r->gamma_err);

  /* the trajectories and their costs */
  for (size_t i = 0; i < NTK && !st; i++) {
    const size_t K = TK[i];
    st = dpm_analytic_trajectory(sch, r->gamma, "dp", K, r->tau_dp[i], cum);
    if (!st) r->cost_dp[i] = cum[K - 1];
    if (!st) st = dpm_analytic_trajectory(sch, r->gamma, "even", K, r->tau_even[i], cum);
    if (!st) r->cost_even[i] = cum[K - 1];
    if (!st) st = dpm_analytic_trajectory(sch, r->gamma, "quadratic", K, r->tau_quad[i], cum);
    if (!st) r->cost_quad[i] = cum[K - 1];
  }

  /* sample quality on the even trajectory; stream (seed, 1 + index of (set, method, K, repetition)) */
  double e_norm2 = 0.0;
  dpm_mixture_moments(mix, NULL, NULL, &e_norm2);
  double vals[NREP];
  for (size_t j = 0; j < NQK && !st; j++) {
    const size_t K = QK[j];
    demo_progress(ctx, "%s: sampling K = %zu, %d methods x %d sets of %zu", spec, K, NMETH, NREP, n);
    st = dpm_schedule_subsequence(sch, "even", K, tau);
    for (size_t m = 0; m < NMETH && !st; m++) {
      dpm_analytic_model mod = {.d = mix->d, .eta = METHODS[m].eta, .e_norm2 = e_norm2, .gamma = r->gamma};
      st = dpm_analytic_sigma2_traj(sch, &mod, METHODS[m].var, K, tau, sigma2);
      dpm_sampler_analytic_opts opts = {
          .eta = METHODS[m].eta, .sigma2 = sigma2, .final_noise = 0, .start_mix = NULL};
      for (size_t rep = 0; rep < NREP && !st; rep++) {
        dpm_rng_stream_set(rng, ctx->seed, 1 + ((setidx * NQK + j) * NMETH + m) * NREP + rep);
        st = dpm_sampler_analytic_run(smp, dn, sch, K, tau, &opts, n, x, rng);
        if (!st) st = metric(mix, n, x, &vals[rep]);
      }
      if (!st) mean_se(vals, NREP, &r->q_mean[m][j], &r->q_se[m][j]);
    }
  }
  /* the floor: the same metric for exact samples of q_0 */
  dpm_mixture_sample_workspace *msw = st ? NULL : dpm_mixture_sample_alloc(mix);
  if (!st && !msw) st = GSL_ENOMEM;
  for (size_t rep = 0; rep < NREP && !st; rep++) {
    dpm_rng_stream_set(rng, ctx->seed, 1000000 + setidx * NREP + rep);
    st = dpm_mixture_sample(mix, msw, rng, n, x, NULL);
    if (!st) st = metric(mix, n, x, &vals[rep]);
  }
  dpm_mixture_sample_free(msw);
  if (!st) mean_se(vals, NREP, &r->floor_mean, &r->floor_se);

  gsl_rng_free(rng);
  dpm_sampler_analytic_free(smp);
  dpm_denoiser_free(dn);
  dpm_analytic_gamma_quad_free(q);
  free(x);
  free(sigma2);
  free(cum);
  free(tau);
  dpm_mixture_free(mix);
  return st;
}

/* ---- outputs ---------------------------------------------------------------------------------------------- */

static int write_data(const demo_ctx *ctx, const set_result *res)
{
  dpm_out *out = demo_dat_open(ctx, ctx->data_path,
                               "Analytic-DPM optimal trajectories (DP on J) and sample quality against K, linear "
                               "schedule N = 1000");
  if (!out) return GSL_EFAILED;
  FILE *fp = dpm_out_file(out);
  char block[64];
  for (size_t s = 0; s < NSETS; s++) {
    const set_result *r = &res[s];
    for (size_t i = 0; i < NTK; i++) {
      snprintf(block, sizeof block, "traj_%s_K%zu", r->spec, TK[i]);
      demo_dat_block(fp, block, "k (k-1)/(K-1) tau_dp tau_even tau_quadratic");
      for (size_t k = 0; k < TK[i]; k++) {
        double row[5] = {(double)(k + 1), (double)k / (double)(TK[i] - 1), (double)r->tau_dp[i][k],
                         (double)r->tau_even[i][k], (double)r->tau_quad[i][k]};
        demo_dat_row(fp, 5, row);
      }
    }
    snprintf(block, sizeof block, "quality_%s", r->spec);
    demo_dat_block(fp, block,
                   r->d == 1 ? "K then mean and standard error of W1(samples, q_0) over the repetitions for "
                               "Analytic-DDPM DDPM(beta~) Analytic-DDIM DDIM, then exact samples (the floor)"
                             : "K then mean and standard error of MMD^2(samples, q_0) (V-statistic) over the "
                               "repetitions for Analytic-DDPM DDPM(beta~) Analytic-DDIM DDIM, then exact samples "
                               "(the floor)");
    for (size_t j = 0; j < NQK; j++) {
      double row[1 + 2 * NMETH + 2];
      row[0] = (double)QK[j];
      for (size_t m = 0; m < NMETH; m++) {
        row[1 + 2 * m] = r->q_mean[m][j];
        row[2 + 2 * m] = r->q_se[m][j];
      }
      row[1 + 2 * NMETH] = r->floor_mean;
      row[2 + 2 * NMETH] = r->floor_se;
      demo_dat_row(fp, 1 + 2 * NMETH + 2, row);
    }
  }
  return demo_dat_close(out, 1);
}

static int write_notebook(const demo_ctx *ctx, const void *arg)
{
  const set_result *res = arg;
  dpm_notebook *nb = demo_notebook_begin(
      ctx, "Analytic-DPM: the optimal trajectory and sample quality against the number of steps",
      "With the optimal variance the KL divergence between the forward process restricted to a sub-sequence of "
      "time steps and the reverse model is an explicit sum over the steps, so the best sub-sequence can be found "
      "exactly by dynamic programming (Bao, Li, Zhu, Zhang, ICLR 2022, §4). This demo draws those optimal "
      "trajectories for a 1-D and a 2-D mixture and compares the sample quality of Analytic-DDPM and "
      "Analytic-DDIM with DDPM and DDIM as the number of steps $K$ shrinks, against the exact data distribution.");
  if (!nb) return GSL_ENOMEM;
  int st = dpm_notebook_markdown(
      nb,
      "## The optimal trajectory\n\n"
      "For a sub-sequence $1 = \\tau_1 < \\dots < \\tau_K = N$ with the optimal mean and variance of every step "
      "([docs/MATH.md](../docs/MATH.md) §3),\n\n"
      "$$\\mathrm{KL}\\big(q(x_0, x_{\\tau_1},\\dots,x_{\\tau_K})\\,\\|\\,p^*(x_0, x_{\\tau_1},\\dots,"
      "x_{\\tau_K})\\big) = \\frac d2 \\sum_{k=2}^K J(\\tau_{k-1}, \\tau_k) + c,\\qquad "
      "J(s,t) = \\log\\frac{\\sigma^{*2}_{s|t}}{\\lambda^2_{s|t}} = \\log\\Big(1 + "
      "\\frac{\\beta_{t|s}(1-\\Gamma_t)}{\\alpha_{t|s}\\bar\\beta_s}\\Big) \\ge 0,$$\n\n"
      "with $\\alpha_{t|s} = \\bar\\alpha_t/\\bar\\alpha_s$, $\\beta_{t|s} = 1-\\alpha_{t|s}$ (computed as "
      "$-\\mathrm{expm1}(\\log\\bar\\alpha_t - \\log\\bar\\alpha_s)$), $\\lambda^2_{s|t} = \\tilde\\beta_{s|t}$ "
      "(DDPM family) and $c$ independent of $\\tau$. Minimising over $\\tau$ is a shortest-path problem on the "
      "layered graph of time steps: with $D_k(t)$ the least cost of a $k$-point path from $1$ to $t$,\n\n"
      "$$D_1(1) = 0,\\qquad D_k(t) = \\min_{k-1 \\le s < t} \\big[D_{k-1}(s) + J(s,t)\\big],$$\n\n"
      "which takes $O(KN^2)$ time and $O(KN)$ memory; $\\Gamma_t$ is needed once per $t$, not per pair $(s,t)$. "
      "The reference code uses $F(s,t) = \\log(1 - \\beta_{t|s}\\Gamma_t/\\bar\\beta_t)$ instead; $J - F = "
      "\\log(\\bar\\beta_t/(\\alpha_{t|s}\\bar\\beta_s))$ telescopes along any path, so both give the same "
      "trajectory. Here $\\Gamma_t$ comes from adaptive cubature (tolerance %g for `%s`, %g for `%s`) and the "
      "schedule is linear with $N = %d$.",
      QUAD_TOL[0], SETS[0], QUAD_TOL[1], SETS[1], N_STEPS);
  if (!st)
    st = dpm_notebook_markdown(nb,
                               "The trajectories from the command line (CSV: $k$, $\\tau_k$, cumulative cost):");
  for (size_t s = 0; s < NSETS && !st; s++)
    st = demo_notebook_command(
        nb, "{build}/dpmlab trajectory --data %s --schedule linear --N %d --K %d --quad --rel-tol %g --kind dp",
        SETS[s], N_STEPS, TAB_K, QUAD_TOL[s]);

  /* the table of tau for K = TAB_K and the costs */
  size_t ti = 0;
  while (ti < NTK && TK[ti] != TAB_K)
    ti++;
  if (!st && ti < NTK) {
    demo_md b = {0};
    demo_md_add(&b, "### The trajectories for $K = %d$\n\n| trajectory | cost $\\sum_k J$ |", TAB_K);
    for (size_t k = 0; k < TAB_K; k++)
      demo_md_add(&b, " $\\tau_{%zu}$ |", k + 1);
    demo_md_rule(&b, "| :--- | ---: |", TAB_K);
    for (size_t s = 0; s < NSETS; s++) {
      const set_result *r = &res[s];
      const size_t *taus[3] = {r->tau_dp[ti], r->tau_even[ti], r->tau_quad[ti]};
      const double costs[3] = {r->cost_dp[ti], r->cost_even[ti], r->cost_quad[ti]};
      static const char *const kind[3] = {"optimal (DP)", "even", "quadratic"};
      for (size_t j = 0; j < 3; j++) {
        demo_md_add(&b, "| `%s` %s | %.4f |", r->spec, kind[j], costs[j]);
        for (size_t k = 0; k < TAB_K; k++)
          demo_md_add(&b, " %zu |", taus[j][k]);
        demo_md_add(&b, "\n");
      }
    }
    demo_md_add(&b,
                "\nThe cost is $\\sum_k J(\\tau_{k-1},\\tau_k)$, i.e. $2/d$ times the KL divergence up to the "
                "constant $c$: the DP trajectory has the least cost of all, by construction. For every $K$ of the "
                "figure:\n\n| data | $K$ | cost DP | cost even | cost quadratic |\n| :--- | ---: | ---: | ---: | "
                "---: |\n");
    for (size_t s = 0; s < NSETS; s++)
      for (size_t i = 0; i < NTK; i++)
        demo_md_add(&b, "| `%s` | %zu | %.4f | %.4f | %.4f |\n", res[s].spec, TK[i], res[s].cost_dp[i],
                    res[s].cost_even[i], res[s].cost_quad[i]);
    st = demo_md_emit(nb, &b);
  }
  if (!st) {
    st = dpm_notebook_markdown(nb, "Each trajectory is drawn against its normalised index $(k-1)/(K-1)$, so "
                                     "trajectories of different $K$ share one axis; the even trajectory is the "
                                     "diagonal and the quadratic one the grey dashed curve.");
    if (!st)
      st = demo_notebook_figure(ctx, nb, FIGURES[0],
                               "Optimal trajectories $\\tau_k$ (DP on $J$) for several $K$, with the even and "
                               "quadratic trajectories for reference; linear schedule, $N = 1000$.");
  }

  /* sample quality */
  if (!st) {
    demo_md b = {0};
    demo_md_add(
        &b,
        "## Sample quality against the number of steps\n\n"
        "Each method walks the even trajectory from $x_{\\tau_K} \\sim N(0, I)$ with the exact denoiser "
        "(so the mean of every step is the optimal one and only the variance differs) and returns the mean "
        "$\\hat x_0(x_{\\tau_1})$ at the last step:\n\n"
        "$$x_s = \\tilde\\mu_{s|t}\\big(x_t, \\mathbb E[x_0\\mid x_t]\\big) + \\sigma_{s|t} z,\\qquad "
        "\\lambda^2_{s|t} = \\eta^2\\tilde\\beta_{s|t},$$\n\n"
        "with $\\sigma^2_{s|t} = \\sigma^{*2}_{s|t} = \\lambda^2_{s|t} + (\\sqrt{\\bar\\beta_t/\\alpha_{t|s}} - "
        "\\sqrt{\\bar\\beta_s - \\lambda^2_{s|t}})^2(1-\\Gamma_t)$ for the analytic methods, "
        "$\\tilde\\beta_{s|t}$ "
        "for DDPM and $0$ for DDIM. Quality is measured against the exact $q_0$: for `%s` the exact 1-D "
        "Wasserstein-1 distance of %zu samples (the mixture CDF integrated in closed form); for `%s` the squared "
        "MMD with a Gaussian kernel of bandwidth %g against the mixture (closed-form kernel expectations; "
        "V-statistic on %zu samples). Every entry is the mean ± standard error over %d independent sample sets; "
        "the *floor* is the same metric for exact samples of $q_0$, i.e. the Monte Carlo noise level of the "
        "metric itself. The figure is drawn by `plots/analytic_quality.gp` from the same data file.\n\n",
        SETS[0], NSAMP[0], SETS[1], MMD_H, NSAMP[1], NREP);
    for (size_t s = 0; s < NSETS; s++) {
      const set_result *r = &res[s];
      demo_md_add(&b, "**`%s`** — %s (lower is better; floor %.3g ± %.1g)\n\n| method |", r->spec,
                  r->d == 1 ? "$W_1$" : "$\\mathrm{MMD}^2$", r->floor_mean, r->floor_se);
      for (size_t j = 0; j < NQK; j++)
        demo_md_add(&b, " K = %zu |", QK[j]);
      demo_md_rule(&b, "| :--- |", NQK);
      for (size_t m = 0; m < NMETH; m++) {
        demo_md_add(&b, "| %s |", METHODS[m].label);
        for (size_t j = 0; j < NQK; j++)
          demo_md_add(&b, " %.3g ± %.1g |", r->q_mean[m][j], r->q_se[m][j]);
        demo_md_add(&b, "\n");
      }
      /* how many standard errors separate the analytic variance from the handcrafted one at the smallest K */
      const double z_ddpm = (r->q_mean[1][0] - r->q_mean[0][0]) /
                            sqrt(r->q_se[0][0] * r->q_se[0][0] + r->q_se[1][0] * r->q_se[1][0]);
      const double z_ddim = (r->q_mean[3][0] - r->q_mean[2][0]) /
                            sqrt(r->q_se[2][0] * r->q_se[2][0] + r->q_se[3][0] * r->q_se[3][0]);
      demo_md_add(
          &b,
          "\nAt $K = %zu$: DDPM − Analytic-DDPM = %.3g, i.e. %.1f combined standard errors; DDIM − Analytic-DDIM "
          "= %.3g, %.1f standard errors (positive: the analytic variance is better).\n\n",
          QK[0], r->q_mean[1][0] - r->q_mean[0][0], z_ddpm, r->q_mean[3][0] - r->q_mean[2][0], z_ddim);
    }
    st = demo_md_emit(nb, &b);
  }
  if (!st) {
    st = demo_notebook_figure(ctx, nb, FIGURES[1],
                               "Sample quality against $K$ on the even trajectory (mean ± standard error over "
                               "independent sample sets); the grey band is the metric of exact samples.");
  }
  return demo_notebook_finish(ctx, nb, st);
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc = demo_init(&ctx, "analytic_trajectory",
                     "Analytic-DPM optimal trajectories by dynamic programming and sample quality against K for "
                     "Analytic-DDPM, DDPM, Analytic-DDIM and DDIM (gmm1d: exact W1; ring8: closed-form MMD).",
                     argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  if (ctx.quick) {
    QUAD_TOL[1] = 1e-3;
    NSAMP[0] = 2000;
    NSAMP[1] = 200;
  }
  dpm_schedule *sch = dpm_schedule_linear_alloc(N_STEPS, 1e-4, 0.02);
  if (!sch) return demo_fail(&ctx, "making the schedule");
  set_result res[NSETS];
  memset(res, 0, sizeof res);
  int st = DPM_SUCCESS;
  for (size_t s = 0; s < NSETS && !st; s++)
    st = set_compute(&ctx, sch, s, &res[s]);
  if (st)
    rc = demo_fail(&ctx, "computing the trajectories and samples");
  else if (write_data(&ctx, res))
    rc = demo_fail(&ctx, "writing the data");
  else
    rc = demo_publish(&ctx, 2, FIGURES, write_notebook, res);
  for (size_t s = 0; s < NSETS; s++)
    set_free(&res[s]);
  dpm_schedule_free(sch);
  return rc;
}
