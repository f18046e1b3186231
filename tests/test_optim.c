/* test_optim.c — the optimisation view of Permenter & Yuan (arXiv 2306.04848; docs/MATH.md §2.10) against
 * independent routes: the DDIM step of the exact mixture oracle equals the gradient step on the smoothed 1/2
 * dist^2 to rounding under three schedules; the diagnostics against brute force and the relative-error wrapper's
 * exact size; the exact denoiser has eta = 0 against the smoothed gradient; the largest admissible log-linear beta
 * against its closed form and monotone in eta; the two-sided distance bound along DDIM for the exact and a
 * relative-error denoiser; x - sigma eps* -> the projection on the circle and sphere sets at the exponential rate.
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

enum { K7 = 7, D3 = 3, D2 = 2 };

/* Seven points in R^3 (multiples of 1/8) and, below, their first two coordinates spread out in R^2. */
static const double Y7[K7 * D3] = {0.0, 0.0, 0.0, 1.0,  0.5,  -0.25,  -1.25, 0.75, 0.5,   0.5, -1.5,
                                   1.0, 2.0, 2.0, -1.0, -2.0, -0.125, 0.375, 1.5,  -1.75, -0.5};
static const double P7[K7 * D2] = {0.0, 0.0, 3.0, 0.5, -2.5, 1.5, 1.0, -3.0, 4.0, 4.0, -4.0, -0.5, 2.5, -3.5};

static double max_abs(size_t n, const double *v)
{
  double m = 0.0;
  for (size_t i = 0; i < n; i++)
    m = fmax(m, fabs(v[i]));
  return m;
}

/* The three schedules of the talk at N = 10 from sigma = 4 to 0.02: log-linear, EDM's rho = 7, uniform. */
static void schedules(double sig[3][11])
{
  const double smax = 4.0, smin = 0.02, rho = 7.0;
  for (int i = 0; i <= 10; i++) {
    const double u = i / 10.0;
    sig[0][i] = smax * pow(smin / smax, u);
    sig[1][i] = pow(pow(smax, 1 / rho) + u * (pow(smin, 1 / rho) - pow(smax, 1 / rho)), rho);
    sig[2][i] = smax + u * (smin - smax);
  }
}

/* DDIM through the oracle of the point-set mixture (Tweedie on point masses) against the gradient step through
 * dpm_distance_eval: the same number by two codes. Rounding: each eps carries an absolute error of a few ulps of
 * (|x| + max|y|)/sigma, multiplied by sigma - sigma' <= sigma, so |difference| <= 64 eps (|x| + max|y|). */
