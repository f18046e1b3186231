/* test_cli_analytic.c — the Analytic-DPM commands (`dpmlab variance`, `trajectory`, `elbo`; Bao et al. ICLR 2022,
 * docs/MATH.md §3) run as a user runs them: every printed column against identities recomputed here from the other
 * printed columns and the schedule's definition, Gamma_n against closed forms and Monte Carlo against
 * quadrature, the DP trajectory against brute force, the ELBO against the per-step table, reproducibility, and
 * one-line errors with no output file for every kind of bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpmlab.h"
#include "testutil.h"

#define MAXC 16

typedef struct {
  size_t rows, cols;
  char header[512];
  double *v; /* rows x cols */
} table;

/* Parse CSV text: '#' lines skipped, the first line the header, then numbers (strtod, so "nan" and "inf" read). */
static void parse(const char *text, table *t)
{
  memset(t, 0, sizeof *t);
  size_t cap = 1024;
  t->v = malloc(cap * MAXC * sizeof(double));
  assert_non_null(t->v);
  const char *p = text;
  int have_header = 0;
  while (*p) {
    const char *e = strchr(p, '\n');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len > 0 && p[0] != '#') {
      if (!have_header) {
        assert_true(len < sizeof t->header);
        memcpy(t->header, p, len);
        t->header[len] = '\0';
        have_header = 1;
      } else {
        if (t->rows == cap) {
          cap *= 2;
          t->v = realloc(t->v, cap * MAXC * sizeof(double));
          assert_non_null(t->v);
        }
        size_t c = 0;
        const char *q = p;
        for (;;) {
          char *end;
          assert_true(c < MAXC);
          t->v[t->rows * MAXC + c++] = strtod(q, &end);
          assert_true(end > q);
          if (*end != ',') break;
          q = end + 1;
        }
        if (t->rows == 0) t->cols = c;
        assert_int_equal(c, t->cols);
        t->rows++;
      }
    }
    p += len + (e ? 1 : 0);
  }
  assert_true(have_header);
}

static double at(const table *t, size_t r, size_t c) { return t->v[r * MAXC + c]; }

static char *run_ok(const char *args) { return dpm_test_run_ok(args, NULL); }

static void run_table(const char *args, table *t)
{
  char *out = run_ok(args);
  parse(out, t);
  free(out);
}

/* |a - b| <= atol + rtol |b| with a message naming the row */
static void near(double a, double b, double rtol, double atol, const char *what, size_t row)
{
  if (fabs(a - b) <= atol + rtol * fabs(b)) return;
  print_error("%s at row %zu: %.17g vs %.17g\n", what, row, a, b);
  fail();
}

static const char *VAR_HEADER =
    "n,beta,alpha_bar,gamma,gamma_se,one_minus_gamma,lambda2,sigma2,lower,upper,L_beta,L_betatilde,L_opt";
enum { C_N, C_BETA, C_ABAR, C_GAMMA, C_SE, C_CGAMMA, C_LAMBDA2, C_SIGMA2, C_LOWER, C_UPPER, C_LB, C_LBT, C_LOPT };

/* The linear schedule's beta_n (docs/MATH.md §1), written out here. */
static double linear_beta(size_t n, size_t N) { return 1e-4 + (0.02 - 1e-4) * (double)(n - 1) / (double)(N - 1); }

/* ---- variance
 * --------------------------------------------------------------------------------------------------- */

/* Checks shared by every variance table with eta = 1 (DDPM): the schedule columns, the bounds beta~_n <= sigma2 <=
 * beta_n/alpha_n, sigma*^2 = (beta/alpha)(1 - (beta/bbar) Gamma) (docs/MATH.md §3, DDPM), the ELBO terms in closed
 * form from the printed columns (KL of Gaussians, decoder as documented), and L_opt <= L_beta, L_betatilde. */
