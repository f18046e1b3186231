/* sampler_orders.c — measured orders of accuracy of the deterministic samplers of the table: the global error
 * mean |x_K - x(t_min)| of each against a high-accuracy solve of the probability-flow ODE dx/dt = a(t) x +
 * g(t)^2 eps(x, t) / (2 s_t) (Song et al., ICLR 2021, eq. (13); docs/MATH.md §4) from the same starts, on log-log
 * axes against the NFE with the slopes -p of the nominal orders p drawn (DPM-Solver: Lu et al., NeurIPS 2022,
 * Theorem 3.2), on the VP SDE with the grid uniform in lambda; and the exact W1 to q_0 of every sampler of the
 * table against the NFE (docs/samplers.md). Every entry present when the demo runs takes part: the table is walked
 * by its flags, so new entries appear without changes here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>
#include <gsl/gsl_randist.h>

#include "demo.h"

#define DATA_SPEC "gmm1d"
#define GRID      "lambda"
#define MAXS      64 /* samplers */
#define MAXK      8
#define NBATCH    5

/* the ODE samplers the issue of this demo names, to list those not (yet) in the table */
static const char *const EXPECTED[] = {"ode-euler",    "heun",         "rk4",          "rk45",     "edm-heun",
                                       "dpm-solver-1", "dpm-solver-2", "dpm-solver-3", "dpmpp-2m", "dpmpp-3m",
                                       "unipc",        "deis",         "lms",          "ipndm",    NULL};

typedef struct {
  size_t n, nK, nM, nq;
  size_t K[MAXK];   /* step counts of the order study */
  size_t nfe[MAXK]; /* NFE budgets of the metric table */
} sizes;

typedef struct {
  sizes z;
  size_t ns; /* ODE samplers measured */
  const dpm_sampler_type *T[MAXS];
  double err[MAXS][MAXK]; /* mean |x_K - x_ref| */
  unsigned long nfe[MAXS][MAXK];
  double slope[MAXS]; /* least-squares slope of log err on log NFE over the last three points */
  double ref_check;   /* mean |x_ref(1e-12) - x_ref(1e-10)| */
  size_t nall;        /* every sampler, for the metric table */
  const dpm_sampler_type *A[MAXS];
  double w1[MAXS][MAXK], w1_se[MAXS][MAXK];
  unsigned long mnfe[MAXS][MAXK];
  double w1_floor, w1_floor_se;
  char missing[512], skipped[512], refused[2048];
} results;

/* ---- the reference: the probability-flow ODE by GSL's rk8pd at a tight tolerance ---------------------------- */

typedef struct {
  const dpm_process *p;
  dpm_oracle *o;
} pf_ode;

static int pf_rhs(double t, const double *x, double *f, void *arg)
{
  const pf_ode *P = arg;
  double m, s, eps;
  if (dpm_process_ms(P->p, t, &m, &s)) return GSL_EBADFUNC;
  dpm_oracle_result res = {0};
  res.eps = &eps;
  if (dpm_oracle_eval(P->o, m, s, 1, x, &res)) return GSL_EBADFUNC;
  const double g = dpm_process_g(P->p, t);
  f[0] = dpm_process_a(P->p, t) * x[0] + 0.5 * g * g * eps / s;
  return GSL_SUCCESS;
}

/* x (n points in 1-D) from t_max to t_min along the probability-flow ODE, relative and absolute tolerance tol. */
static int reference(const dpm_process *p, dpm_oracle *o, double tol, size_t n, double *x)
{
  pf_ode P = {p, o};
  gsl_odeiv2_system sys = {pf_rhs, NULL, 1, &P};
  gsl_odeiv2_driver *drv = gsl_odeiv2_driver_alloc_y_new(&sys, gsl_odeiv2_step_rk8pd, -1e-3, tol, tol);
  if (!drv) DPM_ERROR(GSL_ENOMEM, "reference solve: no memory");
  int st = DPM_SUCCESS;
  for (size_t j = 0; j < n && !st; j++) {
    double t = p->t_max;
    gsl_odeiv2_driver_reset(drv);
    if (gsl_odeiv2_driver_apply(drv, &t, p->t_min, &x[j]) != GSL_SUCCESS)
      DPM_RAISE(st = GSL_EFAILED, "reference solve: the ODE solver failed at point %zu", j);
  }
  gsl_odeiv2_driver_free(drv);
  return st;
}

