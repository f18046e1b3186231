/* test_optim_memo.c — memorisation in the optimisation view (Permenter & Yuan, arXiv 2306.04848; docs/MATH.md
 * §2.10): the smoothed (kernel-widened) ideal denoiser against the smoothed distance read at the inflated sigma;
 * the nearest-neighbour spacing and the memorised share with its binomial standard error on a constructed sample;
 * the share of DDIM with the ideal denoiser of a finite set growing with the steps to 1, while the smoothed model
 * stays off the points and near the manifold; `dpmlab memorisation` against the library, the same bits for 1 and
 * 2 threads and its failure contract; the closed-form distance to a circle and sphere against the dense sets; the
 * rate at which x - sigma eps* reaches the projection on the circle and sphere sets in R^64 and R^16, measured.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "dpmlab.h"
#include "testutil.h"

#define EPSU DBL_EPSILON

/* eps of the smoothed model at (1, sigma) equals sigma' eps*(x, sigma')/sigma with sigma' = sqrt(sigma^2 + h^2),
 * eps* from dpm_distance_eval (the other route: 1/2 grad dist^2 = sigma eps*); rounding: the x0 route carries a
 * few ulps of (|x| + max|y|), divided by sigma. At m != 1 its x0 is the oracle's at (m, sqrt(s^2 + m^2 h^2)) bit
 * for bit, and h = 0 is the inner model to the same rounding (eps through x0-hat). */
static void test_smoothed_denoiser(void **state)
{
  (void)state;
  enum { K = 5, D = 2, N = 32 };
  const double Y[K * D] = {0.0, 0.0, 1.0, 0.5, -1.5, 0.25, 0.5, -1.0, 2.0, 2.0};
  dpm_mixture *mix = dpm_test_points(K, D, Y, NULL);
  dpm_denoiser *ex = dpm_denoiser_oracle_alloc(mix);
  assert_non_null(ex);
  const double h = 0.3;
  dpm_denoiser *sm = dpm_denoiser_smoothed_alloc(ex, h), *sm0 = dpm_denoiser_smoothed_alloc(ex, 0.0);
  assert_non_null(sm);
  assert_non_null(sm0);
  double x[N * D], e[N * D], es[N * D], x0a[N * D], x0b[N * D];
  dpm_test_gaussian_starts(N, D, 1.5, 21, x);
  const double sigmas[] = {2.0, 0.5, 0.1, 0.01};
  for (size_t k = 0; k < 4; k++) {
    const double s = sigmas[k], sp = hypot(s, h);
    assert_int_equal(dpm_denoiser_eval(sm, 1.0, s, N, x, e, NULL, NULL), DPM_SUCCESS);
    assert_int_equal(dpm_distance_eval(K, D, Y, sp, N, x, NULL, NULL, es, NULL, NULL), DPM_SUCCESS);
    for (size_t i = 0; i < N * D; i++)
      dpm_test_assert_close(e[i], sp * es[i] / s, 0.0, 64 * EPSU * (4.0 + fabs(x[i])) / s, "smoothed eps",
                            __FILE__, __LINE__);
    assert_int_equal(dpm_denoiser_eval(sm0, 1.0, s, N, x, e, NULL, NULL), DPM_SUCCESS);
    assert_int_equal(dpm_denoiser_eval(ex, 1.0, s, N, x, es, NULL, NULL), DPM_SUCCESS);
    for (size_t i = 0; i < N * D; i++) /* the x0 route: eps = (x - x0-hat)/s, the same rounding bound */
      dpm_test_assert_close(e[i], es[i], 0.0, 64 * EPSU * (4.0 + fabs(x[i])) / s, "h = 0", __FILE__, __LINE__);
  }
  const double m = 0.6, s = 0.8;
  assert_int_equal(dpm_denoiser_eval(sm, m, s, N, x, NULL, x0a, NULL), DPM_SUCCESS);
  assert_int_equal(dpm_denoiser_eval(ex, m, hypot(s, m * h), N, x, NULL, x0b, NULL), DPM_SUCCESS);
  assert_memory_equal(x0a, x0b, sizeof x0a);
  assert_raises_null(dpm_denoiser_smoothed_alloc(ex, -0.1), "width");
  assert_raises_null(dpm_denoiser_smoothed_alloc(NULL, 0.1), "NULL");
  dpm_denoiser_free(sm0);
  dpm_denoiser_free(sm);
  dpm_denoiser_free(ex);
  dpm_mixture_free(mix);
}

