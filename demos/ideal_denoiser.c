/* ideal_denoiser.c — the Permenter–Yuan picture (arXiv 2306.04848; docs/MATH.md §2 "Finite sets"): for a seven-point
 * set K in R^2 at a small, a medium and a large sigma, the denoising direction field -eps*(x, sigma), contours of
 * the smoothed squared distance dist^2_K(x, sigma), and denoising as approximate projection x - sigma eps* ~
 * proj_K(x); the notebook checks the theorem 1/2 grad_x dist^2_K(x, sigma) = sigma eps*(x, sigma) by central
 * differences. */
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

static int write_notebook(const demo_ctx *ctx, const void *arg)
{
  const checks *c = arg;
  dpm_notebook *nb = demo_notebook_begin(
      ctx, "The ideal denoiser is the gradient of a smoothed distance",
      "Permenter and Yuan (*Interpreting and improving diffusion models from an optimization perspective*, "
      "arXiv:2306.04848, 2023) read denoising as projection: for a finite data set $\\mathcal K$ the ideal "
      "denoiser is, up to the factor $\\sigma$, the gradient of a smoothed squared distance to $\\mathcal K$, so "
      "one denoising step $x - \\sigma\\epsilon^*(x,\\sigma)$ is one gradient step on the distance function and "
      "approaches the projection $\\mathrm{proj}_{\\mathcal K}(x)$ as $\\sigma \\to 0$. This demo draws that "
      "picture "
      "for a seven-point set in $\\mathbb R^2$ and checks the identity numerically.");
  if (!nb) return GSL_ENOMEM;
  int st = dpm_notebook_markdown(
      nb,
      "## The theorem\n\n"
      "For a finite set $\\mathcal K \\subset \\mathbb R^n$ and $\\sigma > 0$ let\n\n"
      "$$w_y(x) = \\exp\\Big(-\\frac{\\|x-y\\|^2}{2\\sigma^2}\\Big), \\qquad "
      "\\epsilon^*(x,\\sigma) = \\frac{\\sum_{y\\in\\mathcal K} (x-y)\\,w_y(x)}{\\sigma \\sum_{y\\in\\mathcal K} "
      "w_y(x)}, \\qquad "
      "\\operatorname{dist}^2_{\\mathcal K}(x,\\sigma) = -2\\sigma^2 \\log \\sum_{y\\in\\mathcal K} w_y(x).$$\n\n"
      "$\\epsilon^*$ is the ideal denoiser: $\\epsilon^*(x,\\sigma) = \\mathbb E[\\epsilon \\mid x_0 + "
      "\\sigma\\epsilon "
      "= x]$ for $x_0$ uniform on $\\mathcal K$ and $\\epsilon \\sim N(0, I)$, the minimiser of the denoising "
      "loss. "
      "Then, exactly,\n\n"
      "$$\\tfrac12 \\nabla_x \\operatorname{dist}^2_{\\mathcal K}(x,\\sigma) = "
      "\\sigma\\,\\epsilon^*(x,\\sigma),$$\n\n"
      "and $\\operatorname{dist}^2_{\\mathcal K}(x,\\sigma) \\to \\min_{y\\in\\mathcal K}\\|x-y\\|^2$, "
      "$x - \\sigma\\epsilon^*(x,\\sigma) \\to \\mathrm{proj}_{\\mathcal K}(x)$ as $\\sigma\\to 0$ wherever the "
      "nearest point is unique (Permenter & Yuan 2023, arXiv:2306.04848; [docs/MATH.md](../docs/MATH.md) §2).\n\n"
      "**Normalisation.** The talk slides print $\\operatorname{dist}^2_{\\mathcal K}(x,\\sigma) = -\\sigma^2\\log"
      "\\sum_y \\exp(-\\|x-y\\|^2/2\\sigma^2)$. With that definition the identity is off by a factor 2 and the "
      "smoothed distance tends to *half* the squared distance. dpmlab keeps the factor $-2\\sigma^2$, which makes "
      "both statements exact; the check below would fail by a factor 2 with the other normalisation.");
  if (!st)
    st = dpm_notebook_markdown(
        nb,
        "## The picture\n\n"
        "The set $\\mathcal K$ (black dots) has a tight cluster of three points and four spread points. In each "
        "panel (σ = %g, %g, %g) the grey arrows show the denoising direction $-\\epsilon^*(x,\\sigma)$ at unit "
        "length, the blue curves are level sets of $\\operatorname{dist}^2_{\\mathcal K}(x,\\sigma)$ (drawn "
        "evenly "
        "spaced in $\\sqrt{\\operatorname{dist}^2 - \\min \\operatorname{dist}^2}$, i.e. in distance), and for "
        "three start points $x$ (open circles) the arrow ends at the denoised point $x - \\sigma\\epsilon^*(x,"
        "\\sigma) = \\mathbb E[x_0\\mid x]$ (diamond), with a dotted line to the nearest point "
        "$\\mathrm{proj}_{\\mathcal K}(x)$. At small σ the contours are the Voronoi-cell circles of the exact "
        "distance and the denoised point *is* the projection (up to near-ties); at medium σ the cluster acts as "
        "one point; at large "
        "σ the field points to the centroid of $\\mathcal K$ and one step lands near it.",
        SIGMA[0], SIGMA[1], SIGMA[2]);
  if (!st)
    st = demo_notebook_figure(ctx, nb, "ideal_denoiser",
                             "Direction field of $-\\epsilon^*$, contours of "
                             "$\\operatorname{dist}^2_{\\mathcal K}(x,\\sigma)$ and "
                             "denoising as approximate projection, for three σ.");
  if (!st)
    st = dpm_notebook_markdown(
        nb,
        "## Numerical check of the theorem\n\n"
        "Central differences of $\\operatorname{dist}^2_{\\mathcal K}$ with step $h = 10^{-5}\\sigma$ against "
        "$\\sigma\\epsilon^*$ at %d uniform random points of $[%g, %g]^2$ per σ (seed %llu). The "
        "central-difference "
        "error is $h^2|\\partial^3 f|/6$ plus rounding $\\approx \\epsilon_{\\text{mach}}|f|/h$, about $10^{-8}$ "
        "here; an error of the size of $\\sigma\\epsilon^*$ itself (or a factor 2) would mean the identity fails. "
        "A few of the points:",
        NCHECK, LO, HI, (unsigned long long)ctx->seed);
  static const char *const cols[8] = {"$x_1$", "$x_2$",         "σ",    "½∂₁dist² (FD)",
                                      "σε*₁",  "½∂₂dist² (FD)", "σε*₂", "max error"};
  if (!st) st = dpm_notebook_table(nb, 8, cols, NSIG * NSHOW, c->table, 10);
  static const char *const scols[4] = {"σ", "points", "max abs error", "max abs σε* component"};
  if (!st) st = dpm_notebook_markdown(nb, "Over all %d points per σ:", NCHECK);
  if (!st) st = dpm_notebook_table(nb, 4, scols, NSIG, c->summary, 4);
  if (!st)
    st = dpm_notebook_markdown(nb,
                               "Largest error over every point and σ: **%.2e**, against components of "
                               "$\\sigma\\epsilon^*$ of order 1.",
                               c->max_err);
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
  char gnames[NGAP][32];
  const char *gcols[2 + NGAP] = {"$x_1$", "$x_2$"};
  for (size_t s = 0; s < NGAP; s++) {
    snprintf(gnames[s], sizeof gnames[s], "σ = %g", GAP_SIGMA[s]);
    gcols[2 + s] = gnames[s];
  }
  if (!st)
    st = dpm_notebook_markdown(nb,
                               "## Denoising approaches projection as σ → 0\n\n"
                               "The distance $\\|x - \\sigma\\epsilon^*(x,\\sigma) - "
                               "\\mathrm{proj}_{\\mathcal K}(x)\\|$ for the three start points of the figure. It "
                               "vanishes as σ → 0 (the denoiser becomes the projection); as σ grows the "
                               "denoised point moves to the centroid of $\\mathcal K$ and the gap tends to "
                               "$\\|\\bar y - \\mathrm{proj}_{\\mathcal K}(x)\\|$. The third start point is "
                               "almost equidistant from two points of $\\mathcal K$ (squared distances %.4g and "
                               "%.4g): the second keeps a relative weight $\\exp(-%.3g/2\\sigma^2)$, so the gap "
                               "closes only once $2\\sigma^2 \\ll %.3g$. The projection is the limit only where "
                               "it is unique, approached at a rate set by the gap between the nearest and the "
                               "second-nearest point.",
                               near[0], near[1], near[1] - near[0], near[1] - near[0]);
  if (!st) st = dpm_notebook_table(nb, 2 + NGAP, gcols, NSTART, c->gap, 4);
  return demo_notebook_finish(ctx, nb, st);
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
  return demo_publish(&ctx, 1, figures, write_notebook, &c);
}