/* ---- runs of the table's samplers ------------------------------------------------------------------------- */

/* One run of T with K steps on the grid from the starts x (n points; overwritten with the ends). */
static int run(const dpm_sampler_type *T, dpm_denoiser *dn, const dpm_process *p, const dpm_mixture *mix, size_t K,
               uint64_t seed, size_t n, double *x, unsigned long *nfe)
{
  dpm_sampler *smp = dpm_sampler_alloc(T, n, 1, K);
  dpm_timeline *tl = dpm_timeline_alloc(K);
  int st = smp && tl ? DPM_SUCCESS : GSL_ENOMEM;
  dpm_sampler_problem pb = {.dn = dn, .tl = tl, .mix = mix};
  dpm_sampler_params_default(&pb.par);
  if (!st) st = dpm_timeline_set_grid(tl, p, GRID, K, 0.0);
  if (!st) st = dpm_sampler_run(smp, &pb, seed, n, x, 1, nfe);
  if (st) dpm_error_context("sampler %s, %zu steps", T->name, K);
  dpm_sampler_free(smp);
  dpm_timeline_free(tl);
  return st;
}

static void append(char *buf, size_t size, const char *name)
{
  size_t len = strlen(buf);
  snprintf(buf + len, size - len, "%s%s", len ? ", " : "", name);
}

/* Exact W1 of NBATCH batches of nb points: the mean and its standard error over the batches. */
static int w1_batches(const dpm_mixture *mix, size_t nb, const double *x, double *mean, double *se)
{
  double s1 = 0.0, s2 = 0.0;
  for (size_t b = 0; b < NBATCH; b++) {
    double w;
    int st = dpm_metrics_w1_exact(mix, nb, x + b * nb, &w);
    if (st) return st;
    s1 += w;
    s2 += w * w;
  }
  *mean = s1 / NBATCH;
  *se = sqrt(fmax(s2 / NBATCH - *mean * *mean, 0.0) / (NBATCH - 1));
  return DPM_SUCCESS;
}

static double fit_slope(size_t k0, size_t k1, const unsigned long *nfe, const double *err)
{
  double sx = 0, sy = 0, sxx = 0, sxy = 0, c = 0;
  for (size_t k = k0; k < k1; k++) {
    if (!(err[k] > 0.0)) continue;
    double u = log((double)nfe[k]), v = log(err[k]);
    sx += u;
    sy += v;
    sxx += u * u;
    sxy += u * v;
    c += 1;
  }
  if (c < 2) return NAN;
  return (c * sxy - sx * sy) / (c * sxx - sx * sx);
}

