/* optim_distance.c — the optimisation view of diffusion in 2-D (Permenter & Yuan, arXiv 2306.04848, §3–4 and
 * Algorithm 2): the smoothed distance dist^2(x, sigma) of a point set at three sigma, DDIM and gradient-estimation
 * (ge) trajectories on the VE process over a log-linear grid with x0-hat = x - sigma eps along them, and
 * dist_K(x_t) along DDIM against sigma_t between the two-sided bound of their convergence theorem, for the ideal
 * and a relative-error denoiser with eta measured on the band (docs/MATH.md §2.8, §2.10). The notebook checks
 * that the DDIM step is a gradient step on 1/2 dist^2 and that the measured distances stay inside the bound. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "dpm_imperfect.h"
#include "dpm_optim.h"

#define DATA_SPEC "circle:n=8,r=4"
#define NSTART    5
#define NSIG      3
#define LO        (-7.5)
#define HI        7.5
#define SIG0      3.0  /* first sigma of the trajectories */
#define SIGK      0.02 /* last sigma of the trajectories */
#define RELERR    0.15 /* eta_err of the relative-error model */
#define NU        2.0  /* the band dist/nu <= sqrt(d) sigma <= nu dist */
#define BSIG0     0.2  /* first sigma of the bound's schedule, sigma_i = BSIG0 BRATE^i */
#define BRATE     0.85
#define BN        24

static const double CONTOUR_SIG[NSIG] = {2.5, 1.0, 0.3};
static const char *const SAMPLERS[2] = {"ddim", "ge"};

/* The results the notebook quotes. */
typedef struct {
  size_t ngrid, K, nmeas;
  double gd_vs_ddim;       /* max |DDIM iterate - gradient step on 1/2 dist^2| along the drawn trajectories */
  double end_dist[2];      /* mean dist_K of the last iterate, ddim and ge */
  double x0hat_end[2];     /* mean |x0-hat - proj_K(x)| at the last sigma, ddim and ge */
  double eta[2];           /* measured eta against the true gradient: ideal, relative-error model */
  double dist_range[2][2]; /* the band actually sampled: dist range */
  double sig_range[2][2];  /*   and sigma range */
  double max_err[2];       /* largest realised relative error along the bound's trajectory inside the band */
  double viol[2];          /* largest violation of the bound (max over t of dist - hi and lo - dist, <= 0 holds) */
  double contraction[2];   /* hi[N]/dist[0] */
  double dist_end[2];      /* dist[N]/dist[0] */
  int admissible[2];       /* the bound's schedule (eta, nu)-admissible from ratio0 = 1 */
} results;

/* The iterates of sampler T from the NSTART starts x0 over the grid's first k intervals, k = 0..K (the trajectory
 * itself for one-step samplers, as dpmlab trace does), into path ((K + 1) x NSTART x d). */
static int trajectories(const dpm_sampler_type *T, dpm_denoiser *dn, const dpm_process *p, const dpm_mixture *mix,
                        size_t K, const double *t, uint64_t seed, const double *x0, double *path)
{
  const size_t d = mix->d, nd = NSTART * d;
  dpm_sampler *smp = dpm_sampler_alloc(T, NSTART, d, K);
  dpm_timeline *tl = dpm_timeline_alloc(K);
  int st = smp && tl ? DPM_SUCCESS : GSL_ENOMEM;
  dpm_sampler_problem pb = {.dn = dn, .tl = tl, .mix = mix};
  dpm_sampler_params_default(&pb.par);
  memcpy(path, x0, nd * sizeof(double));
  for (size_t k = 1; k <= K && !st; k++) {
    memcpy(path + k * nd, x0, nd * sizeof(double));
    st = dpm_timeline_set_times(tl, p, k, t);
    if (!st) st = dpm_sampler_run(smp, &pb, seed, NSTART, path + k * nd, 1, NULL);
  }
  dpm_sampler_free(smp);
  dpm_timeline_free(tl);
  return st;
}

