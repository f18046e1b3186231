/* marginals.c — the marginal densities q_t(x) = sum_k pi_k N(x; m_t mu_k, m_t^2 Sigma_k + s_t^2) of the VP, sub-VP
 * and VE SDEs (Song et al. 2021; docs/MATH.md §1, §2) for the 1-D mixture gmm1d, as heat maps over (t, x) with
 * forward paths simulated exactly through the Gaussian transition x_{t'} = (m_{t'}/m_t) x_t + sqrt(s_{t'}^2 -
 * (m_{t'}/m_t)^2 s_t^2) z (dpm_process_transition); the notebook checks that each q_t integrates to 1 and has the
 * closed-form mean and variance, by quadrature. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "demo.h"

#define DATA_SPEC "gmm1d"
#define NPROC     3
#define NT        320 /* heat-map columns: cell centres t = (j + 1/2)/NT in (0, 1) */
#define NX        241 /* heat-map rows */
#define NSTEP     400 /* path time steps on [0, 1] (the transition is exact for any step) */
#define NPATH     6
#define NCHECK    6 /* times of the quadrature table */

static const dpm_process_kind KINDS[NPROC] = {DPM_PROCESS_VP, DPM_PROCESS_SUBVP, DPM_PROCESS_VE};
static const char *const LABEL[NPROC] = {"vp", "subvp", "ve"};
/* half-width of the x window of each panel: VP and sub-VP end near N(0, 1); VE spreads to s_1 ~ sigma_max, so
 * its panel shows the start of the explosion */
static const double XHALF[NPROC] = {4.5, 4.5, 24.0};
static const double TCHECK[NCHECK] = {1e-3, 0.1, 0.3, 0.5, 0.7, 1.0};

/* Trapezoidal quadrature of q_t, x q_t and x^2 q_t over mean +- 14 sd_max with step sd_min/4: for a Gaussian
 * mixture the trapezoidal rule's error is ~ exp(-2 pi^2 (sd/h)^2), far below rounding, and the tails beyond 14 sd
 * hold less than 1e-40. out: mass, mean, variance. */
static int quadrature(dpm_oracle *o, const dpm_mixture *mix, double m, double s, double *x, double *lq, size_t cap,
                      double *out)
{
  double sd_min = HUGE_VAL, sd_max = 0.0, lo = HUGE_VAL, hi = -HUGE_VAL;
  for (size_t k = 0; k < mix->K; k++) {
    double sd = sqrt(m * m * mix->lambda[k] + s * s);
    sd_min = fmin(sd_min, sd);
    sd_max = fmax(sd_max, sd);
    lo = fmin(lo, m * mix->mu[k]);
    hi = fmax(hi, m * mix->mu[k]);
  }
  lo -= 14.0 * sd_max;
  hi += 14.0 * sd_max;
  double h = 0.25 * sd_min;
  size_t n = (size_t)ceil((hi - lo) / h) + 1;
  if (n > cap) DPM_ERROR(GSL_EINVAL, "quadrature: %zu nodes needed, room for %zu", n, cap);
  h = (hi - lo) / (double)(n - 1);
  for (size_t i = 0; i < n; i++)
    x[i] = lo + h * (double)i;
  dpm_oracle_result res = {0};
  res.logq = lq;
  int st = dpm_oracle_eval(o, m, s, n, x, &res);
  if (st) return st;
  double m0 = 0.0, m1 = 0.0, m2 = 0.0;
  for (size_t i = 0; i < n; i++) {
    double w = (i == 0 || i == n - 1 ? 0.5 : 1.0) * h * exp(lq[i]);
    m0 += w;
    m1 += w * x[i];
    m2 += w * x[i] * x[i];
  }
  out[0] = m0;
  out[1] = m1 / m0;
  out[2] = m2 / m0 - out[1] * out[1];
  return DPM_SUCCESS;
}

