/* likelihood_ode.c — probability-flow log-likelihoods against the truth on a 2-D mixture (Song et al. 2021,
 * App. D.2; Chen et al. 2018; docs/MATH.md §4.3): the error of the exact-divergence answer against the solver's
 * tolerance and its NFE for the adaptive and fixed-step integrators, the error distribution of the
 * Hutchinson/Skilling estimator against the number of probes M with its variance falling as 1/M, and a heat map of
 * the exact log q_t0 beside the ODE's answer on a grid. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

#define DATA_SPEC "ring8"
#define PROC      "vp"
#define NTOL      8
#define NFIX      6
#define NM        6
#define LO        (-6.0)
#define HI        6.0

static const double RTOL[NTOL] = {1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10};
static const size_t FIXN[NFIX] = {8, 16, 32, 64, 128, 256};
static const size_t MS[NM] = {1, 2, 4, 8, 16, 32};
static const char *const MNAME[5] = {"rk45", "rk8pd", "euler", "heun", "rk4"};

typedef struct {
  size_t npts, ngrid;
  double tol_max[2][NTOL], tol_nfe[2][NTOL]; /* rk45, rk8pd: max |err| and mean NFE */
  double fix_slope[3];                       /* measured order between the last two step counts */
  double fix_err[3][NFIX];
  double sd[2][NM], mean_err[2][NM], mean_se[2][NM], sd_slope[2];
  double heat_max, heat_nfe;
} results;

static double slope_ls(size_t n, const double *x, const double *y) /* least-squares slope of log y on log x */
{
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < n; i++) {
    const double a = log(x[i]), b = log(y[i]);
    sx += a;
    sy += b;
    sxx += a * a;
    sxy += a * b;
  }
  const double dn = (double)n;
  return (dn * sxy - sx * sy) / (dn * sxx - sx * sx);
}

