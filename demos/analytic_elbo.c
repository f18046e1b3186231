/* analytic_elbo.c — the negative-ELBO table of Analytic-DPM (Bao, Li, Zhu, Zhang, ICLR 2022, Table 1; docs/MATH.md §3)
 * on a 1-D mixture whose entropy is known: DDPM with beta or beta~ against the optimal variance sigma*^2 on even
 * and on dynamic-programming trajectories of K = 10 ... 1000 steps, linear and cosine schedules, with the gap
 * -ELBO - H(q_0) = KL(q || p) >= 0. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "dpm_analytic.h"

#define N_STEPS 1000
/* Relative tolerance of the cubature for Gamma_t. The ELBO needs 1 - Gamma_t to relative accuracy: near t = N of
 * the cosine schedule 1 - Gamma_N ~ 1e-8 multiplies a coefficient ~ 1/alpha_{N|s}, so a tolerance of 1e-8 would
 * leave an (estimated, conservative) error of order one there. In 1-D the tight tolerance costs ~0.3 s. */
#define QUAD_TOL  1e-13
#define NK        6
#define NSCH      2
#define NTRAJ     2
#define NVAR      3
#define DATA_SPEC "gmm1d"

static const size_t KS[NK] = {10, 25, 50, 100, 200, 1000};
static const char *const SCHEDS[NSCH] = {"linear", "cosine"};
static const char *const TRAJS[NTRAJ] = {"even", "dp"};
static const char *const TRAJ_LABEL[NTRAJ] = {"ET", "OT"};
static const dpm_variance_kind VARS[NVAR] = {DPM_VAR_BETA, DPM_VAR_BETA_TILDE, DPM_VAR_OPT};
/* the names of the command line (`dpmlab elbo --variance`) and of the table */
static const char *const VAR_CLI[NVAR] = {"beta", "betatilde", "analytic"};
static const char *const VAR_LABEL[NVAR] = {"DDPM β", "DDPM β̃", "Analytic-DPM"};

/* results [schedule][trajectory][variance][K] */
typedef struct {
  dpm_elbo_result r[NSCH][NTRAJ][NVAR][NK];
  double cost[NSCH][NTRAJ][NK]; /* sum of J along the trajectory (d/2 times it is the KL up to a constant) */
  double H, H_err;
  double max_gamma_err[NSCH];
  char csv_path[DEMO_PATH_MAX]; /* the full table as CSV: DIR/data/<name>.csv */
} results;

/* ---- computation ------------------------------------------------------------------------------------------ */

static int compute(const demo_ctx *ctx, results *res)
{
  dpm_mixture *mix = dpm_data_from_spec(DATA_SPEC);
  if (!mix) return GSL_EINVAL;
  int st = dpm_mixture_entropy(mix, &res->H, &res->H_err);
  double e_norm2 = 0.0;
  dpm_mixture_moments(mix, NULL, NULL, &e_norm2);
  dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mix, QUAD_TOL);
  double *gamma = malloc((N_STEPS + 1) * sizeof(double)), *gerr = malloc((N_STEPS + 1) * sizeof(double));
  size_t *tau = malloc(N_STEPS * sizeof(size_t));
  double *cum = malloc(N_STEPS * sizeof(double));
  if (!st && (!q || !gamma || !gerr || !tau || !cum)) st = GSL_ENOMEM;
  for (size_t c = 0; c < NSCH && !st; c++) {
    dpm_schedule *sch = dpm_schedule_alloc_by_name(SCHEDS[c], N_STEPS);
    if (!sch) {
      st = GSL_EINVAL;
      break;
    }
    st = demo_gamma_quad(ctx, q, DATA_SPEC, SCHEDS[c], sch, QUAD_TOL, gamma, gerr);
    res->max_gamma_err[c] = 0.0;
    for (size_t n = 1; n <= N_STEPS && !st; n++)
      res->max_gamma_err[c] = fmax(res->max_gamma_err[c], fabs(gerr[n]));
    dpm_analytic_model mod = {.d = mix->d, .eta = 1.0, .e_norm2 = e_norm2, .gamma = gamma, .gamma_err = gerr};
    for (size_t t = 0; t < NTRAJ && !st; t++) {
      demo_progress(ctx, "%s schedule: %s trajectories and their ELBOs", SCHEDS[c], TRAJS[t]);
      for (size_t k = 0; k < NK && !st; k++) {
        st = dpm_analytic_trajectory(sch, gamma, TRAJS[t], KS[k], tau, cum);
        if (st) break;
        res->cost[c][t][k] = cum[KS[k] - 1];
        for (size_t v = 0; v < NVAR && !st; v++)
          st = dpm_analytic_elbo(sch, &mod, VARS[v], KS[k], tau, res->H, res->H_err, &res->r[c][t][v][k], NULL);
      }
    }
    dpm_schedule_free(sch);
  }
  free(gamma);
  free(gerr);
  free(tau);
  free(cum);
  dpm_analytic_gamma_quad_free(q);
  dpm_mixture_free(mix);
  return st;
}