static void check_ddpm_table(const table *t, size_t N, size_t d, int linear)
{
  assert_string_equal(t->header, VAR_HEADER);
  assert_int_equal(t->rows, N);
  double logab = 0.0, bbar_prev = 0.0, hd = 0.5 * (double)d;
  for (size_t r = 0; r < N; r++) {
    const size_t n = r + 1;
    /* sigma2 and the L columns are formed from 1 - Gamma_n as printed (integrated directly) */
    const double beta = at(t, r, C_BETA), g = 1 - at(t, r, C_CGAMMA), s2 = at(t, r, C_SIGMA2);
    assert_true(at(t, r, C_N) == (double)n);
    if (linear) near(beta, linear_beta(n, N), 1e-14, 0, "beta", r);
    logab += log1p(-beta);
    const double abar = exp(logab), bbar = -expm1(logab), alpha = 1 - beta;
    near(at(t, r, C_ABAR), abar, 1e-12, 0, "alpha_bar", r);
    const double bt = bbar_prev * beta / bbar; /* beta~_n, 0 for n = 1 */
    near(at(t, r, C_LOWER), bt, 1e-10, 1e-300, "lower = beta~", r);
    near(at(t, r, C_LAMBDA2), bt, 1e-10, 1e-300, "lambda2 = beta~", r);
    near(at(t, r, C_UPPER), beta / alpha, 1e-12, 0, "upper = beta/alpha", r);
    assert_true(at(t, r, C_LOWER) <= s2 && s2 <= at(t, r, C_UPPER));
    const double coef2 = beta * beta / (alpha * bbar); /* (sqrt(bbar/alpha) - sqrt(bbar_prev - beta~))^2 */
    if (g >= 0 && g <= 1) near(s2, beta / alpha * (1 - beta / bbar * g), 1e-10, 1e-300, "sigma2 = sigma*^2", r);
    const double e = bbar / abar * at(t, r, C_CGAMMA); /* E|x0 - E[x0|x_n]|^2/d */
    if (n == 1) {
      /* decoder: L_0 = (d/2)(log(2 pi v) + e/v); v = beta_1, beta~_2, sigma2 */
      const double beta2 = at(t, 1, C_BETA), bt2 = beta * beta2 / (-expm1(logab + log1p(-beta2)));
      near(at(t, r, C_LB), hd * (log(2 * M_PI * beta) + e / beta), 1e-10, 1e-12, "decoder L_beta", r);
      near(at(t, r, C_LBT), hd * (log(2 * M_PI * bt2) + e / bt2), 1e-10, 1e-12, "decoder L_betatilde", r);
      near(at(t, r, C_LOPT), hd * (log(2 * M_PI * s2) + e / s2), 1e-10, 1e-12, "decoder L_opt", r);
      if (g >= 0 && g <= 1) near(at(t, r, C_LOPT), hd * (log(2 * M_PI * s2) + 1), 1e-10, 1e-12, "decoder opt", r);
    } else {
      /* L = (d/2)[log(v/lambda2) + lambda2/v - 1 + coef2 (1 - Gamma)/v] */
      const double Lb = hd * (log(beta / bt) + bt / beta - 1 + coef2 * at(t, r, C_CGAMMA) / beta);
      const double Lt = hd * (coef2 * at(t, r, C_CGAMMA) / bt);
      near(at(t, r, C_LB), Lb, 1e-8, 1e-13, "L_beta", r);
      near(at(t, r, C_LBT), Lt, 1e-8, 1e-13, "L_betatilde", r);
      if (at(t, r, C_LOWER) < s2 && s2 < at(t, r, C_UPPER))
        near(at(t, r, C_LOPT), hd * log(s2 / bt), 1e-8, 1e-13, "L_opt = (d/2) log(sigma2/lambda2)", r);
      const double slack = 1e-12 * fabs(at(t, r, C_LOPT)) + 1e-15;
      assert_true(at(t, r, C_LOPT) <= at(t, r, C_LB) + slack);
      assert_true(at(t, r, C_LOPT) <= at(t, r, C_LBT) + slack);
    }
    bbar_prev = bbar;
  }
}

