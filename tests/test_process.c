/* test_process.c — forward processes and schedules (docs/MATH.md §1) against independent routes: products and sums
 * for the DDPM schedules, quadrature of the SDE coefficients for (m, s), closed-form inverses, and the
 * Fokker–Planck equation satisfied by the oracle's exact q_t. */
#include <math.h>
#include <stdlib.h>
#include <gsl/gsl_integration.h>

#include "dpmlab.h"
#include "testutil.h"

static void test_linear_schedule(void **state)
{
  (void)state;
  dpm_schedule *sch = dpm_schedule_linear_alloc(1000, 1e-4, 0.02);
  assert_non_null(sch);
  assert_close(sch->beta[1], 1e-4, 1e-15, 0);
  assert_close(sch->beta[1000], 0.02, 1e-15, 0);
  /* alpha_bar as a direct product, beta_bar as 1 - product where no cancellation matters (n large) */
  double prod = 1.0;
  for (size_t n = 1; n <= 1000; n++) {
    prod *= 1.0 - sch->beta[n];
    /* n products of numbers each with relative rounding 1.1e-16 => relative error <= n * 2.2e-16 */
    assert_close(sch->alpha_bar[n], prod, 2.2e-16 * (double)n + 1e-15, 0);
    assert_close(sch->beta_tilde[n], sch->beta_bar[n - 1] * sch->beta[n] / sch->beta_bar[n], 1e-15, 0);
  }
  /* near n = 1 beta_bar keeps full relative precision: beta_bar_1 = beta_1 exactly */
  assert_close(sch->beta_bar[1], 1e-4, 1e-15, 0);
  assert_close(sch->beta_bar[2], 1 - (1 - sch->beta[1]) * (1 - sch->beta[2]), 1e-11, 0);
  assert_true(sch->beta_tilde[1] == 0.0);
  double m, s;
  dpm_schedule_ms(sch, 500, &m, &s);
  assert_close(m * m + s * s, 1.0, 1e-15, 0);
  /* beta_{t|s}: 1 - alpha_bar_t/alpha_bar_s; equals beta_t for s = t - 1 */
  assert_close(dpm_schedule_beta_ts(sch, 499, 500), sch->beta[500], 1e-13, 0);
  assert_close(dpm_schedule_beta_ts(sch, 100, 900), 1 - sch->alpha_bar[900] / sch->alpha_bar[100], 1e-13, 0);
  dpm_schedule_free(sch);
}

static void test_cosine_schedule(void **state)
{
  (void)state;
  size_t N = 1000;
  dpm_schedule *sch = dpm_schedule_cosine_alloc(N);
  assert_non_null(sch);
  double f0 = cos(0.008 / 1.008 * M_PI / 2);
  int clipped = 0;
  for (size_t n = 1; n <= N; n++) {
    double f = cos(((double)n / (double)N + 0.008) / 1.008 * M_PI / 2);
    assert_true(sch->beta[n] <= 0.999);
    if (sch->beta[n] == 0.999) clipped = 1;
    /* before any clipping alpha_bar_n = f(n)^2 / f(0)^2 (n log1p roundings: relative n * 2.2e-16) */
    if (!clipped) assert_close(sch->alpha_bar[n], f * f / (f0 * f0), 2.2e-16 * (double)n + 1e-14, 0);
  }
  assert_true(clipped); /* the last step of the cosine schedule is clipped at 0.999 */
  dpm_schedule_free(sch);
}

static void test_schedule_errors(void **state)
{
  (void)state;
  assert_raises_null(dpm_schedule_linear_alloc(0, 1e-4, 0.02), NULL);
  assert_raises_null(dpm_schedule_linear_alloc(10, 0.0, 0.02), NULL);
  assert_raises_null(dpm_schedule_linear_alloc(10, 1e-4, 1.0), NULL);
  double bad[3] = {0.1, 1.5, 0.2};
  assert_raises_null(dpm_schedule_array_alloc(3, bad), "beta_2");
  assert_raises_null(dpm_schedule_alloc_by_name("sigmoid", 10), "sigmoid");
  double good[3] = {0.1, 0.5, 0.2};
  dpm_schedule *sch = dpm_schedule_array_alloc(3, good);
  assert_non_null(sch);
  assert_close(sch->alpha_bar[3], 0.9 * 0.5 * 0.8, 1e-15, 0);
  dpm_schedule_free(sch);
  dpm_schedule_free(NULL);
}

