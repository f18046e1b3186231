/* test_bridge_cli.c — the contract of `dpmlab bridge` (docs/MATH.md §5): the closed form's JSON equals the
 * library's numbers read back bit for bit; ipf lists one entry per full iteration with Cov(X_0, X_1) after it
 * (3/5, 8/13, ... for the check problem, whose S0 S1 = sigma^4 = 1 makes c <- 1/(1 + c)) and err = |C - C_sigma|;
 * sinkhorn's plan file has the weights as row sums and the target weights as column sums within the stopping
 * tolerance, and its JSON costs equal the library's; benchmark's scores equal the library's; paths files have one
 * row per (path, grid point); every bad input fails with one line on stderr and leaves no output file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "dpmlab.h"
#include "testutil.h"

static const char *G0 = "{\"weights\": [1], \"means\": [[-1]], \"covariances\": [0.5]}";
static const char *G1 = "{\"weights\": [1], \"means\": [[1.5]], \"covariances\": [2]}";

static json_t *run_json(const char *args)
{
  char *out = dpm_test_run_ok(args, NULL);
  json_error_t err;
  json_t *j = json_loads(out, 0, &err);
  if (!j) fail_msg("not JSON (%s): %s", err.text, out);
  free(out);
  return j;
}

static double num(const json_t *o, const char *key)
{
  const json_t *v = json_object_get(o, key);
  if (!json_is_number(v)) fail_msg("no number '%s'", key);
  return json_number_value(v);
}

static double mat00(const json_t *o, const char *key)
{
  const json_t *v = json_array_get(json_array_get(json_object_get(o, key), 0), 0);
  if (!json_is_number(v)) fail_msg("no matrix '%s'", key);
  return json_number_value(v);
}

static void test_closed_form_and_ipf(void **state)
{
  (void)state;
  const char *f0 = dpm_test_tmpfile(".json", G0), *f1 = dpm_test_tmpfile(".json", G1);
  char args[1024];
  snprintf(args, sizeof args, "bridge --from %s --to %s --sigma2 1 --method closed-form --t 0.5", f0, f1);
  json_t *j = run_json(args);
  const double m0 = -1, s0 = 0.5, m1 = 1.5, s1 = 2;
  dpm_bridge_gauss *g = dpm_bridge_gauss_alloc(1, &m0, &s0, &m1, &s1, 1.0);
  double mt, St;
  dpm_bridge_gauss_marginal(g, 0.5, &mt, &St);
  assert_true(mat00(j, "C") == g->C[0]);
  assert_true(mat00(j, "D") == g->D[0]);
  assert_true(num(j, "OT") == g->OT);
  assert_true(mat00(j, "Sigma_t") == St);
  assert_true(json_number_value(json_array_get(json_object_get(j, "mean_t"), 0)) == mt);
  assert_true(num(j, "t") == 0.5);
  json_decref(j);

  snprintf(args, sizeof args, "bridge --from %s --to %s --sigma2 1 --method ipf --iters 6", f0, f1);
  j = run_json(args);
  const json_t *arr = json_object_get(j, "ipf");
  assert_int_equal(json_array_size(arr), 6);
  double c =
      s0; /* the Brownian start: Cov(X_0, X_1) = Sigma_0; in 1-D each half-step maps c -> s0 s1/(sigma^2 + c) */
  for (size_t k = 0; k < 6; k++) {
    const json_t *e = json_array_get(arr, k);
    assert_int_equal(json_integer_value(json_object_get(e, "iter")), (json_int_t)(k + 1));
    c = s0 * s1 / (1.0 + c); /* the X_1 half-step */
    c = s0 * s1 / (1.0 + c); /* the X_0 half-step */
    assert_close(mat00(e, "C"), c, 16 * 2.2e-16, 0);
    assert_close(num(e, "err"), fabs(mat00(e, "C") - g->C[0]), 0, 0);
  }
  assert_close(mat00(json_array_get(arr, 0), "C"), 3.0 / 5.0, 8 * 2.2e-16, 0);
  assert_close(mat00(json_array_get(arr, 1), "C"), 8.0 / 13.0, 8 * 2.2e-16, 0);
  const double phi = 0.5 * (sqrt(5.0) - 1.0);
  assert_close(num(j, "rate"), pow(phi, 4), 1e-3, 0);
  json_decref(j);
  dpm_bridge_gauss_free(g);
}