/* ---- outputs ---------------------------------------------------------------------------------------------- */

/* The table as CSV: one row per (schedule, trajectory, K, method). */
static int write_csv(const demo_ctx *ctx, const results *res, const char *path)
{
  dpm_out *out =
      demo_dat_open(ctx, path, "Analytic-DPM negative ELBO table, gmm1d, N = 1000, Gamma_n by cubature");
  if (!out) return GSL_EFAILED;
  FILE *fp = dpm_out_file(out);
  fprintf(fp, "schedule,trajectory,K,variance,nelbo_nats,nelbo_err,bpd,entropy_nats,entropy_err,gap_nats,gap_err,"
              "prior,transitions,decoder,sum_J\n");
  for (size_t c = 0; c < NSCH; c++)
    for (size_t t = 0; t < NTRAJ; t++)
      for (size_t k = 0; k < NK; k++)
        for (size_t v = 0; v < NVAR; v++) {
          const dpm_elbo_result *e = &res->r[c][t][v][k];
          fprintf(fp, "%s,%s,%zu,%s,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n",
                  SCHEDS[c], TRAJS[t], KS[k], VAR_CLI[v], e->nelbo, e->nelbo_err, e->bpd, e->entropy,
                  e->entropy_err, e->gap, e->gap_err, e->prior, e->transitions, e->decoder, res->cost[c][t][k]);
        }
  return demo_dat_close(out, 1);
}

/* The figure's data: per schedule, gap against K for the six (trajectory, variance) pairs. */
static int write_dat(const demo_ctx *ctx, const results *res)
{
  dpm_out *out =
      demo_dat_open(ctx, ctx->data_path, "Analytic-DPM gap -ELBO - H(q_0) (nats) against K, gmm1d, N = 1000");
  if (!out) return GSL_EFAILED;
  FILE *fp = dpm_out_file(out);
  for (size_t c = 0; c < NSCH; c++) {
    char block[64];
    snprintf(block, sizeof block, "gap_%s", SCHEDS[c]);
    demo_dat_block(fp, block,
                   "K gap_beta_ET err gap_beta~_ET err gap_analytic_ET err gap_beta_OT err gap_beta~_OT err "
                   "gap_analytic_OT err (nats; ET even trajectory, OT dynamic-programming trajectory)");
    for (size_t k = 0; k < NK; k++) {
      double row[1 + 2 * NTRAJ * NVAR];
      row[0] = (double)KS[k];
      for (size_t t = 0; t < NTRAJ; t++)
        for (size_t v = 0; v < NVAR; v++) {
          row[1 + 2 * (t * NVAR + v)] = res->r[c][t][v][k].gap;
          row[2 + 2 * (t * NVAR + v)] = res->r[c][t][v][k].gap_err;
        }
      demo_dat_row(fp, 1 + 2 * NTRAJ * NVAR, row);
    }
  }
  return demo_dat_close(out, 1);
}