static void test_subsequences(void **state)
{
  (void)state;
  dpm_schedule *sch = dpm_schedule_linear_alloc(100, 1e-4, 0.02);
  size_t tau[100];
  const char *kinds[] = {"even", "quadratic"};
  size_t Ks[] = {2, 3, 10, 37, 99, 100};
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; i < sizeof Ks / sizeof Ks[0]; i++) {
      size_t K = Ks[i];
      assert_int_equal(dpm_schedule_subsequence(sch, kinds[k], K, tau), 0);
      assert_int_equal(tau[0], 1);
      assert_int_equal(tau[K - 1], 100);
      for (size_t j = 1; j < K; j++)
        assert_true(tau[j] > tau[j - 1]);
      if (K == 100)
        for (size_t j = 0; j < K; j++)
          assert_int_equal(tau[j], j + 1);
    }
  /* even spacing: tau_k = round(1 + (k-1) 99/(K-1)); K = 12 gives 1, 10, 19, ..., 100 */
  assert_int_equal(dpm_schedule_subsequence(sch, "even", 12, tau), 0);
  for (size_t j = 0; j < 12; j++)
    assert_int_equal(tau[j], 1 + 9 * j);
  assert_raises(dpm_schedule_subsequence(sch, "even", 101, tau), GSL_EINVAL, NULL);
  assert_raises(dpm_schedule_subsequence(sch, "even", 1, tau), GSL_EINVAL, NULL);
  assert_raises(dpm_schedule_subsequence(sch, "cubic", 10, tau), GSL_EINVAL, NULL);
  dpm_schedule_free(sch);
}

/* ---- continuous processes vs quadrature of their SDE coefficients --------------------------------------- */

typedef struct {
  const dpm_process *p;
  double t;
} qparams;

static double a_fn(double u, void *vp) { return dpm_process_a(((qparams *)vp)->p, u); }

/* g(u)^2 / m_u^2, with m_u from its own quadrature */
static double log_m_quad(const dpm_process *p, double t, gsl_integration_workspace *w);
static gsl_integration_workspace *w_inner;
static double g2_over_m2(double u, void *vp)
{
  const dpm_process *p = ((qparams *)vp)->p;
  double g = dpm_process_g(p, u), lm = log_m_quad(p, u, w_inner);
  return g * g * exp(-2 * lm);
}

static double log_m_quad(const dpm_process *p, double t, gsl_integration_workspace *w)
{
  qparams qp = {p, t};
  gsl_function F = {a_fn, &qp};
  double r, err;
  gsl_integration_qag(&F, 0, t, 0, 1e-13, 1000, GSL_INTEG_GAUSS41, w, &r, &err);
  return r;
}