/* A 2-D point-set pair: the plan's margins and the JSON's costs, the paths file's shape and pinned ends. */
static void test_sinkhorn_plan_paths(void **state)
{
  (void)state;
  const char *x = dpm_test_tmpfile(".csv", "x,y\n0,0\n1,0.5\n-1,2\n0.5,-1\n2,2\n");
  const char *y = dpm_test_tmpfile(".csv", "3,1\n2,-1\n4,0.5\n");
  char plan[256], paths[256], args[1024];
  snprintf(plan, sizeof plan, "%s.plan.csv", x);
  snprintf(paths, sizeof paths, "%s.paths.csv", x);
  snprintf(args, sizeof args,
           "bridge --from %s --to %s --sigma2 0.5 --method sinkhorn --plan %s --paths %s --n 7 --steps 4 --seed 3",
           x, y, plan, paths);
  json_t *j = run_json(args);
  double *P = NULL, *Q = NULL;
  size_t r, c;
  assert_int_equal(dpm_csv_read(plan, &P, &r, &c, NULL), 0);
  assert_int_equal(r, 5);
  assert_int_equal(c, 3);
  double e2 = 0;
  for (size_t i = 0; i < r; i++) {
    double s = 0;
    for (size_t k = 0; k < c; k++)
      s += P[i * c + k];
    assert_close(s, 0.2, 1e-13, 0);
  }
  for (size_t k = 0; k < c; k++) {
    double s = 0;
    for (size_t i = 0; i < r; i++)
      s += P[i * c + k];
    e2 += (s - 1.0 / 3) * (s - 1.0 / 3);
  }
  assert_true(sqrt(e2) < 1e-9);
  assert_close(num(j, "marginal_err"), sqrt(e2), 1e-5, 1e-15);
  /* the costs through the library on the same points */
  const double xs[] = {0, 0, 1, 0.5, -1, 2, 0.5, -1, 2, 2}, ys[] = {3, 1, 2, -1, 4, 0.5};
  dpm_bridge_sinkhorn *s = dpm_bridge_sinkhorn_alloc(5, 3, 2, xs, ys, NULL, NULL);
  dpm_bridge_sinkhorn_params p = dpm_bridge_sinkhorn_default();
  p.reg = 1.0;
  assert_int_equal(dpm_bridge_sinkhorn_solve(s, &p), 0);
  assert_true(num(j, "cost") == s->transport);
  assert_true(num(j, "entropic_cost") == s->entropic);
  assert_int_equal(json_integer_value(json_object_get(j, "iters")), (json_int_t)s->iters);
  dpm_bridge_sinkhorn_free(s);
  char *hdr = NULL;
  assert_int_equal(dpm_csv_read(paths, &Q, &r, &c, &hdr), 0);
  assert_string_equal(hdr, "path,t,x_1,x_2");
  assert_int_equal(r, 7 * 5);
  assert_int_equal(c, 4);
  for (size_t i = 0; i < r; i += 5) { /* t = 1 rows end on a target point */
    const double *e = Q + (i + 4) * c;
    assert_close(e[1], 1.0, 0, 0);
    int hit = 0;
    for (int k = 0; k < 3; k++)
      hit |= e[2] == ys[2 * k] && e[3] == ys[2 * k + 1];
    assert_true(hit);
  }
  free(hdr);
  free(P);
  free(Q);
  remove(plan);
  remove(paths);
  json_decref(j);
}

/* --method grid on the check problem: the last iteration's err (|C - C_sigma|) and Sigma_t at t = 1/2 at rounding
 * level on a fine grid (the Poisson-summation error of the grid sums is exp(-2 pi^2 (sigma^2/N)/dx^2) < 1e-30
 * here), the L1 marginal errors falling; a mixture end has no closed form (err null). */