static void test_ddim_is_gradient_step(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_points(K7, D3, Y7, NULL);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  assert_non_null(dn);
  double sig[3][11];
  schedules(sig);
  enum { N = 64 };
  double x[N * D3], a[N * D3], b[N * D3];
  gsl_rng *r = dpm_rng_stream_alloc(8, 0);
  const double ymax = max_abs(K7 * D3, Y7);
  for (int s = 0; s < 3; s++)
    for (int t = 0; t < 10; t++) {
      for (size_t i = 0; i < N * D3; i++)
        x[i] = gsl_ran_gaussian(r, 1.0 + sig[s][t]);
      assert_int_equal(dpm_optim_ddim_step(dn, sig[s][t], sig[s][t + 1], N, x, a), DPM_SUCCESS);
      assert_int_equal(dpm_optim_grad_step(K7, D3, Y7, sig[s][t], sig[s][t + 1], N, x, b), DPM_SUCCESS);
      for (size_t i = 0; i < N * D3; i++)
        dpm_test_assert_close(a[i], b[i], 0.0, 64 * EPSU * (max_abs(N * D3, x) + ymax), "DDIM = gradient step",
                              __FILE__, __LINE__);
    }
  /* the last step to sigma = 0 is the projection-like x0-hat in both routes */
  assert_int_equal(dpm_optim_ddim_step(dn, 0.5, 0.0, N, x, a), DPM_SUCCESS);
  assert_int_equal(dpm_optim_grad_step(K7, D3, Y7, 0.5, 0.0, N, x, b), DPM_SUCCESS);
  for (size_t i = 0; i < N * D3; i++)
    dpm_test_assert_close(a[i], b[i], 0.0, 64 * EPSU * (max_abs(N * D3, x) + ymax), "step to 0", __FILE__,
                          __LINE__);
  assert_raises(dpm_optim_ddim_step(dn, 0.0, 0.0, 1, x, a), GSL_EDOM, "sigma");
  assert_raises(dpm_optim_grad_step(K7, D3, Y7, 1.0, -1.0, 1, x, a), GSL_EDOM, "sigma_prev");
  gsl_rng_free(r);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* dist by brute force, ratio, x0-hat = x - sigma eps; grad_err of the oracle ~ rounding and of the relative-error
 * wrapper exactly eta_err sigma |eps*| / dist (its perturbation has norm eta_err |eps|). */
static void test_diagnose(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_points(K7, D3, Y7, NULL);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_denoiser *bad = dpm_denoiser_relerr_alloc(dn, 0.3, 5);
  assert_non_null(bad);
  enum { N = 32 };
  double x[N * D3], dist[N], sd2[N], ratio[N], x0[N * D3], ge[N], eps[N * D3], ge_bad[N];
  gsl_rng *r = dpm_rng_stream_alloc(9, 0);
  for (size_t i = 0; i < N * D3; i++)
    x[i] = gsl_ran_gaussian(r, 2.0);
  const double sigma = 0.7, ymax = max_abs(K7 * D3, Y7);
  assert_int_equal(dpm_optim_diagnose(K7, D3, Y7, dn, sigma, N, x, dist, sd2, ratio, x0, ge), DPM_SUCCESS);
  assert_int_equal(dpm_optim_diagnose(K7, D3, Y7, bad, sigma, N, x, NULL, NULL, NULL, NULL, ge_bad), DPM_SUCCESS);
  assert_int_equal(dpm_distance_eval(K7, D3, Y7, sigma, N, x, NULL, NULL, eps, NULL, NULL), DPM_SUCCESS);
  for (size_t i = 0; i < N; i++) {
    double best = HUGE_VAL;
    for (size_t k = 0; k < K7; k++) {
      double s = 0;
      for (size_t j = 0; j < D3; j++)
        s += (x[i * D3 + j] - Y7[k * D3 + j]) * (x[i * D3 + j] - Y7[k * D3 + j]);
      best = fmin(best, s);
    }
    dpm_test_assert_close(dist[i], sqrt(best), 4 * EPSU, 0.0, "dist", __FILE__, __LINE__);
    dpm_test_assert_close(ratio[i], sqrt(best) / (sqrt(3.0) * sigma), 8 * EPSU, 0.0, "ratio", __FILE__, __LINE__);
    /* exact bounds of §2.8: min - 2 sigma^2 log K <= dist^2(x, sigma) <= min */
    assert_true(sd2[i] <= best * (1 + 4 * EPSU) && sd2[i] >= best - 2 * sigma * sigma * log((double)K7) - 1e-14);
    const double scale = 64 * EPSU * (max_abs(D3, x + i * D3) + ymax);
    double en = 0;
    for (size_t j = 0; j < D3; j++) {
      dpm_test_assert_close(x0[i * D3 + j], x[i * D3 + j] - sigma * eps[i * D3 + j], 0.0, scale, "x0-hat",
                            __FILE__, __LINE__);
      en += eps[i * D3 + j] * eps[i * D3 + j];
    }
    assert_true(ge[i] <= scale / dist[i]);
    dpm_test_assert_close(ge_bad[i], 0.3 * sigma * sqrt(en) / dist[i], 1e-12, scale / dist[i], "relerr grad_err",
                          __FILE__, __LINE__);
  }
  gsl_rng_free(r);
  dpm_denoiser_free(bad);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* Against the smoothed gradient the exact denoiser's eta is rounding: |sigma eps - sigma eps*| <= 64 eps (|x| +
 * max|y|) at dist >= r_lo... the nearest point may be closer than r, so we bound by the sampled minimum distance.
 */
static void test_relerr_exact(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_points(K7, D3, Y7, NULL);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  double eta, dr[2], sr[2];
  assert_int_equal(
      dpm_optim_relerr_measure(K7, D3, Y7, dn, DPM_OPTIM_GRAD_SMOOTHED, 2.0, 0.05, 3.0, 500, 11, &eta, dr, sr),
      DPM_SUCCESS);
  const double xmax = max_abs(K7 * D3, Y7) + 3.0 * sqrt(3.0);
  assert_true(eta <= 64 * EPSU * (xmax + max_abs(K7 * D3, Y7)) / dr[0]);
  assert_true(dr[0] > 0 && dr[1] <= 3.0 && sr[0] >= dr[0] / (2.0 * sqrt(3.0)) && sr[1] <= 2.0 * dr[1] / sqrt(3.0));
  /* against the true gradient x - proj the exact denoiser is not exact: eta > 0 and grows with nu (a wider band
   * holds the narrower one, same points) */
  double eta_true1, eta_true2;
  assert_int_equal(dpm_optim_relerr_measure(K7, D3, Y7, dn, DPM_OPTIM_GRAD_TRUE, 1.5, 0.05, 3.0, 500, 11,
                                            &eta_true1, NULL, NULL),
                   DPM_SUCCESS);
  assert_int_equal(dpm_optim_relerr_measure(K7, D3, Y7, dn, DPM_OPTIM_GRAD_TRUE, 1.0, 0.05, 3.0, 500, 11,
                                            &eta_true2, NULL, NULL),
                   DPM_SUCCESS);
  assert_true(eta_true1 > 0.0 && eta_true2 > 0.0);
  assert_raises(
      dpm_optim_relerr_measure(K7, D3, Y7, dn, DPM_OPTIM_GRAD_TRUE, 0.5, 0.05, 3.0, 10, 1, &eta, NULL, NULL),
      GSL_EDOM, "nu");
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* Log-linear schedules: the conditions (1 +- beta eta/(1 - beta))^N against nu/ratio0 and 1/(nu ratio0) give
 * beta_max = min(a/(eta + a), b/(eta + b), cap), a = (nu/r0)^(1/N) - 1, b = 1 - (nu r0)^(-1/N): the bisection
 * against that closed form (to 1e-9: bisection 1e-12 plus N ulps of the products), and non-increasing in eta. */
static void test_beta_max(void **state)
{
  (void)state;
  const double nu = 2.0, cap = 0.9;
  const size_t Ns[] = {5, 20, 100};
  const double r0s[] = {1.0, 0.7, 1.8};
  for (int a_ = 0; a_ < 3; a_++)
    for (int c = 0; c < 3; c++) {
      const double N = (double)Ns[a_], r0 = r0s[c];
      double prev = HUGE_VAL;
      for (int e = 0; e <= 40; e++) {
        const double eta = 0.05 * e;
        double bm;
        assert_int_equal(dpm_optim_loglinear_beta_max(Ns[a_], eta, nu, r0, cap, &bm), DPM_SUCCESS);
        const double A = pow(nu / r0, 1 / N) - 1, B = 1 - pow(nu * r0, -1 / N);
        const double want = eta == 0.0 ? cap : fmin(cap, fmin(A / (eta + A), B / (eta + B)));
        dpm_test_assert_close(bm, want, 0.0, 1e-9, "beta_max closed form", __FILE__, __LINE__);
        assert_true(bm <= prev);
        prev = bm;
      }
    }
  const double bad[3] = {1.0, 0.5, 0.6};
  assert_int_equal(dpm_optim_schedule_admissible(2, bad, 0.1, 2.0, 1.0), -1);
  dpm_test_assert_reason_has("schedule", __FILE__, __LINE__);
  const double sched[3] = {1.0, 0.5, 0.0};
  assert_int_equal(dpm_optim_schedule_admissible(2, sched, 0.1, 2.0, 1.0), 1);  /* factors 1.1 and 0.9 over 0.5 */
  assert_int_equal(dpm_optim_schedule_admissible(2, sched, 1.5, 2.0, 1.0), 0);  /* beta (eta + 1) = 1.25 >= 1 */
  assert_int_equal(dpm_optim_schedule_admissible(2, sched, 0.1, 2.0, 3.0), -1); /* start outside the band */
}

/* The two-sided bound with eta measured on the band (relerr_measure), along DDIM from 20 starts at dist ~
 * sqrt(d) sigma_0 on a log-linear schedule: it holds at every step to rounding. The per-step argument (dist is
 * 1-Lipschitz; proj(x_t) is a point of the set) needs exactly that the realised error at each iterate is <= eta,
 * which is checked too for the iterates inside the band, where the measurement applies. */
static void check_bound(dpm_denoiser *dn, double eta)
{
  enum { N = 24, STARTS = 20 };
  double sig[N + 1];
  for (int i = 0; i <= N; i++)
    sig[i] = 0.2 * pow(0.85, i);
  double dist[N + 1], lo[N + 1], hi[N + 1], err[N + 1], x[D2];
  gsl_rng *r = dpm_rng_stream_alloc(12, 0);
  for (int s = 0; s < STARTS; s++) {
    const size_t k = gsl_rng_uniform_int(r, K7);
    gsl_ran_dir_2d(r, x, x + 1);
    for (int j = 0; j < D2; j++) /* dist = sqrt(d) sigma_0 while the nearest point is P7[k] */
      x[j] = P7[k * D2 + j] + sqrt(2.0) * sig[0] * x[j];
    assert_int_equal(dpm_optim_ddim_bound(K7, D2, P7, dn, N, sig, eta, x, dist, lo, hi, err, NULL), DPM_SUCCESS);
    for (int t = 0; t <= N; t++) {
      const double tol = 64 * EPSU * (dist[0] + 8.0);
      assert_true(dist[t] >= lo[t] - tol);
      assert_true(dist[t] <= hi[t] + tol);
      const double ratio = dist[t] / (sqrt(2.0) * sig[t]);
      if (t < N && ratio >= 0.5 && ratio <= 2.0) assert_true(err[t] <= eta);
    }
    assert_true(hi[N] < dist[0]); /* not vacuous: the upper bound contracts when eta < 1 */
  }
  gsl_rng_free(r);
}

/* Near the set (dist <= 0.3, a tenth of the spacing) the exact denoiser nearly projects (eta ~ 0.007 at nu = 2);
 * far from it eta exceeds 1 (the softmax mean is not a point of the set), where the bound no longer contracts. */
static void test_distance_bound(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_points(K7, D2, P7, NULL);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_denoiser *bad = dpm_denoiser_relerr_alloc(dn, 0.15, 3);
  dpm_denoiser *list[2] = {dn, bad};
  for (int m = 0; m < 2; m++) {
    double eta;
    assert_int_equal(dpm_optim_relerr_measure(K7, D2, P7, list[m], DPM_OPTIM_GRAD_TRUE, 2.0, 0.02, 0.3, 2000, 4,
                                              &eta, NULL, NULL),
                     DPM_SUCCESS);
    assert_true(eta < 1.0);
    check_bound(list[m], eta);
  }
  dpm_denoiser_free(bad);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* Manifold sets: points on the set, zero beyond the embedding, and x - sigma eps* -> proj(x) with
 * |x0-hat - p| <= sum_{y != p} exp(-(|x - y|^2 - |x - p|^2)/(2 sigma^2)) |y - p| (weights over the nearest one),
 * which falls below 1e-12 as sigma -> 0. */
static void check_projection(const char *spec, size_t k_dim)
{
  dpm_mixture *mix = dpm_test_mixture(spec);
  const size_t K = mix->K, d = mix->d;
  const double *Y = mix->mu;
  for (size_t i = 0; i < K; i++) {
    double n2 = 0;
    for (size_t j = 0; j < d; j++) {
      if (j > k_dim) assert_true(Y[i * d + j] == 0.0);
      n2 += Y[i * d + j] * Y[i * d + j];
    }
    dpm_test_assert_close(sqrt(n2), 1.0, 8 * EPSU, 0.0, "on the unit sphere", __FILE__, __LINE__);
  }
  double *x = dpm_test_vec(d), *x0 = dpm_test_vec(d), *eps = dpm_test_vec(d);
  gsl_rng *r = dpm_rng_stream_alloc(13, 0);
  for (int rep = 0; rep < 10; rep++) {
    const size_t k = gsl_rng_uniform_int(r, K);
    for (size_t j = 0; j < d; j++)
      x[j] = Y[k * d + j] + gsl_ran_gaussian(r, 0.05 / sqrt((double)d));
    size_t p;
    const double D2p = dpm_distance_min2(K, d, Y, x, &p);
    double last_err = HUGE_VAL;
    for (double sigma = 0.2; sigma > 1e-3; sigma *= 0.5) {
      assert_int_equal(dpm_distance_eval(K, d, Y, sigma, 1, x, NULL, NULL, eps, NULL, NULL), DPM_SUCCESS);
      double e2 = 0, bound = 0, xn = 0;
      for (size_t j = 0; j < d; j++) {
        x0[j] = x[j] - sigma * eps[j];
        e2 += (x0[j] - Y[p * d + j]) * (x0[j] - Y[p * d + j]);
        xn = fmax(xn, fabs(x[j]));
      }
      for (size_t y = 0; y < K; y++) {
        if (y == p) continue;
        double a = 0, b = 0;
        for (size_t j = 0; j < d; j++) {
          a += (x[j] - Y[y * d + j]) * (x[j] - Y[y * d + j]);
          b += (Y[y * d + j] - Y[p * d + j]) * (Y[y * d + j] - Y[p * d + j]);
        }
        bound += exp(-(a - D2p) / (2 * sigma * sigma)) * sqrt(b);
      }
      const double err = sqrt(e2);
      assert_true(err <= bound + 64 * EPSU * sqrt((double)d) * (xn + 1.0));
      last_err = err;
    }
    assert_true(last_err < 1e-12);
  }
  gsl_rng_free(r);
  free(x);
  free(x0);
  free(eps);
  dpm_mixture_free(mix);
}

static void test_manifold_projection(void **state)
{
  (void)state;
  check_projection("circle:n=50,d=64", 1);
  check_projection("sphere:n=200,k=2,d=16,seed=3", 2);
  check_projection("sphere:n=100,k=5,d=6", 5);
  assert_raises_null(dpm_data_from_spec("sphere:k=3,d=3"), "k + 1 <= d");
  assert_raises_null(dpm_data_from_spec("circle:d=65"), "d");
}

/* `dpmlab trace` with ddim on VE walks the sampler table's DDIM; chaining dpm_optim_grad_step over the sigma
 * column it prints must give the same iterates (DDIM = gradient step), to rounding accumulated over the K steps;
 * and its distances are the brute-force ones. */
static void test_trace_cli(void **state)
{
  (void)state;
  enum { K = 6, NP = 2 };
  const double start[NP * D2] = {0.7, 1.9, -3.1, 0.4};
  const char *init = dpm_test_tmpfile(".csv", "0.7,1.9\n-3.1,0.4\n");
  const char *pts = dpm_test_tmpfile(".csv", "0,0\n3,0.5\n-2.5,1.5\n1,-3\n4,4\n-4,-0.5\n2.5,-3.5\n");
  char args[512];
  snprintf(args, sizeof args, "trace --data %s --process ve --sampler ddim --steps %d --grid loglinear --init %s",
           pts, K, init);
  char *out = dpm_test_run_ok(args, NULL);
  const char *line = strchr(out, '\n');
  assert_non_null(line);
  double x[NP * D2];
  memcpy(x, start, sizeof x);
  double prev_sigma = 0.0;
  for (int k = 0; k <= K; k++)
    for (int i = 0; i < NP; i++) {
      unsigned pi, st;
      double sigma, dist, sd2, ratio, ge, xr[D2];
      assert_int_equal(sscanf(line + 1, "%u,%u,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &pi, &st, &sigma, &dist, &sd2, &ratio,
                              &ge, xr, xr + 1),
                       9);
      assert_int_equal(pi, (unsigned)i);
      assert_int_equal(st, (unsigned)k);
      if (k > 0 && i == 0)
        assert_int_equal(dpm_optim_grad_step(K7, D2, P7, prev_sigma, sigma, NP, x, x), DPM_SUCCESS);
      for (int j = 0; j < D2; j++)
        dpm_test_assert_close(xr[j], x[i * D2 + j], 0.0, 64 * EPSU * (k + 1) * (max_abs(NP * D2, start) + 4.0),
                              "trace iterate = gradient steps", __FILE__, __LINE__);
      dpm_test_assert_close(dist, sqrt(dpm_distance_min2(K7, D2, P7, xr, NULL)), 4 * EPSU, 0.0, "trace dist",
                            __FILE__, __LINE__);
      dpm_test_assert_close(ratio, dist / (sqrt(2.0) * sigma), 8 * EPSU, 0.0, "trace ratio", __FILE__, __LINE__);
      if (i == NP - 1) prev_sigma = sigma;
      line = strchr(line + 1, '\n');
      assert_non_null(line);
    }
  free(out);
  snprintf(args, sizeof args, "trace --data %s --process vp --sampler ddim --steps 3 --init %s", pts, init);
  dpm_test_expect_failure(args, NULL, NULL, 2, "ve or edm", 0);
}

/* `dpmlab admissible`: its eta is the library's measurement on the same band (the same bits); the exact denoiser
 * against the smoothed gradient has eta at rounding level and then every beta up to the cap is admissible; the
 * relative-error model's error against the smoothed gradient is exactly eta_err sigma |eps*| / dist at every
 * sampled pair (the same pairs for the same seed), so the measured eta scales with eta_err: the ratio for
 * eta_err = 0.5 and 0.2 is 2.5 to rounding, and beta_max (non-increasing in eta) does not grow; the failure
 * contract for a bad nu, data that is not a point set and a missing --nu. */
static double admissible_row(const char *args, double *beta_max)
{
  char *out = dpm_test_run_ok(args, NULL);
  const char *line = strchr(out, '\n');
  assert_non_null(line);
  double eta = NAN;
  assert_int_equal(sscanf(line + 1, "%lf,%lf", &eta, beta_max), 2);
  free(out);
  return eta;
}

static void test_admissible_cli(void **state)
{
  (void)state;
  double b_exact, b_small, b_large;
  const double e_exact =
      admissible_row("admissible --data circle:n=16 --nu 2 --grad smoothed --samples 500 --seed 3", &b_exact);
  assert_true(fabs(e_exact) < 1e3 * EPSU);
  dpm_test_assert_close(b_exact, 0.5, 0.0, 0.0, "eta = 0: beta_max is the cap", __FILE__, __LINE__);
  const double e_small = admissible_row(
      "admissible --data circle:n=16 --nu 2 --grad smoothed --denoiser relerr:eta=0.2 --samples 500 --seed 3",
      &b_small);
  const double e_large = admissible_row(
      "admissible --data circle:n=16 --nu 2 --grad smoothed --denoiser relerr:eta=0.5 --samples 500 --seed 3",
      &b_large);
  dpm_test_assert_close(e_large / e_small, 2.5, 64 * EPSU, 0.0, "eta scales with the model's error", __FILE__,
                        __LINE__);
  assert_true(b_large <= b_small);
  /* the same measurement through the library */
  dpm_mixture *mix = dpm_data_from_spec("circle:n=16");
  assert_non_null(mix);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  assert_non_null(dn);
  double spread2 = 0.0, mean[2] = {0.0, 0.0};
  for (size_t k = 0; k < mix->K; k++)
    for (size_t j = 0; j < 2; j++)
      mean[j] += mix->mu[k * 2 + j] / (double)mix->K;
  for (size_t k = 0; k < mix->K; k++)
    for (size_t j = 0; j < 2; j++)
      spread2 += (mix->mu[k * 2 + j] - mean[j]) * (mix->mu[k * 2 + j] - mean[j]) / (double)mix->K;
  const double spread = sqrt(spread2);
  double eta = NAN, b_lib = NAN;
  assert_int_equal(dpm_optim_relerr_measure(mix->K, 2, mix->mu, dn, DPM_OPTIM_GRAD_TRUE, 2.0, 1e-3 * spread,
                                            spread, 500, 3, &eta, NULL, NULL),
                   DPM_SUCCESS);
  assert_int_equal(dpm_optim_loglinear_beta_max(10, eta, 2.0, 1.0, 0.5, &b_lib), DPM_SUCCESS);
  double b_cli;
  const double e_cli = admissible_row("admissible --data circle:n=16 --nu 2 --samples 500 --seed 3", &b_cli);
  dpm_test_assert_close(e_cli, eta, 4 * EPSU, 0.0, "admissible eta = library eta", __FILE__, __LINE__);
  dpm_test_assert_close(b_cli, b_lib, 4 * EPSU, 0.0, "admissible beta_max = library", __FILE__, __LINE__);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
  dpm_test_expect_failure("admissible --data circle:n=16 --nu 0.5", NULL, NULL, 2, "--nu", 0);
  dpm_test_expect_failure("admissible --data ring8 --nu 2", NULL, NULL, 0, "not a point set", 1);
  dpm_test_expect_failure("admissible --data circle:n=16", NULL, NULL, 2, "nu", 2);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ddim_is_gradient_step),
      cmocka_unit_test(test_diagnose),
      cmocka_unit_test(test_relerr_exact),
      cmocka_unit_test(test_beta_max),
      cmocka_unit_test(test_distance_bound),
      cmocka_unit_test(test_manifold_projection),
      cmocka_unit_test(test_trace_cli),
      cmocka_unit_test(test_admissible_cli),
  };
  return cmocka_run_group_tests_name("optim", tests, NULL, NULL);
}