/* The spacing of circle:n=16,r=2 is its chord 2 r sin(pi/16) (every point has two neighbours at that distance).
 * A constructed sample of 20 points, each at a known distance from its own point of the set (0.5 or 1.5 radii,
 * both below half the spacing, so that point is the nearest): the share is the count at 0.5 radii over 20, the
 * standard error sqrt(p (1 - p)/20), the mean distance the mean of the constructed distances. */
static void test_memorisation_share(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("circle:n=16,r=2");
  const size_t K = mix->K, d = mix->d;
  double sp;
  assert_int_equal(dpm_optim_nn_spacing(K, d, mix->mu, &sp), DPM_SUCCESS);
  dpm_test_assert_close(sp, 4.0 * sin(M_PI / 16), 8 * EPSU, 0.0, "chord", __FILE__, __LINE__);
  enum { N = 20, NIN = 7 };
  const double rel = 0.2, rad = rel * sp;
  double x[N * 2], want = 0.0;
  gsl_rng *r = dpm_rng_stream_alloc(5, 0);
  for (size_t i = 0; i < N; i++) {
    const size_t k = i % K;
    const double a = (i < NIN ? 0.5 : 1.5) * rad;
    double u[2];
    gsl_ran_dir_2d(r, u, u + 1);
    for (size_t j = 0; j < 2; j++)
      x[i * 2 + j] = mix->mu[k * 2 + j] + a * u[j];
    want += a / N;
  }
  gsl_rng_free(r);
  double share, se, md, md_se, radius;
  assert_int_equal(dpm_optim_memorisation(K, d, mix->mu, N, x, rel, &share, &se, &md, &md_se, &radius),
                   DPM_SUCCESS);
  dpm_test_assert_close(radius, rad, 4 * EPSU, 0.0, "radius", __FILE__, __LINE__);
  dpm_test_assert_close(share, (double)NIN / N, 4 * EPSU, 0.0, "share", __FILE__, __LINE__);
  dpm_test_assert_close(se, sqrt(0.35 * 0.65 / N), 8 * EPSU, 0.0, "binomial se", __FILE__, __LINE__);
  dpm_test_assert_close(md, want, 64 * EPSU, 0.0, "mean distance", __FILE__, __LINE__);
  assert_raises(dpm_optim_memorisation(K, d, mix->mu, N, x, 0.0, &share, NULL, NULL, NULL, NULL), GSL_EDOM,
                "radius");
  assert_raises(dpm_optim_nn_spacing(1, d, mix->mu, &sp), GSL_EINVAL, "2 points");
  const double twice[4] = {1.0, 1.0, 1.0, 1.0};
  assert_raises(dpm_optim_nn_spacing(2, 2, twice, &sp), GSL_EDOM, "repeated");
  dpm_mixture_free(mix);
}

/* One DDIM run of n samples on the EDM process (VE coordinates, t = sigma) from sigma_max = 10 to sigma_min =
 * 1e-3 over K steps uniform in sigma, with the model dn; the memorised share (radius 0.1 spacing) and its se. */
static void ddim_share(const dpm_mixture *mix, dpm_denoiser *dn, size_t K, size_t n, double *share, double *se,
                       double *mdist)
{
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, "edm:sigma_min=1e-3,sigma_max=10"), 0);
  dpm_timeline *tl = dpm_timeline_alloc(K);
  assert_int_equal(dpm_timeline_set_grid(tl, &p, "uniform", K, 0.0), DPM_SUCCESS);
  double *x = malloc(n * mix->d * sizeof *x);
  dpm_test_gaussian_starts(n, mix->d, tl->s[0], 9, x);
  dpm_sampler_params par;
  dpm_sampler_params_default(&par);
  assert_int_equal(dpm_test_sampler_run(&dpm_sampler_ddim, dn, tl, &par, 1, n, x), K);
  assert_int_equal(dpm_optim_memorisation(mix->K, mix->d, mix->mu, n, x, 0.1, share, se, NULL, NULL, NULL),
                   DPM_SUCCESS);
  if (mdist) {
    double *md = malloc(n * sizeof *md), s = 0.0;
    assert_int_equal(dpm_optim_sphere_dist(1, 1.0, mix->d, n, x, md), DPM_SUCCESS);
    for (size_t i = 0; i < n; i++)
      s += md[i] / (double)n;
    *mdist = s;
    free(md);
  }
  free(x);
  dpm_timeline_free(tl);
  dpm_process_clear(&p);
}