static void test_process_vs_quadrature(void **state)
{
  (void)state;
  gsl_integration_workspace *w = gsl_integration_workspace_alloc(1000);
  w_inner = gsl_integration_workspace_alloc(1000);
  const char *specs[] = {"vp", "subvp", "ve", "edm"};
  double ts[] = {1e-3, 0.05, 0.3, 0.7, 1.0};
  for (size_t i = 0; i < 4; i++) {
    dpm_process p;
    assert_int_equal(dpm_process_parse(&p, specs[i]), 0);
    for (size_t j = 0; j < 5; j++) {
      double t = ts[j] * (p.kind == DPM_PROCESS_EDM ? 5.0 : 1.0), m, s;
      dpm_process_ms(&p, t, &m, &s);
      double lm = log_m_quad(&p, t, w);
      assert_close(log(m), lm, 1e-10, 1e-13);
      /* s_t^2 = m_t^2 int_0^t g^2/m^2 (VE exact from 0: sigma(t)^2 - sigma(0)^2) */
      qparams qp = {&p, t};
      gsl_function F = {g2_over_m2, &qp};
      double r, err;
      gsl_integration_qag(&F, 0, t, 0, 1e-11, 1000, GSL_INTEG_GAUSS41, w, &r, &err);
      assert_close(s * s, m * m * r, 1e-9, 0);
      /* lambda and its closed-form inverse */
      double lam = dpm_process_lambda(&p, t);
      assert_close(lam, log(m / s), 1e-12, 1e-12);
      assert_close(dpm_process_t_of_lambda(&p, lam), t, 1e-9, 0);
      assert_close(dpm_process_t_of_sigma(&p, s / m), t, 1e-9, 0);
    }
  }
  /* score_sde's VE: s = sigma(t) = sigma_min (sigma_max/sigma_min)^t */
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, "ve-sde:sigma_min=0.02,sigma_max=10"), 0);
  double m, s;
  dpm_process_ms(&p, 0.5, &m, &s);
  assert_close(s, 0.02 * sqrt(10 / 0.02), 1e-14, 0);
  assert_close(dpm_process_t_of_lambda(&p, dpm_process_lambda(&p, 0.5)), 0.5, 1e-12, 0);
  gsl_integration_workspace_free(w);
  gsl_integration_workspace_free(w_inner);
}

static void test_process_parse_errors(void **state)
{
  (void)state;
  dpm_process p;
  assert_raises(dpm_process_parse(&p, "vpp"), GSL_EINVAL, "vpp");
  assert_raises(dpm_process_parse(&p, "vp:beta_min=-1"), GSL_EINVAL, NULL);
  assert_raises(dpm_process_parse(&p, "vp:beta=1"), GSL_EINVAL, NULL);
  assert_raises(dpm_process_parse(&p, "ve:sigma_min=5,sigma_max=1"), GSL_EDOM, NULL);
  assert_int_equal(dpm_process_parse(&p, "edm:sigma_max=10"), 0);
  assert_close(p.t_max, 10, 0, 0);
}

static void test_grids(void **state)
{
  (void)state;
  double g[20];
  assert_int_equal(dpm_grid_edm_sigma(0.002, 80, 7, 18, g), 0);
  assert_close(g[0], 80, 0, 0);
  assert_close(g[17], 0.002, 0, 0);
  /* sigma^(1/rho) is linear in i */
  for (int i = 1; i < 17; i++)
    assert_close(pow(g[i + 1], 1 / 7.0) - pow(g[i], 1 / 7.0), pow(g[i], 1 / 7.0) - pow(g[i - 1], 1 / 7.0), 1e-12,
                 1e-14);
  assert_int_equal(dpm_grid_loglinear_sigma(0.01, 10, 20, g), 0);
  for (int i = 1; i < 19; i++)
    assert_close(g[i + 1] / g[i], g[i] / g[i - 1], 1e-13, 0);
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VP);
  assert_int_equal(dpm_grid_lambda(&p, 20, g), 0);
  for (int i = 1; i < 19; i++)
    assert_close(dpm_process_lambda(&p, g[i + 1]) - dpm_process_lambda(&p, g[i]),
                 dpm_process_lambda(&p, g[i]) - dpm_process_lambda(&p, g[i - 1]), 1e-9, 1e-12);
  assert_int_equal(dpm_grid_uniform(1, 0, 11, g), 0);
  assert_close(g[3], 0.7, 1e-15, 0);
  assert_raises(dpm_grid_uniform(1, 0, 1, g), GSL_EINVAL, NULL);
  assert_raises(dpm_grid_edm_sigma(1, 0.5, 7, 5, g), GSL_EDOM, NULL);
}

/* ---- the process table: every entry against quadrature of its own SDE coefficients --------------------
 * log m_t = int_0^t a and s_t^2 = m_t^2 int_0^t g^2/m^2 (docs/MATH.md §1), integrated piece by piece between
 * integers (the DDPM entry's a(t) is piecewise constant) by adaptive Gauss-Kronrod to 1e-13 relative; lambda and
 * sigma against log(m/s), s/m and their inverses; the transition against its definition
 * m_{t|s} = m_t/m_s, s_{t|s}^2 = s_t^2 - m_{t|s}^2 s_s^2 (where that difference does not cancel). */