static void test_variance_quad(void **state)
{
  (void)state;
  table t;
  /* N = 1000 by quadrature: Gamma in [0, 1] at every step, gamma_se = 0 by contract */
  run_table("variance --data gmm1d --schedule linear --N 1000 --quad", &t);
  check_ddpm_table(&t, 1000, 1, 1);
  for (size_t r = 0; r < t.rows; r++) {
    assert_true(at(&t, r, C_GAMMA) > 0 && at(&t, r, C_GAMMA) < 1);
    assert_true(at(&t, r, C_SE) == 0);
  }
  free(t.v);
  /* gauss:d=2 (N(0, I)): E[eps|x] = s x/(m^2 + s^2) with x ~ N(0, (m^2 + s^2) I) and m^2 + s^2 = 1, so
   * Gamma_n = s^2 = bbar_n exactly; the cosine schedule */
  run_table("variance --data gauss:d=2 --schedule cosine --N 100 --quad", &t);
  check_ddpm_table(&t, 100, 2, 0);
  for (size_t r = 0; r < t.rows; r++)
    near(at(&t, r, C_GAMMA), 1 - at(&t, r, C_ABAR), 1e-8, 1e-12, "Gamma = bbar (Gaussian data)", r);
  free(t.v);
}

static void test_variance_eta(void **state)
{
  (void)state;
  /* eta = 0.5: lambda2 = eta^2 beta~_n, bounds [lambda2, lambda2 + (sqrt(bbar_n/alpha_n) - sqrt(bbar_{n-1} -
   * lambda2))^2], sigma2 = lambda2 + (...)^2 (1 - Gamma), L_opt = (d/2) log(sigma2/lambda2) */
  table t;
  const size_t N = 200;
  run_table("variance --data gmm1d --schedule linear --N 200 --quad --eta 0.5", &t);
  assert_string_equal(t.header, VAR_HEADER);
  assert_int_equal(t.rows, N);
  double logab = 0, bbar_prev = 0;
  for (size_t r = 0; r < N; r++) {
    const double beta = at(&t, r, C_BETA), g = at(&t, r, C_GAMMA), s2 = at(&t, r, C_SIGMA2);
    logab += log1p(-beta);
    const double bbar = -expm1(logab), alpha = 1 - beta;
    const double l2 = r == 0 ? 0.0 : 0.25 * bbar_prev * beta / bbar;
    const double c = sqrt(bbar / alpha) - sqrt(bbar_prev - l2);
    near(at(&t, r, C_LAMBDA2), l2, 1e-10, 1e-300, "lambda2", r);
    near(at(&t, r, C_LOWER), l2, 1e-10, 1e-300, "lower", r);
    /* c is a difference of two numbers of size sqrt(bbar_n) and c >= beta_n/(2 sqrt(bbar_n)): its relative
     * rounding error is ~ 2 eps bbar_n/beta_n <= 5e-12 on this schedule (beta_n >= 1e-4), so 1e-10 */
    near(at(&t, r, C_UPPER), l2 + c * c, 1e-10, 1e-300, "upper", r);
    near(s2, l2 + c * c * (1 - g), 1e-10, 1e-300, "sigma2", r);
    assert_true(at(&t, r, C_LOWER) <= s2 && s2 <= at(&t, r, C_UPPER));
    if (r > 0) {
      near(at(&t, r, C_LOPT), 0.5 * log(s2 / l2), 1e-10, 1e-14, "L_opt", r);
      assert_true(at(&t, r, C_LOPT) <= at(&t, r, C_LB) + 1e-12);
      assert_true(at(&t, r, C_LOPT) <= at(&t, r, C_LBT) + 1e-12);
    }
    bbar_prev = bbar;
  }
  free(t.v);
}

static void test_variance_mc(void **state)
{
  (void)state;
  /* Monte Carlo Gamma within 4 standard errors of the quadrature value at 5 steps (Bonferroni: a false alarm
   * with probability < 5 x 6.3e-5); the bounds and identities hold for the MC table too */
  table q, m;
  run_table("variance --data gmm1d --schedule linear --N 100 --quad", &q);
  run_table("variance --data gmm1d --schedule linear --N 100 --mc 4000 --seed 3", &m);
  check_ddpm_table(&m, 100, 1, 1);
  const size_t steps[5] = {1, 5, 20, 50, 100};
  for (int i = 0; i < 5; i++) {
    size_t r = steps[i] - 1;
    assert_true(at(&m, r, C_SE) > 0);
    assert_within_se(at(&m, r, C_GAMMA), at(&m, r, C_SE), at(&q, r, C_GAMMA), 4);
  }
  free(q.v);
  free(m.v);
  /* d = 3 (no quadrature): N(0, I) has Gamma_n = bbar_n exactly */
  run_table("variance --data gauss:d=3 --schedule cosine --N 50 --mc 2000 --seed 1", &m);
  const size_t steps3[5] = {1, 5, 20, 35, 50};
  for (int i = 0; i < 5; i++) {
    size_t r = steps3[i] - 1;
    assert_true(r < m.rows);
    assert_within_se(at(&m, r, C_GAMMA), at(&m, r, C_SE), 1 - at(&m, r, C_ABAR), 4);
  }
  free(m.v);
}

