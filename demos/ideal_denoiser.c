/* ideal_denoiser.c — the Permenter–Yuan picture (arXiv 2306.04848; docs/MATH.md §2 "Finite sets"): for a
 * seven-point set K in R^2 at a small, a medium and a large sigma, the denoising direction field -eps*(x, sigma),
 * contours of the smoothed squared distance dist^2_K(x, sigma), and denoising as approximate projection x - sigma
 * eps* ~ proj_K(x); the notebook checks the theorem 1/2 grad_x dist^2_K(x, sigma) = sigma eps*(x, sigma) by
 * central differences. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

#define NPTS   7
#define NSIG   3
#define NSTART 3
#define LO     (-2.75)
#define HI     2.75
#define NGRID  161 /* contour grid per axis */
#define NARROW 17  /* arrows per axis */
#define NCHECK 400 /* random points per sigma in the finite-difference check */
#define NSHOW  2   /* of which the table shows the first NSHOW per sigma */

/* The set K: a tight cluster of three (which merges into one attractor at medium sigma) and four spread points. */
static const double Y[NPTS * 2] = {-1.55, 1.05, -1.05, 1.45, -1.75, 1.65,  1.25,
                                   1.15,  0.35, -0.15, 1.55, -1.45, -1.05, -1.35};
static const double SIGMA[NSIG] = {0.15, 0.5, 1.5};
/* noise levels of the projection-gap table */
#define NGAP 6
static const double GAP_SIGMA[NGAP] = {0.02, 0.05, 0.15, 0.5, 1.5, 5.0};
/* Start points of the projection illustration; the third is near a tie between two nearest points, so its
 * denoised point reaches the projection only once sigma is small against that gap. */
static const double START[NSTART * 2] = {2.35, 2.3, -2.4, -0.2, 0.2, -2.35};

/* Central-difference step for sigma: h = 1e-5 sigma balances the truncation error h^2 |f'''| / 6 (f''' of
 * dist^2 scales like diam^3 / sigma^4 at worst) against rounding eps_mach |f| / h; both are ~1e-8 here. */
static double fd_step(double sigma) { return 1e-5 * sigma; }

/* 1/2 grad dist^2 at x by central differences (out: 2 numbers). */
static int half_grad_fd(double sigma, const double *x, double *out)
{
  for (int j = 0; j < 2; j++) {
    double h = fd_step(sigma), xp[2] = {x[0], x[1]}, xm[2] = {x[0], x[1]}, fp, fm;
    xp[j] += h;
    xm[j] -= h;
    int st = dpm_distance_eval(NPTS, 2, Y, sigma, 1, xp, &fp, NULL, NULL, NULL, NULL);
    if (!st) st = dpm_distance_eval(NPTS, 2, Y, sigma, 1, xm, &fm, NULL, NULL, NULL, NULL);
    if (st) return st;
    out[j] = 0.5 * (fp - fm) / (xp[j] - xm[j]);
  }
  return DPM_SUCCESS;
}

