/* analytic_elbo.c — the negative-ELBO table of Analytic-DPM (Bao, Li, Zhu, Zhang, ICLR 2022, Table 1; docs/MATH.md
 * §3) on a 1-D mixture whose entropy is known: DDPM with beta or beta~ against the optimal variance sigma*^2 on
 * even and on dynamic-programming trajectories of K = 10 ... 1000 steps, linear and cosine schedules, with the gap
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
static const dpm_variance_kind VARS[NVAR] = {DPM_VAR_BETA, DPM_VAR_BETA_TILDE, DPM_VAR_OPT};
/* the names of the command line (`dpmlab elbo --variance`) */
static const char *const VAR_CLI[NVAR] = {"beta", "betatilde", "analytic"};

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

/* The values of the notebook (demos/analytic_elbo.md): per schedule c, rows r = (trajectory, variance) in the
 * order ET beta, ET beta~, ET analytic, OT beta, OT beta~, OT analytic, one value per K: nelbo_<c>[r], bpd_<c>[r],
 * gap_<c>[r], gap_err_<c>[r]; and the speed-up rows speed_<c>[i]: K, the gap of Analytic-DPM on the OT trajectory
 * with K steps, the steps DDPM on the even one needs for it (inf: more than N; NaN: fewer than the smallest K),
 * the ratio (inf / NaN likewise) and N/K. */
static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const results *res = arg;
  const char *text[1] = {DATA_SPEC};
  demo_val_text(fp, "spec", 1, text);
  text[0] = res->csv_path;
  demo_val_text(fp, "csv_path", 1, text);
  demo_val1(fp, "N", N_STEPS);
  demo_val1(fp, "tol", QUAD_TOL);
  demo_val1(fp, "H", res->H);
  demo_val1(fp, "H_err", res->H_err);
  demo_val(fp, "maxerr", NSCH, res->max_gamma_err);
  demo_val_sizes(fp, "K", NK, KS);
  char key[64];
  for (size_t c = 0; c < NSCH; c++) {
    static const char *const what[4] = {"nelbo", "bpd", "gap", "gap_err"};
    for (size_t w = 0; w < 4; w++)
      for (size_t t = 0; t < NTRAJ; t++)
        for (size_t v = 0; v < NVAR; v++) {
          double row[NK];
          for (size_t k = 0; k < NK; k++) {
            const dpm_elbo_result *e = &res->r[c][t][v][k];
            row[k] = w == 0 ? e->nelbo : w == 1 ? e->bpd : w == 2 ? e->gap : e->gap_err;
          }
          snprintf(key, sizeof key, "%s_%s[%zu]", what[w], SCHEDS[c], t * NVAR + v);
          demo_val(fp, key, NK, row);
        }
    /* the speed-up: steps DDPM (ET, better variance) needs for the gap of Analytic-DPM (OT) with K steps */
    for (size_t k = 0; k + 1 < NK; k++) {
      const double g = res->r[c][1][2][k].gap, kd = ddpm_steps_for_gap(res, c, g);
      const double steps = kd > 0 ? kd : kd == 0 ? (double)INFINITY : (double)NAN;
      const double row[5] = {(double)KS[k], g, steps, steps / (double)KS[k], (double)N_STEPS / (double)KS[k]};
      snprintf(key, sizeof key, "speed_%s[%zu]", SCHEDS[c], k);
      demo_val(fp, key, 5, row);
    }
  }
  return DPM_SUCCESS;
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
    rc = demo_publish(&ctx, 1, figures, write_values, res);
  }
  free(res);
  return rc;
}
