/* analytic_trajectory.c — the optimal trajectory and sample quality of Analytic-DPM (Bao, Li, Zhu, Zhang, ICLR
 * 2022, §4 and Table 2; docs/MATH.md §3): the least-cost sub-sequences tau_1 < ... < tau_K found by dynamic
 * programming on J(s,t) = log(sigma*^2_{s|t}/lambda^2_{s|t}) against the even and quadratic ones, and the quality
 * of samples (exact W1 in 1-D, closed-form MMD in 2-D) of Analytic-DDPM, DDPM (beta~), DDIM and Analytic-DDIM
 * against K. */
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
  const char *name;
  double eta;
  dpm_variance_kind var;
} method;
static const method METHODS[NMETH] = {{"Analytic-DDPM", 1.0, DPM_VAR_OPT},
                                      {"DDPM", 1.0, DPM_VAR_BETA_TILDE},
                                      {"Analytic-DDIM", 0.0, DPM_VAR_OPT},
                                      {"DDIM", 0.0, DPM_VAR_ZERO}};

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

/* The values of the notebook (demos/analytic_trajectory.md), per data set s: the trajectories for K = TAB_K
 * (tau_dp<s>, tau_even<s>, tau_quad<s>) and their costs (tab_cost<s>: DP, even, quadratic); the costs for every K
 * of the figure (cost_dp<s>, cost_even<s>, cost_quad<s> over traj_K); the sample quality (q<s>_mean[m],
 * q<s>_se[m] per method m over quality_K, floor<s>: mean and standard error of exact samples) and z<s>: DDPM -
 * Analytic-DDPM at the smallest K and the number of combined standard errors, then the same for DDIM. */
static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const set_result *res = arg;
  char key[64];
  demo_val_text(fp, "spec", NSETS, SETS);
  demo_val(fp, "tol", NSETS, QUAD_TOL);
  demo_val_sizes(fp, "nsamp", NSETS, NSAMP);
  demo_val1(fp, "N", N_STEPS);
  demo_val1(fp, "mmd_h", MMD_H);
  demo_val1(fp, "nrep", NREP);
  demo_val1(fp, "tab_K", TAB_K);
  size_t kk[TAB_K];
  for (size_t k = 0; k < TAB_K; k++)
    kk[k] = k + 1;
  demo_val_sizes(fp, "kk", TAB_K, kk);
  demo_val_sizes(fp, "traj_K", NTK, TK);
  demo_val_sizes(fp, "quality_K", NQK, QK);
  size_t ti = 0;
  while (ti < NTK && TK[ti] != TAB_K)
    ti++;
  if (ti == NTK) DPM_ERROR(GSL_EINVAL, "the trajectories for K = %d are not computed", TAB_K);
  for (size_t s = 0; s < NSETS; s++) {
    const set_result *r = &res[s];
    snprintf(key, sizeof key, "tau_dp%zu", s);
    demo_val_sizes(fp, key, TAB_K, r->tau_dp[ti]);
    snprintf(key, sizeof key, "tau_even%zu", s);
    demo_val_sizes(fp, key, TAB_K, r->tau_even[ti]);
    snprintf(key, sizeof key, "tau_quad%zu", s);
    demo_val_sizes(fp, key, TAB_K, r->tau_quad[ti]);
    const double tab_cost[3] = {r->cost_dp[ti], r->cost_even[ti], r->cost_quad[ti]};
    snprintf(key, sizeof key, "tab_cost%zu", s);
    demo_val(fp, key, 3, tab_cost);
    snprintf(key, sizeof key, "cost_dp%zu", s);
    demo_val(fp, key, NTK, r->cost_dp);
    snprintf(key, sizeof key, "cost_even%zu", s);
    demo_val(fp, key, NTK, r->cost_even);
    snprintf(key, sizeof key, "cost_quad%zu", s);
    demo_val(fp, key, NTK, r->cost_quad);
    for (size_t m = 0; m < NMETH; m++) {
      snprintf(key, sizeof key, "q%zu_mean[%zu]", s, m);
      demo_val(fp, key, NQK, r->q_mean[m]);
      snprintf(key, sizeof key, "q%zu_se[%zu]", s, m);
      demo_val(fp, key, NQK, r->q_se[m]);
    }
    const double floor[2] = {r->floor_mean, r->floor_se};
    snprintf(key, sizeof key, "floor%zu", s);
    demo_val(fp, key, 2, floor);
    /* how many standard errors separate the analytic variance from the handcrafted one at the smallest K */
    const double z[4] = {
        r->q_mean[1][0] - r->q_mean[0][0],
        (r->q_mean[1][0] - r->q_mean[0][0]) / sqrt(r->q_se[0][0] * r->q_se[0][0] + r->q_se[1][0] * r->q_se[1][0]),
        r->q_mean[3][0] - r->q_mean[2][0],
        (r->q_mean[3][0] - r->q_mean[2][0]) / sqrt(r->q_se[2][0] * r->q_se[2][0] + r->q_se[3][0] * r->q_se[3][0])};
    snprintf(key, sizeof key, "z%zu", s);
    demo_val(fp, key, 4, z);
  }
  return DPM_SUCCESS;
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
    rc = demo_publish(&ctx, 2, FIGURES, write_values, res);
  for (size_t s = 0; s < NSETS; s++)
    set_free(&res[s]);
  dpm_schedule_free(sch);
  return rc;
}