static int compute(const demo_ctx *ctx, const dpm_mixture *mix, results *R)
{
  const size_t n = R->npts, d = mix->d, ng = R->ngrid;
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VP);
  dpm_likelihood *w = dpm_likelihood_alloc(mix, NULL, 0);
  double *x = malloc(n * d * sizeof(double)), *gx = malloc(ng * ng * d * sizeof(double));
  dpm_likelihood_point *res = malloc((ng * ng > n ? ng * ng : n) * sizeof *res), *ref = malloc(n * sizeof *ref);
  gsl_rng *r = dpm_rng_stream_alloc(demo_seed(ctx, 0), 0);
  dpm_mixture_sample_workspace *sw = dpm_mixture_sample_alloc(mix);
  dpm_out *out = NULL;
  int st = (w && x && gx && res && ref && r && sw) ? DPM_SUCCESS : GSL_ENOMEM;
  dpm_likelihood_params par;
  dpm_likelihood_params_default(&par);
  double m0, s0;
  if (!st) st = dpm_process_ms(&p, par.t0, &m0, &s0);
  if (!st) st = dpm_mixture_sample_t(mix, sw, r, m0, s0, n, x, NULL, NULL);
  if (!st) out = demo_dat_open(ctx, ctx->data_path, "probability-flow likelihood against the exact log q_t0");
  if (!st && !out) st = GSL_EFAILED;
  FILE *fp = out ? dpm_out_file(out) : NULL;

  /* error against the tolerance (adaptive) and the step count (fixed), exact divergence */
  for (int q = 0; q < 5 && !st; q++) {
    char blk[32];
    snprintf(blk, sizeof blk, "err_%s", MNAME[q]);
    demo_dat_block(
        fp, blk, q < 2 ? "rtol mean_nfe median_abs_err max_abs_err" : "steps mean_nfe median_abs_err max_abs_err");
    const size_t nk = q < 2 ? NTOL : NFIX;
    for (size_t k = 0; k < nk && !st; k++) {
      dpm_likelihood_params_default(&par);
      par.method = (dpm_lik_method)q;
      if (q < 2) {
        par.rtol = RTOL[k];
        par.atol = RTOL[k] * 1e-2;
      } else {
        par.steps = FIXN[k];
      }
      if ((st = dpm_likelihood_eval(w, &p, &par, n, x, res, NULL))) break;
      double *e = malloc(n * sizeof(double)), nfe = 0.0, mx = 0.0;
      if (!e) {
        st = GSL_ENOMEM;
        break;
      }
      for (size_t i = 0; i < n; i++) {
        e[i] = fabs(res[i].logp - res[i].logq_true);
        mx = fmax(mx, e[i]);
        nfe += (double)res[i].nfe / (double)n;
      }
      for (size_t i = 1; i < n; i++) /* insertion sort for the median */
        for (size_t j = i; j > 0 && e[j - 1] > e[j]; j--) {
          const double t = e[j];
          e[j] = e[j - 1];
          e[j - 1] = t;
        }
      const double v[4] = {q < 2 ? RTOL[k] : (double)FIXN[k], nfe, e[n / 2], mx};
      demo_dat_row(fp, 4, v);
      free(e);
      if (q < 2) {
        R->tol_max[q][k] = mx;
        R->tol_nfe[q][k] = nfe;
      } else {
        R->fix_err[q - 2][k] = v[2];
      }
    }
    if (q >= 2) R->fix_slope[q - 2] = log2(R->fix_err[q - 2][NFIX - 2] / R->fix_err[q - 2][NFIX - 1]);
  }

  /* Hutchinson against M: the error against the exact-divergence answer of the same solver, one seed per point */
  dpm_likelihood_params_default(&par);
  par.rtol = 1e-8;
  par.atol = 1e-10;
  if (!st) st = dpm_likelihood_eval(w, &p, &par, n, x, ref, NULL);
  if (!st) demo_dat_block(fp, "hutch_pts", "M err_rademacher err_gaussian (one row per point)");
  double *eh = malloc(2 * n * sizeof(double));
  if (!eh && !st) st = GSL_ENOMEM;
  for (size_t k = 0; k < NM && !st; k++) {
    par.div = DPM_LIK_DIV_HUTCHINSON;
    par.probes = MS[k];
    for (int pk = 0; pk < 2 && !st; pk++) {
      par.probe = pk ? DPM_LIK_PROBE_GAUSSIAN : DPM_LIK_PROBE_RADEMACHER;
      par.seed = demo_seed(ctx, 10 + 2 * k + (uint64_t)pk);
      if ((st = dpm_likelihood_eval(w, &p, &par, n, x, res, NULL))) break;
      double s1 = 0.0, s2 = 0.0;
      for (size_t i = 0; i < n; i++) {
        eh[pk * n + i] = res[i].logp - ref[i].logp;
        s1 += eh[pk * n + i];
        s2 += eh[pk * n + i] * eh[pk * n + i];
      }
      const double dn = (double)n, mean = s1 / dn, var = (s2 - dn * mean * mean) / (dn - 1.0);
      R->sd[pk][k] = sqrt(var);
      R->mean_err[pk][k] = mean;
      R->mean_se[pk][k] = sqrt(var / dn);
    }
    for (size_t i = 0; i < n && !st; i++) {
      const double v[3] = {(double)MS[k], eh[i], eh[n + i]};
      demo_dat_row(fp, 3, v);
    }
  }
  free(eh);
  if (!st) {
    demo_dat_block(fp, "hutch_sd",
                   "M sd_rademacher sd_gaussian sd_rademacher(M=1)/sqrt(M) sd_gaussian(M=1)/sqrt(M)");
    double mm[NM];
    for (size_t k = 0; k < NM; k++) {
      mm[k] = (double)MS[k];
      const double v[5] = {mm[k], R->sd[0][k], R->sd[1][k], R->sd[0][0] / sqrt(mm[k]), R->sd[1][0] / sqrt(mm[k])};
      demo_dat_row(fp, 5, v);
    }
    R->sd_slope[0] = slope_ls(NM, mm, R->sd[0]);
    R->sd_slope[1] = slope_ls(NM, mm, R->sd[1]);
  }

  /* the heat maps: exact log q_t0 and the ODE's answer on a grid */
  for (size_t i = 0; i < ng; i++)
    for (size_t j = 0; j < ng && gx; j++) {
      gx[(i * ng + j) * d] = LO + (HI - LO) * (double)i / (double)(ng - 1);
      gx[(i * ng + j) * d + 1] = LO + (HI - LO) * (double)j / (double)(ng - 1);
    }
  dpm_likelihood_params_default(&par);
  if (!st) st = dpm_likelihood_eval(w, &p, &par, ng * ng, gx, res, NULL);
  if (!st) {
    demo_dat_block(fp, "heat", "x_1 x_2 logq_true logp_ode err (grid, blank line per x_1)");
    R->heat_max = 0.0;
    R->heat_nfe = 0.0;
    for (size_t i = 0; i < ng; i++) {
      for (size_t j = 0; j < ng; j++) {
        const dpm_likelihood_point *q = res + i * ng + j;
        const double v[5] = {gx[(i * ng + j) * d], gx[(i * ng + j) * d + 1], q->logq_true, q->logp,
                             q->logp - q->logq_true};
        demo_dat_row(fp, 5, v);
        R->heat_max = fmax(R->heat_max, fabs(v[4]));
        R->heat_nfe += (double)q->nfe / (double)(ng * ng);
      }
      fputc('\n', fp);
    }
  }
  int cst = out ? demo_dat_close(out, st == DPM_SUCCESS) : DPM_SUCCESS;
  if (!st) st = cst;
  dpm_mixture_sample_free(sw);
  gsl_rng_free(r);
  free(x);
  free(gx);
  free(res);
  free(ref);
  dpm_likelihood_free(w);
  return st;
}

