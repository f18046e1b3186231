/* analytic_variance.c — Figure 1 of Analytic-DPM (Bao, Li, Zhu, Zhang, ICLR 2022; docs/MATH.md §3) on toy data: the
 * optimal reverse variance sigma*_n^2 = (beta_n/alpha_n)(1 - (beta_n/bbar_n) Gamma_n) between its bounds
 * beta~_n <= sigma*_n^2 <= beta_n/alpha_n against the handcrafted beta_n and beta~_n, and the per-step terms of
 * the negative ELBO for each of the three variances, for a 1-D and a 2-D mixture, Gamma_n by quadrature. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "dpm_analytic.h"

#define N_STEPS 1000
/* Relative tolerance of the adaptive cubature for Gamma_n, per data set: 1e-13 in 1-D costs nothing; in 2-D the
 * cost per time is ~10^4 oracle points per component, and 1e-5 is far below anything the figure or the ELBO
 * table can show. */
/* Monte Carlo samples per time in the cross-check of the quadrature (--quick: 2000) */
static size_t MC_M = 20000;
#define NSETS 2
#define NSHOW 10

static const char *const SETS[NSETS] = {"gmm1d", "ring8"};
static double QUAD_TOL[NSETS] = {1e-13, 1e-5}; /* --quick: 1e-3 for ring8 */
static const size_t SHOW_N[NSHOW] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};

/* ---- per data set results --------------------------------------------------------------------------------- */

typedef struct {
  const char *spec;
  size_t d;
  double *gamma, *gamma_err;                   /* per n */
  double *beta, *lambda2, *sigma2_opt, *upper; /* per n */
  double *L_beta, *L_betatilde, *L_opt;        /* per n (entry 1 the decoder) */
  double gamma_mc[NSHOW], gamma_se[NSHOW];     /* Monte Carlo cross-check at SHOW_N */
  double max_quad_err;                         /* max_n |quadrature error estimate| */
  double var_tilde1;                           /* the beta~ choice's decoder variance, beta~_2 */
  double H, H_err;                             /* differential entropy of q_0 */
  dpm_elbo_result elbo[3];                     /* beta, beta~, sigma*^2 over the full trajectory */
  double area[3];                              /* prior + sum of the per-step terms */
} set_result;

static const dpm_variance_kind VARS[3] = {DPM_VAR_BETA, DPM_VAR_BETA_TILDE, DPM_VAR_OPT};

static void set_free(set_result *r)
{
  double *p[] = {r->gamma, r->gamma_err, r->beta,        r->lambda2, r->sigma2_opt,
                 r->upper, r->L_beta,    r->L_betatilde, r->L_opt};
  for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
    free(p[i]);
}