static int compute(const demo_ctx *ctx, const dpm_mixture *mix, results *R)
{
  const sizes z = R->z;
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VP);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  const size_t nall = z.nq * NBATCH;
  double *x0 = malloc(z.n * sizeof(double)), *xref = malloc(z.n * sizeof(double)),
         *x = malloc(nall * sizeof(double));
  double *prior = malloc(nall * sizeof(double));
  dpm_mixture_sample_workspace *msw = dpm_mixture_sample_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(ctx->seed, 0);
  int st = (o && dn && x0 && xref && x && prior && msw && r) ? DPM_SUCCESS : GSL_ENOMEM;
  double m_T, s_T;
  dpm_process_ms(&p, p.t_max, &m_T, &s_T);
  for (size_t j = 0; j < z.n && !st; j++)
    x0[j] = s_T * gsl_ran_gaussian_ziggurat(r, 1.0);
  for (size_t j = 0; j < nall && !st; j++)
    prior[j] = s_T * gsl_ran_gaussian_ziggurat(r, 1.0);

  /* the reference, and how far a 100 times looser one is from it */
  if (!st) {
    memcpy(xref, x0, z.n * sizeof(double));
    st = reference(&p, o, 1e-12, z.n, xref);
  }
  if (!st) {
    memcpy(x, x0, z.n * sizeof(double));
    st = reference(&p, o, 1e-10, z.n, x);
    double e = 0.0;
    for (size_t j = 0; j < z.n; j++)
      e += fabs(x[j] - xref[j]);
    R->ref_check = e / (double)z.n;
  }

  /* the samplers: deterministic with a fixed NFE per step take the order study; every one the metric table */
  for (size_t i = 0; dpm_sampler_types[i] && !st; i++) {
    const dpm_sampler_type *T = dpm_sampler_types[i];
    if (T->nfe_per_step == 0) {
      append(R->skipped, sizeof R->skipped, T->name);
      continue;
    }
    /* an entry that refuses this problem (another process, a requirement the exact denoiser does not meet) is
     * left out with a note, its reason kept for the notebook */
    double probe = x0[0];
    if (run(T, dn, &p, mix, 2, ctx->seed, 1, &probe, NULL)) {
      char note[256];
      snprintf(note, sizeof note, "%s (%s)", T->name, dpm_error_last());
      append(R->refused, sizeof R->refused, note);
      dpm_error_clear();
      continue;
    }
    if (R->nall < MAXS) R->A[R->nall++] = T;
    if (!(T->flags & DPM_SAMPLER_STOCHASTIC) && R->ns < MAXS) R->T[R->ns++] = T;
  }
  for (size_t i = 0; EXPECTED[i]; i++)
    if (!dpm_sampler_type_find(EXPECTED[i])) append(R->missing, sizeof R->missing, EXPECTED[i]);

  for (size_t q = 0; q < R->ns && !st; q++) {
    demo_progress(ctx, "order study: %s", R->T[q]->name);
    for (size_t k = 0; k < z.nK && !st; k++) {
      memcpy(x, x0, z.n * sizeof(double));
      st = run(R->T[q], dn, &p, mix, z.K[k], ctx->seed, z.n, x, &R->nfe[q][k]);
      double e = 0.0;
      for (size_t j = 0; j < z.n; j++)
        e += fabs(x[j] - xref[j]);
      R->err[q][k] = e / (double)z.n;
    }
    /* the last three step counts whose error stands clear (100x) of the reference's own */
    size_t k1 = z.nK;
    while (k1 > 3 && !(R->err[q][k1 - 1] > 100.0 * R->ref_check))
      k1--;
    R->slope[q] = -fit_slope(k1 - 3, k1, R->nfe[q], R->err[q]);
  }

  for (size_t q = 0; q < R->nall && !st; q++) {
    demo_progress(ctx, "metric table: %s", R->A[q]->name);
    for (size_t k = 0; k < z.nM && !st; k++) {
      size_t K = z.nfe[k] / R->A[q]->nfe_per_step;
      if (K < 1) K = 1;
      memcpy(x, prior, nall * sizeof(double));
      st = run(R->A[q], dn, &p, mix, K, demo_seed(ctx, 1 + q * MAXK + k), nall, x, &R->mnfe[q][k]);
      if (!st) st = w1_batches(mix, z.nq, x, &R->w1[q][k], &R->w1_se[q][k]);
    }
  }
  if (!st) st = dpm_mixture_sample(mix, msw, r, nall, x, NULL);
  if (!st) st = w1_batches(mix, z.nq, x, &R->w1_floor, &R->w1_floor_se);

  dpm_oracle_free(o);
  dpm_denoiser_free(dn);
  dpm_mixture_sample_free(msw);
  if (r) gsl_rng_free(r);
  free(x0);
  free(xref);
  free(x);
  free(prior);
  return st;
}