static void test_variance_reproducible(void **state)
{
  (void)state;
  const char *a = "variance --data ring8 --schedule cosine --N 50 --mc 300 --seed 7";
  char *o1 = run_ok(a), *o2 = run_ok(a),
       *o3 = run_ok("variance --data ring8 --schedule cosine --N 50 --mc 300 "
                    "--seed 8");
  assert_string_equal(o1, o2);
  assert_true(strcmp(o1, o3) != 0);
  /* --out writes the same bytes as stdout; --meta adds '#' lines only */
  char path[] = "/tmp/dpmvar-XXXXXX", args[512];
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  snprintf(args, sizeof args, "%s --out %s", a, path);
  char *o4 = run_ok(args);
  assert_string_equal(o4, "");
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  char *buf = calloc(1, strlen(o1) + 2);
  size_t got = fread(buf, 1, strlen(o1) + 1, fp);
  fclose(fp);
  assert_int_equal(got, strlen(o1));
  assert_string_equal(buf, o1);
  unlink(path);
  snprintf(args, sizeof args, "%s --meta", a);
  char *o5 = run_ok(args);
  assert_true(o5[0] == '#');
  assert_non_null(strstr(o5, o1));
  free(buf);
  free(o1);
  free(o2);
  free(o3);
  free(o4);
  free(o5);
}

/* ---- trajectory ----------------------------------------------------------------------------------------------
 */

/* J(s,t) = log1p(beta_{t|s} (1 - Gamma_t)/(alpha_{t|s} bbar_s)) (docs/MATH.md §3) from a variance table. */
static double cost_J(const table *v, size_t s, size_t t)
{
  const double as = at(v, s - 1, C_ABAR), ats = at(v, t - 1, C_ABAR) / as, g = at(v, t - 1, C_GAMMA);
  return log1p((1 - ats) * (1 - g) / (ats * (1 - as)));
}

static void check_traj(const table *t, size_t N, size_t K, const table *var, double *total)
{
  assert_string_equal(t->header, "k,tau,cost");
  assert_int_equal(t->rows, K);
  assert_true(at(t, 0, 1) == 1 && at(t, K - 1, 1) == (double)N);
  assert_true(at(t, 0, 2) == 0);
  double cum = 0;
  for (size_t k = 0; k < K; k++) {
    assert_true(at(t, k, 0) == (double)(k + 1));
    if (k == 0) continue;
    assert_true(at(t, k, 1) > at(t, k - 1, 1));
    assert_true(at(t, k, 2) >= at(t, k - 1, 2));
    cum += cost_J(var, (size_t)at(t, k - 1, 1), (size_t)at(t, k, 1));
    near(at(t, k, 2), cum, 1e-9, 1e-14, "cumulative J", k);
  }
  *total = at(t, K - 1, 2);
}