static int set_compute(const demo_ctx *ctx, const dpm_schedule *sch, const char *spec, size_t setidx,
                       set_result *r)
{
  memset(r, 0, sizeof *r);
  r->spec = spec;
  const size_t N = sch->N;
  double **cols[] = {&r->gamma, &r->gamma_err, &r->beta,        &r->lambda2, &r->sigma2_opt,
                     &r->upper, &r->L_beta,    &r->L_betatilde, &r->L_opt};
  for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
    if (!(*cols[i] = malloc((N + 1) * sizeof(double)))) return GSL_ENOMEM;

  dpm_mixture *mix = dpm_data_from_spec(spec);
  if (!mix) return GSL_EINVAL;
  r->d = mix->d;
  int st = DPM_SUCCESS;
  size_t *tau = NULL;
  dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mix, QUAD_TOL[setidx]);
  dpm_analytic_gamma_mc *mc = dpm_analytic_gamma_mc_alloc(mix, MC_M);
  if (!q || !mc) st = GSL_ENOMEM;
  if (!st) st = demo_gamma_quad(ctx, q, spec, "linear", sch, QUAD_TOL[setidx], r->gamma, r->gamma_err);
  for (size_t n = 1; n <= N && !st; n++)
    r->max_quad_err = fmax(r->max_quad_err, fabs(r->gamma_err[n]));

  /* the quadrature cross-checked by Monte Carlo at the table's times */
  if (!st) {
    double m[NSHOW], s[NSHOW];
    for (size_t i = 0; i < NSHOW; i++)
      dpm_schedule_ms(sch, SHOW_N[i], &m[i], &s[i]);
    demo_progress(ctx, "%s: Monte Carlo cross-check, M = %zu at %d times", spec, MC_M, NSHOW);
    st = dpm_analytic_gamma_mc_ms(mc, NSHOW, m, s, demo_seed(ctx, 1 + setidx), r->gamma_mc, r->gamma_se);
  }

  double e_norm2 = 0.0;
  dpm_mixture_moments(mix, NULL, NULL, &e_norm2);
  dpm_analytic_model mod = {
      .d = mix->d, .eta = 1.0, .e_norm2 = e_norm2, .gamma = r->gamma, .gamma_err = r->gamma_err};
  dpm_analytic_table tab = {.beta = r->beta,
                            .lambda2 = r->lambda2,
                            .sigma2_opt = r->sigma2_opt,
                            .upper = r->upper,
                            .L_beta = r->L_beta,
                            .L_betatilde = r->L_betatilde,
                            .L_opt = r->L_opt};
  if (!st) st = dpm_analytic_table_fill(sch, &mod, &tab);
  r->var_tilde1 = sch->beta_tilde[2];
  if (!st) st = dpm_mixture_entropy(mix, &r->H, &r->H_err);

  /* the total negative ELBO of each variance over the full trajectory 1, 2, ..., N, and the same total as the
   * area under the per-step curves plus the prior term */
  if (!st && !(tau = malloc(N * sizeof *tau))) st = GSL_ENOMEM;
  for (size_t i = 0; i < N && !st; i++)
    tau[i] = i + 1;
  const double prior = dpm_analytic_prior_kl(sch, N, mix->d, e_norm2);
  const double *Ls[3] = {r->L_beta, r->L_betatilde, r->L_opt};
  for (size_t v = 0; v < 3 && !st; v++) {
    st = dpm_analytic_elbo(sch, &mod, VARS[v], N, tau, r->H, r->H_err, &r->elbo[v], NULL);
    r->area[v] = prior;
    for (size_t n = 1; n <= N; n++)
      r->area[v] += Ls[v][n];
  }
  free(tau);
  dpm_analytic_gamma_quad_free(q);
  dpm_analytic_gamma_mc_free(mc);
  dpm_mixture_free(mix);
  return st;
}

/* ---- data ------------------------------------------------------------------------------------------------ */

static int write_data(const demo_ctx *ctx, const set_result *res)
{
  dpm_out *out =
      demo_dat_open(ctx, ctx->data_path,
                    "Analytic-DPM Figure 1: beta_n, beta~_n, sigma*_n^2 and the per-step negative "
                    "ELBO terms (per dimension, nats), linear schedule N = 1000, Gamma_n by quadrature");
  if (!out) return GSL_EFAILED;
  FILE *fp = dpm_out_file(out);
  for (size_t i = 0; i < NSETS; i++) {
    const set_result *r = &res[i];
    char block[64];
    snprintf(block, sizeof block, "variance_%s", r->spec);
    demo_dat_block(fp, block,
                   "n beta_n beta~_n sigma*_n^2 beta_n/alpha_n Gamma_n Gamma_err L_beta/d L_beta~/d L_opt/d "
                   "excess_beta/d excess_beta~/d (L_x at n = 1 is the decoder term L_0, at n >= 2 the KL term "
                   "L_{n-1}; excess = L_x - L_opt)");
    for (size_t n = 1; n <= N_STEPS; n++) {
      const double dd = (double)r->d;
      double row[12] = {(double)n,
                        r->beta[n],
                        r->lambda2[n],
                        r->sigma2_opt[n],
                        r->upper[n],
                        r->gamma[n],
                        r->gamma_err[n],
                        r->L_beta[n] / dd,
                        r->L_betatilde[n] / dd,
                        r->L_opt[n] / dd,
                        dpm_analytic_term_excess(r->sigma2_opt[n], r->beta[n]),
                        dpm_analytic_term_excess(r->sigma2_opt[n], n == 1 ? r->var_tilde1 : r->lambda2[n])};
      demo_dat_row(fp, 12, row);
    }
  }
  return demo_dat_close(out, 1);
}

/* ---- notebook ------------------------------------------------------------------------------------------- */