/* The number of steps DDPM on the even trajectory (the better of beta and beta~ at each K) needs to reach a gap
 * `target`, by log-log interpolation between the table's K; 0 when the target is below the gap at K = N (not
 * reached), -1 when it is above the gap at the smallest K. */
static double ddpm_steps_for_gap(const results *res, size_t c, double target)
{
  double g[NK];
  for (size_t k = 0; k < NK; k++)
    g[k] = fmin(res->r[c][0][0][k].gap, res->r[c][0][1][k].gap);
  if (target >= g[0]) return -1.0;
  for (size_t k = 0; k + 1 < NK; k++)
    if (g[k] >= target && target >= g[k + 1]) {
      const double u = log(g[k] / target) / log(g[k] / g[k + 1]);
      return exp(log((double)KS[k]) + u * log((double)KS[k + 1] / (double)KS[k]));
    }
  return 0.0;
}

/* One table of schedule c, a row per (variance, trajectory) and a column per K: the negative ELBO (bits/dim in
 * parentheses, Analytic-DPM in bold), or with `gap` set the gap and its error. */
static void md_elbo_table(demo_md *b, const results *res, size_t c, int gap)
{
  demo_md_add(b, "| method | trajectory |");
  for (size_t k = 0; k < NK; k++)
    demo_md_add(b, " K = %zu |", KS[k]);
  demo_md_rule(b, "| :--- | :--- |", NK);
  for (size_t t = 0; t < NTRAJ; t++)
    for (size_t v = 0; v < NVAR; v++) {
      demo_md_add(b, "| %s | %s |", VAR_LABEL[v], TRAJ_LABEL[t]);
      for (size_t k = 0; k < NK; k++) {
        const dpm_elbo_result *e = &res->r[c][t][v][k];
        if (gap)
          demo_md_add(b, " %.4f ± %.0e |", e->gap, e->gap_err);
        else
          demo_md_add(b, v == NVAR - 1 ? " **%.4f** (%.4f) |" : " %.4f (%.4f) |", e->nelbo, e->bpd);
      }
      demo_md_add(b, "\n");
    }
}