static int write_data(const demo_ctx *ctx, const results *R)
{
  dpm_out *out = demo_dat_open(ctx, ctx->data_path,
                               "global error against NFE of the deterministic samplers (VP, "
                               "lambda grid, gmm1d) and W1 against NFE of every sampler");
  if (!out) return GSL_EFAILED;
  FILE *fp = dpm_out_file(out);
  char block[32];
  for (size_t q = 0; q < R->ns; q++) {
    snprintf(block, sizeof block, "err%02zu", q + 1);
    demo_dat_block(fp, block, "K nfe err order");
    for (size_t k = 0; k < R->z.nK; k++) {
      double row[4] = {(double)R->z.K[k], (double)R->nfe[q][k], R->err[q][k], (double)R->T[q]->order};
      demo_dat_row(fp, 4, row);
    }
  }
  /* reference slopes: for each nominal order p present, C NFE^-p through the median error at the first NFE of
   * the samplers of order p, raised by a factor 3 so the line runs above them */
  demo_dat_block(fp, "slopes", "nfe ref_order1 ref_order2 ref_order3 ref_order4");
  double c[4] = {NAN, NAN, NAN, NAN};
  for (unsigned pord = 1; pord <= 4; pord++) {
    double lo = INFINITY;
    for (size_t q = 0; q < R->ns; q++)
      if (R->T[q]->order == pord && R->err[q][0] > 0)
        lo = fmin(lo, R->err[q][0] * pow((double)R->nfe[q][0], pord));
    if (isfinite(lo)) c[pord - 1] = 3.0 * lo;
  }
  double nlo = INFINITY, nhi = 0;
  for (size_t q = 0; q < R->ns; q++) {
    nlo = fmin(nlo, (double)R->nfe[q][0]);
    nhi = fmax(nhi, (double)R->nfe[q][R->z.nK - 1]);
  }
  for (size_t k = 0; k <= 20 && R->ns; k++) {
    double nf = nlo * pow(nhi / nlo, (double)k / 20.0), row[5] = {nf, NAN, NAN, NAN, NAN};
    for (unsigned pord = 1; pord <= 4; pord++)
      row[pord] = c[pord - 1] * pow(nf, -(double)pord);
    demo_dat_row(fp, 5, row);
  }
  demo_dat_block(fp, "metrics", "sampler_index nfe w1 w1_se");
  for (size_t q = 0; q < R->nall; q++)
    for (size_t k = 0; k < R->z.nM; k++) {
      double row[4] = {(double)q + 1, (double)R->mnfe[q][k], R->w1[q][k], R->w1_se[q][k]};
      demo_dat_row(fp, 4, row);
    }
  /* the names of the order study, read by the figure script as this block's column names */
  char names[2048] = "";
  for (size_t q = 0; q < R->ns; q++) {
    size_t len = strlen(names);
    snprintf(names + len, sizeof names - len, "%s%s", q ? " " : "", R->T[q]->name);
  }
  demo_dat_block(fp, "samplers", names);
  return demo_dat_close(out, 1);
}