static int compute(const demo_ctx *ctx, const dpm_mixture *mix, results *R)
{
  const size_t d = mix->d, Kp = mix->K, K = R->K, ng = R->ngrid, nd = NSTART * d;
  const double *Y = mix->mu;
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VE);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_denoiser *bad = dn ? dpm_denoiser_relerr_alloc(dn, RELERR, demo_seed(ctx, 7)) : NULL;
  double *t = malloc((K + 1) * sizeof(double)), *sg = malloc((K + 1) * sizeof(double)),
         *gx = malloc(ng * ng * d * sizeof(double));
  double *g2 = malloc(ng * ng * sizeof(double));
  double *path[2] = {malloc((K + 1) * nd * sizeof(double)), malloc((K + 1) * nd * sizeof(double))};
  double *gd = malloc(nd * sizeof(double)), x0[NSTART * 2];
  dpm_out *out = NULL;
  int st = (dn && bad && t && sg && gx && g2 && path[0] && path[1] && gd && d == 2) ? DPM_SUCCESS : GSL_ENOMEM;
  /* the log-linear grid in sigma, as VE times (sg the sigma the timeline will hold), and the starts: radius 6.5,
   * spread in angle */
  for (size_t k = 0; k <= K && !st; k++) {
    t[k] = dpm_process_t_of_sigma(&p, SIG0 * pow(SIGK / SIG0, (double)k / (double)K));
    sg[k] = dpm_process_sigma(&p, t[k]);
  }
  for (size_t j = 0; j < NSTART; j++) {
    const double a = 0.35 + 2.0 * M_PI * (double)j / NSTART;
    x0[2 * j] = 6.5 * cos(a);
    x0[2 * j + 1] = 6.5 * sin(a);
  }
  if (!st) out = demo_dat_open(ctx, ctx->data_path, "smoothed distance, DDIM and ge trajectories, distance bound");
  if (!st && !out) st = GSL_EFAILED;
  FILE *fp = out ? dpm_out_file(out) : NULL;

  if (!st) {
    demo_dat_block(fp, "points", "y_1 y_2 (the set K)");
    for (size_t i = 0; i < Kp; i++)
      demo_dat_row(fp, 2, Y + i * d);
  }
  /* dist^2(x, sigma) on an ng x ng grid at each contour sigma, written as sqrt(dist^2 - min) (same level sets) */
  for (size_t i = 0; i < ng; i++)
    for (size_t j = 0; j < ng && gx; j++) {
      gx[(i * ng + j) * d] = LO + (HI - LO) * (double)i / (double)(ng - 1);
      gx[(i * ng + j) * d + 1] = LO + (HI - LO) * (double)j / (double)(ng - 1);
    }
  for (size_t s = 0; s < NSIG && !st; s++) {
    st = dpm_distance_eval(Kp, d, Y, CONTOUR_SIG[s], ng * ng, gx, g2, NULL, NULL, NULL, NULL);
    if (st) break;
    double mn = INFINITY;
    for (size_t i = 0; i < ng * ng; i++)
      mn = fmin(mn, g2[i]);
    char blk[32];
    snprintf(blk, sizeof blk, "dist_%zu", s + 1);
    demo_dat_block(fp, blk, "x_1 x_2 sqrt(dist^2(x, sigma) - min) (grid, blank line per x_1) sigma");
    for (size_t i = 0; i < ng; i++) {
      for (size_t j = 0; j < ng; j++) {
        const double v[4] = {gx[(i * ng + j) * d], gx[(i * ng + j) * d + 1], sqrt(fmax(g2[i * ng + j] - mn, 0.0)),
                             CONTOUR_SIG[s]};
        demo_dat_row(fp, 4, v);
      }
      fputc('\n', fp);
    }
  }

  /* the trajectories and x0-hat along them */
  for (int q = 0; q < 2 && !st; q++) {
    const dpm_sampler_type *T = dpm_sampler_type_find(SAMPLERS[q]);
    if (!T) {
      st = DPM_RAISE(GSL_EINVAL, "sampler '%s' is not in the table", SAMPLERS[q]);
      break;
    }
    st = trajectories(T, dn, &p, mix, K, t, demo_seed(ctx, 1), x0, path[q]);
    if (st) break;
    demo_dat_block(fp, q == 0 ? "traj_ddim" : "traj_ge",
                   "per start (blank line between): sigma x_1 x_2 x0hat_1 x0hat_2 dist_K(x)");
    double mean_d = 0.0, mean_h = 0.0;
    for (size_t j = 0; j < NSTART && !st; j++) {
      for (size_t k = 0; k <= K && !st; k++) {
        const double *xk = path[q] + k * nd + j * d;
        double h[2], dk;
        st = dpm_optim_diagnose(Kp, d, Y, dn, sg[k], 1, xk, &dk, NULL, NULL, h, NULL);
        const double v[6] = {sg[k], xk[0], xk[1], h[0], h[1], dk};
        demo_dat_row(fp, 6, v);
        if (k == K) {
          size_t ip;
          mean_d += dk / NSTART;
          dpm_distance_min2(Kp, d, Y, xk, &ip);
          mean_h += hypot(h[0] - Y[ip * d], h[1] - Y[ip * d + 1]) / NSTART;
        }
      }
      fputc('\n', fp);
    }
    R->end_dist[q] = mean_d;
    R->x0hat_end[q] = mean_h;
  }
  /* the theorem's picture: the DDIM step from each iterate equals a gradient step on 1/2 dist^2(., sigma) */
  R->gd_vs_ddim = 0.0;
  for (size_t k = 0; k < K && !st; k++) {
    st = dpm_optim_grad_step(Kp, d, Y, sg[k], sg[k + 1], NSTART, path[0] + k * nd, gd);
    for (size_t i = 0; i < nd && !st; i++)
      R->gd_vs_ddim = fmax(R->gd_vs_ddim, fabs(gd[i] - path[0][(k + 1) * nd + i]));
  }

  /* the two-sided bound along DDIM from a start at dist = sqrt(d) sigma_0 (ratio 1) near the first point */
  double sig[BN + 1], bd[BN + 1], blo[BN + 1], bhi[BN + 1], berr[BN + 1];
  for (int i = 0; i <= BN; i++)
    sig[i] = BSIG0 * pow(BRATE, i);
  dpm_denoiser *list[2] = {dn, bad};
  for (int m = 0; m < 2 && !st; m++) {
    st = dpm_optim_relerr_measure(Kp, d, Y, list[m], DPM_OPTIM_GRAD_TRUE, NU, 0.02, 0.3, R->nmeas,
                                  demo_seed(ctx, 2 + (uint64_t)m), &R->eta[m], R->dist_range[m], R->sig_range[m]);
    const double a = 0.7, xs[2] = {Y[0] + sqrt(2.0) * BSIG0 * cos(a), Y[1] + sqrt(2.0) * BSIG0 * sin(a)};
    if (!st) st = dpm_optim_ddim_bound(Kp, d, Y, list[m], BN, sig, R->eta[m], xs, bd, blo, bhi, berr, NULL);
    if (st) break;
    const int adm = dpm_optim_schedule_admissible(BN, sig, R->eta[m], NU, bd[0] / (sqrt(2.0) * sig[0]));
    if (adm < 0) {
      dpm_error_context("admissibility of the bound's schedule");
      st = GSL_EINVAL;
      break;
    }
    R->admissible[m] = adm;
    demo_dat_block(fp, m == 0 ? "bound_ideal" : "bound_relerr", "sigma dist_K(x_t) lower upper realised_err");
    R->viol[m] = -INFINITY;
    R->max_err[m] = 0.0;
    for (int i = 0; i <= BN; i++) {
      const double v[5] = {sig[i], bd[i], blo[i], bhi[i], berr[i]};
      demo_dat_row(fp, 5, v);
      R->viol[m] = fmax(R->viol[m], fmax(bd[i] - bhi[i], blo[i] - bd[i]));
      const double ratio = bd[i] / (sqrt(2.0) * sig[i]);
      if (i < BN && ratio >= 1.0 / NU && ratio <= NU) R->max_err[m] = fmax(R->max_err[m], berr[i]);
    }
    R->contraction[m] = bhi[BN] / bd[0];
    R->dist_end[m] = bd[BN] / bd[0];
  }
  int cst = out ? demo_dat_close(out, st == DPM_SUCCESS) : DPM_SUCCESS;
  if (!st) st = cst;

  dpm_denoiser_free(bad);
  dpm_denoiser_free(dn);
  free(t);
  free(sg);
  free(gx);
  free(g2);
  free(path[0]);
  free(path[1]);
  free(gd);
  return st;
}

