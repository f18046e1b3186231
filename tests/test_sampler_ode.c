/* test_sampler_ode.c — the probability-flow ODE solvers of lib/sampler/ode.c (Song et al. 2021, eq. (13); Karras
 * et al. 2022, Algorithms 1 and 2; docs/samplers.md, docs/MATH.md §1.4, §4): measured global orders of ode-euler,
 * heun, edm-heun and rk4 against a reference solve of the same ODE from the same start points, the VP and VE flows
 * as one ODE after x_VE = x_VP/m on matched sigma grids, rk45's error against its tolerance and its exact NFE, the
 * exact output law of edm-stochastic's churn on Gaussian data, the identities between entries, the final Tweedie
 * step, and the quadratic and file time grids. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "dpmlab.h"
#include "testutil.h"

/* Run entry `name` over tl from the start points x0 (n x d) into x; returns the NFE. */
static unsigned long run(const char *name, const dpm_timeline *tl, dpm_denoiser *dn, const dpm_sampler_params *par,
                         size_t n, const double *x0, double *x)
{
  const dpm_sampler_type *T = dpm_sampler_type_find(name);
  if (!T) fail_msg("no sampler %s", name);
  dpm_sampler *smp = dpm_sampler_alloc(T, n, dn->d, tl->K);
  assert_non_null(smp);
  dpm_sampler_problem pb = {.dn = dn, .tl = tl, .par = *par};
  memcpy(x, x0, n * dn->d * sizeof(double));
  unsigned long nfe = 0;
  int st = dpm_sampler_run(smp, &pb, 7, n, x, 1, &nfe);
  if (st) fail_msg("%s: %s", name, dpm_error_last());
  dpm_sampler_free(smp);
  return nfe;
}

/* n start points from N(0, s^2) (stream (seed, 0)) */
static double *start_points(size_t n, double s, uint64_t seed)
{
  double *x = dpm_test_vec(n);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
  dpm_rng_stream_set(r, seed, 0);
  for (size_t j = 0; j < n; j++)
    x[j] = s * gsl_ran_gaussian_ziggurat(r, 1.0);
  gsl_rng_free(r);
  return x;
}

static double max_abs_diff(const double *a, const double *b, size_t n)
{
  double e = 0.0;
  for (size_t j = 0; j < n; j++)
    e = fmax(e, fabs(a[j] - b[j]));
  return e;
}

/* ---- measured orders -------------------------------------------------------------------------------------- */

/* Global error e(K) = max_j |x_K(j) - x_ref(j)| of 32 start points at K, 2K, 4K, 8K steps of a grid with fixed
 * end points (VP uniform in t from 1 to 1e-3, EDM's rho-grid), on gmm1d (components of sd 0.5: the flow is smooth
 * at every t of the grid). The reference is rk4 with 16 times the largest K; its own error, estimated from the run
 * at half its steps as |ref(Kref) - ref(Kref/2)|/15, must be below 1e-3 of the smallest e. The least-squares slope
 * of log e against log K must be within 0.25 of -p, and each successive log2(e(K)/e(2K)) within 0.35 of p, which
 * shows K in the asymptotic range. In t the flow is stiff at the noisy end (a(1) = -10 on VP), so that range
 * starts at K = 32 for Euler and RK4 and at K = 64 for Heun (whose local slopes from K = 16 are 1.6, 1.8, 1.9). */
