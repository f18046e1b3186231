/* optim_tables.c — the two tables of Permenter & Yuan's talk (Interpreting and improving diffusion models from an
 * optimization perspective, arXiv 2306.04848, Tables 1 and 2), toy edition with the exact denoiser of a 2-D
 * mixture: the schedule table (DDIM's uniform discrete steps, DDIM offset — the same spacing started at sigma =
 * 40 —, uniform in sigma, EDM's rho = 7, log-linear sigma, at N = 10 for ddim and ge), the sampler table (ge,
 * ddim, ipndm, dpm-solver-2, deis, unipc, analytic-ddim at N = 5, 10, 20, 50) and the sweep of ge's extrapolation
 * weight gamma (Algorithm 2) at N = 10; each cell the energy distance and the mean exact log-density against exact
 * draws of q_0, with standard errors (docs/MATH.md §2.10, docs/samplers.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "demo.h"

#define DATA_SPEC    "ring8"
#define TAB_GRID     "loglinear"
#define NSCHED       5
#define MAXSMP       8
#define MAXN         4
#define NGAMMA       5
#define DDPM_N       1000 /* the discrete DDPM the DDIM schedule and the sigma range come from (linear beta) */
#define OFFSET_SIGMA 40.0 /* DDIM offset: the sigma its uniform discrete steps start from (Permenter & Yuan) */

static const char *const SCHED[NSCHED] = {"ddim", "ddim-offset", "uniform", "edm", "loglinear"};
static const char *const SCHED_SMP[2] = {"ddim", "ge"};
static const char *const TABLE_SMP[] = {"ge",   "ddim",  "ipndm",         "dpm-solver-2",
                                        "deis", "unipc", "analytic-ddim", NULL};
static const double GAMMAS[NGAMMA] = {1.0, 1.5, 2.0, 2.5, 3.0};

typedef struct {
  double e, e_se, lq, lq_se;
  unsigned long nfe;
} cell;

typedef struct {
  size_t n, nN;
  size_t N[MAXN];
} sizes;

typedef struct {
  sizes z;
  double sigma_min, sigma_max, offset_sigma;
  size_t offset_step;
  cell sched[2][NSCHED];
  size_t ns;
  const char *smp[MAXSMP];
  cell tab[MAXSMP][MAXN];
  cell gam[NGAMMA];
  cell exact; /* a second exact sample against the first: the floor */
  char refused[1024];
} results;

/* The discrete DDPM with linear beta from 1e-4 to 0.02 and DDPM_N steps: sigma_n = sqrt(bbar_n / abar_n). */
static dpm_schedule *ddpm_schedule(void) { return dpm_schedule_linear_alloc(DDPM_N, 1e-4, 0.02); }

static double ddpm_sigma(const dpm_schedule *sch, size_t n) { return sqrt(sch->beta_bar[n] / sch->alpha_bar[n]); }

/* The timeline of a named schedule with K steps on the EDM process p (t = sigma): "ddim" is DDIM's uniform
 * discrete steps n_i = 1 + floor((DDPM_N - 1)(K - i)/K) of the DDPM mapped to its sigma, "ddim-offset" the same
 * spacing from the first step whose sigma reaches OFFSET_SIGMA (dpm_timeline_set_ddim); the others are
 * dpm_timeline_set_grid's. */
static int set_schedule(dpm_timeline *tl, const dpm_process *p, const dpm_schedule *sch, const char *name,
                        size_t K)
{
  if (strcmp(name, "ddim") == 0) return dpm_timeline_set_ddim(tl, p, sch, K, INFINITY);
  if (strcmp(name, "ddim-offset") == 0) return dpm_timeline_set_ddim(tl, p, sch, K, OFFSET_SIGMA);
  return dpm_timeline_set_grid(tl, p, name, K, 0.0);
}

typedef struct {
  const dpm_process *p;
  const dpm_schedule *sch;
  const dpm_mixture *mix;
  dpm_denoiser *dn;
  size_t n;
  const double *ref; /* exact draws of q_0 (n x 2) */
  double *x;
  uint64_t seed;
} problem;

/* One run of sampler `name` on schedule `grid` with K steps (gamma for ge) from the prior draws of stream (seed,
 * j), and its metrics against the exact draws. */