static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const results *R = arg;
  const char *spec[1] = {DATA_SPEC}, *grid[1] = {GRID};
  demo_val_text(fp, "spec", 1, spec);
  demo_val_text(fp, "grid", 1, grid);
  demo_val1(fp, "n", (double)R->z.n);
  demo_val_sizes(fp, "K", R->z.nK, R->z.K);
  demo_val1(fp, "ref_check", R->ref_check);
  const char *missing[1] = {R->missing[0] ? R->missing : "none"},
             *skipped[1] = {R->skipped[0] ? R->skipped : "none"};
  demo_val_text(fp, "missing", 1, missing);
  demo_val_text(fp, "skipped", 1, skipped);
  const char *refused[1] = {R->refused[0] ? R->refused : "none"};
  demo_val_text(fp, "refused", 1, refused);
  const char *name[MAXS];
  for (size_t q = 0; q < R->ns; q++)
    name[q] = R->T[q]->name;
  demo_val_text(fp, "ode_name", R->ns, name);
  for (size_t q = 0; q < R->ns; q++) {
    char key[64];
    double row[2 + MAXK];
    row[0] = (double)R->T[q]->order;
    row[1] = R->slope[q];
    for (size_t k = 0; k < R->z.nK; k++)
      row[2 + k] = R->err[q][k];
    snprintf(key, sizeof key, "ode_row[%zu]", q);
    demo_val(fp, key, 2 + R->z.nK, row);
  }
  demo_val_sizes(fp, "nfe_budget", R->z.nM, R->z.nfe);
  demo_val1(fp, "nq", (double)R->z.nq);
  demo_val1(fp, "nbatch", NBATCH);
  for (size_t q = 0; q < R->nall; q++)
    name[q] = R->A[q]->name;
  demo_val_text(fp, "all_name", R->nall, name);
  for (size_t q = 0; q < R->nall; q++) {
    char key[64];
    double row[2 * MAXK];
    for (size_t k = 0; k < R->z.nM; k++) {
      row[2 * k] = (double)R->mnfe[q][k];
      row[2 * k + 1] = R->w1[q][k];
    }
    snprintf(key, sizeof key, "all_row[%zu]", q);
    demo_val(fp, key, 2 * R->z.nM, row);
    for (size_t k = 0; k < R->z.nM; k++)
      row[k] = R->w1_se[q][k];
    snprintf(key, sizeof key, "all_se[%zu]", q);
    demo_val(fp, key, R->z.nM, row);
  }
  /* the header and rule rows of the notebook's tables (one entry per column) */
  static const char *const rule[2 * MAXK + 2] = {
      "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:",
      "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"};
  char heads[2 * MAXK + 2][32];
  const char *head[2 * MAXK + 2];
  for (size_t k = 0; k < 2 * MAXK + 2; k++)
    head[k] = heads[k];
  snprintf(heads[0], sizeof heads[0], "nominal order");
  snprintf(heads[1], sizeof heads[1], "measured order");
  for (size_t k = 0; k < R->z.nK; k++)
    snprintf(heads[2 + k], sizeof heads[2 + k], "K = %zu", R->z.K[k]);
  demo_val_text(fp, "ode_head", 2 + R->z.nK, head);
  demo_val_text(fp, "ode_rule", 2 + R->z.nK, rule);
  for (size_t k = 0; k < R->z.nM; k++) {
    snprintf(heads[2 * k], sizeof heads[2 * k], "NFE");
    snprintf(heads[2 * k + 1], sizeof heads[2 * k + 1], "$W_1$ (budget %zu)", R->z.nfe[k]);
  }
  demo_val_text(fp, "all_head", 2 * R->z.nM, head);
  demo_val_text(fp, "all_rule", 2 * R->z.nM, rule);
  for (size_t k = 0; k < R->z.nM; k++)
    snprintf(heads[k], sizeof heads[k], "s.e. (budget %zu)", R->z.nfe[k]);
  demo_val_text(fp, "se_head", R->z.nM, head);
  demo_val_text(fp, "se_rule", R->z.nM, rule);
  demo_val1(fp, "w1_floor", R->w1_floor);
  demo_val1(fp, "w1_floor_se", R->w1_floor_se);
  return DPM_SUCCESS;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc = demo_init(&ctx, "sampler_orders",
                     "Measured orders of accuracy of the deterministic samplers (error against NFE, log-log) and "
                     "the exact W1 to q_0 against NFE of every sampler of the table.",
                     argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  static results R; /* large: static */
  if (ctx.quick)
    R.z = (sizes){16, 4, 2, 400, {4, 8, 16, 32}, {10, 20}};
  else
    R.z = (sizes){64, 7, 4, 4000, {4, 8, 16, 32, 64, 128, 256}, {10, 20, 50, 100}};
  dpm_mixture *mix = dpm_data_from_spec(DATA_SPEC);
  if (!mix) return demo_fail(&ctx, "loading " DATA_SPEC);
  int st = compute(&ctx, mix, &R);
  if (!st) st = write_data(&ctx, &R);
  static const char *const figures[1] = {"sampler_orders"};
  rc = st ? demo_fail(&ctx, "computing the errors") : demo_publish(&ctx, 1, figures, write_values, &R);
  dpm_mixture_free(mix);
  return rc;
}