/* The ideal denoiser of a finite set memorises: the last DDIM step lands on x0-hat(x, sigma_{K-1}), a softmax mean
 * of the points at temperature sigma_{K-1} = 1e-3 + (10 - 1e-3)/K, which is within the radius (0.1 x the spacing
 * 0.765 of circle:n=8) of the nearest point unless x lies within ~ sigma^2 log(spacing/radius)/spacing of a
 * bisector. The share must grow with K — each step up at least not lower by more than two standard errors of the
 * difference, and from K = 8 (sigma_{K-1} > the spacing: the softmax mean falls between points) to K = 512 by more
 * than five — and reach 1 at K = 512 (sigma_{K-1} = 0.02: the band around the bisectors is ~ 1e-3 wide and q at
 * sigma = 0.02 puts mass ~ exp(-0.38^2/(2 0.02^2)) on it, so not one of 400 samples may miss). The smoothed model
 * at h = 0.4 (half the spacing) reads the set at sigma' >= 0.4 where the softmax mean is a barycentre of
 * neighbours: its share stays below 0.1 at K = 512 while its samples lie closer to the circle (within 0.15 on
 * average, the sagitta of barycentres of neighbours is 1 - cos(pi/8) = 0.076) than to the points. */
static void test_memorisation_grows(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("circle:n=8");
  dpm_denoiser *ex = dpm_denoiser_oracle_alloc(mix);
  const size_t Ks[] = {8, 32, 64, 128, 512}, n = 400;
  double prev = -1.0, prev_se = 0.0, first = NAN, first_se = NAN, sh = NAN, se = NAN;
  for (size_t k = 0; k < 5; k++) {
    ddim_share(mix, ex, Ks[k], n, &sh, &se, NULL);
    if (k == 0) first = sh, first_se = se;
    assert_true(sh >= prev - 2.0 * hypot(se, prev_se));
    prev = sh;
    prev_se = se;
  }
  assert_true(sh - first > 5.0 * hypot(fmax(se, 1.0 / (double)n), first_se));
  assert_true(sh == 1.0);
  dpm_denoiser *sm = dpm_denoiser_smoothed_alloc(ex, 0.4);
  double man;
  ddim_share(mix, sm, 512, n, &sh, &se, &man);
  assert_true(sh + 2.0 * se < 0.1);
  assert_true(man < 0.15);
  dpm_denoiser_free(sm);
  dpm_denoiser_free(ex);
  dpm_mixture_free(mix);
}

/* Read the rows of `dpmlab memorisation` output: share, share_se, mean_dist of row i (0-based) */
static void row_values(const char *out, size_t row, double *share, double *se, double *md)
{
  const char *line = strchr(out, '\n');
  for (size_t i = 0; i < row && line; i++)
    line = strchr(line + 1, '\n');
  assert_non_null(line);
  /* sampler,steps,nfe,denoiser,radius,share,share_se,mean_dist,... (the denoiser here has no comma) */
  const char *c = line + 1;
  for (int f = 0; f < 5; f++) {
    c = strchr(c, ',');
    assert_non_null(c);
    c++;
  }
  assert_int_equal(sscanf(c, "%lf,%lf,%lf", share, se, md), 3);
}

/* The command's rows are the library's numbers: the same runs (ddim, EDM process uniform in sigma, the prior draws
 * of stream (seed, j)) through the driver and dpm_optim_memorisation give the same bits; --threads 1 and 2
 * print the same output (n x d = 5000 points: the parallel branches are taken); the failure contract. */