static void measure_order(const char *name, const char *proc_spec, const char *grid, unsigned p, size_t K0,
                          const char *data)
{
  dpm_mixture *mix = dpm_test_mixture(data);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_process proc;
  assert_int_equal(dpm_process_parse(&proc, proc_spec), 0);
  const size_t n = 32, Kref = 16 * 8 * K0;
  dpm_timeline *tl = dpm_timeline_alloc(Kref);
  dpm_sampler_params par;
  dpm_sampler_params_default(&par);
  assert_int_equal(dpm_timeline_set_grid(tl, &proc, grid, Kref, 0.0), 0);
  double *x0 = start_points(n, tl->s[0], 11), *ref = dpm_test_vec(n), *x = dpm_test_vec(n);
  run("rk4", tl, dn, &par, n, x0, ref);
  /* the reference's own error: |ref(Kref) - ref(Kref/2)| = (2^4 - 1) its error, asymptotically */
  assert_int_equal(dpm_timeline_set_grid(tl, &proc, grid, Kref / 2, 0.0), 0);
  run("rk4", tl, dn, &par, n, x0, x);
  const double ref_err = max_abs_diff(x, ref, n) / 15.0;
  double lk[4], le[4];
  for (size_t j = 0; j < 4; j++) {
    const size_t K = K0 << j;
    assert_int_equal(dpm_timeline_set_grid(tl, &proc, grid, K, 0.0), 0);
    run(name, tl, dn, &par, n, x0, x);
    lk[j] = log((double)K);
    le[j] = log(max_abs_diff(x, ref, n));
    printf("# %-9s on %s/%s K = %4zu: error %.3e\n", name, proc_spec, grid, K, exp(le[j]));
  }
  double mk = 0.0, me = 0.0, sxy = 0.0, sxx = 0.0;
  for (size_t j = 0; j < 4; j++)
    mk += lk[j] / 4.0, me += le[j] / 4.0;
  for (size_t j = 0; j < 4; j++)
    sxy += (lk[j] - mk) * (le[j] - me), sxx += (lk[j] - mk) * (lk[j] - mk);
  const double slope = sxy / sxx;
  printf("# %-9s fitted slope %.3f (nominal -%u); reference error %.1e\n", name, slope, p, ref_err);
  assert_true(ref_err < 1e-3 * exp(le[3]));
  assert_close(slope, -(double)p, 0.0, 0.25);
  for (size_t j = 0; j + 1 < 4; j++)
    assert_close((le[j] - le[j + 1]) / log(2.0), (double)p, 0.0, 0.35);
  free(x0);
  free(ref);
  free(x);
  dpm_timeline_free(tl);
  dpm_process_clear(&proc);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

static void test_order_euler(void **state)
{
  (void)state;
  measure_order("ode-euler", "vp", "uniform", 1, 32, "gmm1d");
}
static void test_order_heun(void **state)
{
  (void)state;
  measure_order("heun", "vp", "uniform", 2, 64, "gmm1d");
}
static void test_order_edm_heun(void **state)
{
  (void)state;
  measure_order("edm-heun", "edm", "edm", 2, 16, "gmm1d");
}
static void test_order_rk4(void **state)
{
  (void)state;
  measure_order("rk4", "vp", "uniform", 4, 32, "gmm1d");
}

/* ---- VP and VE: one ODE after x_VE = x_VP / m -------------------------------------------------------------- */

/* VP on a uniform grid and EDM (m = 1, t = sigma) on the matched grid t_i = sigma_VP(t_i), started at
 * x_VE = x_VP/m_0. edm-heun works in sigma on x/m, so the two runs are the same computation up to rounding (the
 * oracle at (m, s, x) equals the oracle at (1, s/m, x/m), docs/MATH.md §1.4): agreement to 1e-11 after 64 steps.
 * rk4 integrates each flow in its own time t, so the two runs are different discretisations of one trajectory:
 * they must agree within the sum of their own errors, each estimated from the K/2-step run as |x_K - x_{K/2}|/15.
 */
static void test_vp_ve_coincide(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("gmm1d");
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_process vp, edm;
  assert_int_equal(dpm_process_parse(&vp, "vp"), 0);
  assert_int_equal(dpm_process_parse(&edm, "edm:sigma_max=200"), 0);
  const size_t n = 16, K = 256;
  dpm_timeline *tv = dpm_timeline_alloc(K), *te = dpm_timeline_alloc(K);
  dpm_sampler_params par;
  dpm_sampler_params_default(&par);
  double *sig = dpm_test_vec(K + 1), *xv0 = NULL, *xe0 = dpm_test_vec(n), *xv = dpm_test_vec(n),
         *xe = dpm_test_vec(n), *xv2 = dpm_test_vec(n), *xe2 = dpm_test_vec(n);
  const char *names[] = {"edm-heun", "rk4"};
  const size_t Ks[] = {64, 256};
  for (size_t e = 0; e < 2; e++) {
    for (size_t half = 0; half < 2; half++) {
      const size_t k = half ? Ks[e] / 2 : Ks[e];
      assert_int_equal(dpm_timeline_set_grid(tv, &vp, "uniform", k, 0.0), 0);
      for (size_t i = 0; i <= k; i++)
        sig[i] = tv->s[i] / tv->m[i];
      assert_int_equal(dpm_timeline_set_times(te, &edm, k, sig), 0);
      if (!xv0) {
        xv0 = start_points(n, tv->s[0], 5);
        for (size_t j = 0; j < n; j++)
          xe0[j] = xv0[j] / tv->m[0];
      }
      run(names[e], tv, dn, &par, n, xv0, half ? xv2 : xv);
      run(names[e], te, dn, &par, n, xe0, half ? xe2 : xe);
      const double mK = tv->m[k];
      for (size_t j = 0; j < n; j++)
        (half ? xv2 : xv)[j] /= mK;
    }
    const double err_v = max_abs_diff(xv, xv2, n) / 15.0, err_e = max_abs_diff(xe, xe2, n) / 15.0;
    const double diff = max_abs_diff(xv, xe, n);
    printf("# %s: max |x_VP/m - x_VE| = %.3e (own errors %.1e, %.1e)\n", names[e], diff, err_v, err_e);
    if (e == 0)
      assert_true(diff < 1e-11);
    else {
      assert_true(diff <= err_v + err_e);
      assert_true(diff > 0.0); /* two different discretisations: not the same computation */
    }
  }
  free(sig);
  free(xv0);
  free(xe0);
  free(xv);
  free(xe);
  free(xv2);
  free(xe2);
  dpm_timeline_free(tv);
  dpm_timeline_free(te);
  dpm_process_clear(&vp);
  dpm_process_clear(&edm);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* ---- rk45: tolerance and exact NFE ----------------------------------------------------------------------------
 */

/* A denoiser that counts its own calls (independently of the interface's counter) around the exact one. */
typedef struct {
  dpm_denoiser *inner;
  unsigned long calls;
} counting;

static int counting_eval(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *eps, double *x0,
                         double *score)
{
  counting *c = dn->state;
  c->calls++;
  return dpm_denoiser_eval(c->inner, m, s, n, x, eps, x0, score);
}

static const dpm_denoiser_type counting_type = {"counting", counting_eval, NULL, NULL, NULL};

/* Gaussian data N(mu, v), v <= 1, on VP: the flow is affine in x and backwards in time shrinks differences by
 * sqrt(Var q_b / Var q_a) <= 1, so the global error is at most the sum of the local errors; GSL accepts a step
 * only when its error estimate is <= 1.1 (atol + rtol |y|) per coordinate, every accepted rkf45 step costs at
 * least 5 evaluations, and |y| <= |mu| + max_j |x_0j - m_0 mu| along every path. So
 * max error <= 1.1 (NFE/5) (atol + rtol Y), against an rk4 reference with 4096 steps. The NFE is the count of the
 * counting model, exactly; tightening rtol 100-fold must lower the error. */
static void test_rk45(void **state)
{
  (void)state;
  const double mu = 0.5, v = 0.36;
  dpm_mixture *mix = dpm_test_gauss(1, &mu, &v);
  dpm_denoiser *ex = dpm_denoiser_oracle_alloc(mix);
  counting cnt = {ex, 0};
  dpm_denoiser *dn = dpm_denoiser_alloc(&counting_type, &cnt, 1);
  assert_non_null(dn);
  dpm_process vp;
  assert_int_equal(dpm_process_parse(&vp, "vp"), 0);
  const size_t n = 64, K = 4, Kref = 4096;
  dpm_timeline *tl = dpm_timeline_alloc(Kref);
  dpm_sampler_params par;
  dpm_sampler_params_default(&par);
  assert_int_equal(dpm_timeline_set_grid(tl, &vp, "uniform", Kref, 0.0), 0);
  double *x0 = start_points(n, tl->s[0], 3), *ref = dpm_test_vec(n), *x = dpm_test_vec(n);
  run("rk4", tl, dn, &par, n, x0, ref);
  double Y = 0.0;
  for (size_t j = 0; j < n; j++)
    Y = fmax(Y, fabs(mu) + fabs(x0[j] - tl->m[0] * mu));
  assert_int_equal(dpm_timeline_set_grid(tl, &vp, "uniform", K, 0.0), 0);
  assert_int_equal(dpm_sampler_type_find("rk45")->nfe_per_step, 0);
  double err_prev = INFINITY;
  const double tols[][2] = {{1e-5, 1e-5}, {1e-7, 0.0}, {0.0, 1e-8}};
  for (size_t c = 0; c < 3; c++) {
    par.rtol = tols[c][0];
    par.atol = tols[c][1];
    cnt.calls = 0;
    const unsigned long nfe = run("rk45", tl, dn, &par, n, x0, x);
    const double err = max_abs_diff(x, ref, n), bound = 1.1 * ((double)nfe / 5.0) * (par.atol + par.rtol * Y);
    printf("# rk45 rtol %.0e atol %.0e: NFE %lu, error %.3e, bound %.3e\n", par.rtol, par.atol, nfe, err, bound);
    assert_int_equal(nfe, cnt.calls);
    assert_true(err <= bound);
    if (c == 1) assert_true(err < err_prev);
    err_prev = err;
  }
  par.rtol = par.atol = 0.0;
  dpm_sampler *smp = dpm_sampler_alloc(&dpm_sampler_rk45, n, 1, K);
  dpm_sampler_problem pb = {.dn = dn, .tl = tl, .par = par};
  assert_raises(dpm_sampler_run(smp, &pb, 1, n, x, 0, NULL), GSL_EDOM, "tolerances");
  dpm_sampler_free(smp);
  free(x0);
  free(ref);
  free(x);
  dpm_timeline_free(tl);
  dpm_process_clear(&vp);
  dpm_denoiser_free(dn);
  dpm_denoiser_free(ex);
  dpm_mixture_free(mix);
}

/* ---- edm-stochastic: the exact law of the churned walk ------------------------------------------------------ */

/* With Gaussian data N(mu, v) and the exact denoiser every step of Algorithm 2 is affine in y = x/m - mu plus
 * Gaussian noise: the churn adds variance (sigma^2 - sigma_a^2) S_noise^2, then Heun from sigma^ to sigma_b with
 * dy/dsigma = f(sigma) y, f = sigma/(v + sigma^2), multiplies y by A = 1 + (h/2)(f(sigma^) + f(sigma_b)(1 +
 * h f(sigma^))), h = sigma_b - sigma^. The output law is N(m_K (mu + M), m_K^2 V) from that recursion; the
 * sample mean and variance of 20000 draws must be within 4.5 standard errors. VP on the EDM grid, churned at
 * every sigma >= S_tmin (the first above sigma(t_max), evaluated off the path; the others at t(sigma^)). */
static void test_edm_stochastic_law(void **state)
{
  (void)state;
  const double mu = 0.5, v = 0.36;
  dpm_mixture *mix = dpm_test_gauss(1, &mu, &v);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_process vp;
  assert_int_equal(dpm_process_parse(&vp, "vp"), 0);
  const size_t n = 20000, K = 8;
  dpm_timeline *tl = dpm_timeline_alloc(K);
  assert_int_equal(dpm_timeline_set_grid(tl, &vp, "edm", K, 0.0), 0);
  dpm_sampler_params par;
  dpm_sampler_params_default(&par);
  par.s_churn = 4.0;
  par.s_tmin = 1.0;
  par.s_noise = 1.003;
  double M = -mu, V = tl->s[0] * tl->s[0] / (tl->m[0] * tl->m[0]);
  const double gmax = fmin(par.s_churn / (double)K, sqrt(2.0) - 1.0);
  size_t churned = 0;
  for (size_t i = 0; i < K; i++) {
    const double sa = tl->s[i] / tl->m[i], sb = tl->s[i + 1] / tl->m[i + 1];
    const double g = sa >= par.s_tmin && sa <= par.s_tmax ? gmax : 0.0, sh = (1.0 + g) * sa, h = sb - sh;
    churned += g > 0.0;
    V += (sh * sh - sa * sa) * par.s_noise * par.s_noise;
    const double fh = sh / (v + sh * sh), fb = sb / (v + sb * sb);
    const double A = 1.0 + 0.5 * h * (fh + fb * (1.0 + h * fh));
    M *= A;
    V *= A * A;
  }
  assert_true(churned > 0 && churned < K);
  const double mK = tl->m[K], mean = mK * (mu + M), var = mK * mK * V;
  dpm_sampler *smp = dpm_sampler_alloc(&dpm_sampler_edm_stochastic, n, 1, K);
  double *x = dpm_test_vec(n);
  dpm_sampler_problem pb = {.dn = dn, .tl = tl, .par = par};
  unsigned long nfe = 0;
  assert_int_equal(dpm_sampler_run(smp, &pb, 3, n, x, 0, &nfe), 0);
  assert_int_equal(nfe, 2 * K);
  double m1, se;
  dpm_test_mean_se(x, n, &m1, &se);
  double ss = 0.0;
  for (size_t j = 0; j < n; j++)
    ss += (x[j] - m1) * (x[j] - m1);
  const double var_hat = ss / (double)(n - 1);
  printf("# edm-stochastic: mean %.5f (exact %.5f, se %.1e), variance %.5f (exact %.5f)\n", m1, mean, se, var_hat,
         var);
  assert_within_se(m1, sqrt(var / (double)n), mean, 4.5);
  assert_within_se(var_hat, var * sqrt(2.0 / (double)(n - 1)), var, 4.5);
  par.s_tmax = 0.01; /* below S_tmin: refused */
  pb.par = par;
  assert_raises(dpm_sampler_run(smp, &pb, 3, n, x, 0, NULL), GSL_EDOM, "S_tmin");
  dpm_sampler_free(smp);
  free(x);
  dpm_timeline_free(tl);
  dpm_process_clear(&vp);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* ---- identities between entries ----------------------------------------------------------------------------- */

/* On EDM (m = 1, s = t) the flow in t is the flow in sigma: heun and edm-heun agree to rounding, ode-euler is
 * ddim (Euler in sigma). edm-stochastic without churn (its defaults) is edm-heun bit for bit. The optional
 * Tweedie step costs one NFE and returns x0-hat at the last point; the step into s = 0 on ddpm costs one. */
static void test_identities(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture("ring8");
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_process edm, vp, ddpm;
  assert_int_equal(dpm_process_parse(&edm, "edm"), 0);
  assert_int_equal(dpm_process_parse(&vp, "vp"), 0);
  assert_int_equal(dpm_process_parse(&ddpm, "ddpm:N=100"), 0);
  const size_t n = 50, d = 2, K = 12;
  dpm_timeline *tl = dpm_timeline_alloc(K);
  assert_int_equal(dpm_timeline_set_grid(tl, &edm, "edm", K, 0.0), 0);
  dpm_sampler_params par;
  dpm_sampler_params_default(&par);
  double *x0 = start_points(n * d, tl->s[0], 9), *a = dpm_test_vec(n * d), *b = dpm_test_vec(n * d);
  const char *pairs[][2] = {{"heun", "edm-heun"}, {"ode-euler", "ddim"}};
  for (size_t p = 0; p < 2; p++) {
    run(pairs[p][0], tl, dn, &par, n, x0, a);
    run(pairs[p][1], tl, dn, &par, n, x0, b);
    for (size_t k = 0; k < n * d; k++)
      assert_close(a[k], b[k], 1e-12, 1e-12);
  }
  run("edm-heun", tl, dn, &par, n, x0, a);
  run("edm-stochastic", tl, dn, &par, n, x0, b);
  assert_memory_equal(a, b, n * d * sizeof(double));
  /* the final Tweedie step */
  assert_int_equal(dpm_timeline_set_grid(tl, &vp, "uniform", K, 0.0), 0);
  assert_int_equal(run("ode-euler", tl, dn, &par, n, x0, a), K);
  par.denoise_final = 1;
  assert_int_equal(run("ode-euler", tl, dn, &par, n, x0, b), K + 1);
  double *x0hat = dpm_test_vec(n * d);
  assert_int_equal(dpm_denoiser_eval(dn, tl->m[K], tl->s[K], n, a, NULL, x0hat, NULL), 0);
  assert_memory_equal(b, x0hat, n * d * sizeof(double));
  par.denoise_final = 0;
  /* on ddpm the grid ends at s = 0: the last step is the Euler step in sigma, one NFE, for every ODE entry */
  assert_int_equal(dpm_timeline_set_trajectory(tl, &ddpm, "even", K, NULL), 0);
  const char *names[] = {"ode-euler", "heun", "rk4", "edm-heun"};
  const unsigned long nfe[] = {K, 2 * K - 1, 4 * K - 3, 2 * K - 1};
  for (size_t e = 0; e < 4; e++)
    assert_int_equal(run(names[e], tl, dn, &par, n, x0, a), nfe[e]);
  free(x0hat);
  free(x0);
  free(a);
  free(b);
  dpm_timeline_free(tl);
  dpm_process_clear(&edm);
  dpm_process_clear(&vp);
  dpm_process_clear(&ddpm);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* ---- time grids --------------------------------------------------------------------------------------------- */

static void test_grids(void **state)
{
  (void)state;
  dpm_process vp, ddpm;
  assert_int_equal(dpm_process_parse(&vp, "vp"), 0);
  assert_int_equal(dpm_process_parse(&ddpm, "ddpm:N=1000"), 0);
  dpm_timeline *tl = dpm_timeline_alloc(4);
  assert_int_equal(dpm_timeline_set_grid(tl, &vp, "quadratic", 4, 0.0), 0);
  for (size_t i = 0; i <= 4; i++) {
    const double u = (double)(4 - i) / 4.0;
    assert_close(tl->t[i], vp.t_min + (vp.t_max - vp.t_min) * u * u, 1e-15, 0.0);
  }
  assert_raises(dpm_timeline_set_grid(tl, &vp, "cubic", 4, 0.0), GSL_EINVAL, "quadratic");

  const char *good = dpm_test_tmpfile(".txt", "# a grid for vp\n1.0\n\n  0.5   # the middle\n0.25\n1e-3\n");
  assert_int_equal(dpm_timeline_load_file(tl, &vp, good), 0);
  assert_int_equal(tl->K, 3);
  const double want[] = {1.0, 0.5, 0.25, 1e-3};
  for (size_t i = 0; i <= 3; i++)
    assert_close(tl->t[i], want[i], 0.0, 0.0);
  assert_true(tl->s[3] > 0.0 && tl->m[3] < 1.0);

  char needle[600];
  const char *bad = dpm_test_tmpfile(".txt", "1\n0.5\n# comment\n0.7\n");
  snprintf(needle, sizeof needle, "%s:4", bad);
  assert_raises(dpm_timeline_load_file(tl, &vp, bad), GSL_EDOM, needle);
  bad = dpm_test_tmpfile(".txt", "1\n0.5 0.4\n");
  snprintf(needle, sizeof needle, "%s:2", bad);
  assert_raises(dpm_timeline_load_file(tl, &vp, bad), GSL_EINVAL, needle);
  bad = dpm_test_tmpfile(".txt", "2\n1\n");
  snprintf(needle, sizeof needle, "%s:1", bad);
  assert_raises(dpm_timeline_load_file(tl, &vp, bad), GSL_EDOM, needle);
  bad = dpm_test_tmpfile(".txt", "1\n0.8\n0.6\n0.4\n0.2\n0.1\n");
  snprintf(needle, sizeof needle, "%s:6", bad);
  assert_raises(dpm_timeline_load_file(tl, &vp, bad), GSL_EBADLEN, needle);
  bad = dpm_test_tmpfile(".txt", "# nothing\n0.5\n");
  assert_raises(dpm_timeline_load_file(tl, &vp, bad), GSL_EINVAL, "at least 2");
  bad = dpm_test_tmpfile(".txt", "1000\n500.5\n0\n");
  snprintf(needle, sizeof needle, "%s:2", bad);
  assert_raises(dpm_timeline_load_file(tl, &ddpm, bad), GSL_EDOM, needle);
  assert_raises(dpm_timeline_load_file(tl, &vp, "/nonexistent/grid.txt"), GSL_EFAILED, "cannot open");
  bad = dpm_test_tmpfile(".txt", "1000\n500\n0\n"); /* ddpm: step indices, ending at 0 */
  assert_int_equal(dpm_timeline_load_file(tl, &ddpm, bad), 0);
  assert_int_equal(tl->K, 2);
  assert_int_equal(tl->n[1], 500);
  dpm_timeline_free(tl);
  dpm_process_clear(&vp);
  dpm_process_clear(&ddpm);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_order_euler),
      cmocka_unit_test(test_order_heun),
      cmocka_unit_test(test_order_edm_heun),
      cmocka_unit_test(test_order_rk4),
      cmocka_unit_test(test_vp_ve_coincide),
      cmocka_unit_test(test_rk45),
      cmocka_unit_test(test_edm_stochastic_law),
      cmocka_unit_test(test_identities),
      cmocka_unit_test(test_grids),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