static double integrate_pieces(gsl_function *F, double t, int discrete, gsl_integration_workspace *w)
{
  double acc = 0.0, lo = 0.0;
  while (lo < t) {
    double hi = discrete ? fmin(floor(lo) + 1.0, t) : t, r, err;
    gsl_integration_qag(F, lo, hi, 0, 1e-13, 1000, GSL_INTEG_GAUSS41, w, &r, &err);
    acc += r;
    lo = hi;
  }
  return acc;
}

static double table_a(double u, void *vp) { return dpm_process_a(((qparams *)vp)->p, u); }
static double table_g2_over_m2(double u, void *vp)
{
  const dpm_process *p = ((qparams *)vp)->p;
  double g = dpm_process_g(p, u);
  return g * g * exp(-2.0 * dpm_process_log_m(p, u));
}

static void test_process_table(void **state)
{
  (void)state;
  gsl_integration_workspace *w = gsl_integration_workspace_alloc(1000);
  const char *specs[] = {"vp", "subvp", "ve", "ve-sde", "edm", "ddpm:N=20", "ddpm:schedule=cosine,N=12"};
  const double fr[] = {1e-3, 0.05, 0.3, 0.55, 0.7, 1.0}; /* fractions of t_max */
  size_t seen = 0;
  for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
    dpm_process p;
    assert_int_equal(dpm_process_parse(&p, specs[i]), 0);
    assert_non_null(p.type);
    assert_ptr_equal(dpm_process_type_find(p.type->name), p.type);
    const int disc = p.type->discrete;
    for (size_t j = 0; j < sizeof fr / sizeof fr[0]; j++) {
      double t = fr[j] * p.t_max, m, s;
      assert_int_equal(dpm_process_ms(&p, t, &m, &s), 0);
      qparams qp = {&p, t};
      gsl_function Fa = {table_a, &qp}, Fg = {table_g2_over_m2, &qp};
      assert_close(dpm_process_log_m(&p, t), integrate_pieces(&Fa, t, disc, w), 1e-10, 1e-13);
      double s2 = m * m * integrate_pieces(&Fg, t, disc, w);
      if (p.kind == DPM_PROCESS_VE && !p.ve_exact) s2 += p.sigma_min * p.sigma_min; /* s_0 = sigma_min */
      assert_close(s * s, s2, 1e-9, 0);
      double lam = dpm_process_lambda(&p, t);
      assert_close(lam, log(m / s), 1e-12, 1e-12);
      assert_close(dpm_process_t_of_lambda(&p, lam), t, 1e-9, 1e-12);
      assert_close(dpm_process_sigma(&p, t), s / m, 1e-13, 0);
      assert_close(dpm_process_t_of_sigma(&p, s / m), t, 1e-9, 1e-12);
      /* the exact transition from every earlier point of the list */
      for (size_t k = 0; k < j; k++) {
        double u = fr[k] * p.t_max, mu, su, mts, sts;
        dpm_process_ms(&p, u, &mu, &su);
        assert_int_equal(dpm_process_transition(&p, u, t, &mts, &sts), 0);
        assert_close(mts, m / mu, 1e-13, 0);
        double direct = s * s - mts * mts * su * su;
        if (direct > 1e-3 * s * s) assert_close(sts * sts, direct, 1e-10, 0);
      }
    }
    seen |= 1u << p.kind;
    dpm_process_clear(&p);
  }
  for (size_t i = 0; dpm_process_types[i]; i++)
    assert_true(seen & (1u << dpm_process_types[i]->kind));
  /* DDPM at integer t is the schedule itself */
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, "ddpm:schedule=cosine,N=50"), 0);
  for (size_t n = 1; n <= 50; n += 7) {
    double m, s, ms, ss;
    dpm_process_ms(&p, (double)n, &m, &s);
    dpm_schedule_ms(p.sch, n, &ms, &ss);
    assert_close(m, ms, 1e-15, 0);
    assert_close(s, ss, 1e-15, 0);
  }
  dpm_process_clear(&p);
  gsl_integration_workspace_free(w);
}