static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const results *R = arg;
  const char *spec[2] = {DATA_SPEC, PROC};
  demo_val_text(fp, "spec", 1, spec);
  demo_val_text(fp, "proc", 1, spec + 1);
  demo_val1(fp, "npts", (double)R->npts);
  demo_val1(fp, "ngrid", (double)R->ngrid);
  demo_val(fp, "rtol", NTOL, RTOL);
  demo_val(fp, "max45", NTOL, R->tol_max[0]);
  demo_val(fp, "max8", NTOL, R->tol_max[1]);
  demo_val(fp, "nfe45", NTOL, R->tol_nfe[0]);
  demo_val(fp, "nfe8", NTOL, R->tol_nfe[1]);
  demo_val(fp, "fix_slope", 3, R->fix_slope);
  double mm[NM];
  for (size_t k = 0; k < NM; k++)
    mm[k] = (double)MS[k];
  demo_val(fp, "M", NM, mm);
  demo_val(fp, "sd_rad", NM, R->sd[0]);
  demo_val(fp, "sd_gau", NM, R->sd[1]);
  demo_val(fp, "mean_rad", NM, R->mean_err[0]);
  demo_val(fp, "mean_gau", NM, R->mean_err[1]);
  demo_val(fp, "se_rad", NM, R->mean_se[0]);
  demo_val(fp, "se_gau", NM, R->mean_se[1]);
  demo_val(fp, "sd_slope", 2, R->sd_slope);
  demo_val1(fp, "heat_max", R->heat_max);
  demo_val1(fp, "heat_nfe", R->heat_nfe);
  return DPM_SUCCESS;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc = demo_init(&ctx, "likelihood_ode",
                     "Probability-flow likelihoods against the truth: error against tolerance and NFE, Hutchinson "
                     "against the number of probes, and log q beside the ODE's answer on a grid.",
                     argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  results R = {0};
  R.npts = ctx.quick ? 24 : 200;
  R.ngrid = ctx.quick ? 21 : 61;
  demo_progress(&ctx, "%s on %s: %zu points, a %zu x %zu grid", DATA_SPEC, PROC, R.npts, R.ngrid, R.ngrid);
  dpm_mixture *mix = dpm_data_from_spec(DATA_SPEC);
  if (!mix) return demo_fail(&ctx, "loading " DATA_SPEC);
  int st = compute(&ctx, mix, &R);
  static const char *const figures[1] = {"likelihood_ode"};
  rc = st ? demo_fail(&ctx, "computing the likelihoods") : demo_publish(&ctx, 1, figures, write_values, &R);
  dpm_mixture_free(mix);
  return rc;
}