static int write_data(const demo_ctx *ctx, dpm_oracle *o, const double *x0, const double *z)
{
  dpm_out *out = demo_dat_open(ctx, ctx->data_path,
                               "marginal log-densities of VP, sub-VP and VE for gmm1d, with exact forward paths");
  if (!out) return GSL_EFAILED;
  FILE *fp = dpm_out_file(out);
  double *xs = malloc(NX * sizeof(double)), *lq = malloc(NT * NX * sizeof(double));
  double *row = malloc((NT + 1) * sizeof(double));
  int st = (xs && lq && row) ? DPM_SUCCESS : GSL_ENOMEM;
  for (size_t p = 0; p < NPROC && !st; p++) {
    dpm_process proc;
    dpm_process_init(&proc, KINDS[p]);
    for (size_t i = 0; i < NX; i++)
      xs[i] = XHALF[p] * (-1.0 + 2.0 * (double)i / (NX - 1));
    for (size_t j = 0; j < NT && !st; j++) {
      double t = ((double)j + 0.5) / NT, m, s;
      dpm_process_ms(&proc, t, &m, &s);
      dpm_oracle_result res = {0};
      res.logq = lq + j * NX;
      st = dpm_oracle_eval(o, m, s, NX, xs, &res);
    }
    if (st) break;
    char name[64];
    snprintf(name, sizeof name, "logq_%s", LABEL[p]);
    demo_dat_block(fp, name,
                   "gnuplot nonuniform matrix: first row NT then t_1..t_NT; then per row x_i and log q_t(x_i)");
    row[0] = NT;
    for (size_t j = 0; j < NT; j++)
      row[1 + j] = ((double)j + 0.5) / NT;
    demo_dat_row(fp, NT + 1, row);
    for (size_t i = 0; i < NX; i++) {
      row[0] = xs[i];
      for (size_t j = 0; j < NT; j++)
        row[1 + j] = lq[j * NX + i];
      demo_dat_row(fp, NT + 1, row);
    }

    /* paths: the same x_0 and the same normal draws z for every process */
    snprintf(name, sizeof name, "paths_%s", LABEL[p]);
    demo_dat_block(fp, name, "t m_t s_t x_t(path 1) ... x_t(path 6)");
    double x[NPATH];
    memcpy(x, x0, sizeof x);
    for (size_t n = 0; n <= NSTEP; n++) {
      double t = (double)n / NSTEP, m, s;
      if (n > 0) {
        double r, sd; /* the exact transition x_t = r x_{t'} + sd z (docs/MATH.md §1) */
        st = dpm_process_transition(&proc, (double)(n - 1) / NSTEP, t, &r, &sd);
        if (st) break;
        for (size_t k = 0; k < NPATH; k++)
          x[k] = r * x[k] + sd * z[(n - 1) * NPATH + k];
      }
      dpm_process_ms(&proc, t, &m, &s);
      row[0] = t;
      row[1] = m;
      row[2] = s;
      memcpy(row + 3, x, sizeof x);
      demo_dat_row(fp, 3 + NPATH, row);
    }
  }
  free(xs);
  free(lq);
  free(row);
  int cst = demo_dat_close(out, st == DPM_SUCCESS);
  return st ? st : cst;
}

/* The quadrature table of one process: NCHECK rows of t, m, s, mass, |mass - 1|, mean (quadrature), mean (closed
 * form), variance (quadrature), variance (closed form). */
static int check_process(dpm_oracle *o, const dpm_mixture *mix, size_t p, double *table, double *worst)
{
  dpm_process proc;
  dpm_process_init(&proc, KINDS[p]);
  double mean0, var0;
  dpm_mixture_moments(mix, &mean0, &var0, NULL);
  size_t cap = 200000;
  double *x = malloc(cap * sizeof(double)), *lq = malloc(cap * sizeof(double));
  int st = (x && lq) ? DPM_SUCCESS : GSL_ENOMEM;
  for (size_t i = 0; i < NCHECK && !st; i++) {
    double m, s, q[3] = {0.0, 0.0, 0.0};
    dpm_process_ms(&proc, TCHECK[i], &m, &s);
    st = quadrature(o, mix, m, s, x, lq, cap, q);
    if (st) break;
    double v[9] = {TCHECK[i], m, s, q[0], fabs(q[0] - 1.0), q[1], m * mean0, q[2], m * m * var0 + s * s};
    memcpy(table + 9 * i, v, sizeof v);
    worst[0] = fmax(worst[0], fabs(q[0] - 1.0));
    worst[1] = fmax(worst[1], fabs(q[1] - m * mean0));
    worst[2] = fmax(worst[2], fabs(q[2] - v[8]) / v[8]);
  }
  free(x);
  free(lq);
  return st;
}