static void test_trajectory(void **state)
{
  (void)state;
  table v, dp, ev, qd;
  double tdp, tev, tq;
  run_table("variance --data gmm1d --schedule linear --N 200 --quad", &v);
  run_table("trajectory --data gmm1d --schedule linear --N 200 --K 10 --quad", &dp);
  run_table("trajectory --data gmm1d --schedule linear --N 200 --K 10 --quad --kind even", &ev);
  run_table("trajectory --data gmm1d --schedule linear --N 200 --K 10 --quad --kind quadratic", &qd);
  check_traj(&dp, 200, 10, &v, &tdp);
  check_traj(&ev, 200, 10, &v, &tev);
  check_traj(&qd, 200, 10, &v, &tq);
  assert_true(tdp <= tev && tdp <= tq);
  assert_true(tdp < tev); /* the even path is not optimal here: the DP strictly improves on it */
  free(v.v);
  free(dp.v);
  free(ev.v);
  free(qd.v);
  /* brute force over all C(10, 2) = 45 paths with K = 4 on N = 12: the DP total is the minimum */
  run_table("variance --data gmm1d:sep=3 --schedule cosine --N 12 --quad", &v);
  run_table("trajectory --data gmm1d:sep=3 --schedule cosine --N 12 --K 4 --quad", &dp);
  check_traj(&dp, 12, 4, &v, &tdp);
  double best = HUGE_VAL;
  for (size_t a = 2; a < 12; a++)
    for (size_t b = a + 1; b < 12; b++)
      best = fmin(best, cost_J(&v, 1, a) + cost_J(&v, a, b) + cost_J(&v, b, 12));
  near(tdp, best, 1e-12, 1e-15, "DP total = brute-force minimum", 0);
  free(v.v);
  free(dp.v);
  /* K = N: the only path is 1, 2, ..., N */
  run_table("trajectory --data gauss:d=3 --schedule linear --N 6 --K 6 --mc 100", &dp);
  for (size_t k = 0; k < 6; k++)
    assert_true(at(&dp, k, 1) == (double)(k + 1));
  free(dp.v);
}

/* ---- elbo -----------------------------------------------------------------------------------------------------
 */

static const char *ELBO_HEADER = "nelbo_nats,bpd,entropy_nats,gap_nats,prior_nats,decoder_nats";

static void elbo_row(const char *args, double *row)
{
  table t;
  run_table(args, &t);
  assert_string_equal(t.header, ELBO_HEADER);
  assert_int_equal(t.rows, 1);
  assert_int_equal(t.cols, 6);
  for (int j = 0; j < 6; j++)
    row[j] = at(&t, 0, (size_t)j);
  free(t.v);
}

static void test_elbo_identities(void **state)
{
  (void)state;
  /* For every variance and trajectory: nelbo = prior + transitions + decoder with transitions >= 0 (a sum of
   * KLs), bpd = nelbo/(d ln 2), gap = nelbo - entropy >= 0 (the gap is a KL; the quadrature errors are < 1e-9),
   * and Analytic-DPM's gap is the smallest. The prior term in closed form: (d/2)(bbar - 1 - log bbar) +
   * abar E|x0|^2/2, gmm1d: E x0^2 = 2^2 + 0.5^2. */
  const char *vars[4] = {"beta", "betatilde", "analytic", "clipped"}, *trajs[2] = {"dp", "even"};
  double logab = 0;
  for (size_t n = 1; n <= 100; n++)
    logab += log1p(-linear_beta(n, 100));
  const double abar = exp(logab), prior = 0.5 * (-abar - log1p(-abar)) + 0.5 * abar * 4.25;
  for (int j = 0; j < 2; j++) {
    double gap[4];
    for (int i = 0; i < 4; i++) {
      char args[256];
      double r[6];
      snprintf(args, sizeof args,
               "elbo --data gmm1d --schedule linear --N 100 --K 10 --trajectory %s --variance %s", trajs[j],
               vars[i]);
      elbo_row(args, r);
      near(r[4], prior, 1e-12, 1e-300, "prior", 0);
      assert_true(r[0] - r[4] - r[5] >= -1e-12 * fabs(r[0]));
      near(r[1], r[0] / M_LN2, 1e-14, 0, "bpd", 0);
      near(r[3], r[0] - r[2], 1e-12, 1e-12, "gap", 0);
      assert_true(r[3] >= -1e-9);
      gap[i] = r[3];
    }
    assert_true(gap[2] <= gap[0] && gap[2] <= gap[1]);
  }
  /* Gaussian data: H = (d/2) log(2 pi e sd^2); eta < 1 keeps the gap >= 0; cosine schedule */
  double r[6];
  elbo_row("elbo --data gauss:d=2,sd=0.7 --schedule cosine --N 50 --K 8 --trajectory dp --variance analytic "
           "--eta 0.5",
           r);
  near(r[2], log(2 * M_PI * M_E * 0.49), 1e-9, 0, "entropy of N(0, 0.49 I) in 2-D", 0);
  near(r[1], r[0] / (2 * M_LN2), 1e-14, 0, "bpd (d = 2)", 0);
  assert_true(r[3] >= -1e-9);
  assert_true(r[0] - r[4] - r[5] >= 0);
  /* d = 3: the default Gamma route is --mc 1000; the entropy is a Monte Carlo estimate, the gap still >= 0 */
  elbo_row("elbo --data gauss:d=3 --schedule linear --N 40 --K 5 --trajectory even --variance betatilde", r);
  near(r[1], r[0] / (3 * M_LN2), 1e-14, 0, "bpd (d = 3)", 0);
  /* -log q = (3/2) log 2 pi + |x|^2/2 has variance d/2 = 1.5: the default M = 200000 gives se = sqrt(1.5/M) */
  near(r[2], 1.5 * log(2 * M_PI * M_E), 0, 4 * sqrt(1.5 / 200000), "entropy of N(0, I) in 3-D (MC, 4 se)", 0);
  /* a point set: no differential entropy, so entropy and gap are nan while the ELBO is finite */
  elbo_row("elbo --data sample:of=gmm1d,n=40 --schedule linear --N 50 --K 5 --trajectory dp --variance clipped",
           r);
  assert_true(isfinite(r[0]) && isfinite(r[4]) && isfinite(r[5]));
  assert_true(isnan(r[2]) && isnan(r[3]));
}