static int write_data(const demo_ctx *ctx, double *grid, double *val, double *vec)
{
  dpm_out *out = demo_dat_open(ctx, ctx->data_path,
                               "Permenter-Yuan ideal denoiser, smoothed distance and projection of a 7-point set");
  if (!out) return GSL_EFAILED;
  FILE *fp = dpm_out_file(out);
  int st = DPM_SUCCESS;

  demo_dat_block(fp, "points", "y_1 y_2 (the set K)");
  for (size_t k = 0; k < NPTS; k++)
    demo_dat_row(fp, 2, Y + 2 * k);

  for (size_t s = 0; s < NSIG && !st; s++) {
    const double sigma = SIGMA[s];
    char name[64];

    /* dist^2 on a grid, scan lines (constant x_1) separated by blank lines for gnuplot's contouring */
    for (size_t i = 0; i < NGRID; i++)
      for (size_t j = 0; j < NGRID; j++) {
        grid[2 * (i * NGRID + j)] = LO + (HI - LO) * (double)i / (NGRID - 1);
        grid[2 * (i * NGRID + j) + 1] = LO + (HI - LO) * (double)j / (NGRID - 1);
      }
    st = dpm_distance_eval(NPTS, 2, Y, sigma, NGRID * NGRID, grid, val, NULL, NULL, NULL, NULL);
    if (st) break;
    snprintf(name, sizeof name, "dist2_%zu", s + 1);
    demo_dat_block(fp, name, "x_1 x_2 dist2(x,sigma) (grid, one scan line per x_1)");
    for (size_t i = 0; i < NGRID; i++) {
      if (i) fputc('\n', fp);
      for (size_t j = 0; j < NGRID; j++) {
        double row[3] = {grid[2 * (i * NGRID + j)], grid[2 * (i * NGRID + j) + 1], val[i * NGRID + j]};
        demo_dat_row(fp, 3, row);
      }
    }

    /* the direction field: unit vectors along -eps* at cell centres, and |sigma eps*| */
    for (size_t i = 0; i < NARROW; i++)
      for (size_t j = 0; j < NARROW; j++) {
        grid[2 * (i * NARROW + j)] = LO + (HI - LO) * ((double)i + 0.5) / NARROW;
        grid[2 * (i * NARROW + j) + 1] = LO + (HI - LO) * ((double)j + 0.5) / NARROW;
      }
    st = dpm_distance_eval(NPTS, 2, Y, sigma, NARROW * NARROW, grid, NULL, NULL, vec, NULL, NULL);
    if (st) break;
    snprintf(name, sizeof name, "field_%zu", s + 1);
    demo_dat_block(fp, name, "x_1 x_2 u_1 u_2 |sigma eps*| (u = -eps*/|eps*|, the denoising direction)");
    for (size_t i = 0; i < NARROW * NARROW; i++) {
      double e1 = vec[2 * i], e2 = vec[2 * i + 1], nrm = hypot(e1, e2);
      double row[5] = {grid[2 * i], grid[2 * i + 1], nrm > 0 ? -e1 / nrm : 0.0, nrm > 0 ? -e2 / nrm : 0.0,
                       sigma * nrm};
      demo_dat_row(fp, 5, row);
    }

    /* denoising as approximate projection: x, x - sigma eps*(x, sigma), proj_K(x) */
    double proj[NSTART * 2];
    st = dpm_distance_eval(NPTS, 2, Y, sigma, NSTART, START, NULL, NULL, vec, proj, NULL);
    if (st) break;
    snprintf(name, sizeof name, "proj_%zu", s + 1);
    demo_dat_block(fp, name, "x_1 x_2 z_1 z_2 p_1 p_2 sigma (z = x - sigma eps*(x,sigma), p = proj_K(x))");
    for (size_t i = 0; i < NSTART; i++) {
      double row[7] = {START[2 * i],
                       START[2 * i + 1],
                       START[2 * i] - sigma * vec[2 * i],
                       START[2 * i + 1] - sigma * vec[2 * i + 1],
                       proj[2 * i],
                       proj[2 * i + 1],
                       sigma};
      demo_dat_row(fp, 7, row);
    }
  }
  int cst = demo_dat_close(out, st == DPM_SUCCESS);
  return st ? st : cst;
}

/* The theorem checked by central differences at NCHECK uniform random points per sigma. table (NSIG * NSHOW rows
 * of 8) shows a few points; summary (NSIG rows of 4): sigma, points, max error, max |sigma eps*|. */
static int check_theorem(const demo_ctx *ctx, double *table, double *summary, double *max_err)
{
  gsl_rng *r = dpm_rng_stream_alloc(ctx->seed, 0);
  if (!r) return GSL_ENOMEM;
  int st = DPM_SUCCESS;
  *max_err = 0.0;
  for (size_t s = 0; s < NSIG && !st; s++) {
    const double sigma = SIGMA[s];
    double worst = 0.0, biggest = 0.0;
    for (size_t i = 0; i < NCHECK && !st; i++) {
      double x[2] = {LO + (HI - LO) * gsl_rng_uniform(r), LO + (HI - LO) * gsl_rng_uniform(r)}, eps[2], fd[2];
      st = dpm_distance_eval(NPTS, 2, Y, sigma, 1, x, NULL, NULL, eps, NULL, NULL);
      if (!st) st = half_grad_fd(sigma, x, fd);
      if (st) break;
      double err = fmax(fabs(fd[0] - sigma * eps[0]), fabs(fd[1] - sigma * eps[1]));
      worst = fmax(worst, err);
      biggest = fmax(biggest, fmax(fabs(sigma * eps[0]), fabs(sigma * eps[1])));
      if (i < NSHOW) {
        double *row = table + 8 * (s * NSHOW + i);
        double v[8] = {x[0], x[1], sigma, fd[0], sigma * eps[0], fd[1], sigma * eps[1], err};
        memcpy(row, v, sizeof v);
      }
    }
    summary[4 * s] = sigma;
    summary[4 * s + 1] = NCHECK;
    summary[4 * s + 2] = worst;
    summary[4 * s + 3] = biggest;
    *max_err = fmax(*max_err, worst);
  }
  gsl_rng_free(r);
  return st;
}