static int run_cell(const problem *P, const char *name, const char *grid, size_t K, double gamma, cell *c)
{
  const dpm_sampler_type *T = dpm_sampler_type_find(name);
  if (!T) DPM_ERROR(GSL_EINVAL, "no sampler %s in the table", name);
  dpm_sampler *smp = dpm_sampler_alloc(T, P->n, 2, K);
  dpm_timeline *tl = dpm_timeline_alloc(K);
  int st = smp && tl ? DPM_SUCCESS : GSL_ENOMEM;
  dpm_sampler_problem pb = {.dn = P->dn, .tl = tl, .mix = P->mix};
  dpm_sampler_params_default(&pb.par);
  pb.par.ge_gamma = gamma;
  if (!st) st = set_schedule(tl, P->p, P->sch, grid, K);
  if (!st) st = dpm_sampler_run(smp, &pb, P->seed, P->n, P->x, 0, &c->nfe);
  if (!st) st = dpm_metrics_energy_u(2, P->n, P->x, P->ref, &c->e, &c->e_se);
  if (!st) st = dpm_metrics_logq_mean(P->mix, P->n, P->x, &c->lq, &c->lq_se);
  if (st) dpm_error_context("sampler %s, grid %s, %zu steps", name, grid, K);
  dpm_sampler_free(smp);
  dpm_timeline_free(tl);
  return st;
}

static int compute(const demo_ctx *ctx, const dpm_mixture *mix, results *R)
{
  const sizes z = R->z;
  dpm_schedule *sch = ddpm_schedule();
  if (!sch) return GSL_ENOMEM;
  R->sigma_min = ddpm_sigma(sch, 1);
  R->sigma_max = ddpm_sigma(sch, DDPM_N);
  for (size_t n = 1; n <= DDPM_N; n++) /* where DDIM offset starts: the first step whose sigma reaches 40 */
    if (ddpm_sigma(sch, n) >= OFFSET_SIGMA) {
      R->offset_step = n;
      R->offset_sigma = ddpm_sigma(sch, n);
      break;
    }
  char spec[128];
  snprintf(spec, sizeof spec, "edm:sigma_min=%.17g,sigma_max=%.17g", R->sigma_min, R->sigma_max);
  dpm_process p;
  int st = dpm_process_parse(&p, spec);
  if (st) {
    dpm_schedule_free(sch);
    return st;
  }
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  double *ref = malloc(2 * z.n * sizeof(double)), *x = malloc(2 * z.n * sizeof(double));
  dpm_mixture_sample_workspace *msw = dpm_mixture_sample_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(ctx->seed, 0);
  st = (dn && ref && x && msw && r) ? DPM_SUCCESS : GSL_ENOMEM;
  if (!st) st = dpm_mixture_sample(mix, msw, r, z.n, ref, NULL);
  if (!st) st = dpm_mixture_sample(mix, msw, r, z.n, x, NULL);
  if (!st) st = dpm_metrics_energy_u(2, z.n, x, ref, &R->exact.e, &R->exact.e_se);
  if (!st) st = dpm_metrics_logq_mean(mix, z.n, x, &R->exact.lq, &R->exact.lq_se);
  /* every run starts from the same prior draws (stream (seed + 1, j)): the cells are paired */
  problem P = {&p, sch, mix, dn, z.n, ref, x, ctx->seed + 1};

  for (size_t a = 0; a < 2 && !st; a++)
    for (size_t g = 0; g < NSCHED && !st; g++) {
      demo_progress(ctx, "schedule table: %s on %s", SCHED_SMP[a], SCHED[g]);
      st = run_cell(&P, SCHED_SMP[a], SCHED[g], 10, 2.0, &R->sched[a][g]);
    }
  for (size_t q = 0; TABLE_SMP[q] && !st; q++) {
    /* an entry missing from this build or refusing the problem is left out with a note */
    if (!dpm_sampler_type_find(TABLE_SMP[q])) {
      size_t len = strlen(R->refused);
      snprintf(R->refused + len, sizeof R->refused - len, "%s%s (not in the table)", len ? ", " : "",
               TABLE_SMP[q]);
      continue;
    }
    demo_progress(ctx, "sampler table: %s", TABLE_SMP[q]);
    for (size_t k = 0; k < z.nN && !st; k++)
      st = run_cell(&P, TABLE_SMP[q], TAB_GRID, z.N[k], 2.0, &R->tab[R->ns][k]);
    if (!st) R->smp[R->ns++] = TABLE_SMP[q];
  }
  for (size_t g = 0; g < NGAMMA && !st; g++) {
    demo_progress(ctx, "gamma sweep: %g", GAMMAS[g]);
    st = run_cell(&P, "ge", TAB_GRID, 10, GAMMAS[g], &R->gam[g]);
  }
  dpm_denoiser_free(dn);
  dpm_mixture_sample_free(msw);
  if (r) gsl_rng_free(r);
  dpm_process_clear(&p);
  dpm_schedule_free(sch);
  free(ref);
  free(x);
  return st;
}