/* What the notebook's values come from: the data set and its oracle (the quadrature checks run on it). */
typedef struct {
  dpm_oracle *o;
  const dpm_mixture *mix;
} notebook_input;

/* The values of the notebook (demos/marginals.md): the data set, the paths, and the quadrature check of each
 * process (rows check_<process>[i]: t, m, s, mass, |mass - 1|, mean, closed-form mean, variance, closed-form
 * variance) with the worst errors over all of them. */
static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const notebook_input *in = arg;
  const dpm_mixture *mix = in->mix;
  const char *spec[1] = {DATA_SPEC};
  demo_val_text(fp, "spec", 1, spec);
  double sd[2] = {sqrt(mix->lambda[0]), sqrt(mix->lambda[1])};
  demo_val(fp, "w", 2, mix->w);
  demo_val(fp, "mu", 2, mix->mu);
  demo_val(fp, "sd", 2, sd);
  demo_val1(fp, "npath", NPATH);
  demo_val1(fp, "nstep", NSTEP);
  double worst[3] = {0.0, 0.0, 0.0};
  int st = DPM_SUCCESS;
  for (size_t p = 0; p < NPROC && !st; p++) {
    double table[NCHECK * 9];
    st = check_process(in->o, mix, p, table, worst);
    for (size_t i = 0; i < NCHECK && !st; i++) {
      char key[64];
      snprintf(key, sizeof key, "check_%s[%zu]", LABEL[p], i);
      demo_val(fp, key, 9, table + 9 * i);
    }
  }
  demo_val1(fp, "worst_mass", worst[0]);
  demo_val1(fp, "worst_mean", worst[1]);
  demo_val1(fp, "worst_var", worst[2]);
  return st;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc =
      demo_init(&ctx, "marginals",
                "Marginal densities q_t of the VP, sub-VP and VE SDEs for a 1-D Gaussian mixture, as heat maps "
                "over (t, x) with exact forward paths.",
                argc, argv);
  if (rc) return rc < 0 ? 0 : rc;

  dpm_mixture *mix = dpm_data_from_spec(DATA_SPEC);
  if (!mix) return demo_fail(&ctx, "loading " DATA_SPEC);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  double *z = malloc(NSTEP * NPATH * sizeof(double));
  gsl_rng *r = dpm_rng_stream_alloc(ctx.seed, 0);
  if (!o || !z || !r) {
    dpm_oracle_free(o);
    dpm_mixture_free(mix);
    free(z);
    if (r) gsl_rng_free(r);
    fprintf(stderr, "marginals: out of memory\n");
    return 1;
  }
  /* the start points and the noise of the paths, shared by the three processes */
  double x0[NPATH];
  dpm_mixture_sample_workspace *msw = dpm_mixture_sample_alloc(mix);
  int st = msw ? dpm_mixture_sample(mix, msw, r, NPATH, x0, NULL) : GSL_ENOMEM;
  dpm_mixture_sample_free(msw);
  for (size_t i = 0; i < NSTEP * NPATH; i++)
    z[i] = gsl_ran_gaussian_ziggurat(r, 1.0);
  gsl_rng_free(r);

  if (!st) st = write_data(&ctx, o, x0, z);
  free(z);
  static const char *const figures[1] = {"marginals"};
  const notebook_input in = {o, mix};
  rc = st ? demo_fail(&ctx, "writing the data") : demo_publish(&ctx, 1, figures, write_values, &in);
  dpm_oracle_free(o);
  dpm_mixture_free(mix);
  return rc;
}