/* |x - sigma eps*(x, sigma) - proj_K(x)| for every start point and sigma of GAP_SIGMA (NSTART rows of
 * 2 + NGAP). */
static int projection_gap(double *table)
{
  for (size_t s = 0; s < NGAP; s++) {
    const double sigma = GAP_SIGMA[s];
    double eps[NSTART * 2], proj[NSTART * 2];
    int st = dpm_distance_eval(NPTS, 2, Y, sigma, NSTART, START, NULL, NULL, eps, proj, NULL);
    if (st) return st;
    for (size_t i = 0; i < NSTART; i++) {
      double *row = table + (2 + NGAP) * i;
      row[0] = START[2 * i];
      row[1] = START[2 * i + 1];
      row[2 + s] = hypot(START[2 * i] - sigma * eps[2 * i] - proj[2 * i],
                         START[2 * i + 1] - sigma * eps[2 * i + 1] - proj[2 * i + 1]);
    }
  }
  return DPM_SUCCESS;
}

/* The numbers of the notebook: the theorem's check and the projection gap. */
typedef struct {
  double table[NSIG * NSHOW * 8], summary[NSIG * 4], max_err; /* check_theorem */
  double gap[NSTART * (2 + NGAP)];                            /* projection_gap */
} checks;

/* The values of the notebook (demos/ideal_denoiser.md): the noise levels, the check of the theorem (rows
 * check[i]: x_1, x_2, sigma, FD and sigma eps* per coordinate, error; summary[i]: sigma, points, max error, max
 * |sigma eps*|), the projection gap (gap[i]: x_1, x_2, then one column per gap_sigma) and the two smallest squared
 * distances from the third start point to K (near, and their difference near_gap). */
static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const checks *c = arg;
  char key[64];
  demo_val(fp, "sigma", NSIG, SIGMA);
  demo_val1(fp, "ncheck", NCHECK);
  demo_val1(fp, "lo", LO);
  demo_val1(fp, "hi", HI);
  for (size_t i = 0; i < NSIG * NSHOW; i++) {
    snprintf(key, sizeof key, "check[%zu]", i);
    demo_val(fp, key, 8, c->table + 8 * i);
  }
  for (size_t i = 0; i < NSIG; i++) {
    snprintf(key, sizeof key, "summary[%zu]", i);
    demo_val(fp, key, 4, c->summary + 4 * i);
  }
  demo_val1(fp, "max_err", c->max_err);
  demo_val(fp, "gap_sigma", NGAP, GAP_SIGMA);
  for (size_t i = 0; i < NSTART; i++) {
    snprintf(key, sizeof key, "gap[%zu]", i);
    demo_val(fp, key, 2 + NGAP, c->gap + (2 + NGAP) * i);
  }
  /* the two smallest squared distances from the third start point to K */
  double near[2] = {HUGE_VAL, HUGE_VAL};
  for (size_t k = 0; k < NPTS; k++) {
    double D = hypot(START[4] - Y[2 * k], START[5] - Y[2 * k + 1]);
    D *= D;
    if (D < near[0]) {
      near[1] = near[0];
      near[0] = D;
    } else if (D < near[1]) {
      near[1] = D;
    }
  }
  demo_val(fp, "near", 2, near);
  demo_val1(fp, "near_gap", near[1] - near[0]);
  return DPM_SUCCESS;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc = demo_init(&ctx, "ideal_denoiser",
                     "The Permenter-Yuan picture: ideal denoiser direction field, smoothed distance contours and "
                     "denoising as projection for a 7-point set at three noise levels.",
                     argc, argv);
  if (rc) return rc < 0 ? 0 : rc;

  checks c;
  if (check_theorem(&ctx, c.table, c.summary, &c.max_err)) return demo_fail(&ctx, "checking the theorem");
  if (projection_gap(c.gap)) return demo_fail(&ctx, "measuring the projection gap");

  double *grid = malloc(2 * NGRID * NGRID * sizeof(double));
  double *val = malloc(NGRID * NGRID * sizeof(double));
  double *vec = malloc(2 * NGRID * NGRID * sizeof(double));
  if (!grid || !val || !vec) {
    free(grid);
    free(val);
    free(vec);
    fprintf(stderr, "ideal_denoiser: out of memory\n");
    return 1;
  }
  int st = write_data(&ctx, grid, val, vec);
  free(grid);
  free(val);
  free(vec);
  if (st) return demo_fail(&ctx, "writing the data");
  static const char *const figures[1] = {"ideal_denoiser"};
  return demo_publish(&ctx, 1, figures, write_values, &c);
}