static int write_data(const demo_ctx *ctx, const results *R)
{
  dpm_out *out =
      demo_dat_open(ctx, ctx->data_path,
                    "energy distance to exact draws of q_0 (ring8, EDM process, exact denoiser) against "
                    "the steps N per sampler (log-linear sigma), and ge's against gamma at N = 10");
  if (!out) return GSL_EFAILED;
  FILE *fp = dpm_out_file(out);
  char block[32];
  for (size_t q = 0; q < R->ns; q++) {
    snprintf(block, sizeof block, "smp%02zu", q + 1);
    demo_dat_block(fp, block, "N nfe energy energy_se logq logq_se");
    for (size_t k = 0; k < R->z.nN; k++) {
      const cell *c = &R->tab[q][k];
      double row[6] = {(double)R->z.N[k], (double)c->nfe, c->e, c->e_se, c->lq, c->lq_se};
      demo_dat_row(fp, 6, row);
    }
  }
  demo_dat_block(fp, "gamma", "gamma energy energy_se logq logq_se");
  for (size_t g = 0; g < NGAMMA; g++) {
    const cell *c = &R->gam[g];
    double row[5] = {GAMMAS[g], c->e, c->e_se, c->lq, c->lq_se};
    demo_dat_row(fp, 5, row);
  }
  demo_dat_block(fp, "floor", "energy energy_se");
  double row[2] = {R->exact.e, R->exact.e_se};
  demo_dat_row(fp, 2, row);
  char names[512] = "";
  for (size_t q = 0; q < R->ns; q++) {
    size_t len = strlen(names);
    snprintf(names + len, sizeof names - len, "%s%s", q ? " " : "", R->smp[q]);
  }
  demo_dat_block(fp, "samplers", names);
  return demo_dat_close(out, 1);
}

static void val_cell(FILE *fp, const char *key, const cell *c)
{
  double v[5] = {(double)c->nfe, c->e, c->e_se, c->lq, c->lq_se};
  demo_val(fp, key, 5, v);
}

/* "A better than B: ..." when the energy distances differ by more than two standard errors of the difference
 * (unpaired: hypot of the two), else "no difference resolved"; the difference and its standard error quoted. */
static void verdict(char *buf, size_t size, const char *a, const cell *ca, const char *b, const cell *cb)
{
  const double d = cb->e - ca->e, se = hypot(ca->e_se, cb->e_se);
  if (d > 2.0 * se)
    snprintf(buf, size, "%s better than %s: E(%s) - E(%s) = %.2e ± %.1e (%.1f s.e.)", a, b, b, a, d, se, d / se);
  else if (d < -2.0 * se)
    snprintf(buf, size, "%s better than %s: E(%s) - E(%s) = %.2e ± %.1e (%.1f s.e.)", b, a, a, b, -d, se, -d / se);
  else
    snprintf(buf, size, "no difference resolved between %s and %s: E(%s) - E(%s) = %.2e ± %.1e", a, b, b, a, d,
             se);
}