static void test_grid(void **state)
{
  (void)state;
  const char *f0 = dpm_test_tmpfile(".json", G0), *f1 = dpm_test_tmpfile(".json", G1);
  char args[1024];
  snprintf(args, sizeof args,
           "bridge --from %s --to %s --sigma2 1 --method grid --iters 30 --grid-steps 4 --grid-points 300", f0,
           f1);
  json_t *j = run_json(args);
  const json_t *arr = json_object_get(j, "grid");
  assert_int_equal(json_array_size(arr), 30);
  const double m0 = -1, s0 = 0.5, m1 = 1.5, s1 = 2;
  dpm_bridge_gauss *g = dpm_bridge_gauss_alloc(1, &m0, &s0, &m1, &s1, 1.0);
  double mt, St;
  dpm_bridge_gauss_marginal(g, 0.5, &mt, &St);
  assert_close(num(json_array_get(arr, 29), "err"), 0, 0, 1e-12);
  assert_close(mat00(j, "Sigma_t"), St, 0, 1e-12);
  assert_close(mat00(j, "C"), g->C[0], 0, 1e-12);
  for (size_t k = 1; k < 10; k++)
    assert_true(num(json_array_get(arr, k), "marginal_err") < num(json_array_get(arr, k - 1), "marginal_err"));
  json_decref(j);
  j = run_json("bridge --from gmm1d --to gauss:d=1 --sigma2 1 --method grid --iters 3 --grid-points 100");
  assert_true(json_is_null(json_object_get(json_array_get(json_object_get(j, "grid"), 2), "err")));
  json_decref(j);
  dpm_bridge_gauss_free(g);
}

/* --method mean-matching: the command's iterates are the library's bit for bit (same seed, N, M), err_ipf is the
 * distance to exact IPF's iterate and err to C_sigma. */
static void test_mean_matching_cli(void **state)
{
  (void)state;
  const char *f0 = dpm_test_tmpfile(".json", G0), *f1 = dpm_test_tmpfile(".json", G1);
  char args[1024];
  snprintf(args, sizeof args,
           "bridge --from %s --to %s --sigma2 1 --method mean-matching --iters 2 --chain-steps 8 --particles 3000 "
           "--seed 5",
           f0, f1);
  json_t *j = run_json(args);
  const json_t *arr = json_object_get(j, "mean_matching");
  assert_int_equal(json_array_size(arr), 2);
  dpm_mixture *a = dpm_data_from_spec(f0), *b = dpm_data_from_spec(f1);
  dpm_bridge_mm *s = dpm_bridge_mm_alloc(a, b, 8, 3000, 1.0, 5);
  assert_non_null(s);
  const double m0 = -1, s0 = 0.5, m1 = 1.5, s1 = 2, exact[2] = {3.0 / 5.0, 8.0 / 13.0};
  dpm_bridge_gauss *g = dpm_bridge_gauss_alloc(1, &m0, &s0, &m1, &s1, 1.0);
  for (size_t k = 0; k < 2; k++) {
    double C;
    assert_int_equal(dpm_bridge_mm_iterate(s, &C), 0);
    const json_t *e = json_array_get(arr, k);
    assert_true(mat00(e, "C") == C);
    assert_close(num(e, "err_ipf"), fabs(C - exact[k]), 1e-12, 1e-15);
    assert_close(num(e, "err"), fabs(C - g->C[0]), 1e-12, 1e-15);
  }
  dpm_bridge_gauss_free(g);
  dpm_bridge_mm_free(s);
  dpm_mixture_free(a);
  dpm_mixture_free(b);
  json_decref(j);
  dpm_test_expect_failure("bridge --from gauss:d=1 --to gauss:d=1 --sigma2 1 --method mean-matching --particles 3",
                          NULL, NULL, 2, "--particles", 0);
}

/* --regressor bumps: the command's iterates are the library's bit for bit (same seed, N, M, S, ridge), the
 * regressor is echoed; the default stays affine; the refusals: size 0 or 1, a negative ridge, an unknown regressor
 * or parameter, S^d above 256, --regressor with another method. */