static int write_notebook(const demo_ctx *ctx, const void *arg)
{
  const set_result *res = arg;
  dpm_notebook *nb = demo_notebook_begin(
      ctx, "Analytic-DPM: the optimal reverse variance and its bounds",
      "Bao, Li, Zhu and Zhang (*Analytic-DPM: an Analytic Estimate of the Optimal Reverse Variance in Diffusion "
      "Probabilistic Models*, ICLR 2022) show that the reverse variance minimising the KL divergence between the "
      "forward and the reverse Markov chains has a closed form in terms of the score, and that it lies between "
      "the "
      "two handcrafted choices of DDPM, $\\tilde\\beta_n$ and $\\beta_n$. This demo redraws the paper's Figure 1 "
      "on toy data whose score is known exactly: a 1-D two-component mixture (`gmm1d`) and a ring of eight "
      "Gaussians in 2-D (`ring8`), linear schedule with $N = 1000$.");
  if (!nb) return GSL_ENOMEM;
  int st = dpm_notebook_markdown(
      nb,
      "## The theorem\n\n"
      "Forward chain $q(x_n\\mid x_{n-1}) = N(\\sqrt{\\alpha_n}x_{n-1}, \\beta_n I)$, $\\bar\\alpha_n = "
      "\\prod_{i\\le n}\\alpha_i$, $\\bar\\beta_n = 1-\\bar\\alpha_n$, $\\tilde\\beta_n = "
      "\\bar\\beta_{n-1}\\beta_n/"
      "\\bar\\beta_n$; model $p(x_{n-1}\\mid x_n) = N(\\mu_n(x_n), \\sigma_n^2 I)$ in $\\mathbb R^d$. Among all "
      "means and variances, $\\mathrm{KL}(q(x_{0:N})\\,\\|\\,p(x_{0:N}))$ is minimised by (Bao et al. 2022, "
      "Theorem 1; [docs/MATH.md](../docs/MATH.md) §3)\n\n"
      "$$\\mu_n^*(x_n) = \\frac{1}{\\sqrt{\\alpha_n}}\\Big(x_n - \\frac{\\beta_n}{\\sqrt{\\bar\\beta_n}}"
      "\\,\\mathbb E[\\epsilon\\mid x_n]\\Big), \\qquad "
      "\\sigma_n^{*2} = \\frac{\\beta_n}{\\alpha_n}\\Big(1 - \\frac{\\beta_n}{\\bar\\beta_n}\\,\\Gamma_n\\Big), "
      "\\qquad \\Gamma_n = \\mathbb E_{q_n(x_n)}\\frac{\\|\\mathbb E[\\epsilon\\mid x_n]\\|^2}{d}.$$\n\n"
      "Since $0 \\le \\Gamma_n \\le 1$ (the law of total variance: $\\mathbb E\\,\\mathrm{tr}\\,\\mathrm{Cov}"
      "[\\epsilon\\mid x_n]/d = 1 - \\Gamma_n \\ge 0$), the optimal variance is bracketed by DDPM's two "
      "choices:\n\n"
      "$$\\tilde\\beta_n \\;\\le\\; \\sigma_n^{*2} \\;\\le\\; \\frac{\\beta_n}{\\alpha_n}.$$\n\n"
      "Per step, with the optimal mean, the term of the negative ELBO for any variance $\\sigma_n^2$ is "
      "($\\lambda_n^2 = \\tilde\\beta_n$, $c_n$ the $x_0$-coefficient of $\\tilde\\mu_n$)\n\n"
      "$$L_{n-1} = \\frac d2\\Big[\\log\\frac{\\sigma_n^2}{\\lambda_n^2} + \\frac{\\lambda_n^2}{\\sigma_n^2} - 1 "
      "+ "
      "\\frac{c_n^2\\,(\\bar\\beta_n/\\bar\\alpha_n)(1-\\Gamma_n)}{\\sigma_n^2}\\Big],$$\n\n"
      "minimised at $\\sigma_n^{*2}$ where it equals $\\frac d2\\log(\\sigma_n^{*2}/\\tilde\\beta_n)$. Here the "
      "oracle gives $\\mathbb E[\\epsilon\\mid x_n]$ exactly and $\\Gamma_n$ is computed by adaptive "
      "Gauss–Kronrod cubature against each mixture component (relative tolerance %g for `%s`, %g for `%s`).",
      QUAD_TOL[0], SETS[0], QUAD_TOL[1], SETS[1]);
  if (!st)
    st =
        dpm_notebook_markdown(nb, "The same numbers from the command line (CSV, one row per $n$: $\\Gamma_n$, its "
                                  "error, the bounds, $\\sigma_n^{*2}$ and the per-step terms):");
  for (size_t i = 0; i < NSETS && !st; i++)
    st = demo_notebook_command(nb, "{build}/dpmlab variance --data %s --schedule linear --N %d --quad --rel-tol %g",
                               SETS[i], N_STEPS, QUAD_TOL[i]);
  if (!st)
    st = dpm_notebook_markdown(
        nb,
        "## Figure 1 on toy data\n\n"
        "(a) The two handcrafted variances and the optimal one against $n$ (both axes logarithmic: on toy data "
        "everything of interest happens in the first hundred steps); the shaded band is the interval "
        "$[\\tilde\\beta_n, \\beta_n/\\alpha_n]$ of the theorem. $\\sigma_n^{*2}$ follows the upper bound while "
        "the noise is small against the data's own spread ($\\Gamma_n \\approx 0$: the noise cannot be told from "
        "the data) and the lower bound once $x_n$ is mostly noise ($\\Gamma_n \\to 1$); the band itself closes as "
        "$n$ grows ($\\tilde\\beta_n/\\beta_n = \\bar\\beta_{n-1}/\\bar\\beta_n \\to 1$). (b) The per-step terms "
        "$L_{n-1}/d$ of the negative ELBO in nats per dimension, $n \\ge 2$ (the decoder term at $n = 1$ is a "
        "log-likelihood, not a KL divergence, and may be negative); the area under each curve is that variance's "
        "negative ELBO up to the prior and decoder terms. (c) The excess of each handcrafted variance's term over "
        "the optimum's, $L_{n-1}(\\sigma^2) - L_{n-1}(\\sigma_n^{*2}) = \\frac d2(u - \\log(1+u))$ with "
        "$u = \\sigma_n^{*2}/\\sigma^2 - 1$, which (b) cannot resolve: $\\tilde\\beta_n$ loses most at small $n$, "
        "where $\\sigma_n^{*2}$ sits at the upper bound; $\\beta_n$ loses orders of magnitude less, and nothing "
        "at the step where $\\sigma_n^{*2} = \\beta_n$, i.e. where $\\Gamma_n = \\bar\\beta_n$.");
  if (!st)
    st = demo_notebook_figure(ctx, nb, "analytic_variance",
        "(a) $\\beta_n$, $\\tilde\\beta_n$ and $\\sigma_n^{*2}$ with the band of the bounds; "
        "(b) per-step negative-ELBO terms for each variance; (c) their excess over the optimum. "
        "Top: gmm1d; bottom: ring8.");

  /* the table at selected n */
  for (size_t i = 0; i < NSETS && !st; i++) {
    const set_result *r = &res[i];
    demo_md b = {0};
    demo_md_add(
        &b,
        "### `%s` (d = %zu): the variances at selected steps\n\n"
        "$\\Gamma_n$ by quadrature (largest error estimate over all $n$: %.1e) and, as an independent check, "
        "by Monte Carlo with $M = %zu$ exact samples $x_n \\sim q_n$ (± one standard error). The position "
        "$(\\sigma_n^{*2} - \\tilde\\beta_n)/(\\beta_n/\\alpha_n - \\tilde\\beta_n)$ of the optimum in the "
        "band is "
        "$1 - \\Gamma_n$.\n\n",
        r->spec, r->d, r->max_quad_err, MC_M);
    demo_md_add(&b, "| $n$ | $\\Gamma_n$ (quadrature) | $\\Gamma_n$ (Monte Carlo) | lower $\\tilde\\beta_n$ | "
                    "$\\sigma_n^{*2}$ | upper $\\beta_n/\\alpha_n$ | $\\beta_n$ | position in band |\n");
    demo_md_add(&b, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (size_t k = 0; k < NSHOW; k++) {
      const size_t n = SHOW_N[k];
      const double width = r->upper[n] - r->lambda2[n];
      demo_md_add(&b, "| %zu | %.6f | %.4g ± %.1e | %.4e | %.4e | %.4e | %.4e | %.4f |\n", n, r->gamma[n],
                  r->gamma_mc[k], r->gamma_se[k], r->lambda2[n], r->sigma2_opt[n], r->upper[n], r->beta[n],
                  width > 0 ? (r->sigma2_opt[n] - r->lambda2[n]) / width : (double)NAN);
    }
    st = demo_md_emit(nb, &b);
  }

  /* total negative ELBO per variance */
  if (!st) {
    demo_md b = {0};
    demo_md_add(
        &b,
        "## The negative ELBO of each variance\n\n"
        "The full chain ($K = N = %d$ steps), the optimal mean in every case, a Gaussian decoder "
        "$N(x_0; \\mu_1^*(x_1), \\sigma_1^2 I)$ with each variance's own choice at $n = 1$ ($\\beta_1$; "
        "$\\tilde\\beta_2$ as in Improved DDPM; $\\sigma_1^{*2}$), and the prior term "
        "$\\mathrm{KL}(q(x_N\\mid x_0)\\,\\|\\,N(0,I))$. $H(q_0)$ is the differential entropy of the data "
        "(quadrature); the gap $-\\mathrm{ELBO} - H(q_0) = \\mathrm{KL}(q(x_{0:N})\\,\\|\\,p(x_{0:N})) \\ge 0$. "
        "The last column recomputes the total as the prior term plus the area under the per-step curves "
        "of the figure (including the decoder term): it must agree with the library's ELBO to rounding.\n\n",
        N_STEPS);
    demo_md_add(
        &b, "| data | variance | −ELBO (nats) | bits/dim | $H(q_0)$ (nats) | gap (nats) | prior + Σ terms |\n");
    demo_md_add(&b, "| :--- | :--- | ---: | ---: | ---: | ---: | ---: |\n");
    static const char *const vname[3] = {"DDPM $\\beta_n$", "DDPM $\\tilde\\beta_n$", "Analytic $\\sigma_n^{*2}$"};
    for (size_t i = 0; i < NSETS; i++)
      for (size_t v = 0; v < 3; v++) {
        const dpm_elbo_result *e = &res[i].elbo[v];
        demo_md_add(&b, "| `%s` | %s | %.5f | %.5f | %.5f | %.5f ± %.1e | %.5f |\n", res[i].spec, vname[v],
                    e->nelbo, e->bpd, e->entropy, e->gap, e->gap_err, res[i].area[v]);
      }
    demo_md_add(&b,
                "\nWith the optimal variance the gap is smallest for both data sets, as the theorem says it must "
                "be: $\\sigma_n^{*2}$ minimises every per-step term separately.");
    st = demo_md_emit(nb, &b);
  }
  return demo_notebook_finish(ctx, nb, st);
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc = demo_init(&ctx, "analytic_variance",
                     "Analytic-DPM Figure 1 on toy data: the optimal reverse variance between its bounds and the "
                     "per-step negative ELBO of beta, beta~ and sigma*^2 (gmm1d and ring8, linear N = 1000).",
                     argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  if (ctx.quick) {
    MC_M = 2000;
    QUAD_TOL[1] = 1e-3;
  }

  dpm_schedule *sch = dpm_schedule_linear_alloc(N_STEPS, 1e-4, 0.02);
  if (!sch) return demo_fail(&ctx, "making the schedule");
  set_result res[NSETS];
  memset(res, 0, sizeof res);
  int st = DPM_SUCCESS;
  for (size_t i = 0; i < NSETS && !st; i++)
    st = set_compute(&ctx, sch, SETS[i], i, &res[i]);
  if (st) {
    rc = demo_fail(&ctx, "computing the variances");
  } else if (write_data(&ctx, res)) {
    rc = demo_fail(&ctx, "writing the data");
  } else {
    static const char *const figures[1] = {"analytic_variance"};
    rc = demo_publish(&ctx, 1, figures, write_notebook, res);
  }
  for (size_t i = 0; i < NSETS; i++)
    set_free(&res[i]);
  dpm_schedule_free(sch);
  return rc;
}