static void test_elbo_vs_table(void **state)
{
  (void)state;
  /* K = N with the even trajectory is every step: nelbo = sum_n L_x[n] + prior from the variance table, for
   * beta, betatilde and analytic (same quadrature Gamma, same decoder convention) */
  table v;
  const size_t N = 40;
  run_table("variance --data gmm1d --schedule linear --N 40 --quad", &v);
  const char *names[3] = {"beta", "betatilde", "analytic"};
  const int cols[3] = {C_LB, C_LBT, C_LOPT};
  for (int i = 0; i < 3; i++) {
    char args[256];
    double r[6], sum = 0;
    snprintf(args, sizeof args,
             "elbo --data gmm1d --schedule linear --N 40 --K 40 --trajectory even --variance %s", names[i]);
    elbo_row(args, r);
    for (size_t n = 0; n < N; n++)
      sum += at(&v, n, (size_t)cols[i]);
    near(r[0], sum + r[4], 1e-10, 1e-12, "nelbo = sum of the table's L + prior", (size_t)i);
    near(r[5], at(&v, 0, (size_t)cols[i]), 1e-12, 1e-14, "decoder = the table's row 1", (size_t)i);
  }
  free(v.v);
}

/* ---- help and bad input ------------------------------------------------------------------------------------- */

static void test_help(void **state)
{
  (void)state;
  char *out = run_ok("help");
  assert_non_null(strstr(out, "variance"));
  assert_non_null(strstr(out, "trajectory"));
  assert_non_null(strstr(out, "elbo"));
  free(out);
  out = run_ok("variance --help");
  assert_non_null(strstr(out, VAR_HEADER));
  assert_non_null(strstr(out, "Decoder convention"));
  free(out);
  out = run_ok("trajectory --help");
  assert_non_null(strstr(out, "k,tau,cost"));
  free(out);
  out = run_ok("elbo --help");
  assert_non_null(strstr(out, ELBO_HEADER));
  assert_non_null(strstr(out, "nan"));
  free(out);
}

typedef struct {
  const char *args;
  const char *needle;
} bad_case;