/* N >= 250000: abar_N = exp(-2500) underflows, log m does not; lambda stays finite and invertible, and the
 * transition between late steps is exact (m_{t|s} = exp(log m_t - log m_s), computed in logs). */
static void test_process_large_N(void **state)
{
  (void)state;
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, "ddpm:schedule=linear,N=250000"), 0);
  const double N = 250000.0;
  double lm = dpm_process_log_m(&p, N), la = p.sch->log_alpha_bar[250000];
  assert_true(isfinite(lm) && lm < -1000.0);
  assert_close(lm, 0.5 * la, 1e-15, 0);
  double lam = dpm_process_lambda(&p, N);
  assert_true(isfinite(lam));
  assert_close(lam, lm, 1e-12, 0); /* s = 1 to rounding: lambda = log m */
  assert_close(dpm_process_t_of_lambda(&p, dpm_process_lambda(&p, 240000.0)), 240000.0, 1e-12, 0);
  double mts, sts;
  assert_int_equal(dpm_process_transition(&p, 249990.0, N, &mts, &sts), 0);
  assert_close(log(mts), 0.5 * (la - p.sch->log_alpha_bar[249990]), 1e-12, 0);
  assert_true(mts > 0.9 && sts > 0.0 && sts < 1.0);
  double m, s;
  dpm_schedule_ms(p.sch, 250000, &m, &s);
  assert_true(m == 0.0 && s == 1.0); /* the honest underflow of m itself */
  dpm_process_clear(&p);
}

/* Every function outside its domain raises GSL_EDOM and returns NAN (EDM at t <= 0 is the motivating case). */
static void test_process_domain(void **state)
{
  (void)state;
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, "edm"), 0);
  double m, s;
  assert_raises(dpm_process_ms(&p, -1.0, &m, &s), GSL_EDOM, "edm");
  assert_true(isnan(m) && isnan(s));
  assert_int_equal(dpm_process_ms(&p, 0.0, &m, &s), 0); /* t = 0 is in the domain of m, s */
  assert_true(m == 1.0 && s == 0.0);
  assert_raises_nan(dpm_process_lambda(&p, 0.0), "lambda");
  assert_raises_nan(dpm_process_sigma(&p, -0.5), "outside");
  assert_raises_nan(dpm_process_a(&p, 81.0), NULL);
  assert_raises_nan(dpm_process_g(&p, NAN), NULL);
  assert_raises_nan(dpm_process_t_of_lambda(&p, -log(81.0)), NULL);
  assert_raises_nan(dpm_process_t_of_sigma(&p, 0.0), NULL);
  double mts, sts;
  assert_raises(dpm_process_transition(&p, 2.0, 1.0, &mts, &sts), GSL_EDOM, NULL);
  /* score_sde's VE has s_0 = sigma_min > 0, so lambda(0) is defined */
  assert_int_equal(dpm_process_parse(&p, "ve-sde"), 0);
  assert_close(dpm_process_lambda(&p, 0.0), -log(0.01), 1e-15, 0);
  assert_int_equal(dpm_process_parse(&p, "ddpm:N=10"), 0);
  assert_raises(dpm_process_ms(&p, 10.5, &m, &s), GSL_EDOM, NULL);
  assert_raises_nan(dpm_process_lambda(&p, 0.0), NULL);
  dpm_process_clear(&p);
  dpm_process_clear(&p); /* idempotent */
  assert_raises(dpm_process_parse(&p, "ddpm:N=0"), GSL_EINVAL, NULL);
  assert_raises(dpm_process_parse(&p, "ddpm:schedule=sigmoid"), GSL_EINVAL, "sigmoid");
  assert_raises(dpm_process_parse(&p, "ddpm:beta=3"), GSL_EINVAL, NULL);
  dpm_process_init(&p, DPM_PROCESS_DDPM); /* no schedule yet */
  assert_raises(dpm_process_ms(&p, 1.0, &m, &s), GSL_EINVAL, NULL);
}