static void test_memorisation_cli(void **state)
{
  (void)state;
  const char *args = "memorisation --data circle:n=8 --process edm:sigma_min=1e-3,sigma_max=10 --grid uniform "
                     "--steps-list 16,64 --denoisers 'exact;smoothed:h=0.4' --n 300 --seed 4";
  char *out = dpm_test_run_ok(args, NULL);
  dpm_mixture *mix = dpm_test_mixture("circle:n=8");
  dpm_denoiser *ex = dpm_denoiser_oracle_alloc(mix), *sm = dpm_denoiser_smoothed_alloc(ex, 0.4);
  dpm_denoiser *models[2] = {ex, sm};
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, "edm:sigma_min=1e-3,sigma_max=10"), 0);
  const size_t Ks[2] = {16, 64}, n = 300;
  double *x = malloc(n * 2 * sizeof *x);
  dpm_sampler *smp = dpm_sampler_alloc(&dpm_sampler_ddim, n, 2, 64);
  dpm_timeline *tl = dpm_timeline_alloc(64);
  for (size_t k = 0; k < 2; k++)
    for (size_t m = 0; m < 2; m++) {
      assert_int_equal(dpm_timeline_set_grid(tl, &p, "uniform", Ks[k], 0.0), DPM_SUCCESS);
      dpm_sampler_problem pb = {.dn = models[m], .tl = tl, .mix = mix};
      dpm_sampler_params_default(&pb.par);
      assert_int_equal(dpm_sampler_run(smp, &pb, 4, n, x, 0, NULL), DPM_SUCCESS);
      double a, b, c, sa, sb, sc;
      assert_int_equal(dpm_optim_memorisation(8, 2, mix->mu, n, x, 0.1, &a, &b, &c, NULL, NULL), DPM_SUCCESS);
      row_values(out, 2 * k + m, &sa, &sb, &sc);
      assert_true(a == sa && b == sb && c == sc);
    }
  free(out);
  /* --sampler and --denoiser are the same options as the plural lists: the same bits */
  char *o_alias =
      dpm_test_run_ok("memorisation --data circle:n=8 --process edm:sigma_min=1e-3,sigma_max=10 --grid "
                      "uniform --steps-list 16,64 --denoiser 'exact;smoothed:h=0.4' --sampler ddim "
                      "--n 300 --seed 4",
                      NULL);
  char *o_plural = dpm_test_run_ok(args, NULL);
  assert_string_equal(o_alias, o_plural);
  free(o_alias);
  free(o_plural);
  /* a model spec with options is one quoted CSV field */
  char *o_q = dpm_test_run_ok("memorisation --data circle:n=8 --steps-list 4 --denoisers 'relerr:eta=0.2,seed=3' "
                              "--n 10",
                              NULL);
  assert_non_null(strstr(o_q, "\nddim,4,4,\"relerr:eta=0.2,seed=3\",0."));
  free(o_q);
  char cmd[512];
  char *o1 = NULL, *o2 = NULL;
  const char *big = "memorisation --data circle:n=8 --process edm --grid uniform --steps-list 8 --n 2500";
  snprintf(cmd, sizeof cmd, "%s %s --threads 1", dpm_test_bin(), big);
  assert_int_equal(dpm_test_run(cmd, NULL, &o1, NULL), 0);
  snprintf(cmd, sizeof cmd, "%s %s --threads 2", dpm_test_bin(), big);
  assert_int_equal(dpm_test_run(cmd, NULL, &o2, NULL), 0);
  assert_string_equal(o1, o2);
  free(o1);
  free(o2);
  const char *outp = dpm_test_tmpfile(".csv", "");
  remove(outp);
  dpm_test_expect_failure("memorisation --data ring8", NULL, outp, 1, "not a point set", 0);
  dpm_test_expect_failure("memorisation --data circle:n=8 --samplers nope", NULL, outp, 2, "nope", 1);
  dpm_test_expect_failure("memorisation --data circle:n=8 --denoisers 'smoothed:h=-1'", NULL, outp, 2, "smoothed",
                          2);
  dpm_test_expect_failure("memorisation --data circle:n=8 --denoisers 'exact;;'", NULL, outp, 2, "--denoisers", 3);
  dpm_test_expect_failure("memorisation --data circle:n=8 --radius 0", NULL, outp, 2, "--radius", 4);
  dpm_test_expect_failure("memorisation --data circle:n=8 --process vp", NULL, outp, 2, "ve or edm", 5);
  dpm_test_expect_failure("memorisation --data circle:n=8 --steps-list 4,x", NULL, outp, 2, "--steps-list", 6);
  dpm_test_expect_failure("memorisation --data circle:n=1", NULL, outp, 1, "spacing", 7);
  dpm_timeline_free(tl);
  dpm_sampler_free(smp);
  free(x);
  dpm_process_clear(&p);
  dpm_denoiser_free(sm);
  dpm_denoiser_free(ex);
  dpm_mixture_free(mix);
}

