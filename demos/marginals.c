/* marginals.c — the marginal densities q_t(x) = sum_k pi_k N(x; m_t mu_k, m_t^2 Sigma_k + s_t^2) of the VP, sub-VP
 * and VE SDEs (Song et al. 2021; docs/MATH.md §1, §2) for the 1-D mixture gmm1d, as heat maps over (t, x) with
 * forward paths simulated exactly through the Gaussian transition x_{t'} = (m_{t'}/m_t) x_t + sqrt(s_{t'}^2 -
 * (m_{t'}/m_t)^2 s_t^2) z (dpm_process_transition); the notebook checks that each q_t integrates to 1 and has the closed-form mean and
 * variance, by quadrature. */
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
static const char *const TITLE[NPROC] = {"VP", "sub-VP", "VE"};
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

/* What the notebook works from: the data set and its oracle (the quadrature checks run on it). */
typedef struct {
  dpm_oracle *o;
  const dpm_mixture *mix;
} notebook_input;

static int write_notebook(const demo_ctx *ctx, const void *arg)
{
  const notebook_input *in = arg;
  dpm_oracle *o = in->o;
  const dpm_mixture *mix = in->mix;
  dpm_notebook *nb = demo_notebook_begin(
      ctx, "Marginal densities of the VP, sub-VP and VE SDEs",
      "Every forward process of score-based diffusion (Song et al., *Score-Based Generative Modeling through "
      "Stochastic Differential Equations*, ICLR 2021) has Gaussian transitions $x_t = m_t x_0 + s_t\\epsilon$, so "
      "for Gaussian-mixture data the marginal $q_t$ is again a Gaussian mixture, known in closed form. This demo "
      "draws $\\log q_t(x)$ over $(t, x)$ for the VP, sub-VP and VE SDEs with a bimodal 1-D mixture, overlays "
      "forward paths simulated exactly, and checks the closed form by quadrature.");
  if (!nb) return GSL_ENOMEM;
  int st = dpm_notebook_markdown(
      nb,
      "## The marginal in closed form\n\n"
      "For $q_0 = \\sum_k \\pi_k N(\\mu_k, \\Sigma_k)$ and $q(x_t\\mid x_0) = N(m_t x_0, s_t^2 I)$,\n\n"
      "$$q_t(x) = \\sum_k \\pi_k\\, N\\big(x;\\ m_t\\mu_k,\\ m_t^2\\Sigma_k + s_t^2 I\\big),$$\n\n"
      "evaluated by log-sum-exp over components ([docs/MATH.md](../docs/MATH.md) §2). The data here is `%s`: "
      "$q_0 = %.3g\\,N(%.3g, %.3g^2) + %.3g\\,N(%.3g, %.3g^2)$. The three processes and their $(m_t, s_t)$ "
      "([docs/MATH.md](../docs/MATH.md) §1, score_sde defaults):\n\n"
      "| process | SDE | $m_t$ | $s_t$ | parameters |\n"
      "| --- | --- | --- | --- | --- |\n"
      "| VP | $dx = -\\tfrac12\\beta(t)x\\,dt + \\sqrt{\\beta(t)}\\,dB$ | "
      "$\\exp\\!\\big(-\\tfrac14 t^2(\\beta_{\\max}-\\beta_{\\min}) - \\tfrac12 t\\beta_{\\min}\\big)$ | "
      "$\\sqrt{1-m_t^2}$ | $\\beta(t) = \\beta_{\\min} + t(\\beta_{\\max}-\\beta_{\\min})$, $\\beta_{\\min} = "
      "0.1$, "
      "$\\beta_{\\max} = 20$ |\n"
      "| sub-VP | $dx = -\\tfrac12\\beta(t)x\\,dt + \\sqrt{\\beta(t)(1-e^{-2\\int_0^t\\beta})}\\,dB$ | as VP | "
      "$1-m_t^2$ | as VP |\n"
      "| VE | $dx = \\sigma(t)\\sqrt{2\\log(\\sigma_{\\max}/\\sigma_{\\min})}\\,dB$ | $1$ | "
      "$\\sqrt{\\sigma(t)^2-\\sigma(0)^2}$ | $\\sigma(t) = \\sigma_{\\min}(\\sigma_{\\max}/\\sigma_{\\min})^t$, "
      "$\\sigma_{\\min} = 0.01$, $\\sigma_{\\max} = 50$ |\n\n"
      "VE uses the exact $s_t^2 = \\sigma(t)^2 - \\sigma(0)^2$ (so $q_0$ is the data itself); score_sde's "
      "$s_t = \\sigma(t)$ differs by $\\sigma_{\\min}^2 = 10^{-4}$ in variance.",
      DATA_SPEC, mix->w[0], mix->mu[0], sqrt(mix->lambda[0]), mix->w[1], mix->mu[1], sqrt(mix->lambda[1]));
  if (!st)
    st = dpm_notebook_markdown(
        nb,
        "## The picture\n\n"
        "Colour is $\\log q_t(x)$ (clipped below at −7), time runs left to right, $x$ is vertical. The white "
        "curves are %d forward paths, simulated exactly on a grid of %d steps with the Gaussian transition "
        "$x_{t'} = (m_{t'}/m_t)\\,x_t + \\sqrt{s_{t'}^2 - (m_{t'}/m_t)^2 s_t^2}\\;z$, $z \\sim N(0,1)$ "
        "(the same $x_0$ and the same draws $z$ in all three panels, seed %llu). VP contracts to $N(0,1)$; sub-VP "
        "reaches the same end with less variance on the way ($s_t = 1 - m_t^2 \\le \\sqrt{1-m_t^2}$); VE never "
        "shrinks the data and its variance explodes to $\\sigma_{\\max}^2$ late in time (note the wider $x$ range "
        "of its panel: $s_1 \\approx 50$, so paths leave the window).",
        NPATH, NSTEP, (unsigned long long)ctx->seed);
  if (!st)
    st = demo_notebook_figure(ctx, nb, "marginals",
                             "$\\log q_t(x)$ of VP, sub-VP and VE for gmm1d, with exact forward paths.");
  if (!st)
    st = dpm_notebook_markdown(
        nb,
        "## Check: each $q_t$ is a probability density with the closed-form moments\n\n"
        "Trapezoidal quadrature of $\\exp\\log q_t$ from the oracle over mean ± 14 sd with step sd$_{\\min}/4$ "
        "(for a Gaussian the trapezoidal error is of order $e^{-2\\pi^2 (\\mathrm{sd}/h)^2} = e^{-316}$, so only "
        "rounding remains, ~$10^{-15}$). The mass must be 1, the mean $m_t\\,\\mathbb E[x_0]$ and the variance "
        "$m_t^2\\,\\mathrm{Var}[x_0] + s_t^2$; an error in the normalising constant, in $C_k$ or in the "
        "log-sum-exp would show here at the size of the error itself.");
  static const char *const cols[9] = {"$t$",
                                      "$m_t$",
                                      "$s_t$",
                                      "mass",
                                      "abs(mass − 1)",
                                      "mean (quad.)",
                                      "$m_t\\mathbb E x_0$",
                                      "var (quad.)",
                                      "$m_t^2\\mathrm{Var}\\,x_0 + s_t^2$"};
  double worst[3] = {0.0, 0.0, 0.0};
  for (size_t p = 0; p < NPROC && !st; p++) {
    double table[NCHECK * 9];
    st = check_process(o, mix, p, table, worst);
    if (!st) st = dpm_notebook_markdown(nb, "### %s", TITLE[p]);
    if (!st) st = dpm_notebook_table(nb, 9, cols, NCHECK, table, 8);
  }
  if (!st)
    st = dpm_notebook_markdown(nb,
                               "Over all three processes and times: largest |mass − 1| = **%.2e**, largest mean "
                               "error %.2e, largest relative variance error %.2e.",
                               worst[0], worst[1], worst[2]);
  return demo_notebook_finish(ctx, nb, st);
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
  rc = st ? demo_fail(&ctx, "writing the data") : demo_publish(&ctx, 1, figures, write_notebook, &in);
  dpm_oracle_free(o);
  dpm_mixture_free(mix);
  return rc;
}