static void test_bad_inputs(void **state)
{
  (void)state;
  const bad_case cases[] = {
      /* variance */
      {"variance --data gmm1d --schedule cubic --N 10 --quad", "cubic"},
      {"variance --data gmm1d --schedule linear --N 0 --quad", "--N"},
      {"variance --data gauss:d=3 --schedule linear --N 10 --quad", "3-dimensional"},
      {"variance --data gmm1d --schedule linear --N 10 --quad --mc 10", "exactly one"},
      {"variance --data gmm1d --schedule linear --N 10", "exactly one"},
      {"variance --data gmm1d --schedule linear --N 10 --quad --eta 1.5", "--eta"},
      {"variance --data gmm1d --schedule linear --N 10 --quad --eta -0.1", "--eta"},
      {"variance --data gmm1d --schedule linear --N abc --quad", "abc"},
      {"variance --data gmm1d --schedule linear --N 10 --quad --eta x", "--eta"},
      {"variance --data gmm1d --schedule linear --N 10 --mc 1", "--mc"},
      {"variance --data gmm1d --schedule linear --N 10 --mc 2.5", "--mc"},
      {"variance --data nosuchset --schedule linear --N 10 --quad", "nosuchset"},
      {"variance --schedule linear --N 10 --quad", "--data"},
      {"variance --data gmm1d --schedule linear --N 10 --quad --rel-tol 0", "--rel-tol"},
      /* trajectory */
      {"trajectory --data gmm1d --schedule cubic --N 10 --K 3 --quad", "cubic"},
      {"trajectory --data gmm1d --schedule linear --N 0 --K 3 --quad", "--N"},
      {"trajectory --data gmm1d --schedule linear --N 10 --K 11 --quad", "--K"},
      {"trajectory --data gmm1d --schedule linear --N 10 --K 1 --quad", "--K"},
      {"trajectory --data gauss:d=3 --schedule linear --N 10 --K 3 --quad", "3-dimensional"},
      {"trajectory --data gmm1d --schedule linear --N 10 --K 3 --quad --mc 10", "exactly one"},
      {"trajectory --data gmm1d --schedule linear --N 10 --K 3", "exactly one"},
      {"trajectory --data gmm1d --schedule linear --N 10 --K 3 --quad --kind spiral", "spiral"},
      {"trajectory --data gmm1d --schedule linear --N 10 --K three --quad", "three"},
      {"trajectory --data gmm1d --schedule linear --N 10 --K 3 --quad --eta 0.5", "--eta"},
      /* elbo */
      {"elbo --data gmm1d --schedule cubic --N 10 --K 3 --trajectory dp --variance beta", "cubic"},
      {"elbo --data gmm1d --schedule linear --N 0 --K 3 --trajectory dp --variance beta", "--N"},
      {"elbo --data gmm1d --schedule linear --N 10 --K 20 --trajectory dp --variance beta", "--K"},
      {"elbo --data gauss:d=3 --schedule linear --N 10 --K 3 --trajectory dp --variance beta --quad",
       "3-dimensional"},
      {"elbo --data gmm1d --schedule linear --N 10 --K 3 --trajectory dp --variance beta --quad --mc 5", "--quad"},
      {"elbo --data gmm1d --schedule linear --N 10 --K 3 --trajectory dp --variance beta --eta 0", "--eta"},
      {"elbo --data gmm1d --schedule linear --N 10 --K 3 --trajectory dp --variance beta --eta 2", "--eta"},
      {"elbo --data gmm1d --schedule linear --N 10 --K 3 --trajectory dp --variance opt", "opt"},
      {"elbo --data gmm1d --schedule linear --N 10 --K 3 --trajectory spiral --variance beta", "spiral"},
      {"elbo --data gmm1d --schedule linear --N 10 --K 3 --trajectory dp", "--variance"},
      {"elbo --data gmm1d --schedule linear --N 10 --K 3 --trajectory dp --variance beta --mc x", "--mc"},
      {"elbo --data gmm1d --schedule linear --N 1e1 --K 3 --trajectory dp --variance beta", "1e1"},
  };
  char dir[] = "/tmp/dpmclia-XXXXXX";
  assert_non_null(mkdtemp(dir));
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const bad_case *c = &cases[i];
    char outpath[300];
    snprintf(outpath, sizeof outpath, "%s/out%zu.csv", dir, i);
    dpm_test_expect_failure(c->args, NULL, outpath, 0, c->needle, i);
  }
  char rm[300];
  snprintf(rm, sizeof rm, "rm -rf %s", dir);
  assert_int_equal(system(rm), 0);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_help),
      cmocka_unit_test(test_variance_quad),
      cmocka_unit_test(test_variance_eta),
      cmocka_unit_test(test_variance_mc),
      cmocka_unit_test(test_variance_reproducible),
      cmocka_unit_test(test_trajectory),
      cmocka_unit_test(test_elbo_identities),
      cmocka_unit_test(test_elbo_vs_table),
      cmocka_unit_test(test_bad_inputs),
  };
  return cmocka_run_group_tests_name("cli_analytic", tests, NULL, NULL);
}