static void test_mean_matching_bumps_cli(void **state)
{
  (void)state;
  const char *f0 =
      dpm_test_tmpfile(".json", "{\"weights\":[0.5,0.5],\"means\":[[-1.5],[1.5]],\"covariances\":[0.25,0.25]}");
  char args[1024];
  snprintf(args, sizeof args,
           "bridge --from %s --to gauss:d=1 --sigma2 1 --method mean-matching --iters 2 --chain-steps 6 "
           "--particles 2000 --seed 3 --regressor bumps:size=10,ridge=0.01",
           f0);
  json_t *j = run_json(args);
  assert_string_equal(json_string_value(json_object_get(j, "regressor")), "bumps:size=10,ridge=0.01");
  const json_t *arr = json_object_get(j, "mean_matching");
  assert_int_equal(json_array_size(arr), 2);
  dpm_mixture *a = dpm_data_from_spec(f0), *b = dpm_data_from_spec("gauss:d=1");
  dpm_bridge_mm *s = dpm_bridge_mm_alloc_bumps(a, b, 6, 2000, 1.0, 3, 10, 0.01);
  assert_non_null(s);
  for (size_t k = 0; k < 2; k++) {
    double C;
    assert_int_equal(dpm_bridge_mm_iterate(s, &C), 0);
    assert_true(mat00(json_array_get(arr, k), "C") == C);
  }
  dpm_bridge_mm_free(s);
  dpm_mixture_free(a);
  dpm_mixture_free(b);
  json_decref(j);
  j = run_json(
      "bridge --from gauss:d=1 --to gauss:d=1 --sigma2 1 --method mean-matching --iters 1 --chain-steps 4 "
      "--particles 500");
  assert_string_equal(json_string_value(json_object_get(j, "regressor")), "affine");
  json_decref(j);
  const char *out = dpm_test_tmpfile(".json", "");
  remove(out);
  static const char *bad[][2] = {
      {"bumps:size=0", "size"},          {"bumps:size=1", "size"},          {"bumps:ridge=-1", "ridge"},
      {"bumps:ridge=nan", "ridge"},      {"kernel", "unknown --regressor"}, {"bumps:width=2", "unknown parameter"},
      {"bumpsx", "unknown --regressor"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(args, sizeof args,
             "bridge --from %s --to gauss:d=1 --sigma2 1 --method mean-matching --iters 1 --regressor %s", f0,
             bad[i][0]);
    dpm_test_expect_failure(args, NULL, out, 2, bad[i][1], i);
  }
  dpm_test_expect_failure("bridge --from ring8 --to gauss:d=2 --sigma2 1 --method mean-matching --iters 1 "
                          "--particles 500 --regressor bumps:size=20",
                          NULL, out, 0, "exceed 256", 100);
  dpm_test_expect_failure("bridge --from gauss:d=1 --to gauss:d=1 --sigma2 1 --method grid --regressor bumps",
                          NULL, out, 2, "--regressor needs", 101);
}

/* --method benchmark: both scores equal the library's bit for bit, the same test points for both routes */
static void test_benchmark_cli(void **state)
{
  (void)state;
  json_t *j = run_json("bridge --from gauss:d=2 --to gmmpot --sigma2 0.5 --method benchmark --pairs 300 "
                       "--test-points 50 --draws 200 --seed 4");
  dpm_mixture *mu0 = dpm_data_from_spec("gauss:d=2"), *pot = dpm_bridge_gmmpot_default(2);
  assert_non_null(mu0);
  assert_non_null(pot);
  dpm_bridge_sinkhorn_params p = dpm_bridge_sinkhorn_default();
  p.tol = 1e-6;
  dpm_bridge_bench_score sk, ex;
  size_t iters;
  assert_int_equal(dpm_bridge_bench_sinkhorn(mu0, pot, 0.5, 300, 50, 4, &p, &sk, &iters), 0);
  double *xy = malloc(2 * 350 * 2 * sizeof *xy);
  assert_non_null(xy);
  assert_int_equal(dpm_bridge_gmmpot_sample(mu0, pot, 0.5, 350, 4, xy, xy + 700), 0);
  assert_int_equal(dpm_bridge_bench_exact(pot, 0.5, 50, xy + 600, 200, 5, &ex), 0);
  const json_t *js = json_object_get(j, "sinkhorn"), *je = json_object_get(j, "exact");
  assert_true(num(js, "uvp_cond") == sk.uvp_cond && num(js, "uvp_marg") == sk.uvp_marg);
  assert_true(num(js, "iters") == (double)iters);
  assert_true(num(je, "uvp_cond") == ex.uvp_cond && num(je, "bw2_marg") == ex.bw2_marg);
  assert_true(num(j, "d") == 2.0 && num(j, "test_points") == 50.0);
  free(xy);
  dpm_mixture_free(mu0);
  dpm_mixture_free(pot);
  json_decref(j);
}

/* --bench-methods grid,mean-matching: each row equals its library function's score bit for bit on the same test
 * points; the default (sinkhorn) leaves the other keys out */
static void test_benchmark_methods_cli(void **state)
{
  (void)state;
  json_t *j = run_json("bridge --from gauss:d=2 --to gmmpot --sigma2 0.5 --method benchmark --pairs 300 "
                       "--test-points 40 --draws 100 --seed 6 --bench-methods grid,mean-matching --grid-points 40 "
                       "--grid-steps 4 --iters 3 --particles 600 --chain-steps 5 --regressor bumps:size=4");
  dpm_mixture *mu0 = dpm_data_from_spec("gauss:d=2"), *pot = dpm_bridge_gmmpot_default(2);
  assert_non_null(mu0);
  assert_non_null(pot);
  dpm_bridge_bench_score gr, mm;
  double gerr;
  assert_int_equal(dpm_bridge_bench_grid(mu0, pot, 0.5, 40, 4, 3, 300, 40, 6, &gr, &gerr), 0);
  const dpm_bridge_bench_mm_params q = {.N = 5, .M = 600, .S = 4, .iters = 3, .draws = 100, .ridge = 1e-3};
  assert_int_equal(dpm_bridge_bench_mm(mu0, pot, 0.5, 300, 40, 6, &q, &mm), 0);
  const json_t *jg = json_object_get(j, "grid"), *jm = json_object_get(j, "mean_matching");
  assert_null(json_object_get(j, "sinkhorn"));
  assert_non_null(json_object_get(j, "exact"));
  assert_true(num(jg, "uvp_cond") == gr.uvp_cond && num(jg, "uvp_marg") == gr.uvp_marg);
  assert_true(num(jg, "marginal_err") == gerr && num(jg, "grid_points") == 40.0);
  assert_true(num(jm, "uvp_cond") == mm.uvp_cond && num(jm, "bw2_marg") == mm.bw2_marg);
  assert_string_equal(json_string_value(json_object_get(jm, "regressor")), "bumps:size=4");
  json_decref(j);
  j = run_json("bridge --from gauss:d=2 --to gmmpot --sigma2 0.5 --method benchmark --pairs 100 "
               "--test-points 10 --draws 20");
  assert_non_null(json_object_get(j, "sinkhorn"));
  assert_null(json_object_get(j, "grid"));
  assert_null(json_object_get(j, "mean_matching"));
  json_decref(j);
  dpm_mixture_free(mu0);
  dpm_mixture_free(pot);
}

static void test_bad_input(void **state)
{
  (void)state;
  const char *f0 = dpm_test_tmpfile(".json", G0), *f1 = dpm_test_tmpfile(".json", G1);
  const char *bad = dpm_test_tmpfile(".json", "{\"weights\": [1], \"means\": [[1]], \"covariances\": [-2]}");
  const char *pts = dpm_test_tmpfile(".csv", "0,0\n1,1\n");
  const char *out = "/tmp/dpmlab_bridge_test_out.json";
  remove(out);
  char a[1024];
  size_t label = 0;
#define FAIL(code, needle, ...)                                                                                   \
  do {                                                                                                            \
    snprintf(a, sizeof a, __VA_ARGS__);                                                                           \
    dpm_test_expect_failure(a, NULL, out, code, needle, label++);                                                 \
  } while (0)
  FAIL(2, "--method", "bridge --from %s --to %s --sigma2 1 --method nope", f0, f1);
  FAIL(2, "--sigma2", "bridge --from %s --to %s --sigma2 0 --method closed-form", f0, f1);
  FAIL(2, "--sigma2", "bridge --from %s --to %s --sigma2 -1 --method closed-form", f0, f1);
  FAIL(2, "sigma2", "bridge --from %s --to %s --sigma2 nan --method closed-form", f0, f1);
  FAIL(2, "missing --method", "bridge --from %s --to %s --sigma2 1", f0, f1);
  FAIL(2, "--t", "bridge --from %s --to %s --sigma2 1 --method closed-form --t 2", f0, f1);
  FAIL(2, "--plan", "bridge --from %s --to %s --sigma2 1 --method closed-form --plan /tmp/x.csv", f0, f1);
  FAIL(2, "--iters", "bridge --from %s --to %s --sigma2 1 --method ipf --iters 0", f0, f1);
  FAIL(1, "dimension", "bridge --from %s --to gauss:d=2 --sigma2 1 --method closed-form", f0);
  FAIL(1, "one Gaussian", "bridge --from gmm1d --to %s --sigma2 1 --method ipf", f1);
  FAIL(1, "point mass", "bridge --from %s --to %s --sigma2 1 --method closed-form", f0,
       dpm_test_tmpfile(".csv", "1\n"));
  FAIL(1, "variance", "bridge --from %s --to %s --sigma2 1 --method closed-form", bad, f1);
  FAIL(1, "point sets", "bridge --from %s --to %s --sigma2 1 --method sinkhorn", pts, "ring8");
  FAIL(2, "--paths", "bridge --from gmm1d --to gmm1d --sigma2 1 --method grid --paths /tmp/p.csv");
  FAIL(1, "dimension 1 or 2", "bridge --from gauss:d=3 --to gauss:d=3 --sigma2 1 --method grid");
  FAIL(1, "point sets", "bridge --from %s --to gauss:d=2 --sigma2 1 --method grid", pts);
  FAIL(1, "cannot open", "bridge --from /nonexistent.csv --to %s --sigma2 1 --method sinkhorn", pts);
  FAIL(2, "--draws", "bridge --from gauss:d=2 --to gmmpot --sigma2 1 --method benchmark --draws 1");
  FAIL(2, "--plan", "bridge --from gauss:d=2 --to gmmpot --sigma2 1 --method benchmark --plan /tmp/x.csv");
  FAIL(2, "--sigma2", "bridge --from gauss:d=2 --to gmmpot --sigma2 -1 --method benchmark");
  FAIL(1, "point mass", "bridge --from gauss:d=2 --to %s --sigma2 1 --method benchmark", pts);
  FAIL(1, "dimension", "bridge --from gauss:d=3 --to ring8 --sigma2 1 --method benchmark");
  FAIL(2, "unknown --bench-methods entry 'nope'",
       "bridge --from gauss:d=2 --to gmmpot --sigma2 1 --method benchmark --bench-methods sinkhorn,nope");
  FAIL(2, "unknown --bench-methods entry ''",
       "bridge --from gauss:d=2 --to gmmpot --sigma2 1 --method benchmark --bench-methods grid,");
  FAIL(2, "twice", "bridge --from gauss:d=2 --to gmmpot --sigma2 1 --method benchmark --bench-methods grid,grid");
  FAIL(2, "--bench-methods needs", "bridge --from %s --to %s --sigma2 1 --method ipf --bench-methods grid", f0,
       f1);
  FAIL(1, "dimension 1 or 2",
       "bridge --from gauss:d=3 --to gmmpot --sigma2 1 --method benchmark --bench-methods sinkhorn,grid");
  FAIL(1, "exceed 256",
       "bridge --from gauss:d=3 --to gmmpot --sigma2 1 --method benchmark --bench-methods mean-matching "
       "--regressor bumps:size=8 --particles 100");
  FAIL(2, "--grid-points",
       "bridge --from gauss:d=2 --to gmmpot --sigma2 1 --method benchmark --bench-methods grid "
       "--grid-points 2");
#undef FAIL
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_closed_form_and_ipf),
      cmocka_unit_test(test_sinkhorn_plan_paths),
      cmocka_unit_test(test_grid),
      cmocka_unit_test(test_mean_matching_cli),
      cmocka_unit_test(test_mean_matching_bumps_cli),
      cmocka_unit_test(test_benchmark_cli),
      cmocka_unit_test(test_benchmark_methods_cli),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests_name("bridge_cli", tests, NULL, NULL);
}
