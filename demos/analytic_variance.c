/* analytic_variance.c — Figure 1 of Analytic-DPM (Bao, Li, Zhu, Zhang, ICLR 2022; docs/MATH.md §3) on toy data:
 * the optimal reverse variance sigma*_n^2 = (beta_n/alpha_n)(1 - (beta_n/bbar_n) Gamma_n) between its bounds
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

/* ---- notebook values -------------------------------------------------------------------------------------- */

/* The values of the notebook (demos/analytic_variance.md): per data set s, the rows tab<s>[i] of the table at
 * selected steps (n, Gamma_n by quadrature, by Monte Carlo and its standard error, lower bound, sigma*_n^2, upper
 * bound, beta_n, position of the optimum in the band) and elbo<s>[v] per variance (-ELBO, bits/dim, H(q_0), gap,
 * its error, prior + the sum of the per-step terms). */
static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const set_result *res = arg;
  char key[64];
  demo_val_text(fp, "spec", NSETS, SETS);
  double d[NSETS], maxerr[NSETS];
  for (size_t i = 0; i < NSETS; i++) {
    d[i] = (double)res[i].d;
    maxerr[i] = res[i].max_quad_err;
  }
  demo_val(fp, "d", NSETS, d);
  demo_val(fp, "tol", NSETS, QUAD_TOL);
  demo_val(fp, "maxerr", NSETS, maxerr);
  demo_val1(fp, "N", N_STEPS);
  demo_val1(fp, "M", (double)MC_M);
  for (size_t i = 0; i < NSETS; i++) {
    const set_result *r = &res[i];
    for (size_t k = 0; k < NSHOW; k++) {
      const size_t n = SHOW_N[k];
      const double width = r->upper[n] - r->lambda2[n];
      const double row[9] = {
          (double)n,      r->gamma[n],   r->gamma_mc[k],
          r->gamma_se[k], r->lambda2[n], r->sigma2_opt[n],
          r->upper[n],    r->beta[n],    width > 0 ? (r->sigma2_opt[n] - r->lambda2[n]) / width : (double)NAN};
      snprintf(key, sizeof key, "tab%zu[%zu]", i, k);
      demo_val(fp, key, 9, row);
    }
    for (size_t v = 0; v < 3; v++) {
      const dpm_elbo_result *e = &r->elbo[v];
      const double row[6] = {e->nelbo, e->bpd, e->entropy, e->gap, e->gap_err, r->area[v]};
      snprintf(key, sizeof key, "elbo%zu[%zu]", i, v);
      demo_val(fp, key, 6, row);
    }
  }
  return DPM_SUCCESS;
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
    rc = demo_publish(&ctx, 1, figures, write_values, res);
  }
  for (size_t i = 0; i < NSETS; i++)
    set_free(&res[i]);
  dpm_schedule_free(sch);
  return rc;
}