static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const results *R = arg;
  const char *spec[1] = {DATA_SPEC}, *grid[1] = {TAB_GRID};
  demo_val_text(fp, "spec", 1, spec);
  demo_val_text(fp, "grid", 1, grid);
  demo_val1(fp, "n", (double)R->z.n);
  demo_val1(fp, "sigma_min", R->sigma_min);
  demo_val1(fp, "sigma_max", R->sigma_max);
  demo_val1(fp, "offset_sigma", R->offset_sigma);
  demo_val1(fp, "offset_step", (double)R->offset_step);
  demo_val1(fp, "offset_sigma_target", OFFSET_SIGMA);
  demo_val_sizes(fp, "N", R->z.nN, R->z.N);
  const char *refused[1] = {R->refused[0] ? R->refused : "none"};
  demo_val_text(fp, "refused", 1, refused);
  val_cell(fp, "exact", &R->exact);
  demo_val_text(fp, "sched_name", NSCHED, SCHED);
  char key[64];
  for (size_t g = 0; g < NSCHED; g++) {
    double v[8];
    for (size_t a = 0; a < 2; a++) {
      const cell *c = &R->sched[a][g];
      v[4 * a] = c->e, v[4 * a + 1] = c->e_se, v[4 * a + 2] = c->lq, v[4 * a + 3] = c->lq_se;
    }
    snprintf(key, sizeof key, "sched_row[%zu]", g);
    demo_val(fp, key, 8, v);
  }
  demo_val_text(fp, "tab_name", R->ns, R->smp);
  for (size_t q = 0; q < R->ns; q++) {
    double v[3 * MAXN];
    for (size_t k = 0; k < R->z.nN; k++) {
      v[3 * k] = (double)R->tab[q][k].nfe, v[3 * k + 1] = R->tab[q][k].e, v[3 * k + 2] = R->tab[q][k].e_se;
    }
    snprintf(key, sizeof key, "tab_row[%zu]", q);
    demo_val(fp, key, 3 * R->z.nN, v);
    for (size_t k = 0; k < R->z.nN; k++)
      v[2 * k] = R->tab[q][k].lq, v[2 * k + 1] = R->tab[q][k].lq_se;
    snprintf(key, sizeof key, "tab_lq[%zu]", q);
    demo_val(fp, key, 2 * R->z.nN, v);
  }
  static const char *const rule[3 * MAXN] = {
      "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"};
  char heads[3 * MAXN][48];
  const char *head[3 * MAXN];
  for (size_t k = 0; k < 3 * MAXN; k++)
    head[k] = heads[k];
  for (size_t k = 0; k < R->z.nN; k++) {
    snprintf(heads[3 * k], sizeof heads[0], "NFE");
    snprintf(heads[3 * k + 1], sizeof heads[0], "$E$, $N = %zu$", R->z.N[k]);
    snprintf(heads[3 * k + 2], sizeof heads[0], "s.e.");
  }
  demo_val_text(fp, "tab_head", 3 * R->z.nN, head);
  demo_val_text(fp, "tab_rule", 3 * R->z.nN, rule);
  for (size_t k = 0; k < R->z.nN; k++) {
    snprintf(heads[2 * k], sizeof heads[0], "$\\log q_0$, $N = %zu$", R->z.N[k]);
    snprintf(heads[2 * k + 1], sizeof heads[0], "s.e.");
  }
  demo_val_text(fp, "lq_head", 2 * R->z.nN, head);
  demo_val_text(fp, "lq_rule", 2 * R->z.nN, rule);
  demo_val(fp, "gammas", NGAMMA, GAMMAS);
  for (size_t g = 0; g < NGAMMA; g++) {
    snprintf(key, sizeof key, "gam_row[%zu]", g);
    double v[5] = {GAMMAS[g], R->gam[g].e, R->gam[g].e_se, R->gam[g].lq, R->gam[g].lq_se};
    demo_val(fp, key, 5, v);
  }
  /* the orderings of the talk, each as a verdict read off the energy distances and their standard errors */
  char text[512];
  const char *tp[1] = {text};
  for (size_t k = 0; k < R->z.nN && k < 2; k++) {
    verdict(text, sizeof text, "ge", &R->tab[0][k], "ddim", &R->tab[1][k]);
    snprintf(key, sizeof key, "v_ge_ddim_%zu", k);
    demo_val_text(fp, key, 1, tp);
  }
  for (size_t a = 0; a < 2; a++)
    for (size_t g = 1; g < NSCHED; g++) {
      char gname[32];
      snprintf(gname, sizeof gname, "the %s grid", SCHED[g]);
      verdict(text, sizeof text, gname, &R->sched[a][g], "the ddim grid", &R->sched[a][0]);
      snprintf(key, sizeof key, "v_sched_%s_%zu", SCHED_SMP[a], g);
      demo_val_text(fp, key, 1, tp);
    }
  size_t best = 0;
  for (size_t g = 1; g < NGAMMA; g++)
    if (R->gam[g].e < R->gam[best].e) best = g;
  demo_val1(fp, "gamma_best", GAMMAS[best]);
  verdict(text, sizeof text, "gamma = 2", &R->gam[2], "gamma = 1 (ddim)", &R->gam[0]);
  demo_val_text(fp, "v_gamma_1", 1, tp);
  verdict(text, sizeof text, "gamma = 2", &R->gam[2], "gamma = 3", &R->gam[4]);
  demo_val_text(fp, "v_gamma_3", 1, tp);
  if (best != 2) {
    verdict(text, sizeof text, "gamma = 2", &R->gam[2], "the best gamma of the sweep", &R->gam[best]);
  } else
    snprintf(text, sizeof text, "gamma = 2 is the smallest of the sweep");
  demo_val_text(fp, "v_gamma_best", 1, tp);
  return DPM_SUCCESS;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc =
      demo_init(&ctx, "optim_tables",
                "Permenter & Yuan's schedule and sampler tables and the gamma sweep of the gradient-estimation "
                "sampler, toy edition: energy distance and log-density to exact draws of a 2-D mixture.",
                argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  static results R;
  if (ctx.quick)
    R.z = (sizes){200, 2, {5, 10}};
  else
    R.z = (sizes){6000, 4, {5, 10, 20, 50}};
  dpm_mixture *mix = dpm_data_from_spec(DATA_SPEC);
  if (!mix) return demo_fail(&ctx, "loading " DATA_SPEC);
  int st = compute(&ctx, mix, &R);
  if (!st) st = write_data(&ctx, &R);
  static const char *const figures[1] = {"optim_tables"};
  rc = st ? demo_fail(&ctx, "computing the tables") : demo_publish(&ctx, 1, figures, write_values, &R);
  dpm_mixture_free(mix);
  return rc;
}