/* The closed-form distance to the circle (k = 1) and to S^2 in R^d against the dense sets sampling them: the
 * distance to the set is at least the distance to the manifold (the set lies on it) and at most that plus the
 * farthest a point of the manifold is from the set — for circle:n=N the half-arc chord 2 r sin(pi/(2N)) — so the
 * two agree to that; on sphere: the lower bound alone (the covering radius of random points is not closed form),
 * with the distance to the manifold 0 at the set's own points. */
static void test_sphere_dist(void **state)
{
  (void)state;
  dpm_mixture *c = dpm_test_mixture("circle:n=4096,d=5,r=2");
  enum { N = 64 };
  double *x = malloc(N * 5 * sizeof *x), md[N];
  dpm_test_gaussian_starts(N, 5, 1.5, 3, x);
  assert_int_equal(dpm_optim_sphere_dist(1, 2.0, 5, N, x, md), DPM_SUCCESS);
  const double cover = 4.0 * sin(M_PI / (2 * 4096.0));
  for (size_t i = 0; i < N; i++) {
    const double ds = sqrt(dpm_distance_min2(c->K, 5, c->mu, x + i * 5, NULL));
    assert_true(ds >= md[i] - 16 * EPSU * (ds + 2.0));
    assert_true(ds <= md[i] + cover + 16 * EPSU * (ds + 2.0));
  }
  dpm_mixture *s = dpm_test_mixture("sphere:n=64,k=2,d=7,r=1.5,seed=2");
  double zero[64];
  assert_int_equal(dpm_optim_sphere_dist(2, 1.5, 7, s->K, s->mu, zero), DPM_SUCCESS);
  for (size_t i = 0; i < s->K; i++)
    assert_true(zero[i] <= 16 * EPSU);
  assert_int_equal(dpm_optim_sphere_dist(2, 1.5, 5, N, x, md), DPM_SUCCESS);
  for (size_t i = 0; i < N; i++) {
    double a = 0, b = 0;
    for (size_t j = 0; j < 5; j++)
      *(j < 3 ? &a : &b) += x[i * 5 + j] * x[i * 5 + j];
    dpm_test_assert_close(md[i], hypot(sqrt(a) - 1.5, sqrt(b)), 8 * EPSU, 0.0, "sphere", __FILE__, __LINE__);
  }
  assert_raises(dpm_optim_sphere_dist(5, 1.0, 5, N, x, md), GSL_EDOM, "k + 1 <= d");
  assert_raises(dpm_optim_sphere_dist(1, -1.0, 5, N, x, md), GSL_EDOM, "radius");
  free(x);
  dpm_mixture_free(s);
  dpm_mixture_free(c);
}

/* x - sigma eps*(x, sigma) -> proj_K(x) as sigma -> 0, with its rate measured. With p the nearest point of the set
 * to x and gaps D_y = |x - y|^2 - |x - p|^2, x0-hat - p = sum_{y != p} w_y (y - p)/(1 + sum w), w_y = exp(-D_y u),
 * u = 1/(2 sigma^2): log|x0-hat - p| = -D_q u + log|(q - p) + sum_{y != p,q} e^{-(D_y - D_q) u}(y - p)| - log(1 +
 * sum w), q the second nearest. The measured slope of log|x0-hat - p| against u between successive sigma is -D_q
 * up to the derivative of the last two terms on the interval, bounded by B(u) = sum_{y != p,q} c(D_y - D_q, u)|y -
 * p| / (|q - p| - sum e^{-(D_y - D_q) u}|y - p|) + sum_{y != p} c(D_y, u), c(D, u) = max_{u' >= u} D e^{-D u'}; so
 * |slope + D_q| <= B(u_j) plus the rounding of the two logs, wherever the leading term dominates (the denominator
 * of B is > 0). Checked on circle:n=50 in R^64 and on S^2 in R^16,
 * from points near a point of the set (a fifth of the way to its neighbour, off the manifold by 0.02), for sigma
 * from 0.06 down to where the error falls below 1e-9 — and there the bound is below 5% of D_q (1e-5 on the
 * circle; a third point nearly as close as q slows the separation on the sphere), so the rate
 * exp(-D_q/(2 sigma^2)) is measured, not assumed. */