/* ---- Fokker-Planck: d/dt q = -d/dx(a x q) + 1/2 g^2 d2/dx2 q for the oracle's exact q_t -------------------
 * All derivatives by central differences of q itself. A central difference with step h has error c h^2 + O(h^4),
 * so D(h) - D(2h) = -3 c h^2 estimates three times the error of D(h): the residual must be within
 * |D(h) - D(2h)| (summed over the three derivatives, each weighted as it enters) plus the rounding bound
 * 4 eps q / h^2 of the second difference. */
static double qt(dpm_oracle *o, const dpm_process *p, double t, double x)
{
  double m, s;
  dpm_process_ms(p, t, &m, &s);
  return exp(dpm_oracle_logq1(o, m, s, &x));
}

static void fp_derivs(dpm_oracle *o, const dpm_process *p, double t, double x, double ht, double hx, double *dt,
                      double *dx, double *dxx)
{
  *dt = (qt(o, p, t + ht, x) - qt(o, p, t - ht, x)) / (2 * ht);
  double qp = qt(o, p, t, x + hx), qm = qt(o, p, t, x - hx), q0 = qt(o, p, t, x);
  *dx = (qp - qm) / (2 * hx);
  *dxx = (qp - 2 * q0 + qm) / (hx * hx);
}

static void test_fokker_planck(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_data_from_spec("gmm1d");
  assert_non_null(mix);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  const char *specs[] = {"vp", "subvp", "ve", "ve-sde"};
  double ts[] = {0.1, 0.4, 0.8}, xs[] = {-3.0, -0.5, 0.2, 1.7};
  for (size_t i = 0; i < 4; i++) {
    dpm_process p;
    dpm_process_parse(&p, specs[i]);
    for (size_t j = 0; j < 3; j++)
      for (size_t k = 0; k < 4; k++) {
        double t = ts[j], mt, st;
        dpm_process_ms(&p, t, &mt, &st);
        double w = st > 1 ? st : 1.0; /* the width of q_t: query points and x-steps scale with it */
        double x = xs[k] * w, ht = 1e-4, hx = 1e-3 * w;
        double dt, dx, dxx, dt2, dx2, dxx2;
        fp_derivs(o, &p, t, x, ht, hx, &dt, &dx, &dxx);
        fp_derivs(o, &p, t, x, 2 * ht, 2 * hx, &dt2, &dx2, &dxx2);
        double a = dpm_process_a(&p, t), g = dpm_process_g(&p, t), q = qt(o, &p, t, x);
        double rhs = -(a * q + a * x * dx) + 0.5 * g * g * dxx;
        double tol = fabs(dt - dt2) + fabs(a * x) * fabs(dx - dx2) + 0.5 * g * g * fabs(dxx - dxx2) +
                     0.5 * g * g * 4 * 2.2e-16 * q / (hx * hx) + 2.2e-16 * q / ht;
        double scale = fabs(dt) + fabs(a * q) + fabs(a * x * dx) + 0.5 * g * g * fabs(dxx);
        /* the check must be able to fail: the tolerance is far below the size of the terms */
        assert_true(tol < 1e-3 * scale);
        assert_close(dt, rhs, 0, tol);
      }
  }
  dpm_oracle_free(o);
  dpm_mixture_free(mix);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_linear_schedule),
      cmocka_unit_test(test_cosine_schedule),
      cmocka_unit_test(test_schedule_errors),
      cmocka_unit_test(test_subsequences),
      cmocka_unit_test(test_process_vs_quadrature),
      cmocka_unit_test(test_process_parse_errors),
      cmocka_unit_test(test_grids),
      cmocka_unit_test(test_fokker_planck),
      cmocka_unit_test(test_process_table),
      cmocka_unit_test(test_process_large_N),
      cmocka_unit_test(test_process_domain),
  };
  return cmocka_run_group_tests_name("process", tests, NULL, NULL);
}