static int write_notebook(const demo_ctx *ctx, const void *arg)
{
  const results *res = arg;
  dpm_notebook *nb = demo_notebook_begin(
      ctx, "Analytic-DPM: the negative ELBO against the number of steps",
      "The likelihood table of Analytic-DPM (Bao, Li, Zhu, Zhang, ICLR 2022, Table 1) on data whose entropy is "
      "known. A diffusion model with $K$ reverse steps is scored by its negative ELBO, an upper bound on the "
      "cross-entropy $-\\mathbb E\\log p(x_0)$; with the exact denoiser the only free choices are the reverse "
      "variances and the time steps, so the table isolates exactly what Analytic-DPM changes: DDPM's handcrafted "
      "$\\beta$ or $\\tilde\\beta$ against the optimal $\\sigma^{*2}$, on the even trajectory (ET) and on the "
      "trajectory found by dynamic programming (OT). Data: the 1-D two-component mixture `gmm1d`; $N = 1000$, "
      "linear and cosine schedules.");
  if (!nb) return GSL_ENOMEM;
  int st = dpm_notebook_markdown(
      nb,
      "## What is computed\n\n"
      "For a trajectory $1 = \\tau_1 < \\dots < \\tau_K = N$ the model is $p(x_{\\tau_K}) = N(0, I)$, "
      "$p(x_s\\mid x_t) = N(\\mu^*_{s|t}(x_t), \\sigma_{s|t}^2 I)$ and the decoder $p(x_0\\mid x_{\\tau_1}) = "
      "N(\\mu^*(x_{\\tau_1}), \\sigma^2 I)$, with the optimal (exact) mean throughout. Its negative ELBO is\n\n"
      "$$-\\mathrm{ELBO} = \\underbrace{\\mathbb E\\,\\mathrm{KL}(q(x_{\\tau_K}\\mid "
      "x_0)\\,\\|\\,N(0,I))}_{\\text{prior}} "
      "+ \\sum_{k=2}^K \\mathbb E\\,\\mathrm{KL}(q(x_{\\tau_{k-1}}\\mid "
      "x_{\\tau_k},x_0)\\,\\|\\,p(x_{\\tau_{k-1}}\\mid "
      "x_{\\tau_k})) - \\mathbb E\\log p(x_0\\mid x_{\\tau_1}) = H(q_0) + \\mathrm{KL}(q(x_0, "
      "x_{\\tau_{1:K}})\\,\\|\\,"
      "p(x_0, x_{\\tau_{1:K}})),$$\n\n"
      "so the **gap** $-\\mathrm{ELBO} - H(q_0)$ is a KL divergence, $\\ge 0$, and $0$ only for a perfect model. "
      "Every "
      "term is closed form given $\\Gamma_t = \\mathbb E_{q_t}\\|\\mathbb E[\\epsilon\\mid x_t]\\|^2/d$ ([docs/MATH.md](../docs/MATH.md) "
      "§3):\n\n"
      "$$\\sigma^{*2}_{s|t} = \\tilde\\beta_{s|t} + \\Big(\\sqrt{\\bar\\beta_t/\\alpha_{t|s}} - "
      "\\sqrt{\\bar\\beta_s - "
      "\\tilde\\beta_{s|t}}\\Big)^2(1-\\Gamma_t),\\qquad \\alpha_{t|s} = \\bar\\alpha_t/\\bar\\alpha_s,\\quad "
      "\\beta_{t|s} = 1-\\alpha_{t|s},\\quad \\tilde\\beta_{s|t} = \\bar\\beta_s\\beta_{t|s}/\\bar\\beta_t.$$\n\n"
      "DDPM uses $\\sigma^2_{s|t} = \\beta_{t|s}$ or $\\tilde\\beta_{s|t}$ (decoder: $\\beta_{\\tau_1}$, resp. "
      "$\\tilde\\beta_{\\tau_1|\\tau_2}$); Analytic-DPM uses $\\sigma^{*2}_{s|t}$. The OT trajectory minimises "
      "$\\sum_k J(\\tau_{k-1},\\tau_k)$, $J(s,t) = \\log(\\sigma^{*2}_{s|t}/\\tilde\\beta_{s|t})$, by dynamic "
      "programming — the KL of Analytic-DPM up to a constant; it is used with all three variances. "
      "$\\Gamma_t$ comes from adaptive cubature (largest error estimate %.1e linear, %.1e cosine; the ± below "
      "propagates it, together with the entropy's error, linearly).\n\n"
      "**Units.** The decoder is a Gaussian density, so the ELBO bounds a *differential* cross-entropy and is "
      "compared with the differential entropy $H(q_0) = %.6f$ nats (± %.1e); bits/dim = nats$/(d\\ln 2)$ in that "
      "continuous sense (not the 8-bit discretised likelihood of image models).",
      res->max_gamma_err[0], res->max_gamma_err[1], res->H, res->H_err);
  if (!st)
    st = dpm_notebook_markdown(nb, "The same numbers from the command line, e.g. the two extremes at $K = 10$ "
                                   "(linear schedule):");
  /* the extremes: Analytic-DPM on the DP trajectory, DDPM with beta~ on the even one */
  static const size_t extreme_traj[2] = {1, 0}, extreme_var[2] = {2, 1};
  for (size_t i = 0; i < 2 && !st; i++)
    st = demo_notebook_command(
        nb, "{build}/dpmlab elbo --data %s --schedule linear --N %d --K 10 --trajectory %s --variance %s --rel-tol %g",
        DATA_SPEC, N_STEPS, TRAJS[extreme_traj[i]], VAR_CLI[extreme_var[i]], QUAD_TOL);
  if (!st)
    st = dpm_notebook_markdown(nb,
                               "The full table (every schedule, trajectory, $K$ and variance, with the prior, "
                               "transition and decoder terms) is written to `%s`.",
                               res->csv_path);

  for (size_t c = 0; c < NSCH && !st; c++) {
    demo_md b = {0};
    demo_md_add(&b,
                "## %s schedule\n\n**Negative ELBO**, nats (bits/dim in parentheses); $H(q_0) = %.4f$ nats.\n\n",
                c == 0 ? "Linear" : "Cosine", res->H);
    md_elbo_table(&b, res, c, 0);
    demo_md_add(&b,
                "\n**Gap** $-\\mathrm{ELBO} - H(q_0)$, nats (the KL divergence of the model from the data):\n\n");
    md_elbo_table(&b, res, c, 1);
    /* the speed-up: steps DDPM (ET, better variance) needs for the gap of Analytic-DPM (OT) with K steps */
    demo_md_add(&b, "\n**Speed-up.** The number of steps DDPM on the even trajectory (the better of $\\beta$ and "
                    "$\\tilde\\beta$) needs to match the gap of Analytic-DPM on the OT trajectory with $K$ steps "
                    "(log-log interpolation in the table above):\n\n"
                    "| $K$ (Analytic-DPM, OT) | its gap (nats) | DDPM steps for that gap | speed-up |\n"
                    "| ---: | ---: | ---: | ---: |\n");
    for (size_t k = 0; k + 1 < NK; k++) {
      const double g = res->r[c][1][2][k].gap, kd = ddpm_steps_for_gap(res, c, g);
      if (kd > 0)
        demo_md_add(&b, "| %zu | %.4f | %.0f | %.1f× |\n", KS[k], g, kd, kd / (double)KS[k]);
      else if (kd == 0)
        demo_md_add(&b, "| %zu | %.4f | more than %d | more than %.0f× |\n", KS[k], g, N_STEPS,
                    (double)N_STEPS / (double)KS[k]);
      else
        demo_md_add(&b, "| %zu | %.4f | fewer than %zu | — |\n", KS[k], g, KS[0]);
    }
    st = demo_md_emit(nb, &b);
  }
  if (!st)
    st = dpm_notebook_markdown(nb,
                               "## The gap against the number of steps\n\n"
                               "Solid lines with filled markers: even trajectory; dashed with open markers: the "
                               "dynamic-programming trajectory. Both axes logarithmic.");
  if (!st)
    st = demo_notebook_figure(ctx, nb, "analytic_elbo",
        "Gap $-\\mathrm{ELBO} - H(q_0)$ (nats) against $K$ for DDPM-$\\beta$, "
        "DDPM-$\\tilde\\beta$ and Analytic-DPM on even and DP trajectories; gmm1d, $N = 1000$.");
  return demo_notebook_finish(ctx, nb, st);
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc = demo_init(&ctx, "analytic_elbo",
                     "Analytic-DPM negative-ELBO table: DDPM beta / beta~ vs the optimal variance on even and DP "
                     "trajectories, K = 10..1000, linear and cosine schedules (gmm1d, N = 1000).",
                     argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  results *res = calloc(1, sizeof *res);
  if (!res) return fprintf(stderr, "analytic_elbo: out of memory\n"), 1;
  if (demo_pathf(res->csv_path, "%s/data/%s.csv", ctx.out, ctx.name))
    rc = demo_fail(&ctx, "naming the table");
  else if (compute(&ctx, res))
    rc = demo_fail(&ctx, "computing the ELBOs");
  else if (write_csv(&ctx, res, res->csv_path) || write_dat(&ctx, res))
    rc = demo_fail(&ctx, "writing the data");
  else {
    static const char *const figures[1] = {"analytic_elbo"};
    demo_progress(&ctx, "wrote %s", res->csv_path);
    rc = demo_publish(&ctx, 1, figures, write_notebook, res);
  }
  free(res);
  return rc;
}