static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const results *R = arg;
  const char *spec[1] = {DATA_SPEC};
  demo_val_text(fp, "spec", 1, spec);
  demo_val1(fp, "nstart", NSTART);
  demo_val1(fp, "K", (double)R->K);
  demo_val1(fp, "sig0", SIG0);
  demo_val1(fp, "sigK", SIGK);
  demo_val(fp, "csig", NSIG, CONTOUR_SIG);
  demo_val1(fp, "gd_vs_ddim", R->gd_vs_ddim);
  demo_val(fp, "end_dist", 2, R->end_dist);
  demo_val(fp, "x0hat_end", 2, R->x0hat_end);
  demo_val1(fp, "relerr", RELERR);
  demo_val1(fp, "nu", NU);
  demo_val1(fp, "nmeas", (double)R->nmeas);
  demo_val1(fp, "bsig0", BSIG0);
  demo_val1(fp, "brate", BRATE);
  demo_val1(fp, "bn", BN);
  demo_val(fp, "eta", 2, R->eta);
  const double dlo[2] = {R->dist_range[0][0], R->dist_range[1][0]},
               dhi[2] = {R->dist_range[0][1], R->dist_range[1][1]};
  const double slo[2] = {R->sig_range[0][0], R->sig_range[1][0]},
               shi[2] = {R->sig_range[0][1], R->sig_range[1][1]};
  demo_val(fp, "dist_lo", 2, dlo);
  demo_val(fp, "dist_hi", 2, dhi);
  demo_val(fp, "sig_lo", 2, slo);
  demo_val(fp, "sig_hi", 2, shi);
  demo_val(fp, "max_err", 2, R->max_err);
  demo_val(fp, "viol", 2, R->viol);
  demo_val(fp, "contraction", 2, R->contraction);
  demo_val(fp, "dist_end", 2, R->dist_end);
  const char *adm[2] = {R->admissible[0] ? "admissible" : "not admissible",
                        R->admissible[1] ? "admissible" : "not admissible"};
  demo_val_text(fp, "admissible", 2, adm);
  return DPM_SUCCESS;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc = demo_init(&ctx, "optim_distance",
                     "The optimisation view in 2-D: smoothed-distance contours of a point set, DDIM and "
                     "gradient-estimation trajectories with x0-hat, and the distance bound along DDIM.",
                     argc, argv);
  if (rc) return rc < 0 ? 0 : rc;

  results R = {0};
  R.ngrid = ctx.quick ? 81 : 241;
  R.K = ctx.quick ? 12 : 20;
  R.nmeas = ctx.quick ? 500 : 4000;
  demo_progress(&ctx, "%s: ddim and ge over %zu log-linear steps", DATA_SPEC, R.K);
  dpm_mixture *mix = dpm_data_from_spec(DATA_SPEC);
  if (!mix) return demo_fail(&ctx, "loading " DATA_SPEC);
  int st = compute(&ctx, mix, &R);
  static const char *const figures[1] = {"optim_distance"};
  rc = st ? demo_fail(&ctx, "computing the trajectories") : demo_publish(&ctx, 1, figures, write_values, &R);
  dpm_mixture_free(mix);
  return rc;
}