static void check_rate(const char *spec)
{
  dpm_mixture *mix = dpm_test_mixture(spec);
  const size_t K = mix->K, d = mix->d;
  const double *Y = mix->mu;
  double *x = dpm_test_vec(d), *eps = dpm_test_vec(d), *Dg = dpm_test_vec(K), *len = dpm_test_vec(K);
  gsl_rng *r = dpm_rng_stream_alloc(17, 0);
  for (int rep = 0; rep < 6; rep++) {
    size_t k = gsl_rng_uniform_int(r, K), kn = 0;
    (void)dpm_distance_min2(K, d, Y, Y + k * d, NULL);
    double best = HUGE_VAL;
    for (size_t y = 0; y < K; y++) { /* the nearest other point: x goes a fifth of the way towards it */
      if (y == k) continue;
      double s2 = 0;
      for (size_t j = 0; j < d; j++)
        s2 += (Y[y * d + j] - Y[k * d + j]) * (Y[y * d + j] - Y[k * d + j]);
      if (s2 < best) best = s2, kn = y;
    }
    for (size_t j = 0; j < d; j++)
      x[j] = Y[k * d + j] + 0.2 * (Y[kn * d + j] - Y[k * d + j]) + (j + 1 == d ? 0.02 : 0.0);
    size_t p = 0;
    const double D2p = dpm_distance_min2(K, d, Y, x, &p);
    size_t q = p;
    double Dq = HUGE_VAL;
    for (size_t y = 0; y < K; y++) {
      double a = 0, b = 0;
      for (size_t j = 0; j < d; j++) {
        a += (x[j] - Y[y * d + j]) * (x[j] - Y[y * d + j]);
        b += (Y[y * d + j] - Y[p * d + j]) * (Y[y * d + j] - Y[p * d + j]);
      }
      Dg[y] = a - D2p;
      len[y] = sqrt(b);
      if (y != p && Dg[y] < Dq) Dq = Dg[y], q = y;
    }
    assert_true(q != p && Dq > 0.0);
    double prev_u = NAN, prev_l = NAN, last_bound = HUGE_VAL;
    int checked = 0;
    for (double sigma = 0.06;; sigma *= 0.9) {
      assert_int_equal(dpm_distance_eval(K, d, Y, sigma, 1, x, NULL, NULL, eps, NULL, NULL), DPM_SUCCESS);
      double e2 = 0;
      for (size_t j = 0; j < d; j++) {
        const double u0 = x[j] - sigma * eps[j] - Y[p * d + j];
        e2 += u0 * u0;
      }
      const double err = sqrt(e2), u = 1.0 / (2.0 * sigma * sigma), l = log(err);
      if (err < 1e-9) break;
      if (!isnan(prev_u)) {
        double num = 0, lead = len[q], tail = 0;
        for (size_t y = 0; y < K; y++) {
          if (y == p) continue;
          const double cw = Dg[y] * prev_u >= 1 ? Dg[y] * exp(-Dg[y] * prev_u) : 1.0 / (M_E * prev_u);
          tail += cw;
          if (y == q) continue;
          const double g = Dg[y] - Dq;
          num += (g * prev_u >= 1 ? g * exp(-g * prev_u) : 1.0 / (M_E * prev_u)) * len[y];
          lead -= exp(-g * prev_u) * len[y];
        }
        if (lead > 0.0) { /* else the competitors are not yet separated: the expansion does not apply */
          const double round = 2.0 * 64 * EPSU * 4.0 / (err * (u - prev_u));
          const double bound = num / lead + tail + round, slope = (l - prev_l) / (u - prev_u);
          dpm_test_assert_close(slope, -Dq, 0.0, bound, "log-slope of |x0-hat - proj| in 1/(2 sigma^2)", __FILE__,
                                __LINE__);
          last_bound = bound;
          checked++;
        }
      }
      prev_u = u;
      prev_l = l;
    }
    assert_true(checked >= 3);
    assert_true(last_bound < 0.05 * Dq);
  }
  gsl_rng_free(r);
  free(x);
  free(eps);
  free(Dg);
  free(len);
  dpm_mixture_free(mix);
}

static void test_projection_rate(void **state)
{
  (void)state;
  check_rate("circle:n=50,d=64");
  check_rate("sphere:n=200,k=2,d=16,seed=3");
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_smoothed_denoiser),  cmocka_unit_test(test_memorisation_share),
      cmocka_unit_test(test_memorisation_grows), cmocka_unit_test(test_memorisation_cli),
      cmocka_unit_test(test_sphere_dist),        cmocka_unit_test(test_projection_rate),
  };
  return cmocka_run_group_tests_name("optim_memo", tests, NULL, NULL);
}
